"""Raw NTU RGB+D ``.skeleton`` files -> annotation records, and the standard NTU splits.

File format (one number or one record per line)::

    <number of frames>
    per frame:  <number of bodies>
      per body: <10 numbers: bodyID clippedEdges handLeftConf handLeftState handRightConf
                 handRightState isRestricted leanX leanY trackingState>
                <number of joints = 25>
                25 x <12 numbers: x y z depthX depthY colorX colorY orW orX orY orZ trackingState>

:func:`parse_ntu_skeleton` reads every body of every frame and groups them into tracks by
``bodyID``; :func:`select_bodies` turns the tracks into the ``(M, T, 25, 3)`` keypoint array;
:func:`read_ntu_skeleton` does both and returns a record (``frame_dir``, ``label``,
``total_frames``, ``keypoint`` float16). A malformed file raises :class:`SkeletonFileError`,
which names the file and the line at fault.

Body selection (pyskl's ``ntu_preproc.py`` rule, with the differences listed below)
-----------------------------------------------------------------------------------
Kinect sometimes reports extra "bodies" (furniture, reflections, a body split in two). To keep
the (at most two) actors:

1. **Tracks.** Bodies are grouped by ``bodyID``. The time axis is made of the frames in which at
   least one body was seen; frames where Kinect saw no body at all are left out (as in pyskl).
2. **Motion.** Each track's motion is the sum over x, y, z of the variance of that coordinate
   over all its frames and joints. Tracks are ranked by motion, largest first.
3. **Length denoising** (only with more than one track): tracks of ``<= 11`` frames are dropped.
4. **Spread denoising** (only with more than one track left): a frame is *noisy* when the
   body's x-extent is larger than 0.8 times its y-extent (people are taller than wide). A track
   with noisy frames in ``>= 69.754 %`` of its frames is dropped; a track with fewer noisy
   frames keeps ``motion = min(motion, motion over its clean frames)``. Tracks are re-ranked.
5. **Packing.** In motion order, each track goes into the first of ``max_bodies`` (= 2) person
   slots whose occupied time span (first to last frame of everything already in the slot)
   it does not overlap; several tracks can share a slot one after the other (the same person
   whose ``bodyID`` changed). A track that overlaps every slot is dropped.
6. **Trim and order.** Leading and trailing frames that are zero in every slot are cut, empty
   slots are removed, and if person 0 is absent in frame 0 while another person is present,
   they swap places.

A step that would drop *every* track is skipped (pyskl fails there). Every dropped track is
reported in :attr:`BodySelection.dropped` and in the ``notes`` of :func:`read_ntu_skeleton`;
nothing is dropped silently.

Differences from pyskl, all deliberate: a track is placed at the frames where it was actually
seen (pyskl packs a track's frames contiguously from its first frame, which misplaces frames
after a gap); the second slot starts empty (pyskl's starts with the span ``[0, 0)`` that it
then extends to frame 0); a slot that stays empty is removed instead of kept as zeros; a frame
with a repeated ``bodyID`` keeps the first body (reported). Single-track files and the usual
one- or two-actor files give the same arrays as pyskl.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..graph import PERSON_SLOTS
from .classes import class_names, missing_samples
from .records import save_annotations
from .report import ConversionReport, ordered_map
from .validate import COORD_LIMIT, InputError, record_problems, to_storage

__all__ = [
    "SkeletonFileError",
    "BodyTrack",
    "SkeletonFile",
    "BodySelection",
    "NTUSampleId",
    "parse_ntu_name",
    "parse_ntu_skeleton",
    "select_bodies",
    "read_ntu_skeleton",
    "ntu_dataset_problem",
    "ntu_is_train",
    "ntu_splits",
    "NTU_SPLITS",
    "NTU60_XSUB_TRAIN_SUBJECTS",
    "NTU120_XSUB_TRAIN_SUBJECTS",
    "NTU60_XVIEW_TRAIN_CAMERAS",
    "convert_ntu_folder",
]

NUM_JOINTS = 25
BODY_INFO_FIELDS = 10  # bodyID ... trackingState
JOINT_FIELDS = 12  # x y z depthX depthY colorX colorY orientationW..Z trackingState

LENGTH_THRESHOLD = 11  # tracks of <= 11 frames are noise (when there is more than one)
SPREAD_RATIO = 0.8  # x-extent > 0.8 * y-extent => a noisy frame
SPREAD_NOISE_FRACTION = 0.69754  # >= this fraction of noisy frames => a noisy track
ZERO_EPS = 1e-3  # a frame whose absolute coordinates sum below this is empty

# Splits (reference-data.md section 9.1); the 53 subjects cover NTU-60 (subjects 1..40) too.
NTU60_XSUB_TRAIN_SUBJECTS = frozenset({1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38})
# fmt: off
NTU120_XSUB_TRAIN_SUBJECTS = NTU60_XSUB_TRAIN_SUBJECTS | frozenset({
    45, 46, 47, 49, 50, 52, 53, 54, 55, 56, 57, 58, 59, 70, 74, 78, 80, 81, 82, 83, 84, 85, 86, 89, 91, 92, 93, 94, 95,
    97, 98, 100, 103,
})
# fmt: on
NTU60_XVIEW_TRAIN_CAMERAS = frozenset({2, 3})
NTU_SPLITS = {"ntu60": ("xsub", "xview"), "ntu120": ("xsub", "xset")}
# (max setup, max action, max subject) of each dataset; cameras are 1..3 in both
_DATASET_LIMITS = {"ntu60": (17, 60, 40), "ntu120": (32, 120, 106)}

_NAME_RE = re.compile(r"S(\d{3})C(\d{3})P(\d{3})R(\d{3})A(\d{3})")


class SkeletonFileError(InputError):
    """A ``.skeleton`` file is malformed; the message names the file and, where known, the line."""

    def __init__(self, path: str | os.PathLike, message: str, line: int | None = None) -> None:
        where = f"{path}: line {line}: " if line is not None else f"{path}: "
        super().__init__(where + message)
        self.path = str(path)
        self.line = line


# ---------------------------------------------------------------------------------------------
# sample names and splits


class NTUSampleId(NamedTuple):
    """The fields of an NTU sample name ``SsssCcccPpppRrrrAaaa`` (all 1-based numbers)."""

    setup: int
    camera: int
    subject: int
    replication: int
    action: int

    @property
    def label(self) -> int:
        """0-based class index: action number - 1."""
        return self.action - 1

    @property
    def name(self) -> str:
        """The sample name, e.g. ``S001C002P003R002A013``."""
        return f"S{self.setup:03d}C{self.camera:03d}P{self.subject:03d}R{self.replication:03d}A{self.action:03d}"


def parse_ntu_name(name: str | os.PathLike) -> NTUSampleId:
    """Parse ``S001C002P003R002A013`` (a bare name, a file name or a path) into its fields."""
    stem = Path(name).name.split(".")[0]
    m = _NAME_RE.fullmatch(stem)
    if m is None:
        raise ValueError(
            f"{name}: not an NTU RGB+D sample name (expected SsssCcccPpppRrrrAaaa, e.g. S001C002P003R002A013)"
        )
    return NTUSampleId(*(int(g) for g in m.groups()))


def ntu_dataset_problem(name: str | NTUSampleId, dataset: str) -> str | None:
    """Why a sample does not belong to ``'ntu60'`` / ``'ntu120'``, or ``None`` when it does."""
    if dataset not in _DATASET_LIMITS:
        raise ValueError(f"unknown NTU dataset {dataset!r}; expected 'ntu60' or 'ntu120'")
    sid = name if isinstance(name, NTUSampleId) else parse_ntu_name(name)
    max_setup, max_action, max_subject = _DATASET_LIMITS[dataset]
    pretty = "NTU-60" if dataset == "ntu60" else "NTU-120"
    if not 1 <= sid.setup <= max_setup:
        return f"setup {sid.setup} is not part of {pretty} (S001-S{max_setup:03d})"
    if not 1 <= sid.action <= max_action:
        return f"action {sid.action} is not part of {pretty} (A001-A{max_action:03d})"
    if not 1 <= sid.subject <= max_subject:
        return f"subject {sid.subject} is not part of {pretty} (P001-P{max_subject:03d})"
    if not 1 <= sid.camera <= 3:
        return f"camera {sid.camera} does not exist (C001-C003)"
    return None


def ntu_is_train(name: str | NTUSampleId, benchmark: str) -> bool:
    """Whether a sample is in the training half of ``'xsub'``, ``'xview'`` or ``'xset'``."""
    sid = name if isinstance(name, NTUSampleId) else parse_ntu_name(name)
    if benchmark == "xsub":
        return sid.subject in NTU120_XSUB_TRAIN_SUBJECTS
    if benchmark == "xview":
        return sid.camera in NTU60_XVIEW_TRAIN_CAMERAS
    if benchmark == "xset":
        return sid.setup % 2 == 0
    raise ValueError(f"unknown NTU benchmark {benchmark!r}; expected 'xsub', 'xview' or 'xset'")


def ntu_splits(names: Iterable[str], dataset: str = "ntu60") -> dict[str, list[str]]:
    """The standard splits (``xsub_train``/``xsub_val`` + ``xview_*`` or ``xset_*``), names in input order."""
    if dataset not in NTU_SPLITS:
        raise ValueError(f"unknown NTU dataset {dataset!r}; expected 'ntu60' or 'ntu120'")
    names = list(names)
    split: dict[str, list[str]] = {}
    for bench in NTU_SPLITS[dataset]:
        flags = [ntu_is_train(n, bench) for n in names]
        split[f"{bench}_train"] = [n for n, f in zip(names, flags) if f]
        split[f"{bench}_val"] = [n for n, f in zip(names, flags) if not f]
    return split


# ---------------------------------------------------------------------------------------------
# parsing


@dataclass
class BodyTrack:
    """One Kinect body (one ``bodyID``) over the frames where it was seen."""

    body_id: int
    frames: np.ndarray  # (n,) int, 0-based frame numbers in the file
    joints: np.ndarray  # (n, 25, 3) float64 as parsed, camera-space x, y, z in metres

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def motion(self) -> float:
        """Sum over x, y, z of the coordinate's variance over all frames and joints (pyskl)."""
        return _motion(self.joints)


@dataclass
class SkeletonFile:
    """Everything read from a ``.skeleton`` file: the header frame count and every body track."""

    path: Path
    num_frames: int  # as the header says (= the frames read)
    bodies_per_frame: np.ndarray  # (num_frames,) int
    tracks: dict[int, BodyTrack]  # by bodyID, in order of first appearance
    notes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The file name without ``.skeleton``."""
        return self.path.name.split(".")[0]


def _motion(joints: np.ndarray) -> float:
    return float(np.var(joints.reshape(-1, 3), axis=0).sum())


class _LineReader:
    """Hands out the lines of a text file one by one, remembering the (1-based) line number."""

    def __init__(self, path: Path, lines: list[str]) -> None:
        self.path, self.lines, self.pos = path, lines, 0
        self.num_frames: int | None = None  # from the header, once read

    def error(self, message: str, line: int | None = None) -> SkeletonFileError:
        return SkeletonFileError(self.path, message, self.pos if line is None else line)

    def take(self, what: str) -> list[str]:
        """The next line split into fields; an error saying ``what`` was expected at the end of the file."""
        if self.pos >= len(self.lines):
            frames = f"; the header says {self.num_frames} frames" if self.num_frames is not None else ""
            raise SkeletonFileError(
                self.path,
                f"expected {what}, but the file ends after line {len(self.lines)} (truncated{frames})",
                len(self.lines) + 1,
            )
        self.pos += 1
        return self.lines[self.pos - 1].split()

    def take_int(self, what: str, minimum: int = 0) -> int:
        fields = self.take(what)
        if len(fields) != 1:
            raise self.error(f"expected {what} (one integer), got {len(fields)} fields: {self.show()}")
        try:
            value = int(fields[0])
        except ValueError:
            raise self.error(f"expected {what} (one integer), got {fields[0]!r}") from None
        if value < minimum:
            raise self.error(f"expected {what} (an integer >= {minimum}), got {value}")
        return value

    def show(self) -> str:
        """The current line, shortened, for messages."""
        text = self.lines[self.pos - 1].strip()
        return repr(text if len(text) <= 60 else text[:57] + "...")


def _read_lines(path: Path) -> list[str]:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise SkeletonFileError(path, f"cannot read the file: {e.strerror or e}") from e
    if not data.strip():
        raise SkeletonFileError(path, "the file is empty" if not data else "the file holds only whitespace")
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError as e:
        raise SkeletonFileError(path, f"not a text .skeleton file: binary data at byte {e.start}") from None
    if "\x00" in text:
        raise SkeletonFileError(path, f"not a text .skeleton file: NUL byte at byte {text.index(chr(0))}")
    lines = text.splitlines()
    while lines and not lines[-1].strip():  # trailing blank lines are harmless
        lines.pop()
    return lines


def _read_body(reader: _LineReader, frame: int, body: int) -> tuple[int, np.ndarray]:
    """One body block: (bodyID, (25, 3) joints). ``frame`` and ``body`` are 1-based, for messages."""
    where = f"body {body} in frame {frame}"
    info = reader.take(f"the {BODY_INFO_FIELDS}-number info line of {where}")
    if len(info) != BODY_INFO_FIELDS:
        raise reader.error(
            f"expected {BODY_INFO_FIELDS} numbers (bodyID ... trackingState) for {where}, got {len(info)}"
        )
    try:
        body_id = int(info[0])
    except ValueError:
        raise reader.error(f"expected an integer bodyID for {where}, got {info[0]!r}") from None
    count = reader.take_int(f"the joint count of {where}")
    if count != NUM_JOINTS:
        raise reader.error(
            f"expected {NUM_JOINTS} joints for {where}, got {count} (not an NTU RGB+D Kinect v2 skeleton?)"
        )
    first_line = reader.pos + 1
    rows = []
    for j in range(1, NUM_JOINTS + 1):
        fields = reader.take(f"joint {j} of {where}")
        if len(fields) != JOINT_FIELDS:
            hint = ""
            if reader.pos == len(reader.lines):
                hint = f" (the file ends here: truncated; the header says {reader.num_frames} frames)"
            raise reader.error(f"expected {JOINT_FIELDS} numbers for joint {j} of {where}, got {len(fields)}{hint}")
        rows.append(fields)
    try:
        values = np.array(rows, dtype=np.float64)  # (25, 12)
    except ValueError:
        for j, fields in enumerate(rows):
            for k, text in enumerate(fields):
                try:
                    float(text)
                except ValueError:
                    raise reader.error(
                        f"field {k + 1} of joint {j + 1} of {where} is not a number: {text!r}", first_line + j
                    ) from None
        raise  # pragma: no cover - np.array failed but every field parses
    finite = np.isfinite(values)
    if not finite.all():
        j, k = (int(i) for i in np.argwhere(~finite)[0])
        raise reader.error(f"field {k + 1} of joint {j + 1} of {where} is {values[j, k]} (NaN/inf)", first_line + j)
    far = np.abs(values[:, :3]) > COORD_LIMIT
    if far.any():
        j, k = (int(i) for i in np.argwhere(far)[0])
        raise reader.error(
            f"field {k + 1} of joint {j + 1} of {where} is {values[j, k]:g}, beyond {COORD_LIMIT:g} metres (garbled?)", first_line + j
        )
    return body_id, values[:, :3]  # float64: rounded once, to float16, when the record is made (as pyskl)


def parse_ntu_skeleton(path: str | os.PathLike) -> SkeletonFile:
    """Read a ``.skeleton`` file completely: every body of every frame, grouped into tracks by bodyID."""
    path = Path(path)
    reader = _LineReader(path, _read_lines(path))
    num_frames = reader.take_int("the number of frames on line 1")
    reader.num_frames = num_frames
    if num_frames == 0:
        raise reader.error("the header says the file has 0 frames")
    if num_frames > len(reader.lines) - 1:  # every frame needs at least its body-count line
        raise reader.error(
            f"the header says {num_frames} frames, but the file has only {len(reader.lines)} lines "
            "(each frame needs at least one): a garbled header or a truncated file"
        )
    bodies_per_frame = np.zeros(num_frames, dtype=np.int64)
    frames: dict[int, list[int]] = {}
    joints: dict[int, list[np.ndarray]] = {}
    notes: list[str] = []
    for f in range(num_frames):
        n_bodies = reader.take_int(f"the number of bodies in frame {f + 1} of {num_frames}")
        bodies_per_frame[f] = n_bodies
        for b in range(n_bodies):
            body_id, xyz = _read_body(reader, f + 1, b + 1)
            if frames.get(body_id, [None])[-1] == f:
                notes.append(f"frame {f + 1}: bodyID {body_id} appears twice; kept the first")
                continue
            frames.setdefault(body_id, []).append(f)
            joints.setdefault(body_id, []).append(xyz)
    if reader.pos < len(reader.lines):
        raise reader.error(
            f"expected the end of the file after {num_frames} frames (as the header says), found more lines: {reader.show()}",
            reader.pos + 1,
        )
    tracks = {bid: BodyTrack(bid, np.asarray(frames[bid], dtype=np.int64), np.stack(joints[bid])) for bid in frames}
    return SkeletonFile(path, num_frames, bodies_per_frame, tracks, notes)


# ---------------------------------------------------------------------------------------------
# body selection


@dataclass
class BodySelection:
    """The result of :func:`select_bodies`: the keypoint array and what was kept or dropped."""

    keypoint: np.ndarray  # (M, T, 25, 3) float64
    frames: np.ndarray  # (T,) the file's 0-based frame number of each row
    slots: list[list[int]]  # bodyIDs placed in each person slot, in time order
    dropped: list[tuple[int, str]]  # (bodyID, why)
    notes: list[str] = field(default_factory=list)  # everything worth reporting, as sentences


def _spread_noise(joints: np.ndarray) -> np.ndarray:
    """Per frame: True where the body is wider (x) than 0.8 x its height (y)."""
    x, y = joints[..., 0], joints[..., 1]
    return (x.max(axis=1) - x.min(axis=1)) > SPREAD_RATIO * (y.max(axis=1) - y.min(axis=1))


def select_bodies(skeleton: SkeletonFile, max_bodies: int = PERSON_SLOTS) -> BodySelection:
    """Pick the main actors from the tracks and pack them into ``max_bodies`` person slots (module docstring)."""
    if max_bodies < 1:
        raise ValueError(f"max_bodies must be >= 1, got {max_bodies}")
    if not skeleton.tracks:
        raise SkeletonFileError(
            skeleton.path, f"no frame has a body (0 bodies in each of the {skeleton.num_frames} frames)"
        )
    dropped: list[tuple[int, str]] = []
    notes = list(skeleton.notes)
    motion = {bid: t.motion for bid, t in skeleton.tracks.items()}
    tracks = sorted(skeleton.tracks.values(), key=lambda t: -motion[t.body_id])  # stable: ties keep file order

    def drop_some(keep: list[BodyTrack], why: dict[int, str], step: str) -> list[BodyTrack]:
        if not keep:
            notes.append(f"{step} would drop every body; kept them all")
            return tracks
        dropped.extend((bid, reason) for bid, reason in why.items())
        return keep

    if len(tracks) > 1:
        short = {
            t.body_id: f"only {len(t)} frame(s) (<= {LENGTH_THRESHOLD})" for t in tracks if len(t) <= LENGTH_THRESHOLD
        }
        tracks = drop_some([t for t in tracks if t.body_id not in short], short, "length denoising")
    if len(tracks) > 1:
        noisy = {}
        for t in tracks:
            wide = _spread_noise(t.joints)
            if wide.mean() >= SPREAD_NOISE_FRACTION:
                noisy[t.body_id] = f"wider than tall in {wide.mean():.0%} of its frames (spread noise)"
            elif wide.any():
                motion[t.body_id] = min(motion[t.body_id], _motion(t.joints[~wide]))
        tracks = drop_some([t for t in tracks if t.body_id not in noisy], noisy, "spread denoising")
        tracks.sort(key=lambda t: -motion[t.body_id])

    # time axis: the frames in which any body was seen
    timeline = np.unique(np.concatenate([t.frames for t in skeleton.tracks.values()]))
    row = {int(f): i for i, f in enumerate(timeline)}
    slots: list[list[int]] = []
    spans: list[tuple[int, int]] = []
    keypoint = np.zeros((max_bodies, len(timeline), NUM_JOINTS, 3), dtype=np.float64)
    for t in tracks:
        rows = np.array([row[int(f)] for f in t.frames])
        start, stop = int(rows[0]), int(rows[-1]) + 1
        for k in range(max_bodies):
            if k == len(slots):
                slots.append([])
                spans.append((start, stop))
            elif max(spans[k][0], start) < min(spans[k][1], stop):
                continue  # overlaps what this slot already holds
            keypoint[k, rows] = t.joints
            slots[k].append(t.body_id)
            spans[k] = (min(spans[k][0], start), max(spans[k][1], stop))
            break
        else:
            dropped.append((t.body_id, f"overlaps in time with the {max_bodies} bodies already kept"))

    keypoint = keypoint[: len(slots)]
    present = np.abs(keypoint).sum(axis=(2, 3)) >= ZERO_EPS  # (M, T)
    empty_slots = [k for k in range(len(slots)) if not present[k].any()]
    for k in empty_slots:
        dropped.extend((bid, "all joints are zero") for bid in slots[k])
    keep = [k for k in range(len(slots)) if k not in empty_slots]
    if not keep:
        raise SkeletonFileError(skeleton.path, "every joint of every body is zero")
    keypoint, present, slots = keypoint[keep], present[keep], [slots[k] for k in keep]
    any_present = np.flatnonzero(present.any(axis=0))
    first, last = int(any_present[0]), int(any_present[-1]) + 1
    keypoint, present, frames = keypoint[:, first:last], present[:, first:last], timeline[first:last]
    if not present[0, 0]:
        k = int(np.flatnonzero(present[:, 0])[0])
        order = [k] + [i for i in range(len(slots)) if i != k]
        keypoint, slots = keypoint[order], [slots[i] for i in order]
        notes.append(f"person slots reordered so that person 0 is present in frame 0 (bodyID {slots[0][0]})")
    notes += [f"dropped bodyID {bid}: {why}" for bid, why in dropped]
    return BodySelection(np.ascontiguousarray(keypoint), frames, slots, dropped, notes)


def read_ntu_skeleton(
    path: str | os.PathLike,
    max_bodies: int = PERSON_SLOTS,
    label: int | None = None,
    notes: list[str] | None = None,
) -> dict:
    """Read a ``.skeleton`` file into an annotation record with keypoint ``(M, T, 25, 3)`` float16.

    ``label`` defaults to the action number - 1 from the file name. What body selection dropped
    is appended to ``notes`` when a list is given, and otherwise issued as a warning.
    """
    path = Path(path)
    if label is None:
        try:
            label = parse_ntu_name(path).label
        except ValueError as e:
            raise SkeletonFileError(path, f"cannot take the label from the file name ({e}); pass label=...") from None
    skeleton = parse_ntu_skeleton(path)
    selection = select_bodies(skeleton, max_bodies)
    if notes is not None:
        notes.extend(selection.notes)
    elif selection.dropped or skeleton.notes:
        warnings.warn(f"{path}: " + "; ".join(selection.notes), stacklevel=2)
    keypoint = to_storage(selection.keypoint, np.float16, f"{path}: keypoint")  # NTU files store float16
    return {
        "frame_dir": path.name.split(".")[0],
        "label": int(label),
        "total_frames": int(keypoint.shape[1]),
        "keypoint": keypoint,
    }


# ---------------------------------------------------------------------------------------------
# folder conversion


def _convert_one(job: tuple[str, int]) -> tuple[str, dict | None, str | None, list[str]]:
    """Worker: (path, max_bodies) -> (name, record or None, error or None, notes)."""
    path, max_bodies = job
    name = Path(path).name.split(".")[0]
    notes: list[str] = []
    try:
        record = read_ntu_skeleton(path, max_bodies=max_bodies, notes=notes)
    except (InputError, OSError) as e:
        return name, None, str(e), notes
    except MemoryError:
        return name, None, f"{path}: too large to read into memory", notes
    problems = record_problems(record, NUM_JOINTS)  # never write what `convert check` would reject
    if problems:
        return name, None, f"{path}: " + "; ".join(problems), notes
    return name, record, None, notes


def convert_ntu_folder(
    src_dir: str | os.PathLike,
    out_path: str | os.PathLike,
    dataset: str = "ntu60",
    workers: int = 1,
    max_bodies: int = PERSON_SLOTS,
) -> ConversionReport:
    """Convert a folder of ``.skeleton`` files into an annotation file with the standard splits.

    Skipped (and reported): files that are not ``.skeleton`` or not named like an NTU sample,
    samples of another dataset (e.g. setup > 17 for ``'ntu60'``) and the known samples with
    missing skeletons. A file that fails to parse is reported with its error and the rest still
    converts. Records are sorted by name. Nothing is written when no file converts.
    """
    if dataset not in NTU_SPLITS:
        raise ValueError(f"unknown NTU dataset {dataset!r}; expected 'ntu60' or 'ntu120'")
    src_dir = Path(src_dir)
    if not src_dir.is_dir():
        raise FileNotFoundError(f"{src_dir}: no such folder")
    report = ConversionReport(kind=f"NTU RGB+D ({dataset})", source=str(src_dir))
    missing = missing_samples(dataset)
    jobs: list[tuple[str, int]] = []
    for path in sorted(p for p in src_dir.iterdir() if p.is_file()):
        report.total += 1
        if not path.name.endswith(".skeleton"):
            report.skipped.append((path.name, "not a .skeleton file"))
            continue
        try:
            sid = parse_ntu_name(path)
        except ValueError:
            report.skipped.append((path.name, "file name is not an NTU sample name (SsssCcccPpppRrrrAaaa.skeleton)"))
            continue
        problem = ntu_dataset_problem(sid, dataset)
        if problem is not None:
            report.skipped.append((path.name, f"wrong dataset: {problem}"))
        elif sid.name in missing:
            report.skipped.append((path.name, "a known sample with missing skeletons (skipped as in pyskl)"))
        else:
            jobs.append((str(path), max_bodies))

    records = []
    for name, record, error, notes in ordered_map(_convert_one, jobs, workers):
        report.notes.extend((name, n) for n in notes)
        if error is not None:
            report.failed.append((name, error))
        else:
            records.append(record)
    records.sort(key=lambda r: r["frame_dir"])
    names = [r["frame_dir"] for r in records]
    report.converted = len(records)
    if records:
        split = ntu_splits(names, dataset)
        report.split_counts = {k: len(v) for k, v in split.items()}
        save_annotations(out_path, records, split, label_names=class_names(dataset), layout="nturgb+d", check=False)
        report.output = str(out_path)
    return report
