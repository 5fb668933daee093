"""Back-translation evidence: engines, fallback, cache, the matcher and the confidence rule."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mtaudit.backtranslate import (
    CONFIDENCE_CAP,
    DEFAULT_CATEGORIES,
    SUSPECT_CATEGORIES,
    BackTranslator,
    Engine,
    EngineError,
    get_engine,
    known_sources,
    match_known,
)
from mtaudit.backtranslate.apertium import ApertiumEngine, escape, unescape
from mtaudit.backtranslate.cache import TranslationCache
from mtaudit.backtranslate.dictionary import DictionaryEngine
from mtaudit.model import Document, Finding
from mtaudit.segment import segment

LIME_SAND = "one of lime and another of sand"
CAL_ARENA = "una de cal y otra de arena"
EVIDENCE_KEYS = {
    "engine",
    "language",
    "text",
    "sentence",
    "round_trip",
    "chrf",
    "matched_idiom",
    "match_score",
    "signature",
}
needs_apertium = pytest.mark.skipif(
    shutil.which("apertium") is None, reason="apertium is not installed"
)


def finding(text: str, span: str, category: str = "idiom", lang: str | None = "es") -> Finding:
    start = text.index(span)
    return Finding(
        code="MT101",
        category=category,
        start=start,
        end=start + len(span),
        text=span,
        message="literal translation of a source idiom",
        confidence=0.6,
        source_language=lang,
    )


def annotate(bt: BackTranslator, text: str, findings: list[Finding]) -> list[Finding]:
    return bt.annotate(Document("doc", text), findings, segment(text))


class FailingEngine(Engine):
    """An engine that is 'installed' but breaks on first use."""

    name = "failing"

    def _translate(self, texts, src, tgt):  # noqa: ANN001, ANN202
        raise RuntimeError("model exploded")


# --- the dictionary engine ------------------------------------------------------------


def test_dictionary_engine_word_by_word_with_function_words_and_case():
    eng = DictionaryEngine()
    es = eng.translate([LIME_SAND, "The sands of Geneva"], "en", "es")
    words = es[0].split()
    assert words[0] in ("uno", "una") and words[4] in ("otro", "otra")
    assert words[1:4] == ["de", "cal", "y"] and words[5:] == ["de", "arena"]
    # Plural "sands" found through its lemma; unknown "Geneva" kept; case kept.
    assert es[1] == "El arena de Geneva"
    assert eng.translate([es[0]], "es", "en") == [LIME_SAND]
    assert eng.calls == 2
    assert eng.supports("en", "fr") and not eng.supports("en", "ja")


def test_dictionary_engine_other_languages():
    eng = DictionaryEngine()
    (fr,) = eng.translate(["cost the eyes of the head"], "en", "fr")
    assert fr.split()[0] == "coûter"
    assert "tête" in fr and "du" in fr.split()  # "of the" is one phrase: du


# --- the seed article: every installed engine lands on the Spanish idiom -----------------


@pytest.mark.parametrize("spec", ["dictionary", pytest.param("apertium", marks=needs_apertium)])
def test_seed_lime_sand_matches_cal_arena(seed_text, tmp_path, spec):
    f = finding(seed_text, LIME_SAND)
    with BackTranslator(spec, cache_dir=tmp_path) as bt:
        assert bt.engine.name == spec
        annotated = annotate(bt, seed_text, [f])
    assert annotated == [f]
    ev = f.evidence["back_translation"]
    assert EVIDENCE_KEYS <= ev.keys()
    assert ev["engine"] == spec and ev["language"] == "es"
    assert ev["matched_idiom"] == CAL_ARENA
    assert ev["match_score"] >= 85
    assert "arena" in ev["text"].lower() and "arena" in ev["sentence"].lower()
    assert "sand" in ev["round_trip"].lower()
    assert 0 <= ev["chrf"] <= 100
    assert ev["signature"].startswith(spec + ":")
    assert f.confidence == pytest.approx(0.7)
    json.dumps(f.evidence)  # the JSON report must be able to carry it


@needs_apertium
def test_apertium_lexical_choice_is_aligned_through_the_glossary(seed_text, tmp_path):
    # Apertium says "lima" for lime; the match still lands on "cal" because both render
    # the span's own English word "lime" (no special case for this idiom).
    f = finding(seed_text, LIME_SAND)
    with BackTranslator("apertium", cache_dir=tmp_path) as bt:
        annotate(bt, seed_text, [f])
    ev = f.evidence["back_translation"]
    assert "lima" in ev["text"].lower()
    assert ev["aligned_words"] == {"lima": "cal"}


# --- apertium -------------------------------------------------------------------------


@needs_apertium
def test_apertium_long_lived_process_is_reused():
    with ApertiumEngine() as eng:
        first = eng.translate([LIME_SAND], "en", "es")
        pids = eng.pids()
        second = eng.translate(["The house is red.", "It is big.", ""], "en", "es")
        assert eng.pids() == pids and "eng-spa" in pids
        back = eng.translate(first, "es", "en")
        assert eng.pids()["eng-spa"] == pids["eng-spa"] and "spa-eng" in eng.pids()
        assert eng.streaming and eng.startup_s["eng-spa"] > 0
    assert first[0].lower().startswith("uno de")
    assert second == ["La casa es roja.", "Es grande.", ""]
    assert "sand" in back[0]
    assert eng.pids() == {}


@needs_apertium
def test_apertium_process_survives_across_documents(tmp_path):
    text_a = "The minister gave one of lime and another of sand to the unions."
    text_b = "They took the hair of the voters."
    with BackTranslator("apertium", use_cache=False) as bt:
        annotate(bt, text_a, [finding(text_a, LIME_SAND)])
        pids = bt.engine.pids()
        annotate(bt, text_b, [finding(text_b, "took the hair")])
        assert bt.engine.pids() == pids
        # One engine call per direction per document, whatever the number of findings.
        assert bt.engine.calls == 4


@needs_apertium
def test_apertium_batch_mode_matches_streaming():
    texts = [LIME_SAND, "He said: [yes] <no> a/b ^c$ @d {e}.", "Second sentence here."]
    with ApertiumEngine(streaming=False) as batch, ApertiumEngine() as stream:
        assert batch.translate(texts, "en", "es") == stream.translate(texts, "en", "es")
        assert batch.pids() == {}


def test_apertium_stream_escaping_round_trips():
    raw = r"a [b] ^c$ <d> {e} @f /g \h"
    assert unescape(escape(raw)) == raw
    assert "\0" not in escape("x\0y") and "\n" not in escape("x\ny")


@needs_apertium
def test_apertium_unsupported_language_falls_back_to_dictionary(tmp_path):
    text = "He cost the eyes of the head."
    f = finding(text, "cost the eyes of the head", lang="fr")
    messages: list[str] = []
    with BackTranslator("apertium", cache_dir=tmp_path, warn=messages.append) as bt:
        annotate(bt, text, [f])
    assert f.evidence["back_translation"]["engine"] == "dictionary"
    assert len(messages) == 1 and "fr" in messages[0]


# --- fallback when an engine is missing or broken ---------------------------------------


def test_missing_marian_folder_falls_back_with_one_message(tmp_path, capsys):
    with BackTranslator("marian:/nonexistent", cache_dir=tmp_path) as bt:
        assert isinstance(bt.engine, DictionaryEngine)
        text = "They gave one of lime and another of sand."
        annotate(bt, text, [finding(text, LIME_SAND)])
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("mtaudit: ") and "/nonexistent" in err[0]
    assert err[0].endswith("using the dictionary engine")


def test_missing_apertium_falls_back_with_install_hint(monkeypatch):
    monkeypatch.setattr("mtaudit.backtranslate.apertium.shutil.which", lambda name: None)
    messages: list[str] = []
    eng = get_engine("apertium", warn=messages.append)
    assert isinstance(eng, DictionaryEngine)
    assert messages == [
        "mtaudit: apertium not found (apt-get install apertium apertium-eng-spa); "
        "using the dictionary engine"
    ]
    # "auto" picks the dictionary silently.
    assert isinstance(get_engine("auto", warn=messages.append), DictionaryEngine)
    assert len(messages) == 1


def test_missing_marian_packages_named(monkeypatch):
    monkeypatch.setattr(
        "mtaudit.backtranslate.marian.missing_packages", lambda: ["torch", "transformers"]
    )
    messages: list[str] = []
    assert isinstance(get_engine("marian:/x", warn=messages.append), DictionaryEngine)
    assert "torch, transformers" in messages[0] and "mtaudit[marian]" in messages[0]


def test_unknown_engine_is_a_usage_error():
    with pytest.raises(ValueError, match="unknown back-translation engine"):
        get_engine("babelfish")


def test_engine_failure_mid_scan_falls_back(tmp_path):
    messages: list[str] = []
    text = "They gave one of lime and another of sand."
    f = finding(text, LIME_SAND)
    with BackTranslator(engine=FailingEngine(), cache_dir=tmp_path, warn=messages.append) as bt:
        annotate(bt, text, [f])
        annotate(bt, text, [finding(text, LIME_SAND)])
    assert f.evidence["back_translation"]["engine"] == "dictionary"
    assert f.evidence["back_translation"]["matched_idiom"] == CAL_ARENA
    assert len(messages) == 1 and "model exploded" in messages[0]


def test_engine_error_type():
    with pytest.raises(EngineError, match="model exploded"):
        FailingEngine().translate(["x"], "en", "es")


# --- batching and the on-disk cache -----------------------------------------------------


def _two_findings(text: str) -> list[Finding]:
    return [finding(text, LIME_SAND), finding(text, "took the hair", category="calque")]


SCAN_TEXT = "The minister gave one of lime and another of sand. Critics said he took the hair."


@pytest.mark.parametrize("spec", ["dictionary", pytest.param("apertium", marks=needs_apertium)])
def test_cache_prevents_retranslation(tmp_path, spec):
    with BackTranslator(spec, cache_dir=tmp_path) as bt:
        first = _two_findings(SCAN_TEXT)
        annotate(bt, SCAN_TEXT, first)
        # Both spans and their sentences in one call per direction.
        assert bt.engine.calls == 2
    assert (tmp_path / "backtranslate.sqlite3").exists()
    # A new run (fresh engine, same cache folder) translates nothing.
    with BackTranslator(spec, cache_dir=tmp_path) as bt:
        again = _two_findings(SCAN_TEXT)
        annotate(bt, SCAN_TEXT, again)
        assert bt.engine.calls == 0
        assert bt.cache.misses == 0 and bt.cache.hits > 0
    assert [f.evidence for f in again] == [f.evidence for f in first]


def test_cache_is_keyed_by_signature_and_direction(tmp_path):
    cache = TranslationCache(tmp_path)
    cache.put_many("engine:1", "en", "es", [("house", "casa")])
    assert cache.get_many("engine:1", "en", "es", ["house", "car"]) == {"house": "casa"}
    assert cache.get_many("engine:2", "en", "es", ["house"]) == {}
    assert cache.get_many("engine:1", "es", "en", ["house"]) == {}
    cache.close()
    assert TranslationCache(tmp_path).get_many("engine:1", "en", "es", ["house"])


def test_caches_opened_at_once_on_a_fresh_folder_all_get_the_file(tmp_path, capsys):
    """The server's workers open one fresh translation cache together. Switching a new
    file to WAL makes SQLite answer "locked" at once rather than wait, and the cache used
    to fall back to memory for one open in ~45 with four at once (9 in 400)."""
    import threading

    fallbacks = 0
    for trial in range(100):
        folder = tmp_path / str(trial)
        start = threading.Barrier(4)
        on_file: list[bool] = []

        def open_cache(folder=folder, start=start, on_file=on_file):  # noqa: ANN202
            start.wait()
            cache = TranslationCache(folder)  # a connection stays in its thread
            cache.put_many("s", "en", "es", [("a", "b")])
            on_file.append(cache.path is not None)
            cache.close()

        threads = [threading.Thread(target=open_cache) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        fallbacks += on_file.count(False)
        assert len(on_file) == 4
        reopened = TranslationCache(folder)
        assert reopened.get_many("s", "en", "es", ["a"]) == {"a": "b"}
        reopened.close()
    assert fallbacks == 0
    assert "in memory" not in capsys.readouterr().err


def test_unwritable_cache_dir_degrades_to_memory(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    cache = TranslationCache(blocker / "sub")
    assert cache.path is None
    cache.put_many("s", "en", "es", [("a", "b")])
    assert cache.get_many("s", "en", "es", ["a"]) == {"a": "b"}
    assert "in memory" in capsys.readouterr().err


def test_default_cache_dir_from_environment(monkeypatch, tmp_path):
    from mtaudit.backtranslate.cache import default_cache_dir

    monkeypatch.setenv("MTAUDIT_CACHE_DIR", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c"


# --- which findings, and the confidence rule ----------------------------------------------


def test_only_suspect_categories_are_annotated(tmp_path):
    text = "They gave one of lime and another of sand."
    punct = finding(text, "They", category="punctuation")
    idiom = finding(text, LIME_SAND, lang=None)  # no language: Spanish by default
    with BackTranslator("dictionary", cache_dir=tmp_path) as bt:
        done = annotate(bt, text, [punct, idiom])
    assert done == [idiom] and punct.evidence == {}
    assert idiom.evidence["back_translation"]["language"] == "es"


def test_fluency_findings_are_back_translated_only_when_asked(tmp_path):
    text = "They gave one of lime and another of sand."
    fluency = finding(text, LIME_SAND, category="fluency")
    with BackTranslator("dictionary", cache_dir=tmp_path) as bt:
        assert annotate(bt, text, [fluency]) == [] and fluency.evidence == {}
        default_signature = bt.signature
    assert fluency.confidence == 0.6
    with BackTranslator("dictionary", cache_dir=tmp_path, categories=SUSPECT_CATEGORIES) as bt:
        assert annotate(bt, text, [fluency]) == [fluency]
        # The round trip lands on "una de cal y otra de arena": confirmed, +0.1.
        assert fluency.evidence["back_translation"]["matched_idiom"] == CAL_ARENA
        assert fluency.confidence == pytest.approx(0.7)
        assert bt.signature == f"{default_signature}+categories:calque,fluency,idiom,untranslated"
    assert DEFAULT_CATEGORIES == SUSPECT_CATEGORIES - {"fluency"}
    with pytest.raises(ValueError, match="punctuation"):
        BackTranslator("dictionary", use_cache=False, categories=["idiom", "punctuation"])


def test_confidence_rule():
    adjust = BackTranslator.adjust
    assert adjust(0.6, "idiom", 92.0, 80.0) == pytest.approx(0.7)
    assert adjust(0.6, "calque", 85.0, 10.0) == pytest.approx(0.7)
    assert adjust(0.95, "idiom", 99.0, 90.0) == CONFIDENCE_CAP
    assert adjust(0.995, "idiom", 99.0, 90.0) == 0.995  # confirming never lowers
    assert adjust(0.6, "fluency", 30.0, 20.0) == pytest.approx(0.55)
    assert adjust(0.06, "fluency", 30.0, 20.0) == pytest.approx(0.05)
    assert adjust(0.6, "untranslated", 30.0, 20.0) == 0.6  # source text already
    assert adjust(0.6, "idiom", 70.0, 20.0) == 0.6  # near miss: no change
    assert adjust(0.6, "idiom", 30.0, 70.0) == 0.6  # survives the round trip


def test_reannotating_is_idempotent(tmp_path):
    text = "They gave one of lime and another of sand."
    f = finding(text, LIME_SAND)
    with BackTranslator("dictionary", cache_dir=tmp_path) as bt:
        annotate(bt, text, [f])
        annotate(bt, text, [f])
    assert f.confidence == pytest.approx(0.7)
    assert f.evidence["back_translation"]["prior_confidence"] == 0.6


# --- the matcher --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def es_sources():
    sources = known_sources("es")
    if not any(s.source == CAL_ARENA for s in sources):
        pytest.skip("idioms-es.toml has no 'una de cal y otra de arena'")
    return sources


def test_match_tolerates_inflection_and_surrounding_words(es_sources):
    m = match_known("se presenta con uno de cal y otro de arena antes", es_sources)
    assert m.source is not None and m.source.source == CAL_ARENA and m.score >= 85


def test_match_needs_alignment_for_a_different_lexical_choice(es_sources):
    back = "uno de lima y otro de arena"
    assert match_known(back, es_sources).score < 85
    m = match_known(back, es_sources, {"lima": frozenset({"cal"})})
    assert m.source.source == CAL_ARENA and m.substitutions == {"lima": "cal"}


def test_match_rejects_fragments(es_sources):
    # partial_ratio alone would give "cal" 100 against every idiom containing it.
    assert match_known("cal", es_sources).score < 85
    assert match_known("de arena", es_sources).score < 85


def test_match_tolerates_verb_final_citation_forms():
    sources = known_sources("de")
    if not any(s.source == "nur Bahnhof verstehen" for s in sources):
        pytest.skip("idioms-de.toml changed")
    m = match_known("verstehen nur Bahnhof", sources)
    assert m.score >= 85 and "bahnhof verstehen" in m.source.folded


# --- marian, with a tiny model built here (real loading and generate() code path) ------------


def _build_tiny_marian(folder: Path) -> None:
    import sentencepiece as spm
    from transformers import MarianConfig, MarianMTModel, MarianTokenizer

    corpus = folder / "corpus.txt"
    corpus.write_text(
        "\n".join(
            [
                LIME_SAND,
                CAL_ARENA,
                "the house is red and the sky is blue",
                "la casa es roja y el cielo es azul",
                "the government sends mixed signals",
                "el gobierno da una de cal y otra de arena",
            ]
            * 4
        ),
        encoding="utf-8",
    )
    spm.SentencePieceTrainer.train(
        input=str(corpus),
        model_prefix=str(folder / "sp"),
        vocab_size=60,
        character_coverage=1.0,
        hard_vocab_limit=False,
        minloglevel=2,
    )
    for name in ("source.spm", "target.spm"):
        (folder / name).write_bytes((folder / "sp.model").read_bytes())
    sp = spm.SentencePieceProcessor(model_file=str(folder / "sp.model"))
    vocab = {"</s>": 0, "<unk>": 1, "<pad>": 2}
    for i in range(sp.get_piece_size()):
        vocab.setdefault(sp.id_to_piece(i), len(vocab))
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    config = MarianConfig(
        vocab_size=len(vocab),
        d_model=16,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        max_position_embeddings=128,
        pad_token_id=vocab["<pad>"],
        eos_token_id=vocab["</s>"],
        decoder_start_token_id=vocab["<pad>"],
        forced_eos_token_id=vocab["</s>"],
    )
    MarianMTModel(config).save_pretrained(folder)
    tokenizer = MarianTokenizer(
        str(folder / "source.spm"), str(folder / "target.spm"), str(folder / "vocab.json")
    )
    tokenizer.save_pretrained(folder)


@pytest.mark.filterwarnings("ignore:Recommended. pip install sacremoses")
def test_tiny_marian_model_loads_and_generates(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    pytest.importorskip("sentencepiece")
    model_dir = tmp_path / "tiny-marian"
    model_dir.mkdir()
    _build_tiny_marian(model_dir)

    messages: list[str] = []
    text = "They gave one of lime and another of sand. The house is red."
    f = finding(text, LIME_SAND)
    with BackTranslator(
        f"marian:{model_dir}", cache_dir=tmp_path / "cache", warn=messages.append
    ) as bt:
        assert bt.engine.name == "marian" and messages == []
        annotate(bt, text, [f])
        # The model really was loaded from the folder and generate() ran, once per direction.
        assert bt.engine.calls == 2
        assert ("en", "es") in bt.engine._models and ("es", "en") in bt.engine._models
        out = bt.engine.translate(["the house is red", ""], "en", "es")
    assert len(out) == 2 and all(isinstance(t, str) for t in out) and out[1] == ""
    ev = f.evidence["back_translation"]
    assert ev["engine"] == "marian" and ev["signature"].startswith("marian:transformers-")
    assert isinstance(ev["text"], str) and isinstance(ev["round_trip"], str)


def test_marian_root_folder_lookup(tmp_path):
    from mtaudit.backtranslate.marian import find_model

    for name in ("opus-mt-en-es", "es-en"):
        d = tmp_path / name
        d.mkdir()
        for f in ("config.json", "source.spm", "target.spm", "vocab.json", "model.safetensors"):
            (d / f).write_text("{}")
    snap = tmp_path / "models--Helsinki-NLP--opus-mt-en-fr" / "snapshots" / "abc"
    snap.mkdir(parents=True)
    for f in ("config.json", "source.spm", "target.spm", "vocab.json", "pytorch_model.bin"):
        (snap / f).write_text("{}")
    assert find_model(tmp_path, "en", "es") == tmp_path / "opus-mt-en-es"
    assert find_model(tmp_path, "es", "en") == tmp_path / "es-en"
    assert find_model(tmp_path, "en", "fr") == snap
    assert find_model(tmp_path, "en", "de") is None


# --- Apertium: hangs, restarts, fallbacks and determinism -------------------------------

# A stand-in pipeline for the hang tests (no Apertium needed): it echoes each
# NUL-terminated text, and hangs on one that contains HANG.
ECHO_PIPELINE = (
    "while IFS= read -r -d '' x; do "
    'case "$x" in *HANG*) sleep 1000;; esac; '
    "printf '%s\\0' \"$x\"; done"
)


@pytest.fixture
def echo_apertium(monkeypatch):
    monkeypatch.setattr(ApertiumEngine, "modes", lambda self: {"eng-spa", "spa-eng"})
    monkeypatch.setattr(ApertiumEngine, "_pipeline", lambda self, mode: ECHO_PIPELINE)
    eng = ApertiumEngine(batch_timeout=0.5, probe_timeout=10)
    yield eng
    eng.close()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_hung_apertium_pipeline_is_killed_and_restarted(echo_apertium):
    eng = echo_apertium
    assert eng.translate(["hello there"], "en", "es") == ["hello there"]
    first = eng.pids()["eng-spa"]
    with pytest.raises(EngineError, match="no answer"):
        eng.translate(["this will HANG"], "en", "es")
    assert eng.restarts == 2  # killed, restarted, retried once, killed again
    assert not _alive(first)
    # The engine is not replaced: the next batch runs on a fresh pipeline.
    assert eng.translate(["still here"], "en", "es") == ["still here"]
    assert eng.pids()["eng-spa"] != first and eng.streaming


def test_a_failed_engine_call_marks_evidence_and_signature(tmp_path):
    text = "They gave one of lime and another of sand."
    f = finding(text, LIME_SAND)
    with BackTranslator(engine=FailingEngine(), cache_dir=tmp_path, warn=lambda m: None) as bt:
        assert bt.signature == "failing" and bt.fallback is None
        annotate(bt, text, [f])
        assert bt.signature == "failing+fallback:dictionary" and bt.fallback == "dictionary"
    ev = f.evidence["back_translation"]
    assert ev["engine"] == "dictionary" and ev["fallback"] == "dictionary"


def test_scan_signature_names_a_fallback_in_jobs_workers(cli, monkeypatch, tmp_path):
    """A worker's engine fails: the parent's report still says the run fell back."""

    def broken(self, texts, src, tgt):  # noqa: ANN001, ANN202
        raise EngineError("no answer from the Apertium pipeline in time")

    monkeypatch.setattr(ApertiumEngine, "available", lambda self: True)
    monkeypatch.setattr(ApertiumEngine, "supports", lambda self, src, tgt: src in ("en", "es"))
    monkeypatch.setattr(ApertiumEngine, "_translate", broken)  # inherited by forked workers
    monkeypatch.setattr(ApertiumEngine, "signature", property(lambda self: "apertium:test"))
    # Forked workers inherit the patches (a parent with threads left by other tests would
    # otherwise start them from a clean forkserver).
    monkeypatch.setattr("mtaudit.distributed.local._default_start_method", lambda: "fork")
    story = tmp_path / "story.txt"
    story.write_text("The minister gave one of lime and another of sand to the unions.\n")
    for jobs in ("1", "2"):
        res = cli("scan", story, story, "--mt", "apertium", "-f", "json", "--jobs", jobs)
        report = res.json()
        assert report["signature"].endswith("|mt:apertium:test+fallback:dictionary"), jobs
        ev = report["documents"][0]["findings"][0]["evidence"]["back_translation"]
        assert ev["fallback"] == "dictionary"
        assert list(report)[-1] == "signature"  # written last, when it is final


@needs_apertium
def test_apertium_texts_ending_in_reserved_characters_do_not_hang():
    texts = ["the house ^", "a^", "big ~ deal", "end $", "x \\", "[note]", "a/b <c> @d {e}"]
    with ApertiumEngine(batch_timeout=5) as eng:
        out = eng.translate(texts, "en", "es")
        assert eng.restarts == 0
    assert out[0].endswith("^") and out[1].endswith("^") and "~" in out[2]
    assert (
        out[3].endswith("$")
        and out[4].endswith("\\")
        and out[5].startswith("[")
        and out[5].endswith("]")
    )


# "known" has an ambiguity class the eng-spa tagger model lacks: before, the tagger then
# overwrote its open class for good, and later sentences with unknown names changed.
POLLUTERS = ["it had become known", "become known", "known."]
SENSITIVE = [
    "Finance Minister Peer Steinbrück told the Neue Osnabrücker Zeitung that the planned "
    "reduction of unemployment insurance to 3.3 per cent at the turn of the year was correct "
    "and reasonable in the current situation.",
    "The left-wing nationalist said that as long as conservative Alvaro Uribe remained "
    "president of Colombia, he would not maintain relations with the government.",
    'A new ringtone is causing a furore: "Por qué no te callas" (Why don\'t you shut up) is '
    "the phrase.",
]


@needs_apertium
def test_apertium_output_does_not_depend_on_what_came_before():
    texts = [*SENSITIVE, *POLLUTERS, "The house is red.", "It is big."]
    alone = {}
    for t in texts:  # each text first on a fresh pipeline
        with ApertiumEngine() as eng:
            alone[t] = eng.translate([t], "en", "es")[0]
    orders = [
        (POLLUTERS + texts, 1),  # every sensitive text after a polluter, one per call
        (list(reversed(texts)) + POLLUTERS + texts, 4),
        (POLLUTERS + texts, 50),  # one batch
    ]
    for order, batch in orders:
        with ApertiumEngine() as eng:
            seen = {}
            for i in range(0, len(order), batch):
                chunk = order[i : i + batch]
                seen.update(zip(chunk, eng.translate(chunk, "en", "es"), strict=True))
            assert seen == alone, (batch, {t: seen[t] for t in texts if seen[t] != alone[t]})
            assert eng.tagger_restarts() > 0  # the polluters were seen and forgotten
    with ApertiumEngine() as fwd:  # and back: Spanish in, in two orders
        spanish = list(alone.values())
        a = fwd.translate(spanish, "es", "en")
    with ApertiumEngine() as back:
        b = [back.translate([t], "es", "en")[0] for t in reversed(spanish)][::-1]
    assert a == b


@needs_apertium
def test_a_spare_tagger_is_started_only_once_the_tagger_has_restarted():
    # Most scans never restart the tagger: a spare loaded up front is ~9 MB for nothing.
    with ApertiumEngine() as eng:
        eng.translate(["The house is red."], "en", "es")
        stream = eng.stream("eng-spa")
        assert stream is not None and stream._spare is None
        eng.translate([*POLLUTERS, "It is big."], "en", "es")
        assert eng.tagger_restarts() > 0
        assert stream._spare is not None and stream._spare.alive()
