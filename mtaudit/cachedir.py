"""Where mtaudit keeps its caches (translations, audit results, the word-frequency table).

At the bottom of the layers (standard library only) so that language ID, the
back-translation cache and the result cache all find the same folder.
"""

from __future__ import annotations

import os
from pathlib import Path


def default_cache_dir() -> Path:
    """``$MTAUDIT_CACHE_DIR``, else ``$XDG_CACHE_HOME/mtaudit``, else ``~/.cache/mtaudit``."""
    env = os.environ.get("MTAUDIT_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "mtaudit"
