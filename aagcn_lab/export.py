"""Exported models: an ONNX or ``torch.export`` (``.pt2``) file plus a JSON sidecar.

::

    aagcn-lab export runs/j/best.pt --format onnx -o aagcn_j.onnx     # + aagcn_j.json
    aagcn-lab export runs/j/best.pt --format pt2  -o aagcn_j.pt2

The file maps the model input ``keypoint`` ``(N, M, T, V, C)`` float32 to ``logits`` ``(N, classes)``,
with the batch ``N`` and the frames ``T`` dynamic (``M``, ``V``, ``C`` are the checkpoint's). The
sidecar (``FILE.json``) says what a runtime needs around it: the layout (joint names and graph),
the stream (j / b / jm / bm), the class names, the clip length and number of test clips, and the
pre-processing: pyskl's test pipeline (:class:`aagcn_lab.data.pipeline.Pipeline`, PreNormalize2D/3D
-> GenSkeFeat -> UniformSample -> FormatGCNInput), then softmax per clip and the mean over clips.

``predict`` runs an exported ONNX model like a checkpoint (``-c model.onnx``; the sidecar must lie
beside it) with the same pipelines, when ``onnxruntime`` is installed (``pip install
aagcn-lab[export]``); a file onnxruntime cannot load (truncated) or a missing onnxruntime is an
:class:`OnnxError` naming the file. The other commands (``info``, ``test``, ``export``) need the
checkpoint itself and say so when given an ONNX file. The output path (and its sidecar's) is
checked before the export runs. The exporter runs the model's plain forward (the absent-person sharing and
the CPU in-place inference path are execution strategies of PyTorch, not part of the function).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from . import __version__
from .data.validate import InputError, check_output_path
from .graph import LAYOUTS, Layout, get_layout
from .model.checkpoint import refuse_onnx

__all__ = ["export_model", "sidecar_path", "read_sidecar", "OnnxError", "OnnxModel", "load_onnx_stream", "FORMATS"]

FORMATS = ("onnx", "pt2")
MIN_FRAMES = 4  # the exported graphs accept T >= 4 (a clip of pyskl's is 100)
INSTALL = "pip install 'aagcn-lab[export]'"


class OnnxError(InputError):
    """An ONNX model that cannot run here: not a complete model, or onnxruntime / the exporter missing."""


class _Logits(nn.Module):
    """The function that is exported: ``(N, M, T, V, C) -> logits``, the plain forward path."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        model.backbone.share_absent_persons = False  # data-dependent rows: an execution strategy, not exported

    def forward(self, keypoint: torch.Tensor) -> torch.Tensor:
        return self.model.forward_head(self.model.backbone(keypoint))


def sidecar_path(path: str | os.PathLike) -> Path:
    """``model.onnx`` -> ``model.json``."""
    return Path(path).with_suffix(".json")


def _sidecar(model, stream: str, clip_len: int, names: list[str], fmt: str, source: str, num_clips: int, protocol: str = "pyskl") -> dict:
    lay = model.layout
    cfg = model.cfg
    kind = "2d" if lay.name in ("coco", "openpose") else "3d" if lay.name.startswith("nturgb+d") else "as trained"
    norm = {
        "2d": "2D (x, y, score): PreNormalize2D, x -> (x - w/2)/(w/2), y -> (y - h/2)/(h/2) with the image size; score <= 0.01 zeroes x, y",
        "3d": "3D: PreNormalize3D (main person first, frames without it dropped, centred on frame 0; NTU: rotated upright)",
    }
    return {
        "format": fmt,
        "aagcn_lab_version": __version__,
        "source_checkpoint": source,
        "input": {"name": "keypoint", "shape": ["N", cfg.num_person, "T", lay.num_joints, cfg.in_channels], "dtype": "float32", "min_frames": MIN_FRAMES},
        "output": {"name": "logits", "shape": ["N", cfg.num_classes]},
        "layout": lay.name if lay.name in LAYOUTS else lay.to_dict(),
        "stream": stream,
        "classes": names,
        "clip_len": clip_len,
        "num_clips": num_clips,
        "num_person": cfg.num_person,
        "protocol": protocol,  # the data pipeline (aagcn_lab.data.pipeline.build_pipeline(..., protocol=...))
        "preprocessing": _preprocessing(lay, stream, clip_len, num_clips, cfg.num_person, protocol, kind, norm),
    }


def _preprocessing(lay: Layout, stream: str, clip_len: int, num_clips: int, num_person: int, protocol: str, kind: str, norm: dict) -> dict:
    """The sidecar's description of the test pipeline of ``protocol`` (pyskl's, or NW-UCLA's ctrgcn)."""
    post = "softmax over classes per clip, then the mean over the clips (pyskl average_clips='prob')"
    if protocol == "ctrgcn":
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
    }


def export_model(
    checkpoint: str | os.PathLike,
    out: str | os.PathLike,
    fmt: str = "onnx",
    stream: str | None = None,
    example_frames: int = 32,
    num_clips: int = 10,
) -> tuple[Path, Path]:
    """Export one checkpoint to ``out`` (ONNX or ``.pt2``) and write its sidecar; returns both paths."""
    from .data.classes import class_names_for
    from .predict import load_stream_models

    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    refuse_onnx(checkpoint, "a checkpoint to export")
    out = check_output_path(out, "--out")  # before the export: a folder or an unwritable place fails now
    if out.suffix.lower() != f".{fmt}":
        raise ValueError(f"{out}: the file name should end in .{fmt} for --format {fmt}")
    check_output_path(sidecar_path(out), "--out's sidecar")
    out.parent.mkdir(parents=True, exist_ok=True)
    [(found_stream, (model, settings))] = load_stream_models({stream: checkpoint} if stream else [checkpoint]).items()
    model = model.cpu().eval()
    fn = _Logits(model).eval()
    cfg = model.cfg
    example = torch.randn(2, cfg.num_person, max(example_frames, MIN_FRAMES), model.layout.num_joints, cfg.in_channels)
    dims = {"keypoint": {0: torch.export.Dim("batch", min=1, max=65536), 2: torch.export.Dim("frames", min=MIN_FRAMES, max=1_000_000)}}
    with torch.enable_grad():  # the plain forward, parameters frozen below
        for p in fn.parameters():
            p.requires_grad_(False)
        if fmt == "onnx":
            _quiet_onnx_export(fn, example, out, dims)
        else:
            # Dim.DYNAMIC: torch.export derives the frame constraints itself (named ranges trip on
            # the stride-2 stages' guards); the program still takes any batch and T >= MIN_FRAMES
            auto = {"keypoint": {0: torch.export.Dim.DYNAMIC, 2: torch.export.Dim.DYNAMIC}}
            program = torch.export.export(fn, (example,), dynamic_shapes=auto, strict=False)
            torch.export.save(program, out)
    names = class_names_for(cfg.num_classes, settings["meta"])
    meta = _sidecar(model, found_stream, settings["clip_len"], names, fmt, str(checkpoint), num_clips, settings.get("protocol", "pyskl"))
    side = sidecar_path(out)
    side.write_text(json.dumps(meta, indent=2))
    return out, side


def _quiet_onnx_export(fn: nn.Module, example: torch.Tensor, out: Path, dims: dict) -> None:
    import contextlib
    import io
    import logging

    try:
        import onnxscript  # noqa: F401  (torch's ONNX exporter needs it)
    except ImportError as e:
        raise OnnxError(f"ONNX export needs onnx and onnxscript: {INSTALL}") from e
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):  # the exporter prints its progress
        torch.onnx.export(fn, (example,), str(out), input_names=["keypoint"], output_names=["logits"], dynamic_shapes=dims, dynamo=True, external_data=False)


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


@dataclass
class ExportedConfig:
    """The few model settings predict reads (``cfg.num_classes``, ``cfg.num_person``, ``cfg.in_channels``)."""

    num_classes: int
    num_person: int
    in_channels: int


class OnnxModel:
    """An exported ONNX model behind the interface ``predict`` uses: ``layout``, ``cfg``, ``forward_test``."""

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
        shape = self.meta["input"]["shape"]
        self.layout: Layout = get_layout(self.meta["layout"])
        self.cfg = ExportedConfig(len(self.meta["classes"]), int(self.meta["num_person"]), int(shape[4]))

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
        """``(N, clips, M, T, V, C)`` -> probabilities averaged over clips, as :meth:`AAGCN.forward_test`."""
        if x.dim() == 5:
            x = x.unsqueeze(1)
        n, nc = x.shape[:2]
        logits = torch.from_numpy(self.logits(x.reshape((n * nc,) + tuple(x.shape[2:])).cpu().numpy()))
        return logits.softmax(-1).view(n, nc, -1).mean(1)


def load_onnx_stream(path: str | os.PathLike) -> tuple[str, OnnxModel, dict]:
    """``(stream, model, settings)`` of an exported ONNX model, for ``predict.load_stream_models``."""
    model = OnnxModel(path)
    meta = model.meta
    settings = {"clip_len": int(meta["clip_len"]), "protocol": str(meta.get("protocol", "pyskl"))}
    return meta["stream"], model, dict(settings, meta={"label_names": meta["classes"], "feat": meta["stream"]})
