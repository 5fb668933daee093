"""``--format sarif``: SARIF 2.1.0 for code-scanning dashboards (GitHub, Azure DevOps…).

One run; ``tool.driver.rules`` carries every rule with its ``mtaudit explain`` text, and
each finding becomes a result with its rule, level, message, location and properties.
Results stream out as documents arrive; the run's invocation (unreadable inputs) and
per-document verdicts follow at the end.

Locations: columns count Unicode code points (``columnKind``). For ``.txt``, ``.md`` and
``.html`` files the region is in the file itself (mapped back through the reader's source
map) and a result carries a ``fix`` when the finding has a suggestion and the file holds
exactly the flagged text there. A JSONL record's region is its line in the ``.jsonl``
file; its id is a logical location and the position inside the record's text is in
``properties``.
"""

from __future__ import annotations

import json
import os
from typing import IO, Any
from urllib.parse import quote

from mtaudit import __version__
from mtaudit.model import Document, DocumentReport, Finding, InputError, Severity, Summary
from mtaudit.report import Reporter, RuleInfo
from mtaudit.report.serialize import line_column, summary_dict

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
FINGERPRINT_KEY = "mtauditFinding/v1"
LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def artifact_uri(path: str) -> str:
    """A URI reference for a path: relative paths stay relative, absolute become file://."""
    posix = path.replace(os.sep, "/")
    if os.path.isabs(path):
        return "file://" + quote(posix if posix.startswith("/") else "/" + posix)
    return quote(posix)


def jsonl_line(doc: Document) -> int | None:
    """The ``.jsonl`` line a document came from, or None for a document that is a file."""
    line = doc.meta.get("line")
    return line if isinstance(line, int) and doc.id != doc.path else None


def position(doc: Document, offset: int) -> tuple[int, int]:
    """1-based (line, column) of ``offset``; counted in the text when no mapping exists."""
    line, col = line_column(doc, offset)
    if line < 1 or col < 1:
        text = doc.text
        line = text.count("\n", 0, offset) + 1
        col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, col


def _fixable(doc: Document, f: Finding) -> bool:
    """True when the file holds exactly the flagged text there, so a replacement is exact."""
    from mtaudit.ingest.source import can_fix, source_span

    return can_fix(doc) and source_span(doc, f) is not None


def rule_descriptor(rule: RuleInfo) -> dict[str, Any]:
    """A SARIF reportingDescriptor with the text behind ``mtaudit explain``."""
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rule.why},
        "help": {
            "text": f"Example: {rule.example}\nFix: {rule.fix}",
            "markdown": f"**Example:** {_md(rule.example)}\n\n**Fix:** {_md(rule.fix)}",
        },
        "defaultConfiguration": {"level": LEVELS[rule.severity]},
        "properties": {"category": rule.category, "tags": ["mtaudit", rule.category]},
    }


def _md(text: str) -> str:
    from mtaudit.report.markdown import escape

    return escape(text)


def result_dict(
    report: DocumentReport, f: Finding, rule_index: dict[str, int], fingerprint: str | None = None
) -> dict[str, Any]:
    """One SARIF result for a finding."""
    doc = report.document
    uri = artifact_uri(doc.path or doc.id)
    start_line, start_col = position(doc, f.start)
    end_line, end_col = position(doc, f.end)
    record_line = jsonl_line(doc)
    props: dict[str, Any] = {
        "category": f.category,
        "confidence": f.confidence,
        "suggestion": f.suggestion,
        "severity": f.severity.label,
        "document": doc.id,
    }
    if f.source_language:
        props["sourceLanguage"] = f.source_language
    if doc.format == "html" and not doc.source_map:
        props["positionsIn"] = "extracted-text"  # (no map back to the HTML source)
    location: dict[str, Any]
    if record_line is not None:
        props.update(
            documentLine=start_line,
            documentColumn=start_col,
            documentEndLine=end_line,
            documentEndColumn=end_col,
        )
        location = {
            "physicalLocation": {
                "artifactLocation": {"uri": uri},
                "region": {"startLine": record_line},
            },
            "logicalLocations": [
                {"name": doc.id, "fullyQualifiedName": f"{doc.path}#{doc.id}", "kind": "object"}
            ],
        }
    else:
        region: dict[str, Any] = {
            "startLine": start_line,
            "startColumn": start_col,
            "endLine": end_line,
            "endColumn": end_col,
        }
        if f.text:
            region["snippet"] = {"text": f.text}
        location = {"physicalLocation": {"artifactLocation": {"uri": uri}, "region": region}}
    out: dict[str, Any] = {"ruleId": f.code}
    if f.code in rule_index:
        out["ruleIndex"] = rule_index[f.code]
    out.update(
        level=LEVELS[f.severity],
        message={"text": f.message},
        locations=[location],
    )
    if fingerprint:
        out["partialFingerprints"] = {FINGERPRINT_KEY: fingerprint}
    if f.baselined:
        # Known before the baseline was written: code scanning shows it as such, and it
        # did not fail the gate.
        out["baselineState"] = "unchanged"
        out["suppressions"] = [{"kind": "external", "justification": "in the mtaudit baseline"}]
    if f.suggestion is not None and _fixable(doc, f):
        replacement: dict[str, Any] = {
            "deletedRegion": {
                "startLine": start_line,
                "startColumn": start_col,
                "endLine": end_line,
                "endColumn": end_col,
            }
        }
        if f.suggestion:
            from mtaudit.ingest.source import source_replacement

            replacement["insertedContent"] = {"text": source_replacement(doc, f.suggestion)}
        what = f"Replace with '{f.suggestion}'" if f.suggestion else f"Delete '{f.text.strip()}'"
        out["fixes"] = [
            {
                "description": {"text": what},
                "artifactChanges": [
                    {"artifactLocation": {"uri": uri}, "replacements": [replacement]}
                ],
            }
        ]
    out["properties"] = props
    return out


class SarifReporter(Reporter):
    """Streams a SARIF log: driver and rules first, results as documents arrive."""

    def __init__(self, stream: IO[str], **options: Any) -> None:
        super().__init__(stream, **options)
        self._errors: list[InputError] = []
        self._documents: list[dict[str, Any]] = []
        self._count = 0
        self._signature = ""
        self._rule_index: dict[str, int] = {}

    def start(self, signature: str) -> None:
        self._signature = signature
        rules = self.rules
        self._rule_index = {r.code: i for i, r in enumerate(rules)}
        driver = {
            "name": "mtaudit",
            "version": __version__,
            "semanticVersion": __version__,
            "rules": [rule_descriptor(r) for r in rules],
        }
        head = json.dumps({"$schema": SARIF_SCHEMA, "version": SARIF_VERSION}, ensure_ascii=False)[
            :-1
        ]
        self.stream.write(
            head
            + ',\n "runs": [{\n  "tool": {"driver": '
            + json.dumps(driver, ensure_ascii=False)
            + '},\n  "columnKind": "unicodeCodePoints",\n  "results": ['
        )

    def document(self, report: DocumentReport, failed: bool) -> None:
        for f in report.findings:
            result = result_dict(report, f, self._rule_index, f.fingerprint)
            self.stream.write(
                ("\n   " if self._count == 0 else ",\n   ") + json.dumps(result, ensure_ascii=False)
            )
            self._count += 1
        self._documents.append(
            {
                "id": report.document.id,
                "path": report.document.path,
                "verdict": report.verdict,
                "mtProbability": report.mt_probability,
                "translatedProbability": report.translated_probability,
                "reasons": list(report.reasons),
                "sourceLanguage": report.source_language,
                "failed": failed,
            }
        )

    def error(self, error: InputError) -> None:
        self._errors.append(error)

    def finish(self, summary: Summary) -> None:
        invocation = {
            "executionSuccessful": not self._errors,
            "toolExecutionNotifications": [
                {
                    "level": "error",
                    "message": {"text": e.message},
                    "locations": [
                        {"physicalLocation": {"artifactLocation": {"uri": artifact_uri(e.path)}}}
                    ],
                }
                for e in self._errors
            ],
        }
        properties = {
            "signature": summary.signature or self._signature,
            "summary": summary_dict(summary),
            "documents": self._documents,
        }
        self.stream.write(
            ("\n  " if self._count else "")
            + '],\n  "invocations": ['
            + json.dumps(invocation, ensure_ascii=False)
            + '],\n  "properties": '
            + json.dumps(properties, ensure_ascii=False)
            + "\n }]\n}\n"
        )
