"""Shingles: n-gram hashes per segment, never across segments, one for short segments."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.shingle import shingles, window_minima_positions, winnow
from dedup.text import tokenize


def token_array(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.uint64)


def joined(segments: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """The segments' values end to end (uint64) and where each starts (int64, one more)."""
    flat = np.array([value for segment in segments for value in segment], dtype=np.uint64)
    return flat, np.r_[0, np.cumsum([len(segment) for segment in segments])].astype(np.int64)


def segments_of(hashes: np.ndarray, offsets: np.ndarray) -> list[list[int]]:
    return [hashes[offsets[i] : offsets[i + 1]].tolist() for i in range(len(offsets) - 1)]


def test_segment_of_n_tokens_has_n_minus_ngram_plus_one_shingles():
    hashes, offsets = shingles(token_array(*range(10, 20)), np.array([0, 10]), 3)
    assert offsets.tolist() == [0, 8]
    assert len(set(hashes.tolist())) == 8
    assert hashes.dtype == np.uint64 and offsets.dtype == np.int64


@pytest.mark.parametrize("count", [1, 2, 3, 4])
def test_segment_shorter_than_ngram_gets_exactly_one_shingle(count):
    hashes, offsets = shingles(token_array(*range(1, count + 1)), np.array([0, count]), 5)
    assert offsets.tolist() == [0, 1]


def test_empty_segment_gets_no_shingle():
    hashes, offsets = shingles(token_array(7, 8, 9), np.array([0, 0, 3, 3]), 2)
    assert offsets.tolist() == [0, 0, 2, 2]
    assert len(hashes) == 2


def test_no_tokens_at_all():
    hashes, offsets = shingles(np.zeros(0, np.uint64), np.array([0, 0, 0]), 5)
    assert offsets.tolist() == [0, 0, 0]
    assert len(hashes) == 0


def test_shingles_never_cross_segment_boundaries():
    left, right = token_array(1, 2, 3, 4), token_array(5, 6, 7)
    together, offsets = shingles(np.r_[left, right], np.array([0, 4, 7]), 3)
    alone_left, _ = shingles(left, np.array([0, 4]), 3)
    alone_right, _ = shingles(right, np.array([0, 3]), 3)
    assert segments_of(together, offsets) == [alone_left.tolist(), alone_right.tolist()]
    # and no shingle of the joined run (2, 3, 4, 5 ...) leaked in
    joined, _ = shingles(np.r_[left, right], np.array([0, 7]), 3)
    crossing = set(joined.tolist()) - set(alone_left.tolist()) - set(alone_right.tolist())
    assert crossing and not crossing & set(together.tolist())


def test_short_segment_differs_from_a_longer_one_it_starts():
    short, _ = shingles(token_array(1, 2), np.array([0, 2]), 3)
    full, _ = shingles(token_array(1, 2, 3), np.array([0, 3]), 3)
    assert short[0] != full[0]


def test_short_segments_of_different_lengths_differ():
    one, _ = shingles(token_array(1), np.array([0, 1]), 3)
    two, _ = shingles(token_array(1, 1), np.array([0, 2]), 3)
    assert one[0] != two[0]


def test_shingle_depends_on_token_order():
    forward, _ = shingles(token_array(1, 2, 3), np.array([0, 3]), 3)
    backward, _ = shingles(token_array(3, 2, 1), np.array([0, 3]), 3)
    assert forward[0] != backward[0]


def test_unigram_shingles_are_one_per_token():
    hashes, offsets = shingles(token_array(5, 6, 5), np.array([0, 3]), 1)
    assert offsets.tolist() == [0, 3]
    assert hashes[0] == hashes[2] != hashes[1]


def test_same_words_give_same_shingles_in_any_text():
    tokens = tokenize(["Het kabinet wil de belasting verlagen", "Zegt men: het KABINET wil de belasting verlagen"])
    hashes, offsets = shingles(tokens.hashes, tokens.offsets, 5)
    first, second = segments_of(hashes, offsets)
    assert len(first) == 2 and len(second) == 4
    assert set(first) <= set(second)


@pytest.mark.parametrize("ngram", [0, -1, 1.5, "5", True])
def test_bad_ngram_is_a_value_error_naming_ngram(ngram):
    with pytest.raises(ValueError, match="ngram must be an integer >= 1"):
        shingles(token_array(1, 2), np.array([0, 2]), ngram)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.lists(st.integers(0, 2**64 - 1), max_size=12), max_size=8),
    st.integers(1, 6),
)
def test_batch_equals_segment_by_segment(segments, ngram):
    flat, offsets = joined(segments)
    hashes, shingle_offsets = shingles(flat, offsets, ngram)
    for i, segment in enumerate(segments):
        alone, alone_offsets = shingles(np.array(segment, dtype=np.uint64), np.array([0, len(segment)]), ngram)
        expected_count = max(len(segment) - ngram + 1, 1) if segment else 0
        assert alone_offsets.tolist() == [0, expected_count]
        assert hashes[shingle_offsets[i] : shingle_offsets[i + 1]].tolist() == alone.tolist()


def test_segments_may_cover_only_part_of_the_token_array():
    tokens = token_array(*range(100, 112))
    hashes, offsets = shingles(tokens, np.array([2, 5, 9]), 2)
    expected, expected_offsets = shingles(tokens[2:9], np.array([0, 3, 7]), 2)
    assert offsets.tolist() == expected_offsets.tolist() == [0, 2, 5]
    assert hashes.tolist() == expected.tolist()


def test_bad_offsets_are_value_errors_naming_offsets():
    tokens = token_array(1, 2, 3)
    for offsets in ([0, 2, 1], [0, 4], [-1, 3], [], [[0, 3]], [0.0, 3.0]):
        with pytest.raises(ValueError, match="offsets must be"):
            shingles(tokens, np.array(offsets), 2)


def test_token_hashes_must_be_unsigned_integers_that_fit():
    with pytest.raises(TypeError, match="token_hashes must hold unsigned integers, got dtype float64"):
        shingles(np.array([1.5, 2.5]), np.array([0, 2]), 2)
    with pytest.raises(ValueError, match=r"token_hashes must be integers in \[0, 18446744073709551615\]"):
        shingles(np.array([-1, 2]), np.array([0, 2]), 2)
    # Python ints and other unsigned dtypes are accepted when they fit.
    assert shingles([1, 2, 3], [0, 3], 2)[1].tolist() == [0, 2]


def winnowed_one_by_one(segment: list[int], window: int) -> list[int]:
    """Positions of the smallest hash of every window of ``segment`` (the first of equal
    ones; a segment shorter than a window: its smallest), each once, sorted."""
    if not segment:
        return []
    if len(segment) < window:
        return [segment.index(min(segment))]
    picked = set()
    for start in range(len(segment) - window + 1):
        run = segment[start : start + window]
        picked.add(start + run.index(min(run)))
    return sorted(picked)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.lists(st.integers(0, 2**64 - 1) | st.integers(0, 3), max_size=40), max_size=8),
    st.integers(1, 12),
)
def test_winnow_keeps_the_first_smallest_of_every_window_of_each_segment(segments, window):
    # Ties (small values) test "the first of equal ones"; windows past 8 take the other path.
    flat, offsets = joined(segments)
    positions, fingerprint_offsets = winnow(flat, offsets, window)
    for i, segment in enumerate(segments):
        found = positions[fingerprint_offsets[i] : fingerprint_offsets[i + 1]] - offsets[i]
        assert found.tolist() == winnowed_one_by_one(segment, window)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.lists(st.integers(0, 2**64 - 1) | st.integers(0, 3), max_size=40), max_size=8),
    st.integers(1, 12),
    st.integers(0, 3),
    st.integers(0, 3),
)
def test_window_minima_of_ranks_are_the_winnowed_positions_of_the_hashes(segments, window, before, after):
    # Ranks among the distinct hashes order the shingles as the hashes do (batch_keys
    # winnows by them); values before the first segment and after the last are outside.
    flat, offsets = joined(segments)
    hashes = np.concatenate([np.zeros(before, dtype=np.uint64), flat, np.zeros(after, dtype=np.uint64)])
    _, ranks = np.unique(hashes, return_inverse=True)
    found = window_minima_positions(ranks.astype(np.int32), offsets + before, window)
    assert found.dtype == np.int64
    bounds = np.searchsorted(found, offsets + before)
    assert bounds[0] == 0 and bounds[-1] == len(found)  # nothing outside the segments
    for i, segment in enumerate(segments):
        assert (found[bounds[i] : bounds[i + 1]] - before - offsets[i]).tolist() == winnowed_one_by_one(segment, window)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(-(2**31), 2**31 - 1) | st.integers(-3, 3), max_size=60),
    st.integers(1, 20),
    st.sampled_from(["int32", "uint32", "int16", "uint8", "int64"]),
)
def test_window_minima_of_narrow_integers_of_any_sign_and_window_are_the_first_smallest(values, window, dtype):
    # Values of 32 bits or fewer take their window minima packed above their positions
    # (any window size); 64-bit ones a step of the window at a time.
    info = np.iinfo(dtype)
    array = np.array([min(max(v, info.min), info.max) for v in values], dtype=dtype)
    found = window_minima_positions(array, np.array([0, len(array)]), window)
    assert found.tolist() == winnowed_one_by_one(array.tolist(), window)
