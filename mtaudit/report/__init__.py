"""Reporters: one module per output format, all fed the same stream of results.

Like flake8's formatters, a reporter gets ``start`` once, ``document``/``error`` for each
result as the scan streams, and ``finish`` with the run summary, so no format needs the
whole corpus in memory. Output to a file is written to a temporary file beside it and
renamed into place at the end (:mod:`mtaudit.atomicfile`: readers never see half a
report).

Reporters only read what they are given: the reports and, for the formats that name or
describe rules, the rule catalogue passed as ``rules=``. So this layer never imports the
detectors (it sits above them, but a report must not depend on how findings are made).
"""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Sequence
from typing import IO, Any, Protocol

from mtaudit.model import DocumentReport, InputError, Severity, Summary

# format name -> "module:Class"; imported on use so a JSON scan never loads rich.
FORMATS: dict[str, str] = {
    "terminal": "mtaudit.report.terminal:TerminalReporter",
    "json": "mtaudit.report.json:JsonReporter",
    "html": "mtaudit.report.html:HtmlReporter",
    "markdown": "mtaudit.report.markdown:MarkdownReporter",
    "sarif": "mtaudit.report.sarif:SarifReporter",
    "github": "mtaudit.report.github:GithubReporter",
    "concise": "mtaudit.report.concise:ConciseReporter",
}


class RuleInfo(Protocol):
    """What a reporter reads of a rule: :class:`mtaudit.detectors.Rule` has all of it."""

    @property
    def code(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def summary(self) -> str: ...
    @property
    def why(self) -> str: ...
    @property
    def example(self) -> str: ...
    @property
    def fix(self) -> str: ...
    @property
    def severity(self) -> Severity: ...


class Reporter:
    """Base reporter; subclasses override the hooks they need.

    ``rules`` is the catalogue of every rule a scan can report, sorted by code (the CLI
    passes :func:`mtaudit.detectors.all_rules`); formats that name rules fall back to the
    bare code without it.
    """

    def __init__(self, stream: IO[str], *, rules: Sequence[RuleInfo] = (), **options: Any) -> None:
        self.stream = stream
        self.rules = tuple(rules)
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


# Unicode bidi controls: embeddings, overrides, isolates, marks (LRM, RLM, ALM). An
# override in a document id or text reverses what follows it on screen ("txt.exe" shown
# for "exe.txt"), so none reaches a terminal or a report page raw.
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_UNSAFE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{BIDI_CONTROLS}]")
_UNSAFE_ONE_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f{BIDI_CONTROLS}]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # the Control Pictures block: ESC -> ␛, CR -> ␍
    if code == 0x7F:
        return "\u2421"  # ␡
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def terminal_safe(text: str, one_line: bool = False) -> str:
    """Document-derived ``text`` made safe to print: control characters shown, not obeyed.

    Article text, ids, paths and findings are untrusted: an ESC sequence in them could set
    the terminal's title, clear the screen or forge output, a CR overwrite a line, and a
    bidi override reverse it. C0 controls (but newline and tab, unless ``one_line``) and
    DEL become their Control Pictures symbols (``␛``); C1 controls and bidi controls
    become escape text (``\\x9b``, ``\\u202e``). Every terminal path uses this: the
    terminal report, ``show``, ``review``, the ``github`` and ``markdown`` formats and the
    CLI's messages.
    """
    if one_line:
        return _UNSAFE_ONE_LINE.sub(_visible, text)
    return _UNSAFE.sub(_visible, text.replace("\r\n", "\n"))


def stdout() -> IO[str]:
    return sys.stdout
