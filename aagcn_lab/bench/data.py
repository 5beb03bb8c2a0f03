"""The ``pipeline``, ``data`` and ``train`` sections: pyskl's transforms, the DataLoader, a real training loop."""

from __future__ import annotations

import json
import os
import resource
import time
from collections.abc import Sequence

import numpy as np
import torch

from .timing import _time

__all__ = ["bench_pipeline", "bench_data", "bench_train"]


def _records(n: int = 64, seed: int = 0) -> list[dict]:
    """NTU-like records: 1 or 2 persons, 40..300 frames, float16."""
    rng = np.random.default_rng(seed)
    recs = []
    for i in range(n):
        m, t = (2 if i % 6 == 0 else 1), int(rng.integers(40, 300))
        kp = rng.normal(0, 0.3, (m, 1, 25, 3)) + np.array([0, 0, 3.0]) + np.cumsum(rng.normal(0, 0.01, (m, t, 25, 3)), 1)
        recs.append(dict(frame_dir=f"S{i:04d}", label=i % 60, total_frames=t, keypoint=kp.astype(np.float16)))
    return recs


def bench_pipeline(samples: int = 64, feats: Sequence[str] = ("j", "b", "jm", "bm"), split: str = "test") -> dict:
    """Pipeline samples/s on one core, fast vs the pyskl transcription."""
    from ..data.pipeline import build_pipeline
    from ..data.reference import reference_pipeline

    recs = _records(samples)
    out = {"split": split, "samples": samples}
    for feat in feats:
        fast, ref = build_pipeline(feat, split), reference_pipeline(feat, split)
        rng = np.random.RandomState(0)
        tf, tr = _time(lambda: [fast(dict(r), rng) for r in recs], lambda: [ref(dict(r), np.random.RandomState(0)) for r in recs], iters=3)  # noqa: B023
        out[f"{feat}_samples_s"] = samples / tf
        out[f"{feat}_oracle_samples_s"] = samples / tr
        out[f"{feat}_speedup"] = tr / tf
    return out


def _private_mb(pid: int) -> float:
    try:
        fields = dict(line.split(":", 1) for line in open(f"/proc/{pid}/smaps_rollup").read().splitlines()[1:])
        return sum(int(fields[k].split()[0]) for k in ("Private_Clean", "Private_Dirty")) / 1024
    except OSError:
        return float("nan")


class _PidLog:
    def __init__(self, path: str) -> None:
        self.path = path

    def __call__(self, _worker: int) -> None:
        with open(self.path, "a") as f:
            f.write(f"{os.getpid()}\n")


def bench_data(workers: Sequence[int] = (0, 1, 2, 4), samples: int = 2000, feat: str = "j") -> dict:
    """Dataset + DataLoader (train mode) samples/s and private memory per worker; without workers also an
    epoch after the first with the pipeline's work kept (``cache_mb``, as the trainer asks for)."""
    import tempfile

    from torch.utils.data import DataLoader

    from ..data import SkeletonDataset, save_annotations

    recs = _records(samples)
    out: dict = {"samples": samples}
    with tempfile.TemporaryDirectory() as tmp:
        ann = save_annotations(f"{tmp}/a.pkl", recs, {"train": [r["frame_dir"] for r in recs]})
        ds = SkeletonDataset(ann, "train", feat=feat, mode="train")
        out["data_mb"] = ds.records.nbytes() / 2**20
        for w in workers:
            log = f"{tmp}/pids{w}"
            loader = DataLoader(ds, batch_size=16, num_workers=w, worker_init_fn=_PidLog(log) if w else None, persistent_workers=w > 0)
            t = time.perf_counter()
            for _ in loader:
                pass
            out[f"workers{w}_samples_s"] = samples / (time.perf_counter() - t)
            if w:
                pids = [int(p) for p in open(log).read().split()]
                out[f"workers{w}_private_mb_per_worker"] = max(_private_mb(p) for p in pids)
            del loader
        # without workers the trainer keeps the pipeline's per-sample work (TrainConfig.cache_mb): a later epoch
        kept = SkeletonDataset(ann, "train", feat=feat, mode="train", cache_mb=512)
        for _epoch in range(2):  # the first fills what is kept; the second is timed
            t = time.perf_counter()
            for _ in DataLoader(kept, batch_size=16, num_workers=0):
                pass
        out["workers0_kept_samples_s"] = samples / (time.perf_counter() - t)
    return out


def bench_train(
    steps: int = 30, device: str = "auto", batch_size: int = 32, num_workers: int = 1, amp: str = "none", channels_last: bool = False,
    compile: bool = False, full_model: bool = False, clip_len: int = 32,
) -> dict:
    """A real training loop (data loading included) on the built-in dataset; the preset's small model,
    or with ``full_model`` pyskl's AAGCN (NTU layout, 25 joints)."""  # fmt: skip
    import tempfile

    from ..train.config import preset
    from ..train.trainer import Trainer

    with tempfile.TemporaryDirectory() as tmp:
        # repeat: enough passes over the built-in training split (828 samples) that every step falls
        # in one epoch, so no worker restart lands inside the timed windows
        cfg = preset(
            "builtin_j", work_dir=tmp, max_steps=steps, progress=False, test_after=False, val_interval=0, tensorboard=False,
            device=device, batch_size=batch_size, num_workers=num_workers, log_interval=max(1, steps // 3), amp=amp, channels_last=channels_last,
            compile=compile, clip_len=clip_len, repeat=max(1, steps * batch_size // 800 + 1), **({"model": {}} if full_model else {}),
        )  # fmt: skip
        trainer = Trainer(cfg)
        t = time.perf_counter()
        trainer.fit()
        dt = time.perf_counter() - t
        windows = [json.loads(line) for line in trainer.run.metrics.read_text().splitlines()]
        windows = [w["samples_per_s"] for w in windows if w.get("split") == "train"]
    out = {"steps": steps, "batch_size": batch_size, "num_workers": num_workers, "clip_len": cfg.clip_len, "model": cfg.model,
           "amp": amp, "channels_last": channels_last, "compile": compile, "samples_s_whole_run": steps * batch_size / dt,
           "samples_s_last_third": windows[-1]}  # fmt: skip
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if torch.cuda.is_available() and trainer.info.device.type == "cuda":
        out["peak_cuda_mb"] = torch.cuda.max_memory_allocated() / 2**20
    return out
