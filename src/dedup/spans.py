"""Removed spans: the one type that says what cleaning removed and why, and exact offsets.

:class:`Match` is the span that :class:`dedup.Deduplicator` reports, that
:func:`dedup.report.explain` and the HTML page show, and that ``dedup clean --report`` /
``dedup explain`` write as JSON lines. :class:`Removal` records which characters of an
original text a cleaning removed (as :func:`dedup.align.removed_ranges` reports them),
so that a span found in a text after an earlier removal maps back to the original by
arithmetic.

>>> removal = Removal().then([(7, 14)])     # "Hello. Hello. World" -> "Hello. World"
>>> removal.to_original(7), removal.span_to_original(7, 12)  # the "W", and "World"
(14, (14, 19))
>>> removal.then([(0, 7)]).cuts            # then "Hello. " goes too: "World"
((0, 14),)
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["Match", "Removal"]


@dataclass(frozen=True)
class Match:
    """A removed passage: ``text[start:end]`` repeats ``source_start:source_end`` of
    document ``source_id``, an earlier one (``kind="across"``) or the same one
    (``kind="within"``).

    Offsets are character offsets into the texts as given: the removed passage's own
    document, and the source document (for ``"within"``, the same text, before ``start``).

    ``similarity`` is the engine's containment: the share of the removed passage's
    distinct word ``ngram`` shingles (its words, when it has fewer than ``ngram``) that
    occur among the shingles of the source passage, compared after normalisation (case,
    accents, punctuation and whitespace ignored). 1.0: every n-gram of the passage is in
    the source, as in an exact copy or one that only dropped words. It is not Jaccard
    similarity: the source's n-grams missing from the copy do not lower it.
    """

    start: int
    end: int
    kind: str
    source_id: Any
    source_start: int
    source_end: int
    similarity: float

    def to_dict(self) -> dict:
        return asdict(self)


class Removal:
    """Which characters of an original text a cleaning removed: ``cuts``, sorted disjoint
    ``(start, end)`` ranges of the original. Offsets into the cleaned text map back to
    the original with :meth:`to_original`; a further removal from the cleaned text is
    added with :meth:`then`."""

    __slots__ = ("cuts", "_cleaned_starts", "_shifts")

    def __init__(self, cuts: Iterable[tuple[int, int]] = ()) -> None:
        self.cuts: tuple[tuple[int, int], ...] = tuple((int(a), int(b)) for a, b in cuts)
        # Where each cut sits in the cleaned text, and the characters removed up to its end.
        self._cleaned_starts: list[int] = []
        self._shifts: list[int] = []
        removed = 0
        for start, end in self.cuts:
            self._cleaned_starts.append(start - removed)
            removed += end - start
            self._shifts.append(removed)

    def __bool__(self) -> bool:
        return bool(self.cuts)

    def __repr__(self) -> str:
        return f"Removal({list(self.cuts)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Removal) and other.cuts == self.cuts

    def __hash__(self) -> int:
        return hash(self.cuts)

    def to_original(self, position: int) -> int:
        """The original offset of the character at ``position`` of the cleaned text."""
        k = bisect_right(self._cleaned_starts, position) - 1
        return position if k < 0 else position + self._shifts[k]

    def span_to_original(self, start: int, end: int) -> tuple[int, int]:
        """A range of the cleaned text as a range of the original: from its first character
        to its last (with any text removed before in between)."""
        if end <= start:
            return (self.to_original(start),) * 2
        return self.to_original(start), self.to_original(end - 1) + 1

    def then(self, cuts: Iterable[tuple[int, int]]) -> Removal:
        """This removal followed by removing ``cuts`` (sorted, disjoint, offsets into the
        cleaned text) from the cleaned text."""
        merged: list[tuple[int, int]] = []
        for start, end in sorted([*self.cuts, *(self.span_to_original(a, b) for a, b in cuts if b > a)]):
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
            else:
                merged.append((start, end))
        return Removal(merged)
