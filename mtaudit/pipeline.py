"""The audit pipeline: segment -> detectors -> suppressions -> score, one document at a time.

:class:`Auditor` loads what detectors need once (lexicons, models) and is then applied to
any number of documents; :class:`mtaudit.auditors.AuditorPool` picks an Auditor per document when files
have different configurations; :func:`scan` is the streaming generator the CLI and API use.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

from mtaudit import __version__, lexicons, scoring
from mtaudit.analysis import Analysis, analyse
from mtaudit.detectors import Context, Selection, build_detectors
from mtaudit.ingest import IngestOptions, iter_inputs
from mtaudit.known import suppress
from mtaudit.known.baseline import KnownFindings
from mtaudit.known.fingerprint import finding_fingerprint
from mtaudit.model import (
    Document,
    DocumentReport,
    Finding,
    InputError,
    Severity,
    verdict_at_least,
)
from mtaudit.options import AuditOptions

if TYPE_CHECKING:
    from mtaudit.backtranslate import BackTranslator
    from mtaudit.changed import ChangedLines
    from mtaudit.resultcache import ResultCache


class AuditorChoice(Protocol):
    """What names the Auditor for each document: an Auditor (itself), an AuditorPool."""

    def for_document(self, document: Document) -> Auditor: ...


# Options that do not change a document's report, left out of the result cache's key:
# the gate is applied to the report on every scan, and cache folders change nothing.
_NOT_IN_RESULT_KEY = frozenset(
    {"fail_on", "fail_above", "fail_on_verdict", "mt_cache_dir", "result_cache_dir"}
)


class Auditor:
    """Runs the enabled detectors and the scorer over documents.

    ``context`` and ``backtranslator`` may be shared with other Auditors of one scan (see
    :class:`mtaudit.auditors.AuditorPool`) so lexicons, models and engine processes load once; a shared
    back-translator is closed by whoever made it.
    """

    def __init__(
        self,
        options: AuditOptions | None = None,
        *,
        context: Context | None = None,
        backtranslator: BackTranslator | None = None,
        results: ResultCache | None = None,
    ) -> None:
        self.options = options or AuditOptions()
        self.selection = Selection.build(self.options.select, self.options.ignore)
        self.context = context or Context(dict(self.options.detector_options))
        self.detectors = build_detectors(self.context, self.selection)
        self._owns_backtranslator = backtranslator is None
        self.backtranslator = backtranslator or make_backtranslator(self.options)
        self._owns_results = results is None
        self.results = results or make_result_cache(self.options)
        known = self.options.known
        if known is None and self.options.decisions:
            known = KnownFindings(decisions=self.options.decisions)
        self.known = known or None
        self._deep = None
        # Longest prefix first: the first match is the most specific.
        self._severity = sorted(self.options.severity, key=lambda p: -len(p[0]))

    @cached_property
    def _fluency_lm(self) -> str | None:
        """The fluency LM's signature: the scorer only uses LM features it was trained on."""
        return next((d.model_signature() for d in self.detectors if d.category == "fluency"), None)

    def close(self) -> None:
        """Stop engine subprocesses (Apertium), flush the translation and result caches."""
        for det in self.detectors:
            det.close()
        if self.backtranslator is not None and self._owns_backtranslator:
            self.backtranslator.close()
        if self.results is not None and self._owns_results:
            self.results.close()

    def release_engines(self) -> None:
        """Stop engine subprocesses (Apertium) but keep caches open: engines restart on
        demand. ``--jobs auto`` calls it before forking workers that start their own."""
        for det in self.detectors:
            det.close()
        if self.backtranslator is not None:
            self.backtranslator.release_engines()

    def __enter__(self) -> Auditor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def preload(self) -> None:
        """Load every detector's resources now, so configuration errors surface early."""
        for det in self.detectors:
            det.preload()
        if self.options.model == "deep":
            self._deep_features()

    def _deep_features(self) -> Callable[[str], dict[str, float]]:
        """``--model deep``: the neural-LM featurizer (loaded once; DeepUnavailable if not)."""
        if self._deep is None:
            from mtaudit import deep, model_score

            try:
                model = model_score.load_model(deep=True)
            except model_score.WeightsError as exc:
                raise deep.DeepUnavailable(f"--model deep: {exc}") from None
            if model.deep_lm != deep.SIGNATURE:
                raise deep.DeepUnavailable(
                    f"--model deep: the deep weights were trained on {model.deep_lm}, not "
                    f"{deep.SIGNATURE}; retrain with 'make train-deep'"
                )
            self._deep = deep.featurizer()
        return self._deep

    @property
    def signature(self) -> str:
        """Reproducibility signature (as sacrebleu's): tool, lexicons, scorer, models."""
        enabled = ",".join(d.prefix for d in self.detectors) or "none"
        parts = [
            f"mtaudit:{__version__}",
            f"lexicons:{lexicons.signature()}",
            f"scorer:{scoring.scorer_version(self.options.model == 'deep')}",
            f"detectors:{enabled}",
        ]
        parts += [sig for det in self.detectors if (sig := det.model_signature())]
        if self.options.model == "deep":
            from mtaudit.deep import SIGNATURE

            parts.append(SIGNATURE)
        if self.backtranslator is not None:
            parts.append(f"mt:{self.backtranslator.signature}")
        return "|".join(parts)

    def audit(self, document: Document) -> DocumentReport:
        """Audit one document (or take its report from the result cache)."""
        key = self._result_key(document) if self.results is not None else None
        if key is not None:
            cached = self.results.get(key, document)
            if cached is not None:
                return cached
        report = self._audit(document)
        if key is not None and not _degraded(report):
            self.results.put(key, report)
        return report

    def cached(self, document: Document) -> DocumentReport | None:
        """The document's report from the result cache, or None (nothing is audited)."""
        key = self._result_key(document) if self.results is not None else None
        return None if key is None else self.results.get(key, document)

    @cached_property
    def _result_prefix(self) -> str | None:
        """The result cache key's part common to every document: signature and options
        (None: the result cache is not used, see :func:`mtaudit.resultcache.key_prefix`)."""
        from mtaudit import resultcache

        options = {
            f.name: getattr(self.options, f.name)
            for f in dataclasses.fields(self.options)
            if f.name not in _NOT_IN_RESULT_KEY
        }
        files = [options["mt"], *options["detector_options"].values()]
        return resultcache.key_prefix(self.signature, options, files)

    def _result_key(self, document: Document) -> str | None:
        from mtaudit import resultcache

        prefix = self._result_prefix
        return None if prefix is None else resultcache.key(prefix, document)

    def _audit(self, document: Document) -> DocumentReport:
        findings: list[Finding] = []
        features: dict[str, float] = {}
        unused: list[dict[str, Any]] = []
        if document.text.strip():
            segments = analyse(document.text)
            findings = self._detect(document, segments, features)
            if self.options.inline_suppressions and document.meta.get("comments"):
                # Before back-translation: a suppressed span is not worth translating.
                findings, unused = suppress.apply(document, findings, segments)
            if self.backtranslator is not None:
                # Evidence may raise or lower confidence, so the threshold comes after it.
                self.backtranslator.annotate(document, findings, segments)
        else:
            segments = None
        findings = [f for f in findings if f.confidence >= self.options.min_confidence]
        for f in findings:
            f.severity = self.severity_of(f)
            # Decisions, the baseline and SARIF know a finding by it; computed here, once.
            f.fingerprint = finding_fingerprint(document, f, segments)
        suppressed = 0
        if self.known and findings:
            findings, suppressed = self.known.apply(document, findings, segments)
        deep = self.options.model == "deep"
        scored = features
        if deep and document.text.strip():
            # Not in report.features: hundreds of hidden-state values per document.
            scored = {**features, **self._deep_features()(document.text)}
        verdict = scoring.assess(
            findings,
            text=document.text,
            features=scored,
            fluency_lm=self._fluency_lm,
            deep=deep,
            analysis=segments,
        )
        return DocumentReport(
            document=document,
            findings=findings,
            mt_probability=verdict.mt_probability,
            verdict=verdict.verdict,
            source_language=verdict.source_language,
            translated_probability=verdict.translated_probability,
            reasons=list(verdict.reasons),
            features=features,
            suppressed=suppressed,
            unused_suppressions=list(unused),
        )

    def _detect(
        self, document: Document, segments: Analysis, features: dict[str, float]
    ) -> list[Finding]:
        """The enabled detectors' findings, overlaps resolved; their features into ``features``."""
        findings: list[Finding] = []
        for det in self.detectors:
            found, feats = det.detect_with_features(document, segments)
            features.update(feats)
            findings.extend(f for f in found if self.selection.enabled(f.code))
        return _resolve_overlaps(findings)

    def detect(self, document: Document) -> list[Finding]:
        """Only the detectors' findings (no suppressions, back-translation or scoring)."""
        if not document.text.strip():
            return []
        return self._detect(document, analyse(document.text), {})

    def for_document(self, document: Document) -> Auditor:
        """The Auditor for ``document``: this one (a pool picks per document)."""
        return self

    def severity_of(self, finding: Finding) -> Severity:
        """The finding's severity after the configured per-code overrides."""
        for prefix, severity in self._severity:
            if finding.code.startswith(prefix):
                return severity
        return finding.severity

    def fails(self, report: DocumentReport) -> bool:
        """Whether this document fails the pre-publish gate (baselined findings never do).

        It fails on a finding at or above ``fail_on``, a verdict at or above
        ``fail_on_verdict`` (a baseline excuses a document that already had it), or an
        ``mt_probability`` at or above ``fail_above`` (likewise).
        """
        if any(f.severity >= self.options.fail_on and not f.baselined for f in report.findings):
            return True
        if verdict_at_least(report.verdict, self.options.fail_on_verdict) and not (
            self.known is not None
            and self.known.excuses_verdict(report, self.options.fail_on_verdict)
        ):
            return True
        limit = self.options.fail_above
        if limit is None or report.mt_probability < limit:
            return False
        return not (self.known is not None and self.known.excuses(report, limit))


def _degraded(report: DocumentReport) -> bool:
    """Whether a back-translation engine failed and was stood in for during this audit.

    Such a report is not cached: the next scan, with the engine working again, must not
    get the stand-in's answer (nor a signature marked with it).
    """
    if not any("back_translation" in f.evidence for f in report.findings):
        return False
    from mtaudit.backtranslate import fallback_in

    return fallback_in(report.findings) is not None


def make_result_cache(options: AuditOptions) -> ResultCache | None:
    """The result cache ``options`` ask for, or None when it is off."""
    if options.result_cache_dir is None:
        return None
    from mtaudit.resultcache import ResultCache

    return ResultCache(options.result_cache_dir)


def make_backtranslator(options: AuditOptions) -> BackTranslator | None:
    """The back-translation engine ``options`` ask for, or None when it is off."""
    if not options.mt or options.mt == "off":
        return None
    from mtaudit.backtranslate import BackTranslator

    return BackTranslator(
        options.mt, cache_dir=options.mt_cache_dir, categories=options.back_translate
    )


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


def audit_document(
    auditor: Auditor | AuditorChoice, document: Document, changed: ChangedLines | None = None
) -> DocumentReport:
    """The engine's one per-document step, which every front end calls (the CLI, ``--fix``,
    the server, ``--jobs`` workers and Ray): audit (or take the result cache's report),
    keep only changed paragraphs' findings with ``--changed-since``, apply the gate.

    The report comes back complete: findings with fingerprints and baseline marks, the
    verdict and its reasons, unused suppressions, and ``failed``.
    """
    return finish_report(auditor, auditor.for_document(document).audit(document), changed)


def finish_report(
    auditor: Auditor | AuditorChoice, report: DocumentReport, changed: ChangedLines | None = None
) -> DocumentReport:
    """The steps after the audit: the ``--changed-since`` restriction, then the gate.

    Separate from :func:`audit_document` only for ``--jobs``: its parent answers chunks
    the result cache holds entirely without starting a worker, and finishes them here.
    """
    if changed is not None:
        report = changed.restrict(report)
    report.failed = auditor.for_document(report.document).fails(report)
    return report


def scan(
    paths: Iterable[str],
    auditor: Auditor | AuditorChoice | None = None,
    ingest: IngestOptions | None = None,
    changed: ChangedLines | None = None,
) -> Iterator[DocumentReport | InputError]:
    """Audit every input, yielding reports and input errors as they come.

    With ``changed`` (``--changed-since``), documents without changes are skipped and the
    others keep only the findings of their changed paragraphs.
    """
    owned = auditor is None
    auditor = auditor or Auditor()
    try:
        for item in iter_inputs(paths, ingest):
            if isinstance(item, InputError):
                yield item
            elif changed is None or changed.touches(item):
                yield audit_document(auditor, item, changed)
    finally:
        if owned:
            auditor.close()


def audit_text(
    text: str, doc_id: str = "<text>", fmt: str = "text", **options: Any
) -> DocumentReport:
    """Convenience API: audit one string (``fmt`` is text, markdown or html)."""
    from mtaudit.ingest import make_document

    auditor = Auditor(AuditOptions(**options))
    try:
        return audit_document(auditor, make_document(text, doc_id, fmt, doc_id))
    finally:
        auditor.close()
