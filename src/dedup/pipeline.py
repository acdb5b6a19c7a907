"""One within-then-across pipeline: each text cleaned, with every removed span in original offsets.

Two stages, each optional, over documents in order:

1. **Within** (:func:`within_pass`): the engine (:mod:`dedup.align`) on each text alone,
   in the rounds of :func:`dedup.clean_many` (a removal can join text into a new repeat,
   so the texts a round changed go through again until nothing changes). The cleaned
   text is ``clean_many``'s; each round runs the engine once per text it sees.
2. **Across** (:class:`AcrossPass`): a :class:`dedup.Deduplicator` fed the texts stage 1
   left, in order, finds passages of earlier documents (and, with ``scope="both"``, of the
   document itself); they are removed as ``Deduplicator.clean`` removes them.

Every removal says exactly which characters went (:func:`dedup.align.removed_ranges`),
kept per document as a :class:`dedup.spans.Removal`: a span found in a text after an
earlier removal maps back to the original text by arithmetic, and so do its source's
offsets. Every span is a :class:`dedup.Match`.

``dedup clean`` and ``dedup explain`` run stage 1 in worker processes and stage 2 in their
stream of documents; :func:`clean_documents` runs both over an iterable
(:func:`dedup.report.explain`).

>>> body = ("The council approved the new budget on Tuesday after a long debate about schools, "
...         "roads and the cost of heating the old town hall in winter.")
>>> (doc,) = within_pass([body + "\\n\\n" + body], ids=["a"])
>>> doc.cleaned == body, [(s.kind, s.start, s.end, s.source_id) for s in doc.spans], doc.removal
(True, [('within', 142, 282, 'a')], Removal([(140, 282)]))
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ._validate import check_int, check_texts
from .align import cut_out, find_repeats_many, removed_ranges
from .documents import id_key
from .spans import Match, Removal

__all__ = ["AcrossPass", "Cleaned", "clean_documents", "unchanged", "within_pass"]

# Nothing removed: one object for every document left as it is (a Removal never changes;
# making one a document was a few percent of a stream of short documents).
_NOTHING_REMOVED = Removal()


@dataclass(frozen=True)
class Cleaned:
    """One document after the pipeline: its original ``text``, the ``cleaned`` text, the
    removed ``spans`` (offsets into original texts, by start) and ``removal``, exactly which
    characters of ``text`` went: ``cleaned`` is ``text`` without them, every character of a
    span is among them, and the others are whitespace that a removal's tidying took
    (:func:`dedup.align.remove_spans`). Removing all spans of ``text`` at once tidies the
    same, unless two removals in turn (two rounds, or the two stages) met across
    whitespace: then each chose its own separator."""

    id: Hashable
    text: str
    cleaned: str
    spans: tuple[Match, ...] = ()
    removal: Removal = _NOTHING_REMOVED

    @property
    def changed(self) -> bool:
        return bool(self.removal)


def unchanged(texts: Sequence[str], ids: Sequence[Hashable]) -> list[Cleaned]:
    """The documents as they are: no within stage."""
    return [Cleaned(doc_id, text, text) for doc_id, text in zip(ids, texts)]


def within_pass(texts: Sequence[str], ids: Sequence[Hashable] | None = None, **params) -> list[Cleaned]:
    """Stage 1: repeats inside each text removed, in rounds until none is left.

    ``ids`` name the documents in the spans (default: their positions); ``params`` are
    those of :func:`dedup.find_repeats`. ``cleaned`` is ``dedup.clean_many(texts,
    **params)``; the spans of every round are reported, each in original offsets (a
    repeat that a removal joined is reported with the removed text inside it).
    """
    texts = check_texts(texts)
    ids = list(range(len(texts))) if ids is None else list(ids)
    current = list(texts)
    removals = [_NOTHING_REMOVED] * len(texts)
    spans: list[list[Match]] = [[] for _ in texts]
    pending = list(range(len(texts)))
    while pending:
        changed = []
        for i, repeats in zip(pending, find_repeats_many([current[i] for i in pending], **params)):
            if not repeats:
                continue
            removal = removals[i]
            for r in repeats:
                start, end = removal.span_to_original(r.start, r.end)
                source_start, source_end = removal.span_to_original(r.source_start, r.source_end)
                spans[i].append(Match(start, end, "within", ids[i], source_start, source_end, float(r.similarity)))
            cuts = removed_ranges(current[i], [(r.start, r.end) for r in repeats])
            removals[i] = removal.then(cuts)
            current[i] = cut_out(current[i], cuts)
            changed.append(i)
        pending = changed
    return [
        Cleaned(doc_id, text, cleaned, tuple(sorted(found, key=_start)), removal)
        for doc_id, text, cleaned, found, removal in zip(ids, texts, current, spans, removals)
    ]


def _start(span: Match) -> int:
    return span.start


class AcrossPass:
    """Stage 2's removal: the matches a :class:`dedup.Deduplicator` found in the text stage 1
    left (offsets into it, and into the texts stage 1 left of the sources), removed and
    mapped to original offsets. Feed the documents in the order the Deduplicator saw them:
    it keeps the stage-1 removal of each document stage 1 changed, for the spans that
    name it as their source."""

    def __init__(self) -> None:
        self._removals: dict[tuple[str, bool], Removal] = {}

    def finish(self, document: Cleaned, matches: Sequence[Match]) -> Cleaned:
        """``document`` (after stage 1) with ``matches`` (the Deduplicator's) removed too."""
        own = document.removal
        if own:
            self._removals[id_key(document.id)] = own
        if not matches:
            return document
        spans = list(document.spans)
        for m in matches:
            start, end = own.span_to_original(m.start, m.end)
            source = self._removals.get(id_key(m.source_id)) if self._removals else None  # none without stage 1
            source_start, source_end = (m.source_start, m.source_end) if source is None else \
                source.span_to_original(m.source_start, m.source_end)
            spans.append(Match(start, end, m.kind, m.source_id, source_start, source_end, float(m.similarity)))
        cuts = removed_ranges(document.cleaned, [(m.start, m.end) for m in matches])
        return Cleaned(
            document.id, document.text, cut_out(document.cleaned, cuts), tuple(sorted(spans, key=_start)),
            own.then(cuts),
        )


def clean_documents(
    documents: Iterable[tuple[Hashable, str]],
    *,
    within: dict | None = None,
    across: Any = None,
    batch_size: int = 64,
) -> Iterator[Cleaned]:
    """Both stages over ``(id, text)`` documents, in order: stage 1 with the parameters
    ``within`` (``None``: no stage 1), stage 2 with the Deduplicator ``across`` (``None``:
    none), which remembers the documents. ``batch_size`` documents go through together."""
    batch_size = check_int("batch_size", batch_size, 1)
    finishing = AcrossPass()
    batch: list[tuple[Hashable, str]] = []

    def flush() -> Iterator[Cleaned]:
        ids = [doc_id for doc_id, _ in batch]
        texts = [text for _, text in batch]
        batch.clear()
        first = unchanged(texts, ids) if within is None else within_pass(texts, ids, **within)
        if across is None:
            yield from first
            return
        found = across.add_many([document.cleaned for document in first], ids)
        yield from (finishing.finish(document, matches) for document, matches in zip(first, found))

    for document in documents:
        batch.append(document)
        if len(batch) >= batch_size:
            yield from flush()
    if batch:
        yield from flush()
