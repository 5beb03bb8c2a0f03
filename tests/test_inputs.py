"""The table of inputs (``aagcn_lab.data.inputs``): every format detected and read through one doorway,
one rule for each ambiguity, the old import paths kept, and a new format added by one row."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from aagcn_lab import cli
from aagcn_lab.data import inputs
from aagcn_lab.data.inputs import FORMATS, InputFormat, detect_format, read_input
from aagcn_lab.data.poses.arrays import reads_scores
from aagcn_lab.data.poses.frames import PoseFormatError, PoseNote
from aagcn_lab.data.records import save_annotations
from aagcn_lab.model import AAGCN, AAGCNConfig
from aagcn_lab.model.checkpoint import save_checkpoint

from .test_bad_inputs_readers import body, coco_results, kinetics_file, openpose_folder, two_people
from .test_readers import make_dense, moving, write_skeleton
from .test_ucla_data import skeleton, write_clip

SMALL = dict(base_channels=8, num_stages=4, inflate_stages=[3], down_stages=[3])


def tiny(path: Path, layout: str, num_person: int = 2, in_channels: int = 3) -> Path:
    torch.manual_seed(0)
    cfg = AAGCNConfig(layout=layout, num_classes=5, in_channels=in_channels, num_person=num_person, **SMALL)
    return save_checkpoint(AAGCN(cfg), path, meta={"feat": "j"})


def lifted_3d(frames: int = 12) -> np.ndarray:
    """A Human3.6M-17 body in metres, root-relative: ``(T, 17, 3)``, channel 2 negative in places (depth)."""
    rng = np.random.default_rng(4)
    return (rng.normal(0, 0.3, (17, 3)) + np.linspace(0, 0.2, frames)[:, None, None]).astype(np.float32)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """One small file (or folder) of each format that is detected from the file."""
    out = {}
    out["ntu"] = write_skeleton(tmp_path / "S001C001P001R001A005.skeleton", [[(7, j)] for j in moving(20, 0.1)])
    kinetics_file(tmp_path / "kin.json")
    out["kinetics"] = tmp_path / "kin.json"
    (tmp_path / "ucla").mkdir()
    write_clip(tmp_path / "ucla", "a01_s01_e00_v01", skeleton(0, 14), 1)
    out["ucla"] = tmp_path / "ucla" / "a01_s01_e00_v01.json"
    out["openpose"] = openpose_folder(tmp_path / "op", two_people(6, 18))
    out["coco"] = coco_results(tmp_path / "results.json", two_people(6, 17))
    (tmp_path / "mm.json").write_text(json.dumps({"meta_info": {"dataset_name": "coco"}, "instance_info": [
        {"frame_id": t, "instances": [{"keypoints": body(17, 300, t).tolist(), "keypoint_scores": [0.9] * 17}]} for t in range(6)]}))
    out["mmpose"] = tmp_path / "mm.json"
    (tmp_path / "mp.csv").write_text("frame,landmark,x,y,z,visibility\n" + "".join(
        f"{t},{j},{0.4 + 0.001 * j},{0.5 + 0.002 * j},0,0.9\n" for t in range(4) for j in range(33)))
    out["mediapipe"] = tmp_path / "mp.csv"
    np.savez(tmp_path / "lift.npz", reconstruction=lifted_3d())
    out["mhformer"] = tmp_path / "lift.npz"
    np.save(tmp_path / "ntu.npy", np.stack([moving(10, 0.1)[t] for t in range(10)]).astype(np.float32))
    out["array"] = tmp_path / "ntu.npy"
    out["dense"], _, _ = make_dense(tmp_path / "dense", n=2)
    recs = [{"frame_dir": f"s{i}", "label": i, "total_frames": 10, "keypoint": np.ones((1, 10, 25, 3), np.float32) * (i + 1)} for i in range(2)]
    out["annotations"] = save_annotations(tmp_path / "ann.pkl", recs, {"test": ["s0", "s1"]}, layout="nturgb+d")
    return out


def test_every_format_is_one_row_and_each_file_is_detected_and_read_through_the_one_doorway(files):
    assert len(FORMATS) == len(set(FORMATS)) and all(isinstance(f, InputFormat) and f.help for f in FORMATS.values())
    for name, path in files.items():
        assert detect_format(path) == name, path
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            recs = read_input(path)
        assert recs and all(r["keypoint"].ndim == 4 for r in recs), name
    assert [r["label"] for r in read_input(files["dense"])] == [0, 1]  # labels from the pickle beside the array
    assert read_input(files["ntu"])[0]["label"] == 4 and read_input(files["annotations"], "s1")[0]["label"] == 1
    assert detect_format("builtin") == "builtin" and read_input("builtin", "S001C001P001R001A001")[0]["label"] == 0
    assert inputs.input_label_space(files["ntu"]).dataset == "NTU" and inputs.input_label_space(files["ucla"]).dataset == "NW-UCLA"


def test_the_trainer_and_the_old_import_paths_read_through_the_same_table():
    from aagcn_lab.data import annotations, poses
    from aagcn_lab.train import evaluation, trainer

    assert annotations.resolve_annotations is inputs.resolve_annotations is trainer.resolve_annotations is evaluation.resolve_annotations
    old = ["POSE_FORMATS", "SOURCE_JOINTS", "JOINT_MAPS", "PoseFormatError", "LayoutMismatchError", "PoseFrames", "detect_format",
           "read_poses", "to_record", "read_pose_records", "read_pose_input", "read_frame", "join_frames", "PoseNote", "print_notes",
           "map_joints", "fit_layout", "feeds", "convert_poses", "check_person", "median_extent", "NORMALISED_LIMIT",
           "MEDIAPIPE_LANDMARKS", "load_npz", "parse_img_size", "OTHER_FORMATS"]  # fmt: skip
    assert all(getattr(poses, name) is not None for name in old)
    assert poses.detect_format is detect_format and set(poses.POSE_FORMATS) | set(poses.OTHER_FORMATS) == set(FORMATS)
    assert inputs.resolve_annotations("builtin").layout == "nturgb+d"


def test_a_human36m_array_is_read_as_the_h36m_model_says_and_refused_when_nothing_decides(tmp_path, capsys):
    path = tmp_path / "m1.npy"
    np.save(path, lifted_3d())
    h36m, coco = tiny(tmp_path / "h36m.pt", "h36m"), tiny(tmp_path / "coco.pt", "coco")
    assert detect_format(path, "h36m") == "h36m"
    assert cli.main(["predict", "-c", str(h36m), "-i", str(path), "--clips", "1", "--json"]) == 0  # was refused as ambiguous
    assert json.loads(capsys.readouterr().out)[0]["sample"] == "m1"
    for argv in (["-c", str(coco)], ["-c", str(h36m), "--format", "coco"]):  # a 2D model would read depth as a score
        code = cli.main(["predict", *argv, "-i", str(path), "--clips", "1"])
        err = capsys.readouterr().err
        assert code == 2 and ("--format coco or --format h36m" in err or "score" in err), err
    xys = tmp_path / "xys.npy"
    np.save(xys, np.concatenate([np.stack([body(17, 300, t) for t in range(8)]), np.full((8, 17, 1), 0.8)], -1).astype(np.float32))
    assert detect_format(xys, "coco", with_score=True) == "coco" and detect_format(xys, "openpose", with_score=True) == "coco"
    with pytest.raises(PoseFormatError, match="--format coco or --format h36m"):
        detect_format(xys, "coco")  # told nothing: channel 2 is not taken for a score


def test_what_c_3_means_is_one_rule_for_arrays_files_and_streamed_frames(tmp_path):
    assert [reads_scores(3, True), reads_scores(3, False, 2), reads_scores(3, None, 2), reads_scores(3, None, 3),
            reads_scores(3, None, None), reads_scores(2, True)] == [True, False, True, False, False, False]  # fmt: skip
    xys = np.concatenate([np.stack([body(18, 300, t) for t in range(8)]), np.full((8, 18, 1), 0.8)], -1).astype(np.float32)
    np.save(tmp_path / "xys.npy", xys)
    out = tmp_path / "out.pkl"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        [pred_rec] = read_input(tmp_path / "xys.npy", with_score=True)
        report = inputs.convert_poses([tmp_path / "xys.npy"], out, "array", label=1, with_score=True)
    assert report.ok, report.failed
    from aagcn_lab.data.records import load_annotations

    [conv_rec] = load_annotations(out).annotations
    # predict and convert read the same .npy by the same rule: the same (x, y) and scores, the same layout
    np.testing.assert_array_equal(conv_rec["keypoint"], pred_rec["keypoint"])
    np.testing.assert_array_equal(conv_rec["keypoint_score"], pred_rec["keypoint_score"])
    assert conv_rec["layout"] == pred_rec["layout"] == "openpose"
    frame = inputs.read_frame(xys[0].tolist(), "openpose", 2)  # streamed to a 2D model: x, y, score
    assert frame.has_score and frame.coords[0].shape == (1, 18, 2)


def test_a_model_with_three_person_slots_gets_three_tracked_people(tmp_path):
    from aagcn_lab.prediction import load_stream_models, predict, predict_records

    frames = [[(body(18, x0, t, seed), np.full(18, s)) for x0, seed, s in ((100, 1, 0.9), (700, 2, 0.8), (1300, 3, 0.7))] for t in range(8)]
    folder = openpose_folder(tmp_path / "three", frames)
    ckpt = tiny(tmp_path / "op3.pt", "openpose", num_person=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        [pred] = predict(ckpt, folder, num_clips=1, img_shape=(720, 1920))
        [rec3] = read_input(folder, img_shape=(720, 1920), max_persons=3)
        [rec2] = read_input(folder, img_shape=(720, 1920))
    models = load_stream_models(ckpt)
    [three] = predict_records(models, [rec3], num_clips=1)
    [two] = predict_records(models, [rec2], num_clips=1)
    assert rec3["keypoint"].shape[0] == 3 and not np.allclose(three.probs, two.probs, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(pred.probs, three.probs)  # the same operations on the same record: equal


def test_a_new_format_is_one_module_and_one_row(tmp_path, monkeypatch):
    """What the next reader does: a function that reads its files and a row that recognises them."""

    def read_tsv(path: Path, options: inputs.ReadOptions, notes: list) -> list[dict]:
        rows = np.loadtxt(path, delimiter="\t", dtype=np.float32).reshape(-1, 25, 3)
        notes.append((path.stem, "read as NTU-25 metres"))
        return [{"frame_dir": path.stem, "label": -1, "total_frames": len(rows), "keypoint": rows[None], "layout": "nturgb+d"}]

    row = InputFormat("tsv-skeleton", "tab-separated NTU-25 joints, one frame a line", (".tsv",), read=read_tsv)
    monkeypatch.setitem(FORMATS, row.name, row)
    path = tmp_path / "walk.tsv"
    np.savetxt(path, np.stack(moving(12, 0.1)).reshape(12, -1), delimiter="\t")
    assert detect_format(path) == "tsv-skeleton" and "tsv-skeleton" in inputs.format_help()
    with pytest.warns(PoseNote, match="walk: read as NTU-25 metres"):
        [pred] = __import__("aagcn_lab").predict(tiny(tmp_path / "ntu.pt", "nturgb+d"), path, num_clips=1)
    assert pred.frame_dir == "walk"


def test_an_input_of_no_row_names_every_format(tmp_path):
    (tmp_path / "x.txt").write_text("1 2 3")
    with pytest.raises(PoseFormatError, match=r"unknown kind of file \(\.txt\).*array, openpose, coco.*builtin"):
        detect_format(tmp_path / "x.txt")
    with pytest.raises(PoseFormatError, match="unknown format 'nope'"):
        read_input(tmp_path / "x.txt", fmt="nope")
