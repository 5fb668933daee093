"""A document's text analysed once, shared by every detector, the features and the LM.

The engine builds one :class:`Analysis` per document and hands it to each step in place
of a bare :class:`~mtaudit.segment.Segmentation` (it is one). Paragraphs and sentences
are split when it is built; everything else (word tokens with offsets, lower-cased
forms, each sentence's words, lemmas, Zipf frequencies, the single-line form the scoring
model was trained on) is computed on first use and then kept, so a step that needs none
of it pays nothing and two steps that need the same thing pay once. A step that reads the
text in its own way (the idiom matcher's tokens) keeps its view here too: :meth:`view`.

The words are read sentence by sentence, so a sentence's words are a slice of
:attr:`~Analysis.words` (:attr:`~Analysis.sentence_ranges`) and are those a tokeniser of
that sentence alone would find.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar

from mtaudit.model import Span
from mtaudit.segment import WORD, Segmentation, split_paragraphs, split_sentences

T = TypeVar("T")
_span = re.Match.span


@dataclass
class Analysis(Segmentation):
    """Paragraphs, sentences, words, their lower-cased forms, lemmas and frequencies."""

    _zipf: dict[tuple[str, str], float] = field(default_factory=dict, repr=False)
    _views: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, segments: Segmentation) -> Analysis:
        """``segments`` itself when it is an Analysis, else one over the same sentences.

        For a detector called with a plain segmentation (a test, one sentence audited
        alone): the spans it was given are kept, the rest is computed on first use.
        """
        if isinstance(segments, Analysis):
            return segments
        return cls(segments.text, list(segments.paragraphs), list(segments.sentences))

    @cached_property
    def _read(self) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """The words' offsets and each sentence's index range into them, in one pass.

        The text is read sentence by sentence (and between sentences), so a sentence's
        words are exactly those a tokeniser of that sentence alone finds. Sentences of
        :func:`analyse` end at whitespace, so this is also a reading of the whole text.
        """
        text, sentences = self.text, self.sentences
        offsets: list[tuple[int, int]] = []
        ranges: list[tuple[int, int]] = []
        if any(a.end > b.start for a, b in zip(sentences, sentences[1:], strict=False)):
            # Overlapping or unordered sentences (built by hand): words of the whole text,
            # each in the sentence it starts in.
            offsets = list(map(_span, WORD.finditer(text)))
            starts = [s for s, _ in offsets]
            ranges = [
                (bisect.bisect_left(starts, s.start), bisect.bisect_left(starts, s.end))
                for s in sentences
            ]
            return offsets, ranges
        pos = 0
        for s in sentences:
            offsets.extend(map(_span, WORD.finditer(text, pos, s.start)))
            first = len(offsets)
            offsets.extend(map(_span, WORD.finditer(text, s.start, s.end)))
            ranges.append((first, len(offsets)))
            pos = s.end
        offsets.extend(map(_span, WORD.finditer(text, pos)))
        return offsets, ranges

    @property
    def offsets(self) -> list[tuple[int, int]]:
        """``(start, end)`` of every word, in order (the cheap form of :attr:`words`)."""
        return self._read[0]

    @property
    def sentence_ranges(self) -> list[tuple[int, int]]:
        """For each sentence, the index range ``[i, j)`` of its words in :attr:`words`."""
        return self._read[1]

    @cached_property
    def words(self) -> list[Span]:
        """Every word of the text (letters or digits, inner apostrophes and hyphens)."""
        return [Span(s, e) for s, e in self.offsets]

    @cached_property
    def forms(self) -> list[str]:
        """The words as written, in the order of :attr:`words`."""
        text = self.text
        return [text[s:e] for s, e in self.offsets]

    @cached_property
    def lower(self) -> list[str]:
        """The words, lower-cased, in the order of :attr:`words`."""
        return [w.lower() for w in self.forms]

    @cached_property
    def sentence_words(self) -> list[list[str]]:
        """Each sentence's words as written (sentences without a word included, empty)."""
        forms = self.forms
        return [forms[i:j] for i, j in self.sentence_ranges]

    @cached_property
    def lemmas(self) -> list[str]:
        """Each word's lemma (lemminflect; a word it does not know stays as it is)."""
        # lemminflect's answers from the on-disk table: loading lemminflect costs ~0.5 s.
        from mtaudit.lemmacache import all_lemmas

        out: list[str] = []
        cache: dict[str, str] = {}
        for word in self.lower:
            lemma = cache.get(word)
            if lemma is None:
                found = all_lemmas(word)
                # Verb, then noun, then adjective: the readings translationese turns on.
                for pos in ("VERB", "NOUN", "ADJ", "ADV"):
                    if found.get(pos):
                        lemma = found[pos][0]
                        break
                else:
                    lemma = word
                cache[word] = lemma
            out.append(lemma)
        return out

    def zipf(self, word: str, language: str = "en") -> float:
        """wordfreq's Zipf frequency of ``word`` (asked once per word and document)."""
        key = (word, language)
        value = self._zipf.get(key)
        if value is None:
            from mtaudit.zipftable import zipf

            value = self._zipf[key] = zipf(word, language)
        return value

    def view(self, name: str, build: Callable[[Analysis], T]) -> T:
        """A step's own reading of the text, built by ``build(self)`` once and kept.

        For what only one family of steps needs and this module cannot know (the idiom
        engines' tokens, with their own apostrophe and hyphen rules): both engines ask
        for it under one ``name`` and the document is read once.
        """
        try:
            return self._views[name]  # type: ignore[no-any-return]
        except KeyError:
            value = self._views[name] = build(self)
            return value

    @cached_property
    def flat(self) -> Analysis:
        """The text with every run of whitespace as one space, analysed.

        The scoring model and the fluency reference were trained on single-line documents
        (a headline runs into the first sentence), so their features are taken over this
        form; when the text is already flat this is the analysis itself.
        """
        flat = " ".join(self.text.split())
        return self if flat == self.text else analyse(flat)


def analyse(text: str) -> Analysis:
    """Split ``text`` into paragraphs and sentences; the rest is computed on first use."""
    paragraphs = split_paragraphs(text)
    sentences = [s for p in paragraphs for s in split_sentences(text, p)]
    return Analysis(text, paragraphs, sentences)
