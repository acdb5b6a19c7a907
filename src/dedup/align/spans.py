"""Stage 5, spans: token ranges as character ranges with the punctuation that belongs to
their edge words (:class:`Repeat`), and their removal from a text (:func:`remove_spans`)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Iterable, Sequence

from .._validate import check_text
from ..text import SENTENCE_MARKS, Tokens
from .prepared import PreparedText
from .verify import Alignment


# Characters that open a quotation or parenthesis: removed with the word they precede
# even when glued to the word before (unless a sentence end precedes them: then they
# close the sentence before, as in 。” or ." ).
_OPENING = set("\"'‘’“”„‚«‹([{¿¡「『（【〈《〔［｛")
_SENTENCE_TERMINATORS = set(".!?…" + SENTENCE_MARKS)
_CLOSING = set("\"'’”»›")


@dataclass(frozen=True)
class Repeat:
    """A later passage that repeats an earlier one.

    ``text[start:end]`` is the repeat (what ``clean`` removes, apart from whitespace).
    ``source`` says where the earlier passage is: ``None`` for the same text (then
    ``text[source_start:source_end]`` is it, before ``start``), or the index of the
    source text in the ``sources`` given to :func:`find_repeats`. ``similarity`` is the
    share of the repeat's word n-grams found in the source passage (1.0: all of them, as
    in a copy identical up to case, accents, punctuation and whitespace, or one that only
    dropped words).
    """

    start: int
    end: int
    source_start: int
    source_end: int
    similarity: float
    source: int | None = None

    def to_dict(self) -> dict:
        return {
            "start": self.start,
            "end": self.end,
            "source": self.source,
            "source_start": self.source_start,
            "source_end": self.source_end,
            "similarity": round(self.similarity, 4),
        }


def remove_spans(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """Delete the character ranges ``spans`` from ``text`` and tidy the whitespace.

    Ranges separated only by whitespace are removed as one. Of the whitespace around a
    removed range, one separator is kept: the one with more line breaks (so paragraph
    breaks survive); at the start or end of the text, the outer side is kept. Returns
    ``text`` itself when there is nothing to remove. :func:`removed_ranges` says which
    characters go.

    Examples
    --------
    >>> remove_spans("Keep this.\\n\\nDrop this. Keep that.", [(12, 22)])
    'Keep this.\\n\\nKeep that.'
    """
    text = check_text("text", text)
    return cut_out(text, removed_ranges(text, spans))


def cut_out(text: str, cuts: Sequence[tuple[int, int]]) -> str:
    """``text`` without the character ranges ``cuts`` (sorted and disjoint, as
    :func:`removed_ranges` gives them); ``text`` itself when there are none.

    >>> cut_out("Keep this.\\n\\nDrop this. Keep that.", [(12, 23)])
    'Keep this.\\n\\nKeep that.'
    """
    if not cuts:
        return text
    kept = zip([0, *(end for _, end in cuts)], [*(start for start, _ in cuts), len(text)])
    return "".join(text[start:end] for start, end in kept)


def removed_ranges(text: str, spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """The character ranges that :func:`remove_spans` deletes from ``text``: the merged
    ``spans``, each with the whitespace the tidying takes. Sorted and disjoint.

    >>> removed_ranges("Keep this.\\n\\nDrop this. Keep that.", [(12, 22)])
    [(12, 23)]
    """
    cuts = []
    position = 0
    for start, end in merge_spans(text, spans):
        before = start
        while before > position and text[before - 1].isspace():
            before -= 1
        after = end
        while after < len(text) and text[after].isspace():
            after += 1
        if before == 0 or after == len(text):
            # At an edge of the text: drop the whitespace between the removal and the
            # remaining text, keep the whitespace at the edge (e.g. a final newline).
            cut = (start, after) if before == 0 else (before, end)
        elif text[start:after].count("\n") > text[before:start].count("\n"):
            cut = (before, end)  # keep the separator after the removal
        else:
            cut = (start, after)  # keep the separator before it
        cuts.append(cut)
        position = cut[1]
    return cuts


def merge_spans(text: str, spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted union of character ranges of ``text``; ranges separated only by whitespace are joined.

    Raises ``ValueError`` for a range outside the text.
    """
    ordered = sorted((int(s), int(e)) for s, e in spans if e > s)
    merged: list[tuple[int, int]] = []
    for start, end in ordered:
        if start < 0 or end > len(text):
            raise ValueError(f"span ({start}, {end}) is outside the text of length {len(text)}")
        if merged and (start <= merged[-1][1] or not text[merged[-1][1] : start].strip()):
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def to_repeats(query: PreparedText, sources: Sequence[PreparedText], spans: list[Alignment]) -> list[Repeat]:
    """The resolved ``spans`` (token ranges, sorted, disjoint) as :class:`Repeat` character ranges."""
    repeats: list[Repeat] = []
    for span in spans:
        start, end = _char_range(query.text, query.tokens, span.copy_start, span.copy_end)
        if repeats and start < repeats[-1].end:
            start = repeats[-1].end
        origin = query if span.source is None else sources[span.source]
        src_start, src_end = _char_range(origin.text, origin.tokens, span.source_start, span.source_end)
        if span.source is None:
            src_end = min(src_end, start)
        repeats.append(Repeat(start, end, src_start, src_end, float(span.similarity), span.source))
    return repeats


def _char_range(text: str, tokens: Tokens, first: int, end: int) -> tuple[int, int]:
    """Characters of tokens [first, end), with the punctuation that belongs to them.

    Before the first word: the non-space characters glued to it (an opening quote or
    bracket, a dash), and on the same line any stand-alone punctuation (a bullet, a
    dash) between it and the previous word; of characters glued to the previous word,
    only opening quotes and brackets. After the last word: what is glued to it, and
    stand-alone punctuation up to the end of its line.
    """
    if end <= first:
        position = int(tokens.starts[first]) if first < len(tokens.starts) else len(text)
        return position, position
    start = int(tokens.starts[first])
    stop = int(tokens.ends[end - 1])
    limit = int(tokens.ends[first - 1]) if first > 0 else 0
    # Glued to the first word.
    glued = start
    while glued > limit and not text[glued - 1].isspace():
        glued -= 1
    if glued > limit or first == 0:
        start = glued
        # Stand-alone punctuation on the same line, not glued to the previous word.
        position = start
        while True:
            blank = position
            while blank > limit and text[blank - 1].isspace() and text[blank - 1] != "\n":
                blank -= 1
            chunk = blank
            while chunk > limit and not text[chunk - 1].isspace():
                chunk -= 1
            if chunk == blank or (chunk == limit and first > 0) or not _is_mark(text[chunk:blank]):
                break
            if _closes(text[chunk:blank]):
                break  # the full stop or bracket ending the text before (". Next"), not a bullet
            position = start = chunk
    else:
        while start > limit and text[start - 1] in _OPENING:
            # After a sentence end, a quote that can close ("." + ", 。+ ”) closes the
            # sentence before; one that only opens (“ 「 after 。) opens the copy.
            if text[start - 1] in _CLOSING and start - 1 > 0 and text[start - 2] in _SENTENCE_TERMINATORS:
                break
            start -= 1
    next_word = int(tokens.starts[end]) if end < len(tokens.starts) else len(text)
    while stop < next_word and not text[stop].isspace():
        stop += 1
    # Stand-alone punctuation after the last word, up to the end of the line.
    line_end = text.find("\n", stop, next_word)
    tail_end = next_word if line_end < 0 else line_end
    tail = text[stop:tail_end].strip()
    if tail and _is_mark("".join(tail.split())) and (line_end >= 0 or end == len(tokens.starts)):
        stop = stop + len(text[stop:tail_end].rstrip())
    if end == len(tokens.starts):
        # A copy that runs to the end of the text takes all of it: what follows its last
        # word holds no word, only its closing marks (a full stop on a line of its own,
        # a closing quote after a space, a rule).
        stop = max(stop, len(text.rstrip()))
    # A line of marks right above or below the copy (a rule, a box, "***") frames it.
    line_start = text.rfind("\n", limit, start) + 1
    if line_start > limit and not text[line_start:start].strip():
        above = text.rfind("\n", limit, line_start - 1) + 1
        framing = text[above : line_start - 1].strip()
        if above > limit and framing and _is_mark("".join(framing.split())):
            start = above + text[above:line_start].index(framing[0])
    line_end = text.find("\n", stop, next_word)
    if line_end >= 0 and not text[stop:line_end].strip():
        below_end = text.find("\n", line_end + 1, next_word)
        framing = text[line_end + 1 : next_word if below_end < 0 else below_end].strip()
        if framing and _is_mark("".join(framing.split())) and (below_end >= 0 or end == len(tokens.starts)):
            stop = text.index(framing, line_end + 1) + len(framing)
    return start, stop


def _closes(chunk: str) -> bool:
    """Does a stand-alone chunk of marks end what comes before it (a full stop, a comma, a
    closing bracket) rather than open what follows (a bullet, a dash, an opening quote)?"""
    return chunk[-1] in _SENTENCE_TERMINATORS or chunk[-1] in ",;:，、；：" or unicodedata.category(chunk[-1]) == "Pe"


def _is_mark(chunk: str) -> bool:
    """Only punctuation and symbols (bullets, dashes, quotes, box drawing)?"""
    return all(unicodedata.category(c)[0] in "PS" for c in chunk)
