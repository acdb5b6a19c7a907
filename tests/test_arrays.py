"""dedup.arrays: vectorised helpers the stages rely on."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from dedup.arrays import expand_ranges, segment_sort_orders, sorted_distinct, stable_sort_order

# Short and long arrays (NumPy's hash table is used from a few values on), with ties.
hashes_with_ties = st.lists(st.integers(0, 2**64 - 1) | st.integers(0, 6), max_size=3000)


@given(
    st.lists(st.integers(0, 2**64 - 1) | st.integers(0, 6) | st.integers(2**64 - 6, 2**64 - 1), max_size=80),
    st.sampled_from(["uint64", "int64", "uint32", "int32", "int16"]),
)
def test_stable_sort_order_is_numpy_stable_argsort(values, dtype):
    # Hashes with many ties (small values, and -6 .. -1 as signed ones) and without; each
    # dtype's path (16-bit: radix).
    bits = np.iinfo(dtype).bits
    array = np.array([v % (1 << bits) for v in values], dtype=np.uint64).astype(f"uint{bits}").view(dtype)
    order, ordered = stable_sort_order(array)
    assert order.tolist() == np.argsort(array, kind="stable").tolist()
    assert ordered.tolist() == np.sort(array).tolist()


@given(st.lists(st.lists(st.integers(0, 2**64 - 1) | st.integers(0, 4), max_size=40), max_size=30))
def test_segment_sort_orders_are_each_segment_s_stable_sort_order(segments):
    # Segments with ties inside and across (equal values in two segments stay apart),
    # empty ones among them.
    values = np.array([v for segment in segments for v in segment], dtype=np.uint64)
    offsets = np.cumsum([0] + [len(segment) for segment in segments])
    order, ordered = segment_sort_orders(values, offsets)
    for segment, lo, hi in zip(segments, offsets[:-1], offsets[1:]):
        alone = np.array(segment, dtype=np.uint64)
        assert order[lo:hi].tolist() == np.argsort(alone, kind="stable").tolist()
        assert ordered[lo:hi].tolist() == np.sort(alone).tolist()


def test_segment_sort_orders_of_more_segments_than_16_bits_number():
    # Past 65,536 segments the segment numbers no longer fit 16 bits (another sort).
    rng = np.random.default_rng(5)
    counts = rng.integers(0, 3, 70_000)
    values = rng.integers(0, 5, int(counts.sum())).astype(np.uint64)
    offsets = np.concatenate(([0], np.cumsum(counts)))
    order, ordered = segment_sort_orders(values, offsets)
    for lo, hi in zip(offsets[:-1].tolist()[-500:], offsets[1:].tolist()[-500:]):
        assert order[lo:hi].tolist() == np.argsort(values[lo:hi], kind="stable").tolist()
    assert (np.diff(ordered)[np.diff(np.repeat(np.arange(len(counts)), counts)) == 0] >= 0).all()


def test_stable_sort_order_of_floats_with_nan_is_numpy_stable_argsort():
    rng = np.random.default_rng(3)
    values = rng.integers(0, 20, 10_000).astype(np.float64)
    values[rng.random(len(values)) < 0.3] = np.nan  # NaN equals nothing, not even NaN
    assert stable_sort_order(values)[0].tolist() == np.argsort(values, kind="stable").tolist()


def test_stable_sort_order_of_hashes_alike_in_their_high_bits_is_numpy_stable_argsort():
    # 64-bit values are sorted by their high bits and their position first: hashes that
    # differ only in the bits a position takes must still come out in order.
    rng = np.random.default_rng(7)
    high = rng.integers(0, 2**40, 50, dtype=np.uint64) << np.uint64(24)
    values = rng.choice(high, 5_000) | rng.integers(0, 2**12, 5_000, dtype=np.uint64)
    for array in (values, values.view(np.int64), values[::-1].copy()):
        assert stable_sort_order(array)[0].tolist() == np.argsort(array, kind="stable").tolist()


def test_stable_sort_order_keeps_the_order_of_long_ties():
    rng = np.random.default_rng(5)
    values = rng.integers(0, 50, 20_000).astype(np.uint64)  # every value tied hundreds of times
    assert (stable_sort_order(values)[0] == np.argsort(values, kind="stable")).all()


@given(hashes_with_ties, st.sampled_from(["uint64", "int64", "int32"]))
def test_sorted_distinct_is_numpy_unique(values, dtype):
    info = np.iinfo(dtype)
    array = np.array([v % (int(info.max) + 1) for v in values], dtype=np.uint64).astype(dtype)
    found = sorted_distinct(array)
    assert found.dtype == array.dtype
    assert found.tolist() == np.unique(array).tolist()


@given(st.lists(st.tuples(st.integers(0, 1000), st.integers(0, 4) | st.just(0)), max_size=40), st.sampled_from(["int64", "int32"]))
def test_expand_ranges_lists_every_position_of_every_range_in_order(ranges, dtype):
    # Empty ranges (most keys have no holder) own no position and shift none of the others.
    starts = np.array([start for start, _ in ranges], dtype=dtype)
    counts = np.array([count for _, count in ranges], dtype=dtype)
    owner, position = expand_ranges(starts, counts)
    expected = [(k, start + i) for k, (start, count) in enumerate(ranges) for i in range(count)]
    assert list(zip(owner.tolist(), position.tolist())) == expected
    assert owner.dtype == position.dtype == np.int64
