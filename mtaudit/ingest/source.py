"""Where a document's text sits in its file: the source a fix or a SARIF region edits.

The readers keep a map from the extracted text back to the file (Markdown, HTML); these
functions use it to find a finding's span in the source and to say whether a suggestion
can be written there exactly. Shared by ``--fix``/``--diff`` and the SARIF report's
``fixes``.
"""

from __future__ import annotations

import html

from mtaudit.model import Document, Finding


def can_fix(document: Document) -> bool:
    """Whether the document is a whole file that ``--fix`` may rewrite."""
    if not document.path or document.path in ("-", "<stdin>") or document.id != document.path:
        return False  # stdin, or a JSONL record
    return document.format in ("text", "markdown", "html")


def source_text(document: Document) -> str:
    """The text the document's source offsets count in (the file as decoded)."""
    return document.meta.get("source_text", document.text)


def source_span(document: Document, finding: Finding) -> tuple[int, int] | None:
    """The finding's span in the source, when the source holds exactly its text there."""
    source = source_text(document)
    lo, hi = document.source_offset(finding.start), document.source_offset(finding.end)
    if not 0 <= lo <= hi <= len(source) or source[lo:hi] != finding.text:
        return None
    return lo, hi


def source_replacement(document: Document, suggestion: str) -> str:
    """``suggestion`` as it must be written in the source (escaped for HTML)."""
    return html.escape(suggestion, quote=False) if document.format == "html" else suggestion
