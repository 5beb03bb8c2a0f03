"""Figures and explorers: they draw what they are given (counts, values, titles), and react to selectors."""

import json
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")

import numpy as np
import plotly.graph_objects as go
import pytest
import torch
from matplotlib.figure import Figure

from aagcn_lab import AAGCN, analysis, define_layout, get_layout, spatial_partition, viz

from .facts import partition
from .tolerances import float_bound

NTU = get_layout("nturgb+d")
V = NTU.num_joints
T = 32


def make_model() -> AAGCN:
    return AAGCN(layout="nturgb+d", num_classes=5, base_channels=16)


ALPHAS = [0.2 + 0.07 * i for i in range(10)]  # a different gate in every layer

# Tolerances: a figure holds copies of the values it shows (float32 widened to float64, exactly), so every
# `# copy` comparison below is exact in substance and its rtol is slack; the others say what they compute.


@pytest.fixture(scope="module")
def model() -> AAGCN:
    """A small model moved away from its init, so that C, alpha and all three attentions matter.

    Every layer differs from every other: its own alpha and its own learned graph (the physical
    one plus layer-specific noise), so a figure that shows the wrong layer shows other numbers.
    """
    torch.manual_seed(0)
    m = make_model()
    g = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for i, block in enumerate(m.backbone.gcn):
            unit = block.gcn
            unit.alpha.fill_(ALPHAS[i])
            unit.A.add_(0.05 * torch.randn(unit.A.shape, generator=g))
            unit.bn.weight.uniform_(0.5, 1.5)  # pyskl starts it at 1e-6, which mutes the graph branch
            unit.conv_ta.weight.normal_(0, 0.2)  # zero at init: temporal attention would be flat 0.5
            unit.fc2c.weight.normal_(0, 0.2)  # zero at init: channel attention would be flat 0.5
    return m.eval()


@pytest.fixture(scope="module")
def batch() -> torch.Tensor:
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 2, T, V, 3, generator=g)
    x[1, 1] = 0  # sample 1 has a single person: the second slot is zero padding, as in NTU
    return x


@pytest.fixture(scope="module")
def inspection(model, batch):
    return model.inspect(batch)


def joint_trace(fig: go.Figure, person: int = 0):
    return next(tr for tr in fig.data if tr.name == f"person {person} joints")


# ------------------------------------------------------------------------------------------------
# skeleton.py
# ------------------------------------------------------------------------------------------------


def test_package_imports_without_ipywidgets():
    code = "import sys; sys.modules['ipywidgets'] = None; import aagcn_lab.viz; print('ok')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"


def test_as_keypoints_shapes_and_errors(batch):
    assert viz.as_keypoints(np.ones((V, 3))).shape == (1, 1, V, 3)
    assert viz.as_keypoints(np.ones((T, V, 2))).shape == (1, T, V, 2)
    assert viz.as_keypoints(batch[0], "nturgb+d").shape == (2, T, V, 3)  # torch is fine
    with pytest.raises(ValueError, match="one sample"):
        viz.as_keypoints(batch)
    with pytest.raises(ValueError, match="17 joints"):
        viz.as_keypoints(batch[0], "coco")


@pytest.mark.parametrize("name", ["nturgb+d", "nturgb+d-2sagcn", "coco", "openpose"])
def test_rest_pose_has_every_joint_away_from_zero(name):
    pose = viz.rest_pose(name)
    assert pose.shape == (get_layout(name).num_joints, 2)
    assert np.all(np.any(pose != 0, axis=1))  # no joint would read as zero padding
    fig = viz.plot_skeleton(pose, name)
    assert len(joint_trace(fig).x) == len(pose)


def test_rest_pose_of_a_custom_layout_is_a_tree_drawing():
    lay = define_layout("toy", ["a", "b", "c", "d"], [("a", "b"), ("a", "c"), ("c", "d")], center="a")
    pose = viz.rest_pose(lay)
    assert pose[0, 1] > pose[2, 1] > pose[3, 1]  # the centre on top, one row lower per hop


def test_plot_skeleton_two_persons_and_joint_colours(batch):
    values = np.linspace(0, 1, V)
    fig = viz.plot_skeleton(batch[0], "nturgb+d", 3, joint_values=values, labels=True)
    assert [tr.name for tr in fig.data] == ["person 0 bones", "person 0 joints", "person 1 bones", "person 1 joints"]
    joints = joint_trace(fig)
    np.testing.assert_allclose(joints.marker.color, values)  # copy
    np.testing.assert_allclose(joints.x, batch[0, 0, 3, :, 0].numpy())  # copy
    np.testing.assert_allclose(joints.y, batch[0, 0, 3, :, 1].numpy())  # copy
    assert joints.marker.showscale and not joint_trace(fig, 1).marker.showscale  # one colorbar
    assert list(joints.text) == list(NTU.joint_names)
    bones = fig.data[0]
    assert sum(v is None for v in bones.x) == len(NTU.inward)  # one segment per bone


def test_zero_padded_person_and_joint_are_not_drawn(batch):
    fig = viz.plot_skeleton(batch[1], "nturgb+d", 0)
    assert [tr.name for tr in fig.data] == ["person 0 bones", "person 0 joints"]
    kp = batch[1].clone()
    kp[0, :, NTU.index("Head")] = 0  # a missing joint: no dot, and its bone (Head-Neck) is gone
    fig = viz.plot_skeleton(kp, "nturgb+d", 0, plane="zy")
    assert len(joint_trace(fig).x) == V - 1
    assert sum(v is None for v in fig.data[0].x) == len(NTU.inward) - 1
    np.testing.assert_allclose(joint_trace(fig).x, np.delete(kp[0, 0, :, 2].numpy(), NTU.index("Head")))  # copy


def test_adjacency_edges_physical_and_learned():
    inward = spatial_partition(NTU)[1]
    edges = viz.graph_edges(NTU, inward)
    assert len(edges) == len(NTU.inward) and all(e.physical for e in edges)
    learned = inward.copy()
    hl, hr = NTU.index("HandLeft"), NTU.index("HandRight")
    learned[hl, hr] = 0.4  # an edge no bone explains
    learned[NTU.index("Head"), NTU.index("FootLeft")] = -0.3
    edges = viz.graph_edges(NTU, learned, threshold=0.05)
    extra = [e for e in edges if not e.physical]
    assert {(e.a, e.b) for e in extra} == {(min(hl, hr), max(hl, hr)), (NTU.index("Head"), NTU.index("FootLeft"))}
    assert len(viz.graph_edges(NTU, learned, threshold=0.5)) == len(NTU.inward)
    fig = viz.plot_skeleton(viz.rest_pose(NTU), NTU, adjacency=learned)
    dashes = {tr.line.dash for tr in fig.data if tr.name == "person 0 learned edges"}
    assert dashes == {"dash", "dot"}  # invented edge dashed, negative one dotted
    widths = {tr.name: tr.line.width for tr in fig.data if "edges" in tr.name and tr.line.dash != "dot"}
    assert widths["person 0 bone edges"] > widths["person 0 learned edges"]  # |1| > |0.4|


def test_matplotlib_skeletons(batch):
    values = np.arange(V, dtype=float)
    fig = viz.draw_skeleton(batch[0], "nturgb+d", 0, joint_values=values, labels=True, title="t")
    assert isinstance(fig, Figure) and len(fig.axes) == 2  # the plot and its colorbar
    ax = fig.axes[0]
    dots = [c for c in ax.collections if c.get_offsets().shape == (V, 2)]
    assert len(dots) == 2
    np.testing.assert_allclose(dots[0].get_array(), values)  # copy
    fig = viz.draw_skeleton(batch[1], "nturgb+d", 0, adjacency=spatial_partition(NTU)[2])
    assert len(fig.axes[0].collections) == 2  # edges and dots of the one real person
    fig3 = viz.draw_skeleton_3d(batch[0], "nturgb+d", 0, joint_values=values, vertical="z")
    assert fig3.axes[0].name == "3d" and len(fig3.axes) == 2
    assert viz.NotebookFigure._repr_png_(fig3)[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_skeleton_3d(batch):
    fig = viz.plot_skeleton_3d(batch[0], "nturgb+d", 5)
    assert len(fig.data) == 4 and all(isinstance(tr, go.Scatter3d) for tr in fig.data)
    np.testing.assert_allclose(joint_trace(fig).z, batch[0, 0, 5, :, 2].numpy())  # copy


def test_animation_has_one_frame_per_time_step(batch):
    fig = viz.animate_skeleton(batch[0], "nturgb+d", joint_values=np.random.rand(T, V))
    assert len(fig.frames) == T and len(fig.layout.sliders[0].steps) == T
    assert all(len(fr.data) == len(fig.data) == 4 for fr in fig.frames)
    np.testing.assert_allclose(fig.frames[7].data[1].x, batch[0, 0, 7, :, 0].numpy())  # copy
    assert [b.label for b in fig.layout.updatemenus[0].buttons][0].endswith("play")
    single = viz.animate_skeleton(batch[1], "nturgb+d", step=4)
    assert len(single.frames) == T // 4 and len(single.data) == 2  # the padded person is left out
    assert len(viz.animate_skeleton(batch[0], "nturgb+d", plane=None, step=8).frames) == T // 8


def test_two_d_keypoints_with_score():
    kp = np.random.rand(1, 4, 17, 3) + 0.1
    kp[0, :, 3, :2] = 0  # undetected joint
    fig = viz.plot_skeleton(kp, "coco", 0, with_score=True, y_down=True)
    assert len(joint_trace(fig).x) == 16 and fig.layout.yaxis.autorange == "reversed"
    with pytest.raises(ValueError, match="z coordinate"):
        viz.plot_skeleton(kp, "coco", 0, plane="xz", with_score=True)
    assert viz.guess_plane(kp, with_score=True) == ("xy", True)


def test_guess_plane_finds_the_vertical_axis():
    pose = viz.rest_pose(NTU)  # x across, y up
    y_up = np.stack([pose[:, 0], pose[:, 1], 0.1 * pose[:, 0] + 3], -1)
    z_up = y_up[:, [0, 2, 1]]
    assert viz.guess_plane(y_up) == ("xy", False)
    assert viz.guess_plane(z_up) == ("xz", False)


# ------------------------------------------------------------------------------------------------
# graphs.py
# ------------------------------------------------------------------------------------------------


def test_partition_heatmaps_show_the_partition():
    part = spatial_partition(NTU)
    fig = viz.plot_partition("nturgb+d")
    images = [ax.images[0].get_array() for ax in fig.axes if ax.images]
    assert len(images) == 3
    for k in range(3):
        np.testing.assert_array_equal(images[k], part[k])  # copy (exact)
    ax = fig.axes[0]
    assert ax.get_ylabel().startswith("source") and ax.get_xlabel().startswith("target")
    assert [t.get_text() for t in ax.get_yticklabels()] == list(NTU.joint_names)
    pfig = viz.plot_partition("nturgb+d", backend="plotly")
    assert len(pfig.data) == 3
    np.testing.assert_array_equal(np.array(pfig.data[1].z), part[1])  # copy (exact)
    assert list(pfig.data[1].y) == list(NTU.joint_names)


def test_learned_graph_and_difference(model):
    phys = spatial_partition(NTU)
    learned = model.backbone.gcn[3].gcn.A.detach().numpy()
    fig = viz.plot_learned_graph(model, 3, "outward", backend="plotly")
    z = [np.array(tr.z) for tr in fig.data]
    np.testing.assert_allclose(z[0], phys[2])  # copy
    np.testing.assert_allclose(z[1], learned[2])  # copy
    np.testing.assert_allclose(z[2], learned[2] - phys[2])  # one f32 rounding at most: u = 6e-8 < rtol 1e-7
    mfig = viz.plot_learned_graph(model, 3, 2)
    shown = [ax.images[0].get_array() for ax in mfig.axes if ax.images]
    np.testing.assert_allclose(shown[0], phys[2])  # copy
    np.testing.assert_allclose(shown[1], learned[2], rtol=1e-6)  # copy


def test_graph_drift_zero_until_the_graph_moves(inspection):
    fresh = make_model()
    np.testing.assert_array_equal(analysis.graph_drift(fresh), np.zeros((len(fresh.backbone.gcn), 3)))  # exact: A - A = 0
    with torch.no_grad():
        fresh.backbone.gcn[2].gcn.A[1].add_(0.1)
    drift = analysis.graph_drift(fresh)
    assert drift[2, 1] > 0 and np.count_nonzero(drift) == 1
    expected = np.linalg.norm(np.full((V, V), 0.1)) / np.linalg.norm(spatial_partition(NTU)[1])
    # f32 norms over V x V = 625 terms (and A + 0.1 rounded to f32): 1.2e-7 x 630 = 7.5e-5 (was 1e-5; both)
    drift_bound = float_bound(np.float32, terms=630)
    assert drift[2, 1] == pytest.approx(expected, rel=drift_bound)
    # the fixture's graphs moved by layer: drift = |B - A| / |A| per layer and subset, A from the docs
    learned = np.stack([lay.graph.numpy() for lay in inspection.layers]).astype(np.float64)
    phys = partition("nturgb+d")
    want = np.linalg.norm(learned - phys, axis=(-2, -1)) / np.linalg.norm(phys, axis=(-2, -1))
    np.testing.assert_allclose(analysis.graph_drift(inspection, "nturgb+d"), want, rtol=drift_bound)
    assert len(np.unique(want.round(6))) == want.size  # every layer and subset moved differently
    with pytest.raises(ValueError, match="physical"):
        analysis.graph_drift(inspection)
    fig = viz.plot_graph_drift(fresh)
    np.testing.assert_allclose(fig.axes[0].lines[1].get_ydata(), drift[:, 1])  # copy


def test_data_graph_and_alpha(model, inspection):
    c = inspection.layers[4].data_graph[1, 0].numpy()
    fig = viz.plot_data_graph(inspection, 4, sample=1, layout="nturgb+d", backend="plotly")
    assert len(fig.data) == 3
    for k in range(3):
        np.testing.assert_allclose(np.array(fig.data[k].z), c[k], rtol=1e-6)  # copy
    assert np.abs(c).max() > 1e-3  # not a trivial graph
    assert np.abs(c - inspection.layers[0].data_graph[1, 0].numpy()).max() > 1e-3  # layer 4 is not layer 0
    eff = viz.plot_data_graph(inspection, 4, sample=1, effective=True)
    g = model.backbone.gcn[4].gcn.A.detach().numpy() + ALPHAS[4] * c
    # f32 B + alpha C, alpha once the f32 parameter and once the float: 2 roundings of |B| + |alpha C| <= 2, also
    # where the sum cancels: atol 1.2e-7 x 2 x 2 = 4.8e-7 (was 1e-7)
    np.testing.assert_allclose(eff.axes[0].images[0].get_array(), g[0], rtol=1e-5, atol=float_bound(np.float32, terms=2, scale=2))
    bars = viz.plot_alpha(model).axes[0].patches
    assert [b.get_height() for b in bars] == pytest.approx(ALPHAS)  # f32 parameters: u = 6e-8 < 1e-6 (both)
    np.testing.assert_allclose(analysis.layer_alphas(inspection), ALPHAS, rtol=1e-6)
    graphs = analysis.layer_graphs(model)
    assert graphs.shape == (len(model.backbone.gcn), 3, V, V)
    for i, block in enumerate(model.backbone.gcn):
        np.testing.assert_allclose(graphs[i], block.gcn.A.detach().numpy())  # copy


def test_graph_on_skeleton_panels():
    from matplotlib.collections import LineCollection

    part = spatial_partition(NTU)
    learned = part[1].copy()
    learned[NTU.index("HandLeft"), NTU.index("HandRight")] = 0.4  # one edge no bone explains
    fig = viz.plot_graph_on_skeleton({"inward": part[1], "learned": learned}, NTU)
    assert [ax.get_title() for ax in fig.axes] == ["inward", "learned"]
    segments = [sum(len(c.get_segments()) for c in ax.collections if isinstance(c, LineCollection)) for ax in fig.axes]
    assert segments == [len(NTU.inward), len(NTU.inward) + 1]  # each panel draws its own graph


# ------------------------------------------------------------------------------------------------
# attention.py
# ------------------------------------------------------------------------------------------------


def test_sample_attention_arrays(model, inspection):
    att = analysis.sample_attention(inspection, sample=1, person=0)
    assert att.num_frames == T and att.num_layers == len(model.backbone.gcn)
    assert [len(t) for t in att.temporal] == [T] * 5 + [T // 2] * 3 + [T // 4] * 2
    for layer in (2, 6):
        np.testing.assert_allclose(att.spatial[layer], inspection.layers[layer].spatial[1, 0].numpy())  # copy
        np.testing.assert_allclose(att.temporal[layer], inspection.layers[layer].temporal[1, 0].numpy())  # copy
        np.testing.assert_allclose(att.channel[layer], inspection.layers[layer].channel[1, 0].numpy())  # copy
    assert att.spatial_matrix().shape == (att.num_layers, V) and att.temporal_matrix().shape == (att.num_layers, T)
    assert att.probs.shape == (5,)
    assert np.ptp(att.temporal[0]) > 1e-4 and np.ptp(att.channel[0]) > 1e-4  # non-trivial maps (must differ)


def test_layer_steps_map_back_to_frames():
    # exact: integer steps and nearest-step copies
    np.testing.assert_array_equal(analysis.step_frames(8, 32), np.arange(8) * 4)
    np.testing.assert_array_equal(analysis.steps_to_frames([1.0, 2.0], 4), [1.0, 2.0, 2.0, 2.0])  # nearest step centre
    np.testing.assert_array_equal(analysis.steps_to_frames(np.arange(3.0), 3), np.arange(3.0))


def test_spatial_attention_on_the_skeleton(inspection, batch):
    spatial = inspection.layers[3].spatial[0]  # (M, V)
    fig = viz.plot_spatial_attention(batch[0], "nturgb+d", spatial, 12, layer=3, sample=0, backend="plotly")
    assert fig.layout.title.text == "spatial attention · layer 3 · sample 0 · frame 12"
    for p in range(2):
        np.testing.assert_allclose(joint_trace(fig, p).marker.color, spatial[p].numpy(), rtol=1e-6)  # copy
    sizes = np.array(joint_trace(fig).marker.size)
    assert np.argmax(sizes) == int(spatial[0].argmax())  # bigger dot = more attention
    mfig = viz.plot_spatial_attention(None, "nturgb+d", spatial[0], layer=1)
    assert mfig.axes[0].get_title() == "spatial attention · layer 1 · frame 0"


def test_temporal_and_channel_attention(inspection):
    att = analysis.sample_attention(inspection, 0)
    fig = viz.plot_temporal_attention(att, frame=5)
    assert len(fig.axes[0].get_lines()) == att.num_layers + 1  # one per layer + the frame marker
    hm = viz.plot_temporal_attention(att, kind="heatmap", layers=[0, 9])
    np.testing.assert_allclose(hm.axes[0].images[0].get_array(), att.temporal_matrix()[[0, 9]])  # copy
    bars = viz.plot_channel_attention(att, 4).axes[0].patches
    heights = np.array([b.get_height() for b in bars])
    np.testing.assert_allclose(heights, np.sort(att.channel[4])[::-1], rtol=1e-6)  # copy
    assert len(viz.plot_channel_attention(att).axes) == 1
    summary = viz.plot_attention_summary(inspection, "nturgb+d", sample=1, class_names=list("abcde"))
    titles = [ax.get_title() for ax in summary.axes]
    assert any(t.startswith("spatial attention") for t in titles) and any(t.startswith("temporal") for t in titles)
    np.testing.assert_allclose(
        summary.axes[0].images[0].get_array(), analysis.sample_attention(inspection, 1).spatial_matrix()
    )  # copy


# ------------------------------------------------------------------------------------------------
# training.py
# ------------------------------------------------------------------------------------------------


def write_log(path, partial_last_line=True):
    lines = []
    for epoch in (1, 2, 3):
        for step in range(1, 5):
            lines.append(
                {
                    "split": "train",
                    "epoch": epoch,
                    "step": (epoch - 1) * 4 + step,
                    "loss": 2.0 / epoch + step / 10,
                    "top1": 0.2 * epoch,
                    "unknown": "x",
                }
            )
        lines.append({"split": "val", "epoch": epoch, "loss": 1.5 / epoch, "top1": 0.25 * epoch, "top5": 0.3 * epoch})
    text = "\n".join(json.dumps(r) for r in lines) + "\n"
    if partial_last_line:
        text += '{"split": "train", "epoch": 4, "lo'
    path.write_text(text)
    return lines


def test_read_metrics_tolerates_a_truncated_last_line(tmp_path):
    path = tmp_path / "metrics.jsonl"
    lines = write_log(path)
    assert viz.read_metrics(path) == lines
    path.write_text('{"loss": 1}\nnot json\n{"loss": 2}\n')
    with pytest.warns(UserWarning, match=":2:"):
        assert viz.read_metrics(path) == [{"loss": 1}, {"loss": 2}]


def test_plot_curves_epochs_steps_and_runs(tmp_path):
    path = tmp_path / "joint.jsonl"
    write_log(path)
    fig = viz.plot_curves(path)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in axes] == ["loss", "top1", "top5"]
    train, val = axes[0].get_lines()
    # f64 means of a few logged values: ~1e-15 < rtol 1e-7 (the curves' four checks)
    np.testing.assert_allclose(train.get_xdata(), [1, 2, 3])
    np.testing.assert_allclose(train.get_ydata(), [2.0 / e + 0.25 for e in (1, 2, 3)])  # mean over the epoch
    np.testing.assert_allclose(val.get_ydata(), [1.5, 0.75, 0.5])
    steps = viz.plot_curves(viz.read_metrics(path), x="step", metrics=["loss"]).axes[0].get_lines()
    np.testing.assert_allclose(steps[1].get_xdata(), [4, 8, 12])  # val at its epoch's last step
    two = viz.plot_curves({"joint": path, "bone": viz.read_metrics(path)}, metrics=["top1"])
    assert len(two.axes[0].get_lines()) == 4  # 2 runs x (train, val)


def test_plot_curves_legend_shows_a_split_logged_once_per_run_as_a_marker_not_a_line(tmp_path):
    """The final test record is one point per run: the legend draws it as a dot, not as a dotted line that no
    panel shows; the epoch axis has whole-epoch ticks."""
    path = tmp_path / "joint.jsonl"
    write_log(path, partial_last_line=False)
    with path.open("a") as f:
        f.write(json.dumps({"split": "test", "epoch": 3, "step": 12, "top1": 0.7}) + "\n")
    fig = viz.plot_curves(path, metrics=["loss", "top1"])
    legend = fig.legends[0]
    handles = {t.get_text(): h for t, h in zip(legend.get_texts(), legend.legend_handles)}
    test = next(h for label, h in handles.items() if label.startswith("test"))
    assert test.get_linestyle() == "None" and test.get_marker() == "o" and "one point" in test.get_label()
    assert handles["val"].get_linestyle() == "--" and handles["train"].get_linestyle() == "-"
    fig.draw_without_rendering()
    ticks = [t for t in fig.axes[0].get_xticks() if 1 <= t <= 3]
    assert ticks and all(float(t).is_integer() for t in ticks)


def test_graph_change_legend_sits_outside_the_bars():
    from aagcn_lab.analysis import split_graph_change

    a = spatial_partition(NTU)
    changes = [split_graph_change(a, 0.9 * a + 0.01 * (i == 0), 0.9) for i in range(6)]
    fig = viz.plot_graph_change(changes)
    ax = fig.axes[0]
    assert ax.get_legend() is None and len(fig.legends) == 1  # a figure legend, beside the axes
    fig.draw_without_rendering()  # the constrained layout makes room for it
    box, frame = fig.legends[0].get_window_extent(), ax.get_window_extent()
    assert box.x0 >= frame.x1 or box.y1 <= frame.y0 or box.y0 >= frame.y1  # no overlap with the plotting area


@pytest.mark.parametrize("name", ["nturgb+d"])  # COCO's and OpenPose's face points sit too close to name them all apart
def test_joint_labels_of_the_rest_pose_do_not_overlap(name):
    """The labelled layout figure of notebook 01: no two joint names drawn on top of each other."""
    fig = viz.draw_skeleton(viz.rest_pose(name)[None, None], name, labels=True)
    fig.draw_without_rendering()
    texts = [t for t in fig.axes[0].texts if t.get_text() in get_layout(name).joint_names]
    assert len(texts) == get_layout(name).num_joints
    boxes = [t.get_window_extent().padded(2) for t in texts]  # 2 pixels apart at least: names that touch read as one
    clashes = [(texts[i].get_text(), texts[j].get_text()) for i in range(len(boxes)) for j in range(i)
               if boxes[i].overlaps(boxes[j])]  # fmt: skip
    assert not clashes, clashes


def test_confusion_normalisation_and_top_confusions():
    y_true = [0, 0, 0, 1, 1, 2, 2, 2, 2]
    y_pred = [0, 1, 1, 1, 1, 2, 0, 2, 2]
    cm = viz.confusion_matrix(y_true, y_pred, num_classes=4)  # class 3 has no samples
    assert cm.tolist() == [[1, 2, 0, 0], [0, 2, 0, 0], [1, 0, 3, 0], [0, 0, 0, 0]]
    fig = viz.plot_confusion(cm, ["a", "b", "c", "d"])
    shown = fig.axes[0].images[0].get_array()
    np.testing.assert_allclose(shown.sum(axis=1), [1, 1, 1, 0])  # f64 counts / row sum, <= 4 terms: 1e-15
    np.testing.assert_allclose(viz.per_class_accuracy(cm)[:3], [1 / 3, 1, 3 / 4])  # one f64 division
    assert viz.top_confusions(cm, ["a", "b", "c", "d"]) == [("a", "b", 2), ("c", "a", 1)]
    assert viz.top_confusions(cm, k=1) == [(0, 1, 2)]
    big = viz.plot_confusion(np.random.default_rng(0).integers(0, 5, (60, 60)), [f"class {i}" for i in range(60)])
    np.testing.assert_allclose(big.axes[0].images[0].get_array().sum(axis=1), 1)  # f64, 60 terms: 1.3e-14 < 1e-7
    assert len(big.axes[0].texts) == 0  # no cell numbers at 60 classes


def test_per_class_accuracy_plot_sorted_by_fusion():
    acc = {"joint": np.array([0.9, 0.2, 0.5]), "bone": np.array([0.8, 0.4, 0.5]), "fusion": np.array([0.95, 0.3, 0.6])}
    fig = viz.plot_per_class_accuracy(acc, ["x", "y", "z"])
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["y", "z", "x"]  # worst fusion accuracy first
    np.testing.assert_allclose(ax.collections[-1].get_offsets()[:, 0], [0.3, 0.6, 0.95])  # copy


# ------------------------------------------------------------------------------------------------
# widgets.py
# ------------------------------------------------------------------------------------------------


def test_fusion_figure_draws_each_row_with_its_interval_coloured_by_kind():
    from matplotlib.colors import to_hex

    from aagcn_lab.analysis import Interval
    from aagcn_lab.fusion import fusion_report
    from aagcn_lab.scores import Scores

    rng = np.random.default_rng(0)
    ids = [f"S001C001P{p:03d}R001A001" for p in range(30)]
    labels = rng.integers(0, 4, 30)
    report = fusion_report({s: Scores(ids, rng.dirichlet(np.ones(4), 30), labels) for s in ("j", "b", "jm", "bm")})
    intervals = {r.name: Interval(r.top1, r.top1 - 0.05, r.top1 + 0.1, 3, 0.95) for r in report.rows}
    fig = viz.plot_fusion(report, intervals)
    ax = fig.axes[0]
    names = [t.get_text() for t in ax.get_yticklabels()]
    assert names == [r.name for r in report.rows][::-1]  # first row on top
    want = {"stream": "#1f77b4", "combination": "#7f7f7f", "fusion": "#d62728"}  # tab:blue, tab:gray, tab:red
    assert len(ax.containers) == len(names)
    for bar, name in zip(ax.containers, names):  # one errorbar per row, drawn bottom-up
        row, (dot, _, (span,)) = report.row(name), bar.lines
        assert to_hex(dot.get_color()) == want[row.kind]
        assert dot.get_xdata()[0] == pytest.approx(100 * row.top1)  # f64, a product and a sum: ~1e-16 (3 checks)
        (lo, _), (hi, _) = span.get_segments()[0]
        assert (lo, hi) == pytest.approx((100 * row.top1 - 5, 100 * row.top1 + 10))
    plain = viz.plot_fusion(report)  # no intervals: each row's top-1 alone
    assert [b.lines[0].get_xdata()[0] for b in plain.axes[0].containers] == pytest.approx([100 * r.top1 for r in report.rows][::-1])
    with pytest.raises(KeyError, match="no interval for the rows"):
        viz.plot_fusion(report, {"j": intervals["j"]})


def test_graph_explorer_redraws_on_update(model, batch):
    pytest.importorskip("ipywidgets")
    ex = viz.graph_explorer(model, batch)
    assert ex.figure.layout.title.text == "graph · layer 0 · inward · sample 0"
    assert len(ex.figure.data) == 4  # A, B, B - A, C
    ex.update(layer=6, subset="outward", sample=1)  # a dropdown takes its label too
    assert ex.figure.layout.title.text == "graph · layer 6 · outward · sample 1"
    np.testing.assert_allclose(np.array(ex.figure.data[1].z), model.backbone.gcn[6].gcn.A[2].detach().numpy())  # copy
    with torch.no_grad():
        c = model.inspect(batch).layers[6].data_graph[1, 0, 2].numpy()
    # the explorer inspected the same batch in eval mode: the same computation, equal (rtol / atol slack)
    np.testing.assert_allclose(np.array(ex.figure.data[3].z), c, rtol=1e-5, atol=1e-6)
    ex.controls["layer"].value = 2  # what moving the slider in the browser does
    assert ex.figure.layout.title.text == "graph · layer 2 · outward · sample 1"
    np.testing.assert_allclose(np.array(ex.figure.data[1].z), model.backbone.gcn[2].gcn.A[2].detach().numpy())  # copy
    ex.update(view="skeleton")
    assert any(tr.name == "person 0 bone edges" for tr in ex.figure.data)
    with pytest.raises(KeyError, match="frame"):
        ex.update(frame=3)


def test_attention_explorer_moves_with_its_selectors(model, batch):
    pytest.importorskip("ipywidgets")
    calls = []
    original = model.inspect

    def counting_inspect(x):
        calls.append(x.shape[0])
        return original(x)

    model.inspect = counting_inspect
    try:
        model.train()
        ex = viz.attention_explorer(model, batch, labels=[1, 3], class_names=list("abcde"))
        assert model.training  # the explorer inspects in eval mode and restores the mode
        title = ex.figure.layout.title.text
        assert title.startswith("spatial attention · layer 0 · sample 0 · frame 0") and "true: b" in title
        before = np.array(joint_trace(ex.figure).marker.color)
        ex.update(layer=3, frame=12)
        assert ex.figure.layout.title.text.startswith("spatial attention · layer 3 · sample 0 · frame 12")
        after = joint_trace(ex.figure).marker.color
        assert not np.allclose(before, after)  # must differ: another layer and frame
        model.eval()
        # the explorer inspects one sample in eval mode, as here: the same computation, equal (rtol slack)
        np.testing.assert_allclose(after, original(batch[:1]).layers[3].spatial[0, 0].numpy(), rtol=1e-5)
        ex.update(sample=1)
        ex.update(sample=0, layer=5)
        assert calls == [1, 1]  # one inspection per sample, then the cache
        assert ex.values == {"sample": 0, "person": 0, "layer": 5, "frame": 12}
    finally:
        del model.inspect
        model.eval()


def test_skeleton_player(batch):
    pytest.importorskip("ipywidgets")
    ex = viz.skeleton_player(batch, "nturgb+d")
    assert ex.figure.layout.title.text == "sample 0 · frame 0"
    ex.update(frame=9, sample=1)
    assert ex.figure.layout.title.text == "sample 1 · frame 9"
    assert len(ex.figure.data) == 2  # sample 1 has one real person
    streams = viz.skeleton_player({"joint": batch[0], "bone": batch[0] * 2}, "nturgb+d")
    streams.update(stream="bone", frame=4)
    np.testing.assert_allclose(joint_trace(streams.figure).x, 2 * batch[0, 0, 4, :, 0].numpy(), rtol=1e-6)  # copy of 2x (exact)
