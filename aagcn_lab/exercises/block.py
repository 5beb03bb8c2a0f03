"""Build one AAGCN unit yourself (notebook 02b) and count its parts (notebook 02).

The unit (pyskl's ``unit_aagcn``, :class:`~aagcn_lab.model.AdaptiveGraphConv`) in stages, each a
small function with a contract and a check; :func:`unit_solution` composes the reference
solutions and :func:`check_unit` compares a learner's composition with the package's layer
stage by stage, in float64, naming the first stage that differs.

Shapes: N samples, C channels, T frames, V joints, K = 3 subsets, C_e embedding channels.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..graph import spatial_partition
from ..model.modes import eval_mode
from .core import (
    Wrong,
    call,
    counted_axis,
    expect_array,
    expect_number,
    joint_axis,
    read_bool,
    read_number,
    register,
    subset_axis,
)
from .graphs import toy_layout

__all__ = [
    "aggregate_solution",
    "data_graph_solution",
    "gate_solution",
    "graph_conv_solution",
    "residual_solution",
    "spatial_attention_solution",
    "temporal_attention_solution",
    "channel_attention_solution",
    "attend_solution",
    "unit_solution",
    "conv1x1",
    "batch_norm_eval",
    "unit_parameters",
    "exercise_layer",
    "toy_inputs",
    "check_unit",
    "STAGES",
]

NB02, NB02B = "02_inside_aagcn", "02b_build_one_block"
_T = torch.float64


# ------------------------------------------------------------------------------------------------
# Helpers the learner is given (not exercises)
# ------------------------------------------------------------------------------------------------


def conv1x1(x: Tensor, w: Tensor, b: Tensor) -> Tensor:
    """A 1x1 convolution: ``(N, C_in, T, V)`` with ``w (C_out, C_in)``, ``b (C_out,)`` -> ``(N, C_out, T, V)``."""
    return torch.einsum("oc,nctv->notv", w, x) + b[None, :, None, None]


def batch_norm_eval(z: Tensor, bn: dict) -> Tensor:
    """Eval-mode batch norm per channel: ``(z - mean) / sqrt(var + eps) * weight + bias`` on ``(N, C, T, V)``."""
    scale = bn["weight"] / torch.sqrt(bn["var"] + bn["eps"])
    return (z - bn["mean"][None, :, None, None]) * scale[None, :, None, None] + bn["bias"][None, :, None, None]


def _bn(bn: nn.BatchNorm2d) -> dict:
    d = _detach
    return {"mean": d(bn.running_mean), "var": d(bn.running_var), "weight": d(bn.weight), "bias": d(bn.bias), "eps": float(bn.eps)}


def _detach(t: Tensor) -> Tensor:
    return t.detach().to(_T).clone()


def unit_parameters(gcn: nn.Module) -> dict[str, Any]:
    """The weights of one :class:`~aagcn_lab.model.AdaptiveGraphConv` as plain float64 tensors.

    ``graph`` ('tip', 'cvpr' or 'fixed'); ``B`` the static graph (K, V, V) (``A_k + B_k`` for
    'cvpr'); ``alpha`` (None without a data-dependent graph or for 'cvpr'); ``theta``/``phi``:
    per subset ``(w (C_e, C_in), b (C_e,))`` or None; ``W`` (K, C_out, C_in), ``b`` (K, C_out);
    ``bn`` (eval-mode statistics); ``down`` None (identity) or ``{"w", "b", "bn"}``; ``spatial``
    and ``temporal`` ``(w (1, C, ks), b (1,))`` or None; ``channel`` ``(w1, b1, w2, b2)`` or None.
    """
    d = _detach
    has_c = hasattr(gcn, "conv_a")
    static = gcn.A + gcn.PA if hasattr(gcn, "PA") else gcn.A
    p: dict[str, Any] = {
        "graph": gcn.graph,
        "B": d(static),
        "alpha": float(gcn.alpha.detach()) if hasattr(gcn, "alpha") else None,
        "theta": [(d(c.weight[:, :, 0, 0]), d(c.bias)) for c in gcn.conv_a] if has_c else None,
        "phi": [(d(c.weight[:, :, 0, 0]), d(c.bias)) for c in gcn.conv_b] if has_c else None,
        "W": torch.stack([d(c.weight[:, :, 0, 0]) for c in gcn.conv_d]),
        "b": torch.stack([d(c.bias) for c in gcn.conv_d]),
        "bn": _bn(gcn.bn),
        "down": None if isinstance(gcn.down, nn.Identity) else {"w": d(gcn.down[0].weight[:, :, 0, 0]), "b": d(gcn.down[0].bias), "bn": _bn(gcn.down[1])},
        "spatial": (d(gcn.conv_sa.weight), d(gcn.conv_sa.bias)) if hasattr(gcn, "conv_sa") else None,
        "temporal": (d(gcn.conv_ta.weight), d(gcn.conv_ta.bias)) if hasattr(gcn, "conv_ta") else None,
        "channel": (d(gcn.fc1c.weight), d(gcn.fc1c.bias), d(gcn.fc2c.weight), d(gcn.fc2c.bias)) if hasattr(gcn, "fc1c") else None,
    }
    return p


def exercise_layer(index: int = 4, seed: int = 0, frames: int = 12, batch: int = 2, **model_options: Any) -> tuple[nn.Module, Tensor]:
    """``(layer, x)``: the graph unit of block ``index`` of pyskl's NTU-25 model, in float64 and eval mode,
    its weights drawn at random (seeded) so that every part matters, and an input ``(batch, C_in, frames, 25)``.

    A fresh layer would hide mistakes: its ``alpha`` is 0 and its main BN scales by 1e-6. Here alpha,
    the BN statistics and the attention weights are all away from their initial values.
    ``model_options``: variants of :class:`~aagcn_lab.model.AAGCNConfig` (``graph``, ``data_dependent``,
    the three attentions). Built once per arguments; every call returns its own copies.
    """
    gcn, x = _exercise_layer(index, seed, frames, batch, tuple(sorted(model_options.items())))
    return copy.deepcopy(gcn), x.clone()


@functools.lru_cache(maxsize=32)
def _exercise_layer(index: int, seed: int, frames: int, batch: int, options: tuple) -> tuple[nn.Module, Tensor]:
    model_options = dict(options)
    from ..model import build_model

    torch.manual_seed(seed)
    model = build_model(layout="nturgb+d", num_classes=60, num_stages=index + 1, **model_options)  # blocks 0..index of the 10
    gcn = copy.deepcopy(model.backbone.gcn[index].gcn).to(_T).eval()
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, prm in gcn.named_parameters():
            if name == "alpha":
                prm.fill_(0.4 + 0.4 * torch.rand(1, generator=g, dtype=_T).item())
            elif name.endswith("A") or name.endswith("PA"):
                prm.add_(0.05 * torch.randn(prm.shape, generator=g, dtype=_T))
            else:
                prm.copy_(0.3 * torch.randn(prm.shape, generator=g, dtype=_T) / max(1.0, prm[0].numel() ** 0.5) + (1.0 if name.endswith("bn.weight") else 0.0))
        for m in gcn.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(0.1 * torch.randn(m.running_mean.shape, generator=g, dtype=_T))
                m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=g, dtype=_T))
    x = torch.randn(batch, gcn.in_channels, frames, gcn.A.shape[-1], generator=g, dtype=_T)
    return gcn, x


def toy_inputs() -> dict[str, Any]:
    """Small numbers for the toy skeleton (neck, head, elbow, hand), to follow each stage by hand."""
    lay = toy_layout()
    x = torch.tensor([1.0, 10.0, 100.0, 1000.0], dtype=_T).view(1, 1, 1, 4)  # one sample, channel, frame
    theta = torch.tensor([[1.0, 0.0, 2.0, 0.0], [0.0, 1.0, 0.0, 1.0]], dtype=_T).view(1, 1, 2, 4)  # C_e = 1, T = 2
    phi = torch.tensor([[0.0, 1.0, 1.0, 0.0], [1.0, 0.0, 0.0, 2.0]], dtype=_T).view(1, 1, 2, 4)
    return {"layout": lay, "x": x, "theta": theta, "phi": phi, "alpha": 0.5}


# ------------------------------------------------------------------------------------------------
# Reference solutions, stage by stage
# ------------------------------------------------------------------------------------------------


def aggregate_solution(x, A):
    """Aggregate over a graph: out[..., w] = sum_v x[..., v] * A[v, w]; x (N, C, T, V), A (V, V) -> (N, C, T, V)."""
    return torch.einsum("nctv,vw->nctw", x, A)


def data_graph_solution(theta, phi):
    """C = tanh(theta^T phi / (C_e * T)) per sample: theta, phi (N, C_e, T, V) -> (N, V, V)."""
    n, ce, t, v = theta.shape
    a = theta.permute(0, 3, 1, 2).reshape(n, v, ce * t)  # (N, V, C_e*T): one row per joint
    b = phi.reshape(n, ce * t, v)  # (N, C_e*T, V): one column per joint
    return torch.tanh(a @ b / (ce * t))


def gate_solution(B, C, alpha):
    """The graph of each sample: G_k = B_k + alpha * C_k; B (K, V, V), C (N, K, V, V), alpha a number -> (N, K, V, V)."""
    return B + alpha * C


def graph_conv_solution(x, G, W, b):
    """y = sum_k (W_k (x G_k) + b_k); x (N, C_in, T, V), G (N, K, V, V) or (K, V, V), W (K, C_out, C_in), b (K, C_out)."""
    if G.dim() == 3:  # one graph for every sample
        G = G.expand(x.shape[0], *G.shape)
    y = 0
    for k in range(W.shape[0]):
        xg = torch.einsum("nctv,nvw->nctw", x, G[:, k])  # aggregate with subset k
        y = y + torch.einsum("oc,nctw->notw", W[k], xg) + b[k][None, :, None, None]  # then mix channels
    return y


def residual_solution(z, x, p):
    """ReLU(BN(z) + residual(x)): the residual is x itself (p["down"] None) or BN(1x1 conv of x).

    Use the given helpers ``batch_norm_eval(z, bn)`` and ``conv1x1(x, w, b)``.
    """
    res = x if p["down"] is None else batch_norm_eval(conv1x1(x, p["down"]["w"], p["down"]["b"]), p["down"]["bn"])
    return torch.relu(batch_norm_eval(z, p["bn"]) + res)


def spatial_attention_solution(y, w, b):
    """One weight per joint: sigmoid(conv1d over the joints of the mean over frames); y (N, C, T, V), w (1, C, ks) -> (N, V).

    The convolution keeps V: zero padding of (ks - 1) // 2 on each side.
    """
    s = y.mean(2)  # (N, C, V): average over the frames
    return torch.sigmoid(F.conv1d(s, w, b, padding=(w.shape[-1] - 1) // 2))[:, 0]


def temporal_attention_solution(y, w, b):
    """One weight per frame: sigmoid(conv1d over the frames of the mean over joints); y (N, C, T, V), w (1, C, 9) -> (N, T)."""
    s = y.mean(3)  # (N, C, T): average over the joints
    return torch.sigmoid(F.conv1d(s, w, b, padding=(w.shape[-1] - 1) // 2))[:, 0]


def channel_attention_solution(y, w1, b1, w2, b2):
    """One weight per channel: sigmoid(fc2(ReLU(fc1(mean over T and V)))); y (N, C, T, V), w1 (C/2, C), w2 (C, C/2) -> (N, C)."""
    s = y.mean((2, 3))  # (N, C)
    return torch.sigmoid(F.linear(torch.relu(F.linear(s, w1, b1)), w2, b2))


def attend_solution(y, a, axis):
    """The residual re-weighting y * (1 + a): a (N, L) along axis "V", "T" or "C" of y (N, C, T, V)."""
    shape = {"C": (a.shape[0], -1, 1, 1), "T": (a.shape[0], 1, -1, 1), "V": (a.shape[0], 1, 1, -1)}[axis]
    return y * (1 + a.reshape(shape))


def _along(a: Tensor, axis: str) -> Tensor:
    return attend_solution(torch.ones(1, 1, 1, 1, dtype=a.dtype), a, axis) - 1


STAGES = (
    ("C", "the data-dependent graphs C_k (N, K, V, V)"),
    ("G", "the graph of each sample G_k = B_k + alpha C_k"),
    ("z", "the graph convolution sum_k W_k (x G_k) (N, C_out, T, V), before BN"),
    ("y", "ReLU(BN(z) + residual)"),
    ("spatial", "the spatial attention (N, V)"),
    ("after_spatial", "y after the spatial re-weighting"),
    ("temporal", "the temporal attention (N, T)"),
    ("after_temporal", "y after the temporal re-weighting"),
    ("channel", "the channel attention (N, C)"),
    ("after_channel", "y after the channel re-weighting"),
    ("out", "the unit's output"),
)


def unit_solution(x, p, parts=None):
    """The whole unit from its parts: ``(output, stages)``, where ``stages`` holds every named
    intermediate of :data:`STAGES` that this variant has.

    ``parts`` maps stage names to the functions to use (default: the reference solutions), e.g.
    ``{"data_graph": my_data_graph, ...}``: the keys of :data:`PARTS`.
    """
    f = {**PARTS, **(parts or {})}
    stages = {}
    if p["theta"] is not None:
        cs = []
        for (wt, bt), (wp, bp) in zip(p["theta"], p["phi"]):
            theta, phi = conv1x1(x, wt, bt), conv1x1(x, wp, bp)
            if p["graph"] == "cvpr":  # CVPR'19: softmax over the source joints, no gate
                n, ce, t, v = theta.shape
                scores = theta.permute(0, 3, 1, 2).reshape(n, v, ce * t) @ phi.reshape(n, ce * t, v) / (ce * t)
                cs.append(torch.softmax(scores, dim=-2))
            else:
                cs.append(f["data_graph"](theta, phi))
        stages["C"] = torch.stack(cs, 1)
        stages["G"] = p["B"] + stages["C"] if p["graph"] == "cvpr" else f["gate"](p["B"], stages["C"], p["alpha"])
    else:
        stages["G"] = p["B"]
    stages["z"] = f["graph_conv"](x, stages["G"], p["W"], p["b"])
    y = stages["y"] = f["residual"](stages["z"], x, p)
    for name, axis in (("spatial", "V"), ("temporal", "T"), ("channel", "C")):
        if p[name] is not None:
            stages[name] = f[f"{name}_attention"](y, *p[name])
            y = stages[f"after_{name}"] = f["attend"](y, stages[name], axis)
    stages["out"] = y
    return y, stages


PARTS: dict[str, Callable] = {
    "aggregate": aggregate_solution,
    "data_graph": data_graph_solution,
    "gate": gate_solution,
    "graph_conv": graph_conv_solution,
    "residual": residual_solution,
    "spatial_attention": spatial_attention_solution,
    "temporal_attention": temporal_attention_solution,
    "channel_attention": channel_attention_solution,
    "attend": attend_solution,
}


# ------------------------------------------------------------------------------------------------
# Checks of the stages
# ------------------------------------------------------------------------------------------------


def _rand(*shape: int, seed: int = 0) -> Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=_T)


def _features(layout: Any = "nturgb+d") -> tuple:
    """Names of the axes of a feature map (N, C, T, V): sample, channel, frame, joint."""
    return counted_axis("sample"), counted_axis("channel"), counted_axis("frame"), joint_axis(layout)


def _graphs(layout: Any = "nturgb+d", subsets: bool = True) -> tuple:
    """Names of the axes of per-sample graphs: (N, K, V, V), or (N, V, V) without ``subsets``."""
    head = (counted_axis("sample"), subset_axis) if subsets else (counted_axis("sample"),)
    return (*head, joint_axis(layout, "sender"), joint_axis(layout, "receiver"))


_STAGE_AXES = {
    "C": _graphs(), "G": _graphs(), "z": _features(), "y": _features(), "after_spatial": _features(),
    "after_temporal": _features(), "after_channel": _features(), "out": _features(),
    "spatial": (counted_axis("sample"), joint_axis("nturgb+d")), "temporal": (counted_axis("sample"), counted_axis("frame")),
    "channel": (counted_axis("sample"), counted_axis("channel")),
}  # fmt: skip


def _check_aggregate(fn) -> str:
    toy = toy_inputs()
    A = torch.from_numpy(spatial_partition(toy["layout"]).astype(np.float64))
    for k, name in enumerate(("identity", "inward", "outward")):
        got = call(fn, toy["x"], A[k], what=f"my_aggregate on the toy skeleton ({name})")
        expect_array(got, aggregate_solution(toy["x"], A[k]), f"my_aggregate(x, A_{name}) on the toy skeleton",
                     [("the graph is used transposed: out[w] = sum_v x[v] * A[v, w] (column w lists what w receives)", toy["x"] @ A[k].T)],
                     axes=_features(toy["layout"]))  # fmt: skip
    x, a = _rand(2, 3, 5, 25), _rand(25, 25, seed=1)
    expect_array(call(fn, x, a, what="my_aggregate"), aggregate_solution(x, a), "my_aggregate on a batch (2, 3, 5, 25)",
                 [("the graph is used transposed: out[w] = sum_v x[v] * A[v, w]", x @ a.T)], axes=_features())
    return "out[..., w] = sum_v x[..., v] A[v, w], i.e. x @ A"


def _data_graph_mistakes(theta: Tensor, phi: Tensor) -> list[tuple[str, Tensor]]:
    """The typical wrong data-dependent graphs of (theta, phi), each with its diagnosis."""
    n, ce, t, v = theta.shape
    a, b = theta.permute(0, 3, 1, 2).reshape(n, v, ce * t), phi.reshape(n, ce * t, v)
    raw = a @ b
    frames_first = theta.mean(2).transpose(1, 2) @ phi.mean(2)  # (N, V, C_e) @ (N, C_e, V)
    averaged = ("theta and phi were averaged over the frames first: C_k compares each joint's whole embedding, all C_e T "
                "numbers (frames included), so flatten (C_e, T) and scale the product by 1 / (C_e T)")
    return [
        ("no tanh: C_k = tanh(theta^T phi / (C_e T))", raw / (ce * t)),
        ("the product is not scaled: divide theta^T phi by C_e * T before the tanh", torch.tanh(raw)),
        ("scaled by C_e only: the scale is 1 / (C_e * T)", torch.tanh(raw / ce)),
        ("scaled by T only: the scale is 1 / (C_e * T)", torch.tanh(raw / t)),
        ("that is the CVPR'19 softmax; the TIP unit uses tanh", torch.softmax(raw / (ce * t), dim=-2)),
        ("a softmax over each row (dim=-1): the TIP unit uses tanh, and even the CVPR'19 softmax normalises each column, "
         "over the senders of one receiving joint (dim=-2)", torch.softmax(raw / (ce * t), dim=-1)),
        ("a sigmoid instead of tanh: C_k = tanh(...) lies in (-1, 1), so a data-dependent link can also subtract",
         torch.sigmoid(raw / (ce * t))),
        ("theta was reshaped to (N, V, C_e*T) without first moving the joints in front (permute to (N, V, C_e, T)): "
         "a plain reshape mixes joints and frames", torch.tanh(theta.reshape(n, v, ce * t) @ b / (ce * t))),
        (averaged, torch.tanh(frames_first / ce)),
        (averaged, torch.tanh(frames_first / (ce * t))),
        (averaged, torch.tanh(frames_first)),
    ]  # fmt: skip


def _check_data_graph(fn) -> str:
    toy = toy_inputs()
    cases = [(toy["theta"], toy["phi"], "the toy embeddings"), (_rand(2, 4, 6, 25), _rand(2, 4, 6, 25, seed=1), "a batch (2, C_e=4, T=6, 25)")]
    for theta, phi, label in cases:
        got = call(fn, theta, phi, what=f"my_data_graph on {label}")
        n, ce, t, v = theta.shape
        expect_array(got, data_graph_solution(theta, phi), f"my_data_graph on {label}", _data_graph_mistakes(theta, phi),
                     shape_hints={(n, ce * t, ce * t): "this is theta phi^T: compare joints, so the product is (V, C_e T) @ (C_e T, V)"},
                     axes=_graphs(toy["layout"] if v == 4 else "nturgb+d", subsets=False))  # fmt: skip
    return "C = tanh(theta^T phi / (C_e T)), one V x V graph per sample"


def _check_gate(fn) -> str:
    b, c = _rand(3, 25, 25), torch.tanh(_rand(2, 3, 25, 25, seed=1))
    for alpha in (0.5, -0.3):
        got = call(fn, b, c, alpha, what=f"my_gate with alpha = {alpha}")
        expect_array(got, gate_solution(b, c, alpha), f"my_gate(B, C, alpha={alpha})",
                     [("alpha multiplies the data-dependent graph C, not the learned B", alpha * b + c),
                      ("alpha is missing: G = B + alpha * C", b + c)],
                     shape_hints={(3, 25, 25): "one graph per sample: keep the sample axis of C"}, axes=_graphs())
    return "G_k = B_k + alpha C_k (alpha = 0 at initialisation: a plain learned graph)"


def _check_graph_conv(fn) -> str:
    x, w, bias = _rand(2, 4, 5, 25), _rand(3, 6, 4, seed=1), _rand(3, 6, seed=2)
    for g, label in ((_rand(2, 3, 25, 25, seed=3), "per-sample graphs (N, K, V, V)"), (_rand(3, 25, 25, seed=4), "one graph (K, V, V)")):
        got = call(fn, x, g, w, bias, what=f"my_graph_conv with {label}")
        gn = g if g.dim() == 4 else g.expand(2, *g.shape)
        first_only = torch.einsum("oc,nctw->notw", w[0], torch.einsum("nctv,nvw->nctw", x, gn[:, 0])) + bias[0][None, :, None, None]
        mistakes = [
            ("the graphs are used transposed: aggregate with x @ G_k", graph_conv_solution(x, gn.transpose(-1, -2), w, bias)),
            ("each subset has its own bias b_k: the result carries their sum", graph_conv_solution(x, gn, w, bias) - bias[1:].sum(0)[None, :, None, None]),
            ("only the first subset is used: sum over all K subsets", first_only),
            ("the biases are missing", graph_conv_solution(x, gn, w, torch.zeros_like(bias))),
        ]  # fmt: skip
        expect_array(got, graph_conv_solution(x, g, w, bias), f"my_graph_conv with {label}", mistakes,
                     shape_hints={(2, 4, 5, 25): "the channels were not mixed: apply W_k (C_out, C_in) after aggregating"},
                     axes=_features())
    return "y = sum_k W_k (x G_k) + b_k"


def _check_residual(fn) -> str:
    for index in (1, 4):  # identity residual, then the 1x1-conv residual of a block that widens
        gcn, x = exercise_layer(index, seed=index, frames=6)
        p = unit_parameters(gcn)
        z = _rand(x.shape[0], gcn.out_channels, x.shape[2], x.shape[3], seed=5)
        res = x if p["down"] is None else batch_norm_eval(conv1x1(x, p["down"]["w"], p["down"]["b"]), p["down"]["bn"])
        zb = batch_norm_eval(z, p["bn"])
        kind = "an identity residual" if p["down"] is None else "a 1x1-conv residual"
        got = call(fn, z, x, p, what=f"my_residual with {kind}")
        mistakes = [
            ("the ReLU comes after adding the residual, not before", torch.relu(zb) + res),
            ("the ReLU is missing", zb + res),
            ("z goes through the main BN before the residual is added", torch.relu(z + res)),
            ("the residual is missing", torch.relu(zb)),
        ]
        if p["down"] is not None:
            mistakes.append(("the residual of a widening unit is BN(conv1x1(x)): use p['down']", torch.relu(zb + conv1x1(x, p["down"]["w"], p["down"]["b"]))))
        expect_array(got, residual_solution(z, x, p), f"my_residual with {kind}", mistakes, axes=_features())
    return "ReLU(BN(z) + residual), with the 1x1-conv residual when the channels change"


def _attention_check(fn, which: str, solution, pooled_axis: int, kept: str) -> str:
    gcn, _ = exercise_layer(4, seed=7, frames=10)
    p = unit_parameters(gcn)
    y = torch.relu(_rand(2, gcn.out_channels, 10, 25, seed=6))
    args = p[which]
    got = call(fn, y, *args, what=f"my_{which}_attention")
    want = solution(y, *args)
    w, b = args[0], args[1]
    other = 3 if pooled_axis == 2 else 2
    s = y.mean(pooled_axis)  # what the attention pools
    mistakes = [("the sigmoid is missing", torch.logit(want.clamp(1e-12, 1 - 1e-12)))]
    hints = {}
    if which != "channel":
        mistakes.append((f"averaged over the wrong axis: {which} attention averages over axis {pooled_axis} and keeps the {kept}",
                         torch.sigmoid(F.conv1d(y.mean(other), w, b, padding=(w.shape[-1] - 1) // 2))[:, 0]))
        unpadded = F.conv1d(s, w, b)
        hints[tuple(unpadded[:, 0].shape)] = f"the convolution shrank the axis: pad with (ks - 1) // 2 = {(w.shape[-1] - 1) // 2} zeros each side"
        hints[tuple(y.mean(other).shape[:1] + y.mean(other).shape[2:])] = f"averaged over the wrong axis: keep the {kept}"
    else:
        w1, b1, w2, b2 = args
        mistakes.append(("the ReLU between the two linear layers is missing", torch.sigmoid(F.linear(F.linear(s, w1, b1), w2, b2))))
    expect_array(got, want, f"my_{which}_attention", mistakes, shape_hints=hints, axes=_STAGE_AXES[which])
    return f"one weight per {kept[:-1] if kept.endswith('s') else kept}, in (0, 1)"


def _check_spatial(fn) -> str:
    return _attention_check(fn, "spatial", spatial_attention_solution, 2, "joints")


def _check_temporal(fn) -> str:
    return _attention_check(fn, "temporal", temporal_attention_solution, 3, "frames")


def _check_channel(fn) -> str:
    return _attention_check(fn, "channel", channel_attention_solution, (2, 3), "channels")


def _check_attend(fn) -> str:
    y = _rand(2, 6, 5, 25)
    for axis, length in (("V", 25), ("T", 5), ("C", 6)):
        a = torch.sigmoid(_rand(2, length, seed=length))
        got = call(fn, y, a, axis, what=f'my_attend along "{axis}"')
        want = attend_solution(y, a, axis)
        expect_array(got, want, f'my_attend along "{axis}"',
                     [("off by the `1 +` of the residual attention: y * (1 + a), not y * a", want - y),
                      ("the attention is added, not multiplied: y * (1 + a)", y + _along(a, axis))], axes=_features())
    return "y * (1 + a): attention can only amplify, x1 to x2"


def check_unit(unit: Any, seeds: tuple[int, ...] = (0, 1), layers: tuple[int, ...] = (1, 4), **variant: Any) -> str:
    """Compare a learner's unit with the package's :class:`~aagcn_lab.model.AdaptiveGraphConv`, in float64
    within 1e-6, on real NTU-25 layers with random weights; :class:`Wrong` names the first stage that differs.

    ``unit``: a dict of parts (keys of :data:`PARTS`; composed by :func:`unit_solution`) or a function
    ``(x, p) -> (out, stages)``. ``variant``: model options (``graph``, ``data_dependent``, attentions).
    """
    if isinstance(unit, dict):
        unknown = sorted(set(unit) - set(PARTS))
        if unknown:
            raise Wrong(f"unknown part(s) {', '.join(unknown)}; the parts are {', '.join(PARTS)}")
        parts = dict(unit)

        def fn(x, p):
            return unit_solution(x, p, parts)
    else:
        fn = unit
    for seed in seeds:
        for index in layers:
            gcn, x = exercise_layer(index, seed, **variant)
            with torch.no_grad():
                package = gcn(x)
            p = unit_parameters(gcn)
            ref_out, ref = unit_solution(x, p)
            if not torch.allclose(ref_out, package, atol=1e-6, rtol=0):
                raise RuntimeError(f"the reference unit differs from the package's layer {index} (seed {seed}, {variant}): "
                                   f"{float((ref_out - package).abs().max()):.3g}; a bug in aagcn_lab.exercises")  # fmt: skip
            where = f"layer {index} ({gcn.in_channels} -> {gcn.out_channels} channels, seed {seed})"
            with torch.no_grad():
                got = call(fn, x, p, what=f"your unit on {where}")
            if not (isinstance(got, (tuple, list)) and len(got) == 2 and isinstance(got[1], dict)):
                raise Wrong(f"your unit should return (output, stages) with stages a dict, got {type(got).__name__}")
            out, stages = got
            agreed = []
            before = {"after_spatial": ("y", "spatial", "V"), "after_temporal": ("after_spatial", "temporal", "T"),
                      "after_channel": ("after_temporal", "channel", "C")}  # fmt: skip
            for name, desc in STAGES:
                if name not in ref or name not in stages:
                    continue
                mistakes = []
                if name in before and before[name][0] in ref:  # the re-weighting given the right y and a
                    prev, att, axis = before[name]
                    mistakes.append(("off by the `1 +` of the residual attention: y * (1 + a), not y * a", ref[prev] * _along(ref[att], axis)))
                if name == "G" and "C" in ref and p["alpha"] is not None:
                    mistakes += [("alpha is missing: G = B + alpha * C", p["B"] + ref["C"]),
                                 ("alpha multiplies the learned B, not C", p["alpha"] * p["B"] + ref["C"])]
                if name == "C" and p["graph"] != "cvpr":  # each subset's C_k from the reference theta and phi
                    embeddings = [(conv1x1(x, *th), conv1x1(x, *ph)) for th, ph in zip(p["theta"], p["phi"])]
                    per_subset = [_data_graph_mistakes(th, ph) for th, ph in embeddings]
                    mistakes += [(m[0][0], torch.stack([s[i][1] for s in per_subset], 1)) for i, m in enumerate(zip(*per_subset))]
                try:
                    expect_array(stages[name], ref[name], f"stage {name!r} ({desc})", mistakes, atol=1e-6, rtol=0,
                                 axes=_STAGE_AXES.get(name))
                except Wrong as e:
                    before = f"; the stages before it agree ({', '.join(agreed)})" if agreed else ""
                    raise Wrong(f"on {where} the first stage that differs is {e}{before}") from None
                agreed.append(name)
            expect_array(out, package, f"the output on {where}, against the package's AdaptiveGraphConv", atol=1e-6, rtol=0,
                         axes=_features())
    return (f"your unit equals the package's AdaptiveGraphConv within 1e-6 (float64) on layers {', '.join(map(str, layers))} "
            f"of the NTU-25 model, {len(seeds)} random weight sets each")  # fmt: skip


def _register_parts() -> None:
    spec = [
        ("aggregate", _check_aggregate, aggregate_solution, "write `my_aggregate(x, A)`: one graph aggregation, out[..., w] = sum_v x[..., v] A[v, w]",
         "One einsum or one matrix product; the joints are the last axis of x."),
        ("data_graph", _check_data_graph, data_graph_solution, "write `my_data_graph(theta, phi)`: C = tanh(theta^T phi / (C_e T)), (N, V, V)",
         "Move the joints to the front of theta before flattening (C_e, T): permute(0, 3, 1, 2)."),
        ("gate", _check_gate, gate_solution, "write `my_gate(B, C, alpha)`: the graph of each sample, B_k + alpha C_k", "Broadcasting does it."),
        ("graph_conv", _check_graph_conv, graph_conv_solution, "write `my_graph_conv(x, G, W, b)`: sum_k W_k (x G_k) + b_k",
         "Loop over k: aggregate with G[:, k], then mix channels with W[k], add b[k]."),
        ("residual", _check_residual, residual_solution, "write `my_residual(z, x, p)`: ReLU(BN(z) + residual(x))",
         "batch_norm_eval(z, p['bn']); the residual is x, or BN(conv1x1(x)) when p['down'] is not None."),
        ("spatial_attention", _check_spatial, spatial_attention_solution,
         "write `my_spatial_attention(y, w, b)`: one weight per joint from the mean over frames (N, V)",
         "y.mean(2) is (N, C, V); F.conv1d with padding (ks - 1) // 2; sigmoid; drop the single output channel."),
        ("temporal_attention", _check_temporal, temporal_attention_solution,
         "write `my_temporal_attention(y, w, b)`: one weight per frame from the mean over joints (N, T)", "Like the spatial one, over the other axis."),
        ("channel_attention", _check_channel, channel_attention_solution,
         "write `my_channel_attention(y, w1, b1, w2, b2)`: one weight per channel (N, C)", "Mean over T and V, F.linear, ReLU, F.linear, sigmoid."),
        ("attend", _check_attend, attend_solution, 'write `my_attend(y, a, axis)`: y * (1 + a) with a along "V", "T" or "C"',
         "Reshape a to broadcast: (N, 1, 1, V), (N, 1, T, 1) or (N, C, 1, 1)."),
    ]
    for name, checker, solution, question, hint in spec:
        register(name, "implement", NB02B, question, solution, checker, hint=hint)


_register_parts()

register(
    "unit", "implement", NB02B,
    "compose your parts into the whole unit; on a real NTU-25 layer it must equal the package's AdaptiveGraphConv within 1e-6",
    unit_solution, lambda unit: check_unit(unit),
    hint="Pass a dict of your parts, e.g. {'data_graph': my_data_graph, ...}; the check names the first stage that differs.",
)  # fmt: skip


def _toy_outward(**_) -> float:
    toy = toy_inputs()
    a = torch.from_numpy(spatial_partition(toy["layout"]).astype(np.float64))
    return float(aggregate_solution(toy["x"], a[2])[0, 0, 0, 0])


def _check_toy_outward(answer) -> str:
    value = read_number(answer, "what the neck receives through the outward subset")
    if np.isclose(value, 110):
        raise Wrong("110 is the sum of what the neck's children send; the outward column is normalised, so the neck averages "
                    "its two children", nudge="that is what the neck's children send in total: does a receiver add up or "
                    "average what it gets?")  # fmt: skip
    expect_number(value, _toy_outward(), "what the neck receives through the outward subset", tol=1e-9)
    return "yes: the neck averages its two children, (10 + 100) / 2"


register(
    "toy_outward", "predict", NB02B,
    "toy skeleton, x = [neck 1, head 10, elbow 100, hand 1000]: what does the neck receive through the outward subset?",
    _toy_outward, _check_toy_outward,
    explanation="outward: a joint receives from its children, averaged (column-normalised); the neck's children are head and elbow.",
    hint="the neck's column of the outward matrix A[2] lists what it receives; x @ A[2] at the neck is x times that column, summed.",
    nudge="outward: a joint receives from its children, the joints one step further from the centre. Which joints are "
          "the neck's children, and what does the normalised column make of what they send?",
    stub="my_neck",
)  # fmt: skip


# ------------------------------------------------------------------------------------------------
# Notebook 02: counting parameters, alpha
# ------------------------------------------------------------------------------------------------


def unit_parameter_count_solution(c_in, c_out, num_joints, num_subsets=3):
    """Trainable parameters of one default unit (pyskl's unit_aagcn, 'tip' graph, all three attentions)."""
    k, v, ce, half = num_subsets, num_joints, c_out // 4, c_out // 2
    ks = v if v % 2 else v - 1  # the spatial kernel is odd
    count = k * v * v + 1  # the learned graphs B_k and alpha
    count += k * (c_out * c_in + c_out)  # W_k
    count += 2 * k * (ce * c_in + ce)  # theta_k, phi_k
    count += 2 * c_out  # the main BN
    count += (c_out * 9 + 1) + (c_out * ks + 1)  # temporal and spatial attention convolutions
    count += (c_out * half + half) + (half * c_out + c_out)  # the channel attention's two linear layers
    if c_in != c_out:
        count += c_out * c_in + c_out + 2 * c_out  # the residual 1x1 convolution and its BN
    return count


def _unit_count(c_in: int, c_out: int, v: int) -> int:
    from ..model import AdaptiveGraphConv

    a = torch.from_numpy(spatial_partition({25: "nturgb+d", 18: "openpose", 17: "coco"}[v]))
    return sum(p.numel() for p in AdaptiveGraphConv(c_in, c_out, a).parameters() if p.requires_grad)


def _check_unit_count(fn) -> str:
    for c_in, c_out, v in ((3, 64, 25), (64, 64, 25), (64, 128, 25), (128, 128, 18), (16, 32, 17)):
        got = call(fn, c_in, c_out, v, what=f"my_param_count({c_in}, {c_out}, {v})")
        want = _unit_count(c_in, c_out, v)
        try:
            value = int(got)
        except (TypeError, ValueError):
            raise Wrong(f"my_param_count should return an integer, got {got!r}") from None
        if value == want:
            continue
        half, ce = c_out // 2, c_out // 4
        parts = {
            "alpha (one number per unit)": 1,
            "the learned graphs B_k (K V V)": 3 * v * v,
            "the main BN's weight and bias": 2 * c_out,
            "the biases of W_k": 3 * c_out,
            "the biases of theta_k and phi_k": 6 * ce,
            "the residual branch (1x1 conv + BN, only when c_in != c_out)": c_out * c_in + 3 * c_out if c_in != c_out else -1,
            "the spatial kernel: it is V for odd V and V - 1 for even V": c_out if v % 2 == 0 else -1,
            "the biases of the channel attention's linear layers": half + c_out,
        }
        diff = want - value
        named = [name for name, n in parts.items() if n == abs(diff)]
        why = f": {'missing' if diff > 0 else 'counted twice or too large'}: {named[0]}" if named else ""
        raise Wrong(f"for c_in={c_in}, c_out={c_out}, V={v} you count {value:,}, the unit has {want:,} (a difference of {diff:+,}){why}")
    return "your closed form equals the parameter count of AdaptiveGraphConv for five shapes"


register(
    "unit_parameter_count", "implement", NB02,
    "write `my_param_count(c_in, c_out, num_joints)`: the trainable parameters of one default unit, in closed form",
    unit_parameter_count_solution, _check_unit_count,
    hint="List the modules of AdaptiveGraphConv: B_k and alpha, K x (W_k, theta_k, phi_k), the main BN, the three attentions, "
         "and the residual branch when the channels change. Every convolution and linear layer has a bias.",
    stub="my_param_count",
)  # fmt: skip


def _channel_params(**_) -> int:
    return _channel_params_ntu60()


@functools.lru_cache(maxsize=1)
def _channel_params_ntu60() -> int:
    from ..model import build_model

    return build_model(layout="nturgb+d", num_classes=60).num_parameters() - build_model(
        layout="nturgb+d", num_classes=60, channel_attention=False).num_parameters()  # fmt: skip


def _check_channel_params(answer) -> str:
    value = read_number(answer, "parameters removed by switching off channel attention")
    want = _channel_params()
    from ..model import build_model

    widths = [b.gcn.out_channels for b in build_model(layout="nturgb+d", num_classes=60, base_channels=4).backbone.gcn]
    widths = [w * 16 for w in widths]  # the same stages at pyskl's 64 base channels, without building the wide model again
    no_bias = sum(2 * c * (c // 2) for c in widths)
    if value == no_bias:
        raise Wrong(f"you counted the weights only ({no_bias:,}); the two linear layers have biases too: {want:,}",
                    nudge="close: you counted the weights of the linear layers; what else does a linear layer have?")
    if value in {2 * c * (c // 2) + c + c // 2 for c in widths}:
        raise Wrong(f"that is one unit; each of the {len(widths)} blocks has its own channel attention: {want:,} in all",
                    nudge="that is one unit's channel attention; how many units does the model have, and how wide is each?")
    expect_number(value, want, "parameters removed by switching off channel attention")
    return f"yes: {want:,}, two linear layers C -> C/2 -> C in each of the {len(widths)} units"


register(
    "channel_attention_params", "predict", NB02,
    "how many parameters does switching off channel attention remove from the NTU-60 model?",
    _channel_params, _check_channel_params,
    explanation="each unit's channel attention is Linear(C, C/2) and Linear(C/2, C) with biases, C = 64, 128 or 256.",
    hint="print(model) lists every unit's fc1c and fc2c; add up their weights and biases, unit by unit.",
    nudge="channel attention in one unit is two linear layers, C -> C/2 -> C, with biases. Which widths C do the units "
          "of the NTU-60 model have, and how many units are there?",
    stub="my_count",
)  # fmt: skip


def _alpha_changes_logits(model: nn.Module | None = None, x: Tensor | None = None, **_) -> bool:
    if model is None or x is None:
        raise TypeError("needs the notebook's model and batch")
    x = x[:1, :, :16]  # one sample, 16 frames: enough to see a change
    gates = [b.gcn.alpha for b in model.backbone.gcn if hasattr(b.gcn, "alpha")]
    saved = [g.detach().clone() for g in gates]
    try:  # on the model itself, put back as it was (its gates here, its mode by eval_mode)
        with eval_mode(model), torch.no_grad():
            before = model(x)
            for g in gates:
                g.fill_(1.0)
            return bool((model(x) - before).abs().max() > 1e-6)
    finally:
        with torch.no_grad():
            for g, v in zip(gates, saved):
                g.copy_(v)


def _check_alpha_one(answer, model: nn.Module, x: Tensor) -> str:
    answer = read_bool(answer)
    truth = _alpha_changes_logits(model, x)
    if bool(answer) != truth:
        raise Wrong("they do change: C_k of a fresh model is far from 0 (values up to +-1, as large as B_k's entries), "
                    "only alpha = 0 hides it" if truth else "they do not change here")  # fmt: skip
    return "yes: alpha = 0 is what makes a fresh model a plain GCN; C_k itself is already large"


register(
    "alpha_one", "predict", NB02,
    "set alpha = 1 in every layer of the fresh model: do its logits change (True or False)?",
    _alpha_changes_logits, _check_alpha_one,
    explanation="alpha gates C_k; at initialisation C_k is large and saturated (nearly every entry near +1 or -1, a sign pattern), so opening the gate changes every layer's graph.",
    hint="G_k = B_k + alpha * C_k: look at the size of a fresh model's C_k (ins = model.inspect(x)), not only at alpha.",
    nudge="a fresh model has alpha = 0, which hides C_k entirely. What would alpha = 1 add to each graph: is a fresh C_k "
          "near zero?",
    stub="my_answer",
)  # fmt: skip
