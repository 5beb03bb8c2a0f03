"""Evaluation metrics with pyskl's semantics (``pyskl/core/evaluation.py``); numpy only, used by the trainer, fusion and the figures."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["top_k_accuracy", "confusion_matrix", "mean_class_accuracy", "per_class_accuracy", "evaluate_scores"]


def top_k_accuracy(scores: np.ndarray, labels: Sequence[int], ks: Sequence[int] = (1, 5)) -> list[float]:
    """Fraction of samples whose label is among the ``k`` highest scores, for each ``k``."""
    scores, labels = np.asarray(scores), np.asarray(labels)
    order = np.argsort(scores, axis=1)[:, ::-1]
    return [float((order[:, : min(k, scores.shape[1])] == labels[:, None]).any(1).mean()) for k in ks]


def confusion_matrix(y_true: Sequence[int], y_pred: Sequence[int], num_classes: int | None = None) -> np.ndarray:
    """``(K, K)`` counts, ``cm[i, j]`` = samples of true class ``i`` predicted as ``j``."""
    t, p = np.asarray(y_true, dtype=np.int64).ravel(), np.asarray(y_pred, dtype=np.int64).ravel()
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred differ in length: {t.shape} vs {p.shape}")
    k = int(num_classes if num_classes is not None else max(t.max(initial=-1), p.max(initial=-1)) + 1)
    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (t, p), 1)
    return cm


def mean_class_accuracy(scores: np.ndarray, labels: Sequence[int]) -> float:
    """Mean per-class recall over the classes that are true *or predicted* (pyskl: a class that is
    predicted but never true counts as 0)."""
    labels = np.asarray(labels)
    pred = np.asarray(scores).argmax(1)
    classes = np.union1d(labels, pred)
    recalls = [float((pred[labels == c] == c).mean()) if (labels == c).any() else 0.0 for c in classes]
    return float(np.mean(recalls))


def per_class_accuracy(cm: np.ndarray) -> np.ndarray:
    """Recall of each class from a confusion matrix, ``cm[i, i] / sum_j cm[i, j]`` (NaN: no samples)."""
    m = np.asarray(cm, dtype=np.float64)
    rows = m.sum(axis=1)
    return np.divide(np.diag(m), rows, out=np.full(len(m), np.nan), where=rows > 0)


def evaluate_scores(scores: np.ndarray, labels: Sequence[int], num_classes: int | None = None) -> dict:
    """top1, top5, mean class accuracy and the confusion matrix of per-sample scores."""
    scores = np.asarray(scores)
    num_classes = num_classes or scores.shape[1]
    top1, top5 = top_k_accuracy(scores, labels, (1, 5))
    return {
        "top1": top1,
        "top5": top5,
        "mean_class_acc": mean_class_accuracy(scores, labels),
        "confusion": confusion_matrix(labels, scores.argmax(1), num_classes),
        "num_samples": int(len(scores)),
    }
