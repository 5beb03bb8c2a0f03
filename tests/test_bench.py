"""The bench script runs end to end at small sizes (figures themselves are never asserted on)."""

import pytest

from aagcn_lab import bench
from aagcn_lab.cli import bench as bench_cli


@pytest.mark.slow  # minutes on 2 shared cores
def test_bench_model_reports_ratios_and_float64_noise_floor():
    out = bench.bench_model(batch=2, two_person=0.5, test_batch=1, iters=1)
    for key in ("train", "infer", "infer10"):  # each ratio is the two measured rates' quotient, of finite rates
        assert 0 < out[f"oracle_{key}_samples_s"] < float("inf") and 0 < out[f"{key}_samples_s"] < float("inf")
        assert out[f"speedup_{key}"] == pytest.approx(out[f"{key}_samples_s"] / out[f"oracle_{key}_samples_s"])
    # both float32 paths are compared with the float64 oracle: the fast path is as close as the oracle
    assert out["max_rel_loss_diff"] < 1e-5
    assert out["grad_rel_err_vs_fp64"] < 1e-3 and out["oracle_grad_rel_err_vs_fp64"] < 1e-3
    assert out["model_gflop_per_sample_fwd"] == pytest.approx(12.95 * 3 / 4, rel=0.01)  # one of two samples has two persons


@pytest.mark.slow
def test_bench_options_section_runs_on_the_cpu(capsys):
    assert bench_cli.main(["options", "--options-batch", "4", "--frames", "12", "--iters", "1", "--steps", "2", "--no-compile"]) == 0
    text = capsys.readouterr().out
    for field in ("fp32_eager_samples_s", "fast_samples_s", "speedup", "bf16_matmul_tflops", "fast_fraction_of_bf16_matmul_rate",
                  "samples_s_last_third"):  # fmt: skip
        assert field in text, field
    assert "amp=bf16 channels_last=True compile=False" in text
