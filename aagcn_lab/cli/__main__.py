"""``python -m aagcn_lab.cli``: the same entry point as the ``aagcn-lab`` command."""

import sys

from . import main

sys.exit(main())
