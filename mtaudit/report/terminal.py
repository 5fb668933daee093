"""Default output: a rich terminal report with highlighted spans and a summary table.

Styles are semantic names in a Theme (as rich recommends), so colours live in one place.
When stdout is not a terminal rich drops colour and the text stays plain.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import IO, Any

from rich.console import Console
from rich.table import Table
from rich.text import Text
from rich.theme import Theme

from mtaudit.model import CATEGORIES, DocumentReport, Finding, InputError, Summary
from mtaudit.report import Reporter, terminal_safe
from mtaudit.report.serialize import line_column

THEME = Theme(
    {
        "cat.idiom": "bold magenta",
        "cat.calque": "bold yellow",
        "cat.untranslated": "bold red",
        "cat.punctuation": "bold cyan",
        "cat.boilerplate": "bold blue",
        "cat.fluency": "bold green",
        "span.idiom": "black on magenta",
        "span.calque": "black on yellow",
        "span.untranslated": "white on red",
        "span.punctuation": "black on cyan",
        "span.boilerplate": "white on blue",
        "span.fluency": "black on green",
        "verdict.machine-translated": "bold white on red",
        "verdict.suspect": "bold black on yellow",
        "verdict.translated": "bold black on cyan",
        "verdict.clean": "bold black on green",
        "sev.error": "bold red",
        "sev.warning": "yellow",
        "sev.info": "dim",
        "suggestion": "green",
        "evidence": "dim italic",
        "doc.id": "bold",
        "muted": "dim",
        "baselined": "dim italic",
    }
)
CONTEXT_CHARS = 70


def make_console(
    stream: IO[str], width: int | None = None, force_terminal: bool | None = None
) -> Console:
    """A Console with mtaudit's theme; plain when ``stream`` is not a terminal."""
    return Console(
        file=stream,
        theme=THEME,
        width=width,
        force_terminal=force_terminal,
        highlight=False,
        soft_wrap=False,
    )


class TerminalReporter(Reporter):
    """Per document: verdict, probability, findings in context, suggestions; then a summary."""

    def __init__(self, stream: IO[str], **options: Any) -> None:
        super().__init__(stream, **options)
        self.console = options.get("console") or make_console(
            stream, options.get("width"), options.get("force_terminal")
        )
        self._errors: list[InputError] = []

    def document(self, report: DocumentReport, failed: bool) -> None:
        render_document(self.console, report, failed, self.options.get("show_clean", True))

    def error(self, error: InputError) -> None:
        self._errors.append(error)

    def finish(self, summary: Summary) -> None:
        render_summary(self.console, summary, self._errors)


Position = Callable[[Finding], tuple[int, int]]


def render_document(
    console: Console,
    report: DocumentReport,
    failed: bool = False,
    show_clean: bool = True,
    position: Position | None = None,
) -> None:
    """Print one document's verdict line and its findings.

    ``position`` gives a finding's (line, column); by default it is computed from the
    document (``mtaudit show`` passes the positions saved in the report instead).
    """
    if not report.findings and not show_clean:
        return
    head = Text()
    head.append(f" {report.verdict.upper()} ", style=f"verdict.{report.verdict}")
    head.append(
        f" MT {report.mt_probability:.2f} · translated {report.translated_probability:.2f} "
    )
    if report.source_language:
        head.append(f"from {report.source_language} ", style="muted")
    head.append(terminal_safe(report.document.id, one_line=True), style="doc.id")
    head.append(
        f"  {len(report.findings)} finding{'s' * (len(report.findings) != 1)}", style="muted"
    )
    if known := sum(f.baselined for f in report.findings):
        head.append(f" ({known} baselined)", style="muted")
    if failed:
        head.append("  FAIL", style="sev.error")
    console.print(head)
    if report.reasons:
        console.print(Text("  why: " + "; ".join(report.reasons), style="muted"))
    for f in report.findings:
        render_finding(console, report, f, position)
    console.print()


def render_finding(
    console: Console, report: DocumentReport, f: Finding, position: Position | None = None
) -> None:
    """Print a finding: code, message, its span highlighted in context, the suggestion."""
    doc = report.document
    line, col = position(f) if position else line_column(doc, f.start)
    where = f"{line}:{col}" if line else f"@{f.start}"
    known = f.baselined
    head = Text("  ")
    # A baselined finding is muted and tagged: it is known and does not fail the gate.
    head.append(f"{f.code}", style="muted" if known else f"cat.{f.category}")
    head.append(f" {f.category:<12}", style="muted" if known else f"cat.{f.category}")
    head.append(f" {f.severity.label:<7}", style="muted" if known else f"sev.{f.severity.label}")
    head.append(f" {where:<8} ", style="muted")
    if known:
        head.append("[baselined] ", style="baselined")
    head.append(terminal_safe(f.message, one_line=True), style="muted" if known else "")
    console.print(head)
    console.print(Text("      ").append_text(context_text(doc.text, f)))
    if f.suggestion is not None:
        console.print(Text("      → ", style="suggestion").append_text(revision_text(doc.text, f)))
    for line_text in evidence_lines(f):
        console.print(Text("      " + line_text, style="evidence"))


def context_text(text: str, f: Finding) -> Text:
    """The finding's span highlighted, with up to CONTEXT_CHARS of its line either side."""
    line_start = text.rfind("\n", 0, f.start) + 1
    line_end = text.find("\n", f.end)
    line_end = len(text) if line_end < 0 else line_end
    left_at = max(line_start, f.start - CONTEXT_CHARS)
    right_at = min(line_end, f.end + CONTEXT_CHARS)
    out = Text()
    out.append(("…" if left_at > line_start else "") + _safe(text[left_at : f.start]))
    out.append(_safe(text[f.start : f.end]) or "⸱", style=f"span.{f.category}")
    out.append(_safe(text[f.end : right_at]) + ("…" if right_at < line_end else ""))
    return out


def revision_text(text: str, f: Finding, reach: int = 30) -> Text:
    """The suggestion applied in place, with a few words either side ("delete" if empty)."""
    if not (f.suggestion or "").strip():
        whole_line = text[f.start - 1 : f.start] in ("", "\n") and text[f.end : f.end + 1] in (
            "",
            "\n",
        )
        return Text("delete this line" if whole_line else f"delete '{_safe(f.text.strip())}'")
    line_start = text.rfind("\n", 0, f.start) + 1
    line_end = text.find("\n", f.end)
    line_end = len(text) if line_end < 0 else line_end
    left_at = max(line_start, f.start - reach)
    if left_at > line_start:  # start on a word boundary
        left_at = text.find(" ", left_at, f.start) + 1 or left_at
    right_at = min(line_end, f.end + reach)
    if right_at < line_end:
        right_at = (
            text.rfind(" ", f.end, right_at)
            if text.rfind(" ", f.end, right_at) > f.end
            else right_at
        )
    out = Text(("…" if left_at > line_start else "") + _safe(text[left_at : f.start]))
    out.append(_safe(f.suggestion or ""), style="suggestion")
    out.append(_safe(text[f.end : right_at]) + ("…" if right_at < line_end else ""))
    return out


def _safe(text: str) -> str:
    """Document text for one line of the terminal (see :func:`terminal_safe`)."""
    return terminal_safe(text, one_line=True)


def evidence_lines(f: Finding) -> list[str]:
    """Human-readable lines for the evidence the later stages attach (back-translation…)."""
    ev = f.evidence
    out = []
    if "back_translation" in ev:
        bt = ev["back_translation"]
        out.append(
            f"back-translation [{bt.get('engine', '?')}→{bt.get('language', '?')}]: {bt.get('text', '')}"
        )
        if bt.get("matched_idiom"):
            out.append(f"  matches '{bt['matched_idiom']}' (score {bt.get('match_score', 0):.0f})")
        if bt.get("aligned_words"):
            aligned = ", ".join(f"{a}→{b}" for a, b in bt["aligned_words"].items())
            out.append(f"  aligned: {aligned}")
        if "round_trip" in bt:
            out.append(f"  round trip: {bt['round_trip']} (chrF {bt.get('chrf', 0):.1f})")
    if "surprisal" in ev:
        out.append(
            f"fluency: {ev['surprisal']:.2f} nats/token, {ev.get('percentile', '?')}th percentile of human news"
        )
    # Engines echo what they were given (and a saved report may say anything).
    return [_safe(line) for line in out]


def render_summary(console: Console, summary: Summary, errors: list[InputError]) -> None:
    """The closing table: findings by category, verdict counts, unreadable inputs."""
    table = Table(title="mtaudit summary", show_edge=False, pad_edge=False)
    table.add_column("category")
    table.add_column("findings", justify="right")
    for cat in CATEGORIES:
        table.add_row(Text(cat, style=f"cat.{cat}"), str(summary.by_category.get(cat, 0)))
    table.add_row(Text("total", style="bold"), Text(str(summary.findings), style="bold"))
    console.print(table)
    verdicts = ", ".join(f"{n} {v}" for v, n in summary.by_verdict.items())
    known = f" ({summary.baselined} baselined)" if summary.baselined else ""
    console.print(
        f"{summary.documents} document{'s' * (summary.documents != 1)} ({verdicts}); "
        f"{summary.findings} finding{'s' * (summary.findings != 1)}{known}; "
        f"{summary.failed_documents} failed the gate; {len(errors)} unreadable input"
        f"{'s' * (len(errors) != 1)}; {summary.elapsed_s:.2f}s"
    )
    for e in errors:
        console.print(Text(_safe(f"  unreadable: {e.path}: {e.message}"), style="sev.error"))
