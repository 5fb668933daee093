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

from mtaudit.sourcematch.common import (
    DISTINCTIVE_ZIPF,
    INDEX_VERSION,
)
from mtaudit.sourcematch.compile import (
    build_source_index,
    compile_index,
)
from mtaudit.sourcematch.index import (
    SourceIdiomIndex,
)
from mtaudit.sourcematch.units import (
    PUnit,
    SourceMatch,
    SourcePattern,
    SourceWord,
    WordInfo,
)

__all__ = [
    "DISTINCTIVE_ZIPF",
    "INDEX_VERSION",
    "PUnit",
    "SourceIdiomIndex",
    "SourceMatch",
    "SourcePattern",
    "SourceWord",
    "WordInfo",
    "build_source_index",
    "compile_index",
]
