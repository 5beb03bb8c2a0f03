"""Multi-stream fusion: weighted sums of per-stream probabilities, matched by sample id.

MS-AAGCN's final prediction is a weighted sum of the four streams' class probabilities (each
stream: softmax per clip, averaged over 10 clips). pyskl's weights are 1:1 for joint + bone and
2:2:1:1 for j:b:jm:bm. This module

* reads score files -- ours (``.npz``) and pyskl's ``--out`` result pickles (a list of probability
  vectors in annotation order, aligned through the annotation file and split name);
* matches rows by ``frame_dir``, never by position, and refuses sets that differ, listing the
  missing samples (the classic failure: files in different orders fuse to chance accuracy);
* reports top-1, top-5 and mean class accuracy of each stream, each pair and the fusion;
* optionally searches weights on a *tuning* split whose samples are disjoint from the evaluated
  ones (it refuses to tune on the samples it reports on), and reports them beside the defaults.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .data.validate import InputError, check_probabilities, check_weights
from .io import CorruptFileError, safe_pickle_load
from .metrics import mean_class_accuracy, top_k_accuracy
from .scores import Scores, load_scores

__all__ = [
    "STREAM_ORDER",
    "FusionError",
    "FusionRow",
    "parse_weights",
    "FusionReport",
    "default_weights",
    "read_score_file",
    "read_pyskl_results",
    "align",
    "stream_weights",
    "fuse",
    "fusion_report",
    "search_weights",
]

STREAM_ORDER = ("j", "b", "jm", "bm")
_PYSKL_WEIGHTS = {("b", "j"): {"j": 1.0, "b": 1.0}, ("b", "bm", "j", "jm"): {"j": 2.0, "b": 2.0, "jm": 1.0, "bm": 1.0}}


class FusionError(InputError):
    """Score files that cannot be fused as asked (different samples, classes or labels)."""


def default_weights(streams: Sequence[str]) -> dict[str, float]:
    """pyskl's weights: j:b = 1:1, j:b:jm:bm = 2:2:1:1; equal weights for any other set."""
    key = tuple(sorted(streams))
    return dict(_PYSKL_WEIGHTS.get(key, {s: 1.0 for s in streams}))


# ------------------------------------------------------------------------------------------------
# Reading
# ------------------------------------------------------------------------------------------------


def read_pyskl_results(path: str | os.PathLike, ann_file: str | os.PathLike, split: str) -> Scores:
    """pyskl's ``tools/test.py --out result.pkl`` (one probability vector per sample, in the order
    pyskl's PoseDataset lists the split: annotation-file order), with ids and labels from the
    annotation file."""
    from .data.records import load_annotations

    obj = safe_pickle_load(path)
    if isinstance(obj, np.ndarray) and obj.ndim == 2:
        rows = list(obj)
    elif isinstance(obj, (list, tuple)) and all(isinstance(r, np.ndarray) and r.ndim == 1 for r in obj):
        rows = list(obj)
    else:
        raise CorruptFileError(f"{path}: expected pyskl's --out result (a list of per-sample probability vectors)")
    records = load_annotations(ann_file).select(split)
    if len(records) != len(rows):
        raise FusionError(
            f"{path} has {len(rows)} results but split {split!r} of {ann_file} has {len(records)} samples: "
            "the result file belongs to another split or annotation file"
        )
    probs = check_probabilities(np.stack(rows).astype(np.float64), [r["frame_dir"] for r in records], str(path))
    return Scores([r["frame_dir"] for r in records], probs, np.array([int(r["label"]) for r in records]), {"source": "pyskl", "split": split})


def read_score_file(path: str | os.PathLike, ann_file: str | os.PathLike | None = None, split: str | None = None) -> Scores:
    """Our ``.npz`` score file, or a pyskl result pickle (then ``ann_file`` and ``split`` are needed)."""
    path = Path(path)
    if path.suffix == ".npz":
        return load_scores(path)
    if ann_file is None or split is None:
        raise FusionError(f"{path}: a pyskl result file has no sample ids; give the annotation file and split to align it")
    return read_pyskl_results(path, ann_file, split)


def stream_name(scores: Scores, path: str | os.PathLike | None = None) -> str:
    """The stream of a score file: its metadata, else a j/b/jm/bm token in the file name."""
    feat = scores.meta.get("feat")
    if feat:
        return str(feat)
    if path is not None:
        tokens = Path(path).stem.replace("-", "_").split("_")
        for s in ("jm", "bm", "j", "b"):
            if s in tokens:
                return s
        return Path(path).stem
    raise FusionError("cannot tell which stream these scores are; name them")


# ------------------------------------------------------------------------------------------------
# Aligning and fusing
# ------------------------------------------------------------------------------------------------


def align(scores: Mapping[str, Scores]) -> tuple[list[str], dict[str, np.ndarray], np.ndarray | None]:
    """Rows of every stream in one common sample order (the first stream's), matched by id.

    Raises :class:`FusionError` naming the samples missing from each stream, a class-count
    mismatch, or labels that disagree between files.
    """
    if not scores:
        raise FusionError("no score files to fuse")
    names = list(scores)
    ref_ids = scores[names[0]].frame_dir
    ref_set = set(ref_ids)
    problems = []
    for name in names[1:]:
        ids = set(scores[name].frame_dir)
        missing, extra = sorted(ref_set - ids), sorted(ids - ref_set)
        if missing or extra:
            msg = f"stream {name!r} vs {names[0]!r}:"
            if missing:
                msg += f" {len(missing)} sample(s) missing from {name!r} ({', '.join(missing[:8])}{' ...' if len(missing) > 8 else ''});"
            if extra:
                msg += f" {len(extra)} sample(s) only in {name!r} ({', '.join(extra[:8])}{' ...' if len(extra) > 8 else ''})"
            problems.append(msg)
    if problems:
        raise FusionError("score files cover different samples; fusing them would misalign predictions:\n  " + "\n  ".join(problems))
    ks = {name: s.num_classes for name, s in scores.items()}
    if len(set(ks.values())) > 1:
        raise FusionError(f"streams have different numbers of classes: {ks}")
    aligned = {name: s.reorder(ref_ids) for name, s in scores.items()}
    labels = None
    for name, s in aligned.items():
        if s.labels is None:
            continue
        if labels is None:
            labels = s.labels
        elif not np.array_equal(labels, s.labels):
            bad = [ref_ids[i] for i in np.nonzero(labels != s.labels)[0][:8]]
            raise FusionError(f"labels of stream {name!r} disagree with the others for {', '.join(bad)}")
    return list(ref_ids), {name: s.probs for name, s in aligned.items()}, labels


def parse_weights(text: str) -> dict[str, float] | None:
    """Stream weights from text such as ``"j=2,b=2,jm=1,bm=1"`` or ``"j:2,b:2"``; ``""`` gives None (the defaults)."""
    if not text.strip():
        return None
    weights = {}
    for item in text.split(","):
        name, sep, value = item.replace(":", "=").partition("=")
        if name.strip() in weights:
            raise ValueError(f"bad fusion weights {text!r}: stream {name.strip()!r} given twice")
        try:
            weights[name.strip()] = float(value)
        except ValueError:
            raise ValueError(f"bad fusion weight {item!r} in {text!r}: expected STREAM=NUMBER, e.g. j=2,b=2,jm=1,bm=1") from None
        if not sep or not name.strip():
            raise ValueError(f"bad fusion weight {item!r} in {text!r}: expected STREAM=NUMBER")
    return check_weights(weights, f"fusion weights {text!r}")


def stream_weights(weights: Mapping[str, float] | None, streams: Sequence[str], missing: str = "scores") -> dict[str, float]:
    """The fusion weights of ``streams``: ``weights`` (pyskl's by default) checked, none for a stream that has
    no ``missing`` (scores, a checkpoint) and not every stream's 0, else a :class:`FusionError`."""
    weights = check_weights(weights if weights is not None else default_weights(list(streams)))
    unknown = sorted(set(weights) - set(streams))
    if unknown:
        raise FusionError(f"weights given for streams without {missing}: {', '.join(unknown)}")
    if not any(weights.get(s, 0.0) for s in streams):
        raise FusionError(f"every stream's weight is 0: {weights}")
    return weights


def fuse(scores: Mapping[str, Scores], weights: Mapping[str, float] | None = None, normalise: bool = False) -> Scores:
    """``sum_s w_s * p_s`` over streams, rows matched by id (weights default to pyskl's); ``normalise``:
    divided by ``sum_s w_s``, so that each row is a probability vector again (prediction)."""
    ids, probs, labels = align(scores)
    weights = stream_weights(weights, list(scores))
    fused = sum(weights.get(name, 0.0) * p for name, p in probs.items())
    if normalise:
        fused = fused / sum(weights.get(name, 0.0) for name in probs)
    return Scores(ids, fused, labels, {"fused": {k: float(v) for k, v in weights.items()}})


# ------------------------------------------------------------------------------------------------
# Reporting
# ------------------------------------------------------------------------------------------------


@dataclass
class FusionRow:
    """One line of the report: a stream, a pair or a fusion, with its weights and accuracies.

    ``kind``: ``'stream'`` (one stream), ``'combination'`` (a pair of streams) or ``'fusion'``
    (every stream, with the given or the tuned weights), for tables and figures that group rows."""

    name: str
    weights: dict[str, float]
    top1: float
    top5: float
    mean_class_acc: float
    kind: str = "stream"


@dataclass
class FusionReport:
    """Accuracies of each stream, each pair and the fusion(s), on ``num_samples`` samples."""

    rows: list[FusionRow]
    num_samples: int
    tuned_on: str | None = None
    notes: list[str] = field(default_factory=list)

    def row(self, name: str) -> FusionRow:
        """The row called ``name``."""
        for r in self.rows:
            if r.name == name:
                return r
        raise KeyError(f"no row {name!r}; rows: {', '.join(r.name for r in self.rows)}")

    @property
    def fused(self) -> FusionRow | None:
        """The fusion of all streams with the given (by default pyskl's) weights."""
        return next((r for r in self.rows if r.name.startswith("fusion (")), None)

    @property
    def tuned(self) -> FusionRow | None:
        """The fusion with searched weights, when a search was made."""
        return next((r for r in self.rows if r.name == "fusion, tuned weights"), None)

    @property
    def best_single(self) -> FusionRow:
        """The best single stream by top-1."""
        return max((r for r in self.rows if r.kind == "stream"), key=lambda r: r.top1)

    def table(self) -> str:
        """A plain-text table."""
        lines = [f"{'':24s} {'weights':22s} {'top1':>7s} {'top5':>7s} {'mean cls':>8s}"]
        for r in self.rows:
            w = ":".join(f"{v:g}" for v in r.weights.values()) if len(r.weights) > 1 else ""
            lines.append(f"{r.name:24s} {w:22s} {100 * r.top1:7.2f} {100 * r.top5:7.2f} {100 * r.mean_class_acc:8.2f}")
        lines.append(f"({self.num_samples} samples" + (f"; weights tuned on {self.tuned_on}" if self.tuned_on else "") + ")")
        lines += self.notes
        return "\n".join(lines)

    def as_dict(self) -> dict:
        """JSON-able structure (plots read this; no DataFrame needed)."""
        return {
            "num_samples": self.num_samples,
            "tuned_on": self.tuned_on,
            "rows": [dict(name=r.name, kind=r.kind, weights=r.weights, top1=r.top1, top5=r.top5, mean_class_acc=r.mean_class_acc) for r in self.rows],
            "notes": self.notes,
        }


def _accuracies(probs: np.ndarray, labels: np.ndarray) -> tuple[float, float, float]:
    top1, top5 = top_k_accuracy(probs, labels, (1, 5))
    return top1, top5, mean_class_accuracy(probs, labels)


def _ordered(names: Sequence[str]) -> list[str]:
    return sorted(names, key=lambda n: (STREAM_ORDER.index(n) if n in STREAM_ORDER else len(STREAM_ORDER), n))


def fusion_report(
    scores: Mapping[str, Scores],
    weights: Mapping[str, float] | None = None,
    tuned: Mapping[str, float] | None = None,
    tuned_on: str | None = None,
) -> FusionReport:
    """Top-1/top-5/mean class accuracy of every stream, every pair (pyskl's pair weights, else
    equal), and the fusion of all streams with ``weights`` (default pyskl's) and ``tuned`` ones."""
    ids, probs, labels = align(scores)
    if labels is None:
        raise FusionError("none of the score files has labels; accuracy needs them")
    names = _ordered(list(scores))
    rows = []
    for name in names:
        rows.append(FusionRow(name, {name: 1.0}, *_accuracies(probs[name], labels)))
    if len(names) > 2:
        for a, b in itertools.combinations(names, 2):
            w = default_weights([a, b])
            rows.append(FusionRow(f"{a}+{b}", w, *_accuracies(w[a] * probs[a] + w[b] * probs[b], labels), kind="combination"))
    if len(names) > 1:
        w = check_weights(weights if weights is not None else default_weights(names))
        unknown = sorted(set(w) - set(names))
        if unknown:
            raise FusionError(f"weights given for streams without scores: {', '.join(unknown)}")
        w = check_weights({n: float(w.get(n, 0.0)) for n in names})
        rows.append(FusionRow(f"fusion ({'+'.join(names)})", w, *_accuracies(sum(w[n] * probs[n] for n in names), labels), kind="fusion"))
        if tuned is not None:
            t = check_weights({n: float(tuned.get(n, 0.0)) for n in names}, "tuned weights")
            rows.append(FusionRow("fusion, tuned weights", t, *_accuracies(sum(t[n] * probs[n] for n in names), labels), kind="fusion"))
    return FusionReport(rows, len(ids), tuned_on)


def search_weights(
    tune: Mapping[str, Scores],
    method: str = "simplex",
    resolution: int = 10,
    grid: Sequence[float] = (0.0, 0.5, 1.0, 1.5, 2.0),
    evaluate_on: Mapping[str, Scores] | None = None,
) -> tuple[dict[str, float], float]:
    """Fusion weights that maximise top-1 on the *tuning* scores; returns ``(weights, top1)``.

    ``method='simplex'``: every point of the probability simplex with step ``1/resolution``;
    ``'grid'``: every combination of ``grid`` values per stream. Ties keep the candidate closest
    to pyskl's default weights. Pass the scores you will report on as ``evaluate_on``: tuning
    samples that appear there are refused, so weights are never tuned on the test samples.
    """
    ids, probs, labels = align(tune)
    if labels is None:
        raise FusionError("the tuning scores have no labels")
    if evaluate_on is not None:
        overlap = set(ids) & set(next(iter(evaluate_on.values())).frame_dir)
        if overlap:
            raise FusionError(
                f"{len(overlap)} tuning sample(s) are also evaluated (e.g. {', '.join(sorted(overlap)[:5])}): "
                "weights must be tuned on a split disjoint from the one you report"
            )
    names = _ordered(list(tune))
    if method == "simplex":
        cands = [c for c in itertools.product(range(resolution + 1), repeat=len(names)) if sum(c) == resolution]
        cand = np.array(cands, dtype=np.float64) / resolution
    elif method == "grid":
        cand = np.array([c for c in itertools.product(grid, repeat=len(names)) if any(c)], dtype=np.float64)
    else:
        raise ValueError("method must be 'simplex' or 'grid'")
    stack = np.stack([probs[n] for n in names])  # (S, N, K)
    hits = np.zeros(len(cand))
    for start in range(0, len(cand), 64):  # (C, N, K) in chunks
        fused = np.einsum("cs,snk->cnk", cand[start : start + 64], stack)
        hits[start : start + 64] = (fused.argmax(-1) == labels[None]).mean(1)
    default = np.array([default_weights(names)[n] for n in names])
    default = default / default.sum()
    norm = cand / cand.sum(1, keepdims=True)
    dist = np.abs(norm - default).sum(1)
    best = max(range(len(cand)), key=lambda i: (round(hits[i], 12), -dist[i]))
    return {n: float(cand[best, i]) for i, n in enumerate(names)}, float(hits[best])
