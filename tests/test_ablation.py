"""The ablation grid: runs planned per variant and seed, finished runs reused, interrupted ones
resumed, seeds aggregated as computed by hand, and the verdict on whether two variants differ."""

from __future__ import annotations

import ast
import json
import math
from pathlib import Path

import numpy as np
import pytest

from aagcn_lab import ablation
from aagcn_lab.ablation import VARIANTS, compare, plan_runs, resolve_variants, run_ablation, summarise, t_quantile
from aagcn_lab.model.aagcn import AAGCNConfig
from aagcn_lab.scores import Scores, save_scores
from aagcn_lab.train.rundir import RunDir, RunResult

# Student t quantiles from printed tables (two-sided 95 % and 90 %)
T_TABLE = [(0.975, 1, 12.706), (0.975, 2, 4.303), (0.975, 4, 2.776), (0.975, 30, 2.042), (0.95, 3, 2.353), (0.995, 10, 3.169)]


@pytest.mark.parametrize("p,df,value", T_TABLE)
def test_t_quantile_matches_the_printed_table(p, df, value):
    # not rounding: the printed table has 3 decimals
    assert t_quantile(p, df) == pytest.approx(value, abs=1e-3)
    assert t_quantile(1 - p, df) == pytest.approx(-value, abs=1e-3)


def test_every_variant_is_a_model_switch_that_builds():
    for v in VARIANTS.values():
        cfg = AAGCNConfig(**ablation.MODELS[v.model])
        assert len(v.weights) in (0, len(v.streams)) and (len(v.streams) == 1) == (not v.weights), v.name
        assert cfg.graph in ("tip", "cvpr", "fixed")
    assert ablation.MODELS["full"] == {}  # the full model is pyskl's, unchanged
    assert AAGCNConfig(**ablation.MODELS["no_attention"]).attention is False
    with pytest.raises(KeyError, match="unknown ablation variant.*nope.*variants: all, full"):
        resolve_variants("full,nope")
    assert [v.name for v in resolve_variants("all")] == list(VARIANTS)


def test_runs_are_shared_between_variants_and_named_by_model_seed_and_stream(tmp_path):
    runs = plan_runs(tmp_path, resolve_variants("full,stream_b,fusion_2s,no_attention"), [0, 3], epochs=2)
    assert sorted(runs) == sorted([(m, s, f) for s in (0, 3) for m, f in (("full", "j"), ("full", "b"), ("no_attention", "j"))])
    cfg = runs[("no_attention", 3, "j")]
    assert cfg.seed == 3 and cfg.epochs == 2 and cfg.model["spatial_attention"] is False and cfg.model["base_channels"] == 16
    assert cfg.resolved_work_dir() == tmp_path / "no_attention" / "seed3" / "j"
    assert cfg.test_checkpoint == "last" and cfg.val_split == "" and cfg.test_split == "xsub_val"  # no model selection
    with pytest.raises(ValueError, match="at least one seed"):
        plan_runs(tmp_path, resolve_variants("full"), [])


# ------------------------------------------------------------------------------------------------
# Aggregation on hand-made results
# ------------------------------------------------------------------------------------------------


def _ids(n_perf=4, per=5):
    return [f"S001C001P{p:03d}R001A{k + 1:03d}" for p in range(1, n_perf + 1) for k in range(per)]


def test_seeds_aggregate_to_the_mean_spread_and_t_interval_computed_by_hand():
    ids = _ids()
    correct = np.zeros((3, 20), bool)
    correct[0, :10] = True  # 0.50
    correct[1, :12] = True  # 0.60
    correct[2, :14] = True  # 0.70
    groups = [int(i[9:12]) for i in ids]
    s = summarise("v", correct, groups, [0, 1, 2], ids)
    # f64 means and a std of 3 values of 20 terms: ~1e-14, far below approx's 1e-6
    assert s.top1.tolist() == pytest.approx([0.5, 0.6, 0.7])
    assert s.mean == pytest.approx(0.6) and s.std == pytest.approx(0.1)
    half = 4.303 * 0.1 / math.sqrt(3)
    # not rounding: 4.303 is the table's t to 3 decimals (the package computes it)
    assert (s.low, s.high) == pytest.approx((0.6 - half, 0.6 + half), abs=1e-4)
    assert s.sample_low <= 0.6 <= s.sample_high
    wide = summarise("wide", correct[[0, 2]], groups)  # two seeds: t = 12.7, cut to what an accuracy can be
    assert (wide.low, wide.high) == (0.0, 1.0)  # exact: clipped to the constants
    one = summarise("one", correct[:1], groups)
    assert one.std == 0 and math.isnan(one.low)  # exact: the std of one value is 0
    with pytest.raises(ValueError, match="seeds, samples"):
        summarise("bad", correct[0], groups)
    with pytest.raises(ValueError, match="20 samples but 3 groups"):
        summarise("bad", correct, [1, 2, 3])


def _summary(name, per_seed_hits, n=40, seed=0):
    """Per seed, ``hits`` of ``n`` samples correct, spread over 8 performers at random positions."""
    rng = np.random.default_rng(seed)
    ids = _ids(8, n // 8)
    correct = np.zeros((len(per_seed_hits), n), bool)
    for k, h in enumerate(per_seed_hits):
        correct[k, rng.permutation(n)[:h]] = True
    return summarise(name, correct, [int(i[9:12]) for i in ids], list(range(len(per_seed_hits))), ids)


def test_verdict_tells_apart_only_what_the_seeds_and_the_samples_support():
    strong, weak = _summary("strong", [38, 39, 38, 39]), _summary("weak", [10, 11, 9, 10], seed=1)
    v = compare(strong, weak)
    assert v.apart and v.difference == pytest.approx((38.5 - 10) / 40) and v.seed_low > 0 and v.sample_low > 0  # f64, 1e-15
    assert "told apart with 4 and 4 seeds" in v.text
    # close means and a wide spread over seeds: cannot tell apart
    a, b = _summary("a", [30, 20, 35]), _summary("b", [28, 33, 22], seed=2)
    v = compare(a, b)
    assert not v.apart and v.seed_low < 0 < v.seed_high and "cannot tell apart with 3 and 3 seeds" in v.text
    # one seed: no spread, no verdict, whatever the gap
    v = compare(_summary("x", [39]), _summary("y", [5]))
    assert not v.apart and "one seed gives no spread" in v.text
    # seeds agree but the test set is too small to carry the gap (a 1-sample difference)
    v = compare(_summary("c", [21, 21, 21]), _summary("d", [20, 20, 20]))
    assert v.seed_low > 0 and v.sample_low <= 0 and not v.apart


def _fake_finished_run(cfg, correct_ids, ids, classes=3):
    """A run folder as the trainer leaves it when finished: its config, results and test scores."""
    work = cfg.resolved_work_dir()
    work.mkdir(parents=True)
    labels = np.array([int(i[-3:]) % classes for i in ids])  # the label belongs to the sample, whatever the row order
    probs = np.full((len(ids), classes), 0.1)
    for i, sample in enumerate(ids):  # confident when right (0.8), unsure when wrong (0.5)
        if sample in correct_ids:
            probs[i, labels[i]] = 0.8
        else:
            probs[i, (labels[i] + 1) % classes] = 0.5
    path = save_scores(work / f"scores_xsub_val_{cfg.feat}.npz", Scores(ids, probs, labels, {}))
    run = RunDir(work)
    run.write_launch_config(cfg)
    run.write_result(RunResult(work, scores=path))


def test_finished_runs_are_reused_and_fusion_matches_samples_by_id(tmp_path):
    ids = _ids()
    variants = resolve_variants("full,stream_b,fusion_2s")
    runs = plan_runs(tmp_path, variants, [0, 1], epochs=1)
    # j right on the first 12 (seed 0) / 14 (seed 1) samples; b right on the last 8 / 10
    for (_model, seed, feat), cfg in runs.items():
        right = ids[:12 + 2 * seed] if feat == "j" else ids[-(8 + 2 * seed):]
        _fake_finished_run(cfg, set(right), ids if feat == "j" else ids[::-1])  # b's rows in another order
    res = run_ablation(tmp_path, "full,stream_b,fusion_2s", [0, 1], epochs=1, quiet=True)
    assert not list(tmp_path.rglob("latest.pt"))  # nothing was trained
    # accuracies are counts / 20 and their means (f64, a few roundings): far below approx's 1e-6
    assert res.variants["full"].top1.tolist() == pytest.approx([12 / 20, 14 / 20])
    assert res.variants["stream_b"].top1.tolist() == pytest.approx([8 / 20, 10 / 20])
    # fused 1:1 by id: every sample has one confident right stream (0.8 + 0.1 beats 0.5 + 0.1)
    assert res.variants["fusion_2s"].top1.tolist() == [1.0, 1.0]  # exact: 20 / 20
    saved = json.loads((tmp_path / "ablation.json").read_text())["variants"]  # JSON keeps a float64 (repr round-trips)
    assert saved["full"]["mean"] == pytest.approx(0.65) and "joint stream" in saved["full"]["description"]
    assert "fusion_2s" in res.table() and "over seeds" in res.table()
    assert ablation.load_ablation(tmp_path, "full", [0, 1]).variants["full"].mean == pytest.approx(0.65)


def test_a_run_folder_of_other_settings_is_refused(tmp_path):
    ids = _ids()
    cfg = plan_runs(tmp_path, resolve_variants("full"), [0], epochs=1)[("full", 0, "j")]
    _fake_finished_run(cfg, set(ids[:5]), ids)
    with pytest.raises(ValueError, match=r"seed0/j holds a run with other settings \(epochs: 1 there, 3 now\)"):
        run_ablation(tmp_path, "full", [0], epochs=3, quiet=True)
    with pytest.raises(FileNotFoundError, match="not a finished run"):
        ablation.load_ablation(tmp_path, "no_attention", [0])


# ------------------------------------------------------------------------------------------------
# Real runs: two variants x two seeds, one epoch on the built-in data
# ------------------------------------------------------------------------------------------------

TINY = dict(epochs=1, max_steps=2, test_clips=1, clip_len=16, **{"model.base_channels": 8, "model.num_stages": 2}, progress=False, tensorboard=False)


@pytest.mark.slow
def test_a_real_grid_trains_then_resumes_an_interrupted_run_and_skips_finished_ones(tmp_path):
    res = run_ablation(tmp_path, "full,no_attention", [0, 1], quiet=True, **TINY)
    assert set(res.variants) == {"full", "no_attention"} and all(len(s.top1) == 2 for s in res.variants.values())
    for s in res.variants.values():
        assert all(0 <= t <= 1 for t in s.top1) and s.correct.shape == (2, 552)  # the built-in xsub_val split
    interrupted = tmp_path / "no_attention" / "seed1" / "j"
    (interrupted / "results.json").unlink()  # killed after its last checkpoint, before the test
    steps = [json.loads(line)["step"] for line in (interrupted / "metrics.jsonl").read_text().splitlines() if '"train"' in line]
    finished = tmp_path / "full" / "seed0" / "j" / "latest.pt"
    stamp = finished.stat().st_mtime_ns
    again = run_ablation(tmp_path, "full,no_attention", [0, 1], quiet=True, **TINY)
    assert finished.stat().st_mtime_ns == stamp  # not trained again
    records = [json.loads(line) for line in (interrupted / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if r["split"] == "train"] == steps  # resumed: no step trained twice
    assert again.variants["no_attention"].top1 == pytest.approx(res.variants["no_attention"].top1)  # counts / 552, same division


def test_the_cli_and_the_figure_read_the_same_grid(tmp_path, capsys):
    from aagcn_lab.cli import main
    from aagcn_lab.viz import plot_ablation

    ids = _ids()
    for (model, seed, _feat), cfg in plan_runs(tmp_path, resolve_variants("full,no_attention"), [0, 1], epochs=1).items():
        _fake_finished_run(cfg, set(ids[: 10 + seed + (4 if model == "full" else 0)]), ids)
    assert main(["ablation", "--root", str(tmp_path), "--variants", "full,no_attention", "--seeds", "0,1", "--epochs", "1"]) == 0
    out = capsys.readouterr().out
    assert "no_attention" in out and "no_attention minus full: -20.0 points" in out and "cannot tell apart" not in out.split("\n")[0]
    assert main(["ablation", "--root", str(tmp_path), "--variants", "full", "--seeds", "0", "--epochs", "2"]) == 2
    assert "holds a run with other settings" in capsys.readouterr().err
    res = ablation.load_ablation(tmp_path, "full,no_attention", [0, 1])
    fig = plot_ablation(res)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["no_attention", "full"]
    seeds = [line for line in ax.lines if line.get_marker() == "o"]
    assert sorted(x for line in seeds for x in line.get_xdata()) == pytest.approx([50.0, 55.0, 70.0, 75.0])  # 100 x counts / 20


def test_notebook_08_opens_with_objectives_and_states_only_numbers_its_code_computes():
    from aagcn_lab.lab import list_notebooks

    from .test_notebooks import test_every_number_in_the_text_comes_from_the_code_beside_it as numbers_from_code
    from .test_notebooks import test_notebooks_open_with_objectives_and_close_with_a_summary as objectives_and_summary

    nb = list_notebooks(only=["08"])[0]
    numbers_from_code(nb)
    objectives_and_summary(nb)


def test_the_prediction_exercise_names_the_variant_that_lost_most_and_whether_it_is_noise():
    from aagcn_lab import exercises

    full = _summary("full", [30, 31, 30])
    verdicts = {n: compare(_summary(n, hits, seed=k), full) for k, (n, hits) in enumerate({"no_attention": [10, 11, 10], "fixed_graph": [29, 31, 30]}.items())}
    assert exercises.run_check("ablation_loses_most", "no_attention", verdicts=verdicts).passed
    fb = exercises.run_check("ablation_loses_most", "fixed_graph", verdicts=verdicts)
    assert not fb.passed and "no_attention" not in fb.message  # a first miss nudges, it does not answer
    fb = exercises.run_check("ablation_loses_most", "fixed_graph", misses=1, verdicts=verdicts)
    assert not fb.passed and "no_attention came out lowest against full (-50.0)" in fb.message and "larger than the seeds" in fb.message
    fb = exercises.run_check("ablation_loses_most", "nope", verdicts=verdicts)
    assert not fb.passed and "not one of this run's variants" in fb.message
    assert exercises.get("ablation_loses_most").solution(verdicts=verdicts) == "no_attention"


@pytest.mark.slow
def test_a_grid_killed_during_training_resumes_from_the_last_checkpoint(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    opts = {**TINY, "max_steps": 6, "save_interval": 1, "log_interval": 1}
    script = f"from aagcn_lab.ablation import run_ablation; run_ablation({str(tmp_path)!r}, 'full', [0], quiet=True, **{opts!r})"
    proc = subprocess.Popen([sys.executable, "-c", script], start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    run = tmp_path / "full" / "seed0" / "j"
    deadline = time.time() + 300
    while not (run / "latest.pt").exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # the grid, torchrun and the trainer
    proc.wait()
    assert (run / "latest.pt").exists() and not (run / "results.json").exists(), "the kill came too late to test a resume"
    res = run_ablation(tmp_path, "full", [0], quiet=True, **opts)
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines() if '"train"' in line]
    # resumed, not restarted: step 1 ran once; a step logged after the last checkpoint and before the
    # kill runs (and is logged) again, which the trainer's log does not undo
    assert steps.count(1) == 1 and steps[-1] == 6 and sorted(set(steps)) == [1, 2, 3, 4, 5, 6], steps
    assert (run / "results.json").exists() and res.variants["full"].correct.shape == (1, 552)


# ------------------------------------------------------------------------------------------------
# A collapsed seed: flagged, and no difference is built on it
# ------------------------------------------------------------------------------------------------


def _planted(name, per_seed_top1, n=200, chance=1 / 20, seed=0):
    """Per seed, a known top-1 on ``n`` samples of 8 performers (rows at random positions), 20 classes."""
    rng = np.random.default_rng(seed)
    ids = _ids(8, n // 8)
    correct = np.zeros((len(per_seed_top1), n), bool)
    for k, t in enumerate(per_seed_top1):
        correct[k, rng.permutation(n)[: round(t * n)]] = True
    return summarise(name, correct, [int(i[9:12]) for i in ids], list(range(len(per_seed_top1))), ids, chance=chance)


@pytest.mark.parametrize("top1,collapsed", [
    ([0.415, 0.76], [0]),          # the review's run: full seed 0 at 41.5 %, seed 1 at 76 %
    ([0.76, 0.415, 0.74], [1]),    # any position, any number of seeds
    ([0.70, 0.76], []),            # siblings a few points apart: no collapse
    ([0.55, 0.76], []),            # gain over chance 0.50 vs 0.71: more than two thirds of the best sibling's
    ([0.40, 0.76], [0]),           # 0.35 vs 0.71: less than two thirds
    ([0.08], [0]),                 # one seed within 5 points of chance (0.05)
    ([0.08, 0.09], [0, 1]),        # every seed near chance: all collapsed, none is a sibling to trust
    ([0.30], []),                  # one seed well above chance: nothing to compare with, not flagged
])  # fmt: skip
def test_a_seed_far_below_its_siblings_or_near_chance_is_flagged_as_collapsed(top1, collapsed):
    s = _planted("full", top1)
    assert s.collapsed == collapsed
    assert s.as_dict()["collapsed"] == collapsed


def test_a_verdict_built_on_a_collapsed_seed_reports_no_difference_and_says_why():
    full, off = _planted("full", [0.415, 0.76]), _planted("no_attention", [0.72, 0.73, 0.71], seed=1)
    v = compare(off, full)
    assert v.difference > 0.1  # what the review's run read as "switching attention off gains 13 points"
    assert not v.apart and v.collapsed == ("full seed 0 (41.5 %, its best sibling 76.0 %)",)
    assert "collapsed seed" in v.text and "full seed 0" in v.text and "told apart" not in v.text, v.text
    healthy = compare(_planted("no_attention", [0.60, 0.61, 0.62], seed=2), _planted("full", [0.75, 0.76, 0.76]))
    assert healthy.apart and healthy.collapsed == () and "collapsed" not in healthy.text
    result = ablation.AblationResult(Path("."), {"full": full, "no_attention": off}, {})
    table = result.table()
    assert "41.5!" in table and "collapsed" in table and "76.0!" not in table, table


# ------------------------------------------------------------------------------------------------
# Notebook 08's default schedule: one at which no seed collapsed
# ------------------------------------------------------------------------------------------------

# Checked on CPU (issue #27) for seeds 0, 1 and 2 of full, no_attention and fixed_graph: no collapsed seed at a
# batch of 8 for 5 epochs (the lr scaled down with the batch). At the preset's batch of 32 (a quarter of the optimizer
# steps) full seed 0 is still on its early loss plateau when the cosine lr has decayed, and ends at 46.0 % against
# 74.8 % for seed 1; a 1-epoch warm-up (42.9 against 71.0 %) or half the lr (44.9 % for seed 0) does not help.
NOTEBOOK_08_SCHEDULE = {"epochs": 5, "batch_size": 8}


def _parameters(nb: Path) -> dict:
    """The literal assignments of a notebook's cell tagged ``parameters``."""
    cell = next(c for c in json.loads(nb.read_text(encoding="utf-8"))["cells"] if "parameters" in c.get("metadata", {}).get("tags", []))
    tree = ast.parse("".join(cell["source"]))
    return {n.targets[0].id: ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign)}


def test_notebook_08_defaults_run_three_variants_on_the_schedule_checked_for_collapses(tmp_path):
    from aagcn_lab.lab import list_notebooks, training_options

    p = _parameters(list_notebooks(only=["08"])[0])
    chosen = resolve_variants(p["variants"])
    assert len(chosen) >= 3 and p["preset"] == "builtin" and not p["gpus"]
    runs = plan_runs(tmp_path, chosen, [0], p["preset"], **training_options(p["options"], p["epochs"]))
    for cfg in runs.values():
        assert {k: getattr(cfg, k) for k in NOTEBOOK_08_SCHEDULE} == NOTEBOOK_08_SCHEDULE, cfg.work_dir
