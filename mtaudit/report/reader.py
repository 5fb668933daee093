"""Read a saved JSON report (report-v2, or the older report-v1) back into objects.

The JSON reporter's counterpart: :func:`load_report` turns a report file into
:class:`~mtaudit.model.DocumentReport`/:class:`~mtaudit.model.Finding` objects with their
gate result, for ``mtaudit show`` and ``mtaudit review``.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import Any

from mtaudit.model import (
    READABLE_SCHEMAS,
    Document,
    DocumentReport,
    Finding,
    InputError,
    Severity,
)


class ReportError(ValueError):
    """A file that is not a readable mtaudit JSON report."""


@dataclass
class SavedReport:
    """A JSON report read back: documents with their gate result, errors, positions."""

    signature: str
    documents: list[tuple[DocumentReport, bool]]
    errors: list[InputError] = field(default_factory=list)
    # id(finding) -> (line, column) as saved.
    positions: dict[int, tuple[int, int]] = field(default_factory=dict)


def _placeholder_text(length: int, findings: list[dict[str, Any]]) -> str:
    """Stand-in text for a report written with --no-text: spaces with the spans in place."""
    length = max([length, *(int(f.get("end", 0)) for f in findings)])
    chars = [" "] * length
    for f in findings:
        start, text = int(f["start"]), f.get("text", "")
        chars[start : start + len(text)] = list(text)
    return "".join(chars)[:length]


def load_report(path: str) -> SavedReport:
    """Read a report-v1 or report-v2 JSON file (``-`` is stdin) into objects."""
    try:
        if path == "-":
            data = json.load(sys.stdin)
        else:
            with open(path, encoding="utf-8") as fh:
                data = json.load(fh)
    except OSError as exc:
        raise ReportError(f"{path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReportError(f"{path}: not JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("documents"), list):
        raise ReportError(f"{path}: not an mtaudit JSON report (no 'documents' list)")
    schema = data.get("schema")
    if schema is not None and schema not in READABLE_SCHEMAS:
        raise ReportError(
            f"{path}: report schema {schema!r} is not one this mtaudit reads "
            f"({', '.join(READABLE_SCHEMAS)}); upgrade mtaudit"
        )
    saved = SavedReport(str(data.get("signature", "")), [])
    try:
        for d in data["documents"]:
            raw_findings = d.get("findings", [])
            text = d.get("text")
            if text is None:
                text = _placeholder_text(int(d.get("text_length", 0)), raw_findings)
            doc = Document(d["id"], text, d.get("path", d["id"]), d.get("format", "text"))
            findings = []
            for f in raw_findings:
                finding = Finding(
                    code=f["code"],
                    category=f["category"],
                    start=int(f["start"]),
                    end=int(f["end"]),
                    text=f.get("text", text[f["start"] : f["end"]]),
                    message=f.get("message", ""),
                    suggestion=f.get("suggestion"),
                    severity=Severity.parse(f.get("severity", "warning")),
                    confidence=float(f.get("confidence", 0.5)),
                    evidence=f.get("evidence") or {},
                    source_language=f.get("source_language"),
                )
                if f.get("baselined"):
                    finding.evidence.setdefault("baseline", True)  # (the baseline's mark)
                findings.append(finding)
                if f.get("line"):
                    saved.positions[id(finding)] = (int(f["line"]), int(f.get("column", 0)))
            mt = float(d.get("mt_probability", 0.0))
            report = DocumentReport(
                doc,
                findings,
                mt_probability=mt,
                verdict=d.get("verdict", "clean"),
                source_language=d.get("source_language"),
                features=d.get("features") or {},
                # report-v1 had neither: a machine translation is a translation, so its
                # mt_probability is a lower bound of the translated probability.
                translated_probability=float(d.get("translated_probability", mt)),
                reasons=[str(r) for r in d.get("reasons", [])],
            )
            saved.documents.append((report, bool(d.get("failed", False))))
        saved.errors = [InputError(e["path"], e["message"]) for e in data.get("errors", [])]
    except (KeyError, TypeError, ValueError) as exc:
        raise ReportError(f"{path}: malformed report: {exc}") from None
    return saved
