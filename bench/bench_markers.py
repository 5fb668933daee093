"""NMT-era marker candidates: rate per 10,000 words on MT and on human translations.

For every shared set (``../shared/bench/*/dev.jsonl``) and every candidate of
:mod:`mtaudit.nmtmarkers`, counts spans per 10,000 words on the machine translations
(``label == "mt"``), on the human translations of the same sources (``human-translation-*``)
and on original English news, and how many MT documents it fires on. A candidate is kept
when, pooled over the shared sets, it fires at least ``KEEP_RATIO`` times more often on MT
than on human translation, on at least ``MIN_SPANS`` spans; the project's Spanish set (``tests/data/es-news``: Apertium vs a
human translation) is shown too, but does not decide.

    python bench/bench_markers.py [--shared ../shared/bench]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from functools import lru_cache  # noqa: E402

from mtaudit.detectors.base import Context  # noqa: E402
from mtaudit.detectors.untranslated import UntranslatedDetector  # noqa: E402
from mtaudit.model import Document  # noqa: E402
from mtaudit.nmtmarkers import CANDIDATES as NMT_CANDIDATES  # noqa: E402
from mtaudit.nmtmarkers import KEEP_RATIO, MIN_SPANS, Candidate, Span  # noqa: E402
from mtaudit.segment import segment  # noqa: E402


@lru_cache(maxsize=1)
def _untranslated_detector() -> UntranslatedDetector:
    return UntranslatedDetector(Context())


def untranslated_beyond_spanish(text: str) -> list[Span]:
    """Words the existing untranslated detector (MT302) gives to French, German, Italian or
    Portuguese, not Spanish: what it already does for Latin-script sources beyond Spanish."""
    found = _untranslated_detector().detect(Document("candidate", text), segment(text))
    return [(f.start, f.end) for f in found if f.source_language != "es"]


CANDIDATES: tuple[Candidate, ...] = (
    *NMT_CANDIDATES,
    Candidate(
        "untranslated-fr-de-it-pt",
        "MT302",
        untranslated_beyond_spanish,
        "untranslated French/German/Italian/Portuguese word (existing MT302)",
        existing=True,
    ),
)

GROUPS = ("mt", "human", "original")


def _group(rec: dict) -> str | None:
    origin = str(rec.get("origin", ""))
    if origin == "original-en":
        return "original"
    if origin.startswith("human-translation"):
        return "human"
    if rec.get("label") == "mt":
        return "mt"
    return None


def measure(path: Path) -> dict:
    """Counts per candidate and group, words and documents per group, MT documents hit."""
    counts: dict[str, dict[str, int]] = {c.name: dict.fromkeys(GROUPS, 0) for c in CANDIDATES}
    docs_hit: dict[str, int] = defaultdict(int)
    words = dict.fromkeys(GROUPS, 0)
    docs = dict.fromkeys(GROUPS, 0)
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            group = _group(rec)
            if group is None:
                continue
            text = rec["text"]
            words[group] += len(text.split())
            docs[group] += 1
            for c in CANDIDATES:
                n = len(c.find(text))
                counts[c.name][group] += n
                if group == "mt" and n:
                    docs_hit[c.name] += 1
    return {"counts": counts, "words": words, "docs": docs, "docs_hit": dict(docs_hit)}


def _rate(n: int, words: int) -> float:
    return 10_000 * n / words if words else 0.0


def _ratio(mt: float, ht: float) -> float:
    if ht == 0:
        return float("inf") if mt > 0 else 0.0
    return mt / ht


def bench(shared: Path) -> dict[str, bool]:
    """Print the table; return each candidate's keep decision (pooled shared sets)."""
    sets = sorted(shared.glob("*/dev.jsonl"))
    extra = ROOT / "tests" / "data" / "es-news" / "dev.jsonl"
    if not sets:
        print(f"skipped: no shared sets under {shared}")
        return {}
    results = {p.parent.name: measure(p) for p in sets}
    pooled = {
        "counts": {
            c.name: {g: sum(r["counts"][c.name][g] for r in results.values()) for g in GROUPS}
            for c in CANDIDATES
        },
        "words": {g: sum(r["words"][g] for r in results.values()) for g in GROUPS},
        "docs": {g: sum(r["docs"][g] for r in results.values()) for g in GROUPS},
        "docs_hit": {
            c.name: sum(r["docs_hit"].get(c.name, 0) for r in results.values()) for c in CANDIDATES
        },
    }
    table = {**results, "all shared": pooled}
    if extra.exists():
        table["es-news (project)"] = measure(extra)
    print(
        f"{'candidate':<24} {'set':<18} {'MT':>5} {'MT/10k':>7} {'HT':>4} {'HT/10k':>7} "
        f"{'MT/HT':>6} {'orig/10k':>8} {'MT docs':>8}"
    )
    keep: dict[str, bool] = {}
    for c in CANDIDATES:
        for name, r in table.items():
            n = r["counts"][c.name]
            mt, ht = _rate(n["mt"], r["words"]["mt"]), _rate(n["human"], r["words"]["human"])
            orig = _rate(n["original"], r["words"]["original"])
            share = r["docs_hit"].get(c.name, 0) / max(r["docs"]["mt"], 1)
            ratio = _ratio(mt, ht)
            print(
                f"{c.name:<24} {name:<18} {n['mt']:>5} {mt:>7.2f} {n['human']:>4} {ht:>7.2f} "
                f"{ratio:>6.1f} {orig:>8.2f} {share:>7.1%}"
            )
            if name == "all shared":
                keep[c.name] = ratio >= KEEP_RATIO and n["mt"] >= MIN_SPANS
                rare = n["mt"] < MIN_SPANS
        verdict = "kept" if keep[c.name] else "dropped (too rare to measure)" if rare else "dropped"
        if c.existing:  # an existing rule, measured: the 3x test does not remove it
            verdict = f"existing rule {c.code}, measured only ({verdict} as a new marker)"
        print(f"{'':<24} -> {verdict}: {c.summary}")
    return keep


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "bench")
    args = ap.parse_args()
    bench(args.shared)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
