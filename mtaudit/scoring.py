"""Document score: findings -> ``mt_probability``, ``verdict`` and ``source_language``.

Until the trained model of the scoring issue lands this is a documented heuristic: each
finding is independent evidence, so the probability that a document is *not* machine
translated is the product over findings of ``1 - weight(category) * confidence``. The
weights say how much one finding of a category alone should convince a reader: one
confirmed literal idiom or untranslated fragment (0.6) nearly decides it; one spacing slip
(0.15) hardly moves it, but five of them do.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from mtaudit.model import Finding

HEURISTIC_VERSION = "heuristic-1"

CATEGORY_WEIGHT: dict[str, float] = {
    "idiom": 0.6,
    "untranslated": 0.6,
    "boilerplate": 0.45,
    "calque": 0.35,
    "punctuation": 0.15,
    "fluency": 0.08,
}

#: ``mt_probability`` at or above this is a "machine-translated" verdict.
MT_THRESHOLD = 0.5
#: ``[SUSPECT_THRESHOLD, MT_THRESHOLD)`` is "suspect"; below it is "clean".
SUSPECT_THRESHOLD = 0.2


def scorer_version() -> str:
    """The trained model's version (weights signature), or the heuristic's if unavailable."""
    from mtaudit import model_score

    try:
        return f"model:{model_score.load_model().scorer_version}"
    except model_score.WeightsError:
        return HEURISTIC_VERSION


def mt_probability(
    findings: Iterable[Finding],
    text: str | None = None,
    features: Mapping[str, float] | None = None,
    fluency_lm: str | None = None,
) -> float:
    """The calibrated probability that a document is machine-translated.

    With ``text`` the trained model of :mod:`mtaudit.model_score` scores it (statistical
    features, then marker evidence added in log-odds). Without text, or when the weights
    file is missing or fails its signature check, the noisy-OR heuristic below is used.
    """
    findings = list(findings)
    if text is not None:
        from mtaudit import model_score

        try:
            return model_score.load_model().mt_probability(text, findings, features, fluency_lm)
        except model_score.WeightsError:
            pass
    return heuristic_probability(findings)


def heuristic_probability(findings: Iterable[Finding]) -> float:
    """Combine findings as independent evidence (noisy-OR)."""
    p_clean = 1.0
    for f in findings:
        p_clean *= 1.0 - CATEGORY_WEIGHT.get(f.category, 0.1) * f.confidence
    return round(1.0 - p_clean, 4)


def verdict(probability: float) -> str:
    """Map a probability to the documented verdict bands."""
    if probability >= MT_THRESHOLD:
        return "machine-translated"
    if probability >= SUSPECT_THRESHOLD:
        return "suspect"
    return "clean"


def source_language(findings: Iterable[Finding]) -> str | None:
    """The language with the most confidence-weighted marker evidence, or None."""
    votes: dict[str, float] = defaultdict(float)
    for f in findings:
        weight = f.confidence * CATEGORY_WEIGHT.get(f.category, 0.1)
        if f.source_language:
            votes[f.source_language] += weight
        else:
            # A shape shared by several languages' lexicons: split the vote between them.
            shared = f.evidence.get("source_languages") or ()
            for lang in shared:
                votes[lang] += weight / len(shared)
    if not votes:
        return None
    return max(sorted(votes), key=lambda lang: votes[lang])
