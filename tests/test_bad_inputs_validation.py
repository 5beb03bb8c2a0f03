"""Bad inputs through the one validation layer (aagcn_lab.data.validate), class by class (issue 13).

Each test asserts the exact property: a non-zero status and one line without a traceback from the
command line, the file or sample named, the good records kept, nothing corrupt written, and
options and output paths checked before any work. Built from the real samples in
``../shared/data/real_samples`` (skipped when absent) and from self-made files.
"""

from __future__ import annotations

import json
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from aagcn_lab import cli
from aagcn_lab.data.annotations import AnnotationError, load_annotations, save_annotations
from aagcn_lab.data.dense import convert_dense
from aagcn_lab.data.kinetics import KineticsFileError, convert_kinetics_folder, read_kinetics_json
from aagcn_lab.data.ntu import convert_ntu_folder
from aagcn_lab.data.pipeline import build_pipeline
from aagcn_lab.data.validate import (
    FLOAT16_MAX,
    InputError,
    check_output_path,
    check_weights,
    record_problems,
    to_storage,
)
from aagcn_lab.fusion import FusionError, fuse, parse_weights
from aagcn_lab.io import CorruptFileError, UnsafeFileError, safe_npy_load
from aagcn_lab.model import AAGCN, AAGCNConfig
from aagcn_lab.model.checkpoint import read_checkpoint, save_checkpoint
from aagcn_lab.prediction import predict
from aagcn_lab.scores import Scores, load_scores, save_scores
from aagcn_lab.train.config import TrainConfig, apply_overrides, preset

from .conftest import REAL, REPO

SMALL = dict(base_channels=8, num_stages=4, inflate_stages=[3], down_stages=[3])
NTU_GOOD = ("S001C001P001R001A011", "S002C001P003R001A003")  # real files that convert
NTU_EDIT = "S003C001P015R001A034"  # a real file that each test garbles in its own way
KIN = REAL / "kinetics_skeleton_stgcn_json"


def real(*parts: str) -> Path:
    """A real sample, or skip when ../shared is absent."""
    path = REAL.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real samples not available: {path}")
    return path


def run_cli(argv: list[str], capsys) -> tuple[int, str, str]:
    """``aagcn-lab ARGV`` in this process: (status, stdout, stderr)."""
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def assert_clean_failure(code: int, err: str, *needles: str) -> None:
    """Non-zero status, no traceback, and every needle in the message."""
    assert code != 0
    assert "Traceback" not in err and err.strip(), err
    for n in needles:
        assert n in err, (n, err)


@pytest.fixture(scope="module")
def ckpts(tmp_path_factory) -> dict[str, Path]:
    """Small models: NTU joint and bone streams, a COCO (2D) joint stream, one with exploding weights."""
    root = tmp_path_factory.mktemp("ckpt")
    out = {}
    for name, layout, feat in (("ntu_j", "nturgb+d", "j"), ("ntu_b", "nturgb+d", "b"), ("coco_j", "coco", "j")):
        torch.manual_seed(0)
        model = AAGCN(AAGCNConfig(layout=layout, num_classes=5, **SMALL))
        out[name] = save_checkpoint(model, root / f"{name}.pt", meta={"feat": feat})
    torch.manual_seed(0)
    model = AAGCN(AAGCNConfig(layout="nturgb+d", num_classes=5, **SMALL))
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(1e30)  # finite weights whose products overflow float32
    out["huge"] = save_checkpoint(model, root / "huge.pt", meta={"feat": "j"})
    return out


def ntu_record(name: str = "a", label: int = 0, frames: int = 12, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    kp = (rng.normal(size=(1, frames, 25, 3)) * 0.3 + [0, 0, 3]).astype(np.float16)
    return {"frame_dir": name, "label": label, "total_frames": frames, "keypoint": kp}


def record_2d(name: str = "c", frames: int = 12, seed: int = 1) -> dict:
    rng = np.random.default_rng(seed)
    return {
        "frame_dir": name,
        "label": 0,
        "total_frames": frames,
        "keypoint": rng.uniform(0.2, 0.8, (1, frames, 17, 2)).astype(np.float32),
        "keypoint_score": rng.uniform(0.3, 1.0, (1, frames, 17)).astype(np.float32),
        "img_shape": (1, 1),
    }


def garble_ntu(src: Path, dst: Path, edit) -> Path:
    lines = src.read_text().splitlines()
    edit(lines)
    dst.write_text("\n".join(lines) + "\n")
    return dst


def ntu_folder(tmp_path: Path, edit) -> Path:
    """The two good real files plus one real file garbled by ``edit(lines)``."""
    folder = tmp_path / "ntu"
    folder.mkdir()
    for name in NTU_GOOD:
        shutil.copy(real("ntu60_skeleton_levelca", f"{name}.skeleton"), folder)
    garble_ntu(real("ntu60_skeleton_levelca", f"{NTU_EDIT}.skeleton"), folder / f"{NTU_EDIT}.skeleton", edit)
    return folder


def assert_written_file_is_valid(path: Path, names: tuple[str, ...], capsys) -> None:
    """What a converter wrote passes `convert check` and holds exactly the good records."""
    code, out, err = run_cli(["convert", "check", str(path)], capsys)
    assert code == 0, err
    ann = load_annotations(path)
    assert sorted(r["frame_dir"] for r in ann.annotations) == sorted(names)
    assert all(np.isfinite(r["keypoint"]).all() for r in ann.annotations)


# ------------------------------------------------------------------------------------------------
# 1. values that overflow the storage dtype


def test_to_storage_refuses_values_the_cast_makes_infinite() -> None:
    assert to_storage(np.array([1.5, -FLOAT16_MAX]), np.float16, "x").dtype == np.float16
    for value in (70000.0, -1e6, 1e300):
        with pytest.raises(InputError, match=r"sample S1: 1 value\(s\) overflow float16 .* wrong units"):
            to_storage(np.array([0.0, value]), np.float16, "sample S1")
    with pytest.raises(InputError, match="overflow float32"):
        to_storage(np.array([1e39]), np.float32, "x")
    with pytest.raises(InputError, match="NaN/inf"):
        to_storage(np.array([np.nan]), np.float16, "x")


@pytest.mark.parametrize(
    "value, needle",
    [("70000", "overflow float16"), ("-65520", "overflow float16"), ("123456.0", "beyond 100000 metres"), ("1e10", "line 5")],
)
def test_ntu_coordinate_beyond_float16_is_reported_and_the_rest_converts(tmp_path: Path, value: str, needle: str, capsys) -> None:
    def edit(lines):
        fields = lines[4].split()  # frame 1, body 1, joint 1
        fields[1] = value
        lines[4] = " ".join(fields)

    folder = ntu_folder(tmp_path, edit)
    report = convert_ntu_folder(folder, tmp_path / "ntu.pkl")
    failed = dict(report.failed)
    assert list(failed) == [NTU_EDIT] and needle in failed[NTU_EDIT] and f"{NTU_EDIT}.skeleton" in failed[NTU_EDIT]
    assert report.converted == 2
    assert_written_file_is_valid(tmp_path / "ntu.pkl", NTU_GOOD, capsys)


def test_dense_sample_beyond_float32_is_reported_and_nothing_corrupt_is_written(tmp_path: Path, capsys) -> None:
    rng = np.random.default_rng(0)
    data = rng.normal(size=(3, 3, 20, 25, 2)).astype(np.float64)
    data[1, 0, 3, 4, 0] = 1e40  # finite in float64, inf in float32
    data[2, 1, 5, 6, 0] = 2e5  # storable, but no skeleton unit: refused by the record rules
    np.save(tmp_path / "val_data_joint.npy", data)
    names = ["S001C001P001R001A001.skeleton", "S001C001P001R001A002.skeleton", "S001C001P001R001A003.skeleton"]
    with open(tmp_path / "val_label.pkl", "wb") as f:
        pickle.dump((names, [0, 1, 2]), f)
    report = convert_dense(tmp_path / "val_data_joint.npy", tmp_path / "val_label.pkl", tmp_path / "out.pkl")
    failed = dict(report.failed)
    assert "overflow float32" in failed["S001C001P001R001A002"] and "beyond" in failed["S001C001P001R001A003"]
    assert report.converted == 1
    assert_written_file_is_valid(tmp_path / "out.pkl", ("S001C001P001R001A001",), capsys)


def test_predict_never_prints_a_nan_probability(ckpts, tmp_path: Path, capsys) -> None:
    rec = ntu_record()
    with pytest.raises(InputError, match="sample a: the j model gave NaN/inf probabilities"):
        predict(ckpts["huge"], rec, num_clips=1)
    np.save(tmp_path / "x.npy", rec["keypoint"].astype(np.float32))
    code, out, err = run_cli(["predict", "-c", str(ckpts["huge"]), "-i", str(tmp_path / "x.npy"), "--clips", "1"], capsys)
    assert_clean_failure(code, err, "NaN/inf probabilities")
    assert "nan" not in out.lower()


# ------------------------------------------------------------------------------------------------
# 2. wrong units and ranges


def scaled_kinetics(tmp_path: Path, video: str, pose=1.0, score=1.0) -> Path:
    d = json.loads(real("kinetics_skeleton_stgcn_json", f"{video}.json").read_text())
    for fr in d["data"]:
        for p in fr["skeleton"]:
            p["pose"] = [v * pose for v in p["pose"]]
            p["score"] = [v * score for v in p["score"]]
    path = tmp_path / f"{video}.json"
    path.write_text(json.dumps(d))
    return path


@pytest.mark.parametrize("video", ["__U_scuxNlQ", "__vzEs2wzdQ"])
def test_kinetics_json_in_pixels_is_an_error(tmp_path: Path, video: str) -> None:
    path = scaled_kinetics(tmp_path, video, pose=1280.0)
    with pytest.raises(KineticsFileError, match=rf"{video}\.json: 2D x ranges over .*fractions of the frame"):
        read_kinetics_json(path)


@pytest.mark.parametrize("factor, needle", [(100.0, "percent"), (-1.0, "negative"), (3.0, "values up to")])
def test_kinetics_scores_outside_0_1_are_an_error(tmp_path: Path, factor: float, needle: str) -> None:
    path = scaled_kinetics(tmp_path, "__vzEs2wzdQ", score=factor)
    with pytest.raises(KineticsFileError, match=rf"__vzEs2wzdQ\.json: keypoint_score .*{needle}"):
        read_kinetics_json(path)


def test_real_kinetics_heatmap_scores_slightly_above_1_are_accepted() -> None:
    rec = read_kinetics_json(real("kinetics_skeleton_stgcn_json", "__lt03EF4ao.json"))  # scores up to 1.176
    assert 1 < rec["keypoint_score"].max() <= 1.25 and not record_problems(rec)


def test_kinetics_folder_with_wrong_units_keeps_the_good_files(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "kin"
    folder.mkdir()
    shutil.copy(real("kinetics_skeleton_stgcn_json", "__NrybzYzUg.json"), folder)
    scaled_kinetics(folder, "__U_scuxNlQ", pose=1920.0)
    scaled_kinetics(folder, "__vzEs2wzdQ", score=100.0)
    report = convert_kinetics_folder(folder, tmp_path / "k.pkl")
    assert sorted(dict(report.failed)) == ["__U_scuxNlQ", "__vzEs2wzdQ"] and report.converted == 1
    assert_written_file_is_valid(tmp_path / "k.pkl", ("__NrybzYzUg",), capsys)


@pytest.mark.parametrize(
    "change, needle",
    [
        (lambda r: r.update(keypoint=r["keypoint"] * 1280), "fractions of the frame"),
        (lambda r: r.update(keypoint_score=r["keypoint_score"] * 100), "percent"),
        (lambda r: r.update(keypoint_score=r["keypoint_score"] - 0.5), "negative"),
        (lambda r: r.update(img_shape=(1080, 1920), keypoint=r["keypoint"] * 1e4), "pixels of a 1920 x 1080 image"),
    ],
)
def test_check_and_load_annotations_refuse_wrong_units(tmp_path: Path, change, needle: str, capsys) -> None:
    bad = record_2d("bad")
    change(bad)
    with pytest.raises(AnnotationError, match=rf"(?s)refused.pkl \(not written\): 1 of 2 .*bad: .*{needle}"):
        save_annotations(tmp_path / "refused.pkl", [record_2d("good"), bad], {"val": ["good", "bad"]}, layout="coco")
    assert not (tmp_path / "refused.pkl").exists()  # nothing that loading would reject is written
    path = save_annotations(tmp_path / "ann.pkl", [record_2d("good"), bad], {"val": ["good", "bad"]}, layout="coco", check=False)
    with pytest.raises(AnnotationError, match=rf"bad: .*{needle}"):
        load_annotations(path)
    code, out, err = run_cli(["convert", "check", str(path)], capsys)
    assert code == 1 and "1 valid record" in out and "bad: " in out and needle in out


# ------------------------------------------------------------------------------------------------
# 3. inconsistent files


def test_mixed_2d_and_3d_records_are_refused_even_when_the_file_names_its_layout(tmp_path: Path, capsys) -> None:
    flat = record_2d("flat")
    flat["keypoint"] = np.random.default_rng(0).uniform(0.2, 0.8, (1, 12, 25, 2)).astype(np.float32)
    flat["keypoint_score"] = np.ones((1, 12, 25), np.float32)
    path = save_annotations(tmp_path / "mixed.pkl", [ntu_record("a"), flat, ntu_record("b")], {"val": ["a", "flat", "b"]}, layout="nturgb+d", check=False)
    with pytest.raises(AnnotationError, match="flat: keypoint has V = 25, C = 2 .*one kind of skeleton"):
        load_annotations(path)
    code, out, _ = run_cli(["convert", "check", str(path)], capsys)
    assert code == 1 and "2 valid record" in out and "flat:" in out


@pytest.mark.parametrize("label", [99999, 1000])
def test_a_stray_label_without_class_names_cannot_build_a_huge_model(tmp_path: Path, label: int, capsys) -> None:
    path = save_annotations(tmp_path / "a.pkl", [ntu_record("a", 0), ntu_record("b", label), ntu_record("c", 1)], {"val": ["a", "b", "c"]}, check=False)
    with pytest.raises(AnnotationError, match=rf"b: label {label} is >= 1000 and the file has no class names"):
        load_annotations(path)
    with pytest.warns(UserWarning):
        assert load_annotations(path, on_error="skip").num_classes == 2
    # with class names, the names bound the labels instead
    names = [f"c{i}" for i in range(label + 1)]
    assert load_annotations(save_annotations(tmp_path / "n.pkl", [ntu_record("b", label)], {}, names)).num_classes == label + 1


# ------------------------------------------------------------------------------------------------
# 4. fusion and prediction


def score_files(tmp_path: Path, nan_row: int | None = None) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    ids, labels = [f"s{i}" for i in range(8)], rng.integers(0, 4, 8)
    j = save_scores(tmp_path / "j.npz", Scores(ids, rng.dirichlet(np.ones(4), 8), labels, {"feat": "j"}))
    p = rng.dirichlet(np.ones(4), 8)
    b = tmp_path / "b.npz"
    save_scores(b, Scores(ids, p, labels, {"feat": "b"}))
    if nan_row is not None:  # a file written by another tool: np.savez with a NaN row
        with np.load(b) as z:
            arrays = dict(z)
        arrays["probs"][nan_row] = np.nan
        np.savez(b, **arrays)
    return j, b


def test_pyskl_result_pickle_with_a_nan_row_is_refused(tmp_path: Path, capsys) -> None:
    recs = [ntu_record(f"S{i}", i % 2) for i in range(4)]
    ann = save_annotations(tmp_path / "ann.pkl", recs, {"val": [r["frame_dir"] for r in recs]})
    rows = [np.full(2, 0.5) for _ in recs]
    rows[2] = np.array([np.nan, 1.0])
    (tmp_path / "result_j.pkl").write_bytes(pickle.dumps(rows))
    (tmp_path / "result_b.pkl").write_bytes(pickle.dumps([np.full(2, 0.5) for _ in recs]))
    argv = ["fuse", str(tmp_path / "result_j.pkl"), str(tmp_path / "result_b.pkl"), "--ann-file", str(ann), "--split", "val"]
    code, out, err = run_cli(argv, capsys)
    assert_clean_failure(code, err, "result_j.pkl", "S2")
    assert out == ""


def test_fuse_refuses_nan_score_rows_and_names_the_sample(tmp_path: Path, capsys) -> None:
    j, b = score_files(tmp_path, nan_row=3)
    with pytest.raises(CorruptFileError, match=r"b\.npz: .*1 sample\(s\) have NaN/inf scores \(s3\)"):
        load_scores(b)
    code, out, err = run_cli(["fuse", str(j), str(b)], capsys)
    assert_clean_failure(code, err, "s3")
    assert out == ""  # no table
    with pytest.raises(InputError, match="s1"):
        Scores(["s0", "s1"], np.array([[0.5, 0.5], [np.inf, 0.0]]))


@pytest.mark.parametrize("weights, needle", [("j=nan,b=1", "is nan"), ("j=0,b=0", "every weight is 0"), ("j=-1,b=1", "is -1.0"), ("j=1,j=2", "given twice")])
def test_fuse_refuses_bad_weights(tmp_path: Path, weights: str, needle: str, capsys) -> None:
    j, b = score_files(tmp_path)
    code, out, err = run_cli(["fuse", str(j), str(b), "--weights", weights], capsys)
    assert_clean_failure(code, err, needle)
    assert out == ""
    with pytest.raises(ValueError, match=needle.split()[0]):
        parse_weights(weights)
    with pytest.raises(InputError, match="finite"):
        fuse({"j": load_scores(j)}, {"j": float("inf")})
    with pytest.raises(FusionError, match="without scores"):
        fuse({"j": load_scores(j)}, {"j": 1.0, "x": 1.0})


def test_check_weights() -> None:
    assert check_weights({"j": 2, "b": 0}) == {"j": 2.0, "b": 0.0}
    for bad in ({"j": "x"}, {"j": float("inf")}, {"j": 0.0}):
        with pytest.raises(InputError):
            check_weights(bad)


def test_predict_with_one_stream_named_twice_stops(ckpts, capsys) -> None:
    src = real("ntu60_skeleton_levelca", f"{NTU_GOOD[0]}.skeleton")
    code, out, err = run_cli(["predict", "-c", f"j={ckpts['ntu_j']}", f"j={ckpts['ntu_b']}", "-i", str(src), "--clips", "1"], capsys)
    assert_clean_failure(code, err, "stream name given more than once: j")
    assert out == ""
    code, out, err = run_cli(["predict", "-c", str(ckpts["ntu_j"]), str(ckpts["ntu_j"]), "-i", str(src)], capsys)
    assert_clean_failure(code, err, "checkpoint given more than once")


def test_xy_score_array_to_a_2d_model_needs_with_score(ckpts, tmp_path: Path, capsys) -> None:
    rng = np.random.default_rng(0)
    arr = np.concatenate([rng.uniform(200, 900, (16, 17, 2)), rng.uniform(0.5, 1, (16, 17, 1))], -1).astype(np.float32)
    with pytest.raises(InputError, match="3D data .* 2D model .*with_score"):
        predict(ckpts["coco_j"], arr, num_clips=1)
    pred = predict(ckpts["coco_j"], arr, num_clips=1, with_score=True)[0]
    # f32 softmax over K = 5 classes (exp, a K-term sum, a division: K + 2 roundings): 7 x 1.2e-7 = 8.3e-7 < 1e-6
    assert np.isfinite(pred.probs).all() and abs(pred.probs.sum() - 1) < 1e-6
    np.save(tmp_path / "xys.npy", arr)
    code, out, err = run_cli(["predict", "-c", str(ckpts["coco_j"]), "-i", str(tmp_path / "xys.npy"), "--format", "array"], capsys)
    assert_clean_failure(code, err, "--with-score")
    # and a 2D record to a 3D model
    with pytest.raises(InputError, match="2D data .* 3D model"):
        predict(ckpts["ntu_j"], np.pad(arr[..., :2], ((0, 0), (0, 8), (0, 0))), num_clips=1)  # (16, 25, 2) pixels


BAD_RECORDS = {
    "nan": (lambda r: r["keypoint"].__setitem__((0, 3, 4, 0), np.nan), "NaN/inf"),
    "inf": (lambda r: r.update(keypoint=np.where(np.arange(25)[:, None] == 2, np.inf, r["keypoint"].astype(np.float32))), "NaN/inf"),
    "object": (lambda r: r.update(keypoint=r["keypoint"].astype(object)), "float"),
    "joints": (lambda r: r.update(keypoint=r["keypoint"][:, :, :17]), "V = 25"),
    "int": (lambda r: r.update(keypoint=(r["keypoint"] * 100).astype(np.int32)), "float"),
    "huge": (lambda r: r.update(keypoint=r["keypoint"].astype(np.float32) * 1e7), "beyond"),
    "label": (lambda r: r.update(label="7"), "label"),
}


@pytest.mark.parametrize("kind", sorted(BAD_RECORDS))
def test_pipeline_call_refuses_bad_records(kind: str) -> None:
    rec = ntu_record("s9")
    change, needle = BAD_RECORDS[kind]
    change(rec)
    for feat in ("j", "bm"):
        with pytest.raises(InputError, match=rf"sample s9: .*{needle}"):
            build_pipeline(feat, "test", "nturgb+d", 16, 2)(rec)


@pytest.mark.parametrize("kind", ["nan", "inf", "object", "joints", "huge"])
def test_predict_refuses_bad_records(ckpts, kind: str) -> None:
    rec = ntu_record("s9")
    BAD_RECORDS[kind][0](rec)
    with pytest.raises(InputError, match="s9"):
        predict(ckpts["ntu_j"], rec, num_clips=1)


def test_float16_normalisation_overflow_is_caught() -> None:
    rec = ntu_record("far")
    rec["keypoint"][0, :, 1] = -60000  # the centre joint far from the others: differences overflow float16
    rec["keypoint"][0, :, 5] = 60000
    with pytest.raises(InputError, match="far: normalisation overflowed"):
        build_pipeline("j", "test", "nturgb+d", 16, 1)(rec)
    assert any("differences of such values overflow float16" in p for p in record_problems(rec))  # refused at load


# ------------------------------------------------------------------------------------------------
# 5. training configs


@pytest.mark.parametrize(
    "overrides, needle",
    [
        ({"lr": "NaN"}, "lr must be a finite number > 0"),
        ({"lr": "Infinity"}, "lr must be"),
        ({"lr": "-0.1"}, "lr must be"),
        ({"momentum": "1.5"}, "momentum"),
        ({"weight_decay": "NaN"}, "weight_decay"),
        ({"augment.rotate_deg": "abc"}, "augment.rotate_deg: expected a number"),
        ({"augment.flip_prob": "2"}, "augment.flip_prob"),
        ({"augment": "foo"}, "augment"),
        ({"augment.rotat": "3"}, "unknown augment option"),
        ({"storage": "disk"}, "storage"),
        ({"device": "gpu"}, "device"),
        ({"num_workers": "-1"}, "num_workers"),
        ({"cache_mb": "-1"}, "cache_mb"),
        ({"cache_mb": "NaN"}, "cache_mb"),
    ],
)
def test_training_options_are_validated(overrides: dict, needle: str) -> None:
    with pytest.raises((ValueError, KeyError), match=needle):
        apply_overrides(preset("builtin_j"), overrides)


def test_train_command_with_nan_lr_stops_before_training(tmp_path: Path, capsys) -> None:
    code, out, err = run_cli(["train", "--preset", "builtin_j", "--lr", "NaN", "--work_dir", str(tmp_path / "run")], capsys)
    assert_clean_failure(code, err, "lr must be a finite number > 0, got nan")
    assert not (tmp_path / "run").exists()
    assert TrainConfig(lr=0.05).lr == 0.05


# ------------------------------------------------------------------------------------------------
# 6. sizes read from files


def test_skeleton_header_of_10_17_frames_is_reported_and_the_folder_converts(tmp_path: Path, capsys) -> None:
    folder = ntu_folder(tmp_path, lambda lines: lines.__setitem__(0, "100000000000000000"))
    report = convert_ntu_folder(folder, tmp_path / "ntu.pkl")
    why = dict(report.failed)[NTU_EDIT]
    assert f"{NTU_EDIT}.skeleton: line 1: the header says 100000000000000000 frames" in why
    assert report.converted == 2
    assert_written_file_is_valid(tmp_path / "ntu.pkl", NTU_GOOD, capsys)


@pytest.mark.parametrize("index", [10**13, 10**6])
def test_kinetics_frame_index_far_beyond_the_file_is_reported(tmp_path: Path, index: int, capsys) -> None:
    folder = tmp_path / "kin"
    folder.mkdir()
    shutil.copy(real("kinetics_skeleton_stgcn_json", "__NrybzYzUg.json"), folder)
    d = json.loads(real("kinetics_skeleton_stgcn_json", "__vOysOPoCY.json").read_text())
    d["data"][3]["frame_index"] = index
    (folder / "__vOysOPoCY.json").write_text(json.dumps(d))
    report = convert_kinetics_folder(folder, tmp_path / "k.pkl")
    assert f"frame_index {index} is far beyond the file's 249 frames" in dict(report.failed)["__vOysOPoCY"]
    assert_written_file_is_valid(tmp_path / "k.pkl", ("__NrybzYzUg",), capsys)


# ------------------------------------------------------------------------------------------------
# 7. outputs checked before the work


def test_output_paths_are_checked(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    for bad, needle in ((tmp_path, "existing folder"), (tmp_path / "afile" / "s.npz", "is a file, not a folder")):
        with pytest.raises(InputError, match=needle):
            check_output_path(bad)
    assert check_output_path(tmp_path / "new" / "deeper" / "s.npz") == tmp_path / "new" / "deeper" / "s.npz"


def test_test_out_is_checked_before_the_evaluation(ckpts, tmp_path: Path, capsys) -> None:
    # the annotation file does not exist: the --out error comes first, so nothing was evaluated
    for out in (tmp_path, tmp_path / "ckpt.pt" / "x.npz"):
        if out != tmp_path:
            (tmp_path / "ckpt.pt").write_bytes(b"")
        code, stdout, err = run_cli(["test", str(ckpts["ntu_j"]), "--ann-file", str(tmp_path / "missing.pkl"), "--split", "val", "--out", str(out)], capsys)
        assert_clean_failure(code, err, "--out")
        assert "missing.pkl" not in err and stdout == ""


def test_fuse_out_is_checked_before_the_fusion(tmp_path: Path, capsys) -> None:
    j, b = score_files(tmp_path)
    code, out, err = run_cli(["fuse", str(j), str(b), "--out", str(tmp_path)], capsys)
    assert_clean_failure(code, err, "--out", "existing folder")
    assert out == ""
    code, out, err = run_cli(["convert", "ntu", str(tmp_path), str(tmp_path)], capsys)
    assert_clean_failure(code, err, "OUT", "existing folder")


@pytest.mark.parametrize("argv, needle", [(["--clips", "0"], "--clips must be an integer >= 1"), (["--device", "tpu"], "--device must be"), (["--batch-size", "0"], "--batch-size")])
def test_test_options_are_checked_first(ckpts, argv: list[str], needle: str, capsys) -> None:
    code, out, err = run_cli(["test", str(ckpts["ntu_j"]), "--ann-file", "missing.pkl", "--split", "val", *argv], capsys)
    assert_clean_failure(code, err, needle)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_device_cuda_without_a_gpu_is_one_line(ckpts, tmp_path: Path, capsys) -> None:
    src = real("ntu60_skeleton_levelca", f"{NTU_GOOD[0]}.skeleton")
    code, _, err = run_cli(["predict", "-c", str(ckpts["ntu_j"]), "-i", str(src), "--device", "cuda"], capsys)
    assert_clean_failure(code, err, "no CUDA GPU")
    code, _, err = run_cli(["test", str(ckpts["ntu_j"]), "--ann-file", "x.pkl", "--split", "val", "--device", "cuda"], capsys)
    assert_clean_failure(code, err, "no CUDA GPU")
    code, _, err = run_cli(["train", "--preset", "builtin_j", "--device", "cuda", "--work_dir", str(tmp_path / "run")], capsys)
    assert_clean_failure(code, err, "no CUDA GPU")
    assert not (tmp_path / "run").exists()


# ------------------------------------------------------------------------------------------------
# 8. what a file is: checkpoints, refused objects, .npy


class Payload:
    def __reduce__(self):
        return (print, ("this must never run",))


def not_checkpoints(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    png = tmp_path / "figure.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    text = tmp_path / "notes.pt"
    text.write_text("learning rate 0.1\n")
    ann = save_annotations(tmp_path / "ann.pkl", [ntu_record("a")], {})
    npz = tmp_path / "s.npz"
    np.savez(npz, a=np.zeros(3))
    return {
        "png": (png, "not a checkpoint: the file is a PNG image"),
        "text": (text, "not a checkpoint: the file is a text file"),
        "annotation": (ann, "plain Python pickle holding a dict with keys split, annotations"),
        "npz": (npz, "zip archive without torch.save's data.pkl"),
    }


def test_files_that_are_not_checkpoints_say_what_they_are(tmp_path: Path, capsys) -> None:
    for path, needle in not_checkpoints(tmp_path).values():
        with pytest.raises(CorruptFileError, match=needle) as info:
            read_checkpoint(path)
        assert not isinstance(info.value, UnsafeFileError) and "refused" not in str(info.value)
        for cmd in (["info", str(path)], ["predict", "-c", str(path), "-i", str(path)]):
            code, _, err = run_cli(cmd, capsys)
            assert_clean_failure(code, err, str(path), "not a checkpoint")


def test_a_folder_or_an_empty_file_is_not_a_checkpoint(tmp_path: Path, capsys) -> None:
    (tmp_path / "empty.pt").write_bytes(b"")
    for path, needle in ((tmp_path, "is a folder"), (tmp_path / "empty.pt", "the file is empty"), (tmp_path / "none.pt", "no such file")):
        code, _, err = run_cli(["info", str(path)], capsys)
        assert_clean_failure(code, err, str(path), needle)


def test_files_that_hold_code_references_are_refused(tmp_path: Path, capsys, ckpts) -> None:
    ckpt = ckpts["ntu_j"]
    hostile_pt = tmp_path / "hostile.pt"
    torch.save({"state_dict": {}, "x": Payload()}, hostile_pt)
    hostile_pkl = tmp_path / "hostile.pkl"
    hostile_pkl.write_bytes(pickle.dumps({"a": Payload()}))
    for path in (hostile_pt, hostile_pkl):
        with pytest.raises(UnsafeFileError, match="refused to load"):
            read_checkpoint(path)
        code, out, err = run_cli(["info", str(path)], capsys)
        assert_clean_failure(code, err, "refused to load", "nothing")
        assert "this must never run" not in out + err
    ann = save_annotations(tmp_path / "ann.pkl", [ntu_record("a")], {"val": ["a"]})
    for argv in (
        ["convert", "dense", str(tmp_path / "x.npy"), str(hostile_pkl), str(tmp_path / "o.pkl")],
        ["test", str(hostile_pt), "--ann-file", str(ann), "--split", "val", "--feat", "j"],
        ["predict", "-c", str(hostile_pt), "-i", str(ann)],
        ["fuse", f"j={hostile_pkl}", f"b={hostile_pkl}", "--ann-file", str(ann), "--split", "val"],
        ["test", str(tmp_path / "ok.pt"), "--ann-file", str(hostile_pkl), "--split", "val", "--feat", "j"],
    ):
        if argv[1] == str(tmp_path / "ok.pt"):
            shutil.copy(ckpt, argv[1])
        code, out, err = run_cli(argv, capsys)
        assert_clean_failure(code, err, "refused to load", "hostile")
        assert "this must never run" not in out + err
    assert "this must never run" not in out + err and not (tmp_path / "o.pkl").exists()


def test_npy_errors_name_the_file_and_never_suggest_allow_pickle(tmp_path: Path, capsys, ckpts) -> None:
    obj = tmp_path / "objects.npy"
    np.save(obj, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    cut = tmp_path / "cut.npy"
    np.save(cut, np.zeros((20, 25, 3), np.float32))
    cut.write_bytes(cut.read_bytes()[:200])
    txt = tmp_path / "text.npy"
    txt.write_text("1 2 3")
    for path, needle in ((obj, "Python objects"), (cut, "truncated or corrupt"), (txt, "the file is a text file")):
        with pytest.raises(CorruptFileError, match=needle) as info:
            safe_npy_load(path)
        assert str(path) in str(info.value) and "allow_pickle" not in str(info.value)
        code, _, err = run_cli(["predict", "-c", str(ckpts["ntu_j"]), "-i", str(path), "--format", "array"], capsys)
        assert_clean_failure(code, err, path.name)
        assert "allow_pickle" not in err


@pytest.mark.slow
def test_cli_errors_are_one_line_without_traceback_in_a_real_process(tmp_path: Path, ckpts) -> None:
    """The same as the user sees it: a fresh process, stderr is one line, status 2."""
    files = not_checkpoints(tmp_path)
    j, b = score_files(tmp_path, nan_row=1)
    cases = [
        ["info", str(files["png"][0])],
        ["fuse", str(j), str(b)],
        ["test", str(ckpts["ntu_j"]), "--ann-file", "x.pkl", "--split", "val", "--clips", "0"],
    ]
    for argv in cases:
        proc = subprocess.run([sys.executable, "-m", "aagcn_lab.cli", *argv], capture_output=True, text=True, cwd=REPO, timeout=120)
        assert proc.returncode == 2, proc.stderr
        lines = [ln for ln in proc.stderr.splitlines() if ln.strip() and "Warning" not in ln]
        assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
