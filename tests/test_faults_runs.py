"""Faults: a run killed with SIGKILL while it commits its outputs, or while it works.

Every kill is driven by the run's own progress: the child process kills itself right
after a given rename of its commit, or once its checkpoint has reached a given record.
"""

from __future__ import annotations

import json
import os
import signal
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import dedup
from dedup.cli.commit import complete_interrupted_commit

SRC = str(Path(dedup.__file__).resolve().parent.parent)
ENV = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))

# Runs the dedup command given after "--" and SIGKILLs itself right after the AFTER-th
# rename that puts one of the DESTINATIONS in place.
KILL_AFTER_RENAME = textwrap.dedent(
    """
    import os, signal, sys
    after = int(sys.argv[1])
    split = sys.argv.index("--")
    destinations = {os.path.abspath(p) for p in sys.argv[2:split]}
    replace, done = os.replace, []

    def replace_then_die(source, target, *args, **kwargs):
        replace(source, target, *args, **kwargs)
        if os.path.abspath(target) in destinations:
            done.append(target)
            if len(done) == after:
                os.kill(os.getpid(), signal.SIGKILL)

    os.replace = replace_then_die
    from dedup.cli import main
    sys.exit(main(sys.argv[split + 1 :]))
    """
)


def article(n: int) -> str:
    """120 words shared with no other article."""
    rng = random.Random(n)
    return " ".join(f"woord{rng.randrange(10**9)}" for _ in range(120)) + "."


def write_jsonl(path: Path, docs: list[dict]) -> None:
    path.write_bytes(b"".join(json.dumps(d).encode() + b"\n" for d in docs))


def corpus(first: int, count: int) -> list[dict]:
    # Every 3rd article repeats a passage of an earlier one: the report and the state have content.
    return [{"id": n, "text": article(n) + ("\n\n" + article(n // 2) if n % 3 == 0 else "")} for n in range(first, first + count)]


def dedup_cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dedup", *map(str, args)], env=ENV, capture_output=True, check=False)


def test_a_run_killed_between_the_renames_of_its_commit_is_completed_by_the_next_run(tmp_path):
    source = tmp_path / "in.jsonl"
    out, report, state = tmp_path / "out.jsonl", tmp_path / "report.jsonl", tmp_path / "memory.state"
    options = ["-o", out, "--report", report, "--state", state, "--scope", "both", "-q"]
    write_jsonl(source, corpus(0, 30))
    assert dedup_cli("clean", source, *options).returncode == 0
    old = {path: path.read_bytes() for path in (out, report)}
    # What the second run gives when nothing interrupts it (in another folder).
    write_jsonl(source, corpus(30, 30))
    expected_folder = tmp_path / "expected"
    expected_folder.mkdir()
    expected_state = expected_folder / "memory.state"
    expected_state.write_bytes(state.read_bytes())
    expected_options = ["-o", expected_folder / "out.jsonl", "--report", expected_folder / "report.jsonl",
                        "--state", expected_state, "--scope", "both", "-q"]
    assert dedup_cli("clean", source, *expected_options).returncode == 0
    new = {out: (expected_folder / "out.jsonl").read_bytes(), report: (expected_folder / "report.jsonl").read_bytes()}
    assert new[out] != old[out] and new[report] != old[report]
    previous_state = state.read_bytes()

    for after in (1, 2):  # killed after the first, then after the second of three renames
        state.write_bytes(previous_state)
        for path, content in old.items():
            path.write_bytes(content)
        killed = subprocess.run(
            [sys.executable, "-c", KILL_AFTER_RENAME, str(after), out, report, state, "--", "clean", source, *map(str, options)],
            env=ENV, capture_output=True, check=False,
        )
        assert killed.returncode == -9, killed.stderr.decode()
        renamed = [path for path in (out, report) if path.read_bytes() == new[path]]
        assert 0 < len(renamed) + (state.read_bytes() != previous_state) < 3  # a mix: the gap the journal closes
        assert complete_interrupted_commit([str(report)]) != []  # any one of the outputs finds the journal
        assert all(path.read_bytes() == new[path] for path in (out, report))
        assert len(dedup.Deduplicator.load(state)) == len(dedup.Deduplicator.load(expected_state)) == 60
        assert not [name for name in os.listdir(tmp_path) if name.startswith(".")]  # no journal, no temporary


def test_the_next_run_completes_an_interrupted_commit_before_its_own_work(tmp_path):
    source = tmp_path / "in.jsonl"
    out, report = tmp_path / "out.jsonl", tmp_path / "report.jsonl"
    write_jsonl(source, corpus(0, 20))
    options = ["-o", out, "--report", report, "--scope", "within", "-q"]
    killed = subprocess.run(
        [sys.executable, "-c", KILL_AFTER_RENAME, "1", out, report, "--", "clean", source, *map(str, options)],
        env=ENV, capture_output=True, check=False,
    )
    assert killed.returncode == -9
    assert sorted(name for name in os.listdir(tmp_path) if name.endswith(".dedup-commit")) == [
        ".out.jsonl.dedup-commit", ".report.jsonl.dedup-commit"
    ]
    assert out.exists() and not report.exists()
    # Another run that writes the report but not out.jsonl completes the commit first.
    done = dedup_cli("clean", source, "--report", report, "-o", tmp_path / "other.jsonl", "-q")
    assert done.returncode == 0
    assert done.stderr.decode() == f"dedup: warning: completed the interrupted commit of an earlier run: {report}\n"
    assert sorted(os.listdir(tmp_path)) == ["in.jsonl", "other.jsonl", "out.jsonl", "report.jsonl"]


# --------------------------------------------------------------------------- checkpoints

# Runs the dedup command given after "--" and SIGKILLs itself at a point of its progress:
#   checkpoint N   right after the checkpoint at record N or later is recorded;
#   record N       right after writing record N to the main output;
#   memory N       inside the checkpoint at record N or later: its memory saved (or the
#                  store's checkpoint made), checkpoint.json not yet;
#   rename N       right after the N-th rename of the final commit.
KILL_AT = textwrap.dedent(
    """
    import os, signal, sys
    from dedup.cli import checkpoint as module
    from dedup.cli.writers import RecordWriter

    point, number = sys.argv[1], int(sys.argv[2])
    args = sys.argv[sys.argv.index("--") + 1 :]

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    if point == "checkpoint":
        record = module.Checkpoint.record
        def record_then_die(self, outputs, stats, done, memory=None):
            record(self, outputs, stats, done, memory)
            if done >= number:
                die()
        module.Checkpoint.record = record_then_die
    elif point == "record":
        write, written = RecordWriter.write, []
        def write_then_die(self, record, text):
            write(self, record, text)
            written.append(1)
            if len(written) == number:
                die()
        RecordWriter.write = write_then_die
    elif point == "memory":
        import io, json
        atomic_write = module.atomic_write
        def die_before_checkpoint_json(path, write):
            if path.endswith("checkpoint.json"):
                body = io.BytesIO()
                write(body)
                if json.loads(body.getvalue())["done"] >= number:
                    die()
            atomic_write(path, write)
        module.atomic_write = die_before_checkpoint_json
    elif point == "rename":
        replace, renames = os.replace, []
        def replace_then_die(source, target, *rest, **options):
            replace(source, target, *rest, **options)
            if ".dedup-" not in os.path.basename(target):  # a final output, not a journal or memory
                renames.append(target)
                if len(renames) == number:
                    die()
        os.replace = replace_then_die
    from dedup.cli import main
    sys.exit(main(args))
    """
)


def checkpointed_corpus(path: Path) -> None:
    docs = corpus(0, 400)
    lines = [json.dumps(d) for d in docs]
    lines.insert(150, "{not json")  # a bad record: skipped into --rejects
    path.write_text("\n".join(lines) + "\n")


def outputs_of(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in ("out.jsonl", "report.jsonl", "rejects.jsonl")}


@pytest.mark.parametrize("memory_option, memory", [("--state", "memory.state"), ("--store", "memory.db")])
def test_a_run_killed_anywhere_resumes_from_its_checkpoint_to_the_uninterrupted_outputs(tmp_path, memory_option, memory):
    source = tmp_path / "in.jsonl"
    checkpointed_corpus(source)
    earlier = tmp_path / "earlier.jsonl"
    write_jsonl(earlier, corpus(1000, 40))

    def command(folder: Path, *extra) -> list[str]:
        return ["clean", str(source), "-o", str(folder / "out.jsonl"), "--report", str(folder / "report.jsonl"),
                "--rejects", str(folder / "rejects.jsonl"), memory_option, str(folder / memory),
                "--scope", "both", "--on-error", "skip", "-q", *extra]

    def fresh_folder(name: str) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        # The memory holds earlier articles: the resumed memory must start from it too.
        assert dedup_cli("clean", earlier, "-o", folder / "first.jsonl", memory_option, folder / memory,
                         "--scope", "both", "-q").returncode == 0
        return folder

    whole = fresh_folder("whole")
    assert dedup_cli(*command(whole)).returncode == 0
    expected, expected_memory = outputs_of(whole), len(dedup.Deduplicator.load(whole / memory))

    kills = [("record", 10), ("checkpoint", 64), ("record", 200), ("memory", 256), ("checkpoint", 320),
             ("rename", 1), ("rename", 3)]
    for point, number in kills:
        folder = fresh_folder(f"{point}-{number}")
        killed = subprocess.run([sys.executable, "-c", KILL_AT, point, str(number), "--",
                                 *command(folder, "--checkpoint-every", "50")], env=ENV, capture_output=True, check=False)
        assert killed.returncode == -9, (point, number, killed.stderr.decode())
        assert not (folder / "out.jsonl").exists() or point == "rename"
        progress = folder / ".out.jsonl.dedup-checkpoint" / "checkpoint.json"
        if point in ("checkpoint", "memory"):  # resumed from a checkpoint, not from the start
            assert json.loads(progress.read_text())["done"] >= number - 64
        again = dedup_cli(*command(folder, "--checkpoint-every", "50", "--jobs", "2"))
        assert again.returncode == 0, (point, number, again.stderr.decode())
        assert outputs_of(folder) == expected, (point, number)
        assert len(dedup.Deduplicator.load(folder / memory)) == expected_memory
        assert sorted(name for name in os.listdir(folder) if not name.startswith(memory + "-")) == sorted(
            ["first.jsonl", memory, "out.jsonl", "rejects.jsonl", "report.jsonl"])  # a store's index beside it


def test_a_run_that_cannot_resume_says_why_and_starts_nothing(tmp_path):
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    checkpointed_corpus(source)
    command = ["clean", source, "-o", out, "--scope", "both", "-q", "--checkpoint-every", "50"]
    killed = subprocess.run([sys.executable, "-c", KILL_AT, "checkpoint", "100", "--", *map(str, command)],
                            env=ENV, capture_output=True, check=False)
    assert killed.returncode == -9
    folder = tmp_path / ".out.jsonl.dedup-checkpoint"
    before = {name: (folder / name).read_bytes() for name in os.listdir(folder)}

    other_option = dedup_cli(*command, "--threshold", "0.5")
    assert other_option.returncode == 2
    assert "cannot resume the interrupted run" in other_option.stderr.decode()
    assert "--threshold (None then, 0.5 now)" in other_option.stderr.decode()
    no_checkpoints = dedup_cli(*command[:-2])
    assert no_checkpoints.returncode == 2 and "rerun that command" in no_checkpoints.stderr.decode()
    with source.open("a") as handle:
        handle.write(json.dumps({"id": "new", "text": "one more"}) + "\n")
    changed_input = dedup_cli(*command)
    assert changed_input.returncode == 2 and "the input file changed" in changed_input.stderr.decode()
    assert {name: (folder / name).read_bytes() for name in os.listdir(folder)} == before
    assert not out.exists()


def test_checkpoints_refuse_what_cannot_be_resumed(tmp_path):
    source = tmp_path / "in.jsonl"
    write_jsonl(source, corpus(0, 3))
    compressed = dedup_cli("clean", source, "-o", tmp_path / "out.jsonl.gz", "--checkpoint-every", "5")
    assert compressed.returncode == 2 and "uncompressed" in compressed.stderr.decode()
    stdout = dedup_cli("clean", source, "--checkpoint-every", "5")
    assert stdout.returncode == 2 and "not stdout" in stdout.stderr.decode()


def test_a_run_that_fails_on_its_data_leaves_no_checkpoint(tmp_path):
    source = tmp_path / "in.jsonl"
    checkpointed_corpus(source)  # a bad record at line 151
    failed = dedup_cli("clean", source, "-o", tmp_path / "out.jsonl", "--checkpoint-every", "1000", "-q")
    assert failed.returncode == 1 and "in.jsonl:151" in failed.stderr.decode()
    assert sorted(os.listdir(tmp_path)) == ["in.jsonl"]
    # With a checkpoint before the bad record, the folder goes too: the same command fails
    # there again, and fixing the record is a change of the input, so the checkpoint could
    # never be resumed (it used to stay until the user removed it).
    failed = dedup_cli("clean", source, "-o", tmp_path / "out.jsonl", "--checkpoint-every", "50", "-q")
    assert failed.returncode == 1 and "in.jsonl:151" in failed.stderr.decode()
    assert sorted(os.listdir(tmp_path)) == ["in.jsonl"]


def test_an_unreadable_file_fails_the_run_without_giving_its_checkpoint_up():
    # A file the system could not read (an I/O error) may read the next time: unlike a bad
    # record, its failure does not recur for sure, so a checkpoint before it is kept.
    import argparse

    from dedup.cli.errors import DataError
    from dedup.cli.progress import Stats
    from dedup.cli.records import RecordError
    from dedup.cli.skipping import BadRecords

    args = argparse.Namespace(on_error="fail", quiet=True, max_skipped=0.5)
    bad = BadRecords(args, Stats(), None)
    for error, recurs in ((RecordError.damaged_file("in.jsonl", OSError(5, "Input/output error"), 100), False),
                          (RecordError.damaged_file("in.jsonl.gz", EOFError(), 100), True),
                          (RecordError("in.jsonl", 7, "not JSON"), True)):
        with pytest.raises(DataError) as failed:
            bad.handle(error)
        assert failed.value.recurs is recurs


def test_a_resumed_run_counts_the_records_skipped_before_its_checkpoint(tmp_path):
    # 600 bad records, then 400 good ones: more than --max-skipped 0.5 are bad, whether the
    # run was interrupted after the bad ones or not.
    source = tmp_path / "in.jsonl"
    source.write_text("{not json\n" * 600 + "".join(json.dumps(d) + "\n" for d in corpus(0, 400)))
    command = ["clean", str(source), "-o", str(tmp_path / "out.jsonl"), "--on-error", "skip", "-q",
               "--checkpoint-every", "100"]
    whole = dedup_cli(*command)
    assert whole.returncode == 1 and "600 of 1,000 records were bad" in whole.stderr.decode()
    killed = subprocess.run([sys.executable, "-c", KILL_AT, "checkpoint", "700", "--", *command],
                            env=ENV, capture_output=True, check=False)
    assert killed.returncode == -9, killed.stderr.decode()
    resumed = dedup_cli(*command)
    assert resumed.returncode == 1 and "600 of 1,000 records were bad" in resumed.stderr.decode()
    assert not (tmp_path / "out.jsonl").exists()


def test_a_second_run_of_a_checkpointed_command_stops_before_touching_the_first_runs_folder(tmp_path):
    # The same command started twice: the second used to cut the first run's outputs back
    # to its last checkpoint (the first then ended with exit 0 and NUL bytes in its output)
    # or remove its folder. A run in progress is stood for by the lock of its folder.
    from dedup.locking import take_lock

    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_jsonl(source, corpus(0, 40))
    folder = tmp_path / ".out.jsonl.dedup-checkpoint"
    folder.mkdir()
    (folder / "output-0").write_bytes(b"written by the run in progress")
    with take_lock(folder):
        done = dedup_cli("clean", source, "-o", out, "-q", "--checkpoint-every", 10)
    assert done.returncode == 1
    assert f"process {os.getpid()}" in done.stderr.decode() and "another dedup run writes this output" in done.stderr.decode()
    assert (folder / "output-0").read_bytes() == b"written by the run in progress" and not out.exists()
    assert dedup_cli("clean", source, "-o", out, "-q", "--checkpoint-every", 10).returncode == 0  # once it is free
    assert sorted(os.listdir(tmp_path)) == ["in.jsonl", "out.jsonl"]


def test_checkpoints_refuse_what_they_cannot_resume_byte_for_byte_before_the_run(tmp_path):
    source = tmp_path / "in.csv"
    source.write_text("id,text\n" + "".join(f"{n},{article(n)}\n" for n in range(20)))
    done = dedup_cli("clean", source, "-o", tmp_path / "out.csv", "-q", "--checkpoint-every", 5)
    assert done.returncode == 2 and "needs a JSONL or text input file" in done.stderr.decode()  # its header came twice
    write_jsonl(tmp_path / "in.jsonl", corpus(0, 20))
    (tmp_path / "folder").mkdir()
    done = dedup_cli("clean", tmp_path / "in.jsonl", "-o", tmp_path / "folder", "-q", "--checkpoint-every", 5)
    assert done.returncode == 2 and "is a folder" in done.stderr.decode()
    assert sorted(os.listdir(tmp_path)) == ["folder", "in.csv", "in.jsonl"] and os.listdir(tmp_path / "folder") == []


def test_checkpoints_refuse_a_report_on_another_file_system_before_the_run(tmp_path):
    # The outputs wait in the folder beside -o and are renamed into place at the end: a
    # --report on another file system failed that commit half done, and every later run.
    other = Path("/dev/shm")
    if not other.is_dir() or os.stat(other).st_dev == os.stat(tmp_path).st_dev:
        import pytest

        pytest.skip("needs /dev/shm on a file system of its own")
    report = other / f"dedup-test-{os.getpid()}-report.jsonl"
    write_jsonl(tmp_path / "in.jsonl", corpus(0, 20))
    try:
        done = dedup_cli("clean", tmp_path / "in.jsonl", "-o", tmp_path / "out.jsonl", "--report", report, "-q",
                         "--checkpoint-every", 5)
        assert done.returncode == 2 and "on another file system" in done.stderr.decode()
        assert not report.exists() and sorted(os.listdir(tmp_path)) == ["in.jsonl"]
    finally:
        report.unlink(missing_ok=True)


# Runs the dedup command given after "--" (as the `dedup` command does: dedup.cli.entry)
# and sends itself signal SIGNAL in its final commit: right after the first rename that
# puts an output in place ("during"), or once the commit has returned ("after").
SIGNAL_IN_COMMIT = textwrap.dedent(
    """
    import os, signal, sys
    when, number = sys.argv[1], int(sys.argv[2])
    from dedup.cli import commit, entry

    replace, commit_outputs = os.replace, commit.AtomicOutputs.commit

    def replace_then_signal(source, target, *args, **kwargs):
        replace(source, target, *args, **kwargs)
        if when == "during" and not os.path.basename(target).startswith("."):
            os.kill(os.getpid(), number)

    def commit_then_signal(self):
        commit_outputs(self)
        if when == "after":
            os.kill(os.getpid(), number)

    os.replace = replace_then_signal
    commit.AtomicOutputs.commit = commit_then_signal
    sys.argv = ["dedup", *sys.argv[sys.argv.index("--") + 1 :]]
    sys.exit(entry())
    """
)


@pytest.mark.parametrize("when", ["during", "after"])
@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_in_the_final_commit_neither_mixes_the_outputs_nor_fails_the_run(tmp_path, when, number):
    # A Ctrl-C or SIGTERM between two renames of the commit left the new -o beside the old
    # --report, for good (the rerun found the journal's temporaries removed); one right
    # after the commit exited 130 "no output written" with every output replaced.
    source, out, report = tmp_path / "in.jsonl", tmp_path / "out.jsonl", tmp_path / "report.jsonl"
    write_jsonl(source, corpus(0, 30))
    options = ["-o", out, "--report", report, "--scope", "both", "-q"]
    assert dedup_cli("clean", source, *options).returncode == 0
    old = {path: path.read_bytes() for path in (out, report)}
    write_jsonl(source, corpus(30, 30))
    command = [sys.executable, "-c", SIGNAL_IN_COMMIT, when, str(int(number)), "--", "clean", source, *options]
    done = subprocess.run(list(map(str, command)), env=ENV, capture_output=True, check=False)
    assert done.returncode == 0, done.stderr.decode()
    assert all(path.read_bytes() != old[path] for path in (out, report))  # both new: committed as one
    expected = tmp_path / "expected"
    expected.mkdir()
    assert dedup_cli("clean", source, "-o", expected / "out.jsonl", "--report", expected / "report.jsonl",
                     "--scope", "both", "-q").returncode == 0
    assert out.read_bytes() == (expected / "out.jsonl").read_bytes()
    assert sorted(os.listdir(tmp_path)) == ["expected", "in.jsonl", "out.jsonl", "report.jsonl"]
