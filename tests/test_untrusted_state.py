"""State files built to hurt: views and triggers that never end, computed columns, text bombs.

Each file is crafted here with sqlite3 and zlib. Opening any of them either loads or fails
with a ValueError naming the file; none may hang, run SQL of its own, or inflate a text
beyond the size recorded for it.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import tracemalloc
import zlib
from pathlib import Path

import pytest

import dedup
from dedup.deduplicator import Deduplicator
from dedup.store import FORMAT_VERSION, compress_text, decompress_text, verify_stored_text
from news_texts import LOCAL_A, WIRE_EN

SRC = str(Path(dedup.__file__).resolve().parent.parent)
FIXTURES = Path(__file__).resolve().parent / "fixtures"

ENDLESS = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT i FROM n"


def saved_state(path: Path) -> Path:
    d = Deduplicator(scope="across")
    d.add(WIRE_EN, doc_id="wire")
    d.add(LOCAL_A, doc_id="local")
    d.save(path)
    return path


def altered(path: Path, *statements: str) -> Path:
    connection = sqlite3.connect(path)
    with connection:
        for statement in statements:
            connection.execute(statement)
    connection.close()
    return path


def load_in_a_child(path: Path, how: str = "load") -> subprocess.CompletedProcess:
    """Open ``path`` in a child process: a crafted file that made it hang fails the test
    instead of the whole run (the limit is far beyond the milliseconds a refusal takes)."""
    code = textwrap.dedent(
        f"""
        import sys
        from dedup.deduplicator import Deduplicator
        try:
            if {how!r} == "load":
                Deduplicator.load(sys.argv[1])
            else:
                with Deduplicator(scope="across", store=sys.argv[1]) as d:
                    d.add("A new article about the harbour and the ferry timetable for the summer.", doc_id="new")
        except ValueError as error:
            print("ValueError:", error)
        else:
            print("loaded")
        """
    )
    return subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, timeout=300, env={"PYTHONPATH": SRC}
    )


CRAFTED = {
    "articles is an endless view": (
        ["DROP TABLE articles", f"CREATE VIEW articles(number, doc_id, id_is_int, text) AS "
                                f"SELECT i, CAST(i AS TEXT), 0, x'00' FROM ({ENDLESS})"],
        "holds a view 'articles'",
    ),
    "meta is an endless view": (
        ["ALTER TABLE meta RENAME TO real_meta",
         f"CREATE VIEW meta(key, value) AS SELECT 'k' || i, 'v' FROM ({ENDLESS})"],
        "holds a view 'meta'",
    ),
    "a trigger on articles": (
        [f"CREATE TRIGGER forever AFTER INSERT ON articles BEGIN SELECT count(*) FROM ({ENDLESS}); END"],
        "holds a trigger 'forever'",
    ),
    "fingerprints is a virtual table": (
        ["DROP TABLE fingerprints", "CREATE VIRTUAL TABLE fingerprints USING fts5(key, article)"],
        "virtual table 'fingerprints'",
    ),
    "a computed text column": (
        ["DROP TABLE articles",
         "CREATE TABLE articles (number INTEGER PRIMARY KEY, doc_id BLOB NOT NULL, id_is_int INTEGER NOT NULL, "
         "text BLOB GENERATED ALWAYS AS (zeroblob(1000000000)))"],
        "computed columns ['text']",
    ),
    "a table without its columns": (
        ["DROP TABLE fingerprints", "CREATE TABLE fingerprints (key INTEGER)"],
        "no columns ['article']",
    ),
}


@pytest.mark.parametrize("how", ["load", "store"])
@pytest.mark.parametrize("case", list(CRAFTED))
def test_crafted_schema_is_refused_before_anything_runs(tmp_path, case, how):
    statements, expected = CRAFTED[case]
    path = altered(saved_state(tmp_path / "crafted.state"), *statements)
    done = load_in_a_child(path, how)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert done.stdout.decode().startswith(f"ValueError: {path} is not a dedup.Deduplicator state file: ")
    assert expected in done.stdout.decode()


def test_deeply_nested_parameters_are_a_damaged_state(tmp_path):
    nested = "[" * 100_000 + "]" * 100_000
    path = altered(saved_state(tmp_path / "s.state"), f"UPDATE meta SET value = '{nested}' WHERE key = 'params'")
    with pytest.raises(ValueError, match="s.state is a damaged dedup.Deduplicator state file: RecursionError"):
        Deduplicator.load(path)


def test_texts_record_their_size_and_the_state_its_format(tmp_path):
    path = saved_state(tmp_path / "s.state")
    connection = sqlite3.connect(path)
    (version,) = connection.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
    blob = bytes(connection.execute("SELECT text FROM articles WHERE number = 0").fetchone()[0])
    connection.close()
    assert int(version) == FORMAT_VERSION == 4
    assert blob[0] == 0 and int.from_bytes(blob[1:9], "little") == len(WIRE_EN.encode())
    assert decompress_text(blob) == WIRE_EN and decompress_text(zlib.compress(b"format 2")) == "format 2"


@pytest.mark.parametrize("how", ["load", "store"])
@pytest.mark.parametrize(
    "change, expected",
    [
        ("UPDATE fingerprint_blocks SET articles = CAST(X'09000000' || substr(articles, 5) AS BLOB)", "refers to other articles"),
        ("UPDATE fingerprint_blocks SET keys = substr(keys, 2)", "of other lengths"),
        ("UPDATE fingerprint_blocks SET end_article = 99", "names articles 0 to 99 of 2"),
        ("UPDATE fingerprint_blocks SET keys = 'text'", "not binary"),
    ],
)
def test_a_crafted_block_of_fingerprints_is_a_damaged_state(tmp_path, change, expected, how):
    path = altered(saved_state(tmp_path / "s.state"), change)
    done = load_in_a_child(path, how)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert done.stdout.decode().startswith(f"ValueError: {path} is a damaged dedup.Deduplicator state file: ")
    assert expected in done.stdout.decode()


def bomb(size: int) -> bytes:
    """A zlib stream of ``size`` zero bytes: about a thousandth of that on disk."""
    packer = zlib.compressobj(9)
    piece = bytes(1 << 20)
    return b"".join(packer.compress(piece) for _ in range(size >> 20)) + packer.flush()


def peak_bytes(action) -> int:
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_text_recording_a_small_size_is_never_inflated_beyond_it(tmp_path):
    lying = b"\x00" + (100).to_bytes(8, "little") + bomb(64 << 20)
    path = altered(saved_state(tmp_path / "s.state"), "UPDATE articles SET text = X'%s' WHERE number = 0" % lying.hex())

    def load():
        with pytest.raises(ValueError, match="s.state is a damaged .*inflates to more than the 100 bytes recorded"):
            Deduplicator.load(path)

    assert peak_bytes(load) < 8 << 20  # the 64 MiB never exist


def test_a_text_of_another_size_than_recorded_is_damaged():
    sized = compress_text("twelve bytes")
    with pytest.raises(ValueError, match="inflates to 12 bytes, not the 13 recorded"):
        decompress_text(sized[:1] + (13).to_bytes(8, "little") + sized[9:])
    with pytest.raises(ValueError, match="cut short"):
        decompress_text(sized[:-3])


def test_a_format_2_text_bomb_is_checked_at_load_in_bounded_memory(tmp_path):
    # Format 2 recorded no sizes: the text is inflated to check it, but piece by piece.
    path = altered(saved_state(tmp_path / "s.state"),
                   "UPDATE articles SET text = X'%s' WHERE number = 0" % bomb(64 << 20).hex(),
                   "UPDATE meta SET value = '2' WHERE key = 'version'")
    assert peak_bytes(lambda: Deduplicator.load(path)) < 16 << 20
    assert peak_bytes(lambda: verify_stored_text(bomb(64 << 20))) < 8 << 20


def test_a_format_2_store_grows_with_sized_texts_and_says_format_4(tmp_path):
    path = tmp_path / "store.db"
    shutil.copy(FIXTURES / "deduplicator_state_v2.db", path)
    params = json.loads(sqlite3.connect(path).execute("SELECT value FROM meta WHERE key = 'params'").fetchone()[0])
    with Deduplicator(store=path, **params) as d:
        d.add(WIRE_EN, doc_id="new")
    again = Deduplicator.load(path)
    assert len(again) == 4 and again.find(WIRE_EN)[0].source_id == "new"
    # Its rows of fingerprints stay, new ones go in blocks; reopened, the index holds both.
    connection = sqlite3.connect(path)
    rows, blocks = (connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                    for table in ("fingerprints", "fingerprint_blocks"))
    connection.close()
    assert rows > 0 and blocks == 1
    with Deduplicator(store=path, **params) as d:
        assert d.fingerprints == again.fingerprints and d.find(WIRE_EN) == again.find(WIRE_EN)
    assert sqlite3.connect(path).execute("SELECT value FROM meta WHERE key = 'version'").fetchone() == ("4",)
