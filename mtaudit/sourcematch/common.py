"""Tables, thresholds and word helpers of the back-projection engine."""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path

from mtaudit.backtranslate.lexical import lemma_of, parts
from mtaudit.idiommatch import (
    STOPWORDS,
    base_forms,
    fold,
    zipf_en,
)
from mtaudit.idiommatch.english import (
    COMMON_ZIPF,
    FUNCTION_WORD_EVIDENCE,
    LIGHT_VERBS,
    PHRASE_BREAKS,
)

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
# Light verbs and phrase breaks are the glossary engine's (idiommatch.english).
_LIGHT_EN = LIGHT_VERBS
_BREAK_CHARS = PHRASE_BREAKS

# --- thresholds -------------------------------------------------------------------------
# Measured with scripts/idiom_recall.py: recall on the Apertium dev set against findings per
# 10,000 words of original English news (wmt-de-en and wmt21 original-en).
#
# Specificity of a match, as in the glossary engine (mtaudit.idiommatch): the sum over
# matched English words of how much rarer than _COMMON_ZIPF each is (English Zipf
# frequency, wordfreq), plus _FUNCTION_EVIDENCE per function word of the idiom found in place
# and per light verb. "cost an eye of the face" scores 5.3, "broken arm" 3.1.
# Both from the glossary engine: specificity is measured the same way in both engines.
_COMMON_ZIPF = COMMON_ZIPF
_FUNCTION_EVIDENCE = FUNCTION_WORD_EVIDENCE
# Below this English Zipf frequency a word of a multiword translation stands for it alone.
DISTINCTIVE_ZIPF = 5.5
_MIN_SPECIFICITY = 3.5
# A passed-through source word that is no English word at all (Zipf below
# idiommatch.english.FOREIGN_ZIPF, shared with the idiom matcher) is strong evidence on its own ("pelos", "varapalo"), and
# then a little less specificity will do.
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
