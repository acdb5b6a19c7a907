"""Writing records: each record with its new text, in its input's format, every other field kept.

JSONL records whose text did not change are copied byte for byte, CSV/TSV outputs copy
their input's layout (delimiter, header line, line ending), and an output named
``.gz``/``.zst``/``.bz2``/``.xz`` is compressed.
"""

from __future__ import annotations

import csv
import io
from typing import Any, BinaryIO

from ..jsonlines import has_surrogates, json_line
from .compression import open_compressed_writer
from .errors import InputError, UsageError
from .extras import import_pyarrow
from .inputs import FORMATS, PARQUET_BATCH_ROWS, CsvLayout, InputFile, split_suffixes
from .records import Record


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
        self._stream = open_compressed_writer(stream, split_suffixes(name)[1], name) if name else stream
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
            if len(self._rows) >= PARQUET_BATCH_ROWS:
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

    def flush(self) -> None:
        """Hand what was written so far to the stream's reader (a pipe's). A compressed
        stream or a Parquet file keeps its data until it is closed: flushed midway, its
        bytes would depend on when the run flushed."""
        if self._stream is self._raw and self.format != "parquet":
            self._raw.flush()

    def _flush_parquet(self) -> None:
        pa = import_pyarrow(f"writing {self.name or 'Parquet'}")
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
