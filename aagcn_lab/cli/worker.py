"""``python -m aagcn_lab.train --config run.json [--resume PATH|auto]``: one training process.

This is what torchrun starts in every process (and what ``aagcn-lab train`` runs in-process for
one process). A failing rank prints one line naming itself and the last good checkpoint.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

__all__ = ["add_arguments", "run", "main"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of one training process."""
    p.add_argument("--config", required=True)
    p.add_argument("--resume", default=None)


def run(args: argparse.Namespace) -> int:
    """Train ``--config``: 0 when done, 130 when interrupted, 1 when training failed."""
    from ..train.config import load_config
    from ..train.rundir import RunDir
    from ..train.trainer import train

    cfg = load_config(args.config)
    rank = os.environ.get("RANK", "0")
    try:
        train(cfg, args.resume)
    except KeyboardInterrupt:
        print(f"[aagcn-lab] rank {rank}: interrupted; resume with --resume {RunDir.of(cfg).latest}", file=sys.stderr)
        return 130
    except Exception as e:  # one clear line per failing rank; torchrun then stops the others
        print(
            f"[aagcn-lab] rank {rank}: training failed: {type(e).__name__}: {e}\n"
            f"[aagcn-lab] the last good checkpoint (if any) is {RunDir.of(cfg).latest}; resume with --resume auto",
            file=sys.stderr,
            flush=True,
        )
        if os.environ.get("AAGCN_LAB_TRACEBACK"):
            raise
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m aagcn_lab.train``."""
    p = argparse.ArgumentParser(prog="python -m aagcn_lab.train", description=__doc__.split("\n\n")[0].replace("``", ""))
    add_arguments(p)
    return run(p.parse_args(argv))
