"""MT1xx idiom detector: the lemmatiser, lexicon loading and recall on real MT.

Its pass/fail/fix cases are in tests/rules/idiom.toml (run by tests/test_rules.py).
"""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from mtaudit.detectors.base import Context
from mtaudit.detectors.idiom import DETECTORS, IdiomDetector
from mtaudit.idiommatch import (
    EnglishIdioms,
    base_forms,
    build_index,
    lemma_candidates,
    load_glossary,
    tokenize,
)
from mtaudit.lexicons import LEXICON_DIR, LexiconError, load_file
from mtaudit.model import Document, Severity
from mtaudit.segment import segment

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
DEV = DATA / "idioms"


@pytest.fixture(scope="module")
def detector() -> Iterator[IdiomDetector]:
    with IdiomDetector(Context()) as det:  # close() ends its Apertium processes
        yield det


def detect(detector: IdiomDetector, text: str) -> list:
    return list(detector.detect(Document("t", text), segment(text)))


# --- the seed article ------------------------------------------------------------------


def test_seed_article_flags_lime_and_sand(detector, seed_text):
    findings = detect(detector, seed_text)
    hits = [f for f in findings if "one of lime and another of sand" in f.text]
    assert len(hits) == 1
    f = hits[0]
    assert f.code == "MT101" and f.source_language == "es"
    assert f.severity == Severity.ERROR
    assert f.suggestion == f.evidence["english"][0]
    assert f.message.startswith("Literal translation of the Spanish idiom")
    for key in ("idiom_id", "source", "meaning", "literal", "score"):
        assert f.evidence[key]


# --- findings and rules ----------------------------------------------------------------


def test_rules_are_documented():
    (cls,) = DETECTORS
    assert cls.prefix == "MT1" and cls.category == "idiom"
    assert [r.code for r in cls.rules] == ["MT101", "MT102"]
    for rule in cls.rules:
        assert rule.severity == Severity.ERROR and rule.category == "idiom"
        assert all([rule.summary, rule.why, rule.example, rule.fix])


def test_rule_examples_are_flagged_with_their_own_code(detector):
    for rule in IdiomDetector.rules:
        codes = [f.code for f in detect(detector, rule.example)]
        assert codes == [rule.code], rule.example


def test_message_uses_first_clause_of_meaning(detector):
    text = "The new stadium cost the eyes of the head."
    (f,) = detect(detector, text)
    idiom = next(i for i in detector.index.idioms if i["id"] == f.evidence["idiom_id"])
    assert "French idiom" in f.message and idiom["source"] in f.message
    assert idiom["meaning"].split(";")[0].strip() in f.message
    assert 0.5 <= f.confidence <= 1.0


def test_shared_literal_goes_to_the_documents_language(detector):
    # "swallow toads" is Spanish (tragar sapos) and Portuguese (engolir sapos).
    pair = {"es.tragar-sapos", "pt.engolir-sapos"}
    alone = "The partners have had to swallow toads all year."
    (f,) = detect(detector, alone)
    assert {f.evidence["idiom_id"], *f.evidence["also"]} == pair
    other = (pair - {f.evidence["idiom_id"]}).pop()
    lang = other.split(".")[0]
    # An unambiguous idiom of the other language in the document moves the finding there...
    unambiguous = {
        "es": "The Government gave one of lime and another of sand to the unions.",
        "pt": "The opposition covered the sun with a sieve.",
    }[lang]
    findings = detect(detector, f"{alone} {unambiguous}")
    assert findings[0].evidence["idiom_id"] == other
    assert findings[0].evidence["also"] == [f.evidence["idiom_id"]]
    # ...and so does the user's hint.
    with IdiomDetector(Context(options={"source_language": lang})) as hinted:
        assert [x.evidence["idiom_id"] for x in detect(hinted, alone)] == [other]


def test_each_occurrence_is_a_finding_even_in_a_run_on_sentence(detector):
    # No capital after the full stops: the segmenter sees one sentence.
    text = "they threw firewood on the fire. then they threw firewood on the fire again."
    findings = detect(detector, text)
    assert [f.text for f in findings] == ["threw firewood on the fire"] * 2


def test_a_long_run_on_text_finds_what_a_short_one_finds(detector):
    # 14,000 tokens in one "sentence": the matcher's answer does not depend on the length
    # (first and last occurrence, the last one shifted by the extra text). How its time
    # grows with length is measured in make bench (bench_latency), not here.
    unit = "the fire and the firewood were thrown "
    short, long = detect(detector, unit * 20), detect(detector, unit * 2000)
    shift = len(unit) * 1980
    assert short and [f.text for f in long] == [f.text for f in short]
    assert [f.start for f in long] == [
        f.start if f.start < len(unit) else f.start + shift for f in short
    ]


def test_offsets_point_into_a_longer_document(detector):
    text = "First paragraph here.\n\nSecond one: the minister has other cats to whip. The end."
    (f,) = detect(detector, text)
    assert text[f.start : f.end] == f.text == "has other cats to whip"


# --- the lemmatiser --------------------------------------------------------------------


@pytest.mark.parametrize(
    "form, base",
    [
        ("threw", "throw"),
        ("thrown", "throw"),
        ("feet", "foot"),
        ("hairs", "hair"),
        ("running", "run"),
        ("carried", "carry"),
        ("washes", "wash"),
        ("leaves", "leaf"),
        ("stopped", "stop"),
        ("making", "make"),
        ("paid", "pay"),
        ("minister's", "minister"),
        # Irregular forms the old hand-written table lacked (lemminflect has them).
        ("strove", "strive"),
        ("geese", "goose"),
    ],
)
def test_lemma_candidates_include_the_base(form, base):
    assert base in lemma_candidates(form)


def test_irregular_groups_do_not_bleed_into_each_other():
    # A table typo once mapped "paid" to "meet"; each form has only its own base.
    assert lemma_candidates("paid") == {"paid", "pay"}
    assert "build" not in lemma_candidates("brought")


def test_vocabulary_forms_keep_only_real_words():
    # Suffix guesses (for a word lemminflect does not know) are harmless for text tokens
    # but must not enter the vocabulary.
    assert "blork" in lemma_candidates("blorking")
    assert base_forms("blorking") == {"blorking"}
    assert "cook" in base_forms("cooked")


def test_known_words_take_lemminflect_lemmas_not_suffix_guesses():
    # lemminflect knows "spring": no "spr"/"spre" guesses, no "sing" from "-ing".
    assert lemma_candidates("spring") == {"spring"}
    # Adjective lemmas are left out: "better" is no form of "good" in a literal.
    assert lemma_candidates("better") == {"better"}
    assert lemma_candidates("went") == {"went", "go"}


# --- English idiom allowlist -----------------------------------------------------------


def test_english_idiom_file():
    lex = load_file(LEXICON_DIR / "english-idioms.toml")
    phrases = {e["phrase"] for e in lex.entries}
    assert len(phrases) >= 60
    for p in (
        "throw in the towel",
        "around the corner",
        "in the eye of the storm",
        "up in the air",
    ):
        assert p in phrases


@pytest.mark.parametrize(
    "text, matched",
    [
        ("investors threw in the towel", True),
        ("they are throwing in the proverbial towel", True),
        ("she washed her hands of the affair", True),
        ("the minister washed his hands before dinner", False),
        ("a towel was thrown on the floor", False),
    ],
)
def test_english_idiom_matching_is_tolerant_but_exact_in_shape(text, matched):
    allow = EnglishIdioms(["throw in the towel", "wash one's hands of"])
    assert bool(allow.spans([t.text for t in tokenize(text)])) is matched


def _custom_lexicon(tmp_path: Path, literal: str) -> Path:
    path = tmp_path / "my-idioms.toml"
    path.write_text(
        '[meta]\nkind = "idiom"\nlanguage = "es"\nversion = "1"\n\n'
        '[[idiom]]\nid = "es.test-toalla"\nsource = "tirar la toalla"\n'
        'meaning = "give up"\nenglish = ["give up"]\n'
        f'literal = ["{literal}"]\nprovenance = "test"\n',
        encoding="utf-8",
    )
    return path


def test_user_idiom_files_are_loaded_and_english_idioms_win(tmp_path):
    path = _custom_lexicon(tmp_path, "throw the towel")
    with IdiomDetector(Context(options={"idiom_files": str(path)})) as det:  # a path or a list
        assert det.index.table is None  # common words' table: bundled lexicons only
        flagged = detect(det, "The striker threw the towel after the second goal.")
        assert [f.evidence["idiom_id"] for f in flagged] == ["es.test-toalla"]
        # The same words in the English idiom's shape are never flagged.
        assert detect(det, "The striker threw in the towel after the second goal.") == []


def test_a_literal_that_is_an_english_idiom_is_dropped_and_reported(tmp_path):
    index = build_index(idiom_files=[_custom_lexicon(tmp_path, "throw in the towel")])
    assert not [p for p in index.patterns if p.idiom["id"] == "es.test-toalla"]
    assert any("es.test-toalla" in i and "English idiom" in i for i in index.issues)


def test_common_words_table_gives_the_keys_a_scan_computes(detector, tmp_path):
    """The glossary index's table of common words holds ``word_keys`` of each form, so a
    scan through it matches exactly as one without it; a user lexicon's index has none."""
    index = detector.index
    assert index.table is not None
    before = dict(index._word_keys)
    answers = dict(index.answers_for(["the", "The", "thrown", "cal", "arena", "Lime"]))
    assert set(answers) == {"the", "thrown", "cal", "arena"}  # lower-case forms only
    assert index._word_keys == before  # building a table leaves the scan's cache alone
    assert "throw" in answers["thrown"]
    stored = index.table.get_many(["the", "thrown", "arena", "zugspitze"])
    assert "zugspitze" not in stored
    assert stored == {w: answers[w] for w in stored}
    text = (
        "The minister gave one of lime and another of sand. Then he threw the house out of "
        "the window, and the mayor put the cart before the oxen at the party."
    )
    with_table = [(f.start, f.end, f.evidence["idiom_id"]) for f in detect(detector, text)]
    table, index.table = index.table, None
    index._word_keys.clear()
    try:
        without = [(f.start, f.end, f.evidence["idiom_id"]) for f in detect(detector, text)]
    finally:
        index.table = table
    assert with_table == without and len(with_table) >= 2


def test_index_is_built_once_per_context():
    ctx = Context()
    a, b = IdiomDetector(ctx), IdiomDetector(ctx)
    assert a.index is b.index


def test_bad_glossary_reports_path(tmp_path):
    bad = tmp_path / "glossary-xx.toml"
    bad.write_text('[meta]\nkind = "glossary"\nlanguage = "xx"\n[words]\ncal = 3\n')
    with pytest.raises(LexiconError, match="glossary-xx.toml"):
        load_glossary(bad)


# --- lexicon health --------------------------------------------------------------------


def test_every_bundled_idiom_compiles(detector):
    index = detector.index
    compiled = {p.idiom["id"] for p in index.patterns}
    dropped = {i["id"] for i in index.idioms} - compiled
    # An idiom may lose all its patterns only for a reported reason.
    for iid in dropped:
        assert any(iid in issue for issue in index.issues), iid
    assert len(compiled) >= 0.95 * len(index.idioms)


# --- recall on real machine translation ------------------------------------------------


def _recall_script():
    spec = importlib.util.spec_from_file_location("idiom_recall", ROOT / "scripts/idiom_recall.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_recall_on_saved_apertium_dev_set(detector):
    script = _recall_script()
    pairs = script.read_dev("es")
    translations = (DEV / "dev-es.apertium.txt").read_text(encoding="utf-8").rstrip("\n")
    translations = translations.split("\n")
    assert len(pairs) >= 150 and len(translations) == len(pairs)
    known = {i["id"] for i in detector.index.idioms}
    assert {iid.lstrip("~") for iid, _ in pairs} <= known
    expected = [iid for iid, _ in pairs]
    found, misses, flagged = script.recall(detector, expected, translations)
    assert found + len(misses) >= 150
    # With Apertium's dictionaries the back-projection engine adds to the glossary engine.
    floor = 0.95 if detector.projected else 0.85
    assert found / (found + len(misses)) >= floor, [translations[i] for i in misses]
    # Where Apertium rendered the idiom idiomatically there is nothing to flag.
    assert flagged == [], [translations[i] for i in flagged]


def test_dev_sentences_are_the_apertium_input():
    pairs = _recall_script().read_dev("es")
    plain = DEV.joinpath("dev-es.txt").read_text(encoding="utf-8").splitlines()
    assert plain == [s for _, s in pairs]


@pytest.mark.skipif(shutil.which("apertium") is None, reason="apertium is not installed")
def test_live_apertium_output_is_flagged(detector):
    script = _recall_script()
    sentences = [
        "El Gobierno dio ayer una de cal y otra de arena a los sindicatos.",
        "La ministra no tiene pelos en la lengua cuando habla de corrupción.",
    ]
    english = script.apertium_translate(sentences, "spa-eng")
    assert len(english) == 2
    for text, iid in zip(english, ["es.cal-arena", "es.pelos-lengua"], strict=True):
        assert iid in [f.evidence["idiom_id"] for f in detect(detector, text)], text


def test_tokens_are_the_token_regex_matches_with_what_separates_them():
    # The tokenizer splits in C and derives offsets from lengths; it must give exactly the
    # bounded TOKEN.finditer reading: each match, its span, and the text since the last one.
    import random

    from mtaudit.idiommatch.english import TOKEN

    rng = random.Random(7)
    alphabet = "ab Zé_1’'-,.ñ\n«»—ß"
    texts = ["", "___", "d'Artagnan’s ’twas 'quoted' rock-’n’-roll", "so, \u00a0 an   end "]
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) for _ in range(400)]
    for text in texts:
        for start, end in {(0, len(text)), (len(text) // 3, len(text)), (0, len(text) // 2)}:
            expected, prev = [], start
            for m in TOKEN.finditer(text, start, end):
                expected.append((m.group(), m.start(), m.end(), text[prev : m.start()]))
                prev = m.end()
            got = [(t.text, t.start, t.end, t.sep) for t in tokenize(text, start, end)]
            assert got == expected, (text, start, end)
            assert all(t.low == t.text.lower().replace("’", "'") for t in tokenize(text))


def test_preload_leaves_the_bundled_glossary_index_to_the_first_document(tmp_path):
    # A re-scan answered by the result cache needs the report signature (the projection
    # indexes) but never the glossary index; a user's lexicon file is still read up front,
    # so that a malformed one stops the scan before it starts.
    with IdiomDetector(Context()) as det:
        det.preload()
        assert det.context.loaded("idiom.index") is None
        det.detect_with_features(Document("d", "It rained."), segment("It rained."))
        assert det.context.loaded("idiom.index") is not None
    bad = tmp_path / "idioms-xx.toml"
    bad.write_text('[meta]\nkind = "idiom"\nlanguage = "es"\n[[idiom]]\nsource = 3\n', "utf-8")
    with IdiomDetector(Context(options={"idiom_files": str(bad)})) as det:
        with pytest.raises(LexiconError):
            det.preload()
