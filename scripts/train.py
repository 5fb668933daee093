"""Train the document scoring model and write ``mtaudit/data/score-weights.json``.

Usage (``make train DATA=...`` runs the first form)::

    python scripts/train.py --data ../shared/bench/wmt-de-en/dev.jsonl \\
        --data ../shared/bench/wmt22/dev.jsonl --out mtaudit/data/score-weights.json --seed 13

Input: JSON lines ``{"id", "label": "mt"|"human", "origin", "year", "text"}``, read where
they lie (the data is never copied into the project). Output: a JSON-only weights file
(see :mod:`mtaudit.model_score`), byte-identical for the same data, options and seed.

Model: L2 logistic regression on [TF-IDF of abstract 1-2-grams | standardised dense
features x ``DENSE_SCALE``]; sample weights give every data set, and within it MT and human
documents, equal mass (a 50% prior, whatever the mix of the files). Platt calibration is
fitted on out-of-fold logits from group folds (by year; by source document for a file with
fewer than 3 years), so no source document is on both sides of a fold.

The training core (:func:`featurize`, :func:`fit`) is importable for ``bench/`` and the
tests; it needs numpy, scipy and scikit-learn, which inference does not.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from mtaudit import features as F  # noqa: E402
from mtaudit.model_score import (  # noqa: E402
    WEIGHTS_FORMAT,
    WEIGHTS_PATH,
    canonical_json,
    content_signature,
)

MODEL_VERSION = "lr-abstract-ngram-1"
#: Inverse L2 strength (chosen by leave-one-year-out CV on wmt-de-en: 3-30 are within 0.01
#: AUROC; larger C over-fits the smaller wmt22).
C_REG = 10.0
#: An n-gram must occur in this many training documents to get a weight (5-8 are equal in
#: CV; 8 keeps the weights file under 200 KB).
MIN_DF = 8
#: Standardised dense features are scaled to the size of one TF-IDF entry (~0.02 in an
#: L2-normalised vector of ~500 active n-grams), so one L2 penalty fits both blocks.
DENSE_SCALE = 0.02
#: Folds for the out-of-fold logits the calibration is fitted on.
CALIB_FOLDS = 5
#: Significant digits kept in the file: ~1e-4 agreement with the fit, stable bytes, < 200 KB.
DIGITS = 5


@dataclass
class Record:
    """One labelled document."""

    id: str
    label: int  # 1 = mt, 0 = human
    origin: str
    year: int
    text: str
    dataset: str


@dataclass
class DocFeatures:
    """Everything the model needs from one document, computed once."""

    ngrams: dict[str, int]
    dense: dict[str, float] = field(default_factory=dict)


def load_records(paths: Iterable[str | Path]) -> list[Record]:
    """Read JSONL files; ``dataset`` is the file's folder name (wmt-de-en, wmt22)."""
    out: list[Record] = []
    for p in paths:
        path = Path(p)
        name = path.parent.name or path.stem
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if not line.strip():
                    continue
                r = json.loads(line)
                if r["label"] not in ("mt", "human"):
                    raise ValueError(f"{path}: bad label {r['label']!r} in {r.get('id')}")
                out.append(
                    Record(
                        id=str(r["id"]),
                        label=int(r["label"] == "mt"),
                        origin=str(r.get("origin", "")),
                        year=int(r.get("year") or 0),
                        text=str(r["text"]),
                        dataset=name,
                    )
                )
    return out


def describe_files(paths: Iterable[str | Path], records: Sequence[Record]) -> list[dict]:
    """Training data description for the weights file: name, sha256, counts per origin."""
    desc = []
    for p in paths:
        path = Path(p)
        name = path.parent.name or path.stem
        rs = [r for r in records if r.dataset == name]
        origins: dict[str, int] = {}
        for r in rs:
            origins[r.origin] = origins.get(r.origin, 0) + 1
        desc.append(
            {
                "file": f"{name}/{path.name}",
                "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                "documents": len(rs),
                "mt": sum(r.label for r in rs),
                "by_origin": dict(sorted(origins.items())),
                "years": sorted({r.year for r in rs}),
            }
        )
    return desc


def source_key(r: Record) -> str:
    """Identifier of the source document, shared by its MT and human translations.

    wmt-de-en ids embed the origin (``wmt08-deepl-de-000``); wmt22 ids end in the system
    name or ``refA`` (``wmt22-ja-en-DOC-SYSTEM``). Unknown schemes fall back to the id.
    """
    if r.origin and r.origin in r.id:
        return r.id.replace(r.origin, "")
    system = r.origin.split("-", 2)[-1] if r.origin.startswith("wmt") else ""
    if system and r.id.endswith("-" + system):
        return r.id[: -len(system) - 1]
    m = re.match(r"(.*)-ref[A-Z]$", r.id)
    return m.group(1) if m else r.id


def group_keys(records: Sequence[Record]) -> list[str]:
    """Cross-validation groups: the year, or the source document for a 1-2 year file."""
    years: dict[str, set[int]] = {}
    for r in records:
        years.setdefault(r.dataset, set()).add(r.year)
    return [
        f"{r.dataset}:{r.year}" if len(years[r.dataset]) >= 3 else f"{r.dataset}:{source_key(r)}"
        for r in records
    ]


def fold_ids(groups: Sequence[str], k: int, seed: int) -> np.ndarray:
    """Assign whole groups to ``k`` folds: sorted, shuffled with ``seed``, round-robin."""
    uniq = sorted(set(groups))
    order = np.random.default_rng(seed).permutation(len(uniq))
    fold_of = {uniq[j]: i % k for i, j in enumerate(order)}
    return np.array([fold_of[g] for g in groups])


def fluency_featurizer() -> Callable[[str], dict[str, float]] | None:
    """The fluency detector's document features, exactly as the pipeline computes them.

    Returns None when the fluency module, its LM or its reference is unavailable.
    """
    try:
        from mtaudit.detectors.base import Context
        from mtaudit.detectors.fluency import FluencyDetector
        from mtaudit.model import Document
        from mtaudit.segment import segment

        det = FluencyDetector(Context({}))
        det.preload()
    except Exception:  # noqa: BLE001 - any failure means "train without fluency"
        return None

    def run(text: str) -> dict[str, float]:
        _, found = det.detect_with_features(Document("train", text), segment(text))
        return {k: v for k, v in found.items() if k in F.FLUENCY_FEATURES}

    # Fluency statistics are on the scale of one LM; the weights record which.
    run.lm_signature = det.model_signature()  # type: ignore[attr-defined]
    return run


def featurize(
    records: Sequence[Record], fluency: Callable[[str], dict[str, float]] | None = None
) -> list[DocFeatures]:
    """N-gram counts and dense features of every record (fluency ones when given)."""
    out = []
    for r in records:
        dense = F.extract(r.text)
        if fluency is not None:
            dense.update(fluency(r.text))
        out.append(DocFeatures(dict(F.ngram_counts(r.text)), dense))
    return out


def sample_weights(labels: np.ndarray, datasets: Sequence[str]) -> np.ndarray:
    """Equal mass per (data set, class) cell; mean weight 1."""
    ds = np.asarray(datasets)
    w = np.zeros(len(labels))
    cells = sorted({(d, int(c)) for d, c in zip(ds, labels, strict=True)})
    for d, c in cells:
        mask = (ds == d) & (labels == c)
        w[mask] = len(labels) / (len(cells) * mask.sum())
    return w


def _round(x: float, digits: int = DIGITS) -> float:
    return float(f"{x:.{digits}g}") if x else 0.0


class _Fitted:
    """A fitted regression, as plain arrays (what the weights file stores)."""

    def __init__(
        self,
        docs: Sequence[DocFeatures],
        labels: np.ndarray,
        weights: np.ndarray,
        dense_names: Sequence[str],
        c_reg: float,
        min_df: int,
    ) -> None:
        self.dense_names = list(dense_names)
        self.vec = TfidfVectorizer(
            analyzer=_identity, min_df=min_df, sublinear_tf=True, dtype=np.float64
        )
        x_ng = self.vec.fit_transform([_expand(d.ngrams) for d in docs])
        dense = self._dense_matrix(docs)
        # Mean-impute missing values (a document with no scorable sentence has no fluency).
        self.mean = np.nanmean(dense, axis=0) if len(dense) else np.zeros(0)
        self.mean = np.where(np.isfinite(self.mean), self.mean, 0.0)
        filled = np.where(np.isnan(dense), self.mean, dense)
        scale = filled.std(axis=0)
        self.scale = np.where(scale > 1e-12, scale, 1.0)
        x = sparse.hstack(
            [x_ng, sparse.csr_matrix((filled - self.mean) / self.scale * DENSE_SCALE)]
        ).tocsr()
        self.lr = LogisticRegression(C=c_reg, max_iter=20000, tol=1e-8)
        self.lr.fit(x, labels, sample_weight=weights)

    def _dense_matrix(self, docs: Sequence[DocFeatures]) -> np.ndarray:
        return np.array(
            [[d.dense.get(n, np.nan) for n in self.dense_names] for d in docs], dtype=float
        ).reshape(len(docs), len(self.dense_names))

    def logits(self, docs: Sequence[DocFeatures]) -> np.ndarray:
        x_ng = self.vec.transform([_expand(d.ngrams) for d in docs])
        dense = self._dense_matrix(docs)
        filled = np.where(np.isnan(dense), self.mean, dense)
        x = sparse.hstack(
            [x_ng, sparse.csr_matrix((filled - self.mean) / self.scale * DENSE_SCALE)]
        ).tocsr()
        return self.lr.decision_function(x)

    def to_dict(self) -> dict[str, Any]:
        vocab = self.vec.get_feature_names_out()
        n_ng = len(vocab)
        coef = self.lr.coef_[0]
        order = np.argsort(vocab, kind="stable")
        return {
            "ngrams": {
                "vocab": [str(vocab[i]) for i in order],
                "idf": [_round(self.vec.idf_[i], 4) for i in order],
                "coef": [_round(coef[i]) for i in order],
            },
            "dense": {
                "names": self.dense_names,
                "mean": [_round(v) for v in self.mean],
                "scale": [_round(v) for v in self.scale],
                # Per standardised feature, DENSE_SCALE folded in.
                "coef": [_round(c * DENSE_SCALE) for c in coef[n_ng:]],
            },
            "intercept": _round(float(self.lr.intercept_[0])),
        }


def _identity(x: list[str]) -> list[str]:
    return x


def _expand(counts: dict[str, int]) -> list[str]:
    """Counts back to a token list for the vectorizer (sorted: order-independent)."""
    return [g for g in sorted(counts) for _ in range(counts[g])]


def fit_platt(z: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """Platt scaling ``sigmoid(a*z + b)`` by weighted maximum likelihood; ``a`` kept > 0."""
    lr = LogisticRegression(C=1e6, max_iter=10000, tol=1e-10)
    lr.fit(z.reshape(-1, 1), y, sample_weight=w)
    a = float(lr.coef_[0, 0])
    if a <= 0:  # a useless model: fall back to the identity map, never invert it
        return 1.0, 0.0
    return a, float(lr.intercept_[0])


def reliability_table(
    p: np.ndarray, y: np.ndarray, w: np.ndarray | None = None, bins: int = 10
) -> tuple[list[dict[str, float]], float]:
    """Calibration bins (predicted mean vs observed MT rate) and the ECE, weighted by ``w``."""
    w = np.ones(len(p)) if w is None else w
    edges = np.linspace(0.0, 1.0, bins + 1)
    idx = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    table, ece, total = [], 0.0, w.sum()
    for b in range(bins):
        m = idx == b
        if not m.any():
            continue
        wb = w[m].sum()
        pred = float((p[m] * w[m]).sum() / wb)
        obs = float((y[m] * w[m]).sum() / wb)
        ece += wb / total * abs(pred - obs)
        table.append(
            {
                "bin": f"{edges[b]:.1f}-{edges[b + 1]:.1f}",
                "n": int(m.sum()),
                "predicted": round(pred, 4),
                "observed": round(obs, 4),
            }
        )
    return table, round(float(ece), 4)


def fit(
    docs: Sequence[DocFeatures],
    labels: Sequence[int],
    datasets: Sequence[str],
    groups: Sequence[str],
    seed: int = 13,
    dense_names: Sequence[str] | None = None,
    c_reg: float = C_REG,
    min_df: int = MIN_DF,
    calib_folds: int = CALIB_FOLDS,
) -> dict[str, Any]:
    """Fit the model and its calibration; return the weights dict (without metadata)."""
    y = np.asarray(labels, dtype=int)
    w = sample_weights(y, datasets)
    if dense_names is None:
        dense_names = dense_names_for(docs)
    # Out-of-fold logits for calibration: the full model's in-sample logits are overconfident.
    folds = fold_ids(groups, min(calib_folds, len(set(groups))), seed)
    oof = np.zeros(len(y))
    for k in sorted(set(folds)):
        tr, te = folds != k, folds == k
        if len(set(y[tr])) < 2:
            raise ValueError("a calibration fold has only one class; give more groups")
        part = _Fitted(
            [d for d, t in zip(docs, tr, strict=True) if t],
            y[tr],
            w[tr],
            dense_names,
            c_reg,
            min_df,
        )
        oof[te] = part.logits([d for d, t in zip(docs, te, strict=True) if t])
    a, b = fit_platt(oof, y, w)
    full = _Fitted(docs, y, w, dense_names, c_reg, min_df)
    out = full.to_dict()
    p_oof = 1.0 / (1.0 + np.exp(-(a * oof + b)))
    table, ece = reliability_table(p_oof, y, w)
    out["calibration"] = {
        "method": "platt",
        "a": _round(a),
        "b": _round(b),
        "fitted_on": f"out-of-fold logits, {len(set(folds))} group folds",
        "prior": 0.5,
        "reliability_oof": table,
        "ece_oof": ece,
    }
    return out


def dense_names_for(docs: Sequence[DocFeatures]) -> list[str]:
    """Dense inputs: the extract() subset, plus fluency features if any document has them."""
    names = F.dense_feature_names()
    if any(k in d.dense for d in docs for k in F.FLUENCY_FEATURES):
        names += list(F.FLUENCY_FEATURES)
    return names


def build_weights(
    records: Sequence[Record],
    docs: Sequence[DocFeatures],
    seed: int,
    data_description: list[dict] | None = None,
    fluency_lm: str | None = None,
    **fit_options: Any,
) -> dict[str, Any]:
    """Fit on ``records`` and return the complete, signed weights dict.

    ``fluency_lm`` is the fluency detector's LM signature when ``docs`` carry its features.
    """
    body = fit(
        docs,
        [r.label for r in records],
        [r.dataset for r in records],
        group_keys(records),
        seed=seed,
        **fit_options,
    )
    uses_fluency = any(n in F.FLUENCY_FEATURES for n in body["dense"]["names"])
    body["dense"]["fluency_lm"] = fluency_lm if uses_fluency else None
    body.update(
        {
            "format": WEIGHTS_FORMAT,
            "version": MODEL_VERSION,
            "feature_version": F.FEATURE_VERSION,
            "seed": seed,
            "options": {
                "C": fit_options.get("c_reg", C_REG),
                "min_df": fit_options.get("min_df", MIN_DF),
                "dense_scale": DENSE_SCALE,
                "calib_folds": fit_options.get("calib_folds", CALIB_FOLDS),
                "class_balance": "equal mass per (data set, label)",
            },
            "training_data": data_description or [],
        }
    )
    body["signature"] = content_signature(body)
    return body


def write_weights(weights: dict[str, Any], out: str | Path) -> None:
    """Write canonical JSON (sorted keys, no spaces) and a final newline."""
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(canonical_json(weights) + "\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", action="append", required=True, help="JSONL file (repeatable)")
    ap.add_argument("--out", default=str(WEIGHTS_PATH))
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument(
        "--fluency",
        choices=("auto", "on", "off"),
        default="auto",
        help="use the fluency detector's features (auto: when it loads)",
    )
    args = ap.parse_args(argv)
    records = load_records(args.data)
    flu = None if args.fluency == "off" else fluency_featurizer()
    if args.fluency == "on" and flu is None:
        ap.error("--fluency on, but the fluency detector could not be loaded")
    docs = featurize(records, flu)
    weights = build_weights(
        records,
        docs,
        args.seed,
        describe_files(args.data, records),
        fluency_lm=getattr(flu, "lm_signature", None),
    )
    write_weights(weights, args.out)
    size = Path(args.out).stat().st_size
    cal = weights["calibration"]
    print(
        f"wrote {args.out}: {len(weights['ngrams']['vocab'])} n-grams, "
        f"{len(weights['dense']['names'])} dense features (fluency: {flu is not None}), "
        f"{size / 1024:.0f} KiB, OOF ECE {cal['ece_oof']}, signature {weights['signature'][:16]}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = [
    "DocFeatures",
    "Record",
    "build_weights",
    "featurize",
    "fit",
    "fluency_featurizer",
    "group_keys",
    "load_records",
]
