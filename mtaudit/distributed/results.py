"""A shard's results on disk: ``OUT/<stem>.audit.jsonl``, its ``.done`` marker, the summary.

No Ray here: what the Ray actors write and the driver reads, each file atomic
(:class:`mtaudit.atomicfile.AtomicOutput`), so a shard's results are complete or absent
and a shard done twice (a retried task) writes the same bytes twice.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from mtaudit.distributed.shards import Shard
from mtaudit.model import CATEGORIES, VERDICTS, Document, InputError, Severity

SUMMARY_SCHEMA = "mtaudit/ray-summary-v1"
RESULT_SUFFIX = ".audit.jsonl"
DONE_SUFFIX = ".done"
SUMMARY_ERRORS = 1000  # summary.json lists the first errors; every shard's are in its .done


def document_record(auditor: Any, document: Document, include_text: bool = True) -> dict[str, Any]:
    """The engine's per-document step (:func:`mtaudit.pipeline.audit_document`: audit,
    known findings, gate) as the report-v2 object ``--format json`` writes for the
    document, ``failed`` included."""
    from mtaudit.pipeline import audit_document
    from mtaudit.report.serialize import document_dict

    report = audit_document(auditor, document)
    record = document_dict(report, include_text=include_text)
    record["failed"] = report.failed
    return record


def error_record(shard: str, line: int, error: InputError) -> dict[str, Any]:
    """The result line of a record that was not audited."""
    return {"shard": shard, "line": line, "error": {"path": error.path, "message": error.message}}


def empty_stats() -> dict[str, Any]:
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


def count(stats: dict[str, Any], record: dict[str, Any]) -> None:
    """Add one result line to a shard's counts (as :class:`mtaudit.model.Summary` counts)."""
    stats["records"] += 1
    if "error" in record:
        stats["errors"].append(record["error"])
        return
    stats["documents"] += 1
    stats["by_verdict"][record["verdict"]] = stats["by_verdict"].get(record["verdict"], 0) + 1
    stats["failed_documents"] += int(record["failed"])
    for f in record["findings"]:
        stats["findings"] += 1
        stats["by_category"][f["category"]] = stats["by_category"].get(f["category"], 0) + 1
        stats["by_severity"][f["severity"]] = stats["by_severity"].get(f["severity"], 0) + 1


@contextlib.contextmanager
def atomic(path: Path) -> Iterator[IO[bytes]]:
    """``path`` written through :class:`~mtaudit.atomicfile.AtomicOutput`: whole or not at all."""
    from mtaudit.atomicfile import AtomicOutput

    out = AtomicOutput(path, binary=True)
    try:
        yield out.stream
    except BaseException:
        out.abort()
        raise
    out.commit()


def write_shard(
    out: Path, shard: Shard, records: Iterable[dict[str, Any]], signature: str, include_text: bool
) -> int:
    """Write a shard's result lines, then its marker; the number of lines.

    The marker comes second: results without a marker are redone by the next run.
    """
    stats, digest = empty_stats(), hashlib.sha256()
    result = out / (shard.stem + RESULT_SUFFIX)
    with atomic(result) as fh:
        for record in records:
            data = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
            digest.update(data)
            fh.write(data)
            count(stats, record)
    marker = {
        "shard": shard.name,
        "uri": shard.uri,
        "input": {"size": shard.size, "mtime_ns": shard.mtime_ns},
        "signature": signature,
        "include_text": include_text,
        "output": {"path": result.name, "sha256": digest.hexdigest(), "lines": stats["records"]},
        **stats,
    }
    with atomic(out / (shard.stem + DONE_SUFFIX)) as fh:
        fh.write(json.dumps(marker, ensure_ascii=False, indent=1).encode("utf-8"))
    return stats["records"]


def load_done(out: Path, shard: Shard, signature: str, include_text: bool) -> dict | None:
    """The shard's marker if its results are complete and current, else None."""
    try:
        marker = json.loads((out / (shard.stem + DONE_SUFFIX)).read_text(encoding="utf-8"))
        current = (
            marker.get("shard") == shard.name
            and marker.get("input") == {"size": shard.size, "mtime_ns": shard.mtime_ns}
            and marker.get("signature") == signature
            and marker.get("include_text") == include_text
        )
        if not current:
            return None
        digest = hashlib.sha256()
        with (out / (shard.stem + RESULT_SUFFIX)).open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    except (OSError, ValueError, AttributeError):  # absent, half-written by hand, not a dict
        return None
    return marker if digest.hexdigest() == marker.get("output", {}).get("sha256") else None


def clear_temporary(out: Path) -> None:
    """Temporary files of actors that died mid-shard (AtomicOutput's ``.NAME.XXXX``)."""
    for pattern in (f".*{RESULT_SUFFIX}.*", f".*{DONE_SUFFIX}.*"):
        for stale in out.rglob(pattern):
            with contextlib.suppress(OSError):
                stale.unlink()


def summary(
    shards: list[Shard],
    done: dict[str, dict],
    failed: dict[str, str],
    input_errors: list[InputError],
    signature: str,
    skipped: int,
) -> dict[str, Any]:
    """The run's totals from the shards' markers; shards not done are errors."""
    total = empty_stats()
    errors: list[dict[str, str]] = [{"path": e.path, "message": e.message} for e in input_errors]
    for shard in shards:
        marker = done.get(shard.name)
        if marker is None:
            errors.append({"path": shard.name, "message": failed.get(shard.name, "not done")})
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
    }
