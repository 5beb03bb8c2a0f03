"""Bad input at the command line, in streams and around exported models (issue 24), class by class.

Each test asserts the property of the project's bad-input rule: a user's mistake gets one line that
names the file, line, option or parameter and what is wrong, exit status 2 and no traceback, and it
is refused before any work (no export, no notebook, no training run starts). Where the input is
usable the work goes on and what was left out is said (a dropped person, a short stream). Built
from files made here; the label-space test also runs on a real NTU sample when present.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from aagcn_lab import StreamingPredictor, cli
from aagcn_lab.data.classes import class_names
from aagcn_lab.data.validate import InputError
from aagcn_lab.model import AAGCN, AAGCNConfig
from aagcn_lab.model.checkpoint import CheckpointError, load_checkpoint, read_checkpoint, save_checkpoint

from .conftest import REAL
from .test_bad_inputs import skeleton_lines
from .test_streaming import SMALL, openpose_frames, tiny

# A file that starts like every ONNX model (ModelProto: ir_version 9, producer_name 'pytorch' ...).
ONNX_HEAD = b"\x08\x09\x12\x07pytorch\x1a\x062.13.0:\x8a\x02\n\x08keypoint" + bytes(64)


def run_cli(argv: list[str], capsys) -> tuple[int, str, str]:
    """``aagcn-lab ARGV`` in this process: (status, stdout, stderr); an argparse refusal counts as its status."""
    try:
        code = cli.main(argv)
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def assert_refused(code: int, err: str, *needles: str) -> None:
    """Status 2, one line of message without a traceback, every needle in it."""
    assert code == 2, (code, err)
    assert "Traceback" not in err and err.strip(), err
    for n in needles:
        assert n in err, (n, err)


@pytest.fixture
def stdin(monkeypatch):
    """Set what ``--stream`` reads: ``stdin(lines)``."""

    def feed(lines: list[str]) -> None:
        monkeypatch.setattr("sys.stdin", io.StringIO("".join(line + "\n" for line in lines)))

    return feed


def fake_onnx(path: Path) -> Path:
    """An ONNX-looking file with the sidecar ``aagcn-lab export`` writes beside it (not a runnable model)."""
    path.write_bytes(ONNX_HEAD)
    side = {"layout": "coco", "stream": "j", "classes": ["a", "b"], "clip_len": 16, "num_person": 2,
            "input": {"name": "keypoint", "shape": ["N", 2, "T", 17, 3]}}  # fmt: skip
    path.with_suffix(".json").write_text(json.dumps(side))
    return path


# ---------------------------------------------------------------------------------------------
# Streaming: a dropped person, a stream shorter than the window, a stride that skips frames


def test_stream_names_the_line_and_person_it_drops(tmp_path, stdin, capsys) -> None:
    ckpt = tiny(tmp_path / "op.pt", "openpose")
    frames = openpose_frames(8, seed=1)
    frames[4]["people"][1]["pose_keypoints_2d"] = frames[4]["people"][1]["pose_keypoints_2d"][:60]  # 20 joints
    frames[6]["people"][0]["pose_keypoints_2d"][0] = float("nan")
    stdin([json.dumps(f) for f in frames])
    code, out, err = run_cli(["predict", "-c", str(ckpt), "--stream", "--window", "4", "--stride", "4", "--clips", "1",
                              "--img-size", "1280x720"], capsys)  # fmt: skip
    assert code == 0, err
    assert [json.loads(x)["frame"] for x in out.splitlines()] == [3, 7]  # the frames stay, without that person
    assert "line 5: frame 4, person 1: 60 values" in err and "person dropped" in err
    assert "line 7: frame 6, person 0: NaN/inf in joint(s) 0" in err
    assert "2 person(s) dropped" in err


def test_stream_shorter_than_the_window_says_so_and_predicts_on_what_there_is(tmp_path, stdin, capsys) -> None:
    ckpt = tiny(tmp_path / "op.pt", "openpose")
    frames = openpose_frames(5, seed=2)
    stdin([json.dumps(f) for f in frames])
    code, out, err = run_cli(["predict", "-c", str(ckpt), "--stream", "--window", "10", "--stride", "2", "--clips", "1",
                              "--img-size", "1280x720"], capsys)  # fmt: skip
    assert code == 0, err
    [line] = out.splitlines()
    got = json.loads(line)
    assert got["window"] == [0, 4] and len(got["top"]) == 5
    assert "the stream ended after 5 frames, fewer than the --window 10: one prediction over frames 0-4" in err
    # the same numbers as a predictor over those five frames
    sp = StreamingPredictor(ckpt, window=5, stride=5, num_clips=1, img_shape=(720, 1280))
    [ref] = [r for r in (sp.push(f) for f in frames) if r is not None]
    assert got["top"] == ref.as_dict()["top"]


def test_empty_stream_is_refused(tmp_path, stdin, capsys) -> None:
    ckpt = tiny(tmp_path / "op.pt", "openpose")
    stdin(["", "{not json"])
    code, out, err = run_cli(["predict", "-c", str(ckpt), "--stream", "--window", "4", "--stride", "2"], capsys)
    assert_refused(code, err, "line 2: not JSON", "no frame")
    assert not out


def test_stride_larger_than_the_window_is_refused(tmp_path, stdin, capsys) -> None:
    ckpt = tiny(tmp_path / "op.pt", "openpose")
    stdin([json.dumps(f) for f in openpose_frames(8)])
    code, out, err = run_cli(["predict", "-c", str(ckpt), "--stream", "--window", "4", "--stride", "6"], capsys)
    assert_refused(code, err, "--stride 6", "--window 4")
    assert not out
    with pytest.raises(InputError, match="stride 6 .* window 4"):
        StreamingPredictor(ckpt, window=4, stride=6)
    code, _, err = run_cli(["predict", "-c", str(ckpt), "--stream", "--window", "0"], capsys)
    assert_refused(code, err, "--window")


# ---------------------------------------------------------------------------------------------
# Exported models: a truncated .onnx, no onnxruntime, an ONNX file where a checkpoint goes, --out a folder


def test_truncated_onnx_model_is_named(tmp_path, capsys) -> None:
    pytest.importorskip("onnxruntime")
    onnx = pytest.importorskip("onnx")
    h = onnx.helper
    graph = h.make_graph([h.make_node("Identity", ["keypoint"], ["logits"])], "g",
                         [h.make_tensor_value_info("keypoint", onnx.TensorProto.FLOAT, [1, 2])],
                         [h.make_tensor_value_info("logits", onnx.TensorProto.FLOAT, [1, 2])])  # fmt: skip
    whole = h.make_model(graph, producer_name="aagcn_lab test").SerializeToString()
    path = fake_onnx(tmp_path / "cut.onnx")
    path.write_bytes(whole[: len(whole) // 2])
    np.save(tmp_path / "x.npy", np.random.default_rng(0).uniform(0, 500, (20, 17, 3)).astype(np.float32))
    code, _, err = run_cli(["predict", "-c", str(path), "-i", str(tmp_path / "x.npy"), "--clips", "1"], capsys)
    assert_refused(code, err, "cut.onnx", "not a complete ONNX model")


def test_missing_onnxruntime_says_what_to_install(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # `import onnxruntime` raises ImportError
    path = fake_onnx(tmp_path / "m.onnx")
    np.save(tmp_path / "x.npy", np.zeros((20, 17, 3), np.float32))
    code, _, err = run_cli(["predict", "-c", str(path), "-i", str(tmp_path / "x.npy")], capsys)
    assert_refused(code, err, "m.onnx", "onnxruntime", "pip install 'aagcn-lab[export]'")


@pytest.mark.parametrize("name", ["m.onnx", "renamed.pt"])
def test_onnx_file_where_a_checkpoint_goes_is_named_as_onnx(tmp_path, name, capsys) -> None:
    path = fake_onnx(tmp_path / "m.onnx")
    if name != path.name:
        path = path.rename(tmp_path / name)
    commands = [["info"], ["test", "--device", "cpu"], ["export", "-o", str(tmp_path / "e.onnx")], ["fuse"]]
    for command, *options in commands:
        argv = [command, str(path), *options]
        code, out, err = run_cli(argv, capsys)
        assert_refused(code, err, name, "ONNX model", "aagcn-lab predict")
        assert not (tmp_path / "e.onnx").exists()
    for read in (read_checkpoint, load_checkpoint):
        with pytest.raises(CheckpointError, match=f"{name}: .*ONNX model.*aagcn-lab predict"):
            read(path)


def test_export_to_a_folder_is_refused_before_exporting(tmp_path, monkeypatch, capsys) -> None:
    ckpt = tiny(tmp_path / "j.pt", "coco")

    def no_export(*args, **kwargs):
        raise AssertionError("the export ran although its output path is a folder")

    monkeypatch.setattr("aagcn_lab.export._quiet_onnx_export", no_export)
    monkeypatch.setattr("torch.export.export", no_export)
    (tmp_path / "out.onnx").mkdir()
    code, _, err = run_cli(["export", str(ckpt), "-o", str(tmp_path / "out.onnx")], capsys)
    assert_refused(code, err, "out.onnx", "folder")
    (tmp_path / "m.json").mkdir()  # the sidecar's place
    code, _, err = run_cli(["export", str(ckpt), "--format", "onnx", "-o", str(tmp_path / "m.onnx")], capsys)
    assert_refused(code, err, "m.json", "folder")
    code, _, err = run_cli(["export", str(ckpt), "--format", "pt2", "-o", str(tmp_path)], capsys)
    assert_refused(code, err, str(tmp_path), "folder")


# ---------------------------------------------------------------------------------------------
# Options: lab parameters against the notebooks' declared types, ablation --seeds


def _notebook(path: Path, parameters: str) -> None:
    cell = {
        "cell_type": "code",
        "metadata": {"tags": ["parameters"]},
        "source": parameters,
        "outputs": [],
        "execution_count": None,
    }
    path.write_text(json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))


@pytest.fixture
def notebooks(tmp_path, monkeypatch):
    """Two notebooks with typed parameters; papermill replaced by a recorder (nothing runs)."""
    folder = tmp_path / "nbs"
    folder.mkdir()
    _notebook(
        folder / "01_a.ipynb",
        'run_root = ""\nsolutions = False  # fill in\nframes = 64\nname = "x"\noptions = {}\nnode_rank = -1\n',
    )
    _notebook(folder / "02_b.ipynb", "run_root = ''\nframes: int = 32\nratio = 0.5\nlayers = [0, 3]\n")
    calls: list[tuple[str, dict]] = []

    def record(src, dst, parameters=None, **kwargs):
        calls.append((Path(src).name, dict(parameters or {})))

    monkeypatch.setattr("papermill.execute_notebook", record)
    return folder, calls


def test_lab_parameters_are_read_as_the_notebook_declares_them(notebooks, tmp_path, capsys) -> None:
    folder, calls = notebooks
    given = {"solutions": "False", "frames": "16", "name": "7", "ratio": "1", "layers": "[1]", "node_rank": "2"}
    given["options"] = '{"test_clips": 2}'
    argv = ["lab", "--notebooks-dir", str(folder), "--out", str(tmp_path / "out")]
    for name, text in given.items():
        argv += ["-p", name, text]
    code, _, err = run_cli(argv, capsys)
    assert code == 0, err
    got = dict(calls)
    assert got["01_a.ipynb"]["solutions"] is False
    assert got["01_a.ipynb"]["frames"] == 16 and got["02_b.ipynb"]["frames"] == 16
    assert got["01_a.ipynb"]["name"] == "7" and got["01_a.ipynb"]["options"] == {"test_clips": 2}
    assert (
        got["02_b.ipynb"]["ratio"] == 1.0 and got["02_b.ipynb"]["layers"] == [1] and got["01_a.ipynb"]["node_rank"] == 2
    )
    for text, value in (("true", True), ("True", True), ("1", True), ("0", False), ("false", False)):
        calls.clear()
        assert (
            run_cli(
                ["lab", "--notebooks-dir", str(folder), "--out", str(tmp_path / "o2"), "-p", "solutions", text], capsys
            )[0]
            == 0
        )
        assert dict(calls)["01_a.ipynb"]["solutions"] is value, text


@pytest.mark.parametrize(
    "name, value, needles",
    [
        ("solutions", "maybe", ["-p solutions 'maybe'", "bool", "True/False", "01_a.ipynb"]),
        ("frames", "sixty", ["-p frames 'sixty'", "int", "01_a.ipynb", "02_b.ipynb"]),
        ("frames", "2.5", ["-p frames '2.5'", "int"]),
        ("options", "[1]", ["-p options '[1]'", "dict", "01_a.ipynb"]),
        ("layers", "3", ["-p layers '3'", "list", "02_b.ipynb"]),
    ],
)
def test_lab_parameter_of_the_wrong_type_is_refused_before_running(
    notebooks, tmp_path, name, value, needles, capsys
) -> None:
    folder, calls = notebooks
    code, _, err = run_cli(
        ["lab", "--notebooks-dir", str(folder), "--out", str(tmp_path / "out"), "-p", name, value], capsys
    )
    assert_refused(code, err, *needles)
    assert not calls and not (tmp_path / "out").exists()


def test_run_lab_refuses_a_value_of_the_wrong_type(notebooks, tmp_path) -> None:
    from aagcn_lab.lab import run_lab

    folder, calls = notebooks
    with pytest.raises(InputError, match="solutions.*bool.*01_a.ipynb"):
        run_lab(tmp_path / "out", {"solutions": "False"}, notebooks_folder=folder, quiet=True)
    assert not calls


def test_ablation_seeds_that_are_not_numbers_name_the_option(monkeypatch, capsys) -> None:
    def no_run(*args, **kwargs):
        raise AssertionError("the grid started")

    monkeypatch.setattr("aagcn_lab.ablation.run_ablation", no_run)
    code, _, err = run_cli(["ablation", "--seeds", "0,one"], capsys)
    assert_refused(code, err, "--seeds", "'one'")
    code, _, err = run_cli(["ablation", "--seeds", "0", "--gpus", "0,x"], capsys)
    assert_refused(code, err, "--gpus", "'x'")


# ---------------------------------------------------------------------------------------------
# Older paths: train --config, a checkpoint's stored config, info on missing weights, convert kinetics


def test_train_config_that_is_not_a_json_object_names_the_file(tmp_path, capsys) -> None:
    from aagcn_lab.train.config import load_config

    (tmp_path / "c.txt").write_text("lr = 0.1\n")
    (tmp_path / "l.json").write_text("[1, 2]")
    (tmp_path / "t.json").write_text('{"train": 3}')
    for name, needle in (
        ("c.txt", "not JSON"),
        ("l.json", "a JSON object"),
        ("t.json", "'train'"),
        ("none.json", "no such file"),
    ):
        code, _, err = run_cli(["train", "--config", str(tmp_path / name)], capsys)
        assert_refused(code, err, name, needle)
        with pytest.raises(InputError, match=name):
            load_config(tmp_path / name)


def test_checkpoint_whose_config_is_a_string_names_the_file(tmp_path, capsys) -> None:
    ckpt = tiny(tmp_path / "j.pt", "coco")
    obj = torch.load(ckpt, weights_only=True)
    torch.save(dict(obj, config="layout=coco"), tmp_path / "s.pt")
    with pytest.raises(CheckpointError, match="s.pt: .*config.*str"):
        load_checkpoint(tmp_path / "s.pt")
    code, _, err = run_cli(["info", str(tmp_path / "s.pt")], capsys)
    assert_refused(code, err, "s.pt", "config")


def test_info_says_which_weights_are_missing_or_unexpected(tmp_path, capsys) -> None:
    ckpt = tiny(tmp_path / "j.pt", "coco")
    obj = torch.load(ckpt, weights_only=True)
    sd = dict(obj["state_dict"])
    sd.pop("cls_head.fc_cls.bias")
    sd["backbone.extra.weight"] = torch.zeros(2)
    torch.save(dict(obj, state_dict=sd), tmp_path / "m.pt")
    code, out, err = run_cli(["info", str(tmp_path / "m.pt")], capsys)
    assert_refused(
        code, err, "m.pt", "missing key(s): cls_head.fc_cls.bias", "unexpected key(s): backbone.extra.weight"
    )
    assert json.loads(out)["problems"]  # the summary is still printed, with what is wrong in it
    assert run_cli(["info", str(ckpt)], capsys)[0] == 0


def test_convert_kinetics_max_persons_below_one_names_the_option(tmp_path, capsys) -> None:
    (tmp_path / "k").mkdir()
    for bad in ("0", "-1", "two"):
        code, _, err = run_cli(
            ["convert", "kinetics", str(tmp_path / "k"), str(tmp_path / "k.pkl"), "--max-persons", bad], capsys
        )
        assert_refused(code, err, "--max-persons", bad)
    assert not (tmp_path / "k.pkl").exists()


# ---------------------------------------------------------------------------------------------
# predict: a file's label in its own label space, the model's only when the file's data is the model's


def _ntu_model(path: Path, names: list[str] | None) -> Path:
    torch.manual_seed(0)
    model = AAGCN(AAGCNConfig(layout="nturgb+d", num_classes=len(names) if names else 60, in_channels=3, **SMALL))
    return save_checkpoint(model, path, meta={"feat": "j", **({"label_names": names} if names else {})})


def _header(argv: list[str], capsys) -> tuple[str, dict]:
    code, out, err = run_cli(argv, capsys)
    assert code == 0, err
    code, js, err = run_cli([*argv, "--json"], capsys)
    assert code == 0, err
    return out.splitlines()[0], json.loads(js)[0]


def test_predict_names_a_file_label_in_its_own_label_space(tmp_path, capsys) -> None:
    skel = tmp_path / "S001C001P001R001A011.skeleton"
    skel.write_text("\n".join(skeleton_lines(15)) + "\n")
    builtin = _ntu_model(tmp_path / "builtin.pt", class_names("builtin"))
    head, js = _header(["predict", "-c", str(builtin), "-i", str(skel), "--clips", "1"], capsys)
    assert head == "S001C001P001R001A011 (file label: A011 (NTU: reading))"  # not class 10 of the model: 'squat down'
    assert "label" not in js and js["file_label"] == {"id": "A011", "dataset": "NTU", "name": "reading"}
    ntu = _ntu_model(tmp_path / "ntu60.pt", None)  # 60 classes: NTU-60's names, the file's own
    head, js = _header(["predict", "-c", str(ntu), "-i", str(skel), "--clips", "1"], capsys)
    assert head == "S001C001P001R001A011 (label: reading)"
    assert js["label"] == {"class": 10, "name": "reading"} and "file_label" not in js


def test_predict_a_real_ntu_sample_with_a_model_of_the_builtin_data(tmp_path, capsys) -> None:
    skel = REAL / "ntu60_skeleton_levelca" / "S001C001P001R001A011.skeleton"
    if not skel.exists():
        pytest.skip(f"real samples not available: {skel}")
    builtin = _ntu_model(tmp_path / "builtin.pt", class_names("builtin"))
    head, _ = _header(["predict", "-c", str(builtin), "-i", str(skel), "--clips", "1"], capsys)
    assert head == "S001C001P001R001A011 (file label: A011 (NTU: reading))"


COUNT_OPTIONS = [
    ("convert", "ntu", "SRC", "OUT", "--workers"), ("convert", "ntu", "SRC", "OUT", "--max-bodies"),
    ("convert", "poses", "IN", "-o", "OUT", "--label", "1", "--max-persons"), ("convert", "ucla", "SRC", "OUT", "--workers"),
    ("predict", "-c", "CKPT", "--top-k"), ("predict", "-c", "CKPT", "--clips"), ("predict", "-c", "CKPT", "--window"),
    ("predict", "-c", "CKPT", "--stride"), ("bench", "model", "--batch"), ("bench", "stream", "--window"),
    ("bench", "model", "--iters"), ("streams", "--nproc"), ("ablation", "--nproc"), ("lab", "--cell-timeout"),
    ("export", "CKPT", "-o", "OUT", "--clips"),
]  # fmt: skip


@pytest.mark.parametrize("argv", COUNT_OPTIONS, ids=lambda a: f"{a[0]}{a[-1]}")
@pytest.mark.parametrize("value", ["0", "-3", "two"])
def test_every_count_option_refuses_a_non_positive_value_naming_it(argv, value, capsys) -> None:
    """The class of `convert kinetics --max-persons 0`, for every command: exit 2 before anything runs, the option named."""
    with pytest.raises(SystemExit) as exit_:
        cli.main([*argv, value])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {argv[-1]}" in err and "expected an integer >= 1" in err and "Traceback" not in err


def test_bench_lists_name_their_option(capsys) -> None:
    assert cli.main(["bench", "data", "--workers", "0,x"]) == 2
    assert "--workers 0,x: 'x' is not an integer" in capsys.readouterr().err
    assert cli.main(["bench", "stream", "--streams", "0,4"]) == 2
    assert "--streams 0,4: '0' is not an integer >= 1" in capsys.readouterr().err
