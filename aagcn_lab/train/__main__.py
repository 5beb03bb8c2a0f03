"""``python -m aagcn_lab.train --config run.json`` (what torchrun starts in every process).

The command line is :mod:`aagcn_lab.cli.worker` (an entry point may import the cli package).
"""

import sys

from ..cli.worker import main

sys.exit(main())
