"""On-disk cache of compiled lexicon indexes (pickles keyed by what they were built from).

Compiling the idiom lexicons takes seconds (thousands of patterns, wordfreq lookups, and for
the Apertium projection a pass of every idiom through the analysers), which every scan, CLI
call and ``--jobs`` start would otherwise pay again. The key is a digest of the bytes of
every input file, the code's version and whatever else the caller names (the Apertium
pair's data files), so an edited lexicon or an upgraded Apertium builds a new index. A
cache that cannot be read or written is skipped: it is an optimisation, never a failure.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

from mtaudit import __version__

T = TypeVar("T")

FOLDER = "indexes"
# Old pickles are removed when more than this many pile up (one per lexicon/data version).
_KEEP = 16


def cache_dir() -> Path | None:
    """``$MTAUDIT_CACHE_DIR/indexes`` (or the user cache folder); None when disabled.

    ``MTAUDIT_INDEX_CACHE=off`` turns the cache off.
    """
    if os.environ.get("MTAUDIT_INDEX_CACHE", "").lower() in ("off", "0", "no"):
        return None
    from mtaudit.backtranslate.cache import default_cache_dir

    return default_cache_dir() / FOLDER


def digest(name: str, files: Iterable[Path | str], extra: Iterable[str] = ()) -> str:
    """A key over ``name``, the code version, each file's path and bytes, and ``extra``."""
    h = hashlib.sha256(f"{name}\0{__version__}".encode())
    for f in files:
        p = Path(f)
        h.update(str(p.name).encode() + b"\0")
        try:
            h.update(p.read_bytes())
        except OSError:
            h.update(b"<missing>")
    for e in extra:
        h.update(e.encode("utf-8") + b"\0")
    return f"{name}-{h.hexdigest()[:20]}"


def cached(key: str, build: Callable[[], T], folder: Path | None = None) -> T:
    """The object pickled under ``key``, or ``build()`` (then stored for the next run)."""
    folder = folder if folder is not None else cache_dir()
    if folder is None:
        return build()
    path = folder / f"{key}.pickle"
    try:
        with path.open("rb") as fh:
            return pickle.load(fh)
    except FileNotFoundError:
        pass
    except Exception:  # noqa: BLE001 - a stale or corrupt pickle is rebuilt
        pass
    obj = build()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{key}.{os.getpid()}.tmp"
        with tmp.open("wb") as fh:
            pickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(path)
        _prune(folder, key.split("-", 1)[0])
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        pass
    return obj


def _prune(folder: Path, prefix: str) -> None:
    """Keep the newest ``_KEEP`` pickles of one kind."""
    files = sorted(folder.glob(f"{prefix}-*.pickle"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in files[_KEEP:]:
        try:
            old.unlink()
        except OSError:
            pass
