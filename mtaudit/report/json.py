"""``--format json``: the report-v2 contract (``mtaudit/schema/report-v2.schema.json``).

Documents are written as they arrive, so a corpus of any size streams through in constant
memory; errors (few), the summary and the signature follow at the end. The signature is
last because it is only final then: a back-translation engine that fails mid-run is
stood in for, and the signature says so (``+fallback:dictionary``).
"""

from __future__ import annotations

import json

from mtaudit.model import SCHEMA_ID, DocumentReport, InputError, Summary
from mtaudit.report import Reporter
from mtaudit.report.serialize import document_dict, error_dict, summary_dict


class JsonReporter(Reporter):
    """Streams one JSON object: schema, documents, errors, summary, signature."""

    def start(self, signature: str) -> None:
        self._errors: list[InputError] = []
        self._count = 0
        self._signature = signature
        self.stream.write("{" + f'"schema": {json.dumps(SCHEMA_ID)},\n "documents": [')

    def document(self, report: DocumentReport, failed: bool) -> None:
        data = document_dict(report, include_text=self.options.get("include_text", True))
        data["failed"] = failed
        self.stream.write(
            ("\n  " if self._count == 0 else ",\n  ") + json.dumps(data, ensure_ascii=False)
        )
        self._count += 1

    def error(self, error: InputError) -> None:
        self._errors.append(error)

    def finish(self, summary: Summary) -> None:
        errors = ",\n  ".join(json.dumps(error_dict(e), ensure_ascii=False) for e in self._errors)
        self.stream.write(
            ("\n " if self._count else "")
            + '],\n "errors": ['
            + ("\n  " + errors + "\n " if errors else "")
            + '],\n "summary": '
            + json.dumps(summary_dict(summary))
            + ',\n "signature": '
            + json.dumps(summary.signature or self._signature)
            + "}\n"
        )
