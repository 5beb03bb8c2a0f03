"""``aagcn-lab streams``: train the four streams (j, b, jm, bm) of one split, then fuse them.

::

    aagcn-lab streams --preset builtin                       # runs/builtin/{j,b,jm,bm} + fusion
    aagcn-lab streams --preset aagcn_pyskl_ntu60_xsub_3dkp --gpus 0,1,2,3 --parallel
    aagcn-lab streams --preset builtin --streams j,b --epochs 2   # other options: TrainConfig fields
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["add_arguments", "run"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``aagcn-lab streams``."""
    from . import positive_int  # counts below 1 are refused naming the option (exit 2)

    p.add_argument("--preset", default="builtin", help="preset family, e.g. builtin or aagcn_pyskl_ntu60_xsub_3dkp")
    p.add_argument("--streams", default="j,b,jm,bm")
    p.add_argument("--root", default=None, help="folder for the run folders (default runs/<family>)")
    p.add_argument("--gpus", default=None, help="GPU ids, e.g. 0,1,2,3")
    p.add_argument("--parallel", action="store_true", help="train the streams side by side on disjoint GPUs")
    p.add_argument("--nproc", type=positive_int, default=None, help="processes per stream (CPU)")
    p.set_defaults(takes_overrides=True)


def run(args: argparse.Namespace) -> int:
    """Train and fuse; print the summary (0), or one line on bad input (2)."""
    from ..streams import train_streams
    from . import int_list

    try:
        res = train_streams(
            args.preset, args.streams.split(","), args.root, int_list(args.gpus, "--gpus") if args.gpus else None,
            args.parallel, args.nproc, **(getattr(args, "overrides", None) or {}),
        )  # fmt: skip
    except (KeyError, ValueError, FileNotFoundError) as e:
        print(f"aagcn-lab streams: {e.args[0] if isinstance(e, KeyError) else e}", file=sys.stderr)
        return 2
    print(res.summary())
    return 0
