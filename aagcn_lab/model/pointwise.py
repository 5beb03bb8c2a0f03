"""The model's 1x1 convolutions on the CPU: one batched matrix product over the samples.

A 1x1 convolution of ``x`` ``(N, C_in, T, V)`` with weight ``W`` ``(C_out, C_in, 1, 1)`` is, per
sample, a matrix product over the channels::

    y[n] = W @ x[n] + b          # (C_out, C_in) @ (C_in, T*V): x[n] read in place, no copy

:func:`pointwise_conv` computes it so, as one ``baddbmm`` over the samples, for a contiguous
(NCHW) tensor on the CPU; anything else (a GPU, channels-last activations, other kernels) runs
``F.conv2d``. oneDNN's kernel, which torch picks for these convolutions on the CPU from a batch
of 16 (or two threads) on, reorders the input and weight into its blocked layouts on every call:
at the lab's small model's sizes (16-64 channels, T*V of 200-800) the product was 1.2-1.8x as
fast, forward and backward, and its training step at batch 32 7-12 % faster on one thread and
9-11 % on two (0-4 % at batch 8); the full model's (64-256 channels, T*V of 625-2,500) 2.5-7 %
(README, Performance; the two source trees in turns). The same function as the convolution, summed in another order: it
differs by rounding only, values and gradients (tests/test_pointwise.py).

Where it is used: the stacked ``W_k`` (``sum_k W_k (x G_k)``) and the embeddings ``theta_k`` /
``phi_k`` (functional, on stacked weights), ``down`` and the strided residual
(:class:`PointwiseConv2d`, ``nn.Conv2d``'s parameters and keys, so checkpoints are unchanged).
The CPU inference path (:mod:`.cpu_infer`) has its own channels-last convolutions.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["pointwise_conv", "PointwiseConv2d"]


def pointwise_conv(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride: tuple[int, int] = (1, 1)) -> Tensor:
    """``F.conv2d(x, weight, bias, stride)`` for a 1x1 ``weight`` ``(C_out, C_in, 1, 1)`` and ``x``
    ``(N, C_in, T, V)``, as one batched product when ``x`` is a contiguous CPU tensor (otherwise, and for
    shapes that do not match, ``F.conv2d`` itself, with its errors)."""
    if x.device.type != "cpu" or x.dim() != 4 or not x.is_contiguous() or weight.shape[-2:] != (1, 1) or weight.shape[1] != x.shape[1]:
        return F.conv2d(x, weight, bias, stride)
    if tuple(stride) != (1, 1):
        x = x[:, :, :: stride[0], :: stride[1]]  # a strided 1x1 convolution reads every stride-th pixel
    n, c, t, v = x.shape
    o = weight.shape[0]
    w = weight.reshape(1, o, c).expand(n, o, c)
    x = x.reshape(n, c, t * v)  # a view, or (strided) one copy of the pixels read
    y = torch.bmm(w, x) if bias is None else torch.baddbmm(bias.reshape(1, o, 1), w, x)
    return y.view(n, o, t, v)


class PointwiseConv2d(nn.Conv2d):
    """``nn.Conv2d`` whose forward, for a 1x1 kernel without padding, dilation or groups, is
    :func:`pointwise_conv` (any other shape runs ``Conv2d``'s own)."""

    def forward(self, x: Tensor) -> Tensor:
        """``(N, C_in, T, V) -> (N, C_out, T', V')``, as ``Conv2d``."""
        plain = self.kernel_size != (1, 1) or self.dilation != (1, 1) or self.groups != 1 or self.padding_mode != "zeros"
        if plain or isinstance(self.padding, str) or tuple(self.padding) != (0, 0):
            return super().forward(x)
        return pointwise_conv(x, self.weight, self.bias, self.stride)
