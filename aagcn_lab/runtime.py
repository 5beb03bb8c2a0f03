"""Process-wide settings that make CPU training and inference faster.

Why. An AAGCN activation for a batch is tens of megabytes (16 samples x 2 persons x 64 channels x
100 frames x 25 joints x 4 bytes = 20 MB, more in the wide layers). glibc's ``malloc`` serves
blocks that large with a fresh ``mmap`` and gives them back to the kernel on ``free``, so every
layer of every forward and backward pass page-faults its output in again, and the kernel zeroes
each page first. How much depends on the process's history (glibc raises its mmap threshold as
it frees blocks, up to 32 MB). ``python -m aagcn_lab.bench model`` prints it for a fresh process's
first 10-clip inference batch, with and without ``--default-malloc``: on our 2-core VM the
reference transcription took 4.0 million minor page faults and 7.7 s of system time by default
against 0.15 million and 0.3 s with this setting, our inference path 0.45 million and 0.8 s
against 0.1 million and 0.2 s; in the steady state after a training step the bench sees no
difference. Keeping freed memory in the heap means the same memory is reused from step to step;
the cost is that the process keeps its peak memory until it exits.

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
