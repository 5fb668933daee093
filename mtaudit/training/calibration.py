"""Length-aware Platt calibration of a head's held-out logits, and its reliability table."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit
from sklearn.linear_model import LogisticRegression

from mtaudit.training.params import CALIB_WORDS


def fit_platt(z: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """Platt scaling ``sigmoid(a*z + b)`` by weighted maximum likelihood; ``a`` kept > 0."""
    lr = LogisticRegression(C=1e6, max_iter=10000, tol=1e-10)
    lr.fit(z.reshape(-1, 1), y, sample_weight=w)
    a = float(lr.coef_[0, 0])
    if a <= 0:  # a useless model: fall back to the identity map, never invert it
        return 1.0, 0.0
    return a, float(lr.intercept_[0])


#: Smallest calibration slope: the map stays strictly increasing in the raw logit.
MIN_SLOPE = 1e-3


def length_position(words: np.ndarray, calib_words: Sequence[float] = CALIB_WORDS) -> np.ndarray:
    """``t`` of :mod:`mtaudit.model_score`: log(words) mapped onto [0, 1] over the range."""
    lo, hi = calib_words
    n = np.clip(np.asarray(words, dtype=float), lo, hi)
    return np.log(n / lo) / np.log(hi / lo)


def fit_platt_length(
    z: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    words: np.ndarray,
    calib_words: Sequence[float] = CALIB_WORDS,
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Length-aware Platt scaling by weighted maximum likelihood.

    ``logit = slope(t) * z + intercept(t)``, both linear in ``t`` (:func:`length_position`),
    i.e. Platt scaling on ``[z, z*log(words), log(words)]`` with log(words) clamped.
    Constrained to ``MIN_SLOPE <= slope_lo <= slope_hi``: increasing in ``z`` at every
    length, and never more confident about a shorter text at the same logit. Returns
    ``((slope_lo, slope_hi), (intercept_lo, intercept_hi))``.
    """
    t = length_position(words, calib_words)
    y = np.asarray(y, dtype=float)
    w = np.asarray(w, dtype=float) / np.sum(w)
    a0, b0 = fit_platt(z, y, w * len(w))

    def unpack(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        slope = p[0] + p[1] * t  # p[0] = slope_lo, p[1] = slope_hi - slope_lo >= 0
        shift = p[2] * (1 - t) + p[3] * t
        return slope, shift

    def loss(p: np.ndarray) -> tuple[float, np.ndarray]:
        slope, shift = unpack(p)
        s = slope * z + shift
        # log(1 + exp(-s)) for y=1, log(1 + exp(s)) for y=0, stably.
        nll = np.logaddexp(0.0, np.where(y > 0, -s, s))
        g = (expit(s) - y) * w  # d loss / d s
        grad = np.array([np.sum(g * z), np.sum(g * z * t), np.sum(g * (1 - t)), np.sum(g * t)])
        return float(np.sum(w * nll)), grad

    res = minimize(
        loss,
        np.array([max(a0, MIN_SLOPE), 0.0, b0, b0]),
        jac=True,
        method="L-BFGS-B",
        bounds=[(MIN_SLOPE, None), (0.0, None), (None, None), (None, None)],
        options={"maxiter": 10000, "ftol": 1e-14, "gtol": 1e-10},
    )
    p = res.x
    return (float(p[0]), float(p[0] + p[1])), (float(p[2]), float(p[3]))


def reliability_table(
    p: np.ndarray, y: np.ndarray, w: np.ndarray | None = None, bins: int = 10
) -> tuple[list[dict[str, float]], float]:
    """Calibration bins (predicted mean vs observed positive rate) and the ECE, by ``w``."""
    w = np.ones(len(p)) if w is None else w
    edges = np.linspace(0.0, 1.0, bins + 1)
    idx = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    table, ece, total = [], 0.0, w.sum()
    for b in range(bins):
        m = idx == b
        if not m.any() or w[m].sum() <= 0:
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


#: Length bins (words) of whole documents for :func:`length_balanced_weights`.
DOC_LENGTH_EDGES = (150, 300, 600)


def length_balanced_weights(
    w: np.ndarray, y: np.ndarray, words: np.ndarray, lengths: np.ndarray
) -> np.ndarray:
    """``w`` rescaled so both classes have equal mass within every length bin.

    Chunks (``lengths`` > 0) are binned by the length they were cut for, documents by
    :data:`DOC_LENGTH_EDGES`. In WMT, original-English articles are longer than translated
    ones, so unbalanced, a length-aware calibration would learn "long means human" — a
    trait of the data, not of translation. Balanced, the length terms can only learn how
    the meaning of the raw logit changes with length. Each bin keeps its total mass.
    """
    doc_bins = -1 - np.searchsorted(DOC_LENGTH_EDGES, words, side="right")
    bins = np.where(lengths > 0, lengths, doc_bins)
    out = np.asarray(w, dtype=float).copy()
    for b in sorted(set(bins.tolist())):
        m = bins == b
        mass = out[m].sum()
        masses = [out[m & (y == c)].sum() for c in (0, 1)]
        if min(masses) <= 0:
            continue
        for c, mc in zip((0, 1), masses, strict=True):
            out[m & (y == c)] *= mass / (2 * mc)
    return out


def calibrated_logits(
    z: np.ndarray,
    words: np.ndarray,
    slope: Sequence[float],
    shift: Sequence[float],
    calib_words: Sequence[float] = CALIB_WORDS,
) -> np.ndarray:
    """Vectorised :meth:`mtaudit.model_score.Head.calibrated_logit`."""
    t = length_position(words, calib_words)
    out = (slope[0] + (slope[1] - slope[0]) * t) * z + shift[0] + (shift[1] - shift[0]) * t
    return out * np.minimum(1.0, np.asarray(words, dtype=float) / calib_words[0])
