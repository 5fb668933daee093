"""Suggestions are exact replacement text: fitted, inflected, and they fix what they flag.

The end-to-end test applies every suggestion produced over ``corpora/``, the shared seed
article and the detector fixture files, scans the revised text again and checks, as
sqlfluff's fix tests do, that each fixed finding is gone and that no fix doubled a word,
broke a capital or left a dictionary placeholder ("one's", "someone") in the text.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from mtaudit.ingest import IngestOptions, iter_inputs, make_document
from mtaudit.model import Document, Finding
from mtaudit.pipeline import AuditOptions, Auditor
from mtaudit.report.diff import apply_edits, choose_edits
from mtaudit.suggest import (
    at_sentence_start,
    fit_replacement,
    inflect_phrase,
    is_common_word,
    split_alternatives,
    verb_tag,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT.parent / "shared" / "seed-article.txt"
RULE_CASES = sorted((ROOT / "tests" / "rules").glob("*.toml"))
WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
DOUBLE = re.compile(r"\b([^\W\d_]+)\s+\1\b", re.I)
PLACEHOLDER = re.compile(r"\b(?:one['’]s|oneself|someone|somebody|something)\b", re.I)


def _fit(sentence: str, span: str, replacement: str) -> str:
    start = sentence.index(span)
    return fit_replacement(sentence, start, start + len(span), replacement)


def _inflect(sentence: str, span: str, phrase: str) -> str | None:
    start = sentence.index(span)
    return inflect_phrase(phrase, sentence, start, start + len(span))


# --- fitting to the position -----------------------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "span", "replacement", "fitted"),
    [
        # A word the text already has is not repeated ("is a a source", "the the polls").
        (
            "He is a close source to the case.",
            "close source to",
            "a source familiar with",
            "source familiar with",
        ),
        ("Millions went to the polls booths on Sunday.", "polls booths", "the polls", "polls"),
        (
            "Charges were filed against persons unknown.",
            "filed against",
            "filed against",
            "filed against",
        ),
        ("It was closed to the public today.", "closed", "shut to", "shut"),
        # Case follows the position: a capital opens a sentence...
        ("Currently the talks are stalled.", "Currently", "at present", "At present"),
        ("“currently the talks are stalled.", "currently", "at present", "At present"),
        # ...a common word inside one is lower case, a name keeps its capital.
        (
            "Talks resumed and officials agreed.",
            "officials agreed",
            "Officials said",
            "officials said",
        ),
        (
            "Elections in the transalpine republic were won.",
            "the transalpine republic",
            "Italy",
            "Italy",
        ),
        ("They said the American was right.", "American", "Spanish", "Spanish"),
        # Deleting is always exact.
        ("Source link", "Source link", "", ""),
    ],
)
def test_fit_replacement(sentence, span, replacement, fitted):
    assert _fit(sentence, span, replacement) == fitted


def test_sentence_start():
    text = 'He left. "Then she came.\nNext line'
    assert at_sentence_start(text, 0)
    assert at_sentence_start(text, text.index("Then"))
    assert at_sentence_start(text, text.index("Next"))
    assert not at_sentence_start(text, text.index("left"))


def test_names_are_not_common_words():
    assert is_common_word("Officials") and is_common_word("through")
    assert not is_common_word("Italy") and not is_common_word("Monday")


# --- inflection ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "span", "phrase", "expected"),
    [
        # The verb takes the form of the verb it replaces.
        (
            "The deputy threw firewood to the fire.",
            "threw firewood to the fire",
            "add fuel to the fire",
            "added fuel to the fire",
        ),
        (
            "The minister has other cats to whip.",
            "has other cats to whip",
            "have other fish to fry",
            "has other fish to fry",
        ),
        (
            "The president is swallowing toads daily.",
            "swallowing toads",
            "eat humble pie",
            "eating humble pie",
        ),
        (
            "Critics say the cabinet has drowned the fish.",
            "drowned the fish",
            "muddy the waters",
            "muddied the waters",
        ),
        (
            "Critics say the cabinet has given the face.",
            "given the face",
            "take responsibility",
            "taken responsibility",
        ),
        (
            "The candidates will have to put all the flesh on the grill.",
            "put all the flesh on the grill",
            "go all out",
            "go all out",
        ),
        (
            "The government does the fat view on rentals.",
            "does the fat view",
            "turn a blind eye",
            "turns a blind eye",
        ),
        (
            "The chancellor had tomatoes on his eyes.",
            "had tomatoes on his eyes",
            "be blind to the obvious",
            "was blind to the obvious",
        ),
        (
            "The ministers had tomatoes on their eyes.",
            "had tomatoes on their eyes",
            "be blind to the obvious",
            "was blind to the obvious",
        ),
        # "one's" becomes the possessive of the subject, "oneself" its reflexive.
        (
            "She dipped the leg again.",
            "dipped the leg",
            "put one's foot in it",
            "put her foot in it",
        ),
        (
            "They spent a lot of money.",
            "spent a lot of money",
            "make a fool of oneself",
            "made a fool of themselves",
        ),
        (
            "He never had hairs on the tongue.",
            "had hairs on the tongue",
            "not mince one's words",
            "minced his words",
        ),
        (
            "The senator never had hairs on the tongue.",
            "had hairs on the tongue",
            "not mince one's words",
            "minced their words",
        ),
        # Negation: the span's own "not" stays, the phrase's merges with the sentence's.
        (
            "The minister does not have pelos in the tongue.",
            "not have pelos in the tongue",
            "not mince words",
            "not mince words",
        ),
        (
            "The mayor never had hairs on the tongue.",
            "had hairs on the tongue",
            "not mince words",
            "minced words",
        ),
        (
            "The mayor had hairs on the tongue.",
            "had hairs on the tongue",
            "not mince words",
            "did not mince words",
        ),
        # A noun phrase for a noun phrase; the copula of a predicate stays outside.
        (
            "The Government gave one of lime and another of sand.",
            "one of lime and another of sand",
            "mixed signals",
            "mixed signals",
        ),
        (
            "Farmers spend months with the water to the neck.",
            "with the water to the neck",
            "be in over one's head",
            "in over their head",
        ),
    ],
)
def test_inflect_phrase(sentence, span, phrase, expected):
    assert _inflect(sentence, span, phrase) == expected


@pytest.mark.parametrize(
    ("sentence", "span", "phrase"),
    [
        # A placeholder cannot be filled from the sentence.
        (
            "The party threw smoke in the eyes of voters.",
            "threw smoke in the eyes",
            "pull the wool over someone's eyes",
        ),
        # A verb phrase cannot replace a noun phrase or a clause, nor a sentence a verb.
        (
            "The Government gave one of lime and another of sand.",
            "one of lime and another of sand",
            "send mixed signals",
        ),
        (
            "More firewood was thrown on the fire when he resigned.",
            "firewood was thrown on the fire",
            "inflame the situation",
        ),
        (
            "The striker understood only train station.",
            "understood only train station",
            "it's all Greek to me",
        ),
    ],
)
def test_phrases_that_cannot_replace_the_span(sentence, span, phrase):
    assert _inflect(sentence, span, phrase) is None


def test_verb_tags():
    assert verb_tag("dipped", ["has"]) == "VBN"
    assert verb_tag("dipped", ["he"]) == "VBD"
    assert verb_tag("put", ["to"]) == "VB"
    assert verb_tag("throws", []) == "VBZ"
    assert verb_tag("firewood", []) is None


@pytest.mark.parametrize(
    ("suggestion", "replacement", "note"),
    [
        ("Spain (or Portugal)", "Spain", "or Portugal"),
        ("twice (three times) as much as", "twice as much as", "three times"),
        ("the president", "the president", None),
        ("both ... and ...", None, "both ... and ..."),
        ('the verb for "arrest" (arrested, evacuated, closed...)', None, None),
        ("X, who is also ...", None, None),
    ],
)
def test_split_alternatives(suggestion, replacement, note):
    got = split_alternatives(suggestion)
    assert got[0] == replacement
    if replacement is not None:
        assert got[1] == note
    else:
        assert got[1] == suggestion


# --- every suggestion, applied ----------------------------------------------------------------


def _documents() -> list[Document]:
    docs = [
        d for d in iter_inputs([str(ROOT / "corpora")], IngestOptions()) if isinstance(d, Document)
    ]
    if SEED.exists():
        docs.append(make_document(SEED.read_text(encoding="utf-8"), "seed", "text", "seed"))
    for path in RULE_CASES:
        cases = tomllib.loads(path.read_text(encoding="utf-8"))["case"]
        docs += [
            Document(f"{path.stem}:{c['name']}", c.get("fail_str") or c["pass_str"]) for c in cases
        ]
    return docs


@pytest.fixture(scope="module")
def auditor() -> Auditor:
    aud = Auditor(AuditOptions())
    yield aud
    aud.close()


def _problems(doc: Document, findings: list[Finding], auditor: Auditor) -> tuple[int, list[str]]:
    """Apply the document's suggestions, re-scan, and list what went wrong."""
    edits, _ = choose_edits(findings)
    if not edits:
        return 0, []
    revised = apply_edits(doc.text, edits)
    placed = []
    shift = 0
    for e in edits:
        start = e.start + shift
        placed.append((start, start + len(e.replacement), e, findings[e.finding]))
        shift += len(e.replacement) - (e.end - e.start)
    again = auditor.audit(Document(f"{doc.id}#fixed", revised, dict(doc.meta))).findings
    problems = []
    for start, end, edit, f in placed:
        where = f"{doc.id} {f.code} {f.text!r} -> {f.suggestion!r}"
        if any(g.code == f.code and g.start < max(end, start + 1) and start < g.end for g in again):
            problems.append(f"{where}: still flagged after the fix")
        lo, hi = max(0, start - 40), min(len(revised), end + 40)
        for m in DOUBLE.finditer(revised, lo, hi):
            if m.start() < end and start <= m.end() and m.group(0).lower() not in doc.text.lower():
                problems.append(f"{where}: doubled word {m.group(0)!r}")
        if PLACEHOLDER.search(edit.replacement) and not PLACEHOLDER.search(f.text):
            problems.append(f"{where}: dictionary placeholder left in the text")
        first = WORD.search(revised, start, end) if end > start else None
        if first is not None and first.start() == start:
            word = first.group(0)
            if at_sentence_start(revised, start) and word[:1].islower() and f.text[:1].isupper():
                problems.append(f"{where}: sentence starts in lower case")
            if (
                not at_sentence_start(revised, start)
                and word[:1].isupper()
                and not word.isupper()
                and is_common_word(word)
                and not f.text.startswith(word)
            ):
                problems.append(f"{where}: capital on a common word inside a sentence")
        # The word after the fix keeps its own case (unless another fix starts there).
        if any(other.start in (edit.end, edit.end + 1) for other in edits if other is not edit):
            continue
        after = WORD.match(revised, end + 1) if revised[end : end + 1] == " " else None
        original_after = (
            WORD.match(doc.text, f.end + 1) if doc.text[f.end : f.end + 1] == " " else None
        )
        if after and original_after and after.group(0) != original_after.group(0):
            problems.append(f"{where}: the next word changed ({after.group(0)!r})")
        # An idiom's verb agrees with the verb it replaces.
        if f.category == "idiom" and f.text.split() and edit.replacement.split():
            before = WORD.findall(doc.text[max(0, f.start - 40) : f.start])[-3:]
            tag = verb_tag(f.text.split()[0], [w.lower() for w in before])
            if tag in ("VBD", "VBZ", "VBG"):
                new = edit.replacement.split()
                new_tag = verb_tag(new[0], [w.lower() for w in before])
                if new[0].lower() not in ("not", "did", "does") and new_tag != tag:
                    problems.append(f"{where}: verb form {new_tag} for {tag}")
    return len(edits), problems


def test_every_suggestion_applies_cleanly(auditor):
    applied = 0
    problems: list[str] = []
    categories: set[str] = set()
    for doc in _documents():
        findings = auditor.audit(doc).findings
        n, found = _problems(doc, findings, auditor)
        applied += n
        problems += found
        categories |= {f.category for f in findings if f.suggestion is not None}
    # The test means something only if it applied many fixes of every kind that has them.
    assert applied >= 100
    assert {"idiom", "calque", "untranslated", "punctuation", "boilerplate"} <= categories
    assert problems == []


def test_advice_is_never_a_suggestion(auditor):
    """Instructions ("Rewrite ...", "Translate ...") live in the message, not the suggestion."""
    advice = re.compile(r"^(?:rewrite|translate|use|consider|avoid)\b|\.\.\.|…|\(", re.I)
    for doc in _documents():
        for f in auditor.audit(doc).findings:
            if f.suggestion is not None:
                assert not advice.search(f.suggestion), (doc.id, f.code, f.suggestion)
