"""The trained scoring model: weights file integrity, calibration monotonicity, marker
evidence, train/inference parity and deterministic training."""

from __future__ import annotations

import importlib.util
import json
import math
import random
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
    assert len(raw) < 200 * 1024
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


def test_model_loads_once(model: M.ScoreModel) -> None:
    assert M.load_model() is model
    assert model.signature == M.read_weights()["signature"]


# -- calibration ---------------------------------------------------------------------------


def test_calibration_map_is_monotone(model: M.ScoreModel) -> None:
    assert model.calib_a > 0
    grid = [x / 10 for x in range(-100, 101)]
    probs = [model.calibrate(z) for z in grid]
    assert all(0.0 <= p <= 1.0 for p in probs)
    assert all(b >= a for a, b in zip(probs, probs[1:], strict=False))


def test_probability_non_decreasing_in_raw_logit(model: M.ScoreModel) -> None:
    rng = random.Random(7)
    sentences = (HUMAN_LIKE + " " + MT_LIKE).split(". ")
    texts = [". ".join(rng.sample(sentences, 5)) + "." for _ in range(40)]
    scored = sorted((model.score(t).raw_logit, model.score(t).probability) for t in texts)
    probs = [p for _, p in scored]
    assert all(b >= a - 1e-12 for a, b in zip(probs, probs[1:], strict=False))


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
    # Shrunk toward the 50% prior: less extreme than the same evidence at full weight.
    full = model.calibrate(short.raw_logit)
    assert abs(short.probability - 0.5) <= abs(full - 0.5) + 1e-12


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
