"""The bench script runs end to end at small sizes (figures themselves are never asserted on)."""

import pytest
import torch

from aagcn_lab import bench
from aagcn_lab.cli import bench as bench_cli

from .tolerances import float_bound


@pytest.mark.slow  # minutes on 2 shared cores
def test_bench_model_reports_ratios_and_float64_noise_floor():
    out = bench.bench_model(batch=2, two_person=0.5, test_batch=1, iters=1)
    for key in ("train", "infer", "infer10"):  # each ratio is the two measured rates' quotient, of finite rates
        assert 0 < out[f"oracle_{key}_samples_s"] < float("inf") and 0 < out[f"{key}_samples_s"] < float("inf")
        assert out[f"speedup_{key}"] == pytest.approx(out[f"{key}_samples_s"] / out[f"oracle_{key}_samples_s"])  # the same division
    # both float32 paths are compared with the float64 oracle: the fast path is as close as the oracle
    # loss, f32, two orders: 3e3 terms per layer (tcn 9 x 256), 10 blocks + head; near-zero logits (fresh head)
    assert out["max_rel_loss_diff"] < float_bound(torch.float32, terms=3e3, depth=11)  # 3.9e-3
    # f32 gradients: no useful worst case (9e4 terms per weight gradient over 22 layers: 0.24); kept: typical
    # rounding, sqrt(9e4 x 22) x 6e-8 = 8.5e-5 < 1e-3 (the README's run: 1.6e-4 and 1.5e-4)
    assert out["grad_rel_err_vs_fp64"] < 1e-3 and out["oracle_grad_rel_err_vs_fp64"] < 1e-3
    # not rounding: an analytic FLOP count against pyskl's figure, 1% for the terms it leaves out
    assert out["model_gflop_per_sample_fwd"] == pytest.approx(12.95 * 3 / 4, rel=0.01)  # one of two samples has two persons


@pytest.mark.slow
def test_bench_options_section_runs_on_the_cpu(capsys):
    assert bench_cli.main(["options", "--options-batch", "4", "--frames", "12", "--iters", "1", "--steps", "2", "--no-compile"]) == 0
    text = capsys.readouterr().out
    for field in ("fp32_eager_samples_s", "fast_samples_s", "speedup", "bf16_matmul_tflops", "fast_fraction_of_bf16_matmul_rate",
                  "samples_s_last_third"):  # fmt: skip
        assert field in text, field
    assert "amp=bf16 channels_last=True compile=False" in text


def test_precision_section_times_bf16_and_int8_against_fp32():
    """The precision section at a tiny size: every figure present and positive, the ratios consistent with them."""
    out = bench.bench_precision(batch=2, two_person=0.5, iters=1, test_batch=1)
    for key in ("train", "infer", "infer10"):
        fp32 = out[f"{key} fp32 samples/s"]
        bf16 = out[f"{key} bf16 autocast samples/s" if key == "train" else f"{key} bf16 samples/s"]
        assert fp32 > 0 and bf16 > 0 and out[f"{key} bf16 / fp32"] == pytest.approx(bf16 / fp32)  # one division each
    assert out["temporal conv 128x128x9 float32 GFLOP/s"] > 0 and out["temporal conv 128x128x9 bfloat16 GFLOP/s"] > 0
    int8 = out["temporal conv 128x128x9 int8 GFLOP/s"]
    assert int8 is None or int8 > 0
    a32, a16 = out["attention passes 64x100x25 fp32 ms"], out["attention passes 64x100x25 bf16 ms"]
    assert a32 > 0 and a16 > 0 and out["attention passes bf16 / fp32 time"] == pytest.approx(a16 / a32)


def test_data_section_reports_loaders_and_the_kept_work_epoch():
    out = bench.bench_data(workers=(0,), samples=48)
    assert set(out) == {"samples", "data_mb", "workers0_samples_s", "workers0_kept_samples_s"}
    assert all(0 < out[k] < float("inf") for k in ("workers0_samples_s", "workers0_kept_samples_s"))
