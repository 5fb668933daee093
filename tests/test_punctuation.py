"""MT4xx punctuation detector: fail cases must flag with the right code, pass cases must not."""

from __future__ import annotations

import pytest

from mtaudit.detectors.base import Context
from mtaudit.detectors.punctuation import PunctuationDetector
from mtaudit.model import Document
from mtaudit.segment import segment


def detect(text: str):
    doc = Document("t", text)
    return list(PunctuationDetector(Context()).detect(doc, segment(text)))


@pytest.mark.parametrize(
    "text, code, span",
    [
        ("support for Ukraine, ”the sources explained.", "MT401", " ”"),
        ("“It is excluded, ”said the minister.", "MT401", " ”"),
        ("the accession of Ukraine ”. And then", "MT401", " ”"),
        ("of American composition. , according to Reuters", "MT402", ". ,"),
        ("the talks ended ; , and then", "MT402", "; ,"),
        ("The minister resigned , citing health reasons.", "MT403", " ,"),
        ("It was over .", "MT403", " ."),
        ("¿What will happen to pensions? he asked.", "MT404", "¿"),
        ("They shouted ¡enough! in the square.", "MT404", "¡"),
        ("The minister called it «a historic day».", "MT405", "«a historic day»"),
    ],
)
def test_flags(text, code, span):
    findings = detect(text)
    assert [f.code for f in findings] == [code]
    f = findings[0]
    assert f.text == span == text[f.start : f.end]
    assert f.category == "punctuation" and f.message and f.suggestion is not None


@pytest.mark.parametrize(
    "text",
    [
        "“We will not accept it,” said Sergei Ryabkov.",
        'He said, "the plan is dead."',
        "Prices rose 3.5 percent, and wages 2.1 percent.",
        "Wait . . . what happened?",
        "The file is called report.final.pdf, apparently.",
        "He paused... then, quietly, left.",
        "It's the company's ‘best year’, she said.",
    ],
)
def test_passes(text):
    assert detect(text) == []


def test_glued_quote_suggestion_moves_the_space():
    text = "for Ukraine, ”the sources"
    (f,) = detect(text)
    fixed = text[: f.start] + f.suggestion + text[f.end :]
    assert fixed == "for Ukraine,” the sources"


def test_stray_sequence_is_not_also_a_space_before_punctuation():
    (f,) = detect("American composition. , according to")  # one finding, not two
    assert f.code == "MT402"
    text = "American composition. , according to"
    assert text[: f.start] + f.suggestion + text[f.end :] == "American composition, according to"
