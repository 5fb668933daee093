"""The trained scoring model: weights file integrity, calibration monotonicity and length
awareness, marker evidence, train/inference parity, length augmentation and deterministic
training."""

from __future__ import annotations

import importlib.util
import json
import math
import random
import re
import sys
from pathlib import Path

import pytest

from mtaudit import features as F
from mtaudit import model_score as M
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


def _train_module():
    pytest.importorskip("sklearn")
    spec = importlib.util.spec_from_file_location("mtaudit_train", ROOT / "scripts" / "train.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while executing
    spec.loader.exec_module(module)
    return module


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
    # ~20k n-grams (abstract and lexical) with idf and coefficient: about half a megabyte.
    assert len(raw) < 640 * 1024
    data = json.loads(raw)
    assert data["format"] == M.WEIGHTS_FORMAT
    assert data["signature"] == M.content_signature(data)
    # Canonical form on disk: re-serialising gives the same bytes.
    assert raw.decode("utf-8") == M.canonical_json(data) + "\n"
    for key in ("version", "seed", "training_data", "calibration", "ngrams", "dense"):
        assert key in data
    assert data["feature_version"] == F.FEATURE_VERSION
    assert set(data["dense"]["names"]) <= set(F.feature_names()) | set(F.FLUENCY_FEATURES)


def test_tampered_weights_are_rejected() -> None:
    data = M.read_weights()
    data["intercept"] = data["intercept"] + 1.0
    with pytest.raises(M.WeightsError, match="signature"):
        M.ScoreModel.from_dict(data)
    data = M.read_weights()
    data["calibration"]["slope"] = [x * 2 for x in data["calibration"]["slope"]]
    with pytest.raises(M.WeightsError, match="signature"):
        M.ScoreModel.from_dict(data)


def _with_calibration(**calib) -> dict:
    data = M.read_weights()
    data["calibration"] = dict(data["calibration"], **calib)
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
    with pytest.raises(M.WeightsError):
        M.ScoreModel.from_dict(_with_calibration(**calib))


def test_legacy_platt_calibration_still_loads() -> None:
    data = M.read_weights()
    data["calibration"] = {"method": "platt", "a": 1.5, "b": -0.2}
    model = M.ScoreModel.from_dict(data, verify=False)
    assert model.calibrate(1.0, 500) == pytest.approx(M.sigmoid(1.3))
    assert model.calibrated_logit(1.0, 20) == pytest.approx(1.3 * 20 / 40)
    with pytest.raises(M.WeightsError, match="increasing"):
        data["calibration"]["a"] = 0.0
        M.ScoreModel.from_dict(data, verify=False)


def test_model_loads_once(model: M.ScoreModel) -> None:
    assert M.load_model() is model
    assert model.signature == M.read_weights()["signature"]


# -- calibration ---------------------------------------------------------------------------


LENGTHS = (1, 10, 39, 80, 100, 146, 150, 300, 500, 1000, 5000, None)


@pytest.mark.parametrize("words", LENGTHS)
def test_calibration_map_is_monotone_at_every_length(model: M.ScoreModel, words) -> None:
    assert min(model.calib_slope) > 0
    grid = [x / 10 for x in range(-100, 101)]
    logits = [model.calibrated_logit(z, words) for z in grid]
    assert all(b > a for a, b in zip(logits, logits[1:], strict=False))  # strictly
    probs = [model.calibrate(z, words) for z in grid]
    assert all(0.0 <= p <= 1.0 for p in probs)
    assert all(b >= a for a, b in zip(probs, probs[1:], strict=False))


def test_calibration_is_length_aware(model: M.ScoreModel) -> None:
    """The same logit counts for less in a shorter text: the calibrated log-odds' slope in
    z never grows as the text gets shorter, and below the calibrated range the log-odds
    shrink toward the prior (0) in proportion to the length."""
    lo, hi = model.calib_words
    assert model.calib_slope[0] <= model.calib_slope[1]

    def slope(words):
        return model.calibrated_logit(1.0, words) - model.calibrated_logit(0.0, words)

    slopes = [slope(n) for n in (1, 10, lo / 2, lo, 100, 150, 300, 600, hi, 3 * hi, None)]
    assert all(b >= a - 1e-12 for a, b in zip(slopes, slopes[1:], strict=False))
    assert slope(lo / 2) < slope(hi)
    for z in (-4.0, -1.0, 0.5, 3.0):
        at_lo = model.calibrated_logit(z, int(lo))
        assert model.calibrated_logit(z, 10) == pytest.approx(at_lo * 10 / lo)
        assert abs(model.calibrated_logit(z, 10)) < abs(at_lo)
    # Beyond the fitted range the map is clamped; None means full length.
    assert model.calibrate(2.0, 10 * hi) == model.calibrate(2.0, hi) == model.calibrate(2.0)


def test_probability_non_decreasing_in_raw_logit(model: M.ScoreModel) -> None:
    rng = random.Random(7)
    sentences = (HUMAN_LIKE + " " + MT_LIKE).split(". ")
    texts = [". ".join(rng.sample(sentences, 6)) + "." for _ in range(40)]
    # At one length: the calibration is length-aware, so only same-length texts compare.
    texts = [t[: list(F.WORD.finditer(t))[59].end()] for t in texts]
    assert {len(F.WORD.findall(t)) for t in texts} == {60}
    scored = sorted((model.score(t).raw_logit, model.score(t).probability) for t in texts)
    probs = [p for _, p in scored]
    assert all(b >= a - 1e-12 for a, b in zip(probs, probs[1:], strict=False))


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
    # Per data set: each (data set, bin) cell is balanced on its own.
    sets = ["a", "a", "b", "a", "b", "b", "a", "a", "a"]
    out = train.length_balanced_weights(w, y, words, lengths, sets)
    assert out[0] == w[0] and out[2] == w[2]  # one-class cells
    m = (words == 1000) & (np.array(sets) == "b")
    assert out[m & (y == 0)].sum() == pytest.approx(out[m & (y == 1)].sum())


def test_calibration_parity_train_vs_inference(model: M.ScoreModel) -> None:
    train = _train_module()
    import numpy as np

    zs = np.array([-3.0, -0.5, 0.0, 0.7, 2.5] * 6)
    words = np.repeat([5, 60, 80, 146, 700, 4000], 5)
    got = train.calibrated_logits(
        zs, words, model.calib_slope, model.calib_intercept, model.calib_words
    )
    want = [model.calibrated_logit(float(z), int(n)) for z, n in zip(zs, words, strict=True)]
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


def test_markers_raise_the_score(model: M.ScoreModel) -> None:
    base = model.mt_probability(HUMAN_LIKE)
    with_idiom = model.mt_probability(HUMAN_LIKE, [_finding("idiom", 0.9)])
    with_two = model.mt_probability(HUMAN_LIKE, [_finding("idiom", 0.9), _finding("calque")])
    assert base < with_idiom < with_two
    exact = model.score(HUMAN_LIKE).probability  # unrounded: weak markers move it little
    for category in ("idiom", "untranslated", "boilerplate", "calque", "punctuation", "fluency"):
        assert model.score(HUMAN_LIKE, [_finding(category)]).probability > exact


def test_marker_strength_order_and_saturation() -> None:
    one = {c: M.marker_log_odds([_finding(c)]) for c in M.MARKER_LOG_ODDS}
    assert one["idiom"] == one["untranslated"] == one["boilerplate"] > one["calque"]
    assert one["calque"] > one["punctuation"] > 0
    # Monotone in confidence and in the number of findings, but capped.
    assert M.marker_log_odds([_finding("calque", 0.3)]) < M.marker_log_odds([_finding("calque")])
    many = M.marker_log_odds([_finding("punctuation")] * 100)
    assert (
        M.marker_log_odds([_finding("punctuation")] * 5)
        < many
        <= M.MARKER_LOG_ODDS["punctuation"][1]
    )
    assert M.marker_log_odds([]) == 0.0


def test_empty_and_short_texts(model: M.ScoreModel) -> None:
    assert model.mt_probability("") == 0.0
    short = model.score("The minister also said so.")
    assert short.words == 5
    # Shrunk toward the 50% prior: less extreme than the same evidence at full length.
    full = model.calibrate(short.raw_logit)
    assert abs(short.probability - 0.5) <= abs(full - 0.5) + 1e-12
    assert short.probability == pytest.approx(model.calibrate(short.raw_logit, 5))


# -- features and inference ----------------------------------------------------------------


def test_features_are_finite_rates() -> None:
    feats = F.extract(HUMAN_LIKE + " " + MT_LIKE)
    assert list(feats) == F.feature_names()
    assert all(math.isfinite(v) for v in feats.values())
    assert 0 < feats["fw_share"] < 1 and feats["sent_len_mean"] > 5
    assert all(v == 0.0 for v in F.extract("").values())
    assert set(F.dense_feature_names()) <= set(F.feature_names())


def test_abstract_tokens_hide_content_words() -> None:
    toks = F.abstract_tokens("The minister said Berlin’s “reform” costs €5 billion, and they'd go.")
    assert "minister" not in toks and "reform" not in toks and "billion" not in toks
    assert toks[:2] == ["the", "W_er"] and "CUR" in toks and "'d" in toks and '"' in toks


def test_lexical_ngrams_keep_lower_case_words_but_never_names_or_numbers() -> None:
    counts = F.ngram_counts(
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
    toks = F.abstract_tokens("the perpetrators paid")
    assert toks == ["the", "W_s", "W_short"] and counts["the W_s"] == 1


def test_abbreviations_are_one_token_not_a_sentence_end() -> None:
    toks = F.abstract_tokens("At 10 a.m. Mr. Reyes met U.S. envoys, e.g. Ms. Li. He said no.")
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
    assert F.ngram_counts(with_breaks) == F.ngram_counts(one_line)


def test_fluency_feature_names_match_the_detector() -> None:
    fluency = pytest.importorskip("mtaudit.detectors.fluency")
    assert tuple(fluency.FEATURE_KEYS) == F.FLUENCY_FEATURES


def test_missing_dense_feature_counts_as_training_mean(model: M.ScoreModel) -> None:
    means = dict(zip(model.dense_names, model.dense_mean, strict=True))
    assert model.dense_logit({}) == 0.0
    assert model.dense_logit(means) == pytest.approx(0.0, abs=1e-9)
    assert model.dense_logit({"fluency_mean": float("nan")}) == 0.0


def test_fluency_features_from_another_lm_are_ignored(model: M.ScoreModel) -> None:
    if not model.uses_fluency:
        pytest.skip("weights trained without fluency features")
    odd = {"fluency_mean": 5.0, "fluency_p90": 9.0}
    plain = model.score(MT_LIKE).probability
    assert model.score(MT_LIKE, features=odd).probability != plain
    assert model.score(MT_LIKE, features=odd, fluency_lm="lm:other").probability == plain
    same = model.score(MT_LIKE, features=odd, fluency_lm=model.fluency_lm).probability
    assert same == model.score(MT_LIKE, features=odd).probability


# -- training ------------------------------------------------------------------------------


def _synthetic_records(train):
    """Two styles, five 'years', with per-document variation from a seeded RNG."""
    rng = random.Random(3)
    records = []
    for year in range(2001, 2006):
        for i in range(8):
            for label, base in ((0, HUMAN_LIKE), (1, MT_LIKE)):
                sents = base.split(". ")
                rng.shuffle(sents)
                text = ". ".join(sents[: rng.randint(2, len(sents))]) + "."
                records.append(
                    train.Record(f"{year}-{label}-{i}", label, "x", year, text, "synthetic")
                )
    return records


def _long_text(base: str, rng: random.Random, sentences: int) -> str:
    sents = [x.rstrip(".") + "." for x in base.split(". ")]
    return " ".join(rng.choice(sents) for _ in range(sentences))


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


def test_training_is_deterministic_and_learns() -> None:
    train = _train_module()
    records = _synthetic_records(train)
    docs = train.featurize(records)
    opts = {"min_df": 2, "calib_folds": 3}
    w1 = train.build_weights(records, docs, seed=5, **opts)
    w2 = train.build_weights(records, train.featurize(records), seed=5, **opts)
    assert M.canonical_json(w1) == M.canonical_json(w2)
    model = M.ScoreModel.from_dict(w1)  # signature verified
    mt = [model.score(r.text).probability for r in records if r.label]
    human = [model.score(r.text).probability for r in records if not r.label]
    assert min(mt) > max(human)


def test_training_with_chunks_is_deterministic() -> None:
    """Length augmentation on a small synthetic split: same bytes twice, chunks used."""
    train = _train_module()
    rng = random.Random(4)
    records = []
    for year in range(2001, 2005):
        for i in range(5):
            for label, base in ((0, HUMAN_LIKE), (1, MT_LIKE)):
                text = _long_text(base, rng, rng.randint(8, 30))
                records.append(train.Record(f"{year}-{label}-{i}", label, "x", year, text, "s"))
    opts = {"min_df": 2, "calib_folds": 3}
    w1 = train.build_weights(records, train.featurize(records), seed=5, **opts)
    w2 = train.build_weights(records, train.featurize(records), seed=5, **opts)
    assert M.canonical_json(w1) == M.canonical_json(w2)
    calib = w1["calibration"]
    assert calib["method"] == "platt-length"
    assert int(re.search(r"and (\d+) chunks", calib["fitted_on"]).group(1)) > 0
    assert 0 < calib["slope"][0] <= calib["slope"][1]
    model = M.ScoreModel.from_dict(w1)
    mt = [model.score(r.text).probability for r in records if r.label]
    human = [model.score(r.text).probability for r in records if not r.label]
    assert min(mt) > max(human)


def test_sample_weights_balance_classes_within_a_data_set_by_size() -> None:
    train = _train_module()
    import numpy as np

    labels = np.array([1] * 90 + [0] * 10 + [1] * 5 + [0] * 15)
    sets = ["big"] * 100 + ["small"] * 20
    w = train.sample_weights(labels, sets)
    assert w.mean() == pytest.approx(1.0)
    big, small = np.arange(120) < 100, np.arange(120) >= 100
    for m in (big, small):  # MT and human equal mass within each data set
        assert w[m & (labels == 1)].sum() == pytest.approx(w[m & (labels == 0)].sum())
    # ... and each data set weighs as its documents (5:1), not 1:1.
    assert w[big].sum() / w[small].sum() == pytest.approx(5.0)
    # A data set with one class only keeps its documents' mass too.
    w1 = train.sample_weights(np.array([1, 1, 0, 1]), ["a", "a", "b", "b"])
    assert w1[:2].sum() == pytest.approx(w1[2:].sum())


def test_calibration_is_fitted_on_the_chosen_data_sets() -> None:
    train = _train_module()
    assert train.calibration_sets(["b", "a", "a"], ["a"]) == ["a"]
    assert train.calibration_sets(["b", "a"], ["zzz"]) == ["a", "b"]  # none present: all
    assert train.calibration_sets(["b", "a"], None) == ["a", "b"]
    records = _synthetic_records(train)
    for i, r in enumerate(records):  # every 4th document in a second data set
        r.dataset = "other" if i % 4 == 0 else "synthetic"
    docs = train.featurize(records, chunk_lengths=())
    opts = {"min_df": 2, "calib_folds": 3}
    only = train.build_weights(records, docs, seed=5, calibrate_on=["synthetic"], **opts)
    both = train.build_weights(records, docs, seed=5, calibrate_on=[], **opts)
    n_syn = sum(r.dataset == "synthetic" for r in records)
    assert only["calibration"]["data_sets"] == ["synthetic"]
    assert only["calibration"]["fitted_on"].startswith(f"out-of-fold logits of {n_syn} doc")
    assert both["calibration"]["data_sets"] == ["other", "synthetic"]
    assert both["calibration"]["fitted_on"].startswith(f"out-of-fold logits of {len(docs)} ")
    # Same regression either way; only the calibration differs.
    assert only["ngrams"] == both["ngrams"] and only["calibration"] != both["calibration"]
    assert only["options"]["calibrate_on"] == ["synthetic"]


def test_inference_matches_training_regression() -> None:
    train = _train_module()
    import numpy as np

    records = _synthetic_records(train)
    docs = train.featurize(records)
    labels = np.array([r.label for r in records])
    fitted = train._Fitted(
        docs, labels, np.ones(len(records)), train.dense_names_for(docs), 10.0, 2
    )
    weights = fitted.to_dict()
    weights.update(
        format=M.WEIGHTS_FORMAT, version="t", calibration={"method": "platt", "a": 1, "b": 0}
    )
    model = M.ScoreModel.from_dict(weights, verify=False)
    expected = fitted.logits(docs)
    got = [model.raw_logit(r.text) for r in records]
    assert max(abs(a - b) for a, b in zip(expected, got, strict=True)) < 1e-3


# -- the shipped weights on the bundled documents (the done-when) ---------------------


def test_shipped_model_scores_the_seed_and_the_bundled_corpus(cli) -> None:
    """Seed >= 0.9; every ``corpora/clean-*`` document clean; every ``mt-*`` one MT.

    Full pipeline (markers + statistical model) with the committed weights, so a retrain
    that breaks any of these fails here, not only in the golden reports.
    """
    from conftest import CORPORA, SEED

    docs = sorted(CORPORA.glob("clean-*")) + sorted(CORPORA.glob("mt-*"))
    res = cli("scan", str(SEED), *map(str, docs), "-f", "json", "--quiet")
    assert res.code == 1, res.err  # the MT documents fail the gate
    by_path = {Path(d["path"]).name: d for d in res.json()["documents"]}
    assert by_path[SEED.name]["mt_probability"] >= 0.9
    for doc in docs:
        got = by_path[doc.name]
        expected = "clean" if doc.name.startswith("clean-") else "machine-translated"
        assert got["verdict"] == expected, (doc.name, got["mt_probability"])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "no labelled documents"),
        (b'{"id": 1, "label": "mt"\n', ":1: not JSON"),
        (b'{"id": 1, "label": "mt", "text": "x"}\n{"id": 2, "text": "y"}\n', ":2: missing field"),
        (b'{"id": 1, "label": "MT", "text": "x"}\n', ":1: bad label 'MT'"),
        (b"\xd0\x00\xff binary", "cannot read"),
    ],
)
def test_training_data_errors_are_one_line_naming_the_file(tmp_path, capsys, content, message):
    train = _train_module()
    data = tmp_path / "set" / "dev.jsonl"
    data.parent.mkdir()
    data.write_bytes(content)
    out = tmp_path / "w.json"
    with pytest.raises(SystemExit) as exc:
        train.main(["--data", str(data), "--out", str(out), "--fluency", "off"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert str(data) in err and message in err and "Traceback" not in err
    assert not out.exists()


def test_calibrate_on_must_name_a_data_set(tmp_path, capsys) -> None:
    train = _train_module()
    data = tmp_path / "wmt-x" / "dev.jsonl"
    data.parent.mkdir()
    data.write_text('{"id": 1, "label": "mt", "text": "A b."}\n', encoding="utf-8")
    with pytest.raises(SystemExit) as exc:
        train.main(
            ["--data", str(data), "--calibrate-on", "wmt-de", "--fluency", "off"]
            + ["--out", str(tmp_path / "w.json")]
        )
    assert exc.value.code == 2
    assert "--calibrate-on wmt-de: not a --data set (wmt-x)" in capsys.readouterr().err
