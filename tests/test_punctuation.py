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
        ("the talks ended; , and then", "MT402", "; ,"),
        ("The minister resigned , citing health reasons.", "MT403", " ,"),
        ("It was over .", "MT403", " ."),
        ("¿What will happen to pensions? he asked.", "MT404", "¿"),
        ("They shouted ¡enough! in the square.", "MT404", "¡"),
        ("The minister called it «a historic day».", "MT405", "«a historic day»"),
        # Source-locale conventions (MT406-MT408), as WMT systems left them.
        ("Biden leads with 49,9 percent nationally.", "MT406", ","),
        ("She threw 60,08 meters in her last attempt.", "MT406", ","),
        ("the value is priced at ISK 1,8 billion.", "MT406", ","),
        ("The games were to start on 24. July and end on 9 August.", "MT407", "."),
        ("It appeared in the weekend paper on 17. Jul.", "MT407", "."),
        ("The classic of summer is 「cold noodles」 in Japan.", "MT408", "「"),
    ],
)
def test_flags(text, code, span):
    findings = detect(text)
    assert [f.code for f in findings][:1] == [code] and {f.code for f in findings} == {code}
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
        # English numbers and dates with the same digits.
        "Prices rose 3,500 percent in a decade, and 1,250,000 people left.",
        "On June 3, 2021, 1.219 million viewers watched; 12.5 percent more.",
        "The vote is on 3 June, the count on June 4.",
        "The score was 3, 5 and then 7.",
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


def test_corner_brackets_become_english_quotes_or_go():
    text = "He said 「we will win」 and left."
    a, b = detect(text)
    assert (a.suggestion, b.suggestion) == ("“", "”")
    # Next to a quotation mark the MT added itself, the bracket is simply deleted.
    (f,) = detect('It was "fun!" 」 he said.')
    assert f.suggestion == ""


def test_decimal_comma_and_ordinal_date_fixes():
    text = "He threw 73,84 meters on 15. July."
    fixed = text
    for f in sorted(detect(text), key=lambda f: -f.start):
        fixed = fixed[: f.start] + f.suggestion + fixed[f.end :]
    assert fixed == "He threw 73.84 meters on 15 July."


@pytest.mark.parametrize(
    "text, fixed",
    [
        ("Biden leads with 49,9 percent nationally.", "Biden leads with 49.9 percent nationally."),
        ("The games start on 24. July.", "The games start on 24 July."),
        ("The classic is 「cold noodles」 in Japan.", "The classic is “cold noodles” in Japan."),
        # Next to an English quotation mark the MT added, the bracket just goes.
        ('He said "「We will win」" twice.', 'He said "We will win" twice.'),
    ],
)
def test_source_locale_fixes_read_as_english(text, fixed):
    from mtaudit import fix

    findings = detect(text)
    assert findings and all(fix.is_safe(f) for f in findings)
    for f in sorted(findings, key=lambda f: f.start, reverse=True):
        text = text[: f.start] + f.suggestion + text[f.end :]
    assert text == fixed and detect(text) == []


def test_spaced_stray_pair_takes_the_space_before_it_too():
    text = "the talks ended ; , and then"
    found = [(f.code, f.text, f.suggestion) for f in detect(text)]
    assert found == [("MT403", " ", ""), ("MT402", "; ,", ",")]
