"""The alignment engine: passages of a text that repeat its own earlier part or given sources.

One engine finds every repeat, inside one text and across texts:

1. **Seed.** ``text.tokenize`` -> tokens with character offsets; ``shingle.shingles`` ->
   n-gram hashes. A seed is a shingle of the text that occurs in a source; it points to
   its *first* occurrence there (in the text itself: its first earlier occurrence), so
   every later copy points at the original, never at another copy. Seeds on one
   diagonal (``copy position - source position``) form a run: an exact match.
2. **Chain.** Runs are joined when copy and source both move forward across a gap of at
   most ``max_gap`` words (changed, added or dropped words); stray seeds (a common phrase
   elsewhere) start chains of their own that verification discards. Consecutive runs
   that repeat the *same* source passage (a sentence said k times, a phrase repeated
   thousands of times) are one repeat of one copy: a tandem run.
3. **Extend.** Each chain's edges are carried outward through changed, dropped or added
   words by a banded X-drop alignment (as in BLAST's gapped extension) up to the first
   real divergence; where copy and source both reach a sentence boundary the edge
   prefers it, so an edited first or last sentence goes with the copy.
4. **Verify.** A chain is a repeat when it matches at least ``min_length`` words exactly
   and the share of the copy's shingles found in its source (containment) reaches
   ``threshold``. Containment, not Jaccard similarity: a copy that dropped sentences of
   its source is no less a copy.
5. **Spans.** Token ranges -> character ranges with the punctuation that belongs to the
   edge words (opening quotes, brackets, bullets and dashes before the first word;
   closing punctuation after the last) -> removal that tidies only the whitespace it
   created.

Within one text every shingle is at hand, so seeds are exact shingle matches rather than
MinHash estimates: word-precise and linear in the text length. Across a corpus, an index
(:class:`dedup.Deduplicator`) proposes the earlier texts worth aligning against, and
this engine aligns against them.

The stages, one module each, in the order they run (:mod:`.engine` drives them):
:mod:`.params` (parameters), :mod:`.prepared` (tokens and shingles, with sentence
:mod:`.boundaries`), :mod:`.seed`, :mod:`.chain`, :mod:`.extend` (with the X-drop kernels
of :mod:`.xdrop`), :mod:`.verify`, :mod:`.overlaps` and :mod:`.spans`. This module holds
the user API.
"""

from __future__ import annotations

from typing import Iterable, Sequence

from .._validate import check_text, check_texts
from .engine import PairAlignments, align, align_many, find_within_many
from ..text import DEFAULT_MODE
from .params import DEFAULT_MAX_GAP, DEFAULT_MIN_LENGTH, DEFAULT_NGRAM, DEFAULT_THRESHOLD, RepeatParams
from .prepared import PreparedText, prepare, prepare_alone
from .spans import Repeat, cut_out, merge_spans, remove_spans, removed_ranges

__all__ = [
    "PairAlignments",
    "PreparedText",
    "Repeat",
    "RepeatParams",
    "align",
    "align_many",
    "clean",
    "clean_many",
    "cut_out",
    "find_repeats",
    "find_repeats_many",
    "merge_spans",
    "prepare",
    "prepare_alone",
    "remove_spans",
    "removed_ranges",
]


def find_repeats(
    text: str,
    *,
    sources: Sequence[str] | None = None,
    within: bool = True,
    threshold: float = DEFAULT_THRESHOLD,
    min_length: int = DEFAULT_MIN_LENGTH,
    ngram: int = DEFAULT_NGRAM,
    max_gap: int = DEFAULT_MAX_GAP,
    mode: str = DEFAULT_MODE,
) -> list[Repeat]:
    """Find passages of ``text`` that repeat an earlier passage of the same text or of ``sources``.

    Parameters
    ----------
    text : str
        The text. Any Unicode; matching ignores case, accents, punctuation, whitespace,
        soft hyphens, zero-width characters and the kind of quotes.
    sources : sequence of str, optional
        Earlier texts that ``text`` may repeat (e.g. earlier articles of a feed), oldest
        first. A passage found in several is reported against the oldest (its earliest
        copy); a passage of the text repeated in a source is reported against the source.
    within : bool, default True
        Also report passages that repeat the earlier part of ``text`` itself.
    threshold : float in (0, 1], default 0.7
        Minimum share of the repeat's word ``ngram`` shingles found in its source. 1.0
        accepts only copies that add or change nothing (up to the normalisation above).
    min_length : int >= 1, default 20
        Minimum length of a repeat in exactly matched words. Shorter repeats (a repeated
        heading, a refrain, a short quote) are left alone. In scripts written without
        spaces a letter counts as the share of a word it is on average
        (``dedup.text.SCRIPT_WEIGHTS``: 20 words are about 33 Chinese characters).
    ngram : int >= 1, default 5
        Tokens per shingle (words; letters of scripts written without spaces). Smaller
        finds copies with denser edits, larger is stricter.
    max_gap : int >= 0, default 40
        Longest stretch of tokens (changed, added or dropped) bridged inside one repeat.
        A passage of a source bridges at most 3 words added in the copy between
        exact runs (an edit); more are the copy's own (a sentence between two
        passages), and the passage is reported as two repeats around them.

    Returns
    -------
    list of Repeat
        Sorted by ``start``, non-overlapping. ``source`` is ``None`` for a repeat of the
        text itself (then ``source_end <= start``), else the index into ``sources``.

    Examples
    --------
    >>> body = ("The council approved the new budget on Tuesday after a long debate about "
    ...         "schools and roads, and the mayor thanked everyone who had spoken at the meeting.")
    >>> text = body + "\\n\\n" + body
    >>> [(r.start, r.source_start, r.source_end, r.similarity) for r in find_repeats(text)]
    [(155, 0, 153, 1.0)]
    >>> later = "Late news. " + body[:120] + " More to follow."  # 21 words of it
    >>> [(r.source, r.source_start, r.similarity) for r in find_repeats(later, sources=[body])]
    [(0, 0, 1.0)]
    """
    text = check_text("text", text)
    params = RepeatParams(threshold, min_length, ngram, max_gap, mode)
    source_texts = [] if sources is None else check_texts(sources, "sources")
    prepared = prepare([text, *source_texts], params.ngram, params.mode)
    return align(prepared[0], prepared[1:], params, within=within)


def find_repeats_many(texts: Iterable[str], **params) -> list[list[Repeat]]:
    """``find_repeats`` (each text against itself) for many texts, sharing the vectorised stages."""
    texts = check_texts(texts)
    return find_within_many(texts, RepeatParams.from_keywords("find_repeats_many", params))


def clean(text: str, *, sources: Sequence[str] | None = None, within: bool = True, **params) -> str:
    """``text`` with every repeat found by ``find_repeats`` removed.

    Only deletes: the first occurrence of a repeated passage is kept byte for byte, and
    only the whitespace that a removal leaves doubled is removed with it. Text without
    repeats is returned unchanged (the same object). Parameters as ``find_repeats``.

    Examples
    --------
    >>> body = ("The council approved the new budget on Tuesday after a long debate about "
    ...         "schools and roads, and the mayor thanked everyone who had spoken at the meeting.")
    >>> clean(body + "\\n\\n" + body) == body
    True
    >>> clean("Breaking: " + body, sources=[body], within=False)
    'Breaking:'
    """
    text = check_text("text", text)
    settings = RepeatParams.from_keywords("clean", params)
    if sources is None and within:
        return _clean_batch([text], settings)[0]
    source_texts = check_texts(sources or [], "sources")
    prepared_sources = prepare(source_texts, settings.ngram, settings.mode)
    result = text
    # A removal can join text into a new repeat; repeat until nothing changes, so that
    # clean(clean(t)) == clean(t).
    while True:
        (query,) = prepare([result], settings.ngram, settings.mode)
        repeats = align(query, prepared_sources, settings, within=within)
        if not repeats:
            return result
        result = remove_spans(result, [(r.start, r.end) for r in repeats])


def clean_many(texts: Iterable[str], **params) -> list[str]:
    """``clean`` for many texts; faster per text than calling ``clean`` in a loop."""
    texts = check_texts(texts)
    return _clean_batch(texts, RepeatParams.from_keywords("clean_many", params))


def _clean_batch(texts: Sequence[str], settings: RepeatParams) -> list[str]:
    results = list(texts)
    pending = list(range(len(texts)))
    # A removal can join text into a new repeat; repeat until nothing changes, so that
    # clean(clean(t)) == clean(t). The second round only sees texts that changed.
    while pending:
        found = find_within_many([results[i] for i in pending], settings)
        changed = []
        for i, repeats in zip(pending, found):
            if repeats:
                results[i] = remove_spans(results[i], [(r.start, r.end) for r in repeats])
                changed.append(i)
        pending = changed
    return results
