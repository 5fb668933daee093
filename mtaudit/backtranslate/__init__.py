"""Back-translation of suspect spans, attached to findings as evidence.

A literal translation betrays itself when it is translated back: "one of lime and another
of sand" returns to Spanish as "una de cal y otra de arena", a known Spanish idiom. For
each suspect finding (idiom, calque, untranslated, fluency) :class:`BackTranslator`
translates the span and its sentence into the finding's suspected source language
(``finding.source_language``, default ``es``), translates the span's back-translation
into English again, and records ``finding.evidence["back_translation"]``::

    {"engine", "language", "text", "sentence", "round_trip", "chrf",
     "matched_idiom", "match_score", "signature", ...}

and adjusts the finding's confidence (the rule is on :meth:`BackTranslator.adjust`).

Engines share one interface, :class:`Engine` (batched ``translate``, ``signature``,
``available``), and are chosen by a spec string with :func:`get_engine`: ``dictionary``
(the lexicons' glossaries, always available), ``apertium`` (Debian's rule-based MT, es
only), ``marian[:PATH]`` (MarianMT from a local folder) or ``auto`` (apertium when
installed, else dictionary). Every translation goes through an on-disk cache
(:mod:`mtaudit.backtranslate.cache`), so re-scanning an unchanged corpus translates nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rapidfuzz import fuzz, process

from mtaudit.idiommatch import fold, source_tokens
from mtaudit.model import Document, Finding

if TYPE_CHECKING:
    from mtaudit.backtranslate.cache import TranslationCache
    from mtaudit.backtranslate.dictionary import Bilingual, DictionaryEngine
    from mtaudit.idiommatch import Glossary
    from mtaudit.segment import Segmentation

__all__ = [
    "ENGINES",
    "fallback_in",
    "with_fallback",
    "BackTranslator",
    "Engine",
    "EngineError",
    "KnownSource",
    "SourceIndex",
    "get_engine",
    "match_known",
]

ENGINES = ("auto", "dictionary", "apertium", "marian", "marian:PATH")
SUSPECT_CATEGORIES = frozenset({"idiom", "calque", "untranslated", "fluency"})
DEFAULT_LANGUAGE = "es"

# --- the confidence rule (see BackTranslator.adjust) ------------------------------------
CONFIRM_SCORE = 85.0
CONFIRM_BOOST = 0.1
CONFIDENCE_CAP = 0.99
NO_MATCH_SCORE = 60.0
POOR_CHRF = 40.0
DOUBT_PENALTY = 0.05
CONFIDENCE_FLOOR = 0.05

# --- the matcher (see match_known) ------------------------------------------------------
# A source-idiom content word counts as present at this rapidfuzz ratio (una/uno, otra/otro).
_WORD_RATIO = 80.0
# Below this share of the phrase's content words present, the score is scaled down: a
# back-translation that holds few of them is a fragment, not the phrase.
_MIN_COVERAGE = 0.75
# Spans of at most this many words get the word-level pivot alignment (idioms are short).
_ALIGN_MAX_WORDS = 12
# Sentences longer than this are cut before translation (a "sentence" that is a whole
# unpunctuated paragraph adds cost, not evidence).
_MAX_SENTENCE_CHARS = 1000

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


# --- matching back-translations against known source phrases ------------------------------


@dataclass(frozen=True)
class KnownSource:
    """A source-language phrase from a lexicon: an idiom's or a calque's ``source``."""

    id: str
    kind: str  # "idiom" | "calque"
    source: str
    folded: str  # accent-folded, lower-case, tokens joined by single spaces
    tokens: frozenset[str]
    content: tuple[str, ...]  # folded content words (cal, arena), for the coverage guard


class SourceIndex(list):  # list[KnownSource]
    """Known source phrases plus an index from content word to phrases.

    The matcher scores a phrase 0 unless one of its content words is (fuzzily) among the
    back-translation's words or their aligned lemmas, so only those phrases need scoring:
    the index finds them with one C-level rapidfuzz scan per word, using the same scorer
    and cut-off as the coverage test, so it drops only phrases that test would score 0.
    """

    @cached_property
    def vocabulary(self) -> list[str]:
        return sorted({c for src in self for c in src.content})

    @cached_property
    def by_word(self) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        for i, src in enumerate(self):
            for c in set(src.content):
                out.setdefault(c, []).append(i)
        return out

    @cached_property
    def without_content(self) -> list[int]:
        return [i for i, src in enumerate(self) if not src.content]

    def candidates(self, words: Iterable[str]) -> list[KnownSource]:
        """Phrases with a content word at ratio >= 80 to one of ``words``, in index order."""
        hit: set[int] = set(self.without_content)
        vocab = self.vocabulary
        for w in set(words):
            for found, _, _ in process.extract(
                w, vocab, scorer=fuzz.ratio, score_cutoff=_WORD_RATIO, limit=None
            ):
                hit.update(self.by_word[found])
        return [self[i] for i in sorted(hit)]


def known_sources(
    lang: str, idiom_files: Iterable[Path | str] = (), calque_files: Iterable[Path | str] = ()
) -> SourceIndex:
    """Every idiom and calque ``source`` of ``lang`` in the bundled and given lexicons."""
    from mtaudit.backtranslate.dictionary import content_words
    from mtaudit.lexicons import LEXICON_DIR, load_file

    out = SourceIndex()
    seen: set[str] = set()
    files = [
        *((p, "idiom") for p in sorted(LEXICON_DIR.glob(f"idioms-{lang}.toml"))),
        *((p, "calque") for p in sorted(LEXICON_DIR.glob(f"calques-{lang}.toml"))),
        *((Path(p), "idiom") for p in idiom_files),
        *((Path(p), "calque") for p in calque_files),
    ]
    for path, kind in files:
        lex = load_file(path, kind)
        if lex.language not in (lang, None):
            continue
        for entry in lex.entries:
            # Calque sources list alternatives as "a / b": each is a phrase of its own.
            for source in (s.strip() for s in str(entry["source"]).split(" / ")):
                tokens = [fold(t) for t in source_tokens(source)]
                folded = " ".join(tokens)
                content = tuple(fold(w) for w in content_words(source, lang))
                # A bare function word ("de") would match every back-translation.
                if not content or folded in seen:
                    continue
                seen.add(folded)
                out.append(
                    KnownSource(
                        id=str(entry.get("id", source)),
                        kind=kind,
                        source=source,
                        folded=folded,
                        tokens=frozenset(tokens),
                        content=content,
                    )
                )
    return out


@dataclass
class MatchResult:
    """The best known source for one back-translation."""

    source: KnownSource | None
    score: float
    substitutions: dict[str, str]


def match_known(
    back: str,
    sources: Sequence[KnownSource],
    aligned: Mapping[str, frozenset[str]] | None = None,
    closed: frozenset[str] = frozenset(),
) -> MatchResult:
    """Score a back-translation against every known source phrase; return the best.

    Scores are rapidfuzz similarities (0-100) between accent-folded, lower-cased token
    strings; the best of three views counts:

    1. the whole phrase against the back-translation, order-aware: ``fuzz.partial_ratio``
       (the best-aligned window) when the back-translation is at least as long as the
       phrase, plain ``fuzz.ratio`` when it is shorter, since partial_ratio would then align
       the *back-translation* inside the phrase ("a macchia e" would score 95 against "a
       macchia d'olio", "cal" 100 against every idiom with "cal" in it);
    2. ``fuzz.token_sort_ratio`` of the two whole strings: citation forms put the verb
       where the source language wants it ("nur Bahnhof verstehen") while a literal English
       rendering comes back in English order ("verstehen nur Bahnhof"); whole strings, so
       every extra or missing word still costs;
    3. view 1 on content words only (``closed`` lists the language's function words), for
       phrases with two or more of them: MT picks prepositions and articles of its own
       ("sobre el fuego" for "al fuego").

    Why partial_ratio and not token_set_ratio as the main view: word order matters (a bag
    of the idiom's words in another order is not the idiom); MT inflects differently from
    the citation form ("uno de ... otro" for "una de ... otra"), which costs a few
    characters here but whole tokens under token_set_ratio; and token_set_ratio scores 100
    whenever one token set contains the other, so any long back-translation holding the
    idiom's few words anywhere would match perfectly.

    A guard keeps fragments out: with less than three quarters of the phrase's content
    words present (fuzzy, ratio >= 80), the score is scaled down in proportion.

    ``aligned`` maps a folded back-translated word to the source lemmas it may stand for
    (words that share an English translation, see :meth:`BackTranslator._alignment`): a
    word that is not in the phrase but stands for one of its words (fuzzily: "cabellos"
    for "pelos") is replaced before scoring, so "uno de lima y otro de arena" (lima <- lime
    -> cal) scores as "uno de cal y otro de arena". Replacements are returned as
    ``substitutions``.
    """

    tokens = [fold(t) for t in source_tokens(back)]
    if not tokens or not sources:
        return MatchResult(None, 0.0, {})
    aligned = aligned or {}
    index = sources if isinstance(sources, SourceIndex) else SourceIndex(sources)
    lemmas = {lemma for t in tokens for lemma in aligned.get(t, ())}
    own_content = [w for w in tokens if w not in closed] or tokens
    best = MatchResult(None, 0.0, {})
    best_key: tuple[bool, float, float, float] = (False, 0.0, 0.0, 0.0)
    for src in index.candidates([*tokens, *lemmas]):
        subs: dict[str, str] = {}
        words = list(tokens)
        for i, t in enumerate(words):
            if t in src.tokens or t not in aligned:
                continue
            target = _closest(aligned[t], src.tokens)
            if target is not None:
                subs[t] = words[i] = target
        text = " ".join(words)
        content_words = [w for w in words if w not in closed]
        raw = max(
            _similarity(src.folded, text),
            float(fuzz.token_sort_ratio(src.folded, text)),
        )
        if len(src.content) >= 2:
            raw = max(raw, _similarity(" ".join(src.content), " ".join(content_words)))
        coverage = _share(src.content, content_words) if src.content else 1.0
        score = round(raw * min(1.0, coverage / _MIN_COVERAGE), 1)
        # Among confirming phrases, prefer the one that accounts for more of the
        # back-translation's own content words, before any substitution ("dar al traste"
        # over "dar la espalda" for "da al traste"), then after it ("no tener pelos en la
        # lengua" over "tomar el pelo" for "no tener pelo en la lengua").
        confirmed = score >= CONFIRM_SCORE
        key = (
            confirmed,
            _share(own_content, src.tokens) if confirmed else 0.0,
            _share(content_words or words, src.tokens) if confirmed else 0.0,
            score,
        )
        if key > best_key:
            best, best_key = MatchResult(src, score, subs), key
    return best


def _share(needles: Sequence[str], haystack: Iterable[str]) -> float:
    """Fraction of ``needles`` with a fuzzy (ratio >= 80) counterpart in ``haystack``."""
    if not needles:
        return 0.0
    hay = list(haystack)
    return sum(1 for n in needles if any(fuzz.ratio(n, h) >= _WORD_RATIO for h in hay)) / len(
        needles
    )


def _closest(lemmas: Iterable[str], tokens: Iterable[str]) -> str | None:
    """The phrase token that one of ``lemmas`` is (or fuzzily is: pelo/pelos), if any."""
    best, best_score = None, _WORD_RATIO
    for tok in sorted(tokens):
        for lemma in lemmas:
            score = 100.0 if lemma == tok else fuzz.ratio(lemma, tok)
            if score > best_score or (score == 100.0 and best_score < 100.0):
                best, best_score = tok, score
    return best


def _similarity(phrase: str, text: str) -> float:
    """partial_ratio when ``text`` can contain ``phrase``, else the full ratio (see above)."""
    if len(text) >= len(phrase):
        return float(fuzz.partial_ratio(phrase, text))
    return float(fuzz.ratio(phrase, text))


def _short(span: str) -> bool:
    return len(span.split()) <= _ALIGN_MAX_WORDS


def _clean(text: str, limit: int | None = None) -> str:
    text = " ".join(text.split())
    return text[:limit] if limit else text


class BackTranslator:
    """Annotates a document's suspect findings with back-translation evidence.

    Built once per scan (engines start lazily and are reused across documents); call
    :meth:`annotate` once per document and :meth:`close` at the end.
    """

    def __init__(
        self,
        engine_spec: str = "auto",
        cache_dir: Path | str | None = None,
        *,
        use_cache: bool = True,
        engine: Engine | None = None,
        idiom_files: Iterable[Path | str] = (),
        glossary_files: Iterable[Path | str] = (),
        calque_files: Iterable[Path | str] = (),
        warn: Warn | None = None,
    ) -> None:
        """
        Args:
            engine_spec: see :func:`get_engine`; ignored when ``engine`` is given.
            cache_dir: folder of the sqlite cache; default ``$MTAUDIT_CACHE_DIR`` or
                ``~/.cache/mtaudit``.
            use_cache: False keeps translations in memory for this run only.
            engine: an engine instance to use instead of building one from the spec.
            idiom_files, glossary_files, calque_files: user lexicons (config ``lexicons``).
            warn: where one-line messages go (stderr by default).
        """
        from mtaudit.backtranslate.cache import TranslationCache, default_cache_dir
        from mtaudit.backtranslate.dictionary import DictionaryEngine
        from mtaudit.idiommatch import builtin_glossaries, load_glossary, merge_glossary

        self.warn: Warn = warn or _stderr
        glossaries = builtin_glossaries()
        for p in glossary_files:
            merge_glossary(glossaries, load_glossary(p))
        self.glossaries = glossaries
        self.engine: Engine = engine or get_engine(engine_spec, glossaries, self.warn)
        self.dictionary: DictionaryEngine = (
            self.engine
            if isinstance(self.engine, DictionaryEngine)
            else DictionaryEngine(glossaries)
        )
        # "auto" picks the best engine silently, so falling back per language stays silent.
        self._explicit = engine is not None or (engine_spec or "auto").strip() != "auto"
        directory = (Path(cache_dir) if cache_dir else default_cache_dir()) if use_cache else None
        self.cache: TranslationCache = TranslationCache(directory)
        self._idiom_files = tuple(idiom_files)
        self._calque_files = tuple(calque_files)
        self._sources: dict[str, SourceIndex] = {}
        self._broken: set[str] = set()
        self._failures = 0  # consecutive failed calls of the primary engine
        self._warned: set[str] = set()
        self._chrf: Any = None
        #: the engine that stood in for the primary one after it failed (None: never)
        self.fallback: str | None = None

    # --- public API -----------------------------------------------------------------

    @property
    def signature(self) -> str:
        """The primary engine's signature (for the run's reproducibility signature).

        Once a failed call was answered by the dictionary engine instead, the signature
        says so (``apertium:...+fallback:dictionary``): the run's evidence is then not
        all the primary engine's.
        """
        return with_fallback(self.engine.signature, self.fallback)

    def annotate(
        self, document: Document, findings: Sequence[Finding], segments: Segmentation
    ) -> list[Finding]:
        """Attach ``evidence["back_translation"]`` to the suspect findings of ``document``.

        All suspect spans (and their sentences) of one language go to the engine in one
        call per direction. Findings are updated in place; the annotated ones are returned.
        """
        by_lang: dict[str, list[Finding]] = {}
        for f in findings:
            if f.category in SUSPECT_CATEGORIES and f.text.strip():
                by_lang.setdefault(f.source_language or DEFAULT_LANGUAGE, []).append(f)
        done: list[Finding] = []
        for lang, group in by_lang.items():
            done.extend(self._annotate_language(document, group, segments, lang))
        return done

    def close(self) -> None:
        """Stop engine processes and close the cache."""
        self.engine.close()
        if self.dictionary is not self.engine:
            self.dictionary.close()
        self.cache.close()

    def __enter__(self) -> BackTranslator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the confidence rule ----------------------------------------------------------

    @staticmethod
    def adjust(prior: float, category: str, match_score: float, chrf: float) -> float:
        """New confidence for a finding, from its confidence before back-translation.

        - **Confirm**: the back-translation lands on a known source phrase (an idiom's or
          calque's ``source``) with ``match_score >= 85``: ``+0.1``, capped at 0.99 — the
          English is what a literal translation of that very phrase looks like. This holds
          for every category (a calque whose back-translation is a known idiom or calque
          is confirmed too).
        - **Doubt**: nothing matches (``match_score < 60``) *and* the round trip comes
          back poorly (chrF < 40): ``-0.05``, floored at 0.05. A literal rendering of
          source words survives a round trip; text that neither maps onto a known source
          phrase nor survives is weaker evidence of translation. Not applied to
          ``untranslated`` spans: they are source-language text already, so their English
          round trip is expected to differ.
        - Otherwise unchanged. Never lowers a confirmed finding nor raises a doubted one
          above its prior; always computed from the prior, so re-annotating is idempotent.
        """
        if match_score >= CONFIRM_SCORE:
            return round(max(prior, min(CONFIDENCE_CAP, prior + CONFIRM_BOOST)), 3)
        if match_score < NO_MATCH_SCORE and chrf < POOR_CHRF and category != "untranslated":
            return round(min(prior, max(CONFIDENCE_FLOOR, prior - DOUBT_PENALTY)), 3)
        return prior

    # --- internals --------------------------------------------------------------------

    def _warn_once(self, message: str) -> None:
        if message not in self._warned:
            self._warned.add(message)
            self.warn(message)

    def _engine_for(self, lang: str) -> Engine:
        """The primary engine if it can do ``en <-> lang``, else the dictionary engine."""
        engine = self.engine
        if engine is self.dictionary:
            return self.dictionary
        if engine.name in self._broken:
            return self.dictionary  # a stand-in: _annotate_language marks the evidence
        if engine.supports("en", lang) and engine.supports(lang, "en"):
            return engine
        if self._explicit:
            self._warn_once(
                f"mtaudit: {engine.name} cannot translate between English and {lang}; "
                f"back-translating {lang} with the dictionary engine"
            )
        return self.dictionary

    def _translate(
        self, engine: Engine, texts: Iterable[str], src: str, tgt: str
    ) -> tuple[dict[str, str], Engine]:
        """Translate through the cache: one engine call for all misses.

        Returns the translations by text and the engine that produced them (the dictionary
        engine when ``engine`` failed: it is then not used again in this run).
        """
        unique = list(dict.fromkeys(t for t in texts if t))
        sig = engine.signature
        found = self.cache.get_many(sig, src, tgt, unique)
        missing = [t for t in unique if t not in found]
        if missing:
            try:
                out = engine.translate(missing, src, tgt)
            except EngineError as exc:
                if engine is self.dictionary:
                    raise
                # The engine has already restarted itself and retried; this call is
                # answered by the dictionary, and the signature says so from now on.
                # Only an engine that keeps failing is given up for the rest of the run.
                self.fallback = self.dictionary.name
                self._failures += 1
                if self._failures >= MAX_ENGINE_FAILURES:
                    self._broken.add(engine.name)
                    self._warn_once(
                        f"mtaudit: {exc}; using the dictionary engine for the rest of this run"
                    )
                else:
                    self._warn_once(f"mtaudit: {exc}; using the dictionary engine for it")
                return self._translate(self.dictionary, unique, src, tgt)
            if engine is self.engine:
                self._failures = 0
            pairs = list(zip(missing, out, strict=True))
            self.cache.put_many(sig, src, tgt, pairs)
            found.update(pairs)
        return found, engine

    def _sources_for(self, lang: str) -> SourceIndex:
        if lang not in self._sources:
            self._sources[lang] = known_sources(lang, self._idiom_files, self._calque_files)
        return self._sources[lang]

    def _alignment(
        self, table: Bilingual, word_translations: Mapping[str, str]
    ) -> dict[str, frozenset[str]]:
        """Back-translated word -> source lemmas it may stand for, pivoting through English.

        Anchored on the English words of the span: for each content word ("lime") the
        glossary lemmas that translate it (cal) form a group with the engine's translation
        of that word on its own (lima); each member of the group may stand for every lemma
        of it. So the engine's lexical choice ("lima", "echar" for "throw") is not held
        against a match with "cal" or "tirar", while polysemy cannot chain through senses
        the text does not use (bien -> "well" -> pozo is impossible unless the span says
        "well"). General: it uses only the glossary and the engine's own output.
        """
        from mtaudit.backtranslate.dictionary import function_words

        closed = function_words(table.language)
        out: dict[str, set[str]] = {}
        for english, translated in word_translations.items():
            lemmas = {fold(s) for s in table.source_words(english) if s not in closed}
            if not lemmas:
                continue
            group = lemmas | {fold(t) for t in source_tokens(translated)}
            for t in group:
                out.setdefault(t, set()).update(lemmas)
        return {k: frozenset(v - {k}) for k, v in out.items() if v - {k}}

    def _annotate_language(
        self,
        document: Document,
        group: Sequence[Finding],
        segments: Segmentation,
        lang: str,
    ) -> list[Finding]:
        from sacrebleu.metrics import CHRF

        from mtaudit.backtranslate.dictionary import english_content_words, function_words

        if self._chrf is None:
            # Lower-cased: the round trip capitalises what starts a segment.
            self._chrf = CHRF(lowercase=True)
        engine = self._engine_for(lang)
        spans = [_clean(f.text) for f in group]
        sentences = []
        for f, span in zip(group, spans, strict=True):
            s = segments.sentence_at(f.start)
            sentences.append(
                _clean(document.text[s.start : s.end], _MAX_SENTENCE_CHARS) if s else span
            )
        # Each English content word alone, for the pivot alignment (see _alignment); only
        # for idiom-sized spans: a whole sentence flagged for fluency matches no idiom, and
        # its words would cost one Marian generate() row each.
        words = list(dict.fromkeys(w for s in spans if _short(s) for w in english_content_words(s)))
        chosen = engine
        forward, engine = self._translate(engine, [*spans, *sentences, *words], "en", lang)
        backs = [forward.get(s, "") for s in spans]
        round_trips, back_engine = self._translate(engine, backs, lang, "en")
        # Evidence the dictionary produced because the primary engine failed (now, or
        # earlier in the run) says so: that is how a --jobs parent learns of it.
        stood_in = back_engine is not chosen or (
            chosen is self.dictionary
            and self.engine.name in self._broken
            and self.engine.supports("en", lang)
        )
        table = self.dictionary.table(lang)
        sources = self._sources_for(lang)
        closed = frozenset(fold(w) for w in function_words(lang))
        for f, span, sentence, back in zip(group, spans, sentences, backs, strict=True):
            rt = round_trips.get(back, "")
            chrf = round(self._chrf.sentence_score(rt, [span]).score, 1) if rt else 0.0
            # Aligned on this span's own English words only: another span's "well" must
            # not let this one's "bien" stand for "pozo".
            own = {w: forward[w] for w in english_content_words(span) if w in forward}
            if not _short(span):
                own = {}
            m = match_known(back, sources, self._alignment(table, own), closed)
            matched = m.source if m.score >= CONFIRM_SCORE else None
            previous = f.evidence.get("back_translation")
            prior = (
                float(previous["prior_confidence"])
                if isinstance(previous, dict) and "prior_confidence" in previous
                else f.confidence
            )
            f.confidence = self.adjust(prior, f.category, m.score, chrf)
            evidence: dict[str, Any] = {
                "engine": engine.name,
                "language": lang,
                "text": back,
                "sentence": forward.get(sentence, ""),
                "round_trip": rt,
                "chrf": chrf,
                "matched_idiom": matched.source if matched else None,
                "match_score": m.score,
                "signature": engine.signature,
                "prior_confidence": prior,
                "adjustment": round(f.confidence - prior, 3),
            }
            if stood_in:
                evidence["fallback"] = self.dictionary.name
            if matched:
                evidence["matched_id"] = matched.id
                evidence["matched_kind"] = matched.kind
                if m.substitutions:
                    evidence["aligned_words"] = m.substitutions
            f.evidence["back_translation"] = evidence
        return list(group)
