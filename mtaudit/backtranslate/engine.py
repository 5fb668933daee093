"""The engine interface, the engine chooser and the fallback marks on signatures.

Engines share one interface, :class:`Engine` (batched ``translate``, ``signature``,
``available``), and are chosen by a spec string with :func:`get_engine`. Split from
:mod:`mtaudit.backtranslate`, which re-exports every public name here.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, ClassVar

from mtaudit.model import Finding

if TYPE_CHECKING:
    from mtaudit.idiommatch import Glossary

ENGINES = ("auto", "dictionary", "apertium", "marian", "marian:PATH")

Warn = Callable[[str], None]


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class EngineError(RuntimeError):
    """An engine could not translate a batch (process died, model failed to load, ...)."""


class Engine:
    """A translation engine: batched ``translate``, a ``signature`` for the cache key.

    Subclasses implement :meth:`_translate`; :meth:`translate` counts calls (the tests
    prove the cache by counting them) and turns any failure into :class:`EngineError`.
    """

    name: ClassVar[str] = "engine"

    def __init__(self) -> None:
        self.calls = 0
        self.texts_translated = 0

    def available(self) -> bool:
        """Whether the engine can run here (binaries, packages, model files present)."""
        return True

    def unavailable_reason(self) -> str:
        """One line saying what is missing and how to install it."""
        return f"{self.name} is not available"

    def supports(self, src: str, tgt: str) -> bool:
        """Whether this engine translates ``src -> tgt`` (ISO 639-1 codes, ``en`` included)."""
        return True

    @property
    def signature(self) -> str:
        """Identifies the engine, its version and its data: part of every cache key."""
        return self.name

    def translate(self, texts: Sequence[str], src: str, tgt: str) -> list[str]:
        """Translate ``texts`` from ``src`` to ``tgt``, one output per input, in order."""
        texts = list(texts)
        if not texts:
            return []
        self.calls += 1
        self.texts_translated += len(texts)
        try:
            out = self._translate(texts, src, tgt)
        except EngineError:
            raise
        except Exception as exc:  # noqa: BLE001 - a broken engine must not end a scan
            raise EngineError(f"{self.name} failed: {exc}") from exc
        if len(out) != len(texts):
            raise EngineError(f"{self.name} returned {len(out)} outputs for {len(texts)} inputs")
        return out

    def _translate(self, texts: Sequence[str], src: str, tgt: str) -> list[str]:
        raise NotImplementedError

    def close(self) -> None:
        """Release processes and models."""

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def get_engine(
    spec: str = "auto",
    glossaries: Mapping[str, Glossary] | None = None,
    warn: Warn | None = None,
) -> Engine:
    """The engine named by ``spec``, or the dictionary engine when it cannot run here.

    Specs: ``auto`` (apertium if installed, else dictionary; silent), ``dictionary``,
    ``apertium``, ``marian`` (Hugging Face cache) or ``marian:PATH``. A requested engine
    that is missing produces exactly one message through ``warn`` (stderr by default),
    e.g. ``mtaudit: apertium not found (apt-get install ...); using the dictionary engine``.

    Raises:
        ValueError: ``spec`` names no engine (a usage error: the CLI exits with 2).
    """
    from mtaudit.backtranslate.apertium import ApertiumEngine
    from mtaudit.backtranslate.dictionary import DictionaryEngine
    from mtaudit.backtranslate.marian import MarianEngine

    warn = warn or _stderr
    name, _, arg = (spec or "auto").strip().partition(":")
    name = name.lower()
    engine: Engine
    if name == "dictionary" and not arg:
        return DictionaryEngine(glossaries)
    if name == "auto" and not arg:
        apertium = ApertiumEngine()
        return apertium if apertium.available() else DictionaryEngine(glossaries)
    if name == "apertium" and not arg:
        engine = ApertiumEngine()
    elif name == "marian":
        engine = MarianEngine(arg or None)
    else:
        raise ValueError(
            f"unknown back-translation engine {spec!r}; expected one of {', '.join(ENGINES)}"
        )
    if engine.available():
        return engine
    warn(f"mtaudit: {engine.unavailable_reason()}; using the dictionary engine")
    return DictionaryEngine(glossaries)


#: Consecutive failed calls (each already retried by the engine) after which the primary
#: engine is not asked again in the run: a broken install should not cost a timeout per
#: document.
MAX_ENGINE_FAILURES = 3
FALLBACK_MARK = "+fallback:"


def with_fallback(signature: str, fallback: str | None) -> str:
    """``signature`` marked with the engine that stood in for it (idempotent)."""
    if not fallback or f"{FALLBACK_MARK}{fallback}" in signature:
        return signature
    return f"{signature}{FALLBACK_MARK}{fallback}"


def fallback_in(findings: Iterable[Finding]) -> str | None:
    """The stand-in engine named by any finding's back-translation evidence, if any.

    How a run learns of fallbacks in ``--jobs`` workers, which have their own engines.
    """
    for f in findings:
        bt = f.evidence.get("back_translation")
        if isinstance(bt, dict) and bt.get("fallback"):
            return str(bt["fallback"])
    return None
