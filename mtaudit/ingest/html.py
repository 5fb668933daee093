"""HTML -> article text with trafilatura (a library built for news extraction).

Script, style, navigation and footer chrome are dropped by trafilatura. Findings'
offsets refer to the extracted text, which the JSON report carries. ``mtaudit:``
comments are located in the extracted text so inline suppressions still work.
"""

from __future__ import annotations

import html as html_lib
import re

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
    if not text.strip() and "<" in source:
        # Very short pages fall under trafilatura's article threshold; its baseline
        # extractor still returns the visible body text.
        _, text, _ = trafilatura.baseline(source)
        text = text or ""
    if not text.strip() and _looks_like_markup(source) is False:
        raise ValueError("malformed HTML: no markup and no text found")
    # trafilatura separates paragraphs by single newlines; blank lines make the
    # paragraph structure explicit for the segmenter and the reports.
    text = re.sub(r"\n+", "\n\n", text.strip())
    return text, _locate_comments(source, text)


def _looks_like_markup(source: str) -> bool:
    return bool(re.search(r"<[A-Za-z!/]", source))


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
