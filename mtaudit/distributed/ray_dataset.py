"""The audit as a Ray Data transform: :func:`audit_dataset` adds audit columns to a Dataset.

Also :func:`map_actors`, the ``map_batches`` call on an actor pool that the shard engine
(:mod:`mtaudit.distributed.ray_engine`) uses too.
"""

from __future__ import annotations

import contextlib
import json
import warnings
from typing import Any

from mtaudit.distributed import apply_env, warm_up, worker_env
from mtaudit.distributed.results import document_record
from mtaudit.ingest import make_document
from mtaudit.pipeline import AuditOptions, Auditor

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
_TYPES = {
    "mt_probability": "float64",
    "translated_probability": "float64",
    "n_findings": "int32",
    "findings": "large_string",
    "failed": "bool_",
}


def map_actors(
    ds: Any, cls: type, kwargs: dict[str, Any], pool: int | tuple[int, int], **options: Any
) -> Any:
    """``ds.map_batches(cls)`` on ``pool`` actors (or ``(min, max)``), restarted if they die.

    One call in flight per actor, so no batch waits behind another while an actor idles;
    a call is retried ``max_task_retries`` times (a worker killed mid-call).
    """
    import ray.data

    lo, hi = pool if isinstance(pool, tuple) else (pool, pool)
    strategy = ray.data.ActorPoolStrategy(min_size=lo, max_size=hi, max_tasks_in_flight_per_actor=1)
    options.setdefault("num_cpus", 1.0)
    options.setdefault("max_task_retries", 3)
    with warnings.catch_warnings():
        # Ray 2.60 deprecates max_restarts/max_task_retries as remote args but has no named
        # parameter for them yet; without them a crashing record retries forever.
        warnings.filterwarnings("ignore", message=".*ray_remote_args.*deprecated")
        return ds.map_batches(
            cls,
            compute=strategy,
            fn_constructor_kwargs=kwargs,
            batch_format="pyarrow",
            max_restarts=-1,
            **options,
        )


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

        texts = table.column(self.text_column).to_pylist()
        ids, fmts = (_column(table, c, len(texts)) for c in (self.id_column, self.format_column))
        rows = [self.columns(*row) for row in zip(texts, ids, fmts, strict=True)]
        for k in AUDIT_COLUMNS:
            arr = pa.array([r.get(k) for r in rows], type=getattr(pa, _TYPES.get(k, "string"))())
            idx = table.schema.get_field_index(k)
            table = table.set_column(idx, k, arr) if idx >= 0 else table.append_column(k, arr)
        return table

    def columns(self, text: Any, rid: Any, fmt: Any) -> dict[str, Any]:
        """One row's audit columns (only ``audit_error`` when it could not be audited)."""
        if not isinstance(text, str):
            return {"audit_error": f"missing or non-string '{self.text_column}'"}
        doc_id = "" if rid is None else str(rid)
        fmt = fmt if fmt in ("text", "markdown", "html") else "text"
        try:
            doc = make_document(text, doc_id, fmt, doc_id)
            record = document_record(self.auditor, doc, include_text=False)
        except Exception as exc:  # one odd row must not fail the dataset
            return {"audit_error": f"audit failed: {type(exc).__name__}: {exc}"}
        return {
            **{k: record[k] for k in ("mt_probability", "translated_probability", "verdict")},
            "reasons": json.dumps(record["reasons"], ensure_ascii=False),
            "source_language": record["source_language"],
            "n_findings": len(record["findings"]),
            "findings": json.dumps(record["findings"], ensure_ascii=False),
            "failed": record["failed"],
        }

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.auditor.close()


def _column(table: Any, name: str | None, n: int) -> list[Any]:
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
    report-v2 finding objects), ``failed`` (the gate) and ``audit_error`` (why a row was
    not audited: non-string text, ...; null otherwise). ``concurrency`` is the actor pool
    size, or ``(min, max)`` to autoscale; by default one actor per cluster CPU but one, so
    upstream read tasks always find a CPU.
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
    return map_actors(
        ds, ColumnAuditor, kwargs, concurrency, batch_size=batch_size, num_cpus=num_cpus
    )
