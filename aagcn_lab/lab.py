"""The lab: run the numbered notebooks headless (the main job), and the helpers they share.

``aagcn-lab lab`` executes ``notebooks/01_*.ipynb`` ... ``06_*.ipynb`` with papermill into a run
folder (default ``runs/lab``): the executed notebooks, the figures they saved, the models they
trained, and an index (``index.md`` and ``results.json``) with the headline numbers. Papermill
parameters reach every notebook that declares them::

    aagcn-lab lab                                             # built-in dataset, CPU, minutes
    aagcn-lab lab -p epochs 2 --notebooks 01,02               # a quick look
    aagcn-lab lab -p preset aagcn_pyskl_ntu60_xsub_3dkp -p ann_file data/nturgbd/ntu60_3danno.pkl \\
                  -p nproc 8 --out runs/ntu60_xsub            # the full recipe on 8 GPUs

The notebooks share one run folder (``run_root``): notebook 03 trains the joint stream (or loads
``checkpoint``), 04 reuses it, 05 trains the other three streams, 06 fuses them -- each notebook
trains what it needs when it runs alone.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "notebooks_dir",
    "list_notebooks",
    "run_lab",
    "LabResult",
    "save_figure",
    "record",
    "ensure_stream",
    "ensure_streams",
    "stream_root",
    "run_results",
    "batch_per_class",
    "dataset_for",
    "class_statistics",
    "warm_batch_norm",
    "ClaimError",
    "claim",
    "scope_box",
    "graph_changes",
    "stream_intervals",
    "compare_streams",
    "PYSKL_NTU60_XSUB",
]


# ------------------------------------------------------------------------------------------------
# Helpers used inside the notebooks
# ------------------------------------------------------------------------------------------------


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
    (its folder's ``results.json``); empty when the run has none (e.g. a released file)."""
    path = Path(checkpoint).parent / "results.json"
    return (json.loads(path.read_text()).get("test") or {}) if path.exists() else {}


def stream_root(run_root: str | os.PathLike) -> Path:
    """Where the lab keeps the four stream runs."""
    return Path(run_root) / "streams"


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
    stream (trained now through torchrun if it has not finished yet). ``name``: the run's folder
    under ``<run_root>/streams`` (default: the stream's name), for variants such as other settings."""
    if checkpoint:
        if not Path(checkpoint).exists():
            raise FileNotFoundError(f"checkpoint {checkpoint} not found")
        return Path(checkpoint)
    from .streams import stream_configs
    from .train.launch import launch

    cfg = stream_configs(preset, [feat], stream_root(run_root), **overrides)[feat]
    if name:
        from .train.config import apply_overrides

        cfg = apply_overrides(cfg, {"work_dir": str(stream_root(run_root) / name)})
    best = cfg.resolved_work_dir() / "best.pt"
    if (cfg.resolved_work_dir() / "results.json").exists() and best.exists():
        return best
    result = launch(cfg, nproc=nproc, resume=True, quiet=quiet)
    return result.checkpoint or best


def ensure_streams(
    run_root: str | os.PathLike,
    preset: str = "builtin",
    streams: Sequence[str] = ("j", "b", "jm", "bm"),
    gpus: Sequence[int] | None = None,
    parallel: bool = False,
    nproc: int | None = None,
    quiet: bool = False,
    **options: Any,
):
    """Train (or reuse) every stream under the lab's run folder, then fuse: a :class:`StreamsResult`.

    ``options``: ``nnodes``, ``rdzv_endpoint``, ``node_rank`` for several nodes, and any training
    option (``epochs``, ``ann_file``, ``model.base_channels`` ...)."""
    from .streams import train_streams

    return train_streams(preset, streams, stream_root(run_root), gpus, parallel, nproc, quiet, **options)


def dataset_for(checkpoint: str | os.PathLike, ann_file: str = "", split: str = "", mode: str = "val", feat: str = ""):
    """The evaluation data of a checkpoint as a :class:`~aagcn_lab.data.SkeletonDataset`: its own
    run's annotation file, test split, clip length and stream unless given (a pyskl checkpoint
    needs ``ann_file`` and ``split``; with neither, the built-in dataset's ``xsub_val`` is used
    when the layouts agree)."""
    from .data import SkeletonDataset
    from .model.checkpoint import read_checkpoint
    from .train.trainer import resolve_annotations

    info = read_checkpoint(checkpoint)
    run = (info.raw.get("train_state") or {}).get("train_config", {})
    ann_file = ann_file or run.get("ann_file") or "builtin"
    split = split or run.get("test_split") or run.get("val_split") or "xsub_val"
    feat = feat or info.meta.get("feat") or run.get("feat") or "j"
    ann = resolve_annotations(ann_file)
    if ann.num_joints != info.config.get_layout().num_joints:
        raise ValueError(f"{ann.source} has {ann.num_joints} joints; the checkpoint's layout has {info.config.get_layout().num_joints}: pass ann_file")
    return SkeletonDataset(ann, split, feat=feat, mode=mode, clip_len=int(run.get("clip_len", 100)), layout=info.config.layout)


def _spread_over_performers(indices: Sequence[int], frame_dirs: Sequence[str], count: int) -> list[int]:
    """``count`` of ``indices``, one per performer in turn (first take of each, then the second ...),
    so that a class mean is not the mean of one performance seen by three cameras."""
    from .analysis import performer_of

    by_performer: dict[int, list[int]] = {}
    for i in indices:
        try:
            key = performer_of(frame_dirs[i])
        except ValueError:  # ids without a performer field: keep the order
            key = len(by_performer)
        by_performer.setdefault(key, []).append(int(i))
    queues = list(by_performer.values())
    out: list[int] = []
    depth = 0
    while len(out) < count and any(depth < len(q) for q in queues):
        out += [q[depth] for q in queues if depth < len(q)][: count - len(out)]
        depth += 1
    return out


def batch_per_class(dataset, per_class: int = 1, classes: Sequence[int] | None = None):
    """``(x, labels, frame_dirs)``: ``per_class`` samples of each class of a
    :class:`~aagcn_lab.data.SkeletonDataset` (one clip each), in class order, taken from as many
    different performers as the split has."""
    import numpy as np
    import torch

    labels = np.asarray(dataset.labels)
    wanted = list(classes) if classes is not None else sorted(set(labels.tolist()))
    ids = dataset.frame_dirs
    idx = [i for c in wanted for i in _spread_over_performers(np.nonzero(labels == c)[0], ids, per_class)]
    if not idx:
        raise ValueError("no sample of the requested classes in this dataset")
    x = torch.stack([dataset[i][0][0] for i in idx])
    return x, [int(labels[i]) for i in idx], [ids[i] for i in idx]


def warm_batch_norm(model, x) -> None:
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


def class_statistics(model, dataset, layer: int, per_class: int = 8, batch_size: int = 32) -> dict:
    """Per class, the mean over samples (person 0) of what ``model.inspect`` reports at ``layer``:
    spatial attention ``(K, V)``, temporal attention ``(K, T_l)``, channel attention ``(K, C_l)``,
    data-dependent graph ``(K, 3, V, V)`` (entries missing when the model has no such part), and
    the class order ``classes``."""
    import numpy as np

    x, labels, _ = batch_per_class(dataset, per_class)
    labels = np.asarray(labels)
    was_training = model.training
    model.eval()
    parts: dict[str, list] = {"spatial": [], "temporal": [], "channel": [], "data_graph": []}
    for start in range(0, len(x), batch_size):
        lay = model.inspect(x[start : start + batch_size]).layers[layer]
        for key in parts:
            val = getattr(lay, key)
            if val is not None:
                parts[key].append(val[:, 0].float().numpy())
    model.train(was_training)
    classes = sorted(set(labels.tolist()))
    out: dict = {"classes": classes}
    for key, chunks in parts.items():
        if chunks:
            arr = np.concatenate(chunks)
            out[key] = np.stack([arr[labels == c].mean(0) for c in classes])
    return out


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


# pyskl's model zoo, NTU-60 X-Sub, 3D skeletons, top-1 % (configs/aagcn/README.md; reference-training section 5)
PYSKL_NTU60_XSUB = {"j": 89.0, "b": 89.1, "jm": 86.9, "bm": 86.6, "j+b 1:1": 90.8, "fusion 2:2:1:1": 91.5}

# pyskl's AAGCN configs (configs/aagcn/aagcn_pyskl_ntu60_xsub_3dkp/*.py), as the presets hold them
_PYSKL_PRESET = "aagcn_pyskl_ntu60_xsub_3dkp_j"


def _settings(cfg) -> dict[str, str]:
    from .model.aagcn import AAGCNConfig

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

    from .train.config import preset as make

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


def graph_changes(model, checkpoint: str | os.PathLike) -> list:
    """Per layer, the learned graph's change split into weight decay and gradients
    (:class:`~aagcn_lab.analysis.GraphChange`), using the training run stored in ``checkpoint``.

    A checkpoint without its training state (e.g. a released pyskl file) gets factor 1: the whole
    change is then reported as gradient."""

    from .analysis import decay_factor, split_graph_change
    from .model.checkpoint import read_checkpoint
    from .train.config import TrainConfig, apply_overrides
    from .train.trainer import lr_at_step

    state = read_checkpoint(checkpoint).raw.get("train_state") or {}
    factor = 1.0
    if state.get("train_config"):
        cfg = apply_overrides(TrainConfig(), {k: v for k, v in state["train_config"].items() if k in TrainConfig.__dataclass_fields__})
        batch = int(state["global_batch"])
        base_lr = cfg.lr * batch / cfg.lr_batch
        steps_per_epoch = int(state.get("steps_per_epoch") or state["global_step"] // max(state["epoch"], 1))
        lrs = [lr_at_step(cfg, base_lr, steps_per_epoch, i) for i in range(int(state["global_step"]))]
        factor = decay_factor(lrs, cfg.weight_decay if cfg.graph_weight_decay else 0.0, cfg.momentum, cfg.nesterov)
    initial = model.backbone.A.detach().double().numpy()
    return [split_graph_change(initial, block.gcn.static_graph().detach().double().numpy(), factor) for block in model.backbone.gcn]


def stream_intervals(scores: Mapping[str, Any], n_boot: int = 2000, level: float = 0.95) -> dict:
    """Top-1 of each :class:`~aagcn_lab.scores.Scores` with an interval (``level``) from a bootstrap over performers."""
    import numpy as np

    from .analysis import bootstrap_accuracy, performer_of

    out = {}
    for name, sc in scores.items():
        groups = [performer_of(f) for f in sc.frame_dir]
        out[name] = bootstrap_accuracy(np.asarray(sc.probs).argmax(1) == np.asarray(sc.labels), groups, n_boot, level=level)
    return out


def compare_streams(a, b, n_boot: int = 2000):
    """Top-1 of Scores ``a`` minus that of ``b`` on the same samples (matched by id), with a paired
    bootstrap over performers: an :class:`~aagcn_lab.analysis.Interval`."""
    import numpy as np

    from .analysis import bootstrap_difference, performer_of

    b = b.reorder(a.frame_dir)
    groups = [performer_of(f) for f in a.frame_dir]
    return bootstrap_difference(a.probs.argmax(1) == a.labels, np.asarray(b.probs).argmax(1) == np.asarray(b.labels), groups, n_boot)


# ------------------------------------------------------------------------------------------------
# The main job
# ------------------------------------------------------------------------------------------------


def notebooks_dir() -> Path:
    """The repository's ``notebooks/`` folder (next to the package, or under the current folder)."""
    for cand in (Path(__file__).resolve().parents[1] / "notebooks", Path.cwd() / "notebooks"):
        if cand.is_dir() and list(cand.glob("[0-9][0-9]_*.ipynb")):
            return cand
    raise FileNotFoundError("cannot find the notebooks/ folder; run from the repository root or pass --notebooks-dir")


def list_notebooks(folder: str | os.PathLike | None = None, only: Sequence[str] | None = None) -> list[Path]:
    """The numbered notebooks, in order (``only``: numbers or names to keep, e.g. ['01', '04'])."""
    nbs = sorted(Path(folder or notebooks_dir()).glob("[0-9][0-9]_*.ipynb"))
    if only:
        wanted = {str(o).zfill(2) if str(o).isdigit() else str(o) for o in only}
        nbs = [nb for nb in nbs if nb.name[:2] in wanted or nb.stem in wanted or nb.name in wanted]
        if not nbs:
            raise FileNotFoundError(f"no notebook matches {', '.join(only)}")
    return nbs


@dataclass
class LabResult:
    """Where the lab wrote everything, and what each notebook reported."""

    out_dir: Path
    notebooks: list[dict] = field(default_factory=list)  # name, status, seconds, output, error
    results: dict[str, dict] = field(default_factory=dict)
    figures: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every notebook ran without an error."""
        return all(nb["status"] == "ok" for nb in self.notebooks)


def _declared_parameters(nb: Path) -> set[str]:
    """Names assigned in the notebook's cell tagged ``parameters`` (read with ``ast``: exact)."""
    import ast

    cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
    names: set[str] = set()
    for cell in cells:
        if cell["cell_type"] == "code" and "parameters" in cell.get("metadata", {}).get("tags", []):
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            for node in ast.parse(source).body:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
                names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


def run_lab(
    out_dir: str | os.PathLike = "runs/lab",
    parameters: Mapping[str, Any] | None = None,
    notebooks: Sequence[str] | None = None,
    notebooks_folder: str | os.PathLike | None = None,
    kernel: str = "python3",
    stop_on_error: bool = False,
    quiet: bool = False,
    cell_timeout: int | None = None,
) -> LabResult:
    """Execute the notebooks with papermill into ``out_dir``; write ``index.md`` and ``results.json``.

    ``cell_timeout`` (seconds, default none) fails a cell that runs longer, instead of waiting forever.
    """
    import papermill

    out = Path(out_dir).resolve()
    (out / "notebooks").mkdir(parents=True, exist_ok=True)
    folder = Path(notebooks_folder or notebooks_dir())
    params = {"run_root": str(out), **(parameters or {})}
    result = LabResult(out)
    for nb in list_notebooks(folder, notebooks):
        declared = _declared_parameters(nb)
        unknown = sorted(set(params) - declared - {"run_root"})
        given = {k: v for k, v in params.items() if k in declared}
        target = out / "notebooks" / nb.name
        if not quiet:
            extra = f" (not used here: {', '.join(unknown)})" if unknown else ""
            print(f"[lab] {nb.name} ...{extra}", flush=True)
        t0 = time.perf_counter()
        entry = {"name": nb.name, "output": str(target), "parameters": given}
        try:
            papermill.execute_notebook(str(nb), str(target), parameters=given, kernel_name=kernel, cwd=str(folder), progress_bar=False,
                                      execution_timeout=cell_timeout)
            entry["status"] = "ok"
        except Exception as e:  # papermill raises PapermillExecutionError with the cell's traceback
            entry["status"] = "error"
            entry["error"] = f"{type(e).__name__}: {str(e).strip().splitlines()[-1] if str(e).strip() else e}"
            if not quiet:
                print(f"[lab] {nb.name} failed: {entry['error']} (see {target})", file=sys.stderr, flush=True)
        entry["seconds"] = round(time.perf_counter() - t0, 1)
        result.notebooks.append(entry)
        if not quiet and entry["status"] == "ok":
            print(f"[lab] {nb.name} done in {entry['seconds']:.0f} s", flush=True)
        if entry["status"] != "ok" and stop_on_error:
            break
    for f in sorted((out / "results").glob("*.json")):
        result.results[f.stem] = json.loads(f.read_text())
    result.figures = sorted((out / "figures").glob("*.png"))
    _write_index(result)
    return result


def _write_index(result: LabResult) -> None:
    out = result.out_dir
    (out / "results.json").write_text(
        json.dumps(
            {"notebooks": result.notebooks, "results": result.results, "figures": [str(f.relative_to(out)) for f in result.figures]},
            indent=2,
            default=float,
        )
    )
    lines = ["# aagcn_lab run", "", f"Folder: `{out}`", "", "## Notebooks", ""]
    for nb in result.notebooks:
        status = "ok" if nb["status"] == "ok" else f"**failed**: {nb.get('error', '')}"
        lines.append(f"- [{nb['name']}](notebooks/{nb['name']}) -- {status} ({nb['seconds']:.0f} s)")
    lines += ["", "## Results", ""]
    for name, res in result.results.items():
        lines.append(f"### {name}")
        for k, v in res.items():
            lines.append(f"- {k}: {v:.4f}" if isinstance(v, float) else f"- {k}: {json.dumps(v, default=float)}")
        lines.append("")
    lines += ["## Figures", ""]
    for f in result.figures:
        rel = f.relative_to(out)
        lines += [f"### {f.stem}", "", f"![{f.stem}]({rel})", ""]
    (out / "index.md").write_text("\n".join(lines))


def _parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def cli(args: argparse.Namespace, extra: Sequence[str]) -> int:
    """``aagcn-lab lab [-p NAME VALUE]... [--out DIR] [--notebooks 01,04]``."""
    p = argparse.ArgumentParser(prog="aagcn-lab lab", description="Run every notebook headless (the main job).")
    p.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"), help="papermill parameter")
    p.add_argument("--out", default="runs/lab", help="run folder (default runs/lab)")
    p.add_argument("--notebooks", default=None, help="which notebooks, e.g. 01,03 (default: all)")
    p.add_argument("--notebooks-dir", default=None)
    p.add_argument("--stop-on-error", action="store_true")
    p.add_argument("--cell-timeout", type=int, default=None, help="fail a cell that runs longer than this (seconds)")
    a = p.parse_args(extra)
    params = {k: _parse_value(v) for k, v in a.parameter}
    try:
        res = run_lab(a.out, params, a.notebooks.split(",") if a.notebooks else None, a.notebooks_dir, stop_on_error=a.stop_on_error,
                      cell_timeout=a.cell_timeout)
    except FileNotFoundError as e:
        print(f"aagcn-lab lab: {e}", file=sys.stderr)
        return 2
    print(f"\n[lab] executed notebooks, figures and the index are in {res.out_dir}")
    print(f"[lab] index: {res.out_dir / 'index.md'}")
    for name, r in res.results.items():
        headline = {k: v for k, v in r.items() if isinstance(v, (int, float))}
        if headline:
            print(f"[lab] {name}: " + ", ".join(f"{k} {v:.4g}" for k, v in list(headline.items())[:6]))
    return 0 if res.ok else 1
