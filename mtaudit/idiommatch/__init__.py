"""Matching engine for literal (word-for-word) translations of foreign idioms.

An idiom's ``literal`` renderings ("one of lime and another of sand") are compiled into
*patterns*: a sequence of content *slots* plus the function words around them. Each slot is
aligned to the source-idiom word whose glossary entry contains the literal word, and is then
filled by ANY glossary translation of that word, by its lemmatised inflections, or by the
source word itself (fuzzy, so "pelos" fills the ``pelo`` slot). A sentence matches a pattern
when (almost) all slots are found in a bounded window, the function words around them agree
well enough (a token-level rapidfuzz Indel similarity) and at least one matched word is
distinctive enough that the co-occurrence cannot be ordinary English.

:func:`lemma_candidates` gives a word's base forms: lemminflect's verb and noun lemmas
(from :mod:`mtaudit.lemmacache`'s table) for a word it knows, regular-suffix guesses for
one it does not; they are intersected with the slot vocabulary, so a wrong guess
("blorked" -> "blorke") never matches.
"""

from __future__ import annotations

from mtaudit.idiommatch.english import (
    DISTINCTIVE_ZIPF,
    LANGUAGE_NAMES,
    PLACEHOLDERS,
    POSSESSIVES,
    PREPOSITIONS,
    REFLEXIVES,
    STOPWORDS,
    TOKEN,
    base_forms,
    fold,
    function_form,
    lemma_candidates,
    source_tokens,
    zipf_en,
)
from mtaudit.idiommatch.index import (
    TOKENS_VIEW,
    IdiomIndex,
    build_index,
    sentence_tokens,
)
from mtaudit.idiommatch.lexicon import (
    EnglishIdiom,
    EnglishIdioms,
    Glossary,
    builtin_glossaries,
    builtin_idiom_lexicons,
    compile_english_idiom,
    load_english_idioms,
    load_glossary,
    merge_glossary,
)
from mtaudit.idiommatch.patterns import (
    Match,
    Pattern,
    Slot,
    Token,
    tokenize,
)
from mtaudit.lexicons import LEXICON_DIR

__all__ = [
    "DISTINCTIVE_ZIPF",
    "EnglishIdiom",
    "EnglishIdioms",
    "Glossary",
    "IdiomIndex",
    "LANGUAGE_NAMES",
    "LEXICON_DIR",
    "Match",
    "PLACEHOLDERS",
    "POSSESSIVES",
    "PREPOSITIONS",
    "Pattern",
    "REFLEXIVES",
    "STOPWORDS",
    "Slot",
    "TOKEN",
    "TOKENS_VIEW",
    "Token",
    "base_forms",
    "build_index",
    "builtin_glossaries",
    "builtin_idiom_lexicons",
    "compile_english_idiom",
    "fold",
    "function_form",
    "lemma_candidates",
    "load_english_idioms",
    "load_glossary",
    "merge_glossary",
    "sentence_tokens",
    "source_tokens",
    "tokenize",
    "zipf_en",
]
