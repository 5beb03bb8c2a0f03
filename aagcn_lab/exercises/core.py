"""The exercise framework: the registry, the checks' comparisons, feedback, and the notebook helper.

An :class:`Exercise` knows its question, its reference solution and a ``checker``. A checker
raises :class:`Wrong` with a sentence a learner understands; :func:`run_check` turns that, a
learner's exception, an answer of the wrong kind (:class:`Unreadable`) or a stub's
``NotImplementedError`` into a :class:`Feedback` (never a traceback). A predict or explore
exercise answers a first miss with a nudge (where to look, what the quantity means) and gives the
answer and its reason from the second miss on; an implement exercise names the mistake every time.
The ``read_*`` helpers read a learner's answer (a number, several, a pair, True/False, a choice),
and :func:`joint_name` / :func:`joint_axis` / :func:`subset_axis` let a message name joints and
subsets instead of indices. :class:`Notebook` is what a notebook holds as ``ex``: it prints the feedback and
records every result under ``<run_root>/exercises/<notebook>.json``.
"""

from __future__ import annotations

import inspect
import json
import math
import numbers
import os
import textwrap
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "MODULES",
    "KINDS",
    "Exercise",
    "Feedback",
    "Wrong",
    "Unreadable",
    "ExerciseError",
    "read_number",
    "read_numbers",
    "read_pair",
    "read_bool",
    "read_choice",
    "joint_name",
    "joint_axis",
    "subset_axis",
    "counted_axis",
    "register",
    "get",
    "exercises_of",
    "run_check",
    "call",
    "expect_array",
    "expect_number",
    "Notebook",
    "summary",
    "GRADING_ENV",
    "COUNTERS",
    "POLICY_KEYS",
    "course_policy",
]

KINDS = ("predict", "implement", "explore")


class Wrong(Exception):
    """Raised by a checker: the answer is wrong, and the message says how, in a learner's words.

    ``nudge`` (predict and explore): what a first miss shows instead of the message, a pointer that
    does not give the answer away; without one the exercise's own ``nudge`` is shown.
    """

    def __init__(self, message: str, nudge: str = "") -> None:
        super().__init__(message)
        self.nudge = nudge


class Unreadable(Wrong):
    """The answer is not of the kind the question asks for (text where a number goes, a list for one
    number, a bare name where a pair goes ...): said on any try, and not counted as a try of the question."""


class ExerciseError(AssertionError):
    """A check failed while the notebook runs with ``solutions=True``: the reference solution and the
    package disagree (a bug in the package or the exercise, not in a learner's answer)."""


@dataclass
class Feedback:
    """The outcome of one check: passed or not, and the sentence explaining it."""

    exercise: str
    passed: bool
    message: str
    readable: bool = True  # False: no answer yet, a stub, or an answer of the wrong kind (not a try of the question)

    def __str__(self) -> str:
        mark = "correct" if self.passed else "not yet"
        return f"[{self.exercise}] {mark}: {self.message}"


@dataclass
class Exercise:
    """One exercise.

    ``solution``: for *implement* the reference function (its source is what :meth:`Notebook.reveal`
    prints); for *predict* and *explore* a function of the check's context returning the answer.
    ``checker(answer, **context)`` returns a success message or raises :class:`Wrong`.
    ``explanation`` is printed with the answer of a predict/explore exercise (and on reveal).
    ``nudge`` (predict and explore): what a first miss shows: where to look, what the quantity means,
    never the answer.
    """

    name: str
    kind: str
    notebooks: tuple[str, ...]
    question: str
    solution: Callable[..., Any]
    checker: Callable[..., str]
    hint: str = ""
    explanation: str = ""
    stub: str = ""  # name of the learner's variable/function in the notebook, e.g. "my_partition"
    nudge: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"exercise {self.name!r}: kind must be one of {KINDS}, got {self.kind!r}")


_REGISTRY: dict[str, Exercise] = {}


def register(
    name: str,
    kind: str,
    notebooks: str | Sequence[str],
    question: str,
    solution: Callable[..., Any],
    checker: Callable[..., str],
    hint: str = "",
    explanation: str = "",
    stub: str = "",
    nudge: str = "",
) -> Exercise:
    """Add an exercise to the registry (names are unique across notebooks) and return it."""
    if name in _REGISTRY:
        raise ValueError(f"exercise {name!r} is registered twice")
    nbs = (notebooks,) if isinstance(notebooks, str) else tuple(notebooks)
    ex = Exercise(name, kind, nbs, question, solution, checker, hint, explanation, stub or f"my_{name}", nudge)
    _REGISTRY[name] = ex
    return ex


def get(name: str) -> Exercise:
    """The exercise called ``name``; an unknown name lists the known ones."""
    _load_all()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"no exercise {name!r}; known: {', '.join(sorted(_REGISTRY))}") from None


def exercises_of(notebook: str) -> list[Exercise]:
    """The exercises a notebook uses (``notebook``: its ``NB`` name, e.g. ``'01_skeleton_graphs'``)."""
    _load_all()
    return [e for e in _REGISTRY.values() if notebook in e.notebooks]


# the modules that register exercises (importing one registers its exercises); add yours here
MODULES = ("graphs", "block", "evaluation", "ablation", "realdata", "experiments")


def _load_all() -> None:
    import importlib

    for name in MODULES:
        importlib.import_module(f"{__package__}.{name}")


# ------------------------------------------------------------------------------------------------
# Calling a learner's function and comparing what it returns
# ------------------------------------------------------------------------------------------------


class _NotDone(Exception):
    pass


def _where(exc: BaseException) -> str:
    """``line N of my_fn`` for the innermost frame outside the package, '' if none."""
    here = str(Path(__file__).resolve().parents[1])
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not str(Path(f.filename).resolve()).startswith(here)]
    if not frames:
        return ""
    f = frames[-1]
    line = f" (`{f.line.strip()}`)" if f.line else ""
    return f" in line {f.lineno} of {f.name}{line}"


def call(fn: Any, *args: Any, what: str = "your function", **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)``; a stub's NotImplementedError or any exception becomes :class:`Wrong`
    with the exception named and where it happened (never a traceback)."""
    if fn is None:
        raise _NotDone(f"{what} is not given yet (it is None)")
    if not callable(fn):
        raise Unreadable(f"{what} should be a function, got {type(fn).__name__}")
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        raise _NotDone(f"{what} is not written yet: replace `raise NotImplementedError` with your code") from None
    except Exception as e:  # the learner's bug: explained, not re-raised
        raise Wrong(f"{what} raised {type(e).__name__}: {e}{_where(e)}") from None


def _as_array(x: Any, what: str) -> np.ndarray:
    if x is None:
        raise Wrong(f"{what} is None: did the function forget to `return` its result?")
    if hasattr(x, "detach"):  # a torch tensor
        x = x.detach().cpu().numpy()
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise Wrong(f"{what} should be an array of numbers, got {type(x).__name__}") from None
    return arr


def expect_array(
    got: Any,
    expected: Any,
    what: str,
    mistakes: Sequence[tuple[str, Any]] = (),
    atol: float = 1e-6,
    rtol: float = 1e-6,
    shape_hints: Mapping[tuple[int, ...], str] | None = None,
    axes: Sequence[Callable[[int], str] | None] | None = None,
    diagnose: Callable[[np.ndarray], str | None] | None = None,
) -> None:
    """Raise :class:`Wrong` unless ``got`` equals ``expected`` (shape, then values).

    ``mistakes``: ``(message, wrong_answer)`` pairs; when ``got`` equals a known wrong answer its
    message is the one given; ``shape_hints`` maps a wrong shape to what probably caused it;
    ``diagnose(got)`` (same shape, values differ) may return a sentence for a mistake that is a
    pattern rather than one array. Otherwise the common slips are named: a shape mismatch (expected
    vs got), swapped last axes, a transposed matrix, a flipped sign, a constant factor, NaN; and
    the entries that differ, each axis named by ``axes`` (e.g. :func:`joint_axis`) where given.
    """
    g = _as_array(got, what)
    e = _as_array(expected, "the expected value")
    for message, wrong in mistakes:
        w = _as_array(wrong, "a known mistake")
        if w.shape == g.shape and w.shape == e.shape and np.allclose(w, e, atol=atol, rtol=rtol):
            continue  # on this input the mistake gives the right answer: not a diagnosis
        if w.shape == g.shape and np.allclose(g, w, atol=atol, rtol=rtol):
            raise Wrong(f"{what}: {message}")
    if g.shape != e.shape:
        note = ""
        if shape_hints and g.shape in shape_hints:
            note = f" ({shape_hints[g.shape]})"
        elif g.shape == e.shape[::-1] or (g.ndim == e.ndim >= 2 and g.shape[:-2] + g.shape[-2:][::-1] == e.shape):
            note = " (the axes look swapped)"
        elif g.size == e.size:
            note = " (same number of values: a reshape or the axis order?)"
        raise Wrong(f"{what}: expected shape {e.shape}, got {g.shape}{note}")
    if np.isnan(g).any() and not np.isnan(e).any():
        raise Wrong(f"{what}: {int(np.isnan(g).sum())} value(s) are NaN (a division by zero?)")
    if np.allclose(g, e, atol=atol, rtol=rtol):
        return
    note = diagnose(g) if diagnose is not None else None
    if note:
        raise Wrong(f"{what}: {note}")
    if g.ndim >= 2 and g.shape[-1] == g.shape[-2] and np.allclose(g, np.swapaxes(e, -1, -2), atol=atol, rtol=rtol):
        raise Wrong(f"{what}: the matrix is transposed (rows and columns swapped; rows send, columns receive)")
    if np.allclose(g, -e, atol=atol, rtol=rtol):
        raise Wrong(f"{what}: the sign is flipped everywhere")
    nz = np.abs(e) > 1e-9
    if nz.any():
        ratio = g[nz] / e[nz]
        if np.allclose(ratio, ratio[0], rtol=1e-6) and np.allclose(g[~nz], 0, atol=atol) and not np.isclose(ratio[0], 1):
            raise Wrong(f"{what}: off by a constant factor: every value is {ratio[0]:.6g} times the expected one")
    diff = np.where(np.isnan(g), np.inf, np.abs(g - e))
    bad = ~np.isclose(g, e, atol=atol, rtol=rtol)
    idx = np.unravel_index(int(np.argmax(diff)), diff.shape)
    others = [tuple(int(i) for i in j) for j in zip(*np.nonzero(bad)) if tuple(int(i) for i in j) != idx]
    also = f" (also at {'; '.join(_at(j, axes) for j in others)})" if 0 < len(others) <= 3 else ""
    raise Wrong(
        f"{what}: {int(bad.sum())} of {bad.size} values differ; the largest difference is {float(diff[idx]):.3g} at "
        f"{_at(idx, axes)} (got {float(g[idx]):.6g}, expected {float(e[idx]):.6g}){also}"
    )


def _at(index: Sequence[int], axes: Sequence[Callable[[int], str] | None] | None) -> str:
    """An entry in words: each axis named where ``axes`` names it (``the outward subset, sender Neck (joint 2)``)."""
    index = tuple(int(i) for i in index)
    if not axes or len(axes) != len(index):
        return f"index {index}"
    return ", ".join(ax(i) if ax is not None else f"position {i} of axis {k}" for k, (ax, i) in enumerate(zip(axes, index)))


def joint_name(layout: Any, index: int) -> str:
    """Joint ``index`` of a layout in words: ``SpineShoulder (joint 20)``."""
    from ..graph import get_layout

    return f"{get_layout(layout).joint_names[int(index)]} (joint {int(index)})"


def joint_axis(layout: Any, role: str = "") -> Callable[[int], str]:
    """An axis of joints for :func:`expect_array`'s ``axes``: ``receiver Neck (joint 2)`` (``role`` first, if given)."""
    return lambda i: f"{role} {joint_name(layout, i)}" if role else joint_name(layout, i)


def subset_axis(index: int) -> str:
    """An axis of partition subsets for :func:`expect_array`'s ``axes``: ``the outward subset``."""
    from ..graph import SUBSET_NAMES

    return f"the {SUBSET_NAMES[index]} subset" if 0 <= index < len(SUBSET_NAMES) else f"subset {index}"


def counted_axis(noun: str, labels: Sequence[str] | None = None) -> Callable[[int], str]:
    """An axis whose entries are counted (``frame 3``) or labelled (``coordinate x``, ``sample S001...``)."""
    return lambda i: f"{noun} {labels[i]}" if labels is not None and 0 <= i < len(labels) else f"{noun} {i}"


# ------------------------------------------------------------------------------------------------
# Reading a learner's answer to a predict or explore question
# ------------------------------------------------------------------------------------------------


def _short(x: Any, limit: int = 60) -> str:
    text = repr(x)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _plain(x: Any) -> Any:
    """A torch tensor as numpy, a 0-d array as its scalar; anything else unchanged."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    if isinstance(x, np.ndarray) and x.ndim == 0:
        x = x[()]
    return x


def _text(answer: str | bytes, what: str) -> Unreadable:
    text = answer.decode(errors="replace") if isinstance(answer, bytes) else answer
    try:
        float(text)
    except ValueError:
        return Unreadable(f"{what}: {_short(answer)} is text, not a number; write it in digits, without quotes (e.g. 2 or 0.5)")
    return Unreadable(f"{what}: {_short(answer)} is text; write the number without the quotes: {text.strip()}")


def read_number(answer: Any, what: str = "your answer") -> float:
    """One real number from an answer (a Python, numpy or torch scalar); :class:`Unreadable` names anything else
    (text such as ``"2"``, True/False, a list, NaN)."""
    if answer is None:
        raise _NotDone(f"{what}: no answer yet (the variable is None)")
    if isinstance(answer, (str, bytes)):
        raise _text(answer, what)
    answer = _plain(answer)
    if isinstance(answer, (bool, np.bool_)):
        raise Unreadable(f"{what}: a number, not {answer}")
    if isinstance(answer, (list, tuple, dict, set, np.ndarray)):
        raise Unreadable(f"{what}: one number, not a {type(answer).__name__} of {len(answer)} value(s)")
    if not isinstance(answer, numbers.Real):
        raise Unreadable(f"{what}: a number, got {type(answer).__name__} {_short(answer)}")
    value = float(answer)
    if not math.isfinite(value):
        raise Unreadable(f"{what}: {value} is not a number to compare with")
    return value


def read_numbers(answer: Any, what: str = "your answer") -> np.ndarray:
    """Numbers from an answer: one number (a 0-d array) or a list / array of them; text, True/False and
    mixed lists are :class:`Unreadable`."""
    if answer is None:
        raise _NotDone(f"{what}: no answer yet (the variable is None)")
    if isinstance(answer, (str, bytes)):
        raise _text(answer, what)
    answer = _plain(answer)
    if isinstance(answer, numbers.Real) and not isinstance(answer, (bool, np.bool_)):
        return np.asarray(float(answer))
    if isinstance(answer, (dict, set)):
        raise Unreadable(f"{what}: numbers in a list, not a {type(answer).__name__}")
    try:
        arr = np.asarray(answer)
    except (TypeError, ValueError):  # ragged lists
        raise Unreadable(f"{what}: a number or a flat list of numbers, got {_short(answer)}") from None
    if arr.dtype.kind in "USa":
        raise Unreadable(f"{what}: the values are text ({str(arr.flat[0])!r} ...); write numbers, without quotes")
    if arr.dtype.kind not in "iuf":
        raise Unreadable(f"{what}: numbers, got {_short(answer)}")
    return arr.astype(np.float64)


def read_pair(answer: Any, what: str = "your answer") -> tuple[float, float]:
    """Two numbers ``(a, b)`` from a tuple, list or array; text (``"12"`` is not (1, 2)) is :class:`Unreadable`."""
    if answer is None:
        raise _NotDone(f"{what}: no answer yet (the variable is None)")
    if isinstance(answer, (str, bytes)):
        raise Unreadable(f"{what}: two numbers in brackets, e.g. (0.5, 3), not the text {_short(answer)}")
    answer = _plain(answer)
    if isinstance(answer, (dict, set)) or not hasattr(answer, "__iter__"):
        raise Unreadable(f"{what}: two numbers in brackets, e.g. (0.5, 3), got {_short(answer)}")
    items = list(answer)
    if len(items) != 2:
        raise Unreadable(f"{what}: two numbers in brackets, e.g. (0.5, 3), got {len(items)} value(s)")
    return read_number(items[0], f"{what} (first number)"), read_number(items[1], f"{what} (second number)")


def read_bool(answer: Any, what: str = "your answer") -> bool:
    """True or False (Python's or numpy's); the text ``"True"``, 1 or 0 are :class:`Unreadable`."""
    if answer is None:
        raise _NotDone(f"{what}: no answer yet (the variable is None)")
    answer = _plain(answer)
    if isinstance(answer, (bool, np.bool_)):
        return bool(answer)
    if isinstance(answer, str) and answer.strip().lower() in ("true", "false"):
        word = answer.strip().capitalize()
        raise Unreadable(f"{what}: write {word} without quotes (Python's {word}, not the text {answer!r})")
    raise Unreadable(f"{what}: answer True or False, got {_short(answer)}")


def read_choice(answer: Any, choices: Sequence[str], what: str = "your answer") -> str:
    """One of ``choices`` (text, compared without case and outer spaces), spelled as in ``choices``."""
    if answer is None:
        raise _NotDone(f"{what}: no answer yet (the variable is None)")
    listed = ", ".join(repr(c) for c in choices)
    if not isinstance(answer, str):
        raise Unreadable(f"{what}: name one of {listed} (as text, in quotes), got {_short(answer)}")
    by_key = {str(c).strip().lower(): c for c in choices}
    key = answer.strip().lower()
    if key not in by_key:
        raise Unreadable(f"{what}: {answer!r} is not one of {listed}")
    return by_key[key]


def expect_number(got: Any, expected: float, what: str, tol: float = 0.0, unit: str = "") -> None:
    """Raise :class:`Wrong` unless ``got`` is a number within ``tol`` of ``expected`` (:class:`Unreadable` unless a number)."""
    value = read_number(got, what)
    if abs(value - expected) > tol:
        raise Wrong(f"{what}: you said {value:g}{unit}, the computation gives {expected:g}{unit}")


# ------------------------------------------------------------------------------------------------
# Running a check, and the notebook helper
# ------------------------------------------------------------------------------------------------


def run_check(name: str, answer: Any, misses: int = 0, allow_reveal: bool = True, **context: Any) -> Feedback:
    """Check ``answer`` for exercise ``name``: a :class:`Feedback`, whatever the answer is or does.

    ``misses``: how many earlier tries of this exercise missed (or 1 once its answer was revealed). A
    predict or explore exercise answers a first miss with a nudge and gives the answer and the reason
    from the second on; an implement exercise names the mistake on every miss and, from the second,
    points to ``ex.hint`` and ``ex.reveal``. No answer, a stub and an answer of the wrong kind are
    said as they are, on any try (``Feedback.readable`` False). ``allow_reveal`` False (a course's policy):
    no message points to ``ex.reveal``, and a predict/explore miss gets the nudge every time, never the answer.
    """
    ex = get(name)
    if answer is None and ex.kind != "implement":
        return Feedback(name, False, f"no answer yet: set `{ex.stub}` to your expectation first ({ex.question})", False)
    missing = _missing_context(ex, answer, context)
    if missing:
        return Feedback(name, False, missing, False)
    try:
        return Feedback(name, True, ex.checker(answer, **context))
    except _NotDone as e:
        return Feedback(name, False, f"{e}. The task: {ex.question}", False)
    except Unreadable as e:
        return Feedback(name, False, str(e) if ex.kind == "implement" else f"{e}. The question: {ex.question}", False)
    except Wrong as e:
        if ex.kind == "implement":
            solution = f', `ex.reveal("{name}")` a solution' if allow_reveal else ""
            stuck = f'\n  Stuck? `ex.hint("{name}")` gives a hint{solution}.' if misses >= 1 else ""
            return Feedback(name, False, f"{e}{stuck}")
        if not allow_reveal:  # a course without reveals: the nudge on every miss, never the answer
            return Feedback(name, False, f"{e.nudge or ex.nudge}\n  Think again and re-run; `ex.hint(\"{name}\")` may help.")
        if misses < 1:
            return Feedback(name, False, f"{e.nudge or ex.nudge}\n  Think again and re-run; a second miss, or "
                                         f"`ex.reveal(\"{name}\")`, shows the answer.")  # fmt: skip
        return Feedback(name, False, f"{e}\n  Why: {ex.explanation}" if ex.explanation else str(e))
    except Exception as e:  # noqa: BLE001 -- a check that cannot use this answer says so in a sentence
        if ex.kind == "implement":
            return Feedback(name, False, f"the check could not use what your function returned ({type(e).__name__}: {e})")
        return Feedback(name, False, f"could not read your answer {_short(answer)} ({type(e).__name__}: {e}). "
                                     f"The question: {ex.question}", False)  # fmt: skip


def _missing_context(ex: Exercise, answer: Any, context: Mapping[str, Any]) -> str:
    """'' when the checker can take ``(answer, **context)``; else which notebook values the check needs."""
    try:
        inspect.signature(ex.checker).bind(answer, **context)
    except TypeError as e:
        return f"this check needs the notebook's values ({e}); call it as the exercise cell does"
    return ""


GRADING_ENV = "AAGCN_LAB_GRADING"  # set by `aagcn-lab grade`: solutions are forced off, whatever the notebook says

# what one exercise's record holds (``<run_root>/exercises/<NB>.json``), besides kind, passed and message
COUNTERS = ("attempts", "misses", "hints", "reveals", "solutions")

# what a course's policy (``Notebook(..., policy=...)``, written by ``aagcn-lab course build``) may switch off
POLICY_KEYS = ("reveal", "solutions")


def course_policy(policy: Mapping[str, Any] | None, where: str = "policy") -> dict[str, bool] | None:
    """A course's policy as ``{"reveal": bool, "solutions": bool}`` (a key left out is allowed), ``None`` for none;
    an unknown key or a value that is not True/False is a ValueError naming it (``where``: what to call the policy)."""
    if policy is None:
        return None
    if not isinstance(policy, Mapping):
        raise ValueError(f"{where}: a dict such as {{'reveal': False, 'solutions': False}}, got {_short(policy)}")
    for key, value in policy.items():
        if key not in POLICY_KEYS:
            raise ValueError(f"{where}: unknown key {key!r} (known: {', '.join(POLICY_KEYS)})")
        if not isinstance(value, bool):
            raise ValueError(f"{where}: {key!r} must be True or False, got {_short(value)}")
    return {key: bool(policy.get(key, True)) for key in POLICY_KEYS}


def _off(what: str) -> str:
    """The one sentence a refused reveal or solution prints."""
    return f"{what} are off in this course; ask your TA or use ex.hint"


def _record_path(run_root: str | os.PathLike, notebook: str) -> Path:
    return Path(run_root) / "exercises" / f"{notebook}.json"


def _read_records(path: Path) -> dict[str, dict]:
    try:
        old = json.loads(path.read_text()) if path.exists() else {}
    except (OSError, ValueError):
        return {}  # a damaged record file is started again, never a traceback in a learner's notebook
    return old if isinstance(old, dict) else {}


def _update_record(run_root: str | os.PathLike, notebook: str, name: str, kind: str, **changes: Any) -> dict:
    """Merge ``changes`` into one exercise's record: counters named in ``changes`` are added, ``policies`` (the
    policies the events happened under) gains what it did not hold, other keys are set."""
    path = _record_path(run_root, notebook)
    path.parent.mkdir(parents=True, exist_ok=True)
    records = _read_records(path)
    rec = {"kind": kind, "passed": False, "message": "", **{c: 0 for c in COUNTERS}, "solutions_mode": False}
    rec.update(records.get(name, {}))
    for key, value in changes.items():
        if key == "policies":
            value = [*rec.get(key, []), *(p for p in value if p not in rec.get(key, []))]
        rec[key] = rec.get(key, 0) + value if key in COUNTERS else value
    records[name] = rec
    path.write_text(json.dumps(records, indent=2))
    return rec


def _short_repr(answer: Any, limit: int = 200) -> str:
    """A predict/explore answer as the record keeps it (what a learner wrote; run-dependent answers are compared
    across runs from it)."""
    return _short(answer.tolist() if hasattr(answer, "tolist") else answer, limit)


def summary(run_root: str | os.PathLike) -> dict[str, dict[str, dict]]:
    """Every recorded check of a run: ``{notebook: {exercise: {kind, passed, message, attempts, misses, hints,
    reveals, solutions, solutions_mode, policies}}}`` and, for predict and explore, ``answer`` (the last answer's
    repr); ``reveals`` / ``solutions``: calls of ``ex.reveal`` / ``ex.solution`` (refused ones too); ``solutions_mode``:
    the notebook ran with ``solutions=True``; ``policies``: the course policies the events happened under (``None``:
    none)."""
    folder = Path(run_root) / "exercises"
    return {f.stem: _read_records(f) for f in sorted(folder.glob("*.json"))} if folder.is_dir() else {}


@dataclass
class Notebook:
    """The exercises of one notebook (``ex = Notebook(NB, run_root, solutions)`` in its first cells).

    * ``ex.check(name, answer, **context)`` prints and records a :class:`Feedback` (in ``ex.results``; with
      ``solutions=True`` a failed check raises :class:`ExerciseError`: the lab asserts they pass);
    * ``ex.solution(name, **context)`` the reference solution (a function, or the answer);
    * ``ex.reveal(name)`` prints the reference solution's source (or the answer and why);
    * ``ex.hint(name)``; ``ex`` alone lists the notebook's exercises.

    Every check, hint, reveal and use of a solution is counted in ``<run_root>/exercises/<NB>.json``
    (:func:`summary`), so a grader sees how an answer was reached. Under ``aagcn-lab grade``
    (:data:`GRADING_ENV` set) ``solutions`` is off whatever the notebook passes; the record keeps what
    was asked (``solutions_mode``) and each ``ex.solution`` call.

    ``policy`` (a course's, :func:`course_policy`; the student copies of ``aagcn-lab course build`` pass it):
    with ``solutions`` off, ``solutions=True`` gives no solutions and ``ex.solution`` returns None; with
    ``reveal`` off, ``ex.reveal`` shows nothing; each says so in one sentence and is still counted. Every
    record lists the policies its events happened under (``policies``), so a grader sees an edited one.
    """

    notebook: str
    run_root: str | os.PathLike | None = None
    solutions: bool = False
    results: dict[str, Feedback] = field(default_factory=dict)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    tries: dict[str, int] = field(default_factory=dict)  # misses of a readable answer: a nudge first, then the answer
    policy: Mapping[str, bool] | None = None  # a course's: what it switches off (reveal, solutions); None: nothing

    def __post_init__(self) -> None:
        self.policy = course_policy(self.policy)
        self.solutions_requested = bool(self.solutions)
        if self.solutions and not self._allows("solutions"):
            print("solutions are off in this course: the notebook runs with your own answers")
        if os.environ.get(GRADING_ENV) or not self._allows("solutions"):
            self.solutions = False

    def _allows(self, what: str) -> bool:
        """Whether the course's policy allows ``what`` (``reveal``, ``solutions``); everything without a policy."""
        return self.policy is None or self.policy[what]

    def _count(self, name: str, **changes: Any) -> dict[str, int]:
        """Count an event for ``name`` (in memory, and in the run's record when there is a run folder)."""
        ex = get(name)
        mem = self.counts.setdefault(name, {c: 0 for c in COUNTERS})
        for key in COUNTERS:
            mem[key] += int(changes.get(key, 0))
        if self.run_root is not None:
            _update_record(self.run_root, self.notebook, name, ex.kind, solutions_mode=self.solutions_requested,
                           policies=[self.policy], **changes)  # fmt: skip
        return mem

    def check(self, name: str, answer: Any, **context: Any) -> None:
        """Check an answer, print the feedback and record it (the result stays in ``self.results``).

        A predict/explore exercise's first miss gets a nudge; the second, or any after ``reveal``, the answer.
        Every check that does not pass counts as a miss in the record; only misses of a readable answer
        (not None, a stub, or text for a number) use up the nudge.
        """
        revealed = self.counts.get(name, {}).get("reveals", 0) > 0 and self._allows("reveal")  # a refused reveal showed nothing
        fb = run_check(name, answer, max(self.tries.get(name, 0), int(revealed)), self._allows("reveal"), **context)
        if not fb.passed and fb.readable:
            self.tries[name] = self.tries.get(name, 0) + 1
        self.results[name] = fb
        given = {} if get(name).kind == "implement" else {"answer": _short_repr(answer)}
        self._count(name, attempts=1, misses=int(not fb.passed), passed=fb.passed, message=fb.message, **given)
        print(fb)
        if self.solutions and not fb.passed:
            raise ExerciseError(f"the reference solution of {name!r} fails its own check: {fb.message}")

    def solution(self, name: str, **context: Any) -> Any:
        """The reference solution: the function (implement) or the answer (predict, explore); counted. Under a
        policy without solutions: None, said in one sentence (and counted)."""
        ex = get(name)
        self._count(name, solutions=1)
        if not self._allows("solutions"):
            print(_off("solutions"))
            return None
        return ex.solution if ex.kind == "implement" else ex.solution(**context)

    def reveal(self, name: str, **context: Any) -> None:
        """Print the reference solution: its source (implement), or the answer and the reason; counted. Under a
        policy without reveals: one sentence instead (counted)."""
        ex = get(name)
        self._count(name, reveals=1)
        if not self._allows("reveal"):
            print(_off("reveals"))
        elif ex.kind == "implement":
            print(textwrap.dedent(inspect.getsource(ex.solution)))
        else:
            try:
                print(f"Answer: {ex.solution(**context)!r}")
            except TypeError:  # needs the notebook's values
                print("Answer: computed from the notebook's values; pass them as in the check cell.")
            if ex.explanation:
                print(f"Why: {ex.explanation}")

    def hint(self, name: str) -> None:
        """Print a hint (counted)."""
        ex = get(name)
        self._count(name, hints=1)
        print(ex.hint or ex.nudge or "No hint for this one: reread the contract in the docstring of the stub.")

    def __repr__(self) -> str:
        rows = [f"{e.name} ({e.kind}): {e.question}" for e in exercises_of(self.notebook)]
        return f"Exercises of {self.notebook}:\n  " + "\n  ".join(rows) if rows else f"no exercises registered for {self.notebook}"
