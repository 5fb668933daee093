"""What ``mtaudit serve`` is configured with: limits, tokens and the default audit options.

Plain data, no web framework: the command line builds it, the service and the app read it.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mtaudit.pipeline import AuditOptions

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
#: An HTML news page is rarely over 1 MB; 4 MiB leaves room without inviting abuse.
DEFAULT_MAX_BODY = 4 * 1024 * 1024
#: A warm 600-word audit takes 25-50 ms; 30 s covers huge pages and a long queue, and is
#: under the 60 s most proxies allow.
DEFAULT_TIMEOUT = 30.0
#: Per-request configs each get an auditor per worker; a CMS uses a handful at most.
DEFAULT_AUDITOR_CACHE = 8
BUSY_RETRY_AFTER = 1
#: A client has this long to send its request line and headers; a connection that sends
#: nothing, or stalls mid-header, is closed then (slowloris).
DEFAULT_HEADER_TIMEOUT = 10.0
#: An idle keep-alive connection is closed after this long (uvicorn's timeout_keep_alive).
DEFAULT_KEEP_ALIVE_TIMEOUT = 5.0
#: Open connections (and requests) over which uvicorn answers 503 at once.
DEFAULT_MAX_CONNECTIONS = 1000
#: Largest request line plus headers (h11's incomplete-event limit): an audit request
#: needs a few short headers; more is refused with 400 instead of buffered.
MAX_HEADER_BYTES = 16 * 1024

# RFC 6750 b64token: what a bearer token may contain.
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


def _audit_options() -> AuditOptions:
    from mtaudit.pipeline import AuditOptions

    return AuditOptions()


def default_concurrency() -> int:
    """The CPUs this process may run on (see the package doc: threads beyond them only
    add memory and latency)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@dataclass
class ServeSettings:
    """Everything ``mtaudit serve`` is configured with (flags over ``--config`` file)."""

    options: AuditOptions = field(default_factory=_audit_options)
    tokens: tuple[str, ...] = ()
    max_body: int = DEFAULT_MAX_BODY
    timeout: float = DEFAULT_TIMEOUT
    concurrency: int = field(default_factory=default_concurrency)
    #: requests that may wait for a worker; None = 4 x concurrency
    backlog: int | None = None
    auditor_cache: int = DEFAULT_AUDITOR_CACHE
    #: seconds for the request line and headers to arrive (from the connection, or from
    #: the first byte of a request on a kept-alive connection)
    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    keep_alive_timeout: float = DEFAULT_KEEP_ALIVE_TIMEOUT
    max_connections: int = DEFAULT_MAX_CONNECTIONS

    def __post_init__(self) -> None:
        if self.backlog is None:
            self.backlog = 4 * self.concurrency
        if self.max_body < 1 or self.concurrency < 1 or self.backlog < 0:
            raise ValueError("max_body and concurrency must be positive, backlog not negative")
        if not (self.timeout > 0 and self.header_timeout > 0 and self.keep_alive_timeout > 0):
            raise ValueError("timeouts must be positive")
        if self.max_connections < 1:
            raise ValueError("max_connections must be positive")

    @property
    def retry_after(self) -> int:
        """Retry-After for a timed-out request: the budget, in whole seconds (at least 1)."""
        return max(1, math.ceil(self.timeout))


def load_tokens(path: str | Path) -> tuple[str, ...]:
    """Bearer tokens from a file: one a line; blank lines and ``#`` comments are skipped.

    Raises:
        ValueError: no token, or a line that is not an RFC 6750 token.
    """
    tokens: list[str] = []
    for lineno, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not _B64TOKEN.fullmatch(line):
            raise ValueError(f"{path}:{lineno}: not a bearer token (A-Z a-z 0-9 - . _ ~ + / =)")
        tokens.append(line)
    if not tokens:
        raise ValueError(f"{path}: no token in the file (one a line)")
    return tuple(tokens)
