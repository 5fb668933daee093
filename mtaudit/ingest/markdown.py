"""Markdown -> plain prose, keeping a map back to the source for line/column.

Markup (headings, emphasis, links, code, tables, HTML comments) must never produce
findings, so detectors see only the prose. Each prose chunk is copied verbatim and its
source offset recorded, so a finding can still be reported at the right line/column of
the ``.md`` file. HTML comments are kept aside in ``meta["comments"]`` (with their
offset in the prose) for inline suppressions.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_HR = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_TABLE_SEP = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)\s*$")
# Block prefixes: blockquote markers, heading hashes, list bullets / numbers.
_PREFIX = re.compile(r"^(?: {0,3}>[ ]?)*(?: {0,3}#{1,6}[ \t]+| {0,3}(?:[-*+]|\d{1,9}[.)])[ \t]+)?")
_HEADING_TAIL = re.compile(r"[ \t]+#+[ \t]*$")
# Inline markup to drop, or to replace by its text group.
_INLINE = re.compile(
    r"""
      (?P<image>!\[(?P<alt>[^\]]*)\]\([^)]*\))
    | (?P<link>\[(?P<ltext>[^\]]+)\](?:\([^)]*\)|\[[^\]]*\]))
    | (?P<code>(?P<ticks>`+)(?P<ctext>[^`]*)(?P=ticks))
    | (?P<auto><(?:https?|mailto):[^>]+>)
    | (?P<tag></?[A-Za-z][^>]*>)
    | (?P<emph>(?<![\w*])\*{1,3}(?=\S)|(?<=\S)\*{1,3}(?![\w*])|(?<![\w_])_{1,3}(?=\S)|(?<=\S)_{1,3}(?![\w_]))
    """,
    re.VERBOSE,
)
_COMMENT = re.compile(r"<!--(.*?)-->", re.DOTALL)
_CODE_SPAN = re.compile(r"(`+)[^`]*?\1")


@dataclass
class _Builder:
    parts: list[str] = field(default_factory=list)
    anchors: list[tuple[int, int]] = field(default_factory=list)
    length: int = 0

    def emit(self, text: str, source_at: int | None) -> None:
        if not text:
            return
        if source_at is not None:
            self.anchors.append((self.length, source_at))
        self.parts.append(text)
        self.length += len(text)


def markdown_to_text(
    source: str,
) -> tuple[str, list[tuple[int, int]], list[tuple[int, str]], list[int]]:
    """Strip Markdown markup.

    Returns:
        ``(text, source_map, comments, comment_lines)``: the prose, its (text_offset,
        source_offset) anchors, ``(text_offset, comment_body)`` for each HTML comment
        outside code, and each such comment's 1-based line in ``source``. A comment's text
        offset is where the line holding it starts in the prose.
    """
    out = _Builder()
    comments: list[tuple[int, str]] = []
    # Comments may span lines: blank them first (same length keeps offsets valid). Only
    # those outside code are kept: a fenced example of a suppression is not a suppression.
    found = prose_comments(source)
    masked = list(source)
    for m in _COMMENT.finditer(source):
        for i in range(m.start(), m.end()):
            if masked[i] != "\n":
                masked[i] = " "
    src = "".join(masked)

    pending_comments = [(m.start(), m.group(1).strip()) for m in found]
    for line_start, pos, body, is_code in _lines(src):
        while pending_comments and pending_comments[0][0] < pos:
            comments.append((out.length, pending_comments.pop(0)[1]))
        if (
            is_code
            or not body.strip()
            or _HR.match(body)
            or _TABLE_SEP.match(body)
            or _SETEXT.match(body)
        ):
            out.emit("\n", None)
            continue
        prefix = _PREFIX.match(body)
        start = prefix.end() if prefix else 0
        end = len(body)
        tail = _HEADING_TAIL.search(body, start)
        if tail and body[:start].strip().startswith("#"):
            end = tail.start()
        _emit_inline(body, start, end, line_start, out)
        out.emit("\n", None)
    text = "".join(out.parts)
    lines = [source.count("\n", 0, m.start()) + 1 for m in found]
    return text, out.anchors, comments, lines


def _lines(source: str) -> Iterator[tuple[int, int, str, bool]]:
    """``(start, end, body, is_code)`` for each line: fenced blocks (fences included) and
    indented code blocks are code."""
    fence: str | None = None
    pos = 0
    for line in source.splitlines(keepends=True):
        line_start, pos = pos, pos + len(line)
        body = line.rstrip("\r\n")
        if fence:
            if body.strip().startswith(fence):
                fence = None
            is_code = True
        elif m := _FENCE.match(body):
            fence = m.group(1)[:3]
            is_code = True
        else:
            is_code = body.startswith(("    ", "\t")) and not body.lstrip().startswith(
                ("-", "*", "+")
            )
        yield line_start, pos, body, is_code


def prose_comments(source: str) -> list[re.Match[str]]:
    """The HTML comments of ``source`` outside fenced, indented and inline code."""
    code: list[tuple[int, int]] = []  # (start, end) source ranges of code
    for line_start, pos, body, is_code in _lines(source):
        if is_code:
            code.append((line_start, pos))
        else:
            code.extend(
                (line_start + c.start(), line_start + c.end()) for c in _CODE_SPAN.finditer(body)
            )
    return [m for m in _COMMENT.finditer(source) if not any(a <= m.start() < b for a, b in code)]


def _emit_inline(line: str, start: int, end: int, line_start: int, out: _Builder) -> None:
    pos = start
    for m in _INLINE.finditer(line, start, end):
        _emit_plain(line, pos, m.start(), line_start, out)
        if m.group("image") is not None:
            out.emit(m.group("alt"), line_start + m.start("alt"))
        elif m.group("link") is not None:
            out.emit(m.group("ltext"), line_start + m.start("ltext"))
        elif m.group("code") is not None:
            # Keep the words: dropping them would leave "and ." behind.
            out.emit(m.group("ctext"), line_start + m.start("ctext"))
        pos = m.end()
    _emit_plain(line, pos, end, line_start, out)


def _emit_plain(line: str, start: int, end: int, line_start: int, out: _Builder) -> None:
    chunk = line[start:end]
    if "|" in chunk:  # table cell separators read as spaces between cells
        for i, cell in enumerate(chunk.split("|")):
            offset = start + sum(len(c) + 1 for c in chunk.split("|")[:i])
            if i:
                out.emit(" ", None)
            out.emit(cell, line_start + offset)
        return
    out.emit(chunk, line_start + start)
