"""The data pipeline: one annotation record in, one model-ready clip tensor out.

``build_pipeline(feat, split)`` returns a callable that does what pyskl's AAGCN configs do::

    PreNormalize3D | PreNormalize2D -> GenSkeFeat(feat) -> UniformSample(clip_len, num_clips)
        -> PoseDecode -> FormatGCNInput(num_person=2)

and returns ``{'keypoint': (num_clips, M, clip_len, V, C) float32, 'label', 'frame_dir'}``.

The result equals pyskl's (and the one-to-one transcription in :mod:`.reference`, which the tests
use as the oracle), but it is computed differently, to be fast:

* every step is vectorised over frames, persons and joints (pyskl loops over frames and bone
  pairs in Python), and float16 arithmetic is emulated exactly in float32;
* test/val frame indices depend only on the number of frames (pyskl reseeds with 255), so they
  are computed once per length and cached; numpy's global RNG is never touched;
* training draws come from an explicit ``numpy.random.RandomState`` (the legacy stream pyskl
  uses), so a sample's clip is reproducible from a seed.

Four features (the four streams of MS-AAGCN): ``j`` joints, ``b`` bones (``joint - parent``),
``jm`` joint motion and ``bm`` bone motion. Augmentations (rotation, scaling, noise, mirroring)
are optional and off by default, as in pyskl's AAGCN configs.

A second protocol, ``protocol='ctrgcn'`` (:class:`CTRGCNPipeline`), is the one behind every published
NW-UCLA number (CTR-GCN's ``feeder_ucla.py``, kept by InfoGCN, HD-GCN, FR-Head and BlockGCN): per-axis
min-max scaling of each clip to [-1, 1], random rotations about x and y in training, 52 frames, one
clip, and motion taken between *sampled* frames. :func:`build_pipeline` returns either.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..graph import PERSON_SLOTS, Layout, get_layout
from .validate import InputError, check_pipeline_input

__all__ = [
    "FEATS", "SPLITS", "PROTOCOLS", "Augment", "Pipeline", "CTRGCNPipeline", "build_pipeline", "sample_indices",
    "prenormalize",
]  # fmt: skip

FEATS = ("j", "b", "jm", "bm")
SPLITS = ("train", "val", "test")
PROTOCOLS = ("pyskl", "ctrgcn")  # pyskl's AAGCN pipeline; the NW-UCLA protocol of CTR-GCN and its successors
TEST_SEED = 255


# ------------------------------------------------------------------------------------------------
# Normalisation
# ------------------------------------------------------------------------------------------------


def _is_ntu(layout: Layout) -> bool:
    return layout.num_joints == 25 and layout.name.startswith("nturgb+d")


def _rotation_onto(v: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The ``(3, 3)`` rotation about ``v x target`` by their angle (so ``v`` turns onto ``target``).

    Rodrigues' formula ``R = cos(a) I + sin(a) [k]x + (1 - cos(a)) k k^T``. The identity, as in
    pyskl, when ``v`` is (nearly) zero, when the axis ``v x target`` is (nearly) zero (parallel or
    opposite vectors) or when the angle is below 1e-6.
    """
    v, target = np.asarray(v), np.asarray(target, np.float64)
    if np.abs(v).sum() < 1e-6:
        return np.eye(3)
    unit = v / np.linalg.norm(v)  # in v's own precision: float16 data gives pyskl's float16 angle
    cos = np.clip(unit @ (target / np.linalg.norm(target)), -1.0, 1.0)
    angle = float(np.arccos(cos))
    axis = np.cross(v, target)
    if np.abs(axis).sum() < 1e-6 or angle < 1e-6:
        return np.eye(3)
    k = axis / np.linalg.norm(axis)
    cross = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    return np.cos(angle) * np.eye(3) + np.sin(angle) * cross + (1 - np.cos(angle)) * np.outer(k, k)


def prenormalize_3d(kp: np.ndarray, layout: Layout) -> np.ndarray:
    """pyskl ``PreNormalize3D``: keep frames where the main person is present, centre, rotate.

    The person with more non-empty frames becomes person 0; frames where person 0 is empty are
    dropped; everything is shifted by person 0's SpineMid in the first frame (in float16 when the
    input is float16, as pyskl does); then rotated so that SpineBase -> SpineMid points along +z and
    then the shoulders (right - left) along +x. Non-NTU 3D layouts are centred on the layout's
    centre joint and not rotated (the rotation anchors are NTU joints).
    """
    half = kp.dtype == np.float16
    work = kp.astype(np.float32) if half else kp  # numpy's float16 maths is slow; emulate it exactly
    if not work.any():
        return kp
    # (M, T) person present: pyskl's not np.isclose(x, 0) <=> |x| > 1e-8, i.e. x != 0 for float16
    present = (work != 0).any(axis=(2, 3)) if half else (np.abs(work) > 1e-8).any(axis=(2, 3))
    if work.shape[0] >= 2 and present[1].sum() > present[0].sum():
        order = [1, 0] + list(range(2, work.shape[0]))
        work, present = work[order], present[order]
    work = work[:, present[0]]
    center = work[0, 0, 1 if _is_ntu(layout) else layout.center]
    mask = (work != 0).any(-1, keepdims=True)
    centred = work - center
    if half:  # a float16 difference is the float32 difference rounded to float16
        centred = centred.astype(np.float16)
    centred = centred * mask
    if not _is_ntu(layout):
        return centred.astype(np.float64)
    # Two rotations as in pyskl; the second one's anchors are the shoulders after the first.
    spine = centred[0, 0, 1] - centred[0, 0, 0]
    if half:
        spine = spine.astype(np.float32).astype(np.float16)
    rz = _rotation_onto(spine, np.array([0.0, 0.0, 1.0]))
    shoulders = centred[0, 0, 8].astype(np.float64) @ rz.T - centred[0, 0, 4].astype(np.float64) @ rz.T
    rx = _rotation_onto(shoulders, np.array([1.0, 0.0, 0.0]))
    m, t, v, c = centred.shape
    # pyskl rotates twice; one product with (rx @ rz) is the same rotation (to ~1e-16)
    out = centred.reshape(-1, c).astype(np.float64) @ (rx @ rz).T  # float16 -> float64, as pyskl's einsum
    return out.reshape(m, t, v, c)


def prenormalize_2d(kp: np.ndarray, score: np.ndarray, img_shape=(1080, 1920), threshold: float = 0.01) -> np.ndarray:
    """pyskl ``PreNormalize2D``: ``(x, y, score)`` with x, y mapped to [-1, 1]; low-score joints zeroed."""
    h, w = img_shape
    out = np.empty(kp.shape[:-1] + (3,), dtype=np.float32)
    out[..., 0] = (kp[..., 0].astype(np.float32) - (w / 2)) / (w / 2)
    out[..., 1] = (kp[..., 1].astype(np.float32) - (h / 2)) / (h / 2)
    out[..., 2] = score
    out[..., :2][out[..., 2] <= threshold] = 0
    return out


def prenormalize(record: dict, layout: Layout) -> np.ndarray:
    """The normalised keypoints ``(M, T', V, C)`` of a record (3D: C = 3; 2D: x, y, score)."""
    if "keypoint_score" in record:
        return prenormalize_2d(record["keypoint"], record["keypoint_score"], record.get("img_shape", (1080, 1920)))
    return prenormalize_3d(record["keypoint"], layout)


# ------------------------------------------------------------------------------------------------
# Temporal sampling
# ------------------------------------------------------------------------------------------------


def _clip_indices(rng: np.random.RandomState, num_frames: int, clip_len: int, clip: int, num_clips: int, test: bool):
    rng.rand()  # the interval-ratio draw (p_interval = 1): made, though it changes nothing
    rng.randint(1)  # the offset draw (always 0)
    if num_frames < clip_len:
        if test:
            start = clip if num_frames < num_clips else clip * num_frames // num_clips
        else:
            start = rng.randint(0, num_frames)
        return np.arange(start, start + clip_len)
    if num_frames < 2 * clip_len:
        skip = np.zeros(clip_len + 1, dtype=np.int64)
        skip[rng.choice(clip_len + 1, num_frames - clip_len, replace=False)] = 1
        return np.arange(clip_len) + np.cumsum(skip)[:-1]
    bounds = np.arange(clip_len + 1) * num_frames // clip_len
    return bounds[:clip_len] + rng.randint(np.diff(bounds))


@lru_cache(maxsize=4096)
def _test_indices(num_frames: int, clip_len: int, num_clips: int) -> np.ndarray:
    rng = np.random.RandomState(TEST_SEED)
    inds = [_clip_indices(rng, num_frames, clip_len, i, num_clips, True) for i in range(num_clips)]
    out = np.mod(np.concatenate(inds), num_frames)
    out.setflags(write=False)
    return out


def sample_indices(
    num_frames: int, clip_len: int, num_clips: int = 1, test_mode: bool = False, rng: np.random.RandomState | None = None
) -> np.ndarray:
    """Frame indices ``(num_clips * clip_len,)`` of pyskl's ``UniformSampleFrames``.

    The video is cut into ``clip_len`` segments and one frame is drawn from each; shorter videos
    loop. Test mode is deterministic (pyskl's seed 255, without touching numpy's global RNG).
    """
    if num_frames < 1:
        raise ValueError(f"cannot sample from {num_frames} frames")
    if test_mode:
        return _test_indices(int(num_frames), int(clip_len), int(num_clips))
    rng = rng if rng is not None else np.random.RandomState()
    inds = [_clip_indices(rng, num_frames, clip_len, i, num_clips, False) for i in range(num_clips)]
    return np.mod(np.concatenate(inds), num_frames)


# ------------------------------------------------------------------------------------------------
# Augmentation (off by default)
# ------------------------------------------------------------------------------------------------


@dataclass
class Augment:
    """Training-time augmentations, applied to the normalised joints before features are computed.

    ``rotate_deg``: uniform rotation in ``[-r, r]`` degrees about the vertical axis (3D, +z after
    normalisation) or in the image plane (2D); ``scale``: uniform factor in ``[1 - s, 1 + s]``;
    ``noise_std``: Gaussian jitter on coordinates; ``flip_prob``: probability of mirroring (x -> -x
    with left and right joints swapped). Absent joints stay zero.
    """

    rotate_deg: float = 0.0
    scale: float = 0.0
    noise_std: float = 0.0
    flip_prob: float = 0.0

    @property
    def active(self) -> bool:
        """True when any augmentation is switched on."""
        return bool(self.rotate_deg or self.scale or self.noise_std or self.flip_prob)

    def __call__(self, kp: np.ndarray, layout: Layout, rng: np.random.RandomState, with_score: bool = False) -> np.ndarray:
        """Augment ``(M, T, V, C)`` normalised keypoints (a new float64 array); a score channel is kept."""
        dim = kp.shape[-1] - 1 if with_score else kp.shape[-1]
        xyz = kp[..., :dim].astype(np.float64)
        mask = (xyz != 0).any(-1, keepdims=True)
        if self.flip_prob and rng.rand() < self.flip_prob:
            xyz = xyz[:, :, layout.flip_permutation()]
            xyz[..., 0] = -xyz[..., 0]
            mask = mask[:, :, layout.flip_permutation()]
            kp = kp[:, :, layout.flip_permutation()]
        if self.rotate_deg:
            a = np.deg2rad(rng.uniform(-self.rotate_deg, self.rotate_deg))
            c, s = np.cos(a), np.sin(a)
            rot = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])[:dim, :dim]  # about z (3D) / in-plane (2D)
            xyz = xyz @ rot.T
        if self.scale:
            xyz = xyz * rng.uniform(1 - self.scale, 1 + self.scale)
        if self.noise_std:
            xyz = xyz + rng.normal(0, self.noise_std, xyz.shape)
        out = kp.astype(np.float64, copy=True)
        out[..., :dim] = xyz * mask
        return out


# ------------------------------------------------------------------------------------------------
# The pipeline
# ------------------------------------------------------------------------------------------------


def _check_settings(feat: str, split: str, clip_len: int) -> None:
    """A known feature and split mode, a positive clip length (either protocol)."""
    if feat not in FEATS:
        raise ValueError(f"unknown feature {feat!r}; choose one of {', '.join(FEATS)}")
    if split not in SPLITS:
        raise ValueError(f"unknown split mode {split!r}; choose one of {', '.join(SPLITS)}")
    if clip_len < 1:
        raise ValueError(f"clip_len must be positive, got {clip_len}")


def bone_parents(layout: Layout) -> np.ndarray:
    """``(V,)`` the joint each joint's bone starts from: ``bone[v] = joint[v] - joint[parent[v]]`` (a self pair: 0)."""
    parent = np.arange(layout.num_joints)
    for v1, v2 in layout.bone_pairs:
        parent[v1] = v2
    return parent


class Pipeline:
    """Callable ``record -> {'keypoint': (num_clips, M, clip_len, V, C) float32, 'label', 'frame_dir'}``."""

    def __init__(
        self,
        feat: str = "j",
        split: str = "train",
        layout: str | Layout = "nturgb+d",
        clip_len: int = 100,
        num_clips: int | None = None,
        num_person: int = PERSON_SLOTS,
        augment: Augment | None = None,
    ) -> None:
        _check_settings(feat, split, clip_len)
        self.feat, self.split = feat, split
        self.layout = get_layout(layout)
        self.clip_len = clip_len
        self.num_clips = num_clips if num_clips is not None else (10 if split == "test" else 1)
        self.num_person = num_person
        self.augment = augment if (augment is not None and augment.active and split == "train") else None
        self.test_mode = split != "train"
        self._parent = bone_parents(self.layout)

    def __repr__(self) -> str:
        return (
            f"Pipeline(feat={self.feat!r}, split={self.split!r}, layout={self.layout.name!r}, "
            f"clip_len={self.clip_len}, num_clips={self.num_clips}, augment={self.augment})"
        )

    def _bones(self, kp: np.ndarray, with_score: bool) -> np.ndarray:
        """``bone[v] = joint[v] - joint[parent(v)]`` in float32; 2D scores averaged over the pair."""
        bone = (kp - kp[:, :, self._parent]).astype(np.float32)
        if with_score:
            bone[..., 2] = (kp[..., 2] + kp[:, :, self._parent, 2]) / 2
        return bone

    def features(self, kp: np.ndarray, inds: np.ndarray | slice, with_score: bool = False) -> np.ndarray:
        """The requested feature at frames ``inds`` of normalised keypoints ``(M, T, V, C)``.

        Bones and motion are computed on the original frames, then gathered: motion at a sampled
        frame is the step to the next *original* frame (pyskl computes features before sampling).
        ``with_score``: channel 2 is a 2D detection score (averaged, not differenced).
        """
        if self.feat == "j":
            return kp[:, inds]
        x = self._bones(kp, with_score) if self.feat in ("b", "bm") else kp
        if self.feat == "b":
            return x[:, inds]
        motion = np.zeros_like(x)  # the last frame has no motion
        motion[:, :-1] = x[:, 1:] - x[:, :-1]
        if with_score:
            motion[:, :-1, :, 2] = (x[:, :-1, :, 2] + x[:, 1:, :, 2]) / 2
        return motion[:, inds]

    prepares_work = True  # prepare normalises (and computes the features): worth keeping per sample

    def prepare(self, record: dict) -> np.ndarray:
        """The part of the pipeline that draws nothing, ``(M, T', V, C)``: the record checked and
        normalised, and, without augmentation, the feature of every frame in float32.

        :class:`~aagcn_lab.data.dataset.SkeletonDataset` keeps it per sample (``cache_mb``), so an
        epoch after the first only samples frames; :meth:`draw` finishes the sample."""
        check_pipeline_input(record, self.layout.num_joints)  # NaN, inf, dtype, joints: aagcn_lab.data.validate
        kp = prenormalize(record, self.layout)
        if kp.shape[1] == 0 or not kp.any():
            raise InputError(f"sample {record.get('frame_dir', '?')}: no frame with a body after normalisation")
        if not np.isfinite(kp).all():  # checked after the float16 arithmetic of PreNormalize3D
            raise InputError(f"sample {record['frame_dir']}: normalisation overflowed (coordinates too far apart for float16)")
        if self.augment is not None:  # features come after the random augmentation, in draw
            return kp
        # every feature is elementwise over frames or a step to the next original frame, and the
        # float32 cast is elementwise: gathering frames afterwards gives the same numbers
        return self.features(kp, slice(None), "keypoint_score" in record).astype(np.float32, copy=False)

    def draw(self, prepared: np.ndarray, record: dict, rng: np.random.RandomState | None = None) -> dict:
        """The sample from :meth:`prepare`'s output: augmentation (if any), frames, person slots."""
        kp, score = prepared, "keypoint_score" in record
        if self.augment is not None:
            rng = rng if rng is not None else np.random.RandomState()
            kp = self.augment(kp, self.layout, rng, score)
        inds = sample_indices(kp.shape[1], self.clip_len, self.num_clips, self.test_mode, rng)
        x = self.features(kp, inds, score) if self.augment is not None else kp[:, inds]  # prepare made the features
        x = x.astype(np.float32, copy=False)  # (M, nc*L, V, C)
        x = _pad_persons(x, self.num_person)
        x = x.reshape(self.num_person, self.num_clips, self.clip_len, *x.shape[2:]).transpose(1, 0, 2, 3, 4)
        return {"keypoint": np.ascontiguousarray(x), "label": int(record["label"]), "frame_dir": record["frame_dir"]}

    def __call__(self, record: dict, rng: np.random.RandomState | None = None) -> dict:
        """``record -> {'keypoint': (num_clips, M, clip_len, V, C) float32, 'label', 'frame_dir'}``."""
        return self.draw(self.prepare(record), record, rng)


def _pad_persons(x: np.ndarray, num_person: int) -> np.ndarray:
    """Zero-pad or cut ``(M, ...)`` to ``num_person`` persons (pyskl's ``FormatGCNInput``)."""
    m = x.shape[0]
    if m < num_person:
        return np.concatenate([x, np.zeros((num_person - m,) + x.shape[1:], x.dtype)])
    return x[:num_person]


# ------------------------------------------------------------------------------------------------
# The NW-UCLA protocol (CTR-GCN's feeder_ucla.py)
# ------------------------------------------------------------------------------------------------


def ctrgcn_rotation(agx_deg: float, agy_deg: float) -> np.ndarray:
    """The ``(3, 3)`` matrix ``Ry @ Rx`` that row-vector points are multiplied by (``X @ Ry @ Rx``).

    ``Rx = [[1, 0, 0], [0, c, s], [0, -s, c]]`` (angle ``agx``), ``Ry = [[c, 0, -s], [0, 1, 0], [s, 0, c]]``
    (angle ``agy``), as CTR-GCN's ``rand_view_transform`` builds them.
    """
    ax, ay = np.deg2rad(agx_deg), np.deg2rad(agy_deg)
    rx = np.array([[1.0, 0.0, 0.0], [0.0, np.cos(ax), np.sin(ax)], [0.0, -np.sin(ax), np.cos(ax)]])
    ry = np.array([[np.cos(ay), 0.0, -np.sin(ay)], [0.0, 1.0, 0.0], [np.sin(ay), 0.0, np.cos(ay)]])
    return ry @ rx


def minmax_to_unit(points: np.ndarray) -> np.ndarray:
    """Each axis of ``(..., C)`` points mapped from its [min, max] over the clip to [-1, 1]; an axis
    with no extent (one point, or all equal) becomes 0 (CTR-GCN would divide by zero there)."""
    flat = points.reshape(-1, points.shape[-1])
    low, high = flat.min(0), flat.max(0)
    extent = high - low
    safe = np.where(extent > 0, extent, 1.0)
    return np.where(extent > 0, (points - low) / safe * 2 - 1, 0.0)


class CTRGCNPipeline:
    """NW-UCLA's published protocol: ``record -> {'keypoint': (1, M, clip_len, V, 3) float32, 'label', 'frame_dir'}``.

    Per clip (CTR-GCN ``feeder_ucla.py``; the same transform in InfoGCN, HD-GCN, FR-Head, BlockGCN):

    1. subtract the spine joint (``Spine`` of the ``ucla`` layout; the centre joint of other layouts)
       of frame 0;
    2. training only: rotate by ``X @ Ry @ Rx`` with integer angles drawn uniformly in
       ``[-rotate_deg, rotate_deg]`` about x and about y (:func:`ctrgcn_rotation`);
    3. min-max normalise each axis over all frames and joints to [-1, 1] (:func:`minmax_to_unit`);
    4. frames: training draws ``clip_len`` indices without replacement from a pool that holds every
       index 100 times, sorted; testing takes ``linspace(0, T - 1, clip_len)`` truncated to integers;
    5. features after sampling: bones ``joint - parent`` (the layout's bone pairs), motion the forward
       difference between *sampled* frames with the last one 0 (pyskl differences the original frames).

    The published training step also scales by ``s ~ U(0.5, 1.5)``: the per-axis min-max of step 3
    removes any uniform scale and any translation, so it is left out here (steps 1 and the scale
    change nothing but rounding; the tests check it). One clip per sample in every mode; a record
    with several persons is normalised over the persons present, padded or cut to ``num_person``.
    """

    def __init__(
        self,
        feat: str = "j",
        split: str = "train",
        layout: str | Layout = "ucla",
        clip_len: int = 52,
        num_person: int = 1,
        rotate_deg: int = 60,
    ) -> None:
        _check_settings(feat, split, clip_len)
        self.feat, self.split, self.clip_len, self.num_person = feat, split, clip_len, num_person
        self.layout = get_layout(layout)
        self.num_clips = 1
        self.rotate_deg = int(rotate_deg)
        self.test_mode = split != "train"
        self.centre = self.layout.index("Spine") if self.layout.name == "ucla" else self.layout.center
        self._parent = bone_parents(self.layout)

    def __repr__(self) -> str:
        return (
            f"CTRGCNPipeline(feat={self.feat!r}, split={self.split!r}, layout={self.layout.name!r}, "
            f"clip_len={self.clip_len}, rotate_deg={self.rotate_deg})"
        )

    def frame_indices(self, num_frames: int, rng: np.random.RandomState | None = None) -> np.ndarray:
        """The ``clip_len`` sampled frame indices (step 4)."""
        if num_frames < 1:
            raise ValueError(f"cannot sample from {num_frames} frames")
        if self.test_mode:
            return np.linspace(0, num_frames - 1, self.clip_len).astype(np.int64)
        rng = rng if rng is not None else np.random.RandomState()
        pool = rng.choice(num_frames * 100, self.clip_len, replace=False)  # position p of the pool holds frame p % T
        return np.sort(pool % num_frames)

    def normalise(self, kp: np.ndarray, rng: np.random.RandomState | None = None) -> np.ndarray:
        """Steps 1-3 on ``(M, T, V, 3)`` keypoints (float64); persons that are all zero stay zero."""
        present = np.abs(kp).reshape(kp.shape[0], -1).max(1) > 0
        out = np.zeros(kp.shape, np.float64)
        if not present.any():
            return out
        x = kp[present].astype(np.float64) - kp[present][0, 0, self.centre].astype(np.float64)
        if not self.test_mode and self.rotate_deg:
            rng = rng if rng is not None else np.random.RandomState()
            agx, agy = rng.randint(-self.rotate_deg, self.rotate_deg + 1, size=2)
            x = x @ ctrgcn_rotation(agx, agy)
        out[present] = minmax_to_unit(x)
        return out

    def features(self, x: np.ndarray) -> np.ndarray:
        """Step 5 on sampled, normalised ``(M, clip_len, V, 3)`` joints."""
        if self.feat in ("b", "bm"):
            x = x - x[:, :, self._parent]
        if self.feat in ("jm", "bm"):
            motion = np.zeros_like(x)
            motion[:, :-1] = np.diff(x, axis=1)  # the step to the next *sampled* frame
            x = motion
        return x

    @property
    def prepares_work(self) -> bool:
        """Whether :meth:`prepare` does work worth keeping: in test mode it normalises (training rotates first)."""
        return self.test_mode

    def prepare(self, record: dict) -> np.ndarray:
        """The part that draws nothing: the record checked, and in test mode normalised (steps 1-3)."""
        check_pipeline_input(record, self.layout.num_joints)  # NaN, inf, dtype, joints: aagcn_lab.data.validate
        name = record.get("frame_dir", "?")
        if "keypoint_score" in record or record["keypoint"].shape[-1] != 3:
            raise InputError(f"sample {name}: the ctrgcn protocol needs 3D keypoints (x, y, z), got C = {record['keypoint'].shape[-1]}")
        kp = np.asarray(record["keypoint"])
        if not kp.any():
            raise InputError(f"sample {name}: every joint of every frame is zero")
        return self.normalise(kp) if self.test_mode else kp

    def draw(self, prepared: np.ndarray, record: dict, rng: np.random.RandomState | None = None) -> dict:
        """The sample from :meth:`prepare`'s output: the rotation and normalisation (training), frames, features."""
        x = prepared
        if not self.test_mode:
            rng = rng if rng is not None else np.random.RandomState()
            x = self.normalise(x, rng)
        x = self.features(x[:, self.frame_indices(x.shape[1], rng)])
        x = _pad_persons(x.astype(np.float32), self.num_person)
        return {"keypoint": np.ascontiguousarray(x[None]), "label": int(record["label"]), "frame_dir": record["frame_dir"]}

    def __call__(self, record: dict, rng: np.random.RandomState | None = None) -> dict:
        """``record -> {'keypoint': (1, M, clip_len, V, 3) float32, 'label', 'frame_dir'}``."""
        return self.draw(self.prepare(record), record, rng)


def build_pipeline(
    feat: str,
    split: str,
    layout: str | Layout = "nturgb+d",
    clip_len: int = 100,
    num_clips: int | None = None,
    num_person: int = PERSON_SLOTS,
    augment: Augment | None = None,
    protocol: str = "pyskl",
) -> Pipeline | CTRGCNPipeline:
    """The pipeline for ``feat`` in j/b/jm/bm and ``split`` in train/val/test under ``protocol``.

    ``pyskl`` (default): pyskl's AAGCN pipeline; ``num_clips`` defaults to 1 for train and val, 10 for
    test (pyskl's test protocol). ``ctrgcn``: NW-UCLA's published protocol (:class:`CTRGCNPipeline`),
    always one clip; ``augment`` does not apply to it (its rotation is part of the protocol).
    """
    if protocol == "pyskl":
        return Pipeline(feat, split, layout, clip_len, num_clips, num_person, augment)
    if protocol == "ctrgcn":
        if augment is not None and augment.active:
            raise ValueError("augment applies to the pyskl protocol; the ctrgcn protocol rotates by itself (rotate_deg)")
        return CTRGCNPipeline(feat, split, layout, clip_len, num_person)
    raise ValueError(f"unknown protocol {protocol!r}; choose one of {', '.join(PROTOCOLS)}")
