"""Kinetics-skeleton JSON (ST-GCN's OpenPose-18 release) -> 2D annotation records.

One JSON file per video::

    {"data": [{"frame_index": 1, "skeleton": [{"pose": [x0, y0, ..., x17, y17], "score": [s0, ..., s17]}, ...]},
              ...],
     "label": "parkour", "label_index": 207}

``x, y`` are in ``[0, 1]`` (fractions of the frame width and height). A label file maps each
video id to ``{"has_skeleton": bool, "label": str, "label_index": int}``.

Records (:func:`read_kinetics_json`): ``keypoint`` ``(M, T, 18, 2)`` float32 with the raw
``x, y``, ``keypoint_score`` ``(M, T, 18)`` float32, and ``img_shape = original_shape = (1, 1)``,
so that pyskl's ``PreNormalize2D`` maps ``x, y`` from ``[0, 1]`` to ``[-1, 1]`` (and zeroes
joints whose score is <= 0.01).

Persons, as the authors do (``kinetics_gendata.py``): in each frame, the first
``persons_in = 5`` persons of the file are read, sorted by their summed joint score, and the
best ``max_persons = 2`` go into the person slots 0 and 1 (so slot 0 holds the best-scored
person of each frame, not one tracked identity). Slots that stay empty in every frame are
removed.

Frames: ``frame_index`` is 1-based in the release (0 is accepted too): row ``t`` of the arrays
is ``frame_index = t + base``, where ``base`` is 0 if some frame has index 0 and 1 otherwise,
so ``T = max(frame_index) - base + 1``. Frames absent from ``data`` stay zero; nothing is
trimmed (``PreNormalize2D`` keeps every frame).

Bad persons: a person with NaN/inf in ``pose`` or ``score``, or with a coordinate beyond one frame
size around the frame (``x, y`` outside ``-1..2``: a garbled value; the edges are kept), is left out
and named in the notes with the file, frame and person (an exact duplicate of a person of the same
frame is dropped, with one note), like the validation layer's
:func:`~aagcn_lab.data.validate.person_frame_problems` for every reader; the rest of the video is
kept. A person of the wrong shape (a ``pose`` of 34 numbers, a string) is an error for the file.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..graph import PERSON_SLOTS
from .classes import class_names
from .records import save_annotations
from .report import ConversionReport, ordered_map
from .validate import (
    MOSTLY_OUTSIDE,
    InputError,
    coordinate_range_problems,
    frame_span_limit,
    person_frame_problems,
    record_problems,
)

__all__ = [
    "KineticsFileError",
    "KineticsLabel",
    "NUM_JOINTS",
    "read_kinetics_json",
    "read_kinetics_labels",
    "convert_kinetics_folder",
]

NUM_JOINTS = 18  # OpenPose-18 (layout 'openpose')
NUM_CLASSES = 400


class KineticsFileError(InputError):
    """A Kinetics-skeleton JSON or label file is malformed; the message names the file and the place."""


@dataclass(frozen=True)
class KineticsLabel:
    """One entry of a Kinetics-skeleton label file."""

    has_skeleton: bool
    label: str
    label_index: int


def _load_json(path: Path) -> object:
    try:
        text = path.read_bytes()
    except OSError as e:
        raise KineticsFileError(f"{path}: cannot read the file: {e.strerror or e}") from e
    if not text.strip():
        raise KineticsFileError(f"{path}: the file is empty")
    try:
        return json.loads(text)
    except UnicodeDecodeError as e:
        raise KineticsFileError(f"{path}: not JSON: binary data at byte {e.start}") from None
    except json.JSONDecodeError as e:
        raise KineticsFileError(f"{path}: not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}") from None


def _numbers(values: object, count: int, what: str, where: str, finite: bool = True) -> list[float]:
    """Check that ``values`` is a list of ``count`` numbers (finite ones unless ``finite=False``)."""
    if not isinstance(values, list):
        raise KineticsFileError(f"{where}: '{what}' must be a list of {count} numbers, got {type(values).__name__}")
    if len(values) != count:
        raise KineticsFileError(f"{where}: '{what}' has {len(values)} numbers, expected {count}")
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise KineticsFileError(f"{where}: '{what}'[{i}] is not a number: {v!r}")
        if finite and not math.isfinite(v):
            raise KineticsFileError(f"{where}: '{what}'[{i}] is {v} (NaN/inf)")
    return values


def _non_finite(pose: list[float], score: list[float]) -> str | None:
    """``'pose'[i] is nan (NaN/inf)`` for the first non-finite value of a person, or None."""
    for what, values in (("pose", pose), ("score", score)):
        bad = next((i for i, v in enumerate(values) if not math.isfinite(v)), None)
        if bad is not None:
            return f"'{what}'[{bad}] is {values[bad]} (NaN/inf)"
    return None


def read_kinetics_json(
    path: str | os.PathLike,
    label: int | None = None,
    max_persons: int = PERSON_SLOTS,
    persons_in: int | None = 5,
    notes: list[str] | None = None,
) -> dict:
    """Read one Kinetics-skeleton JSON into a 2D record (keypoint ``(M, T, 18, 2)`` + scores).

    ``label`` defaults to the file's ``label_index``. ``persons_in`` persons per frame are read
    (``None``: all), and the ``max_persons`` with the highest summed score are kept. Persons left
    out (NaN, a coordinate far outside the frame) are named in ``notes`` when a list is given, and
    otherwise in a warning.
    """
    path = Path(path)
    obj = _load_json(path)
    if not isinstance(obj, dict) or not isinstance(obj.get("data"), list):
        found = f"keys {sorted(obj)[:6]}" if isinstance(obj, dict) else f"a JSON {type(obj).__name__}"
        raise KineticsFileError(
            f"{path}: not a Kinetics-skeleton file: expected an object with a 'data' list, found {found}"
        )
    if label is None:
        label = obj.get("label_index")
        if isinstance(label, bool) or not isinstance(label, int) or label < 0:
            raise KineticsFileError(
                f"{path}: no usable 'label_index' (found {label!r}); pass label=... or a label file"
            )
    frames = obj["data"]
    if not frames:
        raise KineticsFileError(f"{path}: 'data' holds no frames")

    # read every frame: frame_index -> [(score sum, pose (18, 2), score (18,)), ...]
    persons: dict[int, list[tuple[float, np.ndarray, np.ndarray]]] = {}
    left_out: list[str] = []
    outside: list[np.ndarray] = []  # the poses left out for a coordinate far outside the frame
    duplicates: list[int] = []  # the frame_index of each exact duplicate person dropped
    for i, frame in enumerate(frames):
        where = f"{path}: data[{i}]"
        if not isinstance(frame, dict):
            raise KineticsFileError(f"{where}: a frame must be an object, got {type(frame).__name__}")
        index = frame.get("frame_index")
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise KineticsFileError(f"{where}: 'frame_index' must be an integer >= 0, got {index!r}")
        where += f" (frame_index {index})"
        if index in persons:
            raise KineticsFileError(f"{where}: frame_index {index} appears twice")
        people = frame.get("skeleton")
        if not isinstance(people, list):
            raise KineticsFileError(f"{where}: 'skeleton' must be a list of persons, got {type(people).__name__}")
        persons[index] = []
        for p, person in enumerate(people[:persons_in] if persons_in is not None else people):
            here = f"{where}, person {p}"
            if not isinstance(person, dict):
                raise KineticsFileError(f"{here}: a person must be an object, got {type(person).__name__}")
            pose = _numbers(person.get("pose"), 2 * NUM_JOINTS, "pose", here, finite=False)
            score = _numbers(person.get("score"), NUM_JOINTS, "score", here, finite=False)
            why = _non_finite(pose, score)
            xy = np.asarray(pose, dtype=np.float32).reshape(NUM_JOINTS, 2)
            if why is None:
                why = person_frame_problems(xy[None, None], (1, 1)).get((0, 0))
                if why is not None:
                    outside.append(xy)
            if why is not None:
                left_out.append(f"{here}: {why} (left out)")
                continue
            s = np.asarray(score, dtype=np.float32)
            if any(np.array_equal(xy, q) and np.array_equal(s, qs) for _, q, qs in persons[index]):
                duplicates.append(index)  # the same person twice: one person, not two
                continue
            persons[index].append((float(s.sum()), xy, s))
    kept = sum(map(len, persons.values()))
    # most persons outside: wrong units (pixels?), not a few garbled values
    if outside and len(outside) > MOSTLY_OUTSIDE * (kept + len(outside)):
        problems = "; ".join(coordinate_range_problems(np.stack(outside), (1, 1)))
        raise KineticsFileError(f"{path}: {problems} ({len(outside)} of {kept + len(outside)} persons)")
    if not kept:
        shown = [n.removeprefix(f"{path}: ").removesuffix(" (left out)") for n in left_out[:5]]
        detail = f": every person is left out ({'; '.join(shown)})" if left_out else ""
        raise KineticsFileError(f"{path}: no person in any of its {len(frames)} frames{detail}")
    if duplicates:
        frames_shown = ", ".join(map(str, sorted(set(duplicates))[:8])) + (" ..." if len(set(duplicates)) > 8 else "")
        left_out.append(f"{path}: {len(duplicates)} exact duplicate person(s) dropped (frame_index {frames_shown})")
    if notes is not None:
        notes.extend(left_out)
    elif left_out:
        warnings.warn("; ".join(left_out), stacklevel=2)

    base = 0 if 0 in persons else 1
    num_frames = max(persons) - base + 1
    if num_frames > frame_span_limit(len(frames)):
        raise KineticsFileError(
            f"{path}: frame_index {max(persons)} is far beyond the file's {len(frames)} frames (at most "
            f"{frame_span_limit(len(frames))} time steps for a file this size): a garbled frame_index"
        )
    keypoint = np.zeros((max_persons, num_frames, NUM_JOINTS, 2), dtype=np.float32)
    keypoint_score = np.zeros((max_persons, num_frames, NUM_JOINTS), dtype=np.float32)
    for index, people in persons.items():
        people = sorted(people, key=lambda item: -item[0])[:max_persons]  # stable: ties keep file order
        for m, (_, xy, s) in enumerate(people):
            keypoint[m, index - base] = xy
            keypoint_score[m, index - base] = s
    used = [m for m in range(max_persons) if keypoint[m].any() or keypoint_score[m].any()]
    record = {
        "frame_dir": path.stem,
        "label": int(label),
        "total_frames": num_frames,
        "keypoint": keypoint[used],
        "keypoint_score": keypoint_score[used],
        "img_shape": (1, 1),
        "original_shape": (1, 1),
    }
    problems = record_problems(record, NUM_JOINTS, check_label=False)  # units: x, y in 0..1, scores in [0, 1]
    if problems:
        raise KineticsFileError(f"{path}: " + "; ".join(problems))
    return record


def read_kinetics_labels(path: str | os.PathLike) -> dict[str, KineticsLabel]:
    """Read a label file (``video id -> {has_skeleton, label, label_index}``)."""
    path = Path(path)
    obj = _load_json(path)
    if not isinstance(obj, dict):
        raise KineticsFileError(
            f"{path}: a label file must be a JSON object (video id -> entry), found {type(obj).__name__}"
        )
    labels = {}
    for vid, entry in obj.items():
        where = f"{path}: video {vid!r}"
        if not isinstance(entry, dict):
            raise KineticsFileError(f"{where}: entry must be an object, got {type(entry).__name__}")
        missing = [k for k in ("has_skeleton", "label_index") if k not in entry]
        if missing:
            raise KineticsFileError(f"{where}: entry lacks {', '.join(missing)}")
        index = entry["label_index"]
        if isinstance(index, bool) or not isinstance(index, int):
            raise KineticsFileError(f"{where}: label_index must be an integer, got {index!r}")
        labels[str(vid)] = KineticsLabel(bool(entry["has_skeleton"]), str(entry.get("label", "")), index)
    return labels


def _convert_one(job: tuple[str, int | None, int]) -> tuple[str, dict | None, str | None, list[str]]:
    """Worker: (path, label, max_persons) -> (video id, record or None, error or None, notes)."""
    path, label, max_persons = job
    notes: list[str] = []
    try:
        return Path(path).stem, read_kinetics_json(path, label=label, max_persons=max_persons, notes=notes), None, notes
    except (InputError, OSError) as e:
        return Path(path).stem, None, str(e), notes
    except MemoryError:
        return Path(path).stem, None, f"{path}: too large to read into memory", notes


def convert_kinetics_folder(
    json_dir: str | os.PathLike,
    out_path: str | os.PathLike,
    label_file: str | os.PathLike | None = None,
    split_name: str = "val",
    max_persons: int = PERSON_SLOTS,
    workers: int = 1,
) -> ConversionReport:
    """Convert a folder of Kinetics-skeleton JSON files into an annotation file with one split.

    With ``label_file``, labels come from it; videos it marks ``has_skeleton: false`` or does not
    list are skipped (and reported). A file that fails to read is reported and the rest converts.
    """
    json_dir = Path(json_dir)
    if not json_dir.is_dir():
        raise FileNotFoundError(f"{json_dir}: no such folder")
    report = ConversionReport(kind="Kinetics-skeleton JSON", source=str(json_dir))
    labels = read_kinetics_labels(label_file) if label_file is not None else None
    label_path = Path(label_file).resolve() if label_file is not None else None
    names = class_names("kinetics400")
    jobs: list[tuple[str, int | None, int]] = []
    for path in sorted(p for p in json_dir.iterdir() if p.is_file()):
        if path.resolve() == label_path:
            continue  # the label file itself lives in the folder
        report.total += 1
        vid = path.stem
        if path.suffix != ".json":
            report.skipped.append((path.name, "not a .json file"))
        elif labels is None:
            jobs.append((str(path), None, max_persons))
        elif vid not in labels:
            report.skipped.append((path.name, f"not listed in the label file {label_file}"))
        elif not labels[vid].has_skeleton:
            report.skipped.append((path.name, "the label file says has_skeleton: false"))
        elif not 0 <= labels[vid].label_index < NUM_CLASSES:
            report.failed.append(
                (vid, f"label_index {labels[vid].label_index} in the label file is outside 0..{NUM_CLASSES - 1}")
            )
        else:
            jobs.append((str(path), labels[vid].label_index, max_persons))
    if labels is not None:
        present = (
            {Path(j[0]).stem for j in jobs} | {Path(n).stem for n, _ in report.skipped} | {n for n, _ in report.failed}
        )
        absent = [vid for vid, entry in labels.items() if vid not in present and entry.has_skeleton]
        if absent:
            shown = ", ".join(absent[:5]) + (", ..." if len(absent) > 5 else "")
            report.notes.append(("label file", f"{len(absent)} video(s) with a skeleton have no JSON here: {shown}"))

    records = []
    for vid, record, error, notes in ordered_map(_convert_one, jobs, workers):
        report.notes.extend((vid, n) for n in notes)
        if error is not None:
            report.failed.append((vid, error))
        elif not 0 <= record["label"] < NUM_CLASSES:
            report.failed.append((vid, f"label {record['label']} is outside 0..{NUM_CLASSES - 1} (Kinetics-400)"))
        else:
            records.append(record)
    records.sort(key=lambda r: r["frame_dir"])
    report.converted = len(records)
    if records:
        split = {split_name: [r["frame_dir"] for r in records]}
        report.split_counts = {split_name: len(records)}
        save_annotations(out_path, records, split, label_names=names, layout="openpose", check=False)
        report.output = str(out_path)
    return report
