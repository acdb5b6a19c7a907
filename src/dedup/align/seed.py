"""Stage 1, seed: exact matches of a text against a source, as runs of shared shingles
on one diagonal, with tandem runs (one passage repeated back to back) grouped."""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from .params import RepeatParams
from .prepared import PreparedText


class Runs:
    """Exact matches of the query against one source, in token coordinates, query order.

    Arrays: copy and source start and end of every run, and ``period`` (0 for an
    ordinary run; for a tandem run, the length of the source passage it repeats).
    """

    def __init__(self, copy_start, copy_end, source_start, source_end, period) -> None:
        self.copy_start, self.copy_end = copy_start, copy_end
        self.source_start, self.source_end = source_start, source_end
        self.period = period

    def __len__(self) -> int:
        return len(self.copy_start)


def seed_runs(query: PreparedText, source: PreparedText, same: bool, params: RepeatParams) -> Runs:
    """Runs of seeds (shared shingles) on one diagonal, with tandem runs grouped.

    Every query shingle found in the source points to its first occurrence there (in the
    query itself: its first occurrence, when that is earlier). A run of a single shingle
    is an n-word coincidence more often than copied text (copied text matches for longer
    between two edits): such runs are dropped, which keeps repetitive text linear; the
    extension picks up copied words they would have added. Tandem runs are kept.
    """
    ngram = params.ngram
    count = len(query.shingles)
    if count < (2 if same else 1) or (not same and len(source.shingles) == 0):
        return _empty_runs()
    shortest = ngram + 1 if params.min_length > ngram else 1
    # A run of one shingle is shorter than ``shortest`` when the query has ngram tokens or more.
    drop_single = shortest > 1 and len(query) >= ngram
    anchors = _anchors_within(query) if same else _anchors_in(query, source)
    run_first, run_source, run_length = _exact_runs(count, anchors, drop_single)
    if len(run_first) == 0:
        return _empty_runs()
    # Shingle k of a text covers tokens [k, k + ngram); a text shorter than ngram has one
    # shingle covering all its tokens.
    width_q = min(ngram, len(query))
    width_s = min(ngram, len(source))
    copy_start, source_start = run_first, run_source
    copy_end = run_first + run_length - 1 + width_q
    source_end = run_source + run_length - 1 + width_s
    # Tandem runs: consecutive runs that repeat the same source passage back to back
    # ("S S S", "ha ha ha ...") are one repeat of one copy of the passage.
    if len(run_first) > 1 and (
        joins := _repeats_next(run_first, run_source, run_length)
    ).any():
        _, (copy_start, copy_end, source_start, source_end, period) = _tandem_groups(
            joins, run_first, copy_start, copy_end, source_start, source_end
        )
    else:
        period = np.zeros(len(run_first), dtype=np.int64)
    keep = (period > 0) | (copy_end - copy_start >= shortest)
    arrays = (copy_start, copy_end, source_start, source_end, period)
    if not keep.all():
        arrays = tuple(a[keep] for a in arrays)
    # Token positions fit 32 bits: a repetitive text has millions of runs.
    index_type = np.int32 if max(len(query), len(source)) < 2**31 else np.int64
    return Runs(*(a.astype(index_type, copy=False) for a in arrays))


def seed_runs_many(
    pairs: Sequence[tuple[PreparedText, PreparedText]], params: RepeatParams, *, with_seeds: bool = False
):
    """``[seed_runs(query, source, False, params) for query, source in pairs]``, the same
    runs, faster: the seeds of pairs with short queries are looked up all at once
    (:func:`_anchors_of_pairs`), a long query's on its own (sorted query shingles against
    sorted source shingles, a search that walks both in order), and the runs of all
    pairs are then made at once, with a run never crossing from one pair to the next.
    ``with_seeds``: also each pair's seeds, ``(query positions, source positions)`` (every
    query shingle found in the source, at its first occurrence there), or None for a
    pair seeded in blocks (a long text); returns ``(runs, seeds)``.

    A pair of a few hundred shingles costs about 45 us seeded alone, of which the look-up
    is a fifth; the rest is a few dozen NumPy calls on short arrays, which here are made
    once for all the pairs of a round of :func:`dedup.align.engine.align_many`.
    """
    ngram = params.ngram
    shortest = ngram + 1 if params.min_length > ngram else 1
    out: list[Runs | None] = [None] * len(pairs)
    seeds: list[tuple[np.ndarray, np.ndarray] | None] = [None] * len(pairs)
    seeded, anchor_parts, position_parts = [], [], []
    PreparedText.sort_shingles([text for pair in pairs for text in pair if len(pair[0].shingles) <= _SEED_BLOCK])
    looked_up = []
    for k, (query, source) in enumerate(pairs):
        count = len(query.shingles)
        if count > _SEED_BLOCK or max(len(query), len(source)) >= 2**31:
            out[k] = seed_runs(query, source, False, params)  # long texts: in blocks, as alone
        elif count == 0 or len(source.shingles) == 0:
            out[k] = _empty_runs()
            seeds[k] = _NO_SEEDS
        else:
            looked_up.append(k)
    for k, (anchors, positions) in zip(looked_up, _anchors_of_pairs([pairs[k] for k in looked_up])):
        seeds[k] = anchors, positions
        if len(anchors) == 0:
            out[k] = _empty_runs()
            continue
        seeded.append(k)
        anchor_parts.append(anchors)
        position_parts.append(positions)
    if seeded:
        for k, runs in zip(seeded, _runs_of_pairs(pairs, seeded, anchor_parts, position_parts, ngram, shortest)):
            out[k] = runs
    return (out, seeds) if with_seeds else out


_NO_SEEDS = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))


def _anchors_of_pairs(pairs: list[tuple[PreparedText, PreparedText]]) -> list[tuple[np.ndarray, np.ndarray]]:
    """``_sorted_anchors`` of every pair, looked up together: each source's sorted
    shingles (a segment of one array, numbered), the sources' segments in one sorted
    array of keys ``(segment, hash >> bits)``, and every query's sorted shingles searched
    in it at once (in segment order: the searches walk the array in order). A pair of a
    few dozen shingles costs a few microseconds so instead of a dozen NumPy calls.

    A key keeps the hash's top ``64 - bits`` bits, with the segment's number in the
    others: hashes that differ only in the low bits would share a key; a source in which
    two do (about one in 10**9) is looked up pair by pair, as ``_sorted_anchors``."""
    short = [k for k, (query, _) in enumerate(pairs) if len(query.shingles) <= _TOGETHER_MOST]
    if len(short) < len(pairs):  # long queries (a news article): alone, where a search stays in cache
        together = dict(zip(short, _anchors_of_pairs([pairs[k] for k in short])))
        return [together[k] if k in together else _sorted_anchors(*pair) for k, pair in enumerate(pairs)]
    if len(pairs) < 2:
        return [_sorted_anchors(query, source) for query, source in pairs]
    sources: dict[int, PreparedText] = {}
    for _, source in pairs:
        sources.setdefault(id(source), source)
    number = {key: k for k, key in enumerate(sources)}
    bits = len(sources).bit_length()
    low, high = np.uint64(bits), np.uint64(64 - bits)
    orders = [source.shingle_order() for source in sources.values()]
    counts = np.array([len(ordered) for _, ordered in orders], dtype=np.int64)
    hashes = np.concatenate([ordered for _, ordered in orders])
    places = np.concatenate([order for order, _ in orders])
    keys = np.repeat(np.arange(len(orders), dtype=np.uint64), counts) << high
    keys |= hashes >> low
    clash = np.flatnonzero((keys[1:] == keys[:-1]) & (hashes[1:] != hashes[:-1]))
    clashing = set(np.repeat(np.arange(len(orders)), counts)[clash].tolist())
    # The queries' sorted shingles by segment (then as given): the keys they search for ascend.
    segment_of = [number[id(source)] for _, source in pairs]
    by_segment = sorted(range(len(pairs)), key=segment_of.__getitem__)
    query_orders = [pairs[k][0].shingle_order() for k in by_segment]
    sizes = np.array([len(ordered) for _, ordered in query_orders], dtype=np.int64)
    wanted = np.concatenate([ordered for _, ordered in query_orders])
    needles = np.repeat(np.array([segment_of[k] for k in by_segment], dtype=np.uint64), sizes) << high
    needles |= wanted >> low
    slot = np.searchsorted(keys, needles)
    np.minimum(slot, len(keys) - 1, out=slot)
    found = np.flatnonzero((keys[slot] == needles) & (hashes[slot] == wanted))
    # Each pair's found shingles at their query positions, in pair order, then position
    # order: a place per query shingle (-1: not found), read off in order.
    shingle_counts = np.array([len(query.shingles) for query, _ in pairs], dtype=np.int64)
    starts = np.cumsum(shingle_counts) - shingle_counts
    at = np.repeat(starts[by_segment], sizes)[found] + np.concatenate([order for order, _ in query_orders])[found]
    first_place = np.full(int(shingle_counts.sum()), -1, dtype=np.int64)
    first_place[at] = places[slot[found]]
    anchored = np.flatnonzero(first_place >= 0)
    bounds = np.searchsorted(anchored, np.append(starts, len(first_place))).tolist()
    out = []
    for k, (query, source) in enumerate(pairs):
        if segment_of[k] in clashing:
            out.append(_sorted_anchors(query, source))
            continue
        mine = anchored[bounds[k] : bounds[k + 1]]
        out.append((mine - starts[k], first_place[mine]))
    return out


# Pairs whose query has up to this many shingles are looked up together: longer ones cost
# more together (their searches leave the cache) than their calls cost alone.
_TOGETHER_MOST = 256


def _sorted_anchors(query: PreparedText, source: PreparedText) -> tuple[np.ndarray, np.ndarray]:
    """The seeds of ``query`` in ``source``, as ``_anchors_in`` finds them (query positions
    in order, first occurrences in the source), from both texts' sorted shingles: a query
    is aligned against several sources, and searching sorted values in order touches the
    source's memory in order too."""
    order, ordered = source.shingle_order()
    query_order, query_sorted = query.shingle_order()
    slot = np.searchsorted(ordered, query_sorted)
    np.minimum(slot, len(ordered) - 1, out=slot)
    found = np.flatnonzero(ordered[slot] == query_sorted)
    anchors = query_order[found]
    by_position = np.argsort(anchors)
    return anchors[by_position], order[slot[found[by_position]]]


def _runs_of_pairs(pairs, seeded: list[int], anchor_parts, position_parts, ngram: int, shortest: int) -> list[Runs]:
    """The runs of the pairs ``seeded`` (indices into ``pairs``) from their seeds, as
    :func:`seed_runs` makes them pair by pair."""
    query_tokens = np.array([len(pairs[k][0]) for k in seeded], dtype=np.int64)
    source_tokens = np.array([len(pairs[k][1]) for k in seeded], dtype=np.int64)
    seeds = np.array([len(part) for part in anchor_parts], dtype=np.int64)
    anchors = np.concatenate(anchor_parts).astype(np.int64, copy=False)
    positions = np.concatenate(position_parts).astype(np.int64, copy=False)
    pair = np.repeat(np.arange(len(seeded), dtype=np.int64), seeds)
    # A seed starts a run unless both its positions follow those of the seed before, in
    # the same pair.
    starts = np.ones(len(anchors), dtype=bool)
    starts[1:] = (anchors[1:] - anchors[:-1] != 1) | (positions[1:] - positions[:-1] != 1) | (pair[1:] != pair[:-1])
    first = np.flatnonzero(starts)
    length = np.diff(np.append(first, len(anchors)))
    run_first, run_source, run_pair = anchors[first], positions[first], pair[first]
    if shortest > 1:
        # A run of one seed stays when it joins the run before or after into a tandem
        # run, or when its query is shorter than ngram (see seed_runs).
        joins_next = _repeats_next(run_first, run_source, length) & (run_pair[1:] == run_pair[:-1])
        keep = (length > 1) | (query_tokens < ngram)[run_pair]
        keep[:-1] |= joins_next
        keep[1:] |= joins_next
        run_first, run_source, length, run_pair = run_first[keep], run_source[keep], length[keep], run_pair[keep]
    had_runs = np.bincount(run_pair, minlength=len(seeded)) > 0
    copy_start, source_start = run_first, run_source
    copy_end = run_first + length - 1 + np.minimum(ngram, query_tokens)[run_pair]
    source_end = run_source + length - 1 + np.minimum(ngram, source_tokens)[run_pair]
    # Tandem runs, as in seed_runs, never across two pairs.
    joins = _repeats_next(run_first, run_source, length) & (run_pair[1:] == run_pair[:-1])
    if joins.any():
        group_starts, (copy_start, copy_end, source_start, source_end, period) = _tandem_groups(
            joins, run_first, copy_start, copy_end, source_start, source_end
        )
        run_pair = run_pair[group_starts]
    else:
        period = np.zeros(len(run_first), dtype=np.int64)
    keep = (period > 0) | (copy_end - copy_start >= shortest)
    arrays = [a[keep].astype(np.int32) for a in (copy_start, copy_end, source_start, source_end, period)]
    bounds = np.searchsorted(run_pair[keep], np.arange(len(seeded) + 1)).tolist()
    return [
        Runs(*(a[lo:hi] for a in arrays)) if had else _empty_runs()
        for lo, hi, had in zip(bounds[:-1], bounds[1:], had_runs.tolist())
    ]


def _repeats_next(run_first, run_source, length) -> np.ndarray:
    """For each run but the last: does the next run repeat its source passage right
    after it (the two join into a tandem run)?"""
    return (run_first[1:] == run_first[:-1] + length[:-1]) & (run_source[1:] == run_source[:-1])


def _tandem_groups(joins, run_first, copy_start, copy_end, source_start, source_end):
    """Runs grouped into tandem runs where ``joins`` says so (run ``i + 1`` repeats run
    ``i``'s source passage right after it): a group's copy goes from its first run's
    start to its last run's end, its source is one copy of the passage. Returns the
    first run of every group and ``(copy_start, copy_end, source_start, source_end,
    period)`` per group (``period`` 0 for a run alone)."""
    group_starts = np.flatnonzero(np.r_[True, ~joins])
    group_ends = np.r_[group_starts[1:], len(run_first)] - 1
    tandem = group_ends > group_starts
    period = np.where(tandem, run_first[np.minimum(group_starts + 1, len(run_first) - 1)] - run_first[group_starts], 0)
    source_start = source_start[group_starts]
    source_end = np.where(tandem, source_start + period, source_end[group_starts])
    return group_starts, (copy_start[group_starts], copy_end[group_ends], source_start, source_end, period)


# Seeds are found in blocks of this many query shingles: their temporaries stay small.
_SEED_BLOCK = 1 << 16


def _anchors_within(query: PreparedText) -> Callable[[int, int], tuple[np.ndarray, np.ndarray]]:
    """Seeds of query shingles ``lo .. hi`` in the query's earlier part: (query positions,
    positions of their first occurrences)."""
    first = query.first_occurrences()

    def anchors(lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        block = first[lo:hi]
        found = np.flatnonzero(block < np.arange(lo, lo + len(block), dtype=block.dtype))
        return found + lo, block[found]

    return anchors


def _anchors_in(query: PreparedText, source: PreparedText) -> Callable[[int, int], tuple[np.ndarray, np.ndarray]]:
    """Seeds of query shingles ``lo .. hi`` in another text: (query positions, positions
    of the first occurrences in the source)."""
    order, ordered = source.shingle_order()

    def anchors(lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        q = query.shingles[lo:hi]
        slot = np.minimum(np.searchsorted(ordered, q), len(ordered) - 1)
        found = np.flatnonzero(ordered[slot] == q)
        return found + lo, order[slot[found]]

    return anchors


def _exact_runs(count: int, anchors_of: Callable[[int, int], tuple[np.ndarray, np.ndarray]], drop_single: bool):
    """(first query position, first source position, length in shingles) of every run of
    seeds on one diagonal, found block by block.

    With ``drop_single``, runs of one shingle are dropped as they are found, unless they
    join the run before or after into a tandem run (see ``seed_runs``): text with few
    distinct words has millions of chance 5-gram repeats, and a run costs about 50 bytes
    until ``seed_runs`` filters it.
    """
    if count <= _SEED_BLOCK:  # one block (most texts): its seeds at once
        return _runs_of(*anchors_of(0, count), drop_single)
    index_type = np.int32 if count < 2**31 else np.int64
    kept: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    seen = 0  # seeds before this block
    previous = None  # (position, diagonal) of the last seed of the blocks before
    open_run = None  # (first, source, index of its first seed) of the run that may go on
    handed = None  # (first, source, length) of the last complete run, dropped or not

    def hand_out(first, source, length, next_first, next_source) -> None:
        nonlocal handed
        if drop_single:
            joins_next = (next_first == first + length) & (next_source == source)
            joins_previous = np.empty(len(first), dtype=bool)
            joins_previous[1:] = joins_next[:-1]
            joins_previous[0] = handed is not None and first[0] == handed[0] + handed[2] and source[0] == handed[1]
            handed = (int(first[-1]), int(source[-1]), int(length[-1]))
            keep = (length > 1) | joins_previous | joins_next
            first, source, length = first[keep], source[keep], length[keep]
        kept.append((first.astype(index_type), source.astype(index_type), length.astype(index_type)))

    for lo in range(0, count, _SEED_BLOCK):
        anchors, positions = anchors_of(lo, min(lo + _SEED_BLOCK, count))
        if len(anchors) == 0:
            continue
        diagonals = anchors - positions
        starts_run = np.empty(len(anchors), dtype=bool)
        starts_run[0] = previous is None or anchors[0] != previous[0] + 1 or diagonals[0] != previous[1]
        starts_run[1:] = (np.diff(anchors) != 1) | (np.diff(diagonals) != 0)
        where = np.flatnonzero(starts_run)
        first, source, start = anchors[where], positions[where].astype(np.int64), where + seen
        if open_run is not None:  # it ends where this block's first run starts (or goes on)
            first = np.r_[open_run[0], first]
            source = np.r_[open_run[1], source]
            start = np.r_[open_run[2], start]
        if len(first) > 1:  # every run but the last is complete
            hand_out(first[:-1], source[:-1], np.diff(start), first[1:], source[1:])
        open_run = (int(first[-1]), int(source[-1]), int(start[-1]))
        seen += len(anchors)
        previous = (int(anchors[-1]), int(diagonals[-1]))
    if open_run is not None:
        no_next = np.array([-1], dtype=np.int64)
        hand_out(np.array([open_run[0]]), np.array([open_run[1]]), np.array([seen - open_run[2]]), no_next, no_next)
    if not kept:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    if len(kept) == 1:
        return kept[0]
    return tuple(np.concatenate(parts) for parts in zip(*kept))


def _runs_of(anchors: np.ndarray, positions: np.ndarray, drop_single: bool):
    """``_exact_runs`` of seeds found all at once (query positions ``anchors``, source
    positions ``positions``)."""
    if len(anchors) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    # A seed starts a run unless both its positions follow those of the seed before.
    # (Slices, not np.diff and np.concatenate: these arrays are short, and called per pair.)
    breaks = np.flatnonzero((anchors[1:] - anchors[:-1] != 1) | (positions[1:] - positions[:-1] != 1))
    first = np.empty(len(breaks) + 1, dtype=np.int64)
    first[0] = 0
    np.add(breaks, 1, out=first[1:])
    length = np.empty_like(first)
    np.subtract(first[1:], first[:-1], out=length[:-1])
    length[-1] = len(anchors) - first[-1]
    run_first, run_source = anchors[first], positions[first]
    if drop_single:
        # A run of one seed stays when it joins the run before or after into a tandem run.
        joins_next = _repeats_next(run_first, run_source, length)
        keep = length > 1
        keep[:-1] |= joins_next
        keep[1:] |= joins_next
        run_first, run_source, length = run_first[keep], run_source[keep], length[keep]
    return run_first, run_source, length


def _empty_runs() -> Runs:
    empty = np.zeros(0, dtype=np.int64)
    return Runs(empty, empty, empty, empty, empty)
