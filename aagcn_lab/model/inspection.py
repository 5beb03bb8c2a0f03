"""What :meth:`AAGCN.inspect <aagcn_lab.model.aagcn.AAGCN.inspect>` records, and the walk that records it.

:func:`inspect_model` runs the model the way its ``forward`` does -- data BN, then every block --
but one named step of :class:`~aagcn_lab.model.aagcn.AdaptiveGraphConv` at a time
(``data_graph``, ``gated_graph``, ``graph_conv``, ``spatial_map`` / ``temporal_map`` /
``channel_map``), keeping each block's data-dependent graph ``C_k`` and its three attention maps.
Every person is computed (no absent-person sharing), in the model's current mode. The tests check
that the logits it reports are the model's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor

if TYPE_CHECKING:
    from .aagcn import AAGCN, AdaptiveGraphConv

__all__ = ["LayerTrace", "Inspection", "inspect_model"]


@dataclass
class LayerTrace:
    """What one AAGCN block computed for a batch (``None`` where the variant has no such part).

    ``graph`` is the sample-independent graph ``(K, V, V)``; ``data_graph`` is ``C_k`` per
    sample and person ``(N, M, K, V, V)``; ``spatial`` ``(N, M, V)``, ``temporal`` ``(N, M, T_l)``
    and ``channel`` ``(N, M, C_l)`` are the attention weights before the residual ``+1``.
    """

    index: int
    graph: Tensor
    alpha: float | None
    data_graph: Tensor | None = None
    spatial: Tensor | None = None
    temporal: Tensor | None = None
    channel: Tensor | None = None


@dataclass
class Inspection:
    """The result of :meth:`AAGCN.inspect`: logits, probabilities, features and per-layer traces."""

    logits: Tensor  # (N, num_classes)
    probs: Tensor  # (N, num_classes)
    features: Tensor  # (N, M, C', T', V)
    layers: list[LayerTrace] = field(default_factory=list)


def _traced_unit(gcn: AdaptiveGraphConv, x: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
    """``gcn(x)`` step by step (as ``AdaptiveGraphConv.forward``), with ``C_k`` and the attention maps."""
    seen: dict[str, Tensor] = {}
    if gcn.data_dependent:
        seen["data_graph"] = gcn.data_graph(x)
        g = gcn.gated_graph(seen["data_graph"])
    else:
        g = gcn.static_graph()
    y = gcn.graph_conv(x, g)
    if gcn.use_spatial:
        seen["spatial"] = gcn.spatial_map(y)
        y = y * seen["spatial"][:, None, None, :] + y
    if gcn.use_temporal:
        seen["temporal"] = gcn.temporal_map(y)
        y = y * seen["temporal"][:, None, :, None] + y
    if gcn.use_channel:
        seen["channel"] = gcn.channel_map(y)
        y = y * seen["channel"][:, :, None, None] + y
    return y, seen


@torch.no_grad()
def inspect_model(model: AAGCN, x: Tensor) -> Inspection:
    """Run ``x`` ``(N, M, T, V, C)`` through ``model`` and return what every layer computed."""
    model.check_input(x)
    backbone = model.backbone
    n, m = x.shape[:2]
    h = backbone.embed(x)  # (N*M, C, T, V)
    if backbone.channels_last:
        h = h.contiguous(memory_format=torch.channels_last)
    layers = []
    for i, block in enumerate(backbone.gcn):
        y, seen = _traced_unit(block.gcn, h)
        h = F.relu(block.tcn(y) + block.residual(h))  # as AAGCNBlock.forward
        gcn = block.gcn
        layers.append(
            LayerTrace(
                index=i,
                graph=gcn.static_graph().detach().clone(),
                alpha=float(gcn.alpha) if hasattr(gcn, "alpha") else None,
                **{k: v.reshape((n, m) + v.shape[1:]) for k, v in seen.items()},
            )
        )
    feat = h.reshape((n, m) + h.shape[1:]).contiguous()
    logits = model.forward_head(feat)
    return Inspection(logits=logits, probs=logits.softmax(-1), features=feat, layers=layers)
