"""One process at a time on a saved state or an on-disk store: an exclusive lock beside it.

Two runs that remembered articles in one state would each save what they saw, and the
last to save would silently drop the other's articles; two writers of one SQLite store
would number their articles alike. So whoever writes a state or store first takes an
exclusive lock on ``PATH.lock`` (``flock``, released by the system when the holder ends,
however it ends), and a second comer stops at once with :class:`InUseError` naming the
path and the holder's process id and host, which the holder writes into the lock file.

The lock file is removed when the lock is released; one left by a killed process holds
no lock and is taken over by the next comer.
"""

from __future__ import annotations

import errno
import fcntl
import os

from .atomic import host_tag

__all__ = ["InUseError", "Lock", "lock_path", "take_lock"]

_LOCK_SUFFIX = ".lock"
_HOLDER_BYTES = 256  # "PID HOST\n" fits well within this


class InUseError(BlockingIOError):
    """Another process holds the lock of a state or store; the message names the path and the holder."""

    def __str__(self) -> str:
        return self.strerror  # without "[Errno 11]": the message says it all


def lock_path(path: str | os.PathLike) -> str:
    """The lock file of state or store ``path``."""
    return os.fspath(path) + _LOCK_SUFFIX


class Lock:
    """A held lock; :meth:`release` (or leaving a ``with`` block) frees it and removes its file."""

    def __init__(self, fd: int, path: str) -> None:
        self._fd: int | None = fd
        self.path = path

    def release(self) -> None:
        if self._fd is None:
            return
        # Removed while still held: a process that opened the file meanwhile sees, once it
        # gets the lock, that the name no longer leads to it, and locks the new file instead.
        try:
            os.unlink(self.path)
        except OSError:
            pass
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> "Lock":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _holder(fd: int) -> str:
    try:
        pid, _, host = os.pread(fd, _HOLDER_BYTES, 0).decode("utf-8", "replace").strip().partition(" ")
    except OSError:
        return "another process"
    if not pid.isdigit():  # the holder has not written its name yet
        return "another process"
    return f"process {pid} on {host}" if host else f"process {pid}"


def take_lock(path: str | os.PathLike) -> Lock:
    """Lock state or store ``path`` for this process, or raise :class:`InUseError` at once.

    Raises ``InUseError`` (a ``BlockingIOError``) naming ``path`` and the holder when
    another process holds it (also another :class:`Lock` of this process), and
    ``OSError`` when the lock file cannot be created.
    """
    path = os.fspath(path)
    name = lock_path(path)
    while True:
        fd = os.open(name, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise InUseError(errno.EWOULDBLOCK, f"{path} is in use by {holder} (lock file {name})") from None
        except BaseException:
            os.close(fd)
            raise
        try:
            current = os.stat(name)
        except FileNotFoundError:
            current = None
        if current is not None and os.path.samestat(os.fstat(fd), current):
            break
        os.close(fd)  # released and removed by its holder after we opened it: try the new one
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()} {host_tag()}\n".encode(), 0)
    return Lock(fd, name)
