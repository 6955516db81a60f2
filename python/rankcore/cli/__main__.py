"""``python -m rankcore.cli``: the same as the ``rankcore`` console script."""

import sys

from . import main

sys.exit(main())
