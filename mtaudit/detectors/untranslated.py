"""MT3xx — source-language words an MT system left untranslated in English text.

Neural MT copies through what it cannot translate: rare words, idioms it half-recognises,
and — in some pipelines — whole phrases wrapped in brackets (``defuse [esta crisis]``).
Each word is scored with :mod:`mtaudit.langid` (wordfreq frequencies: how much more
frequent it is in Spanish, French, German, Italian or Portuguese than in English) and runs
of clearly foreign words are flagged, with the source language and, when the glossaries
allow, an English rendering.

What English journalism does on purpose is left alone: names (capitalised words),
acronyms, established loanwords (``lexicons/loanwords.toml``), quotations given entirely
in the original language, glossed terms ("the so-called ley mordaza (gag law)") and the
user's accepted vocabulary (options ``accepted_vocabulary``: words or phrases, and
``vocabulary_files``: text files, one word or phrase a line, ``#`` comments). Matching is
case-, accent- and plural-insensitive. Option ``source_language`` (es/fr/de/it/pt), when
set, settles near-ties between languages (otherwise the document's dominant fragment
language does).

MT301 spans include the brackets, so the suggestion replaces ``[esta crisis]`` with
``this crisis`` and the result reads as English.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from mtaudit import langid
from mtaudit.analysis import Analysis
from mtaudit.detectors.base import Detector, Rule

# The run finder and the gloss live in sibling modules; their public names (thresholds,
# FUNCTION_GLOSS, gloss) stay importable from here.
from mtaudit.detectors.untranslated_gloss import COGNATE_MIN_EN, FUNCTION_GLOSS, gloss
from mtaudit.detectors.untranslated_runs import (
    _BRACKET,
    _GLOSS_AFTER,
    _GLOSS_BEFORE,
    _NAME,
    _SKIP,
    ANCHOR,
    ANCHOR_MAX_EN,
    BIND,
    BRACKET_MIN_MARGIN,
    LONE_FUNCTION_ZIPF,
    MAX_BRIDGE,
    QUOTE_FOREIGN_SHARE,
    RUN_MIN_MARGIN,
    SINGLE_MAX_EN,
    SINGLE_MIN,
    SINGLE_MIN_LEN,
    _adjacent,
    _best_runs,
    _blocked_spans,
    _Candidate,
    _clauses,
    _could_anchor,
    _function_languages,
    _german_noun,
    _is_function,
    _Token,
    _tokenise,
)
from mtaudit.lexicons import LEXICON_DIR, builtin
from mtaudit.model import SOURCE_LANGUAGES, Document, Finding, Severity, Span
from mtaudit.segment import WORD, Segmentation

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

RULES = (
    Rule(
        "MT301",
        "bracketed-untranslated",
        "untranslated",
        "A bracketed phrase in a source language inside English text.",
        "Some MT pipelines protect spans they could not translate by bracketing them and "
        "copying the source through; a human translator would have rendered them.",
        "Even if we much prefer to defuse [esta crisis] through diplomatic channels …",
        "Replace the bracketed phrase with its English translation: 'defuse this crisis'.",
        Severity.ERROR,
    ),
    Rule(
        "MT302",
        "untranslated-fragment",
        "untranslated",
        "Source-language words left inside an English sentence.",
        "MT systems copy through words they do not know — rare nouns, idioms, legal and "
        "institutional terms. English journalism quotes or glosses foreign terms on "
        "purpose; an unmarked foreign word mid-clause is a leftover. Multi-word fragments "
        "are errors; single words are warnings, since one word may be a deliberate term.",
        "The government approved the ley de presupuestos on Tuesday.",
        "Translate the fragment ('the budget law'), or, if the foreign term is meant, "
        "quote or gloss it: 'the ley de presupuestos (budget law)'. Add terms your "
        "publication uses to the accepted vocabulary.",
        Severity.ERROR,
    ),
)


class _PhraseSet:
    """Case-, accent- and plural-insensitive phrase matcher over token sequences."""

    def __init__(self, phrases: Iterable[str]) -> None:
        self._by_first: dict[str, list[tuple[str, ...]]] = {}
        for phrase in phrases:
            key = tuple(_key(m.group()) for m in WORD.finditer(phrase))
            if key:
                self._by_first.setdefault(key[0], []).append(key)
        for options in self._by_first.values():
            options.sort(key=len, reverse=True)  # longest match first

    def mark(self, tokens: list[_Token]) -> None:
        """Set ``allowed`` on every token inside a listed phrase."""
        keys = [_key(t.text) for t in tokens]
        i = 0
        while i < len(tokens):
            for phrase in self._by_first.get(keys[i], ()):
                if tuple(keys[i : i + len(phrase)]) == phrase:
                    for t in tokens[i : i + len(phrase)]:
                        t.allowed = True
                    i += len(phrase) - 1
                    break
            i += 1


@lru_cache(maxsize=65_536)
def _key(word: str) -> str:
    k = langid.strip_accents(langid.normalise(word))
    # "idées fixes" matches "idée fixe", "favelas" matches "favela".
    return k[:-1] if len(k) > 3 and k.endswith("s") else k


class UntranslatedDetector(Detector):
    """Finds source-language fragments left in English text."""

    prefix = "MT3"
    category = "untranslated"
    rules = RULES

    # --- resources ------------------------------------------------------------------

    def _allowlist(self) -> _PhraseSet:
        """Loanwords plus the user's accepted vocabulary, built once per scan."""

        def build() -> _PhraseSet:
            phrases = [e["word"] for lex in builtin("loanword") for e in lex.entries]
            opts = self.context.options
            phrases.extend(str(w) for w in _as_list(opts.get("accepted_vocabulary")))
            for path in _as_list(opts.get("vocabulary_files")):
                phrases.extend(_read_vocabulary(Path(path)))
            return _PhraseSet(phrases)

        return self.context.resource("untranslated.allowlist", build)

    def _glossaries(self) -> dict[str, dict[str, list[str]]]:
        return self.context.resource("untranslated.glossaries", _load_glossaries)

    # --- detection ------------------------------------------------------------------

    def detect(self, document: Document, segments: Segmentation) -> Iterator[Finding]:
        text = document.text
        analysis = Analysis.of(segments)
        allow = self._allowlist()
        blocked: list[tuple[int, int]] | None = None
        if analysis.sentences:
            sentences, ranges = analysis.sentences, analysis.sentence_ranges
        else:
            sentences, ranges = [Span(0, len(text))], [(0, len(analysis.offsets))]
        forms, offsets = analysis.forms, analysis.offsets
        # Most documents have no word that could anchor a run: one test per distinct word
        # of the document (only lower-case words can anchor; their frequencies are looked
        # up together), then only sentences with an anchor (or a bracket) are read.
        distinct = [w for w in set(forms) if w.islower()]
        langid.prefetch(distinct)
        anchors = {w for w in distinct if _could_anchor(w)}
        if not anchors and "[" not in text:
            return
        candidates: list[_Candidate] = []
        for sent, (i, j) in zip(sentences, ranges, strict=True):
            if anchors.isdisjoint(forms[i:j]) and "[" not in text[sent.start : sent.end]:
                continue
            if blocked is None:
                # Foreign quotations, found only in a document that has a candidate.
                blocked = _blocked_spans(text)
            tokens = _tokenise(text, sent, blocked, offsets[i:j])
            allow.mark(tokens)
            candidates.extend(self._brackets(text, sent, tokens))
            candidates.extend(self._runs(text, sent, tokens))
        if not candidates:
            return
        prefer = self._document_language(candidates)
        glossaries = self._glossaries()
        for cand in sorted(candidates, key=lambda c: c.start):
            yield self._finding(document, cand, prefer, glossaries)

    def _brackets(self, text: str, sent: Span, tokens: list[_Token]) -> list[_Candidate]:
        """MT301: classify the whole content of each [bracket] in the sentence."""
        out = []
        for m in _BRACKET.finditer(text, sent.start, sent.end):
            inner = [t for t in tokens if m.start(1) <= t.start and t.end <= m.end(1)]
            words = [t for t in inner if t.kind != _SKIP]
            content = [t for t in words if not _is_function(t.text)]
            # "[Bundestag]", "[Ley de Presupuestos]": a name or title, not a leftover.
            if not content or all(t.text[:1].isupper() for t in content):
                continue
            if all(t.allowed for t in content):
                continue  # "[sic]", "[status quo]", accepted vocabulary
            scored = [t.text for t in words]
            score = langid.score_phrase(scored)
            if score is None or score.margin < BRACKET_MIN_MARGIN or score.foreign_share < 0.5:
                continue
            f = [langid.foreignness(w)[score.language] for w in scored]
            if not any(
                x >= ANCHOR - 0.5 and langid.english_zipf(t.text) < ANCHOR_MAX_EN and not t.allowed
                for x, t in zip(f, words, strict=True)
            ):
                continue
            for t in inner:
                t.kind = _SKIP  # already reported: keep MT302 off these words
            out.append(_Candidate("MT301", m.start(), m.end(), scored, score.margins, ()))
        return out

    def _runs(self, text: str, sent: Span, tokens: list[_Token]) -> list[_Candidate]:
        """MT302: runs of foreign words inside one clause of the sentence."""
        out = []
        for clause in _clauses(text, tokens):
            for i, j, lang in _best_runs(clause, tokens):
                if self._excused(text, sent, tokens, i, j):
                    continue
                if (
                    lang == "de"
                    and j < len(tokens)
                    and _german_noun(text, tokens[j - 1], tokens[j])
                ):
                    j += 1  # "wir sind das Volk": German capitalises nouns, they are no names
                run = tokens[i:j]
                words = [t.text for t in run]
                exclude: tuple[str, ...] = ()
                if len(run) == 1:
                    exclude = _function_languages(words[0])
                score = langid.score_phrase(words, exclude=exclude)
                if score is None:
                    continue
                out.append(
                    _Candidate("MT302", run[0].start, run[-1].end, words, score.margins, exclude)
                )
        return out

    def _excused(self, text: str, sent: Span, tokens: list[_Token], i: int, j: int) -> bool:
        """True when English journalism would write the run this way on purpose."""
        run = tokens[i:j]
        prev = tokens[i - 1] if i > 0 and _adjacent(text, tokens[i - 1], run[0]) else None
        nxt = tokens[j] if j < len(tokens) and _adjacent(text, run[-1], tokens[j]) else None
        prev_name = prev is not None and prev.kind == _NAME
        next_name = nxt is not None and nxt.kind == _NAME
        # "Punta del Este", "Neunburg vorm Wald", "Karl-Theodor zu Guttenberg": lower-case
        # words between two capitalised ones belong to the name. (One-sided particles,
        # "von der Leyen", never anchor a run: English has them from names.)
        if prev_name and next_name:
            return True
        before = text[max(sent.start, run[0].start - 60) : run[0].start]
        after = text[run[-1].end : min(sent.end, run[-1].end + 40)]
        if _GLOSS_BEFORE.search(before) or _GLOSS_AFTER.match(after):
            return True
        # "(Lügenpresse)" after an English term: the original term given as a gloss.
        open_ = before.rstrip(" \"'“‘«„")
        close = after.lstrip(" \"'”’»“.,;:!?")
        return open_.endswith("(") and close.startswith(")")

    def _document_language(self, candidates: Sequence[_Candidate]) -> tuple[str, ...]:
        """The source language to prefer on near-ties: configured, else the document's."""
        configured = self.context.options.get("source_language")
        if configured in SOURCE_LANGUAGES:
            return (configured,)
        totals = dict.fromkeys(SOURCE_LANGUAGES, 0.0)
        for c in candidates:
            for lang, m in c.margins.items():
                if lang not in c.exclude:
                    totals[lang] += max(m, 0.0)
        return (max(totals, key=totals.__getitem__),)

    def _finding(
        self,
        document: Document,
        cand: _Candidate,
        prefer: tuple[str, ...],
        glossaries: dict[str, dict[str, list[str]]],
    ) -> Finding:
        score = langid.score_phrase(cand.words, prefer=prefer, exclude=cand.exclude)
        assert score is not None  # candidates always have words
        lang, name = score.language, score.language_name
        span_text = document.text[cand.start : cand.end]
        fragment = span_text[1:-1].strip() if cand.code == "MT301" else span_text
        english = gloss(cand.words, lang, glossaries)
        if english is not None and fragment[:1].isupper():
            english = english[:1].upper() + english[1:]
        # A word-by-word gloss is replacement text; without one there is only advice, which
        # goes in the message.
        suggestion = english or None
        advice = "" if english else " Translate it into English."
        evidence = {"language_scores": score.means}
        if cand.code == "MT301":
            return self.finding(
                "MT301",
                document,
                cand.start,
                cand.end,
                f"Bracketed '{fragment}' is untranslated {name}: the MT system copied the "
                f"source through.{advice}",
                suggestion=suggestion,
                confidence=0.6 + 0.05 * score.margin,
                evidence=evidence,
                source_language=lang,
            )
        single = len(cand.words) == 1
        return self.finding(
            "MT302",
            document,
            cand.start,
            cand.end,
            f"'{fragment}' looks like untranslated {name} left in English text.{advice}",
            suggestion=suggestion,
            confidence=(0.35 + 0.05 * score.margin) if single else (0.5 + 0.04 * score.margin),
            evidence=evidence,
            source_language=lang,
            severity=Severity.WARNING if single else Severity.ERROR,
        )


def _load_glossaries() -> dict[str, dict[str, list[str]]]:
    """``lexicons/glossary-LANG.toml`` ``[words]`` tables; a missing or broken file is skipped.

    From the index cache: parsing the five files costs ~60 ms, which every scan with an
    untranslated candidate paid again (a one-file scan too). Keyed by the files' bytes and
    the code that reads them (this module; langid's normalisation of the keys).
    """
    from mtaudit import indexcache

    files = [LEXICON_DIR / f"glossary-{lang}.toml" for lang in SOURCE_LANGUAGES]
    key = indexcache.digest("untranslatedgloss", [*files, Path(__file__), Path(langid.__file__)])
    return indexcache.cached(key, _read_glossaries)


def _read_glossaries() -> dict[str, dict[str, list[str]]]:
    out: dict[str, dict[str, list[str]]] = {}
    for lang in SOURCE_LANGUAGES:
        path = LEXICON_DIR / f"glossary-{lang}.toml"
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            continue  # glossaries are optional: the detector still flags, without a gloss
        words = data.get("words", {})
        if not isinstance(words, dict):
            continue
        table: dict[str, list[str]] = {}
        for src, english in words.items():
            values = [english] if isinstance(english, str) else list(english or ())
            values = [v for v in values if isinstance(v, str) and v]
            if values:
                table[langid.normalise(str(src))] = values
        out[lang] = table
    return out


def _as_list(value: Any) -> list[Any]:
    """An option that should be a list: None -> [], a lone string -> [string]."""
    if value is None:
        return []
    if isinstance(value, (str, Path)):
        return [value]
    return list(value)


def _read_vocabulary(path: Path) -> list[str]:
    """One word or phrase per line; '#' starts a comment."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        warnings.warn(f"cannot read vocabulary file {path}: {exc.strerror}", stacklevel=2)
        return []
    return [ln.split("#", 1)[0].strip() for ln in lines if ln.split("#", 1)[0].strip()]


DETECTORS = (UntranslatedDetector,)

__all__ = [
    "ANCHOR",
    "ANCHOR_MAX_EN",
    "BIND",
    "BRACKET_MIN_MARGIN",
    "COGNATE_MIN_EN",
    "DETECTORS",
    "FUNCTION_GLOSS",
    "LONE_FUNCTION_ZIPF",
    "MAX_BRIDGE",
    "QUOTE_FOREIGN_SHARE",
    "RULES",
    "RUN_MIN_MARGIN",
    "SINGLE_MAX_EN",
    "SINGLE_MIN",
    "SINGLE_MIN_LEN",
    "UntranslatedDetector",
    "gloss",
]
