"""Pieces the figure modules and the explorers (:mod:`.widgets`) share: present-joint masks and axis
ranges, heatmap panels and their plotly grid, attention titles and traces, layout lookup.

Internal to :mod:`aagcn_lab.viz` (no stable API outside it), but named for what they are so that
the modules import them openly instead of reaching for each other's private names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..analysis import SampleAttention
from ..graph import Layout, get_layout

__all__ = [
    "present_joints",
    "axis_ranges",
    "layout_of",
    "joint_labels",
    "Panel",
    "heatmaps_plotly",
    "attention_title",
    "temporal_traces",
    "channel_trace",
]


# ------------------------------------------------------------------------------------------------
# Keypoints and layouts
# ------------------------------------------------------------------------------------------------


def present_joints(kp: np.ndarray, with_score: bool) -> np.ndarray:
    """``(M, T, V)`` mask of joints that are really there (not zero padding)."""
    coords = kp[..., :2] if with_score else kp
    return np.any(coords != 0, axis=-1) & np.all(np.isfinite(coords), axis=-1)


def axis_ranges(kp: np.ndarray, axes: Sequence[int], with_score: bool, pad: float = 0.08) -> list[list[float]] | None:
    """Axis ranges that hold every present joint of the sequence, with a margin, on equal scales."""
    present = present_joints(kp, with_score)
    if not present.any():
        return None
    pts = kp[present][:, list(axes)]
    lo, hi = pts.min(0), pts.max(0)
    half = max(float((hi - lo).max()) / 2, 1e-6) * (1 + pad)
    mid = (hi + lo) / 2
    return [[float(c - half), float(c + half)] for c in mid]


def layout_of(layout: Any, source: Any = None) -> Layout | None:
    """``layout`` as a :class:`~aagcn_lab.graph.Layout`, else the layout of ``source`` (a model), else None."""
    if layout is not None:
        return get_layout(layout)
    lay = getattr(source, "layout", None)
    return get_layout(lay) if lay is not None else None


def joint_labels(layout: Layout | None, v: int) -> list[str]:
    """The joint names of ``layout``, or ``'0' .. 'V-1'`` without one."""
    return list(layout.joint_names) if layout is not None else [str(i) for i in range(v)]


# ------------------------------------------------------------------------------------------------
# Heatmap panels
# ------------------------------------------------------------------------------------------------


@dataclass
class Panel:
    """One heatmap: a ``(V, V)`` matrix, a title, and its colour range.

    ``signed`` panels use a diverging map centred on 0 (blue negative, red positive); others a
    sequential map from 0. ``vmax`` shares a scale between panels (e.g. physical vs learned).
    """

    matrix: np.ndarray
    title: str
    signed: bool = True
    vmax: float | None = None

    def limits(self) -> tuple[float, float]:
        """The colour range ``(low, high)``: symmetric around 0 for signed panels, from 0 otherwise."""
        m = float(np.nanmax(np.abs(self.matrix))) if self.matrix.size else 1.0
        top = self.vmax if self.vmax is not None else (m if m > 0 else 1.0)
        return (-top, top) if self.signed else (0.0, top)


def heatmaps_plotly(panels: Sequence[Panel], lay: Layout | None, ncols: int, title: str | None) -> go.Figure:
    """Panels as a plotly grid (``ncols`` wide), joint names on both axes, source -> target on hover."""
    nrows = -(-len(panels) // ncols)
    v = panels[0].matrix.shape[-1]
    names = joint_labels(lay, v)
    fig = make_subplots(
        rows=nrows, cols=ncols, subplot_titles=[p.title for p in panels], horizontal_spacing=0.14, vertical_spacing=0.16
    )
    for i, panel in enumerate(panels):
        row, col = i // ncols + 1, i % ncols + 1
        lo, hi = panel.limits()
        xaxis = fig.get_subplot(row, col).xaxis
        yaxis = fig.get_subplot(row, col).yaxis
        fig.add_trace(
            go.Heatmap(
                z=panel.matrix,
                x=names,
                y=names,
                zmin=lo,
                zmax=hi,
                colorscale="RdBu_r" if panel.signed else "Blues",
                colorbar=dict(
                    x=xaxis.domain[1] + 0.01,
                    y=(yaxis.domain[0] + yaxis.domain[1]) / 2,
                    len=yaxis.domain[1] - yaxis.domain[0],
                    thickness=10,
                ),
                hovertemplate="source %{y} → target %{x}<br>weight %{z:.3f}<extra></extra>",
                name=panel.title,
            ),
            row=row,
            col=col,
        )
        fig.update_yaxes(autorange="reversed", title_text="source joint", tickfont=dict(size=8), row=row, col=col)
        fig.update_xaxes(title_text="target joint", tickfont=dict(size=8), tickangle=-90, row=row, col=col)
    fig.update_layout(
        width=max(430 * ncols, 500),
        height=430 * nrows + 60,
        margin=dict(l=60, r=40, t=70, b=60),
        template="plotly_white",
    )
    if title:
        fig.update_layout(title=dict(text=title))
    return fig


# ------------------------------------------------------------------------------------------------
# Attention
# ------------------------------------------------------------------------------------------------


def attention_title(kind: str, layer: int | None = None, sample: int | None = None, frame: int | None = None) -> str:
    """``"spatial attention · layer 3 · sample 0 · frame 12"``: the parts that are known."""
    parts = [f"{kind} attention"]
    for name, value in (("layer", layer), ("sample", sample), ("frame", frame)):
        if value is not None:
            parts.append(f"{name} {value}")
    return " · ".join(parts)


def temporal_traces(a: SampleAttention, layer: int) -> list[go.Scatter]:
    """The chosen layer's temporal attention over the input frames, with every other layer faint behind it."""
    frames = np.arange(a.num_frames)
    traces = []
    for other in range(a.num_layers):
        if a.temporal[other] is None or other == layer:
            continue
        traces.append(
            go.Scatter(
                x=frames, y=a.temporal_on_frames(other), mode="lines", line=dict(color="rgba(150,150,150,0.35)", width=1, shape="hvh"),
                name=f"layer {other}", hoverinfo="skip", showlegend=False,
            )
        )  # fmt: skip
    if a.temporal[layer] is not None:
        traces.append(
            go.Scatter(
                x=frames, y=a.temporal_on_frames(layer), mode="lines", line=dict(color="#d62728", width=2.5, shape="hvh"),
                name=f"layer {layer}", hovertemplate="frame %{x}: %{y:.3f}<extra>layer " + str(layer) + "</extra>",
                showlegend=False,
            )
        )  # fmt: skip
    return traces


def channel_trace(a: SampleAttention, layer: int) -> go.Bar:
    """The chosen layer's channel attention as sorted bars (hover shows the channel index)."""
    values = a.channel[layer]
    if values is None:
        return go.Bar(x=[], y=[], name="channel", showlegend=False)
    order = np.argsort(values)[::-1]
    return go.Bar(
        x=np.arange(len(values)),
        y=values[order],
        customdata=order,
        marker_color="#4c72b0",
        hovertemplate="channel %{customdata}: %{y:.3f}<extra></extra>",
        name="channel",
        showlegend=False,
    )
