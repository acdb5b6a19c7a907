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

import functools
import html
import importlib.resources
import json
import os
import re
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .atomic import atomic_write
from .jsonlines import escape_lone_surrogates
from .pipeline import Cleaned, clean_documents
from .spans import Match


RemovedSpan = Match  # the name the report used for its spans: one type (dedup.spans.Match)


@dataclass
class DocumentReport:
    """One document: its original ``text``, the text ``cleaned`` would write, what was removed."""

    id: Hashable
    text: str
    cleaned: str
    spans: list[Match] = field(default_factory=list)
    source: str = ""  # where it came from (file, line), when known
    dropped: bool = False  # left out of the output (``clean --drop-empty``)

    @classmethod
    def of(cls, document: Cleaned, *, source: str = "", dropped: bool = False) -> DocumentReport:
        """The report of a document that went through :mod:`dedup.pipeline`."""
        return cls(document.id, document.text, document.cleaned, list(document.spans), source=source, dropped=dropped)

    @property
    def removed_chars(self) -> int:
        return len(self.text) - len(self.cleaned)

    @property
    def changed(self) -> bool:
        return self.cleaned != self.text


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
    from ._validate import check_choice
    from .deduplicator import Deduplicator
    from .documents import iter_documents

    check_choice("scope", scope, ("within", "across", "both"))
    # "both" is one Deduplicator aligning each document against its own earlier part and
    # earlier documents together, as dedup.Deduplicator() does by default.
    memory = Deduplicator(**dict(across or {}, scope=scope)) if scope in ("across", "both") else None
    documents = iter_documents(docs, ids, text_field=text_field, id_field=id_field)
    cleaned = clean_documents(documents, within=dict(within or {}) if memory is None else None, across=memory,
                              batch_size=batch_size)
    return [DocumentReport.of(document) for document in cleaned]


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
