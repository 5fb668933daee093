"""``mtaudit scan --engine ray``: JSONL/Parquet shards -> per-shard results, on Ray Data.

The shard is the unit of work (:func:`run_ray_scan`):

1. The driver lists the shards (:mod:`mtaudit.distributed.shards`) and skips each whose
   ``OUT/<stem>.done`` marker is current: same input size and mtime, same pipeline
   signature, results with the recorded SHA-256. Running the command again resumes.
2. A Ray Dataset of the other shards, biggest first, goes through ``map_batches`` to a pool
   of :class:`AuditWorker` actors, one shard per call. The pool is no bigger than the work
   pays for (:func:`pool_size`): an actor spends seconds loading lexicons and models.
3. An actor reads its shard, audits each record
   (:func:`mtaudit.distributed.results.document_record`) and writes ``OUT/<stem>.audit.jsonl``,
   then ``OUT/<stem>.done``, each atomically. A shard is complete or absent, and a retried
   one (its actor died) writes the same bytes again: nothing is lost or doubled. ``OUT``
   must therefore be storage that every node sees.
4. The driver totals the markers into ``OUT/summary.json``.

Each result line is the report-v2 document object (plus ``failed``, as in ``--format
json``) with ``shard`` and ``line`` first; a malformed record's line is ``{"shard",
"line", "error": {"path": "SHARD:LINE", "message"}}``. :func:`audit_dataset` is the same
audit as a transform of a user's Dataset.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import socket
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from mtaudit.distributed import apply_env, exit_status, peak_rss_mb, warm_up, worker_env
from mtaudit.distributed.ray_dataset import AUDIT_COLUMNS, ColumnAuditor, audit_dataset, map_actors
from mtaudit.distributed.results import atomic as _atomic
from mtaudit.distributed.results import (
    clear_temporary,
    document_record,
    error_record,
    load_done,
    summary,
    write_shard,
)
from mtaudit.distributed.shards import Shard, discover_shards, read_shard
from mtaudit.ingest import IngestOptions
from mtaudit.model import Document, InputError
from mtaudit.pipeline import AuditOptions, Auditor

# An actor loads for a few seconds before its first document. At ~180 KB of JSONL per
# core-second (bench_scale: 15 ms per 2.7 KB document), 2 MiB is ~12 s of work, so the
# start-up stays under a fifth of an actor's time. Parquet holds ~3x more text per byte.
BYTES_PER_WORKER = 2 << 20
PARQUET_EXPANSION = 3
_RAY_CLUSTER_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"  # see _loopback_only


class RayScanError(RuntimeError):
    """The run could not finish (its summary, with what did finish, is written)."""


class _ShardError(Exception):
    """A shard could not be read; the message says why."""


class AuditWorker:
    """The Ray Data actor: one Auditor per process (loaded once), one shard per call.

    Subclass and override :meth:`audit_record` to inject faults in tests.
    """

    def __init__(
        self,
        options: AuditOptions | None,
        out: str,
        signature: str,
        env: dict[str, str] | None = None,
        include_text: bool = True,
        ingest: IngestOptions | None = None,
    ) -> None:
        apply_env(env)
        self.auditor = Auditor(options)
        self.auditor.preload()
        warm_up(self.auditor)  # lexicon indexes and models load now, not on the first shard
        self.out, self.expected = Path(out), signature
        self.include_text, self.ingest = include_text, ingest
        self.worker = f"{socket.gethostname()}:{os.getpid()}"

    def __call__(self, batch: Any) -> dict[str, list[Any]]:
        rows = [self.run_shard(Shard(**row)) for row in batch.to_pylist()]
        return {k: [r[k] for r in rows] for k in rows[0]} if rows else {}

    def run_shard(self, shard: Shard) -> dict[str, Any]:
        """Audit ``shard`` into its result file and marker, unless they are already there."""
        sig = self.auditor.signature
        row: dict[str, Any] = {"shard": shard.name, "error": "", "records": 0, "signature": sig}
        # A worker with another pipeline writes nothing (the driver stops the run); a retry
        # of a shard already committed does nothing.
        if sig == self.expected and load_done(self.out, shard, sig, self.include_text) is None:
            records = (self._record(shard.name, ln, item) for ln, item in self._items(shard))
            try:
                row["records"] = write_shard(self.out, shard, records, sig, self.include_text)
            except _ShardError as exc:
                row["error"] = str(exc)
            except Exception as exc:  # disk full, permissions: this shard fails, not the run
                row["error"] = f"cannot write its results: {type(exc).__name__}: {exc}"
        # CPU seconds of this actor so far (an Apertium child's are not included).
        row.update(worker=self.worker, peak_mb=peak_rss_mb(), cpu_s=time.process_time())
        return row

    def _items(self, shard: Shard) -> Iterator[tuple[int, Document | InputError]]:
        try:
            yield from read_shard(shard, self.ingest)
        except Exception as exc:  # unreadable, not Parquet, storage down: the shard fails
            raise _ShardError(f"cannot read: {type(exc).__name__}: {exc}") from exc

    def _record(self, shard: str, line: int, item: Document | InputError) -> dict[str, Any]:
        if isinstance(item, Document):
            try:
                return self.audit_record(shard, line, item)
            except Exception as exc:  # a detector bug on one odd record: keep the shard
                item = InputError(f"{shard}:{line}", f"audit failed: {type(exc).__name__}: {exc}")
        return error_record(shard, line, item)

    def audit_record(self, shard: str, line: int, document: Document) -> dict[str, Any]:
        """One record's result line: where it came from, then the document's report."""
        report = document_record(self.auditor, document, self.include_text)
        return {"shard": shard, "line": line, **report}

    def __del__(self) -> None:
        # Best effort: stop an Apertium process when Ray ends the actor gracefully.
        with contextlib.suppress(Exception):
            self.auditor.close()


def pool_size(
    shards: Sequence[Shard], workers: int, bytes_per_worker: int = BYTES_PER_WORKER
) -> int:
    """Actors worth starting: at most ``workers``, one per shard, one per ``bytes_per_worker``."""
    work = sum(s.size * (PARQUET_EXPANSION if s.format == "parquet" else 1) for s in shards)
    return max(1, min(workers, len(shards), work // max(1, bytes_per_worker)))


@contextlib.contextmanager
def ray_session(
    address: str | None = None, num_cpus: int | None = None, quiet: bool = False
) -> Iterator[Any]:
    """Use the running Ray, connect to ``address`` (or $RAY_ADDRESS), or start a local one.

    A local instance started here listens on 127.0.0.1 only and is shut down on exit; a
    cluster we connected to is only disconnected from. ``quiet``: no Ray Data progress
    bars or execution plans.
    """
    import ray
    import ray.data

    ctx, log = ray.data.DataContext.get_current(), logging.getLogger("ray.data")
    bars, level = ctx.enable_progress_bars, log.level
    ctx.enable_progress_bars = not quiet
    if quiet:
        log.setLevel(logging.WARNING)
    started = not ray.is_initialized()
    if started:
        # Ray's INFO lines (log paths, the dashboard) are noise in a CLI run.
        kwargs: dict[str, Any] = {"logging_level": logging.WARNING}
        address = address or os.environ.get("RAY_ADDRESS") or None
        if address:
            ray.init(address=address, **kwargs)
        else:
            from mtaudit.distributed.local import default_jobs

            with _loopback_only():
                ray.init(num_cpus=num_cpus or default_jobs(), include_dashboard=False, **kwargs)
    try:
        yield ray
    finally:
        ctx.enable_progress_bars = bars  # a caller's own Ray session keeps its settings
        log.setLevel(level)
        if started:
            ray.shutdown()


@contextlib.contextmanager
def _loopback_only() -> Iterator[None]:
    """Start Ray's local processes listening on 127.0.0.1, not on every interface.

    Ray resolves ``_node_ip_address="127.0.0.1"`` to the machine's address; only its
    single-machine mode (the macOS and Windows default: ``ENABLE_RAY_CLUSTER`` off) keeps
    loopback. The setting is read when Ray starts (the environment variable by the
    processes it spawns, the constant by this one), then restored.
    """
    from ray._private import ray_constants

    env, flag = os.environ.get(_RAY_CLUSTER_ENV), ray_constants.ENABLE_RAY_CLUSTER
    os.environ[_RAY_CLUSTER_ENV], ray_constants.ENABLE_RAY_CLUSTER = "0", False
    try:
        yield
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = flag
        if env is None:
            os.environ.pop(_RAY_CLUSTER_ENV, None)
        else:
            os.environ[_RAY_CLUSTER_ENV] = env


def _options_of(options: Any) -> AuditOptions:
    """AuditOptions from AuditOptions, an Auditor, or the CLI's AuditorPool (its base)."""
    if options is None or isinstance(options, AuditOptions):
        return options or AuditOptions()
    return getattr(options, "base", options).options  # AuditorPool -> its base Auditor


def run_ray_scan(
    inputs: Sequence[str],
    output_dir: str | os.PathLike[str],
    options: AuditOptions | Any = None,
    ingest: IngestOptions | None = None,
    *,
    address: str | None = None,
    workers: int | None = None,
    include_text: bool = True,
    quiet: bool = True,
    worker_cls: type[AuditWorker] = AuditWorker,
    max_task_retries: int = 3,
    bytes_per_worker: int = BYTES_PER_WORKER,
) -> dict[str, Any]:
    """Audit every shard of ``inputs`` on Ray into ``output_dir``; return the summary.

    Uses the running Ray, ``address`` / ``$RAY_ADDRESS``, or a local instance with
    ``workers`` CPUs. ``workers`` bounds the actor pool (default: the cluster's CPUs),
    which :func:`pool_size` fits to the work. Raises :class:`RayScanError` when the run
    cannot finish; the summary written then lists what did.
    """
    started = time.perf_counter()
    options = _options_of(options)
    out = Path(output_dir).absolute()  # actors may run in another folder
    out.mkdir(parents=True, exist_ok=True)
    driver = Auditor(options)
    try:
        signature = driver.signature
    finally:
        driver.close()
    with _exclusive(out):
        shards, input_errors = discover_shards(inputs, ingest)
        done = {s.name: m for s in shards if (m := load_done(out, s, signature, include_text))}
        todo = sorted((s for s in shards if s.name not in done), key=lambda s: -s.size)
        rows: list[dict[str, Any]] = []
        failure: RayScanError | None = None
        pool = 0
        if todo:
            with ray_session(address, workers, quiet) as ray:
                cpus = int(ray.cluster_resources().get("CPU", 1))
                pool = pool_size(todo, workers or cpus, bytes_per_worker)
                kwargs = dict(
                    options=options,
                    out=str(out),
                    signature=signature,
                    env=worker_env(),
                    include_text=include_text,
                    ingest=ingest,
                )
                items = [dataclasses.asdict(s) for s in todo]
                ds = ray.data.from_items(items, override_num_blocks=len(items))
                mapped = map_actors(
                    ds, worker_cls, kwargs, pool, batch_size=1, max_task_retries=max_task_retries
                )
                try:
                    rows = mapped.take_all()
                except Exception as exc:  # finish the summary, then raise
                    failure = RayScanError(f"the Ray run stopped: {type(exc).__name__}: {exc}")
        stranger = next((r for r in rows if r["signature"] != signature), None)
        if stranger is not None:
            failure = RayScanError(
                f"worker {stranger['worker']} runs a different pipeline ({stranger['signature']})"
                f" than this driver ({signature}); install the same mtaudit on every node"
            )
        failed = {r["shard"]: r["error"] for r in rows if r["error"]}
        for shard in todo:
            marker = load_done(out, shard, signature, include_text)
            if marker is not None:
                done[shard.name] = marker
            elif shard.name not in failed:
                why = "" if failure else " (is --output-dir on storage every Ray node shares?)"
                failed[shard.name] = "results missing after the run" + why
        clear_temporary(out)
        result = summary(shards, done, failed, input_errors, signature, len(shards) - len(todo))
        result["workers"] = {"pool_size": pool, "processes": _workers(rows)}
        result["elapsed_s"] = round(time.perf_counter() - started, 3)
        with _atomic(out / "summary.json") as fh:
            fh.write(json.dumps(result, ensure_ascii=False, indent=1).encode("utf-8"))
    if failure is not None:
        raise failure
    return result


def _workers(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per actor process: records written, peak memory, CPU seconds."""
    workers: dict[str, dict[str, float]] = {}
    for r in rows:
        w = workers.setdefault(r["worker"], {"records": 0, "peak_rss_mb": 0.0, "cpu_s": 0.0})
        w["records"] += r["records"]
        w["peak_rss_mb"] = max(w["peak_rss_mb"], round(r["peak_mb"], 1))
        w["cpu_s"] = max(w["cpu_s"], round(r["cpu_s"], 2))
    return workers


@contextlib.contextmanager
def _exclusive(out: Path) -> Iterator[None]:
    """One run per output folder at a time (two would audit the same shards)."""
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
    try:
        result = run_ray_scan(
            inputs,
            output_dir,
            options,
            ingest,
            address=address,
            workers=workers,
            include_text=include_text,
            # Progress bars only on a terminal; in a log file they are a line per update.
            quiet=quiet or not stream.isatty(),
        )
    except RayScanError as exc:
        print(f"mtaudit: error: {exc}", file=stream)
        return 2
    for err in result["errors"]:
        print(f"mtaudit: error: {err['path']}: {err['message']}", file=stream)
    if result["error_count"] > len(result["errors"]):
        print(f"mtaudit: ... {result['error_count']} errors in all", file=stream)
    if not quiet:
        s, elapsed = result["shards"], result["elapsed_s"]
        rate = (
            f" ({result['records'] / elapsed:.1f} records/s)"
            if elapsed and not s["skipped"]
            else ""
        )
        print(
            f"mtaudit: {result['documents']} documents in {s['done']}/{s['total']} shards "
            f"({s['skipped']} already done), {result['findings']} findings, "
            f"{result['failed_documents']} failing; {elapsed:.1f}s{rate}"
            f" -> {Path(output_dir) / 'summary.json'}",
            file=stream,
        )
    return exit_status(result)


__all__ = [
    "AUDIT_COLUMNS",
    "AuditWorker",
    "ColumnAuditor",
    "RayScanError",
    "Shard",
    "audit_dataset",
    "document_record",
    "discover_shards",
    "pool_size",
    "ray_session",
    "read_shard",
    "run_ray_scan",
    "scan_to_directory",
]
