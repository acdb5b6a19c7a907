"""What cleaning removes, and why, for a person to look at: one self-contained HTML page.

``explain(docs)`` runs the same analysis as ``dedup explain`` (repeats inside each
document and passages seen in earlier documents) and returns one ``DocumentReport``
per document; ``write_html(path, reports)`` writes the page. The page shows each
changed document with its removed spans highlighted, each linked to the span it repeats
(in the same document or an earlier one), with figures per document and in total. It
pages and filters in the browser, so it stays usable with tens of thousands of documents.

Examples
--------
>>> import os, tempfile
>>> from dedup.report import explain, write_html
>>> body = ("The council approved the new budget on Tuesday after a long debate about schools, "
...         "roads and the cost of heating the old town hall in winter.")
>>> reports = explain([("a", body + "\\n\\n" + body), ("b", "A different story.\\n\\n" + body)])
>>> [(s.kind, s.start, s.end, s.source_id, s.source_start) for s in reports[0].spans]
[('within', 142, 282, 'a', 0)]
>>> [(s.kind, s.start, s.end, s.source_id, s.source_start) for s in reports[1].spans]
[('across', 20, 160, 'a', 0)]
>>> reports[1].removed_chars, reports[1].cleaned == "A different story."
(142, True)
>>> path = os.path.join(tempfile.mkdtemp(), "report.html")
>>> write_html(path, reports)
>>> "A different story." in open(path, encoding="utf-8").read()
True
"""

from __future__ import annotations

import bisect
import functools
import html
import importlib.resources
import json
import os
import re
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .atomic import atomic_write
from .jsonlines import escape_lone_surrogates


@dataclass(frozen=True)
class RemovedSpan:
    """``text[start:end]`` of a document is removed: it repeats ``source_start:source_end``
    of document ``source_id`` (the same document for ``kind == "within"``), with
    estimated Jaccard ``similarity``. All offsets are into the documents' original texts."""

    kind: str
    start: int
    end: int
    source_id: Hashable
    source_start: int
    source_end: int
    similarity: float


def split_matches(matches: Sequence) -> tuple[list[RemovedSpan], list]:
    """A ``Deduplicator``'s matches of one document (``dedup.Match``): the repeats inside it,
    as spans (``source_id`` left ``None``), and the passages of earlier documents, as they are."""
    within = [RemovedSpan("within", m.start, m.end, None, m.source_start, m.source_end, float(m.similarity))
              for m in matches if m.kind == "within"]
    return within, [m for m in matches if m.kind != "within"]


@dataclass
class DocumentReport:
    """One document: its original ``text``, the text ``cleaned`` would write, what was removed."""

    id: Hashable
    text: str
    cleaned: str
    spans: list[RemovedSpan] = field(default_factory=list)
    source: str = ""  # where it came from (file, line), when known
    dropped: bool = False  # left out of the output (``clean --drop-empty``)

    @property
    def removed_chars(self) -> int:
        return len(self.text) - len(self.cleaned)

    @property
    def changed(self) -> bool:
        return self.cleaned != self.text


# Characters of the cleaned text that must match where a kept run resumes after a deletion:
# long enough that a removed copy of nearby text is not taken for the kept text.
_ANCHOR = 64


def offset_map(original: str, cleaned: str) -> Callable[[int], int]:
    """Offsets in ``cleaned`` (``original`` with some ranges deleted) -> offsets in ``original``.

    Cleaning only deletes, and deletes whole passages: each kept run is matched as far as
    it goes, then cut back to the best boundary shortly before the point where it stops
    matching (a line break, else a sentence end, else a word start), and the next run is
    found by its first characters. So a kept passage that begins like the removed copy
    before it ("The council ..." removed, "The national ..." kept) is placed right.

    >>> to_original = offset_map("Hello. Hello. World", "Hello. World")
    >>> to_original(7)  # the "W"
    14
    >>> text = "The council met.\\n\\nThe council met.\\n\\nThe night was calm."
    >>> offset_map(text, "The council met.\\n\\nThe night was calm.")(18)  # the second "The"
    36
    """
    kept: list[tuple[int, int]] = []  # (offset in cleaned, offset in original) where a kept run starts
    i = j = 0
    while j < len(cleaned):
        anchor, found = _ANCHOR, -1
        while anchor and found < 0:  # another deletion close ahead: a shorter anchor
            found = original.find(cleaned[j : j + anchor], i)
            anchor //= 2
        if found < 0:  # no anchor found: let the check below fall back
            kept = []
            break
        start_i, start_j = i, j = found, j
        while j < len(cleaned) and i < len(original) and original[i] == cleaned[j]:
            i += 1
            j += 1
        if j < len(cleaned):
            cut = _deletion_start(cleaned, start_j, j)
            i, j = i - (j - cut), cut
        kept.append((start_j, start_i))
    if (cleaned and not kept) or not _runs_agree(original, cleaned, kept):
        # The anchors found a kept run in the wrong place (short texts of few distinct
        # characters): fall back to the leftmost placement, always a valid one.
        kept = _leftmost_runs(original, cleaned)
        if kept is None:  # not a deletion of the original: report offsets unmapped
            return lambda position: position
    starts = [k[0] for k in kept]

    def to_original(position: int) -> int:
        k = bisect.bisect_right(starts, position) - 1
        if k < 0:
            return position
        return kept[k][1] + position - kept[k][0]

    return to_original


def _runs_agree(original: str, cleaned: str, kept: list[tuple[int, int]]) -> bool:
    """Does every kept run (cleaned offset, original offset) copy its characters, in order?"""
    ends = [j for j, _ in kept[1:]] + [len(cleaned)]
    previous = 0
    for (j, i), end in zip(kept, ends):
        if i < previous or original[i : i + end - j] != cleaned[j:end]:
            return False
        previous = i + end - j
    return True


def _leftmost_runs(original: str, cleaned: str) -> list[tuple[int, int]] | None:
    """Kept runs placing each character of ``cleaned`` at its leftmost possible place in
    ``original``; None when ``cleaned`` is no subsequence of it."""
    runs: list[tuple[int, int]] = []
    i = 0
    for j, char in enumerate(cleaned):
        found = original.find(char, i)
        if found < 0:
            return None
        if not runs or found != i:
            runs.append((j, found))
        i = found + 1
    return runs


def _boundary_rank(text: str, position: int) -> int:
    # How likely a removal starts here: 3 after a line break, 2 after a sentence, 1 at a word.
    if position == 0 or text[position - 1] == "\n":
        return 3
    if text[position - 1].isspace() and position >= 2 and text[position - 2] in ".!?\"'\u201d\u2019":
        return 2
    if text[position - 1].isspace() and not text[position].isspace():
        return 1
    return 0


def _deletion_start(cleaned: str, run_start: int, mismatch: int, reach: int = 200) -> int:
    """Where in ``cleaned[run_start:mismatch]`` (matched by chance at its end) the deletion begins.

    The text just before a removed copy often begins like the copy ("The ... The ..."),
    so the match runs on a few words too far; the best boundary within ``reach``
    characters before the mismatch, the latest among equals, is where the kept run ends.
    """
    best, best_rank = mismatch, _boundary_rank(cleaned, mismatch)
    for position in range(mismatch - 1, max(run_start, mismatch - reach), -1):
        rank = _boundary_rank(cleaned, position)
        if rank > best_rank:
            best, best_rank = position, rank
    return best


# --------------------------------------------------------------------------- the analysis


def explain_within(texts: Sequence[str], **params) -> list[tuple[str | None, list[RemovedSpan]]]:
    """Repeats inside each text: (the cleaned text, or ``None`` when unchanged; the spans).

    The cleaned text is always ``dedup.clean_many``'s, so reporting never changes what
    cleaning writes. A removal can join text into a new repeat; ``clean_many`` removes
    it too, but that second round is not among the spans. Span ids are left ``None``
    (the caller knows the document's id).
    """
    from .align import clean_many, find_repeats_many, remove_spans

    found = find_repeats_many(texts, **params)
    out: list[tuple[str | None, list[RemovedSpan]]] = []
    changed = []
    for text, repeats in zip(texts, found):
        spans = [
            RemovedSpan("within", r.start, r.end, None, r.source_start, r.source_end, float(r.similarity))
            for r in repeats
        ]
        if spans:
            changed.append(len(out))
            out.append((remove_spans(text, [(r.start, r.end) for r in repeats]), spans))
        else:
            out.append((None, spans))
    if changed:
        finished = clean_many([out[i][0] for i in changed], **params)  # type: ignore[misc]
        for i, text in zip(changed, finished):
            out[i] = (text, out[i][1])
    return out


class ReportBuilder:
    """Collects documents as a run processes them, in input order, and gives their reports.

    For each document: its original text, the spans removed inside it (offsets into the
    original), the text after that pass (``middle``), the across-document matches found
    in ``middle`` (``dedup.Match``, sources in their own ``middle``), and the final text.
    ``reports()`` maps every offset to the original texts. It keeps every document's
    text, since any of them may turn out to be the source of a later one.
    """

    def __init__(self) -> None:
        self._reports: list[DocumentReport] = []
        self._middles: dict[Hashable, str] = {}  # only where the within pass changed the text
        self._pending: list[tuple[DocumentReport, list]] = []

    def add(self, doc_id: Hashable, text: str, within: Sequence[RemovedSpan], middle: str, matches: Sequence,
            cleaned: str, *, source: str = "", dropped: bool = False) -> None:
        spans = [RemovedSpan("within", s.start, s.end, doc_id, s.source_start, s.source_end, s.similarity)
                 for s in within]
        report = DocumentReport(doc_id, text, cleaned, spans, source=source, dropped=dropped)
        if middle != text:
            self._middles[doc_id] = middle
        self._reports.append(report)
        if matches:
            self._pending.append((report, list(matches)))

    def reports(self) -> list[DocumentReport]:
        """Every document added, in order, with all offsets into original texts."""
        texts = {report.id: report.text for report in self._reports}
        maps: dict[Hashable, Callable[[int], int]] = {}

        def to_original(doc_id: Hashable) -> Callable[[int], int]:
            if doc_id not in self._middles:
                return lambda position: position
            if doc_id not in maps:
                maps[doc_id] = offset_map(texts[doc_id], self._middles[doc_id])
            return maps[doc_id]

        for report, matches in self._pending:
            own = to_original(report.id)
            for match in matches:
                source = to_original(match.source_id)
                report.spans.append(RemovedSpan(
                    "across", own(match.start), own(match.end - 1) + 1, match.source_id,
                    source(match.source_start), source(match.source_end - 1) + 1, float(match.similarity),
                ))
            report.spans.sort(key=lambda span: span.start)
        self._pending = []
        return self._reports


def explain(
    docs: Iterable[Any],
    *,
    ids: Iterable[Hashable] | None = None,
    text_field: str = "text",
    id_field: str | None = None,
    scope: str = "both",
    within: dict | None = None,
    across: dict | None = None,
    batch_size: int = 64,
) -> list[DocumentReport]:
    """What ``dedup explain`` reports, as objects: one ``DocumentReport`` per document, in order.

    Parameters
    ----------
    docs : iterable of str, (id, str) pairs or mappings
        As for :func:`dedup.find_duplicates` (``ids``, ``text_field``, ``id_field`` too);
        ids must be unique.
    scope : "both" (default), "within" or "across"
        Repeats inside each document (``dedup.clean_many``), passages seen in earlier
        documents (``dedup.Deduplicator(scope="across")`` fed in order), or both
        (``dedup.Deduplicator()`` fed in order): the same as ``dedup clean``.
    within, across : dict, optional
        Parameters for :func:`dedup.find_repeats` (``scope="within"``) and for
        :class:`dedup.Deduplicator` (``scope="across"`` or ``"both"``).
    batch_size : int, default 64
        Documents per vectorised pass.
    """
    from ._validate import check_choice, check_int
    from .deduplicator import Deduplicator
    from .documents import iter_documents
    from .align.spans import remove_spans

    check_choice("scope", scope, ("within", "across", "both"))
    batch_size = check_int("batch_size", batch_size, 1)
    # "both" is one Deduplicator aligning each document against its own earlier part and
    # earlier documents together, as dedup.Deduplicator() does by default.
    memory = Deduplicator(**dict(across or {}, scope=scope)) if scope in ("across", "both") else None
    builder = ReportBuilder()
    batch: list[tuple[Hashable, str]] = []

    def flush() -> None:
        texts = [text for _, text in batch]
        if memory is None:
            inside = explain_within(texts, **(within or {}))
            for (doc_id, text), (cleaned, spans) in zip(batch, inside):
                final = text if cleaned is None else cleaned
                builder.add(doc_id, text, spans, final, [], final)
        else:
            found = memory.add_many(texts, [doc_id for doc_id, _ in batch])
            for (doc_id, text), matches in zip(batch, found):
                spans, earlier = split_matches(matches)
                final = remove_spans(text, [(m.start, m.end) for m in matches]) if matches else text
                builder.add(doc_id, text, spans, text, earlier, final)
        batch.clear()

    for item in iter_documents(docs, ids, text_field=text_field, id_field=id_field):
        batch.append(item)
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    return builder.reports()


# --------------------------------------------------------------------------- the page


def write_html(path: str | os.PathLike, reports: Sequence[DocumentReport], *, title: str = "dedup report",
               page_size: int = 25) -> None:
    """Write the reports as one self-contained HTML page (no network, no other file).

    The page replaces ``path`` atomically (:func:`dedup.atomic.atomic_write`): an error
    leaves any previous file as it was, never a partial page.
    """
    page = render_html(reports, title=title, page_size=page_size).encode("utf-8")
    atomic_write(path, lambda handle: handle.write(page))


def page_data(reports: Sequence[DocumentReport]) -> dict:
    """The figures and documents the page shows, as JSON-ready data.

    Shown are the changed documents and the documents whose text a removed span repeats;
    the totals count every document.
    """
    index_of = {report.id: i for i, report in enumerate(reports)}
    sources = {span.source_id for report in reports for span in report.spans}
    shown = [i for i, report in enumerate(reports) if report.changed or report.dropped or report.id in sources]
    position = {doc: k for k, doc in enumerate(shown)}
    kinds = {"within": 0, "across": 1}
    docs = []
    for i in shown:
        report = reports[i]
        docs.append({
            "id": str(report.id),
            "where": report.source,
            "text": report.text,
            "removed": report.removed_chars,
            "dropped": report.dropped,
            "changed": report.changed,
            "empty": report.changed and not report.cleaned.strip(),
            "spans": [
                [kinds[s.kind], s.start, s.end, position.get(index_of.get(s.source_id, -1), -1),
                 s.source_start, s.source_end, round(s.similarity, 3)]
                for s in report.spans
            ],
        })
    chars_in = sum(len(report.text) for report in reports)
    chars_removed = sum(report.removed_chars for report in reports)
    totals = {
        "documents": len(reports),
        "changed": sum(report.changed for report in reports),
        "within": sum(any(s.kind == "within" for s in report.spans) for report in reports),
        "across": sum(any(s.kind == "across" for s in report.spans) for report in reports),
        "spans_within": sum(s.kind == "within" for report in reports for s in report.spans),
        "spans_across": sum(s.kind == "across" for report in reports for s in report.spans),
        "emptied": sum(report.changed and not report.cleaned.strip() for report in reports),
        "dropped": sum(report.dropped for report in reports),
        "chars_in": chars_in,
        "chars_removed": chars_removed,
    }
    return {"totals": totals, "docs": docs}


def render_html(reports: Sequence[DocumentReport], *, title: str = "dedup report", page_size: int = 25) -> str:
    """The page as a string (see ``write_html``)."""
    data = page_data(reports)
    data["pageSize"] = page_size
    # Inside <script>, "</" could end the element: JSON allows escaping "<" as \\u003c.
    # A lone surrogate (from a "\\ud800" escape in the input) is kept as its JSON escape, as
    # clean writes it back; UTF-8 could not hold it.
    payload = escape_lone_surrogates(json.dumps(data, ensure_ascii=False, separators=(",", ":"))).replace("<", "\\u003c")
    title = title.encode("utf-8", "backslashreplace").decode("utf-8")  # e.g. a file name not in UTF-8
    # One pass over the template: a slot's name inside a filled value (an input named
    # __DATA__.jsonl in the title) stays text.
    values = {"TITLE": html.escape(title), "STYLE": page_part("report.css"), "SCRIPT": page_part("report.js"),
              "DATA": payload}
    return _SLOT.sub(lambda slot: values[slot.group(1)], page_part("report.html"))


_SLOT = re.compile(r"__(TITLE|STYLE|SCRIPT|DATA)__")


@functools.lru_cache(maxsize=None)
def page_part(name: str) -> str:
    """One part of the page template, package data in ``dedup/page/``: ``report.html`` (with
    the slots ``__TITLE__``, ``__STYLE__``, ``__SCRIPT__`` and ``__DATA__``), ``report.css``
    or ``report.js``."""
    return (importlib.resources.files("dedup") / "page" / name).read_text(encoding="utf-8")
