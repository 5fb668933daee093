"""MT4xx — punctuation artifacts that MT pipelines leave in English text.

Neural MT tokenises quotes and commas as separate tokens; detokenisers then glue them to
the wrong neighbour (``, ”the``), and Spanish sources leak ``¿ ¡`` and guillemets.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from mtaudit.detectors.base import Detector, Rule
from mtaudit.model import Document, Finding, Severity
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
)

# A closing curly quote after whitespace: unambiguous, unlike the straight '"'.
_DETACHED_QUOTE = re.compile(r"[ \t]+”(?P<after>\w)?")
# ". ," / ", ." / "; ," — but not a spaced ellipsis ". . .".
_STRAY = re.compile(r"(?P<first>[.,;:])[ \t]+(?P<second>[,.;:])(?![.\w])")
_SPACE_BEFORE = re.compile(r"(?<=\w)[ \t]+(?P<mark>[,.])(?=[ \t\n]|$)")
_SPACED_ELLIPSIS = re.compile(r"\.(?:[ \t]\.){2,}")
_INVERTED = re.compile(r"[¿¡]")
_GUILLEMETS = re.compile(r"«[ \u00a0]?(?P<inner>[^«»\n]{1,400}?)[ \u00a0]?»")


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
