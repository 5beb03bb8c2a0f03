"""MS-AAGCN (Shi et al., "Skeleton-Based Action Recognition with Multi-Stream Adaptive Graph
Convolutional Networks", IEEE TIP 2020), exactly as pyskl implements it.

Read top to bottom: the config, then the parts in the order they compose --
:class:`TemporalConv` (unit_tcn), :class:`AdaptiveGraphConv` (unit_aagcn: the adaptive graph
convolution with the graphs ``A_k``, ``B_k``, ``C_k`` and the weights ``W_k``, then the spatial,
temporal and channel attention), :class:`AAGCNBlock`, :class:`AAGCNBackbone`, :class:`GCNHead` and
the whole :class:`AAGCN`. Each class has one ``forward``; this file is the model and nothing else.

How it is run lives beside it, each strategy in its own module with its own tests:
:mod:`.absent` computes each slot's zero-padded person once (switched in
:meth:`AAGCNBackbone.forward`), :mod:`.gate_conv` computes the attention's one-channel
convolutions as a product and a sum of taps, :mod:`.pointwise` the 1x1 convolutions as one batched
product on the CPU, :mod:`.cpu_infer` is the CPU inference path with batch norm
folded and weights stacked once (``prepare_inference(model)``), :mod:`.inspection` is the traced
walk behind :meth:`AAGCN.inspect`, and :mod:`.reference` is the plain transcription the tests and
the bench compare against.

Module and parameter names follow pyskl (``backbone.gcn.3.gcn.conv_d.1.weight`` ...), so pyskl's
released checkpoints load without renaming. Shapes: N batch, M persons, T frames, V joints,
C channels, K = 3 graph subsets.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..graph import PERSON_SLOTS, Layout, get_layout, spatial_partition
from .absent import WeightedBatchNorm2d, count_rows, plan_shared_rows
from .gate_conv import GateConv1d
from .inspection import Inspection, LayerTrace, inspect_model
from .modes import eval_mode
from .pointwise import PointwiseConv2d, pointwise_conv

__all__ = [
    "AAGCNConfig",
    "TemporalConv",
    "AdaptiveGraphConv",
    "AAGCNBlock",
    "AAGCNBackbone",
    "GCNHead",
    "AAGCN",
    "LayerTrace",
    "Inspection",
    "build_model",
    "clip_probabilities",
]

GRAPH_VARIANTS = ("tip", "cvpr", "fixed")


@dataclass
class AAGCNConfig:
    """Everything that defines an AAGCN. Defaults are pyskl's (and the TIP paper's).

    ``graph`` picks the adaptive-graph variant:

    * ``'tip'`` -- pyskl / TIP'20: a learnable graph ``B_k`` initialised to the partition, plus
      ``alpha * tanh(C_k)`` with a single scalar ``alpha`` initialised to 0;
    * ``'cvpr'`` -- the CVPR'19 2s-AGCN unit: fixed ``A_k`` + learnable ``B_k`` (init 1e-6) +
      ``softmax(C_k)`` over source joints, no gate;
    * ``'fixed'`` -- no adaptivity at all: the partition as a fixed buffer (the ablation that
      crashes in the authors' release).

    ``data_dependent=False`` removes ``C_k`` (and ``alpha``) from ``'tip'``/``'cvpr'``. The three
    attentions can be switched off one by one. ``init='original'`` uses the authors' initialisation
    of the classifier (std ``sqrt(2 / num_classes)``) and the residual 1x1 branches (kaiming,
    zero bias) instead of pyskl's.
    """

    layout: Any = "nturgb+d"  # a layout name, a Layout, or Layout.to_dict()
    num_classes: int = 60
    in_channels: int = 3
    num_person: int = PERSON_SLOTS
    base_channels: int = 64
    num_stages: int = 10
    inflate_stages: tuple[int, ...] = (5, 8)
    down_stages: tuple[int, ...] = (5, 8)
    data_bn_type: str = "MVC"  # 'MVC' (per person slot, joint, channel), 'VC', or 'none'
    graph: str = "tip"
    data_dependent: bool = True
    spatial_attention: bool = True
    temporal_attention: bool = True
    channel_attention: bool = True
    coff_embedding: int = 4
    tcn_kernel_size: int = 9
    dropout: float = 0.0
    init: str = "pyskl"  # 'pyskl' or 'original'

    def __post_init__(self) -> None:
        self.inflate_stages = tuple(int(s) for s in self.inflate_stages)
        self.down_stages = tuple(int(s) for s in self.down_stages)
        if isinstance(self.layout, Layout):
            self.layout = self.layout.to_dict() if self.layout.name not in _builtin_names() else self.layout.name
        get_layout(self.layout)  # fail early on an unknown layout
        if self.graph not in GRAPH_VARIANTS:
            raise ValueError(f"graph must be one of {GRAPH_VARIANTS}, got {self.graph!r}")
        if self.data_bn_type not in ("MVC", "VC", "none"):
            raise ValueError(f"data_bn_type must be 'MVC', 'VC' or 'none', got {self.data_bn_type!r}")
        if self.init not in ("pyskl", "original"):
            raise ValueError(f"init must be 'pyskl' or 'original', got {self.init!r}")
        for name in ("num_classes", "in_channels", "num_person", "base_channels", "num_stages"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)!r}")

    @property
    def attention(self) -> bool:
        """True when any of the three attentions is on."""
        return self.spatial_attention or self.temporal_attention or self.channel_attention

    def get_layout(self) -> Layout:
        """The skeleton layout object."""
        return get_layout(self.layout)

    def to_dict(self) -> dict:
        """Plain-Python form, safe for ``torch.load(weights_only=True)``."""
        d = asdict(self)
        d["inflate_stages"] = list(self.inflate_stages)
        d["down_stages"] = list(self.down_stages)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> AAGCNConfig:
        """Inverse of :meth:`to_dict`; unknown keys are an error."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown model config keys: {', '.join(unknown)}")
        return cls(**d)


def _builtin_names() -> tuple[str, ...]:
    from ..graph import LAYOUTS

    return tuple(LAYOUTS)


# ------------------------------------------------------------------------------------------------
# Initialisation helpers (pyskl's init_func.py semantics)
# ------------------------------------------------------------------------------------------------


def _conv_init(conv: nn.Module) -> None:
    nn.init.kaiming_normal_(conv.weight, mode="fan_out")
    if conv.bias is not None:
        nn.init.constant_(conv.bias, 0)


def _bn_init(bn: nn.Module, scale: float) -> None:
    nn.init.constant_(bn.weight, scale)
    nn.init.constant_(bn.bias, 0)


def _conv_branch_init(conv: nn.Conv2d, branches: int) -> None:
    """``normal(0, sqrt(2 / (out * in * kw * branches)))``, bias 0 (the init of ``W_k``)."""
    n, k1, k2 = conv.weight.shape[:3]
    nn.init.normal_(conv.weight, 0, math.sqrt(2.0 / (n * k1 * k2 * branches)))
    nn.init.constant_(conv.bias, 0)


# ------------------------------------------------------------------------------------------------
# Temporal convolution
# ------------------------------------------------------------------------------------------------


class TemporalConv(nn.Module):
    """pyskl ``unit_tcn``: a ``(k, 1)`` convolution over time, then BN. No activation inside.

    ``(N, C_in, T, V) -> (N, C_out, floor((T - 1) / stride) + 1, V)``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 9, stride: int = 1) -> None:
        super().__init__()
        pad = (kernel_size - 1) // 2
        conv = PointwiseConv2d if kernel_size == 1 else nn.Conv2d  # a 1x1 one: a product on the CPU (model/pointwise.py)
        self.conv = conv(in_channels, out_channels, (kernel_size, 1), padding=(pad, 0), stride=(stride, 1))
        self.bn = WeightedBatchNorm2d(out_channels)  # nn.BatchNorm2d (see model/absent.py)

    def init_weights(self) -> None:
        """Kaiming-normal (fan-out) conv, BN weight 1 (pyskl)."""
        _conv_init(self.conv)
        _bn_init(self.bn, 1)

    def forward(self, x: Tensor) -> Tensor:
        """``BN(conv(x))``."""
        return self.bn(self.conv(x))


# ------------------------------------------------------------------------------------------------
# Adaptive graph convolution with spatial-temporal-channel attention
# ------------------------------------------------------------------------------------------------


class AdaptiveGraphConv(nn.Module):
    """pyskl ``unit_aagcn``: the adaptive graph convolution followed by STC attention.

    Graph convolution ('tip' variant, pyskl and the TIP paper)::

        C_k = tanh( theta_k(x)^T phi_k(x) / (C_e * T) )     # (N, V, V), data-dependent
        G_k = B_k + alpha * C_k                              # B_k learnable, alpha one scalar gate
        y   = sum_k W_k (x G_k)                              # aggregate joints, then 1x1 conv
        y   = ReLU( BN(y) + down(x) )                        # down: identity, or 1x1 conv + BN

    Spatial, temporal and channel attention, in this order, each residual ``y <- y * (1 + a)``
    (the paper's ``f * (1 + M)``, pyskl's ``y * a + y``)::

        spatial   a = sigmoid( conv_sa( mean_T y ) )                # (N, V)
        temporal  a = sigmoid( conv_ta( mean_V y ) )                # (N, T)
        channel   a = sigmoid( fc2c( ReLU( fc1c( mean_TV y ) ) ) )  # (N, C)

    ``A`` holds ``B_k`` as a parameter ('tip'), or the fixed partition ``A_k`` as a buffer
    ('cvpr' and 'fixed'); 'cvpr' adds the parameter ``PA`` (the CVPR'19 ``B_k``, init 1e-6),
    uses ``softmax`` over source joints instead of ``tanh``, and has no ``alpha``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        A: Tensor,
        graph: str = "tip",
        data_dependent: bool = True,
        spatial_attention: bool = True,
        temporal_attention: bool = True,
        channel_attention: bool = True,
        coff_embedding: int = 4,
    ) -> None:
        super().__init__()
        num_subset, num_joints = A.shape[0], A.shape[-1]
        self.in_channels, self.out_channels = in_channels, out_channels
        self.num_subset = num_subset
        self.inter_c = out_channels // coff_embedding  # C_e
        self.graph = graph
        self.data_dependent = data_dependent and graph != "fixed"

        # Parameters first: pyskl registers A and alpha before the submodules (state_dict order).
        if graph == "tip":
            self.A = nn.Parameter(A.clone())  # B_k, initialised to the partition
        else:
            self.register_buffer("A", A.clone())  # fixed A_k
        if graph == "cvpr":
            self.PA = nn.Parameter(torch.full_like(A, 1e-6))  # B_k of CVPR'19
        if self.data_dependent and graph == "tip":
            self.alpha = nn.Parameter(torch.zeros(1))  # the gate of C_k

        self.conv_d = nn.ModuleList(nn.Conv2d(in_channels, out_channels, 1) for _ in range(num_subset))  # W_k
        if self.data_dependent:
            self.conv_a = nn.ModuleList(nn.Conv2d(in_channels, self.inter_c, 1) for _ in range(num_subset))  # theta_k
            self.conv_b = nn.ModuleList(nn.Conv2d(in_channels, self.inter_c, 1) for _ in range(num_subset))  # phi_k

        self.use_spatial, self.use_temporal, self.use_channel = spatial_attention, temporal_attention, channel_attention
        if temporal_attention:
            self.conv_ta = GateConv1d(out_channels, 1, 9, padding=4)  # nn.Conv1d (see model/gate_conv.py)
        if spatial_attention:
            ks = num_joints if num_joints % 2 else num_joints - 1
            self.conv_sa = GateConv1d(out_channels, 1, ks, padding=(ks - 1) // 2)
        if channel_attention:
            rr = 2
            self.fc1c = nn.Linear(out_channels, out_channels // rr)
            self.fc2c = nn.Linear(out_channels // rr, out_channels)

        if in_channels != out_channels:
            self.down = nn.Sequential(PointwiseConv2d(in_channels, out_channels, 1), WeightedBatchNorm2d(out_channels))
        else:
            self.down = nn.Identity()
        self.bn = WeightedBatchNorm2d(out_channels)

    def init_weights(self) -> None:
        """pyskl's order: kaiming convs, BN 1, main BN 1e-6, W_k branch init, attention inits."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                _conv_init(m)
            elif isinstance(m, nn.BatchNorm2d):
                _bn_init(m, 1)
        _bn_init(self.bn, 1e-6)
        for conv in self.conv_d:
            _conv_branch_init(conv, self.num_subset)
        if self.use_temporal:  # starts at sigmoid(0) = 0.5, i.e. a x1.5 scaling
            nn.init.constant_(self.conv_ta.weight, 0)
            nn.init.constant_(self.conv_ta.bias, 0)
        if self.use_spatial:
            nn.init.xavier_normal_(self.conv_sa.weight)
            nn.init.constant_(self.conv_sa.bias, 0)
        if self.use_channel:
            nn.init.kaiming_normal_(self.fc1c.weight)
            nn.init.constant_(self.fc1c.bias, 0)
            nn.init.constant_(self.fc2c.weight, 0)
            nn.init.constant_(self.fc2c.bias, 0)

    def forward(self, x: Tensor) -> Tensor:
        """``(N, C_in, T, V) -> (N, C_out, T, V)``: the graph convolution over ``G_k``, then attention."""
        return self.attend(self.graph_conv(x, self.effective_graph(x)))

    # -- the graph ---------------------------------------------------------------------------------
    def static_graph(self) -> Tensor:
        """The sample-independent part of the graph, ``(K, V, V)``: ``B_k`` ('tip'), ``A_k + B_k``
        ('cvpr') or ``A_k`` ('fixed')."""
        return self.A + self.PA if self.graph == "cvpr" else self.A

    def embedding_weights(self) -> tuple[Tensor, Tensor]:
        """``theta_k`` and ``phi_k`` of every subset as one 1x1 convolution: weight
        ``(K*2*C_e, C_in, 1, 1)`` laid out ``[theta_1, phi_1, theta_2, ...]``, and its bias."""
        w = torch.cat([torch.cat([a.weight, b.weight]) for a, b in zip(self.conv_a, self.conv_b)])
        b = torch.cat([torch.cat([a.bias, b.bias]) for a, b in zip(self.conv_a, self.conv_b)])
        return w, b

    def data_graph(self, x: Tensor) -> Tensor:
        """The data-dependent graph ``C_k``: ``(N, C, T, V) -> (N, K, V, V)``."""
        return self.data_graph_of_embeddings(pointwise_conv(x, *self.embedding_weights()))

    def data_graph_of_embeddings(self, emb: Tensor) -> Tensor:
        """``C_k`` from the stacked embeddings ``(N, K*2*C_e, T, V)`` (see :meth:`embedding_weights`):
        ``theta_k^T phi_k`` summed over embedding channels and frames, over ``C_e * T``, then ``tanh``
        ('tip') or ``softmax`` over source joints ('cvpr'). One batched product, no copies."""
        n, _, t, v = emb.shape
        k, ci = self.num_subset, self.inter_c
        theta, phi = emb.reshape(n * k, 2, ci * t, v).unbind(1)  # (N*K, C_e*T, V) each
        scores = torch.bmm(theta.transpose(1, 2), phi).view(n, k, v, v) / (ci * t)
        return torch.tanh(scores) if self.graph == "tip" else torch.softmax(scores, dim=-2)

    def gated_graph(self, c: Tensor) -> Tensor:
        """``G_k`` from ``C_k``: ``B_k + alpha C_k`` ('tip') or ``A_k + B_k + C_k`` ('cvpr')."""
        g = self.static_graph()
        return g + self.alpha * c if self.graph == "tip" else g + c

    def effective_graph(self, x: Tensor) -> Tensor:
        """``G_k`` per sample, ``(N, K, V, V)``, or the static graph ``(K, V, V)`` without ``C_k``."""
        if not self.data_dependent:
            return self.static_graph()
        return self.gated_graph(self.data_graph(x))

    # -- the graph convolution ---------------------------------------------------------------------
    def stacked_weights(self) -> tuple[Tensor, Tensor]:
        """``sum_k W_k (x G_k)`` is one 1x1 convolution over the K aggregations stacked as channels:
        its weight ``(C_out, K*C_in, 1, 1)`` and bias (the sum of the K biases)."""
        w = torch.cat([conv.weight for conv in self.conv_d], dim=1)
        return w, torch.stack([conv.bias for conv in self.conv_d]).sum(0)

    def graph_conv(self, x: Tensor, g: Tensor) -> Tensor:
        """``ReLU( BN(sum_k W_k (x G_k)) + down(x) )`` for ``G_k`` ``(N, K, V, V)`` or ``(K, V, V)``."""
        n, c, t, v = x.shape
        k = self.num_subset
        # (N, C*T, V) @ (N, V, K*V) -> (N, C, T, K, V), regrouped to (N, K*C, T, V)
        g_cat = g.transpose(-3, -2).reshape(*g.shape[:-3], v, k * v)
        agg = torch.matmul(x.reshape(n, c * t, v), g_cat).view(n, c, t, k, v).permute(0, 3, 1, 2, 4).reshape(n, k * c, t, v)
        y = pointwise_conv(agg, *self.stacked_weights())
        return F.relu(self.bn(y) + self.down(x))

    # -- attention ---------------------------------------------------------------------------------
    def spatial_map(self, y: Tensor) -> Tensor:
        """Spatial attention ``sigmoid(conv_sa(mean_T y))``: ``(N, C, T, V) -> (N, V)``."""
        return torch.sigmoid(self.conv_sa(y.mean(2)))[:, 0]

    def temporal_map(self, y: Tensor) -> Tensor:
        """Temporal attention ``sigmoid(conv_ta(mean_V y))``: ``(N, C, T, V) -> (N, T)``."""
        return torch.sigmoid(self.conv_ta(y.mean(3)))[:, 0]

    def channel_map(self, y: Tensor) -> Tensor:
        """Channel attention ``sigmoid(fc2c(ReLU(fc1c(mean_TV y))))``: ``(N, C, T, V) -> (N, C)``."""
        return torch.sigmoid(self.fc2c(F.relu(self.fc1c(y.mean((2, 3))))))

    def attend(self, y: Tensor) -> Tensor:
        """Spatial, then temporal, then channel attention, each residual: ``y * (1 + a)`` (= ``y * a + y``,
        one pass over ``y`` instead of two)."""
        if self.use_spatial:
            y = y * (1 + self.spatial_map(y))[:, None, None, :]
        if self.use_temporal:
            y = y * (1 + self.temporal_map(y))[:, None, :, None]
        if self.use_channel:
            y = y * (1 + self.channel_map(y))[:, :, None, None]
        return y


# ------------------------------------------------------------------------------------------------
# Block, backbone, head
# ------------------------------------------------------------------------------------------------


class _Zero(nn.Module):
    """The first block's residual branch: nothing (pyskl's ``lambda x: 0``)."""

    def forward(self, x: Tensor) -> int:
        return 0


class AAGCNBlock(nn.Module):
    """``ReLU( tcn(gcn(x)) + residual(x) )``; the residual is 0, identity or a strided 1x1 unit_tcn."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        A: Tensor,
        stride: int = 1,
        residual: bool = True,
        tcn_kernel_size: int = 9,
        **gcn_kwargs: Any,
    ) -> None:
        super().__init__()
        self.gcn = AdaptiveGraphConv(in_channels, out_channels, A, **gcn_kwargs)
        self.tcn = TemporalConv(out_channels, out_channels, tcn_kernel_size, stride=stride)
        if not residual:
            self.residual_kind, self.residual = "none", _Zero()
        elif in_channels == out_channels and stride == 1:
            self.residual_kind, self.residual = "identity", nn.Identity()
        else:
            self.residual_kind = "conv"
            self.residual = TemporalConv(in_channels, out_channels, kernel_size=1, stride=stride)

    def init_weights(self, init: str = "pyskl") -> None:
        """pyskl re-initialises tcn and gcn only: a residual conv keeps PyTorch's default init."""
        self.tcn.init_weights()
        self.gcn.init_weights()
        if init == "original" and self.residual_kind == "conv":
            self.residual.init_weights()

    def forward(self, x: Tensor) -> Tensor:
        """``(N, C_in, T, V) -> (N, C_out, T', V)``."""
        return F.relu(self.tcn(self.gcn(x)) + self.residual(x))


class AAGCNBackbone(nn.Module):
    """Data BN over (person, joint, channel), then the stack of AAGCN blocks.

    ``(N, M, T, V, C) -> (N, M, C', T', V)``; with the defaults C' = 256 and T' = ceil(T / 4).
    """

    def __init__(self, cfg: AAGCNConfig) -> None:
        super().__init__()
        self.cfg = cfg
        layout = cfg.get_layout()
        A = torch.from_numpy(spatial_partition(layout))
        self.num_joints = layout.num_joints
        self.register_buffer("A", A.clone())  # pyskl keeps the graph here too; forward never reads it

        mvc = cfg.num_person * layout.num_joints * cfg.in_channels
        if cfg.data_bn_type == "MVC":
            self.data_bn = nn.BatchNorm1d(mvc)
        elif cfg.data_bn_type == "VC":
            self.data_bn = nn.BatchNorm1d(layout.num_joints * cfg.in_channels)
        else:
            self.data_bn = nn.Identity()

        gcn_kwargs = dict(
            graph=cfg.graph,
            data_dependent=cfg.data_dependent,
            spatial_attention=cfg.spatial_attention,
            temporal_attention=cfg.temporal_attention,
            channel_attention=cfg.channel_attention,
            coff_embedding=cfg.coff_embedding,
            tcn_kernel_size=cfg.tcn_kernel_size,
        )
        blocks = []
        base = cfg.base_channels
        if cfg.in_channels != base:  # pyskl skips the stem block when the widths already agree
            blocks.append(AAGCNBlock(cfg.in_channels, base, A, 1, residual=False, **gcn_kwargs))
        for stage in range(2, cfg.num_stages + 1):
            c_in = base
            if stage in cfg.inflate_stages:
                base *= 2
            stride = 1 + (stage in cfg.down_stages)
            blocks.append(AAGCNBlock(c_in, base, A, stride, **gcn_kwargs))
        self.gcn = nn.ModuleList(blocks)
        self.out_channels = base
        # how the blocks run (execution strategies; neither changes the function):
        self.share_absent_persons = True  # compute each slot's zero-padded person once (model/absent.py)
        self.channels_last = False  # activations in torch's channels-last memory format (fast bf16 GPU convs)

    def init_weights(self) -> None:
        """data_bn weight 1 / bias 0, then every block."""
        if isinstance(self.data_bn, nn.BatchNorm1d):
            _bn_init(self.data_bn, 1)
        for block in self.gcn:
            block.init_weights(self.cfg.init)

    def embed(self, x: Tensor) -> Tensor:
        """Input normalisation: ``(N, M, T, V, C) -> (N*M, C, T, V)`` through data BN."""
        n, m, t, v, c = x.shape
        x = x.permute(0, 1, 3, 4, 2).contiguous()  # (N, M, V, C, T)
        if self.cfg.data_bn_type == "VC":
            x = self.data_bn(x.view(n * m, v * c, t))
        else:
            x = self.data_bn(x.view(n, m * v * c, t))  # channel = m*V*C + v*C + c
        return x.view(n, m, v, c, t).permute(0, 1, 3, 4, 2).reshape(n * m, c, t, v)

    def forward(self, x: Tensor) -> Tensor:
        """``(N, M, T, V, C) -> (N, M, C', T', V)``: every person through the blocks independently."""
        n, m = x.shape[:2]
        h = self.embed(x)  # (N*M, C, T, V)
        if self.channels_last:
            h = h.contiguous(memory_format=torch.channels_last)
        shared = plan_shared_rows(x) if self.share_absent_persons else None
        if shared is not None:  # each slot's absent person once, counted with its multiplicity in BN
            h = shared.compact(h)
            count_rows(self.gcn, shared.weight if self.training else None)
        for block in self.gcn:
            h = block(h)
        if shared is not None:
            count_rows(self.gcn, None)
            h = shared.expand(h)
        return h.reshape((n, m) + h.shape[1:]).contiguous()


class GCNHead(nn.Module):
    """Average over (T, V) and persons, then a linear classifier (pyskl ``GCNHead``)."""

    def __init__(self, num_classes: int, in_channels: int = 256, dropout: float = 0.0) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.fc_cls = nn.Linear(in_channels, num_classes)

    def init_weights(self, init: str = "pyskl") -> None:
        """pyskl: normal(0, 0.01); the authors: normal(0, sqrt(2 / num_classes)); bias 0."""
        std = 0.01 if init == "pyskl" else math.sqrt(2.0 / self.fc_cls.out_features)
        nn.init.normal_(self.fc_cls.weight, 0, std)
        nn.init.constant_(self.fc_cls.bias, 0)

    @staticmethod
    def pool(feat: Tensor) -> Tensor:
        """``(N, M, C, T, V) -> (N, C)``: mean over T and V, then over persons (a zero-padded
        person counts)."""
        return feat.mean((-2, -1)).mean(1)

    def forward(self, feat: Tensor) -> Tensor:
        """Logits ``(N, num_classes)`` from backbone features ``(N, M, C, T, V)``."""
        return self.fc_cls(self.dropout(self.pool(feat)))


# ------------------------------------------------------------------------------------------------
# The whole model
# ------------------------------------------------------------------------------------------------


class AAGCN(nn.Module):
    """Backbone + head (pyskl's ``RecognizerGCN``): ``(N, M, T, V, C)`` -> logits ``(N, classes)``.

    * :meth:`forward` -- training/eval logits;
    * :meth:`forward_test` -- ``(N, clips, M, T, V, C)`` -> probabilities averaged over clips
      (softmax per clip, then the mean), pyskl's ``average_clips='prob'``;
    * :meth:`forward_features` / :meth:`forward_head` -- the two halves;
    * :meth:`inspect` -- logits plus every layer's graphs and attention maps, for the notebooks.

    For fast CPU inference use ``aagcn_lab.model.cpu_infer.prepare_inference(model)``; the model
    itself always runs this plain forward.
    """

    def __init__(self, cfg: AAGCNConfig | None = None, **overrides: Any) -> None:
        super().__init__()
        if cfg is None:
            cfg = AAGCNConfig(**overrides)
        elif overrides:
            cfg = AAGCNConfig(**{**cfg.to_dict(), **overrides})
        self.cfg = cfg
        self.backbone = AAGCNBackbone(cfg)
        self.cls_head = GCNHead(cfg.num_classes, self.backbone.out_channels, cfg.dropout)
        self.init_weights()

    @property
    def layout(self) -> Layout:
        """The skeleton layout the model was built for."""
        return self.cfg.get_layout()

    def init_weights(self) -> None:
        """Initialise as pyskl does (or as the authors did, with ``cfg.init='original'``)."""
        self.backbone.init_weights()
        self.cls_head.init_weights(self.cfg.init)

    def to_channels_last(self) -> AAGCN:
        """Weights and backbone activations in channels-last memory format (fast bf16 GPU convolutions); returns self."""
        self.to(memory_format=torch.channels_last)
        self.backbone.channels_last = True
        return self

    def check_input(self, x: Tensor) -> None:
        """Raise a clear error unless ``x`` is ``(N, M, T, V, C)`` matching the config."""
        want = (self.cfg.num_person, None, self.backbone.num_joints, self.cfg.in_channels)
        if x.dim() != 5 or any(w is not None and s != w for s, w in zip(x.shape[1:], want)):
            raise ValueError(
                f"AAGCN expects input (N, M={want[0]}, T, V={want[2]}, C={want[3]}) for layout "
                f"{self.layout.name!r}, got {tuple(x.shape)}"
            )

    def forward_features(self, x: Tensor) -> Tensor:
        """Backbone features ``(N, M, C', T', V)``."""
        self.check_input(x)
        return self.backbone(x)

    def forward_head(self, feat: Tensor) -> Tensor:
        """Logits from backbone features."""
        return self.cls_head(feat)

    def forward(self, x: Tensor) -> Tensor:
        """Logits ``(N, num_classes)`` of ``(N, M, T, V, C)``."""
        return self.forward_head(self.forward_features(x))

    def forward_test(self, x: Tensor) -> Tensor:
        """``(N, clips, M, T, V, C)`` (or a single clip ``(N, M, T, V, C)``) -> averaged probabilities."""
        return clip_probabilities(self, x)

    def inspect(self, x: Tensor) -> Inspection:
        """Run ``x`` ``(N, M, T, V, C)`` and return what every layer computed (see :class:`LayerTrace`).

        Uses the model's current mode (call ``model.eval()`` first for inference behaviour); the
        walk itself is in :mod:`aagcn_lab.model.inspection`.
        """
        return inspect_model(self, x)

    def num_parameters(self) -> int:
        """Number of trainable parameters."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    @torch.no_grad()
    def flops(self, frames: int = 100) -> int:
        """Forward FLOPs of one sample (M persons, ``frames`` frames), counting convolutions,
        matrix products and linear layers as torch's ``FlopCounterMode`` does (both persons, as
        pyskl computes them)."""
        from torch.utils.flop_counter import FlopCounterMode

        x = torch.randn(1, self.cfg.num_person, frames, self.backbone.num_joints, self.cfg.in_channels, device=self.cls_head.fc_cls.weight.device)
        x[:, :, 0] += 1  # no absent person: count everything
        counter = FlopCounterMode(display=False)
        with eval_mode(self), counter:
            self(x)
        return int(counter.get_total_flops())


def clip_probabilities(logits_of: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    """pyskl's test-time average (``average_clips='prob'``): ``(N, clips, M, T, V, C)`` (or one
    clip ``(N, M, T, V, C)``) through ``logits_of``, softmax per clip, then the mean over clips."""
    if x.dim() == 5:
        x = x.unsqueeze(1)
    n, nc = x.shape[:2]
    logits = logits_of(x.reshape((n * nc,) + x.shape[2:]))
    return logits.softmax(-1).view(n, nc, -1).mean(1)


def build_model(**kwargs: Any) -> AAGCN:
    """Build an :class:`AAGCN` from keyword arguments of :class:`AAGCNConfig`."""
    return AAGCN(AAGCNConfig(**kwargs))
