"""Which joints did the decision rest on? Gradient-based importance for the predicted class.

Four methods, per sample, person, frame and joint:

* :func:`gradient_x_input` -- the gradient of the class logit with respect to the input, times the
  input, summed over the coordinate channels (``(N, M, T, V)``, signed). For a model linear in its
  input the values add up to the logit minus the bias (completeness). The input is a position
  measured from an origin (the body centre of the first frame after normalisation), so a joint far
  from it -- a foot -- gets a large product for a modest gradient: the map follows coordinate size;
* :func:`gradient_magnitude` -- the length of that gradient per joint (``(N, M, T, V)``,
  non-negative): how sensitive the score is to moving each joint, whatever its position. The
  gradient of a translation-invariant model does not change when the body is moved;
* :func:`integrated_gradients` -- the gradient averaged along the straight path from a baseline
  pose to the input, times the input's difference from that baseline (signed). The values add up
  to the logit's change from the baseline to the input; a joint that sits at its baseline
  position gets nothing, however far from the origin it is. The default baseline is the mean pose
  of the batch (:func:`mean_pose`), placed in every present frame;
* :func:`grad_cam` -- Grad-CAM over the last block's features ``(N, M, C, T', V)``: each channel
  weighted by the mean gradient of the class logit over (T', V), summed, then ReLU
  (``(N, M, T', V)``, non-negative, on the last block's coarser time axis; its joints have
  already exchanged information through six graph convolutions).

Attention (``y * (1 + a)``) is a gain the model applies on the way; these say how much each
joint's input moves the score of the class it chose, which is closer to "what the decision rests
on" -- and still a local answer, not a proof.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from .model.modes import eval_mode

__all__ = [
    "Attribution",
    "METHODS",
    "gradient_x_input",
    "gradient_magnitude",
    "integrated_gradients",
    "mean_pose",
    "grad_cam",
    "by_class",
    "class_importance",
]


@dataclass
class Attribution:
    """Importance ``values`` ``(N, M, T, V)`` of every person, frame and joint for class ``target``."""

    values: np.ndarray
    target: np.ndarray  # (N,) the class each sample's values explain
    method: str

    def joints(self, person: int | None = None) -> np.ndarray:
        """``(N, M, V)``: each joint's share of the sample's total absolute importance (sums to 1 over M
        and V); with ``person``, ``(N, V)``: shares within that person's importance."""
        mass = np.abs(self.values).sum(2)
        if person is not None:
            mass = mass[:, person]
        total = mass.sum(tuple(range(1, mass.ndim)), keepdims=True)
        return np.divide(mass, total, out=np.zeros_like(mass), where=total > 0)

    def frames(self) -> np.ndarray:
        """``(N, M, T)``: each frame's share of the sample's total absolute importance."""
        mass = np.abs(self.values).sum(3)
        total = mass.sum((1, 2), keepdims=True)
        return np.divide(mass, total, out=np.zeros_like(mass), where=total > 0)


def _prepare(model: torch.nn.Module, x, target) -> tuple[torch.Tensor, torch.Tensor | None]:
    x = torch.as_tensor(x)
    if x.dim() != 5:
        raise ValueError(f"attribution needs a batch (N, M, T, V, C), got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise ValueError(f"attribution needs float coordinates, got {x.dtype}")
    if not torch.isfinite(x).all():
        bad = sorted({int(i) for i in torch.nonzero(~torch.isfinite(x))[:, 0]})[:5]
        raise ValueError(f"input has NaN or infinite values (samples {bad})")
    if target is None:
        return x, None
    t = torch.as_tensor(np.asarray(target)).long().reshape(-1)
    if len(t) != len(x):
        raise ValueError(f"need one target class per sample: {len(x)} samples, {len(t)} targets")
    return x, t


def _choose(logits: torch.Tensor, target: torch.Tensor | None) -> torch.Tensor:
    if target is None:
        return logits.argmax(1)
    k = logits.shape[1]
    bad = sorted({t for t in target.tolist() if not 0 <= t < k})
    if bad:
        raise ValueError(f"target classes must lie in [0, {k}), got {bad[:5]}")
    return target


def _input_gradient(model: torch.nn.Module, x: torch.Tensor, target: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(gradient of the chosen logit w.r.t. x, chosen classes)``, in eval mode (samples are independent there)."""
    with eval_mode(model), torch.enable_grad():
        xin = x.detach().clone().requires_grad_(True)
        logits = model(xin)
        chosen = _choose(logits, target)
        (grad,) = torch.autograd.grad(logits.gather(1, chosen[:, None]).sum(), xin)
    return grad.detach(), chosen


def gradient_x_input(model: torch.nn.Module, x, target: Sequence[int] | None = None) -> Attribution:
    """Gradient x input of the ``target`` class logit (default: the predicted class), summed over channels."""
    x, target = _prepare(model, x, target)
    grad, chosen = _input_gradient(model, x, target)
    return Attribution((grad * x).sum(-1).double().numpy(), chosen.numpy(), "gradient x input")


def gradient_magnitude(model: torch.nn.Module, x, target: Sequence[int] | None = None) -> Attribution:
    """Length over the coordinates of the gradient of the ``target`` class logit (default: the predicted class)."""
    x, target = _prepare(model, x, target)
    grad, chosen = _input_gradient(model, x, target)
    return Attribution(torch.linalg.vector_norm(grad.double(), dim=-1).numpy(), chosen.numpy(), "|gradient|")


def _present(x: torch.Tensor) -> torch.Tensor:
    """``(N, M, T)``: frames in which a person has any non-zero coordinate (absent persons are zeros)."""
    return (x != 0).any(-1).any(-1)


def mean_pose(x) -> np.ndarray:
    """``(V, C)``: every joint's mean position over the samples, persons and frames of a batch
    ``(N, M, T, V, C)``, counting only frames where the person is present (not all zeros)."""
    x = torch.as_tensor(x)
    if x.dim() != 5:
        raise ValueError(f"mean_pose needs a batch (N, M, T, V, C), got shape {tuple(x.shape)}")
    present = _present(x)
    if not present.any():
        raise ValueError("mean_pose: every frame of the batch is empty (all zeros)")
    return x[present].double().mean(0).numpy()


def _baseline(x: torch.Tensor, baseline) -> torch.Tensor:
    """The baseline as a tensor like ``x``: a pose ``(V, C)`` in every present frame (zeros where the
    person is absent), or an array of ``x``'s own shape."""
    b = torch.as_tensor(mean_pose(x) if isinstance(baseline, str) and baseline == "mean pose" else baseline, dtype=x.dtype)
    if b.shape == x.shape[-2:]:
        return torch.where(_present(x)[..., None, None], b, torch.zeros((), dtype=x.dtype))
    if b.shape != x.shape:
        raise ValueError(f"baseline must be 'mean pose', a pose {tuple(x.shape[-2:])} or the input's shape {tuple(x.shape)}, "
                         f"got shape {tuple(b.shape)}")
    if not torch.isfinite(b).all():
        raise ValueError("baseline has NaN or infinite values")
    return b


def integrated_gradients(model: torch.nn.Module, x, target: Sequence[int] | None = None, baseline="mean pose",
                         steps: int = 16) -> Attribution:
    """Integrated gradients of the ``target`` class logit (default: the class predicted for ``x``) from
    ``baseline`` ("mean pose": :func:`mean_pose` of ``x`` in every present frame; or a ``(V, C)`` pose;
    or an array shaped like ``x``), with ``steps`` midpoints along the path, summed over channels."""
    x, target = _prepare(model, x, target)
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive whole number, got {steps!r}")
    base = _baseline(x, baseline)
    if target is None:
        with eval_mode(model), torch.no_grad():
            target = model(x).argmax(1)
    total = torch.zeros_like(x)
    for k in range(steps):
        grad, chosen = _input_gradient(model, base + (k + 0.5) / steps * (x - base), target)
        total += grad
    values = (total / steps * (x - base)).sum(-1)
    return Attribution(values.double().numpy(), chosen.numpy(), f"integrated gradients ({steps} steps)")


def grad_cam(model: torch.nn.Module, x, target: Sequence[int] | None = None) -> Attribution:
    """Grad-CAM over the last block (``model.forward_features`` / ``forward_head``): ``(N, M, T', V)``."""
    x, target = _prepare(model, x, target)
    if not (hasattr(model, "forward_features") and hasattr(model, "forward_head")):
        raise TypeError(f"grad_cam needs a model with forward_features and forward_head (an AAGCN), got {type(model).__name__}")
    with eval_mode(model), torch.enable_grad():
        feat = model.forward_features(x.detach())  # (N, M, C, T', V)
        logits = model.forward_head(feat)
        chosen = _choose(logits, target)
        (grad,) = torch.autograd.grad(logits.gather(1, chosen[:, None]).sum(), feat)
    weights = grad.mean((-2, -1), keepdim=True)  # (N, M, C, 1, 1)
    cam = torch.relu((weights * feat).sum(2)).detach()  # (N, M, T', V)
    return Attribution(cam.double().numpy(), chosen.numpy(), "Grad-CAM (last block)")


def by_class(values: np.ndarray, labels: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Mean of per-sample rows ``values`` ``(N, ...)`` per class: ``(classes, mean rows)``."""
    values, labels = np.asarray(values), np.asarray(labels)
    if len(values) != len(labels):
        raise ValueError(f"need one label per sample: {len(values)} rows, {len(labels)} labels")
    classes = np.unique(labels)
    return classes, np.stack([values[labels == c].mean(0) for c in classes])


METHODS = ("gradient x input", "|gradient|", "integrated gradients", "grad-cam")


def class_importance(model: torch.nn.Module, dataset, per_class: int = 8, batch_size: int = 16, method: str = "gradient x input") -> dict:
    """Per class, the mean joint share of importance for the predicted class (within person 0, the
    person attention maps show): ``{"classes": [...], "joints": (K, V), "correct": (K,) fraction predicted
    right}``, over the samples :func:`aagcn_lab.analysis.class_statistics` uses. ``method``: one of
    :data:`METHODS`; integrated gradients start from the mean pose of all those samples."""
    from .analysis import batch_per_class

    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    x, labels, _ = batch_per_class(dataset, per_class)
    pose = mean_pose(x) if method == "integrated gradients" else None
    run = {"gradient x input": gradient_x_input, "|gradient|": gradient_magnitude, "grad-cam": grad_cam,
           "integrated gradients": lambda m, xb: integrated_gradients(m, xb, baseline=pose)}[method]
    shares, hits = [], []
    for start in range(0, len(x), batch_size):
        att = run(model, x[start : start + batch_size])
        shares.append(att.joints(person=0))
        hits.append(att.target == np.asarray(labels[start : start + batch_size]))
    classes, joints = by_class(np.concatenate(shares), labels)
    _, correct = by_class(np.concatenate(hits).astype(float), labels)
    return {"classes": classes.tolist(), "joints": joints, "correct": correct}
