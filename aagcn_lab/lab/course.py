"""The course in a box: the student and instructor builds of the notebooks, and the grading sheet.

:func:`build_course` (``aagcn-lab course build OUT``, :mod:`aagcn_lab.cli.course`) writes

* ``OUT/student/``: the notebooks to hand out, as ``aagcn-lab notebooks`` copies them (their run folder
  ``runs/lab`` beside them), but for the line that makes the exercise helper, which passes the course's
  policy: ``ex = exercises.Notebook(NB, run_root, solutions, policy={'reveal': False, 'solutions': False})``.
  Under it ``solutions = True`` gives no solutions, and ``ex.reveal`` / ``ex.solution`` say in one sentence
  that they are off and are still counted (:class:`~aagcn_lab.exercises.Notebook`). A student who edits the
  line is seen: every record lists the policies its events happened under, and the grader compares them
  with the course's (``policy_changed``); the grader keeps solutions off anyway.
* ``OUT/instructor/``: the lab's run folder of the notebooks executed with ``solutions=True`` through
  :func:`~.runner.run_lab` (``notebooks/``, figures, ``index.md``, the exercise records); without execution,
  ``notebooks/`` holds the copies with ``solutions = True`` as their default, unexecuted.
* ``OUT/grading.json`` (:func:`grading_table`): the policy, the points per kind, and every notebook's
  exercises with kind, question, points and whether it is mandatory (optional ones add to what a student
  earns, not to what is possible).

:func:`load_grading` reads ``grading.json`` back as a :class:`Grading`, which ``aagcn-lab grade --grading``
hands to :func:`~.grade.grade`: each student's summary gains :data:`POINTS_COLUMNS`.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..exercises import KINDS, Exercise, course_policy, exercises_of, get
from ..io import InputError
from .grade import GradedNotebook, notebook_names, rows_of
from .runner import LabResult, _copy_text, check_parameters, list_notebooks, notebooks_dir, run_lab

__all__ = [
    "DEFAULT_POINTS",
    "POINTS_COLUMNS",
    "parse_points",
    "policy_words",
    "student_text",
    "instructor_text",
    "grading_table",
    "CourseBuild",
    "build_course",
    "Grading",
    "load_grading",
]

DEFAULT_POINTS: dict[str, float] = {"implement": 3, "predict": 1, "explore": 2}
POINTS_COLUMNS = ("points", "points_possible", "points_without_help", "policy_changed")

# the line that makes a notebook's exercise helper: `ex = exercises.Notebook(NB, run_root, solutions)  # ...`
_HELPER = re.compile(r"^(?P<indent>[ \t]*)ex\s*=\s*exercises\.Notebook\((?P<args>[^()\n]*)\)[^\n]*$", re.M)
_SOLUTIONS_OFF = re.compile(r"^solutions\s*=\s*False\b", re.M)  # the default of a parameters cell
_OWNED = ("solutions", "run_root")  # parameters the build sets itself


def _tidy(value: float) -> float:
    """A number of points as written: an int when whole (3, not 3.0)."""
    return int(value) if float(value).is_integer() else round(float(value), 6)


def _points_value(value: Any, what: str) -> float:
    """A number of points (finite, >= 0; not True/False); :class:`InputError` naming ``what`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise InputError(f"{what}: points must be a number >= 0, got {value!r}")
    return _tidy(value)


def parse_points(text: str) -> dict[str, float]:
    """``--points implement=3,predict=1`` -> ``{"implement": 3, "predict": 1}`` (kinds left out keep their default);
    :class:`InputError` names the item that is not ``KIND=POINTS`` with a known kind and a number >= 0."""
    out: dict[str, float] = {}
    for item in (t.strip() for t in text.split(",") if t.strip()):
        kind, sep, value = item.partition("=")
        if not sep:
            raise InputError(f"--points {item}: give KIND=POINTS, e.g. --points implement=3,predict=1,explore=2")
        kind = kind.strip()
        if kind not in KINDS:
            raise InputError(f"--points: unknown kind {kind!r} (kinds: {', '.join(KINDS)})")
        try:
            number = float(value)
        except ValueError:
            raise InputError(f"--points {item}: {value.strip()!r} is not a number") from None
        if not math.isfinite(number) or number < 0:
            raise InputError(f"--points {item}: points must be >= 0")
        out[kind] = _tidy(number)
    return out


def _dump(data: Mapping) -> str:
    """A notebook as the repository writes it (what ``aagcn-lab notebooks`` writes too)."""
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


def _set_source(cell: dict, source: str) -> None:
    cell["source"] = source.splitlines(keepends=True) if isinstance(cell["source"], list) else source


def _source(cell: Mapping) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _exercises_in(nb: Path) -> tuple[tuple[str, ...], list[Exercise]]:
    """A notebook's ``NB`` names and the exercises registered for them (each once, in registry order)."""
    names = notebook_names(nb, course={})
    found = {e.name: e for name in names for e in exercises_of(name)}
    return names, list(found.values())


def policy_words(policy: Mapping[str, bool]) -> str:
    """A policy in words: ``reveals off, solutions off``."""
    return ", ".join(f"{'reveals' if key == 'reveal' else key} {'on' if on else 'off'}" for key, on in policy.items())


def student_text(nb: Path, policy: Mapping[str, bool]) -> str:
    """The student copy of a notebook: as ``aagcn-lab notebooks`` copies it, the helper's line passing ``policy``.
    A notebook with exercises but no ``ex = exercises.Notebook(...)`` line is an :class:`InputError` (its
    students would get reveals and solutions)."""
    data = json.loads(_copy_text(nb))
    helped = 0

    def with_policy(m: re.Match) -> str:
        line = f"{m['indent']}ex = exercises.Notebook({m['args'].strip()}, policy={dict(policy)!r})"
        return f"{line}  # the course's policy ({policy_words(policy)}); `ex` lists the exercises, ex.hint(name) gives a hint"

    for cell in data["cells"]:
        if cell["cell_type"] == "code" and _HELPER.search(_source(cell)):
            new, count = _HELPER.subn(with_policy, _source(cell))
            _set_source(cell, new)
            helped += count
    names, found = _exercises_in(nb)
    if found and not helped:
        raise InputError(f"{nb.name}: no `ex = exercises.Notebook(...)` line to pass the course's policy to (its exercises: "
                         f"{', '.join(e.name for e in found)}); write the helper's line as the other notebooks do")  # fmt: skip
    return _dump(data)


def instructor_text(nb: Path) -> str:
    """The instructor copy of a notebook: as ``aagcn-lab notebooks`` copies it, ``solutions = True`` its default."""
    data = json.loads(_copy_text(nb))
    for cell in data["cells"]:
        if cell["cell_type"] == "code" and "parameters" in cell.get("metadata", {}).get("tags", []):
            _set_source(cell, _SOLUTIONS_OFF.sub("solutions = True", _source(cell), count=1))
    return _dump(data)


def grading_table(
    notebooks: Sequence[Path],
    points: Mapping[str, float] | None = None,
    optional: Sequence[str] = (),
    policy: Mapping[str, bool] | None = None,
) -> dict:
    """What ``grading.json`` holds: the policy, the points per kind (``points`` over :data:`DEFAULT_POINTS`),
    every notebook's exercises (name, kind, question, points, mandatory: not in ``optional``) and the totals.
    A name in ``optional`` that no notebook has is an :class:`InputError` naming it."""
    import aagcn_lab

    worth = {**DEFAULT_POINTS, **{k: _points_value(v, f"points of {k}") for k, v in (points or {}).items()}}
    unknown = sorted(set(worth) - set(KINDS))
    if unknown:
        raise InputError(f"points: unknown kind {unknown[0]!r} (kinds: {', '.join(KINDS)})")
    entries, seen = [], set()
    for nb in notebooks:
        names, found = _exercises_in(nb)
        seen |= {e.name for e in found}
        rows = [{"name": e.name, "kind": e.kind, "question": e.question, "points": worth[e.kind], "mandatory": e.name not in optional}
                for e in found]  # fmt: skip
        entries.append({"file": nb.name, "nb": list(names), "exercises": rows,
                        "points_possible": _tidy(sum(r["points"] for r in rows if r["mandatory"]))})  # fmt: skip
    missing = [name for name in optional if name not in seen]
    if missing:
        numbers = ", ".join(nb.name.split("_")[0] for nb in notebooks)
        raise InputError(f"--optional: no exercise {missing[0]!r} in notebooks {numbers} (their exercises: {', '.join(sorted(seen))})")
    rows = [r for e in entries for r in e["exercises"]]
    return {
        "course": f"aagcn-lab {aagcn_lab.__version__}",
        "policy": dict(course_policy(policy or {})),
        "points": worth,
        "points_possible": _tidy(sum(r["points"] for r in rows if r["mandatory"])),
        "points_optional": _tidy(sum(r["points"] for r in rows if not r["mandatory"])),
        "notebooks": entries,
    }


@dataclass
class CourseBuild:
    """What :func:`build_course` wrote: the student copies, the instructor notebooks, ``grading.json``, and the
    instructor run (``None`` without execution)."""

    out: Path
    student: list[Path]
    instructor: list[Path]
    grading: Path
    lab: LabResult | None = None


def _write(path: Path, text: str) -> Path:
    """Write a whole file (through a temporary file beside it: never half a notebook)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def build_course(
    out: str | os.PathLike,
    allow_reveal: bool = False,
    allow_solutions: bool = False,
    notebooks: Sequence[str] | None = None,
    execute: bool = True,
    parameters: Mapping[str, Any] | None = None,
    points: Mapping[str, float] | None = None,
    optional: Sequence[str] = (),
    force: bool = False,
    notebooks_folder: str | os.PathLike | None = None,
    quiet: bool = False,
) -> CourseBuild:
    """Write ``out/student/``, ``out/grading.json`` and ``out/instructor/`` (see the module's docstring).

    ``notebooks``: numbers or names (both builds); ``parameters``: papermill parameters of the instructor run
    (``solutions`` and ``run_root`` are the build's); ``points``, ``optional``: as :func:`grading_table`. Every
    mistake (an option, a notebook without the helper's line, an earlier build in ``out`` without ``force``) is
    an :class:`InputError` before anything is written; with ``force`` the earlier build's ``student/``,
    ``instructor/`` and ``grading.json`` are replaced (nothing else in ``out`` is touched).
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out} is a file, not a folder: give a folder to build the course in")
    owned = sorted(set(_OWNED) & set(parameters or {}))
    if owned:
        raise InputError(f"-p {', '.join(owned)}: the build sets it (solutions=True for the instructor, off for the students; "
                         "run_root: the instructor folder)")  # fmt: skip
    policy = course_policy({"reveal": bool(allow_reveal), "solutions": bool(allow_solutions)})
    folder = Path(notebooks_folder or notebooks_dir())
    chosen = list_notebooks(folder, notebooks)
    check_parameters(parameters or {}, chosen)
    grading = grading_table(chosen, points, optional, policy)
    students = {nb.name: student_text(nb, policy) for nb in chosen}
    teachers = {nb.name: instructor_text(nb) for nb in chosen}
    parts = [out / "student", out / "instructor", out / "grading.json"]
    there = [p for p in parts if p.exists()]
    if there and not force:
        raise InputError(f"{out} already holds {', '.join(p.name for p in there)} (an earlier build?): nothing was written; "
                         "pass --force to replace them, or build into another folder")  # fmt: skip
    for p in there:
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        else:
            p.unlink()
    student = [_write(out / "student" / name, text) for name, text in students.items()]
    graded = _write(out / "grading.json", json.dumps(grading, indent=2) + "\n")
    lab = None
    if execute:
        params = {**(parameters or {}), "solutions": True}
        lab = run_lab(out / "instructor", params, [nb.name for nb in chosen], folder, quiet=quiet)
        instructor = [Path(nb["output"]) for nb in lab.notebooks]
    else:
        instructor = [_write(out / "instructor" / "notebooks" / name, text) for name, text in teachers.items()]
    return CourseBuild(out, student, instructor, graded, lab)


# ------------------------------------------------------------------------------------------------
# grading.json, read back for the grader
# ------------------------------------------------------------------------------------------------


@dataclass
class Grading:
    """A course's ``grading.json``: the policy and every notebook's exercises with their points; :meth:`add_points`
    adds :data:`POINTS_COLUMNS` to the grader's per-student summary."""

    path: Path
    policy: dict[str, bool]
    notebooks: list[dict]
    columns: tuple[str, ...] = field(default=POINTS_COLUMNS)

    @property
    def points_possible(self) -> float:
        """The points of every mandatory exercise of every notebook."""
        return _tidy(sum(e["points"] for nb in self.notebooks for e in nb["exercises"] if e["mandatory"]))

    def notebook_of(self, graded: GradedNotebook) -> dict | None:
        """The course notebook a student's notebook is: the same file name, else one of its ``NB`` names."""
        same = [nb for nb in self.notebooks if nb["file"] == graded.notebook]
        return (same or [nb for nb in self.notebooks if set(nb["nb"]) & set(graded.names)] or [None])[0]

    def policy_change(self, graded: GradedNotebook) -> str:
        """'' when every record of the notebook was made under the course's policy; else what it was made under
        (``no course policy``: the helper's line lost it; ``policy: reveals on, solutions off``: edited)."""
        seen: list = []
        for records in graded.records.values():
            for rec in records.values():
                for p in rec.get("policies", [None]) if isinstance(rec, Mapping) else []:
                    if p != self.policy and p not in seen:
                        seen.append(p)
        return ", ".join("no course policy" if p is None else f"policy: {policy_words(p)}" if isinstance(p, Mapping) else repr(p)
                         for p in seen)  # fmt: skip

    def add_points(self, table: Sequence[Mapping[str, Any]], graded: Sequence[GradedNotebook]) -> list[dict]:
        """The per-student rows of ``table`` with :data:`POINTS_COLUMNS`: points earned (passed exercises of the
        course's notebooks, optional ones included, each counted once per course notebook: the best of a
        student's copies), points possible (the mandatory ones), points earned without any reveal or solution
        (a refused one included: it was asked for), and the notebooks whose records show another policy."""
        earned: dict[str, dict[tuple[str, str], tuple[float, float]]] = {}
        changed: dict[str, list[str]] = {}
        for g in graded:
            change = self.policy_change(g)
            if change:
                changed.setdefault(g.student, []).append(f"{g.notebook} ({change})")
            course_nb = self.notebook_of(g)
            if course_nb is None:
                continue
            worth = {e["name"]: e["points"] for e in course_nb["exercises"]}
            for row in rows_of(g):
                if row["exercise"] in worth and row["passed"] is True:
                    value = worth[row["exercise"]]
                    alone = 0 if row["reveals"] or row["solutions"] else value
                    key = (course_nb["file"], row["exercise"])
                    old = earned.setdefault(g.student, {}).get(key, (0, 0))
                    earned[g.student][key] = (max(old[0], value), max(old[1], alone))
        out = []
        for row in table:
            mine = earned.get(row["student"], {}).values()
            out.append({**row, "points": _tidy(sum(v[0] for v in mine)), "points_possible": self.points_possible,
                        "points_without_help": _tidy(sum(v[1] for v in mine)), "policy_changed": "; ".join(changed.get(row["student"], []))})  # fmt: skip
        return out


def _need(data: Any, key: str, typ: type, where: str) -> Any:
    """``data[key]`` of type ``typ``; :class:`InputError` naming ``where`` and ``key`` otherwise."""
    if not isinstance(data, Mapping) or key not in data:
        raise InputError(f"{where}{key!r} is missing")
    if not isinstance(data[key], typ) or (typ is not bool and isinstance(data[key], bool)):
        raise InputError(f"{where}{key!r} should be a {typ.__name__}, got {data[key]!r}")
    return data[key]


def load_grading(path: str | os.PathLike) -> Grading:
    """Read a course's ``grading.json`` (:func:`build_course`): a :class:`Grading`; a missing or broken file, or an
    exercise this aagcn-lab does not have, is an :class:`InputError` naming the file and the entry."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such file (`aagcn-lab course build OUT` writes OUT/grading.json)") from None
    except IsADirectoryError:
        raise InputError(f"{path}: a folder, not the grading.json file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: cannot read it ({e})") from None
    except json.JSONDecodeError as e:
        raise InputError(f"{path}: not JSON ({e.msg}, line {e.lineno} column {e.colno})") from None
    if not isinstance(data, Mapping):
        raise InputError(f"{path}: not a grading file (a JSON object with 'policy' and 'notebooks')")
    head = f"{path}: "
    notebooks = _need(data, "notebooks", list, head)
    given = _need(data, "policy", dict, head)
    try:
        policy = course_policy(given, f"{path}: policy")
    except ValueError as e:
        raise InputError(str(e)) from None
    for i, nb in enumerate(notebooks):
        where = f"{path}: notebooks[{i}]: "
        _need(nb, "file", str, where)
        names = _need(nb, "nb", list, where)
        if not all(isinstance(n, str) for n in names):
            raise InputError(f"{where}'nb' should be a list of notebook names, got {names!r}")
        for j, ex in enumerate(_need(nb, "exercises", list, where)):
            at = f"{path}: notebooks[{i}].exercises[{j}]"
            name = _need(ex, "name", str, f"{at}: ")
            try:
                get(name)
            except KeyError:
                raise InputError(f"{at}: no exercise {name!r} in this aagcn-lab (a grading.json of another version?)") from None
            kind = _need(ex, "kind", str, f"{at} ({name}): ")
            if kind not in KINDS:
                raise InputError(f"{at} ({name}): kind must be one of {', '.join(KINDS)}, got {kind!r}")
            ex["points"] = _points_value(ex.get("points"), f"{at} ({name})")
            _need(ex, "mandatory", bool, f"{at} ({name}): ")
    return Grading(path, policy, notebooks)
