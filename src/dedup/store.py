"""What a :class:`dedup.Deduplicator` remembers of earlier articles, in memory or in SQLite.

Per remembered article a store keeps:

- its id and its text, zlib-compressed after its size (the engine aligns against the
  text itself, and source spans are character offsets into it; a text is never inflated
  beyond the size recorded for it, so a crafted file cannot make it a bomb);
- its fingerprints: the distinct winnowed shingle hashes (:func:`dedup.shingle.winnow`)
  of its whole text as given, passages it repeats included (a later article may take a
  passage that mixes repeated and new words), each mapped to the article. A key keeps at
  most ``max_holders`` articles, the earliest, so an article holds only the fingerprints
  fewer than that held before it: a passage in millions of articles (boilerplate) costs
  no more than one in a few, and later articles are aligned against its earliest holders.

A :class:`SQLiteStore` is locked for its writer (:mod:`dedup.locking`): a second
process opening it stops at once with ``dedup.locking.InUseError``.

About 3 KB per article of 500 words (1.3 KB compressed text, ~140 fingerprints of 12
bytes): a million such articles fit in about 3 GB of memory. :class:`SQLiteStore` keeps
the same on disk (WAL mode) for streams larger than memory, its fingerprints in blocks
(one per batch) with a memory-mapped index of them beside the database;
:class:`MemoryStore` saves to and loads from the same SQLite format, so a saved state is
an ordinary SQLite database.
A state file is not trusted: its schema is checked before anything is read from it
(:func:`check_schema`).
"""

from __future__ import annotations

import abc
import codecs
import errno
import itertools
import json
import os
import sqlite3
import urllib.parse
import uuid
import zlib
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import xxhash

from .arrays import narrowed, stable_sort_order
from .documents import id_key
from .locking import take_lock
from .sorted_runs import FileRuns, KeyFilter, SortedRuns

FORMAT = "dedup.Deduplicator"
# 4: fingerprints in blocks (fingerprint_blocks; rows of fingerprints still read, also
# mixed with blocks); 3: each text records its size; 2: bare zlib texts (still read, also
# mixed with sized ones); 1: segment signatures in a NumPy archive (no longer read)
FORMAT_VERSION = 4
_COMPRESSION_LEVEL = 1  # zlib: 3x faster than the default level, 5% larger

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles (number INTEGER PRIMARY KEY, doc_id BLOB NOT NULL, id_is_int INTEGER NOT NULL, text BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS fingerprints (key INTEGER NOT NULL, article INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS fingerprint_blocks (block INTEGER PRIMARY KEY, first_article INTEGER NOT NULL, end_article INTEGER NOT NULL, keys BLOB NOT NULL, articles BLOB NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS articles_doc_id ON articles (doc_id, id_is_int);
CREATE INDEX IF NOT EXISTS fingerprints_key ON fingerprints (key);
"""


_CACHE_KIB = 128 * 1024  # SQLite page cache of an on-disk store
# The parameters a store's fingerprints and texts depend on: a store (or a saved state)
# is reopened only with the same values.
FIXED_PARAMS = ("ngram", "mode", "window", "max_holders")


def encode_id(doc_id: Any) -> bytes:
    """An article id as stored (UTF-8 that keeps lone surrogates, which JSON input allows)."""
    return str(doc_id).encode("utf-8", "surrogatepass")


def decode_id(blob: bytes, is_int: int) -> Any:
    text = bytes(blob).decode("utf-8", "surrogatepass")
    return int(text) if is_int else text


# A stored text: this marker (never the first byte of a zlib stream, whose low four bits
# are 8), its UTF-8 size as 8 bytes little-endian, then the zlib stream. A text without
# the marker is a bare zlib stream (format 2).
_SIZED = b"\x00"
_SIZE_BYTES = 8
_INFLATE_PIECE = 1 << 20  # a text is checked in pieces of this many bytes


def compress_text(text: str) -> bytes:
    data = text.encode("utf-8", "surrogatepass")
    return _SIZED + len(data).to_bytes(_SIZE_BYTES, "little") + zlib.compress(data, _COMPRESSION_LEVEL)


def _inflated(blob: bytes) -> Iterator[bytes]:
    """The stored text's UTF-8 bytes, in pieces; ``ValueError`` when they are not what the
    blob says. Never inflates more than one piece beyond the size the blob records."""
    blob = bytes(blob)
    size = None
    if blob[:1] == _SIZED:
        size = int.from_bytes(blob[1 : 1 + _SIZE_BYTES], "little")
        blob = blob[1 + _SIZE_BYTES :]
    inflater = zlib.decompressobj()
    produced = 0
    while not inflater.eof:
        room = _INFLATE_PIECE if size is None else min(_INFLATE_PIECE, size - produced + 1)
        piece = inflater.decompress(blob, room)
        blob = inflater.unconsumed_tail
        produced += len(piece)
        if size is not None and produced > size:
            raise ValueError(f"a stored text inflates to more than the {size:,} bytes recorded for it")
        if not piece and not blob and not inflater.eof:
            raise ValueError("a stored text is cut short")
        yield piece
    if inflater.unused_data:
        raise ValueError("a stored text has data after its end")
    if size is not None and produced != size:
        raise ValueError(f"a stored text inflates to {produced:,} bytes, not the {size:,} recorded for it")


def decompress_text(blob: bytes) -> str:
    return b"".join(_inflated(blob)).decode("utf-8", "surrogatepass")


def verify_stored_text(blob: bytes) -> None:
    """Inflate a stored text and check it, in pieces (memory stays small whatever it holds)."""
    decoder = codecs.getincrementaldecoder("utf-8")("surrogatepass")
    for piece in _inflated(blob):
        decoder.decode(piece)
    decoder.decode(b"", final=True)


class HeldKeys(Sequence):
    """The fingerprint keys each article of a pass holds (distinct uint64, sorted per
    article), as :func:`dedup.across.look_up` finds them: one run sorted by key, then
    article (``keys``, and ``articles`` numbered from 0 in the pass), which
    :class:`MemoryStore` keeps as it is, and per article (``held[i]``) on demand.

    >>> held = HeldKeys(np.array([3, 5, 5, 9], dtype=np.uint64), np.array([1, 0, 1, 0]), 3)
    >>> [keys.tolist() for keys in held]
    [[5, 9], [3, 5], []]
    """

    def __init__(self, keys: np.ndarray, articles: np.ndarray, count: int) -> None:
        self.keys, self.articles, self._count = keys, articles, count
        self._per_article: list[np.ndarray] | None = None

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, article):
        if self._per_article is None:
            order = np.argsort(narrowed(self.articles, self._count), kind="stable")  # keys stay sorted
            ends = np.zeros(self._count + 1, dtype=np.int64)
            np.cumsum(np.bincount(self.articles, minlength=self._count), out=ends[1:])
            ordered = self.keys[order]
            self._per_article = [ordered[ends[i] : ends[i + 1]] for i in range(self._count)]
        return self._per_article[article]


class Store(abc.ABC):
    """What the across pass needs of remembered articles, kept in memory
    (:class:`MemoryStore`) or on disk (:class:`SQLiteStore`). Articles are numbered from 0
    in the order they were added; each keeps its id, its text (compressed) and the
    fingerprint keys it holds."""

    max_holders: int

    @abc.abstractmethod
    def __len__(self) -> int:
        """Articles remembered."""

    @property
    @abc.abstractmethod
    def fingerprints(self) -> int:
        """Fingerprint keys held, over all articles."""

    @property
    @abc.abstractmethod
    def nbytes(self) -> int:
        """Approximate bytes of the fingerprints and compressed texts."""

    @abc.abstractmethod
    def doc_id(self, article: int) -> Any:
        """The id of article number ``article``."""

    @abc.abstractmethod
    def has_id(self, doc_id: Any) -> bool:
        """Whether an article with this id is remembered."""

    @abc.abstractmethod
    def compressed_text(self, article: int) -> bytes:
        """The article's text as kept (:func:`compress_text`)."""

    def text(self, article: int) -> str:
        return decompress_text(self.compressed_text(article))

    def compressed_texts(self, articles: Sequence[int]) -> list[bytes]:
        """:meth:`compressed_text` of each of ``articles`` (a store on disk reads them together)."""
        return [self.compressed_text(article) for article in articles]

    def doc_ids(self, articles: Sequence[int]) -> list[Any]:
        """:meth:`doc_id` of each of ``articles``."""
        return [self.doc_id(article) for article in articles]

    def known_ids(self, ids: Sequence[Any]) -> list[bool]:
        """:meth:`has_id` of each of ``ids``."""
        return [self.has_id(doc_id) for doc_id in ids]

    @abc.abstractmethod
    def holders(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(index into ``keys``, article) for every stored holder of a key."""

    @abc.abstractmethod
    def add_many(
        self,
        ids: Sequence[Any],
        texts: Sequence[str],
        fingerprints: Sequence[np.ndarray],
        compressed: Sequence[bytes] | None = None,
    ) -> None:
        """Remember articles in order, each with the fingerprint keys it holds (distinct
        uint64, already limited to keys with fewer than ``max_holders`` holders, as
        :func:`dedup.across.look_up` gives them). They are numbered from ``len(self)``.
        ``compressed``: the texts already compressed (:func:`compress_text`), when the
        caller did it elsewhere."""

    def add(self, doc_id: Any, text: str, keys: np.ndarray, holders: np.ndarray | None = None) -> int:
        """Remember an article with its fingerprint keys (distinct uint64); returns its number.

        ``holders``: how many articles hold each key already, when the caller looked them
        up (else they are looked up here); keys held by ``max_holders`` are not added.
        """
        article = len(self)
        self.add_many([doc_id], [text], [_below_cap(self, keys, holders)])
        return article

    def close(self) -> None:
        """Release what the store holds open (nothing, in memory)."""


class MemoryStore(Store):
    """Remembered articles in memory: fingerprints in sorted runs (a log-structured merge
    of NumPy arrays, one ``searchsorted`` per run to look up the keys that pass their key
    filter), texts compressed."""

    def __init__(self, max_holders: int) -> None:
        self.max_holders = max_holders
        self._ids: list = []
        self._known_ids: set = set()  # id_key of every id: ids are unique
        self._texts: list[bytes] = []
        # key -> article number; fingerprints are hashes, so a key filter spares the
        # look-up the searches of most keys of a new article.
        self._runs = SortedRuns(max_run=_MAX_RUN, lean_merge_above=_LEAN_MERGE_ABOVE, key_filter=True)

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def fingerprints(self) -> int:
        return len(self._runs)

    @property
    def nbytes(self) -> int:
        return self._runs.nbytes + sum(len(t) for t in self._texts)

    def doc_id(self, article: int) -> Any:
        return self._ids[article]

    def has_id(self, doc_id: Any) -> bool:
        return id_key(doc_id) in self._known_ids

    def compressed_text(self, article: int) -> bytes:
        return self._texts[article]

    def holders(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self._runs.lookup(keys)

    def add_many(self, ids, texts, fingerprints, compressed=None) -> None:  # typed in Store.add_many
        """See :meth:`Store.add_many`."""
        first = len(self._ids)
        for doc_id in ids:
            self._ids.append(doc_id)
            self._known_ids.add(id_key(doc_id))
        self._texts += compressed if compressed is not None else [compress_text(text) for text in texts]
        self._runs.add(*_as_one_run(fingerprints, first), ordered=True)

    def write(self, path: str, meta: dict) -> None:
        """Write the whole store as a SQLite database at ``path`` (a new file).

        A full disk or an I/O error raises ``OSError`` (as any file write would), and the
        rollback journal is removed: what is left at ``path`` is the caller's to discard.
        Fingerprints are written in (key, article) order, whatever the runs: the file
        depends only on what was remembered, not on how the runs happened to be merged.
        """
        keys = np.concatenate(self._runs.keys) if self._runs.keys else np.zeros(0, dtype=np.uint64)
        articles = np.concatenate(self._runs.payload) if self._runs.keys else np.zeros(0, dtype=np.uint32)
        order = np.lexsort((articles, keys))
        try:
            connection = _open(path, meta, journal="DELETE")  # one self-contained file
            try:
                with connection:
                    connection.executemany(
                        "INSERT INTO articles VALUES (?, ?, ?, ?)",
                        ((n, encode_id(i), _is_int(i), t) for n, (i, t) in enumerate(zip(self._ids, self._texts))),
                    )
                    _write_blocks(connection, 0, len(self._ids), keys[order], articles[order])
            finally:
                connection.close()
        except sqlite3.OperationalError as error:
            remove_journal(path)
            raise as_os_error(error, path) from error

    @classmethod
    def read(cls, path: str, max_holders: int) -> "MemoryStore":
        store = cls(max_holders)
        connection = connect_read_only(path)
        try:
            # The articles of a run not decided (its process died, or it waits at a
            # checkpoint to be resumed) are not part of the state.
            undecided = _undecided_run(connection)
            kept = None if undecided is None else undecided[0]["start"]
            query = "SELECT doc_id, id_is_int, text FROM articles WHERE number < ? ORDER BY number"
            for doc_id, is_int, blob in connection.execute(query, (_SQLITE_MAX_INT if kept is None else kept,)):
                store._ids.append(decode_id(doc_id, is_int))
                store._known_ids.add(id_key(store._ids[-1]))
                store._texts.append(bytes(blob))
            # Rows (formats 2 and 3) hold the fingerprints of articles older than any block's.
            count = len(store._ids)
            pieces = list(_fingerprint_rows(connection, count))
            pieces += [(keys, articles) for _, _, _, keys, articles in _fingerprint_blocks(connection, count, until=count)]
            if pieces:
                keys = np.concatenate([keys for keys, _ in pieces])
                order = np.argsort(keys, kind="stable")  # the holders of a key stay in order
                store._runs.replace(keys[order], np.concatenate([articles for _, articles in pieces])[order])
            for blob in store._texts[:1] + store._texts[-1:]:
                verify_stored_text(blob)  # a damaged text fails here, not in the middle of a run
        except (sqlite3.DatabaseError, ValueError, TypeError, UnicodeDecodeError, zlib.error) as error:
            raise ValueError(f"{path} is a damaged {FORMAT} state file: {error}") from None
        finally:
            connection.close()
        return store


class SQLiteStore(Store):
    """Remembered articles in a SQLite database on disk (WAL mode), for streams larger
    than memory. The same schema as a saved :class:`MemoryStore`.

    Each :meth:`add_many` appends its articles and one block of their fingerprints (sorted
    by key) to the database, in one transaction. Keys are looked up in an index beside it,
    in the folder ``PATH-index``: the blocks as sorted runs in files, memory-mapped and
    merged as the in-memory store merges its runs (:class:`dedup.sorted_runs.FileRuns`), one
    ``searchsorted`` per run for a whole batch of keys. The index is derived from the
    database and checked against it when the store is opened: a missing, stale or damaged
    one (after a crash, or the database copied without it) is rebuilt from the blocks.
    """

    #: Fingerprints of the latest batches held in memory (their articles committed) until
    #: there are this many, then added to the index as one run: articles added one by one
    #: would otherwise each cost a file, a merge and a manifest. After a crash they are
    #: caught up from the database when the store is next opened.
    recent_keys = 1 << 16

    def __init__(self, path: str, max_holders: int, meta: dict) -> None:
        self.max_holders = max_holders
        self.path = path
        self._closed = False
        if os.path.isdir(path):
            raise IsADirectoryError(errno.EISDIR, "a folder, not a store file", path)
        # One writer at a time (the article count below is cached), whatever name leads to
        # the file (a symbolic link): the lock and the index go beside the file itself.
        real = os.path.realpath(path)
        self._lock = take_lock(real)
        self._reserved_for: dict | None = None  # an interrupted run's record, while it waits to be resumed
        try:
            try:
                self._connection = _open(path, meta, existing_ok=True)
            except sqlite3.DatabaseError as error:
                if isinstance(error, sqlite3.OperationalError):
                    raise
                raise ValueError(f"{path} is not a {FORMAT} state file (not a readable SQLite database: {error})") from None
            self._count = self._connection.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
            try:
                undecided = _undecided_run(self._connection)
                if undecided is not None:  # its process ended before its commit was decided
                    _, kept, run_then = undecided
                    self._truncate(kept, run_then)
                    # A run left open at a checkpoint holds the store for its resumption:
                    # articles added meanwhile would go when it is resumed or given up.
                    self._reserved_for = run_then
            except ValueError as error:
                raise ValueError(f"{path} is a damaged {FORMAT} state file: {error}") from None
            self._index = FileRuns(
                real + INDEX_SUFFIX, _index_identity(self._connection), max_run=_MAX_RUN,
                lean_merge_above=_LEAN_MERGE_ABOVE,
            )
            self._catch_up()
            self._index_behind = False
            self._waiting = _WaitingKeys()
        except BaseException:
            if hasattr(self, "_connection"):
                self._connection.close()
            self._lock.release()
            raise
        self._filter = self._new_filter()

    def _catch_up(self) -> None:
        """Make the index hold every fingerprint of the database: rebuilt when it does not
        agree with it, the blocks added after what it covers otherwise."""
        index, connection = self._index, self._connection
        covered = index.covered
        (rows_below, rows_above), = connection.execute(
            "SELECT COALESCE(SUM(article < ?), 0), COALESCE(SUM(article >= ?), 0) FROM fingerprints", (covered, covered)
        )
        (straddling, keys_below), = connection.execute(
            "SELECT COALESCE(SUM(first_article < ? AND end_article > ?), 0), "
            "COALESCE(SUM(CASE WHEN end_article <= ? THEN length(keys) / 8 ELSE 0 END), 0) FROM fingerprint_blocks",
            (covered, covered, covered),
        )
        if (
            covered > self._count or straddling or (rows_above and covered)
            or len(index) != rows_below + keys_below or not self._marks_its_last_block(keys_below)
        ):
            index.reset()
            covered = 0
        try:
            rows = _fingerprint_rows(connection, self._count) if not covered else ()
            blocks = _fingerprint_blocks(connection, self._count, since=covered)
            # Gathered into runs of about _GATHER_KEYS: many small blocks, each of its own,
            # would cost a file, a merge and a manifest each.
            waiting = _WaitingKeys()
            for end, keys, articles, mark in itertools.chain(
                ((0, keys, articles, None) for keys, articles in rows),
                ((end, keys, articles, _block_mark(block, key_bytes)) for block, end, key_bytes, keys, articles in blocks),
            ):
                waiting.add(end, keys, articles, mark)
                if len(waiting.runs) >= _GATHER_KEYS:
                    waiting, full = _WaitingKeys(), waiting
                    full.into(index)
            waiting.into(index, end=self._count)
        except (sqlite3.DatabaseError, ValueError) as error:
            raise ValueError(f"{self.path} is a damaged {FORMAT} state file: {error}") from None

    def _marks_its_last_block(self, keys_in_blocks: int) -> bool:
        """Whether the index's mark names a block of the database as it is (another
        database grown from a copy of this one has other blocks of as many articles)."""
        mark = self._index.mark
        if mark is None:
            return not keys_in_blocks
        block = mark.partition(":")[0]
        row = self._connection.execute(
            "SELECT keys FROM fingerprint_blocks WHERE block = ?", (int(block) if block.isdigit() else -1,)
        ).fetchone()
        return row is not None and isinstance(row[0], bytes) and _block_mark(int(block), row[0]) == mark

    def _new_filter(self) -> "KeyFilter":
        """A filter of every key of the index, with room for as many again."""
        # Sorted runs, the index's memory-mapped: the filter reads them a block at a time.
        runs = [*self._index.keys, *self._waiting.runs.keys]
        return KeyFilter(len(self._index) + len(self._waiting.runs), runs, ordered=True)

    def __len__(self) -> int:
        return self._count

    @property
    def fingerprints(self) -> int:
        return len(self._index) + len(self._waiting.runs)

    @property
    def nbytes(self) -> int:
        return 0  # on disk

    def doc_id(self, article: int) -> Any:
        doc_id, is_int = self._connection.execute(
            "SELECT doc_id, id_is_int FROM articles WHERE number = ?", (article,)
        ).fetchone()
        return decode_id(doc_id, is_int)

    def has_id(self, doc_id: Any) -> bool:
        # (text, is int): dedup.documents.id_key in SQL, for the ids a Deduplicator takes (str, int)
        query = "SELECT 1 FROM articles WHERE doc_id = ? AND id_is_int = ?"
        return self._connection.execute(query, (encode_id(doc_id), _is_int(doc_id))).fetchone() is not None

    def compressed_text(self, article: int) -> bytes:
        (blob,) = self._connection.execute("SELECT text FROM articles WHERE number = ?", (article,)).fetchone()
        return bytes(blob)

    def compressed_texts(self, articles: Sequence[int]) -> list[bytes]:
        texts = dict(self._rows("number", "text", articles))
        return [bytes(texts[article]) for article in articles]

    def doc_ids(self, articles: Sequence[int]) -> list[Any]:
        rows = self._rows("number", "doc_id, id_is_int", articles)
        found = {number: decode_id(doc_id, is_int) for number, doc_id, is_int in rows}
        return [found[article] for article in articles]

    def known_ids(self, ids: Sequence[Any]) -> list[bool]:
        keys = [(encode_id(doc_id), _is_int(doc_id)) for doc_id in ids]
        stored = set(self._rows("doc_id", "id_is_int", [blob for blob, _ in keys]))
        return [key in stored for key in keys]

    def _rows(self, column: str, values: str, wanted: Sequence) -> list[tuple]:
        """``(column, *values)`` of the articles whose ``column`` is one of ``wanted``, a
        few hundred per query rather than one query each."""
        found = []
        distinct = list(dict.fromkeys(wanted))
        for lo in range(0, len(distinct), _SQL_VARIABLES):
            chunk = distinct[lo : lo + _SQL_VARIABLES]
            query = f"SELECT {column}, {values} FROM articles WHERE {column} IN ({','.join('?' * len(chunk))})"
            found += self._connection.execute(query, chunk).fetchall()
        return found

    def holders(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(index into ``keys``, article) for every stored holder of a key. Only the keys
        the filter says may be stored are looked up in the index."""
        self._check_open()
        self._mend_index()
        candidates = np.flatnonzero(self._filter.may_hold(keys))
        wanted = keys[candidates]
        found, articles = self._index.lookup(wanted)
        if len(articles) and int(articles.max()) >= self._index.covered:
            # Articles the index does not cover: not the index it says it is (its files
            # were changed). Rebuilt from the database, and asked again.
            self._index.reset()
            self._index_behind = True
            self._mend_index()
            found, articles = self._index.lookup(wanted)
        if len(self._waiting.runs):  # newer than any article of the index: after them
            recent, recent_articles = self._waiting.runs.lookup(wanted)
            found, articles = np.concatenate([found, recent]), np.concatenate([articles, recent_articles])
        return candidates[found], articles

    def add_many(self, ids, texts, fingerprints, compressed=None) -> None:  # typed in Store.add_many
        """As :meth:`MemoryStore.add_many`: the articles and their block of fingerprints in
        one transaction, then the index. ``ValueError`` while the store is held for a run
        to be resumed (see :meth:`checkpoint_run`)."""
        if self._reserved_for is not None:
            point = self._reserved_for["points"][-1]["file"]
            raise ValueError(
                f"{self.path} is held for an interrupted run, to be resumed from its checkpoint {point}: "
                "rerun that command to finish it, or remove the checkpoint to give it up"
            )
        self._mend_index()
        first = self._count
        end = first + len(ids)
        blobs = compressed if compressed is not None else [compress_text(text) for text in texts]
        keys, articles = _as_one_run(fingerprints, first)
        try:
            with self._connection:
                self._connection.executemany(
                    "INSERT INTO articles VALUES (?, ?, ?, ?)",
                    (
                        (first + n, encode_id(doc_id), _is_int(doc_id), blob)
                        for n, (doc_id, blob) in enumerate(zip(ids, blobs))
                    ),
                )
                mark = _write_blocks(self._connection, first, end, keys, articles)
        except sqlite3.OperationalError as error:  # a full disk: said about the store's file
            raise as_os_error(error, self.path) from error
        self._count = end
        try:
            # Small batches (articles added one by one) wait in memory: a file, a merge and
            # a manifest for each would cost more than the article's own work.
            self._waiting.add(end, keys, articles, mark)
            if len(self._waiting.runs) >= self.recent_keys:
                self._flush_waiting()
        except BaseException:
            # Committed, but not in the index (a full disk, an interrupt): mended from the
            # database before the store is used again (and when it is next opened).
            self._index_behind = True
            raise
        self._filter.add(keys)
        if self._filter.full:
            self._filter = self._new_filter()

    # A run of additions, kept or removed as one (``dedup clean --store``) -----------------

    def begin_run(self, decided_by: str, token: str) -> None:
        """Make the articles added from now on one run: kept once :meth:`end_run` (or
        :func:`end_store_run` with ``token``) is called, removed by :meth:`roll_back_run`.
        A run whose process ends before either is removed when the store is next opened
        (or read), unless the file ``decided_by`` exists then and holds ``token`` (a
        string of this run alone): a commit journal, whose commit was decided and ends the
        run when it is completed. So a run whose other outputs were not committed leaves
        the store as it was before it (or as at its last :meth:`checkpoint_run`).
        ``ValueError`` when a run is open already."""
        self._check_open()
        _check_token(token)
        entry = _run_entry(self._connection)
        if entry is not None:
            points = "".join(f" or its checkpoint {point['file']}" for point in entry["points"][-1:])
            raise ValueError(
                f"{self.path} has an unfinished run (decided by {entry['decided_by']}{points}): end it or roll it "
                "back first; a run whose process ended is finished by completing its commit or resuming its "
                "checkpoint (the dedup command that wrote them), or rolled back once its checkpoint is removed"
            )
        entry = {"start": self._count, "decided_by": os.path.abspath(decided_by), "token": token, "points": []}
        with self._connection:
            self._connection.execute("INSERT INTO meta VALUES (?, ?)", (_RUN_KEY, json.dumps(entry)))

    def checkpoint_run(self, decided_by: str, token: str) -> None:
        """Make the articles of the open run so far durable and, once the file
        ``decided_by`` holds ``token`` (a checkpoint written after this call), the point
        the run goes back to instead of its start: when rolled back, and when its process
        ends before its end. The run stays open. ``ValueError`` when none is open."""
        self._check_open()
        _check_token(token)
        entry = self._open_run()
        point = {"count": self._count, "file": os.path.abspath(decided_by), "token": token}
        # The last point whose file holds its token counts: the one before stays until
        # the new one's file is written.
        entry["points"] = [*entry["points"][-1:], point]
        # Synced (and with it every commit before it in the log): the checkpoint's file
        # is written after this, and must never name articles a power cut could lose.
        try:
            self._connection.execute("PRAGMA synchronous=FULL")
            try:
                with self._connection:
                    self._connection.execute("UPDATE meta SET value = ? WHERE key = ?", (json.dumps(entry), _RUN_KEY))
            finally:
                self._connection.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.OperationalError as error:
            raise as_os_error(error, self.path) from error

    def resume_run(self, token: str) -> int:
        """Go on with the open run begun with ``token`` (its process ended after a
        :meth:`checkpoint_run`; opening the store took it back to that point). Returns the
        articles it holds. ``ValueError`` when no run with that token is open."""
        self._check_open()
        entry = _run_entry(self._connection)
        if entry is None or entry["token"] != token:
            raise ValueError(f"{self.path} has no unfinished run to resume with this token")
        self._reserved_for = None
        return self._count

    @property
    def in_run(self) -> bool:
        """Whether a run is open (:meth:`begin_run`)."""
        self._check_open()
        return _run_entry(self._connection) is not None

    def end_run(self) -> None:
        """Keep the articles of the run (see :meth:`begin_run`); nothing when none is open."""
        self._check_open()
        with self._connection:
            self._connection.execute("DELETE FROM meta WHERE key = ?", (_RUN_KEY,))

    def roll_back_run(self) -> None:
        """Remove the articles added since :meth:`begin_run` (or since the last
        :meth:`checkpoint_run` whose file holds its token; the run then stays open), and
        end the run; nothing when none is open (it ended, here or by
        :func:`end_store_run`) or its commit was decided.

        The index is caught up from the database: it is rebuilt when some of the removed
        articles' fingerprints had reached its files (a run of more than ``recent_keys``)."""
        self._check_open()
        undecided = _undecided_run(self._connection)
        if undecided is None:
            return
        self._truncate(*undecided[1:])
        # The filter may keep the removed keys: it answers "may hold", and they are few.
        self._waiting = _WaitingKeys()
        self._index_behind = True
        self._catch_up()
        self._index_behind = False

    def _open_run(self) -> dict:
        entry = _run_entry(self._connection)
        if entry is None:
            raise ValueError(f"{self.path} has no run open (see begin_run)")
        return entry

    def _truncate(self, count: int, entry: dict | None) -> None:
        """Remove the articles from number ``count`` on, with their fingerprints; then the
        run is ``entry`` (None: it ends). ``ValueError`` (nothing removed) when ``count``
        is not where a run or a checkpoint of it can be: past the last article, or inside
        a block of fingerprints."""
        with self._connection:
            (straddling,) = self._connection.execute(
                "SELECT COUNT(*) FROM fingerprint_blocks WHERE first_article < ? AND end_article > ?", (count, count)
            ).fetchone()
            if count > self._count or straddling:
                raise ValueError(f"its unfinished run goes back to article {count}, where no run or checkpoint can "
                                 f"be ({self._count} articles)")
            self._connection.execute("DELETE FROM articles WHERE number >= ?", (count,))
            self._connection.execute("DELETE FROM fingerprint_blocks WHERE first_article >= ?", (count,))
            self._connection.execute("DELETE FROM fingerprints WHERE article >= ?", (count,))
            if entry is None:
                self._connection.execute("DELETE FROM meta WHERE key = ?", (_RUN_KEY,))
            else:
                self._connection.execute("UPDATE meta SET value = ? WHERE key = ?", (json.dumps(entry), _RUN_KEY))
        self._count = min(self._count, count)

    def _check_open(self) -> None:
        if self._closed:
            raise sqlite3.ProgrammingError(f"the store {self.path} is closed")

    def _flush_waiting(self) -> None:
        """The keys waiting in memory into the index, as one run."""
        waiting, self._waiting = self._waiting, _WaitingKeys()
        waiting.into(self._index)

    def _mend_index(self) -> None:
        """After an index update failed: the index caught up with the database (or rebuilt)."""
        if self._index_behind:
            self._waiting = _WaitingKeys()  # their articles are in the database: caught up with the rest
            self._catch_up()
            self._filter = self._new_filter()
            self._index_behind = False

    def close(self) -> None:
        if self._closed:
            return  # the lock was let go: another process may have the store by now
        self._closed = True
        try:
            if not self._index_behind:
                self._flush_waiting()
            self._index.close()
        finally:
            self._waiting = _WaitingKeys()
            self._connection.close()
            self._lock.release()


# Values bound in one query at most (SQLite allowed 999 before 3.32).
_SQL_VARIABLES = 500
# The folder of a SQLiteStore's index, beside its database: PATH + this.
INDEX_SUFFIX = "-index"
# A block of fingerprints holds at most this many keys (48 MB with their articles).
_BLOCK_KEYS = 1 << 22
# Keys gathered at a time to rebuild an index.
_GATHER_KEYS = 1 << 22


# The meta row of a store's run (SQLiteStore.begin_run): {"start": its first article,
# "decided_by": the file that decides its commit by holding "token", "token", "points":
# its last checkpoints, each {"count", "file", "token"} (SQLiteStore.checkpoint_run)}.
_RUN_KEY = "run"
# Larger than any article number: "no limit" in a query.
_SQLITE_MAX_INT = (1 << 63) - 1


def _run_entry(connection: sqlite3.Connection) -> dict | None:
    """The store's open run (see :meth:`SQLiteStore.begin_run`), or None; ``ValueError``
    when its record is damaged."""
    row = connection.execute("SELECT value FROM meta WHERE key = ?", (_RUN_KEY,)).fetchone()
    if row is None:
        return None
    try:
        entry = json.loads(row[0])
        start, decided_by, token, points = entry["start"], entry["decided_by"], entry["token"], entry["points"]
        fits = type(start) is int and start >= 0 and isinstance(decided_by, str) and isinstance(token, str)
        fits = fits and bool(token) and isinstance(points, list)
        for point in points:
            count, file, point_token = point["count"], point["file"], point["token"]
            fits = fits and type(count) is int and count >= start and isinstance(file, str) and isinstance(point_token, str)
    except (TypeError, ValueError, KeyError, RecursionError):
        fits = False
    if not fits:
        raise ValueError("its unfinished run's record is damaged")
    return entry


def _undecided_run(connection: sqlite3.Connection) -> tuple[dict, int, dict | None] | None:
    """The store's open run whose commit is not decided (its process ended with it open,
    or it is rolled back), and what is left of it: ``(its record, articles kept, the run
    then)``: up to its last checkpoint whose file holds that checkpoint's token, the run
    staying open to be resumed, or up to its start, the run ended. None when no run is
    open, or its commit was decided (its journal holds its token: all of it stays)."""
    entry = _run_entry(connection)
    if entry is None or _holds(entry["decided_by"], entry["token"]):
        return None
    for point in reversed(entry["points"]):
        if _holds(point["file"], point["token"]):
            return entry, point["count"], dict(entry, points=[point])
    return entry, entry["start"], None


def _check_token(token: str) -> None:
    if not isinstance(token, str) or not token:
        raise ValueError("a run and its checkpoints need a token: a non-empty string of their own")


def _holds(path: str, token: str) -> bool:
    """Whether the file ``path`` exists and holds ``token`` (a commit journal is a few KB)."""
    try:
        with open(path, "rb") as handle:
            return token.encode("ascii", "backslashreplace") in handle.read(_MOST_JOURNAL_BYTES)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return False


# A commit journal is read this far at most to find a run's token.
_MOST_JOURNAL_BYTES = 1 << 24


def held_for_run(path: str) -> str | None:
    """The checkpoint file of the interrupted run that holds the store at ``path`` for its
    resumption (see :meth:`SQLiteStore.checkpoint_run`), or None (also for a file that is
    no state: opening it says why)."""
    if not os.path.isfile(path):
        return None
    try:
        connection = connect_read_only(path)
    except (sqlite3.DatabaseError, ValueError):
        return None
    try:
        undecided = _undecided_run(connection)
    except (sqlite3.DatabaseError, ValueError):
        return None
    finally:
        connection.close()
    return None if undecided is None or undecided[2] is None else undecided[2]["points"][-1]["file"]


def end_store_run(path: str, token: str) -> bool:
    """End the run that :meth:`SQLiteStore.begin_run` began in the store at ``path`` with
    ``token``, keeping its articles: for a commit completed after its process ended
    (or by another part of the process than the store's owner). Returns whether such a
    run was open. ``ValueError`` when ``path`` is no store."""
    if not os.path.isfile(path):
        return False
    connection = sqlite3.connect(path)
    try:
        check_schema(path, connection)
        with connection:
            entry = _run_entry(connection)
            if entry is None or entry["token"] != token:
                return False
            connection.execute("DELETE FROM meta WHERE key = ?", (_RUN_KEY,))
        return True
    except sqlite3.OperationalError as error:
        raise as_os_error(error, path) from error
    except sqlite3.DatabaseError as error:
        raise ValueError(f"{path} is not a {FORMAT} state file (not a readable SQLite database: {error})") from None
    finally:
        connection.close()


def _index_identity(connection: sqlite3.Connection) -> str:
    """What the database's index is told apart by: a random name kept in its meta table."""
    row = connection.execute("SELECT value FROM meta WHERE key = 'index'").fetchone()
    if row is not None:
        return str(json.loads(row[0]))
    identity = uuid.uuid4().hex
    with connection:
        connection.execute("INSERT INTO meta VALUES ('index', ?)", (json.dumps(identity),))
    return identity


class _WaitingKeys:
    """Fingerprints on their way to an index, in memory (small batches of a store, the
    blocks of a rebuild): sorted runs, which can be looked up meanwhile, the articles they
    cover up to ``end`` and the mark of their last block (:func:`_block_mark`)."""

    def __init__(self) -> None:
        self.runs = SortedRuns()
        self.end = 0
        self.mark: str | None = None

    def add(self, end: int, keys: np.ndarray, articles: np.ndarray, mark: str | None) -> None:
        """Keys (sorted, then by article) of articles up to ``end`` (0: not known)."""
        self.runs.add(keys, articles, ordered=True)  # the holders of a key stay in order
        self.end = max(self.end, end)
        self.mark = mark or self.mark

    def into(self, index: FileRuns, end: int = 0) -> None:
        """Add them to ``index`` as one run, covering up to ``end`` at least."""
        keys, articles = self.runs.compact()
        index.add_covering(max(self.end, end, index.covered), keys, articles, ordered=True, mark=self.mark)


def _write_blocks(
    connection: sqlite3.Connection, first: int, end: int, keys: np.ndarray, articles: np.ndarray
) -> str | None:
    """Insert the fingerprints of articles ``first .. end`` (one run: keys sorted, then by
    article) as blocks of at most ``_BLOCK_KEYS``; the mark of the last (None: no keys)."""
    mark = None
    for lo in range(0, len(keys), _BLOCK_KEYS):
        key_bytes = keys[lo : lo + _BLOCK_KEYS].astype("<u8").tobytes()
        block = connection.execute(
            "INSERT INTO fingerprint_blocks (first_article, end_article, keys, articles) VALUES (?, ?, ?, ?)",
            (first, end, key_bytes, articles[lo : lo + _BLOCK_KEYS].astype("<u4").tobytes()),
        ).lastrowid
        mark = _block_mark(block, key_bytes)
    return mark


def _as_one_run(fingerprints, first: int) -> tuple[np.ndarray, np.ndarray]:
    """The fingerprints of articles numbered from ``first`` (per article, or a
    :class:`HeldKeys`) as one run: keys sorted, then by article."""
    if isinstance(fingerprints, HeldKeys):  # in that order already
        return fingerprints.keys, first + fingerprints.articles.astype(np.uint32)
    counts = [len(keys) for keys in fingerprints]
    if not sum(counts):
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.uint32)
    keys = np.concatenate(fingerprints).astype(np.uint64, copy=False)
    articles = np.repeat(np.arange(first, first + len(counts), dtype=np.uint32), counts)
    order, keys = stable_sort_order(keys)
    return keys, articles[order]


def _fingerprint_rows(connection: sqlite3.Connection, count: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The fingerprints of a format 3 (or 2) state, kept as rows: in pieces, each sorted by
    key, the holders of a key oldest first throughout."""
    cursor = connection.execute("SELECT key, article FROM fingerprints ORDER BY key, rowid")
    while rows := cursor.fetchmany(_GATHER_KEYS):
        table = np.array(rows, dtype=np.int64)
        if table.ndim != 2 or not ((0 <= table[:, 1]) & (table[:, 1] < count)).all():
            raise ValueError("fingerprints refer to unknown articles")
        # SQLite orders the keys as signed numbers: sorted again as unsigned ones (stable).
        keys = table[:, 0].view(np.uint64)
        order = np.argsort(keys, kind="stable")
        yield keys[order], table[order, 1].astype(np.uint32)


def _fingerprint_blocks(
    connection: sqlite3.Connection, count: int, since: int = 0, until: int | None = None
) -> Iterator[tuple[int, int, bytes, np.ndarray, np.ndarray]]:
    """``(block, end_article, key bytes, keys, articles)`` of each block of fingerprints of
    articles from ``since`` on (and, with ``until``, of blocks that start before it), in
    the order they were added; each checked (a state file is not trusted)."""
    if not connection.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'fingerprint_blocks'").fetchone():
        return  # a state of format 3 or older, read only
    query = (
        "SELECT block, first_article, end_article, keys, articles FROM fingerprint_blocks "
        "WHERE first_article >= ? AND first_article < ? ORDER BY block"
    )
    for block, first, end, key_bytes, article_bytes in connection.execute(query, (since, _SQLITE_MAX_INT if until is None else until)):
        if not (isinstance(key_bytes, bytes) and isinstance(article_bytes, bytes)):
            raise ValueError("a block of fingerprints is not binary")
        if len(key_bytes) % 8 or 2 * len(article_bytes) != len(key_bytes):
            raise ValueError("a block of fingerprints has keys and articles of other lengths")
        if not (isinstance(first, int) and isinstance(end, int) and 0 <= first <= end <= count):
            raise ValueError(f"a block of fingerprints names articles {first!r} to {end!r} of {count}")
        keys = np.frombuffer(key_bytes, dtype="<u8").astype(np.uint64, copy=False)
        articles = np.frombuffer(article_bytes, dtype="<u4").astype(np.uint32, copy=False)
        if len(keys) and ((articles < first).any() or (articles >= end).any() or (keys[1:] < keys[:-1]).any()):
            raise ValueError("a block of fingerprints is out of order or refers to other articles")
        yield block, end, key_bytes, keys, articles


def _block_mark(block: int, key_bytes: bytes) -> str:
    """What an index marks the last block it holds by: its number and a hash of its keys."""
    return f"{block}:{xxhash.xxh64_hexdigest(key_bytes)}"


# A run of the in-memory store holds at most this many keys (16 M: 192 MB with their
# article numbers), so merging two runs never copies more than that.
_MAX_RUN = 1 << 24
# Runs merged into more keys than this are merged by placement, in a third of the scratch
# memory of the (faster) sort: a large store's peak memory stays that of its runs.
_LEAN_MERGE_ABOVE = 1 << 20


# SQLite's result codes for a full disk and an I/O error (sqlite3.h).
_SQLITE_FULL, _SQLITE_IOERR = 13, 10


def as_os_error(error: sqlite3.OperationalError, path: str) -> Exception:
    """The ``OSError`` a full disk or an I/O error in SQLite stands for; ``error`` itself otherwise."""
    code = getattr(error, "sqlite_errorcode", None)  # Python 3.11+; the message before
    if code == _SQLITE_FULL or (code is None and "disk is full" in str(error)):
        return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)
    if (code is not None and (code & 0xFF) == _SQLITE_IOERR) or (code is None and "disk I/O error" in str(error)):
        return OSError(errno.EIO, os.strerror(errno.EIO), path)
    return error


def settle_log(path: str) -> None:
    """Fold the write-ahead log that a store at ``path`` left beside it (``PATH-wal`` and
    ``PATH-shm``, after a process was killed) into it, and remove them: a file renamed
    over ``path`` would otherwise be read with that log applied, the old store's pages
    over the new file's. Call it holding the file's lock, before replacing it. Nothing
    when there is no log; a file that is no state is left as it is."""
    if not os.path.exists(path + "-wal"):
        return
    connection = sqlite3.connect(path)
    try:
        check_schema(path, connection)
        connection.execute("PRAGMA journal_mode=DELETE")  # checkpoints the log, then removes it
    except sqlite3.OperationalError as error:
        raise as_os_error(error, path) from error
    except (sqlite3.DatabaseError, ValueError):
        pass  # not a state: its log is none of ours
    finally:
        connection.close()


def remove_journal(path: str) -> None:
    """Remove the rollback journal SQLite keeps next to ``path`` (``PATH-journal``), if any."""
    try:
        os.unlink(path + "-journal")
    except FileNotFoundError:
        pass


def _below_cap(store, keys: np.ndarray, holders: np.ndarray | None) -> np.ndarray:
    """The keys that have fewer than ``max_holders`` holders so far."""
    if not len(keys):
        return keys
    if holders is None:
        index, _ = store.holders(keys)
        holders = np.bincount(index, minlength=len(keys))
    return keys[holders < store.max_holders]


def _is_int(doc_id: Any) -> int:
    return int(isinstance(doc_id, (int, np.integer)) and not isinstance(doc_id, bool))


def _open(path: str, meta: dict, existing_ok: bool = False, journal: str = "WAL") -> sqlite3.Connection:
    """A connection to the store database at ``path``: created with ``meta``, or (with
    ``existing_ok``) an existing one checked against it."""
    exists = os.path.exists(path) and os.path.getsize(path) > 0
    if exists and not existing_ok:
        raise FileExistsError(path)
    # An empty file (a fresh temporary) is a new database to SQLite.
    connection = sqlite3.connect(path)
    try:
        connection.execute(f"PRAGMA journal_mode={journal}")
        if journal == "WAL":
            # Commits are not synced one by one: a killed process loses nothing it
            # committed (the operating system holds the writes); a power cut may lose the
            # last transactions, never the database's consistency (SQLite's guarantee
            # for WAL with synchronous=NORMAL).
            connection.execute("PRAGMA synchronous=NORMAL")
            # Fingerprint keys are random: each insert touches another page of the key
            # index. A larger page cache keeps the index's inner pages in memory.
            connection.execute(f"PRAGMA cache_size={-_CACHE_KIB}")
        if exists:
            stored = read_meta(path, connection)
            # What the stored fingerprints and texts depend on must agree; parameters that
            # only affect matching (threshold, scope...) may change, as in a load.
            fixed = [name for name in FIXED_PARAMS if stored["params"].get(name) != meta["params"].get(name)]
            if fixed:
                said = lambda params: ", ".join(f"{name}={params.get(name)!r}" for name in fixed)  # noqa: E731
                raise ValueError(f"{path} was built with other parameters ({said(stored['params'])}) "
                                 f"than given ({said(meta['params'])})")
            if stored["version"] < FORMAT_VERSION:  # texts added now record their size, fingerprints go in blocks
                with connection:
                    connection.executescript(_SCHEMA)
                    connection.execute("UPDATE meta SET value = ? WHERE key = 'version'", (str(FORMAT_VERSION),))
        else:
            with connection:
                connection.executescript(_SCHEMA)
                connection.executemany(
                    "INSERT INTO meta VALUES (?, ?)",
                    [("format", FORMAT), ("version", str(FORMAT_VERSION)), ("params", json.dumps(meta["params"]))]
                    + [(k, json.dumps(v)) for k, v in meta.items() if k != "params"],
                )
    except BaseException:
        connection.close()
        raise
    return connection


def connect_read_only(path: str) -> sqlite3.Connection:
    """A read-only connection to the state at ``path``, whatever characters its name holds,
    after :func:`check_schema`.

    Read-only needs a URI, where ``#``, ``?`` and ``%`` have meanings of their own: the
    path is percent-encoded (as bytes, so undecodable file names work too).
    """
    quoted = urllib.parse.quote(os.fsencode(os.path.abspath(path)))
    connection = sqlite3.connect(f"file://{quoted}?mode=ro", uri=True)
    try:
        check_schema(path, connection)
    except BaseException:
        connection.close()
        raise
    return connection


# The columns every state's tables have; a table may have more (a later format's).
_TABLES = {
    "meta": {"key", "value"},
    "articles": {"number", "doc_id", "id_is_int", "text"},
    "fingerprints": {"key", "article"},
}
# ... and those of tables a state of an older format does not have.
_NEWER_TABLES = {
    "fingerprint_blocks": {"block", "first_article", "end_article", "keys", "articles"},
}


def check_schema(path: str, connection: sqlite3.Connection) -> None:
    """Refuse a database that is no state before reading anything from it.

    A state file may come from anywhere, and SQLite runs what its schema says: a view may
    compute without end, a trigger may run on every write, a generated column or a
    virtual table computes what it returns. So the tables named above must be plain
    tables with their columns, nothing else may be a view, trigger or virtual table, and
    SQL functions in the schema are limited to harmless ones (``trusted_schema`` off).
    Raises ``ValueError`` naming the file; ``sqlite3.DatabaseError`` when it is not a
    readable database at all.
    """
    connection.execute("PRAGMA trusted_schema = OFF")
    entries = connection.execute("SELECT type, name, sql FROM sqlite_master").fetchall()
    for kind, name, sql in entries:
        if kind not in ("table", "index") or (sql or "").lstrip().upper().startswith("CREATE VIRTUAL"):
            kind = "virtual table" if kind == "table" else kind
            raise ValueError(f"{path} is not a {FORMAT} state file: it holds a {kind} {name!r} (a state holds only tables)")
    tables = {name for kind, name, _ in entries if kind == "table"}
    for table, needed in (*_TABLES.items(), *((t, c) for t, c in _NEWER_TABLES.items() if t in tables)):
        if table not in tables:
            raise ValueError(f"{path} is not a {FORMAT} state file: it has no table {table!r}")
        columns = connection.execute(f"PRAGMA table_xinfo({table})").fetchall()  # name is ours, not the file's
        computed = [column[1] for column in columns if column[6] != 0]  # hidden: 2, 3 are generated columns
        missing = needed - {column[1] for column in columns}
        if computed or missing:
            problem = f"computed columns {computed}" if computed else f"no columns {sorted(missing)}"
            raise ValueError(f"{path} is not a {FORMAT} state file: its table {table!r} has {problem}")


def read_meta(path: str, connection: sqlite3.Connection | None = None) -> dict:
    """The format, version and parameters stored in a state file; ``ValueError`` naming
    the file when it is no Deduplicator state, a damaged one or one from a newer version."""
    own = connection is None
    try:
        if own:
            if not os.path.isfile(path):
                raise FileNotFoundError(f"no such state file: {path}")
            connection = connect_read_only(path)
        else:
            check_schema(path, connection)
        rows = dict(connection.execute("SELECT key, value FROM meta").fetchall())
    except sqlite3.DatabaseError as error:
        raise ValueError(f"{path} is not a {FORMAT} state file (not a readable SQLite database: {error})") from None
    finally:
        if own and connection is not None:
            connection.close()
    if rows.get("format") != FORMAT:
        raise ValueError(f"{path} is not a {FORMAT} state file (format {rows.get('format')!r})")
    try:
        version = int(rows["version"])
        params = json.loads(rows["params"])
        extra = {k: json.loads(v) for k, v in rows.items() if k not in ("format", "version", "params")}
        if not isinstance(params, dict):
            raise ValueError(f"its parameters are {type(params).__name__}, not an object")
    except (KeyError, ValueError, TypeError, RecursionError) as error:
        raise ValueError(f"{path} is a damaged {FORMAT} state file: {type(error).__name__}: {error}") from None
    if version > FORMAT_VERSION:
        raise ValueError(
            f"{path} was written by a newer dedup (state format version {version}; this one reads up to "
            f"{FORMAT_VERSION}): upgrade dedup to read it"
        )
    return {"format": FORMAT, "version": version, "params": params, **extra}
