"""Reporters: one module per output format, all fed the same stream of results.

Like flake8's formatters, a reporter gets ``start`` once, ``document``/``error`` for each
result as the scan streams, and ``finish`` with the run summary, so no format needs the
whole corpus in memory. Output to a file is written to a temporary file beside it and
renamed into place at the end (atomic: readers never see half a report).
"""

from __future__ import annotations

import importlib
import os
import sys
import tempfile
from pathlib import Path
from typing import IO, Any

from mtaudit.model import DocumentReport, InputError, Summary

# format name -> "module:Class"; imported on use so a JSON scan never loads rich.
FORMATS: dict[str, str] = {
    "terminal": "mtaudit.report.terminal:TerminalReporter",
    "json": "mtaudit.report.json:JsonReporter",
    "html": "mtaudit.report.html:HtmlReporter",
    "markdown": "mtaudit.report.markdown:MarkdownReporter",
    "sarif": "mtaudit.report.sarif:SarifReporter",
    "github": "mtaudit.report.github:GithubReporter",
}


class Reporter:
    """Base reporter; subclasses override the hooks they need."""

    def __init__(self, stream: IO[str], **options: Any) -> None:
        self.stream = stream
        self.options = options

    def start(self, signature: str) -> None:
        """Called once before the first result."""

    def document(self, report: DocumentReport, failed: bool) -> None:
        """Called for each audited document."""

    def error(self, error: InputError) -> None:
        """Called for each input that could not be read."""

    def finish(self, summary: Summary) -> None:
        """Called once after the last result."""


def reporter_class(fmt: str) -> type[Reporter]:
    """The reporter class for a format name."""
    try:
        target = FORMATS[fmt]
    except KeyError:
        raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}") from None
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


class AtomicOutput:
    """A text stream to ``path`` that only appears there when closed without error."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, self._tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        # mkstemp creates 0600; a report is a normal file for whoever shares or serves it.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(self._tmp, 0o666 & ~umask)
        self.stream: IO[str] = os.fdopen(fd, "w", encoding="utf-8", newline="\n")

    def commit(self) -> None:
        self.stream.flush()
        os.fsync(self.stream.fileno())
        self.stream.close()
        os.replace(self._tmp, self.path)

    def abort(self) -> None:
        self.stream.close()
        try:
            os.unlink(self._tmp)
        except FileNotFoundError:
            pass


def stdout() -> IO[str]:
    return sys.stdout
