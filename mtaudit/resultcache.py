"""On-disk cache of audit results, so that an unchanged corpus re-scans without re-auditing.

An entry is what :meth:`mtaudit.pipeline.Auditor.audit` adds to a document (findings,
probabilities, verdict, reasons, features, suppression counts), keyed by a digest of

- the document: text, id, path, format, source map and metadata (inline-suppression
  comments, JSONL fields) — everything the audit reads;
- the options that shape a report (selection, confidence floor, severities, known
  findings, model, back-translation engine, detector options with the *contents* of the
  lexicon, vocabulary and reference files they name);
- the run's signature: mtaudit's version, the bundled lexicons, the scorer's weights, the
  language model and the back-translation engine;
- what the signature does not name: mtaudit's own code and data (an edited checkout keeps
  its version number), Python's version and the versions of the libraries that compute
  scores (:func:`environment`).

A change to any of them is a miss. Gate settings (``--fail-on``...) are not part of the
key: the gate is applied to the report afresh on every scan.

Storage follows the translation cache (:mod:`mtaudit.backtranslate.cache`): one sqlite
file in the cache folder, in WAL mode so that ``--jobs`` workers and concurrent scans can
write to it at once. Entries are pickled (as ``--jobs`` sends reports between processes)
and zlib-compressed, whose checksum turns a damaged entry into a miss. The file is bounded:
past ``max_bytes`` of entries the least recently used ones are evicted. The cache is an
optimisation, never a reason to fail a scan: a folder that cannot be used is reported
once and the scan goes on uncached; an unreadable entry is recomputed.

The folder is trusted like any other file of the user's (``~/.cache``): entries are
pickles, so a cache folder must not be writable by others.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pickle
import platform
import sqlite3
import sys
import time
import zlib
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

from mtaudit.cachedir import open_wal
from mtaudit.model import Document, DocumentReport, Finding

CACHE_FILE = "results.sqlite3"
#: Default bound on the stored entries (compressed; a news article takes about 0.5 KB).
DEFAULT_MAX_BYTES = 256 * 2**20
#: Part of every key: bumped when what is stored (or how it is keyed) changes.
FORMAT = "results-1"

# Document metadata that the audit never reads: where a JSONL record sits in its file (so
# inserting a record does not invalidate the ones after it) and the digest of the bytes
# the text was decoded from (the text itself is in the key). Reporters and --fix read
# them from the live document, which a hit keeps.
_META_NOT_IN_KEY = frozenset({"line", "digest"})

# The report fields stored: every DocumentReport field but the document itself (new
# fields are cached too; a stored entry without them no longer loads, i.e. misses).
# ``failed`` is the gate's answer, given afresh on every scan (its options are not in the key).
_STORED = tuple(
    f.name for f in dataclasses.fields(DocumentReport) if f.name not in ("document", "failed")
)

# Libraries whose upgrade can change a score for the same text: word frequencies, fuzzy
# matching, the n-gram LM, the features' arithmetic, chrF, the neural LM's stack. (The
# readers' libraries change the text, which is in the key.)
_LIBRARIES = (
    "wordfreq",
    "rapidfuzz",
    "pocketsphinx",
    "numpy",
    "sacrebleu",
    "torch",
    "transformers",
    "tokenizers",
    "gguf",
)
_PACKAGE = Path(__file__).resolve().parent

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS result (
        key TEXT PRIMARY KEY,
        value BLOB NOT NULL,
        size INTEGER NOT NULL,
        used REAL NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS result_used ON result (used)",
)

# How often (in stores) the total size is checked against the bound, and how many hits
# are remembered before their "last used" times are written.
_CHECK_EVERY = 64
_TOUCH_EVERY = 256


class Uncacheable(TypeError):
    """A value with no canonical form (an object the key cannot describe)."""


def canonical(value: Any) -> bytes:
    """A stable encoding of ``value`` for a key: JSON with sorted keys.

    Paths are made absolute (a relative path means another file from another folder);
    sets are sorted; dataclasses become their fields. Anything else that JSON cannot
    encode raises :class:`Uncacheable`, so that an unknown object is never keyed by an
    address that would make every key unique, or by a lossy description.
    """
    return json.dumps(
        value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_encode
    ).encode("utf-8")


def _encode(value: Any) -> Any:
    if isinstance(value, os.PathLike):
        return os.path.abspath(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=canonical)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            "__class__": type(value).__qualname__,
            **{f.name: getattr(value, f.name) for f in dataclasses.fields(value)},
        }
    raise Uncacheable(f"no canonical form for {type(value).__name__}")


def digest(*parts: bytes) -> str:
    """A hex digest of ``parts`` (length-prefixed, so no two sequences collide)."""
    h = hashlib.blake2b(digest_size=20)
    for part in parts:
        h.update(len(part).to_bytes(8, "little"))
        h.update(part)
    return h.hexdigest()


def file_states(values: Iterable[Any]) -> list[Any]:
    """What each of ``values`` names on disk, for keys that must change with the file.

    A string naming a file (``lexicons``, ``vocabulary``, ``lm_reference``) gives the
    digest of its bytes; a folder (a model given as ``transformers:PATH``) gives the size
    and modification time of each file in it (hashing gigabytes of weights would cost
    more than the audit). An engine spec ``NAME:PATH`` is looked at after the colon too.
    """
    states: list[Any] = []
    for value in values:
        if isinstance(value, (list, tuple)):
            states.append(file_states(value))
        elif isinstance(value, (str, os.PathLike)):
            states.append([_path_state(p) for p in _candidate_paths(os.fspath(value))])
        else:
            states.append(None)
    return states


def _candidate_paths(value: str) -> list[str]:
    paths = [value]
    if ":" in value:
        paths.append(value.split(":", 1)[1])
    return [p for p in paths if p and os.path.exists(p)]


def _path_state(path: str) -> Any:
    try:
        if os.path.isdir(path):
            listing = []
            for folder, _, files in os.walk(path):
                for name in sorted(files):
                    st = os.stat(os.path.join(folder, name))
                    rel = os.path.relpath(os.path.join(folder, name), path)
                    listing.append([rel, st.st_size, st.st_mtime_ns])
            return [os.path.abspath(path), sorted(listing)]
        return [os.path.abspath(path), hashlib.sha256(Path(path).read_bytes()).hexdigest()]
    except OSError as exc:
        raise Uncacheable(f"cannot read {path}: {exc}") from None


@lru_cache(maxsize=1)
def environment() -> bytes:
    """What a report depends on beyond the signature: mtaudit's code and data files (by
    content: a checkout being edited keeps its version number; the bundled lexicons are
    in the signature already), Python's version, and the libraries' versions."""
    from importlib import metadata

    code = hashlib.blake2b(digest_size=20)
    for folder, dirs, files in os.walk(_PACKAGE):
        dirs[:] = sorted(d for d in dirs if d not in ("__pycache__", "lexicons"))
        for name in sorted(files):
            if name.startswith(".") or name.endswith(("~", ".pyc")):
                continue  # an editor's swap file or a stray bytecode file is not code
            path = Path(folder, name)
            code.update(path.relative_to(_PACKAGE).as_posix().encode() + b"\0")
            code.update(path.read_bytes())
    versions = {}
    for name in _LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return canonical([platform.python_version(), code.hexdigest(), versions])


def key_prefix(signature: str, options: dict[str, Any], files: Iterable[Any]) -> str | None:
    """The key's part common to every document of a configuration: the format, the run's
    signature, :func:`environment`, the options, and the state of the files that the
    values in ``files`` name (they count by their contents, not their names).

    None when an option has no canonical form or a file cannot be read: the
    configuration then goes uncached rather than keyed by something that could be stale.
    """
    try:
        return digest(
            FORMAT.encode(),
            signature.encode(),
            environment(),
            canonical(options),
            canonical(file_states(files)),
        )
    except (Uncacheable, OSError):  # (OSError: a file of the package is unreadable)
        return None


def key(prefix: str, document: Document) -> str | None:
    """The key of ``document`` under a :func:`key_prefix`; None when it has no canonical
    form (metadata a JSON reader did not make)."""
    try:
        return digest(prefix.encode(), document_key(document))
    except Uncacheable:
        return None


def document_key(document: Document) -> bytes:
    """The canonical form of everything the audit reads from ``document``."""
    meta = {k: v for k, v in document.meta.items() if k not in _META_NOT_IN_KEY}
    return canonical(
        [
            document.id,
            document.path,
            document.format,
            document.text,
            [list(anchor) for anchor in document.source_map],
            meta,
        ]
    )


class ResultCache:
    """Audit results by key in ``directory``/results.sqlite3.

    The connection is opened on first use and again in a forked child (a sqlite handle
    must not cross a fork), so one object can be handed to ``--jobs`` workers.
    """

    def __init__(self, directory: Path | str, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.path = Path(directory) / CACHE_FILE
        self.max_bytes = max_bytes
        self.hits = 0
        self.misses = 0
        self._db: sqlite3.Connection | None = None
        self._pid = 0
        self._broken = False
        self._stores = 0
        self._touched: list[str] = []
        self._inherited: list[sqlite3.Connection] = []

    def _connection(self) -> sqlite3.Connection | None:
        if self._broken:
            return None
        if self._db is not None and self._pid == os.getpid():
            return self._db
        if self._db is not None:
            # Forked from the process that opened it: never close (or use) that handle
            # here, where closing could release the parent's locks; keep it referenced.
            self._inherited.append(self._db)
        self._db, self._pid, self._stores, self._touched = None, os.getpid(), 0, []
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = _open(self.path)
        except (OSError, sqlite3.Error) as exc:
            self._broken = True
            print(
                f"mtaudit: cannot use the result cache {self.path} ({exc}); every document "
                "is audited (remove the file if it is damaged, or give --no-cache)",
                file=sys.stderr,
            )
            return None
        self._db = db
        return db

    def get(self, key: str, document: Document) -> DocumentReport | None:
        """The cached report for ``key``, about ``document``; None on a miss.

        An entry that does not load (damaged, or written by another version) is a miss:
        the caller audits the document and :meth:`put` replaces it.
        """
        db = self._connection()
        if db is None:
            return None
        try:
            row = db.execute("SELECT value FROM result WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error:
            row = None
        report = _load(row[0], document) if row is not None else None
        if report is None:
            self.misses += 1
            return None
        self.hits += 1
        self._touched.append(key)
        if len(self._touched) >= _TOUCH_EVERY:
            self._touch()
        return report

    def put(self, key: str, report: DocumentReport) -> None:
        """Store ``report`` (not its document) under ``key``; failures are ignored."""
        db = self._connection()
        if db is None:
            return
        value = _dump(report)
        try:
            with db:
                db.execute(
                    "INSERT OR REPLACE INTO result VALUES (?, ?, ?, ?)",
                    (key, value, len(value), time.time()),
                )
        except sqlite3.Error:
            return
        self._stores += 1
        if self._stores % _CHECK_EVERY == 0:
            self.evict()

    def evict(self) -> None:
        """Drop the least recently used entries once they exceed ``max_bytes`` (to 80%)."""
        db = self._connection()
        if db is None:
            return
        try:
            total = db.execute("SELECT COALESCE(SUM(size), 0) FROM result").fetchone()[0]
            if total <= self.max_bytes:
                return
            excess = total - int(self.max_bytes * 0.8)
            doomed: list[str] = []
            for key, size in db.execute("SELECT key, size FROM result ORDER BY used").fetchall():
                doomed.append(key)
                excess -= size
                if excess <= 0:
                    break
            with db:
                db.executemany("DELETE FROM result WHERE key = ?", [(k,) for k in doomed])
        except sqlite3.Error:
            pass

    def _touch(self) -> None:
        """Record the hits since the last call as uses (for eviction)."""
        keys, self._touched = self._touched, []
        db = self._connection()
        if db is None or not keys:
            return
        now = time.time()
        try:
            with db:
                db.executemany("UPDATE result SET used = ? WHERE key = ?", [(now, k) for k in keys])
        except sqlite3.Error:
            pass

    def __len__(self) -> int:
        db = self._connection()
        if db is None:
            return 0
        return int(db.execute("SELECT COUNT(*) FROM result").fetchone()[0])

    def close(self) -> None:
        """Write pending uses, apply the bound, close (only this process's connection)."""
        if self._db is None or self._pid != os.getpid():
            return
        self._touch()
        if self._stores % _CHECK_EVERY:
            self.evict()
        self._db.close()
        self._db = None


def _open(path: Path, patience_s: float = 30.0) -> sqlite3.Connection:
    """Connect and create the tables (:func:`mtaudit.cachedir.open_wal`)."""
    return open_wal(path, _SCHEMA, patience_s)


def _dump(report: DocumentReport) -> bytes:
    fields = {name: getattr(report, name) for name in _STORED}
    return zlib.compress(pickle.dumps(fields, protocol=pickle.HIGHEST_PROTOCOL), 1)


def _load(value: bytes, document: Document) -> DocumentReport | None:
    """A stored entry as a report about ``document``; None when it does not load."""
    try:
        fields = pickle.loads(zlib.decompress(value))
        if set(fields) != set(_STORED) or not all(
            isinstance(f, Finding) for f in fields["findings"]
        ):
            return None
        report = DocumentReport(document=document, **fields)
    except Exception:  # noqa: BLE001 - anything a damaged pickle raises is a miss
        return None
    return report
