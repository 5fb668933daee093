"""``--fix`` and ``--diff``: apply findings' suggestions to the scanned files.

As ruff does, only *safe* fixes apply by default: a suggestion that is exact replacement
text (not None, no alternatives or glosses such as "Spain (or Portugal)") for a finding
whose rule is marked ``fix_safe`` (punctuation spacing, boilerplate deletion, calques), or
any finding whose evidence says ``safe_fix``. ``--unsafe-fixes`` applies the rest (idioms
and other rewrites an editor should read). Overlapping suggestions are resolved as in the
reports' suggested revision (:func:`mtaudit.report.diff.choose_edits`).

Edits are made in the *source* file: a finding's span is mapped back through the
document's source map (Markdown and HTML) and applied only where the source holds exactly
the flagged text (a span across HTML tags, or an entity, is left alone); an HTML
replacement is escaped. A file is rewritten atomically (temporary file, then rename, mode
kept) and only if its bytes are still those that were scanned.
"""

from __future__ import annotations

import codecs
import contextlib
import difflib
import html
import os
import re
import stat
import tempfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from mtaudit.model import Document, DocumentReport, Finding

#: A suggestion that offers alternatives or a gloss is advice, not replacement text.
_NOT_EXACT = re.compile(r"[()/…]|\.\.\.|\bor\b")


class FixError(Exception):
    """A file that cannot be fixed (the message names the reason, not the file)."""


@cache
def _safe_codes() -> frozenset[str]:
    from mtaudit.detectors import all_rules

    return frozenset(r.code for r in all_rules() if r.fix_safe)


def is_exact(suggestion: str | None) -> bool:
    """Whether ``suggestion`` is replacement text an editor would accept as it is."""
    return suggestion is not None and not _NOT_EXACT.search(suggestion)


def is_safe(finding: Finding) -> bool:
    """Whether ``finding``'s suggestion is a safe fix (applied without ``--unsafe-fixes``)."""
    if not is_exact(finding.suggestion):
        return False
    return bool(finding.evidence.get("safe_fix")) or finding.code in _safe_codes()


def fixable(findings: list[Finding], unsafe: bool = False) -> list[Finding]:
    """The findings whose suggestions ``--fix`` may apply."""
    return [
        f
        for f in findings
        if f.suggestion is not None
        and f.suggestion != f.text
        and (is_safe(f) or (unsafe and not f.evidence.get("baseline")))
    ]


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


@dataclass
class FixPlan:
    """The revised source of one file and what went into it."""

    path: str
    original: str
    revised: str
    applied: list[Finding] = field(default_factory=list)
    #: fixable findings left alone (overlapping a more serious one, or not verbatim in
    #: the source)
    skipped: list[Finding] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.revised != self.original

    def diff(self) -> str:
        """A unified diff of the file (``--- a/PATH`` / ``+++ b/PATH``), "" when unchanged."""
        return "".join(
            difflib.unified_diff(
                self.original.splitlines(keepends=True),
                self.revised.splitlines(keepends=True),
                f"a/{self.path}",
                f"b/{self.path}",
            )
        )


def plan(report: DocumentReport, unsafe: bool = False) -> FixPlan | None:
    """The fixes for one document's file, or None when it is not a fixable file."""
    from mtaudit.report.diff import Edit, apply_edits, choose_edits

    doc = report.document
    if not can_fix(doc):
        return None
    source = source_text(doc)
    candidates = fixable(report.findings, unsafe)
    chosen, overlapping = choose_edits(candidates)
    edits: list[Edit] = []
    applied: list[Finding] = []
    skipped = [candidates[i] for i in overlapping]
    for e in chosen:
        f = candidates[e.finding]
        span = source_span(doc, f)
        if span is None:
            skipped.append(f)
            continue
        edits.append(Edit(span[0], span[1], source_replacement(doc, e.replacement), e.finding))
        applied.append(f)
    edits.sort(key=lambda e: (e.start, e.end))
    if doc.format == "text" and doc.meta.get("crlf"):
        # The scanned text had CRLF line ends turned into LF: put them back.
        revised = apply_edits(source, edits).replace("\n", "\r\n")
        source = source.replace("\n", "\r\n")
    else:
        revised = apply_edits(source, edits)
    return FixPlan(doc.path, source, revised, applied, skipped)


def write(plan: FixPlan, document: Document) -> None:
    """Rewrite the file with ``plan.revised``, atomically, if it is unchanged since read.

    Raises:
        FixError: the file changed since it was scanned, is not a regular file, or its
            encoding cannot hold the revision.
    """
    from mtaudit.ingest import digest
    from mtaudit.ingest.decode import decode_bytes

    path = Path(plan.path)
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            raise FixError("not a regular file; not fixed")
        data = path.read_bytes()
    except OSError as exc:
        raise FixError(f"cannot read: {exc.strerror or exc}; not fixed") from None
    if digest(data) != document.meta.get("digest"):
        raise FixError("changed since it was scanned; not fixed")
    encoding = document.meta.get("encoding", "utf-8")
    bom = codecs.BOM_UTF8 if data.startswith(codecs.BOM_UTF8) else b""
    try:
        out = bom + plan.revised.encode(encoding)
        ok = decode_bytes(out)[0].replace("\r\n", "\n") == plan.revised.replace("\r\n", "\n")
    except (LookupError, UnicodeError, ValueError):
        ok = False
    if not ok:
        raise FixError(f"the revision cannot be written in {encoding}; not fixed")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(out)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, stat.S_IMODE(st.st_mode))
        # Last check, as close to the rename as it can be: an editor saving the file
        # while the scan ran wins over the fix.
        if digest(path.read_bytes()) != document.meta.get("digest"):
            raise FixError("changed since it was scanned; not fixed")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
