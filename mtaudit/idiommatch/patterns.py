"""Compiled idiom patterns, their slots, matches and the tokens they are matched on."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any

from mtaudit.idiommatch.english import (
    _LONG_PATTERN,
    TOKEN,
    base_forms,
    fold,
)

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


class Token:
    """A token of the scanned text with its character span (shared: never mutated).

    A plain class with slots, not a frozen dataclass: both idiom engines make one per word
    of every document, and a frozen dataclass's constructor plus a cached ``low`` cost five
    times as much.
    """

    __slots__ = ("text", "start", "end", "sep", "low")

    def __init__(self, text: str, start: int, end: int, sep: str = "") -> None:
        self.text = text
        self.start = start
        self.end = end
        self.sep = sep  # what separates it from the previous token (" ", ", ", " — ")
        self.low = text.lower().replace("’", "'")

    def _key(self) -> tuple[str, int, int, str]:
        return (self.text, self.start, self.end, self.sep)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Token) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"Token(text={self.text!r}, start={self.start}, end={self.end}, sep={self.sep!r})"


def tokenize(text: str, start: int = 0, end: int | None = None) -> list[Token]:
    """Tokens of ``text[start:end]`` with absolute offsets (a new list each call)."""
    return list(_tokenize(text, start, len(text) if end is None else end))


@lru_cache(maxsize=1024)
def _tokenize(text: str, start: int, end: int) -> tuple[Token, ...]:
    """Cached: both idiom engines tokenize every sentence of a document (a string caches
    its hash, so the key costs nothing after the first call)."""
    # One C-level split into separators and tokens, then offsets by their lengths: the
    # same tokens as TOKEN.finditer(text, start, end) (TOKEN has no look-around, so the
    # slice sees what the bounded search sees), a third cheaper than a match object each.
    parts = _TOKEN_SPLIT.split(text[start:end])  # [sep, token, sep, token, ..., tail]
    tokens: list[Token] = []
    append = tokens.append
    pos = start
    for i in range(1, len(parts), 2):
        sep, tok = parts[i - 1], parts[i]
        begin = pos + len(sep)
        pos = begin + len(tok)
        append(Token(tok, begin, pos, sep))
    return tuple(tokens)


_TOKEN_SPLIT = re.compile(f"({TOKEN.pattern})", TOKEN.flags)
