"""Plain data objects that flow through the pipeline.

Nothing here does I/O or formats itself: ingest builds Documents, detectors yield
Findings, the pipeline wraps them in DocumentReports and a RunReport, and the
reporters in :mod:`mtaudit.report` read them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

SCHEMA_ID = "mtaudit/report-v2"
#: Report schemas that ``mtaudit show`` and ``mtaudit review`` read back.
READABLE_SCHEMAS: tuple[str, ...] = ("mtaudit/report-v1", SCHEMA_ID)

CATEGORIES: tuple[str, ...] = (
    "idiom",
    "calque",
    "untranslated",
    "punctuation",
    "boilerplate",
    "fluency",
)

SOURCE_LANGUAGES: tuple[str, ...] = ("es", "fr", "de", "it", "pt")

#: Document verdicts, most serious first (see :mod:`mtaudit.scoring`):
#: machine-translated (machine evidence past a threshold of measured precision), suspect
#: (machine evidence, but not enough), translated (translated, by anyone, and no machine
#: evidence), clean (reads as written in English).
VERDICTS: tuple[str, ...] = ("machine-translated", "suspect", "translated", "clean")


#: The evidence key that marks a baselined finding (serialised as ``"baselined": true``).
BASELINE_MARK = "baseline"

#: The gate's default verdict: fail on "machine-translated", never on "translated".
DEFAULT_FAIL_ON_VERDICT = "machine-translated"
#: ``--fail-on-verdict`` values: a verdict, or "none" (the gate ignores verdicts).
FAIL_ON_VERDICT_CHOICES: tuple[str, ...] = ("machine-translated", "suspect", "translated", "none")


def parse_fail_on_verdict(value: str | None) -> str | None:
    """``--fail-on-verdict`` / ``fail_on_verdict``: a verdict name, or None for "none"."""
    if value is None:
        return None
    value = value.strip().lower()
    if value not in FAIL_ON_VERDICT_CHOICES:
        raise ValueError(
            f"unknown verdict {value!r}; expected one of {', '.join(FAIL_ON_VERDICT_CHOICES)}"
        )
    return None if value == "none" else value


def verdict_at_least(verdict: str, level: str | None) -> bool:
    """Whether ``verdict`` is at least as serious as ``level`` (None: never)."""
    if level is None or verdict not in VERDICTS or level not in VERDICTS:
        return False
    return VERDICTS.index(verdict) <= VERDICTS.index(level)


class Severity(enum.IntEnum):
    """Alert level, ordered so that ``>=`` compares seriousness (as in vale)."""

    INFO = 1
    WARNING = 2
    ERROR = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, value: str | Severity) -> Severity:
        """Parse ``"info" | "warning" | "error"`` (case-insensitive)."""
        if isinstance(value, Severity):
            return value
        try:
            return cls[value.strip().upper()]
        except KeyError:
            raise ValueError(
                f"unknown severity {value!r}; expected one of info, warning, error"
            ) from None


class ExitCode(enum.IntEnum):
    """Process exit status of ``mtaudit`` — the pre-publish gate's contract.

    OK: nothing at or above ``--fail-on``.
    FINDINGS: at least one finding at or above ``--fail-on`` (or a document over ``--fail-above``).
    USAGE: a usage or config error, or an input that could not be read.
    """

    OK = 0
    FINDINGS = 1
    USAGE = 2


@dataclass(frozen=True)
class Span:
    """A half-open character range ``[start, end)`` into a document's text."""

    start: int
    end: int

    def text(self, source: str) -> str:
        return source[self.start : self.end]

    def __len__(self) -> int:
        return self.end - self.start


@dataclass
class Document:
    """One article to audit. ``text`` is what findings' offsets refer to."""

    id: str
    text: str
    path: str = ""
    format: str = "text"
    meta: dict[str, Any] = field(default_factory=dict)
    # Sorted (text_offset, source_offset) anchors when ``text`` was extracted from
    # markup (Markdown): between anchors the two advance together. Empty = identity.
    source_map: list[tuple[int, int]] = field(default_factory=list)

    def source_offset(self, offset: int) -> int:
        """Map an offset in ``text`` back to the original file (for line/column)."""
        if not self.source_map:
            return offset
        import bisect

        i = bisect.bisect_right(self.source_map, (offset, float("inf"))) - 1
        if i < 0:
            return offset
        text_at, source_at = self.source_map[i]
        return source_at + (offset - text_at)


@dataclass
class Finding:
    """One flagged span. ``text == document.text[start:end]`` always holds."""

    code: str
    category: str
    start: int
    end: int
    text: str
    message: str
    suggestion: str | None = None
    severity: Severity = Severity.WARNING
    confidence: float = 0.5
    evidence: dict[str, Any] = field(default_factory=dict)
    source_language: str | None = None
    #: the key decisions and SARIF know the finding by (set by the engine, see
    #: :mod:`mtaudit.known.fingerprint`); empty for a finding no engine finished
    fingerprint: str = field(default="", compare=False)

    @property
    def baselined(self) -> bool:
        """Whether the finding is in the baseline: reported, but not a gate failure."""
        return bool(self.evidence.get(BASELINE_MARK))

    def __post_init__(self) -> None:
        if self.category not in CATEGORIES:
            raise ValueError(f"unknown category {self.category!r}")
        if not 0 <= self.start <= self.end:
            raise ValueError(f"bad span {self.start}..{self.end}")


@dataclass
class DocumentReport:
    """The audit of one document."""

    document: Document
    findings: list[Finding]
    #: probability that a machine translated the text (markers and the statistical model)
    mt_probability: float = 0.0
    verdict: str = "clean"
    source_language: str | None = None
    features: dict[str, float] = field(default_factory=dict)
    #: findings dropped because an editor dismissed them in ``mtaudit review``
    suppressed: int = 0
    #: probability that the text was translated from another language, by anyone
    translated_probability: float = 0.0
    #: why the verdict is what it is, most telling first ("2 literal idioms (es)", ...)
    reasons: list[str] = field(default_factory=list)
    #: inline suppressions that silenced nothing or could not be read: one dict each with
    #: ``comment``, ``line`` and, when unreadable, ``problem``
    unused_suppressions: list[dict[str, Any]] = field(default_factory=list)
    #: whether the document fails the pre-publish gate (the engine's last step; the gate
    #: options are not part of the audit, so a cached report gets it afresh)
    failed: bool = False


@dataclass
class InputError:
    """An input that could not be read; the run goes on without it."""

    path: str
    message: str


@dataclass
class Summary:
    """Run-level counts, accumulated as documents stream past (no document is kept)."""

    documents: int = 0
    errors: int = 0
    findings: int = 0
    by_category: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CATEGORIES, 0))
    by_severity: dict[str, int] = field(default_factory=lambda: {s.label: 0 for s in Severity})
    by_verdict: dict[str, int] = field(default_factory=lambda: dict.fromkeys(VERDICTS, 0))
    failed_documents: int = 0
    #: findings in the baseline (counted in ``findings`` too; they do not fail the gate)
    baselined: int = 0
    elapsed_s: float = 0.0
    #: the run's signature as it ended, when it differs from the one given to ``start``
    #: (a back-translation engine that failed mid-run and was stood in for)
    signature: str = ""

    def add(self, report: DocumentReport, failed: bool = False) -> None:
        self.documents += 1
        self.findings += len(report.findings)
        self.by_verdict[report.verdict] = self.by_verdict.get(report.verdict, 0) + 1
        self.failed_documents += int(failed)
        for f in report.findings:
            self.by_category[f.category] = self.by_category.get(f.category, 0) + 1
            self.by_severity[f.severity.label] += 1
            # (the baseline's mark; model cannot import mtaudit.known.baseline)
            self.baselined += bool(f.evidence.get("baseline"))


@dataclass
class RunReport:
    """Everything one scan produced, for API users who want it in memory.

    The CLI streams documents to reporters instead, so memory stays flat.
    """

    documents: list[DocumentReport]
    errors: list[InputError]
    signature: str
    summary: Summary = field(default_factory=Summary)
