"""``mtaudit serve``: an HTTP check service for CMSs that call a URL before publishing.

Routes (all responses are JSON; the OpenAPI 3.1 document is at ``GET /openapi.json``):

- ``POST /v1/audit`` ``{"text"|"html"|"markdown": str, "id"?: str, "config"?: {...}}`` ->
  the report-v2 document object of ``mtaudit scan -f json`` (text included, ``failed``) plus
  ``"pass"`` (the gate) and ``"signature"``.
- ``GET /healthz`` -> ``{"status": "ok", "signature": ..., load counters}``. It needs no
  token: load balancers probe it without credentials, and it reveals only versions and
  counts.
- ``GET /openapi.json`` -> the API description (also open: it is documentation).

Design, and why:

- **Workers.** Auditing is CPU-bound and the :class:`~mtaudit.pipeline.Auditor` is not
  thread-safe (per-auditor caches, an Apertium subprocess, and an sqlite translation cache
  whose connection may only be used by the thread that opened it). So the service runs
  ``--concurrency`` workers, each a dedicated thread that owns its auditors for life:
  builds them, runs every audit on them, closes them. Idle workers are handed to requests
  in FIFO order. Each worker loads its own models (~40 MB, ~0.6 s each, done at start and
  warmed with a short audit so the first request is not slow); an auditor for a
  per-request config is derived from the worker's default one and shares its loaded
  context (an LRU of ``DEFAULT_AUDITOR_CACHE`` per worker).
- **Concurrency default: the number of CPUs, not more.** Most of an audit holds the GIL,
  so threads buy fairness (a short article is not stuck behind a long one) and overlap
  the parts that release it (Apertium pipes, sqlite, rapidfuzz), not parallel speed:
  ``bench/bench_server.py`` on 2 CPUs serves ~40 req/s of 600-word articles with 1, 2
  or 4 workers alike. More threads than cores would only add memory and latency; for
  more throughput, run one ``mtaudit serve`` per core behind a proxy.
- **Queueing.** A request that finds no idle worker waits in a FIFO queue of at most
  ``--backlog`` requests (default 4 x concurrency); beyond that it is refused at once with
  503 ``busy`` and ``Retry-After`` (shedding load early beats timing out late).
- **Time budget.** ``--timeout`` bounds a request from its arrival: reading the body
  (else 408), queueing and auditing (else 503 ``timeout`` with ``Retry-After``). A thread
  cannot be killed, so a timed-out audit finishes in the background and its result is
  discarded; its worker returns to the pool when it does. Freeing the worker earlier
  would let a stream of slow requests stack unbounded CPU work behind the bound.
- **Connections.** A client has ``--header-timeout`` seconds to send its request line
  and headers (uvicorn has no such deadline: a slowloris client could hold thousands of
  connections open before any token is checked), an idle keep-alive connection
  ``--keep-alive-timeout``; over ``--max-connections`` uvicorn answers 503 at once, and
  headers over 16 KiB get 400.
- **Limits before work.** The order of checks is: token (401, the body is never read),
  content type (415), ``Content-Length`` (413), then the body is streamed and counted
  (413 as soon as it passes ``--max-body``, so a chunked upload cannot bypass it), JSON
  and validation (400), capacity (503). Validation errors are all 400 with a machine
  ``error`` code (``bad_json``, ``invalid_request``, ``invalid_config``,
  ``unreadable_input``) and a ``detail`` sentence; 422 is not used.
- **No reflected markup.** Every response, errors included, is ``application/json`` with
  ``<``, ``>`` and ``&`` written as ``\\u003c``/``\\u003e``/``\\u0026`` (the same JSON
  values), plus ``X-Content-Type-Options: nosniff``; error details quote input only as a
  short JSON-encoded excerpt.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import os
import re
import sys
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mtaudit import __version__
from mtaudit.cliargs import (  # the scan command's flag parsers
    add_config_arguments,
    csv_list,
    int_at_least,
    probability,
)
from mtaudit.model import (
    DEFAULT_FAIL_ON_VERDICT,
    FAIL_ON_VERDICT_CHOICES,
    Severity,
    parse_fail_on_verdict,
)
from mtaudit.server_openapi import MAX_ID_CHARS, MAX_TOKENS, openapi_document, selection_tokens

# asyncio, starlette, uvicorn and the pipeline load only when a server starts: the CLI
# imports this module to register ``serve``, and every other command should stay fast.
if TYPE_CHECKING:
    import asyncio
    from concurrent.futures import Future

    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from mtaudit.model import Document
    from mtaudit.pipeline import AuditOptions, Auditor

__all__ = [
    "ApiError",
    "AuditJob",
    "AuditService",
    "BackgroundServer",
    "RequestConfig",
    "ServeSettings",
    "add_parser",
    "cmd_serve",
    "create_app",
    "parse_config",
    "parse_request",
]


def _log() -> Any:
    import logging

    return logging.getLogger("mtaudit.server")


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
DOCUMENT_PATH = "<request>"

# RFC 6750 b64token: what a bearer token may contain.
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
_SURROGATE = re.compile("[\ud800-\udfff]")
# The same JSON values, but no byte of a response can open a tag or an entity, and the
# JavaScript line separators are escaped too: safe even if a client pastes it into HTML.
_JSON_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}
_JSON_UNSAFE = re.compile("[<>&\u2028\u2029]")
# A short, always-built warm-up article: touches every lazily built index (idiom, calque,
# untranslated, fluency, scorer) so a worker's first real request is not 0.6 s slower.
_WARMUP_TEXT = (
    "The government presents itself with one of lime and another of sand before the talks. "
    "The aforementioned sources said on Monday that the minister would travel to Geneva, "
    '"even if we prefer to defuse [esta crisis] through diplomacy", ”said the envoy.'
)


# --- errors and JSON ------------------------------------------------------------------


class ApiError(Exception):
    """A request the service answers with a JSON error: ``{"error": code, "detail": ...}``."""

    def __init__(
        self, status: int, code: str, detail: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = headers or {}


def json_bytes(data: Any) -> bytes:
    """Encode ``data`` as compact UTF-8 JSON with ``<>&`` escaped (see the module doc)."""
    try:
        text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except ValueError:
        # A NaN feature would make invalid JSON (the CLI writes it as NaN); send null.
        text = json.dumps(_finite(data), ensure_ascii=False, separators=(",", ":"))
    return _JSON_UNSAFE.sub(lambda m: _JSON_ESCAPES[m.group()], text).encode("utf-8")


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def json_response(
    body: bytes, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A response from already-encoded JSON (audits are encoded in the worker thread)."""
    from starlette.responses import Response

    return Response(body, status, headers, media_type="application/json")


def error_response(error: ApiError) -> Response:
    return json_response(
        json_bytes({"error": error.code, "detail": error.detail}), error.status, error.headers
    )


def _excerpt(value: str, limit: int = 40) -> str:
    """A short JSON-encoded quote of user input, for error details."""
    return json.dumps(value if len(value) <= limit else value[:limit] + "…")


def _type_name(value: Any) -> str:
    """The JSON type of a parsed value, for messages that must not quote the value itself."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


# --- request model and validation -----------------------------------------------------


@dataclass(frozen=True)
class RequestConfig:
    """The per-request part of :class:`AuditOptions`: selection, threshold and the gate.

    ``select``/``ignore`` hold normalised prefixes (``idiom`` -> ``MT1``), so equivalent
    configs share one cached auditor.
    """

    select: tuple[str, ...] = ("MT",)
    ignore: tuple[str, ...] = ()
    min_confidence: float = 0.0
    fail_on: Severity = Severity.ERROR
    fail_above: float | None = None
    fail_on_verdict: str | None = DEFAULT_FAIL_ON_VERDICT

    @classmethod
    def from_options(cls, options: AuditOptions) -> RequestConfig:
        return cls(
            tuple(options.select),
            tuple(options.ignore),
            options.min_confidence,
            options.fail_on,
            options.fail_above,
            options.fail_on_verdict,
        )

    def apply(self, options: AuditOptions) -> AuditOptions:
        """``options`` with this config's fields."""
        return dataclasses.replace(
            options,
            select=self.select,
            ignore=self.ignore,
            min_confidence=self.min_confidence,
            fail_on=self.fail_on,
            fail_above=self.fail_above,
            fail_on_verdict=self.fail_on_verdict,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "select": list(self.select),
            "ignore": list(self.ignore),
            "min_confidence": self.min_confidence,
            "fail_on": self.fail_on.label,
            "fail_above": self.fail_above,
            "fail_on_verdict": self.fail_on_verdict or "none",
        }


CONFIG_KEYS = ("select", "ignore", "min_confidence", "fail_on", "fail_above", "fail_on_verdict")


def _tokens(value: Any, where: str, min_items: int) -> tuple[str, ...]:
    from mtaudit.detectors import Selection

    if not isinstance(value, list):
        raise ValueError(f"{where} must be an array of code prefixes or categories")
    if not min_items <= len(value) <= MAX_TOKENS:
        raise ValueError(f"{where} must have {min_items} to {MAX_TOKENS} entries")
    out: list[str] = []
    for i, token in enumerate(value):
        if not isinstance(token, str):
            raise ValueError(f"{where}[{i}] must be a string, not {_type_name(token)}")
        if token not in selection_tokens():
            raise ValueError(
                f"{where}[{i}] = {_excerpt(token)} is not a code prefix (MT4, MT401; "
                "'mtaudit rules' lists the codes) or a category (idiom, calque, "
                "untranslated, punctuation, boilerplate, fluency)"
            )
        out.extend(Selection.build([token], None).select)
    return tuple(out)


def _probability(value: Any, where: str, nullable: bool = False) -> float | None:
    if value is None and nullable:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        kind = "a number from 0 to 1" + (" or null" if nullable else "")
        raise ValueError(f"{where} must be {kind}, not {_type_name(value)}")
    if not 0.0 <= value <= 1.0:  # NaN fails this too
        raise ValueError(f"{where} must be between 0 and 1")
    return float(value)


def parse_config(raw: Any, base: RequestConfig, where: str = "config") -> RequestConfig:
    """Validate a ``config`` object and apply it over ``base``.

    Raises:
        ValueError: an unknown key or a bad value, with a message naming the key.
    """
    if not isinstance(raw, dict):
        raise ValueError(f"{where} must be an object, not {_type_name(raw)}")
    unknown = sorted(set(raw) - set(CONFIG_KEYS))
    if unknown:
        raise ValueError(
            f"unknown key {_excerpt(unknown[0])} in {where}; expected: {', '.join(CONFIG_KEYS)}"
        )
    changes: dict[str, Any] = {}
    if "select" in raw:
        changes["select"] = _tokens(raw["select"], f"{where}.select", 1)
    if "ignore" in raw:
        changes["ignore"] = _tokens(raw["ignore"], f"{where}.ignore", 0)
    if "min_confidence" in raw:
        changes["min_confidence"] = _probability(raw["min_confidence"], f"{where}.min_confidence")
    if "fail_on" in raw:
        value = raw["fail_on"]
        if value not in ("info", "warning", "error"):
            shown = _excerpt(value) if isinstance(value, str) else _type_name(value)
            raise ValueError(f"{where}.fail_on must be info, warning or error, not {shown}")
        changes["fail_on"] = Severity.parse(value)
    if "fail_above" in raw:
        changes["fail_above"] = _probability(raw["fail_above"], f"{where}.fail_above", True)
    if "fail_on_verdict" in raw:
        value = raw["fail_on_verdict"]
        if value not in FAIL_ON_VERDICT_CHOICES:
            shown = _excerpt(value) if isinstance(value, str) else _type_name(value)
            raise ValueError(
                f"{where}.fail_on_verdict must be {', '.join(FAIL_ON_VERDICT_CHOICES)}, not {shown}"
            )
        changes["fail_on_verdict"] = parse_fail_on_verdict(value)
    return dataclasses.replace(base, **changes)


@dataclass(frozen=True)
class AuditJob:
    """A validated audit request: what a worker needs to build and audit the document."""

    fmt: str
    source: str
    doc_id: str
    config: RequestConfig


_INPUT_KEYS = ("text", "html", "markdown")
_REQUEST_KEYS = (*_INPUT_KEYS, "id", "config")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_request(body: bytes, base: RequestConfig) -> AuditJob:
    """Parse and validate a ``POST /v1/audit`` body.

    Raises:
        ApiError: 400 ``bad_json``, ``invalid_request`` or ``invalid_config``.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(400, "bad_json", f"the body is not UTF-8 (byte {exc.start})") from None
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise ApiError(
            400, "bad_json", f"malformed JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except (ValueError, RecursionError) as exc:  # NaN, a 5000-digit number, deep nesting
        reason = str(exc) if isinstance(exc, ValueError) else "nested too deeply"
        raise ApiError(400, "bad_json", f"malformed JSON: {reason[:120]}") from None
    if not isinstance(data, dict):
        raise ApiError(
            400, "invalid_request", f"the body must be a JSON object, not {_type_name(data)}"
        )
    unknown = sorted(set(data) - set(_REQUEST_KEYS))
    if unknown:
        raise ApiError(
            400,
            "invalid_request",
            f"unknown key {_excerpt(unknown[0])}; expected one of text, html, markdown, "
            "and optionally id, config",
        )
    given = [k for k in _INPUT_KEYS if k in data]
    if len(given) != 1:
        raise ApiError(
            400,
            "invalid_request",
            "give exactly one of text, html or markdown"
            + (f" (got {', '.join(given)})" if given else ""),
        )
    fmt = given[0]
    source = data[fmt]
    if not isinstance(source, str):
        raise ApiError(400, "invalid_request", f"{fmt} must be a string, not {_type_name(source)}")
    doc_id = data.get("id", DOCUMENT_PATH)
    if not isinstance(doc_id, str) or not 1 <= len(doc_id) <= MAX_ID_CHARS:
        raise ApiError(400, "invalid_request", f"id must be a string of 1 to {MAX_ID_CHARS} chars")
    config = base
    if "config" in data:
        try:
            config = parse_config(data["config"], base)
        except ValueError as exc:
            raise ApiError(400, "invalid_config", str(exc)) from None
    # JSON may carry lone surrogates ("\ud800"); they cannot be encoded in the response.
    # One replacement character each keeps every offset where it was.
    return AuditJob(
        fmt,
        _SURROGATE.sub("\ufffd", source),
        _SURROGATE.sub("\ufffd", doc_id),
        config,
    )


# --- settings -----------------------------------------------------------------------------


def _audit_options(**kw: Any) -> AuditOptions:
    from mtaudit.pipeline import AuditOptions

    return AuditOptions(**kw)


def _default_concurrency() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@dataclass
class ServeSettings:
    """Everything ``mtaudit serve`` is configured with (flags over ``--config`` file)."""

    options: AuditOptions = field(default_factory=lambda: _audit_options())
    tokens: tuple[str, ...] = ()
    max_body: int = DEFAULT_MAX_BODY
    timeout: float = DEFAULT_TIMEOUT
    concurrency: int = field(default_factory=_default_concurrency)
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


# --- workers and the service --------------------------------------------------------------


def _derived_auditor(options: AuditOptions, base: Auditor) -> Auditor:
    """An auditor for ``options`` that shares ``base``'s loaded context and engine.

    Lexicons and the LM are loaded into the context once; sharing it (and the engine
    process) makes a per-request config cost a few detector objects. Safe because both
    auditors are only ever used from the one worker thread.
    """
    from mtaudit.pipeline import Auditor

    return Auditor(options, context=base.context, backtranslator=base.backtranslator)


class _Worker:
    """One thread and the auditors only it uses, from construction to close."""

    def __init__(
        self,
        index: int,
        options: AuditOptions,
        cache_size: int,
        before_audit: Callable[[Document], None] | None,
    ) -> None:
        self.index = index
        self.options = options
        self.cache_size = cache_size
        self.before_audit = before_audit
        from concurrent.futures import ThreadPoolExecutor

        self.executor = ThreadPoolExecutor(1, thread_name_prefix=f"mtaudit-worker-{index}")
        self.default_config = RequestConfig.from_options(options)
        self.base: Auditor | None = None
        self._derived: OrderedDict[RequestConfig, Auditor] = OrderedDict()

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        return self.executor.submit(fn, *args)

    def load(self) -> str:
        """(worker thread) Build, preload and warm the default auditor; its signature."""
        from mtaudit.ingest import make_document
        from mtaudit.pipeline import Auditor

        self.base = Auditor(self.options)
        self.base.preload()

        self.base.audit(make_document(_WARMUP_TEXT, "<warm-up>", "text", "<warm-up>"))
        return self.base.signature

    def auditor(self, config: RequestConfig) -> Auditor:
        """(worker thread) The auditor for ``config``, derived and cached on first use."""
        assert self.base is not None
        if config == self.default_config:
            return self.base
        auditor = self._derived.get(config)
        if auditor is None:
            auditor = _derived_auditor(config.apply(self.options), self.base)
            self._derived[config] = auditor
            if len(self._derived) > self.cache_size:
                self._derived.popitem(last=False)  # shares base's resources: nothing to close
        else:
            self._derived.move_to_end(config)
        return auditor

    def run(self, job: AuditJob) -> bytes:
        """(worker thread) Build the document, audit it, encode the response body."""
        from mtaudit.ingest import make_document
        from mtaudit.report.serialize import document_dict

        try:
            document = make_document(job.source, DOCUMENT_PATH, job.fmt, job.doc_id)
        except ValueError as exc:  # markup that cannot be parsed at all
            raise ApiError(
                400, "unreadable_input", f"cannot read the {job.fmt}: {str(exc)[:120]}"
            ) from None
        if self.before_audit is not None:
            self.before_audit(document)
        auditor = self.auditor(job.config)
        report = auditor.audit(document)
        failed = auditor.fails(report)
        data = document_dict(report, include_text=True)
        data["failed"] = failed
        data["pass"] = not failed
        data["signature"] = auditor.signature
        return json_bytes(data)

    def close(self) -> None:
        """(worker thread) Stop the engine process and flush the translation cache."""
        if self.base is not None:
            self.base.close()
        self._derived.clear()


class AuditService:
    """The worker pool with admission control and per-request deadlines.

    Build it, :meth:`start` it (loads every worker's models; raises on a bad ``--lm`` or
    lexicon), serve, :meth:`close` it. :meth:`audit` must be awaited on one event loop.

    Args:
        settings: limits and audit options.
        before_audit: called in the worker thread before each audit (instrumentation and
            tests: a slow or counting hook).
    """

    def __init__(
        self,
        settings: ServeSettings,
        before_audit: Callable[[Document], None] | None = None,
    ) -> None:
        self.settings = settings
        self.defaults = RequestConfig.from_options(settings.options)
        self.signature = ""
        self._workers = [
            _Worker(i, settings.options, settings.auditor_cache, before_audit)
            for i in range(settings.concurrency)
        ]
        self._idle: list[_Worker] = []
        self._waiters: deque[asyncio.Future[_Worker]] = deque()
        self._running = 0
        self._abandoned: set[asyncio.Future[bytes]] = set()
        self._closed = False
        self.counters: dict[str, int] = dict.fromkeys(
            (
                "requests",
                "unauthorized",
                "bodies_read",
                "bad_requests",
                "too_large",
                "audited",
                "busy",
                "timeouts",
                "errors",
            ),
            0,
        )

    def start(self) -> None:
        """Load every worker's models, each in its own thread (all at once)."""
        loads = [w.submit(w.load) for w in self._workers]
        try:
            signatures = [f.result() for f in loads]
        except BaseException:
            self.close()
            raise
        self.signature = signatures[0]
        self._idle = list(reversed(self._workers))

    def close(self, wait: float = 10.0) -> None:
        """Close every worker's auditors in its thread; a hung audit is not waited for.

        Idempotent: the server's shutdown and the caller may both close.
        """
        if self._closed:
            return
        self._closed = True
        closes = [w.submit(w.close) for w in self._workers]
        deadline = time.monotonic() + wait
        for w, f in zip(self._workers, closes, strict=True):
            try:
                f.result(timeout=max(0.0, deadline - time.monotonic()))
            except Exception as exc:  # closing must go on for the other workers
                _log().warning("worker %d did not close cleanly: %s", w.index, exc)
            w.executor.shutdown(wait=False)

    # -- the pool (event-loop thread only) -----------------------------------------------

    async def _acquire(self, timeout: float) -> _Worker:
        import asyncio

        if self._idle:
            return self._idle.pop()
        if len(self._waiters) >= (self.settings.backlog or 0):
            self.counters["busy"] += 1
            raise ApiError(
                503,
                "busy",
                f"all {len(self._workers)} workers are busy and "
                f"{len(self._waiters)} requests are waiting; try again shortly",
                {"Retry-After": str(BUSY_RETRY_AFTER)},
            )
        waiter: asyncio.Future[_Worker] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            return await asyncio.wait_for(waiter, timeout)
        except BaseException:
            # A worker handed over just as the wait ended must not be lost.
            if waiter.done() and not waiter.cancelled():
                self._release(waiter.result())
            raise
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    def _release(self, worker: _Worker) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(worker)
                return
        self._idle.append(worker)

    def _finished(self, worker: _Worker, fut: asyncio.Future[bytes]) -> None:
        """Done-callback of every audit, answered or abandoned: the worker is free again."""
        self._running -= 1
        abandoned = fut in self._abandoned
        self._abandoned.discard(fut)
        exc = None if fut.cancelled() else fut.exception()  # retrieved: no asyncio warning
        if abandoned and exc is not None and not isinstance(exc, ApiError):
            # Nobody awaits this one any more; an answered failure is logged by uvicorn.
            _log().error("a timed-out audit failed", exc_info=exc)
        self._release(worker)

    def _timeout(self, stage: str) -> ApiError:
        self.counters["timeouts"] += 1
        return ApiError(
            503,
            "timeout",
            f"the request took over the {self.settings.timeout:g} s budget ({stage})",
            {"Retry-After": str(self.settings.retry_after)},
        )

    async def audit(self, job: AuditJob, deadline: float) -> bytes:
        """Audit ``job`` on a worker by ``deadline`` (event-loop time); the response body.

        Raises:
            ApiError: 503 busy/timeout, 400 unreadable_input.
        """
        import asyncio

        loop = asyncio.get_running_loop()
        try:
            worker = await self._acquire(max(0.0, deadline - loop.time()))
        except asyncio.TimeoutError:
            raise self._timeout("waiting for a worker") from None
        self._running += 1
        fut = asyncio.wrap_future(worker.submit(worker.run, job))
        fut.add_done_callback(lambda f: self._finished(worker, f))
        try:
            # shield: on timeout stop waiting, but let the audit end (threads can't be killed)
            body = await asyncio.wait_for(asyncio.shield(fut), max(0.0, deadline - loop.time()))
        except asyncio.TimeoutError:
            if not fut.done():
                self._abandoned.add(fut)
            raise self._timeout("auditing") from None
        self.counters["audited"] += 1
        return body

    def _mt_health(self) -> dict[str, Any] | None:
        """The back-translation engine and whether any worker had to stand in for it.

        Read from the workers' back-translators without their threads: a name and an
        attribute set once, so a stale read is at worst one request old.
        """
        translators = [
            w.base.backtranslator
            for w in self._workers
            if w.base is not None and w.base.backtranslator is not None
        ]
        if not translators:
            return None
        fallback = next((t.fallback for t in translators if t.fallback), None)
        return {
            "engine": translators[0].engine.name,
            "fallback": fallback,
            "signature": translators[0].engine.signature,
        }

    def health(self) -> dict[str, Any]:
        from mtaudit.backtranslate import with_fallback

        mt = self._mt_health()
        return {
            "status": "ok",
            "signature": with_fallback(self.signature, mt and mt["fallback"]),
            "mt": mt,
            "version": __version__,
            "auth": bool(self.settings.tokens),
            "workers": len(self._workers),
            "busy": self._running,
            "queued": len(self._waiters),
            "abandoned": len(self._abandoned),
            "limits": {
                "max_body": self.settings.max_body,
                "timeout": self.settings.timeout,
                "backlog": self.settings.backlog,
            },
            "defaults": self.defaults.as_dict(),
            "counters": dict(self.counters),
        }


# --- HTTP -------------------------------------------------------------------------------


def _authorize(request: Request, tokens: Sequence[str]) -> None:
    """Raise 401 unless the request carries one of ``tokens`` as a bearer token."""
    import hmac

    header = request.headers.get("authorization")
    if header is None:
        raise ApiError(
            401,
            "unauthorized",
            "send Authorization: Bearer TOKEN",
            {"WWW-Authenticate": 'Bearer realm="mtaudit"'},
        )
    scheme, _, given = header.partition(" ")
    # Headers arrive decoded as latin-1: encoding back gives the bytes that were sent.
    presented = given.strip().encode("latin-1", "replace")
    ok = False
    for token in tokens:  # no early exit: every token is compared, in constant time
        ok |= hmac.compare_digest(presented, token.encode("ascii"))
    if scheme.lower() != "bearer" or not ok:
        raise ApiError(
            401,
            "unauthorized",
            "the bearer token is not accepted",
            {"WWW-Authenticate": 'Bearer realm="mtaudit", error="invalid_token"'},
        )


def _check_content_type(request: Request) -> None:
    value = request.headers.get("content-type", "")
    media, *params = (p.strip().lower() for p in value.split(";"))
    charset = next((p.split("=", 1)[1].strip('"') for p in params if p.startswith("charset=")), "")
    if media != "application/json" or charset not in ("", "utf-8"):
        raise ApiError(
            415,
            "unsupported_media_type",
            "send the body as Content-Type: application/json (UTF-8)",
        )


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, refused (413) as soon as it is over ``limit`` bytes, however it is sent."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise ApiError(400, "invalid_request", "Content-Length is not a number")
        if int(declared) > limit:
            raise ApiError(
                413, "payload_too_large", f"the body is {declared} bytes; the limit is {limit}"
            )
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:  # chunked, or a Content-Length that lied
            raise ApiError(413, "payload_too_large", f"the body is over the {limit}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


async def audit_endpoint(request: Request) -> Response:
    """``POST /v1/audit`` (see the module doc for the order of checks)."""
    import asyncio

    from starlette.requests import ClientDisconnect

    service: AuditService = request.app.state.service
    settings = service.settings
    counters = service.counters
    loop = asyncio.get_running_loop()
    deadline = loop.time() + settings.timeout
    counters["requests"] += 1
    try:
        if settings.tokens:
            _authorize(request, settings.tokens)
        _check_content_type(request)
        try:
            body = await asyncio.wait_for(
                _read_body(request, settings.max_body), max(0.0, deadline - loop.time())
            )
        except asyncio.TimeoutError:
            raise ApiError(
                408, "request_timeout", f"the body did not arrive within {settings.timeout:g} s"
            ) from None
        except ClientDisconnect:
            raise ApiError(400, "invalid_request", "the client went away mid-body") from None
    except ApiError as exc:
        counters[_COUNTER.get(exc.status, "bad_requests")] += 1
        # The body is (partly) unread: closing the connection beats draining it, which a
        # chunked upload could make last forever.
        exc.headers["Connection"] = "close"
        raise
    counters["bodies_read"] += 1
    try:
        job = parse_request(body, service.defaults)
        payload = await service.audit(job, deadline)
    except ApiError as exc:
        if exc.status == 400:
            counters["bad_requests"] += 1
        raise
    except Exception:
        counters["errors"] += 1
        raise
    return json_response(payload, headers={"Cache-Control": "no-store"})


_COUNTER = {401: "unauthorized", 413: "too_large"}


async def health_endpoint(request: Request) -> Response:
    """``GET /healthz``: open, so load balancers need no token."""
    return json_response(json_bytes(request.app.state.service.health()))


async def openapi_endpoint(request: Request) -> Response:
    """``GET /openapi.json``."""
    return json_response(request.app.state.openapi)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    """Routing errors (404, 405) as JSON, keeping their headers (Allow)."""
    from starlette.exceptions import HTTPException

    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "invalid_request")
    detail = {404: "no such route", 405: "method not allowed on this route"}.get(
        exc.status_code, "bad request"
    )
    return error_response(ApiError(exc.status_code, code, detail, dict(exc.headers or {})))


async def _internal_error(request: Request, exc: Exception) -> Response:
    # Starlette re-raises after this response, so uvicorn logs the traceback once.
    return error_response(ApiError(500, "internal_error", "internal error; see the server log"))


class _SecurityHeaders:
    """Pure ASGI middleware: ``nosniff`` on every response (JSON must never render as HTML)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-content-type-options", b"nosniff"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(service: AuditService, close_on_shutdown: bool = False) -> Starlette:
    """The ASGI app around a started :class:`AuditService`.

    With ``close_on_shutdown`` the app closes the service when the server shuts down:
    uvicorn re-raises SIGTERM after a graceful shutdown, so code after ``server.run()``
    may never run, and the engine processes must still be stopped.
    """
    import asyncio

    from starlette.applications import Starlette
    from starlette.exceptions import HTTPException
    from starlette.middleware import Middleware
    from starlette.routing import Route

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        if close_on_shutdown:
            await asyncio.get_running_loop().run_in_executor(None, service.close)

    app = Starlette(
        lifespan=lifespan,
        routes=[
            Route("/v1/audit", audit_endpoint, methods=["POST"]),
            Route("/healthz", health_endpoint, methods=["GET"]),
            Route("/openapi.json", openapi_endpoint, methods=["GET"]),
        ],
        middleware=[Middleware(_SecurityHeaders)],
        exception_handlers={
            ApiError: _api_error,
            HTTPException: _http_error,
            Exception: _internal_error,
        },
    )
    app.state.service = service
    app.state.openapi = json_bytes(
        openapi_document(
            version=__version__,
            auth=bool(service.settings.tokens),
            max_body=service.settings.max_body,
            timeout=service.settings.timeout,
        )
    )
    return app


def header_timeout_protocol(header_timeout: float) -> type:
    """uvicorn's h11 protocol with a deadline for the request line and headers.

    uvicorn times out idle keep-alive connections, but not a connection that sends
    nothing, or part of a request line, and then stalls: thousands of those can be held
    open, before any authentication, each for as long as the client likes. This protocol
    arms a timer when a connection opens, and again when the first byte of a next request
    arrives on a kept-alive connection; the timer is cancelled once h11 has parsed the
    headers (the body has ``--timeout``), and closes the connection if it fires first.
    """
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class HeaderTimeoutH11Protocol(H11Protocol):
        _header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm_header_timer()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                self._arm_header_timer()  # a request has begun but its headers are not in
            else:
                self._cancel_header_timer()

        def connection_lost(self, exc: Exception | None) -> None:
            self._cancel_header_timer()
            super().connection_lost(exc)

        def _arm_header_timer(self) -> None:
            if self._header_timer is None:
                self._header_timer = self.loop.call_later(header_timeout, self._headers_late)

        def _cancel_header_timer(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _headers_late(self) -> None:
            self._header_timer = None
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                with contextlib.suppress(h11.LocalProtocolError):
                    self.conn.send(h11.ConnectionClosed())
                self.transport.close()

    return HeaderTimeoutH11Protocol


def server_config(settings: ServeSettings) -> dict[str, Any]:
    """uvicorn.Config options for the connection limits in ``settings``."""
    return {
        "http": header_timeout_protocol(settings.header_timeout),
        "timeout_keep_alive": settings.keep_alive_timeout,
        "limit_concurrency": settings.max_connections,
        "h11_max_incomplete_event_size": MAX_HEADER_BYTES,
    }


class BackgroundServer:
    """Run an ASGI app under uvicorn in a daemon thread (tests, benchmarks, embedding).

    ``port=0`` picks a free port; :attr:`url` is known once the context is entered. An app
    from :func:`create_app` gets its service's connection limits (:func:`server_config`)
    unless ``config`` says otherwise.
    """

    def __init__(self, app: ASGIApp, host: str = "127.0.0.1", port: int = 0, **config: Any) -> None:
        import threading

        import uvicorn

        service = getattr(getattr(app, "state", None), "service", None)
        if isinstance(service, AuditService):
            for key, value in server_config(service.settings).items():
                config.setdefault(key, value)
        config.setdefault("log_level", "warning")
        self.server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, **config))
        self.host = host
        self.port = port
        self._thread = threading.Thread(target=self.server.run, name="uvicorn", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> BackgroundServer:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the server did not start (see the log above)")
            time.sleep(0.01)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=10)


# --- command line -------------------------------------------------------------------------


_positive_int = int_at_least(1, "at least 1")
_count = int_at_least(0, "0 or more")


def _port(value: str) -> int:
    n = _count(value)
    if n > 65535:
        raise argparse.ArgumentTypeError(f"not a port number: {n}")
    return n


def _seconds(value: str) -> float:
    try:
        s = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not s > 0 or math.isinf(s):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {value}")
    return s


# Flags that are also configuration keys (mtaudit.config): a flag wins over every file.
_CONFIG_FLAGS = (
    "select",
    "ignore",
    "min_confidence",
    "fail_on",
    "fail_on_verdict",
    "fail_above",
    "mt",
    "lm",
    "model",
)


def settings_from_args(args: argparse.Namespace) -> ServeSettings:
    """The service's settings: limits from flags, audit defaults from the layered config.

    The audit defaults are what ``mtaudit scan -`` would use in the working folder: the
    user's file, the project's files, ``--config FILE``, then flags (see
    :mod:`mtaudit.config`). Baselines and review decisions are not applied: they record
    findings of scanned files, and a request is no file.

    Raises:
        ValueError: a bad config file (``path:line: ...``), flag or token file.
    """
    from mtaudit.config import ConfigResolver

    cli = {k: getattr(args, k) for k in _CONFIG_FLAGS if getattr(args, k) is not None}
    config = ConfigResolver(args.config, cli, isolated=args.isolated).for_file(None)
    for key in ("baseline", "decisions"):
        if getattr(config, key, None):
            _log().warning("%s from the configuration is not applied by mtaudit serve", key)
    options = _audit_options(
        select=config.select,
        ignore=config.ignore,
        min_confidence=config.min_confidence,
        fail_on=Severity.parse(config.fail_on),
        fail_above=config.fail_above,
        fail_on_verdict=parse_fail_on_verdict(config.fail_on_verdict),
        model=config.model,
        detector_options=config.detector_options(),
        mt=None if config.mt == "off" else config.mt,
        severity=tuple((p, Severity.parse(s)) for p, s in config.severity),
    )
    tokens: tuple[str, ...] = ()
    if args.token_file:
        try:
            tokens = load_tokens(args.token_file)
        except OSError as exc:
            raise ValueError(f"{args.token_file}: cannot read: {exc.strerror or exc}") from None
    return ServeSettings(
        options=options,
        tokens=tokens,
        max_body=args.max_body,
        timeout=args.timeout,
        concurrency=args.concurrency or _default_concurrency(),
        backlog=args.backlog,
        header_timeout=args.header_timeout,
        keep_alive_timeout=args.keep_alive_timeout,
        max_connections=args.max_connections,
    )


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``mtaudit serve`` on the CLI's subparsers."""
    parser = subparsers.add_parser(
        "serve",
        help="run the HTTP check service (POST /v1/audit)",
        description="Serve audits over HTTP for a CMS to call before publishing: "
        "POST /v1/audit, GET /healthz, GET /openapi.json. Models load once at start.",
        epilog="example:\n  mtaudit serve --port 8080 --token-file tokens.txt --fail-on warning\n"
        "  curl -s localhost:8080/v1/audit -H 'Authorization: Bearer TOKEN' \\\n"
        "       -H 'Content-Type: application/json' -d '{\"text\": \"...\"}'",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    net = parser.add_argument_group("network")
    net.add_argument("--host", default=DEFAULT_HOST, help=f"address (default: {DEFAULT_HOST})")
    net.add_argument(
        "--port", type=_port, default=DEFAULT_PORT, help=f"port (default: {DEFAULT_PORT})"
    )
    net.add_argument(
        "--token-file",
        metavar="FILE",
        default=None,
        help="require Authorization: Bearer TOKEN with a token from FILE (one a line); "
        "/healthz and /openapi.json stay open",
    )
    net.add_argument(
        "--log-level",
        choices=("critical", "error", "warning", "info", "debug"),
        default="info",
        help="server log level (default: info, which logs each request)",
    )
    lim = parser.add_argument_group("limits")
    lim.add_argument(
        "--max-body",
        type=_positive_int,
        default=DEFAULT_MAX_BODY,
        metavar="BYTES",
        help=f"largest request body (default: {DEFAULT_MAX_BODY}); larger -> 413",
    )
    lim.add_argument(
        "--timeout",
        type=_seconds,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"time budget of a request, queueing included (default: {DEFAULT_TIMEOUT:g}); "
        "over it -> 503 with Retry-After",
    )
    lim.add_argument(
        "--header-timeout",
        type=_seconds,
        default=DEFAULT_HEADER_TIMEOUT,
        metavar="SECONDS",
        help="close a connection whose request line and headers have not arrived within "
        f"SECONDS (default: {DEFAULT_HEADER_TIMEOUT:g})",
    )
    lim.add_argument(
        "--keep-alive-timeout",
        type=_seconds,
        default=DEFAULT_KEEP_ALIVE_TIMEOUT,
        metavar="SECONDS",
        help=f"close an idle keep-alive connection after SECONDS (default: "
        f"{DEFAULT_KEEP_ALIVE_TIMEOUT:g})",
    )
    lim.add_argument(
        "--max-connections",
        type=_positive_int,
        default=DEFAULT_MAX_CONNECTIONS,
        metavar="N",
        help=f"open connections over which requests get 503 at once (default: "
        f"{DEFAULT_MAX_CONNECTIONS})",
    )
    lim.add_argument(
        "--concurrency",
        type=_positive_int,
        default=None,
        metavar="N",
        help="audits at once, one worker thread and model copy each (default: CPUs)",
    )
    lim.add_argument(
        "--backlog",
        type=_count,
        default=None,
        metavar="N",
        help="requests that may wait for a worker (default: 4 x concurrency); more -> 503",
    )
    aud = parser.add_argument_group(
        "audit defaults (as for 'mtaudit scan -' in this folder; a request's config overrides)"
    )
    add_config_arguments(aud)
    aud.add_argument(
        "--select",
        type=csv_list,
        default=None,
        metavar="CODES",
        help="comma-separated code prefixes or categories to enable (default: all)",
    )
    aud.add_argument(
        "--ignore",
        type=csv_list,
        default=None,
        metavar="CODES",
        help="comma-separated code prefixes or categories to disable",
    )
    aud.add_argument(
        "--min-confidence",
        type=probability,
        default=None,
        metavar="P",
        help="drop findings below this confidence (0-1)",
    )
    aud.add_argument(
        "--fail-on",
        choices=("info", "warning", "error"),
        default=None,
        help="pass=false on a finding at or above this severity (default: error)",
    )
    aud.add_argument(
        "--fail-on-verdict",
        choices=FAIL_ON_VERDICT_CHOICES,
        default=None,
        help="pass=false on a verdict at or above this one (default: machine-translated; "
        "none: verdicts never fail)",
    )
    aud.add_argument(
        "--model",
        choices=("default", "deep"),
        default=None,
        help="statistical model: default, or deep (SmolLM2 features; needs 'make neural')",
    )
    aud.add_argument(
        "--fail-above",
        type=probability,
        default=None,
        metavar="P",
        help="pass=false when mt_probability is at or above P",
    )
    aud.add_argument(
        "--mt",
        default=None,
        metavar="ENGINE",
        help="back-translation engine: auto (default), dictionary, apertium, marian[:PATH], off",
    )
    aud.add_argument(
        "--lm", default=None, metavar="SPEC", help="fluency LM: ngram (default), transformers"
    )
    parser.set_defaults(func=cmd_serve)
    return parser


def cmd_serve(args: argparse.Namespace) -> int:
    """Load the models, then serve until interrupted. Exit 2 on a configuration error."""
    import logging

    try:
        import starlette  # noqa: F401
        import uvicorn
    except ImportError as exc:
        print(
            f"mtaudit: error: 'mtaudit serve' needs {exc.name}: pip install starlette uvicorn",
            file=sys.stderr,
        )
        return 2

    from mtaudit.fluency import FluencyUnavailable
    from mtaudit.lexicons import LexiconError
    from mtaudit.model import ExitCode

    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s:  %(message)s")
    try:
        settings = settings_from_args(args)
        service = AuditService(settings)
        started = time.perf_counter()
        service.start()  # a missing LM or a bad lexicon fails here, before listening
    except (ValueError, LexiconError, FluencyUnavailable) as exc:
        print(f"mtaudit: error: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    _log().info(
        "mtaudit %s ready in %.1f s: %d worker(s), %s",
        __version__,
        time.perf_counter() - started,
        settings.concurrency,
        "bearer tokens required" if settings.tokens else "no authorization (--token-file)",
    )
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(service, close_on_shutdown=True),
            host=args.host,
            port=args.port,
            log_level=args.log_level,
            server_header=False,
            timeout_graceful_shutdown=int(math.ceil(settings.timeout)),
            **server_config(settings),
        )
    )
    # On SIGINT/SIGTERM uvicorn finishes in-flight requests, runs the lifespan shutdown
    # (which closes the service), then re-raises the signal: Ctrl-C reaches mtaudit's main
    # as KeyboardInterrupt (exit 130), SIGTERM ends the process as SIGTERM does.
    try:
        server.run()
    except SystemExit:  # uvicorn exits 1 when it cannot bind; 1 means "findings" here
        return ExitCode.USAGE
    finally:
        service.close()
    return ExitCode.OK if server.started else ExitCode.USAGE
