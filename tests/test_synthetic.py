"""The built-in dataset: deterministic, valid, NTU-shaped, with real variation and learnable but not trivial."""

from __future__ import annotations

import os
import re
from dataclasses import replace

import numpy as np
import pytest

from aagcn_lab.data import synthetic
from aagcn_lab.data.annotations import load_annotations, save_annotations, validate_record
from aagcn_lab.data.classes import class_names
from aagcn_lab.data.synthetic import (
    ACTIONS,
    CLASS_NAMES,
    Motion,
    SyntheticConfig,
    builtin_annotations,
    describe,
    generate,
    generate_sample,
    make_body,
    pose,
)
from aagcn_lab.graph import get_layout

TINY = SyntheticConfig(subjects=3, cameras=2, replications=1, labels=(0, 4, 13, 19, 21))
PAIR_LABELS = [i for i, a in enumerate(ACTIONS) if a.persons == 2]
SINGLE_LABELS = [i for i, a in enumerate(ACTIONS) if a.persons == 1]
FRAME_DIR = re.compile(r"^S(\d{3})C(\d{3})P(\d{3})R(\d{3})A(\d{3})$")


@pytest.fixture(scope="module")
def builtin():
    """The standard built-in dataset (generated once for this module)."""
    return generate()


def _parse(frame_dir: str) -> dict[str, int]:
    s, c, p, r, a = (int(x) for x in FRAME_DIR.match(frame_dir).groups())
    return {"setup": s, "camera": c, "subject": p, "replication": r, "action": a}


def _present(kp: np.ndarray) -> np.ndarray:
    """(M, T) True where a body has any non-zero joint."""
    return np.abs(kp.astype(np.float32)).sum(axis=(2, 3)) > 0


# --- classes and layout ----------------------------------------------------------------------------


def test_classes_single_and_two_person():
    assert len(SINGLE_LABELS) >= 12 and len(PAIR_LABELS) >= 3
    assert len(set(CLASS_NAMES)) == len(CLASS_NAMES) == len(ACTIONS)
    assert class_names("builtin") == list(CLASS_NAMES)
    for a in ACTIONS:
        assert a.cue and a.persons in (1, 2)
        assert a.name in synthetic.__doc__  # the module's class table lists every class


def test_joint_constants_follow_the_ntu_layout():
    names = get_layout("nturgb+d").joint_names
    assert synthetic.NUM_JOINTS == len(names)
    expected = {"SPINE_BASE": "SpineBase", "HEAD": "Head", "HAND_L": "HandLeft", "WRIST_R": "WristRight",
                "KNEE_L": "KneeLeft", "FOOT_R": "FootRight", "SPINE_SHOULDER": "SpineShoulder",
                "TIP_L": "HandTipLeft", "THUMB_R": "ThumbRight"}  # fmt: skip
    for const, name in expected.items():
        assert names[getattr(synthetic, const)] == name


# --- determinism -------------------------------------------------------------------------------------


def test_same_seed_same_data_other_seed_other_data():
    a, b = generate(TINY), generate(TINY)
    assert [r["frame_dir"] for r in a.annotations] == [r["frame_dir"] for r in b.annotations]
    for ra, rb in zip(a.annotations, b.annotations):
        assert ra["total_frames"] == rb["total_frames"]
        # exact: the same seeded numpy steps on one machine (its sin/cos may differ in the last bit between
        # CPUs -- AVX-512 builds use other kernels -- so the data are compared within a process, never to a file)
        np.testing.assert_array_equal(ra["keypoint"], rb["keypoint"])
    c = generate(replace(TINY, seed=1))
    assert any(
        ra["keypoint"].shape != rc["keypoint"].shape or not np.array_equal(ra["keypoint"], rc["keypoint"])
        for ra, rc in zip(a.annotations, c.annotations)
    )


def test_independent_of_numpy_global_rng():
    np.random.seed(1)
    first = generate_sample(19, 2, 1, 1)
    np.random.seed(12345)
    state = np.random.get_state()[1].copy()
    second = generate_sample(19, 2, 1, 1)
    np.testing.assert_array_equal(first["keypoint"], second["keypoint"])  # exact: as above
    np.testing.assert_array_equal(np.random.get_state()[1], state)  # and it draws nothing from it (integer state)


def test_all_cameras_record_the_same_take():
    views = [generate_sample(14, 3, c, 2) for c in (1, 2, 3)]
    assert len({v["total_frames"] for v in views}) == 1  # one performance ...
    assert not np.allclose(views[0]["keypoint"], views[1]["keypoint"], atol=0.05)  # ... seen from elsewhere
    assert len({v["frame_dir"][:8] for v in views}) == 3  # S...C... differ only in the camera


def test_sample_arguments_are_checked():
    with pytest.raises(ValueError):
        generate_sample(len(ACTIONS), 1, 1, 1)
    with pytest.raises(ValueError):
        generate_sample(0, 1, 4, 1)  # the default has 3 cameras
    with pytest.raises(ValueError):
        SyntheticConfig(min_frames=100, max_frames=50)


# --- the kinematics --------------------------------------------------------------------------------


@pytest.mark.parametrize("label", range(len(ACTIONS)))
def test_bones_are_rigid_and_bodies_stay_on_the_floor(label):
    rng = np.random.default_rng(label)
    bodies = [make_body(rng), make_body(rng)][: ACTIONS[label].persons]
    layout = get_layout("nturgb+d")
    for body, motion in zip(bodies, ACTIONS[label].make(rng, bodies)):
        joints = pose(body, motion)
        assert np.isfinite(joints).all()
        for child, parent in layout.bone_pairs:
            if child in (synthetic.TIP_L, synthetic.TIP_R) or child == parent:
                continue  # hand tips curl into fists
            length = np.linalg.norm(joints[:, child] - joints[:, parent], axis=-1)
            # f64 rotations down a chain of <= 10 joints (3-term products, sin/cos) on |x| <= 3 m: ~1e-14 << 1e-6
            assert length.std() < 1e-6 and 0.02 < length.mean() < 0.6, layout.joint_names[child]
        feet = joints[:, [synthetic.FOOT_L, synthetic.FOOT_R], 1]
        assert feet.min() > -0.05 and joints[:, synthetic.HEAD, 1].max() < 2.6


def test_interaction_partners_face_each_other():
    cfg = SyntheticConfig(noise_std=0.0, joint_dropout_prob=0.0, frame_dropout_prob=0.0)
    for label in PAIR_LABELS:
        kp = generate_sample(label, 1, 1, 1, cfg)["keypoint"].astype(np.float64)
        a, b = kp[0, 0], kp[1, 0]
        right = a[synthetic.SHOULDER_R] - a[synthetic.SHOULDER_L]
        forward = np.cross([0.0, 1.0, 0.0], right)  # up x right = forward
        towards = b[synthetic.SPINE_BASE] - a[synthetic.SPINE_BASE]
        cos = forward @ towards / np.linalg.norm(forward) / np.linalg.norm(towards)
        assert cos > 0.8, CLASS_NAMES[label]


# --- the standard dataset -------------------------------------------------------------------------


def test_every_record_is_valid_and_ntu_shaped(builtin):
    assert 300 <= len(builtin) <= 1800
    assert builtin.label_names == list(CLASS_NAMES) and builtin.layout == "nturgb+d"
    names = [r["frame_dir"] for r in builtin.annotations]
    assert names == sorted(names) and len(set(names)) == len(names)
    two_in_single = 0
    for rec in builtin.annotations:
        assert validate_record(rec, num_joints=25, num_classes=len(CLASS_NAMES)) == []
        kp = rec["keypoint"]
        assert kp.dtype == np.float16 and kp.shape[1:] == (rec["total_frames"], 25, 3)
        assert _parse(rec["frame_dir"])["action"] == rec["label"] + 1
        if ACTIONS[rec["label"]].persons == 2:
            assert kp.shape[0] == 2
        else:
            assert kp.shape[0] in (1, 2)
            two_in_single += kp.shape[0] == 2
    assert two_in_single <= 0.05 * len(builtin)  # bystanders are rare
    z = np.concatenate([r["keypoint"][0, :, :, 2][_present(r["keypoint"])[0]].ravel() for r in builtin.annotations])
    z = z[z != 0]
    # not rounding (like every range check on the generated data in this file): what the data must look like
    assert 2.0 < np.percentile(z, 1) and np.percentile(z, 99) < 4.5  # metres from the camera, like NTU


def test_splits_are_disjoint_by_subject_and_by_camera(builtin):
    s = builtin.split
    assert set(s) == {"xsub_train", "xsub_val", "xview_train", "xview_val", "xsub_holdout"}
    holdout = set(s["xsub_holdout"])
    everything = {r["frame_dir"] for r in builtin.annotations} - holdout
    for kind in ("xsub", "xview"):
        train, val = set(s[f"{kind}_train"]), set(s[f"{kind}_val"])
        assert train and val and not train & val and train | val == everything and not (train | val) & holdout
    subjects = {k: {_parse(n)["subject"] for n in s[k]} for k in s}
    cameras = {k: {_parse(n)["camera"] for n in s[k]} for k in s}
    assert not subjects["xsub_train"] & subjects["xsub_val"]
    assert subjects["xsub_holdout"] == {11, 12} and not subjects["xsub_holdout"] & (subjects["xsub_train"] | subjects["xsub_val"])
    assert not cameras["xview_train"] & cameras["xview_val"] and cameras["xview_val"] == {1}
    assert len(subjects["xsub_val"]) >= 3 and len(cameras["xview_train"]) == 2


def test_holdout_partners_stay_in_the_holdout_group():
    from aagcn_lab.data.synthetic import SyntheticConfig, _partner

    cfg = SyntheticConfig()
    for subject in cfg.all_subjects:
        for rep in (1, 2):
            assert cfg.group(_partner(cfg, subject, rep)) == cfg.group(subject)


def test_names_and_splits_follow_ntu60(builtin):
    from aagcn_lab.data.ntu import ntu_splits, parse_ntu_name

    holdout = set(builtin.split["xsub_holdout"])
    names = [r["frame_dir"] for r in builtin.annotations if r["frame_dir"] not in holdout]
    assert all(parse_ntu_name(r["frame_dir"]).action == r["label"] + 1 for r in builtin.annotations)
    ntu = ntu_splits(names, "ntu60")  # the same rules as NTU-60's xsub / xview for the other performers
    assert ntu == {k: v for k, v in builtin.split.items() if k != "xsub_holdout"}


def test_lengths_vary(builtin):
    lengths = np.array([r["total_frames"] for r in builtin.annotations])
    assert lengths.min() >= 40 and lengths.max() <= 160 and lengths.std() > 15


def test_missing_frames_occur_but_a_tracked_body_never_has_zero_joints(builtin):
    """Kinect loses whole frames (zeros, dropped by the pipeline) but reports lost joints as inferred."""
    lost_frames = 0
    for rec in builtin.annotations:
        kp = rec["keypoint"][0]
        zero_joint = np.all(kp == 0, axis=-1)  # (T, V)
        frame_lost = zero_joint.all(axis=1)
        lost_frames += frame_lost.any()
        assert not zero_joint[~frame_lost].any(), rec["frame_dir"]
    assert 0.05 * len(builtin) < lost_frames < 0.5 * len(builtin)


def _walking_body(t: int = 60) -> np.ndarray:
    """A rest pose 3 m in front of a camera, moving sideways at 1 cm per frame: ``(T, 25, 3)``."""
    body = synthetic.pose(synthetic.make_body(np.random.default_rng(0)), synthetic.Motion.still(synthetic.make_body(np.random.default_rng(0)), t))
    return body + np.array([0.0, 0.0, 3.0]) + np.arange(t)[:, None, None] * np.array([0.01, 0.0, 0.0])


def test_the_sensor_holds_lost_joints_and_swaps_sides_only_when_asked():
    joints = _walking_body()
    quiet = SyntheticConfig(noise_std=0.0, flicker=0.0, joint_dropout_prob=0.0, swap_prob=0.0)
    axes = np.eye(3)
    # no noise: the sensor's f64 steps (identity axes, 3-term products) on |x| <= 4 m are ~1e-15 from the joints,
    # far below allclose's 1e-5 / 1e-8 and the 1e-9 that tells a moved joint (every comparison in this test)
    assert np.allclose(synthetic._sensor(np.random.default_rng(0), joints, axes, np.zeros(60), 0.0, quiet), joints)
    held = synthetic._sensor(np.random.default_rng(3), joints, axes, np.zeros(60), 0.0, replace(quiet, joint_dropout_prob=1.0))
    moved = np.abs(held - joints).max(axis=-1) > 1e-9  # (T, V): where the sensor reported something else
    assert moved.any() and not np.all(held == 0, axis=-1).any()
    t, v = np.nonzero(moved)
    # a lost joint stays where it was last tracked (no noise here), while the body walks on
    for frame, joint in zip(t, v):
        before = frame - 1
        while moved[before, joint]:
            before -= 1
        assert np.allclose(held[frame, joint], joints[before, joint])
    # side-on (turned 90 degrees): left and right arms or legs trade places for a few frames
    swapped = synthetic._sensor(np.random.default_rng(0), joints, axes, np.full(60, np.pi / 2), 0.0, replace(quiet, swap_prob=1.0))
    diff = np.abs(swapped - joints).max(axis=-1) > 1e-9
    frames = np.nonzero(diff.any(axis=1))[0]
    assert 2 <= len(frames) <= 10 and np.ptp(frames) == len(frames) - 1
    pairs = dict(get_layout("nturgb+d").flip_pairs)
    pairs.update({b: a for a, b in pairs.items()})
    for j in np.nonzero(diff[frames[0]])[0]:
        assert np.allclose(swapped[frames[0], j], joints[frames[0], pairs[int(j)]])
    facing = synthetic._sensor(np.random.default_rng(0), joints, axes, np.zeros(60), 0.0, replace(quiet, swap_prob=1.0))
    assert np.allclose(facing, joints)  # a body facing the camera is not confused


def test_sensor_jitter_is_smooth_in_time_and_shared_along_the_body_tree():
    joints = _walking_body(400)
    cfg = SyntheticConfig(joint_dropout_prob=0.0, swap_prob=0.0)
    noise = synthetic._sensor(np.random.default_rng(0), joints, np.eye(3), np.zeros(400), 0.0, cfg) - joints
    body = [synthetic.SPINE_MID, synthetic.NECK, synthetic.SHOULDER_L, synthetic.ELBOW_L, synthetic.KNEE_R]  # unscaled joints
    n = noise[:, body]
    # not rounding: statistics of the simulated sensor noise (three checks)
    assert 0.002 < n.std() < 0.02  # millimetres to a centimetre, as Kinect v2
    step = np.diff(n, axis=0)
    assert step.std() < 0.5 * n.std()  # temporally correlated: a frame-to-frame step is far smaller than the error
    bone = noise[:, synthetic.ELBOW_L] - noise[:, synthetic.SHOULDER_L]
    assert bone.std() < 0.85 * np.sqrt(2) * noise[:, synthetic.ELBOW_L].std()  # steadier than two independent joints


def test_views_vary(builtin):
    yaws = []
    for rec in builtin.annotations:
        kp = rec["keypoint"][0, 0].astype(np.float64)
        shoulders = kp[synthetic.SHOULDER_R] - kp[synthetic.SHOULDER_L]
        yaws.append(np.degrees(np.arctan2(shoulders[2], shoulders[0])))
    yaws = np.array(yaws)
    assert yaws.max() - yaws.min() > 90  # frontal, oblique and side views
    assert np.abs(yaws).min() < 20 and np.abs(yaws).max() > 60


def _features(rec: dict) -> np.ndarray:
    """Hand-made features: per-frame centred joints (shoulders turned onto +x), their mean, spread, path, speed."""
    kp = rec["keypoint"][0].astype(np.float64)
    kp = kp[np.abs(kp).sum(axis=(1, 2)) > 0]
    shoulders = kp[0, synthetic.SHOULDER_R] - kp[0, synthetic.SHOULDER_L]
    a = np.arctan2(shoulders[2], shoulders[0])
    rot = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    rel = (kp - kp[:, synthetic.SPINE_MID : synthetic.SPINE_MID + 1]) @ rot.T
    ends = rel[np.linspace(0, len(rel) - 1, 8).round().astype(int)][:, [3, 7, 11, 14, 18]]
    speed = np.abs(np.diff(rel, axis=0)).mean(axis=0)
    return np.concatenate(
        [rel.mean(0).ravel(), rel.std(0).ravel(), ends.ravel(), 10 * speed.ravel(), [np.log(len(kp))]]
    )


def test_classes_are_separable_but_not_trivially(builtin):
    """A nearest-centroid classifier on simple features: far above chance, far from perfect."""
    train, val = builtin.select("xsub_train"), builtin.select("xsub_val")
    x, y = np.stack([_features(r) for r in train]), np.array([r["label"] for r in train])
    xv, yv = np.stack([_features(r) for r in val]), np.array([r["label"] for r in val])
    mean, std = x.mean(0), x.std(0) + 1e-6
    x, xv = (x - mean) / std, (xv - mean) / std
    centroids = np.stack([x[y == k].mean(0) for k in range(len(CLASS_NAMES))])
    accuracy = (((xv[:, None] - centroids[None]) ** 2).sum(-1).argmin(1) == yv).mean()
    assert 10 / len(CLASS_NAMES) < accuracy < 0.95, accuracy


def test_the_ntu_pipeline_reads_every_record(builtin):
    from aagcn_lab.data.pipeline import build_pipeline

    joints, bone_motion = build_pipeline("j", "val"), build_pipeline("bm", "val")
    for rec in builtin.annotations[::3]:
        x, y = joints(rec)["keypoint"], bone_motion(rec)["keypoint"]
        assert x.shape == y.shape == (1, 2, 100, 25, 3) and np.isfinite(x).all() and np.isfinite(y).all()
        assert np.abs(x).max() < 5  # centred and rotated: metres around the body


# --- files ---------------------------------------------------------------------------------------


def test_round_trip_through_an_annotation_file(tmp_path):
    ann = generate(TINY)
    path = save_annotations(tmp_path / "b.pkl", ann.annotations, ann.split, label_names=CLASS_NAMES, layout="nturgb+d")
    back = load_annotations(path)
    assert back.split == ann.split and back.label_names == list(CLASS_NAMES) and back.layout == "nturgb+d"
    for a, b in zip(ann.annotations, back.annotations):
        assert a["frame_dir"] == b["frame_dir"] and a["label"] == b["label"] and a["total_frames"] == b["total_frames"]
        assert b["keypoint"].dtype == np.float16
        np.testing.assert_array_equal(a["keypoint"], b["keypoint"])  # exact: the pickle stores the float16 bytes


def test_builtin_annotations_caches_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("AAGCN_LAB_CACHE", str(tmp_path / "cache"))
    assert synthetic._cache_name(SyntheticConfig()) == f"builtin-v{synthetic.VERSION}-0.pkl"
    assert synthetic._cache_name(SyntheticConfig(seed=3)) == f"builtin-v{synthetic.VERSION}-3.pkl"
    path = builtin_annotations(cfg=TINY)
    assert path.parent == tmp_path / "cache" and path.name.startswith(f"builtin-v{synthetic.VERSION}-0-")
    stamp = os.stat(path).st_mtime_ns
    assert builtin_annotations(cfg=TINY) == path and os.stat(path).st_mtime_ns == stamp  # not regenerated
    assert len(load_annotations(path)) == len(generate(TINY))
    explicit = builtin_annotations(tmp_path / "mine.pkl", cfg=TINY)
    assert explicit == tmp_path / "mine.pkl" and explicit.exists()


def test_describe_lists_classes_and_splits():
    text = describe()
    for name in CLASS_NAMES:
        assert name in text
    assert "xsub" in text and "xview" in text


def test_motion_tracks_have_one_length():
    rng = np.random.default_rng(0)
    body = make_body(rng)
    m = Motion.still(body, 10)
    assert len(m) == 10
    assert all(len(getattr(m, f)) == 10 for f in m.__dataclass_fields__ if f != "place")
