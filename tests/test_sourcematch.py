"""The back-projection idiom engine: Apertium's lexical stages and lemma matching.

Stream parsing runs everywhere; everything else needs Debian's apertium-eng-spa and is
skipped without it.
"""

from __future__ import annotations

import dataclasses
import os
import pickle
from collections.abc import Iterator

import pytest

from mtaudit import formtable, indexcache
from mtaudit.backtranslate.lexical import (
    ApertiumLexicon,
    Unit,
    lemma_of,
    pair_files,
    parse_stream,
    parts,
    pretransfer,
)
from mtaudit.detectors.base import Context
from mtaudit.detectors.idiom import IdiomDetector
from mtaudit.idiommatch import build_index
from mtaudit.model import Document
from mtaudit.segment import segment
from mtaudit.sourcematch.compile import _project_all

# --- the Apertium stream format (no Apertium needed) ---------------------------------------


def test_parse_stream_keeps_every_analysis():
    units = parse_stream(
        r"^He/prpers<prn><subj>$ \^ ^in front of/in front of<pr>$"
        r"^al/a<pr>+el<det><def>$ ^a\/b/*a\/b$ ^fire/fire<n><sg>/fire<vblex><inf>$"
    )
    assert units == [
        Unit("He", ("prpers<prn><subj>",)),
        Unit("in front of", ("in front of<pr>",)),
        Unit("al", ("a<pr>+el<det><def>",)),
        Unit("a/b", ()),  # unknown: "*" analyses are dropped
        Unit("fire", ("fire<n><sg>", "fire<vblex><inf>")),
    ]
    assert not units[3].known and units[4].known


def test_lemmas_multiwords_and_joined_analyses():
    assert lemma_of("throw<vblex><past>") == "throw"
    assert lemma_of("feel<vblex><ger># dizzy") == "feel dizzy"
    assert lemma_of("throw# out<vblex>") == "throw out"
    assert pretransfer("feel<vblex><ger># dizzy") == "feel# dizzy<vblex><ger>"
    assert pretransfer("throw# out<vblex>") == "throw# out<vblex>"
    assert parts("a<pr>+el<det>") == ["a<pr>", "el<det>"]


# --- with Apertium -----------------------------------------------------------------------------

needs_apertium = pytest.mark.skipif(
    pair_files("es") is None, reason="Debian's apertium-eng-spa is not installed"
)


@pytest.fixture(scope="module")
def detector() -> Iterator[IdiomDetector]:
    with IdiomDetector(Context()) as det:  # close() ends its Apertium processes
        if not det.projected:
            pytest.skip("Debian's apertium-eng-spa is not installed")
        yield det


def ids(detector: IdiomDetector, text: str) -> dict[str, str]:
    """idiom id -> flagged text."""
    return {
        f.evidence["idiom_id"]: f.text for f in detector.detect(Document("t", text), segment(text))
    }


@needs_apertium
def test_bilingual_dictionary_lists_every_alternative():
    lx = ApertiumLexicon("es")
    try:
        found = lx.to_source(["nail<n><sg>", "fire<vblex><inf>"])
        assert {lemma_of(a) for a in found["nail<n><sg>"]} >= {"uña", "clavo"}
        assert {lemma_of(a) for a in found["fire<vblex><inf>"]} >= {"disparar", "despedir"}
        (units,) = lx.analyse_english(["He threw firewood."])
        assert [u.surface for u in units] == ["He", "threw", "firewood", "."]
        assert lx.source_analyses(["pelos"]) == {"pelos": ()}  # not in Apertium's Spanish
    finally:
        lx.close()


@needs_apertium
@pytest.mark.parametrize(
    ("text", "idiom", "span"),
    [
        # Another verb than the citation form's (meter for poner): the glossary engine's
        # literals miss it, the lemmas do not.
        (
            "The union has dipped the toe in the sore again.",
            "es.dedo-llaga",
            "dipped the toe in the sore",
        ),
        ("The rescue plan makes waters everywhere.", "es.hacer-aguas", "makes waters"),
        # An object between the verb and the rest of the idiom.
        (
            "The mayor left the residents in the palisade.",
            "es.estacada",
            "left the residents in the palisade",
        ),
        # Adjective before the noun, as English puts it ("vista gorda" -> "fat view").
        (
            "The government does the fat view on holiday flats.",
            "es.vista-gorda",
            "does the fat view",
        ),
        # A passive, with the verb Apertium chose.
        (
            "Several investors were caught with the foot changed by the decision.",
            "es.pie-cambiado",
            "with the foot changed",
        ),
        # A Spanish word passed through, inflected otherwise than in the citation form.
        (
            "The opposition rasgó the vestiduras over the appointment.",
            "es.vestiduras",
            "rasgó the vestiduras",
        ),
    ],
)
def test_literal_renderings_are_found_by_their_lemmas(detector, text, idiom, span):
    found = ids(detector, text)
    assert idiom in found, found
    assert span in found[idiom]


@needs_apertium
@pytest.mark.parametrize(
    "text",
    [
        # Idiomatic English, whatever it projects onto.
        "The minister is in the spotlight after the reform.",
        "The deficit is only the tip of the iceberg, analysts said.",
        "The government turned a deaf ear to the doctors.",
        # Ordinary English made of an idiom's words.
        "He suffered only a broken arm at first.",
        "Wiley appeared to say it was him who had cut ties with his management.",
        "Thousands marched behind a banner on Sunday.",
        "He pays for the duck pond out of his own pocket.",
        "Only a superb stop from point-blank range kept the score down.",
        "Whoever is picked will watch it dispassionately.",
        "He told the BBC that the plan was dead.",
    ],
)
def test_english_is_left_alone(detector, text):
    assert ids(detector, text) == {}


@needs_apertium
def test_a_text_gets_the_same_matches_whatever_came_before(detector):
    text = "The deputy threw firewood to the fire and the mayor did the fat view."
    first = ids(detector, text)
    for other in ("Nothing here.", "The club has lost the north this season.", "Ein Wort."):
        ids(detector, other)
    assert ids(detector, text) == first and len(first) == 2


@needs_apertium
def test_compiled_index_pickles_without_processes(detector, tmp_path):
    index = detector.projected[0]
    text = "The union has dipped the toe in the sore again."
    index.scan(text, [(0, len(text))])  # starts the processes
    copy = pickle.loads(pickle.dumps(index))
    # Scan state is not part of the index.
    assert copy.lm is None and not copy._words and copy.table is None
    assert [m.pattern.idiom["id"] for m in copy.scan(text, [(0, len(text))])] == ["es.dedo-llaga"]
    copy.lexicon.close()


@needs_apertium
def test_processes_are_not_shared_across_a_fork(monkeypatch):
    lx = ApertiumLexicon("es")
    try:
        lx.analyse_english(["one"])
        parent = lx._en_morf._proc
        monkeypatch.setattr(os, "getpid", lambda: -1)  # as a forked worker sees it
        assert lx.analyse_english(["two"])[0][0].surface == "two"
        assert lx._en_morf._proc is not parent  # its own process, the parent's untouched
        assert parent.alive()
    finally:
        lx.close()  # while the pid is still the fork's: the fork's process is its to end
        monkeypatch.undo()
        parent.close()


@needs_apertium
def test_common_words_table_answers_as_projection_does(detector, tmp_path):
    """The table built with the index holds what ``words()`` computes for each form, so a
    scan matches the same with it as without it."""
    index = detector.projected[0]
    assert index.table is not None  # the bundled lexicons' index has one
    fresh = dataclasses.replace(index, _words={}, table=None)  # same lexicon, no table
    forms = formtable.common_forms(3000)
    table = formtable.attach(tmp_path, "sourcees-test", lambda _: _project_all(fresh, forms))
    try:
        sample = [*forms[::37], "the", "Fire", "Lime", "sand", "fled", "cal", "Zugspitze"]
        stored = table.get_many(sample)
        assert {"the", "Fire"} <= set(stored) and "Zugspitze" not in stored
        fresh._words.clear()
        assert stored == {w: i for w, i in fresh.words(sample).items() if w in stored}
        # A scan through the table finds what the same index finds without one.
        text = "The government gives one of lime and another of sand to the unions."
        with_table = dataclasses.replace(index, _words={}, table=table)
        found = [m.pattern.idiom["id"] for m in with_table.scan(text, [(0, len(text))])]
        assert found == [m.pattern.idiom["id"] for m in fresh.scan(text, [(0, len(text))])]
        assert found and with_table._words["gives"] == fresh._words["gives"]
    finally:
        table.close()


@needs_apertium
def test_a_projection_does_not_depend_on_its_batch(detector):
    """ "San" (capitalised: a name) is not analysed as Spanish, whether or not a lower-case
    "san" is projected with it: the table's answers, computed in one big batch, are the
    ones a scan computes a document at a time."""
    index = dataclasses.replace(detector.projected[0], _words={}, table=None)
    alone = index.words(["San"])["San"]
    index._words.clear()
    assert index.words(["san", "San"])["San"] == alone


def test_index_cache_reuses_a_build_and_rebuilds_on_change(tmp_path):
    builds = []

    def build() -> list[int]:
        builds.append(1)
        return [1, 2, 3]

    lex = tmp_path / "lexicon.toml"
    lex.write_text("a = 1", encoding="utf-8")
    key = indexcache.digest("test", [lex])
    assert indexcache.cached(key, build, tmp_path) == [1, 2, 3]
    assert indexcache.cached(key, build, tmp_path) == [1, 2, 3]
    assert len(builds) == 1
    lex.write_text("a = 2", encoding="utf-8")
    assert indexcache.digest("test", [lex]) != key
    (tmp_path / f"{key}.pickle").write_bytes(b"not a pickle")
    assert indexcache.cached(key, build, tmp_path) == [1, 2, 3]  # a corrupt cache is rebuilt
    assert len(builds) == 2


@needs_apertium
def test_projection_off_leaves_the_glossary_engine():
    det = IdiomDetector(Context(options={"idiom_projection": "off"}))
    assert det.projected == [] and det.model_signature() is None
    text = "The union has dipped the toe in the sore again."
    assert [m for m in build_index().scan(text, [(0, len(text))])] == []
    assert ids(det, text) == {}
