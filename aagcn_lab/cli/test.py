"""``aagcn-lab test CHECKPOINT``: pyskl's 10-clip test of a checkpoint on an annotation split.

::

    aagcn-lab test runs/x/best.pt                       # the split and data the checkpoint was trained on
    aagcn-lab test best.pt --ann-file ntu60_3danno.pkl --split xsub_val --out scores.npz
    aagcn-lab test best.pt --dtype bf16                 # bfloat16 convolutions on the CPU (accuracy: README, Performance)
"""

from __future__ import annotations

import argparse
import json

__all__ = ["add_arguments", "run"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``aagcn-lab test``."""
    p.add_argument("checkpoint")
    p.add_argument("--ann-file", default=None)
    p.add_argument("--split", default=None)
    p.add_argument("--feat", default=None, choices=("j", "b", "jm", "bm"))
    p.add_argument("--clip-len", type=int, default=None)
    p.add_argument("--clips", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--device", default="auto")
    p.add_argument("--dtype", default="fp32", choices=("fp32", "bf16"), help="bf16: bfloat16 convolutions (faster on CPUs with AVX-512 BF16 / AMX)")
    p.add_argument("--out", default=None, help="write the per-sample scores here (.npz)")


def run(args: argparse.Namespace) -> int:
    """Test; print the metrics as JSON."""
    from ..data.validate import check_int, check_output_path, resolve_device
    from ..train.evaluation import test_checkpoint

    check_int("--clips", args.clips)  # options and the output path first: a bad one must not cost the run
    check_int("--batch-size", args.batch_size)
    if args.clip_len is not None:
        check_int("--clip-len", args.clip_len)
    resolve_device(args.device)
    if args.out:
        check_output_path(args.out)
    scores, m = test_checkpoint(
        args.checkpoint, args.ann_file, args.split, args.feat, args.clip_len, args.clips, args.batch_size, args.out, args.device,
        dtype=args.dtype,
    )
    m.pop("confusion")
    print(json.dumps({"checkpoint": args.checkpoint, "split": scores.meta.get("split"), "dtype": args.dtype, **m, "scores": args.out}, indent=2))
    return 0
