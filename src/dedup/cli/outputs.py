"""Where a command writes: checks on the output paths, and the writers for files and folders."""

from __future__ import annotations

import argparse
import os
import stat
import sys
from typing import BinaryIO

from ..atomic import writes_in_place
from .commit import AtomicOutputs
from .errors import OutputError, UsageError
from .inputs import STDIO, Input, InputFile, split_suffixes
from .readers import parquet_schema
from .writers import RecordWriter


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


def display_name(path: str | None) -> str:
    """The name a writer reports in messages: empty for stdout or no path."""
    return "" if path in (None, STDIO) else path  # type: ignore[return-value]


def open_output(outputs: AtomicOutputs, flag: str, path: str) -> BinaryIO:
    """The (temporary) stream for output ``path``; an error names the option and the user's path.

    The stream is a hidden temporary file until the run commits, and its name would only
    confuse: the message says which output could not be written.
    """
    try:
        return outputs.file(path)
    except OSError as error:
        # The bare reason: the error may already say "cannot write PATH" (dedup.atomic).
        reason = os.strerror(error.errno) if error.errno else (error.strerror or str(error))
        raise OutputError(f"cannot write {flag} {path}: {reason}") from None


def open_json_lines(outputs: AtomicOutputs, flag: str, path: str) -> RecordWriter:
    """A JSON-lines writer (reports, clusters, rejects) for output ``path`` of option ``flag``."""
    return RecordWriter(open_output(outputs, flag, path), "jsonl", name=display_name(path))


def is_character_device(path: str) -> bool:
    try:
        return stat.S_ISCHR(os.stat(path).st_mode)
    except OSError:
        return False


def check_paths(inp: Input, outputs: dict[str, str | None]) -> None:
    """Refuse any output whose folder does not exist, or that would overwrite the input, lie
    inside an input folder, or another output.

    ``outputs`` maps each option (``-o``, ``--report``...) to the path the user gave.
    """
    named = [(flag, path) for flag, path in outputs.items() if path and path != STDIO]
    for flag, path in named:
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            raise UsageError(f"{flag} {path}: the folder {folder} does not exist")
        for file in inp.files:
            if file.path != STDIO and same_path(path, file.path):
                raise UsageError(f"{flag} {path} is the input file; refusing to overwrite the input")
        if inp.is_dir and (is_inside(path, inp.root) or is_inside(inp.root, path)):
            raise UsageError(f"{flag} {path} overlaps the input folder {inp.root}; choose a path outside it")
        if flag in ("--state", "--store") and writes_in_place(path):
            raise UsageError(f"{flag} {path} is not a regular file: the next run must read the {flag[2:]} back from it")
    for i, (flag, path) in enumerate(named):
        for other_flag, other in named[i + 1 :]:
            if same_path(path, other) and not is_character_device(path):  # /dev/null takes any number
                raise UsageError(f"{flag} and {other_flag} name the same file {path}")
    stdout_users = [flag for flag, path in outputs.items() if path == STDIO]
    if len(stdout_users) > 1:
        raise UsageError(f"only one of {', '.join(stdout_users)} can write to stdout")


def open_main_output(
    args: argparse.Namespace, inp: Input, outputs: AtomicOutputs, fmt: str | None
) -> tuple[RecordWriter | None, str | None]:
    """The writer for a single-file output, or the temporary folder for a folder output."""
    if inp.is_dir and args.command == "clean":
        if args.output == STDIO:
            raise UsageError("a folder input needs -o OUTPUT_FOLDER")
        return None, outputs.folder(args.output)
    named, _ = split_suffixes(args.output) if args.output != STDIO else (None, None)
    if fmt is not None and named is not None and named != fmt:
        raise UsageError(
            f"the output has the input's format ({fmt}), but -o {args.output} names a {named} file; "
            "choose a matching extension"
        )
    if fmt == "parquet" and args.output == STDIO and sys.stdout.isatty():
        raise UsageError("refusing to write Parquet to a terminal; use -o FILE.parquet or a pipe")
    stream = open_output(outputs, "-o", args.output)
    schema = parquet_schema(inp.files[0]) if fmt == "parquet" else None
    writer = RecordWriter(stream, fmt or "jsonl", text_field=args.text_field, name=display_name(args.output),
                          schema=schema, source=inp.files[0])
    return writer, None


class FileRecordWriter(RecordWriter):
    """A writer that also closes its file (files inside a temporary output folder)."""

    def __init__(self, stream, fmt: str, *, text_field: str, name: str, schema=None,
                 source: InputFile | None = None) -> None:
        self.file = stream
        super().__init__(stream, fmt, text_field=text_field, name=name, schema=schema, source=source)

    def close(self) -> None:
        super().close()
        self.file.close()


def folder_writer(outputs: AtomicOutputs, folder: str, file: InputFile, args: argparse.Namespace) -> RecordWriter:
    """The writer for input ``file``'s counterpart in the temporary output ``folder``.

    Write errors name the file under the real output folder, never the temporary one.
    """
    stream = outputs.file_in(folder, file.relpath)
    schema = parquet_schema(file) if file.format == "parquet" else None
    return FileRecordWriter(stream, file.format, text_field=args.text_field, name=stream.name, schema=schema,
                            source=file)
