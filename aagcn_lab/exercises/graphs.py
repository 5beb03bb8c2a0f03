"""Exercises on skeletons and graphs (notebooks 01, 02b and 03): the partition, bones, sampling,
and what weight decay does to a learned graph."""

from __future__ import annotations

import numpy as np

from ..graph import Layout, define_layout, edge2mat, get_layout, spatial_partition
from .core import Wrong, call, expect_array, expect_number, register

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


def _check_partition(fn) -> str:
    for lay in _partition_cases():
        v = lay.num_joints
        got = call(fn, list(lay.inward), v, what=f"your partition of the {lay.name!r} layout")
        want = spatial_partition(lay)
        a_in, a_out = edge2mat(lay.inward, v), edge2mat(lay.outward, v)
        rows = [(a / np.where(a.sum(1, keepdims=True) > 0, a.sum(1, keepdims=True), 1)) for a in (a_in, a_out)]
        mistakes = [
            ("inward and outward are swapped (which pair goes where: (child, parent) is written at [parent, child])",
             np.stack([want[0], want[2], want[1]])),
            ("normalised over the wrong axis: divide each *column* by its sum (the receiver averages), not each row",
             np.stack([want[0], *rows])),
            ("inward and outward are not normalised: divide each column by its sum", np.stack([np.eye(v), a_in, a_out])),
            ("every matrix is transposed: pair (i, j) goes to row j, column i", np.swapaxes(want, 1, 2)),
            ("the identity subset is missing or wrong: subset 0 is the identity matrix", np.stack([np.zeros((v, v)), want[1], want[2]])),
        ]  # fmt: skip
        expect_array(got, want, f"your partition of the {lay.name!r} layout ({v} joints)", mistakes)
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
    centre = get_layout("nturgb+d").center
    arr = np.asarray(answer, dtype=float) if not np.isscalar(answer) else np.full(25, float(answer))
    if arr.shape != (25,):
        raise Wrong(f"give one number per column (25), or one number for all of them; got shape {arr.shape}")
    if np.allclose(arr, 1):
        raise Wrong(f"almost: every column sums to 1 except the centre's ({get_layout('nturgb+d').joint_names[centre]}, "
                    f"column {centre}), which is 0")
    expect_array(arr, want, "your column sums")
    return "yes: 1 for every joint that has a parent, 0 for the centre"


register(
    "inward_column_sums", "predict", NB01,
    "what are the column sums of NTU's inward matrix A[1]? (one number, or a list of 25)",
    _inward_sums, _check_inward_sums,
    explanation="a column lists what one joint receives; in the inward subset each joint receives from its one parent, "
                "divided by the column sum, so 1; the centre has no parent, so its column is empty: 0.",
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


def _check_bones(fn) -> str:
    rng = np.random.default_rng(1)
    for name in ("nturgb+d", "coco", "openpose"):
        lay = get_layout(name)
        x = rng.normal(size=(2, 5, lay.num_joints, 3))
        got = call(fn, x.copy(), list(lay.bone_pairs), what=f"my_bones on a {name} clip")
        want = bones_solution(x, lay.bone_pairs)
        root = [v for v, p in lay.bone_pairs if v == p]
        root_as_joint = want.copy()
        root_as_joint[..., root, :] = x[..., root, :]
        one_based = np.zeros_like(x)
        for v, p in lay.bone_pairs:
            one_based[..., v, :] = x[..., v, :] - x[..., (p + 1) % lay.num_joints, :]
        mistakes = [
            ("the sign is reversed: a bone is joint minus parent, not parent minus joint", -want),
            ("the root's bone should be zero (its pair is (root, root)); you kept the joint itself", root_as_joint),
            ("the parent index is off by one (the pairs are 0-based here)", one_based),
        ]
        expect_array(got, want, f"my_bones on a {name} clip (M, T, V, C) = {x.shape}", mistakes)
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
    expect_number(answer, _max_repeat(), "the most times one frame appears in a test clip of a 60-frame video")
    return "yes: 100 positions from 60 frames loop, so some frames appear twice (none three times)"


register(
    "sampling_repeats", "explore", NB01,
    "in the sampling figure, T = 60 frames -> 100: at most how many times does one source frame appear in a test clip?",
    _max_repeat, _check_max_repeat,
    explanation="a clip shorter than the clip length loops: 100 consecutive indices modulo 60 visit 40 frames twice.",
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
        expect_array(got[0], ref.decay, f"the decay part (f = {f})",
                     [("that is what decay leaves (f * A); the decay *part* of the change is (f - 1) * A", f * a)])
        expect_array(got[1], ref.gradient, f"the gradient part (f = {f})",
                     [("B - A is the whole change; the gradient part is what remains after decay: B - f * A", b - a)])
    return "equal to analysis.split_graph_change; decay part + gradient part = B - A"


register(
    "split_change", "implement", NB03,
    "write `my_split_change(initial, learned, factor)`: (decay part, gradient part) of the change B - A",
    split_change_solution, _check_split_change,
    hint="Decay alone would turn A into f * A; the rest of B - A is the gradients' doing.",
)  # fmt: skip


def _decay_removed(factor: float | None = None, **_) -> float:
    if factor is None:
        raise TypeError("needs the run's decay factor")
    return 1 - factor


def _check_decay_removed(answer, factor: float) -> str:
    expect_number(answer, 1 - factor, "the fraction of every physical entry removed by weight decay", tol=0.005)
    return f"yes: 1 - f = {1 - factor:.3f}, the same for every layer and subset"


register(
    "decay_removed", "explore", NB03,
    "from the printed decay factor f: what fraction of each physical entry did weight decay alone remove (to 0.005)?",
    _decay_removed, _check_decay_removed,
    explanation="decay multiplies every B_k by the same f over the run, so it removes 1 - f of each entry.",
    stub="my_fraction",
)  # fmt: skip


def _alpha_sign(**_) -> bool:
    return False


def _check_alpha_sign(answer) -> str:
    if not isinstance(answer, (bool, np.bool_)):
        raise Wrong(f"answer True or False, got {answer!r}")
    if answer:
        raise Wrong("no: alpha * tanh(theta^T phi) equals (-alpha) * tanh((-theta)^T phi), and theta is learned too")
    return "right: only the size |alpha| * ||C_k|| says how much C_k counts"


register(
    "alpha_sign", "predict", NB03,
    "a layer with alpha = -0.3 uses its data-dependent graph less than one with alpha = +0.3 (True or False)?",
    _alpha_sign, _check_alpha_sign,
    explanation="flipping the sign of theta flips the sign of C_k, so the sign of alpha carries no meaning.",
    stub="my_answer",
)  # fmt: skip
