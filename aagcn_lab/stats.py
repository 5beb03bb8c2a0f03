"""Intervals and tests of differences, numpy only: the statistics that analysis, ablations and notebooks share.

* over **test performers** -- :func:`bootstrap_accuracy` and the paired :func:`bootstrap_difference`
  resample whole groups (performers: the samples of one performance are not independent) and give
  an :class:`Interval`;
* over **seeds** -- :func:`mean_interval` (Student's t of a mean of a few runs) and
  :func:`welch_half_width` (Welch's interval of a difference of two such means, its degrees of
  freedom from the two spreads), both through :func:`t_quantile`.

A difference whose interval contains 0 is not one to claim.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Interval", "group_index", "bootstrap_accuracy", "bootstrap_difference", "t_quantile", "mean_interval", "welch_half_width"]


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


def group_index(groups: Sequence) -> tuple[np.ndarray, int]:
    """Each sample's group as an index ``0..n-1``, and ``n``."""
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
    idx, n = group_index(groups)
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
    idx, n = group_index(groups)
    diff, counts = np.bincount(idx, a - b, n), np.bincount(idx, minlength=n).astype(np.float64)
    low, high = _bootstrap(diff, counts, n_boot, seed, level)
    return Interval(float((a - b).mean()), low, high, n, level)


@functools.lru_cache(maxsize=4096)  # a pure function of two numbers taking ~3 ms; intervals ask for the same few
def t_quantile(p: float, df: float) -> float:
    """The ``p`` quantile of Student's t with ``df`` degrees of freedom (numerical, 1e-6 accurate)."""
    if not 0 < p < 1 or not df > 0:
        raise ValueError(f"need 0 < p < 1 and df > 0, got p={p}, df={df}")
    if p < 0.5:
        return -t_quantile(1 - p, df)
    log_c = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)

    def cdf(x: float) -> float:  # Simpson's rule on the density over [0, x] after u = atan(t)
        n = 2000
        top = math.atan(x)
        h = top / n
        us = np.linspace(0.0, top, n + 1)
        ts = np.tan(us)
        f = np.exp(log_c - (df + 1) / 2 * np.log1p(ts**2 / df)) / np.cos(us) ** 2
        return 0.5 + h / 3 * (f[0] + f[-1] + 4 * f[1:-1:2].sum() + 2 * f[2:-1:2].sum())

    lo, hi = 0.0, 1.0
    while cdf(hi) < p:
        hi *= 2
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if cdf(mid) < p else (lo, mid)
    return (lo + hi) / 2


def mean_interval(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """``(mean, sd, half)`` of a few values (e.g. one accuracy per seed): the Student t interval of the mean is
    ``mean -+ half`` (``half`` nan with one value: no spread to judge by)."""
    x = np.asarray(values, np.float64)
    n = len(x)
    mean = float(x.mean())
    std = float(x.std(ddof=1)) if n > 1 else 0.0
    half = t_quantile(0.5 + level / 2, n - 1) * std / math.sqrt(n) if n > 1 else math.nan
    return mean, std, half


def welch_half_width(std_a: float, na: int, std_b: float, nb: int, level: float = 0.95) -> float:
    """Half-width of Welch's interval of the difference of two means (of ``na`` and ``nb`` values with those
    sds): its degrees of freedom come from the two spreads, not ``na + nb - 2``; nan with fewer than two
    values on a side, 0 when neither side varies."""
    if na < 2 or nb < 2:
        return math.nan
    va, vb = std_a**2 / na, std_b**2 / nb
    se = math.sqrt(va + vb)
    if se == 0:
        return 0.0  # every value of both is the same
    df = (va + vb) ** 2 / (va**2 / (na - 1) + vb**2 / (nb - 1))
    half = t_quantile(0.5 + level / 2, df) * se
    return half
