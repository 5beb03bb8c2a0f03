"""Every input the package reads, in one table: how each format is detected, read and described.

:data:`FORMATS` holds one :class:`InputFormat` row per format, and every doorway reads through it:
:func:`detect_format` (from the file, or ``--format NAME`` / ``fmt=``), :func:`read_input`
(annotation records: ``predict``, ``convert poses``), :func:`read_poses` (a pose format's frames,
before tracking), :func:`read_frame` (one streamed frame) and :func:`resolve_annotations` (an
annotation file with its splits, or ``builtin``: the trainer). Formats, in the order detection
tries them:

==================  ============================================================================
``array``           a plain ``(T, V, C)`` / ``(M, T, V, C)`` array, in memory or ``.npy``
                    (:mod:`.poses.arrays`: C = 3 is x, y, z unless ``with_score``)
``openpose``        OpenPose ``--write_json`` frames, BODY_25 or COCO-18 (:mod:`.poses.openpose`);
                    ``openpose-body25`` / ``openpose-coco18`` read one model's files of a mixed folder
``coco``            COCO-17 keypoints: results lists, COCO / PoseTrack files, per-frame person lists,
                    a ``(T, 17, 2|3)`` array (:mod:`.poses.coco`); ``mmpose``: its predictions JSON
``mediapipe``       MediaPipe Pose's 33 landmarks as JSON, CSV or NPY (:mod:`.poses.mediapipe`)
``detectron2``, ``videopose3d-2d``, ``mhformer``: the lifters' ``.npz`` files (:mod:`.poses.lifters`)
``h36m``            a Human3.6M-17 ``.npy`` (VideoPose3D's 3D export) or lifter ``.npz``
``ntu``             NTU RGB+D ``.skeleton`` (:mod:`.ntu`)
``kinetics``        Kinetics-skeleton JSON, ST-GCN's (:mod:`.kinetics`)
``ucla``            NW-UCLA ``all_sqe`` JSON clips, one file or a folder (:mod:`.ucla`)
``dense``           2s-AGCN's ``(N, C, T, V, M)`` ``.npy`` with its label pickle beside it (:mod:`.dense`)
``annotations``     a pyskl annotation file ``.pkl`` (:mod:`.annotations`)
``builtin``         the built-in procedural dataset (:mod:`.synthetic`), by that name
==================  ============================================================================

One rule per ambiguity. A ``.npy`` of 17 joints is COCO-17 or Human3.6M-17: the model's layout
decides when one is given (:func:`.poses.arrays.npy_format`), else it is refused naming both. What
C = 3 means is :func:`.poses.arrays.reads_scores`. Which layout a joint count means is
:func:`.joint_maps.array_layout`. The person slots (``max_persons``) are the model's when a model
reads the input.

Adding a format: a module that reads it (returning records, or :class:`~.poses.frames.PoseFrames`
for a pose format) and says how to recognise it, and one row here.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..graph import PERSON_SLOTS, Layout
from ..io import InputError, UnsafeFileError, safe_npy_load
from . import dense, kinetics, ntu, ucla
from .classes import class_names
from .joint_maps import SOURCE_JOINTS
from .poses import arrays, coco, lifters, mediapipe, openpose
from .poses.frames import (
    PoseFormatError,
    PoseFrames,
    check_pose_record,
    issue_notes,
    natural_key,
    nobody,
    refuse_empty_folder,
    to_record,
)
from .records import load_annotations, save_annotations
from .validate import check_record

if TYPE_CHECKING:
    from .records import Annotations
    from .report import ConversionReport

__all__ = [
    "FORMATS",
    "InputFormat",
    "LabelSpace",
    "ReadOptions",
    "Peek",
    "POSE_FORMATS",
    "OTHER_FORMATS",
    "detect_format",
    "read_input",
    "read_poses",
    "read_pose_records",
    "read_pose_input",
    "read_frame",
    "input_label_space",
    "resolve_annotations",
    "convert_poses",
    "format_help",
]

FOLDER = "/"  # InputFormat.where: a folder of frame files
Notes = list[tuple[str, str]]  # (where, note): what a reader left out or assumed


@dataclass(frozen=True)
class LabelSpace:
    """What an input's labels index: a dataset's classes (``names``; empty when not known) and how the
    dataset writes label ``i`` itself (``id_format`` of ``i + first``: NTU's ``A011`` is label 10)."""

    dataset: str = ""  # 'NTU', 'Kinetics-400', 'NW-UCLA'; else where the labels come from ('x.pkl', 'the input record')
    names: tuple[str, ...] = ()
    id_format: str = "{}"
    first: int = 0

    def holds(self, model_names: Iterable[str]) -> bool:
        """Whether these labels are the model's classes (the shorter list of names opens the longer one:
        NTU-60 in NTU-120)."""
        model_names = list(model_names)
        n = min(len(self.names), len(model_names))
        return n > 0 and list(self.names[:n]) == model_names[:n]

    def describe(self, label: int) -> dict:
        """``{'id', 'dataset', 'name'}`` of ``label`` as the input's dataset writes it (``name``: None if not known)."""
        return {"id": self.id_format.format(label + self.first), "dataset": self.dataset,
                "name": self.names[label] if 0 <= label < len(self.names) else None}  # fmt: skip


@dataclass(frozen=True)
class ReadOptions:
    """How to read one input: the sample wanted, the model's layout (it names an array's joints), whether
    an array's channel 2 is a score, the image size of 2D pixels, the person slots and the label to give."""

    sample: str | None = None
    layout: Layout | str | None = None
    with_score: bool = False
    img_shape: tuple[int, int] | None = None
    max_persons: int = PERSON_SLOTS
    label: int = -1


class Peek:
    """What detection looks at, each read at most once: a file's JSON, a folder's files and its first
    frame object, an array's shape, an ``.npz``'s arrays; ``layout`` / ``with_score``: the reader's."""

    def __init__(self, path: Path, layout: Layout | str | None = None, with_score: bool = False) -> None:
        self.path, self.layout, self.with_score = path, layout, with_score
        self.kind = FOLDER if path.is_dir() else path.suffix.lower()

    @cached_property
    def json(self) -> Any:
        """The file's JSON (a :class:`PoseFormatError` when it is not readable)."""
        from .poses.frames import load_json

        return load_json(self.path)

    @cached_property
    def files(self) -> list[Path]:
        """The folder's files in natural order."""
        return sorted((f for f in self.path.iterdir() if f.is_file()), key=lambda f: natural_key(f.name))

    @cached_property
    def frame_json(self) -> tuple[Any, int, int]:
        """``(obj, empty, total)``: the folder's first readable JSON that is not ``[]`` (None if none), how many
        files are ``[]`` before it (all of them when there is none), and how many ``.json`` files there are."""
        json_files, empty = [f for f in self.files if f.suffix.lower() == ".json"], 0
        for f in json_files:
            try:
                obj = json.loads(f.read_text())
            except (OSError, UnicodeDecodeError, json.JSONDecodeError):
                continue  # a corrupt frame: look at the next one
            if obj == []:
                empty += 1  # a frame with nobody: look at the next one
                continue
            return obj, empty, len(json_files)
        return None, empty, len(json_files)

    @property
    def first(self) -> Any:
        """The JSON that decides: the file's, or the folder's first frame object."""
        return self.frame_json[0] if self.kind == FOLDER else self.json

    @cached_property
    def npy_shape(self) -> tuple[int, ...]:
        """The ``.npy``'s shape (its header)."""
        return arrays.npy_shape(self.path)

    @cached_property
    def npy_format(self) -> str | None:
        """The format a ``.npy``'s shape means (:func:`.poses.arrays.npy_format`), for the reader's layout."""
        return arrays.npy_format(self.npy_shape, self.layout, self.with_score)

    @cached_property
    def npz(self) -> dict:
        """The ``.npz``'s arrays (restricted unpickling)."""
        return lifters.load_npz(self.path)


@dataclass(frozen=True)
class InputFormat:
    """One row of :data:`FORMATS`: a format's name, a line on what it is, where detection looks for it
    (file suffixes, :data:`FOLDER`) and how (``sniff``; ``None``: the suffix alone says), and how it is read.

    ``read(path, options, notes)`` gives records; a pose format gives ``frames(path)`` instead (one
    :class:`PoseFrames` per video, tracked into records by :func:`~.poses.frames.to_record`) and may read
    one streamed ``frame(obj, layout, dim, where)``; ``open(path, layout)`` gives an annotation file with
    its splits; ``labels``: what the format's labels index (default: the file's own class indices)."""

    name: str
    help: str
    where: tuple[str, ...] = ()
    sniff: Callable[[Peek], bool] | None = None
    read: Callable[[Path, ReadOptions, Notes], list[dict]] | None = None
    frames: Callable[[Path], list[PoseFrames]] | None = None
    frame: Callable[[object, str | None, int | None, str], PoseFrames | None] | None = None
    open: Callable[[str | os.PathLike, str], Annotations] | None = None
    labels: LabelSpace | None = None
    pose: bool = field(default=False)  # a pose-estimator format (convert poses; pose formats' --format)

    def records(self, path: Path, options: ReadOptions, notes: Notes) -> list[dict]:
        """The records of ``path`` (a pose format's videos tracked into records), the sample picked."""
        if self.read is not None:
            recs = self.read(path, options, notes)
        else:
            recs = []
            for pf in self.frames(path):
                rec, rec_notes = to_record(pf, options.max_persons, options.img_shape, options.label)
                check_pose_record(rec)
                notes += [(rec["frame_dir"], n) for n in rec_notes]
                recs.append(rec)
        if options.sample is not None:
            recs = [r for r in recs if r["frame_dir"] == options.sample]
            if not recs:
                raise KeyError(f"{path}: no sample {options.sample!r}")
        return recs


# ------------------------------------------------------------------------------------------------
# How each format is recognised and read (the table's rows point here and into the format modules)
# ------------------------------------------------------------------------------------------------


def _json_is(test: Callable[[object], bool]) -> Callable[[Peek], bool]:
    """A sniff from a test of the JSON object that decides (the file's, or a folder's first frame)."""
    return lambda peek: peek.kind in (".json", FOLDER) and test(peek.first)


def _npy_is(name: str) -> Callable[[Peek], bool]:
    return lambda peek: peek.kind == ".npy" and peek.npy_format == name and len(peek.npy_shape) <= 4


def _npz_has(name: str) -> Callable[[Peek], bool]:
    return lambda peek: peek.kind == ".npz" and all(k in peek.npz for k in lifters.NPZ_KEYS[name])


def npy_layout(path: Path, options: tuple[str, ...]) -> str:
    """The first of ``options`` (keys of :data:`SOURCE_JOINTS`) with as many joints as the ``.npy`` at ``path``."""
    shape = arrays.npy_shape(path)
    v = shape[-2] if len(shape) >= 3 else 0
    for name in options:
        if len(SOURCE_JOINTS[name]) == v:
            return name
    raise PoseFormatError(f"{path}: {v} joints match none of " + ", ".join(f"{n} ({len(SOURCE_JOINTS[n])})" for n in options) + ". " + format_help())


def _read_array(path: Path, options: ReadOptions, notes: Notes) -> list[dict]:
    rec = arrays.record_from_array(safe_npy_load(path), str(path), options.with_score, options.img_shape, options.layout, notes)
    return [{**rec, "frame_dir": path.stem, "label": options.label}]


def _openpose_frames(model: str | None) -> Callable[[Path], list[PoseFrames]]:
    """OpenPose's files (only ``model``'s of a mixed folder when given), or its keypoints as a ``.npy``."""

    def frames(path: Path) -> list[PoseFrames]:
        if path.suffix.lower() == ".npy":
            return [arrays.read_pose_array(path, npy_layout(path, ("openpose", "body25")), "openpose")]
        return [openpose.read_openpose(path, model)]

    return frames


def _coco_frames(path: Path) -> list[PoseFrames]:
    return [arrays.read_pose_array(path, "coco", "coco")] if path.suffix.lower() == ".npy" else [coco.read_coco(path)]


def _h36m_frames(path: Path) -> list[PoseFrames]:
    return lifters.read_mhformer(path) if path.suffix.lower() == ".npz" else [arrays.read_pose_array(path, "h36m", "h36m")]


def _read_ntu(path: Path, options: ReadOptions, notes: Notes) -> list[dict]:
    found: list[str] = []
    rec = ntu.read_ntu_skeleton(path, max_bodies=options.max_persons, notes=found)
    notes += [(str(path), n) for n in found]
    return [rec]


def _read_kinetics(path: Path, options: ReadOptions, notes: Notes) -> list[dict]:
    found: list[str] = []
    try:
        rec = kinetics.read_kinetics_json(path, max_persons=options.max_persons, notes=found)
    except ValueError as e:
        if "label" not in str(e):
            raise
        found = []  # a video without a label (a pose estimator's output in this format): label unknown
        rec = kinetics.read_kinetics_json(path, label=0, max_persons=options.max_persons, notes=found) | {"label": -1}
    notes += [("", n) for n in found]
    return [rec]


def _read_ucla(path: Path, options: ReadOptions, notes: Notes) -> list[dict]:
    return ucla.read_ucla_input(path, options.sample)


def _read_dense(path: Path, options: ReadOptions, notes: Notes) -> list[dict]:
    labels = dense.label_pickle_beside(path)
    data = dense.DenseSkeletons(path, labels)
    if options.sample is not None:
        if options.sample not in data.frame_dirs:
            raise KeyError(f"{path}: no sample {options.sample!r}")
        return [data.record(data.frame_dirs.index(options.sample))]
    return list(data)


def _read_annotations(path: Path, options: ReadOptions, notes: Notes) -> list[dict]:
    return load_annotations(path, on_error="skip").annotations


def _open_annotations(path: str | os.PathLike, layout: str = "") -> Annotations:
    return load_annotations(path, layout=layout or None)


def _builtin_file() -> Path:
    from .synthetic import builtin_annotations  # the generator is big: imported when the built-in data is asked for

    return builtin_annotations()


def _read_builtin(path: Path, options: ReadOptions, notes: Notes) -> list[dict]:
    return _read_annotations(_builtin_file(), options, notes)


def _open_builtin(path: str | os.PathLike, layout: str = "") -> Annotations:
    return _open_annotations(_builtin_file(), layout)


def _table(*rows: InputFormat) -> dict[str, InputFormat]:
    return {row.name: row for row in rows}


FORMATS: dict[str, InputFormat] = _table(
    InputFormat("array", "a plain (T, V, C) or (M, T, V, C) .npy (25 joints: NTU 3D, 18: OpenPose)", (".npy",),
                _npy_is("array"), read=_read_array, frame=arrays.read_array_frame,
                frames=lambda p: [arrays.read_pose_array(p, npy_layout(p, ("nturgb+d", "openpose", "body25")), "array")], pose=True),
    InputFormat("openpose", "OpenPose --write_json: a folder of *_keypoints.json or one file (BODY_25 or COCO-18)", (FOLDER, ".json"),
                lambda peek: (peek.kind == FOLDER and openpose.is_openpose_folder(peek.files)) or _json_is(openpose.is_openpose_frame)(peek),
                frames=_openpose_frames(None), frame=openpose.read_openpose_frame, pose=True),
    InputFormat("coco", "COCO-17 keypoints: results list with image_id, COCO/PoseTrack file, folder of per-frame lists, or array",
                (FOLDER, ".json", ".npy"), lambda peek: _json_is(coco.is_coco_json)(peek) or _npy_is("coco")(peek),
                frames=_coco_frames, frame=coco.read_coco_frame, pose=True),
    InputFormat("mmpose", "mmpose --save-predictions JSON (meta_info + instance_info), 2D COCO-17 or 3D H36M-17", (".json",),
                _json_is(coco.is_mmpose_json), frames=lambda p: [coco.read_mmpose(p)], pose=True),
    InputFormat("mediapipe", "MediaPipe Pose 33 landmarks: JSON, CSV or .npy export", (FOLDER, ".json", ".csv", ".npy"),
                lambda peek: peek.kind == ".csv" or _json_is(mediapipe.is_mediapipe_json)(peek) or _npy_is("mediapipe")(peek),
                frames=lambda p: [mediapipe.read_mediapipe(p)], frame=mediapipe.read_mediapipe_frame, pose=True),
    InputFormat("detectron2", "VideoPose3D infer_video_d2.py .npz (Detectron2 keypoints, COCO-17)", (".npz",),
                _npz_has("detectron2"), frames=lifters.read_detectron2, pose=True),
    InputFormat("videopose3d-2d", "VideoPose3D prepare_data_2d_custom .npz (positions_2d, COCO-17)", (".npz",),
                _npz_has("videopose3d-2d"), frames=lifters.read_videopose3d_2d, pose=True),
    InputFormat("mhformer", "lifter .npz with 'reconstruction' in Human3.6M order (2D input or 3D output)", (".npz",),
                _npz_has("mhformer"), frames=lifters.read_mhformer, pose=True),
    InputFormat("h36m", "a (T, 17, 2|3) or (M, T, 17, C) .npy in Human3.6M order (e.g. VideoPose3D 3D export)", (".npy",),
                _npy_is("h36m"), frames=_h36m_frames, pose=True),
    InputFormat("openpose-body25", "OpenPose JSON, only the BODY_25 files of a folder that mixes BODY_25 and COCO-18",
                frames=_openpose_frames("body25"), pose=True),
    InputFormat("openpose-coco18", "OpenPose JSON, only the COCO-18 files of a folder that mixes BODY_25 and COCO-18",
                frames=_openpose_frames("openpose"), pose=True),
    InputFormat("ntu", "NTU RGB+D .skeleton", (".skeleton",), read=_read_ntu,
                labels=LabelSpace("NTU", tuple(class_names("ntu120")), "A{:03d}", 1)),
    InputFormat("kinetics", "Kinetics-skeleton JSON (ST-GCN)", (".json",),
                _json_is(lambda obj: isinstance(obj, dict) and isinstance(obj.get("data"), list)), read=_read_kinetics,
                labels=LabelSpace("Kinetics-400", tuple(class_names("kinetics400")), "label_index {}")),
    InputFormat("ucla", "NW-UCLA all_sqe JSON (CTR-GCN): one clip, or a folder of clips", (FOLDER, ".json"),
                _json_is(ucla.is_clip_object), read=_read_ucla,
                labels=LabelSpace("NW-UCLA", tuple(ucla.UCLA_ACTIONS), "{}", 1)),  # the clip's own 'label' counts from 1
    InputFormat("dense", "2s-AGCN's (N, C, T, V, M) .npy, with its label pickle beside it", (".npy",),
                lambda peek: peek.kind == ".npy" and len(peek.npy_shape) == 5, read=_read_dense),
    InputFormat("annotations", "an annotation .pkl", (".pkl", ".pickle"), read=_read_annotations, open=_open_annotations),
    InputFormat("builtin", "the built-in dataset, by the name 'builtin'", read=_read_builtin, open=_open_builtin,
                labels=LabelSpace("the built-in data", tuple(class_names("builtin")))),
)  # fmt: skip

POSE_FORMATS: dict[str, str] = {name: f.help for name, f in FORMATS.items() if f.pose}
OTHER_FORMATS: dict[str, str] = {name: f.help for name, f in FORMATS.items() if not f.pose}


def format_help() -> str:
    """The formats, and how to name one."""
    return f"Formats: {', '.join(FORMATS)}; choose one with --format NAME (Python: fmt=...)."


def _format(name: str) -> InputFormat:
    if name not in FORMATS:
        raise PoseFormatError(f"unknown format {name!r}. " + format_help())
    return FORMATS[name]


def _is_builtin(source: object) -> bool:
    return isinstance(source, str) and source == "builtin"


# ------------------------------------------------------------------------------------------------
# The doorways
# ------------------------------------------------------------------------------------------------


def detect_format(path: str | os.PathLike, layout: Layout | str | None = None, with_score: bool = False) -> str:
    """The format of one input, a name of :data:`FORMATS`: the first row, in table order, whose place and
    sniff fit the file or folder; ``layout`` (a model's) decides a 17-joint array (module docstring)."""
    if _is_builtin(path):
        return "builtin"
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    peek = Peek(path, layout, with_score)
    if peek.kind == FOLDER:
        refuse_empty_folder(path)
    elif peek.kind == ".json" and peek.json == []:
        raise PoseFormatError(nobody(path))
    for fmt in FORMATS.values():
        if peek.kind in fmt.where and (fmt.sniff is None or fmt.sniff(peek)):
            return fmt.name
    raise PoseFormatError(_unknown(peek))


def _unknown(peek: Peek) -> str:
    """Why no row took the input."""
    path = peek.path
    if peek.kind == FOLDER:
        obj, empty, total = peek.frame_json
        if total and obj is None and empty == total:
            return f"{path}: nobody was detected in any of the {empty} frame files of {path} (each is an empty list)"
        readers = " or ".join(f.name for f in FORMATS.values() if FOLDER in f.where)
        return f"{path}: a folder, but not of {readers} frame JSON files. " + format_help()
    if peek.kind == ".npy" and peek.npy_format is None:
        return arrays.npy_refusal(path, peek.npy_shape) + " " + format_help()
    if peek.kind == ".npz":
        return f"{path}: an .npz with keys {sorted(peek.npz)}: not a known pose file. " + format_help()
    if peek.kind == ".json":
        return f"{path}: a JSON file of no known pose format. " + format_help()
    return f"{path}: unknown kind of file ({peek.kind or 'no suffix'}). " + format_help()


def read_input(
    source,
    sample: str | None = None,
    with_score: bool = False,
    fmt: str | None = None,
    img_shape: tuple[int, int] | None = None,
    *,
    layout: Layout | str | None = None,
    max_persons: int = PERSON_SLOTS,
    label: int = -1,
    notes: Notes | None = None,
) -> list[dict]:
    """Annotation records (with labels where known) of any input of :data:`FORMATS`, or of an in-memory
    array or record; ``layout``: the model's; each note goes to ``notes`` as ``(where, note)``, or else is
    issued as a :class:`~.poses.frames.PoseNote` warning."""
    found: Notes = []
    if isinstance(source, Mapping):
        rec = dict(source)
        rec.setdefault("label", -1)  # -1: no label known
        if not isinstance(rec.get("frame_dir"), str) or not rec.get("frame_dir"):
            rec["frame_dir"] = "record"
        return [check_record(rec, check_label=False)]
    if hasattr(source, "detach") and hasattr(source, "cpu"):  # a torch tensor
        source = source.detach().cpu().numpy()
    if isinstance(source, np.ndarray):
        recs = [arrays.record_from_array(source, "array", with_score, img_shape, layout, found)]
    else:
        if not _is_builtin(source) and not Path(source).exists():
            raise FileNotFoundError(f"{source}: no such file")
        row = _format(fmt) if fmt else FORMATS[detect_format(source, layout, with_score)]
        if row.read is None and row.frames is None:
            raise PoseFormatError(f"{source}: format {row.name!r} is not read from a file")
        options = ReadOptions(sample, layout, with_score, img_shape, max_persons, label)
        recs = row.records(Path(source), options, found)
    if notes is not None:
        notes += found
    else:
        issue_notes(found)
    return recs


def read_poses(path: str | os.PathLike, fmt: str | None = None, layout: Layout | str | None = None) -> list[PoseFrames]:
    """Every video of one pose-format input in its own layout, before tracking (``fmt``: see :data:`POSE_FORMATS`)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    row = _format(fmt or detect_format(path, layout))
    if row.frames is None:
        raise PoseFormatError(f"{path}: {row.help} is read as records (read_input), not as pose frames")
    return row.frames(path)


def read_pose_records(
    path: str | os.PathLike,
    fmt: str | None = None,
    img_shape: tuple[int, int] | None = None,
    max_persons: int = PERSON_SLOTS,
    label: int = -1,
    notes: list[tuple[str, str]] | None = None,
) -> list[dict]:
    """Records (one per video) of one input; each record's notes go to ``notes`` as ``(sample, note)``."""
    return read_input(path, None, False, fmt, img_shape, max_persons=max_persons, label=label, notes=[] if notes is None else notes)


def read_pose_input(
    path: str | os.PathLike, fmt: str | None = None, img_shape: tuple[int, int] | None = None, sample: str | None = None
) -> list[dict]:
    """Records of one input for prediction (label unknown); each note is issued as a :class:`PoseNote` warning."""
    return read_input(path, sample, False, fmt, img_shape)


def read_frame(obj, layout: str | None = None, dim: int | None = None, where: str = "frame") -> PoseFrames:
    """One streamed frame as a one-frame :class:`PoseFrames`, possibly with nobody in it: the first row of
    :data:`FORMATS` that reads frames and recognises ``obj`` -- keypoints as an array (``(V, C)``,
    ``(P, V, C)`` or ``{"keypoints": ...}``), an OpenPose frame, COCO-style persons (``[...]``,
    ``{"instances": [...]}``), a MediaPipe frame. ``layout`` (the model's) names an array's joints and
    ``dim`` (its dimension) says what C = 3 is (:func:`.poses.arrays.reads_scores`)."""
    for row in FORMATS.values():
        if row.frame is None:
            continue
        pf = row.frame(obj, layout, dim, where) if row.name == "array" else row.frame(obj, layout, where)
        if pf is not None:
            return pf
    raise PoseFormatError(
        f"{where}: not a frame: expected an OpenPose frame, a list of COCO persons, a MediaPipe frame or a keypoint array"
    )


def input_label_space(source, fmt: str | None = None, layout: Layout | str | None = None) -> LabelSpace:
    """What the labels of :func:`read_input`'s records of ``source`` index: a dataset's classes (NTU
    ``.skeleton``, Kinetics JSON, NW-UCLA clips, the built-in data), else the file's or the record's indices."""
    if not isinstance(source, (str, os.PathLike)):
        return LabelSpace("the input record")
    try:
        row = _format(fmt) if fmt else FORMATS[detect_format(source, layout)]
    except (InputError, OSError):
        row = None
    return row.labels if row is not None and row.labels is not None else LabelSpace(Path(source).name)


def resolve_annotations(ann_file: str | os.PathLike, layout: str = "") -> Annotations:
    """An annotation file with its splits, where ``'builtin'`` names the built-in dataset (generated on first use)."""
    if _is_builtin(str(ann_file)):
        return FORMATS["builtin"].open("builtin", layout)
    if not Path(ann_file).exists():
        raise FileNotFoundError(
            f"annotation file {ann_file} not found (download pyskl's annotation files, or convert raw data with "
            "`aagcn-lab convert`; 'builtin' uses the built-in dataset)"
        )
    return FORMATS["annotations"].open(ann_file, layout)


def convert_poses(
    inputs: Iterable[str | os.PathLike],
    out: str | os.PathLike,
    fmt: str | None = None,
    img_shape: tuple[int, int] | None = None,
    max_persons: int = PERSON_SLOTS,
    label: int = 0,
    split_name: str = "test",
    with_score: bool = False,
) -> ConversionReport:
    """Pose-estimator inputs (each a file or folder, all of class ``label``) -> one annotation file and a report
    (``with_score``: a plain array's channel 2 is a detection score, as for :func:`read_input`)."""
    from .report import ConversionReport

    if label < 0:
        raise ValueError(f"label {label}: an annotation file needs a class index >= 0 (to predict, pass the inputs to predict)")
    inputs = list(inputs)
    report = ConversionReport("pose-estimator output", ", ".join(map(str, inputs)))
    records = []
    for src in inputs:
        report.total += 1
        notes: Notes = []
        try:
            row = _format(fmt) if fmt else FORMATS[detect_format(src)]
            if not row.pose:
                raise PoseFormatError(f"{src}: {row.help} is converted by `aagcn-lab convert`'s own command, not `convert poses`")
            recs = read_input(src, None, with_score, row.name, img_shape, max_persons=max_persons, label=label, notes=notes)
            unnamed = [r["frame_dir"] for r in recs if "layout" not in r]
            if unnamed:
                raise PoseFormatError(f"{src}: the layout of {unnamed[0]} is not known; name it with --format")
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
    for i, r in enumerate(records):  # two inputs named alike: keep both, under distinct names
        if r["frame_dir"] in dup:
            r["frame_dir"] = f"{r['frame_dir']}_{i}"
    for r in records:
        r.pop("source_format", None)
    save_annotations(out, records, {split_name: [r["frame_dir"] for r in records]}, layout=layouts.pop())
    report.output = str(out)
    report.split_counts = {split_name: len(records)}
    return report

