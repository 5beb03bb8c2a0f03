"""``aagcn-lab grade SUBMISSION... --out grades.csv``: run students' notebooks headless and grade every exercise.

::

    aagcn-lab grade submissions/* --out grades.csv               # a folder per student (named after it)
    aagcn-lab grade alice.ipynb bob.ipynb --timeout 300           # one notebook per student (named after the file)
    aagcn-lab grade submissions/* -p epochs 1 --keep graded-runs  # shorter training; keep each run folder

Each notebook runs with papermill in a clean kernel and a fresh temporary run folder, with
solutions=False injected and AAGCN_LAB_GRADING set (solutions stay off whatever a cell says; the record
keeps what the notebook asked and each ex.solution call). Every check runs again from the installed
package. grades.csv has one row per student, notebook and exercise: student, notebook, status (ok,
crashed, timed out, skipped), error, exercise, kind, passed, message, attempts, misses, hints, reveals,
solutions, solutions_mode; an exercise that no cell checked is a row saying so (not passed). The
per-student summary (passed / total, passed without reveal or solution, crashed notebooks) goes to
grades_students.csv beside it (--summary). A notebook that crashes or times out is graded with what it
reached, and the others go on; one whose cell runs past --cell-timeout runs once more from the start
(nbclient's known widget-cell hang) before it counts as timed out. With --grading
OUT/grading.json (from `aagcn-lab course build`) the per-student summary gains points earned, points
possible, points earned without any reveal or solution, and the notebooks whose records show another
policy than the course's (policy_changed).
"""

from __future__ import annotations

import argparse

__all__ = ["add_arguments", "run"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``aagcn-lab grade``."""
    from . import positive_int

    p.add_argument("submissions", nargs="+", metavar="SUBMISSION", help="a student's notebook file, or a folder of one student's notebooks")
    p.add_argument("--out", default="grades.csv", help="one row per student, notebook and exercise (default grades.csv)")
    p.add_argument("--summary", default=None, help="one row per student (default: <out>_students.csv beside --out)")
    p.add_argument("--timeout", type=positive_int, default=1800, help="seconds one notebook may run before it is stopped and graded as timed out (default 1800)")
    p.add_argument("--cell-timeout", type=positive_int, default=600,
                   help="seconds one cell may run; past it the notebook runs once more from the start (a widget cell's known hang), then is timed out (default 600)")
    p.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                   help="papermill parameter for every notebook, e.g. -p epochs 1 (read as the type the course's notebooks declare)")
    p.add_argument("--kernel", default="python3", help="Jupyter kernel to run the notebooks in (default python3: this Python)")
    p.add_argument("--keep", default=None, help="keep each notebook's run folder (executed notebook, papermill.log, records) under this new folder")
    p.add_argument("--grading", default=None, help="a course's grading.json (aagcn-lab course build): points per student in the summary")


def run(args: argparse.Namespace) -> int:
    """Grade and print where the CSV files are; 0 when every notebook was graded (a crash is a grade), 2 on a bad option."""
    from ..lab.course import load_grading
    from ..lab.grade import grade
    from ..lab.runner import list_notebooks, parse_parameter

    try:
        course = list_notebooks()
    except FileNotFoundError:
        course = []
    params = {name: parse_parameter(name, text, course) for name, text in args.parameter}
    grading = load_grading(args.grading) if args.grading else None  # a broken sheet: one line (2) before any notebook runs
    res = grade(args.submissions, args.out, args.summary, args.timeout, params, args.kernel, args.keep, grading=grading, cell_timeout=args.cell_timeout)
    print(f"\n[grade] {len(res.rows)} row(s) in {res.out}; per student: {res.summary_out}")
    for s in res.students:
        print(f"[grade] {s['student']}: {s['passed']}/{s['total']} passed ({s['passed_without_help']} without reveal or solution)"
              + (f"; points {s['points']:g}/{s['points_possible']:g} ({s['points_without_help']:g} without reveal or solution)" if grading else "")
              + (f"; crashed: {s['crashed']}" if s["crashed"] else "")
              + (f"; policy changed: {s['policy_changed']}" if grading and s["policy_changed"] else ""))
    return 0
