"""Honest model selection: a run's test accuracy without choosing anything on the test set, and
beside it, labelled as such, the best epoch chosen on the test set (how published NW-UCLA numbers
are obtained), each on the whole test split and on a subset (NW-UCLA: the test clips that are not
copies of training clips).

A run reports both when it validates on its test split every epoch (``val_split == test_split``,
``val_interval = 1``) and tests its *last* checkpoint (``test_checkpoint='last'``): the last
epoch's scores are the honest number, the validation records give the best epoch on the test set,
and ``best.pt`` (that epoch's weights) is scored again on the subset.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .analysis import performer_of
from .data.inputs import resolve_annotations
from .scores import Scores, load_scores
from .stats import Interval, bootstrap_accuracy
from .train.evaluation import test_checkpoint
from .train.rundir import RunDir

__all__ = ["SelectionReport", "selection_report", "subset_accuracy"]


def subset_accuracy(scores: Scores, keep: set[str] | None = None, level: float = 0.95) -> Interval:
    """Top-1 of ``scores`` on the samples whose id is in ``keep`` (all when ``None``), with a bootstrap
    interval over performers (NTU performers, NW-UCLA subjects)."""
    ids = [f for f in scores.frame_dir if keep is None or f in keep]
    if not ids:
        raise ValueError("no sample of the scores is in the subset")
    sub = scores.reorder(ids)
    correct = np.asarray(sub.probs).argmax(1) == np.asarray(sub.labels)
    return bootstrap_accuracy(correct, [performer_of(f) for f in ids], level=level)


@dataclass
class SelectionReport:
    """Last-epoch and best-epoch-on-test accuracies of one run, on the test split and a subset of it."""

    run: Path
    epochs: int
    test_split: str
    subset_split: str | None
    last: Interval  # the last epoch on the whole test split: nothing chosen on the test set
    last_subset: Interval | None
    best_epoch: int | None  # the epoch with the best validation top-1 (on the test split when val == test)
    best: float | None
    best_subset: float | None
    selected_on_test: bool  # whether the validation split is the test split

    def rows(self) -> list[tuple[str, str]]:
        """``(what, value)`` lines for a table, each saying how the number was chosen."""
        sub = self.subset_split or "subset"
        out = [(f"last epoch ({self.epochs}), {self.test_split}", str(self.last))]
        if self.last_subset is not None:
            out.append((f"last epoch ({self.epochs}), {sub}", str(self.last_subset)))
        if self.best is not None:
            how = "chosen on the test set" if self.selected_on_test else "chosen on the validation split"
            out.append((f"best epoch ({self.best_epoch}, {how}), {self.test_split}", f"{100 * self.best:.1f} %"))
            if self.best_subset is not None:
                out.append((f"best epoch ({self.best_epoch}, {how}), {sub}", f"{100 * self.best_subset:.1f} %"))
        return out

    def table(self) -> str:
        """The rows as aligned text."""
        width = max(len(w) for w, _ in self.rows())
        return "\n".join(f"{w:<{width}}  {v}" for w, v in self.rows())


def selection_report(
    run: str | os.PathLike | RunDir, subset_split: str | None = None, device: str = "cpu", level: float = 0.95
) -> SelectionReport:
    """The :class:`SelectionReport` of a finished run (see the module docstring); ``subset_split`` names a
    split of the run's annotation file that is a subset of its test split (e.g. ``xview_test_unique``);
    ``level``: of the intervals over performers."""
    run = run if isinstance(run, RunDir) else RunDir(Path(run))
    cfg, result = run.train_config(), run.result()
    if result is None or result.scores is None:
        raise FileNotFoundError(f"{run.path}: the run has not finished (no results.json with test scores)")
    if cfg.test_checkpoint != "last":
        raise ValueError(f"{run.path}: the run tested its best checkpoint; an honest last-epoch number needs test_checkpoint='last'")
    scores = load_scores(result.scores)
    keep = None
    if subset_split:
        ann = resolve_annotations(cfg.ann_file, cfg.layout)
        if subset_split not in ann.split:
            raise KeyError(f"{ann.source}: no split {subset_split!r}; splits: {', '.join(ann.split)}")
        keep = set(ann.split[subset_split])
        missing = keep - set(scores.frame_dir)
        if missing:
            raise ValueError(f"{subset_split!r} is not a subset of the test split: {len(missing)} of its samples were not tested")
    val = [r for r in map(json.loads, run.metrics.read_text().splitlines()) if r.get("split") == "val"]
    best_rec = max(val, key=lambda r: r["top1"]) if val else None
    best_subset = None
    if best_rec is not None and keep is not None and run.best.exists():
        sub_scores, _ = test_checkpoint(run.best, split=subset_split, num_clips=cfg.test_clips, device=device, num_workers=0)
        best_subset = subset_accuracy(sub_scores).value
    return SelectionReport(
        run=run.path, epochs=cfg.epochs, test_split=cfg.resolved_test_split(), subset_split=subset_split,
        last=subset_accuracy(scores, level=level), last_subset=subset_accuracy(scores, keep, level) if keep is not None else None,
        best_epoch=best_rec["epoch"] if best_rec else None, best=best_rec["top1"] if best_rec else None,
        best_subset=best_subset, selected_on_test=cfg.val_split == cfg.resolved_test_split(),
    )  # fmt: skip
