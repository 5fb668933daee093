"""``--format github``: GitHub Actions workflow commands, one annotation per finding.

A machine-translated or suspect document also gets one annotation on its first line with
the verdict and its reasons (an error when it failed the gate, else a notice).

Findings in the baseline get no annotation (an error or warning there would show red on a
run that passed); one notice at the end counts them.

``::error file=PATH,line=L,col=C,endLine=L2,endColumn=C2,title=MT401 name::message``.
GitHub shows these on the pull request's files. Escaping follows @actions/core: in the
message ``%``, CR and LF are percent-encoded; property values also encode ``:`` and ``,``.
``endColumn`` is the column of the span's last character (inclusive), and columns are
dropped for spans over several lines, which GitHub would ignore. JSONL records are
annotated on their line of the ``.jsonl`` file, with the record id in the message.
"""

from __future__ import annotations

from typing import IO, Any

from mtaudit.model import DocumentReport, Finding, InputError, Severity, Summary
from mtaudit.report import Reporter, terminal_safe
from mtaudit.report.sarif import jsonl_line, position

COMMANDS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def escape_data(value: str) -> str:
    """Escape a command's message (the part after ``::``)."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    """Escape a property value (``file=``, ``title=``…)."""
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def command(name: str, properties: dict[str, Any], message: str) -> str:
    """One workflow command line.

    Document-derived values have their control characters made visible first
    (:func:`terminal_safe`): the Actions log renders ANSI escapes like a terminal.
    """
    props = ",".join(f"{k}={escape_property(terminal_safe(str(v)))}" for k, v in properties.items())
    return f"::{name}{' ' + props if props else ''}::{escape_data(terminal_safe(message))}"


def suggestion_sentence(f: Finding) -> str:
    if f.suggestion is None:
        return ""
    if f.suggestion == "":
        return f"Suggestion: delete '{f.text.strip()}'."
    return f"Suggestion: replace '{f.text}' with '{f.suggestion}'."


def annotation(report: DocumentReport, f: Finding, names: dict[str, str]) -> str:
    """The workflow command for one finding."""
    doc = report.document
    title = f"{f.code} {names[f.code]}" if f.code in names else f.code
    message = f.message
    props: dict[str, Any] = {"file": doc.path or doc.id}
    line, col = position(doc, f.start)
    end_line, end_col = position(doc, f.end)
    record_line = jsonl_line(doc)
    if record_line is not None:
        props["line"] = record_line
        message = f"[{doc.id}, line {line}, column {col}] {message}"
    else:
        props["line"] = line
        if end_line == line:
            props["col"] = col
            props["endLine"] = line
            props["endColumn"] = max(col, end_col - 1)
        else:
            props["endLine"] = end_line
    props["title"] = title
    sentence = suggestion_sentence(f)
    if sentence:
        message += "\n" + sentence
    return command(COMMANDS[f.severity], props, message)


def verdict_annotation(report: DocumentReport, failed: bool) -> str | None:
    """A document-level annotation for a machine-translated or suspect verdict.

    An error only when the document failed the gate (a red mark on a passing run would
    cry wolf); a notice otherwise.
    """
    if report.verdict not in ("machine-translated", "suspect"):
        return None
    doc = report.document
    line = jsonl_line(doc) or 1
    message = f"{report.verdict} (MT probability {report.mt_probability:.2f})"
    if report.reasons:
        message += ": " + "; ".join(report.reasons)
    if jsonl_line(doc) is not None:
        message = f"[{doc.id}] {message}"
    props = {
        "file": doc.path or doc.id,
        "line": line,
        "title": f"mtaudit verdict: {report.verdict}",
    }
    return command("error" if failed else "notice", props, message)


class GithubReporter(Reporter):
    """Writes one annotation per finding as documents stream past."""

    def __init__(self, stream: IO[str], **options: Any) -> None:
        super().__init__(stream, **options)
        self._names: dict[str, str] = {}

    def start(self, signature: str) -> None:
        self._names = {r.code: r.name for r in self.rules}

    def document(self, report: DocumentReport, failed: bool) -> None:
        verdict = verdict_annotation(report, failed)
        if verdict is not None:
            self.stream.write(verdict + "\n")
        for f in report.findings:
            if not f.baselined:
                self.stream.write(annotation(report, f, self._names) + "\n")

    def error(self, error: InputError) -> None:
        self.stream.write(command("error", {"file": error.path}, error.message) + "\n")

    def finish(self, summary: Summary) -> None:
        # Annotations were written as they came; only the baseline's count is left.
        if summary.baselined:
            n = summary.baselined
            self.stream.write(
                command(
                    "notice",
                    {"title": "mtaudit baseline"},
                    f"{n} baselined finding{'s' * (n != 1)} not shown: in the baseline, "
                    "they do not fail the gate",
                )
                + "\n"
            )
        self.stream.flush()
