"""The exercise framework: the registry, the checks' comparisons, feedback, and the notebook helper.

An :class:`Exercise` knows its question, its reference solution and a ``checker``. A checker
raises :class:`Wrong` with a sentence a learner understands; :func:`run_check` turns that, a
learner's exception, or a stub's ``NotImplementedError`` into a :class:`Feedback` (never a
traceback). :class:`Notebook` is what a notebook holds as ``ex``: it prints the feedback and
records every result under ``<run_root>/exercises/<notebook>.json``.
"""

from __future__ import annotations

import inspect
import json
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
    "ExerciseError",
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
]

KINDS = ("predict", "implement", "explore")


class Wrong(Exception):
    """Raised by a checker: the answer is wrong, and the message says how, in a learner's words."""


class ExerciseError(AssertionError):
    """A check failed while the notebook runs with ``solutions=True``: the reference solution and the
    package disagree (a bug in the package or the exercise, not in a learner's answer)."""


@dataclass
class Feedback:
    """The outcome of one check: passed or not, and the sentence explaining it."""

    exercise: str
    passed: bool
    message: str

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
) -> Exercise:
    """Add an exercise to the registry (names are unique across notebooks) and return it."""
    if name in _REGISTRY:
        raise ValueError(f"exercise {name!r} is registered twice")
    nbs = (notebooks,) if isinstance(notebooks, str) else tuple(notebooks)
    ex = Exercise(name, kind, nbs, question, solution, checker, hint, explanation, stub or f"my_{name}")
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
MODULES = ("graphs", "block", "evaluation", "ablation", "realdata")


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
        raise Wrong(f"{what} should be a function, got {type(fn).__name__}")
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
) -> None:
    """Raise :class:`Wrong` unless ``got`` equals ``expected`` (shape, then values).

    ``mistakes``: ``(message, wrong_answer)`` pairs; when ``got`` equals a known wrong answer its
    message is the one given; ``shape_hints`` maps a wrong shape to what probably caused it.
    Otherwise the common slips are named: a shape mismatch (expected vs got), swapped last axes, a
    transposed matrix, a flipped sign, a constant factor, NaN.
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
    if g.ndim >= 2 and g.shape[-1] == g.shape[-2] and np.allclose(g, np.swapaxes(e, -1, -2), atol=atol, rtol=rtol):
        raise Wrong(f"{what}: the matrix is transposed (rows and columns swapped; rows send, columns receive)")
    if np.allclose(g, -e, atol=atol, rtol=rtol):
        raise Wrong(f"{what}: the sign is flipped everywhere")
    nz = np.abs(e) > 1e-9
    if nz.any():
        ratio = g[nz] / e[nz]
        if np.allclose(ratio, ratio[0], rtol=1e-6) and np.allclose(g[~nz], 0, atol=atol) and not np.isclose(ratio[0], 1):
            raise Wrong(f"{what}: off by a constant factor: every value is {ratio[0]:.6g} times the expected one")
    diff = np.abs(g - e)
    bad = ~np.isclose(g, e, atol=atol, rtol=rtol)
    idx = np.unravel_index(int(np.argmax(diff)), diff.shape)
    raise Wrong(
        f"{what}: {int(bad.sum())} of {bad.size} values differ; the largest difference is {float(diff[idx]):.3g} at index "
        f"{tuple(int(i) for i in idx)} (got {float(g[idx]):.6g}, expected {float(e[idx]):.6g})"
    )


def expect_number(got: Any, expected: float, what: str, tol: float = 0.0, unit: str = "") -> None:
    """Raise :class:`Wrong` unless ``got`` is a number within ``tol`` of ``expected``."""
    if got is None:
        raise _NotDone(f"{what}: no answer yet (the variable is None)")
    try:
        value = float(got)
    except (TypeError, ValueError):
        raise Wrong(f"{what}: expected a number, got {got!r}") from None
    if abs(value - expected) > tol:
        raise Wrong(f"{what}: you said {value:g}{unit}, the computation gives {expected:g}{unit}")


# ------------------------------------------------------------------------------------------------
# Running a check, and the notebook helper
# ------------------------------------------------------------------------------------------------


def run_check(name: str, answer: Any, **context: Any) -> Feedback:
    """Check ``answer`` for exercise ``name``: a :class:`Feedback`, whatever the answer does."""
    ex = get(name)
    if answer is None and ex.kind != "implement":
        return Feedback(name, False, f"no answer yet: set `{ex.stub}` to your expectation first ({ex.question})")
    try:
        message = ex.checker(answer, **context)
        passed = True
    except _NotDone as e:
        message, passed = f"{e}. The task: {ex.question}", False
    except Wrong as e:
        message, passed = str(e), False
        if ex.explanation and ex.kind != "implement":
            message += f"\n  Why: {ex.explanation}"
    return Feedback(name, passed, message)


GRADING_ENV = "AAGCN_LAB_GRADING"  # set by `aagcn-lab grade`: solutions are forced off, whatever the notebook says

# what one exercise's record holds (``<run_root>/exercises/<NB>.json``), besides kind, passed and message
COUNTERS = ("attempts", "misses", "hints", "reveals", "solutions")


def _record_path(run_root: str | os.PathLike, notebook: str) -> Path:
    return Path(run_root) / "exercises" / f"{notebook}.json"


def _read_records(path: Path) -> dict[str, dict]:
    try:
        old = json.loads(path.read_text()) if path.exists() else {}
    except (OSError, ValueError):
        return {}  # a damaged record file is started again, never a traceback in a learner's notebook
    return old if isinstance(old, dict) else {}


def _update_record(run_root: str | os.PathLike, notebook: str, name: str, kind: str, **changes: Any) -> dict:
    """Merge ``changes`` into one exercise's record: counters named in ``changes`` are added, other keys set."""
    path = _record_path(run_root, notebook)
    path.parent.mkdir(parents=True, exist_ok=True)
    records = _read_records(path)
    rec = {"kind": kind, "passed": False, "message": "", **{c: 0 for c in COUNTERS}, "solutions_mode": False}
    rec.update(records.get(name, {}))
    for key, value in changes.items():
        rec[key] = rec.get(key, 0) + value if key in COUNTERS else value
    records[name] = rec
    path.write_text(json.dumps(records, indent=2))
    return rec


def summary(run_root: str | os.PathLike) -> dict[str, dict[str, dict]]:
    """Every recorded check of a run: ``{notebook: {exercise: {kind, passed, message, attempts, misses, hints,
    reveals, solutions, solutions_mode}}}`` (``solutions``: calls of ``ex.solution``; ``solutions_mode``: the
    notebook ran with ``solutions=True``)."""
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
    """

    notebook: str
    run_root: str | os.PathLike | None = None
    solutions: bool = False
    results: dict[str, Feedback] = field(default_factory=dict)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.solutions_requested = bool(self.solutions)
        if os.environ.get(GRADING_ENV):
            self.solutions = False

    def _count(self, name: str, **changes: Any) -> dict[str, int]:
        """Count an event for ``name`` (in memory, and in the run's record when there is a run folder)."""
        ex = get(name)
        mem = self.counts.setdefault(name, {c: 0 for c in COUNTERS})
        for key in COUNTERS:
            mem[key] += int(changes.get(key, 0))
        if self.run_root is not None:
            _update_record(self.run_root, self.notebook, name, ex.kind, solutions_mode=self.solutions_requested, **changes)
        return mem

    def check(self, name: str, answer: Any, **context: Any) -> None:
        """Check an answer, print the feedback and record it (the result stays in ``self.results``)."""
        fb = run_check(name, answer, **context)
        self.results[name] = fb
        self._count(name, attempts=1, misses=int(not fb.passed), passed=fb.passed, message=fb.message)
        print(fb)
        if self.solutions and not fb.passed:
            raise ExerciseError(f"the reference solution of {name!r} fails its own check: {fb.message}")

    def solution(self, name: str, **context: Any) -> Any:
        """The reference solution: the function (implement) or the answer (predict, explore); counted."""
        ex = get(name)
        self._count(name, solutions=1)
        return ex.solution if ex.kind == "implement" else ex.solution(**context)

    def reveal(self, name: str, **context: Any) -> None:
        """Print the reference solution: its source (implement), or the answer and the reason; counted."""
        ex = get(name)
        self._count(name, reveals=1)
        if ex.kind == "implement":
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
        print(ex.hint or "No hint for this one: reread the contract in the docstring of the stub.")

    def __repr__(self) -> str:
        rows = [f"{e.name} ({e.kind}): {e.question}" for e in exercises_of(self.notebook)]
        return f"Exercises of {self.notebook}:\n  " + "\n  ".join(rows) if rows else f"no exercises registered for {self.notebook}"
