"""``--write-baseline`` / ``--baseline``: known findings stay reported but stop failing."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from conftest import CORPORA, SCHEMA

from mtaudit.known.baseline import BASELINE_SCHEMA, Baseline, KnownFindings, document_key
from mtaudit.model import Document, DocumentReport, ExitCode

VALIDATOR = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))

OLD = "The talks failed, the minister said. It is excluded, ”said the envoy."
CLEAN = "The council approved the budget on Friday after a long debate."
NEW = "The mayor was not available for comment, ”said a spokesman."


@pytest.fixture(autouse=True)
def _no_user_config(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("xdg")))


@pytest.fixture
def gate(cli):
    """``mtaudit scan ... --fail-on warning -f json``; returns the CliResult (report in .json())."""

    def run(*args):
        return cli("scan", *args, "--fail-on", "warning", "--mt", "off", "-q", "-f", "json")

    return run


def _codes(report: dict) -> list[tuple[str, str, bool]]:
    return [
        (f["code"], f["text"], f.get("baselined", False))
        for d in report["documents"]
        for f in d["findings"]
    ]


def test_write_baseline_then_baseline_passes_until_a_new_finding(gate, tmp_path, monkeypatch):
    story = tmp_path / "news" / "story.txt"
    story.parent.mkdir()
    story.write_text(f"{OLD}\n\n{CLEAN}\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert gate("news").code == ExitCode.FINDINGS

    written = gate("news", "--write-baseline", ".mtaudit/baseline.json")
    assert written.code == ExitCode.OK  # everything found is now known
    baseline = json.loads((tmp_path / ".mtaudit" / "baseline.json").read_text())
    assert baseline["schema"] == BASELINE_SCHEMA
    (entry,) = baseline["findings"].values()
    assert entry == {"code": "MT401", "document": "../news/story.txt", "text": " ”"}
    assert not [p for p in (tmp_path / ".mtaudit").iterdir() if p.name.startswith(".")]

    res = gate("news", "--baseline", ".mtaudit/baseline.json")
    assert res.code == ExitCode.OK
    VALIDATOR.validate(res.json())
    assert _codes(res.json()) == [("MT401", " ”", True)]  # still reported, marked
    assert res.json()["summary"]["failed_documents"] == 0

    # An edit elsewhere in the document (a new first paragraph) keeps the finding known.
    story.write_text(f"Geneva, Tuesday.\n\n{OLD}\n\n{CLEAN} It rained.\n", encoding="utf-8")
    assert gate("news", "--baseline", ".mtaudit/baseline.json").code == ExitCode.OK

    # A new finding fails the gate; the old one stays baselined.
    story.write_text(f"{OLD}\n\n{CLEAN}\n\n{NEW}\n", encoding="utf-8")
    res = gate("news", "--baseline", ".mtaudit/baseline.json")
    assert res.code == ExitCode.FINDINGS
    assert _codes(res.json()) == [("MT401", " ”", True), ("MT401", " ”", False)]

    # Editing the flagged sentence itself makes it a new finding; its neighbours do not.
    story.write_text(f"{OLD.replace('talks', 'negotiations')}\n", encoding="utf-8")
    assert gate("news", "--baseline", ".mtaudit/baseline.json").code == ExitCode.OK
    story.write_text(f"{OLD.replace('excluded', 'ruled out')}\n", encoding="utf-8")
    assert gate("news", "--baseline", ".mtaudit/baseline.json").code == ExitCode.FINDINGS


def test_baseline_matches_from_any_folder(gate, tmp_path, monkeypatch):
    site = tmp_path / "site"
    (site / "news").mkdir(parents=True)
    (site / "news" / "story.txt").write_text(OLD + "\n", encoding="utf-8")
    monkeypatch.chdir(site)
    assert gate("news", "--write-baseline", "baseline.json").code == ExitCode.OK
    monkeypatch.chdir(tmp_path)  # a different folder, a different spelling of the path
    res = gate(str(site / "news" / "story.txt"), "--baseline", "site/baseline.json")
    assert res.code == ExitCode.OK and _codes(res.json()) == [("MT401", " ”", True)]


def test_baseline_from_config_and_fail_above(cli, tmp_path, monkeypatch):
    def gate(*args):
        return cli("scan", *args, "--mt", "off", "-q", "-f", "json")

    (tmp_path / ".git").mkdir()
    (tmp_path / "story.txt").write_text(OLD + "\n", encoding="utf-8")
    human = (CORPORA / "clean-council-budget.txt").read_text(encoding="utf-8")
    (tmp_path / "other.txt").write_text(human, encoding="utf-8")
    (tmp_path / "mtaudit.toml").write_text(
        'baseline = ".mtaudit/baseline.json"\nfail_above = 0.5\n', encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    # The configured baseline does not exist yet: that is how it gets written.
    assert gate(".").code == ExitCode.FINDINGS
    assert gate(".", "--write-baseline", ".mtaudit/baseline.json").code == ExitCode.OK
    res = gate(".")
    # Over fail_above when the baseline was written: excused from it, as from its findings.
    probability = {Path(d["id"]).name: d["mt_probability"] for d in res.json()["documents"]}
    assert probability["story.txt"] >= 0.5 > probability["other.txt"]
    assert res.code == ExitCode.OK
    # A document that was below the limit then is not excused when it crosses it.
    (tmp_path / "other.txt").write_text(OLD.replace("talks", "negotiations") + "\n")
    res = gate(".")
    assert res.code == ExitCode.FINDINGS
    assert {Path(d["id"]).name for d in res.json()["documents"] if d["failed"]} == {"other.txt"}


def test_decisions_and_baseline_share_one_pass(gate, tmp_path, monkeypatch):
    from mtaudit.known.decisions import Decisions
    from mtaudit.known.fingerprint import fingerprint

    story = tmp_path / "story.txt"
    story.write_text(f"{OLD}\n\n{NEW}\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert gate("story.txt", "--write-baseline", "baseline.json").code == ExitCode.OK
    decisions = Decisions(tmp_path / "decisions.json")
    decisions.record(fingerprint("story.txt", "MT401", " ”", NEW), {"decision": "dismiss"})
    res = gate("story.txt", "--baseline", "baseline.json", "--decisions", "decisions.json")
    doc = res.json()["documents"][0]
    assert res.code == ExitCode.OK
    assert doc["suppressed"] == 1 and [f.get("baselined") for f in doc["findings"]] == [True]


def test_bad_baseline_files_are_usage_errors(gate, tmp_path, monkeypatch):
    (tmp_path / "story.txt").write_text(OLD + "\n", encoding="utf-8")
    (tmp_path / "not-a-baseline.json").write_text('{"schema": "other"}', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    res = gate("story.txt", "--baseline", "missing.json")
    assert res.code == ExitCode.USAGE and "missing.json" in res.err
    res = gate("story.txt", "--baseline", "not-a-baseline.json")
    assert res.code == ExitCode.USAGE and "not a baseline file" in res.err


def test_document_keys_and_excuses(tmp_path):
    base = tmp_path / "site"
    doc = Document(
        str(tmp_path / "site" / "a" / "b.md"), "x", str(tmp_path / "site" / "a" / "b.md")
    )
    assert document_key(doc, base) == "a/b.md"
    record = Document(f"{tmp_path}/feed.jsonl:3", "x", f"{tmp_path}/feed.jsonl")
    assert document_key(record, base) == "../feed.jsonl:3"
    named = Document("wire-42", "x", f"{tmp_path}/feed.jsonl")
    assert document_key(named, base) == "wire-42"
    known = KnownFindings(
        baseline=Baseline(base / "b.json", {}, {"a/b.md": {"mt_probability": 0.7}})
    )
    assert known.excuses(DocumentReport(doc, [], mt_probability=0.9), 0.6)
    assert not known.excuses(DocumentReport(doc, [], mt_probability=0.9), 0.8)
    assert not KnownFindings().excuses(DocumentReport(doc, []), 0.1)


def test_sarif_marks_baselined_results(cli, tmp_path, monkeypatch):
    """Code scanning must see known findings as baselined, and new ones as new."""
    from conftest import ROOT

    sarif_schema = json.loads((ROOT / "tests" / "data" / "sarif-2.1.0.schema.json").read_text())
    story = tmp_path / "story.txt"
    story.write_text(f"{OLD}\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    common = ("--mt", "off", "-q", "--fail-on", "warning")
    cli("scan", "story.txt", *common, "--write-baseline", "base.json")
    story.write_text(f"{OLD}\n\n{NEW}\n", encoding="utf-8")
    res = cli("scan", "story.txt", *common, "--baseline", "base.json", "-f", "sarif")
    assert res.code == ExitCode.FINDINGS  # the new finding still fails the gate
    log = json.loads(res.out)
    jsonschema.validate(log, sarif_schema)
    states = sorted(
        (r["locations"][0]["physicalLocation"]["region"]["startLine"], r.get("baselineState"))
        for r in log["runs"][0]["results"]
    )
    assert states == [(1, "unchanged"), (3, None)]
