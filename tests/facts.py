"""The reference facts the tests check the package against, transcribed from the reference docs.

Nothing here imports ``aagcn_lab``: these are the independent side of the tests. Sources:
``../shared/docs/reference-model.md`` section 7 (graph edges, partition rule) and
``../shared/docs/reference-data.md`` sections 4.1 (rotation anchors), 4.3 (bone pairs) and 9.3-9.6
(joint names). Index bases are kept as the documents write them and converted once below.
"""

from __future__ import annotations

import numpy as np

# --- joint names (reference-data.md 9.3, 9.5, 9.6) ------------------------------------------------
NTU_NAMES = (
    "SpineBase SpineMid Neck Head ShoulderLeft ElbowLeft WristLeft HandLeft ShoulderRight ElbowRight WristRight "
    "HandRight HipLeft KneeLeft AnkleLeft FootLeft HipRight KneeRight AnkleRight FootRight SpineShoulder "
    "HandTipLeft ThumbLeft HandTipRight ThumbRight"
).split()
COCO_NAMES = (
    "nose left_eye right_eye left_ear right_ear left_shoulder right_shoulder left_elbow right_elbow left_wrist "
    "right_wrist left_hip right_hip left_knee right_knee left_ankle right_ankle"
).split()
OPENPOSE_NAMES = (
    "Nose Neck RShoulder RElbow RWrist LShoulder LElbow LWrist RHip RKnee RAnkle LHip LKnee LAnkle REye LEye REar LEar"
).split()

# NW-UCLA (reference-nw-ucla.md 2): Kinect SDK v1 order, 1-based in the document
UCLA_NAMES = (
    "HipCenter Spine ShoulderCenter Head ShoulderLeft ElbowLeft WristLeft HandLeft ShoulderRight ElbowRight "
    "WristRight HandRight HipLeft KneeLeft AnkleLeft FootLeft HipRight KneeRight AnkleRight FootRight"
).split()

# --- graph edges, inward (child, parent) (reference-model.md 7) --------------------------------------
_NTU_INWARD_1BASED = [
    (1, 2), (2, 21), (3, 21), (4, 3), (5, 21), (6, 5), (7, 6), (8, 7), (9, 21), (10, 9), (11, 10), (12, 11), (13, 1),
    (14, 13), (15, 14), (16, 15), (17, 1), (18, 17), (19, 18), (20, 19), (22, 8), (23, 8), (24, 12), (25, 12),
]  # fmt: skip
# the authors' graph differs only in the hands: (22,23), (23,8), (24,25), (25,12)
_NTU_2SAGCN_INWARD_1BASED = _NTU_INWARD_1BASED[:20] + [(22, 23), (23, 8), (24, 25), (25, 12)]
_COCO_INWARD = [
    (15, 13), (13, 11), (16, 14), (14, 12), (11, 5), (12, 6), (9, 7), (7, 5), (10, 8), (8, 6), (5, 0), (6, 0), (1, 0),
    (3, 1), (2, 0), (4, 2),
]  # fmt: skip
_OPENPOSE_INWARD = [
    (4, 3), (3, 2), (7, 6), (6, 5), (13, 12), (12, 11), (10, 9), (9, 8), (11, 5), (8, 2), (5, 1), (2, 1), (0, 1),
    (15, 0), (14, 0), (17, 15), (16, 14),
]  # fmt: skip

# NW-UCLA: CTR-GCN graph/ucla.py, (child, parent), centre joint 3 (reference-nw-ucla.md 2)
_UCLA_INWARD_1BASED = [
    (1, 2), (2, 3), (4, 3), (5, 3), (6, 5), (7, 6), (8, 7), (9, 3), (10, 9), (11, 10), (12, 11), (13, 1), (14, 13),
    (15, 14), (16, 15), (17, 1), (18, 17), (19, 18), (20, 19),
]  # fmt: skip
# bones: the 19 edges plus (3, 3) (feeder_ucla.py), so the shoulder centre's bone is zero
_UCLA_BONES_1BASED = _UCLA_INWARD_1BASED + [(3, 3)]

# --- bone pairs (v1, v2): bone[v1] = joint[v1] - joint[v2] (reference-data.md 4.3, 0-based) -------
_NTU_BONES = [
    (0, 1), (1, 20), (2, 20), (3, 2), (4, 20), (5, 4), (6, 5), (7, 6), (8, 20), (9, 8), (10, 9), (11, 10), (12, 0),
    (13, 12), (14, 13), (15, 14), (16, 0), (17, 16), (18, 17), (19, 18), (21, 22), (20, 20), (22, 7), (23, 24),
    (24, 11),
]  # fmt: skip
_COCO_BONES = [
    (0, 0), (1, 0), (2, 0), (3, 1), (4, 2), (5, 0), (6, 0), (7, 5), (8, 6), (9, 7), (10, 8), (11, 0), (12, 0),
    (13, 11), (14, 12), (15, 13), (16, 14),
]  # fmt: skip
_OPENPOSE_BONES = [
    (0, 0), (1, 0), (2, 1), (3, 2), (4, 3), (5, 1), (6, 5), (7, 6), (8, 2), (9, 8), (10, 9), (11, 5), (12, 11),
    (13, 12), (14, 0), (15, 0), (16, 14), (17, 15),
]  # fmt: skip


def _mirror_pairs(names: list[str]) -> list[tuple[int, int]]:
    """Left/right joint pairs read off the names: Left<->Right, left_<->right_, a leading L<->R."""
    pairs = []
    for i, n in enumerate(names):
        for a, b in (("Left", "Right"), ("left_", "right_")):
            if a in n and n.replace(a, b) in names:
                pairs.append((i, names.index(n.replace(a, b))))
        if n[0] == "L" and n[1].isupper() and "R" + n[1:] in names:
            pairs.append((i, names.index("R" + n[1:])))
    return sorted(tuple(sorted(p)) for p in pairs)


def _zero_based(pairs):
    return [(i - 1, j - 1) for i, j in pairs]


# name -> (joint names, centre, inward edges, bone pairs, left/right pairs), all 0-based
LAYOUT_FACTS = {
    "nturgb+d": (NTU_NAMES, 20, _zero_based(_NTU_INWARD_1BASED), _NTU_BONES, _mirror_pairs(NTU_NAMES)),
    "nturgb+d-2sagcn": (NTU_NAMES, 20, _zero_based(_NTU_2SAGCN_INWARD_1BASED), _NTU_BONES, _mirror_pairs(NTU_NAMES)),
    "coco": (COCO_NAMES, 0, _COCO_INWARD, _COCO_BONES, _mirror_pairs(COCO_NAMES)),
    "openpose": (OPENPOSE_NAMES, 1, _OPENPOSE_INWARD, _OPENPOSE_BONES, _mirror_pairs(OPENPOSE_NAMES)),
    "ucla": (
        UCLA_NAMES, 2, _zero_based(_UCLA_INWARD_1BASED), sorted(_zero_based(_UCLA_BONES_1BASED)), _mirror_pairs(UCLA_NAMES)
    ),
}

# PreNormalize3D (reference-data.md 4.1 / 9.3): centre joint, z-axis pair (bottom, top), x-axis pair (right, left)
PRENORM_CENTER = 1
PRENORM_ZAXIS = (0, 1)
PRENORM_XAXIS = (8, 4)


def partition(name: str) -> np.ndarray:
    """pyskl's spatial partition ``[I, In, Out]`` built by the rule of reference-model.md 7.

    For each inward pair (i, j) -- i the child -- ``In[j, i] = 1``; ``Out`` holds the reversed pairs,
    ``Out[i, j] = 1``; then each column of In and Out is divided by its sum (an empty column stays 0).
    """
    names, _, inward, _, _ = LAYOUT_FACTS[name]
    v = len(names)
    a_in, a_out = np.zeros((v, v)), np.zeros((v, v))
    for child, parent in inward:
        a_in[parent, child] = 1.0
        a_out[child, parent] = 1.0
    for a in (a_in, a_out):
        for col in range(v):
            total = a[:, col].sum()
            if total > 0:
                a[:, col] /= total
    return np.stack([np.eye(v), a_in, a_out])
