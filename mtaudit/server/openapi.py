"""The OpenAPI 3.1 document of ``mtaudit serve`` (served at ``GET /openapi.json``).

The schemas are generated from the pydantic models of :mod:`mtaudit.server.models`, the
same classes that validate requests, so the fuzz tests (schemathesis), which generate
requests from this document and check every response against it, test the validator
itself. The report-v2 document and finding schemas are read from
``mtaudit/schema/report-v2.schema.json``, the CLI's JSON contract. What is written here
is what a model cannot say: the three routes, their status codes and headers.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue, models_json_schema
from pydantic_core import core_schema

from mtaudit.server.models import AuditRequest, AuditResult, Error, Health

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema" / "report-v2.schema.json"
_REF = "#/components/schemas/"

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


class _Generator(GenerateJsonSchema):
    """pydantic's generator, minus what would mislead a client or a fuzzer: no
    ``default: null`` for a key that may be left out but not sent as null, and no titles
    repeating the field names."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        if schema.get("default") is None:
            return self.generate_inner(schema["schema"])
        return super().default_schema(schema)


@cache
def _report_defs() -> dict[str, Any]:
    """The report-v2 ``$defs`` (document, finding), with refs pointed at ``components``."""
    defs = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))["$defs"]
    text = json.dumps(defs).replace('"#/$defs/finding"', f'"{_REF}Finding"')
    return json.loads(text)


@cache
def _model_schemas() -> dict[str, Any]:
    """The components generated from the models (built once: the detectors' codes are in)."""
    models = [AuditRequest, AuditResult, Error, Health]
    _, top = models_json_schema(
        [(m, "validation") for m in models],
        ref_template=_REF + "{model}",
        schema_generator=_Generator,
    )
    return top["$defs"]


def schemas() -> dict[str, Any]:
    """Every component schema: the models', then the report-v2 document and finding."""
    defs = _report_defs()
    return {**_model_schemas(), "Document": defs["document"], "Finding": defs["finding"]}


def _json(schema: str, description: str, headers: dict[str, Any] | None = None) -> dict:
    out: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": _REF + schema}}},
    }
    if headers:
        out["headers"] = headers
    return out


def openapi_document(*, version: str, auth: bool, max_body: int, timeout: float) -> dict[str, Any]:
    """The OpenAPI 3.1 document for a server with these settings (auth shown only if on)."""
    audit_responses: dict[str, Any] = {
        "200": {
            **_json("AuditResult", "the audit; `pass` is the pre-publish gate"),
            "headers": {"Cache-Control": {"required": True, "schema": {"const": "no-store"}}},
        },
        "400": _json(
            "Error",
            "malformed JSON (`bad_json`), a body that is not an audit request "
            "(`invalid_request`: not an object, unknown key, not exactly one of "
            "text/html/markdown, bad id), a bad `config` (`invalid_config`), or HTML "
            "that cannot be parsed (`unreadable_input`)",
        ),
        "408": _json("Error", f"the body was not received within the time budget ({timeout:g} s)"),
        "413": _json("Error", f"the body is over {max_body} bytes (Content-Length or as streamed)"),
        "415": _json("Error", "the body is not application/json (UTF-8)"),
        "503": _json(
            "Error",
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
            "content": {"application/json": {"schema": {"$ref": _REF + "AuditRequest"}}},
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
                    "responses": {"200": _json("Health", "the service is up")},
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
        "components": {"schemas": copy.deepcopy(schemas())},
    }
    if auth:
        audit_responses["401"] = _json(
            "Error",
            "no `Authorization: Bearer TOKEN` header, or a token the server does not accept; "
            "nothing was read or audited",
            _WWW_AUTHENTICATE,
        )
        doc["components"]["securitySchemes"] = {"bearerAuth": {"type": "http", "scheme": "bearer"}}
        operation["security"] = [{"bearerAuth": []}]
    return doc
