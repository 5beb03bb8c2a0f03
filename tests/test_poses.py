"""Pose-estimator readers: real samples and self-made files of every format, joint maps, bad input."""

from __future__ import annotations

import csv
import json
import pickle
import warnings

import numpy as np
import pytest
import torch

from aagcn_lab import cli
from aagcn_lab.data.annotations import load_annotations
from aagcn_lab.data.poses import (
    JOINT_MAPS,
    MEDIAPIPE_LANDMARKS,
    SOURCE_JOINTS,
    LayoutMismatchError,
    PoseFormatError,
    convert_poses,
    detect_format,
    fit_layout,
    load_npz,
    map_joints,
    read_pose_records,
    read_poses,
)
from aagcn_lab.model import AAGCN, AAGCNConfig
from aagcn_lab.model.checkpoint import save_checkpoint
from aagcn_lab.prediction import predict

from .conftest import REAL, shared_file

SMALL = dict(base_channels=8, num_stages=4, inflate_stages=[3], down_stages=[3])
RNG = np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _fresh_rng(monkeypatch):
    """Each test draws its tracks from a fresh ``RNG``: the same numbers whichever tests ran before it."""
    monkeypatch.setattr(f"{__name__}.RNG", np.random.default_rng(0))


def tiny_checkpoint(path, layout: str, num_classes: int = 5, feat: str = "j"):
    """A small random model of ``layout`` saved with its stream."""
    torch.manual_seed(0)
    return save_checkpoint(AAGCN(AAGCNConfig(layout=layout, num_classes=num_classes, in_channels=3, **SMALL)), path, meta={"feat": feat})


def quiet_records(*args, **kwargs):
    notes: list = []
    return read_pose_records(*args, notes=notes, **kwargs), [n for _, n in notes]


# ------------------------------------------------------------------------------------------------
# self-made files in each estimator's documented format
# ------------------------------------------------------------------------------------------------


def person_track(t: int, v: int, x0: float, dim: int = 2, scale: float = 100.0) -> np.ndarray:
    """A person near ``x0`` that drifts slowly: ``(t, v, dim)`` pixel coordinates."""
    base = RNG.uniform(0, scale, size=(v, dim)) + np.array([x0] + [300.0] * (dim - 1))
    return np.stack([base + 2.0 * f for f in range(t)]).astype(np.float64)


def write_openpose_folder(folder, people, v: int = 25, person_id: bool = False):
    """``people``: list of (T, V, 2) arrays; one ``*_keypoints.json`` per frame."""
    folder.mkdir(parents=True, exist_ok=True)
    for t in range(people[0].shape[0]):
        ppl = []
        for k, p in enumerate(people):
            flat = np.concatenate([p[t], np.full((v, 1), 0.9)], 1).reshape(-1).round(3).tolist()
            ppl.append({"person_id": [k if person_id else -1], "pose_keypoints_2d": flat, "face_keypoints_2d": []})
        (folder / f"video_{t:012d}_keypoints.json").write_text(json.dumps({"version": 1.3, "people": ppl}))
    return folder


def test_openpose_body25_folder_maps_to_openpose18_and_predicts(tmp_path):
    a, b = person_track(12, 25, 200), person_track(12, 25, 1200)
    folder = write_openpose_folder(tmp_path / "clip", [a, b])
    assert detect_format(folder) == "openpose"
    [rec], notes = quiet_records(folder, img_shape=(720, 1280))
    assert rec["layout"] == "openpose" and rec["keypoint"].shape == (2, 12, 18, 2) and rec["img_shape"] == (720, 1280)
    # BODY_25's RHip (9) is OpenPose-18's RHip (8); its MidHip (8) is dropped
    # the file holds 3 decimals: |error| <= 5e-4, plus f32's rounding of <= 1.5e3 px (9e-5): < 1e-3 (both)
    slot = 0 if abs(rec["keypoint"][0, 0, 0, 0] - a[0, 0, 0]) < 1e-3 else 1
    np.testing.assert_allclose(rec["keypoint"][slot, :, 8], a[:, 9], atol=1e-3)
    assert any("body25 -> openpose" in n for n in notes)
    ckpt = tiny_checkpoint(tmp_path / "op.pt", "openpose")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        [pred] = predict(ckpt, folder, num_clips=1, img_shape=(720, 1280))
    # f32 softmax over K = 5 classes, a mean over clips: < 20 roundings x 1.2e-7 = 2.4e-6 < 1e-5
    assert pred.frame_dir == "clip" and abs(pred.probs.sum() - 1) < 1e-5


def test_openpose_coco18_single_file_and_person_ids(tmp_path):
    a = person_track(3, 18, 100)
    folder = write_openpose_folder(tmp_path / "c18", [a, person_track(3, 18, 900)], v=18, person_id=True)
    [pf] = read_poses(folder)
    assert pf.layout == "openpose" and pf.ids is not None
    [pf1] = read_poses(folder / "video_000000000000_keypoints.json")
    assert len(pf1.coords) == 1 and pf1.coords[0].shape == (2, 18, 2)


def test_openpose_bad_frames_are_named_and_the_rest_converts(tmp_path):
    a = person_track(6, 25, 300)
    folder = write_openpose_folder(tmp_path / "bad", [a])
    (folder / "video_000000000001_keypoints.json").write_text('{"version":1.3,"people":[{"pose_k')  # corrupt
    (folder / "video_000000000002_keypoints.json").write_text(json.dumps({"people": []}))  # nobody
    short = {"people": [{"pose_keypoints_2d": [1.0] * 51}]}  # 17 joints: wrong count
    (folder / "video_000000000003_keypoints.json").write_text(json.dumps(short))
    nan = json.loads((folder / "video_000000000004_keypoints.json").read_text())
    nan["people"][0]["pose_keypoints_2d"][3] = float("nan")
    (folder / "video_000000000004_keypoints.json").write_text(json.dumps(nan))
    [pf] = read_poses(folder)
    problems = dict(pf.problems)
    assert "not an OpenPose frame" in problems["video_000000000001_keypoints.json"]
    assert "51 values" in problems["video_000000000003_keypoints.json, person 0"]
    assert "NaN/inf in joint(s) 1" in problems["video_000000000004_keypoints.json, person 0"]
    assert any("no person: video_000000000002_keypoints.json" in n for n in pf.notes)
    out = tmp_path / "bad.pkl"
    report = convert_poses([folder], out, label=2)
    assert report.ok and report.converted == 1
    text = report.summary()
    for name in ("000000000001", "000000000003", "000000000004", "000000000002"):
        assert name in text
    rec = load_annotations(out).annotations[0]
    assert rec["total_frames"] == 6 and rec["label"] == 2
    present = rec["keypoint_score"][0].any(-1)
    assert present.tolist() == [True, False, False, False, False, True]  # bad frames stay, empty: time is kept


def test_a_folder_with_only_bad_frames_is_an_error_naming_them(tmp_path):
    folder = tmp_path / "allbad"
    folder.mkdir()
    (folder / "a_000_keypoints.json").write_text("{")
    (folder / "a_001_keypoints.json").write_text(json.dumps({"people": [{"pose_keypoints_2d": [0.0] * 10}]}))
    with pytest.raises(PoseFormatError, match=r"no usable person.*a_000_keypoints.json.*a_001_keypoints.json, person 0: 10 values"):
        read_poses(folder)
    report = convert_poses([folder], tmp_path / "x.pkl", label=0)
    assert not report.ok and "no usable person" in report.failed[0][1]


def coco_flat(xy: np.ndarray, s: np.ndarray) -> list[float]:
    return np.concatenate([xy, s[:, None]], 1).reshape(-1).round(3).tolist()


def test_coco_results_file_with_image_ids_and_track_ids(tmp_path):
    a, b = person_track(5, 17, 100), person_track(5, 17, 800)
    results = []
    for t in range(5):
        pair = [(0, a), (1, b)] if t % 2 == 0 else [(1, b), (0, a)]  # list order swaps; the ids do not
        for tid, p in pair:
            results.append({"image_id": f"{t}.jpg", "category_id": 1, "keypoints": coco_flat(p[t], np.full(17, 0.8)), "score": 0.9, "idx": tid})
    path = tmp_path / "alphapose-results.json"
    path.write_text(json.dumps(results))
    assert detect_format(path) == "coco"
    [rec], _ = quiet_records(path, img_shape=(1080, 1920))
    k = rec["keypoint"]
    assert k.shape == (2, 5, 17, 2)
    for m in range(2):  # each slot follows one id across the swaps
        ref = a if abs(k[m, 0, 0, 0] - a[0, 0, 0]) < 1e-3 else b  # 3 decimals in the file, f32: as above
        np.testing.assert_allclose(k[m], ref, atol=1e-3)


def test_coco_per_frame_folder_rtmpose_and_yolo_pose(tmp_path):
    a = person_track(4, 17, 400)
    folder = tmp_path / "rtm"
    folder.mkdir()
    for t in range(4):
        person = {"keypoints": a[t].tolist(), "keypoint_scores": [0.7] * 17, "bbox": [[0, 0, 1, 1]]}
        (folder / f"frame_{t}.json").write_text(json.dumps([person]))
    assert detect_format(folder) == "coco"
    [rec], _ = quiet_records(folder)
    # full-precision JSON read into f32: one rounding of <= 1e3 px, u x 1e3 = 6e-5 < 1e-4; of 0.7: 4e-8 < 1e-6
    np.testing.assert_allclose(rec["keypoint"][0], a, atol=1e-4)
    np.testing.assert_allclose(rec["keypoint_score"][0], 0.7, atol=1e-6)
    yolo = tmp_path / "yolo"
    yolo.mkdir()
    for t in range(4):
        person = {"name": "person", "class": 0, "confidence": 0.9, "keypoints": {"x": a[t, :, 0].tolist(), "y": a[t, :, 1].tolist(), "visible": [0.6] * 17}}
        (yolo / f"{t}.json").write_text(json.dumps([person]))
    [rec2], _ = quiet_records(yolo)
    np.testing.assert_allclose(rec2["keypoint"], rec["keypoint"], atol=1e-4)  # the same values, each rounded once to f32


# MediaPipe Pose: the legacy solution's landmark list (MessageToDict), the Tasks API's
# pose_landmarks (one list per person), CSV in long and wide form, and an (T, 33, 4) .npy


def mp_landmarks(t: int, shift: float = 0.0) -> np.ndarray:
    """(t, 33, 4) normalised x, y, z, visibility."""
    base = np.column_stack([RNG.uniform(0.3, 0.6, 33) + shift, RNG.uniform(0.2, 0.9, 33), RNG.normal(0, 0.1, 33), RNG.uniform(0.5, 1, 33)])
    return np.stack([base + [0.001 * f, 0, 0, 0] for f in range(t)])


def mp_dicts(lm: np.ndarray) -> list[dict]:
    return [dict(zip(("x", "y", "z", "visibility"), map(float, row))) for row in lm]


def check_mediapipe(rec: dict, lm: np.ndarray) -> None:
    assert rec["layout"] == "coco" and rec["img_shape"] == (1, 1)
    # COCO left_wrist (9) <- MediaPipe left_wrist (15); right_ankle (16) <- 28
    # normalised coordinates and visibility <= 1 read into f32 (CSV / JSON at full precision): u = 6e-8 < 1e-5
    np.testing.assert_allclose(rec["keypoint"][0, :, 9], lm[:, 15, :2], atol=1e-5)
    np.testing.assert_allclose(rec["keypoint"][0, :, 16], lm[:, 28, :2], atol=1e-5)
    np.testing.assert_allclose(rec["keypoint_score"][0, :, 16], lm[:, 28, 3], atol=1e-5)


def test_mediapipe_json_csv_and_npy_exports(tmp_path):
    lm = mp_landmarks(6)
    legacy = tmp_path / "legacy.json"
    legacy.write_text(json.dumps([{"landmark": mp_dicts(x)} for x in lm]))
    tasks = tmp_path / "tasks.json"
    tasks.write_text(json.dumps([{"timestamp_ms": 33 * i, "pose_landmarks": [mp_dicts(x)]} for i, x in enumerate(lm)]))
    long_csv = tmp_path / "long.csv"
    with long_csv.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["frame", "landmark", "x", "y", "z", "visibility"])
        for t, x in enumerate(lm):
            for i, row in enumerate(x):
                w.writerow([t, MEDIAPIPE_LANDMARKS[i] if i % 2 else i, *row])
    wide_csv = tmp_path / "wide.csv"
    with wide_csv.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["frame"] + [f"{k}{i}" for i in range(33) for k in ("x", "y", "z", "visibility")])
        for t, x in enumerate(lm):
            w.writerow([t] + x.reshape(-1).tolist())
    npy = tmp_path / "landmarks.npy"
    np.save(npy, lm.astype(np.float32))
    for path in (legacy, tasks, long_csv, wide_csv, npy):
        assert detect_format(path) == "mediapipe", path
        [rec], notes = quiet_records(path)
        check_mediapipe(rec, lm)
        assert any("mediapipe -> coco" in n for n in notes)


def test_mediapipe_bad_rows_and_frames_are_named(tmp_path):
    lm = mp_landmarks(4)
    frames = [{"landmark": mp_dicts(x)} for x in lm]
    frames[1] = {"landmark": mp_dicts(lm[1])[:20]}  # wrong landmark count
    frames[2]["landmark"][5]["x"] = float("nan")
    frames.append({"pose_landmarks": []})  # a frame with nobody
    path = tmp_path / "mp.json"
    path.write_text(json.dumps(frames))
    [pf] = read_poses(path)
    problems = dict(pf.problems)
    assert "20 joints, expected 33" in problems["frame 1, person 0"]
    assert "NaN/inf in joint(s) 5" in problems["frame 2, person 0"]
    assert any("no person: frame 4" in n for n in pf.notes)
    [rec], _ = quiet_records(path)
    assert rec["total_frames"] == 5 and rec["keypoint_score"][0].any(-1).tolist() == [True, False, False, True, False]


# ------------------------------------------------------------------------------------------------
# joint maps and layouts
# ------------------------------------------------------------------------------------------------


def canonical(name: str) -> str:
    """'LShoulder' / 'left_shoulder' -> 'left_shoulder'."""
    n = name
    if len(n) > 1 and n[0] in "LR" and n[1].isupper():
        n = ("left_" if n[0] == "L" else "right_") + n[1:]
    return n.lower().replace("left", "left_").replace("right", "right_").replace("__", "_")


@pytest.mark.parametrize("pair", list(JOINT_MAPS))
def test_joint_maps_pair_joints_of_the_same_name(pair):
    src, dst = pair
    s_names, d_names = SOURCE_JOINTS[src], SOURCE_JOINTS[dst]
    table = JOINT_MAPS[pair]
    assert len(table) == len(d_names)
    for j, s in enumerate(table):
        if isinstance(s, tuple):  # a synthesised joint: OpenPose's neck between the shoulders
            assert d_names[j] == "Neck" and {canonical(s_names[i]) for i in s} == {"left_shoulder", "right_shoulder"}
        else:
            assert canonical(s_names[s]) == canonical(d_names[j]), (src, dst, s_names[s], d_names[j])


def test_map_joints_midpoint_and_missing_joint():
    kp = np.zeros((1, 1, 17, 2), np.float32)
    sc = np.zeros((1, 1, 17), np.float32)
    kp[..., 5, :], kp[..., 6, :] = (10, 20), (30, 40)
    sc[..., 5], sc[..., 6] = 0.9, 0.5
    out, s = map_joints(kp, sc, "coco", "openpose")
    np.testing.assert_allclose(out[0, 0, 1], (20, 30))  # the midpoint of small integers: exact
    assert s[0, 0, 1] == pytest.approx(0.5)  # f32 scores: 2 roundings, 1.2e-7 < 1e-6
    sc[..., 6] = 0
    out, s = map_joints(kp, sc, "coco", "openpose")
    assert s[0, 0, 1] == 0 and not out[0, 0, 1].any()  # no neck without both shoulders


def test_layout_mismatch_is_an_error_naming_both(tmp_path):
    rec = {"frame_dir": "x", "keypoint": np.ones((1, 4, 17, 3), np.float32), "layout": "h36m"}
    with pytest.raises(LayoutMismatchError, match=r"'h36m' \(17 joints\).*layout 'coco' \(17 joints\)"):
        fit_layout(rec, "coco")
    op = {"frame_dir": "y", "keypoint": np.ones((1, 4, 18, 2), np.float32), "keypoint_score": np.ones((1, 4, 18), np.float32), "layout": "openpose"}
    with pytest.raises(LayoutMismatchError, match=r"'openpose' \(18 joints\).*'nturgb\+d' \(25 joints\)"):
        fit_layout(op, "nturgb+d")
    mapped = fit_layout(op, "coco")  # 2D OpenPose can feed a COCO model through the joint map
    assert mapped["keypoint"].shape == (1, 4, 17, 2) and mapped["mapped_from"] == "openpose"
    # the same through predict and the command line
    a = person_track(8, 25, 100)
    folder = write_openpose_folder(tmp_path / "op", [a])
    ntu = tiny_checkpoint(tmp_path / "ntu.pt", "nturgb+d", 60)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(LayoutMismatchError, match="'openpose'.*'nturgb\\+d'"):
            predict(ntu, folder, num_clips=1)
        [pred] = predict(tiny_checkpoint(tmp_path / "coco.pt", "coco"), folder, num_clips=1)
    assert abs(pred.probs.sum() - 1) < 1e-5  # f32 softmax, as above


def test_ambiguous_and_unknown_inputs_list_the_formats(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((10, 17, 3), np.float32))
    with pytest.raises(PoseFormatError, match=r"COCO-17.*Human3\.6M-17.*--format coco or --format h36m.*mediapipe"):
        detect_format(tmp_path / "x.npy")
    (tmp_path / "y.json").write_text(json.dumps({"hello": 1}))
    with pytest.raises(PoseFormatError, match=r"no known pose format.*openpose, coco.*--format NAME"):
        detect_format(tmp_path / "y.json")
    (tmp_path / "z.txt").write_text("1 2 3")
    with pytest.raises(PoseFormatError, match="--format"):
        detect_format(tmp_path / "z.txt")


class _Boom:
    def __reduce__(self):
        return (print, ("this must not run",))


def test_an_npz_with_code_is_refused(tmp_path, capsys):
    path = tmp_path / "evil.npz"
    np.savez(path, keypoints=np.array([_Boom()], dtype=object), boxes=np.zeros(1))
    with pytest.raises(PoseFormatError, match="refused to load.*builtins.print"):
        load_npz(path)
    assert "must not run" not in capsys.readouterr().out
    with open(tmp_path / "plain.pkl", "wb") as f:  # sanity: the object really would run under pickle
        pickle.dump(_Boom(), f)


# ------------------------------------------------------------------------------------------------
# every real pose-estimator sample reads, converts and predicts
# ------------------------------------------------------------------------------------------------

REAL_POSES = [
    ("openpose_json/fall_down_webcam_body25", None, "openpose", 2),
    ("coco17_keypoints/posetrack18_mmpose_tests/003418_mpii_test.json", None, "coco", 2),
    ("coco17_keypoints/posetrack18_mmpose_tests/009473_mpii_test.json", None, "coco", 2),
    ("coco17_keypoints/posetrack18_mmpose_tests/012834_mpii_test.json", None, "coco", 2),
    ("coco17_keypoints/videopose3d_detectron2_npz/m1.mp4.npz", None, "coco", 2),
    ("coco17_keypoints/videopose3d_detectron2_npz/floss.mp4.npz", None, "coco", 2),
    ("coco17_keypoints/videopose3d_custom2d_psychomugs/data_2d_custom_myvideos.npz", None, "coco", 2),
    ("coco17_keypoints/videopose3d_custom2d_yoga/data_2d_custom_myvideos.npz", None, "coco", 2),
    ("h36m17/mhformer_input2d_npz/sample_video_keypoints.npz", None, "h36m", 2),
    ("h36m17/mhformer_input2d_npz/TurnBody_keypoints.npz", None, "h36m", 2),
    ("h36m17/mhformer_output3d_npz/output_keypoints_3d.npz", None, "h36m", 3),
    ("h36m17/mmpose_body3d_lifter_json/results_demo.json", None, "h36m", 3),
    ("h36m17/videopose3d_3d_npy/m1.npy", "h36m", "h36m", 3),
    ("h36m17/videopose3d_3d_npy/floss.npy", "h36m", "h36m", 3),
    ("h36m17/videopose3d_3d_npy/Santosh_Tadasana.npy", "h36m", "h36m", 3),
]


@pytest.fixture(scope="module")
def real_ckpts(tmp_path_factory):
    d = tmp_path_factory.mktemp("ckpt")
    return {lay: tiny_checkpoint(d / f"{lay}.pt", lay) for lay in ("openpose", "coco", "h36m")}


@pytest.mark.parametrize("rel, fmt, layout, dim", REAL_POSES, ids=[r[0].split("/")[-1] for r in REAL_POSES])
def test_every_real_sample_reads_converts_and_predicts(rel, fmt, layout, dim, real_ckpts, tmp_path):
    path = shared_file("data", "real_samples", *rel.split("/"))
    recs, notes = quiet_records(path, fmt)
    assert recs
    for rec in recs:
        assert rec["layout"] == layout and rec["keypoint"].shape[-1] == dim and rec["keypoint"].any()
        assert ("keypoint_score" in rec) == (dim == 2)
    if "posetrack" in rel:  # head_bottom / head_top are not eyes: read as undetected
        assert any("head_bottom" in n for n in notes) and not recs[0]["keypoint_score"][..., 1:3].any()
    if "detectron2" in rel or "custom2d" in rel:
        assert recs[0]["img_shape"] != (1080, 1920)  # the file's own image size
    out = tmp_path / "out.pkl"
    report = convert_poses([path], out, fmt, label=1)
    assert report.ok, report.summary()
    ann = load_annotations(out)
    assert len(ann.annotations) == len(recs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        preds = predict(real_ckpts[layout], path, num_clips=1, fmt=fmt)
    assert len(preds) == len(recs) and all(abs(p.probs.sum() - 1) < 1e-5 for p in preds)  # f32 softmax, as above


def test_predict_command_on_a_real_openpose_folder(real_ckpts, capsys):
    folder = shared_file("data", "real_samples", "openpose_json", "fall_down_webcam_body25")
    argv = ["predict", "-c", str(real_ckpts["openpose"]), "-i", str(folder), "--img-size", "1280x720", "--clips", "1", "--json"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert cli.main(argv) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert out[0]["sample"] == "fall_down_webcam_body25" and len(out[0]["top"]) == 5
    assert "note: fall_down_webcam_body25: joints mapped body25 -> openpose" in captured.err
    assert "note: fall_down_webcam_body25: kept 2 of" in captured.err
    assert cli.main(["predict", "-c", str(real_ckpts["coco"]), "-i", str(REAL / "h36m17/videopose3d_3d_npy/m1.npy")]) == 2
    assert "--format coco or --format h36m" in capsys.readouterr().err


def test_detections_go_through_the_validation_layer_one_by_one(tmp_path):
    a = person_track(3, 17, 100)
    results = [{"image_id": t, "keypoints": coco_flat(a[t], np.full(17, 0.8))} for t in range(3)]
    results[1]["keypoints"] = coco_flat(a[1], np.full(17, 80.0))  # percent scores
    results.append({"image_id": 2, "keypoints": coco_flat(a[2] * 1e6, np.full(17, 0.8))})  # wrong units
    path = tmp_path / "res.json"
    path.write_text(json.dumps(results))
    [pf] = read_poses(path)
    problems = dict(pf.problems)
    assert "scores in percent" in problems["image_id 1, person 0"]
    assert "beyond" in problems["image_id 2, person 1"]
    [rec], _ = quiet_records(path)
    assert rec["keypoint_score"][0].any(-1).tolist() == [True, False, True]


def test_projection_of_the_builtin_data_to_coco17_pixels():
    from aagcn_lab.data import builtin_annotations
    from aagcn_lab.data.projection import project_record

    ann = load_annotations(builtin_annotations())
    rec = ann.annotations[0]
    p = project_record(rec)
    assert p["keypoint"].shape == rec["keypoint"].shape[:2] + (17, 2) and p["img_shape"] == (1080, 1920)
    k, s = p["keypoint"][0], p["keypoint_score"][0]
    assert ((s == 0) | ((s >= 0.6) & (s <= 1))).all() and s.any()
    # a person facing the camera: the left shoulder is on the image's right, the nose above the
    # shoulders, the ankles lowest, everything inside the frame
    assert (k[:, 5, 0] > k[:, 6, 0]).mean() > 0.9
    assert (k[:, 0, 1] < k[:, 5, 1]).all() and (k[:, 15, 1] > k[:, 11, 1]).all()
    assert (k[..., 0] > 0).all() and (k[..., 0] < 1920).all() and (k[..., 1] > 0).all() and (k[..., 1] < 1080).all()
    np.testing.assert_array_equal(project_record(rec)["keypoint_score"], p["keypoint_score"])  # reproducible (exact: same steps)


def test_the_builtin_2d_example_reads_as_coco_frames(tmp_path):
    from aagcn_lab.data.projection import write_example_frames

    folder, truth = write_example_frames(tmp_path / "ex")
    assert detect_format(folder) == "coco" and truth
    [rec], notes = quiet_records(folder, img_shape=(1080, 1920))
    assert rec["layout"] == "coco" and rec["keypoint"].any() and not any("left out" in n for n in notes)


def bad_coco_folder(tmp_path):
    folder = tmp_path / "rtm"
    folder.mkdir()
    a = person_track(4, 17, 100)
    for t in range(4):
        (folder / f"f{t}.json").write_text(json.dumps([{"keypoints": a[t].tolist(), "keypoint_scores": [0.9] * 17}]))
    (folder / "f1.json").write_text("[{")  # corrupt
    (folder / "f2.json").write_text(json.dumps([{"keypoints": a[2, :12].tolist(), "keypoint_scores": [0.9] * 12}]))
    return folder, None, {"f1.json": "not readable JSON", "f2.json, person 0": "12 joints, expected 17"}


def bad_mediapipe_csv(tmp_path):
    lm = mp_landmarks(3)
    path = tmp_path / "mp.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["frame"] + [f"{k}_{i}" for i in range(33) for k in ("x", "y", "z", "visibility")])
        for t, x in enumerate(lm):
            row = x.reshape(-1).tolist()
            if t == 1:
                row[4] = "nan"  # landmark 1's x
            w.writerow([t] + row)
    return path, None, {"frame 1, person 0": "NaN/inf in joint(s) 1"}


def bad_h36m_npy(tmp_path):
    x = np.random.default_rng(1).normal(size=(5, 17, 3)).astype(np.float32)
    x[3, 7, 0] = np.inf
    np.save(tmp_path / "lift.npy", x)
    return tmp_path / "lift.npy", "h36m", {"frame 3, person 0": "NaN/inf in joint(s) 7"}


def bad_mmpose(tmp_path):
    kp = person_track(3, 17, 100)
    frames = [{"frame_id": t, "instances": [{"keypoints": kp[t].tolist(), "keypoint_scores": [0.9] * 17}]} for t in range(3)]
    frames[0]["instances"][0]["keypoint_scores"] = [0.9] * 16  # a score missing
    frames[2] = {"frame_id": 2}  # no instances
    path = tmp_path / "mm.json"
    path.write_text(json.dumps({"meta_info": {"dataset_name": "coco"}, "instance_info": frames}))
    return path, None, {"frame_id 0, person 0": "17 joints but 16 scores", "frame_id 2": "no 'instances' list"}


@pytest.mark.parametrize("make", [bad_coco_folder, bad_mediapipe_csv, bad_h36m_npy, bad_mmpose])
def test_bad_input_in_every_reader_is_named_and_the_rest_converts(make, tmp_path):
    path, fmt, expected = make(tmp_path)
    [pf] = read_poses(path, fmt)
    problems = dict(pf.problems)
    for where, what in expected.items():
        assert what in problems.get(where, ""), (where, problems)
    report = convert_poses([path], tmp_path / "out.pkl", fmt, label=0)
    assert report.ok and all(where in report.summary() for where in expected)
    rec = load_annotations(tmp_path / "out.pkl").annotations[0]
    assert rec["total_frames"] == len(pf.coords) and rec["keypoint"].any()


def test_convert_poses_command(tmp_path, capsys):
    a = person_track(5, 25, 300)
    folder = write_openpose_folder(tmp_path / "clip", [a])
    out = tmp_path / "mine.pkl"
    assert cli.main(["convert", "poses", str(folder), "-o", str(out), "--label", "4", "--img-size", "1280x720"]) == 0
    assert "1 converted" in capsys.readouterr().out
    rec = load_annotations(out).annotations[0]
    assert rec["label"] == 4 and rec["img_shape"] == (720, 1280) and rec["keypoint"].shape[2] == 18
    assert cli.main(["convert", "poses", str(tmp_path / "nowhere"), "-o", str(out), "--label", "0"]) == 1
    assert "no such file" in capsys.readouterr().out


def test_a_pyskl_hrnet_2d_checkpoint_predicts_a_real_coco_sample(tmp_path):
    """pyskl's released 2D checkpoints (COCO-17, NTU-60 classes) load as they are: here the parity fixture's weights."""
    d = torch.load(shared_file("fixtures", "pyskl_parity", "model_coco60_2d.pt"), weights_only=True)
    torch.save({"meta": {"mmcv_version": "1.5.0"}, "state_dict": d["state_dict"]}, tmp_path / "j.pth")
    path = shared_file("data", "real_samples", "coco17_keypoints", "videopose3d_detectron2_npz", "floss.mp4.npz")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        [pred] = predict({"j": tmp_path / "j.pth"}, path, num_clips=1)
    from aagcn_lab.data.classes import class_names

    # f32 softmax over K = 60 classes and a mean over <= 10 clips: (60 + 2 + 10) x 1.2e-7 = 8.6e-6 < 1e-5
    assert pred.class_names == class_names("ntu60") and abs(pred.probs.sum() - 1) < 1e-5


@pytest.mark.parametrize("fmt", [None, "coco", "h36m", "mediapipe", "array"])
def test_a_garbled_npy_header_is_named_in_detection_and_every_reader(tmp_path, fmt):
    """The pose readers load ``.npy`` through the package's one safe loader: a header cut mid-dict
    is a CorruptFileError naming the file, never a tokenizer error."""
    from aagcn_lab.io import CorruptFileError

    path = tmp_path / "cut.npy"
    path.write_bytes(b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (3, 17, 2" + b" " * 60 + b"\n")
    with pytest.raises(CorruptFileError, match=r"cut\.npy: not a readable \.npy array"):
        read_poses(path, fmt)
