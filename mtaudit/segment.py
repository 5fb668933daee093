"""Paragraph, sentence and word segmentation with character offsets.

Offsets always index the original ``Document.text`` so findings can point back at it.
The sentence splitter is rule-based (news English): it knows common abbreviations,
initials, decimals and quotes that close a sentence ("... he said." She ...).
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from functools import cached_property

from mtaudit.model import Span

_BLANK_LINE = re.compile(r"\n[ \t\r\f\v]*\n\s*")
_NEWLINE = re.compile(r"\n\s*")

# Tokens that end with a period without ending a sentence. Lower-case, no dot.
ABBREVIATIONS = frozenset(
    """
    mr mrs ms dr prof sr jr st mt ft gen col lt sgt capt cmdr adm gov sen rep pres
    rev hon messrs mme mlle inc corp ltd co plc llc bros dept univ assn est approx
    no nos vol vols fig figs p pp ed eds etc vs v cf al e.g i.e a.m p.m u.s u.k u.n
    u.s.a e.u jan feb mar apr jun jul aug sep sept oct nov dec mon tue tues wed thu
    thur thurs fri sat sun ave blvd rd hwy
    """.split()
)

_SENT_END = re.compile(
    r"""
    [.!?…]+            # terminal punctuation
    ['"’”»)\]]*        # closing quotes or brackets that belong to this sentence
    (?=\s+)            # then whitespace
    """,
    re.VERBOSE,
)
# What may open the next sentence: capital, digit, opening quote/bracket, Spanish ¿¡.
_SENT_START = re.compile(r"\s+(?=[\"'“‘«(\[¿¡]?[A-Z0-9À-ÖØ-Þ])")
_WORD_BEFORE = re.compile(r"([A-Za-z][A-Za-z.]*)\.$")
WORD = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*")


@dataclass
class Segmentation:
    """Paragraphs, sentences and words of one text, as spans into it."""

    text: str
    paragraphs: list[Span] = field(default_factory=list)
    sentences: list[Span] = field(default_factory=list)

    @cached_property
    def _sentence_starts(self) -> list[int]:
        return [s.start for s in self.sentences]

    def sentence_at(self, offset: int) -> Span | None:
        """The sentence containing ``offset`` (or None if it lies between sentences)."""
        i = bisect.bisect_right(self._sentence_starts, offset) - 1
        if i >= 0 and self.sentences[i].start <= offset < max(
            self.sentences[i].end, self.sentences[i].start + 1
        ):
            return self.sentences[i]
        return None

    def paragraph_at(self, offset: int) -> Span | None:
        """The paragraph containing ``offset``."""
        for p in self.paragraphs:
            if p.start <= offset < p.end:
                return p
        return None


def segment(text: str) -> Segmentation:
    """Split ``text`` into paragraphs and sentences."""
    paragraphs = split_paragraphs(text)
    sentences = [s for p in paragraphs for s in split_sentences(text, p)]
    return Segmentation(text, paragraphs, sentences)


def split_paragraphs(text: str) -> list[Span]:
    """Paragraphs are separated by blank lines; a text with none splits on newlines."""
    sep = _BLANK_LINE if _BLANK_LINE.search(text) else _NEWLINE
    spans: list[Span] = []
    pos = 0
    for m in sep.finditer(text):
        _append_trimmed(text, pos, m.start(), spans)
        pos = m.end()
    _append_trimmed(text, pos, len(text), spans)
    return spans


def split_sentences(text: str, within: Span | None = None) -> list[Span]:
    """Sentence spans inside ``within`` (default: the whole text)."""
    start, stop = (within.start, within.end) if within else (0, len(text))
    spans: list[Span] = []
    pos = start
    for m in _SENT_END.finditer(text, start, stop):
        end = m.end()
        if not _SENT_START.match(text, end, stop):
            continue
        if _is_abbreviation(text, m.start(), pos) and text[m.start()] == ".":
            continue
        _append_trimmed(text, pos, end, spans)
        pos = end
    _append_trimmed(text, pos, stop, spans)
    return spans


def words(text: str, within: Span | None = None) -> list[Span]:
    """Word spans (letters/digits with inner apostrophes and hyphens)."""
    start, stop = (within.start, within.end) if within else (0, len(text))
    return [Span(m.start(), m.end()) for m in WORD.finditer(text, start, stop)]


def _is_abbreviation(text: str, dot: int, floor: int) -> bool:
    """True when the period at ``dot`` ends a known abbreviation or an initial."""
    m = _WORD_BEFORE.search(text, max(floor, dot - 12), dot + 1)
    if not m:
        return False
    token = m.group(1)
    # "J. Smith", "U.S." — a single letter, or dotted letters, is an initial.
    if len(token) == 1 and token.isupper():
        return True
    return token.lower().rstrip(".") in ABBREVIATIONS


def _append_trimmed(text: str, start: int, end: int, out: list[Span]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        out.append(Span(start, end))
