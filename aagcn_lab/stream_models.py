"""A stream's model with everything prediction needs around it: :class:`StreamModel`, from a checkpoint or an ONNX file.

::

    from aagcn_lab.stream_models import load_stream_models
    models = load_stream_models({"j": "runs/j/best.pt", "b": "aagcn_b.onnx"})
    models["j"].layout, models["j"].clip_len, models["j"].class_names, models["j"].provenance

One type travels from the loaders to :func:`aagcn_lab.prediction.predict_records`, the streaming
predictor and :func:`aagcn_lab.export.export_model`: the network (an :class:`~aagcn_lab.model.AAGCN`,
or an :class:`OnnxModel` run by onnxruntime), and what the file says about it -- the stream (j, b, jm,
bm), the layout, the number of classes and person slots, the clip length and the data pipeline it
was trained with (``protocol``), the class names, and where it came from. A checkpoint says these
through its config and training state (:class:`~aagcn_lab.model.checkpoint.Provenance`); an
exported file through its JSON sidecar, whose schema is written and read here (:func:`sidecar`,
:func:`read_sidecar`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import __version__
from .data.classes import class_names_for
from .data.validate import InputError
from .graph import LAYOUTS, Layout, get_layout
from .model.aagcn import AAGCN, clip_probabilities
from .model.checkpoint import Provenance, is_onnx_file, read_checkpoint
from .model.cpu_infer import inference_dtype, prepare_inference

__all__ = [
    "StreamModel",
    "load_stream_model",
    "load_stream_models",
    "from_model",
    "OnnxModel",
    "OnnxError",
    "sidecar",
    "sidecar_path",
    "read_sidecar",
    "DEFAULT_CLIP_LEN",
    "INSTALL",
]

DEFAULT_CLIP_LEN = 100  # pyskl's clip length, for a checkpoint that does not say its own
INSTALL = "pip install 'aagcn-lab[export]'"
MIN_FRAMES = 4  # the exported graphs accept T >= 4 (a clip of pyskl's is 100)


class OnnxError(InputError):
    """An ONNX model that cannot run here: not a complete model, or onnxruntime / the exporter missing."""


@dataclass(frozen=True)
class StreamModel:
    """One stream's network and what it needs around it (see the module docstring).

    ``net.forward_test((N, clips, M, T, V, C))`` gives probabilities averaged over clips;
    :meth:`prepared` gives what runs it (batch norm folded on the CPU, once).
    """

    stream: str
    net: Any  # AAGCN | OnnxModel
    layout: Layout
    num_classes: int
    num_person: int
    in_channels: int
    clip_len: int
    class_names: tuple[str, ...]
    protocol: str = "pyskl"  # the data pipeline (aagcn_lab.data.pipeline.build_pipeline(..., protocol=...))
    source: str = ""  # the file it was loaded from
    file_format: str = "checkpoint"  # 'checkpoint' or 'onnx'
    provenance: Provenance = field(default_factory=Provenance)  # what a checkpoint says it was trained on
    meta: Mapping = field(default_factory=dict)  # the file's metadata (a checkpoint's meta, a sidecar)

    def prepared(self, device: str = "cpu", dtype: torch.dtype | str | None = None) -> Any:
        """What runs this stream: an AAGCN prepared for inference (a snapshot of its weights; ``dtype``: ``None`` /
        ``"fp32"``, or ``"bf16"`` for bfloat16 convolutions, see :func:`~aagcn_lab.model.cpu_infer.prepare_inference`),
        an exported model as it is (float32 only: ``"bf16"`` is refused, naming the file)."""
        want = inference_dtype(dtype)  # an unknown name is refused before anything runs
        if not isinstance(self.net, AAGCN):
            if want not in (None, torch.float32):
                raise InputError(
                    f"stream {self.stream!r} ({self.source}) is an exported {self.file_format} model: it runs in float32 "
                    f"(onnxruntime), not {dtype}; use the .pt checkpoint it came from for bf16, or fp32"
                )
            return self.net.to(device).eval()
        return prepare_inference(self.net.to(device).eval(), want)


def from_model(model: AAGCN, stream: str = "j", clip_len: int = DEFAULT_CLIP_LEN, protocol: str = "pyskl", meta: Mapping | None = None) -> StreamModel:
    """The :class:`StreamModel` of an AAGCN in memory (not loaded from a file): its config's layout, classes and
    persons, class names from ``meta['label_names']`` or the dataset with that many classes."""
    cfg, meta = model.cfg, dict(meta or {})
    return StreamModel(
        stream, model, model.layout, cfg.num_classes, cfg.num_person, cfg.in_channels, clip_len,
        tuple(class_names_for(cfg.num_classes, meta)), protocol, "<in memory>", "checkpoint", Provenance(feat=stream, clip_len=clip_len),
        meta,
    )  # fmt: skip


def load_stream_model(path: str | os.PathLike, stream: str | None = None, alone: bool = True) -> StreamModel:
    """The :class:`StreamModel` of one checkpoint or exported ONNX file (with its sidecar); ``stream`` when the
    caller names it, else the file's (a lone checkpoint that does not say is the joint stream ``j``)."""
    if str(path).lower().endswith(".onnx") or is_onnx_file(path):  # an exported model (aagcn-lab export) with its sidecar
        return _load_onnx(path, stream)
    info = read_checkpoint(path)  # the file once: weights and what it was trained on
    model, trained_on = info.build_model(), info.provenance
    stream = stream or trained_on.feat
    if stream is None:
        if not alone:
            raise ValueError(f"{path}: the checkpoint does not say its stream; pass {{'j': path, 'b': ...}} (CLI: j={path})")
        stream = "j"
    cfg = model.cfg
    return StreamModel(
        stream, model, model.layout, cfg.num_classes, cfg.num_person, cfg.in_channels, trained_on.clip_len or DEFAULT_CLIP_LEN,
        tuple(class_names_for(cfg.num_classes, info.meta)), trained_on.protocol, str(path), "checkpoint", trained_on,
        dict(info.meta, source=info.source),
    )  # fmt: skip


def load_stream_models(checkpoints) -> dict[str, StreamModel]:
    """``{stream: StreamModel}`` from a path, a list of paths or ``{stream: path}`` (each stream once); stream
    models loaded already (``{stream: StreamModel}``, or a list of them) are taken as they are."""
    if isinstance(checkpoints, (str, os.PathLike, StreamModel)):
        checkpoints = [checkpoints]
    items = list(checkpoints.items()) if isinstance(checkpoints, Mapping) else [(None, c) for c in checkpoints]
    out: dict[str, StreamModel] = {}
    for stream, path in items:
        if isinstance(path, StreamModel):
            model = path if stream in (None, path.stream) else replace(path, stream=stream)
        else:
            model = load_stream_model(path, stream, alone=len(items) == 1)
        if model.stream in out:
            raise InputError(
                f"two checkpoints for stream {model.stream!r} ({out[model.stream].source} and {model.source}); name each stream once (j=..., b=...)"
            )
        out[model.stream] = model
    return out


# ------------------------------------------------------------------------------------------------
# Exported models: the sidecar's schema and the ONNX runtime
# ------------------------------------------------------------------------------------------------


def sidecar_path(path: str | os.PathLike) -> Path:
    """``model.onnx`` -> ``model.json``."""
    return Path(path).with_suffix(".json")


def sidecar(model: StreamModel, fmt: str, num_clips: int) -> dict:
    """What a runtime needs around an exported file of ``model`` (written beside it as JSON; see :func:`read_sidecar`)."""
    lay = model.layout
    return {
        "format": fmt,
        "aagcn_lab_version": __version__,
        "source_checkpoint": model.source,
        "input": {"name": "keypoint", "shape": ["N", model.num_person, "T", lay.num_joints, model.in_channels], "dtype": "float32", "min_frames": MIN_FRAMES},
        "output": {"name": "logits", "shape": ["N", model.num_classes]},
        "layout": lay.name if lay.name in LAYOUTS else lay.to_dict(),
        "stream": model.stream,
        "classes": list(model.class_names),
        "clip_len": model.clip_len,
        "num_clips": num_clips,
        "num_person": model.num_person,
        "protocol": model.protocol,  # the data pipeline (aagcn_lab.data.pipeline.build_pipeline(..., protocol=...))
        "preprocessing": _preprocessing(model, num_clips),
    }  # fmt: skip


def _preprocessing(model: StreamModel, num_clips: int) -> dict:
    """The sidecar's description of the test pipeline of the model's protocol (pyskl's, or NW-UCLA's ctrgcn)."""
    lay, stream, clip_len, num_person = model.layout, model.stream, model.clip_len, model.num_person
    post = "softmax over classes per clip, then the mean over the clips (pyskl average_clips='prob')"
    if model.protocol == "ctrgcn":
        return {
            "pipeline": f"aagcn_lab.data.pipeline.CTRGCNPipeline(feat={stream!r}, split='test', layout={lay.name!r}, clip_len={clip_len}, num_person={num_person})",
            "input_kind": "3d",
            "steps": [
                "3D: subtract the spine joint of frame 0; min-max each axis over the clip to [-1, 1]",
                f"frames: linspace(0, T - 1, {clip_len}) truncated to integers; one clip",
                f"feature {stream!r} after sampling (b: joint - parent by the layout's bone pairs; jm/bm: next sampled frame minus this one)",
                f"persons zero-padded or cut to {num_person}",
            ],
            "postprocessing": post,
        }
    kind = {2: "2d", 3: "3d"}.get(lay.dim, "as trained")
    norm = {
        "2d": "2D (x, y, score): PreNormalize2D, x -> (x - w/2)/(w/2), y -> (y - h/2)/(h/2) with the image size; score <= 0.01 zeroes x, y",
        "3d": "3D: PreNormalize3D (main person first, frames without it dropped, centred on frame 0; NTU: rotated upright)",
    }
    return {
        "pipeline": f"aagcn_lab.data.pipeline.Pipeline(feat={stream!r}, split='test', layout={lay.name!r}, clip_len={clip_len}, num_clips={num_clips}, num_person={num_person})",
        "input_kind": kind,
        "steps": [
            norm.get(kind, f"{norm['2d']} -- or, for 3D training data, {norm['3d']}"),
            f"GenSkeFeat feats=[{stream!r}] (b: joint - parent by the layout's bone pairs; jm/bm: next frame minus this one)",
            f"UniformSample clip_len={clip_len} num_clips={num_clips} (test: seed 255)",
            f"FormatGCNInput num_person={num_person} (zero-padded)",
        ],
        "postprocessing": post,
    }  # fmt: skip


def read_sidecar(path: str | os.PathLike) -> dict:
    """The sidecar JSON of an exported model (``model.onnx`` -> ``model.json``)."""
    side = sidecar_path(path)
    if not side.is_file():
        raise FileNotFoundError(f"{path}: no sidecar {side.name} beside it (aagcn-lab export writes one); it says the layout, stream and classes")
    try:
        meta = json.loads(side.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"{side}: not a readable sidecar: {e}") from e
    for key in ("layout", "stream", "classes", "clip_len", "num_person", "input"):
        if key not in meta:
            raise ValueError(f"{side}: the sidecar has no {key!r}")
    return meta


class OnnxModel:
    """An exported ONNX model run by onnxruntime: :meth:`logits`, and :meth:`forward_test` as :meth:`AAGCN.forward_test`."""

    def __init__(self, path: str | os.PathLike, threads: int | None = None) -> None:
        try:
            import onnxruntime as ort
        except ImportError as e:
            raise OnnxError(f"{path}: running an ONNX model needs onnxruntime: {INSTALL}") from e
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"{path}: no such file")
        self.meta = read_sidecar(path)
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        try:
            self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime's own error types (InvalidProtobuf, Fail, ...): one line naming the file
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise OnnxError(f"{path}: not a complete ONNX model (truncated or corrupt?): {first}") from e
        self.layout: Layout = get_layout(self.meta["layout"])

    def to(self, device) -> OnnxModel:
        """Runs on the CPU whatever ``device`` says (onnxruntime's CPU provider)."""
        return self

    def eval(self) -> OnnxModel:
        """No train mode: returns self."""
        return self

    def logits(self, x: np.ndarray | torch.Tensor) -> np.ndarray:
        """``(N, M, T, V, C)`` -> logits ``(N, classes)``."""
        x = np.ascontiguousarray(np.asarray(x, dtype=np.float32))
        return self.session.run(["logits"], {"keypoint": x})[0]

    def forward_test(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, clips, M, T, V, C)`` -> probabilities averaged over clips (:func:`~aagcn_lab.model.aagcn.clip_probabilities`)."""
        return clip_probabilities(lambda clips: torch.from_numpy(self.logits(clips.cpu().numpy())), x)


def _load_onnx(path: str | os.PathLike, stream: str | None) -> StreamModel:
    net = OnnxModel(path)
    meta = net.meta
    return StreamModel(
        stream or meta["stream"], net, net.layout, len(meta["classes"]), int(meta["num_person"]), int(meta["input"]["shape"][4]),
        int(meta["clip_len"]), tuple(meta["classes"]), str(meta.get("protocol", "pyskl")), str(path), "onnx",
        Provenance(feat=meta["stream"], clip_len=int(meta["clip_len"]), protocol=str(meta.get("protocol", "pyskl"))), meta,
    )  # fmt: skip
