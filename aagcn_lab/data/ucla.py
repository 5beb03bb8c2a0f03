"""NW-UCLA skeletons in CTR-GCN's ``all_sqe`` JSON format -> 3D annotation records (layout ``ucla``).

One JSON file per clip, named ``aAA_sSS_eEE_vVV.json`` (action, subject, take, view)::

    {"file_name": "a01_s01_e00_v01", "skeletons": [[[x, y, z], ... 20 joints], ... T frames], "label": 1}

Kinect v1, 20 joints in the SDK's order (layout ``ucla``), x y z in metres (y up), one person;
``label`` runs 1..10 over the actions a01-a06, a08, a09, a11, a12 (a07 and a10 do not occur).

Records (:func:`read_ucla_clip`): ``frame_dir`` (the file stem), ``label`` 0..9 (checked against
the action in the name), ``total_frames`` T and ``keypoint`` ``(1, T, 20, 3)`` float32 with the
values as stored; no ``keypoint_score``.

:func:`convert_ucla_folder` writes the cross-view protocol of CTR-GCN's ``feeder_ucla.py``:

* ``xview_train``: views 1 and 2 (1,020 clips of the full release), sorted by name;
* ``xview_test``: view 3 (464 clips), in the order of CTR-GCN's val list (``val_label.pkl``, whose
  order its score files use) when that file is given or lies beside the folder, else sorted;
* ``xview_test_unique``: the ``xview_test`` clips with no copy in ``xview_train``
  (:func:`aagcn_lab.data.leakage.find_copies`): 369 clips. In the release every view-3 clip of
  a02 and a03 (95) holds exactly the skeletons of its view-2 namesake, which is in training.

The records of the file are in the order train, then test, so that
:meth:`~aagcn_lab.data.annotations.Annotations.select` gives each split in the order above.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..graph import get_layout
from ..io import safe_pickle_load
from .kinetics import KineticsFileError, _load_json
from .records import Annotations, save_annotations
from .report import ConversionReport, ordered_map
from .validate import InputError, is_int, record_problems, to_storage

__all__ = [
    "UCLA_ACTIONS",
    "UCLA_ACTION_IDS",
    "UCLA_SPLITS",
    "UclaFileError",
    "UclaClipId",
    "parse_ucla_name",
    "read_ucla_clip",
    "read_val_list",
    "is_clip_object",
    "is_ucla_input",
    "read_ucla_input",
    "convert_ucla_folder",
]

NUM_JOINTS = 20
UNIT_LIMIT = 20.0  # metres: Kinect v1 sees 0.8-4 m; values beyond this are millimetres or garbage
# the action ids in label order (label 0..9), and their names (reference-nw-ucla.md, section 1)
UCLA_ACTION_IDS = (1, 2, 3, 4, 5, 6, 8, 9, 11, 12)
UCLA_ACTIONS = (
    "pick up with one hand", "pick up with two hands", "drop trash", "walk around", "sit down", "stand up",
    "donning", "doffing", "throw", "carry",
)  # fmt: skip
TRAIN_VIEWS, TEST_VIEW = (1, 2), 3
UCLA_SPLITS = ("xview_train", "xview_test", "xview_test_unique")

_NAME_RE = re.compile(r"a(\d{2})_s(\d{2})_e(\d{2})_v(\d{2})")


class UclaFileError(InputError):
    """An ``all_sqe`` clip (or CTR-GCN's val list) is malformed; the message names the file and the place."""


class UclaClipId(NamedTuple):
    """The parts of a clip name ``aAA_sSS_eEE_vVV``."""

    action: int
    subject: int
    take: int
    view: int

    @property
    def name(self) -> str:
        """The clip name, e.g. ``a01_s01_e00_v01``."""
        return f"a{self.action:02d}_s{self.subject:02d}_e{self.take:02d}_v{self.view:02d}"

    @property
    def label(self) -> int:
        """The 0-based class of the action id (ValueError for a07, a10 and ids beyond a12)."""
        if self.action not in UCLA_ACTION_IDS:
            ids = ", ".join(f"a{a:02d}" for a in UCLA_ACTION_IDS)
            raise ValueError(f"action a{self.action:02d} is not one of the 10 NW-UCLA actions ({ids})")
        return UCLA_ACTION_IDS.index(self.action)


def parse_ucla_name(name: str | os.PathLike) -> UclaClipId:
    """``'a02_s09_e04_v03'`` (a path or ``.json`` name too) -> ``(action, subject, take, view)``."""
    stem = Path(name).name
    stem = stem[: -len(".json")] if stem.endswith(".json") else stem
    m = _NAME_RE.fullmatch(stem)
    if not m:
        raise ValueError(f"{name}: not an NW-UCLA clip name (aAA_sSS_eEE_vVV, e.g. a01_s01_e00_v01)")
    return UclaClipId(*(int(g) for g in m.groups()))


def _action_text(label: int) -> str:
    return f"a{UCLA_ACTION_IDS[label]:02d}, {UCLA_ACTIONS[label]}"


# ---------------------------------------------------------------------------------------------
# one clip


def _shape_problem(skeletons: list) -> str:
    """Where the nested ``skeletons`` lists stop being ``[T][20][3]`` numbers (the slow path, for the message)."""
    wrong = [t for t, frame in enumerate(skeletons) if not isinstance(frame, list) or len(frame) != NUM_JOINTS]
    if wrong:
        t = wrong[0]
        frame = skeletons[t]
        what = f"has {len(frame)} joints" if isinstance(frame, list) else f"is a JSON {type(frame).__name__}, not a list of joints"
        more = f" ({len(wrong)} of {len(skeletons)} frames are wrong)" if len(wrong) > 1 else ""
        return f"'skeletons' frame {t} {what}; NW-UCLA (Kinect v1) has {NUM_JOINTS} joints per frame{more}"
    for t, frame in enumerate(skeletons):
        for j, joint in enumerate(frame):
            if not isinstance(joint, list) or len(joint) != 3:
                return f"'skeletons' frame {t}, joint {j}: expected [x, y, z], got {str(joint)[:40]}"
            for v in joint:
                if isinstance(v, bool) or not isinstance(v, (int, float)):
                    return f"'skeletons' frame {t}, joint {j}: {v!r} is not a number"
    return "'skeletons' is not a [T][20][3] list of numbers"


def _keypoint(skeletons: object, path: Path) -> np.ndarray:
    """``skeletons`` [T][20][3] -> float32 (T, 20, 3), or an error naming the frame and joint at fault."""
    if not isinstance(skeletons, list) or not skeletons:
        what = "an empty list" if isinstance(skeletons, list) else f"a JSON {type(skeletons).__name__}"
        raise UclaFileError(f"{path}: 'skeletons' must be a list of frames [T][20][3], found {what}")
    try:
        arr = np.asarray(skeletons)  # the fast path: a regular nested list of numbers
    except (ValueError, TypeError):
        arr = None
    if arr is None or arr.dtype.kind not in "fiu" or arr.ndim != 3 or arr.shape[1:] != (NUM_JOINTS, 3):
        raise UclaFileError(f"{path}: {_shape_problem(skeletons)}")
    bad = ~np.isfinite(arr)
    if bad.any():
        t, j, _ = np.argwhere(bad)[0]
        raise UclaFileError(
            f"{path}: 'skeletons' has {int(bad.sum())} NaN/inf value(s), the first at frame {t}, joint {j} "
            f"({get_layout('ucla').joint_names[j]})"
        )
    big = float(np.abs(arr).max())
    if big > UNIT_LIMIT:
        t, j, _ = np.argwhere(np.abs(arr) == big)[0]
        raise UclaFileError(
            f"{path}: 'skeletons' has values up to {big:.6g} (frame {t}, joint {j}); NW-UCLA stores metres "
            f"(Kinect v1 sees 0.8 to 4 m, nothing beyond {UNIT_LIMIT:g}): millimetres or a corrupt file?"
        )
    return to_storage(arr, np.float32, f"{path}: 'skeletons'")


def _clip_notes(keypoint: np.ndarray) -> list[str]:
    """What is valid but worth a remark: a one-frame clip, all-zero joints."""
    notes = []
    t = keypoint.shape[1]
    if t == 1:
        notes.append("a single frame (valid: the test pipeline repeats it; its motion streams are zero)")
    zero = ~keypoint[0].any(axis=-1)  # (T, V): joints whose x, y, z are all 0 (Kinect lost them)
    if zero.any():
        where = ", ".join(f"frame {f} joint {j}" for f, j in np.argwhere(zero)[:6])
        more = ", ..." if zero.sum() > 6 else ""
        empty = int(zero.all(axis=1).sum())
        frames = f"; {empty} frame(s) entirely zero" if empty else ""
        notes.append(f"{int(zero.sum())} all-zero joint entr{'y' if zero.sum() == 1 else 'ies'} ({where}{more}){frames}")
    return notes


def read_ucla_clip(path: str | os.PathLike, notes: list[str] | None = None, check_name: bool = True) -> dict:
    """Read one ``all_sqe`` JSON clip into a record (``keypoint`` ``(1, T, 20, 3)`` float32, label 0..9).

    The JSON ``label`` (1..10) must agree with the action in the file name; with
    ``check_name=False`` a file not named like a clip is read too (its label from the JSON alone).
    Remarks on valid data (one frame, all-zero joints) are appended to ``notes`` when given.
    """
    path = Path(path)
    stem = path.name[: -len(".json")] if path.name.endswith(".json") else path.stem
    try:
        clip = parse_ucla_name(stem)
    except ValueError as e:
        if check_name:
            raise UclaFileError(f"{path}: {e}") from None
        clip = None
    try:
        obj = _load_json(path)
    except KineticsFileError as e:  # the shared JSON reader names the file and the fault
        raise UclaFileError(str(e)) from None
    if not isinstance(obj, dict):
        raise UclaFileError(f"{path}: not an all_sqe clip: expected a JSON object, found a JSON {type(obj).__name__}")
    missing = [k for k in ("skeletons", "label") if k not in obj]
    if missing:
        raise UclaFileError(
            f"{path}: not an all_sqe clip: no {' and no '.join(repr(k) for k in missing)} key "
            f"(keys: {', '.join(sorted(map(str, obj))[:6]) or 'none'})"
        )
    name = obj.get("file_name", stem)
    if name != stem:
        raise UclaFileError(f"{path}: 'file_name' inside is {name!r}, but the file is named {stem!r}: renamed or a wrong copy?")
    label = obj["label"]
    if not is_int(label) or not 1 <= label <= len(UCLA_ACTIONS):
        raise UclaFileError(f"{path}: 'label' must be an integer 1..{len(UCLA_ACTIONS)}, found {label!r}")
    label = int(label) - 1
    if clip is not None:
        try:
            expected = clip.label
        except ValueError as e:
            raise UclaFileError(f"{path}: {e}") from None
        if label != expected:
            raise UclaFileError(
                f"{path}: 'label' {label + 1} ({_action_text(label)}) disagrees with the action in the name, "
                f"a{clip.action:02d} (label {expected + 1}, {UCLA_ACTIONS[expected]})"
            )
    keypoint = _keypoint(obj["skeletons"], path)[None]
    record = {"frame_dir": stem, "label": label, "total_frames": int(keypoint.shape[1]), "keypoint": keypoint}
    problems = record_problems(record, NUM_JOINTS, len(UCLA_ACTIONS), dim=3)
    if problems:
        raise UclaFileError(f"{path}: " + "; ".join(problems))
    if notes is not None:
        notes.extend(_clip_notes(keypoint))
    return record


# ---------------------------------------------------------------------------------------------
# prediction inputs


def is_clip_object(obj: object) -> bool:
    """Whether a JSON object is an all_sqe clip: an object with ``skeletons`` and ``label``."""
    return isinstance(obj, dict) and "skeletons" in obj and "label" in obj


def _is_clip_json(path: Path) -> bool | None:
    """True for an all_sqe clip, False for other JSON, None when the file cannot be read as JSON."""
    try:
        obj = json.loads(path.read_bytes())
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return is_clip_object(obj)


def is_ucla_input(path: str | os.PathLike) -> bool:
    """Whether ``path`` is an all_sqe clip (a JSON object with ``skeletons`` and ``label``) or a folder of them."""
    path = Path(path)
    if path.is_file():
        return path.suffix.lower() == ".json" and bool(_is_clip_json(path))
    if path.is_dir():
        for f in sorted(f for f in path.iterdir() if f.is_file() and f.suffix.lower() == ".json"):
            kind = _is_clip_json(f)
            if kind is not None:  # the first readable JSON decides (a corrupt one: look at the next)
                return kind
    return False


def read_ucla_input(path: str | os.PathLike, sample: str | None = None) -> list[dict]:
    """Records of an all_sqe clip or of every ``.json`` clip in a folder (for prediction; labels as stored)."""
    path = Path(path)
    files = sorted(f for f in path.iterdir() if f.is_file() and f.suffix.lower() == ".json") if path.is_dir() else [path]
    if sample is not None:
        files = [f for f in files if f.stem == sample]
        if not files:
            raise KeyError(f"{path}: no clip {sample!r}")
    records = []
    for f in files:
        try:
            records.append(read_ucla_clip(f, check_name=False))
        except UclaFileError as e:
            hint = " (`aagcn-lab convert ucla` converts the good clips of a folder and lists the bad ones)" if path.is_dir() else ""
            raise UclaFileError(f"{e}{hint}") from None
    return records


# ---------------------------------------------------------------------------------------------
# CTR-GCN's val list and the folder conversion


def read_val_list(path: str | os.PathLike) -> list[tuple[str, int, int]]:
    """CTR-GCN's ``val_label.pkl``: ``[(file_name, label 1..10, length), ...]`` in its order."""
    path = Path(path)
    obj = safe_pickle_load(path)
    if not isinstance(obj, list) or not obj:
        raise UclaFileError(f"{path}: CTR-GCN's val list is a non-empty list of {{file_name, length, label}}, found {type(obj).__name__}")
    out, seen = [], set()
    for i, entry in enumerate(obj):
        where = f"{path}: entry {i}"
        if not isinstance(entry, dict) or not all(k in entry for k in ("file_name", "label", "length")):
            raise UclaFileError(f"{where}: expected a dict with file_name, label and length, found {str(entry)[:60]}")
        name, label, length = entry["file_name"], entry["label"], entry["length"]
        if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
            raise UclaFileError(f"{where}: file_name {name!r} is not an NW-UCLA clip name")
        if not is_int(label) or not is_int(length):
            raise UclaFileError(f"{where} ({name}): label and length must be integers, found {label!r}, {length!r}")
        if name in seen:
            raise UclaFileError(f"{where}: {name} is listed twice")
        seen.add(name)
        out.append((name, int(label), int(length)))
    return out


def _test_order(
    test: dict[str, dict], val_list: str | os.PathLike | None, src: Path, report: ConversionReport
) -> list[str]:
    """The view-3 clips in the val list's order (checked against the clips), else sorted by name."""
    if val_list is None:
        beside = src.parent / "val_label.pkl"  # CTR-GCN's layout: data/NW-UCLA/{all_sqe/, val_label.pkl}
        if not beside.is_file():
            report.notes.append(("xview_test", "in name order (no val_label.pkl beside the folder; --val-list gives CTR-GCN's order)"))
            return sorted(test)
        val_list = beside
    entries = read_val_list(val_list)
    for i, (name, label, length) in enumerate(entries):
        if parse_ucla_name(name).view != TEST_VIEW:
            raise UclaFileError(f"{val_list}: entry {i} ({name}) is not a view-{TEST_VIEW} clip: not CTR-GCN's cross-view val list")
        rec = test.get(name)
        if rec is not None and (label != rec["label"] + 1 or length != rec["total_frames"]):
            raise UclaFileError(
                f"{val_list}: entry {i} ({name}) says label {label}, length {length}; the clip has label "
                f"{rec['label'] + 1}, {rec['total_frames']} frames: the list does not describe these files"
            )
    order = [name for name, _, _ in entries if name in test]
    listed = set(order)
    extra = sorted(n for n in test if n not in listed)
    absent = [name for name, _, _ in entries if name not in test]
    note = f"in the order of {val_list} (CTR-GCN's val list: its score files are keyed in this order)"
    if absent:
        note += f"; {len(absent)} listed clip(s) did not convert: {', '.join(absent[:5])}{', ...' if len(absent) > 5 else ''}"
    if extra:
        note += f"; {len(extra)} clip(s) not in the list follow in name order: {', '.join(extra[:5])}{', ...' if len(extra) > 5 else ''}"
    report.notes.append(("xview_test", note))
    return order + extra


def _convert_one(path: str) -> tuple[str, dict | None, str | None, list[str]]:
    """Worker: path -> (name, record or None, error or None, notes)."""
    notes: list[str] = []
    name = Path(path).stem
    try:
        return name, read_ucla_clip(path, notes=notes), None, notes
    except (InputError, OSError) as e:
        return name, None, str(e), notes
    except MemoryError:
        return name, None, f"{path}: too large to read into memory", notes


def _describe_copies(names: Sequence[str]) -> str:
    """``'every v03 clip of a02 (50), a03 (45)'``-style summary of copied clip names, per action."""
    per_action: dict[str, int] = {}
    for n in names:
        per_action[n[:3]] = per_action.get(n[:3], 0) + 1
    return ", ".join(f"{a} ({k})" for a, k in sorted(per_action.items()))


def convert_ucla_folder(
    src_dir: str | os.PathLike,
    out_path: str | os.PathLike,
    val_list: str | os.PathLike | None = None,
    workers: int = 1,
) -> ConversionReport:
    """Convert a folder of ``all_sqe`` clips into an annotation file with the cross-view splits (module docstring).

    Skipped (and reported): files that are not ``.json`` or not named like a clip. A clip that
    fails to read (broken JSON, missing key, wrong joint count, NaN, a label that disagrees with
    its name, a view other than 1-3) is reported with its error and the rest converts. Notes name
    the one-frame clips, all-zero joints, the test order used and the test clips copied from
    training. ``val_list``: CTR-GCN's ``val_label.pkl`` (default: the one beside the folder, if any).
    """
    from .leakage import find_copies  # leakage reads annotation files; imported here, where it is used

    src_dir = Path(src_dir)
    if not src_dir.is_dir():
        raise FileNotFoundError(f"{src_dir}: no such folder")
    if val_list is not None:
        read_val_list(val_list)  # a wrong list is refused before any clip is read
    report = ConversionReport(kind="NW-UCLA (CTR-GCN all_sqe JSON)", source=str(src_dir))
    jobs = []
    for path in sorted(p for p in src_dir.iterdir() if p.is_file()):
        report.total += 1
        if path.suffix != ".json":
            report.skipped.append((path.name, "not a .json file"))
            continue
        try:
            clip = parse_ucla_name(path.stem)
        except ValueError:
            report.skipped.append((path.name, "file name is not an NW-UCLA clip name (aAA_sSS_eEE_vVV.json)"))
            continue
        if clip.view not in TRAIN_VIEWS + (TEST_VIEW,):
            report.failed.append((path.stem, f"{path}: view v{clip.view:02d}; NW-UCLA has views 1 to 3"))
        else:
            jobs.append(str(path))

    train, test = {}, {}
    for name, record, error, notes in ordered_map(_convert_one, jobs, workers):
        report.notes.extend((name, n) for n in notes)
        if error is not None:
            report.failed.append((name, error))
        else:
            (test if parse_ucla_name(name).view == TEST_VIEW else train)[name] = record
    clip_notes, report.notes = report.notes, []  # the split-level notes go first (never cut from the summary)
    test_order = _test_order(test, val_list, src_dir, report)
    records = [train[n] for n in sorted(train)] + [test[n] for n in test_order]
    report.converted = len(records)
    if records:
        split = {"xview_train": sorted(train), "xview_test": test_order}
        ann = Annotations(records, split, list(UCLA_ACTIONS), "ucla", str(src_dir))
        copies = find_copies(ann, ["xview_train", "xview_test"])
        copied = {c.frame_dir_b for c in copies}
        split["xview_test_unique"] = [n for n in test_order if n not in copied]
        for kind in ("identical", "identical after normalisation"):
            names = sorted({c.frame_dir_b for c in copies if c.kind == kind})
            if names:
                report.notes.append((
                    "xview_test",
                    f"{len(names)} of {len(test_order)} clip(s) are copies of xview_train clips ({kind}): "
                    f"{_describe_copies(names)}; xview_test_unique leaves them out",
                ))
        if train and test and not copies:
            report.notes.append(("xview_test", "no clip is a copy of an xview_train clip"))
        report.split_counts = {k: len(v) for k, v in split.items()}
        save_annotations(out_path, records, split, label_names=UCLA_ACTIONS, layout="ucla", check=False)
        report.output = str(out_path)
    report.notes += clip_notes
    return report
