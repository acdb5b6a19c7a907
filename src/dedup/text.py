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
import threading
import unicodedata
from dataclasses import dataclass, field, replace
from typing import Sequence

import numpy as np
import xxhash

from ._validate import check_choice, check_texts
from .arrays import first_occurrences, sorted_distinct
from .hashing import mix64, mix64_inplace  # re-exported: dedup.text.mix64 stays importable

TOKEN_MODES = ("auto", "word", "char")
DEFAULT_MODE = "auto"

# Every code point maps through one lookup table to an "info" value: its class, and for
# letters and digits the folded code plus one (always >= 49, since "0" is the smallest
# alphanumeric code point), so a single gather gives both the class and the hash input.
_SEPARATOR = 0  # ends a token: spaces, punctuation, symbols, emoji, lone surrogates
_JOINER = 1  # apostrophes: inside a word when both neighbours are word characters
_IGNORABLE = 2  # combining marks, soft hyphen, zero-width and other format characters
_FIRST_CONTENT = 3  # info >= 3: letter or digit, info - 1 is its folded code

_APOSTROPHES = "'\u2019\u02bc\u2018\u02b9\u2032`\u00b4"
# Characters whose folded form is several letters (ß -> ss, ĳ -> ij, ﬁ -> fi) get a code
# above Unicode as their own identity (used by char mode); in word mode they expand to the
# folded letters, so "straße" and "strasse" are the same token.
_EXPANSION_BASE = 0x200000

_BMP = 0x10000


def _fold_char(ch: str) -> tuple[int, tuple[int, ...]]:
    """(info, expansion) of one code point: accent-, case- and width-insensitive.

    ``expansion`` holds the info values of the letters a multi-letter character folds
    to (empty for all other characters).
    """
    category = unicodedata.category(ch)
    if category[0] == "M" or category == "Cf":
        return _IGNORABLE, ()
    if ch in _APOSTROPHES:
        return _JOINER, ()
    if not ch.isalnum():
        return _SEPARATOR, ()
    decomposed = unicodedata.normalize("NFKD", ch)
    if decomposed == ch:  # most letters: no decomposition, at most a case fold
        folded = ch.casefold()
        if len(folded) == 1:
            return ord(folded) + 1, ()
        base = folded
    else:
        base = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    if len(base) == 1:
        return ord(base) + 1, ()
    if not base:
        return ord(ch) + 1, ()
    info = _EXPANSION_BASE + (xxhash.xxh32_intdigest(base.encode("utf-8")) & 0x3FFFFFFF) + 1
    if not all(c.isalnum() for c in base):
        return info, ()  # e.g. ½ -> "1⁄2": kept as one opaque letter
    parts = tuple(part for part in (_fold_part(c) for c in base) if part >= _FIRST_CONTENT)
    if len(parts) == 1:  # e.g. ŉ -> "ʼn": the apostrophe is no letter
        return parts[0], ()
    return info, parts


@functools.lru_cache(maxsize=None)
def _fold_part(ch: str) -> int:
    """Info value of one letter of an expansion (cached: Hangul syllables share jamo)."""
    return _fold_char(ch)[0]


class _Expansions:
    """Multi-letter folds as arrays, for a vectorised lookup by info value.

    Grows when new astral characters are folded; a lock keeps concurrent tokenizing
    threads from reading the table while another thread adds to it.
    """

    def __init__(self) -> None:
        self.table: dict[int, tuple[int, ...]] = {}
        self._arrays: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self.lock = threading.Lock()

    def add(self, info: int, parts: tuple[int, ...]) -> None:
        if parts and info not in self.table:
            with self.lock:
                self.table[info] = parts
                self._arrays = None

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(sorted keys, lengths, codes padded to the longest expansion)."""
        with self.lock:
            return self._arrays if self._arrays is not None else self._build()

    def _build(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        keys = sorted(self.table)
        parts = [self.table[key] for key in keys]
        width = max(map(len, parts), default=1)
        codes = np.array([p + (0,) * (width - len(p)) for p in parts], dtype=np.uint32).reshape(len(keys), width)
        lengths = np.fromiter(map(len, parts), dtype=np.int64, count=len(parts))
        self._arrays = np.array(keys, dtype=np.uint32), lengths, codes
        return self._arrays


_expansions = _Expansions()
_astral_info: dict[int, int] = {}


# The info value of every code point of the Basic Multilingual Plane, filled in a block of
# code points at a time as texts use them (_fold_block): folding all 63,000 in Python
# takes about 0.2 s, what a short run spends on everything else. _UNKNOWN: not folded yet
# (no info value is that large); lone surrogates (0xD800-0xDFFF) are separators.
_UNKNOWN = np.uint32(0xFFFFFFFF)
_FOLD_BLOCK_BITS = 8
_bmp_info = np.full(_BMP, _UNKNOWN, dtype=np.uint32)
_bmp_info[0xD800:0xE000] = _SEPARATOR


def _fold_block(block: int) -> None:
    """Fold the code points of ``block`` (``block << _FOLD_BLOCK_BITS`` on) into ``_bmp_info``."""
    first = block << _FOLD_BLOCK_BITS
    infos = []
    for code in range(first, first + (1 << _FOLD_BLOCK_BITS)):
        if 0xD800 <= code < 0xE000:
            infos.append(_SEPARATOR)
            continue
        info, parts = _fold_char(chr(code))
        _expansions.add(info, parts)  # before the info value can be read (other threads)
        infos.append(info)
    _bmp_info[first : first + len(infos)] = infos


def _fill_unknown(codes: np.ndarray, info: np.ndarray) -> None:
    """Complete ``info`` (``_bmp_info`` taken at BMP ``codes``) where it met code points
    not folded yet: their blocks are folded now."""
    unknown = info == _UNKNOWN
    if not unknown.any():
        return
    missing = codes[unknown]
    for block in sorted_distinct(missing >> _FOLD_BLOCK_BITS).tolist():
        _fold_block(block)
    info[unknown] = _bmp_info[missing]


def _code_points(joined: str) -> np.ndarray:
    """The code points of ``joined``: uint16 when all are in the BMP, else uint32."""
    utf16 = joined.encode("utf-16-le", "surrogatepass")
    if len(utf16) == 2 * len(joined):  # no astral character (lone surrogates stay single)
        return np.frombuffer(utf16, dtype="<u2")
    return np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype="<u4")


_LOOKUP_BLOCK = 1 << 16


def _lookup(codes: np.ndarray) -> np.ndarray:
    """Info value of every code point in ``codes``."""
    if codes.dtype.itemsize == 2:
        # np.take makes an intp copy of its indices (8 bytes a character): taken a block
        # at a time, that copy stays the size of one block.
        info = np.empty(len(codes), dtype=_bmp_info.dtype)
        for lo in range(0, len(codes), _LOOKUP_BLOCK):
            block, out = codes[lo : lo + _LOOKUP_BLOCK], info[lo : lo + _LOOKUP_BLOCK]
            np.take(_bmp_info, block, out=out)
            _fill_unknown(block, out)
        return info
    astral = codes >= _BMP
    in_bmp = np.where(astral, 0, codes)
    info = np.take(_bmp_info, in_bmp)
    _fill_unknown(in_bmp, info)
    unique, inverse = np.unique(codes[astral], return_inverse=True)
    values = np.empty(len(unique), dtype=np.uint32)
    for k, code in enumerate(unique.tolist()):
        if code not in _astral_info:
            folded, parts = _fold_char(chr(code))
            _astral_info[code] = folded
            _expansions.add(folded, parts)
        values[k] = _astral_info[code]
    info[astral] = values[inverse]
    return info


_POLY = np.uint64(0x9E3779B97F4A7C15)  # odd: invertible modulo 2**64
_POLY_INVERSE = np.uint64(pow(0x9E3779B97F4A7C15, -1, 1 << 64))
_LENGTH_MIX = np.uint64(0xD6E8FEB86659FD93)


class _Powers:
    """POLY**k and POLY**-k modulo 2**64, grown on demand and shared by all calls.

    Only up to ``limit`` entries are kept (16 bytes each): a single huge text gets its
    powers computed for that call and dropped, instead of pinning them for the process.
    Both arrays live in one tuple, replaced in one assignment, so threads never see a
    new ``forward`` with an old ``inverse``.
    """

    def __init__(self, limit: int = 1 << 20) -> None:
        self.limit = limit
        self._arrays = (np.ones(1, dtype=np.uint64), np.ones(1, dtype=np.uint64))

    def get(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        forward, inverse = self._arrays
        if len(forward) >= n:
            return forward[:n], inverse[:n]
        size = max(n, min(2 * len(forward), self.limit), 1 << 16)
        with np.errstate(over="ignore"):
            forward = np.cumprod(np.r_[np.uint64(1), np.full(size - 1, _POLY)], dtype=np.uint64)
            inverse = np.cumprod(np.r_[np.uint64(1), np.full(size - 1, _POLY_INVERSE)], dtype=np.uint64)
        if size <= self.limit:
            self._arrays = (forward, inverse)
        return forward[:n], inverse[:n]


_powers = _Powers()


@dataclass(frozen=True)
class Tokens:
    """Tokens of a batch of texts, flattened.

    Tokens of text ``i`` are ``hashes[offsets[i]:offsets[i+1]]``; ``starts``/``ends`` are
    character offsets into that text (``text[starts[k]:ends[k]]`` is the token as written).
    ``weights`` is the length of every token in words (see there). Character offsets
    are int32 (4 bytes a token, not 8: one long text has millions of tokens) unless a
    text is too long for them (``offset_type``).
    """

    hashes: np.ndarray  # uint64
    starts: np.ndarray  # int32 (int64 for a text of 2**31 characters or more: see offset_type)
    ends: np.ndarray  # as starts
    offsets: np.ndarray  # int64, len(texts) + 1
    # The weight of every token as its class (uint8: one byte a token, not a float32's
    # four), or None when every token weighs 1.0 (word mode: nothing to store).
    _weight_classes: np.ndarray | None = field(default=None, repr=False)

    @property
    def weights(self) -> np.ndarray:
        """Length of every token in words (float32): 1.0 for a word, a fraction for a
        letter of a script written without spaces (``SCRIPT_WEIGHTS``), so that
        ``weights[a:b].sum()`` measures a stretch of tokens the same way in every script."""
        return self.weights_between(0, len(self.hashes))

    def weights_between(self, first: int, end: int) -> np.ndarray:
        """``weights[first:end]``, without making the weights of all tokens."""
        if self._weight_classes is None:
            return np.ones(max(min(end, len(self.hashes)) - first, 0), dtype=np.float32)
        return _WEIGHT_OF_CLASS[self._weight_classes[first:end]]

    def weight_units_between(self, first: int, end: int) -> np.ndarray:
        """``weights[first:end]`` in whole ``WEIGHT_UNIT`` s (uint32): sums of them are exact."""
        if self._weight_classes is None:
            return np.full(max(min(end, len(self.hashes)) - first, 0), _UNITS_OF_CLASS[0], dtype=np.uint32)
        return _UNITS_OF_CLASS[self._weight_classes[first:end]]

    @property
    def all_words(self) -> bool:
        """True when every token weighs one word (no letter of an unspaced script)."""
        return self._weight_classes is None

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def copy(self) -> "Tokens":
        """The same tokens in arrays of their own (not views of a bigger batch's)."""
        return Tokens(
            self.hashes.copy(), self.starts.copy(), self.ends.copy(), self.offsets.copy(),
            None if self._weight_classes is None else self._weight_classes.copy(),
        )

    def of(self, i: int) -> "Tokens":
        """The tokens of text ``i`` alone."""
        lo, hi = int(self.offsets[i]), int(self.offsets[i + 1])
        return Tokens(
            self.hashes[lo:hi],
            self.starts[lo:hi],
            self.ends[lo:hi],
            np.array([0, hi - lo], dtype=np.int64),
            _classes_unless_all_words(self._weight_classes, lo, hi),
        )


def tokenize(texts: Sequence[str], mode: str = DEFAULT_MODE) -> Tokens:
    """Tokenize a batch of texts in one vectorised pass.

    Parameters
    ----------
    texts : sequence of str
        The texts. Any Unicode is accepted, lone surrogates included.
    mode : {"auto", "word", "char"}, default "auto"
        ``"word"``: tokens are runs of letters and digits (apostrophes, combining marks,
        soft hyphens and zero-width characters inside a word do not split it).
        ``"char"``: every letter or digit is a token, for scripts written without spaces.
        ``"auto"``: every letter of a script written without spaces (Han, kana, Thai,
        Lao, Khmer, Myanmar, ...: ``UNSPACED_SCRIPTS``) is a token, as in ``"char"``;
        all other letters and digits form word tokens, as in ``"word"``. On text with
        no such letter the tokens are exactly those of ``"word"``; on text with only
        such letters, exactly those of ``"char"``.

    Returns
    -------
    Tokens
        Token hashes (case-, accent- and width-insensitive) with exact character ranges,
        and the length of every token in words (``Tokens.weights``).

    Examples
    --------
    >>> text = "Zo’n CAFÉ, zo'n café!"
    >>> tokens = tokenize([text])
    >>> [text[s:e] for s, e in zip(tokens.starts, tokens.ends)]
    ['Zo’n', 'CAFÉ', "zo'n", 'café']
    >>> bool(tokens.hashes[0] == tokens.hashes[2] and tokens.hashes[1] == tokens.hashes[3])
    True
    >>> text = "東京で2024年にAI会議"
    >>> tokens = tokenize([text])
    >>> [text[s:e] for s, e in zip(tokens.starts, tokens.ends)]
    ['東', '京', 'で', '2024', '年', 'に', 'AI', '会', '議']
    >>> [round(float(w), 2) for w in tokens.weights]
    [0.6, 0.6, 0.6, 1.0, 0.6, 0.6, 1.0, 0.6, 0.6]
    """
    check_choice("mode", mode, TOKEN_MODES)
    texts = check_texts(texts)
    if any(len(text) > _LONG_TEXT for text in texts):
        return _tokenize_pieces(texts, mode)
    return _tokenize_texts(texts, mode)


def _tokenize_texts(texts: Sequence[str], mode: str) -> Tokens:
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
        None if all(p.all_words for p in parts) else np.concatenate([_classes_of(p) for p in parts]),
    )


# Texts are tokenized in chunks of about this many characters: large enough to amortise
# NumPy's per-call overhead, small enough for the working arrays to stay in cache (and to
# avoid the page faults of fresh large allocations, which are costly in a VM).
_CHUNK_CHARS = 1 << 17


# Pieces of a long text are tokenized in groups of at most about this many characters:
# an eighth of a chunk, as the working arrays (about 100 bytes per character in "auto"
# mode) are then a small share of the text's own size even for a text of a few hundred
# kilobytes (and 16K characters still amortise NumPy's per-call overhead).
_PIECE_CHARS = _CHUNK_CHARS // 8
# A text longer than this is tokenized in pieces cut at spaces or newlines (which no token
# spans), so the working arrays stay those of one piece instead of growing with the
# text: one 50 MB text would otherwise need 2 GB.
_LONG_TEXT = 2 * _PIECE_CHARS


def piece_bounds(text: str, size: int = _CHUNK_CHARS) -> list[int]:
    """Cut points splitting ``text`` into pieces of about ``size`` characters at a space or newline.

    Returns ``[0, ..., len(text)]``. Each inner cut is the position of a space or newline,
    a separator for every tokenizer mode, so tokenizing the pieces finds the same tokens
    as tokenizing the whole. Text without such a character over a long stretch stays one
    longer piece.

    >>> piece_bounds("een twee drie vier", size=6)
    [0, 3, 8, 13, 18]
    """
    bounds = [0]
    while len(text) - bounds[-1] > size:
        limit = bounds[-1] + size
        cut = max(text.rfind(" ", bounds[-1] + 1, limit), text.rfind("\n", bounds[-1] + 1, limit))
        if cut <= 0:  # no separator in this stretch: cut at the next one, if any
            ahead = [c for c in (text.find(" ", limit), text.find("\n", limit)) if c >= 0]
            if not ahead:
                break
            cut = min(ahead)
        bounds.append(cut)
    bounds.append(len(text))
    return bounds


def _classes_unless_all_words(classes: np.ndarray | None, lo: int, hi: int) -> np.ndarray | None:
    """``classes[lo:hi]``, or None when every one of those tokens is a word: a text of
    a batch that also holds Chinese need not pay for weights it does not have (the
    engine measures an all-word stretch by counting its tokens)."""
    if classes is None or not classes[lo:hi].any():
        return None
    return classes[lo:hi]


def _classes_of(tokens: Tokens) -> np.ndarray:
    """The weight classes of every token (words: class 0)."""
    if tokens._weight_classes is None:
        return np.zeros(len(tokens.hashes), dtype=np.uint8)
    return tokens._weight_classes


def tokenize_identified(text: str, mode: str = DEFAULT_MODE) -> Tokens:
    """``tokenize([text], mode)`` with every token hash replaced by the position of the
    token's first occurrence in the text (int32 where it fits): the same equalities in
    half the bytes, for aligning a long text with itself (``align.prepared.prepare_alone``).

    The text is tokenized twice, once for the hashes and once for the offsets, so the
    hashes (8 bytes a token) and the offsets are never held together.

    >>> tokenize_identified("de kat en de hond en de kat").hashes.tolist()
    [0, 1, 2, 0, 4, 2, 0, 1]
    """
    check_choice("mode", mode, TOKEN_MODES)
    (text,) = check_texts([text])
    hashes = _tokenize_pieces([text], mode, spans=False).hashes
    token_ids = first_occurrences(hashes)
    del hashes
    return replace(_tokenize_pieces([text], mode, hashes=False), hashes=token_ids)


def _tokenize_pieces(texts: Sequence[str], mode: str, *, hashes: bool = True, spans: bool = True) -> Tokens:
    """``tokenize`` with long texts cut into pieces; tokens and offsets as for the whole texts.

    Pieces are made and tokenized one chunk at a time, straight into the result arrays
    (grown and finally trimmed in place), so the peak stays near the size of the result.
    ``hashes=False`` / ``spans=False`` keep empty arrays in place of the hashes / of the
    offsets and weights (see ``tokenize_identified``).
    """
    result = _TokenArrays(sum(map(len, texts)), offset_type(max(map(len, texts))), hashes, spans)
    counts = np.zeros(len(texts), dtype=np.int64)  # tokens per text
    group: list[tuple[int, int, str]] = []  # (text index, offset of the piece in it, piece)

    def tokenize_group(chars: int) -> None:
        tokens = _tokenize_chunk([piece for _, _, piece in group], mode)
        per_piece = np.diff(tokens.offsets)
        shift = np.repeat(np.array([base for _, base, _ in group], dtype=np.int64), per_piece)
        result.append(tokens.hashes, tokens.starts + shift, tokens.ends + shift, tokens._weight_classes, chars)
        np.add.at(counts, np.array([owner for owner, _, _ in group], dtype=np.int64), per_piece)
        group.clear()

    size = 0
    for owner, text in enumerate(texts):
        bounds = piece_bounds(text, _PIECE_CHARS) if len(text) > _LONG_TEXT else [0, len(text)]
        for start, end in zip(bounds[:-1], bounds[1:]):
            if group and size + end - start > _PIECE_CHARS:  # groups of at most one piece's size
                tokenize_group(size)
                size = 0
            group.append((owner, start, text[start:end]))
            size += end - start + 1
    if group:
        tokenize_group(size)
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    hashes, starts, ends, classes = result.trimmed()
    return Tokens(hashes, starts, ends, offsets, classes)


class _TokenArrays:
    """Hashes, starts, ends (and weight classes, once a token weighs less than a word)
    filled chunk by chunk.

    They grow with ``ndarray.resize`` (``realloc``: large blocks are remapped, not copied),
    to the size the tokens per character so far predict for the whole text, so the memory
    held is about that of the tokens found, not twice that as with a list of parts
    joined at the end.
    """

    def __init__(self, total_chars: int, offset_dtype: type, hashes: bool = True, spans: bool = True) -> None:
        capacity = total_chars // 5 + 1024
        # Arrays not kept stay empty (the capacity is kept in self.capacity).
        self.capacity = capacity
        self.arrays = [np.empty(capacity if hashes else 0, dtype=np.uint64),
                       np.empty(capacity if spans else 0, dtype=offset_dtype),
                       np.empty(capacity if spans else 0, dtype=offset_dtype)]
        self.kept = [hashes, spans, spans]
        self.classes: np.ndarray | None = None  # None while every token weighs 1.0
        self.size, self.total_chars, self.chars_done = 0, total_chars, 0

    def append(self, hashes: np.ndarray, starts: np.ndarray, ends: np.ndarray,
               classes: np.ndarray | None, chars: int) -> None:
        needed = self.size + len(hashes)
        self.chars_done += chars
        if needed > self.capacity:
            predicted = int(needed * self.total_chars / max(self.chars_done, 1) * 1.02) + 1024
            self.capacity = max(needed, predicted)
            for array in self._held():
                array.resize(self.capacity, refcheck=False)
        if classes is not None and self.classes is None and self.kept[1]:  # classes go with the offsets
            self.classes = np.empty(self.capacity, dtype=np.uint8)
            self.classes[: self.size] = 0  # the class of a word
        for array, part, kept in zip(self.arrays, (hashes, starts, ends), self.kept):
            if kept:
                array[self.size : needed] = part
        if self.classes is not None:
            self.classes[self.size : needed] = 0 if classes is None else classes
        self.size = needed

    def trimmed(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(hashes, starts, ends, weight classes or None), trimmed to the tokens found."""
        for array in self._held():
            array.resize(self.size, refcheck=False)
        return (*self.arrays, self.classes)

    def _held(self) -> list[np.ndarray]:
        kept = [array for array, keep in zip(self.arrays, self.kept) if keep]
        return kept + ([self.classes] if self.classes is not None else [])


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
    # Texts are joined with a separator so one pass covers the batch; bases map back.
    bases = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)) + 1, out=bases[1:])
    codes = _code_points("\n".join(texts))
    info = _lookup(codes)
    classes = None  # every token a word
    if mode == "char":
        starts, ends, hashes = _char_tokens(info)
        classes = _char_weight_classes(codes[starts])
    elif mode == "auto":
        starts, ends, hashes, classes = _auto_tokens(info, codes)
    else:
        starts, ends, hashes = _word_tokens(info)
    # Token k belongs to text i when bases[i] <= starts[k] < bases[i + 1].
    # (np.r_ and np.diff cost microseconds per call: this runs once per chunk of texts.)
    offsets = np.empty(len(texts) + 1, dtype=np.int64)
    offsets[:-1] = np.searchsorted(starts, bases[:-1], side="left")
    offsets[-1] = len(starts)
    shift = np.repeat(bases[:-1], offsets[1:] - offsets[:-1])
    offset_dtype = offset_type(int(bases[-1]))
    return Tokens(
        hashes,
        np.subtract(starts, shift, dtype=offset_dtype, casting="unsafe"),  # one pass, no int64 copy
        np.subtract(ends, shift, dtype=offset_dtype, casting="unsafe"),
        offsets,
        classes,
    )


def offset_type(length: int) -> type:
    """The integer type of character offsets into texts of at most ``length`` characters.

    >>> offset_type(1000), offset_type(2**31)
    (<class 'numpy.int32'>, <class 'numpy.int64'>)
    """
    return np.int32 if length < 2**31 else np.int64


def _runs(info: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Maximal runs of word characters: (run starts, run ends, sorted in-word positions
    that are not letters or digits: marks, format characters, joined apostrophes)."""
    n = len(info)
    # Apostrophes, marks and format characters are rare: handle them at their positions.
    special = np.flatnonzero((info <= 2) & (info >= 1))  # info is 1 or 2 (no 4-byte temporary)
    is_joiner = info[special] == _JOINER
    joiners = special[is_joiner]
    # An apostrophe joins only when a word character stands on both sides (don't, zo'n).
    inside = (joiners > 0) & (joiners < n - 1)
    joiners = joiners[inside]
    joined = joiners[(info[joiners - 1] >= _IGNORABLE) & (info[joiners + 1] >= _FIRST_CONTENT)]
    padded = np.zeros(n + 2, dtype=bool)
    np.greater_equal(info, _IGNORABLE, out=padded[1:-1])
    padded[joined + 1] = True
    changes = np.flatnonzero(padded[1:] != padded[:-1])
    not_content = np.sort(np.concatenate([special[~is_joiner], joined])) if len(joined) else special[~is_joiner]
    return changes[0::2], changes[1::2], not_content


def _word_tokens(info: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    run_starts, run_ends, not_content = _runs(info)
    if len(run_starts) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0, dtype=np.uint64)
    # Letters and digits per run: its length less the marks and apostrophes inside it.
    counts = run_ends - run_starts
    if len(not_content):
        run_of = np.searchsorted(run_starts, not_content, side="right") - 1
        counts -= np.bincount(run_of, minlength=len(run_starts))
        keep = counts > 0  # a run of only marks or format characters is no token
        if not keep.all():
            run_starts, run_ends, counts = run_starts[keep], run_ends[keep], counts[keep]
            if len(run_starts) == 0:
                return run_starts, run_ends, np.zeros(0, dtype=np.uint64)
    # Folded code + 1 of every letter, in order (np.compress is faster than a mask index);
    # when every character is a letter (one long word) they are ``info`` itself, uncopied.
    letters = info >= _FIRST_CONTENT
    values = info if np.count_nonzero(letters) == len(info) else np.compress(letters, info)
    del letters
    first = np.zeros(len(counts), dtype=np.int64)
    np.cumsum(counts[:-1], out=first[1:])
    if values.max() > _EXPANSION_BASE:
        values, first, counts = _expand(values, first)
    return run_starts, run_ends, _polynomial_hashes(values, first, counts)


def _expand(values: np.ndarray, first: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Replace multi-letter characters by their letters (ß -> s, s), moving token bounds."""
    keys, lengths, codes = _expansions.arrays()
    if len(keys) == 0:
        return values, first, np.diff(np.r_[first, len(values)])
    candidates = np.flatnonzero(values > _EXPANSION_BASE)
    slot = np.minimum(np.searchsorted(keys, values[candidates]), len(keys) - 1)
    hit = keys[slot] == values[candidates]
    positions, slot = candidates[hit], slot[hit]
    total = len(values)
    if len(positions) == 0:
        return values, first, np.diff(np.r_[first, total])
    widths = np.ones(total, dtype=np.int64)
    widths[positions] = lengths[slot]
    moved = np.zeros(total + 1, dtype=np.int64)
    np.cumsum(widths, out=moved[1:])
    expanded = np.repeat(values, widths)
    for j in range(codes.shape[1]):
        part = lengths[slot] > j
        expanded[moved[positions[part]] + j] = codes[slot[part], j]
    first = moved[first]
    return expanded, first, np.diff(np.r_[first, len(expanded)])


def _polynomial_hashes(values: np.ndarray, first: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """mix64 of sum(values[first + k] * POLY**k) ^ length * C for every token.

    Weighting every letter by the global power POLY**position and multiplying the
    token's sum by POLY**-first afterwards gives all token sums from one prefix sum over
    the chunk (``np.add.reduceat`` would be simpler but pays a call per token). Past
    ``HASH_BLOCK`` letters (one huge word) the prefix sum runs a block at a time, so its
    working arrays (32 bytes a letter) stay those of one block.
    """
    if len(values) > HASH_BLOCK:
        sums = _prefix_sums_at(values, first + counts)
        sums -= _prefix_sums_at(values, first)
        sums *= _inverse_powers_at(first)
    else:
        forward, inverse = _powers.get(len(values) + 1)
        prefix = np.empty(len(values) + 1, dtype=np.uint64)
        prefix[0] = 0
        weighted = values.astype(np.uint64)
        weighted *= forward[:-1]
        np.cumsum(weighted, out=prefix[1:])
        sums = prefix[first + counts]
        sums -= prefix[first]
        sums *= inverse[first]
    sums ^= counts.astype(np.uint64) * _LENGTH_MIX
    return mix64_inplace(sums)


# Letters of one chunk hashed at a time (see _polynomial_hashes): only a single word
# longer than this, found in no real text, is hashed in blocks.
HASH_BLOCK = _CHUNK_CHARS


def _prefix_sums_at(values: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """sum(values[j] * POLY**j for j < p) modulo 2**64 at each of the sorted ``positions``."""
    out = np.zeros(len(positions), dtype=np.uint64)
    forward, _ = _powers.get(HASH_BLOCK)
    carry = np.uint64(0)
    for lo in range(0, len(values), HASH_BLOCK):
        hi = min(lo + HASH_BLOCK, len(values))
        local = values[lo:hi].astype(np.uint64)
        local *= forward[: hi - lo]
        local *= np.uint64(pow(int(_POLY), lo, 1 << 64))
        np.cumsum(local, out=local)
        local += carry
        a, b = np.searchsorted(positions, lo + 1), np.searchsorted(positions, hi, side="right")
        out[a:b] = local[positions[a:b] - lo - 1]
        carry = local[-1]
    return out


def _inverse_powers_at(exponents: np.ndarray) -> np.ndarray:
    """POLY**-e modulo 2**64 for every e: a table of block powers times one of small powers."""
    _, inverse = _powers.get(HASH_BLOCK)
    blocks = exponents // HASH_BLOCK
    step = pow(int(_POLY_INVERSE), HASH_BLOCK, 1 << 64)
    block_powers = np.array([pow(step, k, 1 << 64) for k in range(int(blocks.max(initial=0)) + 1)], dtype=np.uint64)
    powers = block_powers[blocks]
    powers *= inverse[exponents % HASH_BLOCK]
    return powers


def _char_tokens(info: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    starts = np.flatnonzero(info >= _FIRST_CONTENT)
    if len(starts) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0, dtype=np.uint64)
    _, run_ends, _ = _runs(info)
    # A char token extends over the marks after it, up to the next letter or its run's end.
    next_start = np.append(starts[1:], len(info))
    run_end_of = run_ends[np.searchsorted(run_ends, starts, side="right")]
    ends = np.minimum(next_start, run_end_of)
    return starts, ends, mix64_inplace(info[starts].astype(np.uint64))


# --- scripts written without spaces ("auto" mode) --------------------------------

# Word tokens of such scripts would be whole clauses, so each of their letters is a token.
# (name, first, last code point, class). Tibetan is not here: its tsheg (a punctuation
# mark) separates syllables, which become word tokens. Hangul is written with spaces.
_HAN, _KANA, _BRAHMIC = 1, 2, 3
UNSPACED_SCRIPTS: tuple[tuple[str, int, int, int], ...] = (
    ("Thai", 0x0E00, 0x0E7F, _BRAHMIC),
    ("Lao", 0x0E80, 0x0EFF, _BRAHMIC),
    ("Myanmar", 0x1000, 0x109F, _BRAHMIC),
    ("Khmer", 0x1780, 0x17FF, _BRAHMIC),
    ("Tai Le", 0x1950, 0x197F, _BRAHMIC),
    ("New Tai Lue", 0x1980, 0x19DF, _BRAHMIC),
    ("Khmer Symbols", 0x19E0, 0x19FF, _BRAHMIC),
    ("Tai Tham", 0x1A20, 0x1AAF, _BRAHMIC),
    ("Balinese", 0x1B00, 0x1B7F, _BRAHMIC),
    ("CJK Radicals", 0x2E80, 0x2FDF, _HAN),
    ("CJK ideographic marks", 0x3005, 0x3007, _HAN),  # 々 〆 〇
    ("Hangzhou numerals", 0x3021, 0x3029, _HAN),
    ("CJK ideographic marks", 0x3038, 0x303C, _HAN),
    ("Hiragana", 0x3040, 0x309F, _KANA),
    ("Katakana", 0x30A0, 0x30FF, _KANA),
    ("Bopomofo", 0x3100, 0x312F, _HAN),
    ("Bopomofo Extended", 0x31A0, 0x31BF, _HAN),
    ("Katakana Phonetic Extensions", 0x31F0, 0x31FF, _KANA),
    ("CJK Unified Ideographs Extension A", 0x3400, 0x4DBF, _HAN),
    ("CJK Unified Ideographs", 0x4E00, 0x9FFF, _HAN),
    ("Yi", 0xA000, 0xA4CF, _HAN),
    ("Javanese", 0xA980, 0xA9DF, _BRAHMIC),
    ("Myanmar Extended-B", 0xA9E0, 0xA9FF, _BRAHMIC),
    ("Myanmar Extended-A", 0xAA60, 0xAA7F, _BRAHMIC),
    ("Tai Viet", 0xAA80, 0xAADF, _BRAHMIC),
    ("CJK Compatibility Ideographs", 0xF900, 0xFAFF, _HAN),
    ("Halfwidth Katakana", 0xFF66, 0xFF9F, _KANA),
    ("Kana Supplement and Extended", 0x1B000, 0x1B16F, _KANA),
    ("CJK Unified Ideographs Extensions B-H", 0x20000, 0x3FFFF, _HAN),
)

# Length of one token in words, by class (index: 0 = other letters, then _HAN, _KANA,
# _BRAHMIC). Frequency-weighted average word lengths in running text (docs/engine.md,
# benchmarks/word_lengths.py): Chinese 1.62 characters per word, Japanese 1.63 for both
# kanji and kana words, Thai 3.24 letters (4.13 code points, marks included) per word;
# English and Dutch 4.4-4.5 letters per word.
SCRIPT_WEIGHTS = {"han": 0.6, "kana": 0.6, "brahmic": 0.3, "letter": 0.22}
# Tokens keep their weight as a class: 0 a word, 1-3 a letter of an unspaced script (the
# script classes of _script_table), 4 any other letter made a token by char mode.
_WEIGHT_OF_CLASS = np.array(
    [1.0, SCRIPT_WEIGHTS["han"], SCRIPT_WEIGHTS["kana"], SCRIPT_WEIGHTS["brahmic"], SCRIPT_WEIGHTS["letter"]],
    dtype=np.float32,
)
_LETTER_CLASS = 4
# Every weight (a float32 of at most 1.0, 0.125 or more) is a whole number of these units,
# so a sum of weights is a whole number of units: exact, in any order, in integers.
WEIGHT_UNIT = 2.0**-26
_UNITS_OF_CLASS = (_WEIGHT_OF_CLASS.astype(np.float64) / WEIGHT_UNIT).astype(np.uint32)
assert np.array_equal(_UNITS_OF_CLASS * WEIGHT_UNIT, _WEIGHT_OF_CLASS.astype(np.float64))
# No letter of UNSPACED_SCRIPTS has an info value below this one (Thai is the first block):
# only positions at or above it are looked up.
_FIRST_UNSPACED_INFO = 0x0E00 + 1


@functools.lru_cache(maxsize=1)
def _script_table() -> np.ndarray:
    """Class (0 or _HAN/_KANA/_BRAHMIC) of every code point of the Basic Multilingual Plane.

    Indexed by the code point as written, not by its folded form: Thai ำ folds to a
    multi-letter code that names no script. Decimal digits (Thai ๑, Khmer ១, ...) stay 0:
    a number is one word token in every script. The last entry is 0 and stands for every
    code point beyond the table.
    """
    table = np.zeros(_BMP + 1, dtype=np.uint8)
    for _name, first, last, cls in UNSPACED_SCRIPTS:
        if first < _BMP:
            table[first : min(last, _BMP - 1) + 1] = cls
    for code in range(0x0E00, 0x1B80):  # the digits of the Brahmic blocks
        if table[code] and unicodedata.category(chr(code)) == "Nd":
            table[code] = 0
    return table


def _script_classes(codes: np.ndarray) -> np.ndarray:
    """Class of every code point (0 for all but the letters of UNSPACED_SCRIPTS; the
    caller keeps only positions that hold letters)."""
    table = _script_table()
    beyond = np.flatnonzero(codes >= _BMP)
    if len(beyond) == 0:
        return np.take(table, codes)
    classes = np.take(table, np.minimum(codes, _BMP))
    astral = codes[beyond].astype(np.int64)
    astral_classes = np.zeros(len(beyond), dtype=np.uint8)
    for _name, first, last, cls in UNSPACED_SCRIPTS:
        if first >= _BMP:
            astral_classes[(astral >= first) & (astral <= last)] = cls
    classes[beyond] = astral_classes
    return classes


def _char_weight_classes(codes: np.ndarray) -> np.ndarray:
    """Weight classes of char-mode tokens, from the code points of the tokens' letters."""
    classes = _script_classes(codes).astype(np.uint8)
    classes[classes == 0] = _LETTER_CLASS
    return classes


def _auto_tokens(info: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Word tokens for spaced scripts, char tokens for unspaced ones, in text order.

    Returns (starts, ends, hashes, weight classes); the classes are None when every
    token is a word.
    The hashes are those of word mode for the word tokens and of char mode for the char
    tokens, so text in only one kind of script tokenizes as in that mode.
    """
    # Every letter of an unspaced script folds to a code at or above Thai's (or to a
    # multi-letter code above Unicode): Latin, Cyrillic, Arabic, Devanagari ... text is
    # passed over once more by a comparison and keeps the word-mode path.
    candidates = np.flatnonzero(info >= _FIRST_UNSPACED_INFO)
    candidate_classes = _script_classes(codes[candidates])
    hit = candidate_classes != 0
    if not hit.any():
        return (*_word_tokens(info), None)
    positions = candidates[hit]  # the unspaced letters
    # Marks and format characters belong to the letter before them (a Thai vowel sign to
    # its consonant): after an unspaced letter they are part of its char token.
    ignorable = np.flatnonzero(info == _IGNORABLE)
    owned = ignorable[:0]
    if len(ignorable):
        not_ignorable = np.flatnonzero(info != _IGNORABLE)
        before = np.searchsorted(not_ignorable, ignorable) - 1
        has_owner = before >= 0
        owner = not_ignorable[before[has_owner]]
        slot = np.minimum(np.searchsorted(positions, owner), len(positions) - 1)
        owned = ignorable[has_owner][positions[slot] == owner]
    word_info = info.copy()
    word_info[positions] = _SEPARATOR
    word_info[owned] = _SEPARATOR
    char_info = np.zeros_like(info)  # all separators
    char_info[positions] = info[positions]
    char_info[owned] = _IGNORABLE
    word_starts, word_ends, word_hashes = _word_tokens(word_info)
    char_starts, char_ends, char_hashes = _char_tokens(char_info)
    starts = np.concatenate([word_starts, char_starts])
    # A stable sort of two sorted runs is a linear merge (NumPy's timsort/radix sort).
    order = np.argsort(starts, kind="stable")
    classes = np.concatenate([np.zeros(len(word_starts), dtype=np.uint8), candidate_classes[hit].astype(np.uint8)])
    return (
        starts[order],
        np.concatenate([word_ends, char_ends])[order],
        np.concatenate([word_hashes, char_hashes])[order],
        classes[order],
    )


# Marks that end a sentence wherever they stand: the full stops of Chinese and Japanese
# (。！？), Khmer (។ ៕), Myanmar (။), Devanagari and its neighbours (। ॥), Arabic and Urdu
# (؟ ۔). None of them occurs inside a number or an abbreviation.
SENTENCE_MARKS = "\u3002\uff01\uff1f\u17d4\u17d5\u104b\u0964\u0965\u061f\u06d4"
# The end of a sentence: terminal marks (and closing quotes or brackets) followed by
# whitespace, so "7.51" is none; or the marks above.
SENTENCE_END = re.compile(
    r"[.!?\u2026]+[\"'\u201d\u2019\u00bb)\]]*(?=\s)|[" + SENTENCE_MARKS + r"]+[\u300d\u300f\uff09]*"
)

_PARAGRAPH_BREAK = re.compile(r"[ \t\u00a0\r\f\v]*\n(?:[ \t\u00a0\r\f\v]*\n)+\s*")


def paragraphs(text: str) -> list[tuple[int, int]]:
    """Character ranges of the paragraphs of ``text`` (separated by blank lines).

    Ranges exclude the surrounding whitespace; whitespace-only text has no paragraphs.

    Examples
    --------
    >>> text = "Eerste alinea.\\n\\n  Tweede alinea,\\nzelfde alinea.\\n"
    >>> [text[s:e] for s, e in paragraphs(text)]
    ['Eerste alinea.', 'Tweede alinea,\\nzelfde alinea.']
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
