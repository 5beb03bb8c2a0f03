"""``aagcn-lab course build OUT``: the course in a box: the students' notebooks, the instructor's, and grading.json.

::

    aagcn-lab course build course                          # student/, instructor/ (executed: minutes), grading.json
    aagcn-lab course build course --no-execute             # the instructor notebooks unexecuted (a quick look)
    aagcn-lab course build course --notebooks 01,02b -p epochs 2        # some notebooks, a short instructor run
    aagcn-lab course build course --allow-reveal --optional bones,toy_outward --points implement=4,predict=1,explore=2

OUT/student/ holds the notebooks to hand out: checks on, reveals and solutions off unless --allow-reveal /
--allow-solutions (the line that makes the exercise helper passes the course's policy; ex.reveal and
ex.solution then say they are off and are still counted; a student who edits the line is seen by the
grader). OUT/instructor/ holds the notebooks executed with solutions=True (the lab's run folder: notebooks/,
figures, index.md), or with --no-execute the same notebooks unexecuted in OUT/instructor/notebooks/.
OUT/grading.json lists every exercise with its kind, question, points (default implement 3, predict 1,
explore 2) and whether it is mandatory (all, but --optional ones); grade with it:
aagcn-lab grade submissions/* --grading OUT/grading.json. An earlier build in OUT is kept unless --force.
"""

from __future__ import annotations

import argparse
import json

__all__ = ["add_arguments", "run"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``aagcn-lab course``."""
    p.add_argument("action", choices=["build"], help="build: write OUT/student, OUT/instructor and OUT/grading.json")
    p.add_argument("out", metavar="OUT", help="folder to build the course in (made if needed)")
    p.add_argument("--allow-reveal", action="store_true", help="students may use ex.reveal (default: off)")
    p.add_argument("--allow-solutions", action="store_true", help="students may use ex.solution and solutions=True (default: off)")
    p.add_argument("--no-execute", action="store_true", help="write the instructor notebooks without running them")
    p.add_argument("--notebooks", "--only", dest="notebooks", default=None, help="which notebooks, e.g. 01,02b (default: all; both builds)")
    p.add_argument("--notebooks-dir", default=None, help="folder with the numbered notebooks (default: the repository's, else the installed ones)")
    p.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                   help="papermill parameter of the instructor run, e.g. -p epochs 2 (read as the type the notebooks declare)")
    p.add_argument("--points", default=None, help="points per kind, e.g. implement=3,predict=1,explore=2 (kinds left out keep these defaults)")
    p.add_argument("--optional", default=None, help="exercises that are optional, e.g. bones,toy_outward (default: all are mandatory)")
    p.add_argument("--force", action="store_true", help="replace an earlier build's student/, instructor/ and grading.json in OUT")


def run(args: argparse.Namespace) -> int:
    """Build the course and say where everything is; 0, 1 when an instructor notebook failed, 2 on a bad option."""
    from ..lab.course import build_course, parse_points, policy_words
    from ..lab.runner import list_notebooks, parse_parameter

    only = args.notebooks.split(",") if args.notebooks else None
    chosen = list_notebooks(args.notebooks_dir, only)
    params = {name: parse_parameter(name, text, chosen) for name, text in args.parameter}
    points = parse_points(args.points) if args.points else None
    optional = [name.strip() for name in args.optional.split(",") if name.strip()] if args.optional else []
    res = build_course(args.out, args.allow_reveal, args.allow_solutions, only, not args.no_execute, params, points, optional,
                       args.force, args.notebooks_dir)  # fmt: skip
    sheet = json.loads(res.grading.read_text())
    allowed = policy_words(sheet["policy"])
    count = sum(len(nb["exercises"]) for nb in sheet["notebooks"])
    print(f"[course] student notebooks ({allowed}): {res.out / 'student'} ({len(res.student)} notebooks)")
    print(f"[course] grading: {res.grading} ({count} exercises, {sheet['points_possible']:g} points possible, "
          f"{sheet['points_optional']:g} more in optional exercises)")  # fmt: skip
    if res.lab is None:
        print(f"[course] instructor notebooks (solutions=True, not executed): {res.out / 'instructor' / 'notebooks'}")
        return 0
    failed = [nb for nb in res.lab.notebooks if nb["status"] not in ("ok", "skipped")]
    print(f"[course] instructor notebooks executed with solutions=True: {res.out / 'instructor' / 'notebooks'}; "
          f"index: {res.lab.out_dir / 'index.md'}")  # fmt: skip
    for nb in failed:
        print(f"[course] {nb['name']} failed: {nb.get('error', '')}")
    return 1 if failed else 0
