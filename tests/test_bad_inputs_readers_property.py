"""Property-based bad inputs per reader family (hypothesis, derandomised): realistic files made here,
mutated the ways tools and users break them (a key dropped, coordinates scaled, entries duplicated,
a file truncated, a value garbled), then read.

Every outcome is one of: the same record as the unmutated file; a different record with a note that
says what changed (something left out, units read another way); or the package's InputError whose
message names the file. Never another exception, never a different record with nothing said.
Families: OpenPose folder, COCO results, MediaPipe JSON, npy / npz arrays, NTU .skeleton text,
Kinetics-skeleton JSON.
"""

from __future__ import annotations

import copy
import json
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aagcn_lab.data.inputs import read_input
from aagcn_lab.data.kinetics import read_kinetics_json
from aagcn_lab.data.ntu import read_ntu_skeleton
from aagcn_lab.data.poses import PoseNote, read_pose_records
from aagcn_lab.data.validate import InputError, record_problems

SETTINGS = settings(
    max_examples=30,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
W, H = 1920, 1080
GARBLED = [float("nan"), float("inf"), 52000.0, -1e9, 1e38, "x", None, 1e6]

Reader = Callable[[Path], tuple[dict, list[str]]]


# ------------------------------------------------------------------------------------------------
# the oracle
# ------------------------------------------------------------------------------------------------


def view(rec: dict) -> np.ndarray:
    """Coordinates as fractions of the frame (2D) or as stored (3D): what the pipeline sees."""
    kp = rec["keypoint"].astype(np.float64)
    if "img_shape" in rec:
        h, w = rec["img_shape"]
        kp = kp / [w, h]
    return kp


def same(a: dict, b: dict) -> bool:
    if a["keypoint"].shape != b["keypoint"].shape or a.get("layout") != b.get("layout"):
        return False
    # not a rounding bound: "the same result" up to float32 storage and a division by the image size
    # (1.2e-7 relative); a silently different read moves a joint by far more
    if not np.allclose(view(a), view(b), rtol=1e-4, atol=1e-5):
        return False
    return "keypoint_score" not in a or np.allclose(a["keypoint_score"], b["keypoint_score"], atol=1e-6)


def outcome(read: Reader, path: Path, baseline: tuple[dict, list[str]], names: list[str]) -> str:
    """'error' (an InputError naming the file), 'same', or 'noted' (different, and a new note says so).

    No mutation here removes a frame, so a record that is read keeps the baseline's frame count.
    """
    try:
        rec, notes = read(path)
    except InputError as e:
        assert str(e) and any(n in str(e) for n in names), f"the message names no file: {e}"
        return "error"
    base, base_notes = baseline
    problems = record_problems(rec, check_label=False)
    assert not problems, problems
    assert np.isfinite(rec["keypoint"]).all()
    assert rec["total_frames"] == base["total_frames"], "frames lost or invented"
    if same(rec, base):
        return "same"
    new = [n for n in notes if n not in base_notes]
    assert new, "a different record, and nothing said"
    return "noted"


def via_poses(path: Path, **kwargs) -> tuple[dict, list[str]]:
    notes: list = []
    [rec] = read_pose_records(path, notes=notes, **kwargs)
    return rec, [n for _, n in notes]


def via_predict(path: Path, **kwargs) -> tuple[dict, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        [rec] = read_input(path, **kwargs)
    return rec, [str(w.message) for w in caught if issubclass(w.category, PoseNote)]


def body(v: int, x0: float, t: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.uniform(0, 150, (v, 2)) + [x0 + 3.0 * t, 300.0]).round(2)


def scale_xy(xy: np.ndarray, score: np.ndarray, how: str) -> np.ndarray:
    """Coordinates of detected joints in other units (a tool's option or a user's slip)."""
    seen = score[:, None] > 0
    out = {"normalise": xy / [W, H], "plus_minus_one": xy / [W, H] * 2 - 1, "x1000": xy * 1000, "x30": xy * 30}[how]
    return np.where(seen, out, xy)


def garble(data, flat: list, start: int = 0) -> None:
    """One number of ``flat`` (from ``start``) replaced by a garbled value."""
    i = data.draw(st.integers(start, len(flat) - 1))
    flat[i] = data.draw(st.sampled_from(GARBLED))


def write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj))


def truncate(data, path: Path) -> None:
    raw = path.read_bytes()
    path.write_bytes(raw[: data.draw(st.integers(0, len(raw) - 1))])


# ------------------------------------------------------------------------------------------------
# OpenPose folder
# ------------------------------------------------------------------------------------------------


def openpose_frames(v: int) -> list[dict]:
    frames = []
    for t in range(6):
        people = []
        for k, (x0, s) in enumerate(((300, 0.8), (1200, 0.7))):
            xy, score = body(v, x0, t, k + 1), np.full(v, s)
            xy[v - 1], score[v - 1] = 0, 0  # one undetected joint, as OpenPose writes it
            people.append({"person_id": [-1], "pose_keypoints_2d": np.column_stack([xy, score]).reshape(-1).tolist()})
        frames.append({"version": 1.3, "people": people})
    return frames


def write_openpose(folder: Path, frames: list) -> list[str]:
    folder.mkdir(parents=True)
    names = []
    for t, obj in enumerate(frames):
        names.append(f"clip_{t:012d}_keypoints.json")
        write_json(folder / names[-1], obj)
    return names


@SETTINGS
@given(data=st.data(), v=st.sampled_from([25, 18]))
def test_openpose_folders_read_or_fail_cleanly(data, v, tmp_path_factory) -> None:
    root = tmp_path_factory.mktemp("op")
    frames = openpose_frames(v)
    write_openpose(root / "base", frames)
    baseline = via_poses(root / "base")
    frames = copy.deepcopy(frames)
    t, p = data.draw(st.integers(0, 5)), data.draw(st.integers(0, 1))
    person = frames[t]["people"][p]
    kind = data.draw(st.sampled_from(["drop_key", "scale_all", "scale_one", "duplicate", "truncate", "garble"]))
    if kind == "drop_key":
        target = data.draw(st.sampled_from(["people", "pose_keypoints_2d", "version", "person_id"]))
        (frames[t] if target in ("people", "version") else person).pop(target)
    elif kind == "scale_all":
        how = data.draw(st.sampled_from(["normalise", "plus_minus_one", "x1000"]))
        for frame in frames:
            for q in frame["people"]:
                trip = np.asarray(q["pose_keypoints_2d"]).reshape(-1, 3)
                q["pose_keypoints_2d"] = np.column_stack([scale_xy(trip[:, :2], trip[:, 2], how), trip[:, 2]]).reshape(-1).tolist()
    elif kind == "scale_one":
        trip = np.asarray(person["pose_keypoints_2d"]).reshape(-1, 3)
        how = data.draw(st.sampled_from(["normalise", "x1000", "x30"]))
        person["pose_keypoints_2d"] = np.column_stack([scale_xy(trip[:, :2], trip[:, 2], how), trip[:, 2]]).reshape(-1).tolist()
    elif kind == "duplicate":
        frames[t]["people"].append(copy.deepcopy(person))
    elif kind == "garble":
        garble(data, person["pose_keypoints_2d"])
    names = write_openpose(root / "clip", frames)
    if kind == "truncate":
        truncate(data, root / "clip" / names[t])
    outcome(via_poses, root / "clip", baseline, [str(root / "clip"), *names])


# ------------------------------------------------------------------------------------------------
# COCO results list
# ------------------------------------------------------------------------------------------------


def coco_entries() -> list[dict]:
    out = []
    for t in range(6):
        for k, (x0, s) in enumerate(((300, 0.9), (1200, 0.8))):
            xy = body(17, x0, t, k + 1)
            out.append({"image_id": t, "category_id": 1, "keypoints": np.column_stack([xy, np.full(17, s)]).reshape(-1).tolist(), "score": s})
    return out


@SETTINGS
@given(data=st.data())
def test_coco_results_read_or_fail_cleanly(data, tmp_path_factory) -> None:
    root = tmp_path_factory.mktemp("coco")
    entries = coco_entries()
    write_json(root / "base.json", entries)
    baseline = via_poses(root / "base.json", img_shape=(H, W))
    entries = copy.deepcopy(entries)
    i = data.draw(st.integers(0, len(entries) - 1))
    kind = data.draw(st.sampled_from(["drop_key", "scale_all", "scale_one", "duplicate", "truncate", "garble", "gap"]))
    if kind == "drop_key":
        entries[i].pop(data.draw(st.sampled_from(["keypoints", "image_id", "category_id", "score"])))
    elif kind in ("scale_all", "scale_one"):
        how = data.draw(st.sampled_from(["normalise", "x1000"] if kind == "scale_all" else ["normalise", "x1000", "x30"]))
        for e in entries if kind == "scale_all" else [entries[i]]:
            trip = np.asarray(e["keypoints"]).reshape(-1, 3)
            e["keypoints"] = np.column_stack([scale_xy(trip[:, :2], trip[:, 2], how), trip[:, 2]]).reshape(-1).tolist()
    elif kind == "duplicate":
        entries = entries * 2 if data.draw(st.booleans()) else entries + [dict(entries[i], score=0.5)]
    elif kind == "garble":
        garble(data, entries[i]["keypoints"])
    elif kind == "gap":
        gone = data.draw(st.integers(1, 4))
        entries = [e for e in entries if e["image_id"] != gone]
    path = root / "results.json"
    write_json(path, entries)
    if kind == "truncate":
        truncate(data, path)
    outcome(lambda p: via_poses(p, img_shape=(H, W)), path, baseline, [str(path)])


# ------------------------------------------------------------------------------------------------
# MediaPipe JSON
# ------------------------------------------------------------------------------------------------


def mediapipe_frames() -> list[dict]:
    rng = np.random.default_rng(7)
    lm = np.column_stack([rng.uniform(0.3, 0.6, 33), rng.uniform(0.2, 0.9, 33), rng.normal(0, 0.1, 33), rng.uniform(0.5, 1, 33)])
    return [{"landmark": [dict(zip(("x", "y", "z", "visibility"), map(float, row + [0.002 * t, 0, 0, 0]))) for row in lm]} for t in range(6)]


@SETTINGS
@given(data=st.data())
def test_mediapipe_json_reads_or_fails_cleanly(data, tmp_path_factory) -> None:
    root = tmp_path_factory.mktemp("mp")
    frames = mediapipe_frames()
    write_json(root / "base.json", frames)
    baseline = via_poses(root / "base.json")
    frames = copy.deepcopy(frames)
    t, j = data.draw(st.integers(0, 5)), data.draw(st.integers(0, 32))
    kind = data.draw(st.sampled_from(["drop_key", "scale_all", "scale_one", "duplicate", "truncate", "garble"]))
    if kind == "drop_key":
        if data.draw(st.booleans()):
            frames[t].pop("landmark")
        else:
            frames[t]["landmark"][j].pop(data.draw(st.sampled_from(["x", "y", "visibility"])))
    elif kind == "scale_all":
        for frame in frames:
            for lm in frame["landmark"]:
                lm["x"], lm["y"] = lm["x"] * W, lm["y"] * H
    elif kind == "scale_one":
        frames[t]["landmark"][j]["x"] *= data.draw(st.sampled_from([40.0, 1000.0, -5.0]))
    elif kind == "duplicate":
        if data.draw(st.booleans()):
            frames[t] = {"pose_landmarks": [frames[t]["landmark"], copy.deepcopy(frames[t]["landmark"])]}
        else:
            frames[t]["landmark"].append(dict(frames[t]["landmark"][j]))
    elif kind == "garble":
        frames[t]["landmark"][j][data.draw(st.sampled_from(["x", "y", "visibility"]))] = data.draw(st.sampled_from(GARBLED))
    path = root / "pose.json"
    write_json(path, frames)
    if kind == "truncate":
        truncate(data, path)
    outcome(via_poses, path, baseline, [str(path)])


# ------------------------------------------------------------------------------------------------
# npy / npz arrays
# ------------------------------------------------------------------------------------------------


def xys_array() -> np.ndarray:
    """(T, 18, 3) pixels x, y and a detection score (OpenPose-18 order)."""
    xy = np.stack([body(18, 500, t, 3) for t in range(12)])
    return np.concatenate([xy, np.full((12, 18, 1), 0.8)], -1).astype(np.float32)


@SETTINGS
@given(data=st.data())
def test_npy_arrays_read_or_fail_cleanly(data, tmp_path_factory) -> None:
    root = tmp_path_factory.mktemp("npy")
    arr = xys_array()
    np.save(root / "base.npy", arr)
    read = lambda p: via_predict(p, with_score=True)  # noqa: E731
    baseline = read(root / "base.npy")
    arr = arr.copy()
    t = data.draw(st.integers(0, 11))
    kind = data.draw(st.sampled_from(["drop_joint", "scale_all", "scale_one", "truncate", "garble", "as_int"]))
    if kind == "drop_joint":
        arr = arr[:, 1:]
    elif kind == "scale_all":
        arr[..., :2] = scale_xy(arr[..., :2].reshape(-1, 2), arr[..., 2].reshape(-1), data.draw(st.sampled_from(["normalise", "x1000"]))).reshape(12, 18, 2)
    elif kind == "scale_one":
        arr[t, :, :2] *= data.draw(st.sampled_from([1000.0, 30.0, 1 / W]))
    elif kind == "garble":
        value = data.draw(st.sampled_from([v for v in GARBLED if isinstance(v, float)]))
        with np.errstate(over="ignore"):
            arr[t, data.draw(st.integers(0, 17)), data.draw(st.integers(0, 2))] = value
    elif kind == "as_int":
        arr = arr.astype(np.int64)
    path = root / "poses.npy"
    np.save(path, arr)
    if kind == "truncate":
        truncate(data, path)
    outcome(read, path, baseline, [str(path)])


@SETTINGS
@given(data=st.data())
def test_npz_lifter_files_read_or_fail_cleanly(data, tmp_path_factory) -> None:
    root = tmp_path_factory.mktemp("npz")
    rng = np.random.default_rng(11)
    rec3d = (rng.normal(0, 0.3, (20, 17, 3)) + np.linspace(0, 0.2, 20)[:, None, None]).astype(np.float32)  # (T, 17, 3) root-relative
    np.savez(root / "base.npz", reconstruction=rec3d)
    baseline = via_poses(root / "base.npz")
    kind = data.draw(st.sampled_from(["ragged", "drop_key", "truncate", "garble", "scale_one", "as_object"]))
    payload: dict = {"reconstruction": rec3d.copy()}
    if kind == "ragged":
        people = np.empty(2, dtype=object)
        people[0], people[1] = rec3d, rec3d[: data.draw(st.integers(1, 19))]
        payload["reconstruction"] = people
    elif kind == "drop_key":
        payload = {data.draw(st.sampled_from(["reconstructions", "keypoints", "data"])): rec3d}
    elif kind == "garble":
        value = data.draw(st.sampled_from([v for v in GARBLED if isinstance(v, float)]))
        payload["reconstruction"][data.draw(st.integers(0, 19)), data.draw(st.integers(0, 16)), data.draw(st.integers(0, 2))] = value
    elif kind == "scale_one":
        payload["reconstruction"][data.draw(st.integers(0, 19))] *= 1e6
    elif kind == "as_object":
        payload["reconstruction"] = np.array(rec3d.tolist(), dtype=object)
    path = root / "lifted.npz"
    np.savez(path, **payload)
    if kind == "truncate":
        truncate(data, path)
    outcome(via_poses, path, baseline, [str(path)])


# ------------------------------------------------------------------------------------------------
# NTU .skeleton text
# ------------------------------------------------------------------------------------------------


def ntu_lines() -> list[str]:
    rng = np.random.default_rng(13)
    lines = ["20"]
    for f in range(20):
        bodies = 2 if f >= 5 else 1
        lines.append(str(bodies))
        for b in range(bodies):
            lines.append(f"{72057594037931100 + b} 0 1 1 1 1 0 0.1 -0.2 2")
            lines.append("25")
            base = np.array([0.4 * b - 0.2, 0.0, 3.0]) + [0.01 * f, 0, 0]
            for _ in range(25):
                x, y, z = base + rng.normal(0, 0.25, 3) * [1, 2, 0.2]
                lines.append(f"{x:.6f} {y:.6f} {z:.6f} 250.1 200.2 960.3 540.4 0.5 0.1 0.2 0.3 2")
    return lines


NTU_TOKENS = ["nan", "1e30", "1e39", "x", "99999999999", "-1e6", "inf", ""]


@SETTINGS
@given(data=st.data())
def test_ntu_skeleton_text_reads_or_fails_cleanly(data, tmp_path_factory) -> None:
    root = tmp_path_factory.mktemp("ntu")
    lines = ntu_lines()
    name = "S001C001P001R001A001.skeleton"
    (root / "base").mkdir()
    (root / "base" / name).write_text("\n".join(lines) + "\n")

    def read(p: Path) -> tuple[dict, list[str]]:
        notes: list[str] = []
        return read_ntu_skeleton(p, notes=notes), notes

    baseline = read(root / "base" / name)
    i = data.draw(st.integers(0, len(lines) - 1))
    kind = data.draw(st.sampled_from(["delete_line", "repeat_line", "cut", "garble"]))
    if kind == "delete_line":
        del lines[i]
    elif kind == "repeat_line":
        lines.insert(i, lines[i])
    elif kind == "cut":
        lines = lines[:i]
    else:
        fields = lines[i].split()
        fields[data.draw(st.integers(0, len(fields) - 1))] = data.draw(st.sampled_from(NTU_TOKENS))
        lines[i] = " ".join(fields)
    path = root / name
    path.write_text("\n".join(lines) + "\n")
    outcome(read, path, baseline, [str(path)])


# ------------------------------------------------------------------------------------------------
# Kinetics-skeleton JSON
# ------------------------------------------------------------------------------------------------


def kinetics_obj() -> dict:
    rng = np.random.default_rng(17)
    data = []
    for t in range(8):
        people = [{"pose": rng.uniform(0.2, 0.8, 36).round(3).tolist(), "score": rng.uniform(0.3, 0.9, 18).round(3).tolist()} for _ in range(2)]
        data.append({"frame_index": t + 1, "skeleton": people})
    return {"data": data, "label": "clapping", "label_index": 3}


@SETTINGS
@given(data=st.data())
def test_kinetics_json_reads_or_fails_cleanly(data, tmp_path_factory) -> None:
    root = tmp_path_factory.mktemp("kin")
    obj = kinetics_obj()
    write_json(root / "base.json", obj)

    def read(p: Path) -> tuple[dict, list[str]]:
        notes: list[str] = []
        return read_kinetics_json(p, label=0, notes=notes), notes

    baseline = read(root / "base.json")
    obj = copy.deepcopy(obj)
    t, p = data.draw(st.integers(0, 7)), data.draw(st.integers(0, 1))
    person = obj["data"][t]["skeleton"][p]
    kind = data.draw(st.sampled_from(["drop_key", "scale_all", "scale_one", "duplicate", "truncate", "garble"]))
    if kind == "drop_key":
        target = data.draw(st.sampled_from(["pose", "score", "skeleton", "frame_index", "data"]))
        (obj if target == "data" else obj["data"][t] if target in ("skeleton", "frame_index") else person).pop(target)
    elif kind in ("scale_all", "scale_one"):
        factor = data.draw(st.sampled_from([1280.0, 40.0, -3.0]))
        for q in [q for f in obj["data"] for q in f["skeleton"]] if kind == "scale_all" else [person]:
            q["pose"] = [v * factor for v in q["pose"]]
    elif kind == "duplicate":
        if data.draw(st.booleans()):
            obj["data"][t]["skeleton"].append(copy.deepcopy(person))
        else:
            obj["data"].append(copy.deepcopy(obj["data"][t]))
    elif kind == "garble":
        garble(data, person[data.draw(st.sampled_from(["pose", "score"]))])
    path = root / "video.json"
    write_json(path, obj)
    if kind == "truncate":
        truncate(data, path)
    outcome(read, path, baseline, [str(path)])
