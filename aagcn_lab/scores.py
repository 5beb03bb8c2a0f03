"""Score files: per-sample class probabilities keyed by sample id (``frame_dir``).

Written by the trainer's test phase and by :func:`aagcn_lab.predict`, read by fusion. A score
file is a ``.npz`` of plain arrays -- ``frame_dir`` (strings), ``probs`` ``(N, K)``, ``labels``
``(N,)`` (-1 where unknown) and a JSON ``meta`` string (stream, split, class names, checkpoint) --
so reading one never unpickles anything. Rows are in dataset order, but every consumer matches
rows by ``frame_dir``, never by position.
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .data.validate import InputError, check_probabilities
from .io import CorruptFileError, atomic_write, describe_file

__all__ = ["Scores", "save_scores", "load_scores"]


@dataclass
class Scores:
    """Probabilities ``(N, K)`` of N samples, with their ids, labels and metadata."""

    frame_dir: list[str]
    probs: np.ndarray
    labels: np.ndarray | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.frame_dir = [str(f) for f in self.frame_dir]
        self.probs = np.asarray(self.probs, dtype=np.float64)
        if self.probs.ndim != 2 or len(self.probs) != len(self.frame_dir):
            raise InputError(f"probs must be (N, K) with N = {len(self.frame_dir)} ids, got {self.probs.shape}")
        check_probabilities(self.probs, self.frame_dir, "scores")  # a NaN row would print a NaN accuracy
        if self.labels is not None:
            self.labels = np.asarray(self.labels, dtype=np.int64)
            if self.labels.shape != (len(self.frame_dir),):
                raise InputError(f"labels must have shape ({len(self.frame_dir)},), got {self.labels.shape}")
        if len(set(self.frame_dir)) != len(self.frame_dir):
            dup = sorted({f for f in self.frame_dir if self.frame_dir.count(f) > 1})[:5]
            raise InputError(f"duplicate sample ids in scores: {', '.join(dup)}")

    def __len__(self) -> int:
        return len(self.frame_dir)

    @property
    def num_classes(self) -> int:
        """K."""
        return int(self.probs.shape[1])

    def index(self) -> dict[str, int]:
        """``frame_dir -> row``."""
        return {f: i for i, f in enumerate(self.frame_dir)}

    def reorder(self, ids: list[str]) -> Scores:
        """The same scores with rows in the order of ``ids`` (all must be present)."""
        pos = self.index()
        missing = [i for i in ids if i not in pos]
        if missing:
            raise KeyError(f"{len(missing)} sample(s) not in these scores: {', '.join(missing[:10])}")
        rows = np.array([pos[i] for i in ids], dtype=np.int64)
        labels = None if self.labels is None else self.labels[rows]
        return Scores(list(ids), self.probs[rows], labels, dict(self.meta))


def save_scores(path: str | os.PathLike, scores: Scores) -> Path:
    """Write a score file atomically."""
    labels = scores.labels if scores.labels is not None else np.full(len(scores), -1, np.int64)

    def write(f):
        buf = io.BytesIO()
        np.savez_compressed(
            buf, frame_dir=np.array(scores.frame_dir, dtype=str), probs=scores.probs, labels=labels, meta=np.array(json.dumps(scores.meta))
        )
        f.write(buf.getvalue())

    return atomic_write(path, write)


def load_scores(path: str | os.PathLike) -> Scores:
    """Read a score file written by :func:`save_scores` (no pickle involved)."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            frame_dir, probs, labels = list(z["frame_dir"]), z["probs"], z["labels"]
            meta = json.loads(str(z["meta"])) if "meta" in z else {}
    except (OSError, ValueError, KeyError, EOFError) as e:
        what = describe_file(path) if path.is_file() else "missing"
        raise CorruptFileError(f"{path}: not a readable score file (the file is {what}): {e}") from e
    if labels.size and (labels < 0).all():
        labels = None
    try:
        return Scores(frame_dir, probs, labels, meta)
    except ValueError as e:
        raise CorruptFileError(f"{path}: {e}") from e
