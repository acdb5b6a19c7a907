"""The libraries dedup is measured against: datasketch, rensa and dolma (where installed).

Each wrapper imports its library when it is called (``preload`` imports it before a clock
starts), so that a runner starts, and answers ``--help``, without them (``pip install -e ".[bench]"`` brings rensa; datasketch comes
with the test extra; dolma is a command of its own: ``--dolma PATH``).
"""

from __future__ import annotations

import gzip
import importlib
import json
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any



def preload(*names: str) -> None:
    """Import the peer libraries ``names`` now, so that their import time stays out of a timed region."""
    for name in names:
        importlib.import_module(name)


# ---------------------------------------------------------------- MinHash signing


def datasketch_minhash_per_shingle(shingle_lists: Sequence[Sequence[str]], num_perm: int, seed: int) -> list:
    """datasketch's usual idiom: one ``MinHash`` per document, ``update`` per shingle."""
    from datasketch import MinHash

    signatures = []
    for doc in shingle_lists:
        minhash = MinHash(num_perm=num_perm, seed=seed)
        for shingle in doc:
            minhash.update(shingle.encode("utf-8"))
        signatures.append(minhash)
    return signatures


def datasketch_minhash_bulk(shingle_lists: Sequence[Sequence[str]], num_perm: int, seed: int) -> list:
    """datasketch's batch API, ``MinHash.bulk``."""
    from datasketch import MinHash

    return MinHash.bulk([[s.encode("utf-8") for s in doc] for doc in shingle_lists], num_perm=num_perm, seed=seed)


def rensa_r_minhash(shingle_lists: Sequence[Sequence[str]], num_perm: int, seed: int) -> Any:
    """rensa's ``RMinHash`` through its batch constructor (a digest matrix)."""
    from rensa import RMinHash

    return RMinHash.digest_matrix_from_token_sets(shingle_lists, num_perm, seed)


def rensa_c_minhash(shingle_lists: Sequence[Sequence[str]], num_perm: int, seed: int) -> Any:
    """rensa's ``CMinHash`` through its batch constructor."""
    from rensa import CMinHash

    return CMinHash.digests_from_token_sets(shingle_lists, num_perm, seed)


def rensa_r_minhash_of_hashes(hashes, offsets, num_perm: int, seed: int) -> Any:
    """rensa's hash-input kernel fed 64-bit shingle hashes (documents cut at ``offsets``)."""
    from rensa import RMinHash

    return RMinHash.digest_matrix_from_flat_token_hashes(hashes, offsets, num_perm, seed)


# ---------------------------------------------------------------- LSH


def datasketch_lsh(threshold: float, num_perm: int, keyed: Iterable[tuple[Any, Any]], check_duplication: bool = True):
    """A ``MinHashLSH`` holding every ``(key, MinHash)`` of ``keyed``, inserted in one session."""
    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    with lsh.insertion_session() as session:
        for key, minhash in keyed:
            session.insert(key, minhash, check_duplication=check_duplication)
    return lsh


def datasketch_candidate_pairs(lsh, minhashes: Sequence) -> set[tuple[int, int]]:
    """Pairs ``(i, j)``, ``i < j``, that ``lsh`` (keyed by position) returns for each MinHash."""
    pairs = set()
    for i, minhash in enumerate(minhashes):
        for j in lsh.query(minhash):
            if j != i:
                pairs.add((min(i, j), max(i, j)))
    return pairs


# ---------------------------------------------------------------- dolma paragraph dedup

DOLMA_ATTRIBUTE = "bff_duplicate_paragraph_spans"
DOLMA_NAME = "bench"


def dolma_command(dolma: str, documents: Path, estimated_doc_count: int, false_positive_rate: float) -> list[str]:
    """``dolma dedupe`` by paragraph 13-grams on ``documents`` (in ``folder/documents/``),
    its bloom filter next to that folder."""
    return [
        dolma, "dedupe",
        "--documents", str(documents),
        "--dedupe.name", DOLMA_NAME,
        "--dedupe.paragraphs.attribute_name", DOLMA_ATTRIBUTE,
        "--dedupe.paragraphs.by_ngram.ngram_length", "13",
        "--dedupe.paragraphs.by_ngram.overlap_threshold", "0.5",
        "--bloom_filter.file", str(documents.parent.parent / "bloom.bin"),
        "--no-bloom_filter.read_only",
        "--bloom_filter.estimated_doc_count", str(estimated_doc_count),
        "--bloom_filter.desired_false_positive_rate", str(false_positive_rate),
        "--processes", "1",
    ]  # fmt: skip


def dolma_marked_share(documents: Path, docs: int, texts: list[str]) -> float:
    """Share of characters dolma marks as duplicate paragraphs; checks one attribute line per document."""
    path = documents.parent.parent / "attributes" / DOLMA_NAME / documents.name
    if not path.exists():
        raise SystemExit(f"dolma wrote no attributes for {documents} (expected {path})")
    marked, lines = 0, 0
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            lines += 1
            for start, end, _ in json.loads(line)["attributes"].get(DOLMA_ATTRIBUTE, []):
                marked += end - start
    if lines != docs:
        raise SystemExit(f"dolma attributes {path}: {lines} lines for {docs} documents")
    return marked / max(1, sum(map(len, texts)))


def reset_dolma(documents: Path) -> None:
    """Remove dolma's attributes and bloom filter, so each run starts empty."""
    shutil.rmtree(documents.parent.parent / "attributes", ignore_errors=True)
    (documents.parent.parent / "bloom.bin").unlink(missing_ok=True)
