"""Training constants: the defaults ``make train`` fits with, recorded in the weights file."""

from __future__ import annotations

from pathlib import Path

#: The repository (the shared data lies beside it; the project's Spanish set inside it).
ROOT = Path(__file__).resolve().parents[2]

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


def _round(x: float, digits: int = DIGITS) -> float:
    """``x`` to ``digits`` significant digits (stable bytes in the weights file)."""
    return float(f"{x:.{digits}g}") if x else 0.0
