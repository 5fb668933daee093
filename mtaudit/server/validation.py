"""``POST /v1/audit`` bodies: JSON parsed, validated by the pydantic models, and every
refusal worded as one sentence that names the key (400, never 422).

JSON is parsed by the standard library, not pydantic, so that ``NaN``, a 5000-digit number
or deep nesting get a ``bad_json`` message of their own; the models then validate the
parsed value strictly (no coercion: ``"0.5"`` is not a number, ``true`` is not 1).
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from mtaudit.model import FAIL_ON_VERDICT_CHOICES, Severity, parse_fail_on_verdict
from mtaudit.server.errors import ApiError, excerpt, type_name
from mtaudit.server.models import (
    MAX_ID_CHARS,
    MAX_TOKENS,
    AuditConfig,
    AuditRequest,
    RequestConfig,
)

__all__ = ["AuditJob", "parse_config", "parse_request"]

_SURROGATE = re.compile("[\ud800-\udfff]")
_CONFIG_KEYS = tuple(AuditConfig.model_fields)
_CHOICES = {
    "fail_on": "info, warning or error",
    "fail_on_verdict": ", ".join(FAIL_ON_VERDICT_CHOICES),
}


@dataclass(frozen=True)
class AuditJob:
    """A validated audit request: what a worker needs to build and audit the document."""

    fmt: str
    source: str
    doc_id: str
    config: RequestConfig


def parse_request(body: bytes, base: RequestConfig) -> AuditJob:
    """Parse and validate a ``POST /v1/audit`` body; ``config`` applies over ``base``.

    Raises:
        ApiError: 400 ``bad_json``, ``invalid_request`` or ``invalid_config``.
    """
    data = _load_json(body)
    if isinstance(data, dict):
        # JSON may carry lone surrogates ("\ud800"): they cannot be encoded in the response,
        # nor measured by pydantic. One replacement character each keeps every offset.
        for key, value in data.items():
            if isinstance(value, str):
                data[key] = _SURROGATE.sub("\ufffd", value)
    try:
        request = AuditRequest.model_validate(data)
    except ValidationError as exc:
        error = _first(exc.errors())
        code = "invalid_config" if error["loc"][:1] == ("config",) else "invalid_request"
        raise ApiError(400, code, _message(error)) from None
    config = base if request.config is None else _apply(request.config, base)
    return AuditJob(request.format, getattr(request, request.format), request.id, config)


def parse_config(raw: Any, base: RequestConfig, where: str = "config") -> RequestConfig:
    """Validate a ``config`` object and apply it over ``base``.

    Raises:
        ValueError: an unknown key or a bad value, with a message naming the key.
    """
    try:
        config = AuditConfig.model_validate(raw)
    except ValidationError as exc:
        error = _first(exc.errors())
        raise ValueError(_message({**error, "loc": (where, *error["loc"])})) from None
    return _apply(config, base)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _load_json(body: bytes) -> Any:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(400, "bad_json", f"the body is not UTF-8 (byte {exc.start})") from None
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise ApiError(
            400, "bad_json", f"malformed JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except (ValueError, RecursionError) as exc:  # NaN, a 5000-digit number, deep nesting
        reason = str(exc) if isinstance(exc, ValueError) else "nested too deeply"
        raise ApiError(400, "bad_json", f"malformed JSON: {reason[:120]}") from None


def _apply(config: AuditConfig, base: RequestConfig) -> RequestConfig:
    """``base`` with the keys the request gave (a key left out keeps the server's value)."""
    from mtaudit.detectors import Selection

    changes: dict[str, Any] = {}
    for key in config.model_fields_set:
        value = getattr(config, key)
        if key in ("select", "ignore"):
            # Normalised (idiom -> MT1) so that equivalent configs share a cached auditor.
            value = tuple(p for token in value for p in Selection.build([token], None).select)
        elif key == "fail_on":
            value = Severity.parse(value)
        elif key == "fail_on_verdict":
            value = parse_fail_on_verdict(value)
        elif value is not None:
            value = float(value)
        changes[key] = value
    return dataclasses.replace(base, **changes)


def _first(errors: list[ErrorDetails]) -> ErrorDetails:
    """The error to report: the request's own keys before its config's, and an unknown
    key before a bad value (a misspelt key explains the rest)."""
    return min(errors, key=lambda e: (e["loc"][:1] == ("config",), e["type"] != "extra_forbidden"))


def _where(loc: tuple[int | str, ...]) -> str:
    """``('config', 'select', 1)`` -> ``config.select[1]``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _message(error: ErrorDetails) -> str:
    """One sentence for a pydantic error, naming the key and never echoing much input."""
    loc, kind, value = error["loc"], error["type"], error["input"]
    where = _where(loc)
    field = next((str(p) for p in reversed(loc) if isinstance(p, str)), "")
    if kind == "model_type":
        return (
            f"{where} must be an object, not {type_name(value)}"
            if loc
            else f"the body must be a JSON object, not {type_name(value)}"
        )
    if kind == "extra_forbidden":
        parent = _where(loc[:-1])
        if not parent:
            return (
                f"unknown key {excerpt(str(loc[-1]))}; expected one of text, html, markdown, "
                "and optionally id, config"
            )
        return f"unknown key {excerpt(str(loc[-1]))} in {parent}; expected: " + ", ".join(
            _CONFIG_KEYS
        )
    if kind == "one_input":
        return error["msg"]
    if field == "id" and kind.startswith("string"):
        return f"id must be a string of 1 to {MAX_ID_CHARS} chars"
    if kind == "string_type":
        return f"{where} must be a string, not {type_name(value)}"
    if kind == "selection_token":
        return (
            f"{where} = {excerpt(str(value))} is not a code prefix (MT4, MT401; "
            "'mtaudit rules' lists the codes) or a category (idiom, calque, "
            "untranslated, punctuation, boilerplate, fluency)"
        )
    if kind == "list_type":
        return f"{where} must be an array of code prefixes or categories"
    if kind in ("too_short", "too_long"):
        return f"{where} must have {1 if field == 'select' else 0} to {MAX_TOKENS} entries"
    if kind == "literal_error":
        shown = excerpt(value) if isinstance(value, str) else type_name(value)
        return f"{where} must be {_CHOICES.get(field, error['msg'])}, not {shown}"
    if kind in ("greater_than_equal", "less_than_equal") or (
        kind == "float_type" and isinstance(value, int) and not isinstance(value, bool)
    ):  # an integer too large for a float is out of range too
        return f"{where} must be between 0 and 1"
    if kind == "float_type":
        nullable = " or null" if field == "fail_above" else ""
        return f"{where} must be a number from 0 to 1{nullable}, not {type_name(value)}"
    return f"{where or 'the body'}: {error['msg']}"
