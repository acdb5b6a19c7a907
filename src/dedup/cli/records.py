"""Records: one document read from the input, or the error read in its place.

A *record* is one document: a JSONL line, a Parquet row, a CSV/TSV row (after the
header line; a quoted field may span lines) or a whole plain-text file. The readers
(:mod:`dedup.cli.readers`) never raise on bad data: they yield a :class:`RecordError`
(file, line, message and the verbatim bytes) in place of the record, so the caller
decides between failing and skipping, and skipped records can be written to a rejects
file byte for byte.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from typing import Any

from ..jsonlines import json_line


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
    # The system could not read it (an I/O error): reading it again may work.
    unreadable: bool = False

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

    @classmethod
    def damaged_file(cls, source: str, error: BaseException, after_line: int | None = None) -> RecordError:
        """The file-level error of a file that cannot be opened or read to its end."""
        unreadable = isinstance(error, OSError) and error.errno is not None and not isinstance(error, gzip.BadGzipFile)
        if unreadable:
            message = f"cannot read it: {os.strerror(error.errno)}"
        elif isinstance(error, EOFError):
            message = "compressed data end early (the file is truncated)"
        else:
            message = f"compressed data are damaged ({one_line(error)})"
        if after_line:
            message += f"; the records of its first {after_line} lines were read"
        return cls(source, after_line + 1 if after_line else 0, message, unit="file", unreadable=unreadable)


def one_line(error: BaseException) -> str:
    """An exception's message on one line (pyarrow's messages span several)."""
    return " ".join(str(error).split())
