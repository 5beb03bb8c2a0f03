"""NW-UCLA all_sqe clips (reader, converter, CLI, predict's detection) and the leakage audit.

A small self-made all_sqe folder always runs; the whole release (../shared/data/nw_ucla) is
converted when it is present and checked against reference-nw-ucla.md.
"""

from __future__ import annotations

import json
import pickle
import re
from pathlib import Path

import numpy as np
import pytest

from aagcn_lab import cli
from aagcn_lab.data.annotations import Annotations, infer_layout_name, load_annotations, save_annotations
from aagcn_lab.data.inputs import read_input
from aagcn_lab.data.kinetics import read_kinetics_json
from aagcn_lab.data.leakage import (
    COPY_KINDS,
    canonical_keypoints,
    comparable_splits,
    copies_report,
    find_copies,
)
from aagcn_lab.data.ucla import (
    UCLA_ACTIONS,
    UCLA_SPLITS,
    UclaFileError,
    convert_ucla_folder,
    is_ucla_input,
    parse_ucla_name,
    read_ucla_clip,
)

from .conftest import shared_file

# ---------------------------------------------------------------------------------------------
# a self-made all_sqe folder


def skeleton(seed: int, frames: int) -> np.ndarray:
    """A plausible Kinect v1 skeleton (T, 20, 3) in metres: a standing body about 3 m away, swaying."""
    rng = np.random.default_rng(seed)
    base = np.array(
        [[0, 0, 3], [0, .1, 3], [0, .45, 3], [0, .62, 3], [-.18, .4, 3], [-.25, .15, 3], [-.27, -.08, 3], [-.28, -.15, 3],
         [.18, .4, 3], [.25, .15, 3], [.27, -.08, 3], [.28, -.15, 3], [-.1, -.05, 3], [-.11, -.5, 3], [-.11, -.9, 3],
         [-.11, -.95, 2.9], [.1, -.05, 3], [.11, -.5, 3], [.11, -.9, 3], [.11, -.95, 2.9]]
    )  # fmt: skip
    sway = 0.05 * np.sin(np.linspace(0, 3, frames))[:, None, None] * rng.normal(size=(1, 20, 3))
    kp = base[None] + rng.normal(0, 0.01, size=(frames, 20, 3)) + sway + rng.normal(0, 0.2, size=3)
    return np.round(kp, 6)  # all_sqe writes 6 significant digits


def write_clip(folder: Path, name: str, skel, label: int | None, **extra) -> Path:
    obj = {"file_name": name, "skeletons": np.asarray(skel).tolist() if isinstance(skel, np.ndarray) else skel}
    if label is not None:
        obj["label"] = label
    obj.update(extra)
    path = folder / f"{name}.json"
    path.write_text(json.dumps(obj))
    return path


GOOD_TRAIN = ["a01_s01_e00_v01", "a01_s01_e00_v02", "a08_s02_e01_v01", "a08_s02_e01_v02"]
GOOD_TEST = ["a01_s01_e00_v03", "a08_s01_e01_v03", "a08_s02_e01_v03"]  # sorted
BAD = {  # file -> what its error must say
    "a01_s02_e00_v01": "not valid JSON",
    "a01_s02_e00_v02": "frame 2 has 19 joints",
    "a01_s02_e00_v03": r"NaN/inf value\(s\), the first at frame 3, joint 5",
    "a08_s01_e00_v01": "disagrees with the action in the name, a08",
    "a08_s01_e00_v02": "no 'label' key",
}


@pytest.fixture
def sqe(tmp_path: Path) -> Path:
    """6 clips of 2 actions (a01 -> label 0, a08 -> label 6), 2 subjects, 3 views; planted copies, a 1-frame clip, 5 bad files."""
    src = tmp_path / "data" / "all_sqe"
    src.mkdir(parents=True)
    a01_v02 = skeleton(2, 30)
    write_clip(src, "a01_s01_e00_v01", skeleton(1, 40), 1)
    write_clip(src, "a01_s01_e00_v02", a01_v02, 1)
    write_clip(src, "a01_s01_e00_v03", a01_v02, 1)  # the planted copy v02 -> v03, as in the release
    with_zeros = skeleton(3, 25)
    with_zeros[7, [0, 12]] = 0.0  # Kinect lost two joints in frame 7: valid, noted
    write_clip(src, "a08_s02_e01_v01", with_zeros, 7)
    a08_v02 = skeleton(4, 22)
    write_clip(src, "a08_s02_e01_v02", a08_v02, 7)
    write_clip(src, "a08_s02_e01_v03", skeleton(5, 1), 7)  # a single frame: valid, noted
    moved = (a08_v02.astype(np.float32) * np.float32(1.5) + np.float32([0.3, -0.2, 0.5])).astype(np.float32)
    write_clip(src, "a08_s01_e01_v03", moved.astype(np.float64), 7)  # a copy after shift and scale
    # bad files: each named in the report, the rest converts
    (src / "a01_s02_e00_v01.json").write_text(json.dumps({"skeletons": skeleton(6, 5).tolist(), "label": 1})[:300])
    short = skeleton(7, 5).tolist()
    short[2] = short[2][:19]
    write_clip(src, "a01_s02_e00_v02", short, 1)
    nan = skeleton(8, 6)
    nan[3, 5, 1] = np.nan
    write_clip(src, "a01_s02_e00_v03", nan, 1)
    write_clip(src, "a08_s01_e00_v01", skeleton(9, 8), 1)  # label 1 = a01, the name says a08
    write_clip(src, "a08_s01_e00_v02", skeleton(10, 8), None)
    (src / "readme.txt").write_text("not a clip")
    write_clip(src, "notes", skeleton(11, 3), 1)  # a JSON not named like a clip
    return src


def test_names_and_actions() -> None:
    clip = parse_ucla_name("/data/all_sqe/a12_s10_e03_v02.json")
    assert tuple(clip) == (12, 10, 3, 2) and clip.label == 9 and clip.name == "a12_s10_e03_v02"
    assert [parse_ucla_name(f"a{a:02d}_s01_e00_v01").label for a in (1, 2, 3, 4, 5, 6, 8, 9, 11, 12)] == list(range(10))
    assert len(UCLA_ACTIONS) == 10 and UCLA_ACTIONS[0] == "pick up with one hand" and UCLA_ACTIONS[6] == "donning"
    assert UCLA_ACTIONS[9] == "carry"
    with pytest.raises(ValueError, match="a07 is not one of the 10"):
        _ = parse_ucla_name("a07_s01_e00_v01").label
    with pytest.raises(ValueError, match="not an NW-UCLA clip name"):
        parse_ucla_name("S001C001P001R001A001")
    assert infer_layout_name(20, 3) == "ucla" and infer_layout_name(20, 2) is None and infer_layout_name(25, 3) == "nturgb+d"


def test_reader_values(sqe: Path) -> None:
    notes: list[str] = []
    rec = read_ucla_clip(sqe / "a08_s02_e01_v01.json", notes=notes)
    stored = np.asarray(json.loads((sqe / "a08_s02_e01_v01.json").read_text())["skeletons"], dtype=np.float32)
    assert rec["frame_dir"] == "a08_s02_e01_v01" and rec["label"] == 6 and rec["total_frames"] == 25
    assert rec["keypoint"].dtype == np.float32 and rec["keypoint"].shape == (1, 25, 20, 3)
    assert np.array_equal(rec["keypoint"][0], stored) and "keypoint_score" not in rec
    assert notes == ["2 all-zero joint entries (frame 7 joint 0, frame 7 joint 12)"]
    one: list[str] = []
    assert read_ucla_clip(sqe / "a08_s02_e01_v03.json", notes=one)["keypoint"].shape == (1, 1, 20, 3)
    assert one and "a single frame" in one[0]
    for name, needle in BAD.items():
        with pytest.raises(UclaFileError, match=rf"{name}\.json.*{needle}"):
            read_ucla_clip(sqe / f"{name}.json")
    with pytest.raises(UclaFileError, match="notes.json: .*not an NW-UCLA clip name"):
        read_ucla_clip(sqe / "notes.json")
    assert read_ucla_clip(sqe / "notes.json", check_name=False)["label"] == 0  # predict reads any name


def test_reader_refuses_wrong_units_and_renamed_files(tmp_path: Path) -> None:
    write_clip(tmp_path, "a01_s01_e00_v01", skeleton(1, 5) * 1000, 1)  # millimetres
    with pytest.raises(UclaFileError, match="values up to .*NW-UCLA stores metres"):
        read_ucla_clip(tmp_path / "a01_s01_e00_v01.json")
    path = write_clip(tmp_path, "a01_s01_e00_v02", skeleton(1, 5), 1)
    path.rename(tmp_path / "a01_s01_e00_v03.json")
    with pytest.raises(UclaFileError, match="'file_name' inside is 'a01_s01_e00_v02'"):
        read_ucla_clip(tmp_path / "a01_s01_e00_v03.json")
    write_clip(tmp_path, "a02_s01_e00_v01", [[[0.1, 0.2, "x"]] * 20], 2)
    with pytest.raises(UclaFileError, match="frame 0, joint 0: 'x' is not a number"):
        read_ucla_clip(tmp_path / "a02_s01_e00_v01.json")
    write_clip(tmp_path, "a02_s01_e00_v02", skeleton(1, 5), 11)
    with pytest.raises(UclaFileError, match="'label' must be an integer 1..10, found 11"):
        read_ucla_clip(tmp_path / "a02_s01_e00_v02.json")


def test_folder_conversion_splits_report_and_unique_split(sqe: Path, tmp_path: Path) -> None:
    out = tmp_path / "ucla.pkl"
    report = convert_ucla_folder(sqe, out)
    assert report.total == 14 and report.converted == 7 and report.ok
    assert sorted(report.skipped) == [("notes.json", "file name is not an NW-UCLA clip name (aAA_sSS_eEE_vVV.json)"),
                                      ("readme.txt", "not a .json file")]  # fmt: skip
    failed = dict(report.failed)
    assert sorted(failed) == sorted(BAD)
    for name, needle in BAD.items():
        assert re.search(needle, failed[name]), (name, failed[name])
    assert report.split_counts == {"xview_train": 4, "xview_test": 3, "xview_test_unique": 1}
    notes = dict(report.notes)
    assert "2 all-zero joint entries" in notes["a08_s02_e01_v01"] and "a single frame" in notes["a08_s02_e01_v03"]
    test_notes = [n for name, n in report.notes if name == "xview_test"]
    assert any("in name order (no val_label.pkl" in n for n in test_notes)
    assert any(n.startswith("1 of 3 clip(s) are copies of xview_train clips (identical)") for n in test_notes)
    assert any(n.startswith("1 of 3 clip(s) are copies of xview_train clips (identical after normalisation)") for n in test_notes)

    ann = load_annotations(out)
    assert ann.layout == "ucla" and ann.layout_name() == "ucla" and ann.label_names == list(UCLA_ACTIONS)
    assert ann.split == {"xview_train": GOOD_TRAIN, "xview_test": GOOD_TEST, "xview_test_unique": ["a08_s02_e01_v03"]}
    assert tuple(ann.split) == UCLA_SPLITS
    assert [r["frame_dir"] for r in ann.select("xview_test")] == GOOD_TEST
    assert ann.labels("xview_train") == {"a01_s01_e00_v01": 0, "a01_s01_e00_v02": 0, "a08_s02_e01_v01": 6, "a08_s02_e01_v02": 6}
    assert all(r["keypoint"].dtype == np.float32 and r["keypoint"].shape[0] == 1 for r in ann.annotations)


def test_test_split_follows_ctrgcn_val_list(sqe: Path, tmp_path: Path) -> None:
    order = ["a08_s02_e01_v03", "a01_s01_e00_v03", "a08_s01_e01_v03"]
    frames = {"a08_s02_e01_v03": 1, "a01_s01_e00_v03": 30, "a08_s01_e01_v03": 22}
    entries = [{"file_name": n, "length": frames[n], "label": int(n[1:3]) if n[1:3] == "01" else 7} for n in order]
    (sqe.parent / "val_label.pkl").write_bytes(pickle.dumps(entries))  # beside the folder, as in CTR-GCN
    report = convert_ucla_folder(sqe, tmp_path / "a.pkl")
    ann = load_annotations(tmp_path / "a.pkl")
    assert ann.split["xview_test"] == order and [r["frame_dir"] for r in ann.select("xview_test")] == order
    assert [r["label"] + 1 for r in ann.select("xview_test")] == [e["label"] for e in entries]
    assert any("CTR-GCN's val list" in n for _, n in report.notes)
    wrong = tmp_path / "wrong.pkl"
    wrong.write_bytes(pickle.dumps([dict(entries[0], label=3)] + entries[1:]))
    with pytest.raises(UclaFileError, match=r"entry 0 \(a08_s02_e01_v03\) says label 3, .*does not describe these files"):
        convert_ucla_folder(sqe, tmp_path / "b.pkl", val_list=wrong)
    assert not (tmp_path / "b.pkl").exists()
    wrong.write_bytes(pickle.dumps([{"file_name": "a01_s01_e00_v01", "length": 40, "label": 1}]))
    with pytest.raises(UclaFileError, match="not a view-3 clip"):
        convert_ucla_folder(sqe, tmp_path / "b.pkl", val_list=wrong)


# ---------------------------------------------------------------------------------------------
# the leakage audit on any annotation file


def two_person_record(name: str, kp: np.ndarray, label: int = 0) -> dict:
    return {"frame_dir": name, "label": label, "total_frames": kp.shape[1], "keypoint": kp}


@pytest.fixture
def planted(tmp_path: Path) -> Path:
    """An NTU-layout file (2 persons, float16 and float32) with planted copies across train and val."""
    rng = np.random.default_rng(0)

    def clip(t: int) -> np.ndarray:
        kp = rng.normal(0, 0.5, size=(2, t, 25, 3)).astype(np.float16).astype(np.float32)
        kp[1, t // 2 :] = 0  # the second person leaves: absent joints are zeros
        return kp

    train = {f"train{i}": clip(20 + i % 3) for i in range(12)}
    val = {f"val{i}": clip(20 + i % 3) for i in range(6)}
    val["val_exact"] = train["train3"].astype(np.float16)  # the same values in another dtype
    moved = train["train7"].copy()
    present = moved.any(axis=-1)
    moved[present] = moved[present] * np.float32(2.5) + np.float32([1.0, -3.0, 0.25])  # translated and scaled
    val["val_moved"] = moved.astype(np.float32)
    near = train["train5"].copy()
    near[0, 4, 2, 0] += 0.01  # one value differs: not a copy
    val["val_near"] = near
    val["val_reversed"] = train["train8"][:, ::-1].copy()  # time reversed: not a copy
    squeezed = train["train9"].copy()
    squeezed[..., 0] *= 0.5  # per-axis scale: the canonical form (per-axis min-max) removes it too
    val["val_squeezed"] = squeezed
    records = [two_person_record(n, kp.astype(np.float16) if n.startswith("train") else kp) for n, kp in {**train, **val}.items()]
    split = {
        "val": list(val),
        "train": list(train),
        "val_clean": [n for n in val if n not in ("val_exact", "val_moved", "val_squeezed")],
        "everything": list(train) + list(val),  # overlaps both: never compared
    }
    path = tmp_path / "planted.pkl"
    save_annotations(path, records, split, layout="nturgb+d")
    return path


def test_find_copies_planted_and_no_false_positives(planted: Path) -> None:
    ann = load_annotations(planted)
    assert comparable_splits(ann.split) == [("train", "val"), ("train", "val_clean")]  # train first; subsets skipped
    copies = find_copies(ann)
    assert sorted(copies) == sorted([
        ("train", "train3", "val", "val_exact", "identical"),
        ("train", "train7", "val", "val_moved", "identical after normalisation"),
        ("train", "train9", "val", "val_squeezed", "identical after normalisation"),
    ])  # fmt: skip
    assert all(c.kind in COPY_KINDS for c in copies)
    assert find_copies(ann, ["train", "val_clean"]) == []
    with pytest.raises(KeyError, match="no split named 'test'"):
        find_copies(ann, ["train", "test"])
    text = copies_report(ann, copies)
    assert "train / val: 1 of 11 val sample(s) have an identical copy in train, 2 more one identical after normalisation" in text
    assert "val_exact = train3" in text and "val_moved = train7 (normalised)" in text
    assert "hint: val without them: val_clean" in text and "train / val_clean: none" in text


def test_canonical_form_removes_translation_and_scale() -> None:
    kp = np.random.default_rng(1).normal(size=(1, 9, 20, 3))
    c = canonical_keypoints(kp)
    assert c.min() == 0.0 and c.max() == 1.0
    # float64: a shift and a division per value of magnitude <= ~12, a few eps (2.2e-16) x 12 ~ 1e-14
    assert np.allclose(canonical_keypoints(kp * 3.0 + 7.0), c, atol=1e-12)
    kp[0, 2, 4] = 0.0  # an absent joint stays apart
    assert (canonical_keypoints(kp)[0, 2, 4] == -1).all()


def test_normalised_copy_found_across_a_bucket_boundary(monkeypatch) -> None:
    from aagcn_lab.data import leakage

    kp = np.random.default_rng(3).normal(size=(1, 30, 20, 3)).astype(np.float32)
    moved = kp * np.float32(1.37) + np.float32(0.123)  # float32 rounding: the canonical arrays differ a little
    mean_a, mean_b = canonical_keypoints(kp).mean(), canonical_keypoints(moved).mean()
    assert 0 < abs(mean_a - mean_b) < 1e-6  # not exactly equal, so the buckets can differ
    middle = (mean_a + mean_b) / 2
    monkeypatch.setattr(leakage, "_BUCKET", middle / round(middle / 1e-5))  # a bucket edge between the two means
    assert np.floor(mean_a / leakage._BUCKET) != np.floor(mean_b / leakage._BUCKET)
    ann = Annotations([two_person_record("a", kp), two_person_record("b", moved)], {"train": ["a"], "test": ["b"]})
    assert find_copies(ann) == [("train", "a", "test", "b", "identical after normalisation")]


def test_no_copies_and_no_pairs_are_reported(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    recs = [two_person_record(f"s{i}", rng.normal(size=(1, 10, 20, 3)).astype(np.float32)) for i in range(4)]
    ann = Annotations(recs, {"train": ["s0", "s1"], "test": ["s2", "s3"]})
    assert find_copies(ann) == [] and copies_report(ann) == "copies across splits: none (compared train / test)"
    ann = Annotations(recs, {"all": ["s0", "s1", "s2", "s3"]})
    assert copies_report(ann) == "copies across splits: no two disjoint splits to compare"


# ---------------------------------------------------------------------------------------------
# the command line and predict


def test_cli_convert_ucla_and_check(sqe: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "ucla.pkl"
    assert cli.main(["convert", "ucla", str(sqe), str(out)]) == 0
    text = capsys.readouterr().out
    assert "14 input(s): 7 converted, 2 skipped, 5 failed" in text
    assert "splits: xview_train 4, xview_test 3, xview_test_unique 1" in text
    assert "1 of 3 clip(s) are copies of xview_train clips (identical)" in text
    assert all(name in text for name in BAD)
    assert cli.main(["convert", "check", str(out)]) == 0  # copies are a report, not an invalid file
    text = capsys.readouterr().out
    assert "layout ucla (20 joints, 3D" in text
    assert "xview_train / xview_test: 1 of 3 xview_test sample(s) have an identical copy in xview_train, 1 more" in text
    assert "a01_s01_e00_v03 = a01_s01_e00_v02" in text and "hint: xview_test without them: xview_test_unique" in text
    assert "xview_train / xview_test_unique: none" in text


def test_cli_convert_ucla_errors(sqe: Path, tmp_path: Path, capsys) -> None:
    assert cli.main(["convert", "ucla", str(tmp_path / "absent"), str(tmp_path / "o.pkl")]) == 2
    assert "no such folder" in capsys.readouterr().err
    bad_list = tmp_path / "val.pkl"
    bad_list.write_bytes(pickle.dumps({"not": "a list"}))
    assert cli.main(["convert", "ucla", str(sqe), str(tmp_path / "o.pkl"), "--val-list", str(bad_list)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "val.pkl: CTR-GCN's val list is a non-empty list" in err and "Traceback" not in err
    only_bad = tmp_path / "bad"
    only_bad.mkdir()
    (only_bad / "a01_s01_e00_v01.json").write_text("{")
    assert cli.main(["convert", "ucla", str(only_bad), str(tmp_path / "o.pkl")]) == 1
    assert "nothing written" in capsys.readouterr().out and not (tmp_path / "o.pkl").exists()


def test_predict_reads_all_sqe_clips(sqe: Path, tmp_path: Path) -> None:
    assert is_ucla_input(sqe / "a01_s01_e00_v01.json") and is_ucla_input(sqe)
    recs = read_input(sqe / "a08_s02_e01_v01.json")
    assert len(recs) == 1 and recs[0]["frame_dir"] == "a08_s02_e01_v01" and recs[0]["label"] == 6
    assert recs[0]["keypoint"].shape == (1, 25, 20, 3)
    good = tmp_path / "good"
    good.mkdir()
    for name in GOOD_TRAIN:
        (good / f"{name}.json").write_bytes((sqe / f"{name}.json").read_bytes())
    recs = read_input(good)
    assert [r["frame_dir"] for r in recs] == GOOD_TRAIN and [r["label"] for r in recs] == [0, 0, 6, 6]
    assert [r["frame_dir"] for r in read_input(good, sample="a08_s02_e01_v02")] == ["a08_s02_e01_v02"]
    with pytest.raises(UclaFileError, match=r"a01_s02_e00_v01\.json: not valid JSON.*convert ucla"):
        read_input(sqe)  # a folder with a broken clip: named, and where to go for the good ones
    kinetics = tmp_path / "k.json"
    kinetics.write_text(json.dumps({"data": [{"frame_index": 1, "skeleton": []}], "label": "x", "label_index": 3}))
    assert not is_ucla_input(kinetics) and not is_ucla_input(tmp_path / "absent.json")
    with pytest.raises(ValueError, match="no person"):
        read_kinetics_json(kinetics)  # still the Kinetics reader's business


# ---------------------------------------------------------------------------------------------
# the real release (reference-nw-ucla.md, section 1)

TRAIN_PER_LABEL = [102, 102, 96, 124, 101, 102, 99, 99, 98, 97]
TEST_PER_LABEL = [48, 50, 45, 49, 47, 47, 43, 43, 47, 45]


@pytest.fixture(scope="module")
def real_ucla(tmp_path_factory) -> tuple:
    src = shared_file("data", "nw_ucla", "all_sqe")
    out = tmp_path_factory.mktemp("ucla") / "nw_ucla.pkl"
    report = convert_ucla_folder(src, out)  # about 2 s for the 1,484 clips
    return src, report, load_annotations(out), out


def test_real_release_splits_copies_and_notes(real_ucla) -> None:
    src, report, ann, _ = real_ucla
    names = sorted(p.stem for p in src.glob("*.json"))
    assert len(names) == 1484 and report.total == 1484 and report.converted == 1484
    assert not report.failed and not report.skipped
    assert report.split_counts == {"xview_train": 1020, "xview_test": 464, "xview_test_unique": 369}
    assert ann.split["xview_train"] == [n for n in names if not n.endswith("v03")]
    assert sorted(ann.split["xview_test"]) == [n for n in names if n.endswith("v03")]
    copied = set(ann.split["xview_test"]) - set(ann.split["xview_test_unique"])
    assert copied == {n for n in names if n.endswith("v03") and n[:3] in ("a02", "a03")} and len(copied) == 95
    copies = find_copies(ann)
    assert {c.kind for c in copies} == {"identical"} and len(copies) == 95
    assert {(c.frame_dir_a, c.frame_dir_b) for c in copies} == {(n[:-3] + "v02", n) for n in copied}
    per_label = [np.bincount([r["label"] for r in ann.select(s)], minlength=10).tolist() for s in ("xview_train", "xview_test")]
    assert per_label == [TRAIN_PER_LABEL, TEST_PER_LABEL]
    one = {r["frame_dir"]: r for r in ann.select("xview_test")}["a02_s09_e04_v03"]
    assert one["total_frames"] == 1 and one["keypoint"].shape == (1, 1, 20, 3)
    notes = dict(report.notes)
    assert "a single frame" in notes["a02_s09_e04_v03"] and "a single frame" in notes["a02_s09_e04_v02"]
    zero_notes = {name: n for name, n in report.notes if "all-zero joint" in n}
    assert set(zero_notes) == {"a04_s01_e01_v01", "a04_s04_e02_v01"}
    assert sum(int(n.split()[0]) for n in zero_notes.values()) == 12 and "frame(s) entirely zero" not in str(zero_notes)
    frames = np.array([r["total_frames"] for r in ann.annotations])
    assert frames.sum() == 58534


def test_real_release_test_order_is_ctrgcn_val_list(real_ucla) -> None:
    _, report, ann, _ = real_ucla
    val = pickle.loads(shared_file("data", "nw_ucla", "val_label.pkl").read_bytes())
    test = ann.select("xview_test")
    assert [r["frame_dir"] for r in test] == [e["file_name"] for e in val]
    assert [r["label"] + 1 for r in test] == [e["label"] for e in val]
    assert [r["total_frames"] for r in test] == [e["length"] for e in val]
    assert any("CTR-GCN's val list" in n for _, n in report.notes)


def test_real_release_check_prints_the_copies(real_ucla, capsys) -> None:
    *_, out = real_ucla
    assert cli.main(["convert", "check", str(out)]) == 0
    text = capsys.readouterr().out
    assert "xview_train / xview_test: 95 of 464 xview_test sample(s) have an identical copy in xview_train, 0 more" in text
    assert "hint: xview_test without them: xview_test_unique" in text
