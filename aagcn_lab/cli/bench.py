"""``aagcn-lab bench SECTION`` (or ``python -m aagcn_lab.bench SECTION``): speed and memory figures.

::

    aagcn-lab bench model --iters 5          # the model against its oracle, training and inference
    aagcn-lab bench pipeline                 # the test-mode pipeline against pyskl's transcription
    aagcn-lab bench options --device cuda    # fp32 eager against bf16 + channels-last + compile
    aagcn-lab bench shared                   # a training step alone and beside a busy process, per thread policy
    aagcn-lab bench shared --workload stream --stride 5 --dtype bf16   # the same for a live streaming prediction
    aagcn-lab bench all                      # every section (what `make bench` runs)

The sections are described in :mod:`aagcn_lab.bench`, which holds the measurements.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

__all__ = ["add_arguments", "run", "main"]

SECTIONS = ("model", "precision", "options", "pipeline", "data", "train", "stream", "shared", "peak", "profile", "revisions", "all")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``aagcn-lab bench``."""
    from . import positive_int  # counts below 1 are refused naming the option (exit 2)

    p.add_argument("section", choices=SECTIONS)
    p.add_argument("--device", default="cpu")
    p.add_argument("--batch", type=positive_int, default=16)
    p.add_argument("--two-person", type=float, default=3 / 16, help="fraction of samples with a second person")
    p.add_argument("--amp", default="none", choices=("none", "bf16"))
    p.add_argument("--channels-last", action="store_true")
    p.add_argument("--compile", action="store_true")
    p.add_argument("--iters", type=positive_int, default=3)
    p.add_argument("--no-oracle", action="store_true")
    p.add_argument("--no-share-absent", action="store_true", help="compute every zero-padded person (see the model)")
    p.add_argument("--workers", default="0,1,2,4")
    p.add_argument("--steps", type=positive_int, default=30)
    p.add_argument("--options-batch", type=positive_int, default=256, help="batch of the options section (and its training loop)")
    p.add_argument("--frames", type=positive_int, default=100, help="clip length of the options section")
    p.add_argument("--no-compile", action="store_true", help="options section: the fast configuration without torch.compile")
    p.add_argument("--default-malloc", action="store_true", help="leave glibc malloc as it is (see aagcn_lab.runtime)")
    p.add_argument("--policies", default="default,active,passive,spin10k,1thread,lab", help="shared section: thread policies (see aagcn_lab.bench.shared)")
    p.add_argument("--competitors", default="python,torch,twin", help="shared section: competing processes")
    p.add_argument("--workload", default="train", choices=("train", "stream"),
                   help="shared section: a training step of the lab's small model, or a streaming prediction (--stride, --dtype)")
    p.add_argument("--window", type=positive_int, default=100, help="stream section: frames per prediction")
    p.add_argument("--stride", type=positive_int, default=10, help="stream section (and shared --workload stream): a prediction every this many frames")
    p.add_argument("--clips", type=positive_int, default=1, help="stream section: test clips per prediction (default: 1, as streaming)")
    p.add_argument("--streams", default="1,4", help="stream section: numbers of independent streams served at once")
    p.add_argument("--fused", action="store_true", help="stream section: one video through four models (j, b, jm, bm) fused, instead")
    p.add_argument("--persons", type=int, default=2, choices=(1, 2), help="stream section: people in view (the models have two person slots)")
    p.add_argument("--dtype", default="fp32", choices=("fp32", "bf16"), help="stream section (and shared --workload stream): precision of the convolutions (default: fp32)")
    p.add_argument("--predictions", type=positive_int, default=5, help="stream section: predictions timed after the first")
    p.add_argument("--profile-batch", type=positive_int, default=8, help="profile and revisions sections: batch")
    p.add_argument("--profile-two-person", type=float, default=0.5, help="profile and revisions sections: fraction of samples with two persons")
    p.add_argument("--profile-frames", type=positive_int, default=100, help="profile and revisions sections: frames")
    p.add_argument("--no-pyskl", action="store_true", help="profile section: ours alone (pyskl's source: $PYSKL_SRC, see aagcn_lab.bench.pyskl_source)")
    p.add_argument("--trees", default="", help="revisions section: source trees timed in turns, comma-separated (the first is the base)")


def _print(title: str, d: dict) -> None:
    print(f"\n== {title}")
    for k, v in d.items():
        print(f"  {k:34s} {v:.4g}" if isinstance(v, float) else f"  {k:34s} {v}")


def run(args: argparse.Namespace) -> int:
    """Run the chosen sections and print their figures."""
    from .. import bench
    from ..runtime import keep_freed_memory
    from ..streaming import check_window
    from . import int_list

    kept = False if args.default_malloc else keep_freed_memory()
    print(f"machine: {bench.machine()}")
    print(f"malloc: {'freed memory kept for reuse (aagcn_lab.runtime)' if kept else 'default'}")
    if args.section in ("model", "all"):
        _print("model (NTU layout, M=2, T=100)", bench.bench_model(args.device, args.batch, args.two_person, args.amp, args.channels_last, args.compile, args.iters, not args.no_oracle, share_absent=not args.no_share_absent))
    if args.section in ("precision", "all") and args.device == "cpu":
        _print("bf16 and int8 against fp32 on the CPU (NTU layout, M=2, T=100)", bench.bench_precision(args.batch, args.two_person, args.iters))
    if args.section == "options" or (args.section == "all" and args.device.startswith("cuda")):
        _print(f"training options at batch {args.options_batch} (NTU layout, T={args.frames})", bench.bench_options(
            args.device, args.options_batch, args.two_person, args.frames, max(args.iters, 10) if args.device.startswith("cuda") else args.iters, not args.no_compile))
        _print("training loop with the fast options, data loading included", bench.bench_train(
            args.steps, args.device, args.options_batch, os.cpu_count() or 1, "bf16", True, not args.no_compile, full_model=True, clip_len=args.frames))
    if args.section in ("pipeline", "all"):
        _print("test-mode pipeline, one core", bench.bench_pipeline())
    if args.section in ("data", "all"):
        _print("Dataset + DataLoader (train mode, feat j)", bench.bench_data(int_list(args.workers, "--workers")))
    if args.section in ("train", "all"):
        _print("training loop, built-in dataset", bench.bench_train(args.steps, "auto" if args.device == "cpu" else args.device))
    if args.section in ("stream", "all"):
        people = "two people" if args.persons == 2 else "one person"
        _print(f"streaming predictor, COCO-17 2D frames, {people}, CPU, steady state", bench.bench_stream(
            int_list(args.streams, "--streams", low=1), *check_window(args.window, args.stride, ("--window", "--stride")), args.clips,
            args.predictions, dtype=args.dtype, fused=args.fused, persons=args.persons))
    if args.section == "shared" or (args.section == "all" and args.device == "cpu"):
        from ..bench.shared import bench_shared

        what = "training step of the lab's small model (ucla_cpu_j)" if args.workload == "train" else "streaming prediction (full-width COCO-17 model)"
        _print(f"{what}, alone and beside a busy process", bench_shared(
            args.policies.split(","), args.competitors.split(","), batch=args.batch, workload=args.workload, stride=args.stride,
            dtype=args.dtype, window=args.window))
    if args.section in ("peak", "profile", "revisions", "all"):  # the hardware sections (--dtype: the profile's precision)
        from ..bench import hardware

        if args.section in ("peak", "all"):
            _print("peak rates of this CPU, GFLOP/s (the model's shapes at the profile's batch)", hardware.bench_peak(
                batch=args.profile_batch, two_person=args.profile_two_person, frames=args.profile_frames, iters=args.iters))
        if args.section in ("profile", "all"):
            print(f"\n== profile: ours against pyskl's AAGCN, {args.dtype}, where the time goes")
            print("\n".join(hardware.profile_lines(hardware.bench_profile(
                args.dtype, args.profile_batch, args.profile_two_person, args.profile_frames, args.iters, not args.no_pyskl))))
        if args.section == "revisions":
            _print("training step of each source tree, in turns", hardware.bench_revisions(
                [t for t in args.trees.split(",") if t], args.profile_batch, args.profile_two_person, args.profile_frames, max(args.iters, 5)))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m aagcn_lab.bench``."""
    p = argparse.ArgumentParser(prog="python -m aagcn_lab.bench", description=__doc__.split("\n\n")[0].replace("``", ""))
    add_arguments(p)
    args = p.parse_args(argv)
    from ..runtime import apply_thread_policy

    apply_thread_policy()  # the children's; this process loaded OpenMP with aagcn_lab.bench (see aagcn_lab.runtime)
    return run(args)
