"""``python -m aagcn_lab.bench``: the command line lives in :mod:`aagcn_lab.cli.bench`."""

import sys

from aagcn_lab.cli.bench import main

sys.exit(main())
