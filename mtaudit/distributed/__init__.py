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

import os
import resource
import sys
from typing import TYPE_CHECKING, Any

# parse_jsonl_line is re-exported: the Ray engine reads shards with it.
from mtaudit.ingest import make_document, parse_jsonl_line
from mtaudit.model import ExitCode

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

    # No result cache either: a warm-up answered from it would load nothing.
    bare = dataclasses.replace(
        auditor.options, mt=None, known=None, decisions={}, result_cache_dir=None
    )
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
