"""Draw skeletons: one frame in 2D or 3D, a whole sequence as an animation, graphs as edges.

Keypoint arrays follow the pyskl convention ``(M, T, V, C)``: M persons, T frames, V joints and
C channels. C is 2 (x, y), 3 (x, y, z) or, for 2D pose estimates, 3 = (x, y, keypoint score):
pass ``with_score=True`` for those. A ``(T, V, C)`` array is one person, a ``(V, C)`` array one
pose. numpy arrays and torch tensors are both fine. A model input batch is ``(N, M, T, V, C)``:
pass one sample, ``x[i]``.

Which way is up? Raw NTU (Kinect) coordinates have y up: draw the ``'xy'`` plane. pyskl's
``PreNormalize3D`` (what the model sees) turns the spine along z and the shoulders along x: draw
``'xz'``, or ``vertical='z'`` in 3D. 2D keypoints are image coordinates, y growing downwards: pass
``y_down=True``. :func:`guess_plane` works this out from the data.

Zero padding is how skeleton datasets say "nobody here": a joint whose coordinates are all 0 is
treated as missing (not drawn, nor are its edges), and a person with no joint in a frame is
skipped altogether (NTU pads the second person slot of one-person actions with zeros).

Two backends, one look:

* matplotlib (:func:`draw_skeleton`, :func:`draw_skeleton_3d`) for static figures that must render
  on GitHub and in the README;
* plotly (:func:`plot_skeleton`, :func:`plot_skeleton_3d`, :func:`animate_skeleton`) for figures you
  hover over, rotate and play.

Any of them can colour joints by a per-joint value (spatial attention, say, with a colorbar) and
draw the edges of a graph matrix instead of the bones. Graph matrices follow the package
convention ``out[w] = sum_v x[v] * A[v, w]``: ``A[source, target]`` is the weight of the message
joint ``source`` sends to joint ``target``. An edge is drawn between two joints when either
direction carries a weight above ``threshold``; its width grows with the weight. Edges of the
physical skeleton are solid, edges the model invented (a learned graph connects joints that no
bone links, e.g. the two hands) are dashed orange, and negative weights are dotted.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import plotly.graph_objects as go
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.collections import LineCollection
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.transforms import Bbox

from ..analysis import to_numpy
from ..graph import Layout, get_layout
from ._common import axis_ranges, present_joints

__all__ = [
    "NotebookFigure",
    "new_figure",
    "PERSON_COLORS",
    "EXTRA_EDGE_COLOR",
    "Edge",
    "as_keypoints",
    "guess_plane",
    "rest_pose",
    "graph_edges",
    "draw_skeleton",
    "draw_skeleton_3d",
    "plot_skeleton",
    "plot_skeleton_3d",
    "skeleton_traces",
    "animate_skeleton",
]

PERSON_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2")
EXTRA_EDGE_COLOR = "#ff7f0e"  # edges of a learned graph that no bone of the skeleton explains
_AXIS = {"x": 0, "y": 1, "z": 2}


# ------------------------------------------------------------------------------------------------
# Figures that show up once in a notebook
# ------------------------------------------------------------------------------------------------


class NotebookFigure(Figure):
    """A matplotlib ``Figure`` built without pyplot, which a notebook shows exactly once, as PNG.

    A figure made with pyplot shows twice in Jupyter (as the cell's value, then again by the
    inline backend at the end of the cell) and stays in pyplot's memory until closed. A bare
    ``Figure`` shows once, but only as text until something loads pyplot's inline backend;
    ``_repr_png_`` fixes that. Save it with ``fig.savefig(path)`` as usual.
    """

    def _repr_png_(self) -> bytes:
        buf = io.BytesIO()
        self.savefig(buf, format="png", bbox_inches="tight")
        return buf.getvalue()


def new_figure(figsize: tuple[float, float]) -> NotebookFigure:
    """A fresh figure with constrained layout (labels and colorbars never overlap)."""
    return NotebookFigure(figsize=figsize, layout="constrained")


# ------------------------------------------------------------------------------------------------
# Inputs: keypoints, per-joint values, graph matrices
# ------------------------------------------------------------------------------------------------


def as_keypoints(keypoints: Any, layout: str | Layout | None = None) -> np.ndarray:
    """Return keypoints as a float ``(M, T, V, C)`` numpy array (from ``(V, C)``, ``(T, V, C)`` or ``(M, T, V, C)``).

    With a ``layout`` the number of joints V is checked against it.
    """
    kp = to_numpy(keypoints)
    if kp.ndim == 5:
        raise ValueError(f"got a batch {kp.shape} (N, M, T, V, C); pass one sample, e.g. x[0]")
    if kp.ndim not in (2, 3, 4):
        raise ValueError(f"keypoints must be (V, C), (T, V, C) or (M, T, V, C), got shape {kp.shape}")
    kp = kp.reshape((1,) * (4 - kp.ndim) + kp.shape)
    if kp.shape[-1] not in (2, 3):
        raise ValueError(f"keypoints need C = 2 or 3 channels in the last axis, got shape {kp.shape}")
    if layout is not None:
        lay = get_layout(layout)
        if kp.shape[2] != lay.num_joints:
            raise ValueError(
                f"layout {lay.name!r} has {lay.num_joints} joints but keypoints have {kp.shape[2]} (shape {kp.shape})"
            )
    return kp


def _coordinate_axes(num_channels: int, plane: str | None, with_score: bool) -> list[int]:
    """Channel indices to draw: two for a 2D ``plane`` (``'xy'``, ``'zy'`` ...), three for 3D (``plane=None``)."""
    dims = 2 if (num_channels == 2 or with_score) else 3
    if plane is None:
        if dims != 3:
            raise ValueError("3D drawing needs x, y, z keypoints (C = 3 without a score channel)")
        return [0, 1, 2]
    if len(plane) != 2 or any(p not in _AXIS for p in plane) or plane[0] == plane[1]:
        raise ValueError(f"plane must name two different axes out of x, y, z (e.g. 'xy', 'zy'), got {plane!r}")
    axes = [_AXIS[p] for p in plane]
    if max(axes) >= dims:
        raise ValueError(f"plane {plane!r} needs a z coordinate, but these keypoints are 2D")
    return axes


def _per_person(values: Any, num_persons: int, shape: tuple[int, ...], what: str) -> np.ndarray | None:
    """Broadcast per-joint values (or matrices) given once or per person to ``(M, *shape)``."""
    if values is None:
        return None
    arr = to_numpy(values)
    if arr.shape == shape:
        return np.broadcast_to(arr, (num_persons,) + shape)
    if arr.shape == (num_persons,) + shape:
        return arr
    raise ValueError(f"{what} must have shape {shape} or {(num_persons,) + shape}, got {arr.shape}")


def guess_plane(keypoints: Any, with_score: bool = False) -> tuple[str, bool]:
    """Guess a front view ``(plane, y_down)`` for keypoints: the tallest axis goes up.

    * 2D keypoints (``C = 2`` or ``with_score``) are image coordinates: ``('xy', True)``;
    * 3D keypoints: the vertical axis is the one along which a person is tallest (raw Kinect: y;
      after pyskl's ``PreNormalize3D``, the model's input: z), the horizontal one the next
      widest: ``('xy', False)`` for raw NTU, ``('xz', False)`` for normalised NTU. A person lying
      down fools it; pass ``plane=`` yourself then.
    """
    kp = as_keypoints(keypoints)
    if kp.shape[-1] == 2 or with_score:
        return "xy", True
    present = present_joints(kp, False)
    if not present.any():
        return "xy", False
    # the extent of the body along each axis, per person and frame where someone is there; median
    seen = present.any(-1)  # (M, T)
    bodies = np.where(present[..., None], kp, np.nan)[seen]  # (persons x frames, V, 3)
    spread = np.median(np.nanmax(bodies, axis=1) - np.nanmin(bodies, axis=1), axis=0)  # (3,)
    up = int(np.nanargmax(spread))
    side = max((a for a in range(3) if a != up), key=lambda a: spread[a])
    return "xyz"[side] + "xyz"[up], False


# ------------------------------------------------------------------------------------------------
# A pose to draw a graph on, when there is no data
# ------------------------------------------------------------------------------------------------

# Hand-placed front views (y up, facing the viewer: the person's left on the viewer's right), keyed by
# joint name so that layouts sharing names (nturgb+d and nturgb+d-2sagcn) share a pose.
_NTU_REST = {
    "SpineBase": (0.0, 0.0), "SpineMid": (0.0, 0.3), "Neck": (0.0, 0.66), "Head": (0.0, 0.82),
    "ShoulderLeft": (0.19, 0.55), "ElbowLeft": (0.3, 0.3), "WristLeft": (0.36, 0.06), "HandLeft": (0.38, -0.01),
    "ShoulderRight": (-0.19, 0.55), "ElbowRight": (-0.3, 0.3), "WristRight": (-0.36, 0.06),
    "HandRight": (-0.38, -0.01), "HipLeft": (0.1, -0.02), "KneeLeft": (0.12, -0.44), "AnkleLeft": (0.13, -0.84),
    "FootLeft": (0.19, -0.9), "HipRight": (-0.1, -0.02), "KneeRight": (-0.12, -0.44), "AnkleRight": (-0.13, -0.84),
    "FootRight": (-0.19, -0.9), "SpineShoulder": (0.0, 0.55), "HandTipLeft": (0.4, -0.09),
    "ThumbLeft": (0.33, -0.05), "HandTipRight": (-0.4, -0.09), "ThumbRight": (-0.33, -0.05),
}  # fmt: skip
_COCO_REST = {
    "nose": (0.0, 0.8), "left_eye": (0.035, 0.835), "right_eye": (-0.035, 0.835), "left_ear": (0.075, 0.81),
    "right_ear": (-0.075, 0.81), "left_shoulder": (0.18, 0.56), "right_shoulder": (-0.18, 0.56),
    "left_elbow": (0.29, 0.3), "right_elbow": (-0.29, 0.3), "left_wrist": (0.35, 0.05), "right_wrist": (-0.35, 0.05),
    "left_hip": (0.1, 0.0), "right_hip": (-0.1, 0.0), "left_knee": (0.12, -0.44), "right_knee": (-0.12, -0.44),
    "left_ankle": (0.13, -0.86), "right_ankle": (-0.13, -0.86),
}  # fmt: skip
_OPENPOSE_REST = {
    "Nose": (0.0, 0.8), "Neck": (0.0, 0.56), "RShoulder": (-0.18, 0.56), "RElbow": (-0.29, 0.3),
    "RWrist": (-0.35, 0.05), "LShoulder": (0.18, 0.56), "LElbow": (0.29, 0.3), "LWrist": (0.35, 0.05),
    "RHip": (-0.1, 0.0), "RKnee": (-0.12, -0.44), "RAnkle": (-0.13, -0.86), "LHip": (0.1, 0.0),
    "LKnee": (0.12, -0.44), "LAnkle": (0.13, -0.86), "REye": (-0.035, 0.835), "LEye": (0.035, 0.835),
    "REar": (-0.075, 0.81), "LEar": (0.075, 0.81),
}  # fmt: skip


def rest_pose(layout: str | Layout) -> np.ndarray:
    """A ``(V, 2)`` standing pose (y up) to draw a layout or a graph on when you have no data.

    Built-in layouts get a hand-placed human pose; any other layout gets a tree drawing with the
    centre joint on top and each hop from it one row lower. No joint sits at the origin (that
    would read as zero padding).
    """
    lay = get_layout(layout)
    for table in (_NTU_REST, _COCO_REST, _OPENPOSE_REST):
        if all(name in table for name in lay.joint_names):
            pose = np.array([table[name] for name in lay.joint_names], dtype=float)
            break
    else:
        pose = _tree_pose(lay)
    pose[:, 1] += 0.1 - pose[:, 1].min()  # lift above y = 0: an all-zero joint would read as padding
    return pose


def _tree_pose(lay: Layout) -> np.ndarray:
    children: dict[int, list[int]] = {v: [] for v in range(lay.num_joints)}
    for child, parent in lay.inward:
        children[parent].append(child)
    pos = np.zeros((lay.num_joints, 2))
    next_leaf = [0.0]

    def place(v: int, depth: int) -> float:  # leaves get consecutive x, parents sit above the middle
        if children[v]:
            x = float(np.mean([place(c, depth + 1) for c in children[v]]))
        else:
            x, next_leaf[0] = next_leaf[0], next_leaf[0] + 1.0
        pos[v] = (x, -float(depth))
        return x

    place(lay.center, 0)
    pos[:, 0] -= pos[lay.center, 0]
    return pos / max(1.0, float(np.abs(pos).max()))


# ------------------------------------------------------------------------------------------------
# Edges: the bones, or the nonzero entries of a graph matrix
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Edge:
    """An undirected edge to draw: two joints, a signed weight, and whether a bone connects them."""

    a: int
    b: int
    weight: float
    physical: bool


def graph_edges(layout: str | Layout, adjacency: Any = None, threshold: float = 0.05) -> list[Edge]:
    """The edges to draw for a ``(V, V)`` graph (``A[source, target]``), or the bones when ``adjacency`` is None.

    Joints ``a < b`` are linked when ``|A[a, b]|`` or ``|A[b, a]|`` exceeds ``threshold``; the
    edge keeps the larger of the two (with its sign), so the direction of the message is not
    shown -- look at the heatmap for that. The diagonal (a joint's message to itself) is skipped.
    """
    lay = get_layout(layout)
    bones = {frozenset(p) for p in lay.inward}
    if adjacency is None:
        return [Edge(min(i, j), max(i, j), 1.0, True) for i, j in lay.inward]
    adj = to_numpy(adjacency)
    v = lay.num_joints
    if adj.shape != (v, v):
        raise ValueError(f"adjacency must be ({v}, {v}) for layout {lay.name!r}, got {adj.shape}")
    stronger = np.where(np.abs(adj) >= np.abs(adj.T), adj, adj.T)  # per pair, the larger direction
    edges = []
    for a, b in zip(*np.triu_indices(v, k=1)):
        w = float(stronger[a, b])
        if abs(w) > threshold:
            edges.append(Edge(int(a), int(b), w, frozenset((a, b)) in bones))
    return edges


def _edge_style(edge: Edge, person_color: str) -> tuple[str, str]:
    """(colour, line style) for an edge: bones in the person's colour, invented edges orange dashed."""
    color = person_color if edge.physical else EXTRA_EDGE_COLOR
    style = "dotted" if edge.weight < 0 else ("solid" if edge.physical else "dashed")
    return color, style


def _edge_widths(
    edges: Sequence[Edge], weighted: bool, lo: float = 0.6, hi: float = 5.0, base: float = 2.5
) -> np.ndarray:
    """Line widths proportional to ``|weight|`` (largest edge = ``hi``); all ``base`` for plain bones."""
    if not weighted or not edges:
        return np.full(len(edges), base)
    w = np.abs([e.weight for e in edges])
    return lo + (hi - lo) * w / w.max()


def _edge_legend(edges: Sequence[Edge]) -> list[Line2D]:
    handles = [Line2D([], [], color="0.3", lw=2, label="bone (physical edge)")]
    if any(not e.physical for e in edges):
        handles.append(Line2D([], [], color=EXTRA_EDGE_COLOR, lw=2, ls="--", label="learned, non-physical edge"))
    if any(e.weight < 0 for e in edges):
        handles.append(Line2D([], [], color="0.3", lw=2, ls=":", label="negative weight"))
    return handles


# ------------------------------------------------------------------------------------------------
# Common preparation of one frame
# ------------------------------------------------------------------------------------------------


@dataclass
class _Scene:
    """Everything the backends need to draw one frame."""

    layout: Layout
    coords: np.ndarray  # (M, V, D) coordinates to draw, D = 2 or 3
    present: np.ndarray  # (M, V) joint is there
    persons: list[int]  # persons with at least one joint in this frame
    values: np.ndarray | None  # (M, V) joint colours
    edges: list[list[Edge]]  # per person
    weighted: bool  # edges come from a graph matrix
    vmin: float
    vmax: float


def _scene(
    keypoints: Any,
    layout: str | Layout,
    frame: int,
    plane: str | None,
    with_score: bool,
    joint_values: Any,
    vmin: float | None,
    vmax: float | None,
    adjacency: Any,
    threshold: float,
) -> _Scene:
    lay = get_layout(layout)
    kp = as_keypoints(keypoints, lay)
    m, t, v, c = kp.shape
    if not -t <= frame < t:
        raise IndexError(f"frame {frame} is out of range for a sequence of {t} frames")
    axes = _coordinate_axes(c, plane, with_score)
    present = present_joints(kp, with_score)[:, frame]
    persons = [p for p in range(m) if present[p].any()]
    values = _per_person(joint_values, m, (v,), "joint_values")
    adj = _per_person(adjacency, m, (v, v), "adjacency")
    edges = [graph_edges(lay, None if adj is None else adj[p], threshold) for p in range(m)]
    lo, hi = vmin, vmax
    if values is not None and persons:
        shown = values[persons][present[persons]]
        lo = float(np.nanmin(shown)) if lo is None else lo
        hi = float(np.nanmax(shown)) if hi is None else hi
    lo, hi = (0.0 if lo is None else lo), (1.0 if hi is None else hi)
    if hi <= lo:
        hi = lo + 1e-6
    return _Scene(lay, kp[:, frame][..., axes], present, persons, values, edges, adjacency is not None, lo, hi)


def _segments(scene: _Scene, person: int) -> tuple[list[np.ndarray], list[Edge], np.ndarray]:
    """Line segments ``(2, D)``, edges and widths of a person's edges whose two joints are present.

    Widths are scaled over the whole graph, so an edge keeps its width whichever joints are missing.
    """
    edges = scene.edges[person]
    widths = _edge_widths(edges, scene.weighted)
    ok = scene.present[person]
    keep = [i for i, e in enumerate(edges) if ok[e.a] and ok[e.b]]
    return [scene.coords[person, [edges[i].a, edges[i].b]] for i in keep], [edges[i] for i in keep], widths[keep]


def _marker_sizes(scene: _Scene, person: int, size_by_value: bool, base: float, spread: float) -> np.ndarray:
    ok = scene.present[person]
    if not size_by_value or scene.values is None:
        return np.full(int(ok.sum()), base)
    rel = (scene.values[person][ok] - scene.vmin) / (scene.vmax - scene.vmin)
    return base * (0.4 + spread * np.clip(rel, 0, 1))


# ------------------------------------------------------------------------------------------------
# matplotlib
# ------------------------------------------------------------------------------------------------


def _new_axes(ax: Axes | None, figsize: tuple[float, float], projection: str | None = None) -> tuple[Figure, Axes]:
    """Draw into ``ax`` (a panel of a bigger figure) or into a fresh :class:`NotebookFigure`."""
    if ax is not None:
        return ax.figure, ax
    fig = new_figure(figsize)
    return fig, fig.add_subplot(projection=projection)


def draw_skeleton(
    keypoints: Any,
    layout: str | Layout,
    frame: int = 0,
    *,
    plane: str = "xy",
    with_score: bool = False,
    joint_values: Any = None,
    value_label: str = "value",
    vmin: float | None = None,
    vmax: float | None = None,
    cmap: str = "viridis",
    size_by_value: bool = False,
    adjacency: Any = None,
    threshold: float = 0.05,
    labels: bool = False,
    y_down: bool = False,
    title: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """One frame as a static 2D matplotlib figure, projected on ``plane`` (``'xy'`` front view, ``'zy'`` side view).

    * ``joint_values`` ``(V,)`` or ``(M, V)`` colours the joints (with a colorbar labelled
      ``value_label``); ``size_by_value`` also scales the dots with the value.
    * ``adjacency`` ``(V, V)`` or ``(M, V, V)`` draws that graph instead of the bones (see
      :func:`graph_edges`): width grows with ``|weight|``; invented edges are dashed orange.
    * ``y_down=True`` flips the vertical axis for image coordinates (pixels grow downwards).
    * ``ax`` draws into existing axes (e.g. a panel of a bigger figure).
    """
    s = _scene(keypoints, layout, frame, plane, with_score, joint_values, vmin, vmax, adjacency, threshold)
    fig, ax = _new_axes(ax, (5, 6))
    norm = Normalize(s.vmin, s.vmax)
    all_edges: list[Edge] = []
    names: list[Any] = []
    for p in s.persons:
        color = PERSON_COLORS[p % len(PERSON_COLORS)]
        segs, edges, widths = _segments(s, p)
        styles = [_edge_style(e, color) for e in edges]
        ax.add_collection(
            LineCollection(
                segs, colors=[c for c, _ in styles], linestyles=[ls for _, ls in styles], linewidths=widths, zorder=1
            )
        )
        all_edges += edges
        ok = s.present[p]
        xy = s.coords[p][ok]
        sizes = _marker_sizes(s, p, size_by_value, 40.0, 3.0)
        if s.values is not None:
            ax.scatter(
                xy[:, 0],
                xy[:, 1],
                c=s.values[p][ok],
                cmap=cmap,
                norm=norm,
                s=sizes,
                edgecolors="k",
                linewidths=0.6,
                zorder=3,
            )
        else:
            ax.scatter(
                xy[:, 0],
                xy[:, 1],
                color=color,
                s=sizes,
                edgecolors="white",
                linewidths=0.6,
                zorder=3,
                label=f"person {p}",
            )
        if labels:
            names += [
                ax.annotate(s.layout.joint_names[v], s.coords[p, v], xytext=(4, 2), textcoords="offset points", fontsize=6, color="0.2")
                for v in np.flatnonzero(ok)
            ]
    if s.values is not None:
        fig.colorbar(ScalarMappable(norm, cmap), ax=ax, label=value_label, shrink=0.7)
    if s.weighted:
        ax.legend(
            handles=_edge_legend(all_edges),
            loc="upper center",
            bbox_to_anchor=(0.5, -0.1),
            fontsize=7,
            frameon=False,
            ncols=3,
        )
    elif s.values is None and len(s.persons) > 1:
        ax.legend(fontsize=8, frameon=False)
    ax.set_aspect("equal", adjustable="datalim")
    ax.autoscale_view()
    if y_down:
        ax.invert_yaxis()
    ax.set_xlabel(plane[0])
    ax.set_ylabel(plane[1])
    ax.grid(alpha=0.2)
    if title:
        ax.set_title(title)
    _place_labels(fig, names)
    return fig


# offsets (points) and alignments tried in turn for a joint's name: beside it, then below and above it, then farther
_LABEL_SPOTS = tuple((sx * dx, dy, {1: "left", -1: "right", 0: "center"}[sx], "bottom" if dy > 0 else "top")
                     for dx, dy in ((4, 2), (4, -2), (0, 5), (0, -5), (4, 9), (4, -9), (0, 12), (0, -12))
                     for sx in ((1, -1) if dx else (0,)))  # fmt: skip


def _place_labels(fig: Figure, names: Sequence[Any]) -> None:
    """Put each joint name at the first spot beside its joint where it touches no joint's dot and no name placed
    before it (2 pixels apart); where every spot touches something, at the spot that touches the fewest."""
    if not names:
        return
    fig.draw_without_rendering()  # the layout first: the boxes below are where the names will be drawn
    to_px = names[0].axes.transData.transform
    dots = [Bbox.from_extents(*(to_px(n.xy) - 3), *(to_px(n.xy) + 3)) for n in names]  # a joint's dot, about 6 px

    def put(name: Any, spot: tuple) -> Bbox:
        name.xyann = spot[:2]
        name.set_horizontalalignment(spot[2])
        name.set_verticalalignment(spot[3])
        return name.get_window_extent().padded(2)

    placed: list[Bbox] = []
    for i, name in enumerate(names):
        others = placed + dots[:i] + dots[i + 1 :]
        clashes = []
        for spot in _LABEL_SPOTS:
            clashes.append(sum(put(name, spot).overlaps(o) for o in others))
            if not clashes[-1]:
                break
        placed.append(put(name, _LABEL_SPOTS[int(np.argmin(clashes))]))


def draw_skeleton_3d(
    keypoints: Any,
    layout: str | Layout,
    frame: int = 0,
    *,
    joint_values: Any = None,
    value_label: str = "value",
    vmin: float | None = None,
    vmax: float | None = None,
    cmap: str = "viridis",
    size_by_value: bool = False,
    adjacency: Any = None,
    threshold: float = 0.05,
    labels: bool = False,
    vertical: str = "y",
    elev: float = 15.0,
    azim: float | None = None,
    title: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """One frame of 3D keypoints as a static matplotlib 3D figure; ``vertical`` names the up axis (Kinect: ``'y'``).

    The options are those of :func:`draw_skeleton`. ``elev``/``azim`` set the camera (``azim``
    defaults to a three-quarter view). Raw NTU (Kinect) coordinates have y up; after pyskl's
    ``PreNormalize3D`` (the model's input) the spine points along z, so pass ``vertical='z'``.
    """
    from mpl_toolkits.mplot3d.art3d import Line3DCollection

    s = _scene(keypoints, layout, frame, None, False, joint_values, vmin, vmax, adjacency, threshold)
    fig, ax = _new_axes(ax, (6, 6), projection="3d")
    norm = Normalize(s.vmin, s.vmax)
    for p in s.persons:
        color = PERSON_COLORS[p % len(PERSON_COLORS)]
        segs, edges, widths = _segments(s, p)
        styles = [_edge_style(e, color) for e in edges]
        ax.add_collection3d(
            Line3DCollection(
                segs, colors=[c for c, _ in styles], linestyles=[ls for _, ls in styles], linewidths=widths
            )
        )
        ok = s.present[p]
        xyz = s.coords[p][ok]
        sizes = _marker_sizes(s, p, size_by_value, 30.0, 3.0)
        if s.values is not None:
            ax.scatter(
                *xyz.T,
                c=s.values[p][ok],
                cmap=cmap,
                norm=norm,
                s=sizes,
                edgecolors="k",
                linewidths=0.5,
                depthshade=False,
            )
        else:
            ax.scatter(*xyz.T, color=color, s=sizes, depthshade=False)
        if labels:
            for v in np.flatnonzero(ok):
                ax.text(*s.coords[p, v], " " + s.layout.joint_names[v], fontsize=6, color="0.2")
    if s.persons:  # equal scale on the three axes, so a person is not stretched
        pts = np.concatenate([s.coords[p][s.present[p]] for p in s.persons])
        mid, half = (pts.max(0) + pts.min(0)) / 2, max(float((pts.max(0) - pts.min(0)).max()) / 2, 1e-6)
        ax.set(
            xlim=(mid[0] - half, mid[0] + half),
            ylim=(mid[1] - half, mid[1] + half),
            zlim=(mid[2] - half, mid[2] + half),
        )
    ax.set_box_aspect((1, 1, 1))
    if azim is None:
        azim = 30.0 if vertical == "y" else -60.0
    ax.view_init(elev=elev, azim=azim, vertical_axis=vertical)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_zlabel("z")
    if s.values is not None:
        fig.colorbar(ScalarMappable(norm, cmap), ax=ax, label=value_label, shrink=0.6, pad=0.1)
    if title:
        ax.set_title(title)
    return fig


# ------------------------------------------------------------------------------------------------
# plotly
# ------------------------------------------------------------------------------------------------

_PLOTLY_DASH = {"solid": "solid", "dashed": "dash", "dotted": "dot"}


def _nan_joined(segs: Sequence[np.ndarray], dims: int) -> list[list[float | None]]:
    """Segments as one polyline per axis with ``None`` between them (one trace draws them all)."""
    out: list[list[float | None]] = [[] for _ in range(dims)]
    for seg in segs:
        for d in range(dims):
            out[d] += [float(seg[0, d]), float(seg[1, d]), None]
    return out


def _xyz(cols: Sequence[Sequence[Any]]) -> dict[str, Sequence[Any]]:
    return dict(zip("xyz", cols))


def _edge_key(edge: Edge, width: float, weighted: bool) -> tuple[bool, bool, int]:
    """Plotly draws one trace per (bone?, negative?, width bin): a trace has a single line style."""
    return edge.physical, edge.weight < 0, min(int(width / 5.0 * 4), 3) if weighted else 0


def _person_traces(
    s: _Scene,
    p: int,
    *,
    three_d: bool,
    colorscale: str,
    value_label: str,
    size_by_value: bool,
    labels: bool,
    showscale: bool,
    colorbar: dict | None = None,
) -> list[go.BaseTraceType]:
    """Plotly traces of one person: edge traces (one per line style and width bin), then one joint trace.

    Which edge traces exist depends only on the graph, not on which joints are present, so an
    animation has the same traces in every frame; a person absent from the frame gets empty traces.
    """
    dims = 3 if three_d else 2
    scatter = go.Scatter3d if three_d else go.Scatter
    color = PERSON_COLORS[p % len(PERSON_COLORS)]
    widths = _edge_widths(s.edges[p], s.weighted)
    groups = sorted(
        {_edge_key(e, w, s.weighted) for e, w in zip(s.edges[p], widths)}, key=lambda k: (not k[0], k[1], k[2])
    )
    segs, edges, kept_widths = _segments(s, p) if p in s.persons else ([], [], [])
    keys = [_edge_key(e, w, s.weighted) for e, w in zip(edges, kept_widths)]
    traces: list[go.BaseTraceType] = []
    for physical, negative, b in groups:
        chosen = [seg for seg, k in zip(segs, keys) if k == (physical, negative, b)]
        e_color, style = _edge_style(Edge(0, 1, -1.0 if negative else 1.0, physical), color)
        kind = "bones" if not s.weighted else ("bone edges" if physical else "learned edges")
        traces.append(
            scatter(
                **_xyz(_nan_joined(chosen, dims)),
                mode="lines",
                line=dict(color=e_color, width=(1.0 + 1.3 * b) if s.weighted else 4.0, dash=_PLOTLY_DASH[style]),
                hoverinfo="skip",
                name=f"person {p} {kind}",
                showlegend=False,
            )
        )
    ok = s.present[p] if p in s.persons else np.zeros(s.coords.shape[1], bool)
    idx = np.flatnonzero(ok)
    marker: dict[str, Any] = dict(
        size=_marker_sizes(s, p, size_by_value, 9.0 if not three_d else 5.0, 2.0),
        color=color,
        line=dict(width=1, color="white"),
    )
    hover = "%{text}"
    if s.values is not None:
        marker.update(
            color=s.values[p][idx],
            colorscale=colorscale,
            cmin=s.vmin,
            cmax=s.vmax,
            showscale=showscale,
            colorbar=colorbar or dict(title=dict(text=value_label)),
            line=dict(width=1, color="black"),
        )
        hover += f"<br>{value_label}: " + "%{marker.color:.3f}"
    traces.append(
        scatter(
            **_xyz([s.coords[p, idx, d] for d in range(dims)]),
            mode="markers+text" if labels else "markers",
            marker=marker,
            text=[s.layout.joint_names[v] for v in idx],
            textposition="top right" if not three_d else "top center",
            textfont=dict(size=9),
            hovertemplate=hover + f"<extra>person {p}</extra>",
            name=f"person {p} joints",
        )
    )
    return traces


def _plotly_2d_axes(fig: go.Figure, axis_names: Sequence[str], y_down: bool) -> None:
    """Name the axes, keep x and y on one scale, and flip y for image coordinates."""
    fig.update_xaxes(title_text=axis_names[0], zeroline=False)
    fig.update_yaxes(
        title_text=axis_names[1], zeroline=False, scaleanchor="x", autorange="reversed" if y_down else True
    )


def skeleton_traces(
    keypoints: Any,
    layout: str | Layout,
    frame: int = 0,
    *,
    plane: str | None = "xy",
    with_score: bool = False,
    joint_values: Any = None,
    value_label: str = "value",
    vmin: float | None = None,
    vmax: float | None = None,
    colorscale: str = "Viridis",
    size_by_value: bool = False,
    adjacency: Any = None,
    threshold: float = 0.05,
    labels: bool = False,
    colorbar: dict | None = None,
) -> list[go.BaseTraceType]:
    """The plotly traces :func:`plot_skeleton` draws (``plane=None``: 3D), to place in subplots of your own.

    ``colorbar`` is passed to the joints' colour bar (e.g. ``dict(x=0.45, len=0.8)`` to put it
    beside the left panel of a two-column figure).
    """
    s = _scene(keypoints, layout, frame, plane, with_score, joint_values, vmin, vmax, adjacency, threshold)
    traces: list[go.BaseTraceType] = []
    for i, p in enumerate(s.persons):
        traces += _person_traces(
            s,
            p,
            three_d=plane is None,
            colorscale=colorscale,
            value_label=value_label,
            size_by_value=size_by_value,
            labels=labels,
            showscale=i == 0,
            colorbar=None if colorbar is None else {"title": dict(text=value_label), **colorbar},
        )
    return traces


def plot_skeleton(
    keypoints: Any,
    layout: str | Layout,
    frame: int = 0,
    *,
    plane: str = "xy",
    with_score: bool = False,
    joint_values: Any = None,
    value_label: str = "value",
    vmin: float | None = None,
    vmax: float | None = None,
    colorscale: str = "Viridis",
    size_by_value: bool = False,
    adjacency: Any = None,
    threshold: float = 0.05,
    labels: bool = False,
    y_down: bool = False,
    title: str | None = None,
) -> go.Figure:
    """One frame as an interactive 2D plotly figure (hover a joint for its name and value).

    Same options as :func:`draw_skeleton`. Traces: per drawn person, the edge traces (one
    trace for plain bones) followed by one joint trace.
    """
    traces = skeleton_traces(
        keypoints, layout, frame, plane=plane, with_score=with_score, joint_values=joint_values, value_label=value_label,
        vmin=vmin, vmax=vmax, colorscale=colorscale, size_by_value=size_by_value, adjacency=adjacency,
        threshold=threshold, labels=labels,
    )  # fmt: skip
    fig = go.Figure(traces)
    _plotly_2d_axes(fig, list(plane), y_down)
    fig.update_layout(
        template="plotly_white", showlegend=False, width=520, height=600, margin=dict(l=50, r=20, t=60, b=40)
    )
    if title is not None:
        fig.update_layout(title=dict(text=title))
    return fig


def _scene_3d_layout(vertical: str) -> dict:
    up = dict(x=0, y=0, z=0)
    up[vertical] = 1
    eye = dict(x=0.3, y=0.3, z=2.2) if vertical == "y" else dict(x=1.6, y=-1.6, z=0.6)
    return dict(aspectmode="data", camera=dict(up=up, eye=eye), xaxis_title="x", yaxis_title="y", zaxis_title="z")


def plot_skeleton_3d(
    keypoints: Any,
    layout: str | Layout,
    frame: int = 0,
    *,
    joint_values: Any = None,
    value_label: str = "value",
    vmin: float | None = None,
    vmax: float | None = None,
    colorscale: str = "Viridis",
    size_by_value: bool = False,
    adjacency: Any = None,
    threshold: float = 0.05,
    labels: bool = False,
    vertical: str = "y",
    title: str | None = None,
) -> go.Figure:
    """One frame of 3D keypoints as a rotatable plotly ``Scatter3d`` figure; ``vertical`` is the up axis."""
    traces = skeleton_traces(
        keypoints, layout, frame, plane=None, joint_values=joint_values, value_label=value_label, vmin=vmin,
        vmax=vmax, colorscale=colorscale, size_by_value=size_by_value, adjacency=adjacency, threshold=threshold,
        labels=labels,
    )  # fmt: skip
    fig = go.Figure(traces)
    fig.update_layout(
        scene=_scene_3d_layout(vertical), showlegend=False, width=650, height=600, margin=dict(l=0, r=0, t=50, b=0)
    )
    if title is not None:
        fig.update_layout(title=dict(text=title))
    return fig


def animate_skeleton(
    keypoints: Any,
    layout: str | Layout,
    *,
    plane: str | None = "xy",
    with_score: bool = False,
    joint_values: Any = None,
    value_label: str = "value",
    vmin: float | None = None,
    vmax: float | None = None,
    colorscale: str = "Viridis",
    adjacency: Any = None,
    threshold: float = 0.05,
    step: int = 1,
    fps: float = 15.0,
    labels: bool = False,
    y_down: bool = False,
    vertical: str = "y",
    title: str | None = None,
) -> go.Figure:
    """A whole sequence ``(M, T, V, C)`` as a plotly animation with a frame slider and a play button.

    ``plane=None`` animates in 3D (``vertical`` is the up axis). ``step`` keeps every step-th
    frame (long sequences make big figures: about 2 kB per frame and person). ``joint_values`` may
    be ``(V,)``, ``(T, V)`` or ``(M, T, V)``; per-frame values change the colours as it plays. The
    axes are fixed to the whole sequence so the person moves instead of the axes. Persons present
    in no frame are left out; in frames where a person is missing its traces are empty.
    """
    lay = get_layout(layout)
    kp = as_keypoints(keypoints, lay)
    m, t, v, _ = kp.shape
    three_d = plane is None
    vals = None if joint_values is None else to_numpy(joint_values)
    if vals is not None:
        if vals.shape in ((v,), (t, v)):
            vals = np.broadcast_to(vals, (m, t, v))
        elif vals.shape != (m, t, v):
            raise ValueError(f"joint_values must be (V,), (T, V) or (M, T, V) = {(m, t, v)}, got {vals.shape}")
        present = present_joints(kp, with_score)
        if present.any():
            vmin = float(np.nanmin(vals[present])) if vmin is None else vmin
            vmax = float(np.nanmax(vals[present])) if vmax is None else vmax
    frames_idx = list(range(0, t, max(1, int(step))))
    persons = [p for p in range(m) if present_joints(kp, with_score)[p].any()]
    scenes = [
        _scene(kp, lay, f, plane, with_score, None if vals is None else vals[:, f], vmin, vmax, adjacency, threshold)
        for f in frames_idx
    ]

    def traces(sc: _Scene) -> list[go.BaseTraceType]:
        out: list[go.BaseTraceType] = []
        for i, p in enumerate(persons):
            out += _person_traces(
                sc,
                p,
                three_d=three_d,
                colorscale=colorscale,
                value_label=value_label,
                size_by_value=False,
                labels=labels,
                showscale=i == 0,
            )
        return out

    frames = [go.Frame(data=traces(sc), name=str(f)) for f, sc in zip(frames_idx, scenes)]
    fig = go.Figure(data=frames[0].data if frames else [], frames=frames)
    ms = 1000.0 / fps
    redraw = three_d  # 2D scatter animates without a full redraw (smooth); 3D needs one
    fig.update_layout(
        updatemenus=[
            dict(
                type="buttons",
                direction="left",
                x=0.0,
                y=-0.06,
                xanchor="left",
                yanchor="top",
                pad=dict(t=0, r=10),
                showactive=False,
                buttons=[
                    dict(
                        label="▶ play",
                        method="animate",
                        args=[
                            None,
                            dict(frame=dict(duration=ms, redraw=redraw), fromcurrent=True, transition=dict(duration=0)),
                        ],
                    ),
                    dict(
                        label="❚❚ pause",
                        method="animate",
                        args=[[None], dict(frame=dict(duration=0, redraw=False), mode="immediate")],
                    ),
                ],
            )
        ],
        sliders=[
            dict(
                active=0,
                x=0.2,
                len=0.8,
                y=-0.02,
                yanchor="top",
                currentvalue=dict(prefix="frame "),
                steps=[
                    dict(
                        method="animate",
                        label=str(f),
                        args=[
                            [str(f)],
                            dict(mode="immediate", frame=dict(duration=0, redraw=redraw), transition=dict(duration=0)),
                        ],
                    )
                    for f in frames_idx
                ],
            )
        ],
        showlegend=False,
        template="plotly_white",
        width=560 if not three_d else 650,
        height=660,
        margin=dict(l=50, r=20, t=60, b=110),
    )
    if title is not None:
        fig.update_layout(title=dict(text=title))
    if three_d:
        fig.update_layout(scene=_scene_3d_layout(vertical))
        rng = axis_ranges(kp, [0, 1, 2], with_score)
        if rng:
            fig.update_layout(scene=dict(xaxis_range=rng[0], yaxis_range=rng[1], zaxis_range=rng[2], aspectmode="cube"))
    else:
        axes = _coordinate_axes(kp.shape[-1], plane, with_score)
        _plotly_2d_axes(fig, ["xyz"[a] for a in axes], y_down)
        rng = axis_ranges(kp, axes, with_score)
        if rng:
            fig.update_xaxes(range=rng[0], autorange=False)
            fig.update_yaxes(range=rng[1][::-1] if y_down else rng[1], autorange=False)
    return fig
