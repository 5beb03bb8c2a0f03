"""The training log: ``metrics.jsonl`` in the run folder, TensorBoard, and one stdout line per record.

Records (floats rounded to 6 digits; ``epoch`` counts from 1 in every record: the epoch being
trained in a training record, the epochs completed in a validation record -- the same number for
the same epoch)::

    {"split": "train", "epoch", "step", "total_steps", "loss", "top1", "top5", "lr", "samples_per_s"}
    {"split": "val", "epoch", "step", "loss", "top1", "top5", "mean_class_acc"}
    {"split": "test", "epoch", "step", "top1", "top5", "mean_class_acc", "num_samples"}

A training record averages the optimizer steps of its window (``log_interval`` steps, or up to
the end of the epoch), weighted by samples. Each record is also printed as ``[aagcn-lab] {json}``
on stdout, which is how :func:`aagcn_lab.train.launch.launch` follows a run in a subprocess
(:func:`parse_line`).
"""

from __future__ import annotations

import json
import time

from .rundir import RunDir

__all__ = ["MetricsLog", "LINE_PREFIX", "parse_line"]

LINE_PREFIX = "[aagcn-lab] "


def parse_line(line: str) -> dict | None:
    """The record of one stdout line of a run, ``None`` for any other line."""
    if not line.startswith(LINE_PREFIX + "{"):
        return None
    return json.loads(line[len(LINE_PREFIX) :])


class MetricsLog:
    """JSON-lines metrics (and TensorBoard when installed), written by rank 0 only."""

    def __init__(self, run: RunDir, enabled: bool, tensorboard: bool, world_size: int = 1) -> None:
        self.enabled, self.world_size = enabled, world_size
        self.path = run.metrics
        self.tb = None
        if enabled and tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.tb = SummaryWriter(str(run.tensorboard))
            except Exception:  # tensorboard not installed
                self.tb = None
        self.start_window()

    # -- the training window ------------------------------------------------------------------------
    def start_window(self) -> None:
        """Begin a new window of optimizer steps (and its clock)."""
        self.window: list[dict] = []
        self.t0 = time.perf_counter()

    def add(self, stats: dict) -> None:
        """One optimizer step's ``{"loss", "top1", "top5", "lr", "samples"}`` (this process's samples)."""
        self.window.append(stats)

    def flush(self, epoch: int, step: int, total_steps: int) -> None:
        """Write the window's training record (sample-weighted means, the last lr, throughput over
        all processes), then start a new window."""
        w, dt = self.window, time.perf_counter() - self.t0
        samples = sum(s["samples"] for s in w)
        self.write({
            "split": "train", "epoch": epoch, "step": step, "total_steps": total_steps,
            "loss": sum(s["loss"] * s["samples"] for s in w) / samples,
            "top1": sum(s["top1"] * s["samples"] for s in w) / samples,
            "top5": sum(s["top5"] * s["samples"] for s in w) / samples,
            "lr": w[-1]["lr"], "samples_per_s": samples * self.world_size / dt,
        })  # fmt: skip
        self.start_window()

    # -- records --------------------------------------------------------------------------------------
    def write(self, record: dict) -> None:
        """Append one record; mirror numbers to TensorBoard and a line to stdout."""
        if not self.enabled:
            return
        record = {k: (round(v, 6) if isinstance(v, float) else v) for k, v in record.items()}
        with open(self.path, "a") as f:
            f.write(json.dumps(record) + "\n")
        if self.tb is not None:
            for k, v in record.items():
                if isinstance(v, (int, float)) and k not in ("epoch", "step"):
                    self.tb.add_scalar(f"{record.get('split', 'train')}/{k}", v, record.get("step", 0))
        print(LINE_PREFIX + json.dumps(record), flush=True)

    def close(self) -> None:
        """Flush TensorBoard (idempotent)."""
        if self.tb is not None:
            self.tb.close()
            self.tb = None
