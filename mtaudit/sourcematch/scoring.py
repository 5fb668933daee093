"""How well a projected sentence matches a source pattern (a part of
:class:`SourceIdiomIndex`)."""

from __future__ import annotations

from collections.abc import Sequence

from rapidfuzz.distance import Indel

from mtaudit.idiommatch import (
    fold,
    zipf_en,
)
from mtaudit.idiommatch.english import FOREIGN_ZIPF
from mtaudit.sourcematch.common import (
    _BREAK_CHARS,
    _COLLOCATION,
    _COMMON_ZIPF,
    _FUNCTION_EVIDENCE,
    _LIGHT_EN,
    _LOW_SPECIFICITY,
    _MAX_ASSOCIATION,
    _MIN_SIMILARITY,
    _MIN_SIMILARITY_MANY,
    _MIN_SPECIFICITY,
    _OBJECT_SLACK,
    _PLACEHOLDER_SLACK,
    _SURVIVAL_EVIDENCE,
    _SURVIVAL_SPECIFICITY,
)
from mtaudit.sourcematch.units import (
    PUnit,
    SourceMatch,
    SourcePattern,
)


class _Scorer:
    """Scoring and acceptance of one projected match, mixed into
    :class:`mtaudit.sourcematch.index.SourceIdiomIndex`."""

    def _score(
        self, pat: SourcePattern, text: str, units: Sequence[PUnit], assign: dict[int, int]
    ) -> SourceMatch | None:
        lo, hi = min(assign.values()), max(assign.values())
        # One phrase: a literal idiom does not run across a comma, colon, dash or bracket.
        if not pat.punctuated and any(
            c in _BREAK_CHARS for i in range(lo + 1, hi + 1) for c in units[i].sep
        ):
            return None
        symbols = pat.function_symbols
        by_pos = {p: f"#{wi}" for wi, p in assign.items()}

        def function_symbol(u: PUnit) -> str | None:
            if not u.known or u.proper:
                return None
            return next((sym for sym, ls in symbols.items() if not ls.isdisjoint(u.lemmas)), None)

        # An optional word that is not there (a light verb the MT rendered otherwise:
        # "dipped" for *poner*) is left out of the idiom's shape.
        shape = tuple(
            x
            for x in pat.shape
            if not (x.startswith("#") and int(x[1:]) in pat.optional and int(x[1:]) not in assign)
        )
        # The idiom's leading and trailing function words, when they are there.
        slots = [k for k, x in enumerate(shape) if x.startswith("#")]
        left, right = frozenset(shape[: slots[0]]), frozenset(shape[slots[-1] + 1 :])
        while lo > 0 and left and not any(c in _BREAK_CHARS for c in units[lo].sep):
            sym = function_symbol(units[lo - 1])
            if sym is None or sym not in left:
                break
            lo -= 1
        while hi + 1 < len(units) and right:
            if any(c in _BREAK_CHARS for c in units[hi + 1].sep):
                break
            sym = function_symbol(units[hi + 1])
            if sym is None or sym not in right:
                break
            hi += 1
        # Words joined by hyphens are one English word ("point-blank" is not *de punta en
        # blanco*): a match inside a compound is English.
        positions = sorted(assign.values())
        if len(positions) > 1 and all(
            units[j].sep == "-"
            for k in range(len(positions) - 1)
            for j in range(positions[k] + 1, positions[k + 1] + 1)
        ):
            return None
        # A noun right after the match makes its last word a modifier: "pays for the duck
        # pond" is about a pond, not the duck of "pagar el pato".
        last = max(assign.values())
        if (
            last == hi
            and hi + 1 < len(units)
            and units[hi + 1].noun
            and units[hi + 1].sep == " "
            and not units[hi + 1].proper
        ):
            return None
        window: list[str] = []
        free = pat.placeholders * _PLACEHOLDER_SLACK
        # Room for an object right after an opening verb (see SourcePattern.object_after).
        verb_at = assign.get(pat.object_after) if pat.object_after is not None else None
        object_room = _OBJECT_SLACK if verb_at is not None else 0
        after_verb = pat.words[1].symbol if verb_at is not None else None
        for i in range(lo, hi + 1):
            if i in by_pos:
                window.append(by_pos[i])
                continue
            sym = function_symbol(units[i])
            if (
                object_room
                and verb_at is not None
                and window[-1:] == [by_pos[verb_at]]
                and sym != after_verb
            ):
                object_room -= 1  # a word of the object, between the verb and the idiom
            elif sym is not None:
                window.append(sym)
            elif free > 0:
                free -= 1
            elif units[i].preposition:
                # An inserted preposition changes how the words relate ("pays for the
                # duck" is not "pays the duck"): twice an inserted adverb.
                window.extend(("<gap>", "<gap>"))
            else:
                window.append("<gap>")
        # MT puts a Spanish noun's adjective in front of it ("vista gorda" -> "fat view"):
        # adjacent content words in swapped order count as in order.
        for k in range(len(window) - 1):
            a, b = window[k], window[k + 1]
            if a.startswith("#") and b.startswith("#") and int(a[1:]) > int(b[1:]):
                window[k], window[k + 1] = b, a
        score = Indel.normalized_similarity(window, shape)
        if score < _MIN_SIMILARITY_MANY and score < _MIN_SIMILARITY.get(
            len(assign), _MIN_SIMILARITY_MANY
        ):
            # Under the lowest threshold this match could have (below): rejected whatever
            # the evidence, so the evidence is not weighed.
            return None
        common = (len(window) + len(shape) - Indel.distance(window, shape)) // 2
        shared_function = max(0, common - len(assign))
        minimum = _MIN_SIMILARITY.get(len(assign), _MIN_SIMILARITY_MANY)
        survivals: list[str] = []
        evidence = _FUNCTION_EVIDENCE * shared_function
        english_fill = shared_function > 0
        for wi, p in assign.items():
            u = units[p]
            word = pat.words[wi]
            folded = fold(u.surface)
            # A word the MT passed through: unknown to the English analyser, and no English
            # word at all or the source word itself ("pelos", "cal").
            foreign = not u.known and (
                zipf_en(u.surface.lower()) < FOREIGN_ZIPF
                or folded in word.lemmas
                or folded == word.folded
            )
            if foreign and not u.proper:
                survivals.append(u.surface)
                evidence += _SURVIVAL_EVIDENCE
                continue
            if u.proper:
                continue
            english_fill = True
            if not u.english.isdisjoint(_LIGHT_EN) or word.light:
                evidence += _FUNCTION_EVIDENCE
                continue
            evidence += max(0.0, _COMMON_ZIPF - u.zipf)
        if survivals:
            # A word the MT could not translate is evidence enough for a looser frame.
            minimum = min(minimum, _MIN_SIMILARITY_MANY)
        if score < minimum or not english_fill:
            return None
        # An opening verb the MT rendered with another verb ("dipped the toe in the sore"
        # for *poner el dedo en la llaga*) still belongs to the span: a replacement of the
        # span replaces it too.
        w0 = pat.words[0]
        if (
            w0.kind == "content"
            and w0.verb
            and 0 not in assign
            and lo > 0
            and units[lo - 1].verb
            and units[lo].sep == " "
        ):
            lo -= 1
        m = SourceMatch(
            pat,
            lo,
            hi,
            units[lo].start,
            units[hi].end,
            round(score, 3),
            common,
            round(evidence, 2),
            survivals,
            len(assign),
        )
        return m if self._accept(m, text, units) else None

    def _accept(self, m: SourceMatch, text: str, units: Sequence[PUnit]) -> bool:
        """The evidence test (see the thresholds at the top of the module)."""
        if m.survivals:
            return m.evidence >= _SURVIVAL_SPECIFICITY
        if m.evidence < _LOW_SPECIFICITY:
            return False
        if m.content_found == 1:
            # One content word is too little for the association test to rest on.
            return m.evidence >= _MIN_SPECIFICITY
        needs_lm = m.evidence < _MIN_SPECIFICITY or m.matched <= 2
        if not needs_lm:
            return True
        assoc = self.association(text, m.start, m.end, units[0].start)
        m.association = assoc
        if assoc is None:
            return m.evidence >= _MIN_SPECIFICITY
        if m.content_found <= 2 and m.matched <= m.content_found and assoc > _COLLOCATION:
            return False
        return m.evidence >= _MIN_SPECIFICITY or assoc <= _MAX_ASSOCIATION

    def association(self, text: str, start: int, end: int, sentence_start: int) -> float | None:
        """Mean PMI (nats a word) of ``text[start:end]`` given the two words before it, under
        the n-gram LM (None without one): low for word combinations English does not make."""
        lm = self.lm
        if lm is None:
            return None
        tokens = lm.token_spans(text[sentence_start:end])
        inside = [i for i, (_, a, b) in enumerate(tokens) if a >= start - sentence_start]
        if not inside:
            return None
        i0, i1 = inside[0], inside[-1] + 1
        words = [w for w, _, _ in tokens]
        logprob = lm.window_logprob(words, i0, i1)
        unigram = sum(lm.unigram_cost(w) for w in words[i0:i1])
        return (logprob + unigram) / (i1 - i0)
