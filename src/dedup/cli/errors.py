"""Exit codes, the command's own exceptions, and warnings on stderr."""

from __future__ import annotations

import signal
import sys
import threading

EXIT_OK = 0
EXIT_DATA = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_PIPE = 141
EXIT_TERMINATED = 143


class UsageError(Exception):
    """Bad command line, missing file or missing optional dependency (exit code 2)."""


class InputError(Exception):
    """Input that cannot be processed at all, e.g. a Parquet file without the text column (exit 1)."""


class DataError(Exception):
    """A bad record with ``--on-error fail`` (exit code 1). ``recurs``: whether the same
    command on the same input fails the same way again (not for a file that could not be
    read, which may be a passing fault of the device)."""

    def __init__(self, message: str, *, recurs: bool = True) -> None:
        super().__init__(message)
        self.recurs = recurs


class OutputError(Exception):
    """An output the user named cannot be written (exit code 1); the message names it."""


class Terminated(BaseException):
    """SIGTERM arrived; raised in the main process so that temporary outputs are removed."""


def hold_interrupts() -> None:
    """From here on a Ctrl-C or SIGTERM is ignored: called once the outputs are about to be
    committed, so that the exit code (0) says that they were ("No output file is created or
    replaced unless the exit code is 0"). :func:`dedup.cli.main` restores the handlers."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)


def warn(message: str) -> None:
    """Print ``dedup: warning: MESSAGE`` on stderr."""
    sys.stderr.write(f"dedup: warning: {message}\n")
