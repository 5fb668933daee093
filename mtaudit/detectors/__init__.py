"""The detector registry and code/category selection.

Each detector family lives in its own module and is listed in ``_MODULES``; the
registry imports them on first use. Selection follows flake8/ruff: ``select`` and
``ignore`` take code prefixes (``MT4``, ``MT401``) or category names, and for each
code the most specific matching entry wins.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from mtaudit.detectors.base import Context, Detector, Rule
from mtaudit.model import CATEGORIES

__all__ = ["Context", "Detector", "Rule", "Selection", "detector_classes", "all_rules"]

# Order matters only for display; codes never depend on it.
_MODULES: tuple[str, ...] = (
    "idiom",
    "calque",
    "untranslated",
    "punctuation",
    "boilerplate",
    "fluency",
)


@cache
def detector_classes() -> tuple[type[Detector], ...]:
    """Import every registered detector module and return its detector classes."""
    classes: list[type[Detector]] = []
    for name in _MODULES:
        try:
            module = importlib.import_module(f"mtaudit.detectors.{name}")
        except ModuleNotFoundError as exc:
            # A family not written yet must not break the others.
            if exc.name == f"mtaudit.detectors.{name}":
                continue
            raise
        classes.extend(getattr(module, "DETECTORS", ()))
    return tuple(classes)


def all_rules() -> list[Rule]:
    """Every rule of every detector, sorted by code."""
    return sorted((r for d in detector_classes() for r in d.rules), key=lambda r: r.code)


def _category_prefix() -> dict[str, str]:
    return {cls.category: cls.prefix for cls in detector_classes()}


@dataclass(frozen=True)
class Selection:
    """Which codes are enabled: most specific of ``select``/``ignore`` wins."""

    select: tuple[str, ...] = ("MT",)
    ignore: tuple[str, ...] = ()

    @classmethod
    def build(cls, select: Iterable[str] | None, ignore: Iterable[str] | None) -> Selection:
        """Normalise user input (codes or category names), raising ValueError on unknowns."""
        return cls(
            tuple(_normalise(s) for s in (select or ("MT",))),
            tuple(_normalise(s) for s in (ignore or ())),
        )

    def enabled(self, code: str) -> bool:
        best_sel = max((len(p) for p in self.select if code.startswith(p)), default=-1)
        best_ign = max((len(p) for p in self.ignore if code.startswith(p)), default=-1)
        # Ties go to ignore: "select MT4, ignore MT4" reads as "off".
        return best_sel > best_ign

    def wants_detector(self, det: type[Detector]) -> bool:
        return any(self.enabled(r.code) for r in det.rules)


def _normalise(token: str) -> str:
    token = token.strip()
    if token.lower() in CATEGORIES:
        prefixes = _category_prefix()
        if token.lower() not in prefixes:
            raise ValueError(f"no detector is installed for category {token!r}")
        return prefixes[token.lower()]
    upper = token.upper()
    if not upper.startswith("MT") or not upper[2:].isdigit() and upper != "MT":
        raise ValueError(
            f"unknown code or category {token!r}; use a code prefix such as MT4 or MT401, "
            f"or one of: {', '.join(CATEGORIES)}"
        )
    return upper


def build_detectors(context: Context, selection: Selection) -> list[Detector]:
    """Instantiate the detectors that have at least one enabled rule."""
    return [
        cls(context, [r.code for r in cls.rules if selection.enabled(r.code)])
        for cls in detector_classes()
        if selection.wants_detector(cls)
    ]
