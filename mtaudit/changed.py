"""``--changed-since REV``: audit only the paragraphs changed since a git revision.

``git diff --unified=0 REV`` (the working tree against REV, staged or not) gives each
file's changed line ranges; a file git does not track counts as changed throughout. A
finding is kept when its paragraph touches a changed line: for ``.txt`` the document's
lines are the file's, for ``.md`` paragraphs map back through ``Document.source_offset``,
an ``.html`` document counts as a whole (its text is extracted), and a JSONL record is
its line. Documents with no change at all are not audited.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from mtaudit.model import Document, DocumentReport

_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")


class ChangedError(ValueError):
    """Not a git repository, a bad revision, or git failing."""


def _git(args: list[str], cwd: Path) -> str:
    try:
        proc = subprocess.run(
            ["git", "-c", "core.quotepath=off", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            check=False,
        )
    except FileNotFoundError:
        raise ChangedError("--changed-since needs git, which is not installed") from None
    if proc.returncode != 0:
        raise ChangedError(proc.stderr.strip() or f"git {' '.join(args)} failed")
    return proc.stdout


def _unquote(path: str) -> str:
    """git quotes odd paths C-style ("a\\"b"); undo the common escapes."""
    if len(path) >= 2 and path[0] == path[-1] == '"':
        raw = path[1:-1].encode("latin-1", "backslashreplace").decode("unicode_escape")
        return raw.encode("latin-1").decode("utf-8", "replace")
    return path


def parse_diff(diff: str) -> dict[str, set[int]]:
    """``git diff --unified=0`` output -> {new path: changed line numbers (1-based)}."""
    out: dict[str, set[int]] = {}
    current: set[int] | None = None
    for line in diff.splitlines():
        if line.startswith("+++ "):
            target = _unquote(line[4:].rstrip("\t"))
            if target == "/dev/null":  # deleted: nothing left to audit
                current = None
                continue
            current = out.setdefault(target[2:] if target.startswith("b/") else target, set())
            continue
        m = _HUNK.match(line)
        if m and current is not None:
            start, count = int(m.group(1)), int(m.group(2) if m.group(2) is not None else 1)
            if count:
                current.update(range(start, start + count))
            else:
                # Pure deletion after line `start`: the lines on either side changed paragraph.
                current.update({max(start, 1), start + 1})
    return out


class _Repo:
    """One work tree: its changed lines and tracked files, relative to its top."""

    def __init__(self, top: Path, rev: str, pathspecs: list[str]) -> None:
        self.top = top
        diff = _git(
            ["diff", "--no-color", "--no-ext-diff", "-M", "--unified=0", rev, "--", *pathspecs],
            top,
        )
        self.changes = parse_diff(diff)
        listed = _git(["ls-files", "-z", "--", *pathspecs], top)
        self.tracked = {p for p in listed.split("\0") if p}


class ChangedLines:
    """Which lines of which files changed since ``rev`` (validated up front)."""

    def __init__(self, rev: str, paths: list[str]) -> None:
        self.rev = rev
        self._paths = [Path(os.path.abspath(p)) for p in paths if p != "-"]
        self._tops: dict[Path, Path] = {}
        self._repos: dict[Path, _Repo] = {}
        self._verified: set[Path] = set()
        for p in self._paths:
            self._top(p if p.is_dir() else p.parent)

    def _top(self, folder: Path) -> Path:
        """The work tree holding ``folder``, with ``rev`` checked there once."""
        if folder not in self._tops:
            if not folder.is_dir():
                raise ChangedError(f"--changed-since: {folder}: no such folder")
            try:
                top = Path(_git(["rev-parse", "--show-toplevel"], folder).strip())
            except ChangedError:
                raise ChangedError(
                    f"--changed-since: {folder} is not in a git repository"
                ) from None
            if top not in self._verified:
                try:
                    _git(["rev-parse", "--verify", "--quiet", f"{self.rev}^{{commit}}"], top)
                except ChangedError:
                    raise ChangedError(
                        f"--changed-since: unknown revision {self.rev!r} in {top}"
                    ) from None
                self._verified.add(top)
            self._tops[folder] = top
        return self._tops[folder]

    def _repo(self, top: Path) -> _Repo:
        if top not in self._repos:
            real = top.resolve()
            specs = []
            for p in self._paths:
                try:
                    rel = p.resolve().relative_to(real)
                except ValueError:
                    continue
                specs.append(rel.as_posix() or ".")
            self._repos[top] = _Repo(top, self.rev, specs or ["."])
        return self._repos[top]

    def lines(self, path: str | os.PathLike[str]) -> set[int] | None:
        """Changed lines of a file: None = all of it (new or untracked), empty = none."""
        file = Path(os.path.abspath(path))
        top = self._top(file.parent)
        repo = self._repo(top)
        try:
            rel = file.resolve().relative_to(top.resolve()).as_posix()
        except ValueError:  # pragma: no cover - the file is in this work tree
            return None
        if rel not in repo.tracked:
            return None
        return repo.changes.get(rel, set())

    def touches(self, document: Document) -> bool:
        """Whether the document has any change (else it is not audited at all)."""
        if not _is_file(document):
            return True
        lines = self.lines(document.path)
        if lines is None:
            return True
        record = _record_line(document)
        return record in lines if record is not None else bool(lines)

    def restrict(self, report: DocumentReport) -> DocumentReport:
        """Keep the findings whose paragraph touches a changed line."""
        doc = report.document
        if not report.findings or not _is_file(doc) or _record_line(doc) is not None:
            return report
        if doc.format == "html":
            return report  # extracted text has no lines of the file: the document counts
        lines = self.lines(doc.path)
        if lines is None:
            return report
        from mtaudit.segment import segment

        seg = segment(doc.text)
        source = doc.meta.get("source_text", doc.text)

        def line_of(offset: int) -> int:
            return source.count("\n", 0, doc.source_offset(offset)) + 1

        kept = []
        for f in report.findings:
            para = seg.paragraph_at(f.start)
            start, end = (para.start, para.end) if para else (f.start, f.end)
            first, last = line_of(start), line_of(max(start, end - 1))
            if any(n in lines for n in range(first, last + 1)):
                kept.append(f)
        report.findings = kept
        return report


def _is_file(document: Document) -> bool:
    return bool(document.path) and document.path not in ("-", "<stdin>")


def _record_line(document: Document) -> int | None:
    """The ``.jsonl`` line a record came from (None for a document that is a file)."""
    line = document.meta.get("line")
    return line if isinstance(line, int) and document.id != document.path else None
