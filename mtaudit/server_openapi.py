"""The OpenAPI 3.1 document of ``mtaudit serve`` (served at ``GET /openapi.json``).

Hand-written, because the service is three routes and its contract must be exact: the
fuzz tests (schemathesis) generate requests from it and check every response against it.
The document and finding schemas are not repeated here: they are read from
``mtaudit/schema/report-v2.schema.json``, the CLI's JSON contract, so the two cannot drift.

The request schema is the validator's specification: :mod:`mtaudit.server` accepts exactly
what it describes (``additionalProperties: false`` everywhere, the same token pattern).
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

from mtaudit.model import CATEGORIES

SCHEMA_FILE = Path(__file__).resolve().parent / "schema" / "report-v2.schema.json"

MAX_TOKENS = 64
MAX_ID_CHARS = 256

#: Machine-readable ``error`` values, one per failure kind (the ``detail`` says more).
ERROR_CODES = (
    "bad_json",
    "invalid_request",
    "invalid_config",
    "unreadable_input",
    "unauthorized",
    "not_found",
    "method_not_allowed",
    "request_timeout",
    "payload_too_large",
    "unsupported_media_type",
    "internal_error",
    "busy",
    "timeout",
)

_REF = "#/components/schemas/"


@cache
def selection_tokens() -> tuple[str, ...]:
    """Every valid select/ignore entry: the categories, then each prefix of each code.

    An enum, not a pattern: a well-formed prefix that names no code ("MT9") would select
    nothing and silently open the gate, so the server refuses it, and the schema says so.
    Codes are upper case, as ``mtaudit rules`` prints them.
    """
    from mtaudit.detectors import all_rules, detector_classes

    installed = {cls.category for cls in detector_classes()}
    prefixes = {r.code[:n] for r in all_rules() for n in range(2, len(r.code) + 1)}
    return (*(c for c in CATEGORIES if c in installed), *sorted(prefixes))


@cache
def _report_defs() -> dict[str, Any]:
    """The report-v2 ``$defs`` (document, finding), with refs pointed at ``components``."""
    defs = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))["$defs"]
    text = json.dumps(defs).replace('"#/$defs/finding"', f'"{_REF}Finding"')
    return json.loads(text)


def _error(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"{_REF}Error"}}},
    }
    if headers:
        out["headers"] = headers
    return out


_RETRY_AFTER = {
    "Retry-After": {
        "description": "seconds to wait before trying again",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    }
}
_WWW_AUTHENTICATE = {
    "WWW-Authenticate": {
        "description": 'the scheme to use: Bearer (RFC 6750), with error="invalid_token" '
        "when a token was sent and is not accepted",
        "required": True,
        "schema": {"type": "string", "pattern": "^Bearer"},
    }
}


def _schemas() -> dict[str, Any]:
    defs = _report_defs()
    token = {"enum": list(selection_tokens())}
    probability = {"type": "number", "minimum": 0, "maximum": 1}
    return {
        "AuditRequest": {
            "type": "object",
            "description": "One article: exactly one of text, html or markdown.",
            "properties": {
                "text": {"type": "string", "description": "plain text"},
                "html": {
                    "type": "string",
                    "description": "an HTML page or fragment; the article text is extracted "
                    "and findings' offsets refer to that text (returned as `text`)",
                },
                "markdown": {
                    "type": "string",
                    "description": "Markdown; markup is stripped, line/column refer to it",
                },
                "id": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": MAX_ID_CHARS,
                    "description": "echoed back as the document id (default: <request>)",
                },
                "config": {"$ref": f"{_REF}AuditConfig"},
            },
            "additionalProperties": False,
            "oneOf": [{"required": ["text"]}, {"required": ["html"]}, {"required": ["markdown"]}],
        },
        "AuditConfig": {
            "type": "object",
            "description": "Overrides of the server's settings for this request; each key "
            "replaces the server's value (it may tighten or loosen the gate).",
            "properties": {
                "select": {
                    "type": "array",
                    "items": token,
                    "minItems": 1,
                    "maxItems": MAX_TOKENS,
                    "description": "code prefixes (MT4, MT401) or categories to enable "
                    "(replaces the server's selection)",
                },
                "ignore": {
                    "type": "array",
                    "items": token,
                    "maxItems": MAX_TOKENS,
                    "description": "code prefixes or categories to disable; the most specific "
                    "entry of select/ignore wins",
                },
                "min_confidence": {**probability, "description": "drop findings below this"},
                "fail_on": {
                    "enum": ["info", "warning", "error"],
                    "description": "fail on a finding at or above this severity",
                },
                "fail_above": {
                    "type": ["number", "null"],
                    "minimum": 0,
                    "maximum": 1,
                    "description": "fail when mt_probability is at or above this (null: never)",
                },
                "fail_on_verdict": {
                    "enum": ["machine-translated", "suspect", "translated", "none"],
                    "description": "fail on a verdict at or above this one (default: "
                    "machine-translated; none: verdicts never fail)",
                },
            },
            "additionalProperties": False,
        },
        "AuditResult": {
            "description": "The report-v2 document object (as `mtaudit scan -f json` writes "
            "it, text included), plus the gate's result and the signature.",
            "allOf": [
                {"$ref": f"{_REF}Document"},
                {
                    "type": "object",
                    "required": ["pass", "signature", "text", "format"],
                    "properties": {
                        "pass": {
                            "type": "boolean",
                            "description": "false when the document fails the gate "
                            "(fail_on / fail_on_verdict / fail_above), as exit status 1 "
                            "of the CLI",
                        },
                        "signature": {"type": "string", "minLength": 1},
                    },
                },
            ],
        },
        "Document": defs["document"],
        "Finding": defs["finding"],
        "Error": {
            "type": "object",
            "required": ["error", "detail"],
            "properties": {
                "error": {"enum": list(ERROR_CODES)},
                "detail": {"type": "string", "minLength": 1},
            },
            "additionalProperties": False,
        },
        "Health": {
            "type": "object",
            "required": ["status", "signature", "version", "workers", "limits", "defaults"],
            "properties": {
                "status": {"const": "ok"},
                "signature": {"type": "string", "minLength": 1},
                "version": {"type": "string"},
                "auth": {"type": "boolean"},
                "workers": {"type": "integer", "minimum": 1},
                "busy": {"type": "integer", "minimum": 0},
                "queued": {"type": "integer", "minimum": 0},
                "abandoned": {
                    "type": "integer",
                    "minimum": 0,
                    "description": "timed-out audits still running (their workers are busy)",
                },
                "limits": {
                    "type": "object",
                    "required": ["max_body", "timeout", "backlog"],
                    "properties": {
                        "max_body": {"type": "integer", "minimum": 1},
                        "timeout": {"type": "number", "exclusiveMinimum": 0},
                        "backlog": {"type": "integer", "minimum": 0},
                    },
                },
                "defaults": {"$ref": f"{_REF}AuditConfig"},
                "counters": {"type": "object", "additionalProperties": {"type": "integer"}},
                "mt": {
                    "description": "the back-translation engine (null when off); `fallback` "
                    "names the engine that stood in after it failed, null if it never did",
                    "type": ["object", "null"],
                    "required": ["engine", "fallback", "signature"],
                    "properties": {
                        "engine": {"type": "string"},
                        "fallback": {"type": ["string", "null"]},
                        "signature": {"type": "string"},
                    },
                },
            },
        },
    }


def openapi_document(*, version: str, auth: bool, max_body: int, timeout: float) -> dict[str, Any]:
    """The OpenAPI 3.1 document for a server with these settings (auth shown only if on)."""
    audit_responses: dict[str, Any] = {
        "200": {
            "description": "the audit; `pass` is the pre-publish gate",
            "headers": {
                "Cache-Control": {"required": True, "schema": {"const": "no-store"}},
            },
            "content": {"application/json": {"schema": {"$ref": f"{_REF}AuditResult"}}},
        },
        "400": _error(
            "malformed JSON (`bad_json`), a body that is not an audit request "
            "(`invalid_request`: not an object, unknown key, not exactly one of "
            "text/html/markdown, bad id), a bad `config` (`invalid_config`), or HTML "
            "that cannot be parsed (`unreadable_input`)"
        ),
        "408": _error(f"the body was not received within the time budget ({timeout:g} s)"),
        "413": _error(f"the body is over {max_body} bytes (Content-Length or as streamed)"),
        "415": _error("the body is not application/json (UTF-8)"),
        "503": _error(
            "overloaded: no worker free and the queue full (`busy`), or the time budget "
            f"({timeout:g} s, queueing included) spent (`timeout`)",
            _RETRY_AFTER,
        ),
    }
    operation: dict[str, Any] = {
        "operationId": "audit",
        "summary": "Audit one article for machine translation",
        "description": "Runs the same pipeline as `mtaudit scan` on one article and returns "
        "its report-v2 document object with `pass`. Checks run in this order: "
        "authorization (401, body unread), content type (415), size (413), time (408), "
        "JSON and request validation (400), capacity and time budget (503).",
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"{_REF}AuditRequest"}}},
        },
        "responses": audit_responses,
    }
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "mtaudit check service",
            "version": version,
            "description": "Finds machine-translated English news before it is published. "
            "Every response is JSON.",
        },
        "paths": {
            "/v1/audit": {"post": operation},
            "/healthz": {
                "get": {
                    "operationId": "health",
                    "summary": "Liveness, version signature, load (no authorization needed)",
                    "responses": {
                        "200": {
                            "description": "the service is up",
                            "content": {"application/json": {"schema": {"$ref": f"{_REF}Health"}}},
                        }
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document",
                    "responses": {
                        "200": {
                            "description": "the OpenAPI document",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                }
            },
        },
        "components": {"schemas": copy.deepcopy(_schemas())},
    }
    if auth:
        audit_responses["401"] = _error(
            "no `Authorization: Bearer TOKEN` header, or a token the server does not accept; "
            "nothing was read or audited",
            _WWW_AUTHENTICATE,
        )
        doc["components"]["securitySchemes"] = {"bearerAuth": {"type": "http", "scheme": "bearer"}}
        operation["security"] = [{"bearerAuth": []}]
    return doc
