"""The scan loop: inputs through the engine to the reporters, with progress and --fix.

:func:`run_scan` streams each complete report (:func:`mtaudit.pipeline.audit_document`)
to every reporter, so the CLI holds one document at a time, and returns the exit status.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import IO

from mtaudit.model import DocumentReport, ExitCode, InputError, Summary


def silence_stdout() -> None:
    """Point stdout at /dev/null once its reader has gone.

    Python's documented recipe (signal module, "Note on SIGPIPE"): otherwise the flush at
    interpreter exit raises BrokenPipeError again and prints "Exception ignored".
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real stdout (tests capture it)
        pass


class StdoutGuard:
    """sys.stdout for reporters: after a broken pipe (`mtaudit scan ... | head`) further
    output is dropped, so the scan still writes its file reports and exits with the status
    the gate gives, instead of dying with 0 and leaving ``--output`` files unwritten."""

    def __init__(self, stream: IO[str], before_write: Callable[[], None] | None = None) -> None:
        self._stream = stream
        self.broken = False
        # The progress bar is taken off the screen before report text is written (it
        # comes back with the next document), so no fragment of it lands in the report.
        self._before_write = before_write

    def write(self, text: str) -> int:
        if self._before_write is not None:
            self._before_write()
        if not self.broken:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._broke()
        return len(text)

    def flush(self) -> None:
        if not self.broken:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._broke()

    def _broke(self) -> None:
        self.broken = True
        silence_stdout()

    def __getattr__(self, name: str) -> object:  # isatty, encoding, fileno... for rich
        return getattr(self._stream, name)


def fail(message: str) -> int:
    print(f"mtaudit: error: {message}", file=sys.stderr)
    return ExitCode.USAGE


def _stored(paths: list[str]) -> bool:
    """Whether every input is a regular file or a folder (no stdin, FIFO or device)."""
    from mtaudit.atomicfile import is_special

    # "-" is stdin; a URI or a missing path does not exist here.
    return all(p != "-" and os.path.exists(p) and not is_special(p) for p in paths)


def _scan_items(args: argparse.Namespace, auditor, ingest, changed):
    """The scan's results in input order: in this process, or on --jobs processes."""
    from mtaudit.pipeline import scan

    if args.jobs == 1 or (args.jobs is None and not _stored(args.paths)):
        # --jobs auto reads ahead to see whether workers would pay: on a stream (stdin,
        # a FIFO) that could hold back reports until more documents arrive.
        return scan(args.paths, auditor, ingest, changed)
    # Imported only now: a one-process scan never needs multiprocessing.
    from mtaudit.distributed.local import (
        AUTO_AFTER_S,
        auto_jobs,
        default_jobs,
        iter_reports_parallel,
    )

    auto = AUTO_AFTER_S if args.jobs is None else None  # --jobs auto (the default)
    jobs = args.jobs or (auto_jobs() if auto else default_jobs())
    if jobs <= 1:
        return scan(args.paths, auditor, ingest, changed)
    return iter_reports_parallel(
        args.paths, auditor, ingest, jobs, changed=changed, auto_after=auto
    )


def run_scan(
    args: argparse.Namespace, auditor, ingest, extra: list[tuple[str, str]], changed=None
) -> int:
    """Stream every input through ``auditor`` to the reporters; return the exit status."""
    from mtaudit.ingest import count_inputs

    summary = Summary()
    started = time.perf_counter()
    unwritten: list[str] = []  # outputs that could not be committed
    # One stderr console for the run: the progress bar and every message go through it,
    # so a message prints above the bar instead of through it.
    progress = Progress(enabled=not args.quiet and sys.stderr.isatty())
    on_screen = progress.enabled and sys.stdout.isatty()  # report and bar share a screen
    stdout = StdoutGuard(sys.stdout, before_write=progress.hide if on_screen else None)
    fixes = _Fixes(args, auditor, ingest, changed, progress) if args.fix or args.diff else None
    targets = [(args.format, args.output), *extra]
    if args.diff and not args.output:
        targets = extra  # stdout carries the diff
    stats: dict[str, list[int]] = {}
    with ExitStack() as stack:
        reporters = _open_reporters(stack, targets, args, stdout, unwritten)
        if reporters is None:
            return ExitCode.USAGE
        if args.write_baseline:
            from mtaudit.report.baseline import BaselineWriter

            stream = _atomic_stream(stack, args.write_baseline, "baseline", unwritten)
            if stream is None:
                return ExitCode.USAGE
            reporters.append(BaselineWriter(stream, args.write_baseline))
        for r in reporters:
            r.start(auditor.signature)
        stack.callback(progress.close)
        if progress.enabled:
            progress.total = count_inputs(args.paths, ingest)
        errors = 0
        fallback: str | None = None  # a back-translation engine stood in for (any process)
        for item in _scan_items(args, auditor, ingest, changed):
            if isinstance(item, InputError):
                errors += 1
                progress.message(f"mtaudit: error: {item.path}: {item.message}")
                for r in reporters:
                    r.error(item)
                progress.advance()
                continue
            if fixes is not None:
                item = fixes.apply(item, stdout)
            _warn_unused_suppressions(item, progress)
            fallback = fallback or _fallback_in(item)
            failed = item.failed
            summary.add(item, failed)
            if args.statistics:
                for f in item.findings:
                    counts = stats.setdefault(f.code, [0, 0])
                    counts[0] += 1
                    counts[1] += bool(f.evidence.get("baseline"))
            for r in reporters:
                r.document(item, failed)
            progress.advance()
        summary.errors = errors
        summary.elapsed_s = time.perf_counter() - started
        summary.signature = _final_signature(auditor.signature, fallback)
        progress.close()
        for r in reporters:
            r.finish(summary)
        stdout.flush()
    if fixes is not None:
        fixes.report()
    if args.statistics:
        _print_statistics(stats)
    if errors or unwritten:
        return ExitCode.USAGE
    return ExitCode.FINDINGS if summary.failed_documents else ExitCode.OK


def _print_statistics(stats: dict[str, list[int]]) -> None:
    """``--statistics``: findings per code, most frequent first (as ruff prints them)."""
    from mtaudit.detectors import all_rules

    names = {r.code: r.name for r in all_rules()}
    rows = sorted(stats.items(), key=lambda kv: (-kv[1][0], kv[0]))
    width = max((len(str(n)) for n, _ in stats.values()), default=1)
    for code, (n, known) in rows:
        extra = f" ({known} baselined)" if known else ""
        print(f"{n:>{width}}  {code}  {names.get(code, '')}{extra}", file=sys.stderr)
    if not rows:
        print("0 findings", file=sys.stderr)


class _Fixes:
    """``--fix`` / ``--diff`` during a scan: each fixable file is fixed (or its diff
    printed) as its report arrives; a fixed file is audited again, so the reports and the
    gate see what is left, as if it had been re-scanned."""

    def __init__(self, args: argparse.Namespace, auditor, ingest, changed, progress) -> None:
        self.args = args
        self.auditor = auditor
        self.ingest = ingest
        self.changed = changed
        self.progress = progress
        self.fixed = 0
        self.files = 0
        self.unsafe_left = 0

    def apply(self, report: DocumentReport, stdout: IO[str]) -> DocumentReport:
        from mtaudit import fix

        plan = fix.plan(report, unsafe=self.args.unsafe_fixes)
        if plan is None:
            return report
        if not self.args.unsafe_fixes:
            self.unsafe_left += len(fix.fixable(report.findings, unsafe=True)) - len(
                fix.fixable(report.findings)
            )
        if not plan.changed:
            return report
        if self.args.diff:
            # Raw in a pipe (so `git apply` takes it), terminal-safe on a screen.
            text = plan.diff()
            if stdout.isatty():
                from mtaudit.report import terminal_safe

                text = terminal_safe(text)
            stdout.write(text)
            self.fixed += len(plan.applied)
            self.files += 1
            return report
        try:
            fix.write(plan, report.document)
        except fix.FixError as exc:
            self.progress.message(f"mtaudit: warning: {report.document.path}: {exc}")
            return report
        self.fixed += len(plan.applied)
        self.files += 1
        return self._rescan(report)

    def _rescan(self, report: DocumentReport) -> DocumentReport:
        from mtaudit.ingest import read_path

        path = Path(report.document.path)
        for item in read_path(path, self.ingest, explicit=True):
            if isinstance(item, InputError):
                return report  # (it was just written: cannot happen short of a race)
            from mtaudit.pipeline import audit_document

            return audit_document(self.auditor, item, self.changed)
        return report

    def report(self) -> None:
        """One line on stderr: what was fixed, and what --unsafe-fixes would add."""
        verb = "would fix" if self.args.diff else "fixed"
        line = (
            f"mtaudit: {verb} {self.fixed} finding{'s' * (self.fixed != 1)} in {self.files} "
            f"file{'s' * (self.files != 1)}"
        )
        if self.unsafe_left:
            line += f"; {self.unsafe_left} more with --unsafe-fixes"
        print(line, file=sys.stderr)


def _fallback_in(report: DocumentReport) -> str | None:
    """The engine that stood in for a failed back-translation engine in ``report``."""
    if not any("back_translation" in f.evidence for f in report.findings):
        return None  # (and back-translation is not even imported when it is off)
    from mtaudit.backtranslate import fallback_in

    return fallback_in(report.findings)


def _final_signature(signature: str, fallback: str | None) -> str:
    """The run's signature at its end, marked when an engine was stood in for."""
    if fallback is None:
        return signature
    from mtaudit.backtranslate import with_fallback

    return with_fallback(signature, fallback)


def _warn_unused_suppressions(report: DocumentReport, progress: Progress) -> None:
    """One stderr line per inline suppression that silenced nothing (or is unreadable)."""
    doc = report.document
    for entry in report.unused_suppressions:
        where = f"{doc.id}:{entry['line']}" if entry.get("line") else doc.id
        why = f" ({entry['problem']})" if entry.get("problem") else ""
        progress.message(f"mtaudit: warning: {where}: unused suppression '{entry['comment']}'{why}")


def parse_report_arg(value: str) -> tuple[str, str]:
    from mtaudit.report import FORMATS

    fmt, sep, path = value.partition("=")
    if not sep or not path or fmt not in FORMATS:
        raise ValueError(
            f"--report expects FORMAT=FILE with FORMAT one of {', '.join(FORMATS)}; got {value!r}"
        )
    return fmt, path


def _open_reporters(
    stack: ExitStack,
    targets: list[tuple[str, str | None]],
    args: argparse.Namespace,
    stdout: IO[str],
    unwritten: list[str],
):
    """Instantiate a reporter per (format, path); files are committed only on success."""
    from mtaudit.detectors import all_rules
    from mtaudit.report import reporter_class

    rules = all_rules()  # the reporters name and describe rules; they never import detectors
    reporters = []
    for fmt, path in targets:
        stream: IO[str] | None
        if path and path != "-":
            stream = _atomic_stream(stack, path, "report", unwritten)
            if stream is None:
                return None
        else:
            stream = stdout
        reporters.append(
            reporter_class(fmt)(
                stream, rules=rules, include_text=not args.no_text, show_clean=not args.hide_clean
            )
        )
    return reporters


def _atomic_stream(stack: ExitStack, path: str, what: str, unwritten: list[str]) -> IO[str] | None:
    """A stream to ``path`` committed when ``stack`` closes cleanly, else discarded.

    A commit that fails (disk full, the folder gone) is reported and added to
    ``unwritten``, so the scan exits 2 rather than pass with a report missing.
    """
    from mtaudit.atomicfile import AtomicOutput

    try:
        out = AtomicOutput(path)
    except OSError as exc:
        fail(f"{path}: cannot write {what}: {exc.strerror or exc}")
        return None

    def close(exc_type: object, exc: object, tb: object) -> None:
        if exc_type:
            out.abort()
            return
        try:
            out.commit()
        except OSError as err:
            unwritten.append(path)
            fail(f"{path}: cannot write {what}: {err.strerror or err}")

    stack.push(close)
    return out.stream


class Progress:
    """The run's stderr console: a transient progress bar and the run's messages.

    The bar appears once a scan passes a few documents, with a total when the inputs'
    size is known (files of folders; JSONL and stdin: unknown). Messages go through the
    same console, above the bar; :meth:`hide` takes the bar off the screen (report text
    is about to be written) and :meth:`advance` brings it back.
    """

    SHOW_AFTER = 5

    def __init__(self, enabled: bool, console=None) -> None:
        self.enabled = enabled
        self.count = 0
        self.total: int | None = None
        self._bar = None
        self._console = console

    @property
    def console(self):
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=True, highlight=False, soft_wrap=True)
        return self._console

    def message(self, line: str) -> None:
        """One line on stderr (document-derived text made terminal-safe)."""
        from rich.text import Text

        from mtaudit.report import terminal_safe

        text = terminal_safe(line, one_line=True)
        if self._bar is None:
            print(text, file=sys.stderr)  # plain: no console needed without a bar
        else:
            self.console.print(Text(text))

    def advance(self) -> None:
        self.count += 1
        if not self.enabled or self.count < self.SHOW_AFTER:
            return
        if self._bar is None:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            columns = [SpinnerColumn(), TextColumn("scanning"), MofNCompleteColumn()]
            if self.total is not None:
                columns.insert(2, BarColumn())
            self._bar = Progress(
                *columns,
                TimeElapsedColumn(),
                console=self.console,
                transient=True,
                # Writes to sys.stdout stay where they are: the report is not the bar's.
                redirect_stdout=False,
                redirect_stderr=False,
                # Redrawn per document, not by a thread of its own: a thread would keep
                # --jobs auto from forking workers (see mtaudit.distributed.local).
                auto_refresh=False,
            )
            self._bar.start()
            self._task = self._bar.add_task("scan", total=self.total, completed=self.count)
        self._bar.update(self._task, completed=self.count)
        self._bar.refresh()

    def hide(self) -> None:
        """Erase the bar (it is transient) until the next :meth:`advance`."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def close(self) -> None:
        self.hide()
