"""What a converter did (:class:`ConversionReport`), and helpers shared by the converters."""

from __future__ import annotations

import multiprocessing
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .records import Annotations

__all__ = ["ConversionReport", "summarize_annotations", "ordered_map"]


@dataclass
class ConversionReport:
    """What a converter did: counts per split, and every skipped or failed input with the reason."""

    kind: str  # what was converted, e.g. "NTU RGB+D (ntu60)"
    source: str
    output: str | None = None  # the file written; None when nothing converted
    total: int = 0  # inputs looked at
    converted: int = 0
    split_counts: dict[str, int] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (input, why): not meant for this converter
    failed: list[tuple[str, str]] = field(default_factory=list)  # (input, error): meant for it, but broken
    notes: list[tuple[str, str]] = field(default_factory=list)  # (input, remark): converted, with a remark

    @property
    def ok(self) -> bool:
        """True when at least one record was converted and written."""
        return self.converted > 0 and self.output is not None

    def summary(self, limit: int = 20) -> str:
        """A printable report; each list is cut after ``limit`` entries."""
        lines = [f"{self.kind}: {self.source}"]
        lines.append(
            f"  {self.total} input(s): {self.converted} converted, {len(self.skipped)} skipped, {len(self.failed)} failed"
        )
        if self.output:
            splits = ", ".join(f"{k} {v}" for k, v in self.split_counts.items()) or "none"
            lines.append(f"  wrote {self.output} (splits: {splits})")
        else:
            lines.append("  nothing written: no input could be converted")
        for title, items in (("failed", self.failed), ("skipped", self.skipped), ("notes", self.notes)):
            if not items:
                continue
            lines.append(f"  {title}:")
            lines += [f"    {name}: {why}" for name, why in items[:limit]]
            if len(items) > limit:
                lines.append(f"    ... and {len(items) - limit} more")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def summarize_annotations(ann: Annotations) -> str:
    """A short description of a loaded :class:`~aagcn_lab.data.annotations.Annotations`."""
    records = ann.annotations
    frames = np.array([int(r["total_frames"]) for r in records])
    persons = Counter(int(r["keypoint"].shape[0]) for r in records)
    labels = np.array([int(r["label"]) for r in records])
    kp = records[0]["keypoint"]
    try:
        layout = ann.layout_name()
    except ValueError:  # a joint count that matches no built-in layout
        layout = "unknown"
    lines = [
        f"{ann.source}: {len(records)} valid record(s)",
        f"  layout {layout} ({ann.num_joints} joints, {'2D + score' if ann.dim == 2 else '3D'}, keypoint {kp.dtype})",
        f"  classes: {ann.num_classes}"
        + (" (named)" if ann.label_names else " (no class names in the file)")
        + f"; labels used: {len(np.unique(labels))}, range {labels.min()}..{labels.max()}",
        f"  frames: min {frames.min()}, median {int(np.median(frames))}, max {frames.max()}",
        "  persons: " + ", ".join(f"M={m}: {n}" for m, n in sorted(persons.items())),
    ]
    if ann.split:
        lines.append("  splits: " + ", ".join(f"{k} {len(v)}" for k, v in ann.split.items()))
    else:
        lines.append("  splits: none")
    return "\n".join(lines)


def ordered_map(fn: Callable, jobs: Sequence, workers: int = 1) -> Iterator:
    """``map(fn, jobs)``, results in job order, over a process pool when ``workers > 1``."""
    if workers <= 1 or len(jobs) < 2:
        yield from map(fn, jobs)
        return
    workers = min(workers, len(jobs))
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        yield from pool.imap(fn, jobs, chunksize=max(1, min(64, len(jobs) // (4 * workers))))
