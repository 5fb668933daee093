"""The ASGI app (Starlette) and the connection limits of the uvicorn server around it.

Limits before work. The order of checks is: token (401, the body is never read), content
type (415), ``Content-Length`` (413), then the body is streamed and counted (413 as soon as
it passes ``--max-body``, so a chunked upload cannot bypass it), JSON and validation (400),
capacity (503). Validation errors are all 400 with a machine ``error`` code and a
``detail`` sentence; 422 is not used. Every response is JSON (:mod:`.errors`) with
``X-Content-Type-Options: nosniff``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
from collections.abc import AsyncIterator, Sequence
from typing import Any

import anyio
import h11
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from mtaudit import __version__
from mtaudit.server.errors import ApiError, json_bytes
from mtaudit.server.openapi import openapi_document
from mtaudit.server.service import AuditService
from mtaudit.server.settings import MAX_HEADER_BYTES, ServeSettings
from mtaudit.server.validation import parse_request

__all__ = ["create_app", "header_timeout_protocol", "server_config"]


def json_response(
    body: bytes, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A response from already-encoded JSON (audits are encoded in the worker thread)."""
    return Response(body, status, headers, media_type="application/json")


def _authorize(request: Request, tokens: Sequence[str]) -> None:
    """Raise 401 unless the request carries one of ``tokens`` as a bearer token."""
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


_COUNTER = {401: "unauthorized", 413: "too_large"}


async def audit_endpoint(request: Request) -> Response:
    """``POST /v1/audit`` (see the module doc for the order of checks)."""
    service: AuditService = request.app.state.service
    settings = service.settings
    counters = service.counters
    deadline = anyio.current_time() + settings.timeout
    counters["requests"] += 1
    try:
        if settings.tokens:
            _authorize(request, settings.tokens)
        _check_content_type(request)
        try:
            with anyio.fail_after(settings.timeout):
                body = await _read_body(request, settings.max_body)
        except TimeoutError:
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


async def health_endpoint(request: Request) -> Response:
    """``GET /healthz``: open, so load balancers need no token."""
    health = request.app.state.service.health()
    return json_response(json_bytes(health.model_dump(mode="json")))


async def openapi_endpoint(request: Request) -> Response:
    """``GET /openapi.json``."""
    return json_response(request.app.state.openapi)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return json_response(exc.body(), exc.status, exc.headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    """Routing errors (404, 405) as JSON, keeping their headers (Allow)."""
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "invalid_request")
    detail = {404: "no such route", 405: "method not allowed on this route"}.get(
        exc.status_code, "bad request"
    )
    return await _api_error(
        request, ApiError(exc.status_code, code, detail, dict(exc.headers or {}))
    )


async def _internal_error(request: Request, exc: Exception) -> Response:
    # Starlette re-raises after this response, so uvicorn logs the traceback once.
    error = ApiError(500, "internal_error", "internal error; see the server log")
    return await _api_error(request, error)


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

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        if close_on_shutdown:
            await anyio.to_thread.run_sync(service.close)

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
    (A protocol callback is synchronous, hence the event loop's timer, not anyio's.)
    """

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
