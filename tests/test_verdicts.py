"""Verdicts: the four bands, their reasons, the source-language rule and the gate."""

from __future__ import annotations

import pytest

from mtaudit import scoring
from mtaudit.model import (
    VERDICTS,
    Document,
    DocumentReport,
    Finding,
    parse_fail_on_verdict,
    verdict_at_least,
)


def _finding(category: str, confidence: float = 0.9, lang: str | None = None, **evidence):
    return Finding(
        code="MT999", category=category, start=0, end=3, text="The", message="test",
        confidence=confidence, source_language=lang, evidence=dict(evidence),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("mt", "tr", "expected"),
    [
        (0.95, 0.99, "machine-translated"),
        (0.80, 0.99, "machine-translated"),  # exactly at the machine threshold
        (0.79, 0.99, "suspect"),
        (0.40, 0.99, "suspect"),
        (0.39, 0.99, "translated"),
        (0.10, 0.50, "translated"),
        (0.10, 0.49, "clean"),
        (0.00, 0.00, "clean"),
    ],
)
def test_verdict_bands(mt: float, tr: float, expected: str) -> None:
    assert scoring.verdict_for(mt, tr, 0.8, 0.4, 0.5) == expected


def test_verdict_order_and_gate_levels() -> None:
    assert VERDICTS == ("machine-translated", "suspect", "translated", "clean")
    assert verdict_at_least("machine-translated", "machine-translated")
    assert not verdict_at_least("suspect", "machine-translated")
    assert verdict_at_least("suspect", "translated") and verdict_at_least(
        "translated", "translated"
    )
    assert not verdict_at_least("clean", "translated")
    assert not verdict_at_least("machine-translated", None)
    assert parse_fail_on_verdict("none") is None
    assert parse_fail_on_verdict(" Suspect ") == "suspect"
    with pytest.raises(ValueError, match="expected one of"):
        parse_fail_on_verdict("mt")


def test_source_language_needs_more_than_one_stray_vote() -> None:
    # One confident idiom alone does not name a language (a matcher false alarm would).
    assert scoring.source_language([_finding("idiom", 0.9, "es")]) is None
    # Two findings tying the text to Spanish do.
    two = [_finding("idiom", 0.9, "es"), _finding("untranslated", 0.8, "es")]
    assert scoring.source_language(two) == "es"
    # Punctuation, boilerplate and fluency findings name no language however many.
    noise = [_finding(c, 1.0, "de") for c in ("punctuation", "boilerplate", "fluency")] * 3
    assert scoring.source_language(noise) is None
    # A close contest names nobody: the winner needs twice the runner-up.
    contest = [*two, _finding("idiom", 0.9, "it"), _finding("idiom", 0.8, "it")]
    assert scoring.source_language(contest) is None
    # Shared calque shapes split their vote.
    shared = [_finding("calque", 1.0, None, source_languages=["es", "pt"])] * 4
    assert scoring.source_language(shared) is None
    assert scoring.source_language([*two, *shared]) == "es"


def test_heuristic_assessment_without_weights(monkeypatch) -> None:
    from mtaudit import model_score

    def missing(path=None, deep=False):
        raise model_score.WeightsError("no weights")

    monkeypatch.setattr(model_score, "load_model", missing)
    a = scoring.assess([_finding("idiom", 1.0, "es"), _finding("idiom", 0.8, "es")], "Text.")
    assert a.verdict == "machine-translated" and a.source_language == "es"
    assert a.reasons[0] == "2 literal idioms (es)"
    clean = scoring.assess([], "Text.")
    assert clean.verdict == "clean" and clean.reasons == ("no marker findings",)


def test_marker_reasons_count_and_name_the_language() -> None:
    findings = [
        _finding("idiom", 0.9, "es"),
        _finding("idiom", 0.7, "es"),
        _finding("calque", 0.6, "es"),
        _finding("punctuation", 0.5),
    ]
    markers = {"idiom": 3.0, "calque": 1.0, "punctuation": 0.2}
    reasons = scoring.marker_reasons(findings, markers, "es")
    assert reasons == ["2 literal idioms (es)", "1 calque (es)", "1 MT punctuation artifact"]
    # A category with no weight (fires as often on human text) is not a reason.
    assert scoring.marker_reasons(findings, {"idiom": 3.0, "punctuation": 0.0}, None) == [
        "2 literal idioms"
    ]


def _report(verdict: str, failed_reasons=()) -> DocumentReport:
    return DocumentReport(Document("d", "Some text."), [], 0.5, verdict, reasons=["x"])


@pytest.mark.parametrize(
    ("level", "verdict", "fails"),
    [
        ("machine-translated", "machine-translated", True),
        ("machine-translated", "suspect", False),
        ("machine-translated", "translated", False),
        ("suspect", "suspect", True),
        ("translated", "translated", True),
        ("translated", "clean", False),
        (None, "machine-translated", False),
    ],
)
def test_gate_fails_on_the_verdict(level, verdict, fails) -> None:
    from mtaudit.pipeline import AuditOptions, Auditor

    auditor = Auditor(AuditOptions(select=("MT5",), mt=None, fail_on_verdict=level))
    assert auditor.fails(_report(verdict)) is fails
