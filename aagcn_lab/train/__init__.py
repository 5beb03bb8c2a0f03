"""Training and evaluation: configs and presets, the DDP trainer, the run folder, the notebook launcher.

============================  =====================================================================
module                        what it owns
============================  =====================================================================
``train/config.py``           :class:`TrainConfig`, the presets, overrides (plain dataclasses)
``train/rundir.py``           the run folder's file names: :class:`RunDir`, :class:`RunResult`
``train/trainer.py``          :class:`Trainer` (set-up steps, ``fit``: the loop), :func:`train`
``train/distributed.py``      process group and collectives (gloo on CPU, NCCL on GPU)
``train/sampler.py``          :class:`KeySampler`: which samples each step, rank, micro-batch gets
``train/state.py``            what a checkpoint holds to resume exactly (:class:`TrainState`, RNG)
``train/schedule.py``         pyskl's SGD recipe and the per-step cosine schedule
``train/evaluation.py``       sharded :func:`evaluate`, :func:`test_checkpoint` (10-clip test)
``train/log.py``              ``metrics.jsonl`` records (:class:`MetricsLog`)
``train/launch.py``           :func:`launch`: torchrun as a subprocess, from a notebook cell
============================  =====================================================================

Importing the package is light: the config names are imported eagerly, the trainer (and
torch.distributed) only when one of its names is first used. Metrics live one layer down, in
:mod:`aagcn_lab.metrics`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports
from .config import PRESETS, TrainConfig, apply_overrides, load_config, preset, preset_names

if TYPE_CHECKING:  # what editors and type checkers see; at run time __getattr__ imports on demand
    from .evaluation import evaluate, test_checkpoint
    from .rundir import RunDir, RunResult
    from .sampler import KeySampler
    from .trainer import DivergenceError, Trainer, train

_EXPORTS = {
    "DivergenceError": ".trainer",
    "KeySampler": ".sampler",
    "RunDir": ".rundir",
    "RunResult": ".rundir",
    "Trainer": ".trainer",
    "evaluate": ".evaluation",
    "test_checkpoint": ".evaluation",
    "train": ".trainer",
}

__all__ = [
    "PRESETS",
    "DivergenceError",
    "KeySampler",
    "RunDir",
    "RunResult",
    "TrainConfig",
    "Trainer",
    "apply_overrides",
    "evaluate",
    "load_config",
    "preset",
    "preset_names",
    "test_checkpoint",
    "train",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
