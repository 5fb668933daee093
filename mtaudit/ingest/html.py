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
    """Place each ``mtaudit:`` comment at the extracted-text offset of what follows it."""
    out: list[tuple[int, str]] = []
    floor = 0
    for m in _COMMENT.finditer(source):
        body = m.group(1).strip()
        if not body.lower().startswith("mtaudit"):
            continue
        after = _SKIP_BLOCK.sub(" ", source[m.end() : m.end() + 2000])
        visible = " ".join(html_lib.unescape(_TAG.sub(" ", after)).split())
        snippet = visible[:40]
        at = text.find(snippet, floor) if snippet else -1
        if at < 0:
            at = len(text) if not snippet else floor
        out.append((at, body))
        floor = at
    return out
