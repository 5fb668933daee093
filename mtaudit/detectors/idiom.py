"""MT1xx — source-language idioms translated word for word.

An MT system that does not recognise "dar una de cal y otra de arena" renders each word:
"gives one of lime and another of sand". English readers see nonsense where the source had
a fixed expression. The matching engine (:mod:`mtaudit.idiommatch`) compiles the
``idioms-LANG.toml`` lexicons with their glossaries and tolerates inflection, inserted
words, synonym choice and surviving source words.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

from mtaudit.detectors.base import Detector, Rule
from mtaudit.idiommatch import LANGUAGE_NAMES, IdiomIndex, Match, build_index
from mtaudit.model import Document, Finding, Severity
from mtaudit.segment import Segmentation

RULES = (
    Rule(
        "MT101",
        "literal-idiom",
        "idiom",
        "A source-language idiom translated word for word into English.",
        "Idioms mean something other than their words. A human translator replaces one with "
        "an English expression of the same meaning; a machine often renders each word, "
        "producing an image no English writer would use ('one of lime and another of sand'). "
        "It is the clearest single sign of unedited machine translation.",
        "The government gave one of lime and another of sand to the unions.",
        "Replace the phrase with the idiomatic English the finding suggests, or say plainly "
        "what it means: 'The government sent the unions mixed signals.'",
        Severity.ERROR,
    ),
    Rule(
        "MT102",
        "half-translated-idiom",
        "idiom",
        "A word-for-word idiom in which a source-language word was left untranslated.",
        "MT systems pass through words they cannot translate, so a literal idiom can keep "
        "a Spanish or French word ('does not have pelos in the tongue'). The mix of a foreign "
        "word with a literal rendering is never the work of a human translator.",
        "The senator does not have pelos in the tongue when she talks about taxes.",
        "Rewrite the whole expression idiomatically: 'The senator does not mince her words "
        "about taxes.'",
        Severity.ERROR,
    ),
)


def _short_meaning(meaning: str) -> str:
    """The first clause of a lexicon meaning ("alternating ...; sending ..." -> "alternating ...")."""
    return meaning.split(";")[0].strip()


def _paths(value: str | Path | Iterable[str | Path] | None) -> list[Path]:
    """An option naming files: None, one path, or a list of paths."""
    if value is None:
        return []
    if isinstance(value, (str, Path)):
        return [Path(value)]
    return [Path(v) for v in value]


class IdiomDetector(Detector):
    """Flags literal translations of source-language idioms (MT101) and half-translated ones (MT102)."""

    prefix = "MT1"
    category = "idiom"
    rules = RULES

    @property
    def index(self) -> IdiomIndex:
        """The compiled lexicons, built once per scan and shared through the context."""
        opts = self.context.options
        return self.context.resource(
            "idiom.index",
            lambda: build_index(
                idiom_files=_paths(opts.get("idiom_files")),
                glossary_files=_paths(opts.get("glossary_files")),
            ),
        )

    def detect(self, document: Document, segments: Segmentation) -> Iterator[Finding]:
        sentences = ((s.start, s.end) for s in segments.sentences)
        matches = list(self.index.scan(document.text, sentences))
        # Some literals are shared by idioms of several languages ("swallow toads"). Such a
        # span goes to the language the rest of the document points to: the user's hint,
        # a surviving source word, or the other, unambiguous idioms found in it.
        votes = Counter(m.pattern.language for m in matches if not m.alternatives)
        hint = self.context.options.get("source_language")
        for m in matches:
            tied = [m, *m.alternatives]
            best = max(
                tied,
                key=lambda a: (
                    a.pattern.language == hint,
                    bool(a.source_survivals),
                    votes[a.pattern.language],
                ),
            )
            yield self._finding(document, best, [a for a in tied if a is not best])

    def _finding(self, document: Document, m: Match, also: list[Match]) -> Finding:
        idiom = m.pattern.idiom
        lang = m.pattern.language
        language = LANGUAGE_NAMES.get(lang, lang or "source-language")
        meaning = _short_meaning(str(idiom["meaning"]))
        english = idiom.get("english") or []
        if isinstance(english, str):
            english = [english]
        if m.source_survivals:
            words = ", ".join(f"'{w}'" for w in m.source_survivals)
            message = (
                f"Half-translated {language} idiom '{idiom['source']}' ({meaning}); "
                f"{words} {'was' if len(m.source_survivals) == 1 else 'were'} left in {language}."
            )
            confidence = 0.6 + 0.35 * m.score
        else:
            message = (
                f"Literal translation of the {language} idiom '{idiom['source']}' ({meaning})."
            )
            confidence = 0.5 + 0.4 * m.score
        return self.finding(
            m.code,
            document,
            m.start,
            m.end,
            message,
            suggestion=english[0] if english else None,
            confidence=confidence,
            evidence={
                "idiom_id": idiom["id"],
                "source": idiom["source"],
                "meaning": idiom["meaning"],
                "english": list(english),
                "literal": m.pattern.literal,
                "score": m.score,
                "source_words": list(m.source_survivals),
                "also": [a.pattern.idiom["id"] for a in also],
            },
            source_language=lang or None,
        )


DETECTORS = (IdiomDetector,)
