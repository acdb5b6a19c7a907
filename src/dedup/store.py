"""What a :class:`dedup.Deduplicator` remembers of earlier articles, in memory or in SQLite.

Per remembered article a store keeps:

- its id and its text, zlib-compressed after its size (the engine aligns against the
  text itself, and source spans are character offsets into it; a text is never inflated
  beyond the size recorded for it, so a crafted file cannot make it a bomb);
- its fingerprints: winnowed shingle hashes (:func:`dedup.shingle.winnow`) of the words
  that were not removed as repeats, each mapped to the article. A key keeps at most
  ``max_holders`` articles, the earliest: a passage in millions of articles (boilerplate)
  costs no more than one in a few, and later articles are aligned against its earliest
  holders.

A :class:`SQLiteStore` is locked for its writer (:mod:`dedup.locking`): a second
process opening it stops at once with ``dedup.locking.InUseError``.

About 3 KB per article of 500 words (1.3 KB compressed text, ~140 fingerprints of 12
bytes): a million such articles fit in about 3 GB of memory. :class:`SQLiteStore` keeps
the same on disk (WAL mode) for streams larger than memory; :class:`MemoryStore` saves to
and loads from the same SQLite format, so a saved state is an ordinary SQLite database.
A state file is not trusted: its schema is checked before anything is read from it
(:func:`check_schema`).
"""

from __future__ import annotations

import codecs
import json
import os
import sqlite3
import urllib.parse
import zlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from .locking import take_lock

FORMAT = "dedup.Deduplicator"
# 3: each text records its size; 2: bare zlib texts (still read, also mixed with sized ones);
# 1: segment signatures in a NumPy archive (no longer read)
FORMAT_VERSION = 3
_COMPRESSION_LEVEL = 1  # zlib: 3x faster than the default level, 5% larger

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles (number INTEGER PRIMARY KEY, doc_id BLOB NOT NULL, id_is_int INTEGER NOT NULL, text BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS fingerprints (key INTEGER NOT NULL, article INTEGER NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS articles_doc_id ON articles (doc_id, id_is_int);
CREATE INDEX IF NOT EXISTS fingerprints_key ON fingerprints (key);
"""


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


def _signed(keys: np.ndarray) -> np.ndarray:
    """uint64 keys as the int64 SQLite stores (same bits)."""
    return keys.astype(np.uint64, copy=False).view(np.int64)


class MemoryStore:
    """Remembered articles in memory: fingerprints in sorted runs (a log-structured merge
    of NumPy arrays, one ``searchsorted`` per run to look up), texts compressed."""

    def __init__(self, max_holders: int) -> None:
        self.max_holders = max_holders
        self._ids: list = []
        self._known_ids: set = set()  # (id, is int): ids are unique
        self._texts: list[bytes] = []
        self._keys: list[np.ndarray] = []  # sorted runs of uint64 keys
        self._articles: list[np.ndarray] = []  # uint32 article numbers, aligned with _keys

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def fingerprints(self) -> int:
        return sum(len(k) for k in self._keys)

    @property
    def nbytes(self) -> int:
        arrays = sum(k.nbytes + a.nbytes for k, a in zip(self._keys, self._articles))
        return arrays + sum(len(t) for t in self._texts)

    def doc_id(self, article: int) -> Any:
        return self._ids[article]

    def has_id(self, doc_id: Any) -> bool:
        return (str(doc_id), _is_int(doc_id)) in self._known_ids

    def text(self, article: int) -> str:
        return decompress_text(self._texts[article])

    def holders(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(index into ``keys``, article) for every stored holder of a key."""
        found_index, found_article = [], []
        for stored, articles in zip(self._keys, self._articles):
            low = np.searchsorted(stored, keys, side="left")
            hit = np.flatnonzero(stored[np.minimum(low, len(stored) - 1)] == keys)
            if not len(hit):
                continue  # most keys are new: one search per run finds that
            counts = np.searchsorted(stored, keys[hit], side="right") - low[hit]
            found_index.append(np.repeat(hit, counts))
            starts = np.repeat(low[hit] - np.cumsum(np.r_[0, counts[:-1]]), counts)
            found_article.append(articles[starts + np.arange(int(counts.sum()))])
        if not found_index:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        return np.concatenate(found_index), np.concatenate(found_article).astype(np.int64)

    def add(self, doc_id: Any, text: str, keys: np.ndarray, holders: np.ndarray | None = None) -> int:
        """Remember an article with its fingerprint keys (distinct uint64); returns its number.

        ``holders``: how many articles hold each key already, when the caller looked them
        up (else they are looked up here); keys held by ``max_holders`` are not added.
        """
        article = len(self._ids)
        self._ids.append(doc_id)
        self._known_ids.add((str(doc_id), _is_int(doc_id)))
        self._texts.append(compress_text(text))
        keys = _below_cap(self, keys, holders)
        if len(keys):
            self._keys.append(np.sort(keys))
            self._articles.append(np.full(len(keys), article, dtype=np.uint32))
            # Merge runs while the newer is at least a quarter of the one before it: O(log n)
            # runs, each key re-sorted O(log n) times (stable, so holders stay in order).
            while len(self._keys) > 1 and len(self._keys[-2]) <= 4 * len(self._keys[-1]):
                merged_keys = np.concatenate(self._keys[-2:])
                order = np.argsort(merged_keys, kind="stable")
                self._keys[-2:] = [merged_keys[order]]
                self._articles[-2:] = [np.concatenate(self._articles[-2:])[order]]
        return article

    def write(self, path: str, meta: dict) -> None:
        """Write the whole store as a SQLite database at ``path`` (a new file)."""
        connection = _open(path, meta, journal="DELETE")  # one self-contained file
        with connection:
            connection.executemany(
                "INSERT INTO articles VALUES (?, ?, ?, ?)",
                ((n, encode_id(i), _is_int(i), t) for n, (i, t) in enumerate(zip(self._ids, self._texts))),
            )
            for keys, articles in zip(self._keys, self._articles):
                connection.executemany(
                    "INSERT INTO fingerprints VALUES (?, ?)", zip(_signed(keys).tolist(), articles.tolist())
                )
        connection.close()

    @classmethod
    def read(cls, path: str, max_holders: int) -> "MemoryStore":
        store = cls(max_holders)
        connection = connect_read_only(path)
        try:
            for doc_id, is_int, blob in connection.execute("SELECT doc_id, id_is_int, text FROM articles ORDER BY number"):
                store._ids.append(decode_id(doc_id, is_int))
                store._known_ids.add((str(store._ids[-1]), is_int))
                store._texts.append(bytes(blob))
            rows = connection.execute("SELECT key, article FROM fingerprints ORDER BY key, rowid").fetchall()
            if rows:
                table = np.array(rows, dtype=np.int64)
                if table.ndim != 2 or not ((0 <= table[:, 1]) & (table[:, 1] < len(store._ids))).all():
                    raise ValueError("fingerprints refer to unknown articles")
                store._keys = [table[:, 0].view(np.uint64).copy()]
                store._articles = [table[:, 1].astype(np.uint32)]
            for blob in store._texts[:1] + store._texts[-1:]:
                verify_stored_text(blob)  # a damaged text fails here, not in the middle of a run
        except (sqlite3.DatabaseError, ValueError, TypeError, UnicodeDecodeError, zlib.error) as error:
            raise ValueError(f"{path} is a damaged {FORMAT} state file: {error}") from None
        finally:
            connection.close()
        return store


class SQLiteStore:
    """Remembered articles in a SQLite database on disk (WAL mode), for streams larger
    than memory. The same schema as a saved :class:`MemoryStore`."""

    def __init__(self, path: str, max_holders: int, meta: dict) -> None:
        self.max_holders = max_holders
        self.path = path
        self._lock = take_lock(path)  # one writer at a time: the article count below is cached
        try:
            self._connection = _open(path, meta, existing_ok=True)
        except BaseException:
            self._lock.release()
            raise
        self._count = self._connection.execute("SELECT COUNT(*) FROM articles").fetchone()[0]

    def __len__(self) -> int:
        return self._count

    @property
    def fingerprints(self) -> int:
        return self._connection.execute("SELECT COUNT(*) FROM fingerprints").fetchone()[0]

    @property
    def nbytes(self) -> int:
        return 0  # on disk

    def doc_id(self, article: int) -> Any:
        doc_id, is_int = self._connection.execute(
            "SELECT doc_id, id_is_int FROM articles WHERE number = ?", (article,)
        ).fetchone()
        return decode_id(doc_id, is_int)

    def has_id(self, doc_id: Any) -> bool:
        query = "SELECT 1 FROM articles WHERE doc_id = ? AND id_is_int = ?"
        return self._connection.execute(query, (encode_id(doc_id), _is_int(doc_id))).fetchone() is not None

    def text(self, article: int) -> str:
        (blob,) = self._connection.execute("SELECT text FROM articles WHERE number = ?", (article,)).fetchone()
        return decompress_text(blob)

    def holders(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        index_of = {k: i for i, k in enumerate(_signed(keys).tolist())}
        found_index, found_article = [], []
        values = list(index_of)
        for lo in range(0, len(values), 500):  # SQLite's limit on bound parameters
            chunk = values[lo : lo + 500]
            marks = ",".join("?" * len(chunk))
            for key, article in self._connection.execute(
                f"SELECT key, article FROM fingerprints WHERE key IN ({marks})", chunk
            ):
                found_index.append(index_of[key])
                found_article.append(article)
        return np.array(found_index, dtype=np.int64), np.array(found_article, dtype=np.int64)

    def add(self, doc_id: Any, text: str, keys: np.ndarray, holders: np.ndarray | None = None) -> int:
        article = self._count
        keys = _below_cap(self, keys, holders)
        with self._connection:
            self._connection.execute(
                "INSERT INTO articles VALUES (?, ?, ?, ?)", (article, encode_id(doc_id), _is_int(doc_id), compress_text(text))
            )
            self._connection.executemany(
                "INSERT INTO fingerprints VALUES (?, ?)", ((k, article) for k in _signed(keys).tolist())
            )
        self._count += 1
        return article

    def close(self) -> None:
        self._connection.close()
        self._lock.release()


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
        if exists:
            stored = read_meta(path, connection)
            if stored["params"] != meta["params"]:
                raise ValueError(
                    f"{path} was built with other parameters ({stored['params']}) than given ({meta['params']})"
                )
            if stored["version"] < FORMAT_VERSION:  # texts added now record their size
                with connection:
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
    for table, needed in _TABLES.items():
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
