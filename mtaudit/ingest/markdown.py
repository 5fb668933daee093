"""Markdown -> plain prose, keeping a map back to the source for line/column.

The file is parsed with markdown-it-py (CommonMark, plus GFM tables and strikethrough)
and only prose reaches the detectors: headings, paragraphs, list items, quotes, table
cells, link texts, image alt texts and inline code words. Code blocks, raw HTML, YAML
front matter (``---``, through mdit-py-plugins), TOML front matter (``+++``) and
Hugo/Jekyll shortcodes (``{{< ... >}}``, ``{{% ... %}}``, ``{% ... %}``, ``{{ ... }}``)
are not prose and produce nothing.

markdown-it gives block tokens their source lines but inline tokens no offsets, so each
inline piece is located in its block's source lines from a moving cursor; the prose keeps
the file's line structure (line N of the prose is line N of the file) and records
``(text_offset, source_offset)`` anchors wherever the two stop advancing together, so a
finding is reported at the right line/column of the ``.md`` file. HTML comments outside
code are kept aside (``meta["comments"]``) for inline suppressions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.rules_inline import StateInline
    from markdown_it.token import Token

_COMMENT = re.compile(r"<!--(.*?)-->", re.DOTALL)
# Hugo shortcodes ({{< x >}}, {{% x %}}) and Liquid/Jekyll tags and outputs ({% x %},
# {{ x }}): templating, not prose. Checked only where one starts, by an inline rule.
_SHORTCODE = re.compile(r"\{\{<.*?>\}\}|\{\{%.*?%\}\}|\{%.*?%\}|\{\{.*?\}\}", re.DOTALL)
# Punctuation that closes up to the word before it: removed markup's space goes.
_CLOSING = tuple(".,;:!?)]}”’»")
# TOML front matter (Hugo): "+++" lines around it at the very start of the file. The YAML
# kind ("---") is the front_matter plugin's.
_TOML_FRONT_MATTER = re.compile(r"\A\+\+\+[ \t]*\r?\n.*?^\+\+\+[ \t]*$", re.DOTALL | re.MULTILINE)


@dataclass
class _Builder:
    """The prose being built and its anchors back into the source."""

    parts: list[str] = field(default_factory=list)
    anchors: list[tuple[int, int]] = field(default_factory=list)
    length: int = 0
    #: the source offset the next emitted character maps to without a new anchor
    expect: int = -1

    def emit(self, text: str, source_at: int | None) -> None:
        if not text:
            return
        if source_at is not None and source_at != self.expect:
            self.anchors.append((self.length, source_at))
        if source_at is not None:
            self.expect = source_at + len(text)
        else:
            self.expect += len(text)
        self.parts.append(text)
        self.length += len(text)

    @property
    def at_line_start(self) -> bool:
        return not self.parts or self.parts[-1].endswith("\n")

    @property
    def ends_with_space(self) -> bool:
        return bool(self.parts) and self.parts[-1][-1:] in (" ", "\t")

    def drop_space(self) -> None:
        """Take back the last emitted character (a space before removed markup)."""
        self.parts[-1] = self.parts[-1][:-1]
        self.length -= 1
        self.expect -= 1
        while self.anchors and self.anchors[-1][0] >= self.length:
            self.anchors.pop()


def _shortcode_rule(state: StateInline, silent: bool) -> bool:
    """Inline rule: a shortcode becomes one ``shortcode`` token (not text)."""
    if state.src[state.pos] != "{":
        return False
    m = _SHORTCODE.match(state.src, state.pos)
    if m is None:
        return False
    if not silent:
        token = state.push("shortcode", "", 0)
        token.content = m.group(0)
    state.pos = m.end()
    return True


@cache
def _parser() -> MarkdownIt:
    from markdown_it import MarkdownIt
    from mdit_py_plugins.front_matter import front_matter_plugin

    md = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    md.use(front_matter_plugin)
    md.inline.ruler.before("text", "shortcode", _shortcode_rule)
    return md


def markdown_to_text(
    source: str,
) -> tuple[str, list[tuple[int, int]], list[tuple[int, str]], list[int]]:
    """Parse Markdown and keep its prose.

    Returns:
        ``(text, source_map, comments, comment_lines)``: the prose, its (text_offset,
        source_offset) anchors, ``(text_offset, comment_body)`` for each HTML comment
        outside code, and each such comment's 1-based line in ``source``.
    """
    # TOML front matter is blanked (same length, newlines kept) so offsets stay valid.
    src = _TOML_FRONT_MATTER.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), source)
    walker = _Walker(src)
    walker.walk(_parser().parse(src))
    return "".join(walker.out.parts), walker.out.anchors, walker.comments, walker.comment_lines


class _Walker:
    """Emits the prose of a token stream, line for line with the source."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.line_starts = [0] + [m.end() for m in re.finditer(r"\n", source)]
        self.n_lines = len(source.splitlines())
        self.out = _Builder()
        self.line = 0  # newlines emitted so far = the source line the prose is on
        self.comments: list[tuple[int, str]] = []
        self.comment_lines: list[int] = []

    def walk(self, tokens: list[Token]) -> None:
        for token in tokens:
            if token.type == "inline" and token.map:
                self._inline(token)
            elif token.type == "html_block" and token.map:
                lo, hi = self._span(token.map[0], token.map[1])
                self._goto_line(token.map[0])
                for m in _COMMENT.finditer(self.source, lo, hi):
                    self._comment(m)
        self._goto_line(self.n_lines)

    def _span(self, first: int, end: int) -> tuple[int, int]:
        """Source offsets of lines ``[first, end)``."""
        lo = self.line_starts[min(first, len(self.line_starts) - 1)]
        hi = self.line_starts[end] if end < len(self.line_starts) else len(self.source)
        return lo, hi

    def _goto_line(self, line: int) -> None:
        if line > self.line:
            self.out.emit("\n" * (line - self.line), None)
            self.line = line

    def _comment(self, m: re.Match[str]) -> None:
        self.comments.append((self.out.length, m.group(1).strip()))
        self.comment_lines.append(self.source.count("\n", 0, m.start()) + 1)

    def _inline(self, token: Token) -> None:
        first, end = token.map
        lo, limit = self._span(first, end)
        if first > self.line:
            self._goto_line(first)
        elif not self.out.at_line_start:
            self.out.emit(" ", None)  # another table cell on the same line
        pos = lo
        autolink = False  # a bare URL (<https://...>) is not prose
        removed = False  # markup was just left out: do not leave a double space behind
        for child in token.children or ():
            kind = child.type
            if kind == "link_open" and child.markup == "autolink":
                autolink = removed = True
            elif kind == "link_close":
                autolink = False
            elif autolink:
                continue
            elif kind in ("text", "code_inline", "image"):  # an image's content: its alt
                content = child.content
                if removed and content[:1] in (" ", "\t"):
                    if self.out.ends_with_space or self.out.at_line_start:
                        content = content.lstrip(" \t")
                elif removed and content[:1] in _CLOSING and self.out.ends_with_space:
                    self.out.drop_space()
                pos = self._align(content, pos, limit)
                removed = False
            elif kind in ("softbreak", "hardbreak"):
                nl = self.source.find("\n", pos, limit)
                pos = nl + 1 if nl >= 0 else pos
                self.out.emit("\n", None)
                self.line += 1
            elif kind in ("html_inline", "shortcode"):
                removed = True
                at = self.source.find(child.content, pos, limit)
                if at >= 0:
                    pos = at + len(child.content)
                    if kind == "html_inline":
                        m = _COMMENT.match(self.source, at, pos)
                        if m is not None:
                            self._comment(m)

    def _align(self, content: str, pos: int, limit: int) -> int:
        """Emit ``content`` anchored where it is in the source; return the cursor after it.

        Most pieces are verbatim in the source; escapes and entities are not ("\\*" is
        "*", "&amp;" is "&"), so those are placed character by character.
        """
        if not content:
            return pos
        at = self.source.find(content, pos, limit)
        if at >= 0:
            self.out.emit(content, at)
            return at + len(content)
        for ch in content:
            at = self.source.find(ch, pos, limit)
            if at < 0:
                self.out.emit(ch, None)
            else:
                self.out.emit(ch, at)
                pos = at + 1
        return pos
