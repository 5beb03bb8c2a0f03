"""The run folder's one owner (``RunDir``): file names, round trips, the fusion-tuning rule, and the
four-stream fusion reading run folders through it (hand-made folders, no training)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from aagcn_lab.scores import Scores, load_scores, save_scores
from aagcn_lab.streams import StreamsResult, fuse_runs
from aagcn_lab.train import TrainConfig
from aagcn_lab.train.rundir import RunDir, RunResult


def _scores(ids: list[str], labels: np.ndarray, split: str, feat: str, seed: int) -> Scores:
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 1, (len(ids), 3))
    logits[np.arange(len(ids)), labels] += 1.5  # mostly right, differently wrong per stream
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    return Scores(ids, p.astype(np.float32), labels, {"feat": feat, "split": split})


def _fake_run(root, feat: str, val_split: str, test_split: str, seed: int) -> RunResult:
    """A finished run folder as the trainer leaves it: config.json, the score files, results.json."""
    cfg = TrainConfig(feat=feat, val_split=val_split, test_split=test_split, work_dir=str(root / feat))
    run = RunDir.of(cfg)
    run.path.mkdir(parents=True)
    run.write_config({"train": cfg.to_dict(), "model": {}, "world_size": 1, "global_batch": 16, "base_lr": 0.1})
    labels = np.arange(30) % 3
    test = save_scores(run.scores(cfg.resolved_test_split(), feat), _scores([f"t{i}" for i in range(30)], labels, cfg.resolved_test_split(), feat, seed))
    if cfg.tuning_split():
        save_scores(run.scores(cfg.tuning_split(), feat), _scores([f"v{i}" for i in range(30)], labels, cfg.tuning_split(), feat, seed + 10))
    result = RunResult(run.path, 0.5, 3, {"top1": 0.5}, {"top1": 0.6}, test, run.best)
    run.write_result(result)
    return result


def test_file_names_are_the_trainers():
    run = RunDir("runs/x")
    names = [run.launch_config, run.config_json, run.metrics, run.latest, run.best, run.results, run.confusion_test, run.tensorboard]
    assert [p.name for p in names] == [
        "launch_config.json", "config.json", "metrics.jsonl", "latest.pt", "best.pt", "results.json", "confusion_test.npy", "tensorboard",
    ]  # fmt: skip
    assert run.scores("xsub_val", "jm").name == "scores_xsub_val_jm.npz"
    assert (run.checkpoint("best"), run.checkpoint("last")) == (run.best, run.latest)
    with pytest.raises(ValueError, match="'best' or 'last'"):
        run.checkpoint("first")
    assert RunDir.of(TrainConfig(preset="builtin_j")).path.as_posix() == "runs/builtin_j"


def test_configs_and_results_round_trip(tmp_path):
    cfg = TrainConfig(feat="b", lr=0.05, model={"base_channels": 8}, work_dir=str(tmp_path / "r"))
    run = RunDir.of(cfg)
    assert run.result() is None  # not finished
    with pytest.raises(FileNotFoundError, match="neither config.json nor launch_config.json"):
        run.train_config()
    run.write_launch_config(cfg)
    assert run.train_config() == cfg
    later = TrainConfig(**{**cfg.to_dict(), "lr": 0.01})
    run.write_config({"train": later.to_dict(), "world_size": 2})
    assert run.train_config() == later and run.config()["world_size"] == 2  # config.json: what the trainer ran
    res = RunResult(run.path, 0.75, 4, {"top1": 0.75}, {"top1": 0.7, "num_samples": 9}, run.scores("val", "b"), run.best)
    run.write_result(res)
    assert run.result() == res and json.loads(run.results.read_text()) == res.to_dict()
    assert res.run_dir == run


@pytest.mark.parametrize(
    "val,test,tuned",
    [("xsub_holdout", "xsub_val", "xsub_holdout"), ("xsub_val", "", ""), ("xsub_val", "xsub_val", ""), ("", "xsub_val", "")],
)
def test_fusion_tunes_on_the_validation_split_only_when_it_is_not_the_test_split(tmp_path, val, test, tuned):
    cfg = TrainConfig(val_split=val, test_split=test)
    assert cfg.tuning_split() == tuned and cfg.resolved_test_split() == (test or val)
    result = _fake_run(tmp_path, "j", val, test, seed=0)
    scores = result.run_dir.tuning_scores()
    if tuned:
        assert scores is not None and scores.meta["split"] == tuned and scores.frame_dir[0] == "v0"
    else:
        assert scores is None


def test_a_run_whose_validation_scores_are_missing_has_no_tuning_scores(tmp_path):
    result = _fake_run(tmp_path, "j", "xsub_holdout", "xsub_val", seed=0)
    result.run_dir.scores("xsub_holdout", "j").unlink()
    assert result.run_dir.tuning_scores() is None


def test_fuse_runs_reads_the_run_folders_and_tunes_where_the_rule_says(tmp_path):
    runs = {s: _fake_run(tmp_path / "a", s, "xsub_holdout", "xsub_val", seed=i) for i, s in enumerate(("j", "b"))}
    out = fuse_runs(StreamsResult(tmp_path / "a", dict(runs)))
    assert out.tuned_weights is not None and set(out.tuned_weights) == {"j", "b"}
    assert load_scores(out.fused_scores).frame_dir[:2] == ["t0", "t1"]
    assert json.loads((tmp_path / "a" / "fusion.json").read_text()) == out.report.as_dict()
    # validation = test split: nothing to tune on, the fixed weights only
    same = {s: _fake_run(tmp_path / "b", s, "xsub_val", "", seed=i) for i, s in enumerate(("j", "b"))}
    out = fuse_runs(StreamsResult(tmp_path / "b", dict(same)))
    assert out.tuned_weights is None and out.report is not None
