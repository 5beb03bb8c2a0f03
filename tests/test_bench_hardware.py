"""The peak, profile and revisions sections at small sizes: their keys, and that the numbers add up (figures are never asserted on)."""

import math
from pathlib import Path

import pytest
import torch
from torch.autograd.profiler import record_function
from torch.profiler import ProfilerActivity, profile

from aagcn_lab.bench import hardware, pyskl_source
from aagcn_lab.cli import bench as bench_cli
from aagcn_lab.model import build_model
from aagcn_lab.model.cpu_infer import prepare_inference

from .tolerances import float_bound

REPO = Path(__file__).resolve().parents[1]
SMALL = dict(base_channels=16, num_stages=4, inflate_stages=(3,), down_stages=(3,))  # 3 blocks, one inflate and down
FAKE_PEAKS = {f"{d}_{k}": 1000.0 for d in ("fp32", "bf16") for k in ("matmul", "conv9x1", "conv1x1", "peak")}


def small_model() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(layout="nturgb+d", num_classes=60, **SMALL)


def have_pyskl() -> bool:
    try:
        return pyskl_source.find_source() is not None
    except ValueError:
        return False


def test_category_flops_add_up_to_the_flop_counter():
    # the analytic count per category (both persons of one sample) is torch's FlopCounterMode count, term for term
    model = small_model()
    for frames in (8, 13):
        flops = hardware.category_flops(model, rows=2, frames=frames, samples=1)
        assert sum(flops.values()) == model.flops(frames)
        assert all(flops[c] > 0 for c in ("temporal_conv", "conv1x1", "embeddings", "C_k", "aggregation", "attention"))


def test_peak_section_keys_and_rates():
    out = hardware.bench_peak(("fp32", "bf16"), batch=2, two_person=0.5, frames=8, matmul_n=64, iters=1, model=small_model())
    assert out["rows"] == 4  # 2 first persons, 1 second, 1 shared absent one
    for d in ("fp32", "bf16"):
        rates = [out[f"{d}_{k}"] for k in ("matmul", "conv9x1", "conv1x1")]
        assert all(0 < r < math.inf for r in rates)
        assert out[f"{d}_peak"] == max(rates)
        shapes = [k for k in out if k.startswith(f"{d} conv9x1 ")]  # every stage's temporal conv, both layouts
        assert len(shapes) == 2 * 2 and out[f"{d}_conv9x1"] == max(out[k] for k in shapes)
    assert 0 < out["copy_gb_s"] < math.inf


def check_runs(out: dict, names: set, batch: int, frames: int) -> None:
    assert set(out["runs"]) == names
    model = small_model()
    for name, run in out["runs"].items():
        table = run["categories"]
        assert list(table) == list(hardware.CATEGORIES)
        total = sum(row["ms"] for row in table.values())
        assert total == pytest.approx(run["profiled_ms"], rel=1e-6)  # the categories (with 'python') are the step
        assert sum(row["share"] for row in table.values()) == pytest.approx(1.0)
        for cat in ("temporal_conv", "conv1x1", "aggregation", "attention", "memory"):
            assert table[cat]["ms"] > 0, (name, cat)
        training = name.endswith("train")
        if training:
            assert table["batch_norm"]["ms"] > 0 and table["other"]["ms"] > 0  # BN statistics; loss and optimizer
        column = 2 if name.startswith("pyskl") else 1 if "prepared" in name else 0  # the prepared path skips absent persons
        rows = int(out["rows computed (ours / prepared / pyskl)"].split(" / ")[column])
        flops = hardware.category_flops(model, rows, frames, batch)
        for cat, row in table.items():
            assert row["gflop"] == pytest.approx((3 if training else 1) * flops.get(cat, 0.0) / 1e9)
            if cat in ("temporal_conv", "conv1x1", "embeddings", "C_k", "aggregation"):
                assert 0 < row["fraction_of_peak"] < 1.5
                assert row["fraction_of_peak"] == pytest.approx(row["gflops"] / 1000.0)
            elif cat in ("batch_norm", "memory", "python"):
                assert row["fraction_of_peak"] is None and not row["gflop"]
        assert 0 < run["fraction_of_peak"] < 1.5 and run["gflops"] == pytest.approx(run["gflop"] / run["ms"] * 1e3)


@pytest.mark.parametrize("dtype", ["fp32", "bf16"])
def test_profile_of_ours_adds_up(dtype):
    out = hardware.bench_profile(dtype, batch=2, two_person=0.5, frames=8, iters=1, pyskl=False, peaks=FAKE_PEAKS, model_kwargs=SMALL)
    assert out["pyskl"].startswith("skipped") or not have_pyskl()
    assert out["rows computed (ours / prepared / pyskl)"] == "4 / 3 / 4" and out["peak conv9x1 GFLOP/s"] == 1000.0
    check_runs(out, {"ours train", "ours infer (prepared)", "ours infer (eval)"}, batch=2, frames=8)
    assert not any(k.startswith("speedup") for k in out)
    text = "\n".join(hardware.profile_lines(out))
    for label in hardware.CATEGORIES.values():
        assert text.count(label) == 3


def test_backward_time_follows_its_forward_operator():
    # a temporal conv and an aggregation product inside the backbone label; their gradients are charged to them
    conv = torch.nn.Conv2d(8, 8, (9, 1), padding=(4, 0))
    g = torch.rand(5, 5, requires_grad=True)
    x = torch.randn(2, 8, 6, 5)
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        with record_function("aagcn_lab:backbone"):
            y = torch.matmul(conv(x).reshape(2, 48, 5), g)
        y.sum().backward()
    events = prof.events()
    cats = hardware.categorise(events, joints=5)
    conv_bwd = sum(e.self_cpu_time_total for e in events if e.name == "aten::convolution_backward")
    mm_bwd = sum(e.self_cpu_time_total for e in events if e.name == "aten::mm" and e.cpu_parent and e.cpu_parent.name == "MmBackward0")
    assert conv_bwd > 0 and mm_bwd > 0
    assert cats["temporal_conv"] >= conv_bwd and cats["aggregation"] >= mm_bwd
    assert sum(cats.values()) == pytest.approx(sum(e.self_cpu_time_total for e in events))


def test_profile_labels_are_removed_afterwards():
    model = small_model()
    prepared = prepare_inference(small_model())
    before = [(dict(vars(m)), len(m._forward_hooks), len(m._forward_pre_hooks)) for m in model.modules()]
    units = [dict(vars(b.unit)) for b in prepared.blocks]
    with hardware._labelled("ours", model), hardware._labelled("prepared", prepared):
        assert "attend" in vars(model.backbone.gcn[0].gcn) and "attend" in vars(prepared.blocks[0].unit)
    assert [(dict(vars(m)), len(m._forward_hooks), len(m._forward_pre_hooks)) for m in model.modules()] == before
    assert [dict(vars(b.unit)) for b in prepared.blocks] == units and "_features" not in vars(prepared)


def test_profile_section_skips_pyskl_cleanly(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(pyskl_source.ENV, raising=False)
    monkeypatch.setattr(pyskl_source, "DEFAULT_SOURCE", str(tmp_path / "absent"))
    args = ["profile", "--profile-batch", "2", "--profile-frames", "8", "--iters", "1"]
    assert bench_cli.main(args) == 0
    text = capsys.readouterr().out
    assert f"skipped: no pyskl source (set ${pyskl_source.ENV}; default {tmp_path / 'absent'})" in text
    assert "-- ours train:" in text and "-- pyskl" not in text and "speedup" not in text


def test_pyskl_source_errors_name_the_folder(tmp_path, monkeypatch):
    monkeypatch.setenv(pyskl_source.ENV, str(tmp_path / "nowhere"))
    with pytest.raises(ValueError, match=f"{pyskl_source.ENV}=.*nowhere: no such folder"):
        pyskl_source.find_source()
    with pytest.raises(ValueError, match="not a pyskl checkout"):
        pyskl_source.find_source(tmp_path)
    with pytest.raises(ValueError, match="--profile-two-person"):
        hardware.bench_profile(two_person=1.5, pyskl=False, peaks=FAKE_PEAKS, model_kwargs=SMALL)


@pytest.mark.skipif(not have_pyskl(), reason="pyskl's source is not here ($PYSKL_SRC)")
def test_pyskl_model_has_our_weights_and_function():
    model = small_model()
    theirs = pyskl_source.pyskl_model(model, pyskl_source.find_source())
    assert theirs.state_dict().keys() == model.state_dict().keys()
    x = torch.randn(3, 2, 12, 25, 3)
    x[1:, 1] = 0
    with torch.no_grad():
        a, b = model.eval()(x), theirs.eval()(x)
    # f32, both orders of the same sums: 2e3 terms per layer (tcn 9 x 128), 3 blocks + head
    assert (a - b).abs().max() <= float_bound(torch.float32, terms=2e3, depth=4) * a.abs().max()


@pytest.mark.skipif(not have_pyskl(), reason="pyskl's source is not here ($PYSKL_SRC)")
def test_profile_against_pyskl_adds_up():
    out = hardware.bench_profile("fp32", batch=2, two_person=0.5, frames=8, iters=1, peaks=FAKE_PEAKS, model_kwargs=SMALL)
    assert out["rows computed (ours / prepared / pyskl)"] == "4 / 3 / 4"
    names = {"ours train", "ours infer (prepared)", "ours infer (eval)", "pyskl train", "pyskl infer (eval)"}
    check_runs(out, names, batch=2, frames=8)
    runs = out["runs"]
    assert out["speedup train"] == pytest.approx(runs["pyskl train"]["ms"] / runs["ours train"]["ms"])
    assert out["speedup infer (prepared)"] == pytest.approx(runs["pyskl infer (eval)"]["ms"] / runs["ours infer (prepared)"]["ms"])
    assert out["speedup infer (eval, inference_mode)"] == pytest.approx(runs["pyskl infer (eval)"]["ms"] / runs["ours infer (eval)"]["ms"])


def test_revisions_times_each_tree_and_compares_operators():
    out = hardware.bench_revisions([str(REPO), str(REPO)], batch=2, two_person=0.5, frames=8, iters=1)
    assert out[f"{REPO}: operators differing from the first tree"] == "none"  # the same tree runs the same operators
    assert out[f"{REPO}: operators a step"] > 100 and out[f"{REPO}: package"].startswith(str(REPO / "aagcn_lab"))
    assert 0 < out[f"{REPO}: time / first tree's"] < math.inf


def test_revisions_refuses_bad_trees(tmp_path):
    with pytest.raises(ValueError, match="at least two"):
        hardware.bench_revisions([str(REPO)])
    with pytest.raises(ValueError, match=f"--trees: {tmp_path}: no aagcn_lab"):
        hardware.bench_revisions([str(REPO), str(tmp_path)])
