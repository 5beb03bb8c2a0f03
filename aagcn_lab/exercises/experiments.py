"""Checked experiments: predict whether a short experiment's effect is bigger, smaller or cannot be told
apart from nothing, run it through the package, and judge the prediction by the effect's interval.

An effect is a difference (the experiment minus its baseline) with an interval: ``bigger`` when the
whole interval lies above 0, ``smaller`` when it lies below, ``cannot be told apart`` when it holds 0
-- the sign of the point estimate alone decides nothing. Notebook 06 fuses log-probabilities instead
of probabilities (no training); notebook 08 asks the same of the variant a learner named
(:mod:`.ablation`, judged by its verdict, which both intervals must clear).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from .core import Wrong, read_choice, register

__all__ = ["EFFECTS", "effect_word", "effect_text", "log_fusion", "probe_scores", "decay_only"]

EFFECTS = ("bigger", "smaller", "cannot be told apart")


def effect_word(low: float, high: float) -> str:
    """``bigger`` / ``smaller`` / ``cannot be told apart``: where an effect's interval lies against 0 (nan: apart from nothing)."""
    if math.isnan(low) or math.isnan(high) or low <= 0 <= high:
        return EFFECTS[2]
    return EFFECTS[0] if low > 0 else EFFECTS[1]


def effect_text(effect: Any) -> str:
    """An effect in points with its interval: ``+1.3 points [-0.4, +2.9]``."""
    return f"{100 * effect.value:+.1f} points [{100 * effect.low:+.1f}, {100 * effect.high:+.1f}]"


def _check_effect(answer: Any, effect: Any, what: str, nudge: str) -> str:
    said = read_choice(answer, EFFECTS, "your prediction")
    truth = effect_word(effect.low, effect.high)
    measured = f"{what}: {effect_text(effect)}"
    if truth == EFFECTS[2]:
        reading = "the interval contains 0, so the two cannot be told apart"
        if said != truth:
            side = "above" if effect.value > 0 else "below"
            reading += f" (the point estimate lies {side} 0, but so could the truth lie on the other side)"
    else:
        reading = f"the whole interval lies {'above' if truth == EFFECTS[0] else 'below'} 0: {truth}"
    if said != truth:
        raise Wrong(f"you said {said!r}; {measured}: {reading}", nudge=nudge)
    return f"yes: {measured}: {reading}"


def _effect_solution(effect: Any = None, **_: Any) -> str:
    if effect is None:
        raise TypeError("needs the notebook's measured effect (an Interval)")
    return effect_word(effect.low, effect.high)


def probe_scores(checkpoint: Any, model: Any = None, keypoints: Any = None, num_clips: int = 10) -> Any:
    """The test-split :class:`~aagcn_lab.scores.Scores` of ``model`` (default: the checkpoint's own) under the
    checkpoint's test protocol (data, split, stream, clip length; ``num_clips`` clips), each record's keypoints first
    passed through ``keypoints`` when given: an experiment without training, compared with the run's own score file
    sample by sample (test-time sampling is deterministic)."""
    from ..data import SkeletonDataset
    from ..data.annotations import resolve_annotations
    from ..model.checkpoint import read_checkpoint
    from ..train.evaluation import evaluate

    info = read_checkpoint(checkpoint)
    model = info.build_model() if model is None else model
    run = info.provenance
    records = resolve_annotations(run.ann_file or "builtin", model.cfg.layout if isinstance(model.cfg.layout, str) else "").select(run.eval_split)
    if keypoints is not None:
        records = [{**r, "keypoint": keypoints(np.asarray(r["keypoint"]))} for r in records]
    data = SkeletonDataset(records, None, feat=run.feat or "j", mode="test", clip_len=run.clip_len or 100, num_clips=num_clips,
                           layout=model.cfg.layout, num_person=model.cfg.num_person, protocol=run.protocol)  # fmt: skip
    return evaluate(model.eval(), data)


def decay_only(model: Any, changes: Any) -> Any:
    """A copy of ``model`` whose learned graphs ``B_k`` keep only what weight decay did (``f * A_k``), the gradient part
    removed (``changes``: :func:`aagcn_lab.analysis.graph_changes` of the model)."""
    import copy

    import torch

    out = copy.deepcopy(model)
    with torch.no_grad():
        for block, change in zip(out.backbone.gcn, changes):
            block.gcn.A.copy_(torch.as_tensor(change.factor * change.initial, dtype=block.gcn.A.dtype))
    return out


# ------------------------------------------------------------------------------------------------
# 06: fusing log-probabilities
# ------------------------------------------------------------------------------------------------

NB06 = "06_fusion"


def log_fusion(scores: Mapping[str, Any], weights: Mapping[str, float]) -> Any:
    """``sum_s w_s * log p_s`` over streams, rows matched by id (a weighted geometric mean, up to one number per row)."""
    from ..fusion import fuse
    from ..scores import Scores

    logs = {s: Scores(sc.frame_dir, np.log(np.maximum(sc.probs, 1e-12)), sc.labels, sc.meta) for s, sc in scores.items()}
    return fuse(logs, weights)


_NUDGE_06 = ("the printout gives the difference log-fusion minus probability-fusion and its interval over performers. "
             "'bigger' or 'smaller' needs the whole interval on one side of 0; which side of 0 is the interval on?")  # fmt: skip


def _check_log_fusion(answer: Any, effect: Any) -> str:
    return _check_effect(answer, effect, "top-1 of log-probability fusion minus probability fusion", _NUDGE_06)


register(
    "log_fusion_effect", "predict", NB06,
    "fusing weighted log-probabilities instead of probabilities (same weights, same rows): will the fused top-1 be "
    "'bigger', 'smaller', or will the two 'cannot be told apart' (the interval of the difference contains 0)?",
    _effect_solution, _check_log_fusion,
    hint="log-fusion multiplies the streams' probabilities: one stream that gives a class almost 0 vetoes it. How often do "
         "the streams disagree that strongly on this data? Where the streams agree, both fusions pick the same class.",
    explanation="wherever the streams agree, both fusions pick the same class; they differ only on samples where one "
                "stream almost rules out the class the others favour (a veto under log-fusion, outvoted under a sum). "
                "Whether that handful of samples moves top-1 beyond the noise of a few test performers is what the "
                "interval says: a difference counts only when its interval excludes 0.",
    nudge=_NUDGE_06,
    stub="my_effect",
)  # fmt: skip


# ------------------------------------------------------------------------------------------------
# 03: the learned graphs without their gradient part
# ------------------------------------------------------------------------------------------------

NB03 = "03_learned_adjacency"

_NUDGE_03 = ("the printout gives the top-1 of the model with B_k = f * A_k minus that of the trained model, and its interval "
             "over test performers. 'bigger' or 'smaller' needs the whole interval on one side of 0.")  # fmt: skip


def _check_graph_gradient(answer: Any, effect: Any) -> str:
    return _check_effect(answer, effect, "top-1 with the gradient part removed minus the trained model's", _NUDGE_03)


register(
    "graph_gradient_effect", "predict", NB03,
    "set every layer's B_k to f * A_k (what weight decay alone would have left, the gradient part removed) and test "
    "again: will top-1 be 'bigger', 'smaller', or will the two 'cannot be told apart' (the interval contains 0)?",
    _effect_solution, _check_graph_gradient,
    hint="section 2 printed how large the gradient part is next to ||A_k|| in each layer; the rest of the network (and "
         "alpha * C_k) was trained around the learned B_k, not around f * A_k.",
    explanation="a part's size does not say how much the model leans on it: the other weights were trained with the "
                "learned B_k. Removing the gradient part changes top-1 beyond the noise only if the network relied on "
                "those small changes; the interval over test performers says whether it did here.",
    nudge=_NUDGE_03,
    stub="my_effect",
)  # fmt: skip


# ------------------------------------------------------------------------------------------------
# 05: the bone stream on larger bodies
# ------------------------------------------------------------------------------------------------

NB05 = "05_four_streams"

_NUDGE_05 = ("the printout gives the bone stream's top-1 on the scaled test bodies minus its top-1 on the real ones, "
             "and the interval over test performers. Which side of 0 is the interval on, or does it hold 0?")  # fmt: skip


def _check_body_scale(answer: Any, effect: Any) -> str:
    return _check_effect(answer, effect, "the bone stream's top-1 on bodies scaled by the factor minus on the real ones", _NUDGE_05)


register(
    "body_scale_effect", "predict", NB05,
    "scale every test skeleton by a factor (every bone longer by the same fraction) and test the trained bone stream "
    "again: will its top-1 be 'bigger', 'smaller', or will the two 'cannot be told apart' (the interval contains 0)?",
    _effect_solution, _check_body_scale,
    hint="the normalisation centres and turns each skeleton but does not rescale it, so the bone stream sees every bone "
         "longer. Did training show it bodies of other sizes (the built-in preset has no scale augmentation)?",
    explanation="a bone vector carries its length; without scale augmentation the stream saw only the training "
                "performers' sizes. A change beyond the interval says the stream leans on absolute bone length (body "
                "shape) rather than on directions alone; one within it says this much scaling does not matter here. "
                "Training with options={'augment': {'scale': 0.2}} teaches the stream to ignore size.",
    nudge=_NUDGE_05,
    stub="my_effect",
)  # fmt: skip
