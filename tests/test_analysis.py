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
    split_graph_change,
    strongest,
    top_columns,
)
from aagcn_lab.graph import spatial_partition


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
    assert torch.allclose(after, factor * w0.double(), atol=1e-12)
    assert 0.88 < factor < 0.93  # the ~0.91 the notebook shows for a 15-epoch built-in run
    assert decay_factor(lrs, 0.0) == 1.0


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
    assert np.allclose(change.decay + change.gradient, learned.numpy() - A.numpy())
    mask = np.ones(A.shape, bool)
    mask[1, 3, 15] = False
    # everywhere else the gradient part is only the decay's effect on the new link's own weight: zero
    assert np.abs(change.gradient[mask]).max() < 1e-12 and change.gradient[1, 3, 15] > 0.05
    assert new_links(A.numpy(), change.gradient, 0.02) == [(1, 3, 15, pytest.approx(change.gradient[1, 3, 15]))]
    rel = change.relative()
    assert np.allclose(rel["decay"], 1 - change.factor) and rel["gradient"][0] == pytest.approx(0, abs=1e-12)


def test_pure_decay_leaves_no_gradient_part():
    A = spatial_partition("nturgb+d").astype(np.float64)
    lrs = np.linspace(0.1, 0.0, 100)
    factor = decay_factor(lrs, 5e-4)
    change = split_graph_change(A, factor * A, factor)
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
    assert by_performer.value == pytest.approx(4 / 6) and by_performer.groups == 6
    assert by_performer.contains(4 / 6) and by_performer.low <= 0.5 and by_performer.high >= 5 / 6
    assert by_sample.high - by_sample.low < 0.6 * (by_performer.high - by_performer.low)
    assert "66.7 %" in str(by_performer)


def test_bootstrap_difference_is_zero_for_the_same_predictions_and_signed_otherwise():
    rng = np.random.default_rng(1)
    groups = np.repeat(np.arange(8), 30)
    a = rng.random(240) < 0.9
    same = bootstrap_difference(a, a, groups)
    assert same.value == same.low == same.high == 0.0
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
    assert np.allclose(centred.mean(0), 0)
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
    assert off.mean() == pytest.approx(-1 / 5, abs=0.05)  # about -1/(n-1) whatever the rows are (exact for equal norms)
    assert most_similar_pairs(sim, 1)[0][:2] == (1, 4)


def test_strongest_keeps_the_k_largest_off_diagonal_entries():
    m = np.array([[5.0, 0.1, -0.9], [0.3, 5.0, 0.0], [0.2, -0.4, 5.0]])
    kept = strongest(m, 2)
    assert np.array_equal(kept, np.array([[0, 0, -0.9], [0, 0, 0], [0, -0.4, 0]]))
    assert np.count_nonzero(strongest(m, 100)) == 5  # zeros and the diagonal never count


def test_class_samples_are_spread_over_performers():
    from aagcn_lab.analysis import _spread_over_performers

    ids = [f"S002C00{c}P003R00{r}A001" for r in (1, 2) for c in (1, 2, 3)] + [f"S001C001P{p:03d}R001A001" for p in (7, 9)]
    picked = _spread_over_performers(range(len(ids)), ids, 4)
    assert sorted(performer_of(ids[i]) for i in picked[:3]) == [3, 7, 9]  # one per performer before a second take of any
    assert len(picked) == 4 and len(set(picked)) == 4
    assert len(_spread_over_performers(range(len(ids)), ids, 100)) == len(ids)
