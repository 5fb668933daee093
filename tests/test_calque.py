"""MT2xx calque detector: MT203/MT204, false-friend context rules, the seed article,
lexicon loading and errors, user lexicons, the literal prefilter and speed.

Its pass/fail/fix cases are in tests/rules/calque.toml (run by tests/test_rules.py).
"""

from __future__ import annotations

import dataclasses
import pickle
import re
import sys
from pathlib import Path

import pytest

import mtaudit.detectors.calque as calque
from mtaudit.detectors.base import Context
from mtaudit.detectors.calque import (
    RULES,
    CalqueDetector,
    CalquePattern,
    LazyRegex,
    compile_entry,
    load_patterns,
    required_literals,
)
from mtaudit.detectors.calque_lexicon import fold_case
from mtaudit.lexicons import LEXICON_DIR, LexiconError, load_file
from mtaudit.model import SOURCE_LANGUAGES, Document, Severity
from mtaudit.segment import segment

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
# The texts of the calque rule cases (tests/rules/calque.toml, run by tests/test_rules.py).
CASE_TEXTS = [
    c.get("fail_str") or c["pass_str"]
    for c in tomllib.loads((ROOT / "tests" / "rules" / "calque.toml").read_text("utf-8"))["case"]
]
CALQUE_FILES = sorted(LEXICON_DIR.glob("calques-*.toml"))


@pytest.fixture(scope="module")
def detector() -> CalqueDetector:
    return CalqueDetector(Context())


def detect(detector: CalqueDetector, text: str) -> list:
    return list(detector.detect(Document("t", text), segment(text)))


def by_pattern(findings: list) -> dict[str, list]:
    out: dict[str, list] = {}
    for f in findings:
        out.setdefault(f.evidence["pattern"], []).append(f)
    return out


# --- the seed article ------------------------------------------------------------------

SEED_EXPECTED = [
    ("MT201", "es.citadas-fuentes", "aforementioned sources"),
    ("MT201", "es.pais-norteamericano", "North American country"),
    ("MT201", "es.fuente-cercana-expediente", "close to the file"),
    ("MT201", "es.tocar-hueso", "touched the bone"),
    ("MT203", "mt203.shape-b", "officials said Americans"),
    ("MT204", "mt204.this-weekday-past", "this Saturday"),
]


def test_seed_findings(detector, seed_text):
    findings = detect(detector, seed_text)
    for code, pattern, span in SEED_EXPECTED:
        hits = [
            f
            for f in findings
            if f.code == code and f.evidence["pattern"] == pattern and span in f.text
        ]
        assert hits, f"seed: no {code} {pattern} finding containing {span!r}"
    for f in findings:
        assert f.message and (f.suggestion or "Rewrite as:" in f.message), f
        assert f.text == seed_text[f.start : f.end]
    suggestions = {f.evidence["pattern"]: f.suggestion for f in findings}
    assert suggestions["es.pais-norteamericano"] == "the United States"
    assert suggestions["es.citadas-fuentes"] == "the sources"
    assert suggestions["mt203.shape-b"] == "American officials said"
    # "this Monday in Geneva" is a future meeting: only the two past Saturdays are MT204.
    assert [f.text for f in findings if f.code == "MT204"] == ["this Saturday", "this Saturday"]


# --- MT203 / MT204 ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "flagged", "suggestion"),
    [
        ("The deal is close, officials said Americans during a call.", True,
         "American officials said"),
        ("The border will stay open, said senior officials Spanish on Monday.", True,
         "said senior Spanish officials"),
        ("Talks stalled, according to sources diplomatic.", True,
         "according to diplomatic sources"),
        ("Officials said Americans were evacuated on Friday.", False, None),
        ("Officials warned Americans during the crisis.", False, None),
        ("Officials said American troops would stay.", False, None),
    ],
)  # fmt: skip
def test_mt203_reporting_verb_inversion(detector, text, flagged, suggestion):
    hits = [f for f in detect(detector, text) if f.code == "MT203"]
    assert bool(hits) is flagged, [f.text for f in hits]
    if flagged:
        assert hits[0].suggestion == suggestion
        assert hits[0].source_language == "es"


@pytest.mark.parametrize(
    ("text", "flagged"),
    [
        ("It is not possible, they stressed this Saturday, that Moscow decides.", True),
        ("The government approved this Tuesday the new housing law.", True),
        ("The minister has explained this Monday that the plan is ready.", True),
        ("The talks, which take place this Monday in Geneva, are crucial.", False),
        ("The leaders will meet this Friday in Brussels.", False),
        ("The vote is scheduled for this Sunday.", False),
        ("They agreed to meet this Thursday.", False),
        ("This Saturday's match was postponed.", False),
        # Past forms from lemminflect: irregular ones and short -ed ones.
        ("The rebels fled this Sunday towards the border.", True),
        ("The singer died this Saturday in a hospital in Madrid.", True),
        # "a bit" is a noun; a modal's past form is no past.
        ("It will be a bit colder this Saturday in the north.", False),
        ("The ministers would meet this Saturday in Rome.", False),
    ],
)
def test_mt204_weekday_deixis(detector, text, flagged):
    hits = [f for f in detect(detector, text) if f.code == "MT204"]
    assert bool(hits) is flagged, [f.text for f in hits]
    if flagged:
        assert hits[0].severity is Severity.INFO
        assert hits[0].suggestion.lower().startswith("on ")


# --- false-friend context rules ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "pattern", "flagged"),
    [
        # actualmente: only where "currently" fits
        ("Actually there are 40 people in the shelter.", "es.actualmente", True),
        ("The two sides are actually in negotiations over the border.", "es.actualmente", True),
        ("The firm actually has 300 employees in Madrid.", "es.actualmente", True),
        ("What actually happened is still unclear.", "es.actualmente", False),
        ("Actually, I think the plan will work.", "es.actualmente", False),
        ("They did not actually sign the contract.", "es.actualmente", False),
        ("The attack actually happened on Tuesday.", "es.actualmente", False),
        ("The firm actually has 300 employees, not 500 as claimed.", "es.actualmente", False),
        # actual: 'current' office-holder vs 'real'
        ("The actual government inherited a large deficit.", "es.actual", True),
        ("The actual government, not the puppet one, controls the north.", "es.actual", False),
        # embarazada needs a pregnancy context
        ("She was embarrassed of three months when she was fired.", "es.embarazada", True),
        ("She was embarrassed by the photos.", "es.embarazada", False),
        # constipado needs a cold context
        ("The singer cancelled because she is constipated and has a fever.",
         "es.constipado", True),
        ("Constipated patients should eat more fibre.", "es.constipado", False),
        # librería: selling books, not lending them
        ("The book arrives in libraries on Thursday.", "es.libreria", True),
        ("The book is available in libraries to borrow for free.", "es.libreria", False),
        # decepción: disappointment, not deceit
        ("The defeat was a great deception for the supporters.", "es.decepcion", True),
        ("He obtained the money by deception, the court heard.", "es.decepcion", False),
        # molestar: bother, never sexual abuse
        ("The noise of the works molested the neighbours for months.", "es.molestar", True),
        ("The priest molested two boys, the court found.", "es.molestar", False),
        # sensible: sensitive vs reasonable
        ("Health data is a sensible issue for the government.", "es.sensible", True),
        ("It would be sensible to wait for the results.", "es.sensible", False),
        # compromiso: commitment vs deal
        ("The bank renewed its compromise with sustainability.", "es.compromiso", True),
        ("Negotiators reached a compromise with the unions.", "es.compromiso", False),
        # asistir: attend vs help
        ("Thousands of people assisted to the mass in the cathedral.",
         ["es.asistir-a", "fr.assister-a", "it.assistere"], True),
        ("Volunteers assisted the elderly with their shopping.", "es.asistir-a", False),
    ],
)  # fmt: skip
def test_false_friend_context(detector, text, pattern, flagged):
    wanted = pattern if isinstance(pattern, list) else [pattern]
    hits = [f for f in detect(detector, text) if f.evidence["pattern"] in wanted]
    assert bool(hits) is flagged, [(f.evidence["pattern"], f.text) for f in detect(detector, text)]
    if flagged:
        assert hits[0].code == "MT202"


def test_hit_group_narrows_span_and_suggestion_is_capitalised(detector):
    text = "Actually there are 12 candidates. The firm is actually under investigation."
    hits = by_pattern(detect(detector, text))["es.actualmente"]
    assert [f.text for f in hits] == ["Actually", "actually"]
    assert [f.suggestion for f in hits] == ["Currently", "currently"]
    # hit2/hit3 alternatives narrow the span too (not the whole match)
    assert all(f.end - f.start == len("actually") for f in hits)


# --- built-in lexicons -----------------------------------------------------------------


def test_spanish_lexicon_size_and_fields():
    lex = load_file(LEXICON_DIR / "calques-es.toml", "calque")
    assert lex.language == "es"
    assert len(lex.entries) >= 130
    kinds = {e.get("kind", "calque") for e in lex.entries}
    assert kinds == {"calque", "false-friend"}
    for e in lex.entries:
        assert e["id"].startswith("es."), e["id"]
        assert len(e["message"]) > 40, e["id"]
        assert e["suggestion"].strip(), e["id"]
        assert e["provenance"].startswith("project, 2026-11"), e["id"]
        assert e.get("example"), e["id"]


@pytest.mark.parametrize("path", CALQUE_FILES, ids=lambda p: p.name)
def test_every_builtin_entry_flags_its_own_example(detector, path):
    """Each entry's regex and context rules accept the example written for it (checked per
    pattern, so another language's overlapping entry winning the span does not hide it)."""
    lex = load_file(path, "calque")
    for entry in lex.entries:
        if not entry.get("example"):
            continue
        p = compile_entry(lex, entry)
        text = entry["example"]
        seg = segment(text)
        found = [
            f
            for sent in seg.sentences
            for f in detector._lexicon(Document("t", text), seg, sent, [p])
        ]
        assert found, f"{entry['id']} does not flag its example {text!r}"
        assert all(f.message and (f.suggestion or "Rewrite as:" in f.message) for f in found)


def test_builtin_ids_are_unique_and_load():
    patterns = load_patterns()
    ids = [p.id for p in patterns]
    assert len(ids) == len(set(ids))
    assert {p.language for p in patterns} <= set(SOURCE_LANGUAGES)
    assert sum(p.language == "es" for p in patterns) >= 130


def test_rules_document_all_four_codes():
    assert [r.code for r in RULES] == ["MT201", "MT202", "MT203", "MT204"]
    assert all(r.summary and r.why and r.example and r.fix for r in RULES)


# --- user lexicons and errors ------------------------------------------------------------

USER_LEXICON = """\
[meta]
kind = "calque"
language = "es"
version = "1"

[[calque]]
id = "user.colegio"
pattern = '''\\bthe\\s+(?P<n>public|private)\\s+colleges?\\b'''
source = "el colegio público"
message = "Spanish 'colegio' is a school."
suggestion = 'the \\g<n> school'
kind = "false-friend"
confidence = 0.9
provenance = "test"
"""


def _write(tmp_path: Path, text: str, name: str = "user.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_user_calque_file_is_honoured(tmp_path):
    path = _write(tmp_path, USER_LEXICON)
    text = "Pupils of the public college protested on Monday."
    plain = CalqueDetector(Context())
    assert not [f for f in detect(plain, text) if f.evidence["pattern"] == "user.colegio"]
    custom = CalqueDetector(Context({"calque_files": (str(path),)}))
    (f,) = [f for f in detect(custom, text) if f.evidence["pattern"] == "user.colegio"]
    assert f.code == "MT202"
    assert f.text == "the public college"
    assert f.suggestion == "the public school"
    assert f.source_language == "es"
    assert f.confidence == 0.9
    # the built-in lexicons still run alongside
    assert any(
        x.evidence["pattern"] == "es.citadas-fuentes"
        for x in detect(custom, "The aforementioned sources denied it.")
    )


SECOND_ENTRY = """
[[calque]]
id = "user.second"
pattern = {pattern}
source = "x"
message = "A second entry."
suggestion = "y"
kind = {kind}
{extra}provenance = "test"
"""


@pytest.mark.parametrize(
    ("field", "value", "expect"),
    [
        ("pattern", "'''\\bfoo(\\b'''", "bad pattern regex"),
        ("extra", "require = '''[unclosed'''\n", "bad require regex"),
        ("extra", "forbid = '''(?P<x>a)(?P<x>b)'''\n", "bad forbid regex"),
        ("kind", '"idiom"', "kind must be one of"),
        ("extra", 'severity = "loud"\n', "unknown severity"),
        ("extra", 'scope = "chapter"\n', "scope must be one of"),
    ],
)
def test_bad_entry_raises_lexicon_error_with_path_and_line(tmp_path, field, value, expect):
    fields = {"pattern": "'''\\bfoo\\b'''", "kind": '"calque"', "extra": ""}
    fields[field] = value
    body = USER_LEXICON + SECOND_ENTRY.format(**fields)
    path = _write(tmp_path, body)
    line = [i + 1 for i, ln in enumerate(body.splitlines()) if ln == "[[calque]]"][1]
    with pytest.raises(LexiconError) as err:
        load_patterns((str(path),))
    assert str(err.value).startswith(f"{path}:{line}: "), str(err.value)
    assert expect in str(err.value)
    assert err.value.line == line
    # the detector surfaces the same error when it loads the user file
    det = CalqueDetector(Context({"calque_files": (str(path),)}))
    with pytest.raises(LexiconError, match=re.escape(f"{path}:{line}")):
        detect(det, "Any text.")


def test_missing_key_and_duplicate_id_are_lexicon_errors(tmp_path):
    missing = _write(tmp_path, USER_LEXICON.replace("suggestion = 'the \\g<n> school'\n", ""))
    with pytest.raises(LexiconError, match=r":6: calque entry is missing suggestion"):
        load_patterns((str(missing),))
    dup = _write(
        tmp_path, USER_LEXICON.replace('"user.colegio"', '"es.citadas-fuentes"'), "dup.toml"
    )
    with pytest.raises(LexiconError, match=r"dup\.toml:6: duplicate id 'es.citadas-fuentes'"):
        load_patterns((str(dup),))


def test_overlapping_findings_keep_the_more_confident(tmp_path):
    lexicon = USER_LEXICON + SECOND_ENTRY.format(
        pattern="'''\\bpublic\\s+college\\s+strike\\b'''", kind='"calque"',
        extra="confidence = 0.5\n",
    )  # fmt: skip
    det = CalqueDetector(Context({"calque_files": (str(_write(tmp_path, lexicon)),)}))
    text = "Teachers at the public college strike again."
    user = [f for f in detect(det, text) if f.evidence["pattern"].startswith("user.")]
    # "the public college" (0.9) and "public college strike" (0.5) overlap: one survives
    assert [(f.evidence["pattern"], f.text) for f in user] == [
        ("user.colegio", "the public college")
    ]
    spans = sorted((f.start, f.end) for f in detect(det, text))
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))


# --- literal prefilter -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "anchors"),
    [
        (r"\bthe\s+North\s+American\s+country\b", ("american",)),
        # the parser's shared prefix ("afore") is multiplied back out: longer anchors
        (r"\b(?:aforementioned|aforesaid)\s+sources?\b", ("aforementioned", "aforesaid")),
        (r"\bin\s+full\s+(?:debate|campaign)\b", ("campaign", "debate")),
        (r"\breali[sz]ed\s+an?\s+operation\b", ("operation",)),
        (r"\b(?:the\s+)?(?P<hit>manifestations?)\b", ("manifestation",)),
        (r"\b\w+\s+of\b", None),  # nothing literal worth filtering on
        (r"\b(?:foo\w*|\d+)\b", None),  # one alternative has no literal
        (r"\b(?:it)?\s+(?:is|was)\b", None),  # optional and too short
        (r"\bthe\s+(?:quoted|cited)\s+the\b", ("cited", "quoted")),  # never "the"
        # one anchor per branch; a scoped case-sensitive group folds like the rest
        (
            r"\b(?:the\s+)?(?-i:CPI|CPMI)\b|\bparliamentary\s+inquiry\b",
            ("cpi", "cpmi", "parliamentary"),
        ),
        # a short anchor where a branch has nothing longer
        (r"\b(?:the\s+)?(?-i:CT|Ct)\b|\btechnical\s+commissioner\b", ("commissioner", "ct")),
        (r"\b(?:Mr|Mrs|Ms)\.?\s+Dr\.?\s+[A-Z]", ("dr",)),
        (r"\bat\s+(?:middles|mediums|mid)\s+of\b", ("mediums", "mid")),  # "mid" in "middles"
        (r"\ban?\s+\d+\s*(?:%|percent|per\s+cent)\s+of\b", ("%", "cent")),  # "%" is rare
        (r"\b\d+[.:][0-5]\d\s+h\b", tuple(f"{s}{d}" for s in ".:" for d in "012345")),
        (r"\b(?:CPI|\d+)\b", None),  # a branch without a literal
        (r"\b(?:it|is)\b", None),  # common words
        (r"\b[^a-z]x\b", None),  # a single letter
    ],
)
def test_required_literals(pattern, anchors):
    assert required_literals(re.compile(pattern, re.IGNORECASE)) == anchors


@pytest.mark.parametrize(
    "text",
    [
        "THE NORTH AMERICAN COUNTRY",
        "the aforesaid Source",
        "In Full Debate",
        "realised an operation",
        "The Manifestation",
    ],
)
def test_anchors_are_found_in_any_match(text):
    """Soundness: whatever a pattern matches contains one of its anchors (any case)."""
    for p in load_patterns():
        m = p.regex.search(text)
        if m and p.anchors:
            assert any(a in m.group(0).lower() for a in p.anchors), (p.id, text)


def test_most_builtin_patterns_get_anchors():
    patterns = load_patterns()
    with_anchors = [p for p in patterns if p.anchors]
    assert len(with_anchors) >= 0.99 * len(patterns)
    for p in with_anchors:
        assert all(a == fold_case(a) and (len(a) >= 2 or a == "%") for a in p.anchors), p.id


def _pattern(regex: str) -> CalquePattern:
    lazy = LazyRegex(regex, re.IGNORECASE)
    return dataclasses.replace(
        load_patterns()[0], id="t", regex=lazy, require=None, forbid=None,
        anchors=required_literals(lazy),
    )  # fmt: skip


def _selected(index: calque._Prefilter, text: str) -> tuple[list[str], set[str]]:
    patterns, checks = index.select(fold_case(text), 0, len(text))
    return [p.id for p in patterns], checks


def test_prefilter_runs_a_pattern_where_any_branch_anchor_is():
    cpi = _pattern(r"\b(?:the\s+)?(?-i:CPI|CPMI)\b|\bparliamentary\s+inquiry\b")
    always = dataclasses.replace(_pattern(r"\b\w+\s+of\b"), id="always")
    index = calque._Prefilter.build([cpi, always], {})
    assert _selected(index, "The CPMI summoned him.") == (["t", "always"], set())
    assert _selected(index, "A parliamentary inquiry.") == (["t", "always"], set())
    # no anchor of either branch: only the pattern without anchors runs
    assert _selected(index, "The committee summoned him.") == (["always"], set())
    # anchors are found in the span given, not elsewhere in the text
    text = "The CPI met. The committee sat."
    start = text.index("The committee")
    assert index.select(fold_case(text), start, len(text))[0] == [always]


def test_prefilter_finds_what_a_case_insensitive_regex_matches():
    """The regex engine matches 's' to 'ſ', 'i' to 'ı' and 'İ', 'k' to the Kelvin sign:
    the folded text must still contain the anchors of what it matches."""
    p = _pattern(r"\b(?:senators?|kinship)\b")
    index = calque._Prefilter.build([p], {})
    for text in ("The ſenator spoke.", "SENATORS SPOKE", "Their \u212ainship.", "Their kınshıp."):
        assert p.regex.search(text), text
        assert _selected(index, text)[0] == ["t"], text
    text = "İSTANBUL: the kİnship of senators"
    assert len(fold_case(text)) == len(text)  # one character for one: offsets still hold
    assert _selected(index, text)[0] == ["t"]


def test_mt203_runs_only_with_a_people_noun_and_a_nationality():
    index = CalqueDetector(Context())._index()
    # a people noun alone: MT203's other requirement is missing, so it does not run
    assert _selected(index, "Officials said the talks failed.")[1] == {"MT203"}
    assert {"MT203", "MT203.nationality"} <= _selected(index, "Officials said Americans.")[1]


def test_prefilter_never_changes_results(monkeypatch, seed_text):
    """Brute force (every regex on every sentence) and the prefiltered detector agree."""
    texts = [*CASE_TEXTS, seed_text]
    fast = CalqueDetector(Context())
    brute_ctx = Context()
    brute_ctx.resource(
        "calque.patterns",
        lambda: [dataclasses.replace(p, anchors=None) for p in load_patterns()],
    )
    brute = CalqueDetector(brute_ctx)

    def key(findings):
        return [(f.start, f.end, f.code, f.evidence["pattern"], f.suggestion) for f in findings]

    expected = {}
    coded = calque._coded_anchors()
    with monkeypatch.context() as m:  # the coded checks on every sentence too
        m.setattr(calque, "_coded_anchors", lambda: dict.fromkeys(coded, ("",)))
        for t in texts:
            expected[t] = key(detect(brute, t))
    for t in texts:
        assert key(detect(fast, t)) == expected[t], t


def test_shape_shared_by_two_languages_names_neither_and_splits_the_vote(detector):
    """'counted with' is a calque of Spanish 'contar con' and Portuguese 'contar com':
    crediting whichever pattern sorted first would skew the document's source language."""
    from mtaudit.scoring import source_language

    text = "The motion counted with the backing of three nationalist parties."
    (f,) = [x for x in detect(detector, text) if "counted with" in x.text]
    assert f.source_language is None
    assert f.evidence["source_languages"] == ["es", "pt"]
    # A shape two languages share names neither (and one calque alone names nothing).
    assert source_language([f]) is None
    # Half a shared vote each: Portuguese-only calques then decide the document, once they
    # are enough evidence to name a language at all.
    text += " The governor takes possession of the post on Monday."
    findings = detect(detector, text)
    assert {x.source_language for x in findings} == {None, "pt"}
    pt = [x for x in findings if x.source_language == "pt"]
    assert source_language(findings) is None
    assert source_language([f, *pt * 4]) == "pt"


def test_a_compiled_lexicon_pickles_as_sources_and_compiles_each_regex_on_use():
    patterns = load_patterns()
    clone = pickle.loads(pickle.dumps(patterns))
    assert [p.id for p in clone] == [p.id for p in patterns]
    assert all(p.regex._compiled is None for p in clone)  # nothing compiled on load
    assert [(p.regex.pattern, p.regex.flags) for p in clone] == [
        (p.regex.pattern, p.regex.flags) for p in patterns
    ]
    with_example = [(c, p) for c, p in zip(clone, patterns, strict=True) if p.example]
    assert with_example
    for c, p in with_example:
        assert [m.span() for m in c.regex.finditer(p.example)] == [
            m.span() for m in p.regex.finditer(p.example)
        ]
        assert c.regex._compiled is not None
    assert clone == patterns  # equal as values: same sources, flags and fields
