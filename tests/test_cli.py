"""The CLI contract: JSON report (schema-validated), exit codes, selection, bad input."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import jsonschema
import pytest
from conftest import CORPORA, ROOT, SCHEMA

from mtaudit.detectors import Selection, all_rules
from mtaudit.model import ExitCode

VALIDATOR = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))

GLUED = "The talks failed, the minister said. It is excluded, ”said the envoy.\n"
CLEAN = "The council approved the budget on Friday after a long debate.\n"


@pytest.fixture
def files(tmp_path):
    (tmp_path / "glued.txt").write_text(GLUED, encoding="utf-8")
    (tmp_path / "clean.txt").write_text(CLEAN, encoding="utf-8")
    return tmp_path


def test_json_report_matches_schema_and_offsets(cli, seed_text, tmp_path):
    seed = tmp_path / "seed.txt"
    seed.write_text(seed_text, encoding="utf-8")
    res = cli("scan", seed, CORPORA, "--format", "json")
    report = res.json()
    VALIDATOR.validate(report)
    assert report["schema"] == "mtaudit/report-v1"
    assert "lexicons:" in report["signature"] and "mtaudit:" in report["signature"]
    assert len(report["documents"]) >= 7
    for doc in report["documents"]:
        assert doc["text_length"] == len(doc["text"])
        for f in doc["findings"]:
            assert doc["text"][f["start"] : f["end"]] == f["text"]
    assert report["summary"]["documents"] == len(report["documents"])


def test_schema_rejects_a_broken_report():
    bad = {
        "schema": "mtaudit/report-v1",
        "signature": "x",
        "errors": [],
        "summary": {},
        "documents": [
            {
                "id": "a",
                "path": "a",
                "text_length": 1,
                "verdict": "maybe",
                "mt_probability": 2,
                "source_language": "xx",
                "findings": [],
            }
        ],
    }
    assert len(list(VALIDATOR.iter_errors(bad))) >= 3


def test_exit_codes(cli, files):
    assert cli("scan", files / "clean.txt").code == ExitCode.OK
    # MT401 is a warning: the default gate (error) passes, --fail-on warning fails.
    assert cli("scan", files / "glued.txt").code == ExitCode.OK
    assert cli("scan", files / "glued.txt", "--fail-on", "warning").code == ExitCode.FINDINGS
    assert cli("scan", files / "glued.txt", "--fail-above", "0.01").code == ExitCode.FINDINGS
    assert cli("scan", files / "nope.txt").code == ExitCode.USAGE
    assert cli("scan", files, "--frobnicate").code == ExitCode.USAGE
    assert cli("scan", files, "--select", "MT9,bogus").code == ExitCode.USAGE
    assert cli("scan", files, "--fail-on", "fatal").code == ExitCode.USAGE


def test_select_and_ignore(cli, files):
    def codes(*args):
        report = cli("scan", files / "glued.txt", "-f", "json", *args).json()
        return [f["code"] for d in report["documents"] for f in d["findings"]]

    assert codes() == ["MT401"]
    assert codes("--ignore", "punctuation") == []
    assert codes("--ignore", "MT4", "--select", "MT401") == ["MT401"]  # most specific wins
    assert codes("--select", "boilerplate") == []


def test_selection_most_specific_wins():
    sel = Selection.build(["MT4"], ["MT40"])
    assert not sel.enabled("MT401")
    sel = Selection.build(["MT401"], ["MT4"])
    assert sel.enabled("MT401") and not sel.enabled("MT402")
    assert not Selection.build(["MT4"], ["MT4"]).enabled("MT401")


def test_bad_inputs_are_reported_and_the_rest_is_scanned(cli, files):
    (files / "binary.txt").write_bytes(b"\x00\x01\x02PK\x03\x04" * 50)
    (files / "latin.txt").write_bytes(bytes(range(128, 256)) * 4)
    (files / "feed.jsonl").write_text('{"text": "Fine story."}\n{broken\n', encoding="utf-8")
    (files / "empty.md").write_text("", encoding="utf-8")
    res = cli("scan", files, "-f", "json")
    assert res.code == ExitCode.USAGE
    report = res.json()
    VALIDATOR.validate(report)
    bad = sorted(e["path"].rsplit("/", 1)[-1] for e in report["errors"])
    assert bad == ["binary.txt", "feed.jsonl:2", "latin.txt"]
    ids = sorted(d["id"].rsplit("/", 1)[-1] for d in report["documents"])
    assert ids == ["clean.txt", "empty.md", "feed.jsonl:1", "glued.txt"]
    err_lines = [ln for ln in res.err.splitlines() if ln.startswith("mtaudit: error:")]
    assert len(err_lines) == 3 and all("/" in ln for ln in err_lines)


def test_output_file_is_written_atomically(cli, files, tmp_path):
    out = tmp_path / "reports" / "r.json"
    res = cli("scan", files, "-f", "json", "-o", out, "--report", f"json={tmp_path / 'copy.json'}")
    assert res.out == ""
    assert json.loads(out.read_text())["summary"]["documents"] == 2
    assert json.loads((tmp_path / "copy.json").read_text())["summary"]["documents"] == 2
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no temp left


def test_terminal_report_shows_finding_in_context_and_summary(cli, files):
    res = cli("scan", files)
    assert "MT401" in res.out and "”said the envoy" in res.out
    assert "→" in res.out  # the suggestion
    assert "summary" in res.out and "punctuation" in res.out
    assert "\x1b[" not in res.out  # plain when stdout is not a terminal


def test_stdin_and_module_entry_point(files):
    proc = subprocess.run(
        [sys.executable, "-m", "mtaudit", "scan", "-", "-f", "json", "--stdin-format", "text"],
        input=GLUED.encode(),
        capture_output=True,
        cwd=ROOT,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["documents"][0]["id"] == "<stdin>"
    assert report["documents"][0]["findings"][0]["code"] == "MT401"


def test_rules_and_explain(cli):
    res = cli("rules")
    for rule in all_rules():
        assert rule.code in res.out
    for rule in all_rules():
        text = cli("explain", rule.code.lower()).out
        for part in ("What it flags", "Why it matters", "Example", "Fix"):
            assert part in text
        assert rule.example.splitlines()[0][:20] in text
    assert cli("explain", "MT999").code == ExitCode.USAGE


def test_every_rule_is_documented():
    codes = [r.code for r in all_rules()]
    assert len(codes) == len(set(codes))
    for r in all_rules():
        assert r.summary and r.why and r.example and r.fix
        assert r.code.startswith("MT") and len(r.code) == 5


def test_progress_bar_appears_only_after_a_few_documents():
    from rich.console import Console

    from mtaudit.cli import _Progress

    buf = io.StringIO()
    bar = _Progress(enabled=True, console=Console(file=buf, force_terminal=True, width=80))
    for _ in range(_Progress.SHOW_AFTER - 1):
        bar.advance()
    assert bar._bar is None  # short scans stay quiet
    for _ in range(5):
        bar.advance()
    bar.close()
    assert "scanning" in buf.getvalue()
    quiet = _Progress(enabled=False)
    for _ in range(20):
        quiet.advance()
    assert quiet._bar is None


def test_overlapping_findings_are_resolved():
    from mtaudit.model import Finding
    from mtaudit.pipeline import _resolve_overlaps

    def f(cat, start, end, conf, code):
        return Finding(code, cat, start, end, "x" * (end - start), "m", None, confidence=conf)

    kept = _resolve_overlaps(
        [
            f("punctuation", 0, 4, 0.5, "MT403"),
            f("punctuation", 2, 6, 0.8, "MT401"),  # same category, overlapping, stronger
            f("idiom", 10, 30, 0.9, "MT102"),
            f("untranslated", 15, 20, 0.8, "MT302"),  # inside the idiom: subsumed
            f("calque", 12, 18, 0.7, "MT201"),  # other category: kept
        ]
    )
    assert [k.code for k in kept] == ["MT401", "MT102", "MT201"]


def test_review_decisions_feed_later_scans(cli, files, tmp_path):
    """A finding dismissed in review stops failing the gate; an edit replaces the suggestion."""
    from mtaudit.review import Decisions, fingerprint

    glued = files / "glued.txt"
    report = cli("scan", glued, "-f", "json", "--fail-on", "warning").json()
    assert cli("scan", glued, "--fail-on", "warning").code == ExitCode.FINDINGS
    doc = report["documents"][0]
    (f,) = doc["findings"]
    sentence = "It is excluded, ”said the envoy."
    key = fingerprint(doc["id"], f["code"], f["text"], sentence)
    path = tmp_path / "decisions.json"

    Decisions(path).record(key, {"decision": "edit", "suggestion": "” "})
    edited = cli("scan", glued, "-f", "json", "--decisions", path).json()["documents"][0]
    assert edited["findings"][0]["evidence"]["review"] == "edit"

    Decisions(path).record(key, {"decision": "dismiss"})
    res = cli("scan", glued, "-f", "json", "--fail-on", "warning", "--decisions", path)
    assert res.code == ExitCode.OK
    doc = res.json()["documents"][0]
    assert doc["findings"] == [] and doc["suppressed"] == 1
    assert cli("scan", glued, "--decisions", tmp_path / "missing.json").code == ExitCode.USAGE
