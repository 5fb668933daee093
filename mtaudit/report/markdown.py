"""``--format markdown``: a report to paste into an issue, a pull request or a wiki.

A summary (totals, findings by category, documents by ``mt_probability``) comes first,
then one section per document: each finding with its line quoted (``> …``) and the span
in a code span, the suggestion, and a ``diff`` block of the suggested revision.

Document text is untrusted and is never emitted as live Markdown or HTML: prose is
escaped (``&``, ``<``, ``>`` as entities, Markdown punctuation with backslashes) and spans
go in code spans, whose content renderers show literally. Sections are spooled to a
temporary file as documents stream in, so the summary can still come first.
"""

from __future__ import annotations

import re
from typing import IO, Any

from mtaudit.model import CATEGORIES, DocumentReport, Finding, Summary
from mtaudit.report import terminal_safe
from mtaudit.report.diff import revise
from mtaudit.report.html import SpooledReporter
from mtaudit.report.serialize import line_column

CONTEXT_CHARS = 70

# Characters with inline meaning in CommonMark/GFM (emphasis, code, links, tables,
# strikethrough, heading closers); a backslash makes each literal. Escaping only these
# keeps the raw Markdown readable ("U.S." stays "U.S.").
_INLINE = re.compile(r"([\\`*_\[\]|~#])")
# Block markers that only count at the start of a line: list bullets, ordered-list
# numbers, setext underlines, headings (already escaped above), quotes (entity-escaped).
_LINE_START = re.compile(r"^(\s*)(?:([+\-=])|(\d{1,9})([.)]))")
_WHITESPACE = re.compile(r"\s+")


def escape(text: str, line_start: bool = False) -> str:
    """``text`` as literal Markdown prose: no emphasis, links, HTML or entities survive.

    ``line_start``: the text begins a line, so block markers there are escaped too.
    """
    text = terminal_safe(text)  # a Markdown report is often read in a terminal
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _INLINE.sub(r"\\\1", text)
    if line_start:
        text = _LINE_START.sub(
            lambda m: (
                m.group(1) + (f"\\{m.group(2)}" if m.group(2) else f"{m.group(3)}\\{m.group(4)}")
            ),
            text,
            count=1,
        )
    return text


def escape_cell(text: str) -> str:
    """Escape for a GFM table cell (one line; ``|`` is already backslash-escaped)."""
    return escape(_WHITESPACE.sub(" ", text).strip())


def code_span(text: str) -> str:
    """``text`` as a code span: shown literally, whitespace visible in the box."""
    if text == "":
        return "`‸`"
    text = terminal_safe(text.replace("\n", " "), one_line=True)
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    # CommonMark strips one space each side when both are present, and a content starting
    # or ending with a backtick needs a space to separate it from the fence.
    pad = " " if text[0] == "`" or text[-1] == "`" or (text[0] == " " and text[-1] == " ") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def fence_for(body: str) -> str:
    """A backtick fence longer than any backtick run in ``body``."""
    longest = max((len(m) for m in re.findall(r"`+", body)), default=0)
    return "`" * max(3, longest + 1)


def context_line(text: str, f: Finding) -> str:
    """The finding's line (clipped to CONTEXT_CHARS either side), span as a code span."""
    line_start = text.rfind("\n", 0, f.start) + 1
    line_end = text.find("\n", f.end)
    line_end = len(text) if line_end < 0 else line_end
    left_at = max(line_start, f.start - CONTEXT_CHARS)
    right_at = min(line_end, f.end + CONTEXT_CHARS)
    before = ("…" if left_at > line_start else "") + text[left_at : f.start]
    after = text[f.end : right_at] + ("…" if right_at < line_end else "")
    span = text[f.start : f.end]
    return (
        escape(before.replace("\n", " "), line_start=True)
        + code_span(span)
        + escape(after.replace("\n", " "))
    )


def suggestion_text(f: Finding) -> str:
    if f.suggestion is None:
        return "no automatic suggestion"
    if f.suggestion == "":
        return f"delete {code_span(f.text)}"
    return f"replace {code_span(f.text)} with {code_span(f.suggestion)}"


def _pct(p: float) -> str:
    return f"{p * 100:.1f}%"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"


def document_section(
    n: int, report: DocumentReport, failed: bool, rules: dict[str, str] | None = None
) -> str:
    """One document's Markdown: heading, verdict line, findings, suggested revision."""
    doc = report.document
    rules = rules or {}
    out = [f"## {n}. {escape(doc.id)}", ""]
    facts = [
        f"**{report.verdict}**",
        f"MT probability {_pct(report.mt_probability)}",
        f"translated {_pct(report.translated_probability)}",
    ]
    if report.source_language:
        facts.append(f"likely source language {escape(report.source_language)}")
    if doc.path != doc.id:
        facts.append(f"in {escape(doc.path)}")
    facts.append(_plural(len(report.findings), "finding"))
    if known := sum(f.baselined for f in report.findings):
        facts.append(f"{known} baselined")
    if failed:
        facts.append("**failed the gate**")
    out += [" · ".join(facts), ""]
    if report.reasons:
        out += [f"Why: {escape('; '.join(report.reasons))}", ""]
    for f in report.findings:
        line, col = line_column(doc, f.start)
        where = f"line {line}, column {col}" if line else f"offset {f.start}"
        name = f" {escape(rules[f.code])}" if f.code in rules else ""
        # Known findings: tagged, and not in bold, so a passing run reads as one.
        code = f"{f.code} *(baselined)*" if f.baselined else f"**{f.code}**"
        out.append(
            f"- {code}{name} · {f.category} · {f.severity.label} · {where}: {escape(f.message)}"
        )
        out.append("")
        out.append(f"  > {context_line(doc.text, f)}")
        out.append("")
        out.append(f"  Suggestion: {suggestion_text(f)}")
        bt = f.evidence.get("back_translation")
        if isinstance(bt, dict) and bt.get("text"):
            out.append("")
            out.append(f"  Back-translation: {escape(str(bt['text']))}")
        out.append("")
    rev = revise(doc.text, report.findings)
    if rev.rows:
        lines: list[str] = []
        for row in rev.rows:
            old = "".join(t for t, _, _ in row.old)
            new = "".join(t for t, _, _ in row.new)
            lines.append(f"@@ line {row.line} @@")
            lines += ["- " + terminal_safe(s, one_line=True) for s in old.split("\n")]
            lines += (
                ["+ " + terminal_safe(s, one_line=True) for s in new.split("\n")]
                if new.strip()
                else ["+"]
            )
        body = "\n".join(lines)
        fence = fence_for(body)
        out += ["Suggested revision:", "", f"{fence}diff", body, fence, ""]
        if rev.skipped:
            out += [
                f"{_plural(len(rev.skipped), 'suggestion')} not applied (overlapping a more "
                "serious finding).",
                "",
            ]
    return "\n".join(out) + "\n"


class MarkdownReporter(SpooledReporter):
    """Spools per-document sections; writes summary then sections (highest probability first)."""

    def __init__(self, stream: IO[str], **options: Any) -> None:
        super().__init__(stream, **options)
        # (-probability, arrival, spool index, id, verdict, failed, findings)
        self._rows: list[tuple[float, int, int, str, str, bool, int]] = []
        self._rules: dict[str, str] = {}

    def start(self, signature: str) -> None:
        self._signature = signature
        self._rules = {r.code: r.name for r in self.rules}

    def document(self, report: DocumentReport, failed: bool) -> None:
        # The section number is only known after sorting: spool with a placeholder.
        index = self._spool.add(document_section(0, report, failed, self._rules))
        self._rows.append(
            (
                -report.mt_probability,
                len(self._rows),
                index,
                report.document.id,
                report.verdict,
                failed,
                len(report.findings),
            )
        )

    def _write(self, summary: Summary) -> None:
        w = self.stream.write
        verdicts = ", ".join(f"{n} {v}" for v, n in summary.by_verdict.items())
        w("# mtaudit report\n\n")
        w(
            f"{_plural(summary.documents, 'document')} ({verdicts}) · "
            f"{_plural(summary.findings, 'finding')} · "
            + (f"{summary.baselined} baselined · " if summary.baselined else "")
            + f"{summary.failed_documents} failed the gate · "
            f"{_plural(len(self._errors), 'unreadable input')}\n\n"
        )
        w(f"Signature: {code_span(summary.signature or self._signature)}\n\n")
        w("| category | findings |\n|---|---:|\n")
        for cat in CATEGORIES:
            w(f"| {cat} | {summary.by_category.get(cat, 0)} |\n")
        w(f"| **total** | **{summary.findings}** |\n\n")
        rows = sorted(self._rows)
        if rows:
            w("| # | document | verdict | MT probability | findings |\n")
            w("|---:|---|---|---:|---:|\n")
            for n, (neg_p, _, _, doc_id, verdict, failed, count) in enumerate(rows, 1):
                mark = " ✗" if failed else ""
                w(f"| {n} | {escape_cell(doc_id)} | {verdict}{mark} | {_pct(-neg_p)} | {count} |\n")
            w("\n")
        if self._errors:
            w("Unreadable inputs:\n\n")
            for e in self._errors:
                w(f"- {escape(e.path)}: {escape(e.message)}\n")
            w("\n")
        for n, (_, _, index, *_rest) in enumerate(rows, 1):
            section = self._spool.get(index)
            w(f"## {n}." + section[len("## 0.") :])
