"""The grader: students' notebooks run headless, every check re-run, one CSV row per student, notebook and exercise.

``aagcn-lab grade`` (:mod:`aagcn_lab.cli.grade`) is its command line. Each notebook runs with papermill in
a process and kernel of its own (``python -m aagcn_lab.cli.run_notebook``: the lab's sliced kernel
client), in a fresh temporary run folder (its ``run_root`` and working folder), with ``solutions=False`` injected and :data:`~aagcn_lab.exercises.GRADING_ENV` set: the notebook's
:class:`~aagcn_lab.exercises.Notebook` then keeps solutions off whatever a cell says, and records what the
notebook asked for (``solutions_mode``) and every ``ex.solution`` call. The checks run from the installed
package when the student's cells call them; the grader reads :func:`~aagcn_lab.exercises.summary` of the
run folder. A notebook that crashes or runs past ``timeout`` is graded with what it reached (its kernel
and everything the kernel started are stopped); one whose cell runs past ``cell_timeout`` runs once more
from the start (nbclient's widget-cell hang, as in :func:`~aagcn_lab.lab.runner.run_lab`). An exercise of
the notebook that no cell checked gets a row saying so (not passed). One student's notebook never stops the others; the CSV files are rewritten
after every notebook, so an interrupted grading keeps what it graded.

Columns of the grades (:data:`COLUMNS`): student, notebook (the file's name), status (``ok``,
``crashed``, ``timed out``, ``skipped``: the notebook's data is not on this machine), error (the error's
last line, or what stopped it), exercise, kind, passed, message (the check's feedback, or why there is
none), attempts, misses, hints, reveals, solutions (calls of ``ex.solution``), solutions_mode (the
notebook asked for solutions; empty when it never made its helper). Per student (:data:`SUMMARY_COLUMNS`):
notebooks, passed, total, passed_without_help (passed with no reveal and no ``ex.solution``), crashed
(crashed or timed out), notebooks_not_ok (each with its status and error).
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..exercises import COUNTERS, GRADING_ENV, exercises_of, get, summary

__all__ = [
    "COLUMNS",
    "SUMMARY_COLUMNS",
    "Submission",
    "GradedNotebook",
    "Grades",
    "find_submissions",
    "notebook_names",
    "run_notebook",
    "rows_of",
    "student_summary",
    "write_csv",
    "grade",
]

COLUMNS = ("student", "notebook", "status", "error", "exercise", "kind", "passed", "message", *COUNTERS, "solutions_mode")
SUMMARY_COLUMNS = ("student", "notebooks", "passed", "total", "passed_without_help", "crashed", "notebooks_not_ok")
NOT_RUN = ("crashed", "timed out")  # statuses a student's notebook is counted as crashed for

_COURSE_NAME = re.compile(r"^[0-9][0-9]*_.*\.ipynb$")  # 01_..., 02b_...: a course notebook's file name
_NB_LINE = re.compile(r"""^NB\s*=\s*(["'])([^"'\n]+)\1""", re.M)  # NB = "01_skeleton_graphs"


@dataclass(frozen=True)
class Submission:
    """One student's notebook (``notebook`` is None for a folder that holds none)."""

    student: str
    notebook: Path | None
    source: Path  # the path given on the command line


@dataclass
class GradedNotebook:
    """What one run of a student's notebook left: its status and the exercise records of its run folder."""

    student: str
    notebook: str  # the file's name
    status: str  # ok, crashed, timed out, skipped
    error: str = ""
    records: dict[str, dict[str, dict]] = field(default_factory=dict)  # exercises.summary(run_root)
    names: tuple[str, ...] = ()  # the notebook's NB names: its exercises are exercises_of(name)
    seconds: float = 0.0


@dataclass
class Grades:
    """The grading's rows (:data:`COLUMNS`), its per-student summary (:data:`SUMMARY_COLUMNS`) and the files written."""

    rows: list[dict]
    students: list[dict]
    out: Path
    summary_out: Path
    notebooks: list[GradedNotebook] = field(default_factory=list)


def _input_error(message: str) -> Exception:
    from ..data.validate import InputError

    return InputError(message)


def find_submissions(paths: Sequence[str | os.PathLike]) -> list[Submission]:
    """The notebooks to grade: a folder is one student's (named after the folder; its ``*.ipynb``), a file one
    notebook (a course notebook's name such as ``01_x.ipynb``: the student is its folder's name; any other
    name, e.g. ``alice.ipynb``: the file's stem). A path that does not exist or is no notebook, or the same
    student's notebook given twice, is an :class:`InputError` naming it."""
    found: list[Submission] = []
    for given in map(Path, paths):
        if given.is_dir():
            nbs = sorted(p for p in given.glob("*.ipynb") if not p.name.startswith("."))
            student = given.resolve().name
            found += [Submission(student, nb, given) for nb in nbs] or [Submission(student, None, given)]
        elif given.is_file() and given.suffix == ".ipynb":
            student = given.resolve().parent.name if _COURSE_NAME.match(given.name) else given.stem
            found.append(Submission(student, given, given))
        elif given.exists():
            raise _input_error(f"{given}: not a notebook (.ipynb) nor a folder of a student's notebooks")
        else:
            raise _input_error(f"{given}: no such file or folder")
    seen: dict[tuple[str, str], Path] = {}
    for sub in found:
        if sub.notebook is None:
            continue
        key = (sub.student, sub.notebook.name)
        if key in seen and seen[key].resolve() != sub.notebook.resolve():
            raise _input_error(f"student {sub.student!r} has two notebooks named {sub.notebook.name}: {seen[key]} and {sub.notebook}")
        seen[key] = sub.notebook
    return list({(s.student, s.notebook.resolve() if s.notebook else s.source): s for s in found}.values())


def _names_in(nb: Path) -> list[str]:
    """The ``NB = "..."`` names assigned in a notebook's code cells ([] for a file that is no readable notebook)."""
    try:
        cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
        source = "\n".join("".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in cells if c["cell_type"] == "code")
    except (OSError, ValueError, KeyError, TypeError):
        return []
    return [m.group(2) for m in _NB_LINE.finditer(source)]


def notebook_names(nb: Path, course: Mapping[str, Sequence[str]] | None = None) -> tuple[str, ...]:
    """The names a notebook records its exercises under: its ``NB = "..."`` lines, and those of the course
    notebook with the same number (``course``: ``{'01': [...]}``; default: the installed course's), so a
    notebook that crashed before defining ``NB``, or renamed it, still has its exercises listed."""
    if course is None:
        course = _course_names()
    number = nb.name.split("_")[0] if _COURSE_NAME.match(nb.name) else ""
    return tuple(dict.fromkeys([*_names_in(nb), *course.get(number, ())]))


def _course_names() -> dict[str, list[str]]:
    """``{number: NB names}`` of the course's notebooks (empty when none are found)."""
    from .runner import list_notebooks

    try:
        return {nb.name.split("_")[0]: _names_in(nb) for nb in list_notebooks()}
    except FileNotFoundError:
        return {}


def _last_line(text: str) -> str:
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _error_of(executed: Path, log: str) -> tuple[str, str]:
    """``(ename, line)`` of the first error a run left: from the executed notebook's error output, else the
    last line of papermill's log (a file papermill could not read, a kernel that died)."""
    try:
        cells = json.loads(executed.read_text(encoding="utf-8"))["cells"]
    except (OSError, ValueError, KeyError, TypeError):
        cells = []
    for cell in cells:
        for out in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            if out.get("output_type") == "error":
                ename = str(out.get("ename", "Error"))
                return ename, f"{ename}: {_last_line(out.get('evalue', ''))}".rstrip(": ")
    return "", _last_line(log) or "papermill stopped without saying why"


def _stop(proc: subprocess.Popen) -> None:
    """Kill a papermill process and everything it started (its kernel runs in a session of its own, and the
    kernel's own children: a training run a cell started)."""
    try:
        import psutil  # ipykernel's dependency: there wherever a kernel runs

        family = psutil.Process(proc.pid).children(recursive=True)
    except Exception:  # no psutil, or the process is gone already: the process group below still goes
        family = []
    for child in family:
        try:
            child.kill()
        except Exception:  # gone already
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (OSError, AttributeError):  # gone already, or no process groups here
        proc.kill()
    proc.wait()
    deadline = time.monotonic() + 30  # gone (or a zombie for init to reap) before the next notebook starts
    while family and time.monotonic() < deadline:
        family = [p for p in family if _running(p)]
        time.sleep(0.1)


def _running(process: Any) -> bool:
    """Whether a psutil process still runs (a zombie has stopped)."""
    try:
        return process.status() != "zombie"
    except Exception:  # psutil.NoSuchProcess: gone
        return False


_CELL_TIMEOUT = re.compile(r"^nbclient\.exceptions\.CellTimeoutError\b", re.M)  # papermill's log when a cell ran too long


def _papermill(nb: Path, run: Path, params: Mapping[str, Any], kernel: str, cell_timeout: float | None, budget: float) -> tuple[str, str]:
    """Run ``nb`` once with papermill into ``run`` (its own process and kernel, :data:`GRADING_ENV` set):
    ``(status, error)``, the status ``ok``, ``crashed``, ``skipped``, ``timed out`` (past ``budget`` seconds)
    or ``cell timed out`` (a cell ran past ``cell_timeout``)."""
    executed, log_path = run / nb.name, run / "papermill.log"
    cmd = [sys.executable, "-m", "aagcn_lab.cli.run_notebook", str(nb.resolve()), str(executed), "--parameters", json.dumps(dict(params)),
           "--cwd", str(run), "--kernel", kernel]  # papermill with the sliced kernel client (lab/kernel.py)  # fmt: skip
    if cell_timeout:
        cmd += ["--execution-timeout", f"{cell_timeout:g}"]
    code: int | None = None
    with open(log_path, "w") as log:
        try:
            proc = subprocess.Popen(cmd, cwd=run, env={**os.environ, GRADING_ENV: "1"}, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
            code = proc.wait(timeout=max(budget, 1))
        except subprocess.TimeoutExpired:
            _stop(proc)
        except OSError as e:  # papermill's process could not start
            print(f"{type(e).__name__}: {e}", file=log)
            code = -1
    text = log_path.read_text(errors="replace")
    if code is None:
        return "timed out", ""
    if code == 0:
        return "ok", ""
    if _CELL_TIMEOUT.search(text):
        return "cell timed out", f"a cell ran past {cell_timeout:g} s"
    ename, error = _error_of(executed, text)
    return ("skipped" if ename == "DataUnavailable" else "crashed"), error


def run_notebook(
    sub: Submission,
    timeout: float = 1800,
    parameters: Mapping[str, Any] | None = None,
    kernel: str = "python3",
    keep: str | os.PathLike | None = None,
    course: Mapping[str, Sequence[str]] | None = None,
    cell_timeout: float | None = 600,
    retries: int = 1,
) -> GradedNotebook:
    """Run one student's notebook with papermill in a fresh run folder (kept under ``keep`` when given, else
    removed) and read its exercise records: a :class:`GradedNotebook`, whatever the notebook does.

    ``timeout`` bounds the whole notebook (its tries included). A cell that runs past ``cell_timeout`` makes
    the notebook run again from the start in a fresh run folder, up to ``retries`` times: that is for the
    known client-side hang of a widget cell under nbclient (the kernel idle, the client waiting; see
    :func:`~aagcn_lab.lab.runner.run_lab`); an error is never run again."""
    assert sub.notebook is not None
    base = Path(keep) / sub.student / sub.notebook.stem if keep is not None else Path(tempfile.mkdtemp(prefix="aagcn-grade-"))
    t0 = time.perf_counter()
    tries = 0
    try:
        while True:
            run = base / f"try{tries + 1}"  # a fresh run folder for every try: its records start empty
            run.mkdir(parents=True)
            params = {**(parameters or {}), "run_root": str(run.resolve()), "solutions": False}
            status, error = _papermill(sub.notebook, run, params, kernel, cell_timeout, timeout - (time.perf_counter() - t0))
            if status != "cell timed out" or tries >= retries or time.perf_counter() - t0 >= timeout:
                break
            tries += 1
        if status == "timed out":
            error = f"stopped after {timeout:g} s, the per-notebook timeout" + (f" ({tries + 1} tries: a cell ran past {cell_timeout:g} s)" if tries else "")
        elif status == "cell timed out":
            status, error = "timed out", error + (f", {tries + 1} times" if tries else "")
        records = summary(run)
    finally:
        if keep is None:
            shutil.rmtree(base, ignore_errors=True)
    names = notebook_names(sub.notebook, course)
    return GradedNotebook(sub.student, sub.notebook.name, status, error, records, names, round(time.perf_counter() - t0, 1))


def _never(status: str, checked: bool = False) -> str:
    """The message of an exercise no check passed through (``checked``: it has a record of hints or reveals)."""
    what = "never checked" if checked or status == "ok" else "never reached"
    return f"{what}: the notebook ran to its end without checking it" if status == "ok" else f"{what}: the notebook {status} before its check"


def rows_of(graded: GradedNotebook) -> list[dict]:
    """The rows (:data:`COLUMNS`) of one graded notebook: each recorded exercise, then each exercise of the
    notebook that no cell checked (not passed, saying so); one row without an exercise when none is known."""
    base = {"student": graded.student, "notebook": graded.notebook, "status": graded.status, "error": graded.error}
    rows: list[dict] = []
    seen: set[str] = set()
    for nb in dict.fromkeys([*graded.names, *graded.records]):
        recorded = graded.records.get(nb, {})
        mode = next((r.get("solutions_mode", "") for r in recorded.values()), "")  # one value per notebook
        for name in dict.fromkeys([*(e.name for e in exercises_of(nb)), *recorded]):
            if name in seen:
                continue
            seen.add(name)
            rec = recorded.get(name)
            if rec is None:
                try:
                    kind = get(name).kind
                except KeyError:
                    kind = ""
                rows.append({**base, "exercise": name, "kind": kind, "passed": False, "message": _never(graded.status),
                             **{c: 0 for c in COUNTERS}, "solutions_mode": mode})  # fmt: skip
                continue
            counts = {c: int(rec.get(c, 0) or 0) for c in COUNTERS}
            message = (rec.get("message") or "") if counts["attempts"] else _never(graded.status, checked=True)
            rows.append({**base, "exercise": name, "kind": rec.get("kind", ""), "passed": bool(rec.get("passed")) and counts["attempts"] > 0,
                         "message": message, **counts, "solutions_mode": rec.get("solutions_mode", mode)})  # fmt: skip
    if not rows:
        rows.append({**base, "exercise": "", "kind": "", "passed": "", "message": "no exercise of this notebook is known or recorded",
                     **{c: "" for c in COUNTERS}, "solutions_mode": ""})  # fmt: skip
    return rows


def student_summary(rows: Sequence[Mapping[str, Any]], students: Sequence[str] = ()) -> list[dict]:
    """One row per student (:data:`SUMMARY_COLUMNS`), in order of first appearance (``students``: also those
    without a notebook, with zeros)."""
    order = list(dict.fromkeys([*students, *(r["student"] for r in rows)]))
    out = []
    for student in order:
        mine = [r for r in rows if r["student"] == student]
        status = {r["notebook"]: (r["status"], r["error"]) for r in mine}
        graded = [r for r in mine if r["exercise"]]
        passed = [r for r in graded if r["passed"] is True]
        out.append({
            "student": student,
            "notebooks": len(status),
            "passed": len(passed),
            "total": len(graded),
            "passed_without_help": sum(1 for r in passed if not r["reveals"] and not r["solutions"]),
            "crashed": sum(1 for s, _ in status.values() if s in NOT_RUN),
            "notebooks_not_ok": "; ".join(f"{nb} ({s}: {e})" if e else f"{nb} ({s})" for nb, (s, e) in status.items() if s != "ok"),
        })  # fmt: skip
    return out


def write_csv(path: str | os.PathLike, rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> Path:
    """Write ``rows`` as CSV with a header (whole: through a temporary file beside it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, path)
    return path


def grade(
    paths: Sequence[str | os.PathLike],
    out: str | os.PathLike = "grades.csv",
    summary_out: str | os.PathLike | None = None,
    timeout: float = 1800,
    parameters: Mapping[str, Any] | None = None,
    kernel: str = "python3",
    keep: str | os.PathLike | None = None,
    echo: Callable[[str], Any] | None = print,
    cell_timeout: float | None = 600,
    grading: Any = None,
) -> Grades:
    """Grade every submission (:func:`find_submissions`): run each notebook (:func:`run_notebook`), write the
    rows to ``out`` and the per-student summary to ``summary_out`` (default ``<out>_students.csv``) after
    each notebook. Input mistakes (a missing path, an output that is a folder, a ``keep`` folder that is not
    empty, ``solutions`` or ``run_root`` among ``parameters``) are an :class:`InputError` before anything runs.
    ``grading``: a course's grading sheet (:func:`aagcn_lab.lab.course.load_grading`); the summary then gains its
    ``columns`` (points earned, possible, earned without reveal or solution, an edited policy)."""
    out = Path(out)
    summary_out = Path(summary_out) if summary_out else out.with_name(f"{out.stem}_students{out.suffix or '.csv'}")
    for p in (out, summary_out):
        if p.is_dir():
            raise _input_error(f"{p} is a folder: give the CSV file to write")
    owned = sorted({"solutions", "run_root"} & set(parameters or {}))
    if owned:
        raise _input_error(f"-p {', '.join(owned)}: the grader sets it (solutions=False, a fresh run_root per notebook)")
    if keep is not None and Path(keep).exists() and (not Path(keep).is_dir() or any(Path(keep).iterdir())):
        raise _input_error(f"--keep {keep}: give a folder that does not exist yet or is empty (each notebook's run goes under it)")
    try:
        import papermill  # noqa: F401
    except ImportError:
        raise _input_error("the grader runs notebooks with papermill: pip install 'aagcn-lab[notebooks]'") from None
    subs = find_submissions(paths)
    course = _course_names()
    say = echo or (lambda _text: None)
    rows: list[dict] = []
    done: list[GradedNotebook] = []
    students = list(dict.fromkeys(s.student for s in subs))
    summary_columns = (*SUMMARY_COLUMNS, *grading.columns) if grading is not None else SUMMARY_COLUMNS

    def per_student() -> list[dict]:
        table = student_summary(rows, students)
        return grading.add_points(table, done) if grading is not None else table

    for sub in subs:
        if sub.notebook is None:
            hint = " (a folder of students' folders? give them one by one, e.g. its/*)" if any(sub.source.glob("*/*.ipynb")) else ""
            say(f"[grade] {sub.student}: no notebooks in {sub.source}{hint}")
            continue
        say(f"[grade] {sub.student}: {sub.notebook.name} ...")
        graded = run_notebook(sub, timeout, parameters, kernel, keep, course, cell_timeout)
        done.append(graded)
        mine = rows_of(graded)
        rows += mine
        passed = sum(1 for r in mine if r["passed"] is True)
        total = sum(1 for r in mine if r["exercise"])
        said = graded.status + (f" ({graded.error})" if graded.error else "")
        say(f"[grade] {sub.student}: {sub.notebook.name} {said}, {passed}/{total} passed, {graded.seconds:.0f} s")
        write_csv(out, rows, COLUMNS)
        write_csv(summary_out, per_student(), summary_columns)
    table = per_student()
    write_csv(out, rows, COLUMNS)
    write_csv(summary_out, table, summary_columns)
    return Grades(rows, table, out, summary_out, done)
