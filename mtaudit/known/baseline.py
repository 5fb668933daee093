"""Known findings: a baseline file and review decisions, applied by fingerprint.

Both say "this finding was seen before" and both key findings by
:func:`mtaudit.known.fingerprint.fingerprint` (code, document, normalised span, hash of
its sentence), so they survive edits elsewhere in a document. They differ in what they do:

* a **decision** from ``mtaudit review`` drops a dismissed finding, or replaces the
  suggestion of an edited one;
* a **baseline** (``--write-baseline FILE``, then ``--baseline FILE``) keeps the finding
  in the report, marked ``baselined``, but takes it out of the pre-publish gate. A
  document that was already over ``--fail-above``, or already had a verdict at or above
  ``--fail-on-verdict``, when the baseline was written is excused from that test too.

Decisions are keyed by the document id as the reviewed report named it. A baseline keys
documents by their path relative to the baseline file's folder, so it matches whichever
folder ``mtaudit`` runs from.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mtaudit.known.decisions import Decisions
from mtaudit.known.fingerprint import finding_context, fingerprint
from mtaudit.model import BASELINE_MARK, Document, DocumentReport, Finding, verdict_at_least

BASELINE_SCHEMA = "mtaudit/baseline-v1"
MARK = BASELINE_MARK  # the evidence key that marks a baselined finding


def is_baselined(finding: Finding) -> bool:
    """Whether the finding is in the baseline (reported, but not a gate failure)."""
    return finding.baselined


def document_key(document: Document, base: Path) -> str:
    """A document's name in a baseline: its path relative to ``base``, posix-style.

    JSONL records keep their own id, or ``PATH:LINE`` with PATH made relative too.
    """
    path = document.path
    if not path or path in ("-", "<stdin>"):
        return document.id
    rel = Path(os.path.relpath(os.path.abspath(path), base)).as_posix()
    if document.id == path:
        return rel
    if document.id.startswith(path + ":"):
        return rel + document.id[len(path) :]
    return document.id


@dataclass
class Baseline:
    """A baseline file: finding fingerprints and the documents' probabilities."""

    path: Path
    findings: dict[str, dict[str, Any]] = field(default_factory=dict)
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def base(self) -> Path:
        return Path(os.path.abspath(self.path)).parent

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Baseline:
        """Read a baseline; ValueError (naming the file) when it is missing or not one."""
        p = Path(path)
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ValueError(f"{p}: no such baseline file") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{p}: cannot read baseline: {exc}") from None
        if not isinstance(data, dict) or data.get("schema") != BASELINE_SCHEMA:
            raise ValueError(f"{p}: not a baseline file (expected {BASELINE_SCHEMA})")
        findings, documents = data.get("findings", {}), data.get("documents", {})
        if not isinstance(findings, dict) or not isinstance(documents, dict):
            raise ValueError(f"{p}: malformed baseline ('findings' and 'documents' are objects)")
        return cls(p, findings, documents)


@dataclass
class KnownFindings:
    """Review decisions plus a baseline: one pass over a document's findings."""

    decisions: dict[str, dict[str, Any]] = field(default_factory=dict)
    baseline: Baseline | None = None

    def __bool__(self) -> bool:
        return bool(self.decisions) or self.baseline is not None

    def apply(
        self, document: Document, findings: list[Finding], seg: Any = None
    ) -> tuple[list[Finding], int]:
        """Drop dismissed findings, apply edits, mark baselined ones; return (kept, dropped)."""
        from mtaudit.segment import segment

        if not findings:
            return findings, 0
        seg = seg or segment(document.text)
        doc_key = document_key(document, self.baseline.base) if self.baseline else ""
        kept: list[Finding] = []
        for f in findings:
            # The decision key is the fingerprint the engine already set; the sentence is
            # looked up only for the baseline's key (documents named relative to its file)
            # or for a finding no engine finished.
            context = (
                finding_context(document.text, f.start, f.end, seg)
                if self.baseline is not None or not f.fingerprint
                else ""
            )
            key = f.fingerprint or fingerprint(document.id, f.code, f.text, context)
            decision = self.decisions.get(key)
            if decision is not None:
                if decision.get("decision") == "dismiss":
                    continue
                if decision.get("decision") == "edit":
                    f.suggestion = decision.get("suggestion")
                f.evidence["review"] = decision.get("decision")
            if self.baseline is not None:
                if fingerprint(doc_key, f.code, f.text, context) in self.baseline.findings:
                    f.evidence[MARK] = True
            kept.append(f)
        return kept, len(findings) - len(kept)

    def excuses_verdict(self, report: DocumentReport, level: str) -> bool:
        """Whether the baseline excuses the document from ``--fail-on-verdict level``.

        Only a document whose recorded verdict was already at or above ``level``; a
        baseline written before verdicts were recorded excuses by its ``mt_probability``
        at the current machine-translated verdict (it cannot say more).
        """
        if self.baseline is None:
            return False
        entry = self.baseline.documents.get(document_key(report.document, self.baseline.base))
        recorded = entry.get("verdict") if isinstance(entry, dict) else None
        return isinstance(recorded, str) and verdict_at_least(recorded, level)

    def excuses(self, report: DocumentReport, limit: float) -> bool:
        """Whether the baseline excuses the document from ``--fail-above limit``.

        Only a document that was already at or over the limit when the baseline was
        written: a clean document that turns machine-translated still fails.
        """
        if self.baseline is None:
            return False
        entry = self.baseline.documents.get(document_key(report.document, self.baseline.base))
        recorded = entry.get("mt_probability") if isinstance(entry, dict) else None
        return isinstance(recorded, (int, float)) and recorded >= limit


def load_known(baseline: str | None, decisions: str | None) -> KnownFindings:
    """Load the files named (None = none); a file that does not exist yet counts as empty.

    Raises:
        ValueError: naming the file, when one exists but is not a baseline/decisions file.
    """
    known = KnownFindings()
    if decisions:
        known.decisions = Decisions.load(decisions).records
    if baseline:
        known.baseline = (
            Baseline.load(baseline) if Path(baseline).exists() else Baseline(Path(baseline))
        )
    return known
