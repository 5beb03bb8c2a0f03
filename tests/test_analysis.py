"""The numbers behind the notebooks' figures: weight decay versus gradients, bootstrap intervals, centring."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from aagcn_lab.analysis import (
    bootstrap_accuracy,
    bootstrap_difference,
    centred_cosine,
    column_centred,
    decay_factor,
    most_similar_pairs,
    new_links,
    performer_of,
    shared_strongest,
    split_graph_change,
    strongest,
    top_columns,
)
from aagcn_lab.graph import spatial_partition

from .tolerances import float_bound


def _sgd_run(w0: torch.Tensor, lrs, wd: float, nesterov: bool, grad=None) -> torch.Tensor:
    """Run torch's SGD on ``w`` with a fixed external gradient (None: zero) for the steps ``lrs``."""
    w = torch.nn.Parameter(w0.clone().double())
    opt = torch.optim.SGD([w], lr=lrs[0], momentum=0.9, nesterov=nesterov, weight_decay=wd)
    for lr in lrs:
        opt.param_groups[0]["lr"] = lr
        w.grad = torch.zeros_like(w) if grad is None else grad.clone().double()
        opt.step()
    return w.detach()


@pytest.mark.parametrize("nesterov", [True, False])
def test_decay_factor_is_what_torch_sgd_does_without_a_loss(nesterov):
    lrs = 0.1 * 0.5 * (1 + np.cos(np.pi * np.arange(375) / 375))  # the builtin preset's cosine schedule
    w0 = torch.randn(3, 5)
    after = _sgd_run(w0, lrs, 5e-4, nesterov)
    factor = decay_factor(lrs, 5e-4, 0.9, nesterov)
    # f64: each of 375 steps rounds w once (the update is ~5e-5 of w): 375 x 2.2e-16 = 8e-14; allclose's rtol 1e-5
    assert torch.allclose(after, factor * w0.double(), atol=1e-12)
    assert 0.88 < factor < 0.93  # the ~0.91 the notebook shows for a 15-epoch built-in run
    assert decay_factor(lrs, 0.0) == 1.0  # exact: w -= lr * 0 leaves 1.0 as it is


def test_graph_changes_take_the_factor_and_its_steps_from_the_checkpoints_training_state(tmp_path):
    from aagcn_lab.analysis import graph_changes
    from aagcn_lab.model import AAGCN
    from aagcn_lab.model.checkpoint import save_checkpoint
    from aagcn_lab.train.config import preset
    from aagcn_lab.train.schedule import lr_at_step, scaled_lr

    model = AAGCN(layout="nturgb+d", num_classes=5, base_channels=8, num_stages=2)
    cfg = preset("builtin_j")
    state = {"train_config": cfg.to_dict(), "global_batch": 32, "steps_per_epoch": 25, "global_step": 325, "epoch": 13}
    trained = save_checkpoint(model, tmp_path / "trained.pt", train_state=state)
    lrs = [lr_at_step(cfg, scaled_lr(cfg, 32), 25, i) for i in range(325)]
    changes = graph_changes(model, trained)
    assert len(changes) == 2 and all(c.steps == 325 for c in changes)
    # the same Python float operations in the same order on both sides (lr_at_step, decay_factor): equal on any
    # IEEE-754 machine, 1e-15 is slack
    assert changes[0].factor == pytest.approx(decay_factor(lrs, cfg.weight_decay, cfg.momentum, cfg.nesterov), abs=1e-15)
    released = graph_changes(model, save_checkpoint(model, tmp_path / "released.pt"))  # no training state: nothing known
    assert released[0].steps is None and released[0].factor == 1.0  # exact: the constant 1.0


def test_decay_factor_rejects_bad_settings():
    with pytest.raises(ValueError, match="momentum"):
        decay_factor([0.1], 5e-4, momentum=1.0)


def test_split_graph_change_separates_decay_from_a_gradient_that_adds_one_link():
    A = torch.from_numpy(spatial_partition("nturgb+d")).double()
    lrs = np.full(200, 0.05)
    grad = torch.zeros_like(A)
    grad[1, 3, 15] = -0.01  # a steady push that grows a head -> left-foot link in the inward subset
    learned = _sgd_run(A, lrs, 5e-4, True, grad)
    change = split_graph_change(A.numpy(), learned.numpy(), decay_factor(lrs, 5e-4))
    # f64, |A| <= 1: a few elementwise roundings, 1e-15 (allclose's 1e-5 / 1e-8 kept)
    assert np.allclose(change.decay + change.gradient, learned.numpy() - A.numpy())
    mask = np.ones(A.shape, bool)
    mask[1, 3, 15] = False
    # everywhere else the gradient part is only the decay's effect on the new link's own weight: zero up to
    # rounding: torch's SGD rounds w once per step (the update is ~3e-5 of w), 200 x 2.2e-16 = 4.4e-14 < 1e-12
    assert np.abs(change.gradient[mask]).max() < 1e-12 and change.gradient[1, 3, 15] > 0.05
    assert new_links(A.numpy(), change.gradient, 0.02) == [(1, 3, 15, pytest.approx(change.gradient[1, 3, 15]))]  # the same value
    rel = change.relative()
    # norms of the above over 3 x 25 x 25 entries: the 4.4e-14 residue relative to |A| stays < 1e-12
    assert np.allclose(rel["decay"], 1 - change.factor) and rel["gradient"][0] == pytest.approx(0, abs=1e-12)


def test_pure_decay_leaves_no_gradient_part():
    A = spatial_partition("nturgb+d").astype(np.float64)
    lrs = np.linspace(0.1, 0.0, 100)
    factor = decay_factor(lrs, 5e-4)
    change = split_graph_change(A, factor * A, factor)
    # learned - factor * A with learned = factor * A: the same elementwise product on both sides, 0 exactly
    assert np.abs(change.gradient).max() < 1e-15 and new_links(A, change.gradient, 1e-9) == []
    with pytest.raises(ValueError, match="shape"):
        split_graph_change(A, A[:2], factor)


def test_performer_of_reads_ntu_ids():
    assert performer_of("S002C001P003R001A001") == 3
    assert performer_of("S017C003P020R002A060") == 20
    with pytest.raises(ValueError, match="performer"):
        performer_of("clip_0001")


def test_bootstrap_over_performers_is_wider_than_over_samples_when_performances_agree():
    # 6 performers, 20 samples each; each performer all right or all wrong: 4 of 6 right
    groups = np.repeat(np.arange(6), 20)
    correct = np.repeat([1, 1, 1, 1, 0, 0], 20).astype(bool)
    by_performer = bootstrap_accuracy(correct, groups)
    by_sample = bootstrap_accuracy(correct, np.arange(len(correct)))
    assert by_performer.value == pytest.approx(4 / 6) and by_performer.groups == 6  # f64 mean of 120: 2.7e-14 < 1e-6
    assert by_performer.contains(4 / 6) and by_performer.low <= 0.5 and by_performer.high >= 5 / 6
    assert by_sample.high - by_sample.low < 0.6 * (by_performer.high - by_performer.low)
    assert "66.7 %" in str(by_performer)


def test_bootstrap_difference_is_zero_for_the_same_predictions_and_signed_otherwise():
    rng = np.random.default_rng(1)
    groups = np.repeat(np.arange(8), 30)
    a = rng.random(240) < 0.9
    same = bootstrap_difference(a, a, groups)
    assert same.value == same.low == same.high == 0.0  # exact: a - a elementwise, the same resamples
    worse = a & (rng.random(240) < 0.5)  # B loses about half of A's hits
    diff = bootstrap_difference(a, worse, groups)
    assert diff.low > 0.2 and not diff.contains(0.0)
    with pytest.raises(ValueError, match="same samples"):
        bootstrap_difference(a, a[:10], groups)
    with pytest.raises(ValueError, match="one group per sample"):
        bootstrap_accuracy(a, groups[:5])


def test_column_centring_and_top_columns():
    values = np.array([[0.9, 0.5, 0.95], [0.9, 0.1, 0.95], [0.9, 0.3, 0.5]])
    assert top_columns(values, 1) == [[2], [2], [0]]  # uncentred: the shared bias wins
    centred = column_centred(values)
    assert np.allclose(centred.mean(0), 0)  # f64, 3 terms <= 1: 7e-16 < allclose's atol 1e-8
    assert top_columns(centred, 1) == [[1], [2], [0]]  # centred: what each row has more of than the others


def test_graph_weight_decay_switch_puts_the_learned_graphs_in_a_group_without_decay():
    from aagcn_lab import build_model
    from aagcn_lab.train.config import preset
    from aagcn_lab.train.schedule import param_groups as _param_groups

    model = build_model(layout="nturgb+d", num_classes=5, num_stages=2)
    pyskl = _param_groups(model, preset("builtin_j"))
    assert len(pyskl) == 1 and len(pyskl[0]["params"]) == len(list(model.parameters()))
    rest, graph = _param_groups(model, preset("builtin_j", graph_weight_decay=False))
    assert graph["weight_decay"] == 0.0 and [p.shape for p in graph["params"]] == [torch.Size([3, 25, 25])] * 2
    assert len(rest["params"]) + 2 == len(list(model.parameters()))
    with pytest.raises(ValueError, match="no learned graph"):
        _param_groups(build_model(layout="nturgb+d", num_classes=5, num_stages=2, graph="fixed"), preset("builtin_j", graph_weight_decay=False))


def test_centred_cosine_has_the_built_in_negative_mean_and_finds_the_alike_pair():
    rng = np.random.default_rng(0)
    shared = rng.normal(size=50)
    rows = shared + 0.1 * rng.normal(size=(6, 50))
    rows[4] = rows[1] + 0.01 * rng.normal(size=50)  # rows 1 and 4 alike
    sim = centred_cosine(rows)
    raw = rows @ rows.T / np.outer(np.linalg.norm(rows, axis=1), np.linalg.norm(rows, axis=1))
    assert raw[~np.eye(6, dtype=bool)].min() > 0.9  # uncentred: everything looks alike
    off = sim[~np.eye(6, dtype=bool)]
    # not rounding: how far unequal norms move the mean from -1/(n-1) (exact for equal norms)
    assert off.mean() == pytest.approx(-1 / 5, abs=0.05)  # about -1/(n-1) whatever the rows are (exact for equal norms)
    assert most_similar_pairs(sim, 1)[0][:2] == (1, 4)


def test_strongest_keeps_the_k_largest_off_diagonal_entries():
    m = np.array([[5.0, 0.1, -0.9], [0.3, 5.0, 0.0], [0.2, -0.4, 5.0]])
    kept = strongest(m, 2)
    assert np.array_equal(kept, np.array([[0, 0, -0.9], [0, 0, 0], [0, -0.4, 0]]))  # exact: entries kept or zeroed
    assert np.count_nonzero(strongest(m, 100)) == 5  # zeros and the diagonal never count


def test_shared_strongest_names_the_places_both_matrices_rank_in_their_top_k():
    a = np.array([[9.0, 0.8, -0.9, 0.0], [0.1, 9.0, 0.5, 0.0], [0.0, 0.7, 9.0, 0.2], [0.3, 0.0, 0.0, 9.0]])
    b = np.array([[1.0, -0.6, 0.0, 0.0], [0.0, 1.0, 0.0, 0.9], [0.0, 0.8, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]])
    # a's top 3 off the diagonal: (0,2) 0.9, (0,1) 0.8, (2,1) 0.7; b's: (1,3) 0.9, (2,1) 0.8, (0,1) 0.6
    assert shared_strongest(a, b, 3) == [(0, 1), (2, 1)]  # by a's magnitude, the sign does not matter
    assert shared_strongest(b, a, 3) == [(2, 1), (0, 1)]
    assert shared_strongest(a, b.T, 3) == []  # direction counts: rows send, columns receive
    assert shared_strongest(a, a, 2) == [(0, 2), (0, 1)]


def test_class_samples_are_spread_over_performers():
    from aagcn_lab.analysis import _spread_over_performers

    ids = [f"S002C00{c}P003R00{r}A001" for r in (1, 2) for c in (1, 2, 3)] + [f"S001C001P{p:03d}R001A001" for p in (7, 9)]
    picked = _spread_over_performers(range(len(ids)), ids, 4)
    assert sorted(performer_of(ids[i]) for i in picked[:3]) == [3, 7, 9]  # one per performer before a second take of any
    assert len(picked) == 4 and len(set(picked)) == 4
    assert len(_spread_over_performers(range(len(ids)), ids, 100)) == len(ids)


# ------------------------------------------------------------------------------------------------
# eval_mode, samples per class, per-class statistics, fusion rows
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("training", [True, False])
def test_eval_mode_runs_in_eval_and_gives_the_mode_back_also_after_an_error(training):
    from aagcn_lab.analysis import eval_mode

    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2)).train(training)
    with eval_mode(model) as m:
        assert m is model and not any(x.training for x in model.modules())
    assert all(x.training == training for x in model.modules())
    with pytest.raises(RuntimeError, match="inside"), eval_mode(model):
        raise RuntimeError("inside")
    assert all(x.training == training for x in model.modules())


def _class_dataset(tmp_path):
    """12 clips of 3 classes; class c's clips are filled with c + 10 * performer, so a mean is known."""
    from aagcn_lab.data import save_annotations
    from aagcn_lab.data.dataset import SkeletonDataset

    recs = []
    for label in range(3):
        for performer, camera in ((1, 1), (1, 2), (2, 1), (3, 1)):
            kp = np.full((1, 20, 25, 3), label + 10 * performer, np.float16)
            kp[..., 0] += np.arange(25, dtype=np.float16) / 100  # joints differ, so the model sees a skeleton
            recs.append(dict(frame_dir=f"S001C{camera:03d}P{performer:03d}R001A{label + 1:03d}", label=label, total_frames=20, keypoint=kp))
    ids = [r["frame_dir"] for r in recs]
    ann = save_annotations(tmp_path / "a.pkl", recs, {"val": ids}, label_names=["a", "b", "c"], layout="nturgb+d")
    return SkeletonDataset(ann, "val", feat="j", mode="val", clip_len=20)


def test_batch_per_class_takes_classes_in_order_and_performers_before_second_takes(tmp_path):
    from aagcn_lab.analysis import batch_per_class

    ds = _class_dataset(tmp_path)
    x, labels, ids = batch_per_class(ds, per_class=3)
    assert labels == [0, 0, 0, 1, 1, 1, 2, 2, 2] and x.shape == (9, 2, 20, 25, 3)  # padded to two persons
    assert [performer_of(i) for i in ids[:3]] == [1, 2, 3]  # the second camera of performer 1 comes last
    for row, sid in zip(x, ids):
        assert torch.equal(row, ds[ds.frame_dirs.index(sid)][0][0])  # exact: the same val-mode pipeline on the same record
    x1, labels1, _ = batch_per_class(ds, per_class=1, classes=[2])
    assert labels1 == [2] and x1.shape[0] == 1
    with pytest.raises(ValueError, match="no sample"):
        batch_per_class(ds, classes=[7])


def test_class_statistics_are_class_means_of_eval_mode_inspection(tmp_path):
    from aagcn_lab import build_model
    from aagcn_lab.analysis import batch_per_class, class_statistics

    from .conftest import perturb

    ds = _class_dataset(tmp_path)
    model = perturb(build_model(layout="nturgb+d", num_classes=3, num_stages=2)).train()
    stats = class_statistics(model, ds, layer=1, per_class=2, batch_size=4)
    assert model.training  # given back in train mode
    assert stats["classes"] == [0, 1, 2] and set(stats) == {"classes", "spatial", "temporal", "channel", "data_graph"}
    x, labels, _ = batch_per_class(ds, per_class=2)
    with torch.no_grad():
        lay = model.eval().inspect(x).layers[1]
    # f32, batches of 4 against one of 6 (other kernel blocking): up to 9 x 64 ~ 1e3 terms per layer, layer 1 is
    # the 2nd block; the values are sigmoid / tanh outputs, O(1): the same bound absolute
    bound = float_bound(torch.float32, terms=1e3, depth=2)  # 2.4e-4
    for key in ("spatial", "temporal", "channel", "data_graph"):
        per_sample = getattr(lay, key)[:, 0].numpy()
        want = np.stack([per_sample[np.asarray(labels) == c].mean(0) for c in range(3)])
        np.testing.assert_allclose(stats[key], want, rtol=bound, atol=bound)
    assert stats["spatial"].shape == (3, 25) and stats["data_graph"].shape == (3, 3, 25, 25)


def test_fusion_rows_have_kinds_and_row_scores_reproduce_each_row():
    from aagcn_lab.analysis import fusion_row_scores
    from aagcn_lab.fusion import fusion_report
    from aagcn_lab.scores import Scores

    rng = np.random.default_rng(1)
    ids = [f"S001C001P{p:03d}R001A001" for p in range(1, 41)]
    labels = rng.integers(0, 5, 40)
    scores = {s: Scores(ids, rng.dirichlet(np.ones(5), 40), labels) for s in ("j", "b", "jm", "bm")}
    report = fusion_report(scores, tuned={"j": 1.0, "b": 1.0, "jm": 1.0, "bm": 1.0})
    kinds = [r.kind for r in report.rows]
    assert kinds == ["stream"] * 4 + ["combination"] * 6 + ["fusion"] * 2
    assert [r["kind"] for r in report.as_dict()["rows"]] == kinds
    assert report.best_single.kind == "stream" and report.fused.kind == report.tuned.kind == "fusion"
    rows = fusion_row_scores(report, scores)
    assert list(rows) == [r.name for r in report.rows]
    for r in report.rows:  # f64 mean of 40 booleans: 8.9e-15 < approx's 1e-6
        assert float((rows[r.name].probs.argmax(1) == labels).mean()) == pytest.approx(r.top1)
    # f64, 4 weighted terms: 8.9e-16 < assert_allclose's rtol 1e-7
    np.testing.assert_allclose(rows["fusion (j+b+jm+bm)"].probs, sum(w * scores[s].probs for s, w in {"j": 2, "b": 2, "jm": 1, "bm": 1}.items()))
    two = fusion_report({s: scores[s] for s in ("j", "b")})
    assert [r.kind for r in two.rows] == ["stream", "stream", "fusion"]  # two streams: no pairs besides the fusion


def test_training_options_add_epochs_only_when_set():
    from aagcn_lab import lab

    options = {"test_clips": 2}
    assert lab.training_options(options, 3) == {"test_clips": 2, "epochs": 3}
    assert lab.training_options(options, 0) == {"test_clips": 2}
    assert lab.training_options({"epochs": 9}, 2) == {"epochs": 2} and options == {"test_clips": 2}


def test_graph_sizes_compare_alpha_c_with_b_per_layer():
    from types import SimpleNamespace

    from aagcn_lab.analysis import graph_sizes

    b = torch.zeros(3, 4, 4)
    b[:, 0, 0] = 2.0  # ||B_k|| = 2 for every subset
    c = torch.zeros(2, 2, 3, 4, 4)  # (N, M, K, V, V)
    c[0, 0, :, 1, 2] = 3.0  # sample 0 person 0: ||C_k|| = 3; sample 1: 0; person 1 ignored
    c[:, 1] = 100.0
    layers = [SimpleNamespace(graph=b, alpha=-0.5, data_graph=c), SimpleNamespace(graph=b, alpha=None, data_graph=None),
              SimpleNamespace(graph=b, alpha=None, data_graph=c)]
    sizes = graph_sizes(SimpleNamespace(layers=layers))
    # norms and means of small exact values (sqrt(4), sqrt(9), halves): exact in f32, approx's 1e-6 is slack
    assert sizes == [(0, pytest.approx(0.5 * 1.5), pytest.approx(2.0)), (2, pytest.approx(1.5), pytest.approx(2.0))]


def test_interval_table_prints_each_performers_accuracy_beside_a_rough_interval():
    from aagcn_lab.analysis import interval_table, performer_accuracies, stream_intervals
    from aagcn_lab.scores import Scores

    # 4 performers x 10 samples; performer 3 gets 10 right, 6 gets 9, 7 gets 5, 10 gets 0
    ids = [f"S002C001P{p:03d}R001A{a:03d}" for p in (3, 6, 7, 10) for a in range(1, 11)]
    labels = np.zeros(40, dtype=int)
    hits = np.concatenate([np.arange(10) < n for n in (10, 9, 5, 0)])
    probs = np.where(hits[:, None], [[0.9, 0.1]], [[0.1, 0.9]])
    scores = {"j": Scores(ids, probs, labels), "b": Scores(ids[::-1], probs[::-1], labels)}  # the same predictions, another order
    assert performer_accuracies(scores["j"]) == {3: 1.0, 6: 0.9, 7: 0.5, 10: 0.0}
    assert performer_accuracies(scores["b"]) == performer_accuracies(scores["j"])
    table = interval_table(scores, stream_intervals(scores))
    lines = table.splitlines()
    assert "4 test performers" in lines[0] and "10 samples each" in lines[0] and "rough" in lines[0] and "35" in lines[0]
    assert len(lines) == 3 and lines[1].startswith("j ") and lines[2].startswith("b ")
    for line in lines[1:]:
        assert "top-1 60.0 % [" in line and "24 of 40" in line
        assert line.endswith("per performer: P3 100.0, P6 90.0, P7 50.0, P10 0.0")
    assert interval_table(scores).splitlines()[1:] == lines[1:]  # the intervals computed when not given
    many = {"j": Scores([f"S001C001P{p:03d}R001A001" for p in range(1, 13)], np.full((12, 2), 0.5), np.zeros(12, dtype=int))}
    assert "rough" not in interval_table(many).splitlines()[0]  # 12 performers: no warning


def test_median_centring_is_not_pulled_by_a_few_low_rows():
    # five actions; joint 0 (a trunk joint) sits near 1 in every ordinary action; two outlier actions are low there
    values = np.array([[0.95, 0.8, 0.6], [0.95, 0.6, 0.8], [0.95, 0.7, 0.7], [0.0, 0.6, 0.6], [0.1, 0.6, 0.6]])
    by_mean = column_centred(values)
    by_median = column_centred(values, centre="median")
    assert top_columns(by_mean[:3], 1) == [[0], [0], [0]]  # the low rows pull joint 0's mean down most: it tops them all
    assert top_columns(by_median[:3], 1) == [[1], [2], [1]]  # against the median, what each action has more of
    assert np.allclose(np.median(by_median, 0), 0)  # f64 differences of 5 terms: exact up to 1e-16 < atol 1e-8
    with pytest.raises(ValueError, match="centre"):
        column_centred(values, centre="mode")


def test_top_joint_summary_counts_shared_sets_recurring_joints_and_body_parts():
    from aagcn_lab.analysis import top_joint_summary

    names = ["SpineBase", "HandRight", "WristRight", "KneeLeft", "FootLeft"]
    table = np.array([[0.9, 0.8, 0.7, 0.1, 0.0], [0.9, 0.8, 0.7, 0.0, 0.1], [0.1, 0.2, 0.3, 0.9, 0.8]])
    lines = top_joint_summary({"uncentred": table, "other": table[:, ::-1]}, names).splitlines()
    assert lines[0].startswith("uncentred: 2 of 3 actions share the same top 3 (HandRight, SpineBase, WristRight)")
    assert "most often in a top 3: WristRight (joint 2) 3 times, SpineBase (joint 0) 2 times, HandRight (joint 1) 2 times" in lines[0]
    assert lines[0].endswith("top 3 with a trunk joint: 2 of 3, a hand joint: 3, a leg joint: 1")
    assert lines[1].startswith("other: ") and len(lines) == 2
