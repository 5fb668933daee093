"""Common English word forms projected once, when the index is built: a table on disk.

Projecting a word form (:meth:`SourceIdiomIndex.words`) costs an exchange with Apertium's
analysers (English analysis, the bilingual dictionary, the source analyser for a
pass-through) and the Python that reads their answers. A news document brings about 60
forms a scan has not met yet, most of them among the most frequent English words, and
their projections depend only on what the index was built from (lexicons, Apertium's
data, this code). So the ``VOCABULARY_WORDS`` most frequent English words (wordfreq's
list), lower-case and capitalised, are projected once, through the same code as a scan's,
and kept beside the index's pickle in a sqlite table keyed by the form. A scan reads a
document's new forms from it in one query and sends only the rest (names, rare words) to
Apertium. The answers are those ``words()`` computes, so matches are unchanged.

Only indexes of the bundled lexicons get a table: one compiled for a user's own lexicon
files projects its words as they come, as before.
"""

from __future__ import annotations

import dataclasses
import os
import pickle
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from mtaudit.sourcematch.units import WordInfo

if TYPE_CHECKING:
    from mtaudit.sourcematch.index import SourceIdiomIndex

#: How many of wordfreq's most frequent English words are projected in advance. 50,000
#: cover all but ~12 forms of a news document (names, rare words); building takes ~10 s.
VOCABULARY_WORDS = 50_000
#: Part of the file name: bumped when the table's layout changes.
FORMAT = 1
#: Keys per query (sqlite's limit on parameters is far above it).
_BATCH = 500
#: Tables kept per language when newer ones are built (one per lexicon/data version).
_KEEP = 4
_FIELDS = tuple(f.name for f in dataclasses.fields(WordInfo))


def common_forms(n: int = VOCABULARY_WORDS) -> list[str]:
    """The ``n`` most frequent English words as a scan meets them: as listed (lower case)
    and capitalised (a sentence's first word), with a typographic apostrophe beside a
    straight one; numbers are left out (``words()`` never projects them)."""
    from wordfreq import top_n_list

    forms: dict[str, None] = {}
    for word in top_n_list("en", n):
        if any(c.isdigit() for c in word):
            continue
        for form in (word, word[:1].upper() + word[1:]):
            forms[form] = None
            if "'" in form:
                forms[form.replace("'", "’")] = None
    return list(forms)


class WordTable:
    """Read side of one table: a read-only connection per process (a sqlite handle must
    not cross a fork; ``--jobs`` forks after loading the index)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        self._pid = 0
        self._failed = False

    def get_many(self, forms: Sequence[str]) -> dict[str, WordInfo]:
        """The stored projection of each form the table has (the others are left out);
        nothing when the table cannot be read (the caller projects every form itself)."""
        db = self._connection()
        if db is None or not forms:
            return {}
        found: dict[str, WordInfo] = {}
        try:
            for i in range(0, len(forms), _BATCH):
                chunk = list(forms[i : i + _BATCH])
                marks = ", ".join("?" * len(chunk))
                query = f"SELECT form, info FROM words WHERE form IN ({marks})"
                for form, blob in db.execute(query, chunk):
                    found[form] = WordInfo(*pickle.loads(blob))
        except (sqlite3.Error, pickle.UnpicklingError, TypeError, ValueError, EOFError):
            self._failed = True  # damaged: the caller projects every form itself
            return {}
        return found

    def _connection(self) -> sqlite3.Connection | None:
        if self._failed:
            return None
        if self._db is not None and self._pid == os.getpid():
            return self._db
        # A parent's handle (after a fork) is left alone: closing it here could disturb
        # the parent's; it is simply replaced.
        try:
            db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
            db.execute("SELECT 1 FROM words LIMIT 1").fetchone()
        except sqlite3.Error:
            self._failed = True
            return None
        self._db, self._pid = db, os.getpid()
        return db

    def close(self) -> None:
        """Close this process's connection (a later lookup opens it again)."""
        if self._db is not None and self._pid == os.getpid():
            self._db.close()
        self._db = None

    def __getstate__(self) -> dict[str, object]:
        # A connection never travels (pickled indexes, Ray actors): a copy opens its own.
        return {"path": self.path}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.path = Path(str(state["path"]))
        self._db, self._pid, self._failed = None, 0, False


def write(path: Path, infos: dict[str, WordInfo]) -> None:
    """Store ``infos`` at ``path`` atomically (written beside it, then renamed)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    db = sqlite3.connect(tmp)
    try:
        db.execute("CREATE TABLE words (form TEXT PRIMARY KEY, info BLOB) WITHOUT ROWID")
        db.executemany(
            "INSERT INTO words VALUES (?, ?)",
            (
                (form, pickle.dumps(tuple(getattr(info, f) for f in _FIELDS), protocol=5))
                for form, info in infos.items()
            ),
        )
        db.commit()
    finally:
        db.close()
    tmp.replace(path)


def attach(index: SourceIdiomIndex, key: str, folder: Path | None) -> WordTable | None:
    """The table of the index compiled under ``key``, built now if it is not in
    ``folder`` yet; None without a cache folder, or when it cannot be written."""
    if folder is None:
        return None
    path = folder / f"{key}.words{FORMAT}.sqlite"
    if not path.exists():
        from mtaudit.backtranslate.lexical import ApertiumLexicon

        # Projected through a lexicon of its own, so that the scan's lexicon and word
        # caches do not keep the ~100,000 answers in memory.
        lexicon = ApertiumLexicon(index.lexicon.lang, index.lexicon.files)
        builder = dataclasses.replace(index, lexicon=lexicon, lm=None, _words={}, table=None)
        try:
            infos = builder.words(common_forms())
            folder.mkdir(parents=True, exist_ok=True)
            write(path, infos)
        except (OSError, sqlite3.Error):
            return None
        finally:
            lexicon.close()
        _prune(folder, key.split("-", 1)[0])
    return WordTable(path)


def _prune(folder: Path, prefix: str) -> None:
    """Keep the newest ``_KEEP`` tables of one language."""
    try:
        tables = sorted(
            folder.glob(f"{prefix}-*.words{FORMAT}.sqlite"),
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
