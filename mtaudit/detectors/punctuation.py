"""MT4xx — punctuation artifacts that MT pipelines leave in English text.

Neural MT tokenises quotes and commas as separate tokens; detokenisers then glue them to
the wrong neighbour (``, ”the``), and Spanish sources leak ``¿ ¡`` and guillemets. Neural
MT also carries over the source locale's decimal comma, ordinal dates and corner-bracket
quotes (MT406-MT408, measured in :mod:`mtaudit.nmtmarkers`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from mtaudit.detectors.base import Detector, Rule
from mtaudit.model import Document, Finding, Severity
from mtaudit.nmtmarkers import cjk_quotes, day_dot_month, decimal_comma
from mtaudit.segment import Segmentation

RULES = (
    Rule(
        "MT401",
        "detached-closing-quote",
        "punctuation",
        "A closing quotation mark with a space before it, often with the next word glued to it.",
        "MT detokenisers attach the closing quote to the following word (', ”the sources'); "
        "English typesetting never puts a space before a closing quote.",
        "… support for Ukraine, ”the aforementioned sources explained.",
        "Close the quote on the preceding word and put the space after it: 'Ukraine,” the'.",
        fix_safe=True,
    ),
    Rule(
        "MT402",
        "stray-punctuation-sequence",
        "punctuation",
        "Two punctuation marks in a row separated by a space, such as '. ,'.",
        "A sentence break left over where MT merged or split source sentences; a human "
        "writer or editor does not type '. ,'.",
        "… a specific percentage of American composition. , according to the agency.",
        "Keep one mark: '… American composition, according to the agency.'",
        fix_safe=True,
    ),
    Rule(
        "MT403",
        "space-before-punctuation",
        "punctuation",
        "A space before a comma or full stop.",
        "French typography and MT tokenisation put spaces before punctuation; English does not.",
        "The minister resigned , citing health reasons .",
        "Delete the space: 'resigned, citing health reasons.'",
        Severity.INFO,
        fix_safe=True,
    ),
    Rule(
        "MT404",
        "inverted-question-exclamation",
        "punctuation",
        "Spanish inverted marks ¿ or ¡ in English text.",
        "English has no inverted question or exclamation marks: they survive only when a "
        "Spanish source is machine-translated unedited.",
        "¿What will happen to the pensions? asked the senator.",
        "Delete the inverted mark: 'What will happen to the pensions?'",
        fix_safe=True,
    ),
    Rule(
        "MT405",
        "guillemets",
        "punctuation",
        "Guillemets « » used as quotation marks in English text.",
        'Spanish, French, Italian and Portuguese news quote with « »; English uses “ ” or "". '
        "MT systems copy them through.",
        "The minister called it «a historic day».",
        "Use English quotation marks: “a historic day”.",
        fix_safe=True,
    ),
    # MT406-MT408: source-locale conventions neural MT carries over. Each fires only on
    # machine translation in the shared WMT sets (see mtaudit.nmtmarkers for the figures),
    # rarely: on 0.2-0.3% of MT documents. Their fixes are a mark for a mark, with no
    # wording to judge, so --fix applies them like the other punctuation fixes.
    Rule(
        "MT406",
        "decimal-comma",
        "punctuation",
        "A decimal comma before a unit or a multiplier ('3,5 million').",
        "Most European languages write decimals with a comma; English uses a point. MT "
        "copies the number as it was, so '49,9 percent' is left for the reader to parse.",
        "Biden leads with 49,9 percent nationally.",
        "Use a decimal point: '49.9 percent'.",
        fix_safe=True,
    ),
    Rule(
        "MT407",
        "ordinal-date",
        "punctuation",
        "A day written as an ordinal with a full stop before the month ('3. June').",
        "German and the Nordic languages write the day as an ordinal number with a full "
        "stop; English writes 'June 3' or '3 June'.",
        "The games were to start on 24. July.",
        "Drop the full stop: '24 July' (or 'July 24').",
        fix_safe=True,
    ),
    Rule(
        "MT408",
        "corner-bracket-quotes",
        "punctuation",
        "Japanese or Chinese corner brackets 「 」 used as quotation marks.",
        "Japanese and Chinese quote with corner brackets; English never does. MT passes "
        "them through, often next to an English quotation mark it added.",
        "He said: 「We will win」 before the match.",
        "Use English quotation marks: “We will win”.",
        fix_safe=True,
    ),
)

# A closing curly quote after whitespace: unambiguous, unlike the straight '"'.
_DETACHED_QUOTE = re.compile(r"[ \t]+”(?P<after>\w)?")
# ". ," / ", ." / "; ," — but not a spaced ellipsis ". . .".
_STRAY = re.compile(r"(?P<first>[.,;:])[ \t]+(?P<second>[,.;:])(?![.\w])")
_SPACE_BEFORE = re.compile(r"(?<=\w)[ \t]+(?P<mark>[,.])(?=[ \t\n]|$)")
_SPACED_ELLIPSIS = re.compile(r"\.(?:[ \t]\.){2,}")
_INVERTED = re.compile(r"[¿¡]")
_GUILLEMETS = re.compile(r"«[ \u00a0]?(?P<inner>[^«»\n]{1,400}?)[ \u00a0]?»")
_CJK_TO_ENGLISH = {"「": "“", "」": "”", "『": "‘", "』": "’"}


class PunctuationDetector(Detector):
    """Finds MT tokenisation artifacts in punctuation."""

    prefix = "MT4"
    category = "punctuation"
    rules = RULES

    def detect(self, document: Document, segments: Segmentation) -> Iterator[Finding]:
        text = document.text
        for m in _DETACHED_QUOTE.finditer(text):
            glued = m.group("after") is not None
            end = m.end() - (1 if glued else 0)
            yield self.finding(
                "MT401",
                document,
                m.start(),
                end,
                "Closing quote with a space before it"
                + (" and the next word glued to it" if glued else "")
                + " — a machine-translation detokenisation artifact.",
                suggestion="” " if glued else "”",
                confidence=0.85 if glued else 0.7,
            )
        # A spaced ellipsis ". . ." is deliberate typography, not an artifact.
        skip = [(m.start(), m.end()) for m in _SPACED_ELLIPSIS.finditer(text)]
        stray_spans = []
        for m in _STRAY.finditer(text):
            if any(s <= m.start() < e for s, e in skip):
                continue
            stray_spans.append((m.start(), m.end()))
            space = re.search(r"(?<=\w)[ \t]+$", text[max(0, m.start() - 40) : m.start()])
            if space:
                # "low . , the": the space before the pair goes too, as its own MT403 (the
                # pair's fix keeps one mark, which then follows the word).
                stray_spans.append((m.start() - len(space.group(0)), m.start()))
                yield self.finding(
                    "MT403",
                    document,
                    m.start() - len(space.group(0)),
                    m.start(),
                    f"Space before '{m.group('first')}'.",
                    suggestion="",
                    confidence=0.5,
                )
            yield self.finding(
                "MT402",
                document,
                m.start(),
                m.end(),
                f"Stray punctuation sequence '{m.group(0)}' — left where MT joined two "
                "source sentences.",
                suggestion=m.group("second"),
                confidence=0.8,
            )
        for m in _SPACE_BEFORE.finditer(text):
            if any(s <= m.end() - 1 < e for s, e in stray_spans + skip):
                continue
            yield self.finding(
                "MT403",
                document,
                m.start(),
                m.end(),
                f"Space before '{m.group('mark')}'.",
                suggestion=m.group("mark"),
                confidence=0.5,
            )
        for m in _INVERTED.finditer(text):
            yield self.finding(
                "MT404",
                document,
                m.start(),
                m.end(),
                f"Spanish inverted mark '{m.group(0)}' in English text.",
                suggestion="",
                confidence=0.8,
                source_language="es",
            )
        for start, end in decimal_comma(text):
            number = text[start:end]
            comma = number.index(",")
            yield self.finding(
                "MT406",
                document,
                start + comma,
                start + comma + 1,
                f"Decimal comma in '{number}': English writes decimals with a point.",
                suggestion=".",
                confidence=0.8,
            )
        for start, end in day_dot_month(text):
            dot = text.index(".", start, end)
            yield self.finding(
                "MT407",
                document,
                dot,
                dot + 1,
                f"'{text[start:end]}' is a German-style ordinal date; English writes "
                f"'{text[start:dot]}{text[dot + 1 : end]}'.",
                suggestion="",
                confidence=0.8,
            )
        for start, end in cjk_quotes(text):
            mark = text[start:end]
            # Next to a quotation mark the MT already added, the bracket is just deleted.
            near = text[max(0, start - 2) : start] + text[end : end + 2]
            english = "" if any(q in near for q in "\"“”'‘’") else _CJK_TO_ENGLISH[mark]
            yield self.finding(
                "MT408",
                document,
                start,
                end,
                f"Corner bracket '{mark}' used as a quotation mark (Japanese/Chinese); "
                "English uses “ ”.",
                suggestion=english,
                confidence=0.85,
            )
        for m in _GUILLEMETS.finditer(text):
            yield self.finding(
                "MT405",
                document,
                m.start(),
                m.end(),
                "Guillemets « » used as quotation marks; English uses “ ”.",
                suggestion=f"“{m.group('inner')}”",
                confidence=0.6,
            )


DETECTORS = (PunctuationDetector,)
