"""Atomic output files: written beside the target, renamed into place when complete.

Used by every writer of a file that others read while it changes (reports, the decisions
file, Ray's result shards): a reader sees the old file or the new one, never half of one.
It sits at the bottom of the layers (nothing but the standard library) so that the
known-findings files and the reporters can both use it.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
import weakref
from pathlib import Path
from typing import IO, Any


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
        if is_special(self.path):
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


def is_special(path: Path | str) -> bool:
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
