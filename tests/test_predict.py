"""`predict` on real skeletons (NTU .skeleton, Kinetics JSON) and on the built-in data: names and probabilities."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from aagcn_lab import cli
from aagcn_lab.data.classes import class_names
from aagcn_lab.model import AAGCN, AAGCNConfig
from aagcn_lab.model.checkpoint import save_checkpoint
from aagcn_lab.prediction import predict

from .conftest import shared_file

SMALL = dict(base_channels=8, num_stages=4, inflate_stages=[3], down_stages=[3])


def small_checkpoint(path, layout: str, num_classes: int, feat: str, in_channels: int = 3):
    """A small randomly initialised model saved with its stream (what predict reads from a checkpoint)."""
    torch.manual_seed(0)
    model = AAGCN(AAGCNConfig(layout=layout, num_classes=num_classes, in_channels=in_channels, **SMALL))
    return save_checkpoint(model, path, meta={"feat": feat})


def check(preds, names: list[str], streams: set[str]):
    assert preds
    for p in preds:
        # f32 softmax per clip over K <= 60 classes and a mean over <= 10 clips, then f64 weights: (K + 2 + 10)
        # roundings x 1.2e-7 = 8.6e-6 < 1e-5 (both sums)
        assert abs(float(p.probs.sum()) - 1) < 1e-5 and (p.probs >= 0).all()
        top = p.top(5)
        assert [n for _, n, _ in top] == [names[i] for i, _, _ in top]
        assert all(a[2] >= b[2] for a, b in zip(top, top[1:]))
        assert set(p.streams) == streams
        for s in p.streams.values():
            assert abs(float(s.sum()) - 1) < 1e-5


def test_predict_a_real_ntu_skeleton_file_with_four_streams(tmp_path, capsys):
    path = shared_file("data", "real_samples", "ntu60_skeleton_shiftgat", "S001C002P003R002A013.skeleton")
    ckpts = {f: small_checkpoint(tmp_path / f"{f}.pt", "nturgb+d", 60, f) for f in ("j", "b", "jm", "bm")}
    preds = predict(list(ckpts.values()), path, num_clips=2)
    assert [p.frame_dir for p in preds] == ["S001C002P003R002A013"]
    check(preds, class_names("ntu60"), {"j", "b", "jm", "bm"})
    # the fused probabilities are pyskl's 2:2:1:1 weighted mean of the streams
    s = preds[0].streams
    # f64 from the same stream probabilities: 4 weighted terms and a division, 6 x 2.2e-16 << 1e-5
    np.testing.assert_allclose(preds[0].probs, (2 * s["j"] + 2 * s["b"] + s["jm"] + s["bm"]) / 6, rtol=1e-5, atol=1e-7)

    assert cli.main(["predict", "-c", *map(str, ckpts.values()), "-i", str(path), "--clips", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    item = out[0] if isinstance(out, list) else out
    probs = [t["prob"] for t in item["top"]]
    assert len(probs) == 5 and all(t["name"] in class_names("ntu60") for t in item["top"])
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-6


def test_predict_a_real_kinetics_json_and_print_the_names(tmp_path, capsys):
    path = shared_file("data", "real_samples", "kinetics_skeleton_stgcn_json", "__lt03EF4ao.json")
    ckpt = small_checkpoint(tmp_path / "j.pt", "openpose", 400, "j")
    preds = predict(ckpt, path, num_clips=2)
    check(preds, class_names("kinetics400"), {"j"})
    assert cli.main(["predict", "-c", str(ckpt), "-i", str(path), "--clips", "2"]) == 0
    text = capsys.readouterr().out
    assert "__lt03EF4ao" in text
    assert preds[0].top(1)[0][1] in text  # the top class by name


def test_predict_numpy_array_and_layout_mismatch(tmp_path):
    ckpt = small_checkpoint(tmp_path / "j.pt", "nturgb+d", 60, "j")
    x = np.random.default_rng(0).normal(size=(40, 25, 3)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    check(predict(ckpt, tmp_path / "x.npy", num_clips=1), class_names("ntu60"), {"j"})
    with pytest.raises(ValueError, match="17 joints.*nturgb\\+d"):
        predict(ckpt, np.ones((2, 30, 17, 3), np.float32), num_clips=1)


def test_predict_dtype_option_reaches_the_model_and_fp32_stays_the_default(tmp_path, capsys):
    ckpt = small_checkpoint(tmp_path / "j.pt", "nturgb+d", 60, "j")
    x = np.random.default_rng(1).normal(size=(40, 25, 3)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    runs = {}
    for dtype in (None, "fp32", "bf16"):
        assert cli.main(["predict", "-c", str(ckpt), "-i", str(tmp_path / "x.npy"), "--json"] + (["--dtype", dtype] if dtype else [])) == 0
        runs[dtype] = json.loads(capsys.readouterr().out)[0]["top"]
    [fp32], [bf16] = predict(ckpt, x, dtype="fp32"), predict(ckpt, x, dtype="bf16")  # offline: pyskl's 10 clips
    assert runs[None] == runs["fp32"] == fp32.as_dict()["top"] and runs["bf16"] == bf16.as_dict()["top"]
    assert not np.array_equal(fp32.probs, bf16.probs)
    np.testing.assert_array_equal(predict(ckpt, x)[0].probs, fp32.probs)
