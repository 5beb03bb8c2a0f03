"""The attention gates' one-channel convolutions (model/gate_conv.py): Conv1d's function and gradients."""

import pytest
import torch
import torch.nn.functional as F

from aagcn_lab import build_model
from aagcn_lab.model.gate_conv import GateConv1d, gate_conv

from .tolerances import float_bound, rel

# (N, C, P, J, padding): the model's spatial (kernel V or V - 1, "same") and temporal (9, "same")
# gates, an even kernel, no padding (a shorter output), more padding than "same" (a longer one), P = 1
SHAPES = [(3, 16, 25, 25, 12), (3, 16, 17, 17, 8), (2, 8, 18, 17, 8), (4, 32, 100, 9, 4), (2, 5, 20, 4, 0), (2, 5, 7, 3, 3), (1, 4, 1, 9, 4)]


@pytest.mark.parametrize("n,c,p,j,pad", SHAPES)
def test_gate_conv_is_conv1d_with_its_gradients(n, c, p, j, pad):
    torch.manual_seed(0)
    x = torch.randn(n, c, p, dtype=torch.float64, requires_grad=True)
    w = torch.randn(1, c, j, dtype=torch.float64, requires_grad=True)
    b = torch.randn(1, dtype=torch.float64, requires_grad=True)
    want = F.conv1d(x, w, b, padding=pad)
    got = gate_conv(x.transpose(1, 2), w, b, pad).unsqueeze(1)
    assert got.shape == want.shape == (n, 1, p + 2 * pad - j + 1)
    # f64 x C*J terms (each output's sum), one layer; scale 10: the terms' absolute sum over the largest output
    # (random signs: about sqrt(C*J), at most 20 here). Measured at 1 and 2 threads: at most 2 % of eps * C*J * sqrt(C*J)
    bound = float_bound(torch.float64, terms=c * j, scale=10)
    assert rel(got, want) < bound
    g = torch.randn_like(want)
    grads_want = torch.autograd.grad(want, (x, w, b), g)
    grads_got = torch.autograd.grad(got, (x, w, b), g)
    for a, e in zip(grads_got, grads_want):
        # f64 x N*C*P*J terms: above the longest sum (a weight's gradient sums N*P' products, x's J); scale as above.
        # Measured: at most 0.3 % of eps * N*P'*J * sqrt(N*P'*J)
        assert rel(a, e) < float_bound(torch.float64, terms=n * c * p * j, scale=10)
    assert gate_conv(x.transpose(1, 2), w, None, pad).shape == (n, p + 2 * pad - j + 1)


def test_the_module_is_a_conv1d_and_other_shapes_run_its_own_forward(monkeypatch):
    torch.manual_seed(0)
    x = torch.randn(2, 6, 30)
    calls = []
    monkeypatch.setattr("aagcn_lab.model.gate_conv.gate_conv", lambda *a: calls.append(a))
    for kwargs in [dict(out_channels=2, kernel_size=3, padding=1), dict(out_channels=1, kernel_size=3, stride=2), dict(out_channels=1, kernel_size=3, padding="same")]:
        conv = GateConv1d(6, **kwargs)
        assert torch.equal(conv(x), F.conv1d(x, conv.weight, conv.bias, conv.stride, conv.padding))
    assert not calls
    monkeypatch.undo()
    conv = GateConv1d(6, 1, 9, padding=4)
    assert isinstance(conv, torch.nn.Conv1d) and list(conv.state_dict()) == ["weight", "bias"]
    assert rel(conv(x), F.conv1d(x, conv.weight, conv.bias, padding=4)) < float_bound(torch.float32, terms=6 * 9, scale=10)


def test_the_models_gates_use_it_and_the_model_equals_its_plain_conv1d_twin():
    """The attention convolutions of every block are GateConv1d; swapped for plain Conv1d (the same
    weights), the model's output and gradients agree to float64 rounding."""
    torch.manual_seed(0)
    m = build_model(num_classes=5, base_channels=8, num_stages=3, inflate_stages=[3], down_stages=[3]).double()
    for p in m.parameters():
        p.data.normal_(0, 0.1)
    gcns = [b.gcn for b in m.backbone.gcn]
    assert all(type(g.conv_sa) is GateConv1d and type(g.conv_ta) is GateConv1d for g in gcns)
    x = torch.randn(2, 2, 20, 25, 3, dtype=torch.float64)
    m.train()
    out = m(x)
    grads = torch.autograd.grad(out.square().sum(), list(m.parameters()))
    for g in gcns:
        for name in ("conv_sa", "conv_ta"):
            plain = getattr(g, name)
            twin = torch.nn.Conv1d(plain.in_channels, 1, plain.kernel_size, padding=plain.padding).double()
            twin.load_state_dict(plain.state_dict())
            setattr(g, name, twin)
    out_plain = m(x)
    grads_plain = torch.autograd.grad(out_plain.square().sum(), list(m.parameters()))
    # f64 x 2e3 terms (BN's sums over 4 rows x 20 frames x 25 joints) x 7 layers (3 blocks of gcn and tcn, the head);
    # scale 1e2: a gate bias's gradient is a sum of terms that largely cancel (the last conv_ta.bias: 6.6e-7 against
    # up to 3e-3 elsewhere in its block; it reached 1.2 x eps x 2e3 x 7, at 1 and 2 threads). Biases before a BN have
    # gradient 0 up to rounding and are left out below.
    bound = float_bound(torch.float64, terms=2e3, depth=7, scale=1e2)  # 3.1e-10
    assert rel(out, out_plain) < bound
    assert max(rel(a, e) for a, e in zip(grads, grads_plain) if e.abs().max() > 1e-8) < bound
