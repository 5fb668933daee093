"""Glossaries, idiom lexicons and the English idiom allowlist, loaded and compiled."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mtaudit.idiommatch.english import (
    PLACEHOLDERS,
    REFLEXIVES,
    TOKEN,
    base_forms,
    function_form,
    lemma_candidates,
)
from mtaudit.lexicons import (
    LEXICON_DIR,
    Lexicon,
    LexiconError,
    TomlError,
    load_file,
    parse_toml,
)

# --- lexicon loading -------------------------------------------------------------------


@dataclass
class Glossary:
    """A bilingual word list: source lemma -> English translations."""

    language: str
    words: dict[str, list[str]] = field(default_factory=dict)
    paths: list[str] = field(default_factory=list)


def load_glossary(path: Path | str) -> Glossary:
    """Load a ``glossary`` lexicon (``[meta]`` plus a ``[words]`` table).

    Raises:
        LexiconError: ``path:line: message`` when the file is not a valid glossary.
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
    except OSError as exc:
        raise LexiconError(path, None, f"cannot read glossary: {exc.strerror}") from None
    try:
        data = parse_toml(text)
    except TomlError as exc:
        raise LexiconError(path, exc.line, f"invalid TOML: {exc.message}") from None
    meta = data.get("meta", {})
    if meta.get("kind") != "glossary" or not meta.get("language"):
        raise LexiconError(path, 1, "a glossary needs meta.kind = 'glossary' and meta.language")
    words = data.get("words", {})
    if not isinstance(words, dict):
        raise LexiconError(path, None, "[words] must be a table of word = [translations]")
    clean: dict[str, list[str]] = {}
    for key, value in words.items():
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise LexiconError(path, None, f"glossary entry {key!r} must be a list of strings")
        clean.setdefault(key.lower(), []).extend(values)
    return Glossary(str(meta["language"]), clean, [str(path)])


def builtin_glossaries() -> dict[str, Glossary]:
    """The bundled ``glossary-LANG.toml`` files, by language (a new dict each call).

    Read from the index cache: parsing the five TOML files cost every process ~0.1 s.
    """
    from mtaudit import indexcache

    files = sorted(LEXICON_DIR.glob("glossary-*.toml"))
    key = indexcache.digest("glossaries", [*files, Path(__file__)])
    return indexcache.cached(key, lambda: _read_glossaries(files))


def _read_glossaries(files: list[Path]) -> dict[str, Glossary]:
    out: dict[str, Glossary] = {}
    for p in files:
        merge_glossary(out, load_glossary(p))
    return out


def merge_glossary(into: dict[str, Glossary], g: Glossary) -> None:
    """Add ``g``'s words to the glossary of its language in ``into``."""
    have = into.setdefault(g.language, Glossary(g.language))
    for k, v in g.words.items():
        have.words.setdefault(k, []).extend(x for x in v if x not in have.words.get(k, []))
    have.paths.extend(g.paths)


def builtin_idiom_lexicons() -> list[Lexicon]:
    """The bundled ``idioms-LANG.toml`` files."""
    return [load_file(p, "idiom") for p in sorted(LEXICON_DIR.glob("idioms-*.toml"))]


def load_english_idioms(paths: Iterable[Path | str] = ()) -> list[str]:
    """Phrases of the bundled ``english-idioms.toml`` plus any extra allowlists."""
    bundled = LEXICON_DIR / "english-idioms.toml"
    files = [bundled] if bundled.exists() else []
    phrases: list[str] = []
    for p in [*files, *map(Path, paths)]:
        phrases.extend(str(e["phrase"]) for e in load_file(p, "english_idiom").entries)
    return phrases


# --- English idiom allowlist ------------------------------------------------------------


@dataclass(frozen=True)
class EnglishIdiom:
    """An English idiom compiled for tolerant matching ("threw in the proverbial towel")."""

    phrase: str
    # Each element: ("word", base forms) | ("poss", ()) | ("refl", ()) | ("np", ())
    elements: tuple[tuple[str, frozenset[str]], ...]


def compile_english_idiom(phrase: str) -> EnglishIdiom:
    """Compile an allowlist phrase; one's/oneself/someone/something are placeholders."""
    elements: list[tuple[str, frozenset[str]]] = []
    for m in TOKEN.finditer(phrase.replace("’", "'")):
        tok = m.group(0).lower()
        if tok in ("one's", "someone's", "somebody's"):
            elements.append(("poss", frozenset()))
        elif tok in REFLEXIVES:
            elements.append(("refl", frozenset()))
        elif tok in PLACEHOLDERS:
            elements.append(("np", frozenset()))
        else:
            elements.append(("word", base_forms(tok)))
    return EnglishIdiom(phrase, tuple(elements))


def _element_matches(kind: str, forms: frozenset[str], token: str) -> bool:
    if kind == "poss":
        return function_form(token) == "<poss>" or token in ("the", "a", "an")
    if kind == "refl":
        return token in REFLEXIVES
    return not forms.isdisjoint(lemma_candidates(token))


class EnglishIdioms:
    """The allowlist, indexed by the base forms of each idiom's first word."""

    def __init__(self, phrases: Iterable[str]) -> None:
        self.idioms = [compile_english_idiom(p) for p in phrases]
        self._by_first: dict[str, list[EnglishIdiom]] = {}
        self._open: list[EnglishIdiom] = []  # first element is a placeholder
        for idiom in self.idioms:
            if not idiom.elements:
                continue
            kind, forms = idiom.elements[0]
            if kind == "word":
                for f in forms:
                    self._by_first.setdefault(f, []).append(idiom)
            else:
                self._open.append(idiom)

    def spans(self, tokens: Sequence[str], max_inserted: int = 2) -> list[tuple[int, int]]:
        """Token ranges ``[i, j]`` (inclusive) where an allowlisted English idiom occurs.

        Up to ``max_inserted`` extra words may sit inside the idiom ("in the proverbial eye
        of the storm"); an ``np`` placeholder absorbs one to four words.
        """
        low = [t.lower().replace("’", "'") for t in tokens]
        spans = []
        for start, word in enumerate(low):
            cands = {id(i): i for f in lemma_candidates(word) for i in self._by_first.get(f, ())}
            for idiom in [*cands.values(), *self._open]:
                end = _match_from(idiom.elements, low, 0, start, max_inserted, first=True)
                if end is not None:
                    spans.append((start, end))
        return spans


def _match_from(
    els: Sequence[tuple[str, frozenset[str]]],
    low: Sequence[str],
    ei: int,
    ti: int,
    budget: int,
    first: bool = False,
) -> int | None:
    """Backtracking matcher: index of the last token matched, or None."""
    if ei == len(els):
        return ti - 1
    if ti >= len(low):
        return None
    kind, forms = els[ei]
    if kind == "np":
        for width in range(1, 5):
            end = _match_from(els, low, ei + 1, ti + width, budget)
            if end is not None:
                return end
        return None
    if _element_matches(kind, forms, low[ti]):
        end = _match_from(els, low, ei + 1, ti + 1, budget)
        if end is not None:
            return end
    if not first and budget > 0:
        return _match_from(els, low, ei, ti + 1, budget - 1)
    return None
