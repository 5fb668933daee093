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

Two Apertium defects are worked around, so that a text gets the same translation whatever
went through the pipeline before it, in any order or batching (``--jobs``, Ray and a
single process agree):

- **The tagger keeps state between texts.** When ``apertium-tagger`` meets a word whose
  ambiguity class its model does not know ("known": adjective or participle), it looks
  for a similar class and, through a reference, *overwrites its open class* (the tags it
  gives unknown words) with it, for the rest of the process. Every later proper noun is
  then tagged differently, which changes its neighbours ("told" as past or participle).
  No flush resets that. So the pipeline runs in three parts, the tagger alone in the
  middle, fed one text at a time with ``-d``: when it reports an unknown ambiguity class
  (on stderr) it is restarted (~5 ms) before the next text, which therefore always meets
  a fresh tagger.
- **A text ending in ``^`` hangs the pipeline.** ``lrx-proc`` reads an escaped ``\\^``
  after a lexical unit as the start of another one and waits for its ``$``, past the
  ``\\0``: the pipeline never answers. ``~`` is dropped by post-generation even escaped.
  Both travel as look-alike characters (U+02C6, U+02DC) and are restored in the output.

A pipeline that does not answer within the timeout is killed and restarted, and the batch
is tried once more; only then does the call fail (the back-translator falls back to the
dictionary for it, and says so in the run's signature). When the null-flush pipeline
cannot be built or does not answer its start-up probe, the engine falls back to one
``apertium -u PAIR`` call per batch, the texts separated by a marker line that Apertium
passes through untouched (an unknown word).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from mtaudit import indexcache
from mtaudit.backtranslate.engine import Engine, EngineError
from mtaudit.backtranslate.pipes import PipelineProcess as _Process
from mtaudit.backtranslate.pipes import utf8_env as _utf8_env

# ISO 639-1 -> the ISO 639-3 codes Apertium names its modes with.
ISO3 = {"en": "eng", "es": "spa", "fr": "fra", "de": "deu", "it": "ita", "pt": "por"}
INSTALL_HINT = "apt-get install apertium apertium-eng-spa"

# Seconds to wait for the start-up probe, then per batch: a floor plus a per-text allowance
# (a long sentence is a few ms; a hung pipeline should not stall a scan for minutes).
_PROBE_TIMEOUT = 20.0
_BATCH_TIMEOUT = 10.0
_PER_TEXT_TIMEOUT = 0.5
_RESERVED = re.compile(r"([\\^$\[\]/@<>{}])")
_ESCAPED = re.compile(r"\\(.)")
_SEPARATOR = "MTAUDITSEPARATOR"
# Characters the pipeline mishandles even escaped (see the module docstring), sent as
# look-alikes and restored in the output.
_STAND_INS = {"^": "\u02c6", "~": "\u02dc"}
_TO_STAND_IN = str.maketrans(_STAND_INS)
_FROM_STAND_IN = str.maketrans({v: k for k, v in _STAND_INS.items()})
#: Part of the signature (so of every cache key): bumped when the way texts are sent
#: changes what comes back. 2: fresh tagger per text, stand-ins for ^ and ~.
_PROTOCOL = 2


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


def _version() -> str:
    """The last word of ``apertium -V`` (or ``unknown``, not cached). The wrapper prints the
    version written in it: the index cache keeps the answer under the script's digest."""

    def ask() -> str:
        run = subprocess.run(["apertium", "-V"], capture_output=True, text=True, timeout=10)
        return run.stdout.split()[-1]

    key = indexcache.digest("apertiumv", [shutil.which("apertium") or ""])
    try:  # without the wrapper, ask() fails
        return indexcache.cached(key, ask)
    except (OSError, IndexError, subprocess.SubprocessError):
        return "unknown"


def mode_name(src: str, tgt: str) -> str:
    """``("en", "es") -> "eng-spa"``."""
    return f"{ISO3.get(src, src)}-{ISO3.get(tgt, tgt)}"


def escape(text: str) -> str:
    """A plain text as Apertium stream input: reserved characters escaped, one line, no NUL.

    ``^`` and ``~`` become look-alikes that :func:`unescape` turns back.
    """
    text = " ".join(text.replace("\0", " ").split()).translate(_TO_STAND_IN)
    return _RESERVED.sub(r"\\\1", text)


def unescape(text: str) -> str:
    """Apertium stream output as plain text."""
    return " ".join(_ESCAPED.sub(r"\1", text).split()).translate(_FROM_STAND_IN)


def _split_at_tagger(pipeline: str) -> tuple[str, str | None, str]:
    """``(before, tagger, after)`` of a mode's pipeline; ``(pipeline, None, "")`` when it
    has no ``apertium-tagger`` stage (then it runs as one process)."""
    stages = [p.strip() for p in pipeline.split(" | ")]
    at = next((i for i, p in enumerate(stages) if p.startswith("apertium-tagger ")), None)
    if at is None or at == 0 or at == len(stages) - 1:
        return pipeline, None, ""
    return " | ".join(stages[:at]), stages[at], " | ".join(stages[at + 1 :])


class _Stream:
    """One null-flush Apertium pipeline for one direction, reused for every batch.

    Runs as analysis | tagger | the rest, with each text passed through a tagger in its
    start-up state (see the module docstring); a pipeline without a tagger stage runs as
    one process.
    """

    def __init__(self, pipeline: str) -> None:
        before, self._tagger_command, after = _split_at_tagger(pipeline)
        self._before = _Process(before)
        self._tagger = self._start_tagger()
        # A second tagger, loaded while the first works, so that swapping it in costs
        # nothing; started at the first restart only: most scans never restart the tagger
        # (none in 200 news documents), and a tagger process holds ~9 MB.
        self._spare: _Process | None = None
        self._retired: list[_Process] = []
        self._after = _Process(after) if self._tagger_command else None
        #: times the tagger was restarted to forget a text (for tests and bench)
        self.tagger_restarts = 0

    def _start_tagger(self) -> _Process | None:
        return _Process(self._tagger_command, stderr=True) if self._tagger_command else None

    @property
    def pid(self) -> int:
        return self._before.pid

    def alive(self) -> bool:
        parts = (self._before, self._tagger, self._spare, self._after)
        return all(p.alive() for p in parts if p is not None)

    def translate(self, texts: Sequence[str], timeout: float) -> list[str]:
        """Translate ``texts``; raises EngineError when a part does not answer in time."""
        deadline = time.monotonic() + timeout
        segments = [escape(t).encode("utf-8") + b"\n" for t in texts]
        analysed = self._before.exchange(segments, deadline)
        if self._tagger is not None and self._after is not None:
            tagged = [self._tag(seg, deadline) for seg in analysed]
            analysed = self._after.exchange(tagged, deadline)
        return [unescape(o.decode("utf-8", errors="replace")) for o in analysed]

    def _tag(self, segment: bytes, deadline: float) -> bytes:
        """One text through the tagger; a tagger that met an unknown class is replaced."""
        assert self._tagger is not None
        (out,) = self._tagger.exchange([segment], deadline)
        if self._tagger.said_something():
            self._tagger.retire()
            self._retired = [p for p in self._retired if p.alive()] + [self._tagger]
            fresh = self._spare or self._start_tagger()
            self._tagger, self._spare = fresh, self._start_tagger()
            self.tagger_restarts += 1
        return out

    def close(self, kill: bool = False) -> None:
        """Stop every part; ``kill``: at once (the pipeline hung), without waiting."""
        for part in (self._before, self._tagger, self._spare, self._after, *self._retired):
            if part is not None:
                part.kill() if kill else part.close()
        self._retired = []


class ApertiumEngine(Engine):
    """Apertium through long-lived null-flush pipelines (``eng-spa`` and ``spa-eng``)."""

    name = "apertium"

    def __init__(
        self,
        streaming: bool = True,
        *,
        batch_timeout: float = _BATCH_TIMEOUT,
        probe_timeout: float = _PROBE_TIMEOUT,
    ) -> None:
        """
        Args:
            streaming: keep null-flush pipelines (False: one ``apertium -u`` per batch).
            batch_timeout: seconds a batch may take (plus 0.5 s per text) before the
                pipeline counts as hung, is killed and restarted.
            probe_timeout: seconds a new pipeline has to answer its start-up probe.
        """
        super().__init__()
        self.streaming = streaming
        self.batch_timeout = batch_timeout
        self.probe_timeout = probe_timeout
        self._streams: dict[str, _Stream] = {}
        self._signature: str | None = None
        # Seconds each direction's pipeline took to start and answer its probe (for bench).
        self.startup_s: dict[str, float] = {}
        #: pipelines killed and restarted after a timeout or an out-of-step answer
        self.restarts = 0

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
            version = _version()
            h = hashlib.sha256(f"protocol {_PROTOCOL}".encode())
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
            s.translate(["probe"], self.probe_timeout)
        except EngineError:
            s.close()
            self.streaming = False  # this install cannot stream; batch calls from now on
            return None
        self.startup_s[mode] = time.perf_counter() - t0
        self._streams[mode] = s
        return s

    def _drop(self, mode: str) -> None:
        """Kill the direction's pipeline (hung, or out of step): the next call starts one."""
        s = self._streams.pop(mode, None)
        if s is not None:
            s.close(kill=True)

    def _pipeline(self, mode: str) -> str | None:
        """The direction's shell pipeline in null-flush mode, or None when unavailable."""
        path = datadir() / "modes" / f"{mode}.mode"
        tool = shutil.which("apertium-wblank-mode")
        if tool is None or not path.exists():
            return None

        def ask() -> str:
            run = subprocess.run([tool, "-z", str(path)], capture_output=True, timeout=10)
            return run.check_returncode() or run.stdout.decode()

        try:  # kept in the index cache by the bytes of the mode and the tool: ~15 ms a run
            out = indexcache.cached(indexcache.digest("wblank", [path, tool]), ask).strip()
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
        timeout = self.batch_timeout + _PER_TEXT_TIMEOUT * len(batch)
        done: list[str] | None = None
        for attempt in (1, 2):
            s = self.stream(mode)
            if s is None:
                done = self._oneshot(mode, batch)
                break
            try:
                done = s.translate(batch, timeout)
                break
            except EngineError:
                # A pipeline that hung or is out of step cannot be trusted with the next
                # batch: kill it, and try once more on a fresh one.
                self._drop(mode)
                self.restarts += 1
                if attempt == 2:
                    raise
        assert done is not None
        for i, text in zip(todo, done, strict=True):
            out[i] = text
        return out

    def _oneshot(self, mode: str, texts: Sequence[str]) -> list[str]:
        """One ``apertium -u MODE`` call for the whole batch, texts split by a marker line."""
        joined = f"\n\n{_SEPARATOR}\n\n".join(" ".join(t.split()) for t in texts)
        timeout = self.batch_timeout + _PER_TEXT_TIMEOUT * len(texts)
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

    def tagger_restarts(self) -> int:
        """Taggers restarted so far to keep texts independent (see the module docstring)."""
        return sum(s.tagger_restarts for s in self._streams.values())

    def close(self) -> None:
        for s in self._streams.values():
            s.close()
        self._streams.clear()
