"""Files replaced whole: the one home of atomic file writing.

Every write goes to a temporary file (or folder) next to its destination, named
``.NAME.dedup-HOST-PID-XXXXXXXX.tmp`` so it can be recognised, and is renamed over the
destination only once complete and on disk: a reader, or a process killed mid-write,
sees the old file or the new one, never a half-written one. A temporary left behind by a
killed process (on this host, its PID no longer runs) is removed by the next write to the
same destination; one from another host (a shared file system), once it is a day old.

New files get the mode the umask allows (as ``open`` would give them); a file that
replaces another keeps the mode of the one it replaces.

Only regular files are replaced. A destination that is a character or block device, a
FIFO, a socket, or a name for an open descriptor (``/dev/stdout``, ``/dev/fd/N``,
``/proc/self/fd/N``) is written into instead (:func:`writes_in_place`): renaming over it
would put a regular file in its place, and whoever reads it would get nothing.

Write errors name the destination, never the temporary (:func:`write_error`,
:func:`writing`, :class:`OutputFile`). Use :func:`atomic_write` for a file written
through a handle, :func:`atomic_create` for one a library writes at a path of its own
(SQLite). The command's outputs, committed as one at the end of a run
(:mod:`dedup.cli.commit`), are built on the same temporaries and renames.

>>> import os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "notes.txt")
>>> atomic_write(path, lambda handle: handle.write(b"complete"))
>>> open(path, "rb").read(), os.listdir(os.path.dirname(path))
(b'complete', ['notes.txt'])
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import re
import shutil
import socket
import stat
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import BinaryIO

__all__ = [
    "OutputFile",
    "atomic_create",
    "atomic_write",
    "create_temporary",
    "current_umask",
    "discard_temporary",
    "finish_temporary",
    "fsync_directory",
    "host_tag",
    "open_in_place",
    "open_output_file",
    "remove_stale_temporaries",
    "set_final_mode",
    "write_error",
    "writer_gone",
    "writes_in_place",
    "writing",
]

_TEMP_MARK = ".dedup-"
_TEMP_SUFFIX = ".tmp"
# A temporary of another host cannot be checked for a live process: removed only this old.
_FOREIGN_TEMPORARY_SECONDS = 24 * 3600


# --------------------------------------------------------------------------- special files

# The folder of a process' open descriptors: /proc/PID/fd (also reached as /proc/self/fd,
# /dev/fd, and /proc/PID/task/TID/fd for one thread).
_DESCRIPTOR_FOLDER = re.compile(r"/proc/(\d+)(/task/\d+)?/fd")
_MAX_LINKS = 40  # as many symbolic links as Linux follows in one path


def _descriptor_entry(path: str) -> tuple[int, str] | None:
    """(pid, entry name) when ``path`` leads, through symbolic links, to an entry of a
    process' descriptor folder (``/dev/stdout`` is a link to ``/proc/self/fd/1``)."""
    path = os.path.abspath(path)
    for _ in range(_MAX_LINKS):
        folder = os.path.realpath(os.path.dirname(path))
        found = _DESCRIPTOR_FOLDER.fullmatch(folder)
        if found:
            return int(found.group(1)), os.path.basename(path)
        try:
            target = os.readlink(path)
        except OSError:  # not a link (or gone): the path names an ordinary entry
            return None
        path = os.path.join(folder, target)  # an absolute target replaces the folder
    return None


def writes_in_place(destination: str | os.PathLike) -> bool:
    """Whether a write to ``destination`` goes straight into it instead of replacing it.

    True for an existing destination that is no regular file and no folder (a character
    or block device such as ``/dev/null``, a FIFO, a socket) and for a name of an open
    descriptor (``/dev/stdout``, ``/dev/fd/3``, ``/proc/self/fd/1``), whatever that
    descriptor is open on. Such a write is not atomic: a failed run may have written part
    of its output there.

    >>> writes_in_place("/dev/null"), writes_in_place("/dev/stdout")
    (True, True)
    """
    destination = os.fspath(destination)
    if _descriptor_entry(destination) is not None:
        return True
    try:
        mode = os.stat(destination).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def open_in_place(destination: str | os.PathLike) -> int:
    """A descriptor open for writing into ``destination``, for which :func:`writes_in_place` holds.

    A name of one of this process' own descriptors (``/dev/stdout``) gives a duplicate of
    it: the output goes where that descriptor writes, at its position, as ``>&1`` would.
    Anything else is opened for writing (a FIFO blocks until a reader opens it).
    """
    destination = os.fspath(destination)
    entry = _descriptor_entry(destination)
    if entry is not None and entry[0] == os.getpid() and entry[1].isdigit():
        return os.dup(int(entry[1]))
    # O_TRUNC empties a regular file behind another process' descriptor; devices and FIFOs ignore it.
    return os.open(destination, os.O_WRONLY | os.O_TRUNC | getattr(os, "O_NOCTTY", 0))


def _copy_into(source: str, destination: str) -> None:
    """Write the content of file ``source`` into ``destination`` (see :func:`open_in_place`)."""
    with open(source, "rb") as reader, open(open_in_place(destination), "wb") as writer:
        shutil.copyfileobj(reader, writer)


# --------------------------------------------------------------------------- temporaries


def _temp_prefix(destination: str) -> str:
    return f".{os.path.basename(destination)}{_TEMP_MARK}"


def _temp_pattern(destination: str) -> re.Pattern:
    # HOST may hold "-"; PID and the random part cannot, so they are the last two fields.
    # A temporary SQLite database may have a rollback journal or WAL files next to it.
    return re.compile(re.escape(_temp_prefix(destination)) + r"(.+)-(\d+)-[A-Za-z0-9_]+\.(tmp|old)(-journal|-wal|-shm)?$")


def host_tag() -> str:
    """This machine's name as it appears in temporary names (letters, digits, ``.``, ``_``, ``-``)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", socket.gethostname())[:64] or "host"


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. PermissionError: it runs, under another user
        return True
    return True


def _is_stale(path: str, host: str, pid: int) -> bool:
    if host == host_tag():
        return not _process_alive(pid)
    try:
        return time.time() - os.lstat(path).st_mtime > _FOREIGN_TEMPORARY_SECONDS
    except OSError:
        return False


def writer_gone(path: str, host: str, pid: int) -> bool:
    """Is the process that wrote ``path`` (named by ``host`` and ``pid``) gone?

    On this host: its PID no longer runs. On another (a shared file system): ``path``
    is a day old.
    """
    return _is_stale(path, host, pid)


def remove_stale_temporaries(destination: str | os.PathLike) -> list[str]:
    """Remove temporaries of ``destination`` left by processes that no longer run.

    A temporary of a process that is still running (another save to the same target in
    progress) is left alone. A previous folder moved aside (``.old``) by a process killed
    before its replacement was in place is put back when ``destination`` is missing.
    Returns the paths removed.
    """
    destination = os.fspath(destination)
    folder = os.path.dirname(os.path.abspath(destination))
    pattern = _temp_pattern(destination)
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        match = pattern.match(name)
        stale = os.path.join(folder, name)
        if match is None or not _is_stale(stale, match.group(1), int(match.group(2))):
            continue
        if match.group(3) == "old" and match.group(4) is None and not os.path.lexists(destination):
            try:
                os.rename(stale, destination)
            except OSError:
                pass
            continue
        try:
            if os.path.isdir(stale) and not os.path.islink(stale):
                shutil.rmtree(stale)
            else:
                os.unlink(stale)
        except OSError:
            continue  # removed meanwhile, or not ours to remove: the next write tries again
        removed.append(stale)
    return removed


def current_umask() -> int:
    """The process umask, read without changing it where the platform allows."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # not thread-safe, hence only the fallback
    os.umask(mask)
    return mask


def create_temporary(destination: str | os.PathLike, *, folder: bool = False) -> str:
    """Create an empty temporary file (or folder) next to ``destination``; returns its path.

    Stale temporaries of the same destination are removed first. The temporary is
    private (0600, 0700) while it is written; :func:`finish_temporary` (or
    :func:`set_final_mode` for a folder) gives it the destination's mode. The temporary
    of a destination written in place (:func:`writes_in_place`, e.g. ``/dev/null``) lies in
    the system's temporary folder: nothing is ever renamed over such a destination.
    """
    destination = os.fspath(destination)
    prefix = f"{_temp_prefix(destination)}{host_tag()}-{os.getpid()}-"
    if not folder and writes_in_place(destination):
        directory = None  # the system's temporary folder
    else:
        directory = os.path.dirname(os.path.abspath(destination))
        remove_stale_temporaries(destination)
    if folder:
        temporary = tempfile.mkdtemp(prefix=prefix, suffix=_TEMP_SUFFIX, dir=directory)
    else:
        fd, temporary = tempfile.mkstemp(prefix=prefix, suffix=_TEMP_SUFFIX, dir=directory)
        os.close(fd)
    return temporary


def set_final_mode(temporary: str, destination: str | os.PathLike) -> None:
    """Give ``temporary`` the mode of the ``destination`` it replaces, or the umask's for a new one."""
    os.chmod(temporary, _final_mode(os.fspath(destination), os.path.isdir(temporary)))


def _final_mode(destination: str, folder: bool) -> int:
    try:
        existing = os.stat(destination)
    except OSError:
        return (0o777 if folder else 0o666) & ~current_umask()
    return existing.st_mode & 0o7777


def finish_temporary(temporary: str, destination: str | os.PathLike) -> None:
    """Put a complete temporary file or folder in place of ``destination`` and make it durable.

    A destination written in place (:func:`writes_in_place`) gets the temporary file's
    content written into it instead, and the temporary is removed. A temporary folder
    replaces a folder at ``destination`` (see :func:`_replace_folder`).
    """
    destination = os.fspath(destination)
    if os.path.isdir(temporary) and not os.path.islink(temporary):
        _replace_folder(temporary, destination)
        return
    if writes_in_place(destination):
        try:
            _copy_into(temporary, destination)
        finally:
            discard_temporary(temporary)
        return
    set_final_mode(temporary, destination)
    os.replace(temporary, destination)
    fsync_directory(os.path.dirname(os.path.abspath(destination)))


def _replace_folder(temporary: str, destination: str) -> None:
    """Move a complete temporary folder to ``destination``, replacing a folder there.

    A folder cannot be replaced in one portable rename: the old one is renamed to a
    temporary name first and removed after. A process killed between the two renames
    leaves the old folder under that temporary name (``.old``): the next write puts it
    back (:func:`remove_stale_temporaries`).
    """
    set_final_mode(temporary, destination)
    if not os.path.isdir(destination):
        os.rename(temporary, destination)
    else:
        old = temporary[: -len(_TEMP_SUFFIX)] + ".old"
        os.rename(destination, old)
        os.rename(temporary, destination)
        shutil.rmtree(old, ignore_errors=True)
    fsync_directory(os.path.dirname(os.path.abspath(destination)))


def discard_temporary(temporary: str) -> None:
    """Remove a temporary file or folder; a missing one is fine."""
    try:
        if os.path.isdir(temporary) and not os.path.islink(temporary):
            shutil.rmtree(temporary, ignore_errors=True)
        else:
            os.unlink(temporary)
    except OSError:
        pass


def fsync_directory(directory: str) -> None:
    """Make renames in ``directory`` durable; best effort (not possible on every platform)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_error(error: OSError, destination: str) -> OSError:
    """``error`` raised while writing a temporary, retold about the user's ``destination``.

    A full disk says which file could not be written; the temporary's name never shows.
    """
    code = error.errno
    reason = os.strerror(code) if code else str(error)
    if code in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        reason = f"{reason} (the file system holding it is full)"
    if not code:
        return OSError(f"cannot write {destination}: {reason}")
    return OSError(code, f"cannot write {destination}: {reason}")  # the errno picks the subclass


@contextlib.contextmanager
def writing(destination: str | os.PathLike) -> Iterator[None]:
    """Retell an ``OSError`` raised inside the block as one about writing ``destination``
    (:func:`write_error`), e.g. around a library's save into a temporary."""
    try:
        yield
    except OSError as error:
        raise write_error(error, os.fspath(destination)) from error


class OutputFile(io.FileIO):
    """A file written for ``destination``, whose write errors name the destination.

    ``target`` is the temporary's path (or any path the caller chose), or a descriptor
    open on a destination written in place (:func:`open_in_place`). Its ``name`` is the
    destination, so a gzip header records the real file name. Closing it flushes it to
    disk first: the rename that follows must find the data there.
    """

    def __init__(self, target: str | int, destination: str, mode: str = "wb") -> None:
        super().__init__(target, mode)
        self.name = destination  # type: ignore[misc]
        self.destination = destination

    def write(self, data) -> int:  # type: ignore[override]
        try:
            return super().write(data)
        except OSError as error:
            raise write_error(error, self.destination) from error

    def close(self) -> None:
        """Close after flushing to disk (a pipe or a device has no disk to flush to)."""
        if not self.closed and stat.S_ISREG(os.fstat(self.fileno()).st_mode):
            try:
                os.fsync(self.fileno())
            except OSError as error:
                super().close()
                raise write_error(error, self.destination) from error
        super().close()


def open_output_file(target: str | int, destination: str, mode: str = "wb") -> BinaryIO:
    """A buffered :class:`OutputFile`: what every atomic writer writes through."""
    with writing(destination):
        return io.BufferedWriter(OutputFile(target, destination, mode))  # type: ignore[return-value]


def atomic_create(path: str | os.PathLike, fill: Callable[[str], object]) -> None:
    """Replace ``path`` atomically with the file ``fill(temporary)`` writes at the path it is given.

    The temporary lies next to ``path`` and is renamed over it once ``fill`` returns (it
    must have made its writes durable). Raises ``OSError`` naming ``path`` when it cannot
    be written; any previous file at ``path`` is then left as it was, and no temporary
    remains.
    """
    path = os.fspath(path)
    try:
        temporary = create_temporary(path)
    except OSError as error:  # e.g. the folder does not exist: say so about path
        raise write_error(error, path) from error
    try:
        fill(temporary)
        finish_temporary(temporary, path)
    except OSError as error:
        discard_temporary(temporary)
        raise write_error(error, path) from error
    except BaseException:
        discard_temporary(temporary)
        raise


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], object]) -> None:
    """Replace ``path`` atomically with what ``write(handle)`` writes to an open binary file.

    Raises ``OSError`` naming ``path`` when it cannot be written; any previous file at
    ``path`` is then left as it was, and no temporary remains. A ``path`` written in
    place (:func:`writes_in_place`: a device, a FIFO, ``/dev/stdout``) is written
    straight into, not atomically.
    """
    path = os.fspath(path)
    if writes_in_place(path):
        with writing(path), open_output_file(open_in_place(path), path) as handle:
            write(handle)
        return

    def fill(temporary: str) -> None:
        with open_output_file(temporary, path) as handle:  # closing it makes the data durable
            write(handle)

    atomic_create(path, fill)
