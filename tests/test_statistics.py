"""Intervals have the level they claim: coverage by simulation, and a ``level`` argument that is used.

Each coverage test draws data sets from a known distribution (a fixed seed; 400 for the
bootstrap, 2000 for Student's t, whose quantile is cached, 200 for Welch's, whose df differs in
every data set), builds the interval of each and counts how often it contains the true value.
For a method of exactly the claimed level that count is binomial(n, level), so it lies within
two standard deviations of ``n * level`` (n = 400: 95 % in 92.8 .. 97.2 %, 90 % in 87.0 .. 93.0 %)
for all but about 1 seed in 20; the seeds are fixed, so each test always gives the same answer.
An interval one level off (90 % for 95 %, a one-sided quantile, the level ignored, a normal
quantile for Student's t, a pooled df for Welch's) lands outside its band.

The intervals: the percentile bootstrap over performers (:mod:`aagcn_lab.analysis`), Student's t
over seeds and Welch's t for a difference over seeds (:mod:`aagcn_lab.ablation`).
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest

from aagcn_lab import ablation
from aagcn_lab.ablation import AblationResult, compare, summarise
from aagcn_lab.analysis import bootstrap_accuracy, bootstrap_difference, stream_intervals
from aagcn_lab.scores import Scores

N_SIM = 400
N_T = 2000  # the t interval costs nothing once its quantile is cached: more data sets, a narrower band
N_WELCH = 200  # Welch's df differs in every data set, so each needs its own t quantile (~3 ms)


def band(level: float, n: int = N_SIM, z: float = 2.0) -> tuple[float, float]:
    """Where the share of ``n`` intervals of exactly ``level`` that cover the truth falls (``z`` binomial sds)."""
    sd = math.sqrt(level * (1 - level) / n)
    return level - z * sd, level + z * sd


def within(share: float, level: float, n: int = N_SIM) -> bool:
    low, high = band(level, n)
    return low <= share <= high


@pytest.fixture
def cached_t(monkeypatch):
    """``t_quantile`` is a pure function taking ~3 ms; cached, the simulations repeat it for free."""
    monkeypatch.setattr(ablation, "t_quantile", functools.lru_cache(maxsize=None)(ablation.t_quantile))


def performers(g: int, per: int) -> np.ndarray:
    return np.repeat(np.arange(g), per)


def ids(g: int, per: int) -> list[str]:
    return [f"S001C001P{p + 1:03d}R001A{k + 1:03d}" for p in range(g) for k in range(per)]


def seed_correctness(top1: np.ndarray, samples: int = 1000) -> np.ndarray:
    """``(seeds, samples)`` correctness whose per-seed accuracies are ``top1`` (to 1 / samples)."""
    hits = np.rint(np.asarray(top1) * samples).astype(int)
    return np.arange(samples)[None, :] < hits[:, None]


# ------------------------------------------------------------------------------------------------
# Coverage by simulation


def test_bootstrap_accuracy_covers_the_true_accuracy_at_its_level():
    """40 performers of 4 samples each; each performer's own accuracy ~ Beta(7, 3), so the true
    accuracy is 0.7 and samples of one performer are alike (the reason to resample performers)."""
    rng = np.random.default_rng(11)
    groups = performers(40, 4)
    covered = {0.95: 0, 0.90: 0}
    for sim in range(N_SIM):
        p = rng.beta(7, 3, 40)
        correct = (rng.random((40, 4)) < p[:, None]).ravel()
        for level in covered:
            iv = bootstrap_accuracy(correct, groups, n_boot=500, seed=sim, level=level)
            covered[level] += iv.contains(0.7)
    share = {level: c / N_SIM for level, c in covered.items()}
    assert within(share[0.95], 0.95) and within(share[0.90], 0.90), share


def test_paired_bootstrap_difference_covers_the_true_difference_at_its_level():
    """Per performer A is right with p ~ Beta(8, 2) and B with 0.875 p: the true difference is 0.1."""
    rng = np.random.default_rng(12)
    groups = performers(40, 4)
    covered = 0
    for sim in range(N_SIM):
        p = np.repeat(rng.beta(8, 2, 40), 4)
        u = rng.random(160)
        a, b = u < p, u < 0.875 * p  # paired: B is right only where A is (the same draw)
        covered += bootstrap_difference(a, b, groups, n_boot=500, seed=sim).contains(0.1)
    assert within(covered / N_SIM, 0.95), covered / N_SIM


def test_student_t_interval_over_seeds_covers_the_true_mean_at_its_level(cached_t):
    """3 seeds whose accuracies are normal (mean 0.6, sd 0.04): the t interval is exact there."""
    rng = np.random.default_rng(13)
    covered = {0.95: 0, 0.90: 0}
    for _ in range(N_T):
        correct = seed_correctness(rng.normal(0.6, 0.04, 3))
        for level in covered:
            s = summarise("v", correct, level=level)
            covered[level] += s.low <= 0.6 <= s.high
    share = {level: c / N_T for level, c in covered.items()}
    assert within(share[0.95], 0.95, N_T) and within(share[0.90], 0.90, N_T), share  # 94.0 .. 96.0 %, 88.7 .. 91.3 %


def test_welch_interval_of_a_difference_covers_the_true_difference_at_its_level(cached_t):
    """3 noisy seeds (sd 0.06) against 8 steady ones (sd 0.006), true difference 0.1: Welch's df
    (about 2 here) is what keeps the level; the pooled df (9) would not."""
    rng = np.random.default_rng(14)
    covered = 0
    for _ in range(N_WELCH):
        a = summarise("a", seed_correctness(rng.normal(0.6, 0.06, 3)))
        b = summarise("b", seed_correctness(rng.normal(0.5, 0.006, 8)))
        v = compare(a, b)
        covered += v.seed_low <= 0.1 <= v.seed_high
    assert within(covered / N_WELCH, 0.95, N_WELCH), covered / N_WELCH  # 95 %: 91.9 .. 98.1 %


# ------------------------------------------------------------------------------------------------
# The level argument is used everywhere it is taken


def _strictly_inside(inner: tuple[float, float], outer: tuple[float, float]) -> bool:
    return outer[0] < inner[0] < inner[1] < outer[1]


def _data(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    groups = performers(30, 5)
    p = np.repeat(rng.beta(7, 3, 30), 5)
    u = rng.random(150)
    return u < p, u < 0.8 * p, groups


def test_bootstrap_intervals_use_their_level():
    a, b, groups = _data()
    for fn, args in ((bootstrap_accuracy, (a, groups)), (bootstrap_difference, (a, b, groups))):
        wide, narrow = fn(*args, n_boot=1000, level=0.95), fn(*args, n_boot=1000, level=0.90)
        assert (wide.level, narrow.level) == (0.95, 0.90) and narrow.value == wide.value
        assert _strictly_inside((narrow.low, narrow.high), (wide.low, wide.high)), fn.__name__
    scores = Scores(ids(30, 5), np.where(a[:, None], [[0.9, 0.1]], [[0.1, 0.9]]), np.zeros(150, int))
    for level in (0.95, 0.90):
        iv = stream_intervals({"j": scores}, n_boot=1000, level=level)["j"]
        ref = bootstrap_accuracy(a, groups, n_boot=1000, level=level)
        assert (iv.low, iv.high, iv.level) == (ref.low, ref.high, level)


def test_student_t_intervals_use_their_level():
    narrow = summarise("v", seed_correctness([0.5, 0.6, 0.7]), level=0.90)  # mean 0.6, sd 0.1
    half = 2.920 * 0.1 / math.sqrt(3)  # t(0.95, df 2) from a printed table, to 3 decimals: abs 1e-4 below covers them
    assert (narrow.low, narrow.high) == pytest.approx((0.6 - half, 0.6 + half), abs=1e-4) and narrow.level == 0.90
    # the bootstrap over performers of a summary, and both intervals of a comparison
    a, b, groups = _data(1)
    k = np.arange(150)
    seeds_a, seeds_b = np.stack([a, a & (k % 7 != 0), a & (k % 5 != 0)]), np.stack([b, b, b & (k % 3 != 0)])

    def summaries(level: float):
        return [
            summarise(n, c, groups, [0, 1, 2], ids(30, 5), level, n_boot=1000)
            for n, c in (("a", seeds_a), ("b", seeds_b))
        ]

    (wide_a, wide_b), (narrow_a, _) = summaries(0.95), summaries(0.90)
    assert _strictly_inside((narrow_a.sample_low, narrow_a.sample_high), (wide_a.sample_low, wide_a.sample_high))
    wide, narrow = compare(wide_a, wide_b, 0.95, n_boot=1000), compare(wide_a, wide_b, 0.90, n_boot=1000)
    assert _strictly_inside((narrow.seed_low, narrow.seed_high), (wide.seed_low, wide.seed_high))
    assert _strictly_inside((narrow.sample_low, narrow.sample_high), (wide.sample_low, wide.sample_high))
    result = AblationResult(None, {"a": wide_a, "b": wide_b}, {})
    assert result.compare("a", "b", level=0.90).seed_low == compare(wide_a, wide_b, 0.90).seed_low
