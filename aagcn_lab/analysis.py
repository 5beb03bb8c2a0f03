"""The numbers behind the figures, in numpy and torch (no plotting library here).

* graphs: each layer's learned graph ``B_k``, ``alpha`` and the data-dependent ``C_k`` taken out of
  a model or ``model.inspect(x)``, how far ``B_k`` moved from the skeleton, how large ``alpha C_k``
  is beside it (:func:`graph_sizes`), and what weight decay alone did to it versus what the
  gradients added (:func:`graph_changes`);
* attention: one sample's spatial, temporal and channel attention (:func:`sample_attention`), layer
  time steps mapped onto input frames, per-class means (:func:`class_statistics`);
* samples: a batch with a few clips per class from different performers (:func:`batch_per_class`);
* intervals: accuracies with a bootstrap over performers, per stream (printed beside each performer's own
  top-1 by :func:`interval_table`), between two streams, and per row of a fusion report
  (:func:`fusion_row_scores`; the rows' ``kind`` says stream, pair or fusion);
* :func:`eval_mode`: run a model in eval mode and restore its mode afterwards.

Functions take models, inspections, datasets and arrays and return arrays or small dataclasses;
:mod:`aagcn_lab.viz` draws them and the notebooks call both.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .data.ntu import parse_ntu_name
from .data.ucla import parse_ucla_name
from .graph import SUBSET_NAMES, Layout, get_layout, spatial_partition
from .model.modes import eval_mode
from .stats import Interval, bootstrap_accuracy, bootstrap_difference

__all__ = [
    "to_numpy",
    "eval_mode",
    "layer_traces",
    "layer_graphs",
    "layer_alphas",
    "data_graphs",
    "graph_sizes",
    "physical_graph",
    "subset_index",
    "graph_drift",
    "decay_factor",
    "GraphChange",
    "split_graph_change",
    "graph_changes",
    "new_links",
    "SampleAttention",
    "sample_attention",
    "layer_stride",
    "step_frames",
    "steps_to_frames",
    "batch_per_class",
    "class_statistics",
    "performer_of",
    "Interval",
    "bootstrap_accuracy",
    "bootstrap_difference",
    "stream_intervals",
    "performer_accuracies",
    "interval_table",
    "compare_streams",
    "fusion_row_scores",
    "column_centred",
    "top_columns",
    "top_joint_summary",
    "centred_cosine",
    "most_similar_pairs",
    "strongest",
    "shared_strongest",
]


def to_numpy(a: Any) -> np.ndarray:
    """A float numpy array from a numpy array, a torch tensor (detached, on the CPU) or nested lists."""
    if hasattr(a, "detach"):  # torch.Tensor, without importing torch here
        a = a.detach().cpu().numpy()
    return np.asarray(a, dtype=float)


# ------------------------------------------------------------------------------------------------
# Graphs out of a model or an inspection
# ------------------------------------------------------------------------------------------------


def layer_traces(source: Any) -> list | None:
    """The per-layer traces (``LayerTrace``) of an Inspection or of a list of them; None for a model."""
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
    """The learned, sample-independent graph of every layer, ``(L, K, V, V)`` (``B_k`` in the TIP variant),
    from a model or an Inspection (``model.inspect(x)``, or its ``.layers``)."""
    traces = layer_traces(source)
    if traces is not None:
        return np.stack([to_numpy(t.graph) for t in traces])
    return np.stack([to_numpy(unit.static_graph()) for unit in _units(source)])


def layer_alphas(source: Any) -> np.ndarray:
    """``alpha`` of every layer, ``(L,)``; NaN for a layer without a data-dependent graph."""
    traces = layer_traces(source)
    if traces is not None:
        values = [t.alpha for t in traces]
    else:
        values = [float(unit.alpha.detach()) if hasattr(unit, "alpha") else None for unit in _units(source)]
    return np.array([np.nan if a is None else a for a in values], dtype=float)


def data_graphs(inspection: Any, layer: int, sample: int = 0, person: int = 0) -> np.ndarray | None:
    """The data-dependent graphs ``C_k`` of one sample and person at a layer, ``(K, V, V)``, or None."""
    traces = layer_traces(inspection)
    if traces is None:
        raise TypeError("data-dependent graphs come from model.inspect(x): pass the Inspection, not the model")
    dg = traces[layer].data_graph
    return None if dg is None else to_numpy(dg[sample, person])


def graph_sizes(inspection: Any, person: int = 0) -> list[tuple[int, float, float]]:
    """Per layer with a data-dependent graph, ``(layer, mean ||alpha C_k||_F, mean ||B_k||_F)``: the
    mean over samples and subsets (of ``person``) of the per-sample part beside the learned one
    (``alpha`` taken as 1 where the variant adds ``C_k`` as it is)."""
    out = []
    for i, t in enumerate(layer_traces(inspection) or []):
        if t.data_graph is None:
            continue
        alpha = 1.0 if t.alpha is None else abs(float(t.alpha))
        c = np.linalg.norm(to_numpy(t.data_graph[:, person]), axis=(-2, -1)).mean()
        out.append((i, float(alpha * c), float(np.linalg.norm(to_numpy(t.graph), axis=(-2, -1)).mean())))
    return out


def physical_graph(physical: Any = None, source: Any = None) -> np.ndarray:
    """The ``(K, V, V)`` physical partition from an array, a layout (name), or a model's own layout."""
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


def subset_index(subset: int | str) -> int:
    """The index of a subset given by name (``'identity'``, ``'inward'``, ``'outward'``) or number."""
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
    phys = physical_graph(physical, source)
    if phys.shape != learned.shape[1:]:
        raise ValueError(f"physical graph {phys.shape} does not match the layers' graphs {learned.shape[1:]}")
    norm = np.linalg.norm(phys, axis=(-2, -1))  # (K,)
    diff = np.linalg.norm(learned - phys[None], axis=(-2, -1))  # (L, K)
    return np.divide(diff, norm, out=np.full_like(diff, np.nan), where=norm > 0)


# ------------------------------------------------------------------------------------------------
# Weight decay versus gradients in a learned graph
# ------------------------------------------------------------------------------------------------


def decay_factor(lrs: Sequence[float], weight_decay: float, momentum: float = 0.9, nesterov: bool = True) -> float:
    """The factor by which SGD's weight decay alone scales a parameter over the steps ``lrs``.

    torch.optim.SGD with decay and no loss gradient: ``g = wd * w``, ``v <- mu v + g``, and
    ``w <- w - lr (g + mu v)`` (Nesterov) or ``w <- w - lr v``. The update is linear in ``w``, so a
    parameter that starts at ``w0`` ends at ``factor * w0`` plus whatever the loss gradients added.
    """
    if weight_decay < 0 or not 0 <= momentum < 1:
        raise ValueError(f"need weight_decay >= 0 and 0 <= momentum < 1, got {weight_decay}, {momentum}")
    w, v = 1.0, 0.0
    for i, lr in enumerate(lrs):
        g = weight_decay * w
        v = g if i == 0 else momentum * v + g  # torch starts the buffer at the first gradient
        w -= lr * (g + momentum * v if nesterov else v)
    return float(w)


@dataclass
class GraphChange:
    """``learned - initial`` of a graph ``(K, V, V)`` split into two parts that add up to it.

    ``decay``: what weight decay alone would have done (``(factor - 1) * initial``);
    ``gradient``: the rest (``learned - factor * initial``), what the loss gradients changed.
    ``steps``: the SGD steps ``factor`` covers (``None`` when not known, e.g. a released checkpoint).
    """

    initial: np.ndarray
    learned: np.ndarray
    factor: float
    decay: np.ndarray
    gradient: np.ndarray
    steps: int | None = None

    def relative(self) -> dict[str, np.ndarray]:
        """Per subset, ``||part|| / ||initial||`` of the total change, the decay part and the gradient part."""
        norm = np.maximum(np.linalg.norm(self.initial.reshape(len(self.initial), -1), axis=1), 1e-12)

        def rel(x: np.ndarray) -> np.ndarray:
            return np.linalg.norm(x.reshape(len(x), -1), axis=1) / norm

        return {"total": rel(self.learned - self.initial), "decay": rel(self.decay), "gradient": rel(self.gradient)}


def split_graph_change(initial: np.ndarray, learned: np.ndarray, factor: float, steps: int | None = None) -> GraphChange:
    """Split the change of a learned graph into the weight-decay part and the gradient part (see :class:`GraphChange`)."""
    initial, learned = np.asarray(initial, np.float64), np.asarray(learned, np.float64)
    if initial.shape != learned.shape:
        raise ValueError(f"initial graph {initial.shape} and learned graph {learned.shape} differ in shape")
    return GraphChange(initial, learned, float(factor), (factor - 1.0) * initial, learned - factor * initial, steps)


def new_links(initial: np.ndarray, gradient: np.ndarray, threshold: float) -> list[tuple[int, int, int, float]]:
    """Links that the gradients created: ``(subset, sender, receiver, weight)`` where the initial
    graph is 0 and the gradient part exceeds ``threshold`` in magnitude, largest first."""
    initial, gradient = np.asarray(initial), np.asarray(gradient)
    k, i, j = np.nonzero((initial == 0) & (np.abs(gradient) > threshold))
    links = [(int(a), int(b), int(c), float(gradient[a, b, c])) for a, b, c in zip(k, i, j)]
    return sorted(links, key=lambda t: -abs(t[3]))


def graph_changes(model: Any, checkpoint: str | os.PathLike) -> list[GraphChange]:
    """Per layer, the learned graph's change split into weight decay and gradients
    (:class:`GraphChange`), using the training run stored in ``checkpoint``.

    A checkpoint without its training state (e.g. a released pyskl file) gets factor 1: the whole
    change is then reported as gradient."""
    from .model.checkpoint import read_checkpoint
    from .train.config import TrainConfig, apply_overrides
    from .train.schedule import lr_at_step, scaled_lr

    state = read_checkpoint(checkpoint).train_state or {}
    factor, steps = 1.0, None
    if state.get("train_config"):
        cfg = apply_overrides(TrainConfig(), {k: v for k, v in state["train_config"].items() if k in TrainConfig.__dataclass_fields__})
        batch = int(state["global_batch"])
        base_lr = scaled_lr(cfg, batch)
        steps_per_epoch = int(state.get("steps_per_epoch") or state["global_step"] // max(state["epoch"], 1))
        steps = int(state["global_step"])
        lrs = [lr_at_step(cfg, base_lr, steps_per_epoch, i) for i in range(steps)]
        factor = decay_factor(lrs, cfg.weight_decay if cfg.graph_weight_decay else 0.0, cfg.momentum, cfg.nesterov)
    initial = model.backbone.A.detach().double().numpy()
    return [split_graph_change(initial, block.gcn.static_graph().detach().double().numpy(), factor, steps) for block in model.backbone.gcn]


# ------------------------------------------------------------------------------------------------
# Attention of one sample
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


def sample_attention(inspection: Any, sample: int = 0, person: int = 0, num_frames: int | None = None) -> SampleAttention:
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


# ------------------------------------------------------------------------------------------------
# Per-class statistics
# ------------------------------------------------------------------------------------------------


def _spread_over_performers(indices: Sequence[int], frame_dirs: Sequence[str], count: int) -> list[int]:
    """``count`` of ``indices``, one per performer in turn (first take of each, then the second ...),
    so that a class mean is not the mean of one performance seen by three cameras."""
    by_performer: dict[int, list[int]] = {}
    for i in indices:
        try:
            key = performer_of(frame_dirs[i])
        except ValueError:  # ids without a performer field: keep the order
            key = len(by_performer)
        by_performer.setdefault(key, []).append(int(i))
    queues = list(by_performer.values())
    out: list[int] = []
    depth = 0
    while len(out) < count and any(depth < len(q) for q in queues):
        out += [q[depth] for q in queues if depth < len(q)][: count - len(out)]
        depth += 1
    return out


def batch_per_class(dataset: Any, per_class: int = 1, classes: Sequence[int] | None = None) -> tuple[Any, list[int], list[str]]:
    """``(x, labels, frame_dirs)``: ``per_class`` samples of each class of a
    :class:`~aagcn_lab.data.SkeletonDataset` (one clip each), in class order, taken from as many
    different performers as the split has."""
    import torch

    labels = np.asarray(dataset.labels)
    wanted = list(classes) if classes is not None else sorted(set(labels.tolist()))
    ids = dataset.frame_dirs
    idx = [i for c in wanted for i in _spread_over_performers(np.nonzero(labels == c)[0], ids, per_class)]
    if not idx:
        raise ValueError("no sample of the requested classes in this dataset")
    x = torch.stack([dataset[i][0][0] for i in idx])
    return x, [int(labels[i]) for i in idx], [ids[i] for i in idx]


def class_statistics(model: Any, dataset: Any, layer: int, per_class: int = 8, batch_size: int = 32) -> dict:
    """Per class, the mean over samples (person 0) of what ``model.inspect`` reports at ``layer`` in
    eval mode: spatial attention ``(K, V)``, temporal attention ``(K, T_l)``, channel attention
    ``(K, C_l)``, data-dependent graph ``(K, 3, V, V)`` (entries missing when the model has no such
    part), and the class order ``classes``."""
    x, labels, _ = batch_per_class(dataset, per_class)
    labels = np.asarray(labels)
    parts: dict[str, list] = {"spatial": [], "temporal": [], "channel": [], "data_graph": []}
    with eval_mode(model):
        for start in range(0, len(x), batch_size):
            lay = model.inspect(x[start : start + batch_size]).layers[layer]
            for key in parts:
                val = getattr(lay, key)
                if val is not None:
                    parts[key].append(val[:, 0].float().numpy())
    classes = sorted(set(labels.tolist()))
    out: dict = {"classes": classes}
    for key, chunks in parts.items():
        if chunks:
            arr = np.concatenate(chunks)
            out[key] = np.stack([arr[labels == c].mean(0) for c in classes])
    return out


# ------------------------------------------------------------------------------------------------
# Rankings and similarities (per-class maps, graphs)
# ------------------------------------------------------------------------------------------------


def strongest(matrix: np.ndarray, k: int) -> np.ndarray:
    """A ``(V, V)`` matrix with only its ``k`` largest off-diagonal entries (by magnitude) kept, the rest 0."""
    m = np.asarray(matrix, np.float64)
    off = np.abs(m) * (1 - np.eye(len(m)))
    keep = np.zeros_like(m, dtype=bool)
    flat = np.argsort(-off, axis=None, kind="stable")[:k]
    keep.flat[flat] = off.flat[flat] > 0
    return np.where(keep, m, 0.0)


def shared_strongest(a: np.ndarray, b: np.ndarray, k: int) -> list[tuple[int, int]]:
    """The ``(row, column)`` places among the ``k`` strongest off-diagonal entries of both ``a`` and
    ``b`` (:func:`strongest`, by magnitude), in the order of ``a``'s magnitudes."""
    keep_a, keep_b = strongest(a, k) != 0, strongest(b, k) != 0
    rows, cols = np.nonzero(keep_a & keep_b)
    mags = np.abs(np.asarray(a, np.float64))[rows, cols]
    return [(int(rows[i]), int(cols[i])) for i in np.argsort(-mags, kind="stable")]


def column_centred(values: np.ndarray, centre: str = "mean") -> np.ndarray:
    """``values (rows, cols)`` minus each column's mean (or ``centre="median"``) over the rows: what a row has more
    or less of than the other rows (for per-action maps: than the average, or the typical, action). The median is
    not pulled by a few rows that are low or high in every column."""
    values = np.asarray(values, np.float64)
    if centre not in ("mean", "median"):
        raise ValueError(f"centre must be 'mean' or 'median', got {centre!r}")
    middle = values.mean(0, keepdims=True) if centre == "mean" else np.median(values, 0, keepdims=True)
    return values - middle


def top_columns(values: np.ndarray, k: int = 3) -> list[list[int]]:
    """Per row, the indices of the ``k`` largest entries, largest first."""
    return [list(map(int, np.argsort(-row, kind="stable")[:k])) for row in np.asarray(values)]


# body parts by joint name (case-insensitive parts of NTU's, COCO's and OpenPose's names)
_BODY_PARTS = {"trunk": ("spine", "neck", "head"), "hand": ("hand", "thumb", "wrist"), "leg": ("hip", "knee", "ankle", "foot")}


def top_joint_summary(views: Mapping[str, np.ndarray], joint_names: Sequence[str], k: int = 3) -> str:
    """One line per view of an ``(actions, joints)`` table (e.g. uncentred, mean- and median-centred): how many
    actions share the most common top-``k`` set, the joints most often in a top ``k`` (with their index: the
    position a convolution along the joint axis sees), and how many top-``k`` sets hold a trunk, hand or leg joint."""
    parts = {p: {j for j, n in enumerate(joint_names) if any(w in n.lower() for w in words)} for p, words in _BODY_PARTS.items()}
    lines = []
    for view, table in views.items():
        tops = top_columns(table, k)
        sets = [frozenset(t) for t in tops]
        common = max(set(sets), key=sets.count)
        counts = [sum(j in t for t in tops) for j in range(len(joint_names))]
        often = sorted(range(len(joint_names)), key=lambda j: -counts[j])[:4]
        with_part = [sum(bool(set(t) & parts[p]) for t in tops) for p in _BODY_PARTS]
        lines.append(
            f"{view}: {sets.count(common)} of {len(sets)} actions share the same top {k} "
            f"({', '.join(sorted(joint_names[j] for j in common))}); most often in a top {k}: "
            + ", ".join(f"{joint_names[j]} (joint {j}) {counts[j]} time{'s' * (counts[j] != 1)}" for j in often)
            + f"; top {k} with a trunk joint: {with_part[0]} of {len(sets)}, a hand joint: {with_part[1]}, a leg joint: {with_part[2]}"
        )
    return "\n".join(lines)


def centred_cosine(rows: np.ndarray) -> np.ndarray:
    """Cosine similarity between rows after subtracting the mean row. Without centring the part that
    every row shares makes every cosine close to 1; with it, the mean off-diagonal value of n rows is
    about -1/(n-1) by construction, so only the pattern (which pairs are alike) carries information."""
    flat = np.asarray(rows, np.float64).reshape(len(rows), -1)
    flat = flat - flat.mean(0)
    unit = flat / np.maximum(np.linalg.norm(flat, axis=1, keepdims=True), 1e-12)
    return unit @ unit.T


def most_similar_pairs(similarity: np.ndarray, k: int = 5) -> list[tuple[int, int, float]]:
    """The ``k`` most similar distinct pairs ``(i, j, s)`` with ``i < j`` of a symmetric matrix."""
    sim = np.asarray(similarity)
    i, j = np.triu_indices(len(sim), 1)
    order = np.argsort(-sim[i, j], kind="stable")[:k]
    return [(int(i[o]), int(j[o]), float(sim[i[o], j[o]])) for o in order]


# ------------------------------------------------------------------------------------------------
# Intervals: a bootstrap over performers (aagcn_lab.stats)
# ------------------------------------------------------------------------------------------------


def performer_of(frame_dir: str) -> int:
    """The performer id of a sample id: NTU's ``SsssCcccPpppRrrrAaaa`` (P009 -> 9) or NW-UCLA's
    ``aAA_sSS_eEE_vVV`` (s03 -> 3), read by the datasets' own name parsers."""
    for parse in (parse_ntu_name, parse_ucla_name):
        try:
            return parse(frame_dir).subject
        except ValueError:
            continue
    raise ValueError(f"sample id {frame_dir!r} has no performer field (NTU Pxxx or NW-UCLA sNN)")


def stream_intervals(scores: Mapping[str, Any], n_boot: int = 2000, level: float = 0.95) -> dict[str, Interval]:
    """Top-1 of each :class:`~aagcn_lab.scores.Scores` with an interval (``level``) from a bootstrap over performers."""
    out = {}
    for name, sc in scores.items():
        groups = [performer_of(f) for f in sc.frame_dir]
        out[name] = bootstrap_accuracy(np.asarray(sc.probs).argmax(1) == np.asarray(sc.labels), groups, n_boot, level=level)
    return out


def performer_accuracies(scores: Any) -> dict[int, float]:
    """Top-1 of a :class:`~aagcn_lab.scores.Scores` per performer: ``{performer id: accuracy}``, ids in increasing order."""
    groups = np.array([performer_of(f) for f in scores.frame_dir])
    correct = np.asarray(scores.probs).argmax(1) == np.asarray(scores.labels)
    return {int(p): float(correct[groups == p].mean()) for p in np.unique(groups)}


_FEW_PERFORMERS = 10  # below this many groups a percentile bootstrap over them is coarse and too narrow


def interval_table(scores: Mapping[str, Any], intervals: Mapping[str, Interval] | None = None, level: float = 0.95) -> str:
    """One line per row of ``scores``: top-1 with its bootstrap interval over performers (``intervals``, else
    :func:`stream_intervals`), correct of total, and each performer's own top-1 beside it; a first line says how many
    performers the interval rests on and, when they are few, that it is rough."""
    intervals = intervals if intervals is not None else stream_intervals(scores, level=level)
    first = next(iter(scores.values()))
    counts = np.unique([performer_of(f) for f in first.frame_dir], return_counts=True)[1]
    n = len(counts)
    each = f"{counts[0]} samples each" if counts.min() == counts.max() else f"{counts.min()}-{counts.max()} samples each"
    head = f"intervals: {100 * intervals[next(iter(scores))].level:.0f} % bootstrap over the {n} test performers ({each})"
    if n < _FEW_PERFORMERS:
        head += (f"; {n} performers allow only {math.comb(2 * n - 1, n)} distinct resamples and such an interval tends to "
                 "be too narrow: read it as rough, beside the per-performer top-1")
    width = max(len(name) for name in scores)
    lines = [head]
    for name, sc in scores.items():
        iv, total = intervals[name], len(sc.frame_dir)
        hits = int((np.asarray(sc.probs).argmax(1) == np.asarray(sc.labels)).sum())
        per = ", ".join(f"P{p} {100 * a:.1f}" for p, a in performer_accuracies(sc).items())
        lines.append(f"{name:{width}s}  top-1 {iv}  {hits} of {total} | per performer: {per}")
    return "\n".join(lines)


def compare_streams(a: Any, b: Any, n_boot: int = 2000) -> Interval:
    """Top-1 of Scores ``a`` minus that of ``b`` on the same samples (matched by id), with a paired
    bootstrap over performers: an :class:`Interval`."""
    b = b.reorder(a.frame_dir)
    groups = [performer_of(f) for f in a.frame_dir]
    return bootstrap_difference(a.probs.argmax(1) == a.labels, np.asarray(b.probs).argmax(1) == np.asarray(b.labels), groups, n_boot)


def fusion_row_scores(report: Any, scores: Mapping[str, Any]) -> dict[str, Any]:
    """Per row of a :class:`~aagcn_lab.fusion.FusionReport`, the Scores it rests on: a stream's own,
    or the weighted sum of its streams' (matched by sample id), for intervals and comparisons."""
    from .fusion import fuse

    return {r.name: fuse({s: scores[s] for s in r.weights}, r.weights) for r in report.rows}
