"""Placing a pattern's words around an anchor: each at its nearest free position.

Both idiom matchers (the glossary engine, :mod:`mtaudit.idiommatch.scoring`, and the
back-projection one, :mod:`mtaudit.sourcematch.index`) place a pattern the same way: one
word is anchored at a position of the sentence, and every other word takes the nearest
position where it occurs that no other word has taken.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence

__all__ = ["nearest_placement", "nearest_first"]


def nearest_first(words: Iterable[int], anchor: int) -> list[int]:
    """``words`` (indexes in the pattern) ordered by distance from ``anchor``.

    The sort is stable, so of two words as far from the anchor the one given first is
    placed first (and wins a position both could take).
    """
    return sorted(words, key=lambda i: abs(i - anchor))


def nearest_placement(
    positions: Mapping[int, Sequence[int]] | Sequence[Sequence[int]],
    order: Iterable[int],
    anchor: int,
    at: int,
    reach: int,
) -> dict[int, int]:
    """Pattern word -> sentence position, with ``anchor`` at position ``at``.

    Args:
        positions: for each pattern word, the sentence positions where it occurs, sorted.
        order: the words to place, nearest the anchor first (:func:`nearest_first`).
        anchor: the anchored word.
        at: the anchor's position.
        reach: how far (in tokens, inclusive) from ``at`` a word may be placed.

    Each word takes the nearest free position within reach, preferring a position on the
    side of the anchor that the pattern's own order puts it; a word with none is left out.
    """
    assign = {anchor: at}
    taken = {at}
    for i in order:
        if i == anchor:
            continue
        pos = positions[i]
        # bisect keeps a long run-on "sentence" linear, not quadratic.
        near = pos[bisect_left(pos, at - reach) : bisect_right(pos, at + reach)]
        options = [p for p in near if p not in taken]
        if not options:
            continue
        p = min(options, key=lambda p: ((p < at) != (i < anchor), abs(p - at)))
        assign[i] = p
        taken.add(p)
    return assign
