"""MT2xx — calques and false friends left by machine translation into English.

Most of the family is data: ``lexicons/calques-LANG.toml`` holds regular expressions for
source-language phrasing rendered word for word (MT201) and for false friends used in
their source-language sense (MT202), each with a message, an idiomatic suggestion and
optional ``require``/``forbid`` context patterns that keep precision on human English.
Two patterns are word-order and deixis effects that no phrase list captures, so they are
coded here: reporting-verb inversion (MT203, Spanish ``dijeron funcionarios
estadounidenses`` -> "officials said Americans") and "this Saturday" for a day already
past (MT204, Spanish/Italian/Portuguese ``este sábado`` / ``questo sabato``).

A lexicon pattern may name a group ``hit`` (or ``hit2``, ``hit3``... one per alternative)
to report only that part of the match; the rest anchors the context. Every pattern also
gets ``anchors``, literal strings one of which any match must contain, so that a few
hundred patterns cost a few milliseconds per article: patterns whose anchors are absent
from a document or sentence are skipped without running the regex.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from mtaudit.detectors.base import Detector, Rule
from mtaudit.detectors.calque_coded import (
    _CLAUSE_END,
    _FINITE,
    _INVERSION_A,
    _INVERSION_B,
    _SOURCE_WEEKDAY,
    _WEEKDAY,
    _adjective,
    _inversion_anchors,
    _inversion_nationalities,
    _past_context,
    _weekday_anchors,
)
from mtaudit.detectors.calque_fit import fit_suggestion
from mtaudit.detectors.calque_lexicon import (
    CalquePattern,
    LazyRegex,
    compile_entry,
    fold_case,
    load_patterns,
    required_literals,
)
from mtaudit.model import Document, Finding, Severity, Span
from mtaudit.segment import Segmentation
from mtaudit.suggest import is_common_word, split_alternatives

__all__ = [
    "RULES",
    "CalqueDetector",
    "CalquePattern",
    "DETECTORS",
    "LazyRegex",
    "compile_entry",
    "load_patterns",
    "required_literals",
]

RULES = (
    Rule(
        "MT201",
        "calque-phrase",
        "calque",
        "A phrase translated word for word from Spanish, French, German, Italian or "
        "Portuguese news style ('the aforementioned sources', 'the Asian giant', "
        "'a source close to the file').",
        "Each language's press has set phrases and epithets that MT engines render literally; "
        "English-language news never uses these shapes, so they mark unedited machine "
        "translation even when every word is spelled correctly.",
        "…support for Ukraine,” the aforementioned sources explained.",
        "Use the English newsroom phrase from the suggestion: 'the officials said', "
        "'the United States', 'a source familiar with the case'.",
        fix_safe=True,
    ),
    Rule(
        "MT202",
        "false-friend",
        "calque",
        "An English word used in the sense of a look-alike source word (actually for "
        "'actualmente', realize for 'realizar', sensible for 'sensible').",
        "False friends survive MT because the engine picks the English cognate; the sentence "
        "reads fluently but says something else ('The company actually has 300 employees' "
        "means 'in fact', not 'currently').",
        "The company actually has 300 employees in Madrid.",
        "Replace the cognate with the word the context needs: 'currently has 300 employees'.",
        fix_safe=True,
    ),
    Rule(
        "MT203",
        "reporting-verb-inversion",
        "calque",
        "A reporting verb with its subject after it and a nationality adjective after the "
        "noun ('officials said Americans', 'said sources Spanish').",
        "Spanish news puts the subject after the verb and the adjective after the noun "
        "('dijeron funcionarios estadounidenses'); MT keeps both orders, producing word "
        "salad that no English writer would type.",
        "…if pressure on the country eases, officials said Americans during a phone call.",
        "Restore English order: 'American officials said'.",
        fix_safe=True,
    ),
    Rule(
        "MT204",
        "weekday-deixis",
        "calque",
        "'this Saturday' (or another weekday) for a day that is already past.",
        "Spanish, Italian and Portuguese news write 'este sábado' for the nearest Saturday, "
        "past or future; English 'this Saturday' points forward, so with a past-tense verb "
        "it is a translation trace.",
        "It is not possible, they stressed this Saturday, that Moscow decides…",
        "Write 'on Saturday' (or just 'Saturday').",
        Severity.INFO,
        fix_safe=True,
    ),
)


class CalqueDetector(Detector):
    """Flags calque phrases and false friends (lexicon) plus MT203/MT204 (coded)."""

    prefix = "MT2"
    category = "calque"
    rules = RULES

    def patterns(self) -> list[CalquePattern]:
        """The compiled lexicon, loaded once per scan and shared through the context."""
        return self.context.resource(
            "calque.patterns",
            lambda: load_patterns(tuple(self.context.options.get("calque_files", ()))),
        )

    def _index(self) -> _Prefilter:
        """The patterns and the coded checks indexed by their anchors (for the prefilter)."""
        return self.context.resource(
            "calque.index",
            lambda: _Prefilter.build(self.patterns(), _coded_anchors()),
        )

    def detect(self, document: Document, segments: Segmentation) -> Iterator[Finding]:
        index = self._index()
        # Folded once, one character for one: each sentence's anchors are found in its slice.
        low = fold_case(document.text)
        found: list[Finding] = []
        for sent in segments.sentences:
            patterns, checks = index.select(low, sent.start, sent.end)
            if patterns:
                found.extend(self._lexicon(document, segments, sent, patterns))
            if _MT203 in checks and _MT203_NATIONALITY in checks:
                found.extend(self._inversion(document, sent))
            if _MT204 in checks:
                found.extend(self._weekday(document, sent))
        yield from _dedupe(found)

    # -- lexicon ---------------------------------------------------------------------------

    def _lexicon(
        self,
        document: Document,
        segments: Segmentation,
        sent: Span,
        patterns: list[CalquePattern],
    ) -> Iterator[Finding]:
        text = document.text
        sentence = text[sent.start : sent.end]
        for p in patterns:
            matches = list(p.regex.compiled.finditer(sentence))
            if not matches or not self._context_ok(p, text, segments, sent, sentence):
                continue
            for m in matches:
                hit = _hit_group(p.regex, m)
                start, end = m.span(hit)
                if start == end:
                    continue
                # "Spain (or Portugal)": the replacement is "Spain", the rest a note; "both
                # ... and ..." is a pattern to follow, not text (see mtaudit.suggest).
                suggestion, note = split_alternatives(m.expand(p.suggestion))
                start, end = sent.start + start, sent.start + end
                if suggestion is not None:
                    # Exact replacement text: tense, number and articles fitted to the span.
                    start, end, suggestion = fit_suggestion(text, start, end, suggestion)
                message = p.message
                if suggestion is None:
                    message = f"{message} Rewrite as: {note}."
                elif note:
                    message = f"{message} Also possible: {note.removeprefix('or:').strip()}."
                yield self.finding(
                    p.code,
                    document,
                    start,
                    end,
                    message,
                    suggestion=suggestion,
                    confidence=p.confidence,
                    evidence={"pattern": p.id, "source": p.source, "kind": p.kind},
                    source_language=p.language,
                    severity=p.severity,
                )

    @staticmethod
    def _context_ok(
        p: CalquePattern, text: str, segments: Segmentation, sent: Span, sentence: str
    ) -> bool:
        if p.require is None and p.forbid is None:
            return True
        if p.scope == "sentence":
            scope = sentence
        elif p.scope == "paragraph":
            para = segments.paragraph_at(sent.start)
            scope = text[para.start : para.end] if para else sentence
        else:
            scope = text
        if p.require is not None and not p.require.search(scope):
            return False
        return p.forbid is None or not p.forbid.search(scope)

    # -- MT203 -----------------------------------------------------------------------------

    def _inversion(self, document: Document, sent: Span) -> Iterator[Finding]:
        sentence = document.text[sent.start : sent.end]
        for shape, regex in (("A", _INVERSION_A), ("B", _INVERSION_B)):
            for m in regex.finditer(sentence):
                if shape == "B":
                    rest = sentence[m.end() :]
                    stop = _CLAUSE_END.search(rest)
                    if _FINITE.search(rest[: stop.start() if stop else len(rest)]):
                        continue
                nat_raw = m.group("nat")
                nat = _adjective(nat_raw)
                noun = " ".join(m.group("noun").split())
                verb = " ".join(m.group("verb").split())
                # The adjective goes after any modifier: "senior Spanish officials".
                mod = m.group("mod")
                # A noun capitalised only because it opened the sentence ("Officials said
                # Americans") is lower case once the adjective goes before it.
                if noun[:1].isupper() and is_common_word(noun.split()[0]):
                    noun = noun[:1].lower() + noun[1:]
                if mod:
                    mod = mod[:1].lower() + mod[1:] if is_common_word(mod.split()[0]) else mod
                    noun = f"{mod} {nat} {noun[len(mod) :].strip()}"
                else:
                    noun = f"{nat} {noun}"
                if shape == "A":  # "said officials Spanish", "according to sources X"
                    suggestion = f"{verb} {noun}"
                else:
                    suggestion = f"{noun} {verb}"
                yield self.finding(
                    "MT203",
                    document,
                    sent.start + m.start(),
                    sent.start + m.end(),
                    f"Inverted reporting clause '{m.group(0)}': the subject follows the verb and "
                    f"'{nat_raw}' follows its noun, as in Spanish 'dijeron funcionarios "
                    "estadounidenses'. English puts the adjective first and the subject "
                    "before the verb.",
                    suggestion=suggestion,
                    confidence=0.8,
                    evidence={
                        "pattern": f"mt203.shape-{shape.lower()}",
                        "source": "dijeron fuentes X",
                    },
                    source_language="es",
                )

    # -- MT204 -----------------------------------------------------------------------------

    def _weekday(self, document: Document, sent: Span) -> Iterator[Finding]:
        sentence = document.text[sent.start : sent.end]
        for m in _WEEKDAY.finditer(sentence):
            verb = _past_context(sentence, m.start(), m.end())
            if verb is None:
                continue
            day = m.group("day")
            yield self.finding(
                "MT204",
                document,
                sent.start + m.start(),
                sent.start + m.end(),
                f"'{m.group(0)}' with the past-tense '{verb}': Spanish, Italian and Portuguese "
                f"news say 'this {day}' (este/questo/este) for a day just past; English says "
                f"'on {day}'.",
                suggestion=f"on {day}",
                confidence=0.55,
                evidence={
                    "pattern": "mt204.this-weekday-past",
                    "source": _SOURCE_WEEKDAY.get(day.lower(), "este sábado"),
                    "verb": verb,
                },
                source_language=None,
            )


# The coded checks' requirements, found by the prefilter like the lexicon's patterns: MT203
# runs where a sentence has both of its own.
_MT203, _MT203_NATIONALITY, _MT204 = "MT203", "MT203.nationality", "MT204"


def _coded_anchors() -> dict[str, tuple[str, ...]]:
    """The anchors of the coded checks' requirements, by name.

    Read from the index cache: working them out of the MT203 regexes costs ~50 ms, which
    every scan (the one-file pre-commit run too) would pay again. Keyed by the bytes of the
    modules that hold the regexes and read their literals, and by the Unicode tables the
    anchors are case-folded with.
    """
    import unicodedata

    from mtaudit import indexcache
    from mtaudit.detectors import calque_coded, calque_lexicon

    key = indexcache.digest(
        "calquecoded",
        [Path(calque_coded.__file__), Path(calque_lexicon.__file__)],
        [unicodedata.unidata_version],
    )
    return indexcache.cached(
        key,
        lambda: {
            _MT203: _inversion_anchors(),
            _MT203_NATIONALITY: _inversion_nationalities(),
            _MT204: _weekday_anchors(),
        },
    )


@dataclass(frozen=True)
class _Prefilter:
    """The lexicon's patterns and the coded checks indexed by anchor, so that one pass of
    an Aho-Corasick automaton over a sentence finds the ones whose anchors it contains.
    Selects exactly the patterns that have no anchors or an anchor in the text, in lexicon
    order (the checks are numbered after the patterns)."""

    patterns: list[CalquePattern]
    checks: tuple[str, ...]  # the coded checks' requirements, numbered from len(patterns)
    always: frozenset[int]  # those without anchors: run on every sentence
    by_anchor: dict[str, tuple[int, ...]]  # anchor -> the patterns and checks that name it
    automaton: Any  # ahocorasick.Automaton: anchor -> by_anchor[anchor] (None: no anchors)

    @classmethod
    def build(
        cls, patterns: list[CalquePattern], checks: dict[str, tuple[str, ...] | None]
    ) -> _Prefilter:
        """Index ``patterns`` and ``checks`` (name -> anchors; None or one of them "" for a
        check to run on every sentence)."""
        requirements = [p.anchors for p in patterns]
        requirements += [None if not a or "" in a else a for a in checks.values()]
        by_anchor: dict[str, list[int]] = {}
        for i, anchors in enumerate(requirements):
            for a in anchors or ():
                by_anchor.setdefault(a, []).append(i)
        automaton = None
        if by_anchor:
            import ahocorasick  # a C extension: loaded by the scans that run this detector

            automaton = ahocorasick.Automaton()
            for a, ids in by_anchor.items():
                automaton.add_word(a, tuple(ids))
            automaton.make_automaton()
        return cls(
            patterns,
            tuple(checks),
            frozenset(i for i, r in enumerate(requirements) if r is None),
            {a: tuple(v) for a, v in by_anchor.items()},
            automaton,
        )

    def select(self, low: str, start: int, end: int) -> tuple[list[CalquePattern], set[str]]:
        """The patterns to run on ``low[start:end]`` (case-folded text, :func:`fold_case`),
        in lexicon order, and the names of the checks to run there."""
        chosen = set(self.always)
        if self.automaton is not None:
            for _end, ids in self.automaton.iter(low, start, end):
                chosen.update(ids)
        n = len(self.patterns)
        order = sorted(chosen)
        return [self.patterns[i] for i in order if i < n], {
            self.checks[i - n] for i in order if i >= n
        }


_HIT_NAME = re.compile(r"hit\d*")


def _hit_group(regex: re.Pattern[str] | LazyRegex, m: re.Match[str]) -> str | int:
    """The group that delimits the finding: the first of ``hit``, ``hit2``, ``hit3``... that
    took part in the match (alternatives of one pattern each name their own), else the
    whole match. Context that only anchors the match stays outside the reported span."""
    for name in regex.groupindex:
        if _HIT_NAME.fullmatch(name) and m.group(name):
            return name
    return 0


def _dedupe(findings: list[Finding]) -> list[Finding]:
    """Drop findings that overlap a more confident (then longer) one; keep text order.

    The same English shape can be a calque from several languages ("counted with": es
    *contar con*, pt *contar com*). When patterns of different languages match over the
    kept finding's span, it names no single source language (the one that sorted first
    would be arbitrary) and lists them all in ``evidence["source_languages"]``; the
    document's source-language vote splits between them.
    """
    kept: list[Finding] = []
    for f in sorted(findings, key=lambda f: (-f.confidence, -(f.end - f.start), f.start)):
        if all(f.end <= k.start or f.start >= k.end for k in kept):
            kept.append(f)
    out = []
    for k in kept:
        languages = {
            f.source_language
            for f in findings
            if f.source_language and f.start < k.end and k.start < f.end
        }
        if len(languages) > 1:
            evidence = {**k.evidence, "source_languages": sorted(languages)}
            k = replace(k, source_language=None, evidence=evidence)
        out.append(k)
    return sorted(out, key=lambda f: (f.start, f.end))


DETECTORS = (CalqueDetector,)
