"""``aagcn-lab course build OUT``: the student copies (checks on, reveals and solutions off under the course's
policy, which a student cannot switch back unseen), the instructor copies (``solutions=True``; executed through
the lab's runner, or not with ``--no-execute``), and ``grading.json`` (every exercise with its kind, question,
points and whether it is mandatory), which ``aagcn-lab grade --grading`` turns into points per student.

Builds with ``--no-execute``, a student copy's cells run here, the grader on planted records (its notebook runs
replaced by the records), and one instructor build that executes notebook 02b (a kernel; seconds, not minutes)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from aagcn_lab import cli, exercises
from aagcn_lab.data.validate import InputError
from aagcn_lab.exercises import block, graphs
from aagcn_lab.graph import get_layout
from aagcn_lab.lab import course
from aagcn_lab.lab import grade as grader
from aagcn_lab.lab.runner import list_notebooks

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = list_notebooks(REPO / "notebooks")
CLOSED = {"reveal": False, "solutions": False}
OFF = "reveals are off in this course; ask your TA or use ex.hint"
NB01, NB02B = "01_skeleton_data_and_graphs.ipynb", "02b_build_one_block.ipynb"


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _params(path: Path) -> str:
    [cell] = [c for c in _cells(path) if "parameters" in c["metadata"].get("tags", [])]
    return _source(cell)


def _nb_names(path: Path) -> tuple[str, ...]:
    return grader.notebook_names(path, course={})


# ------------------------------------------------------------------------------------------------
# The build (--no-execute)
# ------------------------------------------------------------------------------------------------


def test_the_student_copies_carry_the_policy_and_differ_from_the_course_only_there(tmp_path, capsys):
    assert cli.main(["course", "build", str(tmp_path / "out"), "--no-execute"]) == 0
    out = tmp_path / "out"
    students = sorted(p.name for p in (out / "student").iterdir())
    assert students == [nb.name for nb in NOTEBOOKS]  # every notebook, nothing else
    for nb in NOTEBOOKS:
        copy = out / "student" / nb.name
        assert 'run_root = "runs/lab"' in _params(copy) and "solutions = False" in _params(copy)  # beside the copy
        changed = [(_source(a), _source(b)) for a, b in zip(_cells(nb), _cells(copy)) if _source(a) != _source(b)]
        lines = [line for _, b in changed for line in b.splitlines() if "exercises.Notebook(" in line]
        assert len(lines) == 1, (nb.name, lines)  # the helper's line, once
        assert "policy={'reveal': False, 'solutions': False}" in lines[0] and "ex.reveal" not in lines[0], lines[0]
        assert len(_cells(nb)) == len(_cells(copy))
        for before, after in changed:  # nothing else changed: the parameters' run_root and the helper's line
            rest = [(x, y) for x, y in zip(before.splitlines(), after.splitlines()) if x != y]
            assert all("run_root" in x or "exercises.Notebook(" in x for x, _ in rest), (nb.name, rest)
    said = capsys.readouterr().out
    assert str(out / "student") in said and str(out / "grading.json") in said and "not executed" in said


def test_the_instructor_copies_ask_for_the_solutions_and_are_not_executed(tmp_path, capsys):
    res = course.build_course(tmp_path / "out", execute=False, quiet=True)
    folder = tmp_path / "out" / "instructor" / "notebooks"
    assert sorted(p.name for p in folder.iterdir()) == [nb.name for nb in NOTEBOOKS] == [p.name for p in res.instructor]
    for nb in NOTEBOOKS:
        copy = folder / nb.name
        params = _params(copy)
        assert "solutions = True" in params and "solutions = False" not in params, nb.name
        text = copy.read_text(encoding="utf-8")
        assert "policy=" not in text and not [c for c in _cells(copy) if c.get("outputs")], nb.name
    assert res.lab is None
    capsys.readouterr()


def test_grading_json_lists_every_exercise_with_its_points_and_the_policy(tmp_path):
    course.build_course(tmp_path / "out", execute=False, quiet=True)
    grading = json.loads((tmp_path / "out" / "grading.json").read_text())
    assert grading["policy"] == CLOSED and grading["points"] == {"implement": 3, "predict": 1, "explore": 2}
    assert [n["file"] for n in grading["notebooks"]] == [nb.name for nb in NOTEBOOKS]
    total = 0
    for entry, nb in zip(grading["notebooks"], NOTEBOOKS):
        assert entry["nb"] == list(_nb_names(nb))
        want = list(dict.fromkeys(e.name for name in entry["nb"] for e in exercises.exercises_of(name)))
        assert [e["name"] for e in entry["exercises"]] == want, nb.name
        for e in entry["exercises"]:
            registered = exercises.get(e["name"])
            assert (e["kind"], e["question"], e["mandatory"]) == (registered.kind, registered.question, True)
            assert e["points"] == {"implement": 3, "predict": 1, "explore": 2}[e["kind"]]
            total += e["points"]
    assert grading["points_possible"] == total and grading["points_optional"] == 0
    first = {e["name"]: e["points"] for e in grading["notebooks"][0]["exercises"]}
    assert first == {"partition": 3, "inward_column_sums": 1, "bones": 3, "sampling_repeats": 2}


def test_a_lecturer_chooses_notebooks_points_optional_exercises_and_allows_reveals(tmp_path, capsys):
    argv = ["course", "build", str(tmp_path / "out"), "--no-execute", "--notebooks", "01,02b", "--allow-reveal",
            "--points", "implement=5,explore=0.5", "--optional", "bones,toy_outward"]  # fmt: skip
    assert cli.main(argv) == 0
    out = tmp_path / "out"
    assert sorted(p.name for p in (out / "student").iterdir()) == [NB01, NB02B]
    assert sorted(p.name for p in (out / "instructor" / "notebooks").iterdir()) == [NB01, NB02B]
    for name in (NB01, NB02B):
        assert "policy={'reveal': True, 'solutions': False}" in (out / "student" / name).read_text()
    grading = json.loads((out / "grading.json").read_text())
    assert grading["policy"] == {"reveal": True, "solutions": False}
    assert grading["points"] == {"implement": 5, "predict": 1, "explore": 0.5}
    rows = {(n["file"], e["name"]): (e["points"], e["mandatory"]) for n in grading["notebooks"] for e in n["exercises"]}
    assert rows[(NB01, "partition")] == (5, True) and rows[(NB02B, "partition")] == (5, True)  # once per notebook
    assert rows[(NB01, "bones")] == (5, False) and rows[(NB02B, "toy_outward")] == (1, False)
    assert rows[(NB01, "sampling_repeats")] == (0.5, True) and rows[(NB01, "inward_column_sums")] == (1, True)
    assert grading["points_possible"] == 5 + 1 + 0.5 + 11 * 5 and grading["points_optional"] == 5 + 1
    capsys.readouterr()


def test_a_student_copy_refuses_reveal_and_solution_counts_them_and_a_solutions_run_gets_none(tmp_path, capsys):
    """The student copy of 02b, its cells run here up to the first exercise, as a student who sets
    ``solutions = True`` and calls ``ex.reveal`` / ``ex.solution`` would: refused in one sentence, counted."""
    course.build_course(tmp_path / "out", notebooks=["02b"], execute=False, quiet=True)
    cells = [c for c in _cells(tmp_path / "out" / "student" / NB02B) if c["cell_type"] == "code"]
    first = next(i for i, c in enumerate(cells) if _source(c).startswith("# exercise: partition"))
    ns: dict = {}
    for cell in cells[: first + 1]:
        src = _source(cell)
        if "parameters" in cell["metadata"].get("tags", []):
            src = f'run_root = {str(tmp_path / "run")!r}\nsolutions = True  # the student switched it on'
        exec(compile(src, "<cell>", "exec"), ns)
    out = capsys.readouterr().out
    assert "solutions are off in this course" in out and "[partition] not yet" in out and "correct" not in out
    assert ns["ex"].solutions is False and ns["my_partition"] is None  # ex.solution gave nothing
    exec('ex.reveal("partition")\nex.reveal("toy_outward")', ns)
    assert capsys.readouterr().out.splitlines() == [OFF, OFF]
    rec = exercises.summary(tmp_path / "run")["02b_build_one_block"]
    assert (rec["partition"]["solutions"], rec["partition"]["reveals"], rec["partition"]["attempts"]) == (1, 1, 1)
    assert rec["partition"]["passed"] is False and rec["partition"]["solutions_mode"] is True
    assert rec["toy_outward"]["reveals"] == 1 and rec["partition"]["policies"] == [CLOSED]


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--points", "implement=x"], "--points implement=x: 'x' is not a number"),
        (["--points", "implment=3"], "--points: unknown kind 'implment' (kinds: predict, implement, explore)"),
        (["--points", "predict=-1"], "--points predict=-1: points must be >= 0"),
        (["--points", "predict"], "--points predict: give KIND=POINTS"),
        (["--optional", "partition,nope"], "--optional: no exercise 'nope' in notebooks 01, 02b"),
        (["-p", "solutions", "false"], "-p solutions: the build sets it"),
        (["--notebooks", "99"], "no notebook matches 99"),
    ],
)
def test_a_lecturers_mistake_is_one_line_status_2_and_nothing_is_written(tmp_path, capsys, argv, words):
    only = [] if "--notebooks" in argv else ["--notebooks", "01,02b"]
    code = cli.main(["course", "build", str(tmp_path / "out"), "--no-execute", *only, *argv])
    err = capsys.readouterr().err
    assert code == 2 and words in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "out").exists()


def test_a_build_already_there_is_kept_unless_forced(tmp_path, capsys):
    out = tmp_path / "out"
    course.build_course(out, notebooks=["01"], execute=False, quiet=True)
    mine = out / "student" / NB01
    mine.write_text(mine.read_text().replace("raise NotImplementedError", "return 42"))
    edited = mine.read_text()
    code = cli.main(["course", "build", str(out), "--no-execute", "--notebooks", "02b"])
    err = capsys.readouterr().err
    assert code == 2 and "student" in err and "grading.json" in err and "--force" in err and "Traceback" not in err
    assert mine.read_text() == edited and not (out / "student" / NB02B).exists()
    res = course.build_course(out, notebooks=["02b"], execute=False, force=True, quiet=True)
    assert sorted(p.name for p in (out / "student").iterdir()) == [NB02B] == [p.name for p in res.student]
    assert [n["file"] for n in json.loads((out / "grading.json").read_text())["notebooks"]] == [NB02B]
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(InputError, match="a-file is a file, not a folder"):
        course.build_course(tmp_path / "a-file", execute=False, quiet=True)


def test_a_notebook_with_exercises_but_no_helper_line_is_refused_by_name(tmp_path):
    folder = tmp_path / "nbs"
    folder.mkdir()
    text = (REPO / "notebooks" / NB01).read_text(encoding="utf-8")
    (folder / NB01).write_text(text.replace("ex = exercises.Notebook(NB, run_root, solutions)", "ex = make_helper()"))
    with pytest.raises(InputError, match=rf"{NB01}: no `ex = exercises.Notebook\(...\)` line"):
        course.build_course(tmp_path / "out", execute=False, notebooks_folder=folder, quiet=True)
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------------------------------------
# The grader with --grading: points on planted records
# ------------------------------------------------------------------------------------------------

SUMS = [0 if v == get_layout("nturgb+d").center else 1 for v in range(25)]  # NTU's inward column sums: 1, the centre's 0


def _planted(tmp_path: Path, student: str, file: str, policy, events: str) -> grader.GradedNotebook:
    """What the grader's run of a student's notebook left: ``events`` run against a helper made under ``policy``."""
    nb = tmp_path / "subs" / student / file
    nb.parent.mkdir(parents=True, exist_ok=True)
    nb.write_text((tmp_path / "out" / "student" / file).read_text())
    run = tmp_path / "runs" / student / nb.stem
    ns = {"graphs": graphs, "block": block, "SUMS": SUMS}
    for name in _nb_names(nb):
        ns["ex"] = exercises.Notebook(name, run, False, policy=policy)
        exec(events, ns)
    return grader.GradedNotebook(student, file, "ok", "", exercises.summary(run), _nb_names(nb))


def _plant_course(tmp_path: Path) -> dict[tuple[str, str], grader.GradedNotebook]:
    course.build_course(tmp_path / "out", notebooks=["01", "02b"], optional=["bones"], execute=False, quiet=True)
    partition = 'ex.check("partition", graphs.partition_solution)\n'
    planted = [
        _planted(tmp_path, "alice", NB01, CLOSED, partition + 'ex.check("inward_column_sums", SUMS)\n'
                                                              'ex.check("bones", graphs.bones_solution)'),  # 3 + 1 + optional 3
        _planted(tmp_path, "bob", NB01, CLOSED, 'ex.reveal("partition")\n' + partition),  # refused, still a reveal
        _planted(tmp_path, "bob", NB02B, CLOSED, partition + 'ex.check("gate", block.gate_solution)'),
        _planted(tmp_path, "carol", NB01, {"reveal": True, "solutions": False}, 'ex.reveal("partition")\n' + partition),
        _planted(tmp_path, "erin", NB02B, None, 'ex.check("gate", block.gate_solution)'),  # the policy removed
    ]
    (tmp_path / "subs" / "dave").mkdir()
    return {(g.student, g.notebook): g for g in planted}


POSSIBLE = 3 + 1 + 2 + 11 * 3 + 1  # 01 without the optional bones, and 02b
EXPECTED = {  # student -> points, points_possible, points_without_help, policy_changed
    "alice": (7, POSSIBLE, 7, ""),
    "bob": (9, POSSIBLE, 6, ""),
    "carol": (3, POSSIBLE, 0, f"{NB01} (policy: reveals on, solutions off)"),
    "dave": (0, POSSIBLE, 0, ""),
    "erin": (3, POSSIBLE, 3, f"{NB02B} (no course policy)"),
}


def test_points_per_student_from_planted_records(tmp_path, capsys):
    planted = _plant_course(tmp_path)
    grading = course.load_grading(tmp_path / "out" / "grading.json")
    rows = [r for g in planted.values() for r in grader.rows_of(g)]
    table = grading.add_points(grader.student_summary(rows, list(EXPECTED)), list(planted.values()))
    got = {s["student"]: tuple(s[c] for c in course.POINTS_COLUMNS) for s in table}
    assert got == EXPECTED
    assert grading.columns == course.POINTS_COLUMNS == ("points", "points_possible", "points_without_help", "policy_changed")
    capsys.readouterr()


def test_aagcn_lab_grade_with_grading_writes_the_points_into_the_summary(tmp_path, monkeypatch, capsys):
    """``aagcn-lab grade ... --grading grading.json``, the notebook runs replaced by the planted records."""
    planted = _plant_course(tmp_path)
    monkeypatch.setattr(grader, "run_notebook", lambda sub, *a, **k: planted[(sub.student, sub.notebook.name)])
    folders = [str(tmp_path / "subs" / s) for s in EXPECTED]
    capsys.readouterr()
    code = cli.main(["grade", *folders, "--out", str(tmp_path / "grades.csv"), "--grading", str(tmp_path / "out" / "grading.json")])
    out = capsys.readouterr().out
    assert code == 0
    assert f"[grade] bob: 3/16 passed (2 without reveal or solution); points 9/{POSSIBLE} (6 without reveal or solution)" in out
    with open(tmp_path / "grades_students.csv", newline="") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames) == (*grader.SUMMARY_COLUMNS, *course.POINTS_COLUMNS)
        got = {r["student"]: tuple(r[c] for c in course.POINTS_COLUMNS) for r in reader}
    assert got == {s: tuple(str(v) for v in want) for s, want in EXPECTED.items()}
    with open(tmp_path / "grades.csv", newline="") as f:
        assert tuple(csv.DictReader(f).fieldnames) == grader.COLUMNS  # the rows are as without --grading


@pytest.mark.parametrize(
    "content, words",
    [
        (None, "no such file"),
        ("{not json", "not JSON"),
        ('{"policy": {"reveal": false, "solutions": false}}', "'notebooks' is missing"),
        ('{"policy": {"reveals": false}, "notebooks": []}', "policy: unknown key 'reveals'"),
        ('{"policy": {}, "notebooks": [{"file": "01_x.ipynb", "nb": ["01_skeleton_graphs"], "exercises": '
         '[{"name": "partition", "kind": "implement", "points": "three", "mandatory": true}]}]}',
         "notebooks[0].exercises[0] (partition): points must be a number >= 0, got 'three'"),
        ('{"policy": {}, "notebooks": [{"file": "01_x.ipynb", "nb": ["01_skeleton_graphs"], "exercises": '
         '[{"name": "nope", "kind": "implement", "points": 3, "mandatory": true}]}]}',
         "notebooks[0].exercises[0]: no exercise 'nope' in this aagcn-lab"),
    ],
)
def test_a_broken_grading_file_is_one_line_and_status_2_before_any_notebook_runs(tmp_path, capsys, monkeypatch, content, words):
    path = tmp_path / "grading.json"
    if content is not None:
        path.write_text(content)
    (tmp_path / "subs").mkdir()
    monkeypatch.setattr(grader, "run_notebook", lambda *a, **k: pytest.fail("a notebook ran"))
    code = cli.main(["grade", str(tmp_path / "subs"), "--out", str(tmp_path / "grades.csv"), "--grading", str(path)])
    err = capsys.readouterr().err
    assert code == 2 and words in err and str(path) in err and "Traceback" not in err, err
    assert not (tmp_path / "grades.csv").exists()


# ------------------------------------------------------------------------------------------------
# The instructor build executed (one notebook, 02b: no training, about 13 s on a busy 2-core machine)
# ------------------------------------------------------------------------------------------------


def test_the_instructor_build_executes_02b_with_the_solutions_through_the_runner(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    res = course.build_course(tmp_path / "out", notebooks=["02b"], quiet=True)
    inst = tmp_path / "out" / "instructor"
    assert res.lab is not None and res.lab.ok and [nb["name"] for nb in res.lab.notebooks] == [NB02B]
    assert res.lab.notebooks[0]["parameters"]["solutions"] is True
    executed = json.loads((inst / "notebooks" / NB02B).read_text())
    outputs = [o for c in executed["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]
    assert outputs and not [o for o in outputs if o["output_type"] == "error"]
    records = exercises.summary(inst)["02b_build_one_block"]
    assert {e.name for e in exercises.exercises_of("02b_build_one_block")} == set(records)
    assert all(r["passed"] and r["policies"] == [None] for r in records.values())
    assert (inst / "index.md").is_file() and (tmp_path / "out" / "student" / NB02B).is_file()
    capsys.readouterr()
