"""Test a checkpoint: pyskl's 10-clip protocol on an annotation split, scores and metrics out."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from ..data import SkeletonDataset
from ..data.annotations import resolve_annotations
from ..data.validate import check_int, check_output_path, resolve_device
from ..metrics import evaluate_scores
from ..model.checkpoint import read_checkpoint
from ..scores import Scores, save_scores
from .trainer import evaluate

__all__ = ["test_checkpoint"]


def test_checkpoint(
    checkpoint: str | os.PathLike,
    ann_file: str | None = None,
    split: str | None = None,
    feat: str | None = None,
    clip_len: int | None = None,
    num_clips: int = 10,
    batch_size: int = 16,
    out: str | os.PathLike | None = None,
    device: str = "auto",
    num_workers: int = 2,
) -> tuple[Scores, dict]:
    """Score every sample of ``split`` with ``checkpoint``; returns the scores and top-1/top-5/mean class acc.

    For our training checkpoints the annotation file, split, feature and clip length default to
    the run's; a pyskl checkpoint needs ``ann_file``, ``split`` and ``feat``.
    """
    num_clips, batch_size = check_int("num_clips", num_clips), check_int("batch_size", batch_size)
    device = resolve_device(device)
    if out is not None:
        check_output_path(out)  # before the evaluation, so that a bad path costs nothing
    info = read_checkpoint(checkpoint)  # the file once: weights and what it was trained on
    model, trained_on = info.build_model(), info.provenance
    ann_file = ann_file or trained_on.ann_file
    split = split or trained_on.eval_split
    feat = feat or trained_on.feat
    clip_len = clip_len or trained_on.clip_len or 100
    missing = [n for n, v in (("ann_file", ann_file), ("split", split), ("feat", feat)) if not v]
    if missing:
        raise ValueError(f"{checkpoint}: the checkpoint does not say its {', '.join(missing)}; pass them (e.g. --ann-file, --split, --feat)")
    dev = torch.device(device)
    ann = resolve_annotations(ann_file, model.cfg.layout if isinstance(model.cfg.layout, str) else "")
    ds = SkeletonDataset(ann, split, feat=feat, mode="test", clip_len=clip_len, num_clips=num_clips, layout=model.cfg.layout)
    if ds.num_classes > model.cfg.num_classes:
        raise ValueError(f"{ann.source} has {ds.num_classes} classes but the checkpoint predicts {model.cfg.num_classes}")
    scores = evaluate(model.to(dev), ds, batch_size, dev, num_workers=num_workers)
    scores.meta.update({"checkpoint": str(checkpoint), "ann_file": str(ann_file), "label_names": ann.label_names or []})
    metrics = evaluate_scores(scores.probs, scores.labels, model.cfg.num_classes)
    if out is not None:
        save_scores(Path(out), scores)
    return scores, metrics
