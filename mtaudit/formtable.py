"""Answers about common English word forms, computed once and kept in a table on disk.

The idiom engines do some work for every word form a scan meets for the first time: the
glossary engine's lookup keys (lemma guesses, source-word forms), the back-projection's
Apertium analysis. A news document brings about 60 new forms, most of them among the most
frequent English words, and the answers depend only on the compiled index they were
asked of. So the index's builder answers for the ``COMMON_WORDS`` most frequent English
words once, through the same code as a scan, and stores the answers in a sqlite table
beside the index's pickle (same key: a changed lexicon, code or data version gets a new
table). A scan reads a document's new forms in one query and computes only the rest.

The table is a cache of a pure function: a missing or damaged table is never an error,
only slower.
"""

from __future__ import annotations

import os
import pickle
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from mtaudit import cachedir

#: How many of wordfreq's most frequent English words are answered in advance. 50,000
#: leave ~12 forms of a news document (names, rare words) to be computed during a scan.
COMMON_WORDS = 50_000
#: Keys per query (far under sqlite's limit on parameters).
_BATCH = 500
#: Tables kept per kind of index when newer ones are built (one per lexicon/data version).
_KEEP = 4
#: Part of the file name: bumped when the table's layout changes.
FORMAT = 1
# Tables this process could not write (a read-only cache folder): not tried again.
_UNWRITABLE: set[Path] = set()
_BUILDING = threading.Lock()
# Connections a forked process inherited: kept referenced, never closed or used here.
_INHERITED: list[sqlite3.Connection] = []


def common_forms(n: int = COMMON_WORDS, capitalised: bool = True) -> list[str]:
    """The ``n`` most frequent English words as a scan meets them: as listed (lower case)
    and, with ``capitalised``, capitalised too (a sentence's first word); with a
    typographic apostrophe beside a straight one. Numbers are left out."""
    from wordfreq import top_n_list

    forms: dict[str, None] = {}
    for word in top_n_list("en", n):
        if any(c.isdigit() for c in word):
            continue
        for form in (word, word[:1].upper() + word[1:]) if capitalised else (word,):
            forms[form] = None
            if "'" in form:
                forms[form.replace("'", "’")] = None
    return list(forms)


class FormTable:
    """Read side of one table: a read-only connection per process (a sqlite handle must
    not cross a fork; ``--jobs`` forks after loading the indexes)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        self._pid = 0
        self._failed = False

    def get_many(self, forms: Sequence[str]) -> dict[str, Any]:
        """The stored answer for each form the table has (the others are left out);
        nothing when the table cannot be read (the caller computes every form itself)."""
        db = self._connection()
        if db is None or not forms:
            return {}
        found: dict[str, Any] = {}
        try:
            for i in range(0, len(forms), _BATCH):
                chunk = list(forms[i : i + _BATCH])
                marks = ", ".join("?" * len(chunk))
                query = f"SELECT form, answer FROM forms WHERE form IN ({marks})"
                found.update((form, pickle.loads(blob)) for form, blob in db.execute(query, chunk))
        except (sqlite3.Error, pickle.UnpicklingError, TypeError, ValueError, EOFError):
            self._damaged()
            return {}
        return found

    def fill(self, cache: dict[str, Any], forms: Iterable[str]) -> None:
        """Put into ``cache`` the stored answer of each of ``forms`` it lacks (one query):
        what an engine does with a document's words before it computes the rest."""
        new = sorted({f for f in forms if f not in cache})
        if new:
            cache.update(self.get_many(new))

    def _connection(self) -> sqlite3.Connection | None:
        if self._failed:
            return None
        if self._db is not None:
            if self._pid == os.getpid():
                return self._db
            # Forked from the process that opened it: never used or closed here (it is
            # the parent's), and kept referenced so that garbage collection does not
            # close it either; this process opens its own.
            _INHERITED.append(self._db)
            self._db = None
        try:
            db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
            db.execute("SELECT 1 FROM forms LIMIT 1").fetchone()
        except sqlite3.Error:
            self._damaged()
            return None
        self._db, self._pid = db, os.getpid()
        return db

    def _damaged(self) -> None:
        """Stop using the table, and remove it so that the next run builds it again."""
        self._failed = True
        try:
            self.path.unlink()
        except OSError:  # gone already, or a read-only folder
            pass

    def close(self) -> None:
        """Close this process's connection (a later lookup opens it again)."""
        if self._db is not None:
            if self._pid == os.getpid():
                self._db.close()
            else:  # the parent's (see _connection)
                _INHERITED.append(self._db)
        self._db = None

    def __getstate__(self) -> dict[str, Any]:
        # A connection never travels (pickled indexes, Ray actors): a copy opens its own.
        return {"path": self.path}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.path = Path(state["path"])
        self._db, self._pid, self._failed = None, 0, False


def attach(
    folder: Path | None, key: str, answers: Callable[[list[str]], Iterable[tuple[str, Any]]]
) -> FormTable | None:
    """The table of the index compiled under ``key`` in ``folder``, built now from
    ``answers`` (given the common forms, yields ``(form, answer)``) if it is not there
    yet; None without a cache folder, or when the table cannot be written there (checked
    before ``answers`` is asked: a read-only cache costs nothing, every scan)."""
    if folder is None:
        return None
    path = folder / f"{key}.forms{FORMAT}.sqlite"
    if path in _UNWRITABLE:
        return None
    with _BUILDING:  # threads of one process (the server's workers) build it once
        if not path.exists() and not _build(path, key, answers):
            _UNWRITABLE.add(path)
            return None
    return FormTable(path)


def _build(path: Path, key: str, answers: Callable[[list[str]], Iterable[tuple[str, Any]]]) -> bool:
    """Write the table at ``path``; False when it cannot be written (found out before
    ``answers`` is asked) or building it failed."""
    # A name of its own per process and thread: another process may be building the same
    # table; each writes a whole file, and the last rename wins.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.unlink(missing_ok=True)
        db = sqlite3.connect(tmp)
    except (OSError, sqlite3.Error):
        return False
    try:
        db.execute("CREATE TABLE forms (form TEXT PRIMARY KEY, answer BLOB) WITHOUT ROWID")
    except sqlite3.Error:
        db.close()
        tmp.unlink(missing_ok=True)
        return False
    cachedir.building(f"{key.split('-', 1)[0]} common words")
    try:
        db.executemany(
            "INSERT INTO forms VALUES (?, ?)",
            ((form, pickle.dumps(ans, protocol=5)) for form, ans in answers(common_forms())),
        )
        db.commit()
        db.close()
        tmp.replace(path)  # atomically: a reader sees the whole table or none
    except Exception:  # noqa: BLE001 - a disk full, an engine that died: the scan goes on
        # without the table (it is only a cache), as it did before the table existed.
        db.close()
        tmp.unlink(missing_ok=True)
        return False
    _prune(path.parent, key.split("-", 1)[0])
    return True


def _prune(folder: Path, prefix: str) -> None:
    """Keep the newest ``_KEEP`` tables of one kind of index."""
    try:
        tables = sorted(
            folder.glob(f"{prefix}-*.forms{FORMAT}.sqlite"),
            key=lambda p: p.stat().st_mtime,
            reverse=True,
        )
    except OSError:  # one was removed while listing: prune next time
        return
    for old in tables[_KEEP:]:
        try:
            old.unlink()
        except OSError:  # another process pruned it first
            pass
