"""The decisions file that ``mtaudit review`` writes and every scan applies.

It maps a finding's :func:`~mtaudit.known.fingerprint.fingerprint` to the editor's
decision (accept, dismiss, edit). The default file is ``.mtaudit/decisions.json`` in the
current directory, so decisions carry over from one report to the next and the file can
be committed. Each change is saved at once, atomically, so a crash loses nothing.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mtaudit.atomicfile import AtomicOutput

DECISIONS_SCHEMA = "mtaudit/decisions-v1"
DEFAULT_DECISIONS = Path(".mtaudit") / "decisions.json"


@dataclass
class Decisions:
    """The decisions file: fingerprint -> decision record, saved atomically on each change."""

    path: Path
    records: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Decisions:
        """Read ``path`` (missing = empty). Raises ValueError on a file that is not ours."""
        p = Path(path)
        if not p.exists():
            return cls(p)
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{p}: cannot read decisions: {exc}") from None
        if not isinstance(data, dict) or not isinstance(data.get("decisions"), dict):
            raise ValueError(f"{p}: not a decisions file (expected {DECISIONS_SCHEMA})")
        return cls(p, dict(data["decisions"]))

    def __contains__(self, key: str) -> bool:
        return key in self.records

    def record(self, key: str, entry: dict[str, Any]) -> None:
        """Store one decision and save the whole file now (temp file + rename)."""
        self.records[key] = entry
        self.save()

    def forget(self, key: str) -> None:
        """Remove one decision (``undo``) and save the file now."""
        self.records.pop(key, None)
        self.save()

    def save(self) -> None:
        out = AtomicOutput(self.path)
        try:
            json.dump(
                {"schema": DECISIONS_SCHEMA, "decisions": self.records},
                out.stream,
                ensure_ascii=False,
                indent=1,
                sort_keys=True,
            )
            out.stream.write("\n")
        except BaseException:
            out.abort()
            raise
        out.commit()
