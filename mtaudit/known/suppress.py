"""Inline suppressions: ``<!-- mtaudit: ... -->`` comments in Markdown and HTML.

* ``<!-- mtaudit: disable MT401,MT2 -->`` ... ``<!-- mtaudit: enable MT401 -->``: a range;
  without a matching ``enable`` it runs to the end of the document. The last directive
  before a finding that names its code decides, so ``disable MT4`` then ``enable MT401``
  leaves the other MT4xx codes off.
* ``<!-- mtaudit: ignore MT401 -->``: the next paragraph only (or the paragraph the
  comment sits in).

Codes may be prefixes or categories (``MT4``, ``punctuation``); none means every code.
The readers record each comment's offset in the extracted text in
``Document.meta["comments"]`` (and its line in the file in ``meta["comment_lines"]``).
A suppression that silenced nothing is reported back (``unused_suppressions``), as is a
directive that cannot be read: a stale suppression would otherwise hide the next real
problem in that paragraph without anyone noticing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from mtaudit.model import Document, Finding

_DIRECTIVE = re.compile(r"^mtaudit\s*:\s*(?P<action>[A-Za-z-]+)\b\s*(?P<codes>.*)$", re.S | re.I)
_PREFIX = re.compile(r"mtaudit\s*:", re.I)
_ACTIONS = ("disable", "enable", "ignore")


@dataclass
class Directive:
    """One parsed ``mtaudit:`` comment."""

    action: str
    codes: tuple[str, ...]  # normalised prefixes; empty = every code
    offset: int
    comment: str
    line: int | None = None
    problem: str | None = None
    used: bool = field(default=False, compare=False)

    def matches(self, code: str) -> bool:
        return not self.codes or any(code.startswith(p) for p in self.codes)

    def unused_entry(self) -> dict[str, Any]:
        out: dict[str, Any] = {"comment": self.comment, "line": self.line}
        if self.problem:
            out["problem"] = self.problem
        return out


def parse(document: Document) -> list[Directive]:
    """The document's ``mtaudit:`` directives, in document order."""
    from mtaudit.config import parse_codes

    comments = document.meta.get("comments") or ()
    lines = document.meta.get("comment_lines") or ()
    out: list[Directive] = []
    for i, (offset, body) in enumerate(comments):
        body = " ".join(str(body).split())
        if not _PREFIX.match(body):
            continue  # an ordinary comment (even one that mentions mtaudit)
        line = lines[i] if i < len(lines) else None
        m = _DIRECTIVE.match(body)
        action = m.group("action").lower() if m else ""
        if action not in _ACTIONS:
            out.append(
                Directive(
                    "invalid",
                    (),
                    offset,
                    body,
                    line,
                    "expected 'mtaudit: disable|enable|ignore [CODES]'",
                )
            )
            continue
        tokens = [t for t in re.split(r"[,\s]+", m.group("codes")) if t]
        try:
            codes = parse_codes(tokens)
        except ValueError as exc:
            out.append(Directive(action, (), offset, body, line, str(exc)))
            continue
        out.append(Directive(action, tuple(codes), offset, body, line))
    return out


def apply(
    document: Document, findings: list[Finding], seg: Any = None
) -> tuple[list[Finding], list[dict[str, Any]]]:
    """Drop suppressed findings; return (kept, unused suppressions as report entries)."""
    directives = parse(document)
    if not directives:
        return findings, []
    ranges = [d for d in directives if d.action in ("disable", "enable") and not d.problem]
    ignores = [d for d in directives if d.action == "ignore" and not d.problem]
    targets = _ignore_targets(document, ignores, seg) if ignores else []
    kept: list[Finding] = []
    for f in findings:
        hit = False
        for d, (lo, hi) in zip(ignores, targets, strict=True):
            if lo < f.end and f.start < hi and d.matches(f.code):
                d.used = hit = True
        # The last range directive at or before the finding that names its code decides.
        last = next(
            (d for d in reversed(ranges) if d.offset <= f.start and d.matches(f.code)), None
        )
        if last is not None and last.action == "disable":
            last.used = hit = True
        if not hit:
            kept.append(f)
    unused = [d.unused_entry() for d in directives if d.action != "enable" and not d.used]
    unused += [d.unused_entry() for d in directives if d.action == "enable" and d.problem]
    unused.sort(key=lambda e: e["line"] or 0)
    return kept, unused


def _ignore_targets(
    document: Document, ignores: list[Directive], seg: Any
) -> list[tuple[int, int]]:
    """The paragraph span each ``ignore`` covers: the first paragraph not ending before it."""
    from mtaudit.segment import segment

    paragraphs = (seg or segment(document.text)).paragraphs
    out = []
    for d in ignores:
        p = next((p for p in paragraphs if p.end > d.offset), None)
        out.append((p.start, p.end) if p is not None else (len(document.text), len(document.text)))
    return out
