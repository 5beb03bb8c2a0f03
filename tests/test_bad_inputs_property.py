"""Property-based bad inputs (hypothesis): mutate valid records and files, and every entry point
either succeeds with finite outputs or fails cleanly with the package's error type (InputError).

Derandomized and bounded (a few dozen examples per property), so CI sees the same cases every run.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aagcn_lab.data.annotations import load_annotations, save_annotations
from aagcn_lab.data.kinetics import read_kinetics_json
from aagcn_lab.data.ntu import read_ntu_skeleton
from aagcn_lab.data.pipeline import build_pipeline
from aagcn_lab.data.validate import InputError, record_problems
from aagcn_lab.fusion import fuse, fusion_report
from aagcn_lab.io import safe_npy_load
from aagcn_lab.model import AAGCN, AAGCNConfig
from aagcn_lab.model.checkpoint import read_checkpoint, save_checkpoint
from aagcn_lab.prediction import predict
from aagcn_lab.scores import Scores

from .conftest import REAL

SETTINGS = settings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
SPECIAL = [np.nan, np.inf, -np.inf, 7e4, -1e9, 1e38, 2e5, 0.0, 1e-3, -0.5, 100.0]


def base_record(two_d: bool) -> dict:
    rng = np.random.default_rng(0)
    if two_d:
        return {
            "frame_dir": "s2d",
            "label": 1,
            "total_frames": 10,
            "keypoint": rng.uniform(0.1, 0.9, (2, 10, 17, 2)).astype(np.float32),
            "keypoint_score": rng.uniform(0.2, 1.0, (2, 10, 17)).astype(np.float32),
            "img_shape": (1, 1),
        }
    kp = (rng.normal(size=(1, 10, 25, 3)) * 0.3 + [0, 0, 3]).astype(np.float16)
    return {"frame_dir": "s3d", "label": 1, "total_frames": 10, "keypoint": kp}


@st.composite
def mutations(draw) -> tuple[bool, dict]:
    """``(two_d, record)``: a valid 2D or 3D record with one to three mutations of the kinds users make."""
    two_d = draw(st.booleans())
    rec = base_record(two_d)
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["value", "dtype", "drop", "joints", "channels", "score", "label", "frames", "zeros", "ndim"]))
        kp = rec.get("keypoint")
        if kind == "value" and isinstance(kp, np.ndarray) and kp.size and kp.dtype.kind == "f":
            kp = kp.copy()
            idx = tuple(draw(st.integers(0, s - 1)) for s in kp.shape)
            with np.errstate(over="ignore", invalid="ignore"):
                kp[idx] = draw(st.sampled_from(SPECIAL))
            rec["keypoint"] = kp
        elif kind == "dtype" and isinstance(kp, np.ndarray):
            rec["keypoint"] = kp.astype(draw(st.sampled_from([object, np.int32, np.bool_, np.float64, np.complex64])))
        elif kind == "drop":
            rec.pop(draw(st.sampled_from(["frame_dir", "label", "total_frames", "keypoint", "keypoint_score"])), None)
        elif kind == "joints" and isinstance(kp, np.ndarray) and kp.ndim == 4:
            rec["keypoint"] = kp[:, :, : kp.shape[2] - draw(st.integers(1, 3))]
        elif kind == "channels" and isinstance(kp, np.ndarray) and kp.ndim == 4:
            rec["keypoint"] = np.concatenate([kp, kp[..., :1]], -1)
        elif kind == "score" and "keypoint_score" in rec:
            rec["keypoint_score"] = rec["keypoint_score"] * draw(st.sampled_from([100.0, -1.0, 2.0, np.nan]))
        elif kind == "label":
            rec["label"] = draw(st.sampled_from([-1, 10**6, "3", 2.5, True, None]))
        elif kind == "frames":
            rec["total_frames"] = draw(st.sampled_from([0, 3, 10**9, -2, 1.5]))
        elif kind == "zeros" and isinstance(kp, np.ndarray):
            rec["keypoint"] = np.zeros_like(kp)
        elif kind == "ndim" and isinstance(kp, np.ndarray) and kp.ndim == 4:
            rec["keypoint"] = kp[0]
    return two_d, rec


def mutated_records() -> st.SearchStrategy[dict]:
    """The mutated record alone."""
    return mutations().map(lambda pair: pair[1])


def layout_of(rec: dict) -> str:
    kp = rec.get("keypoint")
    return "coco" if isinstance(kp, np.ndarray) and kp.ndim >= 3 and kp.shape[-2] in (14, 15, 16, 17) else "nturgb+d"


@pytest.fixture(scope="module")
def small_ckpts(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("prop")
    out = {}
    for layout in ("nturgb+d", "coco"):
        torch.manual_seed(0)
        model = AAGCN(AAGCNConfig(layout=layout, num_classes=4, base_channels=8, num_stages=3, inflate_stages=[2], down_stages=[2]))
        out[layout] = save_checkpoint(model, root / f"{layout}.pt", meta={"feat": "j"})
    return out


@SETTINGS
@given(rec=mutated_records(), feat=st.sampled_from(["j", "b", "jm", "bm"]))
def test_pipeline_gives_finite_clips_or_an_input_error(rec: dict, feat: str) -> None:
    problems = record_problems(rec)  # never raises, whatever the record
    assert isinstance(problems, list)
    try:
        out = build_pipeline(feat, "test", layout_of(rec), 8, 2)(rec)
    except InputError as e:
        assert str(e)
        return
    x = out["keypoint"]
    assert x.dtype == np.float32 and x.shape[:3] == (2, 2, 8) and np.isfinite(x).all()


@SETTINGS
@given(rec=mutated_records())
def test_predict_gives_finite_probabilities_or_an_input_error(rec: dict, small_ckpts) -> None:
    try:
        pred = predict(small_ckpts[layout_of(rec)], rec, num_clips=1)[0]
    except InputError as e:
        assert str(e)
        return
    # f32 softmax over K = 4 classes (exp, a K-term sum, a division: K + 2 roundings): 6 x 1.2e-7 = 7.2e-7 < 1e-6
    assert np.isfinite(pred.probs).all() and abs(pred.probs.sum() - 1) < 1e-6


@SETTINGS
@given(pair=mutations())
def test_annotation_files_keep_the_good_records_and_name_the_bad(pair: tuple[bool, dict], tmp_path_factory) -> None:
    two_d, rec = pair
    good = dict(base_record(two_d), frame_dir="good")
    path = save_annotations(tmp_path_factory.mktemp("ann") / "a.pkl", [good, rec], {}, check=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ann = load_annotations(path, on_error="skip")
        except InputError:
            return  # (only possible when no record is valid)
    names = [r["frame_dir"] for r in ann.annotations]
    assert names[0] == "good"  # the good record is always kept
    if len(names) == 1:
        assert len(ann.rejected) == 1 and ann.rejected[0][1]  # the mutated one is named, with its reason
    else:
        assert not record_problems(rec)
    for r in ann.annotations:  # what loads is usable: finite clips or a clean error
        try:
            x = build_pipeline("j", "test", ann.layout_name(), 8, 1)(r)["keypoint"]
        except InputError:
            continue
        assert np.isfinite(x).all()


NUMBER = re.compile(rb"-?\d+\.?\d*(?:e-?\d+)?")


@st.composite
def mutated_text(draw, data: bytes, replacements: list[bytes]) -> bytes:
    """``data`` with one mutation: a number replaced, a cut, a removed span or a repeated span."""
    kind = draw(st.sampled_from(["number", "number", "cut", "delete", "repeat"]))
    if kind == "number":
        spans = [m.span() for m in NUMBER.finditer(data[:20000])]
        a, b = spans[draw(st.integers(0, len(spans) - 1))]
        return data[:a] + draw(st.sampled_from(replacements)) + data[b:]
    a = draw(st.integers(0, len(data) - 1))
    if kind == "cut":
        return data[:a]
    b = min(len(data), a + draw(st.integers(1, 400)))
    return data[:a] + data[b:] if kind == "delete" else data[:b] + data[a:b] + data[b:]


def real_bytes(*parts: str) -> bytes:
    path = REAL.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real samples not available: {path}")
    return path.read_bytes()


# (real file, numbers a user or a broken tool may leave in it, reader, record rules)
TEXT_FILES = {
    "kinetics": (
        ("kinetics_skeleton_stgcn_json", "__u6odV5hrI.json"),
        [b"NaN", b"1e400", b"-5", b"10000000000000", b'"x"', b"null", b"1280.5", b"99"],
        lambda path: read_kinetics_json(path, label=0),
        {},
    ),
    "ntu": (
        ("ntu60_skeleton_levelca", "S003C001P015R001A034.skeleton"),
        [b"nan", b"1e30", b"1e39", b"-1", b"99999999999", b"x", b"100000000000000000", b"3"],
        lambda path: read_ntu_skeleton(path, notes=[]),
        {"num_joints": 25, "num_classes": 60},
    ),
}


@pytest.mark.parametrize("kind", sorted(TEXT_FILES))
@SETTINGS
@given(data=st.data())
def test_mutated_real_text_files_read_or_fail_cleanly(kind: str, data, tmp_path_factory) -> None:
    parts, numbers, read, rules = TEXT_FILES[kind]
    text = data.draw(mutated_text(real_bytes(*parts), numbers))
    path = tmp_path_factory.mktemp(kind) / parts[-1]
    path.write_bytes(text)
    try:
        rec = read(path)
    except InputError as e:
        assert str(path) in str(e)  # the file is named
        return
    assert not record_problems(rec, **rules) and np.isfinite(rec["keypoint"]).all()


@SETTINGS
@given(data=st.data())
def test_cut_or_flipped_npy_and_checkpoint_files_fail_cleanly(data, small_ckpts, tmp_path_factory) -> None:
    root = tmp_path_factory.mktemp("bytes")
    np.save(root / "x.npy", np.ones((10, 25, 3), np.float32))
    for src, load in ((root / "x.npy", safe_npy_load), (small_ckpts["nturgb+d"], read_checkpoint)):
        raw = src.read_bytes()
        cut = data.draw(st.integers(0, len(raw) - 1))
        path = root / ("cut" + src.suffix)
        path.write_bytes(raw[:cut])
        with pytest.raises(InputError, match=re.escape(str(path))):
            load(path)
    # a flipped header byte: refused or read, never another exception
    raw = (root / "x.npy").read_bytes()
    pos = data.draw(st.integers(0, 127))
    flipped = bytearray(raw)
    flipped[pos] ^= 0xFF
    (root / "flip.npy").write_bytes(bytes(flipped))
    try:
        arr = safe_npy_load(root / "flip.npy")
    except InputError:
        return
    assert isinstance(arr, np.ndarray)


def test_the_mutations_reach_both_outcomes() -> None:
    """The strategies are not vacuous: some mutated records are valid, most are not."""
    from hypothesis import find

    find(mutated_records(), lambda r: not record_problems(r), settings=SETTINGS)
    find(mutated_records(), lambda r: bool(record_problems(r)), settings=SETTINGS)


@SETTINGS
@given(
    values=st.lists(st.sampled_from([np.nan, np.inf, -1.0, 0.0, 2.0]), min_size=0, max_size=3),
    weights=st.dictionaries(st.sampled_from(["j", "b", "x"]), st.sampled_from([np.nan, np.inf, -1.0, 0.0, 1.0, 2.0]), max_size=3),
    data=st.data(),
)
def test_fusion_gives_finite_scores_or_an_input_error(values, weights, data) -> None:
    rng = np.random.default_rng(0)
    ids, labels = [f"s{i}" for i in range(6)], rng.integers(0, 3, 6)
    probs = {s: rng.dirichlet(np.ones(3), 6) for s in ("j", "b")}
    for v in values:  # poke a few entries of the b stream
        probs["b"][data.draw(st.integers(0, 5)), data.draw(st.integers(0, 2))] = v
    try:
        scores = {s: Scores(ids, p, labels, {"feat": s}) for s, p in probs.items()}
        fused = fuse(scores, weights or None)
        report = fusion_report(scores, weights or None)
    except InputError as e:
        assert str(e)
        return
    assert np.isfinite(fused.probs).all() and all(np.isfinite([r.top1, r.top5, r.mean_class_acc]).all() for r in report.rows)
