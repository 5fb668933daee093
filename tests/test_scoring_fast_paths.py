"""The scorer's fast paths give exactly what the direct computation gives.

``features`` classifies each distinct token once (a memo) and builds its n-grams with
C-level map/compress. Checked here against the plain per-token code it replaced (kept
below as the reference), on real news texts and edge cases: the same tokens and the same
n-gram counts *in the same insertion order* (the scorer sums over them in that order).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

from mtaudit import features as F

DATA = Path(__file__).resolve().parent / "data"

EDGE_TEXTS = [
    "",
    "x",
    ".",
    "U.S.",
    "I",
    "A",
    "'",
    "’s",
    "NATO's CEO didn't say.\nMr. X-Ray 12 e.g. 'quoted' A B.",
    "At 10 a.m. Mr. Reyes met U.S. envoys, e.g. Ms. Li. He said no.",
    "The minister said Berlin’s “reform” costs €5 billion, and they'd go.",
    "Mr.Smith vs. Dr. Who -- the end... — or – not ``quoted'' ‘so’ (yes) [no] 5% a/b!?",
    "They'd WON'T can't Isn't it? COVID-19 well-known 3rd 1,000 ’90s rock’n’roll",
    "   leading spaces\n\nand\tparagraphs\n",
]


def _corpus() -> list[str]:
    texts = list(EDGE_TEXTS)
    for name in ("holdout/holdout.jsonl", "es-news/dev.jsonl"):
        with open(DATA / name, encoding="utf-8") as fh:
            texts += [json.loads(line)["text"] for line in fh if line.strip()]
    return texts


TEXTS = _corpus()


# -- the reference: the per-token code the fast paths replaced ---------------------------

_REF_ABSTRACT_TOKEN = re.compile(
    rf"(?P<abbr>(?:[^\W\d_]\.){{2,}}|\b(?:{F._TITLE_WORDS})\.(?=\s))"
    r"|[^\W_]+(?:['’\-][^\W_]+)*|``|''|[^\w\s]"
)


def _ref_token_stream(text: str) -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    for m in _REF_ABSTRACT_TOKEN.finditer(text):
        tok = m.group()
        first = tok[0]
        if m.group("abbr"):
            out.append(("CAP" if first.isupper() else "ABBR", None))
            continue
        if not first.isalnum():
            out.append((F._PUNCT_CLASS.get(tok, tok), None))
            continue
        low = tok.lower()
        clitic = F._CONTRACTION.search(low)
        if clitic:
            low = low[: clitic.start()]
        if (
            low in F._FW_SET
            or (clitic and low in F._NEGATED_AUX)
            or (low in F.LIGHT_WORDS and not first.isupper())
        ):
            out.append((low, None))
        elif first.isdigit():
            out.append(("NUM", None))
        elif first.isupper():
            out.append(("CAP", None))
        else:
            shape = "W_" + (F._suffix_class(low) or ("short" if len(low) < 5 else "x"))
            out.append((shape, None if clitic else low))
        if clitic:
            out.append(("'" + clitic.group()[1:], None))
    return out


def _ref_ngram_counts(text: str) -> Counter[str]:
    stream = _ref_token_stream(text)
    toks = [tok for tok, _ in stream]
    counts = Counter(toks)
    counts.update(f"{a} {b}" for a, b in zip(toks, toks[1:], strict=False))
    counts.update(f"~{word}" for _, word in stream if word)
    counts.update(
        f"~{wa or a} {wb or b}"
        for (a, wa), (b, wb) in zip(stream, stream[1:], strict=False)
        if wa or wb
    )
    return counts


# -- features -----------------------------------------------------------------------------


def test_token_stream_and_ngram_counts_match_the_per_token_code() -> None:
    for text in TEXTS:
        assert F._token_stream(text) == _ref_token_stream(text), text[:80]
        # Same grams, same counts, same insertion order (the scorer's sums follow it).
        assert list(F.ngram_counts(text).items()) == list(_ref_ngram_counts(text).items())


def test_token_classes_memo_gives_the_direct_classification() -> None:
    tokens = {m.group() for text in TEXTS for m in _REF_ABSTRACT_TOKEN.finditer(text)}
    for tok in sorted(tokens):
        assert F._TOKEN_CLASSES[tok] == F._classify_token(tok)
    # The pattern without its named group finds the same tokens.
    for text in TEXTS:
        assert F._ABSTRACT_TOKEN.findall(text) == [
            m.group() for m in _REF_ABSTRACT_TOKEN.finditer(text)
        ]


def test_memo_is_bounded_and_recomputes_after_clearing() -> None:
    calls: list[str] = []

    def fn(key: str) -> str:
        calls.append(key)
        return key.upper()

    memo = F._Memo(fn, limit=3)
    assert [memo[k] for k in "abcab"] == list("ABCAB")
    assert calls == list("abc")  # hits are not recomputed
    assert memo["d"] == "D" and len(memo) == 1  # full: emptied, then d added
    assert memo["a"] == "A" and calls == list("abcda")
