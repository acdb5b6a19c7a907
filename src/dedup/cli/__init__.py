"""The ``dedup`` command: corpus files in, cleaned files, reports or clusters out.

Commands
--------
``dedup clean IN [-o OUT]``
    Remove repeated passages inside each document (and, with ``--scope across|both``,
    passages already seen in earlier documents); write the records back in the same
    format and order, every other field unchanged.
``dedup explain IN [-o REPORT]``
    The same analysis, but write what would be removed (JSONL, one line per removed span).
``dedup dups IN [-o CLUSTERS]``
    Clusters of near-duplicate documents as JSONL.

Exit codes: 0 success, 1 bad input data (with ``--on-error fail``) or unreadable input,
2 usage error (bad option, missing file, output would overwrite input, missing optional
package), 130 interrupted (Ctrl-C), 143 terminated (SIGTERM), 141 output pipe closed.

The package is split by job. Reading: ``inputs`` (what ``IN`` names, and formats),
``compression``, ``readers`` (records of each format), ``records`` (a record, or the
error in its place). Writing: ``writers`` (records back in their format), ``outputs``
(output paths and which writer), ``commit`` (a run's outputs, committed as one),
``report`` (the removal report), ``checkpoint`` (resumable runs). Running: ``parser``
(options and help), ``commands`` (what each command does), ``stream`` (records in,
chunks of work), ``pool`` (worker processes), ``across`` (the across-document pass),
``skipping`` (bad records), ``progress`` (progress bar and summary), ``extras``
(optional packages), ``errors`` (exit codes and the command's exceptions).

See ``docs/cli.md`` for examples.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Sequence

from ..interpreter import fewer_collections
from .commands import run_clean, run_dups
from .errors import (
    EXIT_DATA, EXIT_INTERRUPTED, EXIT_PIPE, EXIT_TERMINATED, EXIT_USAGE, DataError, InputError, OutputError, Terminated,
    UsageError,
)
from .parser import build_parser
from .pool import ChunkFailed

__all__ = ["main", "entry", "build_parser"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``dedup`` command; returns the exit code (see the module docstring).

    Examples
    --------
    >>> import json, os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> body = ("The council approved the new budget on Tuesday after a long debate about schools, "
    ...         "roads and the cost of heating the old town hall in winter.")
    >>> with open(os.path.join(folder, "in.jsonl"), "w") as f:
    ...     print(json.dumps({"id": 1, "text": body + "\\n\\n" + body}), file=f)
    >>> main(["clean", os.path.join(folder, "in.jsonl"), "-o", os.path.join(folder, "out.jsonl"), "--quiet"])
    0
    >>> json.loads(open(os.path.join(folder, "out.jsonl")).read())["text"] == body
    True
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    previous = signal.getsignal(signal.SIGTERM)
    previous_int = signal.getsignal(signal.SIGINT)

    def on_term(signum, frame):
        raise Terminated()

    signal.signal(signal.SIGTERM, on_term)
    try:
        with fewer_collections():  # a run makes millions of short-lived objects
            if args.command == "dups":
                return run_dups(args)
            return run_clean(args, explain=args.command == "explain")
    except UsageError as error:
        sys.stderr.write(f"dedup: error: {error}\n")
        return EXIT_USAGE
    except (DataError, InputError, OutputError, ChunkFailed) as error:
        sys.stderr.write(f"dedup: error: {error}\n")
        return EXIT_DATA
    except ValueError as error:  # the library's parameter checks: a bad option value
        sys.stderr.write(f"dedup: error: {error}\n")
        return EXIT_USAGE
    except OSError as error:
        if isinstance(error, BrokenPipeError):
            _silence_stdout()
            return EXIT_PIPE
        sys.stderr.write(f"dedup: error: {describe_os_error(error)}\n")
        return EXIT_DATA
    except KeyboardInterrupt:
        sys.stderr.write("dedup: interrupted; no output written\n")
        return EXIT_INTERRUPTED
    except Terminated:
        sys.stderr.write("dedup: terminated; no output written\n")
        return EXIT_TERMINATED
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)


def entry() -> int:
    """The ``dedup`` command and ``python -m dedup``: :func:`main`, after which no signal
    may change the exit code it returned (the interpreter's exit still takes a moment)."""
    code = main()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    return code


def describe_os_error(error: OSError) -> str:
    """One line for an ``OSError``: the path and the reason, without Python's ``[Errno N]``."""
    reason = error.strerror or str(error)
    if error.filename is not None:
        return f"{error.filename}: {reason}"
    return reason


def _silence_stdout() -> None:
    # Python flushes stdout at exit; after EPIPE that would print a second error.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass
