"""The CPU inference path: an AAGCN in eval mode, folded and stacked once into a frozen object.

:func:`prepare_inference` follows timm's reparameterise-once idea. It takes an
:class:`~aagcn_lab.model.aagcn.AAGCN` and computes, once, everything eval-mode inference can
precompute:

* every batch norm folded into the convolution before it (:func:`fold_batch_norm`), data BN into
  a per-(person slot, joint, channel) scale and shift;
* ``W_k`` of the K subsets stacked into one convolution, ``theta_k`` / ``phi_k`` into one matrix,
  every convolution weight laid out channels-last;
* the static graphs, ``alpha``, the attention and classifier weights copied.

The returned :class:`PreparedAAGCN` computes the model's eval-mode function with activations laid
out ``(N, T, V, C)`` (oneDNN's fastest layout for these 1x1 and ``(k, 1)`` convolutions, and the
means of the attention reduce in memory order), the K aggregations written side by side, and the
residuals, ReLUs and attention applied in place. An absent (all-zero) person is not computed at
all: in eval mode its pooled features depend only on the weights, its person slot and the clip's
shape, so each is computed once, alone, and kept (:meth:`PreparedAAGCN.absent_features`). A live
stream of one person in a two-person model computes one row instead of two.

``dtype=torch.bfloat16`` (or ``"bf16"``) is the reduced-precision option, never a default: the
convolutions, the aggregation and the embeddings run in bfloat16 (oneDNN's AVX-512 BF16 / AMX
kernels where the CPU has them: about 2x the fp32 rate on the bench machine), while data BN, the
data-dependent graph ``C_k`` (a tanh or softmax of sums over ``C_e * T``), the attention gates and
the head stay in float32, and the logits are float32. Its accuracy against fp32 is measured, not
assumed (README, Performance). The default keeps the model's own dtype (float32, or float64 in the
exactness tests).

The object is a **snapshot**: it holds copies of the weights and BN statistics taken when it was
made. After the weights change (a training step, ``load_state_dict``), make a new one; evaluation
prepares once per evaluation. Where the fast path does not apply -- a model or input off the CPU,
CPU autocast active, or the model put back into train mode since -- it runs the model itself in
eval mode (:meth:`PreparedAAGCN.__call__`, one line). It never records gradients.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .aagcn import clip_probabilities
from .absent import absent_persons
from .gate_conv import gate_conv
from .modes import eval_mode

if TYPE_CHECKING:
    from .aagcn import AAGCN, AAGCNBlock, AdaptiveGraphConv

__all__ = ["prepare_inference", "PreparedAAGCN", "fold_batch_norm", "inference_dtype"]

DTYPES = {"fp32": torch.float32, "float32": torch.float32, "bf16": torch.bfloat16, "bfloat16": torch.bfloat16, "fp64": torch.float64, "float64": torch.float64}


def inference_dtype(dtype: torch.dtype | str | None) -> torch.dtype | None:
    """``None`` (the model's own dtype), a ``torch.dtype`` or its name (``"fp32"``, ``"bf16"``, ...), else ValueError."""
    if dtype is None or isinstance(dtype, torch.dtype) and dtype in DTYPES.values():
        return dtype
    if isinstance(dtype, str) and dtype.lower() in DTYPES:
        return DTYPES[dtype.lower()]
    raise ValueError(f"inference dtype must be one of {sorted(DTYPES)} (or None: the model's own), got {dtype!r}")


def fold_batch_norm(conv_weight: Tensor, conv_bias: Tensor, bn: nn.BatchNorm2d) -> tuple[Tensor, Tensor]:
    """Weights and bias of one convolution equal to eval-mode ``bn(conv(x))``.

    ``bn(z) = (z - mean) * s + beta`` with ``s = gamma / sqrt(var + eps)`` is affine per output
    channel, so it folds into the convolution: ``W' = W * s``, ``b' = (b - mean) * s + beta``.
    Saves a pass over every activation at inference; the same function up to rounding.
    """
    s = bn.weight * torch.rsqrt(bn.running_var + bn.eps)
    return conv_weight * s.view(-1, *([1] * (conv_weight.dim() - 1))), (conv_bias - bn.running_mean) * s + bn.bias


def _copy(t: Tensor, dtype: torch.dtype | None = None) -> Tensor:
    return t.detach().to(dtype, copy=True)


class _Conv:
    """A ``(k, 1)`` or 1x1 convolution with its BN folded in, on ``(N, T, V, C)`` activations.

    Runs over the NHWC view, where oneDNN has its fastest kernels; for the 1x1 convolutions this
    also beats a BLAS matrix product over ``(N*T*V, C)`` (1.3-2.5x on the bench machine, ``C`` of
    64-768 and ``C_out`` of 64-256).
    """

    def __init__(
        self, weight: Tensor, bias: Tensor, bn: nn.BatchNorm2d, stride: tuple = (1, 1), padding: tuple = (0, 0), dtype: torch.dtype | None = None
    ) -> None:
        w, b = fold_batch_norm(weight, bias, bn)  # folded in the model's precision, then rounded once
        self.weight, self.bias = w.to(dtype).contiguous(memory_format=torch.channels_last), b.to(dtype)
        self.stride, self.padding = stride, padding

    @classmethod
    def of(cls, conv: nn.Conv2d, bn: nn.BatchNorm2d, dtype: torch.dtype | None = None) -> _Conv:
        """``bn(conv(x))`` folded."""
        return cls(conv.weight, conv.bias, bn, conv.stride, conv.padding, dtype)

    def __call__(self, x: Tensor) -> Tensor:
        y = F.conv2d(x.permute(0, 3, 1, 2), self.weight, self.bias, self.stride, self.padding)
        return y.permute(0, 2, 3, 1).contiguous()  # already laid out so: a view


class _Unit:
    """One :class:`~aagcn_lab.model.aagcn.AdaptiveGraphConv`, prepared: ``(N, T, V, C) -> (N, T, V, C_out)``."""

    def __init__(self, gcn: AdaptiveGraphConv, dtype: torch.dtype | None = None) -> None:
        self.k = gcn.num_subset
        self.static = _copy(gcn.static_graph())  # (K, V, V), in the model's precision
        self.alpha = _copy(gcn.alpha) if hasattr(gcn, "alpha") else None
        self.embedding = None  # theta_k / phi_k of all subsets as one (K*2*C_e, C) matrix and bias
        if gcn.data_dependent:
            w, b = gcn.embedding_weights()
            self.embedding = (_copy(w.flatten(1), dtype), _copy(b[:, None], dtype))
            self.data_graph_of_embeddings = gcn.data_graph_of_embeddings  # reads only the unit's sizes
        self.conv = _Conv(*gcn.stacked_weights(), gcn.bn, dtype=dtype)  # BN(sum_k W_k ...) in one convolution
        self.down = None if isinstance(gcn.down, nn.Identity) else _Conv.of(gcn.down[0], gcn.down[1], dtype)
        self.spatial = (_copy(gcn.conv_sa.weight), _copy(gcn.conv_sa.bias), gcn.conv_sa.padding[0]) if gcn.use_spatial else None
        self.temporal = (_copy(gcn.conv_ta.weight), _copy(gcn.conv_ta.bias), gcn.conv_ta.padding[0]) if gcn.use_temporal else None
        fc = (gcn.fc1c.weight, gcn.fc1c.bias, gcn.fc2c.weight, gcn.fc2c.bias) if gcn.use_channel else None
        self.channel = tuple(_copy(t) for t in fc) if fc else None

    def graph(self, x: Tensor) -> Tensor:
        """``G_k`` per sample ``(N, K, V, V)``, or the static graph ``(K, V, V)``."""
        if self.embedding is None:
            return self.static
        n, t, v, c = x.shape
        w, b = self.embedding
        emb = torch.matmul(w, x.view(n, t * v, c).transpose(1, 2)).add_(b)  # per sample (K*2*C_e, C) @ (C, T*V)
        c_k = self.data_graph_of_embeddings(emb.view(n, -1, t, v).to(self.static.dtype))  # sums over C_e*T in full precision
        return self.static + c_k if self.alpha is None else self.static + self.alpha * c_k

    def __call__(self, x: Tensor) -> Tensor:
        n, t, v, c = x.shape
        k = self.k
        gt = self.graph(x).movedim(-1, -3).reshape(-1, v * k, v).to(x.dtype)  # [(w, k), v] = G_k[v, w], per sample or shared
        agg = x.new_empty((n, t, v * k, c))  # (N, T, W*K, C): sum_v G_k[v, w] x[.., v, :] for every (w, k)
        for i in range(n):  # one batched product over T per sample
            torch.bmm(gt[i if len(gt) > 1 else 0].expand(t, v * k, v), x[i], out=agg[i])
        y = self.conv(agg.view(n, t, v, k * c))
        y.add_(x if self.down is None else self.down(x))
        return self.attend(y.relu_())

    def attend(self, y: Tensor) -> Tensor:
        """Spatial, temporal, channel attention in place, ``y * (1 + a)``; the means reduce in memory order
        and the gates' one-channel convolutions read them channels-last (model/gate_conv.py), in the
        model's precision when ``y`` is bf16 (they are small)."""
        n, t, v, c = y.shape
        full = self.static.dtype
        if self.spatial is not None:
            a = torch.sigmoid(gate_conv(y.mean(1, dtype=full), *self.spatial))  # (N, V)
            y.mul_((1 + a).to(y.dtype).view(n, 1, v, 1))
        if self.temporal is not None:
            a = torch.sigmoid(gate_conv(y.mean(2, dtype=full), *self.temporal))  # (N, T)
            y.mul_((1 + a).to(y.dtype).view(n, t, 1, 1))
        if self.channel is not None:
            w1, b1, w2, b2 = self.channel
            a = torch.sigmoid(F.linear(F.relu(F.linear(y.mean((1, 2), dtype=full), w1, b1)), w2, b2))  # (N, C)
            y.mul_((1 + a).to(y.dtype).view(n, 1, 1, c))
        return y


class _Block:
    """One :class:`~aagcn_lab.model.aagcn.AAGCNBlock`, prepared: ``ReLU(tcn(gcn(x)) + residual(x))`` in place."""

    def __init__(self, block: AAGCNBlock, dtype: torch.dtype | None = None) -> None:
        self.unit = _Unit(block.gcn, dtype)
        self.tcn = _Conv.of(block.tcn.conv, block.tcn.bn, dtype)
        self.kind = block.residual_kind
        self.residual = _Conv.of(block.residual.conv, block.residual.bn, dtype) if self.kind == "conv" else None

    def __call__(self, x: Tensor) -> Tensor:
        out = self.tcn(self.unit(x))
        if self.kind == "identity":
            out.add_(x)
        elif self.kind == "conv":
            out.add_(self.residual(x))
        return out.relu_()


class PreparedAAGCN:
    """An :class:`~aagcn_lab.model.aagcn.AAGCN` prepared for CPU inference (see the module docstring).

    ``prepared(x)`` gives the logits of eval-mode ``model(x)``, ``prepared.forward_test(x)`` the
    clip-averaged probabilities of ``model.forward_test(x)``; ``model`` is the model it was made from,
    ``dtype`` the precision of its convolutions (``None``: the model's own).
    """

    def __init__(self, model: AAGCN, dtype: torch.dtype | str | None = None) -> None:
        self.model = model.eval()
        self.dtype = inference_dtype(dtype)
        self.blocks: list[_Block] | None = None
        if next(model.parameters()).device.type != "cpu":
            return  # nothing to prepare: __call__ runs the model
        bb = model.backbone
        with torch.no_grad():
            self.embed = self._data_bn(bb.data_bn, model.cfg.data_bn_type, model.cfg.num_person, bb.num_joints, model.cfg.in_channels)
            self.blocks = [_Block(block, self.dtype) for block in bb.gcn]
            self.head = (_copy(model.cls_head.fc_cls.weight), _copy(model.cls_head.fc_cls.bias))
        self.share_absent_persons = bb.share_absent_persons
        self._absent: dict[tuple, Tensor] = {}  # (slot, T, V, C, input dtype) -> pooled features (C',)

    @staticmethod
    def _data_bn(bn: nn.Module, kind: str, m: int, v: int, c: int) -> tuple[Tensor, Tensor] | None:
        """Eval-mode data BN as ``x * scale + shift`` on ``(N, M, T, V, C)``: shapes ``(M or 1, 1, V, C)``."""
        if kind == "none":
            return None
        s = bn.weight * torch.rsqrt(bn.running_var + bn.eps)
        shape = (m if kind == "MVC" else 1, 1, v, c)  # channel = m*V*C + v*C + c
        return s.view(shape).clone(), (bn.bias - bn.running_mean * s).view(shape).clone()

    def __call__(self, x: Tensor) -> Tensor:
        """Logits ``(N, num_classes)`` of ``(N, M, T, V, C)``, as the model's eval-mode forward."""
        if self.blocks is None or x.device.type != "cpu" or torch.is_autocast_enabled("cpu") or self.model.training:
            return _plain_eval(self.model, x, self.dtype)  # where the prepared path does not apply: the model itself
        with torch.no_grad():
            return F.linear(self._pooled(x).mean(1), *self.head)

    def _pooled(self, x: Tensor) -> Tensor:
        """Every person's backbone features pooled over frames and joints, ``(N, M, C')`` in the head's
        dtype (:meth:`GCNHead.pool <aagcn_lab.model.aagcn.GCNHead.pool>` before its mean over persons);
        absent persons from :meth:`absent_features`."""
        self.model.check_input(x)
        n, m, t, v, c = x.shape
        absent = absent_persons(x).reshape(-1) if self.share_absent_persons else x.new_zeros(n * m, dtype=torch.bool)
        out = x.new_empty((n * m, self.head[0].shape[1]), dtype=self.head[0].dtype)
        present = torch.nonzero(~absent).squeeze(1)
        if len(present):
            out[present] = self._rows(x.reshape(n * m, t, v, c)[present], present % m)
        for slot in torch.unique(torch.nonzero(absent).squeeze(1) % m).tolist():
            out[slot::m][absent[slot::m]] = self.absent_features(slot, x)
        return out.view(n, m, -1)

    def _rows(self, h: Tensor, slots: Tensor) -> Tensor:
        """Persons ``(R, T, V, C)`` of person slots ``slots`` through data BN and the blocks, pooled: ``(R, C')``."""
        if self.embed is not None:
            scale, shift = self.embed
            h = h * scale[slots % len(scale)] + shift[slots % len(shift)]
        h = h.to(self.dtype)  # (R, T, V, C): channels last from the start
        for block in self.blocks:
            h = block(h)
        return h.mean((1, 2), dtype=self.head[0].dtype)  # over T' and V

    def absent_features(self, slot: int, x: Tensor) -> Tensor:
        """The pooled features ``(C',)`` of an all-zero person in ``slot`` of a clip shaped like ``x``
        ``(N, M, T, V, C)``: computed once per slot, shape and dtype, then kept (they depend on nothing else)."""
        key = (slot, *x.shape[2:], x.dtype)
        if key not in self._absent:
            zero = x.new_zeros((1, *x.shape[2:]))
            self._absent[key] = self._rows(zero, torch.tensor([slot]))[0]
        return self._absent[key]

    def forward_test(self, x: Tensor) -> Tensor:
        """``(N, clips, M, T, V, C)`` (or one clip) -> probabilities averaged over clips, as ``model.forward_test``."""
        return clip_probabilities(self, x)


def _plain_eval(model: AAGCN, x: Tensor, dtype: torch.dtype | None = None) -> Tensor:
    """``model(x)`` in eval mode without autograd (under autocast to ``dtype`` when it is a reduced
    precision), leaving the model's mode as it was."""
    if dtype not in (torch.bfloat16, torch.float16):  # an autocast the caller entered stays in force
        with eval_mode(model), torch.no_grad():
            return model(x)
    with eval_mode(model), torch.no_grad(), torch.autocast(x.device.type, dtype=dtype):
        return model(x).float()


def prepare_inference(model: AAGCN, dtype: torch.dtype | str | None = None) -> PreparedAAGCN:
    """Put ``model`` in eval mode and prepare it for CPU inference once (a snapshot of its weights:
    make a new one after they change); ``dtype="bf16"`` runs its convolutions in bfloat16 (an
    explicit option). Off the CPU the result runs the model (under autocast for bf16)."""
    return PreparedAAGCN(model, dtype)
