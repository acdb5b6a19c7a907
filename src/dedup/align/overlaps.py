"""Overlap resolution: where verified alignments overlap, the oldest source wins and
the others keep what lies outside it."""

from __future__ import annotations

from bisect import bisect_right

from .prepared import PreparedText
from .verify import Alignment


def resolve_overlaps(spans: list[Alignment], query: PreparedText, min_length: int) -> list[Alignment]:
    """Non-overlapping spans, sorted by copy start.

    Where alignments overlap (a passage found in two sources, or two chains meeting),
    the oldest source wins (given sources oldest first, then the text itself), then the
    alignment with more matched words: every passage is reported against its earliest
    copy. The other keeps what lies outside the winner and outside the text the winner
    repeats, when that still counts ``min_length`` matched words or touches the winner
    in the same order (so no fragment of a copy is left behind).

    Each span looks only at the taken ranges it overlaps (a sorted index of them), and
    at the repeats that end or start where its pieces do, so a text with many repeats
    costs n log n, not n squared.
    """
    resolved = OverlapResolver(query, min_length)
    for group in _by_source(spans):
        resolved.add(group)
    return resolved.spans()


def _by_source(spans: list[Alignment]) -> list[list[Alignment]]:
    """``spans`` grouped by source: sources in order, then the text itself (None)."""
    groups: dict = {}
    for span in spans:
        groups.setdefault(span.source, []).append(span)
    return [groups[source] for source in sorted(groups, key=lambda s: (s is None, s or 0))]


class OverlapResolver:
    """:func:`resolve_overlaps` fed one source at a time, in the order it ranks them
    (sources oldest first, then the text itself): the same result, and it can tell when
    the repeats accepted so far cover the whole text, so that no later span could add
    anything."""

    def __init__(self, query: PreparedText, min_length: int) -> None:
        self.query = query
        self.min_length = min_length
        # Neither what another repeat removes nor the text it repeats (in the text
        # itself), which is kept: a copy pasted right after its original can make the
        # original's last sentence look like a repeat of an earlier one.
        self._taken = _TakenRanges()
        # Accepted repeats by where they start, and by where they end: (source, where they
        # lie in it for the order of pieces, see add).
        self._starting: dict[int, list[tuple]] = {}
        self._ending: dict[int, list[tuple]] = {}
        self.accepted: list[Alignment] = []

    def covers_all(self) -> bool:
        """Whether the taken ranges cover every token of the text."""
        return self._taken.covered >= len(self.query) > 0

    def add(self, spans: list[Alignment]) -> None:
        """Resolve ``spans``, all from one source ranked after every source added before."""
        query, taken, starting, ending = self.query, self._taken, self._starting, self._ending
        for span in sorted(spans, key=lambda s: (-s.matched, s.copy_start)):
            unmatched = max(query.words(span.copy_start, span.copy_end) - span.matched, 0.0)
            kept = []
            for lo, hi in taken.free_pieces(span.copy_start, span.copy_end):
                # Where the piece lies in the source, for the order of pieces (and, in
                # the text itself, for the text it repeats, which stays): offsets
                # carried over from the span's start, clamped to its source range.
                order_start = min(span.source_start + (lo - span.copy_start), span.source_end)
                order_end = max(order_start, span.source_end - (span.copy_end - hi))
                # A piece is a repeat of its own when its matched words (at least its
                # words less all the words the alignment did not match) reach
                # min_length, or a fragment of the repeat it touches when it goes on in
                # the same order (its source before, or after, that repeat's source): a
                # copy's words aligned elsewhere. Not so the original's last sentence
                # before a copy that starts like what followed an earlier, similar one.
                touches = any(source != span.source or order_end <= start for source, start, _ in starting.get(hi, ())) or any(
                    source != span.source or order_start >= end for source, _, end in ending.get(lo, ())
                )
                if query.words(lo, hi) - unmatched < self.min_length and not touches:
                    continue
                matched = min(span.matched, query.words(lo, hi))
                reported = _source_of_piece(span, lo, hi, order_start, order_end)
                piece = Alignment(lo, hi, *reported, span.similarity, matched, span.source)
                kept.append((piece, order_start, order_end))
            # Pieces of one span never touch each other (a taken range lies between them).
            for piece, order_start, order_end in kept:
                taken.add(piece.copy_start, piece.copy_end)
                starting.setdefault(piece.copy_start, []).append((piece.source, order_start, order_end))
                ending.setdefault(piece.copy_end, []).append((piece.source, order_start, order_end))
            for piece, order_start, order_end in kept:
                if piece.source is None:
                    for lo, hi in taken.free_pieces(order_start, order_end):
                        taken.add(lo, hi)
            self.accepted += [piece for piece, _, _ in kept]

    def spans(self) -> list[Alignment]:
        """The accepted spans, sorted by copy start."""
        return sorted(self.accepted, key=lambda s: s.copy_start)


def _source_of_piece(span: Alignment, lo: int, hi: int, order_start: int, order_end: int) -> tuple[int, int]:
    """The source range reported for tokens ``lo .. hi`` of ``span``'s copy, whose range
    for the order of pieces is ``order_start .. order_end`` (see ``add``): that range
    when it is not empty. A copy with words added or dropped is shifted against its
    source, so the offsets carried from the span's start and from its end can cross: the
    piece is then given a range of its own length, at the span's end for the span's last
    words, so that it names the source words it repeats rather than an empty range."""
    if order_start < order_end:
        return order_start, order_end
    # Crossed: a range as long as the piece (tokens for tokens), inside the span's.
    length = hi - lo
    if hi == span.copy_end:  # the end of the span: ending where the span's source does
        return max(span.source_end - length, span.source_start), span.source_end
    start = max(min(order_start, span.source_end - length), span.source_start)
    return start, min(start + length, span.source_end)


class _TakenRanges:
    """Disjoint, non-empty ranges [start, end), sorted in blocks of at most ``_BLOCK``.

    Blocks keep an insertion to one short list move (a single sorted list would move
    half of all ranges each time); disjoint ranges sorted by start are sorted by end too.
    """

    _BLOCK = 512

    def __init__(self) -> None:
        self._starts: list[list[int]] = []
        self._ends: list[list[int]] = []
        self._firsts: list[int] = []  # the first start of each block
        self.covered = 0  # tokens in all taken ranges

    def _block_of(self, position: int) -> int:
        return max(bisect_right(self._firsts, position) - 1, 0)

    def free_pieces(self, lo: int, hi: int) -> list[tuple[int, int]]:
        """The non-empty parts of [lo, hi) outside every taken range, in order."""
        pieces = []
        block = self._block_of(lo)
        at = bisect_right(self._ends[block], lo) if self._ends else 0
        while block < len(self._starts) and lo < hi:
            starts, ends = self._starts[block], self._ends[block]
            if at == len(starts):
                block, at = block + 1, 0
                continue
            if starts[at] >= hi:
                break
            if starts[at] > lo:
                pieces.append((lo, starts[at]))
            lo = max(lo, ends[at])
            at += 1
        if hi > lo:
            pieces.append((lo, hi))
        return pieces

    def add(self, lo: int, hi: int) -> None:
        """Take [lo, hi), which overlaps no taken range."""
        self.covered += hi - lo
        if not self._starts:
            self._starts, self._ends, self._firsts = [[lo]], [[hi]], [lo]
            return
        block = self._block_of(lo)
        starts, ends = self._starts[block], self._ends[block]
        at = bisect_right(starts, lo)
        starts.insert(at, lo)
        ends.insert(at, hi)
        self._firsts[block] = starts[0]
        if len(starts) > 2 * self._BLOCK:
            half = len(starts) // 2
            self._starts.insert(block + 1, starts[half:])
            self._ends.insert(block + 1, ends[half:])
            self._firsts.insert(block + 1, starts[half])
            del starts[half:], ends[half:]
