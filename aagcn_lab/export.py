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
beside it; both are loaded as a :class:`~aagcn_lab.stream_models.StreamModel`, where the sidecar's
schema and :class:`~aagcn_lab.stream_models.OnnxModel` live) with the same pipelines, when ``onnxruntime`` is installed (``pip install
aagcn-lab[export]``); a file onnxruntime cannot load (truncated) or a missing onnxruntime is an
:class:`OnnxError` naming the file. The other commands (``info``, ``test``, ``export``) need the
checkpoint itself and say so when given an ONNX file. The output path (and its sidecar's) is
checked before the export runs. The exporter runs the model's plain forward (the absent-person sharing and
the CPU in-place inference path are execution strategies of PyTorch, not part of the function).
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import torch
from torch import nn

from .data.validate import check_output_path
from .model.checkpoint import refuse_onnx
from .stream_models import (
    INSTALL,
    MIN_FRAMES,
    OnnxError,
    OnnxModel,
    load_stream_model,
    read_sidecar,
    sidecar,
    sidecar_path,
)

__all__ = ["export_model", "sidecar_path", "read_sidecar", "OnnxError", "OnnxModel", "FORMATS"]

FORMATS = ("onnx", "pt2")


class _Logits(nn.Module):
    """The function that is exported: ``(N, M, T, V, C) -> logits``, the plain forward path of a copy of ``model``."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = copy.deepcopy(model)  # the caller's model keeps its execution strategies
        self.model.backbone.share_absent_persons = False  # data-dependent rows: an execution strategy, not exported

    def forward(self, keypoint: torch.Tensor) -> torch.Tensor:
        return self.model.forward_head(self.model.backbone(keypoint))


def export_model(
    checkpoint: str | os.PathLike,
    out: str | os.PathLike,
    fmt: str = "onnx",
    stream: str | None = None,
    example_frames: int = 32,
    num_clips: int = 10,
) -> tuple[Path, Path]:
    """Export one checkpoint to ``out`` (ONNX or ``.pt2``) and write its sidecar; returns both paths."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    refuse_onnx(checkpoint, "a checkpoint to export")
    out = check_output_path(out, "--out")  # before the export: a folder or an unwritable place fails now
    if out.suffix.lower() != f".{fmt}":
        raise ValueError(f"{out}: the file name should end in .{fmt} for --format {fmt}")
    check_output_path(sidecar_path(out), "--out's sidecar")
    out.parent.mkdir(parents=True, exist_ok=True)
    model = load_stream_model(checkpoint, stream)
    fn = _Logits(model.net.cpu().eval()).eval()
    example = torch.randn(2, model.num_person, max(example_frames, MIN_FRAMES), model.layout.num_joints, model.in_channels)
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
    side = sidecar_path(out)
    side.write_text(json.dumps(sidecar(model, fmt, num_clips), indent=2))
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
