"""Command line: ``mtaudit scan | rules | explain``.

Each subcommand is a small function; the scan loop streams results to reporters so the
CLI holds one document at a time. Exit codes are :class:`mtaudit.model.ExitCode`.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
import threading
from collections.abc import Sequence
from typing import NoReturn

from mtaudit import __version__
from mtaudit.model import ExitCode
from mtaudit.scan_run import fail, silence_stdout

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


#: Subcommands registered from their own modules, imported only when named (a one-file
#: scan, a pre-commit hook, must not pay for the review UI or the HTTP service): each
#: module's ``add_parser`` and the help line ``mtaudit --help`` shows without importing it.
_LAZY_COMMANDS = {
    "show": ("mtaudit.show", "re-render a saved JSON report in the terminal"),
    "review": ("mtaudit.review", "triage a saved JSON report interactively"),
    "serve": ("mtaudit.server", "run the HTTP check service (POST /v1/audit)"),
}


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The CLI's parser. With ``argv``, subcommands other than the one it names are
    placeholders (their help line only), so their modules are not imported; without it,
    every subcommand is complete."""
    from mtaudit.scan_args import add_scan_parser
    from mtaudit.scan_cmd import cmd_scan

    parser = _Parser(
        prog="mtaudit",
        description="Audit English news text for signs of machine translation.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"mtaudit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    add_scan_parser(sub, EPILOG, cmd_scan)

    rules = sub.add_parser("rules", help="list every finding code")
    rules.set_defaults(func=cmd_rules)
    explain = sub.add_parser("explain", help="explain one finding code")
    explain.add_argument("code", metavar="CODE")
    explain.set_defaults(func=cmd_explain)

    named = _command_of(argv) if argv is not None else None
    for name, (module, help_line) in _LAZY_COMMANDS.items():
        if argv is None or name == named:
            importlib.import_module(module).add_parser(sub)
        else:
            sub.add_parser(name, help=help_line)
    return parser


def _command_of(argv: Sequence[str]) -> str | None:
    """The subcommand ``argv`` names (its first argument not an option), if any."""
    return next((a for a in argv if not a.startswith("-")), None)


#: Exit status after SIGTERM, as a shell reports a process killed by it (128 + 15).
TERMINATED = 128 + signal.SIGTERM


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
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
        silence_stdout()
        return ExitCode.OK
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


def _terminate(signum: int, frame: object) -> NoReturn:
    """SIGTERM: abort unfinished outputs now, then unwind (ExitStacks, finally blocks)."""
    from mtaudit.atomicfile import abort_open_outputs

    abort_open_outputs()
    raise SystemExit(TERMINATED)


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
        return fail(f"unknown code {args.code!r}; run 'mtaudit rules' for the list")
    print(f"{rule.code} {rule.name} ({rule.category}, default severity {rule.severity.label})\n")
    print(f"What it flags:\n  {rule.summary}\n")
    print(f"Why it matters:\n  {rule.why}\n")
    print(f"Example:\n  {rule.example}\n")
    print(f"Fix:\n  {rule.fix}")
    return ExitCode.OK
