"""Document features for training: dense and n-gram features, fluency, length chunks,
and the deep head's feature cache."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mtaudit import features as F
from mtaudit import ngram_features
from mtaudit.segment import segment
from mtaudit.training.data import Record
from mtaudit.training.params import CHUNK_LENGTHS, CHUNK_SHARE, MAX_CHUNKS


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
    return DocFeatures(dict(ngram_features.ngram_counts(text)), dense, word_count(text))


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
