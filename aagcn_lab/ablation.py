"""The paper's claims as an experiment: an ablation grid run by the package's trainer.

Every variant is an :class:`~aagcn_lab.model.aagcn.AAGCNConfig` switch (or a stream, or a fusion
of the full model's streams); every variant and seed trains in its own run folder
``<root>/<model>/seed<k>/<stream>`` through :func:`aagcn_lab.streams.train_streams`, so a finished
run is not trained again and an interrupted one resumes from its ``latest.pt``. Fusion variants
fuse the full model's stream scores by sample id (:func:`aagcn_lab.fusion.fuse`).

What the numbers mean:

* per variant, the test top-1 of every seed, their mean and spread (sample standard deviation),
  and a Student-t interval **over seeds** (training randomness on a fixed test split); beside it,
  a bootstrap interval **over test performers** of the seed-averaged accuracy (test-set noise);
* :func:`compare` says whether two variants can be told apart: only when the Welch interval over
  seeds *and* the paired bootstrap over performers both exclude 0. With one seed there is no
  spread to judge by, and the verdict says so;
* a **collapsed seed** (:func:`collapsed_seeds`: a run within 5 points of chance, or one whose gain
  over chance is under two thirds of its best sibling's) is flagged in the table (``!``), and a
  verdict that rests on one reports no difference, whatever the intervals say. On built-in data, 5 epochs at
  the preset's batch of 32 collapse ``full`` seed 0 (its loss leaves its early plateau only once the cosine lr
  has decayed); at a batch of 8 (more optimizer steps, little more CPU time) no seed 0-2 of ``full``,
  ``no_attention`` or ``fixed_graph`` collapsed: notebook 08's default.

::

    aagcn-lab ablation --variants full,no_attention --seeds 0,1 --epochs 5 --batch_size 8  # CPU, built-in data
    aagcn-lab ablation --preset aagcn_pyskl_ntu60_xsub_3dkp --variants all --seeds 0,1,2 \\
        --gpus 0,1,2,3,4,5,6,7 --parallel --ann_file data/nturgbd/ntu60_3danno.pkl
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .published import NTU60_XSUB
from .stats import bootstrap_accuracy, bootstrap_difference, mean_interval, t_quantile, welch_half_width

__all__ = [
    "MODELS",
    "VARIANTS",
    "PUBLISHED_NTU60_XSUB",
    "Variant",
    "VariantSummary",
    "Verdict",
    "AblationResult",
    "resolve_variants",
    "plan_runs",
    "run_ablation",
    "load_ablation",
    "summarise",
    "compare",
    "collapsed_seeds",
    "COLLAPSE_MARGIN",
    "COLLAPSE_RATIO",
    "t_quantile",
]

# model switches (AAGCNConfig overrides); "full" is pyskl's AAGCN unchanged (its state-dict keys too)
MODELS: dict[str, dict] = {
    "full": {},
    "fixed_graph": {"graph": "fixed"},
    "no_data_graph": {"data_dependent": False},
    "no_spatial_attention": {"spatial_attention": False},
    "no_temporal_attention": {"temporal_attention": False},
    "no_channel_attention": {"channel_attention": False},
    "no_attention": {"spatial_attention": False, "temporal_attention": False, "channel_attention": False},
    "cvpr_unit": {"graph": "cvpr"},
}


@dataclass(frozen=True)
class Variant:
    """One row of the study: a model of :data:`MODELS`, the streams it trains, fusion weights."""

    name: str
    description: str
    model: str = "full"
    streams: tuple[str, ...] = ("j",)
    weights: tuple[float, ...] = ()  # fusion weights, one per stream (several streams only)


VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant("full", "full AAGCN, joint stream (pyskl's model)"),
        Variant("fixed_graph", "adaptive graph off: the partition A as a fixed buffer", "fixed_graph"),
        Variant("no_data_graph", "data-dependent graph off: no C_k, no alpha", "no_data_graph"),
        Variant("no_spatial_attention", "spatial attention off", "no_spatial_attention"),
        Variant("no_temporal_attention", "temporal attention off", "no_temporal_attention"),
        Variant("no_channel_attention", "channel attention off", "no_channel_attention"),
        Variant("no_attention", "all three attentions off", "no_attention"),
        Variant("cvpr_unit", "the CVPR'19 graph unit (A + B + softmax C), attention on", "cvpr_unit"),
        Variant("stream_b", "full model, bone stream", streams=("b",)),
        Variant("stream_jm", "full model, joint-motion stream", streams=("jm",)),
        Variant("stream_bm", "full model, bone-motion stream", streams=("bm",)),
        Variant("fusion_2s", "j + b fused 1:1 (pyskl's 2s)", streams=("j", "b"), weights=(1.0, 1.0)),
        Variant("fusion_4s", "j, b, jm, bm fused 2:2:1:1 (pyskl's 4s)", streams=("j", "b", "jm", "bm"), weights=(2.0, 2.0, 1.0, 1.0)),
    )
}

# Published NTU-60 X-Sub top-1 (%) for the variants that have one: one home, aagcn_lab.published
PUBLISHED_NTU60_XSUB = NTU60_XSUB

# the runner's defaults on top of the preset: test the last epoch's model, no model selection
# (pyskl's --test-last; cheaper, and nothing is chosen on any split)
STUDY_DEFAULTS = {"test_checkpoint": "last", "val_split": ""}
# settings that do not change what a run computes (a finished run is reused despite them)
_NEUTRAL = {"work_dir", "progress", "tensorboard", "log_interval", "num_workers", "storage", "preset", "save_interval"}


def resolve_variants(names: str | Sequence[str]) -> list[Variant]:
    """Variants by name (``'all'``, a comma-separated string or a list); unknown names are an error."""
    if isinstance(names, str):
        names = list(VARIANTS) if names.strip() == "all" else [n.strip() for n in names.split(",") if n.strip()]
    unknown = [n for n in names if n not in VARIANTS]
    if unknown or not names:
        raise KeyError(f"unknown ablation variant(s) {', '.join(unknown) or '(none given)'}; variants: all, {', '.join(VARIANTS)}")
    return [VARIANTS[n] for n in dict.fromkeys(names)]


def _base_config(preset: str, validate: bool, overrides: Mapping):
    from .train.config import apply_overrides
    from .train.config import preset as make

    cfg = make(f"{preset}_j")
    study = {} if validate else {**STUDY_DEFAULTS, "test_split": cfg.test_split or cfg.val_split}
    return apply_overrides(cfg, {**study, **overrides})


def plan_runs(root: str | os.PathLike, variants: Sequence[Variant], seeds: Sequence[int], preset: str = "builtin",
              validate: bool = False, **overrides) -> dict[tuple[str, int, str], object]:
    """The runs the variants need, ``(model, seed, stream) -> TrainConfig``, each shared once."""
    from .train.config import apply_overrides

    if not seeds:
        raise ValueError("give at least one seed")
    base = _base_config(preset, validate, overrides)
    runs = {}
    for v in variants:
        for seed in seeds:
            for feat in v.streams:
                model = {**base.model, **MODELS[v.model]}
                work = Path(root) / v.model / f"seed{seed}" / feat
                runs[(v.model, int(seed), feat)] = apply_overrides(base, {"feat": feat, "seed": int(seed), "model": model, "work_dir": str(work)})
    return runs


def _check_reusable(cfg) -> None:
    """Refuse a run folder that holds a run of other settings (it would be skipped or resumed wrongly)."""
    from .train.rundir import RunDir

    path = RunDir.of(cfg).launch_config
    if not path.exists():
        return
    old, new = json.loads(path.read_text()), cfg.to_dict()
    differ = sorted(k for k in new if k not in _NEUTRAL and old.get(k) != new[k])
    if differ:
        shown = ", ".join(f"{k}: {old.get(k)!r} there, {new[k]!r} now" for k in differ[:4])
        raise ValueError(f"{cfg.resolved_work_dir()} holds a run with other settings ({shown}); delete it or use another root")


def _train_all(runs: Mapping, gpus: Sequence[int] | None, parallel: bool, nproc: int, quiet: bool) -> dict:
    """Train (or resume) every run not finished yet, side by side when ``parallel`` (:func:`~aagcn_lab.train.launch.launch_all`)."""
    from .train.launch import launch_all
    from .train.rundir import RunDir

    done = {key: RunDir.of(cfg).finished() for key, cfg in runs.items()}
    todo = [key for key, res in done.items() if res is None]

    def report(i: int, res) -> None:
        key = todo[i]
        done[key] = res
        if not quiet:
            print(f"[ablation] {key[0]} seed {key[1]} {key[2]}: test top-1 {res.test.get('top1', float('nan')):.4f}", flush=True)

    launch_all([runs[key] for key in todo], gpus, nproc, parallel, quiet=True, on_done=report)
    return done


@dataclass
class VariantSummary:
    """A variant's test top-1 per seed and what they say together (fractions, not percent)."""

    name: str
    seeds: list[int]
    top1: np.ndarray  # per seed
    mean: float
    std: float  # sample standard deviation over seeds (0 with one seed)
    low: float  # Student-t interval over seeds, cut to [0, 1] (nan with one seed)
    high: float
    level: float
    sample_low: float = math.nan  # bootstrap over test performers of the seed-averaged accuracy
    sample_high: float = math.nan
    correct: np.ndarray | None = field(default=None, repr=False)  # (seeds, samples), for paired comparisons
    groups: np.ndarray | None = field(default=None, repr=False)
    ids: list[str] | None = field(default=None, repr=False)
    chance: float = math.nan  # 1 / classes (nan: unknown)
    collapsed: list[int] = field(default_factory=list)  # positions in ``seeds`` of collapsed runs (:func:`collapsed_seeds`)

    def as_dict(self) -> dict:
        """JSON-able numbers."""
        return {"name": self.name, "seeds": self.seeds, "top1": [float(t) for t in self.top1], "mean": self.mean, "std": self.std,
                "low": self.low, "high": self.high, "level": self.level, "sample_low": self.sample_low, "sample_high": self.sample_high,
                "chance": self.chance, "collapsed": list(self.collapsed)}  # fmt: skip

    def collapse_notes(self) -> list[str]:
        """Each collapsed seed in words: ``full seed 0 (41.5 %, its best sibling 76.0 %)``."""
        notes = []
        for k in self.collapsed:
            others = [t for i, t in enumerate(self.top1) if i != k and i not in self.collapsed]
            beside = f", its best sibling {100 * max(others):.1f} %" if others else f", chance {100 * self.chance:.1f} %"
            notes.append(f"{self.name} seed {self.seeds[k]} ({100 * self.top1[k]:.1f} %{beside})")
        return notes


COLLAPSE_MARGIN = 0.05  # a run within this of chance learned nothing
COLLAPSE_RATIO = 2 / 3  # a run whose gain over chance is under this share of its best sibling's collapsed


def collapsed_seeds(top1: Sequence[float], chance: float = math.nan, margin: float = COLLAPSE_MARGIN,
                    ratio: float = COLLAPSE_RATIO) -> list[int]:
    """Positions of collapsed runs among one variant's seeds: top-1 within ``margin`` of ``chance``, or a gain over
    chance under ``ratio`` times that of its best sibling (another seed of the variant); none when ``chance`` is nan."""
    x = np.asarray(top1, np.float64)
    if math.isnan(chance):
        return []
    gain = x - chance
    out = []
    for k in range(len(x)):
        near_chance = x[k] < chance + margin
        siblings = np.delete(gain, k)
        far_below = len(siblings) > 0 and gain[k] < ratio * siblings.max()
        if near_chance or far_below:
            out.append(k)
    return out


def summarise(name: str, correct: np.ndarray, groups: Sequence | None = None, seeds: Sequence[int] | None = None,
              ids: Sequence[str] | None = None, level: float = 0.95, n_boot: int = 2000, chance: float = math.nan) -> VariantSummary:
    """Mean, spread and intervals of one variant from its per-seed, per-sample correctness ``(seeds, samples)``;
    ``chance`` (1 / classes) lets :func:`collapsed_seeds` flag a run near chance."""
    correct = np.asarray(correct, np.float64)
    if correct.ndim != 2 or not correct.size:
        raise ValueError(f"{name}: need correctness of shape (seeds, samples), got {correct.shape}")
    if groups is not None and len(groups) != correct.shape[1]:
        raise ValueError(f"{name}: {correct.shape[1]} samples but {len(groups)} groups")
    top1 = correct.mean(1)
    n = len(top1)
    mean, std, half = mean_interval(top1, level)
    low, high = (max(0.0, mean - half), min(1.0, mean + half)) if n > 1 else (math.nan, math.nan)  # an accuracy stays in [0, 1]
    out = VariantSummary(name, list(seeds) if seeds is not None else list(range(n)), top1, mean, std, low, high, level,
                         correct=correct, groups=None if groups is None else np.asarray(groups), ids=None if ids is None else list(ids),
                         chance=float(chance), collapsed=collapsed_seeds(top1, chance))  # fmt: skip
    if groups is not None:
        iv = bootstrap_accuracy(correct.mean(0), groups, n_boot, level=level)
        out.sample_low, out.sample_high = iv.low, iv.high
    return out


@dataclass
class Verdict:
    """Whether variant ``a`` and ``b`` can be told apart with the seeds (and test samples) used."""

    a: str
    b: str
    difference: float  # mean top-1 of a minus b (fraction)
    seed_low: float  # Welch interval over seeds (nan with fewer than two seeds on a side)
    seed_high: float
    sample_low: float  # paired bootstrap over test performers of the seed-averaged difference
    sample_high: float
    seeds: tuple[int, int]
    apart: bool
    collapsed: tuple[str, ...] = ()  # the collapsed seeds of either side, in words: then no difference is reported

    @property
    def text(self) -> str:
        """One honest sentence."""
        diff = f"{self.a} minus {self.b}: {100 * self.difference:+.1f} points"
        if self.collapsed:
            return (f"{diff}, but it rests on a collapsed seed ({'; '.join(self.collapsed)}): not a difference to report; "
                    "rerun that seed or train longer")  # fmt: skip
        if min(self.seeds) < 2:
            return f"{diff}; cannot tell apart: one seed gives no spread to judge the difference by"
        seeds = f"over seeds [{100 * self.seed_low:+.1f}, {100 * self.seed_high:+.1f}]"
        sample = "" if math.isnan(self.sample_low) else f", over test performers [{100 * self.sample_low:+.1f}, {100 * self.sample_high:+.1f}]"
        if self.apart:
            return f"{diff} ({seeds}{sample}): told apart with {self.seeds[0]} and {self.seeds[1]} seeds"
        return f"{diff} ({seeds}{sample}): cannot tell apart with {self.seeds[0]} and {self.seeds[1]} seeds"


def compare(a: VariantSummary, b: VariantSummary, level: float = 0.95, n_boot: int = 2000) -> Verdict:
    """Welch interval over seeds and paired bootstrap over performers; apart only when both exclude 0."""
    na, nb = len(a.top1), len(b.top1)
    diff = a.mean - b.mean
    seed_low = seed_high = math.nan
    if na > 1 and nb > 1:
        half = welch_half_width(a.std, na, b.std, nb, level)  # 0 when every seed of both gave the same accuracy
        seed_low, seed_high = max(-1.0, diff - half), min(1.0, diff + half)  # a difference of accuracies stays in [-1, 1]
    sample_low = sample_high = math.nan
    if a.correct is not None and b.correct is not None and a.groups is not None and a.ids is not None and b.ids is not None:
        if sorted(a.ids) != sorted(b.ids):
            raise ValueError(f"{a.name} and {b.name} were tested on different samples")
        order = {i: k for k, i in enumerate(b.ids)}
        b_mean = b.correct.mean(0)[[order[i] for i in a.ids]]
        iv = bootstrap_difference(a.correct.mean(0), b_mean, a.groups, n_boot, level=level)
        sample_low, sample_high = iv.low, iv.high
    seed_apart = na > 1 and nb > 1 and not (seed_low <= 0 <= seed_high)
    sample_apart = math.isnan(sample_low) or not (sample_low <= 0 <= sample_high)
    collapsed = (*a.collapse_notes(), *b.collapse_notes())
    apart = bool(seed_apart and sample_apart and not collapsed)
    return Verdict(a.name, b.name, diff, seed_low, seed_high, sample_low, sample_high, (na, nb), apart, collapsed)


@dataclass
class AblationResult:
    """Every variant's summary, and where its runs are."""

    root: Path
    variants: dict[str, VariantSummary]
    descriptions: dict[str, str]
    runs: dict = field(default_factory=dict)  # (model, seed, stream) -> RunResult

    def compare(self, a: str, b: str = "full", level: float | None = None) -> Verdict:
        """:func:`compare` of two variants by name."""
        return compare(self.variants[a], self.variants[b], level or self.variants[a].level)

    def table(self) -> str:
        """Mean, spread and both intervals per variant, in percent."""
        rows = [f"{'variant':24s} {'seeds':>5s} {'mean':>6s} {'sd':>5s} {'over seeds':>15s} {'over performers':>16s}  per seed"]
        for s in self.variants.values():
            seed_iv = "-" if math.isnan(s.low) else f"[{100 * s.low:.1f}, {100 * s.high:.1f}]"
            perf_iv = "-" if math.isnan(s.sample_low) else f"[{100 * s.sample_low:.1f}, {100 * s.sample_high:.1f}]"
            per = " ".join(f"{100 * t:.1f}{'!' if k in s.collapsed else ''}" for k, t in enumerate(s.top1))
            rows.append(f"{s.name:24s} {len(s.top1):5d} {100 * s.mean:6.1f} {100 * s.std:5.1f} {seed_iv:>15s} {perf_iv:>16s}  {per}")
        level = next(iter(self.variants.values())).level if self.variants else 0.95
        rows.append(f"(top-1 %, {level:.0%} intervals: Student t over seeds; bootstrap over test performers of the seed mean)")
        notes = [n for s in self.variants.values() for n in s.collapse_notes()]
        if notes:
            rows.append(f"! collapsed seed (within {100 * COLLAPSE_MARGIN:.0f} points of chance, or a gain over chance under "
                        f"{COLLAPSE_RATIO:.0%} of its best sibling's): {'; '.join(notes)}. A comparison with its variant "
                        "reports no difference: rerun that seed or train longer.")  # fmt: skip
        return "\n".join(rows)

    def as_dict(self) -> dict:
        """JSON-able: per variant, its description and numbers."""
        return {"root": str(self.root), "variants": {n: {**s.as_dict(), "description": self.descriptions.get(n, "")} for n, s in self.variants.items()}}


def _correctness(variant: Variant, per_seed: Mapping[int, Mapping[str, object]]) -> tuple[np.ndarray, list[str], np.ndarray, int]:
    """``(seeds, samples)`` correctness of a variant from its runs' score files, rows matched by id; the groups; classes."""
    from .analysis import performer_of
    from .fusion import fuse
    from .scores import load_scores

    rows, ids = [], None
    for seed, runs in per_seed.items():
        scores = {feat: load_scores(runs[feat].scores) for feat in variant.streams}
        sc = scores[variant.streams[0]] if len(scores) == 1 else fuse(scores, dict(zip(variant.streams, variant.weights)))
        if ids is None:
            ids = list(sc.frame_dir)
        elif sorted(ids) != sorted(sc.frame_dir):
            raise ValueError(f"{variant.name}: seed {seed} was tested on other samples than the first seed")
        sc = sc.reorder(ids)
        if sc.labels is None:
            raise ValueError(f"{variant.name}: the score files of seed {seed} have no labels")
        rows.append(sc.probs.argmax(1) == sc.labels)
    try:
        groups = np.array([performer_of(i) for i in ids])
    except ValueError:  # ids without a performer field: the samples themselves are the groups
        groups = np.arange(len(ids))
    return np.stack(rows), ids, groups, sc.num_classes


def _collect(root: Path, variants: Sequence[Variant], seeds: Sequence[int], results: Mapping, level: float) -> AblationResult:
    out = AblationResult(root, {}, {v.name: v.description for v in variants}, dict(results))
    for v in variants:
        per_seed = {s: {f: results[(v.model, int(s), f)] for f in v.streams} for s in seeds}
        missing = [str(r.work_dir) for runs in per_seed.values() for r in runs.values() if r.scores is None]
        if missing:
            raise ValueError(f"{v.name}: runs without test scores: {', '.join(missing)}")
        correct, ids, groups, classes = _correctness(v, per_seed)
        out.variants[v.name] = summarise(v.name, correct, groups, list(seeds), ids, level, chance=1 / classes)
    (root / "ablation.json").write_text(json.dumps(out.as_dict(), indent=2))
    (root / "ablation.txt").write_text(out.table() + "\n")
    return out


def run_ablation(
    root: str | os.PathLike = "runs/ablation",
    variants: str | Sequence[str] = ("full", "no_attention"),
    seeds: Sequence[int] = (0, 1),
    preset: str = "builtin",
    gpus: Sequence[int] | None = None,
    parallel: bool = True,
    nproc: int = 1,
    validate: bool = False,
    level: float = 0.95,
    quiet: bool = False,
    **overrides,
) -> AblationResult:
    """Train (or resume, or reuse) every run the variants need, then summarise each variant over seeds.

    ``preset``: a preset family (``builtin``, ``aagcn_pyskl_ntu60_xsub_3dkp`` ...); ``overrides``:
    training options for every run (``epochs``, ``ann_file``, ``test_clips`` ...). By default each
    run tests its last epoch's model (``validate=True`` keeps the preset's validation and best-model
    choice). ``parallel``: on CPU waves of one single-threaded run per core (the last wave shares the
    cores); with ``gpus``, disjoint GPU sets per run (else every run uses all of them, one after another).
    """
    from .data.validate import check_int

    root = Path(root)
    chosen = resolve_variants(variants)
    seeds = [check_int(f"seeds[{i}]", s, 0) for i, s in enumerate(seeds)]  # the command line: --seeds, named there
    runs = plan_runs(root, chosen, seeds, preset, validate, **overrides)
    for cfg in runs.values():
        _check_reusable(cfg)
    root.mkdir(parents=True, exist_ok=True)
    if not quiet:
        print(f"[ablation] {len(chosen)} variant(s) x {len(seeds)} seed(s): {len(runs)} run(s) under {root}", file=sys.stderr, flush=True)
    results = _train_all(runs, gpus, parallel, nproc, quiet)
    return _collect(root, chosen, seeds, results, level)


def load_ablation(root: str | os.PathLike, variants: str | Sequence[str], seeds: Sequence[int], level: float = 0.95) -> AblationResult:
    """Summarise finished runs under ``root`` without training (an error names any run not finished)."""
    from .train.rundir import RunDir

    root = Path(root)
    chosen = resolve_variants(variants)
    results = {}
    for v in chosen:
        for s in seeds:
            for feat in v.streams:
                run = RunDir(root / v.model / f"seed{int(s)}" / feat)
                results[(v.model, int(s), feat)] = run.result()
                if results[(v.model, int(s), feat)] is None:
                    raise FileNotFoundError(f"{run.path}: not a finished run (no {run.results.name}); run the grid first")
    return _collect(root, chosen, [int(s) for s in seeds], results, level)
