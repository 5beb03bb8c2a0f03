"""Computing absent persons once: an execution strategy of the backbone, not part of the model.

pyskl zero-pads the person axis to M = 2, and the padded person goes through the whole network.
Every zero-padded person of the same slot enters the blocks with the same values (data BN maps
zeros to a per-channel constant), and after that the only operation that mixes samples is
BatchNorm's batch statistics in training. So each slot's absent person can be computed once and
counted as many times as it occurs in the BN statistics -- the same function, and about 40% less
work on NTU, where most actions have one person.

* :func:`plan_shared_rows` looks at the input ``(N, M, T, V, C)`` and returns a :class:`SharedRows`
  (which rows to compute, how to expand them back, how many persons each row stands for), or
  ``None`` when no two absent persons share a slot;
* :class:`WeightedBatchNorm2d` is ``nn.BatchNorm2d`` (same parameters and buffers, so pyskl's
  state-dict keys are unchanged) whose training statistics count row ``i`` ``row_weight[i]`` times
  (:func:`weighted_batch_norm`, with the closed-form backward of :class:`WeightedBatchNormFunction`);
* :func:`count_rows` hands the row weights to every such BN of a module (the backbone does it, in
  one place, around its blocks) and takes them back.

In eval mode BN treats rows independently, so the rows are shared without any weighting.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn
from torch.autograd.function import once_differentiable

__all__ = ["outside_compile", "absent_persons", "SharedRows", "plan_shared_rows", "WeightedBatchNorm2d", "WeightedBatchNormFunction", "weighted_batch_norm", "count_rows"]


_OUTSIDE: dict[Callable, Callable] = {}  # fn -> torch.compiler.disable(fn), made on first use under torch.compile


def outside_compile(fn: Callable) -> Callable:
    """``fn`` run eagerly, outside any graph ``torch.compile`` traces: ``torch.compiler.disable(fn)``,
    made the first time a compiled caller reaches it. Applying ``torch.compiler.disable`` at import
    imports dynamo: 1.3 s of the start of every process that runs a model (``predict``, ``test``, a
    notebook; a training run imports it anyway, for its optimizer), which only ``torch.compile`` needs."""

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        if not torch.compiler.is_compiling():  # eager (dynamo reads this as True while it traces)
            return fn(*args, **kwargs)
        disabled = _OUTSIDE.get(fn)
        if disabled is None:
            disabled = _OUTSIDE[fn] = torch.compiler.disable(fn)
        return disabled(*args, **kwargs)

    return call


@dataclass(frozen=True)
class SharedRows:
    """Which of the ``N*M`` person rows are computed, and how they map back.

    ``keep`` indexes the computed rows (present persons plus one all-zero person per slot),
    ``inverse`` maps every person to its computed row, and ``weight`` counts how many persons each
    computed row stands for (``weight.sum() == N*M``).
    """

    keep: Tensor
    inverse: Tensor
    weight: Tensor

    def compact(self, h: Tensor) -> Tensor:
        """``(N*M, ...) -> (len(keep), ...)``: the rows to compute."""
        return h[self.keep]

    def expand(self, h: Tensor) -> Tensor:
        """``(len(keep), ...) -> (N*M, ...)``: every person again, absent ones from their slot's row."""
        return h[self.inverse]


def absent_persons(x: Tensor) -> Tensor:
    """``(N, M)``: which persons of input ``(N, M, T, V, C)`` are absent (zero-padded: all their values 0)."""
    return x.reshape(*x.shape[:2], -1).abs().amax(-1) == 0


@outside_compile  # data-dependent bookkeeping on an (N, M) mask: eager, outside any compiled graph
def plan_shared_rows(x: Tensor) -> SharedRows | None:
    """The rows to compute for input ``(N, M, T, V, C)``, or ``None`` when nothing can be shared.

    A person is absent when all its values are 0. (Traced by ``torch.compile`` this crashes
    inductor 2.13's scheduler, hence eager.)
    """
    n, m = x.shape[:2]
    absent = absent_persons(x)
    if int(absent.sum(0).max()) < 2:
        return None
    flat = absent.reshape(-1)
    rows = torch.arange(n * m, device=x.device)
    slot = rows % m
    # the first absent person of each slot stands for all absent persons of that slot
    first = torch.where(absent, rows.view(n, m), n * m).amin(0)  # (M,), n*m where the slot has none
    keep_mask = ~flat
    keep_mask[first[first < n * m]] = True
    keep = torch.nonzero(keep_mask).squeeze(1)
    position = torch.full((n * m,), -1, dtype=torch.long, device=x.device)
    position[keep] = torch.arange(len(keep), device=x.device)
    inverse = torch.where(flat, position[first.clamp(max=n * m - 1)[slot]], position)
    weight = torch.bincount(inverse, minlength=len(keep)).to(x.dtype)
    return SharedRows(keep, inverse, weight)


class WeightedBatchNormFunction(torch.autograd.Function):
    """Batch norm over ``x`` ``(R, C, H, W)`` whose statistics count row ``r`` ``w_r`` times, with a
    closed-form backward (a few passes over the activations instead of autograd's chain of them).

    Forward, per channel, with ``n = H * W * sum_r w_r`` and sums over rows ``r`` and pixels ``p``::

        mean = sum_r w_r sum_p x_rp / n
        c    = x - mean                                     # saved for backward
        var  = sum_r w_r sum_p c_rp^2 / n                   # biased, as BatchNorm2d normalises
        s    = 1 / sqrt(var + eps)
        y    = gamma * s * c + beta

    Backward, from ``g = dL/dy`` (each computed row once: its copies' gradients arrive already summed)::

        dbeta  = sum_r sum_p g_rp
        dgamma = s * sum_r sum_p g_rp c_rp
        dx_rp  = gamma s ( g_rp - w_r / n * (dbeta + s^2 c_rp sum_r' sum_p' g c) )

    -- the usual batch-norm backward, with ``w_r / n`` in place of ``1 / n`` because the mean and the
    variance weight row ``r`` by ``w_r``. Returns ``(y, mean, var)``; ``mean`` and ``var`` (biased)
    are not differentiable, they feed the running statistics. ``row_weight`` gets no gradient (counts).
    Every operation is elementwise or a sum, none of which autocast lowers.
    """

    @staticmethod
    def forward(ctx: Any, x: Tensor, row_weight: Tensor, weight: Tensor, bias: Tensor, eps: float) -> tuple[Tensor, Tensor, Tensor]:
        """``(y, mean, var)`` of the weighted batch norm (see the class docstring)."""
        w = row_weight[:, None]  # (R, 1)
        n = row_weight.sum() * (x.shape[2] * x.shape[3])
        mean = (w * x.sum((2, 3))).sum(0) / n  # (C,)
        centred = x - mean[:, None, None]
        var = (w * torch.linalg.vector_norm(centred, dim=(2, 3)).square()).sum(0) / n  # one read, no squared copy
        invstd = torch.rsqrt(var + eps)
        y = torch.addcmul(bias[:, None, None], centred, (weight * invstd)[:, None, None])
        ctx.save_for_backward(centred, row_weight, weight, invstd, n)
        ctx.mark_non_differentiable(mean, var)
        return y, mean, var

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: Tensor, _mean: Tensor, _var: Tensor) -> tuple[Tensor | None, ...]:
        """Gradients of ``x``, ``weight`` and ``bias`` from ``dL/dy`` (see the class docstring)."""
        centred, row_weight, weight, invstd, n = ctx.saved_tensors
        dbias = grad.sum((2, 3)).sum(0)  # (C,)
        grad_x = grad * centred  # a buffer: first the products, then dx
        g_dot_c = grad_x.sum((2, 3)).sum(0)  # (C,)
        dweight = g_dot_c * invstd
        if ctx.needs_input_grad[0]:
            k = weight * invstd  # gamma s
            w = row_weight[:, None]  # (R, 1)
            shift, slope = w * (k * dbias / n), w * (k * invstd.square() * g_dot_c / n)  # (R, C) each
            torch.addcmul(-shift[:, :, None, None], centred, -slope[:, :, None, None], out=grad_x)
            grad_x.addcmul_(grad, k[:, None, None])  # gamma s g - w_r (...)
        else:
            grad_x = None
        return grad_x, None, dweight if ctx.needs_input_grad[2] else None, dbias if ctx.needs_input_grad[3] else None, None


def weighted_batch_norm(bn: nn.BatchNorm2d, x: Tensor, weight: Tensor) -> Tensor:
    """Training-mode ``bn(x)`` where row ``i`` of ``x`` counts ``weight[i]`` times in the batch
    statistics (:class:`WeightedBatchNormFunction`); the running statistics are updated exactly as
    ``nn.BatchNorm2d`` keeps them: momentum (or the cumulative average when it is ``None``) and the
    unbiased variance ``var * n / (n - 1)`` with the weighted count ``n``."""
    if x.dtype != bn.weight.dtype:  # autocast: statistics in the parameters' precision, as BatchNorm2d keeps them
        with torch.autocast(x.device.type, enabled=False):
            return weighted_batch_norm(bn, x.to(bn.weight.dtype), weight.to(bn.weight.dtype)).to(x.dtype)
    y, mean, var = WeightedBatchNormFunction.apply(x, weight, bn.weight, bn.bias, bn.eps)
    with torch.no_grad():
        n = weight.sum() * (x.shape[2] * x.shape[3])
        bn.num_batches_tracked += 1
        mom = bn.momentum if bn.momentum is not None else 1.0 / float(bn.num_batches_tracked)
        bn.running_mean.mul_(1 - mom).add_(mom * mean)
        bn.running_var.mul_(1 - mom).add_(mom * var * n / (n - 1))  # unbiased, as BatchNorm2d
    return y


class WeightedBatchNorm2d(nn.BatchNorm2d):
    """``nn.BatchNorm2d`` whose training statistics can count rows with multiplicities.

    With ``row_weight`` None (the default, and always in eval mode) it is exactly ``BatchNorm2d``.
    :func:`count_rows` sets ``row_weight`` for the duration of a backbone forward.
    """

    row_weight: Tensor | None = None

    def forward(self, x: Tensor) -> Tensor:
        if self.row_weight is None or not self.training:
            return super().forward(x)
        return weighted_batch_norm(self, x, self.row_weight)


@outside_compile  # module bookkeeping (dynamo would break on it anyway), kept out of compiled graphs
def count_rows(module: nn.Module, weight: Tensor | None) -> None:
    """Let every :class:`WeightedBatchNorm2d` in ``module`` count row ``i`` ``weight[i]`` times
    (``None``: every row once)."""
    for m in module.modules():
        if isinstance(m, WeightedBatchNorm2d):
            m.row_weight = weight
