"""A document's text analysed once, shared by every detector, the features and the LM.

The engine builds one :class:`Analysis` per document and hands it to each step in place
of a bare :class:`~mtaudit.segment.Segmentation` (it is one). Paragraphs and sentences
are split when it is built; everything else (word tokens with offsets, lower-cased
forms, lemmas, Zipf frequencies, the single-line form the scoring model was trained on)
is computed on first use and then kept, so a step that needs none of it pays nothing
and two steps that need the same thing pay once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from mtaudit.model import Span
from mtaudit.segment import WORD, Segmentation, split_paragraphs, split_sentences


@dataclass
class Analysis(Segmentation):
    """Paragraphs, sentences, words, their lower-cased forms, lemmas and frequencies."""

    _zipf: dict[tuple[str, str], float] = field(default_factory=dict, repr=False)

    @cached_property
    def words(self) -> list[Span]:
        """Every word of the text (letters or digits, inner apostrophes and hyphens)."""
        return [Span(m.start(), m.end()) for m in WORD.finditer(self.text)]

    @cached_property
    def lower(self) -> list[str]:
        """The words, lower-cased, in the order of :attr:`words`."""
        text = self.text
        return [text[w.start : w.end].lower() for w in self.words]

    @cached_property
    def sentence_words(self) -> list[list[str]]:
        """Each sentence's words as written (sentences without a word included, empty)."""
        text = self.text
        return [WORD.findall(text, s.start, s.end) for s in self.sentences]

    @cached_property
    def lemmas(self) -> list[str]:
        """Each word's lemma (lemminflect; a word it does not know stays as it is)."""
        from lemminflect import getAllLemmas

        out: list[str] = []
        cache: dict[str, str] = {}
        for word in self.lower:
            lemma = cache.get(word)
            if lemma is None:
                found = getAllLemmas(word)
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
