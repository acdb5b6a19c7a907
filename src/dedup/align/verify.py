"""Stage 4, verify: a chain extended, snapped to sentences and checked (matched words,
containment); a chain that fails is split at its widest gap and its parts tried."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Generator

import numpy as np

from ..arrays import expand_ranges, run_bounds, sorted_distinct
from .chain import without_weak_ends
from .extend import REJECTED, ChainEdges, Extensions, PairsEdgeRequest, TextPool, extend_requests
from .params import RepeatParams
from .prepared import PreparedText, SpanWords
from .seed import Runs


# Words of a passage taken into another text that may spill into the next sentence and
# still be cut off as a coincidence (an "in de", a "the"): a passage taken across texts
# often starts or ends mid-sentence, so a longer spill is copied text.
SPILL_ACROSS = 2


@dataclass(slots=True)
class Alignment:
    """A verified alignment in token coordinates: copy [copy_start, copy_end) of the query
    repeats [source_start, source_end) of source ``source`` (None: the query itself)."""

    copy_start: int
    copy_end: int
    source_start: int
    source_end: int
    similarity: float
    matched: float  # words (see PreparedText.words)
    source: int | None


def verified_wave(wave, runs, query, source, index, params) -> Generator:
    """The chains of a wave verified and, level by level, the parts of those that fail: a
    chain that fails as a whole (bridged over a long dropped or changed stretch) may hold
    repeats on either side of its widest gap. The edge extensions of each level are
    asked for together (steps, see :mod:`dedup.align.engine`). Returns per level: (span or
    None per chain, index of its first part in the next level or -1)."""
    levels = []
    level = wave
    # One table for all levels (across texts the first level's answers go to its chains
    # directly instead: most of them end there). Across texts an edge's rooms depend on
    # the edge alone, so the first parts ask for the edges of all their runs at once
    # (``inner_edges``), the edges of every level below: a few failing chains split deep
    # no longer cost a step (a small extension) a level. (Asking so for the first
    # level's chains costs more: most of them verify whole.)
    extend = Extensions(query, source, params)
    while level:
        # The first level's chains across texts: those too short whatever their edges
        # match are not extended (their moves say REJECTED).
        words = [matched_words(chain, runs, query) for chain in level] if index is not None and not levels else None
        moves = yield from extend.prepare(level, runs, index is None, inner_edges=bool(levels), words=words)
        found = [
            verified_chain(
                chain, runs, query, source, index, params, extend, None if moves is None else moves[k],
                None if words is None else words[k],
            )
            for k, chain in enumerate(level)
        ]
        parts, level = split_failing(found, level, runs, query, source, params)
        levels.append((found, parts))
    return levels


def verified_waves(
    pairs: list[tuple[PreparedText, PreparedText]], runs: list[Runs], waves: list[list[list[int]]], index: int,
    params: RepeatParams, seeds: list | None = None,
) -> list[list[tuple[list, list[int]]]]:
    """:func:`verified_wave` (its levels) of a wave of chains of each of many pairs across
    texts (``waves[p]``: chains of ``pairs[p]``, whose runs are ``runs[p]``), without
    steps: each level of all pairs is verified together (:func:`verified_chains`).
    ``seeds``: per pair, its seeds (``seed_runs_many(with_seeds=True)``) or None."""
    levels: list[list[tuple[list, list[int]]]] = [[] for _ in pairs]
    level = {p: chains for p, chains in enumerate(waves) if chains}  # by pair: its chains at this level
    known = RunEdgeMoves(runs)  # the moves of the edges the pairs' parts may have
    span_words = SpanWords([query for query, _ in pairs])
    places = {p: None if seeds is None or seeds[p] is None else shingle_places(*pairs[p], seeds[p]) for p in level}
    whole, first_parts = True, False
    while level:
        active = list(level)
        found, splitting = verified_chains(
            [pairs[p] for p in active], [runs[p] for p in active], [level[p] for p in active], index, params,
            known.of_pairs(active), whole, [places[p] for p in active], inner_edges=first_parts,
            span_words=span_words.part(active),
        )
        first_parts, whole = whole, False
        next_levels = {}
        for p, spans, split in zip(active, found, splitting.tolist()):
            if not split:  # no chain of the pair to split (most pairs, most chains a run alone)
                levels[p].append((spans, [-1] * len(spans)))
                continue
            parts, next_level = split_failing(spans, level[p], runs[p], *pairs[p], params)
            levels[p].append((spans, parts))
            next_levels[p] = next_level
        level = next_levels
    return levels


def split_failing(found, chains, runs: Runs, query, source, params: RepeatParams) -> tuple[list[int], list[list[int]]]:
    """The parts of ``chains`` that failed (``found``: span or None each) and hold more than
    one run: each split at its widest gap, its two parts without weak ends. Returns (per
    chain, the index of its first part in the next level or -1; the next level)."""
    next_level: list[list[int]] = []
    parts = []
    for span, chain in zip(found, chains):
        if span is None and len(chain) > 1:
            gaps = [
                max(runs.copy_start[b] - runs.copy_end[a], runs.source_start[b] - runs.source_end[a])
                for a, b in zip(chain, chain[1:])
            ]
            cut = gaps.index(max(gaps)) + 1  # the first widest (as np.argmax, without an array)
            parts.append(len(next_level))
            next_level += [
                without_weak_ends(part, runs, params.ngram, query, source) for part in (chain[:cut], chain[cut:])
            ]
        else:
            parts.append(-1)
    return parts, next_level


def verified_chain(
    chain: list[int],
    runs: Runs,
    query: PreparedText,
    source: PreparedText,
    index: int | None,
    params: RepeatParams,
    extend: "Extensions | None",
    moves: list[int] | None = None,
    runs_words: float | None = None,
) -> Alignment | None:
    """The chain (runs by index) as a verified span (extended with ``extend``, an
    :class:`Extensions`, or by ``moves``, its two edges' answers when known already, as
    ``extend`` would give them, end to end (six ints): then ``extend`` may be None;
    snapped; checked), or None. ``runs_words``: the words of the chain's runs
    (``matched_words``) when counted already."""
    n = params.ngram
    same = index is None
    first, last = chain[0], chain[-1]
    copy_start, copy_end = int(runs.copy_start[first]), int(runs.copy_end[last])
    source_start, source_end = int(runs.source_start[first]), int(runs.source_end[last])
    period = int(runs.period[first])
    if period:
        # A tandem run: copies of one passage back to back. When the text before the
        # first copy ends like the passage does, the run starts up to a few words early
        # and reaches past whole copies by as many: its copies start where a sentence does.
        # Likewise, when the text after the last copy starts like the passage, the run
        # spills a few words into it: whole copies end where a sentence does.
        slack = (copy_end - copy_start) % period
        shift = next((r for r in range(slack + 1) if query.boundaries(copy_start + r)), 0)
        whole_copies_end = copy_end - slack + shift
        if shift or query.boundaries(whole_copies_end):
            copy_start, source_start = copy_start + shift, source_start + shift
            copy_end, source_end = whole_copies_end, source_end + shift
        # Its similarity is that of one copy (with the words it shares with the next)
        # against the passage.
        matched = query.words(copy_start, copy_end)
        if matched < params.min_length:
            return None
        width = min(period + n - 1, copy_end - copy_start)
        similarity = containment(query, (copy_start, copy_start + width), source, (source_start, source_start + width), n)
        if similarity < params.threshold:
            return None
        return Alignment(copy_start, copy_end, source_start, source_end, similarity, matched, index)

    if moves is not None and moves[2] == REJECTED:
        return None  # too short whatever its edges match (what the checks below find)
    matched = matched_words(chain, runs, query) if runs_words is None else runs_words
    # Gapped extension at both edges. Inside one text the copy stays after its source.
    left_copy_limit = source_end if same else 0
    edge = copy_start
    if moves is None:
        copy_start, source_start, extra = extend(copy_start, source_start, -1, copy_start - left_copy_limit, source_start)
    else:
        copy_start, source_start, extra = moves[0], moves[1], moves[2]
    matched += _share_in_words(query, copy_start, edge, extra)
    right_source_limit = copy_start if same else len(source)
    edge = copy_end
    if moves is None:
        copy_end, source_end, extra = extend(
            copy_end, source_end, +1, len(query) - copy_end, max(right_source_limit - source_end, 0)
        )
    else:
        copy_end, source_end, extra = moves[3], moves[4], moves[5]
    matched += _share_in_words(query, edge, copy_end, extra)
    if same and source_end > copy_start:
        # The source runs into the copy: shingles straddling the end of one copy and the
        # start of the next (text + copy + copy) match the junction text + copy. The
        # words past the overlap belong to the next passage, not to this repeat.
        overlap = source_end - copy_start
        matched -= query.words(copy_end - overlap, copy_end)
        copy_end -= overlap
        source_end = copy_start
        if copy_end <= copy_start:
            return None
    if matched < params.min_length:
        return None  # snapping only takes words away (most chains across texts end here)
    # Inside one text copies are re-pasted bodies that end where sentences end; a passage
    # taken into another text often starts or ends mid-sentence (see SPILL_ACROSS).
    spill = n - 1 if same else min(SPILL_ACROSS, n - 1)
    copy_start, copy_end, source_start, source_end = _snap_to_sentences(
        query.boundaries, source.boundaries, (copy_start, copy_end), (source_start, source_end), spill
    )
    matched = min(matched, query.words(copy_start, copy_end))
    if matched < params.min_length:
        return None
    span = (copy_start, copy_end, source_start, source_end)
    if first == last and copy_end - copy_start >= n and span == _run_bounds(runs, first):
        # The span is one exact run: every shingle of the copy equals the source's at the
        # same offset, so all of them are found there.
        similarity = 1.0
    else:
        similarity = containment(query, (copy_start, copy_end), source, (source_start, source_end), n)
    if similarity < params.threshold:
        return None
    if same:
        # The tail an update added matches nothing by definition; it goes with the copy
        # only when the copy with it still verifies (a short tail of a long copy).
        widened = _absorb_update_tail(
            query.boundaries.line_break_before, (copy_start, copy_end), (source_start, source_end), params.max_gap
        )
        if widened > copy_end:
            with_tail = containment(query, (copy_start, widened), source, (source_start, source_end), n)
            if with_tail >= params.threshold:
                copy_end, similarity = widened, with_tail
    return Alignment(copy_start, copy_end, source_start, source_end, similarity, matched, index)


def verified_chains(
    pairs: list[tuple[PreparedText, PreparedText]],
    runs: list[Runs],
    chains: list[list[list[int]]],
    index: int,
    params: RepeatParams,
    known: "RunEdgeMoves | None" = None,
    whole: bool = True,
    places: list[np.ndarray | None] | None = None,
    inner_edges: bool = False,
    span_words: SpanWords | None = None,
) -> tuple[list[list[Alignment | None]], np.ndarray]:
    """:func:`verified_chain` of every chain of many pairs across texts (``chains[p]``:
    the chains of ``pairs[p]``, whose runs are ``runs[p]``; each pair's spans named as
    source ``index``), the chains of all pairs together: the edges of all in one
    extension (``extend_requests``), and the checks of :func:`verified_chain` on arrays,
    one NumPy step each for all chains instead of some fifty Python steps a chain. The
    same spans as ``verified_chain`` chain by chain (``tests/test_repeats_batched.py``
    compares them). Tandem runs, rare across texts, are verified one by one.

    ``known``: the moves of the run edges extended before (:class:`RunEdgeMoves`, for
    these pairs: :meth:`RunEdgeMoves.of_pairs`). With ``whole`` (a first level), each
    chain's two edges are extended, a chain
    too short whatever its edges match left unextended (see ``ChainEdges``), and the
    edges of the chains that fail and will be split are entered in ``known``; without,
    only the edges not in ``known`` are extended (and entered), and with ``inner_edges``
    (the first parts of failed chains) the edges of every run of a pair's chains too:
    all the edges the parts below can have, which then need no extension of their own.
    ``places``: per pair, its :func:`shingle_places` (or None), with which its spans'
    containment is measured for all chains at once (see :func:`containments`).
    ``span_words``: the queries' :class:`SpanWords`, when made already.

    Returns the spans (per pair, per chain: an ``Alignment`` or None) and, per pair,
    whether a chain of more than one run failed (:func:`split_failing` has parts to make)."""
    out: list[list[Alignment | None]] = [[None] * len(pair_chains) for pair_chains in chains]
    run_counts = [len(pair_runs) for pair_runs in runs]
    run_offsets = np.cumsum([0] + run_counts)
    # A tandem run is a chain alone, verified one by one; pairs without one (nearly all
    # across texts) hand over their chains whole.
    tandem = np.concatenate([pair_runs.period for pair_runs in runs]) != 0
    with_tandem = np.bincount(np.repeat(np.arange(len(runs)), run_counts)[tandem], minlength=len(runs)) > 0
    plain_pair, plain_chain, plain_runs = [], [], []
    for p, ((query, source), pair_runs, pair_chains) in enumerate(zip(pairs, runs, chains)):
        if not with_tandem[p]:
            plain_pair += [p] * len(pair_chains)
            plain_chain += range(len(pair_chains))
            plain_runs += pair_chains
            continue
        for k, chain in enumerate(pair_chains):
            if pair_runs.period[chain[0]]:
                out[p][k] = verified_chain(chain, pair_runs, query, source, index, params, None)
                continue
            plain_pair.append(p)
            plain_chain.append(k)
            plain_runs.append(chain)
    if not plain_pair:
        return out, np.zeros(len(pairs), dtype=bool)  # tandem runs alone: no chain to split
    pair = np.array(plain_pair, dtype=np.int64)
    counts = np.bincount(pair, minlength=len(pairs))
    joined = [
        np.concatenate([getattr(pair_runs, field) for pair_runs in runs]).astype(np.int64, copy=False)
        for field in ("copy_start", "copy_end", "source_start", "source_end")
    ]
    # Every chain's runs end to end, numbered across pairs.
    sizes = np.fromiter(map(len, plain_runs), dtype=np.int64, count=len(plain_runs))
    chain_of_run = np.repeat(np.arange(len(sizes)), sizes)
    run_at = np.fromiter(itertools.chain.from_iterable(plain_runs), dtype=np.int64, count=int(sizes.sum()))
    run_at += run_offsets[pair][chain_of_run]
    ends = np.cumsum(sizes)
    first, last = run_at[ends - sizes], run_at[ends - 1]
    copy_start, source_start = joined[0][first], joined[2][first]
    copy_end, source_end = joined[1][last], joined[3][last]
    if span_words is None:
        span_words = SpanWords([query for query, _ in pairs])
    words = _chain_words(span_words, pair, plain_runs, chain_of_run, joined[0][run_at], joined[1][run_at])
    lengths = np.array([(len(query), len(source)) for query, source in pairs], dtype=np.int64).reshape(-1, 2)
    if whole:
        moves = _chain_edges_moves(
            pairs, lengths, counts, copy_start, source_start, copy_end, source_end, words, params
        )
    else:
        # The runs whose edges are asked: each chain's first (its left edge) and last (its
        # right edge), and with inner_edges every run of the pairs' plain chains.
        asked = [first, last] if not inner_edges else [np.concatenate((first, run_at))] * 2
        moves = _table_moves(pairs, lengths, joined, run_offsets, asked, (first, last), known, params)
    left_copy, left_source, left_extra, right_copy, right_source, right_extra = moves

    # verified_chain's checks across texts, step by step on all chains.
    live = left_extra != REJECTED
    matched = words + _shares_in_words(span_words, pair, left_copy, copy_start, left_extra)
    matched = matched + _shares_in_words(span_words, pair, copy_end, right_copy, right_extra)
    live &= matched >= params.min_length
    # The chains still standing (most across texts end above): snapped, measured.
    standing = np.flatnonzero(live)
    at_pair, matched = pair[standing], matched[standing]
    spans = _snapped(pairs, at_pair, left_copy[standing], right_copy[standing], left_source[standing],
                     right_source[standing], min(SPILL_ACROSS, params.ngram - 1))
    new_copy_start, new_copy_end, new_source_start, new_source_end = spans
    matched = np.minimum(matched, span_words.between(at_pair, new_copy_start, new_copy_end))
    found = np.flatnonzero(matched >= params.min_length)  # among the standing
    one_run = (
        (first == last)[standing] & (new_copy_end - new_copy_start >= params.ngram)
        & (new_copy_start == copy_start[standing]) & (new_copy_end == copy_end[standing])
        & (new_source_start == source_start[standing]) & (new_source_end == source_end[standing])
    )
    similarity = np.ones(len(found), dtype=np.float64)  # an exact run's
    measured = np.flatnonzero(~one_run[found])
    at = found[measured]
    similarity[measured] = containments(
        pairs, places, at_pair[at], new_copy_start[at], new_copy_end[at], new_source_start[at], new_source_end[at],
        params.ngram,
    )
    rows = zip(*(values[found].tolist() for values in (at_pair, new_copy_start, new_copy_end, new_source_start,
                                                       new_source_end, matched)), similarity.tolist())
    chain_of = [plain_chain[k] for k in standing[found].tolist()]
    for k, (p, start, end, from_start, from_end, words_matched, chain_similarity) in zip(chain_of, rows):
        if chain_similarity >= params.threshold:
            out[p][k] = Alignment(start, end, from_start, from_end, chain_similarity, words_matched, index)
    spanless = np.ones(len(pair), dtype=bool)
    spanless[standing[found[similarity >= params.threshold]]] = False
    splitting = np.bincount(pair[spanless & (sizes > 1)], minlength=len(pairs)) > 0
    if whole and known is not None:
        # The parts of a chain that fails keep its outer edges: their moves are kept
        # (not those of a chain left unextended, whose moves are no extension).
        split = np.flatnonzero(spanless & (sizes > 1) & (left_extra != REJECTED))
        known.enter(0, run_offsets, first[split], np.stack([column[split] for column in moves[:3]], axis=1))
        known.enter(1, run_offsets, last[split], np.stack([column[split] for column in moves[3:]], axis=1))
    return out, splitting


def shingle_places(
    query: PreparedText, source: PreparedText, seeds: tuple[np.ndarray, np.ndarray]
) -> np.ndarray:
    """For every query shingle, its first place in the source (-1: none), from the pair's
    seeds (query positions, first occurrences in the source)."""
    anchors, positions = seeds
    places = np.full(len(query.shingles), -1, dtype=np.int64)
    places[anchors] = positions
    return places


def containments(pairs, places, pair, copy_start, copy_end, source_start, source_end, n: int) -> np.ndarray:
    """:func:`containment` of many spans (span k of ``pairs[pair[k]]``), as float64.

    The spans of a pair with ``places`` (:func:`shingle_places`) are measured together, in
    a few NumPy steps over their shingles, instead of two sorts and a search a span: a
    copy's shingle is found when its first place in the source lies inside the source
    span, or, in a source that says it twice, when a later one does
    (:meth:`PreparedText.occurrence_keys`, one search for all); in a copy that says a
    shingle twice it counts once, where it is first met in the span
    (:meth:`PreparedText.previous_occurrences`). The others are measured one by one."""
    out = np.empty(len(pair), dtype=np.float64)
    if places is None:
        places = [None] * len(pairs)
    have = np.array([found is not None for found in places], dtype=bool)[pair]
    # Copies of whole shingles (a shorter one compares its words). A source span shorter
    # than a shingle holds no place of one: nothing is found, as containment() finds none
    # of the copy's shingles among its words.
    fast = have & (copy_end - copy_start >= n)
    for k in np.flatnonzero(~fast).tolist():
        query, source = pairs[pair[k]]
        copy, source_span = (int(copy_start[k]), int(copy_end[k])), (int(source_start[k]), int(source_end[k]))
        out[k] = containment(query, copy, source, source_span, n)
    spans = np.flatnonzero(fast)
    if not len(spans):
        return out
    # The places of the pairs measured here, end to end (a level has many pairs, and
    # spans found in few of them).
    measured = sorted_distinct(pair[spans]).tolist()
    offsets = np.zeros(len(pairs) + 1, dtype=np.int64)
    offsets[measured] = [len(places[p]) for p in measured]
    offsets = np.cumsum(offsets) - offsets
    shingles = copy_end[spans] - copy_start[spans] - n + 1
    owner, position = expand_ranges(offsets[pair[spans]] + copy_start[spans], shingles)
    of_pair = pair[spans][owner]
    place = np.concatenate([places[p] for p in measured])[position]
    lowest, limit = source_start[spans][owner], (source_end[spans] - n + 1)[owner]
    found = (place >= lowest) & (place < limit)
    distinct = np.ones(len(position), dtype=bool)
    query_repeats, source_repeats = np.zeros((2, len(pairs)), dtype=bool)
    query_repeats[measured] = [pairs[p][0].has_repeated_shingle() for p in measured]
    source_repeats[measured] = [pairs[p][1].has_repeated_shingle() for p in measured]
    # Where the copy says a shingle again, the entry counts only when the shingle is not
    # met before it in the span; where a first place in a source that says the shingle
    # again lies before the span, a later one may lie inside it (one after it: none).
    again = np.flatnonzero(query_repeats[of_pair])
    later = np.flatnonzero(source_repeats[of_pair] & (place >= 0) & (place < lowest))
    for p, on_pair in _grouped(again, of_pair):
        at = position[on_pair] - offsets[p]  # query shingle positions
        distinct[on_pair] = pairs[p][0].previous_occurrences()[at] < copy_start[spans][owner[on_pair]]
    for p, on_pair in _grouped(later, of_pair):
        group, keys = pairs[p][1].occurrence_keys()
        base = group[place[on_pair]] * len(keys)
        slot = np.searchsorted(keys, base + lowest[on_pair])
        inside = slot < len(keys)
        found[on_pair[inside]] = keys[slot[inside]] - base[inside] < limit[on_pair[inside]]
    counted = np.bincount(owner[distinct], minlength=len(spans))
    out[spans] = np.bincount(owner[found & distinct], minlength=len(spans)) / counted
    return out


def _rooms(lengths: np.ndarray, pair: np.ndarray, copy_edges: np.ndarray, source_edges: np.ndarray, step: int):
    """The copy and source rooms of edges across texts (``lengths``: each pair's query and
    source tokens), which depend on the edge alone: leftwards to the texts' starts,
    rightwards to their ends."""
    if step < 0:
        return copy_edges, source_edges
    return lengths[pair, 0] - copy_edges, np.maximum(lengths[pair, 1] - source_edges, 0)


def _grouped(entries: np.ndarray, labels: np.ndarray):
    """``(label, entries with it)`` for each label of ``labels[entries]``, in label order."""
    if not len(entries):
        return
    entries = entries[np.argsort(labels[entries], kind="stable")]  # (in order already, mostly)
    ordered = labels[entries]
    starts, lengths = run_bounds(ordered)
    for lo, length in zip(starts.tolist(), lengths.tolist()):
        yield int(ordered[lo]), entries[lo : lo + length]


def _chain_edges_moves(pairs, lengths, counts, copy_start, source_start, copy_end, source_end, words,
                       params: RepeatParams):
    """The moves of both edges of every chain (six arrays, ``verified_chain``'s ``moves``
    in columns), as Extensions.prepare asks for a first level across texts: one
    ChainEdges for the chains of all pairs (``counts[p]`` chains of pair p, one after
    another), a chain too short whatever its edges match left unextended (its
    moves match ``REJECTED`` words)."""
    on_pair = np.repeat(np.arange(len(counts)), counts)
    left, right = (copy_start, source_start), (copy_end, source_end)
    (left_moves, right_moves), = extend_requests([ChainEdges(
        PairsEdgeRequest(pairs, on_pair, -1, *left, *_rooms(lengths, on_pair, *left, -1)),
        PairsEdgeRequest(pairs, on_pair, +1, *right, *_rooms(lengths, on_pair, *right, +1)),
        words,
    )], params)
    return [*left_moves, *right_moves]


class RunEdgeMoves:
    """The moves of the edges extended so far (as :func:`dedup.align.extend.extend_edges`
    gives them) of the pairs of one wave (:func:`verified_waves`), by run: across texts a
    chain's edges are its first run's start (extended leftwards) and its last run's end
    (rightwards), the parts of a failed chain keep its edges, and an edge's moves depend
    on the edge alone. Arrays over the runs of all the pairs, end to end: known or not,
    and the moves, for each side (0: the left edges, 1: the right)."""

    def __init__(self, runs: list[Runs]) -> None:
        self.starts = np.cumsum([0] + [len(pair_runs) for pair_runs in runs])[:-1]  # each pair's first run
        total = sum(len(pair_runs) for pair_runs in runs)
        self.known = np.zeros((2, total), dtype=bool)
        self.moves = np.zeros((2, total, 3), dtype=np.int64)

    def of_pairs(self, pairs: list[int]) -> "RunEdgeMoves":
        """The same table (its arrays shared) for a call on ``pairs`` (numbers in the
        wave), numbered as that call numbers them: in that order."""
        view = object.__new__(RunEdgeMoves)
        view.known, view.moves, view.starts = self.known, self.moves, self.starts[pairs]
        return view

    def _runs(self, run_offsets: np.ndarray, runs: np.ndarray) -> np.ndarray:
        """The table's numbers of ``runs`` numbered as the caller does (``run_offsets``:
        where each of its pairs' runs start)."""
        pair = np.searchsorted(run_offsets, runs, side="right") - 1
        return runs - run_offsets[pair] + self.starts[pair]

    def enter(self, side: int, run_offsets: np.ndarray, runs: np.ndarray, moves: np.ndarray) -> None:
        """Keep ``moves`` (rows of three) of the ``side`` edges of ``runs`` (the call's numbers)."""
        at = self._runs(run_offsets, runs)
        self.known[side, at] = True
        self.moves[side, at] = moves

    def find(self, side: int, run_offsets: np.ndarray, runs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(known, moves) of the ``side`` edges of ``runs`` (the call's numbers)."""
        at = self._runs(run_offsets, runs)
        return self.known[side, at], self.moves[side, at]


def _table_moves(pairs, lengths, joined, run_offsets, asked, chain_ends, known: RunEdgeMoves, params: RepeatParams):
    """The moves of both edges of chains (``chain_ends``: the first and the last run of
    each; the runs numbered across ``pairs``, whose runs start at ``run_offsets``, and
    ``joined``: their copy starts, copy ends, source starts, source ends), as
    :func:`_chain_edges_moves` gives them, from ``known``, where the edges asked
    (``asked``: the runs whose left, and whose right, edges are wanted, the chains' and
    any asked ahead) that it does not hold are extended together and entered. Across
    texts an edge's rooms depend on the edge alone, and the parts of a split chain keep
    its outer edges: those are not extended again."""
    requests, wanted = [], []
    for side, step, runs_asked, (copy_field, source_field) in zip((0, 1), (-1, +1), asked, ((0, 2), (1, 3))):
        runs = sorted_distinct(runs_asked)
        runs = runs[~known.find(side, run_offsets, runs)[0]]
        if not len(runs):
            continue
        on_pair = np.searchsorted(run_offsets, runs, side="right") - 1
        copy_edges, source_edges = joined[copy_field][runs], joined[source_field][runs]
        copy_rooms, source_rooms = _rooms(lengths, on_pair, copy_edges, source_edges, step)
        requests.append(PairsEdgeRequest(pairs, on_pair, step, copy_edges, source_edges, copy_rooms, source_rooms))
        wanted.append((side, runs))
    for (side, runs), moved in zip(wanted, extend_requests(requests, params)):
        known.enter(side, run_offsets, runs, np.stack(moved, axis=1))
    out = []
    for side, runs in zip((0, 1), chain_ends):
        moves = known.find(side, run_offsets, runs)[1]
        out += [moves[:, 0], moves[:, 1], moves[:, 2]]
    return out


def _chain_words(words: SpanWords, pair, chains, chain_of_run, run_start, run_end) -> np.ndarray:
    """:func:`matched_words` of every chain (``chains[k]``, of ``pairs[pair[k]]``), given
    its runs' copy starts and ends end to end (``chain_of_run``: the chain of each): a run
    counts the words past the furthest end of the runs before it in its chain."""
    # The furthest end of the runs before each, in its chain (-1: none): a running
    # maximum, the chain's number lifting each chain above the ones before.
    lift = int(run_end.max(initial=0)) + 2
    furthest = np.maximum.accumulate(chain_of_run * lift + run_end)
    before = np.full(len(run_end), -1, dtype=np.int64)
    same_chain = chain_of_run[1:] == chain_of_run[:-1]
    before[1:] = np.where(same_chain, furthest[:-1] - chain_of_run[1:] * lift, -1)
    start = np.minimum(np.maximum(run_start, before), run_end)  # no words when the run ends before it
    new_words = words.between(pair[chain_of_run], start, run_end)
    return np.bincount(chain_of_run, weights=new_words, minlength=len(chains))


def _shares_in_words(words: SpanWords, pair, first: np.ndarray, end: np.ndarray, matched_tokens: np.ndarray):
    """:func:`_share_in_words` of every extension: 0 where it moved nothing."""
    moved = end > first
    shares = words.between(pair, first, end) * matched_tokens / np.where(moved, end - first, 1)
    return np.where(moved, shares, 0.0)


def _snapped(pairs, pair, copy_start, copy_end, source_start, source_end, spill: int):
    """:func:`_snap_to_sentences` of every span (copy and source edges, arrays)."""
    texts = [text for query_and_source in pairs for text in query_and_source]
    pool = TextPool(texts, with_words=False)
    queries = np.array([pool.number(query) for query, _ in pairs], dtype=np.int64)[pair]
    sources = np.array([pool.number(source) for _, source in pairs], dtype=np.int64)[pair]
    count = len(pair)
    # In one call: boundaries at the copy start and the spill words after it, at the
    # source start, at the copy end and the spill words before it, at the source end.
    steps = np.repeat(np.array([1, 1, -1, 1], dtype=np.int64), count)
    found = pool.boundaries_along(
        np.concatenate((queries, sources, queries, sources)),
        np.concatenate((copy_start, source_start, copy_end, source_end)), steps, spill + 1,
    )
    after_start, source_starts = found[:, :count], found[0, count : 2 * count]
    before_end, source_ends = found[:, 2 * count : 3 * count], found[0, 3 * count :]
    move = np.zeros(count, dtype=np.int64)
    cut = ~after_start[0] & ~source_starts
    for words in range(1, spill + 1):  # the most words that fit win, as in _snap_to_sentences
        move = np.where(cut & (copy_start + words < copy_end) & after_start[words], words, move)
    copy_start, source_start = copy_start + move, source_start + move
    move = np.zeros(count, dtype=np.int64)
    cut = ~before_end[0] & ~source_ends
    for words in range(1, spill + 1):
        move = np.where(cut & (copy_end - words > copy_start) & before_end[words], words, move)
    return copy_start, copy_end - move, source_start, source_end - move


def _run_bounds(runs: Runs, run: int) -> tuple[int, int, int, int]:
    return (int(runs.copy_start[run]), int(runs.copy_end[run]), int(runs.source_start[run]), int(runs.source_end[run]))


def matched_words(chain: list[int], runs: Runs, query: PreparedText) -> float:
    """Copy words covered by the chain's exact-match runs.

    ``min_length`` counts these, not the span: a short span bridged over changed words
    (two lists with the same layout and other names) is no repeat of ``min_length`` words.
    """
    covered, reach = 0.0, -1
    for r in chain:
        lo, hi = max(int(runs.copy_start[r]), reach), int(runs.copy_end[r])
        if hi > lo:
            covered += query.words(lo, hi)
            reach = hi
    return covered


def _share_in_words(query: PreparedText, first: int, end: int, matched_tokens: int) -> float:
    """``matched_tokens`` of the tokens ``first .. end`` (an extension), in words."""
    return query.words(first, end) * matched_tokens / (end - first) if end > first else 0.0


def _snap_to_sentences(copy_boundary, source_boundary, copy, source, spill: int):
    """Cut edges that reach a few words into a sentence continuing outside the repeat.

    When the text after a copy starts like the text after its source ("The", "De", "In
    de"), shingles straddling the edge match too, and the repeat spills up to
    ``ngram - 1`` words into the next sentence. Such a spill (at most ``spill`` words)
    always belongs to a sentence that goes on beyond the repeat; a copy that really ends
    a few words into a sentence is followed by a break, a paragraph or the end of the
    text, and is left as it is.
    """
    (copy_start, copy_end), (source_start, source_end) = copy, source
    # A source edge at a sentence boundary means the copy's edge words are copied text
    # ("Michael P." is no sentence end, but its source starts where the copy does).
    if not copy_boundary(copy_start) and not source_boundary(source_start):
        for words in range(spill, 0, -1):
            if copy_start + words < copy_end and copy_boundary(copy_start + words):
                copy_start += words
                source_start += words
                break
    if not copy_boundary(copy_end) and not source_boundary(source_end):
        for words in range(spill, 0, -1):
            if copy_end - words > copy_start and copy_boundary(copy_end - words):
                copy_end -= words
                source_end -= words
                break
    return copy_start, copy_end, source_start, source_end


# An appended copy whose source covers at least this share of the text before it is
# an updated version of the whole text (see _absorb_update_tail).
_WHOLE_TEXT_SHARE = 0.75


def _absorb_update_tail(breaks, copy, source, max_gap: int) -> int:
    """The end of an appended updated version, widened over its unmatched last words.

    When a copy directly follows its source and the source is most of the text before
    it, the text is "article + updated article": a sentence the update added at its end,
    or a changed last word, is part of the copy although it matches nothing. The copy
    takes up to ``max_gap`` such words, up to the end of its line, never across a line
    break (a line after the copy, like an editor's note, is text of its own).

    The start of a copy is never widened this way: "P1, break, P2 + copy of P1" and
    "article, break, updated article with a new first sentence" look the same, and
    removing P2 would lose original text. ``breaks(t)`` says whether a line break
    precedes token t.
    """
    (copy_start, copy_end), (source_start, source_end) = copy, source
    head_gap = copy_start - source_end
    if not (0 <= head_gap <= max_gap and source_end - source_start >= _WHOLE_TEXT_SHARE * copy_start):
        return copy_end
    for t in range(copy_end, copy_end + max_gap + 1):
        if breaks(t):
            return t
    return copy_end


def containment(query: PreparedText, copy, source: PreparedText, source_span, n: int) -> float:
    """Share of the distinct shingles of the copy (of its words, when shorter than ``n``)
    found in the source span: a verified span's similarity."""
    start, end = copy
    mine = query.shingles[start : end - n + 1] if end - start >= n else query.tokens.hashes[start:end]
    if not len(mine):
        return 1.0
    start, end = source_span
    theirs = source.shingles[start : end - n + 1] if end - start >= n else source.tokens.hashes[start:end]
    if not len(theirs):
        return 0.0
    # Two sorts and one search instead of np.unique and intersect1d: the same count, at a
    # third of the cost on spans of a few hundred shingles (called per verified chain).
    mine, theirs = np.sort(mine), np.sort(theirs)
    first = np.empty(len(mine), dtype=bool)  # the first of its value: distinct
    first[0] = True
    np.not_equal(mine[1:], mine[:-1], out=first[1:])
    distinct = np.count_nonzero(first)
    slot = theirs.searchsorted(mine)
    slot[slot == len(theirs)] = 0  # past the last: theirs[0] differs too
    first &= theirs[slot] == mine
    return np.count_nonzero(first) / distinct
