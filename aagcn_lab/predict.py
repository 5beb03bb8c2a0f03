"""Predict actions of new skeletons with one or more checkpoints (one per stream), fused.

::

    from aagcn_lab import predict
    preds = predict({"j": "runs/j/best.pt", "b": "runs/b/best.pt"}, "S001C001P001R001A001.skeleton")
    print(preds[0])                      # top-5 classes by name with fused probabilities

Inputs: an annotation file (every record, or ``sample=`` one of them), a raw NTU ``.skeleton``
file, a Kinetics-skeleton JSON, a ``.npy`` array, or an in-memory array / record. Arrays are
``(M, T, V, C)`` or ``(T, V, C)``: C = 3 is 3D (x, y, z), C = 2 is 2D pixels without scores
(all scores 1), and ``(x, y, score)`` needs ``with_score=True``. Each checkpoint's stream (j, b,
jm, bm) is read from the checkpoint (ours) or given as ``{stream: path}``; each stream gets its
own test pipeline (pyskl's 10 clips) and the probabilities are fused with pyskl's weights.

A sample's true label is shown by the model's class name only when the input's labels are the
model's classes (:class:`LabelSpace`: an NTU ``.skeleton`` file's action with an NTU model, ...);
otherwise it is the file's own label in its own dataset, e.g. ``file label: A011 (NTU: reading)``
for an NTU file and a model of the built-in data, or a class index of an annotation file.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .data.annotations import load_annotations
from .data.classes import class_names_for
from .data.pipeline import build_pipeline
from .data.poses import fit_layout
from .data.validate import (
    MOSTLY_OUTSIDE,
    InputError,
    check_int,
    check_record,
    check_weights,
    coordinate_range_problems,
    layout_dim,
    person_frame_problems,
    record_dim,
    resolve_device,
    to_storage,
    typical_body_size,
)
from .fusion import default_weights
from .io import safe_npy_load
from .model.aagcn import AAGCN
from .model.checkpoint import read_checkpoint
from .model.cpu_infer import prepare_inference

__all__ = [
    "LabelSpace",
    "Prediction",
    "input_label_space",
    "predict",
    "predict_records",
    "prepare_streams",
    "read_input",
    "load_stream_models",
]


@dataclass(frozen=True)
class LabelSpace:
    """What an input's labels index: a dataset's classes (``names``; empty when not known) and how the
    dataset writes label ``i`` itself (``id_format`` of ``i + first``: NTU's ``A011`` is label 10)."""

    dataset: str = ""  # 'NTU', 'Kinetics-400', 'NW-UCLA'; else where the labels come from ('x.pkl', 'the input record')
    names: tuple[str, ...] = ()
    id_format: str = "{}"
    first: int = 0

    def holds(self, model_names: Sequence[str]) -> bool:
        """Whether these labels are the model's classes (the shorter list of names opens the longer one:
        NTU-60 in NTU-120)."""
        n = min(len(self.names), len(model_names))
        return n > 0 and list(self.names[:n]) == list(model_names[:n])

    def describe(self, label: int) -> dict:
        """``{'id', 'dataset', 'name'}`` of ``label`` as the input's dataset writes it (``name``: None if not known)."""
        return {"id": self.id_format.format(label + self.first), "dataset": self.dataset,
                "name": self.names[label] if 0 <= label < len(self.names) else None}  # fmt: skip


def input_label_space(source, fmt: str | None = None) -> LabelSpace:
    """The label space of what :func:`read_input` reads from ``source``: a raw dataset file's own classes
    (NTU ``.skeleton``, Kinetics JSON, NW-UCLA clips), else the annotation file's or the record's indices."""
    from .data.classes import class_names

    if not isinstance(source, (str, os.PathLike)):
        return LabelSpace("the input record")
    path = Path(source)
    suffix = path.suffix.lower()
    if suffix == ".skeleton":
        return LabelSpace("NTU", tuple(class_names("ntu120")), "A{:03d}", 1)
    if suffix == ".json" or path.is_dir():
        from .data.ucla import UCLA_ACTIONS, is_ucla_input

        if fmt == "ucla" or (fmt is None and path.exists() and is_ucla_input(path)):
            return LabelSpace("NW-UCLA", tuple(UCLA_ACTIONS), "{}", 1)  # the clip's own 'label' counts from 1
        return LabelSpace("Kinetics-400", tuple(class_names("kinetics400")), "label_index {}")  # pose outputs: no label
    return LabelSpace(path.name)


@dataclass
class Prediction:
    """The fused prediction for one sample: the true label as a class of the model (``label``) when the
    input's labels are the model's classes, else as the input's own (``file_label``, see :class:`LabelSpace`)."""

    frame_dir: str
    probs: np.ndarray  # (K,) fused, sums to 1
    class_names: list[str]
    streams: dict[str, np.ndarray] = field(default_factory=dict)  # per-stream probabilities
    label: int | None = None  # a class index of the model
    file_label: dict | None = None  # LabelSpace.describe: the input's own label, not a class of the model

    def top(self, k: int = 5) -> list[tuple[int, str, float]]:
        """The ``k`` most probable classes: ``(index, name, probability)``."""
        order = np.argsort(self.probs)[::-1][:k]
        return [(int(i), self.class_names[i], float(self.probs[i])) for i in order]

    def as_dict(self, k: int = 5) -> dict:
        """JSON-able form."""
        d = {"sample": self.frame_dir, "top": [{"class": i, "name": n, "prob": p} for i, n, p in self.top(k)]}
        if self.label is not None:
            d["label"] = {"class": self.label, "name": self.class_names[self.label]}
        if self.file_label is not None:
            d["file_label"] = dict(self.file_label)
        d["streams"] = {s: self.class_names[int(p.argmax())] for s, p in self.streams.items()}
        return d

    def __str__(self) -> str:
        head = self.frame_dir
        if self.label is not None:
            head += f" (label: {self.class_names[self.label]})"
        elif self.file_label is not None:
            f = self.file_label
            where = f"{f['dataset']}: {f['name']}" if f["name"] is not None else f"class index in {f['dataset']}"
            head += f" (file label: {f['id']} ({where}))"
        lines = [head] + [f"  {p:6.1%}  {name}" for _, name, p in self.top()]
        return "\n".join(lines)


# ------------------------------------------------------------------------------------------------
# Inputs
# ------------------------------------------------------------------------------------------------


def _leave_out_bad_slots(
    arr: np.ndarray, name: str, img_shape: tuple[int, int] | None, two_d: bool, with_score: bool
) -> tuple[np.ndarray, np.ndarray]:
    """``arr (M, T, V, C)`` with each bad person-frame (NaN, a garbled coordinate) zeroed and named in a
    :class:`PoseNote`, and the ``(M, T)`` mask of those left out.

    The rules are the readers' (:func:`~.data.validate.person_frame_problems`); an array with no
    good person-frame left is an :class:`InputError` naming the first bad ones.
    """
    from .data.poses import PoseNote

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
    for line in listed:
        warnings.warn(f"{name}: {line} (left out)", PoseNote, stacklevel=4)
    return arr, left_out


def _array_image_shape(arr: np.ndarray, name: str, with_score: bool) -> tuple[int, int]:
    """(1, 1) for a 2D array whose typical detection lies within [-1, 1] (fractions, with a note), else pyskl's 1920x1080."""
    from .data.poses import NORMALISED_LIMIT, PoseNote, median_extent

    xy = np.asarray(arr[..., :2], dtype=np.float64)
    seen = (arr[..., 2] > 0) if with_score else (xy != 0).any(-1)
    typical = median_extent(xy[m, t][seen[m, t]] for m in range(xy.shape[0]) for t in range(xy.shape[1]))
    if typical is not None and typical <= NORMALISED_LIMIT:
        warnings.warn(f"{name}: coordinates are normalised to [0, 1], not pixels: read as fractions of the frame", PoseNote, stacklevel=4)
        return (1, 1)
    return (1080, 1920)  # pyskl's fallback


def _record_from_array(arr: np.ndarray, name: str, with_score: bool, img_shape: tuple[int, int] | None = None) -> dict:
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
    two_d = with_score or c == 2
    if img_shape is not None or not two_d:
        shape = tuple(int(x) for x in img_shape) if img_shape is not None else (1080, 1920)
    else:
        shape = _array_image_shape(arr, name, with_score)
    arr, left_out = _leave_out_bad_slots(arr, name, shape, two_d, with_score)
    if with_score and not (arr[..., 2] > 0).any():
        raise InputError(f"{name}: every score (channel 2) is 0 or less: nothing detected (scores are confidences in [0, 1]; an integer array?)")
    arr = to_storage(arr, np.float32, name)
    rec = {"frame_dir": name, "label": -1, "total_frames": t}  # -1: no label known
    if with_score:
        rec.update(keypoint=arr[..., :2], keypoint_score=arr[..., 2], img_shape=shape)
    elif c == 2:
        score = np.ones(arr.shape[:3], np.float32)  # no scores: 1, but 0 where a person-frame was left out
        score[left_out] = 0
        rec.update(keypoint=arr, keypoint_score=score, img_shape=shape)
    else:
        rec["keypoint"] = arr
    return check_record(rec, name, check_label=False)


def _issue_notes(notes: Sequence[str], prefix: str = "") -> None:
    """A reader's notes (what it left out or dropped) as :class:`~.data.poses.PoseNote` warnings."""
    from .data.poses import PoseNote

    for note in notes:
        warnings.warn(f"{prefix}{note}", PoseNote, stacklevel=3)


def read_input(source, sample: str | None = None, with_score: bool = False, fmt: str | None = None, img_shape=None) -> list[dict]:
    """Annotation records (with labels where known) from any supported input (``fmt``: see :mod:`.data.poses`)."""
    if isinstance(source, dict):
        rec = dict(source)
        rec.setdefault("label", -1)  # -1: no label known
        if not isinstance(rec.get("frame_dir"), str) or not rec.get("frame_dir"):
            rec["frame_dir"] = "record"
        return [check_record(rec, check_label=False)]
    if isinstance(source, torch.Tensor):
        source = source.detach().cpu().numpy()
    if isinstance(source, np.ndarray):
        return [_record_from_array(source, "array", with_score, img_shape)]
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    from .data.poses import OTHER_FORMATS, detect_format, read_pose_input
    from .data.ucla import is_ucla_input, read_ucla_input

    if fmt == "ucla" or (fmt is None and is_ucla_input(path)):  # NW-UCLA all_sqe clip(s): JSON with skeletons + label
        return read_ucla_input(path, sample)
    kind = fmt or detect_format(path)
    if kind != "array" and kind not in OTHER_FORMATS:  # a pose-estimator output (a file or a folder of frames)
        return read_pose_input(path, kind, img_shape, sample)
    suffix = path.suffix.lower()
    if suffix == ".skeleton":
        from .data.ntu import read_ntu_skeleton

        notes: list[str] = []
        rec = read_ntu_skeleton(path, notes=notes)
        _issue_notes(notes, f"{path}: ")
        return [rec]
    if suffix == ".json":
        from .data.kinetics import read_kinetics_json

        notes = []
        try:
            rec = read_kinetics_json(path, notes=notes)
        except ValueError as e:
            if "label" not in str(e):
                raise
            notes = []
            rec = read_kinetics_json(path, label=0, notes=notes) | {"label": -1}
        _issue_notes(notes)
        return [rec]
    if suffix == ".npy":
        return [_record_from_array(safe_npy_load(path), str(path), with_score, img_shape)]
    if suffix in (".pkl", ".pickle"):
        ann = load_annotations(path, on_error="skip")
        recs = ann.annotations
        if sample is not None:
            recs = [r for r in recs if r["frame_dir"] == sample]
            if not recs:
                raise KeyError(f"{path}: no sample {sample!r}")
        return recs
    raise ValueError(f"{path}: unsupported input (use .skeleton, Kinetics .json, .npy or an annotation .pkl)")


# ------------------------------------------------------------------------------------------------
# Models and prediction
# ------------------------------------------------------------------------------------------------


def load_stream_models(checkpoints) -> dict[str, tuple[AAGCN, dict]]:
    """``{stream: (model, settings)}`` from a path, a list of paths or ``{stream: path}``."""
    if isinstance(checkpoints, (str, os.PathLike)):
        checkpoints = [checkpoints]
    items = list(checkpoints.items()) if isinstance(checkpoints, Mapping) else [(None, c) for c in checkpoints]
    out: dict[str, tuple[AAGCN, dict]] = {}
    for stream, path in items:
        if str(path).lower().endswith(".onnx"):  # an exported model (aagcn-lab export) with its sidecar
            from .export import load_onnx_stream

            file_stream, onnx_model, onnx_settings = load_onnx_stream(path)
            stream = stream or file_stream
            if stream in out:
                raise ValueError(f"two checkpoints for stream {stream!r}")
            out[stream] = (onnx_model, onnx_settings)
            continue
        info = read_checkpoint(path)  # the file once: weights and what it was trained on
        model, trained_on = info.build_model(), info.provenance
        stream = stream or trained_on.feat
        if stream is None:
            if len(items) == 1:
                stream = "j"
            else:
                raise ValueError(f"{path}: the checkpoint does not say its stream; pass {{'j': path, 'b': ...}} (CLI: j={path})")
        if stream in out:
            raise InputError(f"two checkpoints for stream {stream!r} ({path} and another); name each stream once (j=..., b=...)")
        settings = {"clip_len": trained_on.clip_len or 100, "protocol": trained_on.protocol, "meta": dict(info.meta, source=info.source)}
        out[stream] = (model, settings)
    return out


@torch.no_grad()
def predict(
    checkpoints,
    source,
    sample: str | None = None,
    weights: Mapping[str, float] | None = None,
    num_clips: int = 10,
    with_score: bool = False,
    device: str = "cpu",
    fmt: str | None = None,
    img_shape: tuple[int, int] | None = None,
) -> list[Prediction]:
    """Fused top-k predictions for every sample of ``source`` (see the module docstring)."""
    num_clips = check_int("num_clips (--clips)", num_clips)
    device = resolve_device(device)
    models = load_stream_models(checkpoints)
    records = read_input(source, sample, with_score, fmt, img_shape)
    return predict_records(models, records, weights, num_clips, device, label_space=input_label_space(source, fmt))


def prepare_streams(models: Mapping[str, tuple], device: str = "cpu") -> dict:
    """What runs each stream's model of ``{stream: (model, settings)}``: an AAGCN prepared for inference
    (:func:`~aagcn_lab.model.cpu_infer.prepare_inference`: on the CPU batch norm folded and weights
    stacked once, a snapshot of the weights), an exported model as it is."""
    nets = {}
    for stream, (model, _) in models.items():
        model = model.to(device).eval()
        nets[stream] = prepare_inference(model) if isinstance(model, AAGCN) else model
    return nets


@torch.no_grad()
def predict_records(
    models: Mapping[str, tuple],
    records: Sequence[dict],
    weights: Mapping[str, float] | None = None,
    num_clips: int = 10,
    device: str = "cpu",
    nets: Mapping | None = None,
    label_space: LabelSpace | None = None,
) -> list[Prediction]:
    """Fused predictions of ``records`` by ``{stream: (model, settings)}`` from :func:`load_stream_models`
    (the one prediction loop: :func:`predict` and :class:`aagcn_lab.streaming.StreamingPredictor` use it);
    ``nets`` from :func:`prepare_streams` when the caller keeps them (else prepared here, once per call);
    ``label_space``: what the records' labels index (default: not known, so never read as the model's classes)."""
    label_space = label_space or LabelSpace("the input record")
    first_model = next(iter(models.values()))[0]
    for stream, (model, _) in models.items():
        if model.cfg.num_classes != first_model.cfg.num_classes:
            raise ValueError(f"stream {stream!r} predicts {model.cfg.num_classes} classes, another {first_model.cfg.num_classes}")
    names = class_names_for(first_model.cfg.num_classes, next(iter(models.values()))[1]["meta"])
    w = check_weights(weights if weights is not None else default_weights(list(models)))
    unknown = sorted(set(w) - set(models))
    if unknown:
        raise InputError(f"weights given for streams without a checkpoint: {', '.join(unknown)}")
    if not any(w.get(s, 0.0) for s in models):
        raise InputError(f"every stream's weight is 0: {w}")
    nets = nets if nets is not None else prepare_streams(models, device)
    preds = []
    for rec in records:
        v = rec["keypoint"].shape[2]
        per_stream = {}
        for stream, (model, settings) in models.items():
            rec_s = fit_layout(rec, model.layout, f"the {stream} model")  # a joint map, or an error naming both layouts
            v = rec_s["keypoint"].shape[2]
            if v != model.layout.num_joints:
                raise InputError(
                    f"sample {rec['frame_dir']}: {v} joints, but the {stream} model is for layout {model.layout.name!r} "
                    f"({model.layout.num_joints} joints)"
                )
            want = layout_dim(model.layout)
            if want is not None and record_dim(rec_s) != want:
                hint = " (if channel 2 of the array is a detection score, pass with_score=True / --with-score)" if want == 2 else ""
                raise InputError(
                    f"sample {rec['frame_dir']}: {record_dim(rec_s)}D data (C = {rec_s['keypoint'].shape[-1]}), but the "
                    f"{stream} model is a {want}D model (layout {model.layout.name!r}){hint}"
                )
            pipe = build_pipeline(
                stream, "test", model.layout, settings["clip_len"], num_clips, model.cfg.num_person,
                protocol=settings.get("protocol", "pyskl"),
            )  # the pipeline the model was trained with (its checkpoint says which)
            x = torch.from_numpy(pipe(rec_s)["keypoint"])[None].to(device)
            per_stream[stream] = nets[stream].forward_test(x)[0].double().cpu().numpy()
        for stream, probs in per_stream.items():  # never report a NaN probability
            if not np.isfinite(probs).all():
                raise InputError(
                    f"sample {rec['frame_dir']}: the {stream} model gave NaN/inf probabilities (non-finite weights, or "
                    "input values that overflow float32 inside the model)"
                )
        total = sum(w.get(s, 0.0) for s in per_stream)
        fused = sum(w.get(s, 0.0) * p for s, p in per_stream.items()) / total
        label = int(rec.get("label", -1))
        file_label = label_space.describe(label) if label >= 0 else None
        if label_space.holds(names) and label < len(names) and file_label is not None:
            preds.append(Prediction(str(rec["frame_dir"]), fused, names, per_stream, label))
        else:
            preds.append(Prediction(str(rec["frame_dir"]), fused, names, per_stream, None, file_label))
    return preds
