"""``mtaudit serve``: an HTTP check service for CMSs that call a URL before publishing.

Routes (all responses are JSON; the OpenAPI 3.1 document is at ``GET /openapi.json``):

- ``POST /v1/audit`` ``{"text"|"html"|"markdown": str, "id"?: str, "config"?: {...}}`` ->
  the report-v2 document object of ``mtaudit scan -f json`` (text included, ``failed``) plus
  ``"pass"`` (the gate) and ``"signature"``.
- ``GET /healthz`` -> ``{"status": "ok", "signature": ..., load counters}``. It needs no
  token: load balancers probe it without credentials, and it reveals only versions and
  counts.
- ``GET /openapi.json`` -> the API description (also open: it is documentation).

The package, one concern a module:

- :mod:`.models`: the pydantic models of requests and responses; :mod:`.validation` runs
  them and words each refusal; :mod:`.openapi` generates the document from them.
- :mod:`.service`: worker threads, admission (an anyio ``CapacityLimiter``) and deadlines
  (``anyio.fail_after``); :func:`~.service.response_body` wraps the engine's per-document step.
- :mod:`.app`: the Starlette app (auth, content type, body limit, errors, security
  headers) and uvicorn's connection limits (the header timeout).
- :mod:`.settings`: plain settings; :mod:`.command`: ``add_parser`` and ``cmd_serve``.

Design, and why:

- **Workers.** Each of ``--concurrency`` workers is a thread that owns its auditors for
  life (see :mod:`.service`). Each loads its own models (~40 MB, ~0.6 s, done at start and
  warmed with a short audit so the first request is not slow); an auditor for a
  per-request config shares its worker's loaded context (an LRU of 8 per worker).
- **Concurrency default: the number of CPUs, not more.** Most of an audit holds the GIL,
  so threads buy fairness (a short article is not stuck behind a long one) and overlap
  the parts that release it (Apertium pipes, sqlite, rapidfuzz), not parallel speed:
  ``bench/bench_server.py`` on 2 CPUs serves ~40 req/s of 600-word articles with 1, 2
  or 4 workers alike. For more throughput, run one ``mtaudit serve`` per core behind a
  proxy.
- **Queueing.** A request that finds no idle worker waits in a FIFO queue of at most
  ``--backlog`` requests (default 4 x concurrency); beyond that it is refused at once with
  503 ``busy`` and ``Retry-After`` (shedding load early beats timing out late).
- **Time budget.** ``--timeout`` bounds a request from its arrival: reading the body
  (else 408), queueing and auditing (else 503 ``timeout`` with ``Retry-After``). A timed-out
  audit finishes in the background, its result discarded; its worker comes back then.
- **Connections.** A client has ``--header-timeout`` seconds to send its request line
  and headers (uvicorn has no such deadline: a slowloris client could hold thousands of
  connections open before any token is checked), an idle keep-alive connection
  ``--keep-alive-timeout``; over ``--max-connections`` uvicorn answers 503 at once, and
  headers over 16 KiB get 400.
- **Limits before work**, in the order of :mod:`.app`: token (401, body unread), content
  type (415), size (413, counted while streaming), JSON and validation (400), capacity
  (503). Validation errors are 400 with a machine ``error`` code (``bad_json``,
  ``invalid_request``, ``invalid_config``, ``unreadable_input``) and a ``detail``; no 422.
- **No reflected markup.** Every body is JSON with ``<>&`` escaped (:mod:`.errors`), plus
  ``X-Content-Type-Options: nosniff``.

Only :mod:`.command` loads with the package: the CLI imports it to register ``serve``, and
every other command should stay fast. The other names load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from mtaudit.server.command import add_parser, cmd_serve, settings_from_args

# name -> the module that defines it, imported on first access (PEP 562).
_LAZY = {
    "ApiError": "errors",
    "json_bytes": "errors",
    "RequestConfig": "models",
    "AuditJob": "validation",
    "parse_config": "validation",
    "parse_request": "validation",
    "ServeSettings": "settings",
    "load_tokens": "settings",
    "AuditService": "service",
    "response_body": "service",
    "create_app": "app",
    "server_config": "app",
    "openapi_document": "openapi",
}

__all__ = ["add_parser", "cmd_serve", "settings_from_args", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
