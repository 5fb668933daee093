"""End to end: a newsroom repository with config, baseline, suppression and hooks.

The newsroom has an archive of machine-translated stories (known: in the baseline), human
news, a column that quotes machine translation on purpose (an inline suppression) and a
desk config of its own. Then a new machine-translated story arrives: it alone must fail
the gate, and the SARIF report must say so.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from conftest import CORPORA, ROOT

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")

SARIF_SCHEMA = json.loads((ROOT / "tests" / "data" / "sarif-2.1.0.schema.json").read_text())

# Spanish written for this test, run once through `apertium -u spa-eng` (3.8): the idioms
# "pagar el pato", "dar gato por liebre" and "meter la pata" come out word for word.
NEW_STORY = """\
The City council approves the rise of the public transport

The plenary of the City council approved this Tuesday a rise of the twenty percent in the \
price of the banknote of bus, after months of negotiations with the company dealer. The \
neighbours, that spend years paying the duck of the bad management, accused to the mayor to \
give cat by hare with his promises.

The alderman of Mobility recognised that the measure is not popular, but ensured that there \
was not another start. According to near sources to the file, the company loomed with \
reducing the lines if they did not update  the prices. The opposition considers that the \
municipal government has dipped the leg and that the elections are just around the corner.

The associations of consumers announced that they will resort the decision in the courts. \
The experts warn that, if it does not improve  the service, a lot of users will go back to \
the private car.
"""

COLUMN = """\
# When the machine writes the news

*By the readers' editor*

Last week a reader sent us a sentence that a content farm had published under a headline \
lifted from this newspaper:

<!-- mtaudit: ignore -->
> The experts warn that, if it does not rain before the summer, it will be necessary to \
throw the house by the window to bring water in ship.

Nobody here wrote that sentence. It is what happens when a Spanish wire story is pushed \
through a translation engine and posted without an editor: the idiom "tirar la casa por la \
ventana", to spare no expense, comes out word for word.

We check every story before it goes online, and we have started running an automated audit \
on our own copy as well. Readers who spot a sentence that sounds translated can write to \
the desk at any time.
"""

CONFIG = """\
# The newsroom's pre-publish gate.
fail_on = "warning"
mt = "dictionary"
baseline = ".mtaudit/baseline.json"

[severity]
MT6 = "info"
"""

DESK_CONFIG = """\
# Columns quote bad copy on purpose: only errors block them.
fail_on = "error"
"""


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=desk@example.org", "-c", "user.name=Desk", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def _mtaudit(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, XDG_CONFIG_HOME=str(cwd / ".no-user-config"))
    return subprocess.run(
        [sys.executable, "-m", "mtaudit", "scan", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def newsroom(tmp_path: Path) -> Path:
    root = tmp_path / "newsroom"
    (root / "archive").mkdir(parents=True)
    (root / "news").mkdir()
    (root / "opinion").mkdir()
    for name in ("mt-drought-catalonia.txt", "mt-mayoral-debate.md", "mt-housing-law.html"):
        shutil.copy(CORPORA / name, root / "archive" / name)
    for name in ("clean-council-budget.txt", "clean-port-strike.md", "clean-library-reopens.html"):
        shutil.copy(CORPORA / name, root / "news" / name)
    (root / "opinion" / "readers-editor.md").write_text(COLUMN, encoding="utf-8")
    (root / "opinion" / "mtaudit.toml").write_text(DESK_CONFIG, encoding="utf-8")
    (root / "mtaudit.toml").write_text(CONFIG, encoding="utf-8")
    _git(root, "init", "-q")
    _git(root, "add", ".")
    _git(root, "commit", "-q", "-m", "archive")
    return root


def test_only_the_new_machine_translated_story_fails(newsroom: Path):
    cwd = newsroom.parent
    # The archive is known: record it, commit the baseline, and the gate passes.
    proc = _mtaudit(cwd, "newsroom", "-q", "--write-baseline", "newsroom/.mtaudit/baseline.json")
    assert proc.returncode == 0, proc.stderr
    baseline = json.loads((newsroom / ".mtaudit" / "baseline.json").read_text())
    assert baseline["schema"] == "mtaudit/baseline-v1" and baseline["findings"]
    _git(newsroom, "add", ".mtaudit/baseline.json")
    _git(newsroom, "commit", "-q", "-m", "baseline")
    proc = _mtaudit(cwd, "newsroom", "-q")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "unused suppression" not in proc.stderr  # the column's ignore is doing its job

    # Without its suppression, the column's quoted sentence would fail (an MT101 error).
    column = newsroom / "opinion" / "readers-editor.md"
    column.write_text(COLUMN.replace("<!-- mtaudit: ignore -->\n", ""), encoding="utf-8")
    assert _mtaudit(cwd, "newsroom/opinion", "-q").returncode == 1
    column.write_text(COLUMN, encoding="utf-8")

    # A new machine-translated story arrives.
    (newsroom / "news" / "bus-fares.txt").write_text(NEW_STORY, encoding="utf-8")
    proc = _mtaudit(
        cwd, "newsroom", "--format", "sarif", "--output", "x.sarif", "--report", "json=x.json"
    )
    assert proc.returncode == 1, proc.stderr
    sarif = json.loads((cwd / "x.sarif").read_text())
    jsonschema.Draft7Validator(SARIF_SCHEMA).validate(sarif)
    run = sarif["runs"][0]
    new_uri = "newsroom/news/bus-fares.txt"
    failing = [d["path"] for d in run["properties"]["documents"] if d["failed"]]
    assert failing == [new_uri]
    assert len(run["properties"]["documents"]) == 8

    def uri(result: dict) -> str:
        return result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]

    new_rules = {r["ruleId"] for r in run["results"] if uri(r) == new_uri}
    assert "MT101" in new_rules  # "paying the duck", "give cat by hare", "dipped the leg"
    # The column's quoted sentence is suppressed: no result points into it.
    assert not [r for r in run["results"] if uri(r).endswith("readers-editor.md")]

    # Among results that could fail the gate (warning or error), only the new story's are
    # not in the baseline.
    report = json.loads((cwd / "x.json").read_text())
    known = {
        (d["path"], f["code"], f["line"], f["column"])
        for d in report["documents"]
        for f in d["findings"]
        if f.get("baselined")
    }
    unknown_failing = {
        uri(r)
        for r in run["results"]
        if r["level"] in ("warning", "error")
        and (
            uri(r),
            r["ruleId"],
            r["locations"][0]["physicalLocation"]["region"]["startLine"],
            r["locations"][0]["physicalLocation"]["region"]["startColumn"],
        )
        not in known
    }
    assert unknown_failing == {new_uri}

    # The pre-commit view: only what changed since the last commit is audited.
    proc = _mtaudit(cwd, "newsroom", "-f", "json", "-q", "--changed-since", "HEAD")
    assert proc.returncode == 1, proc.stderr
    assert [d["path"] for d in json.loads(proc.stdout)["documents"]] == [new_uri]
    proc = _mtaudit(cwd, "newsroom", "-q", "--changed-since", "no-such-rev")
    assert proc.returncode == 2 and "unknown revision" in proc.stderr


def test_changed_since_keeps_only_changed_paragraphs(newsroom: Path):
    cwd = newsroom.parent
    story = newsroom / "archive" / "mt-drought-catalonia.txt"
    story.write_text(story.read_text(encoding="utf-8") + "\nThe talks failed, ”said the aide.\n")
    debate = newsroom / "archive" / "mt-mayoral-debate.md"
    lines = debate.read_text(encoding="utf-8").splitlines(keepends=True)
    # Markdown: a changed line inside the second paragraph (mapped through the source map).
    at = next(i for i, ln in enumerate(lines) if ln.startswith("Sources of the party"))
    lines[at] = lines[at].replace("Sources of the party", "Sources of the Party")
    debate.write_text("".join(lines), encoding="utf-8")
    proc = _mtaudit(cwd, "newsroom", "-f", "json", "-q", "--changed-since", "HEAD", "--isolated")
    docs = {Path(d["path"]).name: d for d in json.loads(proc.stdout)["documents"]}
    assert sorted(docs) == ["mt-drought-catalonia.txt", "mt-mayoral-debate.md"]
    # The archive's old idioms are in unchanged paragraphs: only the new line's finding.
    drought = docs["mt-drought-catalonia.txt"]["findings"]
    assert [(f["code"], f["text"]) for f in drought] == [("MT401", " ”")]
    debate_lines = {f["line"] for f in docs["mt-mayoral-debate.md"]["findings"]}
    assert debate_lines == {at + 1}
    # Not a repository: a clear usage error.
    outside = cwd / "loose"
    outside.mkdir()
    (outside / "a.txt").write_text("Fine.\n")
    proc = _mtaudit(cwd, "loose", "--changed-since", "HEAD")
    assert proc.returncode == 2 and "not in a git repository" in proc.stderr


def test_parse_diff_line_ranges():
    from mtaudit.changed import parse_diff

    diff = """\
diff --git a/news/a.md b/news/a.md
--- a/news/a.md
+++ b/news/a.md
@@ -3 +3 @@ title
-old
+new
@@ -10,2 +10,3 @@
@@ -20,4 +22,0 @@
diff --git a/gone.txt b/gone.txt
--- a/gone.txt
+++ /dev/null
@@ -1,2 +0,0 @@
diff --git "a/caf\303\251.txt" "b/caf\303\251.txt"
--- "a/caf\303\251.txt"
+++ "b/caf\303\251.txt"
@@ -1 +1,2 @@
"""
    assert parse_diff(diff) == {"news/a.md": {3, 10, 11, 12, 22, 23}, "café.txt": {1, 2}}


# ---------------------------------------------------------------- pre-commit hook


def test_pre_commit_hook_manifest():
    import yaml
    from identify.identify import ALL_TAGS

    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "mtaudit" and hook["language"] == "python"
    assert hook["entry"].startswith("mtaudit scan") and hook["pass_filenames"] is True
    assert set(hook["types_or"]) == {"markdown", "html", "plain-text"} <= ALL_TAGS


@pytest.mark.slow
def test_pre_commit_try_repo(tmp_path: Path):
    """``pre-commit try-repo`` installs the hook and runs it on a repository's articles."""
    if importlib_util_missing("pre_commit"):
        pytest.skip("pre-commit is not installed")
    hook_repo = tmp_path / "mtaudit-repo"
    shutil.copytree(
        ROOT / "mtaudit", hook_repo / "mtaudit", ignore=shutil.ignore_patterns("__pycache__")
    )
    for name in ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml"):
        shutil.copy(ROOT / name, hook_repo / name)
    _git(hook_repo, "init", "-q")
    _git(hook_repo, "add", ".")
    _git(hook_repo, "commit", "-q", "-m", "hook")

    site = tmp_path / "site"
    site.mkdir()
    (site / "story.txt").write_text("It is excluded, ”said the envoy on Tuesday.\n")
    (site / "tool.py").write_text("print('not an article')  # ”said\n")
    (site / "mtaudit.toml").write_text('fail_on = "warning"\nmt = "off"\n')
    _git(site, "init", "-q")
    _git(site, "add", ".")
    env = dict(
        os.environ,
        PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"),
        XDG_CONFIG_HOME=str(tmp_path / "xdg"),
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pre_commit",
            "try-repo",
            str(hook_repo),
            "mtaudit",
            "--verbose",
            "--all-files",
        ],
        cwd=site,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    out = proc.stdout + proc.stderr
    if "An unexpected error has occurred" in out or "An error has occurred" in out:
        pytest.skip(f"pre-commit could not install the hook here:\n{out[-2000:]}")
    assert proc.returncode == 1, out  # the hook failed: MT401 is a warning here
    assert "story.txt" in out and "MT401" in out
    assert "tool.py" not in out


def importlib_util_missing(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is None


# ---------------------------------------------------------------- the editorial workflow

FRONT_MATTER_ARTICLE = """\
---
title: "Council approves the bus fare rise"
tags: [politics, transport]
related: "Read more: city budget"
---

# Council approves the bus fare rise

{{< figure src="/img/bus.jpg" caption="A city bus" >}}

The council approved a twenty percent rise in bus fares on Tuesday, after months of talks
with the operator.

Residents, who have been paying the duck of the bad management for years, say the rise is
too steep , ”a spokeswoman for the residents' association said.
"""

HTML_ARTICLE = """\
<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Port talks | City News</title></head>
<body>
<nav><a href="/">Home</a> <a href="/city">City</a></nav>
<article>
  <h1>Port talks resume</h1>
  <p>The port operators and the dockers&#8217; union met again on Monday to discuss the
     new contract, which covers wages, shifts and pensions.</p>
  <p>Negotiators said both sides hoped for an agreement before the holidays , ”the
     mediator told reporters.</p>
</article>
<footer>Copyright 2026 City News</footer>
</body></html>
"""


def _hook(repo: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """Run the hook as pre-commit would: its entry and args, then the staged articles
    that match its types (Markdown, HTML, .txt), in the repository's root."""
    import shlex

    import yaml

    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    staged = subprocess.run(
        ["git", "diff", "--cached", "--name-only", "--diff-filter=ACMR"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    files = [f for f in staged if f.endswith((".md", ".markdown", ".html", ".htm", ".txt"))]
    entry = shlex.split(hook["entry"])
    assert entry[:2] == ["mtaudit", "scan"]
    env = dict(os.environ, XDG_CONFIG_HOME=str(repo / ".no-user-config"))
    return subprocess.run(
        [sys.executable, "-m", "mtaudit", *entry[1:], *extra, *files],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _line_of(text: str, needle: str) -> tuple[int, int]:
    at = text.index(needle)
    return text.count("\n", 0, at) + 1, at - (text.rfind("\n", 0, at) + 1) + 1


def test_newsroom_hook_fix_baseline_and_source_locations(tmp_path: Path):
    repo = tmp_path / "site"
    (repo / "content" / "city").mkdir(parents=True)
    (repo / "content" / "drafts").mkdir()
    (repo / "mtaudit.toml").write_text(
        'fail_on = "warning"\nmt = "dictionary"\n[severity]\nMT6 = "info"\n'
    )
    (repo / ".gitignore").write_text("content/drafts/\n")
    (repo / "content" / "drafts" / "wip.md").write_text("It failed , ”he said.\n")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "site")

    article = repo / "content" / "city" / "bus-fares.md"
    page = repo / "content" / "city" / "port-talks.html"
    article.write_text(FRONT_MATTER_ARTICLE, encoding="utf-8")
    page.write_text(HTML_ARTICLE, encoding="utf-8")
    _git(repo, "add", ".")

    # 1. pre-commit blocks the bad articles, one concise line per finding.
    proc = _hook(repo)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    md_idiom = _line_of(FRONT_MATTER_ARTICLE, "paying the duck")
    assert any(
        ln.startswith(f"content/city/bus-fares.md:{md_idiom[0]}:{md_idiom[1]}: MT101 ")
        for ln in lines
    ), lines
    html_quote = _line_of(HTML_ARTICLE, " ”the")
    assert f"content/city/port-talks.html:{html_quote[0]}:{html_quote[1]}: MT401 " in proc.stdout
    # Front matter and shortcodes are not prose: nothing flagged in them.
    assert not [ln for ln in lines if re.match(r"content/city/bus-fares\.md:[1-9]:", ln)]

    # 2. SARIF and github annotations point at the source lines, HTML included.
    sarif_path, github_path = tmp_path / "x.sarif", tmp_path / "gh.log"  # outside the repo
    proc = _mtaudit(
        repo, "content", "-f", "sarif", "-o", str(sarif_path), "--report", f"github={github_path}"
    )
    assert proc.returncode == 1, proc.stderr
    sarif = json.loads(sarif_path.read_text())
    jsonschema.Draft7Validator(SARIF_SCHEMA).validate(sarif)
    regions = {
        (
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            r["ruleId"],
        ): r["locations"][0]["physicalLocation"]["region"]
        for r in sarif["runs"][0]["results"]
    }
    md = regions[("content/city/bus-fares.md", "MT101")]
    assert (md["startLine"], md["startColumn"]) == md_idiom
    html = regions[("content/city/port-talks.html", "MT401")]
    assert (html["startLine"], html["startColumn"]) == html_quote
    assert not any("drafts" in uri for uri, _ in regions)  # .gitignore'd
    github = github_path.read_text()
    assert (
        f"::warning file=content/city/port-talks.html,line={html_quote[0]},col={html_quote[1]},"
        in github
    )
    assert f"file=content/city/bus-fares.md,line={md_idiom[0]},col={md_idiom[1]}," in github

    # 3. --fix repairs what it can: punctuation safely, the idiom with --unsafe-fixes.
    proc = _mtaudit(repo, "content", "-q", "--fix")
    assert "fixed" in proc.stderr and proc.returncode == 1  # the idiom is still there
    assert "too steep,” a spokeswoman" in article.read_text()
    assert "holidays,” the\n     mediator" in page.read_text()
    assert "paying the duck" in article.read_text()
    proc = _mtaudit(repo, "content", "-q", "--fix", "--unsafe-fixes", "-f", "concise")
    assert "paying the duck" not in article.read_text()
    assert article.read_text().startswith(FRONT_MATTER_ARTICLE[:120])  # front matter kept
    assert "MT101" not in proc.stdout

    # 4. What is left is known: a baseline makes the run (and the hook) pass.
    proc = _mtaudit(repo, "content", "-q", "--write-baseline", ".mtaudit/baseline.json")
    assert proc.returncode == 0, proc.stderr
    config = repo / "mtaudit.toml"
    config.write_text('baseline = ".mtaudit/baseline.json"\n' + config.read_text())
    _git(repo, "add", ".")
    proc = _hook(repo)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = _mtaudit(repo, "content", "-f", "github")
    assert proc.returncode == 0
    assert not [ln for ln in proc.stdout.splitlines() if ln.startswith(("::error", "::warning"))]
