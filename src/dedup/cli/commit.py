"""A run's outputs, committed as one.

Outputs are written to a hidden temporary file (or folder) next to the destination and
renamed into place only when the whole run succeeded (:class:`AtomicOutputs`, built on
:mod:`dedup.atomic`), so an interrupted run never leaves a half-written file under the
output name, and the next run removes what a killed one left behind. An output that is
no regular file (a device, a FIFO, ``/dev/stdout``) is written straight into instead.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import uuid
from typing import IO, BinaryIO

from ..atomic import (
    atomic_write,
    create_temporary,
    discard_temporary,
    finish_temporary,
    fsync_directory,
    host_tag,
    open_in_place,
    open_output_file,
    writer_gone,
    writes_in_place,
    writing,
)
from ..store import end_store_run
from .errors import InputError, OutputError, UsageError
from .inputs import STDIO


class AtomicOutputs:
    """Temporary files and folders that become the real outputs only on :meth:`commit`.

    Each output is created as a hidden ``.NAME.dedup-HOST-PID-XXXX.tmp`` next to its
    destination (same file system, so the final ``os.replace`` is atomic), with the mode
    the destination will have. :meth:`abort` removes them; so does the next run when
    this one was killed (:func:`dedup.atomic.remove_stale_temporaries`). Write errors
    (a full disk) name the destination.
    """

    def __init__(self) -> None:
        # (temporary, destination, kind): kind "file", "folder", "saved" (a temporary
        # folder holding the file a library save writes, see path()), "kept" (see
        # file_at()), or "store" (a run of an on-disk store, see store_run()).
        self._pending: list[tuple[str, str, str]] = []
        self._handles: list[IO] = []
        self._journals: list[str] = []  # written: the commit is decided, its renames must all happen

    def _temporary(self, destination: str, kind: str) -> str:
        folder = os.path.dirname(os.path.abspath(destination))
        if not os.path.isdir(folder):
            raise UsageError(f"output folder does not exist: {folder}")
        with writing(destination):
            temporary = create_temporary(destination, folder=kind != "file")
        self._pending.append((temporary, destination, kind))
        return temporary

    def _open(self, target: str | int, destination: str, mode: str = "wb") -> BinaryIO:
        handle = open_output_file(target, destination, mode)
        self._handles.append(handle)
        return handle

    def file(self, destination: str) -> BinaryIO:
        """A binary stream whose content becomes ``destination`` on commit (stdout for ``-``).

        A device, FIFO, socket or ``/dev/stdout`` (:func:`dedup.atomic.writes_in_place`)
        is written straight into as the run goes: it cannot be replaced.
        """
        if destination == STDIO:
            return sys.stdout.buffer
        if os.path.isdir(destination):
            raise UsageError(f"output {destination} is a folder; name a file")
        if writes_in_place(destination):
            with writing(destination):
                return self._open(open_in_place(destination), destination)
        return self._open(self._temporary(destination, "file"), destination)

    def file_at(self, path: str, destination: str, *, append: bool = False) -> BinaryIO:
        """A stream writing ``path``, a file the caller names and keeps (:meth:`abort`
        leaves it), which becomes ``destination`` on commit; ``append`` continues it."""
        handle = self._open(path, destination, "ab" if append else "wb")
        self._pending.append((path, destination, "kept"))
        return handle

    def path(self, destination: str) -> str:
        """A path that becomes ``destination`` on commit, for a save that writes its own file.

        The path lies in a hidden temporary folder next to ``destination`` (so a save that
        makes temporaries of its own leaves them where the next run finds them); the
        commit gives it the mode of the file it replaces. Wrap the
        writing in :func:`dedup.atomic.writing` so that its errors name ``destination``.
        """
        folder = self._temporary(destination, "saved")
        return os.path.join(folder, os.path.basename(destination))

    def folder(self, destination: str) -> str:
        """A temporary folder whose content becomes ``destination`` on commit."""
        if os.path.exists(destination) and not os.path.isdir(destination):
            raise UsageError(f"output {destination} is a file; a folder input needs a folder output")
        return self._temporary(destination, "folder")

    def file_in(self, folder: str, relpath: str) -> BinaryIO:
        """A stream for ``relpath`` inside a temporary :meth:`folder` (sub-folders are created)."""
        destination = next(d for t, d, kind in self._pending if kind == "folder" and t == folder)
        final = os.path.join(destination, relpath)
        temporary = os.path.join(folder, relpath)
        with writing(final):
            os.makedirs(os.path.dirname(temporary), exist_ok=True)
            return self._open(temporary, final)

    def store_run(self, store: str, token: str | None = None) -> tuple[str, str]:
        """Commit the run of the on-disk store ``store`` with the outputs: the run must be
        begun (:meth:`dedup.Deduplicator.begin_run`) with the (journal, token) this
        returns: the commit journal beside the store, and a token of this commit that the
        journal holds. Call it before any other output is opened: the store's journal is
        then written first, so that it exists and holds the token says the commit was
        decided, and the commit ends the run before it removes the journals. ``token``:
        the token of a run begun earlier (a resumed checkpoint's), else a new one."""
        # Beside the file itself (a link's target): found from any folder, whatever name
        # leads to the store.
        store = os.path.realpath(store)
        token = token or uuid.uuid4().hex
        self._pending.insert(0, (token, store, "store"))
        return commit_journal_path(store), token

    @property
    def decided(self) -> bool:
        """Whether a commit began its renames: its outputs will all be put in place."""
        return bool(self._journals)

    def commit(self) -> None:
        """Rename every temporary over its destination, as one.

        With more than one output, a journal listing the renames is written next to
        every destination first (see :func:`complete_interrupted_commit`): a process
        killed between two renames leaves it, and the next run writing any of these
        outputs completes the renames before anything else, so the outputs never stay a
        mix of this run's and the previous one's.
        """
        for handle in self._handles:
            handle.close()  # flushes, fsyncs (dedup.atomic.OutputFile.close); a closed one already did
        for temporary, destination, kind in self._pending:
            if kind != "store" and not os.path.lexists(temporary):  # removed by someone: nothing is committed
                raise OutputError(f"cannot write {destination}: its temporary {temporary} was removed")
        self._journals = _write_commit_journals(self._pending) if len(self._pending) > 1 else []
        for temporary, destination, kind in self._pending:
            with writing(destination):
                _finish_output(temporary, destination, kind)
        _remove_commit_journals(self._journals)
        self._journals = []
        self._pending.clear()
        self._handles.clear()

    def abort(self) -> None:
        for handle in self._handles:
            try:
                handle.close()
            except OSError:
                pass
        if self._journals:
            # Stopped (Ctrl-C, SIGTERM, an error) between two renames of the commit: some
            # outputs are already in place, so the others must follow. Done now if possible;
            # else the journal and the temporaries it names stay for the next run to complete.
            try:
                complete_interrupted_commit([destination for _, destination, _ in self._pending], ours=True)
            except (OSError, InputError):
                pass
            self._journals = []
            self._pending.clear()
            self._handles.clear()
            return
        for temporary, _, kind in self._pending:
            if kind not in ("kept", "store"):
                discard_temporary(temporary)
        self._pending.clear()
        self._handles.clear()


def _finish_output(temporary: str, destination: str, kind: str) -> None:
    """Put one complete temporary in place (kinds as in ``AtomicOutputs._pending``)."""
    if kind == "saved":
        finish_temporary(os.path.join(temporary, os.path.basename(destination)), destination)
        discard_temporary(temporary)
    elif kind == "store":  # the store keeps the run's articles; "temporary" is the run's token
        try:
            end_store_run(destination, temporary)
        except ValueError as error:
            raise InputError(f"cannot end the run of the store {destination}: {error}") from None
    else:  # "file", "folder", "kept"
        finish_temporary(temporary, destination)


def commit_journal_path(destination: str) -> str:
    """Where the journal of a commit that includes ``destination`` lies: ``.NAME.dedup-commit`` next to it."""
    folder, name = os.path.split(os.path.abspath(destination))
    return os.path.join(folder, f".{name}.dedup-commit")


def _write_commit_journals(pending: list[tuple[str, str, str]]) -> list[str]:
    # Absolute paths: the next run may complete the commit from another folder.
    renames = [(temporary if kind == "store" else os.path.abspath(temporary), os.path.abspath(destination), kind)
               for temporary, destination, kind in pending]
    body = json.dumps({"host": host_tag(), "pid": os.getpid(), "renames": renames}).encode("utf-8")
    journals = []
    for _, destination, _ in pending:  # one next to every output: a run writing any of them finds it
        journals.append(commit_journal_path(destination))
        with writing(destination):
            atomic_write(journals[-1], lambda handle: handle.write(body))
    return journals


def _remove_commit_journals(journals: list[str]) -> None:
    for journal in journals:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(journal)
    for folder in {os.path.dirname(journal) for journal in journals}:
        fsync_directory(folder)


def complete_interrupted_commit(destinations: list[str], ours: bool = False) -> list[str]:
    """Finish the commit of a run killed between two renames, when it wrote any of ``destinations``.

    Every rename its journal lists whose temporary is still there is done now (each is
    complete: the journal is written only once all of them are), then the journal goes.
    A commit still in progress (its process runs) is left alone. Returns the destinations
    put in place. Call it before creating any temporary for ``destinations`` (creating
    one removes the temporaries of dead processes).
    """
    finished: list[str] = []
    for destination in destinations:
        journal = commit_journal_path(destination)
        if not os.path.isfile(journal):
            continue
        try:
            with open(journal, "rb") as handle:
                entry = json.loads(handle.read().decode("utf-8"))
            renames = [(str(t), str(d), str(k)) for t, d, k in entry["renames"]]
            host, pid = str(entry["host"]), int(entry["pid"])
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise InputError(f"cannot read {journal}, the journal of an interrupted commit: {error}") from None
        if not (ours and pid == os.getpid()) and not writer_gone(journal, host, pid):
            continue
        for temporary, target, kind in renames:
            source = os.path.join(temporary, os.path.basename(target)) if kind == "saved" else temporary
            if kind == "store" or os.path.lexists(source):
                with writing(target):
                    _finish_output(temporary, target, kind)
                finished.append(target)
        _remove_commit_journals([commit_journal_path(target) for _, target, _ in renames])
    return finished
