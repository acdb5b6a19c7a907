"""Checkpoints of a long ``dedup clean`` run (``--checkpoint-every N``), and its resumption.

A checkpointed run writes its outputs into a folder next to ``-o``,
``.OUT.dedup-checkpoint/``, instead of hidden temporaries. Every N input records (at the
end of a chunk) it makes the outputs written so far durable and records a checkpoint:
how many input records are done, the length of each output, the counts of the summary
and a saved copy of the across-document memory. ``checkpoint.json`` is replaced last
(atomically), so the checkpoint is the last one completely written.

Rerunning the same command (same input file, unchanged; same options; same ``--state``
file) resumes: the outputs are cut back to the checkpoint's lengths, the memory is
reloaded, the records already done are read past (their ids still count for
uniqueness), and the run goes on. Processing depends only on the input and the memory,
so the final outputs are byte for byte those of an uninterrupted run. Any other command
writing to the same ``-o`` says what differs and starts nothing. The end of the run
commits the outputs as one (see ``dedup.cli.commit.AtomicOutputs.commit``) and removes the folder.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import errno
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from typing import Any, BinaryIO

from .. import __version__
from ..atomic import atomic_write, create_temporary, discard_temporary, writes_in_place, writing
from ..locking import InUseError, Lock, take_lock
from .commit import AtomicOutputs
from .errors import OutputError, UsageError
from .inputs import STDIO, Input, split_suffixes
from .progress import Stats

_PROGRESS = "checkpoint.json"
# Ids of the records a resumed run reads past, taken this many at a time.
_IDS_AT_A_TIME = 4096
# Options that change nothing in the outputs: a resumed run may give them differently.
_FREE_OPTIONS = ("quiet", "jobs")


def checkpoint_folder(output: str) -> str:
    folder, name = os.path.split(os.path.abspath(output))
    return os.path.join(folder, f".{name}.dedup-checkpoint")


def run_identity(args: argparse.Namespace, inp: Input) -> dict:
    """What a resumed run must share with the one that made the checkpoint."""
    options = {k: v for k, v in sorted(vars(args).items()) if k not in _FREE_OPTIONS and not callable(v)}
    for name in ("input", "output", "report", "rejects", "state", "store"):
        if options.get(name) not in (None, STDIO):
            options[name] = os.path.abspath(options[name])
    identity = {"dedup": __version__, "options": options, "input": _file_identity(inp.files[0].path)}
    identity["state file"] = _file_identity(args.state) if args.state and os.path.exists(args.state) else None
    return json.loads(json.dumps(identity, default=str))  # as read back from the file


def _file_identity(path: str) -> dict:
    status = os.stat(path)
    return {"size": status.st_size, "modified_ns": status.st_mtime_ns, "inode": status.st_ino}


def _differences(then: dict, now: dict, committed: bool = False) -> list[str]:
    """What differs between two run identities (``committed``: the first run replaced
    its --state file, so that one may differ)."""
    found = []
    if then.get("dedup") != now["dedup"]:
        found.append(f"dedup version ({then.get('dedup')} then, {now['dedup']} now)")
    if then.get("input") != now["input"]:
        found.append("the input file changed")
    if then.get("state file") != now["state file"] and not committed:
        found.append("the --state file changed")
    old, new = then.get("options", {}), now["options"]
    for name in sorted(set(old) | set(new)):
        if old.get(name) != new.get(name):
            found.append(f"--{name.replace('_', '-')} ({old.get(name)!r} then, {new.get(name)!r} now)")
    return found


def check_checkpointable(args: argparse.Namespace, inp: Input) -> None:
    """Refuse --checkpoint-every where a run could not be resumed byte for byte."""
    if inp.is_dir or inp.files[0].path == STDIO:
        raise UsageError("--checkpoint-every needs one input file (a folder or stdin cannot be resumed)")
    if inp.files[0].format not in ("jsonl", "text"):
        raise UsageError(f"--checkpoint-every needs a JSONL or text input file; {inp.files[0].path} is "
                         f"{inp.files[0].format}")
    for flag, path in (("-o", args.output), ("--report", args.report), ("--rejects", args.rejects)):
        if path is None:
            continue
        if path == STDIO:
            raise UsageError(f"--checkpoint-every needs {flag} to name a file, not stdout")
        fmt, compression = split_suffixes(path)
        if compression is not None or fmt == "parquet" or inp.files[0].format == "parquet":
            raise UsageError(f"--checkpoint-every needs uncompressed JSONL or text outputs; {flag} {path} is not")


class Checkpoint:
    """The checkpoint folder of one run: its outputs, its last checkpoint and its memory."""

    def __init__(self, args: argparse.Namespace, inp: Input) -> None:
        self.every = args.checkpoint_every
        self.output = args.output
        self.folder = checkpoint_folder(args.output)
        self.identity = run_identity(args, inp)
        self.done = 0  # input records (and bad records) done at the last checkpoint
        self.lengths: dict[str, int] = {}
        self.stats: dict[str, Any] = {}
        self.memory: str | None = None  # the saved across-document memory, in the folder
        # With --store, the memory stays in the store: the token of this run of it, and
        # the documents it held at the checkpoint resumed from.
        self.store_token: str | None = None
        self.store_count = 0
        self.store_path = getattr(args, "store", None)
        self.finished = False  # the checkpointed run had committed its outputs
        self.lock: Lock | None = None  # on the folder: one run at a time writes it
        self._since = 0

    @classmethod
    def open(cls, args: argparse.Namespace, inp: Input) -> Checkpoint | None:
        """The checkpoint to resume, a new one, or None (no --checkpoint-every and none to resume).

        Raises ``UsageError`` when a checkpoint of another run is there: nothing starts.
        """
        wanted = getattr(args, "checkpoint_every", None)
        folder = checkpoint_folder(args.output) if args.output not in (None, STDIO) else None
        # The folder may be that of a run still going (the same command started twice):
        # hold it before reading, cutting back or removing anything in it.
        lock = _lock_folder(folder, args.output) if folder and (wanted or os.path.isdir(folder)) else None
        try:
            checkpoint = cls._open(args, inp, wanted, folder)
        except BaseException:
            if lock is not None:
                lock.release()
            raise
        if checkpoint is None:
            if lock is not None:
                lock.release()
        else:
            checkpoint.lock = lock
        return checkpoint

    @classmethod
    def _open(cls, args: argparse.Namespace, inp: Input, wanted, folder: str | None) -> Checkpoint | None:
        progress = _read_progress(folder) if folder else None
        if progress is not None and not any(os.path.isfile(os.path.join(folder, n)) for n in progress["lengths"]):
            # Its outputs were committed (renamed away; dedup.cli.commit completes an interrupted
            # commit first) and only the folder's removal was left: that run had ended.
            if wanted and not _differences(progress["identity"], cls(args, inp).identity, committed=True):
                checkpoint = cls(args, inp)
                checkpoint.finished = True
                return checkpoint
            shutil.rmtree(folder, ignore_errors=True)
            progress = None
        if progress is None and not wanted:
            return None
        if progress is not None and not wanted:
            raise UsageError(
                f"-o {args.output} has the checkpoint of an interrupted run in {folder}; rerun that command "
                "(with its --checkpoint-every) to resume it, or remove the folder to start over"
            )
        check_checkpointable(args, inp)
        checkpoint = cls(args, inp)
        if progress is None:
            shutil.rmtree(folder, ignore_errors=True)  # the rest of a run killed before its first checkpoint
            return checkpoint
        differences = _differences(progress["identity"], checkpoint.identity)
        if differences:
            raise UsageError(
                f"cannot resume the interrupted run whose checkpoint is in {folder}: {'; '.join(differences)}. "
                "Rerun the same command on the same input to resume it, or remove the folder to start over"
            )
        checkpoint.done, checkpoint.lengths = progress["done"], progress["lengths"]
        checkpoint.stats, checkpoint.memory = progress["stats"], progress["memory"]
        if progress["store"] is not None:
            checkpoint.store_token, checkpoint.store_count = progress["store"]["token"], progress["store"]["count"]
        return checkpoint

    @property
    def resuming(self) -> bool:
        return self.done > 0

    def slot(self, name: str) -> str:
        return os.path.join(self.folder, name)

    def memory_path(self) -> str | None:
        return self.slot(self.memory) if self.memory else None

    def restore(self, stats: Stats) -> None:
        """Put the counts of the checkpoint into ``stats`` (files are counted again as they start)."""
        for name, value in self.stats.items():
            if name != "files":
                setattr(stats, name, tuple(value) if name == "kinds" else value)

    def skip_done(self, stream: Iterator[tuple[str, Any, Any]], seen: Any) -> Iterator[tuple[str, Any, Any]]:
        """``stream`` without the records (and bad records) the checkpoint has done; their
        ids still go through ``seen.check_all`` (a few thousand at a time), so a later
        repeated id is still found."""
        skipped, done = 0, self.done  # the checkpoint resumed from: later ones move self.done
        waiting: list = []  # records skipped whose ids are not taken yet

        def take_ids() -> None:
            if waiting:
                seen.check_all(waiting)
                waiting.clear()

        for kind, payload, context in stream:
            if kind in ("record", "error") and skipped < done:
                skipped += 1
                if kind == "record":
                    waiting.append(payload)
                if len(waiting) >= _IDS_AT_A_TIME:
                    take_ids()
                continue
            take_ids()
            yield kind, payload, context
        take_ids()

    def advance(self, records: int) -> bool:
        """``records`` more input records done; is a checkpoint due?"""
        self._since += records
        return self._since >= self.every

    def record(self, outputs: "CheckpointOutputs", stats: Stats, done: int, memory=None) -> None:
        """Make the outputs so far durable and record them with ``done`` and ``memory`` (a
        Deduplicator: saved into the folder, or with ``--store`` a checkpoint of its run,
        which this checkpoint's file decides)."""
        lengths = outputs.sync()
        previous = self.memory
        name = store = None
        if memory is not None and self.store_token:
            point = uuid.uuid4().hex
            with writing(self.store_path):  # a full disk there is one about the store
                memory.checkpoint_run(self.slot(_PROGRESS), point)
            store = {"token": self.store_token, "point": point, "count": len(memory)}
        # A full disk here is one about -o (the folder next to it), never the hidden path.
        with writing(self.output):
            if memory is not None and not self.store_token:
                name = f"memory-{done}.dedup"
                memory.save(self.slot(name))
            progress = {"identity": self.identity, "done": done, "lengths": lengths,
                        "stats": dataclasses.asdict(stats), "memory": name, "store": store}
            body = json.dumps(progress, default=str).encode("utf-8")
            atomic_write(self.slot(_PROGRESS), lambda handle: handle.write(body))
        if previous and previous != name:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.slot(previous))
        self.done, self.lengths, self.memory, self._since = done, lengths, name, 0

    def remove(self) -> None:
        # checkpoint.json last: a run killed while removing the folder of a run that had
        # committed still reads as that run, finished (see open), not as a new one.
        with contextlib.suppress(OSError):
            for name in os.listdir(self.folder):
                if name != _PROGRESS and not os.path.isdir(self.slot(name)):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(self.slot(name))
        shutil.rmtree(self.folder, ignore_errors=True)

    def release(self) -> None:
        """Let go of the folder (after :meth:`remove` or :meth:`abandon`)."""
        if self.lock is not None:
            self.lock.release()
            self.lock = None

    def abandon(self, give_up: bool = False) -> None:
        """After a failed run: keep the folder only when there is a checkpoint to resume
        and the run is not ``give_up`` (it would fail the same way again)."""
        if give_up or not self.done:
            self.remove()


def _lock_folder(folder: str, output: str) -> Lock:
    try:
        return take_lock(folder)
    except InUseError as error:
        raise OutputError(f"-o {output}: the checkpoint folder {error}: another dedup run writes this output; "
                          "wait for it to end") from None
    except OSError as error:
        raise OutputError(f"cannot lock the checkpoint folder of -o {output}: {error.strerror or error}") from None


def _read_progress(folder: str) -> dict | None:
    path = os.path.join(folder, _PROGRESS)
    if not os.path.isfile(path):
        return None
    try:
        with open(path, "rb") as handle:
            progress = json.loads(handle.read().decode("utf-8"))
        found = {key: progress[key] for key in ("identity", "done", "lengths", "stats", "memory")}
        store = progress.get("store")  # with --store
        if store is not None and not (isinstance(store, dict) and isinstance(store.get("token"), str)
                                      and type(store.get("count")) is int):
            raise ValueError("its --store record is damaged")
        return {**found, "store": store}
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise UsageError(f"cannot read the checkpoint in {folder}: {error}; remove the folder to start over") from None


class CheckpointOutputs(AtomicOutputs):
    """Outputs written into the checkpoint folder under fixed names, so that a resumed run
    finds them; committed (renamed into place, as one) like any others. An aborted run
    keeps them for a rerun to resume."""

    def __init__(self, checkpoint: Checkpoint) -> None:
        super().__init__()
        self._checkpoint = checkpoint
        self._slots: dict[str, tuple[BinaryIO, str]] = {}

    def file(self, destination: str) -> BinaryIO:
        if os.path.isdir(destination):
            raise UsageError(f"output {destination} is a folder; name a file")
        try:
            os.makedirs(self._checkpoint.folder, exist_ok=True)
        except OSError as error:
            raise OutputError(f"cannot write {destination}: {error.strerror or error}") from None
        self._check_renamable(destination)
        name = f"output-{len(self._slots)}"
        path = self._checkpoint.slot(name)
        resumed = name in self._checkpoint.lengths
        if resumed:  # cut back to the checkpoint
            with writing(destination):
                os.truncate(path, self._checkpoint.lengths[name])
        handle = self.file_at(path, destination, append=resumed)
        self._slots[name] = (handle, destination)
        return handle

    def _check_renamable(self, destination: str) -> None:
        """Refuse an output the commit could not rename into place from the folder (another
        file system): found at the end of the run, it would fail the commit half done."""
        if writes_in_place(destination) or os.path.dirname(os.path.abspath(destination)) == os.path.dirname(
            self._checkpoint.folder
        ):
            return
        with writing(destination):
            probe = create_temporary(destination)
        inside = self._checkpoint.slot(os.path.basename(probe))
        try:
            os.rename(probe, inside)
        except OSError as error:
            discard_temporary(probe)
            if error.errno == errno.EXDEV:
                raise UsageError(
                    f"--checkpoint-every keeps the outputs in {self._checkpoint.folder} until the run ends, and "
                    f"{destination} is on another file system; write it beside -o {self._checkpoint.output}"
                ) from None
            raise OutputError(f"cannot write {destination}: {error.strerror or error}") from None
        discard_temporary(inside)

    def sync(self) -> dict[str, int]:
        """Flush every output to disk; their lengths by slot name."""
        lengths = {}
        for name, (handle, destination) in self._slots.items():
            with writing(destination):
                handle.flush()
                os.fsync(handle.fileno())
                lengths[name] = os.fstat(handle.fileno()).st_size
        return lengths
