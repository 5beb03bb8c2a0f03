"""The attention gates' convolutions: one output channel, computed as one product and a sum of taps.

The spatial and temporal attention of :class:`~aagcn_lab.model.aagcn.AdaptiveGraphConv` each end in
a ``Conv1d`` with a single output channel (``conv_sa``: kernel V or V - 1 over the joints,
``conv_ta``: kernel 9 over the frames) applied to a mean of the block's output. They are a few
million multiply-adds, but oneDNN's convolution kernels are made for many output channels: on the
bench machine one such call took 80-1,500 us forward and 360-5,500 us forward and backward, four to
nine times as long as the same sums written as

    taps[n, q, j] = sum_c x[n, q, c] W[c, j]              # one matrix product over the channels
    y[n, p]       = b + sum_j taps[n, p + j - pad, j]     # the kernel's taps summed along diagonals

(zero rows stand for the padding; the second line is a strided view of ``taps`` summed once). The
function is the convolution's, summed in another order, so it differs from it by rounding only.
For the lab's small model this made a training step 2-4 % faster on one thread and its 10-clip
test 5 % (the same batches, both versions in turns); the README's Performance section has the figures.

:class:`GateConv1d` is ``nn.Conv1d`` with this forward (its parameters, names and initialisation are
``Conv1d``'s, so checkpoints are unchanged); :func:`gate_conv` is the function, on channels-last
input, which the CPU inference path (:mod:`.cpu_infer`) calls on its ``(N, P, C)`` means directly.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["gate_conv", "GateConv1d"]


def gate_conv(x: Tensor, weight: Tensor, bias: Tensor | None, padding: int) -> Tensor:
    """``conv1d`` with one output channel and stride 1 over channels-last ``x``: ``(N, P, C) -> (N, P')``,
    ``P' = P + 2 padding - J + 1`` for ``weight`` ``(1, C, J)``."""
    n, p, _ = x.shape
    j = weight.shape[-1]
    taps = F.pad(torch.matmul(x, weight[0].to(x.dtype)), (0, 0, padding, padding))  # (N, P + 2 padding, J)
    out = p + 2 * padding - j + 1
    s0, s1, s2 = taps.stride()
    y = taps.as_strided((n, out, j), (s0, s1, s1 + s2)).sum(-1)  # y[n, q] = sum_j taps[n, q + j, j]
    return y if bias is None else y + bias.to(y.dtype)


class GateConv1d(nn.Conv1d):
    """``nn.Conv1d`` whose forward, for one output channel at stride 1 without dilation or groups, is
    :func:`gate_conv` (any other shape runs ``Conv1d``'s own)."""

    def forward(self, x: Tensor) -> Tensor:
        """``(N, C, P) -> (N, 1, P')``, as ``Conv1d``."""
        plain = self.out_channels != 1 or self.stride != (1,) or self.dilation != (1,) or self.groups != 1
        if plain or self.padding_mode != "zeros" or isinstance(self.padding, str) or x.dim() != 3:
            return super().forward(x)
        return gate_conv(x.transpose(1, 2), self.weight, self.bias, self.padding[0]).unsqueeze(1)
