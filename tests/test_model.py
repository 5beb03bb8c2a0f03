"""The AAGCN model: pyskl parity, parameter counts, ablation switches, the inspection API."""

import copy

import pytest
import torch

from aagcn_lab import AAGCN, AAGCNConfig, build_model
from aagcn_lab.model.reference import reference_forward

from .conftest import perturb, shared_file
from .facts import LAYOUT_FACTS, partition
from .tolerances import float_bound, rel

NTU = dict(layout="nturgb+d", num_classes=60)

# pyskl's float32 outputs (another implementation, another machine) against ours, f32: per layer ~4e3 terms
# (tcn 9 x 256, the means over T x V = 2500 through a sigmoid's slope 1/4, the unit's 3 x (C + V)), 10
# blocks + head (features: 10); train mode: BN statistics over N x M x T x V = 4 x 2 x 100 x 25 = 2e4 terms
PYSKL_EVAL = float_bound(torch.float32, terms=4e3, depth=11)  # 5.2e-3 (was 1e-4)
PYSKL_TRAIN = float_bound(torch.float32, terms=2e4, depth=11)  # 2.6e-2 (was 1e-4)


def pyskl_probs_bound(logits: torch.Tensor) -> float:
    """Clip probabilities: softmax turns the logits' error into 2 x max|logit| relative."""
    return float_bound(torch.float32, terms=4e3, depth=11, scale=2 * max(1.0, logits.abs().max().item()))


@pytest.mark.parametrize("layout,classes,count", [("nturgb+d", 60, 3_781_668), ("coco", 60, 3_760_228), ("nturgb+d", 120, 3_797_088), ("coco", 120, 3_775_648)])
def test_parameter_counts_match_pyskl(layout, classes, count):
    assert build_model(layout=layout, num_classes=classes).num_parameters() == count


def test_structure_and_shapes():
    m = build_model(**NTU)
    keys = list(m.state_dict())
    assert len(keys) == 443 and keys[0] == "backbone.A" and keys[-1] == "cls_head.fc_cls.bias"
    assert [len(b.tcn.conv.weight) for b in m.backbone.gcn] == [64] * 4 + [128] * 3 + [256] * 3
    assert [b.residual_kind for b in m.backbone.gcn] == ["none"] + ["identity"] * 3 + ["conv"] + ["identity"] * 2 + ["conv"] + ["identity"] * 2
    assert m.backbone.gcn[0].gcn.conv_sa.kernel_size == (25,)
    assert build_model(layout="openpose", num_classes=5).backbone.gcn[0].gcn.conv_sa.kernel_size == (17,)
    x = torch.randn(2, 2, 100, 25, 3)
    m.train()
    assert m.forward_features(x).shape == (2, 2, 256, 25, 25)
    assert m(x).shape == (2, 60)


def test_initialisation_quirks():
    torch.manual_seed(0)
    m = build_model(**NTU)
    g = m.backbone.gcn
    # exact (these three lines): the constants the init writes
    assert all(float(b.gcn.alpha) == 0 for b in g)
    assert torch.all(g[3].gcn.bn.weight == 1e-6) and torch.all(g[3].tcn.bn.weight == 1)
    assert torch.all(g[3].gcn.conv_ta.weight == 0) and torch.all(g[3].gcn.fc2c.weight == 0)
    assert torch.allclose(g[5].gcn.A, torch.from_numpy(partition("nturgb+d")).float())  # the documented graph (f32 1/deg both)
    # not rounding (3 ranges): a sample std of random init against its expected value
    # the residual 1x1 branches keep PyTorch's default init: a non-zero bias, std ~ 1/sqrt(3 * fan_in)
    assert g[4].residual.conv.bias.abs().sum() > 0
    assert 0.06 < g[4].residual.conv.weight.std().item() < 0.085
    assert abs(m.cls_head.fc_cls.weight.std().item() - 0.01) < 0.002
    orig = build_model(**NTU, init="original")
    assert orig.backbone.gcn[4].residual.conv.bias.abs().sum() == 0
    assert abs(orig.cls_head.fc_cls.weight.std().item() - (2 / 60) ** 0.5) < 0.03


@pytest.mark.parametrize("fixture,layout", [("model_ntu60_3d.pt", "nturgb+d"), ("model_coco60_2d.pt", "coco")])
def test_pyskl_fixture_parity(fixture, layout):

    path = shared_file("fixtures", "pyskl_parity", fixture)
    d = torch.load(path, weights_only=True)
    m = AAGCN(layout=layout, num_classes=60)
    assert m.num_parameters() == d["param_count"]
    m.load_state_dict(d["state_dict"])
    m.eval()
    with torch.no_grad():
        assert rel(m(d["input"]), d["logits_eval"]) <= PYSKL_EVAL
        assert rel(m.forward_test(d["input_test"]), d["probs_test"]) <= pyskl_probs_bound(d["logits_eval"])
        assert rel(m.forward_features(d["input"]).mean((-2, -1)), d["feat_eval_pool"]) <= PYSKL_EVAL
        m.train()
        assert rel(m(d["input"]), d["logits_train"]) <= PYSKL_TRAIN
    sd = m.state_dict()
    for k, v in d["bn_buffers_after_train"].items():  # num_batches_tracked: an integer count, exact
        assert (sd[k] == v).all() if v.dim() == 0 else rel(sd[k].float(), v.float()) <= PYSKL_TRAIN, k


def test_pyskl_fixture_through_load_checkpoint(tmp_path):
    from aagcn_lab import load_checkpoint

    for fixture in ("model_ntu60_3d.pt", "model_coco60_2d.pt"):
        d = torch.load(shared_file("fixtures", "pyskl_parity", fixture), weights_only=True)
        torch.save({"meta": {"mmcv_version": "1.5.0"}, "state_dict": d["state_dict"]}, tmp_path / "released.pth")
        m = load_checkpoint(tmp_path / "released.pth")  # layout and classes inferred from the weights
        assert m.cfg.layout == d["config"]["layout"] and m.cfg.num_classes == 60 and not m.training
        with torch.no_grad():  # the bounds of the test above
            assert rel(m(d["input"]), d["logits_eval"]) <= PYSKL_EVAL
            assert rel(m.forward_test(d["input_test"]), d["probs_test"]) <= pyskl_probs_bound(d["logits_eval"])
            m.train()
            assert rel(m(d["input"]), d["logits_train"]) <= PYSKL_TRAIN


VARIANTS = [
    {},
    {"graph": "fixed"},
    {"graph": "cvpr"},
    {"graph": "cvpr", "spatial_attention": False, "temporal_attention": False, "channel_attention": False},
    {"data_dependent": False},
    {"spatial_attention": False},
    {"temporal_attention": False},
    {"channel_attention": False},
    {"data_bn_type": "VC"},
    {"data_bn_type": "none", "dropout": 0.5},
    {"layout": "nturgb+d-2sagcn"},
]


@pytest.mark.parametrize("overrides", VARIANTS, ids=lambda d: ",".join(f"{k}={v}" for k, v in d.items()) or "default")
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_fused_forward_equals_reference_transcription(overrides, mode):
    """The always-run equivalent of the pyskl fixture: the fused model vs the per-subset oracle."""
    torch.manual_seed(1)
    cfg = dict(layout="nturgb+d", num_classes=7, base_channels=16)
    cfg.update(overrides)
    m = perturb(build_model(**cfg)).double()  # float64: the two computations must agree to rounding
    ref = copy.deepcopy(m)
    getattr(m, mode)(), getattr(ref, mode)()
    torch.manual_seed(2)
    x = torch.randn(3, 2, 24, 25, 3, dtype=torch.float64)
    x[0, 1] = 0  # an absent second person
    torch.manual_seed(3)
    out = m(x)
    torch.manual_seed(3)
    want = reference_forward(ref, x)
    # f64, another order: train BN over N x M x T x V = 3.6e3 terms (eval: tcn 9 x 64 and the means, < 1e3),
    # 10 blocks + head
    assert rel(out, want) < float_bound(torch.float64, terms=4e3, depth=11)  # 9.8e-12 (was 1e-12)
    out.square().sum().backward()
    want.square().sum().backward()
    grads = [(n, p.grad, q.grad) for (n, p), q in zip(m.named_parameters(), ref.parameters()) if q.grad is not None]
    flat, flat_ref = torch.cat([g.flatten() for _, g, _ in grads]), torch.cat([g.flatten() for _, _, g in grads])
    # all gradients as one vector; float64 rounding, amplified in the worst variant (eval mode without
    # temporal attention: 6e-12 to 2e-11 depending on the BN statistics the calibration leaves); bound:
    # a weight's gradient sums N x M x T x V x 9 taps = 3.2e4 terms, through forward and backward (22 layers)
    grad_bound = float_bound(torch.float64, terms=3.2e4, depth=22)  # 1.6e-10 (was 1e-10)
    assert ((flat - flat_ref).norm() / flat_ref.norm()).item() < grad_bound
    scale = flat_ref.abs().max().item()
    for name, g, g_ref in grads:
        # per parameter, floored at 1e-6 of the largest gradient: a bias that feeds a train-mode BN
        # has a true gradient of 0, so only rounding noise remains there; never below the derivation:
        # the backward's rounding is relative to the largest signals, grad_bound of the largest gradient
        denom = max(g_ref.abs().max().item(), 1e-6 * scale)
        assert (g - g_ref).abs().max().item() <= max(1e-8 * denom, grad_bound * scale), name


@pytest.mark.parametrize("overrides", VARIANTS, ids=lambda d: ",".join(f"{k}={v}" for k, v in d.items()) or "default")
@pytest.mark.parametrize("channels_last", [False, True], ids=["default", "channels_last"])
def test_eval_without_autograd_and_inspect_equal_the_reference_transcription(overrides, channels_last):
    """Eval mode under ``inference_mode`` runs the same forward (there is no hidden second path; the
    prepared CPU path is tests/test_cpu_infer.py), and ``inspect``'s step-by-step walk reports the
    model's logits, for every variant and both memory formats."""
    torch.manual_seed(1)
    cfg = dict(layout="nturgb+d", num_classes=7, base_channels=16)
    cfg.update(overrides)
    m = perturb(build_model(**cfg)).double().eval()
    m.backbone.channels_last = channels_last  # the activations' memory format
    torch.manual_seed(2)
    x = torch.randn(3, 2, 24, 25, 3, dtype=torch.float64)
    x[0, 1] = 0  # an absent second person
    with torch.enable_grad():
        want = reference_forward(m, x)  # the plain path, recorded for autograd
        assert want.requires_grad
    with torch.inference_mode():
        out = m(x)
        traced = m.inspect(x)
    # f64 eval: per layer < 1e3 terms (tcn 9 x 64, means over T x V = 600, the unit's 3 x (C + V)), 10 blocks + head
    bound = float_bound(torch.float64, terms=1e3, depth=11)  # 2.4e-12 (was 1e-12)
    assert rel(out, want.detach()) < bound
    assert rel(traced.logits, want.detach()) < bound  # the walk computes what forward computes
    assert rel(traced.features, m.forward_features(x).detach()) < bound
    assert len(traced.layers) == len(m.backbone.gcn)


@pytest.mark.parametrize("layout", list(LAYOUT_FACTS))
@pytest.mark.parametrize("graph", ["tip", "fixed"])
def test_every_layer_starts_from_the_documented_partition(layout, graph):
    """Each block's graph (and the backbone's buffer) is the partition built in the test from the doc's edges."""
    m = build_model(layout=layout, num_classes=3, base_channels=8, graph=graph)
    want = torch.from_numpy(partition(layout)).float()
    # f32 1/deg <= 1 against the doc's f64 rule rounded to f32: at most one rounding apart, u = 6e-8 < 1e-7
    assert torch.allclose(m.backbone.A, want, atol=1e-7)
    for block in m.backbone.gcn:
        assert torch.allclose(block.gcn.A.detach(), want, atol=1e-7)


def test_adaptive_graph_off_trains_everything_but_the_graph():
    m = build_model(layout="coco", num_classes=3, base_channels=8, graph="fixed")
    names = [n for n, _ in m.named_parameters()]
    assert not any(n.endswith(".A") or "alpha" in n or "conv_a" in n or "PA" in n for n in names)
    assert "backbone.gcn.0.gcn.A" in m.state_dict()  # the fixed graph is a buffer
    graph = m.backbone.gcn[0].gcn.A.clone()
    m.train()
    m(torch.randn(2, 2, 16, 17, 3)).square().sum().backward()
    missing = [n for n, p in m.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert not missing, missing
    assert m.backbone.gcn[0].gcn.conv_d[1].weight.grad.abs().sum() > 0  # the graph branch is used
    torch.optim.SGD(m.parameters(), lr=0.1).step()
    assert torch.equal(m.backbone.gcn[0].gcn.A, graph)  # a step leaves the fixed graph as it was (exact: untouched bytes)


def test_alpha_zero_makes_the_data_graph_irrelevant():
    torch.manual_seed(0)
    m = perturb(build_model(layout="nturgb+d", num_classes=5, base_channels=8)).eval()
    for b in m.backbone.gcn:
        b.gcn.alpha.data.zero_()
    x = torch.randn(2, 2, 16, 25, 3)
    base = m(x)
    with torch.no_grad():
        for b in m.backbone.gcn:  # scramble theta/phi: no effect while alpha = 0
            for conv in list(b.gcn.conv_a) + list(b.gcn.conv_b):
                conv.weight.normal_()
    assert torch.allclose(m(x), base, atol=1e-6)  # 0 x tanh(C) is 0 exactly: the same operations on the same values
    with torch.no_grad():
        for b in m.backbone.gcn:
            b.gcn.alpha.fill_(0.5)
    assert not torch.allclose(m(x), base, atol=1e-3)  # must differ: alpha = 0.5 moves the logits by O(0.1)


def test_data_dependent_off_equals_alpha_zero():
    torch.manual_seed(0)
    full = perturb(build_model(layout="nturgb+d", num_classes=5, base_channels=8)).eval()
    static = build_model(layout="nturgb+d", num_classes=5, base_channels=8, data_dependent=False).eval()
    sd = {k: v for k, v in full.state_dict().items() if "conv_a" not in k and "conv_b" not in k and "alpha" not in k}
    static.load_state_dict(sd)
    for b in full.backbone.gcn:
        b.gcn.alpha.data.zero_()
    x = torch.randn(2, 2, 16, 25, 3)
    # two modules, possibly other kernels (a per-sample graph or a shared one), f32: per layer ~1e3 terms (tcn
    # 9 x 32, means over T x V = 400, the unit's 3 x (C + V)), 10 blocks + head, logits |z| <= 5 (calibrated)
    assert torch.allclose(full(x), static(x), atol=float_bound(torch.float32, terms=1e3, depth=11, scale=5))  # 6.5e-3
    assert not any("conv_a" in k or "alpha" in k for k in static.state_dict())


@pytest.mark.parametrize("which,param", [("spatial_attention", "conv_sa"), ("temporal_attention", "conv_ta"), ("channel_attention", "fc1c")])
def test_each_attention_switch_removes_only_its_parameters(which, param):
    full = build_model(layout="nturgb+d", num_classes=5, base_channels=8)
    off = build_model(layout="nturgb+d", num_classes=5, base_channels=8, **{which: False})
    fk, ok = set(full.state_dict()), set(off.state_dict())
    removed = fk - ok
    assert removed and all(param in k or (param == "fc1c" and "fc2c" in k) for k in removed)
    assert ok < fk


def test_attention_off_means_no_attention_parameters_and_identity_attention_matches():
    torch.manual_seed(0)
    full = perturb(build_model(layout="nturgb+d", num_classes=5, base_channels=8)).eval()
    none = build_model(layout="nturgb+d", num_classes=5, base_channels=8, spatial_attention=False, temporal_attention=False, channel_attention=False).eval()
    assert not any(k in n for n in none.state_dict() for k in ("conv_sa", "conv_ta", "fc1c", "fc2c"))
    none.load_state_dict({k: v for k, v in full.state_dict().items() if k in none.state_dict()})
    x = torch.randn(2, 2, 16, 25, 3)
    # attention multiplies by (1 + a) with a in (0, 1): removing it changes the output ... (must differ)
    assert not torch.allclose(full(x), none(x), atol=1e-4)
    # ... and it is exactly the full model with every gate shut (a = sigmoid(-1e4) = 0)
    with torch.no_grad():
        for b in full.backbone.gcn:
            for conv in (b.gcn.conv_sa, b.gcn.conv_ta, b.gcn.fc2c):
                conv.weight.zero_()
                conv.bias.fill_(-1e4)
    # sigmoid(-1e4) is 0 exactly and y * (1 + 0) is y: the same operations on the same values (atol is slack)
    assert torch.allclose(full(x), none(x), atol=1e-6)


def test_cvpr_variant_uses_fixed_plus_learned_graph_and_softmax():
    m = build_model(layout="nturgb+d", num_classes=5, base_channels=8, graph="cvpr")
    g = m.backbone.gcn[0].gcn
    assert not isinstance(g.A, torch.nn.Parameter) and isinstance(g.PA, torch.nn.Parameter)
    assert torch.all(g.PA == 1e-6) and not hasattr(g, "alpha")  # exact: the constant the init writes
    c = g.data_graph(torch.randn(2, 3, 10, 25))
    # f32 softmax over V = 25 (exp, a 25-term sum, a division): 27 x 1.2e-7 = 3.2e-6 < 1e-5
    assert torch.allclose(c.sum(-2), torch.ones(2, 3, 25), atol=1e-5)  # softmax over source joints


def test_num_person_channels_classes():
    m = build_model(layout="openpose", num_classes=400, num_person=3, in_channels=2, base_channels=8)
    assert m.backbone.data_bn.num_features == 3 * 18 * 2
    assert m(torch.randn(2, 3, 20, 18, 2)).shape == (2, 400)
    with pytest.raises(ValueError, match=r"expects input \(N, M=3, T, V=18, C=2\).*got \(2, 2, 20, 18, 2\)"):
        m(torch.randn(2, 2, 20, 18, 2))


def test_forward_test_averages_softmax_over_clips():
    torch.manual_seed(0)
    m = perturb(build_model(layout="coco", num_classes=4, base_channels=8)).eval()
    x = torch.randn(2, 3, 2, 12, 17, 3)
    probs = m.forward_test(x)
    per_clip = torch.stack([m(x[:, i]).softmax(-1) for i in range(3)], 1).mean(1)
    # one batch of N x 3 clips against 3 batches of N (kernels may block them otherwise), f32: ~1e3 terms per
    # layer, 10 blocks + head; softmax: |dp| <= 2 max|dz|, |z| <= 5 (calibrated)
    assert torch.allclose(probs, per_clip, atol=float_bound(torch.float32, terms=1e3, depth=11, scale=10))  # 1.3e-2
    assert torch.allclose(probs.sum(-1), torch.ones(2))  # f32 softmax over 4 classes and a mean of 3: ~1e-6 < 1e-5
    # must differ: the mean of the softmax is not the softmax of the mean (by O(1e-2) here)
    assert not torch.allclose(probs, torch.stack([m(x[:, i]) for i in range(3)], 1).mean(1).softmax(-1), atol=1e-4)


def test_inspect_reports_every_layer():
    torch.manual_seed(0)
    m = perturb(build_model(layout="nturgb+d", num_classes=5, base_channels=8)).eval()
    x = torch.randn(3, 2, 32, 25, 3)
    ins = m.inspect(x)
    # the walk against forward, f32: ~1e3 terms per layer (tcn 9 x 32, means over T x V = 800), 10 blocks +
    # head, logits |z| <= 5 (calibrated)
    atol = float_bound(torch.float32, terms=1e3, depth=11, scale=5)  # 6.5e-3 (was 1e-6)
    assert torch.allclose(ins.logits, m(x), atol=atol) and len(ins.layers) == 10
    t_len = [32] * 5 + [16] * 3 + [8] * 2  # attention runs in the GCN, before the strided TCN
    for i, layer in enumerate(ins.layers):
        gcn = m.backbone.gcn[i].gcn
        c = gcn.out_channels
        assert torch.equal(layer.graph, gcn.A) and layer.alpha == pytest.approx(float(gcn.alpha))  # copies: exact
        assert layer.data_graph.shape == (3, 2, 3, 25, 25) and layer.data_graph.abs().max() <= 1
        assert layer.spatial.shape == (3, 2, 25) and layer.temporal.shape == (3, 2, t_len[i]) and layer.channel.shape == (3, 2, c)
        assert ((layer.spatial >= 0) & (layer.spatial <= 1)).all() and layer.spatial.std() > 0
    # the data graph really is C_k of that input: recompute layer 0 by hand
    x0 = m.backbone.embed(x)
    # f32 tanh(theta^T phi / (C_e T)): C_e x T = 2 x 32 = 64 terms, O(1) arguments, tanh's slope <= 1
    atol = float_bound(torch.float32, terms=64)  # 7.6e-6 (was 1e-6)
    assert torch.allclose(ins.layers[0].data_graph.reshape(6, 3, 25, 25), m.backbone.gcn[0].gcn.data_graph(x0), atol=atol)
    # a variant without attention or data graph reports None there
    plain = build_model(layout="nturgb+d", num_classes=5, base_channels=8, graph="fixed", spatial_attention=False).eval()
    lay = plain.inspect(x).layers[0]
    assert lay.data_graph is None and lay.spatial is None and lay.alpha is None and lay.temporal is not None


def test_config_round_trip_and_validation():
    cfg = AAGCNConfig(layout="coco", num_classes=9, graph="cvpr")
    assert AAGCNConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="graph must be one of"):
        AAGCNConfig(graph="magic")
    with pytest.raises(ValueError, match="unknown model config keys: colour"):
        AAGCNConfig.from_dict({"colour": "red"})
    with pytest.raises(ValueError, match="unknown skeleton layout"):
        AAGCNConfig(layout="nope")


@pytest.mark.parametrize("channels_last", [False, True], ids=["default", "channels_last"])
def test_float32_matches_the_oracle_at_bench_settings(channels_last):
    """What the bench times, in float32: pyskl's full NTU model, one SGD step's gradients, 10-clip
    inference (the model's own forward; the prepared CPU path: tests/test_cpu_infer.py).

    Outputs agree within float32's rounding (bounds derived below). Gradients of this network are only
    as good as float32 itself: the oracle in float32 is 1e-7 to 1e-4 (relative norm) away from the
    float64 truth depending on the batch, and computing absent persons once moves the rounding (up to
    ~3e-4 measured), so here the bound is 1e-3; exact equality is tested in float64 above (1e-11).
    """
    torch.manual_seed(0)
    m = build_model(layout="nturgb+d", num_classes=60)
    ref, truth = copy.deepcopy(m), copy.deepcopy(m).double()
    m.backbone.channels_last = channels_last
    x = torch.randn(8, 2, 32, 25, 3)
    x[2:, 1] = 0  # six of eight samples have one person, as in most of NTU
    grads = []
    for model, inp, f in ((m, x, m.__call__), (ref, x, None), (truth, x.double(), None)):
        model.train()
        out = f(inp) if f is not None else reference_forward(model, inp)
        out.logsumexp(1).sum().backward()
        grads.append((out.double(), torch.cat([p.grad.flatten().double() for p in model.parameters() if p.grad is not None])))
    (out, g), (out_ref, g_ref), (out_64, g_64) = grads
    # f32 train mode: BN statistics over N x M x T x V = 1.3e4 terms, 10 blocks + head
    bound = float_bound(torch.float32, terms=1.3e4, depth=11)  # 1.7e-2 (was 1e-5)
    assert rel(out, out_ref) < bound and rel(out, out_64) < bound
    # gradients: no useful worst case (1.2e5 terms per weight gradient over 22 layers: 0.3); kept: typical
    # rounding, sqrt(1.2e5 x 22) x 6e-8 = 1e-4 < 1e-3 (see the docstring)
    assert rel(g, g_64) < 1e-3 and rel(g, g_ref) < 1e-3, (rel(g, g_64), rel(g_ref, g_64))
    m.eval(), ref.eval()
    clips = torch.randn(3, 10, 2, 32, 25, 3)
    clips[:2, :, 1] = 0
    with torch.inference_mode():
        probs = m.forward_test(clips)
        want = reference_forward(ref, clips.flatten(0, 1)).softmax(-1).view(3, 10, -1).mean(1)
    # f32 eval: ~3e3 terms per layer (tcn 9 x 256), 10 blocks + head; softmax x 2 max|logit|, < 1 (fresh head)
    assert rel(probs, want) < float_bound(torch.float32, terms=3e3, depth=11, scale=2)  # 7.8e-3 (was 1e-5)


def test_to_channels_last_changes_layout_not_the_function():
    """``to_channels_last`` (the trainer's and the bench's option) stores the convolution weights and
    the backbone's activations channels-last; a training step computes what the default layout does."""
    torch.manual_seed(0)
    m = perturb(build_model(layout="nturgb+d", num_classes=6, base_channels=8)).double().train()  # float64: no rounding to read past
    ref = copy.deepcopy(m)
    assert m.to_channels_last() is m and m.backbone.channels_last
    assert m.backbone.gcn[0].tcn.conv.weight.is_contiguous(memory_format=torch.channels_last)
    x = torch.randn(3, 2, 16, 25, 3, dtype=torch.float64)
    x[0, 1] = 0
    out, want = m(x), ref(x)
    out.square().sum().backward()
    want.square().sum().backward()
    # f64 train: BN statistics over N x M x T x V = 2.4e3 terms, 10 blocks + head
    assert rel(out, want) < float_bound(torch.float64, terms=2.4e3, depth=11)  # 5.9e-12 (was 1e-12)
    # all gradients as one vector (a bias feeding a train-mode BN has a gradient of pure rounding): a weight's
    # gradient sums 2.4e3 x 9 taps = 2.2e4 terms, forward and backward (22 layers)
    grad_bound = float_bound(torch.float64, terms=2.2e4, depth=22)  # 1.1e-10 (was 1e-10)
    assert rel(torch.cat([p.grad.flatten() for p in m.parameters()]), torch.cat([q.grad.flatten() for q in ref.parameters()])) < grad_bound
