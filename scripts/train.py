"""Train the document scoring model and write ``mtaudit/data/score-weights.json``.

Usage (``make train DATA=...`` runs the first form)::

    python scripts/train.py --data ../shared/bench/wmt-de-en/dev.jsonl \\
        --data ../shared/bench/wmt22/dev.jsonl --out mtaudit/data/score-weights.json --seed 13

Input: JSON lines ``{"id", "label": "mt"|"human", "origin", "year", "text"}``, read where
they lie (the data is never copied into the project). Output: a JSON-only weights file
(see :mod:`mtaudit.model_score`), byte-identical for the same data, options and seed.

Model: L2 logistic regression on [TF-IDF of abstract and lexical 1-2-grams | standardised dense
features x ``DENSE_SCALE``]; sample weights give MT and human documents equal mass within
every data set (a 50% prior, whatever the mix of the file), and each data set a mass in
proportion to its documents.

Length augmentation: a model fitted on whole news articles (most several hundred words) is
overconfident on short texts, whose style statistics are noisier. So every document also
contributes consecutive 80/150/300-word chunks of itself (cut at sentence ends), which
share the document's label, cross-validation group and training mass (the document and its
chunks weigh what the document alone did).

Calibration is length-aware Platt scaling (see :mod:`mtaudit.model_score`), fitted on the
out-of-fold logits of documents *and* chunks from group folds (by year; by source document
for a file with fewer than 3 years), so no source document — nor any chunk of it — is on
both sides of a fold. It is constrained to be strictly increasing in the logit at every
length, and never more confident about a shorter text at the same logit; its weights
balance MT and human within each length bin, so it cannot learn that length itself
predicts the label (WMT original-English articles are longer than the translations).
Only the data sets named by ``--calibrate-on`` (default :data:`CALIBRATE_ON`, wmt-de-en)
calibrate: every file trains the regression, but the probabilities are calibrated to
European-language news translated by commercial MT, mtaudit's population.

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
from scipy.optimize import minimize
from scipy.special import expit
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
from mtaudit.segment import segment  # noqa: E402

MODEL_VERSION = "lr-abstract-lexical-ngram-2"
#: Inverse L2 strength (leave-one-year-out CV on wmt-de-en, no chunks, HT vs DeepL AUROC:
#: C=10 0.783, 30 0.795, 60 0.798; the lexical n-grams want a weaker penalty than the
#: abstract ones alone did, where 3-30 were within 0.01).
C_REG = 30.0
#: An n-gram must occur in this many training documents to get a weight (5-8 are equal in
#: CV; 8 keeps the weights file, ~20k abstract and lexical n-grams, near 500 KiB).
MIN_DF = 8
#: Standardised dense features are scaled to the size of one TF-IDF entry (~0.02 in an
#: L2-normalised vector of ~500 active n-grams), so one L2 penalty fits both blocks.
DENSE_SCALE = 0.02
#: Folds for the out-of-fold logits the calibration is fitted on.
CALIB_FOLDS = 5
#: Length augmentation: besides the whole document, training and calibration see
#: consecutive chunks of it of about these many words, cut at sentence boundaries (only
#: lengths under 2/3 of the document, so a chunk is never almost the whole of it).
CHUNK_LENGTHS: tuple[int, ...] = (80, 150, 300)
#: At most this many chunks per document and length (evenly spaced through the document).
MAX_CHUNKS = 4
#: Share of a document's training mass given to its chunks of each length (split evenly
#: among them); the whole document keeps the rest, so every document weighs as before.
CHUNK_SHARE = 1 / 6
#: Length-aware calibration: log(words) is clamped to this range (shorter texts are
#: shrunk toward the prior by :mod:`mtaudit.model_score`).
CALIB_WORDS = (80.0, 1000.0)
#: Data sets (folder names) the calibration is fitted on, when the training data has any
#: of them (else all): the regression learns from every file, but probabilities are
#: calibrated to the population mtaudit is for, news translated from European languages by
#: commercial MT. Calibrated on wmt22 (Japanese, 14 research and online systems) as well,
#: the map over-states MT on German->English (leave-one-year-out ECE 0.058 -> 0.039 without).
CALIBRATE_ON: tuple[str, ...] = ("wmt-de-en",)
#: Significant digits kept in the file: ~1e-4 agreement with the fit, stable bytes, ~500 KiB.
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
    #: Word count as :mod:`mtaudit.model_score` counts them (the calibration's length).
    words: int = 0
    #: For a chunk, the length it was cut for (:data:`CHUNK_LENGTHS`); 0 for a document.
    length: int = 0
    #: Features of the document's length-augmentation chunks (:func:`chunk_texts`).
    chunks: list[DocFeatures] = field(default_factory=list)


def load_records(paths: Iterable[str | Path]) -> list[Record]:
    """Read JSONL files; ``dataset`` is the file's folder name (wmt-de-en, wmt22).

    Raises ValueError naming ``file:line`` for an unreadable file, a line that is not a
    JSON object with ``id``, ``label`` ("mt"/"human") and ``text``, or a file with none.
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
                        out.append(_record(line, name, f"{path}:{lineno}"))
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"{path}: cannot read: {exc}") from None
        if len(out) == before:
            raise ValueError(f"{path}: no labelled documents")
    return out


def _record(line: str, dataset: str, where: str) -> Record:
    """One JSONL line as a :class:`Record` (ValueError naming ``where`` if malformed)."""
    try:
        r = json.loads(line)
        if r["label"] not in ("mt", "human"):
            raise ValueError(f"bad label {r['label']!r} (expected 'mt' or 'human')")
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


def featurize_text(text: str, fluency: Callable[[str], dict[str, float]] | None) -> DocFeatures:
    """Features of one text (no chunks)."""
    dense = F.extract(text)
    if fluency is not None:
        dense.update(fluency(text))
    return DocFeatures(dict(F.ngram_counts(text)), dense, word_count(text))


def featurize(
    records: Sequence[Record],
    fluency: Callable[[str], dict[str, float]] | None = None,
    chunk_lengths: Sequence[int] = CHUNK_LENGTHS,
) -> list[DocFeatures]:
    """Features of every record (fluency ones when given) and of its chunks."""
    out = []
    for r in records:
        doc = featurize_text(r.text, fluency)
        for length in chunk_lengths:
            for c in chunk_texts(r.text, length):
                doc.chunks.append(featurize_text(c, fluency))
                doc.chunks[-1].length = length
        out.append(doc)
    return out


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
        if chunk_share <= 0 or not d.chunks:
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


def sample_weights(labels: np.ndarray, datasets: Sequence[str]) -> np.ndarray:
    """MT and human equal mass within each data set; a data set weighs as its documents.

    Mean weight 1. Equal mass per data set would let wmt22's 64 human documents weigh as
    much as wmt-de-en's 572 (9x per document), and the model fit them at the cost of the
    rest (wmt-de-en, leave-one-year-out: HT vs DeepL AUROC 0.808 -> 0.813, ECE 0.064 ->
    0.058 with proportional mass).
    """
    ds = np.asarray(datasets)
    labels = np.asarray(labels)
    w = np.zeros(len(labels))
    for d in sorted(set(ds.tolist())):
        in_d = ds == d
        classes = sorted(set(labels[in_d].tolist()))
        for c in classes:
            mask = in_d & (labels == c)
            w[mask] = in_d.sum() / (len(classes) * mask.sum())
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
        whole: np.ndarray | None = None,
    ) -> None:
        """``whole`` marks the whole documents among ``docs`` (default: all): vocabulary,
        idf and the dense features' mean and scale are document statistics, so chunks
        (which would count one document several times) do not enter them."""
        self.dense_names = list(dense_names)
        whole = np.ones(len(docs), bool) if whole is None else whole
        stats_docs = [d for d, k in zip(docs, whole, strict=True) if k]
        self.vec = TfidfVectorizer(
            analyzer=_identity, min_df=min_df, sublinear_tf=True, dtype=np.float64
        )
        self.vec.fit([_expand(d.ngrams) for d in stats_docs])
        x_ng = self.vec.transform([_expand(d.ngrams) for d in docs])
        dense = self._dense_matrix(docs)
        # Mean-impute missing values (a document with no scorable sentence has no fluency).
        stats_dense = dense[whole]
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
    chunk_share: float = CHUNK_SHARE,
    length_calibration: bool = True,
    balance_lengths: bool = True,
    calibrate_on: Sequence[str] | None = CALIBRATE_ON,
) -> dict[str, Any]:
    """Fit the model and its calibration; return the weights dict (without metadata).

    Each document's chunks (``DocFeatures.chunks``) are extra samples with the document's
    label, data set and group (so no fold splits a document from its chunks) and a share
    ``chunk_share`` per length of its weight (:func:`expand_chunks`). The calibration is
    fitted on the out-of-fold logits of documents and chunks, length-aware unless
    ``length_calibration`` is False (then plain Platt scaling). Only the samples of the
    data sets in ``calibrate_on`` calibrate (:func:`calibration_sets`).
    """
    y_doc = np.asarray(labels, dtype=int)
    w_doc = sample_weights(y_doc, datasets)
    if dense_names is None:
        dense_names = dense_names_for(docs)
    samples, w, parent, whole = expand_chunks(docs, w_doc, chunk_share)
    y = y_doc[parent]
    words = np.array([s.words for s in samples], dtype=float)
    doc_folds = fold_ids(groups, min(calib_folds, len(set(groups))), seed)
    folds = doc_folds[parent]
    # Out-of-fold logits for calibration: the full model's in-sample logits are overconfident.
    oof = np.zeros(len(y))
    for k in sorted(set(folds)):
        tr, te = folds != k, folds == k
        if len(set(y[tr])) < 2:
            raise ValueError("a calibration fold has only one class; give more groups")
        part = _Fitted(
            [d for d, t in zip(samples, tr, strict=True) if t],
            y[tr],
            w[tr],
            dense_names,
            c_reg,
            min_df,
            whole[tr],
        )
        oof[te] = part.logits([d for d, t in zip(samples, te, strict=True) if t])
    cal_sets = calibration_sets(datasets, calibrate_on)
    sets = np.asarray(datasets)[parent]
    calibrating = np.isin(sets, cal_sets)  # per sample (documents and chunks)
    w_in = np.where(calibrating, w, 0.0)
    lengths = np.array([s.length for s in samples])
    if length_calibration:
        w_cal = length_balanced_weights(w_in, y, words, lengths, sets) if balance_lengths else w_in
        slope, shift = fit_platt_length(oof, y, w_cal, words)
        calib_words = CALIB_WORDS
    else:
        a, b = fit_platt(oof, y, w_in)
        slope, shift, calib_words = (a, a), (b, b), (40.0, 41.0)
    slope = (_round(slope[0]), _round(slope[1]))
    shift = (_round(shift[0]), _round(shift[1]))
    full = _Fitted(samples, y, w, dense_names, c_reg, min_df, whole)
    out = full.to_dict()
    s_oof = calibrated_logits(oof, words, slope, shift, calib_words)
    p_oof = expit(s_oof)
    docs_in = calibrating[whole]
    table, ece = reliability_table(p_oof[whole][docs_in], y[whole][docs_in], w_doc[docs_in])
    by_length = {}
    for name, mask in length_bins(lengths).items():
        mask = mask & calibrating
        by_length[name] = {
            "samples": int(mask.sum()),
            "ece": reliability_table(p_oof[mask], y[mask], w[mask])[1],
        }
    out["calibration"] = {
        "method": "platt-length",
        "slope": list(slope),
        "intercept": list(shift),
        "words": list(calib_words),
        "fitted_on": (
            f"out-of-fold logits of {int((whole & calibrating).sum())} documents and "
            f"{int((~whole & calibrating).sum())} chunks, {len(set(folds))} group folds"
        ),
        "data_sets": list(cal_sets),
        "prior": 0.5,
        "reliability_oof": table,
        "ece_oof": ece,
        "ece_oof_by_length": by_length,
    }
    return out


def calibration_sets(datasets: Sequence[str], calibrate_on: Sequence[str] | None) -> list[str]:
    """The data sets whose samples fit the calibration: those of ``calibrate_on`` present
    in ``datasets``, or all of them when none is (or ``calibrate_on`` is empty/None)."""
    present = sorted(set(datasets))
    chosen = [d for d in present if calibrate_on and d in calibrate_on]
    return chosen or present


#: Length bins (words) of whole documents for :func:`length_balanced_weights`.
DOC_LENGTH_EDGES = (150, 300, 600)


def length_balanced_weights(
    w: np.ndarray,
    y: np.ndarray,
    words: np.ndarray,
    lengths: np.ndarray,
    datasets: Sequence[str] | None = None,
) -> np.ndarray:
    """``w`` rescaled so MT and human have equal mass within every (data set, length bin).

    Chunks (``lengths`` > 0) are binned by the length they were cut for, documents by
    :data:`DOC_LENGTH_EDGES`. In WMT, original-English articles are longer than translated
    ones, so unbalanced, a length-aware calibration would learn "long means human" — a
    trait of the data set, not of translation. Balanced, the length terms can only learn
    how the meaning of the raw logit changes with length. Each bin keeps its total mass.
    """
    doc_bins = -1 - np.searchsorted(DOC_LENGTH_EDGES, words, side="right")
    bins = np.where(lengths > 0, lengths, doc_bins)
    sets = (
        np.zeros(len(w), int) if datasets is None else np.unique(datasets, return_inverse=True)[1]
    )
    out = np.asarray(w, dtype=float).copy()
    for cell in sorted(set(zip(sets.tolist(), bins.tolist(), strict=True))):
        m = (sets == cell[0]) & (bins == cell[1])
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
    """Vectorised :meth:`mtaudit.model_score.ScoreModel.calibrated_logit`."""
    t = length_position(words, calib_words)
    out = (slope[0] + (slope[1] - slope[0]) * t) * z + shift[0] + (shift[1] - shift[0]) * t
    return out * np.minimum(1.0, np.asarray(words, dtype=float) / calib_words[0])


def length_bins(lengths: np.ndarray) -> dict[str, np.ndarray]:
    """Masks of samples by chunk length (``DocFeatures.length``; 0: whole documents)."""
    out = {f"chunks_{n}": lengths == n for n in sorted(set(lengths.tolist())) if n}
    out["documents"] = lengths == 0
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
                "class_balance": "MT and human equal mass within a data set; data sets by size",
                "calibrate_on": list(fit_options.get("calibrate_on", CALIBRATE_ON) or []),
                "chunks": {
                    "lengths": list(CHUNK_LENGTHS),
                    "max_per_length": MAX_CHUNKS,
                    "share_per_length": _round(fit_options.get("chunk_share", CHUNK_SHARE)),
                },
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
    ap.add_argument(
        "--calibrate-on",
        action="append",
        metavar="NAME",
        help="data set (the file's folder name) to fit the calibration on; repeatable; "
        f"'all' for every file (default: {', '.join(CALIBRATE_ON)} when given, else all)",
    )
    args = ap.parse_args(argv)
    try:
        records = load_records(args.data)
    except ValueError as exc:
        ap.error(str(exc))
    fit_options: dict[str, Any] = {}
    if args.calibrate_on:
        names = sorted({r.dataset for r in records})
        unknown = [c for c in args.calibrate_on if c != "all" and c not in names]
        if unknown:
            ap.error(f"--calibrate-on {', '.join(unknown)}: not a --data set ({', '.join(names)})")
        fit_options["calibrate_on"] = [] if "all" in args.calibrate_on else args.calibrate_on
    flu = None if args.fluency == "off" else fluency_featurizer()
    if args.fluency == "on" and flu is None:
        ap.error("--fluency on, but the fluency detector could not be loaded")
    docs = featurize(records, flu)
    try:
        weights = build_weights(
            records,
            docs,
            args.seed,
            describe_files(args.data, records),
            fluency_lm=getattr(flu, "lm_signature", None),
            **fit_options,
        )
    except ValueError as exc:  # e.g. one class only, or too few groups for the folds
        ap.error(f"cannot train on {', '.join(args.data)}: {exc}")
    write_weights(weights, args.out)
    size = Path(args.out).stat().st_size
    cal = weights["calibration"]
    print(
        f"wrote {args.out}: {len(weights['ngrams']['vocab'])} n-grams, "
        f"{len(weights['dense']['names'])} dense features (fluency: {flu is not None}), "
        f"{size / 1024:.0f} KiB, OOF ECE {cal['ece_oof']}, calibration slope {cal['slope']} "
        f"intercept {cal['intercept']} over {cal['words']} words, "
        f"signature {weights['signature'][:16]}"
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
    "group_keys",
    "load_records",
]
