"""Readers and converters: real NTU / Kinetics / label files (when ../shared is present) and synthetic ones."""

from __future__ import annotations

import json
import pickle
import pickletools
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from aagcn_lab import cli
from aagcn_lab.data.annotations import AnnotationError, load_annotations, validate_record
from aagcn_lab.data.classes import missing_samples
from aagcn_lab.data.dense import DenseSkeletons, convert_dense, default_split_name, read_label_pickle
from aagcn_lab.data.kinetics import convert_kinetics_folder, read_kinetics_json, read_kinetics_labels
from aagcn_lab.data.ntu import (
    NTU60_XSUB_TRAIN_SUBJECTS,
    NTU120_XSUB_TRAIN_SUBJECTS,
    SkeletonFileError,
    convert_ntu_folder,
    ntu_is_train,
    ntu_splits,
    parse_ntu_name,
    parse_ntu_skeleton,
    read_ntu_skeleton,
    select_bodies,
)

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
REAL = SHARED / "data" / "real_samples"
NTU_DIR = REAL / "ntu60_skeleton_shiftgat"
TRUNCATED = REAL / "ntu60_skeleton_truncated" / "S005C002P013R002A056.skeleton"
KINETICS_DIR = REAL / "kinetics_skeleton_stgcn_json"
KINETICS_LABELS = KINETICS_DIR / "kinetics_val_label_subset.json"
NTU_LABEL_PKL = REAL / "ntu60_2sagcn_label_pkl" / "val_label.pkl"
KPFILE_PKL = REAL / "mmaction2_k400_pose_ann_pkl" / "sample.pkl"
UCLA_DIR = REAL / "nw_ucla_ctrgcn_json"

NTU_FILES = [
    "S001C002P003R002A013",
    "S002C002P009R001A056",
    "S005C003P017R001A040",
    "S007C003P017R001A030",
    "S010C003P007R002A021",
    "S010C003P025R002A032",
    "S013C001P007R001A031",
    "S015C003P007R001A023",
]
NTU_FRAMES = dict(zip(NTU_FILES, [147, 72, 51, 110, 87, 72, 53, 69]))
# the seven videos of SOURCES.md section 4 and their Kinetics-400 labels
KINETICS_FILES = {
    "__NrybzYzUg": 0, "__PYrzYbzKE": 173, "__U_scuxNlQ": 58, "__lt03EF4ao": 208, "__u6odV5hrI": 207, "__vOysOPoCY": 207,
    "__vzEs2wzdQ": 335,
}  # fmt: skip


def real(path: Path) -> Path:
    """A file or folder under ../shared, or skip when that material is absent."""
    if not path.exists():
        pytest.skip(f"real samples not available: {path}")
    return path


# ---------------------------------------------------------------------------------------------
# synthetic .skeleton files

_rng = np.random.default_rng(0)
# a standing person: 0.4 m wide (x), 1.6 m tall (y), 3 m from the camera
PERSON = np.stack([_rng.uniform(-0.2, 0.2, 25), _rng.uniform(-0.8, 0.8, 25), 3 + _rng.uniform(-0.1, 0.1, 25)], axis=1)
PERSON[0, 0], PERSON[1, 0], PERSON[2, 1], PERSON[3, 1] = -0.2, 0.2, -0.8, 0.8
LYING = PERSON[:, [1, 0, 2]]  # 1.6 m wide, 0.4 m tall: looks like spread noise


def moving(n: int, amp: float, x0: float = 0.0, shape: np.ndarray = PERSON) -> list[np.ndarray]:
    """``n`` frames of a body swaying along x with amplitude ``amp`` (more amp = more motion)."""
    return [shape + np.array([x0 + amp * np.sin(0.4 * f), 0.0, 0.0]) for f in range(n)]


def skeleton_text(frames: list[list[tuple[int, np.ndarray]]], header: int | None = None) -> str:
    """NTU .skeleton text for ``frames`` = per frame a list of (bodyID, (25, 3) joints)."""
    lines = [str(len(frames) if header is None else header)]
    for bodies in frames:
        lines.append(str(len(bodies)))
        for body_id, joints in bodies:
            lines += [f"{body_id} 0 1 1 1 1 0 -0.2 -0.1 2", "25"]
            lines += [f"{x:.6f} {y:.6f} {z:.6f} 200.1 210.2 700.3 500.4 0.1 0.2 0.3 0.4 2" for x, y, z in joints]
    return "\n".join(lines) + "\n"


def tracks_to_frames(num_frames: int, tracks: dict[int, tuple[int, list[np.ndarray]]]) -> list[list]:
    """{bodyID: (first frame, joints per frame)} -> per-frame body lists."""
    frames: list[list] = [[] for _ in range(num_frames)]
    for body_id, (start, joints) in tracks.items():
        for k, xyz in enumerate(joints):
            frames[start + k].append((body_id, xyz))
    return frames


def write_skeleton(path: Path, frames: list[list], header: int | None = None) -> Path:
    path.write_text(skeleton_text(frames, header))
    return path


# ---------------------------------------------------------------------------------------------
# real NTU files


@pytest.mark.parametrize("name", NTU_FILES)
def test_real_ntu_file_reads(name: str) -> None:
    path = real(NTU_DIR / f"{name}.skeleton")
    notes: list[str] = []
    rec = read_ntu_skeleton(path, notes=notes)
    assert rec["frame_dir"] == name
    assert rec["label"] == int(name[-3:]) - 1
    kp = rec["keypoint"]
    assert kp.dtype == np.float16 and kp.ndim == 4 and kp.shape[2:] == (25, 3)
    assert rec["total_frames"] == kp.shape[1] == NTU_FRAMES[name]  # no empty frames in these files
    assert validate_record(rec, num_joints=25, num_classes=60) == []
    assert np.isfinite(kp).all() and np.abs(kp).max() < 10  # metres
    assert notes == []  # nothing dropped
    expected_bodies = 2 if name.endswith("A056") else 1
    assert kp.shape[0] == expected_bodies


def test_real_two_person_sample_keeps_both_actors() -> None:
    path = real(NTU_DIR / "S002C002P009R001A056.skeleton")
    skel = parse_ntu_skeleton(path)
    assert skel.num_frames == 72 and len(skel.tracks) == 2
    assert all(len(t) == 72 for t in skel.tracks.values())
    sel = select_bodies(skel)
    assert sel.keypoint.shape == (2, 72, 25, 3) and sel.dropped == []
    # slot 0 holds the body with more motion
    motions = {bid: t.motion for bid, t in skel.tracks.items()}
    assert sel.slots[0] == [max(motions, key=motions.get)]
    # the record's coordinates are the file's, rounded to float16
    rec = read_ntu_skeleton(path)
    bid = sel.slots[1][0]
    # float16 storage: half the spacing of float16 below 8 m is 2^-9 = 1.95e-3 <= 2e-3
    np.testing.assert_allclose(rec["keypoint"][1].astype(np.float32), skel.tracks[bid].joints, atol=2e-3)
    # first joint of the first body of frame 1, as written in the file
    first = path.read_text().splitlines()[4].split()
    first_body = next(iter(skel.tracks.values()))
    np.testing.assert_allclose(first_body.joints[0, 0], [float(v) for v in first[:3]], rtol=1e-6)  # f32: u = 6e-8 < 1e-6


def test_real_truncated_file_names_file_and_line() -> None:
    path = real(TRUNCATED)
    with pytest.raises(SkeletonFileError) as info:
        read_ntu_skeleton(path)
    msg = str(info.value)
    assert "S005C002P013R002A056.skeleton" in msg
    assert "line 2086" in msg and info.value.line == 2086
    assert "frame 44" in msg and "joint 14" in msg and "expected 12 numbers" in msg and "got 11" in msg
    assert "59 frames" in msg and "truncated" in msg


def test_real_ntu_folder_converts_good_files_and_reports_truncated(tmp_path: Path) -> None:
    src = tmp_path / "raw"
    src.mkdir()
    for name in NTU_FILES:
        (src / f"{name}.skeleton").symlink_to(real(NTU_DIR / f"{name}.skeleton"))
    (src / TRUNCATED.name).symlink_to(real(TRUNCATED))
    out = tmp_path / "ntu60.pkl"
    report = convert_ntu_folder(src, out, dataset="ntu60")
    assert report.converted == 8 and report.total == 9 and report.ok
    assert [name for name, _ in report.failed] == ["S005C002P013R002A056"]
    assert "line 2086" in report.failed[0][1]
    assert "S005C002P013R002A056" in str(report) and "line 2086" in str(report)
    ann = load_annotations(out)
    assert [r["frame_dir"] for r in ann.annotations] == sorted(NTU_FILES)
    assert ann.layout == "nturgb+d" and len(ann.label_names) == 60
    assert set(ann.split) == {"xsub_train", "xsub_val", "xview_train", "xview_val"}
    for name in NTU_FILES:
        sid = parse_ntu_name(name)
        assert (name in ann.split["xsub_train"]) == (sid.subject in NTU60_XSUB_TRAIN_SUBJECTS)
        assert (name in ann.split["xview_val"]) == (sid.camera == 1)
    assert report.split_counts == {k: len(v) for k, v in ann.split.items()}


def test_real_val_label_pickle_loads_safely_and_matches_files() -> None:
    names, labels = read_label_pickle(real(NTU_LABEL_PKL))
    assert len(names) == len(labels) == 16487
    assert min(labels) == 0 and max(labels) == 59
    assert all(n.endswith(".skeleton") for n in names[:100])
    lookup = dict(zip(names, labels))
    in_val = [n for n in NTU_FILES if not ntu_is_train(n, "xsub")]
    assert len(in_val) == 4
    for name in in_val:
        assert lookup[f"{name}.skeleton"] == parse_ntu_name(name).label
    # every name in the xsub val list is a val subject
    assert not any(ntu_is_train(n, "xsub") for n in names)


def test_real_kpfile_annotation_is_rejected_clearly() -> None:
    path = real(KPFILE_PKL)
    with pytest.raises(AnnotationError) as info:
        load_annotations(path)
    msg = str(info.value)
    assert "sample.pkl" in msg and "keypoint" in msg and "100 of 100" in msg
    assert len(info.value.problems) == 100 and info.value.problems[0][0] == "jf7RDuUTrsQ"
    with pytest.warns(UserWarning), pytest.raises(AnnotationError, match="no valid records"):
        load_annotations(path, on_error="skip")


@pytest.mark.parametrize("video, label", sorted(KINETICS_FILES.items()))
def test_real_kinetics_json_reads(video: str, label: int) -> None:
    path = real(KINETICS_DIR / f"{video}.json")
    rec = read_kinetics_json(path)
    raw = json.loads(path.read_text())
    assert rec["frame_dir"] == video and rec["label"] == label == raw["label_index"]
    kp, score = rec["keypoint"], rec["keypoint_score"]
    assert kp.dtype == np.float32 and score.dtype == np.float32
    assert kp.shape[2:] == (18, 2) and score.shape == kp.shape[:3] and 1 <= kp.shape[0] <= 2
    assert rec["total_frames"] == kp.shape[1] == max(f["frame_index"] for f in raw["data"])  # 1-based indices
    assert rec["img_shape"] == (1, 1)
    assert validate_record(rec, num_joints=18, num_classes=400) == []
    assert kp.min() >= 0 and kp.max() < 1.1  # fractions of the frame (OpenPose may overshoot a little)
    # slot 0 of each frame holds that frame's best-scored person
    for frame in raw["data"][:40]:
        people = frame["skeleton"][:5]
        if people:
            best = max(people, key=lambda p: sum(p["score"]))
            t = frame["frame_index"] - 1
            # the JSON's numbers read into f32: one rounding, u = 6e-8 < 1e-6 (both)
            np.testing.assert_allclose(score[0, t], best["score"], rtol=1e-6)
            np.testing.assert_allclose(kp[0, t].ravel(), best["pose"], rtol=1e-6)


def test_real_kinetics_folder_with_label_file(tmp_path: Path) -> None:
    labels = read_kinetics_labels(real(KINETICS_LABELS))
    assert len(labels) == 7 and labels["__vzEs2wzdQ"].label_index == 335 and labels["__vzEs2wzdQ"].has_skeleton
    out = tmp_path / "k400.pkl"
    report = convert_kinetics_folder(KINETICS_DIR, out, label_file=KINETICS_LABELS, split_name="val")
    assert report.converted == len(KINETICS_FILES) and not report.failed and not report.skipped
    assert not any("have no JSON" in note for _, note in report.notes)  # every listed video has its JSON
    ann = load_annotations(out, layout="openpose")
    assert ann.split == {"val": sorted(KINETICS_FILES)}
    assert {r["frame_dir"]: r["label"] for r in ann.annotations} == KINETICS_FILES
    assert len(ann.label_names) == 400 and ann.label_names[207] == "parkour"


def test_real_ucla_json_is_rejected_clearly() -> None:
    path = real(UCLA_DIR / "a01_s01_e00_v01.json")
    with pytest.raises(ValueError, match=r"a01_s01_e00_v01\.json.*not a Kinetics-skeleton file"):
        read_kinetics_json(path)


# ---------------------------------------------------------------------------------------------
# NTU names and splits


def test_ntu_name_parsing_and_split_lists() -> None:
    sid = parse_ntu_name("/data/S017C003P040R002A060.skeleton")
    assert (sid.setup, sid.camera, sid.subject, sid.replication, sid.action, sid.label) == (17, 3, 40, 2, 60, 59)
    assert sid.name == "S017C003P040R002A060"
    assert len(NTU60_XSUB_TRAIN_SUBJECTS) == 20 and len(NTU120_XSUB_TRAIN_SUBJECTS) == 53
    assert NTU60_XSUB_TRAIN_SUBJECTS <= NTU120_XSUB_TRAIN_SUBJECTS
    names = ["S001C001P001R001A001", "S001C002P003R001A001", "S002C003P045R001A061", "S003C001P044R002A120"]
    s60 = ntu_splits(names[:2], "ntu60")
    assert s60 == {
        "xsub_train": ["S001C001P001R001A001"],
        "xsub_val": ["S001C002P003R001A001"],
        "xview_train": ["S001C002P003R001A001"],
        "xview_val": ["S001C001P001R001A001"],
    }
    s120 = ntu_splits(names, "ntu120")
    assert s120["xsub_train"] == ["S001C001P001R001A001", "S002C003P045R001A061"]
    assert s120["xset_train"] == ["S002C003P045R001A061"]
    assert s120["xset_val"] == ["S001C001P001R001A001", "S001C002P003R001A001", "S003C001P044R002A120"]
    with pytest.raises(ValueError, match="not an NTU RGB"):
        parse_ntu_name("A001.skeleton")


# ---------------------------------------------------------------------------------------------
# body selection on synthetic files


def test_single_body_with_empty_frames_at_both_ends(tmp_path: Path) -> None:
    frames = [[]] * 3 + [[(7, j)] for j in moving(20, 0.1)] + [[]] * 2
    rec = read_ntu_skeleton(write_skeleton(tmp_path / "S001C001P001R001A005.skeleton", frames))
    assert rec["keypoint"].shape == (1, 20, 25, 3) and rec["total_frames"] == 20 and rec["label"] == 4


def test_short_and_spread_noise_bodies_are_dropped_and_reported(tmp_path: Path) -> None:
    frames = tracks_to_frames(
        40,
        {
            1: (0, moving(40, 0.05)),  # the actor
            2: (5, moving(8, 0.9, x0=1.0)),  # 8 frames: length noise, despite its large motion
            3: (0, moving(40, 0.6, x0=-1.5, shape=LYING)),  # wider than tall: spread noise
        },
    )
    path = write_skeleton(tmp_path / "S001C001P001R001A001.skeleton", frames)
    notes: list[str] = []
    rec = read_ntu_skeleton(path, notes=notes)
    assert rec["keypoint"].shape == (1, 40, 25, 3)
    text = " | ".join(notes)
    assert "bodyID 2" in text and "<= 11" in text
    assert "bodyID 3" in text and "spread noise" in text
    with pytest.warns(UserWarning, match="bodyID 2"):
        read_ntu_skeleton(path)  # without a notes list, drops are warned about


def test_three_overlapping_bodies_keep_the_two_that_move_most(tmp_path: Path) -> None:
    frames = tracks_to_frames(
        30,
        {
            11: (0, moving(30, 0.05, x0=1.0)),
            12: (0, moving(30, 0.5, x0=-1.0)),
            13: (0, moving(30, 0.3)),
        },
    )
    skel = parse_ntu_skeleton(write_skeleton(tmp_path / "S001C001P001R001A050.skeleton", frames))
    sel = select_bodies(skel)
    assert sel.slots == [[12], [13]]
    assert sel.dropped == [(11, "overlaps in time with the 2 bodies already kept")]
    # written with 6 decimals (5e-7) and read into f32 (u x 3.1 = 1.8e-7): < 1e-5
    np.testing.assert_allclose(sel.keypoint[0], np.stack([f[1][1] for f in frames]), atol=1e-5)
    assert select_bodies(skel, max_bodies=3).keypoint.shape[0] == 3


def test_a_new_body_id_after_the_first_shares_its_slot(tmp_path: Path) -> None:
    # the actor's bodyID changes at frame 25; a second actor is there throughout
    frames = tracks_to_frames(
        50,
        {
            1: (0, moving(25, 0.4)),
            2: (25, moving(25, 0.4)),
            3: (0, moving(50, 0.2, x0=1.0)),
        },
    )
    sel = select_bodies(parse_ntu_skeleton(write_skeleton(tmp_path / "S001C001P001R001A050.skeleton", frames)))
    assert sel.keypoint.shape == (2, 50, 25, 3) and sel.dropped == []
    assert sel.slots == [[1, 2], [3]] or sel.slots == [[2, 1], [3]]


def test_person_zero_is_present_in_frame_zero(tmp_path: Path) -> None:
    # the body with more motion enters late; the other one is there from frame 0
    frames = tracks_to_frames(40, {5: (0, moving(40, 0.1)), 6: (15, moving(25, 0.8, x0=1.0))})
    notes: list[str] = []
    rec = read_ntu_skeleton(write_skeleton(tmp_path / "S001C001P001R001A051.skeleton", frames), notes=notes)
    kp = rec["keypoint"].astype(np.float32)
    assert kp.shape == (2, 40, 25, 3)
    assert np.abs(kp[0, 0]).sum() > 0 and np.abs(kp[1, 0]).sum() == 0
    assert np.abs(kp[1, 15]).sum() > 0
    assert any("reordered" in n for n in notes)


def test_frames_without_any_body_leave_the_timeline(tmp_path: Path) -> None:
    body = moving(20, 0.1)
    frames = [[(1, j)] for j in body[:10]] + [[], []] + [[(1, j)] for j in body[10:]]
    skel = parse_ntu_skeleton(write_skeleton(tmp_path / "S001C001P001R001A001.skeleton", frames))
    assert skel.num_frames == 22 and list(skel.bodies_per_frame[9:13]) == [1, 0, 0, 1]
    sel = select_bodies(skel)
    assert sel.keypoint.shape[1] == 20 and list(sel.frames[9:11]) == [9, 12]


# ---------------------------------------------------------------------------------------------
# NTU folder conversion


def test_convert_ntu_folder_skips_missing_and_wrong_dataset(tmp_path: Path) -> None:
    src = tmp_path / "raw"
    src.mkdir()
    frames = [[(1, j)] for j in moving(15, 0.1)]
    good = ["S001C001P001R001A001", "S002C002P003R002A060", "S017C003P040R001A010"]
    for name in good:
        write_skeleton(src / f"{name}.skeleton", frames)
    missing = sorted(missing_samples("ntu60"))[0]
    write_skeleton(src / f"{missing}.skeleton", [[]] * 5)
    write_skeleton(src / "S018C001P045R001A061.skeleton", frames)  # NTU-120 only
    (src / "notes.txt").write_text("not a skeleton")
    out = tmp_path / "ntu60.pkl"
    report = convert_ntu_folder(src, out, dataset="ntu60")
    assert report.converted == 3 and report.total == 6 and not report.failed
    reasons = dict(report.skipped)
    assert "missing skeletons" in reasons[f"{missing}.skeleton"]
    assert "setup 18" in reasons["S018C001P045R001A061.skeleton"]
    assert "not a .skeleton" in reasons["notes.txt"]
    printed = str(report)
    assert "3 converted" in printed and "S018C001P045R001A061" in printed and missing in printed
    ann = load_annotations(out)
    assert [r["frame_dir"] for r in ann.annotations] == good

    report120 = convert_ntu_folder(src, tmp_path / "ntu120.pkl", dataset="ntu120")
    assert report120.converted == 4
    ann = load_annotations(tmp_path / "ntu120.pkl")
    assert set(ann.split) == {"xsub_train", "xsub_val", "xset_train", "xset_val"} and len(ann.label_names) == 120
    assert ann.split["xset_train"] == ["S002C002P003R002A060", "S018C001P045R001A061"]


def test_convert_ntu_folder_in_parallel_matches_serial(tmp_path: Path) -> None:
    src = tmp_path / "raw"
    src.mkdir()
    for k in range(4):
        write_skeleton(src / f"S001C001P00{k + 1}R001A00{k + 1}.skeleton", [[(1, j)] for j in moving(12 + k, 0.1 * k)])
    write_skeleton(src / "S001C002P001R001A001.skeleton", [[(1, PERSON)]] * 3, header=4)  # truncated
    serial = convert_ntu_folder(src, tmp_path / "a.pkl")
    parallel = convert_ntu_folder(src, tmp_path / "b.pkl", workers=2)
    assert serial.converted == parallel.converted == 4 and serial.failed == parallel.failed
    a, b = load_annotations(tmp_path / "a.pkl"), load_annotations(tmp_path / "b.pkl")
    for ra, rb in zip(a.annotations, b.annotations):
        # exact: the same text parsed by the same code in another process (correctly rounded, any CPU)
        assert ra["frame_dir"] == rb["frame_dir"] and np.array_equal(ra["keypoint"], rb["keypoint"])


# ---------------------------------------------------------------------------------------------
# Kinetics on synthetic files


def person(score: float, x: float = 0.5) -> dict:
    return {"pose": [x, 0.5] * 18, "score": [score] * 18}


def test_kinetics_persons_sorted_by_score_per_frame(tmp_path: Path) -> None:
    data = {
        "data": [
            {"frame_index": 1, "skeleton": [person(0.2, 0.1), person(0.9, 0.2), person(0.5, 0.3)]},
            {"frame_index": 3, "skeleton": [person(0.4, 0.4)]},
            # only the first 5 persons of a frame are read (the 6th scores best but is ignored)
            {"frame_index": 4, "skeleton": [person(0.1 * k, 0.1 * k) for k in range(1, 6)] + [person(1.0, 0.99)]},
        ],
        "label": "abseiling",
        "label_index": 0,
    }
    path = tmp_path / "vid.json"
    path.write_text(json.dumps(data))
    rec = read_kinetics_json(path)
    kp, score = rec["keypoint"], rec["keypoint_score"]
    assert kp.shape == (2, 4, 18, 2) and rec["total_frames"] == 4 and rec["label"] == 0
    # f32 of the JSON's decimals: one rounding, u = 6e-8 < approx's 1e-6 (six values)
    assert kp[0, 0, 0, 0] == pytest.approx(0.2) and kp[1, 0, 0, 0] == pytest.approx(0.3)
    assert not kp[:, 1].any() and not score[:, 1].any()  # frame_index 2 is absent: zeros
    assert kp[0, 2, 0, 0] == pytest.approx(0.4) and not kp[1, 2].any()
    assert kp[0, 3, 0, 0] == pytest.approx(0.5) and score[1, 3, 0] == pytest.approx(0.4)
    assert read_kinetics_json(path, persons_in=None)["keypoint"][0, 3, 0, 0] == pytest.approx(0.99)
    assert read_kinetics_json(path, label=7)["label"] == 7
    one = read_kinetics_json(path, max_persons=1)
    assert one["keypoint"].shape == (1, 4, 18, 2)


def test_kinetics_zero_based_index_and_single_person(tmp_path: Path) -> None:
    path = tmp_path / "v0.json"
    path.write_text(
        json.dumps(
            {
                "data": [{"frame_index": 0, "skeleton": [person(0.5)]}, {"frame_index": 2, "skeleton": [person(0.5)]}],
                "label_index": 3,
            }
        )
    )
    rec = read_kinetics_json(path)
    assert rec["keypoint"].shape == (1, 3, 18, 2)  # the empty second slot is removed


def test_kinetics_folder_label_file_skips_videos_without_skeleton(tmp_path: Path) -> None:
    for vid in ("a", "b", "c"):
        (tmp_path / f"{vid}.json").write_text(
            json.dumps({"data": [{"frame_index": 1, "skeleton": [person(0.5)]}], "label_index": 1})
        )
    labels = tmp_path / "labels.json"
    labels.write_text(
        json.dumps(
            {
                "a": {"has_skeleton": True, "label": "x", "label_index": 5},
                "b": {"has_skeleton": False, "label": "y", "label_index": 6},
            }
        )
    )
    out = tmp_path / "out" / "k.pkl"
    report = convert_kinetics_folder(tmp_path, out, label_file=labels, split_name="train")
    assert report.converted == 1 and report.total == 3
    assert dict(report.skipped) == {
        "b.json": "the label file says has_skeleton: false",
        "c.json": f"not listed in the label file {labels}",
    }
    ann = load_annotations(out)
    assert ann.split == {"train": ["a"]} and ann.annotations[0]["label"] == 5  # from the label file


# ---------------------------------------------------------------------------------------------
# dense arrays


def make_dense(folder: Path, n: int = 4, v: int = 25, c: int = 3) -> tuple[Path, Path, np.ndarray]:
    rng = np.random.default_rng(1)
    x = np.zeros((n, c, 300, v, 2), np.float32)
    for i in range(n):
        x[i, :, : 40 + 10 * i, :, 0] = rng.normal(size=(c, 40 + 10 * i, v))
    x[1, :, :30, :, 1] = rng.normal(size=(c, 30, v))  # a second person in sample 1
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "val_data_joint.npy", x)
    names = [f"S001C001P00{i + 1}R001A00{i + 1}.skeleton" for i in range(n)]
    with open(folder / "val_label.pkl", "wb") as f:
        pickle.dump((names, list(range(n))), f)
    return folder / "val_data_joint.npy", folder / "val_label.pkl", x


def test_dense_records_are_built_lazily(tmp_path: Path) -> None:
    data, labels, x = make_dense(tmp_path / "xsub")
    dense = DenseSkeletons(data, labels)
    assert isinstance(dense.data, np.memmap)
    assert len(dense) == 4 and dense.labels == [0, 1, 2, 3] and dense.frame_dirs[0] == "S001C001P001R001A001"
    rec = dense[1]
    assert rec["keypoint"].shape == (2, 50, 25, 3) and rec["total_frames"] == 50
    np.testing.assert_array_equal(rec["keypoint"], x[1].transpose(3, 1, 2, 0)[:, :50])  # exact: a view of the same bytes
    assert dense[-1]["keypoint"].shape == (1, 70, 25, 3)
    assert [r["frame_dir"] for r in dense[1:3]] == ["S001C001P002R001A002", "S001C001P003R001A003"]
    assert all(validate_record(r, 25, 60) == [] for r in dense)
    assert default_split_name(data) == "xsub_val" and default_split_name(tmp_path / "train_data_joint.npy") == "train"


def test_convert_dense_streams_a_loadable_pickle(tmp_path: Path) -> None:
    data, labels, _ = make_dense(tmp_path / "xview")
    out = tmp_path / "dense.pkl"
    report = convert_dense(data, labels, out)
    assert report.converted == 4 and report.split_counts == {"xview_val": 4}
    pickletools.dis(out.read_bytes(), out=open(tmp_path / "dis.txt", "w"))  # a well-formed pickle
    ann = load_annotations(out)
    assert ann.layout == "nturgb+d" and len(ann.label_names) == 60
    assert ann.split["xview_val"] == [f"S001C001P00{i + 1}R001A00{i + 1}" for i in range(4)]
    dense = DenseSkeletons(data, labels)
    for i, rec in enumerate(ann.annotations):
        np.testing.assert_array_equal(rec["keypoint"], dense[i]["keypoint"])  # exact: the pickle stores the bytes


def test_dense_kinetics_arrays_are_uncentred(tmp_path: Path) -> None:
    x = np.zeros((1, 3, 300, 18, 2), np.float32)
    x[0, 0, :10, :, 0] = 0.25 - 0.5  # x = 0.25 after un-centring
    x[0, 1, :10, :, 0] = -(0.75 - 0.5)  # y = 0.75
    x[0, 2, :10, :, 0] = 0.9
    x[0, 2, :10, 5, 0] = 0  # a joint with score 0 goes to (0, 0)
    np.save(tmp_path / "val_data_joint.npy", x)
    with open(tmp_path / "val_label.pkl", "wb") as f:
        pickle.dump((["vid1.json"], [207]), f)
    rec = DenseSkeletons(tmp_path / "val_data_joint.npy", tmp_path / "val_label.pkl")[0]
    assert rec["frame_dir"] == "vid1" and rec["keypoint"].shape == (1, 10, 18, 2) and rec["img_shape"] == (1, 1)
    np.testing.assert_allclose(rec["keypoint"][0, :, 0], [[0.25, 0.75]] * 10)  # quarters plus 0.5: exact in f32
    assert not rec["keypoint"][0, :, 5].any() and rec["keypoint_score"][0, 0, 0] == pytest.approx(0.9)  # f32 of 0.9
    report = convert_dense(tmp_path / "val_data_joint.npy", tmp_path / "val_label.pkl", tmp_path / "k.pkl")
    ann = load_annotations(tmp_path / "k.pkl")
    assert report.converted == 1 and ann.layout == "openpose" and len(ann.label_names) == 400


# ---------------------------------------------------------------------------------------------
# command line


def test_cli_ntu_check_and_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    src = tmp_path / "raw"
    src.mkdir()
    write_skeleton(src / "S001C001P001R001A001.skeleton", [[(1, j)] for j in moving(15, 0.1)])
    out = tmp_path / "out.pkl"
    assert cli.main(["convert", "ntu", str(src), str(out), "--dataset", "ntu60"]) == 0
    assert "1 converted" in capsys.readouterr().out
    assert cli.main(["convert", "check", str(out)]) == 0
    printed = capsys.readouterr().out
    assert (
        "1 valid record" in printed
        and "nturgb+d" in printed
        and "xsub_train 1" in printed
        and "frames: min 15" in printed
    )

    empty = tmp_path / "empty"
    empty.mkdir()
    write_skeleton(empty / "S001C001P001R001A002.skeleton", [[]] * 3)  # no body at all
    assert cli.main(["convert", "ntu", str(empty), str(tmp_path / "none.pkl")]) == 1
    assert "no frame has a body" in capsys.readouterr().out
    assert not (tmp_path / "none.pkl").exists()

    data, labels, _ = make_dense(tmp_path / "dense")
    assert cli.main(["convert", "dense", str(data), str(labels), str(tmp_path / "d.pkl"), "--split", "xsub_val"]) == 0
    assert "xsub_val 4" in capsys.readouterr().out

    shutil.copy(out, tmp_path / "copy.pkl")
    assert cli.main(["convert", "check", str(tmp_path / "copy.pkl"), "--layout", "coco"]) == 1
    assert "V = 25" in capsys.readouterr().err


def test_cli_check_lists_invalid_records(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    good = {"frame_dir": "a", "label": 0, "total_frames": 2, "keypoint": np.ones((1, 2, 25, 3), np.float32)}
    bad = {"frame_dir": "b", "label": 0, "total_frames": 3, "keypoint": np.ones((1, 2, 25, 3), np.float32)}
    path = tmp_path / "ann.pkl"
    with open(path, "wb") as f:
        pickle.dump({"split": {"val": ["a", "b"]}, "annotations": [good, bad]}, f)
    assert cli.main(["convert", "check", str(path)]) == 1
    printed = capsys.readouterr().out
    assert "1 valid record" in printed and re.search(r"b: total_frames = 3 but keypoint has T = 2", printed)
