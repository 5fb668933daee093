"""The worker side of ``--jobs`` (:mod:`mtaudit.distributed.local`): one process's
Auditors, built once, and the watchdog that ends the process with its scan."""

from __future__ import annotations

import os
import pickle
import signal
import sys
import threading
import time
from typing import TYPE_CHECKING

from mtaudit.auditors import SharedResources
from mtaudit.detectors import Context
from mtaudit.distributed import apply_env
from mtaudit.model import Document, DocumentReport, InputError
from mtaudit.pipeline import AuditOptions, Auditor, audit_document

if TYPE_CHECKING:
    from mtaudit.changed import ChangedLines

Result = DocumentReport | InputError
# A chunk: (document or input error, options token) pairs, and the pickled options of
# the tokens it uses (pickled once in the parent; workers unpickle each token once).
Chunk = tuple[list[tuple[Document | InputError, int]], dict[int, bytes]]

#: Warm detector contexts by configuration, set in the parent just before forking.
INHERITED: dict[str, Context] = {}
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
        self.shared = SharedResources(INHERITED)
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


def init_worker(
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
    import multiprocessing.util

    multiprocessing.util.Finalize(None, _WORKER.close, exitpriority=10)


def audit_chunk(chunk: Chunk) -> list[Result]:
    items, blobs = chunk
    if _WORKER is None:
        raise RuntimeError("mtaudit worker used before its initializer ran")
    return _WORKER.audit(items, blobs)
