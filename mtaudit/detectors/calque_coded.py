"""MT203 and MT204, the calques no phrase list captures: their tables and helpers.

Reporting-verb inversion (Spanish ``dijeron funcionarios estadounidenses`` -> "officials
said Americans") and "this Saturday" for a day already past (``este sábado``). The
detector methods that use them are in :mod:`mtaudit.detectors.calque`.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache

from mtaudit.detectors.calque_lexicon import LazyRegex, group_literals, required_literals
from mtaudit.lemmacache import all_lemmas, inflection

# --- MT203: reporting-verb inversion -------------------------------------------------------

# Nationality adjective -> itself; plural demonym -> adjective (for the suggestion).
_DEMONYMS: dict[str, str] = {
    "spaniards": "Spanish", "britons": "British", "brits": "British", "danes": "Danish",
    "swedes": "Swedish", "finns": "Finnish", "poles": "Polish", "turks": "Turkish",
    "scots": "Scottish", "filipinos": "Philippine", "dutchmen": "Dutch",
    "frenchmen": "French", "englishmen": "English", "irishmen": "Irish",
}  # fmt: skip
_ADJECTIVES = """
american spanish french german italian portuguese british english russian chinese mexican
brazilian argentine argentinian colombian venezuelan chilean peruvian cuban ecuadorian
bolivian uruguayan paraguayan nicaraguan honduran guatemalan salvadoran panamanian dominican
ukrainian israeli palestinian iranian iraqi syrian lebanese jordanian egyptian saudi qatari
emirati moroccan algerian tunisian libyan turkish greek japanese korean vietnamese thai
indian pakistani afghan canadian australian european belgian dutch swiss austrian swedish
danish norwegian finnish irish scottish polish czech hungarian romanian bulgarian serbian
croatian catalan basque galician andalusian nigerian kenyan ethiopian african
""".split()
# Plural demonyms whose adjective is the singular ("Americans" -> "American").
_PLURAL_S = {
    a + "s"
    for a in _ADJECTIVES
    if a[-1] == "n" or a[-1] == "i" or a in ("greek", "thai", "czech", "afghan")
}
_NATIONALITY = sorted(set(_ADJECTIVES) | _PLURAL_S | set(_DEMONYMS), key=len, reverse=True)
_NAT = "(?:" + "|".join(_NATIONALITY) + ")"

_REPORT_VERBS = """
said says explained explains added adds indicated indicates stated states declared declares
affirmed affirms noted notes reported reports confirmed confirms stressed stresses insisted
acknowledged admitted revealed specified maintained argued claimed underlined highlighted
emphasized emphasised recalled commented announced detailed estimated asserted clarified
replied responded answered recognized recognised denied anticipated advanced expressed
pointed\\s+out points\\s+out
""".split()
_REPORT = "(?:" + "|".join(_REPORT_VERBS) + ")"
_PEOPLE = (
    "(?:sources|officials|authorities|diplomats|spokespeople|spokesmen|spokespersons|"
    "representatives|leaders|experts|analysts|investigators|agents|police|officers|members|"
    "ministers|negotiators|lawmakers|legislators|parliamentarians|deputies|senators|"
    "executives|managers|directors|commanders|doctors|scientists|researchers|economists|"
    "prosecutors|judges|lawyers|witnesses|residents|journalists|media|specialists|"
    "technicians|workers|employees|businessmen|entrepreneurs|activists|organi[sz]ers|"
    "citizens|voters|students|farmers|governments|companies|banks|agencies|intelligence)"
)
_MOD = (
    "(?:senior|high|top|high-ranking|government|military|administration|security|"
    "intelligence|police|diplomatic|local|regional|federal|anonymous|several|two|three|"
    "various|other|some|judicial|official)"
)
# What may follow the postposed adjective: end of clause, or a circumstantial phrase.
_AFTER = (
    r"(?=\s*(?:[,.;:!?)\]”\"'’]|$|(?:during|on|at|this|last|yesterday|today|from|after|"
    r"before|who|quoted|cited|consulted|contacted|speaking|familiar|close|according|"
    r"in\s+(?:a|an|the)\s+(?:statement|press|phone|telephone|call|conference|interview|"
    r"briefing|meeting|communiqu\w*|note|message)|to\s+(?:reporters|journalists|the\s+"
    r"press|the\s+media|press|media|(?:this|the|our)\s+(?:newspaper|paper|agency|channel|"
    r"station|broadcaster|outlet|website)))\b))"
)
# Shape A: said [senior] officials American / according to sources diplomatic.
# Both shapes are compiled on first use (~20 ms each): the prefilter runs them only on a
# sentence with a people noun and a nationality word, which most scans never meet.
_INVERSION_A = LazyRegex(
    rf"\b(?P<verb>{_REPORT}|according\s+to)\s+(?P<noun>(?:(?P<mod>{_MOD})\s+)?{_PEOPLE})\s+"
    rf"(?P<nat>{_NAT}|diplomatic|judicial|governmental|ministerial|parliamentary)\b{_AFTER}",
    re.IGNORECASE,
)
# Shape B: officials said Americans — verbs that take a person object ("warned
# Americans") are left out because that order is normal English.
_INVERSION_B = LazyRegex(
    rf"\b(?P<noun>(?:(?P<mod>{_MOD})\s+)?{_PEOPLE})\s+(?P<verb>{_REPORT})\s+(?P<nat>{_NAT})\b"
    rf"{_AFTER}",
    re.IGNORECASE,
)
# A finite verb in the rest of the clause means the nationality word is a subject
# ("officials said Americans on board were safe"), i.e. ordinary English.
_FINITE = re.compile(
    r"\b(?:is|are|was|were|be|been|had|has|have|would|will|should|must|could|can|may|might|"
    r"did|do|does|need|needs|remain|remains|face|faces|[a-z]{3,}ed)\b",
    re.IGNORECASE,
)
_CLAUSE_END = re.compile(r"[,.;:!?]")

# --- MT204: "this Saturday" for a past day -----------------------------------------------

_WEEKDAY = re.compile(
    r"\bthis\s+(?P<day>monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b(?!['’]s)",
    re.IGNORECASE,
)
_TOKEN = re.compile(r"[A-Za-z]+(?:['’][a-z]+)?|[,;:()—–.!?]")
# Modal auxiliaries: their past forms ("would", "could") speak of the future or the
# hypothetical, not of a day past.
_MODALS = frozenset("can will shall may must".split())
# Before a past form, these make it a noun or adjective ("a bit colder", "the left").
_NOUN_BEFORE = frozenset("a an the his her their its our my your these those".split())
# -ed words that are not past-tense verbs, or that point forward ("scheduled").
_NOT_PAST_ED = frozenset(
    """
    need speed feed seed indeed breed greed weed bleed proceed succeed exceed red bed shed wed
    hundred kindred sacred naked wicked beloved aged learned alleged supposed united limited
    based concerned interested related detailed advanced skilled experienced armed biased
    scheduled expected planned slated intended proposed called due set ahmed mohammed
    mohamed hundred
    """.split()
)
_FUTURE = frozenset(
    """
    will shall would going scheduled expected planned slated due ll is are am takes begins starts meets opens closes arrives
    plays faces hosts holds travels visits ends expires resumes returns
    """.split()
)  # present-tense forms count here too: "the talks that take place this Monday"
_DETERMINERS = frozenset(
    "the a an this that these those his her their its our my your be been being is are".split()
)
_CLAUSE_TOKENS = frozenset(",;:()—–.!?")
# After "to", these endings are nouns ("said to reporters"), not infinitives ("to meet").
_NOUN_AFTER_TO = re.compile(r"(?:ers|ors|ists|ians|ents|ies)$")


@lru_cache(maxsize=8192)
def _irregular_past(word: str) -> bool:
    """Whether lemminflect gives ``word`` as a past tense other than a regular -ed one.

    ("said", "went", "led", "died"). Regular -ed forms of over four letters are left to
    the -ed rule of :func:`_verb_class`, which also covers the verbs lemminflect does
    not know. A form that is its own first lemma reads as present ("put", "read", "cost").
    """
    if word in _NOT_PAST_ED or (word.endswith("ed") and len(word) > 4):
        return False
    verbs = all_lemmas(word).get("VERB", ())
    return bool(
        verbs
        and verbs[0] != word
        and verbs[0] not in _MODALS
        and word in inflection(verbs[0], "VBD")
    )


@lru_cache(maxsize=8192)
def _participle(word: str) -> bool:
    """Whether lemminflect gives ``word`` as a past participle or an irregular past tense
    (read as one after "has" or "is": "has put", "is held")."""
    if word in _NOT_PAST_ED:
        return False
    verbs = [v for v in all_lemmas(word).get("VERB", ()) if v not in _MODALS]
    return _irregular_past(word) or any(word in inflection(v, "VBN") for v in verbs)


def _verb_class(tokens: list[str], i: int) -> str | None:
    """'past', 'other' (present/future/modal) or None for token ``i`` of a clause."""
    w = tokens[i].lower().replace("’", "'")
    prev = tokens[i - 1].lower() if i > 0 else ""
    if w in ("'ll",) or w.endswith("'ll"):
        return "other"
    participle = _participle(w) or (w.endswith("ed") and w not in _NOT_PAST_ED)
    if participle and prev in ("be", "is", "are", "am", "being", "'s"):
        return "other"  # "will be held", "is held": passive, not past
    if prev == "to" and w not in _DETERMINERS and not _NOUN_AFTER_TO.search(w):
        return "other"  # infinitive: "agreed to meet this Saturday"
    if _irregular_past(w) and prev not in _NOUN_BEFORE:
        return "past"
    if prev in ("has", "have") and participle:
        return "past"  # present perfect: Spanish "ha explicado este lunes"
    if w in _FUTURE:
        return "other"
    if w.endswith("ed") and len(w) > 4 and w not in _NOT_PAST_ED and prev not in _DETERMINERS:
        return "past"
    return None


def _past_context(sentence: str, start: int, end: int) -> str | None:
    """The past-tense verb nearest to ``sentence[start:end]`` in its clause, if that is
    the nearest verb at all (a nearer present/future form wins)."""
    before = _TOKEN.findall(sentence[:start])
    after = _TOKEN.findall(sentence[end:])

    # Clip to the clause, but if the clause has no verb look at the whole window.
    def clip(tokens: list[str], reverse: bool) -> list[str]:
        seq = tokens[::-1] if reverse else tokens
        out = []
        for t in seq:
            if t in _CLAUSE_TOKENS:
                break
            out.append(t)
        return out

    windows = [
        (clip(before, True)[:10], clip(after, False)[:6]),
        ([t for t in before[::-1] if t not in _CLAUSE_TOKENS][:10],
         [t for t in after if t not in _CLAUSE_TOKENS][:6]),
    ]  # fmt: skip
    for back, fwd in windows:
        if back and back[0].lower() in ("for", "from", "until", "till", "by", "before", "next"):
            return None  # "scheduled for this Saturday", "until this Monday"
        back_seq = back[::-1]  # in reading order
        found: list[tuple[int, str, str]] = []
        for k in range(len(back_seq)):
            cls = _verb_class(back_seq, k)
            if cls:
                found.append((len(back_seq) - k, cls, back_seq[k]))
        for k in range(len(fwd)):
            cls = _verb_class(fwd, k)
            if cls:
                found.append((k + 1, cls, fwd[k]))
        if found:
            dist, cls, word = min(found, key=lambda f: f[0])
            return word if cls == "past" else None
    return None


@cache
def _inversion_anchors() -> tuple[str, ...]:
    """People nouns one of which both MT203 shapes require (the prefilter for MT203)."""
    found: set[str] = set()
    for regex in (_INVERSION_A, _INVERSION_B):
        anchors = required_literals(regex)
        if anchors is None:  # pragma: no cover - both shapes name a people noun
            return ("",)  # "" is in every sentence: no filtering
        found.update(anchors)
    return tuple(sorted(found))


@cache
def _inversion_nationalities() -> tuple[str, ...]:
    """Nationality words, one of which both MT203 shapes also require (the prefilter runs
    MT203 only where a people noun and one of these are both present)."""
    found: set[str] = set()
    for regex in (_INVERSION_A, _INVERSION_B):
        anchors = group_literals(regex, "nat")
        if anchors is None:  # pragma: no cover - both shapes end in a nationality
            return ("",)
        found.update(anchors)
    return tuple(sorted(found))


@cache
def _weekday_anchors() -> tuple[str, ...]:
    """The weekday names, one of which MT204 requires (the prefilter for MT204)."""
    return required_literals(_WEEKDAY) or ("",)


# Spanish weekday names, for the evidence's source phrase (back-translation matches it).
_SOURCE_WEEKDAY = {
    "monday": "este lunes",
    "tuesday": "este martes",
    "wednesday": "este miércoles",
    "thursday": "este jueves",
    "friday": "este viernes",
    "saturday": "este sábado",
    "sunday": "este domingo",
}


def _adjective(word: str) -> str:
    """'Americans' -> 'American', 'Spaniards' -> 'Spanish', 'french' -> 'French';
    non-national adjectives stay lower case ('diplomatic')."""
    low = word.lower()
    if low in _DEMONYMS:
        return _DEMONYMS[low]
    if low in _PLURAL_S:
        low = low[:-1]
    if low not in _ADJECTIVES:
        return low
    return low[:1].upper() + low[1:]
