"""Facts with one home each: the person-slot count, which layouts are 2D or 3D, the NTU sample id, and the
interval and difference statistics."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
import torch

from aagcn_lab.graph import LAYOUTS, PERSON_SLOTS, Layout, define_layout
from aagcn_lab.model import AAGCN, AAGCNConfig
from aagcn_lab.model.checkpoint import save_checkpoint

PACKAGE = Path(__file__).resolve().parents[1] / "aagcn_lab"
SLOT_NAMES = ("num_person", "max_persons", "max_bodies")
# defaults that are other facts: the one-to-one transcription of pyskl keeps pyskl's literal FormatGCNInput(num_person=2);
# NW-UCLA's protocol (CTR-GCN's feeder) has one person a clip
OWN_DEFAULTS = {"data/reference.py": "*", "data/pipeline.py": "CTRGCNPipeline"}


def test_every_person_slot_default_is_the_one_constant():
    """No function of the package defaults a person count to a number of its own: PERSON_SLOTS, or None
    (the caller's model decides)."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = str(path.relative_to(PACKAGE))
        tree = ast.parse(path.read_text(encoding="utf-8"))
        own = {id(n) for c in ast.walk(tree) if isinstance(c, ast.ClassDef) and OWN_DEFAULTS.get(rel) == c.name for n in ast.walk(c)}
        for node in ast.walk(tree):
            if OWN_DEFAULTS.get(rel) == "*" or id(node) in own:
                continue
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                args = node.args.args + node.args.kwonlyargs
                defaults = [None] * (len(node.args.args) - len(node.args.defaults)) + node.args.defaults + node.args.kw_defaults
                pairs = zip(args, defaults)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):  # dataclass fields
                pairs = [(node.target, node.value)]
            else:
                continue
            for arg, default in pairs:
                name = getattr(arg, "arg", getattr(arg, "id", ""))
                if name in SLOT_NAMES and isinstance(default, ast.Constant) and default.value is not None:
                    found.append(f"{rel}:{default.lineno}: {name} = {default.value!r}")
    assert not found, "person counts with a default of their own (use aagcn_lab.graph.PERSON_SLOTS):\n" + "\n".join(found)
    assert PERSON_SLOTS == AAGCNConfig.num_person == 2


def test_layouts_know_their_dimension_and_prediction_checks_any_layout_by_it(tmp_path):
    assert {n: lay.dim for n, lay in LAYOUTS.items()} == {"nturgb+d": 3, "nturgb+d-2sagcn": 3, "coco": 2, "openpose": 2, "h36m": None, "ucla": 3}
    tri = define_layout("tri3d", ["a", "b", "c"], [("a", "b"), ("a", "c")], center="a", dim=3)
    assert Layout.from_dict(tri.to_dict()) == tri and tri.to_dict()["dim"] == 3
    assert "dim" not in define_layout("tri", ["a", "b", "c"], [("a", "b"), ("a", "c")], center="a").to_dict()
    with pytest.raises(ValueError, match="dim must be 2, 3 or None"):
        define_layout("bad", ["a", "b"], [("a", "b")], center="a", dim=4)
    from aagcn_lab.data.validate import layout_dim

    assert layout_dim(tri) == 3 and layout_dim("coco") == 2 and layout_dim("h36m") is None and layout_dim("mine") is None
    torch.manual_seed(0)
    ckpt = save_checkpoint(AAGCN(AAGCNConfig(layout=tri, num_classes=3, in_channels=3, base_channels=8, num_stages=4,
                                             inflate_stages=[3], down_stages=[3])), tmp_path / "tri.pt", meta={"feat": "j"})  # fmt: skip
    from aagcn_lab.prediction import predict

    xy = np.random.default_rng(0).uniform(100, 400, (12, 3, 2)).astype(np.float32)  # 2D pixels to a 3D custom layout
    with pytest.raises(ValueError, match="2D data .* 3D model"):
        predict(ckpt, xy, num_clips=1)


def test_the_ntu_sample_id_is_written_and_read_by_ntus_own_parser():
    from aagcn_lab.analysis import performer_of
    from aagcn_lab.data.ntu import parse_ntu_name
    from aagcn_lab.data.synthetic import frame_dir

    sid = frame_dir(label=9, subject=7, camera=2, replication=1)
    assert parse_ntu_name(sid).name == sid and (parse_ntu_name(sid).label, parse_ntu_name(sid).subject) == (9, 7)
    assert performer_of(sid) == 7 and performer_of("a12_s03_e04_v03") == 3
    for not_an_id in ("walkP123x", "S001C001P009R001A001_copy"):  # a P and 3 digits inside another name is no performer
        with pytest.raises(ValueError, match="no performer field"):
            performer_of(not_an_id)


def test_intervals_have_one_numpy_only_home_that_analysis_and_ablation_call():
    import subprocess
    import sys

    from aagcn_lab import ablation, analysis, selection, stats

    assert analysis.bootstrap_accuracy is stats.bootstrap_accuracy is selection.bootstrap_accuracy
    assert analysis.bootstrap_difference is stats.bootstrap_difference and analysis.Interval is stats.Interval
    assert ablation.t_quantile is stats.t_quantile
    code = "import sys, aagcn_lab.stats; print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'scipy', 'aagcn_lab')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True).stdout
    assert out.strip() == "['aagcn_lab', 'aagcn_lab._lazy', 'aagcn_lab.stats']", out
    mean, std, half = stats.mean_interval([0.5, 0.6, 0.7], level=0.90)  # t(0.95, df 2) = 2.920 from a printed table
    assert (mean, std) == pytest.approx((0.6, 0.1)) and half == pytest.approx(2.920 * 0.1 / 3**0.5, abs=1e-4)
    assert np.isnan(stats.welch_half_width(0.1, 1, 0.1, 3)) and stats.welch_half_width(0.0, 3, 0.0, 3) == 0.0
    # equal spreads and counts: Welch's df is the pooled 2n - 2 = 4, so the t quantile is 2.776 (table, 3 decimals)
    assert stats.welch_half_width(0.1, 3, 0.1, 3) == pytest.approx(2.776 * (2 * 0.01 / 3) ** 0.5, abs=1e-4)
