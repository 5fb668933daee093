"""The result cache: a re-scan of unchanged documents reads their reports instead of
auditing them, and writes byte for byte what a cold scan writes."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from conftest import CORPORA

from mtaudit import indexcache, resultcache
from mtaudit.model import Document, DocumentReport, Finding
from mtaudit.pipeline import Auditor
from mtaudit.resultcache import CACHE_FILE, ResultCache

TEXT = (
    "The minister said the plan was a piece of cake, and that the talks would continue "
    "next week in Brussels. Critics said the budget did not add up.\n"
)
# Timings, the only thing a warm scan may write differently (JSON, the terminal's summary).
TIMINGS = re.compile(r'"elapsed_s": [0-9.e-]+|\b[0-9]+\.[0-9]+s\b')


@pytest.fixture
def audits(monkeypatch):
    """Counts the documents actually audited (not taken from the result cache)."""
    seen: list[str] = []
    real = Auditor._audit

    def counting(self, document):
        seen.append(document.id)
        return real(self, document)

    monkeypatch.setattr(Auditor, "_audit", counting)
    return seen


@pytest.fixture
def story(tmp_path):
    folder = tmp_path / "news"
    folder.mkdir()
    (folder / "a.txt").write_text(TEXT, encoding="utf-8")
    (folder / "b.txt").write_text("The council met on Monday.\n", encoding="utf-8")
    return folder


def _untimed(res) -> str:
    return TIMINGS.sub("", res.out)


@pytest.mark.parametrize("fmt", ["json", "sarif", "terminal", "concise"])
def test_a_rescan_is_answered_from_the_cache_with_the_same_report(cli, audits, tmp_path, fmt):
    cache = tmp_path / "cache"
    args = ("scan", CORPORA, "--isolated", "--mt", "dictionary", "-f", fmt, "--cache-dir", cache)
    cold = cli(*args)
    audited = len(audits)
    assert audited >= 7
    warm = cli(*args)
    assert len(audits) == audited, "the second scan audited documents again"
    assert warm.code == cold.code
    assert _untimed(warm) == _untimed(cold)
    assert warm.err == cold.err
    assert (cache / CACHE_FILE).exists()


def test_a_hit_repeats_the_unused_suppression_warnings(cli, audits, tmp_path):
    story = tmp_path / "story.md"
    story.write_text("<!-- mtaudit: ignore MT401 -->\nThe council met on Monday.\n")
    args = ("scan", story, "--isolated", "--mt", "off", "-f", "json", "--cache-dir", tmp_path)
    cold = cli(*args)
    assert "unused suppression 'mtaudit: ignore MT401'" in cold.err
    warm = cli(*args)
    assert audits == [str(story)]
    assert warm.err == cold.err
    assert _untimed(warm) == _untimed(cold)
    assert warm.json()["documents"][0]["unused_suppressions"]


def test_changed_text_is_audited_again_and_only_it(cli, audits, story, tmp_path):
    args = ("scan", story, "--isolated", "--mt", "off", "-f", "json", "--cache-dir", tmp_path)
    cli(*args)
    assert sorted(audits) == [str(story / "a.txt"), str(story / "b.txt")]
    (story / "b.txt").write_text("The council met on Tuesday.\n", encoding="utf-8")
    audits.clear()
    res = cli(*args)
    assert audits == [str(story / "b.txt")]
    assert "Tuesday" in res.out


@pytest.mark.parametrize(
    "extra",
    [
        ("--select", "idiom"),
        ("--ignore", "fluency"),
        ("--min-confidence", "0.6"),
        ("--mt", "dictionary"),
    ],
)
def test_changed_options_miss(cli, audits, story, tmp_path, extra):
    base = ("scan", story / "a.txt", "--isolated", "-f", "json", "--cache-dir", tmp_path)
    cli(*base, "--mt", "off")
    audits.clear()
    cli(*base, "--mt", "off", *extra)
    assert audits == [str(story / "a.txt")]


def test_gate_options_do_not_miss(cli, audits, story, tmp_path):
    """The gate is applied to the report on every scan, so it is not part of the key."""
    base = ("scan", story / "a.txt", "--isolated", "--mt", "off", "--cache-dir", tmp_path)
    first = cli(*base, "-f", "json")
    audits.clear()
    strict = cli(*base, "-f", "json", "--fail-on", "info", "--fail-above", "0.01")
    assert audits == []
    assert first.code == 0 and strict.code == 1  # the stricter gate still fails it


def test_a_changed_signature_misses(cli, audits, story, tmp_path, monkeypatch):
    args = ("scan", story / "a.txt", "--isolated", "--mt", "off", "--cache-dir", tmp_path)
    cli(*args)
    audits.clear()
    monkeypatch.setattr("mtaudit.lexicons.signature", lambda: "0123456789")
    cli(*args)
    assert audits == [str(story / "a.txt")]


def test_changed_code_or_libraries_miss(cli, audits, story, tmp_path, monkeypatch):
    """An edited checkout keeps mtaudit's version number; its code is in the key."""
    args = ("scan", story / "a.txt", "--isolated", "--mt", "off", "--cache-dir", tmp_path)
    cli(*args)
    audits.clear()
    monkeypatch.setattr(resultcache, "environment", lambda: b'["3.11", "other code", {}]')
    cli(*args)
    assert audits == [str(story / "a.txt")]


def test_the_environment_follows_code_and_library_versions(tmp_path, monkeypatch):
    from importlib import metadata

    (tmp_path / "lexicons").mkdir()
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "lexicons" / "idioms.toml").write_text("# in the signature already\n")
    monkeypatch.setattr(resultcache, "_PACKAGE", tmp_path)

    def env() -> bytes:
        resultcache.environment.cache_clear()
        return resultcache.environment()

    try:
        first = env()
        (tmp_path / "lexicons" / "idioms.toml").write_text("# changed\n")
        assert env() == first
        (tmp_path / "a.py").write_text("x = 2\n")
        edited = env()
        assert edited != first
        real = metadata.version
        monkeypatch.setattr(metadata, "version", lambda n: "99.0" if n == "numpy" else real(n))
        assert env() != edited
    finally:
        resultcache.environment.cache_clear()


def test_a_changed_file_named_by_the_configuration_misses(cli, audits, story, tmp_path):
    """A vocabulary (or lexicon) file counts by its contents, not its name."""
    (story / "words.vocab").write_text("Brussels\n", encoding="utf-8")
    (story / "mtaudit.toml").write_text('vocabulary = "words.vocab"\n', encoding="utf-8")
    args = ("scan", story / "a.txt", "--mt", "off", "--cache-dir", tmp_path)
    cli(*args)
    audits.clear()
    cli(*args)
    assert audits == []
    (story / "words.vocab").write_text("Brussels\ncake\n", encoding="utf-8")
    cli(*args)
    assert audits == [str(story / "a.txt")]


def test_a_damaged_entry_is_recomputed(cli, audits, story, tmp_path):
    args = ("scan", story, "--isolated", "--mt", "off", "-f", "json", "--cache-dir", tmp_path)
    cold = cli(*args)
    db = sqlite3.connect(tmp_path / CACHE_FILE)
    with db:
        db.execute("UPDATE result SET value = x'00ff00ff'")  # not zlib, not a pickle
    db.close()
    audits.clear()
    damaged = cli(*args)
    assert sorted(audits) == [str(story / "a.txt"), str(story / "b.txt")]
    assert _untimed(damaged) == _untimed(cold)
    audits.clear()
    cli(*args)  # the recomputed entries replaced the damaged ones
    assert audits == []


def test_a_damaged_cache_file_does_not_fail_the_scan(cli, story, tmp_path):
    (tmp_path / CACHE_FILE).write_bytes(b"this is not a sqlite database" * 100)
    res = cli("scan", story, "--isolated", "--mt", "off", "-f", "json", "--cache-dir", tmp_path)
    assert res.code == 0
    assert len(res.json()["documents"]) == 2
    assert "cannot use the result cache" in res.err


def test_no_cache_neither_reads_nor_writes(cli, audits, story, tmp_path):
    args = ("scan", story, "--isolated", "--mt", "off", "--cache-dir", tmp_path)
    cli(*args, "--no-cache")
    assert not (tmp_path / CACHE_FILE).exists()
    cli(*args)
    audits.clear()
    cli(*args, "--no-cache")
    assert len(audits) == 2


def test_the_default_folder_is_the_translation_caches(
    cli, story, tmp_path, monkeypatch, _index_dir
):
    monkeypatch.setenv("MTAUDIT_CACHE_DIR", str(tmp_path / "home-cache"))
    # The session's compiled indexes, as in every test's cache (not ~25 s of building).
    (tmp_path / "home-cache").mkdir()
    (tmp_path / "home-cache" / indexcache.FOLDER).symlink_to(_index_dir, target_is_directory=True)
    cli("scan", story, "--isolated", "--mt", "off")
    assert (tmp_path / "home-cache" / CACHE_FILE).exists()


def test_jobs_workers_write_the_cache_a_later_scan_reads(cli, audits, tmp_path):
    args = ("scan", CORPORA, "--isolated", "--mt", "off", "-f", "json", "--cache-dir", tmp_path)
    cold = cli(*args, "--jobs", "2")
    assert set(audits) <= {"<warm-up>"}  # audited in the worker processes, not here
    audits.clear()
    assert len(ResultCache(tmp_path)) == len(cold.json()["documents"])
    warm = cli(*args)
    assert audits == []
    assert _untimed(warm) == _untimed(cold)


def test_a_jobs_rescan_of_unchanged_files_starts_no_worker(cli, audits, tmp_path, monkeypatch):

    args = ("scan", CORPORA, "--isolated", "--mt", "off", "-f", "json", "--cache-dir", tmp_path)
    cold = cli(*args)

    def no_workers(*a, **k):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("workers started for documents the result cache holds")

    monkeypatch.setattr("concurrent.futures.ProcessPoolExecutor", no_workers)
    audits.clear()
    warm = cli(*args, "--jobs", "2")
    assert audits == []  # not even the parent's warm-up
    assert _untimed(warm) == _untimed(cold)


def _report(text: str, evidence: dict | None = None) -> DocumentReport:
    doc = Document("d", text)
    finding = Finding("MT101", "idiom", 0, 3, text[:3], "m", evidence=evidence or {})
    return DocumentReport(doc, [finding], mt_probability=0.5, features={"x": 1.0})


def test_entries_round_trip_with_unused_suppressions(tmp_path):
    cache = ResultCache(tmp_path)
    report = _report("abc def")
    report.unused_suppressions = [{"comment": "mtaudit: ignore", "line": 2}]
    report.failed = True  # the gate's answer: not stored, given afresh on every scan
    cache.put("k", report)
    fresh = Document("d", "abc def")
    back = cache.get("k", fresh)
    assert back is not None and back.document is fresh
    assert back.findings == report.findings and back.features == {"x": 1.0}
    assert back.unused_suppressions == [{"comment": "mtaudit: ignore", "line": 2}]
    assert "unused_suppressions" not in fresh.meta and back.failed is False
    assert cache.get("other", fresh) is None
    assert (cache.hits, cache.misses) == (1, 1)
    cache.close()


def test_the_cache_stays_under_its_bound(tmp_path):
    cache = ResultCache(tmp_path, max_bytes=20_000)
    for i in range(300):
        cache.put(f"k{i}", _report(f"text number {i} " * 20))
    cache.close()
    db = sqlite3.connect(tmp_path / CACHE_FILE)
    total, count = db.execute("SELECT SUM(size), COUNT(*) FROM result").fetchone()
    assert total <= 20_000
    assert 0 < count < 300
    # The newest entries are the ones kept.
    assert db.execute("SELECT 1 FROM result WHERE key = 'k299'").fetchone() is not None
    assert db.execute("SELECT 1 FROM result WHERE key = 'k0'").fetchone() is None


def _writer(folder: str, tag: str) -> int:
    cache = ResultCache(folder)
    for i in range(150):
        cache.put(f"{tag}{i}", _report(f"text {tag} {i}"))
        assert cache.get(f"{tag}{i}", Document("d", "x")) is not None
    cache.close()
    return 150


def test_concurrent_writers_lose_nothing(tmp_path):
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(3) as pool:
        done = pool.starmap(_writer, [(str(tmp_path), t) for t in "abc"])
    assert done == [150, 150, 150]
    assert len(ResultCache(tmp_path)) == 450


def test_a_scan_whose_engine_failed_is_not_cached(cli, audits, monkeypatch, tmp_path):
    """The dictionary stood in for a broken Apertium: the next scan must try Apertium."""
    from mtaudit.backtranslate import EngineError
    from mtaudit.backtranslate.apertium import ApertiumEngine

    def broken(self, texts, src, tgt):  # noqa: ANN001, ANN202
        raise EngineError("no answer from the Apertium pipeline in time")

    monkeypatch.setattr(ApertiumEngine, "available", lambda self: True)
    monkeypatch.setattr(ApertiumEngine, "supports", lambda self, src, tgt: src in ("en", "es"))
    monkeypatch.setattr(ApertiumEngine, "_translate", broken)
    monkeypatch.setattr(ApertiumEngine, "signature", property(lambda self: "apertium:test"))
    story = tmp_path / "story.txt"
    story.write_text("The minister gave one of lime and another of sand to the unions.\n")
    args = ("scan", story, "--isolated", "--mt", "apertium", "-f", "json", "--cache-dir", tmp_path)
    for _ in range(2):
        res = cli(*args)
        assert res.json()["signature"].endswith("+fallback:dictionary")
    assert audits == [str(story), str(story)]


def test_a_report_with_a_stand_in_engine_is_not_cached(tmp_path):
    from mtaudit.pipeline import _degraded

    assert not _degraded(_report("abc def"))
    assert not _degraded(_report("abc def", {"back_translation": {"output": "x"}}))
    assert _degraded(_report("abc def", {"back_translation": {"fallback": "dictionary"}}))


def test_documents_differing_in_what_the_audit_reads_have_different_keys():
    base = Document("d", "text", "a.md", "markdown", {"comments": ["mtaudit: ignore"]})
    key = resultcache.document_key(base)
    for other in (
        Document("d", "text!", "a.md", "markdown", {"comments": ["mtaudit: ignore"]}),
        Document("e", "text", "a.md", "markdown", {"comments": ["mtaudit: ignore"]}),
        Document("d", "text", "b.md", "markdown", {"comments": ["mtaudit: ignore"]}),
        Document("d", "text", "a.md", "text", {"comments": ["mtaudit: ignore"]}),
        Document("d", "text", "a.md", "markdown", {}),
        Document("d", "text", "a.md", "markdown", base.meta, [(0, 4)]),
    ):
        assert resultcache.document_key(other) != key
    # Where a JSONL record sits in its file is not something the audit reads.
    moved = Document("d", "text", "a.md", "markdown", {**base.meta, "line": 7})
    assert resultcache.document_key(moved) == key


def test_an_option_without_a_canonical_form_turns_the_cache_off(tmp_path, monkeypatch):
    with pytest.raises(resultcache.Uncacheable):
        resultcache.canonical({"x": object()})
    assert resultcache.key_prefix("sig", {"x": object()}, []) is None
    words = tmp_path / "words.vocab"
    words.write_text("Brussels\n")
    assert resultcache.key_prefix("sig", {"v": str(words)}, [str(words)]) is not None
    real = Path.read_bytes

    def unreadable(self):  # noqa: ANN001, ANN202
        if self == words:
            raise PermissionError(13, "Permission denied")
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", unreadable)
    assert resultcache.key_prefix("sig", {"v": str(words)}, [str(words)]) is None
