"""English side of the idiom engine: thresholds, function words, base forms (lemminflect's,
through mtaudit.lemmacache) and Zipf look-ups, source-word folding."""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

from rapidfuzz import fuzz

from mtaudit import zipftable
from mtaudit.lemmacache import NOUN_TAGS, VERB_TAGS, all_lemmas, inflection

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
# Specificity of a match: the sum over matched words of how much rarer than COMMON_ZIPF
# each is, plus FUNCTION_WORD_EVIDENCE per function word or light verb shared with the
# literal. "have pig" (0.5 + 2.4) is not enough; "cost the eyes of the head" (1.3 + 1.5 +
# 1.0 + 1.0) or "threw firewood to the fire" (0.5 + 3.3 + 1.2 + 0.5) is.
COMMON_ZIPF = 6.5
_MIN_SPECIFICITY = 3.0
FUNCTION_WORD_EVIDENCE = 0.5
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
# A surviving source word below this English Zipf frequency is no English word at all
# (the source matcher, mtaudit.sourcematch, uses the same line).
FOREIGN_ZIPF = 2.5
# Characters that end a phrase: a literal never matches across them.
PHRASE_BREAKS = frozenset(',;:()[]"“”«»—–')
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
LIGHT_VERBS = frozenset("have make do take give put get go come set let keep hold".split())

# --- English inflection -----------------------------------------------------------------
# Base forms come from lemminflect (through mtaudit.lemmacache's table of its answers).
# Verb and noun lemmas only: an adjective's ("better" -> good, "worst" -> bad) would make
# "better" a filler for every "good" slot, which inflection of a literal never does.
_LEMMA_POS = ("VERB", "AUX", "NOUN")
_VOWELS = frozenset("aeiouy")


_TAGS = {"VERB": VERB_TAGS, "AUX": VERB_TAGS, "NOUN": NOUN_TAGS}


def _lemmas(word: str) -> frozenset[str] | None:
    """lemminflect's verb and noun lemmas of ``word``; None when it does not know the word.

    A word that is a base form in its own right ("crew", "smelt") takes another lemma
    only where it is that lemma's usual form ("ground" of grind, not "crew" of crow):
    lemminflect lists archaic and variant forms second, and they are far more often
    the other word.
    """
    known = all_lemmas(word)
    if not known:
        return None
    own = any(word in lemmas for lemmas in known.values())
    return frozenset(
        lemma
        for pos in _LEMMA_POS
        for lemma in known.get(pos, ())
        if lemma == word
        or not own
        or any(inflection(lemma, tag)[:1] == (word,) for tag in _TAGS[pos])
    )


def _suffix_guesses(w: str) -> set[str]:
    """Regular-suffix base forms of ``w`` (plural, 3rd person -s, -ed, -ing).

    Only for words lemminflect does not know (names, rare and foreign words, typos):
    it answers for every other word itself, irregular forms included.
    """
    out: set[str] = set()
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
    return out


@lru_cache(maxsize=65536)
def lemma_candidates(word: str) -> frozenset[str]:
    """Every plausible base form of an English word form, the form itself included.

    lemminflect's verb and noun lemmas for a word it knows ("went" -> go, "leaves" ->
    leave, leaf); regular-suffix guesses for one it does not, which over-generate on
    purpose ("blorked" -> blorked, blork, blorke): the guesses are only ever intersected
    with a vocabulary of real words, so a wrong guess costs nothing.

    Args:
        word: a lower-case token.
    """
    w = word.replace("’", "'").lower()
    out = {w}
    if w.endswith("'s") or w.endswith("s'"):
        w = w[:-2] if w.endswith("'s") else w[:-1]
        out.add(w)
    lemmas = _lemmas(w)
    out |= _suffix_guesses(w) if lemmas is None else lemmas
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
    out = {w} | (_lemmas(w) or frozenset())
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
    light = lemma_candidates(t) & LIGHT_VERBS
    return min(light) if light else t


@lru_cache(maxsize=65536)
def fold(word: str) -> str:
    """Lower-case and strip accents; ß, œ, æ spelled out (for source-word matching)."""
    if word.isascii():  # nothing to spell out or decompose (most English tokens)
        return word.lower()
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
