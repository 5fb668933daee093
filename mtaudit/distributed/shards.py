"""Shards for ``--engine ray``: finding JSONL/Parquet files and reading their records.

Local paths and ``scheme://`` URIs (``s3://``, ``gs://``, ``hdfs://``, ``file://``) go
through the same pyarrow filesystem calls. A shard's records read exactly as a local scan
reads the file: JSONL with :func:`mtaudit.ingest.read_jsonl`, each Parquet row through the
same per-line rules (:func:`mtaudit.ingest.parse_jsonl_line`), numbered from 1 like lines.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from fnmatch import fnmatch
from pathlib import Path
from typing import IO, Any

from mtaudit.ingest import DEFAULT_INCLUDE, IngestOptions, parse_jsonl_line, read_jsonl
from mtaudit.model import Document, InputError

SHARD_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}
PARQUET_ROWS_PER_READ = 256  # rows decoded at a time: a Parquet shard streams too


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

    Hidden folders are skipped; a file is kept if it has a shard extension, matches
    ``ingest.include`` (when the user set it) and not ``ingest.exclude``. Inputs that
    cannot be read, or hold no shard, become errors; the other inputs are still scanned.
    """
    ingest = ingest or IngestOptions()
    found: list[Shard] = []
    errors: list[InputError] = []
    for raw in _expand_lists(inputs, errors):
        before, failed = len(found), len(errors)
        try:
            found.extend(_list(raw, ingest, errors))
        except (OSError, ValueError) as exc:  # pyarrow: unknown scheme, no credentials...
            errors.append(InputError(raw, f"cannot list: {exc}"))
        if len(found) == before and len(errors) == failed:
            errors.append(InputError(raw, "no .jsonl, .ndjson or .parquet shards found"))
    unique: dict[str, Shard] = {}
    for shard in found:  # the same file named twice (a folder and a file in it): once
        unique.setdefault(shard.uri, shard)
    stems = Counter(s.stem for s in unique.values())
    return [
        # part-0.jsonl in two folders: keep both results apart.
        s if stems[s.stem] == 1 else replace(s, stem=f"{s.stem}-{_hash(s.uri)}")
        for s in unique.values()
    ], errors


def _hash(uri: str) -> str:
    return hashlib.sha1(uri.encode()).hexdigest()[:8]


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


def _list(raw: str, ingest: IngestOptions, errors: list[InputError]) -> Iterator[Shard]:
    """The shards of one input, through pyarrow's filesystem for its scheme."""
    import pyarrow.fs as pafs

    if _is_uri(raw):
        fs, root = pafs.FileSystem.from_uri(raw)
        prefix = raw.split("://", 1)[0] + "://"
    else:
        fs, root, prefix = pafs.LocalFileSystem(), os.path.abspath(raw), ""
    info = fs.get_file_info(root)
    if info.type == pafs.FileType.NotFound:
        errors.append(InputError(raw, "no such file or directory"))
    elif info.type != pafs.FileType.Directory:
        if Path(root).suffix.lower() not in SHARD_FORMATS:
            errors.append(InputError(raw, "not a shard: expected .jsonl, .ndjson or .parquet"))
            return
        yield _shard(
            raw if not prefix else prefix + info.path, prefix + info.path, info, info.base_name
        )
    else:
        base = root.rstrip("/")
        for e in sorted(
            fs.get_file_info(pafs.FileSelector(root, recursive=True)), key=lambda e: e.path
        ):
            rel = e.path[len(base) + 1 :]
            if e.type != pafs.FileType.File or any(p.startswith(".") for p in rel.split("/")):
                continue
            if _wanted(e.base_name, rel, ingest):
                name = prefix + e.path if prefix else str(Path(raw) / rel)
                yield _shard(name, prefix + e.path, e, rel)


def _shard(name: str, uri: str, info: Any, rel: str) -> Shard:
    fmt = SHARD_FORMATS[Path(info.path).suffix.lower()]
    return Shard(name, uri, fmt, info.size or 0, info.mtime_ns or 0, rel)


def _open(uri: str, seekable: bool = False) -> IO[bytes]:
    """A binary file for ``uri``: random access for Parquet, a buffered stream for JSONL."""
    if not _is_uri(uri):
        return open(uri, "rb")  # noqa: SIM115 - the caller closes it
    import pyarrow.fs as pafs

    fs, path = pafs.FileSystem.from_uri(uri)
    if seekable:
        return fs.open_input_file(path)
    return io.BufferedReader(fs.open_input_stream(path), buffer_size=1 << 20)


def read_shard(
    shard: Shard, ingest: IngestOptions | None = None
) -> Iterator[tuple[int, Document | InputError]]:
    """The records of ``shard`` as ``(line, Document | InputError)``, in line order.

    A storage or format failure raises (OSError, pyarrow's ArrowException); a malformed
    record is an InputError naming ``SHARD:LINE``.
    """
    ingest = ingest or IngestOptions()
    if shard.format == "parquet":
        import pyarrow.parquet as pq

        with _open(shard.uri, seekable=True) as fh:
            line = 0
            for batch in pq.ParquetFile(fh).iter_batches(batch_size=PARQUET_ROWS_PER_READ):
                for record in batch.to_pylist():
                    line += 1
                    # Through the JSONL rules, so a Parquet row is validated exactly like a line.
                    raw = json.dumps(record, ensure_ascii=False, default=str).encode("utf-8")
                    item = parse_jsonl_line(raw, shard.name, line, ingest)
                    yield line, item or InputError(f"{shard.name}:{line}", "empty row")
        return
    with _open(shard.uri) as fh:
        for item in read_jsonl(fh, shard.name, ingest):
            if isinstance(item, Document):
                yield item.meta["line"], item
            else:
                yield int(item.path.rpartition(":")[2]), item
