"""Two processes on one state or store: the second stops at once, naming the store and the holder.

The processes are synchronised by what they write (a line on stdout, the lock file), never
by waiting a while.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import dedup
from dedup.deduplicator import Deduplicator
from dedup.locking import InUseError, lock_path, take_lock
from news_texts import LOCAL_A, SPORT, WIRE_EN

SRC = str(Path(dedup.__file__).resolve().parent.parent)
ENV = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))

HOLDER = textwrap.dedent(
    """
    import sys
    from dedup.deduplicator import Deduplicator

    d = Deduplicator(scope="across", store=sys.argv[1])
    d.add(sys.argv[2], doc_id="first")
    print("ready", flush=True)
    sys.stdin.readline()  # hold the store until told to go
    d.add(sys.argv[3], doc_id="third")
    d.close()
    print("done", flush=True)
    """
)


def wait_for_file_content(path: Path, expected_start: str, process: subprocess.Popen, limit: float = 120) -> None:
    """Until ``path`` starts with ``expected_start`` (written by ``process``); fails if it ends first."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            if path.read_text().startswith(expected_start):
                return
        except FileNotFoundError:
            pass
        if process.poll() is not None:
            raise AssertionError(f"the holder ended first: {process.stderr.read().decode()}")
        time.sleep(0.01)  # polling for the signal; the outcome never depends on this pause
    raise AssertionError(f"{path} never said {expected_start!r}")


def test_second_process_on_a_store_stops_at_once_naming_the_store_and_the_holder(tmp_path):
    store = tmp_path / "live.db"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(store), WIRE_EN, LOCAL_A],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV,
    )
    try:
        assert holder.stdout.readline() == b"ready\n"
        with pytest.raises(InUseError) as caught:
            Deduplicator(scope="across", store=store)
        message = str(caught.value)
        assert str(store) in message and f"process {holder.pid} " in message
        holder.stdin.write(b"go\n")
        holder.stdin.flush()
        assert holder.stdout.readline() == b"done\n"
    finally:
        holder.stdin.close()
        holder.wait(timeout=120)
    assert holder.returncode == 0, holder.stderr.read().decode()
    # Nothing was lost, and the store takes a writer again.
    with Deduplicator(scope="across", store=store) as d:
        assert len(d) == 2
        d.add(SPORT, doc_id="second writer")
        assert len(d) == 3
    assert not os.path.exists(lock_path(store))


def test_a_store_is_held_until_closed_also_within_one_process(tmp_path):
    store = tmp_path / "live.db"
    first = Deduplicator(scope="across", store=store)
    with pytest.raises(InUseError, match=f"process {os.getpid()} "):
        Deduplicator(scope="across", store=store)
    first.close()
    with Deduplicator(scope="across", store=store) as again:
        assert len(again) == 0


def test_a_lock_left_by_a_killed_process_is_taken_over(tmp_path):
    state = tmp_path / "s.state"
    Path(lock_path(state)).write_text("999999999 elsewhere\n")  # its flock died with its process
    with take_lock(state):
        assert Path(lock_path(state)).read_text().startswith(f"{os.getpid()} ")
    assert not os.path.exists(lock_path(state))


def test_two_command_runs_on_one_state_the_second_stops_in_one_line(tmp_path):
    state = tmp_path / "day.state"
    other = tmp_path / "other.jsonl"
    other.write_text(json.dumps({"id": "x", "text": WIRE_EN + "\n\n" + SPORT}) + "\n")
    first = subprocess.Popen(
        [sys.executable, "-m", "dedup", "clean", "-", "--scope", "across", "--state", str(state),
         "-o", str(tmp_path / "first.jsonl"), "--quiet"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV,
    )
    try:
        # The first run reads stdin, which stays open: it holds the state until stdin ends.
        first.stdin.write((json.dumps({"id": "a", "text": WIRE_EN + "\n\n" + LOCAL_A}) + "\n").encode())
        first.stdin.flush()
        wait_for_file_content(Path(lock_path(state)), f"{first.pid} ", first)
        second = subprocess.run(
            [sys.executable, "-m", "dedup", "clean", str(other), "--scope", "across", "--state", str(state),
             "-o", str(tmp_path / "second.jsonl")],
            capture_output=True, env=ENV, timeout=120,
        )
        lines = second.stderr.decode().splitlines()
        assert second.returncode == 1
        assert len(lines) == 1 and lines[0].startswith(f"dedup: error: --state {state} is in use by process {first.pid} ")
        assert not (tmp_path / "second.jsonl").exists()
        first.stdin.write((json.dumps({"id": "b", "text": SPORT}) + "\n").encode())
    finally:
        first.stdin.close()
        first.wait(timeout=120)
    assert first.returncode == 0, first.stderr.read().decode()
    remembered = Deduplicator.load(state)
    assert len(remembered) == 2 and remembered.find(WIRE_EN)[0].source_id == "a"
    assert sorted(os.listdir(tmp_path)) == ["day.state", "first.jsonl", "other.jsonl"]


def test_state_in_a_missing_folder_is_refused_before_the_run(tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"id": "a", "text": WIRE_EN}) + "\n")
    done = subprocess.run(
        [sys.executable, "-m", "dedup", "clean", str(source), "--scope", "across", "--state",
         str(tmp_path / "missing" / "s.state"), "-o", str(tmp_path / "out.jsonl")],
        capture_output=True, env=ENV, timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.decode() == (
        f"dedup: error: --state {tmp_path / 'missing' / 's.state'}: the folder {tmp_path / 'missing'} does not exist\n"
    )
