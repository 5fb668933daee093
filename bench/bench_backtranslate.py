"""Back-translation benchmark: Apertium start-up and ms/sentence, and the cache speed-up.

- start-up: a fresh engine's first call (pipeline start plus its probe), compared with one
  ``apertium -u eng-spa`` wrapper call for a single sentence (what a process per span
  would cost every time);
- ms/sentence: N sentences in one batch through the warm null-flush pipeline;
- cache: annotate findings on the same N sentences twice with a fresh BackTranslator on
  the same cache folder; the second run must make no engine call. Printed as a ratio.

Usage: python bench/bench_backtranslate.py [--data ../shared/bench/wmt-de-en/dev.jsonl]
       [--sentences 200] [--engine auto]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mtaudit.backtranslate import BackTranslator  # noqa: E402
from mtaudit.backtranslate.apertium import ApertiumEngine  # noqa: E402
from mtaudit.model import Document, Finding  # noqa: E402
from mtaudit.segment import Segmentation, segment  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "bench" / "wmt-de-en" / "dev.jsonl"


def load_documents(
    data_path: Path | str, sentences: int
) -> list[tuple[Document, Segmentation, list[Finding]]]:
    """Documents from a JSONL file (``id``, ``text``) until ``sentences`` sentences are in.

    Each sentence gets one hand-made suspect finding: its first five words as an "idiom"
    span (Spanish), which is the shape of span the idiom detector reports.
    """
    out: list[tuple[Document, Segmentation, list[Finding]]] = []
    count = 0
    with open(data_path, encoding="utf-8") as fh:
        for line in fh:
            if count >= sentences:
                break
            if not line.strip():
                continue
            row = json.loads(line)
            doc = Document(str(row.get("id", len(out))), str(row["text"]))
            seg = segment(doc.text)
            findings = []
            for s in seg.sentences:
                if count >= sentences:
                    break
                words = doc.text[s.start : s.end].split()
                if len(words) < 5:
                    continue
                span = " ".join(words[:5])
                start = doc.text.find(span, s.start)
                if start < 0:
                    continue
                findings.append(
                    Finding("MT101", "idiom", start, start + len(span), span, "bench", 0.5)
                )
                count += 1
            if findings:
                out.append((doc, seg, findings))
    return out


def sentences_of(docs: list[tuple[Document, Segmentation, list[Finding]]]) -> list[str]:
    """The texts of the sentences that carry a finding."""
    out = []
    for doc, seg, findings in docs:
        for f in findings:
            s = seg.sentence_at(f.start)
            if s is not None:
                out.append(" ".join(doc.text[s.start : s.end].split()))
    return out


def bench_apertium(sentences: list[str]) -> dict[str, float]:
    """Start-up (s) of the streaming pipeline and of one wrapper call, and ms/sentence."""
    t0 = time.perf_counter()
    subprocess.run(
        ["apertium", "-u", "eng-spa"],
        input="The house is red.",
        capture_output=True,
        text=True,
        check=True,
    )
    wrapper_call = time.perf_counter() - t0
    with ApertiumEngine() as eng:
        t0 = time.perf_counter()
        eng.translate(["The house is red."], "en", "es")
        first_call = time.perf_counter() - t0
        t0 = time.perf_counter()
        eng.translate(sentences, "en", "es")
        batch = time.perf_counter() - t0
        # One text per call, as an engine without batching would be used.
        t0 = time.perf_counter()
        for s in sentences[:50]:
            eng.translate([s], "en", "es")
        single = (time.perf_counter() - t0) / max(1, min(50, len(sentences)))
        startup = eng.startup_s.get("eng-spa", float("nan"))
        streaming = eng.streaming
    return {
        "streaming": float(streaming),
        "startup_s": startup,
        "first_call_s": first_call,
        "wrapper_call_s": wrapper_call,
        "ms_per_sentence_batched": 1000 * batch / max(1, len(sentences)),
        "ms_per_sentence_one_by_one": 1000 * single,
    }


def bench_cache(docs: list[tuple[Document, Segmentation, list[Finding]]], spec: str) -> dict:
    """Annotate every document twice (fresh BackTranslator, same cache): times and calls."""
    with tempfile.TemporaryDirectory() as cache_dir:
        runs = []
        for _ in range(2):
            with BackTranslator(spec, cache_dir=cache_dir) as bt:
                t0 = time.perf_counter()
                for doc, seg, findings in docs:
                    bt.annotate(doc, findings, seg)
                runs.append(
                    {
                        "seconds": time.perf_counter() - t0,
                        "engine_calls": bt.engine.calls,
                        "texts_translated": bt.engine.texts_translated,
                        "engine": bt.engine.name,
                    }
                )
    return {
        "engine": runs[0]["engine"],
        "first_s": runs[0]["seconds"],
        "cached_s": runs[1]["seconds"],
        "speedup": runs[0]["seconds"] / max(runs[1]["seconds"], 1e-9),
        "first_engine_calls": runs[0]["engine_calls"],
        "first_texts_translated": runs[0]["texts_translated"],
        "cached_engine_calls": runs[1]["engine_calls"],
    }


def bench(
    data_path: Path | str = DEFAULT_DATA, sentences: int = 200, spec: str = "auto"
) -> dict[str, Any]:
    """Run every measurement on ``sentences`` sentences of ``data_path``; print and return."""
    docs = load_documents(data_path, sentences)
    texts = sentences_of(docs)
    results: dict[str, Any] = {"sentences": len(texts), "documents": len(docs)}
    if shutil.which("apertium"):
        results["apertium"] = bench_apertium(texts)
        a = results["apertium"]
        print(
            f"apertium: pipeline start-up {a['startup_s'] * 1000:.0f} ms "
            f"(first call {a['first_call_s'] * 1000:.0f} ms; one `apertium -u eng-spa` "
            f"wrapper call {a['wrapper_call_s'] * 1000:.0f} ms); "
            f"{a['ms_per_sentence_batched']:.2f} ms/sentence batched, "
            f"{a['ms_per_sentence_one_by_one']:.2f} ms/sentence one call each "
            f"({len(texts)} sentences)"
        )
    else:
        print("apertium: not installed, skipped")
    for engine in dict.fromkeys([spec, "dictionary"]):
        c = bench_cache(docs, engine)
        results[f"cache[{engine}]"] = c
        print(
            f"cache [{c['engine']}]: first run {c['first_s']:.3f} s "
            f"({c['first_engine_calls']} engine calls, {c['first_texts_translated']} texts), "
            f"cached re-run {c['cached_s']:.3f} s ({c['cached_engine_calls']} engine calls): "
            f"{c['speedup']:.1f}x faster"
        )
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--sentences", type=int, default=200)
    parser.add_argument("--engine", default="auto")
    parser.add_argument("--json", action="store_true", help="also print the results as JSON")
    args = parser.parse_args(argv)
    results = bench(args.data, args.sentences, args.engine)
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
