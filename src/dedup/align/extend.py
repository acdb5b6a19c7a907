"""Stage 3, extend: a chain's edges carried outward through changed, dropped or added
words (the X-drop kernels of :mod:`dedup.align.xdrop`), edge by edge or many edges of
many pairs together."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generator, Iterable, Sequence

import numpy as np

from ..arrays import expand_ranges, sorted_distinct
from .boundaries import Boundaries
from .params import RepeatParams
from .prepared import PreparedText
from .seed import Runs
from .xdrop import BAND, banded_x_drop, words_to_skip, x_drop_match_bounds, x_drop_window


# What a pair's alignment asks for while it runs (see dedup.align.engine): edges to
# extend, several lists of them (EdgeRequest) that are independent of each other.
# The results: per request, the new copy edges, source edges and words matched (arrays).
Moves = tuple[np.ndarray, np.ndarray, np.ndarray]
# The words matched of an edge not extended: its chain cannot reach ``min_length`` words
# whatever its edges match (see ChainEdges).
REJECTED = -1


# Edge extensions asked for together (by one pair or by many, see extend_requests) are
# computed together when there are at least this many of them (below that, one by one
# is faster); and at most _LANES edges are aligned at once.
_BATCH_MIN = 32
_LANES = 4096
# Extensions.prepare asks for the edges of every run of a level's chains (inner_edges)
# only up to this many runs: more edges than one step costs (chains of many short runs,
# as in Chinese or Japanese texts made of common phrases) cost more than the steps saved.
_MOST_INNER_RUNS = 16


def extend_edge(
    query: PreparedText,
    source: PreparedText,
    copy_edge: int,
    source_edge: int,
    step: int,
    copy_room: int,
    source_room: int,
    params: RepeatParams,
) -> tuple[int, int, int]:
    """Carry one edge of an alignment outward through changed, dropped or added words.

    Banded X-drop alignment (match +1, change or gap -1) from the edge ``(copy_edge,
    source_edge)`` in direction ``step`` (-1: leftwards, before the edges; +1: rightwards,
    from the edges on), within ``copy_room`` / ``source_room`` words. The new edge is the
    best-scoring cell, where a cell at which copy and source both reach a sentence
    boundary, with a word matched on the way (or only one word changed), scores
    ``BOUNDARY_BONUS`` more. The alignment looks ``max_gap + ngram`` words ahead at a
    time, after the words equal on the diagonal when they reach beyond it (inside one
    text, a copy's shingles that the text said before point at their first occurrence:
    no seed marks the copy there, and only the extension reaches its last words).
    Returns (new copy edge, new source edge, words matched exactly on the way).
    """
    reach = params.max_gap + params.ngram
    if copy_room <= 0 or source_room <= 0:
        return copy_edge, source_edge, 0
    skip = int(words_to_skip(_equal_words_at(query, source, copy_edge, source_edge, step, min(copy_room, source_room), reach), reach))
    copy_at, source_at = copy_edge + step * skip, source_edge + step * skip
    i, j, m = x_drop_window(query, source, copy_at, source_at, step, min(copy_room - skip, reach), min(source_room - skip, reach))
    return copy_at + step * i, source_at + step * j, skip + m


def _equal_words_at(query, source, copy_edge, source_edge, step, limit, reach) -> int:
    """``_Lanes.equal_words`` of one edge; most edges stop within the reach, checked first as
    Python ints."""
    if limit <= 0:
        return 0
    q_tokens, s_tokens = query.tokens.hashes, source.tokens.hashes
    near = min(limit, reach + 1)
    if step > 0:
        a, b = q_tokens[copy_edge : copy_edge + near], s_tokens[source_edge : source_edge + near]
    else:
        a, b = q_tokens[copy_edge - near : copy_edge][::-1], s_tokens[source_edge - near : source_edge][::-1]
    differ = np.flatnonzero(a != b)
    if len(differ) or near == limit:
        return int(differ[0]) if len(differ) else near
    pool = TextPool([query, source])
    lanes = _Lanes(pool, np.array([0]), np.array([pool.number(source)]), np.array([step]),
                   np.array([copy_edge + step * near]), np.array([source_edge + step * near]))
    return near + int(lanes.equal_words(np.array([limit - near]))[0])


def extend_edges(
    query: PreparedText,
    source: PreparedText,
    copy_edges: np.ndarray,
    source_edges: np.ndarray,
    step: int,
    copy_rooms: np.ndarray,
    source_rooms: np.ndarray,
    params: RepeatParams,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``extend_edge`` for many edges at once (arrays in, arrays out): the same banded X-drop
    alignment, one NumPy step per row for all edges, equal to ``extend_edge`` edge by edge."""
    as_array = lambda values: np.asarray(values, dtype=np.int64)  # noqa: E731
    request = EdgeRequest(query, source, step, *map(as_array, (copy_edges, source_edges, copy_rooms, source_rooms)))
    return _extend_together([request], params)[0]


@dataclass
class EdgeRequest:
    """Edges of one (query, source) pair to extend in direction ``step`` (arrays of
    int64 edges and rooms, see ``extend_edge``)."""

    query: PreparedText
    source: PreparedText
    step: int
    copy_edges: np.ndarray
    source_edges: np.ndarray
    copy_rooms: np.ndarray
    source_rooms: np.ndarray

    def __len__(self) -> int:
        return len(self.copy_edges)

    def edges(self) -> Iterable[tuple[int, int, int, int]]:
        """(copy edge, source edge, copy room, source room) of each edge, as Python ints."""
        arrays = (self.copy_edges, self.source_edges, self.copy_rooms, self.source_rooms)
        return zip(*(a.tolist() for a in arrays))

    def one_by_one(self, params: RepeatParams) -> Moves:
        """The extensions computed edge by edge (``extend_edge``)."""
        return _as_moves([
            extend_edge(self.query, self.source, c, s, self.step, cr, sr, params) for c, s, cr, sr in self.edges()
        ])


def _as_moves(moved: list[tuple[int, int, int]]) -> Moves:
    """Edges' moves as ``extend_edge`` gives them one by one, in the columns of ``Moves``."""
    if not moved:
        return (np.zeros(0, dtype=np.int64),) * 3
    return tuple(np.array(column, dtype=np.int64) for column in zip(*moved))


@dataclass
class PairsEdgeRequest:
    """Edges of many (query, source) pairs to extend in direction ``step``: edge k of the
    pair ``pairs[pair[k]]`` (arrays of int64 edges and rooms, as ``EdgeRequest``). What
    an ``EdgeRequest`` a pair asks, in one request: verification across texts asks for
    the edges of a thousand pairs at a time, a few each."""

    pairs: Sequence[tuple[PreparedText, PreparedText]]
    pair: np.ndarray
    step: int
    copy_edges: np.ndarray
    source_edges: np.ndarray
    copy_rooms: np.ndarray
    source_rooms: np.ndarray

    def __len__(self) -> int:
        return len(self.copy_edges)

    def one_by_one(self, params: RepeatParams) -> Moves:
        """The extensions computed edge by edge (``extend_edge``)."""
        arrays = (self.pair, self.copy_edges, self.source_edges, self.copy_rooms, self.source_rooms)
        return _as_moves([
            extend_edge(*self.pairs[p], c, s, self.step, cr, sr, params)
            for p, c, s, cr, sr in zip(*(values.tolist() for values in arrays))
        ])


@dataclass
class ChainEdges:
    """The two edges of chains, ``left`` (leftwards) and ``right`` (rightwards), of one
    pair (``EdgeRequest`` s) or of many (``PairsEdgeRequest`` s): edge k of each belongs
    to chain k, whose runs match ``words`` words (float64, as ``dedup.align.verify``
    counts them). Extended as its two requests, except the edges of a chain that cannot
    reach ``min_length`` words whatever they match (at most ``x_drop_match_bounds``
    tokens each, a token weighing a word at most): their moves match ``REJECTED`` words
    (when the edges are many enough to be computed together)."""

    left: EdgeRequest | PairsEdgeRequest
    right: EdgeRequest | PairsEdgeRequest
    words: np.ndarray

    def __len__(self) -> int:
        return 2 * len(self.left)


def extend_requests(
    requests: list[EdgeRequest | PairsEdgeRequest | ChainEdges], params: RepeatParams
) -> list[Moves | tuple[Moves, Moves]]:
    """``extend_edges`` of every request (of a ``ChainEdges``: the moves of its left and of
    its right edges): edge by edge when they are few, else all requests' edges in one
    vectorised alignment (``_extend_together``)."""
    if sum(len(request) for request in requests) < _BATCH_MIN:
        return [
            (request.left.one_by_one(params), request.right.one_by_one(params))
            if isinstance(request, ChainEdges) else request.one_by_one(params)
            for request in requests
        ]
    return _extend_together(requests, params)


def _extend_together(
    requests: list[EdgeRequest | PairsEdgeRequest | ChainEdges], params: RepeatParams
) -> list[Moves | tuple[Moves, Moves]]:
    """``extend_requests`` of requests of any pairs, all edges together: one lane per edge,
    which reads the words and boundaries of its own pair from a ``TextPool``. The edges
    of a ``ChainEdges`` chain that cannot reach ``min_length`` are not aligned."""
    reach = params.max_gap + params.ngram
    # A ChainEdges is its two requests, left then right; chain k's edges are lanes k of each.
    edges = [part for request in requests for part in (
        (request.left, request.right) if isinstance(request, ChainEdges) else (request,))]
    sizes = [len(request) for request in edges]
    # The pairs of all requests, numbered end to end: an EdgeRequest is one, a
    # PairsEdgeRequest those of its list that have edges here; each lane's pair, and
    # the pool numbers of its texts.
    pairs, first_pair, lane_pair = [], [], np.zeros(sum(sizes), dtype=np.int64)
    at = 0
    for request, size in zip(edges, sizes):
        first_pair.append(len(pairs))
        if isinstance(request, EdgeRequest):
            pairs.append((request.query, request.source))
        else:
            used = sorted_distinct(request.pair)
            lane_pair[at : at + size] = np.searchsorted(used, request.pair)
            pairs += [request.pairs[p] for p in used.tolist()]
        at += size
    lane_pair += np.repeat(np.array(first_pair, dtype=np.int64), sizes)
    pool = TextPool([text for pair in pairs for text in pair])
    texts_of_pair = np.array(
        [(pool.number(query), pool.number(source)) for query, source in pairs], dtype=np.int64
    ).reshape(-1, 2)

    def joined(field: str) -> np.ndarray:
        return np.concatenate([getattr(request, field) for request in edges]).astype(np.int64, copy=False)

    copy_text, source_text = texts_of_pair[lane_pair, 0], texts_of_pair[lane_pair, 1]
    steps = np.repeat(np.array([request.step for request in edges], dtype=np.int64), sizes)
    copy_edges, source_edges = joined("copy_edges"), joined("source_edges")
    copy_rooms, source_rooms = joined("copy_rooms"), joined("source_rooms")
    moved = np.zeros((len(steps), 3), dtype=np.int64)  # rows, columns, words matched
    live = np.flatnonzero((copy_rooms > 0) & (source_rooms > 0))
    lanes = _Lanes(pool, copy_text[live], source_text[live], steps[live], copy_edges[live], source_edges[live])
    skip = words_to_skip(lanes.equal_words(np.minimum(copy_rooms[live], source_rooms[live])), reach)
    moved[live] = skip[:, None]
    lanes = lanes.moved(skip)
    rows_room = np.minimum(copy_rooms[live] - skip, reach)
    cols_room = np.minimum(source_rooms[live] - skip, reach)
    aligned = np.arange(len(live))  # the live lanes aligned
    if any(isinstance(request, ChainEdges) for request in requests):
        rejected = _rejected_lanes(requests, live, lanes, skip, rows_room, cols_room, params)
        moved[rejected, 2] = REJECTED
        aligned = aligned[~np.isin(live, rejected, assume_unique=True)]
    for lo in range(0, len(aligned), _LANES):  # the working arrays: about 1 KB per lane
        part = aligned[lo : lo + _LANES]
        window = lanes.part(part).windows(rows_room[part], cols_room[part])
        moved[live[part]] += banded_x_drop(*window, rows_room[part], cols_room[part])
    # The new edges of all lanes at once, then each request's share (views): a pair has a
    # few edges, and arithmetic per request would cost more than the alignment of its lanes.
    copy_to = copy_edges + steps * moved[:, 0]
    source_to = source_edges + steps * moved[:, 1]
    matched = moved[:, 2].copy()
    out: list = []
    at = 0
    for size in sizes:
        out.append((copy_to[at : at + size], source_to[at : at + size], matched[at : at + size]))
        at += size
    chained = iter(out)
    return [(next(chained), next(chained)) if isinstance(request, ChainEdges) else next(chained) for request in requests]


def _rejected_lanes(requests, live, lanes, skip, rows_room, cols_room, params: RepeatParams) -> np.ndarray:
    """The lanes (numbers among all, as ``_extend_together`` lays them out, request after
    request) of both edges of every ``ChainEdges`` chain that cannot reach
    ``min_length`` words: its runs' words, plus at most ``x_drop_match_bounds`` tokens a
    live edge (of at most a word each), stay below it. An edge that skips words (equal on
    its diagonal beyond the reach, see ``words_to_skip``) matches more than any chain
    needs: it is not bounded."""
    left, right, words = [], [], []
    at = 0
    for request in requests:
        if isinstance(request, ChainEdges):
            size = len(request.left)
            left.append(np.arange(at, at + size))
            right.append(np.arange(at + size, at + 2 * size))
            words.append(request.words)
        at += len(request)
    left, right, words = np.concatenate(left), np.concatenate(right), np.concatenate(words)
    # A chain whose runs reach min_length on their own is never rejected: not bounded.
    short = words < params.min_length
    left, right, words = left[short], right[short], words[short]
    bounds = np.zeros(at, dtype=np.int64)  # an edge with no room matches nothing
    in_chain = np.zeros(at, dtype=bool)
    in_chain[left] = in_chain[right] = True
    measured = np.flatnonzero(in_chain[live])  # among the live lanes
    bounds[live[measured[skip[measured] > 0]]] = params.min_length
    measured = measured[skip[measured] == 0]
    for lo in range(0, len(measured), _LANES):
        part = measured[lo : lo + _LANES]
        window = lanes.part(part).word_windows(rows_room[part], cols_room[part], keys=True)
        bounds[live[part]] = x_drop_match_bounds(*window)
    # Added as verification adds a chain's words (floats; rounding is monotone: a sum of
    # bounds is at least the sum of what the edges match).
    hopeless = (words + bounds[left]) + bounds[right] < params.min_length
    return np.concatenate((left[hopeless], right[hopeless]))


class Extensions:
    """``extend_edge`` for one (query, source) pair, called as ``extend(copy_edge,
    source_edge, step, copy_room, source_room)``: answered from the results computed
    together by :meth:`prepare`, else computed alone."""

    def __init__(self, query: PreparedText, source: PreparedText, params: RepeatParams) -> None:
        self.query, self.source, self.params = query, source, params
        self.known: dict[tuple[int, int, int, int, int], tuple[int, int, int]] = {}

    def __call__(self, copy_edge: int, source_edge: int, step: int, copy_room: int, source_room: int) -> tuple[int, int, int]:
        # The whole rooms are part of the key: an extension still going at its reach
        # carries on (see extend_edge).
        found = self.known.get((copy_edge, source_edge, step, copy_room, source_room))
        if found is not None:
            return found
        return extend_edge(self.query, self.source, copy_edge, source_edge, step, copy_room, source_room, self.params)

    def prepare(
        self, chains: list[list[int]], runs: Runs, same: bool, *, inner_edges: bool = False, words: list[float] | None = None
    ) -> Generator:
        """Ask for the edges of ``chains`` as verification will ask for them (steps, see
        ``dedup.align.engine``): every left edge and every right edge, whose room inside
        one text depends on where the left one went (then asked for after it). Edges
        answered before are not asked again.

        ``inner_edges`` (across texts only): ask for the edges of every run of the chains,
        which are all the edges the parts of a failing chain can have, level after level
        (see ``verify.verified_wave``): those levels then need no step of their own.

        Returns, when it asked across texts for the chains' own edges and nothing was known
        (a wave's first level), each chain's two moves (``extend``'s answers for its left
        and right edge, end to end: a list of six ints; None for a tandem run), which are
        then not kept in the table; else None (the answers are in the table). Then, given
        the ``words`` of each chain's runs, the edges of a chain that cannot reach
        ``min_length`` words may be left unextended: its moves match ``REJECTED`` words
        (see ``ChainEdges``)."""
        first = np.array([c[0] for c in chains])
        last = np.array([c[-1] for c in chains])
        plain = runs.period[first] == 0  # tandem runs are not extended
        first, last = first[plain], last[plain]
        if same:
            left = self._left(first, runs, same)
            (moved,) = yield [left]
            self.remember(left, moved)
            request = self._right(last, runs, moved[0])
            (moved,) = yield [request]
            self.remember(request, moved)
            return
        if inner_edges:
            inner = sorted({run for chain, keep in zip(chains, plain.tolist()) if keep for run in chain})
            if len(inner) <= _MOST_INNER_RUNS:
                first = last = np.array(inner, dtype=np.int64)
        whole = not self.known and not inner_edges  # the requests are the chains' edges, as they are
        left, right = self._left(first, runs, same), self._right(last, runs, len(self.source))
        if whole and words is not None and len(first):
            chain_words = np.array(words, dtype=np.float64)[plain]
            (moved,) = yield [ChainEdges(left, right, chain_words)]
        else:
            asked = [request for request in (self._unknown(left), self._unknown(right)) if len(request)]
            if not asked:
                return None
            moved = yield asked
        if whole:  # both requests asked, as they are (known was empty)
            # Handed to verification chain by chain, not kept by edge: most chains need
            # nothing else (the parts of a failing one ask for their edges again).
            moves = np.column_stack((*moved[0], *moved[1])).tolist()
            if len(moves) == len(chains):
                return moves
            rows = iter(moves)
            return [next(rows) if keep else None for keep in plain.tolist()]
        for request, result in zip(asked, moved):
            self.remember(request, result)
        return None

    def _left(self, runs_at: np.ndarray, runs: Runs, same: bool) -> "EdgeRequest":
        """The left edges of runs ``runs_at``, with room to the text's start (inside one
        text: to the end of the source)."""
        copy_start = runs.copy_start[runs_at].astype(np.int64)
        source_start = runs.source_start[runs_at].astype(np.int64)
        left_room = copy_start - runs.source_end[runs_at] if same else copy_start
        return EdgeRequest(self.query, self.source, -1, copy_start, source_start, left_room, source_start)

    def _right(self, runs_at: np.ndarray, runs: Runs, right_limit) -> "EdgeRequest":
        """The right edges of runs ``runs_at``, with room to the query's end and to
        ``right_limit`` in the source."""
        copy_end = runs.copy_end[runs_at].astype(np.int64)
        source_end = runs.source_end[runs_at].astype(np.int64)
        source_room = np.maximum(right_limit - source_end, 0)
        return EdgeRequest(self.query, self.source, +1, copy_end, source_end, len(self.query) - copy_end, source_room)

    def _unknown(self, request: "EdgeRequest") -> "EdgeRequest":
        """The edges of ``request`` not answered yet."""
        if not self.known:
            return request
        new = np.array([(*edge[:2], request.step, *edge[2:]) not in self.known for edge in request.edges()], dtype=bool)
        if new.all():
            return request
        return EdgeRequest(self.query, self.source, request.step, request.copy_edges[new], request.source_edges[new],
                           request.copy_rooms[new], request.source_rooms[new])

    def remember(self, request: "EdgeRequest", result: Moves) -> None:
        """Answer the edges of ``request`` with ``result`` (its ``extend_requests`` moves)."""
        values = zip(*(r.tolist() for r in result))
        for (copy_edge, source_edge, copy_room, source_room), value in zip(request.edges(), values):
            self.known[(copy_edge, source_edge, request.step, copy_room, source_room)] = value


class TextPool:
    """The token hashes of several texts end to end, and their sentence boundaries: lanes
    of many pairs read their own texts in one NumPy step. A pool of one text (a text
    aligned with itself, however long) reads the text's own arrays, with no copy. Without
    ``with_words`` only the boundaries are read (the hashes are not joined)."""

    def __init__(self, texts: Iterable[PreparedText], *, with_words: bool = True) -> None:
        self._numbers: dict[int, int] = {}  # by id(): the texts of a call are alive during it
        self.texts: list[PreparedText] = []
        for text in texts:
            if id(text) not in self._numbers:
                self._numbers[id(text)] = len(self.texts)
                self.texts.append(text)
        self.counts = np.array([len(text) for text in self.texts], dtype=np.int64)
        self.starts = np.cumsum(self.counts) - self.counts
        self._keys: np.ndarray | None = None  # the hashes' low 32 bits, made on first use
        if not with_words:
            return
        hashes = [text.tokens.hashes for text in self.texts]
        if len({h.dtype for h in hashes}) > 1:  # prepare_alone's token ids with hashes
            hashes = [_as_int64(h) for h in hashes]
        self.hashes = hashes[0] if len(hashes) == 1 else np.concatenate(hashes)

    def number(self, text: PreparedText) -> int:
        return self._numbers[id(text)]

    def words(self, texts: np.ndarray, positions: np.ndarray, *, keys: bool = False) -> np.ndarray:
        """The token hashes (as int64) at ``positions`` of ``texts`` (arrays of one shape,
        or that broadcast to one; positions past either end read the nearest token).
        With ``keys``, each hash's low 32 bits instead (int32): equal tokens have equal
        keys, and unequal ones rarely do, which is enough for a bound on matches and
        costs half the memory to read."""
        at = np.clip(positions, 0, np.maximum(self.counts[texts] - 1, 0))
        at += self.starts[texts]
        if not keys:
            return _as_int64(self.hashes[at])
        if self._keys is None:
            self._keys = (_as_int64(self.hashes) & 0xFFFFFFFF).astype(np.uint32).view(np.int32)
        return self._keys[at]

    def boundaries_along(self, texts: np.ndarray, edges: np.ndarray, steps: np.ndarray, count: int) -> np.ndarray:
        """``text.boundaries(edge + step * k)`` for k in ``range(count)``: an array of (k,
        lane), for lanes of ``texts``, ``edges`` and ``steps``."""
        positions = edges[None, :] + steps[None, :] * np.arange(count)[:, None]
        lengths = self.counts[texts]
        inside = (positions > 0) & (positions < lengths[None, :])
        # The blocks of tokens these walks cross are found first (Boundaries finds them on
        # demand), numbered across texts: a walk's positions run one way, so its blocks
        # are those from its lowest position inside its text to its highest.
        ends = edges + steps * (count - 1)
        lowest = np.maximum(np.minimum(edges, ends), 1)
        highest = np.minimum(np.maximum(edges, ends), lengths - 1)
        reads = np.flatnonzero(lowest <= highest)
        if not len(reads):
            return np.ones(positions.shape, dtype=bool)
        read = sorted_distinct(texts[reads])
        boundaries = [self.texts[number].boundaries for number in read.tolist()]
        # Only the blocks not found yet are looked at one by one (most were, by calls
        # before): the blocks of the texts read, numbered end to end.
        found = [bounds.blocks_found() for bounds in boundaries]
        sizes = np.array([len(blocks) for blocks in found], dtype=np.int64)
        block_starts = np.cumsum(sizes) - sizes
        found = np.frombuffer(found[0] if len(found) == 1 else b"".join(found), dtype=np.uint8)
        block = Boundaries.BLOCK
        first_block = lowest[reads] // block
        _, blocks = expand_ranges(
            block_starts[np.searchsorted(read, texts[reads])] + first_block, highest[reads] // block - first_block + 1
        )
        missing = sorted_distinct(blocks[found[blocks] == 0])
        of_text = np.searchsorted(block_starts, missing, side="right") - 1
        for at, number in zip(of_text.tolist(), (missing - block_starts[of_text]).tolist()):
            boundaries[at].find_block(number)
        # The flags of the texts these lanes read, end to end (a pool holds thousands of
        # texts, a call reads a few hundred; a pool of one text reads its own, no copy).
        read = read.tolist()
        flags = [bounds.flag_bytes() for bounds in boundaries]
        flags = np.frombuffer(flags[0] if len(flags) == 1 else b"".join(flags), dtype=np.uint8)
        counts = self.counts[read]
        start_of = np.zeros(len(self.texts), dtype=np.int64)
        start_of[read] = np.cumsum(counts) - counts
        # Positions outside their text are boundaries; they read flag 0 and are set after.
        at = np.where(inside, positions + start_of[texts][None, :], 0)
        out = flags[at] == 1
        out |= ~inside
        return out


def _as_int64(values: np.ndarray) -> np.ndarray:
    return values.view(np.int64) if values.dtype == np.uint64 else values.astype(np.int64, copy=False)


class _Lanes:
    """Edges of any pairs as lanes: each edge's query and source (numbers in a
    ``TextPool``), direction and copy and source edge."""

    def __init__(self, pool: TextPool, copy_text, source_text, steps, copy_edges, source_edges) -> None:
        self.pool = pool
        self.copy_text, self.source_text, self.steps = copy_text, source_text, steps
        self.copy_edges, self.source_edges = copy_edges, source_edges

    def moved(self, words: np.ndarray) -> "_Lanes":
        """The lanes with their edges ``words`` further on."""
        return _Lanes(self.pool, self.copy_text, self.source_text, self.steps,
                      self.copy_edges + self.steps * words, self.source_edges + self.steps * words)

    def part(self, which) -> "_Lanes":
        """The lanes ``which`` (a slice or indices)."""
        arrays = (self.copy_text, self.source_text, self.steps, self.copy_edges, self.source_edges)
        return _Lanes(self.pool, *(a[which] for a in arrays))

    def _at(self, count: int) -> tuple[np.ndarray, np.ndarray]:
        """Copy and source token positions of each lane's first ``count`` words (before the
        edge when leftwards): arrays of (word, lane)."""
        walk = np.arange(count)[:, None] * self.steps[None, :] - (self.steps < 0)[None, :]
        return self.copy_edges[None, :] + walk, self.source_edges[None, :] + walk

    def equal_words(self, limits: np.ndarray) -> np.ndarray:
        """How many tokens from each edge on (rightwards) or before it (leftwards) are
        equal in copy and source along the diagonal, up to ``limits``: work in
        proportion to the words walked."""
        walked = np.zeros(len(self.steps), dtype=np.int64)
        active = np.flatnonzero(np.asarray(limits) > 0)
        chunk = 4  # most edges are where a run of equal words ended: a few words settle them
        while len(active):
            lanes = self.part(active).moved(walked[active])
            copy_at, source_at = lanes._at(chunk)
            inside = walked[None, active] + np.arange(chunk)[:, None] < limits[None, active]
            same = self.pool.words(lanes.copy_text[None, :], copy_at) == self.pool.words(lanes.source_text[None, :], source_at)
            equal = inside & same
            run = np.where(equal.all(axis=0), chunk, np.argmin(equal, axis=0))
            walked[active] += run
            active = active[run == chunk]
            chunk = min(chunk * 4, 1 << 14)
        return walked

    def windows(self, rows_room: np.ndarray, cols_room: np.ndarray):
        """What ``banded_x_drop`` reads of each lane's window of ``rows_room`` /
        ``cols_room`` words: (copy words, source words, copy boundaries, source
        boundaries), each an array of (position, lane)."""
        words, padded = self.word_windows(rows_room, cols_room)
        rows, cols = int(rows_room.max(initial=0)), int(cols_room.max(initial=0))
        # Boundaries at every cell's edge: copy_bound[i, l] is at copy_edge + step * i.
        copy_bound = self.pool.boundaries_along(self.copy_text, self.copy_edges, self.steps, rows + 1)
        source_bound = np.zeros((padded.shape[0], len(self.steps)), dtype=bool)
        source_bound[BAND : BAND + cols + 1] = self.pool.boundaries_along(
            self.source_text, self.source_edges, self.steps, cols + 1
        )
        return words, padded, copy_bound, source_bound

    def word_windows(self, rows_room: np.ndarray, cols_room: np.ndarray, *, keys: bool = False):
        """The words of ``windows``: (copy words, source words). With ``keys``, the words'
        32-bit keys (``TextPool.words``): for a bound, where a word that matches by its
        key alone only adds to the bound."""
        rows, cols = int(rows_room.max(initial=0)), int(cols_room.max(initial=0))
        copy_at, source_at = self._at(max(rows, cols))
        # words[i-1, l]: the copy word of row i; padded[j + BAND, l]: the source word of
        # column j (padding and words beyond a lane's room are -1 / -2: they never match,
        # but by a key).
        row = np.arange(max(rows, cols))[:, None]
        copy_words = self.pool.words(self.copy_text[None, :], copy_at[:rows], keys=keys)
        words = np.where(row[:rows] < rows_room[None, :], copy_words, -1)
        # (Wide enough for every band cell of every row: columns reach rows + BAND.)
        width = max(rows, cols) + 2 * BAND + 2
        padded = np.full((width, len(self.steps)), -2, dtype=copy_words.dtype)
        padded[BAND + 1 : BAND + 1 + cols] = np.where(
            row[:cols] < cols_room[None, :], self.pool.words(self.source_text[None, :], source_at[:cols], keys=keys), -2
        )
        return words, padded
