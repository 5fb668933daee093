"""The trained document score: two calibrated questions and the marker evidence on top.

A weights file (``mtaudit/data/score-weights.json``, written by ``python -m
mtaudit.training``) holds two statistical *heads* (sharing one n-gram vocabulary and idf)
and the marker weights:

- ``translated``: was this text written in another language and translated, by anyone?
  Trained on translations (machine and human) against original English news. Style
  betrays translation well (the source's syntax, word choices and rhythm show through).
- ``machine``: given a translation, did a machine make it? Trained on machine against
  human translations of the *same* source documents, so the story cannot give it away.
  A much harder question for modern neural MT: see the README's accuracy figures.
- ``machine_deep`` (optional, ``--model deep``): the same question with neural-LM
  features added (:mod:`mtaudit.deep`), in a file of its own (``score-weights-deep.json``,
  ``make train-deep``) bound to the base file's signature.

Each head is a logistic regression over

- the TF-IDF vector (sublinear tf, smoothed idf, L2-normalised, as scikit-learn's
  ``TfidfVectorizer``) of the document's n-grams
  (:func:`mtaudit.ngram_features.ngram_counts`):
  *abstract* ones over function words, punctuation and content-word shape classes, and
  *lexical* ones (``~``) over lower-case content words (never names or numbers), and
- standardised dense features (:func:`mtaudit.features.extract` and friends). A dense
  feature missing at inference is imputed with its training mean (contributes nothing);
  fluency features from another LM than the one in the weights are dropped the same way.

Its raw logit ``z`` is calibrated by *length-aware* Platt scaling, fitted on out-of-fold
logits of whole documents and of 80/150/300-word chunks of them::

    t = clip((log(words) - log(lo)) / (log(hi) - log(lo)), 0, 1)
    p = sigmoid(slope(t) * z + intercept(t))
    slope(t) = (1 - t) * slope_lo + t * slope_hi,  0 < slope_lo <= slope_hi

strictly increasing in ``z`` at every length (:mod:`.head` refuses a file where it
is not) and never steeper for a shorter text: a short text carries less style evidence.
Below ``lo`` words the calibrated log-odds are further scaled by ``words / lo``. A head's
probability is at a 50% prior (training gives its two classes equal mass).

**Marker evidence** (idiom, calque, untranslated, punctuation, boilerplate, fluency
findings) is added in log-odds to both heads: a literal idiom is evidence of translation
*and* of a machine. Each category ``c`` adds ``cap_c * (1 - exp(-weight_c * mass / cap_c))``
where ``mass`` is the sum of its findings' confidences: ``weight_c`` log-odds for the first
fully confident finding, saturating at ``cap_c`` so many weak findings cannot outvote
everything. ``weight_c`` is the *measured* log likelihood ratio of one finding of that
category (its rate per word on literal machine translation over its rate on human text,
see :mod:`mtaudit.training.markers`), so it is 0 for a category that fires as often on
human text.

Finally ``mt_probability = machine_probability * min(1, translated_probability / T)``
with ``T`` the translated verdict's threshold (0.5): the probability that a machine made
the translation, discounted when the text does not read as a translation at all. (A plain
product would let the translated head reorder machine and human translations, which it
cannot tell apart: held out, that cost up to 0.1 AUROC of machine vs human translation.)
The verdict thresholds (also in the weights file) were chosen on held-out language pairs;
:mod:`mtaudit.scoring` applies them.

Inference is pure Python (no numpy/scikit-learn): a dict lookup per n-gram.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mtaudit import features as feats
from mtaudit import ngram_features
from mtaudit.model import Finding
from mtaudit.model_score.head import Head, NgramTable, WeightsError, sigmoid
from mtaudit.model_score.head import logit as logit  # re-exported: part of this module's API

if TYPE_CHECKING:
    from mtaudit.analysis import Analysis

WEIGHTS_PATH = Path(__file__).resolve().parent.parent / "data" / "score-weights.json"
WEIGHTS_FORMAT = "mtaudit-score-weights/2"
#: ``--model deep``: the machine_deep head, in its own file (``make train-deep``), bound to
#: one base file by that file's signature.
DEEP_WEIGHTS_PATH = WEIGHTS_PATH.with_name("score-weights-deep.json")
DEEP_WEIGHTS_FORMAT = "mtaudit-score-weights-deep/1"
#: The heads a weights file must have; ``machine_deep`` is optional.
REQUIRED_HEADS = ("translated", "machine")


def canonical_json(obj: Any) -> str:
    """The byte-stable JSON form used for the weights file and its signature."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_signature(weights: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of ``weights`` without its ``signature`` field."""
    body = {k: v for k, v in weights.items() if k != "signature"}
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def combine(translated: float, machine: float, translated_threshold: float) -> float:
    """``mt_probability`` from the two heads' probabilities (see the module docstring)."""
    return machine * min(1.0, translated / translated_threshold)


@dataclass(frozen=True)
class MarkerWeight:
    """Log-odds of one marker category: ``weight`` for the first confident finding, at most
    ``cap`` in all; ``precision`` is ``weight``'s likelihood ratio as a probability at a 50%
    prior (what a report can say about one finding)."""

    weight: float
    cap: float

    @property
    def precision(self) -> float:
        return sigmoid(self.weight)


def marker_log_odds(
    findings: Iterable[Finding], weights: Mapping[str, MarkerWeight]
) -> dict[str, float]:
    """Marker evidence per category in log-odds (each >= 0, non-decreasing in confidence).

    Categories without a weight (or with weight 0) contribute nothing.
    """
    mass: dict[str, float] = {}
    for f in findings:
        mass[f.category] = mass.get(f.category, 0.0) + max(0.0, min(1.0, f.confidence))
    out: dict[str, float] = {}
    for category in sorted(mass):
        w = weights.get(category)
        if w is None or w.weight <= 0 or w.cap <= 0:
            continue
        out[category] = w.cap * (1.0 - math.exp(-w.weight * mass[category] / w.cap))
    return out


@dataclass(frozen=True)
class Thresholds:
    """Verdict thresholds (chosen on held-out language pairs by :mod:`mtaudit.training`).

    ``machine_translated`` and ``suspect`` apply to ``mt_probability``, ``translated`` to
    ``translated_probability``.
    """

    machine_translated: float
    suspect: float
    translated: float

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Thresholds:
        try:
            out = cls(
                float(data["machine_translated"]),
                float(data["suspect"]),
                float(data["translated"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise WeightsError(f"malformed verdict thresholds: {exc!r}") from None
        if not 0.0 < out.suspect <= out.machine_translated <= 1.0 or not 0 < out.translated < 1:
            raise WeightsError("verdict thresholds must satisfy 0 < suspect <= machine <= 1")
        return out


@dataclass(frozen=True)
class ScoreBreakdown:
    """How one document's numbers were reached (for reasons, reports and debugging)."""

    words: int
    #: calibrated statistical probabilities, before markers
    translated_statistical: float
    machine_statistical: float
    #: marker evidence per category, in log-odds
    markers: Mapping[str, float]
    translated_probability: float
    #: P(machine | translated), markers included
    machine_probability: float
    #: the head that answered the machine question ("machine" or "machine_deep")
    machine_head: str
    #: the translated verdict's threshold: below it, the machine probability is discounted
    translated_threshold: float = 0.5

    @property
    def marker_log_odds(self) -> float:
        return sum(self.markers.values())

    @property
    def mt_probability(self) -> float:
        return combine(
            self.translated_probability, self.machine_probability, self.translated_threshold
        )


@dataclass(frozen=True)
class ScoreModel:
    """A loaded weights file. Build with :meth:`from_dict` or :func:`load_model`."""

    version: str
    signature: str
    heads: Mapping[str, Head]
    markers: Mapping[str, MarkerWeight]
    thresholds: Mapping[str, Thresholds]  # per machine head
    #: Signature of the LM the fluency_* inputs were computed with (None: no fluency inputs).
    fluency_lm: str | None = None
    #: Signature of the neural LM behind ``machine_deep``'s features (None: no deep head).
    deep_lm: str | None = None
    #: The deep weights file's signature, when its head was added (:meth:`with_deep`).
    deep_signature: str | None = None
    #: NgramTable per machine head, built on first use (:meth:`_ngram_table`).
    _ngram_tables: dict[str, NgramTable] = dataclasses.field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], verify: bool = True) -> ScoreModel:
        """Build from a parsed weights file, checking format and (by default) signature."""
        if data.get("format") != WEIGHTS_FORMAT:
            raise WeightsError(f"not a {WEIGHTS_FORMAT} file (format={data.get('format')!r})")
        signature = content_signature(data)
        if verify and data.get("signature") != signature:
            raise WeightsError("weights signature does not match their content")
        try:
            heads = {
                name: Head.from_dict(name, h, data["ngrams"])
                for name, h in sorted(data["heads"].items())
            }
            markers = {
                c: MarkerWeight(float(m["weight"]), float(m["cap"]))
                for c, m in sorted(data["markers"].items())
            }
            thresholds = {
                name: Thresholds.from_dict(t) for name, t in sorted(data["thresholds"].items())
            }
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            if isinstance(exc, WeightsError):
                raise
            raise WeightsError(f"malformed weights file: {exc!r}") from None
        missing = [h for h in REQUIRED_HEADS if h not in heads]
        if missing:
            raise WeightsError(f"weights file lacks the head(s) {', '.join(missing)}")
        for name in heads:
            if name != "translated" and name not in thresholds:
                raise WeightsError(f"no verdict thresholds for head {name!r}")
        if any(not (math.isfinite(m.weight) and math.isfinite(m.cap)) for m in markers.values()):
            raise WeightsError("marker weights must be finite")
        return cls(
            version=str(data["version"]),
            signature=signature,
            heads=heads,
            markers=markers,
            thresholds=thresholds,
            fluency_lm=data.get("fluency_lm"),
            deep_lm=data.get("deep_lm"),
        )

    @property
    def has_deep(self) -> bool:
        return "machine_deep" in self.heads

    def with_deep(
        self, data: Mapping[str, Any], ngrams: Mapping[str, Any], verify: bool = True
    ) -> ScoreModel:
        """This model plus the ``machine_deep`` head of a deep weights file (``ngrams``: the
        base file's shared vocabulary block).

        Raises WeightsError when the file is malformed, tampered with, or was trained
        beside another base file (its vocabulary and calibration would not match).
        """
        if data.get("format") != DEEP_WEIGHTS_FORMAT:
            raise WeightsError(f"not a {DEEP_WEIGHTS_FORMAT} file (format={data.get('format')!r})")
        if verify and data.get("signature") != content_signature(data):
            raise WeightsError("deep weights signature does not match their content")
        if data.get("base_signature") != self.signature:
            raise WeightsError(
                "the deep weights were trained beside other scoring weights; retrain both "
                "with 'make train-deep'"
            )
        try:
            head = Head.from_dict("machine_deep", data["head"], ngrams)
            thresholds = Thresholds.from_dict(data["thresholds"])
        except (KeyError, TypeError) as exc:
            raise WeightsError(f"malformed deep weights: {exc!r}") from None
        return dataclasses.replace(
            self,
            heads={**self.heads, "machine_deep": head},
            thresholds={**self.thresholds, "machine_deep": thresholds},
            deep_lm=data.get("deep_lm"),
            deep_signature=str(data.get("signature")),
        )

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

    def score(
        self,
        text: str,
        findings: Iterable[Finding] = (),
        features: Mapping[str, float] | None = None,
        fluency_lm: str | None = None,
        deep: bool = False,
        analysis: Analysis | None = None,
    ) -> ScoreBreakdown:
        """Score one document: both questions, with marker evidence on top.

        ``features`` are the detectors' document features (``DocumentReport.features``),
        ``fluency_lm`` the fluency detector's LM signature (see :meth:`usable_features`).
        ``deep`` answers the machine question with ``machine_deep`` (its ``deep_*``
        features must be in ``features``); a model without that head falls back to
        ``machine``.
        """
        values = self.usable_features(features, fluency_lm)
        markers = marker_log_odds(findings, self.markers)
        m = sum(markers.values())
        machine_name = "machine_deep" if deep and self.has_deep else "machine"
        words = len(analysis.offsets) if analysis is not None else len(feats.WORD.findall(text))
        th = self.thresholds[machine_name].translated
        if words == 0:
            # Nothing to judge style on; only markers (if any) speak.
            p = 0.0 if m == 0 else sigmoid(m)
            return ScoreBreakdown(0, 0.5, 0.5, markers, p, p, machine_name, th)
        counts = ngram_features.ngram_counts(text)
        values = {**feats.extract(text, analysis), **values}
        t_head, m_head = self.heads["translated"], self.heads[machine_name]
        t_ngram, m_ngram = self._ngram_table(machine_name).logits(counts)
        t_logit = t_head.calibrated_logit(t_head.raw_logit(counts, values, t_ngram), words)
        m_logit = m_head.calibrated_logit(m_head.raw_logit(counts, values, m_ngram), words)
        return ScoreBreakdown(
            words=words,
            translated_statistical=sigmoid(t_logit),
            machine_statistical=sigmoid(m_logit),
            markers=markers,
            translated_probability=sigmoid(t_logit + m),
            machine_probability=sigmoid(m_logit + m),
            machine_head=machine_name,
            translated_threshold=th,
        )

    def _ngram_table(self, machine_name: str) -> NgramTable:
        """The translated and ``machine_name`` heads' n-gram weights in one table (built on
        first use: a few milliseconds, and not every model scores)."""
        table = self._ngram_tables.get(machine_name)
        if table is None:
            heads = (self.heads["translated"], self.heads[machine_name])
            table = self._ngram_tables[machine_name] = NgramTable(heads)
        return table

    def mt_probability(
        self,
        text: str,
        findings: Iterable[Finding] = (),
        features: Mapping[str, float] | None = None,
        fluency_lm: str | None = None,
    ) -> float:
        """The document's ``mt_probability`` in [0, 1], rounded to 4 decimals."""
        return round(self.score(text, findings, features, fluency_lm).mt_probability, 4)

    @property
    def scorer_version(self) -> str:
        """For report signatures: model version and the start of the weights' sha256 (and
        of the deep weights', when loaded)."""
        deep = f"+deep.{self.deep_signature[:12]}" if self.deep_signature else ""
        return f"{self.version}+{self.signature[:12]}{deep}"


def read_weights(path: str | Path | None = None) -> dict[str, Any]:
    """Parse a weights file (default: the packaged one)."""
    target = Path(path) if path else WEIGHTS_PATH
    try:
        with open(target, encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        raise WeightsError(
            f"no scoring weights at {target}; train them with 'make train' "
            "(python -m mtaudit.training)"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WeightsError(f"{target}: cannot read scoring weights: {exc}") from None


@cache
def _load(path: str, deep_path: str | None) -> ScoreModel:
    raw = read_weights(path)
    model = ScoreModel.from_dict(raw)
    if deep_path is None:
        return model
    try:
        with open(deep_path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        raise WeightsError(
            f"no deep scoring weights at {deep_path}; train them with 'make train-deep'"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WeightsError(f"{deep_path}: cannot read deep weights: {exc}") from None
    return model.with_deep(data, raw["ngrams"])


def load_model(path: str | Path | None = None, deep: bool = False) -> ScoreModel:
    """The model in ``path`` (default: packaged weights), loaded and verified once; with
    ``deep``, the ``machine_deep`` head of the packaged deep file added."""
    return _load(
        str(Path(path) if path else WEIGHTS_PATH), str(DEEP_WEIGHTS_PATH) if deep else None
    )
