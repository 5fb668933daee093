"""Translationese features: cheap statistics of one English document.

Machine and human translations of the same source document tell the same story, so the
only useful signal is *how* it is told: which function words carry the syntax, which
words render the source's, how long and how varied sentences are, how much the vocabulary
varies and repeats, how punctuation is used. Everything here is computed from the text
alone in one or two passes (a few milliseconds for a news article). The dense features
never look at content words themselves, only at their shape (suffix, capitalisation,
length); the n-grams (:mod:`mtaudit.ngram_features`, built on these word classes) also
see lower-case content words, but never names or numbers, so a model cannot learn who or
what its training stories were about.

:func:`extract` returns a flat ``{name: value}`` dict; every value is a rate or a ratio,
so documents of different lengths are comparable. Fluency-LM statistics are computed by
the fluency detector and merged by the caller (their names are in :data:`FLUENCY_FEATURES`).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from functools import lru_cache
from itertools import repeat
from typing import TypeVar

from mtaudit.analysis import Analysis, analyse
from mtaudit.segment import WORD

T = TypeVar("T")

FEATURE_VERSION = "tfeat-4"

#: Document features the fluency detector (per-sentence LM surprisal) adds to a report.
FLUENCY_FEATURES: tuple[str, ...] = (
    "fluency_mean",
    "fluency_std",
    "fluency_p90",
    "fluency_outlier_share",
    "fluency_ref_percentile_mean",
)

# ~140 English function words: closed classes whose rates differ between translated and
# original text (translators and MT keep the source's syntax) but not between topics.
FUNCTION_WORDS: tuple[str, ...] = tuple(
    """
    a an the this that these those some any no every each all both either neither
    other another such what which who whom whose where when why how whether
    i me my mine we us our you your he him his she her it its they them their
    myself itself themselves himself herself ourselves
    one ones something nothing anything everything someone anyone
    of in on at by for with from to into onto about above below over under between
    among through during before after since until against without within along across
    behind beyond near toward towards upon around despite according via per
    and or but nor so yet because although though while if unless than as
    be is am are was were been being have has had having do does did done
    will would shall should can could may might must
    not also only even still already just again ever never always often
    very too quite rather more most less least much many few several
    there here then now thus therefore however moreover furthermore meanwhile
    instead indeed nevertheless otherwise hence accordingly
    up down out off away back well
    said says
    """.split()
)
_FW_SET = frozenset(FUNCTION_WORDS)
# General-purpose open-class words kept as themselves in the abstract n-gram stream (not in
# the function-word rates): light verbs, vague nouns, general adjectives and adverbs. How a
# text uses them ("make a decision", "play a role", "a whole series of") differs between
# literal and free translation, and none of them is about any topic. (+0.01 AUROC on both
# WMT sets in leave-one-year-out CV.)
LIGHT_WORDS: frozenset[str] = frozenset(
    """
    make makes made making take takes took taken taking give gives gave given giving
    get gets got getting put puts keep keeps kept become becomes became remain remains
    remained stay stays stayed lead leads led show shows showed shown see sees saw seen
    come comes came coming go goes went gone going let lets mean means meant want wants
    wanted need needs needed seem seems seemed find finds found call called tell told ask
    asked know known think thought say state stated explained added reported announced
    expected possible important certain clear current currently new old same different
    whole own large great high low big small good bad first last next further recently
    especially particularly probably actually really completely entirely almost nearly
    approximately roughly time times year years day days people way part case point fact
    place number lot kind sort
    """.split()
)
_PRONOUNS = frozenset(
    "i me my mine we us our you your he him his she her it its they them their".split()
)
_CONJ_OPEN = frozenset("and but or so yet because although though while if".split())
_ADV_OPEN = frozenset(
    """however therefore thus moreover furthermore meanwhile instead nevertheless also
    now then still even only already here there indeed accordingly hence otherwise""".split()
)
_PREP_OPEN = frozenset(
    """of in on at by for with from to into about over under between among through during
    before after since until against without within along across despite according
    after upon around behind""".split()
)
_DET_OPEN = frozenset("a an the this that these those some any no every each all".split())

# Suffix classes stand in for a part-of-speech tagger: -ly ~ adverbs, -tion/-ment/-ity ~
# nominalisations, -ing/-ed ~ verb forms. Ordered: the first matching class wins.
_SUFFIXES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ly", ("ly",)),
    ("tion", ("tion", "sion")),
    ("ment", ("ment",)),
    ("ness", ("ness",)),
    ("ity", ("ity",)),
    ("ing", ("ing",)),
    ("ed", ("ed",)),
    ("able", ("able", "ible")),
    ("ive", ("ive",)),
    ("ous", ("ous",)),
    ("al", ("al",)),
    ("ist", ("ist", "ism")),
    ("er", ("er", "or")),
    ("s", ("s",)),
)
_SUFFIX_NAMES: tuple[str, ...] = tuple(name for name, _ in _SUFFIXES)
# Hosts of "n't" ("didn't" -> didn 't): auxiliaries, so they stay as tokens.
_NEGATED_AUX = frozenset(
    "isn aren wasn weren don doesn didn hasn haven hadn won wouldn can couldn shouldn mustn".split()
)
_DIGIT = re.compile(r"\d")
_CONTRACTION = re.compile(r"['’](?:t|s|re|ll|ve|m|d)$", re.IGNORECASE)

# Punctuation marks counted per token. Quote styles are pooled on purpose: curly vs
# straight quotes say more about a publisher's typesetting than about translation.
_PUNCT: dict[str, re.Pattern[str]] = {
    "comma": re.compile(r","),
    "semicolon": re.compile(r";"),
    "colon": re.compile(r":(?!\d)"),
    "dash": re.compile(r"[–—]|\s-\s|--"),
    "dquote": re.compile(r"[\"“”„«»]"),
    # A quote opening a word or closing one: the matches of
    # (?:(?<=\s)|^)['‘]|['’](?=\s|$|[.,;:!?]), written to start with the quote characters
    # so the regex engine skips ahead to them (7x faster; each match is one character).
    "squote": re.compile(r"['‘’](?:(?<=\s['‘])|(?<=\A['‘])|(?<=['’])(?=\s|$|[.,;:!?]))"),
    "paren": re.compile(r"[()\[\]]"),
    "question": re.compile(r"\?"),
    "exclaim": re.compile(r"!"),
    "ellipsis": re.compile(r"…|\.\.\."),
    "slash": re.compile(r"/"),
    "percent": re.compile(r"%"),
}

# TTR and hapax ratios grow with text length, so they are measured on fixed windows.
_TTR_WINDOW = 100
_HAPAX_WINDOW = 300


class _Memo(dict[str, T]):
    """``fn`` per distinct string, kept: a news article repeats most of its words, and a
    vocabulary is Zipfian across articles too. ``memo[key]`` is a C-level lookup on a hit,
    which is the point (an lru_cache wrapper costs a Python-level call). Emptied when it
    reaches ``limit`` entries, so a long-running server's memory stays bounded (a few MB:
    the commonest 32k words are nearly every token of news text)."""

    def __init__(self, fn: Callable[[str], T], limit: int = 1 << 15) -> None:
        super().__init__()
        self.fn = fn
        self.limit = limit

    def __missing__(self, key: str) -> T:
        if len(self) >= self.limit:
            self.clear()
        value = self[key] = self.fn(key)
        return value


def feature_names() -> list[str]:
    """All names :func:`extract` returns (fluency features excluded), in a fixed order."""
    names = [f"fw_{w}" for w in FUNCTION_WORDS]
    names += [f"sfx_{s}" for s in _SUFFIX_NAMES]
    names += [
        "fw_share",
        "pronoun_rate",
        "cap_mid_rate",
        "allcaps_rate",
        "number_rate",
        "contraction_rate",
        "hyphen_word_rate",
        "long_word_rate",
        "short_word_rate",
        "word_len_mean",
        "word_len_std",
        "sent_len_mean",
        "sent_len_std",
        "sent_len_cv",
        "sent_len_median",
        "sent_long_share",
        "sent_short_share",
        "sent_len_diff_mean",
        "ttr_window",
        "hapax_window",
        "dis_window",
        "content_repeat_rate",
        "bigram_repeat_rate",
        "trigram_repeat_rate",
        "opening_repeat_rate",
        "opening2_repeat_rate",
        "open_det",
        "open_pron",
        "open_prep",
        "open_conj",
        "open_adv",
        "open_cap",
        "open_num",
        "open_quote",
        "commas_per_sent",
    ]
    names += [f"punct_{p}" for p in _PUNCT]
    return names


def dense_feature_names() -> list[str]:
    """The :func:`extract` features the scoring model uses as dense inputs.

    Function-word rates are left out: the n-gram block already has them as unigrams.
    """
    return [n for n in feature_names() if not n.startswith("fw_") or n == "fw_share"]


def _tokens(text: str) -> list[str]:
    return WORD.findall(text)


@lru_cache(maxsize=65536)
def _suffix_class(word: str) -> str | None:
    """Suffix class of a lower-case content word (cached: vocabularies are Zipfian)."""
    if len(word) < 5:
        return None
    for name, ends in _SUFFIXES:
        if word.endswith(ends):
            if name == "s" and word.endswith(("ss", "us", "is")):
                return None
            return name
    return None


def _mean_std(values: Sequence[float]) -> tuple[float, float]:
    if not values:
        return 0.0, 0.0
    m = sum(values) / len(values)
    # sum((v - m) ** 2 for v in values), mapped in C: the same terms added in the same order.
    var = sum(map(pow, map(m.__rsub__, values), repeat(2))) / len(values)
    return m, math.sqrt(var)


def _repeat_rate(items: Sequence[object]) -> float:
    """Share of items that occur more than once (0 for fewer than two items)."""
    if len(items) < 2:
        return 0.0
    counts = Counter(items)
    return sum(c for c in counts.values() if c > 1) / len(items)


def _window_stats(lower: Sequence[str]) -> tuple[float, float, float]:
    """Mean TTR over fixed windows, and hapax / dis legomena ratios of the first window."""
    n = len(lower)
    if n == 0:
        return 0.0, 0.0, 0.0
    if n <= _TTR_WINDOW:
        ttr = len(set(lower)) / n
    else:
        # Non-overlapping windows plus one aligned to the end, so every token counts.
        starts = list(range(0, n - _TTR_WINDOW + 1, _TTR_WINDOW))
        if starts[-1] + _TTR_WINDOW < n:
            starts.append(n - _TTR_WINDOW)
        ttr = sum(len(set(lower[s : s + _TTR_WINDOW])) for s in starts) / (
            len(starts) * _TTR_WINDOW
        )
    head = lower[:_HAPAX_WINDOW]
    counts = Counter(head)
    hapax = sum(1 for c in counts.values() if c == 1) / len(head)
    dis = sum(1 for c in counts.values() if c == 2) / len(head)
    return ttr, hapax, dis


# Word kinds of extract()'s one pass, in its order of tests: a word with a digit is a
# number, then a function word, then a capitalised word (all caps or not), else content.
_NUMBER, _FUNCTION, _ALLCAPS, _CAPITAL, _CONTENT = range(5)
_FEATURE_NAMES: tuple[str, ...] = tuple(feature_names())
_FW_FEATURES: tuple[tuple[str, str], ...] = tuple((w, f"fw_{w}") for w in FUNCTION_WORDS)
_SFX_FEATURES: tuple[tuple[str, str], ...] = tuple((s, f"sfx_{s}") for s in _SUFFIX_NAMES)


def _word_info(word: str) -> tuple[int, str, int, int, str | None]:
    """``(kind, lower-case form, is contraction, has hyphen, suffix class)`` of a word.

    The lower-case form loses a clitic ("didn't" -> didn); the suffix class is only
    looked up for plain content words, the only ones extract() counts it for.
    """
    if _DIGIT.search(word):
        return _NUMBER, word.lower(), 0, 0, None
    lw = word.lower()
    contraction = 0
    if _CONTRACTION.search(word):
        contraction = 1
        lw = re.split(r"['’]", lw, maxsplit=1)[0]
    hyphen = 1 if "-" in word else 0
    if lw in _FW_SET:
        return _FUNCTION, lw, contraction, hyphen, None
    if word[0].isupper():
        kind = _ALLCAPS if len(word) > 1 and word.isupper() else _CAPITAL
        return kind, lw, contraction, hyphen, None
    return _CONTENT, lw, contraction, hyphen, _suffix_class(lw)


_WORD_INFO = _Memo(_word_info)


def extract(text: str, analysis: Analysis | None = None) -> dict[str, float]:
    """Translationese features of ``text`` (all rates; zeros for an empty text).

    Line breaks count as spaces: the training documents (WMT) are single lines, with the
    headline run into the first sentence, so a headline on a line of its own would be a
    kind of "sentence" the model never saw. ``analysis`` (of ``text``), when the engine
    has one, saves splitting the text again.
    """
    feats = dict.fromkeys(_FEATURE_NAMES, 0.0)
    seg = (analysis or analyse(text)).flat
    text = seg.text
    sent_tokens = [t for t in seg.sentence_words if t]
    tokens = [w for sent in sent_tokens for w in sent]
    n = len(tokens)
    if n == 0:
        return feats
    inv = 1.0 / n
    lower = list(map(str.lower, tokens))
    lengths = list(map(len, tokens))

    # Function words and word shapes: every count is a sum over tokens, so each distinct
    # word is looked at once (its kind kept in _WORD_INFO) and counted as often as it
    # occurs; only cap_mid_rate depends on position (sentence openers do not count).
    # Plain dicts: a Counter's missing key is a Python-level call (__missing__).
    fw_counts: dict[str, int] = {}
    sfx_counts: dict[str, int] = {}
    content: dict[str, int] = {}
    n_content = allcaps = capitals = numbers = contractions = hyphens = long_w = short_w = 0
    word_info = _WORD_INFO
    for w, c in Counter(tokens).items():
        size = len(w)
        if size >= 10:
            long_w += c
        elif size <= 3:
            short_w += c
        kind, lw, contraction, hyphen, suffix = word_info[w]
        if kind == _NUMBER:
            numbers += c
            continue
        contractions += contraction * c
        hyphens += hyphen * c
        if kind == _FUNCTION:
            fw_counts[lw] = fw_counts.get(lw, 0) + c
            continue
        content[lw] = content.get(lw, 0) + c
        n_content += c
        if kind == _ALLCAPS:
            allcaps += c
        elif kind == _CAPITAL:
            capitals += c
        elif suffix:
            sfx_counts[suffix] = sfx_counts.get(suffix, 0) + c
    cap_mid = capitals - sum(1 for sent in sent_tokens if word_info[sent[0]][0] == _CAPITAL)
    for w, name in _FW_FEATURES:
        feats[name] = fw_counts.get(w, 0) * inv
    for sc, name in _SFX_FEATURES:
        feats[name] = sfx_counts.get(sc, 0) * inv
    feats["fw_share"] = sum(fw_counts.values()) * inv
    feats["pronoun_rate"] = sum(fw_counts.get(p, 0) for p in _PRONOUNS) * inv
    feats["cap_mid_rate"] = cap_mid * inv
    feats["allcaps_rate"] = allcaps * inv
    feats["number_rate"] = numbers * inv
    feats["contraction_rate"] = contractions * inv
    feats["hyphen_word_rate"] = hyphens * inv
    feats["long_word_rate"] = long_w * inv
    feats["short_word_rate"] = short_w * inv
    feats["word_len_mean"], feats["word_len_std"] = _mean_std(lengths)

    # Sentence length and rhythm: MT keeps the source's sentence boundaries.
    slen = [float(len(s)) for s in sent_tokens]
    m, sd = _mean_std(slen)
    feats["sent_len_mean"], feats["sent_len_std"] = m, sd
    feats["sent_len_cv"] = sd / m if m else 0.0
    feats["sent_len_median"] = sorted(slen)[len(slen) // 2]
    feats["sent_long_share"] = sum(1 for x in slen if x > 35) / len(slen)
    feats["sent_short_share"] = sum(1 for x in slen if x < 10) / len(slen)
    if len(slen) > 1:
        diffs = [abs(a - b) for a, b in zip(slen, slen[1:], strict=False)]
        feats["sent_len_diff_mean"] = sum(diffs) / len(diffs) / m
    # Lexical variety and repetition (MT is known to be lexically poorer and more uniform).
    feats["ttr_window"], feats["hapax_window"], feats["dis_window"] = _window_stats(lower)
    # _repeat_rate of the content words, from their counts.
    feats["content_repeat_rate"] = (
        sum(c for c in content.values() if c > 1) / n_content if n_content >= 2 else 0.0
    )
    # Word n-grams as "a b" strings: words hold no space, so they repeat exactly when the
    # tuples do, and strings are not tracked by the garbage collector (tuples are).
    feats["bigram_repeat_rate"] = _repeat_rate(
        list(map(" ".join, zip(lower, lower[1:], strict=False)))
    )
    feats["trigram_repeat_rate"] = _repeat_rate(
        list(map(" ".join, zip(lower, lower[1:], lower[2:], strict=False)))
    )
    openings = [s[0].lower() for s in sent_tokens]
    feats["opening_repeat_rate"] = _repeat_rate(openings)
    feats["opening2_repeat_rate"] = _repeat_rate(
        [tuple(x.lower() for x in s[:2]) for s in sent_tokens]
    )

    # How sentences open: MT follows the source's word order (German V2 fronts adverbials
    # and prepositional phrases), human translators often restructure.
    k = 1.0 / len(sent_tokens)
    for first in openings:
        if first[0].isdigit():
            feats["open_num"] += k
        elif first in _DET_OPEN:
            feats["open_det"] += k
        elif first in _PRONOUNS:
            feats["open_pron"] += k
        elif first in _PREP_OPEN:
            feats["open_prep"] += k
        elif first in _CONJ_OPEN:
            feats["open_conj"] += k
        elif first in _ADV_OPEN:
            feats["open_adv"] += k
        else:
            feats["open_cap"] += k
    feats["open_quote"] = sum(1 for s in seg.sentences if text[s.start] in "\"“'‘„«") * k

    # Punctuation profile per token.
    for name, pat in _PUNCT.items():
        feats[f"punct_{name}"] = len(pat.findall(text)) * inv
    feats["commas_per_sent"] = text.count(",") * k
    return feats
