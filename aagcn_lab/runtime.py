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

Threads (issue #29). torch's CPU wheels run their intra-op threads on GNU OpenMP (libgomp), whose
threads spin at every barrier and between parallel regions (up to 300,000 spins) before they sleep.
When another process shares the cores, a thread that spins holds a core the thread it waits for
needs: a training step of the lab's small model took 17x longer beside a light job. With
``OMP_WAIT_POLICY=PASSIVE`` the threads sleep at once and hand the core over; ``python -m
aagcn_lab.bench shared`` times the step alone and beside a busy process per policy (a short spin,
``GOMP_SPINCOUNT=10000``, was still several times slower beside one in a check on busy cores; one thread gives up the
second core when the machine is idle). OpenMP reads the variable once, when torch loads it, so
:func:`apply_thread_policy` puts it into the environment at the command-line entry points before
torch is imported (their children, torchrun's workers and the lab's notebook kernels inherit it;
:func:`run_lab` adds it for its kernels also when called from Python). Nothing changes on
``import aagcn_lab``. The user's own ``OMP_WAIT_POLICY``, ``GOMP_SPINCOUNT`` or ``KMP_BLOCKTIME`` wins,
``OMP_NUM_THREADS`` is never set here (the trainer keeps a core per data worker), and
``AAGCN_LAB_THREADS=default`` leaves OpenMP as it is.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

__all__ = ["keep_freed_memory", "THREAD_VARS", "WAIT_POLICY", "usable_cores", "thread_policy_env", "apply_thread_policy",
           "thread_policy_environ"]

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


# -- threads ------------------------------------------------------------------------------------
# Every variable that sets how many threads OpenMP runs or how they wait; the user's own wins.
THREAD_VARS = ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME", "MKL_NUM_THREADS", "AAGCN_LAB_THREADS")
WAIT_POLICY = {"OMP_WAIT_POLICY": "PASSIVE"}  # what thread_policy_env adds (the module docstring says why)


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def thread_policy_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The OpenMP settings our processes get, given ``environ`` (default ``os.environ``): none the user has set."""
    env = os.environ if environ is None else environ
    if env.get("AAGCN_LAB_THREADS", "").strip().lower() == "default":
        return {}
    if any(env.get(k, "").strip() for k in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME")):
        return {}  # the user chose how threads wait
    return dict(WAIT_POLICY)


def apply_thread_policy() -> dict[str, str]:
    """Add the thread policy to ``os.environ`` (entry points call it before torch loads); what it added."""
    added = thread_policy_env()
    os.environ.update(added)
    return added


@contextmanager
def thread_policy_environ() -> Iterator[dict[str, str]]:
    """``os.environ`` with the thread policy added while inside; processes started there inherit it."""
    added = {k: v for k, v in thread_policy_env().items() if k not in os.environ}
    os.environ.update(added)
    try:
        yield added
    finally:
        for k in added:
            os.environ.pop(k, None)
