"""Inline ``<!-- mtaudit: ... -->`` suppressions in Markdown and HTML."""

from __future__ import annotations

import json

import jsonschema
import pytest
from conftest import SCHEMA

from mtaudit.ingest import make_document
from mtaudit.known import suppress
from mtaudit.model import ExitCode, Finding

VALIDATOR = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))

# Each paragraph has one detached closing quote (MT401, a warning).
P1 = "The talks failed on Tuesday, the minister said. It is excluded, ”said the envoy."
P2 = "The second round failed too, and the delegations left early. It is over, ”said the envoy."
P3 = "Nobody came to the final session in the afternoon, ”said an aide to the minister."
P4 = "The third round was cancelled by the hosts, ”said the envoy late on Wednesday."
P5 = "A fourth round is not planned for this year, ”said the minister in a statement."
P6 = "Everyone went home on Friday without a statement from either delegation."

MARKDOWN = f"""# Talks collapse in Geneva

{P1}

<!-- mtaudit: disable MT401 -->
{P2}

{P3}
<!-- mtaudit: enable MT401 -->

{P4}

<!-- mtaudit: ignore punctuation -->
{P5}

<!-- mtaudit: ignore MT401 -->
{P6}
"""

HTML = f"""<html><head><title>Talks collapse</title></head><body>
<nav><a href="/">Home</a> | <a href="/world">World</a></nav>
<article>
<h1>Talks collapse in Geneva</h1>
<p>{P1}</p>
<!-- mtaudit: disable MT401 -->
<p>{P2}</p>
<p>{P3.replace("final", "<b>final</b>")}</p>
<!-- mtaudit: enable MT401 -->
<p>{P4}</p>
<!--   mtaudit:   ignore   punctuation -->
<p>{P5}</p>
<!-- mtaudit: ignore MT401 -->
<p>{P6}</p>
</article>
<footer>Copyright 2024 The Daily Example</footer>
</body></html>
"""


def _flagged_paragraphs(doc: dict) -> list[str]:
    """Which of P1..P6 still have a finding, by the paragraph text around each finding."""
    text = doc["text"]
    names = {"P1": P1, "P2": P2, "P3": P3, "P4": P4, "P5": P5, "P6": P6}
    out = []
    for f in doc["findings"]:
        for name, para in names.items():
            at = text.find(para.split(",")[0])
            if at >= 0 and at <= f["start"] < at + len(para):
                out.append(name)
    return out


@pytest.mark.parametrize(
    ("name", "source", "lines"), [("story.md", MARKDOWN, 16), ("story.html", HTML, 13)]
)
def test_ranges_and_ignore_next_paragraph(cli, tmp_path, name, source, lines):
    path = tmp_path / name
    path.write_text(source, encoding="utf-8")
    res = cli("scan", path, "-f", "json", "--mt", "off", "--fail-on", "warning", "-q")
    report = res.json()
    VALIDATOR.validate(report)
    (doc,) = report["documents"]
    assert [f["code"] for f in doc["findings"]] == ["MT401", "MT401"]
    # P2 and P3 are in the disabled range, P5 is ignored; P1 (before) and P4 (after) stay.
    assert _flagged_paragraphs(doc) == ["P1", "P4"]
    # The ignore before P6 silenced nothing: reported in the JSON and on stderr, with its line.
    assert doc["unused_suppressions"] == [{"comment": "mtaudit: ignore MT401", "line": lines}]
    assert f"{path}:{lines}: unused suppression 'mtaudit: ignore MT401'" in res.err
    assert res.code == ExitCode.FINDINGS  # P1 and P4 still fail the warning gate


def test_all_codes_and_no_enable_runs_to_the_end(cli, tmp_path):
    path = tmp_path / "story.md"
    path.write_text(f"{P1}\n\n<!-- mtaudit: disable -->\n\n{P2}\n\n{P3}\n", encoding="utf-8")
    doc = cli("scan", path, "-f", "json", "--mt", "off", "-q").json()["documents"][0]
    assert _flagged_paragraphs(doc) == ["P1"] and "unused_suppressions" not in doc


def test_suppressions_change_the_gate(cli, tmp_path):
    path = tmp_path / "story.md"
    path.write_text(f"<!-- mtaudit: ignore MT401 -->\n{P1}\n", encoding="utf-8")
    res = cli("scan", path, "--mt", "off", "--fail-on", "warning", "-q")
    assert res.code == ExitCode.OK and "unused" not in res.err


def test_unreadable_directives_are_reported(cli, tmp_path):
    path = tmp_path / "story.md"
    path.write_text(
        f"<!-- a normal comment -->\n<!-- mtaudit: frobnicate MT401 -->\n"
        f"<!-- mtaudit: ignore MT987 -->\n{P1}\n",
        encoding="utf-8",
    )
    res = cli("scan", path, "-f", "json", "--mt", "off", "-q")
    doc = res.json()["documents"][0]
    VALIDATOR.validate(res.json())
    assert [f["code"] for f in doc["findings"]] == ["MT401"]  # neither directive applies
    unused = doc["unused_suppressions"]
    assert [(u["comment"], u["line"]) for u in unused] == [
        ("mtaudit: frobnicate MT401", 2),
        ("mtaudit: ignore MT987", 3),
    ]
    assert "disable|enable|ignore" in unused[0]["problem"] and "MT987" in unused[1]["problem"]
    assert res.err.count("unused suppression") == 2


# ---------------------------------------------------------------- the filter itself


def _finding(text: str, needle: str, code: str = "MT401", after: int = 0) -> Finding:
    start = text.index(needle, after)
    category = {"MT1": "idiom", "MT4": "punctuation"}[code[:3]]
    return Finding(code, category, start, start + len(needle), needle, "m")


def test_last_matching_directive_wins():
    source = (
        "<!-- mtaudit: disable MT4 -->\nAlpha one , ”x.\n\n"
        "<!-- mtaudit: enable MT401 -->\nBeta two ”y.\n\nGamma three . , z.\n"
    )
    doc = make_document(source, "a.md", "markdown")
    text = doc.text
    found = [
        _finding(text, " ”x"),
        _finding(text, " ”y"),
        _finding(text, ". ,", "MT402"),
        _finding(text, "Gamma", "MT101"),
    ]
    kept, unused = suppress.apply(doc, found)
    # MT401 is back on after the enable; the other MT4 codes stay off; MT1 never was.
    assert [(f.code, f.text) for f in kept] == [("MT401", " ”y"), ("MT101", "Gamma")]
    assert unused == []


def test_ignore_inside_a_paragraph_covers_that_paragraph():
    source = f"{P1} <!-- mtaudit: ignore MT401 --> And more.\n\n{P2}\n"
    doc = make_document(source, "a.md", "markdown")
    f1 = _finding(doc.text, " ”said")
    f2 = _finding(doc.text, " ”said", after=doc.text.index(P2))
    kept, unused = suppress.apply(doc, [f1, f2])
    assert kept == [f2] and unused == []


def test_documents_without_comments_pass_through():
    doc = make_document(P1, "a.txt", "text")
    f = _finding(doc.text, " ”said")
    assert suppress.apply(doc, [f]) == ([f], [])


def test_html_comments_land_where_their_content_is_in_the_extracted_text():
    doc = make_document(HTML, "a.html", "html")
    offsets = {body: at for at, body in doc.meta["comments"]}
    text = doc.text
    assert text[offsets["mtaudit: disable MT401"] :].startswith(P2)
    # Inline markup in what follows (<b>) and block boundaries do not lose the position.
    assert text[offsets["mtaudit: enable MT401"] :].startswith(P4)
    assert text[offsets["mtaudit: ignore MT401"] :].startswith(P6)
    assert doc.meta["comment_lines"] == [6, 9, 11, 13]


def test_html_comment_before_dropped_chrome_goes_after_the_last_words():
    html = (
        f"<html><body><article><h1>Geneva talks</h1><p>{P1}</p><p>{P6}</p>"
        "<!-- mtaudit: disable --></article><footer>Copyright The Daily Example</footer>"
        "</body></html>"
    )
    doc = make_document(html, "a.html", "html")
    ((at, _),) = doc.meta["comments"]
    assert at == len(doc.text.rstrip())


def test_markdown_comment_offsets_and_lines():
    doc = make_document(MARKDOWN, "a.md", "markdown")
    assert doc.meta["comment_lines"] == [5, 9, 13, 16]
    for (at, body), para in zip(doc.meta["comments"], (P2, P4, P5, P6), strict=True):
        following = doc.text[at:].lstrip()
        assert following.startswith(para) or body.endswith("enable MT401"), body


def test_markdown_suppressions_shown_as_code_are_not_suppressions():
    """A style guide that *shows* how to suppress (in a fence, an indented block or an
    inline code span) must not silence the findings after it."""
    source = (
        "# How to silence a rule\n\n"
        "```markdown\n<!-- mtaudit: disable MT401 -->\n```\n\n"
        "    <!-- mtaudit: disable -->\n\n"
        "Write `<!-- mtaudit: ignore MT401 -->` before a paragraph.\n\n"
        f"{P1}\n\n"
        "<!-- mtaudit: ignore MT401 -->\n"
        f"{P2}\n"
    )
    doc = make_document(source, "guide.md", "markdown")
    assert [body for _, body in doc.meta["comments"]] == ["mtaudit: ignore MT401"]
    assert doc.meta["comment_lines"] == [13]
    f1 = _finding(doc.text, " ”said")
    f2 = _finding(doc.text, " ”said", after=doc.text.index(P2))
    kept, unused = suppress.apply(doc, [f1, f2])
    assert kept == [f1] and unused == []
