"""Calque suggestions fitted to their span (:mod:`mtaudit.detectors.calque_fit`): what
``--fix`` writes must read right in place (tense, number, articles)."""

from __future__ import annotations

import pytest

from mtaudit.detectors.calque_fit import fit_suggestion


@pytest.mark.parametrize(
    ("text", "span", "suggestion", "expected"),
    [
        # the verb takes the span's tense and person
        ("The talks touched bone on Friday.", "touched bone", "hit a red line", "hit a red line"),
        ("The club is taking position today.", "taking position", "comment", "commenting"),
        ("She assures that it is over.", "assures", "insisted", "insists"),
        ("Two agents resulted hurt.", "resulted hurt", "was hurt", "were hurt"),
        (
            "He has been put under examination.",
            "been put under examination",
            "placed under formal investigation",
            "been placed under formal investigation",
        ),
        # the noun takes the span's number, not after a numeral and not for a mass noun
        ("Both libraries closed.", "libraries", "bookshop", "bookshops"),
        ("It costs three milliards.", "milliards", "billion", "billion"),
        ("Heavy precipitations fell.", "precipitations", "rainfall", "rainfall"),
        # a determiner before the span takes the place of the suggestion's article
        ("the Chilean mandatary spoke", "mandatary", "the president", "president"),
        ("Peru's mandatary spoke", "mandatary", "the president", "president"),
        ("they met the mandatary", "mandatary", "the president", "president"),
    ],
)
def test_fit_suggestion_inflects_and_fixes_articles(text, span, suggestion, expected):
    start = text.index(span)
    assert fit_suggestion(text, start, start + len(span), suggestion)[2] == expected


def test_fit_suggestion_takes_a_wrong_article_into_the_span():
    text = "They feared an eventual collapse."
    start = text.index("eventual")
    new_start, end, out = fit_suggestion(text, start, start + len("eventual"), "possible")
    assert (text[new_start:end], out) == ("an eventual", "a possible")
    text2 = "They feared a eventual collapse."  # already wrong: the suggestion's article fits
    s2 = text2.index("eventual")
    assert fit_suggestion(text2, s2, s2 + 8, "possible") == (s2, s2 + 8, "possible")
