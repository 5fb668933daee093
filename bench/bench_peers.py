"""mtaudit against proselint on the same documents, in one paired run (issue 16's targets).

The first ``N_DOCS`` (200) documents of the data set are written out as ``.txt`` files, and
both tools lint that same folder from their command-line entry points, each run in a fresh
interpreter. Rounds are interleaved (proselint, markers-only, default, in a rotating order),
so load on the machine falls on every tool alike; the ratios are taken per round and the
median reported. A warm-up round that is not counted fills the OS page cache and
mtaudit's on-disk index caches (a user's second scan finds them there too).

What is counted:

* time: the child process's wall time, from fork to exit, interpreter start-up included;
* peak memory, two ways: (1) the Python process's own peak (``VmHWM``) plus the peak
  resident memory of its descendants (``--jobs`` workers, Apertium's ``lt-proc`` stages),
  sampled every 20 ms from ``/proc`` by this script (from outside the measured process);
  the peaks are added even when they did not coincide, and pages shared between processes
  (libraries, a forked worker's inherited lexicons, the same transducer mapped twice)
  count once per process, so this is an upper bound;
  (2) the peak over time of the summed proportional set size (PSS: a shared page counts
  a share to each process that maps it), sampled every 0.1 s: the memory the process tree
  really takes from the machine.

mtaudit runs with ``--no-cache`` (no result cache: every document is audited) and a fresh
translation cache per run. proselint runs with its default configuration.

    python bench/bench_peers.py [--data ../shared/bench/wmt-de-en/dev.jsonl] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "bench" / "wmt-de-en" / "dev.jsonl"
N_DOCS = 200

#: Issue 16's targets.
TARGET_MARKERS = 3.0  # markers-only throughput / proselint's
TARGET_DEFAULT = 1.5  # default pipeline throughput / proselint's
TARGET_ONEFILE_S = 0.6  # one-file scan, wall
TARGET_PEAK_MB = 300.0  # default pipeline over the documents

MARKERS_ONLY = ["--select", "MT1,MT2,MT3,MT4,MT5", "--mt", "off"]

# Runs in the child: the tool's own entry point, with stdout/stderr sent to /dev/null by
# the parent; at exit, the exit code and the process's own peak RSS go to the file in
# argv[2]. Memory over time is sampled by the parent, from outside: a sampler thread in the
# child would itself change what is measured (--jobs auto does not fork a process that
# runs other threads).
_CHILD = r"""
import json, sys
spec, result_path = json.loads(sys.argv[1]), sys.argv[2]
code = 0
try:
    if spec["tool"] == "proselint":
        from proselint.command_line import main
        sys.argv = ["proselint", *spec["args"]]
        main()
    else:
        from mtaudit.cli import main
        code = main(spec["args"])
except SystemExit as exc:
    code = exc.code if isinstance(exc.code, int) else 0
with open("/proc/self/status") as fh:
    hwm = next(int(ln.split()[1]) for ln in fh if ln.startswith("VmHWM:"))
with open(result_path, "w") as fh:
    json.dump({"code": code, "self_mb": hwm / 1024}, fh)
"""


def _proc_kb(pid: int, path: str, field: str) -> int:
    """A ``field:`` line's kB value from ``/proc/PID/path`` (0 when the process is gone)."""
    try:
        with open(f"/proc/{pid}/{path}") as fh:
            for ln in fh:
                if ln.startswith(field):
                    return int(ln.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            for tid in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{tid}/children") as fh:
                    kids = [int(k) for k in fh.read().split()]
                out.extend(kids)
                todo.extend(kids)
        except OSError:
            pass
    return out


def run_child(tool: str, args: list[str], tmp: Path, cwd: Path = ROOT) -> dict:
    """Run ``tool`` (proselint or mtaudit) with ``args`` in a fresh interpreter in ``cwd``
    (the checkout whose ``mtaudit`` is measured), sampling its process tree's memory."""
    out = tmp / "child.json"
    out.unlink(missing_ok=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHILD, json.dumps({"tool": tool, "args": args}), str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
    )
    peak_children = peak_pss = tick = 0
    while proc.poll() is None:
        family = _descendants(proc.pid)
        peak_children = max(peak_children, sum(_proc_kb(k, "status", "VmRSS:") for k in family))
        tick += 1
        if tick % 5 == 0:  # smaps_rollup costs more to read: every 0.1 s
            pss = sum(_proc_kb(k, "smaps_rollup", "Pss:") for k in [proc.pid, *family])
            peak_pss = max(peak_pss, pss)
        time.sleep(0.02)
    stderr = proc.stderr.read() if proc.stderr else ""
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if not out.exists():
        raise RuntimeError(f"{tool} run failed: {stderr[-2000:]}")
    m = json.loads(out.read_text())
    m["seconds"] = wall
    # CPU seconds of the process and the children it waited for (Apertium's stages,
    # --jobs workers): less sensitive than wall time to other load on a shared machine.
    m["cpu"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    m["children_mb"] = peak_children / 1024
    m["pss_mb"] = peak_pss / 1024
    m["peak_mb"] = m["self_mb"] + m["children_mb"]
    return m


def write_docs(data: Path, folder: Path, n: int = N_DOCS) -> list[str]:
    """The first ``n`` documents of ``data`` as ``folder/dNNN.txt``; returns their texts."""
    folder.mkdir(parents=True, exist_ok=True)
    texts = []
    with data.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            texts.append(json.loads(line)["text"])
            if len(texts) == n:
                break
    for i, text in enumerate(texts):
        (folder / f"d{i:03d}.txt").write_text(text, encoding="utf-8")
    return texts


def paired(
    docs: Path, tmp: Path, rounds: int, baseline: Path | None = None
) -> dict[str, list[dict]]:
    """Interleaved rounds of proselint, mtaudit markers-only and mtaudit default (and the
    same two scans from a ``baseline`` checkout, when given)."""
    report = ["-f", "json", "-o", str(tmp / "out.json"), "-q", "--no-text", "--no-cache"]
    checkouts = {"mtaudit": ROOT, **({"baseline": baseline} if baseline else {})}
    tools: dict[str, tuple[str, list[str], Path]] = {
        "proselint": ("proselint", ["check", str(docs)], ROOT)
    }
    for label, where in checkouts.items():
        tools[f"{label} markers-only"] = (
            "mtaudit",
            ["scan", str(docs), *report, *MARKERS_ONLY],
            where,
        )
        tools[f"{label} default"] = ("mtaudit", ["scan", str(docs), *report], where)
        # The default is --jobs auto; one process shows what the workers cost and gain.
        tools[f"{label} default -j1"] = (
            "mtaudit",
            ["scan", str(docs), *report, "--jobs", "1"],
            where,
        )
    runs: dict[str, list[dict]] = {name: [] for name in tools}
    names = list(tools)
    for k in range(rounds + 1):  # round 0 warms the page cache and the index caches
        order = names[k % len(names) :] + names[: k % len(names)]
        for i, name in enumerate(order):
            tool, args, where = tools[name]
            if tool == "mtaudit":  # a fresh translation cache: Apertium's work is counted
                args = [*args, "--mt-cache", str(tmp / f"mt-{k}-{i}")]
            m = run_child(tool, args, tmp, where)
            if k:
                runs[name].append(m)
    return runs


def compile_bytecode(checkout: Path) -> None:
    """Write the ``.pyc`` files of ``checkout``'s package, as ``pip install`` does: with
    ``PYTHONDONTWRITEBYTECODE`` set (some CI and sandbox shells) every run would otherwise
    compile ~80 modules from source, ~0.35 s that no installed copy pays."""
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(checkout / "mtaudit")],
        check=False,
        stdout=subprocess.DEVNULL,
    )


def onefile(text: str, tmp: Path, repeats: int, checkouts: dict[str, Path]) -> dict[str, list]:
    """Wall and CPU seconds of ``python -m mtaudit scan one.txt`` with default options,
    caches warm (index caches, translation cache, result cache folder), the file edited
    each time so that the result cache misses and the document is audited. The checkouts
    take turns."""
    times: dict[str, list] = {label: [] for label in checkouts}
    for k in range(repeats + 1):  # the first round warms the caches
        for label, where in checkouts.items():
            caches = ["--cache-dir", str(tmp / f"results-{label}"), "--mt-cache"]
            caches.append(str(tmp / f"mt-onefile-{label}"))
            doc = tmp / f"one-{label}-{k}.txt"
            doc.write_text(f"{text}\n\nUpdated {k}.\n", encoding="utf-8")
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "mtaudit", "scan", str(doc), *caches],
                check=False,
                cwd=where,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            wall = time.perf_counter() - started
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
            if k:
                times[label].append((wall, cpu))
    return times


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def bench(
    data: Path, rounds: int = 3, onefile_repeats: int = 7, baseline: Path | None = None
) -> None:
    """Print the paired throughput, the ratios to proselint, one-file time and peak memory."""
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        texts = write_docs(data, tmp / "docs")
        n = len(texts)
        size_kb = sum(len(t.encode("utf-8")) for t in texts) / 1024
        print(
            f"{n} documents of {data} ({size_kb:.0f} KB) as .txt files; {rounds} interleaved "
            "rounds after one warm-up round; a fresh process per run"
        )
        runs = paired(tmp / "docs", tmp, rounds, baseline)
        for name, ms in runs.items():
            secs = [m["seconds"] for m in ms]
            cpu = statistics.median(m["cpu"] for m in ms)
            print(
                f"{name:<26} median {statistics.median(secs):6.2f}s wall = "
                f"{n / statistics.median(secs):6.1f} docs/s (runs "
                f"{', '.join(f'{s:.2f}' for s in secs)}); {cpu:6.2f}s CPU; peak RSS "
                f"{max(m['peak_mb'] for m in ms):.0f} MB "
                f"(python {max(m['self_mb'] for m in ms):.0f} + children "
                f"{max(m['children_mb'] for m in ms):.0f}); peak PSS "
                f"{max(m['pss_mb'] for m in ms):.0f} MB"
            )
        base = runs["proselint"]
        for name, target in (
            ("markers-only", TARGET_MARKERS),
            ("default", TARGET_DEFAULT),
        ):
            for label in ("mtaudit", "baseline") if baseline else ("mtaudit",):
                ms = runs[f"{label} {name}"]
                walls = [p["seconds"] / m["seconds"] for p, m in zip(base, ms, strict=True)]
                cpus = [p["cpu"] / m["cpu"] for p, m in zip(base, ms, strict=True)]
                ratio = statistics.median(walls)
                print(
                    f"{label} {name} throughput / proselint's: {ratio:.2f}x wall (per round: "
                    f"{', '.join(f'{r:.2f}' for r in walls)}), {statistics.median(cpus):.2f}x "
                    f"CPU; target >= {target}x: {_verdict(ratio >= target)}"
                )
        for name in ("mtaudit default", "mtaudit default -j1"):
            peak = max(m["peak_mb"] for m in runs[name])
            pss = max(m["pss_mb"] for m in runs[name])
            py_peak = max(m["self_mb"] for m in runs[name])
            print(
                f"peak memory, {name.removeprefix('mtaudit ')} over {n} documents: {pss:.0f} MB "
                f"PSS of the whole process tree ({peak:.0f} MB adding peak RSS of each "
                f"process; {py_peak:.0f} MB the scan's own process) (target <= "
                f"{TARGET_PEAK_MB:.0f} MB: {_verdict(pss <= TARGET_PEAK_MB)})"
            )
        text = sorted(texts, key=len)[len(texts) // 2]  # a document of median length
        checkouts = {"mtaudit": ROOT, **({"baseline": baseline} if baseline else {})}
        for where in checkouts.values():
            compile_bytecode(where)
        for label, runs_ in onefile(text, tmp, onefile_repeats, checkouts).items():
            med = statistics.median(w for w, _ in runs_)
            print(
                f"{label} one-file scan (`mtaudit scan one.txt`, default options, "
                f"{len(text.split())} words, caches warm): median {med:.2f}s wall, "
                f"{statistics.median(c for _, c in runs_):.2f}s CPU over {len(runs_)} runs "
                f"({', '.join(f'{w:.2f}' for w, _ in runs_)}; target <= {TARGET_ONEFILE_S}s: "
                f"{_verdict(med <= TARGET_ONEFILE_S)})"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--baseline",
        type=Path,
        default=None,
        help="another checkout (e.g. `git worktree add` of main) whose scans join the rounds",
    )
    args = parser.parse_args()
    if not args.data.exists():
        print(f"bench_peers: {args.data} not found; nothing to measure", file=sys.stderr)
        return 0
    bench(args.data, args.rounds, baseline=args.baseline)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
