"""``--engine ray`` on a local 2-CPU Ray instance: same answers as a local scan, resumable
runs, a worker killed mid-run, malformed records and shards, pool sizing, and the Dataset
API.

Every comparison is field by field on report-v1 document objects; only the order of
documents across shards may differ (each shard's results are in line order).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest
from conftest import CORPORA, SHARED

ray = pytest.importorskip("ray")
pytest.importorskip("pyarrow")

import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from mtaudit.ingest import FORMATS  # noqa: E402
from mtaudit.model import InputError, Summary  # noqa: E402
from mtaudit.pipeline import AuditOptions, Auditor, scan  # noqa: E402
from mtaudit.report.serialize import document_dict, error_dict  # noqa: E402

# Ray's own modules warn about their renamed settings; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:ray")

DEV = SHARED / "bench" / "wmt-de-en" / "dev.jsonl"
OPTIONS = AuditOptions(mt="dictionary")  # glossary back-translation: no Apertium needed
DEV_LINES = 60

BAD_JSONL = (
    b'{"id": "ok-1", "text": "The council approved the budget on Friday."}\n'
    b"this is not json\n"
    b"\n"
    b'{"id": "no-text"}\n'
    b'{"id": "number", "text": 12}\n'
    b'{"id": "ok-2", "text": "It is excluded, \\u201dsaid the envoy. The talks failed."}\n'
)


@pytest.fixture(scope="module")
def ray_local():
    """One local Ray instance with 2 CPUs for the module (starting one takes seconds),
    started as ``mtaudit scan --engine ray`` starts it."""
    from mtaudit.distributed.ray_engine import ray_session

    if ray.is_initialized():
        ray.shutdown()
    with ray_session(num_cpus=2, quiet=True):
        # Workers unpickle test-defined classes (the crashing actor) by value, not by import.
        ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
        yield ray


def _corpus_records() -> list[dict]:
    """corpora/*.txt, .md, .html as JSONL records with their format."""
    records = []
    for path in sorted(CORPORA.iterdir()):
        fmt = FORMATS.get(path.suffix.lower())
        if fmt in ("text", "markdown", "html"):
            text = path.read_text(encoding="utf-8")
            records.append({"id": path.name, "format": fmt, "text": text})
    return records


@pytest.fixture(scope="module")
def shards(tmp_path_factory) -> Path:
    """A folder of shards: the corpus, the wire feed, a dev subset, malformed records."""
    folder = tmp_path_factory.mktemp("shards")
    with (folder / "corpus.jsonl").open("w", encoding="utf-8") as fh:
        for rec in _corpus_records():
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    shutil.copy(CORPORA / "wire-feed.jsonl", folder / "wire-feed.jsonl")
    if DEV.exists():
        with DEV.open(encoding="utf-8") as src:
            lines = [next(src) for _ in range(DEV_LINES)]
        (folder / "dev.jsonl").write_text("".join(lines), encoding="utf-8")
    (folder / "sub").mkdir()
    (folder / "sub" / "bad.jsonl").write_bytes(BAD_JSONL)
    return folder


def _signature(options: AuditOptions) -> str:
    """An Auditor's run signature (its idiom matcher starts Apertium stages: closed after)."""
    with Auditor(options) as auditor:
        return auditor.signature


def _local(paths: list[str]) -> tuple[dict[tuple[str, int], dict], list[dict], Summary]:
    """A local scan: documents by (path, line), errors, and the run summary."""
    auditor = Auditor(OPTIONS)
    docs: dict[tuple[str, int], dict] = {}
    errors: list[dict] = []
    summary = Summary()
    try:
        for item in scan(paths, auditor):
            if isinstance(item, InputError):
                errors.append(error_dict(item))
                continue
            failed = auditor.fails(item)
            summary.add(item, failed)
            data = document_dict(item)
            data["failed"] = failed
            docs[(item.document.path, item.document.meta["line"])] = data
    finally:
        auditor.close()
    return docs, errors, summary


def _results(out: Path) -> tuple[dict[tuple[str, int], dict], list[dict]]:
    """Every result line under ``out``: documents by (shard, line), and error lines."""
    docs: dict[tuple[str, int], dict] = {}
    errors: list[dict] = []
    for file in sorted(out.rglob("*.audit.jsonl")):
        lines = [json.loads(line) for line in file.read_text(encoding="utf-8").splitlines()]
        assert [r["line"] for r in lines] == sorted(r["line"] for r in lines)
        for rec in lines:
            key = (rec.pop("shard"), rec.pop("line"))
            assert key not in docs, f"duplicate result for {key}"
            if "error" in rec:
                errors.append(rec["error"])
            else:
                docs[key] = rec
    return docs, errors


def _records_in(folder: Path) -> int:
    return sum(
        1 for f in folder.rglob("*.jsonl") for line in f.read_bytes().splitlines() if line.strip()
    )


@pytest.fixture(scope="module")
def first_run(ray_local, shards, tmp_path_factory):
    from mtaudit.distributed.ray_engine import run_ray_scan

    out = tmp_path_factory.mktemp("ray-out")
    # bytes_per_worker=1: two actors even for these small shards, to run them side by side.
    summary = run_ray_scan([str(shards)], out, OPTIONS, workers=2, bytes_per_worker=1)
    return out, summary


def _temporary_files(out: Path) -> list[Path]:
    """Hidden files an interrupted atomic write leaves (none may survive a run)."""
    return [p for p in out.rglob(".*") if p.name not in (".lock",)]


def test_ray_results_equal_a_local_scan_field_by_field(shards, first_run):
    out, summary = first_run
    local_docs, local_errors, local_summary = _local([str(shards)])
    docs, errors = _results(out)
    assert len(local_docs) >= 9 + (DEV_LINES if DEV.exists() else 0)
    assert docs.keys() == local_docs.keys()
    for key, expected in local_docs.items():
        assert docs[key] == expected, key
    # Malformed records: reported with shard:line, and the shard's good records kept.
    assert sorted(errors, key=lambda e: e["path"]) == sorted(local_errors, key=lambda e: e["path"])
    bad = str(shards / "sub" / "bad.jsonl")
    assert {e["path"] for e in errors} == {f"{bad}:2", f"{bad}:4", f"{bad}:5"}
    assert {k[1] for k in docs if k[0] == bad} == {1, 6}
    # Every record is in the output exactly once.
    assert len(docs) + len(errors) == _records_in(shards) == summary["records"]


def test_summary_counts_match_the_local_scan(shards, first_run):
    out, summary = first_run
    _, local_errors, local = _local([str(shards)])
    on_disk = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert on_disk == summary
    assert summary["complete"] and summary["shards"] == {
        "total": 4 if DEV.exists() else 3,
        "done": 4 if DEV.exists() else 3,
        "skipped": 0,
        "failed": 0,
    }
    assert summary["documents"] == local.documents
    assert summary["findings"] == local.findings
    assert summary["by_category"] == local.by_category
    assert summary["by_verdict"] == local.by_verdict
    assert summary["by_severity"] == local.by_severity
    assert summary["failed_documents"] == local.failed_documents
    assert summary["error_count"] == len(local_errors) == 3
    assert summary["signature"] == _signature(OPTIONS)
    assert summary["workers"]["pool_size"] == 2
    assert len(summary["workers"]["processes"]) == 2  # both actors audited shards
    assert all(w["peak_rss_mb"] > 0 for w in summary["workers"]["processes"].values())


def test_rerun_skips_done_shards_and_redoes_changed_ones(shards, first_run, tmp_path):
    from mtaudit.distributed.ray_engine import run_ray_scan

    out, _ = first_run
    work = tmp_path / "out"
    shutil.copytree(out, work)
    again = run_ray_scan([str(shards)], work, OPTIONS, workers=2)
    assert again["shards"]["skipped"] == again["shards"]["total"]
    assert again["records"] == first_run[1]["records"]

    # A changed shard is redone, the others are kept; a deleted result is redone.
    kept = (work / "corpus.jsonl.audit.jsonl").stat().st_mtime_ns
    (work / "sub" / "bad.jsonl.audit.jsonl").unlink()
    fresh = tmp_path / "fresh.jsonl"
    fresh.write_text('{"id": "new", "text": "A new story about the port strike."}\n')
    third = run_ray_scan([str(shards), str(fresh)], work, OPTIONS, workers=2)
    assert third["shards"]["skipped"] == third["shards"]["total"] - 2
    assert third["complete"] and third["records"] == first_run[1]["records"] + 1
    assert (work / "corpus.jsonl.audit.jsonl").stat().st_mtime_ns == kept
    assert (work / "sub" / "bad.jsonl.audit.jsonl").exists()
    assert not _temporary_files(work)


class CrashOnce:
    """Mixin for AuditWorker: the worker process dies on one record, the first time only."""

    crash_shard = ""
    crash_line = 0
    marker = ""

    def audit_record(self, shard, line, document):
        if shard.endswith(self.crash_shard) and line == self.crash_line:
            try:
                fd = os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                pass  # the retry: behave
            else:
                os.close(fd)
                os._exit(1)  # no cleanup, no exception: as an OOM kill would
        return super().audit_record(shard, line, document)


def test_a_worker_killed_mid_run_loses_and_duplicates_nothing(ray_local, shards, tmp_path):
    from mtaudit.distributed.ray_engine import AuditWorker, run_ray_scan

    marker = tmp_path / "crashed"
    crashing = type(
        "CrashingWorker",
        (CrashOnce, AuditWorker),
        {"crash_shard": "corpus.jsonl", "crash_line": 3, "marker": str(marker)},
    )
    out = tmp_path / "out"
    summary = run_ray_scan(
        [str(shards / "corpus.jsonl"), str(shards / "wire-feed.jsonl")],
        out,
        OPTIONS,
        workers=2,
        worker_cls=crashing,
        bytes_per_worker=1,
    )
    assert marker.exists(), "the worker never crashed: the test proves nothing"
    assert summary["complete"] and summary["error_count"] == 0
    assert not _temporary_files(out)  # the dead actor's half-written results are gone
    docs, errors = _results(out)
    local_docs, _, _ = _local([str(shards / "corpus.jsonl"), str(shards / "wire-feed.jsonl")])
    assert not errors
    assert docs == local_docs


def test_parquet_shards_give_the_jsonl_answers(ray_local, shards, tmp_path):
    from mtaudit.distributed.ray_engine import run_ray_scan

    records = _corpus_records()
    inputs = tmp_path / "in"
    inputs.mkdir()
    pq.write_table(pa.Table.from_pylist(records), inputs / "corpus.parquet", row_group_size=3)
    out = tmp_path / "out"
    summary = run_ray_scan([str(inputs)], out, OPTIONS, workers=2, include_text=False)
    docs, errors = _results(out)
    assert not errors and summary["records"] == len(records)
    local_docs, _, _ = _local([str(shards / "corpus.jsonl")])
    for (_, line), got in docs.items():
        expected = dict(local_docs[(str(shards / "corpus.jsonl"), line)])
        expected.pop("text")
        expected["path"] = str(inputs / "corpus.parquet")
        assert got == expected


def test_audit_dataset_adds_the_audit_columns(ray_local):
    import ray.data

    from mtaudit.distributed.ray_engine import audit_dataset
    from mtaudit.ingest import make_document
    from mtaudit.report.serialize import finding_dict

    records = _corpus_records()
    rows = [{"id": r["id"], "text": r["text"], "fmt": r["format"]} for r in records]
    rows.append({"id": "nothing", "text": None, "fmt": "text"})
    ds = ray.data.from_items(rows)
    audited = audit_dataset(ds, options=OPTIONS, concurrency=2, format_column="fmt")
    got = {r["id"]: r for r in audited.take_all()}
    assert set(got) == {r["id"] for r in rows}
    auditor = Auditor(OPTIONS)
    try:
        for r in records:
            report = auditor.audit(make_document(r["text"], r["id"], r["format"], r["id"]))
            row = got[r["id"]]
            assert row["text"] == r["text"]  # input columns pass through
            assert row["mt_probability"] == report.mt_probability
            assert row["verdict"] == report.verdict
            assert row["source_language"] == report.source_language
            assert row["n_findings"] == len(report.findings)
            assert json.loads(row["findings"]) == [
                finding_dict(f, report.document) for f in report.findings
            ]
            assert row["failed"] == auditor.fails(report)
            assert row["audit_error"] is None
    finally:
        auditor.close()
    assert got["nothing"]["verdict"] is None and "text" in got["nothing"]["audit_error"]


@pytest.mark.skipif(shutil.which("apertium") is None, reason="apertium is not installed")
def test_ray_with_apertium_and_a_cold_cache_equals_jobs_1_byte_for_byte(ray_local, tmp_path):
    """Apertium on, fresh caches: each Ray result line holds the bytes of the document a
    single-process scan reports for that record (shard and line aside)."""
    from mtaudit.distributed.ray_engine import run_ray_scan

    shards = tmp_path / "shards"
    shards.mkdir()
    with (shards / "corpus.jsonl").open("w", encoding="utf-8") as fh:
        for rec in _corpus_records():
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    shutil.copy(CORPORA / "wire-feed.jsonl", shards / "wire-feed.jsonl")

    def options(cache: str) -> AuditOptions:
        return AuditOptions(mt="apertium", mt_cache_dir=str(tmp_path / cache))

    local: dict[tuple[str, int], str] = {}
    auditor = Auditor(options("local-cache"))
    try:
        for item in scan([str(shards)], auditor):
            assert not isinstance(item, InputError)
            data = document_dict(item)
            data["failed"] = auditor.fails(item)
            local[(item.document.path, item.document.meta["line"])] = data
    finally:
        auditor.close()
    out = tmp_path / "out"
    run_ray_scan([str(shards)], out, options("ray-cache"), workers=2, bytes_per_worker=1)
    docs, errors = _results(out)
    assert not errors and sorted(docs) == sorted(local)
    assert any("apertium" in json.dumps(d) for d in local.values())
    for key, expected in local.items():
        # Same keys in the same order, same values: the same bytes once serialised.
        assert json.dumps(docs[key], ensure_ascii=False) == json.dumps(
            expected, ensure_ascii=False
        ), key


def test_a_local_ray_listens_on_loopback_only(ray_local):
    assert {node["NodeManagerAddress"] for node in ray.nodes()} == {"127.0.0.1"}
    assert ray.get_runtime_context().gcs_address.startswith("127.0.0.1:")


def test_the_pool_is_as_big_as_the_work_pays_for(tmp_path):
    from mtaudit.distributed.ray_engine import BYTES_PER_WORKER, pool_size
    from mtaudit.distributed.shards import Shard

    def shards(*sizes: int, fmt: str = "jsonl") -> list[Shard]:
        return [Shard(f"s{i}", f"/s{i}", fmt, n, 0, f"s{i}") for i, n in enumerate(sizes)]

    assert pool_size(shards(1_000, 2_000), workers=8) == 1  # a start-up per actor: one
    assert pool_size(shards(*[BYTES_PER_WORKER] * 3), workers=8) == 3  # one per shard at most
    assert pool_size(shards(*[BYTES_PER_WORKER] * 30), workers=8) == 8  # at most ``workers``
    assert pool_size(shards(5 * BYTES_PER_WORKER), workers=8) == 1  # a shard is one unit
    # Parquet is compressed: the same bytes hold more documents.
    assert pool_size(shards(*[BYTES_PER_WORKER // 2] * 4, fmt="parquet"), workers=8) == 4


def test_a_shard_that_cannot_be_read_fails_alone_with_one_line(ray_local, shards, tmp_path):
    import io

    from mtaudit.distributed.ray_engine import scan_to_directory

    broken = tmp_path / "in" / "broken.parquet"
    broken.parent.mkdir()
    broken.write_bytes(b"PAR1 this is not parquet at all PAR1")
    stream = io.StringIO()
    out = tmp_path / "out"
    inputs = [str(broken.parent), str(shards / "wire-feed.jsonl"), str(tmp_path / "missing")]
    code = scan_to_directory(inputs, str(out), OPTIONS, stream=stream, quiet=True)
    assert code == 2
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2 and "Traceback" not in stream.getvalue()
    assert lines[0].startswith(f"mtaudit: error: {tmp_path / 'missing'}: no such file")
    assert lines[1].startswith(f"mtaudit: error: {broken}: cannot read: ")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["shards"] == {"total": 2, "done": 1, "skipped": 0, "failed": 1}
    assert (out / "wire-feed.jsonl.done").exists() and not (out / "broken.parquet.done").exists()
    assert not _temporary_files(out)


def test_a_retried_shard_is_idempotent_and_a_stranger_writes_nothing(shards, tmp_path):
    """In this process, no Ray: what an actor does when its shard comes round again."""
    from mtaudit.distributed.ray_engine import AuditWorker
    from mtaudit.distributed.shards import discover_shards

    (shard,), _ = discover_shards([str(shards / "sub" / "bad.jsonl")])
    out = tmp_path / "out"
    out.mkdir()
    signature = _signature(OPTIONS)
    worker = AuditWorker(OPTIONS, str(out), signature)
    try:
        first = worker.run_shard(shard)
        assert first["records"] == 5 and first["error"] == ""
        result = out / "bad.jsonl.audit.jsonl"
        data, mtime = result.read_bytes(), result.stat().st_mtime_ns
        again = worker.run_shard(shard)  # committed already: nothing audited or written
        assert again["records"] == 0 and result.stat().st_mtime_ns == mtime
        (out / "bad.jsonl.done").unlink()  # died between the results and the marker
        assert worker.run_shard(shard)["records"] == 5 and result.read_bytes() == data
    finally:
        worker.auditor.close()
    stranger = AuditWorker(OPTIONS, str(tmp_path / "other"), "another-pipeline")
    try:
        row = stranger.run_shard(shard)
    finally:
        stranger.auditor.close()
    assert row["records"] == 0 and row["signature"] == signature
    assert not (tmp_path / "other").exists() or not list((tmp_path / "other").iterdir())


def test_the_cli_runs_and_resumes_a_ray_scan(ray_local, cli, shards, tmp_path):
    """``mtaudit scan --engine ray`` (on the running Ray): results, summary, exit status."""
    out = tmp_path / "out"
    args = ("scan", shards / "corpus.jsonl", shards / "wire-feed.jsonl", "--engine", "ray")
    res = cli(*args, "--output-dir", out, "--mt", "dictionary", "--jobs", "2")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert res.code == (1 if summary["failed_documents"] else 0), res.err
    assert summary["complete"] and summary["shards"]["done"] == 2
    assert "in 2/2 shards (0 already done)" in res.err and "Traceback" not in res.err
    docs, errors = _results(out)
    assert not errors and len(docs) == summary["documents"] == summary["records"]
    again = cli(*args, "--output-dir", out, "--mt", "dictionary", "--jobs", "2")
    assert again.code == res.code and "in 2/2 shards (2 already done)" in again.err
