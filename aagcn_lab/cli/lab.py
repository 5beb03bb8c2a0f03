"""``aagcn-lab lab``: run every notebook headless into one run folder (the main job).

::

    aagcn-lab lab                                  # every notebook, built-in dataset, runs/lab
    aagcn-lab lab --notebooks 03,04 -p epochs 2    # two notebooks, a short training
    aagcn-lab lab --only 06 --out runs/quick       # --only is the same as --notebooks
    aagcn-lab lab -p solutions true -p options '{"test_clips": 2}'

A -p value is read as the type of the parameter's default in the notebooks that declare it (bool:
True/False/true/false/1/0; int, float, list, dict: JSON; str: as it is); another value is refused
before any notebook runs, naming the parameter, the type and the notebooks.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["add_arguments", "run", "parse_value"]


def parse_value(text: str, name: str = "", notebooks: Sequence[Path] = ()) -> Any:
    """A ``-p NAME VALUE`` value as the type ``notebooks`` declare for ``name``; for a parameter none of
    them types, JSON when it parses (``2``, ``true``, ``{"lr": 0.05}``), else the text itself."""
    from ..lab.runner import parse_parameter

    return parse_parameter(name, text, notebooks)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``aagcn-lab lab``."""
    from . import positive_int  # counts below 1 are refused naming the option (exit 2)

    p.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                   help="papermill parameter, given to every notebook that declares it (VALUE read as the type of its default there)")
    p.add_argument("--out", default="runs/lab", help="run folder (default runs/lab)")
    p.add_argument("--notebooks", "--only", dest="notebooks", default=None, help="which notebooks, e.g. 01,03 (default: all)")
    p.add_argument("--notebooks-dir", default=None, help="folder with the numbered notebooks (default: the repository's)")
    p.add_argument("--stop-on-error", action="store_true", help="stop at the first notebook that fails")
    p.add_argument("--cell-timeout", type=positive_int, default=None, help="fail a cell that runs longer than this (seconds); its notebook then runs once more")


def run(args: argparse.Namespace) -> int:
    """Execute the notebooks and print where the results are; 0 when every notebook ran, 1 otherwise, 2 when none is found."""
    from ..lab.runner import list_notebooks, run_lab

    only = args.notebooks.split(",") if args.notebooks else None
    try:
        notebooks = list_notebooks(args.notebooks_dir, only)
        params = {k: parse_value(v, k, notebooks) for k, v in args.parameter}  # a bad value: one line (2) before any notebook runs
        res = run_lab(args.out, params, only, args.notebooks_dir, stop_on_error=args.stop_on_error, cell_timeout=args.cell_timeout)
    except FileNotFoundError as e:
        print(f"aagcn-lab lab: {e}", file=sys.stderr)
        return 2
    print(f"\n[lab] executed notebooks, figures and the index are in {res.out_dir}")
    print(f"[lab] index: {res.out_dir / 'index.md'}")
    for name, r in res.results.items():
        headline = {k: v for k, v in r.items() if isinstance(v, (int, float))}
        if headline:
            print(f"[lab] {name}: " + ", ".join(f"{k} {v:.4g}" for k, v in list(headline.items())[:6]))
    return 0 if res.ok else 1
