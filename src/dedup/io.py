"""Reading and writing records for the ``dedup`` command.

A *record* is one document: a JSONL line, a Parquet row, a CSV/TSV row (after the
header line; a quoted field may span lines) or a whole plain-text file. The
readers never raise on bad data: they yield a :class:`RecordError` (file, line, message
and the verbatim bytes) in place of the record, so the caller decides between failing
and skipping, and skipped records can be written to a rejects file byte for byte.

Compression is recognised from the first bytes, not the file name (gzip, zstandard,
bz2, xz), so ``-`` (stdin) and misnamed files work too. A truncated or damaged
compressed file, an unreadable file, a broken link or a FIFO inside an input folder is a
:class:`RecordError` too (``unit="file"``), so one bad file never stops the others.

Records round-trip byte for byte: an unchanged JSONL line is copied verbatim, and a text
with a lone surrogate (valid JSON: ``"\\ud800"``) is written back with the same escape.

Outputs are written to a hidden temporary file (or folder) next to the destination and
renamed into place only when the whole run succeeded (:class:`AtomicOutputs`, built on
:mod:`dedup.storage`), so an interrupted run never leaves a half-written file under the
output name, and the next run removes what a killed one left behind. An output that is
no regular file (a device, a FIFO, ``/dev/stdout``) is written straight into instead.
"""

from __future__ import annotations

import bz2
import contextlib
import csv
import gzip
import io
import json
import lzma
import os
import shutil
import stat
import sys
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO

from .jsonlines import has_surrogates, json_line
from .storage import (
    atomic_write,
    create_temporary,
    discard_temporary,
    finish_temporary,
    fsync_directory,
    host_tag,
    open_in_place,
    set_final_mode,
    write_error,
    writer_gone,
    writes_in_place,
)

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
_MAGIC = (
    (b"\x1f\x8b", "gzip"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"BZh", "bz2"),
    (b"\xfd7zXZ\x00", "xz"),
)
_PARQUET_MAGIC = b"PAR1"
# Delimiters a CSV file's header line is searched for (the one found most is used);
# a TSV file is tab-separated unless --csv-delimiter says otherwise.
CSV_DELIMITERS = (",", ";", "\t", "|")
_CSV_FIELD_LIMIT = 2**31 - 1  # a whole book may sit in one field
_PARQUET_BATCH_ROWS = 1024


class UsageError(Exception):
    """Bad command line, missing file or missing optional dependency (exit code 2)."""


class InputError(Exception):
    """Input that cannot be processed at all, e.g. a Parquet file without the text column (exit 1)."""


@dataclass
class Record:
    """One document read from the input.

    ``data`` is what the writer needs to write the record back with a new text: the
    parsed JSON object, the Parquet row as a dict, or ``None`` for a plain-text file.
    ``raw`` is the verbatim line of a JSONL record, so that records whose text did not
    change are written back byte for byte.
    """

    source: str
    line: int
    id: Any
    text: str
    data: Any = None
    raw: bytes | None = None


@dataclass
class RecordError:
    """A record that could not be read, with where it is and why."""

    source: str
    line: int
    message: str
    raw: bytes | None = None
    unit: str = "line"

    def __str__(self) -> str:
        if self.unit == "file":
            return f"{self.source}: {self.message}"
        where = f"{self.source}:{self.line}" if self.unit == "line" else f"{self.source}: {self.unit} {self.line}"
        return f"{where}: {self.message}"

    def reject_bytes(self) -> bytes:
        """What goes to the rejects file: the verbatim record, else a JSON line describing it."""
        if self.raw is not None:
            return self.raw if self.raw.endswith(b"\n") else self.raw + b"\n"
        line = {"source": self.source, "error": self.message}
        if self.unit != "file":
            line[self.unit] = self.line
        return json_line(line)


# --------------------------------------------------------------------------- input files


def split_suffixes(name: str) -> tuple[str | None, str | None]:
    """(format, compression) from a file name such as ``part-0.jsonl.zst``; ``None`` when unknown."""
    suffixes = [s.lower() for s in Path(name).suffixes]
    compression = None
    if suffixes and suffixes[-1] in _COMPRESSION_SUFFIXES:
        compression = _COMPRESSION_SUFFIXES[suffixes.pop()]
    fmt = _FORMAT_SUFFIXES.get(suffixes[-1]) if suffixes else None
    return fmt, compression


def _sniff_compression(head: bytes) -> str | None:
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    return None


def _missing_extra(module: str, extra: str, what: str) -> UsageError:
    return UsageError(f"{what} needs the optional package '{module}': pip install 'dedup-passages[{extra}]'")


def open_binary(path: str) -> BinaryIO:
    """Open a file (or stdin for ``-``) for reading, decompressing it when its first bytes say so."""
    if path == STDIO:
        # stdin can be opened only once: sniffing its format must not lose the bytes it read.
        global _stdin
        if _stdin is None:
            _stdin = _open_decompressed(sys.stdin.buffer, "<stdin>")
        return _stdin
    return _open_decompressed(open(path, "rb"), path)


_stdin: BinaryIO | None = None


def _open_decompressed(raw: BinaryIO, path: str) -> BinaryIO:
    if not hasattr(raw, "peek"):
        raw = io.BufferedReader(raw)  # type: ignore[arg-type]
    compression = _sniff_compression(raw.peek(8)[:8])  # type: ignore[attr-defined]
    if compression is None:
        return raw
    if compression == "gzip":
        stream = gzip.GzipFile(fileobj=raw, mode="rb")
        stream.myfileobj = raw  # close the file together with the decompressor
        return stream  # type: ignore[return-value]
    if compression in ("bz2", "xz"):
        stream = bz2.BZ2File(raw) if compression == "bz2" else lzma.LZMAFile(raw)  # noqa: SIM115 - returned open
        stream._closefp = True  # close the file together with the decompressor
        return stream  # type: ignore[return-value]
    try:
        import zstandard
    except ImportError:
        raise _missing_extra("zstandard", "zstd", f"reading the zstd-compressed file {path}") from None
    return io.BufferedReader(ZstdReader(raw, zstandard), buffer_size=1 << 20)  # type: ignore[arg-type]


class ZstdReader(io.RawIOBase):
    """Decompressed bytes of a zstd stream of one or more frames.

    Unlike ``zstandard``'s stream reader, it raises ``EOFError`` when the data end inside
    a frame (a truncated file), as the gzip, bz2 and xz readers do, instead of ending
    quietly with part of the data missing.
    """

    _CHUNK = 1 << 16

    def __init__(self, raw: BinaryIO, zstandard: Any) -> None:
        super().__init__()
        self._raw = raw
        self._decompressor = zstandard.ZstdDecompressor()
        self._frame = self._decompressor.decompressobj()
        self._in_frame = False
        self._buffer = b""
        self._offset = 0  # bytes of _buffer already returned

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:  # type: ignore[override]
        while self._offset == len(self._buffer):
            chunk = self._raw.read(self._CHUNK)
            if not chunk:
                if self._in_frame:
                    raise EOFError("zstd data end inside a frame")
                return 0
            self._buffer, self._offset = self._decompress(chunk), 0
        size = min(len(target), len(self._buffer) - self._offset)
        target[:size] = memoryview(self._buffer)[self._offset : self._offset + size]
        self._offset += size
        return size

    def _decompress(self, chunk: bytes) -> bytes:
        parts = []
        while chunk:
            if self._frame.eof:  # the previous frame ended: the rest starts another one
                self._frame = self._decompressor.decompressobj()
            parts.append(self._frame.decompress(chunk))
            chunk = self._frame.unused_data if self._frame.eof else b""
        self._in_frame = not self._frame.eof
        return b"".join(parts)

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


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
    _position: Any = field(default=None, repr=False, compare=False)  # bytes read so far, set by the reader

    @property
    def display(self) -> str:
        return "<stdin>" if self.path == STDIO else self.path

    def consumed(self) -> int:
        """Bytes of the file read so far (compressed bytes for a compressed file)."""
        if self._position is None:
            return 0
        try:
            return min(self.size, int(self._position()))
        except (ValueError, OSError):  # the file is closed: it was read to the end
            return self.size

    def _open(self) -> BinaryIO:
        """Open for reading, decompressed, and let :meth:`consumed` follow the raw file."""
        if self.path == STDIO:
            return open_binary(STDIO)
        raw = open(self.path, "rb")  # noqa: SIM115 - closed with the decompressed stream
        self._position = raw.tell
        return _open_decompressed(raw, self.path)


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
    except _damaged_data_errors() as error:
        # Too damaged to tell the format: a problem of the whole input, named with the reason.
        problem = _damage_error(InputFile(path, os.path.basename(path), "unknown"), error)
        raise InputError(f"{problem}; cannot tell its format (use --format)") from None
    finally:
        if stream is not None and path != STDIO:
            stream.close()
    if head.startswith(_PARQUET_MAGIC):
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


# --------------------------------------------------------------------------- readers


def _utf8_error(data: bytes, error: UnicodeDecodeError, line_offset: int = 0) -> tuple[int, str]:
    """(line number, message) of an undecodable byte in ``data``."""
    line = line_offset + data.count(b"\n", 0, error.start) + 1
    column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
    bad = data[error.start : error.end].hex(" ")
    return line, f"invalid UTF-8 (byte {bad} at column {column}): {error.reason}"


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    kind = {dict: "object", list: "array", bool: "boolean", int: "number", float: "number"}.get(type(value))
    kind = "null" if value is None else kind or type(value).__name__
    text = json.dumps(value, ensure_ascii=False, default=str) if value is not None else "null"
    return f"{kind} {text[:40] + '...' if len(text) > 43 else text}"


def _check_id(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return f"must be a string or an integer, got {_describe(value)}"
    return None


def read_records(
    file: InputFile, *, text_field: str = "text", id_field: str | None = None
) -> Iterator[Record | RecordError]:
    """Records of one input file, with a :class:`RecordError` in place of each bad one.

    Parameters
    ----------
    file : InputFile
        The file and its format.
    text_field : str
        JSONL field, Parquet or CSV column holding the text.
    id_field : str or None
        Field holding the document id. ``None``: use ``"id"`` when it holds a string or
        an integer, else ``"<file>:<line>"``. When given, a record without a string or
        integer in it is an error.

    A file that cannot be opened, or whose compressed data end early or are damaged,
    gives a :class:`RecordError` with ``unit="file"`` (after the records read before the
    damage).
    """
    if file.problem is not None:
        return iter([RecordError(file.display, 0, file.problem, unit="file")])
    if file.format == "jsonl":
        return _read_jsonl(file, text_field, id_field)
    if file.format == "parquet":
        return _read_parquet(file, text_field, id_field)
    if file.format in ("csv", "tsv"):
        return _read_csv(file, text_field, id_field)
    if file.format == "text":
        return _read_text(file)
    raise UsageError(f"format must be one of {', '.join(FORMATS)}, got {file.format!r}")


def field_names(data: dict, limit: int = 10) -> str:
    """The first ``limit`` field names of a record, for a message about a missing field."""
    names = ", ".join(map(repr, list(data)[:limit])) or "none"
    return names + (f" and {len(data) - limit} more" if len(data) > limit else "")


def _record_id(data: dict, id_field: str | None, source: str, line: int) -> tuple[Any, str | None]:
    """(id, problem). An explicit ``id_field`` must hold a usable id; the default "id" is used when it does."""
    if id_field is None:
        value = data.get("id")
        return (value, None) if "id" in data and _check_id(value) is None else (f"{source}:{line}", None)
    if id_field not in data:
        return None, f"missing id field {id_field!r} (fields: {field_names(data)})"
    problem = _check_id(data[id_field])
    return data[id_field], (f"field {id_field!r} {problem}" if problem else None)


def _damaged_data_errors() -> tuple[type[BaseException], ...]:
    """What reading a file whose compressed data are truncated or damaged raises."""
    errors: tuple[type[BaseException], ...] = (EOFError, zlib.error, lzma.LZMAError, OSError)
    zstandard = sys.modules.get("zstandard")  # only when a zstd file was opened
    return errors + (zstandard.ZstdError,) if zstandard is not None else errors


def one_line(error: BaseException) -> str:
    """An exception's message on one line (pyarrow's messages span several)."""
    return " ".join(str(error).split())


def _damage_error(file: InputFile, error: BaseException, after_line: int | None = None) -> RecordError:
    """A file-level :class:`RecordError` for a file that cannot be opened or read to its end."""
    if isinstance(error, OSError) and error.errno is not None and not isinstance(error, gzip.BadGzipFile):
        message = f"cannot read it: {os.strerror(error.errno)}"
    elif isinstance(error, EOFError):
        message = "compressed data end early (the file is truncated)"
    else:
        message = f"compressed data are damaged ({one_line(error)})"
    if after_line:
        message += f"; the records of its first {after_line} lines were read"
    return RecordError(file.display, after_line + 1 if after_line else 0, message, unit="file")


def _records_of_stream(
    file: InputFile, parse: Callable[[BinaryIO], Iterator[Record | RecordError]]
) -> Iterator[Record | RecordError]:
    """``parse`` of the file's decompressed stream (closed after, unless stdin); a file that
    cannot be opened is one file-level error."""
    try:
        stream = file._open()
    except _damaged_data_errors() as error:
        yield _damage_error(file, error)
        return
    try:
        yield from parse(stream)
    finally:
        if file.path != STDIO:
            stream.close()


def _read_jsonl(file: InputFile, text_field: str, id_field: str | None) -> Iterator[Record | RecordError]:
    source = file.display
    hint = "; read as JSONL because it starts with '{', use --format text for plain text" if file.guessed else ""
    return _records_of_stream(file, lambda stream: _jsonl_records(file, stream, source, hint, text_field, id_field))


def _numbered_lines(file: InputFile, stream: BinaryIO) -> Iterator[tuple[int, bytes] | RecordError]:
    """Numbered lines of ``stream``, ending with a :class:`RecordError` when the data end badly."""
    number = 0
    lines = iter(stream)
    while True:
        try:
            raw = next(lines)
        except StopIteration:
            return
        except _damaged_data_errors() as error:
            yield _damage_error(file, error, number)
            return
        number += 1
        yield number, raw


def _jsonl_records(
    file: InputFile, stream: BinaryIO, source: str, hint: str, text_field: str, id_field: str | None
) -> Iterator[Record | RecordError]:
    for item in _numbered_lines(file, stream):
        if isinstance(item, RecordError):
            yield item
            return
        number, raw = item
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        if not raw.strip():
            continue  # blank lines (often a trailing one) carry no record
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            yield RecordError(source, number, _utf8_error(raw, error)[1], raw)
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as error:
            yield RecordError(source, number, f"invalid JSON: {error.msg} (column {error.colno}){hint}", raw)
            continue
        except RecursionError:
            yield RecordError(source, number, "JSON nested too deeply to read", raw)
            continue
        except ValueError:  # the one other ValueError: an integer beyond Python's limit on digits
            limit = sys.get_int_max_str_digits()
            yield RecordError(source, number, f"a number too long to read (more than {limit:,} digits)", raw)
            continue
        if not isinstance(data, dict):
            yield RecordError(source, number, f"expected a JSON object, got {_describe(data)}{hint}", raw)
            continue
        if text_field not in data:
            yield RecordError(source, number, f"missing text field {text_field!r} (fields: {field_names(data)})", raw)
            continue
        text = data[text_field]
        if not isinstance(text, str):
            yield RecordError(source, number, f"field {text_field!r} must be a string, got {_describe(text)}", raw)
            continue
        doc_id, problem = _record_id(data, id_field, source, number)
        if problem:
            yield RecordError(source, number, problem, raw)
            continue
        yield Record(source, number, doc_id, text, data, raw)


def _read_csv(file: InputFile, text_field: str, id_field: str | None) -> Iterator[Record | RecordError]:
    return _records_of_stream(file, lambda stream: _csv_records(file, stream, text_field, id_field))


def sniff_delimiter(header: str) -> str:
    """The delimiter of a CSV header line: the candidate (``CSV_DELIMITERS``) found most, else ``,``.

    >>> sniff_delimiter("id;date;text\\n"), sniff_delimiter('id\\t"text, quoted"\\n')
    (';', '\\t')
    """
    unquoted = header.split('"')[::2]  # a delimiter inside a quoted column name does not count
    counts = {d: sum(part.count(d) for part in unquoted) for d in CSV_DELIMITERS}
    best = max(CSV_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _csv_records(
    file: InputFile, stream: BinaryIO, text_field: str, id_field: str | None
) -> Iterator[Record | RecordError]:
    """The rows of a CSV/TSV file after its header line, as records (the columns in ``data``).

    Raw lines are fed to :mod:`csv` one by one, so each record keeps its verbatim bytes
    (written back unchanged when its text is) and the number of its first line. A column
    missing from the header is a problem of the whole file (``InputError``); a row with
    another number of fields than the header is a bad record.
    """
    source = file.display
    lines = _numbered_lines(file, stream)
    consumed: list[bytes] = []  # the raw lines of the record being parsed
    state = {"line": 0, "damage": None}

    def feed() -> Iterator[str]:
        for item in lines:
            if isinstance(item, RecordError):
                state["damage"] = item
                return
            number, raw = item
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            consumed.append(raw)
            state["line"] = number
            # Undecodable bytes are kept as surrogates so that parsing goes on; the record
            # holding them is reported below, with its line and column.
            yield raw.decode("utf-8", "surrogateescape")

    text_lines = feed()
    first = next(text_lines, None)
    if first is None:
        if state["damage"] is not None:
            yield state["damage"]
        return
    delimiter = file.csv_delimiter or ("\t" if file.format == "tsv" else sniff_delimiter(first))
    csv.field_size_limit(max(csv.field_size_limit(), _CSV_FIELD_LIMIT))  # csv's default: 131,072 characters
    # strict: a closing quote followed by more text, or a quote left open at the end of the
    # file, is an error instead of a silently mangled field
    reader = csv.reader(_chain_first(first, text_lines), delimiter=delimiter, strict=True)
    try:
        columns = tuple(next(reader))
    except csv.Error as error:
        raise InputError(f"{source}:1: the header line is not valid CSV: {error}") from None
    header = b"".join(consumed)
    ending = "\r\n" if header.endswith(b"\r\n") else "\n"
    file.csv_layout = CsvLayout(delimiter, header, columns, ending)
    named = ", ".join(map(repr, columns))
    described = f"delimiter {delimiter!r}" + ("" if file.csv_delimiter else " (sniffed; --csv-delimiter sets it)")
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise InputError(f"{source}:1: the header names column {repeated[0]!r} twice (columns: {named})")
    if text_field not in columns:
        raise InputError(f"{source}:1: no column {text_field!r} (columns: {named}; {described}); use --text-field")
    if id_field is not None and id_field not in columns:
        raise InputError(f"{source}:1: no id column {id_field!r} (columns: {named}; {described})")
    while True:
        consumed.clear()
        start = state["line"] + 1
        try:
            row = next(reader, None)
        except csv.Error as error:
            raw = b"".join(consumed)
            message = f"invalid CSV: {error}"
            if str(error) == "unexpected end of data":
                message = "invalid CSV: a quoted field is still open at the end of the file (a missing closing quote)"
            yield RecordError(source, start, message, _csv_reject(source, start, message, raw))
            continue
        raw = b"".join(consumed)
        if row is None:
            if state["damage"] is not None:
                yield state["damage"]
            return
        if not row:
            continue  # a blank line carries no record
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as error:
            line, message = _utf8_error(raw, error, start - 1)
            yield RecordError(source, line, message, _csv_reject(source, start, message, raw))
            continue
        if len(row) != len(columns):
            fields = "1 field" if len(row) == 1 else f"{len(row)} fields"
            message = (f"ragged row: {fields}, the header has {len(columns)} ({named}); "
                       f"a field holding the {described} must be quoted")
            yield RecordError(source, start, message, _csv_reject(source, start, message, raw))
            continue
        data = dict(zip(columns, row))
        if id_field is None:
            doc_id = data.get("id") or f"{source}:{start}"
        elif data[id_field]:
            doc_id = data[id_field]
        else:
            message = f"field {id_field!r} is empty"
            yield RecordError(source, start, message, _csv_reject(source, start, message, raw))
            continue
        yield Record(source, start, doc_id, data[text_field], data, raw)


def _chain_first(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest


def _csv_reject(source: str, line: int, message: str, raw: bytes) -> bytes:
    """The rejects-file line of a bad CSV record: where, why, and the record's text verbatim."""
    return json_line({"source": source, "line": line, "error": message,
                      "record": raw.decode("utf-8", "backslashreplace")})


def _import_pyarrow(what: str):
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise _missing_extra("pyarrow", "parquet", what) from None
    return pyarrow


def _parquet_source(file: InputFile):
    """A seekable source for pyarrow: the path itself, or the decompressed bytes in memory."""
    if file.path != STDIO:
        with open(file.path, "rb") as fh:
            if fh.read(4) == _PARQUET_MAGIC:
                return file.path
    if file.path == STDIO:
        # stdin can be read once; the schema and the rows both need it.
        global _stdin_parquet
        if _stdin_parquet is None:
            _stdin_parquet = open_binary(STDIO).read()
        return io.BytesIO(_stdin_parquet)
    with open_binary(file.path) as stream:
        return io.BytesIO(stream.read())


_stdin_parquet: bytes | None = None


def parquet_schema(file: InputFile):
    pa = _import_pyarrow(f"reading {file.display}")
    try:
        return pa.parquet.ParquetFile(_parquet_source(file)).schema_arrow
    except pa.ArrowException as error:
        raise InputError(f"{file.display}: not a readable Parquet file: {one_line(error)}") from None


def _read_parquet(file: InputFile, text_field: str, id_field: str | None) -> Iterator[Record | RecordError]:
    pa = _import_pyarrow(f"reading {file.display}")
    source = file.display
    try:
        parquet = pa.parquet.ParquetFile(_parquet_source(file))
    except pa.ArrowException as error:
        yield RecordError(source, 0, f"not a readable Parquet file: {one_line(error)}", unit="file")
        return
    except _damaged_data_errors() as error:
        yield _damage_error(file, error)
        return
    schema = parquet.schema_arrow
    # A wrong schema concerns every row: it is not a record error that could be skipped.
    if text_field not in schema.names:
        raise InputError(f"{source}: no column {text_field!r} (columns: {', '.join(schema.names)}); use --text-field")
    column_type = schema.field(text_field).type
    if not (pa.types.is_string(column_type) or pa.types.is_large_string(column_type)):
        raise InputError(f"{source}: column {text_field!r} must hold strings, it holds {column_type}")
    if id_field is not None and id_field not in schema.names:
        raise InputError(f"{source}: no id column {id_field!r} (columns: {', '.join(schema.names)})")
    number = 0
    total_rows = max(1, parquet.metadata.num_rows)
    file._position = lambda: file.size * number / total_rows
    batches = parquet.iter_batches(batch_size=_PARQUET_BATCH_ROWS)
    while True:
        try:
            batch = next(batches, None)
        except (pa.ArrowException, OSError) as error:
            message = f"damaged Parquet data after row {number}: {one_line(error)}"
            yield RecordError(source, number + 1, message, unit="file")
            return
        if batch is None:
            return
        for row in batch.to_pylist():
            number += 1
            text = row[text_field]
            if not isinstance(text, str):
                yield RecordError(source, number, f"column {text_field!r} is {_describe(text)}", json_line(row), "row")
                continue
            doc_id, problem = _record_id(row, id_field, source, number)
            if problem:
                yield RecordError(source, number, problem, json_line(row), "row")
                continue
            yield Record(source, number, doc_id, text, row)


def _read_text(file: InputFile) -> Iterator[Record | RecordError]:
    source = file.display
    try:
        stream = file._open()
        try:
            data = stream.read()
        finally:
            if file.path != STDIO:
                stream.close()
    except _damaged_data_errors() as error:
        yield _damage_error(file, error)
        return
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line, message = _utf8_error(data, error)
        yield RecordError(source, line, message)
        return
    doc_id = file.relpath if file.path != STDIO else source
    yield Record(source, 1, doc_id, text)


# --------------------------------------------------------------------------- writers


def open_compressed_writer(fh: BinaryIO, name: str) -> BinaryIO:
    """Wrap ``fh`` in a compressor chosen from the destination's file name (.gz, .zst, .bz2, .xz)."""
    _, compression = split_suffixes(name)
    if compression == "gzip":
        return gzip.GzipFile(fileobj=fh, mode="wb", mtime=0)  # type: ignore[return-value]
    if compression == "bz2":
        return bz2.BZ2File(fh, "wb")  # type: ignore[return-value]
    if compression == "xz":
        return lzma.LZMAFile(fh, "wb")  # type: ignore[return-value]
    if compression == "zstd":
        try:
            import zstandard
        except ImportError:
            raise _missing_extra("zstandard", "zstd", f"writing {name}") from None
        return zstandard.ZstdCompressor().stream_writer(fh, closefd=False)  # type: ignore[return-value]
    return fh


class RecordWriter:
    """Writes records of one format to one binary stream.

    ``write(record, text)`` writes ``record`` with its text replaced by ``text``; every
    other field is kept (JSONL records whose text did not change are copied byte for byte).
    """

    def __init__(self, stream: BinaryIO, fmt: str, *, text_field: str = "text", name: str = "", schema=None,
                 source: InputFile | None = None):
        self.format = fmt
        self._source = source  # CSV/TSV: the input file whose layout (delimiter, header) is copied
        self._csv: tuple[io.StringIO, Any] | None = None
        self.text_field = text_field
        self.name = name
        self._raw = stream
        self._stream = open_compressed_writer(stream, name) if name else stream
        self._schema = schema
        self._rows: list[dict] = []
        self._parquet = None
        if fmt not in FORMATS:
            raise UsageError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")

    def write(self, record: Record, text: str) -> None:
        if self.format in ("csv", "tsv"):
            self._write_csv(record, text)
            return
        if self.format == "jsonl":
            if text == record.text and record.raw is not None:
                raw = record.raw
                self._stream.write(raw if raw.endswith(b"\n") else raw + b"\n")
                return
            data = dict(record.data)
            data[self.text_field] = text
            self._stream.write(json_line(data))
            return
        if has_surrogates(text):
            raise InputError(
                f"{record.source}:{record.line}: the text holds a lone surrogate (a \\uD800-\\uDFFF escape in the "
                f"JSON input), which {self.format} output cannot hold; write JSONL instead"
            )
        if self.format == "text":
            self._stream.write(text.encode("utf-8"))
        else:
            row = dict(record.data)
            row[self.text_field] = text
            self._rows.append(row)
            if len(self._rows) >= _PARQUET_BATCH_ROWS:
                self._flush_parquet()

    def _csv_layout(self) -> CsvLayout | None:
        """The input's layout, with the header written out the first time it is asked for."""
        layout = self._source.csv_layout if self._source is not None else None
        if layout is not None and self._csv is None:
            buffer = io.StringIO()
            self._csv = (buffer, csv.writer(buffer, delimiter=layout.delimiter, lineterminator=layout.line_ending))
            header = layout.header
            self._stream.write(header if header.endswith(b"\n") else header + layout.line_ending.encode())
        return layout

    def _write_csv(self, record: Record, text: str) -> None:
        layout = self._csv_layout()
        if layout is None:  # a writer not given its input file cannot know the columns
            raise UsageError(f"writing {self.name or 'CSV'}: the input's columns are unknown")
        if text == record.text and record.raw is not None:
            raw = record.raw
            self._stream.write(raw if raw.endswith(b"\n") else raw + layout.line_ending.encode())
            return
        buffer, writer = self._csv  # type: ignore[misc]
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([text if column == self.text_field else record.data[column] for column in layout.columns])
        self._stream.write(buffer.getvalue().encode("utf-8"))

    def write_json(self, obj: Any) -> None:
        """One JSON line (reports, clusters)."""
        self._stream.write(json_line(obj))

    def write_bytes(self, data: bytes) -> None:
        self._stream.write(data)

    def _flush_parquet(self) -> None:
        pa = _import_pyarrow(f"writing {self.name or 'Parquet'}")
        if self._parquet is None:
            self._parquet = pa.parquet.ParquetWriter(self._stream, self._schema)
        if self._rows:
            self._parquet.write_table(pa.Table.from_pylist(self._rows, schema=self._schema))
            self._rows = []

    def close(self) -> None:
        if self.format == "parquet":
            self._flush_parquet()  # also writes a valid file when there are no rows
            self._parquet.close()
        if self.format in ("csv", "tsv"):
            self._csv_layout()  # a file without rows still gets its header
        if self._stream is not self._raw:
            self._stream.close()  # flushes the compressor; the underlying file stays open
        self._raw.flush()


# --------------------------------------------------------------------------- atomic outputs


def same_path(a: str, b: str) -> bool:
    """Whether two paths name the same file (also through links), existing or not."""
    if a == STDIO or b == STDIO:
        return False
    try:
        if os.path.exists(a) and os.path.exists(b):
            return os.path.samefile(a, b)
    except OSError:
        pass
    return os.path.realpath(a) == os.path.realpath(b)


def is_inside(path: str, folder: str) -> bool:
    """Whether ``path`` is ``folder`` or lies somewhere below it."""
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


class OutputFile(io.FileIO):
    """An output file whose write errors name the destination, not the temporary.

    ``target`` is the temporary's path, or a descriptor open on a destination written in
    place (:func:`dedup.storage.writes_in_place`). Its ``name`` is the destination, so a
    gzip header records the real file name.
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
        """Close after flushing to disk: the commit's rename must find the data there.

        (A pipe or a device has no disk to flush to.)
        """
        if not self.closed and stat.S_ISREG(os.fstat(self.fileno()).st_mode):
            try:
                os.fsync(self.fileno())
            except OSError as error:
                super().close()
                raise write_error(error, self.destination) from error
        super().close()


class AtomicOutputs:
    """Temporary files and folders that become the real outputs only on :meth:`commit`.

    Each output is created as a hidden ``.NAME.dedup-HOST-PID-XXXX.tmp`` next to its
    destination (same file system, so the final ``os.replace`` is atomic), with the mode
    the destination will have. :meth:`abort` removes them; so does the next run when
    this one was killed (:func:`dedup.storage.remove_stale_temporaries`). Write errors
    (a full disk) name the destination.
    """

    def __init__(self) -> None:
        # (temporary, destination, kind): kind "file", "folder", "saved" (a temporary
        # folder holding the file a library save writes, see path()), or "kept" (see file_at()).
        self._pending: list[tuple[str, str, str]] = []
        self._handles: list[IO] = []

    def _temporary(self, destination: str, kind: str) -> str:
        folder = os.path.dirname(os.path.abspath(destination))
        if not os.path.isdir(folder):
            raise UsageError(f"output folder does not exist: {folder}")
        with self.naming(destination):
            temporary = create_temporary(destination, folder=kind != "file")
        self._pending.append((temporary, destination, kind))
        return temporary

    def _open(self, target: str | int, destination: str) -> BinaryIO:
        handle = io.BufferedWriter(OutputFile(target, destination))
        self._handles.append(handle)
        return handle  # type: ignore[return-value]

    @staticmethod
    @contextlib.contextmanager
    def naming(destination: str) -> Iterator[None]:
        """Retell an ``OSError`` raised inside the block as one about writing ``destination``."""
        try:
            yield
        except OSError as error:
            raise write_error(error, destination) from error

    def file(self, destination: str) -> BinaryIO:
        """A binary stream whose content becomes ``destination`` on commit (stdout for ``-``).

        A device, FIFO, socket or ``/dev/stdout`` (:func:`dedup.storage.writes_in_place`)
        is written straight into as the run goes: it cannot be replaced.
        """
        if destination == STDIO:
            return sys.stdout.buffer
        if os.path.isdir(destination):
            raise UsageError(f"output {destination} is a folder; name a file")
        if writes_in_place(destination):
            with self.naming(destination):
                return self._open(open_in_place(destination), destination)
        return self._open(self._temporary(destination, "file"), destination)

    def file_at(self, path: str, destination: str, *, append: bool = False) -> BinaryIO:
        """A stream writing ``path``, a file the caller names and keeps (:meth:`abort`
        leaves it), which becomes ``destination`` on commit; ``append`` continues it."""
        with self.naming(destination):
            handle = io.BufferedWriter(OutputFile(path, destination, "ab" if append else "wb"))
        self._handles.append(handle)
        self._pending.append((path, destination, "kept"))
        return handle  # type: ignore[return-value]

    def path(self, destination: str) -> str:
        """A path that becomes ``destination`` on commit, for a save that writes its own file.

        The path lies in a hidden temporary folder next to ``destination`` (so a save that
        makes temporaries of its own leaves them where the next run finds them); the
        commit gives it the mode of the file it replaces. Wrap the
        writing in :meth:`naming` so that its errors name ``destination``.
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
        with self.naming(final):
            os.makedirs(os.path.dirname(temporary), exist_ok=True)
            return self._open(temporary, final)

    def commit(self) -> None:
        """Rename every temporary over its destination, as one.

        With more than one output, a journal listing the renames is written next to
        every destination first (see :func:`complete_interrupted_commit`): a process
        killed between two renames leaves it, and the next run writing any of these
        outputs completes the renames before anything else, so the outputs never stay a
        mix of this run's and the previous one's.
        """
        for handle in self._handles:
            handle.close()  # flushes, fsyncs (OutputFile.close); a closed one already did
        journals = _write_commit_journals(self._pending) if len(self._pending) > 1 else []
        for temporary, destination, kind in self._pending:
            with self.naming(destination):
                _finish_output(temporary, destination, kind)
        _remove_commit_journals(journals)
        self._pending.clear()
        self._handles.clear()

    def abort(self) -> None:
        for handle in self._handles:
            try:
                handle.close()
            except OSError:
                pass
        for temporary, _, kind in self._pending:
            if kind != "kept":
                discard_temporary(temporary)
        self._pending.clear()
        self._handles.clear()


def _finish_output(temporary: str, destination: str, kind: str) -> None:
    """Put one complete temporary in place (kinds as in ``AtomicOutputs._pending``)."""
    if kind == "folder":
        _replace_folder(temporary, destination)
    elif kind == "saved":
        finish_temporary(os.path.join(temporary, os.path.basename(destination)), destination)
        discard_temporary(temporary)
    else:  # "file", "kept"
        finish_temporary(temporary, destination)


def commit_journal_path(destination: str) -> str:
    """Where the journal of a commit that includes ``destination`` lies: ``.NAME.dedup-commit`` next to it."""
    folder, name = os.path.split(os.path.abspath(destination))
    return os.path.join(folder, f".{name}.dedup-commit")


def _write_commit_journals(pending: list[tuple[str, str, str]]) -> list[str]:
    body = json.dumps({"host": host_tag(), "pid": os.getpid(), "renames": pending}).encode("utf-8")
    journals = []
    for _, destination, _ in pending:  # one next to every output: a run writing any of them finds it
        journals.append(commit_journal_path(destination))
        with AtomicOutputs.naming(destination):
            atomic_write(journals[-1], lambda handle: handle.write(body))
    return journals


def _remove_commit_journals(journals: list[str]) -> None:
    for journal in journals:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(journal)
    for folder in {os.path.dirname(journal) for journal in journals}:
        fsync_directory(folder)


def complete_interrupted_commit(destinations: list[str]) -> list[str]:
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
        if not writer_gone(journal, host, pid):
            continue
        for temporary, target, kind in renames:
            source = os.path.join(temporary, os.path.basename(target)) if kind == "saved" else temporary
            if os.path.lexists(source):
                with AtomicOutputs.naming(target):
                    _finish_output(temporary, target, kind)
                finished.append(target)
        _remove_commit_journals([commit_journal_path(target) for _, target, _ in renames])
    return finished


def _replace_folder(temporary: str, destination: str) -> None:
    """Move a complete temporary folder to ``destination``, replacing a folder there.

    A folder cannot be replaced in one portable rename: the old one is renamed to a
    temporary name first and removed after. A process killed between the two renames
    leaves the old folder under that temporary name (``.old``): the next run puts it
    back (:func:`dedup.storage.remove_stale_temporaries`).
    """
    set_final_mode(temporary, destination)
    if not os.path.isdir(destination):
        os.rename(temporary, destination)
    else:
        old = temporary[: -len(".tmp")] + ".old"
        os.rename(destination, old)
        os.rename(temporary, destination)
        shutil.rmtree(old, ignore_errors=True)
    fsync_directory(os.path.dirname(os.path.abspath(destination)))
