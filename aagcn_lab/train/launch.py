"""Start a training run as a subprocess -- from a notebook cell or a script.

:func:`launch` writes the config into the run folder, starts the training process (one process on
one node: ``python -m aagcn_lab.train`` itself, which saves ``torchrun``'s 1.8 s launcher start-up;
otherwise ``python -m torch.distributed.run``, one node or several, with c10d rendezvous; see
:func:`launch_command`), streams the run's progress (a tqdm bar fed by the
trainer's JSON log lines, plus anything else it prints), and returns its :class:`RunResult`. A
failure in any process ends the whole job; :class:`LaunchError` then carries the last lines of
output and the command that resumes the run.

Several nodes by hand (two machines, 8 GPUs each)::

    # on every node; NODE0 is the address of the first node
    torchrun --nnodes 2 --nproc_per_node 8 --rdzv_backend c10d --rdzv_endpoint NODE0:29500 \\
        --rdzv_id myrun -m aagcn_lab.train --config runs/x/launch_config.json

or ``launch(cfg, nproc=8, nnodes=2, rdzv_endpoint="NODE0:29500")`` on each node. On SLURM see
``scripts/slurm_train.sbatch``.

:func:`launch_all` launches several runs: one after another, or side by side (disjoint GPU sets;
on a CPU, waves of single-threaded runs, see :func:`cpu_waves`).
"""

from __future__ import annotations

import collections
import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .config import TrainConfig
from .log import parse_line
from .rundir import RunDir, RunResult

__all__ = ["LaunchError", "launch", "launch_all", "cpu_waves", "launch_command", "torchrun_command"]


class LaunchError(RuntimeError):
    """A launched run exited with an error."""


def torchrun_command(
    config_path: str | os.PathLike,
    nproc: int = 1,
    nnodes: int = 1,
    rdzv_endpoint: str | None = None,
    rdzv_id: str = "aagcn-lab",
    node_rank: int | None = None,
    resume: str | None = None,
) -> list[str]:
    """The ``torchrun`` command line for a run config."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(nproc)]
    if nnodes == 1 and rdzv_endpoint is None:
        cmd.append("--standalone")
    else:
        if rdzv_endpoint is None:
            raise ValueError("several nodes need rdzv_endpoint='HOST:PORT' (the first node's address)")
        cmd += ["--nnodes", str(nnodes), "--rdzv_backend", "c10d", "--rdzv_endpoint", rdzv_endpoint, "--rdzv_id", rdzv_id]
        if node_rank is not None:
            cmd += ["--node_rank", str(node_rank)]
    cmd += ["-m", "aagcn_lab.train", "--config", str(config_path)]
    if resume:
        cmd += ["--resume", str(resume)]
    return cmd


def launch_command(config_path: str | os.PathLike, nproc: int = 1, nnodes: int = 1, rdzv_endpoint: str | None = None, **rest: Any) -> list[str]:
    """The command that runs a config: the training process itself for one process on one node
    (no rendezvous to make: the trainer reads no torchrun variable it lacks), else
    :func:`torchrun_command` (``rest``: its ``rdzv_id``, ``node_rank`` and ``resume``)."""
    if nproc == 1 and nnodes == 1 and rdzv_endpoint is None:
        resume = rest.get("resume")
        return [sys.executable, "-m", "aagcn_lab.train", "--config", str(config_path)] + (["--resume", str(resume)] if resume else [])
    return torchrun_command(config_path, nproc, nnodes, rdzv_endpoint, **rest)


def launch(
    cfg: TrainConfig,
    nproc: int = 1,
    nnodes: int = 1,
    rdzv_endpoint: str | None = None,
    rdzv_id: str = "aagcn-lab",
    node_rank: int | None = None,
    resume: str | bool | None = None,
    env: dict | None = None,
    quiet: bool = False,
) -> RunResult:
    """Run ``cfg`` on ``nproc`` processes per node (:func:`launch_command`); stream progress; return results.

    ``resume=True`` continues from the run folder's ``latest.pt`` when there is one.
    """
    run = RunDir.of(cfg)
    config_path = run.write_launch_config(cfg)
    resume_arg = "auto" if resume is True else (str(resume) if resume else None)
    cmd = launch_command(config_path, nproc, nnodes, rdzv_endpoint, rdzv_id=rdzv_id, node_rank=node_rank, resume=resume_arg)
    run_env = dict(os.environ, PYTHONUNBUFFERED="1", **(env or {}))
    tail: collections.deque[str] = collections.deque(maxlen=40)
    bar = None
    if not quiet:
        from tqdm.auto import tqdm

        bar = tqdm(total=None, desc=f"{cfg.preset or 'run'} ({nproc}x{nnodes})", dynamic_ncols=True)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=run_env, bufsize=1)
    try:
        for line in proc.stdout:
            line = line.rstrip("\n")
            tail.append(line)
            rec = parse_line(line)
            if rec is not None:
                if bar is not None:
                    if rec.get("total_steps") and bar.total != rec["total_steps"]:
                        bar.total = rec["total_steps"]
                    if rec.get("split") == "train":
                        bar.n = rec["step"]
                        bar.set_postfix(loss=f"{rec['loss']:.3f}", top1=f"{rec['top1']:.2f}")
                    else:
                        bar.write(f"{rec['split']} epoch {rec.get('epoch')}: top1 {rec.get('top1', 0):.4f}")
                    bar.refresh()
            elif not quiet and line.strip() and "\r" not in line:
                (bar.write if bar is not None else print)(line)
        code = proc.wait()
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    finally:
        if bar is not None:
            bar.close()
    if code != 0:
        text = "\n".join(tail)
        root = text[text.find("Root Cause") :] if "Root Cause" in text else text  # torchrun's summary
        killed = re.search(r"rank\s*:\s*(\d+).*?exitcode\s*:\s*-(\d+)", root, re.S)
        why = f" (the process of rank {killed.group(1)} was killed by signal {killed.group(2)})" if killed else ""
        if code < 0:  # the training process itself (one process, no torchrun between)
            why = f" (the training process was killed by signal {-code})"
        resume_cmd = " ".join(launch_command(config_path, nproc, nnodes, rdzv_endpoint, rdzv_id=rdzv_id, node_rank=node_rank, resume="auto"))
        raise LaunchError(f"training exited with status {code}{why}. Last output:\n" + "\n".join(tail) + f"\nResume with: {resume_cmd}")
    result = run.result()
    if result is None:
        raise LaunchError(f"the run finished but wrote no {run.results}")
    return result


def cpu_waves(count: int, cores: int) -> list[tuple[list[int], int]]:
    """How ``count`` runs share ``cores`` CPU cores side by side: ``(run indices, threads per run)`` per wave.

    Waves of one single-threaded run per core; a last, smaller wave splits every core between its
    runs. On 2 cores (built-in preset, one epoch): two single-threaded runs side by side take 12.1 s
    each, one run on both cores 6.7 s, one on one core alone 9.9 s, three at once 22.8 s each; so
    three runs go as a pair, then one on both cores.
    """
    cores = max(1, cores)
    return [(list(range(i, min(count, i + cores))), max(1, cores // min(cores, count - i))) for i in range(0, count, cores)]


def _concurrently(calls: Sequence[Callable[[], None]], workers: int | None = None) -> None:
    """Run ``calls`` in threads; when all have ended, re-raise the first failure (in call order)."""
    with ThreadPoolExecutor(max_workers=max(1, workers or len(calls))) as pool:
        futures = [pool.submit(c) for c in calls]
    for f in futures:
        f.result()


def launch_all(
    cfgs: Sequence[TrainConfig],
    gpus: Sequence[int] | None = None,
    nproc: int = 1,
    parallel: bool = False,
    nnodes: int = 1,
    rdzv_endpoint: str | None = None,
    node_rank: int | None = None,
    quiet: bool = False,
    on_done: Callable[[int, RunResult], None] | None = None,
) -> list[RunResult]:
    """Launch (or resume) every run; ``on_done(index, result)`` as each one ends; the results in order.

    One after another, every run uses all ``gpus`` (``nproc`` = their number) or ``nproc`` CPU
    processes, on ``nnodes`` nodes. ``parallel`` (one node): with ``gpus``, the GPUs split into
    disjoint sets, one run per set at a time; on a CPU, :func:`cpu_waves` (``OMP_NUM_THREADS`` per
    run). A failed run ends the call after the runs beside it have finished.
    """
    if parallel and nnodes > 1:
        raise ValueError("runs side by side are for one node; with several nodes they run one after another (parallel=False)")
    results: list[RunResult | None] = [None] * len(cfgs)

    def one(i: int, devices: Sequence[int] | None, threads: int | None, alone: bool) -> None:
        env = {"CUDA_VISIBLE_DEVICES": ",".join(map(str, devices))} if devices else {}
        if threads:
            env["OMP_NUM_THREADS"] = str(threads)
        results[i] = launch(
            cfgs[i], nproc=len(devices) if devices else nproc, nnodes=nnodes, rdzv_endpoint=rdzv_endpoint,
            rdzv_id=f"aagcn-lab-{cfgs[i].feat}", node_rank=node_rank, resume=True, env=env, quiet=quiet or not alone,
        )  # fmt: skip
        if on_done is not None:
            on_done(i, results[i])

    if not parallel or len(cfgs) < 2:
        for i in range(len(cfgs)):
            one(i, list(gpus) if gpus else None, None, True)
    elif gpus:
        per = max(1, len(gpus) // len(cfgs))
        free = [list(gpus[k : k + per]) for k in range(0, len(gpus) - per + 1, per)]
        lock = threading.Lock()

        def pooled(i: int) -> None:
            with lock:
                devices = free.pop()
            try:
                one(i, devices, None, False)
            finally:
                with lock:
                    free.append(devices)

        _concurrently([lambda i=i: pooled(i) for i in range(len(cfgs))], workers=len(free))
    else:
        for wave, threads in cpu_waves(len(cfgs), (os.cpu_count() or 1) // max(nproc, 1)):
            # a run alone in its wave: the trainer picks its threads (a core left to each data worker)
            per_run, alone = (threads, False) if len(wave) > 1 else (None, True)
            _concurrently([lambda i=i, t=per_run, a=alone: one(i, None, t, a) for i in wave])
    return results  # type: ignore[return-value]
