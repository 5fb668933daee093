"""Apply findings' suggestions to a text: the revised text plus word-level diff hunks.

Shared by the HTML and Markdown reports. A suggestion replaces its finding's span
(``""`` deletes it, ``None`` means "no change proposed"). Suggestions whose spans overlap
cannot all be applied, so the more serious one wins (severity, then confidence, then the
longer span, then the earlier one) and the others are reported as ``skipped``.

Hunks group the applied edits that touch the same words; inside a hunk the old and new
text are split into tokens (words, spaces, punctuation) and each token is marked as
changed or not, so a reader sees *which words* differ rather than whole lines.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from mtaudit.model import Finding, Severity

_TOKEN = re.compile(r"\w+|\s+|[^\w\s]", re.UNICODE)

# A diff part: (text, changed). Rows use (text, hunk index or -1, changed).
Part = tuple[str, bool]
RowPart = tuple[str, int, bool]


@dataclass(frozen=True)
class Edit:
    """Replace ``text[start:end]`` by ``replacement``; ``finding`` indexes the input list."""

    start: int
    end: int
    replacement: str
    finding: int


@dataclass
class Hunk:
    """One contiguous change: old ``[old_start, old_end)``, new ``[new_start, new_end)``."""

    index: int
    findings: list[int]
    old_start: int
    old_end: int
    new_start: int
    new_end: int
    old: list[Part]
    new: list[Part]


@dataclass
class Row:
    """Side-by-side view of the original lines a hunk touches and their revision."""

    line: int  # 1-based line of the first original line shown
    old: list[RowPart]
    new: list[RowPart]


@dataclass
class Revision:
    """The result of applying a document's suggestions."""

    original: str
    text: str
    applied: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    hunks: list[Hunk] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)

    def hunk_of(self, finding: int) -> int | None:
        """The index of the hunk that carries ``finding``'s edit, if it was applied."""
        for h in self.hunks:
            if finding in h.findings:
                return h.index
        return None

    @property
    def changed(self) -> bool:
        return self.text != self.original


def _get(f: Finding | dict[str, Any], name: str) -> Any:
    return f[name] if isinstance(f, dict) else getattr(f, name)


def _severity(f: Finding | dict[str, Any]) -> int:
    value = _get(f, "severity")
    return int(Severity.parse(value)) if isinstance(value, str) else int(value)


def choose_edits(findings: Sequence[Finding | dict[str, Any]]) -> tuple[list[Edit], list[int]]:
    """The non-overlapping edits to apply (sorted by position) and the skipped findings.

    Findings without a suggestion, or whose suggestion equals their text, are neither.
    """
    candidates = [
        i
        for i, f in enumerate(findings)
        if _get(f, "suggestion") is not None and _get(f, "suggestion") != _get(f, "text")
    ]
    # Most serious first, so when two suggestions collide the one an editor cares about wins.
    candidates.sort(
        key=lambda i: (
            -_severity(findings[i]),
            -float(_get(findings[i], "confidence")),
            -(_get(findings[i], "end") - _get(findings[i], "start")),
            _get(findings[i], "start"),
            i,
        )
    )
    chosen: list[Edit] = []
    skipped: list[int] = []
    for i in candidates:
        f = findings[i]
        edit = Edit(_get(f, "start"), _get(f, "end"), _get(f, "suggestion"), i)
        if any(_overlaps(edit, other) for other in chosen):
            skipped.append(i)
        else:
            chosen.append(edit)
    chosen.sort(key=lambda e: (e.start, e.end, e.finding))
    return chosen, sorted(skipped)


def _overlaps(a: Edit, b: Edit) -> bool:
    """Spans share a character, or an insertion point lies strictly inside the other span."""
    if a.start == a.end or b.start == b.end:
        if a.start == a.end and b.start == b.end:
            return a.start == b.start  # two insertions at one point: order would be a guess
        point, span = (a, b) if a.start == a.end else (b, a)
        return span.start < point.start < span.end
    return a.start < b.end and b.start < a.end


def apply_edits(text: str, edits: Sequence[Edit]) -> str:
    """``text`` with the (sorted, non-overlapping) edits applied."""
    out: list[str] = []
    pos = 0
    for e in edits:
        out.append(text[pos : e.start])
        out.append(e.replacement)
        pos = e.end
    out.append(text[pos:])
    return "".join(out)


def revise(text: str, findings: Sequence[Finding | dict[str, Any]]) -> Revision:
    """Apply every applicable suggestion and compute hunks and side-by-side rows."""
    edits, skipped = choose_edits(findings)
    revised = apply_edits(text, edits)
    rev = Revision(text, revised, sorted(e.finding for e in edits), skipped)
    if not edits:
        return rev
    rev.hunks = _hunks(text, edits)
    rev.rows = _rows(text, revised, rev.hunks)
    return rev


def _word_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen ``[start, end)`` to whole non-space runs, so a hunk shows complete words."""
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    while end < len(text) and not text[end].isspace():
        end += 1
    return start, end


def _hunks(text: str, edits: Sequence[Edit]) -> list[Hunk]:
    # Widen each edit to word bounds, then merge edits whose widened spans touch.
    groups: list[tuple[int, int, list[Edit]]] = []
    for e in edits:
        lo, hi = _word_bounds(text, e.start, e.end)
        if groups and lo <= groups[-1][1]:
            g_lo, g_hi, members = groups[-1]
            groups[-1] = (g_lo, max(g_hi, hi), [*members, e])
        else:
            groups.append((lo, hi, [e]))
    hunks: list[Hunk] = []
    delta = 0  # how far the revised text has shifted before the current group
    for n, (lo, hi, members) in enumerate(groups):
        old = text[lo:hi]
        new = apply_edits(text[lo:hi], [_shift(e, -lo) for e in members])
        old_parts, new_parts = word_diff(old, new)
        hunks.append(
            Hunk(
                n,
                [e.finding for e in members],
                lo,
                hi,
                lo + delta,
                lo + delta + len(new),
                old_parts,
                new_parts,
            )
        )
        delta += len(new) - len(old)
    return hunks


def _shift(e: Edit, by: int) -> Edit:
    return Edit(e.start + by, e.end + by, e.replacement, e.finding)


def word_diff(old: str, new: str) -> tuple[list[Part], list[Part]]:
    """Token-level diff: each side as (text, changed) runs, adjacent runs merged."""
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    old_parts: list[Part] = []
    new_parts: list[Part] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        changed = op != "equal"
        _push(old_parts, "".join(a[i1:i2]), changed)
        _push(new_parts, "".join(b[j1:j2]), changed)
    return old_parts, new_parts


def _push(parts: list[Any], text: str, changed: bool, hunk: int | None = None) -> None:
    if not text:
        return
    if hunk is None:
        if parts and parts[-1][1] == changed:
            parts[-1] = (parts[-1][0] + text, changed)
        else:
            parts.append((text, changed))
    else:
        if parts and parts[-1][1] == hunk and parts[-1][2] == changed:
            parts[-1] = (parts[-1][0] + text, hunk, changed)
        else:
            parts.append((text, hunk, changed))


def _line_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    lo = text.rfind("\n", 0, start) + 1
    hi = text.find("\n", end)
    return lo, len(text) if hi < 0 else hi


def _rows(original: str, revised: str, hunks: Sequence[Hunk]) -> list[Row]:
    """Group hunks by the original lines they touch; each group is one side-by-side row."""
    rows: list[Row] = []
    groups: list[tuple[int, int, list[Hunk]]] = []
    for h in hunks:
        lo, hi = _line_bounds(original, h.old_start, h.old_end)
        if groups and lo <= groups[-1][1]:
            g_lo, g_hi, members = groups[-1]
            groups[-1] = (g_lo, max(g_hi, hi), [*members, h])
        else:
            groups.append((lo, hi, [h]))
    for lo, hi, members in groups:
        old: list[RowPart] = []
        new: list[RowPart] = []
        # The revised row spans the same lines: shift the ends by the hunks' length changes.
        new_lo = members[0].new_start - (members[0].old_start - lo)
        pos_old, pos_new = lo, new_lo
        for h in members:
            _push(old, original[pos_old : h.old_start], False, -1)
            _push(new, revised[pos_new : h.new_start], False, -1)
            for text, changed in h.old:
                _push(old, text, changed, h.index)
            for text, changed in h.new:
                _push(new, text, changed, h.index)
            pos_old, pos_new = h.old_end, h.new_end
        new_hi = pos_new + (hi - pos_old)
        _push(old, original[pos_old:hi], False, -1)
        _push(new, revised[pos_new:new_hi], False, -1)
        rows.append(Row(original.count("\n", 0, lo) + 1, old, new))
    return rows


def revision_dict(rev: Revision) -> dict[str, Any]:
    """Compact JSON form used by the HTML report's embedded data."""
    return {
        "applied": rev.applied,
        "skipped": rev.skipped,
        "hunks": [{"findings": h.findings} for h in rev.hunks],
        "rows": [
            {
                "line": r.line,
                "old": [[t, h, int(c)] for t, h, c in r.old],
                "new": [[t, h, int(c)] for t, h, c in r.new],
            }
            for r in rev.rows
        ],
    }
