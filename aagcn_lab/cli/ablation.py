"""``aagcn-lab ablation``: the paper's ablations as a grid of runs, over several seeds, then a table.

::

    aagcn-lab ablation --variants full,no_attention,fixed_graph --seeds 0,1 --epochs 5 --batch_size 8   # CPU, built-in data (notebook 08)
    aagcn-lab ablation --variants all --seeds 0,1,2 --root runs/ablation_full  # every variant
    aagcn-lab ablation --preset aagcn_pyskl_ntu60_xsub_3dkp --variants all --seeds 0,1,2 \\
        --gpus 0,1,2,3,4,5,6,7 --parallel --ann_file data/nturgbd/ntu60_3danno.pkl
    aagcn-lab ablation --list                                                   # the variants

Finished runs are reused and interrupted ones resume, so the same command continues a grid.
Other options are training options for every run (``--epochs 5 --test_clips 2``).
"""

from __future__ import annotations

import argparse

__all__ = ["add_arguments", "run"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``aagcn-lab ablation``."""
    from . import positive_int  # counts below 1 are refused naming the option (exit 2)

    p.add_argument("--variants", default="full,no_attention", help="comma-separated variant names, or all (see --list)")
    p.add_argument("--seeds", default="0,1", help="comma-separated seeds, e.g. 0,1,2")
    p.add_argument("--preset", default="builtin", help="preset family, e.g. builtin or aagcn_pyskl_ntu60_xsub_3dkp")
    p.add_argument("--root", default="runs/ablation", help="folder of the grid's run folders (default runs/ablation)")
    p.add_argument("--gpus", default=None, help="GPU ids, e.g. 0,1,2,3")
    p.add_argument("--parallel", action="store_true", help="runs side by side (one per core on CPU, disjoint GPU sets)")
    p.add_argument("--nproc", type=positive_int, default=1, help="processes per run (CPU)")
    p.add_argument("--validate", action="store_true", help="keep the preset's validation and test its best epoch (default: the last)")
    p.add_argument("--compare", default="full", help="print whether each variant can be told apart from this one")
    p.add_argument("--list", action="store_true", help="list the variants and exit")
    p.set_defaults(takes_overrides=True)


def run(args: argparse.Namespace) -> int:
    """Run or continue the grid; print the table and the verdicts (0), or one line on bad input (2)."""
    from ..ablation import VARIANTS, run_ablation

    if args.list:
        for v in VARIANTS.values():
            print(f"{v.name:24s} {v.description}")
        return 0
    from . import int_list

    seeds = int_list(args.seeds, "--seeds")  # before any run: a bad item is named with its option
    gpus = int_list(args.gpus, "--gpus") if args.gpus else None
    res = run_ablation(args.root, args.variants, seeds, args.preset, gpus, args.parallel, args.nproc, args.validate,
                       **(getattr(args, "overrides", None) or {}))  # fmt: skip
    print(res.table())
    if args.compare in res.variants:
        for name in res.variants:
            if name != args.compare:
                print(res.compare(name, args.compare).text)
    return 0
