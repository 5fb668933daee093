"""Everything together: both heads, marker weights and thresholds as a signed weights file."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import expit

from mtaudit import features as F
from mtaudit.model_score import (
    DEEP_WEIGHTS_FORMAT,
    WEIGHTS_FORMAT,
    canonical_json,
    content_signature,
)
from mtaudit.training.data import DEEP_MT_PER_SOURCE, Record, pair_folds
from mtaudit.training.docfeatures import DocFeatures
from mtaudit.training.heads import (
    HeadFit,
    dense_names_for,
    fit_head,
    fit_vectorizer,
    head_labels_and_weights,
    vocabulary_block,
)
from mtaudit.training.markers import marker_log_odds, marker_weights
from mtaudit.training.params import (
    C_REG,
    CHUNK_LENGTHS,
    CHUNK_SHARE,
    DENSE_SCALE,
    MAX_CHUNKS,
    MAX_HT_FLAGGED,
    MAX_HT_SUSPECT,
    MAX_ORIG_FLAGGED,
    MIN_DF,
    MIN_PRECISION,
    MODEL_VERSION,
    SUSPECT_PRECISION,
    TRANSLATED_THRESHOLD,
    _round,
)
from mtaudit.training.thresholds import choose_thresholds, flag_rates


@dataclass
class Fit:
    """The fitted weights body and the held-out figures behind its thresholds."""

    body: dict[str, Any]
    heldout: dict[str, np.ndarray]


def fit(
    records: Sequence[Record],
    docs: Sequence[DocFeatures],
    findings: Sequence[Sequence[tuple[str, float]]],
    literal_records: Sequence[Record] = (),
    literal_findings: Sequence[Sequence[tuple[str, float]]] = (),
    c_reg: float = C_REG,
    min_df: int = MIN_DF,
    chunk_share: float = CHUNK_SHARE,
    deep: bool = False,
) -> Fit:
    """Fit both heads (and ``machine_deep`` when ``deep``), marker weights and thresholds.

    ``records``/``docs``/``findings``: the training documents (two or more language
    pairs). ``literal_*``: literal machine translations and their human translations for
    the marker weights only (their style is not WMT's, and they are too few to train on).
    """
    folds, fold_names = pair_folds(records)
    kinds = np.array([r.kind for r in records])
    base_names = dense_names_for(docs)
    # One vocabulary for every head (the file stores it once), from every document.
    vec = fit_vectorizer(docs, min_df)
    heads: dict[str, HeadFit] = {}
    for head in ("translated", "machine"):
        y, w = head_labels_and_weights(records, head)
        heads[head] = fit_head(docs, y, w, folds, base_names, c_reg, min_df, chunk_share, True, vec)
    if deep:
        has_deep = np.array([any(k.startswith("deep_") for k in d.dense) for d in docs])
        y, w = head_labels_and_weights(records, "machine", among=has_deep)
        # Trained and scored only where the LM ran; no chunks (its features are per document).
        heads["machine_deep"] = fit_head(
            docs,
            y,
            w,
            np.where(has_deep, folds, -1),
            dense_names_for(docs, deep=True),
            c_reg,
            min_df,
            0.0,
            True,
            vec,
        )
    markers = marker_weights(
        [*records, *literal_records],
        [*findings, *literal_findings],
        [False] * len(records) + [bool(r.label) for r in literal_records],
    )
    m = np.array([marker_log_odds(fs, markers) for fs in findings])
    p_t = expit(heads["translated"].heldout + m)
    heldout = {"translated_probability": p_t, "marker_log_odds": m}
    thresholds = {}
    for name in [h for h in heads if h != "translated"]:
        p_m = expit(heads[name].heldout + m)
        mt_p = p_m * np.minimum(1.0, p_t / TRANSLATED_THRESHOLD)  # model_score.combine
        heldout[f"{name}_probability"] = p_m
        heldout[f"mt_probability_{name}"] = mt_p
        th = choose_thresholds(mt_p, kinds, folds)
        th["translated"] = TRANSLATED_THRESHOLD
        rates = flag_rates(mt_p, kinds, folds, th["machine_translated"])
        th["heldout"] = {
            "folds": "leave-one-language-pair-out",
            "mt_caught": _round(rates["mt_caught"], 4),
            "ht_flagged": _round(rates["ht_flagged"], 4),
            "precision_mt_vs_ht": _round(rates["precision"], 4),
            "per_pair": {
                fold_names[k]: {kk: None if v is None else _round(v, 4) for kk, v in row.items()}
                for k, row in rates["per_fold"].items()
            },
        }
        thresholds[name] = {k: (_round(v, 4) if isinstance(v, float) else v) for k, v in th.items()}
    body = {
        "ngrams": vocabulary_block(vec),
        "heads": {name: h.block for name, h in heads.items()},
        "markers": markers,
        "thresholds": thresholds,
        "folds": {"by": "language pair", "pairs": fold_names},
    }
    return Fit(body, heldout)


def build_all(
    records: Sequence[Record],
    docs: Sequence[DocFeatures],
    findings: Sequence[Sequence[tuple[str, float]]],
    seed: int,
    literal_records: Sequence[Record] = (),
    literal_findings: Sequence[Sequence[tuple[str, float]]] = (),
    data_description: list[dict] | None = None,
    fluency_lm: str | None = None,
    deep_lm: str | None = None,
    **fit_options: Any,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The base weights and, with ``deep_lm``, the deep file (its ``machine_deep`` head and
    thresholds, bound to the base file by its signature). The base bytes do not depend on
    whether the deep head was fitted.

    ``seed`` is recorded for the record: the fit itself is deterministic (folds are the
    language pairs; originals are spread by a hash), so the same data gives the same bytes.
    """
    result = fit(
        records,
        docs,
        findings,
        literal_records,
        literal_findings,
        deep=deep_lm is not None,
        **fit_options,
    )
    body = result.body
    deep_head = body["heads"].pop("machine_deep", None)
    deep_thresholds = body["thresholds"].pop("machine_deep", None)
    uses_fluency = any(
        n in F.FLUENCY_FEATURES for h in body["heads"].values() for n in h["dense"]["names"]
    )
    body.update(
        {
            "format": WEIGHTS_FORMAT,
            "version": MODEL_VERSION,
            "feature_version": F.FEATURE_VERSION,
            "fluency_lm": fluency_lm if uses_fluency else None,
            "seed": seed,
            "options": {
                "C": fit_options.get("c_reg", C_REG),
                "min_df": fit_options.get("min_df", MIN_DF),
                "dense_scale": DENSE_SCALE,
                "chunks": {
                    "lengths": list(CHUNK_LENGTHS),
                    "max_per_length": MAX_CHUNKS,
                    "share_per_length": _round(fit_options.get("chunk_share", CHUNK_SHARE)),
                },
                "verdict_constraints": {
                    "max_ht_flagged_per_pair": MAX_HT_FLAGGED,
                    "max_original_flagged_per_pair": MAX_ORIG_FLAGGED,
                    "min_precision_mt_vs_ht": MIN_PRECISION,
                    "suspect_precision": SUSPECT_PRECISION,
                    "max_ht_suspect_per_pair": MAX_HT_SUSPECT,
                },
            },
            "training_data": data_description or [],
        }
    )
    body["signature"] = content_signature(body)
    if deep_head is None:
        return body, None
    deep = {
        "format": DEEP_WEIGHTS_FORMAT,
        "version": MODEL_VERSION,
        "base_signature": body["signature"],
        "deep_lm": deep_lm,
        "head": deep_head,
        "thresholds": deep_thresholds,
        "sample": f"every human document and at most {DEEP_MT_PER_SOURCE} machine "
        "translations per source document; no chunks",
        "seed": seed,
    }
    deep["signature"] = content_signature(deep)
    return body, deep


def write_weights(weights: dict[str, Any], out: str | Path) -> None:
    """Write canonical JSON (sorted keys, no spaces) and a final newline, atomically."""
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(canonical_json(weights) + "\n", encoding="utf-8")
    tmp.replace(path)
