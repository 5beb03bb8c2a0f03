"""Exercises on the ablation study (notebook 08): predict which part costs most, and compute the
interval over seeds yourself."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .core import Unreadable, Wrong, call, counted_axis, expect_array, read_choice, register

__all__ = ["seed_interval_solution"]

NB08 = "08_ablations"


def _loses_most(verdicts: Mapping[str, Any] | None = None, **_) -> str:
    if not verdicts:
        raise TypeError("needs the notebook's verdicts (variant -> ablation.Verdict against full)")
    return min(verdicts.values(), key=lambda v: v.difference).a


def _moved(verdict: Any) -> str:
    """``gained 12.9 points`` / ``lost 3.1 points`` / ``did not change top-1``: a difference against full in words."""
    points = 100 * verdict.difference
    if abs(points) < 0.05:
        return "did not change top-1"
    return f"{'gained' if points > 0 else 'lost'} {abs(points):.1f} points"


def _check_loses_most(answer, verdicts: Mapping[str, Any]) -> str:
    if isinstance(answer, str) and answer.strip().lower() not in {v.lower() for v in verdicts}:
        raise Unreadable(f"{answer!r} is not one of this run's variants compared with full: {', '.join(verdicts)}")
    name = read_choice(answer, list(verdicts), "your variant")
    worst, said = verdicts[_loses_most(verdicts)], verdicts[name]
    noise = "larger than the seeds and the test set make of it" if worst.apart else "but not distinguishable from noise with these seeds"
    if getattr(worst, "collapsed", ()):
        noise = f"but that rests on a collapsed seed ({'; '.join(worst.collapsed)}): no difference to report"
    if len(verdicts) == 1:
        return (f"{name} is the only variant this run compares with full, so the prediction could not miss: against full "
                f"it {_moved(worst)}, {noise}. Run at least three variants (e.g. variants=\"full,no_attention,fixed_graph\") "
                "for a prediction that can be wrong")  # fmt: skip
    if worst.difference >= 0:
        outcome = f"no variant lost against full; {worst.a} gained the least ({_moved(worst)})"
    else:
        outcome = f"{worst.a} came out lowest against full ({100 * worst.difference:+.1f})"
    if said.a != worst.a:
        raise Wrong(f"{said.a} {_moved(said)} against full; {outcome}, {noise}",
                    nudge="read the verdicts above: the difference of each variant against full, and its sign. Which is "
                          "the lowest, and is it a loss at all?")  # fmt: skip
    return f"yes: {outcome}, {noise}"


register(
    "ablation_loses_most", "predict", NB08,
    "before the runs: which variant of this run will lose most top-1 against the full model?",
    _loses_most, _check_loses_most,
    explanation="the answer is the variant with the lowest mean difference; whether that loss is real is the verdict's job.",
    hint="each variant switches one part off; the part the model leans on most is the one whose removal should cost most.",
    nudge="each variant switches one part of the model off. Which part does the model lean on most, and would switching "
          "it off cost more than changing the seed does?",
    stub="my_prediction",
)  # fmt: skip


def _effect_word(verdict: Any) -> str:
    """The verdict as a checked experiment's answer: told apart -> by its sign; else (a collapsed seed too) cannot be told apart."""
    from .experiments import EFFECTS

    if verdict.collapsed or not verdict.apart:
        return EFFECTS[2]
    return EFFECTS[0] if verdict.difference > 0 else EFFECTS[1]


def _judged(verdicts: Mapping[str, Any], variant: Any) -> str:
    """The variant a learner named (``my_prediction``) when this run compares it with full, else the one that lost most."""
    named = {v.lower(): v for v in verdicts}
    if isinstance(variant, str) and variant.strip().lower() in named:
        return named[variant.strip().lower()]
    return _loses_most(verdicts)


def _effect_solution(verdicts: Mapping[str, Any] | None = None, variant: Any = None, **_) -> str:
    if not verdicts:
        raise TypeError("needs the notebook's verdicts (variant -> ablation.Verdict against full)")
    return _effect_word(verdicts[_judged(verdicts, variant)])


def _check_ablation_effect(answer, verdicts: Mapping[str, Any], variant: Any = None) -> str:
    from .experiments import EFFECTS

    said = read_choice(answer, EFFECTS, "your prediction")
    name = _judged(verdicts, variant)
    v, truth = verdicts[name], _effect_word(verdicts[name])
    named = isinstance(variant, str) and variant.strip().lower() == name.lower()
    which = "" if named else " (the variant that lost most; name yours in my_prediction to have it judged)"
    measured = f"against full {name}{which} {_moved(v)}"
    if v.collapsed:
        reading = (f"but the comparison rests on a collapsed seed ({'; '.join(v.collapsed)}): no difference to report, "
                   "so cannot be told apart until that seed is rerun or trained longer")  # fmt: skip
        nudge = "read the table's per-seed numbers first: is every seed of both variants a run that learned? (a ! marks a collapsed one)"
    elif min(v.seeds) < 2:
        reading, nudge = "with one seed there is no spread to judge by: cannot be told apart", _EFFECT_NUDGE
    elif truth == EFFECTS[2]:
        reading = ("the verdict's intervals (over seeds and over test performers) do not both exclude 0: cannot be told "
                   "apart")  # fmt: skip
        nudge = _EFFECT_NUDGE
    else:
        reading, nudge = f"both intervals exclude 0: {truth}", _EFFECT_NUDGE
    if said != truth:
        raise Wrong(f"you said {said!r}; {measured}, {reading}", nudge=nudge)
    return f"yes: {measured}, {reading}"


_EFFECT_NUDGE = ("read the verdict of your variant above: 'bigger' or 'smaller' needs both intervals (over seeds and over "
                 "test performers) on one side of 0, and no collapsed seed under it.")  # fmt: skip

register(
    "ablation_effect", "predict", NB08,
    "before the runs: against the full model, will the top-1 of the variant you named be 'bigger', 'smaller', or will "
    "the two 'cannot be told apart' with these seeds?",
    _effect_solution, _check_ablation_effect,
    explanation="a difference counts only when the interval over seeds and the interval over test performers both "
                "exclude 0, and no seed under it collapsed; with two seeds the t quantile is 12.7, so only a large and "
                "steady difference clears it.",
    hint="compare the size you expect with the spread between two seeds of the same variant: a difference smaller than "
         "that spread cannot be told apart.",
    nudge=_EFFECT_NUDGE,
    stub="my_effect",
)  # fmt: skip


def seed_interval_solution(top1: Sequence[float], level: float = 0.95) -> tuple[float, float]:
    """The Student-t interval of the mean of per-seed accuracies: mean -/+ t(n - 1) * sd / sqrt(n)."""
    from ..ablation import t_quantile

    x = np.asarray(top1, dtype=float)
    n = len(x)
    half = t_quantile(0.5 + level / 2, n - 1) * x.std(ddof=1) / math.sqrt(n)
    return float(x.mean() - half), float(x.mean() + half)


def _check_seed_interval(fn) -> str:
    from ..ablation import summarise, t_quantile

    for top1 in ([0.61, 0.66], [0.5, 0.6, 0.7], [0.81, 0.79, 0.84, 0.80, 0.83]):
        x = np.asarray(top1)
        n, mean = len(x), x.mean()
        s = summarise("check", np.array([[1.0] * round(100 * t) + [0.0] * (100 - round(100 * t)) for t in top1]))
        got = call(fn, list(top1), what=f"my_seed_interval({top1})")
        t, sd = t_quantile(0.975, n - 1), x.std(ddof=1)
        mistakes = [
            ("the spread is the population sd (ddof=0); the sample sd divides by n - 1", (mean - t * x.std() / math.sqrt(n), mean + t * x.std() / math.sqrt(n))),
            ("1.96 is the normal quantile; with n seeds use Student's t with n - 1 degrees of freedom", (mean - 1.96 * sd / math.sqrt(n), mean + 1.96 * sd / math.sqrt(n))),
            ("the interval is for the mean: divide the sd by sqrt(n)", (mean - t * sd, mean + t * sd)),
            ("the degrees of freedom are n - 1, not n", (mean - t_quantile(0.975, n) * sd / math.sqrt(n), mean + t_quantile(0.975, n) * sd / math.sqrt(n))),
        ]  # fmt: skip
        expect_array(got, (s.low, s.high), f"my_seed_interval({top1})", mistakes, atol=1e-6,
                     axes=(counted_axis("bound", ("low", "high")),))
    return "equal to ablation.summarise's interval over seeds"


register(
    "seed_interval", "implement", NB08,
    "write `my_seed_interval(top1)`: the 95 % interval of the mean of per-seed accuracies (Student t, n - 1 degrees of freedom)",
    seed_interval_solution, _check_seed_interval,
    hint="ablation.t_quantile(0.975, n - 1) * np.std(top1, ddof=1) / sqrt(n) is the half-width.",
)  # fmt: skip
