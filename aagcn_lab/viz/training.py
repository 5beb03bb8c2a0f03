"""Training curves, confusion matrices and per-class accuracy.

The trainer writes a JSON-lines metrics file: one JSON object per line, e.g. ::

    {"split": "train", "epoch": 3, "step": 1250, "loss": 0.91, "top1": 0.72, "lr": 0.1}
    {"split": "val", "epoch": 3, "loss": 0.88, "top1": 0.74, "top5": 0.95, "mean_class_acc": 0.73}

``split`` tells the per-step training records from the per-epoch validation records; any key
may be missing and unknown keys are ignored. :func:`read_metrics` reads such a file even while
training is still writing it (a half-written last line is skipped), and :func:`plot_curves`
draws loss and accuracy of one or several runs.

Counts: ``cm[i, j]`` is the number of samples of **true class i predicted as class j** (rows are
the truth, as in scikit-learn). :func:`normalize_confusion` divides each row by its sum, so a row
reads "where did the samples of this class go", and the diagonal is the per-class accuracy.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from ..metrics import confusion_matrix, per_class_accuracy  # re-exported for plotting code
from .skeleton import new_figure, to_numpy

__all__ = [
    "read_metrics",
    "plot_curves",
    "confusion_matrix",
    "normalize_confusion",
    "per_class_accuracy",
    "top_confusions",
    "plot_confusion",
    "plot_per_class_accuracy",
    "plot_intervals",
    "plot_fusion",
]

DEFAULT_METRICS = ("loss", "top1", "top5", "mean_class_acc")
_SPLIT_STYLE = {"train": "-", "val": "--", "test": ":"}
_RUN_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")


# ------------------------------------------------------------------------------------------------
# Metrics logs
# ------------------------------------------------------------------------------------------------


def read_metrics(path: str | os.PathLike) -> list[dict]:
    """Read a JSON-lines metrics file into a list of dicts, skipping a partially written last line.

    A line that is not a JSON object anywhere else is skipped with a warning (a crashed and
    resumed run can leave one behind); blank lines are ignored.
    """
    text = Path(path).read_text(encoding="utf-8", errors="replace")
    lines = text.split("\n")
    last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
    records = []
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            if i == last and not text.endswith("\n"):
                continue  # the writer is (or was) in the middle of this line
            warnings.warn(f"{path}:{i + 1}: skipping a line that is not valid JSON", stacklevel=2)
            continue
        if isinstance(obj, dict):
            records.append(obj)
        else:
            warnings.warn(f"{path}:{i + 1}: skipping a JSON value that is not an object", stacklevel=2)
    return records


def _runs(source: Any) -> dict[str, list[dict]]:
    """Normalise records / a path / ``{name: records or path}`` to ``{name: records}``."""
    if isinstance(source, (str, os.PathLike)):
        return {Path(source).stem: read_metrics(source)}
    if isinstance(source, Mapping):
        if all(isinstance(v, (list, tuple, str, os.PathLike)) for v in source.values()):
            return {
                str(name): (read_metrics(v) if isinstance(v, (str, os.PathLike)) else list(v))
                for name, v in source.items()
            }
        return {"run": [dict(source)]}  # a single record
    return {"run": list(source)}


def _series(records: list[dict], metric: str, split: str, x: str) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of one metric and split. Per epoch the records are averaged; per step they are kept.

    A validation record without ``step`` is placed at the last training step of its epoch.
    """
    if x == "epoch":
        by_epoch: dict[float, list[float]] = {}
        for r in records:
            if r.get("split", "train") == split and metric in r and "epoch" in r and r[metric] is not None:
                by_epoch.setdefault(float(r["epoch"]), []).append(float(r[metric]))
        xs = sorted(by_epoch)
        return np.array(xs), np.array([np.mean(by_epoch[e]) for e in xs])
    last_step: dict[Any, float] = {}
    for r in records:
        if r.get("split", "train") == "train" and "step" in r and "epoch" in r:
            last_step[r["epoch"]] = max(last_step.get(r["epoch"], -np.inf), float(r["step"]))
    pts = []
    for r in records:
        if r.get("split", "train") != split or metric not in r or r[metric] is None:
            continue
        step = r.get("step", last_step.get(r.get("epoch")))
        if step is not None:
            pts.append((float(step), float(r[metric])))
    pts.sort()
    return np.array([p[0] for p in pts]), np.array([p[1] for p in pts])


def plot_curves(
    source: Any,
    *,
    x: str = "epoch",
    metrics: Sequence[str] | None = None,
    splits: Sequence[str] | None = None,
    title: str | None = None,
) -> Figure:
    """Loss and accuracy curves of one or several runs, one panel per metric.

    ``source``: a list of records, a metrics file path, or ``{run name: records or path}`` to
    overlay runs (e.g. the four streams). ``x='epoch'`` averages the training steps of each
    epoch; ``x='step'`` shows every logged step. Colour = run, line style = split (train solid,
    val dashed). ``metrics`` defaults to those present among loss, top1, top5, mean_class_acc
    (add ``'lr'`` to see the schedule).
    """
    if x not in ("epoch", "step"):
        raise ValueError(f"x must be 'epoch' or 'step', got {x!r}")
    runs = _runs(source)
    everything = [r for recs in runs.values() for r in recs]
    if metrics is None:
        metrics = [m for m in DEFAULT_METRICS if any(m in r for r in everything)]
    if not metrics:
        raise ValueError("no known metric (loss, top1, top5, mean_class_acc) in these records; pass metrics=")
    if splits is None:
        found = {r.get("split", "train") for r in everything}
        splits = [s for s in _SPLIT_STYLE if s in found] + sorted(found - set(_SPLIT_STYLE))
    ncols = min(len(metrics), 2)
    nrows = -(-len(metrics) // ncols)
    fig = new_figure((5.2 * ncols + 1.8, 3.4 * nrows + 0.4))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    most_points = dict.fromkeys(splits, 0)  # per split, the most points one run drew: 1 means a dot, not a line
    for ax, metric in zip(axes.flat, metrics):
        for i, (name, records) in enumerate(runs.items()):
            color = _RUN_COLORS[i % len(_RUN_COLORS)]
            for split in splits:
                xs, ys = _series(records, metric, split, x)
                most_points[split] = max(most_points[split], len(xs))
                if len(xs):
                    marker = "o" if (len(xs) <= 30 and split != "train") else None
                    ax.plot(
                        xs,
                        ys,
                        _SPLIT_STYLE.get(split, "-."),
                        color=color,
                        marker=marker,
                        ms=3,
                        lw=1.5,
                        label=f"{name} · {split}",
                    )
        ax.set_title(metric)
        ax.set_xlabel(x)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs and steps are whole numbers
        ax.grid(alpha=0.3)
        if metric == "lr":
            ax.set_yscale("log")
    for ax in list(axes.flat)[len(metrics) :]:
        ax.set_visible(False)
    handles = [Line2D([], [], color=_RUN_COLORS[i % len(_RUN_COLORS)], lw=2, label=name) for i, name in enumerate(runs)]
    handles += [
        Line2D([], [], color="0.3", ls=_SPLIT_STYLE.get(s, "-."), label=s)
        if most_points[s] > 1
        else Line2D([], [], color="0.3", ls="none", marker="o", ms=3, label=f"{s} (one point per run)")
        for s in splits
        if most_points[s]
    ]
    fig.legend(handles=handles, loc="outside right center", fontsize=8, frameon=False)
    if title:
        fig.suptitle(title)
    return fig


# ------------------------------------------------------------------------------------------------
# Confusion matrices and per-class accuracy
# ------------------------------------------------------------------------------------------------


def normalize_confusion(cm: Any) -> np.ndarray:
    """Divide each row by its sum (rows of a class with no samples stay 0)."""
    m = to_numpy(cm)
    rows = m.sum(axis=1, keepdims=True)
    return np.divide(m, rows, out=np.zeros_like(m), where=rows > 0)


def top_confusions(cm: Any, class_names: Sequence[str] | None = None, k: int = 10) -> list[tuple[Any, Any, int]]:
    """The ``k`` most frequent mistakes as ``(true class, predicted class, count)``, largest first.

    Classes are given by name when ``class_names`` is passed, else by index. Pairs with no
    mistakes are left out.
    """
    m = to_numpy(cm).astype(np.int64)
    off = m.copy()
    np.fill_diagonal(off, 0)
    flat = np.argsort(off, axis=None, kind="stable")[::-1]
    out = []
    for idx in flat[:k]:
        i, j = (int(c) for c in np.unravel_index(idx, off.shape))
        if off[i, j] == 0:
            break
        if class_names is not None:
            out.append((class_names[i], class_names[j], int(off[i, j])))
        else:
            out.append((i, j, int(off[i, j])))
    return out


def _short(name: str, limit: int) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


def plot_confusion(
    cm: Any,
    class_names: Sequence[str] | None = None,
    *,
    normalize: bool = True,
    annotate: bool | None = None,
    max_label: int = 28,
    title: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """A confusion matrix (rows = true class, columns = predicted), row-normalised by default.

    Readable from 5 to 120 classes: the figure and fonts scale with the number of classes, long
    names are shortened to ``max_label`` characters, and cells get numbers only when there are
    few classes (``annotate`` forces it on or off).
    """
    counts = to_numpy(cm)
    k = len(counts)
    data = normalize_confusion(counts) if normalize else counts
    names = [_short(str(n), max_label) for n in class_names] if class_names is not None else [str(i) for i in range(k)]
    if ax is None:
        side = min(max(5.0, 0.2 * k + 3.0), 26.0)
        fig = new_figure((side + 1.2, side))
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    im = ax.imshow(data, cmap="Blues", vmin=0, vmax=1 if normalize else None, interpolation="nearest")
    size = 9 if k <= 15 else 7 if k <= 40 else 5.5 if k <= 80 else 4
    ax.set_xticks(range(k), names, rotation=90, fontsize=size)
    ax.set_yticks(range(k), names, fontsize=size)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    if annotate is None:
        annotate = k <= 15
    if annotate:
        for i in range(k):
            for j in range(k):
                value = data[i, j]
                if value:
                    text = f"{value:.2f}" if normalize else f"{int(value)}"
                    ax.text(
                        j,
                        i,
                        text,
                        ha="center",
                        va="center",
                        fontsize=7,
                        color="white" if value > 0.6 * np.nanmax(data) else "black",
                    )
    fig.colorbar(im, ax=ax, shrink=0.6, label="fraction of the true class" if normalize else "samples")
    total = counts.sum()
    acc = np.trace(counts) / total if total else float("nan")
    ax.set_title(
        title or f"confusion matrix · {k} classes · top-1 {acc:.1%}" + (" (rows sum to 1)" if normalize else "")
    )
    return fig


def plot_per_class_accuracy(
    accuracies: Mapping[str, Any],
    class_names: Sequence[str] | None = None,
    *,
    sort_by: str | None = None,
    max_label: int = 32,
    title: str | None = None,
) -> Figure:
    """Per-class accuracy of several streams (and their fusion) as a dot plot, one row per class.

    ``accuracies`` maps a stream name (``'joint'``, ``'bone'``, ``'fusion'`` ...) to a ``(K,)``
    array. Rows are sorted by the ``sort_by`` stream (default: the last one, usually the fusion),
    worst class on top, so the classes that need work stand out. A grey bar spans the streams'
    range for each class: long bars are classes where the streams disagree, which is where
    fusion helps.
    """
    names_runs = list(accuracies)
    acc = np.stack([to_numpy(accuracies[n]).ravel() for n in names_runs])  # (S, K)
    s, k = acc.shape
    labels = [_short(str(n), max_label) for n in class_names] if class_names is not None else [str(i) for i in range(k)]
    if len(labels) != k:
        raise ValueError(f"{len(labels)} class names for {k} classes")
    key = names_runs.index(sort_by) if sort_by is not None else s - 1
    order = np.argsort(acc[key], kind="stable")  # worst first
    fig = new_figure((7.5, min(max(3.0, 0.17 * k + 1.4), 30.0)))
    ax = fig.add_subplot()
    rows = np.arange(k)
    ax.hlines(rows, np.nanmin(acc[:, order], axis=0), np.nanmax(acc[:, order], axis=0), color="0.8", lw=3, zorder=1)
    markers = ("o", "s", "^", "D", "v", "P", "X")
    for i, name in enumerate(names_runs):
        ax.scatter(
            acc[i, order],
            rows,
            s=22,
            marker=markers[i % len(markers)],
            color=_RUN_COLORS[i % len(_RUN_COLORS)],
            label=f"{name} (mean {np.nanmean(acc[i]):.3g})",
            zorder=2,
        )
    ax.set_yticks(rows, [labels[c] for c in order], fontsize=9 if k <= 30 else 6.5 if k <= 70 else 4.5)
    ax.set_ylim(k - 0.5, -0.5)  # worst class at the top
    ax.set_xlabel("per-class accuracy")
    ax.grid(axis="x", alpha=0.3)
    fig.legend(loc="outside lower center", ncols=min(s, 4), fontsize=8, frameon=False)
    ax.set_title(title or f"per-class accuracy · sorted by {names_runs[key]}, worst on top")
    return fig


def plot_intervals(intervals: Mapping[str, Any], *, title: str = "", colors: Mapping[str, str] | None = None) -> Figure:
    """Accuracies as dots with their intervals, one row each (``intervals``: name -> object with
    ``value``, ``low``, ``high`` in [0, 1], e.g. :class:`~aagcn_lab.stats.Interval`)."""
    names = list(intervals)[::-1]
    fig = new_figure((8, 0.32 * len(names) + 1.2))
    ax = fig.subplots()
    for i, name in enumerate(names):
        iv = intervals[name]
        color = (colors or {}).get(name, "tab:blue")
        ax.errorbar(100 * iv.value, i, xerr=[[100 * (iv.value - iv.low)], [100 * (iv.high - iv.value)]], fmt="o", color=color, capsize=3)
    ax.set_yticks(range(len(names)), names, fontsize=8)
    ax.set(xlabel="top-1 (%) with 95 % interval", title=title)
    ax.grid(axis="x", alpha=0.3)
    return fig


FUSION_COLORS = {"stream": "tab:blue", "combination": "tab:gray", "fusion": "tab:red"}


def plot_fusion(report: Any, intervals: Mapping[str, Any] | None = None, *, title: str = "") -> Figure:
    """A fusion report's rows as dots with intervals, coloured by kind: single streams blue, pairs grey,
    fusions red (``report``: :class:`~aagcn_lab.fusion.FusionReport`; ``intervals``: row name ->
    interval, e.g. ``analysis.stream_intervals(analysis.fusion_row_scores(report, scores))``;
    without them, each row's top-1 alone)."""
    if intervals is None:
        intervals = {r.name: _Point(r.top1) for r in report.rows}
    missing = [r.name for r in report.rows if r.name not in intervals]
    if missing:
        raise KeyError(f"no interval for the rows {', '.join(missing)}")
    colors = {r.name: FUSION_COLORS.get(r.kind, "tab:blue") for r in report.rows}
    return plot_intervals({r.name: intervals[r.name] for r in report.rows}, colors=colors,
                          title=title or "single streams (blue), pairs (grey), fusions (red)")


class _Point:
    """A value without an interval (low = high = value), for :func:`plot_intervals`."""

    def __init__(self, value: float) -> None:
        self.value = self.low = self.high = float(value)
