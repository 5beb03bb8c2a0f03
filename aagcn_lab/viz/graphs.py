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

Static figures use matplotlib; the heatmap functions also take ``backend='plotly'`` for hovering
(joint names and values under the mouse).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import plotly.graph_objects as go
from matplotlib.figure import Figure
from plotly.subplots import make_subplots

from ..graph import SUBSET_NAMES, Layout, get_layout, spatial_partition
from .skeleton import draw_skeleton, new_figure, rest_pose, to_numpy

__all__ = [
    "Panel",
    "layer_graphs",
    "layer_alphas",
    "data_graphs",
    "graph_drift",
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
# Getting the numbers out of a model or an inspection
# ------------------------------------------------------------------------------------------------


def _traces(source: Any) -> list | None:
    """The list of LayerTrace of an Inspection or a list of traces, or None for a model."""
    if hasattr(source, "layers"):
        return list(source.layers)
    if isinstance(source, Sequence) and all(hasattr(t, "graph") for t in source):
        return list(source)
    return None


def _units(model: Any) -> list:
    """The ``unit_aagcn`` modules of a model, layer by layer."""
    try:
        return [block.gcn for block in model.backbone.gcn]
    except AttributeError:
        raise TypeError(
            f"expected an AAGCN model, an Inspection or a list of LayerTrace, got {type(model).__name__}"
        ) from None


def layer_graphs(source: Any) -> np.ndarray:
    """The learned, sample-independent graph of every layer, ``(L, K, V, V)`` (``B_k`` in the TIP variant)."""
    traces = _traces(source)
    if traces is not None:
        return np.stack([to_numpy(t.graph) for t in traces])
    return np.stack([to_numpy(unit.static_graph()) for unit in _units(source)])


def layer_alphas(source: Any) -> np.ndarray:
    """``alpha`` of every layer, ``(L,)``; NaN for a layer without a data-dependent graph."""
    traces = _traces(source)
    if traces is not None:
        values = [t.alpha for t in traces]
    else:
        values = [float(unit.alpha.detach()) if hasattr(unit, "alpha") else None for unit in _units(source)]
    return np.array([np.nan if a is None else a for a in values], dtype=float)


def data_graphs(inspection: Any, layer: int, sample: int = 0, person: int = 0) -> np.ndarray | None:
    """The data-dependent graphs ``C_k`` of one sample and person at a layer, ``(K, V, V)``, or None."""
    traces = _traces(inspection)
    if traces is None:
        raise TypeError("data-dependent graphs come from model.inspect(x): pass the Inspection, not the model")
    dg = traces[layer].data_graph
    return None if dg is None else to_numpy(dg[sample, person])


def _physical(physical: Any, source: Any = None) -> np.ndarray:
    """The ``(K, V, V)`` physical partition from an array, a layout, or the model's own layout."""
    if physical is None:
        layout = getattr(source, "layout", None)
        if layout is None:
            raise ValueError(
                "which skeleton? pass physical= (a layout name such as 'nturgb+d', a Layout, or the (K, V, V) "
                "partition); only a model knows its own layout"
            )
        return spatial_partition(layout)
    if isinstance(physical, (str, Layout, dict)):
        return spatial_partition(get_layout(physical))
    return to_numpy(physical)


def _layout_of(layout: Any, source: Any = None) -> Layout | None:
    if layout is not None:
        return get_layout(layout)
    lay = getattr(source, "layout", None)
    return get_layout(lay) if lay is not None else None


def _subset_index(subset: int | str) -> int:
    if isinstance(subset, str):
        try:
            return SUBSET_NAMES.index(subset.lower())
        except ValueError:
            raise ValueError(f"subset must be one of {SUBSET_NAMES} or 0..2, got {subset!r}") from None
    return int(subset)


def graph_drift(source: Any, physical: Any = None) -> np.ndarray:
    """How far each layer's learned graph moved from the skeleton: ``||B_k - A_k||_F / ||A_k||_F``, ``(L, K)``.

    0 means untouched (every fresh model); 0.5 means the changes are half as large as the
    skeleton graph itself. ``physical`` is the ``(K, V, V)`` partition or a layout name; a model
    supplies its own. The data-dependent part ``alpha C_k`` is not included (it changes with
    every sample): this measures what the layer learned once and for all.
    """
    learned = layer_graphs(source)
    phys = _physical(physical, source)
    if phys.shape != learned.shape[1:]:
        raise ValueError(f"physical graph {phys.shape} does not match the layers' graphs {learned.shape[1:]}")
    norm = np.linalg.norm(phys, axis=(-2, -1))  # (K,)
    diff = np.linalg.norm(learned - phys[None], axis=(-2, -1))  # (L, K)
    return np.divide(diff, norm, out=np.full_like(diff, np.nan), where=norm > 0)


# ------------------------------------------------------------------------------------------------
# Heatmap grids, in both backends
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
        m = float(np.nanmax(np.abs(self.matrix))) if self.matrix.size else 1.0
        top = self.vmax if self.vmax is not None else (m if m > 0 else 1.0)
        return (-top, top) if self.signed else (0.0, top)


def _names(layout: Layout | None, v: int) -> list[str]:
    return list(layout.joint_names) if layout is not None else [str(i) for i in range(v)]


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
        return _heatmaps_plotly(panels, lay, ncols, title)
    return _heatmaps_mpl(panels, lay, ncols, title)


def _heatmaps_mpl(panels: Sequence[Panel], lay: Layout | None, ncols: int, title: str | None) -> Figure:
    nrows = -(-len(panels) // ncols)
    v = panels[0].matrix.shape[-1]
    names = _names(lay, v)
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


def _heatmaps_plotly(panels: Sequence[Panel], lay: Layout | None, ncols: int, title: str | None) -> go.Figure:
    nrows = -(-len(panels) // ncols)
    v = panels[0].matrix.shape[-1]
    names = _names(lay, v)
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
    k = _subset_index(subset)
    lay = _layout_of(layout, source)
    physical = _physical(lay, source)[k]
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
    traces = _traces(inspection)
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
    (``changes``: :class:`~aagcn_lab.analysis.GraphChange` per layer, as ``lab.graph_changes`` gives)."""
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
    ax.legend(fontsize=7, ncol=2)
    return fig
