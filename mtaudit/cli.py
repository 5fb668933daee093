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
from mtaudit.cliargs import (
    add_config_arguments,
    csv_list,
    int_at_least,
    probability,
    severity,
    verdict_level,
)
from mtaudit.model import DocumentReport, ExitCode, InputError, Severity, Summary

if TYPE_CHECKING:
    from mtaudit.config import Config, ConfigResolver
    from mtaudit.known.baseline import KnownFindings
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
  mtaudit scan content/ -f concise --statistics
  mtaudit scan story.md --diff            # then --fix to write it
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


_jobs = int_at_least(0, "0 (one per CPU) or more")


def build_parser() -> argparse.ArgumentParser:
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
    out.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="no progress bar (shown on stderr when it is a terminal, with a total for "
        "folders and files)",
    )
    out.add_argument(
        "--statistics",
        action="store_true",
        help="after the report, print the number of findings per code on stderr",
    )
    out.add_argument(
        "--no-text", action="store_true", help="leave document text out of JSON reports"
    )
    out.add_argument(
        "--hide-clean", action="store_true", help="terminal: do not list documents without findings"
    )
    sel = scan.add_argument_group("selection")
    sel.add_argument(
        "--select",
        type=csv_list,
        default=None,
        metavar="CODES",
        help="comma-separated code prefixes or categories to enable (default: all)",
    )
    sel.add_argument(
        "--ignore",
        type=csv_list,
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
        type=probability,
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
    cache = scan.add_argument_group("result cache")
    cache.add_argument(
        "--cache-dir",
        metavar="DIR",
        default=None,
        help="folder of the result cache, which keeps each document's audit so that a "
        "re-scan audits only what changed (its text, the options or mtaudit's models) "
        "(default: $MTAUDIT_CACHE_DIR or ~/.cache/mtaudit; at most 256 MB)",
    )
    cache.add_argument(
        "--no-cache",
        action="store_true",
        help="audit every document afresh, without reading or writing the result cache",
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
        type=severity,
        default=None,
        metavar="SEVERITY",
        help="exit 1 on a finding at or above: info, warning, error (default: error)",
    )
    gate.add_argument(
        "--fail-on-verdict",
        type=verdict_level,
        default=None,
        metavar="VERDICT",
        help="exit 1 on a document whose verdict is at or above: machine-translated "
        "(default), suspect, translated, or none (verdicts never fail the gate)",
    )
    gate.add_argument(
        "--fail-above",
        type=probability,
        default=None,
        metavar="P",
        help="exit 1 when a document's mt_probability is at or above P",
    )
    gate.add_argument(
        "--exit-zero",
        action="store_true",
        help="exit 0 even when findings fail the gate (2 still means a usage or input error)",
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
    fix = scan.add_argument_group("fixes")
    fix.add_argument(
        "--fix",
        action="store_true",
        help="apply safe suggestions to the scanned .txt, .md and .html files in place "
        "(atomically; a file changed since it was read is left alone); the report and the "
        "exit status are those of the fixed files",
    )
    fix.add_argument(
        "--diff",
        action="store_true",
        help="print the fixes as a unified diff on stdout instead of writing them (the "
        "report then goes only to --output/--report files)",
    )
    fix.add_argument(
        "--unsafe-fixes",
        action="store_true",
        help="with --fix or --diff, also apply suggestions an editor should read first "
        "(idioms, rewrites); safe ones are exact replacements for punctuation, boilerplate "
        "and calque rules",
    )
    cfg = scan.add_argument_group("configuration")
    add_config_arguments(cfg)
    cfg.add_argument(
        "--show-settings",
        action="store_true",
        help="print the effective configuration for each PATH (config files, selection, "
        "gate, exclusions) and exit",
    )
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
        type=csv_list,
        default=None,
        metavar="GLOBS",
        help="file globs to read inside folders (default: *.txt,*.md,*.html,*.htm,*.jsonl,...)",
    )
    inp.add_argument(
        "--exclude",
        type=csv_list,
        default=[],
        metavar="GLOBS",
        help="file globs to skip inside folders (the config's exclude key takes "
        ".gitignore-style patterns)",
    )
    inp.add_argument(
        "--no-gitignore",
        action="store_true",
        help="read files that .gitignore files exclude (by default folders are walked as "
        "git sees them; the config's exclude patterns still apply)",
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
    from mtaudit.atomicfile import abort_open_outputs

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
    if problem := _engine_problem(args) or _fix_problem(args):
        return _fail(problem)
    try:
        resolver = _resolver(args)
    except (ValueError, LexiconError) as exc:  # ConfigError names the file and line
        return _fail(str(exc))
    if args.show_settings:
        return _show_settings(args, resolver)
    ingest = IngestOptions(
        include=tuple(args.include or DEFAULT_INCLUDE),
        exclude=tuple(args.exclude),
        stdin_format=args.stdin_format,
        max_bytes=args.max_bytes or DEFAULT_MAX_BYTES,
        exclude_specs=resolver.exclude_specs(),
        gitignore=not args.no_gitignore,
    )
    if args.engine == "local" and finds_nothing(args.paths, ingest):
        # An empty or mistyped folder must not pass the gate as "0 documents".
        return _fail(
            f"no input files found in {', '.join(args.paths)} "
            f"(looked for {', '.join(ingest.include)})"
        )
    try:
        extra = [_parse_report_arg(r) for r in args.report]
        auditor = _auditor_pool(args, resolver)
        auditor.preload()  # a missing LM or lexicon error shows before scanning starts
    except (ValueError, LexiconError, FluencyUnavailable) as exc:
        return _fail(str(exc))
    if args.engine == "ray":
        try:
            return _exit_zero(args, _run_ray(args, auditor, ingest))
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
    return _exit_zero(args, status)


def _exit_zero(args: argparse.Namespace, status: int) -> int:
    """``--exit-zero``: findings never fail the run; usage and input errors still do."""
    return ExitCode.OK if args.exit_zero and status == ExitCode.FINDINGS else status


def _fix_problem(args: argparse.Namespace) -> str | None:
    """--fix / --diff / --unsafe-fixes combinations that cannot work."""
    if args.fix and args.diff:
        return "--fix writes the files, --diff only shows the changes: choose one"
    if args.unsafe_fixes and not (args.fix or args.diff):
        return "--unsafe-fixes goes with --fix or --diff"
    if (args.fix or args.diff) and args.engine == "ray":
        return "--fix and --diff work on files, not with --engine ray"
    if (args.fix or args.diff) and args.write_baseline:
        return "--write-baseline records findings; it cannot take --fix or --diff"
    return None


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


def _resolver(args: argparse.Namespace) -> ConfigResolver:
    """The layered configuration (user, project, --config, flags), every file parsed."""
    from mtaudit.config import ConfigResolver

    cli = {k: getattr(args, k) for k in _CONFIG_FLAGS if getattr(args, k) is not None}
    if isinstance(cli.get("fail_on"), Severity):
        cli["fail_on"] = cli["fail_on"].label
    for key in ("baseline", "decisions"):
        if key in cli and not Path(cli[key]).exists():
            raise ValueError(f"{cli[key]}: no such {key} file")
    resolver = ConfigResolver(args.config, cli, isolated=args.isolated)
    resolver.prefetch(args.paths)
    return resolver


def _show_settings(args: argparse.Namespace, resolver: ConfigResolver) -> int:
    """``--show-settings``: each path's effective configuration, as TOML, then exit 0."""
    import json

    def value(v: object) -> str:
        if isinstance(v, tuple):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return json.dumps(v, ensure_ascii=False)

    def setting(key: str, v: object) -> None:
        print(f"# {key}: not set" if v is None else f"{key} = {value(v)}")

    for raw in args.paths:
        config = resolver.for_path(None if raw == "-" else raw)
        print(f"# {raw}")
        print("# layers, weakest first: " + (", ".join(config.sources) or "defaults"))
        for key in ("select", "ignore", "fail_on", "fail_on_verdict", "fail_above"):
            setting(key, getattr(config, key))
        for key in ("min_confidence", "baseline", "decisions", "mt", "lm", "lm_reference"):
            setting(key, getattr(config, key))
        setting("model", config.model)
        print(f"lexicons = {value(tuple(path for _, path in config.lexicons))}")
        print(f"vocabulary = {value(config.vocabulary)}")
        print(f"gitignore = {json.dumps(not args.no_gitignore)}")
        for base, patterns in resolver.exclude_specs():
            print(f"# exclude, relative to {base}")
            print(f"exclude = {value(patterns)}")
        if config.severity:
            print("[severity]")
            for code, level in config.severity:
                print(f"{code} = {value(level)}")
        print()
    return ExitCode.OK


def _auditor_pool(args: argparse.Namespace, resolver: ConfigResolver | None = None) -> AuditorPool:
    """An AuditorPool over the layered configuration (``resolver``, else the args')."""
    from mtaudit.pipeline import AuditorPool

    resolver = resolver or _resolver(args)
    known_cache: dict[tuple[str | None, str | None], KnownFindings] = {}
    results = _result_cache_dir(args)

    def options_for(config: Config) -> AuditOptions:
        return _audit_options(config, args.mt_cache, known_cache, results)

    first = next((p for p in args.paths if p != "-"), None)
    return AuditorPool(
        lambda doc: resolver.for_file(doc.path), options_for, resolver.for_path(first)
    )


def _result_cache_dir(args: argparse.Namespace) -> str | None:
    """The result cache's folder; None with --no-cache and on Ray (which resumes by shard)."""
    if getattr(args, "no_cache", False) or getattr(args, "engine", "local") == "ray":
        return None
    if getattr(args, "cache_dir", None):
        return args.cache_dir
    from mtaudit.cachedir import default_cache_dir

    return str(default_cache_dir())


def _audit_options(
    config: Config,
    mt_cache: str | None,
    known_cache: dict[tuple[str | None, str | None], KnownFindings],
    result_cache: str | None = None,
) -> AuditOptions:
    """AuditOptions for an effective Config; baseline/decisions files load once per scan."""
    from mtaudit.config import ConfigError
    from mtaudit.known.baseline import load_known
    from mtaudit.known.decisions import DEFAULT_DECISIONS
    from mtaudit.model import parse_fail_on_verdict
    from mtaudit.pipeline import AuditOptions

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
        result_cache_dir=result_cache,
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
    from mtaudit.ingest import count_inputs

    summary = Summary()
    started = time.perf_counter()
    unwritten: list[str] = []  # outputs that could not be committed
    # One stderr console for the run: the progress bar and every message go through it,
    # so a message prints above the bar instead of through it.
    progress = _Progress(enabled=not args.quiet and sys.stderr.isatty())
    on_screen = progress.enabled and sys.stdout.isatty()  # report and bar share a screen
    stdout = _StdoutGuard(sys.stdout, before_write=progress.hide if on_screen else None)
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
            failed = auditor.fails(item)
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
            new = self.auditor.audit(item)
            return self.changed.restrict(new) if self.changed is not None else new
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


def _warn_unused_suppressions(report: DocumentReport, progress: _Progress) -> None:
    """One stderr line per inline suppression that silenced nothing (or is unreadable)."""
    doc = report.document
    for entry in doc.meta.get("unused_suppressions", ()):
        where = f"{doc.id}:{entry['line']}" if entry.get("line") else doc.id
        why = f" ({entry['problem']})" if entry.get("problem") else ""
        progress.message(f"mtaudit: warning: {where}: unused suppression '{entry['comment']}'{why}")


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
            )
            self._bar.start()
            self._task = self._bar.add_task("scan", total=self.total, completed=self.count)
        self._bar.update(self._task, completed=self.count)

    def hide(self) -> None:
        """Erase the bar (it is transient) until the next :meth:`advance`."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def close(self) -> None:
        self.hide()


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
