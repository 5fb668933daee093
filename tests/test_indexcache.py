"""The index cache stores compiled indexes with equal values shared, and changes nothing."""

from __future__ import annotations

import pickle

from mtaudit import indexcache
from mtaudit.detectors.calque_lexicon import _build_patterns
from mtaudit.idiommatch import build_index


def test_shared_values_make_a_smaller_pickle_of_an_equal_index():
    index = build_index()
    before = pickle.dumps(index, protocol=pickle.HIGHEST_PROTOCOL)
    shared = indexcache.share_equal(build_index())
    after = pickle.dumps(shared, protocol=pickle.HIGHEST_PROTOCOL)
    assert len(after) < 0.9 * len(before)
    loaded = pickle.loads(after)
    assert loaded.patterns == index.patterns
    assert loaded.trigger == index.trigger
    assert loaded.idioms == index.idioms
    # One object per distinct slot key set across the patterns.
    keys = [s.keys for p in loaded.patterns for s in p.slots]
    assert len({id(k) for k in keys}) == len(set(keys))


def test_only_containers_of_strings_are_shared():
    # 1 == 1.0 == True: a shared key over them would change a value's type.
    data = {"a": (1, "x"), "b": (1.0, "x"), "c": (True, "x"), "d": ("x",), "e": ("x",)}
    out = indexcache.share_equal(data)
    assert [type(v[0]) for v in out.values()] == [int, float, bool, str, str]
    assert out["d"] is out["e"]
    assert list(out) == ["a", "b", "c", "d", "e"]


def test_cached_builds_once_and_answers_from_disk(tmp_path):
    calls = []

    def build():
        calls.append(1)
        return _build_patterns(())

    first = indexcache.cached("calque-test", build, tmp_path)
    second = indexcache.cached("calque-test", build, tmp_path)
    assert len(calls) == 1
    assert second == first
    assert all(p.regex._compiled is None for p in second)  # compiled on first use only


def test_a_new_lemminflect_or_wordfreq_builds_a_new_glossary_index(tmp_path, monkeypatch):
    """Base forms come from lemminflect and word rarity from wordfreq: an index (and its
    table of common words) compiled with another version's answers must not be loaded."""
    from mtaudit import formtable, lemmacache, zipftable
    from mtaudit.detectors import Context
    from mtaudit.detectors.idiom import IdiomDetector

    monkeypatch.setenv("MTAUDIT_CACHE_DIR", str(tmp_path))
    folder = tmp_path / "indexes"
    counts = []
    for upgrade in (None, (lemmacache, "lemminflect-upgraded"), (zipftable, "wordfreq-9")):
        if upgrade:
            monkeypatch.setattr(upgrade[0], "signature", lambda v=upgrade[1]: v)
        with IdiomDetector(Context()) as det:
            assert det.index.table is not None
        counts.append(
            (
                len(list(folder.glob("glossary-*.pickle"))),
                len(list(folder.glob(f"glossary-*.forms{formtable.FORMAT}.sqlite"))),
            )
        )
    assert counts == [(1, 1), (2, 2), (3, 3)]


def test_a_cache_build_is_announced_once(tmp_path):
    """The first run after an install builds caches (~30 s): the CLI's notice is called
    once per process, on the first build only; a hit says nothing."""
    from mtaudit import cachedir, formtable

    told: list[str] = []
    cachedir.on_first_build(told.append)
    try:
        assert indexcache.cached("glossary-aaa", lambda: 1, tmp_path) == 1
        assert told == ["glossary"]
        indexcache.cached("glossary-aaa", lambda: 1, tmp_path)  # a hit
        indexcache.cached("glossary-bbb", lambda: 2, tmp_path)  # a second build
        assert told == ["glossary"]
        cachedir.on_first_build(told.append)  # re-armed
        table = formtable.attach(tmp_path, "glossary-aaa", lambda forms: [("the", 1)])
        table.close()
        assert told == ["glossary", "glossary common words"]
    finally:
        cachedir.on_first_build(None)


def test_scan_notice_only_on_a_terminal_and_not_quiet(monkeypatch, capsys):
    import argparse
    import sys

    from mtaudit import cachedir
    from mtaudit.scan_cmd import _first_build_notice

    try:
        for quiet, tty, shown in ((False, True, True), (True, True, False), (False, False, False)):
            monkeypatch.setattr(sys.stderr, "isatty", lambda tty=tty: tty)
            _first_build_notice(argparse.Namespace(quiet=quiet))
            cachedir.building("idiom indexes")
            err = capsys.readouterr().err
            assert ("building word tables and idiom indexes" in err) is shown, (quiet, tty)
            assert err.count("\n") == int(shown)
    finally:
        cachedir.on_first_build(None)
