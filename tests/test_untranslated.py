"""MT3xx untranslated-fragment detector: seed article, glosses, language ID.

Its pass/fail/fix cases are in tests/rules/untranslated.toml (run by tests/test_rules.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mtaudit import langid
from mtaudit.detectors import untranslated
from mtaudit.detectors.base import Context
from mtaudit.detectors.untranslated import RULES, UntranslatedDetector
from mtaudit.lexicons import builtin
from mtaudit.model import SOURCE_LANGUAGES, Document, Severity
from mtaudit.segment import segment


def detect(text: str, **options: Any) -> list:
    doc = Document("t", text)
    return list(UntranslatedDetector(Context(options=options)).detect(doc, segment(text)))


def test_seed_article_flags_the_bracketed_spanish(seed_text: str) -> None:
    findings = detect(seed_text)
    assert len(findings) == 1, [(f.code, f.text) for f in findings]
    (f,) = findings
    assert f.code == "MT301" and f.severity == Severity.ERROR
    # The span includes the brackets so that the suggestion replaces them too.
    assert f.text == "[esta crisis]" == seed_text[f.start : f.end]
    assert f.source_language == "es"
    assert f.suggestion == "this crisis"
    fixed = seed_text[: f.start] + f.suggestion + seed_text[f.end :]
    assert "defuse this crisis Through" in fixed


def test_rules_are_documented() -> None:
    assert [r.code for r in RULES] == ["MT301", "MT302"]
    for rule in RULES:
        assert rule.category == "untranslated"
        assert rule.summary and rule.why and rule.example and rule.fix
        assert rule.severity == Severity.ERROR


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_rule_examples_are_flagged_with_their_own_code(rule) -> None:
    assert rule.code in {f.code for f in detect(rule.example)}


def test_offsets_point_into_a_longer_document() -> None:
    text = "First paragraph, in English.\n\nThe cabinet approved the legge di bilancio today."
    (f,) = detect(text)
    assert text[f.start : f.end] == "legge di bilancio"


def test_document_language_settles_near_ties() -> None:
    # "governo" is as Portuguese as it is Italian; the Italian bracket decides.
    alone = detect("The governo will decide.")
    with_context = detect("The talks [a tutti i costi] must succeed. The governo will decide.")
    assert [f.source_language for f in with_context] == ["it", "it"]
    configured = detect("The governo will decide.", source_language="it")
    assert configured[0].source_language == "it"
    assert alone[0].source_language in {"it", "pt"}


def test_glossary_gives_a_word_by_word_suggestion(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "glossary-es.toml").write_text(
        '[meta]\nkind = "glossary"\nlanguage = "es"\n\n'
        '[words]\nley = ["law", "act"]\npresupuesto = ["budget"]\npelo = ["hair"]\n',
        encoding="utf-8",
    )
    monkeypatch.setattr(untranslated, "LEXICON_DIR", tmp_path)
    (f,) = detect("The government approved the ley de presupuestos on Tuesday.")
    assert f.suggestion == "law of budgets"  # first sense, function word, plural restored
    (f,) = detect("The minister does not have pelos in the tongue.")
    assert f.suggestion == "hairs"


def test_without_glossary_the_message_asks_for_a_translation(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(untranslated, "LEXICON_DIR", tmp_path)  # no glossary files here
    (f,) = detect("The government approved the ley de presupuestos on Tuesday.")
    # Advice is not replacement text: it goes in the message, and there is no suggestion.
    assert f.suggestion is None
    assert f.message.endswith("Translate it into English.")
    # Function words and English cognates still give a rendering.
    (f,) = detect("We must defuse [esta crisis] now.")
    assert f.suggestion == "this crisis"


def test_broken_glossary_is_skipped(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "glossary-es.toml").write_text("[words\nley = ", encoding="utf-8")
    monkeypatch.setattr(untranslated, "LEXICON_DIR", tmp_path)
    (f,) = detect("The government approved the ley de presupuestos on Tuesday.")
    assert f.suggestion is None and "Translate it into English" in f.message


def test_resources_are_built_once_per_context() -> None:
    ctx = Context(options={"accepted_vocabulary": ["ley mordaza"]})
    det = UntranslatedDetector(ctx)
    text = "Officials said the ley mordaza would be reformed."
    assert list(det.detect(Document("a", text), segment(text))) == []
    allowlist = ctx.loaded("untranslated.allowlist")
    assert allowlist is not None
    list(det.detect(Document("b", text), segment(text)))
    assert ctx.loaded("untranslated.allowlist") is allowlist
    assert ctx.loaded("untranslated.glossaries") is None  # nothing flagged: never loaded


def test_a_lone_string_option_is_one_phrase() -> None:
    text = "Officials said the ley mordaza would be reformed."
    assert detect(text, accepted_vocabulary="ley mordaza") == []


def test_missing_vocabulary_file_warns_and_still_scans(tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match="vocabulary"):
        findings = detect(
            "The cabinet approved the legge di bilancio late on Friday.",
            vocabulary_files=[str(tmp_path / "absent.txt")],
        )
    assert [f.code for f in findings] == ["MT302"]


def test_loanword_lexicon_is_large_and_covers_every_language() -> None:
    (lex,) = builtin("loanword")
    assert len(lex.entries) >= 150
    languages = {e.get("language") for e in lex.entries}
    assert set(SOURCE_LANGUAGES) <= languages
    words = {e["word"] for e in lex.entries}
    for required in ("fiesta", "déjà vu", "coup d'état", "zeitgeist", "paparazzi", "favela"):
        assert required in words


def test_a_repeated_stray_phrase_is_one_finding_per_sentence() -> None:
    """(Its speed is measured in `make bench`, not here.)"""
    sentence = (
        "The government said on Tuesday that the talks with the unions would continue "
        "next week, and that the ley de presupuestos would be approved before summer. "
    )
    text = sentence * 24  # ~600 words
    det = UntranslatedDetector(Context())
    doc, seg = Document("t", text), segment(text)
    findings = list(det.detect(doc, seg))
    assert len(findings) == 24
    assert {f.text for f in findings} == {"ley de presupuestos"}
    assert findings == list(det.detect(doc, seg))  # the second pass, from warm caches


# --- mtaudit.langid ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "word, lang",
    [
        ("presupuestos", "es"),
        ("gibt", "de"),
        ("légèrement", "fr"),
        ("bilancio", "it"),
        ("orçamento", "pt"),
    ],
)
def test_best_source_language(word: str, lang: str) -> None:
    best, margin = langid.best_source(word)
    assert best == lang and margin >= 2.0


def test_english_words_are_not_foreign() -> None:
    for word in ("government", "minister", "crisis", "the"):
        assert langid.best_source(word)[1] < 1.0, word


def test_score_phrase_prefers_and_excludes() -> None:
    score = langid.score_phrase(["esta", "crisis"])
    assert score is not None and score.language == "es" and score.margin > 2.0
    assert langid.score_phrase(["pelos"]).language == "pt"
    assert langid.score_phrase(["pelos"], exclude=["pt"]).language == "es"
    assert langid.score_phrase(["governo"], prefer=["it"]).language == "it"
    assert langid.score_phrase([]) is None


def test_unknown_words_are_neutral() -> None:
    assert set(langid.zipf_scores("xqzvkwj")) == {langid.ZIPF_FLOOR}
    assert langid.normalise("Junta’s") == "junta"
    assert langid.strip_accents("déjà vu") == "deja vu"


def test_glossaries_come_from_the_index_cache_as_read(tmp_path, monkeypatch):
    # Cached so that a scan does not parse five TOML files again; what comes back from the
    # cache (second call) is what reading the files gives.
    monkeypatch.setenv("MTAUDIT_CACHE_DIR", str(tmp_path))
    read = untranslated._read_glossaries()
    assert read.get("es") and all(isinstance(v, list) for v in read["es"].values())
    first = untranslated._load_glossaries()
    assert list((tmp_path / "indexes").glob("untranslatedgloss-*.pickle"))
    assert untranslated._load_glossaries() == first == read
