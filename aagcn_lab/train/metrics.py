"""Evaluation metrics with pyskl's semantics (``pyskl/core/evaluation.py``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["top_k_accuracy", "confusion_matrix", "mean_class_accuracy", "per_class_accuracy", "evaluate_scores"]


def top_k_accuracy(scores: np.ndarray, labels: Sequence[int], ks: Sequence[int] = (1, 5)) -> list[float]:
    """Fraction of samples whose label is among the ``k`` highest scores, for each ``k``."""
    scores, labels = np.asarray(scores), np.asarray(labels)
    order = np.argsort(scores, axis=1)[:, ::-1]
    return [float((order[:, : min(k, scores.shape[1])] == labels[:, None]).any(1).mean()) for k in ks]


def confusion_matrix(pred: Sequence[int], labels: Sequence[int], num_classes: int) -> np.ndarray:
    """``(K, K)`` counts: row = true class, column = predicted class."""
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(labels), np.asarray(pred)), 1)
    return cm


def mean_class_accuracy(scores: np.ndarray, labels: Sequence[int]) -> float:
    """Mean per-class recall over the classes that are true *or predicted* (pyskl: a class that is
    predicted but never true counts as 0)."""
    labels = np.asarray(labels)
    pred = np.asarray(scores).argmax(1)
    classes = np.union1d(labels, pred)
    recalls = [float((pred[labels == c] == c).mean()) if (labels == c).any() else 0.0 for c in classes]
    return float(np.mean(recalls))


def per_class_accuracy(scores: np.ndarray, labels: Sequence[int], num_classes: int) -> np.ndarray:
    """Recall of each class ``(K,)``; NaN for a class without samples."""
    labels, pred = np.asarray(labels), np.asarray(scores).argmax(1)
    out = np.full(num_classes, np.nan)
    for c in range(num_classes):
        mask = labels == c
        if mask.any():
            out[c] = (pred[mask] == c).mean()
    return out


def evaluate_scores(scores: np.ndarray, labels: Sequence[int], num_classes: int | None = None) -> dict:
    """top1, top5, mean class accuracy and the confusion matrix of per-sample scores."""
    scores = np.asarray(scores)
    num_classes = num_classes or scores.shape[1]
    top1, top5 = top_k_accuracy(scores, labels, (1, 5))
    return {
        "top1": top1,
        "top5": top5,
        "mean_class_acc": mean_class_accuracy(scores, labels),
        "confusion": confusion_matrix(scores.argmax(1), labels, num_classes),
        "num_samples": int(len(scores)),
    }
