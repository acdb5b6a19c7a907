"""dedup.sorted_runs: the sorted-runs index behind LSHIndex and MemoryStore."""

from __future__ import annotations

import numpy as np
import pytest

from dedup.sorted_runs import SortedRuns, merge_runs


def brute_force(added: list[tuple[np.ndarray, np.ndarray]], queries: np.ndarray) -> list[tuple[int, int]]:
    """(query index, payload) of every added key equal to a query, in the order added."""
    keys = np.concatenate([k for k, _ in added])
    payload = np.concatenate([p for _, p in added])
    return sorted((q, int(p)) for q, query in enumerate(queries.tolist()) for k, p in zip(keys.tolist(), payload) if k == query)


@pytest.mark.parametrize("max_run, lean_merge_above", [(None, None), (50, None), (None, 20)])
@pytest.mark.parametrize("seed", range(3))
def test_lookup_finds_every_equal_key_oldest_first(seed, max_run, lean_merge_above):
    rng = np.random.default_rng(seed)
    runs, added, number = SortedRuns(max_run=max_run, lean_merge_above=lean_merge_above), [], 0
    for _ in range(40):
        keys = rng.integers(0, 60, rng.integers(0, 12)).astype(np.uint64)
        payload = np.arange(number, number + len(keys))
        number += len(keys)
        runs.add(keys, payload)
        added.append((keys, payload))
    keys = np.r_[rng.integers(0, 70, 30).astype(np.uint64), np.array([2**64 - 1], dtype=np.uint64)]  # some absent, the largest too
    query_index, payload = runs.lookup(keys)
    assert sorted(zip(query_index.tolist(), payload.tolist())) == brute_force(added, keys)
    # Per query, payloads in the order they were added (the holders of a fingerprint, oldest first).
    for q in set(query_index.tolist()):
        assert payload[query_index == q].tolist() == sorted(payload[query_index == q].tolist())
    assert len(runs) == number and all((np.diff(k.astype(np.int64)) >= 0).all() for k in runs.keys)
    if max_run is not None:
        assert all(len(k) <= max_run for k in runs.keys[:-1]) or len(runs.keys) == 1


def test_runs_stay_few_and_compact_gives_one_sorted_run():
    runs = SortedRuns()
    for k in range(1000):
        runs.add(np.array([k % 97, k % 13], dtype=np.uint64), np.array([k, k]))
    assert len(runs.keys) <= 8  # logarithmic in the 2,000 keys
    keys, payload = runs.compact()
    assert len(runs.keys) == 1 and len(keys) == 2000 and (np.diff(keys.astype(np.int64)) >= 0).all()
    runs.replace(keys[:10], payload[:10])
    assert len(runs) == 10 and runs.lookup(keys[:1])[1].tolist() == payload[: int((keys[:10] == keys[0]).sum())].tolist()


def test_both_ways_of_merging_give_the_same_run():
    rng = np.random.default_rng(7)
    older = np.sort(rng.integers(0, 100, 500).astype(np.uint64))
    newer = np.sort(rng.integers(0, 100, 200).astype(np.uint64))
    by_sort = merge_runs(older, np.arange(500, dtype=np.uint32), newer, np.arange(500, 700, dtype=np.uint32))
    by_placement = merge_runs(
        older, np.arange(500, dtype=np.uint32), newer, np.arange(500, 700, dtype=np.uint32), lean=True
    )
    assert all((a == b).all() for a, b in zip(by_sort, by_placement))
    keys, payload = by_sort
    assert (np.diff(keys.astype(np.int64)) >= 0).all()
    for key in np.unique(keys).tolist():
        assert payload[keys == key].tolist() == sorted(payload[keys == key].tolist())  # older first


@pytest.mark.parametrize("times", [1, 2, 4, 5, 9, 40])
def test_a_key_held_any_number_of_times_is_found_every_time(times):
    # Every holder of a key, in the order added, also where its keys end the run.
    runs = SortedRuns()
    runs.add(np.array([3] + [7] * times + [5], dtype=np.uint64), np.arange(times + 2))
    query_index, payload = runs.lookup(np.array([1, 3, 7, 9], dtype=np.uint64))
    assert query_index.tolist() == [1] + [2] * times
    assert payload.tolist() == [0] + list(range(1, times + 1))
    runs = SortedRuns()
    runs.add(np.array([7] * times, dtype=np.uint64), np.arange(times))
    assert runs.lookup(np.array([7], dtype=np.uint64))[1].tolist() == list(range(times))
