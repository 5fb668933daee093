"""Train the document scorer and write ``mtaudit/data/score-weights.json``.

Usage (``make train`` runs this on the shared data and the project's own Spanish set)::

    python -m mtaudit.training --data ../shared/bench/wmt-de-en/dev.jsonl \\
        --data ../shared/bench/wmt21/dev.jsonl --data ../shared/bench/wmt22/dev.jsonl \\
        --data ../shared/bench/wmt23/dev.jsonl --markers tests/data/es-news/dev.jsonl \\
        --out mtaudit/data/score-weights.json --seed 13 --fluency on

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

Modules: :mod:`~.params` (constants), :mod:`~.data` (records, pairs, folds),
:mod:`~.docfeatures` (features, chunks, the deep cache), :mod:`~.calibration`,
:mod:`~.heads` (regression and one head's fit), :mod:`~.markers`, :mod:`~.thresholds`,
:mod:`~.build` (everything, signed) and :mod:`~.cli` (the command line).

The training core (``featurize``, ``fit``) is importable from this package for ``bench/``
and the tests. It needs scikit-learn and scipy, which inference does not (the ``train``
extra); nothing in the rest of the package imports training. The names below load their
module on first use, so ``import mtaudit.training`` itself stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: Public name -> the module that defines it (loaded on first access).
_EXPORTS = {
    "params": (
        "C_REG CALIB_WORDS CAP_FACTOR CHUNK_LENGTHS CHUNK_SHARE DEFAULT_DATA DEFAULT_MARKERS "
        "DENSE_SCALE DIGITS MAX_CHUNKS MAX_HT_FLAGGED MAX_HT_SUSPECT MAX_MARKER_WEIGHT "
        "MAX_ORIG_FLAGGED MIN_DF MIN_PRECISION MODEL_VERSION NOT_MARKERS ROOT SHARED "
        "SUSPECT_PRECISION TRANSLATED_THRESHOLD"
    ),
    "data": (
        "DEEP_MT_PER_SOURCE Record deep_sample describe_files family_of load_records "
        "pair_folds pair_of source_key system_of"
    ),
    "docfeatures": (
        "DeepCache DocFeatures chunk_texts expand_chunks featurize featurize_text "
        "fluency_featurizer prefix_text word_count"
    ),
    "calibration": (
        "DOC_LENGTH_EDGES MIN_SLOPE calibrated_logits fit_platt fit_platt_length "
        "length_balanced_weights length_position reliability_table"
    ),
    "heads": (
        "HeadFit _Fitted balanced_weights dense_names_for fit_head fit_vectorizer "
        "head_labels_and_weights vocabulary_block"
    ),
    "markers": "findings_of marker_log_odds marker_weights",
    "thresholds": "choose_thresholds flag_rates",
    "build": "Fit build_all fit write_weights",
    "cli": "main",
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names.split()}

if TYPE_CHECKING:  # what the lazy names are, for type checkers and editors
    from mtaudit.training.build import Fit, build_all, fit, write_weights
    from mtaudit.training.data import Record, load_records, pair_folds
    from mtaudit.training.docfeatures import DocFeatures, chunk_texts, featurize, fluency_featurizer


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])


__all__ = [
    "DocFeatures",
    "Fit",
    "Record",
    "build_all",
    "chunk_texts",
    "featurize",
    "fit",
    "fluency_featurizer",
    "load_records",
    "pair_folds",
    "write_weights",
]
