"""Where an AAGCN looks: its spatial, temporal and channel attention (paper Eq. 7-9), per sample.

Every layer ends with three attention steps, each ``y <- y * a + y`` (so ``a = 0`` leaves a
feature unchanged and ``a = 1`` doubles it):

* **spatial** ``a`` ``(V,)``: one weight per joint (which joints matter for this clip);
* **temporal** ``a`` ``(T_l,)``: one weight per time step of that layer;
* **channel** ``a`` ``(C_l,)``: one weight per feature channel.

``model.inspect(x)`` records them for a whole batch; :func:`sample_attention` takes out one sample
and person as numpy arrays, and the plots below draw them.

Time steps versus frames: the temporal convolutions of layers 4 and 7 have stride 2, so deeper
layers see fewer steps (T, T/2, T/4 with the default 10 layers). Step j of a layer with stride s
(relative to the input) is centred on input frame ``j * s``; :func:`steps_to_frames` maps a
layer's attention back onto the input frames so all layers share one time axis.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import plotly.graph_objects as go
from matplotlib.figure import Figure

from ..graph import Layout, get_layout
from .skeleton import draw_skeleton, new_figure, plot_skeleton, rest_pose, to_numpy

__all__ = [
    "SampleAttention",
    "sample_attention",
    "layer_stride",
    "step_frames",
    "steps_to_frames",
    "plot_spatial_attention",
    "plot_temporal_attention",
    "plot_channel_attention",
    "plot_attention_summary",
]


# ------------------------------------------------------------------------------------------------
# Per-sample numpy arrays
# ------------------------------------------------------------------------------------------------


@dataclass
class SampleAttention:
    """The attention maps of one sample and person, layer by layer (``None`` where a layer has none).

    ``spatial[l]`` is ``(V,)``, ``temporal[l]`` ``(T_l,)``, ``channel[l]`` ``(C_l,)``;
    ``num_frames`` is the input length T; ``probs`` the predicted class probabilities.
    """

    sample: int
    person: int
    num_frames: int
    spatial: list[np.ndarray | None]
    temporal: list[np.ndarray | None]
    channel: list[np.ndarray | None]
    probs: np.ndarray | None = None

    @property
    def num_layers(self) -> int:
        """Number of layers L."""
        return len(self.spatial)

    def temporal_on_frames(self, layer: int) -> np.ndarray:
        """A layer's temporal attention on the input frames, ``(T,)`` (NaN if the layer has none)."""
        t = self.temporal[layer]
        return np.full(self.num_frames, np.nan) if t is None else steps_to_frames(t, self.num_frames)

    def spatial_matrix(self) -> np.ndarray:
        """``(L, V)`` spatial attention, one row per layer (NaN rows for layers without it)."""
        v = next((len(s) for s in self.spatial if s is not None), 0)
        return np.stack([np.full(v, np.nan) if s is None else s for s in self.spatial])

    def temporal_matrix(self) -> np.ndarray:
        """``(L, T)`` temporal attention mapped onto the input frames."""
        return np.stack([self.temporal_on_frames(layer) for layer in range(self.num_layers)])


def _layer_part(layer: Any, name: str, sample: int, person: int) -> np.ndarray | None:
    value = getattr(layer, name)
    return None if value is None else to_numpy(value[sample, person])


def sample_attention(
    inspection: Any, sample: int = 0, person: int = 0, num_frames: int | None = None
) -> SampleAttention:
    """Take one sample and person out of ``model.inspect(x)`` as numpy arrays.

    ``num_frames`` (the input length T) defaults to the length of layer 0's temporal attention,
    which sees the input at full rate.
    """
    layers = list(inspection.layers)
    if num_frames is None:
        first = next((lt.temporal for lt in layers if lt.temporal is not None), None)
        if first is None:
            raise ValueError("no layer has temporal attention: pass num_frames=")
        num_frames = int(first.shape[-1])
    probs = getattr(inspection, "probs", None)
    return SampleAttention(
        sample=sample,
        person=person,
        num_frames=num_frames,
        spatial=[_layer_part(lt, "spatial", sample, person) for lt in layers],
        temporal=[_layer_part(lt, "temporal", sample, person) for lt in layers],
        channel=[_layer_part(lt, "channel", sample, person) for lt in layers],
        probs=None if probs is None else to_numpy(probs[sample]),
    )


def _as_attention(att: Any, sample: int = 0, person: int = 0) -> SampleAttention:
    return att if isinstance(att, SampleAttention) else sample_attention(att, sample, person)


# ------------------------------------------------------------------------------------------------
# Layer time steps <-> input frames
# ------------------------------------------------------------------------------------------------


def layer_stride(num_steps: int, num_frames: int) -> int:
    """How many input frames one step of a layer spans: ``round(T / T_l)`` (1, 2, 4 ... )."""
    return max(1, int(round(num_frames / max(num_steps, 1))))


def step_frames(num_steps: int, num_frames: int) -> np.ndarray:
    """The input frame each of a layer's ``num_steps`` time steps is centred on, ``(T_l,)``."""
    return np.minimum(np.arange(num_steps) * layer_stride(num_steps, num_frames), num_frames - 1)


def steps_to_frames(values: Any, num_frames: int) -> np.ndarray:
    """Spread a layer's per-step values ``(T_l,)`` over the input frames ``(T,)``: each frame takes its nearest step."""
    vals = to_numpy(values)
    s = layer_stride(len(vals), num_frames)
    nearest = np.minimum(np.floor(np.arange(num_frames) / s + 0.5).astype(int), len(vals) - 1)
    return vals[nearest]


def _pick_layers(att: SampleAttention, what: str, layers: Sequence[int] | None) -> list[int]:
    maps = getattr(att, what)
    chosen = range(att.num_layers) if layers is None else layers
    out = [layer for layer in chosen if maps[layer] is not None]
    if not out:
        raise ValueError(f"no {what} attention in the chosen layers (is it switched off in the model config?)")
    return out


def _title(kind: str, layer: int | None = None, sample: int | None = None, frame: int | None = None) -> str:
    """``"spatial attention · layer 3 · sample 0 · frame 12"``: the parts that are known."""
    parts = [f"{kind} attention"]
    for name, value in (("layer", layer), ("sample", sample), ("frame", frame)):
        if value is not None:
            parts.append(f"{name} {value}")
    return " · ".join(parts)


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
    title = _title("spatial", layer, sample, frame)
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
    ax.set_title(_title("temporal", sample=a.sample, frame=frame))
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
        ax.set_title(_title("channel", layer, a.sample) + f" ({len(values)} channels)")
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


# ------------------------------------------------------------------------------------------------
# plotly pieces for the explorers (widgets.py)
# ------------------------------------------------------------------------------------------------


def _temporal_traces(a: SampleAttention, layer: int) -> list[go.Scatter]:
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


def _channel_trace(a: SampleAttention, layer: int) -> go.Bar:
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
