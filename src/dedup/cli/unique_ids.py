"""Document ids seen in a run, to refuse one used twice, in bounded memory.

Reports, clusters and the across-document memory name documents by id, so a repeated
id is ambiguous: the commands stop at the second use and name the first. A run of ten
million documents must not hold ten million Python strings for that: each id is kept as
a 128-bit hash of its key (:func:`dedup.documents.id_key`: 7 and "7" are two ids) and
where it was first seen, in NumPy arrays (sorted runs of the hashes' high halves, the low
halves and places by order of arrival): 32 bytes an id, up to about 80 at the peaks while
the arrays grow, against about 250 in a dictionary of the ids. Two ids are the same only when
all 128 bits agree: a false "used before" needs a 128-bit collision.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import xxhash

from ..documents import id_key
from ..sorted_runs import SortedRuns
from .errors import DataError
from .records import Record

# Ids held in a dictionary before they go into the sorted runs as one batch.
RECENT_IDS = 1 << 16
_LOW_BITS = (1 << 64) - 1


class UniqueIds:
    """Refuses a document id seen before in the run, naming where it was first seen.

    >>> from dedup.cli.records import Record
    >>> seen = UniqueIds()
    >>> seen.check_all([Record("a.jsonl", 1, 7, "x"), Record("a.jsonl", 2, "7", "y")])
    >>> seen.check(Record("b.jsonl", 5, 7, "z"))
    Traceback (most recent call last):
    ...
    dedup.cli.errors.DataError: b.jsonl:5: document id 7 was used before (at a.jsonl:1); ids must be unique (use --id-field NAME with a unique field)
    """

    def __init__(self) -> None:
        self._runs = SortedRuns()  # high 64 bits of each hash -> its ordinal
        # By ordinal (the first self._count used, room beyond): the low 64 bits of each
        # hash, and where it was seen (source number, line).
        self._low = np.zeros(0, dtype=np.uint64)
        self._file = np.zeros(0, dtype=np.uint32)
        self._line = np.zeros(0, dtype=np.int64)
        self._sources: dict[str, int] = {}
        self._names: list[str] = []
        self._count = 0  # ids in the blocks
        self._recent: dict[int, tuple[str, int]] = {}  # hash -> (source, line), not in the blocks yet

    def check(self, record: Record) -> None:
        """Take ``record``'s id; ``DataError`` when it was seen before."""
        self.check_all([record])

    def check_all(self, records: Sequence[Record]) -> None:
        """Take the ids of ``records`` in order; ``DataError`` at the first seen before
        (the ones before it are taken)."""
        hashes = [_hash(record.id) for record in records]
        earlier = self._in_blocks(hashes) if self._count else {}
        try:
            for record, digest in zip(records, hashes):
                first = earlier.get(digest) or self._recent.get(digest)
                if first is not None:
                    raise DataError(
                        f"{record.source}:{record.line}: document id {record.id!r} was used before (at "
                        f"{first[0]}:{first[1]}); ids must be unique (use --id-field NAME with a unique field)"
                    )
                self._recent[digest] = (record.source, record.line)
        finally:
            # Only between batches: ``earlier`` was looked up in the blocks as they were.
            if len(self._recent) >= RECENT_IDS:
                self._flush()

    def _in_blocks(self, hashes: list[int]) -> dict[int, tuple[str, int]]:
        """Where each of ``hashes`` held in the blocks was first seen."""
        high = np.array([digest >> 64 for digest in hashes], dtype=np.uint64)
        query, ordinal = self._runs.lookup(high)
        if not len(query):
            return {}
        wanted = np.array([hashes[q] & _LOW_BITS for q in query.tolist()], dtype=np.uint64)
        same = np.flatnonzero(self._low[ordinal] == wanted)
        return {
            hashes[q]: (self._names[self._file[o]], int(self._line[o]))
            for q, o in zip(query[same].tolist(), ordinal[same].tolist())
        }

    def _flush(self) -> None:
        """The recent ids into the blocks, as one run."""
        digests = list(self._recent)
        places = list(self._recent.values())
        self._recent = {}
        start, end = self._count, self._count + len(digests)
        if end > len(self._low):  # room doubled: each id is copied a few times at most
            room = max(2 * len(self._low), end)
            self._low, self._file, self._line = (
                np.concatenate([a[:start], np.zeros(room - start, dtype=a.dtype)]) for a in (self._low, self._file, self._line)
            )
        self._runs.add(np.array([d >> 64 for d in digests], dtype=np.uint64), np.arange(start, end, dtype=np.uint32))
        self._low[start:end] = [d & _LOW_BITS for d in digests]
        self._file[start:end] = [self._source_number(source) for source, _ in places]
        self._line[start:end] = [line for _, line in places]
        self._count = end

    def _source_number(self, source: str) -> int:
        number = self._sources.get(source)
        if number is None:
            number = self._sources[source] = len(self._names)
            self._names.append(source)
        return number


def _hash(doc_id: Any) -> int:
    """The 128-bit hash of an id's key (its kind and value)."""
    kind, value = id_key(doc_id)
    hash(value)  # an unhashable id fails here, as in a set
    text = value if isinstance(value, str) else repr(value)
    return xxhash.xxh3_128_intdigest(f"{kind}\x00{text}".encode("utf-8", "surrogatepass"))
