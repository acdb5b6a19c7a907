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
import html
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
    from .repeats import clean_many, find_repeats_many, remove_spans

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
    from .repeats import remove_spans

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
    values = {"TITLE": html.escape(title), "STYLE": _STYLE, "SCRIPT": _SCRIPT, "DATA": payload}
    return _SLOT.sub(lambda slot: values[slot.group(1)], _PAGE)


_SLOT = re.compile(r"__(TITLE|STYLE|SCRIPT|DATA)__")


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>__TITLE__</title>
<style>__STYLE__</style>
</head>
<body>
<header class="top">
  <h1>__TITLE__</h1>
  <p id="totals"></p>
  <p class="legend"><mark class="rm k0">removed: repeats an earlier passage of the same document</mark>
  <mark class="rm k1">removed: seen in an earlier document</mark>
  <span class="kept">kept, repeated in&hellip;</span> a kept passage that later ones repeat, up to
  <span class="kept-end">&#x27E7;</span> &mdash; click a highlight or a link to jump to its counterpart.</p>
  <form id="controls" onsubmit="return false">
    <input id="filter" type="search" placeholder="filter by id or text" aria-label="filter by id or text">
    <select id="kind" aria-label="which documents">
      <option value="changed">changed documents</option>
      <option value="within">with repeats inside the document</option>
      <option value="across">with passages seen in earlier documents</option>
      <option value="emptied">left empty or dropped</option>
      <option value="all">all shown (also unchanged sources)</option>
    </select>
    <select id="order" aria-label="order">
      <option value="input">input order</option>
      <option value="removed">most removed first</option>
    </select>
    <span id="count"></span>
  </form>
  <nav class="pager"></nav>
</header>
<main id="docs"></main>
<nav class="pager"></nav>
<script type="application/json" id="data">__DATA__</script>
<script>__SCRIPT__</script>
</body>
</html>
"""

_STYLE = """
body { font: 15px/1.5 system-ui, sans-serif; margin: 0; color: #222; background: #f6f6f4; }
.top { position: sticky; top: 0; background: #fff; border-bottom: 1px solid #ccc; padding: .5em 1em; z-index: 1; }
h1 { font-size: 1.2em; margin: .2em 0; }
#totals { margin: .2em 0; }
.legend { font-size: .85em; margin: .2em 0; }
#controls input, #controls select { font: inherit; padding: .15em .3em; }
#filter { width: 18em; }
.pager { margin: .3em 0; }
.pager button { font: inherit; margin-right: .3em; }
main { padding: .5em 1em; }
article { background: #fff; border: 1px solid #ddd; border-radius: 4px; margin: 0 0 1em; padding: .5em 1em; }
article h2 { font-size: 1em; margin: 0; display: inline; }
article .fig { color: #555; font-size: .9em; margin-left: 1em; }
article .tag { font-size: .8em; border: 1px solid #999; border-radius: 3px; padding: 0 .3em; margin-left: .5em; }
.text { white-space: pre-wrap; font-family: Georgia, serif; max-height: 28em; overflow: auto; margin-top: .4em; }
mark.rm { cursor: pointer; color: inherit; }
mark.k0 { background: #ffd7a8; text-decoration: line-through #b45f06; }
mark.k1 { background: #f8b4c0; text-decoration: line-through #a0153e; }
/* Where a removed passage came from, next to it; where a kept passage starts and ends: small
   labels, so that a document copied almost whole is not covered in colour. */
a.from, .kept { font: .75em/1.2 system-ui, sans-serif; white-space: nowrap; border-radius: 3px; padding: 0 .35em;
  margin: 0 .2em; text-decoration: none; }
a.from.k0 { color: #8a4a05; background: #fff1e0; }
a.from.k1 { color: #8c1233; background: #fde7ec; }
.kept { color: #1a5fb4; background: #eef3fb; }
.kept a { color: inherit; }
.kept-end { color: #1a5fb4; font-family: system-ui, sans-serif; }
.flash { animation: flash 1.6s ease-out; }
@keyframes flash { from { background: #ffe066; outline: 3px solid #1a5fb4; } to { outline: 3px solid transparent; } }
"""

_SCRIPT = r"""
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("data").textContent);
  var docs = data.docs, t = data.totals, pageSize = data.pageSize || 25;
  var kindName = ["inside the document", "in an earlier document"];
  function n(x) { return x.toLocaleString("en"); }
  function pct(a, b) { return b ? (100 * a / b).toFixed(2) + "%" : "0.00%"; }
  function plural(k, w) { return n(k) + " " + w + (k === 1 ? "" : "s"); }
  document.getElementById("totals").textContent =
    plural(t.documents, "document") + " analysed, " + n(t.changed) + " changed (" +
    n(t.within) + " with repeats inside, " + n(t.across) + " with passages seen before; " +
    plural(t.spans_within + t.spans_across, "span") + "). Characters: " + n(t.chars_in) + ", " +
    n(t.chars_removed) + " removed (" + pct(t.chars_removed, t.chars_in) + ")" +
    (t.emptied ? ". Left empty: " + n(t.emptied) : "") + (t.dropped ? ", dropped: " + n(t.dropped) : "") + ".";
  // incoming[i]: the spans elsewhere that repeat a passage of document i.
  var incoming = docs.map(function () { return []; });
  docs.forEach(function (d, i) {
    d.spans.forEach(function (s, k) { if (s[3] >= 0) incoming[s[3]].push([s[4], s[5], i, k]); });
  });
  var state = { filter: "", kind: "changed", order: "input", page: 0, list: [] };

  function matches(d, i) {
    var has = function (kind) { return d.spans.some(function (s) { return s[0] === kind; }); };
    if (state.kind === "changed" && !(d.changed || d.dropped)) return false;
    if (state.kind === "within" && !has(0)) return false;
    if (state.kind === "across" && !has(1)) return false;
    if (state.kind === "emptied" && !(d.dropped || d.empty)) return false;
    if (!state.filter) return true;
    var f = state.filter;
    return d.id.toLowerCase().indexOf(f) >= 0 || d.text.toLowerCase().indexOf(f) >= 0;
  }
  function select() {
    state.list = [];
    docs.forEach(function (d, i) { if (matches(d, i)) state.list.push(i); });
    if (state.order === "removed") state.list.sort(function (a, b) { return docs[b].removed - docs[a].removed || a - b; });
    document.getElementById("count").textContent = plural(state.list.length, "document");
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function link(cls, text, doc, go) {
    var a = el("a", cls, text);
    a.href = "#doc-" + doc;  // the click handler jumps to the passage itself
    a.dataset.doc = doc; a.dataset.go = go;
    return a;
  }
  // Where the removed span k of document i came from, shown right after it.
  function fromLink(i, s, k) {
    var same = s[3] === i;
    var a = link("from k" + s[0], same ? "\u2191 repeats above" : "\u2190 seen in " + docs[s[3]].id, s[3],
                 "s-" + s[3] + "-" + i + "-" + k);
    a.title = "removed: repeats a passage " + kindName[s[0]] + ", similarity " + s[6] + "; click to see it";
    return a;
  }
  // The label where kept passages of document i start: which later passages repeat them.
  function keptNote(i, starting) {
    var note = el("span", "kept", "kept, repeated "), later = [];
    starting.forEach(function (r) { if (later.indexOf(r[2]) < 0) later.push(r[2]); });
    later.slice(0, 3).forEach(function (doc, n) {
      var r = starting.filter(function (x) { return x[2] === doc; })[0];
      note.appendChild(document.createTextNode((n ? ", " : "") + (doc === i ? "" : "in ")));
      note.appendChild(link("", doc === i ? "below" : docs[doc].id, doc, "r-" + doc + "-" + r[3]));
    });
    if (later.length > 3) note.appendChild(document.createTextNode(" and " + (later.length - 3) + " more"));
    return note;
  }
  function renderText(i) {
    var d = docs[i], box = el("div", "text"), cuts = [0, d.text.length];
    d.spans.forEach(function (s) { cuts.push(s[1], s[2]); });
    incoming[i].forEach(function (r) { cuts.push(r[0], r[1]); });
    cuts = cuts.filter(function (c, k, a) { return a.indexOf(c) === k; }).sort(function (a, b) { return a - b; });
    for (var c = 0; c + 1 < cuts.length; c++) {
      var a = cuts[c], b = cuts[c + 1], piece = d.text.slice(a, b), node = null;
      var starting = incoming[i].filter(function (r) { return r[0] === a; });
      if (starting.length) box.appendChild(keptNote(i, starting));
      var rm = -1;
      d.spans.forEach(function (s, k) { if (s[1] <= a && b <= s[2]) rm = k; });
      var into = incoming[i].filter(function (r) { return r[0] <= a && b <= r[1]; });
      if (rm >= 0) {
        var s = d.spans[rm];
        node = el("mark", "rm k" + s[0], piece);
        node.title = "removed: repeats a passage " + kindName[s[0]] +
          (s[3] >= 0 && s[3] !== i ? " (" + docs[s[3]].id + ")" : "") + ", similarity " + s[6];
        node.dataset.parts = "r-" + i + "-" + rm;  // every piece of the span: a jump flashes them all
        node.dataset.go = s[3] >= 0 ? "s-" + s[3] + "-" + i + "-" + rm : "";
        node.dataset.doc = s[3];
        box.appendChild(node);
        if (b === s[2] && s[3] >= 0) box.appendChild(fromLink(i, s, rm));
      } else if (into.length) {
        node = el("span", "src", piece);
        node.dataset.parts = into.map(function (x) { return "s-" + i + "-" + x[2] + "-" + x[3]; }).join(" ");
        box.appendChild(node);
        if (incoming[i].some(function (r) { return r[1] === b; })) box.appendChild(el("span", "kept-end", "\u27E7"));
      } else {
        box.appendChild(document.createTextNode(piece));
      }
    }
    return box;
  }
  function renderDoc(i) {
    var d = docs[i], art = el("article");
    art.id = "doc-" + i;
    art.appendChild(el("h2", "", d.id));
    var within = d.spans.filter(function (s) { return s[0] === 0; }).length;
    var across = d.spans.length - within;
    art.appendChild(el("span", "fig", n(d.text.length) + " characters, " + n(d.removed) + " removed (" +
      pct(d.removed, d.text.length) + "); " + plural(within, "repeat") + " inside, " +
      plural(across, "passage") + " seen before" + (d.where ? " \u2014 " + d.where : "")));
    if (d.dropped) art.appendChild(el("span", "tag", "dropped"));
    else if (d.empty) art.appendChild(el("span", "tag", "left empty"));
    else if (!d.changed) art.appendChild(el("span", "tag", "unchanged: source of later passages"));
    art.appendChild(renderText(i));
    return art;
  }
  function renderPager() {
    var pages = Math.max(1, Math.ceil(state.list.length / pageSize));
    Array.prototype.forEach.call(document.querySelectorAll(".pager"), function (nav) {
      nav.textContent = "";
      var prev = el("button", "", "\u2190 previous"), next = el("button", "", "next \u2192");
      prev.type = next.type = "button";
      prev.disabled = state.page === 0; next.disabled = state.page >= pages - 1;
      prev.onclick = function () { show(state.page - 1); };
      next.onclick = function () { show(state.page + 1); };
      nav.appendChild(prev); nav.appendChild(next);
      nav.appendChild(el("span", "", "page " + (state.page + 1) + " of " + pages));
    });
  }
  function show(page) {
    var pages = Math.max(1, Math.ceil(state.list.length / pageSize));
    state.page = Math.min(Math.max(0, page), pages - 1);
    var main = document.getElementById("docs");
    main.textContent = "";
    state.list.slice(state.page * pageSize, (state.page + 1) * pageSize).forEach(function (i) {
      main.appendChild(renderDoc(i));
    });
    renderPager();
  }
  function parts(key) {
    return document.querySelectorAll("[data-parts~='" + key + "']");
  }
  var flashed = [];
  function flash(nodes) {
    flashed.forEach(function (node) { node.classList.remove("flash"); });
    flashed = Array.prototype.slice.call(nodes);
    flashed.forEach(function (node) { void node.offsetWidth; node.classList.add("flash"); });  // restart the animation
  }
  // Show document docIndex and the passage `key` in it (its whole article when key is "doc-N"):
  // another page, or every document when the current choice does not list it.
  function jump(docIndex, key) {
    var listed = state.list.indexOf(docIndex) >= 0;
    if (!listed) {
      state.filter = ""; state.kind = "all";
      document.getElementById("filter").value = ""; document.getElementById("kind").value = "all";
      select();
    }
    var page = Math.floor(state.list.indexOf(docIndex) / pageSize);
    if (!listed || page !== state.page || !document.getElementById("doc-" + docIndex)) show(page);
    var targets = parts(key);
    if (!targets.length) targets = [document.getElementById("doc-" + docIndex)];
    if (!targets[0]) return;
    reveal(targets[0]);
    flash(targets);
  }
  // Scroll the first line of node into view, below the sticky header, also inside its
  // scrolled text box: a passage can be taller than the window, so centring it would hide its start.
  function reveal(node) {
    var first = function () { return node.getClientRects()[0] || node.getBoundingClientRect(); };
    var box = node.closest(".text");
    if (box) box.scrollTop += first().top - box.getBoundingClientRect().top - 24;
    var header = document.querySelector(".top").getBoundingClientRect().bottom;
    window.scrollBy(0, first().top - header - (innerHeight - header) / 3);
  }
  document.getElementById("docs").addEventListener("click", function (event) {
    var node = event.target.closest("[data-go]");
    if (!node || !node.dataset.go) return;
    event.preventDefault();
    jump(+node.dataset.doc, node.dataset.go);
  });
  var timer = null;
  document.getElementById("filter").addEventListener("input", function (event) {
    clearTimeout(timer);
    timer = setTimeout(function () { state.filter = event.target.value.trim().toLowerCase(); select(); show(0); }, 150);
  });
  document.getElementById("kind").addEventListener("change", function (event) { state.kind = event.target.value; select(); show(0); });
  document.getElementById("order").addEventListener("change", function (event) { state.order = event.target.value; select(); show(0); });
  select();
  var hash = /^#doc-(\d+)$/.exec(location.hash);
  show(0);
  if (hash) jump(+hash[1], "doc-" + hash[1]);
  // Milliseconds from navigation to the first page shown (read by benchmarks/bench_report.py).
  document.documentElement.dataset.readyMs = Math.round(performance.now());
})();
"""
