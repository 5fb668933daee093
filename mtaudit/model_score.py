"""The trained document score: translationese features + marker findings -> ``mt_probability``.

Two layers, applied in this order:

1. **Statistical model** (fitted by ``scripts/train.py``, weights in
   ``mtaudit/data/score-weights.json``): a logistic regression over

   - the TF-IDF vector (sublinear tf, smoothed idf, L2-normalised, as scikit-learn's
     ``TfidfVectorizer``) of the document's unigrams and bigrams
     (:func:`mtaudit.features.ngram_counts`): *abstract* ones over function words,
     punctuation and content-word shape classes, and *lexical* ones (``~``) over
     lower-case content words (never names or numbers), and
   - standardised dense features (:func:`mtaudit.features.extract` minus the function-word
     rates, plus the fluency detector's ``fluency_*`` statistics when the model was trained
     with them). A dense feature missing at inference (fluency detector disabled) is imputed
     with its training mean, i.e. contributes nothing; fluency features from another LM
     than the one recorded in the weights (``fluency_lm``) are dropped the same way.

   Its raw logit ``z`` is calibrated by *length-aware* Platt scaling, fitted on
   out-of-fold logits of whole documents and of 80/150/300-word chunks of them::

       t = clip((log(words) - log(lo)) / (log(hi) - log(lo)), 0, 1)
       p = sigmoid(slope(t) * z + intercept(t))
       slope(t) = (1 - t) * slope_lo + t * slope_hi,  0 < slope_lo <= slope_hi

   i.e. Platt scaling on ``[z, z*log(words), log(words)]`` with ``log(words)`` clamped to
   the fitted range ``[lo, hi]``. Both end slopes are positive, so the map is strictly
   increasing in ``z`` at every length (:meth:`ScoreModel.from_dict` refuses a file where
   it is not), and the slope never grows as a text gets shorter: a short text carries less
   style evidence, so the same logit means less. Below ``lo`` words (shorter than any
   calibration sample) the calibrated log-odds are further scaled by ``words / lo``
   toward the prior. 0.7 means about 70% *at a 50% prior* (training weights give MT and
   human documents equal mass) on the population it was calibrated on (the weights file's
   ``calibration.data_sets``: German->English news).

2. **Marker evidence** on top, in log-odds: each finding category adds
   ``cap * (1 - exp(-rate * sum(confidence) / cap))`` — ``rate`` log-odds for the first
   fully confident finding, saturating at ``cap`` so many weak findings cannot outvote the
   model forever. Every term is >= 0 and non-decreasing in each confidence, so findings only
   ever raise the probability. The rates are priors, not fitted: the WMT training data has
   almost no literal idioms or untranslated fragments to fit them on.

Inference is pure Python (no numpy/scikit-learn): a dict lookup per n-gram.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from mtaudit import features as feats
from mtaudit.model import Finding

WEIGHTS_PATH = Path(__file__).resolve().parent / "data" / "score-weights.json"
WEIGHTS_FORMAT = "mtaudit-score-weights/1"

#: (rate, cap) in log-odds per finding category; see the module docstring. One confirmed
#: literal idiom, untranslated fragment or boilerplate line at confidence 1 takes a 50%
#: document to ~88%; a calque to ~73%; a punctuation slip to ~57%.
MARKER_LOG_ODDS: dict[str, tuple[float, float]] = {
    "idiom": (2.0, 5.0),
    "untranslated": (2.0, 5.0),
    "boilerplate": (2.0, 5.0),
    "calque": (1.0, 3.0),
    "punctuation": (0.3, 1.5),
    # Fluency outliers are weak evidence, and the model already sees fluency_outlier_share.
    "fluency": (0.15, 0.6),
}
_DEFAULT_MARKER = (0.3, 1.0)

# Keeps logit() finite when a calibrated probability is rounded to 0 or 1.
_EPS = 1e-6


class WeightsError(ValueError):
    """The weights file is missing, malformed, or its signature does not match."""


def canonical_json(obj: Any) -> str:
    """The byte-stable JSON form used for the weights file and its signature."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_signature(weights: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of ``weights`` without its ``signature`` field."""
    body = {k: v for k, v in weights.items() if k != "signature"}
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def sigmoid(x: float) -> float:
    """Numerically safe logistic function."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def logit(p: float) -> float:
    p = min(max(p, _EPS), 1.0 - _EPS)
    return math.log(p / (1.0 - p))


def marker_log_odds(findings: Iterable[Finding]) -> float:
    """Total marker evidence in log-odds (>= 0, non-decreasing in every confidence)."""
    mass: dict[str, float] = {}
    for f in findings:
        mass[f.category] = mass.get(f.category, 0.0) + max(0.0, min(1.0, f.confidence))
    total = 0.0
    for category in sorted(mass):
        rate, cap = MARKER_LOG_ODDS.get(category, _DEFAULT_MARKER)
        total += cap * (1.0 - math.exp(-rate * mass[category] / cap))
    return total


@dataclass(frozen=True)
class ScoreBreakdown:
    """How one document's probability was reached (for reports and debugging)."""

    raw_logit: float  # the regression's logit, before calibration
    statistical_probability: float  # calibrated, before markers
    marker_log_odds: float
    probability: float  # the final mt_probability
    words: int


@dataclass(frozen=True)
class ScoreModel:
    """A loaded weights file. Build with :meth:`from_dict` or :func:`load_model`."""

    version: str
    signature: str
    ngram_weights: Mapping[str, tuple[float, float]]  # n-gram -> (idf, coefficient)
    dense_names: tuple[str, ...]
    dense_mean: tuple[float, ...]
    dense_scale: tuple[float, ...]
    dense_coef: tuple[float, ...]  # per standardised feature
    intercept: float
    #: Calibration (see the module docstring): slopes and intercepts at ``calib_words[0]``
    #: and ``calib_words[1]`` words, interpolated in log(words) between them.
    calib_slope: tuple[float, float]
    calib_intercept: tuple[float, float]
    calib_words: tuple[float, float]
    #: Signature of the LM the fluency_* inputs were computed with (None: no fluency inputs).
    #: Only pass fluency features from a detector running that LM: other LMs' surprisal
    #: is on another scale.
    fluency_lm: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], verify: bool = True) -> ScoreModel:
        """Build from a parsed weights file, checking format and (by default) signature."""
        if data.get("format") != WEIGHTS_FORMAT:
            raise WeightsError(f"not a {WEIGHTS_FORMAT} file (format={data.get('format')!r})")
        signature = content_signature(data)
        if verify and data.get("signature") != signature:
            raise WeightsError("weights signature does not match their content")
        ng = data["ngrams"]
        if not len(ng["vocab"]) == len(ng["idf"]) == len(ng["coef"]):
            raise WeightsError("n-gram vocab, idf and coef differ in length")
        dense = data["dense"]
        slope, intercept, words = _calibration(data["calibration"])
        return cls(
            version=str(data["version"]),
            signature=signature,
            ngram_weights={
                g: (float(i), float(c))
                for g, i, c in zip(ng["vocab"], ng["idf"], ng["coef"], strict=True)
            },
            dense_names=tuple(dense["names"]),
            dense_mean=tuple(float(x) for x in dense["mean"]),
            dense_scale=tuple(float(x) for x in dense["scale"]),
            dense_coef=tuple(float(x) for x in dense["coef"]),
            intercept=float(data["intercept"]),
            calib_slope=slope,
            calib_intercept=intercept,
            calib_words=words,
            fluency_lm=dense.get("fluency_lm"),
        )

    @property
    def uses_fluency(self) -> bool:
        return any(n in feats.FLUENCY_FEATURES for n in self.dense_names)

    def usable_features(
        self, features: Mapping[str, float] | None, fluency_lm: str | None = None
    ) -> dict[str, float]:
        """``features``, less the fluency ones if ``fluency_lm`` is not the training LM.

        ``fluency_lm=None`` means the caller vouches that they come from the training LM.
        """
        if not features:
            return {}
        if fluency_lm is None or fluency_lm == self.fluency_lm:
            return dict(features)
        return {k: v for k, v in features.items() if k not in feats.FLUENCY_FEATURES}

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

    def raw_logit(self, text: str, extra_features: Mapping[str, float] | None = None) -> float:
        """The uncalibrated regression logit of ``text`` (plus detector features)."""
        values: dict[str, float] = feats.extract(text)
        if extra_features:
            values.update(extra_features)
        return (
            self.intercept + self.ngram_logit(feats.ngram_counts(text)) + self.dense_logit(values)
        )

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

    def score(
        self,
        text: str,
        findings: Iterable[Finding] = (),
        features: Mapping[str, float] | None = None,
        fluency_lm: str | None = None,
    ) -> ScoreBreakdown:
        """Score one document: statistical probability, then marker evidence on top.

        ``features`` are the detectors' document features (``DocumentReport.features``);
        ``fluency_lm`` the fluency detector's LM signature (see :meth:`usable_features`).
        """
        features = self.usable_features(features, fluency_lm)
        words = len(feats.WORD.findall(text))
        markers = marker_log_odds(findings)
        if words == 0:
            # Nothing to judge style on; only markers (if any) speak.
            p = 0.0 if markers == 0 else sigmoid(markers)
            return ScoreBreakdown(0.0, 0.5, markers, p, 0)
        z = self.raw_logit(text, features)
        stat_logit = self.calibrated_logit(z, words)
        p_stat = sigmoid(stat_logit)
        return ScoreBreakdown(z, p_stat, markers, sigmoid(stat_logit + markers), words)

    def mt_probability(
        self,
        text: str,
        findings: Iterable[Finding] = (),
        features: Mapping[str, float] | None = None,
        fluency_lm: str | None = None,
    ) -> float:
        """The document's ``mt_probability`` in [0, 1], rounded to 4 decimals."""
        return round(self.score(text, findings, features, fluency_lm).probability, 4)

    @property
    def scorer_version(self) -> str:
        """For report signatures: model version and the start of the weights' sha256."""
        return f"{self.version}+{self.signature[:12]}"


def _calibration(
    calib: Mapping[str, Any],
) -> tuple[tuple[float, float], tuple[float, float], tuple[float, float]]:
    """Slopes, intercepts and word range of a calibration block, checked to be monotone.

    ``platt-length`` (see the module docstring) or the older length-blind ``platt``
    (``sigmoid(a*z + b)``, shrunk toward the prior below 40 words).
    """
    try:
        if calib["method"] == "platt":
            a, b = float(calib["a"]), float(calib["b"])
            slope, intercept, words = (a, a), (b, b), (40.0, 41.0)
        elif calib["method"] == "platt-length":
            slope = (float(calib["slope"][0]), float(calib["slope"][1]))
            intercept = (float(calib["intercept"][0]), float(calib["intercept"][1]))
            words = (float(calib["words"][0]), float(calib["words"][1]))
        else:
            raise WeightsError(f"unknown calibration method {calib['method']!r}")
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


def read_weights(path: str | Path | None = None) -> dict[str, Any]:
    """Parse a weights file (default: the packaged one)."""
    target = Path(path) if path else WEIGHTS_PATH
    try:
        with open(target, encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        raise WeightsError(
            f"no scoring weights at {target}; train them with scripts/train.py"
        ) from None


@cache
def _load(path: str) -> ScoreModel:
    return ScoreModel.from_dict(read_weights(path))


def load_model(path: str | Path | None = None) -> ScoreModel:
    """The model in ``path`` (default: packaged weights), loaded and verified once."""
    return _load(str(Path(path) if path else WEIGHTS_PATH))


def mt_probability(
    text: str,
    findings: Iterable[Finding] = (),
    features: Mapping[str, float] | None = None,
    fluency_lm: str | None = None,
    path: str | Path | None = None,
) -> float:
    """Convenience: ``load_model(path).mt_probability(text, findings, features, fluency_lm)``."""
    return load_model(path).mt_probability(text, findings, features, fluency_lm)
