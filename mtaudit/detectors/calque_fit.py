"""Calque suggestions made exact: a lexicon's dictionary-form replacement fitted to its span.

The lexicons write one suggestion per pattern ("hit a red line", "tax haven", "the rules"),
but a pattern matches every tense, number and determiner context. ``--fix`` substitutes
the suggestion for the span, so it must read right there: the verb takes the span's tense
and person ("touches bone" -> "hits a red line"), a noun takes the span's number ("tax
paradises" -> "tax havens"), a suggestion's article goes where the text already has a
determiner ("the municipal normative" -> "the municipal rules"), and an "a"/"an" before
the span is corrected by taking it into the span ("an eventual" -> "a possible").
"""

from __future__ import annotations

import re
from functools import lru_cache

from mtaudit.lemmacache import all_lemmas, inflection
from mtaudit.suggest import verb_tag

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_ARTICLES = ("the", "a", "an")
_DETERMINERS = frozenset(
    "the a an this that these those its his her their our my your whose each every "
    "several many some any no".split()
)
_AUX = frozenset("be is are was were been being am".split())
_HAVE = frozenset("have has had having".split())
_PLURAL_PRONOUNS = frozenset("they we you people media police".split())
_PREPOSITIONS = frozenset("by in on at for from with under over since after before".split())
_NUMBERS = frozenset(
    "two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty "
    "sixty seventy eighty ninety hundred thousand million billion several few".split()
)
# Mass nouns a lexicon suggests for a plural calque ("precipitations" -> "rainfall").
_MASS = frozenset(
    "rainfall snowfall information advice evidence equipment legislation research news "
    "housing funding training staff personnel aid".split()
)
# Words spelled with a vowel that take "a" (a university), or with a consonant that take
# "an" (an hour).
_A_BEFORE_VOWEL = re.compile(r"(?:uni|use|usu|eu|one\b|once\b)", re.I)
_AN_BEFORE_CONSONANT = re.compile(r"(?:hour|honest|honou?r|heir)", re.I)


@lru_cache(maxsize=4096)
def _lemmas(word: str) -> dict[str, tuple[str, ...]]:
    # lemminflect's answers from the on-disk table: loading lemminflect itself costs
    # ~0.5 s, more than a one-file scan's whole budget for suggestions.
    return all_lemmas(word.lower())


def _verb_lemma(word: str) -> str | None:
    lemmas = _lemmas(word)
    found = lemmas.get("VERB") or lemmas.get("AUX")
    return found[0] if found else None


def _is_plural_noun(word: str) -> bool:
    """Whether ``word`` is a plural noun (an unknown word in -s counts: "delations")."""
    low = word.lower()
    nouns = _lemmas(low).get("NOUN")
    if nouns:
        return low not in nouns and low.endswith("s")
    return not _lemmas(low) and low.endswith("s") and not low.endswith(("ss", "us", "is"))


def _plural(word: str) -> str:
    if _lemmas(word).get("NOUN") and word.lower() in _lemmas(word)["NOUN"]:
        forms = inflection(word, "NNS")
        if forms:
            return forms[0]
    if word.endswith("s"):
        return word
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return word[:-1] + "ies"
    return word + ("es" if word.endswith(("ch", "sh", "x", "z")) else "s")


def _inflect(lemma: str, tag: str, plural_subject: bool) -> str:
    if lemma == "be":
        if tag == "VBD":
            return "were" if plural_subject else "was"
        if tag in ("VBZ", "VBP"):
            return "are" if plural_subject or tag == "VBP" else "is"
        return {"VBG": "being", "VBN": "been"}.get(tag, "be")
    if tag in ("VBZ", "VBP"):
        tag = "VBP" if plural_subject or tag == "VBP" else "VBZ"
    if tag in ("VB", "VBP") and lemma != "be":
        return lemma
    forms = inflection(lemma, tag)
    return forms[0] if forms else lemma


def _words_before(text: str, start: int, n: int = 4) -> list[str]:
    """Up to ``n`` words before ``start`` in its sentence, as written, nearest last."""
    head = text[max(0, start - 80) : start]
    head = re.split(r"[.!?;:]\s", head)[-1]
    return _WORD.findall(head)[-n:]


def _determined(before: list[str]) -> bool:
    """Whether the words before a span already open a noun phrase with a determiner
    ("the municipal", "The Latin American", "Germany's")."""
    for w in reversed(before):
        low = w.lower()
        if low in _DETERMINERS or low.endswith(("'s", "’s")):
            return True
        # A modifier: an adjective, or a capitalised word (Argentine, Latin American).
        adjective = "ADJ" in _lemmas(low) or w[:1].isupper()
        if not adjective:
            return False
    return False


def _plural_subject(before: list[str]) -> bool:
    if not before:
        return False
    last = before[-1].lower()
    return last in _PLURAL_PRONOUNS or _is_plural_noun(last)


def _fit_verb(suggestion: str, span: list[str], before: list[str]) -> str:
    """The suggestion's leading verb in the tense and person of the span's verb."""
    words = suggestion.split()
    if not span or not words:
        return suggestion
    lemma = _verb_lemma(words[0])
    if lemma is None or not words[0].islower():
        return suggestion
    keep: list[str] = []
    if span[0].lower() in _HAVE and lemma != "have":
        return suggestion  # "has informed that" -> "reported that": written in its tense
    if span[0].lower() in _AUX and lemma not in ("be", "have") and len(span) > 1:
        # "been placed under examination" -> "been placed under formal investigation":
        # the span's auxiliary stays, the suggestion's verb takes the participle's form.
        keep, before, span = [span[0]], [*before, span[0].lower()], span[1:]
    tag = verb_tag(span[0], [w.lower() for w in before])
    if tag is None:
        return suggestion
    # The span's tag carries its person, except a past "be" (was/were): ask the subject.
    plural = lemma == "be" and tag == "VBD" and _plural_subject(before)
    verb = _inflect(lemma, tag, plural)
    return " ".join([*keep, verb, *words[1:]])


def _fit_number(suggestion: str, span: list[str], before: list[str]) -> str:
    """A plural span makes the suggestion's head noun (its last word) plural, except a
    mass noun or a number word after a numeral ("three milliards" -> "three billion")."""
    words = suggestion.split()
    if not span or not words or not _is_plural_noun(span[-1]):
        return suggestion
    if words[0].lower() in _PREPOSITIONS:
        return suggestion  # an adverbial keeps its number: "by her own account"
    last = words[-1]
    counted = bool(before) and (before[-1].lower() in _NUMBERS or before[-1].isdigit())
    if last.lower() in _MASS or (counted and last.lower() in _NUMBERS):
        return suggestion
    nouns = _lemmas(last).get("NOUN")
    if nouns and last.lower() in nouns:
        pass
    elif _lemmas(last) or len(last) < 4 or not last.isalpha() or last.endswith("ing"):
        return suggestion  # not a singular noun: "those attending", "at the end of"
    words[-1] = _plural(last)
    if words[0].lower() in ("a", "an") and len(words) > 1:
        words = words[1:]
    return " ".join(words)


def _article(word: str) -> str:
    if _AN_BEFORE_CONSONANT.match(word):
        return "an"
    if word[:1].lower() in "aeiou" and not _A_BEFORE_VOWEL.match(word):
        return "an"
    return "a"


def fit_suggestion(text: str, start: int, end: int, suggestion: str) -> tuple[int, int, str]:
    """``suggestion`` fitted to replace ``text[start:end]``, with the span it replaces
    (widened over an "a"/"an" before it when the article must change)."""
    span = _WORD.findall(text[start:end])
    before = _words_before(text, start)
    out = _fit_verb(suggestion, span, before)
    out = _fit_number(out, span, before)
    words = out.split()
    span_article = bool(span) and span[0].lower() in _DETERMINERS
    if len(words) > 1 and words[0].lower() in _ARTICLES and not span_article:
        if _determined(before):
            words = words[1:]  # "the municipal the rules"
    out = " ".join(words)
    if before and before[-1].lower() in ("a", "an") and words and not span_article:
        article = _article(words[0])
        if article != before[-1].lower():
            m = re.search(r"\b(an?)\s+$", text[max(0, start - 8) : start], re.I)
            if m:
                start -= len(m.group(0))
                if m.group(1)[0].isupper():
                    article = article.capitalize()
                out = f"{article} {out}"
    return start, end, out
