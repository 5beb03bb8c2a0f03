"""Streaming prediction equals offline prediction over the same windows; the --stream command line."""

from __future__ import annotations

import io
import json
import warnings

import numpy as np
import pytest
import torch

from aagcn_lab import StreamingPredictor, cli
from aagcn_lab.model import AAGCN, AAGCNConfig
from aagcn_lab.model.checkpoint import save_checkpoint
from aagcn_lab.prediction import predict
from aagcn_lab.streaming import run_stream

SMALL = dict(base_channels=8, num_stages=4, inflate_stages=[3], down_stages=[3])


def tiny(path, layout: str, feat: str = "j"):
    torch.manual_seed(1)
    return save_checkpoint(AAGCN(AAGCNConfig(layout=layout, num_classes=7, in_channels=3, **SMALL)), path, meta={"feat": feat})


def openpose_frames(t: int, seed: int = 0) -> list[dict]:
    """Two walkers (BODY_25) listed in a changing order; the second leaves for a few frames."""
    rng = np.random.default_rng(seed)
    bodies = [rng.uniform(0, 120, (25, 2)) + x for x in ((200, 300), (900, 320))]
    frames = []
    for f in range(t):
        people = []
        for k, body in enumerate(bodies):
            if k == 1 and 12 <= f < 15:
                continue
            xy = body + [3.0 * f * (1 - 2 * k), np.sin(f / 3) * 10]
            flat = np.concatenate([xy, rng.uniform(0.5, 1, (25, 1))], 1).reshape(-1).round(3).tolist()
            people.append({"person_id": [-1], "pose_keypoints_2d": flat})
        if f % 2:
            people.reverse()
        frames.append({"version": 1.3, "people": people})
    return frames


def test_streaming_equals_offline_prediction_over_the_same_windows(tmp_path):
    ckpts = {"j": tiny(tmp_path / "j.pt", "openpose"), "b": tiny(tmp_path / "b.pt", "openpose", "b")}
    frames = openpose_frames(34)
    sp = StreamingPredictor(ckpts, window=16, stride=6, num_clips=2, img_shape=(720, 1280))
    results = [r for r in (sp.push(f) for f in frames) if r is not None]
    assert [r.frame for r in results] == [17, 23, 29]  # every 6 frames once a window is full
    assert [r.start for r in results] == [2, 8, 14]
    for r in results:
        folder = tmp_path / f"w{r.frame}"
        folder.mkdir()
        for i in range(r.start, r.frame + 1):
            (folder / f"{i:06d}_keypoints.json").write_text(json.dumps(frames[i]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            [off] = predict(ckpts, folder, num_clips=2, img_shape=(720, 1280))
        # the same predict_records on the same record (JSON keeps a float's repr exactly): the same operations
        # on one machine, so equal; rtol 1e-6 is slack (here and in the next test)
        np.testing.assert_allclose(r.prediction.probs, off.probs, rtol=1e-6, atol=1e-9)
        for s in ("j", "b"):
            np.testing.assert_allclose(r.prediction.streams[s], off.streams[s], rtol=1e-6, atol=1e-9)
        assert r.as_dict()["top"] == off.as_dict()["top"]
        assert len(r.as_dict()["top"]) == 5 and r.as_dict()["window"] == [r.start, r.frame]


def test_streaming_3d_arrays_equal_offline_arrays(tmp_path):
    ckpt = tiny(tmp_path / "ntu.pt", "nturgb+d")
    x = np.random.default_rng(2).normal(size=(30, 25, 3)).astype(np.float32)
    sp = StreamingPredictor(ckpt, window=12, stride=4, num_clips=3, min_frames=8)
    results = [r for r in (sp.push(x[f].tolist()) for f in range(30)) if r is not None]
    assert [r.frame for r in results] == [7, 11, 15, 19, 23, 27]
    for r in results:
        [off] = predict(ckpt, x[r.start : r.frame + 1], num_clips=3)
        np.testing.assert_allclose(r.prediction.probs, off.probs, rtol=1e-6, atol=1e-9)


def test_a_window_without_anybody_gives_no_prediction_and_the_stream_goes_on(tmp_path):
    ckpt = tiny(tmp_path / "coco.pt", "coco")
    sp = StreamingPredictor(ckpt, window=4, stride=4, num_clips=1, img_shape=(480, 640))
    person = np.random.default_rng(3).uniform(0, 400, (17, 3))
    person[:, 2] = 0.8
    results = [sp.push([] if f < 4 else [person.tolist()]) for f in range(8)]
    assert results[3].prediction is None and "no person" in results[3].as_dict()["error"]
    assert results[7].prediction is not None
    with pytest.raises(ValueError, match="frame 8.*5 values per joint"):
        sp.push(np.ones((17, 5)).tolist())
    assert sp.count == 8  # the bad frame was not added


def test_predict_stream_reads_json_lines_and_skips_bad_ones(tmp_path, monkeypatch, capsys):
    ckpt = tiny(tmp_path / "op.pt", "openpose")
    frames = openpose_frames(12, seed=5)
    lines = [json.dumps(f) for f in frames]
    lines.insert(3, "{not json")
    lines.insert(7, json.dumps({"hello": 1}))
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(lines) + "\n"))
    argv = ["predict", "-c", str(ckpt), "--stream", "--window", "6", "--stride", "3", "--clips", "1", "--img-size", "1280x720"]
    assert cli.main(argv) == 0
    captured = capsys.readouterr()
    out = [json.loads(x) for x in captured.out.splitlines()]
    assert [o["frame"] for o in out] == [5, 8, 11] and all(len(o["top"]) == 5 for o in out)
    assert "line 4: not JSON" in captured.err and "line 8:" in captured.err and "2 bad line(s) skipped" in captured.err
    # the same through run_stream with explicit streams
    sp = StreamingPredictor(ckpt, window=6, stride=3, num_clips=1, img_shape=(720, 1280))
    out2, err2 = io.StringIO(), io.StringIO()
    run_stream(sp, io.StringIO("\n".join(json.dumps(f) for f in frames)), out2, err2)
    assert [json.loads(x)["top"] for x in out2.getvalue().splitlines()] == [o["top"] for o in out]


def test_streaming_takes_one_clip_per_window_by_default_and_offline_keeps_ten(tmp_path):
    ckpt = tiny(tmp_path / "op.pt", "openpose")
    frames = openpose_frames(20, seed=4)
    sp = StreamingPredictor(ckpt, window=10, stride=5, img_shape=(720, 1280))
    assert sp.num_clips == 1
    results = [r for r in (sp.push(f) for f in frames) if r is not None]
    assert [r.frame for r in results] == [9, 14, 19]
    for r in results:
        folder = tmp_path / f"w{r.frame}"
        folder.mkdir()
        for i in range(r.start, r.frame + 1):  # the window as an OpenPose folder: the same record offline
            (folder / f"{i:06d}_keypoints.json").write_text(json.dumps(frames[i]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            [one] = predict(ckpt, folder, num_clips=1, img_shape=(720, 1280))
            [ten] = predict(ckpt, folder, img_shape=(720, 1280))  # offline: pyskl's 10 clips
        np.testing.assert_allclose(r.prediction.probs, one.probs, rtol=1e-6, atol=1e-9)
        assert not np.allclose(r.prediction.probs, ten.probs, rtol=1e-6, atol=1e-9)


def test_bf16_streaming_equals_bf16_offline_and_differs_from_fp32(tmp_path):
    ckpt = tiny(tmp_path / "ntu.pt", "nturgb+d")
    x = np.random.default_rng(6).normal(size=(16, 25, 3)).astype(np.float32)
    sp = StreamingPredictor(ckpt, window=12, stride=4, dtype="bf16")
    assert sp.nets["j"].dtype == torch.bfloat16
    assert StreamingPredictor(ckpt, window=12, stride=4).nets["j"].dtype is None  # fp32 stays the default
    results = [r for r in (sp.push(x[f].tolist()) for f in range(16)) if r is not None]
    assert [r.frame for r in results] == [11, 15]
    for r in results:
        [bf16] = predict(ckpt, x[r.start : r.frame + 1], num_clips=1, dtype="bf16")
        [fp32] = predict(ckpt, x[r.start : r.frame + 1], num_clips=1)
        np.testing.assert_allclose(r.prediction.probs, bf16.probs, rtol=1e-6, atol=1e-9)
        assert not np.array_equal(bf16.probs, fp32.probs)  # the option reached the model
        # bf16 keeps 8 bits of mantissa: probabilities of 7 classes agree to a few 1e-3, not to float32's 1e-7
        np.testing.assert_allclose(bf16.probs, fp32.probs, rtol=0, atol=0.02)


def test_an_exported_model_refuses_bf16_naming_the_file(tmp_path):
    from dataclasses import replace

    from aagcn_lab.stream_models import load_stream_model

    class Runtime:  # onnxruntime's model, standing in: to() and eval() as OnnxModel's
        def to(self, device):
            return self

        def eval(self):
            return self

    onnx = replace(load_stream_model(tiny(tmp_path / "j.pt", "coco")), net=Runtime(), file_format="onnx", source="j.onnx")
    assert isinstance(onnx.prepared("cpu", "fp32"), Runtime) and isinstance(onnx.prepared("cpu"), Runtime)
    with pytest.raises(ValueError, match="stream 'j' \\(j.onnx\\) is an exported onnx model: it runs in float32.*bf16"):
        StreamingPredictor({"j": onnx}, window=4, stride=4, dtype="bf16")
    with pytest.raises(ValueError, match="inference dtype must be one of"):
        StreamingPredictor(tiny(tmp_path / "k.pt", "coco"), window=4, stride=4, dtype="fp16")


def test_predict_stream_defaults_to_one_clip_and_passes_dtype(tmp_path, monkeypatch, capsys):
    ckpt = tiny(tmp_path / "op.pt", "openpose")
    frames = openpose_frames(9, seed=7)
    text = "\n".join(json.dumps(f) for f in frames) + "\n"
    for extra, kwargs in (([], {}), (["--dtype", "bf16"], {"dtype": "bf16"})):
        monkeypatch.setattr("sys.stdin", io.StringIO(text))
        assert cli.main(["predict", "-c", str(ckpt), "--stream", "--window", "6", "--stride", "3", "--img-size", "1280x720", *extra]) == 0
        got = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
        sp = StreamingPredictor(ckpt, window=6, stride=3, img_shape=(720, 1280), **kwargs)
        want = [r.as_dict() for r in (sp.push(f) for f in frames) if r is not None]
        assert [g["top"] for g in got] == [w["top"] for w in want] and len(got) == 2
    with pytest.raises(SystemExit) as e:
        cli.main(["predict", "-c", str(ckpt), "--stream", "--dtype", "fp16"])
    assert e.value.code == 2 and "invalid choice: 'fp16'" in capsys.readouterr().err


def test_predict_needs_input_or_stream(tmp_path):
    ckpt = tiny(tmp_path / "op.pt", "openpose")
    with pytest.raises(SystemExit):
        cli.main(["predict", "-c", str(ckpt)])


def test_bench_stream_reports_the_steady_state_consistent_with_latency_and_stride():
    from aagcn_lab.bench import bench_stream

    stride = 4
    d = bench_stream(streams=(1, 2), window=8, stride=stride, num_clips=1, predictions=3, base_channels=8)
    fused = bench_stream(window=10, stride=stride, predictions=2, base_channels=8, dtype="bf16", fused=True, persons=1)
    assert d["window / stride / clips / dtype"] == "8 / 4 / 1 / fp32" and fused["window / stride / clips / dtype"] == "10 / 4 / 1 / bf16"
    assert d["people in view"] == 2 and fused["people in view"] == 1
    with pytest.raises(ValueError, match="persons 3"):
        bench_stream(window=8, stride=stride, persons=3)
    for out, label, n in ((d, "1 stream(s)", 1), (d, "2 stream(s)", 2), (fused, "fused j+b+jm+bm", 1)):
        latency = out[f"{label}: latency per prediction (ms, mean)"] / 1000
        assert out[f"{label}: latency per prediction (ms, max)"] / 1000 >= latency > out[f"{label}: other frames (ms, median)"] / 1000 > 0
        per, total = out[f"{label}: sustained frames/s per stream"], out[f"{label}: sustained frames/s, all streams"]
        assert total == pytest.approx(n * per)  # f64, one product: 2.2e-16 << 1e-6
        # the steady state: frames after the first prediction over a span that holds every timed prediction, so
        # never more than the stride per latency (counting the first window's cheap frames broke this)
        assert per <= stride / (n * latency) and total <= stride / latency


def test_notebook_07_follows_the_course_notebooks_conventions():
    from aagcn_lab.lab import list_notebooks

    from .test_notebooks import _NUMBER, _cells, _prose, _text

    [nb] = list_notebooks(only=["07"])
    cells = _cells(nb)
    first, markdown = _text(cells[0]), [_text(c) for c in cells if c["cell_type"] == "markdown"]
    assert "You will learn" in first and "**Time:**" in first
    assert "## Summary" in "\n".join(markdown[-2:]) and "In the paper" in "\n".join(markdown[-2:])
    code = [_text(c) for c in cells if c["cell_type"] == "code"]
    assert max(len(c.splitlines()) for c in code) <= 25 and all(not c.get("outputs") for c in cells if c["cell_type"] == "code")
    params = next(_text(c) for c in cells if "parameters" in c.get("metadata", {}).get("tags", []))
    for name in ("run_root", "epochs", "options"):  # what the main job passes to every training notebook
        assert f"{name} =" in params
    numbers = [m.group(0) for c in cells if c["cell_type"] == "markdown" for m in _NUMBER.finditer(_prose(_text(c)))]
    assert not numbers, f"numbers in the text that no code computes: {numbers}"


def crowd(t: int, dim: int = 2, seed: int = 8) -> list[np.ndarray]:
    """Per frame ``(P_t, 17, dim + 1)``: four people walking across each other, each missed now and then, low-score
    joints, and now and then a garbled detection (a coordinate far outside the image)."""
    rng = np.random.default_rng(seed)
    scale = 1.0 if dim == 3 else 100.0
    start, speed = rng.uniform(0, 8, (4, 2)) * scale, rng.uniform(-0.15, 0.15, (4, 2)) * scale
    bodies = rng.uniform(0, 1.5, (4, 17, dim)) * scale
    frames = []
    for f in range(t):
        people = []
        for p in range(4):
            if rng.random() < 0.2:
                continue
            xy = bodies[p] + np.pad(start[p] + speed[p] * f, (0, dim - 2)) + rng.normal(0, 0.02 * scale, (17, dim))
            score = np.where(rng.random(17) < 0.1, 0.01, rng.uniform(0.3, 1, 17))
            if rng.random() < 0.05:
                xy[3, 0] = 80 * scale  # garbled (far outside the image; 3D: far from the body): left out by to_record
            people.append(np.concatenate([xy, score[:, None]], 1))
        rng.shuffle(people)
        frames.append(np.stack(people) if people else np.zeros((0, 17, dim + 1)))
    return frames


@pytest.mark.parametrize("dim", [2, 3])
def test_the_streaming_memo_gives_each_window_the_record_it_gets_alone(dim, monkeypatch):
    from aagcn_lab.data import tracking
    from aagcn_lab.data.inputs import read_frame
    from aagcn_lab.data.poses.frames import RecordMemo, join_frames, to_record

    layout, shape = ("coco", (1080, 1920)) if dim == 2 else ("nturgb+d", None)
    v = 17 if dim == 2 else 25
    frames = [read_frame(f if dim == 2 else np.pad(f, ((0, 0), (0, v - 17), (0, 0)))[..., :3], layout, dim) for f in crowd(80, dim)]
    memo = RecordMemo()
    for start in range(0, 60, 3):  # windows of 20 frames, a prediction every 3
        video = join_frames(frames[start : start + 20], f"frames {start}-{start + 19}")
        got, alone = to_record(video, 2, shape, memo=memo), to_record(video, 2, shape)
        assert got[1] == alone[1]  # the same notes: what was left out, the tracks dropped
        for key in alone[0]:
            np.testing.assert_array_equal(got[0][key], alone[0][key])  # bit for bit
    calls = []
    closeness = tracking._closeness
    monkeypatch.setattr(tracking, "_closeness", lambda *a: calls.append(1) or closeness(*a))
    video = join_frames(frames[60:80], "frames 60-79")
    to_record(video, 2, shape, memo=memo)
    with_memo = len(calls)
    to_record(video, 2, shape)
    assert with_memo * 4 < len(calls) - with_memo  # the window 3 frames on: only its new frames' pairs computed
