"""The driver: seed -> chain -> extend -> verify -> overlaps -> spans.

:func:`align` aligns one text against its own earlier part and given sources;
:func:`align_many` aligns many texts at once, in rounds (round r: every text against
its r-th source), with the edge extensions of a round computed together;
:func:`find_within_many` finds the repeats of many texts each inside itself. One
pair's alignment is :func:`pair_steps`: seeds (:mod:`.seed`), chains
(:mod:`.chain`), then waves of chains verified (:mod:`.verify`, which extends their
edges with :mod:`.extend`); across texts the pairs of a round are seeded, chained and
verified together instead (:func:`aligned_pairs`), the same spans.
:class:`PairAlignments` remembers whole pairs' spans.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import replace
from typing import Any, Callable, Generator, Hashable, Sequence

import numpy as np

from .._validate import check_int
from ..arrays import sorted_distinct
from ..shingle import shingles
from ..text import tokenize
from .chain import chain_runs, chain_runs_many, without_weak_ends
from .extend import EdgeRequest, Moves, extend_requests
from .overlaps import OverlapResolver
from .params import RepeatParams
from .prepared import PreparedText, prepare_alone
from .seed import Runs, seed_runs, seed_runs_many
from .spans import Repeat, to_repeats
from .verify import Alignment, verified_wave, verified_waves


def align(
    query: PreparedText,
    sources: Sequence[PreparedText],
    params: RepeatParams,
    *,
    within: bool = True,
    pairs: "PairAlignments | None" = None,
) -> list[Repeat]:
    """Repeats in ``query`` of its own earlier part (with ``within``) and of ``sources``.

    ``sources`` are prepared with the same ``ngram`` as ``query`` (see :func:`prepare`),
    oldest first. Returns non-overlapping repeats sorted by start; ``Repeat.source`` is
    ``None`` for the query itself, else the index into ``sources``. ``pairs``: where
    alignments of one text against another are remembered (the same result, faster
    for texts that recur).
    """
    return align_many([query], [sources], params, within=within, pairs=pairs)[0]


def align_many(
    queries: Sequence[PreparedText],
    sources: Sequence[Sequence[Any]],
    params: RepeatParams,
    *,
    within: bool = True,
    pairs: "PairAlignments | None" = None,
    prepare: Callable[[list[Any]], Sequence[PreparedText]] | None = None,
    contents: "tuple[Sequence[Hashable], Callable[[Any], Hashable]] | None" = None,
) -> list[list[Repeat]]:
    """:func:`align` for many texts at once: ``queries[k]`` against ``sources[k]``
    (oldest first), the same result as ``align`` text by text, faster.

    With ``prepare``, the sources are handles (hashable: an index, a key) rather than
    prepared texts, and ``prepare`` makes the texts of a list of them (each once, a
    round's at a time): a source is prepared only once a round aligns a text against it.
    Sources after a text's first cover are never aligned (a re-run's later candidates),
    and need not be prepared at all. ``contents``, with ``pairs``: what each query, and
    what a source (by its handle), is known by in ``pairs`` (equal keys for equal texts
    only, e.g. a digest of the text compressed): a pair remembered there is answered
    without its source prepared (a re-run against a source aligned before).

    The texts are aligned in rounds: round r aligns every text not yet covered against
    its r-th source, and the edge extensions of all pairs of a round are computed
    together (one vectorised alignment for hundreds of edges, where one pair has a
    handful). Once a round completes few of its texts, one last round aligns every text
    left against all its remaining sources. The texts' own repeats come last, in a round
    of their own.
    """
    # Overlaps are resolved oldest source first, then the text itself (see
    # resolve_overlaps), so the spans can be resolved source by source as they are found.
    # Once the resolved repeats cover every token, no later span can keep a piece: the
    # remaining sources (a wire story's later copies, the candidates of a re-run) and
    # the text's own repeats need not be aligned at all.
    resolvers = [OverlapResolver(query, params.min_length) for query in queries]
    # Every repeat has min_length matched words among its copy's: a text with fewer words
    # holds none, and is not aligned at all (a short post, a headline; its sources are
    # never prepared).
    long_enough = [holds_repeat(query, params) for query in queries]
    prepared: dict[Any, PreparedText] = {}  # with ``prepare``: the sources prepared so far, by handle

    def source_texts(handles: list[Any]) -> list[PreparedText]:
        if prepare is None:
            return handles
        new = [handle for handle in dict.fromkeys(handles) if handle not in prepared]
        if new:
            prepared.update(zip(new, prepare(new)))
        return [prepared[handle] for handle in handles]

    rounds = max((len(s) for s in sources), default=0)
    index, together = 0, False
    while index < rounds:
        texts = [
            k for k in range(len(queries))
            if index < len(sources[k]) and long_enough[k] and not resolvers[k].covers_all()
        ]
        if not texts:
            break
        # Round by round while a further source often completes a text (a re-crawl cut
        # elsewhere than its first source); once a round completes few of its texts, the
        # remaining sources of every text are aligned together: one call instead of a
        # tail of ever smaller rounds, which cost up to twice as much a pair. A pair's
        # spans do not depend on the others', so resolving them source by source, and
        # stopping at a text's first cover, gives the same result.
        last = rounds if together else index + 1
        wanted = [(k, j) for k in texts for j in range(index, min(last, len(sources[k])))]
        for lo in range(0, len(wanted), _MOST_PAIRS):
            part = wanted[lo : lo + _MOST_PAIRS]
            if contents is None or pairs is None:
                texts_of_part = list(zip([queries[k] for k, _ in part], source_texts([sources[k][j] for k, j in part])))
                found = aligned_pairs(texts_of_part, [j for _, j in part], params, pairs)
            else:  # remembered pairs answered before their sources are prepared
                query_keys, source_key = contents
                keys = [pairs.key_of_contents(query_keys[k], source_key(sources[k][j]), params) for k, j in part]

                def texts_at(positions: list[int], part: list[tuple[int, int]] = part) -> list:
                    chosen = [part[i] for i in positions]
                    return list(zip([queries[k] for k, _ in chosen], source_texts([sources[k][j] for k, j in chosen])))

                found = _named(pairs.aligned(keys, texts_at, params), [j for _, j in part])
            for (k, _), spans in zip(part, found):
                if not resolvers[k].covers_all():
                    resolvers[k].add(spans)
        completed = sum(resolvers[k].covers_all() for k in texts)
        together = completed < _COMPLETING_SHARE * len(texts)
        index = last
    if within:
        texts = [
            k for k, query in enumerate(queries)
            if long_enough[k] and not resolvers[k].covers_all() and query.has_repeated_shingle()
        ]
        found = _run_together([pair_steps(queries[k], queries[k], None, params) for k in texts], params)
        for k, spans in zip(texts, found):
            resolvers[k].add(spans)
    if prepare is not None:  # the sources the spans name (remembered pairs' sources may not be prepared yet)
        source_texts([sources[k][span.source] for k, resolved in enumerate(resolvers) for span in resolved.accepted
                      if span.source is not None])
        sources = [[prepared.get(handle) for handle in handles] for handles in sources]
    return [
        to_repeats(query, text_sources, resolved.spans()) if resolved.accepted else []
        for query, text_sources, resolved in zip(queries, sources, resolvers)
    ]


def holds_repeat(text: PreparedText, params: RepeatParams) -> bool:
    """Whether ``text`` has words enough for a repeat: ``params.min_length`` words (a
    verified span counts that many matched words among its copy's; a token weighs a word
    at most).

    >>> from dedup.align.prepared import prepare
    >>> [holds_repeat(text, RepeatParams(min_length=3)) for text in prepare(["one two", "one two three"], ngram=2)]
    [False, True]
    """
    tokens = len(text)
    return tokens >= params.min_length and text.words(0, tokens) >= params.min_length


def aligned_pairs(
    texts: list[tuple[PreparedText, PreparedText]],
    indexes: list[int],
    params: RepeatParams,
    pairs: "PairAlignments | None" = None,
) -> list[list[Alignment]]:
    """The verified spans of every (query, source) of ``texts`` (two texts), each named as
    source ``indexes[k]``: remembered ones from ``pairs``, the others aligned together (a
    pair that occurs twice, once). A pair's spans do not depend on the other pairs'."""
    if pairs is None:
        found = _aligned_across(texts, params)
    else:
        found = pairs.aligned(
            [pairs.key(query, source, params) for query, source in texts],
            lambda wanted: [texts[i] for i in wanted],
            params,
        )
    return _named(found, indexes)


def _named(found: list[list[Alignment]], indexes: list[int]) -> list[list[Alignment]]:
    """Each pair's spans named as source ``indexes[k]``."""
    # Copies named by their sources: the remembered spans stay as they are (spans are
    # never changed once made, so those already named so are shared).
    return [
        spans if all(span.source == index for span in spans) else [replace(span, source=index) for span in spans]
        for index, spans in zip(indexes, found)
    ]


def _aligned_across(texts: list[tuple[PreparedText, PreparedText]], params: RepeatParams) -> list[list[Alignment]]:
    """The verified spans of every (query, source) of ``texts`` (two texts), named as
    source 0: exact copies answered at once (:func:`exact_copy_spans`), the other pairs
    seeded together (:func:`dedup.align.seed.seed_runs_many`), chained, and the chains of
    all pairs verified together, level by level (:func:`dedup.align.verify.verified_waves`).
    A pair with more chains than a wave runs its own steps (:func:`pair_steps`)."""
    found = [exact_copy_spans(query, source, 0, params) for query, source in texts]
    aligned = [k for k, spans in enumerate(found) if spans is None]
    pairs = [texts[k] for k in aligned]
    runs, seeds = seed_runs_many(pairs, params, with_seeds=True)
    # Each pair's chains, as pair_steps takes them (one wave); a pair with more chains
    # than a wave is aligned by pair_steps.
    waves: list[list[list[int]] | None] = []
    pairs_chains = chain_runs_many(runs, [query for query, _ in pairs], params)
    for (query, source), pair_runs, chains in zip(pairs, runs, pairs_chains):
        if len(chains) > _WAVE:
            waves.append(None)
            continue
        waves.append([
            without_weak_ends(chain, pair_runs, params.ngram, query, source) if len(chain) > 1 else chain
            for chain in chains.pop_all()
        ])
    chained = [i for i, wave in enumerate(waves) if wave is not None]  # (a pair without chains has no levels)
    levels = verified_waves(
        [pairs[i] for i in chained], [runs[i] for i in chained], [waves[i] for i in chained], 0, params,
        [seeds[i] for i in chained],
    )
    for i, pair_levels in zip(chained, levels):
        found[aligned[i]] = spans_in_walk_order(pair_levels, len(waves[i]))
    alone = [i for i, wave in enumerate(waves) if wave is None]
    for i, spans in zip(alone, _run_together([pair_steps(*pairs[i], 0, params, runs=runs[i]) for i in alone], params)):
        found[aligned[i]] = spans
    return found  # type: ignore[return-value]


class PairAlignments:
    """Alignments of one text against another, remembered by the two texts' contents.

    An alignment depends only on the two texts and the parameters, so an article that
    recurs whole (a re-run, a syndicated copy) aligned against a source it was aligned
    against before costs a dictionary lookup. Holds the ``capacity`` most recent pairs.
    """

    def __init__(self, capacity: int = 1 << 16) -> None:
        self.capacity = check_int("capacity", capacity, 1)
        self._spans: OrderedDict[tuple, list[Alignment]] = OrderedDict()
        #: When a dict: every pair remembered from now on is also entered there, by key
        #: (what a worker process sends back, for the process that gives out its work).
        self.journal: dict[tuple, list[Alignment]] | None = None

    def __len__(self) -> int:
        return len(self._spans)

    @staticmethod
    def key(query: PreparedText, source: PreparedText, params: RepeatParams) -> tuple:
        """What a pair is remembered by."""
        # Texts are known by a 128-bit digest: a few bytes per pair, not the texts.
        return (query.digest, source.digest, params)

    @staticmethod
    def key_of_contents(query: Hashable, source: Hashable, params: RepeatParams) -> tuple:
        """What a pair is remembered by when its texts are known by keys of their own
        (see ``align_many``'s ``contents``), not as prepared texts."""
        return ("contents", query, source, params)

    def aligned(
        self, keys: list[tuple], texts: Callable[[list[int]], list[tuple[PreparedText, PreparedText]]],
        params: RepeatParams,
    ) -> list[list[Alignment]]:
        """The spans (named as source 0) of the pairs remembered by ``keys``: those
        remembered, the others aligned together (a key met twice, once) and remembered.
        ``texts(positions)`` gives the pairs at those positions of ``keys``, prepared:
        only those not remembered are asked for."""
        found = [self.known_by(key) for key in keys]
        missing: dict[tuple, int] = {}  # each key not remembered: its first position
        for position, (key, spans) in enumerate(zip(keys, found)):
            if spans is None:
                missing.setdefault(key, position)
        if not missing:
            return found  # type: ignore[return-value]
        new = dict(zip(missing, _aligned_across(texts(list(missing.values())), params)))
        for key, spans in new.items():
            self.remember_by(key, spans)
        return [new[key] if spans is None else spans for key, spans in zip(keys, found)]

    def known(self, query: PreparedText, source: PreparedText, params: RepeatParams) -> list["Alignment"] | None:
        """The remembered spans of ``query`` against ``source`` (named as source 0), or None."""
        return self.known_by(self.key(query, source, params))

    def known_by(self, key: tuple) -> list["Alignment"] | None:
        """The spans remembered by ``key`` (see :meth:`key`), or None."""
        found = self._spans.get(key)
        if found is not None:
            self._spans.move_to_end(key)
        return found

    def remember(
        self, query: PreparedText, source: PreparedText, params: RepeatParams, spans: list["Alignment"]
    ) -> None:
        """Remember the spans of ``query`` against ``source``, named as source 0."""
        self.remember_by(self.key(query, source, params), spans)

    def remember_by(self, key: tuple, spans: list["Alignment"]) -> None:
        """Remember ``spans`` (named as source 0) by ``key``."""
        self._spans[key] = spans
        if self.journal is not None:
            self.journal[key] = spans
        if len(self._spans) > self.capacity:
            self._spans.popitem(last=False)


# A pair's alignment as steps (see pair_steps): it yields the edges it needs
# extended, is sent their moves and returns its verified spans.
_Steps = Generator[list[EdgeRequest], list[Moves], list[Alignment]]


# align_many goes on round by round while a round completes at least this share of its
# texts (covers every token of them); after a round that completes fewer, the remaining
# sources of every text are aligned together. Re-crawls cut elsewhere than their first
# source complete a third or more of a round; edited copies and texts with words of
# their own, a few in a hundred.
_COMPLETING_SHARE = 0.2
# ... at most this many pairs at a time (larger calls cost more a pair again).
_MOST_PAIRS = 1024


# Chains are verified in waves of this many; the edge extensions of a wave are asked
# for together.
_WAVE = 4096


def exact_copy_spans(
    query: PreparedText, source: PreparedText, index: int, params: RepeatParams
) -> list[Alignment] | None:
    """The verified spans of ``query`` against ``source`` when the query is an exact copy
    of the source or of a run of its tokens (a copy cut at its start or end) whose every
    shingle occurs first, in the source, at its own place; else None (the pair must be
    aligned).

    A re-run, a syndicated article, a re-crawl that cut differently: the commonest repeat
    of a corpus, and its first meeting with its original needs no alignment. Every
    shingle of the query then seeds at its own offset in the source (a seed is a
    shingle's first occurrence), so the seeds are one run on one diagonal over the whole
    query; its chain is that run, its edges have no room to extend (the query ends
    there), the query's first and last tokens are sentence boundaries (nothing to snap),
    and its containment is 1. The span is the whole query, kept when its words reach
    ``min_length``: what :func:`pair_steps` returns for the pair
    (``tests/test_whole_copies.py`` checks the two agree).
    """
    offset = _offset_in(query, source, params.ngram)
    if offset is None:
        return None
    tokens = len(query)
    # The runs seeding drops (a single shingle; one of at most ngram tokens when
    # min_length > ngram) are shorter than min_length words anyway: a token weighs a
    # word at most.
    matched = query.words(0, tokens)
    if tokens == 0 or matched < params.min_length:
        return []
    return [Alignment(0, tokens, offset, offset + tokens, 1.0, matched, index)]


def _offset_in(query: PreparedText, source: PreparedText, ngram: int) -> int | None:
    """Where the query's tokens start in the source when the query is the source or a
    run of its tokens (then with two shingles or more), each of its shingles occurring
    first in the source at its own offset; else None.

    The texts are compared first (one substring search): a query with other characters
    is never such a run, and most candidate pairs end there.
    """
    if query.text == source.text:  # every shingle at its own place unless one repeats
        return None if query.has_repeated_shingle() else 0
    tokens = len(query)
    if tokens <= ngram or tokens >= len(source) or query.text not in source.text:
        return None
    found = np.flatnonzero(source.shingles == query.shingles[0])[:1].tolist()
    if not found:
        return None
    offset = found[0]  # slices that run past the source's end compare unequal
    if not (
        np.array_equal(source.shingles[offset : offset + len(query.shingles)], query.shingles)
        and np.array_equal(source.tokens.hashes[offset : offset + tokens], query.tokens.hashes)
    ):
        return None
    if not source.has_repeated_shingle():
        return offset
    count = len(query.shingles)
    first = source.first_occurrences()[offset : offset + count]
    if not np.array_equal(first, np.arange(offset, offset + count, dtype=first.dtype)):
        return None  # a shingle said earlier in the source seeds there: aligned in full
    return offset


def pair_steps(
    query: PreparedText, source: PreparedText, index: int | None, params: RepeatParams, *, runs: Runs | None = None
) -> _Steps:
    """The verified spans of ``query`` against ``source`` (named as source ``index``;
    None: the query against itself), as steps: a generator that yields the edge
    extensions it needs (a list of ``EdgeRequest``), is sent their results
    (``extend_edges``'s, one per request) and returns the spans. So the edges of many
    pairs can be extended together (``_run_together``), with the result of each pair
    aligned alone. Seeds, chains, then waves of chains verified; an exact copy is aligned
    in full here too (:func:`exact_copy_spans` answers it at once, with the same spans).
    ``runs``: the pair's seeds when found already (:func:`dedup.align.seed.seed_runs_many`)."""
    same = index is None
    if runs is None:
        runs = seed_runs(query, source, same, params)
    if not len(runs):
        return []
    spans: list[Alignment] = []
    chains = chain_runs(runs, query, same, params)
    while chains:
        wave = [without_weak_ends(chains.pop(), runs, params.ngram, query, source) for _ in range(min(_WAVE, len(chains)))]
        levels = yield from verified_wave(wave, runs, query, source, index, params)
        spans += spans_in_walk_order(levels, len(wave))
    return spans


def spans_in_walk_order(levels: list[tuple[list, list[int]]], chains: int) -> list[Alignment]:
    """The spans of a wave of ``chains`` chains verified level by level (``levels``, as
    :func:`dedup.align.verify.verified_wave` gives them) in the order of a depth-first
    walk: a chain, then the parts of a chain that failed (its later part first), then the
    next chain."""
    if len(levels) == 1:  # no chain split: the chains' spans in order
        return [span for span in levels[0][0] if span is not None]
    spans: list[Alignment] = []
    for k in range(chains):
        pending = [(0, k)]
        while pending:
            depth, k = pending.pop()
            span, parts = levels[depth][0][k], levels[depth][1][k]
            if span is not None:
                spans.append(span)
            if parts >= 0:
                pending += [(depth + 1, parts), (depth + 1, parts + 1)]
    return spans


def _run_together(pairs: list[_Steps], params: RepeatParams) -> list[list[Alignment]]:
    """Run the steps of many pair alignments (``pair_steps``) side by side: at
    each step the edges all of them ask for are extended in one call
    (``extend_requests``). Returns the spans of each pair."""
    out: list[list[Alignment]] = [[] for _ in pairs]
    asking: dict[int, list[EdgeRequest]] = {}

    def advance(k: int, results) -> None:
        try:
            asking[k] = pairs[k].send(results)
        except StopIteration as done:
            out[k] = done.value
            asking.pop(k, None)

    for k in range(len(pairs)):
        advance(k, None)
    while asking:
        waiting = list(asking.items())
        results = iter(extend_requests([request for _, requests in waiting for request in requests], params))
        for k, requests in waiting:
            advance(k, [next(results) for _ in requests])
    return out


def find_within_many(texts: Sequence[str], params: RepeatParams) -> list[list[Repeat]]:
    """The repeats of each of ``texts`` inside itself (``find_repeats_many``): a long text
    prepared alone (``prepare_alone``), the others tokenized together and, those in which
    some shingle repeats, aligned a few hundred at a time (``align_many``)."""
    results: list[list[Repeat]] = [[] for _ in texts]
    short = [i for i, text in enumerate(texts) if len(text) <= _ALONE_CHARS]
    for i in (i for i, text in enumerate(texts) if len(text) > _ALONE_CHARS):
        results[i] = align(prepare_alone(texts[i], params.ngram, params.mode), (), params)
    if not short:
        return results
    batch = [texts[i] for i in short] if len(short) < len(texts) else texts
    tokens = tokenize(batch, params.mode)
    hashes, offsets = shingles(tokens.hashes, tokens.offsets, params.ngram)
    repeated = _texts_with_repeated_shingles(hashes, offsets).tolist()
    # Aligned a few hundred at a time (align_many): their edge extensions are computed
    # together, and what alignment keeps per text stays bounded.
    for lo in range(0, len(repeated), _TEXTS_ALIGNED_TOGETHER):
        texts_here = repeated[lo : lo + _TEXTS_ALIGNED_TOGETHER]
        queries = [PreparedText(batch[i], tokens.of(i), hashes[offsets[i] : offsets[i + 1]]) for i in texts_here]
        for i, repeats in zip(texts_here, align_many(queries, [()] * len(queries), params)):
            results[short[i]] = repeats
    return results


_TEXTS_ALIGNED_TOGETHER = 256


# A text longer than this (in characters) is prepared alone, by prepare_alone: below it,
# the memory saved is smaller than the fixed costs of a call.
_ALONE_CHARS = 1 << 18


def _texts_with_repeated_shingles(hashes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Indices of texts in which some shingle occurs twice: the only ones worth a look.

    One sort over the batch: each hash is salted with its text's index, so equal
    neighbours are repeats within one text. A rare salted collision only sends a text
    down the exact path, which then finds nothing.
    """
    n_texts = len(offsets) - 1
    if len(hashes) < 2:
        return np.zeros(0, dtype=np.int64)
    if n_texts == 1:  # align() checks it with the first occurrences it needs anyway
        return np.zeros(1, dtype=np.int64)
    text_of = np.repeat(np.arange(n_texts, dtype=np.uint64), np.diff(offsets))
    salted = hashes + text_of * np.uint64(0x9E3779B97F4A7C15)
    order = np.argsort(salted)
    ordered = salted[order]
    repeated = np.flatnonzero(ordered[1:] == ordered[:-1]) + 1
    return sorted_distinct(text_of[order[repeated]]).astype(np.int64)
