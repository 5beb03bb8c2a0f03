"""The ``aagcn-lab`` command line.

::

    aagcn-lab lab                        # the main job: every notebook on the built-in dataset
    aagcn-lab train --preset builtin_j   # train one stream (any option: --lr 0.05 --model.base_channels 32)
    aagcn-lab train --preset aagcn_pyskl_ntu60_xsub_3dkp_j --nproc 8     # 8 GPUs through torchrun
    aagcn-lab train ... --resume auto    # continue from the run folder's latest.pt
    aagcn-lab streams --preset builtin   # the four streams j, b, jm, bm, then their fusion
    aagcn-lab test runs/x/best.pt        # 10-clip test, scores file
    aagcn-lab fuse a.npz b.npz ...       # fuse per-stream scores (weights, per-stream table)
    aagcn-lab predict --checkpoint j.pt --input S001C001P001R001A001.skeleton
    aagcn-lab predict -c coco_j.pt -i openpose_frames/ --img-size 1280x720 --json   # pose-estimator output
    aagcn-lab export j.pt --format onnx -o j.onnx    # ONNX (or .pt2) + a JSON sidecar
    aagcn-lab convert ntu|kinetics|dense|check ...
    aagcn-lab info CHECKPOINT            # what a checkpoint holds
    aagcn-lab presets                    # list the training presets
    aagcn-lab bench model|pipeline|train # speed figures
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from ..runtime import keep_freed_memory

__all__ = ["main", "parse_overrides"]


def parse_overrides(tokens: Sequence[str]) -> dict[str, Any]:
    """``['--lr', '0.05', '--deterministic', '--model.base_channels=16']`` -> a dict (strings, or True)."""
    out: dict[str, Any] = {}
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if not tok.startswith("--") or tok == "--":
            raise SystemExit(f"aagcn-lab: unexpected argument {tok!r} (options look like --name value)")
        key = tok[2:]
        if "=" in key:
            key, value = key.split("=", 1)
        elif i + 1 < len(tokens) and not tokens[i + 1].startswith("--"):
            value = tokens[i + 1]
            i += 1
        else:
            value = "true"
        out[key.replace("-", "_")] = value
        i += 1
    return out


def _train_config(args: argparse.Namespace, extra: Sequence[str]):
    from ..train.config import TrainConfig, apply_overrides, load_config, preset

    if args.config:
        cfg = load_config(args.config)
    elif args.preset:
        cfg = preset(args.preset)
    else:
        cfg = TrainConfig()
    return apply_overrides(cfg, parse_overrides(extra))


def _cmd_train(args: argparse.Namespace, extra: Sequence[str]) -> int:
    from ..data.validate import resolve_device

    cfg = _train_config(args, extra)
    resolve_device(cfg.device)  # --device cuda without a GPU: one line now, not a failure inside the trainer
    if args.nproc > 1 or args.nnodes > 1 or args.rdzv_endpoint:
        from ..train.launch import LaunchError, launch

        try:
            result = launch(cfg, args.nproc, args.nnodes, args.rdzv_endpoint, node_rank=args.node_rank, resume=args.resume or None)
        except LaunchError as e:
            print(f"aagcn-lab train: {e}", file=sys.stderr)
            return 1
    else:
        from ..train.trainer import main as train_main

        work = cfg.resolved_work_dir()
        work.mkdir(parents=True, exist_ok=True)
        (work / "launch_config.json").write_text(json.dumps(cfg.to_dict(), indent=2))
        argv = ["--config", str(work / "launch_config.json")] + (["--resume", args.resume] if args.resume else [])
        code = train_main(argv)
        if code:
            return code
        result = json.loads((work / "results.json").read_text())
        print(json.dumps(result, indent=2))
        return 0
    print(json.dumps(result.to_dict(), indent=2))
    return 0


def _cmd_test(args: argparse.Namespace, extra: Sequence[str]) -> int:
    from ..data.validate import check_int, check_output_path, resolve_device
    from ..train.testing import test_checkpoint

    check_int("--clips", args.clips)  # options and the output path first: a bad one must not cost the run
    check_int("--batch-size", args.batch_size)
    if args.clip_len is not None:
        check_int("--clip-len", args.clip_len)
    resolve_device(args.device)
    if args.out:
        check_output_path(args.out)
    scores, m = test_checkpoint(
        args.checkpoint, args.ann_file, args.split, args.feat, args.clip_len, args.clips, args.batch_size, args.out, args.device
    )
    m.pop("confusion")
    print(json.dumps({"checkpoint": args.checkpoint, "split": scores.meta.get("split"), **m, "scores": args.out}, indent=2))
    return 0


def _cmd_convert(args: argparse.Namespace, extra: Sequence[str]) -> int:
    from ..data.convert import run

    return run(args)


def _cmd_info(args: argparse.Namespace, extra: Sequence[str]) -> int:
    from ..model.aagcn import AAGCN
    from ..model.checkpoint import read_checkpoint

    info = read_checkpoint(args.checkpoint)
    model = AAGCN(info.config)
    state = info.raw.get("train_state") or {}
    out = {
        "file": str(info.path),
        "source": info.source,
        "config": info.config.to_dict(),
        "parameters": model.num_parameters(),
        "meta": {k: v for k, v in info.meta.items() if isinstance(v, (str, int, float, bool, list))},
    }
    if state:
        out["training"] = {k: state[k] for k in ("epoch", "step_in_epoch", "global_step", "best_top1", "world_size", "global_batch")}
    print(json.dumps(out, indent=2, default=str))
    return 0


def _cmd_presets(args: argparse.Namespace, extra: Sequence[str]) -> int:
    from ..train.config import PRESETS

    for name in sorted(PRESETS):
        p = PRESETS[name]
        print(f"{name:42s} {p['ann_file']}  {p['train_split']} -> {p['val_split']}  feat={p['feat']}")
    return 0


def _cmd_lazy(module: str, func: str):
    def run(args: argparse.Namespace, extra: Sequence[str]) -> int:
        import importlib

        return getattr(importlib.import_module(module), func)(args, extra)

    return run


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``aagcn-lab``."""
    p = argparse.ArgumentParser(prog="aagcn-lab", description="Learn, explore and reproduce MS-AAGCN.")
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train one stream (options: any TrainConfig field, e.g. --lr 0.05)")
    t.add_argument("--preset", default="", help="a training preset (see `aagcn-lab presets`)")
    t.add_argument("--config", default="", help="a JSON config (e.g. a run folder's launch_config.json)")
    t.add_argument("--resume", default="", help="'auto' (the run folder's latest.pt) or a checkpoint path")
    t.add_argument("--nproc", type=int, default=1, help="processes per node (GPUs); >1 launches torchrun")
    t.add_argument("--nnodes", type=int, default=1, help="number of nodes (with --rdzv-endpoint)")
    t.add_argument("--rdzv-endpoint", default=None, help="HOST:PORT of the first node, for several nodes")
    t.add_argument("--node-rank", type=int, default=None)
    t.set_defaults(func=_cmd_train, extra_ok=True)

    e = sub.add_parser("test", help="10-clip test of a checkpoint on an annotation split")
    e.add_argument("checkpoint")
    e.add_argument("--ann-file", default=None)
    e.add_argument("--split", default=None)
    e.add_argument("--feat", default=None, choices=("j", "b", "jm", "bm"))
    e.add_argument("--clip-len", type=int, default=None)
    e.add_argument("--clips", type=int, default=10)
    e.add_argument("--batch-size", type=int, default=16)
    e.add_argument("--device", default="auto")
    e.add_argument("--out", default=None, help="write the per-sample scores here (.npz)")
    e.set_defaults(func=_cmd_test)

    c = sub.add_parser("convert", help="convert raw NTU / Kinetics JSON / dense arrays; check a file")
    from ..data.convert import add_arguments

    add_arguments(c)
    c.set_defaults(func=_cmd_convert)

    i = sub.add_parser("info", help="print what a checkpoint holds")
    i.add_argument("checkpoint")
    i.set_defaults(func=_cmd_info)

    pr = sub.add_parser("presets", help="list training presets")
    pr.set_defaults(func=_cmd_presets)

    for name, module, help_ in (
        ("streams", "aagcn_lab.streams", "train the four streams (j, b, jm, bm) of one split, then fuse"),
        ("fuse", "aagcn_lab.fusion", "fuse per-stream score files"),
        ("predict", "aagcn_lab.predict", "predict the action of new skeletons"),
        ("export", "aagcn_lab.export", "export a checkpoint to ONNX / torch.export (.pt2) with a JSON sidecar"),
        ("bench", "aagcn_lab.bench", "print speed figures"),
        ("lab", "aagcn_lab.lab", "run every notebook headless (the main job)"),
    ):
        s = sub.add_parser(name, help=help_, add_help=False)
        s.set_defaults(func=_cmd_lazy(module, "cli"), extra_ok=True)
    return p


def _sample_error() -> type:
    """The dataset's per-sample error (evaluated only when an exception is being matched)."""
    from ..data.dataset import SampleError

    return SampleError


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``aagcn-lab``."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and not getattr(args, "extra_ok", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    keep_freed_memory()  # CPU speed: see aagcn_lab.runtime
    try:
        return int(args.func(args, extra) or 0)
    except BrokenPipeError:  # e.g. `aagcn-lab presets | head`
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        return 0
    except (KeyError, ValueError, OSError, _sample_error()) as e:  # every input error (InputError is a ValueError): one line
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        if isinstance(e, OSError) and not isinstance(e, FileNotFoundError) and e.filename:
            msg = f"{e.filename}: {e.strerror or e}"
        print(f"aagcn-lab {args.command}: {msg}", file=sys.stderr)
        return 2

