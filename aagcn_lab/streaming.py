"""Streaming prediction: push one frame of keypoints at a time, get the action every few frames.

::

    from aagcn_lab import StreamingPredictor
    sp = StreamingPredictor({"j": "coco_j.pt"}, window=100, stride=10)
    for frame in pose_estimator(video):          # e.g. an OpenPose frame {"people": [...]}
        result = sp.push(frame)
        if result is not None:
            print(result.frame, result.prediction.top(1))

Every ``stride`` frames (once ``min_frames`` have arrived, by default a full ``window``) the last
``window`` frames are read as one video exactly as offline prediction reads a file of those frames
-- the same readers, tracking, joint maps, pipelines and fusion
(:func:`aagcn_lab.prediction.predict_records`) -- so an offline run over the same frames (with the
same ``num_clips`` and ``dtype``) gives the same numbers. A frame is anything
:func:`aagcn_lab.data.inputs.read_frame` reads (an OpenPose frame, a list of COCO persons, a
MediaPipe frame, a keypoint array).

Cost. Streaming takes one test clip per window by default (``num_clips=1``; offline prediction
keeps pyskl's 10, ten forwards per window): with a window of 100 frames and pyskl's clip length
100 that clip is the whole window. The models are prepared once
(:func:`aagcn_lab.model.cpu_infer.prepare_inference`: batch norm folded, weights stacked);
``dtype="bf16"`` runs their convolutions in bfloat16 (an explicit option, never the default: fp32).

What is reused from one window to the next, and what cannot be:

* Each frame is read and checked once, when it is pushed (:func:`read_frame`).
* Units, image size, the typical body size (3D) and so the value checks that use them, the tracks
  and which two are kept are decided per window, from its own first frame, as offline prediction
  decides them for a file of those frames: carrying tracks over from earlier frames (incremental
  tracking) would change which detections form a track and which body is person 0, so the record.
  What these decisions are made of is reused, exactly (:class:`~aagcn_lab.data.poses.frames.RecordMemo`,
  kept by the predictor): each frame's value checks, keyed by its detections bit for bit and the image
  and body size, and tracking's per-detection boxes and per-pair similarities, keyed by the two
  detections' values (:class:`~aagcn_lab.data.tracking.TrackMemo`). Each is a function of those values
  alone, so a window computes only its new frames' and gets the record it gets alone (tested against
  a memo-less run window by window); the greedy linking and the selection still run over the window.
* Nothing of the network. AAGCN's data-dependent graph ``C_k`` (a softmax of sums over
  ``C_e * T``) and its spatial, temporal and channel attentions (means over the frames) see the
  whole window in every block, and the temporal convolutions mix 9 frames, so from the first graph
  aggregation on every feature depends on the whole window. Before it, the first block's per-frame
  work (data batch norm, the embeddings and the 1x1 convolutions of 3 input channels, which could be
  applied before the aggregation since both are linear) could be cached frame by frame -- exactly in
  arithmetic, not bit for bit (a different order of sums) -- but it is under 1 % of a forward, so
  it does not pay: the forward is the cost (README, Speed).

``aagcn-lab predict -c CKPT --stream [--window 100 --stride 10]`` (:mod:`aagcn_lab.cli.predict`) reads one JSON frame per line
from standard input and writes one JSON line per prediction; a bad line is reported on standard
error (with its line number) and skipped, and so is a person left out of a frame (wrong joint
count, NaN: the line number and the person). A stride larger than the window is refused (the
frames between two windows would never be seen). A stream that ends before its first full window
(fewer frames than ``window``) is said on standard error and predicted once over the frames it
has, as offline prediction reads a short file; an input without any frame exits with status 2.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO

import numpy as np
import torch

from .data.inputs import read_frame
from .data.poses.frames import PoseFormatError, RecordMemo, join_frames, to_record
from .data.validate import InputError, check_int
from .prediction import Prediction, predict_records, prepare_streams
from .stream_models import StreamModel, load_stream_models

__all__ = ["StreamingPredictor", "StreamResult", "check_window", "run_stream", "timeline"]


@dataclass
class StreamResult:
    """The prediction over frames ``start..frame`` (0-based, inclusive) of a stream."""

    frame: int
    start: int
    prediction: Prediction | None
    notes: list[str] = field(default_factory=list)

    def as_dict(self, k: int = 5) -> dict:
        """JSON-able form: the window and the fused top-k (or why there is none)."""
        d: dict = {"frame": self.frame, "window": [self.start, self.frame]}
        if self.prediction is None:
            d["top"] = []
            d["error"] = "; ".join(self.notes)
        else:
            p = self.prediction.as_dict(k)
            d["top"], d["streams"] = p["top"], p["streams"]
        return d


class StreamingPredictor:
    """Fused top-5 over the last ``window`` frames, every ``stride`` frames (see the module docstring)."""

    def __init__(
        self,
        checkpoints,
        window: int = 100,
        stride: int = 10,
        weights: Mapping[str, float] | None = None,
        num_clips: int = 1,
        img_shape: tuple[int, int] | None = None,
        max_persons: int | None = None,
        min_frames: int | None = None,
        device: str = "cpu",
        dtype: torch.dtype | str | None = None,
    ) -> None:
        """``checkpoints``: paths as for :func:`~aagcn_lab.prediction.predict`, or ``{stream: StreamModel}``;
        ``num_clips``: test clips per window (1 here; offline prediction keeps pyskl's 10); ``max_persons``:
        people tracked per window (default: the models' person slots); ``dtype``: ``None`` / ``"fp32"`` (the
        default) or ``"bf16"`` (bfloat16 convolutions, :meth:`~aagcn_lab.stream_models.StreamModel.prepared`)."""
        self.window, self.stride = check_window(window, stride)
        self.min_frames = min(check_int("min_frames", min_frames if min_frames is not None else window), self.window)
        self.models: dict[str, StreamModel] = load_stream_models(checkpoints)
        self.layout = next(iter(self.models.values())).layout
        self.dim = self.layout.dim
        self.weights, self.num_clips, self.device, self.dtype = weights, check_int("num_clips", num_clips), device, dtype
        self.nets = prepare_streams(self.models, device, dtype)  # once: on the CPU batch norm folded (a snapshot of the weights)
        persons = max(m.num_person for m in self.models.values())
        self.img_shape, self.max_persons = img_shape, check_int("max_persons", max_persons if max_persons is not None else persons)
        self.frames: deque = deque(maxlen=self.window)
        self.memo = RecordMemo()  # per-detection checks and tracking similarities, reused by the next window (exact)
        self.count = 0  # frames pushed so far
        self.made = 0  # predictions returned so far
        self.dropped: list[tuple[str, str]] = []  # (where, why) of each person the last pushed frame left out

    def reset(self) -> None:
        """Forget every frame (a new video)."""
        self.frames.clear()
        self.memo = RecordMemo()
        self.count = self.made = 0
        self.dropped = []

    def push(self, frame_keypoints) -> StreamResult | None:
        """Add one frame; every ``stride`` frames returns the prediction over the last ``window`` frames.

        A frame that cannot be read raises :class:`PoseFormatError` and is not added (the stream
        goes on); a frame with nobody in it is added as an empty frame. A person that cannot be
        used (wrong joint count, NaN) is left out of the frame and listed in :attr:`dropped`.
        """
        self.dropped = []
        pf = read_frame(frame_keypoints, self.layout.name, self.dim, where=f"frame {self.count}")
        self.dropped = list(pf.problems)
        self.frames.append(pf)
        self.count += 1
        if self.count < self.min_frames or self.count % self.stride:
            return None
        self.made += 1
        return self.predict_window()

    def finish(self) -> StreamResult | None:
        """At the end of a stream that gave no prediction yet (fewer frames than ``min_frames``): the
        prediction over the frames it has; else ``None``."""
        if self.made or not self.count:
            return None
        self.made += 1
        return self.predict_window()

    def predict_window(self) -> StreamResult:
        """The prediction over the frames held now (the last ``window``)."""
        start = self.count - len(self.frames)
        name = f"frames {start}-{self.count - 1}"
        video = join_frames(list(self.frames), name)
        try:
            rec, notes = to_record(video, self.max_persons, self.img_shape, memo=self.memo)
        except (InputError, ValueError) as e:  # e.g. nobody in the whole window
            return StreamResult(self.count - 1, start, None, [str(e)])
        [pred] = predict_records(self.models, [rec], self.weights, self.num_clips, self.device, self.nets)
        return StreamResult(self.count - 1, start, pred, notes)


def timeline(results: list[StreamResult]) -> dict:
    """Per prediction: the last frame, the top-1 class index and name and its probability (NaN / '' when none)."""
    frames = np.array([r.frame for r in results])
    top = [r.prediction.top(1)[0] if r.prediction is not None else (-1, "", float("nan")) for r in results]
    return {"frame": frames, "class": np.array([t[0] for t in top]), "name": [t[1] for t in top], "prob": np.array([t[2] for t in top])}


def check_window(window: object, stride: object, names: tuple[str, str] = ("window", "stride")) -> tuple[int, int]:
    """``(window, stride)``, both integers >= 1 with ``stride <= window`` (a larger stride never sees the
    frames between two windows), else :class:`InputError` (``names``: how the caller calls them, e.g. the options)."""
    window, stride = check_int(names[0], window), check_int(names[1], stride)
    if stride > window:
        raise InputError(
            f"{names[1]} {stride} is larger than the {names[0]} {window}: the {stride - window} frame(s) between two windows "
            f"would never be seen; use a {names[1]} <= the {names[0]}"
        )
    return window, stride




def run_stream(
    predictor: StreamingPredictor, lines: IO[str], out: IO[str], err: IO[str], top_k: int = 5, window_name: str = "window"
) -> int:
    """One JSON frame per input line -> one JSON line per prediction; bad lines and dropped persons reported
    (0); a stream shorter than the window is said and predicted once (0); no frame at all: 2."""
    bad = dropped = 0
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            frame = json.loads(line)
            result = predictor.push(frame)
        except json.JSONDecodeError as e:
            bad += 1
            print(f"line {n}: not JSON ({e}); skipped", file=err, flush=True)
            continue
        except (PoseFormatError, InputError, ValueError) as e:
            bad += 1
            print(f"line {n}: {e}; skipped", file=err, flush=True)
            continue
        for where, why in predictor.dropped:
            dropped += 1
            print(f"line {n}: {where}: {why}; person dropped", file=err, flush=True)
        if result is not None:
            print(json.dumps(result.as_dict(top_k)), file=out, flush=True)
    if bad:
        print(f"{bad} bad line(s) skipped", file=err, flush=True)
    if dropped:
        print(f"{dropped} person(s) dropped", file=err, flush=True)
    if not predictor.count:
        print("the stream ended with no frame read: nothing to predict", file=err, flush=True)
        return 2
    result = predictor.finish()
    if result is not None:
        n = predictor.count
        why = f"fewer than the {window_name} {predictor.window}" if n < predictor.window else "before its first prediction"
        print(f"the stream ended after {n} frames, {why}: one prediction over frames {result.start}-{result.frame}", file=err, flush=True)
        print(json.dumps(result.as_dict(top_k)), file=out, flush=True)
    return 0
