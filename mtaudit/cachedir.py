"""Where mtaudit keeps its caches (translations, audit results, the word-frequency table).

At the bottom of the layers (standard library only) so that language ID, the
back-translation cache and the result cache all find the same folder.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

_notice: Callable[[str], None] | None = None
_told = False


def default_cache_dir() -> Path:
    """``$MTAUDIT_CACHE_DIR``, else ``$XDG_CACHE_HOME/mtaudit``, else ``~/.cache/mtaudit``."""
    env = os.environ.get("MTAUDIT_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "mtaudit"


def on_first_build(notice: Callable[[str], None] | None) -> None:
    """Have ``notice`` called, once per process, when a cache is about to be built.

    The first run after an install or an upgrade builds the word tables and the idiom
    indexes (about half a minute on two cores): a command line says so instead of sitting
    silent. None turns the notice off.
    """
    global _notice, _told
    _notice, _told = notice, False


def building(what: str) -> None:
    """Called by a cache's builder before it builds ``what`` (the notice goes out once)."""
    global _told
    if _notice is not None and not _told:
        _told = True
        _notice(what)
