"""Lexical back-translation with Apertium: every bilingual-dictionary alternative of every word.

A full Apertium translation picks one target word per source word (lexical selection) and
one analysis per word (the tagger). To find which *source* idiom an English literal came
from, the choice is the problem: "nail" may have been *uña* or *clavo*. So this runs only
the lexical stages of the English-to-source pipeline, keeping everything:

1. ``lt-proc -w PAIR.automorf.bin``: the English morphological analyser, in context
   (multiword units such as "in front of" are found), every analysis kept (no tagger);
2. ``lt-proc -b PAIR.autobil.bin``: the bilingual dictionary, one lookup per analysis,
   listing every translation (``^nail<n><sg>/uña<n><f><sg>/clavo<n><m><sg>$``);
3. the *source* language's analyser (from the reverse pair) for words the English analyser
   does not know: MT passes through words it cannot translate ("pelos", "varapalo"), and
   those are source words already.

Each stage is a long-lived ``lt-proc -z`` process (null-flush mode, managed by
:class:`mtaudit.backtranslate.apertium._Process`); none keeps state between texts, so the
result of a text never depends on what went before. Dictionary lookups are cached per
analysis, so a long scan sends each distinct word form to the dictionary once.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from mtaudit.backtranslate.apertium import ISO3, _Process, datadir
from mtaudit.backtranslate.engine import EngineError

# ISO 639-1 source languages whose Debian pair with English this module knows how to find
# (the package folder name; the pair's files are named after the ISO 639-3 codes).
PACKAGES = {"es": "apertium-eng-spa", "ca": "apertium-eng-cat", "gl": "apertium-eng-glg"}
ISO3_EXTRA = {"ca": "cat", "gl": "glg"}
# Seconds per exchange before a stage counts as hung (it is then restarted once).
_TIMEOUT = 20.0
# Bound on the per-analysis cache (distinct analyses in a long scan: ~100k at most).
_CACHE_LIMIT = 400_000
_ESCAPE = re.compile(r"([\\^$\[\]/@<>{}*#+~])")
_TAG = re.compile(r"<([^<>]+)>")


def _iso3(lang: str) -> str:
    return ISO3_EXTRA.get(lang) or ISO3.get(lang, lang)


@dataclass(frozen=True)
class Unit:
    """One lexical unit of the analysed text: its surface form and every analysis.

    ``analyses`` are Apertium analyses (``throw<vblex><past>``), joined ones kept whole
    (``a<pr>+el<det>`` for "al"; see :func:`parts`). An empty tuple means the analyser does
    not know the word.
    """

    surface: str
    analyses: tuple[str, ...]

    @property
    def known(self) -> bool:
        return bool(self.analyses)


def parts(analysis: str) -> list[str]:
    """The parts of a joined analysis: ``a<pr>+el<det>`` ("al") -> ``a<pr>``, ``el<det>``."""
    return [p for p in analysis.split("+") if p] if "+" in analysis else [analysis]


def lemma_of(analysis: str) -> str:
    """``"throw<vblex><past>"`` -> ``"throw"``; ``"feel<vblex><ger># dizzy"`` -> ``"feel dizzy"``."""
    head, _, rest = analysis.partition("<")
    head = head.replace("#", "").strip()
    if "#" in rest:  # a multiword's invariable part follows the tags
        return f"{head} {rest.split('#', 1)[1].strip()}".strip()
    return head


def pretransfer(analysis: str) -> str:
    """An analysis in the form the bilingual dictionary reads (as ``apertium-pretransfer``
    writes it): a multiword's invariable part moved before the tags,
    ``feel<vblex><ger># dizzy`` -> ``feel# dizzy<vblex><ger>``."""
    if "#" not in analysis or analysis.index("#") < analysis.find("<"):
        return analysis
    head, _, rest = analysis.partition("<")
    tags, _, tail = ("<" + rest).partition("#")
    return f"{head}#{tail}{tags}"


def tags_of(analysis: str) -> tuple[str, ...]:
    """``"throw<vblex><past>"`` -> ``("vblex", "past")``."""
    return tuple(_TAG.findall(analysis))


def escape_stream(text: str) -> str:
    """Plain text for lt-proc: reserved characters escaped, one line, no NUL."""
    text = " ".join(text.replace("\0", " ").split())
    return _ESCAPE.sub(r"\\\1", text)


# An escaped character outside a unit, or a unit; the first alternative keeps an escaped
# "\^" in a blank from opening a unit.
_UNIT = re.compile(r"\\.|\^((?:[^\\$]|\\.)*)\$")
_FIELD_SPLIT = re.compile(r"(?<!\\)/")
_UNESCAPE = re.compile(r"\\(.)")


def parse_stream(out: str) -> list[Unit]:
    """The lexical units of an Apertium stream (``^surface/a1/a2$`` separated by blanks)."""
    units: list[Unit] = []
    for m in _UNIT.finditer(out):
        body = m.group(1)
        if body is None:
            continue
        if "\\" in body:
            surface, *analyses = (_UNESCAPE.sub(r"\1", f) for f in _FIELD_SPLIT.split(body))
        else:
            surface, *analyses = body.split("/")
        kept = [a for a in analyses if a and a[:1] not in ("*", "@", "#")]
        units.append(Unit(surface, tuple(dict.fromkeys(kept))))
    return units


def pair_files(lang: str, root: Path | None = None) -> dict[str, Path] | None:
    """The English<->``lang`` pair's analysers and bilingual dictionaries, or None.

    Keys: ``en_morf`` (English analyser), ``en_bil`` (English -> source), ``src_morf``
    (source analyser), ``src_bil`` (source -> English).
    """
    root = root or datadir()
    pkg = PACKAGES.get(lang)
    if pkg is None:
        return None
    folder = root / pkg
    src, en = _iso3(lang), "eng"
    files = {
        "en_morf": folder / f"{en}-{src}.automorf.bin",
        "en_bil": folder / f"{en}-{src}.autobil.bin",
        "src_morf": folder / f"{src}-{en}.automorf.bin",
        "src_bil": folder / f"{src}-{en}.autobil.bin",
    }
    if shutil.which("lt-proc") is None or not all(p.exists() for p in files.values()):
        return None
    return files


class _Stage:
    """One ``lt-proc -z`` process, restarted when it hangs, dies or the process forked."""

    def __init__(self, args: str) -> None:
        self.command = f"lt-proc -z {args}"
        self._proc: _Process | None = None
        self._pid = 0
        self._lock = threading.Lock()

    def _process(self) -> _Process:
        # A process started before a fork belongs to the parent: its pipes must not be
        # shared with a child (--jobs forks after loading), so each pid starts its own.
        if self._proc is None or self._pid != os.getpid() or not self._proc.alive():
            if self._proc is not None and self._pid == os.getpid():
                self._proc.kill()
            self._proc = _Process(self.command)
            self._pid = os.getpid()
        return self._proc

    def start(self) -> None:
        """Start the process now; it loads its transducer while the caller goes on."""
        with self._lock:
            self._process()

    def adopt(self, other: _Stage) -> None:
        """Take ``other``'s running process (same command, this process's) if this has none."""
        with self._lock, other._lock:
            if self._proc is not None or other._proc is None or other.command != self.command:
                return
            if other._pid == os.getpid() and other._proc.alive():
                self._proc, self._pid = other._proc, other._pid
                other._proc = None

    def run(self, segments: Sequence[str]) -> list[str]:
        """Each segment through the process; one output per segment."""
        if not segments:
            return []
        payload = [s.encode("utf-8") + b"\n" for s in segments]
        with self._lock:
            for attempt in (1, 2):
                proc = self._process()
                try:
                    out = proc.exchange(payload, time.monotonic() + _TIMEOUT)
                    return [o.decode("utf-8", errors="replace") for o in out]
                except EngineError:
                    proc.kill()
                    self._proc = None
                    if attempt == 2:
                        raise
        raise AssertionError("unreachable")

    def retire(self) -> None:
        """Send the process EOF without waiting for it to exit (:meth:`close` reaps it)."""
        with self._lock:
            if self._proc is not None and self._pid == os.getpid():
                self._proc.retire()

    def close(self) -> None:
        with self._lock:
            if self._proc is not None and self._pid == os.getpid():
                self._proc.close()
            self._proc = None

    def __getstate__(self) -> dict[str, str]:
        # Processes never travel (pickled indexes, Ray actors): a copy starts its own.
        return {"command": self.command}

    def __setstate__(self, state: dict[str, str]) -> None:
        self.command = state["command"]
        self._proc = None
        self._pid = 0
        self._lock = threading.Lock()


class ApertiumLexicon:
    """English text -> source-language lemmas through one Apertium pair's dictionaries.

    Args:
        lang: the source language (``es``; ``ca``/``gl`` when their pairs are installed).
        files: the pair's files (default: :func:`pair_files`).
    """

    def __init__(self, lang: str, files: dict[str, Path] | None = None) -> None:
        files = files or pair_files(lang)
        if files is None:
            raise EngineError(f"no Apertium English-{lang} pair installed")
        self.lang = lang
        self.files = files
        self._en_morf = _Stage(f"-w '{files['en_morf']}'")
        self._en_bil = _Stage(f"-b '{files['en_bil']}'")
        self._src_morf = _Stage(f"-w '{files['src_morf']}'")
        self._src_bil = _Stage(f"-b '{files['src_bil']}'")
        self._to_src: dict[str, tuple[str, ...]] = {}
        self._to_en: dict[str, tuple[str, ...]] = {}
        self._src_analyses: dict[str, tuple[str, ...]] = {}

    def _stages(self) -> tuple[_Stage, ...]:
        return (self._en_morf, self._en_bil, self._src_morf, self._src_bil)

    def start(self) -> None:
        """Start the stages a scan's back-projection uses (English analyser, English->source
        dictionary, source analyser) without waiting for them: each ``lt-proc`` takes
        30-50 ms to load its transducer, which then overlaps with the caller's work (and
        with the other stages) instead of adding up on first use."""
        for stage in (self._en_morf, self._en_bil, self._src_morf):
            stage.start()

    def adopt(self, other: ApertiumLexicon) -> None:
        """Take over ``other``'s started processes (a lexicon of the same pair, e.g. one
        started while this one was being unpickled) and close whatever else it holds."""
        for mine, theirs in zip(self._stages(), other._stages(), strict=True):
            mine.adopt(theirs)
        other.close()

    @property
    def signature(self) -> str:
        """The pair's data files by name, size and modification time."""
        parts = []
        for key in sorted(self.files):
            p = self.files[key]
            try:
                st = p.stat()
                parts.append(f"{p.name}:{st.st_size}:{int(st.st_mtime)}")
            except OSError:
                parts.append(f"{p.name}:missing")
        return ",".join(parts)

    # --- analysis ---------------------------------------------------------------------

    def analyse_english(self, texts: Sequence[str]) -> list[list[Unit]]:
        """English texts as lexical units with every analysis (no tagger)."""
        outs = self._en_morf.run([escape_stream(t) for t in texts])
        return [parse_stream(o) for o in outs]

    def analyse_source(self, texts: Sequence[str]) -> list[list[Unit]]:
        """Source-language texts as lexical units with every analysis."""
        outs = self._src_morf.run([escape_stream(t) for t in texts])
        return [parse_stream(o) for o in outs]

    def source_analyses(self, words: Iterable[str]) -> dict[str, tuple[str, ...]]:
        """Each word analysed alone by the source analyser (cached): for MT pass-throughs."""
        words = list(dict.fromkeys(words))
        todo = [w for w in words if w not in self._src_analyses]
        if todo:
            # One segment per word: joined, neighbours could form a multiword unit.
            outs = self._src_morf.run([escape_stream(w) for w in todo])
            self._bound(self._src_analyses)
            for w, out in zip(todo, outs, strict=True):
                units = parse_stream(out)
                self._src_analyses[w] = next((u.analyses for u in units if u.surface == w), ())
        return {w: self._src_analyses[w] for w in words}

    # --- bilingual dictionary ---------------------------------------------------------

    def to_source(self, analyses: Iterable[str]) -> dict[str, tuple[str, ...]]:
        """Every source-language translation (``lemma<tags>``) of each English analysis."""
        return self._lookup(self._en_bil, self._to_src, analyses)

    def to_english(self, analyses: Iterable[str]) -> dict[str, tuple[str, ...]]:
        """Every English translation of each source-language analysis."""
        return self._lookup(self._src_bil, self._to_en, analyses)

    def _lookup(
        self, stage: _Stage, cache: dict[str, tuple[str, ...]], analyses: Iterable[str]
    ) -> dict[str, tuple[str, ...]]:
        """Translations of each analysis; a joined one gets those of all its parts."""
        wanted = list(dict.fromkeys(analyses))
        found = self._lookup_parts(stage, cache, {p for a in wanted for p in parts(a)})
        return {a: tuple(t for p in parts(a) for t in found[p]) for a in wanted}

    def _lookup_parts(
        self, stage: _Stage, cache: dict[str, tuple[str, ...]], analyses: Iterable[str]
    ) -> dict[str, tuple[str, ...]]:
        wanted = list(dict.fromkeys(analyses))
        todo = [a for a in wanted if a not in cache]
        if todo:
            units = " ".join(f"^{_escape_analysis(pretransfer(a))}$" for a in todo)
            (out,) = stage.run([units])
            units = parse_stream(out)
            if len(units) != len(todo):
                raise EngineError("the bilingual dictionary answered out of step")
            self._bound(cache)
            for a, u in zip(todo, units, strict=True):
                cache[a] = u.analyses
        return {a: cache[a] for a in wanted}

    @staticmethod
    def _bound(cache: dict[str, tuple[str, ...]]) -> None:
        if len(cache) > _CACHE_LIMIT:
            cache.clear()

    def close(self) -> None:
        # EOF to every stage first, then reap: they exit together, not one after another.
        for stage in self._stages():
            stage.retire()
        for stage in self._stages():
            stage.close()


def _escape_analysis(analysis: str) -> str:
    """An analysis as a bidix-input unit: the lemma escaped, the tags kept."""
    lemma, sep, tags = analysis.partition("<")
    lemma = re.sub(r"([\\^$\[\]/@{}*])", r"\\\1", lemma)
    return lemma + sep + tags
