"""``python -m sono``: the same as the ``sono`` command."""

import sys

from sono.entrypoints.cli import main

sys.exit(main())
