"""The MT201/MT202 calque lexicon compiled: entries checked, regexes, literal anchors.

``lexicons/calques-LANG.toml`` entries become :class:`CalquePattern` objects. Compiling a
few hundred regexes and working out their anchors costs about a second, which every scan
and every one-file pre-commit run paid again, so the compiled list is kept in the index
cache (:mod:`mtaudit.indexcache`, keyed by the lexicon files and this code) and each regex
is compiled on first use only: most patterns never run on a given document, because their
anchors are absent from it.
"""

from __future__ import annotations

import _sre  # the regex engine's own lower case (fold_case)
import re
import unicodedata
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
_INDEX_VERSION = 2

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
# "mandatar", "in full"), so each pattern carries ``anchors``: a small set of case-folded
# strings of which every match contains at least one. A pattern whose anchors are absent
# from a document (then from a sentence) is skipped without running its regex. The
# analysis is conservative: wherever it is unsure it returns None and the pattern always
# runs, so the prefilter never changes what is found, only how fast.


def _case_classes() -> dict[str, tuple[str, ...]]:
    """Lower-case characters that a case-insensitive regex treats as one letter beyond
    what ``str.lower`` merges ('s' and long 's', 'i' and dotless 'i', the two sigmas)."""
    try:  # Python 3.11+
        from re._casefix import _EXTRA_CASES as extra  # type: ignore[import-not-found]
    except ImportError:  # pragma: no cover - Python 3.10
        from sre_compile import _ignorecase_fixes as extra  # type: ignore[attr-defined]
    return {chr(k): tuple(chr(c) for c in v) for k, v in extra.items()}


def _fold_table() -> dict[int, str]:
    """Each member of a case class -> the class's smallest member (ASCII where there is one)."""
    table: dict[int, str] = {}
    for ch, others in _case_classes().items():
        rep = min((ch, *others))
        if ch != rep:
            table[ord(ch)] = rep
    return table


_FOLD = _fold_table()
_FOLD_NEEDED = re.compile("[" + "".join(re.escape(chr(c)) for c in _FOLD) + "]")


def fold_case(text: str) -> str:
    """``text`` lower-cased the way a case-insensitive regex compares it, one character for
    one (offsets stay valid): a match of a pattern then folds to a string that contains the
    folded form of each literal it matched, which is what makes anchors sound.

    ``str.lower`` alone is not enough: ``re.IGNORECASE`` also matches 's' to 'ſ' and 'i' to
    'ı' (which lower-case to themselves) and 'i' to 'İ' (which lower-cases to two
    characters), and lower-cases the last sigma of a word by its context.
    """
    low = text.lower()
    if len(low) != len(text):  # 'İ' -> 'i̇': the regex engine lower-cases it to 'i' alone
        low = "".join(chr(_sre.unicode_tolower(ord(c))) for c in text)
    if not low.isascii() and _FOLD_NEEDED.search(low):
        low = low.translate(_FOLD)
    return low


# An anchor set is as selective as its weakest member: a common word or a single character
# is in nearly every sentence, so a set with one filters nothing.
_MIN_STRENGTH = 2
# Words in nearly every sentence: as anchors they would filter nothing, so any other
# required literal of the pattern is preferred to them. The two-letter ones are also
# inside countless longer words ("to" in "tomorrow", "history").
_COMMON = frozenset(
    "the and for that with this from was were are has have had its his her their will "
    "not but which who one all been said also more than they she you our out about "
    "of to in on at is it an as by be he we or if no so up us".split()
)
# Characters rare enough in prose to filter like a word: "%" is in a sentence that gives a
# percentage and in few others.
_RARE_CHARS = frozenset("%$€£¥&@#§")
# A run of exact alternatives is multiplied out ("(?:Mr|Ms)\.?" -> "mr", "mr.", "ms", "ms.")
# up to this many strings; past it the run is cut and its pieces stand alone.
_MAX_EXACT = 64


def _weight(literal: str) -> int:
    """How selective one literal is, about its length (common words and characters: 1)."""
    if literal in _COMMON:
        return 1
    if len(literal) == 1 and literal in _RARE_CHARS:
        return 3
    return len(literal)


def _strength(option: frozenset[str]) -> tuple[int, int]:
    """How selective an anchor set is: its weakest member's weight, then fewer members
    first."""
    return min(_weight(a) for a in option), -len(option)


def required_literals(regex: re.Pattern[str] | LazyRegex) -> tuple[str, ...] | None:
    """Case-folded literals (:func:`fold_case`) one of which every match of ``regex``
    contains, or None when the pattern has no useful set of them.

    Each alternative of a group contributes its own best literal, and alternatives next to
    literal text are multiplied out with it ("CP(?:I|MI)" -> "cpi", "cpmi"), so that
    patterns made of short alternatives still get anchors.
    """
    return _useful(_seq_info(list(_sre_parse.parse(regex.pattern, regex.flags)))[1])


def group_literals(regex: re.Pattern[str], name: str) -> tuple[str, ...] | None:
    """Like :func:`required_literals`, for the text that the group ``name`` matches; None
    also when the group is not an item of the pattern's top-level sequence (inside an
    alternative or an optional part, it does not take part in every match)."""
    number = regex.groupindex[name]
    for op, av in _sre_parse.parse(regex.pattern, regex.flags):
        if str(op) == "SUBPATTERN" and av[0] == number:
            return _useful(_seq_info(list(av[-1]))[1])
    return None


def _useful(found: frozenset[str] | None) -> tuple[str, ...] | None:
    """An anchor set as anchors (sorted), or None if it would filter (almost) nothing."""
    if not found or _strength(found)[0] < _MIN_STRENGTH:
        return None
    return tuple(sorted(found))


# What the analysis knows of a piece of pattern: ``exact``, every string it can match
# (folded; None when unknown or too many), and ``best``, the most selective anchor set
# found in it (None when it has none: it may match the empty string).
_Info = tuple[frozenset[str] | None, frozenset[str] | None]
_EMPTY: frozenset[str] = frozenset({""})


def _minimal(strings: frozenset[str]) -> frozenset[str] | None:
    """An anchor set from the strings one of which a match contains: those containing
    another member are dropped (that member is then present too); None when one of them
    is empty (the requirement is then void)."""
    if "" in strings:
        return None
    kept: list[str] = []
    for s in sorted(strings, key=len):
        if not any(k in s for k in kept):
            kept.append(s)
    return frozenset(kept)


def _product(left: frozenset[str], right: frozenset[str]) -> frozenset[str] | None:
    """Every concatenation of a string of ``left`` and one of ``right``, or None if too many."""
    if len(left) * len(right) > _MAX_EXACT:
        return None
    return frozenset(a + b for a in left for b in right)


def _seq_info(items: list[tuple[Any, Any]]) -> _Info:
    """A sequence: every item must match, so any one item's anchor set will do, and so will
    the strings a run of consecutive exact items spells out together."""
    options: list[frozenset[str]] = []
    run: frozenset[str] = _EMPTY  # the exact strings of the current run of items
    whole: frozenset[str] | None = _EMPTY  # the exact strings of the whole sequence

    def flush() -> None:
        option = _minimal(run)
        if option:
            options.append(option)

    for op, av in items:
        exact, best = _item_info(str(op), av)
        if best:
            options.append(best)
        if exact is None:
            flush()
            run, whole = _EMPTY, None
            continue
        joined = _product(run, exact)
        if joined is None:  # too many: keep the run so far as an option and restart here
            flush()
            joined = exact
        run = joined
        whole = _product(whole, exact) if whole is not None else None
    flush()
    return whole, max(options, key=_strength) if options else None


def _item_info(name: str, av: Any) -> _Info:
    if name == "LITERAL":
        return frozenset({fold_case(chr(av))}), None
    if name == "IN":  # a class of plain characters, as "[sz]", "['’]" or "[0-5]"
        return _class_exact(av), None
    if name in ("AT", "ASSERT", "ASSERT_NOT"):  # zero-width: add nothing to the text matched
        return _EMPTY, None
    if name == "SUBPATTERN":  # (group, add_flags, del_flags, items): folding covers any case
        return _seq_info(list(av[-1]))
    if name == "ATOMIC_GROUP":
        return _seq_info(list(av))
    if name == "BRANCH":
        alts = [_seq_info(list(alt)) for alt in av[1]]
        exact: frozenset[str] | None = None
        if all(e is not None for e, _ in alts):
            union = frozenset().union(*(e for e, _ in alts if e is not None))
            exact = union if len(union) <= _MAX_EXACT else None
        if any(b is None for _, b in alts):
            return exact, None  # one alternative without a literal: no requirement
        return exact, _minimal(frozenset().union(*(b for _, b in alts if b is not None)))
    if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
        low, high, body = av
        body_exact, body_best = _seq_info(list(body))
        return _repeat_exact(body_exact, low, high), body_best if low >= 1 else None
    return None, None  # other classes, any character, back-references: nothing known


def _class_exact(items: list[tuple[Any, Any]]) -> frozenset[str] | None:
    """The characters a class matches, if it lists them (or a short range of caseless
    ones, as "[0-5]") and does not negate them."""
    chars: set[str] = set()
    for op, av in items:
        if str(op) == "LITERAL":
            chars.add(fold_case(chr(av)))
        elif str(op) == "RANGE" and av[1] - av[0] < 16:
            span = [chr(c) for c in range(av[0], av[1] + 1)]
            # A case-insensitive range also matches what upper-cases into it: caseless
            # characters (digits, punctuation) have no such others.
            if any(c.lower() != c or c.upper() != c for c in span):
                return None
            chars.update(span)
        else:  # NEGATE, CATEGORY (\d matches every script's digits), long ranges
            return None
    return frozenset(chars) if len(chars) <= _MAX_EXACT else None


def _repeat_exact(body: frozenset[str] | None, low: int, high: int) -> frozenset[str] | None:
    """The exact strings of ``body`` repeated ``low`` to ``high`` times, if few."""
    if body is None or high > 3:  # "+", "*" and long counts: unbounded or too many
        return None
    out: set[str] = set()
    power: frozenset[str] | None = _EMPTY
    for count in range(high + 1):
        if power is None:
            return None
        if count >= low:
            out |= power
        power = _product(power, body)
    return frozenset(out) if len(out) <= _MAX_EXACT else None


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
    # Anchors are case-folded by Python's Unicode tables (fold_case): cached per version.
    key = indexcache.digest("calque", inputs, [f"v{_INDEX_VERSION}", unicodedata.unidata_version])
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
