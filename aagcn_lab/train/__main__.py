"""``python -m aagcn_lab.train --config run.json`` (what torchrun starts in every process)."""

import sys

from .trainer import main

sys.exit(main())
