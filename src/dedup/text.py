"""Text -> tokens with offsets into the original string, and segmentation.

Matching must ignore differences a copy picks up on its way through scrapers and CMS
exports (case, accents, soft hyphens, zero-width characters, curly vs straight
apostrophes, NBSP, full-width forms) while every token keeps its exact character range
in the *original* string, so that removals happen exactly where the text was written.

Instead of normalising the string (which changes its length and loses offsets), every
code point is mapped through a lookup table to a folded code and a class, and tokens
are runs of word characters found with NumPy over a whole batch of texts at once.
Token hashes are polynomial hashes of the folded codes computed with prefix sums, so no
Python code runs per token or per character.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import xxhash

from ._validate import check_choice, check_texts

TOKEN_MODES = ("word", "char")

# Character classes in the lookup table.
_SEPARATOR = 0  # ends a token: spaces, punctuation, symbols
_CONTENT = 1  # letters and digits: contribute their folded code to the token hash
_IGNORABLE = 2  # combining marks, soft hyphen, zero-width and other format characters
_JOINER = 3  # apostrophes: inside a word when both neighbours are word characters

_APOSTROPHES = "'\u2019\u02bc\u2018\u02b9\u2032`\u00b4"
# Folded codes for multi-character expansions (ß -> ss, ﬁ -> fi) live above Unicode.
_EXPANSION_BASE = 0x200000

_BMP = 0x10000


def _fold_char(ch: str) -> tuple[int, int]:
    """(class, folded code) of one code point: accent-, case- and width-insensitive."""
    category = unicodedata.category(ch)
    if category[0] == "M" or category == "Cf":
        return _IGNORABLE, 0
    if ch in _APOSTROPHES:
        return _JOINER, 0
    if not ch.isalnum():
        return _SEPARATOR, 0
    decomposed = unicodedata.normalize("NFKD", ch)
    base = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    if len(base) == 1:
        return _CONTENT, ord(base)
    if not base:
        return _CONTENT, ord(ch)
    return _CONTENT, _EXPANSION_BASE + (xxhash.xxh32_intdigest(base.encode("utf-8")) & 0x3FFFFFFF)


@functools.lru_cache(maxsize=1)
def _bmp_tables() -> tuple[np.ndarray, np.ndarray]:
    classes = np.zeros(_BMP, dtype=np.uint8)
    folded = np.zeros(_BMP, dtype=np.uint32)
    for code in range(_BMP):
        if 0xD800 <= code < 0xE000:  # lone surrogates: separators
            continue
        classes[code], folded[code] = _fold_char(chr(code))
    return classes, folded


def _lookup(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Class and folded code for every code point in ``codes``."""
    classes_table, folded_table = _bmp_tables()
    astral = codes >= _BMP
    if not astral.any():
        return classes_table[codes], folded_table[codes]
    classes = classes_table[np.where(astral, 0, codes)]
    folded = folded_table[np.where(astral, 0, codes)]
    unique, inverse = np.unique(codes[astral], return_inverse=True)
    pairs = np.array([_fold_char(chr(int(c))) for c in unique], dtype=np.int64).reshape(-1, 2)
    classes[astral] = pairs[inverse, 0]
    folded[astral] = pairs[inverse, 1]
    return classes, folded


_POLY = np.uint64(0x9E3779B97F4A7C15)  # odd: invertible modulo 2**64
_POLY_INVERSE = np.uint64(pow(0x9E3779B97F4A7C15, -1, 1 << 64))


class _Powers:
    """POLY**k and POLY**-k modulo 2**64, grown on demand and shared by all calls."""

    def __init__(self) -> None:
        self.forward = np.ones(1, dtype=np.uint64)
        self.inverse = np.ones(1, dtype=np.uint64)

    def get(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        if len(self.forward) < n:
            size = max(n, 2 * len(self.forward), 1 << 16)
            with np.errstate(over="ignore"):
                self.forward = np.cumprod(np.r_[np.uint64(1), np.full(size - 1, _POLY)], dtype=np.uint64)
                self.inverse = np.cumprod(np.r_[np.uint64(1), np.full(size - 1, _POLY_INVERSE)], dtype=np.uint64)
        return self.forward[:n], self.inverse[:n]


_powers = _Powers()


def mix64(x: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finaliser, vectorised: spreads every input bit over the output."""
    x = x.astype(np.uint64, copy=True)
    with np.errstate(over="ignore"):
        x ^= x >> np.uint64(33)
        x *= np.uint64(0xFF51AFD7ED558CCD)
        x ^= x >> np.uint64(33)
        x *= np.uint64(0xC4CEB9FE1A85EC53)
        x ^= x >> np.uint64(33)
    return x


@dataclass(frozen=True)
class Tokens:
    """Tokens of a batch of texts, flattened.

    Tokens of text ``i`` are ``hashes[offsets[i]:offsets[i+1]]``; ``starts``/``ends`` are
    character offsets into that text (``text[starts[k]:ends[k]]`` is the token as written).
    """

    hashes: np.ndarray  # uint64
    starts: np.ndarray  # int64
    ends: np.ndarray  # int64
    offsets: np.ndarray  # int64, len(texts) + 1

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def of(self, i: int) -> "Tokens":
        """The tokens of text ``i`` alone."""
        lo, hi = int(self.offsets[i]), int(self.offsets[i + 1])
        return Tokens(self.hashes[lo:hi], self.starts[lo:hi], self.ends[lo:hi], np.array([0, hi - lo], dtype=np.int64))


def tokenize(texts: Sequence[str], mode: str = "word") -> Tokens:
    """Tokenize a batch of texts in one vectorised pass.

    Parameters
    ----------
    texts : sequence of str
        The texts. Any Unicode is accepted, lone surrogates included.
    mode : {"word", "char"}
        ``"word"``: tokens are runs of letters and digits (apostrophes, combining marks,
        soft hyphens and zero-width characters inside a word do not split it).
        ``"char"``: every letter or digit is a token, for scripts written without spaces.

    Returns
    -------
    Tokens
        Token hashes (case-, accent- and width-insensitive) with exact character ranges.
    """
    check_choice("mode", mode, TOKEN_MODES)
    texts = check_texts(texts)
    parts = [_tokenize_chunk(texts[lo:hi], mode) for lo, hi in text_chunks(texts)]
    if len(parts) == 1:
        return parts[0]
    token_counts = np.array([len(p.hashes) for p in parts], dtype=np.int64)
    shifts = np.repeat(np.r_[0, np.cumsum(token_counts)[:-1]], [len(p) for p in parts])
    offsets = np.r_[np.concatenate([p.offsets[:-1] for p in parts]) + shifts, token_counts.sum()]
    return Tokens(
        np.concatenate([p.hashes for p in parts]),
        np.concatenate([p.starts for p in parts]),
        np.concatenate([p.ends for p in parts]),
        offsets.astype(np.int64),
    )


# Texts are tokenized in chunks of about this many characters: large enough to amortise
# NumPy's per-call overhead, small enough for the working arrays to stay in cache.
_CHUNK_CHARS = 1 << 16


def text_chunks(texts: Sequence[str]) -> list[tuple[int, int]]:
    """Index ranges that split ``texts`` into groups of about ``_CHUNK_CHARS`` characters."""
    bounds, start, size = [], 0, 0
    for i, text in enumerate(texts):
        size += len(text) + 1
        if size >= _CHUNK_CHARS:
            bounds.append((start, i + 1))
            start, size = i + 1, 0
    if start < len(texts) or not bounds:
        bounds.append((start, len(texts)))
    return bounds


def _tokenize_chunk(texts: Sequence[str], mode: str) -> Tokens:
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    # Texts are joined with a separator so one pass covers the batch; bases map back.
    bases = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(lengths + 1, out=bases[1:])
    joined = "\n".join(texts)
    codes = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype="<u4")
    classes, folded = _lookup(codes)
    token_starts, token_ends, hashes = _word_runs(classes, folded, mode)
    text_of_token = np.searchsorted(bases, token_starts, side="right") - 1
    offsets = np.searchsorted(text_of_token, np.arange(len(texts) + 1), side="left").astype(np.int64)
    base = bases[text_of_token]
    return Tokens(hashes, token_starts - base, token_ends - base, offsets)


def _word_runs(classes: np.ndarray, folded: np.ndarray, mode: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = len(classes)
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0, dtype=np.uint64)
    content = classes == _CONTENT
    letter_or_mark = content | (classes == _IGNORABLE)
    joiner = classes == _JOINER
    # An apostrophe joins only when a word character stands on both sides (don't, zo'n).
    joins = np.zeros(n, dtype=bool)
    joins[1:-1] = joiner[1:-1] & letter_or_mark[:-2] & content[2:]
    in_word = letter_or_mark | joins
    edges = np.diff(np.r_[np.int8(0), in_word.view(np.int8), np.int8(0)])
    run_starts = np.flatnonzero(edges == 1)
    run_ends = np.flatnonzero(edges == -1)
    # Content characters only, in order; runs map onto ranges of them.
    content_positions = np.flatnonzero(content)
    content_before = np.r_[0, np.cumsum(content)]  # content chars before position i
    if mode == "char":
        keep = (content_before[run_ends] - content_before[run_starts]) > 0
        run_starts, run_ends = run_starts[keep], run_ends[keep]
        starts = content_positions.astype(np.int64)
        # A char token extends over the marks after it, up to the next content char or run end.
        next_start = np.r_[content_positions[1:], n]
        run_end_of = run_ends[np.searchsorted(run_ends, content_positions, side="right")]
        ends = np.minimum(next_start, run_end_of).astype(np.int64)
        return starts, ends, mix64(folded[content_positions].astype(np.uint64) + np.uint64(1))
    first = content_before[run_starts]
    last = content_before[run_ends]
    keep = last > first  # a run of only marks or format characters is no token
    run_starts, run_ends, first, last = run_starts[keep], run_ends[keep], first[keep], last[keep]
    forward, inverse = _powers.get(len(content_positions) + 1)
    with np.errstate(over="ignore"):
        weighted = (folded[content_positions].astype(np.uint64) + np.uint64(1)) * forward[: len(content_positions)]
        prefix = np.r_[np.uint64(0), np.cumsum(weighted, dtype=np.uint64)]
        poly = (prefix[last] - prefix[first]) * inverse[first]
        poly ^= (last - first).astype(np.uint64) * np.uint64(0xD6E8FEB86659FD93)
    return run_starts.astype(np.int64), run_ends.astype(np.int64), mix64(poly)


_PARAGRAPH_BREAK = re.compile(r"[ \t\u00a0\r\f\v]*\n(?:[ \t\u00a0\r\f\v]*\n)+\s*")


def paragraphs(text: str) -> list[tuple[int, int]]:
    """Character ranges of the paragraphs of ``text`` (separated by blank lines).

    Ranges exclude the surrounding whitespace; whitespace-only text has no paragraphs.
    """
    spans = []
    position = 0
    for match in _PARAGRAPH_BREAK.finditer(text):
        spans.append((position, match.start()))
        position = match.end()
    spans.append((position, len(text)))
    result = []
    for start, end in spans:
        chunk = text[start:end]
        stripped = chunk.strip()
        if stripped:
            lead = len(chunk) - len(chunk.lstrip())
            result.append((start + lead, start + lead + len(stripped)))
    return result
