"""Argument parsing shared by the commands (``scan``, ``show``, ``review``, ``serve``).

argparse ``type=`` functions, the ``--config``/``--isolated`` pair and the audit flags
(:func:`add_audit_arguments`, declared once for ``scan`` and ``serve``), so every command
checks a flag the same way and says the same thing when it is wrong. Only the commands
import this module: nothing below them parses a command line.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from mtaudit.model import Severity, parse_fail_on_verdict


def int_at_least(minimum: int, bound: str) -> Callable[[str], int]:
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


def csv_list(value: str) -> list[str]:
    """A comma-separated list, blanks dropped (``--select idiom,calque``)."""
    return [v for v in (p.strip() for p in value.split(",")) if v]


def probability(value: str) -> float:
    """A number between 0 and 1 (``--fail-above``, ``--min-confidence``)."""
    try:
        p = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not 0.0 <= p <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {value}")
    return p


def verdict_level(value: str) -> str:
    """``--fail-on-verdict``: a verdict name or "none" (checked, lower-cased)."""
    try:
        parse_fail_on_verdict(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value.strip().lower()


def severity(value: str) -> Severity:
    """A severity name (``--fail-on``, ``show --min-severity``)."""
    try:
        return Severity.parse(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_config_arguments(parser: Any, purpose: str = "flags still win") -> None:
    """``--config FILE`` and ``--isolated``, the same for every command that reads config
    files (``parser`` is an argparse parser or argument group)."""
    parser.add_argument(
        "--config",
        metavar="FILE",
        default=None,
        help="a config file (mtaudit.toml or pyproject.toml) applied over the discovered "
        f"ones; {purpose}",
    )
    parser.add_argument(
        "--isolated",
        action="store_true",
        help="ignore the user's and the project's config files (--config still applies)",
    )


#: The audit flags that are also configuration keys (:mod:`mtaudit.config`): a flag wins
#: over every config file. ``scan`` adds ``baseline`` and ``decisions``.
AUDIT_CONFIG_FLAGS = (
    "select",
    "ignore",
    "min_confidence",
    "model",
    "lm",
    "lm_reference",
    "mt",
    "back_translate",
    "fail_on",
    "fail_on_verdict",
    "fail_above",
)


def add_audit_arguments(
    selection: Any, backtranslation: Any = None, gate: Any = None, *, fails: str = "exit 1"
) -> None:
    """The flags that say what an audit checks and when a document fails, declared once
    for ``scan`` and ``serve`` (each is a config key: see :data:`AUDIT_CONFIG_FLAGS`).

    ``selection`` gets --select, --ignore, --lm, --lm-reference, --model and
    --min-confidence; ``backtranslation`` gets --mt and ``gate`` --fail-on,
    --fail-on-verdict and --fail-above (each defaults to ``selection``: one group).
    ``fails`` words what failing the gate does ("exit 1", "pass=false"). Every default is
    None, so that an absent flag leaves the config files' value.
    """
    backtranslation = backtranslation if backtranslation is not None else selection
    gate = gate if gate is not None else selection
    selection.add_argument(
        "--select",
        type=csv_list,
        default=None,
        metavar="CODES",
        help="comma-separated code prefixes or categories to enable (default: all)",
    )
    selection.add_argument(
        "--ignore",
        type=csv_list,
        default=None,
        metavar="CODES",
        help="comma-separated code prefixes or categories to disable",
    )
    selection.add_argument(
        "--lm",
        default=None,
        metavar="SPEC",
        help="fluency LM: ngram (default), transformers (SmolLM2) or transformers:PATH",
    )
    selection.add_argument(
        "--lm-reference",
        default=None,
        metavar="FILE",
        help="fluency calibration file for --lm (default: the bundled one)",
    )
    selection.add_argument(
        "--model",
        choices=("default", "deep"),
        default=None,
        help="statistical model: default (cheap features), or deep (adds SmolLM2 features "
        "to the machine-vs-human question; needs 'make neural'; about 1 s of CPU a document)",
    )
    selection.add_argument(
        "--min-confidence",
        type=probability,
        default=None,
        metavar="P",
        help="drop findings below this confidence (0-1; default 0)",
    )
    backtranslation.add_argument(
        "--mt",
        default=None,
        metavar="ENGINE",
        help="engine that back-translates suspect spans: auto (apertium if installed, else "
        "dictionary), dictionary, apertium, marian[:PATH], or off",
    )
    backtranslation.add_argument(
        "--back-translate",
        type=csv_list,
        default=None,
        metavar="CATEGORIES",
        help="finding categories to back-translate (default: idiom,calque,untranslated; "
        "add fluency for the LM's disfluent sentences, at about twice the engine time)",
    )
    gate.add_argument(
        "--fail-on",
        type=severity,
        default=None,
        metavar="SEVERITY",
        help=f"{fails} on a finding at or above: info, warning, error (default: error)",
    )
    gate.add_argument(
        "--fail-on-verdict",
        type=verdict_level,
        default=None,
        metavar="VERDICT",
        help=f"{fails} on a document whose verdict is at or above: machine-translated "
        "(default), suspect, translated, or none (verdicts never fail the gate)",
    )
    gate.add_argument(
        "--fail-above",
        type=probability,
        default=None,
        metavar="P",
        help=f"{fails} when a document's mt_probability is at or above P",
    )


def config_flags(args: argparse.Namespace, names: tuple[str, ...] = AUDIT_CONFIG_FLAGS) -> dict:
    """The config keys given on the command line, as :class:`~mtaudit.config.ConfigResolver`
    takes them (``--fail-on`` as its label)."""
    given = {k: getattr(args, k) for k in names if getattr(args, k, None) is not None}
    if isinstance(given.get("fail_on"), Severity):
        given["fail_on"] = given["fail_on"].label
    return given
