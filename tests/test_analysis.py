"""The document's Analysis: words read once, and the steps that read them from it.

Language ID, the untranslated detector and the idiom matcher read the Analysis instead of
tokenising on their own; these tests pin that what they read is what they read before.
"""

from __future__ import annotations

import pytest

from mtaudit import idiommatch, langid, zipftable
from mtaudit.analysis import Analysis, analyse
from mtaudit.detectors.base import Context
from mtaudit.detectors.untranslated import UntranslatedDetector
from mtaudit.idiommatch import sentence_tokens, tokenize
from mtaudit.model import Document, Span
from mtaudit.segment import WORD, Segmentation, segment

TEXT = (
    "Mr. Smith's well-known “rock’n’roll” band (est. 1999) played on 3.5 stages.\n\n"
    "Then — suddenly! — the so-called ley de presupuestos [esta crisis] was voted… "
    "U.S. officials said: 'no comment'. E-mail: a.b@example.com, 2,000 km."
)


def test_words_offsets_forms_and_lower_agree() -> None:
    a = analyse(TEXT)
    assert a.offsets == [m.span() for m in WORD.finditer(TEXT)]
    assert a.words == [Span(s, e) for s, e in a.offsets]
    assert a.forms == WORD.findall(TEXT)
    assert a.lower == [w.lower() for w in a.forms]
    assert "well-known" in a.forms and "Smith's" in a.forms


def test_each_sentence_has_the_words_a_tokeniser_of_that_sentence_finds() -> None:
    for a in (analyse(TEXT), analyse(TEXT).flat):
        assert len(a.sentences) >= 4
        want = [WORD.findall(a.text, s.start, s.end) for s in a.sentences]
        assert a.sentence_words == want
        got = [a.offsets[i:j] for i, j in a.sentence_ranges]
        assert got == [
            [m.span() for m in WORD.finditer(a.text, s.start, s.end)] for s in a.sentences
        ]


def test_of_keeps_an_analysis_and_the_sentences_it_is_given() -> None:
    a = analyse(TEXT)
    assert Analysis.of(a) is a
    seg = Segmentation(TEXT, [Span(0, len(TEXT))], [Span(0, 20), Span(21, 60)])
    b = Analysis.of(seg)
    assert isinstance(b, Analysis) and b.sentences == seg.sentences and b.text == TEXT
    assert b.sentence_words == [WORD.findall(TEXT, 0, 20), WORD.findall(TEXT, 21, 60)]


def test_a_view_is_built_once_per_analysis() -> None:
    a, calls = analyse(TEXT), []

    def build(x: Analysis) -> int:
        calls.append(x)
        return len(x.words)

    assert a.view("n", build) == a.view("n", build) == len(a.words)
    assert calls == [a]
    assert analyse(TEXT).view("n", lambda x: -1) == -1  # per analysis, not per text


def test_idiom_tokens_are_the_matchers_own_and_read_once() -> None:
    a = analyse(TEXT)
    tokens = sentence_tokens(a)
    assert tokens is sentence_tokens(a)
    assert [list(t) for t in tokens] == [tokenize(TEXT, s.start, s.end) for s in a.sentences]
    # Not the Analysis's words: an idiom token stops at a hyphen.
    texts = [t.text for sent in tokens for t in sent]
    assert "well" in texts and "known" in texts and "well-known" not in texts


def test_the_glossary_engine_finds_the_same_over_the_analysis() -> None:
    text = (
        "The minister gave one of lime and another of sand to the unions. "
        "The senator does not have pelos in the tongue."
    )
    index = idiommatch.build_index()
    a = analyse(text)
    spans = [(s.start, s.end) for s in a.sentences]
    plain = [(m.start, m.end, m.pattern.idiom["id"]) for m in index.scan(text, spans)]
    shared = [(m.start, m.end, m.pattern.idiom["id"]) for m in index.scan_analysis(a)]
    assert plain == shared and len(plain) == 2


def test_batched_frequencies_are_the_single_lookups() -> None:
    words = ["casa", "House", "Straße", "maison", "don't", "covid-19", "zzqxj", "l'homme", "x²"]
    got = zipftable.zipf_all_many(words)
    assert set(got) == set(words)
    for w in words:
        assert got[w] == zipftable.zipf_all(w), w


def test_prefetched_language_scores_are_the_ones_asked_one_by_one(monkeypatch) -> None:
    words = ["presupuestos", "junta's", "Casa", "the", "nuit", "zzqxj"]
    monkeypatch.setattr(langid, "_SCORES", {})
    one_by_one = [langid.zipf_scores(w) for w in words]
    monkeypatch.setattr(langid, "_SCORES", {})
    langid.prefetch(words)
    assert set(langid._SCORES) == set(words)
    assert [langid.zipf_scores(w) for w in words] == one_by_one
    assert one_by_one[-1] == (langid.ZIPF_FLOOR,) * len(langid.LANGUAGES)


@pytest.mark.parametrize(
    "text",
    [
        TEXT,
        "The government approved the ley de presupuestos on Tuesday.",
        "Even if we prefer to defuse [esta crisis] through diplomatic channels.",
        "Nothing foreign here at all.",
        "   ",
    ],
)
def test_untranslated_finds_the_same_given_a_segmentation_or_an_analysis(text: str) -> None:
    doc = Document("t", text)
    det = UntranslatedDetector(Context())
    with_seg = [(f.code, f.start, f.end, f.suggestion) for f in det.detect(doc, segment(text))]
    with_analysis = [(f.code, f.start, f.end, f.suggestion) for f in det.detect(doc, analyse(text))]
    assert with_seg == with_analysis
    if "presupuestos" in text or "[esta" in text:
        assert with_seg  # the fixture texts do flag


def test_lemmas_are_lemminflects_verb_then_noun_readings():
    from lemminflect import getAllLemmas

    from mtaudit.analysis import analyse

    a = analyse("The ministers marched through the streets. Children were running to Xqzv.")
    want = []
    for word in a.lower:
        found = getAllLemmas(word)
        pos = next((p for p in ("VERB", "NOUN", "ADJ", "ADV") if found.get(p)), None)
        want.append(found[pos][0] if pos else word)
    assert a.lemmas == want
    assert a.lemmas[1:3] == ["minister", "march"] and "child" in a.lemmas and "xqzv" in a.lemmas
