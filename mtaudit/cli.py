"""Command line: ``mtaudit scan | rules | explain``.

Each subcommand is a small function; the scan loop streams results to reporters so the
CLI holds one document at a time. Exit codes are :class:`mtaudit.model.ExitCode`.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import IO, TYPE_CHECKING, NoReturn

from mtaudit import __version__
from mtaudit.model import DocumentReport, ExitCode, InputError, Severity, Summary

if TYPE_CHECKING:
    from mtaudit.baseline import KnownFindings
    from mtaudit.config import Config
    from mtaudit.pipeline import AuditOptions, AuditorPool

EPILOG = """\
exit status:
  0  nothing failed the gate
  1  a finding at or above --fail-on, a verdict at or above --fail-on-verdict
     (default: machine-translated), or a document over --fail-above
  2  usage or configuration error, an input that could not be read, no input found,
     or a report that could not be written

examples:
  mtaudit scan corpora/
  mtaudit scan article.html --format json --output report.json
  mtaudit scan feed.jsonl --select idiom,calque --fail-on warning
  mtaudit scan drafts/ --changed-since origin/main --baseline .mtaudit/baseline.json
  cat story.txt | mtaudit scan -
  mtaudit scan corpora -f html -o reports/corpus.html
  mtaudit show reports/latest.json --category idiom
  mtaudit review reports/latest.json
  mtaudit explain MT401
"""


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error and exit status 2 (its default, made explicit)."""

    def error(self, message: str) -> NoReturn:
        self.exit(ExitCode.USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _int_at_least(minimum: int, bound: str) -> Callable[[str], int]:
    """An argparse type for whole numbers >= ``minimum``; ``bound`` words the limit."""

    def parse(value: str) -> int:
        try:
            n = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
        if n < minimum:
            raise argparse.ArgumentTypeError(f"must be {bound}, got {n}")
        return n

    return parse


_jobs = _int_at_least(0, "0 (one per CPU) or more")


def _csv(value: str) -> list[str]:
    return [v for v in (p.strip() for p in value.split(",")) if v]


def _probability(value: str) -> float:
    try:
        p = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not 0.0 <= p <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {value}")
    return p


def _verdict_level(value: str) -> str:
    """``--fail-on-verdict``: a verdict name or "none" (checked, lower-cased)."""
    from mtaudit.model import parse_fail_on_verdict

    try:
        parse_fail_on_verdict(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value.strip().lower()


def _severity(value: str) -> Severity:
    try:
        return Severity.parse(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    from mtaudit.config import add_config_arguments
    from mtaudit.report import FORMATS

    parser = _Parser(
        prog="mtaudit",
        description="Audit English news text for signs of machine translation.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"mtaudit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    scan = sub.add_parser(
        "scan",
        help="scan files, folders or stdin",
        description="Scan .txt, .md, .html and .jsonl inputs (folders recursively; '-' is stdin).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    scan.add_argument("paths", nargs="+", metavar="PATH", help="file, folder, or - for stdin")
    out = scan.add_argument_group("output")
    out.add_argument(
        "-f",
        "--format",
        choices=sorted(FORMATS),
        default="terminal",
        help="report format (default: terminal)",
    )
    out.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write the report to FILE atomically (default: stdout)",
    )
    out.add_argument(
        "--report",
        action="append",
        default=[],
        metavar="FORMAT=FILE",
        help="also write a report in FORMAT to FILE (repeatable), "
        "e.g. --report json=reports/latest.json",
    )
    out.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    out.add_argument(
        "--no-text", action="store_true", help="leave document text out of JSON reports"
    )
    out.add_argument(
        "--hide-clean", action="store_true", help="terminal: do not list documents without findings"
    )
    sel = scan.add_argument_group("selection")
    sel.add_argument(
        "--select",
        type=_csv,
        default=None,
        metavar="CODES",
        help="comma-separated code prefixes or categories to enable (default: all)",
    )
    sel.add_argument(
        "--ignore",
        type=_csv,
        default=None,
        metavar="CODES",
        help="comma-separated code prefixes or categories to disable",
    )
    sel.add_argument(
        "--lm",
        default=None,
        metavar="SPEC",
        help="fluency LM: ngram (default), transformers (SmolLM2) or transformers:PATH",
    )
    sel.add_argument(
        "--lm-reference",
        default=None,
        metavar="FILE",
        help="fluency calibration file for --lm (default: the bundled one)",
    )
    sel.add_argument(
        "--model",
        choices=("default", "deep"),
        default=None,
        help="statistical model: default (cheap features), or deep (adds SmolLM2 features "
        "to the machine-vs-human question; needs 'make neural'; about 1 s of CPU a document)",
    )
    sel.add_argument(
        "--min-confidence",
        type=_probability,
        default=None,
        metavar="P",
        help="drop findings below this confidence (0-1; default 0)",
    )
    bt = scan.add_argument_group("back-translation")
    bt.add_argument(
        "--mt",
        default=None,
        metavar="ENGINE",
        help="engine that back-translates suspect spans: auto (apertium if installed, else "
        "dictionary), dictionary, apertium, marian[:PATH], or off",
    )
    bt.add_argument(
        "--mt-cache",
        metavar="DIR",
        default=None,
        help="translation cache folder (default: $MTAUDIT_CACHE_DIR or ~/.cache/mtaudit)",
    )
    gate = scan.add_argument_group("gate")
    gate.add_argument(
        "--decisions",
        metavar="FILE",
        default=None,
        help="review decisions to apply (default: .mtaudit/decisions.json when it exists); "
        "dismissed findings are dropped, edited suggestions used",
    )
    gate.add_argument(
        "--fail-on",
        type=_severity,
        default=None,
        metavar="SEVERITY",
        help="exit 1 on a finding at or above: info, warning, error (default: error)",
    )
    gate.add_argument(
        "--fail-on-verdict",
        type=_verdict_level,
        default=None,
        metavar="VERDICT",
        help="exit 1 on a document whose verdict is at or above: machine-translated "
        "(default), suspect, translated, or none (verdicts never fail the gate)",
    )
    gate.add_argument(
        "--fail-above",
        type=_probability,
        default=None,
        metavar="P",
        help="exit 1 when a document's mt_probability is at or above P",
    )
    gate.add_argument(
        "--baseline",
        metavar="FILE",
        default=None,
        help="findings recorded in FILE (by --write-baseline) stay in the report, marked "
        "baselined, but do not fail the gate",
    )
    gate.add_argument(
        "--write-baseline",
        metavar="FILE",
        default=None,
        help="record every finding of this scan in FILE (atomically) and exit 0",
    )
    cfg = scan.add_argument_group("configuration")
    add_config_arguments(cfg)
    par = scan.add_argument_group("scale-out")
    par.add_argument(
        "-j",
        "--jobs",
        type=_jobs,
        default=None,
        metavar="N",
        help="audit on N processes (0: one per CPU; default 1); reports are identical to a "
        "single-process scan. With --engine ray: the number of Ray workers (default: every "
        "CPU of the cluster)",
    )
    par.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="local (default), or ray: JSONL/Parquet shards audited on a Ray cluster, results "
        "per shard in --output-dir (needs the mtaudit[ray] extra)",
    )
    par.add_argument(
        "--ray-address",
        metavar="ADDR",
        default=None,
        help="--engine ray: the cluster to connect to (default: $RAY_ADDRESS, else a local "
        "Ray on this machine's CPUs)",
    )
    par.add_argument(
        "--output-dir",
        metavar="DIR",
        default=None,
        help="--engine ray: folder for SHARD.audit.jsonl, SHARD.done and summary.json; "
        "re-running the command resumes, skipping finished shards",
    )
    inp = scan.add_argument_group("input")
    inp.add_argument(
        "--include",
        type=_csv,
        default=None,
        metavar="GLOBS",
        help="file globs to read inside folders (default: *.txt,*.md,*.html,*.htm,*.jsonl,...)",
    )
    inp.add_argument(
        "--exclude",
        type=_csv,
        default=[],
        metavar="GLOBS",
        help="file globs to skip inside folders",
    )
    inp.add_argument(
        "--stdin-format",
        choices=("text", "markdown", "html", "jsonl"),
        default="text",
        help="format of '-' (default: text)",
    )
    inp.add_argument(
        "--max-bytes",
        type=int,
        default=None,
        metavar="N",
        help="largest single document to read (default: 20 MB)",
    )
    inp.add_argument(
        "--changed-since",
        metavar="REV",
        default=None,
        help="only findings in paragraphs changed since git revision REV (working tree "
        "against REV; untracked files count as changed)",
    )
    scan.set_defaults(func=cmd_scan)

    rules = sub.add_parser("rules", help="list every finding code")
    rules.set_defaults(func=cmd_rules)
    explain = sub.add_parser("explain", help="explain one finding code")
    explain.add_argument("code", metavar="CODE")
    explain.set_defaults(func=cmd_explain)

    from mtaudit import review, server, show

    show.add_parser(sub)
    review.add_parser(sub)
    server.add_parser(sub)
    return parser


#: Exit status after SIGTERM, as a shell reports a process killed by it (128 + 15).
TERMINATED = 128 + signal.SIGTERM


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return ExitCode.USAGE
    # Unwind on SIGTERM as on an error: open reports are aborted (their hidden temp files
    # removed), engines closed. `mtaudit serve` replaces this with uvicorn's handler.
    # (Only the main thread may set handlers; the previous one is restored for callers
    # that run main() in-process, such as the tests.)
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if main_thread else None
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print("mtaudit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # show / rules / explain piped into `head`: the reader has what it wanted.
        _silence_stdout()
        return ExitCode.OK
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


def _terminate(signum: int, frame: object) -> NoReturn:
    """SIGTERM: abort unfinished outputs now, then unwind (ExitStacks, finally blocks)."""
    from mtaudit.report import abort_open_outputs

    abort_open_outputs()
    raise SystemExit(TERMINATED)


def _silence_stdout() -> None:
    """Point stdout at /dev/null once its reader has gone.

    Python's documented recipe (signal module, "Note on SIGPIPE"): otherwise the flush at
    interpreter exit raises BrokenPipeError again and prints "Exception ignored".
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real stdout (tests capture it)
        pass


class _StdoutGuard:
    """sys.stdout for reporters: after a broken pipe (`mtaudit scan ... | head`) further
    output is dropped, so the scan still writes its file reports and exits with the status
    the gate gives, instead of dying with 0 and leaving ``--output`` files unwritten."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self.broken = False

    def write(self, text: str) -> int:
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
        _silence_stdout()

    def __getattr__(self, name: str) -> object:  # isatty, encoding, fileno... for rich
        return getattr(self._stream, name)


def _fail(message: str) -> int:
    print(f"mtaudit: error: {message}", file=sys.stderr)
    return ExitCode.USAGE


def cmd_scan(args: argparse.Namespace) -> int:
    from mtaudit.changed import ChangedError, ChangedLines
    from mtaudit.config import ConfigError
    from mtaudit.fluency import FluencyUnavailable
    from mtaudit.ingest import DEFAULT_INCLUDE, DEFAULT_MAX_BYTES, IngestOptions, finds_nothing
    from mtaudit.lexicons import LexiconError

    if args.write_baseline and args.changed_since:
        return _fail("--write-baseline records a whole scan; it cannot take --changed-since")
    if problem := _engine_problem(args):
        return _fail(problem)
    ingest = IngestOptions(
        include=tuple(args.include or DEFAULT_INCLUDE),
        exclude=tuple(args.exclude),
        stdin_format=args.stdin_format,
        max_bytes=args.max_bytes or DEFAULT_MAX_BYTES,
    )
    if args.engine == "local" and finds_nothing(args.paths, ingest):
        # An empty or mistyped folder must not pass the gate as "0 documents".
        return _fail(
            f"no input files found in {', '.join(args.paths)} "
            f"(looked for {', '.join(ingest.include)})"
        )
    try:
        extra = [_parse_report_arg(r) for r in args.report]
        auditor = _auditor_pool(args)
        auditor.preload()  # a missing LM or lexicon error shows before scanning starts
    except (ValueError, LexiconError, FluencyUnavailable) as exc:
        return _fail(str(exc))
    if args.engine == "ray":
        try:
            return _run_ray(args, auditor, ingest)
        finally:
            auditor.close()
    try:
        changed = ChangedLines(args.changed_since, args.paths) if args.changed_since else None
        status = _run_scan(args, auditor, ingest, extra, changed)
    except (ConfigError, ChangedError, LexiconError, FluencyUnavailable) as exc:
        # A config file in a subfolder (or git) can still fail mid-scan; reports are aborted.
        return _fail(str(exc))
    finally:
        auditor.close()
    if args.write_baseline and status == ExitCode.FINDINGS:
        return ExitCode.OK  # everything found is now in the baseline
    return status


# Flags that are also config keys: a flag given on the command line wins over every file.
_CONFIG_FLAGS = (
    "select",
    "ignore",
    "fail_on",
    "fail_on_verdict",
    "fail_above",
    "min_confidence",
    "model",
    "lm",
    "lm_reference",
    "mt",
    "baseline",
    "decisions",
)


def _auditor_pool(args: argparse.Namespace) -> AuditorPool:
    """An AuditorPool over the layered configuration (user, project, --config, flags)."""
    from mtaudit.config import ConfigResolver
    from mtaudit.pipeline import AuditorPool

    cli = {k: getattr(args, k) for k in _CONFIG_FLAGS if getattr(args, k) is not None}
    if isinstance(cli.get("fail_on"), Severity):
        cli["fail_on"] = cli["fail_on"].label
    for key in ("baseline", "decisions"):
        if key in cli and not Path(cli[key]).exists():
            raise ValueError(f"{cli[key]}: no such {key} file")
    resolver = ConfigResolver(args.config, cli, isolated=args.isolated)
    resolver.prefetch(args.paths)
    known_cache: dict[tuple[str | None, str | None], KnownFindings] = {}

    def options_for(config: Config) -> AuditOptions:
        return _audit_options(config, args.mt_cache, known_cache)

    first = next((p for p in args.paths if p != "-"), None)
    return AuditorPool(
        lambda doc: resolver.for_file(doc.path), options_for, resolver.for_path(first)
    )


def _audit_options(
    config: Config,
    mt_cache: str | None,
    known_cache: dict[tuple[str | None, str | None], KnownFindings],
) -> AuditOptions:
    """AuditOptions for an effective Config; baseline/decisions files load once per scan."""
    from mtaudit.baseline import load_known
    from mtaudit.config import ConfigError
    from mtaudit.model import parse_fail_on_verdict
    from mtaudit.pipeline import AuditOptions
    from mtaudit.review import DEFAULT_DECISIONS

    decisions = config.decisions
    if decisions is None and DEFAULT_DECISIONS.exists():
        decisions = str(DEFAULT_DECISIONS)
    key = (config.baseline, decisions)
    if key not in known_cache:
        try:
            known_cache[key] = load_known(config.baseline, decisions)
        except ValueError as exc:  # the message names the file
            raise ConfigError("", None, str(exc)) from None
    return AuditOptions(
        select=config.select,
        ignore=config.ignore,
        min_confidence=config.min_confidence,
        fail_on=Severity.parse(config.fail_on),
        fail_above=config.fail_above,
        fail_on_verdict=parse_fail_on_verdict(config.fail_on_verdict),
        model=config.model,
        detector_options=config.detector_options(),
        mt=None if config.mt == "off" else config.mt,
        mt_cache_dir=mt_cache,
        severity=tuple((p, Severity.parse(s)) for p, s in config.severity),
        known=known_cache[key],
    )


def _engine_problem(args: argparse.Namespace) -> str | None:
    """Flags that do not go together with the chosen --engine (None when all is well)."""
    if args.engine != "ray":
        if args.output_dir or args.ray_address:
            return "--output-dir and --ray-address go with --engine ray"
        return None
    if not args.output_dir:
        return "--engine ray writes its results to a folder: give --output-dir DIR"
    clash = [
        flag
        for flag, value in (
            ("--output", args.output),
            ("--report", args.report),
            ("--write-baseline", args.write_baseline),
            ("--changed-since", args.changed_since),
        )
        if value
    ]
    if clash:
        return f"{', '.join(clash)}: not with --engine ray (its results go to --output-dir)"
    return None


def _run_ray(args: argparse.Namespace, auditor, ingest) -> int:
    """``--engine ray``: shards -> per-shard results and summary.json in --output-dir."""
    try:
        import ray  # noqa: F401

        from mtaudit.distributed.ray_engine import scan_to_directory
    except ImportError:
        return _fail("--engine ray needs Ray: pip install 'mtaudit[ray]'")
    return scan_to_directory(
        args.paths,
        args.output_dir,
        auditor,  # an AuditorPool: Ray uses its base configuration (flags, --config, project)
        ingest,
        address=args.ray_address,
        workers=args.jobs or None,
        include_text=not args.no_text,
        quiet=args.quiet,
    )


def _scan_items(args: argparse.Namespace, auditor, ingest, changed):
    """The scan's results in input order: in this process, or on --jobs processes."""
    from mtaudit.pipeline import scan

    jobs = 1 if args.jobs is None else args.jobs
    if jobs == 0:
        from mtaudit.distributed.local import default_jobs

        jobs = default_jobs()
    if jobs <= 1:
        return scan(args.paths, auditor, ingest, changed)
    from mtaudit.distributed.local import iter_reports_parallel

    return iter_reports_parallel(args.paths, auditor, ingest, jobs, changed=changed)


def _run_scan(
    args: argparse.Namespace, auditor, ingest, extra: list[tuple[str, str]], changed=None
) -> int:
    """Stream every input through ``auditor`` to the reporters; return the exit status."""
    from mtaudit.report import terminal_safe

    summary = Summary()
    started = time.perf_counter()
    unwritten: list[str] = []  # outputs that could not be committed
    stdout = _StdoutGuard(sys.stdout)
    with ExitStack() as stack:
        reporters = _open_reporters(
            stack, [(args.format, args.output), *extra], args, stdout, unwritten
        )
        if reporters is None:
            return ExitCode.USAGE
        if args.write_baseline:
            from mtaudit.baseline import BaselineWriter

            stream = _atomic_stream(stack, args.write_baseline, "baseline", unwritten)
            if stream is None:
                return ExitCode.USAGE
            reporters.append(BaselineWriter(stream, args.write_baseline))
        for r in reporters:
            r.start(auditor.signature)
        progress = _Progress(enabled=not args.quiet and sys.stderr.isatty())
        stack.callback(progress.close)
        errors = 0
        fallback: str | None = None  # a back-translation engine stood in for (any process)
        for item in _scan_items(args, auditor, ingest, changed):
            if isinstance(item, InputError):
                errors += 1
                line = terminal_safe(f"{item.path}: {item.message}", one_line=True)
                print(f"mtaudit: error: {line}", file=sys.stderr)
                for r in reporters:
                    r.error(item)
                continue
            _warn_unused_suppressions(item)
            fallback = fallback or _fallback_in(item)
            failed = auditor.fails(item)
            summary.add(item, failed)
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
    if errors or unwritten:
        return ExitCode.USAGE
    return ExitCode.FINDINGS if summary.failed_documents else ExitCode.OK


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


def _warn_unused_suppressions(report: DocumentReport) -> None:
    """One stderr line per inline suppression that silenced nothing (or is unreadable)."""
    from mtaudit.report import terminal_safe

    doc = report.document
    for entry in doc.meta.get("unused_suppressions", ()):
        where = f"{doc.id}:{entry['line']}" if entry.get("line") else doc.id
        why = f" ({entry['problem']})" if entry.get("problem") else ""
        line = terminal_safe(f"{where}: unused suppression '{entry['comment']}'{why}", True)
        print(f"mtaudit: warning: {line}", file=sys.stderr)


def _parse_report_arg(value: str) -> tuple[str, str]:
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
    from mtaudit.report import reporter_class

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
                stream, include_text=not args.no_text, show_clean=not args.hide_clean
            )
        )
    return reporters


def _atomic_stream(stack: ExitStack, path: str, what: str, unwritten: list[str]) -> IO[str] | None:
    """A stream to ``path`` committed when ``stack`` closes cleanly, else discarded.

    A commit that fails (disk full, the folder gone) is reported and added to
    ``unwritten``, so the scan exits 2 rather than pass with a report missing.
    """
    from mtaudit.report import AtomicOutput

    try:
        out = AtomicOutput(path)
    except OSError as exc:
        _fail(f"{path}: cannot write {what}: {exc.strerror or exc}")
        return None

    def close(exc_type: object, exc: object, tb: object) -> None:
        if exc_type:
            out.abort()
            return
        try:
            out.commit()
        except OSError as err:
            unwritten.append(path)
            _fail(f"{path}: cannot write {what}: {err.strerror or err}")

    stack.push(close)
    return out.stream


class _Progress:
    """A rich progress line on stderr, shown only once a scan passes a few documents."""

    SHOW_AFTER = 5

    def __init__(self, enabled: bool, console=None) -> None:
        self.enabled = enabled
        self.count = 0
        self._bar = None
        self._console = console

    def advance(self) -> None:
        self.count += 1
        if not self.enabled:
            return
        if self._bar is None and self.count >= self.SHOW_AFTER:
            from rich.console import Console
            from rich.progress import (
                MofNCompleteColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            self._bar = Progress(
                SpinnerColumn(),
                TextColumn("scanning"),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=self._console or Console(stderr=True),
                transient=True,
            )
            self._bar.start()
            self._task = self._bar.add_task("scan", total=None, completed=self.count)
        if self._bar is not None:
            self._bar.update(self._task, completed=self.count)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def cmd_rules(args: argparse.Namespace) -> int:
    from rich.table import Table

    from mtaudit.detectors import all_rules
    from mtaudit.report.terminal import make_console

    table = Table(show_edge=False)
    for col in ("code", "name", "category", "severity", "flags"):
        table.add_column(col)
    for r in all_rules():
        table.add_row(r.code, r.name, r.category, r.severity.label, r.summary)
    make_console(sys.stdout).print(table)
    return ExitCode.OK


def cmd_explain(args: argparse.Namespace) -> int:
    from mtaudit.detectors import all_rules

    code = args.code.strip().upper()
    rule = next((r for r in all_rules() if r.code == code), None)
    if rule is None:
        return _fail(f"unknown code {args.code!r}; run 'mtaudit rules' for the list")
    print(f"{rule.code} {rule.name} ({rule.category}, default severity {rule.severity.label})\n")
    print(f"What it flags:\n  {rule.summary}\n")
    print(f"Why it matters:\n  {rule.why}\n")
    print(f"Example:\n  {rule.example}\n")
    print(f"Fix:\n  {rule.fix}")
    return ExitCode.OK
