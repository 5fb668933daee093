"""Suggestions that are exact replacement text for a finding's span.

A finding's ``suggestion`` replaces exactly ``text[start:end]``, so it has to fit where it
lands (as sqlfluff's fixes do):

- :func:`fit_replacement` fits any replacement to its position: a word the text already
  has right before or after the span is not repeated ("is a" + "a source" is "is a
  source"), the first letter is capitalised at the start of a sentence and lower-cased
  inside one unless the word is a name ("Officials" becomes "officials", "Italy" stays);
- :func:`inflect_phrase` turns a dictionary form ("be in over one's head", "turn a blind
  eye") into the form the sentence needs: its verb inflected like the verb of the span it
  replaces (lemminflect), "one's"/"oneself" resolved to the subject's possessive or
  reflexive, "not" merged with the sentence's own negation. A phrase that cannot be made
  to fit ("pull someone's leg": someone is unknown; a verb phrase for a noun phrase) is
  not replacement text: the caller shows it in the message instead;
- :func:`split_alternatives` separates a lexicon suggestion's replacement from the notes
  around it ("Spain (or Portugal)" replaces with "Spain"; "both ... and ..." is advice).
"""

from __future__ import annotations

import re
from functools import lru_cache

from mtaudit.lemmacache import all_lemmas, inflection

WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_OPENERS = "\"'“‘«([¿¡ \t"
_SENTENCE_END = ".!?\n"
_NEGATORS = frozenset({"not", "never", "n't", "no"})
_HAVE = frozenset({"have", "has", "had", "having", "'ve", "'s", "'d"})
_BE = frozenset({"be", "is", "are", "was", "were", "been", "being", "am", "'m", "'re"})
_MODAL_OR_TO = frozenset(
    {"to", "will", "would", "can", "could", "shall", "should", "may", "might", "must"}
)
_DO = frozenset({"do", "does", "did"})
_POSSESSIVE = {
    "he": "his",
    "she": "her",
    "it": "its",
    "they": "their",
    "i": "my",
    "we": "our",
    "you": "your",
}
_POSSESSIVES = frozenset(_POSSESSIVE.values())
_REFLEXIVE = {
    "his": "himself",
    "her": "herself",
    "its": "itself",
    "their": "themselves",
    "my": "myself",
    "our": "ourselves",
    "your": "yourself",
}
_PLACEHOLDER = re.compile(r"\b(?:someone|somebody|something)(?:['’]s)?\b", re.I)
_ONES = re.compile(r"\bone['’]s\b", re.I)
_ONESELF = re.compile(r"\boneself\b", re.I)


# --- position -----------------------------------------------------------------------------


def at_sentence_start(text: str, start: int) -> bool:
    """Whether ``start`` opens a sentence (after opening quotes or brackets)."""
    i = start
    while i > 0 and text[i - 1] in _OPENERS:
        i -= 1
    return i == 0 or text[i - 1] in _SENTENCE_END


def _word_before(text: str, start: int) -> re.Match[str] | None:
    m = re.search(r"([^\W_]+(?:['’][^\W_]+)*)\s+$", text[max(0, start - 60) : start])
    return m


def _words_before(text: str, start: int, n: int = 4) -> list[str]:
    """Up to ``n`` words before ``start`` in the same sentence, lower case, nearest last."""
    i = start
    while i > 0 and text[i - 1] not in _SENTENCE_END:
        i -= 1
    return [w.lower().replace("’", "'") for w in WORD.findall(text[i:start])][-n:]


@lru_cache(maxsize=4096)
def is_common_word(word: str) -> bool:
    """Whether ``word`` (any case) is an ordinary English word, not only a name.

    lemminflect's lexicon has common nouns, verbs, adjectives and adverbs but no proper
    nouns: "officials" and "through" are in it, "Italy", "American" and "Monday" are not.
    """
    return bool(all_lemmas(word.lower()))


def fit_replacement(text: str, start: int, end: int, replacement: str) -> str:
    """``replacement`` made to fit ``text[start:end]``: no repeated word, case by position."""
    if not replacement:
        return replacement
    out = replacement
    # A word the text has right before the span is not repeated at its start.
    before = _word_before(text, start)
    first = WORD.match(out)
    if before and first and first.group(0).lower() == before.group(1).lower():
        rest = out[first.end() :].lstrip()
        if rest:
            out = rest
    # ...nor one it has right after the span at its end.
    after = re.match(r"\s+([^\W_]+(?:['’][^\W_]+)*)", text[end : end + 60])
    last = re.search(r"([^\W_]+(?:['’][^\W_]+)*)\s*$", out)
    if after and last and last.group(1).lower() == after.group(1).lower():
        head = out[: last.start()].rstrip()
        if head:
            out = head
    return fit_case(text, start, end, out)


def fit_case(text: str, start: int, end: int, replacement: str) -> str:
    """Capitalise at a sentence start; lower-case a capitalised common word inside one."""
    m = WORD.search(replacement)
    if m is None or m.start() != len(replacement) - len(replacement.lstrip(_OPENERS)):
        return replacement
    word = m.group(0)
    if at_sentence_start(text, start):
        if word[:1].islower():
            return replacement[: m.start()] + word[:1].upper() + replacement[m.start() + 1 :]
        return replacement
    original = WORD.search(text, start, end)
    keeps_capital = original is not None and original.group(0) == word
    if word[:1].isupper() and not word.isupper() and not keeps_capital and is_common_word(word):
        return replacement[: m.start()] + word[:1].lower() + replacement[m.start() + 1 :]
    return replacement


# --- lexicon suggestions -------------------------------------------------------------------

_PAREN = re.compile(r"\s*\(([^()]*)\)")
_ADVICE = re.compile(r"\.\.\.|…|^the verb for\b|\bX\b", re.I)


def split_alternatives(suggestion: str) -> tuple[str | None, str | None]:
    """A lexicon suggestion as (replacement text or None, note for the message or None).

    "Spain (or Portugal)" -> ("Spain", "or Portugal"); "both ... and ..." -> (None,
    "both ... and ..."): a pattern to follow, not text to insert.
    """
    notes = [n.strip() for n in _PAREN.findall(suggestion) if n.strip()]
    text = " ".join(_PAREN.sub("", suggestion).split())
    if not text or _ADVICE.search(text):
        return None, suggestion
    return text, "; ".join(notes) or None


# --- inflection ------------------------------------------------------------------------------


def _verb_lemma(word: str) -> str | None:
    found = all_lemmas(word.lower())
    lemmas = found.get("VERB") or found.get("AUX")
    return lemmas[0] if lemmas else None


def _known(word: str) -> bool:
    """Whether lemminflect's lexicon has the word at all."""
    return bool(all_lemmas(word.lower()))


_PREPOSITIONS = frozenset(
    "about above across after against along among around at before behind below beneath "
    "beside between beyond by down for from in inside into near of off on onto out outside "
    "over through to toward towards under until up upon with within without".split()
)


def _opens_with_preposition(span: list[str]) -> bool:
    return bool(span) and span[0].lower() in _PREPOSITIONS


def _forms(lemma: str, tag: str) -> tuple[str, ...]:
    return inflection(lemma, tag)


def verb_tag(word: str, before: list[str]) -> str | None:
    """The Penn tag of ``word`` as a verb (VB, VBP, VBZ, VBD, VBN, VBG), or None.

    ``before`` (the words before it) tells a past participle after "have"/"be" from a
    past tense of the same form ("dipped").
    """
    w = word.lower().replace("’", "'")
    lemma = _verb_lemma(w)
    if lemma is None:
        return None
    prev = before[-1] if before else ""
    if w == lemma and (prev in _MODAL_OR_TO or prev in _DO or prev in _NEGATORS):
        return "VB"  # "have to put", "will put", "did not put"
    if w in _forms(lemma, "VBG"):
        return "VBG"
    if w in _forms(lemma, "VBZ"):
        return "VBZ"
    past, participle = w in _forms(lemma, "VBD"), w in _forms(lemma, "VBN")
    if participle and (not past or prev in _HAVE or prev in _BE):
        return "VBN"
    if past:
        return "VBD"
    if w == lemma or w in _forms(lemma, "VBP"):
        return "VB" if prev in _MODAL_OR_TO or prev in _DO or prev in _NEGATORS else "VBP"
    return None


def _inflect(lemma: str, tag: str, like: str) -> str:
    """``lemma`` in form ``tag``; for "be", the person of the verb it replaces (``like``)."""
    if lemma == "be":
        like = like.lower()
        if tag == "VBD":
            return "were" if like == "were" else "was"
        if tag == "VBP":
            return "am" if like == "am" else "are"
        return {"VBZ": "is", "VBG": "being", "VBN": "been"}.get(tag, "be")
    if tag in ("VB", ""):
        return lemma
    forms = _forms(lemma, tag)
    return forms[0] if forms else lemma


def _subject_possessive(text: str, start: int, end: int) -> str:
    """The possessive that fits "one's" here: one in the span, a pronoun before it, "their"."""
    span_words = [w.lower() for w in WORD.findall(text[start:end])]
    for w in span_words:
        if w in _POSSESSIVES:
            return w
    for w in reversed(_words_before(text, start, 12)):
        if w in _POSSESSIVE:
            return _POSSESSIVE[w]
        if w in _POSSESSIVES:
            return w
    return "their"


def inflect_phrase(phrase: str, text: str, start: int, end: int) -> str | None:
    """``phrase`` (a dictionary form) inflected to replace ``text[start:end]``, or None.

    None when it cannot be replacement text here: it has a placeholder (someone,
    something), or it is a verb phrase where the span has no verb to take the place of
    (or the reverse).
    """
    if _PLACEHOLDER.search(phrase):
        return None
    possessive = _subject_possessive(text, start, end)
    phrase = _ONES.sub(possessive, phrase)
    phrase = _ONESELF.sub(_REFLEXIVE.get(possessive, "themselves"), phrase)
    words = phrase.split()
    if not words:
        return None
    span = [w for w in WORD.findall(text[start:end])]
    before = _words_before(text, start)
    # The span's verb: its first word, or the word after its "not"/"never".
    span_negated = bool(span) and span[0].lower() in _NEGATORS
    head = span[1] if span_negated and len(span) > 1 else (span[0] if span else "")
    tag = verb_tag(head, before + ([span[0].lower()] if span_negated else [])) if head else None
    # The phrase's verb: its first word in base form, after a "not". A word lemminflect
    # does not know ("inflame") is taken for a verb when the span is a verb phrase.
    gloss_negated = words[0].lower() == "not"
    core = words[1:] if gloss_negated else words
    if not core:
        return None
    known = _known(core[0])
    guess = tag is not None and core[0].isalpha() and core[0].islower()
    lemma = _verb_lemma(core[0]) if known else (core[0] if guess else None)
    is_verb = lemma is not None and core[0].lower() == lemma
    if tag is None:
        clause = any(verb_tag(w, []) in ("VBD", "VBZ", "VBN") for w in span[1:])
        if not is_verb and (known or not clause):
            return phrase  # a noun phrase for a noun phrase, or a clause for a clause
        if lemma == "be" and len(core) > 1 and not gloss_negated and _opens_with_preposition(span):
            return " ".join(core[1:])  # "in over their heads": the copula is outside the span
        return None  # a verb phrase cannot replace a noun phrase or a whole clause
    if not is_verb or lemma is None:
        return None  # "it's all Greek to me" cannot replace a verb phrase
    verb = _inflect(lemma, tag, head)
    rest = core[1:]
    sentence_negated = bool(before) and before[-1] in _NEGATORS
    if not gloss_negated or span_negated:
        # The span's own "not" is kept with the base form ("does not mince words").
        if span_negated:
            return " ".join([span[0], _inflect(lemma, "VB", head), *rest])
        return " ".join([verb, *rest])
    if sentence_negated:
        return " ".join([verb, *rest])  # "never had hairs on the tongue" -> "never minced words"
    if tag in ("VBD", "VBZ", "VBP") and lemma != "be":
        aux = {"VBD": "did", "VBZ": "does", "VBP": "do"}[tag]
        return " ".join([aux, "not", lemma, *rest])
    return " ".join(["not", verb, *rest])
