"""Idioms found by what the source said: English projected back onto source-language lemmas.

The glossary engine (:mod:`mtaudit.idiommatch`) matches English against hand-written
literal renderings, so it misses an idiom whenever the MT worded it differently (another
sense of a word, an inserted pronoun, another preposition). This engine works the other
way round. Each candidate sentence goes through the lexical stages of Apertium's
English-to-source pipeline (:class:`mtaudit.backtranslate.lexical.ApertiumLexicon`), with
*every* analysis and *every* bilingual-dictionary alternative kept, so each English word
becomes the set of source lemmas it may have come from ("nail" -> uña, clavo). Each
idiom's citation form is lemmatised by the source language's analyser, and an idiom
matches when the lemmas of its content words are found together in a short window of the
sentence, in any order (MT reorders adjectives and nouns), with gaps (auxiliaries,
inserted pronouns), and with enough of its function words around them.

The projection of an English word is the union of:

- the English-to-source dictionary's translations of each of its analyses;
- the inverse of the source-to-English dictionary for the idioms' own words (the two
  directions are not symmetric: Apertium renders *llevarse* as "spend", but "spend" goes
  back to *gastar* and *pasar* only);
- the inverse of the hand-made glossary (kept for synonyms other MT systems use: "lime"
  for *cal*, which Apertium leaves untranslated);
- for a word the English analyser does not know, its analysis in the source language:
  MT passes through words it cannot translate ("pelos", "varapalo").

False alarms are kept down the way the glossary engine keeps them down, on the English
side: the English words' rarity must add up to enough evidence (``_MIN_SPECIFICITY``), or
the words must be a combination English does not make (low association under the n-gram
LM); a match may not cross a comma or a dash, and it may not overlap an English idiom. An idiom
never matches where English idioms are: the allowlist, and every idiom's own English
equivalents ("spotlight" may be Apertium's word for *candelero*, but "in the spotlight" is
idiomatic English, never a literal "en el candelero").
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from rapidfuzz.distance import Indel

from mtaudit import zipftable
from mtaudit.backtranslate.lexical import ApertiumLexicon, Unit, lemma_of, parts
from mtaudit.idiommatch import (
    STOPWORDS,
    TOKEN,
    EnglishIdioms,
    Glossary,
    Token,
    base_forms,
    fold,
    lemma_candidates,
    source_tokens,
    tokenize,
    zipf_en,
)
from mtaudit.lexicons import Lexicon

#: Bumped when compilation changes what a cached index holds.
INDEX_VERSION = 1

# --- source side ------------------------------------------------------------------------
# Apertium part-of-speech tags of content words; everything else (pr, det, prn, cnjcoo,
# cnjsub, rel, vbser, vbhaver, ...) is a function word.
_CONTENT_POS = frozenset({"n", "adj", "vblex", "vbmod", "adv", "np", "ij", "vaux"})
# Adverbs that behave as function words: MT renders them freely or drops them.
_FUNCTION_WORDS = {
    "es": frozenset(
        "no ni más menos muy tan tanto ya también tampoco aún todavía sí así casi solo sólo "
        "bien mal luego entonces siempre nunca jamás".split()
    ),
}
# Verbs that carry little of an idiom's image: MT renders them in many ways (dar: give,
# deal, hand, grant), so they are required only when the idiom has fewer than two other
# content words.
_LIGHT = {
    "es": frozenset(
        "ser estar haber tener hacer dar poner ir venir llevar quedar dejar tomar coger "
        "sacar salir pasar seguir andar volver".split()
    ),
}
# Stand-ins for any noun phrase in a citation form ("tomarle el pelo a alguien").
_PLACEHOLDERS = frozenset({"alguien", "algo", "alguno", "alguna"})
_SOURCE_BREAKS = re.compile(r"[,;:()\[\]\"“”«»—–]")

# --- English side -----------------------------------------------------------------------
# Auxiliaries, modals and negation: MT inserts them for tense and mood, so in a window they
# cost half a gap.
_AUX_EN = frozenset("be have do will would can could shall should may might must not".split())
_LIGHT_EN = frozenset("have make do take give put get go come set let keep hold".split())
_BREAK_CHARS = frozenset(',;:()[]"“”«»—–')

# --- thresholds -------------------------------------------------------------------------
# Measured with scripts/idiom_recall.py: recall on the Apertium dev set against findings per
# 10,000 words of original English news (wmt-de-en and wmt21 original-en).
#
# Specificity of a match, as in the glossary engine (mtaudit.idiommatch): the sum over
# matched English words of how much rarer than _COMMON_ZIPF each is (English Zipf
# frequency, wordfreq), plus _FUNCTION_EVIDENCE per function word of the idiom found in place
# and per light verb. "cost an eye of the face" scores 5.3, "broken arm" 3.1.
_COMMON_ZIPF = 6.5
# Below this English Zipf frequency a word of a multiword translation stands for it alone.
DISTINCTIVE_ZIPF = 5.5
_FUNCTION_EVIDENCE = 0.5
_MIN_SPECIFICITY = 3.5
# A passed-through source word that is no English word at all (Zipf below this) is strong
# evidence on its own ("pelos", "varapalo"), and then a little less specificity will do.
_FOREIGN_ZIPF = 2.5
_SURVIVAL_EVIDENCE = 3.0
_SURVIVAL_SPECIFICITY = 3.0
# Literal idioms made of common words ("lost the north", "did his August", "spend bill") are
# combinations English does not make: their association, the mean pointwise mutual
# information of the span's words given the words before them under the CMU 3-gram LM,
# is low (-0.4 to 0.0 nats a word), where ordinary phrases of the same words are
# collocations ("broken arm" 2.0, "cut ties" 2.1, "warm clothing" 2.2). A match with
# little specificity is accepted when its association is at most _MAX_ASSOCIATION; two
# words without a function word of the idiom that are a strong collocation (above
# _COLLOCATION) are never accepted.
_LOW_SPECIFICITY = 1.0
_MAX_ASSOCIATION = 0.0
_COLLOCATION = 2.0
# Minimum shape similarity (rapidfuzz Indel over the window's content words, function words
# and gaps against the idiom's) by the number of content words matched: fewer pieces of
# evidence, closer shape.
_MIN_SIMILARITY = {1: 0.92, 2: 0.85}
_MIN_SIMILARITY_MANY = 0.6
# Idioms with at least this many required content words still match with one missing.
_LONG = 4
# Window: the idiom's length plus this much slack, plus a few words per placeholder.
_MAX_EXTRA = 4
_PLACEHOLDER_SLACK = 3
# Words an object may take between an idiom's opening verb and the rest ("dejó a las
# familias desalojadas en la estacada").
_OBJECT_SLACK = 4
# Bound on the projection caches (distinct words and units of a long scan).
_CACHE_LIMIT = 300_000


def _deplural(word: str) -> set[str]:
    """Singular guesses for an unknown source word ("pelos" -> pelo): MT keeps plurals."""
    out = {word}
    if len(word) > 4 and word.endswith("s"):
        out.add(word[:-1])
        if word.endswith("es"):
            out.add(word[:-2])
    return out


@lru_cache(maxsize=200_000)
def _lemma_words(analysis: str) -> frozenset[str]:
    """Folded lemmas of an analysis: of each part of a joined one except enclitic pronouns
    ("al" -> a, el; "llevarse" -> llevar), each word of a multiword lemma ("delante de"),
    and a pronominal verb's base ("marearse" -> marear: the analysers disagree on which is
    the lemma)."""
    words: set[str] = set()
    for part in parts(analysis):
        if "<enc>" in part:
            continue
        lemma = fold(lemma_of(part))
        words |= set(lemma.split())
        words.add(lemma)
        if "<vblex>" in part:
            words |= {w[:-2] for w in list(words) if w.endswith(("arse", "erse", "irse"))}
    return frozenset(w for w in words if w)


def _stem_key(word: str) -> str:
    """Lookup key shared by inflections of a word no analyser knows ("rasgó", "rasgarse")."""
    return "~" + word[:4]


def _unknown_lemmas(folded: str) -> set[str]:
    """Lemmas for a word no analyser knows: itself, singular guesses, its stem key."""
    out = _deplural(folded)
    if folded.endswith(("arse", "erse", "irse")):
        out.add(folded[:-2])
    if len(folded) >= 4:
        out.add(_stem_key(folded))
    return out


def _inflection_of(word: str, form: str) -> bool:
    """Whether folded ``word`` looks like an inflection of folded ``form`` ("rasgo"/"rasgarse").

    Inflection changes the end of a word, so the two must share a stem covering most of
    the shorter one; a different word that merely looks alike ("caber"/"cable") differs
    before its ending.
    """
    shorter = min(len(word), len(form))
    stem = len(os.path.commonprefix([word, form]))
    return shorter >= 4 and stem >= 4 and stem >= 0.6 * shorter


@dataclass(frozen=True)
class SourceWord:
    """One word of an idiom's citation form."""

    surface: str
    lemmas: frozenset[str]  # folded lemmas (every analysis), or the word itself if unknown
    kind: str  # "content" | "function" | "placeholder"
    light: bool = False
    zipf: float = 0.0  # frequency in the source language (rarer: a better trigger)
    folded: str = ""
    stem: str = ""  # the stem key, for a word no analyser knows (matched by inflection)
    verb: bool = False  # the analyser reads it as a verb
    preposition: bool = False  # the analyser reads it as a preposition
    nominal: bool = False  # only ever a noun or an adjective

    @property
    def symbol(self) -> str:
        """How a function word appears in a shape (all its lemmas alike)."""
        return "f:" + min(self.lemmas) if self.lemmas else "f:?"


@dataclass
class SourcePattern:
    """A compiled idiom: its words, which of them must be found, and how many."""

    idiom: dict[str, Any]
    language: str
    words: tuple[SourceWord, ...]
    required: tuple[int, ...]  # indices of words that must be found
    optional: tuple[int, ...]  # content words that add evidence when found (light verbs)
    need: int  # how many of ``required`` must be found
    punctuated: bool = False

    @property
    def size(self) -> int:
        return sum(1 for w in self.words if w.kind != "placeholder")

    @property
    def placeholders(self) -> int:
        return sum(1 for w in self.words if w.kind == "placeholder")

    @property
    def object_after(self) -> int | None:
        """The verb after which MT may put the sentence's object, if the idiom has one.

        "dejar en la estacada" is written "dejó a las familias en la estacada": an idiom
        that opens with a verb and a preposition leaves room for an object between them.
        """
        w = self.words
        if len(w) > 2 and w[0].verb and w[1].kind == "function" and w[1].preposition:
            return 0
        return None

    @property
    def shape(self) -> tuple[str, ...]:
        """Content words as ``#i``, function words as their symbol, placeholders left out."""
        return tuple(
            f"#{i}" if w.kind == "content" else w.symbol
            for i, w in enumerate(self.words)
            if w.kind != "placeholder"
        )

    @property
    def function_symbols(self) -> dict[str, frozenset[str]]:
        return {w.symbol: w.lemmas for w in self.words if w.kind == "function"}


@dataclass
class PUnit:
    """An English word of a sentence, projected onto source lemmas."""

    start: int
    end: int
    surface: str
    lemmas: frozenset[str]
    english: frozenset[str]  # English lemmas (lower case)
    info: WordInfo
    known: bool  # the English analyser knows it
    proper: bool  # a name: capitalised inside the sentence
    aux: bool  # an auxiliary, modal or negation
    sep: str = ""  # the text between the previous word and this one
    preposition: bool = False  # only ever a preposition
    noun: bool = False  # only ever a noun
    verb: bool = False  # may be a (lexical) verb
    verb_only: bool = False  # only ever a verb form

    @property
    def zipf(self) -> float:
        return self.info.zipf


@dataclass(frozen=True)
class WordInfo:
    """What the analysers and dictionaries say about one English word form."""

    lemmas: frozenset[str]
    english: frozenset[str]
    low: str
    known: bool
    always_capitalised: bool
    aux: bool
    preposition: bool = False
    noun: bool = False
    verb: bool = False
    verb_only: bool = False
    triggers: frozenset[int] = frozenset()  # patterns whose rarest word it may stand for

    @property
    def zipf(self) -> float:
        """How common the word is in English: its lemma's frequency ("lost" as "lose"),
        the form's own when the analyser does not know it (computed when a match needs it)."""
        return _english_zipf(self.english, self.low, self.known)


@dataclass
class SourceMatch:
    """An accepted match (unit indices are sentence-local)."""

    pattern: SourcePattern
    first: int
    last: int
    start: int
    end: int
    score: float
    matched: int  # content + function words found in place
    evidence: float
    survivals: list[str]
    content_found: int
    association: float | None = None  # set when the evidence test needed it

    @property
    def rank(self) -> tuple[int, float]:
        return (self.matched, self.score)

    @property
    def code(self) -> str:
        return "MT102" if self.survivals else "MT101"


@dataclass
class SourceIdiomIndex:
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

    def __getstate__(self) -> dict[str, Any]:
        # The projection caches are scan state, not part of the compiled index.
        return {**self.__dict__, "_words": {}, "lm": None}

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
            for a in src.get(low, ()):
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
        triggered: set[int] = set()
        for i in infos:
            triggered |= i.triggers
        if not triggered:
            return False
        present: set[str] = set()
        for i in infos:
            present |= i.lemmas
        for pi in triggered:
            pat = self.patterns[pi]
            found = sum(1 for wi in pat.required if not pat.words[wi].lemmas.isdisjoint(present))
            if found >= pat.need:
                return True
        return False

    def scan(self, text: str, sentences: Iterable[tuple[int, int]]) -> Iterator[SourceMatch]:
        """Matches in ``text``, sentence by sentence (each given as ``(start, end)``)."""
        # All new words of the document go to the analysers in one exchange.
        info = self.words(m.group(0) for m in TOKEN.finditer(text))
        for s, e in sentences:
            tokens = tokenize(text, s, e)
            if tokens and self._possible([info[t.text] for t in tokens]):
                yield from self.match_units(text, self.project(text, s, e, tokens))

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
        found = [
            m
            for pi in sorted(cands)
            for m in self._evaluate(self.patterns[pi], text, units, by_lemma)
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
    ) -> list[SourceMatch]:
        words = pat.words
        # Cheap test first: most triggered patterns lack some required word.
        present = sum(
            1 for wi in pat.required if any(lemma in by_lemma for lemma in words[wi].lemmas)
        )
        if present < pat.need:
            return []
        positions: dict[int, list[int]] = {}
        for wi in (*pat.required, *pat.optional):
            word = words[wi]
            pos: set[int] = set()
            for lemma in word.lemmas:
                pos.update(by_lemma.get(lemma, ()))
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
        for pa in positions[anchor]:
            assign = {anchor: pa}
            taken = {pa}
            for wi in sorted(positions, key=lambda w: abs(w - anchor)):
                if wi == anchor:
                    continue
                options = [p for p in positions[wi] if p not in taken and abs(p - pa) < max_window]
                if not options:
                    continue
                # Nearest, preferring the idiom's own order around the anchor.
                p = min(options, key=lambda p: ((p < pa) != (wi < anchor), abs(p - pa)))
                assign[wi] = p
                taken.add(p)
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

    def _score(
        self, pat: SourcePattern, text: str, units: Sequence[PUnit], assign: dict[int, int]
    ) -> SourceMatch | None:
        lo, hi = min(assign.values()), max(assign.values())
        # One phrase: a literal idiom does not run across a comma, colon, dash or bracket.
        if not pat.punctuated and any(
            c in _BREAK_CHARS for i in range(lo + 1, hi + 1) for c in units[i].sep
        ):
            return None
        symbols = pat.function_symbols
        by_pos = {p: f"#{wi}" for wi, p in assign.items()}

        def function_symbol(u: PUnit) -> str | None:
            if not u.known or u.proper:
                return None
            return next((sym for sym, ls in symbols.items() if not ls.isdisjoint(u.lemmas)), None)

        # An optional word that is not there (a light verb the MT rendered otherwise:
        # "dipped" for *poner*) is left out of the idiom's shape.
        shape = tuple(
            x
            for x in pat.shape
            if not (x.startswith("#") and int(x[1:]) in pat.optional and int(x[1:]) not in assign)
        )
        # The idiom's leading and trailing function words, when they are there.
        slots = [k for k, x in enumerate(shape) if x.startswith("#")]
        left, right = frozenset(shape[: slots[0]]), frozenset(shape[slots[-1] + 1 :])
        while lo > 0 and left and not any(c in _BREAK_CHARS for c in units[lo].sep):
            sym = function_symbol(units[lo - 1])
            if sym is None or sym not in left:
                break
            lo -= 1
        while hi + 1 < len(units) and right:
            if any(c in _BREAK_CHARS for c in units[hi + 1].sep):
                break
            sym = function_symbol(units[hi + 1])
            if sym is None or sym not in right:
                break
            hi += 1
        # Words joined by hyphens are one English word ("point-blank" is not *de punta en
        # blanco*): a match inside a compound is English.
        positions = sorted(assign.values())
        if len(positions) > 1 and all(
            units[j].sep == "-"
            for k in range(len(positions) - 1)
            for j in range(positions[k] + 1, positions[k + 1] + 1)
        ):
            return None
        # A noun right after the match makes its last word a modifier: "pays for the duck
        # pond" is about a pond, not the duck of "pagar el pato".
        last = max(assign.values())
        if (
            last == hi
            and hi + 1 < len(units)
            and units[hi + 1].noun
            and units[hi + 1].sep == " "
            and not units[hi + 1].proper
        ):
            return None
        window: list[str] = []
        free = pat.placeholders * _PLACEHOLDER_SLACK
        # Room for an object right after an opening verb (see SourcePattern.object_after).
        verb_at = assign.get(pat.object_after) if pat.object_after is not None else None
        object_room = _OBJECT_SLACK if verb_at is not None else 0
        after_verb = pat.words[1].symbol if verb_at is not None else None
        for i in range(lo, hi + 1):
            if i in by_pos:
                window.append(by_pos[i])
                continue
            sym = function_symbol(units[i])
            if (
                object_room
                and verb_at is not None
                and window[-1:] == [by_pos[verb_at]]
                and sym != after_verb
            ):
                object_room -= 1  # a word of the object, between the verb and the idiom
            elif sym is not None:
                window.append(sym)
            elif free > 0:
                free -= 1
            elif units[i].preposition:
                # An inserted preposition changes how the words relate ("pays for the
                # duck" is not "pays the duck"): twice an inserted adverb.
                window.extend(("<gap>", "<gap>"))
            else:
                window.append("<gap>")
        # MT puts a Spanish noun's adjective in front of it ("vista gorda" -> "fat view"):
        # adjacent content words in swapped order count as in order.
        for k in range(len(window) - 1):
            a, b = window[k], window[k + 1]
            if a.startswith("#") and b.startswith("#") and int(a[1:]) > int(b[1:]):
                window[k], window[k + 1] = b, a
        score = Indel.normalized_similarity(window, shape)
        common = (len(window) + len(shape) - Indel.distance(window, shape)) // 2
        shared_function = max(0, common - len(assign))
        minimum = _MIN_SIMILARITY.get(len(assign), _MIN_SIMILARITY_MANY)
        survivals: list[str] = []
        evidence = _FUNCTION_EVIDENCE * shared_function
        english_fill = shared_function > 0
        for wi, p in assign.items():
            u = units[p]
            word = pat.words[wi]
            folded = fold(u.surface)
            # A word the MT passed through: unknown to the English analyser, and no English
            # word at all or the source word itself ("pelos", "cal").
            foreign = not u.known and (
                zipf_en(u.surface.lower()) < _FOREIGN_ZIPF
                or folded in word.lemmas
                or folded == word.folded
            )
            if foreign and not u.proper:
                survivals.append(u.surface)
                evidence += _SURVIVAL_EVIDENCE
                continue
            if u.proper:
                continue
            english_fill = True
            if not u.english.isdisjoint(_LIGHT_EN) or word.light:
                evidence += _FUNCTION_EVIDENCE
                continue
            evidence += max(0.0, _COMMON_ZIPF - u.zipf)
        if survivals:
            # A word the MT could not translate is evidence enough for a looser frame.
            minimum = min(minimum, _MIN_SIMILARITY_MANY)
        if score < minimum or not english_fill:
            return None
        # An opening verb the MT rendered with another verb ("dipped the toe in the sore"
        # for *poner el dedo en la llaga*) still belongs to the span: a replacement of the
        # span replaces it too.
        w0 = pat.words[0]
        if (
            w0.kind == "content"
            and w0.verb
            and 0 not in assign
            and lo > 0
            and units[lo - 1].verb
            and units[lo].sep == " "
        ):
            lo -= 1
        m = SourceMatch(
            pat,
            lo,
            hi,
            units[lo].start,
            units[hi].end,
            round(score, 3),
            common,
            round(evidence, 2),
            survivals,
            len(assign),
        )
        return m if self._accept(m, text, units) else None

    def _accept(self, m: SourceMatch, text: str, units: Sequence[PUnit]) -> bool:
        """The evidence test (see the thresholds at the top of the module)."""
        if m.survivals:
            return m.evidence >= _SURVIVAL_SPECIFICITY
        if m.evidence < _LOW_SPECIFICITY:
            return False
        if m.content_found == 1:
            # One content word is too little for the association test to rest on.
            return m.evidence >= _MIN_SPECIFICITY
        needs_lm = m.evidence < _MIN_SPECIFICITY or m.matched <= 2
        if not needs_lm:
            return True
        assoc = self.association(text, m.start, m.end, units[0].start)
        m.association = assoc
        if assoc is None:
            return m.evidence >= _MIN_SPECIFICITY
        if m.content_found <= 2 and m.matched <= m.content_found and assoc > _COLLOCATION:
            return False
        return m.evidence >= _MIN_SPECIFICITY or assoc <= _MAX_ASSOCIATION

    def association(self, text: str, start: int, end: int, sentence_start: int) -> float | None:
        """Mean PMI (nats a word) of ``text[start:end]`` given the two words before it, under
        the n-gram LM (None without one): low for word combinations English does not make."""
        lm = self.lm
        if lm is None:
            return None
        tokens = lm.token_spans(text[sentence_start:end])
        inside = [i for i, (_, a, b) in enumerate(tokens) if a >= start - sentence_start]
        if not inside:
            return None
        i0, i1 = inside[0], inside[-1] + 1
        words = [w for w, _, _ in tokens]
        logprob = lm.window_logprob(words, i0, i1)
        unigram = sum(lm.unigram_cost(w) for w in words[i0:i1])
        return (logprob + unigram) / (i1 - i0)


# --- compilation --------------------------------------------------------------------------


def _classify(lang: str, word: str, analyses: Sequence[str]) -> tuple[str, frozenset[str], bool]:
    """(kind, lemmas, light) of one citation-form word."""
    folded = fold(word)
    if folded in _PLACEHOLDERS:
        return "placeholder", frozenset(), False
    if not analyses:
        return "content", frozenset(_unknown_lemmas(folded)), False
    content = [a for a in analyses if a.split("<", 1)[-1].split(">", 1)[0] in _CONTENT_POS]
    function_words = _FUNCTION_WORDS.get(lang, frozenset())
    # A frequent word with a function reading is a function word ("una": det/num/prn, and
    # a form of "unir"; "sobre": preposition, and the noun "envelope").
    frequent_function = len(content) < len(analyses) and zipftable.zipf(word, lang) >= 5.5
    if not content or folded in function_words or frequent_function:
        return "function", frozenset(x for a in analyses for x in _lemma_words(a)), False
    lemmas = frozenset(x for a in content for x in _lemma_words(a))
    light = not lemmas.isdisjoint(_LIGHT.get(lang, frozenset())) and all(
        lemma_of(a) in _LIGHT.get(lang, frozenset()) for a in content if "<vblex>" in a
    )
    return "content", lemmas, light


_NO_WORD = WordInfo(frozenset(), frozenset(), "", False, False, False)


@lru_cache(maxsize=65536)
def _english_zipf(english: frozenset[str], low: str, known: bool) -> float:
    zipfs = [zipf_en(x) for x in english if " " not in x] if known else []
    return max(zipfs) if zipfs and max(zipfs) > 0 else zipf_en(low)


def _verb_only_word(word: str) -> bool:
    """Whether lemminflect knows ``word`` (lower case) only as a verb form ("marched")."""
    return word in _verb_only_words()


@lru_cache(maxsize=1)
def _verb_only_words() -> frozenset[str]:
    """Every word lemminflect knows only as a verb form, from the index cache: loading
    lemminflect's tables to ask about a handful of words cost ~0.5 s a process."""
    import importlib.util

    from mtaudit import indexcache

    spec = importlib.util.find_spec("lemminflect")
    where = Path(next(iter(spec.submodule_search_locations or ()), "")) if spec else Path()
    data = [where / "resources" / "lemma_lu.csv.gz", where / "resources" / "lemma_overrides.csv"]

    def build() -> frozenset[str]:
        from lemminflect import Lemmatizer, getAllLemmas

        lem = Lemmatizer()
        # Any word outside these two tables has no lemmas at all, hence is not verb-only.
        words = {w.lower() for w in lem._getLemmaDict()} | {
            w.lower() for w in lem._getOverridesDict()
        }
        return frozenset(w for w in words if set(getAllLemmas(w)) == {"VERB"})

    return indexcache.cached(indexcache.digest("verbonly", data), build)


def _is_verb_analysis(analysis: str) -> bool:
    tag = analysis.split("<", 2)[1].rstrip(">") if "<" in analysis else ""
    return tag in ("vblex", "vbser", "vbhaver", "vbmod", "vaux", "vbdo")


def _english_keys(translation: str) -> set[str]:
    """English words that stand for a source word translated as ``translation``.

    A one-word translation gives its base forms; a multiword one ("feel dizzy" for
    *marear*) its uncommon content words, since words are matched one by one: "dizzy"
    stands for *marear*, "feel" does not.
    """
    words = translation.lower().replace("#", " ").split()
    if len(words) == 1:
        return set(base_forms(words[0]))
    return {
        f
        for w in words
        if w not in STOPWORDS and zipf_en(w) < DISTINCTIVE_ZIPF
        for f in base_forms(w)
    }


def compile_index(
    language: str,
    lexicons: Iterable[Lexicon],
    lexicon: ApertiumLexicon,
    glossary: Glossary | None,
    english_idioms: Iterable[str] = (),
) -> SourceIdiomIndex:
    """Compile the ``language`` idioms of ``lexicons`` against the Apertium pair's data."""
    entries: list[dict[str, Any]] = []
    seen: set[str] = set()
    issues: list[str] = []
    for lex in lexicons:
        for entry in lex.entries:
            lang = lex.language or str(entry.get("id", "")).partition(".")[0]
            if lang != language:
                continue
            iid = str(entry.get("id") or f"{lang}.{entry['source']}")
            if iid in seen:
                issues.append(f"{lex.path.name}:{entry.get('_line')}: duplicate idiom id {iid!r}")
                continue
            seen.add(iid)
            entries.append({**entry, "id": iid, "_language": lang})
    tokens_per = [source_tokens(str(e["source"])) for e in entries]
    analyses = lexicon.source_analyses({t for toks in tokens_per for t in toks})
    patterns: list[SourcePattern] = []
    for entry, toks in zip(entries, tokens_per, strict=True):
        words: list[SourceWord] = []
        for k, t in enumerate(toks):
            found = analyses.get(t, ())
            # A reading with an enclitic pronoun ("velas" as ve + las) is far-fetched in a
            # citation form when the word has a plain one (vela, velar).
            plain = tuple(a for a in found if "<enc>" not in a)
            found = plain or found
            previous = analyses.get(toks[k - 1], ()) if k else ()
            if any("<det>" in a or "<vblex><inf>" in a for a in previous):
                # After a determiner, or an infinitive (its object: "dar marcha atrás"), a
                # word is a noun or an adjective ("las velas": sails, not the verb velar;
                # "marcha": not "he marches"), which keeps "watch" or "marched" from
                # standing for it.
                nominal = tuple(a for a in found if a.split("<")[1].startswith(("n>", "adj>")))
                found = nominal or found
            kind, lemmas, light = _classify(language, t, found)
            zipf = zipftable.zipf(t, language) if kind == "content" else 9.0
            stem = _stem_key(fold(t)) if _stem_key(fold(t)) in lemmas else ""
            verb = any("<vblex>" in a for a in found)
            prep = any("<pr>" in a for a in found)
            nominal = bool(found) and all(
                a.split("<")[1].startswith(("n>", "adj>", "np>")) for a in found
            )
            words.append(
                SourceWord(t, lemmas, kind, light, zipf, fold(t), stem, verb, prep, nominal)
            )
        content = [i for i, w in enumerate(words) if w.kind == "content"]
        heavy = [i for i in content if not words[i].light]
        if not content:
            issues.append(f"{entry['id']}: no content word in {entry['source']!r}")
            continue
        if len(heavy) >= 2:
            required, optional = heavy, [i for i in content if i not in heavy]
        else:
            required, optional = content, []
        need = len(required) - 1 if len(required) >= _LONG else len(required)
        patterns.append(
            SourcePattern(
                entry,
                language,
                tuple(words),
                tuple(required),
                tuple(optional),
                need,
                bool(_SOURCE_BREAKS.search(str(entry["source"]))),
            )
        )
    # The inverse of the source-to-English dictionary for the idioms' words: the English
    # words Apertium itself would have chosen for them.
    # Enclitic pronouns are left out: "echarle" is *echar*, and "him" does not stand for it.
    word_parts = {
        t: [p for a in analyses.get(t, ()) for p in parts(a) if "<enc>" not in p]
        for pat in patterns
        for t in (w.surface for w in pat.words)
    }
    to_en = lexicon.to_english({p for v in word_parts.values() for p in v})
    inverse: dict[str, set[str]] = {}
    for pat in patterns:
        for w in pat.words:
            for a in word_parts.get(w.surface, ()):
                own = _lemma_words(a) & w.lemmas  # this part's lemma ("de" of "del")
                if not own:
                    continue
                for t in to_en.get(a, ()):
                    # Function words only as prepositions for prepositions ("on" for
                    # *sobre*): their other translations ("the" for *a*) are everywhere.
                    if w.kind == "function" and not ("<pr>" in a and "<pr>" in t):
                        continue
                    for e in _english_keys(lemma_of(t)):
                        inverse.setdefault(e, set()).update(own)
    # The glossary, inverted: English word -> source keys (other MT systems' synonyms), for
    # the idioms' content words only: its function-word entries ("a": to, at) would make
    # every "the" and "of" stand for something.
    # Very common English words ("be", "give") are left out too: the glossary lists them
    # for many verbs, and Apertium's own dictionary covers them.
    content_lemmas = {x for p in patterns for w in p.words if w.kind == "content" for x in w.lemmas}
    if glossary is not None:
        for key, values in glossary.words.items():
            if fold(key) not in content_lemmas:
                continue
            for v in values:
                for e in _english_keys(v):
                    if e not in _LIGHT_EN and e not in _AUX_EN and zipf_en(e) < 6.0:
                        inverse.setdefault(e, set()).add(fold(key))
    return _assemble(language, lexicon, patterns, inverse, english_idioms, issues)


def _assemble(
    language: str,
    lexicon: ApertiumLexicon,
    patterns: list[SourcePattern],
    inverse: dict[str, set[str]],
    english_idioms: Iterable[str],
    issues: list[str],
) -> SourceIdiomIndex:
    # Trigger index: a pattern is evaluated only when one of its rarest required words is
    # there (enough of them that a pattern allowed to miss one is still triggered).
    trigger: dict[str, list[int]] = {}
    for pi, p in enumerate(patterns):
        req = sorted(p.required, key=lambda i: p.words[i].zipf)
        for wi in req[: len(p.required) - p.need + 1]:
            for lemma in p.words[wi].lemmas:
                trigger.setdefault(lemma, []).append(pi)
    # Every idiom's English equivalents of two content words or more: where one of them is,
    # the English is idiomatic, whatever it projects onto.
    equivalents = {
        str(e)
        for p in patterns
        for e in (p.idiom.get("english") or [])
        if sum(1 for w in TOKEN.findall(str(e).lower()) if w not in STOPWORDS) >= 2
    }
    return SourceIdiomIndex(
        language,
        lexicon,
        patterns,
        trigger,
        {k: frozenset(v) for k, v in inverse.items()},
        EnglishIdioms(english_idioms),
        EnglishIdioms(sorted(equivalents)),
        issues,
    )


def build_source_index(
    language: str,
    idiom_files: Iterable[Path | str] = (),
    glossary_files: Iterable[Path | str] = (),
    english_files: Iterable[Path | str] = (),
) -> SourceIdiomIndex | None:
    """The compiled index for ``language``, or None when its Apertium pair is not installed.

    Compiled once per lexicon and Apertium data version and cached on disk
    (:mod:`mtaudit.indexcache`); the Apertium processes start on first use.
    """
    from mtaudit import idiommatch as idiommatch_module
    from mtaudit import indexcache
    from mtaudit.backtranslate import lexical as lexical_module
    from mtaudit.backtranslate.lexical import pair_files
    from mtaudit.idiommatch import (
        LEXICON_DIR,
        builtin_glossaries,
        builtin_idiom_lexicons,
        load_english_idioms,
        load_glossary,
        merge_glossary,
    )
    from mtaudit.lexicons import load_file

    files = pair_files(language)
    if files is None:
        return None
    idiom_files, glossary_files, english_files = (
        [Path(p) for p in idiom_files],
        [Path(p) for p in glossary_files],
        [Path(p) for p in english_files],
    )
    inputs = [
        *sorted(LEXICON_DIR.glob("idioms-*.toml")),
        *sorted(LEXICON_DIR.glob("glossary-*.toml")),
        LEXICON_DIR / "english-idioms.toml",
        Path(__file__),  # the compiler and what it builds on
        Path(idiommatch_module.__file__),
        Path(lexical_module.__file__),
        *idiom_files,
        *glossary_files,
        *english_files,
    ]
    lexicon = ApertiumLexicon(language, files)
    key = indexcache.digest(f"source{language}", inputs, [f"v{INDEX_VERSION}", lexicon.signature])

    def build() -> SourceIdiomIndex:
        lexicons = builtin_idiom_lexicons() + [load_file(p, "idiom") for p in idiom_files]
        glossaries = builtin_glossaries()
        for p in glossary_files:
            merge_glossary(glossaries, load_glossary(p))
        return compile_index(
            language,
            lexicons,
            lexicon,
            glossaries.get(language),
            load_english_idioms(english_files),
        )

    index = indexcache.cached(key, build)
    if index.lexicon is not lexicon:
        lexicon.close()  # unused: the cached index brought its own (process-less) one
    return index
