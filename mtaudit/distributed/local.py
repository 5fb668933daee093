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
import multiprocessing
import multiprocessing.util
import os
import pickle
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import TYPE_CHECKING, Any

from mtaudit.auditors import AuditorPool, SharedResources, context_key
from mtaudit.detectors import Context
from mtaudit.distributed import apply_env, warm_up, worker_env
from mtaudit.ingest import IngestOptions, iter_inputs
from mtaudit.model import Document, DocumentReport, InputError
from mtaudit.pipeline import (
    AuditOptions,
    Auditor,
    audit_document,
    finish_report,
    scan,
)

if TYPE_CHECKING:
    from mtaudit.changed import ChangedLines

Result = DocumentReport | InputError
# A chunk: (document or input error, options token) pairs, and the pickled options of
# the tokens it uses (pickled once in the parent; workers unpickle each token once).
_Chunk = tuple[list[tuple[Document | InputError, int]], dict[int, bytes]]

DEFAULT_CHUNKSIZE = 4  # documents per task: ~0.1 s of work, so ordering stalls stay short


def default_jobs() -> int:
    """The CPUs this process may use (the affinity mask, e.g. under taskset or a cgroup)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def iter_reports_parallel(
    paths: Iterable[str],
    options: AuditOptions | Auditor | AuditorPool | None = None,
    ingest_options: IngestOptions | None = None,
    jobs: int | None = None,
    *,
    changed: ChangedLines | None = None,
    chunksize: int = DEFAULT_CHUNKSIZE,
    start_method: str | None = None,
) -> Iterator[Result]:
    """Audit every input on ``jobs`` processes; yield reports and errors in input order.

    A drop-in for :func:`mtaudit.pipeline.scan`: same inputs, same items, same order.
    ``options`` is one configuration (``AuditOptions`` or an ``Auditor``), or the CLI's
    ``AuditorPool`` when folders carry their own configuration: the parent then picks each
    document's options with ``pool.for_document`` and workers keep one Auditor per
    configuration. ``jobs`` defaults to the usable CPUs; ``jobs <= 1`` audits in this
    process. A worker exception is re-raised here, as a single-process scan would raise it.
    """
    jobs = default_jobs() if jobs is None else jobs
    if jobs <= 1:
        yield from _scan_here(paths, options, ingest_options, changed)
        return
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
        for chunk in _chunks(_pending(paths, ingest_options, changed), chunksize):
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
                    _INHERITED.update(_warm_contexts(picker, warmed))
                executor = ProcessPoolExecutor(
                    max_workers=jobs,
                    mp_context=multiprocessing.get_context(method),
                    initializer=_init_worker,
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
            window.append(executor.submit(_audit_chunk, (items, tokens)))
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
        _INHERITED.clear()
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


def _default_start_method() -> str:
    """fork (sharing warm models) where safe; else forkserver, else spawn.

    Forking a process that runs other threads can deadlock a child on a lock one of them
    held, so a parent with threads (a server) gets a clean forkserver instead.
    """
    methods = multiprocessing.get_all_start_methods()
    if sys.platform.startswith("linux") and "fork" in methods and threading.active_count() == 1:
        return "fork"
    if "forkserver" in methods:
        multiprocessing.set_forkserver_preload(["mtaudit.distributed.local"])
        return "forkserver"
    return "spawn"


def _warm_contexts(picker: _OptionsPicker, made: list[Auditor]) -> dict[str, Context]:
    """Detector contexts with everything loaded, for the configurations known so far.

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
            warm_up(auditor)
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


# --- worker side ----------------------------------------------------------------------

#: Warm detector contexts by configuration, set in the parent just before forking.
_INHERITED: dict[str, Context] = {}
_WORKER: _WorkerState | None = None


class _WorkerState:
    """One worker's Auditors, one per configuration token, sharing what the CLI's pool shares:
    a detector context per detector options, an engine per back-translation setting, a
    result cache per folder (each worker writes to it through its own connection)."""

    def __init__(
        self, base_token: int, base_blob: bytes, changed: ChangedLines | None = None
    ) -> None:
        self.changed = changed
        self.options: dict[int, AuditOptions] = {base_token: pickle.loads(base_blob)}
        self.auditors: dict[int, Auditor] = {}
        self.shared = SharedResources(_INHERITED)
        self.auditor(base_token).preload()

    def auditor(self, token: int) -> Auditor:
        auditor = self.auditors.get(token)
        if auditor is None:
            auditor = self.auditors[token] = self.shared.auditor(self.options[token])
        return auditor

    def audit(self, items: list[tuple[Document | InputError, int]], blobs: dict[int, bytes]):
        for token, blob in blobs.items():
            if token not in self.options:
                self.options[token] = pickle.loads(blob)
        return [
            item
            if isinstance(item, InputError)
            else audit_document(self.auditor(token), item, self.changed)
            for item, token in items
        ]

    def close(self) -> None:
        for auditor in self.auditors.values():
            auditor.close()  # its detectors' engines; the shared ones are closed below
        self.shared.close()


#: How often the portable watchdog checks that the parent is still alive (seconds).
PARENT_POLL_S = 0.5


def _die_with_parent() -> None:
    """End this worker when the scan that started it dies, even by ``kill -9``.

    Otherwise a killed scan leaves its workers behind, each holding its models (~340 MB)
    and waiting forever on a task queue nobody feeds. On Linux the kernel sends SIGKILL
    to the worker when its parent exits (``prctl(PR_SET_PDEATHSIG)``); a watchdog thread
    covers other systems (and a forkserver parent): it exits once the parent changes.
    """
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            pr_set_pdeathsig = 1  # <linux/prctl.h>
            libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # no libc prctl (musl builds have it; be safe)
            pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_S)
        os._exit(1)  # no cleanup: there is no one left to report to

    threading.Thread(target=watch, name="mtaudit-parent-watch", daemon=True).start()


def _init_worker(
    base_token: int, base_blob: bytes, env: dict[str, str], changed: ChangedLines | None
) -> None:
    """Build this worker's Auditor once; close its engines when the worker exits normally."""
    global _WORKER
    _die_with_parent()
    # Ctrl-C reaches the whole process group: the parent handles it and shuts us down.
    # SIGTERM is the parent's to handle (its handler, inherited through fork, would abort
    # the parent's reports): a worker just ends.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    apply_env(env)
    _WORKER = _WorkerState(base_token, base_blob, changed)
    # Runs at a clean worker exit (executor shutdown), not on a crash.
    multiprocessing.util.Finalize(None, _WORKER.close, exitpriority=10)


def _audit_chunk(chunk: _Chunk) -> list[Result]:
    items, blobs = chunk
    if _WORKER is None:
        raise RuntimeError("mtaudit worker used before its initializer ran")
    return _WORKER.audit(items, blobs)
