"""Configuration files: discovery and layering, per-file overrides, severities, errors."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from conftest import SCHEMA

from mtaudit.config import ConfigError, ConfigResolver, Layer, load_config, merge, parse_file
from mtaudit.detectors import Selection
from mtaudit.model import ExitCode

VALIDATOR = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))

GLUED = "The talks failed, the minister said. It is excluded, ”said the envoy.\n"  # MT401 warning
STRAY = "The plan was approved after a long debate. , according to the minutes.\n"  # MT402
SPANISH = "The government approved the ley de presupuestos on Tuesday.\n"  # MT302 error
CREDIT = "Officials met on Monday to discuss the budget.\n\nBrought to you by Example Wire\n"


@pytest.fixture(autouse=True)
def _no_user_config(tmp_path_factory, monkeypatch):
    """The user's own ~/.config/mtaudit never leaks into these tests."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("xdg")))


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def scan(cli):
    """``mtaudit scan ... -f json`` without back-translation (fast); returns (code, report)."""

    def run(*args):
        res = cli("scan", *args, "--mt", "off", "-q", "-f", "json")
        report = json.loads(res.out) if res.out.strip() else None
        if report is not None:
            VALIDATOR.validate(report)
        res.report = report
        return res

    return run


def findings(report: dict) -> dict[str, list[tuple[str, str]]]:
    """document file name -> [(code, severity)]."""
    return {
        Path(d["id"]).name: [(f["code"], f["severity"]) for f in d["findings"]]
        for d in report["documents"]
    }


def failed(report: dict) -> set[str]:
    return {Path(d["id"]).name for d in report["documents"] if d["failed"]}


# ---------------------------------------------------------------- layering


def test_layers_apply_user_then_project_root_to_folder_then_explicit_then_flags(
    tmp_path, monkeypatch
):
    xdg = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg))
    write(
        xdg / "mtaudit" / "config.toml",
        'fail_on = "info"\nmin_confidence = 0.1\nmt = "dictionary"\n[severity]\nMT401 = "info"\n',
    )
    # Above the project root: never read (the walk stops at the folder holding .git).
    write(tmp_path / "mtaudit.toml", 'lm = "transformers"\n')
    proj = tmp_path / "proj"
    (proj / ".git").mkdir(parents=True)
    write(
        proj / "mtaudit.toml",
        'fail_on = "warning"\nmin_confidence = 0.2\n[severity]\nMT403 = "error"\n',
    )
    write(proj / "desk" / "mtaudit.toml", 'fail_on = "error"\nfail_above = 0.9\n')
    explicit = write(tmp_path / "ci.toml", "min_confidence = 0.3\n")
    resolver = ConfigResolver(explicit, {"fail_above": 0.95})

    desk = resolver.for_file(proj / "desk" / "a.txt")
    assert desk.fail_on == "error"  # the desk's own file beats the project root and the user
    assert desk.min_confidence == 0.3  # --config beats every discovered file
    assert desk.fail_above == 0.95  # flags beat everything
    assert desk.mt == "dictionary" and desk.lm == "ngram"  # user file read, tmp_path's not
    assert dict(desk.severity) == {"MT401": "info", "MT403": "error"}  # tables merge
    assert [Path(s.split("[")[0]).name for s in desk.sources] == [
        "config.toml",
        "mtaudit.toml",
        "mtaudit.toml",
        "ci.toml",
        "command line",
    ]
    top = resolver.for_file(proj / "a.txt")
    assert top.fail_on == "warning" and top.min_confidence == 0.3
    # Files of one folder share one Config object: resolving is a cache hit.
    assert resolver.for_file(proj / "desk" / "b.txt") is desk


def test_flags_and_explicit_config_beat_project_files(scan, tmp_path, monkeypatch):
    (tmp_path / ".git").mkdir()
    write(tmp_path / "mtaudit.toml", 'fail_on = "warning"\n')
    write(tmp_path / "news" / "glued.txt", GLUED)
    monkeypatch.chdir(tmp_path)
    assert scan("news").code == ExitCode.FINDINGS  # the project's fail_on = warning
    assert scan("news", "--fail-on", "error").code == ExitCode.OK
    write(tmp_path / "ci.toml", 'fail_on = "error"\n')
    assert scan("news", "--config", "ci.toml").code == ExitCode.OK
    assert scan("news", "--isolated").code == ExitCode.OK  # project file ignored
    assert scan("news", "--isolated", "--config", "mtaudit.toml").code == ExitCode.FINDINGS


def test_pyproject_tool_table_and_dashed_keys(scan, tmp_path, monkeypatch):
    write(tmp_path / "glued.txt", GLUED)
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "pyproject.toml", '[project]\nname = "site"\n')
    assert scan("glued.txt").code == ExitCode.OK  # a pyproject.toml without our table
    write(
        tmp_path / "pyproject.toml",
        '[project]\nname = "site"\n\n[tool.mtaudit]\nfail-on = "warning"\n',
    )
    assert scan("glued.txt").code == ExitCode.FINDINGS
    # mtaudit.toml takes precedence over pyproject.toml in the same folder.
    write(tmp_path / "mtaudit.toml", 'fail_on = "error"\n')
    assert scan("glued.txt").code == ExitCode.OK


def test_back_translate_categories_from_a_file_and_the_flag(tmp_path):
    """`back_translate` reaches the engine (its signature says so); a flag beats the file;
    an unknown category is a config error naming the file and line."""
    from mtaudit.options import options_from_config
    from mtaudit.pipeline import make_backtranslator

    write(tmp_path / "mtaudit.toml", 'mt = "dictionary"\nback_translate = ["Fluency", "idiom"]\n')
    config = ConfigResolver().for_file(tmp_path / "a.txt")
    assert config.back_translate == ("fluency", "idiom")
    engine = make_backtranslator(options_from_config(config))
    try:
        assert engine.signature.endswith("+categories:fluency,idiom")
        assert engine.categories == {"fluency", "idiom"}
    finally:
        engine.close()
    flagged = ConfigResolver(cli={"back_translate": ["calque"]}).for_file(tmp_path / "a.txt")
    assert flagged.back_translate == ("calque",)
    assert ConfigResolver(isolated=True).for_file(tmp_path / "a.txt").back_translate is None
    write(tmp_path / "bad" / "mtaudit.toml", 'back_translate = ["idioms"]\n')
    with pytest.raises(ConfigError, match=r"mtaudit.toml:1: .*cannot back-translate 'idioms'"):
        ConfigResolver().for_file(tmp_path / "bad" / "a.txt")


def test_root_true_stops_the_walk(tmp_path):
    write(tmp_path / "mtaudit.toml", 'fail_on = "info"\n')
    write(tmp_path / "site" / "mtaudit.toml", "root = true\nmin_confidence = 0.5\n")
    write(tmp_path / "site" / "desk" / "mtaudit.toml", 'lm = "ngram"\n')
    config = ConfigResolver().for_file(tmp_path / "site" / "desk" / "a.md")
    assert config.fail_on == "error" and config.min_confidence == 0.5


def test_user_config_alone(scan, tmp_path, monkeypatch):
    xdg = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg))
    write(xdg / "mtaudit" / "config.toml", 'fail_on = "warning"\n')
    (tmp_path / "work" / ".git").mkdir(parents=True)
    write(tmp_path / "work" / "glued.txt", GLUED)
    monkeypatch.chdir(tmp_path / "work")
    assert scan("glued.txt").code == ExitCode.FINDINGS
    assert scan("glued.txt", "--isolated").code == ExitCode.OK


# ---------------------------------------------------------------- selection


def _selection(*layers: dict) -> Selection:
    config = merge(Layer(f"layer{i}", values) for i, values in enumerate(layers))
    return Selection.build(config.select, config.ignore)


def test_selection_layers_like_ruff():
    # A nearer select starts over...
    sel = _selection({"ignore": ("MT4",)}, {"select": ("MT401",)})
    assert sel.enabled("MT401") and not sel.enabled("MT402") and not sel.enabled("MT101")
    # ... a nearer ignore subtracts from what it inherits ...
    sel = _selection({"select": ("MT1", "MT2")}, {"ignore": ("MT2",)})
    assert sel.enabled("MT101") and not sel.enabled("MT201") and not sel.enabled("MT401")
    # ... and inside one layer the most specific entry wins.
    sel = _selection({"ignore": ("MT6",)}, {"select": ("MT4",), "ignore": ("MT40",)})
    assert not sel.enabled("MT401") and not sel.enabled("MT601") and not sel.enabled("MT101")
    sel = _selection({"ignore": ("MT4",)}, {"ignore": ()})
    assert not sel.enabled("MT401") and sel.enabled("MT101")
    sel = _selection({"select": ()})
    assert not any(sel.enabled(c) for c in ("MT101", "MT401", "MT601"))


def test_select_and_ignore_from_config_and_flags(scan, tmp_path, monkeypatch):
    write(tmp_path / "mtaudit.toml", 'ignore = ["punctuation"]\n')
    write(tmp_path / "glued.txt", GLUED)
    monkeypatch.chdir(tmp_path)
    assert findings(scan("glued.txt").report) == {"glued.txt": []}
    # The command line is the nearest layer: its select starts over.
    assert findings(scan("glued.txt", "--select", "MT401").report) == {
        "glued.txt": [("MT401", "warning")]
    }


# ---------------------------------------------------------------- per-file overrides


def test_per_file_overrides_by_glob(scan, tmp_path, monkeypatch):
    (tmp_path / ".git").mkdir()
    write(
        tmp_path / "mtaudit.toml",
        """fail_on = "warning"

[[overrides]]
files = ["wire/*.txt"]
ignore = ["punctuation"]

[per-file."opinion/*.md"]
severity = { MT401 = "info" }
""",
    )
    for name in ("news/a.txt", "news/b.txt", "wire/c.txt", "opinion/d.md"):
        write(tmp_path / name, GLUED)
    write(tmp_path / "wire" / "e.md", GLUED)  # the wire glob is for .txt only
    monkeypatch.chdir(tmp_path)
    res = scan(".")
    assert res.code == ExitCode.FINDINGS
    assert findings(res.report) == {
        "a.txt": [("MT401", "warning")],
        "b.txt": [("MT401", "warning")],
        "c.txt": [],
        "d.md": [("MT401", "info")],
        "e.md": [("MT401", "warning")],
    }
    assert failed(res.report) == {"a.txt", "b.txt", "e.md"}


def test_one_auditor_per_distinct_config_sharing_resources(tmp_path, monkeypatch):
    from mtaudit.cli import build_parser
    from mtaudit.pipeline import scan
    from mtaudit.scan_cmd import _auditor_pool

    write(
        tmp_path / "mtaudit.toml",
        '[[overrides]]\nfiles = ["wire/*"]\nignore = ["MT4"]\n'
        '[[overrides]]\nfiles = ["opinion/*"]\nseverity = { MT401 = "error" }\n',
    )
    for i in range(6):
        write(tmp_path / "news" / f"{i}.txt", GLUED)
    write(tmp_path / "wire" / "w.txt", GLUED)
    write(tmp_path / "opinion" / "o.txt", GLUED)
    monkeypatch.chdir(tmp_path)
    args = build_parser().parse_args(["scan", ".", "--mt", "off", "--ignore", "fluency"])
    pool = _auditor_pool(args)
    try:
        reports = list(scan(["."], pool))
        assert len(reports) == 8
        assert len(pool.auditors) == 3  # root, root+wire, root+opinion
        # Same detector options: lexicons and models are loaded once for all three.
        assert len({id(a.context) for a in pool.auditors}) == 1
    finally:
        pool.close()


# ---------------------------------------------------------------- severities and gates


def test_per_code_severity_most_specific_wins(scan, tmp_path, monkeypatch):
    write(tmp_path / "mtaudit.toml", '[severity]\npunctuation = "error"\nMT401 = "info"\n')
    write(tmp_path / "glued.txt", GLUED)
    write(tmp_path / "stray.txt", STRAY)
    monkeypatch.chdir(tmp_path)
    res = scan(".")
    assert findings(res.report) == {
        "glued.txt": [("MT401", "info")],
        "stray.txt": [("MT402", "error")],
    }
    assert res.code == ExitCode.FINDINGS and failed(res.report) == {"stray.txt"}


def test_fail_above_and_min_confidence_from_config(scan, tmp_path, monkeypatch):
    write(tmp_path / "glued.txt", GLUED)
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "mtaudit.toml", "fail_above = 0.05\n")
    assert scan("glued.txt").code == ExitCode.FINDINGS
    assert scan("glued.txt", "--fail-above", "1").code == ExitCode.OK
    write(tmp_path / "mtaudit.toml", "min_confidence = 0.99\n")
    assert findings(scan("glued.txt").report) == {"glued.txt": []}


def test_lexicons_and_vocabulary_relative_to_the_config_file(scan, tmp_path, monkeypatch):
    proj = tmp_path / "site"
    write(
        proj / "data" / "wire.toml",
        """[meta]
kind = "boilerplate"
version = "1"
provenance = "test"

[[boilerplate]]
id = "example-wire"
code = "MT501"
pattern = '''^brought\\s+to\\s+you\\s+by\\s+example\\s+wire\\s*$'''
message = "Syndication credit of Example Wire."
provenance = "test"
""",
    )
    write(proj / "data" / "words.vocab", "# budget terms we keep in Spanish\nley de presupuestos\n")
    write(proj / "credit.txt", CREDIT)
    write(proj / "spanish.txt", SPANISH)
    monkeypatch.chdir(tmp_path)  # not the config's folder: paths are relative to the file
    before = findings(scan("site").report)
    assert before == {"credit.txt": [], "spanish.txt": [("MT302", "error")]}
    write(proj / "mtaudit.toml", 'lexicons = ["data/wire.toml"]\nvocabulary = "data/words.vocab"\n')
    after = findings(scan("site").report)
    assert after == {"credit.txt": [("MT501", "error")], "spanish.txt": []}


# ---------------------------------------------------------------- errors


ERRORS = [
    ("mtaudit.toml", 'fail_on = "warning"\nselect = ["MT4"\n', 2, "invalid TOML"),
    ("mtaudit.toml", 'fail_on = "warning"\n\n[severity\n', 3, "invalid TOML"),
    ("mtaudit.toml", 'select = ["MT4"]\n\nfrobnicate = true\n', 3, "unknown key 'frobnicate'"),
    ("mtaudit.toml", '# gate\nfail_above = "high"\n', 2, "fail_above: must be a number"),
    ("mtaudit.toml", "min_confidence = 1.5\n", 1, "between 0 and 1"),
    ("mtaudit.toml", 'select = "MT4"\n', 1, "must be a list"),
    ("mtaudit.toml", 'ignore = ["MT4", "MT987"]\n', 1, "unknown code 'MT987'"),
    ("mtaudit.toml", 'ignore = [\n  "idiom",\n  "idioms",\n]\n', 1, "'idioms'"),
    ("mtaudit.toml", '[severity]\nMT401 = "error"\nMT402 = "fatal"\n', 3, "unknown severity"),
    ("mtaudit.toml", 'fail_on = "loud"\n', 1, "unknown severity 'loud'"),
    ("mtaudit.toml", 'lexicons = ["nope.toml"]\n', 1, "no such lexicon file"),
    ("mtaudit.toml", 'mt = "babelfish"\n', 1, "mt: must be one of"),
    (
        "mtaudit.toml",
        '[[overrides]]\nfiles = ["*.md"]\n\n[[overrides]]\nfiles = ["*.txt"]\nfail_on = "loud"\n',
        6,
        "fail_on",
    ),
    ("mtaudit.toml", '[[overrides]]\nselect = ["MT4"]\n', 1, "needs files"),
    ("mtaudit.toml", '[[overrides]]\nfiles = ["*.md"]\nroot = true\n', 3, "unknown key 'root'"),
    ("mtaudit.toml", '[per-file."*.md"]\n\nselect = ["MT9"]\n', 3, "unknown code 'MT9'"),
    # Over Python's int-string limit: a ValueError inside tomllib, which gives no line.
    (
        "mtaudit.toml",
        '# gate\nfail_on = "error"\nfail_above = ' + "9" * 5000 + "\n",
        3,
        "5000 digits",
    ),
    ("mtaudit.toml", "[severity]\n\nMT401 = 1_" + "0" * 5000 + "\n", 3, "5001 digits"),
    (
        "pyproject.toml",
        '[project]\nname = "x"\n\n[tool.mtaudit]\nfail-on = "warning"\nlm = "gpt"\n',
        6,
        "lm: must be one of",
    ),
]


@pytest.mark.parametrize(("name", "text", "line", "message"), ERRORS)
def test_config_errors_name_file_and_line(scan, tmp_path, monkeypatch, name, text, line, message):
    write(tmp_path / name, text)
    write(tmp_path / "glued.txt", GLUED)
    monkeypatch.chdir(tmp_path)
    res = scan("glued.txt", "-o", "out.json")
    assert res.code == ExitCode.USAGE
    assert f"{name}:{line}: " in res.err and message in res.err, res.err
    assert res.err.startswith("mtaudit: error: ") and res.err.count("\n") == 1
    assert not (tmp_path / "out.json").exists()


def test_a_huge_integer_in_a_user_lexicon_names_the_file_and_line(scan, tmp_path, monkeypatch):
    write(tmp_path / "house.toml", '[meta]\nkind = "idiom"\n\nversion = ' + "1" * 5000 + "\n")
    write(tmp_path / "mtaudit.toml", 'lexicons = ["house.toml"]\n')
    write(tmp_path / "glued.txt", GLUED)
    monkeypatch.chdir(tmp_path)
    res = scan("glued.txt")
    assert res.code == ExitCode.USAGE
    assert "house.toml:4: invalid TOML: an integer of 5000 digits" in res.err, res.err
    assert res.err.count("\n") == 1


def test_config_error_in_a_subfolder_stops_the_scan_before_any_report(scan, tmp_path, monkeypatch):
    (tmp_path / ".git").mkdir()
    write(tmp_path / "a" / "glued.txt", GLUED)
    write(tmp_path / "z" / "deep" / "mtaudit.toml", "fail_on = 3\n")
    write(tmp_path / "z" / "deep" / "glued.txt", GLUED)
    monkeypatch.chdir(tmp_path)
    res = scan(".", "-o", "out.json")
    assert res.code == ExitCode.USAGE
    assert "z/deep/mtaudit.toml:1: fail_on" in res.err
    assert not (tmp_path / "out.json").exists()


def test_missing_explicit_config_and_bad_flag_values(scan, tmp_path, monkeypatch):
    write(tmp_path / "glued.txt", GLUED)
    monkeypatch.chdir(tmp_path)
    res = scan("glued.txt", "--config", "nope.toml")
    assert res.code == ExitCode.USAGE and "nope.toml" in res.err
    res = scan("glued.txt", "--select", "MT9")
    assert res.code == ExitCode.USAGE and "--select" in res.err and "MT9" in res.err


def test_parse_file_and_load_config_api(tmp_path):
    path = write(tmp_path / "mtaudit.toml", '[severity]\n"MT4" = "error"\n')
    parsed = parse_file(path)
    assert parsed is not None and dict(parsed.layer.values["severity"]) == {"MT4": "error"}
    config = load_config([path], cli={"fail_on": "warning"})
    assert config.fail_on == "warning" and config.severity == (("MT4", "error"),)
    with pytest.raises(ConfigError) as err:
        parse_file(write(tmp_path / "bad.toml", "\n\nselect = [1]\n"))
    assert err.value.line == 3 and str(err.value).startswith(f"{tmp_path / 'bad.toml'}:3: ")


def test_pyproject_overrides_array(tmp_path):
    write(
        tmp_path / "pyproject.toml",
        """[project]
name = "site"

[tool.mtaudit]
fail_on = "warning"

[[tool.mtaudit.overrides]]
files = ["drafts/"]
fail_on = "info"

[[tool.mtaudit.overrides]]
files = ["**/wire-*.md"]
select = ["idiom"]
""",
    )
    resolver = ConfigResolver()
    assert resolver.for_file(tmp_path / "drafts" / "x" / "a.md").fail_on == "info"
    wire = resolver.for_file(tmp_path / "news" / "wire-1.md")
    assert wire.fail_on == "warning" and wire.select == ("MT1",)
    assert resolver.for_file(tmp_path / "wire-2.md").select == ("MT1",)  # **/ matches no folder
    assert resolver.for_file(tmp_path / "news" / "a.md").select == ("MT",)


def test_override_globs_follow_gitignore(tmp_path):
    # As `exclude`: .gitignore patterns (pathspec). A '*' stays within one folder, a folder
    # glob covers what is below it, '!' re-includes, and outside the config's folder only a
    # glob without '/' (a file name) can match.
    write(
        tmp_path / "mtaudit.toml",
        """[[overrides]]
files = ["opinion/*.md", "wire/", "*.txt", "!wire/keep.txt"]
fail_on = "info"
""",
    )
    resolver = ConfigResolver(isolated=False, user_config=tmp_path / "none.toml")
    assert resolver.for_file(tmp_path / "opinion" / "a.md").fail_on == "info"
    assert resolver.for_file(tmp_path / "opinion" / "2024" / "a.md").fail_on == "error"
    assert resolver.for_file(tmp_path / "wire" / "x" / "a.md").fail_on == "info"
    assert resolver.for_file(tmp_path / "news" / "b.txt").fail_on == "info"
    assert resolver.for_file(tmp_path / "wire" / "keep.txt").fail_on == "error"
    override = parse_file(tmp_path / "mtaudit.toml").overrides[0]  # type: ignore[union-attr]
    assert override.applies_to(tmp_path.parent / "elsewhere" / "c.txt")
    assert not override.applies_to(tmp_path.parent / "elsewhere" / "opinion" / "a.md")
