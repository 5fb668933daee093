"""Argument parsing shared by the commands (``scan``, ``show``, ``review``, ``serve``).

argparse ``type=`` functions and the ``--config``/``--isolated`` pair, so every command
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
