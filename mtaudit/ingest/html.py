"""HTML -> article text with trafilatura (a library built for news extraction).

Script, style, navigation and footer chrome are dropped by trafilatura. Findings'
offsets refer to the extracted text, which the JSON report carries. ``mtaudit:``
comments are located in the extracted text so inline suppressions still work.
"""

from __future__ import annotations

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
