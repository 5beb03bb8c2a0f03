import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from aagcn_lab.graph import (
    LAYOUTS,
    define_layout,
    edge2mat,
    get_layout,
    hop_distance,
    normalize_digraph,
    normalized_adjacency,
    spatial_partition,
)

from .conftest import GOLDEN, shared_file
from .facts import LAYOUT_FACTS, partition


@pytest.mark.parametrize("name,v,center", [("nturgb+d", 25, 20), ("nturgb+d-2sagcn", 25, 20), ("coco", 17, 0), ("openpose", 18, 1)])
def test_layouts_are_trees_rooted_at_the_centre(name, v, center):
    lay = get_layout(name)
    assert lay.num_joints == v and lay.center == center
    assert len(lay.inward) == v - 1  # a tree
    assert np.isfinite(hop_distance(lay)).all()  # connected
    children = {c for c, _ in lay.inward}
    assert center not in children and children == set(range(v)) - {center}
    # every bone pair list covers each joint once; the centre or a root has a zero bone somewhere
    assert sorted(a for a, _ in lay.bone_pairs) == list(range(v))
    # mirror pairs are a permutation that is its own inverse
    perm = lay.flip_permutation()
    assert sorted(perm) == list(range(v)) and (perm[perm] == np.arange(v)).all()


def test_ntu_details_match_the_reference():
    ntu, orig = LAYOUTS["nturgb+d"], LAYOUTS["nturgb+d-2sagcn"]
    assert ntu.joint_names[20] == "SpineShoulder" and ntu.joint_names[1] == "SpineMid"
    # pyskl hands: tip and thumb both attach to the hand; the authors chain tip -> thumb -> hand
    assert (21, 7) in ntu.inward and (22, 7) in ntu.inward
    assert (21, 22) in orig.inward and (22, 7) in orig.inward
    # bone pairs are the authors' chain in both, with the root self-pair
    assert ntu.bone_pairs == orig.bone_pairs and (20, 20) in ntu.bone_pairs and (21, 22) in ntu.bone_pairs
    # COCO bones attach hips to the nose although the graph attaches them to the shoulders
    coco = LAYOUTS["coco"]
    assert (11, 0) in coco.bone_pairs and (11, 5) in coco.inward


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_spatial_partition_properties(name):
    a = spatial_partition(name)
    v = get_layout(name).num_joints
    assert a.shape == (3, v, v) and a.dtype == np.float32
    assert np.array_equal(a[0], np.eye(v))  # exact: ones and zeros
    for k in (1, 2):
        col = a[k].sum(0)
        assert np.allclose(col[col > 0], 1.0)  # column-normalised (f32, d <= 5 terms of 1/d: 6e-7 < 1e-5)
    center = get_layout(name).center
    assert a[1][:, center].sum() == 0  # the root sends nothing inward ... its column is empty (exact: zeros)
    # inward and outward are transposes in sparsity
    assert np.array_equal(a[1] > 0, (a[2] > 0).T)


def test_partition_equals_pyskl_fixture():
    for fname, layout in (("model_ntu60_3d.pt", "nturgb+d"), ("model_coco60_2d.pt", "coco")):
        d = torch.load(shared_file("fixtures", "pyskl_parity", fname), weights_only=True)
        # exact (here and in the next test): every entry is 0, 1 or 1/deg, one correctly rounded division cast to f32 (pyskl's
        # product with a diagonal adds one non-zero product to zeros, exact): the same bits on any IEEE-754 CPU
        assert np.array_equal(d["graph_A"].numpy(), spatial_partition(layout))


@pytest.mark.parametrize("layout", ["nturgb+d", "coco"])
def test_partition_equals_pyskls_golden_copy(layout):
    """pyskl's own partition, kept in tests/golden (runs in every clone)."""
    want = np.load(GOLDEN)[f"graph_A/{layout}"]
    assert np.array_equal(spatial_partition(layout), want)  # exact: as in the test above


@pytest.mark.parametrize("name", list(LAYOUT_FACTS))
def test_layout_tables_are_the_reference_docs(name):
    """Names, centre, edges, bone pairs and left/right pairs of every documented layout, as the docs list them."""
    names, center, inward, bones, mirror = LAYOUT_FACTS[name]
    lay = get_layout(name)
    assert list(lay.joint_names) == names and lay.center == center
    assert sorted(lay.inward) == sorted(inward) and len(lay.inward) == len(inward)
    assert sorted(lay.bone_pairs) == sorted(bones) and len(lay.bone_pairs) == len(bones)
    assert sorted(tuple(sorted(p)) for p in lay.flip_pairs) == mirror


@pytest.mark.parametrize("name", list(LAYOUT_FACTS))
def test_partition_equals_the_documented_rule(name):
    """The partition built in the test from the doc's edge list and column rule (no package code)."""
    # the package's f32 against the doc's rule in f64: one rounding of 1/deg <= 1 to f32, u = 6e-8 < 1e-7
    np.testing.assert_allclose(spatial_partition(name), partition(name), rtol=0, atol=1e-7)


def test_partition_known_values_without_reference():
    # NTU: joint 0 (SpineBase) has parent SpineMid (1); SpineMid's parent is SpineShoulder (20) with 4 children.
    a = spatial_partition("nturgb+d")
    # exact: 1, 1 / 1 and 1 / 4 are exact floats (approx below is slack)
    assert a[1][1, 0] == 1.0  # In[parent, child] = 1: child 0 takes SpineMid's feature
    assert a[2][0, 1] == pytest.approx(1.0)  # Out[child, parent] = 1 / #children(SpineMid) = 1
    n_children_20 = sum(1 for _, p in LAYOUTS["nturgb+d"].inward if p == 20)
    assert n_children_20 == 4
    assert a[2][1, 20] == pytest.approx(1 / 4)


def test_normalize_digraph_handles_empty_columns():
    m = edge2mat([(0, 1), (2, 1)], 3)
    n = normalize_digraph(m)
    assert np.allclose(n.sum(0), [1, 0, 1])  # pairs (0->1), (2->1): columns 0 and 2, column 1 stays empty
    assert n[1, 0] == 1 and n[1, 2] == 1  # exact: 1 / 1


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(list(LAYOUTS)), st.booleans())
def test_normalized_adjacency_is_symmetric_with_unit_spectrum(name, loops):
    a = normalized_adjacency(name, self_loops=loops)
    # f32 d_i^-1/2 a_ij d_j^-1/2 in either order: 2 roundings of values <= 1, 2.4e-7 < 1e-6
    assert np.allclose(a, a.T, atol=1e-6)
    eig = np.linalg.eigvalsh(a.astype(np.float64))
    # |eigenvalue shift| <= ||f32 rounding||_F <= sqrt(nnz <= 100) x 6e-8 = 6e-7, plus f64 eigvalsh: < 1e-5
    assert eig.max() <= 1 + 1e-5 and eig.min() >= -1 - 1e-5


def test_define_layout_orients_edges_and_guesses_mirrors():
    lay = define_layout(
        "arm",
        ["neck", "left_shoulder", "right_shoulder", "left_hand", "right_hand"],
        [("left_hand", "left_shoulder"), ("neck", "left_shoulder"), ("neck", "right_shoulder"), (2, 4)],
        center="neck",
    )
    assert set(lay.inward) == {(1, 0), (2, 0), (3, 1), (4, 2)}
    assert lay.bone_pairs == ((0, 0), (1, 0), (2, 0), (3, 1), (4, 2))
    assert set(lay.flip_pairs) == {(1, 2), (3, 4)}
    assert spatial_partition(lay).shape == (3, 5, 5)
    assert get_layout(lay.to_dict()) == lay


@pytest.mark.parametrize(
    "edges,msg",
    [([("a", "b")], "not connected"), ([("a", "b"), ("b", "c"), ("c", "a")], "tree"), ([("a", "a")], "self-loop"), ([("a", "z")], "no joint named")],
)
def test_define_layout_rejects_bad_graphs(edges, msg):
    with pytest.raises((ValueError, KeyError), match=msg):
        define_layout("bad", ["a", "b", "c"], edges, center="a")


def test_unknown_layout_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown skeleton layout 'kinect-v3'.*nturgb\\+d"):
        get_layout("kinect-v3")
