"""MT5xx scraper boilerplate: whole short lines, generalised over wording."""

from __future__ import annotations

import pytest

from mtaudit.detectors.base import Context
from mtaudit.detectors.boilerplate import BoilerplateDetector
from mtaudit.model import Document
from mtaudit.segment import segment


def detect(text: str, **options):
    doc = Document("t", text)
    return list(BoilerplateDetector(Context(options)).detect(doc, segment(text)))


BODY = "The council met on Monday to discuss the budget.\n\n"


@pytest.mark.parametrize(
    "line, code",
    [
        ("Source link", "MT501"),
        ("Source: link", "MT501"),
        ("Read the original article here.", "MT501"),
        (
            "Disclaimer: This article is generated from the feed and not edited by our team.",
            "MT502",
        ),
        ("This story was automatically generated from a syndicated feed.", "MT502"),
        ("This post has not been edited by our staff.", "MT502"),
        ("Disclaimer: this text was machine translated.", "MT502"),
        ("Subscribe", "MT503"),
        ("Sign up now!", "MT503"),
        ("Subscribe here to bulletin of XYZ América and receive all the keys", "MT503"),
        ("Sign up for our daily newsletter", "MT503"),
        ("Join La Gaceta to follow all the news and read without limits.", "MT503"),
        ("Check Also", "MT504"),
        ("You may also like", "MT504"),
        ("About Jane Doe", "MT504"),
    ],
)
def test_flags_boilerplate_lines(line, code):
    text = BODY + line + "\n\nMore text follows here."
    findings = detect(text)
    assert [f.code for f in findings] == [code]
    assert findings[0].text == line and findings[0].category == "boilerplate"
    assert findings[0].suggestion == ""  # delete the line


@pytest.mark.parametrize(
    "text",
    [
        "Sources close to the minister said the link between the two cases was clear.",
        "Readers who subscribe to the paper's print edition will receive a discount, the publisher said.",
        "About 300 people joined the protest to follow the march.",
        "The source of the leak has not been identified.",
        "Check also the figures for March, the analyst said, before drawing conclusions about the year.",
        "About half of the voters have not decided.",
    ],
)
def test_prose_is_not_boilerplate(text):
    assert detect(BODY + text) == []


def test_user_lexicon_file_adds_patterns(tmp_path):
    extra = tmp_path / "mine.toml"
    extra.write_text(
        '[meta]\nkind = "boilerplate"\n\n[[boilerplate]]\nid = "x"\ncode = "MT504"\n'
        "pattern = '''^powered\\s+by\\s+\\w+$'''\nmessage = \"Widget.\"\nprovenance = \"test\"\n",
        encoding="utf-8",
    )
    assert detect(BODY + "Powered by Autoblog") == []
    (f,) = detect(BODY + "Powered by Autoblog", boilerplate_files=(str(extra),))
    assert f.code == "MT504"
