"""What every section shares: the machine's description, interleaved timing and a convolution's rate."""

from __future__ import annotations

import os
import platform
import resource
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["machine"]


def machine() -> str:
    """One line describing the machine and the software."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = f", GPU {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ""
    return (
        f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__} ({torch.get_num_threads()} threads){gpu}, "
        f"numpy {np.__version__}, Python {platform.python_version()}"
    )


def _time(*fns: Callable[[], object], iters: int, warmup: int = 1, sync: bool = False) -> list[float]:
    """Median seconds of each function over ``iters`` rounds after ``warmup``; the functions take
    turns within a round, so a machine that speeds up or slows down affects them alike."""
    for _ in range(warmup):
        for fn in fns:
            fn()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(iters):
        for fn, ts in zip(fns, times):
            if sync:
                torch.cuda.synchronize()
            t = time.perf_counter()
            fn()
            if sync:
                torch.cuda.synchronize()
            ts.append(time.perf_counter() - t)
    return [statistics.median(ts) for ts in times]


def _faults(fn: Callable[[], object]) -> tuple[int, float]:
    """Minor page faults and system CPU seconds of one run of ``fn`` (what malloc's setting changes)."""
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    fn()
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    return r1.ru_minflt - r0.ru_minflt, r1.ru_stime - r0.ru_stime


def _conv_rate(rows: int, ci: int, co: int, t: int, v: int, kt: int, dtype: torch.dtype, channels_last: bool, iters: int) -> float:
    """GFLOP/s of one ``(kt, 1)`` convolution ``(rows, ci, t, v) -> (rows, co, t, v)``."""
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    x = torch.randn(rows, ci, t, v).to(dtype).contiguous(memory_format=fmt)
    w = (torch.randn(co, ci, kt, 1) * ci**-0.5).to(dtype).contiguous(memory_format=fmt)
    b = torch.zeros(co, dtype=dtype)
    with torch.inference_mode():
        sec = _time(lambda: F.conv2d(x, w, b, padding=((kt - 1) // 2, 0)), iters=iters)[0]
    return 2 * rows * co * ci * kt * t * v / sec / 1e9
