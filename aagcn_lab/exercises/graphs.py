"""Exercises on skeletons and graphs (notebooks 01, 02b and 03): the partition, bones, sampling,
and what weight decay does to a learned graph."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..graph import SUBSET_NAMES, Layout, define_layout, edge2mat, get_layout, normalized_adjacency, spatial_partition
from .core import (
    Unreadable,
    Wrong,
    call,
    counted_axis,
    expect_array,
    expect_number,
    joint_axis,
    joint_name,
    read_bool,
    read_number,
    read_numbers,
    register,
    subset_axis,
)

__all__ = ["toy_layout", "partition_solution", "bones_solution", "split_change_solution"]

NB01, NB02B, NB03 = "01_skeleton_graphs", "02b_build_one_block", "03_learned_adjacency"


def toy_layout() -> Layout:
    """A four-joint toy skeleton to check numbers by hand: neck (the centre) - head, neck - elbow - hand."""
    return define_layout("toy", ["neck", "head", "elbow", "hand"], [("neck", "head"), ("neck", "elbow"), ("elbow", "hand")], center="neck")


# ------------------------------------------------------------------------------------------------
# The spatial partition from an edge list (01, 02b)
# ------------------------------------------------------------------------------------------------


def partition_solution(inward, num_joints):
    """The (3, V, V) partition [identity, inward, outward] from (child, parent) pairs.

    Pair (i, j) is written at M[j, i] (row = sender, column = receiver), and the inward and
    outward matrices are divided by their column sums (each receiver averages what it gets).
    """
    eye = np.eye(num_joints)
    a_in = np.zeros((num_joints, num_joints))
    a_out = np.zeros((num_joints, num_joints))
    for child, parent in inward:
        a_in[parent, child] = 1  # inward: the child receives from its parent
        a_out[child, parent] = 1  # outward: the parent receives from its child
    for a in (a_in, a_out):
        sums = a.sum(axis=0)
        a[:, sums > 0] /= sums[sums > 0]
    return np.stack([eye, a_in, a_out])


def _partition_cases() -> list[Layout]:
    # the toy first: it branches, so a transposed matrix and swapped subsets differ (on a chain they coincide)
    return [toy_layout(), define_layout("chain4", ["a", "b", "c", "d"], [("a", "b"), ("b", "c"), ("c", "d")], center="a"),
            get_layout("nturgb+d"), get_layout("coco"), get_layout("openpose")]  # fmt: skip


_UNDIRECTED = ("an undirected (Kipf-style) adjacency: every edge sits in both directions in the inward and the outward "
               "matrix. Each subset keeps one direction: inward, a child receives from its parent (pair (child, parent) at "
               "[parent, child]); outward, a parent receives from its children (at [child, parent])")
_STGCN = ("normalised by the degree of A + I (as ST-GCN's normalize_digraph does on the whole graph); here each subset is "
          "divided by its *own* column sums, so every non-empty column of inward and outward sums to 1 and the identity stays 1")


def _columns(a: np.ndarray) -> np.ndarray:
    sums = a.sum(0)
    return a / np.where(sums > 0, sums, 1)


def _partition_mistakes(lay: Layout, want: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """The typical wrong partitions of ``lay``, each with its diagnosis."""
    v = lay.num_joints
    eye = np.eye(v)
    a_in, a_out = edge2mat(lay.inward, v), edge2mat(lay.outward, v)
    rows = [(a / np.where(a.sum(1, keepdims=True) > 0, a.sum(1, keepdims=True), 1)) for a in (a_in, a_out)]
    both, deg = a_in + a_out, (eye + a_in + a_out).sum(0)
    kipf = normalized_adjacency(lay)
    return [
        ("inward and outward are swapped (which pair goes where: (child, parent) is written at [parent, child])",
         np.stack([want[0], want[2], want[1]])),
        ("normalised over the wrong axis: divide each *column* by its sum (the receiver averages), not each row",
         np.stack([want[0], *rows])),
        ("inward and outward are not normalised: divide each column by its sum", np.stack([eye, a_in, a_out])),
        ("every matrix is transposed: pair (i, j) goes to row j, column i", np.swapaxes(want, 1, 2)),
        ("the identity subset is missing or wrong: subset 0 is the identity matrix", np.stack([np.zeros((v, v)), want[1], want[2]])),
        (_UNDIRECTED, np.stack([eye, _columns(both), _columns(both)])),
        (_UNDIRECTED, np.stack([eye, both, both])),
        (f"{_UNDIRECTED}; and D^-1/2 (A + I) D^-1/2 is the plain GCN's normalisation, not the partition's", np.stack([eye, kipf, kipf])),
        (_STGCN, np.stack([eye / deg, a_in / deg, a_out / deg])),
        (_STGCN, np.stack([eye, a_in / deg, a_out / deg])),
        ("only the inward matrix is transposed: there pair (child, parent) goes to [parent, child] (the child receives); "
         "the outward one is right", np.stack([eye, want[1].T, want[2]])),
        ("only the outward matrix is transposed: there pair (child, parent) goes to [child, parent] (the parent receives); "
         "the inward one is right", np.stack([eye, want[1], want[2].T])),
    ]  # fmt: skip


def _partition_pattern(got: np.ndarray, want: np.ndarray, lay: Layout) -> str | None:
    """A sentence for a wrong partition whose mistake is a pattern: a subset holding the other direction
    (both directions: undirected), or the right entries with other values (the normalisation)."""
    sender, receiver = joint_axis(lay, "sender"), joint_axis(lay, "receiver")
    for k, other in ((1, 2), (2, 1)):
        foreign = (np.abs(got[k]) > 1e-9) & (want[other] > 0) & (want[k] == 0)
        if foreign.any():
            s, r = (int(i[0]) for i in np.nonzero(foreign))
            own = bool(((np.abs(got[k]) > 1e-9) & (want[k] > 0)).any())
            kind = "both directions, an undirected (Kipf-style) adjacency" if own else f"the {SUBSET_NAMES[other]} direction (transposed?)"
            return (f"{subset_axis(k)} holds {kind}: it has an entry at {sender(s)}, {receiver(r)}, which belongs to "
                    f"{subset_axis(other)}. Inward: pair (child, parent) at [parent, child]; outward: at [child, parent]")  # fmt: skip
    if np.array_equal(np.abs(got) > 1e-9, want > 0):
        k, s, r = (int(i[0]) for i in np.nonzero(~np.isclose(got, want, atol=1e-6)))
        return (f"the entries are in the right places, but not the values: e.g. {subset_axis(k)}, {sender(s)}, {receiver(r)} "
                f"holds {got[k, s, r]:.6g}, not {want[k, s, r]:.6g}. The identity stays 1; each non-empty column of inward and "
                "outward is divided by its own sum (the receiver averages what it gets)")  # fmt: skip
    return None


def _check_partition(fn) -> str:
    for lay in _partition_cases():
        v = lay.num_joints
        got = call(fn, list(lay.inward), v, what=f"your partition of the {lay.name!r} layout")
        want = spatial_partition(lay)
        expect_array(got, want, f"your partition of the {lay.name!r} layout ({v} joints)", _partition_mistakes(lay, want),
                     axes=(subset_axis, joint_axis(lay, "sender"), joint_axis(lay, "receiver")),
                     diagnose=lambda g, lay=lay, want=want: _partition_pattern(g, want, lay))  # fmt: skip
    return f"equal to spatial_partition on {len(_partition_cases())} layouts, NTU-25 included"


register(
    "partition", "implement", (NB01, NB02B),
    "write `my_partition(inward, num_joints)`: the (3, V, V) partition [identity, inward, outward] from (child, parent) pairs",
    partition_solution, _check_partition,
    hint="Start from zeros; for each (child, parent) put a 1 where the *receiver's column* and the *sender's row* meet; "
         "then divide every non-empty column by its sum.",
)  # fmt: skip


def _inward_sums(**_):
    return spatial_partition("nturgb+d")[1].sum(0).tolist()


def _check_inward_sums(answer) -> str:
    want = np.asarray(_inward_sums())
    lay = get_layout("nturgb+d")
    centre = joint_name(lay, lay.center)
    arr = read_numbers(answer, "your column sums")
    arr = np.full(25, float(arr)) if arr.ndim == 0 else arr
    if arr.shape != (25,):
        raise Unreadable(f"give one number per column (25), or one number for all of them; got shape {arr.shape}")
    no_parent = "Which joint has no parent, and so receives nothing in the inward subset?"
    if np.allclose(arr, 1):
        raise Wrong(f"almost: every column sums to 1 except the centre's, {centre}, which is 0: the centre has no parent",
                    nudge=f"almost: one column is different. {no_parent}")
    empty = np.flatnonzero(np.isclose(arr, 0))
    if np.isclose(arr, 1).sum() == 24 and len(empty) == 1 and empty[0] != lay.center:
        raise Wrong(f"the empty column is the centre's, {centre}, not {joint_name(lay, empty[0])}'s: in the inward subset a "
                    "joint receives from its parent, and only the centre has none",
                    nudge=f"one column is empty, but not that one: {no_parent}")  # fmt: skip
    expect_array(arr, want, "your column sums", axes=(joint_axis(lay, "the column of"),))
    return f"yes: 1 for every joint that has a parent, 0 for the centre, {centre}"


register(
    "inward_column_sums", "predict", NB01,
    "what are the column sums of NTU's inward matrix A[1]? (one number, or a list of 25)",
    _inward_sums, _check_inward_sums,
    explanation="a column lists what one joint receives; in the inward subset each joint receives from its one parent, "
                "divided by the column sum, so 1; the centre has no parent, so its column is empty: 0.",
    hint="column w of A[1] lists what joint w receives in the inward subset, from its parent; then every non-empty "
         "column is divided by its sum.",
    nudge="a column of A[1] lists what one joint receives through the inward subset. From whom does a joint receive "
          "there, and what does dividing a column by its sum make of it? Is there a joint that receives nothing?",
    stub="my_column_sums",
)  # fmt: skip


# ------------------------------------------------------------------------------------------------
# Bones from joints (01)
# ------------------------------------------------------------------------------------------------


def bones_solution(joints, bone_pairs):
    """bone[..., v, :] = joint[..., v, :] - joint[..., parent, :] for each pair (v, parent); a self pair gives 0.

    ``joints``: (M, T, V, C); ``bone_pairs``: (v, parent) pairs, one per joint.
    """
    joints = np.asarray(joints)
    bones = np.zeros_like(joints)
    for v, parent in bone_pairs:
        bones[..., v, :] = joints[..., v, :] - joints[..., parent, :]
    return bones


def _bones_mistakes(x: np.ndarray, lay: Layout, want: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """The typical wrong bones of clip ``x``, each with its diagnosis."""
    root = [v for v, p in lay.bone_pairs if v == p]
    root_as_joint = want.copy()
    root_as_joint[..., root, :] = x[..., root, :]
    one_based, parent_child, at_parent, in_place = np.zeros_like(x), np.zeros_like(x), np.zeros_like(x), x.copy()
    for v, p in lay.bone_pairs:
        one_based[..., v, :] = x[..., v, :] - x[..., (p + 1) % lay.num_joints, :]
        parent_child[..., p, :] = x[..., p, :] - x[..., v, :]  # the pair read as (parent, child): written at its second joint
        at_parent[..., p, :] = x[..., v, :] - x[..., p, :]
        in_place[..., v, :] -= in_place[..., p, :]
    edges = bones_solution(x, lay.inward)
    differ = sorted({v for v, p in lay.bone_pairs} - {v for v, p in lay.bone_pairs if (v, p) in set(lay.inward) or v == p})
    return [
        ("the sign is reversed: a bone is joint minus parent, not parent minus joint", -want),
        ("the root's bone should be zero (its pair is (root, root)); you kept the joint itself", root_as_joint),
        ("the parent index is off by one (the pairs are 0-based here)", one_based),
        ("the pairs were read as (parent, child): each pair of bone_pairs is (joint, parent), so bone[joint] = joint - parent",
         parent_child),
        ("the bone is written at the parent's index: bone[..., v, :] belongs to joint v, the first of its pair (v, parent)",
         at_parent),
        ("the joints were changed in place: a later pair then subtracts a parent that is already a bone; compute every "
         "bone from the original joints (start from np.zeros_like(joints))", in_place),
        (f"these are bones along the graph's edges (layout.inward), not along bone_pairs; in the {lay.name} layout they "
         f"differ at {', '.join(joint_name(lay, v) for v in differ[:4])}: use the bone_pairs the function is given", edges),
    ]  # fmt: skip


def _bones_pattern(got: np.ndarray, want: np.ndarray, lay: Layout) -> str | None:
    """For bones wrong at only a few joints: which, and the pair each should use."""
    wrong = sorted({int(v) for v in np.nonzero(~np.isclose(got, want, atol=1e-6))[2]})
    if not wrong or len(wrong) > 3 or len(wrong) == lay.num_joints:
        return None
    parent = dict(lay.bone_pairs)
    said = "; ".join(f"{joint_name(lay, v)}, whose pair is ({v}, {parent[v]}): joint minus {lay.joint_names[parent[v]]}" for v in wrong)
    return f"only {len(wrong)} of the {lay.num_joints} bones differ: {said}"


def _check_bones(fn) -> str:
    rng = np.random.default_rng(1)
    for name in ("nturgb+d", "coco", "openpose"):
        lay = get_layout(name)
        x = rng.normal(size=(2, 5, lay.num_joints, 3))
        got = call(fn, x.copy(), list(lay.bone_pairs), what=f"my_bones on a {name} clip")
        want = bones_solution(x, lay.bone_pairs)
        expect_array(got, want, f"my_bones on a {name} clip (M, T, V, C) = {x.shape}", _bones_mistakes(x, lay, want),
                     axes=(counted_axis("person"), counted_axis("frame"), joint_axis(lay), counted_axis("coordinate", "xyz")),
                     diagnose=lambda g, lay=lay, want=want: _bones_pattern(g, want, lay))  # fmt: skip
    return "equal to the pipeline's bones on NTU, COCO and OpenPose clips"


register(
    "bones", "implement", NB01,
    "write `my_bones(joints, bone_pairs)`: bones (M, T, V, C) from joints (M, T, V, C) and (joint, parent) pairs",
    bones_solution, _check_bones,
    hint="Start from zeros with the shape of the joints; for each pair (v, parent) subtract the parent's coordinates from v's.",
)  # fmt: skip


# ------------------------------------------------------------------------------------------------
# Sampling (01, explore)
# ------------------------------------------------------------------------------------------------


def _max_repeat(num_frames: int = 60, clip_len: int = 100, **_) -> int:
    from ..data.pipeline import sample_indices

    return int(np.bincount(sample_indices(num_frames, clip_len, 1, test_mode=True)).max())


def _check_max_repeat(answer) -> str:
    value = read_number(answer, "the most times one frame appears in a test clip of a 60-frame video")
    if value != int(value):
        raise Unreadable(f"a count is a whole number, got {value:g}")
    expect_number(value, _max_repeat(), "the most times one frame appears in a test clip of a 60-frame video")
    return "yes: 100 positions from 60 frames loop, so some frames appear twice (none three times)"


register(
    "sampling_repeats", "explore", NB01,
    "in the sampling figure, T = 60 frames -> 100: at most how many times does one source frame appear in a test clip?",
    _max_repeat, _check_max_repeat,
    explanation="a clip shorter than the clip length loops: 100 consecutive indices modulo 60 visit 40 frames twice.",
    hint="a test clip of a short video takes consecutive frames from a start and wraps around at the end of the video.",
    nudge="in the left panel, follow one test clip (one colour): each dot is a position of the clip (x) and the source "
          "frame it takes (y). How often does one horizontal line (one source frame) get a dot?",
    stub="my_repeats",
)  # fmt: skip


# ------------------------------------------------------------------------------------------------
# Weight decay and the learned graph (03)
# ------------------------------------------------------------------------------------------------


def split_change_solution(initial, learned, factor):
    """(decay part, gradient part) of a graph's change: (factor - 1) * A and B - factor * A; they add up to B - A."""
    initial, learned = np.asarray(initial, dtype=float), np.asarray(learned, dtype=float)
    return (factor - 1) * initial, learned - factor * initial


def _check_split_change(fn) -> str:
    from ..analysis import split_graph_change

    rng = np.random.default_rng(3)
    a = spatial_partition("nturgb+d").astype(float)
    for f in (0.914, 0.5):
        b = f * a + rng.normal(scale=0.02, size=a.shape)
        got = call(fn, a, b, f, what="my_split_change")
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            raise Wrong(f"my_split_change should return two arrays (decay part, gradient part), got {type(got).__name__}")
        ref = split_graph_change(a, b, f)
        axes = (subset_axis, joint_axis("nturgb+d", "sender"), joint_axis("nturgb+d", "receiver"))
        expect_array(got[0], ref.decay, f"the decay part (f = {f})",
                     [("that is what decay leaves (f * A); the decay *part* of the change is (f - 1) * A", f * a)], axes=axes)
        expect_array(got[1], ref.gradient, f"the gradient part (f = {f})",
                     [("B - A is the whole change; the gradient part is what remains after decay: B - f * A", b - a)], axes=axes)
    return "equal to analysis.split_graph_change; decay part + gradient part = B - A"


register(
    "split_change", "implement", NB03,
    "write `my_split_change(initial, learned, factor)`: (decay part, gradient part) of the change B - A",
    split_change_solution, _check_split_change,
    hint="Decay alone would turn A into f * A; the rest of B - A is the gradients' doing.",
)  # fmt: skip


def _decay_removed(change: Any = None, **_) -> float:
    if change is None:
        raise TypeError("needs the notebook's split of one layer's change (change=c0)")
    return float(-np.asarray(change.decay)[1].sum())


def _check_decay_removed(answer, change: Any) -> str:
    f, initial = float(change.factor), np.asarray(change.initial, dtype=float)
    total = float(initial[1].sum())
    want = (1 - f) * total
    value = read_number(answer, "what weight decay removed from the inward matrix")
    whole = float(np.asarray(change.learned)[1].sum()) - total
    named = [
        (1 - f, "that is the fraction of each entry that decay removed; the question asks for the amount over the whole "
                "inward matrix: what decay took from every entry, added up", ""),
        (f * total, "that is what decay left of the inward matrix's sum (f times it); it removed the rest",
         "that is what decay left of the inward matrix, not what it removed"),
        ((1 - f) * initial.shape[-1], "that counts one per joint; but the centre receives nothing in the inward subset "
                                      "(its column is empty), so the inward matrix sums to one less",
         "you counted every joint's column: do they all hold something in the inward subset?"),
        (-want, "the sign: decay's part of the change, (f - 1) * A, is negative; what it removed is positive", ""),
        ((1 - f) * float(initial.sum()), "that is all three subsets (identity, inward, outward); the question asks about "
                                          "the inward matrix", ""),
        (abs(whole), "that is the whole change of the inward matrix, decay and gradients together; decay alone is (f - 1) * A",
         ""),
    ]  # fmt: skip
    for wrong, message, nudge in named:
        if abs(wrong - want) > 0.01 and abs(value - wrong) <= 0.01:
            raise Wrong(message, nudge=nudge or message)
    expect_number(value, want, "what weight decay removed from the sum of the inward matrix's entries", tol=0.01)
    grad = float(np.asarray(change.gradient)[1].sum())
    return (f"yes: (1 - f) x {total:g} = {want:.3f} (the inward matrix sums to {total:g}, one per joint with a parent); "
            f"in this layer the gradient part of the inward matrix sums to {grad:+.3f}: the loss "
            f"{'added back' if grad > 0 else 'took away'} {abs(grad):.3f} in all")  # fmt: skip


register(
    "decay_removed", "explore", NB03,
    "weight decay removed the same fraction 1 - f of every entry. How much did it remove in all from one layer's inward "
    "matrix, summed over its entries (to 0.01)?",
    _decay_removed, _check_decay_removed,
    explanation="decay turns every entry A into f * A, so it removes (1 - f) * A from each; the inward matrix sums to the "
                "number of joints that have a parent (each such column sums to 1, the centre's is empty).",
    hint="c0.initial[1] is the inward matrix the layer started from; c0.decay[1] is what decay did to it.",
    nudge="what decay removes from one entry is (1 - f) times that entry; over the whole inward matrix you need what its "
          "entries add up to. Notebook 01 asked for its column sums.",
    stub="my_removed",
)  # fmt: skip


def _alpha_sign(**_) -> bool:
    return False


def _check_alpha_sign(answer) -> str:
    if read_bool(answer):
        raise Wrong("no: alpha * tanh(theta^T phi) equals (-alpha) * tanh((-theta)^T phi), and theta is learned too")
    return "right: only the size |alpha| * ||C_k|| says how much C_k counts"


register(
    "alpha_sign", "predict", NB03,
    "a layer with alpha = -0.3 uses its data-dependent graph less than one with alpha = +0.3 (True or False)?",
    _alpha_sign, _check_alpha_sign,
    explanation="flipping the sign of theta flips the sign of C_k, so the sign of alpha carries no meaning.",
    hint="compare a layer with (alpha, theta) and one with (-alpha, -theta): which graph does each add to B_k?",
    nudge="what decides how much a layer uses C_k: the sign of alpha or its size? Remember that theta is trained as well.",
    stub="my_answer",
)  # fmt: skip
