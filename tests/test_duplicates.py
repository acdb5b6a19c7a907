"""Document clusters: find_duplicates and its named stages."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from dedup.duplicates import (
    candidate_pairs,
    clusters_from_pairs,
    duplicate_banding,
    empty_documents,
    find_duplicates,
    sign_documents,
    verify_pairs,
)
from dedup.minhash import MinHasher
from news_texts import WIRE_EN, LOCAL_A, SPORT, word_soup


# --------------------------------------------------------------------------- find_duplicates


def edit(text: str, rng: random.Random, changes: int) -> str:
    words = text.split()
    for _ in range(changes):
        words[rng.randrange(len(words))] = rng.choice(["alpha", "beta", "gamma", "delta"])
    return " ".join(words)


def planted_corpus(groups: int = 40, seed: int = 0):
    """Documents of made-up words; group g has 1-4 members, copies differing by one or two words."""
    rng = random.Random(seed)
    docs, truth = [], []
    for g in range(groups):
        base = word_soup(1000 + g, 120)
        members = [len(docs)]
        docs.append(base)
        for _ in range(rng.randint(0, 3)):
            members.append(len(docs))
            docs.append(edit(base, rng, rng.randint(0, 1)))
        truth.append(members)
    order = list(range(len(docs)))
    rng.shuffle(order)
    position = {old: new for new, old in enumerate(order)}
    shuffled = [docs[i] for i in order]
    clusters = sorted(sorted(position[m] for m in members) for members in truth if len(members) > 1)
    return shuffled, clusters


def test_find_duplicates_recovers_planted_clusters():
    docs, clusters = planted_corpus()
    result = find_duplicates(docs, threshold=0.8)
    assert [c.members for c in result.clusters] == clusters
    for cluster in result.clusters:
        for a, b, similarity in cluster.pairs:
            assert a in cluster.members and b in cluster.members and 0.8 <= similarity <= 1.0
    assert len(result.duplicate_ids()) == sum(len(c) - 1 for c in clusters)
    assert (result.labels >= 0).sum() == sum(len(c) for c in clusters)


def test_find_duplicates_is_deterministic_and_batch_independent():
    docs, _ = planted_corpus(20, seed=3)
    one = find_duplicates(docs, threshold=0.7, batch_size=7)
    two = find_duplicates(iter(docs), threshold=0.7, batch_size=1000)
    assert one.to_records() == two.to_records()


def test_find_duplicates_accepts_id_pairs_and_ids():
    docs = [WIRE_EN, SPORT, WIRE_EN.upper(), LOCAL_A]
    by_pairs = find_duplicates([(f"d{i}", t) for i, t in enumerate(docs)], threshold=0.9)
    by_ids = find_duplicates(docs, threshold=0.9, ids=["d0", "d1", "d2", "d3"])
    assert [c.members for c in by_pairs] == [["d0", "d2"]] == [c.members for c in by_ids]
    assert by_pairs.pairs == [("d0", "d2", 1.0)]


def test_find_duplicates_takes_records_with_text_field_and_id_field():
    docs = [WIRE_EN, SPORT, WIRE_EN.upper(), LOCAL_A]
    records = [{"url": f"u{i}", "body": text, "id": f"i{i}"} for i, text in enumerate(docs)]
    by_field = find_duplicates(records, threshold=0.9, text_field="body", id_field="url")
    assert [c.members for c in by_field] == [["u0", "u2"]]
    # without id_field: the record's "id" if present, else its position
    assert [c.members for c in find_duplicates(records, threshold=0.9, text_field="body")] == [["i0", "i2"]]
    plain = [{"text": text} for text in docs]
    assert [c.members for c in find_duplicates(plain, threshold=0.9)] == [[0, 2]]


@pytest.mark.parametrize(
    "docs, kwargs",
    [
        ([("a", WIRE_EN), ("b", SPORT), ("a", LOCAL_A)], {}),
        ([WIRE_EN, SPORT, LOCAL_A], {"ids": ["a", "b", "a"]}),
        ([{"id": "a", "text": WIRE_EN}, {"id": "b", "text": SPORT}, {"id": "a", "text": LOCAL_A}], {}),
    ],
)
def test_find_duplicates_refuses_repeated_ids_in_every_input_shape(docs, kwargs):
    with pytest.raises(ValueError, match=r"document id 'a' is repeated: at positions 0 and 2"):
        find_duplicates(docs, **kwargs)


def test_find_duplicates_records_are_json_lines(tmp_path):
    result = find_duplicates([WIRE_EN, LOCAL_A, WIRE_EN], threshold=0.9)
    path = tmp_path / "clusters.jsonl"
    result.write_jsonl(path)
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert records == [{"cluster": 0, "size": 2, "members": [0, 2], "pairs": [{"a": 0, "b": 2, "similarity": 1.0}]}]


def test_cluster_file_keeps_lone_surrogate_ids_and_replaces_the_old_file_whole(tmp_path):
    path = tmp_path / "clusters.jsonl"
    path.write_text("old clusters\n")
    result = find_duplicates([("a\ud800", WIRE_EN), ("b", LOCAL_A), ("c\udfff", WIRE_EN)], threshold=0.9)
    result.write_jsonl(path)
    (line,) = path.read_bytes().splitlines()
    assert b'"members": ["a\\ud800", "c\\udfff"]' in line
    assert json.loads(line)["members"] == ["a\ud800", "c\udfff"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clusters.jsonl"]


def test_empty_documents_are_reported_not_clustered():
    result = find_duplicates(["", "  ", WIRE_EN, "...", LOCAL_A, WIRE_EN], threshold=0.8)
    assert [c.members for c in result.clusters] == [[2, 5]] and result.empty == [0, 1, 3]
    assert repr(result).startswith("Duplicates(1 clusters holding 2 of 6 documents, 3 empty;")


def test_huge_group_of_copies_stays_one_cluster():
    docs = [WIRE_EN] * 500 + [LOCAL_A, SPORT]
    result = find_duplicates(docs, threshold=0.9, max_bucket=50)
    assert [len(c.members) for c in result.clusters] == [500]
    assert len(result.pairs) < 500 * 499 // 2  # linked as a star, not all pairs


def test_find_duplicates_reports_progress():
    seen = []
    find_duplicates([WIRE_EN] * 25, batch_size=10, progress=seen.append)
    assert seen == [10, 20, 25]


def test_find_duplicates_matches_datasketch_on_clear_cases():
    from datasketch import MinHashLSH

    docs, _ = planted_corpus(30, seed=5)
    hasher = MinHasher(128)
    sigs = hasher.sign(docs)
    lsh_index = MinHashLSH(threshold=0.8, num_perm=128)
    for i, sig in enumerate(sigs):
        lsh_index.insert(i, hasher.to_datasketch(sig))
    theirs = {
        (min(i, j), max(i, j))
        for i, sig in enumerate(sigs)
        for j in lsh_index.query(hasher.to_datasketch(sig))
        if i != j and np.mean(sigs[i] == sigs[j]) >= 0.8
    }
    ours = {(a, b) for c in find_duplicates(docs, threshold=0.8).clusters for a, b, _ in c.pairs}
    assert theirs <= ours  # we miss nothing datasketch finds (recall-weighted banding)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: find_duplicates("one text"), TypeError, "docs"),
        (lambda: find_duplicates([WIRE_EN, 3]), TypeError, r"docs\[1\]"),
        (lambda: find_duplicates([WIRE_EN], threshold=1.2), ValueError, "threshold"),
        (lambda: find_duplicates([WIRE_EN], batch_size=0), ValueError, "batch_size"),
        (lambda: find_duplicates([WIRE_EN, SPORT], ids=[1]), ValueError, "ids"),
        (lambda: find_duplicates([WIRE_EN], ids=[1, 2]), ValueError, "ids"),
        (lambda: find_duplicates([("a", WIRE_EN)], ids=["x"]), ValueError, "ids"),
        (lambda: find_duplicates([WIRE_EN], params=(40, 4)), ValueError, "params"),
        (lambda: find_duplicates([WIRE_EN], progress="yes"), TypeError, "progress"),
        (lambda: find_duplicates([{"body": WIRE_EN}]), ValueError, "no field 'text' \\(text_field\\)"),
        (lambda: find_duplicates([{"text": WIRE_EN}], id_field="url"), ValueError, "no field 'url' \\(id_field\\)"),
        (lambda: find_duplicates([{"text": None}]), TypeError, r"docs\[0\]\['text'\] must be str"),
    ],
)
def test_find_duplicates_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


# --------------------------------------------------------------------------- stages


def test_stages_composed_give_find_duplicates():
    docs, _ = planted_corpus(25, seed=9)
    hasher = MinHasher(128)
    bands, rows = duplicate_banding(0.8, 128)
    ids, sigs = sign_documents(docs, hasher, batch_size=11)
    pairs = candidate_pairs(sigs, bands, rows)
    left, right, similarity = verify_pairs(sigs, pairs, 0.8)
    clusters, labels = clusters_from_pairs(ids, left, right, similarity)
    result = find_duplicates(docs, threshold=0.8)
    assert clusters == result.clusters and labels.tolist() == result.labels.tolist()
    assert len(pairs) == result.candidates and len(result.pairs) == len(left)


def test_candidate_pairs_leave_out_documents_without_words():
    hasher = MinHasher(128)
    _, sigs = sign_documents(["", WIRE_EN, "...", WIRE_EN], hasher)
    assert empty_documents(sigs).tolist() == [True, False, True, False]
    assert candidate_pairs(sigs, *duplicate_banding(0.8, 128)).tolist() == [[1, 3]]


def test_verify_pairs_keeps_pairs_at_or_above_the_threshold():
    sigs = np.array([[1, 2, 3, 4], [1, 2, 3, 9], [1, 2, 8, 9]], dtype=np.uint32)
    left, right, similarity = verify_pairs(sigs, np.array([[0, 1], [0, 2], [1, 2]]), 0.75)
    assert left.tolist() == [0, 1] and right.tolist() == [1, 2] and similarity.tolist() == [0.75, 0.75]

