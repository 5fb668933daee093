"""Where mtaudit keeps its caches (translations, audit results, the word-frequency table).

At the bottom of the layers (standard library only) so that language ID, the
back-translation cache and the result cache all find the same folder.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Iterable
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


def open_wal(
    path: Path | str, schema: Iterable[str], patience_s: float = 30.0
) -> sqlite3.Connection:
    """Connect to a cache database, switch it to WAL and run ``schema``, retrying while
    another process or thread does the same.

    Switching a new file to WAL takes an exclusive lock, and SQLite answers "database is
    locked" at once there instead of waiting out the busy timeout: three ``--jobs``
    workers opening a fresh result cache together hit it, and so did the server's two
    workers opening a fresh translation cache (about 1 open in 45 with four at once).
    """
    deadline = time.monotonic() + patience_s
    delay = 0.01
    while True:
        db = sqlite3.connect(path, timeout=patience_s)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            with db:
                for statement in schema:
                    db.execute(statement)
            return db
        except sqlite3.Error as exc:
            db.close()
            busy = isinstance(exc, sqlite3.OperationalError) and (
                "locked" in str(exc) or "busy" in str(exc)
            )
            if not busy or time.monotonic() >= deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.5)
