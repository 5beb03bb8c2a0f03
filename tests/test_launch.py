"""Several runs at once: how launch_all shares CPU cores (waves) and GPUs (disjoint sets)."""

from __future__ import annotations

import threading
import time

import pytest

from aagcn_lab.train import launch as launch_mod
from aagcn_lab.train.config import preset
from aagcn_lab.train.launch import cpu_waves, launch_all, launch_command
from aagcn_lab.train.rundir import RunResult


@pytest.mark.parametrize(
    ("count", "cores", "waves"),
    [
        (1, 2, [([0], 2)]),
        (2, 2, [([0, 1], 1)]),
        (3, 2, [([0, 1], 1), ([2], 2)]),  # a pair, then the last run on both cores
        (4, 2, [([0, 1], 1), ([2, 3], 1)]),
        (6, 4, [([0, 1, 2, 3], 1), ([4, 5], 2)]),
        (3, 1, [([0], 1), ([1], 1), ([2], 1)]),
        (0, 2, []),
    ],
)
def test_cpu_waves_give_one_core_per_run_and_the_last_wave_every_core(count, cores, waves):
    assert cpu_waves(count, cores) == waves


def test_one_process_on_one_node_starts_without_torchrun():
    alone = launch_command("run/launch_config.json", resume="auto")
    assert alone[1:] == ["-m", "aagcn_lab.train", "--config", "run/launch_config.json", "--resume", "auto"]
    for kw in ({"nproc": 2}, {"nnodes": 2, "rdzv_endpoint": "node0:29500"}, {"rdzv_endpoint": "node0:29500"}):
        cmd = launch_command("run/launch_config.json", **kw)
        assert cmd[1:3] == ["-m", "torch.distributed.run"] and cmd[-2:] == ["--config", "run/launch_config.json"], kw


class _Recorder:
    """Stands in for launch() (the real one trains; these tests are about who runs when, with what)."""

    def __init__(self, seconds: float = 0.15, fail: str | None = None) -> None:
        self.seconds, self.fail = seconds, fail
        self.lock = threading.Lock()
        self.running: dict[str, dict] = {}
        self.seen: list[dict] = []  # per run: its env, nproc, and the runs beside it at any time
        self.most = 0  # the most runs at one time

    def __call__(self, cfg, nproc=1, env=None, quiet=False, **_kw) -> RunResult:
        name = cfg.resolved_work_dir().name
        rec = {"name": name, "env": dict(env or {}), "nproc": nproc, "quiet": quiet}
        with self.lock:
            rec["beside"] = set(self.running)
            for other in self.running.values():
                other["beside"].add(name)
            self.running[name] = rec
            self.seen.append(rec)
            self.most = max(self.most, len(self.running))
        time.sleep(self.seconds)
        with self.lock:
            del self.running[name]
        if name == self.fail:
            raise RuntimeError(f"{name} failed")
        return RunResult(cfg.resolved_work_dir(), test={"top1": 0.5})

    def by_name(self) -> dict[str, dict]:
        return {r["name"]: r for r in self.seen}


def _cfgs(tmp_path, n: int):
    return [preset("builtin_j", work_dir=str(tmp_path / f"r{i}")) for i in range(n)]


def test_on_two_cores_three_runs_go_as_a_single_threaded_pair_then_one_on_both(tmp_path, monkeypatch):
    rec = _Recorder()
    monkeypatch.setattr(launch_mod, "launch", rec)
    monkeypatch.setattr(launch_mod.os, "cpu_count", lambda: 2)
    order = []
    results = launch_all(_cfgs(tmp_path, 3), parallel=True, on_done=lambda i, r: order.append(i))
    runs = rec.by_name()
    assert runs["r0"]["beside"] == {"r1"} and runs["r1"]["beside"] == {"r0"} and runs["r2"]["beside"] == set()
    assert runs["r0"]["env"]["OMP_NUM_THREADS"] == "1" and runs["r1"]["env"]["OMP_NUM_THREADS"] == "1"
    assert "OMP_NUM_THREADS" not in runs["r2"]["env"]  # alone: the trainer takes every core (less its data workers)
    assert runs["r0"]["quiet"] and not runs["r2"]["quiet"]  # progress only where one run has the screen
    assert sorted(order) == [0, 1, 2] and order[-1] == 2
    assert [r.work_dir.name for r in results] == ["r0", "r1", "r2"]


def test_one_after_another_every_run_has_the_machine(tmp_path, monkeypatch):
    rec = _Recorder(seconds=0.01)
    monkeypatch.setattr(launch_mod, "launch", rec)
    launch_all(_cfgs(tmp_path, 3), gpus=[0, 1], parallel=False)
    assert all(r["beside"] == set() and r["env"] == {"CUDA_VISIBLE_DEVICES": "0,1"} and r["nproc"] == 2 for r in rec.seen)


def test_side_by_side_on_gpus_never_shares_a_gpu(tmp_path, monkeypatch):
    rec = _Recorder()
    monkeypatch.setattr(launch_mod, "launch", rec)
    launch_all(_cfgs(tmp_path, 3), gpus=[0, 1], parallel=True)  # three runs, two GPUs: one each, two at a time
    runs = rec.by_name()
    assert rec.most == 2
    for r in runs.values():
        assert r["nproc"] == 1
        for other in r["beside"]:
            assert r["env"]["CUDA_VISIBLE_DEVICES"] != runs[other]["env"]["CUDA_VISIBLE_DEVICES"]
    rec = _Recorder(seconds=0.01)
    monkeypatch.setattr(launch_mod, "launch", rec)
    launch_all(_cfgs(tmp_path, 2), gpus=[0, 1, 2, 3], parallel=True)
    assert sorted(r["env"]["CUDA_VISIBLE_DEVICES"] for r in rec.seen) == ["0,1", "2,3"]


def test_a_failed_run_is_raised_after_the_run_beside_it_finished(tmp_path, monkeypatch):
    rec = _Recorder(fail="r0")
    monkeypatch.setattr(launch_mod, "launch", rec)
    monkeypatch.setattr(launch_mod.os, "cpu_count", lambda: 2)
    done = []
    with pytest.raises(RuntimeError, match="r0 failed"):
        launch_all(_cfgs(tmp_path, 3), parallel=True, on_done=lambda i, r: done.append(i))
    assert done == [1]  # r1 (beside r0) finished; the next wave did not start


def test_side_by_side_is_refused_across_nodes(tmp_path):
    with pytest.raises(ValueError, match="one node"):
        launch_all(_cfgs(tmp_path, 2), parallel=True, nnodes=2, rdzv_endpoint="127.0.0.1:29500")
