"""MT1xx — source-language idioms translated word for word.

An MT system that does not recognise "dar una de cal y otra de arena" renders each word:
"gives one of lime and another of sand". English readers see nonsense where the source had
a fixed expression. Two engines find them:

- for source languages with an Apertium pair into English (Spanish), the back-projection
  engine (:mod:`mtaudit.sourcematch`): each candidate sentence is taken back into the source
  language word by word with every dictionary alternative, and the idioms are matched on
  source lemmas, whatever English words the MT chose;
- for every language, the glossary engine (:mod:`mtaudit.idiommatch`), which matches the
  lexicons' literal renderings with their glossaries (inflection, inserted words, synonyms,
  surviving source words). For Spanish it adds the renderings it knows to the first.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mtaudit import formtable, idiommatch, indexcache, lemmacache, zipftable
from mtaudit.analysis import Analysis
from mtaudit.detectors.base import Detector, Rule
from mtaudit.idiommatch import LANGUAGE_NAMES, LEXICON_DIR, IdiomIndex, Match, build_index
from mtaudit.model import Document, Finding, Severity
from mtaudit.segment import Segmentation
from mtaudit.sourcematch import SourceIdiomIndex, SourceMatch, build_source_index
from mtaudit.suggest import inflect_phrase

# Languages the back-projection engine is tried for (when their Apertium pair is installed
# and the lexicons have idioms for them).
PROJECTED_LANGUAGES = ("es", "ca", "gl")

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


@dataclass
class _Hit:
    """A match of either engine, in the form the detector reports."""

    start: int
    end: int
    idiom: dict[str, Any]
    language: str
    score: float
    survivals: list[str]
    rank: tuple[int, float]
    engine: str
    literal: str | None = None
    association: float | None = None
    alternatives: list[_Hit] = field(default_factory=list)

    @property
    def code(self) -> str:
        return "MT102" if self.survivals else "MT101"

    @classmethod
    def glossary(cls, m: Match) -> _Hit:
        hit = cls(
            m.start,
            m.end,
            m.pattern.idiom,
            m.pattern.language,
            m.score,
            list(m.source_survivals),
            m.rank,
            "glossary",
            m.pattern.literal,
        )
        hit.alternatives = [cls.glossary(a) for a in m.alternatives]
        return hit

    @classmethod
    def projected(cls, m: SourceMatch, text: str) -> _Hit:
        return cls(
            m.start,
            m.end,
            m.pattern.idiom,
            m.pattern.language,
            m.score,
            list(m.survivals),
            m.rank,
            "apertium",
            text[m.start : m.end],  # the literal rendering is what the MT wrote
            association=m.association,
        )


class IdiomDetector(Detector):
    """Flags literal translations of source-language idioms (MT101) and half-translated ones (MT102)."""

    prefix = "MT1"
    category = "idiom"
    rules = RULES

    @property
    def index(self) -> IdiomIndex:
        """The glossary engine's compiled lexicons, built once per scan (cached on disk)."""
        opts = self.context.options
        idiom_files = _paths(opts.get("idiom_files"))
        glossary_files = _paths(opts.get("glossary_files"))

        def build() -> IdiomIndex:
            return build_index(idiom_files=idiom_files, glossary_files=glossary_files)

        def load() -> IdiomIndex:
            inputs = [
                *sorted(LEXICON_DIR.glob("idioms-*.toml")),
                *sorted(LEXICON_DIR.glob("glossary-*.toml")),
                LEXICON_DIR / "english-idioms.toml",
                # the compiler itself (every module of the package)
                *sorted(Path(idiommatch.__file__).parent.glob("*.py")),
                *idiom_files,
                *glossary_files,
            ]
            # Base forms come from lemminflect (its table), word rarity from wordfreq: a
            # new version of either, a new index.
            key = indexcache.digest(
                "glossary", inputs, [lemmacache.signature(), zipftable.signature()]
            )
            index = indexcache.cached(key, build)
            if not (idiom_files or glossary_files):
                index.table = formtable.attach(indexcache.cache_dir(), key, index.answers_for)
            return index

        return self.context.resource("idiom.index", load)

    @property
    def projected(self) -> list[SourceIdiomIndex]:
        """Back-projection indexes for the languages whose Apertium pair is installed.

        Detector option ``idiom_projection``: ``auto`` (default: Apertium where installed)
        or ``off`` (the glossary engine alone).
        """
        opts = self.context.options

        def load() -> list[SourceIdiomIndex]:
            if str(opts.get("idiom_projection", "auto")).lower() == "off":
                return []
            out: list[SourceIdiomIndex] = []
            try:
                for lang in PROJECTED_LANGUAGES:
                    index = build_source_index(
                        lang,
                        idiom_files=_paths(opts.get("idiom_files")),
                        glossary_files=_paths(opts.get("glossary_files")),
                    )
                    if index is not None and index.patterns:
                        index.lm = self._ngram_lm()
                        out.append(index)
                    elif index is not None:
                        index.lexicon.close()  # nothing to project: its stages are not needed
            except BaseException:
                # Not kept by the context, so close() would never reach their stages.
                for index in out:
                    index.lexicon.close()
                raise
            return out

        return self.context.resource("idiom.projected", load)

    def _ngram_lm(self) -> Any:
        """The n-gram LM for the association test, or None when it cannot load.

        It is the fluency detector's scorer when that is the n-gram LM too: one model
        loaded per scan instead of two (~35 ms and ~20 MB each).
        """
        spec = str(self.context.options.get("lm") or "ngram").strip().lower()
        if spec != "ngram":
            return _ngram_lm()
        try:
            from mtaudit.fluency import get_scorer

            return self.context.resource("fluency.scorer", lambda: get_scorer("ngram"))
        except Exception:  # noqa: BLE001 - the test then falls back to specificity alone
            return None

    def preload(self) -> None:
        # The back-projection indexes are part of the report signature (model_signature),
        # which a scan needs before its first document, even one the result cache answers.
        self.projected  # noqa: B018
        opts = self.context.options
        if opts.get("idiom_files") or opts.get("glossary_files"):
            # A user's lexicon file may be malformed: found out before the scan starts.
            self.index  # noqa: B018
        # Otherwise the glossary index (bundled lexicons only, ~60 ms to load) loads with
        # the first document audited: a re-scan answered by the result cache never needs it.

    def close(self) -> None:
        # Only indexes already loaded: closing must not build one. Each holds Apertium
        # lt-proc stages (four processes, eight pipes) that outlive the scan otherwise.
        for index in self.context.loaded("idiom.projected", ()):
            index.lexicon.close()
            if index.table is not None:
                index.table.close()
        glossary = self.context.loaded("idiom.index", None)
        if glossary is not None and glossary.table is not None:
            glossary.table.close()

    def model_signature(self) -> str | None:
        pairs = [f"{ix.language}:{ix.lexicon.signature}" for ix in self.projected]
        if not pairs:
            return None
        digest = indexcache.digest("projection", [], pairs).rsplit("-", 1)[1][:10]
        return f"idioms:apertium-lemmas.{digest}"

    def detect(self, document: Document, segments: Segmentation) -> Iterator[Finding]:
        analysis = Analysis.of(segments)
        sentences = [(s.start, s.end) for s in analysis.sentences]
        # Both engines read the document's idiom tokens, kept on its Analysis.
        tokens = idiommatch.sentence_tokens(analysis)
        found = [
            _Hit.projected(m, document.text)
            for ix in self.projected
            for m in ix.scan(document.text, sentences, tokens)
        ]
        found += [_Hit.glossary(m) for m in self.index.scan_analysis(analysis)]
        # Where the engines' matches overlap, the one that explains more of the text wins
        # ("threw smoke in the eyes" is Italian "gettare fumo negli occhi", not Spanish
        # "echar humo"). Idioms of other languages on (almost) the same span are
        # alternatives: English alone cannot tell "swallow toads" (es) from "swallow
        # toads" (pt).
        hits: list[_Hit] = []
        for h in sorted(found, key=lambda h: (h.rank[0], h.end - h.start, h.rank[1]), reverse=True):
            rival = next((c for c in hits if h.start < c.end and c.start < h.end), None)
            if rival is None:
                hits.append(h)
                continue
            if not _same_span(rival, h):
                continue
            known = {a.idiom["id"] for a in [rival, *rival.alternatives]}
            for alt in [h, *h.alternatives]:
                if alt.idiom["id"] not in known:
                    known.add(alt.idiom["id"])
                    rival.alternatives.append(alt)
            h.alternatives = []
        hits.sort(key=lambda h: h.start)
        # Some literals are shared by idioms of several languages ("swallow toads"). Such a
        # span goes to the language the rest of the document points to: the user's hint,
        # a surviving source word, or the other, unambiguous idioms found in it.
        votes = Counter(h.language for h in hits if not h.alternatives)
        hint = self.context.options.get("source_language")
        for h in hits:
            tied = [h, *h.alternatives]
            best = max(
                tied,
                key=lambda a: (
                    a.language == hint,
                    bool(a.survivals),
                    votes[a.language],
                ),
            )
            yield self._finding(document, best, [a for a in tied if a is not best])

    def _finding(self, document: Document, m: _Hit, also: list[_Hit]) -> Finding:
        idiom = m.idiom
        lang = m.language
        language = LANGUAGE_NAMES.get(lang, lang or "source-language")
        meaning = _short_meaning(str(idiom["meaning"]))
        english = idiom.get("english") or []
        if isinstance(english, str):
            english = [english]
        # The first English equivalent that can stand in the sentence as it is, inflected
        # ("threw firewood to the fire" -> "added fuel to the fire"); when none can ("pull
        # someone's leg"), the equivalent is advice for the message.
        suggestion = next(
            (s for alt in english if (s := inflect_phrase(alt, document.text, m.start, m.end))),
            None,
        )
        if m.survivals:
            words = ", ".join(f"'{w}'" for w in m.survivals)
            message = (
                f"Half-translated {language} idiom '{idiom['source']}' ({meaning}); "
                f"{words} {'was' if len(m.survivals) == 1 else 'were'} left in {language}."
            )
            confidence = 0.6 + 0.35 * m.score
        else:
            message = (
                f"Literal translation of the {language} idiom '{idiom['source']}' ({meaning})."
            )
            confidence = 0.5 + 0.4 * m.score
        if suggestion is None and english:
            message = f"{message} In English: '{english[0]}'."
        evidence: dict[str, Any] = {
            "idiom_id": idiom["id"],
            "source": idiom["source"],
            "meaning": idiom["meaning"],
            "english": list(english),
            "literal": m.literal,
            "score": m.score,
            "source_words": list(m.survivals),
            "also": [a.idiom["id"] for a in also],
            "engine": m.engine,
        }
        if m.association is not None:
            evidence["association"] = round(m.association, 3)
        return self.finding(
            m.code,
            document,
            m.start,
            m.end,
            message,
            suggestion=suggestion,
            confidence=confidence,
            evidence=evidence,
            source_language=lang or None,
        )


def _same_span(a: _Hit, b: _Hit) -> bool:
    """Whether two matches of different languages cover (almost) the same text."""
    if a.language == b.language:
        return (a.start, a.end) == (b.start, b.end) and a.rank == b.rank
    overlap = min(a.end, b.end) - max(a.start, b.start)
    return overlap >= 0.8 * max(a.end - a.start, b.end - b.start)


def _ngram_lm() -> Any:
    """The n-gram LM for the association test, or None when it cannot load."""
    try:
        from mtaudit.fluency.ngram import NGramScorer

        return NGramScorer()
    except Exception:  # noqa: BLE001 - the test then falls back to specificity alone
        return None


DETECTORS = (IdiomDetector,)
