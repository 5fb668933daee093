"""The compact word-frequency table answers exactly what wordfreq answers, without
loading wordfreq's lists."""

from __future__ import annotations

import json
import os
import random
import sqlite3
import subprocess
import sys

import pytest
from conftest import CORPORA
from wordfreq import get_frequency_list, zipf_frequency

from mtaudit import langid, zipftable

EDGE_CASES = [
    "",
    "the",
    "The",
    "STRASSE",
    "Straße",  # casefolds to "strasse", as wordfreq looks it up
    "élan",
    "e\u0301lan",  # not NFC: left to wordfreq
    "œuvre",
    "Ångström",
    "naïve",
    "don't",
    "l'homme",
    "well-known",
    "2020",
    "covid-19",
    "ﬁnal",  # a ligature (NFKC would split it; wordfreq uses NFC)
    "İstanbul",
    "ª",
    "x²",
    "sí",
    "qwxzvq",
]


def _words() -> list[str]:
    rng = random.Random(16)
    words: list[str] = []
    for lang in zipftable.LANGUAGES:
        buckets = get_frequency_list(lang, "best")
        flat = [w for group in buckets for w in group]
        words += rng.sample(flat, 1500)
        # Every bucket, so every value of the bucket -> Zipf conversion is checked.
        words += [group[0] for group in buckets if group]
    for path in CORPORA.glob("*.*"):
        words += path.read_text(encoding="utf-8").split()
    return words + EDGE_CASES


def test_the_table_gives_wordfreqs_answers():
    zipftable.zipf_all.cache_clear()
    words = _words()
    looked_up = sum(zipftable.plain_key(w) is not None for w in words)
    assert looked_up > 0.8 * len(words)  # the table, not the fallback, answers most
    for word in words:
        want = tuple(zipf_frequency(word, lang) for lang in zipftable.LANGUAGES)
        assert zipftable.zipf_all(word) == want, word
    assert zipftable.table_path().exists()


def test_plain_keys_are_what_wordfreq_looks_up():
    assert zipftable.plain_key("Straße") == "strasse"
    assert zipftable.plain_key("Élan") == "élan"
    assert zipftable.plain_key("ﬁnal") == "final"  # case folding undoes the ligature
    for word in ("e\u0301lan", "don't", "well-known", "2020", "", "x²"):
        assert zipftable.plain_key(word) is None, word


def test_without_a_usable_cache_folder_wordfreq_answers(tmp_path, monkeypatch):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder should be")
    monkeypatch.setenv("MTAUDIT_CACHE_DIR", str(blocked))
    zipftable.zipf_all.cache_clear()
    try:
        for word in ("house", "casa", "maison", "haus"):
            want = tuple(zipf_frequency(word, lang) for lang in zipftable.LANGUAGES)
            assert zipftable.zipf_all(word) == want
        assert not zipftable.table_path().exists()
    finally:
        zipftable.zipf_all.cache_clear()


def test_language_id_does_not_load_wordfreq_lists_once_the_table_exists():
    zipftable.zipf_all("house")  # builds the table if this session has not yet
    assert zipftable.table_path().exists()
    plain, split = ["casa", "house", "Straße", "nuit"], ["don't", "covid-19", "l'homme"]
    code = (
        "import json, sys\n"
        "from mtaudit import langid\n"
        f"plain = [langid.zipf_scores(w) for w in {plain!r}]\n"
        "imported = 'wordfreq' in sys.modules\n"
        f"split = [langid.zipf_scores(w) for w in {split!r}]\n"
        "import wordfreq\n"
        "lists = wordfreq.get_frequency_dict.cache_info().currsize\n"
        "print(json.dumps({'scores': plain + split, 'imported': imported, 'lists': lists}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ
    )
    got = json.loads(out.stdout)
    assert got["imported"] is False  # plain words: not even imported
    assert got["lists"] == 0  # split words: tokenized by wordfreq, looked up in the table
    want = [list(langid.zipf_scores(w)) for w in plain + split]
    assert got["scores"] == want


def test_the_table_is_built_once_in_the_cache_folder():
    zipftable.zipf_all.cache_clear()
    zipftable.zipf_all("house")
    path = zipftable.table_path()
    assert path.parent.name == zipftable.TABLE_DIR and "wordfreq" not in path.name.split("-")[0]
    # Renamed into place when complete: no temporary file is left beside it (only the
    # memo of words wordfreq's tokenizer alters may be).
    names = {p.name for p in path.parent.iterdir()}
    assert names - {path.with_suffix(".extra.pickle").name} == {path.name}
    db = sqlite3.connect(path)
    en = db.execute("SELECT en FROM zipf WHERE word = 'the'").fetchone()[0]
    db.close()
    assert zipftable._bucket_zipf(en) == zipf_frequency("the", "en")


@pytest.mark.parametrize("word", ["Casa", "junta's", "Straße"])
def test_langid_scores_are_floored_wordfreq_scores(word):
    w = langid.normalise(word)
    want = tuple(max(zipf_frequency(w, lang), langid.ZIPF_FLOOR) for lang in langid.LANGUAGES)
    assert langid.zipf_scores(word) == want


def test_altered_words_seen_before_are_answered_without_wordfreq():
    zipftable.zipf_all("house")  # builds the table if this session has not yet
    split = ["don't", "covid-19", "l'homme", "well-known", "x²"]
    code = (
        "import json, sys\n"
        "from mtaudit import zipftable\n"
        f"got = [zipftable.zipf_all(w) for w in {split!r}]\n"
        "print(json.dumps({'got': got, 'imported': 'wordfreq' in sys.modules}))\n"
    )

    def run() -> dict:
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ
        )
        return json.loads(out.stdout)

    first = run()  # tokenizes with wordfreq (unless a test before did) and keeps the answers
    second = run()
    assert second["imported"] is False
    want = [[zipf_frequency(w, lang) for lang in zipftable.LANGUAGES] for w in split]
    assert first["got"] == second["got"] == want


def test_a_damaged_memo_of_altered_words_is_ignored(tmp_path):
    path = tmp_path / "zipf.extra.pickle"
    path.write_bytes(b"not a pickle")
    assert zipftable._Extra._read(path) == {}
    path.write_bytes(b"\x80\x05K\x01.")  # a pickle, but of an int
    assert zipftable._Extra._read(path) == {}
