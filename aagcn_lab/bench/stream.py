"""The ``stream`` section: the streaming predictor's latency per prediction and the frames/s it sustains.

Two modes on the same COCO-17 frames (two walking people, or one: ``persons``; 1920x1080 pixels),
full-width models of two person slots:

* ``N stream(s)``: N independent streams (one joint model each) served from one process, every
  frame pushed to each of them in turn;
* ``fused`` (``--fused``): one video, four models (j, b, jm, bm) fused per prediction -- one
  reading and tracking of each window, four pipelines and forwards.

Figures are the steady state: the clock starts once every stream has made its first prediction
(the first window's frames cost nothing but reading, so counting them would inflate frames/s) and
stops right after a prediction; sustained frames/s = frames pushed in that span / its wall time,
predictions included. So for each stream ``sustained <= stride / latency``.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch

if TYPE_CHECKING:
    from ..streaming import StreamingPredictor

__all__ = ["bench_stream", "FUSED_STREAMS"]

FUSED_STREAMS = ("j", "b", "jm", "bm")


def _coco_frames(n: int, seed: int = 0, persons: int = 2) -> list[np.ndarray]:
    """``n`` frames of ``persons`` walking COCO-17 people ``(persons, 17, 3)`` (x, y pixels, score)."""
    rng = np.random.default_rng(seed)
    bodies = [rng.uniform(0, 150, (17, 2)) + (300 + 700 * k, 300) for k in range(2)][:persons]
    frames = []
    for f in range(n):
        people = [np.concatenate([b + (2.0 * f, 5 * np.sin(f / 5)), rng.uniform(0.4, 1, (17, 1))], 1) for b in bodies]
        frames.append(np.stack(people))
    return frames


def _coco_models(names: Sequence[str] = ("j",), base_channels: int = 64) -> dict:
    """Untrained COCO-17 stream models ``{feature: StreamModel}`` (60 classes, clips of 100 frames), the i-th
    seeded with i: what the stream benches time."""
    from ..model import AAGCN, AAGCNConfig
    from ..stream_models import from_model

    models = {}
    for i, name in enumerate(names):
        torch.manual_seed(i)
        net = AAGCN(AAGCNConfig(layout="coco", num_classes=60, in_channels=3, base_channels=base_channels)).eval()
        models[name] = from_model(net, name, clip_len=100)
    return models


def _predictor(models: dict, window: int, stride: int, num_clips: int = 1, dtype: str | None = None) -> StreamingPredictor:
    """A streaming predictor over ``models`` for :func:`_coco_frames` (1920x1080 pixels)."""
    from ..streaming import StreamingPredictor

    return StreamingPredictor(models, window=window, stride=stride, num_clips=num_clips, img_shape=(1080, 1920), dtype=dtype)


def _steady_state(predictors: list, frames: list[np.ndarray]) -> tuple[list[float], list[float], float, int]:
    """Push every frame to every predictor in turn: latencies of the predictions after the first (s), times of the
    frames without a prediction (s), wall time from the first prediction of every predictor to the end (s), and
    the frames each predictor got in that span."""
    latencies, others = [], []
    t0, after = None, 0
    for f in frames:
        made = 0
        for sp in predictors:
            t = time.perf_counter()
            r = sp.push(f)
            dt = time.perf_counter() - t
            made += r is not None
            if t0 is not None:
                (latencies if r is not None else others).append(dt)
        if t0 is not None:
            after += 1
        elif made:  # every predictor's first prediction (they share the frames): the steady state starts now
            t0 = time.perf_counter()
    if t0 is None or not latencies:
        raise ValueError("the stream bench needs at least one prediction after the first: raise predictions")
    return latencies, others, time.perf_counter() - t0, after


def bench_stream(
    streams: Sequence[int] = (1, 4),
    window: int = 100,
    stride: int = 10,
    num_clips: int = 1,
    predictions: int = 5,
    base_channels: int = 64,
    dtype: str | None = None,
    fused: bool = False,
    persons: int = 2,
) -> dict:
    """Steady-state latency per prediction and sustained frames/s on the CPU: ``streams`` independent joint-model
    streams each, or (``fused``) one video through four models fused, of ``persons`` people in view (see the
    module docstring)."""
    from ..streaming import check_window

    window, stride = check_window(window, stride)
    if predictions < 1:
        raise ValueError(f"predictions {predictions}: at least one prediction after the first is timed")
    first = stride * -(-window // stride)  # the frame count at the first prediction: a full window, on a stride
    if persons not in (1, 2):
        raise ValueError(f"persons {persons}: the models have two person slots; 1 or 2 people in view")
    frames = _coco_frames(first + predictions * stride, persons=persons)
    models = _coco_models(FUSED_STREAMS if fused else ("j",), base_channels)

    def predictor() -> StreamingPredictor:
        return _predictor(models, window, stride, num_clips, dtype)

    out: dict = {
        "window / stride / clips / dtype": f"{window} / {stride} / {num_clips} / {dtype or 'fp32'}",
        "people in view": persons,
        "parameters per model": models["j"].net.num_parameters(),
        "torch threads": torch.get_num_threads(),
        "predictions timed": predictions,
    }
    runs = [("fused j+b+jm+bm", 1)] if fused else [(f"{n} stream(s)", n) for n in streams]
    for label, n in runs:
        latencies, others, span, pushed = _steady_state([predictor() for _ in range(n)], frames)
        per_stream = pushed / span
        out[f"{label}: latency per prediction (ms, mean)"] = 1000 * statistics.fmean(latencies)
        out[f"{label}: latency per prediction (ms, max)"] = 1000 * max(latencies)
        out[f"{label}: other frames (ms, median)"] = 1000 * statistics.median(others)
        out[f"{label}: sustained frames/s per stream"] = per_stream
        out[f"{label}: sustained frames/s, all streams"] = n * per_stream
    return out
