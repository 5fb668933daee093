"""Word-level language identification for English text with foreign fragments.

Whole-document identifiers (lingua, fastText) answer "which language is this text?";
the untranslated-fragment detector needs "which of these words are not English?". Word
frequencies answer that directly: a word that is a thousand times more frequent in Spanish
than in English is, in an English news article, most likely Spanish. The frequencies
come from ``wordfreq`` (Zipf scale: log10 of occurrences per billion words), which covers
English and the five source languages mtaudit knows, read through the compact table of
:mod:`mtaudit.zipftable` (lookups, not six word lists loaded per scan). A detector hands
a document's distinct words (from its :class:`~mtaudit.analysis.Analysis`) to
:func:`prefetch`, which looks up the new ones together; every later score is a dict read.

Scores are differences of Zipf values, i.e. log10 frequency ratios: ``foreignness = 2``
means the word is 100 times more frequent in that language than in English.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType

from mtaudit import zipftable
from mtaudit.model import SOURCE_LANGUAGES

ENGLISH = "en"
LANGUAGES: tuple[str, ...] = zipftable.LANGUAGES  # (ENGLISH, *SOURCE_LANGUAGES)
LANGUAGE_NAMES: dict[str, str] = {
    "en": "English",
    "es": "Spanish",
    "fr": "French",
    "de": "German",
    "it": "Italian",
    "pt": "Portuguese",
}

# wordfreq's "large" lists stop near Zipf 1 (one occurrence per 100 million words), so a
# word missing from a list is "at most about that frequent", not "impossible". Flooring
# every score there keeps a word unknown to all lists neutral instead of wildly foreign.
ZIPF_FLOOR = 1.0

# Zipf >= 6 is one occurrence per thousand words: only function words (articles,
# prepositions, conjunctions, common verbs) are that frequent in news text.
FUNCTION_ZIPF = 6.0

_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'", "ʼ": "'"})


def normalise(word: str) -> str:
    """Lower-case ``word``, unify apostrophes and drop an English possessive ``'s``."""
    w = word.translate(_APOSTROPHES).lower()
    # "the junta's decision": the possessive is English grammar, the stem is what counts.
    if len(w) > 3 and w.endswith("'s"):
        w = w[:-2]
    return w


def strip_accents(text: str) -> str:
    """``déjà vu`` -> ``deja vu``: for matching allowlists typed without accents."""
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


# Every word scored so far (by zipf_scores or prefetch), emptied when it grows past this.
_SCORES: dict[str, tuple[float, ...]] = {}
_SCORES_LIMIT = 262_144


def zipf_scores(word: str) -> tuple[float, ...]:
    """Zipf frequency of ``word`` in each of :data:`LANGUAGES` (floored at ZIPF_FLOOR)."""
    scores = _SCORES.get(word)
    if scores is None:
        scores = _keep(word, zipftable.zipf_all(normalise(word)))
    return scores


def prefetch(words: Iterable[str]) -> None:
    """Score every word of ``words`` not scored before, in one pass over the table.

    A detector calls it with a document's distinct words (from its Analysis) before
    scoring them one by one: a batched lookup instead of a query per word.
    """
    new = {w: normalise(w) for w in words if w not in _SCORES}
    if new:
        rows = zipftable.zipf_all_many(set(new.values()))
        for word, norm in new.items():
            _keep(word, rows[norm])


def _keep(word: str, zipfs: tuple[float, ...]) -> tuple[float, ...]:
    if len(_SCORES) >= _SCORES_LIMIT:
        _SCORES.clear()  # bound memory on huge scans
    scores = _SCORES[word] = tuple(max(z, ZIPF_FLOOR) for z in zipfs)
    return scores


@lru_cache(maxsize=262_144)
def language_scores(word: str) -> Mapping[str, float]:
    """``{language: zipf}`` for ``word``, English included (read-only, cached)."""
    return MappingProxyType(dict(zip(LANGUAGES, zipf_scores(word), strict=True)))


@lru_cache(maxsize=262_144)
def foreignness(word: str) -> Mapping[str, float]:
    """``{source language: zipf(lang) - zipf(en)}``: log10 of how much more frequent.

    Read-only and cached: a detector scores the same words over and over.
    """
    scores = zipf_scores(word)
    en = scores[0]
    return MappingProxyType(
        {lang: z - en for lang, z in zip(SOURCE_LANGUAGES, scores[1:], strict=True)}
    )


def best_source(word: str) -> tuple[str, float]:
    """The source language in which ``word`` is most over-represented, and by how much."""
    f = foreignness(word)
    lang = max(f, key=f.__getitem__)
    return lang, f[lang]


def english_zipf(word: str) -> float:
    """Zipf frequency of ``word`` in English (floored)."""
    return zipf_scores(word)[0]


def is_function_word(word: str, lang: str) -> bool:
    """True when ``word`` is so frequent in ``lang`` that it must be a function word."""
    return zipf_scores(word)[LANGUAGES.index(lang)] >= FUNCTION_ZIPF


@dataclass(frozen=True)
class PhraseScore:
    """How a sequence of words scores against English and each source language.

    Attributes:
        language: the source language with the largest summed foreignness.
        margin: summed ``zipf(language) - zipf(en)`` over the words (log10 ratio of the
            phrase's likelihood under ``language`` versus English, unigram model).
        means: mean Zipf frequency per language (English included), for evidence.
        foreign_share: fraction of words that are more frequent in ``language`` than in
            English.
        margins: the summed margin of every source language.
    """

    language: str
    margin: float
    means: dict[str, float]
    foreign_share: float
    margins: dict[str, float]

    @property
    def language_name(self) -> str:
        return LANGUAGE_NAMES[self.language]


def score_phrase(
    words: Sequence[str], prefer: Iterable[str] = (), exclude: Iterable[str] = ()
) -> PhraseScore | None:
    """Classify a phrase by unigram likelihood; None for an empty phrase.

    Args:
        words: the phrase's words (any case).
        prefer: languages to favour on near-ties (e.g. the document's dominant source
            language): a preferred language wins when within 1.0 of the best margin.
        exclude: languages not to choose unless every language is excluded.
    """
    if not words:
        return None
    rows = [zipf_scores(w) for w in words]
    totals = [sum(r[i] for r in rows) for i in range(len(LANGUAGES))]
    en_total = totals[0]
    margins = {lang: totals[i + 1] - en_total for i, lang in enumerate(SOURCE_LANGUAGES)}
    allowed = {k: v for k, v in margins.items() if k not in set(exclude)} or margins
    lang = max(allowed, key=allowed.__getitem__)
    for p in prefer:
        # Spanish/Portuguese/Italian share many words; on a near-tie the document's
        # language is the better guess than a coin flip on word frequencies.
        if p in allowed and allowed[p] >= allowed[lang] - 1.0:
            lang = p
            break
    i = LANGUAGES.index(lang)
    share = sum(1 for r in rows if r[i] > r[0]) / len(rows)
    means = {code: round(totals[k] / len(rows), 2) for k, code in enumerate(LANGUAGES)}
    rounded = {k: round(v, 2) for k, v in margins.items()}
    return PhraseScore(lang, margins[lang], means, share, rounded)
