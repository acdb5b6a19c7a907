"""Sentence boundaries: where sentences and lines end between the tokens of a text.

Chaining, verification and the extension's bonus ask whether a token starts a sentence;
:class:`dedup.align.prepared.PreparedText` finds out lazily, block by block.
"""

from __future__ import annotations

import re

import numpy as np

from ..text import SENTENCE_END, SENTENCE_MARKS, Tokens


class Boundaries:
    """Where sentences and lines end between tokens. Token indices past either end of
    the text count as boundaries of both kinds.

    Sentence boundaries are found one block of tokens at a time, with one regular
    expression search over the block's text, and kept as one byte per token: the
    extension asks about the same few tokens many times.
    """

    BLOCK = 128  # tokens whose boundaries are found together

    def __init__(self, text: str, tokens: Tokens) -> None:
        self.text, self.tokens = text, tokens
        self._count = len(tokens.starts)
        # Byte arrays: fast to read one by one from Python, and viewed by NumPy in ``at``.
        self._flags = bytearray(self._count)
        self._blocks_done = bytearray(self._count // self.BLOCK + 1)

    def _gap(self, t: int) -> str | None:
        if t <= 0 or t >= self._count:
            return None
        return self.text[int(self.tokens.ends[t - 1]) : int(self.tokens.starts[t])]

    def __call__(self, t: int) -> bool:
        """Does a sentence or paragraph end between token t-1 and token t?"""
        if t <= 0 or t >= self._count:
            return True
        if not self._blocks_done[t // self.BLOCK]:
            self._find_block(t // self.BLOCK)
        return self._flags[t] == 1

    def flags(self, first: int, end: int, step: int = 1) -> list[bool]:
        """``[self(t) for t in range(first, end, step)]``."""
        positions = range(first, end, step)
        if not positions:
            return []
        self._find_blocks(min(positions[0], positions[-1]), max(positions[0], positions[-1]))
        flags, count = self._flags, self._count
        return [t <= 0 or t >= count or flags[t] == 1 for t in positions]

    def find_block(self, block: int) -> None:
        """Find the boundaries of the tokens of ``block`` (tokens ``block * BLOCK`` on),
        unless found already (see ``flag_bytes``)."""
        if not self._blocks_done[block]:
            self._find_block(block)

    def blocks_found(self) -> bytearray:
        """One byte per block of tokens, 1 where its boundaries are found. Read only."""
        return self._blocks_done

    def flag_bytes(self) -> bytearray:
        """One byte per token, 1 where a boundary comes before it: right for the blocks
        of tokens found (``find_block``). Read only."""
        return self._flags

    def _find_blocks(self, lowest: int, highest: int) -> None:
        """Find the flags of the blocks of tokens ``lowest .. highest`` not yet seen."""
        lowest, highest = max(lowest, 1), min(highest, self._count - 1)
        for block in range(lowest // self.BLOCK, highest // self.BLOCK + 1):
            if not self._blocks_done[block]:
                self._find_block(block)

    def _find_block(self, block: int) -> None:
        """Flags of the block's tokens: a gap before token t holding a line break or a
        sentence end (``SENTENCE_END`` as it matches the gap on its own: its characters
        are never part of a token, so every match lies inside one gap)."""
        lo = max(block * self.BLOCK, 1)
        hi = min((block + 1) * self.BLOCK, self._count)
        self._blocks_done[block] = 1
        if hi <= lo:
            return
        starts, ends = self.tokens.starts, self.tokens.ends
        origin = int(ends[lo - 1])
        region = self.text[origin : int(starts[hi - 1])]
        found = [start + origin for start in boundary_marks(region)]
        if found:
            # The gap before token t is [ends[t-1], starts[t]): a mark at p lies in the gap
            # of the first token starting after it.
            tokens = np.searchsorted(starts[lo:hi], np.array(found, dtype=np.int64), side="right") + lo
            for t in tokens.tolist():
                self._flags[t] = 1

    def line_break_before(self, t: int) -> bool:
        gap = self._gap(t)
        return gap is None or "\n" in gap


# A line break or a sentence end, as Boundaries looks for them in the gaps between tokens.
_BOUNDARY_MARK = re.compile("\n|" + SENTENCE_END.pattern)
# The characters such a mark starts with: the places worth trying it at.
_MARK_START = re.compile("[\n.!?\u2026" + SENTENCE_MARKS + "]")


def boundary_marks(text: str) -> list[int]:
    """Where the line breaks and sentence ends of ``text`` start: the starts of
    ``_BOUNDARY_MARK.finditer(text)``, found three times as fast by trying the pattern
    only where one of its first characters stands (``re`` would try it everywhere).

    >>> boundary_marks("One. Two!\\nThree 7.5 ...")
    [3, 8, 9]
    """
    starts, end = [], 0
    match = _BOUNDARY_MARK.match
    for candidate in _MARK_START.finditer(text):
        at = candidate.start()
        if at < end:
            continue  # inside the mark found before, as finditer goes on after it
        found = match(text, at)
        if found:
            starts.append(at)
            end = found.end()
    return starts
