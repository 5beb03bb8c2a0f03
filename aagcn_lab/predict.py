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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from .data.classes import class_names_for
from .data.inputs import LabelSpace, input_label_space, read_input
from .data.joint_maps import fit_layout
from .data.pipeline import build_pipeline
from .data.validate import InputError, check_int, check_weights, layout_dim, record_dim, resolve_device
from .fusion import default_weights
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
    first = next(iter(models.values()))[0]
    persons = max(model.cfg.num_person for model, _ in models.values())  # every stream's slots filled
    records = read_input(source, sample, with_score, fmt, img_shape, layout=first.layout, max_persons=persons)
    return predict_records(models, records, weights, num_clips, device, label_space=input_label_space(source, fmt, first.layout))


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
