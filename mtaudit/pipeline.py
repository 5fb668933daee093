"""The audit pipeline: segment -> detectors -> score, one document at a time.

:class:`Auditor` loads what detectors need once (lexicons, models) and is then applied to
any number of documents; :func:`scan` is the streaming generator the CLI and API use.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from mtaudit import __version__, lexicons, scoring
from mtaudit.detectors import Context, Selection, build_detectors
from mtaudit.ingest import IngestOptions, iter_inputs
from mtaudit.model import Document, DocumentReport, Finding, InputError, Severity
from mtaudit.segment import segment


@dataclass
class AuditOptions:
    """What to detect and how strict the gate is."""

    select: tuple[str, ...] = ("MT",)
    ignore: tuple[str, ...] = ()
    min_confidence: float = 0.0
    fail_on: Severity = Severity.ERROR
    fail_above: float | None = None
    detector_options: dict[str, Any] = field(default_factory=dict)
    #: back-translation engine spec (auto, dictionary, apertium, marian[:PATH]); None = off
    mt: str | None = None
    #: translation cache folder; default $MTAUDIT_CACHE_DIR or ~/.cache/mtaudit
    mt_cache_dir: str | None = None
    #: decisions from ``mtaudit review`` (fingerprint -> record); dismissed findings are
    #: dropped, edited suggestions replace the detector's
    decisions: dict[str, dict[str, Any]] = field(default_factory=dict)


class Auditor:
    """Runs the enabled detectors and the scorer over documents."""

    def __init__(self, options: AuditOptions | None = None) -> None:
        self.options = options or AuditOptions()
        self.selection = Selection.build(self.options.select, self.options.ignore)
        self.context = Context(dict(self.options.detector_options))
        self.detectors = build_detectors(self.context, self.selection)
        self.backtranslator = None
        if self.options.mt and self.options.mt != "off":
            from mtaudit.backtranslate import BackTranslator

            self.backtranslator = BackTranslator(
                self.options.mt, cache_dir=self.options.mt_cache_dir
            )

    @cached_property
    def _fluency_lm(self) -> str | None:
        """The fluency LM's signature: the scorer only uses LM features it was trained on."""
        return next((d.model_signature() for d in self.detectors if d.category == "fluency"), None)

    def close(self) -> None:
        """Stop engine subprocesses (Apertium) and flush the translation cache."""
        if self.backtranslator is not None:
            self.backtranslator.close()

    def preload(self) -> None:
        """Load every detector's resources now, so configuration errors surface early."""
        for det in self.detectors:
            det.preload()

    @property
    def signature(self) -> str:
        """Reproducibility signature (as sacrebleu's): tool, lexicons, scorer, models."""
        enabled = ",".join(d.prefix for d in self.detectors) or "none"
        parts = [
            f"mtaudit:{__version__}",
            f"lexicons:{lexicons.signature()}",
            f"scorer:{scoring.scorer_version()}",
            f"detectors:{enabled}",
        ]
        parts += [sig for det in self.detectors if (sig := det.model_signature())]
        if self.backtranslator is not None:
            parts.append(f"mt:{self.backtranslator.signature}")
        return "|".join(parts)

    def audit(self, document: Document) -> DocumentReport:
        """Audit one document."""
        findings: list[Finding] = []
        features: dict[str, float] = {}
        if document.text.strip():
            segments = segment(document.text)
            for det in self.detectors:
                found, feats = det.detect_with_features(document, segments)
                features.update(feats)
                findings.extend(f for f in found if self.selection.enabled(f.code))
            findings = _resolve_overlaps(findings)
            if self.backtranslator is not None:
                # Evidence may raise or lower confidence, so the threshold comes after it.
                self.backtranslator.annotate(document, findings, segments)
        findings = [f for f in findings if f.confidence >= self.options.min_confidence]
        suppressed = 0
        if self.options.decisions and findings:
            findings, suppressed = self._apply_decisions(document, findings)
        prob = scoring.mt_probability(
            findings, text=document.text, features=features, fluency_lm=self._fluency_lm
        )
        return DocumentReport(
            document=document,
            findings=findings,
            mt_probability=prob,
            verdict=scoring.verdict(prob),
            source_language=scoring.source_language(findings),
            features=features,
            suppressed=suppressed,
        )

    def _apply_decisions(
        self, document: Document, findings: list[Finding]
    ) -> tuple[list[Finding], int]:
        """Drop findings an editor dismissed; use the suggestions an editor wrote."""
        from mtaudit.review import finding_fingerprint

        probe = DocumentReport(document, findings)
        kept: list[Finding] = []
        for f in findings:
            decision = self.options.decisions.get(finding_fingerprint(probe, f))
            if decision is None:
                kept.append(f)
            elif decision.get("decision") == "dismiss":
                continue
            else:
                if decision.get("decision") == "edit":
                    f.suggestion = decision.get("suggestion")
                f.evidence["review"] = decision.get("decision")
                kept.append(f)
        return kept, len(findings) - len(kept)

    def fails(self, report: DocumentReport) -> bool:
        """Whether this document fails the pre-publish gate."""
        if any(f.severity >= self.options.fail_on for f in report.findings):
            return True
        limit = self.options.fail_above
        return limit is not None and report.mt_probability >= limit


# A finding inside a span already explained by a more specific category adds nothing:
# "pelos in the tongue" is a half-translated idiom, not also a separate stray word.
_SUBSUMED_BY = {"untranslated": ("idiom",), "fluency": ()}


def _resolve_overlaps(findings: list[Finding]) -> list[Finding]:
    """Keep the most confident of overlapping findings of one category; sort by offset.

    Findings contained in a finding of a category listed in ``_SUBSUMED_BY`` are dropped.
    """
    findings.sort(key=lambda f: (f.start, -f.confidence, f.code))
    kept: list[Finding] = []
    for f in findings:
        clash = next(
            (k for k in kept if k.category == f.category and k.start < f.end and f.start < k.end),
            None,
        )
        if clash is None:
            kept.append(f)
        elif f.confidence > clash.confidence:
            kept[kept.index(clash)] = f
    kept = [
        f
        for f in kept
        if not any(
            k.category in _SUBSUMED_BY.get(f.category, ()) and k.start <= f.start and f.end <= k.end
            for k in kept
        )
    ]
    kept.sort(key=lambda f: (f.start, f.end, f.code))
    return kept


def scan(
    paths: Iterable[str],
    auditor: Auditor | None = None,
    ingest: IngestOptions | None = None,
) -> Iterator[DocumentReport | InputError]:
    """Audit every input, yielding reports and input errors as they come."""
    owned = auditor is None
    auditor = auditor or Auditor()
    try:
        for item in iter_inputs(paths, ingest):
            if isinstance(item, InputError):
                yield item
            else:
                yield auditor.audit(item)
    finally:
        if owned:
            auditor.close()


def audit_text(
    text: str, doc_id: str = "<text>", fmt: str = "text", **options: Any
) -> DocumentReport:
    """Convenience API: audit one string (``fmt`` is text, markdown or html)."""
    from mtaudit.ingest import make_document

    return Auditor(AuditOptions(**options)).audit(make_document(text, doc_id, fmt, doc_id))
