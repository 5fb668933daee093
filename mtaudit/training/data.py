"""Training data: labelled records, their language pairs, sources and folds."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class Record:
    """One labelled document."""

    id: str
    label: int  # 1 = mt, 0 = human
    origin: str
    year: int
    text: str
    dataset: str

    @property
    def pair(self) -> str:
        """Source language ("de", "ja", ...); "en" for original English."""
        return pair_of(self.origin)

    @property
    def kind(self) -> str:
        """ "mt", "ht" (human translation) or "orig" (original English)."""
        if self.label:
            return "mt"
        return "orig" if self.pair == "en" else "ht"

    @property
    def family(self) -> str:
        """System family of an MT record (online, nllb, gpt4, research, literal), else kind."""
        return family_of(self.origin) if self.label else self.kind

    @property
    def source(self) -> str:
        """The source document this record translates (original English: itself)."""
        return f"{self.dataset}:{source_key(self)}"


# -- data ------------------------------------------------------------------------------------

_ONLINE = re.compile(r"^(online-[a-z]|deepl|google)$")


def pair_of(origin: str) -> str:
    """Source language of an origin: ``human-translation-de`` / ``wmt21-ru-X`` / ``deepl-de``."""
    if origin == "original-en" or not origin:
        return "en"
    m = re.match(r"^wmt\d\d-([a-z]{2})-", origin) or re.search(r"-([a-z]{2})$", origin)
    return m.group(1) if m else origin


def system_of(origin: str) -> str:
    m = re.match(r"^wmt\d\d-[a-z]{2}-(.+)$", origin)
    if m:
        return m.group(1)
    return origin.rsplit("-", 1)[0] if re.search(r"-[a-z]{2}$", origin) else origin


def family_of(origin: str) -> str:
    """MT system family: commercial online engines, NLLB, GPT-4, literal (rule-based), or
    research systems (everything else)."""
    name = system_of(origin).lower()
    if _ONLINE.match(name):
        return "online"
    if "nllb" in name:
        return "nllb"
    if "gpt" in name:
        return "gpt4"
    if "apertium" in name:
        return "literal"
    return "research"


def source_key(r: Record) -> str:
    """Identifier of the source document, shared by its MT and human translations.

    wmt-de-en ids embed the origin (``wmt08-deepl-de-000``); WMT21-23 ids end in the system
    name or ``refA`` (``wmt21-is-en-text_105-Allegro.eu-c0``; ``-cN`` is a chunk);
    ``esnews-dev-007-apertium``. Original English is its own source. Unknown schemes fall
    back to the id.
    """
    rid = re.sub(r"-c\d+$", "", r.id)
    if r.origin == "original-en":
        return "orig:" + rid
    if r.origin and r.origin in rid:
        return rid.replace(r.origin, "")
    m = re.match(r"^(.*)-(?:ref[A-Z]|human|apertium|src)$", rid)
    if m:
        return m.group(1)
    system = system_of(r.origin)
    if system and rid.endswith("-" + system):
        return rid[: -len(system) - 1]
    return rid


def load_records(
    paths: Iterable[str | Path], labels: tuple[str, ...] = ("mt", "human")
) -> list[Record]:
    """Read JSONL files; ``dataset`` is the file's folder name (wmt-de-en, wmt22, es-news).

    Lines whose label is not in ``labels`` (e.g. ``source`` texts) are skipped.

    Raises ValueError naming ``file:line`` for an unreadable file, a line that is not a
    JSON object with ``id``, ``label`` and ``text``, or a file with no usable record.
    """
    out: list[Record] = []
    for p in paths:
        path = Path(p)
        name = path.parent.name or path.stem
        before = len(out)
        try:
            with path.open(encoding="utf-8") as fh:
                for lineno, line in enumerate(fh, 1):
                    if line.strip():
                        rec = _record(line, name, f"{path}:{lineno}", labels)
                        if rec is not None:
                            out.append(rec)
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"{path}: cannot read: {exc}") from None
        if len(out) == before:
            raise ValueError(f"{path}: no labelled documents")
    return out


def _record(line: str, dataset: str, where: str, labels: tuple[str, ...]) -> Record | None:
    """One JSONL line as a :class:`Record` (ValueError naming ``where`` if malformed)."""
    try:
        r = json.loads(line)
        if r["label"] not in ("mt", "human", "source"):
            raise ValueError(f"bad label {r['label']!r} (expected 'mt' or 'human')")
        if r["label"] not in labels:
            return None
        return Record(
            id=str(r["id"]),
            label=int(r["label"] == "mt"),
            origin=str(r.get("origin", "")),
            year=int(r.get("year") or 0),
            text=str(r["text"]),
            dataset=dataset,
        )
    except json.JSONDecodeError as exc:
        raise ValueError(f"{where}: not JSON: {exc.msg}") from None
    except KeyError as exc:
        raise ValueError(f"{where}: missing field {exc}") from None
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: {exc}") from None


def describe_files(paths: Iterable[str | Path], records: Sequence[Record]) -> list[dict]:
    """Training data description for the weights file: name, sha256, counts per kind."""
    desc = []
    for p in paths:
        path = Path(p)
        name = path.parent.name or path.stem
        rs = [r for r in records if r.dataset == name]
        kinds: dict[str, int] = {}
        for r in rs:
            kinds[r.kind] = kinds.get(r.kind, 0) + 1
        desc.append(
            {
                "file": f"{name}/{path.name}",
                "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                "documents": len(rs),
                "by_kind": dict(sorted(kinds.items())),
                "pairs": sorted({r.pair for r in rs}),
                "systems": len({r.origin for r in rs if r.label}),
            }
        )
    return desc


def _hash(text: str) -> int:
    return int(hashlib.sha256(text.encode("utf-8")).hexdigest()[:8], 16)


def pair_folds(records: Sequence[Record]) -> tuple[np.ndarray, list[str]]:
    """Leave-one-pair-out folds: a fold per source language; originals spread by hash.

    Returns the fold of every record and the fold names (the pairs, sorted).
    """
    pairs = sorted({r.pair for r in records if r.pair != "en"})
    if len(pairs) < 2:
        raise ValueError("leave-one-pair-out needs translations from two or more languages")
    folds = np.array(
        [_hash(r.source) % len(pairs) if r.pair == "en" else pairs.index(r.pair) for r in records]
    )
    return folds, pairs


#: The deep head's training sample: every human document, and at most this many machine
#: translations of each source document (SmolLM2 costs ~1 s of CPU a document; all 8,467
#: would take hours, and the 7,027 MT documents are 12 systems' takes on the same sources).
DEEP_MT_PER_SOURCE = 3


def deep_sample(records: Sequence[Record], per_source: int = DEEP_MT_PER_SOURCE) -> list[bool]:
    """Which records the deep head sees: all human ones, and per source document the
    ``per_source`` machine translations whose ids hash lowest (a seeded, order-free pick)."""
    by_source: dict[str, list[tuple[int, int]]] = {}
    for i, r in enumerate(records):
        if r.label:
            by_source.setdefault(r.source, []).append((_hash(r.id), i))
    keep = [not r.label for r in records]
    for picks in by_source.values():
        for _, i in sorted(picks)[:per_source]:
            keep[i] = True
    return keep
