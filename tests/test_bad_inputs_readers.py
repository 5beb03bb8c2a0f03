"""Readers and bad inputs found since the last round (issue 24): absurd coordinates, normalised or mixed
OpenPose folders, COCO results with gaps, duplicates or nobody, ragged object arrays, empty folders.

Every file is made here (tmp_path); nothing needs the shared data.
"""

from __future__ import annotations

import json
import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from aagcn_lab import cli
from aagcn_lab.data.dense import convert_dense
from aagcn_lab.data.inputs import read_input
from aagcn_lab.data.kinetics import read_kinetics_json
from aagcn_lab.data.poses import PoseFormatError, PoseNote, detect_format, read_pose_records, read_poses
from aagcn_lab.data.tracking import select_tracks
from aagcn_lab.data.validate import InputError, person_frame_problems
from aagcn_lab.model import AAGCN, AAGCNConfig
from aagcn_lab.model.checkpoint import save_checkpoint

W, H = 1920, 1080  # pyskl's fallback image size (w, h)


# ------------------------------------------------------------------------------------------------
# files made here
# ------------------------------------------------------------------------------------------------


def body(v: int, x0: float, t: int = 0, seed: int = 0) -> np.ndarray:
    """``(v, 2)`` pixel coordinates of one person near ``x0`` at frame ``t`` (drifts 3 px a frame)."""
    rng = np.random.default_rng(seed)
    return (rng.uniform(0, 150, (v, 2)) + [x0 + 3.0 * t, 300.0]).round(2)


def two_people(frames: int, v: int) -> list[list[tuple[np.ndarray, np.ndarray]]]:
    """Per frame, two people far apart: ``[(xy (v, 2), score (v,)), ...]``."""
    return [[(body(v, 300, t, 1), np.full(v, 0.8)), (body(v, 1200, t, 2), np.full(v, 0.7))] for t in range(frames)]


def openpose_folder(root: Path, frames, name: str = "vid", start: int = 0) -> Path:
    """One ``NAME_<frame>_keypoints.json`` per frame, as OpenPose ``--write_json`` writes them."""
    root.mkdir(parents=True, exist_ok=True)
    for t, people in enumerate(frames):
        flat = [np.column_stack([xy, s]).reshape(-1).tolist() for xy, s in people]
        payload = {"version": 1.3, "people": [{"person_id": [-1], "pose_keypoints_2d": f} for f in flat]}
        (root / f"{name}_{start + t:012d}_keypoints.json").write_text(json.dumps(payload))
    return root


def coco_results(path: Path, frames, ids=None) -> Path:
    """An AlphaPose / mmpose results list: one entry per detection, ``keypoints`` ``[x, y, score] * 17``."""
    out = []
    for t, people in enumerate(frames):
        for xy, s in people:
            out.append({"image_id": t if ids is None else ids[t], "category_id": 1, "keypoints": np.column_stack([xy, s]).reshape(-1).tolist(), "score": 0.9})
    path.write_text(json.dumps(out))
    return path


def read(path, **kwargs) -> tuple[dict, list[str]]:
    notes: list = []
    [rec] = read_pose_records(path, notes=notes, **kwargs)
    return rec, [n for _, n in notes]


def notes_about(notes: list[str], *needles: str) -> list[str]:
    return [n for n in notes if all(x in n for x in needles)]


# ------------------------------------------------------------------------------------------------
# 1. one absurd coordinate is a bad person, left out and named like a NaN one
# ------------------------------------------------------------------------------------------------


def test_an_absurd_coordinate_and_a_nan_are_left_out_alike_and_named(tmp_path):
    recs = {}
    for kind, value in (("absurd", 52000.0), ("nan", float("nan"))):
        frames = two_people(10, 25)
        frames[3][0][0][4, 0] = value  # frame 3, person 0, joint 4 (RWrist)
        rec, notes = read(openpose_folder(tmp_path / kind, frames))
        assert rec["total_frames"] == 10 and rec["keypoint"].shape[:2] == (2, 10)
        assert rec["keypoint_score"][:, 3].any(-1).sum() == 1  # frame 3 keeps its other person
        assert rec["keypoint_score"][:, [2, 4]].any(-1).all()  # the frames around it keep both
        [note] = notes_about(notes, "vid_000000000003_keypoints.json, person 0", "left out")
        assert ("far outside" in note and "52000" in note) if kind == "absurd" else "NaN" in note
        recs[kind] = rec
    np.testing.assert_array_equal(recs["absurd"]["keypoint"], recs["nan"]["keypoint"])


def test_the_absurd_rule_names_frame_person_and_image_in_one_place():
    kp = np.full((2, 3, 17, 2), 100.0)
    kp[1, 2, 5, 0] = 52000
    kp[0, 1, 3, 1] = np.nan
    bad = person_frame_problems(kp, img_shape=(1080, 1920))
    assert set(bad) == {(1, 2), (0, 1)}
    assert "x" in bad[(1, 2)] and "52000" in bad[(1, 2)] and "1920x1080" in bad[(1, 2)]
    assert "NaN" in bad[(0, 1)]
    assert person_frame_problems(kp[:, :1]) == {}  # 3D / no image: only NaN and the unit limit


@pytest.mark.parametrize(
    ("axis", "value", "kept"),
    [
        (0, 1285.0, True),  # just outside the frame: a detector may place a joint there
        (0, 2560.0, True),  # the edge of the rule: one frame width to the right
        (0, 2560.5, False),
        (0, -1280.0, True),
        (0, -1280.5, False),
        (1, 1440.0, True),
        (1, 1440.5, False),
    ],
)
def test_coco_results_threshold_relative_to_the_given_image_size(tmp_path, axis, value, kept):
    frames = [[(body(17, 300, t), np.full(17, 0.9))] for t in range(5)]
    frames[2][0][0][0, axis] = value
    path = coco_results(tmp_path / "results.json", frames)
    rec, notes = read(path, img_shape=(720, 1280))
    assert rec["total_frames"] == 5 and rec["img_shape"] == (720, 1280)
    if kept:
        assert rec["keypoint"][0, 2, 0, axis] == value and not notes_about(notes, "left out")
    else:
        assert not rec["keypoint_score"][:, 2].any()
        [note] = notes_about(notes, "results.json", "image_id 2, person 0", "far outside", "left out")
        assert "1280x720" in note


@pytest.mark.parametrize(("value", "kept"), [(3840.0, True), (3841.0, False), (-1920.0, True), (-1921.0, False)])
def test_threshold_with_the_fallback_image_size_when_none_is_known(tmp_path, value, kept):
    frames = two_people(6, 18)
    frames[4][1][0][7, 0] = value
    rec, notes = read(openpose_folder(tmp_path / "c18", frames))
    assert rec["img_shape"] == (H, W) and notes_about(notes, "image size unknown")
    assert bool(rec["keypoint_score"][:, 4].any(-1).sum() == 2) == kept
    assert bool(notes_about(notes, "vid_000000000004_keypoints.json, person 1", "far outside")) == (not kept)


def test_threshold_with_the_image_size_of_a_coco_file(tmp_path):
    images = [{"id": i, "file_name": f"{i:04d}.jpg", "height": 480, "width": 640} for i in range(4)]
    anns = []
    for i in range(4):
        xy = body(17, 100, i)
        xy[0, 0] = {1: 1280.0, 2: 1281.0}.get(i, xy[0, 0])  # the edge: 2 x 640
        anns.append({"image_id": i, "category_id": 1, "keypoints": np.column_stack([xy, np.full(17, 2)]).reshape(-1).tolist()})
    path = tmp_path / "posetrack.json"
    path.write_text(json.dumps({"images": images, "annotations": anns, "categories": [{"id": 1, "name": "person"}]}))
    rec, notes = read(path)
    assert rec["img_shape"] == (480, 640) and rec["total_frames"] == 4
    assert rec["keypoint_score"][0].any(-1).tolist() == [True, True, False, True]
    assert notes_about(notes, "posetrack.json", "0002.jpg, person 0", "far outside", "640x480")


@pytest.mark.parametrize(("value", "kept"), [(1.3, True), (2.0, True), (2.01, False), (-1.0, True), (-1.01, False), (40.0, False)])
def test_mediapipe_normalised_threshold_and_one_absurd_landmark_keeps_the_video_normalised(tmp_path, value, kept):
    rng = np.random.default_rng(3)
    lm = np.column_stack([rng.uniform(0.3, 0.6, 33), rng.uniform(0.2, 0.9, 33), np.zeros(33), np.full(33, 0.9)])
    frames = [{"landmark": [dict(zip(("x", "y", "z", "visibility"), map(float, row + [0.001 * t, 0, 0, 0]))) for row in lm]} for t in range(6)]
    frames[2]["landmark"][15]["x"] = value
    path = tmp_path / "mp.json"
    path.write_text(json.dumps(frames))
    rec, notes = read(path)
    assert rec["img_shape"] == (1, 1) and rec["total_frames"] == 6
    assert bool(rec["keypoint_score"][0, 2].any()) == kept
    assert bool(notes_about(notes, "mp.json", "frame 2, person 0", "far outside", "left out")) == (not kept)


def test_a_keypoint_array_keeps_its_good_frames_and_names_the_bad_ones(tmp_path):
    arr = np.stack([body(18, 500, t) for t in range(10)]).astype(np.float32)  # (T, 18, 2) pixels
    arr[4, 3, 0] = 52000
    arr[6, 2, 1] = np.nan
    np.save(tmp_path / "poses.npy", arr)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        [rec] = read_input(tmp_path / "poses.npy")
    notes = [str(w.message) for w in caught if issubclass(w.category, PoseNote)]
    assert rec["total_frames"] == 10 and rec["keypoint_score"][0].any(-1).tolist() == [True] * 4 + [False, True, False] + [True] * 3
    assert notes_about(notes, "poses.npy", "frame 4, person 0", "far outside", "left out")
    assert notes_about(notes, "poses.npy", "frame 6, person 0", "NaN", "left out")
    rec2 = read_input(tmp_path / "poses.npy", img_shape=(720, 1280))[0]  # the given size is used
    assert rec2["img_shape"] == (720, 1280)


def test_a_keypoint_array_with_nothing_usable_is_an_error_naming_the_file(tmp_path):
    arr = np.full((3, 18, 2), np.nan, np.float32)
    np.save(tmp_path / "nan.npy", arr)
    with pytest.raises(InputError, match=r"nan\.npy: .*frame 0, person 0: NaN"):
        read_input(tmp_path / "nan.npy")


def kinetics_file(path: Path, frames: int = 6) -> dict:
    rng = np.random.default_rng(5)
    data = []
    for t in range(frames):
        people = [{"pose": (rng.uniform(0.2, 0.8, 36)).round(3).tolist(), "score": [0.7] * 18} for _ in range(2)]
        data.append({"frame_index": t + 1, "skeleton": people})
    obj = {"data": data, "label": "x", "label_index": 3}
    path.write_text(json.dumps(obj))
    return obj


def test_kinetics_json_leaves_out_an_absurd_or_nan_person_and_names_it(tmp_path):
    path = tmp_path / "kin.json"
    obj = kinetics_file(path)
    obj["data"][2]["skeleton"][0]["pose"][4] = 52.0  # x of joint 2: 52 frame widths away
    obj["data"][4]["skeleton"][1]["pose"][7] = float("nan")
    path.write_text(json.dumps(obj))
    notes: list[str] = []
    rec = read_kinetics_json(path, notes=notes)
    assert rec["total_frames"] == 6 and rec["keypoint_score"][:, 2].any(-1).sum() == 1 and rec["keypoint_score"][:, 4].any(-1).sum() == 1
    assert notes_about(notes, "kin.json", "frame_index 3", "person 0", "far outside", "left out")
    assert notes_about(notes, "kin.json", "frame_index 5", "person 1", "NaN", "left out")


@pytest.mark.parametrize(("value", "kept"), [(2.0, True), (2.01, False)])
def test_kinetics_threshold(tmp_path, value, kept):
    path = tmp_path / "kin.json"
    obj = kinetics_file(path)
    obj["data"][1]["skeleton"][0]["pose"][0] = value
    path.write_text(json.dumps(obj))
    notes: list[str] = []
    rec = read_kinetics_json(path, notes=notes)
    assert (rec["keypoint"] == value).any() == kept and bool(notes) == (not kept)


def test_dense_sample_with_an_absurd_or_nan_frame_names_frame_and_person(tmp_path):
    x = np.zeros((3, 3, 12, 18, 2), np.float32)  # Kinetics-style 2D: x - 0.5, 0.5 - y, score
    x[:, :2, :, :, 0] = 0.1
    x[:, 2, :, :, 0] = 0.8
    x[1, 0, 5, 3, 0] = 52.0  # sample 1, frame 5, person 0
    x[2, 1, 7, 2, 0] = np.nan  # sample 2, frame 7, person 0
    np.save(tmp_path / "val_data_joint.npy", x)
    with open(tmp_path / "val_label.pkl", "wb") as f:
        pickle.dump((["a", "b", "c"], [0, 1, 2]), f)
    report = convert_dense(tmp_path / "val_data_joint.npy", tmp_path / "val_label.pkl", tmp_path / "d.pkl")
    failed = dict(report.failed)
    assert report.converted == 1
    assert "frame 5, person 0" in failed["b"] and "far outside" in failed["b"]
    assert "frame 7, person 0" in failed["c"] and "NaN" in failed["c"]


# ------------------------------------------------------------------------------------------------
# 2. OpenPose folders: normalised coordinates, two models in one folder, an empty folder
# ------------------------------------------------------------------------------------------------


def test_openpose_coordinates_normalised_to_0_1_are_read_as_fractions_with_a_note(tmp_path):
    frames = two_people(8, 25)
    pixels, pix_notes = read(openpose_folder(tmp_path / "px", frames), img_shape=(H, W))
    scaled = [[(xy / [W, H], s) for xy, s in people] for people in frames]
    rec, notes = read(openpose_folder(tmp_path / "n01", scaled))
    assert rec["img_shape"] == (1, 1) and not notes_about(notes, "image size unknown")
    assert notes_about(notes, "[0, 1]")
    np.testing.assert_allclose(rec["keypoint"], pixels["keypoint"] / [W, H], atol=1e-6)  # float32 storage of values <= ~1: 1.2e-7


def test_openpose_coordinates_normalised_to_minus_1_1_are_moved_to_0_1_with_a_note(tmp_path):
    frames = two_people(8, 25)
    for people in frames:  # an undetected joint: 0, 0 with score 0
        people[0][1][10] = 0.0
        people[0][0][10] = 0.0
    pixels, _ = read(openpose_folder(tmp_path / "px", frames), img_shape=(H, W))
    scaled = [[(np.where(s[:, None] > 0, xy / [W, H] * 2 - 1, 0.0), s) for xy, s in people] for people in frames]
    rec, notes = read(openpose_folder(tmp_path / "n11", scaled))
    assert rec["img_shape"] == (1, 1) and notes_about(notes, "[-1, 1]")
    np.testing.assert_allclose(rec["keypoint"], pixels["keypoint"] / [W, H], atol=1e-6)  # float32 storage of values <= ~1: 1.2e-7


def mixed_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "mixed"
    openpose_folder(folder, two_people(6, 25), name="run_body25")
    openpose_folder(folder, two_people(4, 18), name="run_coco")
    return folder


def test_a_folder_that_mixes_body25_and_coco18_is_refused_once_naming_both(tmp_path):
    folder = mixed_folder(tmp_path)
    with pytest.raises(PoseFormatError) as info:
        read_poses(folder)
    msg = str(info.value)
    assert str(folder) in msg and "mixes" in msg and "BODY_25" in msg and "COCO-18" in msg
    assert "6 file(s)" in msg and "4 file(s)" in msg and "run_body25_000000000000_keypoints.json" in msg and "run_coco_000000000003_keypoints.json" in msg
    assert "--format openpose-body25" in msg and "--format openpose-coco18" in msg


def test_a_mixed_folder_is_read_with_the_model_named(tmp_path):
    folder = mixed_folder(tmp_path)
    rec, notes = read(folder, fmt="openpose-body25")
    assert rec["total_frames"] == 6 and rec["layout"] == "openpose"
    assert len(notes_about(notes, "4", "COCO-18", "left out")) == 1 and len(notes) <= 4
    rec, notes = read(folder, fmt="openpose-coco18")
    assert rec["total_frames"] == 4 and len(notes_about(notes, "6", "BODY_25", "left out")) == 1


def test_predict_cli_exits_2_on_a_mixed_folder(tmp_path, capsys):
    torch.manual_seed(0)
    cfg = AAGCNConfig(layout="openpose", num_classes=3, base_channels=8, num_stages=3, inflate_stages=[2], down_stages=[2])
    ckpt = save_checkpoint(AAGCN(cfg), tmp_path / "op.pt", meta={"feat": "j"})
    code = cli.main(["predict", "-c", str(ckpt), "-i", str(mixed_folder(tmp_path)), "--clips", "1"])
    err = capsys.readouterr().err
    assert code == 2 and "mixes" in err and "Traceback" not in err and err.count("note:") == 0
    code = cli.main(["predict", "-c", str(ckpt), "-i", str(tmp_path / "mixed"), "--clips", "1", "--format", "openpose-coco18"])
    out, err = capsys.readouterr()
    assert code == 0 and "mixed" in out and err.count("note:") <= 4


def test_an_empty_folder_is_called_empty(tmp_path):
    (tmp_path / "empty").mkdir()
    for call in (lambda: detect_format(tmp_path / "empty"), lambda: read_input(tmp_path / "empty"), lambda: read_poses(tmp_path / "empty", "openpose")):
        with pytest.raises(PoseFormatError, match=r"empty.*is empty|is empty"):
            call()
    nobody = tmp_path / "nobody"
    nobody.mkdir()
    for i in range(3):
        (nobody / f"{i}.json").write_text("[]")
    with pytest.raises(PoseFormatError, match=r"nobody was detected"):
        read_input(nobody)


# ------------------------------------------------------------------------------------------------
# 3. COCO results: gaps in image_id, the list written twice, an empty list
# ------------------------------------------------------------------------------------------------


def test_coco_results_keep_the_frame_positions_of_missing_image_ids(tmp_path):
    frames = [[(body(17, 300, t), np.full(17, 0.9))] for t in range(5)]
    rec, notes = read(coco_results(tmp_path / "gaps.json", frames, ids=[0, 1, 2, 5, 6]), img_shape=(H, W))
    assert rec["total_frames"] == 7
    assert rec["keypoint_score"][0].any(-1).tolist() == [True, True, True, False, False, True, True]
    [note] = notes_about(notes, "missing")
    assert "image_id 3, 4" in note or "image_id 3..4" in note
    rec, notes = read(coco_results(tmp_path / "names.json", frames, ids=[f"frame_{i:05d}.jpg" for i in (10, 11, 13, 14, 15)]), img_shape=(H, W))
    assert rec["total_frames"] == 6 and rec["keypoint_score"][0].any(-1).tolist() == [True, True, False, True, True, True]


def test_coco_results_with_ids_that_are_not_frame_numbers_are_read_in_order_and_said_so(tmp_path):
    frames = [[(body(17, 300, t), np.full(17, 0.9))] for t in range(4)]
    rec, notes = read(coco_results(tmp_path / "sparse.json", frames, ids=[397133, 37777, 252219, 87038]), img_shape=(H, W))
    assert rec["total_frames"] == 4 and notes_about(notes, "image_id", "consecutive")


def test_coco_results_written_twice_give_the_same_record_and_one_note(tmp_path):
    frames = [[(body(17, 300, t, 1), np.full(17, 0.9)), (body(17, 1200, t, 2), np.full(17, 0.8))] for t in range(6)]
    once = coco_results(tmp_path / "once.json", frames)
    twice = tmp_path / "twice.json"
    twice.write_text(json.dumps(json.loads(once.read_text()) * 2))
    rec1, notes1 = read(once, img_shape=(H, W))
    rec2, notes2 = read(twice, img_shape=(H, W))
    np.testing.assert_array_equal(rec1["keypoint"], rec2["keypoint"])
    new = [n for n in notes2 if n not in notes1]
    assert len(new) == 1 and "12 exact duplicate detection(s)" in new[0] and "dropped" in new[0]


def test_an_empty_results_list_says_nobody_was_detected(tmp_path):
    path = tmp_path / "results.json"
    path.write_text("[]")
    for call in (lambda: detect_format(path), lambda: read_input(path), lambda: read_poses(path, "coco")):
        with pytest.raises(PoseFormatError, match=rf"nobody was detected in {path}"):
            call()


# ------------------------------------------------------------------------------------------------
# 4. object arrays of different lengths in an .npz
# ------------------------------------------------------------------------------------------------


def test_an_npz_with_people_of_different_lengths_names_file_key_and_lengths(tmp_path):
    people = np.empty(2, dtype=object)
    people[0], people[1] = np.ones((30, 17, 2), np.float32), np.ones((20, 17, 2), np.float32)
    path = tmp_path / "lifted.npz"
    np.savez(path, reconstruction=people)
    for call in (lambda: read_poses(path), lambda: read_input(path)):
        with pytest.raises(PoseFormatError) as info:
            call()
        msg = str(info.value)
        assert str(path) in msg and "'reconstruction'" in msg and "30" in msg and "20" in msg and "sequence" not in msg


def test_positions_2d_that_is_not_a_dict_of_videos_is_a_clear_error(tmp_path):
    people = np.empty(2, dtype=object)
    people[0], people[1] = np.ones((30, 17, 2), np.float32), np.ones((20, 17, 2), np.float32)
    path = tmp_path / "custom.npz"
    np.savez(path, positions_2d=people)
    with pytest.raises(PoseFormatError, match=rf"{path}: 'positions_2d'"):
        read_poses(path)


# ------------------------------------------------------------------------------------------------
# 5. tracking: one identity given to two people in many frames is one note
# ------------------------------------------------------------------------------------------------


def test_a_repeated_track_id_in_many_frames_is_one_note():
    coords = [np.stack([body(17, 300, t), body(17, 900, t)]) for t in range(30)]
    scores = [np.ones((2, 17)) for _ in range(30)]
    res = select_tracks(coords, scores, [np.array([0, 0])] * 30)
    assert len(res.notes) == 1 and "30 frame(s)" in res.notes[0] and "kept the first" in res.notes[0]


def test_kinetics_json_with_a_person_written_twice_keeps_one_and_says_so(tmp_path):
    path = tmp_path / "kin.json"
    obj = kinetics_file(path)
    once = read_kinetics_json(path, notes=[])
    for frame in obj["data"]:
        frame["skeleton"].insert(1, dict(frame["skeleton"][0]))
    path.write_text(json.dumps(obj))
    notes: list[str] = []
    rec = read_kinetics_json(path, notes=notes)
    np.testing.assert_array_equal(rec["keypoint"], once["keypoint"])
    [note] = notes
    assert "6 exact duplicate" in note and "kin.json" in note


# ------------------------------------------------------------------------------------------------
# 6. units: fractions among pixels, normalised arrays, an all-zero score channel, 3D outliers
# ------------------------------------------------------------------------------------------------


def test_a_person_in_fractions_inside_a_pixel_video_is_left_out(tmp_path):
    frames = two_people(6, 18)
    xy, s = frames[2][1]
    frames[2][1] = (xy / [W, H], s)  # one detection written as fractions of the frame
    rec, notes = read(openpose_folder(tmp_path / "mixed_units", frames), img_shape=(H, W))
    assert rec["keypoint_score"][:, 2].any(-1).sum() == 1
    assert notes_about(notes, "vid_000000000002_keypoints.json, person 1", "within [-1, 1]", "left out")


def test_a_normalised_xy_score_array_is_read_as_fractions_and_an_all_zero_score_is_refused(tmp_path):
    arr = np.stack([np.column_stack([body(18, 500, t) / [W, H], np.full(18, 0.9)]) for t in range(8)]).astype(np.float32)
    np.save(tmp_path / "norm.npy", arr)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        [rec] = read_input(tmp_path / "norm.npy", with_score=True)
    assert rec["img_shape"] == (1, 1) and any("normalised to [0, 1]" in str(w.message) for w in caught)
    np.save(tmp_path / "ints.npy", (arr * [W, H, 1]).astype(np.int64))  # scores 0.9 -> 0
    with pytest.raises(InputError, match=r"ints\.npy: every score .* is 0"):
        read_input(tmp_path / "ints.npy", with_score=True)


def test_a_3d_joint_far_from_its_body_is_left_out_and_named(tmp_path):
    rng = np.random.default_rng(2)
    rec3d = (rng.normal(0, 0.3, (20, 17, 3)) + np.linspace(0, 0.2, 20)[:, None, None]).astype(np.float32)
    rec3d[7, 4, 0] = 52000.0  # metres: within the unit limit, 10^5 body sizes away
    np.savez(tmp_path / "lifted.npz", reconstruction=rec3d)
    rec, notes = read(tmp_path / "lifted.npz")
    assert rec["total_frames"] == 20 and not rec["keypoint"][:, 7].any()
    assert notes_about(notes, "lifted.npz", "frame 7, person 0", "typical body size", "left out")
    x = np.zeros((2, 3, 12, 25, 2), np.float32)  # a dense NTU-style sample: refused, naming frame and person
    x[:, :, :, :, 0] = rng.normal(0, 0.3, (2, 3, 12, 25))
    x[1, 2, 5, 3, 0] = 52000.0
    np.save(tmp_path / "xsub_val_data_joint.npy", x)
    with open(tmp_path / "val_label.pkl", "wb") as f:
        pickle.dump((["a", "b"], [0, 1]), f)
    report = convert_dense(tmp_path / "xsub_val_data_joint.npy", tmp_path / "val_label.pkl", tmp_path / "d.pkl", dataset="ntu60")
    assert report.converted == 1 and "frame 5, person 0" in dict(report.failed)["b"] and "typical body size" in dict(report.failed)["b"]


def test_coco_results_entries_without_image_id_are_left_out_not_read_as_one_frame(tmp_path):
    frames = [[(body(17, 300, t, 1), np.full(17, 0.9)), (body(17, 1200, t, 2), np.full(17, 0.8))] for t in range(6)]
    path = coco_results(tmp_path / "results.json", frames)
    entries = json.loads(path.read_text())
    del entries[5]["image_id"]
    path.write_text(json.dumps(entries))
    rec, notes = read(path, img_shape=(H, W))
    assert rec["total_frames"] == 6 and rec["keypoint_score"][:, 2].any(-1).sum() == 1
    assert notes_about(notes, "results.json", "entry 5", "no image_id", "left out")


def test_garbled_structure_is_a_named_frame_not_a_crash(tmp_path):
    rng = np.random.default_rng(3)
    lm = [dict(zip(("x", "y", "z", "visibility"), map(float, row))) for row in rng.uniform(0.2, 0.8, (33, 4))]
    path = tmp_path / "mp.json"
    path.write_text(json.dumps([{"landmark": lm}, {"landmark": 0.5}, {"landmark": lm}]))
    rec, notes = read(path)
    assert rec["total_frames"] == 3 and notes_about(notes, "frame 1", "not a MediaPipe frame", "left out")
    frames = two_people(4, 25)
    folder = openpose_folder(tmp_path / "ids", frames)
    obj = json.loads((folder / "vid_000000000001_keypoints.json").read_text())
    obj["people"][0]["person_id"] = {"a": 1}  # an identity that is no number or name: not used
    (folder / "vid_000000000001_keypoints.json").write_text(json.dumps(obj))
    rec, _ = read(folder)
    assert rec["total_frames"] == 4 and rec["keypoint_score"].any(-1).all()
