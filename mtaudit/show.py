"""``mtaudit show REPORT.json``: re-render a saved JSON report in the terminal.

A report-v2 (or older report-v1) JSON is turned back into :class:`DocumentReport`/:class:`Finding` objects
and drawn with the terminal reporter's functions, filtered by category, severity or
document. Long output goes through rich's pager when stdout is a terminal.

Line/column come from the saved report (they refer to the original file, which for
Markdown differs from the text offsets), so findings are drawn here with the saved
position rather than recomputed.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mtaudit.cli import _severity  # the same --min-severity parsing as scan --fail-on
from mtaudit.model import (
    CATEGORIES,
    READABLE_SCHEMAS,
    Document,
    DocumentReport,
    ExitCode,
    Finding,
    InputError,
    Severity,
    Summary,
)

if TYPE_CHECKING:
    from rich.console import Console


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


def filter_report(
    saved: SavedReport,
    categories: list[str] | None = None,
    min_severity: Severity = Severity.INFO,
    doc_ids: list[str] | None = None,
) -> list[tuple[DocumentReport, bool]]:
    """The documents (``doc_ids``: matching id or path) with only the wanted findings."""
    out = []
    for report, failed in saved.documents:
        doc = report.document
        if doc_ids and doc.id not in doc_ids and doc.path not in doc_ids:
            continue
        kept = [
            f
            for f in report.findings
            if (not categories or f.category in categories) and f.severity >= min_severity
        ]
        out.append((dataclasses.replace(report, findings=kept), failed))
    return out


def render(
    console: Console,
    saved: SavedReport,
    documents: list[tuple[DocumentReport, bool]],
    show_clean: bool = True,
) -> None:
    """Draw documents as the terminal reporter does, then the summary."""
    from mtaudit.report.terminal import render_document, render_summary

    summary = Summary()
    for report, failed in documents:
        summary.add(report, failed)
        # Saved line/column: recounting would be wrong for Markdown (markup is stripped).
        render_document(
            console,
            report,
            failed,
            show_clean,
            position=lambda f: saved.positions.get(id(f), (0, 0)),
        )
    render_summary(console, summary, saved.errors)


def _categories(value: str) -> list[str]:
    cats = [c.strip().lower() for c in value.split(",") if c.strip()]
    unknown = [c for c in cats if c not in CATEGORIES]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown category {unknown[0]!r}; choose from {', '.join(CATEGORIES)}"
        )
    return cats


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``mtaudit show`` on the CLI's subparsers."""
    parser = subparsers.add_parser(
        "show",
        help="re-render a saved JSON report in the terminal",
        description="Show a report written with 'mtaudit scan -f json' as the terminal "
        "report, optionally filtered.",
    )
    parser.add_argument(
        "report", metavar="REPORT.json", help="a report written with -f json ('-' = stdin)"
    )
    parser.add_argument(
        "--category",
        type=_categories,
        action="extend",
        default=None,
        metavar="CATEGORIES",
        help="only these categories (comma-separated, repeatable)",
    )
    parser.add_argument(
        "--min-severity",
        type=_severity,
        default=Severity.INFO,
        metavar="SEVERITY",
        help="only findings at or above: info, warning, error (default: info)",
    )
    parser.add_argument(
        "--doc",
        action="append",
        default=None,
        metavar="ID",
        help="only this document (its id or path; repeatable)",
    )
    parser.add_argument(
        "--hide-clean", action="store_true", help="do not list documents without findings"
    )
    parser.add_argument("--no-pager", action="store_true", help="never page the output")
    parser.set_defaults(func=cmd_show)
    return parser


def cmd_show(args: argparse.Namespace, console: Console | None = None) -> int:
    """Run ``mtaudit show``; returns the exit status."""
    from mtaudit.report.terminal import make_console

    try:
        saved = load_report(args.report)
    except ReportError as exc:
        print(f"mtaudit: error: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    documents = filter_report(saved, args.category, args.min_severity, args.doc)
    if args.doc and not documents:
        print(
            f"mtaudit: error: no document {', '.join(args.doc)!r} in {args.report}", file=sys.stderr
        )
        return ExitCode.USAGE
    console = console or make_console(sys.stdout)
    if console.is_terminal and not args.no_pager:
        import os

        # styles=True sends colour codes to the pager; less shows them only with -R, so
        # set it unless the user configured LESS themselves.
        os.environ.setdefault("LESS", "-R")
        with console.pager(styles=True):
            render(console, saved, documents, show_clean=not args.hide_clean)
    else:
        render(console, saved, documents, show_clean=not args.hide_clean)
    return ExitCode.OK
