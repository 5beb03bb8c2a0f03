"""Train the four streams of MS-AAGCN (joints, bones, joint motion, bone motion), then fuse them.

Each stream trains in its own run folder ``<root>/<stream>`` through the trainer (in a child process,
so a notebook cell can run it), one after another or side by side on disjoint GPU sets. A stream
whose run finished is not trained again; an interrupted one resumes from its ``latest.pt``. At
the end the test-split score files are fused (pyskl's 2:2:1:1) and, when the validation split is
disjoint from the test split, fusion weights are also searched on the validation scores.

::

    aagcn-lab streams --preset builtin                          # CPU, the built-in dataset
    aagcn-lab streams --preset aagcn_pyskl_ntu60_xsub_3dkp --gpus 0,1,2,3,4,5,6,7 --parallel
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .fusion import FusionError, FusionReport, fuse, fusion_report, search_weights
from .scores import Scores, load_scores, save_scores
from .train.config import PRESETS, TrainConfig, apply_overrides, preset
from .train.launch import launch_all
from .train.rundir import RunDir, RunResult

__all__ = ["StreamsResult", "stream_configs", "train_streams", "fuse_runs"]

STREAMS = ("j", "b", "jm", "bm")


@dataclass
class StreamsResult:
    """Per-stream run results and the fusion report."""

    root: Path
    runs: dict[str, RunResult] = field(default_factory=dict)
    report: FusionReport | None = None
    tuned_weights: dict[str, float] | None = None
    fused_scores: Path | None = None

    def summary(self) -> str:
        """Plain-text summary: the fusion table."""
        return self.report.table() if self.report else "no fusion (streams missing)"


def stream_configs(base: str | TrainConfig, streams: Sequence[str] = STREAMS, root: str | os.PathLike | None = None, **overrides) -> dict[str, TrainConfig]:
    """One config per stream from a preset family (``'builtin'``, ``'aagcn_pyskl_ntu60_xsub_3dkp'``) or a config."""
    out = {}
    for s in streams:
        if isinstance(base, TrainConfig):
            cfg = apply_overrides(base, {"feat": s})
            family = base.preset.rsplit("_", 1)[0] if base.preset else "run"
        else:
            name = f"{base}_{s}"
            if name not in PRESETS:
                raise KeyError(f"no preset {name!r}; families: builtin, aagcn_pyskl_<ntu60|ntu120>_<split>_<3dkp|hrnet>, kinetics_skeleton, ucla_aagcn, ucla_cpu")
            cfg = preset(name)
            family = base
        root_dir = Path(root) if root else Path("runs") / family
        out[s] = apply_overrides(cfg, {**overrides, "work_dir": str(root_dir / s)})
    return out


def train_streams(
    base: str | TrainConfig = "builtin",
    streams: Sequence[str] = STREAMS,
    root: str | os.PathLike | None = None,
    gpus: Sequence[int] | None = None,
    parallel: bool = False,
    nproc: int | None = None,
    quiet: bool = False,
    nnodes: int = 1,
    rdzv_endpoint: str | None = None,
    node_rank: int | None = None,
    **overrides,
) -> StreamsResult:
    """Train (or resume, or skip when finished) every stream, then fuse their test scores.

    ``gpus``: GPU ids to use. Sequentially every stream uses all of them (``nproc`` = their number);
    with ``parallel=True`` the GPUs are split evenly between the streams, which run side by side.
    On CPU, ``nproc`` processes per stream (default 1); ``parallel=True`` runs waves of one
    single-threaded stream per core, a last smaller wave sharing the cores
    (:func:`~aagcn_lab.train.launch.cpu_waves`; on 2 cores about 10 % sooner than one after another).
    Side by side, each stream's progress is not shown, only its result.
    Several nodes: call it on every node with the same ``nnodes`` and ``rdzv_endpoint`` (the first
    node's ``HOST:PORT``) and streams one after another.
    """
    cfgs = stream_configs(base, streams, root, **overrides)
    root_dir = cfgs[streams[0]].resolved_work_dir().parent
    result = StreamsResult(root_dir)
    todo = []
    for s, cfg in cfgs.items():
        done = RunDir.of(cfg).finished()
        if done is not None:
            result.runs[s] = done
            if not quiet:
                print(f"[streams] {s}: finished earlier ({done.work_dir}), not trained again")
        else:
            todo.append(s)

    def report(i: int, run: RunResult) -> None:
        result.runs[todo[i]] = run
        if not quiet:
            print(f"[streams] {todo[i]}: test top-1 {run.test.get('top1', float('nan')):.4f} ({run.work_dir})")

    launch_all([cfgs[s] for s in todo], gpus, nproc or 1, parallel, nnodes, rdzv_endpoint, node_rank, quiet, on_done=report)
    return fuse_runs(result)


def fuse_runs(result: StreamsResult) -> StreamsResult:
    """Fuse the streams' test scores; tune weights on validation scores when that split is disjoint."""
    test: dict[str, Scores] = {}
    tune: dict[str, Scores] = {}
    for s, run in result.runs.items():
        if run.scores is None:
            continue
        test[s] = load_scores(run.scores)
        tuning = run.run_dir.tuning_scores()
        if tuning is not None:
            tune[s] = tuning
    if len(test) < 2:
        return result
    tuned, tuned_on = None, None
    if len(tune) == len(test):
        try:
            tuned, _ = search_weights(tune, evaluate_on=test)
            tuned_on = next(iter(tune.values())).meta.get("split")
        except FusionError as e:
            print(f"[streams] weight search skipped: {e}", file=sys.stderr)
    result.report = fusion_report(test, tuned=tuned, tuned_on=tuned_on)
    result.tuned_weights = tuned
    result.fused_scores = save_scores(result.root / "scores_fused.npz", fuse(test))
    (result.root / "fusion.json").write_text(json.dumps(result.report.as_dict(), indent=2))
    (result.root / "fusion.txt").write_text(result.report.table() + "\n")
    return result
