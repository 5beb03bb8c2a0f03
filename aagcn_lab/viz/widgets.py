"""Interactive explorers for notebooks: move a selector, the figure redraws.

* :func:`graph_explorer` -- layer × subset (× sample): the physical, learned and data-dependent
  graphs as heatmaps or as edges on the skeleton;
* :func:`attention_explorer` -- stream × sample × layer × frame: spatial attention on the
  skeleton, the temporal attention curve and the channel attention bars;
* :func:`skeleton_player` -- stream × sample × frame, with a play button.

Each returns an :class:`Explorer`. Put it last in a cell to show it; from Python,
``explorer.update(layer=3, frame=12)`` moves the selectors and redraws, and
``explorer.figure`` is the figure on screen (a plotly ``go.Figure``). The figures are plain
``go.Figure`` objects shown in an ``ipywidgets.Output``, not ``go.FigureWidget`` (which needs
anywidget and stores about 5 MB of JavaScript in every executed notebook).

ipywidgets is imported only when an explorer is built, so the package imports without it
(``pip install aagcn-lab[notebooks]`` brings it). Executed headless (papermill, nbclient) an
explorer draws its first figure and does nothing more; in JupyterLab it reacts to the selectors
through the running kernel.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from ..analysis import (
    SampleAttention,
    eval_mode,
    layer_alphas,
    layer_graphs,
    physical_graph,
    sample_attention,
    subset_index,
    to_numpy,
)
from ..graph import SUBSET_NAMES, Layout, get_layout
from ._common import Panel, attention_title, axis_ranges, channel_trace, heatmaps_plotly, layout_of, temporal_traces
from .skeleton import as_keypoints, guess_plane, plot_skeleton, plot_skeleton_3d, rest_pose, skeleton_traces

__all__ = ["Explorer", "graph_explorer", "attention_explorer", "skeleton_player"]


class Explorer:
    """Selectors (ipywidgets) plus a figure that is redrawn whenever a selector changes.

    * ``widget`` -- the ipywidgets box with the selectors and the figure (shown when the explorer
      is the value of a notebook cell);
    * ``figure`` -- the figure currently drawn;
    * ``values`` -- the current selector values, by name;
    * ``update(**values)`` -- set selectors from Python and redraw once; returns the new figure.

    ``draw(**values)`` must return a figure; ``extra`` widgets (a play button, say) are shown
    before the selectors but do not take part in drawing.
    """

    def __init__(self, controls: Mapping[str, Any], draw: Callable[..., Any], extra: Sequence[Any] = ()) -> None:
        import ipywidgets as widgets

        self.controls = dict(controls)
        self._draw = draw
        self._muted = False
        self.figure: Any = None
        self.output = widgets.Output()
        bar = widgets.HBox(list(extra) + list(self.controls.values()), layout=widgets.Layout(flex_flow="row wrap"))
        self.widget = widgets.VBox([bar, self.output])
        for control in self.controls.values():
            control.observe(self._on_change, names="value")
        self.redraw()

    @property
    def values(self) -> dict[str, Any]:
        """The selectors' current values."""
        return {name: control.value for name, control in self.controls.items()}

    def update(self, **values: Any) -> Any:
        """Move selectors (``explorer.update(layer=2, frame=10)``) and redraw once; returns the figure."""
        unknown = sorted(set(values) - set(self.controls))
        if unknown:
            raise KeyError(f"no selector named {', '.join(unknown)}; selectors: {', '.join(self.controls)}")
        from traitlets import TraitError

        self._muted = True  # one redraw for all the changes, not one per selector
        try:
            for name, value in values.items():
                control = self.controls[name]
                try:
                    control.value = value
                except TraitError:
                    if not hasattr(control, "label"):
                        raise
                    control.label = value  # a dropdown also takes the label it shows ('outward')
        finally:
            self._muted = False
        return self.redraw()

    def redraw(self) -> Any:
        """Draw the figure for the current values and show it in the output area."""
        self.figure = self._draw(**self.values)
        _show_in(self.output, self.figure)
        return self.figure

    def _on_change(self, _change: Any) -> None:
        if not self._muted:
            self.redraw()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)


def _show_in(output: Any, figure: Any) -> None:
    """Replace what ``output`` shows by ``figure`` (only inside an IPython kernel)."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # plain Python: nothing to show the figure in
        return
    if get_ipython() is None:
        return
    with output:
        output.clear_output(wait=True)
        display(figure)


def _eval_inspect(model: Any, x: Any) -> Any:
    """``model.inspect(x)`` in eval mode (batch statistics of one sample would mislead, and train
    mode would also change BN's running statistics), restoring the model's mode afterwards."""
    if not isinstance(x, torch.Tensor):
        x = torch.as_tensor(np.asarray(x), dtype=torch.float32)
    with eval_mode(model):
        return model.inspect(x)


def _slider(description: str, maximum: int, value: int = 0) -> Any:
    import ipywidgets as widgets

    return widgets.IntSlider(
        value=value,
        min=0,
        max=max(maximum, 0),
        description=description,
        continuous_update=False,
        style=dict(description_width="initial"),
    )


# ------------------------------------------------------------------------------------------------
# (a) graphs
# ------------------------------------------------------------------------------------------------


def graph_explorer(
    source: Any,
    x: Any = None,
    *,
    layout: str | Layout | None = None,
    threshold: float = 0.1,
) -> Explorer:
    """Explore a model's graphs: layer × subset → physical A, learned B, B − A and (with data) C of a sample.

    ``source`` is a model (``x``, a batch ``(N, M, T, V, C)``, adds the data-dependent graphs) or
    an Inspection (then pass ``layout``). The ``view`` selector switches between heatmaps (rows =
    source joint, columns = target joint) and edges on the skeleton's rest pose (edges with a
    weight above ``threshold``; invented edges dashed orange).
    """
    import ipywidgets as widgets

    if hasattr(source, "inspect") and x is not None:
        inspection = _eval_inspect(source, x)
    elif hasattr(source, "layers"):
        inspection = source
    else:
        inspection = None
    lay = layout_of(layout, source)
    if lay is None:
        raise ValueError("pass layout= (e.g. 'nturgb+d') with an Inspection: it does not know its skeleton")
    learned = layer_graphs(source if inspection is None else inspection)  # (L, K, V, V)
    alphas = layer_alphas(source if inspection is None else inspection)
    physical = physical_graph(lay)
    has_data = inspection is not None and any(lt.data_graph is not None for lt in inspection.layers)

    controls: dict[str, Any] = {
        "layer": _slider("layer", len(learned) - 1),
        "subset": widgets.Dropdown(options=[(n, i) for i, n in enumerate(SUBSET_NAMES)], value=1, description="subset"),
        "view": widgets.ToggleButtons(options=["heatmaps", "skeleton"], value="heatmaps"),
    }
    if has_data:
        n, m = inspection.layers[0].data_graph.shape[:2]
        controls["sample"] = _slider("sample", n - 1)
        controls["person"] = widgets.Dropdown(options=list(range(m)), value=0, description="person")

    def draw(layer: int, subset: int, view: str, sample: int = 0, person: int = 0) -> go.Figure:
        k = subset_index(subset)
        a, b = physical[k], learned[layer, k]
        c = None
        if has_data and inspection.layers[layer].data_graph is not None:
            c = to_numpy(inspection.layers[layer].data_graph[sample, person, k])
        alpha = alphas[layer]
        head = f"graph · layer {layer} · {SUBSET_NAMES[k]}" + (f" · sample {sample}" if c is not None else "")
        alpha_txt = "" if np.isnan(alpha) else f" (α = {alpha:.3g})"
        if view == "heatmaps":
            top = float(max(np.abs(a).max(), np.abs(b).max()))
            panels = [
                Panel(a, "physical A", vmax=top),
                Panel(b, "learned B", vmax=top),
                Panel(b - a, "difference B − A"),
            ]
            if c is not None:
                panels.append(Panel(c, f"data-dependent C{alpha_txt}", vmax=1.0))
            fig = heatmaps_plotly(panels, lay, 2 if len(panels) == 4 else 3, head)
        else:
            graphs = {"physical A": a, "learned B": b}
            if c is not None:  # without alpha (graph='cvpr') C is added as it is
                graphs["used: B + C" if np.isnan(alpha) else f"used: B + αC{alpha_txt}"] = (
                    b + np.nan_to_num(alpha, nan=1.0) * c
                )
            fig = _edges_on_pose(graphs, lay, threshold, head)
        return fig

    return Explorer(controls, draw)


def _edges_on_pose(graphs: Mapping[str, np.ndarray], lay: Layout, threshold: float, title: str) -> go.Figure:
    """Plotly panels of graphs drawn as edges on the layout's rest pose."""
    pose = rest_pose(lay)
    fig = make_subplots(rows=1, cols=len(graphs), subplot_titles=list(graphs), horizontal_spacing=0.03)
    for col, g in enumerate(graphs.values(), start=1):
        for tr in skeleton_traces(pose, lay, adjacency=g, threshold=threshold):
            fig.add_trace(tr, row=1, col=col)
        fig.update_xaxes(visible=False, row=1, col=col)
        fig.update_yaxes(visible=False, scaleanchor=f"x{col if col > 1 else ''}", row=1, col=col)
    fig.update_layout(
        title=dict(
            text=title
            + f"<br><sup>edges with |weight| > {threshold}; solid = bone, dashed = invented, dotted = negative</sup>"
        ),
        showlegend=False,
        template="plotly_white",
        width=330 * len(graphs) + 40,
        height=520,
        margin=dict(l=20, r=20, t=90, b=20),
    )
    return fig


# ------------------------------------------------------------------------------------------------
# (b) attention
# ------------------------------------------------------------------------------------------------


def attention_explorer(
    model: Any,
    x: Any,
    *,
    labels: Sequence[int] | None = None,
    class_names: Sequence[str] | None = None,
    keypoints: Any = None,
    plane: str | None = None,
    with_score: bool | None = None,
    y_down: bool | None = None,
) -> Explorer:
    """Explore attention: sample × layer × frame → spatial attention on the skeleton, temporal curve, channel bars.

    ``model`` is an AAGCN and ``x`` its input batch ``(N, M, T, V, C)``; for several streams pass
    ``{name: model}`` and ``{name: x}`` with the same names. Each sample is inspected once, when
    first shown, in eval mode, and cached. ``keypoints`` ``(N, M, T, V, C)`` is what the skeleton
    is drawn from (default: ``x``, or the joint stream ``'j'``/``'joint'`` if there is one);
    ``plane`` defaults to :func:`~aagcn_lab.viz.skeleton.guess_plane`. ``labels`` and
    ``class_names`` add the true and predicted class to the title.
    """
    import ipywidgets as widgets

    models = dict(model) if isinstance(model, Mapping) else {"model": model}
    inputs = dict(x) if isinstance(x, Mapping) else {"model": x}
    if set(models) != set(inputs):
        raise ValueError(f"model and x must have the same stream names, got {sorted(models)} and {sorted(inputs)}")
    first = next(iter(models.values()))
    lay = get_layout(first.layout)
    if keypoints is None:
        joint = next((inputs[k] for k in ("j", "joint", "joints") if k in inputs), next(iter(inputs.values())))
        keypoints = joint
    kp_all = to_numpy(keypoints)
    if kp_all.ndim != 5:
        raise ValueError(f"keypoints / x must be a batch (N, M, T, V, C), got shape {kp_all.shape}")
    n, m, t = kp_all.shape[:3]
    if with_score is None:
        with_score = kp_all.shape[-1] == 3 and lay.dim == 2
    guessed, guessed_down = guess_plane(kp_all[0], with_score)
    plane = plane or guessed
    y_down = guessed_down if y_down is None else y_down
    cache: dict[tuple[str, int], Any] = {}

    def inspect(stream: str, sample: int) -> Any:
        if (stream, sample) not in cache:
            xs = inputs[stream]
            cache[(stream, sample)] = _eval_inspect(models[stream], xs[sample : sample + 1])
        return cache[(stream, sample)]

    num_layers = len(first.backbone.gcn)
    controls: dict[str, Any] = {}
    if len(models) > 1:
        controls["stream"] = widgets.Dropdown(options=list(models), description="stream")
    controls["sample"] = _slider("sample", n - 1)
    if m > 1:
        controls["person"] = widgets.Dropdown(options=list(range(m)), value=0, description="person")
    controls["layer"] = _slider("layer", num_layers - 1)
    controls["frame"] = _slider("frame", t - 1)
    play = widgets.Play(min=0, max=t - 1, step=1, interval=150, description="play")
    widgets.jslink((play, "value"), (controls["frame"], "value"))

    def draw(sample: int, layer: int, frame: int, stream: str | None = None, person: int = 0) -> go.Figure:
        stream = stream or next(iter(models))
        ins = inspect(stream, sample)
        att = sample_attention(ins, 0, person, num_frames=t)
        spatial = ins.layers[layer].spatial
        title = attention_title("spatial", layer, sample, frame) + (f" · {stream} stream" if len(models) > 1 else "")
        sub = _prediction_text(att, None if labels is None else labels[sample], class_names)
        return _attention_figure(
            kp_all[sample],
            lay,
            att,
            None if spatial is None else to_numpy(spatial[0]),
            layer,
            frame,
            plane,
            with_score,
            y_down,
            title,
            sub,
        )

    return Explorer(controls, draw, extra=[play])


def _prediction_text(att: SampleAttention, label: Any, class_names: Sequence[str] | None) -> str:
    def name(c: int) -> str:
        return class_names[c] if class_names is not None else f"class {c}"

    parts = []
    if label is not None:
        parts.append(f"true: {name(int(label))}")
    if att.probs is not None:
        top = int(np.argmax(att.probs))
        parts.append(f"predicted: {name(top)} ({att.probs[top]:.0%})")
    return " · ".join(parts)


def _attention_figure(
    kp: np.ndarray,
    lay: Layout,
    att: SampleAttention,
    spatial: np.ndarray | None,
    layer: int,
    frame: int,
    plane: str,
    with_score: bool,
    y_down: bool,
    title: str,
    subtitle: str,
) -> go.Figure:
    """Skeleton with spatial attention (left), temporal attention (top right), channel bars (bottom right)."""
    fig = make_subplots(
        rows=2,
        cols=2,
        column_widths=[0.42, 0.58],
        specs=[[{"rowspan": 2}, {}], [None, {}]],
        subplot_titles=("spatial attention at this frame (all persons)", f"temporal attention, layer {layer} (grey: other layers)", f"channel attention, layer {layer} (sorted)"),
        horizontal_spacing=0.12,
        vertical_spacing=0.16,
    )  # fmt: skip
    traces = skeleton_traces(
        kp, lay, frame, plane=plane, with_score=with_score, joint_values=spatial, value_label="spatial attention",
        size_by_value=spatial is not None, colorbar=dict(x=0.4, len=0.9, thickness=12),
    )  # fmt: skip
    for tr in traces:
        fig.add_trace(tr, row=1, col=1)
    rng = axis_ranges(kp, ["xyz".index(p) for p in plane], with_score)
    fig.update_xaxes(title_text=plane[0], range=None if rng is None else rng[0], row=1, col=1)
    y_range = None if rng is None else (rng[1][::-1] if y_down else rng[1])
    fig.update_yaxes(title_text=plane[1], range=y_range, scaleanchor="x", row=1, col=1)
    for tr in temporal_traces(att, layer):
        fig.add_trace(tr, row=1, col=2)
    fig.add_vline(x=frame, line=dict(color="black", dash="dash", width=1), row=1, col=2)
    fig.update_xaxes(title_text="input frame", range=[-0.5, att.num_frames - 0.5], row=1, col=2)
    fig.add_trace(channel_trace(att, layer), row=2, col=2)
    fig.update_xaxes(title_text="channel rank", row=2, col=2)
    fig.update_layout(
        title=dict(text=title + (f"<br><sup>{subtitle}</sup>" if subtitle else "")),
        showlegend=False,
        template="plotly_white",
        width=1000,
        height=560,
        margin=dict(l=50, r=30, t=90, b=50),
    )
    return fig


# ------------------------------------------------------------------------------------------------
# (c) sequences
# ------------------------------------------------------------------------------------------------


def skeleton_player(
    keypoints: Any,
    layout: str | Layout,
    *,
    joint_values: Any = None,
    plane: str | None = None,
    with_score: bool = False,
    y_down: bool | None = None,
    three_d: bool = False,
    labels: bool = False,
) -> Explorer:
    """Play skeleton sequences frame by frame: sample (for a batch) × frame, with a play button.

    ``keypoints`` is one sequence ``(M, T, V, C)``, a batch ``(N, M, T, V, C)``, or
    ``{stream name: either}`` to switch between streams. ``joint_values`` ``(T, V)`` or
    ``(M, T, V)`` colours the joints (one sequence only). The axes stay fixed over the sequence.
    For a self-contained animation that needs no kernel, use
    :func:`~aagcn_lab.viz.skeleton.animate_skeleton`.
    """
    import ipywidgets as widgets

    lay = get_layout(layout)
    streams = dict(keypoints) if isinstance(keypoints, Mapping) else {"keypoints": keypoints}
    batches = {}
    for name, value in streams.items():
        arr = to_numpy(value)
        batches[name] = arr if arr.ndim == 5 else as_keypoints(arr, lay)[None]
    first = next(iter(batches.values()))
    n, _, t = first.shape[:3]
    controls: dict[str, Any] = {}
    if len(batches) > 1:
        controls["stream"] = widgets.Dropdown(options=list(batches), description="stream")
    if n > 1:
        controls["sample"] = _slider("sample", n - 1)
    controls["frame"] = _slider("frame", t - 1)
    play = widgets.Play(min=0, max=t - 1, step=1, interval=100, description="play")
    widgets.jslink((play, "value"), (controls["frame"], "value"))
    values = None if joint_values is None else to_numpy(joint_values)

    def draw(frame: int, sample: int = 0, stream: str | None = None) -> go.Figure:
        name = stream or next(iter(batches))
        kp = batches[name][sample]
        frame = min(frame, kp.shape[1] - 1)
        vals = None
        if values is not None:
            vals = values[..., frame, :]
        title = " · ".join(
            ([name] if len(batches) > 1 else []) + ([f"sample {sample}"] if n > 1 else []) + [f"frame {frame}"]
        )
        if three_d:
            return plot_skeleton_3d(kp, lay, frame, joint_values=vals, labels=labels, title=title)
        view, down = guess_plane(kp, with_score)
        p, d = plane or view, down if y_down is None else y_down
        fig = plot_skeleton(
            kp, lay, frame, plane=p, with_score=with_score, joint_values=vals, labels=labels, y_down=d, title=title
        )
        rng = axis_ranges(kp, ["xyz".index(c) for c in p], with_score)
        if rng is not None:
            fig.update_xaxes(range=rng[0], autorange=False)
            fig.update_yaxes(range=rng[1][::-1] if d else rng[1], autorange=False)
        return fig

    return Explorer(controls, draw, extra=[play])
