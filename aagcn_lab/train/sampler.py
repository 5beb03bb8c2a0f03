"""How the training data is split between optimizer steps, processes and micro-batches.

Each epoch draws one permutation of ``len(train set) * repeat`` sample keys from the seed and the
epoch. Optimizer step ``s`` consumes the block ``perm[s * G : (s + 1) * G]`` of
``G = batch_size * world_size * grad_accum`` keys; micro-batch ``m`` of rank ``r`` is the
``(m * world_size + r)``-th slice of it. So 2 processes with batch ``b`` see exactly the samples
of 1 process with batch ``b`` and ``grad_accum=2`` (the same gradients, also the same BN batch
statistics), and resuming at step ``s`` just starts at block ``s``. The last incomplete global
batch of an epoch is dropped.

A key is ``round * N + index`` (``round = epoch * repeat + repeat index``): the dataset draws
each sample's random clip from (seed, round, index), so a sample seen twice gets two clips, and
the same two again after a resume.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import Sampler

__all__ = ["KeySampler"]


class KeySampler(Sampler[int]):
    """Yields this rank's dataset keys (``round * N + index``) for one epoch, from a start step."""

    def __init__(self, n: int, batch_size: int, world_size: int, rank: int, grad_accum: int, repeat: int, seed: int) -> None:
        self.n, self.b, self.world, self.rank = n, batch_size, world_size, rank
        self.accum, self.repeat, self.seed = grad_accum, repeat, seed
        self.epoch, self.start_step = 0, 0

    @property
    def global_batch(self) -> int:
        """Samples per optimizer step, over all processes."""
        return self.b * self.world * self.accum

    @property
    def steps_per_epoch(self) -> int:
        """Optimizer steps per epoch (the last incomplete global batch is dropped)."""
        return (self.n * self.repeat) // self.global_batch

    def set_epoch(self, epoch: int, start_step: int = 0) -> None:
        """Choose the epoch (reshuffles) and the optimizer step to begin at (for resuming)."""
        self.epoch, self.start_step = epoch, start_step

    def __iter__(self) -> Iterator[int]:
        g = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        perm = torch.randperm(self.n * self.repeat, generator=g).numpy()
        keys = perm + self.epoch * self.n * self.repeat  # round = epoch * repeat + repeat index
        for s in range(self.start_step, self.steps_per_epoch):
            for m in range(self.accum):
                start = s * self.global_batch + (m * self.world + self.rank) * self.b
                yield from keys[start : start + self.b].tolist()

    def __len__(self) -> int:
        return (self.steps_per_epoch - self.start_step) * self.accum * self.b
