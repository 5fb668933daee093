"""Matching a back-translation against the lexicons' known source phrases.

"una de cal y otra de arena" is the source of an idiom in ``idioms-es.toml``: a
back-translation that lands on it (rapidfuzz similarity, see :func:`match_known`)
confirms the finding. Split from :mod:`mtaudit.backtranslate`, which re-exports it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from rapidfuzz import fuzz, process

from mtaudit.idiommatch import fold, source_tokens

# A back-translation matching a known source phrase at this score confirms the finding
# (see BackTranslator.adjust).
CONFIRM_SCORE = 85.0

# --- the matcher (see match_known) ------------------------------------------------------
# A source-idiom content word counts as present at this rapidfuzz ratio (una/uno, otra/otro).
_WORD_RATIO = 80.0
# Below this share of the phrase's content words present, the score is scaled down: a
# back-translation that holds few of them is a fragment, not the phrase.
_MIN_COVERAGE = 0.75

# --- matching back-translations against known source phrases ------------------------------


@dataclass(frozen=True)
class KnownSource:
    """A source-language phrase from a lexicon: an idiom's or a calque's ``source``."""

    id: str
    kind: str  # "idiom" | "calque"
    source: str
    folded: str  # accent-folded, lower-case, tokens joined by single spaces
    tokens: frozenset[str]
    content: tuple[str, ...]  # folded content words (cal, arena), for the coverage guard


class SourceIndex(list):  # list[KnownSource]
    """Known source phrases plus an index from content word to phrases.

    The matcher scores a phrase 0 unless one of its content words is (fuzzily) among the
    back-translation's words or their aligned lemmas, so only those phrases need scoring:
    the index finds them with one C-level rapidfuzz scan per word, using the same scorer
    and cut-off as the coverage test, so it drops only phrases that test would score 0.
    """

    @cached_property
    def vocabulary(self) -> list[str]:
        return sorted({c for src in self for c in src.content})

    @cached_property
    def by_word(self) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        for i, src in enumerate(self):
            for c in set(src.content):
                out.setdefault(c, []).append(i)
        return out

    @cached_property
    def without_content(self) -> list[int]:
        return [i for i, src in enumerate(self) if not src.content]

    def candidates(self, words: Iterable[str]) -> list[KnownSource]:
        """Phrases with a content word at ratio >= 80 to one of ``words``, in index order."""
        hit: set[int] = set(self.without_content)
        vocab = self.vocabulary
        for w in set(words):
            for found, _, _ in process.extract(
                w, vocab, scorer=fuzz.ratio, score_cutoff=_WORD_RATIO, limit=None
            ):
                hit.update(self.by_word[found])
        return [self[i] for i in sorted(hit)]


def known_sources(
    lang: str, idiom_files: Iterable[Path | str] = (), calque_files: Iterable[Path | str] = ()
) -> SourceIndex:
    """Every idiom and calque ``source`` of ``lang`` in the bundled and given lexicons.

    Kept in the index cache, keyed by the lexicons' bytes and the code that reads them:
    parsing the TOML files cost ~40 ms of every scan that back-translates.
    """
    from mtaudit import idiommatch, indexcache, lexicons
    from mtaudit.backtranslate import dictionary
    from mtaudit.lexicons import LEXICON_DIR

    files = [
        *((p, "idiom") for p in sorted(LEXICON_DIR.glob(f"idioms-{lang}.toml"))),
        *((p, "calque") for p in sorted(LEXICON_DIR.glob(f"calques-{lang}.toml"))),
        *((Path(p), "idiom") for p in idiom_files),
        *((Path(p), "calque") for p in calque_files),
    ]
    code = [Path(__file__), Path(dictionary.__file__), Path(lexicons.__file__)]
    code += sorted(Path(idiommatch.__file__).parent.glob("*.py"))
    inputs = [*(p for p, _ in files), *code]
    key = indexcache.digest(f"known{lang}", inputs, [lang, *(k for _, k in files)])
    return indexcache.cached(key, lambda: _known_sources(lang, files))


def _known_sources(lang: str, files: list[tuple[Path, str]]) -> SourceIndex:
    from mtaudit.backtranslate.dictionary import content_words
    from mtaudit.lexicons import load_file

    out = SourceIndex()
    seen: set[str] = set()
    for path, kind in files:
        lex = load_file(path, kind)
        if lex.language not in (lang, None):
            continue
        for entry in lex.entries:
            # Calque sources list alternatives as "a / b": each is a phrase of its own.
            for source in (s.strip() for s in str(entry["source"]).split(" / ")):
                tokens = [fold(t) for t in source_tokens(source)]
                folded = " ".join(tokens)
                content = tuple(fold(w) for w in content_words(source, lang))
                # A bare function word ("de") would match every back-translation.
                if not content or folded in seen:
                    continue
                seen.add(folded)
                out.append(
                    KnownSource(
                        id=str(entry.get("id", source)),
                        kind=kind,
                        source=source,
                        folded=folded,
                        tokens=frozenset(tokens),
                        content=content,
                    )
                )
    return out


@dataclass
class MatchResult:
    """The best known source for one back-translation."""

    source: KnownSource | None
    score: float
    substitutions: dict[str, str]


def match_known(
    back: str,
    sources: Sequence[KnownSource],
    aligned: Mapping[str, frozenset[str]] | None = None,
    closed: frozenset[str] = frozenset(),
) -> MatchResult:
    """Score a back-translation against every known source phrase; return the best.

    Scores are rapidfuzz similarities (0-100) between accent-folded, lower-cased token
    strings; the best of three views counts:

    1. the whole phrase against the back-translation, order-aware: ``fuzz.partial_ratio``
       (the best-aligned window) when the back-translation is at least as long as the
       phrase, plain ``fuzz.ratio`` when it is shorter, since partial_ratio would then align
       the *back-translation* inside the phrase ("a macchia e" would score 95 against "a
       macchia d'olio", "cal" 100 against every idiom with "cal" in it);
    2. ``fuzz.token_sort_ratio`` of the two whole strings: citation forms put the verb
       where the source language wants it ("nur Bahnhof verstehen") while a literal English
       rendering comes back in English order ("verstehen nur Bahnhof"); whole strings, so
       every extra or missing word still costs;
    3. view 1 on content words only (``closed`` lists the language's function words), for
       phrases with two or more of them: MT picks prepositions and articles of its own
       ("sobre el fuego" for "al fuego").

    Why partial_ratio and not token_set_ratio as the main view: word order matters (a bag
    of the idiom's words in another order is not the idiom); MT inflects differently from
    the citation form ("uno de ... otro" for "una de ... otra"), which costs a few
    characters here but whole tokens under token_set_ratio; and token_set_ratio scores 100
    whenever one token set contains the other, so any long back-translation holding the
    idiom's few words anywhere would match perfectly.

    A guard keeps fragments out: with less than three quarters of the phrase's content
    words present (fuzzy, ratio >= 80), the score is scaled down in proportion.

    ``aligned`` maps a folded back-translated word to the source lemmas it may stand for
    (words that share an English translation, see :meth:`BackTranslator._alignment`): a
    word that is not in the phrase but stands for one of its words (fuzzily: "cabellos"
    for "pelos") is replaced before scoring, so "uno de lima y otro de arena" (lima <- lime
    -> cal) scores as "uno de cal y otro de arena". Replacements are returned as
    ``substitutions``.
    """

    tokens = [fold(t) for t in source_tokens(back)]
    if not tokens or not sources:
        return MatchResult(None, 0.0, {})
    aligned = aligned or {}
    index = sources if isinstance(sources, SourceIndex) else SourceIndex(sources)
    lemmas = {lemma for t in tokens for lemma in aligned.get(t, ())}
    own_content = [w for w in tokens if w not in closed] or tokens
    best = MatchResult(None, 0.0, {})
    best_key: tuple[bool, float, float, float] = (False, 0.0, 0.0, 0.0)
    for src in index.candidates([*tokens, *lemmas]):
        subs: dict[str, str] = {}
        words = list(tokens)
        for i, t in enumerate(words):
            if t in src.tokens or t not in aligned:
                continue
            target = _closest(aligned[t], src.tokens)
            if target is not None:
                subs[t] = words[i] = target
        text = " ".join(words)
        content_words = [w for w in words if w not in closed]
        raw = max(
            _similarity(src.folded, text),
            float(fuzz.token_sort_ratio(src.folded, text)),
        )
        if len(src.content) >= 2:
            raw = max(raw, _similarity(" ".join(src.content), " ".join(content_words)))
        coverage = _share(src.content, content_words) if src.content else 1.0
        score = round(raw * min(1.0, coverage / _MIN_COVERAGE), 1)
        # Among confirming phrases, prefer the one that accounts for more of the
        # back-translation's own content words, before any substitution ("dar al traste"
        # over "dar la espalda" for "da al traste"), then after it ("no tener pelos en la
        # lengua" over "tomar el pelo" for "no tener pelo en la lengua").
        confirmed = score >= CONFIRM_SCORE
        key = (
            confirmed,
            _share(own_content, src.tokens) if confirmed else 0.0,
            _share(content_words or words, src.tokens) if confirmed else 0.0,
            score,
        )
        if key > best_key:
            best, best_key = MatchResult(src, score, subs), key
    return best


def _share(needles: Sequence[str], haystack: Iterable[str]) -> float:
    """Fraction of ``needles`` with a fuzzy (ratio >= 80) counterpart in ``haystack``."""
    if not needles:
        return 0.0
    hay = list(haystack)
    return sum(1 for n in needles if any(fuzz.ratio(n, h) >= _WORD_RATIO for h in hay)) / len(
        needles
    )


def _closest(lemmas: Iterable[str], tokens: Iterable[str]) -> str | None:
    """The phrase token that one of ``lemmas`` is (or fuzzily is: pelo/pelos), if any."""
    best, best_score = None, _WORD_RATIO
    for tok in sorted(tokens):
        for lemma in lemmas:
            score = 100.0 if lemma == tok else fuzz.ratio(lemma, tok)
            if score > best_score or (score == 100.0 and best_score < 100.0):
                best, best_score = tok, score
    return best


def _similarity(phrase: str, text: str) -> float:
    """partial_ratio when ``text`` can contain ``phrase``, else the full ratio (see above)."""
    if len(text) >= len(phrase):
        return float(fuzz.partial_ratio(phrase, text))
    return float(fuzz.ratio(phrase, text))
