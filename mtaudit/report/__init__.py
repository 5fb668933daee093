"""Reporters: one module per output format, all fed the same stream of results.

Like flake8's formatters, a reporter gets ``start`` once, ``document``/``error`` for each
result as the scan streams, and ``finish`` with the run summary, so no format needs the
whole corpus in memory. Output to a file is written to a temporary file beside it and
renamed into place at the end (atomic: readers never see half a report).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
import stat
import sys
import tempfile
import weakref
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
    "concise": "mtaudit.report.concise:ConciseReporter",
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
    """A stream to ``path`` that only appears there when closed without error.

    A regular file (or a new path) is written to a hidden ``.NAME.XXXX`` file beside it
    and renamed into place by :meth:`commit`. A target that exists and is not a regular
    file (``/dev/null``, a FIFO, a socket) is opened and written in place, as a shell
    redirection would: renaming over it would replace the device node with a regular file
    (for root, ``-o /dev/null`` would break every program on the machine that writes to it).

    Open outputs are registered, so :func:`abort_open_outputs` (the CLI's SIGTERM handler)
    can remove their temporary files when the process is told to stop.
    """

    def __init__(self, path: str | os.PathLike[str], *, binary: bool = False) -> None:
        self.path = Path(path)
        self._tmp: str | None = None
        self._done = False
        mode = "wb" if binary else "w"
        text = {} if binary else {"encoding": "utf-8", "newline": "\n"}
        if _is_special(self.path):
            self.stream: IO[Any] = open(self.path, mode, **text)  # noqa: SIM115 - closed in commit/abort
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, self._tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
            # mkstemp creates 0600; a report is a normal file for whoever shares or serves it.
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(self._tmp, 0o666 & ~umask)
            self.stream = os.fdopen(fd, mode, **text)
        self._owner = os.getpid()
        _OPEN.add(self)

    @property
    def in_place(self) -> bool:
        """Whether the target is written directly (it is not a regular file)."""
        return self._tmp is None

    def commit(self) -> None:
        """Flush and move the output into place (for an in-place target: just close it)."""
        if self._done:
            return
        self._done = True
        _OPEN.discard(self)
        try:
            self.stream.flush()
            if self._tmp is not None:
                os.fsync(self.stream.fileno())
            self.stream.close()
            if self._tmp is not None:
                os.replace(self._tmp, self.path)
        except BaseException:
            self._discard()  # disk full, the target a folder...: no temp file left behind
            raise

    def abort(self) -> None:
        """Close without committing: the temporary file is removed, the target untouched."""
        if self._done:
            return
        self._done = True
        _OPEN.discard(self)
        self._discard()

    def _discard(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.stream.close()
        if self._tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._tmp)


# Outputs not yet committed or aborted, for abort_open_outputs (a signal handler).
_OPEN: weakref.WeakSet[AtomicOutput] = weakref.WeakSet()


def _is_special(path: Path) -> bool:
    """Whether ``path`` exists and is not a regular file (a device, FIFO or socket).

    A folder is left to fail as before (mkstemp/rename name the problem).
    """
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def abort_open_outputs() -> None:
    """Abort every output this process opened and has not finished (temp files removed).

    Outputs inherited through ``fork`` belong to the parent and are left alone.
    """
    pid = os.getpid()
    for out in list(_OPEN):
        if out._owner == pid:
            out.abort()


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
