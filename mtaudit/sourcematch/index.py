"""The back-projection index: English words projected onto source lemmas, then matched."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mtaudit.backtranslate.lexical import ApertiumLexicon, Unit, lemma_of, parts
from mtaudit.idiommatch import (
    EnglishIdioms,
    Token,
    fold,
    lemma_candidates,
    tokenize,
)
from mtaudit.idiommatch.placement import nearest_first, nearest_placement
from mtaudit.sourcematch.common import (
    _AUX_EN,
    _CACHE_LIMIT,
    _MAX_EXTRA,
    _OBJECT_SLACK,
    _PLACEHOLDER_SLACK,
    _inflection_of,
    _is_verb_analysis,
    _lemma_words,
    _unknown_lemmas,
    _verb_only_word,
)
from mtaudit.sourcematch.scoring import (
    _Scorer,
)
from mtaudit.sourcematch.units import (
    _NO_WORD,
    PUnit,
    SourceMatch,
    SourcePattern,
    WordInfo,
)

if TYPE_CHECKING:
    from mtaudit.formtable import FormTable


@dataclass
class SourceIdiomIndex(_Scorer):
    """Idioms of languages with an Apertium pair, compiled for lemma matching.

    Built with :func:`compile_index`; the compiled data pickles (processes do not), so it is
    cached on disk and shared by forked workers.
    """

    language: str
    lexicon: ApertiumLexicon
    patterns: list[SourcePattern]
    trigger: dict[str, list[int]]
    inverse: dict[str, frozenset[str]]  # English lemma -> source lemmas of idiom words
    english: EnglishIdioms
    equivalents: EnglishIdioms
    issues: list[str] = field(default_factory=list)
    #: the n-gram LM for the association test (set at run time; never pickled)
    lm: Any = field(default=None, repr=False)
    _words: dict[str, WordInfo] = field(default_factory=dict, repr=False)
    #: common words projected in advance (:mod:`mtaudit.formtable`; set at run time for
    #: the bundled lexicons' indexes; never pickled)
    table: FormTable | None = field(default=None, repr=False)

    def __getstate__(self) -> dict[str, Any]:
        # The projection caches are scan state, not part of the compiled index.
        return {**self.__dict__, "_words": {}, "lm": None, "table": None}

    # --- projection -------------------------------------------------------------------

    def words(self, forms: Iterable[str]) -> dict[str, WordInfo]:
        """Each English word form (as written) analysed and projected onto source lemmas.

        Words are analysed one by one (a multiword unit would hide its words: "are still
        in" is *seguir en* as a unit, but the idiom may need "are" as *estar*), and cached
        for the rest of the scan, so a word costs the Apertium processes once.
        """
        forms = list(dict.fromkeys(forms))
        todo = [w for w in forms if w not in self._words]
        # Numbers ("2021", "1,000") never stand for an idiom's word: not worth analysing.
        for w in [w for w in todo if any(c.isdigit() for c in w)]:
            self._words[w] = _NO_WORD
        todo = [w for w in todo if w not in self._words]
        if todo and self.table is not None:
            self.table.fill(self._words, todo)
            todo = [w for w in todo if w not in self._words]
        if todo:
            analysed = self.lexicon.analyse_english(todo)
            units = [
                next((u for u in us if u.surface == w), Unit(w, ()))
                for w, us in zip(todo, analysed, strict=True)
            ]
            analyses = {a for u in units for a in u.analyses}
            bil = self.lexicon.to_source(analyses) if analyses else {}
            # Words the MT passed through are lower case (a capitalised unknown word is a
            # name): only those go to the source analyser.
            unknown = [w for w, u in zip(todo, units, strict=True) if not u.known and w.islower()]
            src = self.lexicon.source_analyses(unknown) if unknown else {}
            if len(self._words) > _CACHE_LIMIT:
                self._words.clear()
            for w, u in zip(todo, units, strict=True):
                self._words[w] = self._info(w, u, bil, src)
        return {w: self._words[w] for w in forms}

    def _info(
        self,
        form: str,
        unit: Unit,
        bil: dict[str, tuple[str, ...]],
        src: dict[str, tuple[str, ...]],
    ) -> WordInfo:
        """Source lemmas of one word: dictionary, inverse dictionary, glossary, pass-through."""
        low = form.lower().replace("’", "'")
        lemmas: set[str] = set()
        # "prpers" is Apertium's lemma for every personal pronoun: the form says more.
        english = {lemma_of(p).lower() for a in unit.analyses for p in parts(a)} - {"prpers"}
        for a in unit.analyses:
            for t in bil.get(a, ()):
                lemmas |= _lemma_words(t)
        for e in english | lemma_candidates(low):
            lemmas |= self.inverse.get(e, frozenset())
        if not unit.known:
            lemmas |= _unknown_lemmas(fold(low))
            # Keyed by the form as asked: only lower-case forms went to the source analyser
            # ("San", a name, must not borrow the analyses of a "san" in the same batch).
            for a in src.get(form, ()):
                lemmas |= _lemma_words(a)
        triggers = frozenset(pi for x in lemmas for pi in self.trigger.get(x, ()))
        return WordInfo(
            frozenset(lemmas),
            frozenset(english or {low}),
            low,
            unit.known,
            # English always capitalises it: its dictionary lemma is capitalised and not a
            # name ("August", "Monday").
            any(lemma_of(a)[:1].isupper() and "<np>" not in a for a in unit.analyses),
            not english.isdisjoint(_AUX_EN) or low in ("never", "n't"),
            bool(unit.analyses) and all("<pr>" in a for a in unit.analyses),
            bool(unit.analyses) and all("<n>" in a for a in unit.analyses),
            any("<vblex>" in a for a in unit.analyses),
            (
                all(_is_verb_analysis(a) for a in unit.analyses)
                if unit.analyses
                else _verb_only_word(low)  # gaps in Apertium's English dictionary
            ),
            triggers,
        )

    def project(
        self, text: str, start: int, end: int, tokens: Sequence[Token] | None = None
    ) -> list[PUnit]:
        """The words of ``text[start:end]`` (one sentence) with offsets and source lemmas."""
        tokens = tokenize(text, start, end) if tokens is None else tokens
        info = self.words(t.text for t in tokens)
        out = []
        for k, t in enumerate(tokens):
            i = info[t.text]
            # A capitalised word inside a sentence is most likely a name ("Sand", "Lime"),
            # unless English always capitalises it.
            proper = k > 0 and t.text[:1].isupper() and not i.always_capitalised
            out.append(
                PUnit(
                    t.start,
                    t.end,
                    t.text,
                    i.lemmas,
                    i.english,
                    i,
                    i.known,
                    proper,
                    i.aux,
                    t.sep,
                    i.preposition,
                    i.noun,
                    i.verb,
                    i.verb_only,
                )
            )
        return out

    # --- matching ---------------------------------------------------------------------

    def _possible(self, infos: Sequence[WordInfo]) -> bool:
        """Whether some idiom has all the required words it needs among these words.

        The cheap pre-filter: most sentences have no word that can stand for the rarest
        word of any idiom, and are never projected or matched.
        """
        # Unions taken in one call each (most words trigger nothing).
        triggers = [i.triggers for i in infos if i.triggers]
        if not triggers:
            return False
        triggered: set[int] = set().union(*triggers)
        present: set[str] = set().union(*[i.lemmas for i in infos])
        patterns = self.patterns
        return any(_has_needed(patterns[pi], present) for pi in triggered)

    def scan(
        self,
        text: str,
        sentences: Sequence[tuple[int, int]],
        tokens: Sequence[Sequence[Token]] | None = None,
    ) -> Iterator[SourceMatch]:
        """Matches in ``text``, sentence by sentence (each given as ``(start, end)``);
        ``tokens``: each sentence's idiom tokens, when the caller has them (the Analysis's
        :func:`~mtaudit.idiommatch.sentence_tokens`)."""
        if tokens is None:
            tokens = [tokenize(text, s, e) for s, e in sentences]
        # All new words of the document go to the analysers in one exchange.
        info = self.words(t.text for sent in tokens for t in sent)
        for (s, e), sent in zip(sentences, tokens, strict=True):
            if sent and self._possible([info[t.text] for t in sent]):
                yield from self.match_units(text, self.project(text, s, e, sent))

    def match_text(self, text: str) -> list[SourceMatch]:
        """Matches in one short text taken as a single sentence."""
        units = self.project(text, 0, len(text))
        return self.match_units(text, units) if units else []

    def match_units(
        self, text: str, units: Sequence[PUnit], english_spans: bool = True
    ) -> list[SourceMatch]:
        """Accepted, non-overlapping matches among one sentence's projected units."""
        by_lemma: dict[str, list[int]] = {}
        for i, u in enumerate(units):
            for lemma in u.lemmas:
                by_lemma.setdefault(lemma, []).append(i)
        cands = {pi for lemma in by_lemma for pi in self.trigger.get(lemma, ())}
        present = set(by_lemma)
        found = [
            m
            for pi in sorted(cands)
            for m in self._evaluate(self.patterns[pi], text, units, by_lemma, present)
        ]
        if not found:
            return []
        allowed: list[tuple[int, int]] = []
        if english_spans:
            toks = tokenize(text, units[0].start, units[-1].end)
            words = [t.text for t in toks]
            # Equivalents exactly (no inserted words): they are many, and some are short.
            spans = self.english.spans(words) + self.equivalents.spans(words, max_inserted=0)
            allowed = [(toks[a].start, toks[b].end) for a, b in spans]
        chosen: list[SourceMatch] = []
        for m in sorted(found, key=lambda m: (m.rank, m.evidence), reverse=True):
            if any(m.start < e and s < m.end for s, e in allowed):
                continue
            if any(m.first <= c.last and c.first <= m.last for c in chosen):
                continue
            chosen.append(m)
        return sorted(chosen, key=lambda m: m.first)

    def _evaluate(
        self,
        pat: SourcePattern,
        text: str,
        units: Sequence[PUnit],
        by_lemma: dict[str, list[int]],
        present: set[str],
    ) -> list[SourceMatch]:
        """Every accepted placement of ``pat`` among the units (``present``: the
        lemmas of ``by_lemma``, as a set)."""
        # Cheap test first: most triggered patterns lack some required word.
        if not _has_needed(pat, present):
            return []
        words = pat.words
        positions: dict[int, list[int]] = {}
        for wi in (*pat.required, *pat.optional):
            word = words[wi]
            pos: set[int] = set()
            for lemma in word.lemmas.intersection(present):
                pos.update(by_lemma[lemma])
            if pos and word.nominal:
                # Literal MT keeps a noun a noun: a word that can only be a verb ("marched")
                # does not stand for *marcha*.
                pos = {p for p in pos if not units[p].verb_only}
            if pos and word.stem:
                # Matched on a stem key alone: the word must look like an inflection.
                pos = {
                    p
                    for p in pos
                    if not (units[p].lemmas & word.lemmas) <= {word.stem}
                    or _inflection_of(fold(units[p].surface), word.folded)
                }
            if pos:
                positions[wi] = sorted(pos)
        if sum(1 for wi in pat.required if wi in positions) < pat.need:
            return []
        extra = max(1, min(_MAX_EXTRA, pat.size // 2))
        max_window = pat.size + pat.placeholders * _PLACEHOLDER_SLACK + extra
        if pat.object_after is not None:
            max_window += _OBJECT_SLACK
        anchor = min(
            (wi for wi in pat.required if wi in positions),
            key=lambda wi: (len(positions[wi]), pat.words[wi].zipf),
        )
        out = []
        order = nearest_first(positions, anchor)
        for pa in positions[anchor]:
            # Nearest free positions less than max_window away, in the idiom's own order.
            assign = nearest_placement(positions, order, anchor, pa, max_window - 1)
            while len(assign) > 1:
                lo, hi = min(assign.values()), max(assign.values())
                if hi - lo + 1 <= max_window:
                    break
                far = max((w for w in assign if w != anchor), key=lambda w: abs(assign[w] - pa))
                del assign[far]
            if sum(1 for wi in pat.required if wi in assign) < pat.need:
                continue
            m = self._score(pat, text, units, assign)
            if m is not None:
                out.append(m)
        return out


def _has_needed(pat: SourcePattern, present: set[str]) -> bool:
    """Whether ``pat`` has as many of its required words as it needs among ``present``
    (lemmas); counted down, so the rest are not looked at once it has enough."""
    need = pat.need
    if need <= 0:
        return True
    words = pat.words
    for wi in pat.required:
        if not words[wi].lemmas.isdisjoint(present):
            need -= 1
            if need <= 0:
                return True
    return False
