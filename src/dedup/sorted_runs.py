"""A multiset of ``uint64`` keys, each with a ``uint32`` payload, kept as a few sorted runs:
the index behind :class:`dedup.lsh.LSHIndex` (band key -> row) and
:class:`dedup.store.MemoryStore` (fingerprint -> article).

Every :meth:`SortedRuns.add` becomes a sorted run; runs are merged while the newer one is
at least a quarter of the size of the one before it (as in a log-structured merge tree),
so there are O(log n) runs, each key is re-sorted O(log n) times, and a lookup is one
``searchsorted`` per run. Equal keys keep the order they were added in (the holders of a
fingerprint stay oldest first).

>>> runs = SortedRuns()
>>> runs.add(np.array([5, 3, 5], dtype=np.uint64), np.array([0, 1, 2]))
>>> runs.add(np.array([5], dtype=np.uint64), np.array([3]))
>>> [array.tolist() for array in runs.lookup(np.array([4, 5], dtype=np.uint64))]
[[1, 1, 1], [0, 2, 3]]
"""

from __future__ import annotations

import numpy as np

__all__ = ["MERGE_RATIO", "SortedRuns", "merge_runs"]

MERGE_RATIO = 4  # merge a run into the one before it once it reaches 1/4 of its size


class SortedRuns:
    """Keys with payloads in sorted runs, oldest first (see the module's description).

    ``max_run``, when given, caps the keys of a merged run: two runs are not merged when
    together they would hold more, so a merge never copies more than that.
    ``lean_merge_above``, when given: runs that merge into more keys than this are merged
    by placement, which needs about a third of the scratch memory of the stable sort
    used otherwise (and is slower; see :func:`merge_runs`).
    """

    def __init__(self, max_run: int | None = None, lean_merge_above: int | None = None) -> None:
        self.max_run = max_run
        self.lean_merge_above = lean_merge_above
        self.keys: list[np.ndarray] = []  # sorted uint64 runs, oldest first
        self.payload: list[np.ndarray] = []  # uint32, aligned with ``keys``

    def __len__(self) -> int:
        return sum(len(k) for k in self.keys)

    @property
    def nbytes(self) -> int:
        return sum(k.nbytes + p.nbytes for k, p in zip(self.keys, self.payload))

    def add(self, keys: np.ndarray, payload: np.ndarray, *, ordered: bool = False) -> None:
        """Add ``keys[i]`` with ``payload[i]``; of equal keys, those added earlier stay first.
        ``ordered``: the keys come sorted already (they are kept as they are)."""
        if not len(keys):
            return
        if not ordered:
            order = np.argsort(keys, kind="stable")
            keys, payload = keys[order], payload[order]
        self.keys.append(keys)
        self.payload.append(payload.astype(np.uint32, copy=False))
        while len(self.keys) > 1 and len(self.keys[-2]) <= MERGE_RATIO * len(self.keys[-1]):
            if self.max_run is not None and len(self.keys[-2]) + len(self.keys[-1]) > self.max_run:
                break
            self._merge_last_two()

    def _merge_last_two(self) -> None:
        lean = self.lean_merge_above is not None and len(self.keys[-2]) + len(self.keys[-1]) > self.lean_merge_above
        merged = merge_runs(self.keys[-2], self.payload[-2], self.keys[-1], self.payload[-1], lean=lean)
        self.keys[-2:], self.payload[-2:] = [merged[0]], [merged[1]]

    def replace(self, keys: np.ndarray, payload: np.ndarray) -> None:
        """Hold exactly ``keys`` (sorted) with ``payload``, as one run (a state read back)."""
        self.keys, self.payload = ([keys], [payload.astype(np.uint32, copy=False)]) if len(keys) else ([], [])

    def compact(self) -> tuple[np.ndarray, np.ndarray]:
        """All keys as one sorted run (merged in place), with their payloads."""
        while len(self.keys) > 1:
            self._merge_last_two()
        if not self.keys:
            return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.uint32)
        return self.keys[0], self.payload[0]

    def lookup(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(query index, payload)`` (both int64) for every stored key equal to a query,
        run by run, oldest first."""
        query_index, payloads = [], []
        for keys, payload in zip(self.keys, self.payload):
            low = np.searchsorted(keys, queries, side="left")
            hit = np.flatnonzero(keys[np.minimum(low, len(keys) - 1)] == queries)
            if not len(hit):
                continue  # most queries are new: one search per run finds that
            counts = np.searchsorted(keys, queries[hit], side="right") - low[hit]
            query_index.append(np.repeat(hit, counts))
            # The positions low[h] .. low[h] + counts[h] - 1 of every hit h, in one pass.
            starts = np.repeat(low[hit] - (np.cumsum(counts) - counts), counts)
            payloads.append(payload[starts + np.arange(int(counts.sum()))])
        if not query_index:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        return np.concatenate(query_index), np.concatenate(payloads).astype(np.int64)


def merge_runs(
    older_keys: np.ndarray,
    older_payload: np.ndarray,
    newer_keys: np.ndarray,
    newer_payload: np.ndarray,
    *,
    lean: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Two sorted runs as one; of equal keys the older run's come first.

    By one stable sort of both (timsort finds the two runs: linear), or with ``lean`` by
    placing the newer keys among the older, which needs no concatenation and no sort
    order (about a third of the scratch memory) but is about 1.5-2x slower at the sizes
    :class:`SortedRuns` merges (the newer run at least a quarter of the older).
    """
    total = len(older_keys) + len(newer_keys)
    if not lean:
        keys = np.concatenate([older_keys, newer_keys])
        order = np.argsort(keys, kind="stable")
        return keys[order], np.concatenate([older_payload, newer_payload])[order]
    at = np.searchsorted(older_keys, newer_keys, side="right") + np.arange(len(newer_keys))
    from_older = np.ones(total, dtype=bool)
    from_older[at] = False
    keys = np.empty(total, dtype=older_keys.dtype)
    payload = np.empty(total, dtype=older_payload.dtype)
    keys[at], payload[at] = newer_keys, newer_payload
    keys[from_older], payload[from_older] = older_keys, older_payload
    return keys, payload
