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

__all__ = ["EFFECTS", "effect_word", "effect_text", "log_fusion"]

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
