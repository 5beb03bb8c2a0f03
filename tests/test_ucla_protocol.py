"""NW-UCLA's published protocol (``protocol='ctrgcn'``) against hand-computed values, and the seams that
carry a run's pipeline and person count from the config to training, testing and prediction.

The expected numbers are worked out by hand from reference-nw-ucla.md section 3 (centre on frame 0's
spine, ``X @ Ry @ Rx``, per-axis min-max to [-1, 1], 52 frames, motion between sampled frames).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from aagcn_lab.data.pipeline import CTRGCNPipeline, build_pipeline, ctrgcn_rotation, minmax_to_unit
from aagcn_lab.data.validate import InputError
from aagcn_lab.graph import get_layout
from aagcn_lab.model.checkpoint import clean_state_dict
from aagcn_lab.train import TrainConfig, apply_overrides
from aagcn_lab.train.schedule import lr_at_step

from .tolerances import float_bound

V = 20  # the ucla layout
# two float32 evaluations of the tiny run's model (other batch sizes: other kernels and summation orders), as
# probabilities: tcn 9 x 16 channels accumulated per value, 13 layers, softmax scale 2 max|logit| ~ 2
TINY_PROBS = float_bound(torch.float32, 9 * 16, 13, 2)


def record(kp: np.ndarray, name: str = "a01_s01_e00_v01", label: int = 0) -> dict:
    """A one-person record from ``(T, V, 3)`` joints."""
    kp = np.asarray(kp, np.float32)[None]
    return {"frame_dir": name, "label": label, "total_frames": kp.shape[1], "keypoint": kp}


def two_frame_clip() -> np.ndarray:
    """Two frames in which joint v sits at (v, 2v, -v) + frame * (1, 0, 0), joint 1 (Spine) moved to the origin's side."""
    base = np.stack([np.arange(V), 2 * np.arange(V), -np.arange(V)], 1).astype(np.float64)
    return np.stack([base, base + [1.0, 0.0, 0.0]])


def test_test_mode_is_minmax_of_the_clip_by_hand():
    """x spans 0..20 over both frames, y 0..38, z -19..0: each maps linearly onto [-1, 1]."""
    out = CTRGCNPipeline("j", "test", "ucla", clip_len=3)(record(two_frame_clip()))["keypoint"]
    assert out.shape == (1, 1, 3, V, 3) and out.dtype == np.float32
    # linspace(0, 1, 3) = [0, 0.5, 1] truncated -> frames [0, 0, 1]
    frame0, frame1 = out[0, 0, 0], out[0, 0, 2]
    np.testing.assert_array_equal(out[0, 0, 1], frame0)
    assert frame0[0].tolist() == pytest.approx([-1.0, -1.0, 1.0])  # joint 0: x = 0 (min), y = 0 (min), z = 0 (max)
    assert frame1[19].tolist() == pytest.approx([1.0, 1.0, -1.0])  # joint 19 of frame 1: x = 20, y = 38, z = -19
    assert frame0[10].tolist() == pytest.approx([10 / 20 * 2 - 1, 20 / 38 * 2 - 1, (-10 + 19) / 19 * 2 - 1])


def test_test_frames_are_an_even_grid_truncated():
    """``linspace(0, T - 1, 52)`` cast to int: T = 3 gives 18, 17, 17 copies of frames 0, 1, 2 (by hand)."""
    pipe = CTRGCNPipeline("j", "test", "ucla")
    inds = pipe.frame_indices(3)
    assert len(inds) == 52 and inds[0] == 0 and inds[-1] == 2
    assert np.bincount(inds).tolist() == [26, 25, 1]  # 2 * i / 51 < 1 for i <= 25; == 2 only at i = 51
    assert pipe.frame_indices(1).tolist() == [0] * 52
    assert pipe.frame_indices(52).tolist() == list(range(52))


def test_train_frames_are_sorted_draws_from_a_pool_of_100_copies():
    pipe = CTRGCNPipeline("j", "train", "ucla")
    rng = np.random.RandomState(0)
    for t in (1, 5, 30, 52, 200):
        inds = pipe.frame_indices(t, rng)
        assert len(inds) == 52 and (np.diff(inds) >= 0).all() and inds.min() >= 0 and inds.max() < t
        assert np.bincount(inds).max() <= 100
    draws = np.concatenate([pipe.frame_indices(4, rng) for _ in range(400)])
    counts = np.bincount(draws, minlength=4) / len(draws)
    assert np.abs(counts - 0.25).max() < 0.02  # every frame equally likely (20,800 draws: sd of a share ~0.003)


def test_rotation_matrices_as_the_reference_builds_them():
    """Row vectors times ``Ry @ Rx``: 90 degrees about x sends +y to +z; 90 about y sends +x to -z."""
    rx = ctrgcn_rotation(90, 0)
    np.testing.assert_allclose(np.array([0.0, 1.0, 0.0]) @ rx, [0, 0, 1], atol=1e-15)
    np.testing.assert_allclose(np.array([0.0, 0.0, 1.0]) @ rx, [0, -1, 0], atol=1e-15)
    ry = ctrgcn_rotation(0, 90)
    np.testing.assert_allclose(np.array([1.0, 0.0, 0.0]) @ ry, [0, 0, -1], atol=1e-15)
    both = ctrgcn_rotation(30, -45)
    np.testing.assert_allclose(both, ctrgcn_rotation(0, -45) @ ctrgcn_rotation(30, 0), atol=1e-15)  # Ry @ Rx
    np.testing.assert_allclose(both @ both.T, np.eye(3), atol=1e-15)


def test_train_mode_rotates_by_integer_angles_then_rescales():
    """The training output equals min-max of the centred clip times ``Ry @ Rx`` for the angles the seed draws."""
    kp = np.random.default_rng(1).normal(0, 0.3, (6, V, 3)) + [0, 1, 3]
    rec = record(kp)
    pipe = CTRGCNPipeline("j", "train", "ucla", clip_len=6)
    out = pipe(rec, np.random.RandomState(7))["keypoint"][0, 0]
    agx, agy = np.random.RandomState(7).randint(-60, 61, size=2)
    assert -60 <= agx <= 60 and -60 <= agy <= 60 and (agx, agy) != (0, 0)
    rotated = (rec["keypoint"][0].astype(np.float64) - rec["keypoint"][0, 0, 1]) @ ctrgcn_rotation(agx, agy)
    want = minmax_to_unit(rotated)[pipe.frame_indices(6, np.random.RandomState(7))]
    # the draw order inside the pipeline: angles first, then frames; replay both from one stream
    rng = np.random.RandomState(7)
    rng.randint(-60, 61, size=2)
    want = minmax_to_unit(rotated)[pipe.frame_indices(6, rng)]
    np.testing.assert_allclose(out, want, rtol=0, atol=1e-6)  # float32 output of values in [-1, 1]: 6e-8 per step
    assert out.min() == pytest.approx(-1.0, abs=1e-6) or out.max() == pytest.approx(1.0, abs=1e-6)


def test_scale_and_translation_change_nothing():
    """Why the published scale augmentation is left out: min-max removes any translation and uniform scale."""
    kp = np.random.default_rng(2).normal(0, 1, (8, V, 3))
    a = minmax_to_unit(kp)
    np.testing.assert_allclose(minmax_to_unit(1.37 * kp + [4.0, -2.0, 9.0]), a, rtol=0, atol=1e-12)  # float64, O(10) ops
    test = CTRGCNPipeline("j", "test", "ucla", clip_len=8)
    # float32 records: the two inputs round differently (1 ulp of |x| ~ 3 is 2.4e-7), outputs in [-1, 1]
    np.testing.assert_allclose(test(record(kp))["keypoint"], test(record(kp * 2 + 1))["keypoint"], rtol=0, atol=1e-5)


def test_an_axis_without_extent_becomes_zero():
    pts = np.zeros((1, 3, 3))
    pts[0, :, 0] = [1.0, 2.0, 3.0]
    out = minmax_to_unit(pts)
    assert out[0, :, 0].tolist() == [-1.0, 0.0, 1.0] and not out[..., 1:].any() and np.isfinite(out).all()


def test_bones_and_motion_after_sampling():
    kp = np.random.default_rng(3).normal(0, 1, (9, V, 3))
    lay = get_layout("ucla")
    outs = {f: CTRGCNPipeline(f, "test", "ucla", clip_len=12)(record(kp))["keypoint"][0, 0] for f in ("j", "b", "jm", "bm")}
    j = outs["j"]
    for v1, v2 in lay.bone_pairs:
        np.testing.assert_allclose(outs["b"][:, v1], j[:, v1] - j[:, v2], rtol=0, atol=1e-6)
    assert not outs["b"][:, lay.index("ShoulderCenter")].any()  # the (3, 3) pair: a zero bone
    np.testing.assert_allclose(outs["jm"][:-1], j[1:] - j[:-1], rtol=0, atol=1e-6)  # between *sampled* frames
    assert not outs["jm"][-1].any() and not outs["bm"][-1].any()
    np.testing.assert_allclose(outs["bm"][:-1], outs["b"][1:] - outs["b"][:-1], rtol=0, atol=1e-6)
    # sampled frames repeat (12 from 9): motion between two copies of a frame is exactly zero
    assert (np.abs(outs["jm"]).reshape(12, -1).max(1) == 0).sum() >= 3


def test_one_frame_clip_and_person_slots():
    kp = np.random.default_rng(4).normal(0, 1, (1, V, 3))
    j = CTRGCNPipeline("j", "test", "ucla", num_person=2)(record(kp))["keypoint"]
    assert j.shape == (1, 2, 52, V, 3) and not j[0, 1].any()  # the second slot is zero padding
    assert (j[0, 0] == j[0, 0, :1]).all()  # 52 copies of the one frame
    jm = CTRGCNPipeline("jm", "train", "ucla")(record(kp), np.random.RandomState(0))["keypoint"]
    assert not jm.any()


def test_refuses_what_it_cannot_normalise():
    pipe = CTRGCNPipeline("j", "test", "ucla")
    rec2d = {"frame_dir": "x", "label": 0, "total_frames": 4, "keypoint": np.ones((1, 4, V, 2), np.float32)}
    rec2d["keypoint_score"] = np.ones((1, 4, V), np.float32)
    with pytest.raises(InputError, match="3D"):
        pipe(rec2d)
    with pytest.raises(InputError, match="zero"):
        pipe(record(np.zeros((4, V, 3))))
    with pytest.raises(ValueError, match="protocol"):
        build_pipeline("j", "test", "ucla", protocol="ctr")
    from aagcn_lab.data.pipeline import Augment

    with pytest.raises(ValueError, match="rotates by itself"):
        build_pipeline("j", "train", "ucla", augment=Augment(rotate_deg=10), protocol="ctrgcn")


def test_config_protocol_and_step_schedule():
    cfg = apply_overrides(TrainConfig(), {"protocol": "ctrgcn", "lr_schedule": "step", "lr_steps": "[50]", "warmup_epochs": 5})
    assert cfg.protocol == "ctrgcn" and cfg.lr_steps == [50]
    steps = 10  # per epoch
    assert lr_at_step(cfg, 0.1, steps, 0) == pytest.approx(0.1 / 50)  # warm-up: (step + 1) / 50 steps
    assert lr_at_step(cfg, 0.1, steps, 49) == pytest.approx(0.1)
    assert lr_at_step(cfg, 0.1, steps, 50 * steps - 1) == pytest.approx(0.1)  # last step of epoch 49
    assert lr_at_step(cfg, 0.1, steps, 50 * steps) == pytest.approx(0.01)  # x0.1 from epoch 50 on (0-based)
    with pytest.raises(ValueError, match="protocol"):
        apply_overrides(TrainConfig(), {"protocol": "ucla"})
    with pytest.raises(ValueError, match="lr_steps"):
        apply_overrides(TrainConfig(), {"lr_steps": "[-1]"})


def test_clean_state_dict_strips_compile_of_ddp():
    """``torch.compile(DDP(model))`` saves ``_orig_mod.module.``; every wrapper prefix goes, in any order."""
    t = torch.zeros(1)
    sd = {"_orig_mod.module.backbone.A": t, "module._orig_mod.cls_head.fc_cls.weight": t, "backbone.data_bn.bias": t}
    assert sorted(clean_state_dict(sd)) == ["backbone.A", "backbone.data_bn.bias", "cls_head.fc_cls.weight"]


@pytest.fixture(scope="module")
def tiny_ucla(tmp_path_factory):
    """48 one-person ucla clips of 4 classes (which joints oscillate), split 32 / 16."""
    from aagcn_lab.data import save_annotations

    rng = np.random.default_rng(0)
    recs = []
    for i in range(48):
        label, t = i % 4, 10 + i % 9
        kp = rng.normal(0, 0.3, (1, 1, V, 3)) + np.array([0, 0, 3.0])
        moving = (np.arange(V) % 4 == label)[None, None, :, None]
        kp = kp + 0.3 * np.sin(np.arange(t) / 2.0)[None, :, None, None] * moving + rng.normal(0, 0.02, (1, t, V, 3))
        recs.append(dict(frame_dir=f"a{label + 1:02d}_s{i % 10 + 1:02d}_e{i:02d}_v01", label=label, total_frames=t, keypoint=kp.astype(np.float32)))
    ids = [r["frame_dir"] for r in recs]
    path = tmp_path_factory.mktemp("ucla") / "tiny_ucla.pkl"
    splits = {"train": ids[:32], "test": ids[32:], "test_unique": ids[32:35]}  # a small, unbalanced subset of test
    return save_annotations(path, recs, splits, label_names=list("abcd"), layout="ucla")


@pytest.fixture(scope="module")
def tiny_ucla_run(tiny_ucla, tmp_path_factory):
    """One epoch of a one-person ctrgcn run of the joint-motion stream on ``tiny_ucla``: its RunResult."""
    from aagcn_lab.train import train

    cfg = TrainConfig(
        ann_file=str(tiny_ucla), train_split="train", val_split="test", feat="jm", protocol="ctrgcn", clip_len=12,
        test_clips=1, epochs=1, repeat=1, batch_size=8, lr=0.05, lr_batch=8, num_workers=0, progress=False,
        tensorboard=False, work_dir=str(tmp_path_factory.mktemp("ucla_run") / "run"), test_checkpoint="last",
        model=dict(base_channels=8, num_stages=4, inflate_stages=[3], down_stages=[3], num_person=1),
    )  # fmt: skip
    return train(cfg)


def test_a_run_remembers_its_pipeline_and_person_slots(tiny_ucla, tiny_ucla_run):
    """A one-person ctrgcn run trains (``model.num_person`` reaches the data), and ``test`` and ``predict`` apply
    the run's pipeline without being told: the same probabilities as the run's own test."""
    from aagcn_lab.data.annotations import load_annotations
    from aagcn_lab.prediction import load_stream_models, predict_records
    from aagcn_lab.scores import load_scores
    from aagcn_lab.train.evaluation import test_checkpoint

    result = tiny_ucla_run
    run_scores = load_scores(result.scores)
    assert run_scores.probs.shape == (16, 4) and run_scores.meta["clips"] == 1
    scores, _ = test_checkpoint(result.checkpoint, num_clips=1, device="cpu", num_workers=0)
    np.testing.assert_allclose(scores.probs, run_scores.probs, rtol=0, atol=TINY_PROBS)
    models = load_stream_models(result.checkpoint)
    assert models["jm"].protocol == "ctrgcn"
    recs = load_annotations(tiny_ucla).select("test")[:3]
    preds = predict_records(models, recs, num_clips=1)
    for p, rec in zip(preds, recs):
        i = run_scores.frame_dir.index(rec["frame_dir"])
        np.testing.assert_allclose(p.probs, run_scores.probs[i], rtol=0, atol=TINY_PROBS)
    # the pyskl pipeline would have given other inputs: the protocol is what made them equal
    wrong = predict_records({"jm": replace(models["jm"], protocol="pyskl")}, recs[:1], num_clips=1)[0]
    gap = np.abs(wrong.probs - run_scores.probs[run_scores.frame_dir.index(recs[0]["frame_dir"])]).max()
    assert gap > TINY_PROBS, gap  # more than rounding can explain

    # honest selection: the last epoch on all test clips and on the subset, recomputed here from the scores
    from aagcn_lab.selection import selection_report

    rep = selection_report(result.work_dir, "test_unique")
    hits = run_scores.probs.argmax(1) == run_scores.labels
    assert rep.last.value == pytest.approx(hits.mean())
    keep = [i for i, f in enumerate(run_scores.frame_dir) if f in set(load_annotations(tiny_ucla).split["test_unique"])]
    assert len(keep) == 3 and rep.last_subset.value == pytest.approx(hits[keep].mean())
    assert hits[keep].mean() != pytest.approx(hits.mean())  # so that the two numbers cannot be swapped unseen
    assert rep.best_epoch == 1 and rep.selected_on_test and rep.best == pytest.approx(hits.mean())  # one epoch: best = last
    assert rep.best_subset == pytest.approx(hits[keep].mean())
    assert "chosen on the test set" in rep.table() and rep.last.groups == len({f.split("_")[1] for f in run_scores.frame_dir})
    narrow = selection_report(result.work_dir, "test_unique", level=0.5)
    assert narrow.last.level == narrow.last_subset.level == 0.5 and narrow.last.high - narrow.last.low <= rep.last.high - rep.last.low


def test_performer_of_reads_ntu_and_ucla_ids():
    from aagcn_lab.analysis import performer_of

    assert performer_of("S001C002P009R001A010") == 9 and performer_of("a12_s03_e04_v03") == 3
    with pytest.raises(ValueError, match="performer"):
        performer_of("clip_17")


def test_ucla_presets_follow_the_published_recipe():
    from aagcn_lab.train import preset

    full = preset("ucla_aagcn_j")
    assert (full.epochs, full.repeat, full.batch_size, full.lr, full.lr_batch, full.warmup_epochs) == (65, 5, 16, 0.1, 16, 5)
    assert (full.lr_schedule, full.lr_steps, full.weight_decay, full.nesterov, full.protocol) == ("step", [50], 1e-4, True, "ctrgcn")
    assert (full.clip_len, full.test_clips, full.test_checkpoint, full.model) == (52, 1, "last", {"num_person": 1})
    assert full.val_split == full.test_split == "xview_test" and full.train_split == "xview_train"
    cpu = preset("ucla_cpu_bm")
    assert cpu.feat == "bm" and cpu.protocol == "ctrgcn" and cpu.model["num_person"] == 1 and cpu.test_checkpoint == "last"
    assert (cpu.epochs, cpu.repeat, cpu.lr_schedule, cpu.model["base_channels"], cpu.model["num_stages"]) == (100, 1, "cosine", 16, 6)


def test_predict_reads_an_all_sqe_clip_with_the_runs_protocol(tiny_ucla, tiny_ucla_run, tmp_path, capsys):
    """``aagcn-lab predict -c run.pt clip.json`` on a clip in CTR-GCN's all_sqe JSON: read by the NW-UCLA reader and
    prepared by the checkpoint's protocol, the same probabilities as the run's own test of that clip."""
    import json

    from aagcn_lab.cli import main
    from aagcn_lab.data.annotations import load_annotations
    from aagcn_lab.scores import load_scores

    rec = load_annotations(tiny_ucla).select("test")[0]
    clip = tmp_path / f"{rec['frame_dir']}.json"
    clip.write_text(json.dumps({"file_name": rec["frame_dir"], "skeletons": rec["keypoint"][0].tolist(), "label": rec["label"] + 1}))
    assert main(["predict", "-c", str(tiny_ucla_run.checkpoint), "-i", str(clip), "--clips", "1", "--json", "--top-k", "4"]) == 0
    text = capsys.readouterr().out
    out = json.loads(text[min(i for i in (text.find("["), text.find("{")) if i >= 0):])
    got = out[0] if isinstance(out, list) else out
    probs = {c["name"] if isinstance(c, dict) else c[1]: (c["prob"] if isinstance(c, dict) else c[2]) for c in got["top"]}
    run = load_scores(tiny_ucla_run.scores)
    want = run.probs[run.frame_dir.index(rec["frame_dir"])]
    for name, p in probs.items():
        assert p == pytest.approx(float(want[list("abcd").index(name)]), abs=TINY_PROBS)


@pytest.mark.slow
def test_real_nw_ucla_converts_trains_and_reports(tmp_path):
    """The whole dataset converted, the CPU preset's joint stream trained for one epoch (63 steps), and the honest report:
    464 test clips over 10 subjects, 369 without the copies; the training loss goes down on real skeletons."""
    import json

    from aagcn_lab.data.ucla import convert_ucla_folder
    from aagcn_lab.selection import selection_report
    from aagcn_lab.train import preset, train

    from .conftest import shared_file

    report = convert_ucla_folder(shared_file("data", "nw_ucla", "all_sqe"), tmp_path / "nw_ucla.pkl")
    assert report.ok and report.converted == 1484
    cfg = preset("ucla_cpu_j", ann_file=str(tmp_path / "nw_ucla.pkl"), epochs=1, log_interval=20,
                 work_dir=str(tmp_path / "j"), progress=False, tensorboard=False)  # fmt: skip
    result = train(cfg)
    rep = selection_report(result.work_dir, "xview_test_unique")
    assert rep.last.groups == 10 and rep.selected_on_test and rep.best_epoch == 1
    assert rep.last_subset is not None and rep.best_subset is not None
    losses = [r["loss"] for r in map(json.loads, (tmp_path / "j" / "metrics.jsonl").read_text().splitlines()) if r["split"] == "train"]
    assert len(losses) == 4 and losses[-1] < losses[0], losses


def test_an_exported_ctrgcn_model_keeps_its_protocol(tiny_ucla, tiny_ucla_run, tmp_path):
    """The ONNX sidecar of a ctrgcn run says so and describes that pipeline; predict through onnxruntime applies it."""
    pytest.importorskip("onnxruntime")
    from aagcn_lab.data.annotations import load_annotations
    from aagcn_lab.export import export_model, read_sidecar
    from aagcn_lab.prediction import load_stream_models, predict_records

    out, _ = export_model(tiny_ucla_run.checkpoint, tmp_path / "jm.onnx", num_clips=1)
    meta = read_sidecar(out)
    assert meta["protocol"] == "ctrgcn" and meta["preprocessing"]["pipeline"].startswith("aagcn_lab.data.pipeline.CTRGCNPipeline(")
    rec = load_annotations(tiny_ucla).select("test")[:2]
    onnx = predict_records(load_stream_models({"jm": out}), rec, num_clips=1)
    torch_ = predict_records(load_stream_models(tiny_ucla_run.checkpoint), rec, num_clips=1)
    for a, b in zip(onnx, torch_):
        np.testing.assert_allclose(a.probs, b.probs, rtol=0, atol=TINY_PROBS)  # onnxruntime's float32 kernels: the same bound
