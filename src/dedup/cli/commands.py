"""The commands: ``clean`` and ``explain`` (repeats removed or reported) and ``dups`` (clusters)."""

from __future__ import annotations

import argparse
import inspect
import os
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

from ..io import STDIO, AtomicOutputs, Record, RecordError, RecordWriter, UsageError, open_input
from ..report import ReportBuilder, render_html
from .across import Across, given_options
from .errors import EXIT_OK, DataError, warn
from .outputs import check_paths, folder_writer, open_json_lines, open_main_output, open_output
from .parser import default_jobs
from .pool import OrderedPool
from .progress import Progress, Stats, plural, summary
from .skipping import BadRecords
from .report import write_removed_spans
from .stream import chunks, clean_within, events, keep_as_is

class UniqueIds:
    """Refuses a document id seen before in the run, as the library does: reports, clusters
    and the across-document memory name documents by id, so a repeated one is ambiguous."""

    def __init__(self) -> None:
        self._seen: dict[Any, str] = {}

    def check(self, record: Record) -> None:
        where = f"{record.source}:{record.line}"
        first = self._seen.setdefault(record.id, where)
        if first != where:
            raise DataError(
                f"{where}: document id {record.id!r} was used before (at {first}); ids must be unique "
                "(use --id-field NAME with a unique field)"
            )


def _accepted(function: Callable, options: dict) -> tuple[dict, list[str]]:
    """Split options into those ``function`` accepts as keywords and those it does not."""
    parameters = inspect.signature(function).parameters
    if any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        return dict(options), []
    kept = {k: v for k, v in options.items() if k in parameters}
    return kept, [k for k in options if k not in parameters]


def run_clean(args: argparse.Namespace, explain: bool) -> int:
    """``dedup clean`` (``explain=False``) or ``dedup explain`` (``explain=True``)."""
    started = time.perf_counter()
    inp = open_input(args.input, None if args.format == "auto" else args.format)
    html_path = args.html if explain else None
    if explain and args.output is None:  # the JSON lines go to stdout unless only the page is asked for
        args.output = None if html_path else STDIO
    report_path = args.output if explain else args.report
    if explain:  # explain writes only the reports (-o, --html) and reads --state without saving it
        written = {"-o": report_path, "--html": html_path, "--rejects": args.rejects}
    else:
        written = {"-o": args.output, "--report": args.report, "--rejects": args.rejects, "--state": args.state}
    check_paths(inp, written)
    if args.state and args.scope == "within":
        raise UsageError("--state keeps the across-document memory: use it with --scope across or both")
    for ignored in inp.ignored[:5]:
        warn(f"ignored {os.path.join(inp.root, ignored)} (unknown format)")
    if len(inp.ignored) > 5:
        warn(f"ignored {plural(len(inp.ignored) - 5, 'more file')} of unknown format")

    within = args.scope in ("within", "both")
    want_report = bool(report_path) or bool(html_path)
    params: dict = {}
    work = keep_as_is
    if within:
        try:
            from .. import repeats
        except ImportError as error:
            raise UsageError(f"dedup.repeats is not available: {error}") from None
        params, unknown = _accepted(repeats.find_repeats, given_options(args, ("threshold", "ngram", "mode", "min_length", "max_gap")))
        extra = given_options(args, ("window",))
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
    drop_empty = not explain and args.drop_empty
    unique = UniqueIds()
    stats = Stats(kinds=kinds, spans_known=want_report, dropping=drop_empty)
    if args.jobs is not None and args.jobs > 1 and not within:
        warn("--jobs has no effect with --scope across: that pass runs in one process, in input order")
    try:
        single_format = None if inp.is_dir else inp.files[0].format
        main_writer, out_folder = (None, None) if explain else open_main_output(args, inp, outputs, single_format)
        report = open_json_lines(outputs, "-o" if explain else "--report", report_path) if report_path else None
        page = ReportBuilder() if html_path else None
        page_stream = open_output(outputs, "--html", html_path) if html_path else None
        rejects = open_json_lines(outputs, "--rejects", args.rejects) if args.rejects else None
        bad = BadRecords(args, stats, rejects)
        jobs = args.jobs or default_jobs()
        pool = OrderedPool(work, jobs if within else 1)
        progress = Progress(not args.quiet and sys.stderr.isatty(), args.command, inp.files)
        writer = main_writer
        current = None
        unreadable = False  # the current file gave a file-level error (broken link, truncated...)
        for kind, payload, context in pool.run(chunks(events(inp, args.text_field, args.id_field), params, want_report)):
            if kind == "start":
                stats.files += 1
                current = payload
                unreadable = False
            elif kind == "end":
                progress.file_done(payload)
                if out_folder is not None:
                    # An empty JSONL/Parquet file gives an empty output file; a rejected
                    # text file or an unreadable file gives none (it is in --rejects instead).
                    if writer is None and payload.format != "text" and not unreadable:
                        writer = folder_writer(outputs, out_folder, payload, args)
                    if writer is not None:
                        writer.close()
                    writer = None
            elif kind == "error":
                bad.handle(payload)
                unreadable = unreadable or payload.unit == "file"
            else:  # a processed chunk: payload = [(cleaned, repeats)], context = the records
                for record in context:
                    unique.check(record)
                if across is not None and across.loaded:
                    context, payload = _without_remembered(context, payload, across, bad)
                kept = _finish_chunk(context, payload, across, report, page, stats, drop_empty)
                if kept and not explain:
                    if out_folder is not None and writer is None:
                        writer = folder_writer(outputs, out_folder, current, args)
                    for record, text in kept:
                        writer.write(record, text)
                    stats.docs_out += len(kept)
                progress.update(len(context), current)
        bad.check_enough_read()
        if writer is not None:
            writer.close()
        for extra_writer in (report, rejects):
            if extra_writer is not None:
                extra_writer.close()
        if page is not None:
            page_stream.write(render_html(page.reports(), title=f"dedup explain {args.input}").encode("utf-8"))
            page_stream.flush()
        if across is not None and args.state and not explain:
            temp = outputs.path(args.state)
            with outputs.naming(args.state):
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
        extra = "\n".join(line for line in (where, _nothing_removed_hint(args, stats)) if line)
        sys.stderr.write(summary("explain" if explain else "clean", stats, time.perf_counter() - started, extra) + "\n")
    return EXIT_OK


def _without_remembered(records: list[Record], results: list, across: Across, bad: BadRecords) -> tuple[list, list]:
    """The records of a chunk (and their within-pass results) whose ids the loaded ``--state``
    does not hold yet; each one it holds is a bad record (fails the run, or is skipped)."""
    kept_records, kept_results = [], []
    for record, result in zip(records, results):
        if across.remembers(record.id):
            message = f"document id {record.id!r} is already in --state {across.state_path} (from an earlier run)"
            bad.handle(RecordError(record.source, record.line, message, record.raw), in_share=False,
                       hint="ids must be unique: use a new --state file, or --on-error skip to skip documents seen before")
        else:
            kept_records.append(record)
            kept_results.append(result)
    return kept_records, kept_results


def _nothing_removed_hint(args: argparse.Namespace, stats: Stats) -> str:
    """What else to try when a run removed nothing (an empty input needs no hint)."""
    if stats.chars_removed or not stats.docs_in:
        return ""
    tips = []
    if args.scope != "both":
        tips.append("--scope both: repeats inside documents and passages seen in earlier documents")
    given = f" (now {args.threshold})" if args.threshold is not None else ""
    tips.append(f"a lower --threshold{given}: accepts copies with more words changed")
    tips.append("a lower --min-length: also shorter repeated passages")
    tips.append(f"dedup dups {args.input}: whole documents that near-duplicate each other")
    return "  nothing removed; to look further, try:\n" + "\n".join(f"    {tip}" for tip in tips)


def _finish_chunk(records: list[Record], results: list, across: Across | None, report: RecordWriter | None,
                  page: ReportBuilder | None, stats: Stats, drop_empty: bool) -> list[tuple[Record, str]]:
    """Apply the across pass to a processed chunk (in input order), report and count.

    Returns the records to write, each with its final text (without those left with no
    text when ``drop_empty``).
    """
    within = [record.text if cleaned is None else cleaned for record, (cleaned, _) in zip(records, results)]
    if across is not None:
        final = across.process(within, [record.id for record in records])
    else:
        final = [(text, []) for text in within]
    kept = []
    for record, (cleaned, spans), middle, (text, matches) in zip(records, results, within, final):
        stats.docs_in += 1
        stats.chars_in += len(record.text)
        stats.chars_removed += len(record.text) - len(text)
        if cleaned is not None:
            stats.docs_with["within"] += 1
        if text is not middle:
            stats.docs_with["across"] += 1
        empty = not text.strip()
        if empty and text is not record.text:
            stats.docs_emptied += 1
        stats.spans["within"] += len(spans or ())
        stats.spans["across"] += len(matches)
        dropped = drop_empty and empty
        if report is not None:
            write_removed_spans(report, record, spans or [], middle, matches, dropped=dropped)
        if page is not None:
            page.add(record.id, record.text, spans or [], middle, matches, text,
                     source=f"{record.source}:{record.line}", dropped=dropped)
        if dropped:
            stats.docs_dropped += 1
        else:
            kept.append((record, text))
    return kept


def run_dups(args: argparse.Namespace) -> int:
    """``dedup dups``: clusters of near-duplicate documents."""
    started = time.perf_counter()
    inp = open_input(args.input, None if args.format == "auto" else args.format)
    check_paths(inp, {"-o": args.output, "--rejects": args.rejects})
    from .. import find_duplicates

    options = given_options(args, ("threshold", "num_perm", "ngram", "mode", "seed"))
    outputs = AtomicOutputs()
    stats = Stats()
    ok = False
    progress = Progress(not args.quiet and sys.stderr.isatty(), "dups", inp.files)
    unique = UniqueIds()
    try:
        out = open_json_lines(outputs, "-o", args.output)
        rejects = open_json_lines(outputs, "--rejects", args.rejects) if args.rejects else None
        bad = BadRecords(args, stats, rejects)

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
                    bad.handle(payload)
                elif kind == "record":
                    unique.check(payload)
                    stats.docs_in += 1
                    stats.chars_in += len(payload.text)
                    progress.update(1, current)
                    yield payload.id, payload.text

        result = find_duplicates(documents(), **options)
        bad.check_enough_read()
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
        extra = f"  {plural(len(result.clusters), 'cluster')}, {plural(in_clusters, 'document')} in them"
        extra += f", {in_clusters - len(result.clusters):,} would be dropped keeping one per cluster"
        if result.empty:
            extra += f"\n  documents without words (never clustered): {len(result.empty):,}"
        sys.stderr.write(summary("dups", stats, time.perf_counter() - started, extra) + "\n")
    return EXIT_OK
