"""LSH: banding choice, band keys, candidate pairs, the index and its file."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup import MinHasher
from dedup.lsh import LSHIndex, band_keys, candidate_pairs, optimal_params

NUM_PERM = 128
HASHER = MinHasher(num_perm=NUM_PERM, seed=7)


def planted_pairs(similarity: float, count: int, size: int = 200, seed: int = 0) -> np.ndarray:
    """Signatures of ``count`` pairs of sets with exact Jaccard ``similarity``.

    Rows ``2k`` and ``2k + 1`` form pair ``k``: two sets of ``size`` distinct 32-bit values
    sharing ``shared`` of them, where ``shared / (2 * size - shared)`` is the similarity.
    """
    rng = np.random.default_rng(seed)
    shared = round(2 * size * similarity / (1 + similarity))
    values = rng.choice(1 << 32, size=(count, 2 * size - shared), replace=False).astype(np.uint32)
    left = values[:, :size]
    right = np.concatenate([values[:, :shared], values[:, size:]], axis=1)
    sets = np.stack([left, right], axis=1).reshape(2 * count, size)
    offsets = np.arange(0, sets.size + 1, size)
    return HASHER.sign_hashes(sets.ravel(), offsets)


def s_curve(similarity: float, bands: int, rows: int) -> float:
    return 1 - (1 - similarity**rows) ** bands


def found_rate(index_threshold: float, similarity: float, count: int = 300, **kwargs) -> tuple[float, LSHIndex]:
    sigs = planted_pairs(similarity, count, seed=int(similarity * 1000))
    index = LSHIndex(index_threshold, NUM_PERM, **kwargs)
    index.insert(np.arange(0, 2 * count, 2), sigs[0::2])
    found = sum(2 * k in index.query(sigs[2 * k + 1]) for k in range(count))
    return found / count, index


# --------------------------------------------------------------------------- optimal_params


@pytest.mark.parametrize("num_perm", [32, 128, 256])
@pytest.mark.parametrize("weights", [(0.5, 0.5), (0.1, 0.9), (0.7, 0.3)])
def test_optimal_params_equal_datasketch(num_perm, weights):
    from datasketch.lsh import _optimal_param

    for threshold in (0.3, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95):
        assert optimal_params(threshold, num_perm, weights) == _optimal_param(threshold, num_perm, *weights)


def test_optimal_params_fit_in_the_signature():
    for num_perm in (1, 2, 7, 100):
        bands, rows = optimal_params(0.6, num_perm)
        assert 1 <= bands * rows <= num_perm


def test_recall_weight_moves_the_curve_down():
    strict = optimal_params(0.8, 128, (0.5, 0.5))
    lenient = optimal_params(0.8, 128, (0.05, 0.95))
    assert s_curve(0.8, *lenient) > s_curve(0.8, *strict) + 0.3


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"threshold": 0.0}, "threshold"),
        ({"threshold": 1.0}, "threshold"),
        ({"threshold": "0.8"}, "threshold"),
        ({"num_perm": 0}, "num_perm"),
        ({"num_perm": 2.5}, "num_perm"),
        ({"weights": (0.5, 0.6)}, "weights"),
        ({"weights": (1.2, -0.2)}, "weights"),
        ({"weights": 0.5}, "weights"),
    ],
)
def test_optimal_params_errors_name_the_argument(kwargs, message):
    args = {"threshold": 0.8, "num_perm": 128, "weights": (0.5, 0.5), **kwargs}
    with pytest.raises(ValueError, match=message):
        optimal_params(**args)


# --------------------------------------------------------------------------- band keys and pairs


def test_band_keys_agree_exactly_on_equal_bands():
    sigs = planted_pairs(0.6, 50)
    keys = band_keys(sigs, 16, 8)
    assert keys.shape == (100, 16) and keys.dtype == np.uint64
    for band in range(16):
        cols = slice(band * 8, (band + 1) * 8)
        equal_bands = (sigs[0::2, cols] == sigs[1::2, cols]).all(axis=1)
        assert np.array_equal(keys[0::2, band] == keys[1::2, band], equal_bands)


def test_band_keys_differ_between_bands_with_equal_values():
    sigs = np.zeros((1, 8), dtype=np.uint32)  # every band holds the same values
    keys = band_keys(sigs, 4, 2)
    assert len(np.unique(keys)) == 4


def test_band_keys_reject_too_many_rows():
    with pytest.raises(ValueError, match="bands \\* rows"):
        band_keys(np.zeros((2, 8), dtype=np.uint32), 3, 3)


def test_band_keys_reject_non_integer_signatures():
    with pytest.raises(TypeError, match="signatures"):
        band_keys(np.zeros((2, 8), dtype=np.float64), 2, 2)


def brute_force_pairs(sigs: np.ndarray, bands: int, rows: int) -> set[tuple[int, int]]:
    out = set()
    for i in range(len(sigs)):
        for j in range(i + 1, len(sigs)):
            for band in range(bands):
                cols = slice(band * rows, (band + 1) * rows)
                if np.array_equal(sigs[i, cols], sigs[j, cols]):
                    out.add((i, j))
                    break
    return out


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.integers(0, 3), min_size=6, max_size=6), min_size=0, max_size=25))
def test_candidate_pairs_equal_brute_force(rows_of_values):
    sigs = np.array(rows_of_values, dtype=np.uint32).reshape(-1, 6)
    pairs = candidate_pairs(sigs, 3, 2)
    assert pairs.dtype == np.int64 and pairs.shape[1] == 2
    assert set(map(tuple, pairs.tolist())) == brute_force_pairs(sigs, 3, 2)
    assert (pairs[:, 0] < pairs[:, 1]).all()
    assert len(np.unique(pairs, axis=0)) == len(pairs)


def test_huge_bucket_is_linked_as_a_star_not_all_pairs():
    sigs = np.tile(np.arange(8, dtype=np.uint32), (10_000, 1))  # 10,000 identical signatures
    pairs = candidate_pairs(sigs, 4, 2, max_bucket=100)
    assert len(pairs) == 9_999
    assert (pairs[:, 0] == 0).all() and np.array_equal(pairs[:, 1], np.arange(1, 10_000))


def test_bucket_at_the_limit_yields_all_pairs():
    sigs = np.tile(np.arange(8, dtype=np.uint32), (100, 1))
    assert len(candidate_pairs(sigs, 4, 2, max_bucket=100)) == 100 * 99 // 2


def test_candidate_pairs_find_planted_pairs_at_the_curve_rate():
    bands, rows = optimal_params(0.8, NUM_PERM)
    for similarity in (0.5, 0.8, 0.95):
        sigs = planted_pairs(similarity, 300, seed=3)
        found = {tuple(p) for p in candidate_pairs(sigs, bands, rows).tolist()}
        rate = np.mean([(2 * k, 2 * k + 1) in found for k in range(300)])
        expected = s_curve(similarity, bands, rows)
        # 300 Bernoulli trials: 4 standard deviations of slack.
        assert abs(rate - expected) <= 4 * np.sqrt(expected * (1 - expected) / 300) + 0.01


# --------------------------------------------------------------------------- the index


def test_index_finds_pairs_well_above_threshold():
    rate, _ = found_rate(0.8, 0.95)
    assert rate >= 0.97  # S-curve: 0.998


def test_index_rarely_returns_pairs_well_below_threshold():
    rate, _ = found_rate(0.8, 0.5)
    assert rate <= 0.02  # S-curve: 0.001


def test_recall_weighted_index_finds_pairs_at_the_threshold():
    rate, index = found_rate(0.8, 0.8, weights=(0.05, 0.95))
    assert (index.bands, index.rows) == (16, 8)
    assert rate >= 0.90  # S-curve: 0.947


def test_default_index_follows_the_s_curve_at_the_threshold():
    rate, index = found_rate(0.8, 0.8)
    expected = s_curve(0.8, index.bands, index.rows)  # 0.40: equal weights trade recall for precision
    assert abs(rate - expected) <= 4 * np.sqrt(expected * (1 - expected) / 300)


def test_query_returns_keys_in_insertion_order_and_query_many_matches_query():
    sigs = planted_pairs(1.0, 3)  # identical pairs
    index = LSHIndex(0.5, NUM_PERM)
    index.insert(["b1", "a1", "c1"], sigs[0::2])
    index.insert(["b2", "a2", "c2"], sigs[1::2])
    assert index.query(sigs[0]) == ["b1", "b2"]
    assert index.query_many(sigs[1::2]) == [index.query(s) for s in sigs[1::2]]
    assert len(index) == 6 and "a2" in index and "zz" not in index and 3 not in index


def test_index_with_integer_keys_and_incremental_inserts():
    sigs = planted_pairs(1.0, 200)
    index = LSHIndex(0.7, NUM_PERM)
    for k in range(200):  # one entry at a time, as a streaming caller does
        index.insert([10 * k], sigs[2 * k : 2 * k + 1])
    assert len(index._band_runs.keys) <= 9  # runs stay logarithmic
    for k in (0, 57, 199):
        assert index.query(sigs[2 * k + 1]) == [10 * k]
    assert 570 in index and 571 not in index


def test_insert_rejects_duplicate_and_mixed_keys():
    sigs = planted_pairs(0.9, 2)
    index = LSHIndex(0.8, NUM_PERM)
    index.insert([1, 2], sigs[:2])
    with pytest.raises(ValueError, match="already in the index"):
        index.insert([2], sigs[2:3])
    with pytest.raises(ValueError, match="more than once"):
        index.insert([5, 5], sigs[2:4])
    with pytest.raises(TypeError, match="keys must be int"):
        index.insert(["x"], sigs[2:3])
    with pytest.raises(TypeError, match="all int or all str"):
        LSHIndex().insert([1, "x"], sigs[:2])
    with pytest.raises(ValueError, match="keys has 1 items"):
        index.insert([9], sigs[2:4])
    assert len(index) == 2  # failed inserts changed nothing


def test_insert_rejects_signatures_of_another_length():
    with pytest.raises(ValueError, match="num_perm=128"):
        LSHIndex(0.8, 128).insert([1], np.zeros((1, 64), dtype=np.uint32))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"threshold": 1.5}, "threshold"),
        ({"threshold": 0}, "threshold"),
        ({"num_perm": -1}, "num_perm"),
        ({"weights": (0.9, 0.9)}, "weights"),
        ({"params": (20, 8)}, "params"),
        ({"params": (0, 8)}, "bands"),
        ({"params": "9x13"}, "params"),
    ],
)
def test_index_errors_name_the_argument(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LSHIndex(**kwargs)


def test_explicit_params_are_used():
    index = LSHIndex(0.8, 128, params=(32, 4))
    assert (index.bands, index.rows) == (32, 4)


# --------------------------------------------------------------------------- save and load


@pytest.mark.parametrize("keys", [list(range(100, 140)), [f"doc-{i}-é" for i in range(40)]])
def test_save_load_round_trip(tmp_path, keys):
    sigs = planted_pairs(0.9, 40)
    index = LSHIndex(0.7, NUM_PERM, weights=(0.3, 0.7))
    index.insert(keys, sigs[0::2])
    path = tmp_path / "index.lsh"
    index.save(path)
    loaded = LSHIndex.load(path)
    assert (loaded.threshold, loaded.num_perm, loaded.weights) == (0.7, NUM_PERM, (0.3, 0.7))
    assert (loaded.bands, loaded.rows) == (index.bands, index.rows) and len(loaded) == 40
    assert loaded.query_many(sigs[1::2]) == index.query_many(sigs[1::2])
    assert keys[3] in loaded
    loaded.insert([keys[0] * 2] if isinstance(keys[0], str) else [7], sigs[1:2])  # still usable
    assert os.listdir(tmp_path) == ["index.lsh"]  # no temporary file left behind


def test_empty_index_round_trip(tmp_path):
    LSHIndex(0.6, 64).save(tmp_path / "empty")
    loaded = LSHIndex.load(tmp_path / "empty")
    assert len(loaded) == 0 and loaded.query(np.zeros(64, dtype=np.uint32)) == []


def test_load_rejects_corrupt_and_foreign_files(tmp_path):
    index = LSHIndex(0.8, NUM_PERM)
    index.insert([1, 2], planted_pairs(0.9, 1))
    good = tmp_path / "good"
    index.save(good)
    data = good.read_bytes()
    (tmp_path / "truncated").write_bytes(data[: len(data) // 2])
    (tmp_path / "text").write_text("not an index at all\n")
    np.save(tmp_path / "array.npy", np.arange(3))
    np.savez(tmp_path / "other.npz", meta=np.frombuffer(b'{"format": "x", "version": 1}', dtype=np.uint8))
    flipped = bytearray(data)
    flipped[len(flipped) // 3] ^= 0xFF
    (tmp_path / "flipped").write_bytes(bytes(flipped))
    for name in ("truncated", "text", "array.npy", "other.npz", "flipped"):
        with pytest.raises(ValueError, match="dedup.LSHIndex"):
            LSHIndex.load(tmp_path / name)
    with pytest.raises(FileNotFoundError):
        LSHIndex.load(tmp_path / "missing")


def test_crash_during_save_keeps_the_previous_file(tmp_path, monkeypatch):
    from dedup import archives

    old = LSHIndex(0.8, NUM_PERM)
    old.insert([1], planted_pairs(1.0, 1)[:1])
    path = tmp_path / "index"
    old.save(path)

    def crash(handle, arrays):
        handle.write(b"PK\x03\x04 half of a zip")
        raise OSError("disk full")

    monkeypatch.setattr(archives, "write_arrays", crash)
    new = LSHIndex(0.8, NUM_PERM)
    new.insert([1, 2, 3], planted_pairs(0.9, 2)[:3])
    with pytest.raises(OSError, match="disk full"):
        new.save(path)
    assert len(LSHIndex.load(path)) == 1
    assert os.listdir(tmp_path) == ["index"]


def test_positional_index_numbers_entries_itself_and_saves_as_int_keys(tmp_path):
    sigs = planted_pairs(1.0, 5)
    index = LSHIndex(0.8, NUM_PERM)
    index.append_band_keys(band_keys(sigs[0::2], index.bands, index.rows))
    assert len(index) == 5 and 4 in index and 5 not in index
    assert index.query(sigs[3]) == [1]
    with pytest.raises(TypeError, match="no keys"):
        index.insert([9], sigs[:1])
    index.save(tmp_path / "positional")
    loaded = LSHIndex.load(tmp_path / "positional")
    assert loaded.query_many(sigs[1::2]) == [[0], [1], [2], [3], [4]]
    keyed = LSHIndex(0.8, NUM_PERM)
    keyed.insert([7], sigs[:1])
    with pytest.raises(TypeError, match="positions"):
        keyed.append_band_keys(band_keys(sigs[:1], keyed.bands, keyed.rows))


def test_state_saved_under_another_unicode_version_warns_on_load(tmp_path):
    from dedup.archives import atomic_save, load_state

    path = tmp_path / "state.npz"
    atomic_save(path, "test.format", 1, {"unicode": "1.0.0"}, {"x": np.arange(3)})
    with pytest.warns(UserWarning, match="Unicode 1.0.0"):
        meta, arrays = load_state(path, "test.format", 1)
    assert arrays["x"].tolist() == [0, 1, 2]
    atomic_save(path, "test.format", 1, {}, {"x": np.arange(3)})
    import warnings as _warnings

    with _warnings.catch_warnings():
        _warnings.simplefilter("error")
        load_state(path, "test.format", 1)
