"""Locations in the *source* file: SARIF regions and github annotations for .html inputs.

Findings' offsets index the extracted article text; reports that point into a file must
map them back through the reader's source map (Markdown and HTML alike), or code scanning
annotates the wrong line.
"""

from __future__ import annotations

import json
import re

from mtaudit.ingest import make_document

PAGE = """\
<!DOCTYPE html>
<html><head><title>Port talks | Example News</title>
<script>var x = "Markets fell , ”said";</script></head>
<body>
<nav><a href="/">Home</a> <a href="/world">World</a></nav>
<article>
  <h1>Port talks &amp; the <em>long</em> night</h1>
  <p>The port operators and the union met on Monday in the city hall to discuss the new
     contract, which covers wages, shifts and the pension plan of the dock workers.</p>
  <p>Negotiators said the talks would go on through the week, and that both sides
     hoped for an agreement before the holidays.</p>
  <p>Markets fell after the decision , ”the traders said on Tuesday afternoon.</p>
</article>
<footer>Copyright 2026 Example News</footer>
</body></html>
"""


def _source_position(needle: str) -> tuple[int, int]:
    at = PAGE.index(needle)
    line = PAGE.count("\n", 0, at) + 1
    return line, at - (PAGE.rfind("\n", 0, at) + 1) + 1


def test_html_source_map_points_every_word_at_the_source():
    doc = make_document(PAGE, "page.html", "html")
    for m in re.finditer(r"\S+", doc.text):
        at = doc.source_offset(m.start())
        word = m.group()
        # "&" comes from "&amp;": the only word the source does not hold verbatim.
        assert PAGE[at : at + len(word)] == word or word == "&", word
    amp = doc.text.index("&")
    assert PAGE[doc.source_offset(amp) :].startswith("&amp;")
    assert PAGE[doc.source_offset(amp + 1) :].startswith(" the")


def test_sarif_and_github_point_at_the_html_source_line(cli, tmp_path):
    page = tmp_path / "page.html"
    page.write_text(PAGE, encoding="utf-8")
    line, col = _source_position(" ”the traders")
    sarif = cli("scan", page, "-f", "sarif", "--select", "MT401", "--mt", "off").json()
    (result,) = sarif["runs"][0]["results"]
    region = result["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"]) == (line, col)
    assert region["snippet"]["text"] == " ”"
    assert "positionsIn" not in result["properties"]
    # The file holds the flagged text verbatim there, so a fix can be offered.
    (change,) = result["fixes"][0]["artifactChanges"]
    assert change["replacements"][0]["deletedRegion"]["startLine"] == line

    out = cli("scan", page, "-f", "github", "--select", "MT401", "--mt", "off").out
    (annotation,) = [a for a in out.splitlines() if "title=MT401" in a]
    assert f"line={line},col={col}," in annotation
    # The JSON report's line/column are the file's too (offsets stay in the text).
    doc = cli("scan", page, "-f", "json", "--select", "MT401", "--mt", "off").json()
    (f,) = doc["documents"][0]["findings"]
    assert (f["line"], f["column"]) == (line, col)
    assert doc["documents"][0]["text"][f["start"] : f["end"]] == " ”"


def test_an_html_fix_is_escaped_for_the_source():
    from mtaudit.fix import source_replacement

    doc = make_document(PAGE, "page.html", "html")
    assert source_replacement(doc, "AT&T <b>") == "AT&amp;T &lt;b&gt;"
    assert json.dumps(doc.source_map)  # plain data: travels to --jobs workers and back
