"""MT3xx internals: the words of a sentence, their clauses and the foreign runs in them.

Split from :mod:`mtaudit.detectors.untranslated` (the detector and its rules live there):
the thresholds, the tokeniser that tells names from ordinary words, the run finder over
:mod:`mtaudit.langid` foreignness scores, and the quotation test that leaves foreign
speech alone.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from mtaudit import langid
from mtaudit.model import SOURCE_LANGUAGES, Span
from mtaudit.segment import WORD

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


# --- tokens, clauses and runs ------------------------------------------------------------


def _tokenise(
    text: str, sent: Span, blocked: list[tuple[int, int]], words: Iterable[tuple[int, int]]
) -> list[_Token]:
    """The sentence's words (their ``(start, end)``, from the document's Analysis) with
    their kind (scoreable word, name, skipped)."""
    tokens = []
    starts = [s for s, _ in blocked]
    for start, end in words:
        w = text[start:end]
        k = bisect.bisect_right(starts, start) - 1
        if (k >= 0 and start < blocked[k][1]) or _DIGIT.search(w) or _in_address(text, start, end):
            kind = _SKIP
        elif w.islower():
            kind = _WORD_KIND
        elif w[0].isupper() and (len(w) == 1 or w[1:].islower() or "'" in w or "’" in w):
            j = start - 1
            while j >= sent.start and text[j] in " \t\u00a0'’*_":
                j -= 1
            at_start = j < sent.start or text[j] in _OPENERS
            # Mid-sentence capitals are names; at a sentence start the word is ordinary.
            kind = _INITIAL if at_start and w[1:].islower() else _NAME
        else:
            kind = _NAME  # ALL CAPS, acronyms, camelCase brands
        tokens.append(_Token(start, end, w, kind))
    return tokens


def _in_address(text: str, start: int, end: int) -> bool:
    """True for the parts of URLs, e-mail addresses and domains ("Rednet.com", "a/b")."""
    before = text[start - 1] if start else " "
    after = text[end : end + 2]
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
    # The quotation's own words, not the Analysis's: a quotation may close inside what the
    # document's tokeniser reads as one word ("`rock'n" of "`rock'n'roll"), and here only
    # the words between the marks count.
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
