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

DEFAULT_THRESHOLD = 0.7
DEFAULT_MIN_LENGTH = 20
DEFAULT_NGRAM = 5
DEFAULT_MAX_GAP = 40

# Extension: a band of this many dropped or added words either way, stopped once the
# score falls this far below its best (match +1, change/gap -1); ending where copy and
# source both reach a sentence boundary is worth this much.
_BAND = 3
_X_DROP = 4
_BOUNDARY_BONUS = 2

# Characters that open a quotation or parenthesis: removed with the word they precede
# even when glued to the word before (unless a sentence end precedes them: then they
# close the sentence before, as in 。” or ." ).
_OPENING = set("\"'‘’“”„‚«‹([{¿¡「『（【〈《〔［｛")
_SENTENCE_TERMINATORS = set(".!?…" + SENTENCE_MARKS)
_CLOSING = set("\"'’”»›")


@dataclass(frozen=True)
class Repeat:
    """A later passage that repeats an earlier one.

    ``text[start:end]`` is the repeat (what ``clean`` removes, apart from whitespace).
    ``source`` says where the earlier passage is: ``None`` for the same text (then
    ``text[source_start:source_end]`` is it, before ``start``), or the index of the
    source text in the ``sources`` given to :func:`find_repeats`. ``similarity`` is the
    share of the repeat's word n-grams found in the source passage (1.0: all of them, as
    in a copy identical up to case, accents, punctuation and whitespace, or one that only
    dropped words).
    """

    start: int
    end: int
    source_start: int
    source_end: int
    similarity: float
    source: int | None = None

    def to_dict(self) -> dict:
        return {
            "start": self.start,
            "end": self.end,
            "source": self.source,
            "source_start": self.source_start,
            "source_end": self.source_end,
            "similarity": round(self.similarity, 4),
        }


@dataclass(frozen=True)
class RepeatParams:
    """Validated parameters of repeat detection (see ``find_repeats``)."""

    threshold: float = DEFAULT_THRESHOLD
    min_length: int = DEFAULT_MIN_LENGTH
    ngram: int = DEFAULT_NGRAM
    max_gap: int = DEFAULT_MAX_GAP
    mode: str = DEFAULT_MODE

    def __post_init__(self) -> None:
        check_choice("mode", self.mode, TOKEN_MODES)
        check_fraction("threshold", self.threshold, closed_high=True)
        check_int("min_length", self.min_length, 1)
        check_int("ngram", self.ngram, 1)
        check_int("max_gap", self.max_gap, 0)

    @classmethod
    def from_keywords(cls, function: str, params: dict) -> RepeatParams:
        """``RepeatParams(**params)``, with a misspelled keyword named against ``function``.

        >>> RepeatParams.from_keywords("clean_many", {"treshold": 0.5})
        Traceback (most recent call last):
        TypeError: clean_many() got an unexpected keyword argument 'treshold'; accepted: threshold, min_length, ngram, max_gap, mode
        """
        accepted = [f.name for f in fields(cls)]
        for name in params:
            if name not in accepted:
                raise TypeError(
                    f"{function}() got an unexpected keyword argument {name!r}; accepted: {', '.join(accepted)}"
                )
        return cls(**params)


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


def remove_spans(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """Delete the character ranges ``spans`` from ``text`` and tidy the whitespace.

    Ranges separated only by whitespace are removed as one. Of the whitespace around a
    removed range, one separator is kept: the one with more line breaks (so paragraph
    breaks survive); at the start or end of the text, the outer side is kept. Returns
    ``text`` itself when there is nothing to remove. :func:`removed_ranges` says which
    characters go.

    Examples
    --------
    >>> remove_spans("Keep this.\\n\\nDrop this. Keep that.", [(12, 22)])
    'Keep this.\\n\\nKeep that.'
    """
    text = check_text("text", text)
    cuts = removed_ranges(text, spans)
    if not cuts:
        return text
    kept = zip([0, *(end for _, end in cuts)], [*(start for start, _ in cuts), len(text)])
    return "".join(text[start:end] for start, end in kept)


def removed_ranges(text: str, spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """The character ranges that :func:`remove_spans` deletes from ``text``: the merged
    ``spans``, each with the whitespace the tidying takes. Sorted and disjoint.

    >>> removed_ranges("Keep this.\\n\\nDrop this. Keep that.", [(12, 22)])
    [(12, 23)]
    """
    cuts = []
    position = 0
    for start, end in merge_spans(text, spans):
        before = start
        while before > position and text[before - 1].isspace():
            before -= 1
        after = end
        while after < len(text) and text[after].isspace():
            after += 1
        if before == 0 or after == len(text):
            # At an edge of the text: drop the whitespace between the removal and the
            # remaining text, keep the whitespace at the edge (e.g. a final newline).
            cut = (start, after) if before == 0 else (before, end)
        elif text[start:after].count("\n") > text[before:start].count("\n"):
            cut = (before, end)  # keep the separator after the removal
        else:
            cut = (start, after)  # keep the separator before it
        cuts.append(cut)
        position = cut[1]
    return cuts


def merge_spans(text: str, spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted union of character ranges of ``text``; ranges separated only by whitespace are joined.

    Raises ``ValueError`` for a range outside the text.
    """
    ordered = sorted((int(s), int(e)) for s, e in spans if e > s)
    merged: list[tuple[int, int]] = []
    for start, end in ordered:
        if start < 0 or end > len(text):
            raise ValueError(f"span ({start}, {end}) is outside the text of length {len(text)}")
        if merged and (start <= merged[-1][1] or not text[merged[-1][1] : start].strip()):
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


# --- prepared texts --------------------------------------------------------------------


_WORDS_BLOCK = 64


class PreparedText:
    """A text with its tokens and shingle hashes: what the engine aligns.

    Make them with :func:`prepare` (one vectorised pass for a batch); a text prepared
    once can be aligned against many others.
    """

    __slots__ = ("text", "tokens", "shingles", "_boundaries", "_words_before", "_first_occurrences", "_digest")

    def __init__(self, text: str, tokens: Tokens, shingle_hashes: np.ndarray) -> None:
        self.text = text
        self.tokens = tokens
        self.shingles = shingle_hashes
        self._boundaries: _Boundaries | None = None
        self._words_before: np.ndarray | None = None
        self._first_occurrences: np.ndarray | None = None
        self._digest: bytes | None = None

    @property
    def digest(self) -> bytes:
        """A 128-bit digest of the text (XXH3): what the text is known by in caches."""
        if self._digest is None:
            self._digest = xxhash.xxh3_128_digest(self.text.encode("utf-8", "surrogatepass"))
        return self._digest

    def __len__(self) -> int:
        return len(self.tokens.hashes)

    @property
    def boundaries(self) -> "_Boundaries":
        if self._boundaries is None:
            self._boundaries = _Boundaries(self.text, self.tokens)
        return self._boundaries

    def words(self, first: int, end: int) -> float:
        """Length of tokens ``first .. end`` in words (``Tokens.weights``: a letter of a
        script written without spaces is part of a word)."""
        end = max(end, first)
        if self.tokens.all_words:
            return float(end - first)
        return self._words_up_to(end) - self._words_up_to(first)

    def _words_up_to(self, t: int) -> float:
        # Prefix sums every _WORDS_BLOCK tokens plus the rest of the block: a prefix sum
        # per token would cost 8 bytes a token, more than the token's share of the text.
        # (Sums of float32 weights in float64 are exact, whatever their order.)
        tokens = self.tokens
        if self._words_before is None:
            self._words_before = np.zeros((len(self) + _WORDS_BLOCK - 1) // _WORDS_BLOCK + 1, dtype=np.float64)
            step = _WORDS_BLOCK * 1024  # the weights of this many tokens at a time
            for lo in range(0, len(self), step):
                weights = tokens.weights_between(lo, lo + step)
                sums = np.add.reduceat(weights, np.arange(0, len(weights), _WORDS_BLOCK), dtype=np.float64)
                self._words_before[lo // _WORDS_BLOCK + 1 : lo // _WORDS_BLOCK + 1 + len(sums)] = sums
            np.cumsum(self._words_before, out=self._words_before)
        block = t // _WORDS_BLOCK
        return float(self._words_before[block] + tokens.weights_between(block * _WORDS_BLOCK, t).sum(dtype=np.float64))

    def lines_between(self, first: int, end: int) -> int:
        """Line breaks among the gaps before tokens ``first .. end`` (a gap with several
        line breaks counts once)."""
        starts, ends = self.tokens.starts, self.tokens.ends
        first, end = max(first, 1), min(end, len(starts) - 1)
        return sum("\n" in self.text[int(ends[t - 1]) : int(starts[t])] for t in range(first, end + 1))

    def first_occurrences(self) -> np.ndarray:
        """For every shingle, the position of its first occurrence in this text (computed
        once: seeding inside the text and ``has_repeated_shingle`` share it)."""
        if self._first_occurrences is None:
            self._first_occurrences = first_occurrences(self.shingles)
        return self._first_occurrences

    def has_repeated_shingle(self) -> bool:
        if len(self.shingles) < 2:
            return False
        first = self._first_occurrences
        if first is not None:  # a shingle whose first occurrence is elsewhere; in blocks:
            step = 1 << 16  # no position array as long as the text
            return any(
                bool((first[lo : lo + step] != np.arange(lo, min(lo + step, len(first)), dtype=first.dtype)).any())
                for lo in range(0, len(first), step)
            )
        ordered = np.sort(self.shingles)  # cheaper than first occurrences, which most texts never need
        return bool((ordered[1:] == ordered[:-1]).any())


def prepare(texts: Sequence[str], ngram: int = DEFAULT_NGRAM, mode: str = DEFAULT_MODE) -> list[PreparedText]:
    """Tokens and shingle hashes of ``texts``, computed in one vectorised pass."""
    tokens = tokenize(texts, mode)
    hashes, offsets = shingles(tokens.hashes, tokens.offsets, ngram)
    return [PreparedText(text, tokens.of(i), hashes[offsets[i] : offsets[i + 1]]) for i, text in enumerate(texts)]


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


def prepare_alone(text: str, ngram: int = DEFAULT_NGRAM, mode: str = DEFAULT_MODE) -> PreparedText:
    """``text`` prepared to be aligned with itself only, in less memory than ``prepare``.

    Inside one text a token or a shingle is known by the position of its first
    occurrence as well as by its hash: the same equalities, in 4 bytes instead of 8.
    Token hashes are replaced by those positions before the offsets are made
    (``tokenize_identified``), and shingle hashes are computed where the sort needs them,
    never all at once: about 18 bytes per token at the peak instead of 30 with
    ``prepare`` (a Chinese text has a token per 3 bytes). The result aligns with itself
    exactly as ``prepare``'s does; it must not be aligned with other texts.

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


class _Runs:
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


def _seed_runs(query: PreparedText, source: PreparedText, same: bool, params: RepeatParams) -> _Runs:
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
    joins = (run_first[1:] == run_first[:-1] + run_length[:-1]) & (run_source[1:] == run_source[:-1])
    if joins.any():
        group_starts = np.flatnonzero(np.r_[True, ~joins])
        group_ends = np.r_[group_starts[1:], len(run_first)] - 1
        tandem = group_ends > group_starts
        period = np.where(tandem, run_first[np.minimum(group_starts + 1, len(run_first) - 1)] - run_first[group_starts], 0)
        copy_start, copy_end = copy_start[group_starts], copy_end[group_ends]
        source_start, source_end = (
            source_start[group_starts],
            np.where(tandem, source_start[group_starts] + period, source_end[group_starts]),
        )
    else:
        period = np.zeros(len(run_first), dtype=np.int64)
    keep = (period > 0) | (copy_end - copy_start >= shortest)
    arrays = (copy_start, copy_end, source_start, source_end, period)
    if not keep.all():
        arrays = tuple(a[keep] for a in arrays)
    # Token positions fit 32 bits: a repetitive text has millions of runs.
    index_type = np.int32 if max(len(query), len(source)) < 2**31 else np.int64
    return _Runs(*(a.astype(index_type, copy=False) for a in arrays))


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
    order = np.argsort(source.shingles, kind="stable")  # stable: the first of equal hashes comes first
    ordered = source.shingles[order]

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
    join the run before or after into a tandem run (see ``_seed_runs``): text with few
    distinct words has millions of chance 5-gram repeats, and a run costs about 50 bytes
    until ``_seed_runs`` filters it.
    """
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


def _empty_runs() -> _Runs:
    empty = np.zeros(0, dtype=np.int64)
    return _Runs(empty, empty, empty, empty, empty)


# What a pair's alignment asks for while it runs (see _align_pair_steps): edges to
# extend, several lists of them that are independent of each other.
# The results: per request, the new copy edges, source edges and words matched (arrays).
_Moves = tuple[np.ndarray, np.ndarray, np.ndarray]
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


def _verified_wave(wave, runs, query, source, index, params) -> Generator:
    """The chains of a wave verified and, level by level, the parts of those that fail: a
    chain that fails as a whole (bridged over a long dropped or changed stretch) may hold
    repeats on either side of its widest gap. The edge extensions of each level are
    asked for together (steps, see ``_align_pair_steps``). Returns per level: (span or
    None per chain, index of its first part in the next level or -1)."""
    levels = []
    level = wave
    while level:
        extend = _Extensions(query, source, params)
        yield from extend.prepare(level, runs, index is None)
        next_level: list[list[int]] = []
        found, parts = [], []
        for chain in level:
            span = _verified(chain, runs, query, source, index, params, extend)
            found.append(span)
            if span is None and len(chain) > 1:
                gaps = [
                    max(runs.copy_start[b] - runs.copy_end[a], runs.source_start[b] - runs.source_end[a])
                    for a, b in zip(chain, chain[1:])
                ]
                cut = int(np.argmax(gaps)) + 1
                parts.append(len(next_level))
                next_level += [
                    _without_weak_ends(part, runs, params.ngram, query, source) for part in (chain[:cut], chain[cut:])
                ]
            else:
                parts.append(-1)
        levels.append((found, parts))
        level = next_level
    return levels


class _Chains:
    """Chains of runs as linked lists: the first run of every chain and the next run of
    every run (-1: the last), 4 bytes each, rather than lists of Python ints (a repetitive
    text has millions of runs). ``pop`` hands out the chains last first, each as a list
    of run indices in query order."""

    def __init__(self, heads: array, next_run: np.ndarray) -> None:
        self._heads, self._next = heads, next_run

    def __len__(self) -> int:
        return len(self._heads)

    def pop(self) -> list[int]:
        chain = [self._heads.pop()]
        while (following := int(self._next[chain[-1]])) >= 0:
            chain.append(following)
        return chain


# _chains reads the runs in blocks of this many (as Python ints, fast one by one).
_CHAIN_BLOCK = 4096


def _chains(runs: _Runs, query: PreparedText, same: bool, params: RepeatParams) -> _Chains:
    """Runs (by index) joined into chains that move forward in both copy and source.
    Tandem runs stand alone."""
    n, max_gap = params.ngram, params.max_gap
    # Words added in a copy: inside one text a re-pasted, updated copy may gain whole
    # sentences (removed with it); a passage taken from another text only loses or
    # changes words, and a sentence between two taken passages is the text's own.
    added = max_gap if same else min(3, n)
    index_code = "i" if len(runs) < 2**31 else "q"
    heads = array(index_code)  # the first run of every chain, in the order chains start
    next_run = np.full(len(runs), -1, dtype=np.int32 if index_code == "i" else np.int64)
    # Open chains: [last run, copy end and source end of the last run, words matched].
    active: list[list[int]] = []
    for lo in range(0, len(runs), _CHAIN_BLOCK):
        hi = min(lo + _CHAIN_BLOCK, len(runs))
        cs, ce = runs.copy_start[lo:hi].tolist(), runs.copy_end[lo:hi].tolist()
        ss, se = runs.source_start[lo:hi].tolist(), runs.source_end[lo:hi].tolist()
        period = runs.period[lo:hi].tolist()
        links_from, links_to = [], []
        for r in range(hi - lo):
            if period[r]:
                heads.append(lo + r)
                continue
            active = [c for c in active if cs[r] - c[1] <= added]
            best = None
            for chain in active:
                copy_gap, source_gap = cs[r] - chain[1], ss[r] - chain[2]
                if copy_gap <= -n or source_gap <= -n:
                    continue  # not forward in both
                # Both sides changed (a substitution) only for a few words: a rewritten
                # paragraph between copied ones is text of its own, not an edit of the copy.
                replaced = min(copy_gap, source_gap) <= 3 * n
                fits = (copy_gap <= added and source_gap <= max_gap and replaced) or (
                    # A pure deletion (the copy goes on right after the edit, only the source
                    # jumps) may skip more: an update that dropped a long sentence.
                    copy_gap <= 1 and source_gap <= 2 * max_gap + n
                )
                # Whole lines between two copied passages are an inserted paragraph of the
                # text's own, not words added to the copy.
                if fits and copy_gap > n and query.lines_between(chain[1], cs[r]) >= 2:
                    fits = False
                if fits and (best is None or chain[3] > best[3]):
                    best = chain
            if best is None:
                best = [lo + r, 0, 0, 0]
                heads.append(lo + r)
                active.append(best)
            else:
                links_from.append(best[0])
                links_to.append(lo + r)
            best[0], best[1], best[2] = lo + r, ce[r], se[r]
            best[3] += ce[r] - cs[r]
        if links_from:
            next_run[links_from] = links_to
    return _Chains(heads, next_run)


def _without_weak_ends(chain: list[int], runs: _Runs, ngram: int, query: PreparedText, source: PreparedText) -> list[int]:
    """Drop edge runs that are a short phrase separated from the rest by a longer gap.

    A phrase that occurs twice in the original can land near the chain's diagonal by
    coincidence and would pull the original words around it into the repeat. A run of
    three n-grams of words or more is never weak, nor is a whole sentence in both copy
    and source: copies whose next sentence was dropped or added start or end with one.
    """
    cs, ce, ss, se = runs.copy_start, runs.copy_end, runs.source_start, runs.source_end
    q, s = query.boundaries, source.boundaries

    def weak(run: int, before: int, after: int) -> bool:
        words = ce[run] - cs[run]
        if words >= 3 * ngram or words >= max(cs[after] - ce[before], ss[after] - se[before]) + 1:
            return False
        # Exact runs may spill a few words past the sentence end (the next sentences of
        # copy and source can start alike).
        spill = range(min(ngram, words))
        starts_sentence = any(q(int(cs[run]) + k) and s(int(ss[run]) + k) for k in spill)
        ends_sentence = any(q(int(ce[run]) - k) and s(int(se[run]) - k) for k in spill)
        return not (starts_sentence and ends_sentence)

    chain = list(chain)
    while len(chain) > 1 and weak(chain[0], chain[0], chain[1]):
        chain.pop(0)
    while len(chain) > 1 and weak(chain[-1], chain[-2], chain[-1]):
        chain.pop()
    return chain


def _verified(
    chain: list[int],
    runs: _Runs,
    query: PreparedText,
    source: PreparedText,
    index: int | None,
    params: RepeatParams,
    extend: "_Extensions",
) -> Alignment | None:
    """The chain as a verified span (extended, snapped, checked), or None."""
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
        similarity = _containment(query, (copy_start, copy_start + width), source, (source_start, source_start + width), n)
        if similarity < params.threshold:
            return None
        return Alignment(copy_start, copy_end, source_start, source_end, similarity, matched, index)

    matched = _matched_words(chain, runs, query)
    # Gapped extension at both edges. Inside one text the copy stays after its source.
    left_copy_limit = source_end if same else 0
    edge = copy_start
    copy_start, source_start, extra = extend(copy_start, source_start, -1, copy_start - left_copy_limit, source_start)
    matched += _share_in_words(query, copy_start, edge, extra)
    right_source_limit = copy_start if same else len(source)
    edge = copy_end
    copy_end, source_end, extra = extend(
        copy_end, source_end, +1, len(query) - copy_end, max(right_source_limit - source_end, 0)
    )
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
    # Inside one text copies are re-pasted bodies that end where sentences end; a passage
    # taken into another text often starts or ends mid-sentence: only a spill of one or
    # two words (an "in de", a "the") is taken for a coincidence there.
    spill = n - 1 if same else min(2, n - 1)
    copy_start, copy_end, source_start, source_end = _snap_to_sentences(
        query.boundaries, source.boundaries, (copy_start, copy_end), (source_start, source_end), spill
    )
    matched = min(matched, query.words(copy_start, copy_end))
    if matched < params.min_length:
        return None
    similarity = _containment(query, (copy_start, copy_end), source, (source_start, source_end), n)
    if similarity < params.threshold:
        return None
    if same:
        # The tail an update added matches nothing by definition; it goes with the copy
        # only when the copy with it still verifies (a short tail of a long copy).
        widened = _absorb_update_tail(
            query.boundaries.line_break_before, (copy_start, copy_end), (source_start, source_end), params.max_gap
        )
        if widened > copy_end:
            with_tail = _containment(query, (copy_start, widened), source, (source_start, source_end), n)
            if with_tail >= params.threshold:
                copy_end, similarity = widened, with_tail
    return Alignment(copy_start, copy_end, source_start, source_end, similarity, matched, index)


def _matched_words(chain: list[int], runs: _Runs, query: PreparedText) -> float:
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


# Chains are verified in waves of this many. Edge extensions asked for together (by one
# pair or by many, see _run_together) are computed together when there are at least
# _BATCH_MIN of them (below that, one by one is faster).
_WAVE = 4096
_BATCH_MIN = 32


class _Extensions:
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

    def prepare(self, chains: list[list[int]], runs: _Runs, same: bool) -> Generator:
        """Ask for the edges of ``chains`` as ``_verified`` will ask for them (steps, see
        ``_align_pair_steps``): every left edge and every right edge, whose room inside
        one text depends on where the left one went (then asked for after it)."""
        first = np.array([c[0] for c in chains])
        last = np.array([c[-1] for c in chains])
        plain = runs.period[first] == 0  # tandem runs are not extended
        first, last = first[plain], last[plain]
        copy_start = runs.copy_start[first].astype(np.int64)
        source_start = runs.source_start[first].astype(np.int64)
        copy_end = runs.copy_end[last].astype(np.int64)
        source_end = runs.source_end[last].astype(np.int64)
        left_room = copy_start - (source_end if same else 0)
        left = _EdgeRequest(self.query, self.source, -1, copy_start, source_start, left_room, source_start)

        def right(right_limit):
            source_room = np.maximum(right_limit - source_end, 0)
            copy_room = len(self.query) - copy_end
            return _EdgeRequest(self.query, self.source, +1, copy_end, source_end, copy_room, source_room)

        if same:
            (moved,) = yield [left]
            self._remember(left, moved)
            request = right(moved[0])
            (moved,) = yield [request]
            self._remember(request, moved)
        else:
            request = right(np.full(len(copy_end), len(self.source)))
            moved_left, moved_right = yield [left, request]
            self._remember(left, moved_left)
            self._remember(request, moved_right)

    def _remember(self, request: "_EdgeRequest", result) -> None:
        values = zip(*(r.tolist() for r in result))
        for (copy_edge, source_edge, copy_room, source_room), value in zip(request.edges(), values):
            self.known[(copy_edge, source_edge, request.step, copy_room, source_room)] = value


@dataclass
class _EdgeRequest:
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

    def one_by_one(self, params: RepeatParams) -> _Moves:
        """The extensions computed edge by edge (``extend_edge``)."""
        moved = [extend_edge(self.query, self.source, c, s, self.step, cr, sr, params) for c, s, cr, sr in self.edges()]
        return tuple(np.array(column, dtype=np.int64).reshape(len(moved)) for column in zip(*moved)) if moved else (
            np.zeros(0, dtype=np.int64),) * 3


def _extend_requests(requests: list[_EdgeRequest], params: RepeatParams) -> list[_Moves]:
    """``extend_edges`` of every request: edge by edge when they are few, else all
    requests' edges in one vectorised alignment (``_extend_together``)."""
    if sum(len(request) for request in requests) < _BATCH_MIN:
        return [request.one_by_one(params) for request in requests]
    return _extend_together(requests, params)


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
    request = _EdgeRequest(query, source, step, *map(as_array, (copy_edges, source_edges, copy_rooms, source_rooms)))
    return _extend_together([request], params)[0]


def _extend_together(requests: list[_EdgeRequest], params: RepeatParams) -> list[_Moves]:
    """``extend_edges`` of requests of any pairs, all edges together: one lane per edge,
    which reads the words and boundaries of its own pair from a ``_TextPool``."""
    reach = params.max_gap + params.ngram
    pool = _TextPool([text for request in requests for text in (request.query, request.source)])
    sizes = [len(request) for request in requests]

    def per_lane(values) -> np.ndarray:
        return np.repeat(np.array(values, dtype=np.int64), sizes)

    def joined(field: str) -> np.ndarray:
        return np.concatenate([getattr(request, field) for request in requests]).astype(np.int64, copy=False)

    copy_text = per_lane([pool.number(request.query) for request in requests])
    source_text = per_lane([pool.number(request.source) for request in requests])
    steps = per_lane([request.step for request in requests])
    copy_edges, source_edges = joined("copy_edges"), joined("source_edges")
    copy_rooms, source_rooms = joined("copy_rooms"), joined("source_rooms")
    moved = np.zeros((len(steps), 3), dtype=np.int64)  # rows, columns, words matched
    live = np.flatnonzero((copy_rooms > 0) & (source_rooms > 0))
    lanes = _Lanes(pool, copy_text[live], source_text[live], steps[live], copy_edges[live], source_edges[live])
    skip = _skip(lanes.equal_words(np.minimum(copy_rooms[live], source_rooms[live])), reach)
    moved[live] = skip[:, None]
    lanes = lanes.moved(skip)
    rows_room = np.minimum(copy_rooms[live] - skip, reach)
    cols_room = np.minimum(source_rooms[live] - skip, reach)
    for lo in range(0, len(live), _LANES):  # the working arrays: about 1 KB per lane
        part = slice(lo, lo + _LANES)
        window = lanes.part(part).windows(rows_room[part], cols_room[part])
        moved[live[part]] += _banded_x_drop(*window, rows_room[part], cols_room[part])
    out, at = [], 0
    for request, size in zip(requests, sizes):
        rows, columns, matched = moved[at : at + size].T
        out.append((request.copy_edges + request.step * rows, request.source_edges + request.step * columns, matched))
        at += size
    return out


class _TextPool:
    """The token hashes of several texts end to end, and their sentence boundaries: lanes
    of many pairs read their own texts in one NumPy step. A pool of one text (a text
    aligned with itself, however long) reads the text's own arrays, with no copy."""

    def __init__(self, texts: Iterable[PreparedText]) -> None:
        self._numbers: dict[int, int] = {}  # by id(): the texts of a call are alive during it
        self.texts: list[PreparedText] = []
        for text in texts:
            if id(text) not in self._numbers:
                self._numbers[id(text)] = len(self.texts)
                self.texts.append(text)
        self.counts = np.array([len(text) for text in self.texts], dtype=np.int64)
        self.starts = np.cumsum(self.counts) - self.counts
        hashes = [text.tokens.hashes for text in self.texts]
        if len({h.dtype for h in hashes}) > 1:  # prepare_alone's token ids with hashes
            hashes = [_as_int64(h) for h in hashes]
        self.hashes = hashes[0] if len(hashes) == 1 else np.concatenate(hashes)

    def number(self, text: PreparedText) -> int:
        return self._numbers[id(text)]

    def words(self, texts: np.ndarray, positions: np.ndarray) -> np.ndarray:
        """The token hashes (as int64) at ``positions`` of ``texts`` (one text per row;
        positions past either end read the nearest token)."""
        counts = self.counts[texts][:, None]
        return _as_int64(self.hashes[np.clip(positions, 0, np.maximum(counts - 1, 0)) + self.starts[texts][:, None]])

    def boundaries(self, texts: np.ndarray, positions: np.ndarray) -> np.ndarray:
        """``text.boundaries(t)`` for ``positions`` of ``texts`` (one text per row)."""
        inside = (positions > 0) & (positions < self.counts[texts][:, None])
        # The blocks of tokens these positions are in, found first (_Boundaries finds
        # them on demand), numbered across texts.
        block = _Boundaries._BLOCK
        stride = int(self.counts.max()) // block + 1
        for code in np.unique((texts[:, None] * stride + positions // block)[inside]).tolist():
            number, found = divmod(code, stride)
            self.texts[number].boundaries.find_block(found)
        flags = [text.boundaries.flag_bytes() for text in self.texts]
        flags = np.frombuffer(flags[0] if len(flags) == 1 else b"".join(flags), dtype=np.uint8)
        out = np.ones(positions.shape, dtype=bool)
        out[inside] = flags[(positions + self.starts[texts][:, None])[inside]] == 1
        return out


def _as_int64(values: np.ndarray) -> np.ndarray:
    return values.view(np.int64) if values.dtype == np.uint64 else values.astype(np.int64, copy=False)


class _Lanes:
    """Edges of any pairs as lanes: each edge's query and source (numbers in a
    ``_TextPool``), direction and copy and source edge."""

    def __init__(self, pool: _TextPool, copy_text, source_text, steps, copy_edges, source_edges) -> None:
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
        edge when leftwards), one row per lane."""
        walk = self.steps[:, None] * np.arange(count)[None, :] - (self.steps[:, None] < 0)
        return self.copy_edges[:, None] + walk, self.source_edges[:, None] + walk

    def equal_words(self, limits: np.ndarray) -> np.ndarray:
        """How many tokens from each edge on (rightwards) or before it (leftwards) are
        equal in copy and source along the diagonal, up to ``limits``: work in
        proportion to the words walked."""
        walked = np.zeros(len(self.steps), dtype=np.int64)
        active = np.flatnonzero(np.asarray(limits) > 0)
        chunk = 64
        while len(active):
            lanes = self.part(active).moved(walked[active])
            copy_at, source_at = lanes._at(chunk)
            inside = walked[active, None] + np.arange(chunk)[None, :] < limits[active, None]
            same = self.pool.words(lanes.copy_text, copy_at) == self.pool.words(lanes.source_text, source_at)
            equal = inside & same
            run = np.where(equal.all(axis=1), chunk, np.argmin(equal, axis=1))
            walked[active] += run
            active = active[run == chunk]
            chunk = min(chunk * 4, 1 << 14)
        return walked

    def windows(self, rows_room: np.ndarray, cols_room: np.ndarray):
        """What ``_banded_x_drop`` reads of each lane's window of ``rows_room`` /
        ``cols_room`` words: (copy words, source words, copy boundaries, source
        boundaries), one row per lane."""
        rows, cols = int(rows_room.max(initial=0)), int(cols_room.max(initial=0))
        copy_at, source_at = self._at(max(rows, cols))
        # words[l, i-1]: the copy word of row i; padded[l, j + _BAND]: the source word of column j
        # (padding and words beyond a lane's room are -1 / -2: they never match).
        copy_words = self.pool.words(self.copy_text, copy_at[:, :rows])
        words = np.where(np.arange(rows)[None, :] < rows_room[:, None], copy_words, -1)
        # (Wide enough for every band cell of every row: columns reach rows + _BAND.)
        width = max(rows, cols) + 2 * _BAND + 2
        padded = np.full((len(self.steps), width), -2, dtype=np.int64)
        padded[:, _BAND + 1 : _BAND + 1 + cols] = np.where(
            np.arange(cols)[None, :] < cols_room[:, None], self.pool.words(self.source_text, source_at[:, :cols]), -2
        )
        # Boundaries at every cell's edge: copy_bound[l, i] is at copy_edge + step * i.
        edges = self.steps[:, None] * np.arange(max(rows, cols) + 1)[None, :]
        copy_bound = self.pool.boundaries(self.copy_text, self.copy_edges[:, None] + edges[:, : rows + 1])
        source_bound = np.zeros((len(self.steps), width), dtype=bool)
        source_bound[:, _BAND : _BAND + cols + 1] = self.pool.boundaries(
            self.source_text, self.source_edges[:, None] + edges[:, : cols + 1]
        )
        return words, padded, copy_bound, source_bound


def _skip(equal_words, reach):
    """Words an extension passes before its X-drop window: when more words than the reach
    are equal on the diagonal (a copy whose shingles the text said before, so no seed
    marks it), all but the last few, which the window weighs for sentence ends
    (``_BOUNDARY_BONUS`` < what is left, so no skipped cell could have been the best);
    else none, and the window is the alignment's first."""
    margin = min(reach, 2 * _BAND)
    return np.where(equal_words > reach, equal_words - margin, 0)


_WIDTH = 2 * _BAND + 1
_CELLS = np.arange(_WIDTH)
_LANES = 1024  # edges aligned together at most
_NO_SCORE = -(1 << 30)


def _banded_x_drop(words, padded, copy_bound, source_bound, rows_room, cols_room) -> np.ndarray:
    """(rows, columns, matches) of the best cell of every edge's alignment (see ``extend_edge``,
    which this follows cell for cell, ties included), from its window's words and
    boundaries (``_Lanes.windows``). Lanes: one edge each; a lane leaves when its
    alignment ends (its rows run out or the X-drop stops it)."""
    lanes = len(words)
    if lanes == 0:
        return np.zeros((0, 3), dtype=np.int64)
    rows = words.shape[1]
    score = np.full((lanes, _WIDTH), _NO_SCORE, dtype=np.int64)
    matches = np.zeros((lanes, _WIDTH), dtype=np.int64)
    score[:, _BAND] = 0
    first_columns = _CELLS[_BAND + 1 :] - _BAND
    score[:, _BAND + 1 :] = np.where(first_columns[None, :] <= cols_room[:, None], -first_columns[None, :], _NO_SCORE)
    best_value = np.where(copy_bound[:, 0] & source_bound[:, _BAND], _BOUNDARY_BONUS, 0).astype(np.int64)
    best_score = np.zeros(lanes, dtype=np.int64)
    best = np.zeros((lanes, 3), dtype=np.int64)
    # Band slot k of row i is column i - _BAND + k, read at i + k in the padded arrays:
    # a row's words, boundaries and bounds are slices. inside[l, x]: column x - _BAND
    # lies within lane l's source room.
    positions = np.arange(padded.shape[1]) - _BAND
    inside_at = (positions[None, :] >= 0) & (positions[None, :] <= cols_room[:, None])
    lane = np.arange(lanes)  # the lane of each row of the working arrays
    alive = np.ones(lanes, dtype=bool)
    no_bonus = np.zeros((1, _WIDTH), dtype=np.int64)
    for i in range(1, rows + 1):
        alive &= i <= rows_room
        count = int(alive.sum())
        if count == 0:
            break
        if 2 * count <= len(lane) and len(lane) > 16:
            # Leave the lanes that ended (while most go on, computing them costs less).
            (lane, words, padded, copy_bound, source_bound, inside_at, rows_room, score, matches, best_value,
             best_score) = (x[alive] for x in (lane, words, padded, copy_bound, source_bound, inside_at, rows_room,
                                               score, matches, best_value, best_score))
            alive = np.ones(count, dtype=bool)
        inside = inside_at[:, i : i + _WIDTH]
        # Diagonal (i-1, j-1): the same band slot.
        same_word = words[:, i - 1 : i] == padded[:, i : i + _WIDTH]
        from_diagonal = score > _NO_SCORE
        if i <= _BAND:  # column 0 has no diagonal step
            from_diagonal[:, : _BAND + 1 - i] = False
        value = np.where(from_diagonal, score + (2 * same_word - 1), _NO_SCORE)
        matched = np.where(from_diagonal, matches + same_word, 0)
        # Up (i-1, j): a word added in the copy, the next band slot; taken only when better.
        up = score[:, 1:] - 1
        take_up = up > value[:, :-1]
        value[:, :-1] = np.where(take_up, up, value[:, :-1])
        matched[:, :-1] = np.where(take_up, matches[:, 1:], matched[:, :-1])
        value[~inside] = _NO_SCORE
        # Left (i, j-1): a word dropped from the copy, a running maximum along the row
        # (minus one per step) that takes the cell's own value on ties.
        coded = (value + _CELLS) * 8 + _CELLS
        np.maximum.accumulate(coded, axis=1, out=coded)
        origin = coded & 7
        row = np.where(inside, (coded >> 3) - _CELLS, _NO_SCORE)
        row_matches = np.where(inside, np.take_along_axis(matched, origin, axis=1), 0)
        row_best = row.max(axis=1)
        going = row_best >= best_score - _X_DROP
        score, matches = row, row_matches
        np.maximum(best_score, row_best, out=best_score)
        # The best cell: the first of the highest, with the bonus at boundaries.
        edited = row_matches > 0
        if i == 1:
            edited[:, _BAND] = True  # one changed word: cell (1, 1)
        bonus = np.where(edited & copy_bound[:, i : i + 1] & source_bound[:, i : i + _WIDTH], _BOUNDARY_BONUS, no_bonus)
        values = np.where(row > _NO_SCORE, row + bonus, 4 * _NO_SCORE)
        cell = values.argmax(axis=1)
        value_of_cell = values[np.arange(len(cell)), cell]
        better = alive & going & (value_of_cell > best_value)
        if better.any():
            best_value[better] = value_of_cell[better]
            best[lane[better]] = np.stack(
                [np.full(int(better.sum()), i), i - _BAND + cell[better], row_matches[better, cell[better]]], axis=1
            )
        alive &= going
    return best


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
    ``_BOUNDARY_BONUS`` more. The alignment looks ``max_gap + ngram`` words ahead at a
    time, after the words equal on the diagonal when they reach beyond it (inside one
    text, a copy's shingles that the text said before point at their first occurrence:
    no seed marks the copy there, and only the extension reaches its last words).
    Returns (new copy edge, new source edge, words matched exactly on the way).
    """
    reach = params.max_gap + params.ngram
    if copy_room <= 0 or source_room <= 0:
        return copy_edge, source_edge, 0
    skip = int(_skip(_equal_words_at(query, source, copy_edge, source_edge, step, min(copy_room, source_room), reach), reach))
    copy_at, source_at = copy_edge + step * skip, source_edge + step * skip
    i, j, m = _x_drop_window(query, source, copy_at, source_at, step, min(copy_room - skip, reach), min(source_room - skip, reach))
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
    pool = _TextPool([query, source])
    lanes = _Lanes(pool, np.array([0]), np.array([pool.number(source)]), np.array([step]),
                   np.array([copy_edge + step * near]), np.array([source_edge + step * near]))
    return near + int(lanes.equal_words(np.array([limit - near]))[0])


def _x_drop_window(query, source, copy_edge, source_edge, step, copy_room, source_room) -> tuple[int, int, int]:
    """``extend_edge``'s alignment within ``copy_room`` / ``source_room`` words: (rows,
    columns, matches) of the best cell."""
    if copy_room <= 0 or source_room <= 0:
        return 0, 0, 0
    # Only the words within reach, as Python ints (fast to compare one by one).
    q_tokens, s_tokens = query.tokens.hashes, source.tokens.hashes
    if step > 0:
        a = q_tokens[copy_edge : copy_edge + copy_room].tolist()
        b = s_tokens[source_edge : source_edge + source_room].tolist()
    else:
        a = q_tokens[copy_edge - copy_room : copy_edge][::-1].tolist()
        b = s_tokens[source_edge - source_room : source_edge][::-1].tolist()
    # Boundaries at every cell's edge: copy_bound[i] is at copy_edge + step * i.
    copy_bound = query.boundaries.flags(copy_edge, copy_edge + step * (len(a) + 1), step)
    source_bound = source.boundaries.flags(source_edge, source_edge + step * (len(b) + 1), step)

    def at_boundaries(i: int, j: int) -> bool:
        return copy_bound[i] and source_bound[j]

    width = 2 * _BAND + 1
    minus_inf = -(1 << 30)
    # Row i holds cells (i, j) for j = i - _BAND + k, k in [0, width): scores and matches.
    score = [minus_inf] * width
    matches = [0] * width
    score[_BAND] = 0
    for k in range(_BAND + 1, width):
        j = k - _BAND
        if j <= len(b):
            score[k] = -j
    best_value = _BOUNDARY_BONUS if at_boundaries(0, 0) else 0
    best = (0, 0, 0)
    best_score = 0
    for i in range(1, len(a) + 1):
        token = a[i - 1]
        row = [minus_inf] * width
        row_matches = [0] * width
        diagonal_word = i - _BAND - 1  # b[diagonal_word + k]: the source word of cell k's diagonal step
        left, left_matches = minus_inf, 0  # cell (i, j-1)
        # Cells with 0 <= j <= len(b) only (this loop is the engine's hottest: kept lean).
        for k in range(max(0, _BAND - i), min(width, len(b) - i + _BAND + 1)):
            value, m = minus_inf, 0
            if score[k] > minus_inf and diagonal_word + k >= 0:  # diagonal: (i-1, j-1)
                if token == b[diagonal_word + k]:
                    value, m = score[k] + 1, matches[k] + 1
                else:
                    value, m = score[k] - 1, matches[k]
            if k + 1 < width and score[k + 1] - 1 > value:  # (i-1, j): a word added in the copy
                value, m = score[k + 1] - 1, matches[k + 1]
            if left - 1 > value:  # (i, j-1): a word dropped from the copy
                value, m = left - 1, left_matches
            row[k], row_matches[k] = left, left_matches = value, m
        score, matches = row, row_matches
        row_best = max(score)
        if row_best < best_score - _X_DROP:
            break
        best_score = max(best_score, row_best)
        if not copy_bound[i]:  # no bonus in this row: its first best cell, if better
            if row_best > best_value:
                k = score.index(row_best)
                best_value, best = row_best, (i, i - _BAND + k, matches[k])
            continue
        for k in range(width):
            if score[k] <= minus_inf:
                continue
            j = i - _BAND + k
            # The bonus needs a matched word (a boundary alone does not make added words
            # copied), or a single changed word between the edge and the boundaries.
            edited_edge = matches[k] or i == j == 1
            value = score[k] + (_BOUNDARY_BONUS if edited_edge and at_boundaries(i, j) else 0)
            if value > best_value:
                best_value, best = value, (i, j, matches[k])
    return best


class _Boundaries:
    """Where sentences and lines end between tokens. Token indices past either end of
    the text count as boundaries of both kinds.

    Sentence boundaries are found one block of tokens at a time, with one regular
    expression search over the block's text, and kept as one byte per token: the
    extension asks about the same few tokens many times.
    """

    _BLOCK = 128

    def __init__(self, text: str, tokens: Tokens) -> None:
        self.text, self.tokens = text, tokens
        self._count = len(tokens.starts)
        # Byte arrays: fast to read one by one from Python, and viewed by NumPy in ``at``.
        self._flags = bytearray(self._count)
        self._blocks_done = bytearray(self._count // self._BLOCK + 1)

    def _gap(self, t: int) -> str | None:
        if t <= 0 or t >= self._count:
            return None
        return self.text[int(self.tokens.ends[t - 1]) : int(self.tokens.starts[t])]

    def __call__(self, t: int) -> bool:
        """Does a sentence or paragraph end between token t-1 and token t?"""
        if t <= 0 or t >= self._count:
            return True
        if not self._blocks_done[t // self._BLOCK]:
            self._find_block(t // self._BLOCK)
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
        """Find the boundaries of the tokens of ``block`` (tokens ``block * _BLOCK`` on),
        unless found already (see ``flag_bytes``)."""
        if not self._blocks_done[block]:
            self._find_block(block)

    def flag_bytes(self) -> bytearray:
        """One byte per token, 1 where a boundary comes before it: right for the blocks
        of tokens found (``find_block``). Read only."""
        return self._flags

    def _find_blocks(self, lowest: int, highest: int) -> None:
        """Find the flags of the blocks of tokens ``lowest .. highest`` not yet seen."""
        lowest, highest = max(lowest, 1), min(highest, self._count - 1)
        for block in range(lowest // self._BLOCK, highest // self._BLOCK + 1):
            if not self._blocks_done[block]:
                self._find_block(block)

    def _find_block(self, block: int) -> None:
        """Flags of the block's tokens: a gap before token t holding a line break or a
        sentence end (``SENTENCE_END`` as it matches the gap on its own: its characters
        are never part of a token, so every match lies inside one gap)."""
        lo = max(block * self._BLOCK, 1)
        hi = min((block + 1) * self._BLOCK, self._count)
        self._blocks_done[block] = 1
        if hi <= lo:
            return
        starts, ends = self.tokens.starts, self.tokens.ends
        origin = int(ends[lo - 1])
        region = self.text[origin : int(starts[hi - 1])]
        found = [m.start() + origin for m in _BOUNDARY_MARK.finditer(region)]
        if found:
            # The gap before token t is [ends[t-1], starts[t]): a mark at p lies in the gap
            # of the first token starting after it.
            tokens = np.searchsorted(starts[lo:hi], np.array(found, dtype=np.int64), side="right") + lo
            for t in tokens.tolist():
                self._flags[t] = 1

    def line_break_before(self, t: int) -> bool:
        gap = self._gap(t)
        return gap is None or "\n" in gap


# A line break or a sentence end, as _Boundaries looks for them in the gaps between tokens.
_BOUNDARY_MARK = re.compile("\n|" + SENTENCE_END.pattern)


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


def _containment(query: PreparedText, copy, source: PreparedText, source_span, n: int) -> float:
    """Share of the copy's shingles (of its words, when shorter than ``n``) in the source span."""
    def shingle_set(prepared: PreparedText, span) -> np.ndarray:
        start, end = span
        if end - start >= n:
            return np.unique(prepared.shingles[start : end - n + 1])
        return np.unique(prepared.tokens.hashes[start:end])

    a, b = shingle_set(query, copy), shingle_set(source, source_span)
    return len(np.intersect1d(a, b, assume_unique=True)) / len(a) if len(a) else 1.0


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
        self._starting: dict[int, list[Alignment]] = {}  # accepted repeats by where they start
        self._ending: dict[int, list[Alignment]] = {}  # and by where they end
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
                shift = lo - span.copy_start
                source_start = min(span.source_start + shift, span.source_end)
                source_end = max(source_start, span.source_end - (span.copy_end - hi))
                # A piece is a repeat of its own when its matched words (at least its
                # words less all the words the alignment did not match) reach
                # min_length, or a fragment of the repeat it touches when it goes on in
                # the same order (its source before, or after, that repeat's source): a
                # copy's words aligned elsewhere. Not so the original's last sentence
                # before a copy that starts like what followed an earlier, similar one.
                touches = any(o.source != span.source or source_end <= o.source_start for o in starting.get(hi, ())) or any(
                    o.source != span.source or source_start >= o.source_end for o in ending.get(lo, ())
                )
                if query.words(lo, hi) - unmatched < self.min_length and not touches:
                    continue
                kept.append(
                    Alignment(lo, hi, source_start, source_end, span.similarity, min(span.matched, query.words(lo, hi)), span.source)
                )
            # Pieces of one span never touch each other (a taken range lies between them).
            for piece in kept:
                taken.add(piece.copy_start, piece.copy_end)
                starting.setdefault(piece.copy_start, []).append(piece)
                ending.setdefault(piece.copy_end, []).append(piece)
            for piece in kept:
                if piece.source is None:
                    for lo, hi in taken.free_pieces(piece.source_start, piece.source_end):
                        taken.add(lo, hi)
            self.accepted += kept

    def spans(self) -> list[Alignment]:
        """The accepted spans, sorted by copy start."""
        return sorted(self.accepted, key=lambda s: s.copy_start)


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


def _to_repeats(query: PreparedText, sources: Sequence[PreparedText], spans: list[Alignment]) -> list[Repeat]:
    repeats: list[Repeat] = []
    for span in spans:
        start, end = _char_range(query.text, query.tokens, span.copy_start, span.copy_end)
        if repeats and start < repeats[-1].end:
            start = repeats[-1].end
        origin = query if span.source is None else sources[span.source]
        src_start, src_end = _char_range(origin.text, origin.tokens, span.source_start, span.source_end)
        if span.source is None:
            src_end = min(src_end, start)
        repeats.append(Repeat(start, end, src_start, src_end, float(span.similarity), span.source))
    return repeats


def _char_range(text: str, tokens: Tokens, first: int, end: int) -> tuple[int, int]:
    """Characters of tokens [first, end), with the punctuation that belongs to them.

    Before the first word: the non-space characters glued to it (an opening quote or
    bracket, a dash), and on the same line any stand-alone punctuation (a bullet, a
    dash) between it and the previous word; of characters glued to the previous word,
    only opening quotes and brackets. After the last word: what is glued to it, and
    stand-alone punctuation up to the end of its line.
    """
    if end <= first:
        position = int(tokens.starts[first]) if first < len(tokens.starts) else len(text)
        return position, position
    start = int(tokens.starts[first])
    stop = int(tokens.ends[end - 1])
    limit = int(tokens.ends[first - 1]) if first > 0 else 0
    # Glued to the first word.
    glued = start
    while glued > limit and not text[glued - 1].isspace():
        glued -= 1
    if glued > limit or first == 0:
        start = glued
        # Stand-alone punctuation on the same line, not glued to the previous word.
        position = start
        while True:
            blank = position
            while blank > limit and text[blank - 1].isspace() and text[blank - 1] != "\n":
                blank -= 1
            chunk = blank
            while chunk > limit and not text[chunk - 1].isspace():
                chunk -= 1
            if chunk == blank or (chunk == limit and first > 0) or not _is_mark(text[chunk:blank]):
                break
            if _closes(text[chunk:blank]):
                break  # the full stop or bracket ending the text before (". Next"), not a bullet
            position = start = chunk
    else:
        while start > limit and text[start - 1] in _OPENING:
            # After a sentence end, a quote that can close ("." + ", 。+ ”) closes the
            # sentence before; one that only opens (“ 「 after 。) opens the copy.
            if text[start - 1] in _CLOSING and start - 1 > 0 and text[start - 2] in _SENTENCE_TERMINATORS:
                break
            start -= 1
    next_word = int(tokens.starts[end]) if end < len(tokens.starts) else len(text)
    while stop < next_word and not text[stop].isspace():
        stop += 1
    # Stand-alone punctuation after the last word, up to the end of the line.
    line_end = text.find("\n", stop, next_word)
    tail_end = next_word if line_end < 0 else line_end
    tail = text[stop:tail_end].strip()
    if tail and _is_mark("".join(tail.split())) and (line_end >= 0 or end == len(tokens.starts)):
        stop = stop + len(text[stop:tail_end].rstrip())
    if end == len(tokens.starts):
        # A copy that runs to the end of the text takes all of it: what follows its last
        # word holds no word, only its closing marks (a full stop on a line of its own,
        # a closing quote after a space, a rule).
        stop = max(stop, len(text.rstrip()))
    # A line of marks right above or below the copy (a rule, a box, "***") frames it.
    line_start = text.rfind("\n", limit, start) + 1
    if line_start > limit and not text[line_start:start].strip():
        above = text.rfind("\n", limit, line_start - 1) + 1
        framing = text[above : line_start - 1].strip()
        if above > limit and framing and _is_mark("".join(framing.split())):
            start = above + text[above:line_start].index(framing[0])
    line_end = text.find("\n", stop, next_word)
    if line_end >= 0 and not text[stop:line_end].strip():
        below_end = text.find("\n", line_end + 1, next_word)
        framing = text[line_end + 1 : next_word if below_end < 0 else below_end].strip()
        if framing and _is_mark("".join(framing.split())) and (below_end >= 0 or end == len(tokens.starts)):
            stop = text.index(framing, line_end + 1) + len(framing)
    return start, stop


def _closes(chunk: str) -> bool:
    """Does a stand-alone chunk of marks end what comes before it (a full stop, a comma, a
    closing bracket) rather than open what follows (a bullet, a dash, an opening quote)?"""
    return chunk[-1] in _SENTENCE_TERMINATORS or chunk[-1] in ",;:，、；：" or unicodedata.category(chunk[-1]) == "Pe"


def _is_mark(chunk: str) -> bool:
    """Only punctuation and symbols (bullets, dashes, quotes, box drawing)?"""
    return all(unicodedata.category(c)[0] in "PS" for c in chunk)
