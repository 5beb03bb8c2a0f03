"""``aagcn-lab presets``: the training presets, one line each (data file, splits, stream)."""

from __future__ import annotations

import argparse

__all__ = ["add_arguments", "run"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """``aagcn-lab presets`` takes no options."""


def run(args: argparse.Namespace) -> int:
    """Print every preset."""
    from ..train.config import PRESETS

    for name in sorted(PRESETS):
        p = PRESETS[name]
        print(f"{name:42s} {p['ann_file']}  {p['train_split']} -> {p['val_split']}  feat={p['feat']}")
    return 0
