"""Fusion: id matching (never position), weights, the report, weight search, pyskl result files."""

import pickle

import numpy as np
import pytest

from aagcn_lab import cli
from aagcn_lab.data import save_annotations
from aagcn_lab.fusion import FusionError, align, default_weights, fuse, fusion_report, read_score_file, search_weights
from aagcn_lab.scores import Scores, load_scores, save_scores

from .tolerances import float_bound


def _streams(n=200, k=6, seed=0):
    """Four noisy streams whose errors differ, so fusing helps."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, k, n)
    ids = [f"S{i:04d}" for i in range(n)]
    out = {}
    for s, noise in zip(("j", "b", "jm", "bm"), (1.3, 1.4, 1.8, 1.9)):
        logits = rng.normal(0, noise, (n, k))
        logits[np.arange(n), labels] += 1.0
        p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
        out[s] = Scores(ids, p, labels, {"feat": s, "split": "test"})
    return out


def test_default_weights_are_pyskls():
    assert default_weights(["b", "j"]) == {"j": 1.0, "b": 1.0}
    assert default_weights(["j", "b", "jm", "bm"]) == {"j": 2.0, "b": 2.0, "jm": 1.0, "bm": 1.0}
    assert default_weights(["j", "jm"]) == {"j": 1.0, "jm": 1.0}


def test_shuffled_files_fuse_like_ordered_ones(tmp_path):
    streams = _streams()
    perm = np.random.default_rng(1).permutation(200)
    shuffled = {k: Scores([v.frame_dir[i] for i in perm], v.probs[perm], v.labels[perm], v.meta) for k, v in streams.items()}
    shuffled["jm"] = shuffled["jm"].reorder(list(reversed(shuffled["jm"].frame_dir)))
    a, b = fuse(streams), fuse(shuffled)
    assert np.allclose(a.probs, b.reorder(a.frame_dir).probs)  # f64, 4 weighted terms: 9e-16 < allclose's 1e-5
    ra, rb = fusion_report(streams), fusion_report(shuffled)
    # exact: the same elementwise sums in the same stream order on each row (rows only moved), then counts / 200
    assert [r.top1 for r in ra.rows] == [r.top1 for r in rb.rows]
    # positional fusion of the shuffled files would be wrong -- the bug this module prevents
    naive = sum(w * shuffled[s].probs for s, w in default_weights(list(shuffled)).items())
    assert (naive.argmax(1) == streams["j"].labels).mean() < 0.5 * ra.row("fusion (j+b+jm+bm)").top1
    # the same through files on disk
    for k, v in shuffled.items():
        save_scores(tmp_path / f"scores_{k}.npz", v)
    loaded = {k: read_score_file(tmp_path / f"scores_{k}.npz") for k in shuffled}
    assert np.allclose(fuse(loaded).reorder(a.frame_dir).probs, a.probs)  # npz keeps float64 bytes; as above


def test_fusion_helps_and_the_report_has_every_stream_and_pair():
    rep = fusion_report(_streams())
    names = [r.name for r in rep.rows]
    assert names[:4] == ["j", "b", "jm", "bm"] and "j+b" in names and "jm+bm" in names and len(names) == 4 + 6 + 1
    assert rep.row("fusion (j+b+jm+bm)").top1 > rep.best_single.top1
    assert rep.row("fusion (j+b+jm+bm)").weights == {"j": 2.0, "b": 2.0, "jm": 1.0, "bm": 1.0}
    text = rep.table()
    assert "fusion (j+b+jm+bm)" in text and "2:2:1:1" in text and "(200 samples" in text
    assert rep.as_dict()["rows"][0]["name"] == "j"


def test_a_missing_sample_is_reported_by_name():
    s = _streams()
    s["bm"] = s["bm"].reorder(s["bm"].frame_dir[:-3])
    with pytest.raises(FusionError, match=r"3 sample\(s\) missing from 'bm' \(S0197, S0198, S0199\)"):
        fuse(s)
    s = _streams()
    s["b"] = Scores(s["b"].frame_dir[:-1] + ["X"], s["b"].probs, s["b"].labels)
    with pytest.raises(FusionError, match="only in 'b' \\(X\\)"):
        align(s)


def test_mismatched_labels_and_classes_are_refused():
    s = _streams()
    bad = s["b"].labels.copy()
    bad[5] = (bad[5] + 1) % 6
    s["b"] = Scores(s["b"].frame_dir, s["b"].probs, bad)
    with pytest.raises(FusionError, match="labels of stream 'b' disagree .*S0005"):
        fuse(s)
    s = _streams()
    s["jm"] = Scores(s["jm"].frame_dir, s["jm"].probs[:, :5], s["jm"].labels)
    with pytest.raises(FusionError, match="different numbers of classes"):
        fuse(s)


def test_weight_search_on_a_disjoint_split_only():
    tune, test = _streams(seed=3), _streams(seed=4)
    with pytest.raises(FusionError, match="tuned on a split disjoint"):
        search_weights(tune, evaluate_on=test)  # same ids: refused
    tune = {k: Scores([f"T{i}" for i in range(len(v))], v.probs, v.labels, v.meta) for k, v in tune.items()}
    w, top1 = search_weights(tune, "simplex", resolution=6, evaluate_on=test)
    assert set(w) == {"j", "b", "jm", "bm"} and sum(w.values()) == pytest.approx(1)  # f64, 4 terms: 9e-16 < 1e-6
    fused = fuse(tune, w)
    assert (fused.probs.argmax(1) == fused.labels).mean() == pytest.approx(top1)  # the same count / n
    assert top1 >= (fuse(tune).probs.argmax(1) == fused.labels).mean()  # never worse than the default on the tuning set
    wg, _ = search_weights(tune, "grid", grid=(0, 1, 2))
    assert set(wg.values()) <= {0.0, 1.0, 2.0}


def test_pyskl_result_pickles_are_aligned_through_the_annotation_file(tmp_path):
    rng = np.random.default_rng(0)
    recs = [dict(frame_dir=f"S{i:03d}", label=i % 3, total_frames=5, keypoint=rng.normal(size=(1, 5, 25, 3)).astype(np.float16)) for i in range(10)]
    # pyskl's PoseDataset keeps annotation-file order, whatever order the split lists
    ann = save_annotations(tmp_path / "ann.pkl", recs, {"val": ["S009", "S001", "S004"]})
    probs = [np.eye(3)[r["label"]] * 0.9 + 0.05 for r in recs if r["frame_dir"] in {"S001", "S004", "S009"}]
    (tmp_path / "result.pkl").write_bytes(pickle.dumps(probs, protocol=2))
    s = read_score_file(tmp_path / "result.pkl", ann, "val")
    assert s.frame_dir == ["S001", "S004", "S009"] and list(s.labels) == [1, 1, 0]
    assert (s.probs.argmax(1) == s.labels).all()
    with pytest.raises(FusionError, match="has 3 results but split 'train'"):
        (tmp_path / "a.pkl").write_bytes(pickle.dumps(probs))
        save_annotations(tmp_path / "ann2.pkl", recs, {"train": ["S000"]})
        read_score_file(tmp_path / "a.pkl", tmp_path / "ann2.pkl", "train")
    with pytest.raises(FusionError, match="no sample ids"):
        read_score_file(tmp_path / "result.pkl")


def test_fuse_command(tmp_path, capsys):
    for k, v in _streams().items():
        save_scores(tmp_path / f"run_{k}.npz", v)
    tune = {k: Scores([f"T{i}" for i in range(len(v))], v.probs, v.labels, dict(v.meta, split="holdout")) for k, v in _streams(seed=5).items()}
    for k, v in tune.items():
        save_scores(tmp_path / f"tune_{k}.npz", v)
    files = [str(tmp_path / f"run_{k}.npz") for k in ("j", "b", "jm", "bm")]
    code = cli.main(["fuse", *files, "--tune", *[str(tmp_path / f"tune_{k}.npz") for k in ("j", "b", "jm", "bm")], "--out", str(tmp_path / "fused.npz")])
    out = capsys.readouterr().out
    assert code == 0 and "fusion (j+b+jm+bm)" in out and "fusion, tuned weights" in out and "tuned on holdout" in out
    assert load_scores(tmp_path / "fused.npz").meta["fused"] == {"j": 2.0, "b": 2.0, "jm": 1.0, "bm": 1.0}
    assert cli.main(["fuse", *files[:1], files[0]]) == 2  # two files for one stream
    assert "two score files for stream 'j'" in capsys.readouterr().err


def test_fuse_adds_the_weighted_probabilities_by_hand():
    ids = ["a", "b"]
    p = {s: np.full((2, 2), v) for s, v in {"j": 0.1, "b": 0.2, "jm": 0.3, "bm": 0.4}.items()}  # one value per stream
    streams = {s: Scores(ids, p[s], np.array([0, 1])) for s in p}
    fused = fuse(streams)
    # f64 sums of 4 weighted terms on both sides: 4 x 2.2e-16 = 8.9e-16 < assert_allclose's rtol 1e-7 (3 lines)
    np.testing.assert_allclose(fused.probs, np.full((2, 2), 2 * 0.1 + 2 * 0.2 + 0.3 + 0.4))
    np.testing.assert_allclose(fuse(streams, {"j": 1.0, "bm": 3.0}).probs, np.full((2, 2), 0.1 + 3 * 0.4))
    two = fuse({s: streams[s] for s in ("j", "b")})
    np.testing.assert_allclose(two.probs, np.full((2, 2), 0.1 + 0.2))


def test_predict_fuses_the_streams_two_two_one_one(tmp_path):
    """predict() on a self-made skeleton: each stream computed here from its own model and pipeline,
    then the fused probabilities checked against pyskl's 2:2:1:1 (four streams) and 1:1 (j + b)."""
    import torch

    from aagcn_lab.data.pipeline import Pipeline
    from aagcn_lab.model import AAGCN, AAGCNConfig
    from aagcn_lab.model.checkpoint import save_checkpoint
    from aagcn_lab.prediction import predict

    from .conftest import perturb

    small = dict(layout="nturgb+d", num_classes=5, base_channels=8, num_stages=4, inflate_stages=[3], down_stages=[3])
    models, paths = {}, {}
    for i, feat in enumerate(("j", "b", "jm", "bm")):
        torch.manual_seed(10 + i)
        models[feat] = perturb(AAGCN(AAGCNConfig(**small)), seed=i, scale=0.3).eval()  # four different models
        paths[feat] = save_checkpoint(models[feat], tmp_path / f"{feat}.pt", meta={"feat": feat})
    rng = np.random.default_rng(0)
    x = (rng.normal(0, 0.3, (1, 1, 25, 3)) + np.cumsum(rng.normal(0, 0.02, (1, 40, 25, 3)), 1) + [0, 0, 3]).astype(np.float32)
    rec = {"frame_dir": "x", "label": -1, "total_frames": 40, "keypoint": x}
    own = {}
    with torch.no_grad():
        for feat, m in models.items():
            clip = Pipeline(feat, "test", "nturgb+d", 100, 2, 2)(dict(rec))["keypoint"]
            own[feat] = m.forward_test(torch.from_numpy(clip)[None])[0].double().numpy()
    assert min(np.abs(own[a] - own[b]).max() for a in own for b in own if a != b) > 1e-3  # the streams differ
    (pred,) = predict(list(paths.values()), x, num_clips=2)
    # predict's prepared inference path against the plain model, f32: ~1e3 terms per layer (tcn 9 x 16,
    # C_e x T = 400, the means over T x V = 2500 through a sigmoid's slope 1/4), 4 blocks + head; softmax
    # makes |dp| <= 2 p max|dz|, logits |z| < 10 here: elementwise relative, 1.2e-2 (equal weights move
    # the fused probabilities by up to 28%)
    rtol = float_bound(np.float32, terms=1e3, depth=5, scale=20)
    for feat in own:
        np.testing.assert_allclose(pred.streams[feat], own[feat], rtol=rtol, atol=1e-7)
    np.testing.assert_allclose(pred.probs, (2 * own["j"] + 2 * own["b"] + own["jm"] + own["bm"]) / 6, rtol=rtol, atol=1e-7)
    (pair,) = predict({"j": paths["j"], "b": paths["b"]}, x, num_clips=2)
    np.testing.assert_allclose(pair.probs, (own["j"] + own["b"]) / 2, rtol=rtol, atol=1e-7)
