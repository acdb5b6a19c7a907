"""Clusters of near-duplicate documents: :func:`find_duplicates`, built from named stages.

``sign_documents -> candidate_pairs -> verify_pairs -> clusters_from_pairs``

Each stage is a plain function over arrays, so ``dedup.spark`` runs the same rules on
DataFrames: the signatures (one pass over any iterable, ``num_perm * 4`` bytes kept per
document whatever its length), LSH candidate pairs with the banding of
:func:`duplicate_banding`, verification by estimated Jaccard similarity
(:func:`dedup.minhash.jaccard` ``>= threshold``), and clusters as connected components.

Banding favours recall: a pair missed by LSH is lost for good, while a false candidate
only costs one vectorised comparison of two signatures. ``(bands, rows)`` is therefore
chosen with false-negative weight 0.95 (``RECALL_WEIGHTS``) and every candidate is
verified against the threshold.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._validate import check_fraction, check_int
from .arrays import GrowableArray, connected_components
from .documents import iter_documents
from .lsh import DEFAULT_MAX_BUCKET, resolve_params
from .lsh import candidate_pairs as lsh_candidate_pairs
from .minhash import EMPTY, MinHasher, jaccard
from .text import DEFAULT_MODE

__all__ = [
    "RECALL_WEIGHTS",
    "Cluster",
    "Duplicates",
    "candidate_pairs",
    "clusters_from_pairs",
    "duplicate_banding",
    "empty_documents",
    "find_duplicates",
    "sign_documents",
    "verify_pairs",
]

# (false-positive weight, false-negative weight) for optimal_params: candidates are
# verified, so false positives are cheap and false negatives are what we minimise.
RECALL_WEIGHTS = (0.05, 0.95)

_VERIFY_CHUNK = 1 << 16  # candidate pairs compared per NumPy step (8 MB of booleans)


def duplicate_banding(threshold: float, num_perm: int, params: tuple[int, int] | None = None) -> tuple[int, int]:
    """(bands, rows) that ``find_duplicates`` uses (here and in ``dedup.spark``): tuned for
    recall (``RECALL_WEIGHTS``), since every candidate is verified against ``threshold``;
    or ``params`` when given.

    Examples
    --------
    >>> duplicate_banding(0.8, 128, (16, 8))
    (16, 8)
    """
    return resolve_params(threshold, num_perm, RECALL_WEIGHTS, params)


@dataclass(frozen=True)
class Cluster:
    """Near-duplicate documents: ``members`` (ids, input order) and the verified ``pairs``
    ``(id_a, id_b, estimated_jaccard)`` that link them."""

    members: list
    pairs: list

    def to_dict(self) -> dict:
        return {
            "members": list(self.members),
            "pairs": [{"a": a, "b": b, "similarity": round(s, 6)} for a, b, s in self.pairs],
        }


@dataclass
class Duplicates:
    """What :func:`find_duplicates` found.

    Attributes
    ----------
    clusters : list of Cluster
        Groups of two or more near-duplicate documents, ordered by their first member.
    labels : int64 array
        Cluster number of every document in input order, -1 for documents in no cluster.
    ids : list
        Document ids in input order.
    empty : list
        Ids of documents without a single word: they have no shingles to compare and are
        never put in a cluster (check them yourself if empty texts matter).
    threshold, num_perm, bands, rows : banding used; candidates : LSH candidate pairs checked.
    """

    clusters: list[Cluster]
    labels: np.ndarray
    ids: list
    empty: list
    threshold: float
    num_perm: int
    bands: int
    rows: int
    candidates: int

    def __len__(self) -> int:
        return len(self.clusters)

    def __repr__(self) -> str:
        # The dataclass repr would print every id: unusable for a million documents.
        in_clusters = int((self.labels >= 0).sum())
        return (
            f"Duplicates({len(self.clusters)} clusters holding {in_clusters} of {len(self.ids)} documents, "
            f"{len(self.empty)} empty; threshold={self.threshold}, num_perm={self.num_perm}, "
            f"bands x rows={self.bands}x{self.rows}, candidates={self.candidates})"
        )

    def __iter__(self) -> Iterator[Cluster]:
        return iter(self.clusters)

    @property
    def pairs(self) -> list[tuple[Any, Any, float]]:
        """All verified pairs ``(id_a, id_b, similarity)``."""
        return [pair for cluster in self.clusters for pair in cluster.pairs]

    def duplicate_ids(self) -> list:
        """Ids to drop to keep one document per cluster (the first in input order)."""
        return [member for cluster in self.clusters for member in cluster.members[1:]]

    def to_records(self) -> list[dict]:
        """One JSON-ready dict per cluster: ``{"cluster", "size", "members", "pairs"}``."""
        return [{"cluster": k, "size": len(c.members), **c.to_dict()} for k, c in enumerate(self.clusters)]

    def write_jsonl(self, path: str | os.PathLike) -> None:
        """Write :meth:`to_records` as JSON Lines, replacing ``path`` atomically.

        Ids with lone surrogates (read from JSON escapes) are written back as the same
        escapes.
        """
        from .jsonlines import json_line
        from .atomic import atomic_write

        atomic_write(path, lambda handle: handle.writelines(json_line(record) for record in self.to_records()))


# --------------------------------------------------------------------------- stages


def sign_documents(
    docs: Iterable[str] | Iterable[tuple[Hashable, str]] | Iterable[Mapping],
    hasher: MinHasher,
    *,
    ids: Iterable[Hashable] | None = None,
    text_field: str = "text",
    id_field: str | None = None,
    batch_size: int = 2048,
    progress: bool | Callable[[int], None] | None = None,
) -> tuple[list, np.ndarray]:
    """Stage 1: ``(ids, signatures)`` of every document, read once in batches.

    ``docs`` holds plain strings (ids from ``ids``, or positions 0, 1, ...),
    ``(id, text)`` pairs or mappings (see :func:`dedup.documents.iter_documents`); a
    repeated id raises ``ValueError``. Only the ``(n, num_perm)`` uint32 signatures are kept.

    Examples
    --------
    >>> ids, sigs = sign_documents([("a", "one two three four five six"), ("b", "")], MinHasher(16))
    >>> ids, sigs.shape, bool((sigs[1] == EMPTY).all())
    (['a', 'b'], (2, 16), True)
    """
    batch_size = check_int("batch_size", batch_size, 1)
    update, close = _progress_callback(progress)
    all_ids: list = []
    signatures = GrowableArray(np.uint32, hasher.num_perm)
    batch: list[str] = []
    try:
        for doc_id, text in iter_documents(docs, ids, text_field=text_field, id_field=id_field):
            all_ids.append(doc_id)
            batch.append(text)
            if len(batch) == batch_size:
                signatures.extend(hasher.sign(batch))
                batch = []
                update(len(all_ids))
        if batch:
            signatures.extend(hasher.sign(batch))
            update(len(all_ids))
    finally:
        close()
    return all_ids, signatures.array


def candidate_pairs(
    signatures: np.ndarray, bands: int, rows: int, *, max_bucket: int = DEFAULT_MAX_BUCKET
) -> np.ndarray:
    """Stage 2: LSH candidate pairs ``(i, j)``, ``i < j``, of the rows of ``signatures``.

    Documents without a word (signature all ``EMPTY``) take no part: they have no
    shingles to compare. Otherwise :func:`dedup.lsh.candidate_pairs` (``max_bucket``
    there: a larger bucket is linked as a star around its first member).

    Examples
    --------
    >>> sigs = np.array([[1, 2, 3, 4], [1, 2, 9, 9], [5, 6, 7, 8]], dtype=np.uint32)
    >>> candidate_pairs(sigs, 2, 2).tolist()
    [[0, 1]]
    """
    present = np.flatnonzero(~empty_documents(signatures))
    # Without empty documents there is nothing to drop: no copy of the signatures.
    chosen = signatures if len(present) == len(signatures) else signatures[present]
    pairs = lsh_candidate_pairs(chosen, bands, rows, max_bucket=max_bucket)
    return present[pairs] if len(present) != len(signatures) else pairs


def empty_documents(signatures: np.ndarray) -> np.ndarray:
    """Which rows are signatures of documents without a single word (all ``EMPTY``)."""
    if not len(signatures):
        return np.zeros(0, dtype=bool)
    return (signatures == EMPTY).all(axis=1)


def verify_pairs(
    signatures: np.ndarray, pairs: np.ndarray, threshold: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stage 3: the candidate ``pairs`` whose estimated Jaccard similarity
    (:func:`dedup.minhash.jaccard` of their signatures) is ``>= threshold``.

    Returns ``(left, right, similarity)``, int64 row numbers and float64 estimates of the
    kept pairs, in the order of ``pairs``. Compared in chunks, so memory stays small for
    any number of pairs.
    """
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    left, right = pairs[:, 0], pairs[:, 1]
    similarity = np.empty(len(pairs), dtype=np.float64)
    for lo in range(0, len(pairs), _VERIFY_CHUNK):
        hi = lo + _VERIFY_CHUNK
        similarity[lo:hi] = jaccard(signatures[left[lo:hi]], signatures[right[lo:hi]])
    keep = similarity >= threshold
    return left[keep], right[keep], similarity[keep]


def clusters_from_pairs(
    ids: list, left: np.ndarray, right: np.ndarray, similarity: np.ndarray
) -> tuple[list[Cluster], np.ndarray]:
    """Stage 4: clusters (connected components) of the verified pairs.

    Returns ``(clusters, labels)``: clusters of two or more documents ordered by their
    first member (members in input order, with their pairs), and every document's cluster
    number (-1 for documents in no cluster).

    Examples
    --------
    >>> clusters, labels = clusters_from_pairs(["a", "b", "c"], np.array([0]), np.array([2]), np.array([0.9]))
    >>> clusters[0].members, labels.tolist()
    (['a', 'c'], [0, -1, 0])
    """
    n = len(ids)
    roots = connected_components(n, left, right)
    sizes = np.bincount(roots, minlength=n)
    cluster_roots = np.flatnonzero(sizes > 1)  # roots are the smallest members: input order
    labels = np.full(n, -1, dtype=np.int64)
    number_of_root = np.full(n, -1, dtype=np.int64)
    number_of_root[cluster_roots] = np.arange(len(cluster_roots))
    in_cluster = sizes[roots] > 1
    labels[in_cluster] = number_of_root[roots[in_cluster]]

    # Members and pairs per cluster, grouped with one sort each instead of per-cluster scans.
    member_order = np.flatnonzero(in_cluster)
    member_order = member_order[np.argsort(labels[member_order], kind="stable")]
    member_bounds = np.searchsorted(labels[member_order], np.arange(len(cluster_roots) + 1))
    pair_label = labels[left]
    pair_order = np.argsort(pair_label, kind="stable")
    pair_bounds = np.searchsorted(pair_label[pair_order], np.arange(len(cluster_roots) + 1))
    left_ids = [ids[i] for i in left[pair_order].tolist()]
    right_ids = [ids[i] for i in right[pair_order].tolist()]
    sims = similarity[pair_order].tolist()
    member_ids = [ids[i] for i in member_order.tolist()]
    clusters = [
        Cluster(
            members=member_ids[member_bounds[k] : member_bounds[k + 1]],
            pairs=list(
                zip(
                    left_ids[pair_bounds[k] : pair_bounds[k + 1]],
                    right_ids[pair_bounds[k] : pair_bounds[k + 1]],
                    sims[pair_bounds[k] : pair_bounds[k + 1]],
                )
            ),
        )
        for k in range(len(cluster_roots))
    ]
    return clusters, labels


# --------------------------------------------------------------------------- find_duplicates


def find_duplicates(
    docs: Iterable[str] | Iterable[tuple[Hashable, str]] | Iterable[Mapping],
    threshold: float = 0.8,
    *,
    ids: Iterable[Hashable] | None = None,
    text_field: str = "text",
    id_field: str | None = None,
    num_perm: int = 128,
    ngram: int = 5,
    mode: str = DEFAULT_MODE,
    seed: int = 1,
    batch_size: int = 2048,
    params: tuple[int, int] | None = None,
    max_bucket: int = DEFAULT_MAX_BUCKET,
    progress: bool | Callable[[int], None] | None = None,
) -> Duplicates:
    """Clusters of near-duplicate documents.

    Documents are read once, in batches, and only their MinHash signatures are kept
    (``num_perm * 4`` bytes each), so ``docs`` may be a generator over a corpus far larger
    than memory. LSH gives candidate pairs, each is kept when its estimated Jaccard
    similarity of word n-gram shingles is at least ``threshold``, and kept pairs are
    joined into clusters (union-find). The result is deterministic.

    Parameters
    ----------
    docs : iterable of str, of (id, str) pairs, or of mappings (e.g. JSON records)
        Ids must be unique: a repeated id raises ``ValueError``.
    threshold : float in (0, 1), default 0.8
        Minimum estimated Jaccard similarity of a verified pair. The estimate has a
        standard error of ``sqrt(J * (1 - J) / num_perm)`` (0.035 at J = 0.8 with 128
        permutations): pairs that close to the threshold fall either side.
    ids : iterable, optional
        Ids of the documents when ``docs`` holds plain strings (default: positions 0, 1, ...).
    text_field, id_field : str, default "text" and None
        For mappings: the text is ``doc[text_field]``; the id is ``doc[id_field]`` when
        given (then it must be present), else ``doc["id"]`` if present, else the position.
    num_perm, ngram, mode, seed
        Signature parameters, as for :class:`dedup.MinHasher`.
    batch_size : int, default 2048
        Documents signed per NumPy pass.
    params : (bands, rows), optional
        LSH banding; default: :func:`dedup.lsh.optimal_params` with ``RECALL_WEIGHTS``.
    max_bucket : int, default 100
        See :func:`dedup.lsh.candidate_pairs`: larger LSH buckets are linked as a star,
        so clusters stay whole but not all of their pairs are listed.
    progress : None, True or callable
        ``True`` shows a tqdm bar; a callable gets the number of documents signed so far.

    Returns
    -------
    Duplicates
        ``.clusters`` (members and verified pairs with similarities), ``.labels``,
        ``.to_records()`` for JSON Lines.

    Examples
    --------
    >>> docs = ["the council approved the new budget for schools and roads on monday",
    ...         "the council approved the new budget for schools and roads on monday evening",
    ...         "heavy rain flooded several streets in the old town centre overnight"]
    >>> result = find_duplicates(docs, threshold=0.7)
    >>> [c.members for c in result.clusters]
    [[0, 1]]
    >>> records = [{"url": u, "body": t} for u, t in zip(["x.org/1", "x.org/2", "x.org/3"], docs)]
    >>> find_duplicates(records, threshold=0.7, text_field="body", id_field="url").clusters[0].members
    ['x.org/1', 'x.org/2']
    """
    threshold = check_fraction("threshold", threshold)
    max_bucket = check_int("max_bucket", max_bucket, 2)
    hasher = MinHasher(num_perm, ngram=ngram, mode=mode, seed=seed)
    bands, rows = duplicate_banding(threshold, hasher.num_perm, params)
    all_ids, signatures = sign_documents(
        docs, hasher, ids=ids, text_field=text_field, id_field=id_field, batch_size=batch_size, progress=progress
    )
    pairs = candidate_pairs(signatures, bands, rows, max_bucket=max_bucket)
    left, right, similarity = verify_pairs(signatures, pairs, threshold)
    clusters, labels = clusters_from_pairs(all_ids, left, right, similarity)
    return Duplicates(
        clusters=clusters,
        labels=labels,
        ids=all_ids,
        empty=[all_ids[i] for i in np.flatnonzero(empty_documents(signatures)).tolist()],
        threshold=threshold,
        num_perm=hasher.num_perm,
        bands=bands,
        rows=rows,
        candidates=len(pairs),
    )




def _progress_callback(
    progress: bool | Callable[[int], None] | None,
) -> tuple[Callable[[int], None], Callable[[], None]]:
    if progress is None or progress is False:
        return (lambda done: None), (lambda: None)
    if callable(progress):
        return progress, (lambda: None)
    if progress is True:
        try:
            from tqdm.auto import tqdm
        except ImportError:
            raise ImportError("progress=True needs tqdm: pip install 'dedup-passages[progress]'") from None
        bar = tqdm(unit="doc", desc="signing")
        state = {"done": 0}

        def update(done: int) -> None:
            bar.update(done - state["done"])
            state["done"] = done

        return update, bar.close
    raise TypeError(
        f"progress must be None, a bool or a callable taking the number of documents done, got {progress!r}"
    )
