"""Words and sentences as the benchmarks count them (not as the engine does).

``norm_tokens`` is the comparison of "restored" and of word counts: lower-cased ``\\w+``
words with soft hyphens, zero-width characters and NFKC differences ignored.
``word_spans`` and ``sentence_spans`` are where generators cut text, ``edit_words_at``
how they edit it.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Sequence

_WORD = re.compile(r"\w+")
# A sentence ends at . ! ? (optionally followed by a closing quote or bracket) before
# whitespace and a capital, digit or opening quote. Good enough for news prose.
_SENTENCE_END = re.compile(r"(?<=[.!?])['\"\u2019\u201d)]?\s+(?=['\"\u2018\u201c(]?[A-Z0-9\u00c0-\u00de])")
# Characters that never split a word and do not count in it: soft hyphen, zero-width ones.
_IGNORABLE_CLASS = "\u00ad\u200b\u200c\u200d\u2060\ufeff"
_IGNORED_IN_WORDS = dict.fromkeys(map(ord, _IGNORABLE_CLASS))
_RAW_WORD = re.compile(rf"\w+(?:[{_IGNORABLE_CLASS}]+\w+)*")


def norm_tokens(text: str) -> tuple[list[str], list[tuple[int, int]]]:
    """Lower-cased ``\\w+`` words and their character ranges in ``text`` as written.

    Words are compared after dropping soft hyphens and zero-width characters, NFKC and
    casefolding, so a soft hyphen inside a word or a full-width letter is not a different
    word. This is the comparison the benchmark uses for "restored" and word counts.
    """
    words, spans = [], []
    for m in _RAW_WORD.finditer(text):
        for w in _WORD.findall(unicodedata.normalize("NFKC", m.group(0).translate(_IGNORED_IN_WORDS)).casefold()):
            words.append(w)
            spans.append(m.span())
    return words, spans


def norm_words(text: str) -> list[str]:
    """The words of :func:`norm_tokens` without their ranges."""
    return norm_tokens(text)[0]


# For cutting text: "it's" and "zo'n" are one word, so a cut never splits them.
_CUT_WORD = re.compile(r"\w+(?:['\u2019]\w+)*")


def word_spans(text: str) -> list[tuple[int, int]]:
    """Character ranges of the words of ``text`` (apostrophes inside a word keep it whole)."""
    return [m.span() for m in _CUT_WORD.finditer(text)]


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character ranges of the sentences of ``text`` (whitespace between them excluded)."""
    spans, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        end = m.start() + len(m.group(0).rstrip())
        if text[start:end].strip():
            spans.append((start, end))
        start = m.end()
    if text[start:].strip():
        spans.append((start, len(text.rstrip())))
    return spans


def sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text)]


def longest_repeat(text: str, ngram: int = 6) -> tuple[int, int, int]:
    """Longest run of words that occurs twice without overlap: ``(length, source_word, repeat_word)``.

    Words are :func:`norm_words`; returns ``(0, -1, -1)`` when no ``ngram`` words repeat.
    Used to screen the article pool and to derive the expected output of real repeats.
    """
    words = norm_words(text)
    first: dict[tuple[str, ...], int] = {}
    best = (0, -1, -1)
    i = 0
    while i + ngram <= len(words):
        gram = tuple(words[i : i + ngram])
        j = first.setdefault(gram, i)
        if j < i:
            k = 0
            while i + k < len(words) and j + k < i and words[j + k] == words[i + k]:
                k += 1
            if k > best[0]:
                best = (k, j, i)
            if k >= ngram:
                # Register the grams inside the run so later runs can still find their first copy.
                for p in range(i + 1, i + k - ngram + 1):
                    first.setdefault(tuple(words[p : p + ngram]), p)
                i += k - ngram + 1
                continue
        i += 1
    return best


def edit_words_at(
    text: str, spans: Sequence[tuple[int, int]], positions: Sequence[int], rng: random.Random, vocabulary: Sequence[str]
) -> tuple[str, list[str]]:
    """``text`` with each word ``spans[k]``, ``k`` in ``positions``, substituted, dropped, or
    preceded by an inserted word (words put in are drawn from ``vocabulary``); and the edits
    made ("sub", "drop", "insert"), right to left."""
    edits = []
    for k in sorted(positions, reverse=True):  # right to left: offsets of the words still to edit stay valid
        a, b = spans[k]
        edit = rng.choice(("sub", "drop", "insert"))
        if edit == "sub":
            text = text[:a] + rng.choice(vocabulary) + text[b:]
        elif edit == "drop":
            text = text[:a].rstrip(" ") + text[b:]
        else:
            text = text[:a] + rng.choice(vocabulary) + " " + text[a:]
        edits.append(edit)
    return text, edits
