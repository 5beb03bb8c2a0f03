"""One video as an estimator wrote it (:class:`PoseFrames`), and how it becomes an annotation record.

Every pose reader (:mod:`.openpose`, :mod:`.coco`, :mod:`.mediapipe`, :mod:`.lifters`,
:mod:`.arrays`) fills a :class:`PoseBuilder` frame by frame; the builder checks each detection
with the validation layer's rules and leaves a bad one out, naming the file, frame and person.
:func:`to_record` then decides the units and image size, leaves out garbled detections, maps an
estimator-only layout to a model layout, tracks people across frames (:mod:`..tracking`) and
returns pyskl's record with notes on what it dropped or assumed.

Image size for pyskl's 2D normalisation: from the file where it says (PoseTrack ``images``,
Detectron2 / VideoPose3D ``metadata``), else ``img_shape=`` / ``--img-size WxH``; normalised
coordinates (MediaPipe) use ``(1, 1)``, as the Kinetics reader does; otherwise pyskl's fallback
1920x1080, with a note. A 2D detection with a coordinate beyond one image size around the image
(``x`` outside ``-w..2w``, ``y`` outside ``-h..2h``, edges kept; ``-1..2`` for fractions) is a
garbled value: it is left out and named; when more than half of a video's detections are
outside, the units or the image size are wrong and the video is refused with that message. Units
are decided by the median detection: a pixel format whose detections lie within ``[-1, 1]`` is
normalised (an OpenPose folder written with ``--keypoint_scale`` 1-4: ``[0, 1]`` read as
fractions, ``[-1, 1]``, recognised by negative coordinates, moved to ``[0, 1]``; a note says
which), and MediaPipe landmarks beyond 2 are pixels. Exact duplicate detections in one frame (a
results list written twice) are dropped with one note.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np

from ...graph import PERSON_SLOTS
from ...io import InputError
from ..joint_maps import READ_AS, SOURCE_JOINTS, map_joints
from ..tracking import KeptCache, TrackMemo, track_people
from ..validate import (
    MOSTLY_OUTSIDE,
    check_record,
    coordinate_range_problems,
    person_frame_problems,
    record_problems,
    typical_body_size,
)

__all__ = [
    "PoseFormatError",
    "PoseNote",
    "PoseFrames",
    "PoseBuilder",
    "check_person",
    "to_record",
    "RecordMemo",
    "join_frames",
    "median_extent",
    "print_notes",
    "issue_notes",
    "parse_img_size",
    "NORMALISED_LIMIT",
    "PIXEL_LIMIT",
    "PYSKL_IMG_SHAPE",
]

PYSKL_IMG_SHAPE = (1080, 1920)


class PoseFormatError(InputError):
    """An input whose format is unknown or ambiguous, or a file that is not what its format says."""



class PoseNote(UserWarning):
    """What reading a pose file left out or assumed (a dropped track, a corrupt frame, a joint map)."""



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



class PoseBuilder:
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
                f"frame: the results written twice?) in {len(frames)} frame(s): {some_names(frames)}"
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


def some_names(names: Sequence[str], keep: int = 4) -> str:
    """``a, b, c, d`` or, for more, ``a, b, ..., z (N in all)``."""
    names = list(names)
    if len(names) <= keep:
        return ", ".join(map(str, names))
    return f"{names[0]}, {names[1]}, ..., {names[-1]} ({len(names)} in all)"


# ------------------------------------------------------------------------------------------------
# Files and values
# ------------------------------------------------------------------------------------------------


def natural_key(s: str) -> list:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", s)]


def load_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise PoseFormatError(f"{path}: not readable JSON: {e}") from e


def is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def floats_or_none(values) -> np.ndarray | None:
    """A flat float array of ``values`` (a JSON list of numbers), or None when one of them is not a number."""
    if not isinstance(values, list) or not all(is_number(v) for v in values):
        return None
    return np.asarray(values, np.float64).reshape(-1)


def first_non_number(values):
    return next((v for v in values if not is_number(v)), None) if isinstance(values, list) else values


def frame_files(folder: Path, suffix: str = ".json") -> list[Path]:
    files = sorted((f for f in folder.iterdir() if f.is_file() and f.name.endswith(suffix)), key=lambda f: natural_key(f.name))
    if not files:
        refuse_empty_folder(folder)
        raise PoseFormatError(f"{folder}: no {suffix} frame files in the folder")
    return files


def refuse_empty_folder(folder: Path) -> None:
    """An empty folder (or one with nothing but sub-folders) is named as such."""
    entries = list(folder.iterdir())
    if not entries:
        raise PoseFormatError(f"{folder}: the folder is empty: no frame files to read")
    if not any(e.is_file() for e in entries):
        raise PoseFormatError(f"{folder}: the folder holds no files, only {len(entries)} sub-folder(s): pass the folder of frame files itself")



_ID_KEYS = ("track_id", "idx", "person_id")


def person_id(obj: dict):
    for k in _ID_KEYS:
        if k in obj:
            v = obj[k]
            if isinstance(v, list):
                v = v[0] if v else None
            if isinstance(v, bool) or not isinstance(v, (int, float, str)):  # an identity is a number or a name
                return None
            return None if v == -1 else v
    return None



def nobody(path: Path) -> str:
    return f"{path}: nobody was detected in {path} (an empty list of detections): nothing to read"


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


def _frame_problems(c: np.ndarray, shape: tuple[int, int] | None, body: float | None) -> dict:
    """:func:`~..validate.person_frame_problems` of one frame's detections ``c (P, V, D)``: ``{(p, 0): why}``."""
    return person_frame_problems(c[:, None], shape, body_size=body)


class RecordMemo:
    """What :func:`to_record` computes detection by detection, remembered by value across the overlapping
    windows of a stream (:class:`aagcn_lab.streaming.StreamingPredictor`): each frame's value checks (keyed
    by its detections bit for bit, the image size and the body size) and tracking's similarities
    (:class:`~..tracking.TrackMemo`). Exact: each is a function of those values alone, and everything that
    depends on the whole window (units, image size, body size, the links) is still decided per window."""

    def __init__(self) -> None:
        self.tracks = TrackMemo()
        self.problems = KeptCache()

    def frame_problems(self, c: np.ndarray, shape: tuple[int, int] | None, body: float | None) -> dict:
        """:func:`_frame_problems`, remembered (the caller only reads the dict)."""
        key = (c.shape, c.dtype.str, c.tobytes(), shape, body)
        got = self.problems.get(key)
        return self.problems.use(key, _frame_problems(c, shape, body) if got is None else got)

    def keep_used(self) -> None:
        """Forget the frames the last window did not hold."""
        self.problems.roll()


def to_record(
    pf: PoseFrames,
    max_persons: int = PERSON_SLOTS,
    img_shape: tuple[int, int] | None = None,
    label: int = -1,
    max_gap: int = 10,
    memo: RecordMemo | None = None,
) -> tuple[dict, list[str]]:
    """An annotation record (pyskl's keys, plus ``layout``) and notes on what was dropped or assumed.

    A detection that breaks the value rules of :func:`~.validate.person_frame_problems` (2D: a
    coordinate beyond one image size around the image; 3D: a joint 20 typical body sizes from its
    body's centre) is left out and named, as a NaN one is by the reader; only a video with nobody
    left is an error. ``memo``: a :class:`RecordMemo` kept across the overlapping windows of a stream
    (the same record, computed faster).
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
    problems = _frame_problems if memo is None else memo.frame_problems
    bad_frames = [problems(c, shape, body) if len(c) else {} for c in coords]
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
    tr = track_people(coords, scores, ids, max_persons=max_persons, max_gap=max_gap, memo=None if memo is None else memo.tracks)
    if tr.dropped:
        shown = ", ".join(f"track {d['track']} ({d['frames']} frames, score {d['score']:.1f})" for d in tr.dropped[:5])
        more = f" and {len(tr.dropped) - 5} more" if len(tr.dropped) > 5 else ""
        notes.append(f"kept {len(tr.kept)} of {tr.num_tracks} tracks by total keypoint score; dropped {shown}{more}")
    notes += tr.notes
    if memo is not None:
        memo.keep_used()
    rec = {"frame_dir": pf.name, "label": int(label), "total_frames": int(tr.keypoint.shape[1]), "layout": dst, "source_format": pf.fmt}
    if shape is not None:
        score = tr.keypoint_score
        if not pf.has_score:
            score = (tr.keypoint != 0).any(-1).astype(np.float32)  # no scores in the file: 1 where a joint is
        rec.update(keypoint=tr.keypoint, keypoint_score=score, img_shape=tuple(shape), original_shape=tuple(shape))
    else:
        rec["keypoint"] = tr.keypoint
    return rec, notes


def check_pose_record(rec: dict) -> None:
    """The assembled record through the validation layer (labels aside: -1 means unknown)."""
    check_record(rec, f"{rec['frame_dir']} ({rec.get('source_format')})", check_label=rec["label"] >= 0)


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


def issue_notes(notes: Iterable[tuple[str, str]], stacklevel: int = 3) -> None:
    """Each ``(where, note)`` as a :class:`PoseNote` warning ``'where: note'`` (``note`` alone where ``where`` is empty)."""
    for where, note in notes:
        warnings.warn(f"{where}: {note}" if where else note, PoseNote, stacklevel=stacklevel)


def parse_img_size(text: str | None) -> tuple[int, int] | None:
    """``'1920x1080'`` (width x height) -> ``(h, w)``."""
    if not text:
        return None
    m = re.fullmatch(r"\s*(\d+)\s*[xX,]\s*(\d+)\s*", text)
    if not m:
        raise ValueError(f"--img-size {text!r}: expected WIDTHxHEIGHT, e.g. 1920x1080")
    return int(m.group(2)), int(m.group(1))
