"""The ``peak``, ``profile`` and ``revisions`` sections: where the time goes, against what this CPU can do.

* ``peak`` -- this machine's fp32 and bf16 rates (GFLOP/s) for a dense square matrix product and for
  convolutions of the model's own shapes (the 9x1 temporal convolution and the stacked 1x1
  convolution of every stage, contiguous and channels-last), and its memory copy bandwidth.
* ``profile`` -- ours (training step; prepared inference) and pyskl's AAGCN + GCNHead (training
  step; eval under ``inference_mode``), same weights, same input: the whole steps timed in turns
  (the ratios), then one step of each under ``torch.profiler``, its time split into operator
  categories (:data:`CATEGORIES`) with each category's analytically counted GFLOP, GFLOP/s and
  fraction of the measured peak. pyskl comes from its source (:mod:`.pyskl_source`); without it
  the section reports ours alone and says so in one line.
* ``revisions`` -- the training step of the model in several source trees (e.g. a git worktree of
  an older commit against this one), each in its own process, timed in turns, plus the operators
  each step runs (so a difference in time can be told from a difference in work).

How the profile assigns time. Every operator the step runs on its thread is charged its own
("self") time. Forward operators belong to a category by what they are and where they run:
convolutions by kernel (9x1: temporal; 1x1: 1x1, or embeddings inside the computation of ``C_k``;
1-d: attention), matrix products by shape (inner dimension V: the joint aggregation; a V x V
result: ``C_k``; a product over the channels onto T*V pixels: a 1x1 convolution, as
``model/pointwise.py`` runs them in training), batch-norm modules, and the labelled parts (attention, ``C_k``, embeddings) that
the bench marks while profiling (instance-level wrappers and module hooks, removed afterwards: the
model files are not touched); everything else inside the backbone is a memory pass (copies,
residual adds, ReLU, layout changes). A backward operator belongs to the forward operator that
recorded its autograd node (the profiler's sequence number). The head, the loss, the optimizer and
gradient accumulation are ``other``; ``python`` is the step's wall time that no operator accounts for.
"""

from __future__ import annotations

import copy
import json
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from functools import partial
from typing import Any

import torch
from torch import nn
from torch.autograd.profiler import record_function

from .model import _batch, _sgd, _train_step
from .timing import _conv_rate, _time

__all__ = ["CATEGORIES", "bench_peak", "bench_profile", "profile_lines", "category_flops", "categorise", "bench_revisions"]

# category -> what it holds (the order of the printed table)
CATEGORIES = {
    "temporal_conv": "temporal convolution (9x1)",
    "conv1x1": "1x1 convolutions (W_k stacked, down, residual)",
    "embeddings": "embeddings theta_k, phi_k (1x1)",
    "C_k": "C_k: theta^T phi, tanh, gate",
    "aggregation": "graph aggregation x G_k",
    "attention": "spatial, temporal, channel attention",
    "batch_norm": "batch norm (and data BN)",
    "memory": "memory passes (copies, adds, ReLU, layout)",
    "other": "head, loss, optimizer, grad accumulation",
    "python": "outside operators (Python, profiler)",
}
# category -> the measured peak it is read against (a 1x1 convolution is a matrix product too)
_PEAK_OF = {"temporal_conv": ("conv9x1",), "conv1x1": ("conv1x1", "matmul"), "embeddings": ("conv1x1", "matmul"),
            "C_k": ("matmul",), "aggregation": ("matmul",)}  # fmt: skip
_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}
_LABEL = "aagcn_lab:"
_BACKWARD = "autograd::engine::evaluate_function: "
_CONV = {"aten::conv1d", "aten::conv2d", "aten::convolution", "aten::_convolution", "aten::mkldnn_convolution"}
_MATMUL = {"aten::matmul", "aten::bmm", "aten::mm", "aten::baddbmm"}
_BN = {"aten::batch_norm", "aten::_batch_norm_impl_index", "aten::native_batch_norm", "aten::_native_batch_norm_legit",
       "aten::_native_batch_norm_legit_no_training"}  # fmt: skip


def _check_mix(batch: int, two_person: float) -> None:
    if not (batch >= 1 and 0 <= two_person <= 1):
        raise ValueError(f"--profile-batch must be >= 1 and --profile-two-person in [0, 1], got {batch} and {two_person}")


def _dtype(name: str) -> torch.dtype:
    if name not in _DTYPES:
        raise ValueError(f"--dtype must be one of {sorted(_DTYPES)}, got {name!r}")
    return _DTYPES[name]


# ------------------------------------------------------------------------------------------------
# peak
# ------------------------------------------------------------------------------------------------


def _stage_shapes(model: nn.Module, frames: int) -> tuple[list[tuple[int, int]], list[tuple[int, int, int]]]:
    """The model's temporal convolutions ``(C, T_out)`` and stacked 1x1 convolutions ``(K*C_in, C_out, T)``, distinct."""
    tcn, conv1 = [], []
    t = frames
    for block in model.backbone.gcn:
        g = block.gcn
        t_out = (t - 1) // block.tcn.conv.stride[0] + 1
        if (g.out_channels, t_out) not in tcn:
            tcn.append((g.out_channels, t_out))
        if (g.num_subset * g.in_channels, g.out_channels, t) not in conv1 and g.in_channels >= 8:  # the stem's 3 channels: no peak
            conv1.append((g.num_subset * g.in_channels, g.out_channels, t))
        t = t_out
    return tcn, conv1


def bench_peak(
    dtypes: Sequence[str] = ("fp32", "bf16"), batch: int = 8, two_person: float = 0.5, frames: int = 100, matmul_n: int = 1024,
    iters: int = 3, model: nn.Module | None = None,
) -> dict:
    """This CPU's GFLOP/s for a dense matmul and for the model's 9x1 and 1x1 convolutions (the persons our
    model computes of ``batch`` samples, ``frames`` frames), fp32 and bf16, and its copy bandwidth;
    ``<dtype>_<kind>`` is the best shape and layout."""  # fmt: skip
    from ..model import build_model

    if model is None:
        torch.manual_seed(0)
        model = build_model(layout="nturgb+d", num_classes=60)
    _check_mix(batch, two_person)
    rows = _computed_rows(_batch(batch, two_person, t=frames), model.backbone.share_absent_persons)
    v = model.backbone.num_joints
    tcn, conv1 = _stage_shapes(model, frames)
    out: dict[str, Any] = {"rows": rows, "frames": frames, "threads": torch.get_num_threads()}
    for name in dtypes:
        dt = _dtype(name)
        a, b = torch.randn(matmul_n, matmul_n).to(dt), torch.randn(matmul_n, matmul_n).to(dt)
        with torch.inference_mode():
            sec = _time(lambda: a @ b, iters=iters)[0]  # noqa: B023
        out[f"{name}_matmul"] = 2 * matmul_n**3 / sec / 1e9
        for kind, shapes in (("conv9x1", [(c, c, t) for c, t in tcn]), ("conv1x1", conv1)):
            best = 0.0
            for ci, co, t in shapes:
                for cl in (False, True):
                    rate = _conv_rate(rows, ci, co, t, v, 9 if kind == "conv9x1" else 1, dt, cl, iters)
                    out[f"{name} {kind} {ci}->{co} T={t}{' channels-last' if cl else ''}"] = rate
                    best = max(best, rate)
            out[f"{name}_{kind}"] = best
        out[f"{name}_peak"] = max(out[f"{name}_{k}"] for k in ("matmul", "conv9x1", "conv1x1"))
    src = torch.randn(1 << 23)  # 32 MB, beyond the caches
    dst = torch.empty_like(src)
    sec = _time(lambda: dst.copy_(src), iters=iters)[0]
    out["copy_gb_s"] = 2 * src.numel() * 4 / sec / 1e9  # read + write
    return out


# ------------------------------------------------------------------------------------------------
# analytic FLOPs
# ------------------------------------------------------------------------------------------------


def category_flops(model: nn.Module, rows: int, frames: int, samples: int) -> dict[str, float]:
    """Forward FLOPs per category for ``rows`` persons of ``frames`` frames through our model's
    architecture (pyskl's is the same) and ``samples`` through the head, counted as torch's
    ``FlopCounterMode`` counts them (2 per multiply-add, convolutions, matrix products, linear layers)."""
    v = model.backbone.num_joints
    f = dict.fromkeys(("temporal_conv", "conv1x1", "embeddings", "C_k", "aggregation", "attention", "other"), 0.0)
    t = frames
    for block in model.backbone.gcn:
        g = block.gcn
        ci, co, k, ce = g.in_channels, g.out_channels, g.num_subset, g.inter_c
        kt, stride = block.tcn.conv.kernel_size[0], block.tcn.conv.stride[0]
        t_out = (t - 1) // stride + 1
        if g.data_dependent:
            f["embeddings"] += 2 * rows * t * v * ci * 2 * k * ce
            f["C_k"] += 2 * rows * k * v * v * ce * t
        f["aggregation"] += 2 * rows * k * ci * t * v * v
        f["conv1x1"] += 2 * rows * t * v * k * ci * co + (2 * rows * t * v * ci * co if ci != co else 0)
        if block.residual_kind == "conv":
            f["conv1x1"] += 2 * rows * t_out * v * ci * co
        f["temporal_conv"] += 2 * rows * t_out * v * co * co * kt
        if g.use_spatial:
            f["attention"] += 2 * rows * co * g.conv_sa.kernel_size[0] * v
        if g.use_temporal:
            f["attention"] += 2 * rows * co * g.conv_ta.kernel_size[0] * t
        if g.use_channel:
            f["attention"] += 2 * rows * 2 * co * g.fc1c.out_features
        t = t_out
    fc = model.cls_head.fc_cls
    f["other"] += 2 * samples * fc.in_features * fc.out_features
    return f


# ------------------------------------------------------------------------------------------------
# labels while profiling, and the categories of the profiler's events
# ------------------------------------------------------------------------------------------------


class _Labels:
    """Marks parts of a model with ``record_function`` labels for one profile, and removes the marks."""

    def __init__(self) -> None:
        self.undo: list[Callable[[], None]] = []

    def method(self, obj: Any, name: str, label: str) -> None:
        """Run ``obj.name`` inside the label (an instance attribute that shadows the method; removed after)."""
        had, old = name in vars(obj), getattr(obj, name)

        def wrapped(*args: Any, **kwargs: Any) -> Any:
            with record_function(_LABEL + label):
                return old(*args, **kwargs)

        setattr(obj, name, wrapped)
        self.undo.append(lambda: setattr(obj, name, old) if had else delattr(obj, name))

    def module(self, mod: nn.Module, label: str) -> None:
        """Run ``mod``'s forward inside the label (hooks)."""
        open_: list[record_function] = []

        def pre(*_: Any) -> None:
            open_.append(record_function(_LABEL + label).__enter__())

        def post(*_: Any) -> None:
            open_.pop().__exit__(None, None, None)

        handles = (mod.register_forward_pre_hook(pre), mod.register_forward_hook(post))
        self.undo.extend(h.remove for h in handles)

    def span_after(self, unit: nn.Module, first: nn.Module, label: str) -> None:
        """Everything ``unit`` runs after ``first`` returns (its first call) inside the label, to the unit's end."""
        state: list[record_function | None] = [None]

        def after_first(*_: Any) -> None:
            if state[0] is None:
                state[0] = record_function(_LABEL + label).__enter__()

        def end(*_: Any) -> None:
            if state[0] is not None:
                state[0].__exit__(None, None, None)
                state[0] = None

        handles = (first.register_forward_hook(after_first), unit.register_forward_hook(end))
        self.undo.extend(h.remove for h in handles)

    def remove(self) -> None:
        """Take every mark off again."""
        for fn in reversed(self.undo):
            fn()
        self.undo.clear()


@contextmanager
def _labelled(kind: str, net: Any) -> Iterator[None]:
    """Labels for ``kind``: ``'ours'`` (an AAGCN), ``'prepared'`` (a PreparedAAGCN) or ``'pyskl'``."""
    lab = _Labels()
    try:
        if kind == "prepared":
            lab.method(net, "_rows", "backbone")
            for block in net.blocks:
                lab.method(block.unit, "graph", "embeddings")  # theta / phi as one product, then C_k inside
                if block.unit.embedding is not None:
                    lab.method(block.unit, "data_graph_of_embeddings", "C_k")
                lab.method(block.unit, "attend", "attention")
        else:
            lab.module(net.backbone, "backbone")
            for m in net.backbone.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    lab.module(m, "batch_norm")
                if kind == "ours" and hasattr(m, "gated_graph"):  # AdaptiveGraphConv
                    lab.method(m, "data_graph", "C_k")
                    lab.method(m, "gated_graph", "C_k")
                    lab.method(m, "attend", "attention")
                if kind == "pyskl" and type(m).__name__ == "unit_aagcn":
                    for conv in (*getattr(m, "conv_a", ()), *getattr(m, "conv_b", ())):
                        lab.module(conv, "embeddings")
                    lab.module(m.tan, "C_k")
                    if m.attention:
                        lab.span_after(m, m.relu, "attention")  # its forward: relu(bn(y) + down(x)), then attention
        yield
    finally:
        lab.remove()


def _classify(op: Any, label: str | None, joints: int) -> str:
    """The category of one forward operator ``op`` (the outermost under the innermost label ``label``)."""
    name = op.name
    if label == "batch_norm":
        return "batch_norm"
    if name in _CONV and len(op.input_shapes) > 1:
        w = op.input_shapes[1]
        if len(w) == 4 and tuple(w[2:]) != (1, 1):
            return "temporal_conv"
        if len(w) == 4:
            return "embeddings" if label in ("embeddings", "C_k") else "conv1x1"
        return "attention"
    product = name in _MATMUL and len(op.input_shapes) > 1 and min(len(s) for s in op.input_shapes[:2]) >= 2
    if product and name == "aten::baddbmm" and len(op.input_shapes) > 2:  # (bias, batch1, batch2)
        op_a, op_b = op.input_shapes[1], op.input_shapes[2]
    elif product:
        op_a, op_b = op.input_shapes[0], op.input_shapes[1]
    if product and op_a[-1] != joints and op_b[-1] > joints and op_b[-1] % joints == 0:  # W @ x[n] over T*V pixels: a 1x1 convolution (model/pointwise.py)
        return "embeddings" if label in ("embeddings", "C_k") else "conv1x1"
    if label in ("attention", "C_k", "embeddings"):
        return label
    if name in _BN:
        return "batch_norm"
    if product:
        if op_a[-1] == joints:
            return "aggregation"
        if op_a[-2] == joints and op_b[-1] == joints:
            return "C_k"
        return "other"
    return "memory"


def categorise(events: Sequence[Any], joints: int, thread: int | None = None) -> dict[str, float]:
    """Self time (microseconds) per category of the profiler's ``events`` on ``thread`` (see the module docstring)."""
    if thread is None:
        thread = Counter(e.thread for e in events if e.name.startswith(_LABEL) or e.cpu_parent is None).most_common(1)[0][0]
    events = [e for e in events if e.thread == thread]
    by_seq: dict[int, str] = {}
    owner: dict[int, tuple[str, Any]] = {}  # event id -> (category, or '' for backward; root)
    for e in events:
        chain = [e]
        while chain[-1].cpu_parent is not None:
            chain.append(chain[-1].cpu_parent)
        root = chain[-1]
        if root.name.startswith(_BACKWARD):
            owner[e.id] = ("", root)
            continue
        labels = [i for i, c in enumerate(chain) if c.name.startswith(_LABEL)]
        if not labels:
            cat = "other"
        else:
            i = labels[0]
            label = chain[i].name[len(_LABEL) :]
            inner = None if label == "backbone" else label
            if i == 0:  # the label's own time: Python between the operators it encloses
                cat = "python"
            else:
                cat = _classify(chain[i - 1], inner, joints)
        owner[e.id] = (cat, root)
        if e.sequence_nr >= 0:
            by_seq.setdefault(e.sequence_nr, cat)
    out = dict.fromkeys(CATEGORIES, 0.0)
    for e in events:
        cat, root = owner[e.id]
        if not cat:
            cat = by_seq.get(root.sequence_nr, "other") if root.sequence_nr >= 0 else "other"
        out[cat] += e.self_cpu_time_total
    return out


def _profile_step(fn: Callable[[], object], kind: str, net: Any, joints: int) -> tuple[dict[str, float], float]:
    """One run of ``fn`` under the profiler with ``net`` labelled: microseconds per category, wall seconds."""
    from torch.profiler import ProfilerActivity, profile

    with _labelled(kind, net):
        fn()  # warm, with the labels on
        with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
            t = time.perf_counter()
            fn()
            wall = time.perf_counter() - t
    events = prof.events()
    if not any(e.name == _LABEL + "backbone" for e in events):  # a fallback path ran: its categories would be wrong
        raise RuntimeError(f"profile: the {kind} run did not go through the labelled backbone")
    cats = categorise(events, joints)
    cats["python"] += max(0.0, wall * 1e6 - sum(cats.values()))
    return cats, wall


# ------------------------------------------------------------------------------------------------
# profile
# ------------------------------------------------------------------------------------------------


def _computed_rows(x: torch.Tensor, share: bool, prepared: bool = False) -> int:
    """Person rows the model computes for ``x`` (absent persons once per slot), or the prepared inference
    path (``prepared``: present persons only, the absent ones' features are kept)."""
    from ..model.absent import absent_persons, plan_shared_rows

    if prepared and share:
        return int((~absent_persons(x)).sum())
    shared = plan_shared_rows(x) if share else None
    return x.shape[0] * x.shape[1] if shared is None else len(shared.keep)


def bench_profile(
    dtype: str = "fp32", batch: int = 8, two_person: float = 0.5, frames: int = 100, iters: int = 3, pyskl: bool = True,
    source: str | None = None, peaks: dict | None = None, model_kwargs: dict | None = None,
) -> dict:
    """Ours against pyskl's AAGCN (same weights and input): interleaved step times and ratios, and per
    run the time per operator category with its GFLOP, GFLOP/s and fraction of the measured peak."""  # fmt: skip
    from ..model import build_model
    from ..model.cpu_infer import prepare_inference
    from .pyskl_source import DEFAULT_SOURCE, ENV, find_source, pyskl_model

    dt = _dtype(dtype)
    _check_mix(batch, two_person)
    amp = "bf16" if dt == torch.bfloat16 else "none"
    torch.manual_seed(0)
    model = build_model(layout="nturgb+d", num_classes=60, **(model_kwargs or {}))
    joints = model.backbone.num_joints
    x = _batch(batch, two_person, t=frames)
    y = torch.randint(0, model.cfg.num_classes, (batch,), generator=torch.Generator().manual_seed(1))
    src = find_source(source) if pyskl else None
    share = model.backbone.share_absent_persons
    rows = {"ours": _computed_rows(x, share), "prepared": _computed_rows(x, share, prepared=True), "pyskl": batch * model.cfg.num_person}
    if peaks is None:
        peaks = bench_peak((dtype,), batch, two_person, frames, iters=iters, model=model)
    out: dict[str, Any] = {"dtype": dtype, "batch": batch, "two_person": two_person, "frames": frames,
                           "rows computed (ours / prepared / pyskl)": f"{rows['ours']} / {rows['prepared']} / {rows['pyskl']}",
                           "pyskl": str(src) if src else f"skipped: no pyskl source (set ${ENV}; default {DEFAULT_SOURCE})"}  # fmt: skip
    for kind in ("matmul", "conv9x1", "conv1x1", "peak"):
        out[f"peak {kind} GFLOP/s"] = peaks[f"{dtype}_{kind}"]

    def autocast() -> Any:
        return torch.autocast("cpu", dtype=torch.bfloat16) if amp == "bf16" else nullcontext()

    def infer(net: Callable, cast: bool = True) -> None:
        with torch.inference_mode(), autocast() if cast else nullcontext():
            net(x)

    train_ours = copy.deepcopy(model).train()
    eval_ours = copy.deepcopy(model).eval()
    prepared = prepare_inference(copy.deepcopy(model), dtype=dtype)
    # run name -> (step, labelling kind, labelled object, rows, training)
    runs: dict[str, tuple[Callable[[], None], str, Any, int, bool]] = {
        "ours train": (partial(_train_step, train_ours, _sgd(train_ours), x, y, amp), "ours", train_ours, rows["ours"], True),
        "ours infer (prepared)": (partial(infer, prepared, False), "prepared", prepared, rows["prepared"], False),
        "ours infer (eval)": (partial(infer, eval_ours), "ours", eval_ours, rows["ours"], False),
    }
    if src is not None:
        train_py = pyskl_model(copy.deepcopy(model), src).train()
        eval_py = pyskl_model(copy.deepcopy(model), src).eval()
        runs["pyskl train"] = (partial(_train_step, train_py, _sgd(train_py), x, y, amp), "pyskl", train_py, rows["pyskl"], True)
        runs["pyskl infer (eval)"] = (partial(infer, eval_py), "pyskl", eval_py, rows["pyskl"], False)
    secs: dict[str, float] = {}
    for training in (True, False):  # the training steps in turns, then the inferences in turns
        names = [n for n, r in runs.items() if r[4] == training]
        secs.update(zip(names, _time(*(runs[n][0] for n in names), iters=iters)))
    top = peaks[f"{dtype}_peak"]
    out["runs"] = {}
    for name, (fn, kind, net, n_rows, training) in runs.items():
        flops = {k: (3 if training else 1) * f for k, f in category_flops(model, n_rows, frames, batch).items()}
        cats, wall = _profile_step(fn, kind, net, joints)
        total = sum(cats.values())
        table = {}
        for cat, us in cats.items():
            row: dict[str, float | None] = {"ms": us / 1e3, "share": us / total, "gflop": flops.get(cat, 0.0) / 1e9, "gflops": None,
                                            "fraction_of_peak": None}  # fmt: skip
            if flops.get(cat) and us > 0:
                row["gflops"] = flops[cat] / us / 1e3
                if cat in _PEAK_OF:
                    row["fraction_of_peak"] = row["gflops"] / max(peaks[f"{dtype}_{p}"] for p in _PEAK_OF[cat])
            table[cat] = row
        step_flops = sum(flops.values())
        out["runs"][name] = {"ms": secs[name] * 1e3, "samples_s": batch / secs[name], "gflop": step_flops / 1e9,
                             "gflops": step_flops / secs[name] / 1e9, "fraction_of_peak": step_flops / secs[name] / 1e9 / top,
                             "profiled_ms": wall * 1e3, "categories": table}  # fmt: skip
    if src is not None:
        out["speedup train"] = secs["pyskl train"] / secs["ours train"]
        out["speedup infer (prepared)"] = secs["pyskl infer (eval)"] / secs["ours infer (prepared)"]
        out["speedup infer (eval, inference_mode)"] = secs["pyskl infer (eval)"] / secs["ours infer (eval)"]
    return out


def profile_lines(out: dict) -> list[str]:
    """The profile as printed lines: the scalars, then one table per run."""
    lines = [f"  {k:38s} {v:.4g}" if isinstance(v, float) else f"  {k:38s} {v}" for k, v in out.items() if k != "runs"]
    for name, run in out["runs"].items():
        lines.append(f"\n  -- {name}: {run['ms']:.1f} ms a step ({run['samples_s']:.3g} samples/s), {run['gflop']:.3g} GFLOP, "
                     f"{run['gflops']:.4g} GFLOP/s = {run['fraction_of_peak']:.2f} of peak; profiled step {run['profiled_ms']:.1f} ms")  # fmt: skip
        lines.append(f"  {'category':48s} {'ms':>8s} {'share':>6s} {'GFLOP':>7s} {'GFLOP/s':>8s} {'of peak':>7s}")
        for cat, row in run["categories"].items():
            rate = f"{row['gflops']:8.1f}" if row["gflops"] is not None else f"{'':8s}"
            frac = f"{row['fraction_of_peak']:7.2f}" if row["fraction_of_peak"] is not None else f"{'':7s}"
            gflop = f"{row['gflop']:7.2f}" if row["gflop"] else f"{'':7s}"
            lines.append(f"  {CATEGORIES[cat]:48s} {row['ms']:8.1f} {100 * row['share']:5.1f}% {gflop} {rate} {frac}")
    return lines


# ------------------------------------------------------------------------------------------------
# revisions
# ------------------------------------------------------------------------------------------------

# One worker per source tree: builds the tree's model with seed 0 and the bench's input, then answers
# "step" (seconds of one training step) and "ops" (the operators one step runs) on stdin/stdout.
_WORKER = r"""
import json, sys, time
from collections import Counter
sys.path.insert(0, sys.argv[1])
import torch
import aagcn_lab
try:
    from aagcn_lab.runtime import keep_freed_memory
    kept = keep_freed_memory()
except ImportError:
    kept = False
from aagcn_lab.model import build_model
batch, two, frames = int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
torch.manual_seed(0)
model = build_model(layout="nturgb+d", num_classes=60).train()
g = torch.Generator().manual_seed(0)
x = torch.randn((batch, 2, frames, 25, 3), generator=g)
x[round(two * batch):, 1] = 0
y = torch.randint(0, 60, (batch,), generator=torch.Generator().manual_seed(1))
opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=5e-4)
def step():
    opt.zero_grad(set_to_none=True)
    torch.nn.functional.cross_entropy(model(x), y).backward()
    opt.step()
step(); step()
print(json.dumps({"package": aagcn_lab.__file__, "malloc_kept": bool(kept), "threads": torch.get_num_threads()}), flush=True)
for line in sys.stdin:
    if line.strip() == "step":
        t = time.perf_counter(); step(); print(json.dumps(time.perf_counter() - t), flush=True)
    elif line.strip() == "ops":
        from torch.profiler import profile, ProfilerActivity
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            step()
        top = lambda e: e.cpu_parent is None or not e.cpu_parent.name.startswith("aten::")
        ops = Counter(e.name for e in prof.events() if e.name.startswith("aten::") and top(e))
        print(json.dumps(dict(ops)), flush=True)
    else:
        break
"""


def bench_revisions(trees: Sequence[str], batch: int = 8, two_person: float = 0.5, frames: int = 100, iters: int = 5) -> dict:
    """The training step of the model in each source tree (its own process), timed in turns: median
    seconds, the ratio to the first tree, and the operators whose counts differ from the first tree's."""
    _check_mix(batch, two_person)
    if len(trees) < 2:
        raise ValueError("--trees needs at least two source trees (e.g. a git worktree of an older commit, and '.')")
    for tree in trees:
        if not os.path.isfile(os.path.join(tree, "aagcn_lab", "model", "__init__.py")):
            raise ValueError(f"--trees: {tree}: no aagcn_lab/model/__init__.py (a source tree of this project)")
    out: dict[str, Any] = {"batch / two_person / frames": f"{batch} / {two_person} / {frames}",
                           "load average before": " ".join(f"{x:.2f}" for x in os.getloadavg())}  # fmt: skip
    env = {**os.environ, "PYTHONPATH": ""}
    procs = [subprocess.Popen([sys.executable, "-c", _WORKER, os.path.abspath(t), str(batch), str(two_person), str(frames)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env) for t in trees]  # fmt: skip

    def ask(p: subprocess.Popen, cmd: str) -> Any:
        p.stdin.write(cmd + "\n")
        p.stdin.flush()
        line = p.stdout.readline()
        if not line:
            raise RuntimeError(f"the worker for {p.args[3]} stopped (see its error above)")
        return json.loads(line)

    try:
        infos = []
        for p in procs:
            line = p.stdout.readline()
            if not line:
                raise RuntimeError(f"the worker for {p.args[3]} did not start (see its error above)")
            infos.append(json.loads(line))
        times: list[list[float]] = [[] for _ in procs]
        for _ in range(iters):
            for p, ts in zip(procs, times):
                ts.append(ask(p, "step"))
        ops = [ask(p, "ops") for p in procs]
    finally:
        for p in procs:
            if p.stdin and not p.stdin.closed:
                p.stdin.write("quit\n")
                p.stdin.close()
            p.wait(timeout=60)
    base = statistics.median(times[0])
    for tree, info, ts, counts in zip(trees, infos, times, ops):
        med = statistics.median(ts)
        out[f"{tree}: package"] = f"{info['package']} (threads {info['threads']}, malloc kept: {info['malloc_kept']})"
        out[f"{tree}: step s (median; min, max)"] = f"{med:.4f} ({min(ts):.4f}, {max(ts):.4f})"
        out[f"{tree}: time / first tree's"] = med / base
        out[f"{tree}: operators a step"] = sum(counts.values())
        diff = {k: (ops[0].get(k, 0), counts.get(k, 0)) for k in set(ops[0]) | set(counts) if ops[0].get(k, 0) != counts.get(k, 0)}
        out[f"{tree}: operators differing from the first tree"] = ", ".join(f"{k} {a}->{b}" for k, (a, b) in sorted(diff.items())) or "none"
    out["load average after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return out
