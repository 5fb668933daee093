"""HTML -> article text with trafilatura (a library built for news extraction).

Script, style, navigation and footer chrome are dropped by trafilatura. Findings'
offsets refer to the extracted text, which the JSON report carries. ``mtaudit:``
comments are located in the extracted text so inline suppressions still work.
"""

from __future__ import annotations

import html as html_lib
import logging
import re

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
