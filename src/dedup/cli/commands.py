"""The commands: ``clean`` and ``explain`` (repeats removed or reported) and ``dups`` (clusters)."""

from __future__ import annotations

import argparse
import inspect
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from ..atomic import writing
from ..locking import InUseError, Lock, take_lock
from ..pipeline import Cleaned
from ..report import DocumentReport, render_html
from ..store import held_for_run, settle_log
from .across import Across, given_options
from .checkpoint import Checkpoint, CheckpointOutputs
from .commit import AtomicOutputs, commit_journal_path, complete_interrupted_commit
from .errors import EXIT_OK, DataError, OutputError, UsageError, hold_interrupts, warn
from .inputs import STDIO, Input, open_input
from .outputs import check_paths, folder_writer, open_json_lines, open_main_output, open_output
from .parser import default_jobs
from .pool import BARRIER, OrderedPool
from .progress import Progress, Stats, plural, summary
from .records import Record, RecordError
from .report import write_removed_spans
from .skipping import BadRecords
from .stream import FLUSH, chunks, clean_within, events, flushed_when_stalled, keep_as_is, screened
from .unique_ids import UniqueIds
from .writers import RecordWriter

def finish_earlier_commit(outputs: dict[str, str | None]) -> None:
    """Complete the commit of an earlier run killed between two renames of these outputs."""
    finished = complete_interrupted_commit([path for path in outputs.values() if path and path != STDIO])
    if finished:
        warn("completed the interrupted commit of an earlier run: " + ", ".join(finished))


def warn_ignored(inp: Input) -> None:
    """Name the files of an input folder that no command reads (unknown format): none is skipped silently."""
    for ignored in inp.ignored[:5]:
        warn(f"ignored {os.path.join(inp.root, ignored)} (unknown format)")
    if len(inp.ignored) > 5:
        warn(f"ignored {plural(len(inp.ignored) - 5, 'more file')} of unknown format")


def lock_state(path: str) -> Lock:
    """Hold ``--state`` for this run: another run saving it would drop this one's articles."""
    try:
        return take_lock(path)
    except InUseError as error:
        raise OutputError(f"--state {error}: another dedup run uses this state; wait for it to end") from None
    except FileNotFoundError:
        raise UsageError(f"output folder does not exist: {os.path.dirname(os.path.abspath(path))}") from None
    except OSError as error:
        raise OutputError(f"cannot lock --state {path}: {error.strerror or error}") from None


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
    inp = open_input(args.input, None if args.format == "auto" else args.format, csv_delimiter=args.csv_delimiter)
    html_path = args.html if explain else None
    if explain and args.output is None:  # the JSON lines go to stdout unless only the page is asked for
        args.output = None if html_path else STDIO
    report_path = args.output if explain else args.report
    if explain:  # explain writes only the reports (-o, --html); it reads --state without saving it
        # and takes back what it added to --store
        written = {"-o": report_path, "--html": html_path, "--rejects": args.rejects, "--store": args.store}
    else:
        written = {"-o": args.output, "--report": args.report, "--rejects": args.rejects, "--state": args.state,
                   "--store": args.store}
    check_paths(inp, written)
    # A store's commit journal lies beside the file itself, whatever link named it.
    finish_earlier_commit({**written, "--store": os.path.realpath(args.store) if args.store else None})
    for option in ("--state", "--store"):
        if getattr(args, option[2:]) and args.scope == "within":
            raise UsageError(f"{option} keeps the across-document memory: use it with --scope across or both")
    if args.state and args.store:
        raise UsageError("--state and --store are two places for one memory: give one (--store keeps it on disk)")
    if explain and args.store and not os.path.isfile(args.store):
        raise UsageError(f"--store {args.store}: no such store (explain reads one that clean made)")
    if args.state and not explain and (held := held_for_run(args.state)):
        # Saved over, it would lose the run it holds (which could then never resume).
        raise UsageError(f"--state {args.state} is a store held for an interrupted --store run, to be resumed "
                         f"from its checkpoint {held}: rerun that command, or remove the checkpoint to give it up")
    checkpoint = None if explain else Checkpoint.open(args, inp)
    if checkpoint is not None and checkpoint.finished:
        checkpoint.remove()
        checkpoint.release()
        if not args.quiet:
            sys.stderr.write(f"dedup: the interrupted run had committed its outputs ({args.output}); nothing to do\n")
        return EXIT_OK
    resuming = checkpoint is not None and checkpoint.resuming
    warn_ignored(inp)

    # --scope within runs dedup.clean_many in worker processes; across and both are one
    # dedup.Deduplicator fed in input order (both: the library's default, one definition).
    within = args.scope == "within"
    want_report = bool(report_path) or bool(html_path)
    params: dict = {}
    work = keep_as_is
    if within:
        try:
            from .. import align
        except ImportError as error:
            raise UsageError(f"dedup.align is not available: {error}") from None
        params, unknown = _accepted(align.find_repeats, given_options(args, ("threshold", "ngram", "mode", "min_length", "max_gap")))
        extra = given_options(args, ("window",))
        if unknown or extra:
            names = unknown + list(extra)
            warn("no effect on repeats inside a document: " + ", ".join("--" + k.replace("_", "-") for k in names))
        work = clean_within
    jobs = args.jobs or default_jobs()
    memory = checkpoint.memory_path() if resuming else None
    state_lock = None
    try:
        state_lock = lock_state(args.state) if args.state and not explain and args.scope != "within" else None
        across = Across(args, jobs, memory) if args.scope in ("across", "both") else None
    except BaseException:
        if state_lock is not None:
            state_lock.release()
        if checkpoint is not None:
            checkpoint.release()
        raise

    outputs = CheckpointOutputs(checkpoint) if checkpoint is not None else AtomicOutputs()
    if across is not None and args.store:
        try:
            _begin_store_run(across, args.store, outputs, checkpoint, resuming, explain)
        except BaseException:
            across.close()  # this run added nothing
            if checkpoint is not None:
                checkpoint.release()
            raise
    pool = None
    progress = None
    ok = False
    kinds = (("within",) if args.scope != "across" else ()) + (("across",) if across is not None else ())
    drop_empty = not explain and args.drop_empty
    unique = UniqueIds()
    stats = Stats(kinds=kinds, spans_known=want_report, dropping=drop_empty)
    stream = events(inp, args.text_field, args.id_field)
    if any(file.may_stall() for file in inp.files):
        # A pipe may wait on its writer: what was read meanwhile is written out.
        stream = flushed_when_stalled(stream)
    resumed_from = 0  # input records (good or bad) done before this run, in input order
    if resuming:
        checkpoint.restore(stats)
        stream, resumed_from = checkpoint.skip_done(stream, unique), checkpoint.done
        if not args.quiet:
            sys.stderr.write(f"dedup: resuming from the checkpoint after record {resumed_from:,} of {args.input}\n")

    def checkpoint_due(records: int) -> bool:
        """``records`` more input records read, ahead of the output: is a checkpoint due?
        The across pass then stops at a barrier until the output has caught up."""
        return checkpoint is not None and checkpoint.advance(records)

    given_up = False
    try:
        single_format = None if inp.is_dir else inp.files[0].format
        main_writer, out_folder = (None, None) if explain else open_main_output(args, inp, outputs, single_format)
        report = open_json_lines(outputs, "-o" if explain else "--report", report_path) if report_path else None
        page: list[DocumentReport] | None = [] if html_path else None
        page_stream = open_output(outputs, "--html", html_path) if html_path else None
        rejects = open_json_lines(outputs, "--rejects", args.rejects) if args.rejects else None
        bad = BadRecords(args, stats, rejects)
        pool = OrderedPool(work, jobs if within else 1)
        progress = Progress(not args.quiet and sys.stderr.isatty(), args.command, inp.files)
        writer = main_writer
        current = None
        unreadable = False  # the current file gave a file-level error (broken link, truncated...)
        def screen(kind: str, payload: Any, context: Any) -> tuple[Any, Any]:
            # Every event in input order, before the across pass sees it: records must
            # have unique ids (and ids new to a loaded --state), a bad record fails the
            # run or is skipped. Returns the chunk to go on with.
            if kind == "chunk":
                unique.check_all(context)
                if across is not None and across.loaded:
                    context, payload = _without_remembered(context, payload, across, bad)
            elif kind == "error":
                bad.handle(payload)
            return payload, context

        stream = pool.run(chunks(stream, params))
        if across is not None:
            stream = across.run(stream, screen, checkpoint_due)
        else:
            stream = screened(stream, screen, checkpoint_due)
        for kind, payload, context in stream:
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
            elif kind == "error":  # handled by screen() when it was read
                unreadable = unreadable or payload.unit == "file"
            elif kind == BARRIER and payload == FLUSH:  # the input waits: what was read goes out now
                for open_writer in (writer, report, rejects):
                    if open_writer is not None:
                        open_writer.flush()
            elif kind == BARRIER:  # everything before it is written, and remembered: no more
                checkpoint.record(outputs, stats, resumed_from + payload, across.dedup if across else None)
            else:  # a processed chunk: payload = its documents after both stages, context = the records
                kept = _finish_chunk(context, payload, report, page, stats, drop_empty)
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
            page_stream.write(render_html(page, title=f"dedup explain {args.input}").encode("utf-8"))
            page_stream.flush()
        if across is not None and args.state and not explain:
            temp = outputs.path(args.state)
            with writing(args.state):
                across.save(temp)
                # The state file may be a store a killed run left with its log beside it:
                # folded in now (the file is ours: locked), or it would apply to the new one.
                settle_log(args.state)
        pool.close(ok=True)
        pool = None
        hold_interrupts()
        outputs.commit()
        if checkpoint is not None:
            checkpoint.remove()
        ok = True
    except DataError as error:
        # The input or the options fail it (a bad record with --on-error fail, a repeated
        # id, too much skipped): a rerun of the same command would fail the same way, so
        # its checkpoint is given up (with --store, the store goes back to before the run).
        given_up = error.recurs
        raise
    finally:
        if progress is not None:
            progress.close()
        if pool is not None:
            pool.close(ok=False)
        # A --store keeps this run's documents when its commit was decided, even if it did
        # not complete here (abort completes it); explain's are always taken back.
        keep_documents = (ok or outputs.decided) and not explain
        try:
            if not ok:
                outputs.abort()
                if checkpoint is not None:
                    checkpoint.abandon(given_up)
        finally:
            try:
                if across is not None:
                    _close_across(across, keep_documents, failed=not ok)
            finally:
                if checkpoint is not None:
                    checkpoint.release()
                if state_lock is not None:
                    state_lock.release()
    if not args.quiet:
        where = ""
        if args.rejects and stats.skipped:
            where = f"  skipped records written to {args.rejects}"
        extra = "\n".join(line for line in (where, _nothing_removed_hint(args, stats)) if line)
        sys.stderr.write(summary("explain" if explain else "clean", stats, time.perf_counter() - started, extra) + "\n")
    return EXIT_OK


def _begin_store_run(across: Across, store: str, outputs: AtomicOutputs, checkpoint: Checkpoint | None,
                     resuming: bool, explain: bool) -> None:
    """Make the documents this run adds to ``--store`` one run of the store, kept only when
    the outputs are committed (committed with them, as one) and, with checkpoints, back to
    the last checkpoint when the run fails; explain's are never kept. A resumed run goes
    on with the run of its checkpoint."""
    try:
        if explain:  # never committed: no journal will name this run
            across.dedup.begin_run(commit_journal_path(os.path.realpath(store)), uuid.uuid4().hex)
        elif resuming:
            try:
                held = across.dedup.resume_run(checkpoint.store_token)
            except ValueError as error:
                raise ValueError(f"{error}; the checkpoint in {checkpoint.folder} cannot be resumed: remove that "
                                 "folder to start over") from None
            if held != checkpoint.store_count:
                raise ValueError(f"it holds {held:,} documents, the checkpoint in {checkpoint.folder} "
                                 f"{checkpoint.store_count:,}; remove that folder to start over")
            outputs.store_run(store, checkpoint.store_token)
        else:
            journal, token = outputs.store_run(store)
            across.dedup.begin_run(journal, token)
            if checkpoint is not None:
                checkpoint.store_token = token
    except ValueError as error:
        raise UsageError(f"--store {store}: {error}") from None


def _close_across(across: Across, keep: bool, failed: bool) -> None:
    """Let go of the across pass's memory (a --store: taking this run's documents back
    unless ``keep``). When the run failed already, a failure to take them back now is a
    warning (its error stays the one reported): the next run opening the store does it."""
    try:
        across.close(keep=keep)
    except Exception as error:
        if keep or not failed:
            raise
        warn(f"{across.memory_option}: this run's documents could not be taken back now ({error}); "
             "the next run opening it does")


def _without_remembered(records: list[Record], results: list, across: Across, bad: BadRecords) -> tuple[list, list]:
    """The records of a chunk (and their within-pass results) whose ids the loaded ``--state``
    does not hold yet; each one it holds is a bad record (fails the run, or is skipped)."""
    kept_records, kept_results = [], []
    for record, result in zip(records, results):
        if across.remembers(record.id):
            option = across.memory_option
            message = f"document id {record.id!r} is already in {option} (from an earlier run)"
            bad.handle(RecordError(record.source, record.line, message, record.raw), in_share=False,
                       hint=f"ids must be unique: use a new {option.split()[0]} file, or --on-error skip to skip "
                       "documents seen before")
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


def _finish_chunk(records: list[Record], documents: list[Cleaned], report: RecordWriter | None,
                  page: list[DocumentReport] | None, stats: Stats, drop_empty: bool) -> list[tuple[Record, str]]:
    """Report and count a processed chunk (in input order): its ``documents`` after both
    stages of :mod:`dedup.pipeline`.

    Returns the records to write, each with its final text (without those left with no
    text when ``drop_empty``).
    """
    kept = []
    for record, document in zip(records, documents):
        text = document.cleaned
        within = sum(span.kind == "within" for span in document.spans)
        stats.docs_in += 1
        stats.chars_in += len(record.text)
        stats.chars_removed += len(record.text) - len(text)
        if within:
            stats.docs_with["within"] += 1
        if len(document.spans) > within:
            stats.docs_with["across"] += 1
        empty = not text.strip()
        if empty and document.changed:
            stats.docs_emptied += 1
        stats.spans["within"] += within
        stats.spans["across"] += len(document.spans) - within
        dropped = drop_empty and empty
        if report is not None:
            write_removed_spans(report, record, document, dropped=dropped)
        if page is not None:
            page.append(DocumentReport.of(document, source=f"{record.source}:{record.line}", dropped=dropped))
        if dropped:
            stats.docs_dropped += 1
        else:
            kept.append((record, text))
    return kept


def run_dups(args: argparse.Namespace) -> int:
    """``dedup dups``: clusters of near-duplicate documents."""
    started = time.perf_counter()
    inp = open_input(args.input, None if args.format == "auto" else args.format, csv_delimiter=args.csv_delimiter)
    check_paths(inp, {"-o": args.output, "--rejects": args.rejects})
    finish_earlier_commit({"-o": args.output, "--rejects": args.rejects})
    warn_ignored(inp)
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
        hold_interrupts()
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
