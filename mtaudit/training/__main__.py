"""``python -m mtaudit.training``: see :mod:`mtaudit.training.cli`."""

from __future__ import annotations

import sys

from mtaudit.training.cli import main

if __name__ == "__main__":
    sys.exit(main())
