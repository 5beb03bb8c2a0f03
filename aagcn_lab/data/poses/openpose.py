"""OpenPose ``--write_json``: a folder of ``*_keypoints.json`` (one per frame) or one such file.

Each frame is ``{"people": [{"pose_keypoints_2d": [x, y, c] * V, ...}, ...]}`` with BODY_25 (75
values a person) or COCO-18 (54, layout ``openpose``). A folder that mixes the two models is refused,
naming both sets, unless ``--format openpose-body25`` / ``openpose-coco18`` says which files to read.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..joint_maps import SOURCE_JOINTS
from .frames import (
    PoseBuilder,
    PoseFormatError,
    PoseFrames,
    first_non_number,
    floats_or_none,
    frame_files,
    load_json,
    person_id,
    some_names,
)

__all__ = ["read_openpose", "is_openpose_frame", "is_openpose_folder", "read_openpose_frame", "OPENPOSE_MODELS"]

_OPENPOSE_LAYOUTS = {75: "body25", 54: "openpose"}
OPENPOSE_MODELS = {"body25": ("BODY_25", 75, "openpose-body25"), "openpose": ("COCO-18", 54, "openpose-coco18")}


def _openpose_file(f: Path) -> tuple[list | None, str | None]:
    """The ``people`` of one OpenPose frame file, or ``(None, why)``."""
    try:
        obj = load_json(f)
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
    files = frame_files(path, "_keypoints.json") if path.is_dir() else [path]
    frames = [(f, *_openpose_file(f)) for f in files]
    by_model = {
        name: [f.name for f, people, _ in frames if people and n in _openpose_sizes(people)] for name, (_, n, _) in OPENPOSE_MODELS.items()
    }
    if model is None and all(by_model.values()):
        parts = [f"{label} ({n} values a person) in {len(by_model[name])} file(s): {some_names(by_model[name])}" for name, (label, n, _) in OPENPOSE_MODELS.items()]
        raise PoseFormatError(
            f"{path}: the folder mixes two OpenPose models: {'; and '.join(parts)}. Pass "
            + " or ".join(f"--format {fmt}" for _, _, fmt in OPENPOSE_MODELS.values())
            + " (Python: fmt=...) to read the files of one model"
        )
    skip: set[str] = set()
    b = PoseBuilder(path.stem if path.is_file() else path.name, "openpose", model, source=path)
    if model is not None:
        other = next(name for name in OPENPOSE_MODELS if name != model)
        skip = set(by_model[other]) - set(by_model[model])
        if skip:
            names = [f.name for f, _, _ in frames if f.name in skip]
            b.pf.notes.append(
                f"left out {len(skip)} {OPENPOSE_MODELS[other][0]} file(s) of the folder, as --format "
                f"{OPENPOSE_MODELS[model][2]} asks: {some_names(names)}"
            )
    for f, people, why in frames:
        if f.name in skip:
            continue
        b.frame(f.name)
        if people is None:
            b.fail_frame(why)
            continue
        openpose_people(b, people)
    if not b.pf.layout:
        b.pf.layout = "openpose"
    return b.done()


def openpose_people(b: PoseBuilder, people: list) -> None:
    """The people of one OpenPose frame; the first one fixes the model (BODY_25 or COCO-18)."""
    for p, person in enumerate(people):
        values = (person.get("pose_keypoints_2d") if isinstance(person, dict) else None) or []
        flat = floats_or_none(values)
        if flat is None:
            b.pf.problems.append((f"{b.pf.frame_names[-1]}, person {p}", f"pose_keypoints_2d holds values that are not numbers ({first_non_number(values)!r})"))
            continue
        if not b.pf.layout:
            b.pf.layout = _OPENPOSE_LAYOUTS.get(flat.size, "")
        v = len(SOURCE_JOINTS.get(b.pf.layout, ()))
        if v == 0 or flat.size != 3 * v:
            b.pf.problems.append((f"{b.pf.frame_names[-1]}, person {p}", f"{flat.size} values in pose_keypoints_2d, expected 75 (BODY_25) or 54 (COCO-18)"))
            continue
        trip = flat.reshape(-1, 3)
        b.person(trip[:, :2], trip[:, 2], person_id(person), f", person {p}")


def is_openpose_frame(obj: object) -> bool:
    """An OpenPose frame object: ``{"people": [...]}``."""
    return isinstance(obj, dict) and "people" in obj


def is_openpose_folder(files: list[Path]) -> bool:
    """A folder that OpenPose wrote: frame files named ``*_keypoints.json``."""
    return any(f.name.endswith("_keypoints.json") for f in files)


def read_openpose_frame(obj: object, layout: str | None, where: str) -> PoseFrames | None:
    """One streamed OpenPose frame (``None``: not one); nobody in it gives the model's 18 joints or BODY_25."""
    if not is_openpose_frame(obj):
        return None
    b = PoseBuilder(where, "openpose", None)
    b.frame(where)
    openpose_people(b, obj["people"] or [])
    b.pf.layout = b.pf.layout or ("body25" if layout in (None, "openpose") else "openpose")
    return b.done(allow_empty=True)
