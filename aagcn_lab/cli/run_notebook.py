"""``python -m aagcn_lab.cli.run_notebook NOTEBOOK OUTPUT [--parameters JSON] ...``: one notebook through papermill.

The grader (:mod:`aagcn_lab.lab.grade`) runs each student's notebook in a process of its own with
this instead of papermill's command line, which cannot choose the kernel manager: here it is
:class:`~aagcn_lab.lab.kernel.SlicedKernelManager`, whose client polls for replies in one-second
slices (nbclient issue #312). Errors propagate as they do from papermill's command line: the
traceback is the process's last output (``nbclient.exceptions.CellTimeoutError`` for a cell past
``--execution-timeout``) and the exit status is 1.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> None:
    """Run one notebook with papermill through the lab's sliced kernel client."""
    parser = argparse.ArgumentParser(prog="python -m aagcn_lab.cli.run_notebook", description=main.__doc__)
    parser.add_argument("notebook")
    parser.add_argument("output")
    parser.add_argument("--parameters", default="{}", help="the parameters as one JSON object")
    parser.add_argument("--cwd", default=None, help="the kernel's working folder")
    parser.add_argument("--kernel", default=None, help="the kernel's name (default: the notebook's)")
    parser.add_argument("--execution-timeout", type=float, default=None, help="seconds one cell may run")
    args = parser.parse_args(argv)
    from ..lab.kernel import execute_notebook

    execute_notebook(args.notebook, args.output, json.loads(args.parameters), args.kernel, args.cwd, args.execution_timeout)


if __name__ == "__main__":
    main()
