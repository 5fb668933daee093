"""The ``dictionary`` engine: word-by-word translation with the lexicons' glossaries.

Always available and deterministic. English -> source looks each English word (or
multi-word entry) up in the inverted ``glossary-LANG.toml`` ``[words]`` table, trying the
word's English base forms (``mtaudit.idiommatch.lemma_candidates``: sand**s**,
stopp**ed**, runn**ing**), and source -> English looks source words up directly. The
glossaries list content words only, so a small table of each language's closed-class
words (articles, prepositions, conjunctions, pronouns, copulas) is built in here: without
it "one of lime and another of sand" would come back as "one of cal and another of arena",
which resembles no Spanish phrase. Unknown words are kept as they are.

The output is word salad for ordinary prose, but for a literal idiom rendering it lands on
the source idiom's words, which is what the back-translation evidence needs.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property

from mtaudit.backtranslate.engine import Engine
from mtaudit.idiommatch import Glossary, builtin_glossaries, fold, lemma_candidates

VERSION = "1"

# Tokens: letters/digits with inner apostrophes (French/Italian elision stays one token here
# and is split in _source_word when its prefix is a known elided function word).
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")

# Closed-class words, "source:english/english ..." (most common English sense first).
# Order matters for English -> source: among equally ranked candidates the first listed wins
# ("the" -> el, not la), so the citation form of each paradigm comes first.
_FUNCTION_WORDS: dict[str, str] = {
    "es": """
        el:the la:the los:the las:the lo:it/the un:a/an/one una:a/an/one uno:one
        unos:some unas:some de:of/from del:of_the a:to/at al:to_the en:in/on/at con:with
        sin:without por:by/for/through para:for/to sobre:on/about/over entre:between/among
        hasta:until/up_to desde:from/since hacia:towards contra:against y:and e:and o:or
        u:or pero:but sino:but ni:nor que:that/which/who/than como:as/like/how si:if
        no:not/no más:more/most menos:less/fewer muy:very también:also/too ya:already
        otro:another/other otra:another/other otros:others/other otras:others/other
        este:this esta:this estos:these estas:these ese:that esa:that esos:those
        esas:those aquel:that su:its/his/her/their/your sus:their/its/his/her mi:my
        tu:your nuestro:our nuestra:our se:itself/himself/herself/themselves le:him/her
        les:them él:he ella:she ellos:they ellas:they nosotros:we yo:i todo:all/everything
        toda:all todos:all/everyone todas:all cada:each/every alguno:some algún:some
        alguna:some ninguno:none ningún:no ninguna:no es:is son:are fue:was eran:were
        era:was ser:be estar:be está:is están:are ha:has han:have haber:have hay:there_is
    """,
    "fr": """
        le:the la:the les:the l':the un:a/an/one une:a/an/one de:of/from du:of_the
        des:of_the/some d':of à:to/at au:to_the aux:to_the en:in dans:in sur:on/about
        sous:under avec:with sans:without pour:for par:by entre:between/among vers:towards
        contre:against chez:at et:and ou:or mais:but ni:nor que:that/than/which qu':that
        qui:who/which comme:as/like si:if ne:not n':not pas:not plus:more/most
        moins:less très:very aussi:also/too déjà:already autre:other/another
        autres:others/other ce:this/it cet:this cette:this ces:these/those c':it
        son:its/his/her sa:its/his/her ses:its/his/her leur:their leurs:their mon:my ma:my
        mes:my notre:our votre:your se:itself/himself/herself/themselves s':itself
        il:he/it elle:she ils:they elles:they nous:we je:i j':i on:one/we tout:all/everything
        toute:all tous:all toutes:all chaque:each/every est:is sont:are était:was
        être:be avoir:have a:has ont:have y:there
    """,
    "de": """
        der:the die:the das:the den:the dem:the des:of_the ein:a/an/one eine:a/an/one
        einen:a/an/one einem:a/an/one einer:a/an/one eines:of_a von:of/from vom:of_the
        zu:to zum:to_the zur:to_the in:in im:in_the an:at/on am:at_the auf:on aus:from/out_of
        mit:with ohne:without für:for bei:at/near nach:after/to über:over/about
        unter:under/among zwischen:between gegen:against und:and oder:or aber:but
        sondern:but noch:still/yet nicht:not kein:no keine:no mehr:more sehr:very
        auch:also/too schon:already andere:other/another anderen:other anderer:other
        anderes:other dieser:this diese:this/these dieses:this sein:his/its/be ihr:her/their
        ihre:her/their mein:my unser:our sich:itself/himself/herself/themselves er:he
        sie:she/they es:it wir:we ich:i man:one alle:all/everyone alles:everything/all
        jeder:each/every jede:each/every jedes:each/every ist:is sind:are war:was hat:has
        haben:have wird:will/is werden:become/will dass:that wie:how/as/like wenn:if/when
        als:as/than/when so:so da:there hier:here
    """,
    "it": """
        il:the lo:the la:the i:the gli:the le:the l':the un:a/an/one uno:one/a una:a/an/one
        un':a/an di:of/from del:of_the della:of_the dei:of_the delle:of_the degli:of_the
        dell':of_the d':of a:to/at al:to_the alla:to_the ai:to_the alle:to_the all':to_the
        da:from/by dal:from_the dalla:from_the in:in nel:in_the nella:in_the nei:in_the
        su:on sul:on_the sulla:on_the con:with senza:without per:for/through tra:between/among
        fra:between/among verso:towards contro:against e:and ed:and o:or ma:but né:nor
        che:that/which/who/than come:as/like/how se:if non:not più:more/most meno:less
        molto:very/much anche:also/too già:already altro:other/another altra:other/another
        altri:others/other altre:others/other questo:this questa:this quello:that
        quella:that suo:its/his/her sua:its/his/her suoi:its/his/her sue:its/his/her
        loro:their/they mio:my nostro:our si:itself/oneself lui:he lei:she noi:we io:i
        tutto:all/everything tutti:all/everyone ogni:each/every è:is sono:are era:was
        essere:be avere:have ha:has hanno:have c':there
    """,
    "pt": """
        o:the a:the/to os:the as:the um:a/an/one uma:a/an/one de:of/from do:of_the da:of_the
        dos:of_the das:of_the em:in/on/at no:in_the na:in_the nos:in_the nas:in_the ao:to_the
        à:to_the por:by/for/through pelo:by_the pela:by_the para:for/to com:with sem:without
        sobre:on/about entre:between/among até:until desde:since/from contra:against e:and
        ou:or mas:but nem:nor que:that/which/who/than como:as/like/how se:if não:not/no
        mais:more/most menos:less muito:very/much também:also/too já:already
        outro:another/other outra:another/other outros:others/other outras:others/other
        este:this esta:this esse:that essa:that aquele:that seu:its/his/her/their
        sua:its/his/her/their seus:their suas:their meu:my minha:my nosso:our nossa:our
        ele:he ela:she eles:they elas:they nós:we eu:i todo:all/everything todos:all/everyone
        toda:all todas:all cada:each/every é:is são:are foi:was era:was ser:be estar:be
        está:is ter:have tem:has há:there_is
    """,
}


@cache
def function_words(lang: str) -> dict[str, list[str]]:
    """The built-in closed-class table of ``lang``: source word -> English ("of the")."""
    out: dict[str, list[str]] = {}
    for item in _FUNCTION_WORDS.get(lang, "").split():
        src, _, english = item.partition(":")
        out.setdefault(src, []).extend(e.replace("_", " ") for e in english.split("/"))
    return out


@dataclass
class Bilingual:
    """One language's word lists in both directions (glossary plus function words)."""

    language: str
    to_english: dict[str, list[str]] = field(default_factory=dict)
    # English word or phrase (lower-case, space-joined) -> source words, best first.
    from_english: dict[str, list[str]] = field(default_factory=dict)
    # Longest English entry in words, for greedy phrase matching ("next to", "out of").
    max_phrase: int = 1
    digest: str = ""

    @classmethod
    def build(cls, language: str, glossary: Mapping[str, Sequence[str]]) -> Bilingual:
        """Merge ``glossary`` and the function-word table and invert them.

        For English -> source, each candidate source word is ranked by where the English
        word sits in its list (a source word whose *first* sense is "lime" beats one whose
        third sense is). On ties the closed-class table wins for English function words
        ("of", "the", "is") and the glossary wins for everything else ("have" -> tener, the
        content verb, not the auxiliary "han").
        """
        from mtaudit.idiommatch import STOPWORDS

        fw = function_words(language)
        to_en: dict[str, list[str]] = {}
        ranked: dict[str, list[tuple[int, int, int, str]]] = {}
        order = 0
        for table_rank, table in enumerate((fw, glossary)):
            for src, english in table.items():
                key = src.lower()
                to_en.setdefault(key, [])
                for rank, eng in enumerate(english):
                    e = " ".join(eng.lower().split())
                    if e and e not in to_en[key]:
                        to_en[key].append(e)
                    prefer = table_rank if e in STOPWORDS else -table_rank
                    ranked.setdefault(e, []).append((rank, prefer, order, key))
                order += 1
        from_en = {
            e: list(dict.fromkeys(src for *_, src in sorted(cands))) for e, cands in ranked.items()
        }
        h = hashlib.sha256(VERSION.encode())
        for k in sorted(to_en):
            h.update(f"{k}={'/'.join(to_en[k])};".encode())
        return cls(
            language=language,
            to_english=to_en,
            from_english=from_en,
            max_phrase=max((len(e.split()) for e in from_en), default=1),
            digest=h.hexdigest()[:10],
        )

    @cached_property
    def _folded_to_english(self) -> dict[str, str]:
        """Accent-folded source word -> its key, for MT output that lost accents."""
        return {fold(k): k for k in self.to_english}

    def english_senses(self, word: str) -> list[str]:
        """English translations of a source word (exact, then folded, then de-pluralised)."""
        w = word.lower()
        for cand in (w, self._folded_to_english.get(fold(w), "")):
            if cand in self.to_english:
                return self.to_english[cand]
        # Romance plurals: arenas -> arena, leones -> león is out of reach, fine.
        for suffix in ("es", "s", "n"):
            if len(w) > len(suffix) + 2 and w.endswith(suffix):
                stem = w[: -len(suffix)]
                if stem in self.to_english:
                    return self.to_english[stem]
        return []

    def source_words(self, english: str) -> list[str]:
        """Source words for an English word or phrase, trying its base forms (sands -> sand)."""
        e = english.lower().replace("’", "'")
        if e in self.from_english:
            return self.from_english[e]
        if " " in e:
            return []
        for cand in sorted(lemma_candidates(e) - {e}, key=len, reverse=True):
            if cand in self.from_english:
                return self.from_english[cand]
        return []


def _match_case(original: str, translated: str) -> str:
    if original.isupper() and len(original) > 1:
        return translated.upper()
    if original[:1].isupper():
        return translated[:1].upper() + translated[1:]
    return translated


class DictionaryEngine(Engine):
    """Word-by-word translation through the glossaries; en <-> es/fr/de/it/pt."""

    name = "dictionary"

    def __init__(self, glossaries: Mapping[str, Glossary] | None = None) -> None:
        super().__init__()
        self._glossaries = glossaries
        self._tables: dict[str, Bilingual] = {}

    @property
    def glossaries(self) -> Mapping[str, Glossary]:
        if self._glossaries is None:
            self._glossaries = builtin_glossaries()
        return self._glossaries

    def table(self, lang: str) -> Bilingual:
        """The bilingual table of ``lang`` (built once)."""
        if lang not in self._tables:
            g = self.glossaries.get(lang)
            self._tables[lang] = Bilingual.build(lang, g.words if g else {})
        return self._tables[lang]

    def available(self) -> bool:
        return True

    def supports(self, src: str, tgt: str) -> bool:
        other = tgt if src == "en" else src
        return "en" in (src, tgt) and src != tgt and other in _FUNCTION_WORDS

    @property
    def signature(self) -> str:
        # Every language's table goes into the signature, so that editing any glossary
        # invalidates cached dictionary translations.
        digests = ",".join(f"{lang}.{self.table(lang).digest}" for lang in sorted(_FUNCTION_WORDS))
        return f"dictionary:{VERSION}|{hashlib.sha256(digests.encode()).hexdigest()[:10]}"

    def _translate(self, texts: Sequence[str], src: str, tgt: str) -> list[str]:
        if src == "en":
            table = self.table(tgt)
            return [self._from_english(t, table) for t in texts]
        table = self.table(src)
        return [self._to_english(t, table) for t in texts]

    @staticmethod
    def _from_english(text: str, table: Bilingual) -> str:
        """English -> source, longest glossary phrase first, unknown words kept."""
        matches = list(_WORD.finditer(text))
        out: list[str] = []
        pos = 0
        i = 0
        while i < len(matches):
            m = matches[i]
            done = False
            for n in range(min(table.max_phrase, len(matches) - i), 0, -1):
                group = matches[i : i + n]
                # A phrase must be contiguous words separated by spaces only.
                if n > 1 and any(
                    text[a.end() : b.start()] != " " for a, b in zip(group, group[1:], strict=False)
                ):
                    continue
                phrase = " ".join(g.group(0) for g in group)
                srcs = table.source_words(phrase)
                if srcs:
                    out.append(text[pos : m.start()])
                    out.append(_match_case(m.group(0), srcs[0]))
                    pos = group[-1].end()
                    i += n
                    done = True
                    break
            if not done:
                i += 1
        out.append(text[pos:])
        return "".join(out)

    @staticmethod
    def _to_english(text: str, table: Bilingual) -> str:
        """Source -> English word by word; elided articles (l', dell') translated apart."""

        def word(m: re.Match[str]) -> str:
            w = m.group(0)
            senses = table.english_senses(w)
            if senses:
                return _match_case(w, senses[0])
            for sep in ("'", "’"):
                head, found, tail = w.partition(sep)
                if found and (head + "'").lower() in table.to_english:
                    first = table.to_english[(head + "'").lower()][0]
                    rest = table.english_senses(tail)
                    return _match_case(w, f"{first} {rest[0] if rest else tail}")
            return w

        return _WORD.sub(word, text)


def content_words(text: str, lang: str) -> list[str]:
    """Words of a source-language phrase that are not closed-class (cal, arena; not de, y)."""
    fw = function_words(lang)
    return [w for w in _tokens(text) if w not in fw and len(w) > 2]


def _tokens(text: str) -> list[str]:
    from mtaudit.idiommatch import source_tokens

    return source_tokens(text)


def english_content_words(text: str) -> list[str]:
    """Lower-case English words of ``text`` that carry meaning (for word-level alignment)."""
    from mtaudit.idiommatch import STOPWORDS

    return [w for w in (m.group(0).lower() for m in _WORD.finditer(text)) if w not in STOPWORDS]


def unique(items: Iterable[str]) -> list[str]:
    """``items`` without duplicates, first occurrence order."""
    return list(dict.fromkeys(items))
