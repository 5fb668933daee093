"""The on-disk table of answers for common words (mtaudit.formtable)."""

from __future__ import annotations

import os

import pytest

from mtaudit import formtable


def test_common_forms_are_frequent_words_as_a_scan_meets_them():
    forms = formtable.common_forms(2000)
    assert {"the", "The", "don't", "don’t", "Don’t", "house", "House"} <= set(forms)
    assert not any(c.isdigit() for f in forms for c in f)
    assert len(forms) == len(set(forms))
    lower = formtable.common_forms(2000, capitalised=False)
    assert "the" in lower and "The" not in lower


def test_attach_builds_once_then_reads(tmp_path):
    calls = []

    def answers(forms):
        calls.append(len(forms))
        return [(f, frozenset({f.lower(), "x"})) for f in forms[:100]]

    table = formtable.attach(tmp_path, "glossary-abc", answers)
    again = formtable.attach(tmp_path, "glossary-abc", answers)
    try:
        assert len(calls) == 1 and calls[0] > 1000  # built from the common forms, once
        got = again.get_many(["the", "of", "Zugspitze"])
        assert got == {"the": frozenset({"the", "x"}), "of": frozenset({"of", "x"})}
        assert again.get_many([]) == {}
    finally:
        table.close()
        again.close()
    assert not list(tmp_path.glob(".*.tmp"))  # written beside, then renamed


def test_no_folder_or_a_damaged_table_means_no_answers(tmp_path):
    assert formtable.attach(None, "glossary-abc", lambda forms: []) is None
    path = tmp_path / f"glossary-abc.forms{formtable.FORMAT}.sqlite"
    path.write_bytes(b"not a database" * 100)
    table = formtable.FormTable(path)
    assert table.get_many(["the"]) == {}  # the caller computes every form itself


def test_a_cache_folder_that_cannot_be_written_costs_nothing(tmp_path):
    """The answers are optional: when the table cannot be written they are not computed
    (they would take seconds, on every scan), and the folder is not tried again."""
    (tmp_path / "file").write_text("not a folder")
    folder = tmp_path / "file" / "indexes"  # mkdir fails, even for root
    asked = []
    for _ in range(2):
        assert formtable.attach(folder, "glossary-abc", lambda forms: asked.append(1)) is None
    assert asked == []


def test_old_tables_are_pruned(tmp_path):
    for k in range(6):
        table = formtable.attach(tmp_path, f"glossary-{k:03d}", lambda forms, k=k: [("the", k)])
        os.utime(table.path, (k, k))
    left = sorted(p.name.split(".")[0] for p in tmp_path.glob("glossary-*.sqlite"))
    assert left == ["glossary-002", "glossary-003", "glossary-004", "glossary-005"]


def test_a_forked_process_opens_its_own_connection(tmp_path, monkeypatch):
    table = formtable.attach(tmp_path, "glossary-abc", lambda forms: [("the", 1)])
    assert table.get_many(["the"]) == {"the": 1}
    parent = table._db
    monkeypatch.setattr(os, "getpid", lambda: -1)  # as a forked worker sees it
    assert table.get_many(["the"]) == {"the": 1}
    assert table._db is not parent
    parent.execute("SELECT 1").fetchone()  # the parent's connection is left alone
    table.close()
    monkeypatch.undo()
    parent.close()


@pytest.mark.parametrize("bad", [b"", b"SQLite format 3\x00" + b"\x00" * 200])
def test_truncated_tables_are_not_used(tmp_path, bad):
    path = tmp_path / f"glossary-abc.forms{formtable.FORMAT}.sqlite"
    path.write_bytes(bad)
    assert formtable.FormTable(path).get_many(["the"]) == {}


def test_a_damaged_table_is_removed_so_the_next_run_builds_it(tmp_path):
    table = formtable.attach(tmp_path, "glossary-abc", lambda forms: [("the", 1)])
    table.close()
    table.path.write_bytes(b"not a database" * 100)
    assert formtable.FormTable(table.path).get_many(["the"]) == {}
    assert not table.path.exists()
    again = formtable.attach(tmp_path, "glossary-abc", lambda forms: [("the", 2)])
    assert again.get_many(["the"]) == {"the": 2}
    again.close()


def test_threads_of_one_process_build_a_table_once(tmp_path):
    import threading
    import time

    built = []

    def answers(forms):
        built.append(1)
        time.sleep(0.2)  # long enough for the other thread to arrive meanwhile
        return [("the", 1)]

    tables = []
    threads = [
        threading.Thread(
            target=lambda: tables.append(formtable.attach(tmp_path, "glossary-t", answers))
        )
        for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert built == [1] and len(tables) == 3
    for t in tables:
        assert t.get_many(["the"]) == {"the": 1}
        t.close()


def test_fill_adds_only_what_the_cache_lacks(tmp_path):
    table = formtable.attach(tmp_path, "glossary-f", lambda forms: [("the", 1), ("of", 2)])
    try:
        cache = {"the": 99}
        table.fill(cache, ["the", "of", "of", "zugspitze"])
        assert cache == {"the": 99, "of": 2}  # a cached answer is kept; unknown forms absent
    finally:
        table.close()
