"""``mtaudit review REPORT.json``: triage a saved report's findings one by one.

For each finding the editor sees it in context and presses one key (no Enter): [a]ccept,
[d]ismiss (a false positive), [e]dit the suggestion, [s]kip, [u]ndo the last decision,
[q]uit, or [?] for what each one changes. Every decision is written to the decisions file
at once, atomically (temp file + rename), so quitting or a crash loses nothing; running
the command again resumes with the first undecided finding. Findings in the baseline are
known already and are not asked about (a count says how many).

Decisions are keyed by :func:`mtaudit.known.fingerprint.fingerprint` — code, document
id, the span's normalised text and a hash of its normalised sentence — not by offsets, so a decision survives edits
elsewhere in the document and re-scans. Identical findings in identical sentences of one
document share a decision. The default file is ``.mtaudit/decisions.json`` in the current
directory: decisions then carry over from one report to the next (``reports/latest.json``
is overwritten by every scan) and the file can be committed, which is what the planned
baseline/suppression feature will read.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from mtaudit.cliargs import add_config_arguments
from mtaudit.known.decisions import DEFAULT_DECISIONS, Decisions
from mtaudit.known.fingerprint import finding_fingerprint
from mtaudit.model import DocumentReport, Finding

if TYPE_CHECKING:
    from rich.console import Console


CHOICES = {
    "a": "accept",
    "d": "dismiss",
    "e": "edit",
    "s": "skip",
    "u": "undo",
    "q": "quit",
    "?": "help",
}
#: What each key does to later scans: the help ``?`` prints.
KEY_HELP = {
    "a": "accept  the finding is right: later scans keep reporting it, marked as reviewed "
    "(it still counts at the gate until the text is fixed)",
    "d": "dismiss  a false positive: later scans drop it from every report and from the gate",
    "e": "edit  type the replacement you want: later scans show it instead of the "
    "detector's suggestion (and --fix applies it)",
    "s": "skip  decide later: nothing is saved, the next review asks again",
    "u": "undo  take back the last decision (removed from the decisions file) and ask again",
    "q": "quit  stop here; every decision so far is already saved",
    "?": "help  this list",
}
DELETE_WORD = "!delete"


# ---------------------------------------------------------------- interaction


def _prompt_classes() -> tuple[type, type]:
    """rich prompts that read scripted input streams properly (EOF = quit, raw edits)."""
    from rich.prompt import Prompt

    class Ask(Prompt):
        @classmethod
        def get_input(cls, console: Any, prompt: Any, password: bool, stream: Any = None) -> str:
            line = super().get_input(console, prompt, password, stream=stream)
            if stream is not None:
                if line == "":  # end of a scripted stream: nobody is left to answer
                    raise EOFError
                line = line.rstrip("\r\n")
                console.print()  # the typed newline was not echoed to the console
            return line

    class RawAsk(Ask):
        # A replacement may begin or end with a space ("” "): keep it exactly.
        def process_response(self, value: str) -> str:
            return value

    return Ask, RawAsk


@dataclass
class ReviewResult:
    """What one review session did."""

    decided: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(("accept", "dismiss", "edit"), 0)
    )
    skipped: int = 0
    already: int = 0
    remaining: int = 0
    quit: bool = False
    #: findings in the baseline, not asked about
    baselined: int = 0


def stream_keys(stream: TextIO) -> Callable[[], str]:
    """Keys from a text stream (scripted or piped input): the first character of each
    non-blank line, so the edit prompt that may follow reads the next line; EOFError at
    the end."""

    def read() -> str:
        while True:
            line = stream.readline()
            if line == "":
                raise EOFError
            if line.strip():
                return line.strip()[0]

    return read


def terminal_key() -> str:
    """One key press from the terminal, without Enter (raw mode, restored after)."""
    import termios
    import tty

    fd = sys.stdin.fileno()
    old = termios.tcgetattr(fd)
    try:
        tty.setraw(fd)
        ch = os.read(fd, 4).decode("utf-8", "replace")[:1]
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, old)
    if ch in ("\x03",):  # Ctrl-C in raw mode is just a byte
        raise KeyboardInterrupt
    if ch in ("\x04", ""):  # Ctrl-D
        raise EOFError
    return ch


def default_key_reader(stream: TextIO | None) -> Callable[[], str]:
    """Single keys from the terminal; from ``stream`` (or piped stdin) one per character."""
    if stream is not None:
        return stream_keys(stream)
    if sys.stdin.isatty():
        return terminal_key
    return stream_keys(sys.stdin)


@dataclass
class _Asked:
    """A decision that ``undo`` can take back."""

    index: int
    key: str
    action: str
    previous: dict[str, Any] | None


def review(
    reports: list[tuple[DocumentReport, bool]],
    decisions: Decisions,
    console: Console,
    stream: TextIO | None = None,
    report_path: str = "",
    read_key: Callable[[], str] | None = None,
) -> ReviewResult:
    """Ask about every undecided finding; record each answer immediately.

    ``read_key`` returns one key press (tests inject one); by default keys come from the
    terminal in raw mode, or from ``stream``. The edit prompt reads a whole line.
    """
    from rich.text import Text

    from mtaudit.report import terminal_safe
    from mtaudit.report.terminal import context_text, evidence_lines, revision_text
    from mtaudit.segment import segment

    _, RawAsk = _prompt_classes()
    read_key = read_key or default_key_reader(stream)
    # "[a]ccept / [d]ismiss / …" as Text, so rich does not read "[a]" as markup.
    menu = Text(" / ").join(
        Text.assemble((f"[{key}]", "bold"), word[1:] if key != "?" else "help")
        for key, word in CHOICES.items()
    )
    result = ReviewResult()
    queue: list[tuple[DocumentReport, Finding, str]] = []
    queued: set[str] = set()
    baselined = 0
    for report, _failed in reports:
        seg = segment(report.document.text)
        for f in sorted(report.findings, key=lambda f: (f.start, f.end, f.code)):
            if f.baselined:
                baselined += 1  # known and excused from the gate: nothing to decide
                continue
            key = f.fingerprint or finding_fingerprint(report.document, f, seg)
            if key in decisions:
                result.already += 1
                continue
            if key in queued:  # the same finding in the same sentence: one decision covers both
                continue
            queued.add(key)
            queue.append((report, f, key))
    result.baselined = baselined
    if baselined:
        console.print(f"{baselined} baselined finding(s) skipped: they are in the baseline.")
    if result.already:
        console.print(f"{result.already} finding(s) already decided in {decisions.path}.")
    total = len(queue)
    history: list[_Asked] = []
    n = 0
    while n < total:
        report, f, key = queue[n]
        doc = report.document
        head = Text(f"[{n + 1}/{total}] ", style="muted")
        head.append(terminal_safe(doc.id, one_line=True), style="doc.id")
        head.append(f"  {f.code} ", style=f"cat.{f.category}")
        head.append(f"{f.category} ", style=f"cat.{f.category}")
        head.append(f.severity.label, style=f"sev.{f.severity.label}")
        console.print(head)
        console.print(Text("  " + terminal_safe(f.message, one_line=True)))
        console.print(Text("  ").append_text(context_text(doc.text, f)))
        if f.suggestion is not None:
            console.print(Text("  → ", style="suggestion").append_text(revision_text(doc.text, f)))
        for line in evidence_lines(f):
            console.print(Text("  " + line, style="evidence"))
        while True:
            console.print(menu, end=" ")
            try:
                pressed = read_key().lower()
            except EOFError:  # Ctrl-D, or the end of scripted input
                pressed = "q"
            console.print(pressed if pressed.isprintable() else "")
            if pressed in CHOICES:
                break
            console.print(Text(f"  '{terminal_safe(pressed, True)}' is not a key here; ? for help"))
        action = CHOICES[pressed]
        if action == "help":
            for line in KEY_HELP.values():
                console.print(Text("  " + line, style="muted"))
            console.print()
            continue
        if action == "undo":
            if not history:
                console.print(Text("  nothing to undo", style="muted"))
                continue
            last = history.pop()
            _, undone_f, undone_key = queue[last.index]
            if last.previous is None:
                decisions.forget(undone_key)
            else:
                decisions.record(undone_key, last.previous)
            result.decided[last.action] -= 1
            console.print(Text(f"  undid '{last.action}' of {undone_f.code}", style="muted"))
            console.print()
            n = last.index
            continue
        if action == "quit":
            result.quit = True
            result.remaining = total - n
            break
        if action == "skip":
            result.skipped += 1
            console.print()
            n += 1
            continue
        suggestion = f.suggestion
        if action == "edit":
            current = "(delete)" if f.suggestion == "" else (f.suggestion or "")
            try:
                # A Text prompt: document text must not be read as rich markup.
                typed = RawAsk.ask(
                    Text(
                        f"Replacement for '{terminal_safe(f.text, one_line=True)}' (Enter "
                        f"keeps '{terminal_safe(current, one_line=True)}', {DELETE_WORD} "
                        "deletes the span)"
                    ),
                    console=console,
                    stream=stream,
                    default=f.suggestion if f.suggestion is not None else "",
                    show_default=False,
                )
            except EOFError:
                result.quit = True
                result.remaining = total - n
                break
            suggestion = "" if typed == DELETE_WORD else typed
        history.append(_Asked(n, key, action, decisions.records.get(key)))
        decisions.record(
            key,
            {
                "decision": action,
                "code": f.code,
                "document": doc.id,
                "path": doc.path,
                "text": f.text,
                "suggestion": suggestion,
                "original_suggestion": f.suggestion,
                "message": f.message,
                "report": report_path,
                "decided_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            },
        )
        result.decided[action] += 1
        console.print(Text(f"  {_DONE[action]}", style="muted"))
        console.print()
        n += 1
    return result


#: What the editor is told after each decision: what it changes.
_DONE = {
    "accept": "accepted: kept in later scans, marked as reviewed",
    "dismiss": "dismissed: later scans drop it",
    "edit": "edited: later scans suggest your text",
}


# ---------------------------------------------------------------- command line


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``mtaudit review`` on the CLI's subparsers."""
    parser = subparsers.add_parser(
        "review",
        help="triage a saved JSON report interactively",
        description="Go through the findings of a JSON report (mtaudit scan -f json) one key "
        "press at a time: a accept (kept, marked reviewed), d dismiss (dropped from later "
        "scans), e edit (your suggestion replaces the detector's), s skip, u undo, q quit, "
        "? help. Decisions are saved after every answer; run again to resume. Baselined "
        "findings are not asked about.",
    )
    parser.add_argument("report", metavar="REPORT.json", help="a report written with -f json")
    parser.add_argument(
        "--decisions",
        metavar="FILE",
        default=None,
        help="where decisions are kept (default: the config's `decisions` setting, as "
        f"`mtaudit scan` reads it, else {DEFAULT_DECISIONS})",
    )
    add_config_arguments(parser, "only its `decisions` setting is used here")
    parser.set_defaults(func=cmd_review)
    return parser


def decisions_path(args: argparse.Namespace) -> Path:
    """``--decisions``, else the ``decisions`` setting of the config that applies in the
    current folder (the one ``mtaudit scan`` would use), else the default file. Reviews
    and later scans must agree on the file, or dismissals never reach the gate."""
    if args.decisions:
        return Path(args.decisions)
    from mtaudit.config import ConfigResolver

    # ConfigError is a ValueError that names the file and line: the caller reports it.
    config = ConfigResolver(args.config, {}, isolated=args.isolated).for_path(None)
    return Path(config.decisions) if config.decisions else DEFAULT_DECISIONS


def cmd_review(
    args: argparse.Namespace, console: Console | None = None, stream: TextIO | None = None
) -> int:
    """Run ``mtaudit review``; returns the exit status."""
    from mtaudit.model import ExitCode
    from mtaudit.report.reader import ReportError, load_report
    from mtaudit.report.terminal import make_console

    try:
        saved = load_report(args.report)
        decisions = Decisions.load(decisions_path(args))
    except (ReportError, ValueError) as exc:
        print(f"mtaudit: error: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    console = console or make_console(sys.stdout)
    result = review(saved.documents, decisions, console, stream, report_path=args.report)
    d = result.decided
    console.print(
        f"{d['accept']} accepted, {d['dismiss']} dismissed, {d['edit']} edited, "
        f"{result.skipped} skipped"
        + (f", {result.remaining} left for next time" if result.quit else "")
        + (f", {result.baselined} baselined not asked" if result.baselined else "")
        + f"; decisions in {decisions.path}"
    )
    return ExitCode.OK
