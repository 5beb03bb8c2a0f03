"""Skeleton layouts and the graphs AAGCN convolves over.

A :class:`Layout` names the joints of a skeleton and says how they connect. From it we build

* the **spatial partition** used by AAGCN (paper Eq. 1-2, pyskl ``mode='spatial'``): three
  ``(V, V)`` matrices ``[I, In, Out]`` where ``In`` carries features from a joint towards the
  centre and ``Out`` away from it, each column-normalised;
* the **plain normalised adjacency** ``D^-1/2 (A + I) D^-1/2`` (Kipf & Welling), for teaching.

Convention (as in pyskl and the authors' code): features are *right*-multiplied by a graph,
``out[..., w] = sum_v x[..., v] * A[v, w]``. :func:`edge2mat` sets ``A[j, i] = 1`` for a pair
``(i, j)``, so with the inward pairs ``(child, parent)`` the child receives its parent's feature.

Built-in layouts: ``nturgb+d`` (Kinect v2, 25 joints, pyskl's hand edges), ``nturgb+d-2sagcn``
(the authors' original hand edges), ``coco`` (17), ``openpose`` (18, Kinetics-skeleton) and
``h36m`` (17, Human3.6M as 2D-to-3D lifters write it; same joint count as ``coco``, other joints)
and ``ucla`` (Kinect v1, 20 joints, NW-UCLA as CTR-GCN's ``all_sqe`` files store it).
Your own skeleton: :func:`define_layout`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "Layout",
    "LAYOUTS",
    "define_layout",
    "get_layout",
    "edge2mat",
    "normalize_digraph",
    "spatial_partition",
    "normalized_adjacency",
    "hop_distance",
    "SUBSET_NAMES",
    "PERSON_SLOTS",
]

SUBSET_NAMES = ("identity", "inward", "outward")
# persons per sample, the M of (M, T, V, C): pyskl's num_person; the default of the model's config and of every
# reader, tracker and pipeline, which otherwise take the model's own count (AAGCNConfig.num_person)
PERSON_SLOTS = 2

Pair = tuple[int, int]


@dataclass(frozen=True)
class Layout:
    """A skeleton: joint names, the tree of edges, its centre, bone pairs and mirror pairs.

    ``inward`` holds ``(child, parent)`` pairs with the child further from ``center``.
    ``bone_pairs`` holds ``(v1, v2)`` with ``bone[v1] = joint[v1] - joint[v2]`` (a self pair gives a
    zero bone); it may differ from the edges, as it does in pyskl. ``flip_pairs`` lists left/right
    joint pairs, used to mirror a skeleton. ``dim``: 2 when the layout's data are image coordinates
    (``x, y`` + score: COCO, OpenPose), 3 when they are 3D (Kinect: NTU, NW-UCLA), ``None`` when
    either (Human3.6M: a lifter's 2D input or 3D output; your own layout unless you say).
    """

    name: str
    joint_names: tuple[str, ...]
    center: int
    inward: tuple[Pair, ...]
    bone_pairs: tuple[Pair, ...]
    flip_pairs: tuple[Pair, ...] = field(default=())
    dim: int | None = None

    def __post_init__(self) -> None:
        v = len(self.joint_names)
        if self.dim not in (None, 2, 3):
            raise ValueError(f"layout {self.name!r}: dim must be 2, 3 or None (either), got {self.dim!r}")
        if v < 2:
            raise ValueError(f"layout {self.name!r}: needs at least 2 joints, got {v}")
        if len(set(self.joint_names)) != v:
            raise ValueError(f"layout {self.name!r}: joint names are not unique")
        if not 0 <= self.center < v:
            raise ValueError(f"layout {self.name!r}: centre {self.center} is not a joint index (0..{v - 1})")
        for what, pairs in (("edge", self.inward), ("bone pair", self.bone_pairs), ("flip pair", self.flip_pairs)):
            for a, b in pairs:
                if not (0 <= a < v and 0 <= b < v):
                    raise ValueError(f"layout {self.name!r}: {what} ({a}, {b}) names a joint outside 0..{v - 1}")
        if len(self.bone_pairs) != v or sorted(a for a, _ in self.bone_pairs) != list(range(v)):
            raise ValueError(f"layout {self.name!r}: bone_pairs must list each joint exactly once as the first element")
        for a, b in self.inward:
            if a == b:
                raise ValueError(f"layout {self.name!r}: self-loop ({a}, {a}) in the edges; the identity subset covers it")

    @property
    def num_joints(self) -> int:
        """Number of joints V."""
        return len(self.joint_names)

    @property
    def outward(self) -> tuple[Pair, ...]:
        """The inward edges reversed: ``(parent, child)``."""
        return tuple((j, i) for i, j in self.inward)

    @property
    def neighbors(self) -> tuple[Pair, ...]:
        """Undirected edges (each inward edge once)."""
        return self.inward

    def index(self, joint: str | int) -> int:
        """Index of a joint given by name (case-insensitive) or index."""
        if isinstance(joint, (int, np.integer)):
            if not 0 <= int(joint) < self.num_joints:
                raise KeyError(f"layout {self.name!r} has no joint {joint}")
            return int(joint)
        lowered = [n.lower() for n in self.joint_names]
        try:
            return lowered.index(str(joint).lower())
        except ValueError:
            raise KeyError(f"layout {self.name!r} has no joint named {joint!r}; joints: {', '.join(self.joint_names)}") from None

    def flip_permutation(self) -> np.ndarray:
        """Joint permutation that swaps every left/right pair (for mirroring)."""
        perm = np.arange(self.num_joints)
        for a, b in self.flip_pairs:
            perm[a], perm[b] = b, a
        return perm

    def to_dict(self) -> dict:
        """Plain-Python description, safe to store in a checkpoint."""
        return {
            "name": self.name,
            "joint_names": list(self.joint_names),
            "center": self.center,
            "inward": [list(p) for p in self.inward],
            "bone_pairs": [list(p) for p in self.bone_pairs],
            "flip_pairs": [list(p) for p in self.flip_pairs],
            **({"dim": self.dim} if self.dim is not None else {}),
        }

    @classmethod
    def from_dict(cls, d: dict) -> Layout:
        """Inverse of :meth:`to_dict`."""
        return cls(
            name=str(d["name"]),
            joint_names=tuple(str(n) for n in d["joint_names"]),
            center=int(d["center"]),
            inward=tuple((int(a), int(b)) for a, b in d["inward"]),
            bone_pairs=tuple((int(a), int(b)) for a, b in d["bone_pairs"]),
            flip_pairs=tuple((int(a), int(b)) for a, b in d.get("flip_pairs", ())),
            dim=None if d.get("dim") is None else int(d["dim"]),
        )


def _one_based(pairs: Sequence[Pair]) -> tuple[Pair, ...]:
    return tuple((i - 1, j - 1) for i, j in pairs)


# --- NTU RGB+D (Kinect v2), joint order of the dataset -------------------------------------------
_NTU_NAMES = (
    "SpineBase", "SpineMid", "Neck", "Head", "ShoulderLeft", "ElbowLeft", "WristLeft", "HandLeft",
    "ShoulderRight", "ElbowRight", "WristRight", "HandRight", "HipLeft", "KneeLeft", "AnkleLeft",
    "FootLeft", "HipRight", "KneeRight", "AnkleRight", "FootRight", "SpineShoulder", "HandTipLeft",
    "ThumbLeft", "HandTipRight", "ThumbRight",
)  # fmt: skip
_NTU_BODY = (
    (1, 2), (2, 21), (3, 21), (4, 3), (5, 21), (6, 5), (7, 6), (8, 7), (9, 21), (10, 9), (11, 10),
    (12, 11), (13, 1), (14, 13), (15, 14), (16, 15), (17, 1), (18, 17), (19, 18), (20, 19),
)  # fmt: skip
# pyskl / mmaction2 attach both the hand tip and the thumb to the hand ...
_NTU_HANDS_PYSKL = ((22, 8), (23, 8), (24, 12), (25, 12))
# ... the authors' graph chains tip -> thumb -> hand.
_NTU_HANDS_2SAGCN = ((22, 23), (23, 8), (24, 25), (25, 12))
# Bone pairs of every codebase (2s-AGCN, CTR-GCN, pyskl): the authors' chain, root 21 -> zero bone.
_NTU_BONES = _one_based(_NTU_BODY + ((21, 21),) + _NTU_HANDS_2SAGCN)
_NTU_FLIP = _one_based(((5, 9), (6, 10), (7, 11), (8, 12), (13, 17), (14, 18), (15, 19), (16, 20), (22, 24), (23, 25)))

# --- COCO-17 ------------------------------------------------------------------------------------
_COCO_NAMES = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
    "right_knee", "left_ankle", "right_ankle",
)  # fmt: skip
_COCO_INWARD = (
    (15, 13), (13, 11), (16, 14), (14, 12), (11, 5), (12, 6), (9, 7), (7, 5), (10, 8), (8, 6), (5, 0),
    (6, 0), (1, 0), (3, 1), (2, 0), (4, 2),
)  # fmt: skip
# pyskl's COCO bones attach hips (and shoulders) to the nose, unlike the graph.
_COCO_BONES = (
    (0, 0), (1, 0), (2, 0), (3, 1), (4, 2), (5, 0), (6, 0), (7, 5), (8, 6), (9, 7), (10, 8), (11, 0),
    (12, 0), (13, 11), (14, 12), (15, 13), (16, 14),
)  # fmt: skip
_COCO_FLIP = ((1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16))

# --- OpenPose-18 (Kinetics-skeleton) ------------------------------------------------------------
_OPENPOSE_NAMES = (
    "Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist", "RHip", "RKnee",
    "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye", "REar", "LEar",
)  # fmt: skip
_OPENPOSE_INWARD = (
    (4, 3), (3, 2), (7, 6), (6, 5), (13, 12), (12, 11), (10, 9), (9, 8), (11, 5), (8, 2), (5, 1), (2, 1),
    (0, 1), (15, 0), (14, 0), (17, 15), (16, 14),
)  # fmt: skip
_OPENPOSE_BONES = (
    (0, 0), (1, 0), (2, 1), (3, 2), (4, 3), (5, 1), (6, 5), (7, 6), (8, 2), (9, 8), (10, 9), (11, 5),
    (12, 11), (13, 12), (14, 0), (15, 0), (16, 14), (17, 15),
)  # fmt: skip
_OPENPOSE_FLIP = ((2, 5), (3, 6), (4, 7), (8, 11), (9, 12), (10, 13), (14, 15), (16, 17))

# --- Human3.6M-17 (the order 2D-to-3D lifters use: VideoPose3D, MHFormer, mmpose ``h36m``) -------
# Edges = mmpose's h36m ``skeleton_links`` = VideoPose3D's parents [-1, 0, 1, 2, 0, 4, 5, 0, 7, 8,
# 9, 8, 11, 12, 8, 14, 15]; the root (centre) is the pelvis, as in the lifters' root-relative output.
_H36M_NAMES = (
    "pelvis", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle", "spine",
    "thorax", "neck_nose", "head", "left_shoulder", "left_elbow", "left_wrist", "right_shoulder",
    "right_elbow", "right_wrist",
)  # fmt: skip
_H36M_PARENTS = (0, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15)  # the pelvis is its own parent
_H36M_INWARD = tuple((v, p) for v, p in enumerate(_H36M_PARENTS) if v != p)
_H36M_BONES = tuple(enumerate(_H36M_PARENTS))
_H36M_FLIP = ((1, 4), (2, 5), (3, 6), (11, 14), (12, 15), (13, 16))

# --- NW-UCLA (Kinect v1, 20 joints; order of the Kinect SDK v1, NUI_SKELETON_POSITION_INDEX) -------
# Edges: CTR-GCN's graph/ucla.py, 1-based (child, parent); the centre is the shoulder centre (3),
# which plays NTU's SpineShoulder (21). Bones: CTR-GCN's feeder_ucla.py, the 19 edges and (3, 3).
_UCLA_NAMES = (
    "HipCenter", "Spine", "ShoulderCenter", "Head", "ShoulderLeft", "ElbowLeft", "WristLeft", "HandLeft",
    "ShoulderRight", "ElbowRight", "WristRight", "HandRight", "HipLeft", "KneeLeft", "AnkleLeft", "FootLeft",
    "HipRight", "KneeRight", "AnkleRight", "FootRight",
)  # fmt: skip
_UCLA_INWARD = (
    (1, 2), (2, 3), (4, 3), (5, 3), (6, 5), (7, 6), (8, 7), (9, 3), (10, 9), (11, 10), (12, 11), (13, 1),
    (14, 13), (15, 14), (16, 15), (17, 1), (18, 17), (19, 18), (20, 19),
)  # fmt: skip
_UCLA_FLIP = _one_based(((5, 9), (6, 10), (7, 11), (8, 12), (13, 17), (14, 18), (15, 19), (16, 20)))

LAYOUTS: dict[str, Layout] = {
    "nturgb+d": Layout("nturgb+d", _NTU_NAMES, 20, _one_based(_NTU_BODY + _NTU_HANDS_PYSKL), _NTU_BONES, _NTU_FLIP, dim=3),
    "nturgb+d-2sagcn": Layout("nturgb+d-2sagcn", _NTU_NAMES, 20, _one_based(_NTU_BODY + _NTU_HANDS_2SAGCN), _NTU_BONES, _NTU_FLIP, dim=3),
    "coco": Layout("coco", _COCO_NAMES, 0, _COCO_INWARD, _COCO_BONES, _COCO_FLIP, dim=2),
    "openpose": Layout("openpose", _OPENPOSE_NAMES, 1, _OPENPOSE_INWARD, _OPENPOSE_BONES, _OPENPOSE_FLIP, dim=2),
    "h36m": Layout("h36m", _H36M_NAMES, 0, _H36M_INWARD, _H36M_BONES, _H36M_FLIP),
    "ucla": Layout("ucla", _UCLA_NAMES, 2, _one_based(_UCLA_INWARD), _one_based(_UCLA_INWARD + ((3, 3),)), _UCLA_FLIP, dim=3),
}


def get_layout(layout: str | Layout | dict) -> Layout:
    """Return a :class:`Layout` from a built-in name, a layout, or its ``to_dict`` form."""
    if isinstance(layout, Layout):
        return layout
    if isinstance(layout, dict):
        return Layout.from_dict(layout)
    try:
        return LAYOUTS[layout]
    except KeyError:
        raise ValueError(
            f"unknown skeleton layout {layout!r}; built-in layouts are {', '.join(LAYOUTS)} "
            "(define your own with aagcn_lab.graph.define_layout)"
        ) from None


def define_layout(
    name: str,
    joint_names: Sequence[str],
    edges: Sequence[tuple[str | int, str | int]],
    center: str | int,
    bone_pairs: Sequence[tuple[str | int, str | int]] | None = None,
    flip_pairs: Sequence[tuple[str | int, str | int]] | None = None,
    dim: int | None = None,
) -> Layout:
    """Build a layout for your own skeleton from joint names and undirected edges.

    ``edges`` may name joints or give indices, in any direction: they are oriented from the
    ``center`` outwards by a breadth-first search, giving ``(child, parent)`` pairs. The edges must
    form a tree that reaches every joint. ``bone_pairs`` default to each joint paired with its
    parent (the centre with itself). ``flip_pairs`` default to the joints whose names differ only by
    ``left``/``right`` (or a leading ``L``/``R``). ``dim``: 2 for image coordinates with scores, 3 for
    3D joints, ``None`` (the default) when either may come.

    Example (an upper body from a MediaPipe subset)::

        define_layout("upper", ["nose", "l_sh", "r_sh", "l_el", "r_el"],
                      [("nose", "l_sh"), ("nose", "r_sh"), ("l_sh", "l_el"), ("r_sh", "r_el")],
                      center="nose", flip_pairs=[("l_sh", "r_sh"), ("l_el", "r_el")])
    """
    names = tuple(str(n) for n in joint_names)
    probe = Layout(name, names, 0, (), tuple((i, i) for i in range(len(names))))  # for name lookup
    c = probe.index(center)
    undirected = [(probe.index(a), probe.index(b)) for a, b in edges]
    adjacency: dict[int, list[int]] = {i: [] for i in range(len(names))}
    for a, b in undirected:
        if a == b:
            raise ValueError(f"layout {name!r}: edge ({names[a]}, {names[b]}) is a self-loop")
        adjacency[a].append(b)
        adjacency[b].append(a)
    parent = {c: c}
    order = [c]
    for node in order:  # breadth-first from the centre
        for nb in adjacency[node]:
            if nb not in parent:
                parent[nb] = node
                order.append(nb)
    missing = [names[i] for i in range(len(names)) if i not in parent]
    if missing:
        raise ValueError(f"layout {name!r}: joints not connected to the centre {names[c]!r}: {', '.join(missing)}")
    if len(undirected) != len(names) - 1:
        raise ValueError(
            f"layout {name!r}: {len(undirected)} edges for {len(names)} joints; the edges must form a tree "
            f"(exactly {len(names) - 1} edges)"
        )
    inward = tuple((v, parent[v]) for v in order if v != c)
    if bone_pairs is None:
        bones = tuple((v, parent[v]) for v in range(len(names)))
    else:
        bones = tuple((probe.index(a), probe.index(b)) for a, b in bone_pairs)
    if flip_pairs is None:
        flips = _guess_flip_pairs(names)
    else:
        flips = tuple((probe.index(a), probe.index(b)) for a, b in flip_pairs)
    return Layout(name, names, c, inward, bones, flips, dim)


def _guess_flip_pairs(names: Sequence[str]) -> tuple[Pair, ...]:
    def canon(n: str) -> str | None:
        low = n.lower()
        for left, right in (("left", "right"),):
            if left in low:
                return low.replace(left, "<side>")
            if right in low:
                return low.replace(right, "<side>")
        if len(n) > 1 and n[0] in "LRlr" and (n[1].isupper() or n[1] in "_-"):
            return "<side>" + n[1:].lower()
        return None

    pairs, seen = [], set()
    for i, a in enumerate(names):
        for j in range(i + 1, len(names)):
            ca, cb = canon(a), canon(names[j])
            if ca is not None and ca == cb and a.lower() != names[j].lower() and i not in seen and j not in seen:
                pairs.append((i, j))
                seen.update((i, j))
    return tuple(pairs)


def edge2mat(pairs: Sequence[Pair], num_joints: int) -> np.ndarray:
    """Binary matrix with ``M[j, i] = 1`` for each pair ``(i, j)`` (row = target, column = source)."""
    m = np.zeros((num_joints, num_joints), dtype=np.float32)
    for i, j in pairs:
        m[j, i] = 1.0
    return m


def normalize_digraph(a: np.ndarray) -> np.ndarray:
    """Divide each column by its sum, ``A D^-1`` with column degrees; an empty column stays 0."""
    deg = a.sum(axis=0)
    inv = np.where(deg > 0, 1.0 / np.where(deg > 0, deg, 1.0), 0.0)
    return (a * inv[None, :]).astype(np.float32)


def spatial_partition(layout: str | Layout) -> np.ndarray:
    """The ``(3, V, V)`` spatial partition ``[I, In, Out]`` of pyskl's ``mode='spatial'``."""
    lay = get_layout(layout)
    v = lay.num_joints
    eye = np.eye(v, dtype=np.float32)
    inward = normalize_digraph(edge2mat(lay.inward, v))
    outward = normalize_digraph(edge2mat(lay.outward, v))
    return np.stack([eye, inward, outward]).astype(np.float32)


def normalized_adjacency(layout: str | Layout, self_loops: bool = True) -> np.ndarray:
    """Symmetric ``D^-1/2 (A + I) D^-1/2`` of the undirected skeleton graph (for teaching)."""
    lay = get_layout(layout)
    v = lay.num_joints
    a = edge2mat(lay.inward, v) + edge2mat(lay.outward, v)
    if self_loops:
        a = a + np.eye(v, dtype=np.float32)
    d = a.sum(axis=1)
    inv_sqrt = np.where(d > 0, 1.0 / np.sqrt(np.where(d > 0, d, 1.0)), 0.0)
    return (inv_sqrt[:, None] * a * inv_sqrt[None, :]).astype(np.float32)


def hop_distance(layout: str | Layout) -> np.ndarray:
    """``(V, V)`` number of edges on the shortest path between two joints (tree distance)."""
    lay = get_layout(layout)
    v = lay.num_joints
    dist = np.full((v, v), np.inf)
    np.fill_diagonal(dist, 0)
    for a, b in lay.inward:
        dist[a, b] = dist[b, a] = 1
    for k in range(v):  # Floyd-Warshall; V is tiny
        dist = np.minimum(dist, dist[:, [k]] + dist[[k], :])
    return dist
