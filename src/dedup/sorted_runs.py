"""A multiset of ``uint64`` keys, each with a ``uint32`` payload, kept as a few sorted runs:
the index behind :class:`dedup.lsh.LSHIndex` (band key -> row) and
:class:`dedup.store.MemoryStore` (fingerprint -> article); as files, memory-mapped
(:class:`FileRuns`), the index of :class:`dedup.store.SQLiteStore`.

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

import errno
import json
import os
from collections.abc import Iterable

import numpy as np
import xxhash

from .arrays import stable_sort_order
from .atomic import fsync_directory

__all__ = ["MERGE_RATIO", "FileRuns", "KeyFilter", "SortedRuns", "merge_runs"]

MERGE_RATIO = 4  # merge a run into the one before it once it reaches 1/4 of its size


class KeyFilter:
    """Which keys may have been added: a Bloom filter over keys that are uniform hashes
    (fingerprints, band keys), so that keys never added (most keys of a new article)
    cost no search of the index, in memory or on disk. A key added always passes.

    Each key sets two bits of one 64-bit word (a blocked Bloom filter): the word is
    picked by the key's top bits and the two bits by its lowest bits. A look-up reads
    one word a key, and keys asked in sorted order (as a batch's distinct keys are) read
    the filter front to back. With ``bits_per_key`` bits a key, about 2% of absent keys
    pass at 16, 5% at 8 and 16% at 4.

    Built for ``count`` keys given in blocks by ``keys``, with room for as many again
    (2 to 4 times ``bits_per_key`` bits a key); :attr:`full` says when it holds more keys
    than ``bits_per_key`` bits each and should be built anew, larger. It grows to
    ``MAX_BITS`` at most (1 GiB), so the memory stays bounded: past that it lets more
    absent keys pass, which then cost a search, not a wrong answer.

    >>> keys = np.array([3, 1 << 40, 12345678901234567], dtype=np.uint64)
    >>> kept = KeyFilter(len(keys), [keys])
    >>> kept.may_hold(keys).tolist(), bool(kept.may_hold(np.array([99], dtype=np.uint64))[0])
    ([True, True, True], False)
    """

    MIN_BITS = 1 << 16
    MAX_BITS = 1 << 33
    # Keys whose bits are set at a time: the temporaries stay a few MB however many keys.
    _BLOCK = 1 << 20

    def __init__(
        self, count: int = 0, keys: Iterable[np.ndarray] = (), *, bits_per_key: int = 16, ordered: bool = False
    ) -> None:
        self.bits_per_key = bits_per_key
        size = self.MIN_BITS
        while size < 2 * count * bits_per_key and size < self.MAX_BITS:
            size *= 2
        self._words = np.zeros(size // 64, dtype=np.uint64)
        self._shift = np.uint64(64 - (len(self._words).bit_length() - 1))  # the top bits that pick the word
        self.count = 0
        for block in keys:
            self.add(block, ordered=ordered)

    @property
    def nbytes(self) -> int:
        return self._words.nbytes

    @property
    def full(self) -> bool:
        """Whether it holds more keys than it was made for and may grow."""
        bits = len(self._words) * 64
        return self.count * self.bits_per_key > bits and bits < self.MAX_BITS

    def add(self, keys: np.ndarray, *, ordered: bool = False) -> None:
        """Set the bits of ``keys`` (uint64; ``ordered``: sorted already)."""
        keys = keys.astype(np.uint64, copy=False)
        for lo in range(0, len(keys), self._BLOCK):
            block = keys[lo : lo + self._BLOCK]
            if not ordered:
                block = np.sort(block)  # the words of equal top bits as neighbours
            word, bits = self._places(block)
            first = np.flatnonzero(np.r_[True, word[1:] != word[:-1]])
            self._words[word[first]] |= np.bitwise_or.reduceat(bits, first)  # each word once
        self.count += len(keys)

    def may_hold(self, keys: np.ndarray) -> np.ndarray:
        """Per key (uint64), whether it may have been added (False: it surely was not)."""
        word, bits = self._places(keys.astype(np.uint64, copy=False))
        return (self._words[word] & bits) == bits

    def _places(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each key's word, and its two bits in it."""
        one = np.uint64(1)
        bits = (one << (keys & np.uint64(63))) | (one << ((keys >> np.uint64(6)) & np.uint64(63)))
        return (keys >> self._shift).astype(np.intp), bits


class SortedRuns:
    """Keys with payloads in sorted runs, oldest first (see the module's description).

    ``max_run``, when given, caps the keys of a merged run: two runs are not merged when
    together they would hold more, so a merge never copies more than that.
    ``lean_merge_above``, when given: runs that merge into more keys than this are merged
    by placement, which needs about a third of the scratch memory of the stable sort
    used otherwise (and is slower; see :func:`merge_runs`).
    ``key_filter``: keep a :class:`KeyFilter` of the keys (they must be uniform hashes),
    so that a look-up searches the runs only for the keys that pass it, at 4 to 16 bits
    a key (half a byte to two; 2-16% of absent keys pass). It is not part of
    :attr:`nbytes` (it is made again from the keys; see :attr:`filter_nbytes`).
    """

    # The key filter's bits a key: a search of the runs in memory costs little more than
    # the filter's memory saves (see KeyFilter).
    FILTER_BITS_PER_KEY = 4

    def __init__(
        self, max_run: int | None = None, lean_merge_above: int | None = None, *, key_filter: bool = False
    ) -> None:
        self.max_run = max_run
        self.lean_merge_above = lean_merge_above
        self.keys: list[np.ndarray] = []  # sorted uint64 runs, oldest first
        self.payload: list[np.ndarray] = []  # uint32, aligned with ``keys``
        self._filter = KeyFilter(bits_per_key=self.FILTER_BITS_PER_KEY) if key_filter else None

    def __len__(self) -> int:
        return sum(len(k) for k in self.keys)

    @property
    def nbytes(self) -> int:
        return sum(k.nbytes + p.nbytes for k, p in zip(self.keys, self.payload))

    @property
    def filter_nbytes(self) -> int:
        """Bytes of the key filter (0 without one)."""
        return 0 if self._filter is None else self._filter.nbytes

    def add(self, keys: np.ndarray, payload: np.ndarray, *, ordered: bool = False) -> None:
        """Add ``keys[i]`` with ``payload[i]``; of equal keys, those added earlier stay first.
        ``ordered``: the keys come sorted already (they are kept as they are)."""
        if not len(keys):
            return
        if not ordered:
            order, keys = stable_sort_order(keys)
            payload = payload[order]
        if self._filter is not None:
            self._filter.add(keys, ordered=True)
            if self._filter.full:
                self._filter = self._filter_of([*self.keys, keys])
        self._push(keys, payload.astype(np.uint32, copy=False))
        while len(self.keys) > 1 and len(self.keys[-2]) <= MERGE_RATIO * len(self.keys[-1]):
            if self.max_run is not None and len(self.keys[-2]) + len(self.keys[-1]) > self.max_run:
                break
            self._merge_last_two()

    def _filter_of(self, runs: list[np.ndarray]) -> KeyFilter:
        """A key filter of all keys of ``runs`` (sorted), with room for as many again."""
        return KeyFilter(sum(len(keys) for keys in runs), runs, bits_per_key=self.FILTER_BITS_PER_KEY, ordered=True)

    def _merge_last_two(self) -> None:
        lean = self.lean_merge_above is not None and len(self.keys[-2]) + len(self.keys[-1]) > self.lean_merge_above
        merged = merge_runs(self.keys[-2], self.payload[-2], self.keys[-1], self.payload[-1], lean=lean)
        self._pop()
        self._pop()
        self._push(*merged)

    def _push(self, keys: np.ndarray, payload: np.ndarray) -> None:
        """Hold a new newest run (a subclass keeps it elsewhere)."""
        self.keys.append(keys)
        self.payload.append(payload)

    def _pop(self) -> None:
        """Let go of the newest run."""
        self.keys.pop()
        self.payload.pop()

    def replace(self, keys: np.ndarray, payload: np.ndarray) -> None:
        """Hold exactly ``keys`` (sorted) with ``payload``, as one run (a state read back)."""
        self.keys, self.payload = ([keys], [payload.astype(np.uint32, copy=False)]) if len(keys) else ([], [])
        if self._filter is not None:
            self._filter = self._filter_of(self.keys)

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
        if self._filter is not None and self.keys:
            passing = np.flatnonzero(self._filter.may_hold(queries))  # in order: so are the hits
            query_index, payloads = self._searched(queries[passing])
            return passing[query_index], payloads
        return self._searched(queries)

    def _searched(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`lookup` by binary search of every run."""
        query_index, payloads = [], []
        for keys, payload in zip(self.keys, self.payload):
            low = np.searchsorted(keys, queries, side="left")
            hit = np.flatnonzero(keys[np.minimum(low, len(keys) - 1)] == queries)
            if not len(hit):
                continue  # most queries are new: one search per run finds that
            counts = _equal_run_lengths(keys, low[hit], queries[hit])
            query_index.append(np.repeat(hit, counts))
            # The positions low[h] .. low[h] + counts[h] - 1 of every hit h, in one pass.
            starts = np.repeat(low[hit] - (np.cumsum(counts) - counts), counts)
            payloads.append(payload[starts + np.arange(int(counts.sum()))])
        if not query_index:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        return np.concatenate(query_index), np.concatenate(payloads).astype(np.int64)


def _equal_run_lengths(keys: np.ndarray, first: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """How many of the sorted ``keys`` from each ``first`` on equal its query (each
    ``keys[first[i]] == queries[i]``). A key is held a few times at most in a run (a
    store keeps ``max_holders``), so the neighbours are compared a step at a time, the
    same cache lines as the hit's; runs of equal keys longer than ``_MOST_STEPS`` (an
    LSH band shared by many rows) end where a binary search says."""
    counts = np.ones(len(first), dtype=np.int64)
    open_runs = np.arange(len(first))
    last = len(keys) - 1
    for step in range(1, _MOST_STEPS):
        at = first[open_runs] + step
        same = (keys[np.minimum(at, last)] == queries[open_runs]) & (at <= last)
        open_runs = open_runs[same]
        if not len(open_runs):
            return counts
        counts[open_runs] += 1
    counts[open_runs] = np.searchsorted(keys, queries[open_runs], side="right") - first[open_runs]
    return counts


# Neighbours compared one step at a time by _equal_run_lengths before a binary search.
_MOST_STEPS = 8


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


class FileRuns(SortedRuns):
    """:class:`SortedRuns` kept as files in ``folder``, memory-mapped: an index larger
    than memory, merged as in memory (each merge writes one new file).

    The runs are an index *derived* from data kept elsewhere (the fingerprint blocks of
    :class:`dedup.store.SQLiteStore`), which tells them apart by ``identity``. What they
    hold is described by a manifest (``manifest.json``, replaced atomically after the
    run files it names are written): the identity, how many of the source's items the
    runs cover (:attr:`covered`: items are numbered from 0, and each :meth:`add_covering`
    takes the keys of the next ones), the owner's mark of the last data added
    (:attr:`mark`, a string, to tell its own data from other data of as many items), how
    many keys, each run's file and checksum, and whether the runs were closed cleanly. A manifest of another identity, one naming a
    missing or short file, or, after an unclean end (a killed process, a power cut), a
    run whose checksum does not match, leaves the index empty: its owner rebuilds it
    from its data (:meth:`reset` empties it by hand). Files are not synced while the
    index is open: the data it is built from is what must survive a crash, and it is
    checked against it. :meth:`close` syncs the runs written since the index was opened
    before it marks them clean (a clean manifest is trusted without checksums, so what it
    names must be on disk before it: a power cut after ``close`` would otherwise leave it
    naming runs whose data never reached the disk).

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     runs = FileRuns(folder, "example")
    ...     runs.add_covering(2, np.array([5, 3, 5], dtype=np.uint64), np.array([0, 1, 1]))
    ...     runs.close()
    ...     again = FileRuns(folder, "example")
    ...     print(again.covered, [a.tolist() for a in again.lookup(np.array([5], dtype=np.uint64))])
    ...     again.close()
    2 [[0, 0], [0, 1]]
    """

    MANIFEST = "manifest.json"

    def __init__(self, folder: str, identity: str, max_run: int | None = None, lean_merge_above: int | None = None) -> None:
        super().__init__(max_run, lean_merge_above)
        self.folder = folder
        self.identity = identity
        self.covered = 0
        self.mark: str | None = None
        self._files: list[tuple[str, int]] = []  # (name, checksum) of each run
        self._serial = 0  # numbers the run files, never reused
        self._dropped: list[str] = []  # files of merged runs, deleted once the manifest is replaced
        self._written: set[str] = set()  # runs written since opened: synced by close()
        if os.path.lexists(folder) and not os.path.isdir(folder):
            raise NotADirectoryError(errno.ENOTDIR, "not a folder, where the runs of an index are kept", folder)
        os.makedirs(folder, exist_ok=True)
        self._open_existing()
        self._save(clean=False)  # until close(): a crash in between is told apart

    def _open_existing(self) -> None:
        try:
            with open(os.path.join(self.folder, self.MANIFEST), encoding="utf-8") as handle:
                manifest = json.load(handle)
            if manifest["identity"] != self.identity:
                raise ValueError("another index")
            runs = []
            for name, count, checksum in manifest["runs"]:
                if not (isinstance(name, str) and name.startswith("run") and name[3:].isdigit()):
                    raise ValueError("a run named outside the folder's own")
                keys, payload = self._mapped(name)
                if len(keys) != count or len(payload) != count:
                    raise ValueError("a run of another size")
                if not manifest["clean"] and _checksum(keys, payload) != checksum:
                    raise ValueError("a damaged run")
                runs.append((name, checksum, keys, payload))
            covered, serial, mark = int(manifest["covered"]), int(manifest["serial"]), manifest["mark"]
            if not (mark is None or isinstance(mark, str)):
                raise ValueError("a mark that is no string")
        except (OSError, ValueError, KeyError, TypeError, OverflowError, RecursionError):
            self._remove_files(keep=())
            return
        for name, checksum, keys, payload in runs:
            self.keys.append(keys)
            self.payload.append(payload)
            self._files.append((name, checksum))
        self.covered, self._serial, self.mark = covered, serial, mark
        self._remove_files(keep={name for name, _ in self._files})

    def add_covering(
        self, end: int, keys: np.ndarray, payload: np.ndarray, *, ordered: bool = False, mark: str | None = None
    ) -> None:
        """Add the keys of the source's items ``covered .. end`` (see :meth:`SortedRuns.add`);
        ``mark``, when given, becomes :attr:`mark`."""
        if end < self.covered:
            raise ValueError(f"the index covers {self.covered} items already, not {end}")
        self.add(keys, payload, ordered=ordered)
        self.covered = end
        if mark is not None:
            self.mark = mark
        self._save(clean=False)

    def replace(self, keys: np.ndarray, payload: np.ndarray) -> None:
        raise NotImplementedError("FileRuns covers items: reset(), then add_covering() what they hold")

    def reset(self) -> None:
        """Hold nothing (cover no item), the files removed."""
        self.keys, self.payload, self._files, self.covered, self.mark = [], [], [], 0, None
        self._save(clean=False)
        self._remove_files(keep=())

    def close(self) -> None:
        """Mark the runs as closed cleanly (their checksums need no check when reopened),
        and let go of their memory maps (and the files they hold open)."""
        self._sync_written()
        self._save(clean=True)
        self.keys, self.payload = [], []

    def _push(self, keys: np.ndarray, payload: np.ndarray) -> None:
        name = f"run{self._serial}"
        self._serial += 1
        for suffix, array in ((".keys", keys), (".payload", payload.astype(np.uint32, copy=False))):
            path = os.path.join(self.folder, name + suffix)
            array.tofile(path + ".tmp")
            os.replace(path + ".tmp", path)
        super()._push(*self._mapped(name))
        self._files.append((name, _checksum(keys, payload)))
        self._written.add(name)

    def _sync_written(self) -> None:
        """Put the runs written since the index was opened (those still named) on disk."""
        for name, _ in self._files:
            if name in self._written:
                for suffix in (".keys", ".payload"):
                    fd = os.open(os.path.join(self.folder, name + suffix), os.O_RDONLY)
                    try:
                        os.fsync(fd)
                    finally:
                        os.close(fd)
        self._written = set()
        fsync_directory(self.folder)

    def _mapped(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """The keys and payload of run ``name``, memory-mapped read-only."""
        return (
            np.memmap(os.path.join(self.folder, name + ".keys"), dtype=np.uint64, mode="r"),
            np.memmap(os.path.join(self.folder, name + ".payload"), dtype=np.uint32, mode="r"),
        )

    def _pop(self) -> None:
        super()._pop()
        self._dropped.append(self._files.pop()[0])

    def _save(self, clean: bool) -> None:
        manifest = {
            "identity": self.identity,
            "covered": self.covered,
            "mark": self.mark,
            "keys": len(self),
            "serial": self._serial,
            "clean": clean,
            "runs": [[name, len(keys), checksum] for (name, checksum), keys in zip(self._files, self.keys)],
        }
        path = os.path.join(self.folder, self.MANIFEST)
        with open(path + ".tmp", "w", encoding="utf-8") as handle:
            json.dump(manifest, handle)
        os.replace(path + ".tmp", path)
        for name in self._dropped:  # no manifest names them any more
            for suffix in (".keys", ".payload"):
                _remove(os.path.join(self.folder, name + suffix))
        self._dropped = []

    def _remove_files(self, keep) -> None:
        """Remove run files (and leftovers of interrupted writes) other than ``keep``'s."""
        for entry in os.listdir(self.folder):
            stem = entry.split(".")[0]
            if entry != self.MANIFEST and stem.startswith("run") and stem not in keep:
                _remove(os.path.join(self.folder, entry))


def _checksum(keys: np.ndarray, payload: np.ndarray) -> int:
    return xxhash.xxh64_intdigest(np.ascontiguousarray(keys).data) ^ xxhash.xxh64_intdigest(
        np.ascontiguousarray(payload, dtype=np.uint32).data, seed=1
    )


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
