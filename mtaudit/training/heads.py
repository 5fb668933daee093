"""One head: sample weights, the L2 logistic regression over n-grams and dense features,
and its leave-one-pair-out fit and calibration."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse
from scipy.special import expit
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from mtaudit import features as F
from mtaudit.training.calibration import (
    calibrated_logits,
    fit_platt_length,
    length_balanced_weights,
    reliability_table,
)
from mtaudit.training.data import Record
from mtaudit.training.docfeatures import DocFeatures, expand_chunks
from mtaudit.training.params import (
    C_REG,
    CALIB_WORDS,
    CHUNK_SHARE,
    DENSE_SCALE,
    MIN_DF,
    _round,
)

# -- sample weights --------------------------------------------------------------------------


def balanced_weights(labels: np.ndarray, groups: Sequence[str]) -> np.ndarray:
    """Both classes equal mass within each group; a group weighs as its documents.

    Mean weight 1 over the records that have a weight. Groups are language pairs (the
    machine head) or data sets.
    """
    g = np.asarray(groups)
    labels = np.asarray(labels)
    w = np.zeros(len(labels))
    for name in sorted(set(g.tolist())):
        in_g = g == name
        classes = sorted(set(labels[in_g].tolist()))
        for c in classes:
            mask = in_g & (labels == c)
            w[mask] = in_g.sum() / (len(classes) * mask.sum())
    return w / w.mean() if w.any() else w


def head_labels_and_weights(
    records: Sequence[Record], head: str, among: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Labels and sample weights of a head (weight 0: not a training sample of the head).

    ``among`` (machine head only) restricts the samples, the classes balanced within it:
    the deep head sees every human translation but only a few machine ones per source, and
    weights balanced over all documents would leave its machine class a fraction of the
    human one (its calibration then off by that ratio).
    """
    kinds = np.array([r.kind for r in records])
    pairs = [r.pair for r in records]
    if head == "machine":
        y = (kinds == "mt").astype(int)
        w = np.zeros(len(records))
        tr = kinds != "orig"
        if among is not None:
            tr &= among
        w[tr] = balanced_weights(y[tr], [p for p, t in zip(pairs, tr, strict=True) if t])
        return y, w
    if head == "translated":
        y = (kinds != "orig").astype(int)
        w = np.zeros(len(records))
        tr = kinds != "orig"
        # Within translations: machine and human equal per pair ...
        w[tr] = balanced_weights(
            (kinds[tr] == "mt").astype(int), [p for p, t in zip(pairs, tr, strict=True) if t]
        )
        # ... and original English as heavy as all translations together.
        n_orig = (kinds == "orig").sum()
        if n_orig:
            w[kinds == "orig"] = w[tr].sum() / n_orig
        return y, w / w[w > 0].mean()
    raise ValueError(f"unknown head {head!r}")


# -- the regression --------------------------------------------------------------------------


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
        whole: np.ndarray | None = None,
        vectorizer: TfidfVectorizer | None = None,
    ) -> None:
        """``whole`` marks the whole documents among ``docs`` (default: all): vocabulary,
        idf and the dense features' mean and scale are document statistics, so chunks
        (which would count one document several times) do not enter them. A fitted
        ``vectorizer`` (shared by the heads of one weights file) replaces the own one."""
        self.dense_names = list(dense_names)
        whole = np.ones(len(docs), bool) if whole is None else whole
        stats_docs = [d for d, k in zip(docs, whole, strict=True) if k]
        if vectorizer is None:
            vectorizer = fit_vectorizer(stats_docs, min_df)
        self.vec = vectorizer
        x_ng = self.vec.transform([_expand(d.ngrams) for d in docs])
        dense = self._dense_matrix(docs)
        # Mean-impute missing values (a document with no scorable sentence has no fluency).
        stats_dense = dense[whole]
        with np.errstate(all="ignore"):
            self.mean = np.nanmean(stats_dense, axis=0) if len(stats_dense) else np.zeros(0)
        self.mean = np.where(np.isfinite(self.mean), self.mean, 0.0)
        filled = np.where(np.isnan(dense), self.mean, dense)
        scale = filled[whole].std(axis=0)
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
        """The head's block; its ``ngram_coef`` follows :func:`vocabulary_block`'s order."""
        vocab = self.vec.get_feature_names_out()
        n_ng = len(vocab)
        coef = self.lr.coef_[0]
        order = np.argsort(vocab, kind="stable")
        return {
            "ngram_coef": [_round(coef[i]) for i in order],
            "dense": {
                "names": self.dense_names,
                "mean": [_round(v) for v in self.mean],
                "scale": [_round(v) for v in self.scale],
                # Per standardised feature, DENSE_SCALE folded in.
                "coef": [_round(c * DENSE_SCALE) for c in coef[n_ng:]],
            },
            "intercept": _round(float(self.lr.intercept_[0])),
        }


def fit_vectorizer(docs: Sequence[DocFeatures], min_df: int) -> TfidfVectorizer:
    """TF-IDF over the documents' n-grams (those in at least ``min_df`` documents)."""
    vec = TfidfVectorizer(analyzer=_identity, min_df=min_df, sublinear_tf=True, dtype=np.float64)
    vec.fit([_expand(d.ngrams) for d in docs])
    return vec


def vocabulary_block(vec: TfidfVectorizer) -> dict[str, list]:
    """The shared n-gram vocabulary (sorted) and its idf, as the weights file stores them."""
    vocab = vec.get_feature_names_out()
    order = np.argsort(vocab, kind="stable")
    return {
        "vocab": [str(vocab[i]) for i in order],
        "idf": [_round(vec.idf_[i], 4) for i in order],
    }


def _identity(x: list[str]) -> list[str]:
    return x


def _expand(counts: dict[str, int]) -> list[str]:
    """Counts back to a token list for the vectorizer (sorted: order-independent)."""
    return [g for g in sorted(counts) for _ in range(counts[g])]


def dense_names_for(docs: Sequence[DocFeatures], deep: bool = False) -> list[str]:
    """Dense inputs: the extract() subset, fluency features if any document has them, and
    (``deep``) the neural-LM features."""
    names = F.dense_feature_names()
    if any(k in d.dense for d in docs for k in F.FLUENCY_FEATURES):
        names += list(F.FLUENCY_FEATURES)
    if deep:
        names += sorted({k for d in docs for k in d.dense if k.startswith("deep_")})
    return names


# -- one head --------------------------------------------------------------------------------


@dataclass
class HeadFit:
    """A fitted head: its weights-file block and its held-out logits per document."""

    block: dict[str, Any]
    #: calibrated held-out log-odds of every document (NaN: no fold model scored it)
    heldout: np.ndarray
    #: raw held-out logits (before calibration)
    heldout_raw: np.ndarray


def fit_head(
    docs: Sequence[DocFeatures],
    y: np.ndarray,
    w: np.ndarray,
    folds: np.ndarray,
    dense_names: Sequence[str],
    c_reg: float = C_REG,
    min_df: int = MIN_DF,
    chunk_share: float = CHUNK_SHARE,
    score_all: bool = True,
    vectorizer: TfidfVectorizer | None = None,
) -> HeadFit:
    """Fit one head on the documents with weight > 0; calibrate on held-out fold logits.

    Every fold's model is trained on the other folds' samples and scores the fold's
    documents (all of them with ``score_all``, also those the head does not train on, so
    the verdict thresholds can be chosen on every document). The calibration is fitted on
    the held-out logits of the training samples (documents and chunks).
    """
    samples, sw, parent, whole = expand_chunks(docs, w, chunk_share)
    ys = y[parent]
    words = np.array([s.words for s in samples], dtype=float)
    lengths = np.array([s.length for s in samples])
    sfolds = folds[parent]
    oof = np.full(len(samples), np.nan)
    for k in sorted(set(folds.tolist()) - {-1}):
        tr = (sfolds != k) & (sw > 0)
        te = sfolds == k if score_all else (sfolds == k) & (sw > 0)
        tr &= sfolds != -1
        if not te.any():
            continue
        if len(set(ys[tr].tolist())) < 2:
            raise ValueError("a training fold has only one class; give more language pairs")
        part = _Fitted(
            [s for s, t in zip(samples, tr, strict=True) if t],
            ys[tr],
            sw[tr],
            dense_names,
            c_reg,
            min_df,
            whole[tr],
        )
        oof[te] = part.logits([s for s, t in zip(samples, te, strict=True) if t])
    cal = (sw > 0) & ~np.isnan(oof)
    w_cal = length_balanced_weights(np.where(cal, sw, 0.0), ys, words, lengths)
    slope, shift = fit_platt_length(oof[cal], ys[cal], w_cal[cal], words[cal])
    slope = (_round(slope[0]), _round(slope[1]))
    shift = (_round(shift[0]), _round(shift[1]))
    train = sw > 0
    full = _Fitted(
        [s for s, t in zip(samples, train, strict=True) if t],
        ys[train],
        sw[train],
        dense_names,
        c_reg,
        min_df,
        whole[train],
        vectorizer,
    )
    block = full.to_dict()
    s_oof = calibrated_logits(np.nan_to_num(oof), words, slope, shift)
    s_oof = np.where(np.isnan(oof), np.nan, s_oof)
    docs_cal = cal & whole
    table, ece = reliability_table(expit(s_oof[docs_cal]), ys[docs_cal], sw[docs_cal])
    block["calibration"] = {
        "method": "platt-length",
        "slope": list(slope),
        "intercept": list(shift),
        "words": list(CALIB_WORDS),
        "fitted_on": (
            f"held-out logits of {int(docs_cal.sum())} documents and "
            f"{int((cal & ~whole).sum())} chunks, {len(set(folds.tolist()) - {-1})} folds"
        ),
        "prior": 0.5,
        "reliability_heldout": table,
        "ece_heldout": ece,
    }
    n = len(docs)
    return HeadFit(block, s_oof[:n], oof[:n])
