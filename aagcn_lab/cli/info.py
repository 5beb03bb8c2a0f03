"""``aagcn-lab info CHECKPOINT``: what a checkpoint holds (source, config, parameters, training state), as JSON.

Weights that do not fit the model (missing, unexpected, mis-shaped, NaN) are listed under ``problems``
and said on standard error, with exit status 2; an ONNX model is refused with the commands that run it.
"""

from __future__ import annotations

import argparse
import json
import sys

__all__ = ["add_arguments", "run"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``aagcn-lab info``."""
    p.add_argument("checkpoint")


def run(args: argparse.Namespace) -> int:
    """Print the checkpoint's summary (0); with its weights' problems also on standard error (2)."""
    from ..model.aagcn import AAGCN
    from ..model.checkpoint import read_checkpoint, weight_problems

    info = read_checkpoint(args.checkpoint)
    model = AAGCN(info.config)
    problems = weight_problems(model, info.state_dict)
    state = info.train_state or {}
    out = {
        "file": str(info.path),
        "source": info.source,
        "config": info.config.to_dict(),
        "parameters": model.num_parameters(),
        "meta": {k: v for k, v in info.meta.items() if isinstance(v, (str, int, float, bool, list))},
        "trained_on": info.provenance.describe(),
    }
    if state:
        out["training"] = {k: state[k] for k in ("epoch", "step_in_epoch", "global_step", "best_top1", "world_size", "global_batch") if k in state}
    if problems:
        out["problems"] = problems
    print(json.dumps(out, indent=2, default=str))
    for problem in problems:
        print(f"aagcn-lab info: {info.path}: {problem}", file=sys.stderr)
    return 2 if problems else 0
