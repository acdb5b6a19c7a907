"""The commands: ``clean`` and ``explain`` (repeats removed or reported) and ``dups`` (clusters)."""

from __future__ import annotations

import argparse
import inspect
import os
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

from ..io import AtomicOutputs, Record, RecordError, RecordWriter, UsageError, open_input
from .across import Across, given_options
from .errors import EXIT_OK, DataError, warn
from .outputs import check_paths, display_name, folder_writer, open_main_output
from .parser import default_jobs
from .pool import OrderedPool
from .progress import Progress, Stats, plural, summary
from .report import write_removed_spans
from .stream import chunks, clean_within, events, keep_as_is

# Beyond this many, skipped records are counted but not each named on stderr.
_MAX_SKIP_MESSAGES = 20


def _accepted(function: Callable, options: dict) -> tuple[dict, list[str]]:
    """Split options into those ``function`` accepts as keywords and those it does not."""
    parameters = inspect.signature(function).parameters
    if any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        return dict(options), []
    kept = {k: v for k, v in options.items() if k in parameters}
    return kept, [k for k in options if k not in parameters]


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


def run_clean(args: argparse.Namespace, explain: bool) -> int:
    """``dedup clean`` (``explain=False``) or ``dedup explain`` (``explain=True``)."""
    started = time.perf_counter()
    inp = open_input(args.input, None if args.format == "auto" else args.format)
    report_path = args.output if explain else args.report
    if explain:  # explain writes only the report (-o) and reads --state without saving it
        written = {"-o": report_path, "--rejects": args.rejects}
    else:
        written = {"-o": args.output, "--report": args.report, "--rejects": args.rejects, "--state": args.state}
    check_paths(inp, written)
    if args.state and args.scope == "within":
        raise UsageError("--state keeps the across-document memory: use it with --scope across or both")
    for ignored in inp.ignored[:5]:
        warn(f"ignored {os.path.join(inp.root, ignored)} (unknown format)")
    if len(inp.ignored) > 5:
        warn(f"ignored {len(inp.ignored) - 5} more files of unknown format")

    within = args.scope in ("within", "both")
    want_report = explain or bool(args.report)
    params: dict = {}
    work = keep_as_is
    if within:
        try:
            from .. import repeats
        except ImportError as error:
            raise UsageError(f"dedup.repeats is not available: {error}") from None
        params, unknown = _accepted(repeats.find_repeats, given_options(args, ("threshold", "ngram", "mode", "min_length", "max_gap")))
        extra = given_options(args, ("num_perm", "seed"))
        if args.scope == "within" and (unknown or extra):
            names = unknown + list(extra)
            warn("no effect on repeats inside a document: " + ", ".join("--" + k.replace("_", "-") for k in names))
        work = clean_within
    across = Across(args) if args.scope in ("across", "both") else None

    outputs = AtomicOutputs()
    pool = None
    progress = None
    ok = False
    kinds = (("within",) if within else ()) + (("across",) if across is not None else ())
    stats = Stats(kinds=kinds, spans_known=want_report)
    try:
        single_format = None if inp.is_dir else inp.files[0].format
        main_writer, out_folder = (None, None) if explain else open_main_output(args, inp, outputs, single_format)
        report = RecordWriter(outputs.file(report_path), "jsonl", name=display_name(report_path)) if want_report else None
        rejects = RecordWriter(outputs.file(args.rejects), "jsonl", name=display_name(args.rejects)) if args.rejects else None
        jobs = args.jobs or default_jobs()
        pool = OrderedPool(work, jobs if within else 1)
        progress = Progress(not args.quiet and sys.stderr.isatty(), args.command, inp.files)
        writer = main_writer
        current = None
        for kind, payload, context in pool.run(chunks(events(inp, args.text_field, args.id_field), params, want_report)):
            if kind == "start":
                stats.files += 1
                current = payload
            elif kind == "end":
                progress.file_done(payload)
                if out_folder is not None:
                    # An empty JSONL/Parquet file gives an empty output file; a rejected
                    # text file gives none (it is in --rejects instead).
                    if writer is None and payload.format != "text":
                        writer = folder_writer(out_folder, payload, args)
                    if writer is not None:
                        writer.close()
                    writer = None
            elif kind == "error":
                _handle_error(payload, args, stats, rejects)
            else:  # a processed chunk: payload = [(cleaned, repeats)], context = the records
                if out_folder is not None and writer is None:
                    writer = folder_writer(out_folder, current, args)
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
        sys.stderr.write(summary("explain" if explain else "clean", stats, time.perf_counter() - started, where) + "\n")
    return EXIT_OK


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
            write_removed_spans(report, record, spans or [], middle, matches)
        if writer is not None and not explain:
            writer.write(record, text)
            stats.docs_out += 1


def run_dups(args: argparse.Namespace) -> int:
    """``dedup dups``: clusters of near-duplicate documents."""
    started = time.perf_counter()
    inp = open_input(args.input, None if args.format == "auto" else args.format)
    check_paths(inp, {"-o": args.output, "--rejects": args.rejects})
    from .. import find_duplicates

    options = given_options(args, ("threshold", "num_perm", "ngram", "mode", "seed"))
    if args.jobs is not None and args.jobs > 1:
        warn("--jobs has no effect on dups: it runs in one process")
    outputs = AtomicOutputs()
    stats = Stats()
    ok = False
    progress = Progress(not args.quiet and sys.stderr.isatty(), "dups", inp.files)
    seen: set = set()
    try:
        out = RecordWriter(outputs.file(args.output), "jsonl", name=display_name(args.output))
        rejects = RecordWriter(outputs.file(args.rejects), "jsonl", name=display_name(args.rejects)) if args.rejects else None

        def documents() -> Iterator[tuple[Any, str]]:
            # Streamed: find_duplicates keeps only signatures, never the texts.
            current = None
            for kind, payload, _ in events(inp, args.text_field, args.id_field):
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
        extra = f"  clusters: {len(result.clusters):,}, {plural(in_clusters, 'document')} in them"
        extra += f", {in_clusters - len(result.clusters):,} would be dropped keeping one per cluster"
        if result.empty:
            extra += f"\n  documents without words (never clustered): {len(result.empty):,}"
        sys.stderr.write(summary("dups", stats, time.perf_counter() - started, extra) + "\n")
    return EXIT_OK
