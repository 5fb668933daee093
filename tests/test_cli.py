"""The CLI contract: JSON report (schema-validated), exit codes, selection, bad input."""

from __future__ import annotations

import io
import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time

import jsonschema
import pytest
from conftest import CORPORA, ROOT, SCHEMA, child_processes

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
    assert report["schema"] == "mtaudit/report-v2"
    assert "lexicons:" in report["signature"] and "mtaudit:" in report["signature"]
    assert len(report["documents"]) >= 7
    for doc in report["documents"]:
        assert doc["text_length"] == len(doc["text"])
        for f in doc["findings"]:
            assert doc["text"][f["start"] : f["end"]] == f["text"]
    assert report["summary"]["documents"] == len(report["documents"])


def test_schema_rejects_a_broken_report():
    bad = {
        "schema": "mtaudit/report-v1",  # a v1 report is not a v2 one
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
    # v2 requires the two new fields and knows the 'translated' verdict.
    doc = {
        "id": "a", "path": "a", "text_length": 1, "verdict": "translated",
        "mt_probability": 0.2, "source_language": None, "findings": [],
    }  # fmt: skip
    good = {"schema": "mtaudit/report-v2", "signature": "x", "errors": [], "documents": [doc],
            "summary": {"documents": 1, "errors": 0, "findings": 0, "by_category": {},
                        "by_verdict": {}}}  # fmt: skip
    errors = [e.message for e in VALIDATOR.iter_errors(good)]
    assert any("translated_probability" in m for m in errors)
    assert any("reasons" in m for m in errors)
    doc.update(translated_probability=0.9, reasons=["translationese score 0.90"])
    assert not list(VALIDATOR.iter_errors(good))


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

    from mtaudit.scan_run import Progress as _Progress

    buf = io.StringIO()
    bar = _Progress(enabled=True, console=Console(file=buf, force_terminal=True, width=80))
    for _ in range(_Progress.SHOW_AFTER - 1):
        bar.advance()
    assert bar._bar is None  # short scans stay quiet
    threads = threading.active_count()
    for _ in range(5):
        bar.advance()
    # Redrawn by advance() itself: a refresh thread would keep --jobs auto from forking.
    assert threading.active_count() == threads
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
    from mtaudit.known.decisions import Decisions
    from mtaudit.known.fingerprint import fingerprint

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


# ---------------------------------------------------------------- outputs and signals


def _null_device(path):
    """A character device like /dev/null (1, 3), made in a temp folder (needs root)."""
    try:
        os.mknod(path, 0o600 | stat.S_IFCHR, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("creating a device node needs root")
    return path


def _hidden(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_output_to_a_device_writes_through_it_and_keeps_it_a_device(cli, files, tmp_path):
    dev = _null_device(tmp_path / "null")
    res = cli("scan", files / "clean.txt", "-f", "json", "-o", dev)
    assert res.code == ExitCode.OK, res.err
    assert stat.S_ISCHR(os.stat(dev).st_mode)  # not replaced by a regular file
    res = cli("scan", files / "clean.txt", "--write-baseline", dev, "--report", f"json={dev}")
    assert res.code == ExitCode.OK, res.err
    assert stat.S_ISCHR(os.stat(dev).st_mode)
    assert _hidden(tmp_path) == []


def test_output_to_a_fifo_is_written_in_place(cli, files, tmp_path):
    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    res = cli("scan", files / "clean.txt", "-f", "json", "-o", fifo)
    reader.join(timeout=30)
    assert res.code == ExitCode.OK, res.err
    assert json.loads(received[0])["summary"]["documents"] == 1
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert _hidden(tmp_path) == []


def test_atomic_output_on_a_device_never_unlinks_it(tmp_path):
    from mtaudit.atomicfile import AtomicOutput

    dev = _null_device(tmp_path / "null")
    out = AtomicOutput(dev, binary=True)
    assert out.in_place
    out.stream.write(b"half a report")
    out.abort()
    assert stat.S_ISCHR(os.stat(dev).st_mode)
    regular = AtomicOutput(tmp_path / "r.json")
    assert not regular.in_place
    regular.stream.write("{}")
    regular.commit()
    assert (tmp_path / "r.json").read_text() == "{}" and _hidden(tmp_path) == []


def test_ray_result_writer_shares_the_atomic_writer(tmp_path):
    from mtaudit.distributed.ray_engine import _atomic

    dev = _null_device(tmp_path / "summary.json")
    with _atomic(dev) as fh:
        fh.write(b"{}")
    assert stat.S_ISCHR(os.stat(dev).st_mode)
    with pytest.raises(RuntimeError), _atomic(tmp_path / "a.done") as fh:
        fh.write(b"half")
        raise RuntimeError
    assert not (tmp_path / "a.done").exists() and _hidden(tmp_path) == []


def test_an_output_that_cannot_be_committed_exits_2(cli, files, tmp_path):
    (tmp_path / "taken").mkdir()  # the rename onto a folder fails at commit
    res = cli("scan", files / "glued.txt", "--report", f"json={tmp_path / 'taken'}")
    assert res.code == ExitCode.USAGE
    assert f"{tmp_path / 'taken'}: cannot write report" in res.err and "Traceback" not in res.err
    assert _hidden(tmp_path) == []


def _scan_process(*args, **popen):
    return subprocess.Popen(
        [sys.executable, "-m", "mtaudit", "scan", *map(str, args), "--mt", "off"],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        **popen,
    )


def test_sigterm_removes_the_temporary_report(tmp_path):
    fifo = tmp_path / "story.txt"
    os.mkfifo(fifo)  # the scan waits on it for as long as the test likes
    out = tmp_path / "out" / "report.json"
    with _scan_process(fifo, "-f", "json", "-o", out, stdout=subprocess.DEVNULL) as proc:
        try:
            deadline = time.monotonic() + 60
            writer = None
            while writer is None:  # the scan opens the FIFO after its reports' temp files
                assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
                try:
                    writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
                except OSError:  # ENXIO: no reader yet
                    time.sleep(0.05)
            os.write(writer, b"The council met on Friday")
            assert _hidden(out.parent), "the report's temp file should exist mid-scan"
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 128 + signal.SIGTERM
            os.close(writer)
        finally:
            proc.kill()
            proc.wait()
        assert _hidden(out.parent) == [] and not out.exists()
        assert b"Traceback" not in proc.stderr.read()


def test_broken_stdout_still_writes_reports_and_keeps_the_gate_status(tmp_path):
    feed = tmp_path / "feed.jsonl"
    # ~300 KB of JSON on stdout: far more than a pipe holds, so writes fail once the
    # reader has gone.
    feed.write_text("".join(json.dumps({"text": GLUED * 8}) + "\n" for _ in range(150)))
    out = tmp_path / "copy.json"
    args = (feed, "-f", "json", "--report", f"json={out}", "--fail-on", "warning")
    with _scan_process(*args, stdout=subprocess.PIPE) as proc:
        proc.stdout.read(100)
        proc.stdout.close()  # `| head -c 100`
        assert proc.wait(timeout=300) == ExitCode.FINDINGS
        err = proc.stderr.read().decode()
    assert "Traceback" not in err and "Exception ignored" not in err, err
    assert json.loads(out.read_text())["summary"]["documents"] == 150


def test_broken_stdout_after_a_clean_scan_exits_0_quietly(tmp_path):
    (tmp_path / "clean.txt").write_text(CLEAN * 2000, encoding="utf-8")
    with _scan_process(tmp_path / "clean.txt", "-f", "json", stdout=subprocess.PIPE) as proc:
        proc.stdout.read(10)
        proc.stdout.close()
        assert proc.wait(timeout=300) == ExitCode.OK
        assert proc.stderr.read() == b""


def test_a_scan_that_finds_no_input_is_an_error(cli, tmp_path):
    (tmp_path / "empty").mkdir()
    res = cli("scan", tmp_path / "empty")
    assert res.code == ExitCode.USAGE
    assert res.err == (
        f"mtaudit: error: no input files found in {tmp_path / 'empty'} "
        "(looked for *.txt, *.text, *.md, *.markdown, *.html, *.htm, *.jsonl, *.ndjson)\n"
    )
    (tmp_path / "empty" / "notes.txt").write_text(CLEAN, encoding="utf-8")
    res = cli("scan", tmp_path / "empty", "--include", "*.md")  # globs that match nothing
    assert res.code == ExitCode.USAGE and "looked for *.md" in res.err
    assert cli("scan", tmp_path / "empty").code == ExitCode.OK
    # One folder with input is enough; an empty folder beside it is not an error.
    (tmp_path / "other").mkdir()
    assert cli("scan", tmp_path / "empty", tmp_path / "other").code == ExitCode.OK


def test_a_scan_leaves_no_engine_process_behind(cli):
    """The idiom matcher's Apertium stages end with the scan (a server or test session that
    runs many scans otherwise piles up processes and pipes until select() fails)."""
    before = child_processes()
    res = cli("scan", ROOT / "corpora" / "mt-housing-law.html", "--mt", "off", "-f", "concise")
    assert "MT101" in res.out  # the matcher ran
    new = child_processes().items()
    assert [c for pid, c in new if pid not in before and "lt-proc" in c] == []
