"""Small NumPy helpers that several modules share: a growable array, connected
components of an edge list, strings packed into arrays (for ``.npz`` state files), the
first occurrence of every value of a long array of hashes, a stable sort of hashes
by NumPy's vectorised sort, and the distinct values of an array by that sort.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

__all__ = [
    "GrowableArray",
    "connected_components",
    "decode_strings",
    "encode_strings",
    "expand_ranges",
    "first_occurrences",
    "first_occurrences_of",
    "first_of_equals",
    "narrowed",
    "run_bounds",
    "run_lengths",
    "run_starts",
    "segment_sort_orders",
    "sorted_distinct",
    "stable_sort_order",
]


class GrowableArray:
    """A NumPy array with amortised O(1) appends along the first axis.

    Parameters
    ----------
    dtype : NumPy dtype
    width : int, optional
        Length of each row; ``None`` (default) for a 1-D array.

    Examples
    --------
    >>> rows = GrowableArray(np.int64, 2)
    >>> rows.extend(np.array([[1, 2], [3, 4]]))
    >>> rows.extend(np.array([[5, 6]]))
    >>> len(rows), rows.array.tolist()
    (3, [[1, 2], [3, 4], [5, 6]])
    """

    def __init__(self, dtype, width: int | None = None) -> None:
        self._shape_tail = () if width is None else (width,)
        self._data = np.empty((0, *self._shape_tail), dtype=dtype)
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def extend(self, values: np.ndarray) -> None:
        """Append the rows of ``values`` (doubling the capacity when it runs out)."""
        needed = self._size + len(values)
        if needed > len(self._data):
            grown = np.empty((max(needed, 2 * len(self._data), 256), *self._shape_tail), dtype=self._data.dtype)
            grown[: self._size] = self._data[: self._size]
            self._data = grown
        self._data[self._size : needed] = values
        self._size = needed

    @property
    def array(self) -> np.ndarray:
        """The rows appended so far (a view, valid until the next :meth:`extend`)."""
        return self._data[: self._size]

    @property
    def nbytes(self) -> int:
        """Bytes held, capacity included."""
        return self._data.nbytes


def connected_components(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Connected components of the graph on ``n`` items with edges ``(left[k], right[k])``.

    Returns, for every item, the smallest member of its component (union-find,
    vectorised). Hook-and-compress: every root points at the smallest root it is linked
    to, then pointers are jumped until each item points at its root; ``parent[i] <= i``
    throughout, so there are no cycles, and the loop ends when every edge joins one
    component.

    Examples
    --------
    >>> connected_components(5, np.array([3, 1]), np.array([4, 3])).tolist()
    [0, 1, 2, 1, 1]
    """
    parent = np.arange(n, dtype=np.int64)
    left = np.asarray(left, dtype=np.int64)
    right = np.asarray(right, dtype=np.int64)
    while True:
        root_left, root_right = parent[left], parent[right]
        differ = root_left != root_right
        if not differ.any():
            return parent
        low = np.minimum(root_left[differ], root_right[differ])
        high = np.maximum(root_left[differ], root_right[differ])
        np.minimum.at(parent, high, low)
        while True:
            jumped = parent[parent]
            if np.array_equal(jumped, parent):
                break
            parent = jumped


def encode_strings(strings: list[str]) -> dict[str, np.ndarray]:
    """Strings as two arrays, ``str_key_bytes`` (UTF-8) and ``str_key_offsets``, so they
    can be saved in an ``.npz`` file without pickle; :func:`decode_strings` reverses it.

    Examples
    --------
    >>> decode_strings(encode_strings(["a1", "", "ß"]))
    ['a1', '', 'ß']
    """
    encoded = [s.encode("utf-8", "surrogatepass") for s in strings]
    lengths = np.fromiter((len(b) for b in encoded), dtype=np.int64, count=len(encoded))
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return {"str_key_bytes": np.frombuffer(b"".join(encoded), dtype=np.uint8), "str_key_offsets": offsets}


def decode_strings(arrays: dict[str, np.ndarray]) -> list[str]:
    """The strings that :func:`encode_strings` packed into ``arrays``."""
    data = arrays["str_key_bytes"].tobytes()
    offsets = arrays["str_key_offsets"].tolist()
    return [data[a:b].decode("utf-8", "surrogatepass") for a, b in zip(offsets[:-1], offsets[1:])]


# first_occurrences sorts a long text's shingles in parts of about this many (grouped by
# their top bits, so equal hashes share a part): the sort's temporaries stay those of one part.
_SORT_PART = 1 << 16


def first_occurrences(hashes: np.ndarray) -> np.ndarray:
    """For every position, the first position holding the same hash.

    Stable sorts of parts that equal hashes share (hashes grouped by their top bits), and
    32-bit positions where they fit: a long text needs 5 bytes per shingle on top of its
    hashes, plus the temporaries of one part (``np.unique`` with index and inverse needs
    about 40 bytes per shingle).

    >>> first_occurrences(np.array([7, 3, 7, 7, 3, 5], dtype=np.uint64)).tolist()
    [0, 1, 0, 0, 1, 5]
    """
    hashes = np.asarray(hashes)
    return first_occurrences_of(len(hashes), hashes.__getitem__)


def first_occurrences_of(count: int, hashes_at: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """``first_occurrences`` of ``count`` hashes that ``hashes_at(positions)`` computes:
    they need not all be held at once (see ``prepare_alone``).

    ``hashes_at`` gets ascending positions (32-bit where they fit) and returns their
    uint64 hashes; it is called about twice per position.
    """
    index_type = np.int32 if count < 2**31 else np.int64
    first = np.empty(count, dtype=index_type)
    if count <= _SORT_PART:
        positions = np.arange(count, dtype=index_type)
        _first_in_part(hashes_at(positions), positions, first)
        return first
    # Parts by the hashes' top bits; at most 64, so the passes over ``top`` stay cheap
    # (each part's temporaries then grow with a longer text, at 1/64 of its hashes).
    bits = min(int(count // _SORT_PART).bit_length(), 6)
    top = np.empty(count, dtype=np.uint8)
    for lo in range(0, count, _SORT_PART):  # in slices: no 8-byte temporary per hash
        hi = min(lo + _SORT_PART, count)
        top[lo:hi] = hashes_at(np.arange(lo, hi, dtype=index_type)) >> np.uint64(64 - bits)
    for part in range(1 << bits):
        positions = np.flatnonzero(top == part).astype(index_type)
        if len(positions):
            _first_in_part(hashes_at(positions), positions, first)
    return first


def _first_in_part(hashes: np.ndarray, positions: np.ndarray, first: np.ndarray) -> None:
    """``first[positions]`` = first position of each hash, for ascending ``positions``
    holding every occurrence of their hashes."""
    order, ordered = stable_sort_order(hashes)  # equal hashes keep position order
    new_group = first_of_equals(ordered)
    del ordered
    sorted_positions = positions[order]
    del order
    first[sorted_positions] = sorted_positions[run_starts(new_group, positions.dtype)]


def sorted_distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values of ``values`` (any shape, flattened), sorted: ``np.unique(values)``.

    NumPy 2.3 and later find ``np.unique``'s values in a hash table, then sort them: on
    integer arrays of a thousand values or more that is 6-30x slower than one vectorised
    sort and a comparison of neighbours (160,000 hashes: 28 ms against 1 ms). For
    integers and other values without NaN; NaNs are not merged, as they are by np.unique.

    >>> sorted_distinct(np.array([5, 3, 5, 2, 3], dtype=np.uint64)).tolist()
    [2, 3, 5]
    """
    ordered = np.sort(np.asarray(values), axis=None)
    return ordered[first_of_equals(ordered)]


def first_of_equals(ordered: np.ndarray) -> np.ndarray:
    """Of sorted values, where each run of equal ones starts (bool).

    >>> first_of_equals(np.array([2, 3, 3, 5])).tolist()
    [True, True, False, True]
    """
    new = np.empty(len(ordered), dtype=bool)
    new[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    return new


def run_bounds(ordered: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Of sorted values, where each run of equal ones starts, and how long it is.

    >>> starts, lengths = run_bounds(np.array([2, 3, 3, 5]))
    >>> starts.tolist(), lengths.tolist()
    ([0, 1, 3], [1, 2, 1])
    """
    starts = np.flatnonzero(first_of_equals(ordered))
    return starts, run_lengths(starts, len(ordered))


def run_lengths(starts: np.ndarray, total: int, dtype=np.int64) -> np.ndarray:
    """How long each run is, of ``total`` entries in runs that start at ``starts``
    (ascending, the first at 0), as ``dtype``.

    >>> run_lengths(np.array([0, 1, 3]), 4).tolist()
    [1, 2, 1]
    """
    lengths = np.empty(len(starts), dtype=dtype)
    np.subtract(starts[1:], starts[:-1], out=lengths[:-1])
    lengths[-1:] = total - starts[-1:]
    return lengths


def run_starts(new: np.ndarray, dtype=np.int64) -> np.ndarray:
    """For every sorted value, the index where its run of equal values starts, from
    :func:`first_of_equals` (``new``).

    >>> run_starts(first_of_equals(np.array([2, 3, 3, 5]))).tolist()
    [0, 1, 1, 3]
    """
    starts = np.where(new, np.arange(len(new), dtype=dtype), 0)
    np.maximum.accumulate(starts, out=starts)
    return starts


def stable_sort_order(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(order, ordered)``: ``np.argsort(values, kind="stable")`` (equal values keep their
    order) and the values in that order, 1.3x (distinct values) to 4x (many ties) faster
    than ``np.argsort`` on unordered 32- and 64-bit integers such as hashes, and 5-15x
    faster than its stable sort (timsort). Each value is packed with its position into
    one 64-bit integer, which NumPy sorts in place by its vectorised (SIMD) sort: the
    value's high bits, then the position (see ``_packed_order``). Where 64-bit values
    share high bits but differ below them (about one pass in a thousand, for 200,000
    hashes), they are sorted by the default sort and the runs of equal values put back
    in position order. Values that come as a few long sorted runs are merged faster by
    ``kind="stable"`` itself (timsort finds the runs); 16-bit values are radix-sorted by it.

    >>> order, ordered = stable_sort_order(np.array([7, 3, 7, 1, 3], dtype=np.uint64))
    >>> order.tolist(), ordered.tolist()
    ([3, 1, 4, 0, 2], [1, 3, 3, 7, 7])
    """
    values = np.asarray(values)
    count = len(values)
    if values.dtype.kind not in "iu" or values.dtype.itemsize <= 2 or count >= 2**31:
        # Not integers (NaN equals nothing: its ties would not be found), a radix sort, or
        # ranks too wide to pack.
        order = np.argsort(values, kind="stable")
        return order, values[order]
    packed = _packed_order(values)
    if packed is not None:
        return packed
    order = np.argsort(values)
    ordered = values[order]
    tied = ordered[1:] == ordered[:-1]
    if not tied.any():
        return order, ordered
    in_tie = np.zeros(count, dtype=bool)
    in_tie[1:] = tied
    in_tie[:-1] |= tied
    at = np.flatnonzero(in_tie)
    group_start = np.ones(count, dtype=bool)
    group_start[1:] = ~tied
    group = np.cumsum(group_start, dtype=np.int64)[at]  # ascending along the sorted order
    tied_positions = order[at]
    # One sort of (group, position) packed in an int64: positions within each tie ascend.
    order[at] = tied_positions[np.argsort(group * count + tied_positions)]
    return order, ordered


def segment_sort_orders(values: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`stable_sort_order` of every segment of ``values`` (segment ``i`` is
    ``values[offsets[i]:offsets[i + 1]]``), end to end: each segment's order (positions
    inside the segment, int64) and its sorted values, in two sorts for all segments
    instead of one a segment (a few microseconds of calls each, where short texts have
    a few dozen values). All values sorted stably, then stably by segment: a radix sort
    of 16-bit segment numbers, while there are at most 65,536.

    >>> order, ordered = segment_sort_orders(np.array([7, 3, 7, 5, 1, 5], dtype=np.uint64), np.array([0, 3, 6]))
    >>> order.tolist(), ordered.tolist()
    ([1, 0, 2, 1, 0, 2], [3, 7, 7, 1, 5, 5])
    """
    offsets = np.asarray(offsets, dtype=np.int64)
    order, _ = stable_sort_order(values)
    counts = np.diff(offsets)
    segment_type = np.uint16 if len(counts) <= 1 << 16 else np.int64
    segment = np.repeat(np.arange(len(counts), dtype=segment_type), counts)[order]
    order = order[np.argsort(segment, kind="stable")]  # by segment, each in value order
    ordered = values[order]
    order -= np.repeat(offsets[:-1], counts)
    return order, ordered


def _packed_order(values: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``stable_sort_order`` of 32- or 64-bit integers (fewer than 2**31) by one sort of
    each value's high bits packed with its position, or None where that order is not
    the values' order (64-bit values alike in their high bits, unlike below them).

    The values are mapped to unsigned 64-bit integers in the same order (signed ones
    with their sign bit flipped). A 32-bit value is shifted above the ``bits`` of a
    position: the packed order is exactly the stable order. A 64-bit value keeps its
    64 - ``bits`` high bits: values that differ there, or are equal, are in order (equal
    ones by position); the check of the sorted values finds the others."""
    count = len(values)
    bits = max(count - 1, 1).bit_length()
    signed = values.dtype.kind == "i"
    if values.dtype.itemsize <= 4:
        packed = (values.view(np.uint32) ^ np.uint32(1 << 31 if signed else 0)).astype(np.uint64)
        packed <<= np.uint64(bits)  # 32 + bits <= 63 bits
    else:
        packed = values.view(np.uint64) ^ np.uint64(1 << 63 if signed else 0)  # a new array
        packed &= ~np.uint64((1 << bits) - 1)
    packed |= np.arange(count, dtype=np.uint64)
    packed.sort()
    packed &= np.uint64((1 << bits) - 1)
    order = packed.view(np.int64)
    ordered = values[order]
    if values.dtype.itemsize > 4 and count > 1 and not (ordered[1:] >= ordered[:-1]).all():
        return None
    return order, ordered


def expand_ranges(starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(owner, position)`` for every position of the ranges ``[starts[k], starts[k] +
    counts[k])``: ``owner`` is ``k``. One vectorised pass instead of a loop over ranges.

    >>> owner, position = expand_ranges(np.array([10, 4]), np.array([2, 3]))
    >>> owner.tolist(), position.tolist()
    ([0, 0, 1, 1, 1], [10, 11, 4, 5, 6])
    """
    counts = np.asarray(counts, dtype=np.int64)
    # Only the ranges that hold positions (often a minority: keys nobody holds), and
    # each range's offset repeated once, rather than two gathers per position.
    present = np.flatnonzero(counts)
    counts = counts[present]
    owner = np.repeat(present, counts)
    offset = np.asarray(starts, dtype=np.int64)[present] - (np.cumsum(counts) - counts)
    position = np.repeat(offset, counts)
    position += np.arange(len(position), dtype=np.int64)
    return owner, position


def narrowed(values: np.ndarray, bound: int) -> np.ndarray:
    """``values`` (each below ``bound``) as 16-bit integers when they fit: NumPy's stable
    sort of 16-bit integers is a radix sort, ten times faster than a 64-bit one."""
    return values.astype(np.int16) if bound <= np.iinfo(np.int16).max else values
