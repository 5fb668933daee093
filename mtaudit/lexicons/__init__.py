"""Lexicons: data files (TOML) with provenance, loaded and validated here.

Every file has a ``[meta]`` table (``kind``, ``language``, ``version``, ``provenance``)
and an array of entry tables whose name is the kind (``[[idiom]]``, ``[[calque]]``,
``[[boilerplate]]``, ...). ``FORMAT.md`` beside this file documents each kind. Errors
are reported as ``path:line: message`` (as vale does for rule files).
"""

from __future__ import annotations

import hashlib
import re
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

LEXICON_DIR = Path(__file__).parent

# Required keys per entry kind; anything else is optional and passed through.
REQUIRED: dict[str, tuple[str, ...]] = {
    "idiom": ("source", "meaning", "english", "literal", "provenance"),
    "calque": ("pattern", "source", "message", "suggestion", "provenance"),
    "boilerplate": ("pattern", "message", "provenance"),
    "english_idiom": ("phrase",),
    "loanword": ("word",),
    "quantifier": ("word", "number"),
}


class LexiconError(ValueError):
    """A lexicon file is malformed; ``str()`` is ``path:line: message``."""

    def __init__(self, path: Path | str, line: int | None, message: str) -> None:
        self.path, self.line = str(path), line
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {message}")


@dataclass
class Lexicon:
    """The entries of one lexicon file plus its metadata."""

    path: Path
    kind: str
    language: str | None
    version: str
    entries: list[dict[str, Any]] = field(default_factory=list)
    digest: str = ""


def load_file(path: Path | str, kind: str | None = None) -> Lexicon:
    """Load and validate one lexicon file.

    Args:
        path: the TOML file.
        kind: the expected entry kind; defaults to ``meta.kind``.

    Raises:
        LexiconError: with ``path:line`` on malformed TOML or a missing key.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise LexiconError(path, None, f"cannot read lexicon: {exc.strerror}") from None
    text = raw.decode("utf-8", errors="replace")
    try:
        data = parse_toml(text)
    except TomlError as exc:
        raise LexiconError(path, exc.line, f"invalid TOML: {exc.message}") from None
    meta = data.get("meta", {})
    kind = kind or meta.get("kind")
    if kind not in REQUIRED:
        raise LexiconError(path, 1, f"meta.kind must be one of {', '.join(REQUIRED)}")
    entries = data.get(kind, [])
    if not isinstance(entries, list):
        raise LexiconError(path, None, f"[[{kind}]] must be an array of tables")
    header_lines = [i + 1 for i, ln in enumerate(text.splitlines()) if ln.strip() == f"[[{kind}]]"]
    for i, entry in enumerate(entries):
        line = header_lines[i] if i < len(header_lines) else None
        missing = [k for k in REQUIRED[kind] if k not in entry or entry[k] in ("", [])]
        if missing:
            raise LexiconError(path, line, f"{kind} entry is missing {', '.join(missing)}")
        entry.setdefault("_line", line)
    return Lexicon(
        path=path,
        kind=kind,
        language=meta.get("language"),
        version=str(meta.get("version", "0")),
        entries=entries,
        digest=hashlib.sha256(raw).hexdigest()[:12],
    )


@cache
def builtin(kind: str, language: str | None = None) -> tuple[Lexicon, ...]:
    """The bundled lexicons of ``kind`` (optionally for one language), sorted by file name."""
    out = []
    for p in sorted(LEXICON_DIR.glob(f"{kind}*.toml")):
        lex = load_file(p)
        if lex.kind == kind and (language is None or lex.language == language):
            out.append(lex)
    return tuple(out)


def signature() -> str:
    """A short digest over every bundled lexicon: part of the report signature."""
    h = hashlib.sha256()
    for p in sorted(LEXICON_DIR.glob("*.toml")):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:10]


class TomlError(ValueError):
    """A TOML text that cannot be read: ``line`` (None when unknown) and ``message``."""

    def __init__(self, line: int | None, message: str) -> None:
        self.line, self.message = line, message
        super().__init__(message)


def parse_toml(text: str) -> dict[str, Any]:
    """``tomllib.loads`` whose every failure is a :class:`TomlError` with a line if any.

    Besides syntax errors, Python itself can refuse a value inside tomllib, with no
    position: an integer over the int-string conversion limit (a 5,000-digit number is a
    ValueError) or nesting deeper than the recursion limit. Config and lexicon errors must
    name the file and line, so those are located here too.
    """
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # Python 3.14 has .lineno; older ones put "(at line 3, column 7)" or "(at end of
        # document)" (the last line) in the message.
        line = getattr(exc, "lineno", None) or _line_from_message(str(exc))
        if line is None and "end of document" in str(exc):
            line = max(1, len(text.splitlines()))
        msg = getattr(exc, "msg", None) or re.sub(
            r"\s*\(at (?:line \d+, column \d+|end of document)\)", "", str(exc)
        )
        raise TomlError(line, msg) from None
    except RecursionError:
        raise TomlError(None, "arrays or tables nested too deeply") from None
    except ValueError as exc:
        limit = getattr(sys, "get_int_max_str_digits", lambda: 0)()
        # TOML integers may group digits with underscores; tomllib drops them for int().
        for m in re.finditer(r"[0-9][0-9_]*", text):
            digits = m.group().replace("_", "")
            if limit and len(digits) > limit:
                line = text.count("\n", 0, m.start()) + 1
                raise TomlError(
                    line, f"an integer of {len(digits)} digits (the most Python reads is {limit})"
                ) from None
        raise TomlError(None, str(exc).splitlines()[0] if str(exc) else repr(exc)) from None


def _line_from_message(msg: str) -> int | None:
    m = re.search(r"line (\d+)", msg)
    return int(m.group(1)) if m else None
