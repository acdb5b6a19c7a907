"""``dedup clean --store``: the across-document memory on disk, kept only with the run's outputs.

A run adds its documents to the store as it goes; they stay only when its outputs are
committed. A run that fails, is killed or is stopped before its commit was decided leaves
the store as it was (at once, or when the store is next opened); one killed after its
commit was decided keeps them, and the next run completes its commit.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import dedup
from dedup.store import SQLiteStore

SRC = str(Path(dedup.__file__).resolve().parent.parent)
ENV = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))


def article(n: int) -> str:
    """120 words shared with no other article."""
    rng = random.Random(n)
    return " ".join(f"woord{rng.randrange(10**9)}" for _ in range(120)) + "."


def corpus(first: int, count: int) -> list[dict]:
    # Every 3rd article repeats a passage of an earlier one (of this corpus or an older one).
    return [{"id": n, "text": article(n) + ("\n\n" + article(n // 2) if n % 3 == 0 else "")} for n in range(first, first + count)]


def write_jsonl(path: Path, docs: list[dict], tail: bytes = b"") -> Path:
    path.write_bytes(b"".join(json.dumps(d).encode() + b"\n" for d in docs) + tail)
    return path


def dedup_cli(*args, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dedup", *map(str, args)], env=ENV, capture_output=True, check=False, cwd=cwd)


def articles_in(store: Path) -> int:
    with dedup.Deduplicator(scope="across", store=store) as opened:
        return len(opened)


def two_runs(folder: Path, memory: list, jobs: int = 1) -> dict[str, bytes]:
    """Outputs and reports of two clean runs in ``folder`` sharing the memory ``memory``
    (``["--store", name]`` or ``["--state", name]``, in ``folder``): the second run's copies
    of the first's passages are found through it."""
    folder.mkdir()
    found = {}
    for run, first in (("first", 0), ("second", 30)):
        write_jsonl(folder / f"{run}.jsonl", corpus(first, 30))
        out, report = f"{run}.out.jsonl", f"{run}.report.jsonl"
        done = dedup_cli("clean", f"{run}.jsonl", "-o", out, "--report", report, *memory, "--scope", "across",
                         "-j", jobs, "-q", cwd=folder)
        assert done.returncode == 0, done.stderr.decode()
        found.update({name: (folder / name).read_bytes() for name in (out, report)})
    return found


@pytest.mark.parametrize("jobs", [1, 2])
def test_store_carries_the_memory_to_the_next_run_as_state_does(tmp_path, jobs):
    on_disk = two_runs(tmp_path / "store", ["--store", "memory.db"], jobs)
    in_memory = two_runs(tmp_path / "state", ["--state", "memory.state"])
    assert on_disk == in_memory
    sources = [json.loads(line)["source_id"] for line in on_disk["second.report.jsonl"].splitlines()]
    assert len(sources) == 10 and min(sources) < 30  # passages of the first run's documents
    assert articles_in(tmp_path / "store" / "memory.db") == 60
    # A store is a state file too: --state (and Deduplicator.load) read it.
    assert len(dedup.Deduplicator.load(tmp_path / "store" / "memory.db")) == 60


def test_explain_with_a_store_takes_back_what_it_added(tmp_path):
    store = tmp_path / "memory.db"
    first = write_jsonl(tmp_path / "first.jsonl", corpus(0, 30))
    second = write_jsonl(tmp_path / "second.jsonl", corpus(30, 30))
    assert dedup_cli("clean", first, "-o", tmp_path / "out.jsonl", "--store", store, "-q").returncode == 0
    explained = dedup_cli("explain", second, "-o", tmp_path / "explained.jsonl", "--store", store, "-q")
    assert explained.returncode == 0, explained.stderr.decode()
    assert (tmp_path / "explained.jsonl").read_bytes().count(b'"across"') == 10
    with sqlite3.connect(store) as database:  # taken back by explain itself, its run ended
        assert database.execute("SELECT COUNT(*) FROM articles").fetchone()[0] == 30
        assert database.execute("SELECT COUNT(*) FROM meta WHERE key = 'run'").fetchone()[0] == 0
    assert articles_in(store) == 30
    # So the documents it explained are new to the store: clean takes them.
    assert dedup_cli("clean", second, "-o", tmp_path / "out2.jsonl", "--store", store, "-q").returncode == 0
    assert articles_in(store) == 60


@pytest.mark.parametrize("index_files", [False, True])
def test_a_failed_run_leaves_the_store_as_it_was(tmp_path, monkeypatch, index_files):
    store = tmp_path / "memory.db"
    first = write_jsonl(tmp_path / "first.jsonl", corpus(0, 30))
    assert dedup_cli("clean", first, "-o", tmp_path / "first.out.jsonl", "--store", store, "-q").returncode == 0
    # The run reads 60 good records, then a broken one: it fails after its documents went in.
    broken = write_jsonl(tmp_path / "second.jsonl", corpus(30, 60), tail=b'{"id": 99, "text": \n')
    failed = dedup_cli("clean", broken, "-o", tmp_path / "second.out.jsonl", "--store", store)
    assert failed.returncode == 1 and b"second.jsonl:61" in failed.stderr
    assert not (tmp_path / "second.out.jsonl").exists()
    assert articles_in(store) == 30
    # The library's rollback, with the run's fingerprints in the index's files (a store
    # holds a run's fingerprints in memory until there are ``recent_keys``) or not.
    if index_files:
        monkeypatch.setattr(SQLiteStore, "recent_keys", 1)
    with dedup.Deduplicator(scope="across", store=store) as memory:
        memory.begin_run(tmp_path / "journal", "a token")
        memory.add_many([d["text"] for d in corpus(30, 60)], list(range(30, 90)))
        memory.roll_back_run()
        assert len(memory) == 30 and not memory.remembers(31) and memory.remembers(29)
        assert [m.source_id for m in memory.find(article(40))] == []
        assert [m.source_id for m in memory.find(article(20))] == [20]
    # The next run gives what it would have given had the failed one never run.
    good = write_jsonl(tmp_path / "good.jsonl", corpus(30, 60))
    assert dedup_cli("clean", good, "-o", tmp_path / "good.out.jsonl", "--store", store, "-q").returncode == 0
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    assert dedup_cli("clean", first, "-o", fresh / "first.out.jsonl", "--store", fresh / "memory.db", "-q").returncode == 0
    assert dedup_cli("clean", good, "-o", fresh / "good.out.jsonl", "--store", fresh / "memory.db", "-q").returncode == 0
    assert (tmp_path / "good.out.jsonl").read_bytes() == (fresh / "good.out.jsonl").read_bytes()
    assert articles_in(store) == 90


# Runs the dedup command given after "--" and SIGKILLs itself at WHEN:
#   added N      right after the store added its N-th batch of documents;
#   journal P    right after the commit journal P is in place.
KILL_AT = textwrap.dedent(
    """
    import os, signal, sys
    from dedup import store

    what, where = sys.argv[1], sys.argv[2]
    split = sys.argv.index("--")
    die = lambda: os.kill(os.getpid(), signal.SIGKILL)
    if what == "added":
        add_many, batches = store.SQLiteStore.add_many, []

        def add_then_die(self, *args, **kwargs):
            add_many(self, *args, **kwargs)
            batches.append(1)
            if len(batches) == int(where):
                die()

        store.SQLiteStore.add_many = add_then_die
    else:
        replace = os.replace

        def replace_then_die(source, target, *args, **kwargs):
            replace(source, target, *args, **kwargs)
            if os.path.abspath(target) == os.path.abspath(where):
                die()

        os.replace = replace_then_die
    from dedup.cli import main
    sys.exit(main(sys.argv[split + 1 :]))
    """
)


def killed_run(when: str, where, *command) -> None:
    killed = subprocess.run(
        [sys.executable, "-c", KILL_AT, when, str(where), "--", *map(str, command)], env=ENV, capture_output=True, check=False
    )
    assert killed.returncode == -9, killed.stderr.decode()


def test_a_run_killed_before_its_commit_leaves_the_store_as_it_was(tmp_path):
    store, out = tmp_path / "memory.db", tmp_path / "second.out.jsonl"
    first = write_jsonl(tmp_path / "first.jsonl", corpus(0, 30))
    assert dedup_cli("clean", first, "-o", tmp_path / "first.out.jsonl", "--store", store, "-q").returncode == 0
    second = write_jsonl(tmp_path / "second.jsonl", corpus(30, 300))
    killed_run("added", 1, "clean", second, "-o", out, "--store", store)
    assert not out.exists()
    with sqlite3.connect(store) as database:  # the dead run's documents are in the file
        assert database.execute("SELECT COUNT(*) FROM articles").fetchone()[0] > 30
    # Whoever opens the store next finds the dead run's documents gone: the command, the
    # library, or a load of it as a state.
    assert len(dedup.Deduplicator.load(store)) == 30
    assert articles_in(store) == 30
    assert dedup_cli("clean", second, "-o", out, "--store", store, "-q").returncode == 0
    assert articles_in(store) == 330


def test_a_run_killed_once_its_commit_was_decided_keeps_its_documents_and_is_completed(tmp_path):
    store, out, report = tmp_path / "memory.db", tmp_path / "second.out.jsonl", tmp_path / "report.jsonl"
    first = write_jsonl(tmp_path / "first.jsonl", corpus(0, 30))
    assert dedup_cli("clean", first, "-o", tmp_path / "first.out.jsonl", "--store", store, "-q").returncode == 0
    second = write_jsonl(tmp_path / "second.jsonl", corpus(30, 30))
    # Killed once the store's journal is written (the first: the commit is decided), before
    # any output is renamed or the store's run ended.
    journal = tmp_path / ".memory.db.dedup-commit"
    killed_run("journal", journal, "clean", second, "-o", out, "--report", report, "--store", store)
    assert journal.exists() and not out.exists()
    assert articles_in(store) == 60  # decided: kept
    # The next run that writes the store completes the commit before its own work.
    third = write_jsonl(tmp_path / "third.jsonl", corpus(60, 30))
    done = dedup_cli("clean", third, "-o", tmp_path / "third.out.jsonl", "--store", store, "-q")
    assert done.returncode == 0, done.stderr.decode()
    assert "completed the interrupted commit" in done.stderr.decode()
    assert out.exists() and report.read_bytes().count(b"\n") == 10
    assert articles_in(store) == 90
    assert not [name for name in os.listdir(tmp_path) if name.startswith(".")]


def test_store_refuses_what_it_cannot_do(tmp_path):
    source = write_jsonl(tmp_path / "in.jsonl", corpus(0, 5))
    store = tmp_path / "memory.db"
    out = ["-o", tmp_path / "out.jsonl"]
    refusals = {
        ("--state", tmp_path / "s.state"): "--state and --store",
        ("--scope", "within"): "--store keeps the across-document memory",
    }
    for extra, message in refusals.items():
        refused = dedup_cli("clean", source, *out, "--store", store, *extra)
        assert refused.returncode == 2 and message in refused.stderr.decode(), refused.stderr.decode()
    assert not store.exists()
    folder = tmp_path / "folder"
    folder.mkdir()
    refused = dedup_cli("clean", source, *out, "--store", folder)
    assert refused.returncode == 2 and "is a folder" in refused.stderr.decode()
    assert dedup_cli("clean", source, *out, "--store", store, "--ngram", "4").returncode == 0
    # Options not given keep the store's values; those that only affect matching may change
    # from run to run (as with --state); what the stored fingerprints depend on may not.
    other = write_jsonl(tmp_path / "other.jsonl", corpus(5, 5))
    refused = dedup_cli("clean", other, *out, "--store", store, "--ngram", "5")
    assert refused.returncode == 2 and "other parameters (ngram=4) than given (ngram=5)" in refused.stderr.decode()
    assert dedup_cli("clean", other, *out, "--store", store, "--threshold", "0.5", "--scope", "both").returncode == 0
    with dedup.Deduplicator(scope="across", ngram=4, store=store):  # in use by this process
        refused = dedup_cli("clean", write_jsonl(tmp_path / "third.jsonl", corpus(10, 5)), *out, "--store", store)
    assert refused.returncode != 0 and "another dedup run uses this store" in refused.stderr.decode()
    with dedup.Deduplicator(scope="across", ngram=4, store=store) as opened:
        assert len(opened) == 10


def test_a_journal_of_another_commit_beside_the_store_does_not_decide_a_killed_run(tmp_path):
    store = tmp_path / "memory.db"
    first = write_jsonl(tmp_path / "first.jsonl", corpus(0, 30))
    assert dedup_cli("clean", first, "-o", tmp_path / "first.out.jsonl", "--store", store, "-q").returncode == 0
    # A journal the next run leaves alone (its writer reads as alive: this process).
    journal = tmp_path / ".memory.db.dedup-commit"
    from dedup.atomic import host_tag

    journal.write_text(json.dumps({"host": host_tag(), "pid": os.getpid(), "renames": []}))
    second = write_jsonl(tmp_path / "second.jsonl", corpus(30, 300))
    killed_run("added", 1, "clean", second, "-o", tmp_path / "second.out.jsonl", "--store", store)
    assert articles_in(store) == 30  # the journal there is not this run's


def test_an_interrupted_commit_is_completed_where_its_outputs_belong_from_any_folder(tmp_path):
    here, elsewhere = tmp_path / "here", tmp_path / "elsewhere"
    here.mkdir()
    elsewhere.mkdir()
    data = tmp_path / "data"
    data.mkdir()
    (data / "memory.db").touch()
    (here / "memory.db").symlink_to(data / "memory.db")  # the store through a link
    write_jsonl(here / "in.jsonl", corpus(0, 30))
    # Killed once the store's journal (beside the file itself) is written, with relative names.
    killed = subprocess.run(
        [sys.executable, "-c", KILL_AT, "journal", str(data / ".memory.db.dedup-commit"), "--", "clean", "in.jsonl",
         "-o", "out.jsonl", "--report", "report.jsonl", "--store", "memory.db"],
        env=ENV, capture_output=True, check=False, cwd=here,
    )
    assert killed.returncode == -9, killed.stderr.decode()
    write_jsonl(elsewhere / "more.jsonl", corpus(30, 30))
    done = dedup_cli("clean", "more.jsonl", "-o", "more.out.jsonl", "--store", data / "memory.db", "-q", cwd=elsewhere)
    assert done.returncode == 0, done.stderr.decode()
    assert (here / "out.jsonl").exists() and (here / "report.jsonl").exists()
    assert sorted(os.listdir(elsewhere)) == ["more.jsonl", "more.out.jsonl"]
    assert articles_in(data / "memory.db") == 60
    assert not [name for folder in (here, data) for name in os.listdir(folder) if name.startswith(".")]


def test_runs_of_a_store_are_checked(tmp_path):
    store = tmp_path / "memory.db"
    with dedup.Deduplicator(scope="across", store=store) as memory:
        memory.add_many([d["text"] for d in corpus(0, 10)], list(range(10)))
        memory.begin_run(tmp_path / "journal", "token-1")
        memory.add_many([d["text"] for d in corpus(10, 10)], list(range(10, 20)))
        with pytest.raises(ValueError, match="unfinished run"):
            memory.begin_run(tmp_path / "journal", "token-2")  # runs do not nest
        with pytest.raises(ValueError, match="during a run"):
            memory.save(tmp_path / "copy.db")  # its articles are not decided yet
        memory.end_run()
        memory.save(tmp_path / "copy.db")
    assert len(dedup.Deduplicator.load(tmp_path / "copy.db")) == 20
    # A run record that does not fit the store (inside a block of fingerprints) is a
    # damaged store: said, and nothing removed.
    with sqlite3.connect(store) as database:
        record = json.dumps({"start": 5, "decided_by": str(tmp_path / "missing"), "token": "t"})
        database.execute("INSERT INTO meta VALUES ('run', ?)", (record,))
    for _ in range(2):
        with pytest.raises(ValueError, match="damaged"):
            dedup.Deduplicator(scope="across", store=store)
    with sqlite3.connect(store) as database:
        assert database.execute("SELECT COUNT(*) FROM articles").fetchone()[0] == 20


def test_an_interrupted_checkpointed_run_holds_the_store_for_its_resumption_until_the_folder_goes(tmp_path):
    store, out = tmp_path / "memory.db", tmp_path / "out.jsonl"
    first = write_jsonl(tmp_path / "first.jsonl", corpus(0, 30))
    assert dedup_cli("clean", first, "-o", tmp_path / "first.out.jsonl", "--store", store, "-q").returncode == 0
    second = write_jsonl(tmp_path / "second.jsonl", corpus(30, 100))
    command = ["clean", second, "-o", out, "--store", store, "--checkpoint-every", "40", "-q"]
    killed_run("added", 2, *command)  # after the checkpoint at 40, documents of the next one added
    checkpoint = tmp_path / ".out.jsonl.dedup-checkpoint"
    done = json.loads((checkpoint / "checkpoint.json").read_text())["done"]
    assert 40 <= done < 100  # at the end of a chunk
    # Readers see what was committed; the store holds the checkpoint's documents for the
    # resumed command, and refuses others' until the folder goes.
    assert len(dedup.Deduplicator.load(store)) == 30
    with dedup.Deduplicator(scope="both", store=store) as opened:
        assert len(opened) == 30 + done
        with pytest.raises(ValueError, match="held for an interrupted run"):
            opened.add(article(999), doc_id="mine")
    other = dedup_cli("clean", write_jsonl(tmp_path / "other.jsonl", corpus(500, 5)), "-o", tmp_path / "o.jsonl",
                      "--store", store)
    assert other.returncode == 2 and "unfinished run" in other.stderr.decode() and "checkpoint" in other.stderr.decode()
    as_state = dedup_cli("clean", tmp_path / "other.jsonl", "-o", tmp_path / "o.jsonl", "--state", store)
    assert as_state.returncode == 2 and "held for an interrupted --store run" in as_state.stderr.decode()
    # Removing the folder gives the run up: the store goes back to before it.
    import shutil

    shutil.rmtree(checkpoint)
    assert articles_in(store) == 30
    # Killed again, then resumed: the outputs and store of a run never interrupted.
    killed_run("added", 2, *command)
    resumed = dedup_cli(*command)
    assert resumed.returncode == 0, resumed.stderr.decode()
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    assert dedup_cli("clean", first, "-o", fresh / "first.out.jsonl", "--store", fresh / "memory.db", "-q").returncode == 0
    assert dedup_cli("clean", second, "-o", fresh / "out.jsonl", "--store", fresh / "memory.db", "-q").returncode == 0
    assert out.read_bytes() == (fresh / "out.jsonl").read_bytes()
    assert articles_in(store) == 130 and not checkpoint.exists()


def test_a_checkpointed_run_failed_by_its_data_gives_its_checkpoint_up(tmp_path):
    store, out = tmp_path / "memory.db", tmp_path / "out.jsonl"
    first = write_jsonl(tmp_path / "first.jsonl", corpus(0, 30))
    assert dedup_cli("clean", first, "-o", tmp_path / "first.out.jsonl", "--store", store, "-q").returncode == 0
    # 100 good records, then a broken one: the rerun would fail there again.
    broken = write_jsonl(tmp_path / "second.jsonl", corpus(30, 100), tail=b'{"id": 999, "text": \n')
    failed = dedup_cli("clean", broken, "-o", out, "--store", store, "--checkpoint-every", "40")
    assert failed.returncode == 1 and b"second.jsonl:101" in failed.stderr
    assert not (tmp_path / ".out.jsonl.dedup-checkpoint").exists()
    assert articles_in(store) == 30
    # The same with --state: its checkpoint goes too.
    failed = dedup_cli("clean", broken, "-o", out, "--state", tmp_path / "m.state", "--checkpoint-every", "40")
    assert failed.returncode == 1 and not (tmp_path / ".out.jsonl.dedup-checkpoint").exists()


def test_a_commit_whose_temporary_was_removed_commits_nothing_not_even_the_store(tmp_path):
    from dedup.cli.commit import AtomicOutputs
    from dedup.cli.errors import OutputError

    store = tmp_path / "memory.db"
    with dedup.Deduplicator(scope="across", store=store) as memory:
        outputs = AtomicOutputs()
        memory.begin_run(*outputs.store_run(str(store)))
        memory.add(article(1), doc_id="new")
        handle = outputs.file(str(tmp_path / "out.jsonl"))
        handle.write(b"{}\n")
        handle.close()
        temporary = next(name for name in os.listdir(tmp_path) if name.startswith(".out.jsonl"))
        os.unlink(tmp_path / temporary)  # e.g. a checkpoint folder removed during the run
        with pytest.raises(OutputError, match="was removed"):
            outputs.commit()
        memory.roll_back_run()
        assert len(memory) == 0 and not (tmp_path / "out.jsonl").exists()


def test_state_saved_over_a_store_a_killed_run_left_keeps_what_it_saved(tmp_path):
    store = tmp_path / "memory.db"
    first = write_jsonl(tmp_path / "first.jsonl", corpus(0, 30))
    assert dedup_cli("clean", first, "-o", tmp_path / "first.out.jsonl", "--store", store, "-q").returncode == 0
    killed_run("added", 1, "clean", write_jsonl(tmp_path / "killed.jsonl", corpus(100, 200)), "-o",
               tmp_path / "killed.out.jsonl", "--store", store)
    assert (tmp_path / "memory.db-wal").exists()  # the killed run's log, beside the file
    third = write_jsonl(tmp_path / "third.jsonl", corpus(30, 20))
    assert dedup_cli("clean", third, "-o", tmp_path / "third.out.jsonl", "--state", store, "-q").returncode == 0
    # The saved state is the file now, not the old store's log applied over it.
    assert not (tmp_path / "memory.db-wal").exists()
    loaded = dedup.Deduplicator.load(store)
    assert len(loaded) == 50 and loaded.remembers(49) and not loaded.remembers(100)


def test_a_refused_addition_to_a_held_store_can_be_tried_again(tmp_path):
    store = tmp_path / "memory.db"
    first = write_jsonl(tmp_path / "first.jsonl", corpus(0, 30))
    assert dedup_cli("clean", first, "-o", tmp_path / "first.out.jsonl", "--store", store, "-q").returncode == 0
    second = write_jsonl(tmp_path / "second.jsonl", corpus(30, 100))
    killed_run("added", 2, "clean", second, "-o", tmp_path / "out.jsonl", "--store", store, "--checkpoint-every", "40")
    with dedup.Deduplicator(scope="across", store=store) as opened:
        for _ in range(2):  # the same message each time, not "id used before" (it was never added)
            with pytest.raises(ValueError, match="held for an interrupted run"):
                opened.add(article(999), doc_id="mine")
