"""Scoring benchmark: how the verdicts hold on language pairs and MT systems never trained on.

Two splits, every figure per fold and for the worst fold (models are chosen on the worst
fold, never on a pooled figure):

1. **Leave-one-language-pair-out** (de, he, is, ja, ru, uk): ``train.fit`` itself scores
   every document with models that never saw its language pair (the calibration and the
   verdict thresholds of the shipped weights are chosen on exactly these scores). Per
   pair: AUROC of machine vs human translation (the machine head, and the final
   ``mt_probability``), AUROC of human translation vs original English (the translated
   head), and at the verdict thresholds: human translations and original English given
   ``machine-translated``, machine translations caught, and the share of human
   translations given ``translated``. Because the thresholds were chosen on these same
   scores, a second table ("threshold transfer") picks each fold's threshold on the other
   folds only and applies it to the held-out pair.
2. **Leave-one-system-family-out** (commercial online engines incl. DeepL and Google,
   NLLB, GPT-4, research systems): source documents are split in two halves by a hash
   (every origin of a source on one side); each head is trained on one half without the
   family's MT and scores the other half's human translations, originals and that
   family's MT, then the halves swap. The shipped calibration maps, marker weights and
   thresholds turn the logits into verdicts (``train.fit`` would nest six more fits per
   fold).

3. **In-pair ceiling**: the machine head cross-validated inside each pair (five folds by
   source document), beside the same head trained without the pair. The gap says what the
   features learn that does not travel to a new source language; a pair whose in-pair
   figure is under a target cannot reach it from the other pairs. ``--ceiling-only``
   prints this table alone.

Cost: milliseconds per document of the features and both heads (the pipeline's added
time over a markers-only scan is measured by ``bench/run.py --only throughput``).

Usage: python bench/bench_scoring.py [--data FILE ...] [--markers FILE] [--json OUT]
       [--ceiling-only]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import expit
from sklearn.metrics import roc_auc_score

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mtaudit import training as T  # noqa: E402
from mtaudit.model_score import ScoreModel, content_signature  # noqa: E402

FAMILIES = ("online", "nllb", "gpt4", "research")


def _auc(y: np.ndarray, s: np.ndarray) -> float | None:
    ok = ~np.isnan(s)
    if len(set(y[ok].tolist())) < 2:
        return None
    return round(float(roc_auc_score(y[ok], s[ok])), 4)


def _share(flag: np.ndarray, mask: np.ndarray) -> float | None:
    return round(float(flag[mask].mean()), 4) if mask.any() else None


def _model(body: dict[str, Any]) -> ScoreModel:
    weights = dict(body, format="mtaudit-score-weights/2", version="bench")
    weights["signature"] = content_signature(weights)
    return ScoreModel.from_dict(weights)


def verdict_rates(
    mt_p: np.ndarray,
    tr_p: np.ndarray,
    kinds: np.ndarray,
    mask: np.ndarray,
    machine: float,
    translated: float,
) -> dict[str, float | None]:
    """At the thresholds: originals and human translations given machine-translated, MT
    caught, human translations given translated (the verdict they should get)."""
    flagged = mt_p >= machine
    return {
        "ht_given_mt": _share(flagged, mask & (kinds == "ht")),
        "orig_given_mt": _share(flagged, mask & (kinds == "orig")),
        "mt_caught": _share(flagged, mask & (kinds == "mt")),
        "ht_given_translated": _share(~flagged & (tr_p >= translated), mask & (kinds == "ht")),
    }


def pair_table(
    records: Sequence[T.Record], fit: T.Fit, head: str = "machine"
) -> dict[str, dict[str, Any]]:
    """Leave-one-pair-out figures per pair, with the fit's own thresholds."""
    folds, names = T.pair_folds(records)
    kinds = np.array([r.kind for r in records])
    h = fit.heldout
    mt_p, tr_p = h[f"mt_probability_{head}"], h["translated_probability"]
    machine_p = h[f"{head}_probability"]
    th = fit.body["thresholds"][head]
    out = {}
    for k, name in enumerate(names):
        m = folds == k
        tr = m & (kinds != "orig")
        nt = m & (kinds != "mt")
        row: dict[str, Any] = {
            "mt": int((m & (kinds == "mt")).sum()),
            "ht": int((m & (kinds == "ht")).sum()),
            "orig": int((m & (kinds == "orig")).sum()),
            "auroc_mt_vs_ht_machine_head": _auc((kinds[tr] == "mt").astype(int), machine_p[tr]),
            "auroc_mt_vs_ht": _auc((kinds[tr] == "mt").astype(int), mt_p[tr]),
            "auroc_ht_vs_orig_translated_head": _auc((kinds[nt] == "ht").astype(int), tr_p[nt]),
        }
        row.update(verdict_rates(mt_p, tr_p, kinds, m, th["machine_translated"], th["translated"]))
        out[name] = row
    return out


def transfer_table(records: Sequence[T.Record], fit: T.Fit, head: str = "machine") -> dict:
    """Per held-out pair, thresholds chosen on the other pairs' held-out scores only."""
    folds, names = T.pair_folds(records)
    kinds = np.array([r.kind for r in records])
    mt_p, tr_p = fit.heldout[f"mt_probability_{head}"], fit.heldout["translated_probability"]
    out = {}
    for k, name in enumerate(names):
        other = folds != k
        th = T.choose_thresholds(mt_p[other], kinds[other], folds[other])
        row = {"machine_threshold": th["machine_translated"]}
        row.update(
            verdict_rates(
                mt_p, tr_p, kinds, folds == k, th["machine_translated"], T.TRANSLATED_THRESHOLD
            )
        )
        out[name] = row
    return out


def _part(source: str, parts: int) -> int:
    """Which of ``parts`` parts a source document (and so every origin of it) falls in."""
    return int(hashlib.sha256(source.encode("utf-8")).hexdigest()[:8], 16) % parts


class _HeadFitter:
    """Fits one head on a subset of documents with the shipped fitter's own settings."""

    def __init__(self, records: Sequence[T.Record], docs: Sequence[T.DocFeatures]) -> None:
        self.records, self.docs = records, docs
        self.names = T.dense_names_for(docs)
        self.vec = T.fit_vectorizer(docs, T.MIN_DF)

    def logits(self, head: str, train_mask: np.ndarray, test_mask: np.ndarray) -> np.ndarray:
        """Raw logits of ``head`` trained on ``train_mask``, for ``test_mask`` (else NaN)."""
        y, w = T.head_labels_and_weights(self.records, head)
        w = np.where(train_mask, w, 0.0)
        samples, sw, parent, whole = T.expand_chunks(self.docs, w)
        keep = sw > 0
        fitted = T._Fitted(
            [s for s, k in zip(samples, keep, strict=True) if k],
            y[parent][keep],
            sw[keep],
            self.names,
            T.C_REG,
            T.MIN_DF,
            whole[keep],
            self.vec,
        )
        z = np.full(len(self.docs), np.nan)
        idx = np.where(test_mask)[0]
        z[idx] = fitted.logits([self.docs[i] for i in idx])
        return z


def family_table(
    records: Sequence[T.Record],
    docs: Sequence[T.DocFeatures],
    findings: Sequence[Sequence[tuple[str, float]]],
    body: dict[str, Any],
) -> dict[str, dict[str, Any]]:
    """Leave-one-system-family-out figures (see the module docstring)."""
    model = _model(body)
    kinds = np.array([r.kind for r in records])
    fams = np.array([r.family for r in records])
    halves = np.array([_part(r.source, 2) for r in records])
    logits = _HeadFitter(records, docs).logits
    markers = np.array([T.marker_log_odds(fs, body["markers"]) for fs in findings])
    words = np.array([d.words for d in docs], dtype=float)
    th = body["thresholds"]["machine"]

    def calibrated(head: str, z: np.ndarray) -> np.ndarray:
        h = model.heads[head]
        return T.calibrated_logits(z, words, h.calib_slope, h.calib_intercept, h.calib_words)

    # The translated head does not see MT families apart: one model per half.
    z_t = np.full(len(docs), np.nan)
    for half in (0, 1):
        z_t = np.where(halves == half, logits("translated", halves != half, halves == half), z_t)
    p_t = expit(calibrated("translated", z_t) + markers)
    out = {}
    for fam in FAMILIES:
        if not (fams == fam).any():
            continue
        z_m = np.full(len(docs), np.nan)
        for half in (0, 1):
            train_mask = (halves != half) & (fams != fam)
            test_mask = (halves == half) & ((kinds != "mt") | (fams == fam))
            z_m = np.where(test_mask, logits("machine", train_mask, test_mask), z_m)
        p_m = expit(calibrated("machine", z_m) + markers)
        mt_p = p_m * np.minimum(1.0, p_t / th["translated"])  # model_score.combine
        test = (kinds != "mt") | (fams == fam)
        tr = test & (kinds != "orig")
        row: dict[str, Any] = {
            "mt": int((fams == fam).sum()),
            "auroc_mt_vs_ht_machine_head": _auc((kinds[tr] == "mt").astype(int), p_m[tr]),
            "auroc_mt_vs_ht": _auc((kinds[tr] == "mt").astype(int), mt_p[tr]),
        }
        row.update(
            verdict_rates(mt_p, p_t, kinds, test, th["machine_translated"], th["translated"])
        )
        out[fam] = row
    return out


CEILING_FOLDS = 5


def ceiling_table(
    records: Sequence[T.Record], docs: Sequence[T.DocFeatures]
) -> dict[str, dict[str, Any]]:
    """What the machine head reaches on a pair it *was* trained on: per language pair,
    ``CEILING_FOLDS``-fold cross-validation inside the pair (source documents split by a
    hash, every origin of a source on one side), beside the leave-one-pair-out AUROC of
    the same head. The in-pair figure bounds what these features can transfer: a pair
    whose in-pair AUROC is under a target will not reach it from the other pairs."""
    fitter = _HeadFitter(records, docs)
    folds, names = T.pair_folds(records)
    kinds = np.array([r.kind for r in records])
    part = np.array([_part(r.source, CEILING_FOLDS) for r in records])
    translations = kinds != "orig"
    out = {}
    for k, name in enumerate(names):
        pair = (folds == k) & translations
        if not (pair & (kinds == "ht")).any():
            continue
        z_in = np.full(len(docs), np.nan)
        for f in range(CEILING_FOLDS):
            test = pair & (part == f)
            if test.any():
                z_in = np.where(test, fitter.logits("machine", pair & (part != f), test), z_in)
        z_out = fitter.logits("machine", translations & (folds != k), pair)
        y = (kinds[pair] == "mt").astype(int)
        out[name] = {
            "auroc_in_pair": _auc(y, z_in[pair]),
            "auroc_left_out": _auc(y, z_out[pair]),
        }
    return out


def feature_cost(records: Sequence[T.Record], model: ScoreModel) -> dict[str, float]:
    """Milliseconds per document: text features and both heads (no detectors)."""
    times = []
    for r in records:
        t0 = time.perf_counter()
        model.score(r.text)
        times.append((time.perf_counter() - t0) * 1000)
    return {
        "features_and_heads_ms_mean": round(statistics.fmean(times), 3),
        "features_and_heads_ms_p95": round(float(np.percentile(times, 95)), 3),
    }


WORST = {
    "auroc_mt_vs_ht_machine_head": min,
    "auroc_mt_vs_ht": min,
    "auroc_ht_vs_orig_translated_head": min,
    "ht_given_mt": max,
    "orig_given_mt": max,
    "mt_caught": min,
    "ht_given_translated": min,
    "auroc_in_pair": min,
    "auroc_left_out": min,
}

#: The per-fold tables, in print order, with their titles.
TABLES = {
    "leave_one_pair_out": "leave one language pair out",
    "threshold_transfer": "threshold transfer (each pair's threshold from the others)",
    "leave_one_family_out": "leave one system family out",
    "in_pair_ceiling": (
        f"machine head inside each pair ({CEILING_FOLDS} folds by source) vs the pair left out"
    ),
}


def worst(table: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The worst fold's value of every figure (min of AUROCs and catches, max of flags)."""
    out = {}
    for key, pick in WORST.items():
        vals = [row[key] for row in table.values() if row.get(key) is not None]
        if vals:
            out[key] = pick(vals)
    return out


def bench(data: Sequence[str], markers: str) -> dict[str, Any]:
    """Every figure of the module docstring; printed as tables and returned."""
    records = T.load_records(data)
    literal = T.load_records([markers])
    fluency = T.fluency_featurizer()
    docs = T.featurize(records, fluency)
    findings, lit_findings = T.findings_of(records), T.findings_of(literal)
    fit = T.fit(records, docs, findings, literal, lit_findings)
    th = fit.body["thresholds"]["machine"]
    results: dict[str, Any] = {
        "documents": len(records),
        "thresholds": {k: th[k] for k in ("machine_translated", "suspect", "translated")},
        "markers": {c: m["weight"] for c, m in fit.body["markers"].items()},
        "leave_one_pair_out": pair_table(records, fit),
        "threshold_transfer": transfer_table(records, fit),
        "leave_one_family_out": family_table(records, docs, findings, fit.body),
        "in_pair_ceiling": ceiling_table(records, docs),
        "cost": feature_cost(records[:300], _model(fit.body)),
    }
    for key in TABLES:
        results[key]["worst"] = worst(results[key])
    _print(results)
    return results


def ceiling_only(data: Sequence[str]) -> dict[str, Any]:
    """The in-pair ceiling table alone (features and five fits per pair, no verdicts)."""
    records = T.load_records(data)
    docs = T.featurize(records, T.fluency_featurizer())
    table = ceiling_table(records, docs)
    table["worst"] = worst(table)
    _print_table("in_pair_ceiling", table)
    return {"documents": len(records), "in_pair_ceiling": table}


def _fmt(v: Any) -> str:
    return "-" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)


def _print(results: dict[str, Any]) -> None:
    th = results["thresholds"]
    print(
        f"\n== document verdicts ({results['documents']} documents); thresholds: "
        f"machine-translated >= {th['machine_translated']}, suspect >= {th['suspect']}, "
        f"translated >= {th['translated']}"
    )
    print("marker weights (log-odds per finding): " + ", ".join(
        f"{c} {w}" for c, w in results["markers"].items()
    ))  # fmt: skip
    for key in TABLES:
        _print_table(key, results[key])
    print("\ncost: " + ", ".join(f"{k}={v}" for k, v in results["cost"].items()))


def _print_table(key: str, table: dict[str, dict[str, Any]]) -> None:
    cols = sorted({c for row in table.values() for c in row})
    print(f"\n{TABLES[key]}:")
    print(f"  {'fold':9s}" + "".join(f"{c[:26]:>28s}" for c in cols))
    for name, row in table.items():
        print(f"  {name:9s}" + "".join(f"{_fmt(row.get(c)):>28s}" for c in cols))


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", action="append", help="labelled JSONL (default: the shared sets)")
    ap.add_argument("--markers", default=T.DEFAULT_MARKERS, help="literal-MT set (marker weights)")
    ap.add_argument("--json", help="also write the figures to this JSON file")
    ap.add_argument(
        "--ceiling-only",
        action="store_true",
        help="only the in-pair ceiling table (a few minutes instead of ~25)",
    )
    args = ap.parse_args(argv)
    missing = [p for p in (args.data or T.DEFAULT_DATA) if not Path(p).exists()]
    if missing:
        print(f"bench_scoring: skipped, no data at {', '.join(missing)}", file=sys.stderr)
        return 0
    data = args.data or list(T.DEFAULT_DATA)
    results = ceiling_only(data) if args.ceiling_only else bench(data, args.markers)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
