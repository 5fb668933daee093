"""Compilation of idiom entries into patterns (a part of :class:`IdiomIndex`)."""

from __future__ import annotations

from typing import Any

from rapidfuzz import fuzz

from mtaudit.idiommatch.english import (
    _MIN_SPECIFICITY,
    COMMON_ZIPF,
    DISTINCTIVE_ZIPF,
    FUNCTION_WORD_EVIDENCE,
    LIGHT_VERBS,
    PHRASE_BREAKS,
    PLACEHOLDERS,
    POSSESSIVES,
    STOPWORDS,
    TOKEN,
    _rarity,
    base_forms,
    fold,
    function_form,
    source_tokens,
    zipf_en,
)
from mtaudit.idiommatch.lexicon import (
    Glossary,
)
from mtaudit.idiommatch.patterns import (
    Pattern,
    Slot,
    _SourceWord,
)


class _Compiler:
    """Pattern compilation, mixed into :class:`mtaudit.idiommatch.index.IdiomIndex`."""

    glossaries: dict[str, Glossary]
    issues: list[str]
    patterns: list[Pattern]
    _gloss_keys: dict[str, dict[str, list[str]]]

    def _gloss_lookup(self, lang: str, word: str) -> str | None:
        """The glossary key for a source-idiom token (exact, de-pluralised, or fuzzy)."""
        gloss = self.glossaries.get(lang)
        if gloss is None:
            return None
        words = gloss.words
        if word in words:
            return word
        for cand in (word[:-1], word[:-2]) if len(word) > 4 else ():
            if cand in words:
                return cand
        folded = self._gloss_keys.setdefault(lang, {})
        if not folded:
            for k in words:
                folded.setdefault(fold(k)[:3], []).append(k)
        best, best_score = None, 0.0
        for k in folded.get(fold(word)[:3], []):
            score = fuzz.ratio(fold(word), fold(k))
            if score > best_score:
                best, best_score = k, score
        return best if best_score >= 85 else None

    def _compile_idiom(self, entry: dict[str, Any], lang: str, where: str) -> None:
        literals = entry.get("literal", [])
        if isinstance(literals, str):
            literals = [literals]
        # Translations that are the idiom's *sense* ("luck" for Schwein, "hangover" for
        # Kater) are evidence of an idiomatic translation, not a literal one: they never
        # fill a slot of this idiom. Common words ("get", "make") are left alone: they
        # cannot make a match on their own.
        sense = {
            w
            for text in [entry.get("meaning", ""), *entry.get("english", [])]
            for w in TOKEN.findall(str(text).lower())
            if w not in STOPWORDS and len(w) > 2
        }
        literal_forms = frozenset().union(
            *(base_forms(w) for lit in literals for w in TOKEN.findall(lit.lower()))
        )
        aligned = []
        for tok in source_tokens(str(entry["source"])):
            key = self._gloss_lookup(lang, tok)
            translations = self.glossaries[lang].words[key] if key is not None else []
            kept = []
            for tr in translations:
                words = [w for w in TOKEN.findall(tr.lower()) if w not in STOPWORDS]
                if any(
                    base_forms(w).isdisjoint(literal_forms)
                    and zipf_en(w) < DISTINCTIVE_ZIPF
                    and any(fuzz.ratio(w, m) >= 85 for m in sense)
                    for w in words
                ):
                    self.issues.append(
                        f"{where}: {entry['id']}: glossary gives {tr!r} for {tok!r}, which is "
                        "the idiom's meaning; not used as a literal filler"
                    )
                    continue
                kept.append(words)
            aligned.append(_SourceWord(tok, key, kept))
        seen: set[tuple[Any, ...]] = set()
        for literal in literals:
            pat = self._compile_literal(entry, lang, literal, aligned, where)
            if pat is None:
                continue
            sig = tuple((s.keys, s.source) for s in pat.slots) + pat.shape
            if sig not in seen:
                seen.add(sig)
                self.patterns.append(pat)

    def _align(
        self, forms: frozenset[str], aligned: list[_SourceWord], used: set[int]
    ) -> int | None:
        """The source word a literal word translates: whole translations first, unused first."""
        for pool in ("heads", "modifiers"):
            hits = [i for i, sw in enumerate(aligned) if not forms.isdisjoint(getattr(sw, pool))]
            if hits:
                return next((i for i in hits if i not in used), hits[0])
        # The literal may keep the source word itself ("one of cal and another of sand").
        return next(
            (
                i
                for i, sw in enumerate(aligned)
                if len(sw.token) > 2 and any(fuzz.ratio(sw.fold, f) >= 90 for f in forms)
            ),
            None,
        )

    def _compile_literal(
        self,
        entry: dict[str, Any],
        lang: str,
        literal: str,
        aligned: list[_SourceWord],
        where: str,
    ) -> Pattern | None:
        words = [t.lower().replace("’", "'") for t in TOKEN.findall(literal)]
        # First pass: function words, placeholders and content words with their source word.
        items: list[tuple[str, str, int | None]] = []  # (kind, word, source index)
        placeholders = 0
        used: set[int] = set()
        for wi, w in enumerate(words):
            if w in PLACEHOLDERS:
                placeholders += 1
                continue
            # "does not", "did not": the auxiliary, not the light verb "do".
            aux = w in ("do", "does", "did") and words[wi + 1 : wi + 2] in (["not"], ["n't"])
            # Possessive pronouns are function words; a possessive noun ("Columbus's") is not.
            if aux or w in STOPWORDS or w in POSSESSIVES:
                items.append(("func", function_form(w), None))
                continue
            forms = base_forms(w)
            src_i = self._align(forms, aligned, used)
            if src_i is None and not forms.isdisjoint(LIGHT_VERBS):
                # An unaligned light verb ("get rolled in the flour") carries no evidence of
                # the idiom: score it as a function word instead of requiring it.
                items.append(("func", function_form(w), None))
                continue
            if src_i is None:
                self.issues.append(
                    f"{where}: {entry['id']}: literal word {w!r} (in {literal!r}) is not a "
                    f"glossary translation of any word of {entry['source']!r}"
                )
            else:
                used.add(src_i)
            items.append(("word", w, src_i))
        # Second pass: consecutive words of one source word form one slot ("paving stone"
        # for pavé); the last word is the head, the others only modify it.
        groups: list[list[tuple[str, int | None]]] = []
        shape: list[str] = []
        for kind, w, src_i in items:
            if kind == "func":
                shape.append(w)
                continue
            if groups and shape[-1] == f"#{len(groups) - 1}" and src_i is not None:
                if groups[-1][-1][1] == src_i:
                    groups[-1].append((w, src_i))
                    continue
            shape.append(f"#{len(groups)}")
            groups.append([(w, src_i)])
        if not groups:
            self.issues.append(f"{where}: {entry['id']}: literal {literal!r} has no content word")
            return None
        caps = {t.lower() for t in TOKEN.findall(literal) if t[:1].isupper()}
        slots = [self._slot(group, aligned, caps, entry, where) for group in groups]
        # A literal that is itself an English idiom reveals nothing: never match it.
        lit_tokens = TOKEN.findall(literal)
        for lo, hi in self.english.spans(lit_tokens):
            if hi - lo + 1 >= len(lit_tokens) - 1:
                self.issues.append(
                    f"{where}: {entry['id']}: literal {literal!r} is an English idiom "
                    "(english-idioms.toml); pattern dropped"
                )
                return None
        # Tell the lexicon authors when a literal, matched verbatim, is too ordinary to flag.
        words_zipf = [
            zipf_en(w) for g in groups for w, _ in g if base_forms(w).isdisjoint(LIGHT_VERBS)
        ]
        evidence = sum(max(0.0, COMMON_ZIPF - z) for z in words_zipf)
        evidence += FUNCTION_WORD_EVIDENCE * sum(not s.startswith("#") for s in shape)
        if evidence < _MIN_SPECIFICITY or not any(z < DISTINCTIVE_ZIPF for z in words_zipf):
            self.issues.append(
                f"{where}: {entry['id']}: literal {literal!r} is made of common English words; "
                "verbatim it is too weak to flag (only a surviving source word or rarer "
                "synonym makes it match)"
            )
        first_slot = next(i for i, s in enumerate(shape) if s.startswith("#"))
        last_slot = max(i for i, s in enumerate(shape) if s.startswith("#"))
        return Pattern(
            idiom=entry,
            language=lang,
            literal=literal,
            slots=slots,
            shape=tuple(shape),
            function_words=frozenset(s for s in shape if not s.startswith("#")),
            placeholders=placeholders,
            n_left=first_slot,
            n_right=len(shape) - 1 - last_slot,
            punctuated=any(c in PHRASE_BREAKS for c in literal),
        )

    def _slot(
        self,
        group: list[tuple[str, int | None]],
        aligned: list[_SourceWord],
        capitalised: set[str],
        entry: dict[str, Any],
        where: str,
    ) -> Slot:
        """The slot for consecutive literal words aligned to one source word."""
        words = [w for w, _ in group]
        caps = not capitalised.isdisjoint(words)
        head = base_forms(words[-1])
        mods = frozenset().union(*(base_forms(w) for w in words[:-1])) - head
        src_i = group[0][1]
        if src_i is None:
            return Slot(" ".join(words), head, mods, head, (), _rarity(head), caps)
        sw = aligned[src_i]
        if sw.key is None:
            self.issues.append(
                f"{where}: {entry['id']}: source word {sw.token!r} has no glossary entry"
            )
        keys = head | sw.heads
        source = tuple(sorted({sw.fold, *([fold(sw.key)] if sw.key else [])}))
        return Slot(
            " ".join(words),
            keys,
            (mods | sw.modifiers) - keys,
            sw.heads | sw.modifiers,
            source,
            _rarity(keys),
            caps,
        )
