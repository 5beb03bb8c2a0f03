"""Pipelines: pyskl parity (fixtures), the fast pipeline vs the one-to-one oracle, augmentations."""

import numpy as np
import pytest
import torch

from aagcn_lab.data.pipeline import FEATS, Augment, bone_parents, build_pipeline, prenormalize, sample_indices
from aagcn_lab.data.reference import reference_pipeline
from aagcn_lab.graph import get_layout

from .conftest import GOLDEN, shared_file
from .facts import PRENORM_CENTER, PRENORM_XAXIS, PRENORM_ZAXIS

FIXTURES = ["pipe_3d_m2_t150.pt", "pipe_3d_m1_t73.pt", "pipe_2d_m2_t120.pt"]


def rel(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-12))


# Every `rel(...) <= 1e-4` below compares pyskl's outputs (fixtures, tests/golden) with ours: elementwise f32
# steps (centring, a 3-term rotation, bone and motion differences, 2D scaling), <= 10 roundings, relative to
# the feature's own max, which for motion is down to ~1/30 of the centred coordinates it is the difference
# of: 1.2e-7 x 10 x 30 = 3.6e-5 <= 1e-4, kept.


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
        # the oracle reproduces pyskl too, including its frame indices (exact: integers from MT19937,
        # the same on any machine)
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
    for i, rec in enumerate(_records()):
        layout = "coco" if "keypoint_score" in rec else "nturgb+d"
        for clip_len in (100, 32):
            seed = 1000 * i + clip_len  # fixed per record and length: a failure reproduces in any process
            fast = build_pipeline(feat, split, layout, clip_len=clip_len)(dict(rec), np.random.RandomState(seed))
            ref = reference_pipeline(feat, split, layout, clip_len=clip_len)(dict(rec), np.random.RandomState(seed))
            assert fast["keypoint"].shape == ref["keypoint"].shape
            # the same steps grouped otherwise (one combined rotation, f64 before the f32 cast): <= 4 f32
            # roundings of centred coordinates |x| <= 2 (max(1, .) covers motion's smaller values): 1.2e-7 x 4 x 2
            # = 9.5e-7 <= 1e-6, kept
            np.testing.assert_allclose(fast["keypoint"], ref["keypoint"], rtol=0, atol=1e-6 * max(1, np.abs(ref["keypoint"]).max()))


def test_global_rng_untouched():
    rec = _records()[1]
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    for split in ("train", "val", "test"):
        build_pipeline("jm", split)(dict(rec), np.random.RandomState(0))
    assert np.array_equal(np.random.get_state()[1], before)  # exact: integer RNG state


def test_test_mode_is_deterministic_and_train_mode_follows_the_rng():
    rec = _records()[4]
    a = build_pipeline("j", "test")(dict(rec))["keypoint"]
    b = build_pipeline("j", "test")(dict(rec))["keypoint"]
    # exact (here and below): the same numpy steps on the same record and RNG stream, on one machine
    assert np.array_equal(a, b) and a.shape == (10, 2, 100, 25, 3)
    t1 = build_pipeline("j", "train")(dict(rec), np.random.RandomState(1))["keypoint"]
    t2 = build_pipeline("j", "train")(dict(rec), np.random.RandomState(1))["keypoint"]
    t3 = build_pipeline("j", "train")(dict(rec), np.random.RandomState(2))["keypoint"]
    assert np.array_equal(t1, t2) and not np.array_equal(t1, t3)  # t3: another RNG stream must differ


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
    assert np.array_equal(base, same)  # exact: no augmentation step runs, the same steps as base
    aug = Augment(rotate_deg=30, scale=0.1, noise_std=0.01, flip_prob=1.0)
    t1 = build_pipeline("j", "test", augment=aug)(dict(rec))["keypoint"]
    assert np.array_equal(t1, build_pipeline("j", "test")(dict(rec))["keypoint"])


@pytest.mark.parametrize("feat", FEATS)
def test_an_augmented_sample_is_augment_then_features_then_frames(feat):
    """With augmentation, prepare stops at the normalised joints and draw computes the features of the
    augmented ones; composed here from the parts, the features written out (bones, motion by hand)."""
    aug = Augment(rotate_deg=30, scale=0.1, noise_std=0.01, flip_prob=0.5)
    for rec in _records()[:5]:
        lay = get_layout("nturgb+d")
        rng = np.random.RandomState(11)
        x = aug(prenormalize(rec, lay), lay, rng)  # draws first, then the frames
        inds = sample_indices(x.shape[1], 24, 1, False, rng)
        if feat in ("b", "bm"):
            x = x - x[:, :, bone_parents(lay)]
        if feat in ("jm", "bm"):
            x = np.concatenate([x[:, 1:] - x[:, :-1], np.zeros_like(x[:, :1])], axis=1)  # the step to the next original frame
        want = np.zeros((2, 24, 25, 3))
        want[: x.shape[0]] = x[:, inds]
        got = build_pipeline(feat, "train", clip_len=24, augment=aug)(dict(rec), np.random.RandomState(11))["keypoint"][0]
        # bones are cast to float32 before their motion (as pyskl does): <= 2 roundings of 6e-8 of the coordinates (|x| < 3)
        assert np.abs(got - want).max() <= 4 * 2**-24 * max(np.abs(x).max(), 1.0), rec["frame_dir"]


def test_augment_geometry():
    lay = get_layout("nturgb+d")
    rng = np.random.default_rng(0)
    kp = rng.normal(size=(2, 10, 25, 3))
    kp[1, 5:] = 0
    kp[0, 2, 7] = 0
    flip = Augment(flip_prob=1.0)(kp, lay, np.random.RandomState(0))
    perm = lay.flip_permutation()
    # f64: a negation and a gather (exact), a 3-term rotation and a norm (~5 x 2.2e-16 of |x| <= 4): far below
    # allclose's 1e-5 / 1e-8 (4 bounds); the rotated pose must differ
    assert np.allclose(flip[..., 0], -kp[:, :, perm, 0]) and np.allclose(flip[..., 1:], kp[:, :, perm, 1:])
    rot = Augment(rotate_deg=45)(kp, lay, np.random.RandomState(0))
    assert np.allclose(np.linalg.norm(rot, axis=-1), np.linalg.norm(kp, axis=-1))  # rotation keeps lengths
    assert np.allclose(rot[..., 2], kp[..., 2]) and not np.allclose(rot, kp)  # about the vertical (z) axis
    noisy = Augment(noise_std=0.1, scale=0.2)(kp, lay, np.random.RandomState(0))
    assert (noisy[kp == 0] == 0).all()  # absent joints stay absent (exact: masked to 0)


def test_2d_rotation_keeps_scores():
    lay = get_layout("coco")
    kp = np.random.default_rng(0).uniform(-1, 1, (2, 5, 17, 3))
    out = Augment(rotate_deg=90, noise_std=0.1)(kp, lay, np.random.RandomState(0), with_score=True)
    assert np.array_equal(out[..., 2], kp[..., 2]) and not np.allclose(out[..., :2], kp[..., :2])  # scores: copied, exact


# ------------------------------------------------------------------------------------------------
# pyskl's outputs kept in tests/golden (every clone), and geometry checked without the package
# ------------------------------------------------------------------------------------------------

GOLDEN_CASES = {"3d_m2_t150": "nturgb+d", "2d_m2_t120": "coco", "real_A058": "nturgb+d"}


def _golden_record(g, case):
    rec = dict(frame_dir=case, label=0, keypoint=g[f"{case}/input"], total_frames=g[f"{case}/input"].shape[1])
    if f"{case}/score" in g:
        rec.update(keypoint_score=g[f"{case}/score"], img_shape=tuple(int(s) for s in g[f"{case}/img_shape"]))
    return rec


@pytest.mark.parametrize("case", list(GOLDEN_CASES))
def test_prenormalisation_equals_pyskls_golden_output(case):
    """Frame 0 and a window of a pyskl sample: normalisation is per frame given frame 0's anchors."""
    from aagcn_lab.data.pipeline import prenormalize

    g = np.load(GOLDEN)
    want = g[f"{case}/prenorm"]
    got = prenormalize(_golden_record(g, case), get_layout(GOLDEN_CASES[case]))
    assert got.shape == want.shape and rel(got, want) <= 1e-4
    # the oracle too: it is checked against pyskl, not only against the fast pipeline
    from aagcn_lab.data import reference as oracle

    step = oracle.PreNormalize2D() if f"{case}/score" in g else oracle.PreNormalize3D()
    assert rel(step(_golden_record(g, case))["keypoint"], want) <= 1e-4


@pytest.mark.parametrize("case", list(GOLDEN_CASES))
@pytest.mark.parametrize("feat", FEATS)
def test_stream_features_equal_pyskls_golden_output(case, feat):
    """GenSkeFeat's j, b, jm, bm on pyskl's own normalised frames (motion to the next original frame)."""
    g = np.load(GOLDEN)
    kp = g[f"{case}/prenorm"].astype(np.float64)
    pipe = build_pipeline(feat, "val", GOLDEN_CASES[case])
    got = pipe.features(kp, g[f"{case}/feat_positions"], with_score=f"{case}/score" in g)
    assert rel(got, g[f"{case}/{feat}"]) <= 1e-4


def test_sampled_frame_indices_equal_pyskls_golden_output():
    g = np.load(GOLDEN)
    cases = sorted({k.split("/")[1] for k in g.files if k.startswith("inds/")})
    assert len(cases) == 8
    for case in cases:
        t, seed = int(g[f"inds/{case}/total_frames"]), int(g[f"inds/{case}/train_seed"])
        for split, nc in (("train", 1), ("val", 1), ("test", 10)):
            got = sample_indices(t, 100, nc, split != "train", np.random.RandomState(seed))
            assert np.array_equal(got, g[f"inds/{case}/{split}"]), (case, split)  # exact: integers from MT19937


def _random_rotation(rng) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


def _upright_pose(rng, v=25) -> np.ndarray:
    """A pose with SpineBase -> SpineMid along +z and ShoulderLeft -> ShoulderRight along +x (perpendicular)."""
    pose = rng.normal(0, 0.3, (v, 3))
    pose[PRENORM_CENTER] = [0.0, 0.0, 0.0]
    pose[PRENORM_ZAXIS[0]] = [0.0, 0.0, -0.35]  # the spine: bottom below the centre
    pose[PRENORM_XAXIS[0]] = [0.2, 0.1, 0.3]  # right shoulder at +x of the left one, same y and z
    pose[PRENORM_XAXIS[1]] = [-0.2, 0.1, 0.3]
    return pose


@pytest.mark.parametrize("which", ["fast", "oracle"])
def test_prenormalisation_geometry_spine_up_shoulders_across(which):
    """A pose turned and moved anywhere comes back upright: spine along +z, shoulders along +x, centre 0.

    The expected output is built here from the reference facts (anchor joints), never with the
    package's rotation code: an upright pose with the spine perpendicular to the shoulders is
    exactly what the two rotations must give back.
    """
    from aagcn_lab.data import reference as oracle
    from aagcn_lab.data.pipeline import prenormalize

    rng = np.random.default_rng(7)
    lay = get_layout("nturgb+d")
    for trial in range(20):
        pose = _upright_pose(rng)
        moves = pose + rng.normal(0, 0.02, (6, 25, 3))  # six frames, the first is the anchor
        moves[0] = pose
        rot, shift = _random_rotation(rng), rng.normal(0, 2, 3)
        kp = (moves @ rot.T + shift)[None]  # (1, T, V, 3) in some camera frame
        rec = dict(frame_dir="g", label=0, keypoint=kp, total_frames=6)
        out = prenormalize(rec, lay) if which == "fast" else oracle.PreNormalize3D()(dict(rec))["keypoint"]
        # f64: two rotations from the anchors (norms, arccos at the generic angles these seeded turns give,
        # Rodrigues' sums) and 3-term products on |x| <= 10: ~1e2 roundings x 10 = 2.2e-13, far below 1e-9
        np.testing.assert_allclose(out[0], moves, atol=1e-9, err_msg=f"trial {trial}")
        spine = out[0, 0, PRENORM_ZAXIS[1]] - out[0, 0, PRENORM_ZAXIS[0]]
        across = out[0, 0, PRENORM_XAXIS[0]] - out[0, 0, PRENORM_XAXIS[1]]
        np.testing.assert_allclose(spine / np.linalg.norm(spine), [0, 0, 1], atol=1e-9)
        np.testing.assert_allclose(across / np.linalg.norm(across), [1, 0, 0], atol=1e-9)


def test_prenormalisation_swaps_persons_drops_frames_and_keeps_zeros():
    """pyskl's rules by hand: the person present longer becomes person 0; frames without them go; zeros stay zero."""
    from aagcn_lab.data.pipeline import prenormalize

    rng = np.random.default_rng(3)
    lay = get_layout("nturgb+d")
    a = np.stack([_upright_pose(rng) + 0.01 * i for i in range(10)])
    b = np.stack([_upright_pose(rng) + [1.0, 0, 0] for _ in range(10)])
    b[[2, 5]] = 0  # the long-lasting person misses frames 2 and 5 ...
    a[6:] = 0  # ... the other is there only in frames 0-5
    a[0, 3] = 0  # and one of its joints is missing in frame 0
    kp = np.stack([a, b])
    out = prenormalize(dict(frame_dir="s", label=0, keypoint=kp, total_frames=10), lay)
    keep = [0, 1, 3, 4, 6, 7, 8, 9]
    assert out.shape == (2, 8, 25, 3)
    # f64: b is upright, so both rotations are the identity; one subtraction: 2.2e-16 x |x| << 1e-9 (both)
    np.testing.assert_allclose(out[0], b[keep] - b[0, PRENORM_CENTER], atol=1e-9)  # b is upright already
    want_a = np.where((a[keep] != 0).any(-1, keepdims=True), a[keep] - b[0, PRENORM_CENTER], 0)
    np.testing.assert_allclose(out[1], want_a, atol=1e-9)
    assert (out[1, 0, 3] == 0).all() and (out[1, 4:] == 0).all()


REAL_CLIPS = [
    "S001C001P001R001A011", "S001C003P008R002A058", "S002C001P003R001A003",
    "S003C001P015R001A034", "S004C002P003R001A017",
]  # fmt: skip


@pytest.mark.parametrize("clip", REAL_CLIPS)
def test_real_clip_from_raw_skeleton_file_to_pyskls_pipeline_output(clip):
    """Raw NTU ``.skeleton`` -> our reader -> our pipeline == pyskl's pipeline on pyskl's record of that file."""
    from aagcn_lab.data.ntu import read_ntu_skeleton

    d = torch.load(shared_file("fixtures", "pyskl_parity", f"pipe_real_{clip}.pt"), weights_only=True)
    rec = read_ntu_skeleton(shared_file("data", "real_samples", "ntu60_skeleton_levelca", f"{clip}.skeleton"), notes=[])
    assert rec["frame_dir"] == clip and rec["label"] == d["sample"]["label"]
    kp, theirs = rec["keypoint"].astype(np.float64), d["sample"]["keypoint"].numpy().astype(np.float64)
    assert rec["keypoint"].dtype == np.float16 and kp.shape == theirs.shape

    def same(a, b):  # bit for bit: both round the text to float16 once (correctly rounded: any CPU)
        return np.array_equal(a, b)

    if not same(kp, theirs):
        # two bodies: our reader orders them by motion (the authors' rule), pyskl's converter by first appearance
        assert kp.shape[0] == 2 and same(kp[::-1], theirs)
        rec["keypoint"] = np.ascontiguousarray(rec["keypoint"][::-1])
    for feat in FEATS:
        for split in ("val", "test"):
            out = build_pipeline(feat, split)(dict(rec))
            assert rel(out["keypoint"], d[f"{split}_{feat}"].numpy()) <= 1e-4, (feat, split)
        out = build_pipeline(feat, "train")(dict(rec), np.random.RandomState(d["train_seed"]))
        assert rel(out["keypoint"], d[f"train_{feat}"].numpy()) <= 1e-4, (feat, "train")


def test_prenormalisation_2d_by_hand():
    """pyskl's PreNormalize2D: x, y to [-1, 1] by the image size; a score at or below 0.01 zeroes x and y."""
    from aagcn_lab.data.pipeline import prenormalize

    kp = np.array([[[[0.0, 0.0], [960.0, 540.0], [1920.0, 1080.0], [480.0, 810.0]]]], np.float32)  # (1, 1, 4, 2)
    score = np.array([[[0.9, 0.01, 0.011, 0.5]]], np.float32)
    out = prenormalize(dict(keypoint=kp, keypoint_score=score, img_shape=(1080, 1920)), get_layout("coco"))
    want = [[-1, -1, 0.9], [0, 0, 0.01], [1, 1, 0.011], [-0.5, 0.5, 0.5]]  # joint 1: score 0.01 -> zeroed
    # coordinates: halves and quarters of the image size, exact in f32; scores: one f32 rounding of values
    # <= 1 against the f64 literal, u = 6e-8 < 1e-7
    np.testing.assert_allclose(out[0, 0], want, rtol=0, atol=1e-7)
