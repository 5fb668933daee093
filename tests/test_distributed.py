"""Scale-out without Ray: ``--jobs`` (process pool) and the shard reader the Ray engine uses.

The contract is "same answers": a parallel scan yields exactly the items of
``pipeline.scan``, in the same order, and a chunked shard read yields exactly what
``ingest.read_jsonl`` yields for the whole file.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import CORPORA, SHARED, child_processes

from mtaudit.auditors import AuditorPool
from mtaudit.distributed import exit_status, parse_jsonl_line
from mtaudit.distributed.local import iter_reports_parallel
from mtaudit.distributed.shards import discover_shards, read_shard
from mtaudit.ingest import IngestOptions, read_jsonl
from mtaudit.model import InputError, Summary
from mtaudit.pipeline import AuditOptions, Auditor, scan
from mtaudit.report.json import JsonReporter
from mtaudit.report.serialize import document_dict, error_dict

DEV = SHARED / "bench" / "wmt-de-en" / "dev.jsonl"
# Back-translation through the built-in glossaries: no dependence on Apertium.
OPTIONS = AuditOptions(mt="dictionary")

# Blank lines, CRLF, bad JSON / UTF-8, non-objects, missing or non-string text, ids of
# every kind, a Markdown record: every branch of the JSONL rules.
TRICKY_JSONL = (
    b'{"id": "a", "text": "The talks failed, the minister said."}\n'
    b"\n"
    b"   \n"
    b'{"text": "No id here, so the id is PATH:LINE."}\r\n'
    b"not json at all\n"
    b'{"id": 7, "text": "An integer id."}\n'
    b"[1, 2, 3]\n"
    b'{"id": "b"}\n'
    b'{"id": "c", "text": 42}\n'
    b'{"id": "", "text": "An empty id falls back to PATH:LINE."}\n'
    b'{"id": "d", "text": "Caf\xe9 bad utf-8"}\n'
    b'{"id": "md", "format": "markdown", "text": "# Title\\n\\nSome *bold* words."}\n'
    b'{"id": "e", "text": "Last line without a newline."}'
)


def _dump(items) -> list[dict]:
    """Items as report-v1 objects (documents with text, errors), in order."""
    return [error_dict(i) if isinstance(i, InputError) else document_dict(i) for i in items]


@pytest.fixture
def mixed_folder(tmp_path):
    """corpora/ plus inputs that fail: binary, malformed JSONL lines, a tricky JSONL."""
    folder = tmp_path / "mixed"
    shutil.copytree(CORPORA, folder)
    (folder / "zz-binary.txt").write_bytes(b"\x00\x01\x02binary\x00" * 20)
    (folder / "tricky.jsonl").write_bytes(TRICKY_JSONL)
    return folder


# --- --jobs: the process pool ------------------------------------------------------------


def test_jobs_2_yields_exactly_what_a_single_process_scan_yields(mixed_folder):
    auditor = Auditor(OPTIONS)
    try:
        expected = _dump(scan([str(mixed_folder)], auditor))
    finally:
        auditor.close()
    got = _dump(iter_reports_parallel([str(mixed_folder)], OPTIONS, None, jobs=2, chunksize=2))
    assert any("path" in e and "message" in e for e in got)  # errors are interleaved
    assert got == expected


def _json_report(items, auditor: Auditor) -> str:
    """The bytes ``mtaudit scan -f json`` writes for ``items`` (elapsed time zeroed)."""
    out = io.StringIO()
    reporter = JsonReporter(out, include_text=True, show_clean=True)
    reporter.start(auditor.signature)
    summary = Summary()
    for item in items:
        if isinstance(item, InputError):
            summary.errors += 1
            reporter.error(item)
        else:
            failed = auditor.fails(item)
            summary.add(item, failed)
            reporter.document(item, failed)
    reporter.finish(summary)
    return out.getvalue()


def test_jobs_2_json_report_is_byte_identical_on_corpora():
    auditor = Auditor(OPTIONS)
    try:
        one = _json_report(scan([str(CORPORA)], auditor), auditor)
        two = _json_report(iter_reports_parallel([str(CORPORA)], OPTIONS, None, jobs=2), auditor)
    finally:
        auditor.close()
    assert json.loads(one)["summary"]["documents"] >= 7
    assert two == one


def _cli_has(flag: str) -> bool:
    from mtaudit.cli import build_parser

    scan_parser = build_parser()._subparsers._group_actions[0].choices["scan"]
    return any(flag in a.option_strings for a in scan_parser._actions)


@pytest.mark.skipif(not _cli_has("--jobs"), reason="--jobs is not wired into the CLI yet")
def test_cli_jobs_2_matches_jobs_1(cli):
    args = ("scan", CORPORA, "-f", "json", "--mt", "dictionary", "--isolated")
    one, two = cli(*args, "--jobs", "1"), cli(*args, "--jobs", "2")
    assert one.code == two.code
    a, b = one.json(), two.json()
    a["summary"].pop("elapsed_s"), b["summary"].pop("elapsed_s")
    assert a == b


def test_per_folder_configuration_reaches_the_workers(tmp_path):
    """With an AuditorPool (folders with their own config) each document keeps its options."""
    for sub in ("strict", "loose"):
        (tmp_path / sub).mkdir()
        for src in sorted(CORPORA.glob("mt-*")):
            shutil.copy(src, tmp_path / sub / src.name)
    options = {
        "strict": AuditOptions(mt="dictionary"),
        "loose": AuditOptions(mt="dictionary", select=("punctuation",)),
    }

    def make_pool() -> AuditorPool:
        return AuditorPool(
            lambda doc: "loose" if "/loose/" in doc.path else "strict",
            options.__getitem__,
            "strict",
        )

    pool = make_pool()
    try:
        expected = _dump(scan([str(tmp_path)], pool))
    finally:
        pool.close()
    pool = make_pool()
    try:
        got = _dump(iter_reports_parallel([str(tmp_path)], pool, None, jobs=2))
    finally:
        pool.close()
    loose = [d for d in got if "/loose/" in d["path"]]
    assert loose and all(f["category"] == "punctuation" for d in loose for f in d["findings"])
    assert got == expected


def test_stopping_early_shuts_the_pool_down():
    items = iter_reports_parallel([str(CORPORA)], OPTIONS, None, jobs=2, chunksize=1)
    first = next(items)
    items.close()  # the consumer stops (e.g. `| head`): no hang, no stray workers
    assert first is not None


def test_jobs_1_is_the_plain_scan(mixed_folder):
    auditor = Auditor(OPTIONS)
    try:
        expected = _dump(scan([str(mixed_folder)], auditor))
    finally:
        auditor.close()
    assert _dump(iter_reports_parallel([str(mixed_folder)], OPTIONS, None, jobs=1)) == expected


def _spy_parallel(monkeypatch) -> list[str | None]:
    """Record each hand-over of ``--jobs auto`` to worker processes (its start method)."""
    import mtaudit.distributed.local as local

    calls: list[str | None] = []
    real = local._parallel

    def spy(items, options, jobs, changed, chunksize, start_method, warm=True):  # noqa: ANN001, ANN202
        calls.append(start_method)
        return real(items, options, jobs, changed, chunksize, start_method, warm)

    monkeypatch.setattr(local, "_parallel", spy)
    return calls


def test_jobs_auto_hands_a_long_scan_to_workers_with_the_same_results(mixed_folder, monkeypatch):
    import mtaudit.distributed.local as local

    auditor = Auditor(OPTIONS)
    try:
        expected = _dump(scan([str(mixed_folder)], auditor))
    finally:
        auditor.close()
    calls = _spy_parallel(monkeypatch)
    # Threads other tests left behind must not keep this one in-process.
    monkeypatch.setattr(local, "_fork_safe", lambda: True)
    monkeypatch.setattr(local, "AUTO_MIN_LEFT", 1)
    monkeypatch.setattr(local, "AUTO_MIN_WORK_S", 0.0)
    before = set(child_processes())
    pool_auditor = Auditor(OPTIONS)
    try:
        got = _dump(
            iter_reports_parallel(
                [str(mixed_folder)], pool_auditor, None, jobs=2, chunksize=1, auto_after=0.0
            )
        )
        # The parent stopped its own Apertium analysers before forking (and started none
        # again): the workers ran theirs.
        left = {
            pid
            for pid, command in child_processes().items()
            if pid not in before and ("lt-proc" in command or "apertium" in command)
        }
    finally:
        pool_auditor.close()
    assert calls == ["fork"]  # workers audited every document
    assert got == expected
    assert left == set()


def test_jobs_auto_keeps_a_short_scan_in_this_process(mixed_folder, monkeypatch):
    import mtaudit.distributed.local as local

    calls = _spy_parallel(monkeypatch)
    monkeypatch.setattr(local, "_fork_safe", lambda: True)
    auditor = Auditor(OPTIONS)
    try:
        expected = _dump(scan([str(mixed_folder)], auditor))
        corpora = _dump(scan([str(CORPORA)], auditor))
        # Well under the time (a few documents), or too little left to be worth workers.
        short = _dump(iter_reports_parallel([str(mixed_folder)], auditor, None, 2, auto_after=60))
        few_left = _dump(
            iter_reports_parallel([str(CORPORA)], auditor, None, 2, chunksize=50, auto_after=0)
        )
    finally:
        auditor.close()
    assert calls == []
    assert short == expected
    assert few_left == corpora


def test_jobs_auto_hands_over_only_when_the_speed_measured_leaves_enough_work(
    mixed_folder, monkeypatch
):
    import mtaudit.distributed.local as local

    calls = _spy_parallel(monkeypatch)
    monkeypatch.setattr(local, "_fork_safe", lambda: True)
    monkeypatch.setattr(local, "AUTO_MIN_LEFT", 1)
    auditor = Auditor(OPTIONS)
    try:
        expected = _dump(scan([str(mixed_folder)], auditor))
        # Workers may start at once, but the folder holds far less than an hour of work.
        monkeypatch.setattr(local, "AUTO_MIN_WORK_S", 3600.0)
        stayed = _dump(
            iter_reports_parallel([str(mixed_folder)], auditor, None, 2, chunksize=1, auto_after=0)
        )
        assert calls == []
        # Any work at all is enough: they start once a speed is measured, i.e. after the
        # first document (lazy loading) and two more (the slowest of them left out).
        monkeypatch.setattr(local, "AUTO_MIN_WORK_S", 1e-9)
        handed = _dump(
            iter_reports_parallel([str(mixed_folder)], auditor, None, 2, chunksize=1, auto_after=0)
        )
    finally:
        auditor.close()
    assert calls == ["fork"]
    assert stayed == expected
    assert handed == expected


def test_jobs_auto_speed_leaves_out_the_slowest_audit_and_reads_ahead_within_bounds(
    monkeypatch,
):
    import mtaudit.distributed.local as local
    from mtaudit.model import Document

    speed = local._Speed()
    speed.add(0.3, 1000)  # an engine started during this audit
    assert speed.per_char() is None  # one audit: nothing left once the slowest is out
    speed.add(0.01, 1000)
    speed.add(0.03, 2000)
    assert speed.measured() == pytest.approx(0.04)
    assert speed.per_char() == pytest.approx(0.04 / 3000)

    read: list[int] = []

    def items():  # noqa: ANN202
        for i in range(10):
            read.append(i)
            yield InputError(f"e{i}", "unreadable") if i == 2 else Document(f"d{i}", "x" * 100)

    monkeypatch.setattr(local, "AUTO_LOOKAHEAD_ITEMS", 5)
    ahead = local._Lookahead(items())
    assert ahead.has_chars(250) and len(read) == 4  # an error has no text
    assert not ahead.has_chars(10_000) and len(read) == 5  # the cap on items read ahead
    first = next(ahead)
    assert first.id == "d0" and ahead.has_chars(300) and len(read) == 5
    assert ahead.has_chars(400) and not ahead.has_chars(401) and len(read) == 6  # room for one
    assert [getattr(x, "id", getattr(x, "path", "")) for x in ahead] == [
        f"{'e' if i == 2 else 'd'}{i}" for i in range(1, 10)
    ]
    assert not ahead.has(1) and not ahead.has_chars(1)


def test_jobs_auto_stays_in_process_where_workers_cannot_be_forked(mixed_folder, monkeypatch):
    import mtaudit.distributed.local as local

    calls = _spy_parallel(monkeypatch)
    monkeypatch.setattr(local, "_fork_safe", lambda: False)  # a thread, or not Linux
    monkeypatch.setattr(local, "AUTO_MIN_LEFT", 1)
    got = _dump(
        iter_reports_parallel([str(mixed_folder)], OPTIONS, None, 2, chunksize=1, auto_after=0)
    )
    assert calls == []
    assert any("path" in e and "message" in e for e in got)


def test_jobs_auto_counts_cpus_and_the_memory_available(tmp_path, monkeypatch):
    import mtaudit.distributed.local as local

    monkeypatch.setattr(local, "default_jobs", lambda: 16)
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       16000000 kB\nMemAvailable:    1600000 kB\n")
    assert local.auto_jobs(str(meminfo)) == 1600000 // 1024 // local.AUTO_WORKER_MB == 3
    meminfo.write_text("MemAvailable:   64000000 kB\n")
    assert local.auto_jobs(str(meminfo)) == local.AUTO_MAX_JOBS  # capped
    meminfo.write_text("MemAvailable:     100000 kB\n")
    assert local.auto_jobs(str(meminfo)) == 1  # no room: the scan stays in one process
    assert local.auto_jobs(str(tmp_path / "absent")) == local.AUTO_MAX_JOBS  # CPUs alone


def test_jobs_auto_only_reads_ahead_of_stored_inputs(tmp_path):
    """On stdin or a FIFO, reading ahead to decide on workers could hold reports back."""
    from mtaudit.scan_run import _stored

    fifo = tmp_path / "feed.jsonl"
    os.mkfifo(fifo)
    assert _stored([str(CORPORA), str(CORPORA / "wire-feed.jsonl")])
    assert not _stored(["-"])
    assert not _stored([str(CORPORA), str(fifo)])
    assert not _stored([str(tmp_path / "missing.txt")])


def test_cli_jobs_flag_takes_auto_and_names_it_when_wrong(cli):
    args = ("scan", CORPORA, "-f", "json", "--mt", "dictionary", "--isolated")
    auto, default, one = cli(*args, "--jobs", "auto"), cli(*args), cli(*args, "--jobs", "1")
    reports = [r.json() for r in (auto, default, one)]
    for r in reports:
        r["summary"].pop("elapsed_s")
    assert reports[0] == reports[1] == reports[2]
    bad = cli(*args, "--jobs", "many")
    assert bad.code == 2
    assert "--jobs" in bad.err and "auto" in bad.err


# --- the shard reader of the Ray engine (no Ray needed) ------------------------------------


def test_parse_jsonl_line_follows_read_jsonl_rules(tmp_path):
    path = tmp_path / "tricky.jsonl"
    path.write_bytes(TRICKY_JSONL)
    expected = list(read_jsonl(io.BytesIO(TRICKY_JSONL), str(path), IngestOptions()))
    got = []
    for lineno, raw in enumerate(io.BytesIO(TRICKY_JSONL), start=1):
        item = parse_jsonl_line(raw, str(path), lineno)
        if item is not None:
            got.append(item)
    assert got == expected
    assert len(expected) == 11  # 13 lines, two blank


def test_parse_jsonl_line_limits_line_size(tmp_path):
    raw = b'{"text": "' + b"x" * 200 + b'"}\n'
    item = parse_jsonl_line(raw, "f.jsonl", 3, IngestOptions(max_bytes=100))
    assert isinstance(item, InputError) and item.path == "f.jsonl:3"


def test_shard_read_equals_read_jsonl(tmp_path):
    path = tmp_path / "tricky.jsonl"
    path.write_bytes(b"\n\n" + TRICKY_JSONL + b"\n\n")  # leading and trailing blank lines
    (shard,), errors = discover_shards([str(tmp_path)])
    assert not errors and shard.name == str(path)
    with path.open("rb") as fh:
        expected = list(read_jsonl(fh, str(path), IngestOptions()))
    got = list(read_shard(shard))
    assert [item for _, item in got] == expected
    # Each record with its line number in the file (blank lines count, as in an editor).
    lines = path.read_bytes().split(b"\n")
    assert [line for line, _ in got] == [i for i, raw in enumerate(lines, 1) if raw.strip()]


def test_parquet_rows_read_like_jsonl_lines(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    rows = [
        {"id": "p1", "text": "The talks failed, the minister said.", "source": "wire"},
        {"id": None, "text": "No id: the id is SHARD:ROW.", "source": None},
        {"id": "p3", "text": None, "source": "wire"},  # a null text is a record error
    ]
    path = tmp_path / "part-0.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=2)
    (shard,), _ = discover_shards([str(path)])
    items = list(read_shard(shard))
    assert [line for line, _ in items] == [1, 2, 3]
    assert items[0][1].id == "p1" and items[1][1].id == f"{path}:2"
    assert isinstance(items[2][1], InputError) and items[2][1].path == f"{path}:3"


def test_discovery_keeps_shards_and_names_missing_inputs(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "part-0.jsonl").write_text("{}\n")
    (tmp_path / "b" / "part-0.jsonl").write_text("{}\n")
    (tmp_path / "a" / "notes.txt").write_text("not a shard")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "x.jsonl").write_text("{}\n")
    shards, errors = discover_shards(
        [str(tmp_path / "a"), str(tmp_path / "b" / "part-0.jsonl"), str(tmp_path / "nope")]
    )
    assert [s.name for s in shards] == [
        str(tmp_path / "a" / "part-0.jsonl"),
        str(tmp_path / "b" / "part-0.jsonl"),
    ]
    assert len({s.stem for s in shards}) == 2  # same file name, distinct result files
    assert [e.path for e in errors] == [str(tmp_path / "nope")]


def test_exit_status_follows_the_scan_contract():
    assert exit_status({"error_count": 0, "failed_documents": 0}) == 0
    assert exit_status({"error_count": 0, "failed_documents": 3}) == 1
    assert exit_status({"error_count": 1, "failed_documents": 3}) == 2


@pytest.mark.skipif(not DEV.exists(), reason="shared/bench/wmt-de-en/dev.jsonl is not present")
def test_jobs_2_on_dev_subset(tmp_path):
    subset = tmp_path / "dev40.jsonl"
    with DEV.open(encoding="utf-8") as fh:
        subset.write_text("".join(next(fh) for _ in range(40)), encoding="utf-8")
    auditor = Auditor(OPTIONS)
    try:
        expected = _dump(scan([str(subset)], auditor))
    finally:
        auditor.close()
    assert _dump(iter_reports_parallel([str(subset)], OPTIONS, None, jobs=2)) == expected
    assert Path(subset).exists()


def test_uri_shards_are_listed_and_read_through_pyarrow(tmp_path):
    """``scheme://`` inputs go through pyarrow's filesystems (file:// stands in for s3://)."""
    pytest.importorskip("pyarrow")
    (tmp_path / "feed").mkdir()
    path = tmp_path / "feed" / "part-0.jsonl"
    path.write_bytes(TRICKY_JSONL)
    (shard,), errors = discover_shards([f"file://{tmp_path / 'feed'}"])
    assert not errors and shard.name == shard.uri == f"file://{path}"
    got = list(read_shard(shard))
    expected = list(read_jsonl(io.BytesIO(TRICKY_JSONL), shard.name, IngestOptions()))
    assert [item for _, item in got] == expected


def test_a_shard_list_file_names_the_inputs(tmp_path):
    for name in ("b.jsonl", "a.jsonl"):
        (tmp_path / name).write_text('{"text": "x"}\n')
    listing = tmp_path / "shards.txt"
    listing.write_text(f"# today's shards\n{tmp_path / 'b.jsonl'}\n\n{tmp_path / 'a.jsonl'}\n")
    shards, errors = discover_shards([f"@{listing}", f"@{tmp_path / 'missing.txt'}"])
    assert [s.name for s in shards] == [str(tmp_path / "b.jsonl"), str(tmp_path / "a.jsonl")]
    assert [e.path for e in errors] == [str(tmp_path / "missing.txt")]


def _session_processes(sid: int) -> dict[int, str]:
    """Live processes (not zombies) of a session: pid -> state, read from /proc."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        state, session = fields[0], int(fields[3])
        if session == sid and state != "Z":
            found[int(entry.name)] = state
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_workers_die_with_a_killed_scan(tmp_path):
    feed = tmp_path / "feed.jsonl"
    os.mkfifo(feed)  # the scan waits on it, with its workers started and idle
    proc = subprocess.Popen(
        [sys.executable, "-m", "mtaudit", "scan", str(feed), "--jobs", "2", "--mt", "off"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own session: the test finds the workers by it
    )
    writer = None
    try:
        deadline = time.monotonic() + 120
        while writer is None:
            assert proc.poll() is None and time.monotonic() < deadline
            try:
                writer = os.open(feed, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:  # no reader yet
                time.sleep(0.05)
        # One chunk for each worker; the workers start on the first one.
        os.write(writer, b'{"text": "The council met on Friday."}\n' * 8)
        while len(workers := set(_session_processes(proc.pid)) - {proc.pid}) < 2:
            assert proc.poll() is None and time.monotonic() < deadline, "no workers started"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while (left := set(_session_processes(proc.pid)) & workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not left, f"workers {sorted(left)} outlived the scan"
    finally:
        if writer is not None:
            os.close(writer)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


WATCHDOG_ONLY = """
import os, sys, time
from mtaudit.distributed import worker
r, w = os.pipe()
if os.fork() == 0:
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)  # not the test's pipe: it must see EOF when the parent leaves
    os.dup2(null, 2)
    sys.platform = "darwin"  # no prctl: the portable watchdog alone
    worker.PARENT_POLL_S = 0.05
    worker._die_with_parent()
    os.write(w, b"%d\\n" % os.getpid())
    time.sleep(120)
    os._exit(0)
print(os.read(r, 64).decode().strip(), flush=True)  # the worker is watching: leave it
"""


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_the_parent_watchdog_ends_an_orphaned_worker():
    proc = subprocess.run(
        [sys.executable, "-c", WATCHDOG_ONLY], capture_output=True, text=True, timeout=60
    )
    worker = int(proc.stdout.strip())
    deadline = time.monotonic() + 10
    while _session_processes(os.getsid(0)).get(worker) and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        assert worker not in _session_processes(os.getsid(0)), "the watchdog did not fire"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(worker, signal.SIGKILL)


APERTIUM = shutil.which("apertium") is not None


@pytest.mark.skipif(not APERTIUM, reason="apertium is not installed")
def test_jobs_2_report_is_byte_identical_with_apertium_and_a_cold_cache(cli, tmp_path):
    """Apertium on, a fresh translation cache for each run: --jobs 2 writes the bytes
    --jobs 1 writes (the elapsed time aside), every format that carries evidence."""
    outputs = {}
    for jobs in ("1", "2"):
        cache = tmp_path / f"cache-{jobs}"
        json_out, sarif_out = tmp_path / f"{jobs}.json", tmp_path / f"{jobs}.sarif"
        res = cli(
            "scan", CORPORA, "--isolated", "-q", "--mt", "apertium", "--mt-cache", cache,
            "--jobs", jobs, "-f", "json", "-o", json_out, "--report", f"sarif={sarif_out}",
        )  # fmt: skip
        assert res.code in (0, 1), res.err
        outputs[jobs] = [
            _without_timing(p.read_text(encoding="utf-8")) for p in (json_out, sarif_out)
        ]
    one = json.loads(outputs["1"][0])
    assert "mt:apertium" in one["signature"] and "fallback" not in one["signature"]
    assert any(
        f["evidence"].get("back_translation", {}).get("engine", "").startswith("apertium")
        for d in one["documents"]
        for f in d["findings"]
    )
    assert outputs["2"] == outputs["1"]


def _without_timing(text: str) -> str:
    return re.sub(r'"elapsed_s": [0-9.e-]+', '"elapsed_s": 0', text)
