"""Annotation records and files: pyskl's format, read safely and validated record by record.

A file is a pickle of ``dict(split={name: [frame_dir, ...]}, annotations=[record, ...])``
(plus, in files we write, the optional extras ``label_names`` and ``layout``, which pyskl
ignores). A record is a dict:

=================  ===================  =========================================================
key                type / shape         notes
=================  ===================  =========================================================
``frame_dir``      str                  unique sample id, e.g. ``S001C001P001R001A001``
``label``          int                  0-based class index
``total_frames``   int                  T
``keypoint``       (M, T, V, C) float   3D: C = 3 (x, y, z); 2D: C = 2 (x, y) with scores below
``keypoint_score`` (M, T, V) float      2D only
``img_shape``      (h, w)               2D only; PreNormalize2D maps x, y to [-1, 1] with it
=================  ===================  =========================================================

Pickles are read by :func:`aagcn_lab.io.safe_pickle_load`: a file that tries to run code is
refused and nothing from it runs.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..graph import LAYOUTS, get_layout
from ..io import CorruptFileError, InputError, atomic_pickle_dump, safe_pickle_load
from .validate import record_problems

__all__ = [
    "AnnotationError",
    "Annotations",
    "validate_record",
    "load_annotations",
    "save_annotations",
    "infer_layout_name",
]

REQUIRED_KEYS = ("frame_dir", "label", "total_frames", "keypoint")


class AnnotationError(InputError):
    """One or more records (or the file itself) are invalid; the message names each one."""

    def __init__(self, message: str, problems: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__(message)
        self.problems = list(problems)


def infer_layout_name(num_joints: int, dim: int) -> str | None:
    """The built-in layout for ``num_joints`` joints (25 -> nturgb+d, 17 -> coco, 18 -> openpose, 20 in 3D -> ucla)."""
    for name in ("nturgb+d", "coco", "openpose"):
        if LAYOUTS[name].num_joints == num_joints:
            return name
    if dim == 3 and LAYOUTS["ucla"].num_joints == num_joints:  # NW-UCLA (Kinect v1)
        return "ucla"
    return None


def validate_record(
    rec: object,
    num_joints: int | None = None,
    num_classes: int | None = None,
) -> list[str]:
    """Everything wrong with one annotation record, as sentences (the rules of :mod:`.validate`)."""
    return record_problems(rec, num_joints, num_classes)


@dataclass
class Annotations:
    """A validated annotation file: records in file order, named splits, optional class names."""

    annotations: list[dict]
    split: dict[str, list[str]] = field(default_factory=dict)
    label_names: list[str] | None = None
    layout: str | None = None
    source: str = "<memory>"
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (frame_dir or #index, reason)

    def __len__(self) -> int:
        return len(self.annotations)

    @property
    def num_joints(self) -> int:
        """V of the first record."""
        return int(self.annotations[0]["keypoint"].shape[2])

    @property
    def dim(self) -> int:
        """2 for 2D keypoints with scores, 3 for 3D."""
        return 2 if "keypoint_score" in self.annotations[0] else 3

    @property
    def num_classes(self) -> int:
        """Number of classes: the class names if given, else max label + 1."""
        if self.label_names:
            return len(self.label_names)
        return max(int(a["label"]) for a in self.annotations) + 1

    def layout_name(self) -> str:
        """The layout named by the file, or the built-in one with this many joints."""
        name = self.layout or infer_layout_name(self.num_joints, self.dim)
        if name is None:
            raise AnnotationError(
                f"{self.source}: {self.num_joints}-joint skeletons match no built-in layout; pass layout=..."
            )
        return name

    def select(self, split: str | None) -> list[dict]:
        """Records of a split, in annotation-file order (pyskl's order); ``None`` = all."""
        if split is None:
            return list(self.annotations)
        if split not in self.split:
            known = ", ".join(self.split) or "none"
            raise KeyError(f"{self.source}: no split named {split!r}; splits in this file: {known}")
        wanted = set(self.split[split])
        return [a for a in self.annotations if a["frame_dir"] in wanted]

    def labels(self, split: str | None = None) -> dict[str, int]:
        """``frame_dir -> label`` for a split."""
        return {a["frame_dir"]: int(a["label"]) for a in self.select(split)}

    def save(self, path: str | os.PathLike) -> Path:
        """Write as a pyskl-compatible pickle (atomically)."""
        return save_annotations(path, self.annotations, self.split, self.label_names, self.layout)


def _check_records(
    records: Iterable[object], source: str, num_joints: int | None, num_classes: int | None
) -> tuple[list[dict], list[tuple[str, str]]]:
    good, bad, seen = [], [], set()
    for i, rec in enumerate(records):
        problems = validate_record(rec, num_joints, num_classes)
        name = rec.get("frame_dir") if isinstance(rec, dict) and isinstance(rec.get("frame_dir"), str) else f"#{i}"
        if name in seen and not name.startswith("#"):
            problems.append("duplicate frame_dir")
        if not problems and good:  # one kind of record per file: every record agrees with the first
            problems = _kind_problems(rec, good[0])
        if problems:
            bad.append((name, "; ".join(problems)))
        else:
            seen.add(name)
            good.append(rec)
    return good, bad


def _kind_problems(rec: dict, first: dict) -> list[str]:
    """A record whose joint or channel count (2D vs 3D) differs from the file's first record."""
    (v, c), (v0, c0) = rec["keypoint"].shape[2:], first["keypoint"].shape[2:]
    if v == v0 and c == c0:
        return []
    kind = {2: "2D", 3: "3D"}
    return [
        f"keypoint has V = {v}, C = {c} ({kind[c]}); the file's first record ({first['frame_dir']}) has "
        f"V = {v0}, C = {c0} ({kind[c0]}): one file must hold one kind of skeleton"
    ]


def _report(source: str, bad: Sequence[tuple[str, str]], total: int, limit: int = 20) -> str:
    lines = [f"{source}: {len(bad)} of {total} record(s) invalid:"]
    lines += [f"  {name}: {why}" for name, why in bad[:limit]]
    if len(bad) > limit:
        lines.append(f"  ... and {len(bad) - limit} more")
    return "\n".join(lines)


def load_annotations(
    path: str | os.PathLike,
    on_error: str = "raise",
    layout: str | None = None,
    num_classes: int | None = None,
) -> Annotations:
    """Read and validate a pyskl / mmaction2 annotation pickle.

    Every record is checked (keys, shapes, dtype, finite values, frames, labels in range, joints
    matching the layout). ``on_error='raise'`` raises :class:`AnnotationError` naming every bad
    record by ``frame_dir``; ``'skip'`` keeps the good ones, lists the rest in ``.rejected`` and
    warns. A pickle that tries to run code raises :class:`aagcn_lab.io.UnsafeFileError`.
    """
    if on_error not in ("raise", "skip"):
        raise ValueError("on_error must be 'raise' or 'skip'")
    path = Path(path)
    obj = safe_pickle_load(path)
    if isinstance(obj, list):  # some tools write the bare list of records
        obj = {"split": {}, "annotations": obj}
    if not isinstance(obj, dict) or "annotations" not in obj:
        kind = type(obj).__name__ if not isinstance(obj, dict) else f"dict with keys {sorted(map(str, obj))[:6]}"
        raise CorruptFileError(f"{path}: not an annotation file: expected dict(split=..., annotations=[...]), found {kind}")
    records = obj["annotations"]
    if not isinstance(records, list):
        raise CorruptFileError(f"{path}: 'annotations' must be a list, found {type(records).__name__}")
    split = obj.get("split") or {}
    if not isinstance(split, dict) or not all(isinstance(v, (list, tuple)) for v in split.values()):
        raise CorruptFileError(f"{path}: 'split' must map split names to lists of frame_dir")
    label_names = obj.get("label_names")
    layout = layout or obj.get("layout")
    if layout is not None:
        get_layout(layout)  # unknown layout -> clear error
    num_joints = get_layout(layout).num_joints if layout is not None else None
    if num_classes is None and label_names:
        num_classes = len(label_names)

    good, bad = _check_records(records, str(path), num_joints, num_classes)
    if bad and on_error == "raise":
        raise AnnotationError(_report(str(path), bad, len(records)) + "\n(load with on_error='skip' to keep the valid records)", bad)
    if bad:
        warnings.warn(_report(str(path), bad, len(records)), stacklevel=2)
    if not good:
        raise AnnotationError(f"{path}: no valid records", bad)
    known = {r["frame_dir"] for r in good}
    rejected_ids = {name for name, _ in bad}
    clean_split = {str(k): [str(x) for x in v if x in known] for k, v in split.items()}
    for name, ids in split.items():  # split entries without any record are reported, not dropped silently
        orphans = [str(x) for x in ids if x not in known and x not in rejected_ids]
        if orphans:
            warnings.warn(
                f"{path}: split {name!r} lists {len(orphans)} sample(s) with no record in the file "
                f"(e.g. {', '.join(orphans[:5])}); they are left out",
                stacklevel=2,
            )
    return Annotations(good, clean_split, list(label_names) if label_names else None, layout, str(path), bad)


def save_annotations(
    path: str | os.PathLike,
    annotations: Sequence[dict],
    split: dict[str, Sequence[str]] | None = None,
    label_names: Sequence[str] | None = None,
    layout: str | None = None,
    check: bool = True,
) -> Path:
    """Write records and splits as a pyskl-compatible pickle, atomically.

    Every record is checked first (the rules of :func:`load_annotations`), so nothing is written
    that loading would reject; ``check=False`` skips that for records validated already (the
    converters) or for test files that are meant to be bad.
    """
    if check:
        num_joints = get_layout(layout).num_joints if layout is not None else None
        num_classes = len(label_names) if label_names else None
        good, bad = _check_records(annotations, str(path), num_joints, num_classes)
        if bad:
            raise AnnotationError(_report(f"{path} (not written)", bad, len(annotations)), bad)
    obj: dict = {"split": {k: list(v) for k, v in (split or {}).items()}, "annotations": list(annotations)}
    if label_names is not None:
        obj["label_names"] = list(label_names)
    if layout is not None:
        obj["layout"] = layout
    return atomic_pickle_dump(obj, path, protocol=4)
