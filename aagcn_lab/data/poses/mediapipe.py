"""MediaPipe Pose's 33 landmarks (normalised x, y, z, visibility) as JSON, CSV or NPY, or a folder of per-frame JSON.

JSON: the Tasks API ``PoseLandmarkerResult`` (``pose_landmarks``: one list per person), the legacy
solution's ``landmark`` list, a bare list of landmarks, or ``{"frames": [...]}``. CSV: long form
(``frame, landmark, x, y, z, visibility[, person]``) or wide form (one row per frame). NPY:
``(T, 33, 4)`` or ``(T, 132)``. Coordinates are fractions of the frame; an export whose median
landmark reaches beyond 2 holds pixels (:func:`~.frames.to_record`).
"""

from __future__ import annotations

import csv
import io
import os
import re
from pathlib import Path

import numpy as np

from ..joint_maps import MEDIAPIPE_LANDMARKS
from .arrays import add_array, load_numeric_npy
from .frames import PoseBuilder, PoseFormatError, PoseFrames, frame_files, is_number, load_json

__all__ = ["read_mediapipe", "is_mediapipe_json", "read_mediapipe_frame", "mediapipe_frame_people"]

_LANDMARK_KEYS = ("x", "y", "z", "visibility")


def _mp_person(b: PoseBuilder, landmarks, where: str) -> None:
    if not isinstance(landmarks, list) or not all(isinstance(lm, dict) for lm in landmarks):
        b.pf.problems.append((f"{b.pf.frame_names[-1]}{where}", "landmarks are not a list of {x, y, z, visibility} objects"))
        return
    has_vis = ["visibility" in lm for lm in landmarks]
    why = None
    if any(has_vis) and not all(has_vis):  # a garbled landmark, not an export without visibility
        why = f"landmark(s) {', '.join(str(j) for j, h in enumerate(has_vis) if not h)} have no visibility while the others do"
    for j, lm in enumerate(landmarks):
        for key in ("x", "y") + (("visibility",) if has_vis[j] else ()):
            if why is None and not is_number(lm.get(key)):
                why = f"landmark {j}: {key} is {lm.get(key)!r}, not a number" if key in lm else f"landmark {j} has no {key}"
    if why is not None:
        b.pf.problems.append((f"{b.pf.frame_names[-1]}{where}", why))
        return
    xy = np.array([[lm["x"], lm["y"]] for lm in landmarks], np.float64).reshape(-1, 2)
    vis = np.array([lm.get("visibility", 1.0) for lm in landmarks], np.float64)
    b.person(xy, vis, None, where)


def mediapipe_people(b: PoseBuilder, people: list | None) -> None:
    """The people of one MediaPipe frame (``None``: the frame was not a MediaPipe frame)."""
    if people is None:
        b.fail_frame("not a MediaPipe frame (no landmark / pose_landmarks)")
        return
    for p, lm in enumerate(people):
        _mp_person(b, lm, f", person {p}")


def mediapipe_frame_people(frame) -> list | None:
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
    b = PoseBuilder(path.stem if path.is_file() else path.name, "mediapipe", "mediapipe", source=path)
    b.pf.normalised = True
    if path.is_dir():
        for f in frame_files(path):
            b.frame(f.name)
            try:
                people = mediapipe_frame_people(load_json(f))
            except PoseFormatError as e:
                b.fail_frame(str(e).split(": ", 1)[-1])
                continue
            mediapipe_people(b, people)
    elif path.suffix.lower() == ".json":
        obj = load_json(path)
        frames = obj.get("frames") if isinstance(obj, dict) and "frames" in obj else obj
        if isinstance(frames, dict) or (isinstance(frames, list) and frames and isinstance(frames[0], dict) and "x" in frames[0]):
            frames = [frames]  # one frame: a frame object or a bare list of landmarks
        if not isinstance(frames, list):
            raise PoseFormatError(f"{path}: not a MediaPipe export (expected a list of frames with 'landmark' or 'pose_landmarks')")
        for i, frame in enumerate(frames):
            b.frame(f"frame {i}")
            mediapipe_people(b, mediapipe_frame_people(frame))
    elif path.suffix.lower() == ".csv":
        _read_mediapipe_csv(path, b)
    elif path.suffix.lower() == ".npy":
        arr = load_numeric_npy(path)
        if arr.ndim == 2 and arr.shape[1] == 33 * 4:
            arr = arr.reshape(-1, 33, 4)
        add_array(b, arr, path, score_channel=3 if arr.shape[-1] == 4 else None, coords=2)
    else:
        raise PoseFormatError(f"{path}: MediaPipe exports are read from .json, .csv or .npy")
    return b.done()  # pixel exports (not normalised): see _units


_CSV_WIDE = re.compile(r"^(?:(x|y|z|visibility|v|presence)_?(\d+)|(\d+)_(x|y|z|visibility|v|presence)|([a-z_]+)_(x|y|z|visibility|presence))$")


def _read_mediapipe_csv(path: Path, b: PoseBuilder) -> None:
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



def is_mediapipe_json(obj: object) -> bool:
    """A MediaPipe export or frame: landmark keys, ``frames``, or a list of landmarks (``x``, ``y``, ...)."""
    if isinstance(obj, dict):
        return any(k in obj for k in ("landmark", "landmarks", "pose_landmarks", "frames"))
    first = next((x for x in obj if x), None) if isinstance(obj, list) else None
    if isinstance(first, dict):
        return "x" in first or any(k in first for k in ("landmark", "pose_landmarks"))
    return isinstance(first, list) and bool(first) and isinstance(first[0], dict) and "x" in first[0]


def read_mediapipe_frame(obj: object, layout: str | None, where: str) -> PoseFrames | None:
    """One streamed MediaPipe frame (``None``: not one; a list of COCO persons is not)."""
    people = mediapipe_frame_people(obj)
    if people is None or (isinstance(obj, list) and obj and "keypoints" in obj[0]):
        return None
    b = PoseBuilder(where, "mediapipe", "mediapipe")
    b.pf.normalised = True
    b.frame(where)
    mediapipe_people(b, people)
    return b.done(allow_empty=True)
