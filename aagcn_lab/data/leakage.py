"""Leakage audit of an annotation file: the same skeletons in two splits that should share nothing.

:func:`find_copies` compares every pair of splits that are disjoint by name (a train and a test
split; not a split and its own subset, nor two benchmarks' overlapping splits) and finds the
samples whose keypoints are

* ``'identical'``: the same values after casting to float64 (so float16 and float32 copies of one
  array match), or
* ``'identical after normalisation'``: the same after the test-time normalisation, here its
  canonical form (:func:`canonical_keypoints`): per-axis min-max over the clip's present joints,
  the transform of CTR-GCN's NW-UCLA test pipeline. It removes any translation (so the centring on
  a joint of frame 0 that comes first changes nothing) and any positive scale, uniform or per axis.
  Two canonical arrays match when they differ by at most :data:`NORMALISED_TOL` of the clip's range
  in every value.

Both run in linear time: exact copies by a hash of the array, normalised ones by a bucket of
(shape, mean of the canonical array) and a check of the few candidates in neighbouring buckets.
:func:`copies_report` prints the result per split pair (``aagcn-lab convert check`` shows it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

if TYPE_CHECKING:
    from .records import Annotations

__all__ = [
    "COPY_KINDS",
    "NORMALISED_TOL",
    "Copy",
    "canonical_keypoints",
    "comparable_splits",
    "find_copies",
    "copies_report",
]

COPY_KINDS = ("identical", "identical after normalisation")
NORMALISED_TOL = 1e-5  # of the clip's per-axis range: float32 rounding of a shifted, scaled copy stays far below
_BUCKET = 1e-4  # width of the mean-of-canonical buckets; a copy's mean moves by <= NORMALISED_TOL, one bucket at most
_CACHE = 4096  # canonical arrays kept for the candidate checks (then the cache starts again)


class Copy(NamedTuple):
    """Sample ``frame_dir_b`` of ``split_b`` repeats sample ``frame_dir_a`` of ``split_a`` (``kind``: :data:`COPY_KINDS`)."""

    split_a: str
    frame_dir_a: str
    split_b: str
    frame_dir_b: str
    kind: str


def canonical_keypoints(keypoint: np.ndarray) -> np.ndarray:
    """The clip without translation and positive scale: each axis min-max mapped to [0, 1] (absent joints: -1).

    A joint whose coordinates are all zero is absent (no body there) and stays apart from the
    rest; an axis with no extent maps to 0.
    """
    x = np.asarray(keypoint, dtype=np.float64)
    present = x.any(axis=-1)
    if present.all():  # the common case: no mask needed
        axes = tuple(range(x.ndim - 1))
        low = x.min(axis=axes)
        span = x.max(axis=axes) - low
        return (x - low) / np.where(span > 0, span, 1.0)
    out = np.full(x.shape, -1.0)
    if present.any():
        pts = x[present]
        low = pts.min(axis=0)
        span = pts.max(axis=0) - low
        out[present] = (pts - low) / np.where(span > 0, span, 1.0)
    return out


def _exact_key(x: np.ndarray) -> tuple:
    """Shape and hash of the float64 values (``x`` cast already)."""
    x = np.ascontiguousarray(x) + 0.0  # + 0.0: -0.0 and 0.0 compare equal
    return x.shape, hashlib.blake2b(x.tobytes(), digest_size=16).digest()


def comparable_splits(split: dict[str, Sequence[str]], names: Iterable[str] | None = None) -> list[tuple[str, str]]:
    """The pairs of splits that share no sample (a split with 'train' in its name comes first in a pair)."""
    names = list(split) if names is None else list(names)
    unknown = [n for n in names if n not in split]
    if unknown:
        raise KeyError(f"no split named {', '.join(map(repr, unknown))}; splits: {', '.join(split) or 'none'}")
    sets = {n: set(split[n]) for n in names}
    pairs = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            if sets[a] and sets[b] and not sets[a] & sets[b]:
                pairs.append((b, a) if "train" in b and "train" not in a else (a, b))
    return pairs


class _Index:
    """Per sample, computed once: the exact key, the bucket key and (on demand) the canonical array."""

    def __init__(self, records: dict[str, dict]) -> None:
        self.records = records
        self.exact: dict[str, tuple] = {}
        self.bucket: dict[str, tuple] = {}
        self._canonical: dict[str, np.ndarray] = {}

    def keys(self, name: str) -> tuple[tuple, tuple]:
        if name not in self.exact:
            x = np.asarray(self.records[name]["keypoint"], dtype=np.float64)  # one cast for both keys
            c = canonical_keypoints(x)
            self.exact[name] = _exact_key(x)
            self.bucket[name] = (c.shape, int(np.floor(c.mean() / _BUCKET)))  # c is kept only for candidates
        return self.exact[name], self.bucket[name]

    def canonical(self, name: str) -> np.ndarray:
        if name not in self._canonical:
            if len(self._canonical) >= _CACHE:
                self._canonical.clear()
            self._canonical[name] = canonical_keypoints(self.records[name]["keypoint"])
        return self._canonical[name]


def find_copies(ann: Annotations, splits: Sequence[str] | None = None) -> list[Copy]:
    """Every sample of one split whose keypoints repeat a sample of a disjoint split (module docstring).

    ``splits``: the split names to compare (default: all of the file's). Pairs of splits that
    overlap (a split and its subset) are not compared. One :class:`Copy` per pair of samples, in
    split-pair order, then in the order of the second split.
    """
    records = {r["frame_dir"]: r for r in ann.annotations}
    index = _Index(records)
    copies: list[Copy] = []
    for a, b in comparable_splits(ann.split, splits):
        exact: dict[tuple, list[str]] = {}
        buckets: dict[tuple, list[str]] = {}
        for name in (n for n in ann.split[a] if n in records):
            e, k = index.keys(name)
            exact.setdefault(e, []).append(name)
            buckets.setdefault(k, []).append(name)
        for name in (n for n in ann.split[b] if n in records):
            e, (shape, q) = index.keys(name)
            same = exact.get(e, [])
            copies += [Copy(a, other, b, name, COPY_KINDS[0]) for other in same]
            candidates = [o for d in (-1, 0, 1) for o in buckets.get((shape, q + d), []) if o not in same]
            if not candidates:
                continue
            mine = index.canonical(name)
            for other in candidates:
                if np.abs(index.canonical(other) - mine).max() <= NORMALISED_TOL:
                    copies.append(Copy(a, other, b, name, COPY_KINDS[1]))
    return copies


def copies_report(ann: Annotations, copies: Sequence[Copy] | None = None, limit: int = 5) -> str:
    """A printable audit: per compared split pair, how many samples have a copy, the first few, and a clean split."""
    copies = find_copies(ann) if copies is None else copies
    pairs = comparable_splits(ann.split)
    if not pairs:
        return "copies across splits: no two disjoint splits to compare"
    if not copies:
        return "copies across splits: none (compared " + ", ".join(f"{a} / {b}" for a, b in pairs) + ")"
    lines = ["copies across splits (the same keypoints in two splits that share no sample):"]
    for a, b in pairs:
        found = [c for c in copies if (c.split_a, c.split_b) == (a, b)]
        if not found:
            lines.append(f"  {a} / {b}: none")
            continue
        n_b = len(ann.split[b])
        exact = {c.frame_dir_b for c in found if c.kind == COPY_KINDS[0]}
        normalised = {c.frame_dir_b for c in found if c.kind == COPY_KINDS[1]} - exact
        lines.append(
            f"  {a} / {b}: {len(exact)} of {n_b} {b} sample(s) have an identical copy in {a}, "
            f"{len(normalised)} more one identical after normalisation"
        )
        shown = []
        for c in found:
            if len(shown) == limit:
                shown.append("...")
                break
            shown.append(f"{c.frame_dir_b} = {c.frame_dir_a}" + (" (normalised)" if c.kind == COPY_KINDS[1] else ""))
        lines.append("    e.g. " + ", ".join(shown))
        copied = exact | normalised
        clean = [
            s for s in ann.split
            if s != b and ann.split[s] and set(ann.split[s]) <= set(ann.split[b]) and not copied & set(ann.split[s])
        ]  # fmt: skip
        if clean:
            lines.append(f"    hint: {b} without them: {', '.join(clean)}")
        else:
            lines.append(f"    hint: no split leaves them out; scores on {b} count them (find_copies lists every one)")
    return "\n".join(lines)
