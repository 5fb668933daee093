"""On-disk translation cache: a small sqlite file keyed by (text, src, tgt, engine signature).

Back-translation is by far the slowest stage of a scan with a real engine, and corpora are
re-scanned often (pre-publish gate, CI), so every translation is kept. The engine signature
is part of the key: upgrading Apertium's data or swapping the Marian model invalidates
exactly the entries it produced.
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

# Re-exported: the translation cache's folder is every cache's folder.
from mtaudit.cachedir import (
    default_cache_dir,  # noqa: F401
    open_wal,
)

CACHE_FILE = "backtranslate.sqlite3"
# sqlite's default limit on host parameters is 999 on old builds; stay well under it.
_CHUNK = 400

_SCHEMA = """
CREATE TABLE IF NOT EXISTS translation (
    signature TEXT NOT NULL,
    src TEXT NOT NULL,
    tgt TEXT NOT NULL,
    text TEXT NOT NULL,
    output TEXT NOT NULL,
    PRIMARY KEY (signature, src, tgt, text)
) WITHOUT ROWID
"""


class TranslationCache:
    """Translations by (signature, src, tgt, text); in memory when ``directory`` is None.

    A cache that cannot be opened (read-only home, full disk) degrades to an in-memory one
    with one message on stderr: the cache is an optimisation, never a reason to fail a scan.
    """

    def __init__(self, directory: Path | str | None) -> None:
        self.path: Path | None = None
        self.hits = 0
        self.misses = 0
        if directory is not None:
            try:
                Path(directory).mkdir(parents=True, exist_ok=True)
                self.path = Path(directory) / CACHE_FILE
                self._db = self._open(str(self.path))
                return
            except (OSError, sqlite3.Error) as exc:
                print(
                    f"mtaudit: cannot use the translation cache in {directory} ({exc}); "
                    "keeping translations in memory for this run",
                    file=sys.stderr,
                )
                self.path = None
        self._db = self._open(":memory:")

    @staticmethod
    def _open(where: str) -> sqlite3.Connection:
        if where != ":memory:":
            # WAL lets parallel scans share one cache file without "database is locked".
            return open_wal(where, [_SCHEMA])
        db = sqlite3.connect(where)
        db.execute(_SCHEMA)
        db.commit()
        return db

    def get_many(self, signature: str, src: str, tgt: str, texts: Sequence[str]) -> dict[str, str]:
        """The cached outputs for those of ``texts`` that are in the cache."""
        found: dict[str, str] = {}
        unique = list(dict.fromkeys(texts))
        try:
            for i in range(0, len(unique), _CHUNK):
                chunk = unique[i : i + _CHUNK]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    "SELECT text, output FROM translation WHERE signature = ? AND src = ? "
                    f"AND tgt = ? AND text IN ({marks})",
                    (signature, src, tgt, *chunk),
                )
                found.update(rows)
        except sqlite3.Error:
            return {}
        self.hits += len(found)
        self.misses += len(unique) - len(found)
        return found

    def put_many(
        self, signature: str, src: str, tgt: str, pairs: Iterable[tuple[str, str]]
    ) -> None:
        """Store ``(text, output)`` pairs; failures are ignored (the run goes on uncached)."""
        try:
            with self._db:
                self._db.executemany(
                    "INSERT OR REPLACE INTO translation VALUES (?, ?, ?, ?, ?)",
                    [(signature, src, tgt, text, out) for text, out in pairs],
                )
        except sqlite3.Error:
            pass

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM translation").fetchone()[0])

    def close(self) -> None:
        self._db.close()
