"""Scoring-model benchmark: cross-validated discrimination, calibration and feature cost.

For each data file, documents are split into folds so that no group is on both sides: by
year (leave-one-year-out) for a file with 3+ years (wmt-de-en: 2008-2016), by source
document (5 group folds; every MT version and the human translation of a story together)
for a single-year file (wmt22). Each fold trains the full pipeline of ``scripts/train.py``
(regression + out-of-fold Platt calibration, nested inside the training part; calibrated
on the wmt-de-en part when it is in the training data, as the shipped model is) and scores
the held-out documents through :mod:`mtaudit.model_score`'s pure-Python inference.

Two training regimes per file: ``own`` (only that file's other folds) and ``all`` (plus
every other given file whole — what the shipped weights are trained on). A cross-system
check trains on DeepL + human and tests on Google + human, and vice versa (wmt-de-en,
leave-one-year-out).

Length check (train ``all``): every held-out document longer than 100, 150 and 300 words is
also scored on its prefix of that many words (cut at a sentence end), to see whether short
texts are scored as reliably as whole documents: the share of human prefixes at >= 0.5,
MT recall, AUROC and ECE per length.

Usage: python bench/bench_scoring.py --data ../shared/bench/wmt-de-en/dev.jsonl \\
           --data ../shared/bench/wmt22/dev.jsonl [--no-fluency] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import train as T  # noqa: E402

from mtaudit.model_score import ScoreModel, content_signature  # noqa: E402

SEED = 13
OWN_FOLDS = 5  # group folds for a single-year file
#: Prefix lengths (words) of the length check.
PREFIX_LENGTHS = (100, 150, 300)
#: Extra keyword arguments for ``train.fit`` (experiments set them; the bench keeps none).
FIT_OPTIONS: dict[str, Any] = {}


def _is_ht(origin: str) -> bool:
    return origin.startswith("human-translation")


def _is_original(origin: str) -> bool:
    return origin == "original-en"


def test_folds(records: Sequence[T.Record]) -> np.ndarray:
    """Outer folds: one per year for a 3+ year file, else 5 source-document group folds."""
    groups = T.group_keys(records)
    if len({r.year for r in records}) >= 3:
        years = sorted({r.year for r in records})
        return np.array([years.index(r.year) for r in records])
    return T.fold_ids(groups, OWN_FOLDS, SEED)


def _model(weights: dict[str, Any]) -> ScoreModel:
    weights = dict(weights, format="mtaudit-score-weights/1", version="bench")
    weights["signature"] = content_signature(weights)
    return ScoreModel.from_dict(weights)


def _predict(model: ScoreModel, docs: Sequence[T.DocFeatures]) -> np.ndarray:
    """Calibrated statistical probability (no markers: WMT data has next to none)."""
    return np.array(
        [
            model.calibrate(
                model.intercept + model.ngram_logit(d.ngrams) + model.dense_logit(d.dense),
                d.words,
            )
            for d in docs
        ]
    )


def _fit(recs: Sequence[T.Record], docs: Sequence[T.DocFeatures]) -> ScoreModel:
    return _model(
        T.fit(
            docs,
            [r.label for r in recs],
            [r.dataset for r in recs],
            T.group_keys(recs),
            seed=SEED,
            **FIT_OPTIONS,
        )
    )


def cross_validate(
    test_recs: list[T.Record],
    test_docs: list[T.DocFeatures],
    extra_recs: list[T.Record] | None = None,
    extra_docs: list[T.DocFeatures] | None = None,
    train_filter: Any = None,
    test_filter: Any = None,
    prefixes: dict[int, list[T.DocFeatures | None]] | None = None,
) -> tuple[np.ndarray, np.ndarray, dict[int, np.ndarray]]:
    """Out-of-fold probabilities for ``test_recs`` (NaN where ``test_filter`` is False),
    the folds, and the same for each document's prefixes (NaN where it has none)."""
    folds = test_folds(test_recs)
    p = np.full(len(test_recs), np.nan)
    prefixes = prefixes or {}
    p_pre = {n: np.full(len(test_recs), np.nan) for n in prefixes}
    keep_tr = np.array([train_filter(r) if train_filter else True for r in test_recs])
    keep_te = np.array([test_filter(r) if test_filter else True for r in test_recs])
    for k in sorted(set(folds)):
        tr = np.where((folds != k) & keep_tr)[0]
        te = np.where((folds == k) & keep_te)[0]
        if len(te) == 0:
            continue
        recs = [test_recs[i] for i in tr] + list(extra_recs or [])
        docs = [test_docs[i] for i in tr] + list(extra_docs or [])
        model = _fit(recs, docs)
        p[te] = _predict(model, [test_docs[i] for i in te])
        for n, pre in prefixes.items():
            idx = [i for i in te if pre[i] is not None]
            if idx:
                p_pre[n][idx] = _predict(model, [pre[i] for i in idx])
    return p, folds, p_pre


def _auc(y: np.ndarray, p: np.ndarray, mask: np.ndarray) -> float | None:
    m = mask & ~np.isnan(p)
    if len(set(y[m])) < 2:
        return None
    return round(float(roc_auc_score(y[m], p[m])), 4)


def _acc(y: np.ndarray, p: np.ndarray, mask: np.ndarray) -> float | None:
    m = mask & ~np.isnan(p)
    return round(float(((p[m] >= 0.5) == (y[m] == 1)).mean()), 4) if m.any() else None


def _balanced_acc(y: np.ndarray, p: np.ndarray, mask: np.ndarray) -> float | None:
    m = mask & ~np.isnan(p)
    if len(set(y[m])) < 2:
        return None
    tpr = ((p[m] >= 0.5) & (y[m] == 1)).sum() / (y[m] == 1).sum()
    tnr = ((p[m] < 0.5) & (y[m] == 0)).sum() / (y[m] == 0).sum()
    return round(float((tpr + tnr) / 2), 4)


def metrics(recs: Sequence[T.Record], p: np.ndarray) -> dict[str, Any]:
    """Every figure the issue asks for, from out-of-fold probabilities."""
    y = np.array([r.label for r in recs])
    origin = np.array([r.origin for r in recs])
    ht = np.array([_is_ht(o) for o in origin])
    orig = np.array([_is_original(o) for o in origin])
    mt = y == 1
    deepl = np.array([o.startswith("deepl") for o in origin])
    all_ = np.ones(len(y), bool)
    out: dict[str, Any] = {
        "documents": int((~np.isnan(p)).sum()),
        "auroc_mt_vs_human": _auc(y, p, all_),
        "auroc_mt_vs_human_translation": _auc(y, p, mt | ht),
        "auroc_mt_vs_original_english": _auc(y, p, mt | orig),
        "accuracy_at_0.5": _acc(y, p, all_),
        "balanced_accuracy_at_0.5": _balanced_acc(y, p, all_),
        "ht_vs_mt_balanced_accuracy": _balanced_acc(y, p, mt | ht),
    }
    if deepl.any():
        out["ht_vs_deepl_accuracy"] = _acc(y, p, deepl | ht)
        out["ht_vs_deepl_auroc"] = _auc(y, p, deepl | ht)
    out["accuracy_by_origin"] = {
        o: _acc(y, p, origin == o) for o in sorted(set(origin)) if (origin == o).any()
    }
    ok = ~np.isnan(p)
    w = T.sample_weights(y[ok], [r.dataset for r, k in zip(recs, ok, strict=True) if k])
    table, ece = T.reliability_table(p[ok], y[ok], w)
    out["reliability_balanced"] = table
    out["ece_balanced"] = ece
    out["ece_raw"] = T.reliability_table(p[ok], y[ok])[1]
    return out


def length_check(
    recs: Sequence[T.Record], p_full: np.ndarray, p_pre: dict[int, np.ndarray]
) -> dict[str, dict[str, Any]]:
    """Per prefix length: human share at >= 0.5 (all, translations, originals), MT recall,
    AUROC and balanced ECE; ``full`` is the same on whole documents."""
    y = np.array([r.label for r in recs])
    ht = np.array([_is_ht(r.origin) for r in recs])
    orig = np.array([_is_original(r.origin) for r in recs])
    out = {}
    for name, p in [("full", p_full)] + [(str(n), v) for n, v in sorted(p_pre.items())]:
        ok = ~np.isnan(p)
        flag = ok & (np.nan_to_num(p) >= 0.5)

        def share(mask: np.ndarray, flag: np.ndarray = flag, ok: np.ndarray = ok) -> float:
            m = mask & ok
            return round(float(flag[m].mean()), 4) if m.any() else float("nan")

        w = T.sample_weights(y[ok], [r.dataset for r, k in zip(recs, ok, strict=True) if k])
        out[name] = {
            "documents": int(ok.sum()),
            "human_at_0.5": share(y == 0),
            "ht_at_0.5": share(ht),
            "original_at_0.5": share(orig),
            "mt_recall_at_0.5": share(y == 1),
            "auroc_mt_vs_human": _auc(y, p, ok),
            "auroc_mt_vs_ht": _auc(y, p, ok & ((y == 1) | ht)),
            "ece_balanced": T.reliability_table(p[ok], y[ok], w)[1],
        }
    return out


def feature_cost(recs: Sequence[T.Record], model: ScoreModel, fluency: Any) -> dict[str, float]:
    """Milliseconds per document: text features + scoring, and the fluency LM features."""
    times = []
    for r in recs:
        t0 = time.perf_counter()
        model.raw_logit(r.text)
        times.append((time.perf_counter() - t0) * 1000)
    out = {
        "features_and_score_ms_mean": round(statistics.fmean(times), 3),
        "features_and_score_ms_p95": round(float(np.percentile(times, 95)), 3),
        "words_mean": round(statistics.fmean(len(r.text.split()) for r in recs), 1),
    }
    if fluency is not None:
        t0 = time.perf_counter()
        for r in recs:
            fluency(r.text)
        out["fluency_features_ms_mean"] = round((time.perf_counter() - t0) * 1000 / len(recs), 3)
    return out


def bench(data_paths: Sequence[str], use_fluency: bool = True) -> dict[str, Any]:
    """Run every check on ``data_paths``; print tables and return the figures."""
    fluency = T.fluency_featurizer() if use_fluency else None
    sets: dict[str, tuple[list[T.Record], list[T.DocFeatures]]] = {}
    for path in data_paths:
        recs = T.load_records([path])
        sets[recs[0].dataset] = (recs, T.featurize(recs, fluency))
    results: dict[str, Any] = {"fluency_features": fluency is not None, "datasets": {}}
    for name, (recs, docs) in sets.items():
        res: dict[str, Any] = {
            "folds": "leave-one-year-out"
            if len({r.year for r in recs}) >= 3
            else f"{OWN_FOLDS} source-document group folds"
        }
        prefixes = {}
        for n in PREFIX_LENGTHS:
            texts = [T.prefix_text(r.text, n) for r in recs]
            prefixes[n] = [None if t is None else T.featurize_text(t, fluency) for t in texts]
        extra_r = [r for n, (rs, _) in sets.items() if n != name for r in rs]
        extra_d = [d for n, (_, ds) in sets.items() if n != name for d in ds]
        p_own, _, pre_own = cross_validate(recs, docs, prefixes=None if extra_r else prefixes)
        res["own"] = metrics(recs, p_own)
        if extra_r:
            p_all, _, pre_all = cross_validate(recs, docs, extra_r, extra_d, prefixes=prefixes)
            res["all"] = metrics(recs, p_all)
            res["length_check"] = length_check(recs, p_all, pre_all)
        else:
            res["length_check"] = length_check(recs, p_own, pre_own)
        origins = {r.origin for r in recs}
        if any(o.startswith("deepl") for o in origins) and any(
            o.startswith("google") for o in origins
        ):
            res["cross_system"] = {}
            for train_sys, test_sys in (("deepl", "google"), ("google", "deepl")):
                p, _, _ = cross_validate(
                    recs,
                    docs,
                    train_filter=lambda r, s=test_sys: not r.origin.startswith(s),
                    test_filter=lambda r, s=train_sys: not r.origin.startswith(s),
                )
                keep = ~np.isnan(p)
                sub = [r for r, k in zip(recs, keep, strict=True) if k]
                m = metrics(sub, p[keep])
                res["cross_system"][f"train_{train_sys}_test_{test_sys}"] = {
                    k: m[k]
                    for k in (
                        "auroc_mt_vs_human",
                        "auroc_mt_vs_human_translation",
                        "ht_vs_mt_balanced_accuracy",
                        "accuracy_at_0.5",
                    )
                }
        full = _fit(recs, docs)
        res["cost"] = feature_cost(recs, full, fluency)
        results["datasets"][name] = res
        _print(name, res)
    return results


def _print(name: str, res: dict[str, Any]) -> None:
    print(f"\n== {name} ({res['folds']})")
    keys = [
        "documents",
        "auroc_mt_vs_human",
        "auroc_mt_vs_human_translation",
        "auroc_mt_vs_original_english",
        "accuracy_at_0.5",
        "balanced_accuracy_at_0.5",
        "ht_vs_mt_balanced_accuracy",
        "ht_vs_deepl_accuracy",
        "ht_vs_deepl_auroc",
        "ece_balanced",
        "ece_raw",
    ]
    regimes = [r for r in ("own", "all") if r in res]
    print(f"{'metric':34s}" + "".join(f"{'train ' + r:>12s}" for r in regimes))
    for k in keys:
        if k in res["own"]:
            print(f"{k:34s}" + "".join(f"{_fmt(res[r].get(k)):>12s}" for r in regimes))
    print("accuracy by origin:")
    for o in res["own"]["accuracy_by_origin"]:
        vals = "".join(f"{_fmt(res[r]['accuracy_by_origin'][o]):>12s}" for r in regimes)
        print(f"  {o:32s}{vals}")
    last = regimes[-1]
    print(f"reliability (train {last}; prior-balanced weights): bin, n, predicted, observed")
    for row in res[last]["reliability_balanced"]:
        print(f"  {row['bin']}  {row['n']:5d}  {row['predicted']:.3f}  {row['observed']:.3f}")
    for k, v in res.get("cross_system", {}).items():
        print(f"cross-system {k}: " + ", ".join(f"{a}={_fmt(b)}" for a, b in v.items()))
    print(f"length check (train {last}; prefixes cut at a sentence end):")
    cols = list(next(iter(res["length_check"].values())))
    print(f"  {'words':>6s}" + "".join(f"{c:>18s}" for c in cols))
    for n, row in res["length_check"].items():
        print(f"  {n:>6s}" + "".join(f"{_fmt(row[c]):>18s}" for c in cols))
    print("cost: " + ", ".join(f"{k}={v}" for k, v in res["cost"].items()))


def _fmt(v: Any) -> str:
    return "-" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", action="append", required=True, help="JSONL file (repeatable)")
    ap.add_argument("--no-fluency", action="store_true", help="leave out fluency LM features")
    ap.add_argument("--json", help="also write the figures to this JSON file")
    args = ap.parse_args(argv)
    results = bench(args.data, use_fluency=not args.no_fluency)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
