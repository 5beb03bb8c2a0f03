"""The prepared CPU inference path (model/cpu_infer.py): the model's eval-mode function, folded once."""

import copy

import pytest
import torch

from aagcn_lab import build_model
from aagcn_lab.model import cpu_infer
from aagcn_lab.model.cpu_infer import prepare_inference
from aagcn_lab.model.reference import reference_forward

from .conftest import perturb
from .test_model import VARIANTS
from .tolerances import float_bound, rel

# float64 logits, two evaluations in another order (BN folded, subsets stacked, another layout): per
# layer at most ~1e3 accumulated terms (tcn 9 x C <= 288, mean over T x V = 400, the unit's 3 x (C + V)),
# 10 blocks + the head; BN calibrated (perturb), so activations and tanh/sigmoid arguments are O(1)
LOGITS_F64 = float_bound(torch.float64, terms=1e3, depth=11)  # 2.4e-12
# clip probabilities: softmax turns the logits' error into 2 x max|logit| (< 10 calibrated) relative
PROBS_F64 = float_bound(torch.float64, terms=1e3, depth=11, scale=20)


def _model(**overrides) -> torch.nn.Module:
    torch.manual_seed(1)
    cfg = dict(layout="nturgb+d", num_classes=7, base_channels=8)
    cfg.update(overrides)
    return perturb(build_model(**cfg)).double().eval()


PERSONS = {  # which persons are zero-padded (absent)
    "one_absent": lambda x: x[0, 1].zero_(),  # no sharing: one absent person per slot
    "mixed": lambda x: (x[1:, 1].zero_(), x[0, 0].zero_()),  # slot 1 shared by two samples
    "one_person_each": lambda x: x[:, 1].zero_(),  # every second slot shared
    "two_persons_each": lambda x: x,
}


@pytest.mark.parametrize("overrides", VARIANTS, ids=lambda d: ",".join(f"{k}={v}" for k, v in d.items()) or "default")
def test_prepared_path_equals_the_model_and_the_oracle(overrides):
    """Every variant (tip/cvpr/fixed graphs, attention on/off, data BN kinds), with one or two persons
    and absent persons shared or not: the prepared path's logits are the plain forward's and the
    oracle's (float64), its clip-averaged probabilities the model's."""
    m = _model(**overrides)
    prepared = prepare_inference(m)
    for name, absent in PERSONS.items():
        torch.manual_seed(2)
        x = torch.randn(3, 2, 12, 25, 3, dtype=torch.float64)
        absent(x)
        x0 = x.clone()
        out = prepared(x)
        with torch.no_grad():
            plain, oracle = m(x), reference_forward(m, x)
        assert rel(out, plain) < LOGITS_F64 and rel(out, oracle) < LOGITS_F64, name
        # exact: the input must not be written at all (a copy compared with its original)
        assert not out.requires_grad and torch.equal(x, x0), name  # in-place work never touches the input
    clips = torch.stack([x, x.flip(2)], 1)  # (N, 2 clips, M, T, V, C)
    with torch.no_grad():
        assert rel(prepared.forward_test(clips), m.forward_test(clips)) < PROBS_F64


def test_absent_persons_are_computed_once_per_slot_and_shape_then_kept():
    """A one-person stream in a two-person model: the blocks see one row a call once the absent
    person's features are kept; each slot (its own data BN) and each clip shape has its own, and an
    all-zero sample needs no row at all. The logits stay the model's (float64)."""
    m = _model()
    prepared = prepare_inference(m)
    seen = []
    first = prepared.blocks[0]
    prepared.blocks[0] = lambda h: seen.append(h.shape[0]) or first(h)
    torch.manual_seed(3)
    x = torch.randn(1, 2, 16, 25, 3, dtype=torch.float64)
    x[:, 1] = 0
    with torch.no_grad():
        for t in (16, 16, 12):
            clip = x[:, :, :t]
            assert rel(prepared(clip), m(clip)) < LOGITS_F64, t
    assert seen == [1, 1, 1, 1, 1]  # T = 16: the person, then the absent one alone; again the person only; T = 12 anew
    assert len(prepared._absent) == 2  # (slot 1, T = 16) and (slot 1, T = 12)
    seen.clear()
    both = torch.cat([x.flip(1), torch.zeros_like(x)])  # slot 0 absent in sample 0; sample 1 all zero
    with torch.no_grad():
        assert rel(prepared(both), m(both)) < LOGITS_F64
    assert seen == [1, 1]  # sample 0's person, then slot 0's absent person; the rest kept
    assert prepared.absent_features(0, both).shape == (m.cls_head.fc_cls.in_features,)
    assert not torch.equal(prepared.absent_features(0, both), prepared.absent_features(1, both))  # data BN per slot


def test_folds_once_and_is_a_snapshot(monkeypatch):
    """Batch norm is folded when the object is made, never per call; later weight changes do not
    reach it (make a new one), the model itself sees them."""
    calls = []
    fold = cpu_infer.fold_batch_norm
    monkeypatch.setattr(cpu_infer, "fold_batch_norm", lambda *a: calls.append(1) or fold(*a))
    m = _model()
    x = torch.randn(2, 2, 16, 25, 3, dtype=torch.float64)
    prepared = prepare_inference(m)
    # per block: the unit's BN, the tcn's BN, plus down's BN (3 blocks change width) and the residual's (2)
    assert len(calls) == 2 * len(m.backbone.gcn) + 3 + 2
    n = len(calls)
    first = prepared(x)
    # exact: the same object on the same input runs the same kernels in the same order on this machine, and
    # forward_test of one clip is softmax(logits) then a mean over one clip (x / 1, exact)
    assert torch.equal(prepared(x), first) and torch.equal(prepared.forward_test(x), first.softmax(-1))
    assert len(calls) == n  # calling does not refold
    with torch.no_grad():
        for p in m.parameters():
            p.mul_(1.1)
    assert torch.equal(prepared(x), first)  # the snapshot (exact: the same computation as `first`, as above)
    # every parameter x 1.1 leaves BN's statistics behind: activations grow ~1e2-fold (logits ~3 -> ~5e2),
    # and tanh(C_k) / the sigmoids take their arguments' absolute error: scale 1e2 (worst seen 5e-13)
    with torch.no_grad():
        assert rel(prepare_inference(m)(x), m(x)) < float_bound(torch.float64, terms=1e3, depth=11, scale=1e2)
        assert not torch.allclose(m(x), first)  # x1.1 changes the logits by far more than allclose's 1e-5


def test_falls_back_to_the_plain_model_in_eval_mode():
    """Under CPU autocast, or with the model put back into train mode, the model itself runs in eval
    mode (its mode is left as it was)."""
    m = _model()
    x = torch.randn(2, 2, 16, 25, 3, dtype=torch.float64)
    prepared = prepare_inference(m)
    assert not m.training  # preparing puts the model in eval mode
    m.train()
    with torch.no_grad():
        out = prepared(x)
        assert m.training
        m.eval()
        assert torch.equal(out, m(x))  # exactly the plain eval forward (exact: the same module, kernels and input)
    clips = torch.randn(2, 3, 2, 16, 25, 3)
    clips[0, :, 1] = 0
    m32 = perturb(build_model(layout="nturgb+d", num_classes=6, base_channels=8)).eval()
    fast = prepare_inference(m32)
    with torch.inference_mode():
        want = fast.forward_test(clips)
        with torch.autocast("cpu", dtype=torch.bfloat16):  # the trainer's amp='bf16' evaluation
            got = fast.forward_test(clips)
            plain = m32.forward_test(clips)
    assert torch.equal(got, plain)  # exact: under autocast the prepared object runs the model itself, same ops
    # bf16: no useful worst case (oneDNN sums in f32, but each of 11 layers rounds its inputs to bf16: 11 x
    # 7.8e-3 on the logits, x 2 max|logit| on the probabilities, > 1); kept: typical rounding (random signs,
    # ~sqrt(11) x 3.9e-3 = 1.3e-2 on the logits, less on the probabilities) stays under it
    assert rel(got.float(), want) < 5e-2


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_off_the_cpu_it_runs_the_model():
    m = _model().float().cuda()
    x = torch.randn(2, 2, 16, 25, 3, device="cuda")
    prepared = prepare_inference(m)
    assert prepared.blocks is None
    with torch.no_grad():
        assert torch.equal(prepared(x), m(x))


def test_float32_at_bench_settings_matches_the_oracle():
    """What the bench times: pyskl's full NTU model, 10-clip inference, float32, within 1e-5 of the oracle."""
    torch.manual_seed(0)
    m = perturb(build_model(layout="nturgb+d", num_classes=60), calibrate=True).eval()
    ref = copy.deepcopy(m)
    clips = torch.randn(3, 10, 2, 32, 25, 3)
    clips[:2, :, 1] = 0  # most samples with one person, as in NTU
    with torch.inference_mode():
        probs = prepare_inference(m).forward_test(clips)
        want = reference_forward(ref, clips.flatten(0, 1)).softmax(-1).view(3, 10, -1).mean(1)
    # f32 logits: worst case 1.2e-7 x 3e3 terms (tcn 9 x 256) x 11 layers = 3.9e-3, and the softmax of logits up
    # to ~1e2 turns that into no useful bound; kept: typical rounding (sqrt(3e3 x 11) x 6e-8 = 1e-5 on the
    # logits) on near-saturated probabilities, and the README quotes 1e-5 for the bench settings
    assert rel(probs, want) < 1e-5


def test_bad_input_gets_the_models_error():
    prepared = prepare_inference(_model())
    with pytest.raises(ValueError, match=r"expects input \(N, M=2, T, V=25, C=3\).*got \(2, 2, 20, 17, 3\)"):
        prepared(torch.randn(2, 2, 20, 17, 3, dtype=torch.float64))


def test_bf16_is_an_explicit_option_and_really_runs_in_bfloat16():
    """``dtype="bf16"``: the convolutions hold bfloat16 weights, the logits come back float32 and differ
    from fp32 by bf16's rounding (not by fp32's: the option is not silently ignored), the default is the
    model's own dtype, and an unknown name is refused naming the choices."""
    torch.manual_seed(0)
    m = perturb(build_model(layout="nturgb+d", num_classes=7, base_channels=16)).eval()
    x = torch.randn(6, 2, 32, 25, 3)
    x[2:, 1] = 0
    f32, b16 = prepare_inference(m), prepare_inference(m, "bf16")
    assert f32.dtype is None and b16.dtype is torch.bfloat16
    assert all(b.tcn.weight.dtype == torch.bfloat16 and b.unit.conv.weight.dtype == torch.bfloat16 for b in b16.blocks)
    assert f32.blocks[0].tcn.weight.dtype == torch.float32
    with torch.no_grad():
        want = m(x)
    got32, got16 = f32(x), b16(x)
    assert got16.dtype == torch.float32
    # f32 path: 1e3 terms x 11 layers x eps 1.2e-7 = 1.3e-3 worst case; bf16: no useful worst case (see
    # test_falls_back_...), typical rounding sqrt(11) x 3.9e-3 = 1.3e-2 of the logits' scale; 5e-2 allowed
    assert rel(got32, want) < float_bound(torch.float32, terms=1e3, depth=11)
    assert 1e-4 < rel(got16, want) < 5e-2
    probs = b16.forward_test(x.unsqueeze(1).expand(-1, 2, -1, -1, -1, -1))
    assert probs.dtype == torch.float32 and torch.allclose(probs.sum(1), torch.ones(6))
    with pytest.raises(ValueError, match="bf16"):
        prepare_inference(m, "int4")


def test_bf16_keeps_the_data_dependent_graph_and_the_attention_gates_in_float32():
    """C_k is a tanh of sums over C_e x T and the gates are sigmoids of means: computed in bf16 they would
    round twice; the prepared path computes them in the model's precision from bf16 activations."""
    torch.manual_seed(0)
    m = perturb(build_model(layout="nturgb+d", num_classes=7, base_channels=16)).eval()
    b16 = prepare_inference(m, "bf16")
    unit = b16.blocks[0].unit
    h = torch.randn(3, 20, 25, 3).to(torch.bfloat16)
    g = unit.graph(h)
    assert g.dtype == torch.float32 and g.shape == (3, 3, 25, 25)
    y = torch.randn(3, 20, 25, 16).to(torch.bfloat16)
    before = y.clone()
    out = unit.attend(y)
    assert out.dtype == torch.bfloat16 and not torch.equal(out, before)
