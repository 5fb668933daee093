"""Scale-out: many processes on one machine (``--jobs``) or a Ray cluster (``--engine ray``).

Both run the same :class:`mtaudit.pipeline.Auditor` once per worker process, so a document
gets exactly the answer a single-process scan gives it. This module holds what both
engines share and imports neither multiprocessing pools nor Ray: ``import mtaudit`` stays
cheap, and Ray is only needed for the ``mtaudit[ray]`` extra.

- :func:`iter_reports_parallel` (:mod:`.local`): a drop-in for :func:`mtaudit.pipeline.scan`
  that audits on ``jobs`` processes and yields results in input order.
- :func:`run_ray_scan` / :func:`audit_dataset` (:mod:`.ray_engine`): JSONL/Parquet shards
  to per-shard result files, and audit columns for an existing ``ray.data.Dataset``.
"""

from __future__ import annotations

import json
import os
import resource
import sys
from typing import TYPE_CHECKING, Any

from mtaudit.ingest import IngestOptions, make_document
from mtaudit.model import Document, ExitCode, InputError

if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from mtaudit.distributed.local import iter_reports_parallel
    from mtaudit.distributed.ray_engine import audit_dataset, run_ray_scan

__all__ = [
    "audit_dataset",
    "exit_status",
    "iter_reports_parallel",
    "parse_jsonl_line",
    "peak_rss_mb",
    "run_ray_scan",
    "worker_env",
]

# Environment a worker needs to behave like the driver: the translation cache location
# (tests point it at a temporary folder) and anything else mtaudit reads from MTAUDIT_*.
_ENV_PREFIX = "MTAUDIT_"


def worker_env() -> dict[str, str]:
    """The driver's ``MTAUDIT_*`` settings, to re-apply in worker processes.

    Workers may be forked from a server started earlier (multiprocessing's forkserver)
    or live on other machines (Ray), so they cannot rely on inheriting the current
    environment.
    """
    return {k: v for k, v in os.environ.items() if k.startswith(_ENV_PREFIX)}


def apply_env(env: dict[str, str] | None) -> None:
    """Set ``env`` in this (worker) process."""
    for key, value in (env or {}).items():
        os.environ[key] = value


# Enough prose to make every detector build its indexes and load its models.
WARM_UP_TEXT = (
    "The minister said on Tuesday that the aforementioned sources had confirmed the plan. "
    "It is a hot potato, and the council will take a decision in the coming weeks.\n\n"
    "Residents, who asked not to be named, said the water restrictions were excessive."
)


def warm_up(auditor: Any) -> None:
    """Load everything ``auditor``'s detectors load lazily (lexicon indexes, models).

    Audits a short text with a bare Auditor sharing ``auditor``'s detector context: no
    back-translation engine is started and no review decision applies, so the warm-up
    touches nothing but the caches that every later document would fill anyway.
    """
    import dataclasses

    from mtaudit.pipeline import Auditor

    bare = dataclasses.replace(auditor.options, mt=None, known=None, decisions={})
    Auditor(bare, context=auditor.context).audit(make_document(WARM_UP_TEXT, "<warm-up>", "text"))


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MB (VmHWM; ru_maxrss where /proc is absent)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # ru_maxrss is KiB on Linux but bytes on macOS.
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def parse_jsonl_line(
    raw: bytes, name: str, lineno: int, options: IngestOptions | None = None
) -> Document | InputError | None:
    """One JSONL line -> a Document, an InputError naming ``name:LINENO``, or None if blank.

    The same rules, ids and messages as :func:`mtaudit.ingest.read_jsonl` (the tests
    compare the two line by line); it exists because a shard is read in chunks that start
    mid-file, and ids of records without an ``id`` embed the absolute line number.
    """
    options = options or IngestOptions()
    where = f"{name}:{lineno}"
    if not raw.strip():
        return None
    if len(raw) > options.max_bytes:
        return InputError(where, f"line is over the {options.max_bytes / 1e6:.0f} MB limit")
    try:
        record = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return InputError(where, f"invalid UTF-8 at byte {exc.start} of the line")
    except json.JSONDecodeError as exc:
        return InputError(where, f"malformed JSON: {exc.msg} (column {exc.colno})")
    if not isinstance(record, dict):
        return InputError(where, "each line must be a JSON object with a 'text' field")
    text = record.get("text")
    if not isinstance(text, str):
        return InputError(where, "missing or non-string 'text' field")
    rid = record.get("id")
    doc_id = str(rid) if isinstance(rid, (str, int)) and rid != "" else where
    meta = {k: v for k, v in record.items() if k not in ("text", "id")}
    meta["line"] = lineno
    fmt = record.get("format", "text")
    try:
        return make_document(
            text, name, fmt if fmt in ("text", "markdown", "html") else "text", doc_id, meta
        )
    except ValueError as exc:
        return InputError(where, str(exc))


def exit_status(summary: dict[str, Any]) -> int:
    """The scan's exit status for a run summary (same contract as ``mtaudit scan``)."""
    if summary.get("error_count", len(summary.get("errors", ()))):
        return ExitCode.USAGE
    return ExitCode.FINDINGS if summary.get("failed_documents") else ExitCode.OK


def __getattr__(name: str) -> Any:
    # Lazy: the pool and Ray engines import heavy modules only when asked for.
    if name == "iter_reports_parallel":
        from mtaudit.distributed.local import iter_reports_parallel

        return iter_reports_parallel
    if name in ("audit_dataset", "run_ray_scan"):
        from mtaudit.distributed import ray_engine

        return getattr(ray_engine, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
