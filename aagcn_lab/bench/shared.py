"""The ``shared`` section: a workload's speed when another process shares the cores (issue #29).

The workload (``--workload``) is timed alone and beside a competing CPU-bound process, for each
thread policy: ``train``, one training step of the lab's small model (the ``ucla_cpu_j`` preset:
batch 16, six blocks of 16 channels, 52 frames of 20 joints, one person); ``stream``, one
prediction of the live streaming predictor (a full-width COCO-17 joint model, window 100, a
prediction every ``stride`` frames, one clip, ``dtype``: the ``stream`` section's setting), where
the competitor stands for the pose estimator that shares the CPU in a live demo. A policy is a set of environment variables (threads, OpenMP's
wait policy), and OpenMP reads them once, when its runtime loads, so every measurement runs in a
fresh child process (:func:`time_steps`) and so does every competitor (:func:`busy`), started
before the child and killed after it.

Competitors: ``python``, one busy Python/numpy loop (one core, like a browser tab or the notebook
server at work); ``torch``, the same training in another process with torch's defaults (all cores,
libgomp's spinning wait: a job that is not ours); ``twin``, the same training under the same
policy (a second notebook of the lab training at once). The ratio ``beside / alone`` of a policy
is what issue #29 asks to keep at or below 2.5; ``alone_vs_default`` is what the policy costs when
the cores are idle.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence

from ..runtime import THREAD_VARS, thread_policy_env, usable_cores

__all__ = ["POLICIES", "COMPETITORS", "WORKLOADS", "policy_env", "bench_shared", "time_steps", "busy"]

COMPETITORS = ("python", "torch", "twin")
# name -> what it sets in a clean environment; "all" stands for the number of usable cores
POLICIES: dict[str, dict[str, str]] = {
    "default": {"OMP_NUM_THREADS": "all"},  # torch's own: libgomp spins up to 300k times at a barrier, then sleeps
    "active": {"OMP_NUM_THREADS": "all", "OMP_WAIT_POLICY": "ACTIVE"},  # spins until the work arrives
    "passive": {"OMP_NUM_THREADS": "all", "OMP_WAIT_POLICY": "PASSIVE"},  # sleeps at once (a futex)
    "spin10k": {"OMP_NUM_THREADS": "all", "GOMP_SPINCOUNT": "10000"},  # a short spin, then sleeps
    "1thread": {"OMP_NUM_THREADS": "1"},
    "lab": {},  # what aagcn_lab.runtime gives our processes (thread_policy_env of a clean environment)
}


def policy_env(policy: str, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a child run under ``policy``: ``base`` without any thread setting, plus the policy's."""
    if policy not in POLICIES:
        raise ValueError(f"--policies: unknown policy {policy!r} (known: {', '.join(POLICIES)})")
    env = {k: v for k, v in (os.environ if base is None else base).items() if k not in THREAD_VARS}
    settings = thread_policy_env(env) if policy == "lab" else POLICIES[policy]
    cores = str(usable_cores())
    env.update({k: cores if v == "all" else v for k, v in settings.items()})
    return env


def _child(call: str) -> list[str]:
    """The command line of a fresh Python that runs ``call`` of this module."""
    return [sys.executable, "-c", f"from aagcn_lab.bench.shared import busy, time_steps; {call}"]


def _run_step(env: Mapping[str, str], steps: int, batch: int, frames: int, workload: str = "train", stream: Mapping | None = None) -> dict:
    """Run the timed child under ``env``; its JSON line."""
    cmd = _child(f"time_steps({int(steps)}, {int(batch)}, {int(frames)}, {workload!r}, {dict(stream or {})!r})")
    done = subprocess.run(cmd, env=dict(env), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"bench shared: the timed child failed (status {done.returncode}): {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _start_competitor(kind: str, env: Mapping[str, str], batch: int, frames: int) -> subprocess.Popen:
    """Start a competitor under ``env`` and return once it is busy (it prints a line when it is)."""
    proc = subprocess.Popen(_child(f"busy({'python' if kind == 'python' else 'torch'!r}, {int(batch)}, {int(frames)})"), env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)  # fmt: skip
    if not proc.stdout or not proc.stdout.readline():
        proc.kill()
        proc.wait()
        raise RuntimeError(f"bench shared: the {kind} competitor did not start")
    return proc


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


WORKLOADS = ("train", "stream")


def bench_shared(
    policies: Sequence[str] = tuple(POLICIES), competitors: Sequence[str] = COMPETITORS, steps: int = 10, batch: int = 16,
    frames: int = 52, workload: str = "train", stride: int = 5, dtype: str = "fp32", window: int = 100,
) -> dict:
    """Median seconds per training step of the lab's small model (``workload="train"``) or per streaming
    prediction (``"stream"``: ``window``, ``stride``, ``dtype``), alone and beside each competitor, per policy
    (``steps`` after two of warm-up, fewer, at least 3, where they take more than 30 s)."""  # fmt: skip
    for kind in competitors:
        if kind not in COMPETITORS:
            raise ValueError(f"--competitors: unknown competitor {kind!r} (known: {', '.join(COMPETITORS)})")
    if workload not in WORKLOADS:
        raise ValueError(f"--workload: unknown workload {workload!r} (known: {', '.join(WORKLOADS)})")
    envs = {p: policy_env(p) for p in policies}  # unknown names are refused before anything runs
    stream = {"window": window, "stride": stride, "dtype": dtype}
    out: dict = {"workload": workload, "cores": usable_cores(), "steps": steps}
    out.update({"batch": batch, "frames": frames} if workload == "train" else {"window / stride / dtype": f"{window} / {stride} / {dtype}"})
    base = {p: _run_step(envs[p], steps, batch, frames, workload, stream) for p in policies}
    out["openmp"] = base[policies[0]]["openmp"] if policies else ""
    beside: dict[tuple[str, str], float] = {}
    for kind in competitors:  # policies in turn within a competitor: a machine that drifts affects them alike
        for p in policies:
            proc = _start_competitor(kind, envs[p] if kind == "twin" else policy_env("default"), batch, frames)
            try:
                beside[p, kind] = _run_step(envs[p], steps, batch, frames, workload, stream)["step_s"]
            finally:
                _stop(proc)
    default_alone = base["default"]["step_s"] if "default" in base else None
    for p in policies:  # one block of lines a policy
        settings = {k: v for k, v in envs[p].items() if k in THREAD_VARS}
        out[f"{p}_settings"] = " ".join(f"{k}={v}" for k, v in sorted(settings.items())) or "(none)"
        out[f"{p}_threads"] = base[p]["threads"]
        out[f"{p}_alone_s"] = alone = base[p]["step_s"]
        if default_alone:
            out[f"{p}_alone_vs_default"] = alone / default_alone
        for kind in competitors:
            out[f"{p}_beside_{kind}_s"] = beside[p, kind]
            out[f"{p}_beside_{kind}_ratio"] = beside[p, kind] / alone
        if competitors:
            out[f"{p}_worst_ratio"] = max(beside[p, kind] for kind in competitors) / alone  # issue #29: at most 2.5
    return out


# -- the child processes ------------------------------------------------------------------------
def _openmp() -> str:
    """The OpenMP runtime this process has loaded (libgomp, libiomp5, ...), from its memory map."""
    try:
        libs = {line.rsplit("/", 1)[-1].strip() for line in open("/proc/self/maps") if "omp" in line.rsplit("/", 1)[-1]}
    except OSError:
        return "unknown"
    return ", ".join(sorted(libs)) or "none"


def _step_fn(batch: int, frames: int):  # noqa: ANN202 (a closure over torch objects)
    """One SGD training step of the ``ucla_cpu_j`` model on a random batch, as a function of nothing."""
    import torch

    from ..model import build_model
    from ..train.config import preset
    from .model import _sgd, _train_step

    torch.manual_seed(0)
    cfg = preset("ucla_cpu_j")
    model = build_model(layout="ucla", num_classes=10, **cfg.model).train()  # NW-UCLA: 20 joints, 10 actions
    x = torch.randn(batch, cfg.model.get("num_person", 1), frames, 20, 3)
    y = torch.randint(0, 10, (batch,))
    opt = _sgd(model)
    return lambda: _train_step(model, opt, x, y, "none")


def _prediction_fn(window: int = 100, stride: int = 5, dtype: str = "fp32"):  # noqa: ANN202 (a closure over a predictor)
    """One streaming prediction as a function of nothing: the next ``stride`` COCO-17 frames pushed to a
    full-width joint-model :class:`~aagcn_lab.streaming.StreamingPredictor`, the last one predicting."""
    import itertools

    from .stream import _coco_frames, _coco_models, _predictor

    sp = _predictor(_coco_models(), window, stride, 1, dtype)
    frames = itertools.cycle(_coco_frames(window + 100 * stride))  # a hundred predictions before the walk starts over
    for _ in range(window - stride):  # then every call ends on a stride
        sp.push(next(frames))

    def predict() -> None:
        results = [sp.push(next(frames)) for _ in range(stride)]
        assert results[-1] is not None and all(r is None for r in results[:-1]), "bench shared: not one prediction a stride"

    return predict


def busy(kind: str, batch: int = 16, frames: int = 52) -> None:
    """A competitor (runs until killed): ``python``, a numpy loop on one core; ``torch``, the training step."""
    if kind == "python":
        import numpy as np

        x = np.random.default_rng(0).random(4096)
        print("busy", flush=True)
        while True:  # a Python loop around small numpy calls: one core, all the time
            x = np.sin(x) + 0.5
    step = _step_fn(batch, frames)
    step()
    print("busy", flush=True)
    while True:
        step()


def time_steps(steps: int = 10, batch: int = 16, frames: int = 52, workload: str = "train", stream: Mapping | None = None) -> None:
    """The timed child: print one JSON line with the median seconds per training step (or streaming prediction),
    threads and OpenMP runtime."""
    import torch

    step = _step_fn(batch, frames) if workload == "train" else _prediction_fn(**dict(stream or {}))
    step()
    step()  # warm-up: allocator, oneDNN's kernels
    times: list[float] = []
    start = time.perf_counter()
    # `steps`, or fewer (at least 3) once 30 s have passed: a spinning policy beside a busy process takes seconds a step
    while len(times) < steps and (len(times) < 3 or time.perf_counter() - start < 30):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    print(json.dumps({"step_s": statistics.median(times), "steps": len(times), "threads": torch.get_num_threads(), "openmp": _openmp()}))
