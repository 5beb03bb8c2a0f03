"""Process-wide settings that make CPU training and inference faster.

Why. An AAGCN activation for a batch is tens of megabytes (16 samples x 2 persons x 64 channels x
100 frames x 25 joints x 4 bytes = 20 MB, more in the wide layers). glibc's ``malloc`` serves
blocks that large with a fresh ``mmap`` and gives them back to the kernel on ``free``, so every
layer of every forward and backward pass page-faults its output in again, and the kernel zeroes
each page first. On our 2-core VM that was 40% of all CPU time (1.7 million minor page faults
and 3.5 s of system time per 10-clip inference batch; ``python -m aagcn_lab.bench model`` prints
the figures). Asking malloc to keep freed memory in the heap removes all of it: the same memory
is reused from step to step. The cost is that the process keeps its peak memory until it exits.

The entry points (``aagcn-lab train|test|predict|bench``, ``python -m aagcn_lab.train``) call
:func:`keep_freed_memory`; set ``AAGCN_LAB_MALLOC=default`` to leave malloc alone. Library users
(notebooks) can call it themselves.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

__all__ = ["keep_freed_memory"]

_M_TRIM_THRESHOLD = -1  # from glibc's malloc.h
_M_MMAP_MAX = -4
_STATE: dict[str, bool] = {}


def keep_freed_memory() -> bool:
    """Make glibc malloc reuse freed memory instead of unmapping it (Linux); True if applied."""
    if "applied" in _STATE:
        return _STATE["applied"]
    applied = False
    if sys.platform.startswith("linux") and os.environ.get("AAGCN_LAB_MALLOC", "") != "default":
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            mallopt = libc.mallopt
        except (OSError, AttributeError):  # not glibc (musl, ...): nothing to tune
            mallopt = None
        if mallopt is not None:
            mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
            # no mmap for large blocks (they come from the heap and go back to it) and never trim
            # the heap's top below 2 GiB: freed activations are handed out again, already paged in
            applied = bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, 2**31 - 1))
    _STATE["applied"] = applied
    return applied
