"""``--write-baseline FILE``: the reporter that records a scan's findings as a baseline.

The file is read back by :class:`mtaudit.known.baseline.Baseline`; both key findings by
:func:`mtaudit.known.fingerprint.fingerprint` and documents by
:func:`mtaudit.known.baseline.document_key`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO, Any

from mtaudit.known.baseline import BASELINE_SCHEMA, document_key
from mtaudit.known.fingerprint import finding_context, fingerprint
from mtaudit.model import DocumentReport, Summary
from mtaudit.report import Reporter


class BaselineWriter(Reporter):
    """``--write-baseline FILE``: a reporter that records every finding of the scan.

    The file is JSON with sorted keys and no timestamps, so re-writing an unchanged
    baseline changes nothing and a committed baseline diffs cleanly.
    """

    def __init__(self, stream: IO[str], path: str | os.PathLike[str], **options: Any) -> None:
        super().__init__(stream, **options)
        self.base = Path(os.path.abspath(path)).parent
        self.findings: dict[str, dict[str, Any]] = {}
        self.documents: dict[str, dict[str, Any]] = {}

    def document(self, report: DocumentReport, failed: bool) -> None:
        from mtaudit.segment import segment

        doc = report.document
        key = document_key(doc, self.base)
        self.documents[key] = {
            "mt_probability": round(report.mt_probability, 4),
            "verdict": report.verdict,
        }
        seg = segment(doc.text) if report.findings else None
        for f in report.findings:
            context = finding_context(doc.text, f.start, f.end, seg)
            self.findings[fingerprint(key, f.code, f.text, context)] = {
                "code": f.code,
                "document": key,
                "text": f.text,
            }

    def finish(self, summary: Summary) -> None:
        json.dump(
            {"schema": BASELINE_SCHEMA, "findings": self.findings, "documents": self.documents},
            self.stream,
            ensure_ascii=False,
            indent=1,
            sort_keys=True,
        )
        self.stream.write("\n")
