"""The removal report: one JSON line per removed span, with offsets into the original text."""

from __future__ import annotations

from ..report import RemovedSpan, offset_map
from .records import Record
from .writers import RecordWriter


def write_removed_spans(report: RecordWriter, record: Record, spans: list[RemovedSpan], middle: str, matches: list,
                        *, dropped: bool = False) -> None:
    """Report ``record``'s removed spans: ``spans`` found inside the document (offsets into
    ``record.text``), then ``matches`` against earlier documents (offsets into ``middle``,
    the text the across pass saw: ``record.text`` itself unless a within-document pass ran
    first), mapped back to ``record.text``.

    A record left out of the output (``--drop-empty``) gets one more line, of kind
    ``dropped``, so that the report still lists it.
    """
    where = {"id": record.id, "source": record.source, "line": record.line}
    for span in spans:
        report.write_json(dict(
            where, kind="within", start=span.start, end=span.end, source_id=record.id,
            source_start=span.source_start, source_end=span.source_end, similarity=round(span.similarity, 4),
            text=record.text[span.start : span.end],
        ))
    if matches:
        to_original = offset_map(record.text, middle) if middle is not record.text else (lambda p: p)
        for match in matches:
            report.write_json(dict(
                where, kind="across", start=to_original(match.start), end=to_original(match.end - 1) + 1,
                source_id=match.source_id, source_start=match.source_start, source_end=match.source_end,
                similarity=round(float(match.similarity), 4), text=middle[match.start : match.end],
            ))
    if dropped:
        report.write_json(dict(where, kind="dropped", reason="no text left"))
