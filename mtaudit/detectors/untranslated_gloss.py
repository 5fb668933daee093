"""MT3xx suggestions: a word-by-word English rendering of an untranslated fragment.

Split from :mod:`mtaudit.detectors.untranslated`: the function-word tables (data), the
glossary look-up with Romance and German inflections stripped, and English plurals from
lemminflect.
"""

from __future__ import annotations

from collections.abc import Sequence

from mtaudit import langid

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
    """The plural of a one-word English gloss, from lemminflect's lexicon and rules.

    Irregular and mass nouns come out right ("knife" -> "knives", "foot" -> "feet",
    "sand" -> "sand"), which suffix rules by hand did not.
    """
    if " " in english:
        return english  # "budget law" -> leave phrases alone
    # lemminflect's answer from the on-disk table (loading lemminflect costs ~0.5 s).
    from mtaudit.lemmacache import inflection

    forms = inflection(english, "NNS")
    return forms[0] if forms else english
