"""Training and evaluation: configs and presets, the DDP trainer, the notebook launcher.

Importing the package is light: the config names are imported eagerly (plain dataclasses), the
trainer and its torch.distributed set-up only when one of their names is first used. Metrics live
one layer down, in :mod:`aagcn_lab.metrics`.
"""

from __future__ import annotations

import importlib
from typing import Any

from .config import PRESETS, TrainConfig, apply_overrides, load_config, preset, preset_names

# name -> submodule that defines it (imported on first use)
_LAZY = {
    "DivergenceError": "trainer",
    "KeySampler": "trainer",
    "RunDir": "rundir",
    "RunResult": "rundir",
    "Trainer": "trainer",
    "evaluate": "trainer",
    "train": "trainer",
}

__all__ = ["PRESETS", "TrainConfig", "apply_overrides", "load_config", "preset", "preset_names", *_LAZY]


def __getattr__(name: str) -> Any:
    """Import the trainer's names on first use (``aagcn_lab.train.Trainer``)."""
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
