"""``aagcn-lab predict``: the action of new skeletons, fused over one checkpoint per stream (top-5).

::

    aagcn-lab predict --checkpoint j.pt --input S001C001P001R001A001.skeleton
    aagcn-lab predict -c j=runs/j/best.pt b=runs/b/best.pt -i ntu60_3danno.pkl --sample S001C001P001R001A001
    aagcn-lab predict -c coco_j.pt -i openpose_frames/ --img-size 1280x720 --json   # pose-estimator output
    aagcn-lab predict -c coco_j.pt --stream < frames.jsonl                        # one JSON frame per line, one clip per window
    aagcn-lab predict -c coco_j.pt --stream --stride 5 --dtype bf16 < frames.jsonl # bfloat16 convolutions (fp32 is the default)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

__all__ = ["add_arguments", "run"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``aagcn-lab predict``."""
    from ..data.inputs import FORMATS
    from . import positive_int  # counts below 1 are refused naming the option (exit 2)

    p.add_argument("--checkpoint", "-c", nargs="+", required=True, help="[STREAM=]checkpoint, one per stream")
    p.add_argument("--input", "-i", default=None, help="a file or a folder of per-frame pose files (.skeleton, .json, .npy, .npz, .csv, .pkl)")
    p.add_argument("--sample", default=None, help="one sample id of an annotation file")
    p.add_argument("--top-k", type=positive_int, default=5)
    p.add_argument("--clips", type=positive_int, default=None, help="test clips per prediction (default: pyskl's 10; with --stream 1)")
    p.add_argument("--with-score", action="store_true", help="a .npy array's channel 2 is a detection score")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--format", default=None, choices=sorted(FORMATS), help="format of --input (default: detected; see aagcn_lab.data.inputs)")
    p.add_argument("--img-size", default=None, help="image WIDTHxHEIGHT of 2D pixel input when the file does not say")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:N or auto")
    p.add_argument(
        "--dtype", default="fp32", choices=("fp32", "bf16"),
        help="precision of the convolutions: fp32 (default) or bf16 (bfloat16 convolutions, float32 logits; PyTorch checkpoints only)",
    )  # fmt: skip
    p.add_argument("--stream", action="store_true", help="read one JSON frame per line from stdin, write one JSON line per prediction")
    p.add_argument("--window", type=positive_int, default=100, help="--stream: frames per prediction (default: 100)")
    p.add_argument("--stride", type=positive_int, default=10, help="--stream: a prediction every this many frames, at most --window (default: 10)")


def _clips(args: argparse.Namespace) -> dict:
    """``num_clips`` when ``--clips`` was given; else nothing, so the callee's default holds (10 offline, 1 streaming)."""
    return {} if args.clips is None else {"num_clips": args.clips}


def _stream(checkpoints, args: argparse.Namespace) -> int:
    """``--stream``: JSON frames on stdin -> one JSON line per prediction on stdout."""
    from ..data.poses.frames import parse_img_size
    from ..streaming import StreamingPredictor, check_window, run_stream

    check_window(args.window, args.stride, ("--window", "--stride"))  # before the models load
    sp = StreamingPredictor(
        checkpoints, window=args.window, stride=args.stride, img_shape=parse_img_size(args.img_size), device=args.device,
        dtype=args.dtype, **_clips(args),
    )  # fmt: skip
    return run_stream(sp, sys.stdin, sys.stdout, sys.stderr, args.top_k, window_name="--window")


def run(args: argparse.Namespace) -> int:
    """Predict; print each sample's top-k (or JSON) (0), or one line on bad input (2)."""
    if (args.input is None) == (not args.stream):
        args.parser.error("give --input PATH, or --stream to read frames from standard input")
    from ..data.poses.frames import parse_img_size, print_notes
    from ..data.validate import check_unique
    from ..prediction import predict

    named = [c for c in args.checkpoint if "=" in c and not Path(c).exists()]
    if named and len(named) != len(args.checkpoint):
        print("aagcn-lab predict: name every checkpoint's stream (j=..., b=...) or none", file=sys.stderr)
        return 2
    try:
        check_unique([c.split("=", 1)[0] for c in named], "stream name")  # j=A.pt j=B.pt would drop one
        check_unique(list(args.checkpoint), "checkpoint")
        ckpts = dict(c.split("=", 1) for c in named) if named else list(args.checkpoint)
        if args.stream:
            return _stream(ckpts, args)
        with print_notes(sys.stderr):  # what a pose reader left out or assumed, as 'note: ...' lines
            preds = predict(
                ckpts, args.input, args.sample, with_score=args.with_score, device=args.device, fmt=args.format,
                img_shape=parse_img_size(args.img_size), dtype=args.dtype, **_clips(args),
            )  # fmt: skip
    except (ValueError, KeyError, OSError) as e:
        print(f"aagcn-lab predict: {e.args[0] if isinstance(e, KeyError) else e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps([pr.as_dict(args.top_k) for pr in preds], indent=2))
    else:
        for pr in preds:
            print(pr)
    return 0
