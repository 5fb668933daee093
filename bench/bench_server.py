"""``mtaudit serve`` throughput and latency over real HTTP on loopback.

Starts the server in a subprocess (its own interpreter and GIL, as in production; the
client threads here would otherwise compete with it), then fires ``POST /v1/audit``
requests with httpx at client concurrency 1 and 8. Every request carries a different
~600-word article, built from whole news documents of ``../shared/bench/wmt-de-en``
(the seed article and corpora/ when that is absent), so no result comes from a cache of a
repeated text. Prints requests/second and p50/p95 latency per round, and checks that
nothing was dropped: every request got a 200 or a documented 503 (counted), and the
server's ``audited`` counter agrees with the 200s.

``load()`` is the bounded loopback load check: 500 requests at client concurrency 32
while 200 connections stall in their headers. Every request must get a 200, or a 503 with
``Retry-After``; every stalled connection must be closed by the server within
``--header-timeout`` (plus a second of slack); it prints the figures.

Usage: python bench/bench_server.py [--workers N] [--mt dictionary|auto|off]
           [--rounds 1:40,8:80] [--data FILE.jsonl] [--load-only]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import selectors
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "bench" / "wmt-de-en" / "dev.jsonl"
ARTICLE_WORDS = 600
WARMUP_REQUESTS = 4

# The documented entry point, spelled out so the benchmark also runs before `serve` is
# wired into mtaudit.cli (with it: python -m mtaudit serve ...).
_SERVE = (
    "import argparse, sys\n"
    "from mtaudit.server import add_parser, cmd_serve\n"
    "p = argparse.ArgumentParser(); add_parser(p.add_subparsers())\n"
    "try:\n"
    "    sys.exit(cmd_serve(p.parse_args(['serve'] + sys.argv[1:])))\n"
    "except KeyboardInterrupt:\n"
    "    sys.exit(130)\n"
)


def articles(count: int, data: Path = DEFAULT_DATA, words: int = ARTICLE_WORDS) -> list[str]:
    """``count`` distinct articles of about ``words`` words: documents joined, then cut at
    the first sentence end past ``words``."""
    if data.exists():
        with data.open(encoding="utf-8") as fh:
            docs = [json.loads(line)["text"] for line in fh if line.strip()]
    else:
        seed = ROOT.parent / "shared" / "seed-article.txt"
        sources = [seed, *sorted((ROOT / "corpora").glob("*.txt"))]
        docs = [p.read_text(encoding="utf-8") for p in sources if p.exists()]
    out: list[str] = []
    i = 0
    while len(out) < count:
        parts: list[str] = []
        n = 0
        while n < words:
            doc = docs[i % len(docs)]
            # Past one pass over the data, a number keeps every article text unique.
            parts.append(doc if i < len(docs) else f"({i}) {doc}")
            n += len(doc.split())
            i += 1
        out.append(_cut("\n\n".join(parts), words))
    return out


def _cut(text: str, words: int) -> str:
    """``text`` up to the first sentence end after ``words`` words."""
    pattern = r"(?:\S+\s+){" + str(words) + r"}.*?[.!?][\"”’)]*(?=\s|$)"
    match = re.search(pattern, text, re.DOTALL)
    return match.group() if match else text


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``mtaudit serve`` in a subprocess on a free loopback port."""

    def __init__(
        self, workers: int | None, mt: str, cache_dir: str, extra: Sequence[str] = ()
    ) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = ["--port", str(self.port), "--mt", mt, "--log-level", "warning", "--isolated"]
        if workers:
            args += ["--concurrency", str(workers)]
        args += list(extra)
        env = {**os.environ, "MTAUDIT_CACHE_DIR": cache_dir}
        self.proc = subprocess.Popen([sys.executable, "-c", _SERVE, *args], cwd=ROOT, env=env)

    def __enter__(self) -> Server:
        started = time.perf_counter()
        while True:
            try:
                httpx.get(f"{self.url}/healthz").raise_for_status()
                break
            except httpx.ConnectError:
                if self.proc.poll() is not None or time.perf_counter() - started > 120:
                    raise RuntimeError("mtaudit serve did not start") from None
                time.sleep(0.1)
        self.startup_s = time.perf_counter() - started
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()  # graceful: uvicorn finishes, the service closes
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    def health(self) -> dict[str, Any]:
        return httpx.get(f"{self.url}/healthz").json()


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    pos = q * (len(ordered) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (pos - lo) * (ordered[hi] - ordered[lo])


def fire(url: str, texts: Sequence[str], concurrency: int) -> dict[str, Any]:
    """POST every text with ``concurrency`` client threads; outcome counts and latencies."""
    outcomes: Counter[str] = Counter()
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    with httpx.Client(base_url=url, timeout=120, limits=limits) as client:

        def one(text: str) -> tuple[str, float]:
            started = time.perf_counter()
            try:
                r = client.post("/v1/audit", json={"text": text})
            except httpx.HTTPError as exc:
                return f"connection error ({type(exc).__name__})", 0.0
            elapsed = time.perf_counter() - started
            if r.status_code == 503:
                return f"503 {r.json()['error']}", elapsed
            return str(r.status_code), elapsed

        started = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            for outcome, elapsed in pool.map(one, texts):
                outcomes[outcome] += 1
                if outcome == "200":
                    latencies.append(elapsed)
        wall = time.perf_counter() - started
    return {
        "concurrency": concurrency,
        "requests": len(texts),
        "outcomes": dict(outcomes),
        "wall_s": round(wall, 3),
        "rps": round(outcomes["200"] / wall, 2),
        "p50_ms": round(1000 * statistics.median(latencies), 1) if latencies else None,
        "p95_ms": round(1000 * _percentile(latencies, 0.95), 1) if latencies else None,
    }


def bench(
    workers: int | None = None,
    rounds: Sequence[tuple[int, int]] = ((1, 40), (8, 80)),
    mt: str = "dictionary",
    data: Path = DEFAULT_DATA,
) -> list[dict[str, Any]]:
    """Run the rounds (client concurrency, requests) against a fresh server; print a table.

    Raises:
        AssertionError: a request was dropped (neither 200 nor a documented 503), or the
            server's count of audits disagrees with the 200s received.
    """
    total = WARMUP_REQUESTS + sum(n for _, n in rounds)
    texts = articles(total, data)
    mean_words = statistics.mean(len(t.split()) for t in texts)
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as cache, Server(workers, mt, cache) as server:
        health = server.health()
        print(
            f"mtaudit serve: {health['workers']} workers, backlog {health['limits']['backlog']}, "
            f"--mt {mt}, started in {server.startup_s:.1f} s; "
            f"{os.cpu_count()} CPUs; articles of {mean_words:.0f} words on average"
        )
        fire(server.url, texts[:WARMUP_REQUESTS], 1)
        offset = WARMUP_REQUESTS
        print(f"{'clients':>7} {'requests':>8} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8}  outcomes")
        for concurrency, count in rounds:
            before = server.health()["counters"]["audited"]
            result = fire(server.url, texts[offset : offset + count], concurrency)
            offset += count
            audited = server.health()["counters"]["audited"] - before
            results.append(result)
            print(
                f"{concurrency:>7} {count:>8} {result['rps']:>7.2f} {result['p50_ms']:>8} "
                f"{result['p95_ms']:>8}  {result['outcomes']}"
            )
            documented = {k: v for k, v in result["outcomes"].items() if k in ("200", "503 busy")}
            documented["503 timeout"] = result["outcomes"].get("503 timeout", 0)
            assert sum(documented.values()) == count, f"dropped requests: {result['outcomes']}"
            assert audited == result["outcomes"].get("200", 0), (audited, result["outcomes"])
    return results


STALLED_REQUEST = b"POST /v1/audit HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: app"


def stall(port: int, count: int) -> tuple[list[socket.socket], list[float]]:
    """Open ``count`` loopback connections that send part of a request line and headers
    and then nothing more; returns them and when each was opened."""
    socks, opened = [], []
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(STALLED_REQUEST)
        s.setblocking(False)
        socks.append(s)
        opened.append(time.perf_counter())
    return socks, opened


def wait_closed(
    socks: Sequence[socket.socket], opened: Sequence[float], deadline_s: float
) -> list[float | None]:
    """Seconds until the server closed each stalled connection (None: still open when
    ``deadline_s`` ran out). Bounded: nothing waits past the deadline."""
    closed: list[float | None] = [None] * len(socks)
    sel = selectors.DefaultSelector()
    for i, s in enumerate(socks):
        sel.register(s, selectors.EVENT_READ, i)
    end = time.perf_counter() + deadline_s
    pending = len(socks)
    while pending and time.perf_counter() < end:
        for key, _ in sel.select(timeout=max(0.0, end - time.perf_counter())):
            i = key.data
            try:
                data = socks[i].recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                data = b""
            except BlockingIOError:
                continue
            if data:
                continue  # a response (408): the close follows
            closed[i] = time.perf_counter() - opened[i]
            sel.unregister(socks[i])
            pending -= 1
    sel.close()
    for s in socks:
        s.close()
    return closed


def load(
    requests: int = 500,
    concurrency: int = 32,
    stalled: int = 200,
    header_timeout: float = 5.0,
    words: int = 120,
    mt: str = "dictionary",
    data: Path = DEFAULT_DATA,
    workers: int | None = None,
) -> dict[str, Any]:
    """The bounded loopback load check; prints the figures and returns them.

    Raises:
        AssertionError: a request got anything but a 200 or a 503 with Retry-After, or a
            stalled connection stayed open past the header timeout (plus 1 s of slack).
    """
    texts = articles(requests, data, words)
    extra = ["--header-timeout", str(header_timeout)]
    with tempfile.TemporaryDirectory() as cache, Server(workers, mt, cache, extra) as server:
        socks, opened = stall(server.port, stalled)
        outcomes: Counter[str] = Counter()
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        started = time.perf_counter()
        with httpx.Client(base_url=server.url, timeout=120, limits=limits) as client:

            def one(text: str) -> str:
                try:
                    r = client.post("/v1/audit", json={"text": text})
                except httpx.HTTPError as exc:
                    return f"connection error ({type(exc).__name__})"
                if r.status_code == 503:
                    return "503 + Retry-After" if r.headers.get("retry-after") else "503 bare"
                return str(r.status_code)

            with ThreadPoolExecutor(concurrency) as pool:
                outcomes.update(pool.map(one, texts))
        wall = time.perf_counter() - started
        closed = wait_closed(socks, opened, header_timeout + 30)
        health = server.health()
    times = [c for c in closed if c is not None]
    result = {
        "requests": requests,
        "concurrency": concurrency,
        "outcomes": dict(outcomes),
        "wall_s": round(wall, 2),
        "rps": round(outcomes["200"] / wall, 1) if wall else 0.0,
        "stalled": stalled,
        "header_timeout_s": header_timeout,
        "stalled_closed": len(times),
        "close_p50_s": round(statistics.median(times), 2) if times else None,
        "close_max_s": round(max(times), 2) if times else None,
        "workers": health["workers"],
    }
    print(
        f"load: {requests} requests at concurrency {concurrency} with {stalled} stalled "
        f"connections ({health['workers']} workers, --header-timeout {header_timeout:g} s): "
        f"{dict(outcomes)} in {wall:.1f} s ({result['rps']} req/s); stalled connections "
        f"closed: {len(times)}/{stalled}, after {result['close_p50_s']} s (median), "
        f"{result['close_max_s']} s (max)"
    )
    bad = {k: v for k, v in outcomes.items() if k not in ("200", "503 + Retry-After")}
    assert not bad, f"requests without a 200 or a 503 with Retry-After: {bad}"
    assert len(times) == stalled, f"{stalled - len(times)} stalled connections never closed"
    assert max(times) <= header_timeout + 1.0, f"closed after {max(times):.2f} s"
    return result


def _rounds(value: str) -> list[tuple[int, int]]:
    try:
        return [(int(c), int(n)) for c, n in (p.split(":") for p in value.split(","))]
    except ValueError:
        raise argparse.ArgumentTypeError(
            "expected CLIENTS:REQUESTS[,...], e.g. 1:40,8:80"
        ) from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=None, help="--concurrency (default: CPUs)")
    parser.add_argument("--mt", default="dictionary", help="back-translation engine")
    parser.add_argument("--rounds", type=_rounds, default=[(1, 40), (8, 80)])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--load-only", action="store_true", help="only the load check")
    args = parser.parse_args(argv)
    results: list[dict[str, Any]] = []
    if not args.load_only:
        results = bench(args.workers, args.rounds, args.mt, args.data)
    results.append(load(mt=args.mt, data=args.data, workers=args.workers))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
