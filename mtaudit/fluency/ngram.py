"""Sentence surprisal under CMU's English 3-gram LM (shipped in the ``pocketsphinx`` wheel).

The LM (``en-us.lm.bin``, ~72k words) was built for speech recognition, so its vocabulary
follows spoken-text conventions: lower case, no punctuation, numbers spelled out
("two thousand eight"), acronyms either as words ("nato") or as dotted letters
("u." "s."), contractions as one word ("don't"). :func:`lm_tokens` normalises news text
to those conventions before scoring.

``NGramModel.prob(words)`` takes the predicted word first and its history in reverse
order, and returns an integer log-probability in base 1.0001 (pocketsphinx's LogMath
default); we convert to nats by multiplying by ln(1.0001).
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from mtaudit.fluency import FluencyUnavailable, SentenceScore

__all__ = ["NGramScorer", "OOV_NLL", "lm_token_spans", "lm_tokens", "model_path"]

# LogMath base of the returned integers: pocketsphinx's default (Config()["logbase"]).
_LOG_BASE = 1.0001
_TO_NATS = math.log(_LOG_BASE)
# prob() returns LogMath "zero" (-2**29) for a word the LM does not know.
_ZERO_THRESHOLD = -(10**8)

# Cost charged for an out-of-vocabulary word, in nats. Uncapped, the LM returns about
# -53,684 nats, which would swamp every other token. 13 nats is what the LM charges for an
# in-vocabulary news proper noun out of context (measured unigram NLL: "geneva" 12.7,
# "sherman" 12.7, "kremlin" 13.2, "ukrainian" 13.0) — most OOV words in news are names, and
# a name is a normal thing for a news sentence to contain, so it should cost like a rare
# word, not like a catastrophe. (The rarest in-vocabulary words cost 21.8; the median 15.2.)
OOV_NLL = 13.0

_OOV = "<unk>"  # history marker after an unknown word: not in this LM, so it backs off
_BOS = "<s>"
_EOS = "</s>"

_QUOTES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "`": "'", "´": "'"})
_TOKEN = re.compile(
    r"""
    (?P<cur>[$€£])?\s?
    (?P<num>\d+(?:,\d{3})*(?:\.\d+)?)
    (?P<suf>%|st\b|nd\b|rd\b|th\b|s\b)?
    | (?P<acr>(?:[^\W\d_]\.){2,})               # U.S.  U.N.  e.g.
    | (?P<word>[^\W\d_]+(?:['\-][^\W\d_]+)*)     # words, with inner ' and -
    """,
    re.VERBOSE,
)

_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen "
    "fourteen fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = ((10**9, "billion"), (10**6, "million"), (1000, "thousand"))
_ORDINAL = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}
_CURRENCY = {"$": "dollars", "€": "euros", "£": "pounds"}


def model_path() -> Path:
    """The CMU en-us 3-gram LM inside the pocketsphinx package."""
    try:
        from pocketsphinx import get_model_path
    except ImportError as exc:  # pragma: no cover - pocketsphinx is a core dependency
        raise FluencyUnavailable("the ngram LM needs: pip install pocketsphinx") from exc
    return Path(get_model_path()) / "en-us" / "en-us.lm.bin"


def _int_words(n: int) -> list[str]:
    """Spell a non-negative integer as the LM's words ("two thousand eight")."""
    if n < 20:
        return [_ONES[n]]
    if n < 100:
        tens, ones = divmod(n, 10)
        return [_TENS[tens]] + ([_ONES[ones]] if ones else [])
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        return [_ONES[hundreds], "hundred"] + (_int_words(rest) if rest else [])
    for value, name in _SCALES:
        if n >= value:
            head, rest = divmod(n, value)
            return _int_words(head) + [name] + (_int_words(rest) if rest else [])
    raise AssertionError("unreachable")


def _year_words(n: int) -> list[str]:
    """Read a year the way news is spoken: 1998 -> nineteen ninety eight."""
    if 2000 <= n <= 2009 or n % 1000 == 0:
        return _int_words(n)
    high, low = divmod(n, 100)
    if low == 0:
        return _int_words(high) + ["hundred"]
    return _int_words(high) + (["oh", _ONES[low]] if low < 10 else _int_words(low))


def _ordinal(words: list[str]) -> list[str]:
    last = words[-1]
    if last in _ORDINAL:
        last = _ORDINAL[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return words[:-1] + [last]


def number_words(num: str, suffix: str | None = None, currency: str | None = None) -> list[str]:
    """Spell a numeral from news text ("15.6", "1,000", "2008", "50th", "1990s", "$5")."""
    whole, _, frac = num.replace(",", "").partition(".")
    if len(whole) > 12:  # identifiers, phone numbers: read digit by digit
        words = [_ONES[int(d)] for d in whole]
    else:
        n = int(whole)
        is_year = len(whole) == 4 and 1100 <= n <= 2099 and not frac and "," not in num
        words = _year_words(n) if is_year and currency is None else _int_words(n)
    if frac:
        words = words + ["point"] + [_ONES[int(d)] for d in frac[:3]]
    if suffix in ("st", "nd", "rd", "th"):
        words = _ordinal(words)
    elif suffix == "s":  # decades: 1990s -> nineteen nineties
        last = words[-1]
        words = words[:-1] + [last[:-1] + "ies" if last.endswith("y") else last + "s"]
    elif suffix == "%":
        words = words + ["percent"]
    if currency:
        words = words + [_CURRENCY[currency]]
    return words


class NGramScorer:
    """Mean NLL per word (nats) of a sentence under the CMU en-us 3-gram LM."""

    name = "ngram"
    signature = "lm:ngram-cmusphinx-en-us"

    def __init__(self, path: str | Path | None = None, oov_nll: float = OOV_NLL) -> None:
        try:
            from pocketsphinx import Config, LogMath, NGramModel
        except ImportError as exc:  # pragma: no cover - pocketsphinx is a core dependency
            raise FluencyUnavailable("the ngram LM needs: pip install pocketsphinx") from exc
        lm_path = Path(path) if path else model_path()
        if not lm_path.exists():
            raise FluencyUnavailable(f"n-gram LM not found at {lm_path}")
        self._lm = NGramModel(Config(), LogMath(_LOG_BASE), str(lm_path))
        self.oov_nll = oov_nll
        # One surface form -> its LM words; news repeats words, so this saves most of the
        # normalisation work. Bounded only by the vocabulary of the scanned text.
        self._forms: dict[str, tuple[str, ...]] = {}
        self._unigrams: dict[str, float | None] = {}
        # The caches and pocketsphinx's prob() are not thread-safe; the lock costs little.
        self._lock = threading.RLock()

    # -- vocabulary ---------------------------------------------------------------------

    def in_vocab(self, word: str) -> bool:
        """Whether the LM has ``word`` (lower-case) as a unigram."""
        return self._unigram_nll(word) is not None

    def _unigram_nll(self, word: str) -> float | None:
        """Context-free cost of ``word`` in nats (None when the LM does not know it)."""
        try:
            return self._unigrams[word]
        except KeyError:
            logp = self._lm.prob([word])
            nll = None if logp < _ZERO_THRESHOLD else -logp * _TO_NATS
            self._unigrams[word] = nll
            return nll

    def unigram_cost(self, word: str) -> float:
        """Context-free cost of an LM word in nats; ``oov_nll`` for an unknown word."""
        with self._lock:
            nll = self._unigram_nll(word)
        return self.oov_nll if nll is None else nll

    def _word_forms(self, surface: str) -> tuple[str, ...]:
        """Map one news word to LM words; unknown words come back as themselves."""
        forms = self._forms.get(surface)
        if forms is None:
            forms = self._forms[surface] = tuple(self._normalise(surface))
        return forms

    def _normalise(self, surface: str) -> list[str]:
        word = surface.lower()
        if self.in_vocab(word):
            return [word]
        if "'" in word:
            # Possessives the LM lacks ("ryabkov's", "biden's"): score the noun alone; the
            # LM has "'s" only as a rare standalone token, which would overcharge.
            base = re.sub(r"'s?$", "", word)
            if base != word and "'" not in base and len(surface) == len(word):
                return self._normalise(surface[: len(base)])
            return [w for part in surface.split("'") if part for w in self._normalise(part)]
        if "-" in word:
            return [w for part in surface.split("-") if part for w in self._normalise(part)]
        # Unknown all-caps acronyms are read out letter by letter: OSCE -> o. s. c. e.
        if surface.isupper() and 2 <= len(surface) <= 5:
            letters = [f"{c}." for c in word]
            if all(self.in_vocab(x) for x in letters):
                return letters
        return [word]

    def tokens(self, sentence: str) -> list[str]:
        """The LM words of ``sentence`` (unknown words included as-is)."""
        with self._lock:
            return lm_tokens(sentence, self._word_forms)

    def token_spans(self, sentence: str) -> list[tuple[str, int, int]]:
        """The LM words of ``sentence`` with the character span of the word each came from."""
        with self._lock:
            return lm_token_spans(sentence, self._word_forms)

    def window_logprob(self, tokens: Sequence[str], start: int, stop: int) -> float:
        """Log-probability (nats) of ``tokens[start:stop]`` given the tokens before them.

        Position ``len(tokens)`` is the end-of-sentence event. Costs follow
        :meth:`score_tokens`: an OOV word costs ``oov_nll`` and leaves an unknown history.
        Comparing two token lists that differ only inside the window (plus the two tokens
        after it, the trigram's reach) compares the whole sentences' probabilities.
        """
        total = 0.0
        with self._lock:
            for j in range(max(0, start), min(stop, len(tokens) + 1)):
                word = tokens[j] if j < len(tokens) else _EOS
                if word != _EOS and self._unigram_nll(word) is None:
                    total -= self.oov_nll
                    continue
                h1, h2 = (
                    _BOS if k < 0 else tokens[k] if self.in_vocab(tokens[k]) else _OOV
                    for k in (j - 1, j - 2)
                )
                total += self._logprob(word, h1, h2) * _TO_NATS
        return total

    def _logprob(self, word: str, h1: str, h2: str) -> int:
        """LogMath log P(word | h2 h1); after <s> the history is <s> alone.

        Never passes prob() more than 3 words (the LM's order anyway): pocketsphinx 5.1's
        wrapper allocates len(words) *bytes* for the word pointers, which only works
        because glibc's smallest allocation holds three pointers.
        """
        return self._lm.prob([word, h1, h2]) if h1 != _BOS else self._lm.prob([word, _BOS])

    # -- scoring ------------------------------------------------------------------------

    def score_tokens(self, tokens: Sequence[str]) -> SentenceScore:
        """Surprisal of a word sequence, framed by <s> ... </s>.

        Also sums each word's unigram (context-free) cost, so that callers can tell words
        that are merely rare (names, technical terms) from words that fit their context
        badly; an OOV word costs ``oov_nll`` both ways, so it is neutral in that contrast.
        """
        if not tokens:
            return SentenceScore(0.0, 0, 0, 0.0)
        logprob = self._logprob
        unigram = self._unigram_nll
        total = 0  # log-prob in LogMath units
        context_free = 0.0  # nats
        oov = 0
        h2, h1 = _BOS, _BOS  # trigram history, most recent last
        with self._lock:
            for tok in tokens:
                uni = unigram(tok)
                if uni is None:
                    oov += 1
                    h2, h1 = h1, _OOV
                    continue
                total += logprob(tok, h1, h2)
                context_free += uni
                h2, h1 = h1, tok
            total += logprob(_EOS, h1, h2)
            context_free += unigram(_EOS) or 0.0
        n = len(tokens) + 1  # the words plus the end-of-sentence event
        nll = -total * _TO_NATS + oov * self.oov_nll
        return SentenceScore(nll / n, len(tokens), oov, (context_free + oov * self.oov_nll) / n)

    def score(self, sentences: Sequence[str]) -> list[SentenceScore]:
        """Score each sentence."""
        with self._lock:
            return [self.score_tokens(self.tokens(s)) for s in sentences]


def _lowercase(surface: str) -> tuple[str, ...]:
    return (surface.lower(),)


def lm_tokens(sentence: str, forms: Callable[[str], Sequence[str]] = _lowercase) -> list[str]:
    """Tokenise ``sentence`` to spoken-form words; ``forms`` maps each word to LM words."""
    return [tok for tok, _, _ in lm_token_spans(sentence, forms)]


def lm_token_spans(
    sentence: str, forms: Callable[[str], Sequence[str]] = _lowercase
) -> list[tuple[str, int, int]]:
    """Like :func:`lm_tokens`, with each word's (start, end) in ``sentence``.

    A source word that becomes several LM words ("2008", "U.S.") gives each the same span.
    (``str.translate`` of the quote table maps one character to one, so offsets hold.)
    """
    out: list[tuple[str, int, int]] = []
    append = out.append
    for m in _TOKEN.finditer(sentence.translate(_QUOTES)):
        kind = m.lastgroup  # the last group that matched: word, acr, or num/suf
        if kind == "word":
            words: Sequence[str] = forms(m.group("word"))
            if len(words) == 1:  # most words: one LM word, appended without a generator
                start, end = m.span("word")
                append((words[0], start, end))
                continue
        elif kind == "acr":
            words = [f"{c}." for c in m.group("acr").lower() if c != "."]
        else:
            words = number_words(m.group("num"), m.group("suf"), m.group("cur"))
        if kind in ("word", "acr"):
            start, end = m.span(kind)
        else:  # the numeral with its currency sign and suffix, without the space between
            start = m.start("cur") if m.group("cur") else m.start("num")
            end = m.end("suf") if m.group("suf") else m.end("num")
        out.extend((w, start, end) for w in words)
    return out
