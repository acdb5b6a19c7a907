"""Prepared texts: a text with its tokens and shingle hashes, what the engine aligns.

:func:`prepare` tokenizes a batch in one vectorised pass; :func:`prepare_alone` prepares
one long text to be aligned with itself in less memory.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import xxhash

from ..arrays import (
    first_occurrences, first_occurrences_of, first_of_equals, run_starts, segment_sort_orders, stable_sort_order,
)
from ..shingle import shingles
from ..hashing import mix64, mix64_inplace
from ..text import DEFAULT_MODE, WEIGHT_UNIT, Tokens, tokenize, tokenize_identified
from .boundaries import Boundaries
from .params import DEFAULT_NGRAM


# PreparedText.words keeps a prefix sum of token weights every this many tokens ...
_WORDS_BLOCK = 64
# ... and one per token (4 bytes) in a text of at most this many tokens: a text aligned
# alone (prepare_alone) may have hundreds of millions, and a few bytes a token more
# than its share of the text would bound what one clean() call can hold.
_WORDS_PER_TOKEN_MOST = 1 << 20


class PreparedText:
    """A text with its tokens and shingle hashes: what the engine aligns.

    Make them with :func:`prepare` (one vectorised pass for a batch); a text prepared
    once can be aligned against many others.
    """

    __slots__ = (
        "text", "tokens", "shingles", "_count", "_batch", "_boundaries", "_words_before", "_units_in_block",
        "_first_occurrences", "_digest", "_shingle_order", "_repeats",
    )

    def __init__(self, text: str, tokens: Tokens, shingle_hashes: np.ndarray) -> None:
        self.text = text
        self.tokens = tokens
        self._count = len(tokens.hashes)
        self._batch: tuple[Tokens, int] | None = None
        self._set_up(shingle_hashes)

    @classmethod
    def of_batch(
        cls, texts: Sequence[str], tokens: Tokens, hashes: np.ndarray, offsets: np.ndarray
    ) -> list["PreparedText"]:
        """The texts of a batch prepared together (``tokens`` of all, and their shingle
        ``hashes``, text ``i`` owning ``hashes[offsets[i]:offsets[i + 1]]``). A text's own
        :class:`dedup.text.Tokens` are made when first read: a pass's texts are keys to
        most of stage 1, and only those with candidates are aligned."""
        counts = np.diff(tokens.offsets).tolist()
        bounds = np.asarray(offsets).tolist()
        out = []
        for i, text in enumerate(texts):
            prepared = cls.__new__(cls)
            prepared.text = text
            prepared._count = counts[i]
            prepared._batch = (tokens, i)
            prepared._set_up(hashes[bounds[i] : bounds[i + 1]])
            out.append(prepared)
        return out

    def __getattr__(self, name: str):
        # Only an unset slot gets here: the tokens of a text of a batch, not read yet.
        if name != "tokens" or self._batch is None:
            raise AttributeError(name)
        batch, index = self._batch
        self.tokens = batch.of(index)
        self._batch = None
        return self.tokens

    def _set_up(self, shingle_hashes: np.ndarray) -> None:
        self.shingles = shingle_hashes
        self._boundaries: Boundaries | None = None
        self._words_before: np.ndarray | None = None
        self._units_in_block: np.ndarray | None = None
        self._first_occurrences: np.ndarray | None = None
        self._digest: bytes | None = None
        self._shingle_order: tuple[np.ndarray, np.ndarray] | None = None
        self._repeats: bool | None = None

    def detached(self) -> "PreparedText":
        """This text prepared in arrays of its own: a text of a batch (see :func:`prepare`)
        holds views of the batch's arrays, which keep the whole batch alive; a cache
        keeps its copy instead, which costs what the text alone does."""
        return PreparedText(self.text, self.tokens.copy(), self.shingles.copy())

    @property
    def digest(self) -> bytes:
        """A 128-bit digest of the text (XXH3): what the text is known by in caches."""
        if self._digest is None:
            self._digest = xxhash.xxh3_128_digest(self.text.encode("utf-8", "surrogatepass"))
        return self._digest

    def __len__(self) -> int:
        return self._count

    @property
    def boundaries(self) -> "Boundaries":
        if self._boundaries is None:
            self._boundaries = Boundaries(self.text, self.tokens)
        return self._boundaries

    def words(self, first: int, end: int) -> float:
        """Length of tokens ``first .. end`` in words (``Tokens.weights``: a letter of a
        script written without spaces is part of a word)."""
        end = max(end, first)
        if self.tokens.all_words:
            return float(end - first)
        return self._words_up_to(end) - self._words_up_to(first)

    def weight_units_before(self) -> np.ndarray | None:
        """Per token position ``t`` (``0 .. len(self)``), the weight units of the tokens
        before it (int64; ``words(a, b)`` is ``(u[b] - u[a]) * WEIGHT_UNIT``); None for a
        text of more than ``_WORDS_PER_TOKEN_MOST`` tokens, which keeps no units per token."""
        if self._words_before is None:
            self._count_words()
        if self._units_in_block is None:
            return None
        blocks = np.rint(self._words_before / WEIGHT_UNIT).astype(np.int64)  # exact: whole units
        return np.repeat(blocks, _WORDS_BLOCK)[: len(self) + 1] + self._units_in_block

    def _words_up_to(self, t: int) -> float:
        if self._words_before is None:
            self._count_words()
        block = t // _WORDS_BLOCK
        if self._units_in_block is not None:
            units = int(self._units_in_block[t])
        else:  # a long text: the units of the rest of the block, summed now
            units = int(self.tokens.weight_units_between(block * _WORDS_BLOCK, t).sum(dtype=np.int64))
        return float(self._words_before[block]) + units * WEIGHT_UNIT

    def _count_words(self) -> None:
        # Words before every _WORDS_BLOCK-th token (float64), and, in a text of at most
        # _WORDS_PER_TOKEN_MOST tokens, before every token counted from the start of its
        # block, in weight units (uint32: 4 bytes a token, where a float64 sum would take
        # 8). Both are exact sums, so a stretch measures the same as the sum of its weights.
        n = len(self)
        self._words_before = np.empty(n // _WORDS_BLOCK + 1, dtype=np.float64)
        per_token = n <= _WORDS_PER_TOKEN_MOST
        self._units_in_block = np.empty(n + 1, dtype=np.uint32) if per_token else None
        step = _WORDS_BLOCK * 1024  # this many tokens at a time: no int64 array as long as the text
        before = 0  # units of the tokens before lo
        for lo in range(0, n + 1, step):
            units = self.tokens.weight_units_between(lo, lo + step)
            prefix = np.zeros(min(step, n + 1 - lo), dtype=np.int64)  # units of tokens lo .. t - 1
            np.cumsum(units[: len(prefix) - 1], out=prefix[1:])
            at_blocks = prefix[::_WORDS_BLOCK]
            self._words_before[lo // _WORDS_BLOCK : lo // _WORDS_BLOCK + len(at_blocks)] = (before + at_blocks) * WEIGHT_UNIT
            if per_token:
                self._units_in_block[lo : lo + len(prefix)] = prefix - np.repeat(at_blocks, _WORDS_BLOCK)[: len(prefix)]
            before += int(units.sum(dtype=np.int64))

    def lines_between(self, first: int, end: int) -> int:
        """Line breaks among the gaps before tokens ``first .. end`` (a gap with several
        line breaks counts once)."""
        starts, ends = self.tokens.starts, self.tokens.ends
        first, end = max(first, 1), min(end, len(starts) - 1)
        return sum("\n" in self.text[int(ends[t - 1]) : int(starts[t])] for t in range(first, end + 1))

    def shingle_order(self) -> tuple[np.ndarray, np.ndarray]:
        """``(order, ordered)``: the stable argsort of the shingle hashes (the first of
        equal hashes first) and the sorted hashes; computed once, as a text is a source
        for many queries (a wire story, a recycled article)."""
        if self._shingle_order is None:
            self._shingle_order = stable_sort_order(self.shingles)
        return self._shingle_order

    @staticmethod
    def sort_shingles(texts: Sequence["PreparedText"]) -> None:
        """Make :meth:`shingle_order` of every text of ``texts`` that has none yet, all
        together (:func:`dedup.arrays.segment_sort_orders`): the same orders, in two
        sorts for all, where a round of alignment meets hundreds of new texts."""
        # Long texts are sorted alone (calls cost them little), the others in groups of
        # up to _SORTED_TOGETHER shingles: the temporaries stay a few MB.
        todo = {
            id(text): text for text in texts
            if text._shingle_order is None and len(text.shingles) <= _SORTED_TOGETHER_LONGEST
        }
        group: list[PreparedText] = []
        size = 0
        for text in todo.values():
            group.append(text)
            size += len(text.shingles)
            if size >= _SORTED_TOGETHER:
                _sort_together(group)
                group, size = [], 0
        _sort_together(group)

    def previous_occurrences(self) -> np.ndarray:
        """For every shingle, the position of the same shingle's occurrence before it in
        this text (-1: none), from :meth:`shingle_order` (int64; not kept).

        >>> prepare(["a b a b a"], ngram=2)[0].previous_occurrences().tolist()  # ab ba ab ba
        [-1, -1, 0, 1]
        """
        order, ordered = self.shingle_order()
        previous = np.full(len(order), -1, dtype=np.int64)
        same = ~first_of_equals(ordered)[1:]  # positions ascend along a run of equal shingles
        previous[order[1:][same]] = order[:-1][same]
        return previous

    def occurrence_keys(self) -> tuple[np.ndarray, np.ndarray]:
        """``(group, keys)``, to find where a shingle occurs from a position on, from
        :meth:`shingle_order` (int64; not kept). ``group``: for every position, the number
        of its shingle (where its occurrences start in the sorted order); ``keys``: along
        the sorted order, ``group * len + position``, increasing. The first occurrence at
        or after ``p`` of the shingle at position ``q`` is the first key at or above
        ``group[q] * len + p``, when it is below ``(group[q] + 1) * len``.

        >>> text = prepare(["a b a b a"], ngram=2)[0]  # ab ba ab ba
        >>> group, keys = text.occurrence_keys()
        >>> int(keys[np.searchsorted(keys, group[0] * len(keys) + 1)] - group[0] * len(keys))  # "ab" from 1 on: at 2
        2
        """
        order, ordered = self.shingle_order()
        first = run_starts(first_of_equals(ordered))  # along the sorted order: where its run starts
        group = np.empty(len(order), dtype=np.int64)
        group[order] = first
        return group, first * len(order) + order

    def first_occurrences(self) -> np.ndarray:
        """For every shingle, the position of its first occurrence in this text (computed
        once: seeding inside the text and ``has_repeated_shingle`` share it)."""
        if self._first_occurrences is None:
            self._first_occurrences = first_occurrences(self.shingles)
        return self._first_occurrences

    def has_repeated_shingle(self) -> bool:
        """Does some shingle occur twice in the text? (Asked once, then known.)"""
        if self._repeats is None:
            self._repeats = self._find_repeated_shingle()
        return self._repeats

    def _find_repeated_shingle(self) -> bool:
        if len(self.shingles) < 2:
            return False
        if self._shingle_order is not None:  # sorted already (a text seeded against others)
            ordered = self._shingle_order[1]
            return bool((ordered[1:] == ordered[:-1]).any())
        first = self._first_occurrences
        if first is not None:  # a shingle whose first occurrence is elsewhere; in blocks:
            step = 1 << 16  # no position array as long as the text
            return any(
                bool((first[lo : lo + step] != np.arange(lo, min(lo + step, len(first)), dtype=first.dtype)).any())
                for lo in range(0, len(first), step)
            )
        ordered = np.sort(self.shingles)  # cheaper than first occurrences, which most texts never need
        return bool((ordered[1:] == ordered[:-1]).any())


class SpanWords:
    """``texts[which[k]].words(first[k], end[k])`` for many spans at once (:meth:`between`,
    float64 arrays), the same values: a sum of weights is a whole number of
    ``WEIGHT_UNIT`` s, exact in any order. The texts' weight units are joined once, for
    all the calls on the same texts."""

    def __init__(self, texts: Sequence[PreparedText]) -> None:
        self.texts = texts
        self._weighed = [i for i, text in enumerate(texts) if not text.tokens.all_words]
        # Each text's units once: a query comes once per source it is aligned against.
        units: dict[int, np.ndarray | None] = {}
        for i in self._weighed:
            if id(texts[i]) not in units:
                units[id(texts[i])] = texts[i].weight_units_before()
        self._long = [i for i in self._weighed if units[id(texts[i])] is None]  # measured one by one
        joined = [key for key, text_units in units.items() if text_units is not None]
        sizes = [len(units[key]) for key in joined]  # type: ignore[arg-type]
        start_of = dict(zip(joined, np.cumsum([0] + sizes).tolist()))
        kept = [i for i in self._weighed if units[id(texts[i])] is not None]
        self._sizes = np.zeros(len(texts), dtype=np.int64)
        self._starts = np.zeros(len(texts), dtype=np.int64)
        self._sizes[kept] = [len(units[id(texts[i])]) for i in kept]  # type: ignore[arg-type]
        self._starts[kept] = [start_of[id(texts[i])] for i in kept]
        self._units = np.concatenate([units[key] for key in joined]) if joined else np.zeros(0, dtype=np.int64)

    def part(self, which: Sequence[int]) -> "SpanWords":
        """The same for the texts ``which`` (indices), numbered from 0 in that order: their
        units as joined here, not joined again (the levels of a verification ask about
        fewer and fewer of the same texts)."""
        part = object.__new__(SpanWords)
        at = {i: k for k, i in enumerate(which)}
        part.texts = [self.texts[i] for i in which]
        part._weighed = [at[i] for i in self._weighed if i in at]
        part._long = [at[i] for i in self._long if i in at]
        part._sizes, part._starts, part._units = self._sizes[which], self._starts[which], self._units
        return part

    def between(self, which: np.ndarray, first: np.ndarray, end: np.ndarray) -> np.ndarray:
        end = np.maximum(end, first)
        out = (end - first).astype(np.float64)  # a token a word
        if not self._weighed:
            return out
        rows = np.flatnonzero(self._sizes[which] > 0)
        base = self._starts[which[rows]]
        out[rows] = (self._units[base + end[rows]] - self._units[base + first[rows]]) * WEIGHT_UNIT
        for i in self._long:  # a long text: its blocks summed now
            for k in np.flatnonzero(which == i).tolist():
                out[k] = self.texts[i].words(int(first[k]), int(end[k]))
        return out


# Texts of up to this many shingles are sorted together (PreparedText.sort_shingles), in
# groups of about _SORTED_TOGETHER shingles.
_SORTED_TOGETHER_LONGEST = 1 << 12
_SORTED_TOGETHER = 1 << 18


def _sort_together(texts: list[PreparedText]) -> None:
    """Give every text of ``texts`` its shingle order, from one
    :func:`dedup.arrays.segment_sort_orders` of all."""
    if len(texts) < 2:
        for text in texts:
            text.shingle_order()
        return
    counts = [len(text.shingles) for text in texts]
    offsets = np.concatenate(([0], np.cumsum(counts)))
    order, ordered = segment_sort_orders(np.concatenate([text.shingles for text in texts]), offsets)
    bounds = offsets.tolist()
    # Copies: a text kept in a cache would otherwise keep all the group's arrays.
    for text, lo, hi in zip(texts, bounds[:-1], bounds[1:]):
        text._shingle_order = (order[lo:hi].copy(), ordered[lo:hi].copy())


def prepare(texts: Sequence[str], ngram: int = DEFAULT_NGRAM, mode: str = DEFAULT_MODE) -> list[PreparedText]:
    """Tokens and shingle hashes of ``texts``, computed in one vectorised pass."""
    tokens = tokenize(texts, mode)
    hashes, offsets = shingles(tokens.hashes, tokens.offsets, ngram)
    return PreparedText.of_batch(texts, tokens, hashes, offsets)


def prepare_alone(text: str, ngram: int = DEFAULT_NGRAM, mode: str = DEFAULT_MODE) -> PreparedText:
    """``text`` prepared to be aligned with itself only, in less memory than ``prepare``.

    Inside one text a token or a shingle is known by the position of its first
    occurrence as well as by its hash: the same equalities, in 4 bytes instead of 8.
    Token hashes are replaced by those positions before the offsets are made
    (``tokenize_identified``), and shingle hashes are computed where the sort needs them,
    never all at once: about 18 bytes per token at the peak instead of 30 with
    ``prepare`` (a Chinese text has a token per 3 bytes). The result aligns with itself
    exactly as ``prepare``'s does; it must not be aligned with other texts.

    >>> from dedup.align import RepeatParams, align
    >>> text = "The same five words here. And again: the same five words here."
    >>> params = RepeatParams(min_length=4, ngram=3)
    >>> align(prepare_alone(text, 3), (), params) == align(prepare([text], 3)[0], (), params)
    True
    >>> [text[r.start : r.end] for r in align(prepare_alone(text, 3), (), params)]
    ['the same five words here.']
    """
    tokens = tokenize_identified(text, mode)  # token hashes replaced by first occurrences
    token_ids = tokens.hashes
    count = max(len(token_ids) - ngram + 1, 1 if len(token_ids) else 0)
    width = min(ngram, len(token_ids))  # a text shorter than ngram has one shingle of all its tokens

    def shingle_hashes_at(positions: np.ndarray) -> np.ndarray:
        # Mixed, the positions hash as well as token hashes do (a bijection: the same
        # equalities), so the shingle hashes are as free of collisions as shingles'.
        hashes = mix64(token_ids[positions])
        for j in range(1, width):
            hashes *= _SHINGLE_COMBINE
            hashes += mix64(token_ids[positions + j])
        return mix64_inplace(hashes)

    # Shingle hashes are made where needed, never all at once (8 bytes a shingle).
    shingle_ids = first_occurrences_of(count, shingle_hashes_at)
    prepared = PreparedText(text, tokens, shingle_ids)
    prepared._first_occurrences = shingle_ids  # the first occurrence of a first occurrence is itself
    return prepared


# Odd multiplier of prepare_alone's running shingle hash.
_SHINGLE_COMBINE = np.uint64(0x9FB21C651E98DF25)
