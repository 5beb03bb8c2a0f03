"""MS-AAGCN (Shi et al., "Skeleton-Based Action Recognition with Multi-Stream Adaptive Graph
Convolutional Networks", IEEE TIP 2020), exactly as pyskl implements it.

Read top to bottom: the config, then the parts in the order they compose --
:class:`TemporalConv` (unit_tcn), :class:`AdaptiveGraphConv` (unit_aagcn: the adaptive graph
convolution of Eq. 4-6 and the STC attention of Eq. 7-9), :class:`AAGCNBlock`,
:class:`AAGCNBackbone`, :class:`GCNHead` and the whole :class:`AAGCN`.

Module and parameter names follow pyskl (``backbone.gcn.3.gcn.conv_d.1.weight`` ...), so pyskl's
released checkpoints load without renaming. Shapes: N batch, M persons, T frames, V joints,
C channels, K = 3 graph subsets.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..graph import Layout, get_layout, spatial_partition

__all__ = [
    "share_absent_persons",
    "batch_norm",
    "fold_batch_norm",
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
]

GRAPH_VARIANTS = ("tip", "cvpr", "fixed")


@dataclass
class AAGCNConfig:
    """Everything that defines an AAGCN. Defaults are pyskl's (and the TIP paper's).

    ``graph`` picks the adaptive-graph variant:

    * ``'tip'`` -- pyskl / TIP'20: a learnable graph ``B_k`` initialised to the partition, plus
      ``alpha * tanh(C_k)`` with a single scalar ``alpha`` initialised to 0 (Eq. 5-6);
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
    num_person: int = 2
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
    """``normal(0, sqrt(2 / (out * in * kw * branches)))``, bias 0 (the paper's W_k init)."""
    n, k1, k2 = conv.weight.shape[:3]
    nn.init.normal_(conv.weight, 0, math.sqrt(2.0 / (n * k1 * k2 * branches)))
    nn.init.constant_(conv.bias, 0)


# ------------------------------------------------------------------------------------------------
# Sharing the computation of absent persons
# ------------------------------------------------------------------------------------------------
#
# pyskl zero-pads the person axis to M = 2, and the padded person goes through the whole network.
# Every zero-padded person of the same slot enters the blocks with the same values (data BN maps
# zeros to a per-channel constant), and after that the only operation that mixes samples is
# BatchNorm's batch statistics in training. So we compute each slot's absent person once and let it
# count as many times as it occurs in the BN statistics -- the same function, and about 40% less
# work on NTU, where most actions have one person. ``weight`` below is that multiplicity per row.


@torch.compiler.disable  # data-dependent bookkeeping on an (N, M) mask: eager, outside any compiled graph
def share_absent_persons(x: Tensor) -> tuple[Tensor, Tensor, Tensor] | None:
    """Rows to compute for input ``(N, M, T, V, C)``: ``(keep, inverse, weight)`` or ``None``.

    ``keep`` indexes the N*M persons that are computed (present persons plus one all-zero person
    per slot), ``inverse`` maps every person to its computed row and ``weight`` counts how many
    persons each computed row stands for. ``None`` when no two absent persons share a slot.
    (Traced by ``torch.compile`` it crashes inductor 2.13's scheduler, hence eager.)
    """
    n, m = x.shape[:2]
    absent = x.reshape(n, m, -1).abs().amax(-1) == 0  # (N, M)
    if int(absent.sum(0).max()) < 2:
        return None
    flat = absent.reshape(-1)
    slot = torch.arange(n * m, device=x.device) % m
    first_absent = {int(s): int(torch.nonzero(flat & (slot == s))[0]) for s in range(m) if absent[:, s].any()}
    keep_mask = ~flat
    for idx in first_absent.values():
        keep_mask[idx] = True
    keep = torch.nonzero(keep_mask).squeeze(1)
    position = torch.full((n * m,), -1, dtype=torch.long, device=x.device)
    position[keep] = torch.arange(len(keep), device=x.device)
    inverse = position.clone()
    for s, idx in first_absent.items():
        inverse[flat & (slot == s)] = position[idx]
    weight = torch.bincount(inverse, minlength=len(keep)).to(x.dtype)
    return keep, inverse, weight


def batch_norm(bn: nn.BatchNorm2d, x: Tensor, weight: Tensor | None = None) -> Tensor:
    """``bn(x)``, where row ``i`` of ``x`` counts ``weight[i]`` times in the training statistics."""
    if weight is None or not bn.training:
        return bn(x)
    if x.dtype != bn.weight.dtype:  # autocast: statistics in the parameters' precision, as BatchNorm2d keeps them
        with torch.autocast(x.device.type, enabled=False):
            return batch_norm(bn, x.to(bn.weight.dtype), weight.to(bn.weight.dtype)).to(x.dtype)
    n = weight.sum() * x.shape[2] * x.shape[3]
    mean = (weight @ x.sum((2, 3))) / n
    centred = x - mean[None, :, None, None]
    var = (weight @ centred.square().sum((2, 3))) / n
    with torch.no_grad():  # running statistics exactly as nn.BatchNorm2d keeps them
        bn.num_batches_tracked += 1
        mom = bn.momentum if bn.momentum is not None else 1.0 / float(bn.num_batches_tracked)
        bn.running_mean.mul_(1 - mom).add_(mom * mean)
        bn.running_var.mul_(1 - mom).add_(mom * var * n / (n - 1))
    scale = bn.weight * torch.rsqrt(var + bn.eps)
    return centred * scale[None, :, None, None] + bn.bias[None, :, None, None]


def conv_channels_last(x: Tensor, weight: Tensor, bias: Tensor, stride: tuple[int, int] = (1, 1), padding: tuple[int, int] = (0, 0)) -> Tensor:
    """A ``(k, 1)`` convolution on channels-last activations, ``(N, T, V, C) -> (N, T', V, C_out)``.

    Runs over the NHWC view, where oneDNN has its fastest kernels; for the 1x1 convolutions this
    also beats a BLAS matrix product over ``(N*T*V, C)`` (1.3-2.5x on the bench machine, ``C`` of
    64-768 and ``C_out`` of 64-256).
    """
    y = F.conv2d(x.permute(0, 3, 1, 2), weight.contiguous(memory_format=torch.channels_last), bias, stride, padding)
    return y.permute(0, 2, 3, 1).contiguous()  # already laid out so: a view


def fold_batch_norm(conv_weight: Tensor, conv_bias: Tensor, bn: nn.BatchNorm2d) -> tuple[Tensor, Tensor]:
    """Weights and bias of one convolution equal to eval-mode ``bn(conv(x))``.

    ``bn(z) = (z - mean) * s + beta`` with ``s = gamma / sqrt(var + eps)`` is affine per output
    channel, so it folds into the convolution: ``W' = W * s``, ``b' = (b - mean) * s + beta``.
    Saves a pass over every activation at inference; the same function up to rounding.
    """
    s = bn.weight * torch.rsqrt(bn.running_var + bn.eps)
    return conv_weight * s.view(-1, *([1] * (conv_weight.dim() - 1))), (conv_bias - bn.running_mean) * s + bn.bias


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
        self.conv = nn.Conv2d(in_channels, out_channels, (kernel_size, 1), padding=(pad, 0), stride=(stride, 1))
        self.bn = nn.BatchNorm2d(out_channels)

    def init_weights(self) -> None:
        """Kaiming-normal (fan-out) conv, BN weight 1 (pyskl)."""
        _conv_init(self.conv)
        _bn_init(self.bn, 1)

    def forward(self, x: Tensor, weight: Tensor | None = None) -> Tensor:
        return batch_norm(self.bn, self.conv(x), weight)

    def infer(self, x: Tensor) -> Tensor:
        """Inference on channels-last activations ``(N, T, V, C) -> (N, T', V, C_out)``, BN folded."""
        return conv_channels_last(x, *fold_batch_norm(self.conv.weight, self.conv.bias, self.bn), self.conv.stride, self.conv.padding)


# ------------------------------------------------------------------------------------------------
# Adaptive graph convolution with spatial-temporal-channel attention
# ------------------------------------------------------------------------------------------------


class AdaptiveGraphConv(nn.Module):
    """pyskl ``unit_aagcn``: the adaptive graph convolution followed by STC attention.

    Graph convolution (paper Eq. 4-6, 'tip' variant)::

        C_k   = tanh( theta_k(x)^T phi_k(x) / (C_e * T) )          # (N, V, V), data-dependent
        G_k   = B_k + alpha * C_k                                   # B_k learnable, alpha scalar
        y     = sum_k W_k (x G_k)                                    # aggregate joints, then 1x1 conv
        y     = ReLU( BN(y) + down(x) )

    STC attention (Eq. 7-9), each residual ``y <- y * a + y``, in this order::

        spatial   a = sigmoid( conv_sa( mean_T y ) )                # (N, 1, 1, V)
        temporal  a = sigmoid( conv_ta( mean_V y ) )                # (N, 1, T, 1)
        channel   a = sigmoid( fc2c( ReLU( fc1c( mean_TV y ) ) ) )  # (N, C, 1, 1)

    ``A`` holds ``B_k`` as a parameter ('tip'), the fixed partition as a buffer ('cvpr' and
    'fixed'); 'cvpr' adds the parameter ``PA`` (init 1e-6) and uses ``softmax`` over source joints
    instead of ``tanh`` and no ``alpha``.
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
        self.inter_c = out_channels // coff_embedding
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
            self.alpha = nn.Parameter(torch.zeros(1))

        self.conv_d = nn.ModuleList(nn.Conv2d(in_channels, out_channels, 1) for _ in range(num_subset))  # W_k
        if self.data_dependent:
            self.conv_a = nn.ModuleList(nn.Conv2d(in_channels, self.inter_c, 1) for _ in range(num_subset))  # theta_k
            self.conv_b = nn.ModuleList(nn.Conv2d(in_channels, self.inter_c, 1) for _ in range(num_subset))  # phi_k

        self.use_spatial, self.use_temporal, self.use_channel = spatial_attention, temporal_attention, channel_attention
        if temporal_attention:
            self.conv_ta = nn.Conv1d(out_channels, 1, 9, padding=4)
        if spatial_attention:
            ks = num_joints if num_joints % 2 else num_joints - 1
            self.conv_sa = nn.Conv1d(out_channels, 1, ks, padding=(ks - 1) // 2)
        if channel_attention:
            rr = 2
            self.fc1c = nn.Linear(out_channels, out_channels // rr)
            self.fc2c = nn.Linear(out_channels // rr, out_channels)

        if in_channels != out_channels:
            self.down = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1), nn.BatchNorm2d(out_channels))
        else:
            self.down = nn.Identity()
        self.bn = nn.BatchNorm2d(out_channels)

    # -- initialisation ---------------------------------------------------------------------------
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

    # -- the graph ---------------------------------------------------------------------------------
    def static_graph(self) -> Tensor:
        """The sample-independent part of the graph, ``(K, V, V)``: ``B_k`` ('tip'), ``A_k + B_k``
        ('cvpr') or ``A_k`` ('fixed')."""
        return self.A + self.PA if self.graph == "cvpr" else self.A

    def data_graph(self, x: Tensor, channels_last: bool = False) -> Tensor:
        """The data-dependent graph ``C_k`` (Eq. 5): ``(N, C, T, V) -> (N, K, V, V)``.

        With ``channels_last`` the input is ``(N, T, V, C)``. Either way the embeddings of every
        subset come out of one product, laid out ``(N, K, [theta, phi], C_e*T, V)`` so that
        ``theta_k^T phi_k`` is one batched product over views, with no copies.
        """
        k, ci = self.num_subset, self.inter_c
        w = torch.cat([torch.cat([a.weight, b.weight]) for a, b in zip(self.conv_a, self.conv_b)])  # (K*2*C_e, C, 1, 1)
        b = torch.cat([torch.cat([a.bias, b.bias]) for a, b in zip(self.conv_a, self.conv_b)])
        if channels_last:  # per sample (K*2*C_e, C) @ (C, T*V); the inference path: bias in place
            n, t, v, c = x.shape
            emb = torch.matmul(w.view(-1, c), x.view(n, t * v, c).transpose(1, 2)).add_(b[:, None])
        else:
            n, _, t, v = x.shape
            emb = F.conv2d(x, w, b)
        emb = emb.reshape(n * k, 2, ci * t, v)
        scores = torch.bmm(emb[:, 0].transpose(1, 2), emb[:, 1]).view(n, k, v, v) / (ci * t)  # (N, K, V, V)
        return torch.tanh(scores) if self.graph == "tip" else torch.softmax(scores, dim=-2)

    def effective_graph(self, x: Tensor, trace: dict | None = None, channels_last: bool = False) -> Tensor:
        """``G_k = B_k + alpha C_k`` per sample, ``(N, K, V, V)``, or ``(K, V, V)`` without C."""
        g = self.static_graph()
        if not self.data_dependent:
            return g
        c = self.data_graph(x, channels_last)
        if trace is not None:
            trace["data_graph"] = c.detach()
        return g + self.alpha * c if self.graph == "tip" else g + c

    # -- forward -----------------------------------------------------------------------------------
    def stacked_weights(self) -> tuple[Tensor, Tensor]:
        """``sum_k W_k (x G_k)`` is one 1x1 convolution over the K aggregations stacked as channels:
        its weight ``(C_out, K*C_in, 1, 1)`` and bias (the sum of the K biases)."""
        w = torch.cat([conv.weight for conv in self.conv_d], dim=1)
        return w, torch.stack([conv.bias for conv in self.conv_d]).sum(0)

    def forward(self, x: Tensor, trace: dict | None = None, weight: Tensor | None = None) -> Tensor:
        n, c, t, v = x.shape
        k = self.num_subset
        g = self.effective_graph(x, trace)  # (N, K, V, V), or (K, V, V) without C_k
        # (N, C*T, V) @ (N, V, K*V) -> (N, C, T, K, V), regrouped to (N, K*C, T, V)
        g_cat = g.transpose(-3, -2).reshape(*g.shape[:-3], v, k * v)
        agg = torch.matmul(x.reshape(n, c * t, v), g_cat).view(n, c, t, k, v).permute(0, 3, 1, 2, 4).reshape(n, k * c, t, v)
        y = F.conv2d(agg, *self.stacked_weights())
        res = x if isinstance(self.down, nn.Identity) else batch_norm(self.down[1], self.down[0](x), weight)
        y = F.relu(batch_norm(self.bn, y, weight) + res)
        return self.attend(y, trace)

    def infer(self, x: Tensor, trace: dict | None = None) -> Tensor:
        """Inference (eval mode, no autograd) on channels-last activations ``(N, T, V, C) -> (N, T, V, C_out)``.

        The same function as :meth:`forward`, laid out for the CPU: with channels last, every 1x1
        convolution runs on the NHWC view (:func:`conv_channels_last`), the joints of the K subsets sit side
        by side so ``sum_k W_k (x G_k)`` is a single convolution with the stacked weights, BN is
        folded into the weights, and the residual, ReLU and attention work in place.
        """
        n, t, v, c = x.shape
        k = self.num_subset
        g = self.effective_graph(x, trace, channels_last=True)  # (N, K, V, W), or (K, V, W)
        gt = g.movedim(-1, -3).reshape(-1, v * k, v)  # [(w, k), v] = G_k[v, w], per sample or shared
        agg = x.new_empty((n, t, v * k, c))  # (N, T, W*K, C): sum_v G_k[v, w] x[.., v, :] for every (w, k)
        for i in range(n):  # one batched product over T per sample
            torch.bmm(gt[i if len(gt) > 1 else 0].expand(t, v * k, v), x[i], out=agg[i])
        w, b = fold_batch_norm(*self.stacked_weights(), self.bn)
        y = conv_channels_last(agg.view(n, t, v, k * c), w, b)
        if isinstance(self.down, nn.Identity):
            y.add_(x)
        else:
            y.add_(conv_channels_last(x, *fold_batch_norm(self.down[0].weight, self.down[0].bias, self.down[1])))
        return self.attend(y.relu_(), trace, channels_last=True)

    def attend(self, y: Tensor, trace: dict | None = None, channels_last: bool = False) -> Tensor:
        """Spatial, then temporal, then channel attention, each ``y * a + y``.

        ``y`` is ``(N, C, T, V)``, or ``(N, T, V, C)`` with ``channels_last`` (the inference path):
        the means then reduce in memory order (over a permuted view they are 3-4x slower).
        """
        in_place = not torch.is_grad_enabled()  # y * (1 + a) in one pass over y, no new tensor
        c_dim, t_dim, v_dim = (3, 1, 2) if channels_last else (1, 2, 3)

        def pooled(dim: int) -> Tensor:  # the mean over one of T, V as (N, C, L), contiguous for Conv1d
            m = y.mean(dim)
            return (m.transpose(1, 2) if channels_last else m).contiguous()

        def along(a: Tensor, dim: int) -> Tensor:  # (N, L) -> broadcastable against y along dim
            return a.view([a.shape[0]] + [a.shape[1] if d == dim else 1 for d in (1, 2, 3)])

        def scale(y: Tensor, a: Tensor, dim: int) -> Tensor:
            return y.mul_(1 + along(a, dim)) if in_place else y * along(a, dim) + y

        if self.use_spatial:
            a = torch.sigmoid(self.conv_sa(pooled(t_dim)))[:, 0]  # (N, V)
            y = scale(y, a, v_dim)
            if trace is not None:
                trace["spatial"] = a.detach()
        if self.use_temporal:
            a = torch.sigmoid(self.conv_ta(pooled(v_dim)))[:, 0]  # (N, T)
            y = scale(y, a, t_dim)
            if trace is not None:
                trace["temporal"] = a.detach()
        if self.use_channel:
            a = torch.sigmoid(self.fc2c(F.relu(self.fc1c(y.mean((t_dim, v_dim))))))  # (N, C)
            y = scale(y, a, c_dim)
            if trace is not None:
                trace["channel"] = a.detach()
        return y


# ------------------------------------------------------------------------------------------------
# Block, backbone, head
# ------------------------------------------------------------------------------------------------


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
            self.residual_kind = "none"
        elif in_channels == out_channels and stride == 1:
            self.residual_kind = "identity"
        else:
            self.residual_kind = "conv"
            self.residual = TemporalConv(in_channels, out_channels, kernel_size=1, stride=stride)

    def init_weights(self, init: str = "pyskl") -> None:
        """pyskl re-initialises tcn and gcn only: a residual conv keeps PyTorch's default init."""
        self.tcn.init_weights()
        self.gcn.init_weights()
        if init == "original" and self.residual_kind == "conv":
            self.residual.init_weights()

    def forward(self, x: Tensor, trace: dict | None = None, weight: Tensor | None = None) -> Tensor:
        out = self.tcn(self.gcn(x, trace, weight), weight)
        if self.residual_kind == "identity":
            out = out + x
        elif self.residual_kind == "conv":
            out = out + self.residual(x, weight)
        return F.relu(out)

    def infer(self, x: Tensor, trace: dict | None = None) -> Tensor:
        """Inference on channels-last activations ``(N, T, V, C)`` (see :meth:`AdaptiveGraphConv.infer`)."""
        out = self.tcn.infer(self.gcn.infer(x, trace))
        if self.residual_kind == "identity":
            out.add_(x)
        elif self.residual_kind == "conv":
            out.add_(self.residual.infer(x))
        return out.relu_()


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
        self.channels_last = False  # run the blocks in channels-last memory format (a speed option)

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

    def forward(self, x: Tensor, traces: list[dict] | None = None, share_absent: bool = True) -> Tensor:
        n, m = x.shape[:2]
        shared = share_absent_persons(x) if share_absent and traces is None else None
        h = self.embed(x)  # (N*M, C, T, V)
        if self.channels_last:
            h = h.contiguous(memory_format=torch.channels_last)
        weight = None
        if shared is not None:  # compute each slot's absent person once (see share_absent_persons)
            keep, inverse, weight = shared
            h = h[keep]
            if not self.training:
                weight = None  # eval-mode BN treats rows independently: no weighting needed
        # the blocks' inference path: laid out for the CPU in the parameters' precision (its
        # products write in place, which autocast does not cover); GPUs and autocast use forward()
        inference = not self.training and not torch.is_grad_enabled() and h.device.type == "cpu" and not torch.is_autocast_enabled("cpu")
        if inference:  # channels-last activations
            h = h.permute(0, 2, 3, 1).contiguous()  # (N*M, T, V, C)
        for block in self.gcn:
            trace = None
            if traces is not None:
                trace = {}
                traces.append(trace)
            h = block.infer(h, trace) if inference else block(h, trace, weight)
        if inference:
            h = h.permute(0, 3, 1, 2)
        if shared is not None:
            h = h[inverse]
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

    def pool(self, feat: Tensor) -> Tensor:
        """``(N, M, C, T, V) -> (N, C)``: mean over T and V, then over persons (a zero-padded
        person counts)."""
        return feat.mean((-2, -1)).mean(1)

    def forward(self, feat: Tensor) -> Tensor:
        return self.fc_cls(self.dropout(self.pool(feat)))


# ------------------------------------------------------------------------------------------------
# The whole model
# ------------------------------------------------------------------------------------------------


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


class AAGCN(nn.Module):
    """Backbone + head (pyskl's ``RecognizerGCN``): ``(N, M, T, V, C)`` -> logits ``(N, classes)``.

    * :meth:`forward` -- training/eval logits;
    * :meth:`forward_test` -- ``(N, clips, M, T, V, C)`` -> probabilities averaged over clips
      (softmax per clip, then the mean), pyskl's ``average_clips='prob'``;
    * :meth:`forward_features` / :meth:`forward_head` -- the two halves;
    * :meth:`inspect` -- logits plus every layer's graphs and attention maps, for the notebooks.
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
        self.share_absent_persons = True  # an execution strategy, not part of the model (see above)
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

    def forward_features(self, x: Tensor, traces: list[dict] | None = None) -> Tensor:
        """Backbone features ``(N, M, C', T', V)``."""
        self.check_input(x)
        return self.backbone(x, traces, self.share_absent_persons)

    def forward_head(self, feat: Tensor) -> Tensor:
        """Logits from backbone features."""
        return self.cls_head(feat)

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_head(self.forward_features(x))

    def forward_test(self, x: Tensor) -> Tensor:
        """``(N, clips, M, T, V, C)`` (or a single clip ``(N, M, T, V, C)``) -> averaged probabilities."""
        if x.dim() == 5:
            x = x.unsqueeze(1)
        n, nc = x.shape[:2]
        logits = self(x.reshape((n * nc,) + x.shape[2:]))
        return logits.softmax(-1).view(n, nc, -1).mean(1)

    @torch.no_grad()
    def inspect(self, x: Tensor) -> Inspection:
        """Run ``x`` ``(N, M, T, V, C)`` and return what every layer computed (see :class:`LayerTrace`).

        Uses the model's current mode (call ``model.eval()`` first for inference behaviour).
        """
        raw: list[dict] = []
        feat = self.forward_features(x, raw)
        logits = self.forward_head(feat)
        n, m = x.shape[:2]
        layers = []
        for i, (block, tr) in enumerate(zip(self.backbone.gcn, raw)):
            gcn = block.gcn
            per_person = {k: v.reshape((n, m) + v.shape[1:]) for k, v in tr.items()}
            layers.append(
                LayerTrace(
                    index=i,
                    graph=gcn.static_graph().detach().clone(),
                    alpha=float(gcn.alpha) if hasattr(gcn, "alpha") else None,
                    **per_person,
                )
            )
        return Inspection(logits=logits, probs=logits.softmax(-1), features=feat, layers=layers)

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
        was_training = self.training
        self.eval()
        counter = FlopCounterMode(display=False)
        with counter:
            self(x)
        self.train(was_training)
        return int(counter.get_total_flops())


def build_model(**kwargs: Any) -> AAGCN:
    """Build an :class:`AAGCN` from keyword arguments of :class:`AAGCNConfig`."""
    return AAGCN(AAGCNConfig(**kwargs))
