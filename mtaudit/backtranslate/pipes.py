"""A long-lived child pipeline spoken to through null-flushed pipes (Apertium, ``lt-proc``).

Its owner ends it with :meth:`PipelineProcess.close`. One whose owner never does (an
engine dropped without ``close()``, one still open when the interpreter exits) is ended
by a finalizer all the same: otherwise the pipeline outlives its use, waiting on a pipe
that stays open until the garbage collector happens to find it, and its pipes are
reported as unclosed files at exit.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
import weakref
from collections.abc import Sequence

from mtaudit.backtranslate.engine import EngineError
from mtaudit.pollfd import readable as _readable

# Linux pipes hold 64 KiB; smaller writes complete without a reader.
_PIPE_SAFE_BYTES = 16 * 1024
# Seconds a pipeline gets to exit on EOF before its process group is killed.
_EXIT_WAIT = 2.0
# Every pipeline started and not closed yet (see open_pipelines).
_OPEN: weakref.WeakSet[PipelineProcess] = weakref.WeakSet()
# How many were ended by the garbage collector or at exit, never closed (dropped_pipelines).
_DROPPED = [0]


def utf8_env() -> dict[str, str]:
    """The environment with a UTF-8 locale, for Apertium's tools."""
    # lttoolbox reads its input as wide characters: under a C/POSIX locale accented letters
    # become unknown bytes. C.UTF-8 exists on every Debian/Ubuntu system.
    env = dict(os.environ)
    if "utf" not in (env.get("LC_ALL") or env.get("LC_CTYPE") or env.get("LANG") or "").lower():
        env["LC_ALL"] = "C.UTF-8"
    return env


def _close_pipes(proc: subprocess.Popen[bytes]) -> None:
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            with contextlib.suppress(OSError, ValueError):
                stream.close()


def _end(proc: subprocess.Popen[bytes], owner: int, kill: bool, closing: list[bool]) -> None:
    """Close the pipes (the pipeline exits on EOF) and reap it; kill its group if it does
    not exit in time, or at once with ``kill``. ``closing[0]``: its owner closed it.

    In a forked child (``--jobs``) only the child's copies of the pipes are closed: the
    pipeline is the parent's to end.
    """
    _close_pipes(proc)
    if os.getpid() != owner:
        return
    if not closing[0]:
        _DROPPED[0] += 1
    if not kill:
        try:
            proc.wait(timeout=_EXIT_WAIT)
            return
        except subprocess.TimeoutExpired:
            pass
    with contextlib.suppress(OSError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=5)


def dropped_pipelines() -> int:
    """How many pipelines of this process were ended only because their owner was dropped
    (or the interpreter exited) without closing them: each lived on until then."""
    return _DROPPED[0]


def open_pipelines() -> dict[int, str]:
    """pid -> command of the pipelines this process started and has not closed (nor
    dropped): after a scan, or a test module, there should be none."""
    pid = os.getpid()
    return {p.pid: p.command for p in list(_OPEN) if p._owner == pid and p._finalizer.alive}


class PipelineProcess:
    """One part of a null-flush pipeline: a shell pipeline in its own session."""

    def __init__(self, command: str, stderr: bool = False) -> None:
        # $1 = -n: no unknown-word marks in generation (the wrapper's -u); $2: tagger
        # options, -d: report unknown ambiguity classes (see mtaudit.backtranslate.apertium).
        self.proc = subprocess.Popen(
            ["bash", "-c", command, "apertium", "-n", "-d"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE if stderr else subprocess.DEVNULL,
            env=utf8_env(),
            start_new_session=True,  # so close() can end the whole pipeline, not just bash
        )
        self.command = command
        self._buffer = b""
        self._owner = os.getpid()
        self._closing = [False]
        # Holds the Popen, not self: it runs when this object is collected or at exit.
        self._finalizer = weakref.finalize(self, _end, self.proc, self._owner, False, self._closing)
        _OPEN.add(self)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def exchange(self, segments: Sequence[bytes], deadline: float) -> list[bytes]:
        """Write each segment with a ``\\0`` after it; read one reply per segment.

        A writer thread feeds the pipe while this thread reads: writing everything first
        would deadlock once both pipe buffers fill up.
        """
        payload = b"".join(seg + b"\0" for seg in segments)
        stdin = self.proc.stdin
        assert stdin is not None and self.proc.stdout is not None
        errors: list[BaseException] = []

        def write() -> None:
            try:
                stdin.write(payload)
                stdin.flush()
            except (OSError, ValueError) as exc:
                errors.append(exc)

        # A payload that fits in the pipe cannot block: write it here (the tagger gets one
        # short text at a time, and a thread per text would cost more than the text).
        writer = threading.Thread(target=write, daemon=True)
        if len(payload) <= _PIPE_SAFE_BYTES:
            write()
        else:
            writer.start()
        fd = self.proc.stdout.fileno()
        outputs: list[bytes] = []
        while True:
            *done, self._buffer = self._buffer.split(b"\0")
            outputs.extend(done)
            if len(outputs) >= len(segments):
                break
            left = deadline - time.monotonic()
            if left <= 0:
                raise EngineError("no answer from the Apertium pipeline in time")
            if not _readable(fd, left):
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                raise EngineError("the Apertium pipeline exited")
            self._buffer += chunk
        if writer.is_alive():
            writer.join(timeout=1)
        if errors:
            raise EngineError(f"cannot write to the Apertium pipeline: {errors[0]}")
        if len(outputs) != len(segments) or self._buffer:
            raise EngineError("the Apertium pipeline answered out of step")
        return outputs

    def said_something(self) -> bool:
        """Whether the process wrote to stderr since the last call (drains what it wrote)."""
        err = self.proc.stderr
        if err is None:
            return False
        said = False
        while _readable(err.fileno(), 0):
            if not os.read(err.fileno(), 1 << 16):
                break  # EOF: the process is gone; the next exchange says so
            said = True
        return said

    def retire(self) -> None:
        """Close the pipes without waiting: the process ends on EOF (reap with close, or
        with ``alive()`` once it has exited)."""
        self._closing[0] = True  # ended on purpose, even if only collected later
        _close_pipes(self.proc)

    def close(self) -> None:
        """End the process: EOF first, the whole group killed if it does not exit."""
        self._closing[0] = True
        self._finalizer()

    def kill(self) -> None:
        """Kill the process group now (a hung stage never reads its stdin again)."""
        if self._finalizer.detach() is not None:  # not closed yet
            _end(self.proc, os.getpid(), True, [True])
