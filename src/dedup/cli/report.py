"""The removal report: one JSON line per removed span, with offsets into the original text."""

from __future__ import annotations

from ..pipeline import Cleaned
from .records import Record
from .writers import RecordWriter


def write_removed_spans(report: RecordWriter, record: Record, document: Cleaned, *, dropped: bool = False) -> None:
    """Report ``record``'s removed spans (``document``: the record after :mod:`dedup.pipeline`,
    spans in original offsets), those found inside the document first, then those of
    earlier documents.

    A record left out of the output (``--drop-empty``) gets one more line, of kind
    ``dropped``, so that the report still lists it.
    """
    where = {"id": record.id, "source": record.source, "line": record.line}
    for kind in ("within", "across"):
        for span in document.spans:
            if span.kind == kind:
                report.write_json(dict(
                    where, kind=kind, start=span.start, end=span.end, source_id=span.source_id,
                    source_start=span.source_start, source_end=span.source_end,
                    similarity=round(span.similarity, 4), text=record.text[span.start : span.end],
                ))
    if dropped:
        report.write_json(dict(where, kind="dropped", reason="no text left"))
