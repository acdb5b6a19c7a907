"""Outputs that are no regular file (a FIFO, a device, /dev/stdout) are written into, never replaced."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import dedup
from dedup.deduplicator import Deduplicator
from dedup.lsh import LSHIndex
from dedup.report import explain, write_html
from dedup.atomic import writes_in_place
from news_texts import LOCAL_A, WIRE_EN

SRC = str(Path(dedup.__file__).resolve().parent.parent)
ENV = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))


def dedup_cli(*args, stdout=subprocess.PIPE) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dedup", *map(str, args)], stdout=stdout, stderr=subprocess.PIPE, env=ENV, timeout=120
    )


@pytest.fixture
def corpus(tmp_path) -> Path:
    path = tmp_path / "in.jsonl"
    lines = [
        {"id": "a", "text": WIRE_EN + "\n\n" + LOCAL_A + "\n\n" + WIRE_EN},
        {"id": "b", "text": "not JSON"},
        {"id": "c", "text": LOCAL_A + "\n\n" + WIRE_EN},
    ]
    text = "".join(json.dumps(line) + "\n" for line in lines)
    path.write_text(text.replace('{"id": "b", "text": "not JSON"}', "{broken"))
    return path


class FifoReader:
    """A FIFO with a thread reading it to the end. A hard link keeps the FIFO reachable,
    so a writer that replaced the name still lets the reader be released."""

    def __init__(self, path: Path) -> None:
        os.mkfifo(path)
        self.path = path
        self.keep = path.with_name(path.name + ".keep")
        os.link(path, self.keep)
        self.data = b""
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        with open(self.keep, "rb") as fifo:
            self.data = fifo.read()

    def finish(self) -> bytes:
        """The bytes read, once the writer is done (a reader still waiting for a writer is released)."""
        try:
            os.close(os.open(self.keep, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:  # ENXIO: the reader is already gone, having read to the end
            pass
        self.thread.join()
        return self.data


def character_device_twin_of_dev_null(path: Path) -> Path:
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("creating a device node needs root")
    return path


def regular_run_output(tmp_path: Path, command: str, flag: str, corpus: Path, *extra) -> bytes:
    """What the same command writes to a regular file."""
    regular = tmp_path / f"regular{Path(flag).name}.out"
    done = dedup_cli(command, corpus, flag, regular, "--quiet", "--on-error", "skip", *extra)
    assert done.returncode == 0, done.stderr.decode()
    return regular.read_bytes()


# The other outputs go to regular files ("SINK"): a test run against a dedup without the
# fix must not replace the machine's /dev/null.
OUTPUTS = [
    ("clean", "-o", ("--scope", "both")),
    ("clean", "--report", ("-o", "SINK")),
    ("clean", "--rejects", ("-o", "SINK")),
    ("explain", "-o", ()),
    ("explain", "--html", ("-o", "SINK")),
    ("dups", "-o", ()),
]


def with_sink(extra: tuple, folder: Path) -> list:
    return [folder / "sink.out" if arg == "SINK" else arg for arg in extra]


@pytest.mark.parametrize("command, flag, extra", OUTPUTS)
def test_output_into_a_fifo_reaches_its_reader_and_the_fifo_stays(tmp_path, corpus, command, flag, extra):
    extra = with_sink(extra, tmp_path)
    expected = regular_run_output(tmp_path, command, flag, corpus, *extra)
    reader = FifoReader(tmp_path / "fifo.jsonl")
    done = dedup_cli(command, corpus, flag, reader.path, "--quiet", "--on-error", "skip", *extra)
    received = reader.finish()
    assert done.returncode == 0, done.stderr.decode()
    assert stat.S_ISFIFO(os.lstat(reader.path).st_mode)
    assert received == expected and expected


@pytest.mark.parametrize("command, flag, extra", OUTPUTS)
def test_output_onto_a_character_device_keeps_the_device(tmp_path, corpus, command, flag, extra):
    device = character_device_twin_of_dev_null(tmp_path / "null")
    done = dedup_cli(command, corpus, flag, device, "--quiet", "--on-error", "skip", *with_sink(extra, tmp_path))
    assert done.returncode == 0, done.stderr.decode()
    assert stat.S_ISCHR(os.lstat(device).st_mode) and os.lstat(device).st_rdev == os.makedev(1, 3)
    assert sorted(set(os.listdir(tmp_path)) - {"sink.out"}) == ["in.jsonl", "null"]  # no temporary left either


def test_two_outputs_onto_one_character_device_are_allowed(tmp_path, corpus):
    device = character_device_twin_of_dev_null(tmp_path / "null")
    done = dedup_cli("clean", corpus, "-o", device, "--report", device, "--rejects", device, "--on-error", "skip")
    assert done.returncode == 0, done.stderr.decode()
    assert stat.S_ISCHR(os.lstat(device).st_mode)


@pytest.mark.parametrize("how", ["link to /proc/self/fd/1", "/dev/stdout", "/dev/fd/1"])
def test_output_to_a_name_of_stdout_goes_to_stdout_and_the_name_stays(tmp_path, corpus, how):
    expected = regular_run_output(tmp_path, "clean", "-o", corpus)
    if how.startswith("link"):
        target = tmp_path / "stdout"
        target.symlink_to("/proc/self/fd/1")
    else:
        target = Path(how)
    before = os.readlink(target)
    done = dedup_cli("clean", corpus, "-o", target, "--quiet", "--on-error", "skip")
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout == expected
    assert os.path.islink(target) and os.readlink(target) == before


def test_output_to_stdout_redirected_to_a_file_appends_where_stdout_stands(tmp_path, corpus):
    expected = regular_run_output(tmp_path, "clean", "-o", corpus)
    log = tmp_path / "log.txt"
    with open(log, "wb") as handle:
        handle.write(b"before\n")
        handle.flush()
        done = dedup_cli("clean", corpus, "-o", "/dev/stdout", "--quiet", "--on-error", "skip", stdout=handle)
    assert done.returncode == 0, done.stderr.decode()
    assert log.read_bytes() == b"before\n" + expected


@pytest.mark.parametrize("flag", ["--state", "--store"])
def test_state_on_a_device_or_fifo_is_refused_in_one_line(tmp_path, corpus, flag):
    device = character_device_twin_of_dev_null(tmp_path / "null")
    done = dedup_cli("clean", corpus, "--scope", "across", flag, device, "-o", tmp_path / "out.jsonl", "--on-error", "skip")
    assert done.returncode == 2
    assert done.stderr.decode().strip() == (
        f"dedup: error: {flag} {device} is not a regular file: the next run must read the {flag[2:]} back from it")
    assert stat.S_ISCHR(os.lstat(device).st_mode)


def test_library_saves_write_into_special_files(tmp_path):
    d = Deduplicator(scope="across")
    d.add(WIRE_EN, doc_id="wire")
    reader = FifoReader(tmp_path / "state.fifo")
    d.save(reader.path)
    assert reader.finish().startswith(b"SQLite format 3\x00")
    assert stat.S_ISFIFO(os.lstat(reader.path).st_mode)

    device = character_device_twin_of_dev_null(tmp_path / "null")
    index = LSHIndex(0.8, 64)
    index.insert([1], np.arange(64, dtype=np.uint32).reshape(1, 64))
    index.save(device)
    d.save(device)
    write_html(device, explain([("a", WIRE_EN + "\n\n" + WIRE_EN)]))
    dedup.find_duplicates([("a", WIRE_EN), ("b", WIRE_EN)]).write_jsonl(device)
    assert stat.S_ISCHR(os.lstat(device).st_mode)
    assert sorted(os.listdir(tmp_path)) == ["null", "state.fifo", "state.fifo.keep"]


def test_which_destinations_are_written_in_place(tmp_path):
    (tmp_path / "file").write_text("x")
    (tmp_path / "link").symlink_to(tmp_path / "file")
    (tmp_path / "fd-link").symlink_to("/dev/stdout")
    os.mkfifo(tmp_path / "fifo")
    assert not writes_in_place(tmp_path / "file")
    assert not writes_in_place(tmp_path / "link")  # a link to a regular file: the link is replaced, as before
    assert not writes_in_place(tmp_path / "missing")
    assert not writes_in_place(tmp_path)
    assert writes_in_place(tmp_path / "fifo")
    assert writes_in_place(tmp_path / "fd-link")
    assert writes_in_place("/dev/null") and writes_in_place("/dev/stderr") and writes_in_place("/proc/self/fd/2")
