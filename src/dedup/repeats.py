"""Repeats inside one text: find later passages that near-duplicate earlier ones, remove them.

Pipeline (one text, or a batch of texts sharing the vectorised first stages):

1. ``text.tokenize`` -> tokens with character offsets; ``shingle.shingles`` -> n-gram hashes.
2. Anchors: every shingle that occurred earlier in the text points to its *first*
   occurrence (one ``np.unique``); the diagonal ``d = k - first[k]`` is constant along a
   copied stretch. First occurrences make every copy (second, third, ...) point at the
   original, never at another copy.
3. Runs: consecutive anchors on the same diagonal (vectorised). A run of ``r`` shingles
   is an exact match of ``r + ngram - 1`` tokens.
4. Chains: runs joined across small gaps (``max_gap`` tokens) when both the copy and its
   source move forward: this bridges changed words, added or dropped sentences, while
   stray anchors (common phrases elsewhere in the text) start chains of their own that
   ``min_length`` discards. This is the only per-element Python loop, and it runs per
   *run*, a handful per repeat.
5. Verification: the exact Jaccard similarity of the shingle sets of copy and source must
   reach ``threshold``; the copy must have at least ``min_length`` words.
6. Spans: token ranges -> character ranges (with the punctuation attached to their edge
   words) -> removal that tidies only the whitespace it created.

Within one text every shingle is at hand, so candidates come from exact shingle-hash
matches rather than MinHash estimates: the same hashes the signatures are built from, but
exact, word-precise and linear in the text length. MinHash/LSH are used where texts cannot
all be held at once: across articles (``dedup.deduplicator``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Iterable, Sequence

import numpy as np

from ._validate import check_fraction, check_int, check_text, check_texts
from .shingle import shingles
from .text import SENTENCE_END, Tokens, tokenize

DEFAULT_THRESHOLD = 0.5
DEFAULT_MIN_LENGTH = 20
DEFAULT_NGRAM = 5
DEFAULT_MAX_GAP = 40

# Characters that open a quotation or parenthesis: removed with the word they precede.
_OPENING = set("\"'‘’“”„‚,«‹([{¿¡")


@dataclass(frozen=True)
class Repeat:
    """A later passage that repeats an earlier one.

    ``text[start:end]`` is the repeat (what ``clean`` removes, apart from whitespace);
    ``text[source_start:source_end]`` is the earlier passage it repeats (kept);
    ``similarity`` is the Jaccard similarity of their word n-gram sets (1.0: identical
    up to case, accents, punctuation and whitespace).
    """

    start: int
    end: int
    source_start: int
    source_end: int
    similarity: float

    def to_dict(self) -> dict:
        return {
            "start": self.start,
            "end": self.end,
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

    def __post_init__(self) -> None:
        check_fraction("threshold", self.threshold, closed_high=True)
        check_int("min_length", self.min_length, 1)
        check_int("ngram", self.ngram, 1)
        check_int("max_gap", self.max_gap, 0)

    @classmethod
    def from_keywords(cls, function: str, params: dict) -> RepeatParams:
        """``RepeatParams(**params)``, with a misspelled keyword named against ``function``.

        >>> RepeatParams.from_keywords("clean_many", {"treshold": 0.5})
        Traceback (most recent call last):
        TypeError: clean_many() got an unexpected keyword argument 'treshold'; accepted: threshold, min_length, ngram, max_gap
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
    threshold: float = DEFAULT_THRESHOLD,
    min_length: int = DEFAULT_MIN_LENGTH,
    ngram: int = DEFAULT_NGRAM,
    max_gap: int = DEFAULT_MAX_GAP,
) -> list[Repeat]:
    """Find passages of ``text`` that repeat an earlier passage of the same text.

    Parameters
    ----------
    text : str
        The text. Any Unicode; matching ignores case, accents, punctuation, whitespace,
        soft hyphens, zero-width characters and the kind of quotes.
    threshold : float in (0, 1], default 0.5
        Minimum Jaccard similarity between the word ``ngram`` sets of a repeat and its
        source. 1.0 accepts only copies identical up to the normalisation above.
    min_length : int >= 1, default 20
        Minimum length of a repeat in words. Shorter repeats (a repeated heading, a
        refrain, a short quote) are left alone.
    ngram : int >= 1, default 5
        Words per shingle. Smaller finds copies with denser edits, larger is stricter.
    max_gap : int >= 0, default 40
        Longest stretch of words (changed, added or dropped) bridged inside one repeat.

    Returns
    -------
    list of Repeat
        Sorted by ``start``, non-overlapping; each ``source_end <= start``.

    Examples
    --------
    >>> body = ("The council approved the new budget on Tuesday after a long debate about schools, "
    ...         "roads and the cost of heating the old town hall in winter.")
    >>> find_repeats(body + "\\n\\n" + body)  # 26 words, pasted a second time
    [Repeat(start=142, end=282, source_start=0, source_end=140, similarity=1.0)]
    """
    text = check_text("text", text)
    params = RepeatParams(threshold, min_length, ngram, max_gap)
    return _find_in_batch([text], params)[0]


def find_repeats_many(texts: Iterable[str], **params) -> list[list[Repeat]]:
    """``find_repeats`` for many texts, sharing the vectorised stages across the batch."""
    texts = check_texts(texts)
    return _find_in_batch(texts, RepeatParams.from_keywords("find_repeats_many", params))


def clean(text: str, **params) -> str:
    """``text`` with every repeat found by ``find_repeats`` removed.

    Only deletes: the first occurrence of a repeated passage is kept byte for byte, and
    only the whitespace that a removal leaves doubled is removed with it. Text without
    repeats is returned unchanged (the same object). Parameters as ``find_repeats``.

    Examples
    --------
    >>> body = ("The council approved the new budget on Tuesday after a long debate about schools, "
    ...         "roads and the cost of heating the old town hall in winter.")
    >>> clean(body + "\\n\\n" + body) == body
    True
    """
    text = check_text("text", text)
    RepeatParams.from_keywords("clean", params)  # a misspelled keyword is named against clean()
    return clean_many([text], **params)[0]


def clean_many(texts: Iterable[str], **params) -> list[str]:
    """``clean`` for many texts; faster per text than calling ``clean`` in a loop."""
    texts = check_texts(texts)
    settings = RepeatParams.from_keywords("clean_many", params)
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
    ``text`` itself when there is nothing to remove.
    """
    text = check_text("text", text)
    merged = _merge_spans(text, spans)
    if not merged:
        return text
    pieces = []
    position = 0
    for start, end in merged:
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
        pieces.append(text[position : cut[0]])
        position = cut[1]
    pieces.append(text[position:])
    return "".join(pieces)


def _merge_spans(text: str, spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
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


# --- detection --------------------------------------------------------------------


def _find_in_batch(texts: Sequence[str], params: RepeatParams) -> list[list[Repeat]]:
    tokens = tokenize(texts)
    hashes, offsets = shingles(tokens.hashes, tokens.offsets, params.ngram)
    results: list[list[Repeat]] = [[] for _ in texts]
    for i in _texts_with_repeated_shingles(hashes, offsets):
        text_tokens = tokens.of(i)
        text_shingles = hashes[offsets[i] : offsets[i + 1]]
        results[i] = _repeats_in_text(texts[i], text_tokens, text_shingles, params)
    return results


def _texts_with_repeated_shingles(hashes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Indices of texts in which some shingle occurs twice: the only ones worth a look.

    One sort over the batch: each hash is salted with its text's index, so equal
    neighbours are repeats within one text. A rare salted collision only sends a text
    down the exact path, which then finds nothing.
    """
    n_texts = len(offsets) - 1
    if len(hashes) < 2:
        return np.zeros(0, dtype=np.int64)
    if n_texts == 1:
        return np.zeros(1 if len(np.unique(hashes)) < len(hashes) else 0, dtype=np.int64)
    text_of = np.repeat(np.arange(n_texts, dtype=np.uint64), np.diff(offsets))
    with np.errstate(over="ignore"):
        salted = hashes + text_of * np.uint64(0x9E3779B97F4A7C15)
    order = np.argsort(salted)
    ordered = salted[order]
    repeated = np.flatnonzero(ordered[1:] == ordered[:-1]) + 1
    return np.unique(text_of[order[repeated]]).astype(np.int64)


@dataclass
class _Chain:
    """Matched runs joined into one candidate repeat: (first shingle, last shingle, diagonal)."""

    runs: list

    @property
    def matched(self) -> int:
        return sum(last - first + 1 for first, last, _ in self.runs)

    def accepts(self, run_first: int, run_source: int, reach: int, ngram: int) -> bool:
        last, diagonal = self.runs[-1][1], self.runs[-1][2]
        gap = run_first - last
        source_gap = run_source - (last - diagonal)
        if 0 < gap <= reach and 0 < source_gap <= reach:
            return True
        # A pure deletion (the copy goes on right after the edit, only the source jumps)
        # may skip twice as much: an update that dropped a long sentence.
        return 0 < gap <= ngram + 1 and 0 < source_gap <= 2 * reach

    def without_weak_ends(self, ngram: int) -> "_Chain":
        """Drop edge runs that are a short phrase separated from the rest by a longer gap.

        A phrase that occurs twice in the original can land near the chain's diagonal by
        coincidence and would pull the original words around it into the repeat.
        """
        runs = list(self.runs)

        def weak(run, before, after):
            # A phrase (under three n-grams of words) set apart by more words than it has,
            # in the copy or in its source. A whole sentence is never weak: copies whose
            # next sentence was dropped or added start or end with one.
            words = run[1] - run[0] + ngram
            gap = after[0] - before[1]
            source_gap = (after[0] - after[2]) - (before[1] - before[2])
            return words < 3 * ngram and words < max(gap, source_gap) - ngram + 1

        while len(runs) > 1 and weak(runs[0], runs[0], runs[1]):
            runs.pop(0)
        while len(runs) > 1 and weak(runs[-1], runs[-2], runs[-1]):
            runs.pop()
        return _Chain(runs)


def _repeats_in_text(text: str, tokens: Tokens, hashes: np.ndarray, params: RepeatParams) -> list[Repeat]:
    n = params.ngram
    reach = params.max_gap + n
    chains: list[_Chain] = []
    active: list[_Chain] = []
    # A run of a single shingle is an n-word coincidence more often than copied text
    # (copied text matches for longer between two edits): such runs do not start or join
    # chains, which keeps repetitive text ("ha ha ha ...") linear. They may still extend a
    # chain's edge past a changed word (see _Singles).
    runs = _matched_runs(hashes)
    shortest_run = 1 if params.min_length <= n else 2
    singles = _Singles(runs, shortest_run)
    for run_first, run_length, diagonal in runs:
        if run_length < shortest_run:
            continue
        run = (run_first, run_first + run_length - 1, diagonal)
        active = [c for c in active if run_first - c.runs[-1][1] <= reach]
        fitting = [c for c in active if c.accepts(run_first, run_first - diagonal, reach, n)]
        if fitting:
            max(fitting, key=lambda c: c.matched).runs.append(run)
        else:
            chain = _Chain([run])
            chains.append(chain)
            active.append(chain)
    spans = []
    boundaries = _Boundaries(text, tokens)
    for chain in chains:
        span = _verified_span(singles.extend(chain.without_weak_ends(n), n), tokens.hashes, hashes, params, boundaries)
        if span is not None:
            spans.append(span)
    return _to_repeats(text, tokens, _without_overlaps(spans))


class _Singles:
    """Single-shingle runs, looked up by position to extend the edges of chains."""

    def __init__(self, runs: list, shortest_run: int) -> None:
        single = [(first, diagonal) for first, length, diagonal in runs if length < shortest_run]
        self.firsts = np.array([f for f, _ in single], dtype=np.int64)
        self.diagonals = np.array([d for _, d in single], dtype=np.int64)

    def extend(self, chain: _Chain, ngram: int) -> _Chain:
        """The chain with single runs one substitution away from its ends (a changed word
        within the first or last ``ngram`` words of a copy) added, repeatedly."""
        if not len(self.firsts):
            return chain
        runs = list(chain.runs)
        near = ngram + 1  # shingles between runs around one changed word
        while True:
            first, _, diagonal = runs[0]
            lo = np.searchsorted(self.firsts, first - near)
            hi = np.searchsorted(self.firsts, first)
            found = [
                k for k in range(lo, hi)
                if 0 < (first - diagonal) - (self.firsts[k] - self.diagonals[k]) <= near
            ]
            if not found:
                break
            k = found[-1]
            runs.insert(0, (int(self.firsts[k]), int(self.firsts[k]), int(self.diagonals[k])))
        while True:
            _, last, diagonal = runs[-1]
            lo = np.searchsorted(self.firsts, last + 1)
            hi = np.searchsorted(self.firsts, last + near + 1)
            found = [
                k for k in range(lo, hi)
                if 0 < (self.firsts[k] - self.diagonals[k]) - (last - diagonal) <= near
            ]
            if not found:
                break
            k = found[0]
            runs.append((int(self.firsts[k]), int(self.firsts[k]), int(self.diagonals[k])))
        return _Chain(runs)


def _matched_runs(hashes: np.ndarray) -> list[tuple[int, int, int]]:
    """(first shingle, length, diagonal) of every run of anchors, in text order."""
    count = len(hashes)
    if count < 2:
        return []
    _, first_index, inverse = np.unique(hashes, return_index=True, return_inverse=True)
    first = first_index[inverse.ravel()]
    anchors = np.flatnonzero(first < np.arange(count))
    if len(anchors) == 0:
        return []
    diagonals = anchors - first[anchors]
    starts_run = np.empty(len(anchors), dtype=bool)
    starts_run[0] = True
    starts_run[1:] = (np.diff(anchors) != 1) | (np.diff(diagonals) != 0)
    run_index = np.cumsum(starts_run) - 1
    lengths = np.bincount(run_index)
    return list(zip(anchors[starts_run].tolist(), lengths.tolist(), diagonals[starts_run].tolist()))


def _verified_span(chain: _Chain, token_hashes: np.ndarray, hashes: np.ndarray, params: RepeatParams, boundaries):
    """Token ranges (copy, source) and similarity of a chain, or None if it fails the checks."""
    n = params.ngram
    (first, _, first_diagonal), (_, last, last_diagonal) = chain.runs[0], chain.runs[-1]
    copy_start, copy_end = first, last + n
    source_start, source_end = first - first_diagonal, last - last_diagonal + n
    # Exact word matches beyond the first/last shared shingle: fewer than n words, since
    # n matching words would have formed a shingle of the run. The cap keeps periodic
    # text ("ha ha ha ...") linear.
    for _ in range(n - 1):
        if not (copy_start > source_end and source_start > 0):
            break
        if token_hashes[copy_start - 1] != token_hashes[source_start - 1]:
            break
        copy_start -= 1
        source_start -= 1
    for _ in range(n - 1):
        if not (copy_end < len(token_hashes) and source_end < copy_start):
            break
        if token_hashes[copy_end] != token_hashes[source_end]:
            break
        copy_end += 1
        source_end += 1
    if source_end > copy_start:
        # The source runs into the copy: shingles straddling the end of one copy and the
        # start of the next (text + copy + copy) match the junction text + copy. The
        # words past the overlap belong to the next passage, not to this repeat.
        overlap = source_end - copy_start
        copy_end -= overlap
        source_end = copy_start
        if copy_end <= copy_start:
            return None
    copy_start, copy_end, source_start, source_end = _snap_to_sentences(
        boundaries, (copy_start, copy_end), (source_start, source_end), n
    )
    if _matched_words(chain, n, copy_start, copy_end) < params.min_length:
        return None
    copy_end = _absorb_update_tail(
        boundaries.line_break_before, (copy_start, copy_end), (source_start, source_end), params.max_gap
    )
    similarity = _shingle_jaccard(hashes, token_hashes, (copy_start, copy_end), (source_start, source_end), n)
    if similarity < params.threshold:
        return None
    return copy_start, copy_end, source_start, source_end, similarity


def _matched_words(chain: _Chain, ngram: int, copy_start: int, copy_end: int) -> int:
    """Words of the copy [copy_start, copy_end) covered by the chain's exact-match runs.

    ``min_length`` counts these, not the span: a short span bridged over changed words
    (two lists with the same layout and other names) is no repeat of ``min_length`` words.
    """
    covered = 0
    reach = copy_start
    for first, last, _ in chain.runs:
        lo, hi = max(first, reach, copy_start), min(last + ngram, copy_end)
        if hi > lo:
            covered += hi - lo
            reach = hi
    # Exact words the edges were extended by (fewer than ngram each side) count too.
    covered += max(0, chain.runs[0][0] - copy_start) + max(0, copy_end - (chain.runs[-1][1] + ngram))
    return covered


class _Boundaries:
    """Where sentences and lines end between tokens. Token indices past either end of
    the text count as boundaries of both kinds."""

    def __init__(self, text: str, tokens: Tokens) -> None:
        self.text, self.tokens = text, tokens

    def _gap(self, t: int) -> str | None:
        if t <= 0 or t >= len(self.tokens.starts):
            return None
        return self.text[int(self.tokens.ends[t - 1]) : int(self.tokens.starts[t])]

    def __call__(self, t: int) -> bool:
        """Does a sentence or paragraph end between token t-1 and token t?"""
        gap = self._gap(t)
        return gap is None or "\n" in gap or SENTENCE_END.search(gap) is not None

    def line_break_before(self, t: int) -> bool:
        gap = self._gap(t)
        return gap is None or "\n" in gap


def _snap_to_sentences(boundary_before, copy, source, ngram: int):
    """Cut edges that reach a few words into a sentence continuing outside the repeat.

    When the text after a copy starts like the text after its source ("The", "De", "In
    de"), shingles straddling the edge match too, and the repeat spills up to
    ``ngram - 1`` words into the next sentence. Such a spill always belongs to a sentence
    that goes on beyond the repeat; a copy that really ends a few words into a sentence
    is followed by a break, a paragraph or the end of the text, and is left as it is.
    """
    (copy_start, copy_end), (source_start, source_end) = copy, source
    spill = ngram - 1
    # A source edge at a sentence boundary means the copy's edge words are copied text
    # ("Michael P." is no sentence end, but its source starts where the copy does).
    if not boundary_before(copy_start) and not boundary_before(source_start):
        for words in range(spill, 0, -1):
            if copy_start + words < copy_end and boundary_before(copy_start + words):
                copy_start += words
                source_start += words
                break
    if not boundary_before(copy_end) and not boundary_before(source_end):
        for words in range(spill, 0, -1):
            if copy_end - words > copy_start and boundary_before(copy_end - words):
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

    The start of a copy is never widened: "P1, break, P2 + copy of P1" and "article,
    break, updated article with a new first sentence" look the same, and removing P2
    would lose original text. ``breaks(t)`` says whether a line break precedes token t.
    """
    (copy_start, copy_end), (source_start, source_end) = copy, source
    head_gap = copy_start - source_end
    if not (0 <= head_gap <= max_gap and source_end - source_start >= _WHOLE_TEXT_SHARE * copy_start):
        return copy_end
    for t in range(copy_end, copy_end + max_gap + 1):
        if breaks(t):
            return t
    return copy_end


def _shingle_jaccard(hashes, token_hashes, copy, source, n) -> float:
    def shingle_set(span):
        start, end = span
        if end - start >= n:
            return np.unique(hashes[start : end - n + 1])
        return np.unique(token_hashes[start:end])

    a, b = shingle_set(copy), shingle_set(source)
    union = len(np.union1d(a, b))
    return len(np.intersect1d(a, b, assume_unique=True)) / union if union else 1.0


def _without_overlaps(spans: list) -> list:
    """Sorted copy spans with later overlapping ones trimmed to start where the earlier ends."""
    result = []
    for copy_start, copy_end, source_start, source_end, similarity in sorted(spans):
        if result and copy_start < result[-1][1]:
            shift = result[-1][1] - copy_start
            if copy_end - (copy_start + shift) <= 0:
                continue
            copy_start += shift
            source_start = min(source_start + shift, source_end)
        result.append((copy_start, copy_end, source_start, source_end, similarity))
    return result


def _to_repeats(text: str, tokens: Tokens, spans: list) -> list[Repeat]:
    repeats = []
    for copy_start, copy_end, source_start, source_end, similarity in spans:
        start, end = _char_range(text, tokens, copy_start, copy_end)
        if repeats and start < repeats[-1].end:
            start = repeats[-1].end
        src_start, src_end = _char_range(text, tokens, source_start, source_end)
        src_end = min(src_end, start)
        repeats.append(Repeat(start, end, src_start, src_end, float(similarity)))
    return repeats


def _char_range(text: str, tokens: Tokens, first: int, end: int) -> tuple[int, int]:
    """Characters of tokens [first, end), widened over the punctuation attached to them."""
    start = int(tokens.starts[first])
    stop = int(tokens.ends[end - 1])
    limit = int(tokens.ends[first - 1]) if first > 0 else 0
    while start > limit and text[start - 1] in _OPENING:
        start -= 1
    next_word = int(tokens.starts[end]) if end < len(tokens.starts) else len(text)
    while stop < next_word and not text[stop].isspace():
        stop += 1
    return start, stop
