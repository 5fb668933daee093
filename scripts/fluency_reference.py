"""Build the fluency reference: surprisal of human-written news under one LM.

Reads the original-English documents (``origin == "original-en"``) of a WMT JSONL file,
splits them into sentences with :mod:`mtaudit.segment`, scores every sentence, and writes
the distribution as percentile tables (overall and by sentence length) to
``mtaudit/data/fluency-reference.json`` (ngram) or ``fluency-reference-<name>.json``.

The output is deterministic: documents are processed in id order, the scorers are
deterministic, and no timestamps are written.

Usage:
    python scripts/fluency_reference.py [DATA] [--lm ngram|transformers|transformers:PATH]
        [--out PATH] [--min-tokens N]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mtaudit.fluency import SentenceScore, get_scorer, reference_path  # noqa: E402
from mtaudit.segment import segment  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "bench" / "wmt-de-en" / "dev.jsonl"
ORIGIN = "original-en"
# Sentences shorter than this are left out of the reference and never flagged. On the WMT
# original-en sentences, the n-gram surprisal IQR is ~2.5 nats below 6 words against
# ~1.8 for 6-15 words and ~1.2 above 25: short units (headlines, datelines, "Read more")
# are mostly noise, and not where translation fluency shows. 6 words ~ 8 sub-word tokens.
MIN_TOKENS = {"ngram": 6}
MIN_SUBWORD_TOKENS = 8
N_BUCKETS = 5


def quantile_table(values: list[float], n: int = 101) -> list[float]:
    """``n`` evenly spaced percentiles (0..100), linear interpolation (numpy's default)."""
    xs = sorted(values)
    if len(xs) == 1:
        return [round(xs[0], 4)] * n
    out = []
    for k in range(n):
        pos = k / (n - 1) * (len(xs) - 1)
        i = min(int(pos), len(xs) - 2)
        out.append(round(xs[i] + (pos - i) * (xs[i + 1] - xs[i]), 4))
    return out


def length_edges(token_counts: list[int], min_tokens: int, buckets: int = N_BUCKETS) -> list[int]:
    """Bucket boundaries at the quantiles of sentence length, so buckets hold similar counts."""
    cuts = statistics.quantiles(token_counts, n=buckets, method="inclusive")
    edges = [min_tokens]
    for c in cuts:
        edge = int(round(c))
        if edge > edges[-1]:
            edges.append(edge)
    return edges


def read_documents(path: Path, origin: str = ORIGIN) -> list[dict]:
    """The documents of ``origin``, in id order."""
    with path.open(encoding="utf-8") as fh:
        docs = [json.loads(line) for line in fh if line.strip()]
    return sorted((d for d in docs if d.get("origin") == origin), key=lambda d: d["id"])


def score_documents(scorer, docs: list[dict]) -> list[SentenceScore]:
    """Score every sentence of every document (one batch per document)."""
    scores: list[SentenceScore] = []
    for doc in docs:
        text = doc["text"]
        scores.extend(scorer.score([s.text(text) for s in segment(text).sentences]))
    return scores


def build_reference(
    scores: list[SentenceScore], signature: str, min_tokens: int, extra: dict
) -> dict:
    """The reference document: overall and per-length percentile tables.

    The tables describe relative surprisal (surprisal minus unigram cost) when the LM
    provides unigram costs — the statistic MT601 tests — and raw surprisal otherwise; raw
    surprisal percentiles are always included for reference.
    """
    kept = [s for s in scores if s.tokens >= min_tokens]
    if len(kept) < 2:
        raise SystemExit("too few reference sentences")
    statistic = "relative_surprisal" if kept[0].unigram is not None else "surprisal"
    edges = length_edges([s.tokens for s in kept], min_tokens)
    buckets = []
    for lo, hi in zip(edges, edges[1:] + [None], strict=True):
        values = [
            s.statistic(statistic) for s in kept if s.tokens >= lo and (hi is None or s.tokens < hi)
        ]
        buckets.append(
            {
                "min_tokens": lo,
                "max_tokens": hi,
                "sentences": len(values),
                "median": round(statistics.median(values), 4),
                "quantiles": quantile_table(values),
            }
        )
    return {
        "lm": signature,
        **extra,
        "sentences": len(kept),
        "sentences_too_short": len(scores) - len(kept),
        "min_tokens": min_tokens,
        "statistic": statistic,
        "mean": round(statistics.fmean(s.statistic(statistic) for s in kept), 4),
        "quantiles": quantile_table([s.statistic(statistic) for s in kept]),
        "length_buckets": buckets,
        "surprisal_quantiles": quantile_table([s.surprisal for s in kept], 21),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", nargs="?", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--lm", default="ngram", help="ngram, transformers, transformers:PATH")
    parser.add_argument("--out", type=Path, help="output file (default: by LM name)")
    parser.add_argument("--min-tokens", type=int, help="shortest sentence kept")
    args = parser.parse_args(argv)

    scorer = get_scorer(args.lm)
    docs = read_documents(args.data)
    if not docs:
        raise SystemExit(f"no {ORIGIN} documents in {args.data}")
    t0 = time.perf_counter()
    scores = score_documents(scorer, docs)
    elapsed = time.perf_counter() - t0
    min_tokens = args.min_tokens or MIN_TOKENS.get(scorer.name, MIN_SUBWORD_TOKENS)
    extra = {
        "source": f"{args.data.parent.name}/{args.data.name} origin={ORIGIN}",
        "source_sha256": hashlib.sha256(args.data.read_bytes()).hexdigest(),
        "documents": len(docs),
        "unit": "mean negative log-likelihood per LM token, nats",
    }
    if hasattr(scorer, "oov_nll"):
        extra["oov_nll"] = scorer.oov_nll
    ref = build_reference(scores, scorer.signature, min_tokens, extra)
    out = args.out or reference_path(scorer)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(ref, indent=1) + "\n", encoding="utf-8")
    q = ref["quantiles"]
    print(
        f"{scorer.signature}: {len(docs)} documents, {ref['sentences']} sentences "
        f"(+{ref['sentences_too_short']} short) in {elapsed:.1f}s; {ref['statistic']} "
        f"median {q[50]:.3f}, p90 {q[90]:.3f}, p99 {q[99]:.3f} -> {out}",
        file=sys.stderr,
    )
    for b in ref["length_buckets"]:
        bq = b["quantiles"]
        print(
            f"  tokens {b['min_tokens']}-{b['max_tokens'] or ''}: n={b['sentences']} "
            f"median {bq[50]:.3f} p99 {bq[99]:.3f} IQR {bq[75] - bq[25]:.3f}",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
