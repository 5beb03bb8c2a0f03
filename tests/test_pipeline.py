"""Pipelines: pyskl parity (fixtures), the fast pipeline vs the one-to-one oracle, augmentations."""

import numpy as np
import pytest
import torch

from aagcn_lab.data.pipeline import FEATS, Augment, build_pipeline, sample_indices
from aagcn_lab.data.reference import reference_pipeline
from aagcn_lab.graph import get_layout

from .conftest import shared_file

FIXTURES = ["pipe_3d_m2_t150.pt", "pipe_3d_m1_t73.pt", "pipe_2d_m2_t120.pt"]


def rel(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-12))


def _fixture(name):
    d = torch.load(shared_file("fixtures", "pyskl_parity", name), weights_only=True)
    sample = {k: (v.numpy() if isinstance(v, torch.Tensor) else v) for k, v in d["sample"].items()}
    return d, sample, ("coco" if "2d" in name else "nturgb+d")


@pytest.mark.parametrize("name", FIXTURES)
@pytest.mark.parametrize("feat", FEATS)
def test_pyskl_fixture_parity(name, feat):
    d, sample, layout = _fixture(name)
    for split in ("train", "val", "test"):
        out = build_pipeline(feat, split, layout)(dict(sample), np.random.RandomState(d["train_seed"]))
        want = d[f"{split}_{feat}"].numpy()
        assert out["keypoint"].shape == want.shape and out["keypoint"].dtype == np.float32
        assert rel(out["keypoint"], want) <= 1e-4, split
        assert out["label"] == d["sample"]["label"] and out["frame_dir"] == d["sample"]["frame_dir"]
        # the oracle reproduces pyskl too, including its frame indices
        np.random.seed(d["train_seed"])
        ref = reference_pipeline(feat, split, layout)(dict(sample))
        assert np.array_equal(ref["frame_inds"].reshape(-1), d[f"{split}_{feat}_inds"].numpy().reshape(-1))
        assert rel(ref["keypoint"], want) <= 1e-4
        inds = sample_indices(d["prenorm_total_frames"], 100, out["keypoint"].shape[0], split != "train", np.random.RandomState(0))
        assert np.array_equal(inds, d[f"{split}_{feat}_inds"].numpy().reshape(-1))


@pytest.mark.parametrize("name", FIXTURES)
def test_intermediates_match_pyskl(name):
    from aagcn_lab.data.pipeline import prenormalize
    from aagcn_lab.data.reference import GenSkeFeat

    d, sample, layout = _fixture(name)
    pre = prenormalize(dict(sample), get_layout(layout))
    assert rel(pre, d["prenorm_keypoint"].numpy()) <= 1e-4 and pre.shape[1] == d["prenorm_total_frames"]
    for feat in FEATS:
        g = GenSkeFeat(layout, [feat])({"keypoint": pre.copy()})
        assert rel(g["keypoint"], d[f"genskefeat_{feat}"].numpy()) <= 1e-4


def _walking_skeleton(rng, m, t, v=25, zeros=()):
    """A smooth random 3D sequence around a plausible pose, with some all-zero frames."""
    base = rng.normal(0, 0.3, (m, 1, v, 3)) + np.array([0, 0, 3.0])
    kp = base + np.cumsum(rng.normal(0, 0.01, (m, t, v, 3)), axis=1)
    for p, f in zeros:
        kp[p, f] = 0
    return kp


def _records(seed=0):
    rng = np.random.default_rng(seed)
    recs = []
    for i, (m, t) in enumerate([(1, 73), (2, 150), (2, 40), (1, 100), (2, 260), (1, 7), (2, 199), (1, 1)]):
        zeros = [(0, 0)] if i == 1 else [(1, f) for f in range(10)] if m == 2 else []
        kp = _walking_skeleton(rng, m, t, zeros=zeros).astype(np.float16)
        if i == 2:  # the second person is present longer: pyskl swaps them
            kp[0, :20] = 0
        recs.append(dict(frame_dir=f"r{i}", label=i, total_frames=t, keypoint=kp))
    for i, t in enumerate([120, 30, 301]):
        kp = rng.uniform(0, 1920, (2, t, 17, 2)).astype(np.float32)
        score = rng.uniform(0, 1, (2, t, 17)).astype(np.float32)
        score[score < 0.05] = 0.005
        recs.append(dict(frame_dir=f"c{i}", label=i, total_frames=t, keypoint=kp, keypoint_score=score, img_shape=(1080, 1920)))
    return recs


@pytest.mark.parametrize("feat", FEATS)
@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_fast_pipeline_equals_oracle_on_self_made_records(feat, split):
    """Always runs (no reference material needed): the fast pipeline vs the transcription."""
    for rec in _records():
        layout = "coco" if "keypoint_score" in rec else "nturgb+d"
        for clip_len in (100, 32):
            seed = hash((rec["frame_dir"], clip_len)) % 2**31
            fast = build_pipeline(feat, split, layout, clip_len=clip_len)(dict(rec), np.random.RandomState(seed))
            ref = reference_pipeline(feat, split, layout, clip_len=clip_len)(dict(rec), np.random.RandomState(seed))
            assert fast["keypoint"].shape == ref["keypoint"].shape
            np.testing.assert_allclose(fast["keypoint"], ref["keypoint"], rtol=0, atol=1e-6 * max(1, np.abs(ref["keypoint"]).max()))


def test_global_rng_untouched():
    rec = _records()[1]
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    for split in ("train", "val", "test"):
        build_pipeline("jm", split)(dict(rec), np.random.RandomState(0))
    assert np.array_equal(np.random.get_state()[1], before)


def test_test_mode_is_deterministic_and_train_mode_follows_the_rng():
    rec = _records()[4]
    a = build_pipeline("j", "test")(dict(rec))["keypoint"]
    b = build_pipeline("j", "test")(dict(rec))["keypoint"]
    assert np.array_equal(a, b) and a.shape == (10, 2, 100, 25, 3)
    t1 = build_pipeline("j", "train")(dict(rec), np.random.RandomState(1))["keypoint"]
    t2 = build_pipeline("j", "train")(dict(rec), np.random.RandomState(1))["keypoint"]
    t3 = build_pipeline("j", "train")(dict(rec), np.random.RandomState(2))["keypoint"]
    assert np.array_equal(t1, t2) and not np.array_equal(t1, t3)


def test_sampling_semantics():
    # short videos loop; test clips start at i*T//nc; long videos take one frame per segment
    short = sample_indices(30, 100, 10, test_mode=True).reshape(10, 100)
    assert short[3, 0] == 3 * 30 // 10 and np.array_equal(short[0], np.arange(100) % 30)
    long = sample_indices(1000, 100, 1, test_mode=False, rng=np.random.RandomState(0))
    assert np.all((long >= np.arange(100) * 10) & (long < np.arange(1, 101) * 10))
    mid = sample_indices(150, 100, 1, test_mode=False, rng=np.random.RandomState(0))
    assert np.all(np.diff(mid) >= 1) and len(set(mid)) == 100
    with pytest.raises(ValueError, match="0 frames"):
        sample_indices(0, 100)


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown feature 'x'"):
        build_pipeline("x", "train")
    with pytest.raises(ValueError, match="unknown split mode 'dev'"):
        build_pipeline("j", "dev")
    with pytest.raises(ValueError, match="unknown skeleton layout"):
        build_pipeline("j", "train", layout="ntu")


def test_augmentations_off_by_default_and_not_at_test():
    rec = _records()[1]
    base = build_pipeline("j", "train")(dict(rec), np.random.RandomState(5))["keypoint"]
    same = build_pipeline("j", "train", augment=Augment())(dict(rec), np.random.RandomState(5))["keypoint"]
    assert np.array_equal(base, same)
    aug = Augment(rotate_deg=30, scale=0.1, noise_std=0.01, flip_prob=1.0)
    t1 = build_pipeline("j", "test", augment=aug)(dict(rec))["keypoint"]
    assert np.array_equal(t1, build_pipeline("j", "test")(dict(rec))["keypoint"])


def test_augment_geometry():
    lay = get_layout("nturgb+d")
    rng = np.random.default_rng(0)
    kp = rng.normal(size=(2, 10, 25, 3))
    kp[1, 5:] = 0
    kp[0, 2, 7] = 0
    flip = Augment(flip_prob=1.0)(kp, lay, np.random.RandomState(0))
    perm = lay.flip_permutation()
    assert np.allclose(flip[..., 0], -kp[:, :, perm, 0]) and np.allclose(flip[..., 1:], kp[:, :, perm, 1:])
    rot = Augment(rotate_deg=45)(kp, lay, np.random.RandomState(0))
    assert np.allclose(np.linalg.norm(rot, axis=-1), np.linalg.norm(kp, axis=-1))  # rotation keeps lengths
    assert np.allclose(rot[..., 2], kp[..., 2]) and not np.allclose(rot, kp)  # about the vertical (z) axis
    noisy = Augment(noise_std=0.1, scale=0.2)(kp, lay, np.random.RandomState(0))
    assert (noisy[kp == 0] == 0).all()  # absent joints stay absent


def test_2d_rotation_keeps_scores():
    lay = get_layout("coco")
    kp = np.random.default_rng(0).uniform(-1, 1, (2, 5, 17, 3))
    out = Augment(rotate_deg=90, noise_std=0.1)(kp, lay, np.random.RandomState(0), with_score=True)
    assert np.array_equal(out[..., 2], kp[..., 2]) and not np.allclose(out[..., :2], kp[..., :2])
