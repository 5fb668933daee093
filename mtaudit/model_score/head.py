"""One calibrated head of the document score: a logistic regression over n-grams and dense
features, and its length-aware Platt calibration (see :mod:`mtaudit.model_score`).

Pure Python, no numpy: a dict lookup per n-gram.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import compress
from typing import Any

# Keeps logit() finite when a calibrated probability is rounded to 0 or 1.
_EPS = 1e-6


class WeightsError(ValueError):
    """The weights file is missing, malformed, or its signature does not match."""


def sigmoid(x: float) -> float:
    """Numerically safe logistic function."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def logit(p: float) -> float:
    """Log-odds of ``p``, clamped so a probability rounded to 0 or 1 stays finite."""
    p = min(max(p, _EPS), 1.0 - _EPS)
    return math.log(p / (1.0 - p))


@dataclass(frozen=True)
class Head:
    """One calibrated logistic regression (see :mod:`mtaudit.model_score`)."""

    name: str
    ngram_weights: Mapping[str, tuple[float, float]]  # n-gram -> (idf, coefficient)
    dense_names: tuple[str, ...]
    dense_mean: tuple[float, ...]
    dense_scale: tuple[float, ...]
    dense_coef: tuple[float, ...]  # per standardised feature
    intercept: float
    #: Calibration: slopes and intercepts at ``calib_words[0]`` and ``calib_words[1]``
    #: words, interpolated in log(words) between them.
    calib_slope: tuple[float, float]
    calib_intercept: tuple[float, float]
    calib_words: tuple[float, float]

    @classmethod
    def from_dict(cls, name: str, data: Mapping[str, Any], ngrams: Mapping[str, Any]) -> Head:
        """A head's block, with the n-gram vocabulary and idf all heads share."""
        try:
            coef = data["ngram_coef"]
            if not len(ngrams["vocab"]) == len(ngrams["idf"]) == len(coef):
                raise WeightsError(f"{name}: n-gram vocab, idf and coef differ in length")
            dense = data["dense"]
            if len({len(dense[k]) for k in ("names", "mean", "scale", "coef")}) != 1:
                raise WeightsError(f"{name}: dense names, mean, scale and coef differ in length")
            slope, intercept, words = _calibration(data["calibration"])
            return cls(
                name=name,
                ngram_weights={
                    g: (float(i), float(c))
                    for g, i, c in zip(ngrams["vocab"], ngrams["idf"], coef, strict=True)
                    if c
                },
                dense_names=tuple(dense["names"]),
                dense_mean=tuple(float(x) for x in dense["mean"]),
                dense_scale=tuple(float(x) for x in dense["scale"]),
                dense_coef=tuple(float(x) for x in dense["coef"]),
                intercept=float(data["intercept"]),
                calib_slope=slope,
                calib_intercept=intercept,
                calib_words=words,
            )
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, WeightsError):
                raise
            raise WeightsError(f"head {name!r} is malformed: {exc!r}") from None

    def ngram_logit(self, counts: Mapping[str, int]) -> float:
        """The n-gram block's contribution: coef . l2norm(tf-idf)."""
        dot = norm2 = 0.0
        for gram, count in counts.items():
            w = self.ngram_weights.get(gram)
            if w is None or count <= 0:
                continue
            value = (1.0 + math.log(count)) * w[0]
            norm2 += value * value
            dot += value * w[1]
        return dot / math.sqrt(norm2) if norm2 > 0 else 0.0

    def dense_logit(self, values: Mapping[str, float]) -> float:
        """The dense block's contribution; missing or non-finite values count as the mean."""
        total = 0.0
        for name, mean, scale, coef in zip(
            self.dense_names, self.dense_mean, self.dense_scale, self.dense_coef, strict=True
        ):
            x = values.get(name)
            if x is None or not math.isfinite(x):
                continue
            total += coef * (x - mean) / scale
        return total

    def raw_logit(
        self,
        counts: Mapping[str, int],
        values: Mapping[str, float],
        ngram_logit: float | None = None,
    ) -> float:
        """The uncalibrated regression logit from n-gram counts and dense values.

        ``ngram_logit``: :meth:`ngram_logit` of ``counts`` when the caller already has it
        (from :meth:`NgramTable.logits`).
        """
        ngram = self.ngram_logit(counts) if ngram_logit is None else ngram_logit
        return self.intercept + ngram + self.dense_logit(values)

    def calibrated_logit(self, z: float, words: int | None = None) -> float:
        """Calibrated log-odds of raw logit ``z`` for a text of ``words`` words.

        Strictly increasing in ``z`` at every length; ``words=None`` means full length.
        """
        lo, hi = self.calib_words
        n = hi if words is None else max(float(words), 0.0)
        t = 0.0 if n <= lo else 1.0 if n >= hi else math.log(n / lo) / math.log(hi / lo)
        slope = (1.0 - t) * self.calib_slope[0] + t * self.calib_slope[1]
        shift = (1.0 - t) * self.calib_intercept[0] + t * self.calib_intercept[1]
        out = slope * z + shift
        if n < lo:
            # Shorter than any calibration sample: no data to say how little such a text
            # tells; shrink toward the prior in proportion to its length.
            out *= n / lo
        return out

    def calibrate(self, z: float, words: int | None = None) -> float:
        """Calibrated probability for raw logit ``z`` (monotone increasing in ``z``)."""
        return sigmoid(self.calibrated_logit(z, words))


class NgramTable:
    """The n-gram weights of several heads in one dict, so that a document's grams are
    looked up once for all of them: ``gram -> (idf, coef) of each head, flat``, with
    ``None, None`` for a head that lacks the gram.

    :meth:`logits` gives each head's :meth:`Head.ngram_logit`, the same floats: per head
    it adds the same terms in the same order (``counts``' order, skipping the grams that
    head lacks). By the time a document is scored, other steps have pushed these large
    tables out of the CPU caches: one probe and one small block of floats per gram (the
    floats copied here side by side) touch far less memory than a probe of each head's
    own dict and its tuples.
    """

    def __init__(self, heads: Sequence[Head]) -> None:
        self.heads = tuple(heads)
        width = 2 * len(self.heads)
        joint: dict[str, list[float | None]] = {}
        get = joint.get
        # Built once per process, on the first document scored (a one-file scan pays it):
        # one probe per gram and head, no list made for a gram already there.
        for k, head in enumerate(self.heads):
            i = 2 * k
            for gram, (idf, coef) in head.ngram_weights.items():
                row = get(gram)
                if row is None:
                    row = joint[gram] = [None] * width
                # A float times 1.0 is the same float, in a new object next to the gram's
                # others (the heads' own floats lie wherever their dicts were built).
                row[i] = idf * 1.0
                row[i + 1] = coef * 1.0
        self.table: dict[str, tuple[float | None, ...]] = {
            gram: tuple(ws) for gram, ws in joint.items()
        }

    def logits(self, counts: Mapping[str, int]) -> list[float]:
        """Each head's n-gram logit of ``counts``, in the order of :attr:`heads`."""
        found = list(map(self.table.get, counts))
        # The in-vocabulary grams' weights and counts, passed on in C by compress(); and
        # their sublinear tf (1 + log), computed once for all heads. Parallel lists, not
        # pairs: no tuple per gram for the garbage collector to track.
        weights = list(compress(found, found))
        hits = list(compress(counts.values(), found))
        if hits and min(hits) <= 0:
            # Only a hand-built Mapping has such counts; they carry no evidence.
            keep = [count > 0 for count in hits]
            weights = list(compress(weights, keep))
            hits = list(compress(hits, keep))
        tfs = [1.0 + math.log(count) for count in hits]
        out = []
        for i_idf in range(0, 2 * len(self.heads), 2):
            i_coef = i_idf + 1
            dot = norm2 = 0.0
            for ws, tf in zip(weights, tfs, strict=True):
                idf = ws[i_idf]
                if idf is None:
                    continue
                value = tf * idf
                norm2 += value * value
                dot += value * ws[i_coef]  # type: ignore[operator]
            out.append(dot / math.sqrt(norm2) if norm2 > 0 else 0.0)
        return out


def _calibration(
    calib: Mapping[str, Any],
) -> tuple[tuple[float, float], tuple[float, float], tuple[float, float]]:
    """Slopes, intercepts and word range of a ``platt-length`` block, checked to be monotone."""
    try:
        if calib["method"] != "platt-length":
            raise WeightsError(f"unknown calibration method {calib['method']!r}")
        slope = (float(calib["slope"][0]), float(calib["slope"][1]))
        intercept = (float(calib["intercept"][0]), float(calib["intercept"][1]))
        words = (float(calib["words"][0]), float(calib["words"][1]))
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        if isinstance(exc, WeightsError):
            raise
        raise WeightsError(f"malformed calibration block: {exc!r}") from None
    values = slope + intercept + words
    if not all(math.isfinite(v) for v in values):
        raise WeightsError("calibration parameters must be finite")
    # The slope is linear in t between the two ends, so positive ends make it positive at
    # every length: the map is strictly increasing in the raw logit everywhere.
    if not (slope[0] > 0 and slope[1] > 0):
        raise WeightsError("calibration must be strictly increasing in z (slopes > 0)")
    # A shorter text carries less evidence: never a steeper map than at full length.
    if slope[0] > slope[1]:
        raise WeightsError("calibration slope must not decrease with length")
    if not 1.0 <= words[0] < words[1]:
        raise WeightsError("calibration word range must satisfy 1 <= lo < hi")
    return slope, intercept, words
