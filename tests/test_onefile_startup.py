"""What keeps a one-file scan's start-up short: lazy subcommands, the lemminflect table,
the Apertium stages started early and adopted by the cached index."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mtaudit.backtranslate.lexical import ApertiumLexicon, pair_files


def test_a_scan_does_not_import_the_other_subcommands():
    code = (
        "import sys; from mtaudit.cli import build_parser; "
        "build_parser(['scan', 'x.txt']).parse_args(['scan', 'x.txt']); "
        "print(sorted(m for m in ('mtaudit.review', 'mtaudit.show', 'mtaudit.server') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_named_subcommand_gets_its_full_parser():
    from mtaudit.cli import build_parser

    args = build_parser(["show", "r.json"]).parse_args(["show", "r.json"])
    assert args.func.__module__ == "mtaudit.show"


def test_lemma_table_answers_as_lemminflect(tmp_path, monkeypatch):
    pytest.importorskip("lemminflect")
    from lemminflect import getAllLemmas, getInflection

    from mtaudit import lemmacache

    monkeypatch.setenv("MTAUDIT_CACHE_DIR", str(tmp_path))
    lemmacache._table.cache_clear()
    try:
        assert lemmacache._table() is not None
        assert list((tmp_path / "indexes").glob("lemminflect-*.sqlite3"))
        for word in ("marched", "officials", "through", "italy", "xyzzy", "be", "'d"):
            want = {k: tuple(v) for k, v in getAllLemmas(word).items()}
            assert lemmacache.all_lemmas(word) == want
        for lemma in ("mince", "have", "be", "go", "inflame", "xyzzy"):
            for tag in lemmacache.VERB_TAGS:
                assert lemmacache.inflection(lemma, tag) == tuple(getInflection(lemma, tag) or ())
        # Irregular, mass and capitalised nouns (the last is asked of lemminflect itself).
        for noun in ("knife", "foot", "sand", "crisis", "official", "Minister", "xyzzy"):
            assert lemmacache.inflection(noun, "NNS") == tuple(getInflection(noun, "NNS") or ())
        with lemmacache._lock:
            held = lemmacache._table().execute("SELECT v FROM infl WHERE l = 'knife'").fetchone()
        assert held == ('["knives"]',)  # answered from the table, not by loading lemminflect
    finally:
        lemmacache._table.cache_clear()


@pytest.mark.skipif(pair_files("es") is None, reason="Apertium eng-spa not installed")
def test_started_stages_are_adopted_by_another_lexicon():
    started, cached = ApertiumLexicon("es"), ApertiumLexicon("es")
    started.start()
    procs = [s._proc for s in (started._en_morf, started._en_bil, started._src_morf)]
    assert all(p is not None and p.alive() for p in procs)
    cached.adopt(started)
    try:
        assert [s._proc for s in (cached._en_morf, cached._en_bil, cached._src_morf)] == procs
        assert all(s._proc is None for s in started._stages())
        (units,) = cached.analyse_english(["houses"])
        assert any("house<n><pl>" in a for u in units for a in u.analyses)
    finally:
        cached.close()
    assert all(not p.alive() for p in procs)
