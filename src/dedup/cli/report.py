"""The removal report: one JSON line per removed span, with offsets into the original text."""

from __future__ import annotations

import bisect
from collections.abc import Callable

from ..io import Record, RecordWriter


def write_removed_spans(report: RecordWriter, record: Record, spans: list[tuple], middle: str, matches: list) -> None:
    """Report ``record``'s removed spans: ``spans`` found inside the document (offsets into
    ``record.text``), then ``matches`` against earlier documents (offsets into ``middle``,
    the text left by the within-document pass), mapped back to ``record.text``."""
    where = {"id": record.id, "source": record.source, "line": record.line}
    for start, end, source_start, source_end, similarity in spans:
        report.write_json(dict(
            where, kind="within", start=start, end=end, source_id=record.id,
            source_start=source_start, source_end=source_end, similarity=round(similarity, 4),
            text=record.text[start:end],
        ))
    if matches:
        to_original = offset_map(record.text, middle) if middle is not record.text else (lambda p: p)
        for match in matches:
            report.write_json(dict(
                where, kind="across", start=to_original(match.start), end=to_original(match.end - 1) + 1,
                source_id=match.source_id, source_start=match.source_start, source_end=match.source_end,
                similarity=round(float(match.similarity), 4), text=middle[match.start : match.end],
            ))


def offset_map(original: str, cleaned: str) -> Callable[[int], int]:
    """Offsets in ``cleaned`` (``original`` with some ranges deleted) -> offsets in ``original``.

    Walks both strings once, leftmost match: exact for deletions, which is all cleaning does.

    >>> to_original = offset_map("Hello. Hello. World", "Hello. World")
    >>> to_original(7)  # the "W"
    14
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
