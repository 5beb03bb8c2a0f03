"""Pose-estimator outputs -> annotation records: readers, format detection and joint maps.

One input is one video: a folder of per-frame files or one file. Formats (``--format NAME``;
detected from the file when that is unambiguous, see :func:`detect_format`):

=================  ================================================================================
``openpose``       OpenPose ``--write_json``: a folder of ``*_keypoints.json`` (one per frame) or one
                   such file; ``people[].pose_keypoints_2d`` with BODY_25 (75 values) or COCO-18 (54)
``coco``           COCO-17 keypoints ``[x, y, v|score] * 17``: a results list with ``image_id``
                   (AlphaPose, mmpose, Detectron2), a COCO / PoseTrack file with ``images`` and
                   ``annotations`` (``track_id`` used), a folder of per-frame person lists
                   (RTMPose / ViTPose / HRNet ``keypoints`` + ``keypoint_scores``, YOLO-pose
                   ``tojson()``), or a ``(T, 17, 2|3)`` array
``mmpose``         mmpose ``--save-predictions`` JSON (``meta_info`` + ``instance_info``): COCO-17
                   2D, or Human3.6M-17 3D from its pose lifter
``mediapipe``      MediaPipe Pose's 33 landmarks (normalised x, y, z, visibility) as JSON, CSV or NPY
``detectron2``     VideoPose3D ``infer_video_d2.py`` ``.npz`` (Detectron2 keypoint R-CNN, COCO-17)
``videopose3d-2d`` VideoPose3D ``prepare_data_2d_custom.py`` ``.npz`` (``positions_2d``, COCO-17)
``mhformer``       a lifter ``.npz`` with ``reconstruction`` in Human3.6M order: 2D input
                   ``(1, T, 17, 2)`` or 3D output ``(T, 17, 3)`` (MHFormer, AutoDance)
``h36m``           a ``(T, 17, 2|3)`` / ``(M, T, 17, C)`` ``.npy`` in Human3.6M order (VideoPose3D's
                   ``--viz-export`` 3D)
``array``          a plain ``(T, V, C)`` / ``(M, T, V, C)`` ``.npy`` (25 joints: NTU 3D; 18: OpenPose)
=================  ================================================================================

(``aagcn_lab.predict`` also reads NTU ``.skeleton``, Kinetics-skeleton JSON and annotation files.)

Layouts and joint maps (:data:`JOINT_MAPS`, applied by :func:`map_joints`): BODY_25 is read as
OpenPose-18 (its MidHip and six foot joints dropped), MediaPipe-33 as COCO-17 (eyes' centres,
ears, body; the inner/outer eyes, mouth, hands and feet dropped). A 2D input can feed a model of
another layout when a map exists: ``openpose <-> coco`` (COCO has no neck: OpenPose's neck is the
shoulders' midpoint, scored by the lower of the two). Human3.6M-17 is its own layout (``h36m``),
for models trained on it; it has the same joint count as COCO but other joints, so feeding it to
a COCO model (or 18 OpenPose joints to a 25-joint NTU model) is an error naming both layouts
(:func:`fit_layout`).

People: frames without identities are linked into tracks and the main persons kept by total
keypoint score (:mod:`.tracking`); dropped tracks are listed in the notes. Image size for pyskl's
2D normalisation: from the file where it says (PoseTrack ``images``, Detectron2 / VideoPose3D
``metadata``), else ``img_shape=`` / ``--img-size WxH``; normalised coordinates (MediaPipe) use
``(1, 1)``, as the Kinetics reader does; otherwise pyskl's fallback 1920x1080, with a note.

Bad input does not stop a video: a corrupt frame file, a person with the wrong number of values
or with NaN / inf is left out, and the reason is recorded with the file and frame
(:attr:`PoseFrames.problems`); only a video with no usable person at all is an error. A 2D
detection with a coordinate beyond one image size around the image (``x`` outside ``-w..2w``,
``y`` outside ``-h..2h``, edges kept; the image size from the file, else ``img_shape``, else the
1920x1080 fallback; ``-1..2`` for fractions) is a garbled value: it is left out and named by
:func:`to_record` in the same way; when more than half of a video's detections are outside, the
units or the image size are wrong and the video is refused with that message. Units are decided by
the median detection: a pixel format whose detections lie within ``[-1, 1]`` is normalised (an
OpenPose folder written with ``--keypoint_scale`` 1-4: ``[0, 1]`` read as fractions, ``[-1, 1]``,
recognised by negative coordinates, moved to ``[0, 1]``; a note says which), and MediaPipe
landmarks beyond 2 are pixels. Exact duplicate detections in one frame (a results list written
twice) are dropped with one note. A folder that mixes BODY_25 and COCO-18 files is refused, naming
both sets, unless ``--format openpose-body25`` / ``openpose-coco18`` says which files to read; an
empty folder, or a results list ``[]``, is named as such (nobody detected). COCO results keep the
frame positions of ``image_id`` (a frame number, or the last number of a name): missing ids are
frames with nobody (one note); ids too sparse to be frame numbers are read in order, with a note.
``.npz`` files that hold Python objects (Detectron2, VideoPose3D) are unpickled with the
restricted unpickler of :mod:`aagcn_lab.io`: plain data only, nothing from the file runs.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import re
import sys
import warnings
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np

from ..graph import Layout, get_layout
from ..io import InputError, RestrictedUnpickler, UnsafeFileError, safe_npy_load
from .tracking import track_people
from .validate import (
    MOSTLY_OUTSIDE,
    check_record,
    coordinate_range_problems,
    frame_span_limit,
    is_int,
    person_frame_problems,
    record_problems,
    typical_body_size,
)

__all__ = [
    "POSE_FORMATS",
    "SOURCE_JOINTS",
    "JOINT_MAPS",
    "PoseFormatError",
    "LayoutMismatchError",
    "PoseFrames",
    "detect_format",
    "read_poses",
    "to_record",
    "read_pose_records",
    "read_pose_input",
    "read_frame",
    "join_frames",
    "PoseNote",
    "print_notes",
    "map_joints",
    "fit_layout",
    "feeds",
    "convert_poses",
    "check_person",
    "median_extent",
    "NORMALISED_LIMIT",
]

POSE_FORMATS: dict[str, str] = {
    "openpose": "OpenPose --write_json: a folder of *_keypoints.json or one file (BODY_25 or COCO-18)",
    "coco": "COCO-17 keypoints: results list with image_id, COCO/PoseTrack file, folder of per-frame lists, or array",
    "mmpose": "mmpose --save-predictions JSON (meta_info + instance_info), 2D COCO-17 or 3D H36M-17",
    "mediapipe": "MediaPipe Pose 33 landmarks: JSON, CSV or .npy export",
    "detectron2": "VideoPose3D infer_video_d2.py .npz (Detectron2 keypoints, COCO-17)",
    "videopose3d-2d": "VideoPose3D prepare_data_2d_custom .npz (positions_2d, COCO-17)",
    "mhformer": "lifter .npz with 'reconstruction' in Human3.6M order (2D input or 3D output)",
    "h36m": "a (T, 17, 2|3) or (M, T, 17, C) .npy in Human3.6M order (e.g. VideoPose3D 3D export)",
    "array": "a plain (T, V, C) or (M, T, V, C) .npy (25 joints: NTU 3D, 18: OpenPose)",
    "openpose-body25": "OpenPose JSON, only the BODY_25 files of a folder that mixes BODY_25 and COCO-18",
    "openpose-coco18": "OpenPose JSON, only the COCO-18 files of a folder that mixes BODY_25 and COCO-18",
}
# formats that aagcn_lab.predict reads itself (listed in errors, so that one list names them all)
OTHER_FORMATS: dict[str, str] = {
    "ntu": "NTU RGB+D .skeleton",
    "kinetics": "Kinetics-skeleton JSON (ST-GCN)",
    "annotations": "an annotation .pkl",
}

_BODY25 = (
    "Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist", "MidHip", "RHip",
    "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye", "REar", "LEar", "LBigToe", "LSmallToe",
    "LHeel", "RBigToe", "RSmallToe", "RHeel",
)  # fmt: skip
MEDIAPIPE_LANDMARKS = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye", "right_eye_outer",
    "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder", "right_shoulder", "left_elbow",
    "right_elbow", "left_wrist", "right_wrist", "left_pinky", "right_pinky", "left_index", "right_index",
    "left_thumb", "right_thumb", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_heel", "right_heel", "left_foot_index", "right_foot_index",
)  # fmt: skip
SOURCE_JOINTS: dict[str, tuple[str, ...]] = {
    "body25": _BODY25,
    "mediapipe": MEDIAPIPE_LANDMARKS,
    **{name: get_layout(name).joint_names for name in ("coco", "openpose", "h36m", "nturgb+d")},
}

# target joint <- source joint index, or a pair (a, b): their midpoint, scored by the lower score
Source = int | tuple[int, int]
JOINT_MAPS: dict[tuple[str, str], tuple[Source, ...]] = {
    ("body25", "openpose"): (0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18),
    ("body25", "coco"): (0, 16, 15, 18, 17, 5, 2, 6, 3, 7, 4, 12, 9, 13, 10, 14, 11),
    ("openpose", "coco"): (0, 15, 14, 17, 16, 5, 2, 6, 3, 7, 4, 11, 8, 12, 9, 13, 10),
    ("coco", "openpose"): (0, (5, 6), 6, 8, 10, 5, 7, 9, 12, 14, 16, 11, 13, 15, 2, 1, 4, 3),
    ("mediapipe", "coco"): (0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28),
    ("mediapipe", "openpose"): (0, (11, 12), 12, 14, 16, 11, 13, 15, 24, 26, 28, 23, 25, 27, 5, 2, 8, 7),
}
# what a reader's own layout becomes in a record (the model layouts have no BODY_25 / MediaPipe)
READ_AS = {"body25": "openpose", "mediapipe": "coco"}
PYSKL_IMG_SHAPE = (1080, 1920)


class PoseFormatError(InputError):
    """An input whose format is unknown or ambiguous, or a file that is not what its format says."""


class LayoutMismatchError(InputError):
    """An input's skeleton layout cannot feed a model's layout."""


@dataclass
class PoseFrames:
    """One video as an estimator wrote it: per-frame detections ``(P_t, V, D)`` before tracking."""

    name: str
    fmt: str
    layout: str  # a key of SOURCE_JOINTS
    coords: list[np.ndarray] = field(default_factory=list)  # per frame (P_t, V, D) float32
    scores: list[np.ndarray] = field(default_factory=list)  # per frame (P_t, V) float32
    ids: list[list] | None = None  # per frame, the file's identity of each detection
    img_shape: tuple[int, int] | None = None  # (h, w) when the file says
    normalised: bool = False  # x, y are fractions of the image width / height
    has_score: bool = True
    frame_names: list[str] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (where, what): left out
    notes: list[str] = field(default_factory=list)
    source: str = ""  # the file or folder read
    person_where: list[list[str]] = field(default_factory=list)  # per frame, where each detection is ("FRAME, person P")

    @property
    def dim(self) -> int:
        """2 for image coordinates, 3 for 3D."""
        for c in self.coords:
            if len(c):
                return int(c.shape[-1])
        return 2

    @property
    def num_people(self) -> int:
        """Detections in all frames."""
        return sum(len(c) for c in self.coords)


# ------------------------------------------------------------------------------------------------
# Validation of one detection: the rules of the validation layer (.validate), person by person, so
# that one bad detection is left out (and named) while the rest of the video converts
# ------------------------------------------------------------------------------------------------


def check_person(coords: np.ndarray, scores: np.ndarray, num_joints: int) -> str | None:
    """What is wrong with one detection ``(V, D)`` + ``(V,)``, or ``None``."""
    if coords.ndim != 2 or coords.shape[0] != num_joints:
        return f"{coords.shape[0] if coords.ndim else 0} joints, expected {num_joints}"
    bad = ~np.isfinite(coords).all(-1) | ~np.isfinite(scores)
    if bad.any():
        return f"NaN/inf in joint(s) {', '.join(map(str, np.flatnonzero(bad)[:8]))}"
    if not coords.any():
        return "no joint detected (all coordinates 0)"
    mini = {"frame_dir": "person", "total_frames": 1, "keypoint": coords[None, None].astype(np.float32)}
    if coords.shape[1] == 2:
        mini["keypoint_score"] = scores[None, None].astype(np.float32)
    problems = record_problems(mini, num_joints, check_label=False)
    return "; ".join(problems) if problems else None


class _Builder:
    """Collects detections frame by frame, checking each one; exact duplicates in a frame are dropped."""

    def __init__(self, name: str, fmt: str, layout: str | None, has_score: bool = True, source: str | os.PathLike = "") -> None:
        self.pf = PoseFrames(name, fmt, layout or "", source=str(source))
        self.pf.has_score = has_score
        self._ids: list[list] = []
        self._any_id = False
        self.duplicates: list[str] = []  # the frame of each exact duplicate detection dropped
        self.quiet: set[str] = set()  # frames that are empty on purpose (a reader's own note says why)

    def frame(self, label: str) -> None:
        self.pf.coords.append([])
        self.pf.scores.append([])
        self._ids.append([])
        self.pf.person_where.append([])
        self.pf.frame_names.append(label)

    def fail_frame(self, why: str) -> None:
        self.pf.problems.append((self.pf.frame_names[-1], why))

    def person(self, coords, scores, pid=None, where: str = "") -> None:
        coords = np.asarray(coords, np.float32)
        scores = np.ones(coords.shape[:1], np.float32) if scores is None else np.asarray(scores, np.float32).reshape(-1)
        if not self.pf.layout:
            raise PoseFormatError(f"{self.pf.name}: internal: layout unknown before the first person")
        v = len(SOURCE_JOINTS[self.pf.layout])
        if coords.ndim == 2 and scores.shape != coords.shape[:1]:
            why = f"{coords.shape[0]} joints but {scores.shape[0]} scores"
        else:
            why = check_person(coords, scores, v)
        if why is None and self.pf.coords[-1] and coords.shape[1] != self.pf.coords[-1][0].shape[1]:
            why = f"{coords.shape[1]} coordinates per joint, other people have {self.pf.coords[-1][0].shape[1]}"
        here = f"{self.pf.frame_names[-1]}{where or f', person {len(self.pf.coords[-1])}'}"
        if why is not None:
            self.pf.problems.append((here, why))
            return
        if any(np.array_equal(c, coords) and np.array_equal(s, scores) for c, s in zip(self.pf.coords[-1], self.pf.scores[-1])):
            self.duplicates.append(self.pf.frame_names[-1])  # the same detection twice: one person, not two
            return
        self.pf.coords[-1].append(coords)
        self.pf.scores[-1].append(scores)
        self._ids[-1].append(pid)
        self.pf.person_where[-1].append(here)
        self._any_id |= pid is not None and pid != -1

    def done(self, allow_empty: bool = False) -> PoseFrames:
        pf = self.pf
        dims = {c.shape[1] for frame in pf.coords for c in frame}
        if len(dims) > 1:
            raise PoseFormatError(f"{pf.source or pf.name}: people with {sorted(dims)} coordinates per joint in one video")
        v = len(SOURCE_JOINTS.get(pf.layout, ())) or 1
        d = dims.pop() if dims else 2
        pf.coords = [np.stack(f) if f else np.zeros((0, v, d), np.float32) for f in pf.coords]
        pf.scores = [np.stack(f) if f else np.zeros((0, v), np.float32) for f in pf.scores]
        pf.ids = self._ids if self._any_id else None
        if self.duplicates:
            frames = list(dict.fromkeys(self.duplicates))
            pf.notes.append(
                f"{len(self.duplicates)} exact duplicate detection(s) dropped (the same keypoints and scores twice in one "
                f"frame: the results written twice?) in {len(frames)} frame(s): {_shown(frames)}"
            )
        failed = {w.split(", person")[0] for w, _ in pf.problems} | self.quiet
        empty = [n for n, c in zip(pf.frame_names, pf.coords) if not len(c) and n not in failed]
        if empty and len(empty) < len(pf.coords):
            shown = ", ".join(empty[:5]) + (f" and {len(empty) - 5} more" if len(empty) > 5 else "")
            pf.notes.append(f"{len(empty)} frame(s) with no person: {shown}")
        if not pf.num_people and not allow_empty:
            src = pf.source or pf.name
            if not pf.problems:
                raise PoseFormatError(f"{src}: nobody was detected in {src} (none of its {len(pf.coords)} frame(s) has a person)")
            detail = "; ".join(f"{w}: {why}" for w, why in pf.problems[:5])
            raise PoseFormatError(f"{src}: no usable person in any of {len(pf.coords)} frame(s) ({detail})")
        return pf


def _shown(names: Sequence[str], keep: int = 4) -> str:
    """``a, b, c, d`` or, for more, ``a, b, ..., z (N in all)``."""
    names = list(names)
    if len(names) <= keep:
        return ", ".join(map(str, names))
    return f"{names[0]}, {names[1]}, ..., {names[-1]} ({len(names)} in all)"


# ------------------------------------------------------------------------------------------------
# Small helpers
# ------------------------------------------------------------------------------------------------


def _natural_key(s: str) -> list:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", s)]


def _load_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise PoseFormatError(f"{path}: not readable JSON: {e}") from e


def _npy_member(f, source: str):
    """One ``.npy`` member of an ``.npz``; an object array through the restricted unpickler."""
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
    else:
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
    if dtype.hasobject:
        return RestrictedUnpickler(f, source).load()
    data = np.frombuffer(f.read(), dtype=dtype, count=int(np.prod(shape)) if shape else 1)
    return data.reshape(shape, order="F" if fortran else "C").copy()


def load_npz(path: str | os.PathLike) -> dict:
    """Every array of an ``.npz``; Python objects only through the restricted unpickler (no code runs)."""
    path = Path(path)
    out = {}
    try:
        with zipfile.ZipFile(path) as z:
            for name in z.namelist():
                key = name[:-4] if name.endswith(".npy") else name
                with z.open(name) as f:
                    out[key] = _npy_member(io.BufferedReader(f), f"{path}:{key}")
    except UnsafeFileError as e:  # a ValueError like every other bad input, so that callers report it plainly
        raise PoseFormatError(str(e)) from e
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as e:
        raise PoseFormatError(f"{path}: not a readable .npz: {e}") from e
    return out


def _as_item(x):
    """A 0-d object array's content (``np.savez`` wraps dicts that way)."""
    if isinstance(x, np.ndarray) and x.dtype == object and x.shape == ():
        return x.item()
    return x


# ------------------------------------------------------------------------------------------------
# Person parsers shared by the JSON formats
# ------------------------------------------------------------------------------------------------

_ID_KEYS = ("track_id", "idx", "person_id")


def _person_id(obj: dict):
    for k in _ID_KEYS:
        if k in obj:
            v = obj[k]
            if isinstance(v, list):
                v = v[0] if v else None
            if isinstance(v, bool) or not isinstance(v, (int, float, str)):  # an identity is a number or a name
                return None
            return None if v == -1 else v
    return None


def _parse_keypoints(obj: dict, visibility_flags: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """``(V, D)`` coordinates and ``(V,)`` scores from one person object of a COCO-like format."""
    kp = obj.get("keypoints")
    if isinstance(kp, dict):  # YOLO-pose tojson(): {"x": [...], "y": [...], "visible": [...]}
        xy = np.stack([np.asarray(kp["x"], np.float64), np.asarray(kp["y"], np.float64)], -1)
        vis = kp.get("visible")
        return xy, (None if vis is None else np.asarray(vis, np.float64))
    arr = np.asarray(kp, dtype=np.float64) if kp is not None else np.zeros((0,))
    scores = obj.get("keypoint_scores", obj.get("scores_per_keypoint"))
    if arr.ndim == 2:  # nested [[x, y], ...] or [[x, y, z], ...] with separate scores
        return arr, (None if scores is None else np.asarray(scores, np.float64).reshape(-1))
    if arr.ndim == 1 and arr.size % 3 == 0:  # flat [x, y, v|score, ...]
        trip = arr.reshape(-1, 3)
        s = (trip[:, 2] > 0).astype(np.float64) if visibility_flags else trip[:, 2]
        return trip[:, :2], s
    return arr.reshape(-1, 1), None  # wrong count: check_person names it


# ------------------------------------------------------------------------------------------------
# OpenPose
# ------------------------------------------------------------------------------------------------

_OPENPOSE_LAYOUTS = {75: "body25", 54: "openpose"}
_OPENPOSE_NAMES = {"body25": ("BODY_25", 75, "openpose-body25"), "openpose": ("COCO-18", 54, "openpose-coco18")}


def _openpose_file(f: Path) -> tuple[list | None, str | None]:
    """The ``people`` of one OpenPose frame file, or ``(None, why)``."""
    try:
        obj = _load_json(f)
        people = obj["people"]
        if not isinstance(people, list):
            raise TypeError("'people' is not a list")
    except (PoseFormatError, KeyError, TypeError) as e:
        return None, f"not an OpenPose frame: {e}"
    return people, None


def _openpose_sizes(people: list) -> set[int]:
    """The numbers of ``pose_keypoints_2d`` values of a frame's people (75: BODY_25, 54: COCO-18)."""
    out = set()
    for person in people:
        kp = person.get("pose_keypoints_2d") if isinstance(person, dict) else None
        out.add(len(kp) if isinstance(kp, list) else -1)
    return out


def read_openpose(path: str | os.PathLike, model: str | None = None) -> PoseFrames:
    """An OpenPose ``--write_json`` folder (one ``*_keypoints.json`` per frame) or one such file.

    A folder whose files come from two models (BODY_25 and COCO-18, e.g. two runs written to one
    folder) is refused, naming both sets, unless ``model`` (``'body25'`` or ``'openpose'`` for
    COCO-18) says which files to read; the others are then left out with one note.
    """
    path = Path(path)
    files = _frame_files(path, "_keypoints.json") if path.is_dir() else [path]
    frames = [(f, *_openpose_file(f)) for f in files]
    by_model = {
        name: [f.name for f, people, _ in frames if people and n in _openpose_sizes(people)] for name, (_, n, _) in _OPENPOSE_NAMES.items()
    }
    if model is None and all(by_model.values()):
        parts = [f"{label} ({n} values a person) in {len(by_model[name])} file(s): {_shown(by_model[name])}" for name, (label, n, _) in _OPENPOSE_NAMES.items()]
        raise PoseFormatError(
            f"{path}: the folder mixes two OpenPose models: {'; and '.join(parts)}. Pass "
            + " or ".join(f"--format {fmt}" for _, _, fmt in _OPENPOSE_NAMES.values())
            + " (Python: fmt=...) to read the files of one model"
        )
    skip: set[str] = set()
    b = _Builder(path.stem if path.is_file() else path.name, "openpose", model, source=path)
    if model is not None:
        other = next(name for name in _OPENPOSE_NAMES if name != model)
        skip = set(by_model[other]) - set(by_model[model])
        if skip:
            names = [f.name for f, _, _ in frames if f.name in skip]
            b.pf.notes.append(
                f"left out {len(skip)} {_OPENPOSE_NAMES[other][0]} file(s) of the folder, as --format "
                f"{_OPENPOSE_NAMES[model][2]} asks: {_shown(names)}"
            )
    for f, people, why in frames:
        if f.name in skip:
            continue
        b.frame(f.name)
        if people is None:
            b.fail_frame(why)
            continue
        _openpose_people(b, people)
    if not b.pf.layout:
        b.pf.layout = "openpose"
    return b.done()


def _openpose_people(b: _Builder, people: list) -> None:
    """The people of one OpenPose frame; the first one fixes the model (BODY_25 or COCO-18)."""
    for p, person in enumerate(people):
        values = (person.get("pose_keypoints_2d") if isinstance(person, dict) else None) or []
        flat = _floats_or_none(values)
        if flat is None:
            b.pf.problems.append((f"{b.pf.frame_names[-1]}, person {p}", f"pose_keypoints_2d holds values that are not numbers ({_first_non_number(values)!r})"))
            continue
        if not b.pf.layout:
            b.pf.layout = _OPENPOSE_LAYOUTS.get(flat.size, "")
        v = len(SOURCE_JOINTS.get(b.pf.layout, ()))
        if v == 0 or flat.size != 3 * v:
            b.pf.problems.append((f"{b.pf.frame_names[-1]}, person {p}", f"{flat.size} values in pose_keypoints_2d, expected 75 (BODY_25) or 54 (COCO-18)"))
            continue
        trip = flat.reshape(-1, 3)
        b.person(trip[:, :2], trip[:, 2], _person_id(person), f", person {p}")


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _floats_or_none(values) -> np.ndarray | None:
    """A flat float array of ``values`` (a JSON list of numbers), or None when one of them is not a number."""
    if not isinstance(values, list) or not all(_is_number(v) for v in values):
        return None
    return np.asarray(values, np.float64).reshape(-1)


def _first_non_number(values):
    return next((v for v in values if not _is_number(v)), None) if isinstance(values, list) else values


def _frame_files(folder: Path, suffix: str = ".json") -> list[Path]:
    files = sorted((f for f in folder.iterdir() if f.is_file() and f.name.endswith(suffix)), key=lambda f: _natural_key(f.name))
    if not files:
        _refuse_empty_folder(folder)
        raise PoseFormatError(f"{folder}: no {suffix} frame files in the folder")
    return files


def _refuse_empty_folder(folder: Path) -> None:
    """An empty folder (or one with nothing but sub-folders) is named as such."""
    entries = list(folder.iterdir())
    if not entries:
        raise PoseFormatError(f"{folder}: the folder is empty: no frame files to read")
    if not any(e.is_file() for e in entries):
        raise PoseFormatError(f"{folder}: the folder holds no files, only {len(entries)} sub-folder(s): pass the folder of frame files itself")


# ------------------------------------------------------------------------------------------------
# COCO-17 (results lists, COCO / PoseTrack files, per-frame lists) and mmpose predictions
# ------------------------------------------------------------------------------------------------


def read_coco(path: str | os.PathLike) -> PoseFrames:
    """COCO-17 keypoints: a results list, a COCO/PoseTrack file, or a folder of per-frame lists."""
    path = Path(path)
    if path.is_dir():
        b = _Builder(path.name, "coco", "coco", source=path)
        for f in _frame_files(path):
            b.frame(f.name)
            try:
                obj = _load_json(f)
            except PoseFormatError as e:
                b.fail_frame(str(e).split(": ", 1)[-1])
                continue
            _coco_people(b, obj.get("instances", obj.get("people", [])) if isinstance(obj, dict) else obj, "expected a list of people")
        return b.done()
    obj = _load_json(path)
    if obj == []:
        raise PoseFormatError(_nobody(path))
    if isinstance(obj, dict) and "annotations" in obj and "images" in obj:
        return _read_coco_dataset(path, obj)
    if isinstance(obj, list) and any(isinstance(d, dict) and "image_id" in d for d in obj):
        return _read_coco_results(path, obj)
    if isinstance(obj, list):  # one frame: a list of people
        b = _Builder(path.stem, "coco", "coco", source=path)
        b.frame(path.name)
        _coco_people(b, obj, "")
        return b.done()
    raise PoseFormatError(f"{path}: not COCO keypoints (expected a results list with image_id, or images + annotations)")


def _coco_people(b: _Builder, people, missing: str) -> None:
    """The people of one COCO-like frame (``missing``: the problem when it is not a list)."""
    if not isinstance(people, list):
        b.fail_frame(missing)
        return
    for p, person in enumerate(people):
        _coco_person(b, person, f", person {p}")


def _coco_person(b: _Builder, person, where: str, visibility_flags: bool = False) -> None:
    if not isinstance(person, dict):
        b.pf.problems.append((f"{b.pf.frame_names[-1]}{where}", f"a person is a JSON {type(person).__name__}, not an object"))
        return
    if "category_id" in person and person["category_id"] not in (1, "person"):
        return  # not a person
    try:
        xy, s = _parse_keypoints(person, visibility_flags)
    except (ValueError, TypeError, KeyError) as e:
        b.pf.problems.append((f"{b.pf.frame_names[-1]}{where}", f"keypoints that are not numbers ({type(e).__name__}: {e})"))
        return
    b.person(xy, s, _person_id(person), where)


def _nobody(path: Path) -> str:
    return f"{path}: nobody was detected in {path} (an empty list of detections): nothing to read"


def _frame_number(image_id) -> int | None:
    """The frame number an ``image_id`` stands for: the integer itself, or the last number of a name (``frame_0012.jpg``)."""
    if is_int(image_id):
        return int(image_id)
    if isinstance(image_id, float) and image_id.is_integer():
        return int(image_id)
    if isinstance(image_id, str):
        digits = re.findall(r"\d+", image_id)
        return int(digits[-1]) if digits else None
    return None


def _runs(numbers: Sequence[int], keep: int = 6) -> str:
    """``3..5, 9, 12..13`` (consecutive numbers as ranges)."""
    runs: list[list[int]] = []
    for n in numbers:
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    text = [f"{a}" if a == z else f"{a}..{z}" for a, z in runs]
    return ", ".join(text[:keep]) + (f" and {len(text) - keep} more" if len(text) > keep else "")


def _read_coco_results(path: Path, obj: list) -> PoseFrames:
    """A results list: one frame per ``image_id``; the ids are frame numbers when they can be (gaps kept)."""
    b = _Builder(path.stem, "coco", "coco", source=path)
    frames: dict = {}
    homeless = [i for i, d in enumerate(obj) if not isinstance(d, dict) or "image_id" not in d]
    if homeless:
        which = f"entry {homeless[0]}" if len(homeless) == 1 else f"entries {_runs(homeless)}"
        b.pf.notes.append(f"{path.name}, {which}: no image_id (or not an object), so in no frame (left out)")
    skip = set(homeless)
    for i, d in enumerate(obj):
        if i in skip:
            continue
        key = d["image_id"]
        if not isinstance(key, (str, int, float)) or isinstance(key, bool):
            raise PoseFormatError(f"{path}: entry {i}: image_id {key!r} is neither a number nor a name")
        frames.setdefault(key, []).append(d)
    numbers = {k: _frame_number(k) for k in frames}
    order: list = sorted(frames, key=lambda k: _natural_key(str(k)))
    missing: list[int] = []
    if None not in numbers.values() and len(set(numbers.values())) == len(numbers):
        by_number = {n: k for k, n in numbers.items()}
        lo, hi = min(by_number), max(by_number)
        if hi - lo + 1 <= frame_span_limit(len(by_number)):
            order = [by_number.get(n, n) for n in range(lo, hi + 1)]
            missing = [n for n in range(lo, hi + 1) if n not in by_number]
        else:
            order = [by_number[n] for n in sorted(by_number)]
            b.pf.notes.append(
                f"image_id values {lo}..{hi} are too far apart to be the frame numbers of {len(by_number)} frames: "
                "read in order as consecutive frames"
            )
    gaps = set(missing)
    for key in order:
        if key in gaps and key not in frames:
            b.frame(f"frame {key} (no image_id)")
            b.quiet.add(b.pf.frame_names[-1])
            continue
        b.frame(f"image_id {key}")
        _coco_people(b, frames[key], "")
    if missing:
        b.pf.notes.append(
            f"{len(missing)} frame(s) missing from the results (image_id {_runs(missing)}): kept in their place as frames with nobody"
        )
    return b.done()


def _read_coco_dataset(path: Path, obj: dict) -> PoseFrames:
    """COCO / PoseTrack files: ``v`` flags are visibility (score 1 if v > 0); other joints' names zeroed."""
    b = _Builder(path.stem, "coco", "coco", source=path)
    images = sorted(obj["images"], key=lambda im: (im.get("frame_id", 0), im.get("id", 0)))
    by_image: dict = {}
    for a in obj["annotations"]:
        by_image.setdefault(a.get("image_id"), []).append(a)
    names = None
    for cat in obj.get("categories") or []:
        if cat.get("name") == "person" and cat.get("keypoints"):
            names = list(cat["keypoints"])
    other = [i for i, n in enumerate(names or []) if i < 17 and n != SOURCE_JOINTS["coco"][i]]
    if other:
        b.pf.notes.append(
            "joint slot(s) " + ", ".join(f"{i} is {names[i]!r} not {SOURCE_JOINTS['coco'][i]!r}" for i in other)
            + ": read as undetected (score 0)"
        )
    if images and all(k in images[0] for k in ("height", "width")):
        b.pf.img_shape = (int(images[0]["height"]), int(images[0]["width"]))
    for im in images:
        b.frame(str(im.get("file_name", f"image {im.get('id')}")))
        for p, person in enumerate(by_image.get(im.get("id"), [])):
            before = len(b.pf.scores[-1])
            _coco_person(b, person, f", person {p}", visibility_flags=True)
            if other and len(b.pf.scores[-1]) > before:
                b.pf.scores[-1][-1][other] = 0
                b.pf.coords[-1][-1][other] = 0
    if len(images) == 1 and images[0].get("nframes", 1) > 1:
        b.pf.notes.append(f"the file holds 1 of the video's {images[0]['nframes']} frames (labelled frames only)")
    return b.done()


def read_mmpose(path: str | os.PathLike) -> PoseFrames:
    """mmpose ``--save-predictions`` JSON: ``instance_info`` frames of ``keypoints`` + ``keypoint_scores``."""
    path = Path(path)
    obj = _load_json(path)
    if not isinstance(obj, dict) or not isinstance(obj.get("instance_info"), list):
        raise PoseFormatError(f"{path}: not an mmpose predictions file (no 'instance_info' list)")
    meta = obj.get("meta_info") or {}
    dataset = str(meta.get("dataset_name", "")).lower()
    layout = "h36m" if "h36m" in dataset else "coco" if "coco" in dataset or not dataset else None
    if layout is None:
        raise PoseFormatError(f"{path}: mmpose dataset {dataset!r}: only COCO-17 and Human3.6M-17 are read")
    b = _Builder(path.stem, "mmpose", layout, source=path)
    for i, frame in enumerate(obj["instance_info"]):
        b.frame(f"frame_id {frame.get('frame_id', i)}" if isinstance(frame, dict) else f"entry {i}")
        _coco_people(b, frame.get("instances") if isinstance(frame, dict) else None, "no 'instances' list")
    return b.done()


# ------------------------------------------------------------------------------------------------
# MediaPipe Pose (33 landmarks)
# ------------------------------------------------------------------------------------------------

_LANDMARK_KEYS = ("x", "y", "z", "visibility")


def _mp_person(b: _Builder, landmarks, where: str) -> None:
    if not isinstance(landmarks, list) or not all(isinstance(lm, dict) for lm in landmarks):
        b.pf.problems.append((f"{b.pf.frame_names[-1]}{where}", "landmarks are not a list of {x, y, z, visibility} objects"))
        return
    has_vis = ["visibility" in lm for lm in landmarks]
    why = None
    if any(has_vis) and not all(has_vis):  # a garbled landmark, not an export without visibility
        why = f"landmark(s) {', '.join(str(j) for j, h in enumerate(has_vis) if not h)} have no visibility while the others do"
    for j, lm in enumerate(landmarks):
        for key in ("x", "y") + (("visibility",) if has_vis[j] else ()):
            if why is None and not _is_number(lm.get(key)):
                why = f"landmark {j}: {key} is {lm.get(key)!r}, not a number" if key in lm else f"landmark {j} has no {key}"
    if why is not None:
        b.pf.problems.append((f"{b.pf.frame_names[-1]}{where}", why))
        return
    xy = np.array([[lm["x"], lm["y"]] for lm in landmarks], np.float64).reshape(-1, 2)
    vis = np.array([lm.get("visibility", 1.0) for lm in landmarks], np.float64)
    b.person(xy, vis, None, where)


def _mp_people(b: _Builder, people: list | None) -> None:
    """The people of one MediaPipe frame (``None``: the frame was not a MediaPipe frame)."""
    if people is None:
        b.fail_frame("not a MediaPipe frame (no landmark / pose_landmarks)")
        return
    for p, lm in enumerate(people):
        _mp_person(b, lm, f", person {p}")


def _mp_frame_people(frame) -> list | None:
    """The people of one MediaPipe JSON frame (``None``: not a frame)."""
    if frame is None or frame == {} or frame == []:
        return []
    if isinstance(frame, list) and frame and isinstance(frame[0], dict) and "x" in frame[0]:
        return [frame]  # a bare list of landmarks
    if isinstance(frame, dict):
        if "pose_landmarks" in frame:  # Tasks API PoseLandmarkerResult: one list per person
            pl = frame["pose_landmarks"] or []
            if isinstance(pl, dict):  # the legacy solution's pose_landmarks as MessageToDict
                pl = [pl.get("landmark", [])]
            if not isinstance(pl, list):
                return None
            return [p.get("landmark", p) if isinstance(p, dict) else p for p in pl]
        for key in ("landmark", "landmarks"):
            if key in frame:
                lm = frame[key]
                if not lm:
                    return []
                return ([lm] if isinstance(lm[0], dict) else lm) if isinstance(lm, list) else None
    return None


def read_mediapipe(path: str | os.PathLike) -> PoseFrames:
    """MediaPipe Pose 33 landmarks from a JSON, CSV or NPY export (or a folder of per-frame JSON)."""
    path = Path(path)
    b = _Builder(path.stem if path.is_file() else path.name, "mediapipe", "mediapipe", source=path)
    b.pf.normalised = True
    if path.is_dir():
        for f in _frame_files(path):
            b.frame(f.name)
            try:
                people = _mp_frame_people(_load_json(f))
            except PoseFormatError as e:
                b.fail_frame(str(e).split(": ", 1)[-1])
                continue
            _mp_people(b, people)
    elif path.suffix.lower() == ".json":
        obj = _load_json(path)
        frames = obj.get("frames") if isinstance(obj, dict) and "frames" in obj else obj
        if isinstance(frames, dict) or (isinstance(frames, list) and frames and isinstance(frames[0], dict) and "x" in frames[0]):
            frames = [frames]  # one frame: a frame object or a bare list of landmarks
        if not isinstance(frames, list):
            raise PoseFormatError(f"{path}: not a MediaPipe export (expected a list of frames with 'landmark' or 'pose_landmarks')")
        for i, frame in enumerate(frames):
            b.frame(f"frame {i}")
            _mp_people(b, _mp_frame_people(frame))
    elif path.suffix.lower() == ".csv":
        _read_mediapipe_csv(path, b)
    elif path.suffix.lower() == ".npy":
        arr = _load_npy(path)
        if arr.ndim == 2 and arr.shape[1] == 33 * 4:
            arr = arr.reshape(-1, 33, 4)
        _array_into(b, arr, path, score_channel=3 if arr.shape[-1] == 4 else None, coords=2)
    else:
        raise PoseFormatError(f"{path}: MediaPipe exports are read from .json, .csv or .npy")
    return b.done()  # pixel exports (not normalised): see _units


_CSV_WIDE = re.compile(r"^(?:(x|y|z|visibility|v|presence)_?(\d+)|(\d+)_(x|y|z|visibility|v|presence)|([a-z_]+)_(x|y|z|visibility|presence))$")


def _read_mediapipe_csv(path: Path, b: _Builder) -> None:
    """Long form (``frame, landmark, x, y, z, visibility[, person]``) or wide form (one row per frame)."""
    try:
        rows = list(csv.reader(io.StringIO(path.read_text())))
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise PoseFormatError(f"{path}: not a readable CSV: {e}") from e
    if len(rows) < 2:
        raise PoseFormatError(f"{path}: no data rows")
    head = [h.strip().lower() for h in rows[0]]
    col = {h: i for i, h in enumerate(head)}
    frame_col = next((col[k] for k in ("frame", "frame_index", "frame_idx", "frame_id") if k in col), None)
    person_col = next((col[k] for k in ("person", "person_id", "pose") if k in col), None)

    def num(row, i):
        try:
            return float(row[i])
        except (ValueError, IndexError):
            return np.nan

    people: dict[tuple, dict] = {}  # (frame, person) -> {landmark: (x, y, vis)}
    order: list = []
    lm_col = next((col[k] for k in ("landmark", "landmark_id", "landmark_index", "joint", "id") if k in col), None)
    if lm_col is not None and "x" in col and "y" in col:
        for r, row in enumerate(rows[1:], start=2):
            if not any(x.strip() for x in row):
                continue
            fr = row[frame_col].strip() if frame_col is not None else "0"
            key = (fr, row[person_col].strip() if person_col is not None else "0")
            if fr not in order:
                order.append(fr)
            lm = row[lm_col].strip().lower()
            idx = int(lm) if lm.isdigit() else (MEDIAPIPE_LANDMARKS.index(lm) if lm in MEDIAPIPE_LANDMARKS else -1)
            if not 0 <= idx < 33:
                b.pf.problems.append((f"row {r}", f"landmark {lm!r} is not one of MediaPipe's 33"))
                continue
            vis = num(row, col["visibility"]) if "visibility" in col else 1.0
            people.setdefault(key, {})[idx] = (num(row, col["x"]), num(row, col["y"]), vis)
    else:
        fields: dict[int, dict[str, int]] = {}
        for i, h in enumerate(head):
            m = _CSV_WIDE.match(h)
            if not m:
                continue
            if m.group(1):
                idx, what = int(m.group(2)), m.group(1)
            elif m.group(3):
                idx, what = int(m.group(3)), m.group(4)
            elif m.group(5) in MEDIAPIPE_LANDMARKS:
                idx, what = MEDIAPIPE_LANDMARKS.index(m.group(5)), m.group(6)
            else:
                continue
            fields.setdefault(idx, {})["visibility" if what == "v" else what] = i
        if not fields or not all("x" in fields.get(i, {}) and "y" in fields.get(i, {}) for i in range(33)):
            raise PoseFormatError(
                f"{path}: CSV header is neither long form (frame, landmark, x, y, z, visibility) nor wide form "
                "(x0, y0, z0, visibility0, ... for all 33 landmarks)"
            )
        for r, row in enumerate(rows[1:], start=2):
            if not any(x.strip() for x in row):
                continue
            fr = row[frame_col].strip() if frame_col is not None else str(r - 2)
            key = (fr, row[person_col].strip() if person_col is not None else "0")
            if fr not in order:
                order.append(fr)
            people[key] = {i: (num(row, f["x"]), num(row, f["y"]), num(row, f["visibility"]) if "visibility" in f else 1.0) for i, f in fields.items()}
    for fr in order:
        b.frame(f"frame {fr}")
        for (f2, pid), lms in people.items():
            if f2 != fr:
                continue
            arr = np.full((max(33, max(lms) + 1), 3), np.nan)
            for i, v in lms.items():
                arr[i] = v
            if len(lms) != 33:
                b.pf.problems.append((f"frame {fr}, person {pid}", f"{len(lms)} landmarks, expected 33"))
                continue
            b.person(arr[:, :2], arr[:, 2], None if person_col is None else pid, f", person {pid}")


# ------------------------------------------------------------------------------------------------
# Arrays and lifter .npz files
# ------------------------------------------------------------------------------------------------


def _load_npy(path: Path) -> np.ndarray:
    arr = safe_npy_load(path)
    if arr.dtype.kind not in "fiu":
        raise PoseFormatError(f"{path}: expected a numeric array, got dtype {arr.dtype}")
    return arr


def _array_into(b: _Builder, arr: np.ndarray, path, score_channel: int | None, coords: int | None = None) -> None:
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


def _read_array(path: Path, layout: str, fmt: str, arr: np.ndarray | None = None) -> PoseFrames:
    arr = _load_npy(path) if arr is None else arr
    v = arr.shape[-2] if arr.ndim >= 3 else 0
    if v != len(SOURCE_JOINTS[layout]):
        raise PoseFormatError(f"{path}: {v} joints, but format {fmt!r} ({layout}) has {len(SOURCE_JOINTS[layout])}")
    c = arr.shape[-1]
    is_3d = layout in ("h36m", "nturgb+d") and c == 3
    b = _Builder(path.stem, fmt, layout, has_score=not is_3d and c == 3, source=path)
    _array_into(b, arr, path, score_channel=None if is_3d or c == 2 else 2, coords=3 if is_3d else 2)
    return b.done()


def _floats(x, path, key: str) -> np.ndarray:
    """``x`` as a float32 array; an object array of arrays of different shapes (people of different lengths) is named."""
    parts = list(x) if isinstance(x, (list, tuple)) or (isinstance(x, np.ndarray) and x.dtype == object and x.ndim == 1) else None
    try:
        if parts is not None and parts and all(isinstance(p, np.ndarray) for p in parts):
            shapes = [p.shape for p in parts]
            if len(set(shapes)) > 1:
                lengths = " and ".join(str(s[0]) if s else "?" for s in shapes)
                raise PoseFormatError(
                    f"{path}: {key!r} holds {len(parts)} arrays of different shapes ({'; '.join(map(str, shapes))}): people "
                    f"of different lengths ({lengths} frames) do not make one array; save each person under its own key "
                    "or pad them to one length"
                )
            return np.stack(parts).astype(np.float32)
        arr = np.asarray(x, np.float32)
    except (ValueError, TypeError) as e:
        raise PoseFormatError(f"{path}: {key!r} is not a numeric array ({type(x).__name__}: {e})") from None
    return arr


def _meta_size(meta, path: Path) -> tuple[int, int] | None:
    """``(h, w)`` from a metadata dict with ``h`` and ``w`` (positive integers), else None."""
    if not isinstance(meta, dict) or "h" not in meta or "w" not in meta:
        return None
    h, w = meta["h"], meta["w"]
    whole = [isinstance(v, (int, float, np.number)) and not isinstance(v, (bool, np.bool_)) and math.isfinite(v) and float(v).is_integer() and v > 0 for v in (h, w)]
    if not all(whole):
        raise PoseFormatError(f"{path}: metadata gives the image size h = {h!r}, w = {w!r}: expected positive integers")
    return int(h), int(w)


def read_lifter_npz(path: str | os.PathLike, fmt: str | None = None) -> list[PoseFrames]:
    """Detectron2 / VideoPose3D / MHFormer ``.npz`` files (one :class:`PoseFrames` per video)."""
    path = Path(path)
    d = load_npz(path)
    fmt = fmt or _npz_kind(d, path)
    if fmt == "mhformer":
        if "reconstruction" not in d:
            raise PoseFormatError(f"{path}: no 'reconstruction' array (keys: {sorted(d)})")
        rec = _floats(d["reconstruction"], path, "reconstruction")
        if rec.ndim == 4 and rec.shape[-1] == 2:  # (persons, T, 17, 2) pixels, no scores
            b = _Builder(path.stem, fmt, "h36m", has_score=False, source=path)
            _array_into(b, rec, path, None)
        elif rec.ndim in (3, 4) and rec.shape[-1] == 3:  # (T, 17, 3) 3D, root-relative
            b = _Builder(path.stem, fmt, "h36m", has_score=False, source=path)
            _array_into(b, rec, path, None)
        else:
            raise PoseFormatError(f"{path}: 'reconstruction' of shape {rec.shape}: expected (M, T, 17, 2) or (T, 17, 3)")
        return [b.done()]
    if fmt == "videopose3d-2d":
        pos = _as_item(d.get("positions_2d"))
        meta = _as_item(d.get("metadata"))
        meta = meta if isinstance(meta, dict) else {}
        if not isinstance(pos, dict) or not all(isinstance(c, dict) for c in pos.values()):
            raise PoseFormatError(
                f"{path}: 'positions_2d' is {type(pos).__name__ if not isinstance(pos, dict) else 'a dict of non-dicts'}; "
                "VideoPose3D's prepare_data_2d_custom writes {video: {camera: [(T, 17, 2|3) array, ...]}}"
            )
        layout_name = str(meta.get("layout_name", "coco"))
        if layout_name not in ("coco", "h36m"):
            raise PoseFormatError(f"{path}: positions_2d in layout {layout_name!r}: only coco and h36m are read")
        out = []
        for video, cams in pos.items():
            for cam, arrays in cams.items():
                arrays = list(arrays) if isinstance(arrays, (list, tuple)) or (isinstance(arrays, np.ndarray) and arrays.dtype == object) else [arrays]
                for k, arr in enumerate(arrays):
                    name = Path(str(video)).stem + (f"_{cam}" if len(cams) > 1 else "") + (f"_{k}" if len(arrays) > 1 else "")
                    a = _floats(arr, path, f"positions_2d[{video!r}][{cam!r}][{k}]")
                    b = _Builder(name, fmt, layout_name, has_score=a.shape[-1] == 3 if a.ndim else False, source=path)
                    _array_into(b, a, f"{path}: {video}", 2 if a.ndim and a.shape[-1] == 3 else None, coords=2)
                    vmeta = meta.get("video_metadata")
                    pf = b.done()
                    pf.img_shape = _meta_size(vmeta.get(video) if isinstance(vmeta, dict) else None, path)
                    out.append(pf)
        if not out:
            raise PoseFormatError(f"{path}: positions_2d holds no video")
        return out
    if fmt == "detectron2":
        kps = d.get("keypoints")
        meta = _as_item(d.get("metadata"))
        meta = meta if isinstance(meta, dict) else {}
        if not isinstance(kps, (list, tuple, np.ndarray)) or np.ndim(kps) == 0:
            raise PoseFormatError(f"{path}: 'keypoints' is {type(kps).__name__}, expected one entry per frame")
        b = _Builder(path.name.split(".")[0], fmt, "coco", source=path)
        clipped = 0
        for t in range(len(kps)):
            b.frame(f"frame {t}")
            entry = kps[t]
            try:
                people = entry[1] if isinstance(entry, (list, tuple, np.ndarray)) and len(entry) > 1 else []
                people = np.asarray(people, np.float32) if np.size(people) else np.zeros((0, 4, 17), np.float32)
            except (ValueError, TypeError, IndexError) as e:
                b.fail_frame(f"keypoints are not a numeric array ({e})")
                continue
            if people.ndim != 3 or people.shape[1] != 4:
                b.fail_frame(f"keypoints of shape {people.shape}, expected (N, 4, 17)")
                continue
            for p in range(len(people)):
                s = people[p, 3]
                clipped += int((s > 1).sum())
                b.person(people[p, :2].T, np.clip(s, 0, 1), None, f", person {p}")
        pf = b.done()
        if clipped:
            pf.notes.append(f"{clipped} Detectron2 heatmap score(s) above 1 clipped to 1 (HRNet-style scores are in [0, 1])")
        pf.img_shape = _meta_size(meta, path)
        return [pf]
    raise PoseFormatError(f"{path}: format {fmt!r} is not an .npz format")


def _npz_kind(d: dict, path: Path) -> str:
    if "positions_2d" in d:
        return "videopose3d-2d"
    if "keypoints" in d and "boxes" in d:
        return "detectron2"
    if "reconstruction" in d:
        return "mhformer"
    raise PoseFormatError(f"{path}: an .npz with keys {sorted(d)}: not a known pose file. " + _format_help())


# ------------------------------------------------------------------------------------------------
# One frame at a time (streaming input)
# ------------------------------------------------------------------------------------------------


def _array_layout(v: int, hint: str | None) -> str:
    if hint is not None and len(SOURCE_JOINTS.get(hint, ())) == v:
        return hint
    by_count = {25: "nturgb+d" if hint is None or hint.startswith("nturgb+d") else "body25", 33: "mediapipe", 18: "openpose", 17: "coco"}
    if v not in by_count:
        raise PoseFormatError(f"{v} joints per person: no layout has that many (17 COCO/H36M, 18 OpenPose, 25 BODY_25/NTU, 33 MediaPipe)")
    return by_count[v]


def read_frame(obj, layout: str | None = None, dim: int | None = None, where: str = "frame") -> PoseFrames:
    """One frame (streaming input) as a one-frame :class:`PoseFrames`, possibly with nobody in it.

    ``obj`` is an OpenPose frame (``{"people": [...]}``), a list of COCO-style persons, an mmpose
    frame (``{"instances": [...]}``), a MediaPipe frame (``landmark`` / ``pose_landmarks``), or
    keypoints as an array: ``(V, C)`` for one person or ``(P, V, C)`` (also ``{"keypoints": ...}``).
    For arrays, ``layout`` (the model's) names the joints when the count fits, and ``dim`` says
    whether C = 3 is ``x, y, score`` (2) or ``x, y, z`` (3; the default for 3D layouts).
    """
    kind = None
    if isinstance(obj, dict) and "keypoints" in obj and not isinstance(obj["keypoints"], dict) and "people" not in obj:
        arr = np.asarray(obj["keypoints"], dtype=np.float64)
        if arr.ndim == 2 and not arr.size:
            arr = arr.reshape(0, 0, 0)
        kind = "array"
    elif isinstance(obj, (list, np.ndarray)) and (isinstance(obj, np.ndarray) or not obj or not isinstance(obj[0], dict)):
        try:
            arr = np.asarray(obj, dtype=np.float64)
        except (ValueError, TypeError) as e:
            raise PoseFormatError(f"{where}: keypoints are not a numeric array: {e}") from e
        kind = "array"
    if kind == "array":
        if arr.ndim == 2:
            arr = arr[None]
        if arr.size == 0:  # nobody in this frame
            b = _Builder(where, "array", layout or "coco")
            b.frame(where)
            return b.done(allow_empty=True)
        if arr.ndim != 3:
            raise PoseFormatError(f"{where}: keypoints of shape {arr.shape}: expected (V, C) or (people, V, C)")
        lay = _array_layout(arr.shape[1], layout)
        c = arr.shape[2]
        three_d = c == 3 and (dim == 3 or (dim is None and (lay.startswith("nturgb+d") or lay == "h36m")))
        if c not in (2, 3, 4):
            raise PoseFormatError(f"{where}: {c} values per joint: expected x, y [, score] or x, y, z")
        b = _Builder(where, "array", lay, has_score=(c == 3 and not three_d) or c == 4)
        b.frame(where)
        for p in range(arr.shape[0]):
            if three_d:
                b.person(arr[p, :, :3], None, None, f", person {p}")
            else:
                b.person(arr[p, :, :2], arr[p, :, 2] if c >= 3 else None, None, f", person {p}")
        return b.done(allow_empty=True)
    if isinstance(obj, dict) and "people" in obj:
        b = _Builder(where, "openpose", None)
        b.frame(where)
        _openpose_people(b, obj["people"] or [])
        b.pf.layout = b.pf.layout or ("body25" if layout in (None, "openpose") else "openpose")
        return b.done(allow_empty=True)
    people = _mp_frame_people(obj)
    if people is not None and not (isinstance(obj, list) and obj and "keypoints" in obj[0]):
        b = _Builder(where, "mediapipe", "mediapipe")
        b.pf.normalised = True
        b.frame(where)
        _mp_people(b, people)
        return b.done(allow_empty=True)
    persons = obj.get("instances") if isinstance(obj, dict) else obj
    if isinstance(persons, list):
        b = _Builder(where, "coco", "h36m" if layout == "h36m" else "coco")
        b.frame(where)
        _coco_people(b, persons, "")
        return b.done(allow_empty=True)
    raise PoseFormatError(
        f"{where}: not a frame: expected an OpenPose frame, a list of COCO persons, a MediaPipe frame or a keypoint array"
    )


def join_frames(frames: Sequence[PoseFrames], name: str) -> PoseFrames:
    """One video from one-frame :class:`PoseFrames` of one layout (streaming windows)."""
    layouts = {f.layout for f in frames if f.num_people}
    if len(layouts) > 1:
        raise PoseFormatError(f"{name}: frames of different layouts ({', '.join(sorted(layouts))})")
    first = next((f for f in frames if f.num_people), frames[0])
    out = PoseFrames(
        name, first.fmt, layouts.pop() if layouts else first.layout, img_shape=first.img_shape, normalised=first.normalised, has_score=first.has_score
    )
    any_ids = any(f.ids is not None for f in frames)
    out.ids = [] if any_ids else None
    v, d = len(SOURCE_JOINTS.get(out.layout, ())) or 1, first.dim
    for f in frames:
        out.coords += [c if len(c) else np.zeros((0, v, d), np.float32) for c in f.coords]  # nobody: any layout
        out.scores += [s if len(s) else np.zeros((0, v), np.float32) for s in f.scores]
        out.frame_names += f.frame_names
        out.person_where += f.person_where if len(f.person_where) == len(f.coords) else [[] for _ in f.coords]
        out.problems += f.problems
        if any_ids:
            out.ids += f.ids if f.ids is not None else [[None] * len(c) for c in f.coords]
    return out


# ------------------------------------------------------------------------------------------------
# Format detection and the one entry point
# ------------------------------------------------------------------------------------------------


def _format_help() -> str:
    names = ", ".join(list(POSE_FORMATS) + list(OTHER_FORMATS))
    return f"Formats: {names}; choose one with --format NAME (Python: fmt=...)."


def _sniff_json(obj) -> str | None:
    if isinstance(obj, dict):
        if "people" in obj:
            return "openpose"
        if "instance_info" in obj:
            return "mmpose"
        if "images" in obj and "annotations" in obj:
            return "coco"
        if "data" in obj and isinstance(obj["data"], list):
            return "kinetics"
        if any(k in obj for k in ("landmark", "landmarks", "pose_landmarks", "frames")):
            return "mediapipe"
        return None
    if isinstance(obj, list):
        first = next((x for x in obj if x), None)
        if first is None:
            return None
        if isinstance(first, dict) and ("keypoints" in first or "image_id" in first):
            return "coco"
        if isinstance(first, dict) and ("x" in first or any(k in first for k in ("landmark", "pose_landmarks"))):
            return "mediapipe"
        if isinstance(first, list) and first and isinstance(first[0], dict) and "x" in first[0]:
            return "mediapipe"
    return None


def detect_format(path: str | os.PathLike) -> str:
    """The format of one input (a key of :data:`POSE_FORMATS` or ``ntu`` / ``kinetics`` / ``annotations``)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    if path.is_dir():
        _refuse_empty_folder(path)
        files = sorted((f for f in path.iterdir() if f.is_file()), key=lambda f: _natural_key(f.name))
        if any(f.name.endswith("_keypoints.json") for f in files):
            return "openpose"
        json_files, nobody = [f for f in files if f.suffix.lower() == ".json"], 0
        for f in json_files:
            try:
                obj = json.loads(f.read_text())
            except (OSError, UnicodeDecodeError, json.JSONDecodeError):
                continue  # a corrupt frame: look at the next one
            kind = _sniff_json(obj)
            if kind in ("openpose", "coco", "mediapipe"):
                return kind
            if kind is None and obj == []:
                nobody += 1
                continue  # a frame with nobody: look at the next one
            break
        if json_files and nobody == len(json_files):
            raise PoseFormatError(f"{path}: nobody was detected in any of the {nobody} frame files of {path} (each is an empty list)")
        raise PoseFormatError(f"{path}: a folder, but not of OpenPose, COCO or MediaPipe frame JSON files. " + _format_help())
    suffix = path.suffix.lower()
    if suffix == ".skeleton":
        return "ntu"
    if suffix in (".pkl", ".pickle"):
        return "annotations"
    if suffix == ".csv":
        return "mediapipe"
    if suffix == ".npz":
        return _npz_kind(load_npz(path), path)
    if suffix == ".npy":
        shape = safe_npy_load(path, mmap_mode="r").shape
        v = shape[-2] if len(shape) >= 3 else (33 if len(shape) == 2 and shape[-1] == 132 else 0)
        if v == 33:
            return "mediapipe"
        if v in (25, 18) or v not in (17,):
            return "array"
        raise PoseFormatError(
            f"{path}: {v} joints {tuple(shape)} could be COCO-17 (2D, e.g. x, y, score) or Human3.6M-17 "
            f"(a lifter's 2D or 3D); pass --format coco or --format h36m. " + _format_help()
        )
    if suffix == ".json":
        obj = _load_json(path)
        if obj == []:
            raise PoseFormatError(_nobody(path))
        kind = _sniff_json(obj)
        if kind is None:
            raise PoseFormatError(f"{path}: a JSON file of no known pose format. " + _format_help())
        return kind
    raise PoseFormatError(f"{path}: unknown kind of file ({suffix or 'no suffix'}). " + _format_help())


def read_poses(path: str | os.PathLike, fmt: str | None = None) -> list[PoseFrames]:
    """Every video of one input in its own layout, before tracking (``fmt``: see :data:`POSE_FORMATS`)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    fmt = fmt or detect_format(path)
    if fmt in OTHER_FORMATS:
        raise PoseFormatError(f"{path}: {OTHER_FORMATS[fmt]} is read by aagcn_lab.predict.read_input, not here")
    if fmt not in POSE_FORMATS:
        raise PoseFormatError(f"unknown format {fmt!r}. " + _format_help())
    if fmt in ("openpose", "openpose-body25", "openpose-coco18"):
        if path.suffix.lower() == ".npy":
            return [_read_array(path, _npy_layout(path, ("openpose", "body25")), "openpose")]
        return [read_openpose(path, {"openpose-body25": "body25", "openpose-coco18": "openpose"}.get(fmt))]
    if fmt == "coco":
        return [read_coco(path)] if path.suffix.lower() != ".npy" else [_read_array(path, "coco", fmt)]
    if fmt == "mmpose":
        return [read_mmpose(path)]
    if fmt == "mediapipe":
        return [read_mediapipe(path)]
    if fmt in ("detectron2", "videopose3d-2d", "mhformer"):
        return read_lifter_npz(path, fmt)
    if fmt == "h36m":
        if path.suffix.lower() == ".npz":
            return read_lifter_npz(path, "mhformer")
        return [_read_array(path, "h36m", fmt)]
    return [_read_array(path, _npy_layout(path, ("nturgb+d", "openpose", "body25")), fmt)]  # array


def _npy_layout(path: Path, options: Sequence[str]) -> str:
    shape = safe_npy_load(path, mmap_mode="r").shape
    v = shape[-2] if len(shape) >= 3 else 0
    for name in options:
        if len(SOURCE_JOINTS[name]) == v:
            return name
    raise PoseFormatError(
        f"{path}: {v} joints match none of " + ", ".join(f"{n} ({len(SOURCE_JOINTS[n])})" for n in options) + ". " + _format_help()
    )


# ------------------------------------------------------------------------------------------------
# Joint maps and layouts
# ------------------------------------------------------------------------------------------------


def map_joints(coords: np.ndarray, scores: np.ndarray, src: str, dst: str) -> tuple[np.ndarray, np.ndarray]:
    """``(..., V_src, D)`` + ``(..., V_src)`` in layout ``src`` -> the same in ``dst`` (:data:`JOINT_MAPS`)."""
    if src == dst:
        return coords, scores
    try:
        table = JOINT_MAPS[(src, dst)]
    except KeyError:
        raise LayoutMismatchError(f"no joint map from {src!r} to {dst!r}; maps: {', '.join(f'{a}->{b}' for a, b in JOINT_MAPS)}") from None
    out_c = np.zeros(coords.shape[:-2] + (len(table), coords.shape[-1]), coords.dtype)
    out_s = np.zeros(scores.shape[:-1] + (len(table),), scores.dtype)
    for j, s in enumerate(table):
        if isinstance(s, tuple):
            a, b = s
            both = (scores[..., a] > 0) & (scores[..., b] > 0)
            out_c[..., j, :] = np.where(both[..., None], (coords[..., a, :] + coords[..., b, :]) / 2, 0)
            out_s[..., j] = np.where(both, np.minimum(scores[..., a], scores[..., b]), 0)
        else:
            out_c[..., j, :] = coords[..., s, :]
            out_s[..., j] = scores[..., s]
    return out_c, out_s


def feeds(layout: str) -> list[str]:
    """The input layouts that can feed a model of ``layout`` (itself and those with a joint map)."""
    return [layout] + [a for (a, b) in JOINT_MAPS if b == layout]


def fit_layout(record: dict, layout: Layout | str, what: str = "the model") -> dict:
    """``record`` in ``layout``: unchanged, joint-mapped (2D), or a :class:`LayoutMismatchError` naming both."""
    lay = get_layout(layout)
    src = record.get("layout")
    v = record["keypoint"].shape[2]
    if src is None or src == lay.name or (lay.name.startswith("nturgb+d") and str(src).startswith("nturgb+d")):
        return record
    if (src, lay.name) in JOINT_MAPS and "keypoint_score" in record:
        kp, sc = map_joints(record["keypoint"], record["keypoint_score"], src, lay.name)
        return {**record, "keypoint": kp, "keypoint_score": sc, "layout": lay.name, "mapped_from": src}
    raise LayoutMismatchError(
        f"sample {record.get('frame_dir', '?')}: the input's layout is {src!r} ({v} joints) but {what} is for "
        f"layout {lay.name!r} ({lay.num_joints} joints); inputs that can feed {lay.name!r}: {', '.join(feeds(lay.name))}"
    )


# ------------------------------------------------------------------------------------------------
# PoseFrames -> annotation record
# ------------------------------------------------------------------------------------------------


NORMALISED_LIMIT = 1.0  # a 2D video whose typical detection lies within |x|, |y| <= this is normalised, not pixels
PIXEL_LIMIT = 2.0  # a normalised format (MediaPipe) whose typical detection reaches beyond this holds pixels


def median_extent(detections: Iterable[np.ndarray]) -> float | None:
    """The median over detections (each the ``(J, 2+)`` joints it detected) of its largest ``|x|`` or ``|y|``; None for none.

    The typical size of a video's coordinates, which one garbled value cannot move: within
    :data:`NORMALISED_LIMIT` they are fractions of the frame, beyond :data:`PIXEL_LIMIT` pixels.
    """
    sizes = [float(np.abs(d[:, :2]).max()) for d in detections if len(d)]
    sizes = [x for x in sizes if 0 < x < np.inf]
    return float(np.median(sizes)) if sizes else None


def _detected(coords: Sequence[np.ndarray], scores: Sequence[np.ndarray], has_score: bool) -> list[np.ndarray]:
    """Per frame, ``(P, V)`` masks of the joints each detection has (score > 0, or non-zero without scores)."""
    return [(s > 0) if has_score else (c != 0).any(-1) for c, s in zip(coords, scores)]


def _units(pf: PoseFrames, coords: list[np.ndarray], scores: list[np.ndarray]) -> tuple[list[np.ndarray], bool, list[str]]:
    """Pixels or fractions of the frame, decided by the typical (median) detection so that one garbled value cannot flip it.

    A pixel format whose median detection lies within ``[-1, 1]`` is normalised: OpenPose's
    ``--keypoint_scale 3/4`` (``[-1, 1]``, recognised by a negative coordinate) is moved to
    ``[0, 1]``; other normalised coordinates are read as fractions. A normalised format (MediaPipe)
    whose median detection reaches beyond 2 holds pixels. Returns coords, normalised, notes.
    """
    if pf.img_shape is not None or pf.dim != 2:
        return coords, pf.normalised, []
    seen = _detected(coords, scores, pf.has_score)
    typical = median_extent(c[p][m[p]] for c, m in zip(coords, seen) for p in range(len(c)))
    if typical is None:
        return coords, pf.normalised, []
    if pf.normalised:
        return coords, typical <= PIXEL_LIMIT, []
    if typical > NORMALISED_LIMIT:
        return coords, False, []
    negative = any((c[m] < 0).any() for c, m in zip(coords, seen) if len(c))
    if pf.fmt == "openpose" and negative:
        coords = [np.where(m[..., None], (c + 1) / 2, 0).astype(np.float32) for c, m in zip(coords, seen)]
        return coords, True, ["coordinates are normalised to [-1, 1] (OpenPose --keypoint_scale 3 or 4): read as fractions of the frame, (x + 1) / 2"]
    return coords, True, ["coordinates are normalised to [0, 1] (e.g. OpenPose --keypoint_scale 1 or 2), not pixels: read as fractions of the frame"]


def _image_shape(pf: PoseFrames, normalised: bool, img_shape: tuple[int, int] | None) -> tuple[tuple[int, int], list[str]]:
    """The image size of a 2D video: the file's, else (1, 1) for fractions, else the given one, else pyskl's fallback."""
    if pf.img_shape is not None:
        shape = tuple(int(x) for x in pf.img_shape)
        if img_shape is not None and tuple(img_shape) != shape:
            return shape, [f"image size {shape[1]}x{shape[0]} from the file used, not the given {img_shape[1]}x{img_shape[0]}"]
        return shape, []
    if normalised:
        note = [f"the given image size {img_shape[1]}x{img_shape[0]} is not used: the coordinates are fractions of the frame"] if img_shape else []
        return (1, 1), note
    if img_shape is not None:
        return (int(img_shape[0]), int(img_shape[1])), []
    return PYSKL_IMG_SHAPE, ["image size unknown: pyskl's fallback 1920x1080 used (pass --img-size WxH / img_shape=(h, w))"]


def _where_in_file(pf: PoseFrames) -> str:
    """``'FILE, '`` for a video read from one file (its frames' names do not say the file), else ``''``."""
    return f"{Path(pf.source).name}, " if pf.source and os.path.isfile(pf.source) else ""


def to_record(
    pf: PoseFrames,
    max_persons: int = 2,
    img_shape: tuple[int, int] | None = None,
    label: int = -1,
    max_gap: int = 10,
) -> tuple[dict, list[str]]:
    """An annotation record (pyskl's keys, plus ``layout``) and notes on what was dropped or assumed.

    A detection that breaks the value rules of :func:`~.validate.person_frame_problems` (2D: a
    coordinate beyond one image size around the image; 3D: a joint 20 typical body sizes from its
    body's centre) is left out and named, as a NaN one is by the reader; only a video with nobody
    left is an error.
    """
    in_file = _where_in_file(pf)
    notes = list(pf.notes) + [f"{in_file}{where}: {why} (left out)" for where, why in pf.problems]
    src = pf.layout
    dst = READ_AS.get(src, src)
    coords = [np.asarray(c, np.float32) for c in pf.coords]
    scores = [np.asarray(s, np.float32) for s in pf.scores]
    ids = [list(i) for i in pf.ids] if pf.ids is not None else None
    shape = None
    if pf.dim == 2:
        coords, normalised, unit_notes = _units(pf, coords, scores)
        shape, shape_notes = _image_shape(pf, normalised, img_shape)
        notes += unit_notes + shape_notes
    left_out = []
    people = [c for c in coords if len(c)]
    body = typical_body_size(np.concatenate(people)) if shape is None and people else None  # 3D: no image to measure by
    bad_frames = [person_frame_problems(c[:, None], shape, body_size=body) if len(c) else {} for c in coords]
    total, n_bad = sum(len(c) for c in coords), sum(map(len, bad_frames))
    if shape is not None and total and n_bad > MOSTLY_OUTSIDE * total:  # wrong units or image size, not a few garbled values
        every = np.concatenate([c for c in coords if len(c)])
        why = coordinate_range_problems(every, shape) or [next(iter(b.values())) for b in bad_frames if b][:1]
        hint = " (pass --img-size WxH / img_shape=(h, w))" if pf.img_shape is None and img_shape is None and shape != (1, 1) else ""
        raise PoseFormatError(f"{pf.source or pf.name}: {n_bad} of {total} detections are in the wrong units: {'; '.join(why)}{hint}")
    for t, (c, bad) in enumerate(zip(coords, bad_frames)):
        if not bad:
            continue
        names = pf.person_where[t] if t < len(pf.person_where) and len(pf.person_where[t]) == len(c) else []
        for (p, _), why in sorted(bad.items()):
            left_out.append((names[p] if names else f"{pf.frame_names[t]}, person {p}", why))
        keep = [p for p in range(len(c)) if (p, 0) not in bad]
        coords[t], scores[t] = c[keep], scores[t][keep]
        if ids is not None:
            ids[t] = [ids[t][p] for p in keep]
    notes += [f"{in_file}{where}: {why} (left out)" for where, why in left_out]
    if not any(len(c) for c in coords):
        detail = "; ".join(f"{where}: {why}" for where, why in (pf.problems + left_out)[:5])
        what = f"no usable person in any of {len(coords)} frame(s) ({detail})" if detail else f"no person in any of {len(coords)} frame(s)"
        raise PoseFormatError(f"{pf.source or pf.name}: {what}")
    if dst != src:
        pairs = [map_joints(c, s, src, dst) for c, s in zip(coords, scores)]
        coords, scores = [p[0] for p in pairs], [p[1] for p in pairs]
        notes.append(f"joints mapped {src} -> {dst}")
    tr = track_people(coords, scores, ids, max_persons=max_persons, max_gap=max_gap)
    if tr.dropped:
        shown = ", ".join(f"track {d['track']} ({d['frames']} frames, score {d['score']:.1f})" for d in tr.dropped[:5])
        more = f" and {len(tr.dropped) - 5} more" if len(tr.dropped) > 5 else ""
        notes.append(f"kept {len(tr.kept)} of {tr.num_tracks} tracks by total keypoint score; dropped {shown}{more}")
    notes += tr.notes
    rec = {"frame_dir": pf.name, "label": int(label), "total_frames": int(tr.keypoint.shape[1]), "layout": dst, "source_format": pf.fmt}
    if shape is not None:
        score = tr.keypoint_score
        if not pf.has_score:
            score = (tr.keypoint != 0).any(-1).astype(np.float32)  # no scores in the file: 1 where a joint is
        rec.update(keypoint=tr.keypoint, keypoint_score=score, img_shape=tuple(shape), original_shape=tuple(shape))
    else:
        rec["keypoint"] = tr.keypoint
    return rec, notes


def _check_record(rec: dict) -> None:
    """The assembled record through the validation layer (labels aside: -1 means unknown)."""
    check_record(rec, f"{rec['frame_dir']} ({rec.get('source_format')})", check_label=rec["label"] >= 0)


def read_pose_records(
    path: str | os.PathLike,
    fmt: str | None = None,
    img_shape: tuple[int, int] | None = None,
    max_persons: int = 2,
    label: int = -1,
    notes: list[tuple[str, str]] | None = None,
) -> list[dict]:
    """Records (one per video) of one input; each record's notes go to ``notes`` as ``(sample, note)``."""
    out = []
    for pf in read_poses(path, fmt):
        rec, rec_notes = to_record(pf, max_persons, img_shape, label)
        _check_record(rec)
        if notes is not None:
            notes += [(rec["frame_dir"], n) for n in rec_notes]
        out.append(rec)
    return out


class PoseNote(UserWarning):
    """What reading a pose file left out or assumed (a dropped track, a corrupt frame, a joint map)."""


@contextlib.contextmanager
def print_notes(stream: IO[str] | None = None) -> Iterator[None]:
    """Inside the block, :class:`PoseNote` warnings become ``note: ...`` lines on ``stream`` (stderr)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PoseNote)
        try:
            yield
        finally:
            for w in caught:
                if issubclass(w.category, PoseNote):
                    print(f"note: {w.message}", file=stream or sys.stderr)
                else:  # every other warning goes on as it came
                    warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def read_pose_input(
    path: str | os.PathLike, fmt: str | None = None, img_shape: tuple[int, int] | None = None, sample: str | None = None
) -> list[dict]:
    """Records of one input for prediction (label unknown); each note is issued as a :class:`PoseNote` warning."""
    notes: list[tuple[str, str]] = []
    recs = read_pose_records(path, fmt, img_shape, notes=notes)
    if sample is not None:
        recs = [r for r in recs if r["frame_dir"] == sample]
        if not recs:
            raise KeyError(f"{path}: no sample {sample!r}")
    for name, note in notes:
        warnings.warn(f"{name}: {note}", PoseNote, stacklevel=3)
    return recs


# ------------------------------------------------------------------------------------------------
# Conversion to an annotation file (``aagcn-lab convert poses``)
# ------------------------------------------------------------------------------------------------


def parse_img_size(text: str | None) -> tuple[int, int] | None:
    """``'1920x1080'`` (width x height) -> ``(h, w)``."""
    if not text:
        return None
    m = re.fullmatch(r"\s*(\d+)\s*[xX,]\s*(\d+)\s*", text)
    if not m:
        raise ValueError(f"--img-size {text!r}: expected WIDTHxHEIGHT, e.g. 1920x1080")
    return int(m.group(2)), int(m.group(1))


def convert_poses(
    inputs: Sequence[str | os.PathLike],
    out: str | os.PathLike,
    fmt: str | None = None,
    img_shape: tuple[int, int] | None = None,
    max_persons: int = 2,
    label: int = 0,
    split_name: str = "test",
):
    """Pose-estimator inputs (each a file or folder, all of class ``label``) -> one annotation file and a report."""
    from .annotations import save_annotations
    from .report import ConversionReport

    if label < 0:
        raise ValueError(f"label {label}: an annotation file needs a class index >= 0 (to predict, pass the inputs to predict)")

    report = ConversionReport("pose-estimator output", ", ".join(map(str, inputs)))
    records = []
    for src in inputs:
        report.total += 1
        notes: list[tuple[str, str]] = []
        try:
            recs = read_pose_records(src, fmt, img_shape, max_persons, label, notes)
        except (PoseFormatError, UnsafeFileError, FileNotFoundError, ValueError) as e:
            report.failed.append((str(src), str(e)))
            continue
        records += recs
        report.notes += notes
        report.converted += len(recs)
    if not records:
        return report
    layouts = {r["layout"] for r in records}
    if len(layouts) > 1:
        report.failed.append(("all", f"the inputs have different layouts ({', '.join(sorted(layouts))}); convert them separately"))
        report.converted = 0
        return report
    names = [r["frame_dir"] for r in records]
    dup = {n for n in names if names.count(n) > 1}
    for i, r in enumerate(records):  # two folders named alike: keep both, under distinct names
        if r["frame_dir"] in dup:
            r["frame_dir"] = f"{r['frame_dir']}_{i}"
    for r in records:
        r.pop("source_format", None)
    save_annotations(out, records, {split_name: [r["frame_dir"] for r in records]}, layout=layouts.pop())
    report.output = str(out)
    report.split_counts = {split_name: len(records)}
    return report
