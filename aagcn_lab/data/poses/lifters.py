"""2D-to-3D lifters' and their detectors' ``.npz`` files.

``detectron2``: VideoPose3D ``infer_video_d2.py`` (Detectron2 keypoint R-CNN, COCO-17, ``keypoints``
+ ``boxes``, image size in ``metadata``); ``videopose3d-2d``: VideoPose3D
``prepare_data_2d_custom.py`` (``positions_2d``: ``{video: {camera: [(T, 17, 2|3), ...]}}``, one
video per entry); ``mhformer``: a lifter ``.npz`` with ``reconstruction`` in Human3.6M order, 2D
input ``(M, T, 17, 2)`` or 3D output ``(T, 17, 3)`` (MHFormer, AutoDance). Files that hold Python
objects are unpickled with the restricted unpickler of :mod:`aagcn_lab.io`: plain data only,
nothing from the file runs.
"""

from __future__ import annotations

import io
import math
import os
import zipfile
from pathlib import Path

import numpy as np

from ...io import RestrictedUnpickler, UnsafeFileError
from .arrays import add_array
from .frames import PoseBuilder, PoseFormatError, PoseFrames

__all__ = ["load_npz", "read_mhformer", "read_videopose3d_2d", "read_detectron2", "NPZ_KEYS"]

# the keys that say which tool wrote an .npz (all of them present)
NPZ_KEYS: dict[str, tuple[str, ...]] = {
    "videopose3d-2d": ("positions_2d",),
    "detectron2": ("keypoints", "boxes"),
    "mhformer": ("reconstruction",),
}


def _npy_member(f, source: str):
    """One ``.npy`` member of an ``.npz``; an object array through the restricted unpickler."""
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
    else:
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
    if dtype.hasobject:
        return RestrictedUnpickler(f, source).load()
    data = np.frombuffer(f.read(), dtype=dtype, count=int(np.prod(shape)) if shape else 1)
    return data.reshape(shape, order="F" if fortran else "C").copy()


def load_npz(path: str | os.PathLike) -> dict:
    """Every array of an ``.npz``; Python objects only through the restricted unpickler (no code runs)."""
    path = Path(path)
    out = {}
    try:
        with zipfile.ZipFile(path) as z:
            for name in z.namelist():
                key = name[:-4] if name.endswith(".npy") else name
                with z.open(name) as f:
                    out[key] = _npy_member(io.BufferedReader(f), f"{path}:{key}")
    except UnsafeFileError as e:  # a ValueError like every other bad input, so that callers report it plainly
        raise PoseFormatError(str(e)) from e
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as e:
        raise PoseFormatError(f"{path}: not a readable .npz: {e}") from e
    return out


def _as_item(x):
    """A 0-d object array's content (``np.savez`` wraps dicts that way)."""
    if isinstance(x, np.ndarray) and x.dtype == object and x.shape == ():
        return x.item()
    return x



def _floats(x, path, key: str) -> np.ndarray:
    """``x`` as a float32 array; an object array of arrays of different shapes (people of different lengths) is named."""
    parts = list(x) if isinstance(x, (list, tuple)) or (isinstance(x, np.ndarray) and x.dtype == object and x.ndim == 1) else None
    try:
        if parts is not None and parts and all(isinstance(p, np.ndarray) for p in parts):
            shapes = [p.shape for p in parts]
            if len(set(shapes)) > 1:
                lengths = " and ".join(str(s[0]) if s else "?" for s in shapes)
                raise PoseFormatError(
                    f"{path}: {key!r} holds {len(parts)} arrays of different shapes ({'; '.join(map(str, shapes))}): people "
                    f"of different lengths ({lengths} frames) do not make one array; save each person under its own key "
                    "or pad them to one length"
                )
            return np.stack(parts).astype(np.float32)
        arr = np.asarray(x, np.float32)
    except (ValueError, TypeError) as e:
        raise PoseFormatError(f"{path}: {key!r} is not a numeric array ({type(x).__name__}: {e})") from None
    return arr


def _meta_size(meta, path: Path) -> tuple[int, int] | None:
    """``(h, w)`` from a metadata dict with ``h`` and ``w`` (positive integers), else None."""
    if not isinstance(meta, dict) or "h" not in meta or "w" not in meta:
        return None
    h, w = meta["h"], meta["w"]
    whole = [isinstance(v, (int, float, np.number)) and not isinstance(v, (bool, np.bool_)) and math.isfinite(v) and float(v).is_integer() and v > 0 for v in (h, w)]
    if not all(whole):
        raise PoseFormatError(f"{path}: metadata gives the image size h = {h!r}, w = {w!r}: expected positive integers")
    return int(h), int(w)



def read_mhformer(path: str | os.PathLike) -> list[PoseFrames]:
    """A lifter's ``reconstruction`` in Human3.6M order: 2D ``(M, T, 17, 2)`` pixels or 3D ``(T, 17, 3)`` root-relative."""
    path = Path(path)
    d = load_npz(path)
    if "reconstruction" not in d:
        raise PoseFormatError(f"{path}: no 'reconstruction' array (keys: {sorted(d)})")
    rec = _floats(d["reconstruction"], path, "reconstruction")
    if not ((rec.ndim == 4 and rec.shape[-1] == 2) or (rec.ndim in (3, 4) and rec.shape[-1] == 3)):
        raise PoseFormatError(f"{path}: 'reconstruction' of shape {rec.shape}: expected (M, T, 17, 2) or (T, 17, 3)")
    b = PoseBuilder(path.stem, "mhformer", "h36m", has_score=False, source=path)  # no scores in either
    add_array(b, rec, path, None)
    return [b.done()]


def read_videopose3d_2d(path: str | os.PathLike) -> list[PoseFrames]:
    """VideoPose3D's ``positions_2d``: one :class:`PoseFrames` per video and camera (and array)."""
    path = Path(path)
    d = load_npz(path)
    fmt = "videopose3d-2d"
    pos = _as_item(d.get("positions_2d"))
    meta = _as_item(d.get("metadata"))
    meta = meta if isinstance(meta, dict) else {}
    if not isinstance(pos, dict) or not all(isinstance(c, dict) for c in pos.values()):
        raise PoseFormatError(
            f"{path}: 'positions_2d' is {type(pos).__name__ if not isinstance(pos, dict) else 'a dict of non-dicts'}; "
            "VideoPose3D's prepare_data_2d_custom writes {video: {camera: [(T, 17, 2|3) array, ...]}}"
        )
    layout_name = str(meta.get("layout_name", "coco"))
    if layout_name not in ("coco", "h36m"):
        raise PoseFormatError(f"{path}: positions_2d in layout {layout_name!r}: only coco and h36m are read")
    out = []
    for video, cams in pos.items():
        for cam, arrays in cams.items():
            arrays = list(arrays) if isinstance(arrays, (list, tuple)) or (isinstance(arrays, np.ndarray) and arrays.dtype == object) else [arrays]
            for k, arr in enumerate(arrays):
                name = Path(str(video)).stem + (f"_{cam}" if len(cams) > 1 else "") + (f"_{k}" if len(arrays) > 1 else "")
                a = _floats(arr, path, f"positions_2d[{video!r}][{cam!r}][{k}]")
                b = PoseBuilder(name, fmt, layout_name, has_score=a.shape[-1] == 3 if a.ndim else False, source=path)
                add_array(b, a, f"{path}: {video}", 2 if a.ndim and a.shape[-1] == 3 else None, coords=2)
                vmeta = meta.get("video_metadata")
                pf = b.done()
                pf.img_shape = _meta_size(vmeta.get(video) if isinstance(vmeta, dict) else None, path)
                out.append(pf)
    if not out:
        raise PoseFormatError(f"{path}: positions_2d holds no video")
    return out


def read_detectron2(path: str | os.PathLike) -> list[PoseFrames]:
    """VideoPose3D's ``infer_video_d2.py`` output: per frame, Detectron2's ``(N, 4, 17)`` keypoints (x, y, logit, score)."""
    path = Path(path)
    d = load_npz(path)
    fmt = "detectron2"
    kps = d.get("keypoints")
    meta = _as_item(d.get("metadata"))
    meta = meta if isinstance(meta, dict) else {}
    if not isinstance(kps, (list, tuple, np.ndarray)) or np.ndim(kps) == 0:
        raise PoseFormatError(f"{path}: 'keypoints' is {type(kps).__name__}, expected one entry per frame")
    b = PoseBuilder(path.name.split(".")[0], fmt, "coco", source=path)
    clipped = 0
    for t in range(len(kps)):
        b.frame(f"frame {t}")
        entry = kps[t]
        try:
            people = entry[1] if isinstance(entry, (list, tuple, np.ndarray)) and len(entry) > 1 else []
            people = np.asarray(people, np.float32) if np.size(people) else np.zeros((0, 4, 17), np.float32)
        except (ValueError, TypeError, IndexError) as e:
            b.fail_frame(f"keypoints are not a numeric array ({e})")
            continue
        if people.ndim != 3 or people.shape[1] != 4:
            b.fail_frame(f"keypoints of shape {people.shape}, expected (N, 4, 17)")
            continue
        for p in range(len(people)):
            s = people[p, 3]
            clipped += int((s > 1).sum())
            b.person(people[p, :2].T, np.clip(s, 0, 1), None, f", person {p}")
    pf = b.done()
    if clipped:
        pf.notes.append(f"{clipped} Detectron2 heatmap score(s) above 1 clipped to 1 (HRNet-style scores are in [0, 1])")
    pf.img_shape = _meta_size(meta, path)
    return [pf]
