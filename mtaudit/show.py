"""``mtaudit show REPORT.json``: re-render a saved JSON report in the terminal.

A report-v2 (or older report-v1) JSON is read back by :mod:`mtaudit.report.reader` and
drawn with the terminal reporter's functions, filtered by category, severity or
document. Long output goes through rich's pager when stdout is a terminal.

Line/column come from the saved report (they refer to the original file, which for
Markdown differs from the text offsets), so findings are drawn here with the saved
position rather than recomputed.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from typing import TYPE_CHECKING, Any

from mtaudit.cliargs import severity  # the same --min-severity parsing as scan --fail-on
from mtaudit.model import (
    CATEGORIES,
    DocumentReport,
    ExitCode,
    Severity,
    Summary,
)
from mtaudit.report.reader import ReportError, SavedReport, load_report

if TYPE_CHECKING:
    from rich.console import Console


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
        type=severity,
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
