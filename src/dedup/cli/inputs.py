"""What ``IN`` names: one file, stdin or a folder of files, each with its format.

A folder is searched recursively for files of known extensions (hidden entries skipped).
A file's format comes from ``--format``, else its name (under a compression suffix),
else its first bytes. A folder entry that cannot be read (an unreadable file, a broken
link, a FIFO) is listed with its problem, so one bad file never stops the others.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from .compression import damaged_data_errors, is_regular_file, open_decompressed, read_ahead
from .errors import InputError, UsageError
from .records import RecordError

FORMATS = ("jsonl", "parquet", "csv", "tsv", "text")
STDIO = "-"

_COMPRESSION_SUFFIXES = {".gz": "gzip", ".zst": "zstd", ".zstd": "zstd", ".bz2": "bz2", ".xz": "xz"}
_FORMAT_SUFFIXES = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".tsv": "tsv",
    ".txt": "text",
    ".text": "text",
    ".md": "text",
}

PARQUET_MAGIC = b"PAR1"
# Delimiters a CSV file's header line is searched for (the one found most is used);
# a TSV file is tab-separated unless --csv-delimiter says otherwise.
CSV_DELIMITERS = (",", ";", "\t", "|")
# Rows per Parquet batch, read or written at a time.
PARQUET_BATCH_ROWS = 1024


def split_suffixes(name: str) -> tuple[str | None, str | None]:
    """(format, compression) from a file name such as ``part-0.jsonl.zst``; ``None`` when unknown."""
    suffixes = [s.lower() for s in Path(name).suffixes]
    compression = None
    if suffixes and suffixes[-1] in _COMPRESSION_SUFFIXES:
        compression = _COMPRESSION_SUFFIXES[suffixes.pop()]
    fmt = _FORMAT_SUFFIXES.get(suffixes[-1]) if suffixes else None
    return fmt, compression


def open_binary(path: str) -> BinaryIO:
    """Open a file (or stdin for ``-``) for reading, decompressing it when its first bytes say so."""
    if path == STDIO:
        # stdin can be opened only once: sniffing its format must not lose the bytes it read.
        global _stdin
        if _stdin is None:
            _stdin = open_decompressed(_own_stdin(), "<stdin>")
        return _stdin
    return open_decompressed(open(path, "rb"), path)


_stdin: BinaryIO | None = None


def _own_stdin() -> BinaryIO:
    """stdin as a file object of its own (a duplicate of its descriptor), when it has one.
    Threads read the input ahead, and a worker process forked meanwhile closes
    ``sys.stdin`` (multiprocessing does): were the threads reading ``sys.stdin``, its lock,
    held by a thread the worker does not have, would keep the worker waiting for ever."""
    try:
        return os.fdopen(os.dup(sys.stdin.fileno()), "rb")
    except (AttributeError, OSError, ValueError):  # no descriptor (stdin replaced in-process)
        return sys.stdin.buffer


@dataclass(frozen=True)
class CsvLayout:
    """What a CSV/TSV file's output copies from its input: the delimiter, the header line
    (verbatim) and its columns, and the line ending."""

    delimiter: str
    header: bytes
    columns: tuple[str, ...]
    line_ending: str


@dataclass
class InputFile:
    """One input file: where it is, its name relative to the input root, and its format."""

    path: str
    relpath: str
    format: str
    size: int = 0  # bytes on disk (0 for stdin): the progress bar's total
    guessed: bool = False  # format told by the content, not by the name or --format
    problem: str | None = None  # why the file cannot be read (found while listing a folder)
    csv_delimiter: str | None = None  # CSV/TSV: the delimiter given (--csv-delimiter), else sniffed
    csv_layout: CsvLayout | None = None  # CSV/TSV: set by the reader once it read the header
    # How far reading got, in bytes of the file on disk: set by the reader (see consumed()).
    position: Callable[[], float] | None = field(default=None, repr=False, compare=False)

    @property
    def display(self) -> str:
        return "<stdin>" if self.path == STDIO else self.path

    def may_stall(self) -> bool:
        """Whether reading it can wait on a writer (stdin, a FIFO, a socket, a terminal),
        not only on the disk."""
        if self.path == STDIO:
            return True
        try:
            return not stat.S_ISREG(os.stat(self.path).st_mode)
        except OSError:
            return False

    def consumed(self) -> int:
        """Bytes of the file read so far (compressed bytes for a compressed file)."""
        if self.position is None:
            return 0
        try:
            return min(self.size, int(self.position()))
        except (ValueError, OSError):  # the file is closed: it was read to the end
            return self.size

    def open_stream(self) -> BinaryIO:
        """Open for reading, decompressed, and let :meth:`consumed` follow the raw file."""
        if self.path == STDIO:
            return open_binary(STDIO)
        raw = open(self.path, "rb")  # noqa: SIM115 - closed with the decompressed stream
        self.position = raw.tell
        stream = open_decompressed(raw, self.path)
        if stream is not raw and is_regular_file(raw):
            # Decompressed in a thread, beside the parsing (not a pipe or FIFO, whose
            # reads may wait: they are read as they come).
            stream = read_ahead(stream)
        return stream


@dataclass
class Input:
    """What ``IN`` on the command line names: one file, stdin, or a folder of files."""

    root: str
    is_dir: bool
    files: list[InputFile]
    ignored: list[str] = field(default_factory=list)


def detect_format(path: str) -> str:
    """Format of one file (or stdin) from its name, else from its first bytes."""
    if path != STDIO:
        fmt, _ = split_suffixes(path)
        if fmt is not None:
            return fmt
    stream = None
    try:
        stream = open_binary(path)
        head = stream.peek(4096) if hasattr(stream, "peek") else b""  # type: ignore[attr-defined]
    except damaged_data_errors() as error:
        # Too damaged to tell the format: a problem of the whole input, named with the reason.
        problem = RecordError.damaged_file(InputFile(path, os.path.basename(path), "unknown").display, error)
        raise InputError(f"{problem}; cannot tell its format (use --format)") from None
    finally:
        if stream is not None and path != STDIO:
            stream.close()
    if head.startswith(PARQUET_MAGIC):
        return "parquet"
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        return "jsonl"
    return "text"


def _unreadable_entry(full: str) -> str | None:
    """Why a folder entry cannot be read as an input file, or ``None`` when it can.

    Only regular files (or links to them) are read from a folder: a FIFO or a device
    would block the run or never end.
    """
    try:
        info = os.stat(full)
    except FileNotFoundError:
        if os.path.islink(full):
            return f"broken symbolic link (its target {os.readlink(full)} does not exist)"
        return "the file disappeared while the folder was read"
    except OSError as error:
        return f"cannot read it: {os.strerror(error.errno) if error.errno else error}"
    if stat.S_ISREG(info.st_mode):
        return None
    kind = "a FIFO (named pipe)" if stat.S_ISFIFO(info.st_mode) else "a socket" if stat.S_ISSOCK(info.st_mode) else "a device"
    return f"not a regular file but {kind}; only regular files in a folder are read"


def open_input(path: str, fmt: str | None = None, *, csv_delimiter: str | None = None) -> Input:
    """Resolve ``IN``: a file, ``-`` or a folder (searched recursively for known extensions).

    ``csv_delimiter`` is the delimiter of CSV/TSV files (default: tab for TSV, sniffed
    from the header line for CSV).

    A folder entry that cannot be read (a broken link, a FIFO) is listed with its
    ``problem``: reading it gives one :class:`RecordError` for the whole file.

    Raises
    ------
    UsageError
        The path does not exist, or a folder holds no file of a known format.
    """
    if path == STDIO:
        files = [InputFile(STDIO, STDIO, fmt or detect_format(STDIO), guessed=fmt is None, csv_delimiter=csv_delimiter)]
        return Input(STDIO, False, files)
    if not os.path.exists(path):
        raise UsageError(f"input not found: {path}")
    if not os.path.isdir(path):
        size = os.path.getsize(path)
        guessed = fmt is None and split_suffixes(path)[0] is None
        detected = fmt or detect_format(path)
        files = [InputFile(path, os.path.basename(path), detected, size, guessed, csv_delimiter=csv_delimiter)]
        return Input(path, False, files)
    files, ignored = [], []
    for dirpath, dirnames, filenames in os.walk(path):
        # Hidden entries are skipped so that our own temporary outputs are never read back.
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, path)
            if name.startswith("."):
                continue
            detected, _ = split_suffixes(name)
            if detected is None or (fmt is not None and detected != fmt):
                ignored.append(rel)
                continue
            problem = _unreadable_entry(full)
            size = 0 if problem else os.path.getsize(full)
            files.append(InputFile(full, rel, detected, size, problem=problem, csv_delimiter=csv_delimiter))
    files.sort(key=lambda f: f.relpath)
    if not files:
        kinds = ", ".join(sorted(_FORMAT_SUFFIXES))
        raise UsageError(f"no input files in folder {path} (looked for {kinds}, optionally .gz/.zst)")
    return Input(path, True, files, ignored)
