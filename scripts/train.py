"""Train the document scorer and write ``mtaudit/data/score-weights.json``.

Usage (``make train`` runs this on the shared data and the project's own Spanish set)::

    python scripts/train.py --data ../shared/bench/wmt-de-en/dev.jsonl \\
        --data ../shared/bench/wmt21/dev.jsonl --data ../shared/bench/wmt22/dev.jsonl \\
        --data ../shared/bench/wmt23/dev.jsonl --markers tests/data/es-news/dev.jsonl \\
        --out mtaudit/data/score-weights.json --seed 13

Input: JSON lines ``{"id", "label": "mt"|"human", "origin", "year", "text"}``, read where
they lie (the data is never copied into the project). Output: a JSON-only weights file
(see :mod:`mtaudit.model_score`), byte-identical for the same data, options and seed.

What it fits:

1. **Two heads**, each an L2 logistic regression on [TF-IDF of abstract and lexical
   1-2-grams | standardised dense features x ``DENSE_SCALE``]:

   - ``translated``: translations (machine and human) against original English. Original
     English has the mass of all translations; within the translations of a language
     pair, machine and human have equal mass (else "translated" would learn "machine").
   - ``machine``: machine against human translations only; within each language pair
     the two have equal mass, and a pair weighs by its number of documents.

2. **Calibration** of each head: length-aware Platt scaling on *leave-one-language-pair-
   out* logits (every document scored by a model that never saw its language pair), so
   the probabilities say what the model knows about a language it was not trained on.
   Documents also contribute 80/150/300-word chunks (cut at sentence ends) to training
   and calibration, with the document's label, fold and mass.

3. **Marker weights**: for each finding category, the log likelihood ratio of one finding
   on machine translation against human text, from per-word rates (smoothed). Machine
   translation is an even mix of literal MT (the ``--markers`` file's ``mt`` records:
   Apertium output of Spanish news written for the project) and neural MT (the WMT
   systems); human text is every ``human`` record of every file. A category that fires
   as often on human text gets weight 0, and fluency findings none (the heads already
   see them as features).

4. **Verdict thresholds** on the held-out (leave-one-pair-out) ``mt_probability`` (the
   machine probability, discounted below the translated threshold) of
   every document: the machine-translated threshold is the lowest at which, in every
   held-out pair, at most ``MAX_HT_FLAGGED`` of human translations and ``MAX_ORIG_FLAGGED``
   of original English are flagged, and machine-vs-human-translation precision (at equal
   numbers of each, pooled over the folds) is at least ``MIN_PRECISION``; the suspect
   threshold is the lowest with precision ``SUSPECT_PRECISION``.

Language pairs: read from ``origin`` (``human-translation-de``, ``wmt21-ru-NiuTrans``,
``deepl-de``); every origin and chunk of one source document shares a fold, and original
English documents are spread over the folds by a hash of their id.

The training core (:func:`featurize`, :func:`fit`) is importable for ``bench/`` and the
tests; it needs numpy, scipy and scikit-learn, which inference does not.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse
from scipy.optimize import minimize
from scipy.special import expit
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from mtaudit import features as F  # noqa: E402
from mtaudit.model import CATEGORIES  # noqa: E402
from mtaudit.model_score import (  # noqa: E402
    DEEP_WEIGHTS_FORMAT,
    DEEP_WEIGHTS_PATH,
    WEIGHTS_FORMAT,
    WEIGHTS_PATH,
    canonical_json,
    content_signature,
)
from mtaudit.segment import segment  # noqa: E402

MODEL_VERSION = "two-heads-1"
SHARED = ROOT.parent / "shared" / "bench"
#: The shipped weights are trained on these (``make train``).
DEFAULT_DATA = tuple(
    str(SHARED / s / "dev.jsonl") for s in ("wmt-de-en", "wmt21", "wmt22", "wmt23")
)
DEFAULT_MARKERS = str(ROOT / "tests" / "data" / "es-news" / "dev.jsonl")

#: Inverse L2 strength (leave-one-pair-out AUROC is flat from C=3 to 100).
C_REG = 30.0
#: An n-gram must occur in this many training documents to get a weight (8,467 documents:
#: ~12k n-grams, a weights file under 1 MB; leave-one-pair-out AUROC is the same at 8).
MIN_DF = 40
#: Standardised dense features are scaled to the size of one TF-IDF entry (~0.02 in an
#: L2-normalised vector of ~500 active n-grams), so one L2 penalty fits both blocks.
DENSE_SCALE = 0.02
#: Length augmentation: besides the whole document, training and calibration see
#: consecutive chunks of it of about these many words, cut at sentence boundaries.
CHUNK_LENGTHS: tuple[int, ...] = (80, 150, 300)
#: At most this many chunks per document and length (evenly spaced through the document).
MAX_CHUNKS = 4
#: Share of a document's training mass given to its chunks of each length.
CHUNK_SHARE = 1 / 6
#: Length-aware calibration: log(words) is clamped to this range.
CALIB_WORDS = (80.0, 1000.0)
#: Significant digits kept in the file: ~1e-4 agreement with the fit, stable bytes.
DIGITS = 5

#: Verdict constraints, checked on every held-out language pair (see the module docstring).
MAX_HT_FLAGGED = 0.08
MAX_ORIG_FLAGGED = 0.02
MIN_PRECISION = 0.9
#: The suspect band: machine more likely than human translation (precision 0.6, odds
#: 3:2), but never calling more than this share of a pair's human translations suspect.
SUSPECT_PRECISION = 0.6
MAX_HT_SUSPECT = 0.25
#: ``translated_probability`` at or above this is a "translated" verdict (calibrated, so
#: "more likely translated than not").
TRANSLATED_THRESHOLD = 0.5
#: Marker weights: a category's log likelihood ratio is capped at this many log-odds per
#: finding, and its total at CAP_FACTOR times that (many weak findings cannot outvote all).
MAX_MARKER_WEIGHT = 4.0
CAP_FACTOR = 2.5
#: Categories whose findings are not marker evidence: fluency outliers are already in
#: both heads as the fluency_* features (counting them again would double their weight),
#: and on WMT they fire as often on human translations as on neural MT.
NOT_MARKERS = ("fluency",)


@dataclass
class Record:
    """One labelled document."""

    id: str
    label: int  # 1 = mt, 0 = human
    origin: str
    year: int
    text: str
    dataset: str

    @property
    def pair(self) -> str:
        """Source language ("de", "ja", ...); "en" for original English."""
        return pair_of(self.origin)

    @property
    def kind(self) -> str:
        """ "mt", "ht" (human translation) or "orig" (original English)."""
        if self.label:
            return "mt"
        return "orig" if self.pair == "en" else "ht"

    @property
    def family(self) -> str:
        """System family of an MT record (online, nllb, gpt4, research, literal), else kind."""
        return family_of(self.origin) if self.label else self.kind

    @property
    def source(self) -> str:
        """The source document this record translates (original English: itself)."""
        return f"{self.dataset}:{source_key(self)}"


@dataclass
class DocFeatures:
    """Everything the model needs from one document, computed once."""

    ngrams: dict[str, int]
    dense: dict[str, float] = field(default_factory=dict)
    #: Word count as :mod:`mtaudit.model_score` counts them (the calibration's length).
    words: int = 0
    #: For a chunk, the length it was cut for (:data:`CHUNK_LENGTHS`); 0 for a document.
    length: int = 0
    #: Features of the document's length-augmentation chunks (:func:`chunk_texts`).
    chunks: list[DocFeatures] = field(default_factory=list)


# -- data ------------------------------------------------------------------------------------

_ONLINE = re.compile(r"^(online-[a-z]|deepl|google)$")


def pair_of(origin: str) -> str:
    """Source language of an origin: ``human-translation-de`` / ``wmt21-ru-X`` / ``deepl-de``."""
    if origin == "original-en" or not origin:
        return "en"
    m = re.match(r"^wmt\d\d-([a-z]{2})-", origin) or re.search(r"-([a-z]{2})$", origin)
    return m.group(1) if m else origin


def system_of(origin: str) -> str:
    m = re.match(r"^wmt\d\d-[a-z]{2}-(.+)$", origin)
    if m:
        return m.group(1)
    return origin.rsplit("-", 1)[0] if re.search(r"-[a-z]{2}$", origin) else origin


def family_of(origin: str) -> str:
    """MT system family: commercial online engines, NLLB, GPT-4, literal (rule-based), or
    research systems (everything else)."""
    name = system_of(origin).lower()
    if _ONLINE.match(name):
        return "online"
    if "nllb" in name:
        return "nllb"
    if "gpt" in name:
        return "gpt4"
    if "apertium" in name:
        return "literal"
    return "research"


def source_key(r: Record) -> str:
    """Identifier of the source document, shared by its MT and human translations.

    wmt-de-en ids embed the origin (``wmt08-deepl-de-000``); WMT21-23 ids end in the system
    name or ``refA`` (``wmt21-is-en-text_105-Allegro.eu-c0``; ``-cN`` is a chunk);
    ``esnews-dev-007-apertium``. Original English is its own source. Unknown schemes fall
    back to the id.
    """
    rid = re.sub(r"-c\d+$", "", r.id)
    if r.origin == "original-en":
        return "orig:" + rid
    if r.origin and r.origin in rid:
        return rid.replace(r.origin, "")
    m = re.match(r"^(.*)-(?:ref[A-Z]|human|apertium|src)$", rid)
    if m:
        return m.group(1)
    system = system_of(r.origin)
    if system and rid.endswith("-" + system):
        return rid[: -len(system) - 1]
    return rid


def load_records(
    paths: Iterable[str | Path], labels: tuple[str, ...] = ("mt", "human")
) -> list[Record]:
    """Read JSONL files; ``dataset`` is the file's folder name (wmt-de-en, wmt22, es-news).

    Lines whose label is not in ``labels`` (e.g. ``source`` texts) are skipped.

    Raises ValueError naming ``file:line`` for an unreadable file, a line that is not a
    JSON object with ``id``, ``label`` and ``text``, or a file with no usable record.
    """
    out: list[Record] = []
    for p in paths:
        path = Path(p)
        name = path.parent.name or path.stem
        before = len(out)
        try:
            with path.open(encoding="utf-8") as fh:
                for lineno, line in enumerate(fh, 1):
                    if line.strip():
                        rec = _record(line, name, f"{path}:{lineno}", labels)
                        if rec is not None:
                            out.append(rec)
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"{path}: cannot read: {exc}") from None
        if len(out) == before:
            raise ValueError(f"{path}: no labelled documents")
    return out


def _record(line: str, dataset: str, where: str, labels: tuple[str, ...]) -> Record | None:
    """One JSONL line as a :class:`Record` (ValueError naming ``where`` if malformed)."""
    try:
        r = json.loads(line)
        if r["label"] not in ("mt", "human", "source"):
            raise ValueError(f"bad label {r['label']!r} (expected 'mt' or 'human')")
        if r["label"] not in labels:
            return None
        return Record(
            id=str(r["id"]),
            label=int(r["label"] == "mt"),
            origin=str(r.get("origin", "")),
            year=int(r.get("year") or 0),
            text=str(r["text"]),
            dataset=dataset,
        )
    except json.JSONDecodeError as exc:
        raise ValueError(f"{where}: not JSON: {exc.msg}") from None
    except KeyError as exc:
        raise ValueError(f"{where}: missing field {exc}") from None
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: {exc}") from None


def describe_files(paths: Iterable[str | Path], records: Sequence[Record]) -> list[dict]:
    """Training data description for the weights file: name, sha256, counts per kind."""
    desc = []
    for p in paths:
        path = Path(p)
        name = path.parent.name or path.stem
        rs = [r for r in records if r.dataset == name]
        kinds: dict[str, int] = {}
        for r in rs:
            kinds[r.kind] = kinds.get(r.kind, 0) + 1
        desc.append(
            {
                "file": f"{name}/{path.name}",
                "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                "documents": len(rs),
                "by_kind": dict(sorted(kinds.items())),
                "pairs": sorted({r.pair for r in rs}),
                "systems": len({r.origin for r in rs if r.label}),
            }
        )
    return desc


def _hash(text: str) -> int:
    return int(hashlib.sha256(text.encode("utf-8")).hexdigest()[:8], 16)


def pair_folds(records: Sequence[Record]) -> tuple[np.ndarray, list[str]]:
    """Leave-one-pair-out folds: a fold per source language; originals spread by hash.

    Returns the fold of every record and the fold names (the pairs, sorted).
    """
    pairs = sorted({r.pair for r in records if r.pair != "en"})
    if len(pairs) < 2:
        raise ValueError("leave-one-pair-out needs translations from two or more languages")
    folds = np.array(
        [_hash(r.source) % len(pairs) if r.pair == "en" else pairs.index(r.pair) for r in records]
    )
    return folds, pairs


# -- features --------------------------------------------------------------------------------


def fluency_featurizer() -> Callable[[str], dict[str, float]] | None:
    """The fluency detector's document features, exactly as the pipeline computes them.

    Returns None when the fluency module, its LM or its reference is unavailable.
    """
    try:
        from mtaudit.detectors.base import Context
        from mtaudit.detectors.fluency import FluencyDetector
        from mtaudit.model import Document

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


def word_count(text: str) -> int:
    """Words as the scorer counts them."""
    return len(F.WORD.findall(text))


def _sentence_pieces(text: str) -> list[tuple[int, int, int]]:
    """(start, end, words) of every sentence of ``text`` that has words."""
    out = []
    for s in segment(text).sentences:
        n = word_count(text[s.start : s.end])
        if n:
            out.append((s.start, s.end, n))
    return out


def chunk_texts(text: str, length: int, max_chunks: int = MAX_CHUNKS) -> list[str]:
    """Consecutive pieces of ``text`` of ``length``+ words, cut at sentence ends.

    Empty when the text is under 1.5 x ``length`` words; a tail shorter than ``length`` is
    dropped. More than ``max_chunks`` pieces are thinned to evenly spaced ones.
    """
    pieces = _sentence_pieces(text)
    if sum(n for _, _, n in pieces) < 1.5 * length:
        return []
    chunks, start, acc = [], None, 0
    for s, e, n in pieces:
        start = s if start is None else start
        acc += n
        if acc >= length:
            chunks.append(text[start:e])
            start, acc = None, 0
    if len(chunks) > max_chunks:
        step = (len(chunks) - 1) / (max_chunks - 1) if max_chunks > 1 else 0
        chunks = [chunks[round(i * step)] for i in range(max_chunks)]
    return chunks


def prefix_text(text: str, length: int) -> str | None:
    """The first sentences of ``text`` up to ``length``+ words (None: not shorter)."""
    end, acc = None, 0
    for _, e, n in _sentence_pieces(text):
        acc += n
        end = e
        if acc >= length:
            break
    if end is None or acc < length or not text[end:].strip():
        return None
    return text[:end]


def featurize_text(
    text: str,
    fluency: Callable[[str], dict[str, float]] | None,
    deep: Callable[[str], dict[str, float]] | None = None,
) -> DocFeatures:
    """Features of one text (no chunks)."""
    dense = F.extract(text)
    if fluency is not None:
        dense.update(fluency(text))
    if deep is not None:
        dense.update(deep(text))
    return DocFeatures(dict(F.ngram_counts(text)), dense, word_count(text))


def featurize(
    records: Sequence[Record],
    fluency: Callable[[str], dict[str, float]] | None = None,
    chunk_lengths: Sequence[int] = CHUNK_LENGTHS,
    deep: Callable[[str], dict[str, float]] | None = None,
    deep_mask: Sequence[bool] | None = None,
) -> list[DocFeatures]:
    """Features of every record (fluency ones when given) and of its chunks.

    Deep features (a neural LM over the document's first tokens) are computed for whole
    documents only, and only for the records ``deep_mask`` selects (default all): the
    ``machine_deep`` head trains without chunks on :func:`deep_sample`.
    """
    out = []
    for i, r in enumerate(records):
        use_deep = deep if deep_mask is None or deep_mask[i] else None
        doc = featurize_text(r.text, fluency, use_deep)
        for length in chunk_lengths:
            for c in chunk_texts(r.text, length):
                chunk = featurize_text(c, fluency)
                chunk.length = length
                doc.chunks.append(chunk)
        out.append(doc)
    return out


#: The deep head's training sample: every human document, and at most this many machine
#: translations of each source document (SmolLM2 costs ~1 s of CPU a document; all 8,467
#: would take hours, and the 7,027 MT documents are 12 systems' takes on the same sources).
DEEP_MT_PER_SOURCE = 3


def deep_sample(records: Sequence[Record], per_source: int = DEEP_MT_PER_SOURCE) -> list[bool]:
    """Which records the deep head sees: all human ones, and per source document the
    ``per_source`` machine translations whose ids hash lowest (a seeded, order-free pick)."""
    by_source: dict[str, list[tuple[int, int]]] = {}
    for i, r in enumerate(records):
        if r.label:
            by_source.setdefault(r.source, []).append((_hash(r.id), i))
    keep = [not r.label for r in records]
    for picks in by_source.values():
        for _, i in sorted(picks)[:per_source]:
            keep[i] = True
    return keep


def expand_chunks(
    docs: Sequence[DocFeatures], weights: np.ndarray, chunk_share: float = CHUNK_SHARE
) -> tuple[list[DocFeatures], np.ndarray, np.ndarray, np.ndarray]:
    """Training samples: every document, then its chunks.

    Returns the samples, their weights (a document and its chunks together weigh what the
    document alone weighed: ``chunk_share`` per chunk length present, split among its
    chunks), the index of each sample's document, and a whole-document mask.
    """
    samples: list[DocFeatures] = list(docs)
    w = [float(x) for x in weights]
    parent = list(range(len(docs)))
    for i, d in enumerate(docs):
        if chunk_share <= 0 or not d.chunks or weights[i] <= 0:
            continue
        by_len: dict[int, list[DocFeatures]] = {}
        for c in d.chunks:
            by_len.setdefault(c.length, []).append(c)
        for group in by_len.values():
            for c in group:
                samples.append(c)
                w.append(weights[i] * chunk_share / len(group))
                parent.append(i)
        w[i] = weights[i] * (1.0 - chunk_share * len(by_len))
    whole = np.zeros(len(samples), bool)
    whole[: len(docs)] = True
    return samples, np.array(w), np.array(parent), whole


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


def _round(x: float, digits: int = DIGITS) -> float:
    return float(f"{x:.{digits}g}") if x else 0.0


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


# -- calibration -----------------------------------------------------------------------------


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


# -- markers ---------------------------------------------------------------------------------


def findings_of(records: Sequence[Record]) -> list[list[tuple[str, float]]]:
    """(category, confidence) of every finding of the marker detectors, per record.

    The detectors run as in a scan without back-translation (``--mt off``): the training
    data has no source text to confirm spans against.
    """
    from mtaudit.model import Document
    from mtaudit.pipeline import AuditOptions, Auditor

    auditor = Auditor(AuditOptions(mt=None))
    auditor.preload()
    out = []
    try:
        for r in records:
            found = auditor.detect(Document(r.id, r.text))
            out.append([(f.category, f.confidence) for f in found])
    finally:
        auditor.close()
    return out


def marker_weights(
    records: Sequence[Record],
    findings: Sequence[Sequence[tuple[str, float]]],
    literal: Sequence[bool],
) -> dict[str, dict[str, float]]:
    """Per category: log likelihood ratio of one finding, machine translation against
    human text.

    Machine translation is an even mixture of the two kinds mtaudit meets: literal MT
    (``literal`` records: Apertium output) and neural MT (every other ``mt`` record), so a
    category counts as MT evidence only as far as it fires on MT of either kind more than
    on human text (every human record). Rates are confidence mass per word, smoothed by
    half a finding per corpus, so a category never seen on human text has a finite weight.
    """
    words = {"literal": 0, "neural": 0, "human": 0}
    kind_of = []
    for r, lit in zip(records, literal, strict=True):
        kind = "literal" if lit else "neural" if r.label else "human"
        kind_of.append(kind)
        words[kind] += word_count(r.text)
    if not words["literal"] or not words["human"]:
        raise ValueError("marker weights need literal MT (--markers) and human text")
    out = {}
    for category in CATEGORIES:
        mass = dict.fromkeys(words, 0.0)
        count = dict.fromkeys(words, 0)
        for kind, fs in zip(kind_of, findings, strict=True):
            mass[kind] += sum(conf for cat, conf in fs if cat == category)
            count[kind] += sum(1 for cat, _ in fs if cat == category)
        rate = {k: (mass[k] + 0.5) / words[k] for k in words if words[k]}
        mt_rate = (rate["literal"] + rate.get("neural", rate["literal"])) / 2
        llr = math.log(mt_rate / rate["human"])
        weight = 0.0 if category in NOT_MARKERS else min(max(llr, 0.0), MAX_MARKER_WEIGHT)
        out[category] = {
            "weight": _round(weight, 4),
            "cap": _round(CAP_FACTOR * weight, 4),
            **{
                f"per_10k_words_{k}": _round(1e4 * count[k] / words[k], 4)
                for k in ("literal", "neural", "human")
                if words[k]
            },
            "precision_at_even_odds": _round(1 / (1 + math.exp(-weight)), 4),
        }
    return out


def marker_log_odds(
    findings: Sequence[tuple[str, float]], weights: Mapping[str, Mapping[str, float]]
) -> float:
    """The total marker evidence of one document (as :func:`mtaudit.model_score.marker_log_odds`)."""
    mass: dict[str, float] = {}
    for cat, conf in findings:
        mass[cat] = mass.get(cat, 0.0) + max(0.0, min(1.0, conf))
    total = 0.0
    for cat, m in mass.items():
        w = weights.get(cat)
        if w and w["weight"] > 0 and w["cap"] > 0:
            total += w["cap"] * (1.0 - math.exp(-w["weight"] * m / w["cap"]))
    return total


# -- thresholds ------------------------------------------------------------------------------


def flag_rates(
    mt_p: np.ndarray, kinds: np.ndarray, folds: np.ndarray, threshold: float
) -> dict[str, Any]:
    """Per fold: share of MT, human translations and originals at or over ``threshold``;
    pooled precision of MT against human translation at equal numbers of each."""
    per_fold = {}
    tprs, fprs = [], []
    for k in sorted(set(folds.tolist())):
        m = folds == k
        row = {}
        for kind in ("mt", "ht", "orig"):
            sel = m & (kinds == kind) & ~np.isnan(mt_p)
            row[kind] = float((mt_p[sel] >= threshold).mean()) if sel.any() else None
        per_fold[k] = row
        if row["mt"] is not None and row["ht"] is not None:
            tprs.append(row["mt"])
            fprs.append(row["ht"])
    tpr, fpr = float(np.mean(tprs)), float(np.mean(fprs))
    precision = tpr / (tpr + fpr) if tpr + fpr > 0 else 1.0
    return {"per_fold": per_fold, "mt_caught": tpr, "ht_flagged": fpr, "precision": precision}


def choose_thresholds(
    mt_p: np.ndarray,
    kinds: np.ndarray,
    folds: np.ndarray,
    max_ht: float = MAX_HT_FLAGGED,
    max_orig: float = MAX_ORIG_FLAGGED,
    min_precision: float = MIN_PRECISION,
    suspect_precision: float = SUSPECT_PRECISION,
    max_ht_suspect: float = MAX_HT_SUSPECT,
) -> dict[str, float]:
    """The machine-translated and suspect thresholds (see the module docstring).

    Candidates are the held-out probabilities themselves (rounded to 3 decimals). The
    machine threshold is the lowest at which machine translations are caught with
    ``min_precision`` and, in every fold, no more than ``max_ht`` of human translations and
    ``max_orig`` of originals are flagged; where none is (the statistics alone never
    reach that precision), it is just above every human document's held-out score, so
    only marker evidence stronger than any seen on human text reaches it. The suspect
    threshold is the lowest with ``suspect_precision`` and at most ``max_ht_suspect`` of
    any fold's human translations, never above the machine one.
    """
    valid = ~np.isnan(mt_p)
    cands = sorted({round(float(x), 3) for x in mt_p[valid]})
    cands = [c for c in cands if 0.05 <= c <= 0.999]

    def ok(t: float, precision: float, ht: float, orig: float) -> bool:
        r = flag_rates(mt_p, kinds, folds, t)
        if r["mt_caught"] <= 0 or r["precision"] < precision:
            return False
        return all(
            (row["ht"] is None or row["ht"] <= ht) and (row["orig"] is None or row["orig"] <= orig)
            for row in r["per_fold"].values()
        )

    human = valid & (kinds != "mt")
    above_human = min(0.999, math.ceil(float(mt_p[human].max(initial=0.0)) * 1000 + 1) / 1000)
    machine = next((t for t in cands if ok(t, min_precision, max_ht, max_orig)), above_human)
    suspect = next((t for t in cands if ok(t, suspect_precision, max_ht_suspect, 1.0)), machine)
    return {"machine_translated": machine, "suspect": min(suspect, machine)}


# -- everything ------------------------------------------------------------------------------


@dataclass
class Fit:
    """The fitted weights body and the held-out figures behind its thresholds."""

    body: dict[str, Any]
    heldout: dict[str, np.ndarray]


def fit(
    records: Sequence[Record],
    docs: Sequence[DocFeatures],
    findings: Sequence[Sequence[tuple[str, float]]],
    literal_records: Sequence[Record] = (),
    literal_findings: Sequence[Sequence[tuple[str, float]]] = (),
    c_reg: float = C_REG,
    min_df: int = MIN_DF,
    chunk_share: float = CHUNK_SHARE,
    deep: bool = False,
) -> Fit:
    """Fit both heads (and ``machine_deep`` when ``deep``), marker weights and thresholds.

    ``records``/``docs``/``findings``: the training documents (two or more language
    pairs). ``literal_*``: literal machine translations and their human translations for
    the marker weights only (their style is not WMT's, and they are too few to train on).
    """
    folds, fold_names = pair_folds(records)
    kinds = np.array([r.kind for r in records])
    base_names = dense_names_for(docs)
    # One vocabulary for every head (the file stores it once), from every document.
    vec = fit_vectorizer(docs, min_df)
    heads: dict[str, HeadFit] = {}
    for head in ("translated", "machine"):
        y, w = head_labels_and_weights(records, head)
        heads[head] = fit_head(docs, y, w, folds, base_names, c_reg, min_df, chunk_share, True, vec)
    if deep:
        has_deep = np.array([any(k.startswith("deep_") for k in d.dense) for d in docs])
        y, w = head_labels_and_weights(records, "machine", among=has_deep)
        # Trained and scored only where the LM ran; no chunks (its features are per document).
        heads["machine_deep"] = fit_head(
            docs,
            y,
            w,
            np.where(has_deep, folds, -1),
            dense_names_for(docs, deep=True),
            c_reg,
            min_df,
            0.0,
            True,
            vec,
        )
    markers = marker_weights(
        [*records, *literal_records],
        [*findings, *literal_findings],
        [False] * len(records) + [bool(r.label) for r in literal_records],
    )
    m = np.array([marker_log_odds(fs, markers) for fs in findings])
    p_t = expit(heads["translated"].heldout + m)
    heldout = {"translated_probability": p_t, "marker_log_odds": m}
    thresholds = {}
    for name in [h for h in heads if h != "translated"]:
        p_m = expit(heads[name].heldout + m)
        mt_p = p_m * np.minimum(1.0, p_t / TRANSLATED_THRESHOLD)  # model_score.combine
        heldout[f"{name}_probability"] = p_m
        heldout[f"mt_probability_{name}"] = mt_p
        th = choose_thresholds(mt_p, kinds, folds)
        th["translated"] = TRANSLATED_THRESHOLD
        rates = flag_rates(mt_p, kinds, folds, th["machine_translated"])
        th["heldout"] = {
            "folds": "leave-one-language-pair-out",
            "mt_caught": _round(rates["mt_caught"], 4),
            "ht_flagged": _round(rates["ht_flagged"], 4),
            "precision_mt_vs_ht": _round(rates["precision"], 4),
            "per_pair": {
                fold_names[k]: {kk: None if v is None else _round(v, 4) for kk, v in row.items()}
                for k, row in rates["per_fold"].items()
            },
        }
        thresholds[name] = {k: (_round(v, 4) if isinstance(v, float) else v) for k, v in th.items()}
    body = {
        "ngrams": vocabulary_block(vec),
        "heads": {name: h.block for name, h in heads.items()},
        "markers": markers,
        "thresholds": thresholds,
        "folds": {"by": "language pair", "pairs": fold_names},
    }
    return Fit(body, heldout)


def build_weights(
    records: Sequence[Record],
    docs: Sequence[DocFeatures],
    findings: Sequence[Sequence[tuple[str, float]]],
    seed: int,
    literal_records: Sequence[Record] = (),
    literal_findings: Sequence[Sequence[tuple[str, float]]] = (),
    data_description: list[dict] | None = None,
    fluency_lm: str | None = None,
    **fit_options: Any,
) -> dict[str, Any]:
    """Fit and return the complete, signed weights dict (the base file, no deep head).

    ``seed`` is recorded for the record: the fit itself is deterministic (folds are the
    language pairs; originals are spread by a hash), so the same data gives the same bytes.
    """
    return build_all(
        records, docs, findings, seed, literal_records, literal_findings, data_description,
        fluency_lm, None, **fit_options,
    )[0]  # fmt: skip


def build_all(
    records: Sequence[Record],
    docs: Sequence[DocFeatures],
    findings: Sequence[Sequence[tuple[str, float]]],
    seed: int,
    literal_records: Sequence[Record] = (),
    literal_findings: Sequence[Sequence[tuple[str, float]]] = (),
    data_description: list[dict] | None = None,
    fluency_lm: str | None = None,
    deep_lm: str | None = None,
    **fit_options: Any,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The base weights and, with ``deep_lm``, the deep file (its ``machine_deep`` head and
    thresholds, bound to the base file by its signature). The base bytes do not depend on
    whether the deep head was fitted."""
    result = fit(
        records,
        docs,
        findings,
        literal_records,
        literal_findings,
        deep=deep_lm is not None,
        **fit_options,
    )
    body = result.body
    deep_head = body["heads"].pop("machine_deep", None)
    deep_thresholds = body["thresholds"].pop("machine_deep", None)
    uses_fluency = any(
        n in F.FLUENCY_FEATURES for h in body["heads"].values() for n in h["dense"]["names"]
    )
    body.update(
        {
            "format": WEIGHTS_FORMAT,
            "version": MODEL_VERSION,
            "feature_version": F.FEATURE_VERSION,
            "fluency_lm": fluency_lm if uses_fluency else None,
            "seed": seed,
            "options": {
                "C": fit_options.get("c_reg", C_REG),
                "min_df": fit_options.get("min_df", MIN_DF),
                "dense_scale": DENSE_SCALE,
                "chunks": {
                    "lengths": list(CHUNK_LENGTHS),
                    "max_per_length": MAX_CHUNKS,
                    "share_per_length": _round(fit_options.get("chunk_share", CHUNK_SHARE)),
                },
                "verdict_constraints": {
                    "max_ht_flagged_per_pair": MAX_HT_FLAGGED,
                    "max_original_flagged_per_pair": MAX_ORIG_FLAGGED,
                    "min_precision_mt_vs_ht": MIN_PRECISION,
                    "suspect_precision": SUSPECT_PRECISION,
                    "max_ht_suspect_per_pair": MAX_HT_SUSPECT,
                },
            },
            "training_data": data_description or [],
        }
    )
    body["signature"] = content_signature(body)
    if deep_head is None:
        return body, None
    deep = {
        "format": DEEP_WEIGHTS_FORMAT,
        "version": MODEL_VERSION,
        "base_signature": body["signature"],
        "deep_lm": deep_lm,
        "head": deep_head,
        "thresholds": deep_thresholds,
        "sample": f"every human document and at most {DEEP_MT_PER_SOURCE} machine "
        "translations per source document; no chunks",
        "seed": seed,
    }
    deep["signature"] = content_signature(deep)
    return body, deep


class DeepCache:
    """A featurizer wrapper that remembers results in a JSON file (``--deep-cache``).

    Keyed by the sha256 of the LM signature and the text, so a changed model or text is
    recomputed; the features themselves are what the LM gave, so the weights do not depend
    on whether the cache was used.
    """

    def __init__(self, path: str | Path, featurizer: Callable[[str], dict[str, float]]) -> None:
        self.path = Path(path)
        self.featurizer = featurizer
        self.lm_signature = getattr(featurizer, "lm_signature", "")
        try:
            self.data: dict[str, dict[str, float]] = json.loads(self.path.read_text("utf-8"))
        except (OSError, ValueError):
            self.data = {}
        self._new = 0

    def __call__(self, text: str) -> dict[str, float]:
        key = hashlib.sha256(f"{self.lm_signature}\0{text}".encode()).hexdigest()
        if key not in self.data:
            self.data[key] = self.featurizer(text)
            self._new += 1
            if self._new % 200 == 0:  # an interrupted run keeps most of its work
                self.save()
        return dict(self.data[key])

    def save(self) -> None:
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        tmp.write_text(json.dumps(self.data), encoding="utf-8")
        tmp.replace(self.path)


def write_weights(weights: dict[str, Any], out: str | Path) -> None:
    """Write canonical JSON (sorted keys, no spaces) and a final newline, atomically."""
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(canonical_json(weights) + "\n", encoding="utf-8")
    tmp.replace(path)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--data",
        action="append",
        help="labelled JSONL file (repeatable; default: the four shared WMT sets)",
    )
    ap.add_argument(
        "--markers",
        default=DEFAULT_MARKERS,
        help="JSONL with literal MT ('mt') and human translations of the same texts, for the "
        "marker weights (default: %(default)s)",
    )
    ap.add_argument("--out", default=str(WEIGHTS_PATH))
    ap.add_argument(
        "--deep-out", default=str(DEEP_WEIGHTS_PATH), help="where --deep writes its head"
    )
    ap.add_argument(
        "--deep-cache",
        metavar="FILE",
        help="keep --deep's features in FILE (JSON, by text and LM signature) so a rerun "
        "skips the LM; never committed",
    )
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument(
        "--fluency",
        choices=("auto", "on", "off"),
        default="auto",
        help="use the fluency detector's features (auto: when it loads)",
    )
    ap.add_argument(
        "--deep",
        choices=("auto", "on", "off"),
        default="off",
        help="also fit the machine_deep head on SmolLM2 features and write --deep-out (needs "
        "'make neural'; about 1 s of CPU for each of ~3,300 sampled documents)",
    )
    args = ap.parse_args(argv)
    data = args.data or list(DEFAULT_DATA)
    try:
        records = load_records(data)
        literal = load_records([args.markers]) if args.markers else []
    except ValueError as exc:
        ap.error(str(exc))
    flu = None if args.fluency == "off" else fluency_featurizer()
    if args.fluency == "on" and flu is None:
        ap.error("--fluency on, but the fluency detector could not be loaded")
    deep = None
    if args.deep != "off":
        from mtaudit import deep as deep_module

        try:
            deep = deep_module.featurizer()
        except deep_module.DeepUnavailable as exc:
            if args.deep == "on":
                ap.error(f"--deep on, but {exc}")
    cache = None
    if deep is not None and args.deep_cache:
        cache = DeepCache(args.deep_cache, deep)
        deep = cache
    docs = featurize(records, flu, deep=deep, deep_mask=deep_sample(records) if deep else None)
    if cache is not None:
        cache.save()
    try:
        weights, deep_weights = build_all(
            records,
            docs,
            findings_of(records),
            args.seed,
            literal,
            findings_of(literal),
            describe_files(
                [*data, *([args.markers] if args.markers else [])], [*records, *literal]
            ),
            fluency_lm=getattr(flu, "lm_signature", None),
            deep_lm=getattr(deep, "lm_signature", None),
        )
    except ValueError as exc:  # e.g. one class only, or one language pair
        ap.error(f"cannot train on {', '.join(data)}: {exc}")
    write_weights(weights, args.out)
    size = Path(args.out).stat().st_size
    print(f"wrote {args.out}: {size / 1024:.0f} KiB, signature {weights['signature'][:16]}")
    if deep_weights is not None:
        write_weights(deep_weights, args.deep_out)
        print(f"wrote {args.deep_out}: signature {deep_weights['signature'][:16]}")
    heads = dict(weights["heads"])
    thresholds = dict(weights["thresholds"])
    if deep_weights is not None:
        heads["machine_deep"] = deep_weights["head"]
        thresholds["machine_deep"] = deep_weights["thresholds"]
    for name, head in heads.items():
        cal = head["calibration"]
        print(
            f"  head {name}: {sum(1 for c in head['ngram_coef'] if c)} n-grams, "
            f"{len(head['dense']['names'])} dense features, held-out ECE {cal['ece_heldout']}"
        )
    for name, th in thresholds.items():
        h = th["heldout"]
        print(
            f"  verdicts ({name}): machine-translated >= {th['machine_translated']}, suspect >= "
            f"{th['suspect']}; held out: MT caught {h['mt_caught']}, human translations "
            f"flagged {h['ht_flagged']}, precision {h['precision_mt_vs_ht']}"
        )
    for cat, m in weights["markers"].items():
        print(
            f"  marker {cat}: weight {m['weight']} (precision {m['precision_at_even_odds']}; per "
            f"10k words: literal MT {m['per_10k_words_literal']}, neural MT "
            f"{m.get('per_10k_words_neural')}, human {m['per_10k_words_human']})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = [
    "DocFeatures",
    "Record",
    "build_weights",
    "chunk_texts",
    "featurize",
    "fit",
    "fluency_featurizer",
    "load_records",
    "pair_folds",
]
