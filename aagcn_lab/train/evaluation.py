"""Evaluation: a model's test-time probabilities over a dataset (sharded over processes), and
pyskl's 10-clip test of a checkpoint file.

The protocol: each sample's ``num_clips`` clips go through the model, the per-clip softmax is
averaged (``AAGCN.forward_test``; pyskl's ``average_clips='prob'``), and the scores are keyed by
sample id (:class:`~aagcn_lab.scores.Scores`), so fusion never depends on the order of samples.
"""

from __future__ import annotations

import math
import os
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Subset

from ..data import SkeletonDataset
from ..data.inputs import resolve_annotations
from ..data.validate import check_int, check_output_path, resolve_device
from ..metrics import evaluate_scores
from ..model import AAGCN
from ..model.checkpoint import read_checkpoint
from ..model.cpu_infer import inference_dtype, prepare_inference
from ..scores import Scores, save_scores
from .distributed import DistInfo, gather_rows

__all__ = ["autocast", "evaluate", "test_checkpoint"]


def autocast(amp: str, device: torch.device) -> AbstractContextManager:
    """The mixed-precision context of ``TrainConfig.amp``: none, bf16 or fp16 autocast."""
    if amp == "none":
        return nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16 if amp == "bf16" else torch.float16)


@torch.no_grad()
def evaluate(
    model: AAGCN, dataset: SkeletonDataset, batch_size: int = 16, device: torch.device | str = "cpu",
    info: DistInfo | None = None, num_workers: int = 0, amp: str = "none", progress: bool = False,
    dtype: torch.dtype | str | None = None,
) -> Scores | None:
    """Test-time probabilities of every sample (softmax per clip, mean over clips).

    On the CPU the model runs through :func:`~aagcn_lab.model.cpu_infer.prepare_inference`, in
    ``dtype`` (``"bf16"``: bfloat16 convolutions; ``amp="bf16"`` means the same there); elsewhere the
    model itself, under ``amp``'s autocast (bf16 autocast for ``dtype="bf16"``). Under torch.distributed each rank scores a contiguous shard and rank 0 gathers them; rank 0
    returns the :class:`Scores` in dataset order, other ranks return ``None``.
    """  # fmt: skip
    info = info or DistInfo(device=torch.device(device))
    n = len(dataset)
    per = math.ceil(n / info.world_size)
    shard = list(range(info.rank * per, min(n, (info.rank + 1) * per)))
    loader = DataLoader(Subset(dataset, shard), batch_size=batch_size, num_workers=num_workers, pin_memory=info.device.type == "cuda")
    if info.device.type == "cpu" and amp == "bf16" and dtype is None:
        dtype, amp = "bf16", "none"  # CPU autocast would run the plain model: the prepared path in bf16 instead
    net = prepare_inference(model, dtype)  # eval mode; on the CPU BN folded and weights stacked once per evaluation
    probs, idx = [], []
    it = loader
    if progress and info.is_main:
        from tqdm.auto import tqdm

        it = tqdm(loader, desc=f"eval {dataset.split}", leave=False)
    for x, _, i in it:
        with autocast(amp, info.device):
            p = net.forward_test(x.to(info.device, non_blocking=True))
        probs.append(p.float().cpu())
        idx.append(i)
    probs = torch.cat(probs) if probs else torch.zeros((0, model.cfg.num_classes))
    idx = torch.cat(idx).to(torch.int64) if idx else torch.zeros(0, dtype=torch.int64)
    if info.enabled:  # one float64 gather: float32 probabilities and sample indices both travel exactly
        rows = gather_rows(torch.cat([probs.double(), idx[:, None].double()], 1), info)
        probs, idx = rows[:, :-1].float(), rows[:, -1].to(torch.int64)
    if not info.is_main:
        return None
    p, order = probs.numpy(), idx.numpy()
    assert np.array_equal(order, np.arange(n)), "evaluation shards lost samples"
    return Scores(dataset.frame_dirs, p, dataset.labels, {"feat": dataset.feat, "split": dataset.split, "clips": dataset.pipeline.num_clips})


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
    dtype: torch.dtype | str | None = None,
) -> tuple[Scores, dict]:
    """Score every sample of ``split`` with ``checkpoint``; returns the scores and top-1/top-5/mean class acc.

    For our training checkpoints the annotation file, split, feature and clip length default to
    the run's, and the pipeline is always the run's (``protocol``; the person slots are the model's) (:attr:`~aagcn_lab.model.checkpoint.CheckpointInfo.provenance`); a pyskl checkpoint
    needs ``ann_file``, ``split`` and ``feat``.
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
    ds = SkeletonDataset(
        ann, split, feat=feat, mode="test", clip_len=clip_len, num_clips=num_clips, layout=model.cfg.layout,
        num_person=model.cfg.num_person, protocol=trained_on.protocol,
    )  # fmt: skip
    if ds.num_classes > model.cfg.num_classes:
        raise ValueError(f"{ann.source} has {ds.num_classes} classes but the checkpoint predicts {model.cfg.num_classes}")
    scores = evaluate(model.to(dev), ds, batch_size, dev, num_workers=num_workers, dtype=dtype)
    scores.meta.update({"dtype": str(inference_dtype(dtype) or torch.float32).removeprefix("torch."), "checkpoint": str(checkpoint), "ann_file": str(ann_file), "label_names": ann.label_names or []})
    metrics = evaluate_scores(scores.probs, scores.labels, model.cfg.num_classes)
    if out is not None:
        save_scores(Path(out), scores)
    return scores, metrics
