"""Evaluation and scoring of one pattern against a sentence (a part of :class:`IdiomIndex`)."""

from __future__ import annotations

from collections.abc import Sequence

from rapidfuzz.distance import Indel

from mtaudit.idiommatch.english import (
    _FREE_GAPS_PER_PLACEHOLDER,
    _MAX_EXTRA_TOKENS,
    _MIN_SCORE,
    _MIN_SCORE_MANY,
    _MIN_SPECIFICITY,
    COMMON_ZIPF,
    DISTINCTIVE_ZIPF,
    FOREIGN_ZIPF,
    FUNCTION_WORD_EVIDENCE,
    LIGHT_VERBS,
    PHRASE_BREAKS,
    PREPOSITIONS,
    _source_key,
    fold,
    function_form,
    lemma_candidates,
    zipf_en,
)
from mtaudit.idiommatch.lexicon import (
    EnglishIdioms,
)
from mtaudit.idiommatch.patterns import (
    Match,
    Pattern,
    Token,
)
from mtaudit.idiommatch.placement import nearest_first, nearest_placement


class _Scorer:
    """Pattern evaluation, mixed into :class:`mtaudit.idiommatch.index.IdiomIndex`."""

    english: EnglishIdioms
    _source_prefix: dict[str, set[str]]

    def _evaluate(
        self,
        pat: Pattern,
        tokens: Sequence[Token],
        low: Sequence[str],
        by_key: dict[str, list[int]],
        lookups: Sequence[frozenset[str]],
        present: set[str],
    ) -> list[Match]:
        """Every accepted placement of ``pat`` in the sentence (one per anchor position).

        ``lookups``: each slot's keys (English base forms and source-word keys);
        ``present``: the keys of the sentence's words (``by_key``'s).
        """
        positions: list[list[int]] = []
        for keys in lookups:
            pos: set[int] = set()
            for k in keys.intersection(present):
                pos.update(by_key[k])
            positions.append(sorted(pos))
        found = [i for i, p in enumerate(positions) if p]
        if len(found) < pat.required:
            return []
        # Short literals tolerate fewer inserted words: "wine ... drinking" is not "wine pot".
        extra = max(1, min(_MAX_EXTRA_TOKENS, len(pat.shape) // 2))
        max_window = len(pat.shape) + pat.placeholders * _FREE_GAPS_PER_PLACEHOLDER + extra
        anchor = min(found, key=lambda i: len(positions[i]))
        order = nearest_first(found, anchor)
        matches: list[Match] = []
        for pa in positions[anchor]:
            assign = nearest_placement(positions, order, anchor, pa, max_window)
            while len(assign) >= pat.required:
                lo, hi = min(assign.values()), max(assign.values())
                if hi - lo + 1 <= max_window:
                    break
                if len(assign) == pat.required:
                    assign = {}
                    break
                # Drop the slot farthest from the anchor (allowed once for long patterns).
                far = max((s for s in assign if s != anchor), key=lambda s: abs(assign[s] - pa))
                del assign[far]
            if len(assign) < pat.required:
                continue
            m = self._score(pat, tokens, low, assign)
            if m is not None:
                matches.append(m)
        return matches

    def _score(
        self,
        pat: Pattern,
        tokens: Sequence[Token],
        low: Sequence[str],
        assign: dict[int, int],
    ) -> Match | None:
        lo, hi = min(assign.values()), max(assign.values())
        by_pos = {p: s for s, p in assign.items()}
        # A multi-word filler ("train station", "paving stone") absorbs its other words.
        for si, p in list(assign.items()):
            slot = pat.slots[si]
            for step in (-1, 1):
                q = p + step
                while 0 <= q < len(low) and q not in by_pos:
                    lemmas = lemma_candidates(low[q])
                    if slot.modifiers.isdisjoint(lemmas) and slot.keys.isdisjoint(lemmas):
                        break
                    by_pos[q] = si
                    lo, hi = min(lo, q), max(hi, q)
                    q += step
        # A literal is one phrase: it does not run across a comma, colon, dash or bracket
        # ("Elderflower wine, so drink" is not "wine ... drink").
        if not pat.punctuated and any(
            c in PHRASE_BREAKS for t in tokens[lo + 1 : hi + 1] for c in t.sep
        ):
            return None
        # Extend over the literal's leading/trailing function words when they are there.
        for _ in range(pat.n_left):
            if lo > 0 and function_form(low[lo - 1]) in pat.function_words:
                lo -= 1
        for _ in range(pat.n_right):
            if hi + 1 < len(low) and function_form(low[hi + 1]) in pat.function_words:
                hi += 1
        # The window as a shape: slot symbols, the literal's function words, and a gap
        # symbol for anything else (inserted adverbs, auxiliaries, a name). A placeholder
        # ("someone") lets a few gap words through for free.
        window: list[str] = []
        free = _FREE_GAPS_PER_PLACEHOLDER * pat.placeholders
        for i in range(lo, hi + 1):
            if i in by_pos:
                sym = f"#{by_pos[i]}"
                if not window or window[-1] != sym:
                    window.append(sym)
                continue
            f = function_form(low[i])
            if f in pat.function_words:
                window.append(f)
            elif free > 0:
                free -= 1
            elif f in PREPOSITIONS:
                # An inserted preposition changes how the words relate ("pays for the duck"
                # is not "pays the duck"), so it costs twice an inserted adverb.
                window.extend(("<gap>", "<gap>"))
            else:
                window.append("<gap>")
        score = Indel.normalized_similarity(window, pat.shape)
        if score < _MIN_SCORE_MANY and score < _MIN_SCORE.get(len(pat.slots), _MIN_SCORE_MANY):
            # Under the lowest threshold this match could have (below): rejected whatever
            # the evidence, so the evidence is not weighed (most placements end here).
            return None
        # Function words the window shares with the literal (longest common subsequence).
        common = (len(window) + len(pat.shape) - Indel.distance(window, pat.shape)) // 2
        shared_function = max(0, common - len(assign))
        # Evidence that this is not ordinary English: a distinctive word, or a source word.
        survivals: list[str] = []
        distinctive = False
        english_fill = False
        specificity = FUNCTION_WORD_EVIDENCE * shared_function
        for si, p in assign.items():
            tok = tokens[p]
            slot = pat.slots[si]
            lemmas = lemma_candidates(low[p])
            keys = self.word_keys(low[p])
            is_source = any(_source_key(pat.language, f) in keys for f in slot.source)
            survived = is_source and slot.translations.isdisjoint(lemmas)
            if survived and tok.text[:1].isupper() and p > 0 and fold(low[p]) not in slot.source:
                # A capitalised look-alike of a source word is a name ("Verdi" is not verde);
                # only exact forms survive capitalised (German nouns: "Brei").
                return None
            if survived:
                survivals.append(tok.text)
            else:
                english_fill = True
            # How common the word is as English: its matched base form, else the token.
            matched = lemmas & slot.keys
            zipf = max(map(zipf_en, matched)) if matched else zipf_en(low[p])
            # A capitalised English word inside a sentence is most likely a name ("Lime",
            # "Sand"); a surviving source word may be capitalised (German nouns: "Brei").
            proper = tok.text[:1].isupper() and p > 0 and not survived and not slot.capitalised
            if proper:
                continue
            if not matched.isdisjoint(LIGHT_VERBS):
                # A light verb in its slot is part of the shape, no more ("put", "have").
                specificity += FUNCTION_WORD_EVIDENCE
                continue
            specificity += max(0.0, COMMON_ZIPF - zipf)
            if zipf < DISTINCTIVE_ZIPF:
                distinctive = True
        # A surviving source word that is no English word at all is strong evidence on its
        # own, so the frame around it may be looser ("are still in ascuas", "fell of the
        # guindo"); one that is also English ("dents") is not.
        min_score = _MIN_SCORE.get(len(pat.slots), _MIN_SCORE_MANY)
        if any(zipf_en(w.lower()) < FOREIGN_ZIPF for w in survivals):
            min_score = _MIN_SCORE_MANY
        if score < min_score:
            return None
        # The other words of a multi-word filler ("train" of "train station") add evidence.
        assigned = set(assign.values())
        for q, si in by_pos.items():
            if q not in assigned:
                slot = pat.slots[si]
                matched = lemma_candidates(low[q]) & (slot.keys | slot.modifiers)
                specificity += max(0.0, COMMON_ZIPF - max(map(zipf_en, matched)))
        # A match made only of source words is untranslated foreign text (a quotation), not a
        # translation, unless English function words of the literal hold it together
        # ("rasgó the vestiduras").
        if not english_fill and not shared_function:
            return None
        if not distinctive or specificity < _MIN_SPECIFICITY:
            return None
        return Match(
            pat,
            lo,
            hi,
            tokens[lo].start,
            tokens[hi].end,
            round(score, 3),
            dict(assign),
            survivals,
            common,
            round(specificity, 2),
        )
