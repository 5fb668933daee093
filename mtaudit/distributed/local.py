"""``mtaudit scan --jobs N``: audit on N processes of one machine, results in input order.

The parent process reads the inputs (:func:`mtaudit.ingest.iter_inputs`, so discovery,
decoding and errors are exactly those of a single-process scan) and sends documents in
small chunks to worker processes, which audit them with Auditors built once per process.
Results come back as the same ``DocumentReport`` objects (they pickle) and are yielded
strictly in input order, so every reporter writes byte-for-byte what ``--jobs 1`` writes.

Start-up: on Linux the parent loads the detectors' lexicons and models once (a warm-up
audit of a short text) and *forks* the workers, which inherit them copy-on-write: no
worker pays the ~2 s of lazy loading, and the pages stay shared. Each worker still opens
its own back-translation engine and cache connection (a sqlite handle or an Apertium pipe
must not cross a fork). Where fork is unsafe (a parent with threads) or absent (macOS,
Windows), workers start from a clean forkserver/spawn process and load their own.

Memory stays flat: at most ``2 * jobs`` chunks are in flight, and the parent holds only
those; a huge JSONL file is still streamed. A worker that dies (out of memory, a crash in
a native library) ends the scan with an error rather than a hang: that is why this uses
``concurrent.futures`` and not ``multiprocessing.Pool``, which waits forever for the
result of a task whose process died.
"""

from __future__ import annotations

import dataclasses
import os
import pickle
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from mtaudit.auditors import AuditorPool, context_key
from mtaudit.detectors import Context
from mtaudit.distributed import warm_up, worker, worker_env
from mtaudit.ingest import IngestOptions, iter_inputs
from mtaudit.model import Document, DocumentReport, InputError
from mtaudit.pipeline import (
    AuditOptions,
    Auditor,
    audit_document,
    finish_report,
    scan,
)

# multiprocessing and concurrent.futures are imported where used: a scan that never
# starts a worker (--jobs auto on a small input) does not pay for them.
if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

    from mtaudit.changed import ChangedLines

Result = DocumentReport | InputError

DEFAULT_CHUNKSIZE = 4  # documents per task: ~0.1 s of work, so ordering stalls stay short
#: ``--jobs auto``: seconds of auditing in this process before workers may start, enough
#: to measure the audit's speed (the first document, which pays the lazy loading, and the
#: slowest after it, which may start an engine, do not count)
AUTO_AFTER_S = 0.25
#: ``--jobs auto``: chunks per worker that must be left for starting the workers to pay
AUTO_MIN_LEFT = 4
#: ``--jobs auto``: seconds of auditing that must be left, estimated from the speed so far
#: and the text read ahead, for workers to start. Forked workers and their engines take
#: ~0.3 s to start (measured on 2 CPUs: 16 documents took 0.68 s in one process, 0.84 s
#: with 2 workers; 48 documents about the same either way), and N workers save at most
#: (1 - 1/N) of what is left: 1.5 s leaves a margin for the default pipeline's engines.
AUTO_MIN_WORK_S = 1.5
#: ``--jobs auto``: the most text (characters) and documents read ahead for that estimate,
#: so memory stays bounded where the rest of the scan is quick (e.g. in the result cache)
AUTO_LOOKAHEAD_CHARS = 4_000_000
AUTO_LOOKAHEAD_ITEMS = 20_000
#: ``--jobs auto``: what one worker may hold, its Apertium processes included (a worker
#: measures ~220 MB plus ~250 MB of Apertium in ``make bench``), and the most workers a
#: default scan starts: a user who wants a bigger machine's every core says ``--jobs 0``
AUTO_WORKER_MB = 500
AUTO_MAX_JOBS = 8


def default_jobs() -> int:
    """The CPUs this process may use (the affinity mask, e.g. under taskset or a cgroup)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def auto_jobs(meminfo: str = "/proc/meminfo") -> int:
    """``--jobs auto``'s worker count: one per CPU, as many as the memory now available
    holds at :data:`AUTO_WORKER_MB` each, never more than :data:`AUTO_MAX_JOBS`."""
    jobs = min(default_jobs(), AUTO_MAX_JOBS)
    try:
        with open(meminfo, encoding="ascii") as fh:
            kb = next(int(ln.split()[1]) for ln in fh if ln.startswith("MemAvailable:"))
    except (OSError, StopIteration, ValueError, IndexError):
        return jobs  # not Linux, or an old kernel: CPUs alone
    return max(1, min(jobs, kb // 1024 // AUTO_WORKER_MB))


def iter_reports_parallel(
    paths: Iterable[str],
    options: AuditOptions | Auditor | AuditorPool | None = None,
    ingest_options: IngestOptions | None = None,
    jobs: int | None = None,
    *,
    changed: ChangedLines | None = None,
    chunksize: int = DEFAULT_CHUNKSIZE,
    start_method: str | None = None,
    auto_after: float | None = None,
) -> Iterator[Result]:
    """Audit every input on ``jobs`` processes; yield reports and errors in input order.

    A drop-in for :func:`mtaudit.pipeline.scan`: same inputs, same items, same order.
    ``options`` is one configuration (``AuditOptions`` or an ``Auditor``), or the CLI's
    ``AuditorPool`` when folders carry their own configuration: the parent then picks each
    document's options with ``pool.for_document`` and workers keep one Auditor per
    configuration. ``jobs`` defaults to the usable CPUs; ``jobs <= 1`` audits in this
    process. A worker exception is re-raised here, as a single-process scan would raise it.

    ``auto_after`` (``--jobs auto``, the CLI's default): audit in this process, and hand
    the rest to ``jobs`` workers only once the audits after the first have run that many
    seconds, at least :data:`AUTO_MIN_LEFT` chunks per worker are still to do, the text
    read ahead holds :data:`AUTO_MIN_WORK_S` of auditing at the speed measured so far,
    and the workers can be forked (a clean process start costs more than a small scan
    takes). A one-file scan or a small corpus never pays for processes; a big one gets
    every CPU within a fraction of a second.
    """
    jobs = default_jobs() if jobs is None else jobs
    if jobs <= 1:
        yield from _scan_here(paths, options, ingest_options, changed)
        return
    items = _pending(paths, ingest_options, changed)
    if auto_after is None:
        yield from _parallel(items, options, jobs, changed, chunksize, start_method)
        return
    auditor = options if isinstance(options, (Auditor, AuditorPool)) else Auditor(options)
    try:
        yield from _auto(items, auditor, jobs, changed, chunksize, auto_after)
    finally:
        if auditor is not options:
            auditor.close()


def _auto(
    pending: Iterator[Document | InputError],
    auditor: Auditor | AuditorPool,
    jobs: int,
    changed: ChangedLines | None,
    chunksize: int,
    auto_after: float,
) -> Iterator[Result]:
    """``--jobs auto``: audit here until the speed so far and the input read ahead say that
    enough work is left for workers to pay (:data:`AUTO_MIN_WORK_S`), then fork them."""
    items = _Lookahead(pending)
    first = True  # the first audit pays the lazy loading: left out of the speed
    speed = _Speed()  # of the audits since then
    while items.has(1):
        if (
            speed.measured() >= auto_after
            and items.has(AUTO_MIN_LEFT * jobs * chunksize)
            and _fork_safe()
            and _work_left(items, speed)
        ):
            # The workers inherit this process's loaded lexicons and models; its engine
            # processes (Apertium) would only sit idle beside theirs, so they stop first.
            auditor.release_engines()
            yield from _parallel(items, auditor, jobs, changed, chunksize, "fork", warm=False)
            return
        item = next(items)
        if isinstance(item, InputError):
            yield item
            continue
        t0 = time.monotonic()
        report = audit_document(auditor, item, changed)
        if first:
            first = False
        else:
            speed.add(time.monotonic() - t0, len(item.text))
        yield report


class _Speed:
    """Seconds of auditing per character of text, leaving out the slowest document: an
    engine that starts on first use (Apertium's translation pipelines, ~0.2 s) would
    otherwise make a small scan look long enough for workers."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.chars = 0
        self.slowest = (0.0, 0)

    def add(self, seconds: float, chars: int) -> None:
        self.seconds += seconds
        self.chars += chars
        self.slowest = max(self.slowest, (seconds, chars))

    def measured(self) -> float:
        """Seconds the speed is measured over."""
        return self.seconds - self.slowest[0]

    def per_char(self) -> float | None:
        seconds, chars = self.measured(), self.chars - self.slowest[1]
        return seconds / chars if chars > 0 and seconds > 0 else None


def _work_left(items: _Lookahead, speed: _Speed) -> bool:
    """Whether the text read ahead holds :data:`AUTO_MIN_WORK_S` of auditing at the speed
    measured so far. Documents the result cache holds cost almost nothing, so a mostly
    cached scan stays here."""
    if AUTO_MIN_WORK_S <= 0:
        return True
    per_char = speed.per_char()
    if per_char is None:
        return False
    need = AUTO_MIN_WORK_S / per_char
    return need <= AUTO_LOOKAHEAD_CHARS and items.has_chars(int(need) + 1)


def _parallel(
    items: Iterator[Document | InputError],
    options: AuditOptions | Auditor | AuditorPool | None,
    jobs: int,
    changed: ChangedLines | None,
    chunksize: int,
    start_method: str | None,
    warm: bool = True,
) -> Iterator[Result]:
    """``items`` audited on ``jobs`` worker processes, results in input order (``warm``:
    load the detectors before forking; False where this process has audited already)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    picker = _OptionsPicker(options)
    base_token, base_blob = picker.token_for(None)
    # The parent answers chunks the result cache holds entirely; workers are started (and
    # models loaded) only for the first chunk with a document to audit, so a re-scan of
    # an unchanged corpus starts none.
    lookup = options if isinstance(options, (Auditor, AuditorPool)) else None
    executor: ProcessPoolExecutor | None = None
    window: deque[Future[list[Result]]] = deque()
    warmed: list[Auditor] = []  # the parent's warm-up Auditors, closed at the end
    finished = False
    try:
        for chunk in _chunks(items, chunksize):
            known = _cached_chunk(lookup, chunk, changed) if lookup is not None else None
            if known is not None:
                window.append(_done(known))
                while len(window) > 2 * jobs:
                    yield from window.popleft().result()
                continue
            if executor is None:
                # Chosen now: a thread started meanwhile (the progress bar's) rules out fork.
                method = start_method or _default_start_method()
                if method == "fork":
                    # Inherited by the forked workers: loaded once instead of once per worker.
                    worker.INHERITED.update(_warm_contexts(picker, warmed, warm))
                executor = ProcessPoolExecutor(
                    max_workers=jobs,
                    mp_context=multiprocessing.get_context(method),
                    initializer=worker.init_worker,
                    initargs=(base_token, base_blob, worker_env(), changed),
                )
            tokens: dict[int, bytes] = {}
            items: list[tuple[Document | InputError, int]] = []
            for item in chunk:
                token = base_token
                if isinstance(item, Document):
                    token, blob = picker.token_for(item)
                    tokens.setdefault(token, blob)
                items.append((item, token))
            window.append(executor.submit(worker.audit_chunk, (items, tokens)))
            # Two chunks per worker keep every process busy while the parent yields.
            while len(window) > 2 * jobs:
                yield from window.popleft().result()
        while window:
            yield from window.popleft().result()
        finished = True
    finally:
        # Normal end: workers exit cleanly and close their engines (Apertium, cache).
        # Early end (an exception, Ctrl-C, the consumer stopped): drop queued chunks.
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=not finished)
        worker.INHERITED.clear()
        # After the workers exited (their copies of its pipes kept EOF from reaching the
        # idiom matcher's lt-proc stages): the warm-up's engine processes end here.
        for auditor in warmed:
            auditor.close()


def _cached_chunk(
    auditor: Auditor | AuditorPool,
    chunk: list[Document | InputError],
    changed: ChangedLines | None,
) -> list[Result] | None:
    """The chunk's results when the result cache holds every document of it, else None."""
    found: list[Result] = []
    for item in chunk:
        report = item if isinstance(item, InputError) else auditor.cached(item)
        if report is None:
            return None
        found.append(report)
    return [r if isinstance(r, InputError) else finish_report(auditor, r, changed) for r in found]


def _done(results: list[Result]) -> Future[list[Result]]:
    """A future already holding ``results``, to queue in order with the workers' ones."""
    from concurrent.futures import Future

    future: Future[list[Result]] = Future()
    future.set_result(results)
    return future


def _scan_here(
    paths: Iterable[str],
    options: AuditOptions | Auditor | AuditorPool | None,
    ingest_options: IngestOptions | None,
    changed: ChangedLines | None,
) -> Iterator[Result]:
    """``jobs <= 1``: the ordinary single-process scan (an Auditor we build, we close)."""
    if isinstance(options, (Auditor, AuditorPool)):
        yield from scan(paths, options, ingest_options, changed)
        return
    auditor = Auditor(options)
    try:
        yield from scan(paths, auditor, ingest_options, changed)
    finally:
        auditor.close()


def _pending(
    paths: Iterable[str], ingest_options: IngestOptions | None, changed: ChangedLines | None
) -> Iterator[Document | InputError]:
    """Inputs to send to workers; with ``--changed-since`` only documents with changes."""
    for item in iter_inputs(paths, ingest_options):
        if changed is None or isinstance(item, InputError) or changed.touches(item):
            yield item


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class _Lookahead(Iterator[Any]):
    """An iterator that can tell whether ``n`` more items, or documents with ``n``
    characters of text, are left (it reads them ahead)."""

    def __init__(self, items: Iterable[Any]) -> None:
        self._items = iter(items)
        self._ahead: deque[Any] = deque()
        self._chars = 0  # text of the documents read ahead
        self._done = False

    def _read(self) -> bool:
        if self._done:
            return False
        try:
            item = next(self._items)
        except StopIteration:
            self._done = True
            return False
        self._ahead.append(item)
        self._chars += len(item.text) if isinstance(item, Document) else 0
        return True

    def has(self, n: int) -> bool:
        while len(self._ahead) < n:
            if not self._read():
                return False
        return True

    def has_chars(self, n: int) -> bool:
        """Whether ``n`` characters of text are left; reads ahead at most
        :data:`AUTO_LOOKAHEAD_ITEMS` items."""
        while self._chars < n:
            if len(self._ahead) >= AUTO_LOOKAHEAD_ITEMS or not self._read():
                return False
        return True

    def __next__(self) -> Any:
        if not self._ahead and not self._read():
            raise StopIteration
        item = self._ahead.popleft()
        self._chars -= len(item.text) if isinstance(item, Document) else 0
        return item


def _fork_safe() -> bool:
    """Whether workers may be forked: Linux, and no other thread in this process.

    Forking a process that runs other threads can deadlock a child on a lock one of them
    held (a server's threads, a progress bar that refreshes itself).
    """
    import multiprocessing

    methods = multiprocessing.get_all_start_methods()
    return sys.platform.startswith("linux") and "fork" in methods and threading.active_count() == 1


def _default_start_method() -> str:
    """fork (sharing warm models) where safe; else forkserver, else spawn."""
    import multiprocessing

    methods = multiprocessing.get_all_start_methods()
    if _fork_safe():
        return "fork"
    if "forkserver" in methods:
        multiprocessing.set_forkserver_preload(["mtaudit.distributed.local"])
        return "forkserver"
    return "spawn"


def _warm_contexts(
    picker: _OptionsPicker, made: list[Auditor], warm: bool = True
) -> dict[str, Context]:
    """Detector contexts with everything loaded, for the configurations known so far
    (``warm=False``: as they are, for a parent that has audited with them already).

    Auditors over a context made here (not the caller's) are added to ``made``, to close.
    """
    contexts: dict[str, Context] = {}
    for options, context in picker.known():
        key = context_key(options)
        if key not in contexts:
            bare = dataclasses.replace(
                options, mt=None, known=None, decisions={}, result_cache_dir=None
            )
            auditor = Auditor(bare, context=context or Context(dict(options.detector_options)))
            if context is None:
                made.append(auditor)
            if warm or context is None:
                warm_up(auditor)
            # The warm-up started engine processes (Apertium analysers) in this process,
            # which audits nothing from now on: each worker starts its own.
            auditor.release_engines()
            contexts[key] = auditor.context
    return contexts


class _OptionsPicker:
    """Maps each document to a token for its AuditOptions (pickled once per token)."""

    def __init__(self, options: AuditOptions | Auditor | AuditorPool | None) -> None:
        self._pool = options if isinstance(options, AuditorPool) else None
        self._base_context: Context | None = None
        if isinstance(options, AuditorPool):
            base = options.base.options
            self._base_context = options.base.context
        elif isinstance(options, Auditor):
            base = options.options
            self._base_context = options.context
        else:
            base = options or AuditOptions()
        self._base = base
        self._tokens: dict[int, tuple[int, bytes]] = {}
        self._keep: list[AuditOptions] = []  # ids stay unique while we hold the objects

    def token_for(self, document: Document | None) -> tuple[int, bytes]:
        if document is None or self._pool is None:
            options = self._base
        else:
            options = self._pool.for_document(document).options
        found = self._tokens.get(id(options))
        if found is None:
            found = (len(self._tokens), pickle.dumps(options, protocol=pickle.HIGHEST_PROTOCOL))
            self._tokens[id(options)] = found
            self._keep.append(options)
        return found

    def known(self) -> Iterator[tuple[AuditOptions, Context | None]]:
        """Configurations seen so far with the parent's detector context, if it has one."""
        yield self._base, self._base_context
        if self._pool is not None:
            for auditor in self._pool.auditors:
                yield auditor.options, auditor.context
