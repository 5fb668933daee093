"""``make bench``: throughput, memory and marker precision, measured on real news.

Each timing runs in a fresh interpreter so peak RSS (``VmHWM``) belongs to that scan
alone. Figures are printed as a table; quote them as ratios when comparing.

Usage: python bench/run.py [--data ../shared/bench/wmt-de-en/dev.jsonl] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "bench" / "wmt-de-en" / "dev.jsonl"

#: Marker findings allowed per 10,000 words of original English news (issue 14).
FALSE_ALARM_BUDGET = 0.5

# Runs inside a fresh interpreter: scan FILE with the CLI entry point, then report the
# documents count, seconds and peak resident memory as one JSON line on stdout.
_CHILD = r"""
import json, resource, sys, time, io, contextlib
from mtaudit.cli import main
args = json.loads(sys.argv[1])
t0 = time.perf_counter()
with contextlib.redirect_stderr(io.StringIO()):
    code = main(args)
elapsed = time.perf_counter() - t0
# VmHWM is this process image's own peak. ru_maxrss is not: Linux carries the parent's
# peak over fork+exec, so after the fluency section has loaded SmolLM2 in the parent,
# every child would report the parent's 2 GB.
try:
    with open("/proc/self/status") as fh:
        peak_kb = next(int(ln.split()[1]) for ln in fh if ln.startswith("VmHWM:"))
except (OSError, StopIteration):
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"code": code, "seconds": elapsed, "peak_mb": peak_kb / 1024}))
"""


def run_scan(args: list[str]) -> dict:
    """Run ``mtaudit`` with ``args`` in a child interpreter and return its measurements."""
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(args)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    if proc.returncode != 0 or not proc.stdout.strip():
        raise RuntimeError(f"bench scan failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def count_lines(path: Path) -> int:
    with path.open("rb") as fh:
        return sum(1 for line in fh if line.strip())


def replicate(src: Path, times: int, dest: Path) -> Path:
    """Write ``times`` copies of a JSONL file with distinct ids (for the memory check)."""
    with dest.open("w", encoding="utf-8") as out:
        for k in range(times):
            with src.open(encoding="utf-8") as fh:
                for line in fh:
                    rec = json.loads(line)
                    rec["id"] = f"{rec.get('id', 'doc')}#{k}"
                    out.write(json.dumps(rec) + "\n")
    return dest


def bench_throughput(data: Path) -> None:
    """Docs/s and peak memory: markers only, the default pipeline at 1x and 4x the corpus.

    The default pipeline adds the n-gram fluency LM and back-translation (auto: apertium
    when installed); its cost is given as a ratio to the markers-only scan. The 4x run
    shows memory stays flat as the corpus grows. Each run gets a fresh translation cache
    and no result cache.
    """
    print(f"\n== throughput and memory: mtaudit scan {data} (JSON report, no text)")
    markers = ["--select", "MT1,MT2,MT3,MT4,MT5", "--mt", "off"]
    with tempfile.TemporaryDirectory() as tmp:
        big = replicate(data, 4, Path(tmp) / "dev-4x.jsonl")
        runs = {}
        for label, path, extra in (
            ("markers-only 1x", data, markers),
            ("default 1x", data, []),
            ("default 4x", big, []),
        ):
            n = count_lines(path)
            out = Path(tmp) / "out.json"
            # Audit throughput: a fresh translation cache, and no result cache (which
            # would answer a second `make bench` without auditing; see bench_rescan).
            cache = ["--mt-cache", str(Path(tmp) / f"cache-{len(runs)}"), "--no-cache"]
            m = run_scan(
                ["scan", str(path), "-f", "json", "-o", str(out), "-q", "--no-text"] + extra + cache
            )
            runs[label] = (n, m)
            print(
                f"{label:<16} {n} docs in {m['seconds']:.2f}s = {n / m['seconds']:.1f} docs/s, "
                f"peak RSS {m['peak_mb']:.0f} MB"
            )
        (n0, m0), (n1, m1), (n4, m4) = runs.values()
        print(f"default/markers-only: {m1['seconds'] / m0['seconds']:.2f}x the time per document")
        print(
            f"default 4x/1x: time {m4['seconds'] / m1['seconds']:.2f}x for {n4 / n1:.0f}x the "
            f"documents; peak memory {m4['peak_mb'] / m1['peak_mb']:.2f}x"
        )


def _untimed(path: Path) -> str:
    """A JSON report without its timing, the one field a re-scan may write differently."""
    return re.sub(r'"elapsed_s": [0-9.e-]+', "", path.read_text(encoding="utf-8"))


def bench_rescan(data: Path, repeats: int = 3) -> None:
    """A cold scan of ``data`` against a re-scan of it unchanged (the result cache).

    Paired: each repeat scans with empty result and translation caches, then again at
    once; the ratio is taken per pair and its median reported. The two reports must be
    identical apart from the timing. The word-frequency table (built once per wordfreq
    version, in the user's cache folder) is built before the first pair.
    """
    print(f"\n== re-scan of unchanged data (result cache): mtaudit scan {data}")
    with tempfile.TemporaryDirectory() as tmp:
        _warm_word_table(Path(tmp))
        ratios, colds, warms = [], [], []
        for k in range(repeats):
            caches = ["--cache-dir", f"{tmp}/results-{k}", "--mt-cache", f"{tmp}/mt-{k}"]
            base = ["scan", str(data), "-f", "json", "-q", "--no-text", *caches]
            cold = run_scan([*base, "-o", f"{tmp}/cold.json"])
            warm = run_scan([*base, "-o", f"{tmp}/warm.json"])
            same = _untimed(Path(f"{tmp}/cold.json")) == _untimed(Path(f"{tmp}/warm.json"))
            if not same:
                raise RuntimeError("the re-scan's report differs from the cold scan's")
            colds.append(cold["seconds"])
            warms.append(warm["seconds"])
            ratios.append(cold["seconds"] / warm["seconds"])
            print(
                f"pair {k + 1}: cold {cold['seconds']:.2f}s, re-scan {warm['seconds']:.2f}s "
                f"({ratios[-1]:.1f}x; peak RSS {cold['peak_mb']:.0f} / {warm['peak_mb']:.0f} MB); "
                "reports identical"
            )
    print(
        f"median of {repeats}: cold {statistics.median(colds):.2f}s, re-scan "
        f"{statistics.median(warms):.2f}s, re-scan {statistics.median(ratios):.1f}x faster "
        "(target >= 20x)"
    )


def _warm_word_table(tmp: Path) -> None:
    """Build the word-frequency table if need be, so that no timing includes it."""
    doc = tmp / "warm-up.txt"
    doc.write_text("The minister said the casa was muy bonita.\n", encoding="utf-8")
    run_scan(["scan", str(doc), "--mt", "off", "--no-cache", "-q", "-f", "json", "-o", "/dev/null"])


def bench_onefile(data: Path, repeats: int = 7) -> None:
    """Wall time of ``mtaudit scan one.md`` (the pre-commit case), interpreter start-up
    included: an edited file (a result cache miss) with ``--mt off`` and with the default
    settings, and an unchanged one (a hit). Runs interleaved; medians of ``repeats``."""
    print("\n== one-file scan wall time (a fresh `python -m mtaudit` per run)")
    with tempfile.TemporaryDirectory() as tmp:
        _warm_word_table(Path(tmp))
        texts = [json.loads(line)["text"] for line in data.open(encoding="utf-8")]
        text = sorted(texts, key=len)[len(texts) // 2]  # a document of median length
        caches = ["--cache-dir", f"{tmp}/results", "--mt-cache", f"{tmp}/mt"]
        report = ["-q", "-f", "json", "-o", "/dev/null"]
        variants = {
            "edited, --mt off": ["--mt", "off"],
            "edited, default settings": [],
            "unchanged (result cache hit)": ["--mt", "off"],
        }
        times: dict[str, list[float]] = {name: [] for name in variants}
        unchanged = Path(tmp) / "unchanged.md"
        unchanged.write_text(text, encoding="utf-8")
        for k in range(repeats + 1):  # the first round warms the caches and the OS
            for i, (name, extra) in enumerate(variants.items()):
                doc = unchanged
                if name.startswith("edited"):
                    doc = Path(tmp) / f"edited-{k}-{i}.md"
                    doc.write_text(f"{text}\n\nUpdated {k}.\n", encoding="utf-8")
                started = time.perf_counter()
                subprocess.run(
                    [sys.executable, "-m", "mtaudit", "scan", str(doc), *extra, *caches, *report],
                    check=False,
                    cwd=ROOT,
                    capture_output=True,
                )
                if k:
                    times[name].append(time.perf_counter() - started)
        print(f"one document of {len(text.split())} words (median length of {data.name})")
        for name, runs in times.items():
            print(
                f"{name:<30} median {statistics.median(runs):.2f}s wall "
                f"(runs: {', '.join(f'{t:.2f}' for t in runs)})"
            )
        print("target: <= 0.6 s for an edited file")


def bench_marker_precision(data: Path) -> None:
    """Marker findings (MT1-MT5) per 10,000 words: original English, human and machine
    translations of wmt-de-en and wmt21 (the false-alarm budget is 0.5 on original English)."""
    from mtaudit.ingest import make_document
    from mtaudit.pipeline import AuditOptions, Auditor

    print("\n== marker false alarms (MT1-MT5 findings per 10k words)")
    auditor = Auditor(AuditOptions(select=("MT1", "MT2", "MT3", "MT4", "MT5")))
    shared = data.parent.parent
    sets = [shared / name / "dev.jsonl" for name in ("wmt-de-en", "wmt21")]
    totals: dict[str, list[int]] = {}
    for path in sets:
        if not path.exists():
            print(f"skipped: {path} not found")
            continue
        counts: dict[str, list[int]] = {}
        by_code: dict[str, int] = {}
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                rec = json.loads(line)
                origin = str(rec.get("origin", "?"))
                group = (
                    "original-en"
                    if origin == "original-en"
                    else "human-translation"
                    if origin.startswith("human-translation")
                    else "mt"
                )
                doc = make_document(rec["text"], rec.get("id", ""), "text", rec.get("id"))
                found = auditor.audit(doc).findings
                for c in (counts.setdefault(group, [0, 0, 0]), totals.setdefault(group, [0, 0, 0])):
                    c[0] += len(found)
                    c[1] += len(rec["text"].split())
                    c[2] += 1
                if group == "original-en":
                    for f in found:
                        by_code[f.code] = by_code.get(f.code, 0) + 1
        for group, (found, words, docs) in sorted(counts.items()):
            print(
                f"{path.parent.name:<10} {group:<18} {docs:>5} docs {words:>8} words "
                f"{found:>5} findings = {10000 * found / max(words, 1):.2f} per 10k words"
            )
        if by_code:
            print(f"{'':<10} original-en by code: {dict(sorted(by_code.items()))}")
    for group, (found, words, docs) in sorted(totals.items()):
        print(
            f"{'both':<10} {group:<18} {docs:>5} docs {words:>8} words {found:>5} findings "
            f"= {10000 * found / max(words, 1):.2f} per 10k words"
        )
    if "original-en" in totals:
        found, words, _ = totals["original-en"]
        rate = 10000 * found / max(words, 1)
        verdict = "met" if rate <= FALSE_ALARM_BUDGET else "NOT met"
        print(
            f"false-alarm budget on original English (both sets): {rate:.2f} <= "
            f"{FALSE_ALARM_BUDGET} per 10k words: {verdict} (human translations: the "
            "human-translation rows above)"
        )
    auditor.close()


def bench_idiom_recall(_: Path) -> None:
    """Recall of literal idioms on the Apertium-made dev set (scripts/idiom_recall.py) and on
    the second set, written after the matcher was frozen (scripts/idiom_second_set.py)."""
    for title, name in (
        ("the Apertium dev set", "idiom_recall.py"),
        ("the second set (written after the matcher was frozen)", "idiom_second_set.py"),
    ):
        script = ROOT / "scripts" / name
        if script.exists():
            print(f"\n== idiom recall on {title}")
            subprocess.run([sys.executable, str(script)], check=False, cwd=ROOT)


def bench_nmt_markers(data: Path) -> None:
    """NMT-era marker candidates: rates on MT and on human translations of every shared set."""
    sys.path.insert(0, str(ROOT / "bench"))
    import bench_markers

    print("\n== NMT-era marker candidates (per 10k words; kept when MT/HT >= 3)")
    bench_markers.bench(data.parent.parent)


def bench_fluency(data: Path) -> None:
    """Sentences/s of the n-gram and transformers LMs; MT601/MT602 rates on human news."""
    sys.path.insert(0, str(ROOT / "bench"))
    import bench_fluency

    print("\n== fluency language models")
    wmt22 = data.parent.parent / "wmt22" / "dev.jsonl"
    bench_fluency.bench(data, extra=[wmt22] if wmt22.exists() and wmt22 != data else [])


def bench_backtranslation(data: Path) -> None:
    """Apertium start-up and ms/sentence; re-scan speed-up from the translation cache."""
    sys.path.insert(0, str(ROOT / "bench"))
    import bench_backtranslate

    print("\n== back-translation")
    bench_backtranslate.bench(data)


def bench_scoring(data: Path) -> None:
    """Verdicts on unseen language pairs and system families: per fold and the worst fold."""
    sys.path.insert(0, str(ROOT / "bench"))
    import bench_scoring

    print("\n== document verdicts (leave one language pair / system family out)")
    shared = data.parent.parent
    paths = [str(shared / s / "dev.jsonl") for s in ("wmt-de-en", "wmt21", "wmt22", "wmt23")]
    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        print(f"skipped: no data at {', '.join(missing)}")
        return
    bench_scoring.bench(paths, bench_scoring.T.DEFAULT_MARKERS)


def bench_server(_: Path) -> None:
    """POST /v1/audit with ~600-word articles at concurrency 1 and 8: req/s, p95, drops;
    then the bounded load check (every request 200 or 503 + Retry-After, stalled
    connections closed within the header timeout)."""
    sys.path.insert(0, str(ROOT / "bench"))
    import bench_server

    print("\n== HTTP check service")
    bench_server.bench()
    bench_server.load()  # 500 requests at concurrency 32, 200 stalled connections


def bench_peers(data: Path) -> None:
    """Paired against proselint on the same 200 documents: markers-only and default
    throughput ratios, peak memory, and the one-file scan's wall time (issue 16)."""
    sys.path.insert(0, str(ROOT / "bench"))
    import bench_peers

    print("\n== against proselint (paired, same documents)")
    try:
        import proselint  # noqa: F401
    except ImportError:
        print("skipped: proselint is not installed (pip install -e '.[dev]')")
        return
    bench_peers.bench(data)


def bench_latency(data: Path) -> None:
    """Per-detector latency on fixed texts (what unit tests must not time)."""
    sys.path.insert(0, str(ROOT / "bench"))
    import bench_latency

    print()
    bench_latency.bench()


def bench_scale(data: Path) -> None:
    """Docs/s single-process, --jobs 2, Ray with 1 and 2 workers; memory per worker."""
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import bench_scale
    except ImportError as exc:  # the Ray extra is optional
        print(f"\n== scale-out: skipped ({exc})")
        return
    print("\n== scale-out")
    bench_scale.bench(data)


BENCHES: dict[str, Callable[[Path], None]] = {
    "peers": bench_peers,
    "throughput": bench_throughput,
    "rescan": bench_rescan,
    "onefile": bench_onefile,
    "latency": bench_latency,
    "precision": bench_marker_precision,
    "recall": bench_idiom_recall,
    "markers": bench_nmt_markers,
    "fluency": bench_fluency,
    "backtranslation": bench_backtranslation,
    "scoring": bench_scoring,
    "server": bench_server,
    "scale": bench_scale,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--only", nargs="*", choices=sorted(BENCHES), default=None)
    args = parser.parse_args()
    if not args.data.exists():
        print(f"bench: {args.data} not found; nothing to measure", file=sys.stderr)
        return 0
    started = time.perf_counter()
    for name in args.only or BENCHES:
        BENCHES[name](args.data)
    print(f"\nbench finished in {time.perf_counter() - started:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
