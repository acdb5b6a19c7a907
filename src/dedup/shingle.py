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
from .hashing import mix64_inplace

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

    Examples
    --------
    >>> from dedup.text import tokenize
    >>> tokens = tokenize(["een twee drie vier", "kort", ""])
    >>> hashes, offsets = shingles(tokens.hashes, tokens.offsets, 3)
    >>> offsets.tolist()  # 2 shingles, 1 for the short text, none for the empty one
    [0, 2, 3, 3]
    """
    ngram = check_int("ngram", ngram, 1)
    token_hashes = check_unsigned("token_hashes", token_hashes, np.uint64)
    offsets = check_offsets("offsets", offsets, len(token_hashes))
    counts = offsets[1:] - offsets[:-1]
    short = (counts > 0) & (counts < ngram)
    per_segment = np.maximum(counts - (ngram - 1), 0)
    per_segment[short] = 1
    shingle_offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(per_segment, out=shingle_offsets[1:])
    total = len(token_hashes)

    if total >= ngram:
        combined = _combine_windows(token_hashes, ngram)
        covers_all = offsets[0] == 0 and offsets[-1] == total
        if not (covers_all and (ngram == 1 or len(counts) == 1)):
            combined = np.compress(_windows_inside_segments(offsets, counts, ngram, len(combined)), combined)
    else:
        combined = np.zeros(0, dtype=np.uint64)

    shorts = np.flatnonzero(short)
    if len(shorts) == 0:
        out = combined
    else:
        out = np.empty(int(shingle_offsets[-1]), dtype=np.uint64)
        slots = np.ones(len(out), dtype=bool)
        slots[shingle_offsets[shorts]] = False
        out[slots] = combined
        out[shingle_offsets[shorts]] = _combine_short(token_hashes, offsets[shorts], counts[shorts], ngram)
    return mix64_inplace(out), shingle_offsets


def check_unsigned(name: str, values: object, dtype: type) -> np.ndarray:
    """``values`` as a 1-D array of ``dtype`` (uint32 or uint64); integers that do not fit
    raise instead of wrapping silently."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array, got shape {array.shape}")
    if array.dtype == dtype:
        return array
    if array.size == 0:
        return array.astype(dtype)
    if array.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold unsigned integers, got dtype {array.dtype}")
    top = np.iinfo(dtype).max
    if array.min() < 0 or array.max() > top:
        hint = " (fold 64-bit shingle hashes with dedup.minhash.fold32)" if dtype == np.uint32 else ""
        raise ValueError(f"{name} must be integers in [0, {top}]{hint}, got values in [{array.min()}, {array.max()}]")
    return array.astype(dtype)


def check_offsets(name: str, offsets: object, size: int) -> np.ndarray:
    """Segment bounds as int64: 1-D, at least one entry, non-decreasing, within [0, size]."""
    array = np.asarray(offsets)
    if array.ndim != 1 or len(array) == 0 or array.dtype.kind not in "iu":
        raise ValueError(
            f"{name} must be a non-empty 1-D integer array (segment bounds, len(segments) + 1 entries), "
            f"got shape {array.shape} and dtype {array.dtype}"
        )
    array = array.astype(np.int64, copy=False)
    if array[0] < 0 or array[-1] > size or (array[1:] < array[:-1]).any():
        raise ValueError(f"{name} must be non-decreasing bounds within [0, {size}], got {array[:8].tolist()}...")
    return array


def _windows_inside_segments(offsets: np.ndarray, counts: np.ndarray, width: int, windows: int) -> np.ndarray:
    """Mask of the ``windows`` windows of ``width`` values that end inside the segment
    they start in.

    Only the last ``width - 1`` starts of each segment cross its end (all starts of a
    segment shorter than ``width``), so they are cleared with ``width - 1`` scatters of
    one position per segment instead of a pass that maps every window to its segment.
    """
    keep = np.ones(windows, dtype=bool)
    keep[: offsets[0]] = False  # tokens outside all segments
    keep[offsets[-1] :] = False
    nonempty = counts > 0
    starts, ends = offsets[:-1][nonempty], offsets[1:][nonempty]
    for j in range(1, width):
        crossing = ends - j
        keep[crossing[(crossing >= starts) & (crossing < windows)]] = False
    return keep


def _combine_windows(token_hashes: np.ndarray, ngram: int) -> np.ndarray:
    """Running hash ``h * C + t`` over every window of ``ngram`` consecutive tokens
    (unsigned array arithmetic wraps modulo 2**64 silently, as intended)."""
    windows = len(token_hashes) - ngram + 1
    combined = token_hashes[:windows].copy()
    for j in range(1, ngram):
        combined *= _COMBINE
        combined += token_hashes[j : j + windows]
    return combined


def _combine_short(token_hashes: np.ndarray, starts: np.ndarray, counts: np.ndarray, ngram: int) -> np.ndarray:
    """The same running hash over all tokens of segments shorter than ``ngram``."""
    combined = token_hashes[starts]
    for j in range(1, ngram - 1 + 1):
        more = counts > j
        if not more.any():
            break
        combined[more] = combined[more] * _COMBINE + token_hashes[starts[more] + j]
    # Distinguish a short segment "a b" from a full shingle that begins with "a b".
    return combined ^ counts.astype(np.uint64)


def winnow(hashes: np.ndarray, offsets: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Fingerprints of every segment: the winnowed shingle hashes (Schleimer, Wilkerson
    and Aiken, 2003).

    In every run of ``window`` consecutive shingles of a segment, the smallest hash is a
    fingerprint (a segment with fewer shingles keeps its smallest). The guarantee: two
    segments that share a run of at least ``window`` shingles (``window + ngram - 1``
    words) share a fingerprint, while only about ``2 / (window + 1)`` of all shingles are
    kept.

    Parameters
    ----------
    hashes : uint64 array
        Shingle hashes of all segments, concatenated (from :func:`shingles`).
    offsets : int array, len(segments) + 1
        Segment ``i`` owns ``hashes[offsets[i]:offsets[i+1]]``.
    window : int >= 1

    Returns
    -------
    (positions, fingerprint_offsets)
        Sorted int64 positions into ``hashes`` of the fingerprints (each position once,
        even when it is the smallest of several windows); segment ``i`` owns
        ``positions[fingerprint_offsets[i]:fingerprint_offsets[i+1]]``.

    Examples
    --------
    >>> import numpy as np
    >>> hashes = np.array([9, 3, 7, 8, 1, 6, 5, 4], dtype=np.uint64)
    >>> positions, offsets = winnow(hashes, np.array([0, 5, 8]), 3)
    >>> positions.tolist(), offsets.tolist()
    ([1, 4, 7], [0, 2, 3])
    """
    window = check_int("window", window, 1)
    hashes = check_unsigned("hashes", hashes, np.uint64)
    offsets = check_offsets("offsets", offsets, len(hashes))
    positions = window_minima_positions(hashes, offsets, window)
    fingerprint_offsets = np.searchsorted(positions, offsets).astype(np.int64)
    return positions, fingerprint_offsets


def window_minima_positions(values: np.ndarray, offsets: np.ndarray, window: int) -> np.ndarray:
    """:func:`winnow`'s positions (sorted int64, each once) for ``values`` of any integer
    type, not checked: only their order matters, so the ranks of hashes among a batch's
    distinct hashes (32-bit) pick the same positions as the hashes, reading half the
    bytes.

    >>> window_minima_positions(np.array([9, 3, 7, 8, 1, 6, 5, 4], dtype=np.int32), np.array([0, 5, 8]), 3).tolist()
    [1, 4, 7]
    """
    counts = offsets[1:] - offsets[:-1]
    positions = np.zeros(0, dtype=np.int64)
    if len(values) >= window:
        # The smallest of every window over the whole array, then only windows inside
        # one segment (the last window - 1 starts of a segment reach into the next).
        positions = _window_minima(values, window)
        if not (len(counts) == 1 and offsets[0] == 0 and offsets[1] == len(values)):  # not one whole segment
            positions = positions[_windows_inside_segments(offsets, counts, window, len(positions))]
        # The smallest of a window sliding right never moves left (argmin takes the first
        # of equals): the positions are sorted already, and repeats are neighbours.
        if len(positions) > 1:
            positions = positions[np.r_[True, positions[1:] != positions[:-1]]]
    short = np.flatnonzero((counts > 0) & (counts < window))
    if len(short):  # segments with fewer values than a window (rare): each keeps its smallest
        smallest = np.array(
            [offsets[i] + int(np.argmin(values[offsets[i] : offsets[i + 1]])) for i in short.tolist()], dtype=np.int64
        )
        positions = np.insert(positions, np.searchsorted(positions, smallest), smallest)
    return positions


def _window_minima(values: np.ndarray, window: int) -> np.ndarray:
    """For every run of ``window`` consecutive values (starting at 0 .. len - window), the
    position of its smallest, the first of equal ones (``np.argmin`` of each window).

    Values of 32 bits or fewer (the ranks batch_keys winnows by) are packed above their
    positions into 64-bit integers, whose smallest in a window is the window's first
    smallest value with its place: windows of 2, 4, 8 ... values are taken from those of
    half as many, so a window costs a few passes over the array whatever its size
    (:func:`_packed_window_minima`). Otherwise, up to 8 values a window, the minima are
    taken a step of the window at a time over the whole array, and the first place each
    is met is read from a byte of flags (one bit a step): 1.6x faster than ``np.argmin``
    along the rows of a sliding window view, which loops over the windows."""
    count = len(values) - window + 1
    if values.dtype.itemsize <= 4 and len(values) < 2**32:
        return _packed_window_minima(values, window)
    if window > 8:
        return np.argmin(np.lib.stride_tricks.sliding_window_view(values, window), axis=1) + np.arange(count)
    smallest = values[:count].copy()
    for step in range(1, window):
        np.minimum(smallest, values[step : step + count], out=smallest)
    flags = np.zeros(count, dtype=np.uint8)  # bit k: the window's value k is its smallest
    equal = np.empty(count, dtype=bool)
    for step in range(window):
        np.equal(values[step : step + count], smallest, out=equal)
        flags |= equal.view(np.uint8) << np.uint8(step)
    first = np.arange(count, dtype=np.int64)
    first += _LOWEST_BIT[flags]  # every window has a smallest: no flags are all 0
    return first


def _packed_window_minima(values: np.ndarray, window: int) -> np.ndarray:
    """:func:`_window_minima` of values of 32 bits or fewer, fewer than 2**32 of them."""
    count = len(values) - window + 1
    unsigned = values.astype(np.int64) - np.iinfo(values.dtype).min if values.dtype.kind == "i" else values
    packed = unsigned.astype(np.uint64) << np.uint64(32)  # the value, then the position: the first smallest
    packed |= np.arange(len(values), dtype=np.uint64)
    width = 1  # packed[i]: the smallest of values i .. i + width - 1
    while 2 * width <= window:
        packed = np.minimum(packed[:-width], packed[width:])
        width *= 2
    if width < window:  # two windows of width overlapping to cover window values
        packed = np.minimum(packed[:count], packed[window - width : window - width + count])
    packed &= np.uint64(0xFFFFFFFF)
    return packed[:count].view(np.int64)


# The lowest set bit of every byte (0 for 0).
_LOWEST_BIT = np.array([(flags & -flags).bit_length() - 1 if flags else 0 for flags in range(256)], dtype=np.uint8)
