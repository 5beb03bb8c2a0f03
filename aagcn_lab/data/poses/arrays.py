"""Keypoint arrays: plain arrays (in memory or ``.npy``) and the arrays pose tools write.

A plain array (format ``array``) is ``(T, V, C)`` or ``(M, T, V, C)`` with its person slots as
given: it becomes a record by :func:`record_from_array`, each person-frame checked and a bad one
zeroed and named. The arrays of a pose format (``coco``, ``h36m``, ``openpose`` ``.npy``,
MediaPipe's ``(T, 33, 4)``) hold detections: :func:`read_pose_array` reads them frame by frame into
:class:`~.frames.PoseFrames` (people tracked by :func:`~.frames.to_record`).

The one rule for what C = 3 means (:func:`reads_scores`): channel 2 is a detection score when the
caller says so (``with_score=True`` / ``--with-score``, or a format whose arrays carry scores:
``coco``, ``openpose``); told nothing, the layout's dimension decides -- a 2D layout (COCO, OpenPose,
streamed to a 2D model) reads ``x, y, score``, a 3D or unknown one (NTU, Human3.6M) ``x, y, z``. A plain
array is told: ``with_score=False`` unless the caller passes True.

The one rule for a 17-joint ``.npy`` (:func:`npy_format`): COCO-17 and Human3.6M-17 have the same
joint count. A model's layout decides when it is given -- Human3.6M-17 for an ``h36m`` model, COCO-17
for a COCO or OpenPose model when the array is ``(x, y)`` or said to hold scores -- because the
other reading cannot feed that model; otherwise the file is refused, naming both ``--format coco``
and ``--format h36m``, so that no channel is taken for a score unless the user says so.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...graph import Layout
from ...io import safe_npy_load
from ..joint_maps import JOINT_COUNTS, READ_AS, SOURCE_JOINTS, array_layout, feeds, map_joints, source_dim
from ..validate import (
    MOSTLY_OUTSIDE,
    InputError,
    check_record,
    coordinate_range_problems,
    person_frame_problems,
    to_storage,
    typical_body_size,
)
from .frames import (
    NORMALISED_LIMIT,
    PYSKL_IMG_SHAPE,
    PoseBuilder,
    PoseFormatError,
    PoseFrames,
    issue_notes,
    median_extent,
)

__all__ = [
    "reads_scores",
    "record_from_array",
    "read_pose_array",
    "read_array_frame",
    "npy_format",
    "npy_shape",
    "load_numeric_npy",
    "add_array",
]


def reads_scores(channels: int, with_score: bool | None = None, dim: int | None = None) -> bool:
    """Whether channel 2 of an array with ``channels`` channels is a detection score (C = 3 only): as
    ``with_score`` says when given, else when the layout's dimension ``dim`` is 2 (module docstring)."""
    if channels != 3:
        return False
    return bool(with_score) if with_score is not None else dim == 2


def load_numeric_npy(path: Path) -> np.ndarray:
    arr = safe_npy_load(path)
    if arr.dtype.kind not in "fiu":
        raise PoseFormatError(f"{path}: expected a numeric array, got dtype {arr.dtype}")
    return arr


def add_array(b: PoseBuilder, arr: np.ndarray, path, score_channel: int | None, coords: int | None = None) -> None:
    """``(T, V, C)`` / ``(M, T, V, C)`` into the builder; each person of each frame checked."""
    arr = np.asarray(arr)
    if arr.ndim == 3:
        arr = arr[None]
    if arr.ndim != 4:
        raise PoseFormatError(f"{path}: expected an array (T, V, C) or (M, T, V, C), got shape {arr.shape}")
    m, t, v, c = arr.shape
    dims = coords if coords is not None else (c if score_channel is None else score_channel)
    for f in range(t):
        b.frame(f"frame {f}")
        for p in range(m):
            person = arr[p, f]
            if not np.any(person):  # an all-zero slot: nobody there
                continue
            s = person[:, score_channel] if score_channel is not None else None
            b.person(person[:, :dims], s, p if m > 1 else None, f", person {p}")


def read_pose_array(path: Path, layout: str, fmt: str, arr: np.ndarray | None = None) -> PoseFrames:
    """The detections of a pose format's ``.npy`` in ``layout`` (a key of :data:`SOURCE_JOINTS`), frame by frame."""
    arr = load_numeric_npy(path) if arr is None else arr
    v = arr.shape[-2] if arr.ndim >= 3 else 0
    if v != len(SOURCE_JOINTS[layout]):
        raise PoseFormatError(f"{path}: {v} joints, but format {fmt!r} ({layout}) has {len(SOURCE_JOINTS[layout])}")
    c = arr.shape[-1]
    scores = reads_scores(c, None, source_dim(layout))
    three_d = c == 3 and not scores
    b = PoseBuilder(path.stem, fmt, layout, has_score=scores, source=path)
    add_array(b, arr, path, score_channel=2 if scores else None, coords=3 if three_d else 2)
    return b.done()


def npy_shape(path: Path) -> tuple[int, ...]:
    """The shape of a ``.npy`` (its header only)."""
    return tuple(safe_npy_load(path, mmap_mode="r").shape)


def npy_format(shape: tuple[int, ...], layout: Layout | str | None = None, with_score: bool = False) -> str | None:
    """The format of a ``.npy`` of ``shape``: ``mediapipe`` (33 landmarks), ``h36m`` or ``coco`` (17 joints, as
    the model's ``layout`` decides), ``array`` (any other count); ``None`` for 17 joints nothing decides."""
    v = shape[-2] if len(shape) >= 3 else (33 if len(shape) == 2 and shape[-1] == 33 * 4 else 0)
    if v == 33:
        return "mediapipe"
    if v not in JOINT_COUNTS or len(JOINT_COUNTS[v]) == 1 or v == 25:
        return "array"
    name = None if layout is None else layout.name if isinstance(layout, Layout) else str(layout)
    if name == "h36m":
        return "h36m"
    if name is not None and "coco" in feeds(name) and (shape[-1] == 2 or with_score):
        return "coco"
    return None


def npy_refusal(path: Path, shape: tuple[int, ...]) -> str:
    """Why a 17-joint ``.npy`` nothing decides is refused (:func:`npy_format`)."""
    return (
        f"{path}: {shape[-2]} joints {shape} could be COCO-17 (2D, e.g. x, y, score) or Human3.6M-17 (a lifter's 2D "
        "or 3D); pass --format coco or --format h36m (a COCO or OpenPose model decides for (x, y) arrays, or for "
        "(x, y, score) with --with-score; an h36m model always)."
    )




def read_array_frame(obj: object, layout: str | None, dim: int | None, where: str) -> PoseFrames | None:
    """One streamed frame of keypoints as an array -- ``(V, C)`` for one person, ``(P, V, C)``, or
    ``{"keypoints": ...}`` -- in the layout its joint count means for the model's ``layout``; C = 3 as
    :func:`reads_scores` says for the model's dimension ``dim`` (``None``: not an array frame)."""
    if isinstance(obj, dict) and "keypoints" in obj and not isinstance(obj["keypoints"], dict) and "people" not in obj:
        arr = np.asarray(obj["keypoints"], dtype=np.float64)
        if arr.ndim == 2 and not arr.size:
            arr = arr.reshape(0, 0, 0)
    elif isinstance(obj, (list, np.ndarray)) and (isinstance(obj, np.ndarray) or not obj or not isinstance(obj[0], dict)):
        try:
            arr = np.asarray(obj, dtype=np.float64)
        except (ValueError, TypeError) as e:
            raise PoseFormatError(f"{where}: keypoints are not a numeric array: {e}") from e
    else:
        return None
    if arr.ndim == 2:
        arr = arr[None]
    if arr.size == 0:  # nobody in this frame
        b = PoseBuilder(where, "array", layout or "coco")
        b.frame(where)
        return b.done(allow_empty=True)
    if arr.ndim != 3:
        raise PoseFormatError(f"{where}: keypoints of shape {arr.shape}: expected (V, C) or (people, V, C)")
    v, c = arr.shape[1], arr.shape[2]
    lay = array_layout(v, layout)
    if lay is None:
        known = "17 COCO/H36M, 18 OpenPose, 25 BODY_25/NTU, 33 MediaPipe"
        why = f"could be {' or '.join(JOINT_COUNTS[v])}, and the model's layout {layout!r} is neither" if v in JOINT_COUNTS else "no layout has that many"
        raise PoseFormatError(f"{v} joints per person: {why} ({known})")
    if c not in (2, 3, 4):
        raise PoseFormatError(f"{where}: {c} values per joint: expected x, y [, score] or x, y, z")
    scores = reads_scores(c, None, dim if dim is not None else source_dim(lay))
    b = PoseBuilder(where, "array", lay, has_score=scores or c == 4)
    b.frame(where)
    for p in range(arr.shape[0]):
        if c == 3 and not scores:
            b.person(arr[p, :, :3], None, None, f", person {p}")
        else:
            b.person(arr[p, :, :2], arr[p, :, 2] if c >= 3 else None, None, f", person {p}")
    return b.done(allow_empty=True)


# ------------------------------------------------------------------------------------------------
# Plain arrays: person slots as given
# ------------------------------------------------------------------------------------------------


def _leave_out_bad_slots(
    arr: np.ndarray, name: str, img_shape: tuple[int, int] | None, two_d: bool, with_score: bool, notes: list[tuple[str, str]]
) -> tuple[np.ndarray, np.ndarray]:
    """``arr (M, T, V, C)`` with each bad person-frame (NaN, a garbled coordinate) zeroed and named in a
    :class:`PoseNote`, and the ``(M, T)`` mask of those left out.

    The rules are the readers' (:func:`~.data.validate.person_frame_problems`); an array with no
    good person-frame left is an :class:`InputError` naming the first bad ones.
    """
    arr = np.asarray(arr, dtype=np.float64)
    present = (arr != 0).any(axis=(2, 3))  # (M, T): slots with somebody (NaN counts)
    if two_d:
        bad = person_frame_problems(arr[..., :2], img_shape, arr[..., 2] if with_score else None)
    else:  # 3D: a joint far from its body, measured by the array's typical body size
        bad = person_frame_problems(arr, body_size=typical_body_size(arr[present & np.isfinite(arr).all(axis=(2, 3))]))
    bad = {k: why for k, why in bad.items() if present[k]}
    left_out = np.zeros(arr.shape[:2], bool)
    if not bad:
        return arr, left_out
    outside = [k for k in bad if np.isfinite(arr[k]).all()]
    if two_d and len(outside) > MOSTLY_OUTSIDE * int(present.sum()):  # wrong units or image size, not a few garbled values
        problems = "; ".join(coordinate_range_problems(np.stack([arr[k][..., :2] for k in outside]), img_shape))
        raise InputError(f"{name}: {problems} ({len(outside)} of {int(present.sum())} person-frames; pass img_shape / --img-size WxH)")
    listed = [f"frame {t}, person {m}: {why}" for (m, t), why in sorted(bad.items(), key=lambda kv: (kv[0][1], kv[0][0]))]
    if len(bad) == int(present.sum()):
        more = f" and {len(listed) - 5} more" if len(listed) > 5 else ""
        raise InputError(f"{name}: no usable person in any of {arr.shape[1]} frame(s) ({'; '.join(listed[:5])}{more})")
    arr = arr.copy()
    for m, t in bad:
        arr[m, t] = 0
        left_out[m, t] = True
    notes += [(name, f"{line} (left out)") for line in listed]
    return arr, left_out


def _array_image_shape(arr: np.ndarray, name: str, with_score: bool, notes: list[tuple[str, str]]) -> tuple[int, int]:
    """(1, 1) for a 2D array whose typical detection lies within [-1, 1] (fractions, with a note), else pyskl's 1920x1080."""
    xy = np.asarray(arr[..., :2], dtype=np.float64)
    seen = (arr[..., 2] > 0) if with_score else (xy != 0).any(-1)
    typical = median_extent(xy[m, t][seen[m, t]] for m in range(xy.shape[0]) for t in range(xy.shape[1]))
    if typical is not None and typical <= NORMALISED_LIMIT:
        notes.append((name, "coordinates are normalised to [0, 1], not pixels: read as fractions of the frame"))
        return (1, 1)
    return PYSKL_IMG_SHAPE


def record_from_array(
    arr: np.ndarray,
    name: str,
    with_score: bool = False,
    img_shape: tuple[int, int] | None = None,
    layout: Layout | str | None = None,
    notes: list[tuple[str, str]] | None = None,
) -> dict:
    """A plain array ``(M, T, V, C)`` / ``(T, V, C)`` as a record, slots as given (module docstring); ``layout``:
    the model's, which names the joints (:func:`~..joint_maps.array_layout`) when the count fits; ``notes``
    collects ``(name, note)`` on what was left out or assumed (else each is a :class:`PoseNote` warning)."""
    told, notes = notes, [] if notes is None else notes
    arr = np.asarray(arr)
    if arr.ndim == 3:
        arr = arr[None]
    if arr.ndim != 4:
        raise InputError(f"{name}: expected an array (M, T, V, C) or (T, V, C), got shape {arr.shape}")
    if arr.dtype.kind not in "fiu":
        raise InputError(f"{name}: expected a numeric array, got dtype {arr.dtype}")
    m, t, v, c = arr.shape
    if with_score and c != 3:
        raise InputError(f"{name}: with_score needs C = 3 (x, y, score), got C = {c}")
    scores = reads_scores(c, with_score)
    two_d = scores or c == 2
    if img_shape is not None or not two_d:
        shape = tuple(int(x) for x in img_shape) if img_shape is not None else PYSKL_IMG_SHAPE
    else:
        shape = _array_image_shape(arr, name, scores, notes)
    arr, left_out = _leave_out_bad_slots(arr, name, shape, two_d, scores, notes)
    if scores and not (arr[..., 2] > 0).any():
        raise InputError(f"{name}: every score (channel 2) is 0 or less: nothing detected (scores are confidences in [0, 1]; an integer array?)")
    arr = to_storage(arr, np.float32, name)
    rec = {"frame_dir": name, "label": -1, "total_frames": t}  # -1: no label known
    if scores:
        rec.update(keypoint=arr[..., :2], keypoint_score=arr[..., 2], img_shape=shape)
    elif c == 2:
        score = np.ones(arr.shape[:3], np.float32)  # no scores: 1, but 0 where a person-frame was left out
        score[left_out] = 0
        rec.update(keypoint=arr, keypoint_score=score, img_shape=shape)
    else:
        rec["keypoint"] = arr
    lay = array_layout(v, layout)
    if lay in READ_AS and two_d:  # an estimator's own layout: the model layout it is read as
        rec["keypoint"], rec["keypoint_score"] = map_joints(rec["keypoint"], rec["keypoint_score"], lay, READ_AS[lay])
        rec["layout"] = READ_AS[lay]
        notes.append((name, f"joints mapped {lay} -> {READ_AS[lay]}"))
    elif lay is not None and lay not in READ_AS:
        rec["layout"] = lay
    if told is None:
        issue_notes(notes)
    return check_record(rec, name, check_label=False)
