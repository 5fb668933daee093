"""The verdicts end to end: the bundled corpus and the seed, human translations from every
shared set, the gate's --fail-on-verdict, report-v2 and reading v1 reports back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import CORPORA, SEED, SHARED

HOUSING = CORPORA / "mt-housing-law.html"

# What every bundled document must keep (corpora/README-like expectations of the project):
# the clean-* articles were written in English, the mt-* ones are Apertium output.
EXPECTED = {
    "clean-council-budget.txt": "clean",
    "clean-library-reopens.html": "clean",
    "clean-port-strike.md": "clean",
    "mt-drought-catalonia.txt": "machine-translated",
    "mt-housing-law.html": "machine-translated",
    "mt-mayoral-debate.md": "machine-translated",
    "wire-transit-fares": "clean",
    "wire-canary-tourism": "machine-translated",
}


def _docs(res) -> dict[str, dict]:
    return {Path(d["id"]).name: d for d in res.json()["documents"]}


def test_bundled_corpus_keeps_its_verdicts(cli) -> None:
    res = cli("scan", str(CORPORA), "-f", "json", "--quiet")
    assert res.code == 1, res.err  # the machine-translated documents fail the gate
    docs = _docs(res)
    for name, verdict in EXPECTED.items():
        d = docs[name]
        assert d["verdict"] == verdict, (name, d["mt_probability"], d["reasons"])
        assert d["reasons"], name
        assert d["failed"] is (verdict == "machine-translated"), name
        if verdict == "clean":
            assert d["source_language"] is None
            assert d["reasons"][-1].startswith("translationese score")
        else:
            assert d["translated_probability"] >= 0.5 and d["mt_probability"] >= 0.9


@pytest.mark.skipif(not SEED.exists(), reason="needs ../shared/seed-article.txt")
def test_seed_is_machine_translated_from_spanish_with_its_idioms_named(cli) -> None:
    res = cli("scan", str(SEED), "-f", "json", "--quiet")
    (doc,) = res.json()["documents"]
    assert doc["verdict"] == "machine-translated" and doc["failed"]
    assert doc["source_language"] == "es"
    assert any(r.startswith(("1 literal idiom", "2 literal idioms")) or "literal idiom" in r
               for r in doc["reasons"])  # fmt: skip
    idiom_reason = next(r for r in doc["reasons"] if "literal idiom" in r)
    assert idiom_reason.endswith("(es)")
    assert any(f["code"] == "MT101" and "lime" in f["text"] for f in doc["findings"])


SHARED_SETS = ("wmt-de-en", "wmt21", "wmt22", "wmt23")


@pytest.mark.parametrize("name", SHARED_SETS)
def test_human_translations_are_translated_not_machine_translated(cli, tmp_path, name) -> None:
    """The first 40 professional human translations of each shared set: none is accused of
    being machine-translated, and those with no machine evidence get ``translated``."""
    path = SHARED / "bench" / name / "dev.jsonl"
    if not path.exists():
        pytest.skip(f"needs {path} (the shared benchmark data)")
    picked = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            if rec["origin"].startswith("human-translation") and len(picked) < 40:
                picked.append({"id": rec["id"], "text": rec["text"]})
    data = tmp_path / f"{name}-ht.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in picked), encoding="utf-8")
    res = cli("scan", str(data), "-f", "json", "--quiet", "--mt", "off")
    docs = res.json()["documents"]
    assert len(docs) == len(picked)
    verdicts = [d["verdict"] for d in docs]
    assert "machine-translated" not in verdicts
    no_evidence = [d for d in docs if not d["findings"] and d["verdict"] != "suspect"]
    assert no_evidence, "every human translation got machine evidence"
    assert all(
        d["verdict"] == "translated" for d in no_evidence if d["translated_probability"] >= 0.5
    )
    assert verdicts.count("translated") >= len(docs) // 2, verdicts
    for d in docs:
        if d["verdict"] == "translated":
            assert any(r.startswith("no machine evidence") for r in d["reasons"])


def _verdict(cli, *args) -> tuple[int, dict]:
    res = cli("scan", str(HOUSING), "-f", "json", "--quiet", "--mt", "off", *args)
    (doc,) = res.json()["documents"]
    return res.code, doc


def test_fail_on_verdict_decides_the_gate(cli) -> None:
    # Calques alone are warnings: with --fail-on error only the verdict can fail the gate.
    code, doc = _verdict(cli, "--select", "MT2", "--fail-on", "error")
    assert doc["verdict"] == "machine-translated" and doc["findings"]
    assert all(f["severity"] != "error" for f in doc["findings"])
    assert code == 1 and doc["failed"]
    code, doc = _verdict(cli, "--select", "MT2", "--fail-on", "error", "--fail-on-verdict", "none")
    assert code == 0 and not doc["failed"] and doc["verdict"] == "machine-translated"
    # A stricter gate: the clean documents still pass, a translated one would not.
    res = cli("scan", str(CORPORA / "clean-port-strike.md"), "--fail-on-verdict", "translated",
              "-f", "json", "--quiet")  # fmt: skip
    assert res.code == 0 and res.json()["documents"][0]["verdict"] == "clean"


def test_fail_on_verdict_flag_and_config_errors(cli, tmp_path, monkeypatch) -> None:
    res = cli("scan", str(HOUSING), "--fail-on-verdict", "mt")
    assert res.code == 2 and "unknown verdict 'mt'" in res.err
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".git").mkdir()
    (tmp_path / "mtaudit.toml").write_text('fail_on_verdict = "sometimes"\n', encoding="utf-8")
    (tmp_path / "a.txt").write_text("A plain sentence.\n", encoding="utf-8")
    res = cli("scan", "a.txt")
    assert res.code == 2 and "mtaudit.toml:1" in res.err and "fail_on_verdict" in res.err
    (tmp_path / "mtaudit.toml").write_text(
        'fail_on_verdict = "none"\nselect = ["MT2"]\nfail_on = "error"\n', encoding="utf-8"
    )
    (tmp_path / "story.html").write_text(HOUSING.read_text(encoding="utf-8"), encoding="utf-8")
    res = cli("scan", "story.html", "-f", "json", "--quiet", "--mt", "off")
    doc = res.json()["documents"][0]
    assert doc["verdict"] == "machine-translated" and res.code == 0


def test_baseline_excuses_a_known_verdict_but_not_a_new_one(cli, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".git").mkdir()
    article = tmp_path / "story.html"
    article.write_text(HOUSING.read_text(encoding="utf-8"), encoding="utf-8")
    args = ("--select", "MT2", "--fail-on", "error", "--mt", "off", "--quiet")
    assert cli("scan", "story.html", *args).code == 1
    assert cli("scan", "story.html", *args, "--write-baseline", "base.json").code == 0
    recorded = json.loads((tmp_path / "base.json").read_text(encoding="utf-8"))
    assert recorded["documents"]["story.html"]["verdict"] == "machine-translated"
    assert cli("scan", "story.html", *args, "--baseline", "base.json").code == 0
    # Another machine-translated article is not excused by that baseline.
    (tmp_path / "other.html").write_text(HOUSING.read_text(encoding="utf-8"), encoding="utf-8")
    assert cli("scan", "other.html", *args, "--baseline", "base.json").code == 1


def test_report_v2_fields_in_every_format(cli, tmp_path) -> None:
    out = {fmt: tmp_path / f"r.{fmt}" for fmt in ("json", "markdown", "sarif", "html")}
    args = [f"--report={fmt}={path}" for fmt, path in out.items()]
    res = cli("scan", str(HOUSING), "--mt", "off", *args, "-f", "terminal")
    report = json.loads(out["json"].read_text(encoding="utf-8"))
    assert report["schema"] == "mtaudit/report-v2"
    doc = report["documents"][0]
    reason = doc["reasons"][0]
    assert "why: " + reason in res.out.replace("\n  ", " ") or reason in res.out
    assert "Why: " + reason in out["markdown"].read_text(encoding="utf-8")
    sarif = json.loads(out["sarif"].read_text(encoding="utf-8"))
    props = json.dumps(sarif)
    assert '"translatedProbability"' in props and reason in props
    assert '"reasons"' in out["html"].read_text(encoding="utf-8")
    gh = cli("scan", str(HOUSING), "--mt", "off", "-f", "github", "--quiet")
    first = gh.out.splitlines()[0]
    assert first.startswith("::error file=") and "mtaudit verdict%3A machine-translated" in first
    gh = cli("scan", str(HOUSING), "--mt", "off", "-f", "github", "--quiet",
             "--fail-on-verdict", "none", "--select", "MT2")  # fmt: skip
    assert gh.out.splitlines()[0].startswith("::notice file=")  # passing run: no red mark


def test_show_and_review_read_v1_and_v2_reports(cli, tmp_path) -> None:
    v2 = tmp_path / "v2.json"
    cli("scan", str(HOUSING), "--mt", "off", "-f", "json", "-o", str(v2), "--quiet")
    data = json.loads(v2.read_text(encoding="utf-8"))
    res = cli("show", str(v2), "--no-pager")
    assert res.code == 0 and "why:" in res.out and "MACHINE-TRANSLATED" in res.out
    # The same report as report-v1 wrote it: no translated_probability, no reasons.
    v1 = dict(data, schema="mtaudit/report-v1")
    v1["documents"] = [
        {k: v for k, v in d.items() if k not in ("translated_probability", "reasons")}
        for d in data["documents"]
    ]
    (tmp_path / "v1.json").write_text(json.dumps(v1), encoding="utf-8")
    res = cli("show", str(tmp_path / "v1.json"), "--no-pager")
    assert res.code == 0 and "MACHINE-TRANSLATED" in res.out and "why:" not in res.out
    from mtaudit.report.reader import load_report

    saved = load_report(str(tmp_path / "v1.json"))
    report = saved.documents[0][0]
    assert report.translated_probability == report.mt_probability and report.reasons == []
    (tmp_path / "v9.json").write_text(json.dumps(dict(data, schema="mtaudit/report-v9")))
    res = cli("show", str(tmp_path / "v9.json"), "--no-pager")
    assert res.code == 2 and "report-v9" in res.err and "v9.json" in res.err
