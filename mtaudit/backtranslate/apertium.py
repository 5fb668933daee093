"""The ``apertium`` engine: Debian's rule-based MT, one long-lived process per direction.

Starting an Apertium pipeline costs ~0.2 s (a dozen processes load their transducers), a
sentence then costs ~1 ms, so the engine keeps one pipeline per direction for the whole
scan. The ``apertium`` wrapper script cannot be used for that: its text deformatter and
its gawk wrapper buffer until end of input even with ``-z``. Instead the engine asks
``apertium-wblank-mode -z`` for the direction's pipeline in null-flush mode (every stage
flushes its output when it reads ``\\0``) and runs that pipeline itself: each text is
written escaped (the stream format reserves ``^$[]/@<>{}\\``) and terminated by ``\\n\\0``,
and comes back terminated by ``\\0``. The newline matters: lttoolbox 3.7 in bilingual mode
waits for one more character after ``$`` before it flushes, and drops a final period.

When the null-flush pipeline cannot be built or does not answer its start-up probe, the
engine falls back to one ``apertium -u PAIR`` call per batch, the texts separated by a
marker line that Apertium passes through untouched (an unknown word).
"""

from __future__ import annotations

import hashlib
import os
import re
import select
import shutil
import subprocess
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from mtaudit.backtranslate import Engine, EngineError

# ISO 639-1 -> the ISO 639-3 codes Apertium names its modes with.
ISO3 = {"en": "eng", "es": "spa", "fr": "fra", "de": "deu", "it": "ita", "pt": "por"}
INSTALL_HINT = "apt-get install apertium apertium-eng-spa"

# Seconds to wait for the start-up probe, then per batch: a floor plus a per-text allowance
# (a long sentence is a few ms; a hung pipeline should not stall a scan for minutes).
_PROBE_TIMEOUT = 20.0
_BATCH_TIMEOUT = 30.0
_PER_TEXT_TIMEOUT = 0.5
_RESERVED = re.compile(r"([\\^$\[\]/@<>{}~])")
_ESCAPED = re.compile(r"\\(.)")
_SEPARATOR = "MTAUDITSEPARATOR"


def datadir() -> Path:
    """Apertium's data folder: ``$APERTIUM_DATADIR`` or the one the wrapper script names."""
    env = os.environ.get("APERTIUM_DATADIR")
    if env:
        return Path(env)
    exe = shutil.which("apertium")
    if exe:
        try:
            head = Path(exe).read_text(encoding="utf-8", errors="replace")[:2000]
        except OSError:
            head = ""
        m = re.search(r'APERTIUM_DATADIR="\$\{APERTIUM_DATADIR:-([^}"]+)\}"', head)
        if m:
            return Path(m.group(1))
        return Path(exe).resolve().parent.parent / "share" / "apertium"
    return Path("/usr/share/apertium")


def mode_name(src: str, tgt: str) -> str:
    """``("en", "es") -> "eng-spa"``."""
    return f"{ISO3.get(src, src)}-{ISO3.get(tgt, tgt)}"


def escape(text: str) -> str:
    """A plain text as Apertium stream input: reserved characters escaped, one line, no NUL."""
    return _RESERVED.sub(r"\\\1", " ".join(text.replace("\0", " ").split()))


def unescape(text: str) -> str:
    """Apertium stream output as plain text."""
    return " ".join(_ESCAPED.sub(r"\1", text).split())


def _utf8_env() -> dict[str, str]:
    # lttoolbox reads its input as wide characters: under a C/POSIX locale accented letters
    # become unknown bytes. C.UTF-8 exists on every Debian/Ubuntu system.
    env = dict(os.environ)
    if "utf" not in (env.get("LC_ALL") or env.get("LC_CTYPE") or env.get("LANG") or "").lower():
        env["LC_ALL"] = "C.UTF-8"
    return env


class _Stream:
    """One null-flush Apertium pipeline for one direction, reused for every batch."""

    def __init__(self, pipeline: str) -> None:
        # $1 = -n: no unknown-word marks in generation (the wrapper's -u); $2: tagger options.
        self.proc = subprocess.Popen(
            ["bash", "-c", pipeline, "apertium", "-n", ""],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=_utf8_env(),
            start_new_session=True,  # so close() can end the whole pipeline, not just bash
        )
        self._buffer = b""

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def translate(self, texts: Sequence[str], timeout: float) -> list[str]:
        """Translate ``texts``; a writer thread feeds the pipe while this thread reads.

        Writing everything first would deadlock once both pipe buffers fill up.
        """
        payload = b"".join(escape(t).encode("utf-8") + b"\n\0" for t in texts)
        stdin = self.proc.stdin
        assert stdin is not None and self.proc.stdout is not None
        errors: list[BaseException] = []

        def write() -> None:
            try:
                stdin.write(payload)
                stdin.flush()
            except (OSError, ValueError) as exc:
                errors.append(exc)

        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        outputs: list[bytes] = []
        while len(outputs) < len(texts):
            *done, self._buffer = self._buffer.split(b"\0")
            outputs.extend(done)
            if len(outputs) >= len(texts):
                break
            left = deadline - time.monotonic()
            if left <= 0:
                raise EngineError(f"no answer from the Apertium pipeline within {timeout:.0f}s")
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                raise EngineError("the Apertium pipeline exited")
            self._buffer += chunk
        writer.join(timeout=1)
        if errors:
            raise EngineError(f"cannot write to the Apertium pipeline: {errors[0]}")
        if len(outputs) != len(texts) or self._buffer:
            raise EngineError("the Apertium pipeline answered out of step")
        return [unescape(o.decode("utf-8", errors="replace")) for o in outputs]

    def close(self) -> None:
        if self.proc.stdin:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
        try:
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.proc.pid, 15)
            except OSError:
                pass
            self.proc.wait(timeout=2)
        if self.proc.stdout:
            self.proc.stdout.close()


class ApertiumEngine(Engine):
    """Apertium through long-lived null-flush pipelines (``eng-spa`` and ``spa-eng``)."""

    name = "apertium"

    def __init__(self, streaming: bool = True) -> None:
        super().__init__()
        self.streaming = streaming
        self._streams: dict[str, _Stream] = {}
        self._signature: str | None = None
        # Seconds each direction's pipeline took to start and answer its probe (for bench).
        self.startup_s: dict[str, float] = {}

    # --- discovery ----------------------------------------------------------------------

    def modes(self) -> set[str]:
        """Installed translation directions (``eng-spa``, ``spa-eng``, ...)."""
        folder = datadir() / "modes"
        try:
            return {p.stem for p in folder.glob("*.mode")}
        except OSError:
            return set()

    def available(self) -> bool:
        return shutil.which("apertium") is not None and bool(self.modes())

    def unavailable_reason(self) -> str:
        if shutil.which("apertium") is None:
            return f"apertium not found ({INSTALL_HINT})"
        return f"apertium has no language pairs installed ({INSTALL_HINT})"

    def supports(self, src: str, tgt: str) -> bool:
        return mode_name(src, tgt) in self.modes()

    @property
    def signature(self) -> str:
        """Apertium's version plus a digest of the installed modes and their data files."""
        if self._signature is None:
            try:
                version = subprocess.run(
                    ["apertium", "-V"], capture_output=True, text=True, timeout=10, check=False
                ).stdout.split()[-1]
            except (OSError, IndexError, subprocess.SubprocessError):
                version = "unknown"
            h = hashlib.sha256()
            for mode in sorted((datadir() / "modes").glob("*.mode")):
                text = mode.read_text(encoding="utf-8", errors="replace")
                h.update(mode.name.encode() + text.encode())
                # Data files by size and mtime: cheap, and a package upgrade changes them.
                for data in sorted(set(re.findall(r"'([^']+\.bin)'", text))):
                    try:
                        st = os.stat(data)
                        h.update(f"{data}:{st.st_size}:{int(st.st_mtime)}".encode())
                    except OSError:
                        pass
            self._signature = f"apertium:{version}|data.{h.hexdigest()[:10]}"
        return self._signature

    # --- translation --------------------------------------------------------------------

    def stream(self, mode: str) -> _Stream | None:
        """The running pipeline for ``mode``, started (and probed) on first use."""
        s = self._streams.get(mode)
        if s is not None and s.alive():
            return s
        if not self.streaming:
            return None
        pipeline = self._pipeline(mode)
        if pipeline is None:
            self.streaming = False
            return None
        t0 = time.perf_counter()
        s = _Stream(pipeline)
        try:
            s.translate(["probe"], _PROBE_TIMEOUT)
        except EngineError:
            s.close()
            self.streaming = False  # this install cannot stream; batch calls from now on
            return None
        self.startup_s[mode] = time.perf_counter() - t0
        self._streams[mode] = s
        return s

    def _pipeline(self, mode: str) -> str | None:
        """The direction's shell pipeline in null-flush mode, or None when unavailable."""
        path = datadir() / "modes" / f"{mode}.mode"
        if shutil.which("apertium-wblank-mode") is None or not path.exists():
            return None
        try:
            out = subprocess.run(
                ["apertium-wblank-mode", "-z", str(path)],
                capture_output=True,
                text=True,
                timeout=10,
                check=True,
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return None
        return out or None

    def _translate(self, texts: Sequence[str], src: str, tgt: str) -> list[str]:
        mode = mode_name(src, tgt)
        if mode not in self.modes():
            raise EngineError(f"Apertium has no {mode} pair")
        out: list[str] = [""] * len(texts)
        todo = [i for i, t in enumerate(texts) if t.strip()]
        if not todo:
            return out
        batch = [texts[i] for i in todo]
        s = self.stream(mode)
        if s is not None:
            try:
                done = s.translate(batch, _BATCH_TIMEOUT + _PER_TEXT_TIMEOUT * len(batch))
            except EngineError:
                # A pipeline that is out of step cannot be trusted for the next batch.
                s.close()
                self._streams.pop(mode, None)
                raise
        else:
            done = self._oneshot(mode, batch)
        for i, text in zip(todo, done, strict=True):
            out[i] = text
        return out

    def _oneshot(self, mode: str, texts: Sequence[str]) -> list[str]:
        """One ``apertium -u MODE`` call for the whole batch, texts split by a marker line."""
        joined = f"\n\n{_SEPARATOR}\n\n".join(" ".join(t.split()) for t in texts)
        timeout = _BATCH_TIMEOUT + _PER_TEXT_TIMEOUT * len(texts)
        try:
            proc = subprocess.run(
                ["apertium", "-u", mode],
                input=joined,
                capture_output=True,
                text=True,
                timeout=timeout,
                env=_utf8_env(),
                check=False,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise EngineError(f"apertium {mode} failed: {exc}") from None
        parts = [" ".join(p.split()) for p in re.split(rf"\s*{_SEPARATOR}\.?\s*", proc.stdout)]
        if proc.returncode != 0 or len(parts) != len(texts):
            raise EngineError(f"apertium {mode} failed: {proc.stderr.strip()[-300:]}")
        return parts

    def pids(self) -> dict[str, int]:
        """PIDs of the running pipelines by direction (to check they are reused)."""
        return {m: s.pid for m, s in self._streams.items() if s.alive()}

    def close(self) -> None:
        for s in self._streams.values():
            s.close()
        self._streams.clear()
