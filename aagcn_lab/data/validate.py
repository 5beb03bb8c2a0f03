"""The one validation layer: what every reader, converter, pipeline and entry point checks.

Every rule lives here once, and every place that takes user data calls it: the readers
(``.skeleton``, Kinetics JSON, dense arrays) and converters check each record before they keep it
(so a converter never writes a record that ``convert check`` would reject), ``load_annotations``
and ``convert check`` check every record of a file, ``build_pipeline(...)(record)`` runs the cheap
structural checks once per record, ``predict`` checks its inputs against each model, fusion checks
score rows and weights, and the command line checks options and output paths before any work
starts. A violation raises :class:`InputError` (or a subclass: ``AnnotationError``,
``SkeletonFileError``, ``KineticsFileError``, ``CorruptFileError``, ``CheckpointError``,
``FusionError``, ...), whose message names the file, sample or option and what is wrong.

The rules (README, "Validation rules", has the same table):

* coordinates are finite and ``|x| <= COORD_LIMIT`` (1e5: no skeleton unit gives more); a record
  stored as float16 holds nothing beyond ``FLOAT16_MAX`` (65504), checked after every cast, and
  nothing beyond half of it, so that the differences the pipeline takes stay finite;
* 2D coordinates lie within one frame size around the image, ``-1 <= x / w <= 2`` (``img_shape``
  ``(h, w)``; ``(1, 1)`` means fractions of the frame, so pixels there are an error); the readers
  apply the same rules one person-frame at a time (:func:`person_frame_problems`), so that one
  garbled detection is left out and named while the rest of the video is kept;
* detection scores are finite and within ``[0, SCORE_MAX]`` (1.25: OpenPose heatmap peaks exceed
  1 a little); percent scores (up to 100) are an error that says so;
* ``label`` is an integer ``>= 0``, below the number of classes; a file without class names may
  not use labels ``>= MAX_UNNAMED_CLASSES`` (1000), so one stray label cannot build a huge model;
* one file holds one kind of record: the same joint count and channel count (2D or 3D) throughout;
* sizes read from a file are bounded by what the file can hold (a header's frame count, frame indices).
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from ..graph import LAYOUTS, Layout
from ..io import InputError

__all__ = [
    "InputError",
    "FLOAT16_MAX",
    "COORD_LIMIT",
    "SCORE_MAX",
    "MAX_UNNAMED_CLASSES",
    "is_int",
    "record_problems",
    "person_frame_problems",
    "coordinate_range_problems",
    "typical_body_size",
    "MOSTLY_OUTSIDE",
    "SPREAD_LIMIT",
    "check_record",
    "check_pipeline_input",
    "to_storage",
    "frame_span_limit",
    "layout_dim",
    "record_dim",
    "check_probabilities",
    "check_weights",
    "check_unique",
    "check_number",
    "check_int",
    "check_choice",
    "check_output_path",
    "resolve_device",
]

FLOAT16_MAX = float(np.finfo(np.float16).max)  # 65504: the storage dtype of NTU annotation files
COORD_LIMIT = 1e5  # |coordinate| above this is no unit a skeleton is written in (metres, mm, pixels)
SCORE_MAX = 1.25  # detection scores are confidences in [0, 1]; heatmap peaks reach ~1.2 (Kinetics)
MAX_UNNAMED_CLASSES = 1000  # without class names, a label this large is a typo, not a class
SPREAD_LIMIT = 20.0  # a joint this many typical body sizes from its own body's centre is a garbled value (3D: no image)
MOSTLY_OUTSIDE = 0.5  # more than this share of a video's detections far outside the image: wrong units, not garbled values


def is_int(x: object) -> bool:
    """An integer (Python or numpy), not a bool."""
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def layout_dim(layout: object) -> int | None:
    """The layout's dimension (:attr:`~aagcn_lab.graph.Layout.dim`: 2 for COCO and OpenPose, 3 for NTU and
    NW-UCLA), for a layout or a built-in name; None when either, or for a name that is no built-in layout."""
    if isinstance(layout, Layout):
        return layout.dim
    return LAYOUTS[layout].dim if layout in LAYOUTS else None


def record_dim(rec: Mapping) -> int:
    """2 for a record with ``keypoint_score`` (x, y + score), else 3 (x, y, z)."""
    return 2 if "keypoint_score" in rec else 3


# ------------------------------------------------------------------------------------------------
# Records
# ------------------------------------------------------------------------------------------------


def _value_problems(kp: np.ndarray, what: str) -> list[str]:
    """Non-finite and out-of-range values of a float array, as sentences."""
    finite = np.isfinite(kp)
    if not finite.all():
        return [f"{what} has {int((~finite).sum())} NaN/inf values"]
    big = float(np.abs(kp).max()) if kp.size else 0.0
    if big > COORD_LIMIT:
        return [f"{what} has values up to {big:.4g}, beyond {COORD_LIMIT:g} (wrong units?)"]
    if kp.dtype == np.float16 and big > FLOAT16_MAX / 2:  # centring, bones and motion are differences
        return [
            f"{what} is float16 with values up to {big:.6g}: differences of such values overflow float16 "
            f"(limit {FLOAT16_MAX / 2:g}; store float32 or use smaller units)"
        ]
    return []


def _score_problems(score: np.ndarray) -> list[str]:
    if score.dtype.kind != "f":
        return [f"keypoint_score has dtype {score.dtype}; expected float"]
    finite = np.isfinite(score)
    if not finite.all():
        return [f"keypoint_score has {int((~finite).sum())} NaN/inf values"]
    if not score.size:
        return []
    lo, hi = float(score.min()), float(score.max())
    if lo < 0:
        return [f"keypoint_score has negative values (min {lo:.4g}); scores are confidences in [0, 1]"]
    if hi > SCORE_MAX:
        hint = "; scores in percent? divide them by 100" if hi > 10 and hi <= 100 else "; raw heatmap values? bring them to [0, 1]"
        return [f"keypoint_score has values up to {hi:.4g}; scores are confidences in [0, 1]{hint}"]
    return []


def coordinate_range_problems(kp: np.ndarray, img_shape: tuple[int, int]) -> list[str]:
    """2D x, y must lie within one frame size around the image (pixels in a 0..1 file, etc.); a whole video's sentence.

    A reader that finds more than :data:`MOSTLY_OUTSIDE` of a video's detections outside refuses the
    video with this sentence (wrong units or image size) instead of leaving the detections out one by one.
    """
    h, w = (float(s) for s in img_shape)
    problems = []
    for axis, size, name in ((0, w, "x"), (1, h, "y")):
        c = kp[..., axis]
        lo, hi = float(c.min()), float(c.max())
        if lo < -size or hi > 2 * size:
            unit = "fractions of the frame (0..1)" if size == 1 else f"pixels of a {w:g} x {h:g} image"
            problems.append(
                f"2D {name} ranges over {lo:.4g}..{hi:.4g}, far outside img_shape {tuple(img_shape)} "
                f"({name} should be {unit}): wrong units or wrong img_shape?"
            )
    return problems


def _image_words(img_shape: tuple[int, int]) -> str:
    h, w = (float(s) for s in img_shape)
    return "the frame (x, y are fractions of it)" if (h, w) == (1.0, 1.0) else f"the {w:g}x{h:g} image"


def _spread(kp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per joint of ``kp (..., V, C)``, its distance from the median of its detection's non-zero joints; and the mask of those."""
    there = (kp != 0).any(-1) & np.isfinite(kp).all(-1)
    masked = np.where(there[..., None], kp, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a detection without joints: all-NaN slice
        centre = np.nanmedian(masked, axis=-2, keepdims=True)
    return np.where(there, np.linalg.norm(np.nan_to_num(masked - centre), axis=-1), 0.0), there


def typical_body_size(kp: np.ndarray) -> float | None:
    """The median over the detections of ``kp (..., V, C)`` of their largest joint distance from their centre (None: no body)."""
    kp = np.asarray(kp, dtype=np.float64)
    if kp.ndim < 2 or not kp.size:
        return None
    dist, there = _spread(kp)
    sizes = dist.max(-1)[there.sum(-1) >= 2]
    sizes = sizes[sizes > 0]
    return float(np.median(sizes)) if sizes.size else None


def person_frame_problems(
    kp: np.ndarray, img_shape: tuple[int, int] | None = None, score: np.ndarray | None = None, body_size: float | None = None
) -> dict[tuple[int, int], str]:
    """What is wrong with each person-frame ``(m, t)`` of ``kp (M, T, V, C)``; only the bad ones are keys.

    The value rules of :func:`record_problems`, one detection at a time: NaN/inf (in ``kp`` or in
    ``score (M, T, V)``), ``|value| > COORD_LIMIT``, and with ``img_shape`` ``(h, w)`` (2D) every x
    within ``-w..2w`` and y within ``-h..2h`` (one image size around the image, edges included;
    ``(1, 1)``: fractions of the frame, so ``-1..2``). In pixels (an image larger than 2 x 2), a
    detection whose non-zero coordinates all lie within ``[-1, 1]`` is fractions among pixels (a
    person smaller than a pixel). With ``body_size`` (the video's :func:`typical_body_size`; for 3D,
    which has no image), a joint farther than ``SPREAD_LIMIT`` (20) body sizes from its detection's
    centre (the median joint) is a garbled value. Readers leave such a detection out and name it.
    """
    kp = np.asarray(kp, dtype=np.float64)
    out: dict[tuple[int, int], str] = {}
    if kp.ndim != 4 or not kp.size:
        return out
    finite = np.isfinite(kp).all(-1)
    if score is not None:
        finite &= np.isfinite(np.asarray(score, dtype=np.float64))
    for m, t in np.argwhere(~finite.all(-1)):
        joints = np.flatnonzero(~finite[m, t])
        out[(int(m), int(t))] = f"NaN/inf in joint(s) {', '.join(map(str, joints[:8]))}"
    size = np.where(np.isfinite(kp), np.abs(kp), 0.0).max(-1)  # (M, T, V)
    for m, t in np.argwhere((size > COORD_LIMIT).any(-1)):
        if (int(m), int(t)) not in out:
            j = int(size[m, t].argmax())
            out[(int(m), int(t))] = f"joint {j} has a value of {size[m, t, j]:.6g}, beyond {COORD_LIMIT:g} (wrong units?)"
    if img_shape is not None and kp.shape[-1] == 2:
        h, w = (float(s) for s in img_shape)
        for axis, extent, name in ((0, w, "x"), (1, h, "y")):
            c = kp[..., axis]
            outside = (c < -extent) | (c > 2 * extent)  # NaN compares False: named above
            for m, t in np.argwhere(outside.any(-1)):
                if (int(m), int(t)) in out:
                    continue
                j = int(np.flatnonzero(outside[m, t])[0])
                out[(int(m), int(t))] = (
                    f"{name} = {c[m, t, j]:.6g} at joint {j} is far outside {_image_words(img_shape)} "
                    f"(allowed {-extent:g}..{2 * extent:g}: one image size around it)"
                )
        if h > 2 and w > 2:
            nonzero = (kp != 0).any(-1)  # (M, T, V): joints that are there
            small = np.where(nonzero[..., None], np.abs(kp), 0.0).max(axis=(-1, -2)) <= 1  # NaN: False
            for m, t in np.argwhere(small & nonzero.any(-1)):
                if (int(m), int(t)) not in out:
                    out[(int(m), int(t))] = (
                        f"every coordinate lies within [-1, 1] in pixels of {_image_words(img_shape)}: fractions of the "
                        "frame among pixel coordinates (wrong units?)"
                    )
    if body_size:
        dist, _ = _spread(kp)
        for m, t in np.argwhere((dist > SPREAD_LIMIT * body_size).any(-1)):
            if (int(m), int(t)) not in out:
                j = int(dist[m, t].argmax())
                out[(int(m), int(t))] = (
                    f"joint {j} lies {dist[m, t, j]:.4g} from its body's centre, over {SPREAD_LIMIT:g} times the video's "
                    f"typical body size ({body_size:.3g}): a garbled coordinate"
                )
    return out


def record_problems(
    rec: object,
    num_joints: int | None = None,
    num_classes: int | None = None,
    dim: int | None = None,
    check_label: bool = True,
) -> list[str]:
    """Everything wrong with one annotation record, as sentences (empty when it is valid).

    ``num_joints`` / ``num_classes`` / ``dim`` (2 or 3) are checked when given; without
    ``num_classes``, labels must stay below :data:`MAX_UNNAMED_CLASSES`. ``check_label=False``
    skips the label (inputs to ``predict`` have none).
    """
    if not isinstance(rec, dict):
        return [f"record is a {type(rec).__name__}, not a dict"]
    problems = []
    required = ("frame_dir", "total_frames", "keypoint") + (("label",) if check_label else ())
    missing = [k for k in required if k not in rec]
    if missing:
        hint = " (a kp-file annotation whose keypoints live elsewhere?)" if "keypoint" in missing and "frame_inds" in rec else ""
        problems.append(f"missing key(s) {', '.join(missing)}{hint}")
    fd = rec.get("frame_dir")
    if "frame_dir" in rec and (not isinstance(fd, str) or not fd):
        problems.append(f"frame_dir must be a non-empty string, got {fd!r}")
    label = rec.get("label")
    if check_label and "label" in rec:
        if not is_int(label):
            problems.append(f"label must be an integer, got {type(label).__name__} {label!r}")
        elif label < 0 or (num_classes is not None and label >= num_classes):
            rng = f"0..{num_classes - 1}" if num_classes is not None else ">= 0"
            problems.append(f"label {int(label)} out of range ({rng})")
        elif num_classes is None and label >= MAX_UNNAMED_CLASSES:
            problems.append(
                f"label {int(label)} is >= {MAX_UNNAMED_CLASSES} and the file has no class names: a typo? "
                "(add label_names to the file or pass num_classes)"
            )
    tf = rec.get("total_frames")
    if "total_frames" in rec and (not is_int(tf) or tf < 1):
        problems.append(f"total_frames must be a positive integer, got {tf!r}")
    kp = rec.get("keypoint")
    if "keypoint" not in rec:
        return problems
    if not isinstance(kp, np.ndarray):
        return problems + [f"keypoint must be a numpy array, got {type(kp).__name__}"]
    if kp.dtype.kind != "f":
        problems.append(f"keypoint has dtype {kp.dtype}; expected float16/32/64")
    if kp.ndim != 4:
        return problems + [f"keypoint must be (M, T, V, C), got shape {kp.shape}"]
    m, t, v, c = kp.shape
    if m < 1:
        problems.append("keypoint has zero bodies (M = 0)")
    if t < 1:
        problems.append("keypoint has zero frames (T = 0)")
    if is_int(tf) and tf != t:
        problems.append(f"total_frames = {tf} but keypoint has T = {t} frames")
    if num_joints is not None and v != num_joints:
        problems.append(f"keypoint has V = {v} joints; the layout has {num_joints}")
    if c not in (2, 3):
        problems.append(f"keypoint has C = {c} channels; expected 3 (x, y, z) or 2 (x, y) with keypoint_score")
    score = rec.get("keypoint_score")
    if c == 2 and score is None:
        problems.append("2D keypoint (C = 2) without keypoint_score")
    if c == 3 and score is not None:
        problems.append("keypoint_score given with 3-channel keypoints (3D data has no scores)")
    if dim is not None and c in (2, 3) and c != dim:
        problems.append(f"keypoint has C = {c} channels, but {dim}D data is expected here")
    if score is not None:
        if not isinstance(score, np.ndarray) or score.shape != kp.shape[:3]:
            shape = getattr(score, "shape", type(score).__name__)
            problems.append(f"keypoint_score must be (M, T, V) = {kp.shape[:3]}, got {shape}")
        else:
            problems += _score_problems(score)
    value_problems = _value_problems(kp, "keypoint") if kp.dtype.kind == "f" and kp.size else []
    problems += value_problems
    if kp.dtype.kind == "f" and kp.size and not value_problems and not kp.any():
        problems.append("keypoint is all zeros: no body in any frame")
    shp = rec.get("img_shape")
    if "img_shape" in rec:
        if not (isinstance(shp, (tuple, list)) and len(shp) == 2 and all(is_int(s) and s > 0 for s in shp)):
            problems.append(f"img_shape must be (height, width) positive integers, got {shp!r}")
        elif c == 2 and kp.size and kp.dtype.kind == "f" and not value_problems:
            problems += coordinate_range_problems(kp, shp)
    return problems


def check_record(rec: object, where: str = "", **rules) -> dict:
    """Raise :class:`InputError` listing :func:`record_problems` (``rules`` passed on); returns ``rec``."""
    problems = record_problems(rec, **rules)
    if problems:
        name = rec.get("frame_dir") if isinstance(rec, dict) else None
        head = where or (f"sample {name}" if isinstance(name, str) else "record")
        raise InputError(f"{head}: {'; '.join(problems)}")
    return rec  # type: ignore[return-value]


def check_pipeline_input(rec: object, num_joints: int) -> None:
    """The cheap per-record checks of the pipeline call: structure, joints, finite values (one pass).

    Records from :func:`~aagcn_lab.data.annotations.load_annotations` passed the full rules
    already; this guards ``build_pipeline(...)(record)`` against hand-made records (NaN, inf,
    object dtype, a wrong joint count, values beyond :data:`COORD_LIMIT`) without repeating the
    score and unit rules on the hot path.
    """
    if not isinstance(rec, dict):
        raise InputError(f"the pipeline takes an annotation record (a dict), got {type(rec).__name__}")
    kp = rec.get("keypoint")
    name = rec.get("frame_dir", "?")
    if not isinstance(kp, np.ndarray) or kp.dtype.kind != "f" or kp.ndim != 4:
        what = f"dtype {kp.dtype}, shape {kp.shape}" if isinstance(kp, np.ndarray) else type(kp).__name__
        raise InputError(f"sample {name}: keypoint must be a float array (M, T, V, C), got {what}")
    m, t, v, c = kp.shape
    if v != num_joints or c not in (2, 3) or m < 1 or t < 1:
        raise InputError(f"sample {name}: keypoint has shape {kp.shape}; the pipeline's layout has V = {num_joints} joints, C = 2 or 3")
    score = rec.get("keypoint_score")
    if (c == 2) != (score is not None):
        raise InputError(f"sample {name}: {'2D keypoint without' if c == 2 else '3-channel keypoint with'} keypoint_score")
    if score is not None and (not isinstance(score, np.ndarray) or score.shape != kp.shape[:3] or score.dtype.kind != "f"):
        raise InputError(f"sample {name}: keypoint_score must be a float array of shape {kp.shape[:3]}")
    if kp.dtype == np.float16:  # numpy's float16 maths is slow; NaN/inf are the all-ones exponent
        big = math.inf if ((kp.view(np.uint16) & 0x7C00) == 0x7C00).any() else FLOAT16_MAX
    else:
        big = float(np.abs(kp).max()) if kp.size else 0.0  # one pass: NaN and inf fail the comparison too
    if not big <= COORD_LIMIT:
        what = "NaN/inf values" if not math.isfinite(big) else f"values up to {big:.4g}, beyond {COORD_LIMIT:g} (wrong units?)"
        raise InputError(f"sample {name}: keypoint has {what}")
    if score is not None and not np.isfinite(score).all():
        raise InputError(f"sample {name}: keypoint_score has NaN/inf values")
    if not is_int(rec.get("label")):
        raise InputError(f"sample {name}: label must be an integer, got {rec.get('label')!r}")


def to_storage(values: np.ndarray, dtype: np.dtype | type, what: str) -> np.ndarray:
    """``values`` cast to the storage ``dtype``, refusing values the cast turns into inf."""
    with np.errstate(over="ignore", invalid="ignore"):
        out = np.asarray(values).astype(dtype)
    if out.dtype.kind == "f" and not np.isfinite(out).all():
        src = np.asarray(values, dtype=np.float64)
        lost = np.isfinite(src) & ~np.isfinite(out)
        if lost.any():
            big = float(np.abs(src[lost]).max())
            raise InputError(
                f"{what}: {int(lost.sum())} value(s) overflow {np.dtype(dtype).name} (largest |value| {big:.6g} > "
                f"{float(np.finfo(dtype).max):g}): wrong units?"
            )
        raise InputError(f"{what}: {int((~np.isfinite(src)).sum())} NaN/inf value(s)")
    return out


def frame_span_limit(frames_in_file: int) -> int:
    """The most time steps a file with ``frames_in_file`` frame entries may ask for (gaps stay empty).

    Twice the entries plus 300 (the authors' fixed Kinetics length): room for real gaps, while a
    garbled index (10^13) is refused instead of allocating petabytes.
    """
    return 2 * int(frames_in_file) + 300


# ------------------------------------------------------------------------------------------------
# Scores, fusion, options
# ------------------------------------------------------------------------------------------------


def check_probabilities(probs: np.ndarray, ids: Sequence[str], what: str) -> np.ndarray:
    """Score rows must be finite; the message names the samples whose rows are not."""
    probs = np.asarray(probs)
    if probs.dtype.kind not in "fiu":
        raise InputError(f"{what}: scores have dtype {probs.dtype}; expected numbers")
    if probs.ndim == 2 and probs.size and not np.isfinite(probs).all():
        rows = np.flatnonzero(~np.isfinite(probs).all(axis=1))
        names = ", ".join(str(ids[i]) if i < len(ids) else f"#{i}" for i in rows[:8])
        raise InputError(f"{what}: {len(rows)} sample(s) have NaN/inf scores ({names}{' ...' if len(rows) > 8 else ''})")
    return probs


def check_weights(weights: Mapping[str, float], what: str = "fusion weights") -> dict[str, float]:
    """Stream weights must be finite, >= 0, and not all zero."""
    out = {}
    for name, w in weights.items():
        try:
            value = float(w)
        except (TypeError, ValueError):
            raise InputError(f"{what}: weight of {name!r} is {w!r}, not a number") from None
        if not math.isfinite(value) or value < 0:
            raise InputError(f"{what}: weight of {name!r} is {value}; weights must be finite and >= 0")
        out[name] = value
    if out and not any(out.values()):
        raise InputError(f"{what}: every weight is 0 ({out}); at least one stream must count")
    return out


def check_unique(names: Iterable[str], what: str) -> None:
    """Refuse repeated names (e.g. two checkpoints for one stream)."""
    seen, dup = set(), []
    for n in names:
        if n in seen and n not in dup:
            dup.append(n)
        seen.add(n)
    if dup:
        raise InputError(f"{what} given more than once: {', '.join(map(str, dup))}")


def check_number(name: str, value: object, low: float | None = None, high: float | None = None, low_open: bool = False, high_open: bool = False) -> float:
    """A finite number within ``[low, high]`` (open ends where asked), else :class:`InputError`."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InputError(f"{name}: expected a number, got {type(value).__name__} {value!r}")
    v = float(value)
    bad = not math.isfinite(v)
    bad = bad or (low is not None and (v <= low if low_open else v < low))
    bad = bad or (high is not None and (v >= high if high_open else v > high))
    if bad:
        lo = "" if low is None else f"{'>' if low_open else '>='} {low:g}"
        hi = "" if high is None else f"{'<' if high_open else '<='} {high:g}"
        rule = " and ".join(x for x in (lo, hi) if x) or "finite"
        raise InputError(f"{name} must be a finite number {rule}, got {value!r}")
    return v


def check_int(name: str, value: object, low: int = 1) -> int:
    """An integer ``>= low``, else :class:`InputError`."""
    if not is_int(value) or value < low:
        raise InputError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def check_choice(name: str, value: object, choices: Sequence[object]) -> object:
    """One of ``choices``, else :class:`InputError` listing them."""
    if value not in choices:
        raise InputError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


def check_output_path(path: str | os.PathLike, what: str = "--out") -> Path:
    """Check, before any work, that a file can be written at ``path`` (not a folder, a writable place)."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{what} {path}: is an existing folder; give the name of a file (in it or elsewhere)")
    if str(path).endswith(os.sep):
        raise InputError(f"{what} {path}: give a file name, not a folder")
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise InputError(f"{what} {path}: cannot be created: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"{what} {path}: cannot be written: no write permission in {parent}")
    if path.exists() and not os.access(path, os.W_OK):
        raise InputError(f"{what} {path}: exists and is not writable")
    return path


def resolve_device(device: str) -> str:
    """'auto' -> 'cuda' when a GPU is present, else 'cpu'; a named GPU that is absent is an error."""
    import torch

    text = str(device).strip().lower()
    if text == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if text == "cpu":
        return "cpu"
    if text == "cuda" or (text.startswith("cuda:") and text[5:].isdigit()):
        if not torch.cuda.is_available():
            raise InputError(f"--device {device}: no CUDA GPU is available here (torch {torch.__version__}); use --device cpu")
        if ":" in text and int(text[5:]) >= torch.cuda.device_count():
            raise InputError(f"--device {device}: there are only {torch.cuda.device_count()} GPU(s)")
        return text
    raise InputError(f"--device must be 'auto', 'cpu', 'cuda' or 'cuda:N'; got {device!r}")
