"""wordfreq's Zipf frequencies for mtaudit's six languages, from one table on disk.

``wordfreq.zipf_frequency`` loads a language's whole list (300,000-600,000 words) on its
first call: about 0.15 s a language, 0.8 s for English and the five source languages,
paid by every scan however short. This module answers the same question from one sqlite
table (each word of the six lists and its frequency in each language), built once from
wordfreq's own lists and kept in the cache folder, keyed by wordfreq's version. A
lookup reads a few pages of the file, so a one-file scan no longer loads any list.

The answers are wordfreq's exactly. A plain word (Latin letters) is one lookup; a word
that wordfreq's tokenizer would change or split (digits, apostrophes, hyphens) is
tokenized by wordfreq and its tokens' frequencies combined as wordfreq combines them,
from the table. When the table cannot be built (a read-only cache folder) every word is
passed to ``zipf_frequency`` itself: slower, never different.
"""

from __future__ import annotations

import atexit
import contextlib
import math
import os
import pickle
import re
import sqlite3
import tempfile
import threading
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from mtaudit import cachedir
from mtaudit.cachedir import default_cache_dir
from mtaudit.model import SOURCE_LANGUAGES

#: The languages of the table, in its column order (English first, as in mtaudit.langid).
LANGUAGES: tuple[str, ...] = ("en", *SOURCE_LANGUAGES)
#: The folder, inside the cache folder, that holds the table.
TABLE_DIR = "wordfreq"
#: Part of the file name: bumped when the table's layout changes.
FORMAT = 2

# Words that wordfreq's tokenizer returns unchanged once case-folded (NFC text, letters
# of the Latin-1 and Latin Extended-A blocks, nothing else): for them the answer is the
# list's bucket. Anything else is tokenized by wordfreq first.
_PLAIN = re.compile(r"[a-zß-öø-ÿ\u0100-\u017f]+")
# wordfreq's default minimum frequency (Zipf 0), the answer for a word not in a list.
_MINIMUM = 1e-9

_COLUMNS = ", ".join(LANGUAGES)
# Keys per query of a batched lookup (under sqlite's oldest limit of 999 parameters).
_BATCH = 500


def table_path(cache_dir: Path | None = None) -> Path:
    """Where the table for the installed wordfreq lives (it may not exist yet)."""
    if cache_dir is None:
        # Asked once per looked-up word: resolving the home folder each time cost more
        # than the lookup, so the answer is kept per value of the variables it reads.
        env = os.environ
        return _default_table_path(
            env.get("MTAUDIT_CACHE_DIR"), env.get("XDG_CACHE_HOME"), env.get("HOME")
        )
    return cache_dir / TABLE_DIR / f"zipf-{_wordfreq_version()}-v{FORMAT}.sqlite3"


@lru_cache(maxsize=8)
def _default_table_path(_cache: str | None, _xdg: str | None, _home: str | None) -> Path:
    return table_path(default_cache_dir())


def signature() -> str:
    """What the answers depend on (wordfreq's version), for the keys of what is built
    from them: the compiled idiom indexes and their tables of common words."""
    return f"wordfreq-{_wordfreq_version()}"


@lru_cache(maxsize=1)
def _wordfreq_version() -> str:
    # From the package metadata: importing wordfreq itself costs 0.2 s.
    return metadata.version("wordfreq")


def plain_key(word: str) -> str | None:
    """The table key of ``word`` when wordfreq would look it up as one unchanged token."""
    if not word.isascii() and not unicodedata.is_normalized("NFC", word):
        return None
    key = word.casefold()
    return key if _PLAIN.fullmatch(key) else None


def zipf(word: str, lang: str) -> float:
    """``wordfreq.zipf_frequency(word, lang)``: from the table for :data:`LANGUAGES`,
    from wordfreq itself for any other language."""
    if lang not in LANGUAGES:
        from wordfreq import zipf_frequency

        return zipf_frequency(word, lang)
    return zipf_all(word)[LANGUAGES.index(lang)]


@lru_cache(maxsize=262_144)
def zipf_all(word: str) -> tuple[float, ...]:
    """``zipf_frequency(word, lang)`` for each of :data:`LANGUAGES`, in that order."""
    key = plain_key(word)
    if key is not None:
        row = _TABLE.buckets(key)
        if row is not None:
            return tuple(_MINIMUM_ZIPF if b is None else _bucket_zipf(b) for b in row)
    elif _TABLE.available():
        known = _EXTRA.get(word)
        if known is None:
            known = tuple(_tokenized_zipf(word, i) for i in range(len(LANGUAGES)))
            _EXTRA.put(word, known)
        return known
    from wordfreq import zipf_frequency

    return tuple(zipf_frequency(word, lang) for lang in LANGUAGES)


def zipf_all_many(words: Iterable[str]) -> dict[str, tuple[float, ...]]:
    """:func:`zipf_all` of each word, the plain ones read in a few queries, not one each.

    For a document's words, looked up together (a query per word cost more than the
    lookup itself). The answers are :func:`zipf_all`'s.
    """
    out: dict[str, tuple[float, ...]] = {}
    by_key: dict[str, list[str]] = {}
    for word in words:
        key = plain_key(word)
        if key is None:
            out[word] = zipf_all(word)
        else:
            by_key.setdefault(key, []).append(word)
    rows = _TABLE.buckets_many(list(by_key)) if by_key else {}
    if rows is None:  # no table: wordfreq answers, word by word
        return {**out, **{w: zipf_all(w) for ws in by_key.values() for w in ws}}
    for key, group in by_key.items():
        row = rows.get(key, _ABSENT)
        value = tuple(_MINIMUM_ZIPF if b is None else _bucket_zipf(b) for b in row)
        for word in group:
            out[word] = value
    return out


def _tokenized_zipf(word: str, column: int) -> float:
    """``wordfreq._word_frequency`` for a word it splits or alters, over the table."""
    from wordfreq.numbers import digit_freq, smash_numbers
    from wordfreq.tokens import lossy_tokenize

    tokens = lossy_tokenize(word, LANGUAGES[column])
    if not tokens:
        return _MINIMUM_ZIPF
    one_over = 0.0
    for token in tokens:
        smashed = smash_numbers(token)
        row = _TABLE.buckets(smashed)
        bucket = None if row is None else row[column]
        if bucket is None:
            return _MINIMUM_ZIPF  # any token missing: the minimum, as wordfreq answers
        freq = 10 ** (-bucket / 100)
        if smashed != token:
            freq *= digit_freq(token)  # a digit sequence: wordfreq's estimate of it
        one_over += 1.0 / freq
    return _zipf(1.0 / one_over)


@lru_cache(maxsize=1024)
def _bucket_zipf(bucket: int) -> float:
    """The Zipf value wordfreq gives a one-token word in ``bucket`` of its list."""
    return _zipf(1.0 / (1.0 / 10 ** (-bucket / 100)))


def _zipf(freq: float) -> float:
    """wordfreq's rounding of a combined frequency (3 significant digits), then of the
    Zipf value (0.01): the last steps of ``_word_frequency`` and ``zipf_frequency``."""
    freq = max(freq, _MINIMUM)
    freq = round(freq, math.floor(-math.log(freq, 10)) + 3)
    return round(math.log(freq, 10) + 9, 2)


_MINIMUM_ZIPF = round(math.log(_MINIMUM, 10) + 9, 2)


class _Table:
    """The table of the current cache folder: built on first use, read through one
    read-only connection per process and thread (a sqlite handle must not cross a fork)."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._lock = threading.Lock()
        self._failed: set[Path] = set()
        self._inherited: list[sqlite3.Connection] = []

    def available(self) -> bool:
        """Whether the table can be read (building it first if need be)."""
        return self._connection() is not None

    def buckets(self, key: str) -> tuple[int | None, ...] | None:
        """The key's bucket in each list (None: not in it); None when there is no table."""
        db = self._connection()
        if db is None:
            return None
        try:
            row = db.execute(f"SELECT {_COLUMNS} FROM zipf WHERE word = ?", (key,)).fetchone()
        except sqlite3.Error:
            return None
        return _ABSENT if row is None else row

    def buckets_many(self, keys: list[str]) -> dict[str, tuple[int | None, ...]] | None:
        """:meth:`buckets` of each key found (a key in no list is left out), in queries
        of a few hundred keys; None when there is no table."""
        db = self._connection()
        if db is None:
            return None
        found: dict[str, tuple[int | None, ...]] = {}
        try:
            for i in range(0, len(keys), _BATCH):
                chunk = keys[i : i + _BATCH]
                marks = ", ".join("?" * len(chunk))
                query = f"SELECT word, {_COLUMNS} FROM zipf WHERE word IN ({marks})"
                found.update((row[0], row[1:]) for row in db.execute(query, chunk))
        except sqlite3.Error:
            return None
        return found

    def _connection(self) -> sqlite3.Connection | None:
        path = table_path()
        local = self._local
        if getattr(local, "key", None) == (os.getpid(), path):
            return local.db
        if getattr(local, "db", None) is not None and local.key[0] != os.getpid():
            # Forked from the process that opened it: never close that handle here (it is
            # the parent's); keep it referenced so that garbage collection does not either.
            self._inherited.append(local.db)
        if path in self._failed:
            return None
        db = None
        try:
            if not path.exists():
                with self._lock:
                    if not path.exists():
                        build(path)
            db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
            db.execute("SELECT 1 FROM zipf LIMIT 1").fetchone()
        except (OSError, sqlite3.Error):
            # A cache that cannot be written or read: wordfreq answers, just more slowly.
            self._failed.add(path)
            return None
        local.key, local.db = (os.getpid(), path), db
        return db


_TABLE = _Table()


class _Extra:
    """wordfreq's answers for words its tokenizer alters ("don't", "feel-good", "2021"),
    kept in a small file beside the table. Tokenizing one means importing wordfreq (0.25 s
    a process, more under load); a scan whose altered words were seen before skips it.
    New answers are written once, when the process exits; a file that cannot be read or
    written is ignored (wordfreq answers again)."""

    _LIMIT = 200_000  # entries; the file starts afresh beyond it

    def __init__(self) -> None:
        self._known: dict[str, tuple[float, ...]] | None = None
        self._new: dict[str, tuple[float, ...]] = {}
        self._path: Path | None = None

    def get(self, word: str) -> tuple[float, ...] | None:
        if self._known is None:
            self._path = table_path().with_suffix(".extra.pickle")
            self._known = self._read(self._path)
        return self._known.get(word)

    def put(self, word: str, value: tuple[float, ...]) -> None:
        if self._known is None:
            return
        if not self._new:
            atexit.register(self.save)
        self._known[word] = self._new[word] = value

    @staticmethod
    def _read(path: Path) -> dict[str, tuple[float, ...]]:
        try:
            with path.open("rb") as fh:
                data = pickle.load(fh)
        except Exception:  # noqa: BLE001 - missing, stale or damaged: start afresh
            return {}
        return data if isinstance(data, dict) else {}

    def save(self) -> None:
        """Merge this process's new answers into the file (atomically)."""
        if not self._new or self._path is None:
            return
        merged = self._read(self._path)
        if len(merged) > self._LIMIT:
            merged = {}
        merged.update(self._new)
        self._new = {}
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{self._path.name}.", dir=self._path.parent)
            with os.fdopen(fd, "wb") as fh:
                pickle.dump(merged, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, self._path)
        except OSError:
            with contextlib.suppress(OSError, UnboundLocalError):
                os.unlink(tmp)


_EXTRA = _Extra()


def build(path: Path) -> None:
    """Write the table for the installed wordfreq at ``path`` (atomically)."""
    from wordfreq import get_frequency_list

    cachedir.building("word frequencies")
    # One row per word: [word, its bucket in each list (None: not in that list)]. A
    # bucket is wordfreq's unit: bucket b holds the words of frequency 10 ** (-b / 100).
    rows: dict[str, list[str | int | None]] = {}
    for i, lang in enumerate(LANGUAGES, start=1):
        for bucket, group in enumerate(get_frequency_list(lang, "best")):
            for word in group:
                row = rows.get(word)
                if row is None:
                    rows[word] = row = [word, *(None,) * len(LANGUAGES)]
                row[i] = bucket  # (as wordfreq's own dict: a later bucket wins)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        db = sqlite3.connect(tmp)
        try:
            # A private file until renamed: no journal needed.
            db.execute("PRAGMA journal_mode=OFF")
            db.execute("PRAGMA synchronous=OFF")
            db.execute(
                "CREATE TABLE zipf (word TEXT PRIMARY KEY, "
                + ", ".join(f"{lang} INTEGER" for lang in LANGUAGES)
                + ") WITHOUT ROWID"
            )
            marks = ", ".join("?" * (len(LANGUAGES) + 1))
            # Inserted in key order, the B-tree is written append-only (fast).
            db.executemany(f"INSERT INTO zipf VALUES ({marks})", sorted(rows.values()))
            db.commit()
        finally:
            db.close()
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


# A word in none of the lists.
_ABSENT: tuple[None, ...] = (None,) * len(LANGUAGES)
