"""The numbers behind the notebooks' figures, in numpy: what weight decay alone does to a learned
graph and what the gradients added, attention statistics, and intervals from a bootstrap over
performers.

Everything here takes arrays and returns arrays or small dataclasses; the notebooks call it through
:mod:`aagcn_lab.lab`, which reads checkpoints and score files.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "decay_factor",
    "GraphChange",
    "split_graph_change",
    "new_links",
    "performer_of",
    "Interval",
    "bootstrap_accuracy",
    "bootstrap_difference",
    "column_centred",
    "top_columns",
    "centred_cosine",
    "most_similar_pairs",
    "strongest",
]


# ------------------------------------------------------------------------------------------------
# Weight decay versus gradients in a learned graph
# ------------------------------------------------------------------------------------------------


def decay_factor(lrs: Sequence[float], weight_decay: float, momentum: float = 0.9, nesterov: bool = True) -> float:
    """The factor by which SGD's weight decay alone scales a parameter over the steps ``lrs``.

    torch.optim.SGD with decay and no loss gradient: ``g = wd * w``, ``v <- mu v + g``, and
    ``w <- w - lr (g + mu v)`` (Nesterov) or ``w <- w - lr v``. The update is linear in ``w``, so a
    parameter that starts at ``w0`` ends at ``factor * w0`` plus whatever the loss gradients added.
    """
    if weight_decay < 0 or not 0 <= momentum < 1:
        raise ValueError(f"need weight_decay >= 0 and 0 <= momentum < 1, got {weight_decay}, {momentum}")
    w, v = 1.0, 0.0
    for i, lr in enumerate(lrs):
        g = weight_decay * w
        v = g if i == 0 else momentum * v + g  # torch starts the buffer at the first gradient
        w -= lr * (g + momentum * v if nesterov else v)
    return float(w)


@dataclass
class GraphChange:
    """``learned - initial`` of a graph ``(K, V, V)`` split into two parts that add up to it.

    ``decay``: what weight decay alone would have done (``(factor - 1) * initial``);
    ``gradient``: the rest (``learned - factor * initial``), what the loss gradients changed.
    """

    initial: np.ndarray
    learned: np.ndarray
    factor: float
    decay: np.ndarray
    gradient: np.ndarray

    def relative(self) -> dict[str, np.ndarray]:
        """Per subset, ``||part|| / ||initial||`` of the total change, the decay part and the gradient part."""
        norm = np.maximum(np.linalg.norm(self.initial.reshape(len(self.initial), -1), axis=1), 1e-12)

        def rel(x: np.ndarray) -> np.ndarray:
            return np.linalg.norm(x.reshape(len(x), -1), axis=1) / norm

        return {"total": rel(self.learned - self.initial), "decay": rel(self.decay), "gradient": rel(self.gradient)}


def split_graph_change(initial: np.ndarray, learned: np.ndarray, factor: float) -> GraphChange:
    """Split the change of a learned graph into the weight-decay part and the gradient part (see :class:`GraphChange`)."""
    initial, learned = np.asarray(initial, np.float64), np.asarray(learned, np.float64)
    if initial.shape != learned.shape:
        raise ValueError(f"initial graph {initial.shape} and learned graph {learned.shape} differ in shape")
    return GraphChange(initial, learned, float(factor), (factor - 1.0) * initial, learned - factor * initial)


def new_links(initial: np.ndarray, gradient: np.ndarray, threshold: float) -> list[tuple[int, int, int, float]]:
    """Links that the gradients created: ``(subset, sender, receiver, weight)`` where the initial
    graph is 0 and the gradient part exceeds ``threshold`` in magnitude, largest first."""
    initial, gradient = np.asarray(initial), np.asarray(gradient)
    k, i, j = np.nonzero((initial == 0) & (np.abs(gradient) > threshold))
    links = [(int(a), int(b), int(c), float(gradient[a, b, c])) for a, b, c in zip(k, i, j)]
    return sorted(links, key=lambda t: -abs(t[3]))


# ------------------------------------------------------------------------------------------------
# Attention statistics
# ------------------------------------------------------------------------------------------------


def strongest(matrix: np.ndarray, k: int) -> np.ndarray:
    """A ``(V, V)`` matrix with only its ``k`` largest off-diagonal entries (by magnitude) kept, the rest 0."""
    m = np.asarray(matrix, np.float64)
    off = np.abs(m) * (1 - np.eye(len(m)))
    keep = np.zeros_like(m, dtype=bool)
    flat = np.argsort(-off, axis=None, kind="stable")[:k]
    keep.flat[flat] = off.flat[flat] > 0
    return np.where(keep, m, 0.0)


def column_centred(values: np.ndarray) -> np.ndarray:
    """``values (rows, cols)`` minus each column's mean over the rows: what a row has more or less
    of than the other rows (for per-action maps: than the average action)."""
    values = np.asarray(values, np.float64)
    return values - values.mean(0, keepdims=True)


def top_columns(values: np.ndarray, k: int = 3) -> list[list[int]]:
    """Per row, the indices of the ``k`` largest entries, largest first."""
    return [list(map(int, np.argsort(-row, kind="stable")[:k])) for row in np.asarray(values)]


def centred_cosine(rows: np.ndarray) -> np.ndarray:
    """Cosine similarity between rows after subtracting the mean row. Without centring the part that
    every row shares makes every cosine close to 1; with it, the mean off-diagonal value of n rows is
    about -1/(n-1) by construction, so only the pattern (which pairs are alike) carries information."""
    flat = np.asarray(rows, np.float64).reshape(len(rows), -1)
    flat = flat - flat.mean(0)
    unit = flat / np.maximum(np.linalg.norm(flat, axis=1, keepdims=True), 1e-12)
    return unit @ unit.T


def most_similar_pairs(similarity: np.ndarray, k: int = 5) -> list[tuple[int, int, float]]:
    """The ``k`` most similar distinct pairs ``(i, j, s)`` with ``i < j`` of a symmetric matrix."""
    sim = np.asarray(similarity)
    i, j = np.triu_indices(len(sim), 1)
    order = np.argsort(-sim[i, j], kind="stable")[:k]
    return [(int(i[o]), int(j[o]), float(sim[i[o], j[o]])) for o in order]


# ------------------------------------------------------------------------------------------------
# Intervals: a bootstrap over performers
# ------------------------------------------------------------------------------------------------

_PERFORMER = re.compile(r"P(\d{3})")


def performer_of(frame_dir: str) -> int:
    """The performer id of an NTU-style sample id ``SsssCcccPpppRrrrAaaa`` (P009 -> 9)."""
    m = _PERFORMER.search(frame_dir)
    if not m:
        raise ValueError(f"sample id {frame_dir!r} has no performer field Pxxx")
    return int(m.group(1))


@dataclass
class Interval:
    """A point estimate and a percentile bootstrap interval, with the number of groups resampled."""

    value: float
    low: float
    high: float
    groups: int
    level: float

    def contains(self, x: float) -> bool:
        """Whether ``x`` lies inside the interval."""
        return self.low <= x <= self.high

    def __str__(self) -> str:
        return f"{100 * self.value:.1f} % [{100 * self.low:.1f}, {100 * self.high:.1f}]"


def _group_index(groups: Sequence) -> tuple[np.ndarray, int]:
    _, inverse = np.unique(np.asarray(groups), return_inverse=True)
    return inverse, int(inverse.max()) + 1


def _bootstrap(stat_per_group: np.ndarray, count_per_group: np.ndarray, n_boot: int, seed: int, level: float) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(count_per_group), (n_boot, len(count_per_group)))
    weights = np.stack([np.bincount(p, minlength=len(count_per_group)) for p in picks]).astype(np.float64)  # times drawn
    boot = (weights @ stat_per_group) / np.maximum(weights @ count_per_group, 1)
    alpha = (1 - level) / 2
    return float(np.quantile(boot, alpha)), float(np.quantile(boot, 1 - alpha))


def bootstrap_accuracy(correct: Sequence[bool], groups: Sequence, n_boot: int = 2000, seed: int = 0, level: float = 0.95) -> Interval:
    """Accuracy of ``correct`` (one entry per sample) with a bootstrap interval that resamples whole
    ``groups`` (e.g. performers: the samples of one performance are not independent)."""
    correct = np.asarray(correct, np.float64)
    if correct.ndim != 1 or len(correct) != len(groups) or not len(correct):
        raise ValueError(f"need one group per sample, got {len(correct)} samples and {len(groups)} groups")
    idx, n = _group_index(groups)
    hits, counts = np.bincount(idx, correct, n), np.bincount(idx, minlength=n).astype(np.float64)
    low, high = _bootstrap(hits, counts, n_boot, seed, level)
    return Interval(float(correct.mean()), low, high, n, level)


def bootstrap_difference(
    correct_a: Sequence[bool], correct_b: Sequence[bool], groups: Sequence, n_boot: int = 2000, seed: int = 0, level: float = 0.95
) -> Interval:
    """Accuracy of A minus accuracy of B on the same samples, with a paired bootstrap over ``groups``:
    a difference whose interval contains 0 is not one to claim."""
    a, b = np.asarray(correct_a, np.float64), np.asarray(correct_b, np.float64)
    if a.shape != b.shape or len(a) != len(groups) or not len(a):
        raise ValueError(f"need the same samples for A and B and one group each, got {a.shape}, {b.shape}, {len(groups)}")
    idx, n = _group_index(groups)
    diff, counts = np.bincount(idx, a - b, n), np.bincount(idx, minlength=n).astype(np.float64)
    low, high = _bootstrap(diff, counts, n_boot, seed, level)
    return Interval(float((a - b).mean()), low, high, n, level)
