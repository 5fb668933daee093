"""Compiled source patterns, projected units and matches of the back-projection engine."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mtaudit.sourcematch.common import (
    _english_zipf,
)


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


_NO_WORD = WordInfo(frozenset(), frozenset(), "", False, False, False)
