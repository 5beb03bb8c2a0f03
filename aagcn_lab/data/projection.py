"""3D skeletons seen by a camera: the built-in data as 2D COCO-17 keypoints (for models of 2D estimators).

A model that serves OpenPose / COCO-17 input needs 2D training data. :func:`project_record` takes
a 3D NTU-layout record (Kinect camera space in metres: x grows to the sensor's left, y up, z
away from the sensor), maps its joints to COCO-17 and projects them through a pinhole camera to
pixels of a ``1920 x 1080`` image (``fx = fy = 1050``, Kinect v2's colour camera, principal point
at the image centre), as a pose estimator would see the same person. NTU has one head joint where
COCO has a nose, two eyes and two ears: those five are placed on the head from its orientation
(the shoulder line gives left-right, neck -> head gives up, their cross product forward), with
sizes of an average adult head. Scores, which a camera does not give, are drawn per joint and
frame in ``[0.6, 1.0]`` (absent joints: 0), so that channel 2 is not the constant 1 a model would
then rely on.

:func:`projected_annotations` writes the whole built-in dataset so (same splits and class names,
layout ``coco``) for training: ``aagcn-lab train --preset builtin_j --ann_file <that file>``.
"""

from __future__ import annotations

import os
import zlib
from pathlib import Path

import numpy as np

__all__ = ["CAMERA", "NTU_TO_COCO", "project_record", "projected_annotations", "write_example_frames"]

CAMERA = {"fx": 1050.0, "fy": 1050.0, "cx": 960.0, "cy": 540.0, "img_shape": (1080, 1920)}
# COCO-17 joint <- NTU-25 joint (0-based); nose, eyes and ears (0-4) come from the head (below)
NTU_TO_COCO = {5: 4, 6: 8, 7: 5, 8: 9, 9: 6, 10: 10, 11: 12, 12: 16, 13: 13, 14: 17, 15: 14, 16: 18}
_HEAD, _NECK, _SH_L, _SH_R = 3, 2, 4, 8
# head points in metres along (forward, up, left): nose, left eye, right eye, left ear, right ear
_FACE = {0: (0.09, -0.02, 0.0), 1: (0.07, 0.03, 0.033), 2: (0.07, 0.03, -0.033), 3: (0.0, 0.0, 0.075), 4: (0.0, 0.0, -0.075)}


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return np.where(n > 1e-9, v / np.where(n > 1e-9, n, 1), 0)


def project_record(rec: dict, seed: int = 0, camera: dict | None = None) -> dict:
    """A 3D NTU record -> a 2D COCO-17 record (pixels, scores, ``img_shape``), same id and label."""
    cam = camera or CAMERA
    kp = np.asarray(rec["keypoint"], np.float64)  # (M, T, 25, 3)
    if kp.shape[2] != 25 or kp.shape[3] != 3:
        raise ValueError(f"sample {rec.get('frame_dir')}: project_record takes 3D NTU-25 keypoints, got {kp.shape}")
    m, t = kp.shape[:2]
    coco = np.zeros((m, t, 17, 3))
    for c, n in NTU_TO_COCO.items():
        coco[:, :, c] = kp[:, :, n]
    head = kp[:, :, _HEAD]
    left = _unit(kp[:, :, _SH_L] - kp[:, :, _SH_R])
    up = _unit(head - kp[:, :, _NECK])
    forward = _unit(np.cross(left, up))
    for c, (f, u, lft) in _FACE.items():
        coco[:, :, c] = head + f * forward + u * up + lft * left
    present = (np.abs(kp) > 0).any(-1)  # (M, T, 25)
    ok = np.zeros((m, t, 17), bool)
    for c, n in NTU_TO_COCO.items():
        ok[:, :, c] = present[:, :, n]
    ok[:, :, :5] = (present[:, :, [_HEAD, _NECK, _SH_L, _SH_R]].all(-1))[..., None]
    z = np.where(coco[..., 2] > 0.1, coco[..., 2], np.inf)  # behind or at the camera: not visible
    ok &= np.isfinite(z)
    u = cam["cx"] - cam["fx"] * coco[..., 0] / z  # Kinect's x grows to the sensor's left: image left is -x
    v = cam["cy"] - cam["fy"] * coco[..., 1] / z  # image rows grow downwards
    xy = np.stack([u, v], -1) * ok[..., None]
    rng = np.random.default_rng([seed, zlib.crc32(str(rec.get("frame_dir")).encode())])
    score = rng.uniform(0.6, 1.0, ok.shape) * ok
    out = {k: v for k, v in rec.items() if k not in ("keypoint", "keypoint_score")}
    out.update(keypoint=xy.astype(np.float32), keypoint_score=score.astype(np.float32), img_shape=tuple(cam["img_shape"]),
               original_shape=tuple(cam["img_shape"]))  # fmt: skip
    return out


def projected_annotations(path: str | os.PathLike | None = None, seed: int = 0, overwrite: bool = False) -> Path:
    """The built-in dataset projected to 2D COCO-17 (cached beside the built-in file); its path."""
    from .records import load_annotations, save_annotations
    from .synthetic import builtin_annotations

    src = builtin_annotations()
    path = Path(path) if path is not None else src.with_name(src.stem + f"_coco2d_s{seed}.pkl")
    if path.exists() and not overwrite:
        return path
    ann = load_annotations(src)
    records = [project_record(r, seed) for r in ann.annotations]
    return save_annotations(path, records, ann.split, label_names=ann.label_names, layout="coco")


def write_example_frames(folder: str | os.PathLike, split: str = "xsub_val", index: int = 0, seed: int = 0) -> tuple[Path, str]:
    """One built-in test clip as a 2D estimator writes it: a folder of per-frame COCO-17 JSON lists
    (``[{"keypoints": [[x, y], ...], "keypoint_scores": [...]}, ...]``, people in shuffled order).
    Returns the folder and the clip's true class name."""
    import json

    from .records import load_annotations

    ann = load_annotations(projected_annotations(seed=seed))
    ids = ann.split[split]
    rec = next(r for r in ann.annotations if r["frame_dir"] == ids[index % len(ids)])
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for t in range(rec["keypoint"].shape[1]):
        people = [
            {"keypoints": rec["keypoint"][m, t].round(2).tolist(), "keypoint_scores": rec["keypoint_score"][m, t].round(3).tolist()}
            for m in rng.permutation(rec["keypoint"].shape[0])
            if rec["keypoint_score"][m, t].any()
        ]
        (folder / f"frame_{t:06d}.json").write_text(json.dumps(people))
    names = ann.label_names or []
    return folder, names[rec["label"]] if rec["label"] < len(names) else str(rec["label"])
