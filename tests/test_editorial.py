"""The editorial workflow: baselined findings in every format, --fix/--diff, the concise
format, --exit-zero/--statistics/--show-settings, exclusions and .gitignore, progress."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess

import pytest

from mtaudit.report.html import extract_data

STORY = (
    "Markets fell after the decision , ”the traders said on Tuesday.\n\n"
    "The opposition accused the minister of paying the duck of the crisis.\n"
)
NEW = "A week later the talks failed again , ”the union said.\n"


@pytest.fixture
def baselined(tmp_path, cli, monkeypatch):
    """A story whose findings are all in the baseline, plus one new finding."""
    monkeypatch.chdir(tmp_path)
    story = tmp_path / "story.txt"
    story.write_text(STORY, encoding="utf-8")
    code = cli("scan", "story.txt", "--mt", "off", "--write-baseline", "baseline.json").code
    assert code == 0
    story.write_text(STORY + "\n" + NEW, encoding="utf-8")
    return lambda *args: cli(
        "scan", "story.txt", "--mt", "off", "--baseline", "baseline.json", *args
    )


# ---------------------------------------------------------------- item: baselined findings


def test_github_emits_no_error_or_warning_for_baselined_findings(baselined):
    out = baselined("-f", "github").out
    commands = [line for line in out.splitlines() if line.startswith("::")]
    # The new finding (line 5) is a warning; the baselined ones (lines 1 and 3) are silent.
    flagged = [c for c in commands if c.startswith(("::error", "::warning"))]
    assert flagged and all("line=5," in c for c in flagged if "title=MT" in c), flagged
    assert not [c for c in commands if re.search(r"line=[13],", c) and "title=MT" in c]
    assert any(c.startswith("::notice") and "baselined finding" in c for c in commands)


def test_terminal_markdown_html_and_concise_mark_baselined_findings(baselined):
    terminal = baselined("-f", "terminal").out
    baselined_lines = [ln for ln in terminal.splitlines() if "[baselined]" in ln]
    assert any("MT101" in ln for ln in baselined_lines)
    assert not any("5:" in ln for ln in baselined_lines)  # the new one is not marked
    assert "baselined)" in terminal  # counts in the document line and the summary

    markdown = baselined("-f", "markdown").out
    assert re.search(r"^- MT101 \*\(baselined\)\*", markdown, re.M)
    assert re.search(r"^- \*\*MT401\*\*", markdown, re.M)

    data = extract_data(baselined("-f", "html").out)
    (doc,) = data["documents"]
    marks = {(f["code"], f["line"]): f["baselined"] for f in doc["findings"]}
    assert marks[("MT101", 3)] is True and marks[("MT401", 5)] is False
    assert data["summary"]["baselined"] == sum(marks.values())

    concise = baselined("-f", "concise").out.splitlines()
    # Only the new paragraph's findings (MT403 " ,", MT401 " ”"), one line each.
    assert [ln.split(" ")[:2] for ln in concise[:-1]] == [
        ["story.txt:5:36:", "MT403"],
        ["story.txt:5:38:", "MT401"],
    ]
    assert "baselined, not shown" in concise[-1]


# ---------------------------------------------------------------- item: concise


def test_concise_is_one_line_per_finding_for_files_and_jsonl(cli, tmp_path):
    story = tmp_path / "s.md"
    story.write_text("# Title\n\nThe talks failed , ”the union\nsaid \x1b[2J today.\n")
    feed = tmp_path / "feed.jsonl"
    feed.write_text('{"id": "a1", "text": "ok"}\n{"id": "b2", "text": "It failed , ”he said."}\n')
    res = cli("scan", story, feed, "-f", "concise", "--mt", "off", "--select", "MT4")
    lines = res.out.splitlines()
    assert lines[0].startswith(f"{story}:3:17: MT403 ")
    assert lines[1].startswith(f"{story}:3:19: MT401 ")
    assert any(ln.startswith(f"{feed}:2: [b2] MT401 ") for ln in lines)
    assert lines[-1].startswith("Found 4 findings in 3 documents")
    assert "\x1b" not in res.out


# ---------------------------------------------------------------- item: gate flags


def test_exit_zero_statistics_and_show_settings(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mtaudit.toml").write_text(
        'fail_on = "warning"\nignore = ["fluency"]\nexclude = ["drafts/"]\n[severity]\nMT4 = "error"\n'
    )
    (tmp_path / "story.txt").write_text(STORY)
    assert cli("scan", "story.txt", "--mt", "off").code == 1
    res = cli("scan", "story.txt", "--mt", "off", "--exit-zero", "--statistics", "-q")
    assert res.code == 0
    stats = [ln.split() for ln in res.err.splitlines() if re.match(r"\s*\d+\s+MT\d{3}", ln)]
    assert [s[1] for s in stats] == ["MT101", "MT401", "MT403"]  # by count, then code
    assert all(s[0] == "1" for s in stats)
    # --exit-zero never hides a usage or input error.
    assert cli("scan", "missing.txt", "--exit-zero").code == 2

    res = cli("scan", ".", "--show-settings", "--fail-above", "0.9")
    assert res.code == 0
    out = res.out
    assert 'fail_on = "warning"' in out and "fail_above = 0.9" in out
    assert 'ignore = ["MT6"]' in out or 'ignore = ["fluency"]' in out
    assert 'MT4 = "error"' in out and 'exclude = ["drafts/"]' in out
    assert "mtaudit.toml" in out and "command line" in out


# ---------------------------------------------------------------- item: exclusions


def test_config_exclude_and_gitignore(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    subprocess.run(["git", "init", "-q"], check=True)
    for name in ("news/a.txt", "news/drafts/b.txt", "wire/c.txt", "wire/keep.txt", "d.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(STORY)
    (tmp_path / ".gitignore").write_text("wire/*\n!wire/keep.txt\n")
    (tmp_path / "mtaudit.toml").write_text('exclude = ["drafts/", "/d.txt"]\nmt = "off"\n')

    def scanned(*args):
        res = cli("scan", ".", "-f", "json", "--select", "MT4", *args)
        return sorted(os.path.normpath(d["path"]) for d in res.json()["documents"])

    assert scanned() == ["news/a.txt", "wire/keep.txt"]
    assert scanned("--no-gitignore") == ["news/a.txt", "wire/c.txt", "wire/keep.txt"]
    # The config's exclusions hold for named files too (pre-commit names each file).
    res = cli("scan", "news/drafts/b.txt", "d.txt", "news/a.txt", "-f", "json")
    assert [d["path"] for d in res.json()["documents"]] == ["news/a.txt"]
    (tmp_path / "mtaudit.toml").write_text('exclude = "drafts/"\n')
    res = cli("scan", ".")
    assert res.code == 2 and "mtaudit.toml:1: " in res.err and "exclude" in res.err


# ---------------------------------------------------------------- item: --fix / --diff


def test_diff_shows_safe_fixes_and_fix_applies_them(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    story = tmp_path / "story.txt"
    story.write_text(STORY.replace("\n", "\r\n"), encoding="utf-8")
    res = cli("scan", "story.txt", "--mt", "off", "--diff")
    assert res.out.startswith("--- a/story.txt\n+++ b/story.txt\n")
    assert "+Markets fell after the decision,” the traders" in res.out
    # The idiom's equivalent is inflected to the verb it replaces ("paying" -> "taking").
    assert "paying the duck" in res.out and "taking the rap" not in res.out  # idiom: unsafe
    assert "1 more with --unsafe-fixes" in res.err
    assert story.read_bytes() == STORY.replace("\n", "\r\n").encode()  # --diff writes nothing
    unsafe = cli("scan", "story.txt", "--mt", "off", "--diff", "--unsafe-fixes").out
    assert "+The opposition accused the minister of taking the rap of the crisis." in unsafe

    mode = 0o640
    os.chmod(story, mode)
    res = cli("scan", "story.txt", "--mt", "off", "--fix", "-f", "json")
    fixed = story.read_bytes().decode()
    assert fixed == (
        "Markets fell after the decision,” the traders said on Tuesday.\r\n\r\n"
        "The opposition accused the minister of paying the duck of the crisis.\r\n"
    )
    assert os.stat(story).st_mode & 0o777 == mode
    # The report and the exit status are those of the fixed file: the idiom is left.
    (doc,) = res.json()["documents"]
    assert [f["code"] for f in doc["findings"]] == ["MT101"]
    assert res.code == 1 and "fixed 2 findings in 1 file" in res.err
    res = cli("scan", "story.txt", "--mt", "off", "--fix", "--unsafe-fixes")
    assert res.code == 0 and "taking the rap" in story.read_text()


def test_fix_markdown_and_html_through_the_source_map(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    md = tmp_path / "story.md"
    md.write_text("---\ntags: [x]\n---\n\n# Talks\n\nThe *talks* failed , ”the union said.\n")
    page = tmp_path / "page.html"
    page.write_text(
        "<html><body><article><h1>Port talks</h1>\n"
        "<p>The port operators &amp; the union met on Monday to discuss wages and shifts.</p>\n"
        "<p>Talks failed , ”the <b>union</b> said.</p></article></body></html>\n"
    )
    res = cli("scan", "story.md", "page.html", "--mt", "off", "--select", "MT4", "--fix")
    assert res.code == 0, res.out + res.err
    assert md.read_text().endswith("The *talks* failed,” the union said.\n")
    assert md.read_text().startswith("---\ntags: [x]\n---\n")
    assert "<p>Talks failed,” the <b>union</b> said.</p>" in page.read_text()
    assert "&amp; the union" in page.read_text()


def test_fix_never_touches_a_file_changed_since_it_was_read(tmp_path):
    from mtaudit import fix
    from mtaudit.ingest import iter_inputs
    from mtaudit.pipeline import AuditOptions, Auditor

    story = tmp_path / "story.txt"
    story.write_text(STORY)
    (doc,) = iter_inputs([str(story)])
    with Auditor(AuditOptions(mt=None)) as auditor:
        plan = fix.plan(auditor.audit(doc))
    assert plan is not None and plan.changed
    story.write_text(STORY + "An editor's new paragraph.\n")
    with pytest.raises(fix.FixError, match="changed since it was scanned"):
        fix.write(plan, doc)
    assert story.read_text().endswith("An editor's new paragraph.\n")
    assert [p.name for p in tmp_path.iterdir()] == ["story.txt"]  # no temp file left


def test_safe_and_unsafe_suggestions():
    from mtaudit import fix
    from mtaudit.model import Finding

    def finding(code, category, suggestion, **evidence):
        return Finding(code, category, 0, 3, "abc", "m", suggestion, evidence=evidence)

    assert fix.is_safe(finding("MT401", "punctuation", "” "))
    assert fix.is_safe(finding("MT501", "boilerplate", ""))
    assert not fix.is_safe(finding("MT501", "boilerplate", None))
    assert not fix.is_safe(finding("MT201", "calque", "Spain (or Portugal)"))
    assert not fix.is_safe(finding("MT101", "idiom", "take the rap"))
    assert fix.is_safe(finding("MT101", "idiom", "take the rap", safe_fix=True))
    assert not fix.is_safe(finding("MT601", "fluency", "Rewrite this sentence"))


def test_fix_refuses_other_inputs(cli, tmp_path):
    feed = tmp_path / "feed.jsonl"
    feed.write_text('{"text": "It failed , ”he said."}\n')
    before = feed.read_text()
    res = cli("scan", feed, "--mt", "off", "--fix")
    assert feed.read_text() == before and "fixed 0 findings in 0 files" in res.err
    assert cli("scan", feed, "--fix", "--diff").code == 2
    assert cli("scan", feed, "--unsafe-fixes").code == 2


# ---------------------------------------------------------------- item: progress


class _Screen(io.StringIO):
    """A terminal stand-in (isatty) that records what was on it when text arrived."""

    def isatty(self) -> bool:
        return True


def test_progress_has_a_total_uses_one_stderr_console_and_leaves_the_report_alone(
    tmp_path, monkeypatch
):
    from mtaudit import cli as cli_module
    from mtaudit import scan_run

    for i in range(7):
        (tmp_path / f"s{i}.txt").write_text(STORY)
    (tmp_path / "bad.txt").write_bytes(b"\x00\x01\x02binary" * 50)
    bars: list = []
    live_during_report: list[bool] = []
    real = scan_run.Progress

    class Recording(real):
        def advance(self) -> None:
            super().advance()
            if self._bar is not None and self._bar not in bars:
                bars.append(self._bar)

    class Stdout(_Screen):
        def write(self, text: str) -> int:
            live_during_report.append(any(b.live.is_started for b in bars))
            return super().write(text)

    stderr, stdout = _Screen(), Stdout()
    monkeypatch.setattr(scan_run, "Progress", Recording)
    monkeypatch.setattr("sys.stderr", stderr)
    monkeypatch.setattr("sys.stdout", stdout)
    code = cli_module.main(["scan", str(tmp_path), "--mt", "off", "--select", "MT4"])
    assert code == 2  # the binary file
    assert bars, "no progress bar was shown"
    (task,) = bars[0].tasks
    assert task.total == 8  # files counted before the scan
    # Every bar drew on the run's stderr console, never on the report's stream.
    assert all(b.console.file is stderr for b in bars)
    assert "scanning" not in stdout.getvalue()
    # While report text was written, no bar was live on the screen.
    assert live_during_report and not any(live_during_report)
    assert "bad.txt" in stderr.getvalue()


def test_count_inputs():
    from mtaudit.ingest import count_inputs

    root = os.path.join(os.path.dirname(__file__), "..", "corpora")
    files = [os.path.join(root, f) for f in os.listdir(root) if not f.endswith(".jsonl")]
    assert count_inputs(files) == len(files) == 7
    assert count_inputs([root]) is None  # wire-feed.jsonl: one document a line
    assert count_inputs([files[0], "-"]) is None
    assert json.dumps(count_inputs([])) == "0"


# ---------------------------------------------------------------- item: review


@pytest.fixture
def review_report(baselined, tmp_path):
    """A saved report: two baselined findings (MT101, MT401/MT403) and two new ones."""
    res = baselined("-f", "json", "-o", "report.json", "--select", "MT1,MT4")
    assert res.code in (0, 1)
    return tmp_path / "report.json"


def _decisions(path):
    return {d["code"]: d for d in json.loads(path.read_text())["decisions"].values()}


def test_review_single_keys_help_undo_and_baselined_findings(review_report, tmp_path):
    from rich.console import Console

    from mtaudit import review
    from mtaudit.report.reader import load_report

    # help; accept the first; undo that; dismiss the first instead; a bad key; accept.
    keys = iter("?aud" + "xa")
    console = Console(file=io.StringIO(), width=200)
    decisions = review.Decisions.load(tmp_path / "d.json")
    saved = load_report(str(review_report))
    result = review.review(saved.documents, decisions, console, read_key=lambda: next(keys))
    out = console.file.getvalue()
    # Baselined findings are not asked about; the count says so.
    assert result.baselined == 3 and "3 baselined finding(s) skipped" in out
    assert "[2/2]" in out and "[3/" not in out
    # ? explains what each decision changes.
    assert "later scans drop it from every report and from the gate" in out
    assert "later scans show it instead of the detector's suggestion" in out
    assert "later scans keep reporting it" in out
    # The undo took back the accept of the first finding, which was then dismissed; the
    # bad key was refused.
    assert "undid 'accept' of MT403" in out and "'x' is not a key here" in out
    assert {code: d["decision"] for code, d in _decisions(tmp_path / "d.json").items()} == {
        "MT403": "dismiss",
        "MT401": "accept",
    }
    assert result.decided == {"accept": 1, "dismiss": 1, "edit": 0}


def test_review_reads_single_keys_from_a_terminal(review_report, tmp_path):
    """In a pseudo-terminal: keys act without Enter."""
    import pty
    import select
    import sys
    import termios

    primary, secondary = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mtaudit", "review", str(review_report), "--decisions", "d.json"],
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        cwd=tmp_path,
        env=dict(os.environ, COLUMNS="200", TERM="dumb"),
    )
    os.close(secondary)
    seen = b""

    def wait_for(marker: bytes, count: int) -> None:
        nonlocal seen
        while seen.count(marker) < count:
            ready, _, _ = select.select([primary], [], [], 60)
            if not ready:
                raise AssertionError(f"no {marker!r} in {seen.decode(errors='replace')}")
            try:
                chunk = os.read(primary, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk

    def wait_for_raw_mode() -> None:
        """Until review reads a key: the terminal leaves line mode (no Enter needed)."""
        for _ in range(6000):
            if not termios.tcgetattr(primary)[3] & termios.ICANON:
                return
            select.select([], [], [], 0.01)
        raise AssertionError("the terminal never left line mode")

    try:
        for n, key in enumerate(b"?dq", start=1):
            wait_for(b"[q]uit", n)  # the menu was drawn: now one key, no Enter
            wait_for_raw_mode()
            os.write(primary, bytes([key]))
        assert proc.wait(timeout=60) == 0
        wait_for(b"decisions in", 1)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(primary)
    text = seen.decode(errors="replace")
    assert "later scans drop it" in text  # the help
    assert {c: d["decision"] for c, d in _decisions(tmp_path / "d.json").items()} == {
        "MT403": "dismiss"
    }
