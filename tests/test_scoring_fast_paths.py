"""The scorer's fast paths give exactly what the direct computation gives.

``features`` classifies each distinct token and word once (memos), builds its n-grams with
C-level map/compress and one punctuation pattern in a faster form; ``model_score`` looks a
document's grams up once for both heads (:class:`NgramTable`). Each is checked here
against the plain per-token code it replaced (kept below as the reference), on real news
texts and edge cases: the same tokens, the same n-gram counts *in the same insertion
order* (the scorer sums over them in that order), the same feature floats and the same
logits, compared with ``==``, not approximately.
"""

from __future__ import annotations

import json
import math
import random
import re
from collections import Counter
from pathlib import Path

import pytest

from mtaudit import features as F
from mtaudit import model_score as M
from mtaudit import ngram_features as N
from mtaudit.analysis import analyse
from mtaudit.model_score.head import Head, NgramTable

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
    rf"(?P<abbr>(?:[^\W\d_]\.){{2,}}|\b(?:{N._TITLE_WORDS})\.(?=\s))"
    r"|[^\W_]+(?:['’\-][^\W_]+)*|``|''|[^\w\s]"
)
_REF_SQUOTE = re.compile(r"(?:(?<=\s)|^)['‘]|['’](?=\s|$|[.,;:!?])")


def _ref_token_stream(text: str) -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    for m in _REF_ABSTRACT_TOKEN.finditer(text):
        tok = m.group()
        first = tok[0]
        if m.group("abbr"):
            out.append(("CAP" if first.isupper() else "ABBR", None))
            continue
        if not first.isalnum():
            out.append((N._PUNCT_CLASS.get(tok, tok), None))
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


def _ref_mean_std(values: list[float]) -> tuple[float, float]:
    if not values:
        return 0.0, 0.0
    m = sum(values) / len(values)
    var = sum((v - m) ** 2 for v in values) / len(values)
    return m, math.sqrt(var)


def _ref_word_features(text: str) -> dict[str, float]:
    """The features of extract()'s per-token pass (and the n-gram repeat rates), as the
    plain loop computed them."""
    seg = analyse(text).flat
    sent_tokens = [t for t in seg.sentence_words if t]
    tokens = [w for sent in sent_tokens for w in sent]
    n = len(tokens)
    if n == 0:
        return {}
    inv = 1.0 / n
    lower = [w.lower() for w in tokens]
    fw_counts: Counter[str] = Counter()
    sfx_counts: Counter[str] = Counter()
    content: list[str] = []
    cap_mid = allcaps = numbers = contractions = hyphens = long_w = short_w = 0
    lengths: list[float] = []
    for sent in sent_tokens:
        for i, w in enumerate(sent):
            lw = w.lower()
            lengths.append(len(w))
            if len(w) >= 10:
                long_w += 1
            if len(w) <= 3:
                short_w += 1
            if F._DIGIT.search(w):
                numbers += 1
                continue
            if F._CONTRACTION.search(w):
                contractions += 1
                lw = re.split(r"['’]", lw, maxsplit=1)[0]
            if "-" in w:
                hyphens += 1
            if lw in F._FW_SET:
                fw_counts[lw] += 1
                continue
            content.append(lw)
            if w[0].isupper():
                if len(w) > 1 and w.isupper():
                    allcaps += 1
                elif i > 0:
                    cap_mid += 1
                continue
            sc = F._suffix_class(lw)
            if sc:
                sfx_counts[sc] += 1
    out = {f"fw_{w}": fw_counts[w] * inv for w in F.FUNCTION_WORDS}
    out.update({f"sfx_{s}": sfx_counts[s] * inv for s in F._SUFFIX_NAMES})
    out["fw_share"] = sum(fw_counts.values()) * inv
    out["pronoun_rate"] = sum(fw_counts[p] for p in F._PRONOUNS) * inv
    out["cap_mid_rate"] = cap_mid * inv
    out["allcaps_rate"] = allcaps * inv
    out["number_rate"] = numbers * inv
    out["contraction_rate"] = contractions * inv
    out["hyphen_word_rate"] = hyphens * inv
    out["long_word_rate"] = long_w * inv
    out["short_word_rate"] = short_w * inv
    out["word_len_mean"], out["word_len_std"] = _ref_mean_std(lengths)
    slen = [float(len(s)) for s in sent_tokens]
    out["sent_len_mean"], out["sent_len_std"] = _ref_mean_std(slen)
    out["content_repeat_rate"] = F._repeat_rate(content)
    out["bigram_repeat_rate"] = F._repeat_rate(list(zip(lower, lower[1:], strict=False)))
    out["trigram_repeat_rate"] = F._repeat_rate(
        list(zip(lower, lower[1:], lower[2:], strict=False))
    )
    out["punct_squote"] = len(_REF_SQUOTE.findall(seg.text)) * inv
    return out


# -- features -----------------------------------------------------------------------------


def test_token_stream_and_ngram_counts_match_the_per_token_code() -> None:
    for text in TEXTS:
        assert N._token_stream(text) == _ref_token_stream(text), text[:80]
        # Same grams, same counts, same insertion order (the scorer's sums follow it).
        assert list(N.ngram_counts(text).items()) == list(_ref_ngram_counts(text).items())


def test_token_classes_memo_gives_the_direct_classification() -> None:
    tokens = {m.group() for text in TEXTS for m in _REF_ABSTRACT_TOKEN.finditer(text)}
    for tok in sorted(tokens):
        assert N._TOKEN_CLASSES[tok] == N._classify_token(tok)
    # The pattern without its named group finds the same tokens.
    for text in TEXTS:
        assert N._ABSTRACT_TOKEN.findall(text) == [
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


def test_extract_matches_the_per_token_code() -> None:
    for text in TEXTS:
        got = F.extract(text)
        assert list(got) == F.feature_names()
        for name, value in _ref_word_features(text).items():
            assert got[name] == value, (name, text[:80])
            # Bit for bit: 0.0 and -0.0 or two NaNs would compare equal or unequal wrongly.
            assert math.copysign(1.0, got[name]) == math.copysign(1.0, value)


def test_extract_with_the_engines_analysis_is_the_same() -> None:
    for text in TEXTS[:60]:
        assert F.extract(text, analyse(text)) == F.extract(text)


def test_squote_pattern_matches_the_original_one() -> None:
    pattern = F._PUNCT["squote"]
    for text in TEXTS:
        assert [m.span() for m in pattern.finditer(text)] == [
            m.span() for m in _REF_SQUOTE.finditer(text)
        ]
    # Random strings over the characters the two patterns look at.
    rng = random.Random(7)
    alphabet = "'‘’ \n\t.,;:!?ax\u00a0"
    for _ in range(20000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        assert [m.span() for m in pattern.finditer(text)] == [
            m.span() for m in _REF_SQUOTE.finditer(text)
        ], repr(text)


def test_mean_std_matches_the_generator_form() -> None:
    rng = random.Random(3)
    for _ in range(200):
        ints = [rng.randint(1, 20) for _ in range(rng.randint(0, 50))]
        floats = [rng.uniform(0, 60) for _ in range(rng.randint(0, 50))]
        assert F._mean_std(ints) == _ref_mean_std(ints)
        assert F._mean_std(floats) == _ref_mean_std(floats)


# -- the two heads' n-gram logits ------------------------------------------------------------


@pytest.fixture(scope="module")
def model() -> M.ScoreModel:
    return M.load_model()


def test_ngram_table_gives_each_heads_own_logit(model: M.ScoreModel) -> None:
    heads = (model.heads["translated"], model.heads["machine"])
    table = NgramTable(heads)
    for text in TEXTS:
        counts = N.ngram_counts(text)
        assert table.logits(counts) == [h.ngram_logit(counts) for h in heads]


def test_ngram_table_skips_what_each_head_lacks_and_non_positive_counts() -> None:
    def head(name: str, weights: dict[str, tuple[float, float]]) -> Head:
        return Head(name, weights, (), (), (), (), 0.0, (1.0, 1.0), (0.0, 0.0), (1.0, 2.0))

    a = head("a", {"x": (1.5, 0.3), "y": (2.0, -1.1), "z": (1.2, 0.7)})
    b = head("b", {"y": (2.0, 0.4), "w": (3.0, 2.5), "x": (1.5, -0.9)})
    table = NgramTable((a, b))
    cases: list[dict[str, float]] = [
        {},
        {"nothing": 3},
        {"x": 2, "y": 1, "z": 5, "w": 1},
        {"w": 4, "x": 0, "y": -2, "z": 1},  # zero and negative counts carry nothing
        {"z": 1.0, "x": 2.5},  # float counts
        {"x": -1},
    ]
    rng = random.Random(11)
    for _ in range(300):
        grams = rng.sample(["x", "y", "z", "w", "v"], rng.randint(0, 5))
        cases.append({g: rng.randint(-1, 9) for g in grams})
    for counts in cases:
        assert table.logits(counts) == [a.ngram_logit(counts), b.ngram_logit(counts)]


def test_score_uses_the_same_logits_as_the_heads(model: M.ScoreModel) -> None:
    for text in TEXTS[:40]:
        got = model.score(text)
        if got.words == 0:
            continue
        counts, values = N.ngram_counts(text), F.extract(text)
        for head, p in (
            (model.heads["translated"], got.translated_statistical),
            (model.heads["machine"], got.machine_statistical),
        ):
            z = head.intercept + head.ngram_logit(counts) + head.dense_logit(values)
            assert head.calibrate(z, got.words) == p
