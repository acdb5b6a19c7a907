"""The alignment engine: passages of a text that repeat its own earlier part or given sources.

One engine finds every repeat, inside one text and across texts:

1. **Seed.** ``text.tokenize`` -> tokens with character offsets; ``shingle.shingles`` ->
   n-gram hashes. A seed is a shingle of the text that occurs in a source; it points to
   its *first* occurrence there (in the text itself: its first earlier occurrence), so
   every later copy points at the original, never at another copy. Seeds on one
   diagonal (``copy position - source position``) form a run: an exact match.
2. **Chain.** Runs are joined when copy and source both move forward across a gap of at
   most ``max_gap`` words (changed, added or dropped words); stray seeds (a common phrase
   elsewhere) start chains of their own that verification discards. Consecutive runs
   that repeat the *same* source passage (a sentence said k times, a phrase repeated
   thousands of times) are one repeat of one copy: a tandem run.
3. **Extend.** Each chain's edges are carried outward through changed, dropped or added
   words by a banded X-drop alignment (as in BLAST's gapped extension) up to the first
   real divergence; where copy and source both reach a sentence boundary the edge
   prefers it, so an edited first or last sentence goes with the copy.
4. **Verify.** A chain is a repeat when it matches at least ``min_length`` words exactly
   and the share of the copy's shingles found in its source (containment) reaches
   ``threshold``. Containment, not Jaccard similarity: a copy that dropped sentences of
   its source is no less a copy.
5. **Spans.** Token ranges -> character ranges with the punctuation that belongs to the
   edge words (opening quotes, brackets, bullets and dashes before the first word;
   closing punctuation after the last) -> removal that tidies only the whitespace it
   created.

Within one text every shingle is at hand, so seeds are exact shingle matches rather than
MinHash estimates: word-precise and linear in the text length. Across a corpus, an index
(:class:`dedup.Deduplicator`) proposes the earlier texts worth aligning against, and
this engine aligns against them.
"""

from __future__ import annotations

import re
import unicodedata
from array import array
from bisect import bisect_right
from collections import OrderedDict
from dataclasses import dataclass, fields, replace
from typing import Callable, Generator, Iterable, Sequence

import numpy as np
import xxhash

from ._validate import check_choice, check_fraction, check_int, check_text, check_texts
from .arrays import first_occurrences, first_occurrences_of
from .shingle import shingles
from .text import DEFAULT_MODE, SENTENCE_END, SENTENCE_MARKS, TOKEN_MODES, Tokens, mix64, mix64_inplace, tokenize, tokenize_identified
from .align.params import DEFAULT_THRESHOLD, DEFAULT_MIN_LENGTH, DEFAULT_NGRAM, DEFAULT_MAX_GAP, RepeatParams  # noqa: F401 (moved)
from .align.prepared import PreparedText, prepare, prepare_alone  # noqa: F401 (moved)
from .align.seed import seed_runs as _seed_runs  # noqa: F401 (moved)
from .align.chain import ADDED_WORDS_ACROSS, SUBSTITUTION_SHINGLES, DELETION_COPY_GAP, DELETION_SOURCE_GAPS, INSERTED_PARAGRAPH_LINES, STRONG_RUN_SHINGLES, chain_runs as _chains, without_weak_ends as _without_weak_ends  # noqa: F401 (moved)
from .align.extend import Moves as _Moves, extend_edge, extend_edges, EdgeRequest as _EdgeRequest, extend_requests as _extend_requests  # noqa: F401 (moved)
from .align.verify import SPILL_ACROSS, Alignment, verified_wave as _verified_wave  # noqa: F401 (moved)
from .align.overlaps import resolve_overlaps, OverlapResolver  # noqa: F401 (moved)
from .align.spans import Repeat, remove_spans, merge_spans, to_repeats as _to_repeats  # noqa: F401 (moved)


def find_repeats(
    text: str,
    *,
    sources: Sequence[str] | None = None,
    within: bool = True,
    threshold: float = DEFAULT_THRESHOLD,
    min_length: int = DEFAULT_MIN_LENGTH,
    ngram: int = DEFAULT_NGRAM,
    max_gap: int = DEFAULT_MAX_GAP,
    mode: str = DEFAULT_MODE,
) -> list[Repeat]:
    """Find passages of ``text`` that repeat an earlier passage of the same text or of ``sources``.

    Parameters
    ----------
    text : str
        The text. Any Unicode; matching ignores case, accents, punctuation, whitespace,
        soft hyphens, zero-width characters and the kind of quotes.
    sources : sequence of str, optional
        Earlier texts that ``text`` may repeat (e.g. earlier articles of a feed), oldest
        first. A passage found in several is reported against the oldest (its earliest
        copy); a passage of the text repeated in a source is reported against the source.
    within : bool, default True
        Also report passages that repeat the earlier part of ``text`` itself.
    threshold : float in (0, 1], default 0.7
        Minimum share of the repeat's word ``ngram`` shingles found in its source. 1.0
        accepts only copies that add or change nothing (up to the normalisation above).
    min_length : int >= 1, default 20
        Minimum length of a repeat in exactly matched words. Shorter repeats (a repeated
        heading, a refrain, a short quote) are left alone. In scripts written without
        spaces a letter counts as the share of a word it is on average
        (``dedup.text.SCRIPT_WEIGHTS``: 20 words are about 33 Chinese characters).
    ngram : int >= 1, default 5
        Tokens per shingle (words; letters of scripts written without spaces). Smaller
        finds copies with denser edits, larger is stricter.
    max_gap : int >= 0, default 40
        Longest stretch of tokens (changed, added or dropped) bridged inside one repeat.
        A passage of a source bridges words added in the copy only up to ``2 * ngram``
        (an edit); more is text of the copy's own (a sentence between two passages).

    Returns
    -------
    list of Repeat
        Sorted by ``start``, non-overlapping. ``source`` is ``None`` for a repeat of the
        text itself (then ``source_end <= start``), else the index into ``sources``.

    Examples
    --------
    >>> body = ("The council approved the new budget on Tuesday after a long debate about "
    ...         "schools and roads, and the mayor thanked everyone who had spoken at the meeting.")
    >>> text = body + "\\n\\n" + body
    >>> [(r.start, r.source_start, r.source_end, r.similarity) for r in find_repeats(text)]
    [(155, 0, 153, 1.0)]
    >>> later = "Late news. " + body[:120] + " More to follow."  # 21 words of it
    >>> [(r.source, r.source_start, r.similarity) for r in find_repeats(later, sources=[body])]
    [(0, 0, 1.0)]
    """
    text = check_text("text", text)
    params = RepeatParams(threshold, min_length, ngram, max_gap, mode)
    source_texts = [] if sources is None else check_texts(sources, "sources")
    prepared = prepare([text, *source_texts], params.ngram, params.mode)
    return align(prepared[0], prepared[1:], params, within=within)


def find_repeats_many(texts: Iterable[str], **params) -> list[list[Repeat]]:
    """``find_repeats`` (each text against itself) for many texts, sharing the vectorised stages."""
    texts = check_texts(texts)
    return _find_in_batch(texts, RepeatParams.from_keywords("find_repeats_many", params))


def clean(text: str, *, sources: Sequence[str] | None = None, within: bool = True, **params) -> str:
    """``text`` with every repeat found by ``find_repeats`` removed.

    Only deletes: the first occurrence of a repeated passage is kept byte for byte, and
    only the whitespace that a removal leaves doubled is removed with it. Text without
    repeats is returned unchanged (the same object). Parameters as ``find_repeats``.

    Examples
    --------
    >>> body = ("The council approved the new budget on Tuesday after a long debate about "
    ...         "schools and roads, and the mayor thanked everyone who had spoken at the meeting.")
    >>> clean(body + "\\n\\n" + body) == body
    True
    >>> clean("Breaking: " + body, sources=[body], within=False)
    'Breaking:'
    """
    text = check_text("text", text)
    settings = RepeatParams.from_keywords("clean", params)
    if sources is None and within:
        return _clean_batch([text], settings)[0]
    source_texts = check_texts(sources or [], "sources")
    prepared_sources = prepare(source_texts, settings.ngram, settings.mode)
    result = text
    # A removal can join text into a new repeat; repeat until nothing changes, so that
    # clean(clean(t)) == clean(t).
    while True:
        (query,) = prepare([result], settings.ngram, settings.mode)
        repeats = align(query, prepared_sources, settings, within=within)
        if not repeats:
            return result
        result = remove_spans(result, [(r.start, r.end) for r in repeats])


def clean_many(texts: Iterable[str], **params) -> list[str]:
    """``clean`` for many texts; faster per text than calling ``clean`` in a loop."""
    texts = check_texts(texts)
    return _clean_batch(texts, RepeatParams.from_keywords("clean_many", params))


def _clean_batch(texts: Sequence[str], settings: RepeatParams) -> list[str]:
    results = list(texts)
    pending = list(range(len(texts)))
    # A removal can join text into a new repeat; repeat until nothing changes, so that
    # clean(clean(t)) == clean(t). The second round only sees texts that changed.
    while pending:
        found = _find_in_batch([results[i] for i in pending], settings)
        changed = []
        for i, repeats in zip(pending, found):
            if repeats:
                results[i] = remove_spans(results[i], [(r.start, r.end) for r in repeats])
                changed.append(i)
        pending = changed
    return results
# --- prepared texts --------------------------------------------------------------------

def _find_in_batch(texts: Sequence[str], params: RepeatParams) -> list[list[Repeat]]:
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
    return np.unique(text_of[order[repeated]]).astype(np.int64)


# --- the engine --------------------------------------------------------------------------


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
    sources: Sequence[Sequence[PreparedText]],
    params: RepeatParams,
    *,
    within: bool = True,
    pairs: "PairAlignments | None" = None,
) -> list[list[Repeat]]:
    """:func:`align` for many texts at once: ``queries[k]`` against ``sources[k]``
    (oldest first), the same result as ``align`` text by text, faster.

    The texts are aligned in rounds: round r aligns every text not yet covered against
    its r-th source, and the edge extensions of all pairs of a round are computed
    together (one vectorised alignment for hundreds of edges, where one pair has a
    handful); the texts' own repeats come last, in a round of their own.
    """
    # Overlaps are resolved oldest source first, then the text itself (see
    # resolve_overlaps), so the spans can be resolved source by source as they are found.
    # Once the resolved repeats cover every token, no later span can keep a piece: the
    # remaining sources (a wire story's later copies, the candidates of a re-run) and
    # the text's own repeats need not be aligned at all.
    resolvers = [OverlapResolver(query, params.min_length) for query in queries]
    for index in range(max((len(s) for s in sources), default=0)):
        texts = [k for k in range(len(queries)) if index < len(sources[k]) and not resolvers[k].covers_all()]
        if not texts:
            break
        found = _pair_spans_together([(queries[k], sources[k][index]) for k in texts], index, params, pairs)
        for k, spans in zip(texts, found):
            resolvers[k].add(spans)
    if within:
        texts = [k for k, query in enumerate(queries) if not resolvers[k].covers_all() and query.has_repeated_shingle()]
        found = _run_together([_align_pair_steps(queries[k], queries[k], None, params) for k in texts], params)
        for k, spans in zip(texts, found):
            resolvers[k].add(spans)
    return [
        _to_repeats(query, text_sources, resolved.spans()) if resolved.accepted else []
        for query, text_sources, resolved in zip(queries, sources, resolvers)
    ]


def _pair_spans_together(
    texts: list[tuple[PreparedText, PreparedText]], index: int, params: RepeatParams, pairs: "PairAlignments | None"
) -> list[list["Alignment"]]:
    """The verified spans of every (query, source) of ``texts``, named as source
    ``index``: remembered ones from ``pairs``, the others aligned together (a pair that
    occurs twice, once)."""
    if pairs is None:
        return _run_together([_align_pair_steps(query, source, index, params) for query, source in texts], params)
    found = [pairs.known(query, source, params) for query, source in texts]
    missing = {}  # by key: the first (query, source) with it
    for (query, source), spans in zip(texts, found):
        if spans is None:
            missing.setdefault(pairs.key(query, source, params), (query, source))
    aligned = _run_together([_align_pair_steps(query, source, 0, params) for query, source in missing.values()], params)
    new = dict(zip(missing, aligned))
    for (query, source), spans in zip(missing.values(), aligned):
        pairs.remember(query, source, params, spans)
    out = []
    for (query, source), spans in zip(texts, found):
        if spans is None:
            spans = new[pairs.key(query, source, params)]
        out.append([replace(span, source=index) for span in spans])
    return out


class PairAlignments:
    """Alignments of one text against another, remembered by the two texts' contents.

    An alignment depends only on the two texts and the parameters, so an article that
    recurs whole (a re-run, a syndicated copy) aligned against a source it was aligned
    against before costs a dictionary lookup. Holds the ``capacity`` most recent pairs.
    """

    def __init__(self, capacity: int = 1 << 16) -> None:
        self.capacity = check_int("capacity", capacity, 1)
        self._spans: OrderedDict[tuple, list[Alignment]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._spans)

    @staticmethod
    def key(query: PreparedText, source: PreparedText, params: RepeatParams) -> tuple:
        """What a pair is remembered by."""
        # Texts are known by a 128-bit digest: a few bytes per pair, not the texts.
        return (query.digest, source.digest, params)

    def known(self, query: PreparedText, source: PreparedText, params: RepeatParams) -> list["Alignment"] | None:
        """The remembered spans of ``query`` against ``source`` (named as source 0), or None."""
        key = self.key(query, source, params)
        found = self._spans.get(key)
        if found is not None:
            self._spans.move_to_end(key)
        return found

    def remember(
        self, query: PreparedText, source: PreparedText, params: RepeatParams, spans: list["Alignment"]
    ) -> None:
        """Remember the spans of ``query`` against ``source``, named as source 0."""
        self._spans[self.key(query, source, params)] = spans
        if len(self._spans) > self.capacity:
            self._spans.popitem(last=False)
_Steps = Generator[list["_EdgeRequest"], list[_Moves], list[Alignment]]


def _align_pair_steps(query: PreparedText, source: PreparedText, index: int | None, params: RepeatParams) -> _Steps:
    """The verified spans of ``query`` against ``source`` (named as source ``index``;
    None: the query against itself), as steps: a generator that yields the edge
    extensions it needs (a list of ``_EdgeRequest``), is sent their results
    (``extend_edges``'s, one per request) and returns the spans. So the edges of many pairs can be extended together
    (``_run_together``), with the result of each pair aligned alone."""
    same = index is None
    runs = _seed_runs(query, source, same, params)
    if not len(runs):
        return []
    spans: list[Alignment] = []
    chains = _chains(runs, query, same, params)
    while chains:
        wave = [_without_weak_ends(chains.pop(), runs, params.ngram, query, source) for _ in range(min(_WAVE, len(chains)))]
        levels = yield from _verified_wave(wave, runs, query, source, index, params)
        # Spans in the order of a depth-first walk: a chain, then the parts of a chain
        # that failed (its later part first), then the next chain.
        for k in range(len(wave)):
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
    """Run the steps of many pair alignments (``_align_pair_steps``) side by side: at
    each step the edges all of them ask for are extended in one call
    (``_extend_requests``). Returns the spans of each pair."""
    out: list[list[Alignment]] = [[] for _ in pairs]
    asking: dict[int, list[_EdgeRequest]] = {}

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
        results = iter(_extend_requests([request for _, requests in waiting for request in requests], params))
        for k, requests in waiting:
            advance(k, [next(results) for _ in requests])
    return out

_WAVE = 4096
