"""HTML -> article text with trafilatura (a library built for news extraction).

Script, style, navigation and footer chrome are dropped by trafilatura. Findings'
offsets refer to the extracted text, which the JSON report carries; :func:`source_map`
maps them back to the HTML source (for the line/column of SARIF, github annotations and
``--fix``), as the Markdown reader does. ``mtaudit:`` comments are located in the
extracted text so inline suppressions still work.
"""

from __future__ import annotations

import difflib
import html as html_lib
import logging
import re
from html.parser import HTMLParser

# trafilatura logs parse trouble at ERROR level; with no logging configured Python would
# print those to stderr. mtaudit reports unreadable inputs itself, once, in one line.
logging.getLogger("trafilatura").setLevel(logging.CRITICAL)

_COMMENT = re.compile(r"<!--(.*?)-->", re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
_SKIP_BLOCK = re.compile(r"<(script|style)\b.*?</\1\s*>", re.DOTALL | re.IGNORECASE)


def html_to_text(source: str) -> tuple[str, list[tuple[int, str]]]:
    """Extract the main article text (title first) and the ``mtaudit:`` comments.

    Raises:
        ValueError: when the markup cannot be parsed at all.
    """
    import trafilatura  # lazy: heavy import, only HTML inputs need it

    if not source.strip():
        return "", []
    if _too_deep(source):
        # libxml2 (under trafilatura and lxml) stops building the tree at 256 levels and
        # silently drops everything deeper: the article would be lost, wholly or in part.
        text = _tokenizer_text(source)
        text = re.sub(r"\n+", "\n\n", text.strip())
        return text, _locate_comments(source, text)
    try:
        doc = trafilatura.bare_extraction(
            source,
            include_comments=False,
            include_tables=True,
            favor_recall=True,
            with_metadata=True,
        )
    except Exception as exc:  # trafilatura/lxml raise many types on broken markup
        raise ValueError(f"malformed HTML: {exc}") from None
    text = (getattr(doc, "text", None) or "") if doc is not None else ""
    if not text.strip():
        # Fragments and very short pages fall under trafilatura's article threshold;
        # read their visible block text with lxml's HTML parser instead.
        text = _fallback_text(source)
    # trafilatura separates paragraphs by single newlines; blank lines make the
    # paragraph structure explicit for the segmenter and the reports.
    text = re.sub(r"\n+", "\n\n", text.strip())
    return text, _locate_comments(source, text)


_DROP = ("script", "style", "nav", "header", "footer", "aside", "form", "noscript", "template")
_BLOCKS = ("p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "pre", "td", "div")


def _fallback_text(source: str) -> str:
    """Visible block text of a fragment, without page chrome."""
    import lxml.html

    try:
        root = lxml.html.fromstring(source)
    except Exception as exc:  # lxml raises ParserError / ValueError on garbage
        raise ValueError(f"malformed HTML: {exc}") from None
    for el in root.iter(*_DROP):
        el.drop_tree()
    blocks = [
        " ".join(el.text_content().split()) for el in root.iter(*_BLOCKS) if not el.findall(".//p")
    ]
    blocks = [b for b in blocks if b]
    return "\n".join(blocks) if blocks else " ".join(root.text_content().split())


def _too_deep(source: str) -> bool:
    """Whether libxml2 hits its nesting limit on ``source`` (it then drops the rest)."""
    import lxml.html

    if source.count("<") < 256:  # cheap: too few tags to nest that deep
        return False
    parser = lxml.html.HTMLParser()
    try:
        lxml.html.fromstring(source, parser=parser)
    except Exception:  # noqa: BLE001 - unparsable markup is trafilatura's to report
        return False
    return any("depth" in e.message.lower() for e in parser.error_log)


class _TextCollector(HTMLParser):
    """Visible text from the tag stream: no tree, so no nesting limit."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip: list[str] = []  # open chrome/script elements

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROP:
            self._skip.append(tag)
        elif tag in _BLOCKS or tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._skip:
            # Close up to the matching element: an unclosed one inside must not hide the
            # rest of the page.
            del self._skip[len(self._skip) - 1 - self._skip[::-1].index(tag) :]
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def _tokenizer_text(source: str) -> str:
    """Block text of ``source`` without page chrome, read by the stdlib tokenizer."""
    collector = _TextCollector()
    collector.feed(source)
    collector.close()
    lines = (" ".join(line.split()) for line in "".join(collector.parts).split("\n"))
    return "\n".join(line for line in lines if line)


def _locate_comments(source: str, text: str) -> list[tuple[int, str]]:
    """Place each ``mtaudit:`` comment at the extracted-text offset of what follows it.

    The words after the comment are looked up in the text with any whitespace between
    them (extraction turns block boundaries into blank lines); when what follows was
    dropped as page chrome, the comment goes right after the words before it.
    """
    out: list[tuple[int, str]] = []
    floor = 0
    for m in _COMMENT.finditer(source):
        body = m.group(1).strip()
        if not body.lower().startswith("mtaudit"):
            continue
        after = _visible_words(source[m.end() : m.end() + 2000])
        at = _find_words(text, after[:8], floor)
        if at is not None:
            at = at[0]
        else:
            before = _visible_words(source[max(0, m.start() - 2000) : m.start()])
            found = _find_words(text, before[-8:], floor, from_end=True)
            at = found[1] if found else (len(text) if not after else floor)
        out.append((at, body))
        floor = at
    return out


def _visible_words(fragment: str) -> list[str]:
    fragment = _COMMENT.sub(" ", fragment)
    fragment = _SKIP_BLOCK.sub(" ", fragment)
    return html_lib.unescape(_TAG.sub(" ", fragment)).split()


def _find_words(
    text: str, words: list[str], floor: int, from_end: bool = False
) -> tuple[int, int] | None:
    """Span of the longest run of ``words`` (at least 3, or all there are) found from
    ``floor``; with ``from_end`` the run is shortened from its start, else from its end."""
    least = min(3, len(words))
    for n in range(len(words), max(least, 1) - 1, -1):
        run = words[-n:] if from_end else words[:n]
        m = re.compile(r"\s*".join(re.escape(w) for w in run)).search(text, floor)
        if m:
            return m.start(), m.end()
    return None


# Elements that end a run of words: their tags separate the text on either side, as the
# extractor's line breaks do ("<p>a</p><p>b</p>" is two words, not "ab").
_BREAKS = frozenset(
    (*_BLOCKS, "br", "hr", "tr", "th", "ul", "ol", "table", "section", "article", "main")
    + ("header", "footer", "nav", "aside", "figure", "figcaption", "title", "dd", "dt")
)
_INVISIBLE = ("script", "style", "template")
# Word lists past this size are not aligned (SequenceMatcher is quadratic at worst): the
# document is still audited, its positions then counted in the extracted text.
_MAX_ALIGN_WORDS = 200_000


class _VisibleChars(HTMLParser):
    """The source's character data, each character with its offset in the source.

    Character references are decoded (``&amp;`` is one ``&`` at the ``&``'s offset);
    breaking tags add a separator with no offset (-1).
    """

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=False)
        self._line_starts = [0] + [m.end() for m in re.finditer(r"\n", source)]
        self.chars: list[str] = []
        self.offsets: list[int] = []
        self._hidden = 0

    def _at(self) -> int:
        line, col = self.getpos()
        return self._line_starts[line - 1] + col

    def _add(self, text: str, at: int, step: int = 1) -> None:
        if self._hidden:
            return
        for i, ch in enumerate(text):
            self.chars.append(ch)
            self.offsets.append(at + i * step)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _INVISIBLE:
            self._hidden += 1
        elif tag in _BREAKS:
            self._add(" ", -1, 0)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BREAKS:
            self._add(" ", -1, 0)

    def handle_endtag(self, tag: str) -> None:
        if tag in _INVISIBLE:
            self._hidden = max(0, self._hidden - 1)
        elif tag in _BREAKS:
            self._add(" ", -1, 0)

    def handle_data(self, data: str) -> None:
        self._add(data, self._at())

    def handle_entityref(self, name: str) -> None:
        self._add(html_lib.unescape(f"&{name};"), self._at(), 0)

    def handle_charref(self, name: str) -> None:
        self._add(html_lib.unescape(f"&#{name};"), self._at(), 0)


def source_map(source: str, text: str) -> list[tuple[int, int]]:
    """``(text_offset, source_offset)`` anchors from extracted ``text`` back to ``source``.

    The extractor reorders nothing within the article but drops chrome, collapses
    whitespace and decodes references, so its words are aligned with the source's visible
    words (difflib, longest matching runs first); each matched word is anchored at its
    first character, and again after any character that came from a reference. Words the
    source does not show as such (a title from metadata) keep the nearest anchor before.
    """
    if not text:
        return []
    visible = _VisibleChars(source)
    try:
        visible.feed(source)
        visible.close()
    except Exception:  # noqa: BLE001 - the tokenizer is lenient; never fail the document
        return []
    chars = "".join(visible.chars)
    text_words = [(m.start(), m.group()) for m in re.finditer(r"\S+", text)]
    source_words = [(m.start(), m.group()) for m in re.finditer(r"\S+", chars)]
    if max(len(text_words), len(source_words)) > _MAX_ALIGN_WORDS:
        return []
    matcher = difflib.SequenceMatcher(
        None, [w for _, w in text_words], [w for _, w in source_words], autojunk=False
    )
    anchors: list[tuple[int, int]] = []
    for i, j, n in matcher.get_matching_blocks():
        for k in range(n):
            t_at, word = text_words[i + k]
            c_at = source_words[j + k][0]
            # The word's characters, and the space after it (a finding may start there).
            for d in range(len(word) + 1):
                at = visible.offsets[c_at + d] if c_at + d < len(visible.offsets) else -1
                if at < 0:
                    continue  # a break between blocks: no character of the source
                # Only where the last anchor would place this character wrongly.
                if not anchors or anchors[-1][1] + (t_at + d - anchors[-1][0]) != at:
                    anchors.append((t_at + d, at))
    return anchors
