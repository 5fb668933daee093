"""DocumentReport -> the report-v2 JSON objects (shared by every machine-readable output)."""

from __future__ import annotations

from typing import Any

from mtaudit.model import Document, DocumentReport, Finding, InputError, Summary


def line_column(document: Document, offset: int) -> tuple[int, int]:
    """1-based line and column of ``offset`` in the original file (Markdown-aware)."""
    source_offset = document.source_offset(offset)
    text = document.meta.get("source_text")
    if text is None:
        # Without the raw file at hand, count in the text we have; identical for text/JSONL.
        text = document.text if not document.source_map else None
    if text is None:
        return (0, 0)
    line = text.count("\n", 0, source_offset) + 1
    column = source_offset - (text.rfind("\n", 0, source_offset) + 1) + 1
    return line, column


def finding_dict(f: Finding, document: Document | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "code": f.code,
        "category": f.category,
        "start": f.start,
        "end": f.end,
        "text": f.text,
        "message": f.message,
        "suggestion": f.suggestion,
        "severity": f.severity.label,
        "confidence": f.confidence,
        "evidence": f.evidence,
        "source_language": f.source_language,
    }
    if document is not None:
        out["line"], out["column"] = line_column(document, f.start)
    if f.baselined:
        out["baselined"] = True  # in the baseline: reported, but not a gate failure
    return out


def document_dict(report: DocumentReport, include_text: bool = True) -> dict[str, Any]:
    doc = report.document
    out: dict[str, Any] = {
        "id": doc.id,
        "path": doc.path,
        "format": doc.format,
        "text_length": len(doc.text),
        "verdict": report.verdict,
        "mt_probability": report.mt_probability,
        "translated_probability": report.translated_probability,
        "reasons": list(report.reasons),
        "source_language": report.source_language,
        "findings": [finding_dict(f, doc) for f in report.findings],
    }
    if report.features:
        out["features"] = report.features
    if report.suppressed:
        out["suppressed"] = report.suppressed
    unused = report.unused_suppressions
    if unused:
        out["unused_suppressions"] = unused
    if include_text:
        out["text"] = doc.text
    return out


def error_dict(error: InputError) -> dict[str, str]:
    return {"path": error.path, "message": error.message}


def summary_dict(summary: Summary) -> dict[str, Any]:
    return {
        "documents": summary.documents,
        "errors": summary.errors,
        "findings": summary.findings,
        "by_category": summary.by_category,
        "by_severity": summary.by_severity,
        "by_verdict": summary.by_verdict,
        "failed_documents": summary.failed_documents,
        "baselined": summary.baselined,
        "elapsed_s": round(summary.elapsed_s, 3),
    }
