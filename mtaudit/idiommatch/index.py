"""The idiom index: compiled patterns, trigger tables and the sentence scan."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mtaudit import zipftable
from mtaudit.analysis import Analysis
from mtaudit.idiommatch.compiler import (
    _Compiler,
)
from mtaudit.idiommatch.english import (
    _inflection_of,
    _source_key,
    fold,
    lemma_candidates,
    zipf_en,
)
from mtaudit.idiommatch.lexicon import (
    EnglishIdioms,
    Glossary,
    builtin_glossaries,
    builtin_idiom_lexicons,
    load_english_idioms,
    load_glossary,
    merge_glossary,
)
from mtaudit.idiommatch.patterns import (
    Match,
    Pattern,
    Token,
    _tokenize,
)
from mtaudit.idiommatch.scoring import (
    _Scorer,
)
from mtaudit.lexicons import (
    Lexicon,
    load_file,
)

if TYPE_CHECKING:
    from mtaudit.formtable import FormTable


class IdiomIndex(_Compiler, _Scorer):
    """Compiled idiom patterns plus the lookup tables that keep a scan fast.

    Args:
        lexicons: ``idiom`` lexicons (each has a ``language``).
        glossaries: glossary per source language.
        english_idioms: allowlisted English idiom phrases.
    """

    def __init__(
        self,
        lexicons: Iterable[Lexicon],
        glossaries: dict[str, Glossary],
        english_idioms: Iterable[str] = (),
    ) -> None:
        self.glossaries = glossaries
        self.issues: list[str] = []
        self.english = EnglishIdioms(english_idioms)
        self.patterns: list[Pattern] = []
        self.idioms: list[dict[str, Any]] = []
        self._gloss_keys: dict[str, dict[str, list[str]]] = {}
        seen_ids: set[str] = set()
        for lex in lexicons:
            for entry in lex.entries:
                # A user file without meta.language still names it in its ids ("es.cal-arena").
                lang = lex.language or str(entry.get("id", "")).partition(".")[0]
                iid = str(entry.get("id") or f"{lang}.{entry['source']}")
                where = f"{lex.path.name}:{entry.get('_line')}"
                if iid in seen_ids:
                    self.issues.append(f"{where}: duplicate idiom id {iid!r}")
                    continue
                seen_ids.add(iid)
                entry = {**entry, "id": iid, "_language": lang, "_where": where}
                self.idioms.append(entry)
                self._compile_idiom(entry, lang, where)
        # Trigger index: a pattern is evaluated only when one of its rarest slots occurs.
        self.trigger: dict[str, list[int]] = {}
        # Source-word forms by folded 3-letter prefix, for fuzzy survival lookup.
        self._source_prefix: dict[str, set[str]] = {}
        for pi, pat in enumerate(self.patterns):
            need = len(pat.slots) - pat.required + 1
            for slot in sorted(pat.slots, key=lambda s: s.rarity)[:need]:
                for key in slot.keys | {_source_key(pat.language, s) for s in slot.source}:
                    self.trigger.setdefault(key, []).append(pi)
            for slot in pat.slots:
                for form in slot.source:
                    self._source_prefix.setdefault(form[:3], set()).add(f"{pat.language}:{form}")
        self._word_keys: dict[str, frozenset[str]] = {}
        #: common words' keys computed in advance (:mod:`mtaudit.formtable`; set at run
        #: time for the bundled lexicons' index; never pickled)
        self.table: FormTable | None = None
        # Per pattern, each slot's lookup keys (its English keys and source forms): the
        # cheap test of whether enough slots occur at all, before a pattern is evaluated.
        self._slot_lookups: list[tuple[frozenset[str], ...]] = [
            tuple(
                frozenset(slot.keys | {_source_key(pat.language, f) for f in slot.source})
                for slot in pat.slots
            )
            for pat in self.patterns
        ]
        # Per pattern, how many of its slots may be absent from a sentence.
        self._slack: list[int] = [len(pat.slots) - pat.required for pat in self.patterns]

    def word_keys(self, low: str) -> frozenset[str]:
        """Lookup keys of one lower-case token: English lemma guesses + source-word forms."""
        keys = self._word_keys.get(low)
        if keys is None:
            keys = lemma_candidates(low)
            folded = fold(low)
            if len(folded) >= 3:
                extra = set()
                for ref in self._source_prefix.get(folded[:3], ()):
                    lang, form = ref.split(":", 1)
                    if form == folded or (
                        _inflection_of(folded, form)
                        # An inflected form must look foreign: "grains" is not German "Gras".
                        and zipftable.zipf(low, lang) > zipf_en(low)
                    ):
                        extra.add("\x00" + ref)
                if extra:
                    keys = keys | extra
            if len(self._word_keys) > 200_000:  # bound memory on huge scans
                self._word_keys.clear()
            self._word_keys[low] = keys
        return keys

    def answers_for(self, forms: Iterable[str]) -> list[tuple[str, frozenset[str]]]:
        """:meth:`word_keys` of each lower-case form, for the table of common words
        (:mod:`mtaudit.formtable`); this index's own cache is left as it was."""
        saved = dict(self._word_keys)
        try:
            return [(f, self.word_keys(f)) for f in forms if f.islower()]
        finally:
            self._word_keys = saved

    def _slots_present(self, pi: int, present: set[str]) -> bool:
        """Whether enough of pattern ``pi``'s slots have a word in ``present`` to match.

        Stops at the first slot too many that is absent: most triggered patterns fail
        on their second slot, so the rest are not looked at.
        """
        allowed = self._slack[pi]
        for keys in self._slot_lookups[pi]:
            if keys.isdisjoint(present):
                allowed -= 1
                if allowed < 0:
                    return False
        return True

    def match_tokens(self, tokens: Sequence[Token]) -> list[Match]:
        """Accepted, non-overlapping idiom matches in one sentence's tokens."""
        low = [t.low for t in tokens]
        by_key: dict[str, list[int]] = {}
        cache = self._word_keys
        for i, w in enumerate(low):
            keys = cache.get(w)
            for k in self.word_keys(w) if keys is None else keys:
                at = by_key.get(k)
                if at is None:
                    by_key[k] = [i]
                else:
                    at.append(i)
        candidates: set[int] = set()
        trigger = self.trigger
        for k in by_key:
            hit = trigger.get(k)
            if hit:
                candidates.update(hit)
        if not candidates:
            return []
        # Most triggered patterns lack a required slot in the sentence: skip them without
        # placing anything (the same test _evaluate makes, without building positions).
        present = set(by_key)
        found = [
            m
            for pi in candidates
            if self._slots_present(pi, present)
            for m in self._evaluate(
                self.patterns[pi], tokens, low, by_key, self._slot_lookups[pi], present
            )
        ]
        if not found:
            return []
        english = self.english.spans([t.text for t in tokens])
        chosen: list[Match] = []
        # The match that explains most of the text wins an overlap ("a hard bone of roer" is
        # Spanish "hueso duro de roer", not Italian "osso duro"); exact ties are kept as
        # alternatives, since English text alone cannot tell the languages apart.
        for m in sorted(found, key=lambda m: (m.rank, m.evidence), reverse=True):
            if any(m.first <= e and s <= m.last for s, e in english):
                continue
            rival = next((c for c in chosen if m.first <= c.last and c.first <= m.last), None)
            if rival is None:
                chosen.append(m)
            elif (
                rival.rank == m.rank
                and (rival.first, rival.last) == (m.first, m.last)
                and m.pattern.idiom["id"]
                not in {a.pattern.idiom["id"] for a in [rival, *rival.alternatives]}
            ):
                rival.alternatives.append(m)
        return sorted(chosen, key=lambda m: m.first)

    def scan(
        self,
        text: str,
        sentences: Iterable[tuple[int, int]],
        tokens: Iterable[Sequence[Token]] | None = None,
    ) -> Iterator[Match]:
        """Matches in ``text``, sentence by sentence (each given as ``(start, end)``).

        ``tokens``: each sentence's tokens, when the caller has them
        (:func:`sentence_tokens` of the document's Analysis); read here otherwise.
        """
        if tokens is None:
            tokens = [_tokenize(text, start, end) for start, end in sentences]
        if self.table is not None:
            # The document's new words in one query; the rest are computed as met.
            tokens = list(tokens)
            self.table.fill(self._word_keys, (t.low for sentence in tokens for t in sentence))
        for sentence in tokens:
            yield from self.match_tokens(sentence)

    def __getstate__(self) -> dict[str, Any]:
        # Scan state, not part of the compiled index.
        return {**self.__dict__, "table": None}

    def scan_analysis(self, analysis: Analysis) -> Iterator[Match]:
        """Matches in an analysed document, over its sentences' idiom tokens."""
        spans = [(s.start, s.end) for s in analysis.sentences]
        return self.scan(analysis.text, spans, sentence_tokens(analysis))


#: The name the idiom engines' tokens are kept under on a document's Analysis.
TOKENS_VIEW = "idiommatch.tokens"


def sentence_tokens(analysis: Analysis) -> list[tuple[Token, ...]]:
    """Each sentence's tokens for the idiom engines, read once per document.

    Not the Analysis's words: an idiom token stops at a hyphen ("one-size-fits-all" is
    four words to match a literal against) and carries what separates it from the token
    before (a comma breaks a phrase), so the engines keep this reading of the text on the
    Analysis, as its view :data:`TOKENS_VIEW`, and share it.
    """
    return analysis.view(
        TOKENS_VIEW, lambda a: [_tokenize(a.text, s.start, s.end) for s in a.sentences]
    )


def build_index(
    idiom_files: Iterable[Path | str] = (),
    glossary_files: Iterable[Path | str] = (),
    english_files: Iterable[Path | str] = (),
) -> IdiomIndex:
    """The index over the bundled lexicons plus any user files.

    Args:
        idiom_files: extra ``idiom`` lexicons.
        glossary_files: extra ``glossary`` lexicons (merged into the bundled ones).
        english_files: extra ``english_idiom`` allowlists.
    """
    lexicons = builtin_idiom_lexicons() + [load_file(p, "idiom") for p in idiom_files]
    glossaries = builtin_glossaries()
    for p in glossary_files:
        merge_glossary(glossaries, load_glossary(p))
    return IdiomIndex(lexicons, glossaries, load_english_idioms(english_files))
