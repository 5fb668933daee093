"""Marker weights: how much one finding of each category says "machine translation"."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from mtaudit.model import CATEGORIES
from mtaudit.training.data import Record
from mtaudit.training.docfeatures import word_count
from mtaudit.training.params import CAP_FACTOR, MAX_MARKER_WEIGHT, NOT_MARKERS, _round


def findings_of(records: Sequence[Record]) -> list[list[tuple[str, float]]]:
    """(category, confidence) of every finding of the marker detectors, per record.

    The detectors run as in a scan without back-translation (``--mt off``): the training
    data has no source text to confirm spans against.
    """
    from mtaudit.model import Document
    from mtaudit.pipeline import AuditOptions, Auditor

    auditor = Auditor(AuditOptions(mt=None))
    auditor.preload()
    out = []
    try:
        for r in records:
            found = auditor.detect(Document(r.id, r.text))
            out.append([(f.category, f.confidence) for f in found])
    finally:
        auditor.close()
    return out


def marker_weights(
    records: Sequence[Record],
    findings: Sequence[Sequence[tuple[str, float]]],
    literal: Sequence[bool],
) -> dict[str, dict[str, float]]:
    """Per category: log likelihood ratio of one finding, machine translation against
    human text.

    Machine translation is an even mixture of the two kinds mtaudit meets: literal MT
    (``literal`` records: Apertium output) and neural MT (every other ``mt`` record), so a
    category counts as MT evidence only as far as it fires on MT of either kind more than
    on human text (every human record). Rates are confidence mass per word, smoothed by
    half a finding per corpus, so a category never seen on human text has a finite weight.
    """
    words = {"literal": 0, "neural": 0, "human": 0}
    kind_of = []
    for r, lit in zip(records, literal, strict=True):
        kind = "literal" if lit else "neural" if r.label else "human"
        kind_of.append(kind)
        words[kind] += word_count(r.text)
    if not words["literal"] or not words["human"]:
        raise ValueError("marker weights need literal MT (--markers) and human text")
    out = {}
    for category in CATEGORIES:
        mass = dict.fromkeys(words, 0.0)
        count = dict.fromkeys(words, 0)
        for kind, fs in zip(kind_of, findings, strict=True):
            mass[kind] += sum(conf for cat, conf in fs if cat == category)
            count[kind] += sum(1 for cat, _ in fs if cat == category)
        rate = {k: (mass[k] + 0.5) / words[k] for k in words if words[k]}
        mt_rate = (rate["literal"] + rate.get("neural", rate["literal"])) / 2
        llr = math.log(mt_rate / rate["human"])
        weight = 0.0 if category in NOT_MARKERS else min(max(llr, 0.0), MAX_MARKER_WEIGHT)
        out[category] = {
            "weight": _round(weight, 4),
            "cap": _round(CAP_FACTOR * weight, 4),
            **{
                f"per_10k_words_{k}": _round(1e4 * count[k] / words[k], 4)
                for k in ("literal", "neural", "human")
                if words[k]
            },
            "precision_at_even_odds": _round(1 / (1 + math.exp(-weight)), 4),
        }
    return out


def marker_log_odds(
    findings: Sequence[tuple[str, float]], weights: Mapping[str, Mapping[str, float]]
) -> float:
    """The total marker evidence of one document (as :func:`mtaudit.model_score.marker_log_odds`)."""
    mass: dict[str, float] = {}
    for cat, conf in findings:
        mass[cat] = mass.get(cat, 0.0) + max(0.0, min(1.0, conf))
    total = 0.0
    for cat, m in mass.items():
        w = weights.get(cat)
        if w and w["weight"] > 0 and w["cap"] > 0:
            total += w["cap"] * (1.0 - math.exp(-w["weight"] * m / w["cap"]))
    return total
