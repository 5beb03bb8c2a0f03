"""Absent persons computed once (model/absent.py): the same function, gradients and BN statistics."""

import copy
import shutil

import pytest
import torch

from aagcn_lab import build_model
from aagcn_lab.model.absent import WeightedBatchNorm2d, count_rows, plan_shared_rows, weighted_batch_norm

from .conftest import perturb
from .tolerances import float_bound


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a - b).abs().max() / b.abs().max()).item()


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
