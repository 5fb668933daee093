"""lemminflect's answers for the suggestion code, the idiom matcher, the agreement test and
the calque detector, from a small table on disk.

lemminflect loads all its tables (~49 MB of Python objects, ~0.8 s) the first time it is
asked anything; a one-file scan that finds an idiom asks it about a handful of words.
So the answers the suggestion code needs are computed once, by lemminflect itself, and
kept in an SQLite file in the index cache folder (keyed by lemminflect's data files and
version): ``getAllLemmas`` of every lower-case word it knows (any other word has none),
``getInflection`` of every verb lemma in the verb tags and of every noun lemma in the
plural tag. A question outside the table
(an inflection of a word lemminflect does not know, which its model guesses) goes to
lemminflect, as does everything when the cache is off or cannot be written.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import sqlite3
import threading
from functools import lru_cache
from pathlib import Path

from mtaudit import cachedir, indexcache

#: The verb tags the table holds inflections of verb lemmas for (those the suggestion
#: code and the calque detector ask about).
VERB_TAGS = ("VB", "VBD", "VBG", "VBN", "VBP", "VBZ")
#: The noun tags the table holds inflections of noun lemmas for (the agreement test's).
NOUN_TAGS = ("NNS",)
# Bumped when what the table holds changes (2: noun plurals).
_VERSION = 2
_lock = threading.Lock()


def all_lemmas(word: str) -> dict[str, tuple[str, ...]]:
    """``lemminflect.getAllLemmas(word)`` for a lower-case ``word``."""
    db = _table()
    if db is None or word != word.lower():
        from lemminflect import getAllLemmas

        return dict(getAllLemmas(word))
    with _lock:
        row = db.execute("SELECT v FROM lemmas WHERE w = ?", (word,)).fetchone()
    return {k: tuple(v) for k, v in json.loads(row[0]).items()} if row else {}


def inflection(lemma: str, tag: str) -> tuple[str, ...]:
    """``lemminflect.getInflection(lemma, tag)`` as a tuple."""
    db = _table()
    if db is not None and tag in (*VERB_TAGS, *NOUN_TAGS):
        with _lock:
            row = db.execute("SELECT v FROM infl WHERE l = ? AND t = ?", (lemma, tag)).fetchone()
        if row is not None:
            return tuple(json.loads(row[0]))
    from lemminflect import getInflection

    return tuple(getInflection(lemma, tag) or ())


@lru_cache(maxsize=1)
def signature() -> str:
    """lemminflect's data and version (and this table's format), as a digest: the key of
    the table, and part of the key of every index compiled from lemminflect's answers
    (the idiom matchers'), so an upgraded lemminflect rebuilds them."""
    spec = importlib.util.find_spec("lemminflect")
    if spec is None:
        return "lemminflect-absent"
    where = Path(next(iter(spec.submodule_search_locations or ()), ""))
    data = sorted((where / "resources").glob("*"))
    return indexcache.digest("lemminflect", data, [f"v{_VERSION}", _lemminflect_version()])


@lru_cache(maxsize=1)
def _table() -> sqlite3.Connection | None:
    """The table, built on first use; None when there is no cache folder to keep it in."""
    folder = indexcache.cache_dir()
    if folder is None or importlib.util.find_spec("lemminflect") is None:
        return None
    key = signature()
    path = folder / f"{key}.sqlite3"
    if not path.exists():
        try:
            folder.mkdir(parents=True, exist_ok=True)
            tmp = folder / f".{key}.{os.getpid()}.tmp"
            _build(tmp)
            tmp.replace(path)
        except (OSError, sqlite3.Error):
            return None
    try:
        # Read-only and immutable: no locking, no journal; a new key gets a new file.
        # Shared by threads (the server's workers) under _lock.
        db = sqlite3.connect(
            f"{path.as_uri()}?mode=ro&immutable=1", uri=True, check_same_thread=False
        )
        db.execute("SELECT 1 FROM lemmas LIMIT 1")
    except sqlite3.Error:
        return None
    return db


def _lemminflect_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("lemminflect")
    except PackageNotFoundError:
        return "unknown"


def _build(path: Path) -> None:
    """Ask lemminflect every question the table answers, and write the answers."""
    from lemminflect import Lemmatizer, getAllLemmas, getInflection

    cachedir.building("English lemmas")
    lem = Lemmatizer()
    # getAllLemmas looks a (lower-cased) word up in these two tables and nowhere else.
    words = {w for w in lem._getLemmaDict() if w == w.lower()}
    words |= {w for w in lem._getOverridesDict() if w == w.lower()}
    lemmas = {w: getAllLemmas(w) for w in sorted(words)}
    verbs = sorted({x for ls in lemmas.values() for u in ("VERB", "AUX") for x in ls.get(u, ())})
    nouns = sorted({x for ls in lemmas.values() for x in ls.get("NOUN", ())})
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    db = sqlite3.connect(path)
    try:
        db.execute("CREATE TABLE lemmas (w TEXT PRIMARY KEY, v TEXT) WITHOUT ROWID")
        db.execute("CREATE TABLE infl (l TEXT, t TEXT, v TEXT, PRIMARY KEY (l, t)) WITHOUT ROWID")
        db.executemany(
            "INSERT INTO lemmas VALUES (?, ?)",
            ((w, json.dumps(v)) for w, v in lemmas.items() if v),
        )
        db.executemany(
            "INSERT INTO infl VALUES (?, ?, ?)",
            ((v, t, json.dumps(list(getInflection(v, t) or ()))) for v in verbs for t in VERB_TAGS),
        )
        db.executemany(
            "INSERT OR IGNORE INTO infl VALUES (?, ?, ?)",
            ((n, t, json.dumps(list(getInflection(n, t) or ()))) for n in nouns for t in NOUN_TAGS),
        )
        db.commit()
    finally:
        db.close()
