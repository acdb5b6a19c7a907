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

See ``docs/cli.md`` for examples.
"""

from __future__ import annotations

import argparse
import bisect
import inspect
import multiprocessing
import os
import signal
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from . import __version__
from .text import TOKEN_MODES
from ._validate import check_fraction, check_int
from .io import (
    FORMATS,
    STDIO,
    AtomicOutputs,
    Input,
    InputError,
    InputFile,
    Record,
    RecordError,
    RecordWriter,
    UsageError,
    is_inside,
    open_input,
    parquet_schema,
    read_records,
    same_path,
    split_suffixes,
)

EXIT_OK = 0
EXIT_DATA = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_PIPE = 141
EXIT_TERMINATED = 143

SCOPES = ("within", "across", "both")
# Work sent to one worker process at a time: small enough to keep all workers busy and
# the memory bounded, large enough that pickling and scheduling cost little per document.
_CHUNK_DOCS = 64
_CHUNK_CHARS = 1 << 20
_CHUNKS_PER_JOB_IN_FLIGHT = 3
_MAX_SKIP_MESSAGES = 20


class DataError(Exception):
    """A bad record with ``--on-error fail`` (exit code 1)."""


class Terminated(BaseException):
    """SIGTERM arrived; raised in the main process so that temporary outputs are removed."""


# --------------------------------------------------------------------------- arguments


def _fraction(name: str) -> Callable[[str], float]:
    def parse(value: str) -> float:
        try:
            number = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a number in (0, 1], got {value!r}") from None
        try:
            return check_fraction(name, number, closed_high=True)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return parse


def _integer(name: str, minimum: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be an integer >= {minimum}, got {value!r}") from None
        try:
            return check_int(name, number, minimum)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return parse


def _default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


EPILOG = """exit codes:
  0    success (records skipped with --on-error skip are listed on stderr and in --rejects)
  1    bad input data with --on-error fail (message names file and line), unreadable input,
       processing failed (e.g. a worker was killed)
  2    usage error: bad option, input not found, output would overwrite the input,
       missing optional package
  130  interrupted (Ctrl-C), 143 terminated (SIGTERM), 141 output pipe closed early
  No output file is created or replaced unless the exit code is 0.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dedup",
        description="Find and remove near-duplicate text in corpus files (JSONL, Parquet, plain text).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"dedup {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def common(sub: argparse.ArgumentParser, output_help: str) -> None:
        sub.add_argument("input", metavar="IN", help="file (JSONL, Parquet, text; may be .gz/.zst), folder, or - for stdin")
        sub.add_argument("-o", "--output", metavar="OUT", default=STDIO, help=output_help)
        sub.add_argument(
            "--format", choices=("auto",) + FORMATS, default="auto",
            help="input format (default: from the file extension, else from the content)",
        )
        sub.add_argument("--text-field", default="text", metavar="NAME", help="JSONL field / Parquet column with the text (default: text)")
        sub.add_argument(
            "--id-field", default=None, metavar="NAME",
            help="field with the document id (default: 'id' if present, else FILE:LINE); if given, it must be present",
        )
        sub.add_argument(
            "--on-error", choices=("fail", "skip"), default="fail",
            help="bad record (invalid JSON or UTF-8, missing or non-string field): stop with exit code 1 (default), or skip it",
        )
        sub.add_argument("--rejects", metavar="FILE", help="write skipped records here, verbatim (JSONL input) or as JSON lines")
        sub.add_argument(
            "-j", "--jobs", type=_integer("--jobs", 1), default=None, metavar="N",
            help="worker processes (default: all cores); the output does not depend on it",
        )
        sub.add_argument("-q", "--quiet", action="store_true", help="no progress bar and no summary on stderr")

    def matching(sub: argparse.ArgumentParser, within: bool) -> None:
        group = sub.add_argument_group("matching (defaults: the library's)")
        group.add_argument("--threshold", type=_fraction("--threshold"), help="minimum Jaccard similarity, in (0, 1]")
        group.add_argument("--ngram", type=_integer("--ngram", 1), help="words per shingle")
        group.add_argument("--num-perm", type=_integer("--num-perm", 1), help="MinHash permutations")
        group.add_argument("--seed", type=_integer("--seed", 0), help="MinHash seed")
        group.add_argument(
            "--mode", choices=TOKEN_MODES,
            help="tokens: auto (default): words, and single characters of scripts written without spaces "
            "(Chinese, Japanese, Thai, ...); word; char",
        )
        if within:
            group.add_argument("--min-length", type=_integer("--min-length", 1), help="shortest repeat removed, in words")
            group.add_argument("--max-gap", type=_integer("--max-gap", 0), help="longest edited stretch bridged inside one repeat, in words")
            group.add_argument(
                "--scope", choices=SCOPES, default="within",
                help="within: repeats inside each document (default); across: passages seen in earlier documents; both",
            )
            group.add_argument(
                "--state", metavar="FILE",
                help="across-document memory: loaded if FILE exists, saved back after a successful clean run",
            )

    def command(name: str, summary: str, description: str) -> argparse.ArgumentParser:
        return commands.add_parser(
            name, help=summary, description=description,
            epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    clean = command(
        "clean", "remove repeated passages; write the records back",
        "Remove repeated passages; write the records back in the same format and order.",
    )
    common(clean, "output file or folder (default: - for stdout); .gz/.zst compress")
    matching(clean, within=True)
    clean.add_argument("--report", metavar="FILE", help="also write what was removed as JSONL (see 'dedup explain')")

    explain = command(
        "explain", "report what 'clean' would remove and why, as JSONL",
        "Report every span 'clean' would remove: document, span, earlier span it repeats, similarity.",
    )
    common(explain, "report file (default: - for stdout)")
    matching(explain, within=True)

    dups = command(
        "dups", "clusters of near-duplicate documents, as JSONL",
        "Find clusters of near-duplicate documents; one JSON line per cluster.",
    )
    common(dups, "clusters file (default: - for stdout)")
    matching(dups, within=False)
    return parser


# --------------------------------------------------------------------------- progress and summary


class Progress:
    """Progress on a terminal (silent when stderr is not one): documents and documents/s.

    With input files of known size the bar also shows bytes read against the total, so
    it gives a percentage and an ETA; for stdin it counts documents only.
    """

    def __init__(self, enabled: bool, description: str, files: Sequence[InputFile] = ()) -> None:
        self._bar = None
        self._enabled = enabled
        self._docs = 0
        self._started = time.perf_counter()
        self._last = 0.0
        self._finished_bytes = 0
        self._shown_bytes = 0
        total = sum(f.size for f in files)
        self._by_bytes = bool(files) and all(f.path != STDIO for f in files) and total > 0
        if not enabled:
            return
        try:
            from tqdm import tqdm
        except ImportError:
            return  # fall back to a plain counter line
        if self._by_bytes:
            self._bar = tqdm(total=total, desc=description, unit="B", unit_scale=True, unit_divisor=1024,
                             file=sys.stderr, dynamic_ncols=True, smoothing=0.1)
        else:
            self._bar = tqdm(desc=description, unit=" docs", file=sys.stderr, dynamic_ncols=True, smoothing=0.1)

    def update(self, docs: int, current: InputFile | None = None) -> None:
        """``docs`` more documents done; ``current`` is the file they came from."""
        self._docs += docs
        if not self._enabled:
            return
        now = time.perf_counter()
        rate = self._docs / max(now - self._started, 1e-9)
        if self._bar is None:
            if now - self._last > 0.5:
                self._last = now
                sys.stderr.write(f"\r{self._docs:,} docs  {rate:,.0f} docs/s")
                sys.stderr.flush()
        elif self._by_bytes:
            done = self._finished_bytes + (current.consumed() if current is not None else 0)
            self._bar.set_postfix_str(f"{self._docs:,} docs, {rate:,.0f} docs/s", refresh=False)
            self._bar.update(max(0, done - self._shown_bytes))
            self._shown_bytes = max(done, self._shown_bytes)
        else:
            self._bar.update(docs)

    def file_done(self, file: InputFile) -> None:
        self._finished_bytes += file.size

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self._enabled and self._last:
            sys.stderr.write("\n")
        self._bar, self._enabled = None, False  # closing twice is harmless


@dataclass
class Stats:
    files: int = 0
    docs_in: int = 0
    docs_out: int = 0
    docs_changed: int = 0
    docs_emptied: int = 0
    skipped: int = 0
    chars_in: int = 0
    chars_removed: int = 0
    spans: dict = field(default_factory=lambda: {"within": 0, "across": 0})
    docs_with: dict = field(default_factory=lambda: {"within": 0, "across": 0})
    kinds: tuple = ("within",)
    spans_known: bool = False  # spans are counted only when a report is written


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def _summary(command: str, stats: Stats, seconds: float, extra: str = "") -> str:
    rate = stats.docs_in / seconds if seconds > 0 else 0.0
    lines = [f"dedup {command}: {_plural(stats.docs_in, 'document')} in"]
    if stats.files > 1:
        lines[0] += f" (from {stats.files:,} files)"
    if command == "clean":
        lines[0] += f", {stats.docs_out:,} out"
    if stats.skipped:
        lines[0] += f", {_plural(stats.skipped, 'bad record')} skipped"
    if command != "dups":
        share = 100.0 * stats.chars_removed / stats.chars_in if stats.chars_in else 0.0
        verb = "removed" if command == "clean" else "to remove"
        lines.append(f"  characters: {stats.chars_in:,} in, {stats.chars_removed:,} {verb} ({share:.2f}%)")
        for kind, label in (("within", "repeats inside the document"), ("across", "passages seen in earlier documents")):
            if kind in stats.kinds:
                line = f"  {label}: {_plural(stats.docs_with[kind], 'document')} changed"
                if stats.spans_known:
                    line += f", {_plural(stats.spans[kind], 'span')}"
                lines.append(line)
        if stats.docs_emptied:
            lines.append(f"  documents left empty: {stats.docs_emptied:,}")
    if extra:
        lines.append(extra)
    lines.append(f"  time: {seconds:.1f} s ({rate:,.0f} docs/s)")
    return "\n".join(lines)


# --------------------------------------------------------------------------- the library calls


def _accepted(function: Callable, options: dict) -> tuple[dict, list[str]]:
    """Split options into those ``function`` accepts as keywords and those it does not."""
    parameters = inspect.signature(function).parameters
    if any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        return dict(options), []
    kept = {k: v for k, v in options.items() if k in parameters}
    return kept, [k for k in options if k not in parameters]


def _given(args: argparse.Namespace, names: Sequence[str]) -> dict:
    """The options the user set explicitly: everything else keeps the library's default."""
    return {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}


def _within_worker(payload: tuple[list[str], dict, bool]) -> list[tuple[str | None, list[tuple] | None]]:
    """Clean one chunk of texts (runs in a worker process).

    Returns one (cleaned text, or ``None`` when unchanged, to save sending it back;
    the repeats found, when ``explain``) per text. The cleaned text is always
    ``clean_many``'s, so a report never changes what ``clean`` writes.
    """
    texts, params, explain = payload
    from . import repeats

    if not explain:
        cleaned = repeats.clean_many(texts, **params)
        return [(None if new is old else new, None) for new, old in zip(cleaned, texts)]
    # The report needs the repeats, with offsets into the original text: find them, remove
    # them, and let clean_many finish the texts that changed. A removal can join text into
    # a new repeat; clean_many removes it too, but that second round is not in the report.
    found = repeats.find_repeats_many(texts, **params)
    out: list[tuple[str | None, list[tuple] | None]] = []
    changed = []
    for text, reps in zip(texts, found):
        spans = [(r.start, r.end, r.source_start, r.source_end, float(r.similarity)) for r in reps]
        if spans:
            changed.append(len(out))
            out.append((repeats.remove_spans(text, [(r.start, r.end) for r in reps]), spans))
        else:
            out.append((None, spans))
    if changed:
        finished = repeats.clean_many([out[i][0] for i in changed], **params)
        for i, text in zip(changed, finished):
            out[i] = (text, out[i][1])
    return out


def _identity_worker(payload: tuple[list[str], dict, bool]) -> list[tuple[str | None, list[tuple] | None]]:
    texts, _, explain = payload
    return [(None, [] if explain else None) for _ in texts]


def _ignore_sigint() -> None:
    # The main process handles Ctrl-C and terminates the pool; workers stay quiet.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


class ChunkFailed(Exception):
    """Processing a chunk of records raised: says which records, keeps the original error."""

    def __init__(self, records: Any, error: BaseException) -> None:
        where = ""
        if isinstance(records, list) and records and isinstance(records[0], Record):
            first, last = records[0], records[-1]
            lines = f"{first.line}" if first.line == last.line else f"{first.line}-{last.line}"
            where = f" in records {first.source}:{lines}" if first.source == last.source else f" from {first.source}"
        super().__init__(f"processing failed{where}: {type(error).__name__}: {error}")


class OrderedPool:
    """Runs a function over chunks in worker processes and yields the results in input order.

    At most ``jobs * 3`` chunks are in flight, so memory stays bounded on any input size.
    With ``jobs == 1`` the function runs in this process: the same code, the same output.
    A worker that dies (e.g. killed for lack of memory) fails the run instead of hanging it.
    """

    def __init__(self, function: Callable, jobs: int) -> None:
        self.function = function
        self.jobs = jobs
        self._pool: ProcessPoolExecutor | None = None
        if jobs > 1:
            # Build the tokenizer's lookup tables once here: forked workers share them
            # instead of each spending a few hundred milliseconds building its own.
            from .text import tokenize

            tokenize(["warm up"])
            methods = multiprocessing.get_all_start_methods()
            context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
            self._pool = ProcessPoolExecutor(jobs, mp_context=context, initializer=_ignore_sigint)

    def run(self, items: Iterable[tuple[str, Any, Any]]) -> Iterator[tuple[str, Any, Any]]:
        """``items`` are (kind, payload, context); for kind "chunk" the result replaces the payload."""
        window = self.jobs * _CHUNKS_PER_JOB_IN_FLIGHT
        pending: deque = deque()
        in_flight = 0
        for kind, payload, context in items:
            if kind == "chunk" and self._pool is not None:
                try:
                    future = self._pool.submit(self.function, payload)
                except Exception as error:
                    raise ChunkFailed(context, error) from error
                pending.append((kind, future, context))
                in_flight += 1
            else:
                pending.append((kind, payload, context))
            while pending and (in_flight >= window or self._ready(pending[0])):
                item = self._resolve(pending.popleft())
                in_flight -= item[0] == "chunk" and self._pool is not None
                yield item
        while pending:
            yield self._resolve(pending.popleft())

    def _ready(self, item: tuple) -> bool:
        kind, payload, _ = item
        return kind != "chunk" or self._pool is None or payload.done()

    def _resolve(self, item: tuple) -> tuple:
        kind, payload, context = item
        if kind != "chunk":
            return item
        try:
            return kind, (self.function(payload) if self._pool is None else payload.result()), context
        except Exception as error:
            raise ChunkFailed(context, error) from error

    def close(self, ok: bool) -> None:
        if self._pool is None:
            return
        if not ok:
            # Stop at once: workers are busy with chunks whose results nobody will read.
            for process in list(getattr(self._pool, "_processes", {}).values()):
                process.terminate()
        self._pool.shutdown(wait=True, cancel_futures=not ok)
        self._pool = None


def _events(inp: Input, text_field: str, id_field: str | None) -> Iterator[tuple[str, Any, Any]]:
    """The input as a stream: ("start", file), records / errors, ("end", file), file by file."""
    for file in inp.files:
        yield "start", file, None
        for item in read_records(file, text_field=text_field, id_field=id_field):
            if isinstance(item, RecordError):
                yield "error", item, None
            else:
                yield "record", item, None
        yield "end", file, None


def _chunks(events: Iterator[tuple[str, Any, Any]], params: dict, explain: bool) -> Iterator[tuple[str, Any, Any]]:
    """Group consecutive records into chunks; the payload is the texts, the context the records."""
    records: list[Record] = []
    chars = 0
    for kind, payload, context in events:
        if kind == "record":
            records.append(payload)
            chars += len(payload.text)
            if len(records) >= _CHUNK_DOCS or chars >= _CHUNK_CHARS:
                yield "chunk", ([r.text for r in records], params, explain), records
                records, chars = [], 0
            continue
        if records:  # keep the order: records before this event go out first
            yield "chunk", ([r.text for r in records], params, explain), records
            records, chars = [], 0
        yield kind, payload, context
    if records:
        yield "chunk", ([r.text for r in records], params, explain), records


class Across:
    """The across-document pass: a ``dedup.corpus.Deduplicator(scope="across")`` fed in input order.

    It runs in the main process on the text left by the within-document pass, one chunk
    at a time (``add_many``: one NumPy pass per chunk, each document still sees all
    documents before it), so its result does not depend on ``--jobs``.
    """

    def __init__(self, args: argparse.Namespace) -> None:
        from .corpus import Deduplicator

        options = _given(args, ("threshold", "num_perm", "ngram", "mode", "seed", "min_length"))
        if args.state and os.path.exists(args.state):
            try:
                # Options given on the command line must agree with the state's signature
                # parameters (load raises otherwise) and replace its threshold / min_length.
                self.dedup = Deduplicator.load(args.state, **dict(options, scope="across"))
            except ValueError as error:
                if "differs from" in str(error):
                    raise UsageError(f"--state {args.state}: {error}") from None
                raise InputError(f"cannot load --state {args.state}: {error}") from None
            except OSError as error:
                raise InputError(f"cannot load --state {args.state}: {error}") from None
        else:
            try:
                self.dedup = Deduplicator(**dict(options, scope="across"))
            except ValueError as error:  # e.g. --threshold 1, which only --scope within accepts
                raise UsageError(f"--scope {args.scope}: {error} (the across-document pass)") from None

    def process(self, texts: list[str], ids: list[Any]) -> list[tuple[str, list]]:
        """For each text: (text without passages seen in earlier documents, the matches)."""
        from .repeats import remove_spans

        found = self.dedup.add_many(texts, ids)
        return [
            (remove_spans(text, [(m.start, m.end) for m in matches]) if matches else text, matches)
            for text, matches in zip(texts, found)
        ]

    def save(self, path: str) -> None:
        self.dedup.save(path)


def _offset_map(original: str, cleaned: str) -> Callable[[int], int]:
    """Offsets in ``cleaned`` (``original`` with some ranges deleted) -> offsets in ``original``.

    Walks both strings once, leftmost match: exact for deletions, which is all cleaning does.
    """
    kept: list[tuple[int, int]] = []  # (offset in cleaned, offset in original) where a kept run starts
    i = j = 0
    while j < len(cleaned):
        while i < len(original) and original[i] != cleaned[j]:
            i += 1
        if i == len(original):  # not a deletion of the original: report offsets unmapped
            return lambda position: position
        start_i, start_j = i, j
        while j < len(cleaned) and i < len(original) and original[i] == cleaned[j]:
            i += 1
            j += 1
        kept.append((start_j, start_i))
    starts = [k[0] for k in kept]

    def to_original(position: int) -> int:
        k = bisect.bisect_right(starts, position) - 1
        if k < 0:
            return position
        return kept[k][1] + position - kept[k][0]

    return to_original


def _warn(message: str) -> None:
    sys.stderr.write(f"dedup: warning: {message}\n")


# --------------------------------------------------------------------------- commands


def _check_paths(args: argparse.Namespace, inp: Input, outputs: dict[str, str]) -> None:
    """Refuse any output that would overwrite the input, lie inside an input folder, or another output."""
    named = [(flag, path) for flag, path in outputs.items() if path and path != STDIO]
    for flag, path in named:
        for file in inp.files:
            if file.path != STDIO and same_path(path, file.path):
                raise UsageError(f"{flag} {path} is the input file; refusing to overwrite the input")
        if inp.is_dir and (is_inside(path, inp.root) or is_inside(inp.root, path)):
            raise UsageError(f"{flag} {path} overlaps the input folder {inp.root}; choose a path outside it")
    for i, (flag, path) in enumerate(named):
        for other_flag, other in named[i + 1 :]:
            if same_path(path, other):
                raise UsageError(f"{flag} and {other_flag} name the same file {path}")
    stdout_users = [flag for flag, path in outputs.items() if path == STDIO]
    if len(stdout_users) > 1:
        raise UsageError(f"only one of {', '.join(stdout_users)} can write to stdout")


def _handle_error(error: RecordError, args: argparse.Namespace, stats: Stats, rejects: RecordWriter | None) -> None:
    if args.on_error == "fail":
        raise DataError(f"{error} (use --on-error skip to skip bad records)")
    stats.skipped += 1
    if rejects is not None:
        rejects.write_bytes(error.reject_bytes())
    if not args.quiet:
        if stats.skipped <= _MAX_SKIP_MESSAGES:
            sys.stderr.write(f"dedup: skipped {error}\n")
        elif stats.skipped == _MAX_SKIP_MESSAGES + 1:
            sys.stderr.write("dedup: further skipped records are not shown" + (" (see --rejects)\n" if rejects else "\n"))


def _open_main_output(args, inp: Input, outputs: AtomicOutputs, fmt: str | None) -> tuple[RecordWriter | None, str | None]:
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
    stream = outputs.file(args.output)
    name = "" if args.output == STDIO else args.output
    schema = parquet_schema(inp.files[0]) if fmt == "parquet" else None
    return RecordWriter(stream, fmt or "jsonl", text_field=args.text_field, name=name, schema=schema), None


def run_clean(args: argparse.Namespace, explain: bool) -> int:
    started = time.perf_counter()
    inp = open_input(args.input, None if args.format == "auto" else args.format)
    report_path = args.output if explain else args.report
    if explain:  # explain writes only the report (-o) and reads --state without saving it
        written = {"-o": report_path, "--rejects": args.rejects}
    else:
        written = {"-o": args.output, "--report": args.report, "--rejects": args.rejects, "--state": args.state}
    _check_paths(args, inp, written)
    if args.state and args.scope == "within":
        raise UsageError("--state keeps the across-document memory: use it with --scope across or both")
    for ignored in inp.ignored[:5]:
        _warn(f"ignored {os.path.join(inp.root, ignored)} (unknown format)")
    if len(inp.ignored) > 5:
        _warn(f"ignored {len(inp.ignored) - 5} more files of unknown format")

    within = args.scope in ("within", "both")
    want_report = explain or bool(args.report)
    params: dict = {}
    worker = _identity_worker
    if within:
        try:
            from . import repeats
        except ImportError as error:
            raise UsageError(f"dedup.repeats is not available: {error}") from None
        params, unknown = _accepted(repeats.find_repeats, _given(args, ("threshold", "ngram", "mode", "min_length", "max_gap")))
        extra = _given(args, ("num_perm", "seed"))
        if args.scope == "within" and (unknown or extra):
            names = unknown + list(extra)
            _warn("no effect on repeats inside a document: " + ", ".join("--" + k.replace("_", "-") for k in names))
        worker = _within_worker
    across = Across(args) if args.scope in ("across", "both") else None

    outputs = AtomicOutputs()
    pool = None
    progress = None
    ok = False
    kinds = (("within",) if within else ()) + (("across",) if across is not None else ())
    stats = Stats(kinds=kinds, spans_known=want_report)
    try:
        single_format = None if inp.is_dir else inp.files[0].format
        main_writer, out_folder = (None, None) if explain else _open_main_output(args, inp, outputs, single_format)
        report = RecordWriter(outputs.file(report_path), "jsonl", name=_name(report_path)) if want_report else None
        rejects = RecordWriter(outputs.file(args.rejects), "jsonl", name=_name(args.rejects)) if args.rejects else None
        jobs = args.jobs or _default_jobs()
        pool = OrderedPool(worker, jobs if within else 1)
        progress = Progress(not args.quiet and sys.stderr.isatty(), args.command, inp.files)
        writer = main_writer
        current = None
        for kind, payload, context in pool.run(_chunks(_events(inp, args.text_field, args.id_field), params, want_report)):
            if kind == "start":
                stats.files += 1
                current = payload
            elif kind == "end":
                progress.file_done(payload)
                if out_folder is not None:
                    # An empty JSONL/Parquet file gives an empty output file; a rejected
                    # text file gives none (it is in --rejects instead).
                    if writer is None and payload.format != "text":
                        writer = _folder_writer(out_folder, payload, args)
                    if writer is not None:
                        writer.close()
                    writer = None
            elif kind == "error":
                _handle_error(payload, args, stats, rejects)
            else:  # a processed chunk: payload = [(cleaned, repeats)], context = the records
                if out_folder is not None and writer is None:
                    writer = _folder_writer(out_folder, current, args)
                _finish_chunk(context, payload, across, explain, writer, report, stats)
                progress.update(len(context), current)
        if writer is not None:
            writer.close()
        for extra_writer in (report, rejects):
            if extra_writer is not None:
                extra_writer.close()
        if across is not None and args.state and not explain:
            temp = outputs.path(args.state)
            across.save(temp)
        pool.close(ok=True)
        pool = None
        outputs.commit()
        ok = True
    finally:
        if progress is not None:
            progress.close()
        if pool is not None:
            pool.close(ok=False)
        if not ok:
            outputs.abort()
    if not args.quiet:
        where = ""
        if args.rejects and stats.skipped:
            where = f"  skipped records written to {args.rejects}"
        sys.stderr.write(_summary("explain" if explain else "clean", stats, time.perf_counter() - started, where) + "\n")
    return EXIT_OK


def _name(path: str | None) -> str:
    return "" if path in (None, STDIO) else path  # type: ignore[return-value]


def _folder_writer(folder: str, file: InputFile, args: argparse.Namespace) -> RecordWriter:
    destination = os.path.join(folder, file.relpath)
    os.makedirs(os.path.dirname(destination), exist_ok=True)
    schema = parquet_schema(file) if file.format == "parquet" else None
    return _OwningWriter(open(destination, "wb"), file.format, text_field=args.text_field, name=destination, schema=schema)


class _OwningWriter(RecordWriter):
    """A writer that also closes its file (files inside a temporary output folder)."""

    def close(self) -> None:
        super().close()
        self._raw.close()


def _finish_chunk(records: list[Record], results: list, across: Across | None, explain: bool,
                  writer: RecordWriter | None, report: RecordWriter | None, stats: Stats) -> None:
    """Apply the across pass to a processed chunk (in input order), then write, report and count."""
    within = [record.text if cleaned is None else cleaned for record, (cleaned, _) in zip(records, results)]
    if across is not None:
        final = across.process(within, [record.id for record in records])
    else:
        final = [(text, []) for text in within]
    for record, (cleaned, spans), middle, (text, matches) in zip(records, results, within, final):
        stats.docs_in += 1
        stats.chars_in += len(record.text)
        stats.chars_removed += len(record.text) - len(text)
        if cleaned is not None:
            stats.docs_with["within"] += 1
        if text is not middle:
            stats.docs_with["across"] += 1
        if text is not record.text and not text.strip():
            stats.docs_emptied += 1
        stats.spans["within"] += len(spans or ())
        stats.spans["across"] += len(matches)
        if report is not None:
            _report(report, record, spans or [], middle, matches)
        if writer is not None and not explain:
            writer.write(record, text)
            stats.docs_out += 1


def _report(report: RecordWriter, record: Record, spans: list[tuple], middle: str, matches: list) -> None:
    """One JSON line per removed span, with offsets into the record's original text."""
    where = {"id": record.id, "source": record.source, "line": record.line}
    for start, end, source_start, source_end, similarity in spans:
        report.write_json(dict(
            where, kind="within", start=start, end=end, source_id=record.id,
            source_start=source_start, source_end=source_end, similarity=round(similarity, 4),
            text=record.text[start:end],
        ))
    if matches:
        to_original = _offset_map(record.text, middle) if middle is not record.text else (lambda p: p)
        for match in matches:
            report.write_json(dict(
                where, kind="across", start=to_original(match.start), end=to_original(match.end - 1) + 1,
                source_id=match.source_id, source_start=match.source_start, source_end=match.source_end,
                similarity=round(float(match.similarity), 4), text=middle[match.start : match.end],
            ))


def run_dups(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    inp = open_input(args.input, None if args.format == "auto" else args.format)
    _check_paths(args, inp, {"-o": args.output, "--rejects": args.rejects})
    from .corpus import find_duplicates

    options = _given(args, ("threshold", "num_perm", "ngram", "mode", "seed"))
    if args.jobs is not None and args.jobs > 1:
        _warn("--jobs has no effect on dups: it runs in one process")
    outputs = AtomicOutputs()
    stats = Stats()
    ok = False
    progress = Progress(not args.quiet and sys.stderr.isatty(), "dups", inp.files)
    seen: set = set()
    try:
        out = RecordWriter(outputs.file(args.output), "jsonl", name=_name(args.output))
        rejects = RecordWriter(outputs.file(args.rejects), "jsonl", name=_name(args.rejects)) if args.rejects else None

        def documents() -> Iterator[tuple[Any, str]]:
            # Streamed: find_duplicates keeps only signatures, never the texts.
            current = None
            for kind, payload, _ in _events(inp, args.text_field, args.id_field):
                if kind == "start":
                    current = payload
                    stats.files += 1
                elif kind == "end":
                    progress.file_done(payload)
                elif kind == "error":
                    _handle_error(payload, args, stats, rejects)
                elif kind == "record":
                    if payload.id in seen:
                        raise DataError(
                            f"{payload.source}:{payload.line}: document id {payload.id!r} was used before; "
                            "clusters need unique ids (use --id-field NAME with a unique field)"
                        )
                    seen.add(payload.id)
                    stats.docs_in += 1
                    stats.chars_in += len(payload.text)
                    progress.update(1, current)
                    yield payload.id, payload.text

        result = find_duplicates(documents(), **options)
        for record in result.to_records():
            out.write_json(record)
        out.close()
        if rejects is not None:
            rejects.close()
        outputs.commit()
        ok = True
    finally:
        progress.close()
        if not ok:
            outputs.abort()
    if not args.quiet:
        in_clusters = sum(len(c.members) for c in result.clusters)
        extra = f"  clusters: {len(result.clusters):,}, {_plural(in_clusters, 'document')} in them"
        extra += f", {in_clusters - len(result.clusters):,} would be dropped keeping one per cluster"
        if result.empty:
            extra += f"\n  documents without words (never clustered): {len(result.empty):,}"
        sys.stderr.write(_summary("dups", stats, time.perf_counter() - started, extra) + "\n")
    return EXIT_OK


# --------------------------------------------------------------------------- entry point


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``dedup`` command; returns the exit code (see the module docstring).

    Examples
    --------
    >>> main(["clean", "examples/doubled_article.txt", "-o", "cleaned.txt"])  # doctest: +SKIP
    0
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    previous = signal.getsignal(signal.SIGTERM)

    def on_term(signum, frame):
        raise Terminated()

    signal.signal(signal.SIGTERM, on_term)
    try:
        if args.command == "dups":
            return run_dups(args)
        return run_clean(args, explain=args.command == "explain")
    except UsageError as error:
        sys.stderr.write(f"dedup: error: {error}\n")
        return EXIT_USAGE
    except (DataError, InputError, ChunkFailed) as error:
        sys.stderr.write(f"dedup: error: {error}\n")
        return EXIT_DATA
    except ValueError as error:  # the library's parameter checks: a bad option value
        sys.stderr.write(f"dedup: error: {error}\n")
        return EXIT_USAGE
    except OSError as error:
        if isinstance(error, BrokenPipeError):
            _silence_stdout()
            return EXIT_PIPE
        sys.stderr.write(f"dedup: error: {error}\n")
        return EXIT_DATA
    except KeyboardInterrupt:
        sys.stderr.write("dedup: interrupted; no output written\n")
        return EXIT_INTERRUPTED
    except Terminated:
        sys.stderr.write("dedup: terminated; no output written\n")
        return EXIT_TERMINATED
    finally:
        signal.signal(signal.SIGTERM, previous)


def _silence_stdout() -> None:
    # Python flushes stdout at exit; after EPIPE that would print a second error.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass


if __name__ == "__main__":
    sys.exit(main())
