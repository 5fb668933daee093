"""Finding fingerprints: the key by which decisions and baselines recognise a finding.

A fingerprint is made of the code, the document id, the span's normalised text and a hash
of its normalised sentence, not of offsets, so it survives edits elsewhere in the
document and re-scans. Identical findings in identical sentences of one document share a
fingerprint (and so a decision).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import TYPE_CHECKING

from mtaudit.model import Document, Finding

if TYPE_CHECKING:
    from mtaudit.segment import Segmentation

_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """NFKC, whitespace collapsed and trimmed: what an edit of layout alone cannot change."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip()


def fingerprint(doc_id: str, code: str, text: str, context: str) -> str:
    """A stable id for a finding: survives edits elsewhere in the document.

    ``text`` is the flagged span and ``context`` its sentence; both are normalised, and the
    context enters only as a hash so the key can be stored without quoting the article.
    """
    context_hash = hashlib.sha256(normalise(context).encode("utf-8")).hexdigest()
    key = "\x1f".join(("v1", code.strip().upper(), doc_id, normalise(text), context_hash))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def finding_context(text: str, start: int, end: int, seg: Segmentation | None = None) -> str:
    """The sentence holding ``[start, end)`` (else its paragraph, else its line)."""
    from mtaudit.segment import segment

    seg = seg or segment(text)
    for at in (start, max(start, end - 1)):
        s = seg.sentence_at(at)
        if s is not None:
            # A span running past its first sentence takes every sentence it touches.
            last = seg.sentence_at(max(start, end - 1)) or s
            return text[min(s.start, start) : max(last.end, end)]
    p = seg.paragraph_at(start)
    if p is not None:
        return text[min(p.start, start) : max(p.end, end)]
    lo = text.rfind("\n", 0, start) + 1
    hi = text.find("\n", end)
    return text[lo : len(text) if hi < 0 else hi]


def finding_fingerprint(doc: Document, f: Finding, seg: Segmentation | None = None) -> str:
    """:func:`fingerprint` of a finding of ``doc`` (the engine sets ``Finding.fingerprint``;
    this recomputes it for findings read back from a report file)."""
    return fingerprint(doc.id, f.code, f.text, finding_context(doc.text, f.start, f.end, seg))
