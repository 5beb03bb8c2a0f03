"""Attention beside attribution: per joint, what a layer's spatial attention weights up and how
much the decision's score depends on each joint's input (numbers from :mod:`aagcn_lab.attribution`),
or several attribution measures beside each other."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from .skeleton import new_figure

__all__ = ["plot_attention_vs_attribution"]


def plot_attention_vs_attribution(attention: Sequence[float] | None, importance: Sequence[float] | Mapping[str, Sequence[float]],
                                  joint_names: Sequence[str], *, title: str = "", top: int = 3,
                                  measure: str = "gradient x input") -> Figure:
    """Bar charts over the joints, one row each: spatial attention (``a`` of ``y * (1 + a)``; ``None``:
    no such row), then the share of importance of ``measure``, or of every measure of a mapping
    ``{measure: shares}``; each row's ``top`` joints are drawn dark."""
    rows = {} if attention is None else {"spatial attention a": attention}
    measures = importance if isinstance(importance, Mapping) else {measure: importance}
    rows.update({f"share of importance\n({name})": shares for name, shares in measures.items()})
    rows = {name: np.asarray(r, float) for name, r in rows.items()}
    for name, r in rows.items():
        if r.shape != (len(joint_names),):
            raise ValueError(f"{' '.join(name.split())}: expected {len(joint_names)} values (one per joint), got shape {r.shape}")
    fig = new_figure((10, 2.3 * len(rows)))
    axes = np.atleast_1d(fig.subplots(len(rows), 1, sharex=True))
    for ax, (name, r) in zip(axes, rows.items()):
        best = set(np.argsort(-r, kind="stable")[:top].tolist())
        ax.bar(range(len(r)), r, color=["tab:red" if j in best else "0.7" for j in range(len(r))])
        ax.set_ylabel(name, fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    axes[-1].set_xticks(range(len(joint_names)), joint_names, rotation=70, fontsize=7)
    axes[0].set_title(title or f"{'attention and ' if attention is not None else ''}attribution per joint (top {top} in red)")
    return fig
