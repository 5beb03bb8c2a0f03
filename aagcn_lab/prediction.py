"""Predict actions of new skeletons with one or more checkpoints (one per stream), fused.

::

    from aagcn_lab import predict        # the function; this module is aagcn_lab.prediction
    preds = predict({"j": "runs/j/best.pt", "b": "runs/b/best.pt"}, "S001C001P001R001A001.skeleton")
    print(preds[0])                      # top-5 classes by name with fused probabilities

Inputs: anything the table of inputs reads (:mod:`aagcn_lab.data.inputs`: an annotation file, every
record or ``sample=`` one of them, a raw NTU ``.skeleton`` file, Kinetics-skeleton JSON, NW-UCLA
clips, pose-estimator outputs, a ``.npy`` array), or an in-memory array / record, read with the
model's layout and person slots. Arrays are
``(M, T, V, C)`` or ``(T, V, C)``: C = 3 is 3D (x, y, z), C = 2 is 2D pixels without scores
(all scores 1), and ``(x, y, score)`` needs ``with_score=True``. Each checkpoint's stream (j, b,
jm, bm) is read from the checkpoint (ours) or given as ``{stream: path}``; each stream is a
:class:`~aagcn_lab.stream_models.StreamModel` with its own test pipeline (pyskl's 10 clips), and the
probabilities are fused with pyskl's weights by :func:`aagcn_lab.fusion.fuse`.

This module was ``aagcn_lab.predict`` until that name became only the function (``aagcn_lab.predict``
is :func:`predict`); import its other names from here (``from aagcn_lab.prediction import
predict_records``), the stream models from :mod:`aagcn_lab.stream_models` and ``read_input`` from
:mod:`aagcn_lab.data.inputs`.

A sample's true label is shown by the model's class name only when the input's labels are the
model's classes (:class:`LabelSpace`: an NTU ``.skeleton`` file's action with an NTU model, ...);
otherwise it is the file's own label in its own dataset, e.g. ``file label: A011 (NTU: reading)``
for an NTU file and a model of the built-in data, or a class index of an annotation file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from .data.inputs import LabelSpace, input_label_space, read_input
from .data.joint_maps import fit_layout
from .data.pipeline import build_pipeline
from .data.validate import InputError, check_int, record_dim, resolve_device
from .fusion import fuse, stream_weights
from .scores import Scores
from .stream_models import StreamModel, load_stream_models

__all__ = [
    "Prediction",
    "predict",
    "predict_records",
    "prepare_streams",
    "fit_record",
    "LabelSpace",
    "StreamModel",
    "load_stream_models",
]


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
# Prediction
# ------------------------------------------------------------------------------------------------


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
    dtype: torch.dtype | str | None = None,
) -> list[Prediction]:
    """Fused top-k predictions for every sample of ``source`` (see the module docstring); ``checkpoints``: what
    :func:`~aagcn_lab.stream_models.load_stream_models` takes (paths, ``{stream: path}``, stream models);
    ``dtype``: ``None`` / ``"fp32"`` (the default) or ``"bf16"`` (:meth:`StreamModel.prepared`)."""
    num_clips = check_int("num_clips (--clips)", num_clips)
    device = resolve_device(device)
    models = load_stream_models(checkpoints)
    layout = next(iter(models.values())).layout  # names an array's joints; reads the input once for every stream
    persons = max(m.num_person for m in models.values())  # the person slots of the model, filled as it was trained
    records = read_input(source, sample, with_score, fmt, img_shape, layout=layout, max_persons=persons)
    return predict_records(models, records, weights, num_clips, device, label_space=input_label_space(source, fmt, layout), dtype=dtype)


def prepare_streams(models: Mapping[str, StreamModel], device: str = "cpu", dtype: torch.dtype | str | None = None) -> dict:
    """What runs each stream (:meth:`StreamModel.prepared`: on the CPU batch norm folded and weights stacked
    once, a snapshot of the weights, convolutions in ``dtype``; an exported model as it is)."""
    return {stream: model.prepared(device, dtype) for stream, model in models.items()}


def fit_record(rec: dict, model: StreamModel) -> dict:
    """``rec`` as ``model`` reads it: in its layout (a joint map, or an error naming both layouts), with its
    joint count and dimension, else an :class:`InputError` naming the sample, the stream and what differs."""
    lay, stream = model.layout, model.stream
    rec = fit_layout(rec, lay, f"the {stream} model")
    v = rec["keypoint"].shape[2]
    if v != lay.num_joints:
        raise InputError(f"sample {rec['frame_dir']}: {v} joints, but the {stream} model is for layout {lay.name!r} ({lay.num_joints} joints)")
    want = lay.dim
    if want is not None and record_dim(rec) != want:
        hint = " (if channel 2 of the array is a detection score, pass with_score=True / --with-score)" if want == 2 else ""
        raise InputError(
            f"sample {rec['frame_dir']}: {record_dim(rec)}D data (C = {rec['keypoint'].shape[-1]}), but the "
            f"{stream} model is a {want}D model (layout {lay.name!r}){hint}"
        )
    return rec


@torch.no_grad()
def predict_records(
    models: Mapping[str, StreamModel],
    records: Sequence[dict],
    weights: Mapping[str, float] | None = None,
    num_clips: int = 10,
    device: str = "cpu",
    nets: Mapping | None = None,
    label_space: LabelSpace | None = None,
    dtype: torch.dtype | str | None = None,
) -> list[Prediction]:
    """Fused predictions of ``records`` by ``{stream: StreamModel}`` (:func:`load_stream_models`): the one
    prediction loop (:func:`predict` and :class:`aagcn_lab.streaming.StreamingPredictor` use it), fused by
    :func:`aagcn_lab.fusion.fuse`; ``nets`` from :func:`prepare_streams` when the caller keeps them (else
    prepared here, once per call, in ``dtype``); ``label_space``: what the records' labels index (default: not known, so
    never read as the model's classes)."""
    label_space = label_space or LabelSpace("the input record")
    first = next(iter(models.values()))
    for stream, model in models.items():
        if model.num_classes != first.num_classes:
            raise ValueError(f"stream {stream!r} predicts {model.num_classes} classes, another {first.num_classes}")
    names = list(first.class_names)
    w = stream_weights(weights, list(models), "a checkpoint")  # before any model runs
    nets = nets if nets is not None else prepare_streams(models, device, dtype)
    preds = []
    for rec in records:
        per_stream = {}
        for stream, model in models.items():
            rec_s = fit_record(rec, model)
            pipe = build_pipeline(
                stream, "test", model.layout, model.clip_len, num_clips, model.num_person, protocol=model.protocol,
            )  # the pipeline the model was trained with (its checkpoint says which)
            x = torch.from_numpy(pipe(rec_s)["keypoint"])[None].to(device)
            per_stream[stream] = nets[stream].forward_test(x)[0].double().cpu().numpy()
        for stream, probs in per_stream.items():  # never report a NaN probability
            if not np.isfinite(probs).all():
                raise InputError(
                    f"sample {rec['frame_dir']}: the {stream} model gave NaN/inf probabilities (non-finite weights, or "
                    "input values that overflow float32 inside the model)"
                )
        rid = str(rec["frame_dir"])
        fused = fuse({s: Scores([rid], p[None]) for s, p in per_stream.items()}, w, normalise=True).probs[0]
        label = int(rec.get("label", -1))
        file_label = label_space.describe(label) if label >= 0 else None
        if label_space.holds(names) and label < len(names) and file_label is not None:
            preds.append(Prediction(rid, fused, names, per_stream, label))
        else:
            preds.append(Prediction(rid, fused, names, per_stream, None, file_label))
    return preds
