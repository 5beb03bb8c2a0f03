"""``aagcn-lab export CHECKPOINT``: export a checkpoint to ONNX or torch.export (.pt2) with a JSON sidecar.

::

    aagcn-lab export runs/j/best.pt --format onnx -o j.onnx     # j.onnx + j.json (classes, layout, clips)
    aagcn-lab export pyskl_j.pth --stream j --format pt2        # a checkpoint that does not name its stream
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

__all__ = ["add_arguments", "run"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``aagcn-lab export``."""
    from ..export import FORMATS
    from . import positive_int  # counts below 1 are refused naming the option (exit 2)

    p.add_argument("checkpoint")
    p.add_argument("--format", default="onnx", choices=FORMATS)
    p.add_argument("--out", "-o", default=None, help="output file (default: the checkpoint's name with .onnx / .pt2)")
    p.add_argument("--stream", default=None, choices=("j", "b", "jm", "bm"), help="the stream, when the checkpoint does not say")
    p.add_argument("--clips", type=positive_int, default=10, help="test clips the sidecar asks for (default: 10)")


def run(args: argparse.Namespace) -> int:
    """Export; print the files written as JSON (0), or one line on failure (2)."""
    from ..export import export_model

    out = args.out or str(Path(args.checkpoint).with_suffix(f".{args.format}"))
    try:
        path, side = export_model(args.checkpoint, out, args.format, args.stream, num_clips=args.clips)
    except (ValueError, FileNotFoundError, RuntimeError) as e:
        print(f"aagcn-lab export: {e}", file=sys.stderr)
        return 2
    print(json.dumps({"model": str(path), "sidecar": str(side), "bytes": path.stat().st_size}, indent=2))
    return 0
