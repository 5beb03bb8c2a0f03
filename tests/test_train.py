"""The trainer on CPU: DDP equivalence, multi-node rendezvous, exact resume, nothing lost."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from aagcn_lab.data import save_annotations
from aagcn_lab.io import atomic_torch_save
from aagcn_lab.model.checkpoint import read_checkpoint
from aagcn_lab.scores import load_scores
from aagcn_lab.train import DivergenceError, KeySampler, TrainConfig, apply_overrides, preset, train
from aagcn_lab.train.evaluation import test_checkpoint as score_checkpoint
from aagcn_lab.train.launch import LaunchError, launch, launch_command, torchrun_command

from .tolerances import float_bound

TINY_MODEL = dict(base_channels=8, num_stages=4, inflate_stages=[3], down_stages=[3])


@pytest.fixture(scope="module")
def tiny_ann(tmp_path_factory) -> Path:
    """96 + 32 short NTU-layout sequences of 4 classes that differ in which joints oscillate."""
    rng = np.random.default_rng(0)
    recs = []
    for i in range(128):
        label, t = i % 4, 30 + i % 20
        kp = rng.normal(0, 0.3, (1, 1, 25, 3)) + np.array([0, 0, 3.0])
        wave = np.sin(np.arange(t) / 3.0)[None, :, None, None]
        moving = (np.arange(25) % 4 == label)[None, None, :, None]
        kp = kp + 0.3 * wave * moving + rng.normal(0, 0.02, (1, t, 25, 3))
        recs.append(dict(frame_dir=f"S{i:03d}", label=label, total_frames=t, keypoint=kp.astype(np.float16)))
    ids = [r["frame_dir"] for r in recs]
    path = tmp_path_factory.mktemp("data") / "tiny.pkl"
    return save_annotations(path, recs, {"train": ids[:96], "val": ids[96:]}, label_names=list("abcd"), layout="nturgb+d")


def tiny_cfg(ann: Path, work: Path, **kw) -> TrainConfig:
    base = dict(
        ann_file=str(ann), train_split="train", val_split="val", clip_len=16, epochs=2, repeat=1, batch_size=8,
        lr=0.05, lr_batch=8, num_workers=0, model=dict(TINY_MODEL), log_interval=1, progress=False, test_clips=2,
        work_dir=str(work), deterministic=True, tensorboard=False,
    )  # fmt: skip
    base.update(kw)
    return TrainConfig(**base)


def params(path: Path) -> torch.Tensor:
    sd = read_checkpoint(path).state_dict
    return torch.cat([v.flatten() for k, v in sd.items() if v.is_floating_point() and "running" not in k])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------------------------------------


def test_config_presets_and_overrides():
    cfg = preset("aagcn_pyskl_ntu60_xsub_3dkp_b")
    assert (cfg.feat, cfg.train_split, cfg.val_split, cfg.lr, cfg.batch_size, cfg.epochs, cfg.repeat) == ("b", "xsub_train", "xsub_val", 0.1, 16, 16, 5)
    assert (cfg.momentum, cfg.nesterov, cfg.weight_decay, cfg.clip_len, cfg.test_clips) == (0.9, True, 5e-4, 100, 10)
    assert preset("aagcn_pyskl_ntu120_xset_hrnet_jm").ann_file.endswith("ntu120_hrnet.pkl")
    over = apply_overrides(cfg, {"lr": "0.05", "deterministic": "true", "model.base_channels": "32", "augment.rotate_deg": 10})
    assert over.lr == 0.05 and over.deterministic is True and over.model == {"base_channels": 32} and over.augment == {"rotate_deg": 10}
    with pytest.raises(KeyError, match="unknown training option 'colour'"):
        apply_overrides(cfg, {"colour": "red"})
    with pytest.raises(KeyError, match="unknown model option"):
        apply_overrides(cfg, {"model.widht": 3})
    with pytest.raises(ValueError, match="epochs: cannot read 'many'"):
        apply_overrides(cfg, {"epochs": "many"})
    with pytest.raises(KeyError, match="unknown preset"):
        preset("aagcn_pyskl_ntu61_xsub")


def test_sampler_blocks_partition_each_epoch():
    one = KeySampler(50, batch_size=4, world_size=1, rank=0, grad_accum=2, repeat=2, seed=3)
    two = [KeySampler(50, 4, 2, r, 1, 2, 3) for r in range(2)]
    for s in [one, *two]:
        s.set_epoch(1)
    keys1 = list(one)
    keys2 = [list(s) for s in two]
    assert one.steps_per_epoch == 100 // 8 and len(keys1) == 12 * 8
    # micro-batch m of the single process == the batch of rank m
    for step in range(12):
        blk = keys1[step * 8 : step * 8 + 8]
        assert blk[:4] == keys2[0][step * 4 : step * 4 + 4] and blk[4:] == keys2[1][step * 4 : step * 4 + 4]
    assert len(set(keys1)) == len(keys1) and all(100 <= k < 200 for k in keys1)  # epoch 1 rounds, no repeats
    one.set_epoch(1, start_step=5)
    assert list(one) == keys1[5 * 8 :]
    one.set_epoch(2)
    assert list(one) != keys1


def test_metrics_log_weights_a_window_by_samples_and_prints_what_launch_parses(tmp_path, capsys):
    from aagcn_lab.train.log import MetricsLog, parse_line
    from aagcn_lab.train.rundir import RunDir

    log = MetricsLog(RunDir(tmp_path), enabled=True, tensorboard=False, world_size=2)
    log.add({"loss": 1.0, "top1": 0.5, "top5": 1.0, "lr": 0.1, "samples": 8})
    log.add({"loss": 4.0, "top1": 0.0, "top5": 0.5, "lr": 0.05, "samples": 24})
    log.flush(epoch=1, step=2, total_steps=10)
    rec = json.loads(RunDir(tmp_path).metrics.read_text())
    assert (rec["split"], rec["epoch"], rec["step"], rec["total_steps"]) == ("train", 1, 2, 10)
    assert (rec["loss"], rec["top1"], rec["top5"], rec["lr"]) == (3.25, 0.125, 0.625, 0.05)  # (8 * 1 + 24 * 4) / 32, ...; the last lr
    assert rec["samples_per_s"] > 0 and log.window == []  # a new window begins
    assert [parse_line(line) for line in capsys.readouterr().out.splitlines()] == [rec]
    assert parse_line("[aagcn-lab] resumed from x") is None and parse_line("{}") is None
    log.close()
    log.close()  # idempotent (fit and cleanup both close it)


def test_a_training_state_without_its_counters_is_a_clear_error():
    from aagcn_lab.train.state import TrainState

    with pytest.raises(ValueError, match=r"old\.pt: the training state lacks .*global_step.*cannot resume"):
        TrainState.from_dict({"optimizer": {}, "epoch": 1}, "old.pt")


def test_a_run_writes_everything_and_scores_are_keyed(tiny_ann, tmp_path):
    res = train(tiny_cfg(tiny_ann, tmp_path / "run"))
    work = tmp_path / "run"
    for f in ("config.json", "metrics.jsonl", "latest.pt", "best.pt", "results.json", "confusion_test.npy"):
        assert (work / f).exists(), f
    recs = [json.loads(line) for line in (work / "metrics.jsonl").read_text().splitlines()]
    assert {r["split"] for r in recs} == {"train", "val", "test"}
    assert [r["step"] for r in recs if r["split"] == "train"] == list(range(1, 25))
    # one epoch numbering in every record (from 1): an epoch's validation sits at its last training step
    last_step = {}
    for r in recs:
        if r["split"] == "train":
            last_step[r["epoch"]] = r["step"]
    vals = [r for r in recs if r["split"] == "val"]
    assert min(last_step) == 1 and [r["epoch"] for r in vals] == sorted(last_step)
    assert all(r["step"] == last_step[r["epoch"]] for r in vals)
    lrs = [r["lr"] for r in recs if r["split"] == "train"]
    # learning rates: a few f64 operations (scaling, a cosine), ~1e-15 << approx's 1e-6 (here and below)
    assert lrs[0] == pytest.approx(0.05) and all(a > b for a, b in zip(lrs, lrs[1:]))  # cosine per iteration
    cfg = json.loads((work / "config.json").read_text())
    assert cfg["global_batch"] == 8 and cfg["base_lr"] == pytest.approx(0.05)
    scores = load_scores(res.scores)
    assert scores.frame_dir == [f"S{i:03d}" for i in range(96, 128)] and scores.probs.shape == (32, 4)
    # f32 softmax over 4 classes and a mean of 2 clips: 8 roundings x 1.2e-7 = 1e-6 < 1e-5
    assert np.allclose(scores.probs.sum(1), 1, atol=1e-5) and scores.meta["clips"] == 2
    assert res.test["num_samples"] == 32 and res.best_val_top1 is not None


def test_lr_scales_linearly_with_the_global_batch(tiny_ann, tmp_path):
    from aagcn_lab.train import Trainer

    t = Trainer(tiny_cfg(tiny_ann, tmp_path / "r", batch_size=4, grad_accum=3, lr=0.1, lr_batch=128, warmup_epochs=1))
    assert t.base_lr == pytest.approx(0.1 * 12 / 128)
    warm = t.sampler.steps_per_epoch
    assert t.lr_at(0) == pytest.approx(t.base_lr / warm) and t.lr_at(warm - 1) == pytest.approx(t.base_lr)
    assert t.lr_at(t.total_steps) == pytest.approx(0, abs=1e-12)  # (1 + cos(pi)) / 2 x base_lr: 0 up to ~1e-17


@pytest.mark.slow  # several processes
def test_two_process_ddp_equals_one_process_with_the_same_global_batch(tiny_ann, tmp_path):
    """gloo DDP with 2 x batch 4 vs one process with batch 4 and 2 accumulation steps."""
    launch(tiny_cfg(tiny_ann, tmp_path / "one", batch_size=4, grad_accum=2, test_after=False), nproc=1, quiet=True)
    launch(tiny_cfg(tiny_ann, tmp_path / "two", batch_size=4, grad_accum=1, test_checkpoint="last"), nproc=2, quiet=True)
    a, b = params(tmp_path / "one" / "latest.pt"), params(tmp_path / "two" / "latest.pt")
    # f32 all-reduce against accumulation sums the gradients in another order; no worst case is useful here:
    # 24 SGD steps feed each step's rounding into the next gradients (the training map's gain is unknown);
    # kept: the weights move ~1e-2 per step, typical rounding of the gradients (~1e-6) keeps them ~1e-7 apart
    assert ((a - b).norm() / a.norm()).item() < 1e-6
    # test scores gathered from two ranks' shards == the same checkpoint scored by one process
    two = load_scores(tmp_path / "two" / "scores_val_j.npz")
    one, _ = score_checkpoint(tmp_path / "two" / "latest.pt", num_clips=2, device="cpu", num_workers=0)
    assert two.frame_dir == one.frame_dir and len(two.frame_dir) == 32
    # the same checkpoint on other batches (each rank its shard), f32: ~1e3 terms per layer (tcn 9 x C, the
    # means over T x V = 400), TINY_MODEL's blocks + head <= 5; softmax: |dp| <= 2 max|dz|, |z| <= 5
    np.testing.assert_allclose(two.probs, one.probs, atol=float_bound(np.float32, terms=1e3, depth=5, scale=10))  # 6e-3
    cfg = json.loads((tmp_path / "two" / "config.json").read_text())
    assert cfg["world_size"] == 2 and cfg["global_batch"] == 8


@pytest.mark.slow  # several processes
def test_two_nodes_on_loopback(tiny_ann, tmp_path):
    """Two torchrun launchers (one process each) meet through c10d rendezvous on 127.0.0.1."""
    cfg = tiny_cfg(tiny_ann, tmp_path / "nodes", epochs=1)
    work = cfg.resolved_work_dir()
    work.mkdir(parents=True)
    path = work / "launch_config.json"
    path.write_text(json.dumps(cfg.to_dict()))
    endpoint = f"127.0.0.1:{free_port()}"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    procs = [
        subprocess.Popen(torchrun_command(path, 1, 2, endpoint, f"test-{os.getpid()}", node_rank=r), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
        for r in range(2)
    ]
    try:
        outs = [p.communicate(timeout=300)[0] for p in procs]
    except subprocess.TimeoutExpired:
        for p in procs:
            os.killpg(p.pid, signal.SIGKILL)  # the launcher and its worker
        outs = [p.communicate()[0][-4000:] for p in procs]
        pytest.fail("two-node run did not finish in 300 s:\n" + "\n----\n".join(outs))
    assert [p.returncode for p in procs] == [0, 0], outs
    assert json.loads((work / "config.json").read_text())["world_size"] == 2
    assert json.loads((work / "results.json").read_text())["test"]["num_samples"] == 32


def _run_module(cfg_path: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "aagcn_lab.train", "--config", str(cfg_path), *extra], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


# Runs the trainer's entry point in a fresh process and SIGKILLs it at a named point, the n-th time
# it gets there (a test-side hook: the trainer itself has no kill switch):
#   step        right after the n-th optimizer step, before it is logged or saved
#   validation  inside the n-th validation, after the model scored the split, before anything is written
#   best-write  during the n-th write of best.pt: the new file complete in its temp file, not yet renamed
_KILL_AT = """
import os, signal, sys
point, nth, argv = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
from aagcn_lab.cli import worker
from aagcn_lab.train import trainer
seen = [0]
def reached():
    seen[0] += 1
    if seen[0] == nth:
        os.kill(os.getpid(), signal.SIGKILL)
if point == "step":
    step = trainer.Trainer.train_step
    def train_step(self, batches):
        out = step(self, batches)
        reached()
        return out
    trainer.Trainer.train_step = train_step
elif point == "validation":
    evaluate = trainer.evaluate
    def scored(model, dataset, *args, **kwargs):
        out = evaluate(model, dataset, *args, **kwargs)
        reached()
        return out
    trainer.evaluate = scored
elif point == "best-write":
    replace = os.replace
    def renamed(src, dst, *args, **kwargs):
        if os.path.basename(dst) == "best.pt":
            reached()
        return replace(src, dst, *args, **kwargs)
    os.replace = renamed
else:
    raise SystemExit(f"unknown kill point {point}")
sys.exit(worker.main(argv))
"""

_RESUME_KW = dict(
    epochs=2, save_interval=1, test_after=False, num_workers=1, model=dict(TINY_MODEL, dropout=0.3),
    augment=dict(rotate_deg=10, noise_std=0.01),
)  # fmt: skip


def _metrics(work: Path) -> dict:
    """``{(split, step): record}`` without wall-clock fields; a step redone after a kill must log the same."""
    out = {}
    for line in (work / "metrics.jsonl").read_text().splitlines():
        rec = {k: v for k, v in json.loads(line).items() if k != "samples_per_s"}
        key = (rec["split"], rec["step"])
        assert out.get(key, rec) == rec, f"{key} logged twice with different values"
        out[key] = rec
    return out


def _config_file(tiny_ann: Path, work: Path) -> Path:
    cfg = tiny_cfg(tiny_ann, work, **_RESUME_KW)
    cfg.resolved_work_dir().mkdir(parents=True)
    path = cfg.resolved_work_dir() / "c.json"
    path.write_text(json.dumps(cfg.to_dict()))
    return path


@pytest.fixture(scope="module")
def uninterrupted(tiny_ann, tmp_path_factory) -> Path:
    """The run never stopped (24 steps, validation after each of the 2 epochs)."""
    path = _config_file(tiny_ann, tmp_path_factory.mktemp("full") / "run")
    proc = _run_module(path)
    out = proc.communicate(timeout=300)[0]
    assert proc.returncode == 0, out
    return path.parent


@pytest.mark.slow
@pytest.mark.parametrize(
    "point,nth",
    [("step", 2), ("step", 7), ("step", 19), ("validation", 1), ("validation", 2), ("best-write", 1)],
    ids=["early", "mid-epoch-1", "mid-epoch-2", "validation-1", "validation-2", "best-write"],
)
def test_killed_at_a_fixed_point_then_resumed_equals_the_uninterrupted_run(tiny_ann, tmp_path, uninterrupted, point, nth):
    """kill -9 at a named point, then ``--resume auto``: latest.pt, best.pt and the metrics log are the
    uninterrupted run's (deterministic CPU mode; weights, optimizer state, counters and the best score)."""
    path = _config_file(tiny_ann, tmp_path / "killed")
    work = path.parent
    proc = subprocess.run([sys.executable, "-c", _KILL_AT, point, str(nth), "--config", str(path)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert not (work / "results.json").exists()  # really interrupted: a run writes it when it ends
    if point == "step":
        assert read_checkpoint(work / "latest.pt").raw["train_state"]["global_step"] == nth - 1  # the step before
    if point == "best-write":
        assert list(work.glob(".best.pt.*.tmp")) and not (work / "best.pt").exists()  # killed before the rename
    resumed = _run_module(path, "--resume", "auto")
    out = resumed.communicate(timeout=300)[0]
    assert resumed.returncode == 0 and "resumed from" in out, out
    for name in ("latest.pt", "best.pt"):
        a, b = read_checkpoint(uninterrupted / name), read_checkpoint(work / name)
        assert a.state_dict.keys() == b.state_dict.keys()
        # exact (weights, counters, best score, momentum, metrics): deterministic CPU mode replays the same
        # operations in the same order at the same thread count on this machine, and resuming restores every RNG
        assert all(torch.equal(a.state_dict[k], b.state_dict[k]) for k in a.state_dict), name
        sa, sb = a.raw["train_state"], b.raw["train_state"]
        assert (sa["epoch"], sa["global_step"], sa["best_top1"], sa["best_epoch"]) == (sb["epoch"], sb["global_step"], sb["best_top1"], sb["best_epoch"]), name
        for state_a, state_b in zip(sa["optimizer"]["state"].values(), sb["optimizer"]["state"].values()):
            assert torch.equal(state_a["momentum_buffer"], state_b["momentum_buffer"]), name
        assert a.meta.get("val_top1") == b.meta.get("val_top1"), name
    assert _metrics(work) == _metrics(uninterrupted)
    assert len([k for k in _metrics(work) if k[0] == "val"]) == 2


_KILL_MID_WRITE = """
import os, signal, sys, torch
from aagcn_lab.io import atomic_write
def write(f):
    f.write(b"x" * 100000)   # half a checkpoint ...
    f.flush()
    os.kill(os.getpid(), signal.SIGKILL)   # ... and the process dies
atomic_write(sys.argv[1], write)
"""


@pytest.mark.slow  # several processes
def test_kill_during_checkpoint_write_keeps_the_previous_one(tmp_path, tiny_ann):
    cfg = tiny_cfg(tiny_ann, tmp_path / "w", epochs=1, test_after=False)
    train(cfg)
    ckpt = tmp_path / "w" / "latest.pt"
    before = params(ckpt)
    proc = subprocess.run([sys.executable, "-c", _KILL_MID_WRITE, str(ckpt)], capture_output=True)
    assert proc.returncode == -signal.SIGKILL
    assert torch.equal(params(ckpt), before)  # still the complete previous checkpoint (exact: the same file)
    assert list((tmp_path / "w").glob(".latest.pt.*.tmp"))  # the torn write stayed in its temp file
    train(cfg, resume=True)  # a new run in the folder cleans the torn temp file up
    assert not list((tmp_path / "w").glob(".latest.pt.*.tmp"))


def test_atomic_save_replaces_whole_files(tmp_path):
    path = tmp_path / "x.pt"
    atomic_torch_save({"a": torch.ones(3)}, path)
    atomic_torch_save({"a": torch.zeros(3)}, path)
    assert torch.equal(torch.load(path, weights_only=True)["a"], torch.zeros(3))  # exact: the bytes written
    assert [p.name for p in tmp_path.iterdir()] == ["x.pt"]


def test_divergence_stops_before_writing_nan(tiny_ann, tmp_path):
    cfg = tiny_cfg(tiny_ann, tmp_path / "nan", lr=1e12, epochs=3, save_interval=1)
    with pytest.raises(DivergenceError, match="NaN/inf at epoch .* step .*latest.pt"):
        train(cfg)
    sd = read_checkpoint(tmp_path / "nan" / "latest.pt").state_dict
    assert all(torch.isfinite(v).all() for v in sd.values() if v.is_floating_point())


@pytest.mark.slow  # several processes
def test_a_crashed_process_ends_the_job_clearly_and_the_run_resumes(tiny_ann, tmp_path):
    cfg = tiny_cfg(tiny_ann, tmp_path / "crash", epochs=2, save_interval=2, test_after=False)
    work = cfg.resolved_work_dir()
    work.mkdir(parents=True)
    path = work / "launch_config.json"
    path.write_text(json.dumps(cfg.to_dict()))
    runner = subprocess.Popen(torchrun_command(path, nproc=2), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=dict(os.environ, PYTHONUNBUFFERED="1"))
    for line in runner.stdout:
        if line.startswith("[aagcn-lab] {") and json.loads(line[12:]).get("step") == 4:
            os.kill(max(_training_processes(path)), signal.SIGKILL)  # one training process dies
            break
    out = runner.communicate(timeout=120)[0]
    assert runner.returncode != 0 and "exitcode" in out and "-9" in out
    # the launcher turns the same failure into one clear message with the resume command
    with pytest.raises(LaunchError, match=r"(?s)rank \d was killed by signal 9.*Resume with: .*--resume auto"):
        _launch_and_kill(cfg, tmp_path)
    res = launch(cfg, nproc=2, resume=True, quiet=True)
    assert res.val and read_checkpoint(work / "latest.pt").raw["train_state"]["global_step"] == 12


def _training_processes(config_path: Path, launchers: bool = False) -> list[int]:
    """PIDs of the per-rank training processes of this config (``launchers``: of torchrun itself instead)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            args = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        text = b" ".join(args).decode(errors="replace")
        if "aagcn_lab.train" in text and str(config_path) in text and ("torch.distributed.run" in text) == launchers:
            pids.append(int(proc.name))
    return pids


def _launch_and_kill(cfg: TrainConfig, tmp_path: Path, nproc: int = 2, launchers: list[int] | None = None) -> None:
    """Run launch() while a watcher SIGKILLs one of its ``nproc`` training processes once this launch
    has logged its first training step (a fixed delay raced a quick run to its end); the PIDs of the
    torchrun launchers running then go into ``launchers``."""
    import threading

    config_path = cfg.resolved_work_dir() / "launch_config.json"
    metrics = cfg.resolved_work_dir() / "metrics.jsonl"
    seen = len(metrics.read_text().splitlines()) if metrics.exists() else 0

    def killer():
        deadline = time.time() + 120
        while time.time() < deadline:
            lines = metrics.read_text().splitlines()[seen:] if metrics.exists() else []
            pids = _training_processes(config_path)
            if len(pids) >= nproc and any('"split": "train"' in line for line in lines):
                if launchers is not None:
                    launchers.extend(_training_processes(config_path, launchers=True))
                os.kill(max(pids), signal.SIGKILL)
                return
            time.sleep(0.02)

    th = threading.Thread(target=killer, daemon=True)
    th.start()
    try:
        launch(cfg, nproc=nproc, resume=True, quiet=True)
    finally:
        th.join(timeout=5)


@pytest.mark.slow  # a training process
def test_one_process_runs_without_torchrun_and_a_killed_run_resumes(tiny_ann, tmp_path):
    cfg = tiny_cfg(tiny_ann, tmp_path / "alone", epochs=2, save_interval=2, test_after=False)
    resume = " ".join(launch_command(cfg.resolved_work_dir() / "launch_config.json", resume="auto"))
    launchers: list[int] = []  # torchrun launchers of this config, looked for when the killer struck
    with pytest.raises(LaunchError, match=r"(?s)status -9 \(the training process was killed by signal 9\)") as err:
        _launch_and_kill(cfg, tmp_path, nproc=1, launchers=launchers)
    assert str(err.value).endswith(f"Resume with: {resume}") and "torch.distributed.run" not in resume
    assert launchers == []  # none: the training process ran alone
    res = launch(cfg, nproc=1, resume=True, quiet=True)
    assert res.val and read_checkpoint(cfg.resolved_work_dir() / "latest.pt").raw["train_state"]["global_step"] == 24


def test_bad_data_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="annotation file .*nope.pkl not found"):
        train(TrainConfig(ann_file=str(tmp_path / "nope.pkl"), work_dir=str(tmp_path / "x"), progress=False))

