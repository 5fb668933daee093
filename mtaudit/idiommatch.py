"""Matching engine for literal (word-for-word) translations of foreign idioms.

An idiom's ``literal`` renderings ("one of lime and another of sand") are compiled into
*patterns*: a sequence of content *slots* plus the function words around them. Each slot is
aligned to the source-idiom word whose glossary entry contains the literal word, and is then
filled by ANY glossary translation of that word, by its lemmatised inflections, or by the
source word itself (fuzzy, so "pelos" fills the ``pelo`` slot). A sentence matches a pattern
when (almost) all slots are found in a bounded window, the function words around them agree
well enough (a token-level rapidfuzz Indel similarity) and at least one matched word is
distinctive enough that the co-occurrence cannot be ordinary English.

The engine has no English NLP dependency: :func:`lemma_candidates` is a small rule-based
lemmatiser (plural, -ed, -ing, 3rd person -s, an irregular table) whose guesses are
intersected with the slot vocabulary, so wrong guesses ("spread" -> "spre") never match.
"""

from __future__ import annotations

import os
import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz
from rapidfuzz.distance import Indel

from mtaudit import zipftable
from mtaudit.lexicons import (
    LEXICON_DIR,
    Lexicon,
    LexiconError,
    TomlError,
    load_file,
    parse_toml,
)

LANGUAGE_NAMES = {
    "es": "Spanish",
    "fr": "French",
    "de": "German",
    "it": "Italian",
    "pt": "Portuguese",
}

# Tokens: letters/digits with inner apostrophes. Unlike segment.WORD, hyphens split tokens,
# so a literal's "folder-blow" or a text's "cat-and-mouse" expose their parts to the slots.
TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")

# --- thresholds -----------------------------------------------------------------------
# Calibrated on two measurements (scripts/idiom_recall.py): recall on Apertium's output for
# tests/data/idioms/dev-es.tsv, and findings per 10,000 words of human-written news
# (../shared/bench: wmt-de-en original-en + human-translation-de, wmt22 original-en +
# human-translation-ja). Lowering _MIN_SPECIFICITY to 2.5 gains ~3% recall but more than
# doubles false positives ("sales price", "walked round").
#
# A word is "distinctive" below this Zipf frequency (wordfreq, English): eye (5.02), cost
# (5.24), sand (4.44) are; hard (5.53), one (6.47), make (6.08) are not. A match made only
# of very common words is ordinary English.
DISTINCTIVE_ZIPF = 5.5
# Specificity of a match: the sum over matched words of how much rarer than _COMMON_ZIPF
# each is, plus _FUNCTION_WORD_EVIDENCE per function word or light verb shared with the
# literal. "have pig" (0.5 + 2.4) is not enough; "cost the eyes of the head" (1.3 + 1.5 +
# 1.0 + 1.0) or "threw firewood to the fire" (0.5 + 3.3 + 1.2 + 0.5) is.
_COMMON_ZIPF = 6.5
_MIN_SPECIFICITY = 3.0
_FUNCTION_WORD_EVIDENCE = 0.5
# Suffix-stripped guesses are kept for slot words only when they are real English words.
_REAL_WORD_ZIPF = 3.0
# Minimum shape similarity (token-level Indel over slots + function words) by slot count:
# fewer slots means fewer independent pieces of evidence, so the shape must be closer.
_MIN_SCORE = {1: 0.92, 2: 0.8}
_MIN_SCORE_MANY = 0.66
# Tokens inside the window that are neither slots nor the literal's function words count
# as gap symbols in the Indel comparison (so a gap costs more in a short literal); each
# placeholder ("someone") lets this many through for free.
_FREE_GAPS_PER_PLACEHOLDER = 3
# The window may exceed the literal's length by this many tokens (inserted adverbs, an
# auxiliary, a noun phrase for "someone").
_MAX_EXTRA_TOKENS = 4
# A surviving source word below this English Zipf frequency is no English word at all.
_FOREIGN_ZIPF = 2.5
# Characters that end a phrase: a literal never matches across them.
_PHRASE_BREAKS = frozenset(',;:()[]"“”«»—–')
# Patterns with at least this many slots still match with one slot missing.
_LONG_PATTERN = 4
# Inflected source-word survivals ("pelos" for pelo, "rasgó" for rasgarse) need at least
# this rapidfuzz ratio besides a shared stem.
_SOURCE_RATIO = 70.0

# --- English function words -------------------------------------------------------------
# Not slots: MT output varies them freely ("to"/"on"/"into"), so they only feed the score.
STOPWORDS = frozenset(
    """
    a an the of in on at to into onto from with by for about as and or but nor than that
    which who whom whose this these those there here it its it's his her hers their theirs
    our ours my mine your yours him them us me i you he she we they one's oneself himself
    herself themselves itself ourselves yourself yourselves someone somebody something
    anyone anything everyone everything be am is are was were been being not no n't so
    all any some every each up out off over under through towards toward upon via if
    when where while whether what how why just very too also even still only around
    between behind before after against among across along beside beyond inside outside
    within without near like then cannot can could will would shall should may might must
    """.split()
)
PREPOSITIONS = frozenset(
    """
    of in on at to into onto from with by for about through over under towards toward upon
    via around between behind before after against among across along beside beyond inside
    outside within without near like
    """.split()
)
POSSESSIVES = frozenset("his her their its my our your one's someone's somebody's".split())
REFLEXIVES = frozenset(
    "oneself himself herself themselves itself ourselves yourself yourselves myself".split()
)
# Placeholders in a literal stand for any short noun phrase.
PLACEHOLDERS = frozenset("someone somebody something anyone anything".split())
_BE = frozenset("be am is are was were been being".split())
# Light verbs and very general words: never distinctive whatever their frequency.
_LIGHT = frozenset("have make do take give put get go come set let keep hold".split())

# --- irregular English forms ------------------------------------------------------------
_IRREGULAR_VERBS = """
arise arose arisen|awake awoke awoken|be was were been being am is are|bear bore borne born|
beat beat beaten|become became become|begin began begun|bend bent|bet bet|bid bid|
bind bound|bite bit bitten|bleed bled|blow blew blown|break broke broken|breed bred|
bring brought|build built|burn burnt|burst burst|buy bought|cast cast|catch caught|
choose chose chosen|cling clung|come came come|cost cost|creep crept|cut cut|deal dealt|
dig dug|do did done does doing|draw drew drawn|dream dreamt|drink drank drunk|
drive drove driven|eat ate eaten|fall fell fallen|feed fed|feel felt|fight fought|
find found|flee fled|fling flung|fly flew flown flies|forbid forbade forbidden|
forget forgot forgotten|forgive forgave forgiven|freeze froze frozen|get got gotten|
give gave given|go went gone goes going|grind ground|grow grew grown|hang hung|
have had has having|hear heard|hide hid hidden|hit hit|hold held|hurt hurt|
keep kept|kneel knelt|know knew known|lay laid|lead led|lean leant|leap leapt|learn learnt|
leave left|lend lent|let let|lie lay lain lying|light lit|lose lost|make made|mean meant|
meet met|pay paid|put put|quit quit|read read|ride rode ridden|ring rang rung|
rise rose risen|run ran run|say said|see saw seen|seek sought|sell sold|send sent|set set|
sew sewn|shake shook shaken|shed shed|shine shone|shoot shot|show showed shown|
shrink shrank shrunk|shut shut|sing sang sung|sink sank sunk|sit sat|sleep slept|slide slid|
speak spoke spoken|speed sped|spend spent|spill spilt|spin spun|spit spat|split split|
spread spread|spring sprang sprung|stand stood|steal stole stolen|stick stuck|sting stung|
stink stank stunk|strike struck stricken|string strung|swear swore sworn|sweep swept|
swell swollen|swim swam swum|swing swung|take took taken|teach taught|tear tore torn|
tell told|think thought|throw threw thrown|tread trod trodden|understand understood|
wake woke woken|wear wore worn|weave wove woven|weep wept|win won|wind wound|
write wrote written|withdraw withdrew withdrawn|undertake undertook undertaken|
overcome overcame|die dying|tie tying|undo undid undone|upset upset|
foresee foresaw foreseen|mislead misled
"""
_IRREGULAR_NOUNS = """
man men|woman women|child children|foot feet|tooth teeth|goose geese|mouse mice|ox oxen|
louse lice|person people|leaf leaves|knife knives|wife wives|life lives|half halves|
loaf loaves|wolf wolves|shelf shelves|thief thieves|calf calves|self selves|hoof hooves|
scarf scarves|elf elves|sheaf sheaves|fish fish|sheep sheep|deer deer|potato potatoes|
tomato tomatoes|hero heroes|echo echoes
"""


def _irregular_table() -> dict[str, frozenset[str]]:
    table: dict[str, set[str]] = {}
    for block in (_IRREGULAR_VERBS, _IRREGULAR_NOUNS):
        # Groups are "base form form ...", separated by "|" (line breaks are not separators:
        # a missing "|" would merge two groups, as "meet met pay paid" once did).
        for group in block.replace("\n", "").split("|"):
            base, *forms = group.split()
            for form in forms:
                table.setdefault(form, set()).add(base)
    return {k: frozenset(v) for k, v in table.items()}


_IRREGULAR = _irregular_table()
_VOWELS = frozenset("aeiouy")


@lru_cache(maxsize=65536)
def lemma_candidates(word: str) -> frozenset[str]:
    """Every plausible base form of an English word form, the form itself included.

    Over-generates on purpose ("baked" -> baked, bake, bak): the guesses are only ever
    intersected with a vocabulary of real words, so a wrong guess costs nothing.

    Args:
        word: a lower-case token.
    """
    w = word.replace("’", "'").lower()
    out = {w}
    if w.endswith("'s") or w.endswith("s'"):
        w = w[:-2] if w.endswith("'s") else w[:-1]
        out.add(w)
    out |= _IRREGULAR.get(w, frozenset())
    n = len(w)
    if n > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        out.add(w[:-1])
        if w.endswith("ies") and n > 4:
            out.add(w[:-3] + "y")
        elif w.endswith("ves") and n > 4:
            out.update((w[:-3] + "f", w[:-3] + "fe"))
        elif w.endswith("es"):
            out.add(w[:-2])
    if n > 4 and w.endswith("ed"):
        if w.endswith("ied"):
            out.add(w[:-3] + "y")
        out.update((w[:-1], w[:-2]))
        if w[-3] == w[-4] and w[-3] not in _VOWELS:  # stopped -> stop
            out.add(w[:-3])
    if n > 5 and w.endswith("ing"):
        stem = w[:-3]
        out.update((stem, stem + "e"))
        if stem[-1] == stem[-2] and stem[-1] not in _VOWELS:  # running -> run
            out.add(stem[:-1])
    return frozenset(out)


@lru_cache(maxsize=65536)
def zipf_en(word: str) -> float:
    """English Zipf frequency of a lower-case word (0 when unknown)."""
    return zipftable.zipf(word, "en")


def base_forms(word: str) -> frozenset[str]:
    """Base forms of a *vocabulary* word (a glossary or literal word).

    Unlike :func:`lemma_candidates`, suffix-stripped guesses are kept only when they are
    real words, so the vocabulary never contains "spre" or "bak".
    """
    w = word.lower().replace("’", "'")
    out = {w} | _IRREGULAR.get(w, frozenset())
    for cand in lemma_candidates(w) - out:
        if len(cand) >= 3 and zipf_en(cand) >= _REAL_WORD_ZIPF:
            out.add(cand)
    return frozenset(out)


def function_form(token: str) -> str:
    """The form a function word takes in shape scoring (all possessives alike, be forms alike)."""
    t = token.lower().replace("’", "'")
    if t in POSSESSIVES or (t.endswith("'s") and len(t) > 2 and t not in ("it's", "that's")):
        return "<poss>"
    if t in REFLEXIVES:
        return "<refl>"
    if t in _BE:
        return "be"
    if t == "an":
        return "a"
    light = lemma_candidates(t) & _LIGHT
    return min(light) if light else t


def fold(word: str) -> str:
    """Lower-case and strip accents; ß, œ, æ spelled out (for source-word matching)."""
    w = word.lower().replace("ß", "ss").replace("œ", "oe").replace("æ", "ae")
    w = unicodedata.normalize("NFKD", w)
    return "".join(c for c in w if not unicodedata.combining(c))


# French and Italian elisions glue an article or pronoun to the next word.
_ELISION = re.compile(
    r"^(?:l|d|j|m|n|s|t|c|qu|jusqu|lorsqu|puisqu|dell|all|dall|nell|sull|un|quest|quell)['’]"
)


def source_tokens(text: str) -> list[str]:
    """Lower-case tokens of a source-language phrase, elisions removed (l'œil -> œil)."""
    out = []
    for m in TOKEN.finditer(text):
        tok = _ELISION.sub("", m.group(0).lower())
        out.extend(p for p in tok.split("-") if p)
    return out


# --- lexicon loading -------------------------------------------------------------------


@dataclass
class Glossary:
    """A bilingual word list: source lemma -> English translations."""

    language: str
    words: dict[str, list[str]] = field(default_factory=dict)
    paths: list[str] = field(default_factory=list)


def load_glossary(path: Path | str) -> Glossary:
    """Load a ``glossary`` lexicon (``[meta]`` plus a ``[words]`` table).

    Raises:
        LexiconError: ``path:line: message`` when the file is not a valid glossary.
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
    except OSError as exc:
        raise LexiconError(path, None, f"cannot read glossary: {exc.strerror}") from None
    try:
        data = parse_toml(text)
    except TomlError as exc:
        raise LexiconError(path, exc.line, f"invalid TOML: {exc.message}") from None
    meta = data.get("meta", {})
    if meta.get("kind") != "glossary" or not meta.get("language"):
        raise LexiconError(path, 1, "a glossary needs meta.kind = 'glossary' and meta.language")
    words = data.get("words", {})
    if not isinstance(words, dict):
        raise LexiconError(path, None, "[words] must be a table of word = [translations]")
    clean: dict[str, list[str]] = {}
    for key, value in words.items():
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise LexiconError(path, None, f"glossary entry {key!r} must be a list of strings")
        clean.setdefault(key.lower(), []).extend(values)
    return Glossary(str(meta["language"]), clean, [str(path)])


def builtin_glossaries() -> dict[str, Glossary]:
    """The bundled ``glossary-LANG.toml`` files, by language."""
    out: dict[str, Glossary] = {}
    for p in sorted(LEXICON_DIR.glob("glossary-*.toml")):
        g = load_glossary(p)
        merge_glossary(out, g)
    return out


def merge_glossary(into: dict[str, Glossary], g: Glossary) -> None:
    """Add ``g``'s words to the glossary of its language in ``into``."""
    have = into.setdefault(g.language, Glossary(g.language))
    for k, v in g.words.items():
        have.words.setdefault(k, []).extend(x for x in v if x not in have.words.get(k, []))
    have.paths.extend(g.paths)


def builtin_idiom_lexicons() -> list[Lexicon]:
    """The bundled ``idioms-LANG.toml`` files."""
    return [load_file(p, "idiom") for p in sorted(LEXICON_DIR.glob("idioms-*.toml"))]


def load_english_idioms(paths: Iterable[Path | str] = ()) -> list[str]:
    """Phrases of the bundled ``english-idioms.toml`` plus any extra allowlists."""
    bundled = LEXICON_DIR / "english-idioms.toml"
    files = [bundled] if bundled.exists() else []
    phrases: list[str] = []
    for p in [*files, *map(Path, paths)]:
        phrases.extend(str(e["phrase"]) for e in load_file(p, "english_idiom").entries)
    return phrases


# --- English idiom allowlist ------------------------------------------------------------


@dataclass(frozen=True)
class EnglishIdiom:
    """An English idiom compiled for tolerant matching ("threw in the proverbial towel")."""

    phrase: str
    # Each element: ("word", base forms) | ("poss", ()) | ("refl", ()) | ("np", ())
    elements: tuple[tuple[str, frozenset[str]], ...]


def compile_english_idiom(phrase: str) -> EnglishIdiom:
    """Compile an allowlist phrase; one's/oneself/someone/something are placeholders."""
    elements: list[tuple[str, frozenset[str]]] = []
    for m in TOKEN.finditer(phrase.replace("’", "'")):
        tok = m.group(0).lower()
        if tok in ("one's", "someone's", "somebody's"):
            elements.append(("poss", frozenset()))
        elif tok in REFLEXIVES:
            elements.append(("refl", frozenset()))
        elif tok in PLACEHOLDERS:
            elements.append(("np", frozenset()))
        else:
            elements.append(("word", base_forms(tok)))
    return EnglishIdiom(phrase, tuple(elements))


def _element_matches(kind: str, forms: frozenset[str], token: str) -> bool:
    if kind == "poss":
        return function_form(token) == "<poss>" or token in ("the", "a", "an")
    if kind == "refl":
        return token in REFLEXIVES
    return not forms.isdisjoint(lemma_candidates(token))


class EnglishIdioms:
    """The allowlist, indexed by the base forms of each idiom's first word."""

    def __init__(self, phrases: Iterable[str]) -> None:
        self.idioms = [compile_english_idiom(p) for p in phrases]
        self._by_first: dict[str, list[EnglishIdiom]] = {}
        self._open: list[EnglishIdiom] = []  # first element is a placeholder
        for idiom in self.idioms:
            if not idiom.elements:
                continue
            kind, forms = idiom.elements[0]
            if kind == "word":
                for f in forms:
                    self._by_first.setdefault(f, []).append(idiom)
            else:
                self._open.append(idiom)

    def spans(self, tokens: Sequence[str], max_inserted: int = 2) -> list[tuple[int, int]]:
        """Token ranges ``[i, j]`` (inclusive) where an allowlisted English idiom occurs.

        Up to ``max_inserted`` extra words may sit inside the idiom ("in the proverbial eye
        of the storm"); an ``np`` placeholder absorbs one to four words.
        """
        low = [t.lower().replace("’", "'") for t in tokens]
        spans = []
        for start, word in enumerate(low):
            cands = {id(i): i for f in lemma_candidates(word) for i in self._by_first.get(f, ())}
            for idiom in [*cands.values(), *self._open]:
                end = _match_from(idiom.elements, low, 0, start, max_inserted, first=True)
                if end is not None:
                    spans.append((start, end))
        return spans


def _match_from(
    els: Sequence[tuple[str, frozenset[str]]],
    low: Sequence[str],
    ei: int,
    ti: int,
    budget: int,
    first: bool = False,
) -> int | None:
    """Backtracking matcher: index of the last token matched, or None."""
    if ei == len(els):
        return ti - 1
    if ti >= len(low):
        return None
    kind, forms = els[ei]
    if kind == "np":
        for width in range(1, 5):
            end = _match_from(els, low, ei + 1, ti + width, budget)
            if end is not None:
                return end
        return None
    if _element_matches(kind, forms, low[ti]):
        end = _match_from(els, low, ei + 1, ti + 1, budget)
        if end is not None:
            return end
    if not first and budget > 0:
        return _match_from(els, low, ei, ti + 1, budget - 1)
    return None


# --- idiom patterns ---------------------------------------------------------------------


@dataclass
class Slot:
    """One content position of a literal rendering and every word that may fill it."""

    literal: str  # the literal's own word(s), e.g. "paving stone"
    keys: frozenset[str]  # base forms of every single word that fills the slot
    modifiers: frozenset[str]  # words that only join a filler ("train" of "train station")
    translations: frozenset[str]  # the glossary's English words only (not "cal" itself)
    source: tuple[str, ...]  # folded source-word forms ("pelo", "pelos")
    rarity: float  # highest English Zipf among the keys: lower = a more selective trigger
    capitalised: bool = False  # the literal capitalises it ("August"): not a name then


@dataclass
class _SourceWord:
    """A word of a source idiom and the English words its glossary entry offers."""

    token: str
    key: str | None  # its glossary key
    translations: list[list[str]]  # each translation's content words

    @property
    def fold(self) -> str:
        return fold(self.token)

    @cached_property
    def heads(self) -> frozenset[str]:
        """Base forms of single-word translations and of the last word of longer ones."""
        return frozenset().union(*(base_forms(t[-1]) for t in self.translations if t))

    @cached_property
    def modifiers(self) -> frozenset[str]:
        """Base forms of the other words of multi-word translations ("little" of "little arm")."""
        out = frozenset().union(*(base_forms(w) for t in self.translations for w in t[:-1]))
        return out - self.heads


@dataclass
class Pattern:
    """A compiled literal rendering of one idiom."""

    idiom: dict[str, Any]
    language: str
    literal: str
    slots: list[Slot]
    # The literal as a shape: slot placeholders ("#0") and function forms, in order.
    shape: tuple[str, ...]
    function_words: frozenset[str]
    placeholders: int
    n_left: int  # function tokens before the first slot / after the last slot
    n_right: int
    punctuated: bool = False  # the literal itself contains a phrase break ("live, horse")

    @property
    def required(self) -> int:
        """How many slots must be found (all, or all but one for long literals)."""
        n = len(self.slots)
        return n - 1 if n >= _LONG_PATTERN else n


@dataclass
class Match:
    """One accepted match of a pattern in a sentence (token indices are sentence-local)."""

    pattern: Pattern
    first: int
    last: int
    start: int  # character offsets of the matched span in the scanned text
    end: int
    score: float
    positions: dict[int, int]  # slot index -> token index
    source_survivals: list[str]  # tokens that are untranslated source words
    common: int = 0  # slots + function words shared with the literal
    evidence: float = 0.0  # specificity: how unlike ordinary English the match is
    # Idioms of other languages that match the same span equally well ("swallow toads":
    # Spanish tragar sapos and Portuguese engolir sapos); the detector picks one.
    alternatives: list[Match] = field(default_factory=list)

    @property
    def rank(self) -> tuple[int, float]:
        """Better matches first: more of the literal found, then a closer shape."""
        return (self.common, self.score)

    @property
    def code(self) -> str:
        return "MT102" if self.source_survivals else "MT101"


@dataclass(frozen=True)
class Token:
    """A token of the scanned text with its character span (shared: never mutated)."""

    text: str
    start: int
    end: int
    sep: str = ""  # what separates it from the previous token (" ", ", ", " — ")

    @cached_property
    def low(self) -> str:
        return self.text.lower().replace("’", "'")


def tokenize(text: str, start: int = 0, end: int | None = None) -> list[Token]:
    """Tokens of ``text[start:end]`` with absolute offsets (a new list each call)."""
    return list(_tokenize(text, start, len(text) if end is None else end))


@lru_cache(maxsize=1024)
def _tokenize(text: str, start: int, end: int) -> tuple[Token, ...]:
    """Cached: both idiom engines tokenize every sentence of a document (a string caches
    its hash, so the key costs nothing after the first call)."""
    tokens: list[Token] = []
    prev = start
    for m in TOKEN.finditer(text, start, end):
        tokens.append(Token(m.group(0), m.start(), m.end(), text[prev : m.start()]))
        prev = m.end()
    return tuple(tokens)


class IdiomIndex:
    """Compiled idiom patterns plus the lookup tables that keep a scan fast.

    Args:
        lexicons: ``idiom`` lexicons (each has a ``language``).
        glossaries: glossary per source language.
        english_idioms: allowlisted English idiom phrases.
    """

    def __init__(
        self,
        lexicons: Iterable[Lexicon],
        glossaries: dict[str, Glossary],
        english_idioms: Iterable[str] = (),
    ) -> None:
        self.glossaries = glossaries
        self.issues: list[str] = []
        self.english = EnglishIdioms(english_idioms)
        self.patterns: list[Pattern] = []
        self.idioms: list[dict[str, Any]] = []
        self._gloss_keys: dict[str, dict[str, list[str]]] = {}
        seen_ids: set[str] = set()
        for lex in lexicons:
            for entry in lex.entries:
                # A user file without meta.language still names it in its ids ("es.cal-arena").
                lang = lex.language or str(entry.get("id", "")).partition(".")[0]
                iid = str(entry.get("id") or f"{lang}.{entry['source']}")
                where = f"{lex.path.name}:{entry.get('_line')}"
                if iid in seen_ids:
                    self.issues.append(f"{where}: duplicate idiom id {iid!r}")
                    continue
                seen_ids.add(iid)
                entry = {**entry, "id": iid, "_language": lang, "_where": where}
                self.idioms.append(entry)
                self._compile_idiom(entry, lang, where)
        # Trigger index: a pattern is evaluated only when one of its rarest slots occurs.
        self.trigger: dict[str, list[int]] = {}
        # Source-word forms by folded 3-letter prefix, for fuzzy survival lookup.
        self._source_prefix: dict[str, set[str]] = {}
        for pi, pat in enumerate(self.patterns):
            need = len(pat.slots) - pat.required + 1
            for slot in sorted(pat.slots, key=lambda s: s.rarity)[:need]:
                for key in slot.keys | {_source_key(pat.language, s) for s in slot.source}:
                    self.trigger.setdefault(key, []).append(pi)
            for slot in pat.slots:
                for form in slot.source:
                    self._source_prefix.setdefault(form[:3], set()).add(f"{pat.language}:{form}")
        self._word_keys: dict[str, frozenset[str]] = {}
        # Per pattern, each slot's lookup keys (its English keys and source forms): the
        # cheap test of whether enough slots occur at all, before a pattern is evaluated.
        self._slot_lookups: list[tuple[frozenset[str], ...]] = [
            tuple(
                frozenset(slot.keys | {_source_key(pat.language, f) for f in slot.source})
                for slot in pat.slots
            )
            for pat in self.patterns
        ]

    # -- compilation ---------------------------------------------------------------

    def _gloss_lookup(self, lang: str, word: str) -> str | None:
        """The glossary key for a source-idiom token (exact, de-pluralised, or fuzzy)."""
        gloss = self.glossaries.get(lang)
        if gloss is None:
            return None
        words = gloss.words
        if word in words:
            return word
        for cand in (word[:-1], word[:-2]) if len(word) > 4 else ():
            if cand in words:
                return cand
        folded = self._gloss_keys.setdefault(lang, {})
        if not folded:
            for k in words:
                folded.setdefault(fold(k)[:3], []).append(k)
        best, best_score = None, 0.0
        for k in folded.get(fold(word)[:3], []):
            score = fuzz.ratio(fold(word), fold(k))
            if score > best_score:
                best, best_score = k, score
        return best if best_score >= 85 else None

    def _compile_idiom(self, entry: dict[str, Any], lang: str, where: str) -> None:
        literals = entry.get("literal", [])
        if isinstance(literals, str):
            literals = [literals]
        # Translations that are the idiom's *sense* ("luck" for Schwein, "hangover" for
        # Kater) are evidence of an idiomatic translation, not a literal one: they never
        # fill a slot of this idiom. Common words ("get", "make") are left alone: they
        # cannot make a match on their own.
        sense = {
            w
            for text in [entry.get("meaning", ""), *entry.get("english", [])]
            for w in TOKEN.findall(str(text).lower())
            if w not in STOPWORDS and len(w) > 2
        }
        literal_forms = frozenset().union(
            *(base_forms(w) for lit in literals for w in TOKEN.findall(lit.lower()))
        )
        aligned = []
        for tok in source_tokens(str(entry["source"])):
            key = self._gloss_lookup(lang, tok)
            translations = self.glossaries[lang].words[key] if key is not None else []
            kept = []
            for tr in translations:
                words = [w for w in TOKEN.findall(tr.lower()) if w not in STOPWORDS]
                if any(
                    base_forms(w).isdisjoint(literal_forms)
                    and zipf_en(w) < DISTINCTIVE_ZIPF
                    and any(fuzz.ratio(w, m) >= 85 for m in sense)
                    for w in words
                ):
                    self.issues.append(
                        f"{where}: {entry['id']}: glossary gives {tr!r} for {tok!r}, which is "
                        "the idiom's meaning; not used as a literal filler"
                    )
                    continue
                kept.append(words)
            aligned.append(_SourceWord(tok, key, kept))
        seen: set[tuple[Any, ...]] = set()
        for literal in literals:
            pat = self._compile_literal(entry, lang, literal, aligned, where)
            if pat is None:
                continue
            sig = tuple((s.keys, s.source) for s in pat.slots) + pat.shape
            if sig not in seen:
                seen.add(sig)
                self.patterns.append(pat)

    def _align(
        self, forms: frozenset[str], aligned: list[_SourceWord], used: set[int]
    ) -> int | None:
        """The source word a literal word translates: whole translations first, unused first."""
        for pool in ("heads", "modifiers"):
            hits = [i for i, sw in enumerate(aligned) if not forms.isdisjoint(getattr(sw, pool))]
            if hits:
                return next((i for i in hits if i not in used), hits[0])
        # The literal may keep the source word itself ("one of cal and another of sand").
        return next(
            (
                i
                for i, sw in enumerate(aligned)
                if len(sw.token) > 2 and any(fuzz.ratio(sw.fold, f) >= 90 for f in forms)
            ),
            None,
        )

    def _compile_literal(
        self,
        entry: dict[str, Any],
        lang: str,
        literal: str,
        aligned: list[_SourceWord],
        where: str,
    ) -> Pattern | None:
        words = [t.lower().replace("’", "'") for t in TOKEN.findall(literal)]
        # First pass: function words, placeholders and content words with their source word.
        items: list[tuple[str, str, int | None]] = []  # (kind, word, source index)
        placeholders = 0
        used: set[int] = set()
        for wi, w in enumerate(words):
            if w in PLACEHOLDERS:
                placeholders += 1
                continue
            # "does not", "did not": the auxiliary, not the light verb "do".
            aux = w in ("do", "does", "did") and words[wi + 1 : wi + 2] in (["not"], ["n't"])
            # Possessive pronouns are function words; a possessive noun ("Columbus's") is not.
            if aux or w in STOPWORDS or w in POSSESSIVES:
                items.append(("func", function_form(w), None))
                continue
            forms = base_forms(w)
            src_i = self._align(forms, aligned, used)
            if src_i is None and not forms.isdisjoint(_LIGHT):
                # An unaligned light verb ("get rolled in the flour") carries no evidence of
                # the idiom: score it as a function word instead of requiring it.
                items.append(("func", function_form(w), None))
                continue
            if src_i is None:
                self.issues.append(
                    f"{where}: {entry['id']}: literal word {w!r} (in {literal!r}) is not a "
                    f"glossary translation of any word of {entry['source']!r}"
                )
            else:
                used.add(src_i)
            items.append(("word", w, src_i))
        # Second pass: consecutive words of one source word form one slot ("paving stone"
        # for pavé); the last word is the head, the others only modify it.
        groups: list[list[tuple[str, int | None]]] = []
        shape: list[str] = []
        for kind, w, src_i in items:
            if kind == "func":
                shape.append(w)
                continue
            if groups and shape[-1] == f"#{len(groups) - 1}" and src_i is not None:
                if groups[-1][-1][1] == src_i:
                    groups[-1].append((w, src_i))
                    continue
            shape.append(f"#{len(groups)}")
            groups.append([(w, src_i)])
        if not groups:
            self.issues.append(f"{where}: {entry['id']}: literal {literal!r} has no content word")
            return None
        caps = {t.lower() for t in TOKEN.findall(literal) if t[:1].isupper()}
        slots = [self._slot(group, aligned, caps, entry, where) for group in groups]
        # A literal that is itself an English idiom reveals nothing: never match it.
        lit_tokens = TOKEN.findall(literal)
        for lo, hi in self.english.spans(lit_tokens):
            if hi - lo + 1 >= len(lit_tokens) - 1:
                self.issues.append(
                    f"{where}: {entry['id']}: literal {literal!r} is an English idiom "
                    "(english-idioms.toml); pattern dropped"
                )
                return None
        # Tell the lexicon authors when a literal, matched verbatim, is too ordinary to flag.
        words_zipf = [zipf_en(w) for g in groups for w, _ in g if base_forms(w).isdisjoint(_LIGHT)]
        evidence = sum(max(0.0, _COMMON_ZIPF - z) for z in words_zipf)
        evidence += _FUNCTION_WORD_EVIDENCE * sum(not s.startswith("#") for s in shape)
        if evidence < _MIN_SPECIFICITY or not any(z < DISTINCTIVE_ZIPF for z in words_zipf):
            self.issues.append(
                f"{where}: {entry['id']}: literal {literal!r} is made of common English words; "
                "verbatim it is too weak to flag (only a surviving source word or rarer "
                "synonym makes it match)"
            )
        first_slot = next(i for i, s in enumerate(shape) if s.startswith("#"))
        last_slot = max(i for i, s in enumerate(shape) if s.startswith("#"))
        return Pattern(
            idiom=entry,
            language=lang,
            literal=literal,
            slots=slots,
            shape=tuple(shape),
            function_words=frozenset(s for s in shape if not s.startswith("#")),
            placeholders=placeholders,
            n_left=first_slot,
            n_right=len(shape) - 1 - last_slot,
            punctuated=any(c in _PHRASE_BREAKS for c in literal),
        )

    def _slot(
        self,
        group: list[tuple[str, int | None]],
        aligned: list[_SourceWord],
        capitalised: set[str],
        entry: dict[str, Any],
        where: str,
    ) -> Slot:
        """The slot for consecutive literal words aligned to one source word."""
        words = [w for w, _ in group]
        caps = not capitalised.isdisjoint(words)
        head = base_forms(words[-1])
        mods = frozenset().union(*(base_forms(w) for w in words[:-1])) - head
        src_i = group[0][1]
        if src_i is None:
            return Slot(" ".join(words), head, mods, head, (), _rarity(head), caps)
        sw = aligned[src_i]
        if sw.key is None:
            self.issues.append(
                f"{where}: {entry['id']}: source word {sw.token!r} has no glossary entry"
            )
        keys = head | sw.heads
        source = tuple(sorted({sw.fold, *([fold(sw.key)] if sw.key else [])}))
        return Slot(
            " ".join(words),
            keys,
            (mods | sw.modifiers) - keys,
            sw.heads | sw.modifiers,
            source,
            _rarity(keys),
            caps,
        )

    # -- scanning ------------------------------------------------------------------

    def word_keys(self, low: str) -> frozenset[str]:
        """Lookup keys of one lower-case token: English lemma guesses + source-word forms."""
        keys = self._word_keys.get(low)
        if keys is None:
            keys = lemma_candidates(low)
            folded = fold(low)
            if len(folded) >= 3:
                extra = set()
                for ref in self._source_prefix.get(folded[:3], ()):
                    lang, form = ref.split(":", 1)
                    if form == folded or (
                        _inflection_of(folded, form)
                        # An inflected form must look foreign: "grains" is not German "Gras".
                        and zipftable.zipf(low, lang) > zipf_en(low)
                    ):
                        extra.add("\x00" + ref)
                if extra:
                    keys = keys | extra
            if len(self._word_keys) > 200_000:  # bound memory on huge scans
                self._word_keys.clear()
            self._word_keys[low] = keys
        return keys

    def match_tokens(self, tokens: Sequence[Token]) -> list[Match]:
        """Accepted, non-overlapping idiom matches in one sentence's tokens."""
        low = [t.low for t in tokens]
        by_key: dict[str, list[int]] = {}
        for i, w in enumerate(low):
            for k in self.word_keys(w):
                by_key.setdefault(k, []).append(i)
        candidates: set[int] = set()
        for k in by_key:
            hit = self.trigger.get(k)
            if hit:
                candidates.update(hit)
        if not candidates:
            return []
        # Most triggered patterns lack a required slot in the sentence: skip them without
        # placing anything (the same test _evaluate makes, without building positions).
        present = set(by_key)
        found = [
            m
            for pi in candidates
            if sum(not keys.isdisjoint(present) for keys in self._slot_lookups[pi])
            >= self.patterns[pi].required
            for m in self._evaluate(self.patterns[pi], tokens, low, by_key)
        ]
        if not found:
            return []
        english = self.english.spans([t.text for t in tokens])
        chosen: list[Match] = []
        # The match that explains most of the text wins an overlap ("a hard bone of roer" is
        # Spanish "hueso duro de roer", not Italian "osso duro"); exact ties are kept as
        # alternatives, since English text alone cannot tell the languages apart.
        for m in sorted(found, key=lambda m: (m.rank, m.evidence), reverse=True):
            if any(m.first <= e and s <= m.last for s, e in english):
                continue
            rival = next((c for c in chosen if m.first <= c.last and c.first <= m.last), None)
            if rival is None:
                chosen.append(m)
            elif (
                rival.rank == m.rank
                and (rival.first, rival.last) == (m.first, m.last)
                and m.pattern.idiom["id"]
                not in {a.pattern.idiom["id"] for a in [rival, *rival.alternatives]}
            ):
                rival.alternatives.append(m)
        return sorted(chosen, key=lambda m: m.first)

    def _evaluate(
        self,
        pat: Pattern,
        tokens: Sequence[Token],
        low: Sequence[str],
        by_key: dict[str, list[int]],
    ) -> list[Match]:
        """Every accepted placement of ``pat`` in the sentence (one per anchor position)."""
        positions: list[list[int]] = []
        for slot in pat.slots:
            pos: set[int] = set()
            for k in slot.keys:
                pos.update(by_key.get(k, ()))
            for form in slot.source:
                pos.update(by_key.get(_source_key(pat.language, form), ()))
            positions.append(sorted(pos))
        found = [i for i, p in enumerate(positions) if p]
        if len(found) < pat.required:
            return []
        # Short literals tolerate fewer inserted words: "wine ... drinking" is not "wine pot".
        extra = max(1, min(_MAX_EXTRA_TOKENS, len(pat.shape) // 2))
        max_window = len(pat.shape) + pat.placeholders * _FREE_GAPS_PER_PLACEHOLDER + extra
        anchor = min(found, key=lambda i: len(positions[i]))
        matches: list[Match] = []
        for pa in positions[anchor]:
            assign = {anchor: pa}
            taken = {pa}
            for si in sorted(found, key=lambda i: abs(i - anchor)):
                if si == anchor:
                    continue
                # Nearest free position within reach, preferring the literal's order around
                # the anchor (bisect keeps a long run-on "sentence" linear, not quadratic).
                pos = positions[si]
                near = pos[bisect_left(pos, pa - max_window) : bisect_right(pos, pa + max_window)]
                options = [p for p in near if p not in taken]
                if not options:
                    continue
                p = min(options, key=lambda p: ((p < pa) != (si < anchor), abs(p - pa)))
                assign[si] = p
                taken.add(p)
            while len(assign) >= pat.required:
                lo, hi = min(assign.values()), max(assign.values())
                if hi - lo + 1 <= max_window:
                    break
                if len(assign) == pat.required:
                    assign = {}
                    break
                # Drop the slot farthest from the anchor (allowed once for long patterns).
                far = max((s for s in assign if s != anchor), key=lambda s: abs(assign[s] - pa))
                del assign[far]
            if len(assign) < pat.required:
                continue
            m = self._score(pat, tokens, low, assign)
            if m is not None:
                matches.append(m)
        return matches

    def _score(
        self,
        pat: Pattern,
        tokens: Sequence[Token],
        low: Sequence[str],
        assign: dict[int, int],
    ) -> Match | None:
        lo, hi = min(assign.values()), max(assign.values())
        by_pos = {p: s for s, p in assign.items()}
        # A multi-word filler ("train station", "paving stone") absorbs its other words.
        for si, p in list(assign.items()):
            slot = pat.slots[si]
            for step in (-1, 1):
                q = p + step
                while 0 <= q < len(low) and q not in by_pos:
                    lemmas = lemma_candidates(low[q])
                    if slot.modifiers.isdisjoint(lemmas) and slot.keys.isdisjoint(lemmas):
                        break
                    by_pos[q] = si
                    lo, hi = min(lo, q), max(hi, q)
                    q += step
        # A literal is one phrase: it does not run across a comma, colon, dash or bracket
        # ("Elderflower wine, so drink" is not "wine ... drink").
        if not pat.punctuated and any(
            c in _PHRASE_BREAKS for t in tokens[lo + 1 : hi + 1] for c in t.sep
        ):
            return None
        # Extend over the literal's leading/trailing function words when they are there.
        for _ in range(pat.n_left):
            if lo > 0 and function_form(low[lo - 1]) in pat.function_words:
                lo -= 1
        for _ in range(pat.n_right):
            if hi + 1 < len(low) and function_form(low[hi + 1]) in pat.function_words:
                hi += 1
        # The window as a shape: slot symbols, the literal's function words, and a gap
        # symbol for anything else (inserted adverbs, auxiliaries, a name). A placeholder
        # ("someone") lets a few gap words through for free.
        window: list[str] = []
        free = _FREE_GAPS_PER_PLACEHOLDER * pat.placeholders
        for i in range(lo, hi + 1):
            if i in by_pos:
                sym = f"#{by_pos[i]}"
                if not window or window[-1] != sym:
                    window.append(sym)
                continue
            f = function_form(low[i])
            if f in pat.function_words:
                window.append(f)
            elif free > 0:
                free -= 1
            elif f in PREPOSITIONS:
                # An inserted preposition changes how the words relate ("pays for the duck"
                # is not "pays the duck"), so it costs twice an inserted adverb.
                window.extend(("<gap>", "<gap>"))
            else:
                window.append("<gap>")
        score = Indel.normalized_similarity(window, pat.shape)
        # Function words the window shares with the literal (longest common subsequence).
        common = (len(window) + len(pat.shape) - Indel.distance(window, pat.shape)) // 2
        shared_function = max(0, common - len(assign))
        # Evidence that this is not ordinary English: a distinctive word, or a source word.
        survivals: list[str] = []
        distinctive = False
        english_fill = False
        specificity = _FUNCTION_WORD_EVIDENCE * shared_function
        for si, p in assign.items():
            tok = tokens[p]
            slot = pat.slots[si]
            lemmas = lemma_candidates(low[p])
            keys = self.word_keys(low[p])
            is_source = any(_source_key(pat.language, f) in keys for f in slot.source)
            survived = is_source and slot.translations.isdisjoint(lemmas)
            if survived and tok.text[:1].isupper() and p > 0 and fold(low[p]) not in slot.source:
                # A capitalised look-alike of a source word is a name ("Verdi" is not verde);
                # only exact forms survive capitalised (German nouns: "Brei").
                return None
            if survived:
                survivals.append(tok.text)
            else:
                english_fill = True
            # How common the word is as English: its matched base form, else the token.
            matched = lemmas & slot.keys
            zipf = max(map(zipf_en, matched)) if matched else zipf_en(low[p])
            # A capitalised English word inside a sentence is most likely a name ("Lime",
            # "Sand"); a surviving source word may be capitalised (German nouns: "Brei").
            proper = tok.text[:1].isupper() and p > 0 and not survived and not slot.capitalised
            if proper:
                continue
            if not matched.isdisjoint(_LIGHT):
                # A light verb in its slot is part of the shape, no more ("put", "have").
                specificity += _FUNCTION_WORD_EVIDENCE
                continue
            specificity += max(0.0, _COMMON_ZIPF - zipf)
            if zipf < DISTINCTIVE_ZIPF:
                distinctive = True
        # A surviving source word that is no English word at all is strong evidence on its
        # own, so the frame around it may be looser ("are still in ascuas", "fell of the
        # guindo"); one that is also English ("dents") is not.
        min_score = _MIN_SCORE.get(len(pat.slots), _MIN_SCORE_MANY)
        if any(zipf_en(w.lower()) < _FOREIGN_ZIPF for w in survivals):
            min_score = _MIN_SCORE_MANY
        if score < min_score:
            return None
        # The other words of a multi-word filler ("train" of "train station") add evidence.
        assigned = set(assign.values())
        for q, si in by_pos.items():
            if q not in assigned:
                slot = pat.slots[si]
                matched = lemma_candidates(low[q]) & (slot.keys | slot.modifiers)
                specificity += max(0.0, _COMMON_ZIPF - max(map(zipf_en, matched)))
        # A match made only of source words is untranslated foreign text (a quotation), not a
        # translation, unless English function words of the literal hold it together
        # ("rasgó the vestiduras").
        if not english_fill and not shared_function:
            return None
        if not distinctive or specificity < _MIN_SPECIFICITY:
            return None
        return Match(
            pat,
            lo,
            hi,
            tokens[lo].start,
            tokens[hi].end,
            round(score, 3),
            dict(assign),
            survivals,
            common,
            round(specificity, 2),
        )

    def scan(self, text: str, sentences: Iterable[tuple[int, int]]) -> Iterator[Match]:
        """Matches in ``text``, sentence by sentence (each given as ``(start, end)``)."""
        for start, end in sentences:
            tokens = tokenize(text, start, end)
            yield from self.match_tokens(tokens)


def _inflection_of(word: str, form: str) -> bool:
    """Whether folded ``word`` looks like an inflection of the folded source ``form``.

    Inflection changes the end of a word ("pelos"/"pelo", "rasgó"/"rasgarse"), so the two
    must share a stem covering most of the shorter one and be close by rapidfuzz; a
    different word that merely looks alike ("caber"/"cable") differs before its ending.
    """
    shorter = min(len(word), len(form))
    stem = len(os.path.commonprefix([word, form]))
    return (
        shorter >= 4
        and stem >= 4
        and stem >= 0.75 * shorter
        and fuzz.ratio(word, form) >= _SOURCE_RATIO
    )


def _source_key(lang: str, form: str) -> str:
    return f"\x00{lang}:{form}"


def _rarity(keys: Iterable[str]) -> float:
    """How common the slot's most common filler is (lower = more selective trigger)."""
    return max((zipf_en(k) for k in keys), default=0.0)


def build_index(
    idiom_files: Iterable[Path | str] = (),
    glossary_files: Iterable[Path | str] = (),
    english_files: Iterable[Path | str] = (),
) -> IdiomIndex:
    """The index over the bundled lexicons plus any user files.

    Args:
        idiom_files: extra ``idiom`` lexicons.
        glossary_files: extra ``glossary`` lexicons (merged into the bundled ones).
        english_files: extra ``english_idiom`` allowlists.
    """
    lexicons = builtin_idiom_lexicons() + [load_file(p, "idiom") for p in idiom_files]
    glossaries = builtin_glossaries()
    for p in glossary_files:
        merge_glossary(glossaries, load_glossary(p))
    return IdiomIndex(lexicons, glossaries, load_english_idioms(english_files))
