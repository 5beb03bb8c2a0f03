"""``aagcn-lab notebooks DEST``: copy the course's numbered notebooks into a folder of your own.

::

    aagcn-lab notebooks my-lab                  # then: cd my-lab && jupyter lab
    aagcn-lab notebooks my-lab --only 01,02b    # some of them
    aagcn-lab notebooks my-lab --force          # overwrite copies you edited (the course's version again)

The notebooks come from the installed package (or from the clone you run it in), and run from the
copy against the installed package; their run folder (figures, trained models, exercise records) is
runs/lab inside the copy. A notebook already in DEST that differs from the course's copy is yours:
nothing is copied until you pass --force (which overwrites those files) or pick another folder.
"""

from __future__ import annotations

import argparse

__all__ = ["add_arguments", "run"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``aagcn-lab notebooks``."""
    p.add_argument("dest", help="folder to copy the notebooks into (made if needed)")
    p.add_argument("--only", default=None, help="which notebooks, e.g. 01,02b (default: all)")
    p.add_argument("--force", action="store_true", help="overwrite notebooks in DEST that differ from the course's copies")


def run(args: argparse.Namespace) -> int:
    """Copy the notebooks and say what happened to each file; 0, or 2 when a learner's edited copy is in the way."""
    from ..lab.runner import copy_notebooks, notebooks_dir

    source = notebooks_dir()
    done = copy_notebooks(args.dest, force=args.force, only=args.only.split(",") if args.only else None)
    for kind, paths in done.items():
        for path in paths:
            print(f"{kind:11s} {path}")
    print(f"\n{sum(map(len, done.values()))} notebook(s) from {source} in {args.dest}; open them with: cd {args.dest} && jupyter lab")
    return 0
