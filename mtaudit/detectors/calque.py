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
from functools import cache
from pathlib import Path
from typing import Any

from mtaudit.detectors.base import Detector, Rule
from mtaudit.lexicons import Lexicon, LexiconError, builtin, load_file
from mtaudit.model import Document, Finding, Severity, Span
from mtaudit.segment import Segmentation
from mtaudit.suggest import is_common_word, split_alternatives

try:  # Python 3.11+
    from re import _parser as _sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - Python 3.10
    import sre_parse as _sre_parse  # type: ignore[no-redef]

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

_CODE_BY_KIND = {"calque": "MT201", "false-friend": "MT202"}
_DEFAULT_CONFIDENCE = {"MT201": 0.7, "MT202": 0.6}
_SCOPES = ("sentence", "paragraph", "document")


@dataclass(frozen=True)
class CalquePattern:
    """One compiled lexicon entry."""

    id: str
    code: str
    kind: str
    language: str | None
    regex: re.Pattern[str]
    source: str
    message: str
    suggestion: str
    confidence: float
    severity: Severity | None = None
    require: re.Pattern[str] | None = None
    forbid: re.Pattern[str] | None = None
    scope: str = "sentence"
    example: str | None = None
    anchors: tuple[str, ...] | None = None  # lower-case; every match contains one of them


def _compile(path: Path | str, line: int | None, key: str, value: Any) -> re.Pattern[str]:
    if not isinstance(value, str) or not value:
        raise LexiconError(path, line, f"{key} must be a non-empty string")
    try:
        return re.compile(value, re.IGNORECASE)
    except re.error as exc:
        raise LexiconError(path, line, f"bad {key} regex: {exc}") from None


def compile_entry(lex: Lexicon, entry: dict[str, Any]) -> CalquePattern:
    """Validate and compile one ``[[calque]]`` entry, raising LexiconError with path:line."""
    line = entry.get("_line")
    kind = entry.get("kind", "calque")
    if kind not in _CODE_BY_KIND:
        raise LexiconError(lex.path, line, f"kind must be one of {', '.join(_CODE_BY_KIND)}")
    code = entry.get("code", _CODE_BY_KIND[kind])
    if code not in ("MT201", "MT202"):
        raise LexiconError(lex.path, line, "code must be MT201 or MT202 (MT203/MT204 are built in)")
    scope = entry.get("scope", "sentence")
    if scope not in _SCOPES:
        raise LexiconError(lex.path, line, f"scope must be one of {', '.join(_SCOPES)}")
    try:
        severity = Severity.parse(entry["severity"]) if "severity" in entry else None
        confidence = float(entry.get("confidence", _DEFAULT_CONFIDENCE[code]))
    except (TypeError, ValueError) as exc:
        raise LexiconError(lex.path, line, str(exc)) from None
    regex = _compile(lex.path, line, "pattern", entry["pattern"])
    return CalquePattern(
        id=str(entry.get("id") or f"{lex.path.stem}:{line}"),
        code=code,
        kind=kind,
        language=entry.get("language", lex.language),
        regex=regex,
        source=str(entry["source"]),
        message=str(entry["message"]),
        suggestion=str(entry["suggestion"]),
        confidence=confidence,
        severity=severity,
        require=_compile(lex.path, line, "require", entry["require"])
        if "require" in entry
        else None,
        forbid=_compile(lex.path, line, "forbid", entry["forbid"]) if "forbid" in entry else None,
        scope=scope,
        example=entry.get("example"),
        anchors=required_literals(regex),
    )


# --- literal prefilter ---------------------------------------------------------------------
#
# Running a few hundred regular expressions over every sentence costs ~100 ms per article.
# Almost every pattern contains literal text that any match must include ("north american",
# "mandatar", "in full"), so each pattern carries ``anchors``: a small set of lower-case
# strings of which every match contains at least one. A pattern whose anchors are absent
# from a document (then from a sentence) is skipped without running its regex. The
# analysis is conservative: wherever it is unsure it returns None and the pattern always
# runs, so the prefilter never changes what is found, only how fast.

_MIN_ANCHOR = 3  # shorter literals ("a", "of") filter nothing; treat them as absent
# Words in nearly every sentence: as anchors they would filter nothing, so any other
# required literal of the pattern is preferred to them.
_COMMON = frozenset(
    "the and for that with this from was were are has have had its his her their will "
    "not but which who one all been said also more than they she you our out about".split()
)


def _strength(option: set[str]) -> tuple[int, int]:
    """How selective an anchor set is: its weakest member's length (common words count
    as 1), then fewer members first."""
    return min(1 if a in _COMMON else len(a) for a in option), -len(option)


def required_literals(regex: re.Pattern[str]) -> tuple[str, ...] | None:
    """Lower-case literals one of which every match of ``regex`` contains, or None."""
    try:
        parsed = _sre_parse.parse(regex.pattern, regex.flags)
    except Exception:  # pragma: no cover - a compiled pattern always parses
        return None
    found = _seq_literals(list(parsed))
    if not found or _strength(found)[0] < _MIN_ANCHOR:
        return None
    return tuple(sorted(found))


def _seq_literals(items: list[tuple[Any, Any]]) -> set[str] | None:
    """Best anchor set for a sequence: every item of a sequence must match, so any one
    item's requirement (or any run of consecutive literal characters) will do."""
    options: list[set[str]] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            options.append({"".join(run).lower()})
            run.clear()

    for op, av in items:
        name = str(op)
        if name == "LITERAL":
            run.append(chr(av))
            continue
        flush()
        sub = _item_literals(name, av)
        if sub:
            options.append(sub)
    flush()
    if not options:
        return None
    return max(options, key=_strength)


def _item_literals(name: str, av: Any) -> set[str] | None:
    if name == "SUBPATTERN":
        return _seq_literals(list(av[-1]))
    if name == "BRANCH":
        union: set[str] = set()
        for alt in av[1]:
            sub = _seq_literals(list(alt))
            if not sub:
                return None  # one alternative without a literal: no requirement
            union |= sub
        return union
    if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
        low, _high, body = av
        return _seq_literals(list(body)) if low >= 1 else None
    if name == "ATOMIC_GROUP":
        return _seq_literals(list(av))
    return None  # classes, assertions, anchors, back-references: no literal requirement


def load_patterns(extra_files: tuple[str, ...] = ()) -> list[CalquePattern]:
    """Compile the built-in calque lexicons plus any user files (``calque_files`` option)."""
    lexicons = list(builtin("calque")) + [load_file(p, "calque") for p in extra_files]
    out: list[CalquePattern] = []
    seen: dict[str, Path] = {}
    for lex in lexicons:
        for entry in lex.entries:
            pattern = compile_entry(lex, entry)
            if pattern.id in seen:
                raise LexiconError(
                    lex.path,
                    entry.get("_line"),
                    f"duplicate id {pattern.id!r} (also in {seen[pattern.id]})",
                )
            seen[pattern.id] = lex.path
            out.append(pattern)
    return out


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
    r"press|the\s+media|press|media))\b))"
)
# Shape A: said [senior] officials American / according to sources diplomatic.
_INVERSION_A = re.compile(
    rf"\b(?P<verb>{_REPORT}|according\s+to)\s+(?P<noun>(?:(?P<mod>{_MOD})\s+)?{_PEOPLE})\s+"
    rf"(?P<nat>{_NAT}|diplomatic|judicial|governmental|ministerial|parliamentary)\b{_AFTER}",
    re.IGNORECASE,
)
# Shape B: officials said Americans — verbs that take a person object ("warned
# Americans") are left out because that order is normal English.
_INVERSION_B = re.compile(
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
_IRREGULAR_PAST = frozenset(
    """
    said told was were had did went met took gave made came held left saw spoke wrote sent
    won lost began found brought thought knew became chose rose fell struck broke led paid
    sold bought kept felt got ran stood sat fought flew drew grew threw undertook withdrew
    overtook forbade sought taught caught meant spent built lent heard understood
    """.split()
)
_PARTICIPLES = _IRREGULAR_PAST | frozenset(
    "been done gone taken given seen spoken written known chosen risen fallen broken "
    "begun shown drawn grown thrown flown".split()
)
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


def _verb_class(tokens: list[str], i: int) -> str | None:
    """'past', 'other' (present/future/modal) or None for token ``i`` of a clause."""
    w = tokens[i].lower().replace("’", "'")
    prev = tokens[i - 1].lower() if i > 0 else ""
    if w in ("'ll",) or w.endswith("'ll"):
        return "other"
    participle = w in _PARTICIPLES or (w.endswith("ed") and w not in _NOT_PAST_ED)
    if participle and prev in ("be", "is", "are", "am", "being", "'s"):
        return "other"  # "will be held", "is held": passive, not past
    if prev == "to" and w not in _DETERMINERS and not _NOUN_AFTER_TO.search(w):
        return "other"  # infinitive: "agreed to meet this Saturday"
    if w in _IRREGULAR_PAST:
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

    def _index(self) -> tuple[list[CalquePattern], frozenset[str]]:
        """The patterns plus every distinct anchor among them (for the prefilter)."""

        def build() -> tuple[list[CalquePattern], frozenset[str]]:
            patterns = self.patterns()
            return patterns, frozenset(a for p in patterns for a in p.anchors or ())

        return self.context.resource("calque.index", build)

    def detect(self, document: Document, segments: Segmentation) -> Iterator[Finding]:
        all_patterns, all_anchors = self._index()
        lowered = document.text.lower()
        in_doc = {a for a in all_anchors if a in lowered}
        patterns = [p for p in all_patterns if p.anchors is None or in_doc.intersection(p.anchors)]
        found: list[Finding] = []
        for sent in segments.sentences:
            low = document.text[sent.start : sent.end].lower()
            in_sent = {a for a in in_doc if a in low}
            here = [p for p in patterns if p.anchors is None or in_sent.intersection(p.anchors)]
            found.extend(self._lexicon(document, segments, sent, here))
            found.extend(self._inversion(document, sent))
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
            matches = list(p.regex.finditer(sentence))
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
                message = p.message
                if suggestion is None:
                    message = f"{message} Rewrite as: {note}."
                elif note:
                    message = f"{message} Also possible: {note.removeprefix('or:').strip()}."
                yield self.finding(
                    p.code,
                    document,
                    sent.start + start,
                    sent.start + end,
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
        low = sentence.lower()
        if not any(a in low for a in _inversion_anchors()):
            return
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


_HIT_NAME = re.compile(r"hit\d*")


def _hit_group(regex: re.Pattern[str], m: re.Match[str]) -> str | int:
    """The group that delimits the finding: the first of ``hit``, ``hit2``, ``hit3``... that
    took part in the match (alternatives of one pattern each name their own), else the
    whole match. Context that only anchors the match stays outside the reported span."""
    for name in regex.groupindex:
        if _HIT_NAME.fullmatch(name) and m.group(name):
            return name
    return 0


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
