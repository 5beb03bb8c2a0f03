"""Metrics with pyskl's semantics (``pyskl/core/evaluation.py``), on cases computed by hand."""

import numpy as np
import pytest

from aagcn_lab.metrics import (
    confusion_matrix,
    evaluate_scores,
    mean_class_accuracy,
    per_class_accuracy,
    top_k_accuracy,
)

# five samples, five classes. Per row, the classes from the highest score down:
#   sample 0 (label 0): 0 3 1 ...      top-1 hit
#   sample 1 (label 0): 1 0 2 ...      top-2 hit
#   sample 2 (label 1): 1 2 0 ...      top-1 hit
#   sample 3 (label 2): 3 0 1 4 2      top-5 hit only
#   sample 4 (label 2): 2 3 ...        top-1 hit
# class 3 is predicted once but never true; class 4 has no samples and is never predicted.
SCORES = np.array(
    [
        [0.50, 0.15, 0.05, 0.25, 0.05],
        [0.30, 0.40, 0.20, 0.05, 0.05],
        [0.15, 0.45, 0.25, 0.10, 0.05],
        [0.30, 0.15, 0.05, 0.40, 0.10],
        [0.05, 0.05, 0.60, 0.20, 0.10],
    ]
)
LABELS = [0, 0, 1, 2, 2]


# Accuracies here are counts / n and means of a few of them, in f64: a few roundings (~1e-15), far
# below approx's and assert_allclose's defaults (1e-6, 1e-7) -- every bound in this file.


def test_top_k_accuracy_by_hand():
    assert top_k_accuracy(SCORES, LABELS, (1, 2, 3, 4, 5)) == pytest.approx([3 / 5, 4 / 5, 4 / 5, 4 / 5, 1.0])


def test_top_k_larger_than_the_number_of_classes_counts_every_sample():
    assert top_k_accuracy(SCORES, LABELS, (10,)) == [1.0]  # exact: 5 / 5 (both)
    assert top_k_accuracy(SCORES[:, :3], [0, 1, 2, 0, 1], (5,)) == [1.0]


def test_mean_class_accuracy_counts_a_class_predicted_but_never_true_as_zero():
    # recalls: class 0 1/2, class 1 1/1, class 2 1/2, class 3 (predicted for sample 3, never true) 0;
    # class 4 (no sample, never predicted) is not counted: (0.5 + 1 + 0.5 + 0) / 4
    assert mean_class_accuracy(SCORES, LABELS) == pytest.approx(0.5)
    # without the false prediction of class 3 it is the plain mean over the true classes
    fixed = SCORES.copy()
    fixed[3] = [0.1, 0.1, 0.6, 0.1, 0.1]
    assert mean_class_accuracy(fixed, LABELS) == pytest.approx((0.5 + 1 + 1) / 3)


def test_confusion_and_per_class_accuracy_by_hand():
    cm = confusion_matrix(LABELS, SCORES.argmax(1), 5)
    want = np.zeros((5, 5), int)
    for t, p in [(0, 0), (0, 1), (1, 1), (2, 3), (2, 2)]:
        want[t, p] += 1
    assert cm.tolist() == want.tolist()
    acc = per_class_accuracy(cm)
    np.testing.assert_allclose(acc[:4], [0.5, 1.0, 0.5, np.nan])
    assert np.isnan(acc[3]) and np.isnan(acc[4])  # no samples: not a number, not 0 and not 1


def test_evaluate_scores_reports_all_of_it():
    m = evaluate_scores(SCORES, LABELS, num_classes=6)
    assert m["top1"] == pytest.approx(0.6) and m["top5"] == pytest.approx(1.0)
    assert m["mean_class_acc"] == pytest.approx(0.5) and m["num_samples"] == 5
    assert m["confusion"].shape == (6, 6) and m["confusion"].sum() == 5 and m["confusion"][2, 3] == 1
    assert np.trace(m["confusion"]) == 3
