"""The service's JSON: the error every refusal raises, and the one encoder of every body.

Every response, errors included, is ``application/json`` with ``<``, ``>`` and ``&`` (and
the JavaScript line separators) written as ``\\u003c``/``\\u003e``/``\\u0026``: the same JSON
values, but no byte of a response can open a tag or an entity, even if a client pastes it
into a page. Error details quote input only as a short JSON-encoded excerpt.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

_JSON_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}
_JSON_UNSAFE = re.compile("[<>&\u2028\u2029]")


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

    def body(self) -> bytes:
        """The response body (the ``Error`` schema of the OpenAPI document)."""
        return json_bytes({"error": self.code, "detail": self.detail})


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


def excerpt(value: str, limit: int = 40) -> str:
    """A short JSON-encoded quote of user input, for error details."""
    return json.dumps(value if len(value) <= limit else value[:limit] + "…")


def type_name(value: Any) -> str:
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
