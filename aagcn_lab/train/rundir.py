"""The run folder: the one place that knows its file names.

A training run writes everything into one folder (``TrainConfig.work_dir``, default
``runs/<preset>``)::

    launch_config.json        the TrainConfig a launch (CLI, notebook, torchrun) started the run with
    config.json               what the trainer ran: {"train": TrainConfig, "model": AAGCNConfig,
                              "world_size", "global_batch", "base_lr"}
    metrics.jsonl             one JSON record per log window, validation and test (epochs from 1)
    tensorboard/              the same numbers for TensorBoard (when installed)
    latest.pt, best.pt        full training checkpoints (best: by validation top-1)
    results.json              the finished run's :class:`RunResult`
    scores_<split>_<feat>.npz 10-clip test scores (the test split; also the validation split when
                              fusion weights are tuned there, see :meth:`TrainConfig.tuning_split`)
    confusion_test.npy        the test split's confusion matrix

The trainer writes these through :class:`RunDir`, and the launcher, the four-stream runner, the
CLI and the notebooks read them through it; renaming a file is a one-line change here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..scores import Scores, load_scores
from .config import TrainConfig, load_config

__all__ = ["RunDir", "RunResult"]


@dataclass
class RunResult:
    """What a finished run produced (the content of its ``results.json``)."""

    work_dir: Path
    best_val_top1: float | None = None
    best_epoch: int | None = None
    val: dict = field(default_factory=dict)
    test: dict = field(default_factory=dict)
    scores: Path | None = None
    checkpoint: Path | None = None

    @property
    def run_dir(self) -> RunDir:
        """The run folder, to find its other files."""
        return RunDir(self.work_dir)

    def to_dict(self) -> dict:
        """JSON-able summary."""
        return {
            "work_dir": str(self.work_dir),
            "best_val_top1": self.best_val_top1,
            "best_epoch": self.best_epoch,
            "val": self.val,
            "test": self.test,
            "scores": str(self.scores) if self.scores else None,
            "checkpoint": str(self.checkpoint) if self.checkpoint else None,
        }

    @classmethod
    def from_dict(cls, d: dict) -> RunResult:
        """The inverse of :meth:`to_dict`."""
        return cls(
            work_dir=Path(d["work_dir"]),
            best_val_top1=d.get("best_val_top1"),
            best_epoch=d.get("best_epoch"),
            val=d.get("val") or {},
            test=d.get("test") or {},
            scores=Path(d["scores"]) if d.get("scores") else None,
            checkpoint=Path(d["checkpoint"]) if d.get("checkpoint") else None,
        )


@dataclass(frozen=True)
class RunDir:
    """A run folder and the names of the files in it."""

    path: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))

    @classmethod
    def of(cls, cfg: TrainConfig) -> RunDir:
        """The folder ``cfg`` trains into."""
        return cls(cfg.resolved_work_dir())

    # -- file names -----------------------------------------------------------------------------
    @property
    def launch_config(self) -> Path:
        """``launch_config.json``: the config a launch handed to ``python -m aagcn_lab.train``."""
        return self.path / "launch_config.json"

    @property
    def config_json(self) -> Path:
        """``config.json``: the training and model config the trainer ran, with world size and lr."""
        return self.path / "config.json"

    @property
    def metrics(self) -> Path:
        """``metrics.jsonl``: the training, validation and test records."""
        return self.path / "metrics.jsonl"

    @property
    def tensorboard(self) -> Path:
        """``tensorboard/``: the TensorBoard event files."""
        return self.path / "tensorboard"

    @property
    def latest(self) -> Path:
        """``latest.pt``: the last training checkpoint (what ``--resume auto`` continues from)."""
        return self.path / "latest.pt"

    @property
    def best(self) -> Path:
        """``best.pt``: the checkpoint with the best validation top-1."""
        return self.path / "best.pt"

    @property
    def results(self) -> Path:
        """``results.json``: written when the run ends."""
        return self.path / "results.json"

    @property
    def confusion_test(self) -> Path:
        """``confusion_test.npy``: the test split's confusion matrix."""
        return self.path / "confusion_test.npy"

    def scores(self, split: str, feat: str) -> Path:
        """``scores_<split>_<feat>.npz``: the 10-clip test scores of one split."""
        return self.path / f"scores_{split}_{feat}.npz"

    def checkpoint(self, which: str) -> Path:
        """``best.pt`` for ``'best'``, ``latest.pt`` for ``'last'`` (``TrainConfig.test_checkpoint``)."""
        if which not in ("best", "last"):
            raise ValueError(f"which must be 'best' or 'last', got {which!r}")
        return self.best if which == "best" else self.latest

    def stale_writes(self) -> list[Path]:
        """Temporary files of writes a kill interrupted (:func:`aagcn_lab.io.atomic_write` names them ``.NAME.*.tmp``)."""
        return sorted(self.path.glob(".*.tmp"))

    # -- writing (the trainer and the launchers) ------------------------------------------------
    def write_launch_config(self, cfg: TrainConfig) -> Path:
        """Write ``launch_config.json`` (creating the folder); returns its path."""
        self.path.mkdir(parents=True, exist_ok=True)
        self.launch_config.write_text(json.dumps(cfg.to_dict(), indent=2))
        return self.launch_config

    def write_config(self, record: dict) -> None:
        """Write ``config.json`` (the trainer, at start-up)."""
        self.config_json.write_text(json.dumps(record, indent=2))

    def write_result(self, result: RunResult) -> None:
        """Write ``results.json`` (the trainer, at the end)."""
        self.results.write_text(json.dumps(result.to_dict(), indent=2))

    # -- reading --------------------------------------------------------------------------------
    def config(self) -> dict:
        """``config.json`` as written (``train``, ``model``, ``world_size``, ``global_batch``, ``base_lr``)."""
        if not self.config_json.exists():
            raise FileNotFoundError(f"{self.path}: no config.json (not a run folder, or the run never started)")
        return json.loads(self.config_json.read_text())

    def train_config(self) -> TrainConfig:
        """The run's :class:`TrainConfig` (from ``config.json``, else ``launch_config.json``)."""
        for path in (self.config_json, self.launch_config):
            if path.exists():
                return load_config(path)
        raise FileNotFoundError(f"{self.path}: neither config.json nor launch_config.json (not a run folder?)")

    def result(self) -> RunResult | None:
        """The finished run's :class:`RunResult`; ``None`` while the run has not finished."""
        if not self.results.exists():
            return None
        return RunResult.from_dict(json.loads(self.results.read_text()))

    def finished(self) -> RunResult | None:
        """The result when the run finished and its test scores are there (nothing left to train), else ``None``."""
        done = self.result()
        return done if done is not None and done.scores is not None and done.scores.exists() else None

    def tuning_scores(self) -> Scores | None:
        """The scores fusion weights are tuned on: the validation split's, when that split is not the
        test split (:meth:`TrainConfig.tuning_split`) and the run wrote them; else ``None``."""
        cfg = self.train_config()
        split = cfg.tuning_split()
        path = self.scores(split, cfg.feat) if split else None
        return load_scores(path) if path is not None and path.exists() else None
