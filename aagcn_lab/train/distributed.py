"""Distributed set-up and the two collectives the trainer needs.

One code path from one CPU process to many GPUs on many nodes: :func:`setup_distributed` reads
torchrun's ``RANK`` / ``WORLD_SIZE`` / ``LOCAL_RANK`` and starts the process group (gloo on CPU,
NCCL on GPU) only when there is more than one process. Launched directly, everything here is a
no-op for the single process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import torch
import torch.distributed as dist

__all__ = ["DistInfo", "setup_distributed", "cleanup_distributed", "all_true", "gather_rows"]


@dataclass
class DistInfo:
    """This process's place in the job: rank, number of processes, local GPU and device."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that logs and saves."""
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        """More than one process (collectives needed)."""
        return self.world_size > 1


def setup_distributed(device: str = "auto") -> DistInfo:
    """Read torchrun's RANK / WORLD_SIZE / LOCAL_RANK; init the process group (gloo or NCCL)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank, local = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available() if device == "auto" else device.startswith("cuda")
    if use_cuda and not torch.cuda.is_available():
        raise RuntimeError("device='cuda' requested but CUDA is not available")
    dev = torch.device(f"cuda:{local}" if use_cuda else "cpu")
    if use_cuda:
        torch.cuda.set_device(dev)

    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return DistInfo(rank, world, local, dev)


def cleanup_distributed() -> None:
    """Tear the process group down (when there is one)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


# The latest collective's work handles stay referenced here for the life of the process. A gloo
# worker thread that drops the last reference to a finished work frees its tensors, and freeing a
# tensor Python has seen needs the GIL. If the main thread is at that moment tearing the process
# group down, it holds the GIL while ~ProcessGroupGloo joins that worker thread, and both wait
# forever (seen at the end of two-node runs on a loaded 2-core machine). With a reference kept here
# the worker only decrements a count, and the work is freed later by Python itself.
_LAST_COLLECTIVE: list[object] = []


def all_true(flag: bool, info: DistInfo) -> bool:
    """Whether ``flag`` holds on every rank (so that all ranks take the same branch)."""
    if not info.enabled:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=info.device)
    work = dist.all_reduce(t, op=dist.ReduceOp.MIN, async_op=True)
    _LAST_COLLECTIVE[:] = [work, t]
    work.wait()
    return bool(t.item())


def gather_rows(rows: torch.Tensor, info: DistInfo) -> torch.Tensor:
    """Every rank's ``rows`` (same trailing shape and dtype, any length) stacked in rank order, on CPU."""
    count = torch.tensor([len(rows)], dtype=torch.int64, device=info.device)
    counts = [torch.zeros_like(count) for _ in range(info.world_size)]
    first = dist.all_gather(counts, count, async_op=True)
    _LAST_COLLECTIVE[:] = [first, count, counts]
    first.wait()
    sizes = [int(c.item()) for c in counts]
    padded = torch.zeros((max(sizes), *rows.shape[1:]), dtype=rows.dtype, device=info.device)
    padded[: len(rows)] = rows.to(info.device)
    outs = [torch.empty_like(padded) for _ in range(info.world_size)]
    second = dist.all_gather(outs, padded, async_op=True)
    _LAST_COLLECTIVE[:] = [first, count, counts, second, padded, outs]
    second.wait()
    return torch.cat([o[:k] for o, k in zip(outs, sizes)]).cpu()
