"""The document's assessment: two probabilities, one verdict, its reasons, the source language.

Two questions, answered by the trained model of :mod:`mtaudit.model_score`:

- ``translated_probability``: was the text written in another language and translated,
  by anyone?
- ``mt_probability``: was it translated by a machine? (The probability that a machine
  made a translation like this one, discounted when the text does not read as translated:
  see :mod:`mtaudit.model_score`.)

Verdicts, checked in this order (thresholds from the weights file, chosen on held-out
language pairs so that a ``machine-translated`` verdict is right at least 9 times in 10):

- ``machine-translated``: ``mt_probability`` at or above the machine threshold;
- ``suspect``: some machine evidence, not enough (``mt_probability`` at or above the
  suspect threshold);
- ``translated``: translated (``translated_probability`` at or above its threshold) but the
  machine evidence is not there: what a professional human translation should get;
- ``clean``: reads as written in English.

Each verdict carries ``reasons``: the marker findings that moved it (``2 literal idioms
(es)``) and the statistical scores (``translationese score 0.93``). ``source_language`` is
None unless findings tie the text to one language; it is never a guess from style.

Without a usable weights file, a documented heuristic stands in: findings as independent
evidence (noisy-OR), no statistical model.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mtaudit.model import Finding

if TYPE_CHECKING:
    from mtaudit.analysis import Analysis
    from mtaudit.model_score import ScoreBreakdown

HEURISTIC_VERSION = "heuristic-2"

#: Heuristic (no weights file): how much one finding of a category alone convinces.
CATEGORY_WEIGHT: dict[str, float] = {
    "idiom": 0.6,
    "untranslated": 0.6,
    "boilerplate": 0.45,
    "calque": 0.35,
    "punctuation": 0.15,
    "fluency": 0.08,
}

#: Heuristic verdict thresholds (the trained model carries its own).
HEURISTIC_THRESHOLDS = (0.5, 0.2, 0.5)  # machine-translated, suspect, translated

#: How strongly one finding ties a text to its source language, by category: an idiom or an
#: untranslated word names a language; a calque shape less surely (several languages share
#: many); punctuation, boilerplate and fluency name none.
LANGUAGE_TIE: dict[str, float] = {"idiom": 1.0, "untranslated": 1.0, "calque": 0.5}
#: Tie strength (confidence x LANGUAGE_TIE, summed) a language needs before it is named:
#: more than one confident idiom alone, so a single matcher false alarm names nothing (on
#: WMT Czech-, Japanese- or Russian-English, single idiom and calque findings named es, de
#: or it). It must also have twice the runner-up's strength.
LANGUAGE_MIN_TIE = 1.2

# Plural nouns for reasons: "2 literal idioms".
_NOUNS: dict[str, tuple[str, str]] = {
    "idiom": ("literal idiom", "literal idioms"),
    "calque": ("calque", "calques"),
    "untranslated": ("untranslated fragment", "untranslated fragments"),
    "punctuation": ("MT punctuation artifact", "MT punctuation artifacts"),
    "boilerplate": ("scraper boilerplate line", "scraper boilerplate lines"),
    "fluency": ("disfluent passage", "disfluent passages"),
}


@dataclass(frozen=True)
class Assessment:
    """What the scorer says about one document."""

    mt_probability: float
    translated_probability: float
    verdict: str
    reasons: tuple[str, ...]
    source_language: str | None


def scorer_version(deep: bool = False) -> str:
    """The trained model's version (weights signatures), or the heuristic's if unavailable."""
    from mtaudit import model_score

    try:
        return f"model:{model_score.load_model(deep=deep).scorer_version}"
    except model_score.WeightsError:
        if deep:
            raise
        return HEURISTIC_VERSION


def assess(
    findings: Iterable[Finding],
    text: str | None = None,
    features: Mapping[str, float] | None = None,
    fluency_lm: str | None = None,
    deep: bool = False,
    analysis: Analysis | None = None,
) -> Assessment:
    """The document's probabilities, verdict, reasons and source language.

    With ``text`` the trained model of :mod:`mtaudit.model_score` scores it (``deep``: the
    neural-LM machine head, when the weights have one). Without text, or when the weights
    file is missing or fails its signature check, the noisy-OR heuristic is used.
    """
    findings = list(findings)
    language = source_language(findings)
    if text is not None:
        from mtaudit import model_score

        try:
            model = model_score.load_model(deep=deep)
        except model_score.WeightsError:
            if deep:  # checked at preload; never fall back silently to another head
                raise
            model = None
        if model is not None:
            b = model.score(text, findings, features, fluency_lm, deep=deep, analysis=analysis)
            th = model.thresholds[b.machine_head]
            mt, tr = round(b.mt_probability, 4), round(b.translated_probability, 4)
            verdict = verdict_for(mt, tr, th.machine_translated, th.suspect, th.translated)
            return Assessment(
                mt, tr, verdict, tuple(model_reasons(b, findings, verdict, language)), language
            )
    mt = heuristic_probability(findings)
    verdict = verdict_for(mt, mt, *HEURISTIC_THRESHOLDS)
    markers = {c: 1.0 for c in {f.category for f in findings}}
    reasons = marker_reasons(findings, markers, language) or ["no marker findings"]
    return Assessment(mt, mt, verdict, tuple(reasons), language)


def mt_probability(
    findings: Iterable[Finding],
    text: str | None = None,
    features: Mapping[str, float] | None = None,
    fluency_lm: str | None = None,
) -> float:
    """The probability that the document is a machine translation (see :func:`assess`)."""
    return assess(findings, text, features, fluency_lm).mt_probability


def heuristic_probability(findings: Iterable[Finding]) -> float:
    """Combine findings as independent evidence (noisy-OR)."""
    p_clean = 1.0
    for f in findings:
        p_clean *= 1.0 - CATEGORY_WEIGHT.get(f.category, 0.1) * f.confidence
    return round(1.0 - p_clean, 4)


def verdict_for(
    mt_probability: float,
    translated_probability: float,
    machine_threshold: float,
    suspect_threshold: float,
    translated_threshold: float,
) -> str:
    """Map the two probabilities to a verdict (see the module docstring)."""
    if mt_probability >= machine_threshold:
        return "machine-translated"
    if mt_probability >= suspect_threshold:
        return "suspect"
    if translated_probability >= translated_threshold:
        return "translated"
    return "clean"


def marker_reasons(
    findings: Iterable[Finding], markers: Mapping[str, float], language: str | None
) -> list[str]:
    """One reason per marker category that moved the score, strongest first."""
    counts: dict[str, int] = defaultdict(int)
    langs: dict[str, set[str]] = defaultdict(set)
    for f in findings:
        counts[f.category] += 1
        if f.source_language:
            langs[f.category].add(f.source_language)
    out = []
    for category in sorted(markers, key=lambda c: (-markers[c], c)):
        n = counts.get(category, 0)
        if not n or markers[category] <= 0:
            continue
        one, many = _NOUNS.get(category, (category, category))
        reason = f"{n} {one if n == 1 else many}"
        # Name the language only where it is the document's: a single stray vote is not.
        if language and language in langs[category]:
            reason += f" ({language})"
        out.append(reason)
    return out


def model_reasons(
    b: ScoreBreakdown, findings: list[Finding], verdict: str, language: str | None
) -> list[str]:
    """Reasons for a model verdict: marker evidence first, then the statistical scores."""
    out = marker_reasons(findings, b.markers, language)
    if b.words == 0:
        return out or ["no text to judge"]
    translationese = f"translationese score {b.translated_statistical:.2f}"
    machine = f"machine-style score {b.machine_statistical:.2f}"
    if verdict == "clean":
        out.append(translationese)
    elif verdict == "translated":
        out += [translationese, f"no machine evidence ({machine})"]
    else:
        out += [machine, translationese]
    return out


def verdict(probability: float) -> str:
    """Heuristic bands for a bare probability (no trained model): see :func:`verdict_for`."""
    return verdict_for(probability, probability, *HEURISTIC_THRESHOLDS)


def source_language(findings: Iterable[Finding]) -> str | None:
    """The language the findings tie the text to, or None when they do not clearly.

    Each finding votes ``confidence * LANGUAGE_TIE[category]`` for its language (a shape
    several languages share splits its vote); the winner needs :data:`LANGUAGE_MIN_TIE`
    and twice the runner-up's votes.
    """
    votes: dict[str, float] = defaultdict(float)
    for f in findings:
        weight = f.confidence * LANGUAGE_TIE.get(f.category, 0.0)
        if weight <= 0:
            continue
        if f.source_language:
            votes[f.source_language] += weight
        else:
            shared = f.evidence.get("source_languages") or ()
            for lang in shared:
                votes[lang] += weight / len(shared)
    if not votes:
        return None
    ranked = sorted(votes.items(), key=lambda kv: (-kv[1], kv[0]))
    best, strength = ranked[0]
    runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
    if strength < LANGUAGE_MIN_TIE or strength < 2 * runner_up:
        return None
    return best
