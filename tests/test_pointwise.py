"""The model's 1x1 convolutions as a batched product on the CPU (model/pointwise.py): Conv2d's function and gradients."""

import pytest
import torch
import torch.nn.functional as F

from aagcn_lab import build_model
from aagcn_lab.model import aagcn
from aagcn_lab.model.pointwise import PointwiseConv2d, pointwise_conv

from .tolerances import float_bound, rel

# (N, C_in, C_out, T, V, stride, bias): the stacked W_k (K*C_in inputs), an embedding, a strided
# residual (T halved, T odd), one sample, no bias
SHAPES = [(4, 48, 16, 12, 25, 1, True), (3, 16, 24, 10, 25, 1, True), (3, 8, 16, 9, 25, 2, True), (1, 5, 7, 6, 20, 1, False), (2, 6, 4, 8, 17, 3, False)]


@pytest.mark.parametrize("n,ci,co,t,v,stride,bias", SHAPES)
def test_pointwise_conv_is_conv2d_with_its_gradients(n, ci, co, t, v, stride, bias):
    torch.manual_seed(0)
    x = torch.randn(n, ci, t, v, dtype=torch.float64, requires_grad=True)
    w = torch.randn(co, ci, 1, 1, dtype=torch.float64, requires_grad=True)
    b = torch.randn(co, dtype=torch.float64, requires_grad=True) if bias else None
    want = F.conv2d(x, w, b, (stride, 1))
    got = pointwise_conv(x, w, b, (stride, 1))
    assert got.shape == want.shape == (n, co, (t - 1) // stride + 1, v)
    # f64 x C_in terms (each output's dot product) + the bias; scale 10: the terms' absolute sum over the largest output
    assert rel(got, want) < float_bound(torch.float64, terms=ci + 1, scale=10)
    g = torch.randn_like(want)
    inputs = (x, w) + ((b,) if bias else ())
    for a, e in zip(torch.autograd.grad(got, inputs, g), torch.autograd.grad(want, inputs, g)):
        # f64 x the longest sum: a weight's or bias's gradient sums N*T'*V products (every sample and output pixel),
        # x's C_out; scale as above. Measured at 1 and 2 threads: at most 1.9e-16, against bounds of 2.3e-13 and more
        assert rel(a, e) < float_bound(torch.float64, terms=max(n * got.shape[2] * v, co), scale=10)


def test_the_product_runs_on_contiguous_cpu_tensors_and_conv2d_elsewhere(monkeypatch):
    """The product for NCHW CPU input (F.conv2d never called); channels-last input and other
    kernels go to F.conv2d, unchanged."""
    torch.manual_seed(0)
    x, w, b = torch.randn(2, 6, 5, 7), torch.randn(4, 6, 1, 1), torch.randn(4)
    want = F.conv2d(x, w, b)
    calls = []
    conv2d = F.conv2d
    monkeypatch.setattr(F, "conv2d", lambda *a, **k: calls.append(a) or conv2d(*a, **k))
    got = pointwise_conv(x, w, b)
    assert not calls and rel(got, want) < float_bound(torch.float32, terms=7, scale=10)
    cl = x.contiguous(memory_format=torch.channels_last)
    assert torch.equal(pointwise_conv(cl, w, b), conv2d(cl, w, b)) and len(calls) == 1
    w3 = torch.randn(4, 6, 3, 1)
    assert torch.equal(pointwise_conv(x, w3, b), conv2d(x, w3, b)) and len(calls) == 2
    with pytest.raises(RuntimeError, match="channels"):  # a weight for other input channels: conv2d's own error
        pointwise_conv(x, torch.randn(4, 5, 1, 1), b)


def test_the_module_is_a_conv2d_and_other_shapes_run_its_own_forward(monkeypatch):
    torch.manual_seed(0)
    x = torch.randn(2, 6, 9, 5)
    calls = []
    monkeypatch.setattr("aagcn_lab.model.pointwise.pointwise_conv", lambda *a: calls.append(a))
    for kwargs in [dict(kernel_size=(3, 1), padding=(1, 0)), dict(kernel_size=1, padding=1), dict(kernel_size=1, groups=2), dict(kernel_size=1, dilation=2)]:
        conv = PointwiseConv2d(6, 4, **kwargs)
        assert torch.equal(conv(x), F.conv2d(x, conv.weight, conv.bias, conv.stride, conv.padding, conv.dilation, conv.groups))
    assert not calls
    monkeypatch.undo()
    conv = PointwiseConv2d(6, 4, 1, stride=(2, 1))
    assert isinstance(conv, torch.nn.Conv2d) and list(conv.state_dict()) == ["weight", "bias"]
    assert rel(conv(x), F.conv2d(x, conv.weight, conv.bias, (2, 1))) < float_bound(torch.float32, terms=7, scale=10)


def test_the_models_1x1_convolutions_use_it_and_the_model_equals_its_plain_conv2d_twin(monkeypatch):
    """down, the strided residual and (functionally) the stacked W_k and embeddings run as products; with
    plain Conv2d and F.conv2d instead (the same weights) the model's output and gradients agree to float64 rounding."""
    torch.manual_seed(0)
    m = build_model(num_classes=5, base_channels=8, num_stages=3, inflate_stages=[3], down_stages=[3]).double()
    for p in m.parameters():
        p.data.normal_(0, 0.1)
    blocks = list(m.backbone.gcn)
    assert type(blocks[2].gcn.down[0]) is PointwiseConv2d and type(blocks[2].residual.conv) is PointwiseConv2d
    assert type(blocks[1].tcn.conv) is torch.nn.Conv2d  # the 9x1 temporal convolution stays oneDNN's
    x = torch.randn(3, 2, 20, 25, 3, dtype=torch.float64)
    x[1:, 1] = 0  # absent persons: shared rows, weighted BN
    m.train()
    out = m(x)
    grads = torch.autograd.grad(out.square().sum(), list(m.parameters()))
    calls = []
    monkeypatch.setattr(aagcn, "pointwise_conv", lambda x, w, b: calls.append(w.shape) or F.conv2d(x, w, b))
    for blk in blocks:
        for parent, name in ((blk.gcn.down, "0"), (blk.residual, "conv")):
            plain = getattr(parent, name, None)
            if isinstance(plain, PointwiseConv2d):
                twin = torch.nn.Conv2d(plain.in_channels, plain.out_channels, 1, stride=plain.stride).double()
                twin.load_state_dict(plain.state_dict())
                setattr(parent, name, twin)
    out_plain = m(x)
    grads_plain = torch.autograd.grad(out_plain.square().sum(), list(m.parameters()))
    assert len(calls) == 2 * len(blocks)  # the stacked W_k and the embeddings of every block
    assert not any(isinstance(mod, PointwiseConv2d) for mod in m.modules())
    # f64 x 2e3 terms (BN's sums over 4 rows x 20 frames x 25 joints) x 7 layers; scale 1e2 as for the gates'
    # twin (tests/test_gate_conv.py: gradients that largely cancel). Biases before a BN have gradient 0 up to rounding.
    bound = float_bound(torch.float64, terms=2e3, depth=7, scale=1e2)
    assert rel(out, out_plain) < bound
    assert max(rel(a, e) for a, e in zip(grads, grads_plain) if e.abs().max() > 1e-8) < bound
