"""Where an AAGCN looks: its spatial, temporal and channel attention (paper Eq. 7-9), per sample.

Every layer ends with three attention steps, each ``y <- y * a + y`` (so ``a = 0`` leaves a
feature unchanged and ``a = 1`` doubles it):

* **spatial** ``a`` ``(V,)``: one weight per joint (which joints matter for this clip);
* **temporal** ``a`` ``(T_l,)``: one weight per time step of that layer;
* **channel** ``a`` ``(C_l,)``: one weight per feature channel.

``model.inspect(x)`` records them for a whole batch; :func:`aagcn_lab.analysis.sample_attention`
takes out one sample and person as numpy arrays, and the plots below draw them (they also take
the Inspection itself, with ``sample`` and ``person``).

Time steps versus frames: the temporal convolutions of layers 4 and 7 have stride 2, so deeper
layers see fewer steps (T, T/2, T/4 with the default 10 layers). Step j of a layer with stride s
(relative to the input) is centred on input frame ``j * s``; :func:`aagcn_lab.analysis.steps_to_frames`
maps a layer's attention back onto the input frames so all layers share one time axis.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from matplotlib.figure import Figure

from ..analysis import SampleAttention, sample_attention
from ..graph import Layout, get_layout
from ._common import attention_title
from .skeleton import draw_skeleton, new_figure, plot_skeleton, rest_pose

__all__ = [
    "plot_spatial_attention",
    "plot_temporal_attention",
    "plot_channel_attention",
    "plot_attention_summary",
]


def _as_attention(att: Any, sample: int = 0, person: int = 0) -> SampleAttention:
    return att if isinstance(att, SampleAttention) else sample_attention(att, sample, person)


def _pick_layers(att: SampleAttention, what: str, layers: Sequence[int] | None) -> list[int]:
    maps = getattr(att, what)
    chosen = range(att.num_layers) if layers is None else layers
    out = [layer for layer in chosen if maps[layer] is not None]
    if not out:
        raise ValueError(f"no {what} attention in the chosen layers (is it switched off in the model config?)")
    return out


# ------------------------------------------------------------------------------------------------
# Figures
# ------------------------------------------------------------------------------------------------


def plot_spatial_attention(
    keypoints: Any,
    layout: str | Layout,
    spatial: Any,
    frame: int = 0,
    *,
    layer: int | None = None,
    sample: int | None = None,
    plane: str = "xy",
    with_score: bool = False,
    y_down: bool = False,
    labels: bool = False,
    vmin: float | None = None,
    vmax: float | None = None,
    backend: str = "matplotlib",
) -> Figure | go.Figure:
    """Spatial attention ``(V,)`` or ``(M, V)`` drawn on the skeleton: joint colour and size grow with the weight.

    ``keypoints`` is the sample ``(M, T, V, C)`` (or any pose; ``None`` uses the layout's rest
    pose). The colour range is the data's own unless ``vmin``/``vmax`` are given (pass 0 and 1 to
    compare layers on one scale). The title names layer, sample and frame when given.
    """
    lay = get_layout(layout)
    if keypoints is None:
        keypoints, frame, plane, with_score = rest_pose(lay), 0, "xy", False
    title = attention_title("spatial", layer, sample, frame)
    common = dict(
        plane=plane,
        with_score=with_score,
        joint_values=spatial,
        value_label="spatial attention",
        vmin=vmin,
        vmax=vmax,
        size_by_value=True,
        labels=labels,
        y_down=y_down,
        title=title,
    )
    if backend == "plotly":
        return plot_skeleton(keypoints, lay, frame, **common)
    if backend != "matplotlib":
        raise ValueError(f"backend must be 'matplotlib' or 'plotly', got {backend!r}")
    return draw_skeleton(keypoints, lay, frame, **common)


def plot_temporal_attention(
    att: Any,
    *,
    layers: Sequence[int] | None = None,
    kind: str = "lines",
    frame: int | None = None,
    sample: int = 0,
    person: int = 0,
) -> Figure:
    """Temporal attention of each layer along the input frames, as lines or as a layers × frames heatmap.

    ``att`` is a :class:`SampleAttention` (or an Inspection, with ``sample``/``person``). Deeper
    layers have fewer time steps; each is drawn over the input frames it covers (a staircase).
    ``frame`` marks one frame with a vertical line.
    """
    a = _as_attention(att, sample, person)
    chosen = _pick_layers(a, "temporal", layers)
    frames = np.arange(a.num_frames)
    if kind == "heatmap":
        fig = new_figure((8, 0.3 * len(chosen) + 1.6))
        ax = fig.add_subplot()
        mat = np.stack([a.temporal_on_frames(layer) for layer in chosen])
        im = ax.imshow(
            mat,
            aspect="auto",
            cmap="magma",
            interpolation="nearest",
            extent=(-0.5, a.num_frames - 0.5, len(chosen) - 0.5, -0.5),
        )
        ax.set_yticks(range(len(chosen)), [f"layer {layer}" for layer in chosen], fontsize=8)
        fig.colorbar(im, ax=ax, label="temporal attention", pad=0.01)
    elif kind == "lines":
        fig = new_figure((8, 3.4))
        ax = fig.add_subplot()
        colors = _layer_colors(a.num_layers)
        for layer in chosen:
            ax.step(
                frames, a.temporal_on_frames(layer), where="mid", color=colors[layer], lw=1.4, label=f"layer {layer}"
            )
        ax.set_ylabel("temporal attention")
        ax.legend(
            fontsize=7, ncols=2 if len(chosen) > 5 else 1, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False
        )
        ax.grid(alpha=0.3)
    else:
        raise ValueError(f"kind must be 'lines' or 'heatmap', got {kind!r}")
    if frame is not None:
        ax.axvline(frame, color="tab:cyan" if kind == "heatmap" else "0.2", ls="--", lw=1)
    ax.set_xlabel("input frame")
    ax.set_xlim(-0.5, a.num_frames - 0.5)
    ax.set_title(attention_title("temporal", sample=a.sample, frame=frame))
    return fig


def _layer_colors(num_layers: int) -> list[tuple[float, ...]]:
    from matplotlib import colormaps

    cmap = colormaps["viridis"]
    return [cmap(i / max(num_layers - 1, 1) * 0.9) for i in range(num_layers)]


def plot_channel_attention(
    att: Any,
    layer: int | None = None,
    *,
    sort: bool = True,
    sample: int = 0,
    person: int = 0,
) -> Figure:
    """Channel attention: one layer's channels as bars (sorted, strongest first), or all layers as box plots.

    A flat profile means the layer treats all features alike for this sample; a few tall bars
    mean it amplifies a handful of features.
    """
    a = _as_attention(att, sample, person)
    if layer is None:
        chosen = _pick_layers(a, "channel", None)
        fig = new_figure((max(5.0, 0.55 * len(chosen) + 1.5), 3.4))
        ax = fig.add_subplot()
        ax.boxplot(
            [a.channel[layer] for layer in chosen],
            positions=chosen,
            widths=0.6,
            showfliers=True,
            flierprops=dict(markersize=2),
        )
        ax.set_xlabel("layer")
        ax.set_ylabel("channel attention")
        ax.set_title(f"channel attention per layer · sample {a.sample} (spread over the C_l channels)")
    else:
        values = a.channel[layer]
        if values is None:
            raise ValueError(f"layer {layer} has no channel attention")
        order = np.argsort(values)[::-1] if sort else np.arange(len(values))
        fig = new_figure((8, 3.2))
        ax = fig.add_subplot()
        ax.bar(np.arange(len(values)), values[order], width=0.85, color="#4c72b0")
        if len(values) <= 32:
            ax.set_xticks(np.arange(len(values)), [str(c) for c in order], fontsize=7, rotation=90)
        ax.set_xlabel("channel (sorted by weight)" if sort else "channel")
        ax.set_ylabel("channel attention")
        ax.set_xlim(-0.7, len(values) - 0.3)
        ax.set_title(attention_title("channel", layer, a.sample) + f" ({len(values)} channels)")
    ax.grid(axis="y", alpha=0.3)
    return fig


def plot_attention_summary(
    att: Any,
    layout: str | Layout,
    *,
    keypoints: Any = None,
    frame: int = 0,
    plane: str = "xy",
    with_score: bool = False,
    y_down: bool = False,
    class_names: Sequence[str] | None = None,
    sample: int = 0,
    person: int = 0,
    true_label: int | None = None,
) -> Figure:
    """One sample across all layers on one page: layers × joints, the skeleton, layers × frames, channels.

    The title names the prediction, and the true class when ``true_label`` is given.

    * top left: spatial attention, one row per layer, one column per joint;
    * top right: the spatial attention averaged over layers, on the skeleton at ``frame`` (or the
      rest pose without ``keypoints``);
    * bottom left: temporal attention, one row per layer, over the input frames;
    * bottom right: the spread of channel attention per layer.
    """
    a = _as_attention(att, sample, person)
    lay = get_layout(layout)
    fig = new_figure((15, 9.5))
    grid = fig.add_gridspec(2, 2, width_ratios=(2.3, 1), height_ratios=(1.2, 1))
    layer_labels = [f"layer {i}" for i in range(a.num_layers)]

    ax = fig.add_subplot(grid[0, 0])
    spatial = a.spatial_matrix()
    im = ax.imshow(spatial, aspect="auto", cmap="viridis", interpolation="nearest")
    ax.set_xticks(range(lay.num_joints), lay.joint_names, rotation=90, fontsize=7)
    ax.set_yticks(range(a.num_layers), layer_labels, fontsize=8)
    ax.set_title("spatial attention (layers × joints)")
    fig.colorbar(im, ax=ax, pad=0.01)

    ax = fig.add_subplot(grid[0, 1])
    mean_spatial = np.nanmean(spatial, axis=0)
    if keypoints is None:
        draw_skeleton(
            rest_pose(lay),
            lay,
            joint_values=mean_spatial,
            value_label="mean over layers",
            size_by_value=True,
            ax=ax,
            title="mean spatial attention",
        )
    else:
        draw_skeleton(
            keypoints,
            lay,
            frame,
            plane=plane,
            with_score=with_score,
            y_down=y_down,
            joint_values=mean_spatial,
            value_label="mean over layers",
            size_by_value=True,
            ax=ax,
            title=f"mean spatial attention · frame {frame}",
        )

    ax = fig.add_subplot(grid[1, 0])
    im = ax.imshow(a.temporal_matrix(), aspect="auto", cmap="magma", interpolation="nearest")
    ax.set_yticks(range(a.num_layers), layer_labels, fontsize=8)
    ax.set_xlabel("input frame")
    ax.set_title("temporal attention (layers × frames; deeper layers have coarser steps)")
    fig.colorbar(im, ax=ax, pad=0.01)

    ax = fig.add_subplot(grid[1, 1])
    chosen = [layer for layer in range(a.num_layers) if a.channel[layer] is not None]
    if chosen:
        ax.boxplot([a.channel[layer] for layer in chosen], positions=chosen, widths=0.6, flierprops=dict(markersize=2))
    ax.set_xlabel("layer")
    ax.set_title("channel attention per layer")
    ax.grid(axis="y", alpha=0.3)

    title = f"attention of sample {a.sample}, person {a.person}"
    if a.probs is not None:
        top = int(np.argmax(a.probs))
        name = class_names[top] if class_names is not None else f"class {top}"
        title += f" · predicted: {name} ({a.probs[top]:.0%})"
    if true_label is not None:
        title += f" · true: {class_names[true_label] if class_names is not None else f'class {true_label}'}"
    fig.suptitle(title)
    return fig
