"""How the graphs of an AAGCN look, and how far training moved them from the skeleton.

Every AAGCN layer convolves over K = 3 graphs (the subsets ``identity``, ``inward``, ``outward``
of the spatial partition, paper Eq. 1-2). In the TIP variant a layer's graph for subset k is

    G_k = B_k + alpha * C_k(x)          (paper Eq. 5-6)

* ``B_k`` starts as the physical partition ``A_k`` and is learned (one per layer);
* ``C_k(x) = tanh(theta(x)^T phi(x) / (C_e T))`` is computed from each sample (the data-dependent
  graph, one per sample and person);
* ``alpha`` is one learned scalar per layer, initialised to 0: a fresh model ignores ``C_k``.

Reading a heatmap: features are right-multiplied, ``out[w] = sum_v x[v] * G[v, w]``, so the
entry in **row v, column w** is the weight of the message **from source joint v to target joint
w**. The axes are labelled that way in every figure here. A column holds everything joint w
receives; the inward subset's column of a joint has a single 1, at its centre-side neighbour.

Sources: most functions take a *source* of layer graphs, which is one of

* an :class:`~aagcn_lab.model.aagcn.Inspection` (from ``model.inspect(x)``), or its ``.layers``;
* the model itself (its ``backbone.gcn[i].gcn.static_graph()``; no data-dependent graphs then).

The numbers drawn here (``layer_graphs``, ``layer_alphas``, ``data_graphs``, ``graph_drift``)
come from :mod:`aagcn_lab.analysis`.

Static figures use matplotlib; the heatmap functions also take ``backend='plotly'`` for hovering
(joint names and values under the mouse).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from matplotlib.figure import Figure

from ..analysis import (
    data_graphs,
    graph_drift,
    layer_alphas,
    layer_graphs,
    layer_traces,
    physical_graph,
    subset_index,
    to_numpy,
)
from ..graph import SUBSET_NAMES, Layout, get_layout, spatial_partition
from ._common import Panel, heatmaps_plotly, joint_labels, layout_of
from .skeleton import draw_skeleton, new_figure, rest_pose

__all__ = [
    "Panel",
    "plot_heatmaps",
    "plot_partition",
    "plot_learned_graph",
    "plot_data_graph",
    "plot_alpha",
    "plot_graph_drift",
    "plot_graph_on_skeleton",
    "plot_labelled_matrix",
    "plot_graph_change",
]


# ------------------------------------------------------------------------------------------------
# Heatmap grids, in both backends
# ------------------------------------------------------------------------------------------------


def plot_heatmaps(
    panels: Sequence[Panel],
    layout: str | Layout | None = None,
    *,
    ncols: int | None = None,
    backend: str = "matplotlib",
    title: str | None = None,
) -> Figure | go.Figure:
    """Graph matrices side by side, rows = source joint, columns = target joint, joint names on both axes.

    The building block of the other heatmap figures; use it for your own matrices too.
    """
    if backend not in ("matplotlib", "plotly"):
        raise ValueError(f"backend must be 'matplotlib' or 'plotly', got {backend!r}")
    lay = get_layout(layout) if layout is not None else None
    ncols = ncols or len(panels)
    if backend == "plotly":
        return heatmaps_plotly(panels, lay, ncols, title)
    return _heatmaps_mpl(panels, lay, ncols, title)


def _heatmaps_mpl(panels: Sequence[Panel], lay: Layout | None, ncols: int, title: str | None) -> Figure:
    nrows = -(-len(panels) // ncols)
    v = panels[0].matrix.shape[-1]
    names = joint_labels(lay, v)
    cell = 4.6 if v > 12 else 3.2
    fig = new_figure((cell * ncols + 0.6, cell * nrows + 0.5))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    small = 6 if v > 18 else 8
    for ax, panel in zip(axes.flat, panels):
        lo, hi = panel.limits()
        im = ax.imshow(
            panel.matrix, cmap="RdBu_r" if panel.signed else "Blues", vmin=lo, vmax=hi, interpolation="nearest"
        )
        ax.set_xticks(range(v), names, rotation=90, fontsize=small)
        ax.set_yticks(range(v), names, fontsize=small)
        ax.set_xlabel("target joint w (receives)", fontsize=8)
        ax.set_ylabel("source joint v (sends)", fontsize=8)
        ax.set_title(panel.title, fontsize=10)
        fig.colorbar(im, ax=ax, shrink=0.75, pad=0.02)
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title)
    return fig


# ------------------------------------------------------------------------------------------------
# The figures
# ------------------------------------------------------------------------------------------------


def plot_partition(layout: str | Layout, *, backend: str = "matplotlib") -> Figure | go.Figure:
    """The spatial partition ``[I, In, Out]`` of a layout as three heatmaps side by side.

    Read a column to see what a joint receives. In ``In`` the column of joint i has a single 1, in
    the row of its centre-side neighbour: the joint takes its parent's feature. In ``Out`` the
    column of joint j spreads ``1 / #children`` over its children's rows: the joint averages the
    joints one hop further out. The root's column of ``In`` and the leaves' columns of ``Out`` are
    empty. Mind the names: they come from the edge lists (``inward`` holds ``(child, parent)``
    pairs), not from where the features travel -- with right-multiplication ``In`` carries features
    away from the centre.
    """
    lay = get_layout(layout)
    part = spatial_partition(lay)
    what = ("each joint keeps its own feature", "a joint receives from its parent", "a joint averages its children")
    panels = [Panel(part[k], f"{SUBSET_NAMES[k]} (A{k}): {what[k]}", signed=False, vmax=1.0) for k in range(len(part))]
    title = f"spatial partition of {lay.name!r} (each column sums to 1 or 0)"
    return plot_heatmaps(panels, lay, backend=backend, title=title)


def plot_learned_graph(
    source: Any,
    layer: int,
    subset: int | str = "inward",
    *,
    layout: str | Layout | None = None,
    backend: str = "matplotlib",
) -> Figure | go.Figure:
    """The physical graph ``A_k``, the learned graph ``B_k`` of one layer, and their difference ``B_k - A_k``.

    Physical and learned share one colour scale; the difference has its own, so small changes
    stay visible. Off-diagonal entries far from any bone are connections the layer invented.
    """
    k = subset_index(subset)
    lay = layout_of(layout, source)
    physical = physical_graph(lay, source)[k]
    learned = layer_graphs(source)[layer, k]
    top = float(max(np.abs(physical).max(), np.abs(learned).max()))
    name = SUBSET_NAMES[k] if k < len(SUBSET_NAMES) else str(k)
    panels = [
        Panel(physical, f"physical A ({name})", vmax=top),
        Panel(learned, f"learned B, layer {layer}", vmax=top),
        Panel(learned - physical, "difference B − A"),
    ]
    return plot_heatmaps(panels, lay, backend=backend, title=f"layer {layer}, subset {name}: what training changed")


def plot_data_graph(
    inspection: Any,
    layer: int,
    sample: int = 0,
    person: int = 0,
    *,
    layout: str | Layout | None = None,
    effective: bool = False,
    backend: str = "matplotlib",
) -> Figure | go.Figure:
    """The data-dependent graphs ``C_k`` of one sample at a layer, one heatmap per subset.

    ``C_k = tanh(theta^T phi / (C_e T))`` lies in [-1, 1] and changes with every sample. With
    ``effective=True`` the panels show what the layer really used, ``B_k + alpha C_k``.
    """
    traces = layer_traces(inspection)
    if traces is None:
        raise TypeError("pass model.inspect(x) (an Inspection): data-dependent graphs need input data")
    c = data_graphs(traces, layer, sample, person)
    if c is None:
        raise ValueError(f"layer {layer} has no data-dependent graph (graph='fixed' or data_dependent=False)")
    lay = get_layout(layout) if layout is not None else None
    alpha = traces[layer].alpha
    if effective:
        g = to_numpy(traces[layer].graph) + (alpha if alpha is not None else 1.0) * c
        panels = [Panel(g[k], f"B + αC ({SUBSET_NAMES[k]})") for k in range(len(g))]
        what = "effective graph"
    else:
        panels = [Panel(c[k], f"C ({SUBSET_NAMES[k]})", vmax=1.0) for k in range(len(c))]
        what = "data-dependent graph C"
    alpha_txt = f"α = {alpha:.3g}" if alpha is not None else "no α (C added as is)"
    return plot_heatmaps(
        panels, lay, backend=backend, title=f"{what} · layer {layer} · sample {sample} · person {person} ({alpha_txt})"
    )


def plot_alpha(source: Any) -> Figure:
    """``alpha`` per layer as bars: how much each layer mixes in its data-dependent graph (starts at 0)."""
    alphas = layer_alphas(source)
    fig = new_figure((max(4.0, 0.5 * len(alphas) + 1.5), 3.2))
    ax = fig.add_subplot()
    layers = np.arange(len(alphas))
    ok = np.isfinite(alphas)
    ax.bar(layers[ok], alphas[ok], color=np.where(alphas[ok] >= 0, "#1f77b4", "#d62728"))
    for i in layers[~ok]:
        ax.text(i, 0, "n/a", ha="center", va="bottom", fontsize=8, color="0.4")
    ax.axhline(0, color="0.3", lw=0.8)
    ax.set_xticks(layers)
    ax.set_xlabel("layer")
    ax.set_ylabel("α")
    ax.set_title("α per layer: weight of the data-dependent graph C in B + αC")
    ax.grid(axis="y", alpha=0.3)
    return fig


def plot_graph_drift(source: Any, physical: Any = None) -> Figure:
    """:func:`graph_drift` as one line per subset over the layers."""
    drift = graph_drift(source, physical)
    fig = new_figure((max(4.5, 0.5 * len(drift) + 2), 3.4))
    ax = fig.add_subplot()
    layers = np.arange(len(drift))
    for k in range(drift.shape[1]):
        ax.plot(layers, drift[:, k], marker="o", label=SUBSET_NAMES[k] if k < len(SUBSET_NAMES) else f"subset {k}")
    ax.set_xticks(layers)
    ax.set_xlabel("layer")
    ax.set_ylabel("‖B − A‖ / ‖A‖")
    ax.set_ylim(bottom=0)
    ax.set_title("how far each layer's learned graph moved from the skeleton")
    ax.legend(title="subset", fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def plot_graph_on_skeleton(
    graphs: dict[str, Any],
    layout: str | Layout,
    *,
    pose: Any = None,
    threshold: float = 0.05,
    labels: bool = False,
    plane: str = "xy",
    title: str | None = None,
) -> Figure:
    """Several ``(V, V)`` graphs drawn as edges on the same pose, one panel each (e.g. physical vs learned).

    ``pose`` is any keypoint array (its first frame is used); by default the layout's
    :func:`~aagcn_lab.viz.skeleton.rest_pose`. Bones are solid, invented edges dashed orange.
    """
    lay = get_layout(layout)
    pose = rest_pose(lay) if pose is None else pose
    fig = new_figure((4.2 * len(graphs), 5.6))
    axes = fig.subplots(1, len(graphs), squeeze=False)[0]
    for ax, (name, g) in zip(axes, graphs.items()):
        draw_skeleton(pose, lay, plane=plane, adjacency=g, threshold=threshold, labels=labels, title=name, ax=ax)
    if title:
        fig.suptitle(title)
    return fig


def plot_labelled_matrix(matrix: Any, row_names: Sequence[str], col_names: Sequence[str] | None = None, *, title: str = "",
                         signed: bool = True, xlabel: str = "", ylabel: str = "") -> Figure:
    """One heat map with a name on every row and column (e.g. actions x joints, or classes x classes)."""
    m = to_numpy(matrix)
    col_names = row_names if col_names is None else col_names
    fig = new_figure((max(6.0, 0.28 * m.shape[1] + 3), max(4.0, 0.28 * m.shape[0] + 1.5)))
    ax = fig.subplots()
    lim = float(np.abs(m).max()) or 1.0
    im = ax.imshow(m, cmap="RdBu_r" if signed else "Blues", vmin=-lim if signed else 0, vmax=lim, interpolation="nearest", aspect="auto")
    ax.set_xticks(range(m.shape[1]), list(col_names), rotation=90, fontsize=7)
    ax.set_yticks(range(m.shape[0]), list(row_names), fontsize=7)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    fig.colorbar(im, ax=ax, shrink=0.8, pad=0.02)
    return fig


def plot_graph_change(changes: Sequence[Any]) -> Figure:
    """Per layer and subset, how far the learned graph moved: weight decay alone versus the gradients
    (``changes``: :class:`~aagcn_lab.analysis.GraphChange` per layer, as :func:`~aagcn_lab.analysis.graph_changes` gives)."""
    rel = [c.relative() for c in changes]
    fig = new_figure((8.5, 3.2))
    ax = fig.subplots()
    x = np.arange(len(rel))
    k = len(rel[0]["decay"])
    width = 0.8 / (2 * k)
    for s in range(k):
        name = SUBSET_NAMES[s] if s < len(SUBSET_NAMES) else str(s)
        ax.bar(x + (2 * s) * width - 0.4, [r["decay"][s] for r in rel], width, color="0.7", label="weight decay" if s == 0 else None)
        ax.bar(x + (2 * s + 1) * width - 0.4, [r["gradient"][s] for r in rel], width, color=f"C{s}", label=f"gradients ({name})")
    ax.set(xticks=x, xlabel="layer (0-based)", ylabel="||part|| / ||A_k||", title="what moved each learned graph B_k: weight decay or gradients")
    fig.legend(loc="outside right center", fontsize=7, frameon=False)  # beside the axes: inside it hid the last layers' bars
    return fig
