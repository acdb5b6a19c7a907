"""Formats and hash values are pinned: files and numbers written by dedup 0.1.0 (format v1).

The fixtures were written once by ``tests/fixtures/make_fixtures.py``. A failure here
means saved indexes from an earlier version would silently return other results: bump
the format version and convert old files instead of regenerating the fixtures.
"""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest

from dedup.lsh import LSHIndex, band_keys
from dedup.minhash import MinHasher
from dedup.shingle import shingles
from dedup.archives import atomic_save, load_state
from dedup.text import tokenize

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


@pytest.fixture(scope="module")
def pinned() -> dict:
    with open(os.path.join(FIXTURES, "pinned_hashes_v1.json"), encoding="utf-8") as fh:
        return json.load(fh)


def uint64s(values: list[str]) -> np.ndarray:
    return np.array([int(v) for v in values], dtype=np.uint64)


def test_token_hashes_and_offsets_are_unchanged(pinned):
    tokens = tokenize(pinned["texts"])
    assert tokens.starts.tolist() == pinned["token_starts"]
    assert np.array_equal(tokens.hashes, uint64s(pinned["token_hashes"]))


def test_shingle_hashes_are_unchanged(pinned):
    tokens = tokenize(pinned["texts"])
    hashes, offsets = shingles(tokens.hashes, tokens.offsets, pinned["ngram"])
    assert offsets.tolist() == pinned["shingle_offsets"]
    assert np.array_equal(hashes, uint64s(pinned["shingle_hashes"]))


def test_signatures_are_unchanged(pinned):
    hasher = MinHasher(pinned["num_perm"], ngram=pinned["ngram"], seed=pinned["seed"])
    assert hasher.sign(pinned["texts"]).tolist() == pinned["signatures"]


def test_band_keys_are_unchanged(pinned):
    signatures = np.array(pinned["signatures"], dtype=np.uint32)
    keys = band_keys(signatures, 4, 8)
    assert np.array_equal(keys, np.array([[int(k) for k in row] for row in pinned["band_keys_4x8"]], dtype=np.uint64))


@pytest.mark.parametrize(
    ("name", "threshold", "params", "expected"),
    [
        (
            "lsh_index_str_keys_v1.npz",
            0.5,
            (8, 4),
            [["pont-a", "pont-b"], ["pont-a", "pont-b"], ["café"], ["dijk"], ["surrogaat-\udc80"]],
        ),
        ("lsh_index_int_keys_v1.npz", 0.8, (4, 8), [[10, 11], [10, 11], [12], [13], [14]]),
    ],
)
def test_index_saved_by_version_1_loads_and_answers_fresh_signatures(pinned, name, threshold, params, expected):
    index = LSHIndex.load(os.path.join(FIXTURES, name))
    assert (index.threshold, index.num_perm, (index.bands, index.rows), len(index)) == (threshold, 32, params, 5)
    fresh = MinHasher(pinned["num_perm"], ngram=pinned["ngram"], seed=pinned["seed"]).sign(pinned["texts"])
    assert index.query_many(fresh) == expected


def test_index_saved_by_version_1_can_grow_and_be_saved_again(pinned, tmp_path):
    path = tmp_path / "index.npz"
    shutil.copy(os.path.join(FIXTURES, "lsh_index_int_keys_v1.npz"), path)
    index = LSHIndex.load(path)
    fresh = MinHasher(pinned["num_perm"], ngram=pinned["ngram"], seed=pinned["seed"]).sign(pinned["texts"][:1])
    index.insert([20], fresh)
    index.save(path)
    assert LSHIndex.load(path).query_many(fresh) == [[10, 11, 20]]


def test_every_saved_file_records_its_format_and_version(tmp_path):
    for name in os.listdir(FIXTURES):
        if name.endswith(".npz"):
            meta, _ = load_state(os.path.join(FIXTURES, name), "dedup.LSHIndex", 1)
            assert meta["format"] == "dedup.LSHIndex" and meta["version"] == 1


def test_index_from_a_newer_version_is_refused_with_a_clear_error(tmp_path):
    meta, arrays = load_state(os.path.join(FIXTURES, "lsh_index_int_keys_v1.npz"), "dedup.LSHIndex", 1)
    meta = {k: v for k, v in meta.items() if k not in ("format", "version")}
    atomic_save(tmp_path / "future.npz", "dedup.LSHIndex", 99, meta, arrays)
    with pytest.raises(ValueError, match=r"future\.npz was written by a newer dedup .*version 99"):
        LSHIndex.load(tmp_path / "future.npz")


# --------------------------------------------------------------------------- Deduplicator state, formats 2 to 4


@pytest.mark.parametrize("version", [2, 3, 4])
def test_deduplicator_state_of_format_2_to_4_loads_and_matches_as_when_saved(version):
    import dedup

    path = os.path.join(FIXTURES, f"deduplicator_state_v{version}.db")
    d = dedup.Deduplicator.load(path)
    assert d.params["scope"] == "across"
    assert len(d) == 3 and d.params["scope"] == "across"
    wire = (
        "Het waterschap maakte dinsdag bekend dat de dijken langs de rivier de komende vier jaar worden "
        "versterkt, voor ongeveer tweehonderd miljoen euro, nadat bij inspecties zwakke plekken werden gevonden."
    )
    (match,) = d.find("Nieuws van vandaag.\n\n" + wire)
    assert (match.source_id, match.source_start, match.similarity) == (1, 72, 1.0)
    assert d.is_duplicate("De thuisploeg scoorde twee keer in de laatste tien minuten en won de derby, voor het "
                          "eerst sinds de herfst.").source_id == "c-\udc80"
    with pytest.raises(ValueError, match="used before"):
        d.add("Een nieuw artikel.", doc_id="b-2")
