"""The audit service: worker threads that own their auditors, admission and deadlines.

Auditing is CPU-bound and an :class:`~mtaudit.pipeline.Auditor` is not thread-safe
(per-auditor caches, an Apertium subprocess, an sqlite translation cache whose connection
only its opening thread may use). So each of ``concurrency`` workers is one dedicated
thread that builds its auditors, runs every audit on them and closes them.

Admission is an :class:`anyio.CapacityLimiter` with one token per worker: a request
borrows a token, takes an idle worker, and the token comes back only when that worker is
free again. Waiters queue in FIFO order, at most ``backlog`` of them (then 503 ``busy``);
the wait and the audit share the request's deadline (``anyio.fail_after``; then 503
``timeout``). A thread cannot be killed, so a timed-out audit finishes in the background
and keeps its token until it does: freeing the worker earlier would let a stream of slow
requests stack unbounded CPU work behind the bound.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import anyio

from mtaudit import __version__
from mtaudit.server.errors import ApiError, json_bytes
from mtaudit.server.models import DOCUMENT_PATH, AuditResult, Health, RequestConfig
from mtaudit.server.settings import BUSY_RETRY_AFTER, ServeSettings
from mtaudit.server.validation import AuditJob

if TYPE_CHECKING:
    from mtaudit.model import Document
    from mtaudit.pipeline import AuditOptions, Auditor

__all__ = ["AuditService", "response_body"]

_log = logging.getLogger("mtaudit.server")

# A short, always-built warm-up article: touches every lazily built index (idiom, calque,
# untranslated, fluency, scorer) so a worker's first real request is not 0.6 s slower.
_WARMUP_TEXT = (
    "The government presents itself with one of lime and another of sand before the talks. "
    "The aforementioned sources said on Monday that the minister would travel to Geneva, "
    '"even if we prefer to defuse [esta crisis] through diplomacy", ”said the envoy.'
)

_COUNTERS = (
    "requests",
    "unauthorized",
    "bodies_read",
    "bad_requests",
    "too_large",
    "audited",
    "busy",
    "timeouts",
    "errors",
)


def response_body(auditor: Auditor, document: Document) -> dict[str, Any]:
    """The response body of ``POST /v1/audit``, as a dict: the engine's complete report
    (:func:`mtaudit.pipeline.audit_document`, the step every front end calls) as the
    report-v2 document object, with ``failed``, ``pass`` and ``signature``."""
    from mtaudit.pipeline import audit_document
    from mtaudit.report.serialize import document_dict

    report = audit_document(auditor, document)
    failed = report.failed
    data = document_dict(report, include_text=True)
    data.update({"failed": failed, "pass": not failed, "signature": auditor.signature})
    AuditResult.model_validate(data)  # the response model's fields (the rest: report-v2)
    return data


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
        """(worker thread) The auditor for ``config``, derived and cached on first use.

        A derived auditor shares the base one's loaded context (lexicons, LM) and engine
        process, so a per-request config costs a few detector objects; safe because both
        are only ever used from this one thread.
        """
        from mtaudit.pipeline import Auditor

        assert self.base is not None
        if config == self.default_config:
            return self.base
        auditor = self._derived.get(config)
        if auditor is None:
            auditor = Auditor(
                config.apply(self.options),
                context=self.base.context,
                backtranslator=self.base.backtranslator,
                results=self.base.results,  # one result cache connection per worker
            )
            self._derived[config] = auditor
            if len(self._derived) > self.cache_size:
                self._derived.popitem(last=False)  # shares base's resources: nothing to close
        else:
            self._derived.move_to_end(config)
        return auditor

    def run(self, job: AuditJob) -> bytes:
        """(worker thread) Build the document, audit it, encode the response body."""
        from mtaudit.ingest import make_document

        try:
            document = make_document(job.source, DOCUMENT_PATH, job.fmt, job.doc_id)
        except ValueError as exc:  # markup that cannot be parsed at all
            raise ApiError(
                400, "unreadable_input", f"cannot read the {job.fmt}: {str(exc)[:120]}"
            ) from None
        if self.before_audit is not None:
            self.before_audit(document)
        return json_bytes(response_body(self.auditor(job.config), document))

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
        # One token per worker; a token is held from admission until the worker is idle.
        self._limiter = anyio.CapacityLimiter(settings.concurrency)
        self._idle: list[_Worker] = []
        self._running = 0
        self._abandoned: set[asyncio.Future[bytes]] = set()
        self._closed = False
        self.counters: dict[str, int] = dict.fromkeys(_COUNTERS, 0)

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
                _log.warning("worker %d did not close cleanly: %s", w.index, exc)
            w.executor.shutdown(wait=False)

    def _timeout(self, stage: str) -> ApiError:
        self.counters["timeouts"] += 1
        return ApiError(
            503,
            "timeout",
            f"the request took over the {self.settings.timeout:g} s budget ({stage})",
            {"Retry-After": str(self.settings.retry_after)},
        )

    def _finished(self, worker: _Worker, token: object, fut: asyncio.Future[bytes]) -> None:
        """Done-callback of every audit, answered or abandoned: the worker is free again."""
        self._running -= 1
        abandoned = fut in self._abandoned
        self._abandoned.discard(fut)
        exc = None if fut.cancelled() else fut.exception()  # retrieved: no asyncio warning
        if abandoned and exc is not None and not isinstance(exc, ApiError):
            # Nobody awaits this one any more; an answered failure is logged by uvicorn.
            _log.error("a timed-out audit failed", exc_info=exc)
        self._idle.append(worker)  # before the token: a token always finds a worker
        self._limiter.release_on_behalf_of(token)

    async def audit(self, job: AuditJob, deadline: float) -> bytes:
        """Audit ``job`` on a worker by ``deadline`` (``anyio.current_time()`` clock); the
        response body.

        Raises:
            ApiError: 503 busy/timeout, 400 unreadable_input.
        """
        limiter = self._limiter
        if limiter.available_tokens < 1 and limiter.statistics().tasks_waiting >= (
            self.settings.backlog or 0
        ):
            self.counters["busy"] += 1
            raise ApiError(
                503,
                "busy",
                f"all {len(self._workers)} workers are busy and "
                f"{limiter.statistics().tasks_waiting} requests are waiting; "
                "try again shortly",
                {"Retry-After": str(BUSY_RETRY_AFTER)},
            )
        token = object()  # the borrower: this audit, until its worker is free
        try:
            with anyio.fail_after(max(0.0, deadline - anyio.current_time())):
                await limiter.acquire_on_behalf_of(token)
        except TimeoutError:
            raise self._timeout("waiting for a worker") from None
        worker = self._idle.pop()
        self._running += 1
        fut = asyncio.wrap_future(worker.submit(worker.run, job))
        fut.add_done_callback(lambda f: self._finished(worker, token, f))
        try:
            # shield: on timeout stop waiting, but let the audit end (threads can't be killed)
            with anyio.fail_after(max(0.0, deadline - anyio.current_time())):
                body = await asyncio.shield(fut)
        except TimeoutError:
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

    def health(self) -> Health:
        """``GET /healthz``'s body."""
        from mtaudit.backtranslate import with_fallback

        mt = self._mt_health()
        return Health(
            status="ok",
            signature=with_fallback(self.signature, mt and mt["fallback"]),
            mt=mt,
            version=__version__,
            auth=bool(self.settings.tokens),
            workers=len(self._workers),
            busy=self._running,
            queued=self._limiter.statistics().tasks_waiting,
            abandoned=len(self._abandoned),
            limits={
                "max_body": self.settings.max_body,
                "timeout": self.settings.timeout,
                "backlog": self.settings.backlog or 0,
            },
            defaults=self.defaults.as_config(),
            counters=dict(self.counters),
        )
