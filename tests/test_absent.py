"""Absent persons computed once (model/absent.py): the same function, gradients and BN statistics."""

import copy
import shutil

import pytest
import torch

from aagcn_lab import build_model
from aagcn_lab.model.absent import (
    WeightedBatchNorm2d,
    WeightedBatchNormFunction,
    count_rows,
    outside_compile,
    plan_shared_rows,
    weighted_batch_norm,
)

from .conftest import perturb
from .tolerances import float_bound, rel


def _batch() -> torch.Tensor:
    torch.manual_seed(0)
    x = torch.randn(6, 2, 20, 25, 3, dtype=torch.float64)
    x[[0, 2, 3, 5], 1] = 0  # four samples without a second person
    x[4, 0] = 0  # and one without a first person
    return x


def test_plan_computes_each_slots_absent_person_once():
    x = _batch()
    rows = plan_shared_rows(x)
    flat = x.reshape(12, -1)
    # by hand: every present person, plus the first absent person of each slot (flat rows 1 and 8)
    assert rows.keep.tolist() == [0, 1, 2, 3, 4, 6, 8, 9, 10]
    assert rows.weight.tolist() == [1, 4, 1, 1, 1, 1, 1, 1, 1] and rows.weight.dtype == x.dtype
    assert rows.inverse.tolist() == [0, 1, 2, 3, 4, 1, 5, 1, 6, 7, 8, 1]
    # exact: the weights are counts (small integers, exact in float64) and compact/expand only index rows
    assert torch.equal(rows.expand(rows.compact(flat)), flat)
    assert rows.weight.sum() == 12 and torch.equal(torch.bincount(rows.inverse), rows.weight.long())
    assert plan_shared_rows(torch.randn(3, 2, 5, 25, 3)) is None  # nothing to share
    one = torch.randn(3, 2, 5, 25, 3)
    one[0, 1] = 0
    assert plan_shared_rows(one) is None  # a single absent person per slot: nothing saved


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_sharing_absent_persons_changes_nothing(mode):
    """The model with sharing equals the model without, in outputs, gradients and BN statistics (float64)."""
    m = perturb(build_model(layout="nturgb+d", num_classes=6, base_channels=8, dropout=0.0)).double()
    ref = copy.deepcopy(m)
    ref.backbone.share_absent_persons = False
    getattr(m, mode)(), getattr(ref, mode)()
    x = _batch()
    out, want = m(x), ref(x)
    # f64, summed in another order: train-mode BN means over N x M x T x V = 6e3 terms, 10 blocks + head
    bound = float_bound(torch.float64, terms=6e3, depth=11)  # 1.5e-11
    assert rel(out, want) < bound
    out.square().sum().backward()
    want.square().sum().backward()
    # gradients: forward and backward (2 x 11 layers), a weight's gradient sums N x T x V x 9 taps = 6e4 terms
    grad_bound = float_bound(torch.float64, terms=6e4, depth=22)  # 2.9e-10
    for (name, p), q in zip(m.named_parameters(), ref.parameters()):
        assert (p.grad - q.grad).abs().max() <= grad_bound * max(q.grad.abs().max(), 1e-3), name
    for (name, b), c in zip(m.named_buffers(), ref.buffers()):  # running stats: the forward's bound, O(1) values
        assert torch.allclose(b.double(), c.double(), rtol=bound, atol=bound), name
    assert all(bn.row_weight is None for bn in m.modules() if isinstance(bn, WeightedBatchNorm2d))  # handed back


def test_weighted_batch_norm_equals_batch_norm_over_the_repeated_rows():
    """Row i counted weight[i] times is BatchNorm2d over a batch holding row i weight[i] times:
    the same output rows, the same running statistics (unbiased variance over the full count)."""
    torch.manual_seed(0)
    x = torch.randn(4, 5, 6, 7, dtype=torch.float64) * 2 + 1
    weight = torch.tensor([1.0, 3, 1, 2], dtype=torch.float64)
    bn, plain = WeightedBatchNorm2d(5).double().train(), torch.nn.BatchNorm2d(5).double().train()
    with torch.no_grad():
        for b in (bn, plain):
            b.weight.copy_(torch.linspace(0.5, 1.5, 5))
            b.bias.copy_(torch.linspace(-1, 1, 5))
    repeated = x.repeat_interleave(weight.long(), dim=0)
    bn.row_weight = weight
    out, want = bn(x), plain(repeated)
    first = torch.cumsum(weight.long(), 0) - weight.long()  # where each row's first copy sits
    # f64, one layer: statistics over 7 weighted rows x 6 x 7 = 294 terms -> 6.5e-14 (1e-13 kept, looser)
    assert rel(out, want[first]) < 1e-13
    for name in ("running_mean", "running_var", "num_batches_tracked"):  # same 294 terms (+ allclose's atol 1e-8)
        assert torch.allclose(getattr(bn, name).double(), getattr(plain, name).double(), rtol=1e-13), name
    bn.row_weight = None  # without weights: exactly nn.BatchNorm2d
    # exact (both): without weights / in eval mode the module calls the same F.batch_norm on the same tensors
    assert torch.equal(bn(repeated), plain(repeated))
    bn.eval(), plain.eval()
    bn.row_weight = weight  # eval mode treats rows independently: the weights do not matter
    assert torch.equal(bn(x), torch.nn.functional.batch_norm(x, bn.running_mean, bn.running_var, bn.weight, bn.bias, eps=bn.eps))


def test_weighted_batch_norm_with_cumulative_momentum():
    """``momentum=None`` (a cumulative average, as lab.warm_batch_norm sets it) is kept as BatchNorm2d keeps it."""
    torch.manual_seed(0)
    x = torch.randn(3, 4, 5, 6, dtype=torch.float64)
    weight = torch.tensor([2.0, 1, 1], dtype=torch.float64)
    bn = WeightedBatchNorm2d(4, momentum=None).double()
    plain = torch.nn.BatchNorm2d(4, momentum=None).double()
    for _ in range(2):
        weighted_batch_norm(bn, x, weight)
        plain(x.repeat_interleave(weight.long(), dim=0))
    # f64: 4 weighted rows x 30 = 120 terms, two updates -> 5.3e-14 (1e-13 and allclose's atol 1e-8 kept)
    assert torch.allclose(bn.running_mean, plain.running_mean, rtol=1e-13)
    assert torch.allclose(bn.running_var, plain.running_var, rtol=1e-13)


def _composed_weighted_batch_norm(bn: torch.nn.BatchNorm2d, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """The weighted batch norm written as plain tensor operations, autograd differentiating them (the
    implementation before the closed-form backward): the oracle for outputs, gradients and running stats."""
    n = weight.sum() * x.shape[2] * x.shape[3]
    mean = (weight @ x.sum((2, 3))) / n
    centred = x - mean[None, :, None, None]
    var = (weight @ centred.square().sum((2, 3))) / n
    with torch.no_grad():
        bn.num_batches_tracked += 1
        mom = bn.momentum if bn.momentum is not None else 1.0 / float(bn.num_batches_tracked)
        bn.running_mean.mul_(1 - mom).add_(mom * mean)
        bn.running_var.mul_(1 - mom).add_(mom * var * n / (n - 1))
    scale = bn.weight * torch.rsqrt(var + bn.eps)
    return centred * scale[None, :, None, None] + bn.bias[None, :, None, None]


def _weighted_bn_case(momentum: float | None = 0.1) -> tuple[torch.Tensor, torch.Tensor, WeightedBatchNorm2d]:
    """float64 activations off-centre (mean 1, std 2), counts 1-4, gamma and beta away from 1 and 0."""
    torch.manual_seed(0)
    x = torch.randn(5, 6, 7, 8, dtype=torch.float64) * 2 + 1
    weight = torch.tensor([1.0, 4, 1, 2, 1], dtype=torch.float64)
    bn = WeightedBatchNorm2d(6, momentum=momentum).double().train()
    with torch.no_grad():
        bn.weight.copy_(torch.linspace(0.5, 1.5, 6))
        bn.bias.copy_(torch.linspace(-1, 1, 6))
    return x, weight, bn


def test_weighted_batch_norm_backward_passes_gradcheck():
    """The closed-form backward against finite differences (float64): inputs, gamma and beta."""
    x, weight, bn = _weighted_bn_case()
    x = x[:, :3, :4, :5].clone().requires_grad_()  # small: gradcheck differentiates every element
    gamma = bn.weight[:3].detach().clone().requires_grad_()
    beta = bn.bias[:3].detach().clone().requires_grad_()
    assert torch.autograd.gradcheck(lambda a, g, b: WeightedBatchNormFunction.apply(a, weight, g, b, 1e-5)[0], (x, gamma, beta))
    # the statistics it returns are the weighted mean and biased variance, and not differentiable
    y, mean, var = WeightedBatchNormFunction.apply(x, weight, gamma, beta, 1e-5)
    repeated = x.detach().repeat_interleave(weight.long(), dim=0)
    # f64: 9 weighted rows x 20 pixels = 180 terms
    assert torch.allclose(mean, repeated.mean((0, 2, 3)), rtol=float_bound(torch.float64, terms=180), atol=0)
    assert torch.allclose(var, repeated.var((0, 2, 3), unbiased=False), rtol=float_bound(torch.float64, terms=180, depth=2), atol=0)
    assert not mean.requires_grad and not var.requires_grad and y.requires_grad


@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last])
@pytest.mark.parametrize("momentum", [0.1, None])
def test_weighted_batch_norm_equals_the_composed_one(memory_format, momentum):
    """Outputs, gradients of x / gamma / beta and running statistics equal autograd through the plain
    operations (float64, two training steps), for contiguous and channels-last activations."""
    x0, weight, bn = _weighted_bn_case(momentum)
    ref = copy.deepcopy(bn)
    upstream = torch.randn(x0.shape, dtype=torch.float64)
    for step in range(2):
        x = (x0 + step).contiguous(memory_format=memory_format).requires_grad_()
        xr = (x0 + step).requires_grad_()
        out, want = weighted_batch_norm(bn, x, weight), _composed_weighted_batch_norm(ref, xr, weight)
        (out * upstream).sum().backward()
        (want * upstream).sum().backward()
        # f64: statistics over 9 weighted rows x 56 pixels = 504 terms, forward and backward (2 layers)
        bound = float_bound(torch.float64, terms=504, depth=2)  # 2.2e-13
        assert rel(out, want) < bound
        assert rel(x.grad, xr.grad) < bound
    for name in ("weight", "bias"):  # accumulated over the two steps
        assert rel(getattr(bn, name).grad, getattr(ref, name).grad) < bound, name
    for name in ("running_mean", "running_var"):
        assert rel(getattr(bn, name), getattr(ref, name)) < bound, name
    assert int(bn.num_batches_tracked) == int(ref.num_batches_tracked) == 2


def test_weighted_batch_norm_gradients_equal_batch_norm_over_the_repeated_rows():
    """As the backbone uses it -- one computed row, expanded to its copies -- the gradients of x, gamma
    and beta equal nn.BatchNorm2d's over the batch that holds every copy (float64)."""
    x0, weight, bn = _weighted_bn_case()
    plain = torch.nn.BatchNorm2d(6).double().train()
    plain.load_state_dict(bn.state_dict())
    copies = torch.arange(len(weight)).repeat_interleave(weight.long())  # expand: row of each copy
    upstream = torch.randn((len(copies),) + x0.shape[1:], dtype=torch.float64)
    x, xr = x0.clone().requires_grad_(), x0.clone().requires_grad_()
    bn.row_weight = weight
    (bn(x)[copies] * upstream).sum().backward()
    (plain(xr[copies]) * upstream).sum().backward()
    bound = float_bound(torch.float64, terms=504, depth=2)  # f64: 504 weighted terms, forward and backward
    assert rel(x.grad, xr.grad) < bound
    assert rel(bn.weight.grad, plain.weight.grad) < bound and rel(bn.bias.grad, plain.bias.grad) < bound


def test_weighted_batch_norm_backward_under_autocast():
    """Under bf16 autocast the backward runs in float32 too: the float32 gradients, dx rounded to bf16."""
    torch.manual_seed(0)
    x = (torch.randn(6, 16, 20, 25) * 3 + 1).bfloat16().requires_grad_()
    x32 = x.detach().float().requires_grad_()
    weight = torch.tensor([1.0, 1, 4, 1, 1, 2])
    upstream = torch.randn(x.shape).bfloat16().float()  # bf16 values: the bf16 output's gradient holds them exactly
    bn, bn32 = WeightedBatchNorm2d(16).train(), WeightedBatchNorm2d(16).train()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = weighted_batch_norm(bn, x, weight)
    (out.float() * upstream).sum().backward()
    (weighted_batch_norm(bn32, x32, weight) * upstream).sum().backward()
    assert x.grad.dtype == torch.bfloat16 and bn.weight.grad.dtype == torch.float32
    # exact: the same f32 operations on the same values (the output's bf16 rounding is not on the gradient's path)
    assert torch.equal(bn.weight.grad, bn32.weight.grad) and torch.equal(bn.bias.grad, bn32.bias.grad)
    assert rel(x.grad.float(), x32.grad) < float_bound(torch.bfloat16)  # dx rounded to bf16 once: eps 7.8e-3


def test_state_dict_keys_are_pyskls():
    """WeightedBatchNorm2d has BatchNorm2d's parameters and buffers, so the model's keys stay pyskl's."""
    assert list(WeightedBatchNorm2d(8).state_dict()) == list(torch.nn.BatchNorm2d(8).state_dict())
    m = build_model(layout="nturgb+d", num_classes=60)
    keys = list(m.state_dict())
    assert len(keys) == 443 and keys[0] == "backbone.A" and keys[-1] == "cls_head.fc_cls.bias"
    block = [k[len("backbone.gcn.4."):] for k in keys if k.startswith("backbone.gcn.4.")]
    assert block[:5] == ["gcn.A", "gcn.alpha", "gcn.conv_d.0.weight", "gcn.conv_d.0.bias", "gcn.conv_d.1.weight"]
    for bn in ("gcn.down.1", "gcn.bn", "tcn.bn", "residual.bn"):
        assert [k for k in block if k.startswith(bn + ".")] == [
            f"{bn}.{name}" for name in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
        ]
    assert not any("row_weight" in k for k in keys)


def test_count_rows_reaches_every_batch_norm_of_the_blocks():
    m = build_model(layout="coco", num_classes=3, base_channels=8)
    w = torch.ones(3)
    count_rows(m.backbone.gcn, w)
    bns = [b for b in m.backbone.gcn.modules() if isinstance(b, torch.nn.BatchNorm2d)]
    assert bns and all(isinstance(b, WeightedBatchNorm2d) and b.row_weight is w for b in bns)
    count_rows(m.backbone.gcn, None)
    assert all(b.row_weight is None for b in bns)


def test_weighted_batch_norm_keeps_float32_statistics_under_autocast():
    """Under bf16 autocast the multiplicity-weighted BN (absent persons shared) computes its batch
    statistics in float32 from the bf16 activations, as BatchNorm2d does, not in bf16 (0.4% off)."""
    torch.manual_seed(0)
    x = (torch.randn(6, 16, 20, 25) * 3 + 1).bfloat16()
    weight = torch.tensor([1.0, 1, 4, 1, 1, 2])
    bn, bn32 = WeightedBatchNorm2d(16).train(), WeightedBatchNorm2d(16).train()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = weighted_batch_norm(bn, x, weight)
    want = weighted_batch_norm(bn32, x.float(), weight)  # the same bf16 values, in float32 throughout
    assert out.dtype == torch.bfloat16
    # f32 statistics of the same bf16 values, another order: 6 x 20 x 25 = 3e3 terms -> 3.6e-4, still 10x
    # below the 0.4% that bf16 statistics would be off
    stats_bound = float_bound(torch.float32, terms=3e3)
    assert rel(bn.running_mean, bn32.running_mean) < stats_bound and rel(bn.running_var, bn32.running_var) < stats_bound
    assert rel(out.float(), want) < 1e-2  # the output itself is rounded to bf16: 1 rounding, eps 7.8e-3 < 1e-2


@pytest.mark.slow  # inductor compiles for minutes on 2 shared cores
@pytest.mark.skipif(shutil.which("g++") is None and shutil.which("c++") is None, reason="inductor on the CPU needs a C++ compiler")
def test_compiled_training_step_equals_eager_with_absent_persons_shared():
    """``torch.compile`` (inductor) of a training step, absent persons shared, bf16 autocast off:
    the same outputs, gradients and BN statistics as eager (the sharing bookkeeping stays eager)."""
    torch.manual_seed(0)
    m = build_model(layout="nturgb+d", num_classes=6, base_channels=8, num_stages=3, inflate_stages=[3], down_stages=[3]).train()
    ref = copy.deepcopy(m)
    x = torch.randn(4, 2, 12, 25, 3)
    x[1:, 1] = 0
    out, want = torch.compile(m)(x), ref(x)
    out.square().sum().backward()
    want.square().sum().backward()
    # f32, inductor's fused kernels sum in another order: train BN over 4 x 2 x 12 x 25 = 2.4e3 terms, 3 blocks +
    # head -> 1.4e-3; gradients: a weight's gradient sums 2.4e3 x 9 taps = 2.2e4 terms over 2 x 4 layers
    bound, grad_bound = float_bound(torch.float32, terms=3e3, depth=4), float_bound(torch.float32, terms=2.2e4, depth=8)
    assert rel(out, want) < bound
    for (name, p), q in zip(m.named_parameters(), ref.parameters()):
        assert (p.grad - q.grad).abs().max() <= grad_bound * max(q.grad.abs().max(), 1e-3), name
    for (name, b), c in zip(m.named_buffers(), ref.buffers()):  # O(1) statistics: the forward's bound
        assert torch.allclose(b.double(), c.double(), rtol=bound, atol=bound), name


def test_bookkeeping_runs_outside_compiled_graphs_and_importing_the_model_skips_dynamo():
    """``outside_compile`` functions run eagerly under ``torch.compile`` (dynamo never traces them), the
    same function when not compiled; and importing the model does not import dynamo (a second a process)."""
    import subprocess
    import sys

    seen = []

    @outside_compile
    def rows(x):
        seen.append(torch.compiler.is_compiling())  # True only if dynamo traced this body
        return (x.abs().sum(1) > 0).nonzero()[:, 0], int((x == 0).all(1).sum())  # data-dependent, a Python int

    def f(x):
        keep, absent = rows(x)
        return x[keep].sin().sum() * (absent + 1)

    x = torch.randn(6, 3)
    x[2] = 0
    want = f(x)
    got = torch.compile(f, backend="eager")(x)
    assert torch.equal(got, want) and seen == [False, False]  # exact: the same eager ops either way
    code = "import sys, aagcn_lab.model, aagcn_lab.train.trainer; print('torch._dynamo' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"
