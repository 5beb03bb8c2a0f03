"""COCO-17 keypoints (results lists, COCO / PoseTrack files, per-frame person lists) and mmpose predictions.

``coco``: ``[x, y, v|score] * 17`` per person -- a results list with ``image_id`` (AlphaPose,
mmpose, Detectron2), a COCO / PoseTrack file with ``images`` and ``annotations`` (``track_id``
used; ``v`` flags are visibility), a folder of per-frame person lists (RTMPose / ViTPose / HRNet
``keypoints`` + ``keypoint_scores``, YOLO-pose ``tojson()``). Results keep the frame positions of
``image_id`` (a frame number, or the last number of a name): missing ids are frames with nobody
(one note); ids too sparse to be frame numbers are read in order, with a note; a results list
``[]`` is named as such (nobody detected).

``mmpose``: ``--save-predictions`` JSON (``meta_info`` + ``instance_info``), COCO-17 2D or
Human3.6M-17 3D from its pose lifter.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..joint_maps import SOURCE_JOINTS
from ..validate import frame_span_limit, is_int
from .frames import PoseBuilder, PoseFormatError, PoseFrames, frame_files, load_json, natural_key, nobody, person_id

__all__ = ["read_coco", "read_mmpose", "is_coco_json", "is_mmpose_json", "read_coco_frame"]


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



def read_coco(path: str | os.PathLike) -> PoseFrames:
    """COCO-17 keypoints: a results list, a COCO/PoseTrack file, or a folder of per-frame lists."""
    path = Path(path)
    if path.is_dir():
        b = PoseBuilder(path.name, "coco", "coco", source=path)
        for f in frame_files(path):
            b.frame(f.name)
            try:
                obj = load_json(f)
            except PoseFormatError as e:
                b.fail_frame(str(e).split(": ", 1)[-1])
                continue
            coco_people(b, obj.get("instances", obj.get("people", [])) if isinstance(obj, dict) else obj, "expected a list of people")
        return b.done()
    obj = load_json(path)
    if obj == []:
        raise PoseFormatError(nobody(path))
    if isinstance(obj, dict) and "annotations" in obj and "images" in obj:
        return _read_coco_dataset(path, obj)
    if isinstance(obj, list) and any(isinstance(d, dict) and "image_id" in d for d in obj):
        return _read_coco_results(path, obj)
    if isinstance(obj, list):  # one frame: a list of people
        b = PoseBuilder(path.stem, "coco", "coco", source=path)
        b.frame(path.name)
        coco_people(b, obj, "")
        return b.done()
    raise PoseFormatError(f"{path}: not COCO keypoints (expected a results list with image_id, or images + annotations)")


def coco_people(b: PoseBuilder, people, missing: str) -> None:
    """The people of one COCO-like frame (``missing``: the problem when it is not a list)."""
    if not isinstance(people, list):
        b.fail_frame(missing)
        return
    for p, person in enumerate(people):
        _coco_person(b, person, f", person {p}")


def _coco_person(b: PoseBuilder, person, where: str, visibility_flags: bool = False) -> None:
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
    b.person(xy, s, person_id(person), where)



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
    b = PoseBuilder(path.stem, "coco", "coco", source=path)
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
    order: list = sorted(frames, key=lambda k: natural_key(str(k)))
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
        coco_people(b, frames[key], "")
    if missing:
        b.pf.notes.append(
            f"{len(missing)} frame(s) missing from the results (image_id {_runs(missing)}): kept in their place as frames with nobody"
        )
    return b.done()


def _read_coco_dataset(path: Path, obj: dict) -> PoseFrames:
    """COCO / PoseTrack files: ``v`` flags are visibility (score 1 if v > 0); other joints' names zeroed."""
    b = PoseBuilder(path.stem, "coco", "coco", source=path)
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
    obj = load_json(path)
    if not isinstance(obj, dict) or not isinstance(obj.get("instance_info"), list):
        raise PoseFormatError(f"{path}: not an mmpose predictions file (no 'instance_info' list)")
    meta = obj.get("meta_info") or {}
    dataset = str(meta.get("dataset_name", "")).lower()
    layout = "h36m" if "h36m" in dataset else "coco" if "coco" in dataset or not dataset else None
    if layout is None:
        raise PoseFormatError(f"{path}: mmpose dataset {dataset!r}: only COCO-17 and Human3.6M-17 are read")
    b = PoseBuilder(path.stem, "mmpose", layout, source=path)
    for i, frame in enumerate(obj["instance_info"]):
        b.frame(f"frame_id {frame.get('frame_id', i)}" if isinstance(frame, dict) else f"entry {i}")
        coco_people(b, frame.get("instances") if isinstance(frame, dict) else None, "no 'instances' list")
    return b.done()



def is_coco_json(obj: object) -> bool:
    """A COCO / PoseTrack file (``images`` + ``annotations``) or a list of detections (``keypoints`` / ``image_id``)."""
    if isinstance(obj, dict):
        return "images" in obj and "annotations" in obj
    first = next((x for x in obj if x), None) if isinstance(obj, list) else None
    return isinstance(first, dict) and ("keypoints" in first or "image_id" in first)


def is_mmpose_json(obj: object) -> bool:
    """An mmpose predictions file: ``{"meta_info": ..., "instance_info": [...]}``."""
    return isinstance(obj, dict) and "instance_info" in obj


def read_coco_frame(obj: object, layout: str | None, where: str) -> PoseFrames | None:
    """One streamed frame of COCO-style persons: a list of person objects or ``{"instances": [...]}``
    (``None``: not one; a list of MediaPipe landmarks is not); Human3.6M-17 for an ``h36m`` model."""
    if isinstance(obj, dict):
        persons = obj.get("instances")
    elif isinstance(obj, list) and obj and isinstance(obj[0], dict) and "x" not in obj[0]:
        persons = obj
    else:
        return None
    if not isinstance(persons, list):
        return None
    b = PoseBuilder(where, "coco", "h36m" if layout == "h36m" else "coco")
    b.frame(where)
    coco_people(b, persons, "")
    return b.done(allow_empty=True)
