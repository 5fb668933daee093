"""English inflection from lemminflect (through mtaudit.lemmacache), as the detectors use
it, and the nearest-position placement both idiom matchers share."""

from __future__ import annotations

import pytest

from mtaudit.fluency.agreement import find_agreement_issues
from mtaudit.fluency.ngram import NGramScorer
from mtaudit.idiommatch.placement import nearest_first, nearest_placement
from mtaudit.lemmacache import inflection


@pytest.fixture(scope="module")
def ngram() -> NGramScorer:
    return NGramScorer()


def test_the_table_holds_noun_plurals():
    assert inflection("child", "NNS") == ("children",)
    assert "countries" in inflection("country", "NNS")


@pytest.mark.parametrize(
    ("sentence", "replacement"),
    [
        ("Several child were injured in the accident.", "Several children"),
        ("Many woman voted for the opposition in the election.", "Many women"),
        ("Every children receives a book at the school.", "Every child"),
    ],
)
def test_agreement_knows_irregular_plurals(ngram, sentence, replacement):
    """ "child"/"children" is no -s pair: the hand-written suffix rules never proposed it."""
    assert [i.replacement for i in find_agreement_issues(ngram, sentence)] == [replacement]


def test_placement_takes_the_nearest_free_position_in_the_patterns_order():
    # Word 0 anchored at 10; word 1 occurs at 8 and 12 and, coming after the anchor in
    # the pattern, takes 12; word 2 finds 12 taken and takes the next nearest, 14.
    positions = {0: [10], 1: [8, 12], 2: [12, 14]}
    order = nearest_first(positions, 0)
    assert nearest_placement(positions, order, 0, 10, reach=5) == {0: 10, 1: 12, 2: 14}
    # Before the anchor in the pattern: the earlier position wins although as near.
    positions = {0: [8, 12], 1: [10]}
    assert nearest_placement(positions, nearest_first(positions, 1), 1, 10, 5) == {1: 10, 0: 8}


def test_placement_reach_is_inclusive_and_a_word_out_of_reach_is_left_out():
    positions = [[0], [3], [9]]
    assert nearest_placement(positions, [1, 2], 0, 0, reach=3) == {0: 0, 1: 3}
    assert nearest_placement(positions, [1, 2], 0, 0, reach=2) == {0: 0}
