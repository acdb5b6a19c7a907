"""Faults: a full disk while a state is saved, and a save killed with SIGKILL.

The full disk is injected without root: SQLite's ``max_page_count`` pragma makes the
database refuse to grow with SQLITE_FULL, the same error a full file system gives it.
The kill is driven by the save's own progress (its rollback journal appearing on disk),
not by a timer.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import dedup

SRC = str(Path(dedup.__file__).resolve().parent.parent)
ENV = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))

# Run in a child: every SQLite database opened may hold at most PAGES pages (4 KiB each),
# then the dedup command runs with the remaining arguments.
FULL_DISK_CHILD = textwrap.dedent(
    """
    import sqlite3, sys
    pages = int(sys.argv[1])
    connect = sqlite3.connect

    def small_connect(*args, **kwargs):
        connection = connect(*args, **kwargs)
        connection.execute(f"PRAGMA max_page_count = {pages}")
        return connection

    sqlite3.connect = small_connect
    from dedup.cli import main
    sys.exit(main(sys.argv[2:]))
    """
)


def article(n: int) -> str:
    """150 words shared with no other article."""
    rng = random.Random(n)
    return " ".join(f"woord{rng.randrange(10**9)}" for _ in range(150)) + "."


def remembering(count: int) -> dedup.Deduplicator:
    memory = dedup.Deduplicator(scope="across")
    memory.add_many([article(n) for n in range(count)], list(range(count)))
    return memory


@pytest.fixture
def small_sqlite_disk(monkeypatch):
    """Every SQLite database opened from here on holds at most 12 pages: a full disk to SQLite."""
    connect = sqlite3.connect

    def small_connect(*args, **kwargs):
        connection = connect(*args, **kwargs)
        connection.execute("PRAGMA max_page_count = 12")
        return connection

    monkeypatch.setattr(sqlite3, "connect", small_connect)


def test_save_on_a_full_disk_raises_the_documented_os_error_and_leaves_nothing(tmp_path, request):
    path = tmp_path / "state.dedup"
    remembering(2).save(path)
    previous = path.read_bytes()
    big = remembering(200)
    request.getfixturevalue("small_sqlite_disk")
    with pytest.raises(OSError, match=r"cannot write .*state\.dedup: No space left on device") as caught:
        big.save(path)
    assert ".tmp" not in str(caught.value)
    assert path.read_bytes() == previous
    assert os.listdir(tmp_path) == ["state.dedup"]  # no temporary, no -journal


def test_state_on_a_full_disk_is_one_line_naming_it_and_the_old_state_is_kept(tmp_path):
    source, out, state = tmp_path / "in.jsonl", tmp_path / "out.jsonl", tmp_path / "day.state"
    source.write_text("".join(json.dumps({"id": n, "text": article(n)}) + "\n" for n in range(3)))
    command = ["clean", str(source), "-o", str(out), "--state", str(state), "--scope", "across", "-q"]
    first = subprocess.run([sys.executable, "-m", "dedup", *command], env=ENV, capture_output=True, check=False)
    assert first.returncode == 0, first.stderr.decode()
    previous_state, previous_out = state.read_bytes(), out.read_bytes()
    source.write_text("".join(json.dumps({"id": n, "text": article(n)}) + "\n" for n in range(3, 300)))
    done = subprocess.run([sys.executable, "-c", FULL_DISK_CHILD, "12", *command], env=ENV, capture_output=True, check=False)
    stderr = done.stderr.decode()
    assert done.returncode == 1, stderr
    assert stderr == f"dedup: error: cannot write {state}: No space left on device (the file system holding it is full)\n"
    assert state.read_bytes() == previous_state and out.read_bytes() == previous_out
    assert sorted(os.listdir(tmp_path)) == ["day.state", "in.jsonl", "out.jsonl"]


# Saves a state again and again; says "saving N" before each save.
SAVER = textwrap.dedent(
    """
    import random, sys
    import dedup

    def article(n):
        rng = random.Random(n)
        return " ".join(f"woord{rng.randrange(10**9)}" for _ in range(150)) + "."

    memory = dedup.Deduplicator(scope="across")
    memory.add_many([article(n) for n in range(3000)], list(range(3000)))
    for n in range(10**9):
        print("saving", n, flush=True)
        memory.save(sys.argv[1])
    """
)


def journals(folder: Path) -> list[str]:
    return [name for name in os.listdir(folder) if name.endswith("-journal")]


def test_a_journal_left_by_a_save_killed_mid_write_is_removed_by_the_next_save(tmp_path):
    path = tmp_path / "state.dedup"
    remembering(2).save(path)
    for _ in range(20):  # until a kill lands while the journal exists (the first one, nearly always)
        saver = subprocess.Popen([sys.executable, "-c", SAVER, str(path)], env=ENV, stdout=subprocess.PIPE)
        assert saver.stdout.readline().startswith(b"saving")
        while not journals(tmp_path) and saver.poll() is None:
            time.sleep(0.001)  # waiting for the save to start writing (not a timed kill)
        saver.kill()
        saver.wait()
        saver.stdout.close()
        if journals(tmp_path):
            break
    assert journals(tmp_path), "no kill landed while a save was writing"
    assert len(dedup.Deduplicator.load(path)) in (2, 3000)  # the old state or a complete new one
    remembering(1).save(path)
    assert os.listdir(tmp_path) == ["state.dedup"]
    assert len(dedup.Deduplicator.load(path)) == 1


def test_a_full_disk_while_checkpointing_names_the_output(tmp_path):
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text("".join(json.dumps({"id": n, "text": article(n)}) + "\n" for n in range(300)))
    command = ["clean", str(source), "-o", str(out), "--scope", "across", "--checkpoint-every", "10", "-q"]
    done = subprocess.run([sys.executable, "-c", FULL_DISK_CHILD, "12", *command], env=ENV, capture_output=True, check=False)
    assert done.returncode == 1
    assert done.stderr.decode() == f"dedup: error: cannot write {out}: No space left on device (the file system holding it is full)\n"
    assert not out.exists()
