"""On-disk cache of compiled lexicon indexes (pickles keyed by what they were built from).

Compiling the idiom lexicons takes seconds (thousands of patterns, wordfreq lookups, and for
the Apertium projection a pass of every idiom through the analysers), which every scan, CLI
call and ``--jobs`` start would otherwise pay again. The key is a digest of the bytes of
every input file, the code's version and whatever else the caller names (the Apertium
pair's data files), so an edited lexicon or an upgraded Apertium builds a new index. A
cache that cannot be read or written is skipped: it is an optimisation, never a failure.
"""

from __future__ import annotations

import gc
import hashlib
import os
import pickle
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from mtaudit import __version__, cachedir

T = TypeVar("T")

FOLDER = "indexes"
# Bumped when what cached() stores changes (2: equal strings shared, see share_equal).
_FORMAT = 2
# Old pickles are removed when more than this many pile up (one per lexicon/data version).
_KEEP = 16


def cache_dir() -> Path | None:
    """``$MTAUDIT_CACHE_DIR/indexes`` (or the user cache folder); None when disabled.

    ``MTAUDIT_INDEX_CACHE=off`` turns the cache off.
    """
    if os.environ.get("MTAUDIT_INDEX_CACHE", "").lower() in ("off", "0", "no"):
        return None
    from mtaudit.cachedir import default_cache_dir

    return default_cache_dir() / FOLDER


def digest(name: str, files: Iterable[Path | str], extra: Iterable[str] = ()) -> str:
    """A key over ``name``, the code version, each file's path and bytes, and ``extra``."""
    h = hashlib.sha256(f"{name}\0{__version__}\0{_FORMAT}".encode())
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
            return _load(fh)
    except FileNotFoundError:
        pass
    except Exception:  # noqa: BLE001 - a stale or corrupt pickle is rebuilt
        pass
    cachedir.building(key.split("-", 1)[0])
    obj = share_equal(build())
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # Per process and thread: the server's workers load in threads, at once.
        tmp = folder / f".{key}.{os.getpid()}.{threading.get_ident()}.tmp"
        with tmp.open("wb") as fh:
            pickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(path)
        _prune(folder, key.split("-", 1)[0])
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        pass
    return obj


def _load(fh: BinaryIO) -> Any:
    """Unpickle with the cyclic garbage collector paused, then move what is alive into its
    permanent generation (``gc.freeze``).

    An index is hundreds of thousands of objects that live as long as the process. Each
    allocation while unpickling would count towards a collection that walks them all and
    finds nothing (the glossary index loads in ~30 ms instead of ~70), and afterwards every
    full collection would walk them again (an allocation-heavy step ran ~2.5x slower with
    the indexes loaded). Frozen objects are still freed by reference counting; only
    reference cycles among them would outlive their use.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        return pickle.load(fh)
    finally:
        if enabled:
            gc.enable()
            gc.freeze()


def _prune(folder: Path, prefix: str) -> None:
    """Keep the newest ``_KEEP`` pickles of one kind."""
    files = sorted(folder.glob(f"{prefix}-*.pickle"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in files[_KEEP:]:
        try:
            old.unlink()
        except OSError:
            pass


# Objects of these modules are walked into by share_equal (the compiled indexes); anything
# else (an Apertium process handle, a lock) is left alone.
_WALKED = ("mtaudit.idiommatch", "mtaudit.sourcematch", "mtaudit.detectors")


def share_equal(obj: T) -> T:
    """``obj`` with equal strings, and equal frozensets and tuples of strings, of its
    compiled-index graph made one object each, so that pickle stores each once: the
    glossary index takes 14 MB of memory instead of 30, the Spanish projection 6 instead
    of 11. Values and the order of every container are kept (sets are refilled in their
    iteration order, as unpickling does)."""
    _share(obj, {}, set())
    return obj


def _share(obj: Any, memo: dict[Any, Any], seen: set[int]) -> Any:
    t = type(obj)
    if t is str:
        return memo.setdefault(obj, obj)
    if t is frozenset or t is tuple:
        items = t(_share(x, memo, seen) for x in obj)
        # Only containers of strings are shared: 1 == 1.0 == True, so a key over other
        # values could hand back a container of another type's values.
        if all(type(x) is str for x in items):
            return memo.setdefault((t, items), items)
        return items
    if id(obj) in seen:
        return obj
    seen.add(id(obj))
    if t is list:
        obj[:] = [_share(x, memo, seen) for x in obj]
    elif t is dict:
        items = [(_share(k, memo, seen), _share(v, memo, seen)) for k, v in obj.items()]
        obj.clear()
        obj.update(items)
    elif t is set:
        members = [_share(x, memo, seen) for x in obj]
        obj.clear()
        obj.update(members)
    elif t.__module__.startswith(_WALKED) and hasattr(obj, "__dict__"):
        for name, value in list(vars(obj).items()):
            object.__setattr__(obj, name, _share(value, memo, seen))
    return obj
