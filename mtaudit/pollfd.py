"""Waiting on a pipe or device descriptor, with a timeout and no descriptor limit.

Shared by the readers that must not block in the kernel (stdin and FIFOs in
:mod:`mtaudit.ingest`, Apertium's pipes in :mod:`mtaudit.backtranslate.apertium`). It sits
at the bottom of the layers: nothing but the standard library.
"""

from __future__ import annotations

import select


def readable(fd: int, timeout_s: float) -> bool:
    """Whether ``fd`` has data (or EOF) within ``timeout_s`` seconds (0: do not wait).

    poll, not select: select fails on descriptors numbered 1024 and up, which a
    long-lived server or a scan with many engine pipes can reach.
    """
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLHUP)
    return bool(poller.poll(max(0.0, timeout_s) * 1000))
