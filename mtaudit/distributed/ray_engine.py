"""``mtaudit scan --engine ray``: JSONL/Parquet shards -> per-shard results on a Ray cluster.

How a run goes (:func:`run_ray_scan`):

1. **Shards.** Every ``.jsonl``/``.ndjson``/``.parquet`` file under the inputs (local, or
   any ``scheme://`` URI pyarrow's filesystems open: ``s3://``, ``gs://``, ``hdfs://``).
   A shard whose ``OUT/<shard>.done`` marker matches (same input size and mtime, same
   pipeline signature, output file with the recorded SHA-256) is skipped: re-running a
   run that stopped resumes it.
2. **Plan.** A light Ray task (``num_cpus=0``) reads each pending shard once and cuts it
   into chunks of ``chunk_records`` records: byte ranges with their first line number
   (JSONL), row slices of row groups (Parquet). The number of records of each shard is
   now known, which is what makes "no document lost" checkable.
3. **Audit.** One Ray Dataset of chunks per wave of shards, ``map_batches`` with an actor
   pool of ``workers`` :class:`AuditWorker` actors. Each actor builds one Auditor
   (lexicons, LM, back-translation engine load once per worker), reads its chunks from
   storage itself and returns one row per record. Malformed records become error rows
   (``shard:line``), never a failed shard.
4. **Write.** The driver appends each result to a partial file of its shard, drops
   duplicates (a retried task may deliver a chunk twice) by line, and when every record
   of a shard has arrived writes ``OUT/<shard>.audit.jsonl`` (sorted by line) with a
   temporary file and ``os.replace``, then the ``.done`` marker the same way. A shard is
   either complete or absent; ``OUT/summary.json`` totals every shard of the inputs.

Each output line is the report-v2 document object of
:func:`mtaudit.report.serialize.document_dict` (plus ``failed``, as in ``--format json``)
with ``shard`` and ``line`` first; a malformed record's line is
``{"shard", "line", "error": {"path": "SHARD:LINE", "message"}}``.

:func:`audit_dataset` is the same audit as a Dataset transform, for pipelines that already
use Ray.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import socket
import sys
import time
import uuid
import warnings
from collections import Counter, deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path
from typing import IO, Any

from mtaudit.distributed import (
    apply_env,
    exit_status,
    parse_jsonl_line,
    peak_rss_mb,
    warm_up,
    worker_env,
)
from mtaudit.ingest import DEFAULT_INCLUDE, IngestOptions, make_document
from mtaudit.model import CATEGORIES, VERDICTS, Document, InputError, Severity
from mtaudit.pipeline import AuditOptions, Auditor

SUMMARY_SCHEMA = "mtaudit/ray-summary-v1"
SHARD_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}
DEFAULT_CHUNK_RECORDS = 32  # ~1 s of work per actor call: retries stay cheap, load balances
CHUNK_BYTES = 8 << 20  # a chunk never holds more than this much JSONL (memory per call)
SUMMARY_ERRORS = 1000  # summary.json lists the first errors; every shard's are in .done
RESULT_SUFFIX = ".audit.jsonl"
DONE_SUFFIX = ".done"


class RayScanError(RuntimeError):
    """The run could not finish (its summary, with what did finish, is written)."""


# --- shards -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Shard:
    """One input file. ``name`` is what documents' ``path`` says (as a local scan's)."""

    name: str
    uri: str  # what a worker opens: an absolute local path or a scheme:// URI
    format: str  # jsonl | parquet
    size: int
    mtime_ns: int
    stem: str  # its results are OUT/<stem>.audit.jsonl, its marker OUT/<stem>.done


def _is_uri(path: str) -> bool:
    return "://" in path


def discover_shards(
    inputs: Iterable[str], ingest: IngestOptions | None = None
) -> tuple[list[Shard], list[InputError]]:
    """Shards under ``inputs`` (files, folders, URIs, ``@LIST`` files), sorted in a folder.

    Folders are walked as a local scan walks them (hidden folders skipped, sorted), keeping
    files with a shard extension that match ``ingest.include`` (when the user set it) and
    not ``ingest.exclude``. Inputs that cannot be read, or hold no shard, become errors.
    """
    ingest = ingest or IngestOptions()
    found: list[tuple[str, str, str, int, int, str]] = []
    errors: list[InputError] = []
    for raw in _expand_lists(inputs, errors):
        before, failed = len(found), len(errors)
        try:
            if _is_uri(raw):
                found.extend(_discover_uri(raw, ingest))
            else:
                found.extend(_discover_local(raw, ingest, errors))
        except OSError as exc:
            errors.append(InputError(raw, f"cannot list: {exc}"))
        if len(found) == before and len(errors) == failed:
            errors.append(InputError(raw, "no .jsonl, .ndjson or .parquet shards found"))
    shards: list[Shard] = []
    stems: Counter[str] = Counter(f[5] for f in found)
    seen: set[str] = set()
    for name, uri, fmt, size, mtime, stem in found:
        if uri in seen:  # the same file named twice (a folder and a file in it)
            continue
        seen.add(uri)
        if stems[stem] > 1:  # part-0.jsonl in two folders: keep both results apart
            stem = f"{stem}-{hashlib.sha1(uri.encode()).hexdigest()[:8]}"
        shards.append(Shard(name, uri, fmt, size, mtime, stem))
    return shards, errors


def _expand_lists(inputs: Iterable[str], errors: list[InputError]) -> Iterator[str]:
    """Inputs, with ``@FILE`` replaced by the paths FILE lists (one a line, ``#`` comments)."""
    for raw in inputs:
        if not raw.startswith("@"):
            yield raw
            continue
        try:
            lines = Path(raw[1:]).read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            errors.append(InputError(raw[1:], f"cannot read the shard list: {exc.strerror or exc}"))
            continue
        yield from (ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#"))


def _wanted(name: str, rel: str, ingest: IngestOptions) -> bool:
    if Path(name).suffix.lower() not in SHARD_FORMATS:
        return False
    # The scan's default include globs list .txt/.md/... but not .parquet: only globs the
    # user chose filter shards.
    include = () if ingest.include == DEFAULT_INCLUDE else ingest.include
    if include and not any(fnmatch(name, g) or fnmatch(rel, g) for g in include):
        return False
    return not any(fnmatch(name, g) or fnmatch(rel, g) for g in ingest.exclude)


def _discover_local(
    raw: str, ingest: IngestOptions, errors: list[InputError]
) -> Iterator[tuple[str, str, str, int, int, str]]:
    path = Path(raw)
    if path.is_dir():
        for dirpath, dirnames, filenames in os.walk(path):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for fname in sorted(filenames):
                file = Path(dirpath) / fname
                rel = file.relative_to(path).as_posix()
                if _wanted(fname, rel, ingest):
                    yield _local_entry(file, rel)
    elif path.is_file():
        if Path(raw).suffix.lower() not in SHARD_FORMATS:
            errors.append(InputError(raw, "not a shard: expected .jsonl, .ndjson or .parquet"))
            return
        yield _local_entry(path, path.name)
    else:
        errors.append(InputError(raw, "no such file or directory"))


def _local_entry(file: Path, rel: str) -> tuple[str, str, str, int, int, str]:
    st = file.stat()
    fmt = SHARD_FORMATS[file.suffix.lower()]
    return (str(file), os.path.abspath(file), fmt, st.st_size, st.st_mtime_ns, rel)


def _discover_uri(raw: str, ingest: IngestOptions) -> Iterator[tuple[str, str, str, int, int, str]]:
    import pyarrow.fs as pafs

    fs, root = pafs.FileSystem.from_uri(raw)
    scheme = raw.split("://", 1)[0]
    info = fs.get_file_info(root)
    if info.type == pafs.FileType.NotFound:
        raise OSError("no such file or directory")
    if info.type == pafs.FileType.Directory:
        entries = fs.get_file_info(pafs.FileSelector(root, recursive=True))
        for e in sorted(entries, key=lambda e: e.path):
            rel = e.path[len(root.rstrip("/")) + 1 :]
            if e.type == pafs.FileType.File and not any(p.startswith(".") for p in rel.split("/")):
                if _wanted(e.base_name, rel, ingest):
                    yield _uri_entry(scheme, e, rel)
    else:
        yield _uri_entry(scheme, info, info.base_name)


def _uri_entry(scheme: str, info: Any, rel: str) -> tuple[str, str, str, int, int, str]:
    uri = f"{scheme}://{info.path}"
    mtime = info.mtime_ns or 0
    return (uri, uri, SHARD_FORMATS[Path(info.path).suffix.lower()], info.size or 0, mtime, rel)


# --- reading (runs in Ray workers) ------------------------------------------------------


class _RawReader(io.RawIOBase):
    """A pyarrow input stream as a raw Python file, so it can be buffered and iterated."""

    def __init__(self, native: Any) -> None:
        self._native = native

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        return self._native.readinto(buffer)

    def close(self) -> None:
        self._native.close()
        super().close()


def _open_stream(uri: str) -> IO[bytes]:
    if not _is_uri(uri):
        return open(uri, "rb")
    import pyarrow.fs as pafs

    fs, path = pafs.FileSystem.from_uri(uri)
    return io.BufferedReader(_RawReader(fs.open_input_stream(path)), buffer_size=1 << 20)


def _read_range(uri: str, start: int, end: int) -> bytes:
    if not _is_uri(uri):
        with open(uri, "rb") as fh:
            fh.seek(start)
            return fh.read(end - start)
    import pyarrow.fs as pafs

    fs, path = pafs.FileSystem.from_uri(uri)
    with fs.open_input_file(path) as fh:
        data = fh.read_at(end - start, start)
    return data if isinstance(data, bytes) else data.to_pybytes()  # a Buffer in some releases


def _parquet_file(uri: str) -> Any:
    import pyarrow.parquet as pq

    if not _is_uri(uri):
        return pq.ParquetFile(uri)
    import pyarrow.fs as pafs

    fs, path = pafs.FileSystem.from_uri(uri)
    return pq.ParquetFile(fs.open_input_file(path))


def plan_shard(shard: Shard, chunk_records: int = DEFAULT_CHUNK_RECORDS) -> dict[str, Any]:
    """Cut a shard into chunks: ``{"records": N, "chunks": [...]}`` or ``{"error": ...}``.

    A JSONL record is a non-blank line (as :func:`mtaudit.ingest.read_jsonl` counts them);
    a Parquet record is a row, numbered from 1 like a line.
    """
    try:
        if shard.format == "parquet":
            return _plan_parquet(shard, chunk_records)
        return _plan_jsonl(shard, chunk_records)
    except Exception as exc:  # unreadable, not Parquet, permission...: the shard fails alone
        return {"error": f"cannot read: {type(exc).__name__}: {exc}"}


def _plan_jsonl(shard: Shard, chunk_records: int) -> dict[str, Any]:
    chunks: list[dict[str, int]] = []
    total = 0
    start = offset = 0
    first_line = 1
    records = 0
    with _open_stream(shard.uri) as fh:
        for lineno, raw in enumerate(fh, start=1):
            if records == 0 and not raw.strip():
                start, first_line = offset + len(raw), lineno + 1  # no chunk of blank lines
            offset += len(raw)
            if raw.strip():
                records += 1
                if records >= chunk_records or offset - start >= CHUNK_BYTES:
                    chunks.append(_jsonl_chunk(start, offset, first_line, records))
                    total += records
                    start, first_line, records = offset, lineno + 1, 0
    if records:
        chunks.append(_jsonl_chunk(start, offset, first_line, records))
        total += records
    return {"records": total, "chunks": chunks}


def _jsonl_chunk(start: int, end: int, first_line: int, records: int) -> dict[str, int]:
    return {"start": start, "end": end, "first_line": first_line, "records": records}


def _plan_parquet(shard: Shard, chunk_records: int) -> dict[str, Any]:
    meta = _parquet_file(shard.uri).metadata
    chunks: list[dict[str, int]] = []
    row = 0
    for rg in range(meta.num_row_groups):
        n = meta.row_group(rg).num_rows
        for offset in range(0, n, chunk_records):
            length = min(chunk_records, n - offset)
            chunks.append(
                {
                    "row_group": rg,
                    "start": offset,
                    "end": offset + length,
                    "first_line": row + offset + 1,
                    "records": length,
                }
            )
        row += n
    return {"records": row, "chunks": chunks}


def read_chunk(
    chunk: dict[str, Any], ingest: IngestOptions | None = None
) -> Iterator[tuple[int, Document | InputError]]:
    """The records of one chunk as ``(line, Document | InputError)``."""
    name, uri = chunk["shard"], chunk["uri"]
    if chunk["format"] == "parquet":
        pf = _parquet_file(uri)
        table = pf.read_row_group(int(chunk["row_group"]))
        rows = table.slice(int(chunk["start"]), int(chunk["end"]) - int(chunk["start"]))
        for i, record in enumerate(rows.to_pylist()):
            line = int(chunk["first_line"]) + i
            # Through the JSONL rules, so a Parquet row is validated exactly like a line.
            raw = json.dumps(record, ensure_ascii=False, default=str).encode("utf-8")
            item = parse_jsonl_line(raw, name, line, ingest)
            yield line, item if item is not None else InputError(f"{name}:{line}", "empty row")
        return
    data = _read_range(uri, int(chunk["start"]), int(chunk["end"]))
    for i, raw in enumerate(io.BytesIO(data)):
        line = int(chunk["first_line"]) + i
        item = parse_jsonl_line(raw, name, line, ingest)
        if item is not None:
            yield line, item


# --- the audit actor --------------------------------------------------------------------


class AuditWorker:
    """The Ray Data actor: one Auditor per worker, applied to chunks of shards.

    ``__init__`` runs once per actor (and again if Ray restarts it): that is where
    lexicons and language models load. Subclass and override :meth:`audit_record` to
    inject faults in tests.
    """

    def __init__(
        self,
        options: AuditOptions | None,
        env: dict[str, str] | None = None,
        include_text: bool = True,
        ingest: IngestOptions | None = None,
    ) -> None:
        apply_env(env)
        self.auditor = Auditor(options)
        self.auditor.preload()
        warm_up(self.auditor)  # load lexicon indexes and models now, not on the first chunk
        self.signature = self.auditor.signature
        self.include_text = include_text
        self.ingest = ingest
        self.worker = f"{socket.gethostname()}:{os.getpid()}"

    def __call__(self, batch: dict[str, Any]) -> Any:
        import pyarrow as pa

        cols: dict[str, list[Any]] = {k: [] for k in _OUTPUT_COLUMNS}
        keys = list(batch)
        for i in range(len(batch["shard"])):
            chunk = {k: _scalar(batch[k][i]) for k in keys}
            for row in self._chunk_rows(chunk):
                for k in _OUTPUT_COLUMNS:
                    cols[k].append(row.get(k))
        n = len(cols["shard"])
        cols["worker"] = [self.worker] * n
        cols["peak_mb"] = [peak_rss_mb()] * n
        # CPU seconds of this actor process so far (an Apertium child's are not included).
        cols["cpu_s"] = [time.process_time()] * n
        cols["signature"] = [self.signature] * n
        return pa.table(cols, schema=_output_schema())

    def _chunk_rows(self, chunk: dict[str, Any]) -> Iterator[dict[str, Any]]:
        shard = chunk["shard"]
        try:
            records = _retry(lambda: list(read_chunk(chunk, self.ingest)))
        except Exception as exc:  # storage failed three times: the shard fails, not the run
            yield {
                "shard": shard,
                "line": int(chunk["first_line"]),
                "kind": "chunk_error",
                "stats": json.dumps({"message": f"cannot read: {type(exc).__name__}: {exc}"}),
            }
            return
        for line, item in records:
            yield self._record_row(shard, line, item)

    def _record_row(self, shard: str, line: int, item: Document | InputError) -> dict[str, Any]:
        if isinstance(item, Document):
            try:
                return self.audit_record(shard, line, item)
            except Exception as exc:  # a detector bug on one odd record: keep the shard
                item = InputError(f"{shard}:{line}", f"audit failed: {type(exc).__name__}: {exc}")
        error = {"path": item.path, "message": item.message}
        record = {"shard": shard, "line": line, "error": error}
        return {
            "shard": shard,
            "line": line,
            "kind": "error",
            "record": json.dumps(record, ensure_ascii=False),
            "stats": json.dumps(error, ensure_ascii=False),
        }

    def audit_record(self, shard: str, line: int, document: Document) -> dict[str, Any]:
        """Audit one document; the output row (its JSON line and summary counts)."""
        from mtaudit.report.serialize import document_dict

        report = self.auditor.audit(document)
        failed = self.auditor.fails(report)
        record = {"shard": shard, "line": line}
        record.update(document_dict(report, include_text=self.include_text))
        record["failed"] = failed
        stats = {
            "verdict": report.verdict,
            "failed": failed,
            "category": dict(Counter(f.category for f in report.findings)),
            "severity": dict(Counter(f.severity.label for f in report.findings)),
        }
        return {
            "shard": shard,
            "line": line,
            "kind": "document",
            "record": json.dumps(record, ensure_ascii=False),
            "stats": json.dumps(stats),
        }

    def __del__(self) -> None:
        # Best effort: stop an Apertium process when Ray ends the actor gracefully.
        with contextlib.suppress(Exception):
            self.auditor.close()


_OUTPUT_COLUMNS = ("shard", "line", "kind", "record", "stats")


def _output_schema() -> Any:
    import pyarrow as pa

    return pa.schema(
        [
            ("shard", pa.string()),
            ("line", pa.int64()),
            ("kind", pa.string()),
            ("record", pa.large_string()),
            ("stats", pa.string()),
            ("worker", pa.string()),
            ("peak_mb", pa.float64()),
            ("cpu_s", pa.float64()),
            ("signature", pa.string()),
        ]
    )


def _scalar(value: Any) -> Any:
    """A numpy scalar from a batch column as a plain Python value."""
    return value.item() if hasattr(value, "item") else value


def _retry(fn: Any, attempts: int = 3, delay: float = 0.5) -> Any:
    """Call ``fn``; on an OSError (a flaky object store) wait and try again."""
    for attempt in range(attempts):
        try:
            return fn()
        except OSError:
            if attempt == attempts - 1:
                raise
            time.sleep(delay * (2**attempt))
    raise AssertionError("unreachable")


# --- the driver's side: results -> files --------------------------------------------------


def _empty_stats() -> dict[str, Any]:
    return {
        "records": 0,
        "documents": 0,
        "findings": 0,
        "by_category": dict.fromkeys(CATEGORIES, 0),
        "by_severity": {s.label: 0 for s in Severity},
        "by_verdict": dict.fromkeys(VERDICTS, 0),
        "failed_documents": 0,
        "errors": [],
    }


@dataclass
class _Pending:
    """A shard whose results are arriving: a partial file and the lines seen so far."""

    shard: Shard
    expected: int
    part_path: Path
    part: IO[str] | None = None
    seen: set[int] = field(default_factory=set)
    stats: dict[str, Any] = field(default_factory=_empty_stats)
    failure: str | None = None
    duplicates: int = 0


class _Writer:
    """Collects result rows per shard and commits each shard when it is complete."""

    def __init__(self, out: Path, signature: str, include_text: bool, run_id: str) -> None:
        self.out = out
        self.signature = signature
        self.include_text = include_text
        self.partial = out / ".partial"
        self.partial.mkdir(parents=True, exist_ok=True)
        self.run_id = run_id
        self.pending: dict[str, _Pending] = {}
        self.failed: dict[str, str] = {}  # shard name -> why it is not done
        self.workers: dict[str, dict[str, float]] = {}
        self.duplicates = 0

    def expect(self, shard: Shard, records: int) -> None:
        part = self.partial / f"{shard.stem.replace('/', '__')}.{self.run_id}.part"
        self.pending[shard.name] = _Pending(shard, records, part)
        if records == 0:
            self._commit(self.pending.pop(shard.name))

    def add_batch(self, table: Any) -> None:
        cols = table.to_pydict()
        for i, worker in enumerate(cols["worker"]):
            if cols["signature"][i] != self.signature:
                raise RayScanError(
                    f"worker {worker} runs a different pipeline ({cols['signature'][i]}) than "
                    f"this driver ({self.signature}); install the same mtaudit on every node"
                )
            w = self.workers.setdefault(worker, {"records": 0, "peak_rss_mb": 0.0, "cpu_s": 0.0})
            w["records"] += 1
            w["peak_rss_mb"] = max(w["peak_rss_mb"], round(cols["peak_mb"][i], 1))
            w["cpu_s"] = max(w["cpu_s"], round(cols["cpu_s"][i], 2))
            self._add(
                cols["shard"][i],
                cols["line"][i],
                cols["kind"][i],
                cols["record"][i],
                cols["stats"][i],
            )

    def _add(self, name: str, line: int, kind: str, record: str | None, stats: str) -> None:
        p = self.pending.get(name)
        if p is None:
            self.duplicates += 1  # a late copy of a shard already committed
            return
        if kind == "chunk_error":
            p.failure = json.loads(stats)["message"]
            return
        if line in p.seen:
            p.duplicates += 1
            self.duplicates += 1
            return
        p.seen.add(line)
        if p.part is None:
            p.part = p.part_path.open("a", encoding="utf-8", newline="\n")
        # The line number first, so committing can sort without parsing JSON.
        p.part.write(f"{line}\t{record}\n")
        s = p.stats
        s["records"] += 1
        data = json.loads(stats)
        if kind == "error":
            s["errors"].append(data)
        else:
            s["documents"] += 1
            s["by_verdict"][data["verdict"]] = s["by_verdict"].get(data["verdict"], 0) + 1
            s["failed_documents"] += int(data["failed"])
            for cat, n in data["category"].items():
                s["by_category"][cat] = s["by_category"].get(cat, 0) + n
                s["findings"] += n
            for sev, n in data["severity"].items():
                s["by_severity"][sev] = s["by_severity"].get(sev, 0) + n
        if len(p.seen) == p.expected and p.failure is None:
            self._commit(self.pending.pop(name))

    def _commit(self, p: _Pending) -> None:
        """Sorted results, then the marker; each appears whole or not at all."""
        lines: list[tuple[int, str]] = []
        if p.part is not None:
            p.part.close()
            with p.part_path.open(encoding="utf-8") as fh:
                for raw in fh:
                    num, _, rest = raw.partition("\t")
                    lines.append((int(num), rest))
        lines.sort(key=lambda x: x[0])
        result = self.out / (p.shard.stem + RESULT_SUFFIX)
        digest = hashlib.sha256()
        with _atomic(result) as fh:
            for _, rest in lines:
                data = rest.encode("utf-8")
                digest.update(data)
                fh.write(data)
        p.stats["errors"].sort(key=lambda e: _line_of(e["path"]))
        marker = {
            "shard": p.shard.name,
            "uri": p.shard.uri,
            "input": {"size": p.shard.size, "mtime_ns": p.shard.mtime_ns},
            "signature": self.signature,
            "include_text": self.include_text,
            "output": {"path": result.name, "sha256": digest.hexdigest(), "lines": len(lines)},
            **p.stats,
        }
        with _atomic(self.out / (p.shard.stem + DONE_SUFFIX)) as fh:
            fh.write(json.dumps(marker, ensure_ascii=False, indent=1).encode("utf-8"))
        with contextlib.suppress(FileNotFoundError):
            p.part_path.unlink()

    def fail_open(self, why: str) -> None:
        """Shards still pending at the end: not committed, reported, retried next run."""
        for name, p in self.pending.items():
            if p.part is not None:
                p.part.close()
            with contextlib.suppress(FileNotFoundError):
                p.part_path.unlink()
            self.failed[name] = p.failure or (
                f"{why}: {len(p.seen)} of {p.expected} records arrived"
            )
        self.pending.clear()


def _line_of(path: str) -> int:
    tail = path.rpartition(":")[2]
    return int(tail) if tail.isdigit() else 0


@contextlib.contextmanager
def _atomic(path: Path) -> Iterator[IO[bytes]]:
    """Write ``path`` as :class:`~mtaudit.atomicfile.AtomicOutput` does: a temporary file
    beside it, fsync, ``os.replace`` (in place for a device or FIFO, never replacing one)."""
    from mtaudit.atomicfile import AtomicOutput

    out = AtomicOutput(path, binary=True)
    try:
        yield out.stream
    except BaseException:
        out.abort()
        raise
    out.commit()


def _load_done(out: Path, shard: Shard, signature: str, include_text: bool) -> dict | None:
    """The shard's marker if its results are complete and current, else None."""
    try:
        marker = json.loads((out / (shard.stem + DONE_SUFFIX)).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if (
        marker.get("shard") != shard.name
        or marker.get("input") != {"size": shard.size, "mtime_ns": shard.mtime_ns}
        or marker.get("signature") != signature
        or marker.get("include_text") != include_text
    ):
        return None
    result = out / (shard.stem + RESULT_SUFFIX)
    digest = hashlib.sha256()
    try:
        with result.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    return marker if digest.hexdigest() == marker.get("output", {}).get("sha256") else None


# --- running ------------------------------------------------------------------------------


def _options_of(options: Any) -> AuditOptions:
    """AuditOptions from AuditOptions, an Auditor, or the CLI's AuditorPool (its base)."""
    if options is None:
        return AuditOptions()
    if isinstance(options, AuditOptions):
        return options
    base = getattr(options, "base", options)  # AuditorPool -> its base Auditor
    return base.options


@contextlib.contextmanager
def ray_session(
    address: str | None = None, num_cpus: int | None = None, quiet: bool = False
) -> Iterator[Any]:
    """Use the running Ray, connect to ``address`` (or $RAY_ADDRESS), or start a local one.

    A local instance started here is shut down on exit; a cluster we connected to is only
    disconnected from.
    """
    import ray

    if ray.is_initialized():
        yield ray
        return
    address = address or os.environ.get("RAY_ADDRESS") or None
    # Ray's INFO lines (execution plans, log paths) are noise in a CLI run.
    kwargs: dict[str, Any] = {"logging_level": logging.WARNING}
    if address:
        ray.init(address=address, **kwargs)
    else:
        from mtaudit.distributed.local import default_jobs

        ray.init(num_cpus=num_cpus or default_jobs(), include_dashboard=False, **kwargs)
    try:
        yield ray
    finally:
        ray.shutdown()


def run_ray_scan(
    inputs: Sequence[str],
    output_dir: str | os.PathLike[str],
    options: AuditOptions | Any = None,
    ingest: IngestOptions | None = None,
    *,
    address: str | None = None,
    workers: int | None = None,
    include_text: bool = True,
    chunk_records: int = DEFAULT_CHUNK_RECORDS,
    quiet: bool = True,
    worker_cls: type[AuditWorker] = AuditWorker,
    max_task_retries: int = 3,
) -> dict[str, Any]:
    """Audit every shard of ``inputs`` on Ray into ``output_dir``; return the summary.

    Connects to the running Ray (``ray.init`` done by the caller), to ``address`` /
    ``$RAY_ADDRESS``, or starts a local instance with ``workers`` CPUs. ``workers`` is
    the actor pool size (default: every CPU of the cluster). Shards already done with the
    same pipeline are skipped. Raises :class:`RayScanError` when the run cannot finish;
    the summary written then lists what did.
    """
    started = time.perf_counter()
    options = _options_of(options)
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    driver = Auditor(options)
    try:
        signature = driver.signature
    finally:
        driver.close()
    with _exclusive(out):
        shards, input_errors = discover_shards(inputs, ingest)
        done: dict[str, dict] = {}
        todo: list[Shard] = []
        for shard in shards:
            marker = _load_done(out, shard, signature, include_text)
            if marker is not None:
                done[shard.name] = marker
            else:
                todo.append(shard)
        writer = _Writer(out, signature, include_text, uuid.uuid4().hex[:8])
        _clear_stale_partials(writer.partial)
        failure: BaseException | None = None
        pool_size = 0
        if todo:
            with ray_session(address, workers, quiet) as ray:
                pool_size = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
                run = _RunSettings(
                    options,
                    ingest,
                    pool_size,
                    include_text,
                    chunk_records,
                    quiet,
                    worker_cls,
                    max_task_retries,
                )
                try:
                    _run_waves(ray, todo, writer, run)
                except Exception as exc:  # finish the summary, then raise
                    failure = exc
                    writer.fail_open(f"run stopped ({type(exc).__name__}: {exc})")
        for shard in shards:
            if shard.name not in done and shard.name not in writer.failed:
                marker = _load_done(out, shard, signature, include_text)
                if marker is not None:
                    done[shard.name] = marker
                else:
                    writer.failed.setdefault(shard.name, "results missing after the run")
        summary = _summary(
            shards,
            done,
            writer,
            input_errors,
            signature,
            pool_size,
            len(shards) - len(todo),
            time.perf_counter() - started,
        )
        with _atomic(out / "summary.json") as fh:
            fh.write(json.dumps(summary, ensure_ascii=False, indent=1).encode("utf-8"))
    if isinstance(failure, RayScanError):
        raise failure
    if failure is not None:
        raise RayScanError(f"the Ray run stopped: {type(failure).__name__}: {failure}") from failure
    return summary


@dataclass(frozen=True)
class _RunSettings:
    options: AuditOptions
    ingest: IngestOptions | None
    pool_size: int
    include_text: bool
    chunk_records: int
    quiet: bool
    worker_cls: type[AuditWorker]
    max_task_retries: int


def _run_waves(ray: Any, todo: list[Shard], writer: _Writer, run: _RunSettings) -> None:
    """Plan shards a little ahead and audit them one wave of chunks at a time.

    A wave bounds the driver's memory for chunk descriptions on huge runs; it holds about
    200 chunks per worker, so the actor pool's start-up (seconds) is paid rarely.
    """
    import ray.data

    remote_plan = ray.remote(num_cpus=0, max_retries=3)(plan_shard)

    def plan(shard: Shard) -> Any:
        # A local file is planned here (one sequential read, far cheaper than starting a
        # worker process); a remote one by a task near the data, in the background.
        if _is_uri(shard.uri):
            return remote_plan.remote(shard, run.chunk_records)
        return plan_shard(shard, run.chunk_records)

    lookahead = max(8, 2 * run.pool_size)
    budget = max(2_000, 200 * run.pool_size)
    queue = deque(todo)
    planned: deque[tuple[Shard, Any]] = deque()
    constructor = dict(
        options=run.options, env=worker_env(), include_text=run.include_text, ingest=run.ingest
    )
    ctx = ray.data.DataContext.get_current()
    bars, ctx.enable_progress_bars = ctx.enable_progress_bars, not run.quiet
    # Ray Data logs each execution's plan and progress at INFO: noise unless asked for.
    data_log = logging.getLogger("ray.data")
    level = data_log.level
    if run.quiet:
        data_log.setLevel(logging.WARNING)
    try:
        while queue or planned:
            chunks: list[dict[str, Any]] = []
            while (queue or planned) and len(chunks) < budget:
                while queue and len(planned) < lookahead:
                    shard = queue.popleft()
                    planned.append((shard, plan(shard)))
                shard, ref = planned.popleft()
                result = ref if isinstance(ref, dict) else ray.get(ref)
                if "error" in result:
                    writer.failed[shard.name] = result["error"]
                    continue
                writer.expect(shard, result["records"])
                for c in result["chunks"]:
                    chunks.append(
                        {
                            "shard": shard.name,
                            "uri": shard.uri,
                            "format": shard.format,
                            "row_group": c.get("row_group", -1),
                            **c,
                        }
                    )
            if not chunks:
                continue
            ds = ray.data.from_items(chunks, override_num_blocks=len(chunks))
            results = _map_audit(
                ds,
                run.worker_cls,
                constructor,
                min(run.pool_size, len(chunks)),
                batch_size=1,  # one chunk per call: a retry redoes one chunk only
                max_task_retries=run.max_task_retries,
            )
            for table in results.iter_batches(batch_size=None, batch_format="pyarrow"):
                writer.add_batch(table)
            writer.fail_open("missing results")
    finally:
        ctx.enable_progress_bars = bars  # a caller's own Ray session keeps its settings
        data_log.setLevel(level)


def _map_audit(
    ds: Any,
    worker_cls: type,
    constructor_kwargs: dict[str, Any],
    pool: int | tuple[int, int],
    *,
    batch_size: int,
    max_task_retries: int = 3,
    num_cpus: float = 1.0,
    batch_format: str = "numpy",
) -> Any:
    """``map_batches`` with an actor pool of ``pool`` actors (or ``(min, max)``).

    ``compute=ActorPoolStrategy(...)`` works from Ray 2.9 to 2.60 (2.51 deprecated
    ``concurrency=``). Actors restart without limit (a node lost); a call is retried
    ``max_task_retries`` times (a worker killed mid-call).
    """
    import ray.data

    kwargs: dict[str, Any] = dict(
        fn_constructor_kwargs=constructor_kwargs,
        batch_size=batch_size,
        batch_format=batch_format,
        num_cpus=num_cpus,
        max_restarts=-1,
        max_task_retries=max_task_retries,
    )
    lo, hi = pool if isinstance(pool, tuple) else (pool, pool)
    strategy = ray.data.ActorPoolStrategy(min_size=lo, max_size=hi)
    with warnings.catch_warnings():
        # Ray 2.60 deprecates passing max_restarts/max_task_retries as remote args but has
        # no named parameter for them yet; without them a crashing record retries forever.
        warnings.filterwarnings("ignore", message=".*ray_remote_args.*deprecated")
        return ds.map_batches(worker_cls, compute=strategy, **kwargs)


@contextlib.contextmanager
def _exclusive(out: Path) -> Iterator[None]:
    """One run per output folder at a time (two would commit the same shards)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no advisory locks, trust the user
        yield
        return
    with (out / ".lock").open("w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise RayScanError(f"{out}: another run is writing this folder") from None
        yield


def _clear_stale_partials(folder: Path) -> None:
    """Partial files of an interrupted run: incomplete by definition, redone now."""
    for stale in folder.glob("*.part"):
        with contextlib.suppress(OSError):
            stale.unlink()


def _summary(
    shards: list[Shard],
    done: dict[str, dict],
    writer: _Writer,
    input_errors: list[InputError],
    signature: str,
    pool_size: int,
    skipped: int,
    elapsed: float,
) -> dict[str, Any]:
    total = _empty_stats()
    errors: list[dict[str, str]] = [{"path": e.path, "message": e.message} for e in input_errors]
    for shard in shards:
        marker = done.get(shard.name)
        if marker is None:
            errors.append({"path": shard.name, "message": writer.failed.get(shard.name, "?")})
            continue
        for key in ("records", "documents", "findings", "failed_documents"):
            total[key] += marker.get(key, 0)
        for key in ("by_category", "by_severity", "by_verdict"):
            for k, n in marker.get(key, {}).items():
                total[key][k] = total[key].get(k, 0) + n
        errors.extend(marker.get("errors", ()))
    total.pop("errors")
    return {
        "schema": SUMMARY_SCHEMA,
        "signature": signature,
        "engine": "ray",
        "complete": len(done) == len(shards) and not input_errors,
        "shards": {
            "total": len(shards),
            "done": len(done),
            "skipped": skipped,
            "failed": len(shards) - len(done),
        },
        **total,
        "error_count": len(errors),
        "errors": errors[:SUMMARY_ERRORS],
        "duplicates_dropped": writer.duplicates,
        "workers": {"pool_size": pool_size, "processes": writer.workers},
        "elapsed_s": round(elapsed, 3),
    }


# --- the Dataset API ----------------------------------------------------------------------


class ColumnAuditor:
    """Actor for :func:`audit_dataset`: adds audit columns to batches of a user Dataset."""

    def __init__(
        self,
        options: AuditOptions | None,
        env: dict[str, str] | None,
        text_column: str,
        id_column: str | None,
        format_column: str | None,
    ) -> None:
        apply_env(env)
        self.auditor = Auditor(options)
        self.auditor.preload()
        warm_up(self.auditor)
        self.text_column = text_column
        self.id_column = id_column
        self.format_column = format_column

    def __call__(self, table: Any) -> Any:
        import pyarrow as pa

        from mtaudit.report.serialize import finding_dict

        texts = table.column(self.text_column).to_pylist()
        ids = _column_or_none(table, self.id_column, len(texts))
        fmts = _column_or_none(table, self.format_column, len(texts))
        out: dict[str, list[Any]] = {k: [] for k in AUDIT_COLUMNS}
        for text, rid, fmt in zip(texts, ids, fmts, strict=True):
            doc_id = "" if rid is None else str(rid)
            report, error = None, None
            if not isinstance(text, str):
                error = f"missing or non-string '{self.text_column}'"
            else:
                try:
                    fmt = fmt if fmt in ("text", "markdown", "html") else "text"
                    doc = make_document(text, doc_id, fmt, doc_id)
                    report = self.auditor.audit(doc)
                except Exception as exc:  # one odd row must not fail the dataset
                    error = f"audit failed: {type(exc).__name__}: {exc}"
            if report is None:
                for k in AUDIT_COLUMNS:
                    out[k].append(None)
                out["audit_error"][-1] = error
                continue
            findings = [finding_dict(f, report.document) for f in report.findings]
            out["mt_probability"].append(report.mt_probability)
            out["translated_probability"].append(report.translated_probability)
            out["verdict"].append(report.verdict)
            out["reasons"].append(json.dumps(report.reasons, ensure_ascii=False))
            out["source_language"].append(report.source_language)
            out["n_findings"].append(len(findings))
            out["findings"].append(json.dumps(findings, ensure_ascii=False))
            out["failed"].append(self.auditor.fails(report))
            out["audit_error"].append(None)
        types = {
            "mt_probability": pa.float64(),
            "translated_probability": pa.float64(),
            "verdict": pa.string(),
            "reasons": pa.string(),
            "source_language": pa.string(),
            "n_findings": pa.int32(),
            "findings": pa.large_string(),
            "failed": pa.bool_(),
            "audit_error": pa.string(),
        }
        for k in AUDIT_COLUMNS:
            arr = pa.array(out[k], type=types[k])
            idx = table.schema.get_field_index(k)
            table = table.set_column(idx, k, arr) if idx >= 0 else table.append_column(k, arr)
        return table

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.auditor.close()


#: Columns :func:`audit_dataset` adds (``findings``: a JSON list of report-v2 findings).
AUDIT_COLUMNS = (
    "mt_probability",
    "translated_probability",
    "verdict",
    "reasons",
    "source_language",
    "n_findings",
    "findings",
    "failed",
    "audit_error",
)


def _column_or_none(table: Any, name: str | None, n: int) -> list[Any]:
    if name and name in table.column_names:
        return table.column(name).to_pylist()
    return [None] * n


def audit_dataset(
    ds: Any,
    text_column: str = "text",
    id_column: str | None = "id",
    options: AuditOptions | None = None,
    concurrency: int | tuple[int, int] | None = None,
    *,
    format_column: str | None = None,
    batch_size: int = 16,
    num_cpus: float = 1.0,
) -> Any:
    """``ds`` with audit columns added (lazily, like any Ray Data transform).

    Adds ``mt_probability``, ``translated_probability``, ``verdict``, ``reasons`` (a JSON
    list of strings), ``source_language``, ``n_findings``, ``findings`` (a JSON list of
    report-v2 finding objects), ``failed`` (the gate) and
    ``audit_error`` (why a row was not audited: non-string text, ...; null otherwise).
    ``concurrency`` is the actor pool size, or ``(min, max)`` to autoscale; by default one
    actor per cluster CPU but one, so upstream read tasks always find a CPU.
    """
    import ray

    if concurrency is None:
        cpus = int(ray.cluster_resources().get("CPU", 2)) if ray.is_initialized() else 2
        concurrency = max(1, cpus - 1)
    kwargs = dict(
        options=options,
        env=worker_env(),
        text_column=text_column,
        id_column=id_column,
        format_column=format_column,
    )
    return _map_audit(
        ds,
        ColumnAuditor,
        kwargs,
        concurrency,
        batch_size=batch_size,
        num_cpus=num_cpus,
        batch_format="pyarrow",
    )


# --- the CLI entry ------------------------------------------------------------------------


def scan_to_directory(
    inputs: Sequence[str],
    output_dir: str,
    options: AuditOptions | Any = None,
    ingest: IngestOptions | None = None,
    *,
    address: str | None = None,
    workers: int | None = None,
    include_text: bool = True,
    quiet: bool = False,
    stream: IO[str] | None = None,
) -> int:
    """``mtaudit scan --engine ray``: run, print a short summary on stderr, return the status."""
    stream = stream or sys.stderr
    # Progress bars only on a terminal; in a log file they are a line per update.
    quiet_ray = quiet or not stream.isatty()
    try:
        summary = run_ray_scan(
            inputs,
            output_dir,
            options,
            ingest,
            address=address,
            workers=workers,
            include_text=include_text,
            quiet=quiet_ray,
        )
    except RayScanError as exc:
        print(f"mtaudit: error: {exc}", file=stream)
        return 2
    for err in summary["errors"]:
        print(f"mtaudit: error: {err['path']}: {err['message']}", file=stream)
    if summary["error_count"] > len(summary["errors"]):
        print(f"mtaudit: ... {summary['error_count']} errors in all", file=stream)
    if not quiet:
        s = summary["shards"]
        rate = summary["records"] / summary["elapsed_s"] if summary["elapsed_s"] else 0.0
        print(
            f"mtaudit: {summary['documents']} documents in {s['done']}/{s['total']} shards "
            f"({s['skipped']} already done), {summary['findings']} findings, "
            f"{summary['failed_documents']} failing; {summary['elapsed_s']:.1f}s"
            + (f" ({rate:.1f} records/s)" if s["skipped"] == 0 else "")
            + f" -> {Path(output_dir) / 'summary.json'}",
            file=stream,
        )
    return exit_status(summary)


__all__ = [
    "AUDIT_COLUMNS",
    "AuditWorker",
    "ColumnAuditor",
    "RayScanError",
    "Shard",
    "audit_dataset",
    "discover_shards",
    "plan_shard",
    "read_chunk",
    "ray_session",
    "run_ray_scan",
    "scan_to_directory",
]
