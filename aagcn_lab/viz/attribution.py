"""Attention beside attribution: per joint, what a layer's spatial attention weights up and how
much the decision's score depends on each joint's input (numbers from :mod:`aagcn_lab.attribution`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from .skeleton import new_figure

__all__ = ["plot_attention_vs_attribution"]


def plot_attention_vs_attribution(attention: Sequence[float], importance: Sequence[float], joint_names: Sequence[str], *,
                                  title: str = "", top: int = 3) -> Figure:
    """Two bar charts over the joints: spatial attention (``a`` of ``y * (1 + a)``) and the share of
    gradient-x-input importance; each chart's ``top`` joints are drawn dark."""
    rows = {"spatial attention a": np.asarray(attention, float), "share of importance (gradient x input)": np.asarray(importance, float)}
    for name, r in rows.items():
        if r.shape != (len(joint_names),):
            raise ValueError(f"{name}: expected {len(joint_names)} values (one per joint), got shape {r.shape}")
    fig = new_figure((10, 4.6))
    axes = fig.subplots(2, 1, sharex=True)
    for ax, (name, r) in zip(axes, rows.items()):
        best = set(np.argsort(-r, kind="stable")[:top].tolist())
        ax.bar(range(len(r)), r, color=["tab:red" if j in best else "0.7" for j in range(len(r))])
        ax.set_ylabel(name, fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    axes[-1].set_xticks(range(len(joint_names)), joint_names, rotation=70, fontsize=7)
    axes[0].set_title(title or f"attention and attribution per joint (top {top} in red)")
    return fig
