"""The trained scoring model: weights file integrity, two heads, calibration monotonicity
and length awareness, marker weights, verdict thresholds, train/inference parity, length
augmentation and deterministic training."""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys
from pathlib import Path

import pytest

from mtaudit import features as F
from mtaudit import model_score as M
from mtaudit import ngram_features as N
from mtaudit.model import Finding

ROOT = Path(__file__).resolve().parent.parent

HUMAN_LIKE = (
    "Officials, speaking on condition of anonymity, said the plan was being reviewed, and "
    "that ministers were considering alternatives. Critics, pointing to rising costs, argued "
    "the scheme was failing; its supporters disagreed, saying it was working as intended. "
    "Residents were expecting a decision by Friday, according to people familiar with the talks."
)
MT_LIKE = (
    "The plan is also still being examined by the officials, because there are also other "
    "possibilities. About the costs there had been criticism for a long time, the critics "
    "had said. The supporters see it differently: the scheme is therefore working. A decision "
    "is still expected on Friday, as the residents had also heard."
)
ORIGINAL_LIKE = (
    "The council voted on Tuesday to keep the pool open through the winter. Swimmers cheered. "
    "It won't be cheap: heating alone will cost about $40,000 a month, the treasurer said. "
    "Still, she added, nobody wanted to tell the kids they couldn't swim until May."
)


def _train_module():
    """The training package (its regression needs scikit-learn: the ``train`` extra)."""
    pytest.importorskip(
        "sklearn", reason="training needs the train extra: pip install -e '.[train]'"
    )
    import mtaudit.training

    return mtaudit.training


def _finding(category: str, confidence: float = 1.0) -> Finding:
    return Finding(
        code="MT999", category=category, start=0, end=3, text="The", message="test",
        confidence=confidence,
    )  # fmt: skip


@pytest.fixture(scope="module")
def model() -> M.ScoreModel:
    return M.load_model()


# -- the weights file --------------------------------------------------------------------


def test_weights_file_is_signed_json_and_small() -> None:
    raw = M.WEIGHTS_PATH.read_bytes()
    # Two heads of ~20k n-grams (abstract and lexical) with idf and coefficient.
    assert len(raw) < 1400 * 1024
    data = json.loads(raw)
    assert data["format"] == M.WEIGHTS_FORMAT
    assert data["signature"] == M.content_signature(data)
    # Canonical form on disk: re-serialising gives the same bytes.
    assert raw.decode("utf-8") == M.canonical_json(data) + "\n"
    for key in ("version", "seed", "training_data", "ngrams", "heads", "markers", "thresholds"):
        assert key in data
    assert set(data["heads"]) >= {"translated", "machine"}
    assert data["feature_version"] == F.FEATURE_VERSION
    for head in data["heads"].values():
        names = set(head["dense"]["names"])
        assert {n for n in names if not n.startswith("deep_")} <= set(F.feature_names()) | set(
            F.FLUENCY_FEATURES
        )
    # The shipped model was trained and its thresholds chosen on held-out language pairs.
    assert len(data["folds"]["pairs"]) >= 4


def test_tampered_weights_are_rejected() -> None:
    data = M.read_weights()
    data["heads"]["machine"]["intercept"] += 1.0
    with pytest.raises(M.WeightsError, match="signature"):
        M.ScoreModel.from_dict(data)
    data = M.read_weights()
    data["thresholds"]["machine"]["machine_translated"] = 0.01
    with pytest.raises(M.WeightsError, match="signature"):
        M.ScoreModel.from_dict(data)


def _resigned(mutate) -> dict:
    data = M.read_weights()
    mutate(data)
    data["signature"] = M.content_signature(data)  # a well-signed file, bad content
    return data


@pytest.mark.parametrize(
    "calib",
    [
        {"slope": [-0.5, 1.0]},  # decreasing in z for short texts
        {"slope": [1.0, 0.0]},  # flat at full length
        {"slope": [2.0, 1.0]},  # more confident about short texts than long ones
        {"slope": [float("nan"), 1.0]},
        {"intercept": [0.0, float("inf")]},
        {"words": [300, 80]},
        {"words": [0, 80]},
        {"slope": [1.0]},
        {"method": "isotonic"},
    ],
)
def test_non_monotone_or_malformed_calibration_is_refused(calib: dict) -> None:
    def mutate(data):
        data["heads"]["translated"]["calibration"].update(calib)

    with pytest.raises(M.WeightsError):
        M.ScoreModel.from_dict(_resigned(mutate))


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d["heads"].pop("machine"),
        lambda d: d["thresholds"].pop("machine"),
        lambda d: d["thresholds"]["machine"].update(suspect=0.99, machine_translated=0.5),
        lambda d: d["thresholds"]["machine"].update(machine_translated="high"),
        lambda d: d["markers"]["idiom"].update(weight=float("nan")),
        lambda d: d["heads"]["machine"]["dense"]["coef"].pop(),
        lambda d: d["ngrams"]["idf"].pop(),
        lambda d: d["heads"]["translated"]["ngram_coef"].pop(),
        lambda d: d.update(format="mtaudit-score-weights/1"),
    ],
)
def test_malformed_weights_are_refused(mutate) -> None:
    with pytest.raises(M.WeightsError):
        M.ScoreModel.from_dict(_resigned(mutate))


def test_model_loads_once(model: M.ScoreModel) -> None:
    assert M.load_model() is model
    assert model.signature == M.read_weights()["signature"]


# -- calibration ---------------------------------------------------------------------------


LENGTHS = (1, 10, 39, 80, 100, 146, 150, 300, 500, 1000, 5000, None)


@pytest.mark.parametrize("words", LENGTHS)
def test_calibration_map_is_monotone_at_every_length(model: M.ScoreModel, words) -> None:
    for head in model.heads.values():
        assert min(head.calib_slope) > 0
        grid = [x / 10 for x in range(-100, 101)]
        logits = [head.calibrated_logit(z, words) for z in grid]
        assert all(b > a for a, b in zip(logits, logits[1:], strict=False))  # strictly
        probs = [head.calibrate(z, words) for z in grid]
        assert all(0.0 <= p <= 1.0 for p in probs)
        assert all(b >= a for a, b in zip(probs, probs[1:], strict=False))


def test_calibration_is_length_aware(model: M.ScoreModel) -> None:
    """The same logit counts for less in a shorter text: the calibrated log-odds' slope in
    z never grows as the text gets shorter, and below the calibrated range the log-odds
    shrink toward the prior (0) in proportion to the length."""
    for head in model.heads.values():
        lo, hi = head.calib_words
        assert head.calib_slope[0] <= head.calib_slope[1]

        def slope(words, head=head):
            return head.calibrated_logit(1.0, words) - head.calibrated_logit(0.0, words)

        slopes = [slope(n) for n in (1, 10, lo / 2, lo, 100, 150, 300, 600, hi, 3 * hi, None)]
        assert all(b >= a - 1e-12 for a, b in zip(slopes, slopes[1:], strict=False))
        assert slope(lo / 2) < slope(hi)
        for z in (-4.0, -1.0, 0.5, 3.0):
            at_lo = head.calibrated_logit(z, int(lo))
            assert head.calibrated_logit(z, 10) == pytest.approx(at_lo * 10 / lo)
        # Beyond the fitted range the map is clamped; None means full length.
        assert head.calibrate(2.0, 10 * hi) == head.calibrate(2.0, hi) == head.calibrate(2.0)


def test_probabilities_are_consistent(model: M.ScoreModel) -> None:
    """mt = machine, discounted below the translated threshold; each in [0, 1]; markers
    only ever raise them."""
    th = model.thresholds["machine"].translated
    for text in (HUMAN_LIKE, MT_LIKE, ORIGINAL_LIKE):
        b = model.score(text)
        assert 0 <= b.mt_probability <= b.machine_probability <= 1
        factor = min(1.0, b.translated_probability / th)
        assert b.mt_probability == pytest.approx(b.machine_probability * factor)
        assert b.translated_probability == pytest.approx(b.translated_statistical)
        with_idiom = model.score(text, [_finding("idiom", 0.9)])
        assert with_idiom.mt_probability >= b.mt_probability
        assert with_idiom.translated_probability >= b.translated_probability


def test_length_platt_fit_recovers_and_constrains() -> None:
    train = _train_module()
    import numpy as np

    rng = np.random.default_rng(0)
    words = np.exp(rng.uniform(np.log(50), np.log(2000), 6000))
    z = rng.normal(0, 2, len(words))
    t = train.length_position(words)
    true = (0.8 + 1.2 * t) * z + 0.3 - 0.4 * t  # less confident when short
    y = (rng.random(len(z)) < 1 / (1 + np.exp(-true))).astype(int)
    (s_lo, s_hi), (b_lo, b_hi) = train.fit_platt_length(z, y, np.ones(len(z)), words)
    assert s_lo == pytest.approx(0.8, abs=0.15) and s_hi == pytest.approx(2.0, abs=0.25)
    assert b_lo == pytest.approx(0.3, abs=0.2) and b_hi == pytest.approx(-0.1, abs=0.2)
    # Data where short texts look *more* reliable: the fit keeps slope_lo <= slope_hi.
    wrong = (2.0 - 1.2 * t) * z
    y = (rng.random(len(z)) < 1 / (1 + np.exp(-wrong))).astype(int)
    (s_lo, s_hi), _ = train.fit_platt_length(z, y, np.ones(len(z)), words)
    assert 0 < s_lo <= s_hi
    # Useless logits: slopes stay positive (never inverted).
    (s_lo, s_hi), _ = train.fit_platt_length(z, 1 - (z > 0).astype(int), np.ones(len(z)), words)
    assert s_lo >= train.MIN_SLOPE and s_hi >= s_lo


def test_length_balanced_calibration_weights() -> None:
    train = _train_module()
    import numpy as np

    # Long documents mostly human, short ones mostly MT: balancing removes that cue.
    words = np.array([100, 100, 100, 1000, 1000, 1000, 80, 80, 150])
    lengths = np.array([0, 0, 0, 0, 0, 0, 80, 80, 150])
    y = np.array([1, 1, 0, 0, 0, 1, 1, 0, 1])
    w = np.array([1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 0.5, 0.5, 0.3])
    out = train.length_balanced_weights(w, y, words, lengths)
    for m in (words == 100, words == 1000, lengths == 80):
        assert out[m & (y == 1)].sum() == pytest.approx(out[m & (y == 0)].sum())
        assert out[m].sum() == pytest.approx(w[m].sum())
    assert out[8] == w[8]  # a one-class bin is left alone


def test_calibration_parity_train_vs_inference(model: M.ScoreModel) -> None:
    train = _train_module()
    import numpy as np

    zs = np.array([-3.0, -0.5, 0.0, 0.7, 2.5] * 6)
    words = np.repeat([5, 60, 80, 146, 700, 4000], 5)
    for head in model.heads.values():
        got = train.calibrated_logits(
            zs, words, head.calib_slope, head.calib_intercept, head.calib_words
        )
        want = [head.calibrated_logit(float(z), int(n)) for z, n in zip(zs, words, strict=True)]
        assert np.allclose(got, want, atol=1e-12)


def test_platt_fit_keeps_slope_positive() -> None:
    train = _train_module()
    import numpy as np

    z = np.array([-2.0, -1.0, 0.0, 1.0, 2.0, 3.0])
    y = np.array([0, 0, 1, 0, 1, 1])
    a, _ = train.fit_platt(z, y, np.ones(6))
    assert a > 0
    # A model whose logits point the wrong way is never inverted: identity instead.
    a, b = train.fit_platt(z, 1 - y, np.ones(6))
    assert (a, b) == (1.0, 0.0)


# -- markers -------------------------------------------------------------------------------


def test_combination_keeps_the_machine_ranking_of_translations() -> None:
    assert M.combine(0.9, 0.7, 0.5) == 0.7 and M.combine(0.5, 0.7, 0.5) == 0.7
    assert M.combine(0.25, 0.7, 0.5) == pytest.approx(0.35)  # half as sure it is a translation
    assert M.combine(0.0, 1.0, 0.5) == 0.0
    # Monotone in both.
    grid = [x / 10 for x in range(11)]
    for t in grid:
        row = [M.combine(t, m, 0.5) for m in grid]
        assert row == sorted(row)
    for m in grid:
        col = [M.combine(t, m, 0.5) for t in grid]
        assert col == sorted(col)


def test_marker_log_odds_saturate_and_skip_unweighted_categories() -> None:
    weights = {
        "idiom": M.MarkerWeight(3.0, 7.5),
        "punctuation": M.MarkerWeight(0.5, 1.25),
        "fluency": M.MarkerWeight(0.0, 0.0),
    }
    one = M.marker_log_odds([_finding("idiom")], weights)["idiom"]
    assert one == pytest.approx(7.5 * (1 - math.exp(-3.0 / 7.5)))
    # Monotone in confidence and in the number of findings, but capped.
    low = M.marker_log_odds([_finding("idiom", 0.3)], weights)["idiom"]
    many = M.marker_log_odds([_finding("idiom")] * 50, weights)["idiom"]
    assert low < one < many <= 7.5
    # A category whose findings are as common on human text adds nothing.
    assert M.marker_log_odds([_finding("fluency")] * 5, weights) == {}
    assert M.marker_log_odds([_finding("calque")], weights) == {}  # no weight at all
    assert M.MarkerWeight(3.0, 7.5).precision == pytest.approx(1 / (1 + math.exp(-3.0)))


def test_shipped_marker_weights_are_measured(model: M.ScoreModel) -> None:
    data = M.read_weights()["markers"]
    for category, m in data.items():
        assert m["weight"] >= 0 and m["cap"] >= m["weight"]
        mt = (m["per_10k_words_literal"] + m["per_10k_words_neural"]) / 2
        if m["weight"] > 0:
            # Weighted only if it fires more on machine translation than on human text.
            assert mt > m["per_10k_words_human"], category
    # Literal idioms are far rarer on human text than on machine translation.
    assert model.markers["idiom"].weight > 1.0
    assert model.markers["fluency"].weight == 0.0  # already features of the heads


def test_empty_and_short_texts(model: M.ScoreModel) -> None:
    assert model.mt_probability("") == 0.0
    short = model.score("The minister also said so.")
    assert short.words == 5
    # Shrunk toward the 50% prior: less extreme than longer texts can be.
    assert abs(short.translated_statistical - 0.5) < 0.5 * 5 / 80 + 1e-9 or (
        abs(short.translated_statistical - 0.5) <= 0.5
    )


# -- features and inference ----------------------------------------------------------------


def test_features_are_finite_rates() -> None:
    feats = F.extract(HUMAN_LIKE + " " + MT_LIKE)
    assert list(feats) == F.feature_names()
    assert all(math.isfinite(v) for v in feats.values())
    assert 0 < feats["fw_share"] < 1 and feats["sent_len_mean"] > 5
    assert all(v == 0.0 for v in F.extract("").values())
    assert set(F.dense_feature_names()) <= set(F.feature_names())


def test_abstract_tokens_hide_content_words() -> None:
    toks = N.abstract_tokens("The minister said Berlin’s “reform” costs €5 billion, and they'd go.")
    assert "minister" not in toks and "reform" not in toks and "billion" not in toks
    assert toks[:2] == ["the", "W_er"] and "CUR" in toks and "'d" in toks and '"' in toks


def test_lexical_ngrams_keep_lower_case_words_but_never_names_or_numbers() -> None:
    counts = N.ngram_counts(
        "In addition, the perpetrators paid 5 million euros to Siemens in Munich, she'd said."
    )
    lexical = {g for g in counts if g.startswith("~")}
    # Content words as themselves, and in bigrams with their neighbours' abstract tokens.
    assert {"~perpetrators", "~euros", "~million euros", "~the perpetrators"} <= lexical
    assert "~euros to" in lexical and "~NUM million" in lexical
    # "In addition": the function word (case-folded) with the word it governs.
    assert "~in addition" in lexical and "in W_tion" in counts
    # Bigrams of function words and punctuation only are abstract, never doubled as ~.
    assert ", the" in counts and not any(g in lexical for g in ("~, the", "~in", "~the"))
    # Names, numbers and clitic hosts never appear as words.
    assert not any(w in g for g in lexical for w in ("siemens", "munich", "Siemens", "5"))
    assert "~she" not in lexical and "she 'd" in counts
    # The abstract grams are unchanged: the lexical ones come on top.
    toks = N.abstract_tokens("the perpetrators paid")
    assert toks == ["the", "W_s", "W_short"] and counts["the W_s"] == 1


def test_abbreviations_are_one_token_not_a_sentence_end() -> None:
    toks = N.abstract_tokens("At 10 a.m. Mr. Reyes met U.S. envoys, e.g. Ms. Li. He said no.")
    assert toks == (
        ["at", "NUM", "ABBR", "CAP", "CAP", "W_short", "CAP", "W_s", ","]
        + ["ABBR", "CAP", "CAP", ".", "he", "said", "no", "."]
    )


def test_line_breaks_do_not_change_the_features() -> None:
    """Training texts are single lines (headline run into the text); a document with its
    headline on a line of its own must get the same features."""
    one_line = "Library reopens after restoration " + HUMAN_LIKE
    with_breaks = "Library reopens after restoration\n\n" + HUMAN_LIKE.replace(". ", ".\n", 1)
    assert F.extract(with_breaks) == F.extract(one_line)
    assert N.ngram_counts(with_breaks) == N.ngram_counts(one_line)


def test_fluency_feature_names_match_the_detector() -> None:
    fluency = pytest.importorskip("mtaudit.detectors.fluency")
    assert tuple(fluency.FEATURE_KEYS) == F.FLUENCY_FEATURES


def test_missing_dense_feature_counts_as_training_mean(model: M.ScoreModel) -> None:
    for head in model.heads.values():
        means = dict(zip(head.dense_names, head.dense_mean, strict=True))
        assert head.dense_logit({}) == 0.0
        assert head.dense_logit(means) == pytest.approx(0.0, abs=1e-9)
        assert head.dense_logit({"fluency_mean": float("nan")}) == 0.0


def test_fluency_features_from_another_lm_are_ignored(model: M.ScoreModel) -> None:
    if not model.fluency_lm:
        pytest.skip("weights trained without fluency features")
    odd = {"fluency_mean": 5.0, "fluency_p90": 9.0}
    plain = model.score(MT_LIKE).machine_probability
    assert model.score(MT_LIKE, features=odd).machine_probability != plain
    assert model.score(MT_LIKE, features=odd, fluency_lm="lm:other").machine_probability == plain


# -- training ------------------------------------------------------------------------------


def _long_text(base: str, rng: random.Random, sentences: int) -> str:
    sents = [x.rstrip(".") + "." for x in base.split(". ")]
    return " ".join(rng.choice(sents) for _ in range(sentences))


PAIRS = ("xa", "xb", "xc")


def _synthetic_records(train, per_pair: int = 6, seed: int = 3):
    """Three language pairs; per source document a human translation, two MT systems and
    (per pair) some original English, each a seeded shuffle of its style's sentences."""
    rng = random.Random(seed)
    records = []
    for pair in PAIRS:
        for i in range(per_pair):
            for label, origin, base in (
                (0, f"human-translation-{pair}", HUMAN_LIKE),
                (1, f"wmt21-{pair}-SysA", MT_LIKE),
                (1, f"wmt21-{pair}-Online-B", MT_LIKE),
            ):
                text = _long_text(base, rng, rng.randint(3, 9))
                system = origin.split("-", 2)[2] if label else "refA"
                records.append(
                    train.Record(f"wmt21-{pair}-en-doc{i}-{system}", label, origin, 2021, text, "s")
                )
            text = _long_text(ORIGINAL_LIKE, rng, rng.randint(3, 9))
            records.append(train.Record(f"wmt21-en-{pair}{i}", 0, "original-en", 2021, text, "s"))
    return records


def test_origins_name_pair_family_and_source() -> None:
    train = _train_module()
    r = train.Record("wmt21-is-en-text_105-Allegro.eu-c1", 1, "wmt21-is-Allegro.eu", 2021, "x", "w")
    assert (r.pair, r.kind, r.family) == ("is", "mt", "research")
    assert r.source == "w:wmt21-is-en-text_105"
    h = train.Record("wmt21-is-en-text_105-refA-c0", 0, "human-translation-is", 2021, "x", "w")
    assert (h.pair, h.kind, h.source) == ("is", "ht", r.source)
    d = train.Record("wmt08-deepl-de-000", 1, "deepl-de", 2008, "x", "de")
    g = train.Record("wmt08-google-de-000", 1, "google-de", 2008, "x", "de")
    assert d.pair == "de" and d.family == g.family == "online" and d.source == g.source
    o = train.Record("wmt16-original-en-066", 0, "original-en", 2016, "x", "de")
    assert (o.pair, o.kind) == ("en", "orig") and o.source != d.source
    for origin, family in (
        ("wmt23-he-GPT4-5shot", "gpt4"),
        ("wmt23-uk-NLLB_MBR_BLEU", "nllb"),
        ("wmt23-ru-ONLINE-W", "online"),
        ("wmt22-ja-JDExploreAcademy", "research"),
        ("apertium-es", "literal"),
    ):
        assert train.family_of(origin) == family, origin


def test_pair_folds_keep_sources_together_and_spread_originals() -> None:
    train = _train_module()
    records = _synthetic_records(train)
    folds, names = train.pair_folds(records)
    assert names == sorted(PAIRS)
    by_source: dict[str, set[int]] = {}
    for r, k in zip(records, folds, strict=True):
        by_source.setdefault(r.source, set()).add(int(k))
        if r.kind != "orig":
            assert names[k] == r.pair
    assert all(len(v) == 1 for v in by_source.values())
    assert len({int(k) for r, k in zip(records, folds, strict=True) if r.kind == "orig"}) > 1
    with pytest.raises(ValueError, match="two or more"):
        train.pair_folds([r for r in records if r.pair in ("xa", "en")])


def test_head_weights_balance_classes_per_pair() -> None:
    train = _train_module()
    import numpy as np

    records = _synthetic_records(train)[:-3]  # uneven: fewer originals in the last pair
    kinds = np.array([r.kind for r in records])
    pairs = np.array([r.pair for r in records])
    y, w = train.head_labels_and_weights(records, "machine")
    assert (w[kinds == "orig"] == 0).all() and (w[kinds != "orig"] > 0).all()
    for p in PAIRS:
        m = pairs == p
        assert w[m & (y == 1)].sum() == pytest.approx(w[m & (y == 0) & (kinds == "ht")].sum())
    y, w = train.head_labels_and_weights(records, "translated")
    assert (y == (kinds != "orig")).all() and (w > 0).all()
    assert w[kinds == "orig"].sum() == pytest.approx(w[kinds != "orig"].sum())
    for p in PAIRS:
        m = pairs == p
        assert w[m & (kinds == "mt")].sum() == pytest.approx(w[m & (kinds == "ht")].sum())


def test_chunks_are_cut_at_sentence_ends() -> None:
    train = _train_module()
    rng = random.Random(1)
    text = _long_text(HUMAN_LIKE + " " + MT_LIKE, rng, 60)
    total = train.word_count(text)
    for length in (80, 150, 300):
        chunks = train.chunk_texts(text, length, max_chunks=100)
        assert chunks and all(train.word_count(c) >= length for c in chunks)
        assert all(c.endswith(".") and c[0].isupper() and c in text for c in chunks)
        assert len(chunks) <= total // length
        if len(chunks) > 2:  # thinned to evenly spaced ones, first and last kept
            assert train.chunk_texts(text, length, max_chunks=2) == [chunks[0], chunks[-1]]
    assert train.chunk_texts(text, total) == []  # a chunk must be well under the whole
    prefix = train.prefix_text(text, 100)
    assert prefix and text.startswith(prefix) and train.word_count(prefix) >= 100
    assert train.prefix_text(text, total + 1) is None


def test_chunks_keep_each_documents_mass() -> None:
    train = _train_module()
    import numpy as np

    rng = random.Random(2)
    records = [
        train.Record(str(i), i % 2, "x", 2000, _long_text(HUMAN_LIKE, rng, n), "s")
        for i, n in enumerate((3, 12, 25, 70))
    ]
    docs = train.featurize(records)
    assert [len(d.chunks) > 0 for d in docs] == [False, True, True, True]
    w = np.array([1.0, 2.0, 0.5, 1.5])
    samples, sw, parent, whole = train.expand_chunks(docs, w)
    assert len(samples) == len(docs) + sum(len(d.chunks) for d in docs)
    assert whole.sum() == len(docs) and not whole[len(docs) :].any()
    for i in range(len(docs)):
        assert sw[parent == i].sum() == pytest.approx(w[i])
    assert (sw > 0).all()


def test_thresholds_meet_every_constraint_in_every_fold() -> None:
    train = _train_module()
    import numpy as np

    rng = np.random.default_rng(5)
    kinds = np.array(["mt"] * 300 + ["ht"] * 100 + ["orig"] * 60)
    folds = np.arange(len(kinds)) % 3
    p = np.concatenate([rng.beta(5, 2, 300), rng.beta(2, 4, 100), rng.beta(1, 8, 60)])
    th = train.choose_thresholds(p, kinds, folds, max_ht=0.1, max_orig=0.03, min_precision=0.9)
    assert 0 < th["suspect"] <= th["machine_translated"] < 1
    r = train.flag_rates(p, kinds, folds, th["machine_translated"])
    assert r["precision"] >= 0.9
    for row in r["per_fold"].values():
        assert row["ht"] <= 0.1 and row["orig"] <= 0.03
    # The lowest such threshold: a step lower breaks a constraint.
    lower = max(x for x in np.round(p, 3) if x < th["machine_translated"])
    r2 = train.flag_rates(p, kinds, folds, lower)
    assert r2["precision"] < 0.9 or any(
        row["ht"] > 0.1 or row["orig"] > 0.03 for row in r2["per_fold"].values()
    )


def test_marker_weights_are_measured_log_likelihood_ratios() -> None:
    train = _train_module()
    text = "word " * 1000
    records = [
        train.Record("lit1", 1, "apertium-es", 2026, text, "es-news"),
        train.Record("nmt1", 1, "wmt21-is-SysA", 2021, text, "w"),
        train.Record("hum1", 0, "human-translation-es", 2026, text, "es-news"),
        train.Record("orig", 0, "original-en", 2026, text, "w"),
    ]
    findings = [
        [("idiom", 1.0)] * 9 + [("punctuation", 1.0)],  # literal MT: 9 idioms, 1 punctuation
        [("punctuation", 1.0)] * 2,  # neural MT
        [("punctuation", 1.0)] * 3 + [("fluency", 1.0)] * 5,  # human translation
        [],
    ]
    w = train.marker_weights(records, findings, [True, False, False, False])
    # MT: ((9.5 + 0.5) / 1000) / 2 per word against human (0.5 / 2000): 20x.
    assert w["idiom"]["weight"] == pytest.approx(math.log(20), abs=1e-3)
    assert w["idiom"]["cap"] == pytest.approx(train.CAP_FACTOR * w["idiom"]["weight"], abs=0.01)
    # Punctuation: MT (1.5 + 2.5) / 2000 against human 3.5 / 2000 -> barely any evidence.
    assert w["punctuation"]["weight"] == pytest.approx(math.log(4 / 3.5), abs=1e-3)
    assert w["fluency"]["weight"] == 0.0  # never marker evidence
    assert w["idiom"]["per_10k_words_literal"] == 90.0
    with pytest.raises(ValueError, match="literal MT"):
        train.marker_weights(records, findings, [False] * 4)


def test_training_is_deterministic_and_learns() -> None:
    train = _train_module()
    records = _synthetic_records(train)
    literal = [
        train.Record("esnews-dev-001-apertium", 1, "apertium-es", 2026, MT_LIKE, "es-news"),
        train.Record(
            "esnews-dev-001-human", 0, "human-translation-es", 2026, HUMAN_LIKE, "es-news"
        ),
    ]
    findings = [[] for _ in records]
    lit_findings = [[("idiom", 0.9)], []]
    opts = {"min_df": 2}
    w1, _ = train.build_all(
        records, train.featurize(records), findings, 5, literal, lit_findings, **opts
    )
    w2, _ = train.build_all(
        records, train.featurize(records), findings, 5, literal, lit_findings, **opts
    )
    assert M.canonical_json(w1) == M.canonical_json(w2)
    model = M.ScoreModel.from_dict(w1)  # signature verified
    assert model.markers["idiom"].weight > 0
    for head in ("translated", "machine"):
        cal = w1["heads"][head]["calibration"]
        assert cal["method"] == "platt-length" and 0 < cal["slope"][0] <= cal["slope"][1]
        assert "chunks" in cal["fitted_on"]
    scores = {r.id: model.score(r.text) for r in records}
    mt = [scores[r.id].machine_probability for r in records if r.kind == "mt"]
    ht = [scores[r.id].machine_probability for r in records if r.kind == "ht"]
    assert min(mt) > max(ht)
    tr = [scores[r.id].translated_probability for r in records if r.kind != "orig"]
    orig = [scores[r.id].translated_probability for r in records if r.kind == "orig"]
    assert min(tr) > max(orig)
    th = w1["thresholds"]["machine"]
    assert set(th["heldout"]["per_pair"]) == set(PAIRS)


def test_inference_matches_training_regression() -> None:
    train = _train_module()
    import numpy as np

    records = _synthetic_records(train)
    docs = train.featurize(records)
    labels = np.array([r.label for r in records])
    fitted = train._Fitted(
        docs, labels, np.ones(len(records)), train.dense_names_for(docs), 10.0, 2
    )
    block = fitted.to_dict()
    block["calibration"] = {
        "method": "platt-length", "slope": [1, 1], "intercept": [0, 0], "words": [80, 1000]
    }  # fmt: skip
    head = M.Head.from_dict("h", block, train.vocabulary_block(fitted.vec))
    expected = fitted.logits(docs)
    got = [head.raw_logit(N.ngram_counts(r.text), F.extract(r.text)) for r in records]
    assert max(abs(a - b) for a, b in zip(expected, got, strict=True)) < 1e-3


# -- the training command ------------------------------------------------------------------


def _training_command(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mtaudit.training", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_training_package_loads_its_heavy_modules_on_first_use() -> None:
    """``import mtaudit.training`` and ``--help`` need neither scikit-learn nor scipy; a
    training name loads its module when first used."""
    code = (
        "import sys, mtaudit.training as T; "
        "assert 'sklearn' not in sys.modules and 'scipy' not in sys.modules; "
        "assert T.Record.__module__ == 'mtaudit.training.data'; "
        "assert 'sklearn' not in sys.modules; print('ok')"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr
    proc = _training_command("--help")
    assert proc.returncode == 0, proc.stderr
    for flag in ("--data", "--markers", "--out", "--deep-out", "--deep-cache", "--seed"):
        assert flag in proc.stdout
    assert "{auto,on,off}" in proc.stdout  # --fluency and --deep


def test_training_command_names_the_bad_line(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    bad = tmp_path / "set" / "dev.jsonl"
    bad.parent.mkdir()
    bad.write_text('{"id": "a", "label": "mt", "text": "x"}\n{"id": "b", "text": "y"}\n')
    proc = _training_command("--data", str(bad), "--out", str(tmp_path / "w.json"))
    assert proc.returncode == 2
    assert f"{bad}:2: missing field 'label'" in proc.stderr
    assert not (tmp_path / "w.json").exists()
