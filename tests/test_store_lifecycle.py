"""The on-disk store (`store=`) as a file: who may open and replace it, what is let go on
close, and what opening a file that is no store (or a damaged index) says."""
import gc
import json
import os
import sqlite3

import pytest

from dedup import Deduplicator
from dedup.locking import InUseError

TEXTS = [
    " ".join(f"w{(k * 7919 + j * 104729) % 5003}" for j in range(60)) + " " + " ".join(f"shared{j}" for j in range(30))
    for k in range(400)
]


def test_invalid_workers_does_not_leave_the_store_locked(tmp_path):
    path = tmp_path / "s.db"
    with pytest.raises(ValueError, match="workers"):
        Deduplicator(scope="across", store=path, workers=0)
    with Deduplicator(scope="across", store=path) as d:  # InUseError naming this very process before the fix
        assert len(d) == 0


@pytest.mark.parametrize("manifest", ["[" * 100_000 + "]" * 100_000, "COVERED_INF", "SERIAL_INF"])
def test_a_damaged_manifest_is_rebuilt_not_an_error(tmp_path, manifest):
    path = tmp_path / "s.db"
    with Deduplicator(scope="across", store=path) as d:
        d.add_many(TEXTS[:100])
    file = tmp_path / "s.db-index" / "manifest.json"
    current = json.loads(file.read_text())
    if manifest == "COVERED_INF":
        manifest = json.dumps({**current, "covered": 1e999})
    elif manifest == "SERIAL_INF":
        manifest = json.dumps({**current, "serial": 1e999})
    file.write_text(manifest)
    memory = Deduplicator(scope="across")
    memory.add_many(TEXTS[:100])
    with Deduplicator(scope="across", store=path) as d:  # RecursionError / OverflowError before the fix
        assert d.clean_many(TEXTS[100:150]) == memory.clean_many(TEXTS[100:150])


def _mapped(folder):
    with open("/proc/self/maps") as maps:
        return [line for line in maps if str(folder) in line]


def test_close_lets_go_of_the_index_maps_and_files(tmp_path):
    path = tmp_path / "s.db"
    kept = []
    for k in range(5):
        d = Deduplicator(scope="across", store=path)
        d.add_many(TEXTS[k * 50 : (k + 1) * 50])
        d.close()
        kept.append(d)  # a closed Deduplicator still referenced (a list of results, a test's fixture...)
    gc.collect()
    assert _mapped(tmp_path / "s.db-index") == []
    assert not [f for f in os.listdir("/proc/self/fd") if str(tmp_path) in os.path.realpath(f"/proc/self/fd/{f}")]


def test_a_closed_store_is_not_used_silently(tmp_path):
    d = Deduplicator(scope="across", store=tmp_path / "s.db")
    d.add_many(TEXTS[:20])
    d.close()
    d.close()  # twice: harmless
    with pytest.raises(sqlite3.ProgrammingError):
        d.find(TEXTS[0])


def test_a_save_over_an_open_store_is_refused_not_a_corrupt_store(tmp_path):
    path = tmp_path / "s.db"
    texts = TEXTS * 5
    with Deduplicator(scope="across", store=path) as d:
        d.add_many(texts[:1500])
    d = Deduplicator(scope="across", store=path)
    d.add_many(texts[1500:1700])
    other = Deduplicator(scope="across")
    other.add_many(texts[:10])
    try:
        with pytest.raises(InUseError):
            other.save(path)  # before the fix: replaces the file under the open store
        d.add_many(texts[1700:1900])
    finally:
        d.close()
    connection = sqlite3.connect(path)
    assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    connection.close()
    with Deduplicator(scope="across", store=path) as again:
        assert len(again) == 1900


def test_a_store_opened_through_a_symbolic_link_is_locked_too(tmp_path):
    path, link = tmp_path / "s.db", tmp_path / "link.db"
    Deduplicator(scope="across", store=path).close()
    os.symlink(path, link)
    with Deduplicator(scope="across", store=path):
        with pytest.raises(InUseError):
            Deduplicator(scope="across", store=link)  # before the fix: a second writer, then IntegrityError


def test_a_file_that_is_no_database_is_a_value_error_naming_it(tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database\n" * 300)
    with pytest.raises(ValueError, match="junk.db is not a dedup.Deduplicator state file"):
        Deduplicator(scope="across", store=junk)
    with pytest.raises(IsADirectoryError, match=str(tmp_path)):
        Deduplicator(scope="across", store=tmp_path)


def test_a_save_leaves_only_its_file_and_can_be_loaded_through_a_link(tmp_path):
    d = Deduplicator(scope="across")
    d.add_many(TEXTS[:30])
    d.save(tmp_path / "s.state")
    assert os.listdir(tmp_path) == ["s.state"]  # the save's lock file is gone with it
    os.symlink(tmp_path / "s.state", tmp_path / "link.state")
    d.add_many(TEXTS[30:40])
    d.save(tmp_path / "link.state")  # replaces the link itself (a rename), locked as the file
    assert len(Deduplicator.load(tmp_path / "link.state")) == 40


def test_a_save_through_a_linked_folder_is_refused_over_a_store_in_use(tmp_path):
    (tmp_path / "real").mkdir()
    os.symlink(tmp_path / "real", tmp_path / "alias")
    with Deduplicator(scope="across", store=tmp_path / "real" / "s.db") as d:
        d.add_many(TEXTS[:10])
        with pytest.raises(InUseError):
            Deduplicator(scope="across").save(tmp_path / "alias" / "s.db")  # the same file
        assert len(d) == 10
