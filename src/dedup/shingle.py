"""Token hashes -> n-gram shingle hashes, for a whole batch of segments at once.

A shingle is ``ngram`` consecutive tokens of one segment; its hash combines the token
hashes with NumPy over shifted views of the token array, so the Python cost is one loop
iteration per n-gram position (``ngram`` of them), not one per shingle. A segment with
fewer than ``ngram`` tokens (but at least one) gets a single shingle of all its tokens,
so a short paragraph still has a usable signature; a segment without tokens has none.
"""

from __future__ import annotations

import numpy as np

from ._validate import check_int
from .text import mix64

_COMBINE = np.uint64(0x9FB21C651E98DF25)  # odd multiplier of the running n-gram hash


def shingles(token_hashes: np.ndarray, offsets: np.ndarray, ngram: int) -> tuple[np.ndarray, np.ndarray]:
    """Shingle hashes of every segment.

    Parameters
    ----------
    token_hashes : uint64 array
        Token hashes of all segments, concatenated.
    offsets : int array, len(segments) + 1
        Segment ``i`` owns ``token_hashes[offsets[i]:offsets[i+1]]``.
    ngram : int
        Tokens per shingle (>= 1).

    Returns
    -------
    (hashes, shingle_offsets)
        uint64 shingle hashes, concatenated; segment ``i`` owns
        ``hashes[shingle_offsets[i]:shingle_offsets[i+1]]``.
    """
    ngram = check_int("ngram", ngram, 1)
    token_hashes = np.asarray(token_hashes, dtype=np.uint64)
    offsets = np.asarray(offsets, dtype=np.int64)
    counts = np.diff(offsets)
    per_segment = np.where(counts >= ngram, counts - ngram + 1, (counts > 0).astype(np.int64))
    shingle_offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(per_segment, out=shingle_offsets[1:])
    out = np.empty(int(shingle_offsets[-1]), dtype=np.uint64)
    total = len(token_hashes)

    full = counts >= ngram
    if full.any() and total >= ngram:
        combined = _combine_windows(token_hashes, ngram)
        # Window k is valid when it ends inside the segment it starts in.
        segment_of = np.repeat(np.arange(len(counts)), counts)[: len(combined)]
        valid = np.arange(len(combined)) + ngram <= offsets[segment_of + 1]
        starts = np.flatnonzero(valid)
        seg = segment_of[starts]
        out[shingle_offsets[seg] + (starts - offsets[seg])] = combined[starts]

    short = np.flatnonzero((counts > 0) & (counts < ngram))
    if len(short):
        out[shingle_offsets[short]] = _combine_short(token_hashes, offsets[short], counts[short], ngram)
    return mix64(out), shingle_offsets


def _combine_windows(token_hashes: np.ndarray, ngram: int) -> np.ndarray:
    windows = len(token_hashes) - ngram + 1
    combined = token_hashes[:windows].copy()
    with np.errstate(over="ignore"):
        for j in range(1, ngram):
            combined *= _COMBINE
            combined += token_hashes[j : j + windows]
    return combined


def _combine_short(token_hashes: np.ndarray, starts: np.ndarray, counts: np.ndarray, ngram: int) -> np.ndarray:
    """The same running hash over all tokens of segments shorter than ``ngram``."""
    combined = token_hashes[starts].copy()
    with np.errstate(over="ignore"):
        for j in range(1, ngram - 1 + 1):
            more = counts > j
            if not more.any():
                break
            combined[more] = combined[more] * _COMBINE + token_hashes[starts[more] + j]
    # Distinguish a short segment "a b" from a full shingle that begins with "a b".
    return combined ^ counts.astype(np.uint64)
