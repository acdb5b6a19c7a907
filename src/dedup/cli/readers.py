"""Reading records: the readers of JSONL, Parquet, CSV/TSV and plain text.

They never raise on bad data: each bad record is a :class:`~dedup.cli.records.RecordError`
in its place, and a truncated or damaged compressed file, or one that cannot be read, is
one for the whole file (``unit="file"``) after the records read before the damage.
Records round-trip byte for byte: each keeps its verbatim bytes where the format has them.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

from ..jsonlines import json_line
from .compression import damaged_data_errors
from .errors import InputError, UsageError
from .extras import import_pyarrow
from .inputs import CSV_DELIMITERS, FORMATS, PARQUET_BATCH_ROWS, PARQUET_MAGIC, STDIO, CsvLayout, InputFile, open_binary
from .records import Record, RecordError, one_line

_CSV_FIELD_LIMIT = 2**31 - 1  # a whole book may sit in one field


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


def _records_of_stream(
    file: InputFile, parse: Callable[[BinaryIO], Iterator[Record | RecordError]]
) -> Iterator[Record | RecordError]:
    """``parse`` of the file's decompressed stream (closed after, unless stdin); a file that
    cannot be opened is one file-level error."""
    try:
        stream = file.open_stream()
    except damaged_data_errors() as error:
        yield RecordError.damaged_file(file.display, error)
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
        except damaged_data_errors() as error:
            yield RecordError.damaged_file(file.display, error, number)
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


def _parquet_source(file: InputFile):
    """A seekable source for pyarrow: the path itself, or the decompressed bytes in memory."""
    if file.path != STDIO:
        with open(file.path, "rb") as fh:
            if fh.read(4) == PARQUET_MAGIC:
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
    pa = import_pyarrow(f"reading {file.display}")
    try:
        return pa.parquet.ParquetFile(_parquet_source(file)).schema_arrow
    except pa.ArrowException as error:
        raise InputError(f"{file.display}: not a readable Parquet file: {one_line(error)}") from None


def _read_parquet(file: InputFile, text_field: str, id_field: str | None) -> Iterator[Record | RecordError]:
    pa = import_pyarrow(f"reading {file.display}")
    source = file.display
    try:
        parquet = pa.parquet.ParquetFile(_parquet_source(file))
    except pa.ArrowException as error:
        yield RecordError(source, 0, f"not a readable Parquet file: {one_line(error)}", unit="file")
        return
    except damaged_data_errors() as error:
        yield RecordError.damaged_file(file.display, error)
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
    file.position = lambda: file.size * number / total_rows
    batches = parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS)
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
        stream = file.open_stream()
        try:
            data = stream.read()
        finally:
            if file.path != STDIO:
                stream.close()
    except damaged_data_errors() as error:
        yield RecordError.damaged_file(file.display, error)
        return
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line, message = _utf8_error(data, error)
        yield RecordError(source, line, message)
        return
    doc_id = file.relpath if file.path != STDIO else source
    yield Record(source, 1, doc_id, text)
