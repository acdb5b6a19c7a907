"""The input as a stream of events, grouped into chunks, and the work done on each chunk.

The work functions run in worker processes (see ``pool``): they take and return plain
lists so that sending them costs little.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

from ..pipeline import Cleaned, unchanged, within_pass
from ..workers import BARRIER
from .compression import put_unless_stopped
from .inputs import Input
from .readers import read_records
from .records import Record, RecordError

# A BARRIER with this payload asks for what was read so far to be written out (the
# output flushed), not for a checkpoint.
FLUSH = "flush"
# Input that gives nothing for this long has stalled (a pipe whose writer waits).
STALL_SECONDS = 0.5
# Events read ahead of the run by flushed_when_stalled's thread at most.
_EVENTS_AHEAD = 256

# Work sent to one worker process at a time: small enough to keep all workers busy and
# the memory bounded, large enough that pickling and scheduling cost little per document.
_CHUNK_DOCS = 64
_CHUNK_CHARS = 1 << 20


def events(inp: Input, text_field: str, id_field: str | None) -> Iterator[tuple[str, Any, Any]]:
    """The input as a stream: ("start", file), records / errors, ("end", file), file by file."""
    for file in inp.files:
        yield "start", file, None
        for item in read_records(file, text_field=text_field, id_field=id_field):
            if isinstance(item, RecordError):
                yield "error", item, None
            else:
                yield "record", item, None
        yield "end", file, None


def flushed_when_stalled(stream: Iterator[tuple[str, Any, Any]], seconds: float = STALL_SECONDS) -> Iterator:
    """``stream`` read in a thread, with a ``(BARRIER, FLUSH, None)`` wherever the next
    event takes more than ``seconds`` to come, once per wait: a run reading a pipe then
    writes out all it has read (the passes in flight, the chunk being filled) while its
    writer waits, instead of holding the last few thousand documents back until more
    input comes. The barrier only changes when output comes, never what it is.

    An error of the reading is raised here, where the next event would have come."""
    handed: queue.Queue = queue.Queue(maxsize=_EVENTS_AHEAD)
    stop = threading.Event()
    end = object()

    def read() -> None:
        try:
            for item in stream:
                if not put_unless_stopped(handed, item, stop):
                    return
        except BaseException as error:  # raised in the reading thread, handed to the run
            put_unless_stopped(handed, error, stop)
            return
        put_unless_stopped(handed, end, stop)

    threading.Thread(target=read, name="dedup-read-events", daemon=True).start()
    try:
        waiting = False  # a flush was asked since the last event
        while True:
            try:
                item = handed.get(timeout=None if waiting else seconds)
            except queue.Empty:
                waiting = True
                yield BARRIER, FLUSH, None
                continue
            if item is end:
                return
            if isinstance(item, BaseException):
                raise item
            waiting = False
            yield item
    finally:
        stop.set()


def chunks(stream: Iterator[tuple[str, Any, Any]], params: dict) -> Iterator[tuple[str, Any, Any]]:
    """Group consecutive records into chunks; the payload is the texts and ids (and
    ``params``), the context the records."""
    records: list[Record] = []
    chars = 0

    def chunk() -> tuple[str, Any, Any]:
        return "chunk", ([r.text for r in records], [r.id for r in records], params), records

    for kind, payload, context in stream:
        if kind == "record":
            records.append(payload)
            chars += len(payload.text)
            if len(records) >= _CHUNK_DOCS or chars >= _CHUNK_CHARS:
                yield chunk()
                records, chars = [], 0
            continue
        if records:  # keep the order: records before this event go out first
            yield chunk()
            records, chars = [], 0
        yield kind, payload, context
    if records:
        yield chunk()


def clean_within(payload: tuple[list[str], list, dict]) -> list[Cleaned]:
    """Stage 1 of :mod:`dedup.pipeline` for one chunk (runs in a worker process): repeats
    inside each text removed, with their spans. The cleaned text is always
    ``clean_many``'s, so a report never changes what ``clean`` writes."""
    texts, ids, params = payload
    return within_pass(texts, ids, **params)


def keep_as_is(payload: tuple[list[str], list, dict]) -> list[Cleaned]:
    """The work when there is no within-document stage: every text unchanged."""
    texts, ids, _ = payload
    return unchanged(texts, ids)


def screened(
    stream: Iterator[tuple[str, Any, Any]],
    screen: Callable[[str, Any, Any], tuple[Any, Any]],
    barrier_after: Callable[[int], bool],
) -> Iterator[tuple[str, Any, Any]]:
    """The within stage's events in the shape ``Across.run`` gives them, without an across
    stage: each event through ``screen`` (a chunk's payload: its documents, final after
    the within stage), and a ``BARRIER`` (payload: the input records read so far) when
    ``barrier_after`` asks."""
    read = 0
    for kind, payload, context in stream:
        records = len(context) if kind == "chunk" else 1 if kind == "error" else 0
        read += records
        payload, context = screen(kind, payload, context)
        due = barrier_after(records)
        yield kind, payload, context
        if due:
            yield BARRIER, read, None
