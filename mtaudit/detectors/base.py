"""Detector base class, rule metadata and the shared scan context.

A detector owns one code prefix (``MT4`` for punctuation, ...) and one category, and
documents each code it can emit as a :class:`Rule` — that metadata is what
``mtaudit rules`` lists and ``mtaudit explain`` prints.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from mtaudit.model import Document, Finding, Severity
from mtaudit.suggest import fit_replacement

if TYPE_CHECKING:
    from mtaudit.segment import Segmentation

_D = TypeVar("_D", bound="Detector")


@dataclass(frozen=True)
class Rule:
    """One finding code and its documentation (the text behind ``mtaudit explain``)."""

    code: str
    name: str
    category: str
    summary: str
    why: str
    example: str
    fix: str
    severity: Severity = Severity.WARNING
    #: ``--fix`` applies this rule's exact suggestions without ``--unsafe-fixes``: the
    #: replacement never needs an editor's judgement (spacing, deleting boilerplate, a
    #: fixed newsroom phrase)
    fix_safe: bool = False


@dataclass
class Context:
    """What detectors share during a scan: options, lexicons and loaded models.

    Heavy resources are loaded lazily the first time a detector asks for them and then
    reused for every document of the run.
    """

    options: dict[str, Any] = field(default_factory=dict)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    def resource(self, key: str, factory: Any) -> Any:
        """Return the resource cached under ``key``, building it with ``factory()`` once."""
        if key not in self._cache:
            self._cache[key] = factory()
        return self._cache[key]

    def loaded(self, key: str, default: Any = None) -> Any:
        """The resource under ``key`` if it was built already, else ``default``.

        Never builds it: for closing what a scan started (an engine that was never loaded
        must not be started just to be stopped) and for tests that check reuse.
        """
        return self._cache.get(key, default)


class Detector:
    """Base class: subclasses set the class attributes and implement :meth:`detect`."""

    prefix: ClassVar[str]
    category: ClassVar[str]
    rules: ClassVar[tuple[Rule, ...]]

    def __init__(self, context: Context, enabled_codes: Iterable[str] | None = None) -> None:
        self.context = context
        #: The rules the scan wants (None: all); lets a detector skip work nobody reads.
        self.enabled_codes = None if enabled_codes is None else frozenset(enabled_codes)

    def wants(self, code: str) -> bool:
        """Whether rule ``code`` is enabled for this scan."""
        return self.enabled_codes is None or code in self.enabled_codes

    def detect(self, document: Document, segments: Segmentation) -> Iterator[Finding]:
        """Yield findings for ``document``; ``segments`` holds its paragraphs/sentences."""
        raise NotImplementedError

    def preload(self) -> None:
        """Load lexicons/models now (default: nothing); errors raise here, not mid-scan."""

    def model_signature(self) -> str | None:
        """The version of any model this detector uses, for the report signature."""
        return None

    def close(self) -> None:
        """Stop any engine process the detector started (default: none). It may be used
        again afterwards: engines restart on demand."""

    def __enter__(self: _D) -> _D:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def detect_with_features(
        self, document: Document, segments: Segmentation
    ) -> tuple[list[Finding], dict[str, float]]:
        """Findings plus document-level features for the scorer (none by default).

        Detectors that compute per-document statistics anyway (fluency) override this so
        the work is done once.
        """
        return list(self.detect(document, segments)), {}

    @cached_property
    def rule_by_code(self) -> dict[str, Rule]:
        return {r.code: r for r in self.rules}

    def finding(
        self,
        code: str,
        document: Document,
        start: int,
        end: int,
        message: str,
        suggestion: str | None = None,
        confidence: float = 0.5,
        evidence: dict[str, Any] | None = None,
        source_language: str | None = None,
        severity: Severity | None = None,
    ) -> Finding:
        """Build a Finding for one of this detector's rules, with its default severity.

        ``suggestion`` is replacement text for ``document.text[start:end]`` (None: no
        replacement to offer; advice belongs in ``message``); it is fitted to its position
        here (:func:`mtaudit.suggest.fit_replacement`): no word repeated from around the
        span, a capital at a sentence start and none on a common word inside a sentence.
        """
        rule = self.rule_by_code[code]
        if suggestion:
            suggestion = fit_replacement(document.text, start, end, suggestion)
        return Finding(
            code=code,
            category=rule.category,
            start=start,
            end=end,
            text=document.text[start:end],
            message=message,
            suggestion=suggestion,
            severity=severity if severity is not None else rule.severity,
            confidence=round(max(0.0, min(1.0, confidence)), 3),
            evidence=evidence or {},
            source_language=source_language,
        )
