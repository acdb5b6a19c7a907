"""Faults: a run killed with SIGKILL while it commits its outputs, or while it works.

Every kill is driven by the run's own progress: the child process kills itself right
after a given rename of its commit, or once its checkpoint has reached a given record.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import dedup
from dedup.io import complete_interrupted_commit

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
