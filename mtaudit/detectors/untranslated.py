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

import bisect
import re
import sys
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from mtaudit import langid
from mtaudit.detectors.base import Detector, Rule
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

# --- thresholds (Zipf differences = log10 frequency ratios, see mtaudit.langid) ---------
# A word stays inside a run when it is at least 10x more frequent in the run's language
# than in English; this lets foreign function words ("de", "la", "der", "que") bind the
# content words around them.
BIND = 1.0
# A word can anchor a multi-word run when it is 100x more frequent in the language and
# rarer in English than 1 in ~300,000 words (Zipf 3.5); "die", "con", "per", "pour" are
# English words and never anchor.
ANCHOR = 2.0
ANCHOR_MAX_EN = 3.5
# A multi-word run must sum to 10^4.5 in likelihood ratio against English.
RUN_MIN_MARGIN = 4.5
# A lone word needs 1000x and must be rare in English (Zipf < 2, about 1 per 100M words):
# on the WMT human-news bench lone words between 100x and 1000x were English technical
# words or French-looking spellings ("financer", "respecter", "précis"), not leftovers.
SINGLE_MIN = 3.0
SINGLE_MAX_EN = 2.0
SINGLE_MIN_LEN = 4
# Up to this many ambiguous words ("a", "do") may sit between two foreign stretches.
MAX_BRIDGE = 2
# Zipf 5.5 is one word in ~3,000: in news only function words and the commonest nouns.
LONE_FUNCTION_ZIPF = 5.5
# Bracket content is classified as a whole: 100x over English in total.
BRACKET_MIN_MARGIN = 2.0
# A quotation counts as foreign speech when at least 3/4 of its words lean foreign.
QUOTE_FOREIGN_SHARE = 0.75

# Function words for a readable word-by-word suggestion; "" drops the word ("se", "ne").
FUNCTION_GLOSS: dict[str, dict[str, str]] = {
    "es": {
        "el": "the", "la": "the", "los": "the", "las": "the", "lo": "it", "un": "a",
        "una": "a", "unos": "some", "unas": "some", "de": "of", "del": "of the",
        "al": "to the", "a": "to", "en": "in", "con": "with", "sin": "without",
        "por": "by", "para": "for", "sobre": "on", "entre": "between", "hasta": "until",
        "desde": "from", "y": "and", "e": "and", "o": "or", "u": "or", "que": "that",
        "este": "this", "esta": "this", "esto": "this", "estos": "these",
        "estas": "these", "ese": "that", "esa": "that", "eso": "that", "esos": "those",
        "esas": "those", "su": "its", "sus": "their", "mi": "my", "no": "not",
        "muy": "very", "más": "more", "menos": "less", "como": "like", "pero": "but",
        "se": "", "es": "is", "son": "are",
    },
    "fr": {
        "le": "the", "la": "the", "les": "the", "l'": "the", "un": "a", "une": "a",
        "des": "some", "de": "of", "d'": "of", "du": "of the", "au": "to the",
        "aux": "to the", "à": "to", "en": "in", "dans": "in", "sur": "on", "par": "by",
        "pour": "for", "avec": "with", "sans": "without", "et": "and", "ou": "or",
        "que": "that", "qu'": "that", "ce": "this", "cet": "this", "cette": "this",
        "ces": "these", "son": "its", "sa": "its", "ses": "its", "leur": "their",
        "leurs": "their", "ne": "", "n'": "", "pas": "not", "très": "very",
        "plus": "more", "est": "is", "sont": "are", "c'": "it",
    },
    "de": {
        "der": "the", "die": "the", "das": "the", "den": "the", "dem": "the",
        "des": "of the", "ein": "a", "eine": "a", "einen": "a", "einem": "a",
        "einer": "a", "eines": "of a", "und": "and", "oder": "or", "mit": "with",
        "für": "for", "von": "of", "vom": "of the", "zu": "to", "zum": "to the",
        "zur": "to the", "in": "in", "im": "in the", "auf": "on", "bei": "at",
        "beim": "at the", "aus": "from", "nach": "after", "über": "about",
        "unter": "under", "nicht": "not", "kein": "no", "keine": "no", "dieser": "this",
        "diese": "this", "dieses": "this", "auch": "also", "sehr": "very", "ist": "is",
        "sind": "are", "es": "it", "wir": "we", "jeden": "every", "jede": "every",
        "immer": "always", "noch": "still", "schon": "already",
    },
    "it": {
        "il": "the", "lo": "the", "la": "the", "i": "the", "gli": "the", "le": "the",
        "l'": "the", "un": "a", "uno": "a", "una": "a", "un'": "a", "di": "of",
        "d'": "of", "del": "of the", "dello": "of the", "della": "of the",
        "dell'": "of the", "dei": "of the", "degli": "of the", "delle": "of the",
        "a": "to", "al": "to the", "alla": "to the", "ai": "to the", "alle": "to the",
        "da": "from", "in": "in", "nel": "in the", "nella": "in the", "con": "with",
        "su": "on", "sul": "on the", "sulla": "on the", "per": "for", "e": "and",
        "ed": "and", "o": "or", "che": "that", "questo": "this", "questa": "this",
        "questi": "these", "queste": "these", "non": "not", "molto": "very",
        "più": "more", "è": "is", "sono": "are",
    },
    "pt": {
        "o": "the", "a": "the", "os": "the", "as": "the", "um": "a", "uma": "a",
        "de": "of", "do": "of the", "da": "of the", "dos": "of the", "das": "of the",
        "em": "in", "no": "in the", "na": "in the", "nos": "in the", "nas": "in the",
        "ao": "to the", "à": "to the", "aos": "to the", "às": "to the", "com": "with",
        "por": "by", "para": "for", "pelo": "by the", "pela": "by the",
        "pelos": "by the", "pelas": "by the", "e": "and", "ou": "or", "que": "that",
        "este": "this", "esta": "this", "isto": "this", "esse": "that", "essa": "that",
        "não": "not", "muito": "very", "já": "already", "também": "also",
        "mais": "more", "é": "is", "são": "are",
    },
}  # fmt: skip

# Words this frequent in English (Zipf 3.5) are kept as they are in a gloss: "crisis",
# "radio", "hotel" are the same word in English.
COGNATE_MIN_EN = 3.5

# Text right before a fragment that marks it as a deliberately cited term.
_GLOSS_BEFORE = re.compile(
    # (not a bare "called": "the unions called a grève" is the verb, not a citation)
    r"(?:\bso[- ]called|\bknown(?:\s+\w+){0,2}\s+as|\bwhat\s+\w+\s+calls?|\bdubbed|\btermed"
    r"|\bnicknamed|\bbranded|\blabell?ed|\bliterally|\bmeaning|\bi\.e\.|,\s*or"
    r"|\bthe\s+(?:\w+\s+)?(?:term|terms|word|words|phrase|expression|slogan|motto|title"
    r"|name|concept|notion|idiom|saying))"
    r"(?:\s+(?:the|a|an|its|their|his|her))?[\s\"'“‘«„*_]*$",
    re.IGNORECASE,
)
# Text right after a fragment that glosses it: "(gag law)", ", meaning ...", ", or ...".
_GLOSS_AFTER = re.compile(
    r"^[\"'”’»“*_]*\s*(?:[(\[]|,\s*(?:or|meaning|which\s+means|literally|i\.e\.|that\s+is)\b"
    r"|\s*[-–—]+\s*(?:literally|meaning)\b)",
    re.IGNORECASE,
)
# Quotations: curly, low-high (German), guillemets, cp1252 leftovers, backticks, single
# straight quotes around whole words. Straight double quotes are paired by _straight_quotes.
_QUOTES = re.compile(
    r"“[^“”\n]{1,600}[”“]|„[^„“”\n]{1,600}[“”]|«[^«»\n]{1,600}»|‹[^‹›\n]{1,600}›"
    r"|\x93[^\x93\x94\n]{1,600}\x94|`[^`'\n]{1,600}[`']"
    r"|(?<!\w)[‘'](?=\S)[^‘’'\n]{1,300}(?<=\S)[’'](?!\w)"
)
_BRACKET = re.compile(r"\[([^\[\]\n]{1,200})\]")
_PAREN = re.compile(r"\(([^()\n]{1,300})\)")
_DIGIT = re.compile(r"\d")
# After these a capital letter starts a sentence or quotation, so it says nothing of names.
_OPENERS = set('.!?:;"“‘«„([{¡¿—–\n\x93')

_WORD_KIND, _INITIAL, _NAME, _SKIP = "word", "initial", "name", "skip"


@dataclass
class _Token:
    """A word of the text and how the detector may use it."""

    start: int
    end: int
    text: str
    kind: str
    allowed: bool = False  # inside a loanword or accepted-vocabulary phrase

    @property
    def scoreable(self) -> bool:
        return self.kind in (_WORD_KIND, _INITIAL)


@dataclass
class _Candidate:
    """A flagged span before its language is settled against the whole document."""

    code: str
    start: int
    end: int
    words: list[str]
    margins: dict[str, float]
    exclude: tuple[str, ...]


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
        allow = self._allowlist()
        blocked = _blocked_spans(text)
        sentences = segments.sentences or [Span(0, len(text))]
        candidates: list[_Candidate] = []
        for sent in sentences:
            # Most sentences have no word that could anchor a run: skip them cheaply.
            if "[" not in text[sent.start : sent.end] and not any(
                map(_could_anchor, WORD.findall(text, sent.start, sent.end))
            ):
                continue
            tokens = _tokenise(text, sent, blocked)
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


# --- tokens, clauses and runs ------------------------------------------------------------


def _tokenise(text: str, sent: Span, blocked: list[tuple[int, int]]) -> list[_Token]:
    """Words of one sentence with their kind (scoreable word, name, skipped)."""
    tokens = []
    starts = [s for s, _ in blocked]
    for m in WORD.finditer(text, sent.start, sent.end):
        w = m.group()
        k = bisect.bisect_right(starts, m.start()) - 1
        if (k >= 0 and m.start() < blocked[k][1]) or _DIGIT.search(w) or _in_address(text, m):
            kind = _SKIP
        elif w.islower():
            kind = _WORD_KIND
        elif w[0].isupper() and (len(w) == 1 or w[1:].islower() or "'" in w or "’" in w):
            j = m.start() - 1
            while j >= sent.start and text[j] in " \t\u00a0'’*_":
                j -= 1
            at_start = j < sent.start or text[j] in _OPENERS
            # Mid-sentence capitals are names; at a sentence start the word is ordinary.
            kind = _INITIAL if at_start and w[1:].islower() else _NAME
        else:
            kind = _NAME  # ALL CAPS, acronyms, camelCase brands
        tokens.append(_Token(m.start(), m.end(), w, kind))
    return tokens


def _in_address(text: str, m: re.Match[str]) -> bool:
    """True for the parts of URLs, e-mail addresses and domains ("Rednet.com", "a/b")."""
    before = text[m.start() - 1] if m.start() else " "
    after = text[m.end() : m.end() + 2]
    return (
        before in "@./\\:#"
        or after[:1] in ("@", "/")
        or (after[:1] == "." and after[1:2].isalpha())
    )


def _adjacent(text: str, a: _Token, b: _Token) -> bool:
    """Only spaces (or a hyphen) between two tokens: same clause, no punctuation."""
    gap = text[a.end : b.start]
    return gap.strip(" \t\u00a0-") == "" and "\n" not in gap


def _clauses(text: str, tokens: list[_Token]) -> Iterator[tuple[int, int]]:
    """Index ranges of consecutive scoreable tokens with no punctuation between them."""
    i = 0
    while i < len(tokens):
        if not tokens[i].scoreable:
            i += 1
            continue
        j = i + 1
        while j < len(tokens) and tokens[j].scoreable and _adjacent(text, tokens[j - 1], tokens[j]):
            j += 1
        yield i, j
        i = j


def _best_runs(clause: tuple[int, int], tokens: list[_Token]) -> list[tuple[int, int, str]]:
    """Non-overlapping foreign runs ``(i, j, language)`` inside a clause."""
    lo, hi = clause
    found: list[tuple[float, int, int, str]] = []
    rows = [langid.foreignness(t.text) for t in tokens[lo:hi]]
    for lang in SOURCE_LANGUAGES:
        f = [r[lang] for r in rows]
        for s, e in _segments(f):
            # Weak binders at the edges ("per", "con") belong to the English around them.
            while s < e and f[s] < ANCHOR:
                s += 1
            while e > s and f[e - 1] < ANCHOR:
                e -= 1
            if s == e:
                continue
            run = tokens[lo + s : lo + e]
            if len(run) == 1:
                t = run[0]
                best = max(rows[s].values())
                if (
                    t.kind == _WORD_KIND
                    and not t.allowed
                    and len(t.text) >= SINGLE_MIN_LEN
                    and best >= SINGLE_MIN
                    and langid.english_zipf(t.text) < SINGLE_MAX_EN
                ):
                    found.append((best, lo + s, lo + e, lang))
                continue
            anchored = any(
                t.kind == _WORD_KIND
                and not t.allowed
                and x >= ANCHOR
                and langid.english_zipf(t.text) < ANCHOR_MAX_EN
                for t, x in zip(run, f[s:e], strict=True)
            )
            total = sum(f[s:e])
            if anchored and total >= RUN_MIN_MARGIN:
                found.append((total, lo + s, lo + e, lang))
    chosen: list[tuple[int, int, str]] = []
    for _total, i, j, lang in sorted(found, reverse=True):
        if all(j <= a or i >= b for a, b, _ in chosen):
            chosen.append((i, j, lang))
    return chosen


def _segments(f: list[float]) -> list[tuple[int, int]]:
    """Maximal stretches of binding words, bridged over short ambiguous gaps.

    "a lei do orçamento": "a" and "do" are English words too, barely more frequent in
    Portuguese, but between two Portuguese words they are Portuguese.
    """
    segs: list[list[int]] = []
    k = 0
    while k < len(f):
        if f[k] < BIND:
            k += 1
            continue
        e = k
        while e < len(f) and f[e] >= BIND:
            e += 1
        if segs and k - segs[-1][1] <= MAX_BRIDGE and all(x > 0 for x in f[segs[-1][1] : k]):
            segs[-1][1] = e
        else:
            segs.append([k, e])
        k = e
    return [(a, b) for a, b in segs]


def _german_noun(text: str, last: _Token, nxt: _Token) -> bool:
    """True when ``nxt`` is a capitalised German noun continuing a German run.

    Only a clearly German word qualifies (100x over English and rare in English):
    "Volk" does, "Merkel" and "Alternative" do not.
    """
    return (
        nxt.kind == _NAME
        and nxt.text[1:].islower()
        and _adjacent(text, last, nxt)
        and langid.foreignness(nxt.text)["de"] >= ANCHOR
        and langid.english_zipf(nxt.text) < ANCHOR_MAX_EN
    )


def _function_languages(word: str) -> tuple[str, ...]:
    """Languages in which a lone ``word`` would be a function word, if it has another reading.

    MT never leaves a lone function word untranslated, so a lone "pelos" is Spanish
    "hairs", not Portuguese "by the" — provided the other reading is clearly foreign too.
    """
    scores = langid.language_scores(word)
    f = langid.foreignness(word)
    func = tuple(lang for lang in SOURCE_LANGUAGES if scores[lang] >= LONE_FUNCTION_ZIPF)
    if any(f[lang] >= ANCHOR for lang in SOURCE_LANGUAGES if lang not in func):
        return func
    return ()


@lru_cache(maxsize=262_144)
def _could_anchor(word: str) -> bool:
    """Cheap pre-filter: a lower-case word clearly more frequent in a source language."""
    return (
        word.islower()
        and langid.english_zipf(word) < ANCHOR_MAX_EN
        and max(langid.foreignness(word).values()) >= ANCHOR
    )


def _is_function(word: str) -> bool:
    """A function word in any source language ("de", "von", "ter", "del")."""
    return any(langid.is_function_word(word, lang) for lang in SOURCE_LANGUAGES)


def _blocked_spans(text: str) -> list[tuple[int, int]]:
    """Quotations given entirely in a foreign language: never fragments."""
    spans = []
    quotes = [(m.start(), m.end()) for m in _QUOTES.finditer(text)]
    for start, end in quotes + _straight_quotes(text):
        if _quote_is_foreign(text[start + 1 : end - 1]):
            spans.append((start, end))
    # Sorted and merged, so a token's test is one bisect.
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _straight_quotes(text: str) -> list[tuple[int, int]]:
    """Pair straight double quotes by which side of a word they stand on.

    Pairing them in order goes wrong after one stray quote ('12" pipe') and then marks
    the text *between* quotations as quoted; a quote opens after a space and closes
    before one.
    """
    spans: list[tuple[int, int]] = []
    open_at: int | None = None
    for m in re.finditer('"', text):
        i = m.start()
        prev = text[i - 1] if i > 0 else " "
        nxt = text[i + 1] if i + 1 < len(text) else " "
        can_open = (prev.isspace() or prev in "([{-–—/:") and not nxt.isspace()
        can_close = not prev.isspace() and (nxt.isspace() or nxt in ".,;:!?)]}-–—'’")
        if open_at is not None and (i - open_at > 600 or "\n" in text[open_at:i]):
            open_at = None  # a quotation does not run on for paragraphs
        if open_at is not None and can_close:
            spans.append((open_at, i + 1))
            open_at = None
        elif can_open:
            open_at = i
    return spans


def _quote_is_foreign(inner: str) -> bool:
    """True for '"¡No pasarán!"' or '"Liberté, égalité"': a quotation in the original.

    The MT leftover is foreign words inside an English clause; a quotation that is
    entirely foreign is the journalist citing the original.
    """
    tokens = [_Token(m.start(), m.end(), m.group(), _WORD_KIND) for m in WORD.finditer(inner)]
    words = [
        t.text
        for k, t in enumerate(tokens)
        if not any(c.isdigit() for c in t.text)
        # the first word's capital is the quotation's; later capitals are names
        and (k == 0 or t.text.islower())
    ]
    # Words no list knows ("Wetterglühen", dialect) say nothing either way.
    words = [w for w in words if max(langid.zipf_scores(w)) > langid.ZIPF_FLOOR]
    score = langid.score_phrase(words)
    if score is None or score.margin < 1.0:
        return False
    # A word leans English only when clearly more frequent there: "Was" in "Was isch der
    # Schwob?" is as German as it is English.
    english = sum(
        1 for w in words if langid.english_zipf(w) - langid.language_scores(w)[score.language] > 0.5
    )
    return 1 - english / len(words) >= QUOTE_FOREIGN_SHARE


# --- gloss --------------------------------------------------------------------------------


def gloss(
    words: Sequence[str], lang: str, glossaries: dict[str, dict[str, list[str]]]
) -> str | None:
    """Word-by-word English rendering of ``words``, or None if a word is unknown.

    Uses the function-word table above, then ``lexicons/glossary-LANG.toml`` (if present),
    then keeps words that are also English ("crisis").
    """
    out: list[str] = []
    for w in words:
        english = _gloss_word(langid.normalise(w), lang, glossaries.get(lang, {}))
        if english == langid.normalise(w) and lang == "de" and w[:1].isupper():
            # German nouns are capitalised and often false friends ("Fall" = case,
            # "Rat" = council): only the glossary may translate them.
            return None
        if english is None:
            return None
        if english:
            out.append(english)
    return " ".join(out) or None


def _gloss_word(w: str, lang: str, glossary: dict[str, list[str]]) -> str | None:
    functions = FUNCTION_GLOSS.get(lang, {})
    if w in functions:
        return functions[w]
    if w in glossary:
        return glossary[w][0]
    # Elision: French/Italian "l'economia", "dell'anno", "qu'il".
    if "'" in w:
        head, _, rest = w.partition("'")
        head_en = functions.get(head + "'")
        rest_en = _gloss_word(rest, lang, glossary) if rest else ""
        if head_en is not None and rest_en is not None:
            return " ".join(x for x in (head_en, rest_en) if x)
    for lemma, plural in _lemmas(w, lang):
        if lemma in glossary:
            english = glossary[lemma][0]
            return _pluralise(english) if plural else english
    if langid.english_zipf(w) >= COGNATE_MIN_EN:
        return w
    return None


def _lemmas(w: str, lang: str) -> list[tuple[str, bool]]:
    """Candidate dictionary forms of an inflected word, with whether it was plural."""
    out: list[tuple[str, bool]] = []
    if lang in ("es", "pt", "fr"):
        if w.endswith("es") and len(w) > 4:
            out.append((w[:-2], True))
        if w.endswith(("s", "x")) and len(w) > 3:
            out.append((w[:-1], True))
        if lang == "pt" and w.endswith("ões"):
            out.append((w[:-3] + "ão", True))
    elif lang == "it" and len(w) > 3:
        if w.endswith("i"):
            out.extend([(w[:-1] + "o", True), (w[:-1] + "e", True)])
        if w.endswith("e"):
            out.extend([(w[:-1] + "a", True), (w[:-1] + "o", False)])
    elif lang == "de" and len(w) > 4:
        for suffix in ("en", "er", "es", "e", "n", "s"):
            if w.endswith(suffix):
                out.append((w[: -len(suffix)], suffix in ("en", "er", "e", "n", "s")))
    # Adjectives and participles: Spanish/Italian/Portuguese -o/-a agreement.
    if lang in ("es", "it", "pt") and w.endswith("a") and len(w) > 3:
        out.append((w[:-1] + "o", False))
    return out


def _pluralise(english: str) -> str:
    if " " in english:
        return english  # "budget law" -> leave phrases alone
    if english.endswith(("s", "x", "ch", "sh")):
        return english + "es"
    if english.endswith("y") and english[-2:-1] not in "aeiou":
        return english[:-1] + "ies"
    return english + "s"


def _load_glossaries() -> dict[str, dict[str, list[str]]]:
    """``lexicons/glossary-LANG.toml`` ``[words]`` tables; a missing or broken file is skipped."""
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
