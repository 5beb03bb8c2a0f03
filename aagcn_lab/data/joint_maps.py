"""Joint maps between skeleton layouts, and which layout an array's joint count means.

The layouts a reader can meet are the model layouts of :mod:`aagcn_lab.graph` plus two that only
estimators write: OpenPose's BODY_25 (``body25``) and MediaPipe Pose's 33 landmarks
(``mediapipe``); :data:`SOURCE_JOINTS` names the joints of each. A reader keeps what the file
holds and :func:`~aagcn_lab.data.poses.frames.to_record` turns the two estimator-only layouts into
model layouts (:data:`READ_AS`). :data:`JOINT_MAPS` says how one 2D layout feeds another
(:func:`map_joints`, :func:`fit_layout`): BODY_25 is read as OpenPose-18 (its MidHip and six foot
joints dropped), MediaPipe-33 as COCO-17 (eyes' centres, ears, body; the inner/outer eyes, mouth,
hands and feet dropped), ``openpose <-> coco`` (COCO has no neck: OpenPose's neck is the
shoulders' midpoint, scored by the lower of the two). Human3.6M-17 is its own layout (``h36m``):
it has COCO's joint count but other joints, so it feeds no COCO model.

An array says only its joint count. :data:`JOINT_COUNTS` lists the layouts each count can mean and
:func:`array_layout` is the one rule that picks one (the model's layout decides between
COCO-17 and Human3.6M-17, and between NTU-25 and BODY_25).
"""

from __future__ import annotations

import numpy as np

from ..graph import Layout, get_layout
from ..io import InputError
from .validate import layout_dim

__all__ = [
    "SOURCE_JOINTS",
    "MEDIAPIPE_LANDMARKS",
    "BODY25_JOINTS",
    "JOINT_MAPS",
    "READ_AS",
    "JOINT_COUNTS",
    "LayoutMismatchError",
    "map_joints",
    "feeds",
    "fit_layout",
    "array_layout",
    "source_dim",
]

BODY25_JOINTS = (
    "Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist", "MidHip", "RHip",
    "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye", "REar", "LEar", "LBigToe", "LSmallToe",
    "LHeel", "RBigToe", "RSmallToe", "RHeel",
)  # fmt: skip
MEDIAPIPE_LANDMARKS = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye", "right_eye_outer",
    "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder", "right_shoulder", "left_elbow",
    "right_elbow", "left_wrist", "right_wrist", "left_pinky", "right_pinky", "left_index", "right_index",
    "left_thumb", "right_thumb", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_heel", "right_heel", "left_foot_index", "right_foot_index",
)  # fmt: skip
SOURCE_JOINTS: dict[str, tuple[str, ...]] = {
    "body25": BODY25_JOINTS,
    "mediapipe": MEDIAPIPE_LANDMARKS,
    **{name: get_layout(name).joint_names for name in ("coco", "openpose", "h36m", "nturgb+d")},
}

# target joint <- source joint index, or a pair (a, b): their midpoint, scored by the lower score
Source = int | tuple[int, int]
JOINT_MAPS: dict[tuple[str, str], tuple[Source, ...]] = {
    ("body25", "openpose"): (0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18),
    ("body25", "coco"): (0, 16, 15, 18, 17, 5, 2, 6, 3, 7, 4, 12, 9, 13, 10, 14, 11),
    ("openpose", "coco"): (0, 15, 14, 17, 16, 5, 2, 6, 3, 7, 4, 11, 8, 12, 9, 13, 10),
    ("coco", "openpose"): (0, (5, 6), 6, 8, 10, 5, 7, 9, 12, 14, 16, 11, 13, 15, 2, 1, 4, 3),
    ("mediapipe", "coco"): (0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28),
    ("mediapipe", "openpose"): (0, (11, 12), 12, 14, 16, 11, 13, 15, 24, 26, 28, 23, 25, 27, 5, 2, 8, 7),
}
# what a reader's own layout becomes in a record (the model layouts have no BODY_25 / MediaPipe)
READ_AS = {"body25": "openpose", "mediapipe": "coco"}

# joint count -> the layouts it can mean, the default first (17 has none: COCO-17 and Human3.6M-17 are alike)
JOINT_COUNTS: dict[int, tuple[str, ...]] = {17: ("coco", "h36m"), 18: ("openpose",), 25: ("nturgb+d", "body25"), 33: ("mediapipe",)}


class LayoutMismatchError(InputError):
    """An input's skeleton layout cannot feed a model's layout."""


def map_joints(coords: np.ndarray, scores: np.ndarray, src: str, dst: str) -> tuple[np.ndarray, np.ndarray]:
    """``(..., V_src, D)`` + ``(..., V_src)`` in layout ``src`` -> the same in ``dst`` (:data:`JOINT_MAPS`)."""
    if src == dst:
        return coords, scores
    try:
        table = JOINT_MAPS[(src, dst)]
    except KeyError:
        raise LayoutMismatchError(f"no joint map from {src!r} to {dst!r}; maps: {', '.join(f'{a}->{b}' for a, b in JOINT_MAPS)}") from None
    out_c = np.zeros(coords.shape[:-2] + (len(table), coords.shape[-1]), coords.dtype)
    out_s = np.zeros(scores.shape[:-1] + (len(table),), scores.dtype)
    for j, s in enumerate(table):
        if isinstance(s, tuple):
            a, b = s
            both = (scores[..., a] > 0) & (scores[..., b] > 0)
            out_c[..., j, :] = np.where(both[..., None], (coords[..., a, :] + coords[..., b, :]) / 2, 0)
            out_s[..., j] = np.where(both, np.minimum(scores[..., a], scores[..., b]), 0)
        else:
            out_c[..., j, :] = coords[..., s, :]
            out_s[..., j] = scores[..., s]
    return out_c, out_s


def feeds(layout: str) -> list[str]:
    """The input layouts that can feed a model of ``layout`` (itself and those with a joint map)."""
    return [layout] + [a for (a, b) in JOINT_MAPS if b == layout]


def fit_layout(record: dict, layout: Layout | str, what: str = "the model") -> dict:
    """``record`` in ``layout``: unchanged, joint-mapped (2D), or a :class:`LayoutMismatchError` naming both."""
    lay = get_layout(layout)
    src = record.get("layout")
    v = record["keypoint"].shape[2]
    if src is None or src == lay.name or (lay.name.startswith("nturgb+d") and str(src).startswith("nturgb+d")):
        return record
    if (src, lay.name) in JOINT_MAPS and "keypoint_score" in record:
        kp, sc = map_joints(record["keypoint"], record["keypoint_score"], src, lay.name)
        return {**record, "keypoint": kp, "keypoint_score": sc, "layout": lay.name, "mapped_from": src}
    raise LayoutMismatchError(
        f"sample {record.get('frame_dir', '?')}: the input's layout is {src!r} ({v} joints) but {what} is for "
        f"layout {lay.name!r} ({lay.num_joints} joints); inputs that can feed {lay.name!r}: {', '.join(feeds(lay.name))}"
    )



def array_layout(num_joints: int, layout: Layout | str | None = None) -> str | None:
    """The layout (a key of :data:`SOURCE_JOINTS`) of an array with ``num_joints`` joints: ``layout`` (the
    model's) when it has that many joints; else the layout of that count that can feed it (BODY_25 for an
    OpenPose or COCO model, COCO-17 for OpenPose); else the count's only layout, or NTU for 25; ``None`` when
    nothing decides (17 joints and a model of neither COCO nor Human3.6M, or a count no layout has)."""
    name = None if layout is None else layout.name if isinstance(layout, Layout) else str(layout)
    if name is not None and len(SOURCE_JOINTS.get(name, ())) == num_joints:
        return name
    if name is not None and name.startswith("nturgb+d") and num_joints == len(SOURCE_JOINTS["nturgb+d"]):
        return "nturgb+d"  # NTU's variants share its joints
    options = JOINT_COUNTS.get(num_joints, ())
    fed = [o for o in options if name is not None and o in feeds(name)]
    if fed:
        return fed[0]
    return options[0] if len(options) == 1 or num_joints == 25 else None


def source_dim(name: str) -> int | None:
    """2 or 3: the dimension of a reader's layout (BODY_25 and MediaPipe are read as 2D); None when either."""
    return 2 if name in READ_AS else layout_dim(name)
