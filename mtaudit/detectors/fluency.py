"""MT6xx — disfluent sentences: language-model outliers against human-written news.

Each sentence is scored with a real English LM (:mod:`mtaudit.fluency`; the ``lm`` option:
``ngram`` by default, ``transformers`` or ``transformers:PATH``). The statistic tested is
the one the LM's reference file was built for: for the n-gram LM, *relative* surprisal
(surprisal minus the words' unigram cost, i.e. minus SLOR), because raw surprisal mostly
measures how rare a sentence's words are — on WMT news, raw surprisal puts word salad such
as "Her to the he of them in the by was have." at the 77th percentile of human sentences,
relative surprisal at the 100th. Transformer LMs have no unigram table, so their
reference is of raw surprisal.

A sentence is flagged only when it is an outlier twice over:

1. against human-written news — above the 99th percentile of sentences of similar length
   in the reference (``mtaudit/data/fluency-reference*.json``, built from the WMT
   original-English documents by ``scripts/fluency_reference.py``): a false-positive
   budget of 1 in 100 human sentences before the document test. (At the 97th percentile,
   human news drew ~12 findings per 10k words, about one per article: too noisy for a
   signal this weak.)
2. against its own document — at least one human-news standard deviation (the
   reference's IQR/1.349) above the document's median sentence, so a text that is hard
   throughout (a results table, a list of names) is not flagged sentence by sentence.

A second, local test (MT602, :mod:`mtaudit.fluency.agreement`) catches what a sentence
average dilutes: a quantifier and its noun that disagree in number ("so many interest",
"every days"), flagged when the n-gram LM finds the agreeing edit far likelier. It always
uses the n-gram LM (a core dependency), whichever LM the sentence test uses, because its
threshold was measured with that LM.

Document-level statistics (:func:`document_fluency_stats`) go to the scoring model as
features whether or not any sentence is flagged; MT602 findings do not change them. They
are taken over the text with line breaks read as spaces, as in the model's training data.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterator, Sequence
from functools import cache

from mtaudit.analysis import Analysis
from mtaudit.detectors.base import Detector, Rule
from mtaudit.fluency import Reference, Scorer, SentenceScore, get_scorer, load_reference
from mtaudit.fluency.agreement import GAIN_THRESHOLD, AgreementIssue, find_agreement_issues
from mtaudit.fluency.agreement import quantifiers as _quantifiers
from mtaudit.model import Document, Finding, Severity
from mtaudit.segment import Segmentation, segment

RULES = (
    Rule(
        "MT601",
        "disfluent-sentence",
        "fluency",
        "A sentence whose words fit together far worse, for an English language model, "
        "than in human-written news and than in the rest of its own document.",
        "Literal machine translation keeps the source's idioms, word order and collocations; "
        "English text rarely contains those word sequences, so an English language model "
        "finds each word hard to predict from its neighbours. The test discounts word "
        "rarity (names, technical terms) and sentence length, and requires the sentence to "
        "be above the 99th percentile of human news sentences and well above its "
        "document's median. A weak statistical signal: fluent machine translation passes "
        "it, so read the sentence before acting on the finding.",
        "Of the it reform the minister has said that no it will retire although the "
        "streets it ask.",
        "Rewrite the sentence in idiomatic English ('The minister has said he will not "
        "withdraw the reform, whatever the protesters demand').",
        Severity.INFO,
    ),
    Rule(
        "MT602",
        "number-disagreement",
        "fluency",
        "A quantifier and the noun after it disagree in number ('so many interest', "
        "'every days'), and an English language model finds the agreeing form far likelier.",
        "Spanish, Italian, Portuguese and French quantifiers agree with their noun in "
        "gender and number ('tanto interés', 'cada día'); a literal translation often "
        "picks the English quantifier of the wrong number. The check proposes the edits "
        "that would make the pair agree (change the quantifier, or the noun's number) and "
        "flags the pair only when the n-gram language model finds the edited sentence at "
        "least 12 times likelier. Quantifiers are listed in "
        "mtaudit/lexicons/quantifiers-en.toml.",
        "The talks showed so many interest in peace as mistrust.",
        "Make them agree: 'so much interest in peace'.",
        Severity.WARNING,
    ),
)

ADVICE = "Rewrite it idiomatically."

# Reference test: above this percentile of human news sentences of similar length (see the
# module docstring for why 99 rather than 97).
REF_PERCENTILE = 99.0
# Document test: at least this many human-news standard deviations (reference IQR/1.349:
# 0.55 nats for the n-gram LM's relative surprisal) above the document's median sentence.
DOC_MARGIN_SIGMAS = 1.0
# With fewer scorable sentences a document median means little: compare against the
# human-news median instead.
MIN_DOC_SENTENCES = 3

FEATURE_KEYS = (
    "fluency_mean",
    "fluency_std",
    "fluency_p90",
    "fluency_outlier_share",
    "fluency_ref_percentile_mean",
)


@cache
def _quantifier_re() -> re.Pattern[str]:
    """Any listed quantifier: sentences without one (most) skip the agreement test."""
    words = "|".join(sorted(map(re.escape, _quantifiers()), key=len, reverse=True))
    return re.compile(rf"\b(?:{words})\b", re.IGNORECASE)


class _NGramSignature:
    """Names the default n-gram LM's reference without loading the LM itself."""

    name = "ngram"
    signature = "lm:ngram-cmusphinx-en-us"


def document_fluency_stats(
    sentence_scores: Sequence[SentenceScore | float], reference: Reference | None = None
) -> dict[str, float]:
    """Document features from per-sentence scores (for the scoring model).

    ``sentence_scores`` are :class:`SentenceScore` (sentences shorter than the reference's
    ``min_tokens`` are ignored) or bare values of the reference's statistic.
    ``reference`` defaults to the n-gram LM's, whose statistic is relative surprisal.
    Returns {} when no sentence is long enough to score.

    - fluency_mean / fluency_std / fluency_p90: of the reference's statistic over the
      document's sentences (nats/token; for the n-gram LM, relative surprisal: about -1.5
      for human news, higher is less fluent);
    - fluency_outlier_share: share of sentences above the reference's 99th percentile
      (MT601's reference test, without its document test);
    - fluency_ref_percentile_mean: mean percentile of the sentences among human news
      (about 50 for human-written text).
    """
    if reference is None:
        reference = load_reference(_NGramSignature())  # type: ignore[arg-type]
    pairs = []
    for s in sentence_scores:
        if isinstance(s, SentenceScore):
            if s.tokens >= reference.min_tokens:
                pairs.append((reference.value(s), reference.score_percentile(s)))
        else:
            pairs.append((float(s), reference.percentile(float(s))))
    if not pairs:
        return {}
    values = sorted(v for v, _ in pairs)
    pcts = [p for _, p in pairs]
    stats = {
        "fluency_mean": statistics.fmean(values),
        "fluency_std": statistics.pstdev(values),
        "fluency_p90": _quantile(values, 0.9),
        "fluency_outlier_share": sum(p >= REF_PERCENTILE for p in pcts) / len(pcts),
        "fluency_ref_percentile_mean": statistics.fmean(pcts),
    }
    return {k: round(v, 4) for k, v in stats.items()}


def _quantile(sorted_values: Sequence[float], q: float) -> float:
    """Linear-interpolated quantile of already sorted values (numpy's default method)."""
    if len(sorted_values) == 1:
        return sorted_values[0]
    pos = q * (len(sorted_values) - 1)
    i = min(int(pos), len(sorted_values) - 2)
    return sorted_values[i] + (pos - i) * (sorted_values[i + 1] - sorted_values[i])


def _pct_text(pct: float) -> str:
    return "over 99.9" if pct >= 99.95 else f"{pct:.1f}"


class FluencyDetector(Detector):
    """Flags sentences that are LM outliers against human news and against their document."""

    prefix = "MT6"
    category = "fluency"
    rules = RULES

    @property
    def scorer(self) -> Scorer:
        """The LM, loaded once per scan (the ``lm`` option: ngram, transformers[:PATH])."""
        spec = str(self.context.options.get("lm") or "ngram")
        return self.context.resource("fluency.scorer", lambda: get_scorer(spec))

    @property
    def reference(self) -> Reference:
        """Human-news calibration for the scorer (the ``lm_reference`` option overrides)."""
        path = self.context.options.get("lm_reference")
        return self.context.resource("fluency.reference", lambda: load_reference(self.scorer, path))

    @property
    def agreement_lm(self):
        """The n-gram LM for MT602: the sentence scorer itself when it is the n-gram LM."""
        from mtaudit.fluency.ngram import NGramScorer

        if isinstance(self.scorer, NGramScorer):
            return self.scorer
        return self.context.resource("fluency.ngram", NGramScorer)

    def preload(self) -> None:
        self.reference  # noqa: B018 - loads the scorer too; raises FluencyUnavailable
        if self.wants("MT602"):
            self.agreement_lm  # noqa: B018

    def model_signature(self) -> str | None:
        return self.scorer.signature

    def detect(self, document: Document, segments: Segmentation) -> Iterator[Finding]:
        yield from self.detect_with_features(document, segments)[0]

    def detect_with_features(
        self, document: Document, segments: Segmentation
    ) -> tuple[list[Finding], dict[str, float]]:
        spans = segments.sentences
        if not spans:
            return [], {}
        agreement = self._agreement_findings(document, spans) if self.wants("MT602") else []
        flat = segments.flat if isinstance(segments, Analysis) else None
        findings, features = self._outlier_findings(document, spans, flat)
        return sorted(findings + agreement, key=lambda f: (f.start, f.code)), features

    def _agreement_findings(self, document: Document, spans) -> list[Finding]:
        """MT602 for every quantifier-noun pair the LM wants to agree."""
        out: list[Finding] = []
        pattern = _quantifier_re()
        for span in spans:
            sentence = span.text(document.text)
            if not pattern.search(sentence):
                continue
            for issue in find_agreement_issues(self.agreement_lm, sentence):
                out.append(self._agreement_finding(document, span.start, issue))
        return out

    def _agreement_finding(self, document: Document, offset: int, issue: AgreementIssue) -> Finding:
        ratio = issue.likelihood_ratio
        ratio_text = f"{ratio:,.0f}" if ratio < 1e6 else "over a million"
        changed = "quantifier" if issue.edit == "quantifier" else "noun's number"
        # 0.6 at the threshold, rising to 0.9 for a gain three nats above it.
        confidence = 0.6 + 0.1 * min(3.0, issue.gain - GAIN_THRESHOLD)
        return self.finding(
            "MT602",
            document,
            offset + issue.start,
            offset + issue.end,
            f"'{issue.text}': the quantifier and its noun disagree in number; an English "
            f"language model finds '{issue.replacement}' {ratio_text} times likelier here "
            "(a literal translation often keeps the source's agreement).",
            suggestion=issue.replacement,
            confidence=confidence,
            evidence={
                "alternative": issue.replacement,
                "edit": changed,
                "log_likelihood_gain": issue.gain,
                "lm": self.agreement_lm.signature,
            },
        )

    def _feature_scores(
        self,
        text: str,
        sentences: list[str],
        scores: list[SentenceScore],
        flat_analysis: Segmentation | None = None,
    ) -> list[SentenceScore]:
        """Sentence scores for the document features, over the text with line breaks as
        spaces: the scoring model was trained on single-line documents (a headline run
        into the first sentence), so a headline scored as a sentence of its own would be
        a skew between training and use. Sentences already scored are not scored again.
        ``flat_analysis``: the engine's analysis of that single-line text, when it has one."""
        flat = " ".join(text.split())
        if flat != text:  # else the pipeline's sentences are the flat text's sentences
            known = dict(zip(sentences, scores, strict=True))
            flat_seg = flat_analysis if flat_analysis is not None else segment(flat)
            sentences = [s.text(flat) for s in flat_seg.sentences]
            missing = [t for t in dict.fromkeys(sentences) if t not in known]
            if missing:
                known.update(zip(missing, self.scorer.score(missing), strict=True))
            scores = [known[t] for t in sentences]
        return [sc for sc in scores if sc.tokens >= self.reference.min_tokens]

    def _outlier_findings(
        self, document: Document, spans, flat: Segmentation | None = None
    ) -> tuple[list[Finding], dict[str, float]]:
        """MT601 and the document features, from whole-sentence scores."""
        scorer, ref = self.scorer, self.reference
        texts = [s.text(document.text) for s in spans]
        scores = scorer.score(texts)
        scored = [
            (span, sc)
            for span, sc in zip(spans, scores, strict=True)
            if sc.tokens >= ref.min_tokens
        ]
        features = document_fluency_stats(
            self._feature_scores(document.text, texts, scores, flat), ref
        )
        if not scored:
            return [], features
        if len(scored) >= MIN_DOC_SENTENCES:
            doc_median = statistics.median(ref.value(sc) for _, sc in scored)
        else:
            doc_median = ref.median
        needed = DOC_MARGIN_SIGMAS * ref.sigma
        findings = [
            self._finding(document, span, sc, ref, doc_median, needed)
            for span, sc in scored
            if ref.score_percentile(sc) >= REF_PERCENTILE and ref.value(sc) - doc_median >= needed
        ]
        return findings, features

    def _finding(
        self,
        document: Document,
        span,
        sc: SentenceScore,
        ref: Reference,
        doc_median: float,
        needed: float,
    ) -> Finding:
        value, pct = ref.value(sc), ref.score_percentile(sc)
        margin = value - doc_median
        # A weak signal on its own: confidence 0.35-0.6, growing with how far past each
        # threshold the sentence is.
        confidence = (
            0.35
            + 0.15 * min(1.0, (pct - REF_PERCENTILE) / (100 - REF_PERCENTILE))
            + 0.10 * min(1.0, (margin - needed) / (2 * ref.sigma))
        )
        if ref.statistic == "relative_surprisal":
            what = "This sentence's words fit their context worse"
            detail = (
                f"surprisal {sc.surprisal:.1f} nats/token, {value:+.1f} relative to the "
                f"words' own frequency; this document's median {doc_median:+.1f}"
            )
        else:
            what = "This sentence has higher surprisal"
            detail = f"{value:.1f} nats/token; this document's median {doc_median:.1f}"
        evidence = {
            "surprisal": round(sc.surprisal, 4),
            "percentile": round(pct, 2),
            # Of the tested statistic (relative surprisal for the n-gram LM).
            "document_median": round(doc_median, 4),
            "statistic": ref.statistic,
            "lm": self.scorer.signature,
        }
        if ref.statistic != "surprisal":
            evidence[ref.statistic] = round(value, 4)
        return self.finding(
            "MT601",
            document,
            span.start,
            span.end,
            f"{what} than {_pct_text(pct)}% of sentences in human-written news ({detail}): "
            f"it may be a literal translation. {ADVICE}",
            suggestion=None,  # advice, not replacement text
            confidence=confidence,
            evidence=evidence,
        )


DETECTORS = (FluencyDetector,)
