"""dedup.arrays: vectorised helpers the stages rely on."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from dedup.arrays import distinct_of_runs, distinct_per_segment

segments = st.lists(st.lists(st.integers(0, 40), max_size=30), max_size=12)


@given(segments)
def test_distinct_of_runs_is_np_unique_with_its_inverse(parts):
    # Sorted runs (as the keys of a batch's articles come) and any values at all.
    runs = np.array([v for part in parts for v in sorted(set(part))], dtype=np.uint64)
    anything = np.array([v for part in parts for v in part], dtype=np.uint64)
    for values in (runs, anything):
        distinct, inverse = distinct_of_runs(values)
        expected, expected_inverse = np.unique(values, return_inverse=True)
        assert distinct.tolist() == expected.tolist()
        assert inverse.tolist() == expected_inverse.reshape(-1).tolist()
        assert (distinct[inverse] == values).all()


@given(segments)
def test_distinct_per_segment_sorts_each_segment_without_repeats(parts):
    values = np.array([v for part in parts for v in part], dtype=np.uint64)
    offsets = np.r_[0, np.cumsum([len(part) for part in parts])].astype(np.int64)
    distinct, distinct_offsets = distinct_per_segment(values, offsets)
    got = [distinct[distinct_offsets[i] : distinct_offsets[i + 1]].tolist() for i in range(len(parts))]
    assert got == [sorted(set(part)) for part in parts]
