"""The HTTP contract as pydantic models: what a request may hold, what a response holds.

The request models *are* the validator (:mod:`mtaudit.server.validation` runs them, strict:
no coercion, no unknown key) and the OpenAPI document's schemas are generated from these
same classes (:mod:`mtaudit.server.openapi`), so the two cannot drift. The report-v2
document and finding schemas are not repeated here: the ``AuditResult`` schema refers to
``mtaudit/schema/report-v2.schema.json``, the CLI's JSON contract.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any, Literal, Optional, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    model_validator,
)
from pydantic_core import PydanticCustomError, core_schema

from mtaudit.model import (
    CATEGORIES,
    DEFAULT_FAIL_ON_VERDICT,
    FAIL_ON_VERDICT_CHOICES,
    Severity,
)

if TYPE_CHECKING:
    from mtaudit.pipeline import AuditOptions

MAX_TOKENS = 64
MAX_ID_CHARS = 256
#: The document id (and path) of a request that names none.
DOCUMENT_PATH = "<request>"
INPUT_KEYS = ("text", "html", "markdown")

#: Machine-readable ``error`` values, one per failure kind (the ``detail`` says more).
ErrorCode = Literal[
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
]
ERROR_CODES: tuple[str, ...] = get_args(ErrorCode)
FailOn = Literal["info", "warning", "error"]
# A tuple subscript is the same Literal as its items spelled out (one source of truth).
FailOnVerdict = Literal[FAIL_ON_VERDICT_CHOICES]  # type: ignore[valid-type]


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


def _known_token(value: str) -> str:
    if value not in selection_tokens():
        raise PydanticCustomError("selection_token", "not a code prefix or a category")
    return value


class _TokenEnum:
    """The JSON schema of a select/ignore entry: the enum of valid tokens, built when the
    schema is (the detectors load lazily; importing this module must not load them)."""

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        return {"enum": list(selection_tokens())}


SelectionToken = Annotated[str, AfterValidator(_known_token), _TokenEnum()]
Probability = Annotated[float, Field(ge=0, le=1)]
_STRICT = ConfigDict(extra="forbid", strict=True)


class AuditConfig(BaseModel):
    """Overrides of the server's settings for this request; each key replaces the server's
    value (it may tighten or loosen the gate)."""

    model_config = _STRICT

    # A key left out keeps the server's value: no defaults here (see validation.apply).
    select: list[SelectionToken] = Field(
        None,
        min_length=1,
        max_length=MAX_TOKENS,
        description="code prefixes (MT4, MT401) or categories to enable (replaces the "
        "server's selection)",
    )
    ignore: list[SelectionToken] = Field(
        None,
        max_length=MAX_TOKENS,
        description="code prefixes or categories to disable; the most specific entry of "
        "select/ignore wins",
    )
    min_confidence: Probability = Field(None, description="drop findings below this")
    fail_on: FailOn = Field(None, description="fail on a finding at or above this severity")
    fail_above: Optional[Probability] = Field(  # noqa: UP045 (a nullable field, not a union)
        None, description="fail when mt_probability is at or above this (null: never)"
    )
    fail_on_verdict: FailOnVerdict = Field(
        None,
        description="fail on a verdict at or above this one (default: machine-translated; "
        "none: verdicts never fail)",
    )


class AuditRequest(BaseModel):
    """One article: exactly one of text, html or markdown."""

    model_config = ConfigDict(
        **_STRICT,
        json_schema_extra={"oneOf": [{"required": [key]} for key in INPUT_KEYS]},
    )

    text: str = Field(None, description="plain text")
    html: str = Field(
        None,
        description="an HTML page or fragment; the article text is extracted and findings' "
        "offsets refer to that text (returned as `text`)",
    )
    markdown: str = Field(None, description="Markdown; markup is stripped, line/column refer to it")
    id: str = Field(
        DOCUMENT_PATH,
        min_length=1,
        max_length=MAX_ID_CHARS,
        description=f"echoed back as the document id (default: {DOCUMENT_PATH})",
    )
    config: AuditConfig = Field(None)

    @model_validator(mode="after")
    def _one_input(self) -> AuditRequest:
        given = [key for key in INPUT_KEYS if key in self.model_fields_set]
        if len(given) != 1:
            raise PydanticCustomError(
                "one_input",
                "give exactly one of text, html or markdown{got}",
                {"got": f" (got {', '.join(given)})" if given else ""},
            )
        return self

    @property
    def format(self) -> str:
        """Which input was given: text, html or markdown."""
        return next(key for key in INPUT_KEYS if key in self.model_fields_set)


class AuditResult(BaseModel):
    """The report-v2 document object (as `mtaudit scan -f json` writes it, text included),
    plus the gate's result and the signature."""

    model_config = ConfigDict(
        extra="allow",  # the document's fields, as the report-v2 schema describes them
        populate_by_name=True,
        json_schema_extra=lambda schema: schema.update(
            {"allOf": [{"$ref": "#/components/schemas/Document"}]}
        ),
    )

    passed: bool = Field(
        alias="pass",
        description="false when the document fails the gate (fail_on / fail_on_verdict / "
        "fail_above), as exit status 1 of the CLI",
    )
    signature: str = Field(min_length=1)
    text: str
    format: str


class Error(BaseModel):
    """Every refusal: a machine code and a sentence."""

    model_config = ConfigDict(extra="forbid")

    error: ErrorCode
    detail: str = Field(min_length=1)


class Limits(BaseModel):
    max_body: int = Field(ge=1)
    timeout: float = Field(gt=0)
    backlog: int = Field(ge=0)


class MtHealth(BaseModel):
    """The back-translation engine; `fallback` names the engine that stood in after it
    failed, null if it never did."""

    engine: str
    fallback: Optional[str]  # noqa: UP045
    signature: str


class Health(BaseModel):
    """``GET /healthz``: liveness, the version signature and the load."""

    status: Literal["ok"]
    signature: str = Field(min_length=1)
    version: str
    auth: bool
    workers: int = Field(ge=1)
    busy: int = Field(ge=0)
    queued: int = Field(ge=0)
    abandoned: int = Field(
        ge=0, description="timed-out audits still running (their workers are busy)"
    )
    limits: Limits
    defaults: AuditConfig
    counters: dict[str, int]
    mt: Optional[MtHealth] = Field(  # noqa: UP045
        description="the back-translation engine (null when off)"
    )


@dataclass(frozen=True)
class RequestConfig:
    """The per-request part of :class:`~mtaudit.pipeline.AuditOptions`: selection,
    threshold and the gate. Hashable: equivalent configs share one cached auditor.

    ``select``/``ignore`` hold normalised prefixes (``idiom`` -> ``MT1``).
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
        return dataclasses.replace(options, **dataclasses.asdict(self))

    def as_config(self) -> AuditConfig:
        """This config as the API spells it (``/healthz``'s ``defaults``); not validated:
        a config file may select a well-formed code that no rule has yet."""
        return AuditConfig.model_construct(
            select=list(self.select),
            ignore=list(self.ignore),
            min_confidence=self.min_confidence,
            fail_on=self.fail_on.label,
            fail_above=self.fail_above,
            fail_on_verdict=self.fail_on_verdict or "none",
        )

    def as_dict(self) -> dict[str, Any]:
        return self.as_config().model_dump(mode="json")
