"""Checkpoints: our round trip, pyskl's mmcv files, inference of the config, and bad files."""

import json
import os

import pytest
import torch

from aagcn_lab import CheckpointError, build_model, define_layout, load_checkpoint, read_checkpoint, save_checkpoint
from aagcn_lab.cli import main as cli_main
from aagcn_lab.io import CorruptFileError, UnsafeFileError
from aagcn_lab.model.checkpoint import Provenance
from aagcn_lab.train.config import TrainConfig

from .conftest import perturb


def _equal_models(a, b) -> bool:
    sa, sb = a.state_dict(), b.state_dict()  # exact: saving and loading copy the bytes of every tensor
    return list(sa) == list(sb) and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(layout="nturgb+d", num_classes=60),
        dict(layout="coco", num_classes=5, base_channels=8, graph="cvpr", channel_attention=False),
        dict(layout="openpose", num_classes=3, base_channels=8, graph="fixed", init="original", dropout=0.3),
    ],
)
def test_own_checkpoint_round_trips_exactly(tmp_path, kwargs):
    m = perturb(build_model(**kwargs))
    path = save_checkpoint(m, tmp_path / "m.pt", meta={"note": "test"})
    back = load_checkpoint(path)
    assert back.cfg == m.cfg and _equal_models(m, back) and not back.training
    info = read_checkpoint(path)
    assert info.meta["note"] == "test" and info.source == "aagcn_lab"
    assert not info.provenance.known and info.train_state is None  # saved without a training state
    x = torch.randn(2, 2, 16, m.backbone.num_joints, 3)
    m.eval()
    assert torch.equal(m(x), back(x))  # exact: bit-equal weights, the same module code and kernels on one machine


def test_custom_layout_round_trips(tmp_path):
    lay = define_layout("tri", ["a", "b", "c", "d"], [("a", "b"), ("a", "c"), ("c", "d")], center="a")
    m = build_model(layout=lay, num_classes=2, base_channels=8)
    back = load_checkpoint(save_checkpoint(m, tmp_path / "t.pt"))
    assert back.layout == lay and _equal_models(m, back)


@pytest.mark.parametrize("wrap", ["mmcv", "ddp", "bare"])
def test_pyskl_style_files_load_with_inferred_config(tmp_path, wrap):
    m = perturb(build_model(layout="coco", num_classes=11, base_channels=8, spatial_attention=False))
    sd = m.state_dict()
    if wrap == "mmcv":
        obj = {"meta": {"config": "graph_cfg=dict(layout='coco', mode='spatial')"}, "state_dict": sd, "optimizer": {"state": {}}}
    elif wrap == "ddp":
        obj = {"state_dict": {f"module.{k}": v for k, v in sd.items()}}
    else:
        obj = sd
    torch.save(obj, tmp_path / "r.pth")
    back = load_checkpoint(tmp_path / "r.pth")
    assert back.cfg.layout == "coco" and back.cfg.num_classes == 11 and back.cfg.base_channels == 8
    assert not back.cfg.spatial_attention and back.cfg.temporal_attention
    assert _equal_models(m, back)
    info = read_checkpoint(tmp_path / "r.pth")
    assert info.source == "pyskl" and _equal_models(m, info.build_model())
    # pyskl's files say nothing of the data they were trained on: a clear 'unknown'
    assert info.train_config == {} and info.provenance == Provenance() and not info.provenance.known
    assert info.provenance.eval_split is None and "unknown" in info.provenance.describe()


def test_provenance_round_trips_from_the_training_state(tmp_path, capsys):
    m = build_model(layout="nturgb+d", num_classes=4, base_channels=8, num_stages=2)
    run = TrainConfig(ann_file="data/x.pkl", train_split="xsub_train", val_split="xsub_holdout", test_split="xsub_val", feat="bm", clip_len=48, preset="p")
    path = save_checkpoint(m, tmp_path / "best.pt", meta={"feat": "bm", "label_names": list("abcd")}, train_state={"train_config": run.to_dict(), "epoch": 3})
    info = read_checkpoint(path)
    assert info.train_config == run.to_dict() and TrainConfig(**info.train_config) == run and info.train_state["epoch"] == 3
    p = info.provenance
    assert (p.ann_file, p.train_split, p.val_split, p.test_split, p.feat, p.clip_len, p.preset) == ("data/x.pkl", "xsub_train", "xsub_holdout", "xsub_val", "bm", 48, "p")
    assert p.known and p.eval_split == "xsub_val" and "data/x.pkl" in p.describe()
    # tested on the validation split when the run had no separate test split
    path = save_checkpoint(m, tmp_path / "v.pt", train_state={"train_config": {**run.to_dict(), "test_split": ""}})
    assert read_checkpoint(path).provenance.eval_split == "xsub_holdout"
    assert read_checkpoint(path).provenance.feat == "bm"  # from the config when meta does not say
    # the model built from the info is the one load_checkpoint gives
    assert _equal_models(info.build_model(), load_checkpoint(tmp_path / "best.pt")) and not info.build_model().training
    # `aagcn-lab info` says it
    assert cli_main(["info", str(tmp_path / "best.pt")]) == 0
    assert json.loads(capsys.readouterr().out)["trained_on"] == p.describe()


def test_ntu_hand_variant_is_read_from_the_stored_graph(tmp_path):
    m = build_model(layout="nturgb+d-2sagcn", num_classes=4, base_channels=8)
    torch.save({"state_dict": m.state_dict()}, tmp_path / "o.pth")
    assert load_checkpoint(tmp_path / "o.pth").cfg.layout == "nturgb+d-2sagcn"


def test_wrong_layout_is_named(tmp_path):
    torch.save({"state_dict": build_model(layout="coco", num_classes=4, base_channels=8).state_dict()}, tmp_path / "c.pth")
    with pytest.raises(CheckpointError, match=r"c\.pth.*102 channels.*nturgb\+d"):
        load_checkpoint(tmp_path / "c.pth", layout="nturgb+d")


def test_meta_layout_contradicting_the_weights(tmp_path):
    sd = build_model(layout="coco", num_classes=4, base_channels=8).state_dict()
    torch.save({"meta": {"config": "layout='nturgb+d'"}, "state_dict": sd}, tmp_path / "x.pth")
    with pytest.raises(CheckpointError, match="says layout 'nturgb\\+d' \\(25 joints\\) but the weights have 17"):
        load_checkpoint(tmp_path / "x.pth")


def test_unknown_joint_count(tmp_path):
    lay = define_layout("tri", ["a", "b", "c"], [("a", "b"), ("a", "c")], center="a")
    torch.save({"state_dict": build_model(layout=lay, num_classes=2, base_channels=8).state_dict()}, tmp_path / "t.pth")
    with pytest.raises(CheckpointError, match="3-joint skeleton, which matches no built-in layout"):
        load_checkpoint(tmp_path / "t.pth")
    assert load_checkpoint(tmp_path / "t.pth", layout=lay).cfg.num_classes == 2


def test_missing_unexpected_and_misshaped_keys_are_listed(tmp_path):
    sd = build_model(layout="nturgb+d", num_classes=6, base_channels=8).state_dict()
    del sd["backbone.gcn.2.gcn.conv_d.1.weight"]
    sd["backbone.gcn.2.gcn.extra"] = torch.zeros(1)
    sd["backbone.gcn.5.tcn.conv.bias"] = torch.zeros(3)
    torch.save({"state_dict": sd}, tmp_path / "bad.pth")
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(tmp_path / "bad.pth")
    msg = str(err.value)
    assert "bad.pth" in msg and "1 missing key(s): backbone.gcn.2.gcn.conv_d.1.weight" in msg
    assert "1 unexpected key(s): backbone.gcn.2.gcn.extra" in msg
    assert "backbone.gcn.5.tcn.conv.bias: file (3,) vs model (16,)" in msg


def test_not_an_aagcn_checkpoint(tmp_path):
    torch.save({"state_dict": {"encoder.weight": torch.zeros(2)}}, tmp_path / "other.pth")
    with pytest.raises(CheckpointError, match="no 'backbone.\\*' weights"):
        load_checkpoint(tmp_path / "other.pth")
    torch.save([1, 2, 3], tmp_path / "list.pth")
    with pytest.raises(CorruptFileError, match="expected a checkpoint dict, found list"):
        load_checkpoint(tmp_path / "list.pth")


def test_truncated_and_empty_files(tmp_path):
    path = save_checkpoint(build_model(layout="coco", num_classes=3, base_channels=8), tmp_path / "m.pt")
    data = path.read_bytes()
    (tmp_path / "trunc.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptFileError, match="trunc.pt: not a readable checkpoint"):
        load_checkpoint(tmp_path / "trunc.pt")
    (tmp_path / "empty.pt").write_bytes(b"")
    with pytest.raises(CorruptFileError, match="empty.pt: the file is empty"):
        load_checkpoint(tmp_path / "empty.pt")
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        load_checkpoint(tmp_path / "nope.pt")


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_hostile_pickle_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    sd = build_model(layout="coco", num_classes=3, base_channels=8).state_dict()
    torch.save({"state_dict": sd, "meta": {"hook": _Payload(marker)}}, tmp_path / "evil.pth")
    with pytest.raises(UnsafeFileError, match="evil.pth: refused to load.*'(posix|nt).system'"):
        load_checkpoint(tmp_path / "evil.pth")
    assert not marker.exists()


def test_nan_weights_are_rejected(tmp_path):
    sd = build_model(layout="coco", num_classes=3, base_channels=8).state_dict()
    sd["backbone.gcn.1.gcn.A"][0, 0, 0] = float("nan")
    torch.save({"state_dict": sd}, tmp_path / "nan.pth")
    with pytest.raises(CheckpointError, match="nan.pth: non-finite values.*backbone.gcn.1.gcn.A"):
        load_checkpoint(tmp_path / "nan.pth")


def test_save_unwraps_compiled_and_ddp_like_wrappers(tmp_path):
    m = build_model(layout="coco", num_classes=3, base_channels=8)

    class Wrapper(torch.nn.Module):
        def __init__(self, module):
            super().__init__()
            self.module = module

    back = load_checkpoint(save_checkpoint(Wrapper(m), tmp_path / "w.pt"))
    assert _equal_models(m, back)
