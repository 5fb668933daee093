"""The MT201/MT202 calque lexicon compiled: entries checked, regexes, literal anchors.

``lexicons/calques-LANG.toml`` entries become :class:`CalquePattern` objects. Compiling a
few hundred regexes and working out their anchors costs about a second, which every scan
and every one-file pre-commit run paid again, so the compiled list is kept in the index
cache (:mod:`mtaudit.indexcache`, keyed by the lexicon files and this code) and each regex
is compiled on first use only: most patterns never run on a given document, because their
anchors are absent from it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mtaudit.lexicons import LEXICON_DIR, Lexicon, LexiconError, builtin, load_file
from mtaudit.model import Severity

try:  # Python 3.11+
    from re import _parser as _sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - Python 3.10
    import sre_parse as _sre_parse  # type: ignore[no-redef]

# Bumped when the compiled form changes (the cache key also covers this file's bytes).
_INDEX_VERSION = 1

_CODE_BY_KIND = {"calque": "MT201", "false-friend": "MT202"}
_DEFAULT_CONFIDENCE = {"MT201": 0.7, "MT202": 0.6}
_SCOPES = ("sentence", "paragraph", "document")


class LazyRegex:
    """A regular expression compiled on first use; pickles as its source and flags.

    Stands in for ``re.Pattern`` (attribute access goes to the compiled pattern).
    """

    __slots__ = ("pattern", "flags", "_compiled")

    def __init__(self, pattern: str, flags: int, compiled: re.Pattern[str] | None = None):
        self.pattern = pattern
        self.flags = flags
        self._compiled = compiled

    @property
    def compiled(self) -> re.Pattern[str]:
        if self._compiled is None:
            self._compiled = re.compile(self.pattern, self.flags)
        return self._compiled

    def __getattr__(self, name: str) -> Any:
        return getattr(self.compiled, name)

    def __reduce__(self) -> tuple[Any, ...]:
        return (LazyRegex, (self.pattern, self.flags))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LazyRegex):
            return (self.pattern, self.flags) == (other.pattern, other.flags)
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.pattern, self.flags))

    def __repr__(self) -> str:
        return f"LazyRegex({self.pattern!r}, {self.flags})"


@dataclass(frozen=True)
class CalquePattern:
    """One compiled lexicon entry."""

    id: str
    code: str
    kind: str
    language: str | None
    regex: LazyRegex
    source: str
    message: str
    suggestion: str
    confidence: float
    severity: Severity | None = None
    require: LazyRegex | None = None
    forbid: LazyRegex | None = None
    scope: str = "sentence"
    example: str | None = None
    anchors: tuple[str, ...] | None = None  # lower-case; every match contains one of them


def _compile(path: Path | str, line: int | None, key: str, value: Any) -> LazyRegex:
    if not isinstance(value, str) or not value:
        raise LexiconError(path, line, f"{key} must be a non-empty string")
    try:  # compiled once here to check it; a cached lexicon compiles it on first use
        return LazyRegex(value, re.IGNORECASE, re.compile(value, re.IGNORECASE))
    except re.error as exc:
        raise LexiconError(path, line, f"bad {key} regex: {exc}") from None


def compile_entry(lex: Lexicon, entry: dict[str, Any]) -> CalquePattern:
    """Validate and compile one ``[[calque]]`` entry, raising LexiconError with path:line."""
    line = entry.get("_line")
    kind = entry.get("kind", "calque")
    if kind not in _CODE_BY_KIND:
        raise LexiconError(lex.path, line, f"kind must be one of {', '.join(_CODE_BY_KIND)}")
    code = entry.get("code", _CODE_BY_KIND[kind])
    if code not in ("MT201", "MT202"):
        raise LexiconError(lex.path, line, "code must be MT201 or MT202 (MT203/MT204 are built in)")
    scope = entry.get("scope", "sentence")
    if scope not in _SCOPES:
        raise LexiconError(lex.path, line, f"scope must be one of {', '.join(_SCOPES)}")
    try:
        severity = Severity.parse(entry["severity"]) if "severity" in entry else None
        confidence = float(entry.get("confidence", _DEFAULT_CONFIDENCE[code]))
    except (TypeError, ValueError) as exc:
        raise LexiconError(lex.path, line, str(exc)) from None
    regex = _compile(lex.path, line, "pattern", entry["pattern"])
    return CalquePattern(
        id=str(entry.get("id") or f"{lex.path.stem}:{line}"),
        code=code,
        kind=kind,
        language=entry.get("language", lex.language),
        regex=regex,
        source=str(entry["source"]),
        message=str(entry["message"]),
        suggestion=str(entry["suggestion"]),
        confidence=confidence,
        severity=severity,
        require=_compile(lex.path, line, "require", entry["require"])
        if "require" in entry
        else None,
        forbid=_compile(lex.path, line, "forbid", entry["forbid"]) if "forbid" in entry else None,
        scope=scope,
        example=entry.get("example"),
        anchors=required_literals(regex),
    )


# --- literal prefilter ---------------------------------------------------------------------
#
# Running a few hundred regular expressions over every sentence costs ~100 ms per article.
# Almost every pattern contains literal text that any match must include ("north american",
# "mandatar", "in full"), so each pattern carries ``anchors``: a small set of lower-case
# strings of which every match contains at least one. A pattern whose anchors are absent
# from a document (then from a sentence) is skipped without running its regex. The
# analysis is conservative: wherever it is unsure it returns None and the pattern always
# runs, so the prefilter never changes what is found, only how fast.

_MIN_ANCHOR = 3  # shorter literals ("a", "of") filter nothing; treat them as absent
# Words in nearly every sentence: as anchors they would filter nothing, so any other
# required literal of the pattern is preferred to them.
_COMMON = frozenset(
    "the and for that with this from was were are has have had its his her their will "
    "not but which who one all been said also more than they she you our out about".split()
)


def _strength(option: set[str]) -> tuple[int, int]:
    """How selective an anchor set is: its weakest member's length (common words count
    as 1), then fewer members first."""
    return min(1 if a in _COMMON else len(a) for a in option), -len(option)


def required_literals(regex: re.Pattern[str] | LazyRegex) -> tuple[str, ...] | None:
    """Lower-case literals one of which every match of ``regex`` contains, or None."""
    try:
        parsed = _sre_parse.parse(regex.pattern, regex.flags)
    except Exception:  # pragma: no cover - a compiled pattern always parses
        return None
    found = _seq_literals(list(parsed))
    if not found or _strength(found)[0] < _MIN_ANCHOR:
        return None
    return tuple(sorted(found))


def _seq_literals(items: list[tuple[Any, Any]]) -> set[str] | None:
    """Best anchor set for a sequence: every item of a sequence must match, so any one
    item's requirement (or any run of consecutive literal characters) will do."""
    options: list[set[str]] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            options.append({"".join(run).lower()})
            run.clear()

    for op, av in items:
        name = str(op)
        if name == "LITERAL":
            run.append(chr(av))
            continue
        flush()
        sub = _item_literals(name, av)
        if sub:
            options.append(sub)
    flush()
    if not options:
        return None
    return max(options, key=_strength)


def _item_literals(name: str, av: Any) -> set[str] | None:
    if name == "SUBPATTERN":
        return _seq_literals(list(av[-1]))
    if name == "BRANCH":
        union: set[str] = set()
        for alt in av[1]:
            sub = _seq_literals(list(alt))
            if not sub:
                return None  # one alternative without a literal: no requirement
            union |= sub
        return union
    if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
        low, _high, body = av
        return _seq_literals(list(body)) if low >= 1 else None
    if name == "ATOMIC_GROUP":
        return _seq_literals(list(av))
    return None  # classes, assertions, anchors, back-references: no literal requirement


def load_patterns(extra_files: tuple[str, ...] = ()) -> list[CalquePattern]:
    """Compile the built-in calque lexicons plus any user files (``calque_files`` option),
    or read them compiled from the index cache."""
    from mtaudit import indexcache

    inputs = [
        *sorted(LEXICON_DIR.glob("calque*.toml")),
        *extra_files,
        LEXICON_DIR / "__init__.py",
        Path(__file__),
    ]
    key = indexcache.digest("calque", inputs, [f"v{_INDEX_VERSION}"])
    return indexcache.cached(key, lambda: _build_patterns(extra_files))


def _build_patterns(extra_files: tuple[str, ...]) -> list[CalquePattern]:
    lexicons = list(builtin("calque")) + [load_file(p, "calque") for p in extra_files]
    out: list[CalquePattern] = []
    seen: dict[str, Path] = {}
    for lex in lexicons:
        for entry in lex.entries:
            pattern = compile_entry(lex, entry)
            if pattern.id in seen:
                raise LexiconError(
                    lex.path,
                    entry.get("_line"),
                    f"duplicate id {pattern.id!r} (also in {seen[pattern.id]})",
                )
            seen[pattern.id] = lex.path
            out.append(pattern)
    return out
