"""Batched MinHash signatures, Jaccard estimates and datasketch interoperability.

The permutations are datasketch's ``affine32`` scheme (``a * fmix32(h) + b mod 2**32``
with ``a`` odd, drawn from ``numpy.random.RandomState(seed)`` exactly as datasketch
draws them), so a signature computed here equals, bit for bit, the ``hashvalues`` of a
``datasketch.MinHash(num_perm, seed=seed, scheme="affine32")`` updated with the same
32-bit shingle hashes, and both can live in one ``datasketch.MinHashLSH``.

The hot path applies the permutations to all shingles of a batch of segments with
NumPy, in blocks sized to stay in cache, and reduces them per segment with
``np.minimum.reduceat``; many short segments (sentences, short paragraphs) are padded
into a row layout instead, where the minimum is an element-wise reduction.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

from ._validate import check_choice, check_int, check_text, check_texts
from .shingle import check_offsets, check_unsigned, shingles
from .text import DEFAULT_MODE, TOKEN_MODES, Tokens, text_chunks, tokenize

EMPTY = np.uint32(0xFFFFFFFF)  # the value of every slot of an empty set's signature

# Shingles per block and permutations per pass over it: a block of
# _BLOCK_SHINGLES x _PERMS_PER_PASS uint32 values (256 KiB) stays in L2 cache.
_BLOCK_SHINGLES = 8192
_PERMS_PER_PASS = 8
# Sets of at most this many values are signed in a padded layout (see _sign_short).
_SHORT_SET = 64


def _fmix32(values: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finaliser (datasketch's pre-mix for the affine schemes)."""
    values = values ^ (values >> np.uint32(16))
    values *= np.uint32(0x85EBCA6B)
    values ^= values >> np.uint32(13)
    values *= np.uint32(0xC2B2AE35)
    values ^= values >> np.uint32(16)
    return values


def fold32(hashes: np.ndarray) -> np.ndarray:
    """64-bit shingle hashes -> the 32-bit values that the permutations take (high xor
    low half); feed these to datasketch to reproduce dedup's signatures.

    Examples
    --------
    >>> int(fold32(np.array([0x0000000100000003], dtype=np.uint64))[0])
    2
    """
    hashes = np.asarray(hashes, dtype=np.uint64)
    return (hashes ^ (hashes >> np.uint64(32))).astype(np.uint32)


class MinHasher:
    """Computes MinHash signatures for many texts or segments in one NumPy pass.

    Parameters
    ----------
    num_perm : int, default 128
        Number of permutations (signature length). More gives finer estimates.
    ngram : int, default 5
        Tokens per shingle.
    mode : {"auto", "word", "char"}, default "auto"
        How texts are split into tokens (see :func:`dedup.text.tokenize`): ``"auto"``
        makes words of scripts written with spaces and single characters of those
        written without (Chinese, Japanese, Thai, ...); on text in spaced scripts alone
        its signatures equal those of ``"word"``.
    seed : int, default 1
        Seed of the permutations (datasketch's ``seed``). Signatures are comparable
        only between hashers with the same ``num_perm``, ``ngram``, ``mode`` and ``seed``.

    Examples
    --------
    >>> hasher = MinHasher(num_perm=64)
    >>> sigs = hasher.sign(["the quick brown fox jumps over the lazy dog"] * 2)
    >>> float(jaccard(sigs[0], sigs[1]))
    1.0
    """

    def __init__(self, num_perm: int = 128, *, ngram: int = 5, mode: str = DEFAULT_MODE, seed: int = 1) -> None:
        self.num_perm = check_int("num_perm", num_perm, 1, 1 << 20)
        self.ngram = check_int("ngram", ngram, 1)
        self.mode = check_choice("mode", mode, TOKEN_MODES)
        self.seed = check_int("seed", seed, 0, (1 << 32) - 1)
        generator = np.random.RandomState(self.seed)
        a = generator.randint(0, 1 << 31, self.num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
        b = generator.randint(0, 1 << 32, self.num_perm, dtype=np.uint32)
        self.permutations = np.array([a, b])  # datasketch's layout: shape (2, num_perm)

    def __repr__(self) -> str:
        return f"MinHasher(num_perm={self.num_perm}, ngram={self.ngram}, mode={self.mode!r}, seed={self.seed})"

    @property
    def params(self) -> dict:
        """The parameters that must match for two signatures to be comparable."""
        return {"num_perm": self.num_perm, "ngram": self.ngram, "mode": self.mode, "seed": self.seed}

    def sign(self, texts: Sequence[str]) -> np.ndarray:
        """Signatures of a batch of texts (tokenized, shingled and signed in NumPy).

        Parameters
        ----------
        texts : sequence (or iterable) of str
            Any Unicode; texts without words get the empty signature (all ``EMPTY``).

        Returns
        -------
        (len(texts), num_perm) uint32 array
            Row ``i`` is the signature of ``texts[i]``, whatever else is in the batch.

        Examples
        --------
        >>> hasher = MinHasher(num_perm=16)
        >>> sigs = hasher.sign(["Het kabinet wil de belasting verlagen.", "HET KABINET wil de belasting verlagen!"])
        >>> sigs.shape, bool((sigs[0] == sigs[1]).all())
        ((2, 16), True)
        """
        texts = check_texts(texts)
        out = np.empty((len(texts), self.num_perm), dtype=np.uint32)
        # Cache-sized groups of texts: every intermediate array stays small.
        for lo, hi in text_chunks(texts):
            out[lo:hi] = self.sign_tokens(tokenize(texts[lo:hi], self.mode))
        return out

    def sign_tokens(self, tokens: Tokens, offsets: np.ndarray | None = None) -> np.ndarray:
        """Signatures of segments of already tokenized text (paragraphs, sentences, windows).

        Parameters
        ----------
        tokens : Tokens
            From :func:`dedup.text.tokenize` (same ``mode`` as this hasher).
        offsets : int array, optional
            Segment ``i`` is tokens ``offsets[i]:offsets[i+1]`` of the flattened token
            array (non-decreasing); default ``tokens.offsets``, one segment per text.

        Returns
        -------
        (len(offsets) - 1, num_perm) uint32 array

        Examples
        --------
        >>> from dedup.text import tokenize
        >>> hasher = MinHasher(num_perm=16, ngram=2)
        >>> tokens = tokenize(["een twee drie vier vijf zes"])
        >>> halves = hasher.sign_tokens(tokens, [0, 3, 6])  # two segments of three words
        >>> bool((halves[1] == hasher.sign_one("vier vijf zes")).all())
        True
        """
        offsets = tokens.offsets if offsets is None else offsets
        hashes, shingle_offsets = shingles(tokens.hashes, offsets, self.ngram)
        return self.sign_hashes(fold32(hashes), shingle_offsets)

    def sign_hashes(self, hashes32: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """Signatures of sets of 32-bit hashes: set ``i`` is ``hashes32[offsets[i]:offsets[i+1]]``.

        This is the step datasketch's ``MinHash.update`` does per value; here it runs over
        all sets at once. An empty set gets the all-``EMPTY`` signature, as in datasketch.

        Parameters
        ----------
        hashes32 : uint32 array
            The values of all sets, concatenated (e.g. ``fold32`` of shingle hashes).
        offsets : int array, len(sets) + 1
            Non-decreasing bounds of the sets in ``hashes32``.

        Returns
        -------
        (len(offsets) - 1, num_perm) uint32 array
        """
        hashes32 = check_unsigned("hashes32", hashes32, np.uint32)
        offsets = check_offsets("offsets", offsets, len(hashes32))
        counts = offsets[1:] - offsets[:-1]
        if len(counts) == 0 or offsets[-1] == offsets[0]:
            return np.full((len(counts), self.num_perm), EMPTY, dtype=np.uint32)
        # Many short sets waste most of the time of a per-set reduction on call overhead,
        # so they go through a padded layout (when a size class has enough of them to fill
        # a good part of a block); all other non-empty sets through contiguous blocks.
        padded = np.zeros(len(counts), dtype=bool)
        # A class is worth padding only with >= _BLOCK_SHINGLES / (4 * _SHORT_SET) sets.
        enough = len(counts) * max(_SHORT_SET, 1) * 4 >= _BLOCK_SHINGLES
        short_ids = np.flatnonzero((counts > 0) & (counts <= _SHORT_SET)) if enough else counts[:0]
        if len(short_ids):
            # Class k holds the sets of 2**(k-1) + 1 to 2**k values.
            classes = np.ceil(np.log2(counts[short_ids])).astype(np.int64)
            per_class = np.bincount(classes)
            worth = per_class << np.arange(len(per_class)) >= _BLOCK_SHINGLES // 4
            keep = worth[classes]
            short_ids, classes = short_ids[keep], classes[keep]
            padded[short_ids] = True
        blocked = (counts > 0) & ~padded
        blocked_ids = np.flatnonzero(blocked)
        if len(blocked_ids) == len(counts) and offsets[0] == 0 and offsets[-1] == len(hashes32):
            return self._sign_blocks(_fmix32(hashes32), offsets)  # the common case: documents
        out = np.full((len(counts), self.num_perm), EMPTY, dtype=np.uint32)
        if len(blocked_ids):
            values = hashes32[offsets[0] : offsets[-1]]
            if len(blocked_ids) < len(counts):
                values = np.compress(np.repeat(blocked, counts), values)
            blocked_offsets = np.zeros(len(blocked_ids) + 1, dtype=np.int64)
            np.cumsum(counts[blocked_ids], out=blocked_offsets[1:])
            out[blocked_ids] = self._sign_blocks(_fmix32(values), blocked_offsets)
        if len(short_ids):
            self._sign_short(hashes32, offsets, counts, short_ids, classes, out)
        return out

    def _sign_blocks(self, mixed: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """Signatures of non-empty sets that tile ``mixed`` (pre-mixed values) exactly.

        Blocks of ``_BLOCK_SHINGLES`` values are permuted ``_PERMS_PER_PASS`` permutations
        at a time into a cache-resident buffer and reduced per set with ``reduceat``.
        A smaller input takes more permutations per pass in the same buffer (all of them
        for a few hundred values), so a single short text costs 3 NumPy calls, not 48.
        """
        a, b = self.permutations
        total = len(mixed)
        starts = offsets[:-1]
        out = np.empty((len(starts), self.num_perm), dtype=np.uint32)
        block_size = min(_BLOCK_SHINGLES, total)
        per_pass = min(self.num_perm, max(_PERMS_PER_PASS, (_PERMS_PER_PASS * _BLOCK_SHINGLES) // block_size))
        buffer = np.empty((per_pass, block_size), dtype=np.uint32)
        for block_start in range(0, total, block_size):
            block_end = min(block_start + block_size, total)
            block = mixed[block_start:block_end]
            # Pieces: the parts of sets that fall inside this block.
            first = int(np.searchsorted(starts, block_start, side="right")) - 1
            last = int(np.searchsorted(starts, block_end, side="left"))
            local = starts[first:last] - block_start
            local[0] = 0  # a set continued from the previous block
            mins = np.empty((self.num_perm, last - first), dtype=np.uint32)
            width = block_end - block_start
            for p in range(0, self.num_perm, per_pass):
                q = min(p + per_pass, self.num_perm)
                permuted = buffer[: q - p, :width]
                np.multiply(a[p:q, None], block[None, :], out=permuted)
                permuted += b[p:q, None]
                np.minimum.reduceat(permuted, local, axis=1, out=mins[p:q])
            if block_start > 0 and starts[first] < block_start:
                # A set spanning blocks: keep the smaller of the two partial minima.
                np.minimum(mins[:, 0], out[first], out=mins[:, 0])
            out[first:last] = mins.T
        return out

    def _sign_short(
        self,
        hashes32: np.ndarray,
        offsets: np.ndarray,
        counts: np.ndarray,
        ids: np.ndarray,
        classes: np.ndarray,
        out: np.ndarray,
    ) -> None:
        """Signatures of the short sets ``ids`` (1 to ``_SHORT_SET`` values), into ``out``;
        ``classes[i]`` is ``ceil(log2(size))`` of set ``ids[i]``.

        Sets are padded to the next power of two by repeating their own values (which
        leaves every minimum unchanged) and laid out one value position per row, so the
        minimum per set is an element-wise minimum of contiguous rows.
        """
        a, b = self.permutations
        for k in np.flatnonzero(np.bincount(classes)).tolist():  # (np.unique would import numpy.ma)
            width = 1 << k
            chosen = ids[classes == k]
            size = counts[chosen]
            columns = max(1, _BLOCK_SHINGLES // width)
            buffer = np.empty((_PERMS_PER_PASS, width, min(columns, len(chosen))), dtype=np.uint32)
            for lo in range(0, len(chosen), columns):
                hi = min(lo + columns, len(chosen))
                # padded[j, i] = value j (cyclically) of set lo + i
                positions = np.arange(width)[:, None] % size[None, lo:hi] + offsets[chosen[lo:hi]][None, :]
                padded = _fmix32(hashes32[positions])
                mins = np.empty((self.num_perm, hi - lo), dtype=np.uint32)
                for p in range(0, self.num_perm, _PERMS_PER_PASS):
                    q = min(p + _PERMS_PER_PASS, self.num_perm)
                    permuted = buffer[: q - p, :, : hi - lo]
                    np.multiply(a[p:q, None, None], padded[None], out=permuted)
                    permuted += b[p:q, None, None]
                    np.minimum.reduce(permuted, axis=1, out=mins[p:q])
                out[chosen[lo:hi]] = mins.T

    def sign_one(self, text: str) -> np.ndarray:
        """Signature of a single text: a ``(num_perm,)`` uint32 array (``sign`` is faster
        for many texts)."""
        return self.sign([check_text("text", text)])[0]

    # datasketch interoperability -------------------------------------------------

    def to_datasketch(self, signature: np.ndarray, lean: bool = True):
        """A ``datasketch.LeanMinHash`` (or ``MinHash``) holding ``signature``.

        It carries this hasher's seed and permutations, so ``jaccard`` and
        ``MinHashLSH`` work with it as with any datasketch ``affine32`` MinHash.

        Parameters
        ----------
        signature : (num_perm,) uint32 array
            One row of :meth:`sign`.
        lean : bool, default True
            ``LeanMinHash`` (compact, immutable) or ``MinHash`` (can be updated further
            with datasketch, with ``hashfunc`` set to take 32-bit values).

        Returns
        -------
        datasketch.LeanMinHash or datasketch.MinHash

        Examples
        --------
        >>> hasher = MinHasher(num_perm=32)
        >>> lean = hasher.to_datasketch(hasher.sign_one("de trein naar Utrecht vertrekt om negen uur"))
        >>> type(lean).__name__, lean.scheme, len(lean.hashvalues)
        ('LeanMinHash', 'affine32', 32)
        """
        from datasketch import LeanMinHash, MinHash

        signature = self._check_signature(signature)
        minhash = MinHash(
            seed=self.seed, hashvalues=signature.copy(), permutations=self.permutations, scheme="affine32"
        )
        return LeanMinHash(minhash) if lean else minhash

    def from_datasketch(self, minhash) -> np.ndarray:
        """The signature held by a datasketch ``MinHash``/``LeanMinHash``.

        Parameters
        ----------
        minhash : datasketch.MinHash or datasketch.LeanMinHash
            Made with ``scheme="affine32"`` and this hasher's ``seed`` and ``num_perm``.

        Returns
        -------
        (num_perm,) uint32 array

        Raises
        ------
        ValueError
            When it was made with another scheme, seed or size, since its values would
            then not be comparable with this hasher's signatures.

        Examples
        --------
        >>> hasher = MinHasher(num_perm=32)
        >>> signature = hasher.sign_one("de trein naar Utrecht vertrekt om negen uur")
        >>> bool((hasher.from_datasketch(hasher.to_datasketch(signature)) == signature).all())
        True
        """
        scheme = getattr(minhash, "scheme", None)
        if scheme != "affine32":
            raise ValueError(f"minhash must use datasketch's 'affine32' scheme, got scheme={scheme!r}")
        if int(minhash.seed) != self.seed:
            raise ValueError(f"minhash seed {minhash.seed} differs from this hasher's seed {self.seed}")
        values = np.asarray(minhash.hashvalues)
        if len(values) != self.num_perm:
            raise ValueError(f"minhash has {len(values)} permutations, this hasher has num_perm={self.num_perm}")
        return values.astype(np.uint32)

    def _check_signature(self, signature: np.ndarray) -> np.ndarray:
        signature = np.asarray(signature)
        if signature.shape != (self.num_perm,):
            raise ValueError(f"signature must have shape ({self.num_perm},), got {signature.shape}")
        return signature.astype(np.uint32, copy=False)


def jaccard(a: np.ndarray, b: np.ndarray) -> np.ndarray | float:
    """Estimated Jaccard similarity: the share of equal signature values.

    Parameters
    ----------
    a, b : uint32 arrays of the same last dimension (num_perm)
        Single signatures, or 2-D arrays compared row by row (broadcasting applies).

    Returns
    -------
    float for two single signatures, else an array of estimates.

    Examples
    --------
    >>> hasher = MinHasher(num_perm=64)
    >>> sigs = hasher.sign(["de trein naar Utrecht vertrekt om negen uur vanavond",
    ...                     "de trein naar Utrecht vertrekt om tien uur vanavond"])
    >>> 0.0 < jaccard(sigs[0], sigs[1]) < 1.0
    True
    """
    a, b = np.asarray(a), np.asarray(b)
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(f"signatures differ in length: {a.shape[-1]} vs {b.shape[-1]}")
    # count_nonzero / n: the exact share, and faster than np.mean over booleans.
    estimate = np.count_nonzero(a == b, axis=-1) / a.shape[-1]
    return float(estimate) if np.ndim(estimate) == 0 else estimate


def iter_batches(items: Iterable, size: int) -> Iterable[list]:
    """Consecutive lists of ``size`` items (the last may be shorter)."""
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
