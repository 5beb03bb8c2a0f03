"""The ``stream`` section: the streaming predictor's latency per prediction and the frames/s it sustains."""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence

import numpy as np
import torch

__all__ = ["bench_stream"]


def _coco_frames(n: int, seed: int = 0) -> list[np.ndarray]:
    """``n`` frames of two walking COCO-17 people ``(2, 17, 3)`` (x, y pixels, score)."""
    rng = np.random.default_rng(seed)
    bodies = [rng.uniform(0, 150, (17, 2)) + (300 + 700 * k, 300) for k in range(2)]
    frames = []
    for f in range(n):
        people = [np.concatenate([b + (2.0 * f, 5 * np.sin(f / 5)), rng.uniform(0.4, 1, (17, 1))], 1) for b in bodies]
        frames.append(np.stack(people))
    return frames


def bench_stream(
    streams: Sequence[int] = (1, 4), window: int = 100, stride: int = 10, num_clips: int = 10, predictions: int = 5, base_channels: int = 64
) -> dict:
    """Streaming latency per window and sustained frames/s on the CPU for each number of streams."""
    from ..model import AAGCN, AAGCNConfig
    from ..stream_models import from_model
    from ..streaming import StreamingPredictor

    torch.manual_seed(0)
    model = AAGCN(AAGCNConfig(layout="coco", num_classes=60, in_channels=3, base_channels=base_channels)).eval()
    models = {"j": from_model(model, "j", clip_len=100)}
    n_frames = window + predictions * stride
    frames = _coco_frames(n_frames)
    out: dict = {"window / stride / clips": f"{window} / {stride} / {num_clips}", "parameters": model.num_parameters()}
    for n in streams:
        sps = [StreamingPredictor(models, window=window, stride=stride, num_clips=num_clips, img_shape=(1080, 1920)) for _ in range(n)]
        warm = StreamingPredictor(models, window=window, stride=window, num_clips=num_clips, img_shape=(1080, 1920))
        for f in frames[:window]:  # one prediction first: allocator and thread pools warm
            warm.push(f)
        window_t, frame_t = [], []
        t0 = time.perf_counter()
        for f in frames:
            for sp in sps:
                t = time.perf_counter()
                r = sp.push(f)
                (window_t if r is not None else frame_t).append(time.perf_counter() - t)
        total = time.perf_counter() - t0
        out[f"{n} stream(s): latency per window (ms)"] = 1000 * statistics.median(window_t)
        out[f"{n} stream(s): other frames (ms)"] = 1000 * statistics.median(frame_t)
        out[f"{n} stream(s): sustained frames/s per stream"] = n_frames / total
        out[f"{n} stream(s): sustained frames/s, all streams"] = n * n_frames / total
    return out
