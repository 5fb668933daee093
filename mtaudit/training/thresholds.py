"""Verdict thresholds chosen on held-out (leave-one-pair-out) probabilities."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from mtaudit.training.params import (
    MAX_HT_FLAGGED,
    MAX_HT_SUSPECT,
    MAX_ORIG_FLAGGED,
    MIN_PRECISION,
    SUSPECT_PRECISION,
)


def flag_rates(
    mt_p: np.ndarray, kinds: np.ndarray, folds: np.ndarray, threshold: float
) -> dict[str, Any]:
    """Per fold: share of MT, human translations and originals at or over ``threshold``;
    pooled precision of MT against human translation at equal numbers of each."""
    per_fold = {}
    tprs, fprs = [], []
    for k in sorted(set(folds.tolist())):
        m = folds == k
        row = {}
        for kind in ("mt", "ht", "orig"):
            sel = m & (kinds == kind) & ~np.isnan(mt_p)
            row[kind] = float((mt_p[sel] >= threshold).mean()) if sel.any() else None
        per_fold[k] = row
        if row["mt"] is not None and row["ht"] is not None:
            tprs.append(row["mt"])
            fprs.append(row["ht"])
    tpr, fpr = float(np.mean(tprs)), float(np.mean(fprs))
    precision = tpr / (tpr + fpr) if tpr + fpr > 0 else 1.0
    return {"per_fold": per_fold, "mt_caught": tpr, "ht_flagged": fpr, "precision": precision}


def choose_thresholds(
    mt_p: np.ndarray,
    kinds: np.ndarray,
    folds: np.ndarray,
    max_ht: float = MAX_HT_FLAGGED,
    max_orig: float = MAX_ORIG_FLAGGED,
    min_precision: float = MIN_PRECISION,
    suspect_precision: float = SUSPECT_PRECISION,
    max_ht_suspect: float = MAX_HT_SUSPECT,
) -> dict[str, float]:
    """The machine-translated and suspect thresholds (see the module docstring).

    Candidates are the held-out probabilities themselves (rounded to 3 decimals). The
    machine threshold is the lowest at which machine translations are caught with
    ``min_precision`` and, in every fold, no more than ``max_ht`` of human translations and
    ``max_orig`` of originals are flagged; where none is (the statistics alone never
    reach that precision), it is just above every human document's held-out score, so
    only marker evidence stronger than any seen on human text reaches it. The suspect
    threshold is the lowest with ``suspect_precision`` and at most ``max_ht_suspect`` of
    any fold's human translations, never above the machine one.
    """
    valid = ~np.isnan(mt_p)
    cands = sorted({round(float(x), 3) for x in mt_p[valid]})
    cands = [c for c in cands if 0.05 <= c <= 0.999]

    def ok(t: float, precision: float, ht: float, orig: float) -> bool:
        r = flag_rates(mt_p, kinds, folds, t)
        if r["mt_caught"] <= 0 or r["precision"] < precision:
            return False
        return all(
            (row["ht"] is None or row["ht"] <= ht) and (row["orig"] is None or row["orig"] <= orig)
            for row in r["per_fold"].values()
        )

    human = valid & (kinds != "mt")
    above_human = min(0.999, math.ceil(float(mt_p[human].max(initial=0.0)) * 1000 + 1) / 1000)
    machine = next((t for t in cands if ok(t, min_precision, max_ht, max_orig)), above_human)
    suspect = next((t for t in cands if ok(t, suspect_precision, max_ht_suspect, 1.0)), machine)
    return {"machine_translated": machine, "suspect": min(suspect, machine)}
