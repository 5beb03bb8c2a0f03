"""A straightforward transcription of pyskl's AAGCN forward pass (the oracle).

:func:`reference_forward` runs an :class:`~aagcn_lab.model.aagcn.AAGCN`'s own parameters through
the reference equations written the plain way -- one matmul per graph subset, one small conv per
embedding, the attention steps one after another, exactly as pyskl's ``unit_aagcn`` loops. The
model's forward computes the same function with the subsets fused; tests check that outputs and
gradients agree, and the benchmark measures the fused model against this.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from .aagcn import AAGCN, AAGCNBlock, AdaptiveGraphConv, TemporalConv

__all__ = ["reference_unit", "reference_tcn", "reference_block", "reference_features", "reference_forward"]


def _conv(conv: torch.nn.Conv2d, x: Tensor) -> Tensor:
    """``conv(x)`` as ``F.conv2d`` with its weights: the oracle stays off the model's own 1x1 path (model/pointwise.py)."""
    return F.conv2d(x, conv.weight, conv.bias, conv.stride, conv.padding)


def reference_unit(gcn: AdaptiveGraphConv, x: Tensor) -> Tensor:
    """pyskl ``unit_aagcn.forward``: the subsets in a Python loop, then BN, residual, S/T/C attention."""
    n, c, t, v = x.shape
    y = None
    for i in range(gcn.num_subset):
        if gcn.graph == "fixed" or not gcn.data_dependent:
            graph = gcn.A[i] + gcn.PA[i] if gcn.graph == "cvpr" else gcn.A[i]
        else:
            a1 = gcn.conv_a[i](x).permute(0, 3, 1, 2).contiguous().view(n, v, gcn.inter_c * t)
            a2 = gcn.conv_b[i](x).view(n, gcn.inter_c * t, v)
            scores = torch.matmul(a1, a2) / a1.size(-1)
            if gcn.graph == "tip":
                graph = gcn.A[i] + torch.tanh(scores) * gcn.alpha
            else:  # CVPR'19: A + B + softmax over source joints
                graph = gcn.A[i] + gcn.PA[i] + torch.softmax(scores, dim=-2)
        z = gcn.conv_d[i](torch.matmul(x.view(n, c * t, v), graph).view(n, c, t, v))
        y = z + y if y is not None else z
    y = gcn.bn(y)
    y = y + (gcn.down[1](_conv(gcn.down[0], x)) if isinstance(gcn.down, torch.nn.Sequential) else gcn.down(x))
    y = F.relu(y)
    if gcn.use_spatial:
        se = y.mean(-2)  # N C V
        y = y * torch.sigmoid(F.conv1d(se, gcn.conv_sa.weight, gcn.conv_sa.bias, padding=gcn.conv_sa.padding)).unsqueeze(-2) + y
    if gcn.use_temporal:
        se = y.mean(-1)  # N C T
        y = y * torch.sigmoid(F.conv1d(se, gcn.conv_ta.weight, gcn.conv_ta.bias, padding=gcn.conv_ta.padding)).unsqueeze(-1) + y
    if gcn.use_channel:
        se = y.mean(-1).mean(-1)
        se2 = torch.sigmoid(gcn.fc2c(F.relu(gcn.fc1c(se))))
        y = y * se2.unsqueeze(-1).unsqueeze(-1) + y
    return y


def reference_tcn(tcn: TemporalConv, x: Tensor) -> Tensor:
    """pyskl ``unit_tcn.forward``: convolution, then BN."""
    return tcn.bn(_conv(tcn.conv, x))


def reference_block(block: AAGCNBlock, x: Tensor) -> Tensor:
    """pyskl ``AAGCNBlock.forward``."""
    if block.residual_kind == "none":
        res = 0
    elif block.residual_kind == "identity":
        res = x
    else:
        res = reference_tcn(block.residual, x)
    return F.relu(reference_tcn(block.tcn, reference_unit(block.gcn, x)) + res)


def reference_features(model: AAGCN, x: Tensor) -> Tensor:
    """pyskl ``AAGCN.forward`` (the backbone): ``(N, M, T, V, C) -> (N, M, C', T', V)``."""
    bb = model.backbone
    n, m, t, v, c = x.size()
    x = x.permute(0, 1, 3, 4, 2).contiguous()
    if bb.cfg.data_bn_type == "VC":
        x = bb.data_bn(x.view(n * m, v * c, t))
    else:
        x = bb.data_bn(x.view(n, m * v * c, t))
    x = x.view(n, m, v, c, t).permute(0, 1, 3, 4, 2).contiguous().view(n * m, c, t, v)
    for block in bb.gcn:
        x = reference_block(block, x)
    return x.reshape((n, m) + x.shape[1:])


def reference_forward(model: AAGCN, x: Tensor) -> Tensor:
    """Logits of ``model`` computed the reference way (pyskl ``GCNHead``: pool, mean over persons, fc)."""
    feat = reference_features(model, x)
    n, m, c, t, v = feat.shape
    pooled = F.adaptive_avg_pool2d(feat.reshape(n * m, c, t, v), 1).reshape(n, m, c).mean(dim=1)
    return model.cls_head.fc_cls(model.cls_head.dropout(pooled))
