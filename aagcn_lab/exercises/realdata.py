"""Exercises on real skeletons (notebook 09, NW-UCLA): the protocol's normalisation, what copied
test clips do to an accuracy, and reading a confusion matrix."""

from __future__ import annotations

from typing import Any

import numpy as np

from .core import Unreadable, Wrong, call, counted_axis, expect_array, joint_axis, read_choice, register

__all__ = ["minmax_solution"]

NB09 = "09_real_skeletons"


# ------------------------------------------------------------------------------------------------
# implement: the protocol's per-axis min-max
# ------------------------------------------------------------------------------------------------


def minmax_solution(points):
    """Each axis of a (T, V, 3) clip mapped from its min..max over all frames and joints to -1..1."""
    points = np.asarray(points, dtype=float)
    low = points.min(axis=(0, 1), keepdims=True)
    high = points.max(axis=(0, 1), keepdims=True)
    return (points - low) / (high - low) * 2 - 1


def _check_minmax(fn) -> str:
    from ..data.pipeline import minmax_to_unit

    rng = np.random.default_rng(9)
    for t in (1, 7, 30):
        clip = rng.normal(0, 0.4, (t, 20, 3)) + [0.3, 0.9, 3.1]  # metres, as Kinect v1 writes them
        got = call(fn, clip.copy(), what=f"my_minmax on a ({t}, 20, 3) clip")
        low, high = clip.min((0, 1)), clip.max((0, 1))
        with np.errstate(invalid="ignore", divide="ignore"):  # a one-frame clip has no extent per joint
            mistakes = _minmax_mistakes(clip, low, high)
        axes = (counted_axis("frame"), joint_axis("ucla"), counted_axis("coordinate", "xyz"))
        expect_array(got, minmax_to_unit(clip), f"my_minmax on a ({t}, 20, 3) clip", mistakes, axes=axes)
    return "equal to the pipeline's minmax_to_unit: every axis now spans exactly [-1, 1]"


def _minmax_mistakes(clip: np.ndarray, low: np.ndarray, high: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """The typical wrong normalisations of a clip, each with its diagnosis."""
    return [
        ("the values lie in [0, 1]: after (x - min) / (max - min), map to [-1, 1] with * 2 - 1", (clip - low) / (high - low)),
        ("one min and max over all three axes: the protocol scales each axis (x, y, z) on its own",
         (clip - clip.min()) / (clip.max() - clip.min()) * 2 - 1),
        ("min and max per frame: the protocol takes them over the whole clip (all frames and joints)",
         (clip - clip.min(1, keepdims=True)) / (clip.max(1, keepdims=True) - clip.min(1, keepdims=True)) * 2 - 1),
        ("min and max per joint (over frames): take them over all frames *and* joints of an axis",
         (clip - clip.min(0, keepdims=True)) / (clip.max(0, keepdims=True) - clip.min(0, keepdims=True)) * 2 - 1),
    ]  # fmt: skip


register(
    "ucla_minmax", "implement", NB09,
    "write `my_minmax(points)`: each axis of a (T, V, 3) clip mapped from its minimum..maximum over all frames "
    "and joints to -1..1 (step 3 of the NW-UCLA protocol)",
    minmax_solution, _check_minmax,
    hint="points.min(axis=(0, 1)) is one minimum per axis over all frames and joints.",
    stub="my_minmax",
)  # fmt: skip


# ------------------------------------------------------------------------------------------------
# predict: the copied test clips
# ------------------------------------------------------------------------------------------------

_ANSWERS = ("copies", "others", "same")


def _copies_answer(acc_copies: float, acc_others: float, **_: Any) -> str:
    return "copies" if acc_copies > acc_others else "others" if acc_others > acc_copies else "same"


def _check_copies(answer, acc_copies: float, acc_others: float, n_copies: int = 95, n_others: int = 369) -> str:
    if answer is None:
        raise Unreadable("write your expectation into my_guess ('copies', 'others' or 'same') before the models train")
    guess = read_choice(answer, _ANSWERS, "your guess: answer one of")
    measured = _copies_answer(acc_copies, acc_others)
    numbers = f"{100 * acc_copies:.1f} % on the {n_copies} copies, {100 * acc_others:.1f} % on the {n_others} others"
    if guess != measured:
        raise Wrong(f"this run gives {numbers}. A copy of a training clip is a sample the model has already fitted, "
                    "so its accuracy is usually higher; when it is not, the copies may be of easy actions for every clip",
                    nudge="look at the two accuracies printed above the check: which group of test clips came out higher?")  # fmt: skip
    return f"as measured: {numbers}"


register(
    "ucla_copies", "predict", NB09,
    "on which test clips will the joint stream be more accurate: the copies of training clips, or the others? "
    "('copies', 'others' or 'same')",
    _copies_answer, _check_copies,
    hint="the model has seen the copies, with their labels, many times during training.",
    explanation="a test clip identical to a training clip measures memory, not generalisation; published "
    "NW-UCLA numbers include them.",
    nudge="what has the model seen of a copied test clip during training, and of the others? Which of the two is a "
          "test of memory?",
    stub="my_guess",
)  # fmt: skip


# ------------------------------------------------------------------------------------------------
# explore: the confusion matrix
# ------------------------------------------------------------------------------------------------


def _confused_answer(cm: Any, class_names: Any, **_: Any) -> tuple[str, str]:
    from ..viz.training import top_confusions

    true, pred, _count = top_confusions(cm, list(class_names), k=1)[0]
    return true, pred


def _check_confused(answer, cm: Any, class_names: Any) -> str:
    from ..viz.training import top_confusions

    names = [str(n) for n in class_names]
    if isinstance(answer, (str, bytes)) or not isinstance(answer, (tuple, list)) or len(answer) != 2:
        raise Unreadable(f"give two action names (true action, predicted action), got {answer!r}")
    if not all(isinstance(a, str) for a in answer):
        raise Unreadable(f"give the two actions by name, as text (true action, predicted action), got {answer!r}")
    true, pred = (a.strip().lower() for a in answer)
    lowered = [n.lower() for n in names]
    for given in (true, pred):
        if given not in lowered:
            raise Unreadable(f"{given!r} is not an action of NW-UCLA; the actions: {', '.join(names)}")
    top = top_confusions(cm, names, k=3)
    if not top:
        raise Wrong("this run made no mistake on the test clips; there is no confusion to name")
    best_true, best_pred, count = top[0]
    if (true, pred) == (best_pred.lower(), best_true.lower()):
        raise Wrong("the order is swapped: rows are the true action, columns what the model predicted")
    tied = [(t.lower(), p.lower()) for t, p, c in top if c == count]
    if (true, pred) not in tied:
        cm = np.asarray(cm)
        got = int(cm[lowered.index(true), lowered.index(pred)])
        raise Wrong(f"{true} -> {pred} happened {got} time(s); the largest off-diagonal cell holds {count}",
                    nudge=f"{true} -> {pred} is not the largest cell off the diagonal; compare the numbers in the cells, "
                          "not the colours alone")  # fmt: skip
    return f"{best_true} taken for {best_pred}: {count} clip(s), the largest off-diagonal cell"


register(
    "ucla_confused", "explore", NB09,
    "from the confusion matrix: which true action is most often taken for which other one? (true, predicted)",
    _confused_answer, _check_confused,
    hint="the largest cell off the diagonal; rows are the true action.",
    nudge="the diagonal holds the clips classified right; every other cell counts one kind of mistake. Rows are the "
          "true action, columns what the model predicted.",
    stub="my_pair",
)  # fmt: skip
