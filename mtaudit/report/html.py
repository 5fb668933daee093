"""``--format html``: one self-contained, annotated report for editors.

The file has inline CSS and JavaScript and makes no network request, so it opens from
disk. Documents travel as JSON in a ``<script type="application/json">`` block and the
script turns one page (50 documents) at a time into DOM, which keeps a 1,000-document
report responsive.

Streaming trade-off: the index must be sorted by ``mt_probability``, which is known only
once every document has arrived. Each document's compact JSON is therefore spooled to an
anonymous temporary file as it arrives; memory holds just ``(probability, offset, length)``
per document, and ``finish`` copies the spooled blobs into the HTML in sorted order. The
browser, not Python, ends up holding the whole corpus (as it must, for one file).

Security: document text is untrusted. In the data block ``<``, ``>``, ``&`` and U+2028/9
are written as ``\\uXXXX`` escapes, so no text can close the script element; the renderer
uses DOM text APIs only; and a Content-Security-Policy pins the page's own script and
style by hash, so even injected markup could not run.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import tempfile
from functools import cache
from importlib import resources
from typing import IO, Any

from mtaudit import __version__
from mtaudit.model import CATEGORIES, DocumentReport, InputError, Summary
from mtaudit.report import Reporter
from mtaudit.report.diff import revise, revision_dict
from mtaudit.report.serialize import error_dict, finding_dict, summary_dict

DATA_SCHEMA = "mtaudit/html-data-v1"
_SCRIPT_ESCAPES = {
    ord("<"): "\\u003c",
    ord(">"): "\\u003e",
    ord("&"): "\\u0026",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}


def script_json(value: Any) -> str:
    """JSON that is safe inside a ``<script>`` element (cannot close it or open a comment).

    The escaped characters can only occur inside JSON strings, where ``\\uXXXX`` means the
    same character, so ``JSON.parse`` returns the original data.
    """
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).translate(_SCRIPT_ESCAPES)


def utf16_offsets(text: str) -> Any:
    """A function mapping Python (code point) offsets to JavaScript (UTF-16) offsets."""
    if text.isascii() or all(ord(c) < 0x10000 for c in text):
        return lambda i: i
    prefix = [0]
    for c in text:
        prefix.append(prefix[-1] + (2 if ord(c) >= 0x10000 else 1))
    return lambda i: prefix[i]


def html_document_dict(report: DocumentReport, failed: bool) -> dict[str, Any]:
    """The compact per-document data the page renders (offsets in UTF-16 code units)."""
    doc = report.document
    to16 = utf16_offsets(doc.text)
    rev = revise(doc.text, report.findings)
    skipped = set(rev.skipped)
    findings = []
    counts = dict.fromkeys(CATEGORIES, 0)
    for i, f in enumerate(report.findings):
        d = finding_dict(f, doc)
        counts[f.category] = counts.get(f.category, 0) + 1
        findings.append(
            {
                "code": f.code,
                "category": f.category,
                "severity": d["severity"],
                "confidence": f.confidence,
                "start": to16(f.start),
                "end": to16(f.end),
                "line": d["line"],
                "column": d["column"],
                "text": f.text,
                "message": f.message,
                "suggestion": f.suggestion,
                "evidence": f.evidence,
                "source_language": f.source_language,
                "hunk": rev.hunk_of(i),
                "skipped": i in skipped,
                "baselined": bool(d.get("baselined")),
            }
        )
    return {
        "id": doc.id,
        "path": doc.path,
        "format": doc.format,
        "verdict": report.verdict,
        "p": report.mt_probability,
        "pt": report.translated_probability,
        "reasons": list(report.reasons),
        "lang": report.source_language,
        "failed": failed,
        "counts": counts,
        "text": doc.text,
        "findings": findings,
        "diff": revision_dict(rev) if rev.hunks else None,
    }


@cache
def _asset(name: str) -> str:
    return resources.files("mtaudit.report").joinpath("assets", name).read_text(encoding="utf-8")


def _csp_hash(content: str) -> str:
    digest = hashlib.sha256(content.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def rules_dict() -> dict[str, dict[str, str]]:
    """Rule name and summary per code, shown beside each finding."""
    from mtaudit.detectors import all_rules

    return {r.code: {"name": r.name, "summary": r.summary} for r in all_rules()}


class Spool:
    """Blobs written to an anonymous temp file, read back later in any order."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile("w+b")
        self._entries: list[tuple[int, int]] = []

    def add(self, blob: str) -> int:
        """Store ``blob``; returns its index."""
        data = blob.encode("utf-8")
        self._file.seek(0, 2)
        self._entries.append((self._file.tell(), len(data)))
        self._file.write(data)
        return len(self._entries) - 1

    def get(self, index: int) -> str:
        offset, length = self._entries[index]
        self._file.seek(offset)
        return self._file.read(length).decode("utf-8")

    def close(self) -> None:
        self._file.close()


class SpooledReporter(Reporter):
    """A reporter that spools documents and writes everything at ``finish`` (HTML, Markdown).

    Documents are sorted by probability before anything is written, so they wait in a
    temp-file :class:`Spool` rather than in memory; subclasses implement ``_write``.
    """

    def __init__(self, stream: IO[str], **options: Any) -> None:
        super().__init__(stream, **options)
        self._spool = Spool()
        self._errors: list[InputError] = []
        self._signature = ""

    def error(self, error: InputError) -> None:
        self._errors.append(error)

    def finish(self, summary: Summary) -> None:
        try:
            self._write(summary)
        finally:
            self._spool.close()

    def _write(self, summary: Summary) -> None:
        raise NotImplementedError


class HtmlReporter(SpooledReporter):
    """Spools each document, then writes the page with documents sorted by probability."""

    def __init__(self, stream: IO[str], **options: Any) -> None:
        super().__init__(stream, **options)
        self._order: list[tuple[float, int]] = []  # (-mt_probability, spool index)

    def start(self, signature: str) -> None:
        self._signature = signature

    def document(self, report: DocumentReport, failed: bool) -> None:
        index = self._spool.add(script_json(html_document_dict(report, failed)))
        self._order.append((-report.mt_probability, index))

    def _write(self, summary: Summary) -> None:
        css, js = _asset("report.css"), _asset("report.js")
        csp = (
            "default-src 'none'; "
            f"style-src {_csp_hash(css)}; script-src {_csp_hash(js)}; "
            "img-src 'none'; base-uri 'none'; form-action 'none'"
        )
        title = f"mtaudit report — {summary.documents} document{'s' * (summary.documents != 1)}"
        w = self.stream.write
        w(
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f'<meta http-equiv="Content-Security-Policy" content="{html.escape(csp)}">\n'
            f'<meta name="generator" content="mtaudit {html.escape(__version__)}">\n'
            f"<title>{html.escape(title)}</title>\n<style>{css}</style>\n</head>\n<body>\n"
            '<a class="skip" href="#documents">Skip to documents</a>\n'
            "<header>\n<h1>mtaudit report</h1>\n"
            '<p id="summary" aria-live="polite">Loading…</p>\n'
            '<p class="sig muted">Signature: <span id="signature"></span></p>\n</header>\n'
            "<noscript><p>This report is drawn by JavaScript from the data embedded in the "
            "file (a JSON block near the end).</p></noscript>\n<main>\n"
            '<section id="controls" aria-label="Filters"></section>\n'
            '<section id="index" aria-label="Document index"></section>\n'
            '<section id="documents" aria-label="Documents"></section>\n</main>\n'
            '<script type="application/json" id="mtaudit-data">'
        )
        head = {
            "schema": DATA_SCHEMA,
            "generator": f"mtaudit {__version__}",
            "signature": summary.signature or self._signature,
            "categories": list(CATEGORIES),
            "summary": summary_dict(summary),
            "errors": [error_dict(e) for e in self._errors],
            "rules": rules_dict(),
        }
        # Splice the spooled documents into the head object without re-parsing them.
        w(script_json(head)[:-1] + ',"documents":[')
        for n, (_, index) in enumerate(sorted(self._order)):
            w(("," if n else "") + self._spool.get(index))
        w("]}</script>\n")
        w(f"<script>{js}</script>\n</body>\n</html>\n")


def extract_data(page: str) -> dict[str, Any]:
    """The JSON data embedded in a report page (for tests and tools)."""
    marker = '<script type="application/json" id="mtaudit-data">'
    start = page.index(marker) + len(marker)
    end = page.index("</script>", start)
    return json.loads(page[start:end])
