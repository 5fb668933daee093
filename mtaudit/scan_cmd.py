"""``mtaudit scan``: from the command line's arguments to the engine's options and a run.

Configuration files, flags and their precedence become one :class:`AuditOptions` per
configuration (:func:`audit_options`); :mod:`mtaudit.scan_run` runs the scan.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from mtaudit.cliargs import AUDIT_CONFIG_FLAGS, config_flags
from mtaudit.model import ExitCode
from mtaudit.scan_run import fail, parse_report_arg, run_scan

if TYPE_CHECKING:
    from mtaudit.auditors import AuditorPool
    from mtaudit.config import Config, ConfigResolver
    from mtaudit.known.baseline import KnownFindings
    from mtaudit.model import Document
    from mtaudit.pipeline import AuditOptions


def cmd_scan(args: argparse.Namespace) -> int:
    from mtaudit.changed import ChangedError, ChangedLines
    from mtaudit.config import ConfigError
    from mtaudit.fluency import FluencyUnavailable
    from mtaudit.ingest import DEFAULT_INCLUDE, DEFAULT_MAX_BYTES, IngestOptions, finds_nothing
    from mtaudit.lexicons import LexiconError

    if args.write_baseline and args.changed_since:
        return fail("--write-baseline records a whole scan; it cannot take --changed-since")
    if problem := _engine_problem(args) or _fix_problem(args):
        return fail(problem)
    try:
        resolver = _resolver(args)
    except (ValueError, LexiconError) as exc:  # ConfigError names the file and line
        return fail(str(exc))
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
        return fail(
            f"no input files found in {', '.join(args.paths)} "
            f"(looked for {', '.join(ingest.include)})"
        )
    auditor = None
    _first_build_notice(args)
    try:
        extra = [parse_report_arg(r) for r in args.report]
        auditor = _auditor_pool(args, resolver)
        auditor.preload()  # a missing LM or lexicon error shows before scanning starts
    except (ValueError, LexiconError, FluencyUnavailable) as exc:
        if auditor is not None:
            auditor.close()  # what preload started (the idiom matcher's lt-proc stages)
        return fail(str(exc))
    if args.engine == "ray":
        try:
            return _exit_zero(args, _run_ray(args, auditor, ingest))
        finally:
            auditor.close()
    try:
        changed = ChangedLines(args.changed_since, args.paths) if args.changed_since else None
        status = run_scan(args, auditor, ingest, extra, changed)
    except (ConfigError, ChangedError, LexiconError, FluencyUnavailable) as exc:
        # A config file in a subfolder (or git) can still fail mid-scan; reports are aborted.
        return fail(str(exc))
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
_CONFIG_FLAGS = (*AUDIT_CONFIG_FLAGS, "baseline", "decisions")


def _resolver(args: argparse.Namespace) -> ConfigResolver:
    """The layered configuration (user, project, --config, flags), every file parsed."""
    from mtaudit.config import ConfigResolver

    cli = config_flags(args, _CONFIG_FLAGS)
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
    from mtaudit.auditors import AuditorPool

    resolver = resolver or _resolver(args)
    known_cache: dict[tuple[str | None, str | None], KnownFindings] = {}
    results = _result_cache_dir(args)

    def options_for(config: Config) -> AuditOptions:
        return _audit_options(config, args.mt_cache, known_cache, results)

    # The records of a JSONL or CSV file come one after another and share its config: the
    # last file's is kept (a re-scan from the result cache spent ~15% of its time here).
    last_path: object = object()
    last_config: Config | None = None

    def config_for(doc: Document) -> Config:
        nonlocal last_path, last_config
        if last_config is None or doc.path != last_path:
            last_path, last_config = doc.path, resolver.for_file(doc.path)
        return last_config

    first = next((p for p in args.paths if p != "-"), None)
    return AuditorPool(config_for, options_for, resolver.for_path(first))


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
    from mtaudit.options import options_from_config

    return options_from_config(config, mt_cache, known_cache, result_cache)


def _first_build_notice(args: argparse.Namespace) -> None:
    """On a terminal (where the progress bar would show), say why the first scan after an
    install or upgrade is slow: it builds the caches (:func:`mtaudit.cachedir.building`)."""
    import sys

    from mtaudit import cachedir

    if args.quiet or not sys.stderr.isatty():
        cachedir.on_first_build(None)
        return

    def notice(_what: str) -> None:
        print(
            "mtaudit: building word tables and idiom indexes in "
            f"{cachedir.default_cache_dir()} (once after an install or upgrade; "
            "about half a minute)...",
            file=sys.stderr,
            flush=True,
        )

    cachedir.on_first_build(notice)


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
        return fail("--engine ray needs Ray: pip install 'mtaudit[ray]'")
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
