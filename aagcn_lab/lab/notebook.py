"""What the notebooks call besides the library: figures and results into the run folder, claims
checked against the numbers beside them, the scope box, and the trained streams they inspect.

* :func:`save_figure`, :func:`record` -- ``<run_root>/figures/<name>.png`` and
  ``<run_root>/results/<notebook>.json`` (the lab index lists both);
* :func:`claim` -- a sentence of the text checked against what the notebook computed
  (:class:`ClaimError` when false); :func:`scope_box` -- this run's settings beside pyskl's recipe;
* :func:`ensure_stream`, :func:`ensure_streams` -- a trained stream (or all four) under
  ``<run_root>/streams``, trained on first use; :func:`training_options` -- the options they train with;
* :func:`dataset_for`, :func:`run_results` -- the evaluation data and the test metrics of a checkpoint's run;
* :func:`warm_batch_norm` -- batch-norm statistics of one batch, to inspect a fresh model in eval mode.

The numbers behind the figures are in :mod:`aagcn_lab.analysis`, the figures in :mod:`aagcn_lab.viz`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..published import NTU60_XSUB

__all__ = [
    "save_figure",
    "record",
    "ClaimError",
    "claim",
    "scope_box",
    "PYSKL_NTU60_XSUB",
    "training_options",
    "stream_root",
    "ensure_stream",
    "ensure_streams",
    "run_results",
    "dataset_for",
    "warm_batch_norm",
    "DataUnavailable",
    "find_ucla",
    "require_ucla",
    "recorded_ucla_table",
    "data_options",
]


def save_figure(fig: Any, run_root: str | os.PathLike, name: str, dpi: int = 110) -> Path:
    """Save a matplotlib figure as ``<run_root>/figures/<name>.png`` (listed in the lab index)."""
    path = Path(run_root) / "figures" / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return path


def record(run_root: str | os.PathLike, notebook: str, **results: Any) -> Path:
    """Merge headline results of a notebook into ``<run_root>/results/<notebook>.json``."""
    path = Path(run_root) / "results" / f"{notebook}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    old = json.loads(path.read_text()) if path.exists() else {}
    old.update(results)
    path.write_text(json.dumps(old, indent=2, default=float))
    return path


def run_results(checkpoint: str | os.PathLike) -> dict:
    """The test metrics (``top1``, ``top5``, ``mean_class_acc``) of the run a checkpoint belongs to
    (its run folder's result); empty when the run has none (e.g. a released file)."""
    from ..train.rundir import RunDir

    result = RunDir(Path(checkpoint).parent).result()
    return (result.test or {}) if result is not None else {}


def training_options(options: Mapping[str, Any], epochs: int = 0) -> dict[str, Any]:
    """The training options of a notebook's run: its ``options`` parameter, with ``epochs`` on top
    when it is set (0 keeps the preset's schedule)."""
    return {**options, **({"epochs": epochs} if epochs else {})}


def stream_root(run_root: str | os.PathLike, preset: str = "builtin") -> Path:
    """Where the lab keeps the stream runs of a preset family: ``<run_root>/streams`` for the built-in
    data, ``<run_root>/streams/<family>`` for any other (so that runs of two datasets never share a folder)."""
    root = Path(run_root) / "streams"
    return root if preset == "builtin" else root / preset


def ensure_stream(
    run_root: str | os.PathLike,
    feat: str = "j",
    preset: str = "builtin",
    checkpoint: str | None = None,
    nproc: int = 1,
    quiet: bool = False,
    name: str = "",
    **overrides: Any,
) -> Path:
    """A trained checkpoint of one stream: ``checkpoint`` if given, else the lab's run of that
    stream (trained now in a child process, :func:`~aagcn_lab.train.launch.launch`, if it has not finished yet). ``name``: the run's folder
    under :func:`stream_root` (default: the stream's name), for variants such as other settings."""
    if checkpoint:
        if not Path(checkpoint).exists():
            raise FileNotFoundError(f"checkpoint {checkpoint} not found")
        return Path(checkpoint)
    from ..streams import stream_configs
    from ..train.launch import launch
    from ..train.rundir import RunDir

    cfg = stream_configs(preset, [feat], stream_root(run_root, preset), **overrides)[feat]
    if name:
        from ..train.config import apply_overrides

        cfg = apply_overrides(cfg, {"work_dir": str(stream_root(run_root, preset) / name)})
    run = RunDir.of(cfg)
    if run.result() is not None and run.best.exists():
        return run.best
    result = launch(cfg, nproc=nproc, resume=True, quiet=quiet)
    return result.checkpoint or run.best


def ensure_streams(
    run_root: str | os.PathLike,
    preset: str = "builtin",
    streams: Sequence[str] = ("j", "b", "jm", "bm"),
    gpus: Sequence[int] | None = None,
    parallel: bool = False,
    nproc: int | None = None,
    quiet: bool = False,
    **options: Any,
) -> Any:
    """Train (or reuse) every stream under the lab's run folder, then fuse: a :class:`StreamsResult`.

    ``options``: ``nnodes``, ``rdzv_endpoint``, ``node_rank`` for several nodes, and any training
    option (``epochs``, ``ann_file``, ``model.base_channels`` ...)."""
    from ..streams import train_streams

    return train_streams(preset, streams, stream_root(run_root, preset), gpus, parallel, nproc, quiet, **options)


def dataset_for(checkpoint: str | os.PathLike, ann_file: str = "", split: str = "", mode: str = "val", feat: str = "") -> Any:
    """The evaluation data of a checkpoint as a :class:`~aagcn_lab.data.SkeletonDataset`: its own
    run's annotation file, test split, clip length and stream unless given (a pyskl checkpoint
    needs ``ann_file`` and ``split``; with neither, the built-in dataset's ``xsub_val`` is used
    when the layouts agree)."""
    from ..data import SkeletonDataset
    from ..data.annotations import resolve_annotations
    from ..model.checkpoint import read_checkpoint

    info = read_checkpoint(checkpoint)
    trained_on = info.provenance
    ann_file = ann_file or trained_on.ann_file or "builtin"
    split = split or trained_on.eval_split or "xsub_val"
    feat = feat or trained_on.feat or "j"
    ann = resolve_annotations(ann_file)
    if ann.num_joints != info.config.get_layout().num_joints:
        raise ValueError(f"{ann.source} has {ann.num_joints} joints; the checkpoint's layout has {info.config.get_layout().num_joints}: pass ann_file")
    return SkeletonDataset(ann, split, feat=feat, mode=mode, clip_len=trained_on.clip_len or 100, layout=info.config.layout)


def warm_batch_norm(model: Any, x: Any) -> None:
    """Set every batch norm's running statistics to those of the batch ``x`` (one pass in train mode,
    nothing else changes). A freshly built model has running statistics 0/1, so in eval mode
    nothing renormalises its activations: they grow block by block and the attention sigmoids
    saturate. Warm the statistics before inspecting a fresh model in eval mode."""
    import torch

    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    saved = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average: after one pass, exactly this batch's statistics
    was_training = model.training
    model.train()
    with torch.no_grad():
        model(x)
    for m, momentum in zip(bns, saved):
        m.momentum = momentum
    model.train(was_training)


class ClaimError(AssertionError):
    """A sentence of a notebook that the computation beside it does not support."""


def claim(run_root: str | os.PathLike, notebook: str, ok: Any, text: str, check: bool = True, **values: Any) -> None:
    """Check a sentence of a notebook's text against what the notebook computed.

    ``text`` is the sentence (as in the markdown), ``ok`` whether the numbers support it, ``values``
    the numbers it rests on. The claim is printed and recorded under ``claims`` in the notebook's
    results; a false one stops the notebook with :class:`ClaimError` naming the sentence and the
    numbers, so text and output cannot disagree silently. ``check=False`` (e.g. a claim about a fully
    trained model in a shortened run) prints the numbers and records the claim as not checked (None)."""
    import numpy as np

    ok = bool(ok) if check else None
    shown = {k: (round(float(v), 4) if isinstance(v, (float, np.floating)) else v) for k, v in values.items()}
    path = Path(run_root) / "results" / f"{notebook}.json"
    old = json.loads(path.read_text()).get("claims", []) if path.exists() else []
    old = [c for c in old if c["text"] != text] + [{"text": text, "ok": ok, "values": shown}]
    record(run_root, notebook, claims=old)
    numbers = ", ".join(f"{k} = {v}" for k, v in shown.items())
    if ok is False:
        raise ClaimError(f"the text says: {text!r}, but the computation gives {numbers or 'otherwise'}; fix the text or the cause")
    print(("checked: " if ok else "not checked in this shortened run: ") + text + (f"  ({numbers})" if numbers else ""))


# pyskl's model zoo, NTU-60 X-Sub, 3D skeletons, top-1 %, under the names notebook 05 prints (one home: aagcn_lab.published)
_PYSKL_ROWS = {"j": "full", "b": "stream_b", "jm": "stream_jm", "bm": "stream_bm", "j+b 1:1": "fusion_2s", "fusion 2:2:1:1": "fusion_4s"}
PYSKL_NTU60_XSUB = {row: NTU60_XSUB[variant][0] for row, variant in _PYSKL_ROWS.items()}

# pyskl's AAGCN configs (configs/aagcn/aagcn_pyskl_ntu60_xsub_3dkp/*.py), as the presets hold them
_PYSKL_PRESET = "aagcn_pyskl_ntu60_xsub_3dkp_j"


def _settings(cfg) -> dict[str, str]:
    from ..model.aagcn import AAGCNConfig

    model = AAGCNConfig(**{**cfg.model, "layout": "nturgb+d", "num_classes": 60})
    return {
        "data": "built-in (synthetic, 23 classes)" if cfg.ann_file == "builtin" else cfg.ann_file,
        "model": f"{model.num_stages} blocks, {model.base_channels} base channels",
        "clip length (frames)": str(cfg.clip_len),
        "passes over the training split": f"{cfg.epochs} epochs x repeat {cfg.repeat} = {cfg.epochs * cfg.repeat}",
        "learning rate": f"{cfg.lr:g} per {cfg.lr_batch} samples, scaled to the global batch ({cfg.batch_size} per process)",
        "weight decay": f"{cfg.weight_decay:g}, " + ("the learned graphs included" if cfg.graph_weight_decay else "not on the learned graphs"),
        "test clips": str(cfg.test_clips),
    }


def scope_box(preset: str = "builtin", feat: str = "j", **overrides: Any) -> Any:
    """A Markdown box: the settings this run uses beside pyskl's NTU-60 recipe, and what the
    built-in accuracies mean (built from the presets, so it cannot drift from them)."""
    from IPython.display import Markdown

    from ..train.config import preset as make

    ours = _settings(make(f"{preset}_{feat}", **overrides))
    ref = _settings(make(_PYSKL_PRESET))
    rows = "\n".join(f"| {k} | {ours[k]} | {ref[k]} |" for k in ours)
    note = (
        "Accuracies on the built-in data say whether the code learns what the data holds, and how the parts compare "
        "*on this data*; they are not estimates of NTU accuracy, and stream rankings here need not match NTU's."
        if ours["data"].startswith("built-in")
        else "These are the recipe's settings, so accuracies are comparable with pyskl's published ones."
    )
    return Markdown(f"**Scope of this run** (preset `{preset}_{feat}`)\n\n| setting | this run | pyskl NTU-60 X-Sub |\n|---|---|---|\n{rows}\n\n{note}")


# ------------------------------------------------------------------------------------------------
# Real data the notebooks use when it is present (notebook 09: NW-UCLA)
# ------------------------------------------------------------------------------------------------

UCLA_SOURCES = (
    "NW-UCLA in CTR-GCN's all_sqe JSON (1,484 clips; Wang et al., CVPR 2014, research use under the dataset's terms): "
    "the data/NW-UCLA folder of CTR-GCN's repository (Uason-Chen/CTR-GCN, README 'Data Preparation'), or the "
    "dataset's authors. Put the all_sqe folder under data/nw_ucla/ (or pass ucla_root)."
)
# where a notebook looks for the data, relative to its folder (notebooks/) and to the repository root
_UCLA_PLACES = ("../../shared/data/nw_ucla", "../shared/data/nw_ucla", "../data/nw_ucla", "data/nw_ucla", "shared/data/nw_ucla")


class DataUnavailable(Exception):
    """A notebook's real data is not there: the message says where to get it. In Jupyter it shows as its
    message alone (no traceback); the lab runner counts the notebook as skipped, not failed."""

    def _render_traceback_(self) -> list[str]:  # IPython: what to show instead of a traceback
        return [str(self)]


def find_ucla(hint: str | os.PathLike = "") -> Path | None:
    """The ``all_sqe`` folder of NW-UCLA: ``hint`` (the folder or its parent), ``$AAGCN_LAB_UCLA``, or the
    usual places (``../shared/data/nw_ucla`` beside the repository, ``data/nw_ucla``); ``None`` if absent."""
    places = [hint] if str(hint) else [os.environ.get("AAGCN_LAB_UCLA", ""), *_UCLA_PLACES]
    for place in filter(None, (str(p) for p in places)):
        p = Path(place)
        for cand in (p, p / "all_sqe"):
            if cand.is_dir() and cand.name == "all_sqe" and any(cand.glob("a*_s*_e*_v*.json")):
                return cand
    return None


def require_ucla(hint: str | os.PathLike = "") -> Path:
    """:func:`find_ucla`, or :class:`DataUnavailable` saying where to get the data and what the notebook shows."""
    found = find_ucla(hint)
    if found is None:
        where = f"{hint!s} holds no all_sqe folder of NW-UCLA clips" if str(hint) else "NW-UCLA is not on this machine"
        raise DataUnavailable(
            f"{where}. This notebook trains the four streams on real Kinect skeletons and compares them with the "
            f"published NW-UCLA table; it needs the data: {UCLA_SOURCES} The other notebooks run without it."
        )
    return found


# The project's recorded runs of the full CPU preset (ucla_cpu_*, 100 epochs), last epoch, top-1 %:
# (stream or fusion, all 464 test clips, the 369 unique ones); the README's "Real data" section has the details.
RECORDED_UCLA_CPU: dict[str, tuple[float, float]] = {
    "j": (90.9, 89.2), "b": (90.7, 88.6), "jm": (90.7, 88.3), "bm": (87.1, 83.7),
    "j+b 1:1": (92.2, 90.5), "2:2:1:1": (95.5, 94.3), "0.6/0.6/0.4/0.4": (95.3, 94.0),
}  # fmt: skip
RECORDED_UCLA_NOTE = "seed 0, 100 epochs, last epoch; aagcn-lab streams --preset ucla_cpu --parallel, 2026-12-07"


def recorded_ucla_table() -> str:
    """The recorded CPU-preset figures as text lines (or a line saying there are none)."""
    if not RECORDED_UCLA_CPU:
        return f"recorded full CPU-preset runs: {RECORDED_UCLA_NOTE}"
    rows = [f"recorded full CPU preset ({RECORDED_UCLA_NOTE}):"]
    rows += [f"  {name:16s} all {a:5.1f}  unique {u:5.1f}" for name, (a, u) in RECORDED_UCLA_CPU.items()]
    return "\n".join(rows)


def data_options(run_root: str | os.PathLike, preset: str = "builtin", ucla_root: str | os.PathLike = "") -> dict[str, str]:
    """The training options that point a preset family at the lab's copy of its data: for the NW-UCLA presets
    (``ucla_*``) ``ann_file`` = ``<run_root>/data/nw_ucla.pkl``, converted from the ``all_sqe`` folder the first
    time (:func:`require_ucla`); nothing for the built-in data or files the options name themselves."""
    if not preset.startswith("ucla_"):
        return {}
    ann = Path(run_root) / "data" / "nw_ucla.pkl"
    if not ann.exists():
        from ..data.ucla import convert_ucla_folder

        report = convert_ucla_folder(require_ucla(ucla_root), ann)
        print(report.summary())
    return {"ann_file": str(ann)}
