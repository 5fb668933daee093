"""``--format concise``: one line per finding, as flake8 and ruff print them.

``path:line:col: CODE message`` for a file (line and column in the file itself, through
the reader's source map), ``path:line: [id] CODE message`` for a JSONL record (its line in
the ``.jsonl`` file). Every line is terminal-safe and never wraps, so a failed pre-commit
hook or a CI log shows one finding a line. Baselined findings are not listed (a count
closes the output); unreadable inputs are ``path: error: message``.
"""

from __future__ import annotations

from typing import IO, Any

from mtaudit.model import DocumentReport, Finding, InputError, Summary
from mtaudit.report import Reporter, terminal_safe
from mtaudit.report.sarif import jsonl_line, position


def concise_line(report: DocumentReport, f: Finding) -> str:
    """The one line for a finding."""
    doc = report.document
    line, col = position(doc, f.start)
    path = doc.path or doc.id
    record = jsonl_line(doc)
    if record is not None:
        where = f"{path}:{record}: [{doc.id}]"
    else:
        where = f"{path}:{line}:{col}:"
    message = " ".join(f.message.split())
    return terminal_safe(f"{where} {f.code} {message}", one_line=True)


class ConciseReporter(Reporter):
    """Writes each finding's line as documents stream past; a count line at the end."""

    def __init__(self, stream: IO[str], **options: Any) -> None:
        super().__init__(stream, **options)
        self._shown = 0

    def document(self, report: DocumentReport, failed: bool) -> None:
        for f in report.findings:
            if not f.baselined:
                self.stream.write(concise_line(report, f) + "\n")
                self._shown += 1

    def error(self, error: InputError) -> None:
        line = terminal_safe(f"{error.path}: error: {error.message}", one_line=True)
        self.stream.write(line + "\n")

    def finish(self, summary: Summary) -> None:
        found = f"Found {self._shown} finding{'s' * (self._shown != 1)}"
        if summary.baselined:
            found += f" ({summary.baselined} baselined, not shown)"
        self.stream.write(
            f"{found} in {summary.documents} document{'s' * (summary.documents != 1)}; "
            f"{summary.failed_documents} failed the gate.\n"
        )
        self.stream.flush()
