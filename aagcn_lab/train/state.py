"""What a training checkpoint holds besides the weights, and the random state that makes resume exact.

A run killed at any step and resumed finishes with the same weights as one that never stopped
(CPU, ``deterministic=True``, same number of processes and threads), because everything the
next step depends on is either in the checkpoint or a function of the step:

* in the checkpoint (:class:`TrainState`): optimizer (momentum buffers), grad scaler, epoch and
  step counters, best validation score, and every RNG state (python, numpy, torch, CUDA), stored
  as plain tensors and lists so that weights-only loading can read them;
* a function of the step: the learning rate (:func:`~aagcn_lab.train.schedule.lr_at_step`), the
  samples of each step (:mod:`~aagcn_lab.train.sampler`), each sample's random clip (seed,
  epoch, sample) and the randomness inside the model (reseeded from the step before each step).

Checkpoints are written atomically (temp file, fsync, rename; :func:`aagcn_lab.io.atomic_write`),
so a kill during a write leaves the previous one whole.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import torch

__all__ = ["TrainState", "rng_state", "set_rng_state", "seed_everything", "set_deterministic"]


@dataclass
class TrainState:
    """The ``train_state`` entry of a training checkpoint (what ``Trainer.save_state`` writes)."""

    optimizer: dict  # torch.optim state dict (momentum buffers)
    scaler: dict  # GradScaler state dict (fp16)
    epoch: int  # completed epochs
    step_in_epoch: int  # optimizer steps done in the current epoch
    global_step: int  # optimizer steps done in all
    best_top1: float  # best validation top-1 so far (-1: none yet)
    best_epoch: int  # its epoch (-1: none yet)
    world_size: int  # processes of the run (a resume with others is not bit-identical)
    global_batch: int  # samples per optimizer step
    steps_per_epoch: int
    rng: dict  # rng_state()
    train_config: dict  # the run's TrainConfig as a dict (what the checkpoint was trained on)

    def to_dict(self) -> dict:
        """The plain dict stored in the checkpoint (tensors are not copied)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, d: dict, path: str | os.PathLike = "<checkpoint>") -> TrainState:
        """Read the stored dict; a missing entry is an error naming the file and the entries."""
        missing = [f.name for f in fields(cls) if f.name not in d]
        if missing:
            raise ValueError(f"{Path(path)}: the training state lacks {', '.join(missing)}; cannot resume from it")
        return cls(**{f.name: d[f.name] for f in fields(cls)})


def rng_state() -> dict:
    """Every RNG state of this process (python, numpy, torch, CUDA) as tensors and lists."""
    np_state = np.random.get_state()
    py_state = random.getstate()
    out = {
        "torch": torch.get_rng_state(),
        "numpy": {"keys": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]), "gauss": [int(np_state[3]), float(np_state[4])]},
        "python": {"version": py_state[0], "state": list(py_state[1]), "gauss": py_state[2]},
    }
    if torch.cuda.is_available():
        out["cuda"] = torch.cuda.get_rng_state_all()
    return out


def set_rng_state(state: dict) -> None:
    """Restore what :func:`rng_state` captured."""
    torch.set_rng_state(state["torch"])
    npst = state["numpy"]
    np.random.set_state(("MT19937", npst["keys"].numpy().astype(np.uint32), npst["pos"], npst["gauss"][0], npst["gauss"][1]))
    py = state["python"]
    random.setstate((py["version"], tuple(py["state"]), py["gauss"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def set_deterministic() -> None:
    """Deterministic algorithms (cuDNN / cuBLAS too)."""
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True
