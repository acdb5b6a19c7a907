"""dedup.sorted_runs: the sorted-runs index behind LSHIndex and MemoryStore."""

from __future__ import annotations

import numpy as np
import pytest

import json
import os

from dedup.sorted_runs import FileRuns, KeyFilter, SortedRuns, merge_runs


def brute_force(added: list[tuple[np.ndarray, np.ndarray]], queries: np.ndarray) -> list[tuple[int, int]]:
    """(query index, payload) of every added key equal to a query, in the order added."""
    keys = np.concatenate([k for k, _ in added])
    payload = np.concatenate([p for _, p in added])
    return sorted((q, int(p)) for q, query in enumerate(queries.tolist()) for k, p in zip(keys.tolist(), payload) if k == query)


# Spreads small numbers over all 64 bits (a key filter reads a key's top bits).
SPREAD = np.uint64(0x9E3779B97F4A7C15)


@pytest.mark.parametrize("max_run, lean_merge_above, key_filter", [
    (None, None, False), (50, None, False), (None, 20, False), (None, None, True), (50, None, True),
])
@pytest.mark.parametrize("seed", range(3))
def test_lookup_finds_every_equal_key_oldest_first(seed, max_run, lean_merge_above, key_filter):
    rng = np.random.default_rng(seed)
    runs, added, number = SortedRuns(max_run=max_run, lean_merge_above=lean_merge_above, key_filter=key_filter), [], 0
    for _ in range(40):
        keys = rng.integers(0, 60, rng.integers(0, 12)).astype(np.uint64) * SPREAD
        payload = np.arange(number, number + len(keys))
        number += len(keys)
        runs.add(keys, payload)
        added.append((keys, payload))
    keys = np.r_[rng.integers(0, 70, 30).astype(np.uint64) * SPREAD, np.array([2**64 - 1], dtype=np.uint64)]  # some absent, the largest too
    query_index, payload = runs.lookup(keys)
    assert sorted(zip(query_index.tolist(), payload.tolist())) == brute_force(added, keys)
    # Per query, payloads in the order they were added (the holders of a fingerprint, oldest first).
    for q in set(query_index.tolist()):
        assert payload[query_index == q].tolist() == sorted(payload[query_index == q].tolist())
    assert len(runs) == number and all((np.diff(k.astype(np.int64)) >= 0).all() for k in runs.keys)
    if max_run is not None:
        assert all(len(k) <= max_run for k in runs.keys[:-1]) or len(runs.keys) == 1


@pytest.mark.parametrize("bits_per_key, most_passing", [(16, 0.03), (4, 0.25)])
def test_key_filter_never_misses_a_key_and_passes_few_absent_ones(bits_per_key, most_passing):
    rng = np.random.default_rng(4)
    added = []
    kept = KeyFilter(bits_per_key=bits_per_key)
    for _ in range(40):  # grows past its first size: built anew from all keys, as the stores do
        block = rng.integers(0, 2**64, 5_000, dtype=np.uint64)
        added.append(block)
        kept.add(block)
        if kept.full:
            kept = KeyFilter(sum(len(b) for b in added), added, bits_per_key=bits_per_key)
        assert kept.may_hold(np.concatenate(added)).all()
        assert bits_per_key * kept.count <= kept.nbytes * 8 <= max(KeyFilter.MIN_BITS, 4 * bits_per_key * kept.count)
        absent = rng.integers(0, 2**64, 100_000, dtype=np.uint64)
        assert kept.may_hold(absent).mean() < most_passing
    # Keys given sorted (ordered) set the same bits.
    keys = np.sort(np.concatenate(added))
    assert (KeyFilter(len(keys), [keys], ordered=True).may_hold(absent) == KeyFilter(len(keys), added).may_hold(absent)).all()


def test_key_filter_stops_growing_at_its_largest_and_still_never_misses(monkeypatch):
    monkeypatch.setattr(KeyFilter, "MAX_BITS", 1 << 21)
    rng = np.random.default_rng(5)
    added = [rng.integers(0, 2**64, 50_000, dtype=np.uint64) for _ in range(8)]
    kept = KeyFilter(sum(len(b) for b in added), added)  # 400,000 keys: 20 MB of filter wanted
    assert kept.may_hold(np.concatenate(added)).all()
    assert not kept.full  # so a store does not build it anew after every batch
    kept.add(rng.integers(0, 2**64, 50_000, dtype=np.uint64))
    assert not kept.full
    absent = rng.integers(0, 2**64, 100_000, dtype=np.uint64)
    assert 0.03 < kept.may_hold(absent).mean() < 1  # more absent keys pass, as the filter said


def test_lookup_through_a_key_filter_gives_what_the_runs_hold():
    # Many keys (rebuilds of the filter), keys found and not, and a state replaced.
    rng = np.random.default_rng(12)
    plain, filtered = SortedRuns(), SortedRuns(key_filter=True)
    stored = []
    for _ in range(30):
        keys = rng.integers(0, 2**64, rng.integers(1, 5_000), dtype=np.uint64)
        stored.append(keys)
        for runs in (plain, filtered):
            runs.add(keys, np.arange(len(keys)))
    present = np.unique(rng.choice(np.concatenate(stored), 3_000))
    queries = np.unique(np.r_[present, rng.integers(0, 2**64, 3_000, dtype=np.uint64)])
    assert all((a == b).all() for a, b in zip(plain.lookup(queries), filtered.lookup(queries)))
    assert len(np.unique(filtered.lookup(queries)[0])) == len(present)
    assert filtered.filter_nbytes > 0 and plain.filter_nbytes == 0
    # A state read back into new runs (replace): its keys are found through the filter.
    keys, payload = filtered.compact()
    loaded = SortedRuns(key_filter=True)
    loaded.replace(keys[::2], payload[::2])
    found = loaded.lookup(keys)[0]
    assert set(found.tolist()) >= set(range(0, len(keys), 2))  # every key kept is found (its equals too)


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


def random_adds(seed: int, count: int = 30):
    """``count`` batches of random keys, each with the payloads numbered on."""
    rng = np.random.default_rng(seed)
    number = 0
    for _ in range(count):
        keys = rng.integers(0, 80, rng.integers(0, 15)).astype(np.uint64)
        yield keys, np.arange(number, number + len(keys))
        number += len(keys)


def files_of(folder) -> set[str]:
    return set(os.listdir(folder))


@pytest.mark.parametrize("seed", range(3))
def test_file_runs_find_what_runs_in_memory_find_and_keep_it_across_sessions(tmp_path, seed):
    memory, files = SortedRuns(max_run=60), FileRuns(str(tmp_path), "one", max_run=60)
    queries = np.arange(90, dtype=np.uint64)
    for covered, (keys, payload) in enumerate(random_adds(seed), start=1):
        memory.add(keys, payload)
        files.add_covering(covered, keys, payload, mark=f"batch {covered}" if len(keys) else None)
        assert [a.tolist() for a in files.lookup(queries)] == [a.tolist() for a in memory.lookup(queries)]
    files.close()
    # Only the runs' files remain (merged runs are deleted), each a memory map.
    manifest = json.loads((tmp_path / FileRuns.MANIFEST).read_text())
    named = {name + suffix for name, _, _ in manifest["runs"] for suffix in (".keys", ".payload")}
    assert files_of(tmp_path) == named | {FileRuns.MANIFEST} and manifest["clean"] is True
    assert len(manifest["runs"]) == len(memory.keys) and all(isinstance(k, np.memmap) for k in files.keys)
    again = FileRuns(str(tmp_path), "one", max_run=60)
    last_with_keys = max(k for k, (keys, _) in enumerate(random_adds(seed), start=1) if len(keys))
    assert again.covered == 30 and len(again) == len(memory) and again.mark == f"batch {last_with_keys}"
    assert [a.tolist() for a in again.lookup(queries)] == [a.tolist() for a in memory.lookup(queries)]
    again.close()


def test_file_runs_of_another_identity_or_damaged_after_a_crash_are_dropped(tmp_path):
    runs = FileRuns(str(tmp_path), "one")
    runs.add_covering(3, np.array([4, 2, 4], dtype=np.uint64), np.array([0, 1, 2]))
    # Not closed: a crash. A run whose bytes changed fails its checksum.
    (name, _, _), = json.loads((tmp_path / FileRuns.MANIFEST).read_text())["runs"]
    (tmp_path / f"{name}.payload").write_bytes(np.array([9, 9, 9], dtype=np.uint32).tobytes())
    damaged = FileRuns(str(tmp_path), "one")
    assert damaged.covered == 0 and len(damaged) == 0 and files_of(tmp_path) == {FileRuns.MANIFEST}
    damaged.add_covering(1, np.array([7], dtype=np.uint64), np.array([0]))
    damaged.close()
    kept = FileRuns(str(tmp_path), "one")
    assert kept.covered == 1 and kept.lookup(np.array([7], dtype=np.uint64))[1].tolist() == [0]
    kept.close()
    other = FileRuns(str(tmp_path), "two")
    assert other.covered == 0 and len(other) == 0 and files_of(tmp_path) == {FileRuns.MANIFEST}
    other.add_covering(2, np.array([5], dtype=np.uint64), np.array([1]))
    other.reset()
    assert other.covered == 0 and len(other) == 0 and files_of(tmp_path) == {FileRuns.MANIFEST}
    with pytest.raises(ValueError, match="covers 0 items already, not -1"):
        other.add_covering(-1, np.array([5], dtype=np.uint64), np.array([1]))
    with pytest.raises(NotImplementedError, match="reset"):
        other.replace(np.array([5], dtype=np.uint64), np.array([1]))
    other.close()


def test_close_puts_the_runs_on_disk_before_it_marks_them_clean(tmp_path, monkeypatch):
    # A clean manifest is trusted without checksums: every run it names that this session
    # wrote must be synced before it is written (else a power cut could leave it naming
    # runs whose data never reached the disk).
    runs = FileRuns(str(tmp_path), "example")
    for k in range(6):  # several runs, some merged (their files gone)
        runs.add_covering(k + 1, np.arange(k * 10, k * 10 + 10, dtype=np.uint64), np.full(10, k))
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append(os.readlink(f"/proc/self/fd/{fd}")), real_fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (events.append(("replace", os.path.basename(b))), real_replace(a, b))[1])
    runs.close()
    manifest = json.loads((tmp_path / FileRuns.MANIFEST).read_text())
    assert manifest["clean"]
    named = {str(tmp_path / (name + suffix)) for name, _, _ in manifest["runs"] for suffix in (".keys", ".payload")}
    synced_before = set(events[: events.index(("replace", FileRuns.MANIFEST))])
    assert named and named <= synced_before
    events.clear()
    FileRuns(str(tmp_path), "example").close()  # nothing written since opened: nothing to sync but the folder
    assert [event for event in events if isinstance(event, str) and os.path.basename(event).startswith("run")] == []
