"""The ``mtaudit scan`` command line: every flag, its help and its parser.

Kept apart from :mod:`mtaudit.cli` (which registers the commands) so the scan's flags are
declared once and read in one place.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from mtaudit.cliargs import add_audit_arguments, add_config_arguments, csv_list, int_at_least

_count = int_at_least(0, "auto, 0 (one per CPU) or more")


def _jobs(value: str) -> int | None:
    """``--jobs``: a number of processes, or ``auto`` (None)."""
    if value.strip().lower() == "auto":
        return None
    if not value.strip().isdigit():
        raise argparse.ArgumentTypeError(f"not auto or a whole number: {value!r}")
    return _count(value)


def add_scan_parser(
    sub: Any, epilog: str, handler: Callable[[argparse.Namespace], int]
) -> argparse.ArgumentParser:
    """Register ``scan`` on the ``sub`` subparsers, calling ``handler`` with its arguments."""
    from mtaudit.report import FORMATS

    scan = sub.add_parser(
        "scan",
        help="scan files, folders or stdin",
        description="Scan .txt, .md, .html and .jsonl inputs (folders recursively; '-' is stdin).",
        epilog=epilog,
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
    bt = scan.add_argument_group("back-translation")
    gate = scan.add_argument_group("gate")
    # Declared once for scan and serve: the same checks and messages in both.
    add_audit_arguments(sel, bt, gate)
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
    gate.add_argument(
        "--decisions",
        metavar="FILE",
        default=None,
        help="review decisions to apply (default: .mtaudit/decisions.json when it exists); "
        "dismissed findings are dropped, edited suggestions used",
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
        metavar="N|auto",
        help="audit on N processes (0: one per CPU; 1: this process only). Default auto: "
        "this process, then one per CPU once the speed measured leaves 1.5 s or more of "
        "auditing in the input read ahead (Linux). "
        "Reports are identical to a single-process scan. With --engine ray: the number of "
        "Ray workers (default: every CPU of the cluster)",
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
    scan.set_defaults(func=handler)
    return scan
