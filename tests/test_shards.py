"""Shard discovery for ``--engine ray``: order, duplicates, globs (pyarrow only, no Ray)."""

from __future__ import annotations

import pytest

pytest.importorskip("pyarrow")

from mtaudit.distributed.shards import discover_shards  # noqa: E402
from mtaudit.ingest import IngestOptions  # noqa: E402


def test_inputs_keep_their_order_and_a_file_named_twice_is_one_shard(tmp_path):
    (tmp_path / "z.jsonl").write_text('{"text": "x"}\n')
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "a.jsonl").write_text('{"text": "x"}\n')
    shards, errors = discover_shards(
        [str(tmp_path / "z.jsonl"), str(tmp_path / "dir"), str(tmp_path / "z.jsonl")]
    )
    assert not errors
    assert [s.name for s in shards] == [
        str(tmp_path / "z.jsonl"),
        str(tmp_path / "dir" / "a.jsonl"),
    ]
    assert [s.stem for s in shards] == ["z.jsonl", "a.jsonl"]


def test_globs_filter_shards_and_other_files_are_named(tmp_path):
    for name in ("keep.jsonl", "drop.jsonl", "rows.parquet", "notes.txt"):
        (tmp_path / name).write_bytes(b"{}\n")
    ingest = IngestOptions(exclude=("drop*",))
    shards, errors = discover_shards([str(tmp_path), str(tmp_path / "notes.txt")], ingest)
    assert [s.stem for s in shards] == ["keep.jsonl", "rows.parquet"]
    assert [s.format for s in shards] == ["jsonl", "parquet"]
    assert [(e.path, e.message.split(":")[0]) for e in errors] == [
        (str(tmp_path / "notes.txt"), "not a shard")
    ]
    only = IngestOptions(include=("*.parquet",))
    assert [s.stem for s in discover_shards([str(tmp_path)], only)[0]] == ["rows.parquet"]
