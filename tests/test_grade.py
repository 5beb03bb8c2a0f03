"""The grader (``aagcn-lab grade``): planted submissions of small notebooks that check two real, fast exercises
of notebook 01 (``partition``, ``inward_column_sums``), graded row by row.

Quick tier: the cells of each planted notebook run here, in order (as a kernel would, with the grader's
parameters injected and :data:`exercises.GRADING_ENV` set), and the grader's rows are built from the records
they leave. Slow tier: the same notebooks graded for real (papermill, a clean kernel each), and the rows
must be those of the quick tier; plus a notebook that runs past the timeout.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from aagcn_lab import cli, exercises
from aagcn_lab.data.validate import InputError
from aagcn_lab.lab import grade as grader

NB = "01_skeleton_graphs"
FILE = "01_skeleton_data_and_graphs.ipynb"  # a course notebook's name: the student is the folder's name

HEAD = 'import numpy as np\n\nfrom aagcn_lab import exercises\n\nNB = "01_skeleton_graphs"'
MAKE_EX = "ex = exercises.Notebook(NB, run_root, solutions)"
PARTITION = '''def my_partition(inward, num_joints):
    eye = np.eye(num_joints)
    a_in, a_out = np.zeros((num_joints, num_joints)), np.zeros((num_joints, num_joints))
    for child, parent in inward:
        a_in[parent, child] = 1
        a_out[child, parent] = 1
    for a in (a_in, a_out):
        sums = a.sum(0)
        a[:, sums > 0] /= sums[sums > 0]
    return np.stack([eye, a_in, a_out])


ex.check("partition", my_partition)'''
SWAPPED = PARTITION.replace("a_in[parent, child]", "a_in[child, parent]").replace("a_out[child, parent]", "a_out[parent, child]")
SUMS = '''from aagcn_lab.graph import get_layout

lay = get_layout("nturgb+d")
my_column_sums = [0 if v == lay.center else 1 for v in range(25)]
ex.check("inward_column_sums", my_column_sums)'''
ALL_ONES = 'my_column_sums = 1\nex.check("inward_column_sums", my_column_sums)'
FROM_SOLUTIONS = '''my_partition = None
if solutions:
    my_partition = ex.solution("partition")
ex.check("partition", my_partition)
my_column_sums = None
if solutions:
    my_column_sums = ex.solution("inward_column_sums")
ex.check("inward_column_sums", my_column_sums)'''

# student -> the cells after the parameters cell and HEAD
STUDENTS = {
    "alice": [MAKE_EX, PARTITION, SUMS],  # correct
    "bob": [MAKE_EX, SWAPPED, 'ex.hint("partition")', ALL_ONES],  # the typical mistakes, and a hint
    "carol": ["solutions = True  # a later cell asks for the solutions", MAKE_EX, FROM_SOLUTIONS],
    "dave": [MAKE_EX, 'ex.reveal("partition")', PARTITION, ALL_ONES],  # reveals, then writes it
    "erin": [MAKE_EX, PARTITION, "my_column_sums = partition[1].sum(0)  # crashes: never defined", SUMS],
}
CHECKED = ("partition", "inward_column_sums")
# student -> {exercise: (passed, attempts, misses, hints, reveals, solutions, solutions_mode)}; status, error
EXPECTED = {
    "alice": ({"partition": (True, 1, 0, 0, 0, 0, False), "inward_column_sums": (True, 1, 0, 0, 0, 0, False)}, "ok", ""),
    "bob": ({"partition": (False, 1, 1, 1, 0, 0, False), "inward_column_sums": (False, 1, 1, 0, 0, 0, False)}, "ok", ""),
    "carol": ({"partition": (True, 1, 0, 0, 0, 1, True), "inward_column_sums": (True, 1, 0, 0, 0, 1, True)}, "ok", ""),
    "dave": ({"partition": (True, 1, 0, 0, 1, 0, False), "inward_column_sums": (False, 1, 1, 0, 0, 0, False)}, "ok", ""),
    "erin": ({"partition": (True, 1, 0, 0, 0, 0, False), "inward_column_sums": (False, 0, 0, 0, 0, 0, False)}, "crashed",
             "NameError: name 'partition' is not defined"),
}  # fmt: skip
FIELDS = ("passed", *exercises.COUNTERS, "solutions_mode")


def _cells(student: str) -> list[str]:
    return [HEAD, *STUDENTS[student]]


def write_notebook(path: Path, cells: list[str]) -> Path:
    """A notebook file: a ``parameters`` cell (run_root, solutions), then ``cells``."""
    meta = {"kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}, "language_info": {"name": "python"}}
    params = {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": 'run_root = "runs"\nsolutions = False',
              "outputs": [], "execution_count": None}  # fmt: skip
    code = [{"cell_type": "code", "metadata": {}, "source": src, "outputs": [], "execution_count": None} for src in cells]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"cells": [params, *code], "metadata": meta, "nbformat": 4, "nbformat_minor": 4}, indent=1))
    return path


def plant(root: Path) -> list[Path]:
    """The five submissions: a folder per student, each with the planted notebook under a course notebook's name."""
    return [write_notebook(root / student / FILE, _cells(student)).parent for student in STUDENTS]


def run_here(nb: Path, run_root: Path, monkeypatch) -> grader.GradedNotebook:
    """Run a planted notebook's cells in this process, as the grader's kernel would (parameters injected after
    the parameters cell, GRADING_ENV set), and grade what it recorded."""
    monkeypatch.setenv(exercises.GRADING_ENV, "1")
    cells = ["".join(c["source"]) for c in json.loads(nb.read_text())["cells"]]
    ns: dict = {}
    status, error = "ok", ""
    for i, src in enumerate(cells):
        try:
            exec(compile(src, f"<cell {i}>", "exec"), ns)
        except Exception as e:  # the kernel's error: the notebook stops here
            status, error = "crashed", f"{type(e).__name__}: {e}"
            break
        if i == 0:
            ns.update(run_root=str(run_root), solutions=False)  # papermill's injected cell
    student = nb.parent.name
    return grader.GradedNotebook(student, nb.name, status, error, exercises.summary(run_root), grader.notebook_names(nb))


def _as_written(row: dict) -> dict:
    """A row as the CSV file gives it back (every value a string)."""
    return {k: str(v) for k, v in row.items()}


def check_rows(rows: list[dict], students=tuple(STUDENTS)) -> None:
    """Every row of the planted submissions, as expected."""
    of_nb = [e.name for e in exercises.exercises_of(NB)]
    assert set(CHECKED) <= set(of_nb)
    for student in students:
        mine = [r for r in rows if r["student"] == student]
        expected, status, error = EXPECTED[student]
        assert [r["exercise"] for r in mine] == list(dict.fromkeys([*of_nb])), student  # every exercise of 01, once
        for r in mine:
            assert (r["notebook"], r["status"], r["error"]) == (FILE, status, error), (student, r)
            assert r["kind"] == exercises.get(r["exercise"]).kind
            got = tuple(r[f] for f in FIELDS)
            mode = expected["partition"][-1]
            want = expected.get(r["exercise"], (False, 0, 0, 0, 0, 0, mode))  # not checked in the notebook
            assert got == want, (student, r["exercise"], got, want)
            if r["attempts"]:
                assert r["message"] and not r["message"].startswith("never"), (student, r)
            else:
                reached = "never checked: the notebook ran to its end" if status == "ok" else f"never reached: the notebook {status}"
                assert r["message"].startswith(reached), (student, r)


def test_the_rows_of_five_planted_submissions(tmp_path, monkeypatch, capsys):
    """Correct, typical mistakes, solutions asked for in a later cell, a reveal, a crash mid-way: every row."""
    rows = []
    for folder in plant(tmp_path / "subs"):
        graded = run_here(folder / FILE, tmp_path / "runs" / folder.name, monkeypatch)
        rows += grader.rows_of(graded)
    capsys.readouterr()
    check_rows(rows)
    # a passed check's message is the check's own feedback; a failed one says what is wrong
    bob = {r["exercise"]: r for r in rows if r["student"] == "bob"}
    assert bob["partition"]["message"] == exercises.summary(tmp_path / "runs" / "bob")[NB]["partition"]["message"]
    per_student = {s["student"]: s for s in grader.student_summary(rows, ["alice", "bob", "carol", "dave", "erin", "zoe"])}
    total = len(exercises.exercises_of(NB))
    got = {k: (s["notebooks"], s["passed"], s["total"], s["passed_without_help"], s["crashed"]) for k, s in per_student.items()}
    assert got == {"alice": (1, 2, total, 2, 0), "bob": (1, 0, total, 0, 0), "carol": (1, 2, total, 0, 0),
                   "dave": (1, 1, total, 0, 0), "erin": (1, 1, total, 1, 1), "zoe": (0, 0, 0, 0, 0)}  # fmt: skip
    assert per_student["erin"]["notebooks_not_ok"] == f"{FILE} (crashed: NameError: name 'partition' is not defined)"
    assert per_student["alice"]["notebooks_not_ok"] == ""
    # the CSV files: the header is the columns, every row as written
    out = grader.write_csv(tmp_path / "grades.csv", rows, grader.COLUMNS)
    with open(out, newline="") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames) == grader.COLUMNS
        assert list(reader) == [_as_written(r) for r in rows]


def test_rows_of_a_notebook_with_records_but_no_check_and_of_one_with_nothing_known(tmp_path, monkeypatch):
    ex = exercises.Notebook(NB, tmp_path)
    ex.reveal("partition")  # revealed, never checked
    ex.hint("bones")
    graded = grader.GradedNotebook("x", "mine.ipynb", "timed out", "stopped after 5 s", exercises.summary(tmp_path), ())
    rows = {r["exercise"]: r for r in grader.rows_of(graded)}
    assert set(rows) == {e.name for e in exercises.exercises_of(NB)}  # the records name the notebook: all of its exercises
    assert rows["bones"]["hints"] == 1 and rows["bones"]["message"].startswith("never checked")
    assert rows["partition"]["passed"] is False and rows["partition"]["reveals"] == 1
    assert rows["partition"]["message"].startswith("never checked: the notebook timed out")
    nothing = grader.rows_of(grader.GradedNotebook("y", "empty.ipynb", "crashed", "SyntaxError: invalid syntax", {}, ()))
    assert len(nothing) == 1 and nothing[0]["exercise"] == "" and nothing[0]["status"] == "crashed"
    assert grader.student_summary(nothing)[0]["total"] == 0  # a notebook without exercises counts none


def test_submissions_name_the_student_after_the_folder_or_the_file(tmp_path):
    subs = tmp_path / "subs"
    write_notebook(subs / "alice" / FILE, [HEAD])
    write_notebook(subs / "alice" / "02b_build_one_block.ipynb", [HEAD])
    write_notebook(subs / "bob" / FILE, [HEAD])
    write_notebook(subs / "carol.ipynb", [HEAD])
    (subs / "dave").mkdir()
    found = grader.find_submissions([subs / "alice", subs / "bob" / FILE, subs / "carol.ipynb", subs / "dave"])
    assert [(s.student, s.notebook.name if s.notebook else None) for s in found] == [
        ("alice", "01_skeleton_data_and_graphs.ipynb"), ("alice", "02b_build_one_block.ipynb"), ("bob", FILE),
        ("carol", "carol.ipynb"), ("dave", None)]  # fmt: skip
    assert grader.notebook_names(subs / "carol.ipynb") == (NB,)  # from its NB line
    broken = tmp_path / "erin" / FILE
    broken.parent.mkdir()
    broken.write_text("{not json")
    assert grader.notebook_names(broken) == (NB,)  # from the course notebook of the same number
    for bad, words in ((tmp_path / "nope", "no such file or folder"), (tmp_path / "notes.txt", "not a notebook")):
        if bad.suffix:
            bad.write_text("x")
        with pytest.raises(InputError, match=words):
            grader.find_submissions([bad])
    write_notebook(tmp_path / "other" / "alice" / FILE, [HEAD])
    with pytest.raises(InputError, match=r"student 'alice' has two notebooks named 01_skeleton_data_and_graphs\.ipynb"):
        grader.find_submissions([subs / "alice", tmp_path / "other" / "alice"])


@pytest.mark.parametrize(
    "argv, words",
    [
        (["grade", "{tmp}/nope"], "nope: no such file or folder"),
        (["grade", "{tmp}/subs", "-p", "solutions", "true"], "-p solutions: the grader sets it"),
        (["grade", "{tmp}/subs", "-p", "epochs", "two"], "-p epochs 'two': expected int"),
        (["grade", "{tmp}/subs", "--keep", "{tmp}/subs"], "--keep"),
        (["grade", "{tmp}/subs", "--out", "{tmp}/subs"], "is a folder"),
        (["grade", "{tmp}/subs", "--timeout", "0"], "expected an integer >= 1"),
        (["grade", "{tmp}/subs", "--cell-timeout", "-5"], "expected an integer >= 1"),
    ],
)
def test_a_lecturers_mistake_is_one_line_and_status_2_before_any_notebook_runs(tmp_path, capsys, argv, words):
    write_notebook(tmp_path / "subs" / FILE, [HEAD])
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    try:
        code = cli.main(argv)
    except SystemExit as e:  # argparse's own refusals
        code = e.code
    err = capsys.readouterr().err
    assert code == 2 and words in err and "Traceback" not in err, err
    assert not (tmp_path / "grades.csv").exists()


@pytest.mark.slow
def test_the_grader_runs_the_planted_submissions_headless_and_a_timeout_is_graded(tmp_path, monkeypatch, capsys):
    """For real: papermill, a clean kernel per notebook, solutions=False injected, GRADING_ENV set. The rows are
    those the quick tier builds; a notebook past the timeout is stopped (its kernel too) and graded."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    folders = plant(tmp_path / "subs")
    res = grader.grade(folders, tmp_path / "grades.csv", timeout=600, echo=None)
    check_rows(res.rows)
    with open(tmp_path / "grades.csv", newline="") as f:
        assert list(csv.DictReader(f)) == [_as_written(r) for r in res.rows]
    with open(tmp_path / "grades_students.csv", newline="") as f:
        assert [r["student"] for r in csv.DictReader(f)] == list(STUDENTS)

    pid_file = tmp_path / "kernel.pid"
    sleeper = write_notebook(tmp_path / "frank.ipynb", [HEAD, MAKE_EX, PARTITION,
                             f"import os, time\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))\ntime.sleep(3600)", SUMS])  # fmt: skip
    late = grader.grade([sleeper], tmp_path / "late.csv", timeout=30, echo=None, cell_timeout=None)
    rows = {r["exercise"]: r for r in late.rows}
    assert {r["status"] for r in rows.values()} == {"timed out"} and {r["student"] for r in rows.values()} == {"frank"}
    assert rows["inward_column_sums"]["message"].startswith("never reached: the notebook timed out")
    if pid_file.exists():  # the kernel got as far as the sleep: it was stopped with its notebook
        psutil = pytest.importorskip("psutil")
        pid = int(pid_file.read_text())
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
        assert rows["partition"]["passed"] is True  # graded with what it reached
    assert late.students[0]["crashed"] == 1 and "timed out" in late.students[0]["notebooks_not_ok"]

    # a cell that hangs the first time only (nbclient's widget-cell hang): the notebook runs again in a fresh
    # run folder and is graded on that run (its checks counted once); one that hangs every time is timed out
    mark = tmp_path / "hung-once"
    hangs = ("import os, time\nfirst = not os.path.exists({0!r})\nopen({0!r}, 'w').close()\n"
             "time.sleep(120 if first else 0)").format(str(mark))
    write_notebook(tmp_path / "gina" / FILE, [HEAD, MAKE_EX, PARTITION, hangs, SUMS])
    write_notebook(tmp_path / "hal" / FILE, [HEAD, MAKE_EX, PARTITION, "import time\ntime.sleep(120)", SUMS])
    again = grader.grade([tmp_path / "gina", tmp_path / "hal"], tmp_path / "again.csv", timeout=400, cell_timeout=15, echo=None)
    gina = {r["exercise"]: r for r in again.rows if r["student"] == "gina"}
    hal = {r["exercise"]: r for r in again.rows if r["student"] == "hal"}
    assert {r["status"] for r in gina.values()} == {"ok"} and mark.exists()
    assert [(gina[e]["passed"], gina[e]["attempts"]) for e in CHECKED] == [(True, 1), (True, 1)]
    assert {(r["status"], r["error"]) for r in hal.values()} == {("timed out", "a cell ran past 15 s, 2 times")}
    assert (hal["partition"]["passed"], hal["partition"]["attempts"]) == (True, 1)
    capsys.readouterr()
