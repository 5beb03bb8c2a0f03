"""The ablation study's figure: every seed as a dot, the mean with its interval over seeds, and the
interval over test performers beside it (numbers from :mod:`aagcn_lab.ablation`)."""

from __future__ import annotations

import math
from typing import Any

from matplotlib.figure import Figure

from .skeleton import new_figure

__all__ = ["plot_ablation"]


def plot_ablation(result: Any, *, reference: str | None = "full", title: str = "") -> Figure:
    """One row per variant of an :class:`~aagcn_lab.ablation.AblationResult`: seeds (grey dots), the
    mean (black) with its Student-t interval over seeds (black bar) and the bootstrap interval over
    test performers (thin blue bar); a dashed line at ``reference``'s mean. Published numbers of
    other data (NTU) belong in a table beside it, not on this axis."""
    summaries = list(result.variants.values())[::-1]
    if not summaries:
        raise ValueError("the ablation result has no variants to plot")
    fig = new_figure((8, 0.42 * len(summaries) + 1.4))
    ax = fig.subplots()
    for i, s in enumerate(summaries):
        ax.plot([100 * t for t in s.top1], [i + 0.12] * len(s.top1), "o", color="0.6", ms=4, label="seeds" if i == 0 else None)
        if not math.isnan(s.sample_low):
            ax.plot([100 * s.sample_low, 100 * s.sample_high], [i - 0.15] * 2, color="tab:blue", lw=1.5,
                    label="over test performers" if i == 0 else None)  # fmt: skip
        err = None if math.isnan(s.low) else [[100 * (s.mean - s.low)], [100 * (s.high - s.mean)]]
        ax.errorbar(100 * s.mean, i, xerr=err, fmt="s", color="black", capsize=3, label="mean, interval over seeds" if i == 0 else None)
    if reference in result.variants:
        ax.axvline(100 * result.variants[reference].mean, color="black", ls="--", lw=0.8, alpha=0.6)
    ax.set_yticks(range(len(summaries)), [s.name for s in summaries], fontsize=8)
    level = summaries[0].level
    ax.set(xlabel=f"test top-1 (%), {level:.0%} intervals", title=title or f"ablations: {len(summaries[0].top1)} seed(s) per variant")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    return fig
