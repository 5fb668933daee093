"""One harness for every detector's rule cases: ``tests/rules/*.toml`` (see its README.md).

As in sqlfluff's rule tests, a ``pass_str`` yields no finding of the file's rules, a
``fail_str`` yields the expected one, and a ``fix_str`` is what the project's own fix
machinery (:func:`mtaudit.fix.plan`) makes of the ``fail_str``; re-audited, the fixed text
no longer fires the rules that were fixed.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from mtaudit import fix
from mtaudit.detectors import all_rules
from mtaudit.detectors.base import Context, Detector
from mtaudit.lexicons import LEXICON_DIR
from mtaudit.model import SOURCE_LANGUAGES, Document, DocumentReport, Finding, Severity
from mtaudit.segment import segment

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

HERE = Path(__file__).parent / "rules"
FILES = sorted(HERE.glob("*.toml"))
DATA = {p.stem: tomllib.loads(p.read_text(encoding="utf-8")) for p in FILES}
SCHEMA = jsonschema.Draft202012Validator(json.loads((HERE / "schema.json").read_text()))
#: Rules whose findings never carry replacement text, so they have no fix case.
NO_FIX = {"MT601": "a disfluent sentence is flagged as a whole, with nothing to replace"}


def detector_class(name: str) -> type[Detector]:
    (cls,) = importlib.import_module(f"mtaudit.detectors.{name}").DETECTORS
    return cls


def file_rules(stem: str) -> tuple[str, ...]:
    """The codes a file's cases are about: its ``rules``, or all its detector's."""
    data = DATA[stem]
    return tuple(data.get("rules") or [r.code for r in detector_class(data["detector"]).rules])


def _resolve(value: Any) -> Any:
    # "{here}" in an option names a file beside the cases (a vocabulary list, a lexicon).
    if isinstance(value, str):
        return value.replace("{here}", str(HERE))
    if isinstance(value, list):
        return [_resolve(v) for v in value]
    return value


_made: list[Detector] = []


@cache
def _detector(stem: str, options: str) -> Detector:
    # One detector per file and option set: lexicons and models load once, as in a scan.
    opts = {k: _resolve(v) for k, v in json.loads(options).items()}
    cls = detector_class(DATA[stem]["detector"])
    _made.append(cls(Context(opts), enabled_codes=file_rules(stem)))
    return _made[-1]


@pytest.fixture(scope="module", autouse=True)
def _close_detectors() -> Iterator[None]:
    yield
    for det in _made:  # stops the idiom detector's Apertium processes
        det.close()
    _made.clear()
    _detector.cache_clear()


def audit(stem: str, text: str, options: dict[str, Any]) -> tuple[Document, list[Finding]]:
    """The document and the findings of the file's rules in ``text``."""
    doc = Document("case.txt", text, path="case.txt")
    det = _detector(stem, json.dumps(options, sort_keys=True))
    found, _ = det.detect_with_features(doc, segment(text))
    return doc, [f for f in found if f.code in file_rules(stem)]


def _evidence_matches(expected: Any, actual: Any) -> bool:
    if isinstance(expected, list):  # any of these
        return any(_evidence_matches(e, actual) for e in expected)
    if isinstance(actual, list):  # one of the finding's values
        return expected in actual
    return expected == actual


def matches(f: Finding, case: dict[str, Any]) -> bool:
    """Whether ``f`` is the finding a fail case expects."""
    want = {k: case[k] for k in ("code", "span", "source_language") if k in case}
    got = {"code": f.code, "span": f.text, "source_language": f.source_language}
    return all(got[k] == v for k, v in want.items()) and all(
        _evidence_matches(v, f.evidence.get(k)) for k, v in case.get("evidence", {}).items()
    )


def _show(findings: list[Finding]) -> list[tuple[Any, ...]]:
    return [(f.code, f.text, f.suggestion, f.source_language, f.evidence) for f in findings]


def _params() -> Iterator[Any]:
    for stem, data in DATA.items():
        for case in data.get("case", []):
            marks = (
                [pytest.mark.xfail(strict=True, reason=case["xfail"])] if "xfail" in case else []
            )
            yield pytest.param(stem, case, id=f"{stem}:{case.get('name')}", marks=marks)


@pytest.mark.parametrize("stem", DATA)
def test_file_matches_the_schema(stem: str) -> None:
    data = DATA[stem]
    errors = [f"{e.json_path}: {e.message}" for e in SCHEMA.iter_errors(data)]
    assert not errors, "\n".join(errors)
    names = [c["name"] for c in data["case"]]
    assert len(names) == len(set(names)), "case names repeat"
    codes = {r.code for r in detector_class(data["detector"]).rules}
    assert set(file_rules(stem)) <= codes
    assert {c["code"] for c in data["case"] if "code" in c} <= set(file_rules(stem))


@pytest.mark.parametrize(("stem", "case"), list(_params()))
def test_case(stem: str, case: dict[str, Any]) -> None:
    options = case.get("options", {})
    if "pass_str" in case:
        _, findings = audit(stem, case["pass_str"], options)
        assert findings == [], _show(findings)
        if options:  # the options, not some other rule, are what let the text pass
            assert audit(stem, case["pass_str"], {})[1], "passes even without its options"
        return
    text = case["fail_str"]
    doc, findings = audit(stem, text, options)
    if "findings" in case:
        assert len(findings) == case["findings"], _show(findings)
    hits = [f for f in findings if matches(f, case)]
    assert len(hits) == 1, _show(findings)
    (f,) = hits
    assert f.text == text[f.start : f.end] and f.message
    assert f.category == detector_class(DATA[stem]["detector"]).category
    if "suggestion" in case:
        assert f.suggestion == case["suggestion"]
    if "severity" in case:
        assert f.severity == Severity.parse(case["severity"])
    if "fix_str" in case:
        plan = fix.plan(DocumentReport(doc, findings), unsafe=True)
        # A fix_str equal to the fail_str says that no fix applies (advice, not text).
        assert plan is not None
        assert plan.revised == case["fix_str"]
        fixed = {g.code for g in plan.applied}
        again = [g for g in audit(stem, plan.revised, options)[1] if g.code in fixed]
        assert again == [], f"still fires after the fix: {_show(again)}"


def test_every_rule_has_pass_fail_and_fix_cases() -> None:
    missing = []
    for rule in all_rules():
        stems = [s for s in DATA if rule.code in file_rules(s)]
        cases = [c for s in stems for c in DATA[s]["case"] if "xfail" not in c]
        fails = [c for c in cases if c.get("code") == rule.code]
        kinds = {
            "pass": any("pass_str" in c for c in cases),
            "fail": bool(fails),
            "fix": rule.code in NO_FIX or any("fix_str" in c for c in fails),
        }
        missing += [f"{rule.code} {kind}" for kind, ok in kinds.items() if not ok]
    assert missing == []


@pytest.mark.parametrize("stem", [s for s in DATA if any("lang" in c for c in DATA[s]["case"])])
def test_cases_cover_every_source_language_both_ways(stem: str) -> None:
    for lang in SOURCE_LANGUAGES:
        cases = [c for c in DATA[stem]["case"] if c.get("lang") == lang]
        assert {"pass_str", "fail_str"} <= {k for c in cases for k in c}, lang


def _examples(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, v in value.items():
            if key == "example" and isinstance(v, str):
                yield v
            else:
                yield from _examples(v)
    elif isinstance(value, list):
        for v in value:
            yield from _examples(v)


def test_fail_cases_are_not_examples_verbatim() -> None:
    """Cases must show that a rule generalises, not replay its own documented examples."""
    examples = {r.example for r in all_rules()}
    for path in LEXICON_DIR.glob("*.toml"):
        examples.update(_examples(tomllib.loads(path.read_text(encoding="utf-8"))))
    verbatim = [
        c["name"] for d in DATA.values() for c in d["case"] if c.get("fail_str") in examples
    ]
    assert verbatim == []
