"""Back-translation of suspect spans, attached to findings as evidence.

A literal translation betrays itself when it is translated back: "one of lime and another
of sand" returns to Spanish as "una de cal y otra de arena", a known Spanish idiom. For
each suspect finding (idiom, calque and untranslated by default; fluency too when asked,
see ``categories``) :class:`BackTranslator` translates the span and its sentence into the finding's suspected source language
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

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

# The engine interface and the phrase matcher live in sibling modules; every public name
# stays importable from here.
from mtaudit.backtranslate.engine import (
    ENGINES,
    FALLBACK_MARK,
    MAX_ENGINE_FAILURES,
    Engine,
    EngineError,
    Warn,
    _stderr,
    fallback_in,
    get_engine,
    with_fallback,
)
from mtaudit.backtranslate.matching import (
    CONFIRM_SCORE,
    KnownSource,
    MatchResult,
    SourceIndex,
    known_sources,
    match_known,
)
from mtaudit.idiommatch import fold, source_tokens
from mtaudit.model import Document, Finding

if TYPE_CHECKING:
    from mtaudit.backtranslate.cache import TranslationCache
    from mtaudit.backtranslate.dictionary import Bilingual, DictionaryEngine
    from mtaudit.segment import Segmentation

__all__ = [
    "CONFIRM_SCORE",
    "DEFAULT_CATEGORIES",
    "SUSPECT_CATEGORIES",
    "ENGINES",
    "FALLBACK_MARK",
    "MAX_ENGINE_FAILURES",
    "BackTranslator",
    "Engine",
    "EngineError",
    "KnownSource",
    "MatchResult",
    "SourceIndex",
    "fallback_in",
    "get_engine",
    "known_sources",
    "match_known",
    "with_fallback",
]

#: every category the back-translator can annotate
SUSPECT_CATEGORIES = frozenset({"idiom", "calque", "untranslated", "fluency"})
#: the categories annotated unless asked otherwise: those whose spans are (or render) a
#: source phrase, so a round trip can land on a known idiom or calque. Fluency findings
#: (most findings on MT news) are whole clauses that rarely match one; their round trips
#: cost most of the engine time for little evidence.
DEFAULT_CATEGORIES = frozenset({"idiom", "calque", "untranslated"})
DEFAULT_LANGUAGE = "es"

# --- the confidence rule (see BackTranslator.adjust; CONFIRM_SCORE is the matcher's) -----
CONFIRM_BOOST = 0.1
CONFIDENCE_CAP = 0.99
NO_MATCH_SCORE = 60.0
POOR_CHRF = 40.0
DOUBT_PENALTY = 0.05
CONFIDENCE_FLOOR = 0.05

# Spans of at most this many words get the word-level pivot alignment (idioms are short).
_ALIGN_MAX_WORDS = 12
# Sentences longer than this are cut before translation (a "sentence" that is a whole
# unpunctuated paragraph adds cost, not evidence).
_MAX_SENTENCE_CHARS = 1000


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
        categories: Iterable[str] | None = None,
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
            categories: the finding categories to back-translate (None:
                :data:`DEFAULT_CATEGORIES`; ``SUSPECT_CATEGORIES`` adds fluency). A choice
                other than the default is named in :attr:`signature`.

        Raises:
            ValueError: ``categories`` names one the back-translator cannot annotate.
        """
        from mtaudit.backtranslate.cache import TranslationCache, default_cache_dir
        from mtaudit.backtranslate.dictionary import DictionaryEngine
        from mtaudit.idiommatch import builtin_glossaries, load_glossary, merge_glossary

        self.warn: Warn = warn or _stderr
        self.categories = DEFAULT_CATEGORIES if categories is None else frozenset(categories)
        unknown = sorted(self.categories - SUSPECT_CATEGORIES)
        if unknown:
            raise ValueError(
                f"cannot back-translate {', '.join(unknown)} findings; "
                f"categories are {', '.join(sorted(SUSPECT_CATEGORIES))}"
            )
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
        all the primary engine's. Categories other than the default are named too
        (``apertium:...+categories:calque,fluency,idiom,untranslated``): the evidence then
        covers other findings.
        """
        signature = self.engine.signature
        if self.categories != DEFAULT_CATEGORIES:
            signature += "+categories:" + ",".join(sorted(self.categories))
        return with_fallback(signature, self.fallback)

    def annotate(
        self, document: Document, findings: Sequence[Finding], segments: Segmentation
    ) -> list[Finding]:
        """Attach ``evidence["back_translation"]`` to the suspect findings of ``document``.

        All suspect spans (and their sentences) of one language go to the engine in one
        call per direction. Findings are updated in place; the annotated ones are returned.
        """
        by_lang: dict[str, list[Finding]] = {}
        for f in findings:
            if f.category in self.categories and f.text.strip():
                by_lang.setdefault(f.source_language or DEFAULT_LANGUAGE, []).append(f)
        done: list[Finding] = []
        for lang, group in by_lang.items():
            done.extend(self._annotate_language(document, group, segments, lang))
        return done

    def release_engines(self) -> None:
        """Stop engine processes; they start again on the next translation."""
        self.engine.close()
        if self.dictionary is not self.engine:
            self.dictionary.close()

    def close(self) -> None:
        """Stop engine processes and close the cache."""
        self.release_engines()
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
