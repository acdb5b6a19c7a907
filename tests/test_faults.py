"""Faults for real: processes killed with SIGKILL, a full disk, truncated and bit-flipped files.

No mocks: saves and command runs happen in subprocesses that are killed at random points,
the full disk is a small tmpfs (where this machine lets us mount one), and damaged files
are real bytes. The invariant checked everywhere: the previous output or state is intact
and loadable, no partial file is left under the target's name, and what a killed process
left behind is removed by the next run.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import re
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

import dedup
from dedup.lsh import LSHIndex
from dedup.archives import load_state

SRC = str(Path(dedup.__file__).resolve().parent.parent)
ENV = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
TEMPORARY = re.compile(r"\.dedup-.+-\d+-\w+\.(tmp|old)$")

# --------------------------------------------------------------------------- helpers


def index_of(entries: int, seed: int) -> LSHIndex:
    signatures = np.random.default_rng(seed).integers(0, 1 << 32, size=(entries, 64), dtype=np.uint32)
    index = LSHIndex(0.8, 64)
    index.insert(list(range(entries)), signatures)
    return index


def lock_left(folder) -> list[str]:
    """A killed run's lock file holds no lock any more (the next run takes it over): it may stay."""
    return ["state.db.lock"] if (folder / "state.db.lock").exists() else []


def leftovers(folder: Path) -> list[str]:
    return sorted(name for name in os.listdir(folder) if TEMPORARY.search(name))


def wait_for_line(process: subprocess.Popen, expected: bytes, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line.strip() == expected:
            return
        if not line and process.poll() is not None:
            raise AssertionError(f"child ended before saying {expected!r}: {process.stderr.read().decode()}")
    raise AssertionError(f"child did not say {expected!r} in time")


def wait_until(condition, what: str, process: subprocess.Popen, timeout: float = 120) -> None:
    """Wait for something the process does (a file written, a line printed), never for a time.

    ``timeout`` only ends a test whose process hangs; it is no part of what is tested.
    """
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            raise AssertionError(f"the process ended (exit code {process.returncode}) before {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"the process did not get to {what} in {timeout:.0f} s")
        time.sleep(0.005)


def temporaries_of(folder: Path, name: str) -> list[Path]:
    """The temporary files and folders a run or save writes before they become ``name``."""
    return [folder / entry for entry in os.listdir(folder) if entry.startswith(f".{name}.dedup-")]


def written(paths: list[Path]) -> int:
    """Bytes written so far into these temporaries (files, or folders holding files)."""
    total = 0
    for path in paths:
        try:
            if path.is_dir():
                total += sum(entry.stat().st_size for entry in path.iterdir())
            else:
                total += path.stat().st_size
        except OSError:  # renamed or removed meanwhile
            pass
    return total


def flip_one_bit(data: bytes, position: int, rng: random.Random) -> bytes:
    damaged = bytearray(data)
    damaged[position] ^= 1 << rng.randrange(8)
    return bytes(damaged)


# --------------------------------------------------------------------------- kill -9 during save

SAVER = textwrap.dedent(
    """
    import sys
    import numpy as np
    from dedup.lsh import LSHIndex

    path, entries = sys.argv[1], int(sys.argv[2])
    signatures = np.random.default_rng(1).integers(0, 1 << 32, size=(entries, 64), dtype=np.uint32)
    index = LSHIndex(0.8, 64)
    index.insert(list(range(entries)), signatures)
    print("ready", flush=True)
    while True:
        index.save(path)
        print("saved", flush=True)
    """
)


def test_kill_9_at_random_points_of_save_keeps_a_loadable_state(tmp_path):
    path = tmp_path / "index.npz"
    index_of(1000, seed=0).save(path)
    rng = random.Random(12)
    for _ in range(6):
        saver = subprocess.Popen(
            [sys.executable, "-c", SAVER, str(path), "150000"], env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        wait_for_line(saver, b"ready")
        for _ in range(rng.randrange(3)):  # a few whole saves first: the state replaced is a new one
            wait_for_line(saver, b"saved")
        # Killed once the next save has written part of its temporary file (the kernel picks the
        # exact point; no clock does).
        wait_until(lambda: written(temporaries_of(tmp_path, "index.npz")) > 0, "writing a temporary", saver)
        saver.kill()
        saver.wait()
        saver.stdout.close()
        saver.stderr.close()
        assert len(LSHIndex.load(path)) in (1000, 150000)  # the old state or a complete new one
        assert sorted(os.listdir(tmp_path)) == sorted(["index.npz", *leftovers(tmp_path)])
    index_of(10, seed=1).save(path)  # the next save removes whatever the killed ones left
    assert os.listdir(tmp_path) == ["index.npz"]
    assert len(LSHIndex.load(path)) == 10


# --------------------------------------------------------------------------- damaged states


def test_every_truncation_of_a_state_is_a_value_error_naming_the_file(tmp_path):
    good = tmp_path / "state.npz"
    index_of(40, seed=3).save(good)
    data = good.read_bytes()
    cut = tmp_path / "cut.npz"
    for length in range(0, len(data), 7):
        cut.write_bytes(data[:length])
        with pytest.raises(ValueError, match="cut.npz"):
            LSHIndex.load(cut)


def test_bit_flips_anywhere_in_a_state_are_caught_or_harmless(tmp_path):
    good = tmp_path / "state.npz"
    original = index_of(12, seed=4)
    original.save(good)
    data = good.read_bytes()
    probe = np.random.default_rng(5).integers(0, 1 << 32, size=(12, 64), dtype=np.uint32)
    expected = original.query_many(probe)
    expected_meta, expected_arrays = load_state(good, "dedup.LSHIndex", 1)
    flipped = tmp_path / "flipped.npz"
    rng = random.Random(6)
    caught = 0
    for position in range(len(data)):
        flipped.write_bytes(flip_one_bit(data, position, rng))
        try:
            meta, arrays = load_state(flipped, "dedup.LSHIndex", 1)
            loaded = LSHIndex.load(flipped)
        except ValueError as error:
            assert "flipped.npz" in str(error)
            caught += 1
            continue
        # Undetected flips may only touch bytes that carry no data (zip timestamps, flags).
        assert meta == expected_meta
        assert all(np.array_equal(arrays[k], expected_arrays[k]) for k in expected_arrays)
        assert loaded.query_many(probe) == expected
    assert caught > len(data) * 0.8


# --------------------------------------------------------------------------- full disk


@pytest.fixture
def small_disk(tmp_path):
    """A 512 KiB tmpfs mounted for the test; skipped where mounting is not allowed."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(mount_point)], capture_output=True, check=False
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_full_disk_during_save_names_the_file_and_keeps_the_previous_state(small_disk):
    path = small_disk / "index.npz"
    index_of(100, seed=7).save(path)
    with pytest.raises(OSError, match=r"cannot write .*disk/index\.npz: No space left on device") as caught:
        index_of(20000, seed=8).save(path)
    assert ".tmp" not in str(caught.value)
    assert len(LSHIndex.load(path)) == 100
    assert os.listdir(small_disk) == ["index.npz"]


def article(n: int) -> str:
    """120 words shared with no other article (the command removes passages seen earlier)."""
    rng = random.Random(n)
    return " ".join(f"woord{rng.randrange(10**9)}" for _ in range(120)) + "."


def write_jsonl(path: Path, docs: list[dict]) -> None:
    path.write_bytes(b"".join(json.dumps(d).encode() + b"\n" for d in docs))


def dedup_cli(*args, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dedup", *map(str, args)], env=ENV, capture_output=True, timeout=timeout, check=False
    )


def test_full_disk_during_a_run_names_the_output_exits_1_and_keeps_the_previous_output(tmp_path, small_disk):
    source = tmp_path / "in.jsonl"
    write_jsonl(source, [{"id": i, "text": article(i)} for i in range(3)])
    out = small_disk / "out.jsonl"
    assert dedup_cli("clean", source, "-o", out, "-q").returncode == 0
    previous = out.read_bytes()
    write_jsonl(source, [{"id": i, "text": article(i)} for i in range(600)])  # about 700 KB of output
    done = dedup_cli("clean", source, "-o", out, "-q")
    stderr = done.stderr.decode()
    assert done.returncode == 1, stderr
    assert "Traceback" not in stderr and len(stderr.strip().splitlines()) == 1
    assert stderr.startswith(f"dedup: error: cannot write {out}: No space left on device")
    assert ".tmp" not in stderr and "Errno" not in stderr
    assert out.read_bytes() == previous
    assert os.listdir(small_disk) == ["out.jsonl"]


def test_read_only_file_system_names_the_option_and_path_once(tmp_path, small_disk):
    source = tmp_path / "in.jsonl"
    write_jsonl(source, [{"id": i, "text": article(i)} for i in range(3)])
    remounted = subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], capture_output=True, check=False)
    if remounted.returncode != 0:
        pytest.skip(f"cannot remount read-only: {remounted.stderr.decode().strip()}")
    out = small_disk / "out.jsonl"
    done = dedup_cli("clean", source, "-o", out, "-q")
    stderr = done.stderr.decode()
    assert done.returncode == 1 and "Traceback" not in stderr
    assert stderr == f"dedup: error: cannot write -o {out}: Read-only file system\n"


# --------------------------------------------------------------------------- damaged inputs through the command


@pytest.mark.parametrize("kind", ["gz", "bz2", "xz"])
def test_truncated_compressed_input_in_a_folder_fails_with_one_line_or_is_skipped(tmp_path, kind):
    import bz2
    import lzma

    compress = {"gz": gzip.compress, "bz2": bz2.compress, "xz": lzma.compress}[kind]
    folder = tmp_path / "in"
    folder.mkdir()
    write_jsonl(folder / "a.jsonl", [{"id": "a", "text": article(1)}])
    data = compress(b"".join(json.dumps({"id": i, "text": article(i)}).encode() + b"\n" for i in range(300)))
    (folder / f"b.jsonl.{kind}").write_bytes(data[: len(data) // 2])
    out = tmp_path / "out"
    failed = dedup_cli("clean", folder, "-o", out, "-q")
    stderr = failed.stderr.decode()
    assert failed.returncode == 1 and "Traceback" not in stderr
    assert stderr.count("\n") == 1 and f"b.jsonl.{kind}" in stderr and "truncated" in stderr
    assert not out.exists() and leftovers(tmp_path) == []
    skipped = dedup_cli("clean", folder, "-o", out, "-q", "--on-error", "skip", "--rejects", tmp_path / "rejects.jsonl")
    assert skipped.returncode == 0, skipped.stderr.decode()
    assert (out / "a.jsonl").exists()
    (reject,) = map(json.loads, (tmp_path / "rejects.jsonl").read_text().splitlines())
    assert reject["source"].endswith(f"b.jsonl.{kind}") and "truncated" in reject["error"]


def test_bit_flipped_gzip_input_never_shows_a_traceback(tmp_path):
    data = gzip.compress(b"".join(json.dumps({"id": i, "text": article(i)}).encode() + b"\n" for i in range(50)))
    rng = random.Random(9)
    source = tmp_path / "in.jsonl.gz"
    for position in rng.sample(range(10, len(data)), 6):
        source.write_bytes(flip_one_bit(data, position, rng))
        done = dedup_cli("clean", source, "-o", tmp_path / "out.jsonl", "-q")
        stderr = done.stderr.decode()
        assert done.returncode in (0, 1) and "Traceback" not in stderr, stderr
        if done.returncode == 1:
            assert str(source) in stderr and stderr.count("\n") == 1


def test_damaged_state_given_to_the_command_is_one_line_and_exit_1(tmp_path):
    source = tmp_path / "in.jsonl"
    write_jsonl(source, [{"id": i, "text": article(i)} for i in range(3)])
    state = tmp_path / "state.db"
    assert dedup_cli("clean", source, "-o", tmp_path / "out.jsonl", "--state", state, "--scope", "both", "-q").returncode == 0
    data = state.read_bytes()
    for damaged in (data[: len(data) // 2], b"not a state at all\n", flip_one_bit(data, len(data) // 2, random.Random(1))):
        state.write_bytes(damaged)
        done = dedup_cli("clean", source, "-o", tmp_path / "out.jsonl", "--state", state, "--scope", "both", "-q")
        stderr = done.stderr.decode()
        assert done.returncode == 1 and "Traceback" not in stderr and stderr.count("\n") == 1, stderr
        assert str(state) in stderr and "allow_pickle" not in stderr
        assert state.read_bytes() == damaged  # a failed run replaces nothing


# --------------------------------------------------------------------------- kill -9 during a run


def processes_marked(mark: str) -> list[int]:
    """PIDs of live processes whose environment holds ``mark`` (the command and its workers)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as fh:
                if mark.encode() not in fh.read():
                    continue
            with open(f"/proc/{entry}/stat", "rb") as fh:
                if fh.read().split(b") ")[-1][:1] == b"Z":
                    continue  # a zombie has ended; it only waits for its parent to reap it
        except OSError:
            continue
        found.append(int(entry))
    return found


def start_run_on_stdin(command: list[str], records: list[bytes], env: dict) -> subprocess.Popen:
    """The command reading ``-``, given these records; stdin stays open, so the run cannot end."""
    run = subprocess.Popen(command, env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    run.stdin.write(b"".join(records))
    run.stdin.flush()
    return run


def kill_and_reap(run: subprocess.Popen) -> None:
    run.kill()
    run.wait()
    if run.stdin is not None:
        try:
            run.stdin.close()
        except BrokenPipeError:
            pass


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs /proc to find the workers")
def test_kill_9_at_random_points_of_a_run_keeps_the_previous_output_and_ends_the_workers(tmp_path):
    source = tmp_path / "in.jsonl"
    docs = [{"id": i, "text": article(i % 40) + " " + article(i)} for i in range(4800)]
    write_jsonl(source, docs)
    lines = source.read_bytes().splitlines(keepends=True)
    out = tmp_path / "out.jsonl"
    command = [sys.executable, "-m", "dedup", "clean", str(source), "-o", str(out), "--scope", "both", "-q", "-j", "2"]
    first = subprocess.run(command, env=ENV, capture_output=True, check=False)
    assert first.returncode == 0, first.stderr.decode()
    previous = out.read_bytes()
    on_stdin = [*command[:4], "-", *command[5:]]
    rng = random.Random(10)
    for _ in range(4):
        # Killed in the middle, on a signal from the run: it has written the output of the
        # records it was given (a run whose pipe waits writes out all it has read) and
        # waits for more input, its workers alive.
        given = rng.randrange(1600, 4600)  # past two passes: both workers have work
        mark = f"DEDUP_FAULT_TEST={uuid.uuid4().hex}"
        name, value = mark.split("=")
        run = start_run_on_stdin(on_stdin, lines[:given], dict(ENV, **{name: value}))
        wait_until(lambda: written(temporaries_of(tmp_path, "out.jsonl")) > 0, "writing output", run)
        assert len(processes_marked(mark)) >= 3, "the command and its two workers"
        kill_and_reap(run)
        assert out.read_bytes() == previous
        assert sorted(os.listdir(tmp_path)) == sorted(["in.jsonl", "out.jsonl", *leftovers(tmp_path)])
        # The kernel ends the workers with their parent (PR_SET_PDEATHSIG): wait for that.
        deadline = time.monotonic() + 60
        while processes_marked(mark) and time.monotonic() < deadline:
            time.sleep(0.05)
        orphans = processes_marked(mark)
        for pid in orphans:  # do not leave them running if the test fails
            os.kill(pid, signal.SIGKILL)
        assert orphans == [], "workers outlived the killed command"
    again = subprocess.run(command, env=ENV, capture_output=True, check=False)
    assert again.returncode == 0 and out.read_bytes() == previous
    assert leftovers(tmp_path) == []


# --------------------------------------------------------------------------- bad input through the command


def test_lone_surrogate_escapes_round_trip_byte_for_byte_through_the_command(tmp_path):
    body = article(3)
    lines = [
        b'{"id": "a\\ud800", "text": "' + body.encode() + b' \\udfff ' + body.encode() + b'"}\n',
        b'{"id": 2, "text": "kort \\ud83d zonder herhaling"}\n',
    ]
    source = tmp_path / "in.jsonl"
    source.write_bytes(b"".join(lines))
    out, report = tmp_path / "out.jsonl", tmp_path / "report.jsonl"
    done = dedup_cli("clean", source, "-o", out, "--report", report, "-q")
    assert done.returncode == 0, done.stderr.decode()
    first, second = out.read_bytes().splitlines(keepends=True)
    assert second == lines[1]  # unchanged: copied verbatim
    assert first.startswith(b'{"id": "a\\ud800", "text": "') and b"\\udfff" in first
    assert json.loads(first)["text"] == body + " \udfff"
    assert json.loads(report.read_bytes().splitlines()[0])["id"] == "a\ud800"


def test_broken_link_and_fifo_in_an_input_folder_fail_or_are_skipped_without_blocking(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    write_jsonl(folder / "a.jsonl", [{"id": "a", "text": article(1)}])
    os.symlink(folder / "gone.jsonl", folder / "b.jsonl")
    os.mkfifo(folder / "c.jsonl")
    out = tmp_path / "out"
    failed = dedup_cli("clean", folder, "-o", out, "-q", timeout=60)
    stderr = failed.stderr.decode()
    assert failed.returncode == 1 and stderr.count("\n") == 1 and "b.jsonl" in stderr and "broken symbolic link" in stderr
    skipped = dedup_cli("clean", folder, "-o", out, "--on-error", "skip", timeout=60)
    stderr = skipped.stderr.decode()
    assert skipped.returncode == 0, stderr
    assert "c.jsonl: not a regular file but a FIFO" in stderr
    assert sorted(os.listdir(out)) == ["a.jsonl"]


def test_kill_9_during_runs_with_state_keeps_a_loadable_state_and_the_next_run_cleans_up(tmp_path):
    # A first run builds the state; the killed runs would add new documents to it, and a last
    # run adds others to the end (ids are unique across runs sharing a state).
    def lines(ids: range) -> list[bytes]:
        return [json.dumps({"id": i, "text": article(i % 50) + " " + article(i)}).encode() + b"\n" for i in ids]

    first, source, last = tmp_path / "first.jsonl", tmp_path / "in.jsonl", tmp_path / "last.jsonl"
    first.write_bytes(b"".join(lines(range(600))))
    source.write_bytes(b"".join(lines(range(600, 5000))))
    last.write_bytes(b"".join(lines(range(5000, 5100))))
    out, state = tmp_path / "out.jsonl", tmp_path / "state.db"

    def command(inp: Path | str) -> list[str]:
        return [sys.executable, "-m", "dedup", "clean", str(inp), "-o", str(out), "--state", str(state),
                "--scope", "across", "-q"]

    assert subprocess.run(command(first), env=ENV, capture_output=True, check=False).returncode == 0
    os.chmod(state, 0o640)
    files = ["first.jsonl", "in.jsonl", "last.jsonl", "out.jsonl", "state.db"]
    rng = random.Random(11)
    records = source.read_bytes().splitlines(keepends=True)
    for _ in range(3):
        # Mid-run, on a signal from the run: the state is loaded and the output of the
        # records given is written (a run whose pipe waits writes out all it has read); the
        # run waits for more input, so it cannot end first.
        given = rng.randrange(700, 4390)
        run = start_run_on_stdin(command("-"), records[:given], ENV)
        wait_until(lambda: written(temporaries_of(tmp_path, "out.jsonl")) > 0, "writing output", run)
        kill_and_reap(run)
        assert len(dedup.Deduplicator.load(state)) == 600
        assert sorted(os.listdir(tmp_path)) == sorted([*files, *lock_left(tmp_path), *leftovers(tmp_path)])
    # During the save at the end: killed as soon as the state's temporary appears. The run
    # may also finish first; the state is then the complete new one, never a partial one.
    run = subprocess.Popen(command(source), env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: temporaries_of(tmp_path, "state.db"), "saving the state", run)
    except AssertionError:
        assert run.returncode == 0  # it ended between two looks, having saved the state
    kill_and_reap(run)
    assert len(dedup.Deduplicator.load(state)) in (600, 5000)
    assert sorted(os.listdir(tmp_path)) == sorted([*files, *lock_left(tmp_path), *leftovers(tmp_path)])
    done = subprocess.run(command(last), env=ENV, capture_output=True, check=False)
    assert done.returncode == 0, done.stderr.decode()
    assert sorted(os.listdir(tmp_path)) == files
    assert os.stat(state).st_mode & 0o777 == 0o640


def test_state_from_a_newer_dedup_is_refused_by_the_command_in_one_line(tmp_path):
    import sqlite3

    source = tmp_path / "in.jsonl"
    write_jsonl(source, [{"id": i, "text": article(i)} for i in range(3)])
    state = tmp_path / "state.db"
    command = ("clean", source, "-o", tmp_path / "out.jsonl", "--state", state, "--scope", "across", "-q")
    assert dedup_cli(*command).returncode == 0
    with sqlite3.connect(state) as connection:
        (version,) = connection.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
        newer = int(version) + 1
        connection.execute("UPDATE meta SET value = ? WHERE key = 'version'", (str(newer),))
    connection.close()
    done = dedup_cli(*command)
    stderr = done.stderr.decode()
    assert done.returncode == 1 and stderr.count("\n") == 1 and "Traceback" not in stderr
    assert f"{state} was written by a newer dedup" in stderr and f"version {newer}" in stderr




@pytest.mark.parametrize("workers_read_as_alive", [False, True])
def test_a_failed_run_whose_worker_died_while_sending_a_result_still_ends(workers_read_as_alive):
    # A worker killed mid-send leaves half a message in the executor's result pipe: its
    # manager thread then waits for the rest, and the interpreter waits for that thread
    # at exit. A truncated input made `dedup clean` hang that way in about 1 run of 5.
    # Here the half message is written by hand (white-box: the executor's own pipe).
    # The manager thread reaps workers too: until it stores the exit code, a worker it
    # reaped reads as alive to anyone else (waitpid finds no such child). Under load that
    # lasted through close(), which then left the pipe open, and `dedup clean` on a
    # truncated .csv.gz hung at exit (1 run in ~3,000; 7 in 10 with the reap delayed):
    # hence also every worker reading as alive.
    script = textwrap.dedent(
        f"""
        import multiprocessing.process
        from dedup.workers import OrderedPool

        pool = OrderedPool(abs, 2)
        assert [result for _, result, _ in pool.run([("chunk", -7, None)])] == [7]
        writer = pool._executors[0]._result_queue._writer
        writer._send(b"\\x00\\x01\\x00\\x00" + b"x" * 10)  # a 65,536-byte message cut short
        if {workers_read_as_alive}:
            multiprocessing.process.BaseProcess.is_alive = lambda self: True
        pool.close(ok=False)
        print("closed")
        """
    )
    done = subprocess.run([sys.executable, "-c", script], env=ENV, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().split() == ["closed"]


def test_a_signal_at_a_workers_start_never_runs_the_parents_handler_in_the_worker():
    # A SIGTERM (or Ctrl-C) between a worker's fork and its own handlers would run the
    # parent's handler in the worker, which then unwinds the parent's code (its clean-up)
    # as if it were the parent. Here every forked process is sent SIGTERM at once.
    script = textwrap.dedent(
        """
        import os, signal
        from dedup.workers import OrderedPool

        parent = os.getpid()

        def on_term(signum, frame):
            if os.getpid() != parent:
                print("a worker ran the parent's handler", flush=True)
                os._exit(3)
            raise SystemExit("the parent was terminated")

        signal.signal(signal.SIGTERM, on_term)
        os.register_at_fork(after_in_child=lambda: os.kill(os.getpid(), signal.SIGTERM))
        pool = OrderedPool(abs, 2)
        try:
            print(list(pool.run([("chunk", -7, None)])))
        except Exception as error:
            print(type(error).__name__)
        pool.close(ok=False)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], env=ENV, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().split() == ["ChunkFailed"]  # the workers died of SIGTERM, as they should


def test_a_failed_run_whose_worker_died_while_sending_a_result_fails_instead_of_waiting():
    # A worker killed mid-send (by the system, out of memory) leaves half a message in the
    # result pipe: the executor's manager thread waits for the rest and never reports the
    # dead worker, so the result was awaited for ever (seen once in the full suite, in
    # test_cli's worker killed mid-run). Here the half message is written by hand, then
    # the workers are killed while a chunk is in flight.
    script = textwrap.dedent(
        """
        import os, signal, threading, time
        from dedup.workers import ChunkFailed, OrderedPool

        started_r, started_w = os.pipe()

        def work(seconds):  # says that it runs, then outlasts the test
            os.write(started_w, b"!")
            time.sleep(seconds)

        pool = OrderedPool(work, 2)
        executor = pool._executors[0]

        def kill_mid_send():
            os.read(started_r, 1)  # the chunk runs in a worker
            # The manager thread finds the result pipe readable before (or together with)
            # the workers' ends, reads the header, and waits for the rest.
            executor._result_queue._writer._send(b"\\x00\\x01\\x00\\x00" + b"x" * 10)
            for process in list(executor._processes.values()):
                os.kill(process.pid, signal.SIGKILL)

        threading.Thread(target=kill_mid_send, daemon=True).start()
        try:
            list(pool.run([("chunk", 600, None)]))  # a chunk still running when the workers die
        except ChunkFailed as error:
            print("failed")
        pool.close(ok=False)
        print("closed")
        """
    )
    done = subprocess.run([sys.executable, "-c", script], env=ENV, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().split() == ["failed", "closed"]


def test_an_interrupt_while_a_compressed_output_closes_ends_the_run():
    # A Ctrl-C (or SIGTERM) while close() waits for the last block: io's close() then
    # flushed, which handed the thread, finishing that last block, one more block that
    # nobody would take, and waited for it for ever (3 runs in ~100 Ctrl-Cs).
    script = textwrap.dedent(
        """
        import threading
        from dedup.cli.compression import WriteBehind

        release = threading.Event()

        class SlowStream:  # the last block is still being compressed when the signal comes
            def write(self, data):
                release.wait()
                return len(data)
            def flush(self):
                pass
            def close(self):
                pass

        writer = WriteBehind(SlowStream())
        writer.write(b"the last records")
        wait = threading.Event.wait

        def interrupted(self, timeout=None):  # the signal arrives during the wait
            threading.Event.wait = wait
            raise KeyboardInterrupt

        threading.Event.wait = interrupted
        try:
            writer.close()
        except KeyboardInterrupt:
            print("interrupted")
        release.set()
        """
    )
    done = subprocess.run([sys.executable, "-c", script], env=ENV, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().split() == ["interrupted"]
