"""MT5xx — scraper and syndication boilerplate (data-driven: ``lexicons/boilerplate.toml``)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from mtaudit.detectors.base import Detector, Rule
from mtaudit.lexicons import builtin
from mtaudit.model import Document, Finding, Severity
from mtaudit.segment import Segmentation

_WHY = (
    "Auto-republishing sites copy machine-translated articles together with the source "
    "page's chrome; these lines are the strongest sign the text was never edited."
)
RULES = (
    Rule(
        "MT501",
        "scraper-credit",
        "boilerplate",
        "A scraper credit line such as 'Source link'.",
        _WHY,
        "…a club that includes Cuba, Iran, North Korea and Syria.\n\nSource link",
        "Delete the line; credit the original publisher in a byline if you have the rights.",
        Severity.ERROR,
        fix_safe=True,
    ),
    Rule(
        "MT502",
        "auto-publish-disclaimer",
        "boilerplate",
        "A disclaimer saying the text came from a feed unedited or was machine-translated.",
        _WHY,
        "Disclaimer: This article is generated from the feed and not edited by our team.",
        "Delete the disclaimer, and have the text edited before publishing.",
        Severity.ERROR,
        fix_safe=True,
    ),
    Rule(
        "MT503",
        "call-to-action",
        "boilerplate",
        "A subscription or membership call to action copied from the source site.",
        _WHY,
        "Join XYZ to follow all the news and read without limits.",
        "Delete the line; it belongs to another publication's page.",
        fix_safe=True,
    ),
    Rule(
        "MT504",
        "page-chrome",
        "boilerplate",
        "Related-content or author-box headings ('Check Also', 'About NAME').",
        _WHY,
        "Check Also",
        "Delete the widget text.",
        fix_safe=True,
    ),
)
# Chrome lines are short; a long paragraph that happens to start like one is prose.
MAX_LINE = 300


@dataclass(frozen=True)
class _Pattern:
    id: str
    code: str
    regex: re.Pattern[str]
    message: str


def load_patterns(extra_files: tuple[str, ...] = ()) -> list[_Pattern]:
    """Compile the built-in boilerplate patterns plus any user lexicon files."""
    from mtaudit.lexicons import load_file

    lexicons = list(builtin("boilerplate")) + [load_file(p, "boilerplate") for p in extra_files]
    out = []
    for lex in lexicons:
        for e in lex.entries:
            flags = 0 if e.get("case_sensitive") else re.IGNORECASE
            out.append(
                _Pattern(
                    e.get("id", ""),
                    e.get("code", "MT501"),
                    re.compile(e["pattern"], flags),
                    e["message"],
                )
            )
    return out


class BoilerplateDetector(Detector):
    """Flags whole lines that are scraper/syndication chrome."""

    prefix = "MT5"
    category = "boilerplate"
    rules = RULES

    def detect(self, document: Document, segments: Segmentation) -> Iterator[Finding]:
        patterns = self.context.resource(
            "boilerplate.patterns",
            lambda: load_patterns(tuple(self.context.options.get("boilerplate_files", ()))),
        )
        text = document.text
        for para in segments.paragraphs:
            for line in re.finditer(r"[^\n]+", text[para.start : para.end]):
                start, end = para.start + line.start(), para.start + line.end()
                chunk = text[start:end].strip()
                if not chunk or len(chunk) > MAX_LINE:
                    continue
                for p in patterns:
                    if p.regex.match(chunk) and p.code in self.rule_by_code:
                        lead = len(text[start:end]) - len(text[start:end].lstrip())
                        s = start + lead
                        yield self.finding(
                            p.code,
                            document,
                            s,
                            s + len(chunk),
                            p.message,
                            suggestion="",
                            confidence=0.9 if p.code in ("MT501", "MT502") else 0.75,
                            evidence={"pattern": p.id},
                        )
                        break


DETECTORS = (BoilerplateDetector,)
