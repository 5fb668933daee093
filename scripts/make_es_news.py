#!/usr/bin/env python3
"""Re-create the Apertium lines of an es-news JSONL file from its Spanish source lines.

Each article in ``tests/data/es-news/dev.jsonl`` has three records, ``ID-src`` (origin
``source-es``), ``ID-human`` (``human-translation-es``) and ``ID-apertium`` (``apertium-es``).
This script translates every ``source-es`` text with ``apertium -u spa-eng`` (one call per
article, paragraph line breaks kept; if Apertium returns a different number of lines, each
paragraph is translated on its own and the results are joined with "\\n") and writes the
result into the matching ``apertium-es`` record, adding the record after the article's
other records when it is missing. Trailing newlines of Apertium's output are dropped;
nothing else is changed.

    python scripts/make_es_news.py tests/data/es-news/dev.jsonl           # rewrite in place
    python scripts/make_es_news.py tests/data/es-news/dev.jsonl --check   # verify only

``--check`` rewrites nothing; it exits 1 and lists the ids whose stored Apertium text differs
from a fresh run (or is missing).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

SOURCE_ORIGIN = "source-es"
MT_ORIGIN = "apertium-es"
MT_LABEL = "mt"
PAIR = "spa-eng"


def apertium(text: str) -> str:
    """Translate ``text`` with ``apertium -u spa-eng``, trailing newlines removed."""
    proc = subprocess.run(
        ["apertium", "-u", PAIR], input=text, capture_output=True, text=True, check=True
    )
    return proc.stdout.rstrip("\n")


def translate_article(text: str) -> str:
    """Translate an article as one input; fall back to paragraph by paragraph if lines differ."""
    paragraphs = text.split("\n")
    out = apertium(text)
    if len(out.split("\n")) == len(paragraphs):
        return out
    return "\n".join(apertium(p) for p in paragraphs)


def article_key(record_id: str) -> str:
    """``esnews-dev-001-src`` -> ``esnews-dev-001``."""
    return record_id.rsplit("-", 1)[0]


def load(path: Path) -> list[dict[str, Any]]:
    records = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise SystemExit(f"{path}:{n}: not JSON: {exc}") from None
    return records


def fresh_translations(records: list[dict[str, Any]]) -> dict[str, str]:
    """Article key -> fresh Apertium output of its ``source-es`` text."""
    return {
        article_key(r["id"]): translate_article(r["text"])
        for r in records
        if r.get("origin") == SOURCE_ORIGIN
    }


def rebuild(records: list[dict[str, Any]], fresh: dict[str, str]) -> list[dict[str, Any]]:
    """Records with every ``apertium-es`` text replaced by ``fresh``, missing ones added."""
    sources = {article_key(r["id"]): r for r in records if r.get("origin") == SOURCE_ORIGIN}
    have_mt = {article_key(r["id"]) for r in records if r.get("origin") == MT_ORIGIN}
    last_index: dict[str, int] = {}
    for i, r in enumerate(records):
        last_index[article_key(r["id"])] = i
    out: list[dict[str, Any]] = []
    for i, r in enumerate(records):
        key = article_key(r["id"])
        if r.get("origin") == MT_ORIGIN and key in fresh:
            r = {**r, "text": fresh[key]}
        out.append(r)
        if key in fresh and key not in have_mt and last_index[key] == i:
            src = sources[key]
            out.append(
                {
                    "id": f"{key}-apertium",
                    "label": MT_LABEL,
                    "origin": MT_ORIGIN,
                    "year": src.get("year"),
                    "text": fresh[key],
                }
            )
    return out


def differing_ids(records: list[dict[str, Any]], fresh: dict[str, str]) -> list[str]:
    """Ids of ``apertium-es`` records (``KEY-apertium`` when missing) that differ from ``fresh``."""
    stored = {article_key(r["id"]): r for r in records if r.get("origin") == MT_ORIGIN}
    bad = []
    for key, text in fresh.items():
        rec = stored.get(key)
        if rec is None:
            bad.append(f"{key}-apertium (missing)")
        elif rec["text"] != text:
            bad.append(rec["id"])
    return bad


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path", type=Path, help="JSONL file with source-es records")
    ap.add_argument(
        "--check",
        action="store_true",
        help="only verify the stored Apertium output; exit 1 listing the ids that differ",
    )
    args = ap.parse_args(argv)
    if shutil.which("apertium") is None:
        print("apertium not found (apt-get install apertium apertium-eng-spa)", file=sys.stderr)
        return 2
    records = load(args.path)
    fresh = fresh_translations(records)
    if not fresh:
        print(f"{args.path}: no {SOURCE_ORIGIN} records", file=sys.stderr)
        return 2
    if args.check:
        bad = differing_ids(records, fresh)
        for rid in bad:
            print(rid)
        print(
            f"{len(fresh) - len(bad)}/{len(fresh)} Apertium texts match a fresh run",
            file=sys.stderr,
        )
        return 1 if bad else 0
    out = rebuild(records, fresh)
    args.path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in out), encoding="utf-8"
    )
    print(f"{args.path}: {len(fresh)} Apertium texts written", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
