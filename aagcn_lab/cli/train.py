"""``aagcn-lab train``: train one stream, in this process or through torchrun.

::

    aagcn-lab train --preset builtin_j                  # any TrainConfig field: --lr 0.05 --model.base_channels 32
    aagcn-lab train --preset aagcn_pyskl_ntu60_xsub_3dkp_j --nproc 8    # 8 GPUs through torchrun
    aagcn-lab train --config runs/x/launch_config.json --resume auto   # continue from latest.pt

Options this command does not know are TrainConfig fields (``--name value``, ``--name=value``,
``--flag``), applied to the preset or config.
"""

from __future__ import annotations

import argparse
import json
import sys

__all__ = ["add_arguments", "run", "train_config"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``aagcn-lab train``."""
    p.add_argument("--preset", default="", help="a training preset (see `aagcn-lab presets`)")
    p.add_argument("--config", default="", help="a JSON config (e.g. a run folder's launch_config.json)")
    p.add_argument("--resume", default="", help="'auto' (the run folder's latest.pt) or a checkpoint path")
    p.add_argument("--nproc", type=int, default=1, help="processes per node (GPUs); >1 launches torchrun")
    p.add_argument("--nnodes", type=int, default=1, help="number of nodes (with --rdzv-endpoint)")
    p.add_argument("--rdzv-endpoint", default=None, help="HOST:PORT of the first node, for several nodes")
    p.add_argument("--node-rank", type=int, default=None)
    p.set_defaults(takes_overrides=True)


def train_config(args: argparse.Namespace):
    """The TrainConfig of ``--config`` / ``--preset`` (or the defaults) with the command line's overrides."""
    from ..train.config import TrainConfig, apply_overrides, load_config, preset

    if args.config:
        cfg = load_config(args.config)
    elif args.preset:
        cfg = preset(args.preset)
    else:
        cfg = TrainConfig()
    return apply_overrides(cfg, getattr(args, "overrides", None) or {})


def run(args: argparse.Namespace) -> int:
    """Train; print the run's results as JSON (0), or one line on a launch failure (1)."""
    from ..data.validate import resolve_device

    cfg = train_config(args)
    resolve_device(cfg.device)  # --device cuda without a GPU: one line now, not a failure inside the trainer
    if args.nproc > 1 or args.nnodes > 1 or args.rdzv_endpoint:
        from ..train.launch import LaunchError, launch

        try:
            result = launch(cfg, args.nproc, args.nnodes, args.rdzv_endpoint, node_rank=args.node_rank, resume=args.resume or None)
        except LaunchError as e:
            print(f"aagcn-lab train: {e}", file=sys.stderr)
            return 1
        print(json.dumps(result.to_dict(), indent=2))
        return 0
    from ..train.rundir import RunDir
    from . import worker

    run_dir = RunDir.of(cfg)
    argv = ["--config", str(run_dir.write_launch_config(cfg))] + (["--resume", args.resume] if args.resume else [])
    code = worker.main(argv)
    if code:
        return code
    print(json.dumps(run_dir.result().to_dict(), indent=2))
    return 0
