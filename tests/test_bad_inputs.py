"""Bad inputs: every reader fails with an error that names the file (or sample) and what is wrong,
and every converter keeps the good records while reporting the bad ones."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from aagcn_lab.data.annotations import AnnotationError, load_annotations
from aagcn_lab.data.dense import DenseFileError, DenseSkeletons, convert_dense, read_label_pickle
from aagcn_lab.data.kinetics import KineticsFileError, convert_kinetics_folder, read_kinetics_json, read_kinetics_labels
from aagcn_lab.data.ntu import SkeletonFileError, convert_ntu_folder, read_ntu_skeleton
from aagcn_lab.io import CorruptFileError, UnsafeFileError

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
NAME = "S001C001P001R001A001"

# a standing person, 0.4 m wide and 1.6 m tall
_rng = np.random.default_rng(0)
PERSON = np.stack([_rng.uniform(-0.2, 0.2, 25), _rng.uniform(-0.8, 0.8, 25), 3 + _rng.uniform(-0.1, 0.1, 25)], axis=1)
PERSON[0, 0], PERSON[1, 0], PERSON[2, 1], PERSON[3, 1] = -0.2, 0.2, -0.8, 0.8


def body_lines(body_id: int, shift: float = 0.0) -> list[str]:
    joints = [f"{x + shift:.5f} {y:.5f} {z:.5f} 200 210 700 500 0.1 0.2 0.3 0.4 2" for x, y, z in PERSON]
    return [f"{body_id} 0 1 1 1 1 0 -0.2 -0.1 2", "25", *joints]


def skeleton_lines(num_frames: int = 15, bodies: int = 1) -> list[str]:
    """Lines of a valid .skeleton file: ``bodies`` swaying bodies in every frame."""
    lines = [str(num_frames)]
    for f in range(num_frames):
        lines.append(str(bodies))
        for b in range(bodies):
            lines += body_lines(b + 1, shift=b * 1.0 + 0.2 * (b + 1) * np.sin(0.5 * f))
    return lines


def write(path: Path, lines: list[str] | str | bytes) -> Path:
    if isinstance(lines, bytes):
        path.write_bytes(lines)
    else:
        path.write_text(lines if isinstance(lines, str) else "\n".join(lines) + "\n")
    return path


def skeleton_error(tmp_path: Path, lines: list[str] | str | bytes, name: str = NAME) -> SkeletonFileError:
    path = write(tmp_path / f"{name}.skeleton", lines)
    with pytest.raises(SkeletonFileError) as info:
        read_ntu_skeleton(path)
    assert f"{name}.skeleton" in str(info.value)
    assert isinstance(info.value, ValueError)
    return info.value


# line numbers in skeleton_lines(): 1 header; frame f (0-based) of one body starts at 2 + 28 f:
# bodies count, info line, joint count, then joints 1..25 on lines 5 + 28 f .. 29 + 28 f
def joint_line(frame: int, joint: int) -> int:
    """1-based line number of ``joint`` (1-based) in ``frame`` (1-based) of a one-body file."""
    return 2 + 28 * (frame - 1) + 2 + joint


# ---------------------------------------------------------------------------------------------
# .skeleton files


def test_truncated_mid_joint_line(tmp_path: Path) -> None:
    lines = skeleton_lines(15)
    cut = joint_line(7, 9)
    text = "\n".join(lines[: cut - 1]) + "\n" + " ".join(lines[cut - 1].split()[:5])  # no newline, 5 of 12 fields
    err = skeleton_error(tmp_path, text)
    assert err.line == cut
    assert f"line {cut}: expected 12 numbers for joint 9 of body 1 in frame 7, got 5" in str(err)
    assert "truncated" in str(err) and "15 frames" in str(err)


def test_truncated_between_frames(tmp_path: Path) -> None:
    lines = skeleton_lines(15)[: 1 + 28 * 10]  # 10 complete frames, header says 15
    err = skeleton_error(tmp_path, lines)
    assert "expected the number of bodies in frame 11 of 15" in str(err) and "truncated" in str(err)
    assert err.line == len(lines) + 1


def test_wrong_joint_count(tmp_path: Path) -> None:
    lines = skeleton_lines(5)
    lines[2 + 28 * 2 + 1] = "24"  # joint count of frame 3
    err = skeleton_error(tmp_path, lines)
    assert "expected 25 joints for body 1 in frame 3, got 24" in str(err) and err.line == 2 + 28 * 2 + 2


def test_joint_line_with_too_few_numbers(tmp_path: Path) -> None:
    lines = skeleton_lines(5)
    i = joint_line(2, 4) - 1
    lines[i] = " ".join(lines[i].split()[:11])
    err = skeleton_error(tmp_path, lines)
    assert f"line {i + 1}: expected 12 numbers for joint 4 of body 1 in frame 2, got 11" in str(err)
    assert "truncated" not in str(err)


@pytest.mark.parametrize("bad", ["nan", "inf", "-inf", "NaN"])
def test_nan_and_inf_coordinates(tmp_path: Path, bad: str) -> None:
    lines = skeleton_lines(5)
    i = joint_line(3, 10) - 1
    fields = lines[i].split()
    fields[1] = bad
    lines[i] = " ".join(fields)
    err = skeleton_error(tmp_path, lines)
    assert f"line {i + 1}: field 2 of joint 10 of body 1 in frame 3" in str(err) and "NaN/inf" in str(err)


def test_non_numeric_field(tmp_path: Path) -> None:
    lines = skeleton_lines(5)
    i = joint_line(5, 25) - 1
    lines[i] = lines[i].replace("700", "7O0", 1)
    err = skeleton_error(tmp_path, lines)
    assert f"line {i + 1}: field 6 of joint 25 of body 1 in frame 5 is not a number: '7O0'" in str(err)


def test_zero_frames(tmp_path: Path) -> None:
    err = skeleton_error(tmp_path, ["0"])
    assert "line 1: the header says the file has 0 frames" in str(err)


def test_no_body_in_any_frame(tmp_path: Path) -> None:
    err = skeleton_error(tmp_path, ["4", "0", "0", "0", "0"])
    assert "no frame has a body (0 bodies in each of the 4 frames)" in str(err)


def test_empty_file(tmp_path: Path) -> None:
    assert "the file is empty" in str(skeleton_error(tmp_path, b""))


def test_binary_garbage(tmp_path: Path) -> None:
    garbage = bytes(np.random.default_rng(3).integers(0, 256, 4096, dtype=np.uint8))
    assert "not a text .skeleton file" in str(skeleton_error(tmp_path, b"\x89PNG\r\n" + garbage))


def test_header_is_not_a_number(tmp_path: Path) -> None:
    err = skeleton_error(tmp_path, ["frames: 10", *skeleton_lines(10)[1:]])
    assert "line 1: expected the number of frames on line 1 (one integer), got 2 fields" in str(err)


def test_body_info_line_with_wrong_field_count(tmp_path: Path) -> None:
    lines = skeleton_lines(3)
    lines[2] = "72057594037928933 0 1 1 1"
    err = skeleton_error(tmp_path, lines)
    assert "line 3: expected 10 numbers (bodyID ... trackingState) for body 1 in frame 1, got 5" in str(err)


def test_trailing_garbage_after_last_frame(tmp_path: Path) -> None:
    err = skeleton_error(tmp_path, skeleton_lines(3) + ["1", "garbage"])
    assert "expected the end of the file after 3 frames" in str(err) and err.line == 1 + 3 * 28 + 1


def test_file_name_without_action_needs_a_label(tmp_path: Path) -> None:
    err = skeleton_error(tmp_path, skeleton_lines(3), name="recording_07")
    assert "cannot take the label from the file name" in str(err) and "pass label=" in str(err)
    assert read_ntu_skeleton(tmp_path / "recording_07.skeleton", label=3)["label"] == 3


def test_more_than_two_bodies_keeps_the_main_actors_and_reports_the_rest(tmp_path: Path) -> None:
    path = write(tmp_path / f"{NAME}.skeleton", skeleton_lines(20, bodies=4))
    notes: list[str] = []
    rec = read_ntu_skeleton(path, notes=notes)
    assert rec["keypoint"].shape == (2, 20, 25, 3)
    dropped = [n for n in notes if n.startswith("dropped bodyID")]
    assert len(dropped) == 2 and all("overlaps in time" in n for n in dropped)
    # the two bodies kept are the ones that move most (the sway grows with the body number)
    assert {n.split()[2].rstrip(":") for n in dropped} == {"1", "2"}
    with pytest.warns(UserWarning, match=f"{NAME}.skeleton.*dropped bodyID"):
        read_ntu_skeleton(path)


def test_real_truncated_file(tmp_path: Path) -> None:
    path = SHARED / "data" / "real_samples" / "ntu60_skeleton_truncated" / "S005C002P013R002A056.skeleton"
    if not path.exists():
        pytest.skip(f"real samples not available: {path}")
    with pytest.raises(SkeletonFileError, match=r"S005C002P013R002A056\.skeleton: line 2086: .*frame 44"):
        read_ntu_skeleton(path)


def test_ntu_folder_keeps_good_files_and_reports_each_bad_one(tmp_path: Path) -> None:
    good = ["S001C001P001R001A001", "S001C002P002R001A002", "S001C003P003R001A003"]
    for name in good:
        write(tmp_path / f"{name}.skeleton", skeleton_lines(12))
    bad = {
        "S002C001P001R001A001": (skeleton_lines(12)[:100], "truncated"),
        "S002C001P001R001A002": (b"\x00\x01\x02garbage", "not a text .skeleton file"),
        "S002C001P001R001A003": (["3", "0", "0", "0"], "no frame has a body"),
        "S002C001P001R001A004": (["0"], "0 frames"),
    }
    for name, (content, _) in bad.items():
        write(tmp_path / f"{name}.skeleton", content)
    out = tmp_path / "out" / "ntu.pkl"
    report = convert_ntu_folder(tmp_path, out, dataset="ntu60")
    assert report.converted == 3 and report.ok
    failed = dict(report.failed)
    assert set(failed) == set(bad)
    for name, (_, why) in bad.items():
        assert why in failed[name] and f"{name}.skeleton" in failed[name]
        assert name in str(report)
    assert [r["frame_dir"] for r in load_annotations(out).annotations] == good


def test_ntu_folder_with_nothing_convertible_writes_nothing(tmp_path: Path) -> None:
    write(tmp_path / f"{NAME}.skeleton", b"")
    report = convert_ntu_folder(tmp_path, tmp_path / "out.pkl")
    assert not report.ok and report.output is None and not (tmp_path / "out.pkl").exists()
    assert "nothing written" in str(report) and "the file is empty" in str(report)
    with pytest.raises(FileNotFoundError, match="no such folder"):
        convert_ntu_folder(tmp_path / "nope", tmp_path / "out.pkl")


# ---------------------------------------------------------------------------------------------
# annotation files (aagcn_lab.data.annotations.load_annotations)


def good_record(name: str = "a", label: int = 0, frames: int = 4) -> dict:
    return {
        "frame_dir": name,
        "label": label,
        "total_frames": frames,
        "keypoint": np.ones((1, frames, 25, 3), np.float16),
    }


def dump(path: Path, obj: object) -> Path:
    with open(path, "wb") as f:
        pickle.dump(obj, f)
    return path


def annotation_error(tmp_path: Path, bad: dict, **kwargs) -> str:
    """Write one good and one bad record; strict loading names the bad one, 'skip' keeps the good one."""
    path = dump(tmp_path / "ann.pkl", {"split": {"val": ["good", "bad"]}, "annotations": [good_record("good"), bad]})
    with pytest.raises(AnnotationError) as info:
        load_annotations(path, **kwargs)
    assert "ann.pkl" in str(info.value)
    with pytest.warns(UserWarning):
        ann = load_annotations(path, on_error="skip", **kwargs)
    assert [r["frame_dir"] for r in ann.annotations] == ["good"] and ann.split == {"val": ["good"]}
    return str(info.value)


def test_int_keypoints(tmp_path: Path) -> None:
    bad = good_record("bad") | {"keypoint": np.ones((1, 4, 25, 3), np.int32)}
    assert "bad: keypoint has dtype int32; expected float" in annotation_error(tmp_path, bad)


def test_label_out_of_range(tmp_path: Path) -> None:
    msg = annotation_error(tmp_path, good_record("bad", label=60), num_classes=60)
    assert "bad: label 60 out of range (0..59)" in msg


def test_missing_keys(tmp_path: Path) -> None:
    bad = {"frame_dir": "bad", "label": 1}
    assert "bad: missing key(s) total_frames, keypoint" in annotation_error(tmp_path, bad)


def test_keypoint_wrong_ndim(tmp_path: Path) -> None:
    bad = good_record("bad") | {"keypoint": np.ones((4, 25, 3), np.float32)}
    assert "bad: keypoint must be (M, T, V, C), got shape (4, 25, 3)" in annotation_error(tmp_path, bad)


def test_total_frames_mismatch(tmp_path: Path) -> None:
    bad = good_record("bad") | {"total_frames": 7}
    assert "bad: total_frames = 7 but keypoint has T = 4 frames" in annotation_error(tmp_path, bad)


def test_2d_without_keypoint_score(tmp_path: Path) -> None:
    bad = good_record("bad") | {"keypoint": np.ones((1, 4, 25, 2), np.float32)}
    assert "bad: 2D keypoint (C = 2) without keypoint_score" in annotation_error(tmp_path, bad)


def test_nan_keypoints_in_a_record(tmp_path: Path) -> None:
    kp = np.ones((1, 4, 25, 3), np.float32)
    kp[0, 2, 3, 1] = np.nan
    assert "bad: keypoint has 1 NaN/inf values" in annotation_error(tmp_path, good_record("bad") | {"keypoint": kp})


def test_duplicate_frame_dir(tmp_path: Path) -> None:
    msg = annotation_error(tmp_path, good_record("good", frames=6))
    assert "good: duplicate frame_dir" in msg


def test_unknown_layout(tmp_path: Path) -> None:
    path = dump(tmp_path / "ann.pkl", {"split": {}, "annotations": [good_record()]})
    with pytest.raises(ValueError, match="unknown skeleton layout 'foo'"):
        load_annotations(path, layout="foo")


def test_pickle_that_tries_to_run_code_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pwned.txt"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))  # unpickling this would create the marker file

    path = dump(tmp_path / "evil.pkl", {"split": {}, "annotations": [good_record() | {"x": Payload()}]})
    assert not marker.exists()
    with pytest.raises(UnsafeFileError, match=r"evil\.pkl: refused to load: .*open.*nothing was executed"):
        load_annotations(path)
    assert not marker.exists()  # the payload did not run
    with pytest.raises(UnsafeFileError, match="evil.pkl"):
        read_label_pickle(path)
    assert not marker.exists()


@pytest.mark.parametrize("obj", ["just a string", 42, ("names", "labels")])
def test_pickle_that_is_not_an_annotation_dict(tmp_path: Path, obj: object) -> None:
    path = dump(tmp_path / "odd.pkl", obj)
    with pytest.raises(CorruptFileError, match=r"odd\.pkl: not an annotation file"):
        load_annotations(path)


def test_annotation_file_that_is_not_a_pickle(tmp_path: Path) -> None:
    path = write(tmp_path / "text.pkl", "split,annotations\n1,2\n")
    with pytest.raises(CorruptFileError, match=r"text\.pkl: not a readable pickle"):
        load_annotations(path)


# ---------------------------------------------------------------------------------------------
# Kinetics JSON


def frame(index: int, *people: dict) -> dict:
    return {"frame_index": index, "skeleton": list(people)}


def person(score: float = 0.5) -> dict:
    return {"pose": [0.5, 0.5] * 18, "score": [score] * 18}


def kinetics_error(tmp_path: Path, content: object, name: str = "vid") -> str:
    path = tmp_path / f"{name}.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    with pytest.raises(KineticsFileError) as info:
        read_kinetics_json(path)
    assert f"{name}.json" in str(info.value) and isinstance(info.value, ValueError)
    return str(info.value)


def test_kinetics_pose_of_wrong_length(tmp_path: Path) -> None:
    short = {"pose": [0.5] * 34, "score": [0.5] * 18}
    msg = kinetics_error(tmp_path, {"data": [frame(1, person()), frame(2, person(), short)], "label_index": 3})
    assert "data[1] (frame_index 2), person 1: 'pose' has 34 numbers, expected 36" in msg


def test_kinetics_score_of_wrong_length_and_non_numbers(tmp_path: Path) -> None:
    bad_score = {"pose": [0.5] * 36, "score": [0.5] * 17}
    assert "person 0: 'score' has 17 numbers, expected 18" in kinetics_error(
        tmp_path, {"data": [frame(1, bad_score)], "label_index": 3}
    )
    text_pose = {"pose": [0.5] * 35 + ["x"], "score": [0.5] * 18}
    assert "'pose'[35] is not a number: 'x'" in kinetics_error(
        tmp_path, {"data": [frame(1, text_pose)], "label_index": 3}
    )


def test_kinetics_nan_in_pose(tmp_path: Path) -> None:
    text = json.dumps({"data": [frame(1, person())], "label_index": 3}).replace("0.5", "NaN", 1)
    assert "'pose'[0] is nan (NaN/inf)" in kinetics_error(tmp_path, text)


def test_kinetics_not_json(tmp_path: Path) -> None:
    assert "not valid JSON" in kinetics_error(tmp_path, '{"data": [ {"frame_index": 1, ')
    assert "the file is empty" in kinetics_error(tmp_path, "")
    path = tmp_path / "bin.json"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(KineticsFileError, match=r"bin\.json: not (valid )?JSON"):
        read_kinetics_json(path)


def test_kinetics_wrong_structure(tmp_path: Path) -> None:
    assert "not a Kinetics-skeleton file" in kinetics_error(tmp_path, [1, 2, 3])
    assert "'data' holds no frames" in kinetics_error(tmp_path, {"data": [], "label_index": 1})
    assert "data[0]: 'frame_index' must be an integer >= 0, got '1'" in kinetics_error(
        tmp_path, {"data": [{"frame_index": "1", "skeleton": []}], "label_index": 1}
    )
    assert "frame_index 1 appears twice" in kinetics_error(
        tmp_path, {"data": [frame(1, person()), frame(1, person())], "label_index": 1}
    )


def test_kinetics_no_person_in_any_frame(tmp_path: Path) -> None:
    assert "no person in any of its 2 frames" in kinetics_error(
        tmp_path, {"data": [frame(1), frame(2)], "label_index": 1}
    )


def test_kinetics_without_label(tmp_path: Path) -> None:
    msg = kinetics_error(tmp_path, {"data": [frame(1, person())], "label": "parkour"})
    assert "no usable 'label_index'" in msg and "label file" in msg


def test_kinetics_label_file_problems(tmp_path: Path) -> None:
    path = tmp_path / "labels.json"
    path.write_text(json.dumps({"vid1": {"has_skeleton": True, "label": "x"}}))
    with pytest.raises(KineticsFileError, match=r"labels\.json: video 'vid1': entry lacks label_index"):
        read_kinetics_labels(path)
    path.write_text(json.dumps([1, 2]))
    with pytest.raises(KineticsFileError, match=r"labels\.json: a label file must be a JSON object"):
        read_kinetics_labels(path)


def test_kinetics_folder_keeps_good_files(tmp_path: Path) -> None:
    for vid in ("good1", "good2"):
        (tmp_path / f"{vid}.json").write_text(json.dumps({"data": [frame(1, person())], "label_index": 5}))
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "short.json").write_text(
        json.dumps({"data": [frame(1, {"pose": [0.1] * 30, "score": [1] * 18})], "label_index": 5})
    )
    (tmp_path / "label999.json").write_text(json.dumps({"data": [frame(1, person())], "label_index": 999}))
    out = tmp_path / "k.pkl"
    report = convert_kinetics_folder(tmp_path, out)
    assert report.converted == 2
    failed = dict(report.failed)
    assert "not valid JSON" in failed["broken"] and "broken.json" in failed["broken"]
    assert "'pose' has 30 numbers" in failed["short"]
    assert "label 999 is outside 0..399" in failed["label999"]
    assert [r["frame_dir"] for r in load_annotations(out).annotations] == ["good1", "good2"]


# ---------------------------------------------------------------------------------------------
# dense arrays and label pickles


def dense_files(
    tmp_path: Path, shape: tuple = (3, 3, 20, 25, 2), names: int | None = None, labels: list | None = None
) -> tuple[Path, Path]:
    x = np.zeros(shape, np.float32)
    if len(shape) == 5:
        x[:, :, :10, :, 0] = 1.0
    np.save(tmp_path / "val_data_joint.npy", x)
    n = shape[0] if names is None else names
    dump(
        tmp_path / "val_label.pkl",
        ([f"S001C001P001R001A{i + 1:03d}.skeleton" for i in range(n)], list(range(n)) if labels is None else labels),
    )
    return tmp_path / "val_data_joint.npy", tmp_path / "val_label.pkl"


def test_dense_npy_of_wrong_ndim(tmp_path: Path) -> None:
    data, labels = dense_files(tmp_path, shape=(3, 3, 20, 25))
    with pytest.raises(
        DenseFileError, match=r"val_data_joint\.npy: expected a 5-D array \(N, C, T, V, M\), got shape \(3, 3, 20, 25\)"
    ):
        DenseSkeletons(data, labels)


def test_dense_wrong_channel_count(tmp_path: Path) -> None:
    data, labels = dense_files(tmp_path, shape=(2, 6, 20, 25, 2))
    with pytest.raises(DenseFileError, match=r"val_data_joint\.npy: shape .* has C = 6 channels"):
        DenseSkeletons(data, labels)


def test_dense_sample_count_mismatch(tmp_path: Path) -> None:
    data, labels = dense_files(tmp_path, names=5)
    with pytest.raises(DenseFileError, match=r"val_data_joint\.npy: holds 3 samples but .*val_label\.pkl names 5"):
        DenseSkeletons(data, labels)


def test_label_pickle_count_mismatch(tmp_path: Path) -> None:
    _, labels = dense_files(tmp_path, labels=[0, 1])
    with pytest.raises(DenseFileError, match=r"val_label\.pkl: 3 sample names but 2 labels"):
        read_label_pickle(labels)


def test_label_pickle_of_the_wrong_kind(tmp_path: Path) -> None:
    path = dump(tmp_path / "labels.pkl", {"names": [], "labels": []})
    with pytest.raises(DenseFileError, match=r"labels\.pkl: not a label pickle: expected the pair"):
        read_label_pickle(path)
    path = dump(tmp_path / "labels.pkl", (["a", "b"], [0, "one"]))
    with pytest.raises(DenseFileError, match=r"labels\.pkl: label #1 \(b\) is 'one'"):
        read_label_pickle(path)


def test_dense_npy_that_is_not_an_array(tmp_path: Path) -> None:
    _, labels = dense_files(tmp_path)
    garbage = write(tmp_path / "garbage.npy", b"\x93NUMPY\x01\x00garbage that is not a header")
    with pytest.raises(DenseFileError, match=r"garbage\.npy: not a readable \.npy array"):
        DenseSkeletons(garbage, labels)
    objects = tmp_path / "objects.npy"
    np.save(objects, np.array([{"a": 1}] * 3, dtype=object), allow_pickle=True)
    with pytest.raises(DenseFileError, match=r"objects\.npy: not a readable \.npy array"):
        DenseSkeletons(objects, labels)


def test_dense_bad_samples_are_reported_and_the_rest_converts(tmp_path: Path) -> None:
    x = np.zeros((4, 3, 20, 25, 2), np.float32)
    x[:, :, :10, :, 0] = 1.0
    x[1] = 0  # all zeros
    x[2, 0, 3, 4, 0] = np.inf
    np.save(tmp_path / "val_data_joint.npy", x)
    dump(tmp_path / "val_label.pkl", ([f"S001C001P001R001A00{i + 1}" for i in range(4)], [0, 1, 2, 99]))
    out = tmp_path / "d.pkl"
    report = convert_dense(tmp_path / "val_data_joint.npy", tmp_path / "val_label.pkl", out, dataset="ntu60")
    failed = dict(report.failed)
    assert "sample 1 (S001C001P001R001A002) is all zeros" in failed["S001C001P001R001A002"]
    assert "NaN/inf" in failed["S001C001P001R001A003"]
    assert "label 99 is outside 0..59" in failed["S001C001P001R001A004"]
    assert report.converted == 1 and [r["frame_dir"] for r in load_annotations(out).annotations] == [
        "S001C001P001R001A001"
    ]
    with pytest.raises(DenseFileError, match=r"val_data_joint\.npy: sample 1 \(S001C001P001R001A002\) is all zeros"):
        DenseSkeletons(tmp_path / "val_data_joint.npy", tmp_path / "val_label.pkl")[1]


def test_dense_with_nothing_convertible_leaves_no_file(tmp_path: Path) -> None:
    np.save(tmp_path / "val_data_joint.npy", np.zeros((2, 3, 5, 25, 2), np.float32))
    dump(tmp_path / "val_label.pkl", (["a", "b"], [0, 1]))
    report = convert_dense(tmp_path / "val_data_joint.npy", tmp_path / "val_label.pkl", tmp_path / "d.pkl")
    assert not report.ok and len(report.failed) == 2 and not (tmp_path / "d.pkl").exists()
    assert not list(tmp_path.glob(".d.pkl.*"))  # no temporary file left behind
