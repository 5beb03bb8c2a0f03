"""pyskl's skeleton transforms, transcribed one to one (the oracle).

Each class here does what the pyskl transform of the same name does, step by step, on one
sample dict, in numpy. It is deliberately plain and slow: :mod:`aagcn_lab.data.pipeline` is the
fast implementation used for training and testing, and the tests check that it reproduces this
oracle (and pyskl's own outputs) exactly. The only deliberate departure from pyskl: the test-mode
sampler draws from its own ``RandomState(255)`` instead of reseeding numpy's global RNG -- the
same stream, without the side effect.
"""

from __future__ import annotations

import math

import numpy as np

from ..graph import get_layout

__all__ = [
    "PreNormalize3D",
    "PreNormalize2D",
    "GenSkeFeat",
    "UniformSample",
    "PoseDecode",
    "FormatGCNInput",
    "reference_pipeline",
]


def _unit_vector(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def angle_between(v1: np.ndarray, v2: np.ndarray) -> float:
    """Angle in radians between two vectors (0 when either is degenerate)."""
    if np.abs(v1).sum() < 1e-6 or np.abs(v2).sum() < 1e-6:
        return 0.0
    return float(np.arccos(np.clip(np.dot(_unit_vector(v1), _unit_vector(v2)), -1.0, 1.0)))


def rotation_matrix(axis: np.ndarray, theta: float) -> np.ndarray:
    """Rotation about ``axis`` by ``theta`` (Euler-Rodrigues); identity for a degenerate axis."""
    if np.abs(axis).sum() < 1e-6 or np.abs(theta) < 1e-6:
        return np.eye(3)
    axis = np.asarray(axis)
    axis = axis / math.sqrt(np.dot(axis, axis))
    a = math.cos(theta / 2.0)
    b, c, d = -axis * math.sin(theta / 2.0)
    aa, bb, cc, dd = a * a, b * b, c * c, d * d
    bc, ad, ac, ab, bd, cd = b * c, a * d, a * c, a * b, b * d, c * d
    return np.array(
        [
            [aa + bb - cc - dd, 2 * (bc + ad), 2 * (bd - ac)],
            [2 * (bc - ad), aa + cc - bb - dd, 2 * (cd + ab)],
            [2 * (bd + ac), 2 * (cd - ab), aa + dd - bb - cc],
        ]
    )


class PreNormalize3D:
    """Drop frames without the main person, centre on frame 0's SpineMid, align spine to z and shoulders to x."""

    def __init__(self, zaxis=(0, 1), xaxis=(8, 4), align_spine: bool = True, align_center: bool = True) -> None:
        self.zaxis, self.xaxis = list(zaxis), list(xaxis)
        self.align_spine, self.align_center = align_spine, align_center

    def __call__(self, results: dict) -> dict:
        skeleton = results["keypoint"]
        total_frames = results.get("total_frames", skeleton.shape[1])
        m, t, v, c = skeleton.shape
        assert t == total_frames
        if skeleton.sum() == 0:
            return results
        index0 = [i for i in range(t) if not np.all(np.isclose(skeleton[0, i], 0))]
        assert m in (1, 2)
        if m == 2:
            index1 = [i for i in range(t) if not np.all(np.isclose(skeleton[1, i], 0))]
            if len(index0) < len(index1):
                skeleton = skeleton[:, np.array(index1)]
                skeleton = skeleton[[1, 0]]
            else:
                skeleton = skeleton[:, np.array(index0)]
        else:
            skeleton = skeleton[:, np.array(index0)]
        t_new = skeleton.shape[1]
        if self.align_center:
            center = skeleton[0, 0, 1].copy() if skeleton.shape[2] == 25 else skeleton[0, 0, -1].copy()
            mask = ((skeleton != 0).sum(-1) > 0)[..., None]
            skeleton = (skeleton - center) * mask
        if self.align_spine:
            bottom, top = skeleton[0, 0, self.zaxis[0]], skeleton[0, 0, self.zaxis[1]]
            axis = np.cross(top - bottom, [0, 0, 1])
            angle = angle_between(top - bottom, [0, 0, 1])
            skeleton = np.einsum("abcd,kd->abck", skeleton, rotation_matrix(axis, angle))
            right, left = skeleton[0, 0, self.xaxis[0]], skeleton[0, 0, self.xaxis[1]]
            axis = np.cross(right - left, [1, 0, 0])
            angle = angle_between(right - left, [1, 0, 0])
            skeleton = np.einsum("abcd,kd->abck", skeleton, rotation_matrix(axis, angle))
        results["keypoint"] = skeleton
        results["total_frames"] = t_new
        return results


class PreNormalize2D:
    """Map pixel x, y to [-1, 1] with the image size; zero x, y where the score is at most ``threshold``."""

    def __init__(self, img_shape=(1080, 1920), threshold: float = 0.01) -> None:
        self.img_shape, self.threshold = img_shape, threshold

    def __call__(self, results: dict) -> dict:
        h, w = results.get("img_shape", self.img_shape)
        keypoint = results["keypoint"].astype(np.float32)
        score = results.pop("keypoint_score").astype(np.float32)
        keypoint = np.concatenate([keypoint, score[..., None]], axis=-1)
        keypoint[..., 0] = (keypoint[..., 0] - (w / 2)) / (w / 2)
        keypoint[..., 1] = (keypoint[..., 1] - (h / 2)) / (h / 2)
        low = keypoint[..., 2] <= self.threshold
        keypoint[low, :2] = 0
        results["keypoint"] = keypoint
        return results


class GenSkeFeat:
    """Joints, bones, joint motion or bone motion, computed on all frames (before sampling)."""

    def __init__(self, dataset: str = "nturgb+d", feats=("j",)) -> None:
        self.layout = get_layout(dataset)
        self.dataset = dataset
        self.feats = list(feats)
        self.with_score = dataset != "nturgb+d" and not dataset.startswith("nturgb+d")

    def _bone(self, kp: np.ndarray) -> np.ndarray:
        bone = np.zeros(kp.shape, dtype=np.float32)
        for v1, v2 in self.layout.bone_pairs:
            bone[..., v1, :] = kp[..., v1, :] - kp[..., v2, :]
            if kp.shape[-1] == 3 and self.with_score:
                bone[..., v1, 2] = (kp[..., v1, 2] + kp[..., v2, 2]) / 2
        return bone

    def _motion(self, data: np.ndarray) -> np.ndarray:
        t = data.shape[1]
        motion = np.zeros_like(data)
        motion[:, : t - 1] = np.diff(data, axis=1)
        if data.shape[-1] == 3 and self.with_score:
            motion[:, : t - 1, :, 2] = (data[:, : t - 1, :, 2] + data[:, 1:, :, 2]) / 2
        return motion

    def __call__(self, results: dict) -> dict:
        j = results.pop("keypoint")
        feats = {"j": j}
        if "b" in self.feats or "bm" in self.feats:
            feats["b"] = self._bone(j)
        if "jm" in self.feats:
            feats["jm"] = self._motion(j)
        if "bm" in self.feats:
            feats["bm"] = self._motion(feats["b"])
        results["keypoint"] = np.concatenate([feats[f] for f in self.feats], axis=-1)
        return results


class UniformSample:
    """Uniform temporal sampling (pyskl ``UniformSampleFrames``), looping short videos."""

    def __init__(self, clip_len: int = 100, num_clips: int = 1, test_mode: bool = False, seed: int = 255) -> None:
        self.clip_len, self.num_clips, self.test_mode, self.seed = clip_len, num_clips, test_mode, seed

    def _clip(self, rng: np.random.RandomState, num_frames: int, i: int) -> np.ndarray:
        clip_len = self.clip_len
        old = num_frames
        ratio = rng.rand() * (1 - 1) + 1  # p_interval = (1, 1): the draw still happens
        num_frames = int(ratio * num_frames)
        off = rng.randint(old - num_frames + 1)
        if num_frames < clip_len:
            if self.test_mode:
                start = i if num_frames < self.num_clips else i * num_frames // self.num_clips
            else:
                start = rng.randint(0, num_frames)
            inds = np.arange(start, start + clip_len)
        elif clip_len <= num_frames < 2 * clip_len:
            basic = np.arange(clip_len)
            skip = rng.choice(clip_len + 1, num_frames - clip_len, replace=False)
            offset = np.zeros(clip_len + 1, dtype=np.int64)
            offset[skip] = 1
            inds = basic + np.cumsum(offset)[:-1]
        else:
            bids = np.array([k * num_frames // clip_len for k in range(clip_len + 1)])
            inds = bids[:clip_len] + rng.randint(np.diff(bids))
        return inds + off

    def __call__(self, results: dict, rng: np.random.RandomState | None = None) -> dict:
        num_frames = results["total_frames"]
        if self.test_mode:
            rng = np.random.RandomState(self.seed)
        elif rng is None:
            rng = np.random.mtrand._rand  # pyskl draws training clips from numpy's global RNG
        inds = np.concatenate([self._clip(rng, num_frames, i) for i in range(self.num_clips)])
        results["frame_inds"] = np.mod(inds, num_frames) + results.get("start_index", 0)
        results["clip_len"], results["num_clips"] = self.clip_len, self.num_clips
        return results


class PoseDecode:
    """Gather the sampled frames (as float32)."""

    def __call__(self, results: dict) -> dict:
        inds = results["frame_inds"]
        results["keypoint"] = results["keypoint"][:, inds].astype(np.float32)
        if "keypoint_score" in results:
            results["keypoint_score"] = results["keypoint_score"][:, inds].astype(np.float32)
        return results


class FormatGCNInput:
    """Zero-pad or cut persons to ``num_person``; reshape to ``(num_clips, M, clip_len, V, C)``."""

    def __init__(self, num_person: int = 2) -> None:
        self.num_person = num_person

    def __call__(self, results: dict) -> dict:
        kp = results["keypoint"]
        if "keypoint_score" in results:
            kp = np.concatenate((kp, results["keypoint_score"][..., None]), axis=-1)
        if kp.shape[0] < self.num_person:
            pad = np.zeros((self.num_person - kp.shape[0],) + kp.shape[1:], dtype=kp.dtype)
            kp = np.concatenate((kp, pad), axis=0)
        elif kp.shape[0] > self.num_person:
            kp = kp[: self.num_person]
        m, t, v, c = kp.shape
        nc = results.get("num_clips", 1)
        assert t % nc == 0
        results["keypoint"] = np.ascontiguousarray(kp.reshape((m, nc, t // nc, v, c)).transpose(1, 0, 2, 3, 4))
        return results


def reference_pipeline(
    feat: str, split: str, layout: str = "nturgb+d", clip_len: int = 100, num_clips: int | None = None
):
    """The pyskl AAGCN pipeline for one feature and split, as a chain of the transforms above."""
    dim2 = layout != "nturgb+d" and not layout.startswith("nturgb+d")
    nc = num_clips if num_clips is not None else (10 if split == "test" else 1)
    steps = [
        PreNormalize2D() if dim2 else PreNormalize3D(),
        GenSkeFeat(layout, [feat]),
        UniformSample(clip_len, nc, test_mode=split != "train"),
        PoseDecode(),
        FormatGCNInput(2),
    ]

    def run(record: dict, rng: np.random.RandomState | None = None) -> dict:
        results = dict(record, start_index=0)
        for step in steps:
            results = step(results, rng) if isinstance(step, UniformSample) else step(results)
        return results

    return run
