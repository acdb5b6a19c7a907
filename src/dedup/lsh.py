"""Locality-sensitive hashing over MinHash signatures: band/row choice, band keys,
candidate pairs for a whole batch, and a compact index that is saved to one file.

A signature of ``num_perm`` values is cut into ``bands`` bands of ``rows`` values; two
signatures become candidates when all values of at least one band agree. With Jaccard
similarity ``s`` that happens with probability ``1 - (1 - s**rows)**bands``, an S-curve
whose steep part sits near the threshold. ``optimal_params`` picks ``(bands, rows)`` the
way datasketch does (minimising the weighted integrals of false-positive and
false-negative probability), and gives the same answer.

Each band is reduced to one 64-bit key (``band_keys``), salted with the band number, so
keys of different bands never meet by design: the index keeps all keys of all bands in
one family of sorted ``uint64`` arrays (12 bytes per entry and band) instead of
datasketch's dict of lists per band, and looks them up with ``np.searchsorted``.
"""

from __future__ import annotations

import functools
import math
import numbers
import os
from collections.abc import Hashable, Iterable, Sequence

import numpy as np

from ._validate import check_fraction, check_int
from .arrays import decode_strings, encode_strings, sorted_distinct, stable_sort_order
from .archives import atomic_save, load_state
from .hashing import mix64
from .sorted_runs import SortedRuns

__all__ = ["LSHIndex", "band_keys", "bucket_pairs", "candidate_pairs", "optimal_params", "resolve_params"]

# Buckets of candidate_pairs larger than this are linked as a star (see there).
DEFAULT_MAX_BUCKET = 100

_BAND_SALT = np.uint64(0xC2B2AE3D27D4EB4F)
_DOC_CHUNK = 1 << 16  # signatures per block in band_keys: temporaries stay small

# Gauss-Legendre quadrature: the integrands of optimal_params are polynomials of
# degree bands * rows <= num_perm, steep near s = 1 when rows is large; a composite
# rule with enough panels integrates them to ~1e-15, as accurately as scipy's quad.
_GAUSS_NODES, _GAUSS_WEIGHTS = np.polynomial.legendre.leggauss(16)


# --------------------------------------------------------------------------- parameters


def _check_weights(weights: object) -> tuple[float, float]:
    try:
        fp, fn = (float(w) for w in weights)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise ValueError(
            f"weights must be a pair (false_positive_weight, false_negative_weight) of numbers in [0, 1] "
            f"summing to 1, got {weights!r}"
        ) from None
    if not (0.0 <= fp <= 1.0 and 0.0 <= fn <= 1.0) or not math.isclose(fp + fn, 1.0, abs_tol=1e-9):
        raise ValueError(
            f"weights must be a pair (false_positive_weight, false_negative_weight) of numbers in [0, 1] "
            f"summing to 1, got {weights!r}"
        )
    return fp, fn


def _composite_nodes(low: float, high: float, panels: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of a composite Gauss-Legendre rule on [low, high]."""
    edges = np.linspace(low, high, panels + 1)
    half = np.diff(edges) / 2
    middle = edges[:-1] + half
    nodes = (middle[:, None] + half[:, None] * _GAUSS_NODES[None, :]).ravel()
    weights = (half[:, None] * _GAUSS_WEIGHTS[None, :]).ravel()
    return nodes, weights


def optimal_params(threshold: float, num_perm: int, weights: Sequence[float] = (0.5, 0.5)) -> tuple[int, int]:
    """Bands and rows that minimise the weighted false-positive and false-negative rates.

    The false-positive probability is the integral over similarity ``s`` in
    ``[0, threshold]`` of the chance of becoming a candidate, ``1 - (1 - s**r)**b``; the
    false-negative probability the integral over ``[threshold, 1]`` of the chance of not
    becoming one. All ``(b, r)`` with ``b * r <= num_perm`` are evaluated at once with
    NumPy (composite Gauss-Legendre quadrature), and ties go to the first in datasketch's
    search order, so the result equals ``datasketch.lsh._optimal_param``.

    Parameters
    ----------
    threshold : float in (0, 1)
        Jaccard similarity above which pairs should be found.
    num_perm : int >= 1
        Signature length.
    weights : (float, float), default (0.5, 0.5)
        Weights of false positives and false negatives, each in [0, 1], summing to 1.

    Returns
    -------
    (bands, rows) : tuple of int

    Examples
    --------
    >>> optimal_params(0.8, 128)
    (9, 13)
    >>> optimal_params(0.5, 128, weights=(0.2, 0.8))
    (30, 4)
    """
    threshold = check_fraction("threshold", threshold)
    num_perm = check_int("num_perm", num_perm, 1, 1 << 16)
    fp_weight, fn_weight = _check_weights(weights)
    return _optimal_params(threshold, num_perm, fp_weight, fn_weight)


@functools.lru_cache(maxsize=256)
def _optimal_params(threshold: float, num_perm: int, fp_weight: float, fn_weight: float) -> tuple[int, int]:
    # datasketch's search order: b ascending, then r ascending; argmin keeps the first minimum.
    bands = np.concatenate([np.full(num_perm // b, b) for b in range(1, num_perm + 1)]).astype(np.float64)
    rows = np.concatenate([np.arange(1, num_perm // b + 1) for b in range(1, num_perm + 1)]).astype(np.float64)
    panels = max(8, num_perm // 4)
    low_nodes, low_weights = _composite_nodes(0.0, threshold, panels)
    high_nodes, high_weights = _composite_nodes(threshold, 1.0, panels)
    errors = np.empty(len(bands))
    # Blocks of (b, r) pairs bound the (pairs x nodes) temporaries to ~16 MB.
    step = max(1, (1 << 21) // len(low_nodes))
    for lo in range(0, len(bands), step):
        b = bands[lo : lo + step, None]
        r = rows[lo : lo + step, None]
        false_pos = (1.0 - (1.0 - low_nodes[None, :] ** r) ** b) @ low_weights
        false_neg = ((1.0 - high_nodes[None, :] ** r) ** b) @ high_weights
        errors[lo : lo + step] = fp_weight * false_pos + fn_weight * false_neg
    best = int(np.argmin(errors))
    return int(bands[best]), int(rows[best])


def resolve_params(threshold: float, num_perm: int, weights, params) -> tuple[int, int]:
    """``params`` checked as a ``(bands, rows)`` banding for ``num_perm`` values, or, when
    ``params`` is None, :func:`optimal_params` for ``threshold`` with ``weights``.

    Examples
    --------
    >>> resolve_params(0.8, 128, (0.5, 0.5), (16, 8))
    (16, 8)
    """
    if params is None:
        return optimal_params(threshold, num_perm, weights)
    try:
        bands, rows = params
    except (TypeError, ValueError):
        raise ValueError(f"params must be a pair (bands, rows) of positive integers, got {params!r}") from None
    bands = check_int("params[0] (bands)", bands, 1)
    rows = check_int("params[1] (rows)", rows, 1)
    if bands * rows > num_perm:
        raise ValueError(
            f"params=({bands}, {rows}) needs bands * rows = {bands * rows} signature values, "
            f"more than num_perm={num_perm}"
        )
    return bands, rows


# --------------------------------------------------------------------------- band keys


def _check_signatures(signatures: object, num_perm: int | None = None, name: str = "signatures") -> np.ndarray:
    array = np.asarray(signatures)
    if array.ndim != 2:
        raise ValueError(f"{name} must be a 2-D (n, num_perm) array of uint32, got shape {array.shape}")
    if array.dtype != np.uint32:
        if array.dtype.kind not in "iu":
            raise TypeError(f"{name} must hold unsigned 32-bit integers (MinHash values), got dtype {array.dtype}")
        if array.size and (array.min() < 0 or array.max() > 0xFFFFFFFF):
            raise ValueError(f"{name} must hold values in [0, 2**32 - 1] (MinHash values)")
        array = array.astype(np.uint32)
    if num_perm is not None and array.shape[1] != num_perm:
        raise ValueError(f"{name} must have num_perm={num_perm} columns, got {array.shape[1]}")
    return array


def band_keys(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """One 64-bit key per band of every signature.

    Band ``k`` covers signature values ``k * rows`` to ``(k + 1) * rows - 1`` (datasketch's
    layout); its key is an affine form of those values with random odd 64-bit
    coefficients and a constant of its own (so the band number is part of the key), mixed
    with MurmurHash3's finaliser: equal keys mean equal bands of the same band number, up
    to a ~2**-64 chance per pair.

    Parameters
    ----------
    signatures : (n, num_perm) uint32 array
    bands, rows : int
        ``bands * rows`` must not exceed ``num_perm``.

    Returns
    -------
    (n, bands) uint64 array

    Examples
    --------
    >>> sigs = np.array([[1, 2, 3, 4], [1, 2, 3, 5]], dtype=np.uint32)
    >>> keys = band_keys(sigs, 2, 2)
    >>> bool(keys[0, 0] == keys[1, 0]), bool(keys[0, 1] == keys[1, 1])
    (True, False)
    """
    signatures = _check_signatures(signatures)
    bands = check_int("bands", bands, 1)
    rows = check_int("rows", rows, 1)
    if bands * rows > signatures.shape[1]:
        raise ValueError(f"bands * rows = {bands * rows} exceeds the signature length {signatures.shape[1]}")
    n = len(signatures)
    out = np.empty((n, bands), dtype=np.uint64)
    multipliers, salts = _band_multipliers(bands, rows)
    used = signatures[:, : bands * rows]
    with np.errstate(over="ignore"):
        for lo in range(0, n, _DOC_CHUNK):
            block = used[lo : lo + _DOC_CHUNK].reshape(-1, bands, rows).astype(np.uint64)
            # A random affine form of the band's values (mod 2**64), its own for every
            # band, then MurmurHash3's finaliser: a few NumPy calls whatever the banding.
            block *= multipliers
            out[lo : lo + len(block)] = mix64(block.sum(axis=2, dtype=np.uint64) + salts)
    return out


@functools.lru_cache(maxsize=64)
def _band_multipliers(bands: int, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Odd 64-bit multipliers, one per (band, row), and a constant per band (so that equal
    values in different bands, all zeros included, still give different keys). Fixed, so
    keys are the same in every process."""
    cells = np.arange(bands * rows, dtype=np.uint64).reshape(bands, rows)
    salts = mix64(np.arange(bands, dtype=np.uint64) + np.uint64(0x9E3779B97F4A7C15))
    return mix64(cells + _BAND_SALT) | np.uint64(1), salts


# --------------------------------------------------------------------------- candidate pairs


def bucket_pairs(sorted_ids: np.ndarray, run_starts: np.ndarray, run_lengths: np.ndarray, max_bucket: int) -> np.ndarray:
    """Pairs of ids inside runs of a sorted array: all pairs of a small run, a star for a big one."""
    small = run_lengths <= max_bucket
    parts = []
    # All pairs (p, q), p < q, of every small run, without a loop over runs: element p
    # of a run ending at e pairs with the e - p - 1 elements after it.
    starts, lengths = run_starts[small], run_lengths[small]
    if len(starts):
        ends = np.repeat(starts + lengths, lengths)
        positions = _ranges(starts, lengths)
        counts = ends - positions - 1
        left = np.repeat(positions, counts)
        first_of = np.repeat(np.cumsum(counts) - counts, counts)
        right = left + 1 + (np.arange(len(left)) - first_of)
        parts.append(np.stack([sorted_ids[left], sorted_ids[right]], axis=1))
    # Big runs: every member paired with the run's first member (a star), which keeps
    # the run connected for clustering at len - 1 pairs instead of len * (len - 1) / 2.
    starts, lengths = run_starts[~small], run_lengths[~small]
    if len(starts):
        members = _ranges(starts + 1, lengths - 1)
        heads = np.repeat(starts, lengths - 1)
        parts.append(np.stack([sorted_ids[heads], sorted_ids[members]], axis=1))
    if not parts:
        return np.zeros((0, 2), dtype=np.int64)
    return np.concatenate(parts)


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(s, s + l)`` for every (s, l), vectorised."""
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.cumsum(lengths) - lengths
    return np.repeat(starts - offsets, lengths) + np.arange(total)


def candidate_pairs(
    signatures: np.ndarray, bands: int, rows: int, *, max_bucket: int = DEFAULT_MAX_BUCKET
) -> np.ndarray:
    """All pairs ``(i, j)``, ``i < j``, of signatures that share at least one band.

    Parameters
    ----------
    signatures : (n, num_perm) uint32 array
    bands, rows : int
        Banding, e.g. from :func:`optimal_params`.
    max_bucket : int, default 100
        A bucket (signatures with one equal band) of up to this many members yields all
        its pairs. A bigger one (thousands of copies of one boilerplate text, or of empty
        texts) yields only the pairs of each member with the bucket's first member:
        ``len - 1`` pairs that keep the bucket connected for clustering, instead of
        ``len * (len - 1) / 2`` (50 million for 10,000 copies).

    Returns
    -------
    (m, 2) int64 array
        Unique pairs, ``i < j``, sorted.

    Examples
    --------
    >>> sigs = np.array([[1, 2, 3, 4], [1, 2, 9, 9], [5, 6, 7, 8]], dtype=np.uint32)
    >>> candidate_pairs(sigs, 2, 2).tolist()
    [[0, 1]]
    """
    max_bucket = check_int("max_bucket", max_bucket, 2)
    keys = band_keys(signatures, bands, rows)
    return _pairs_from_keys(keys, max_bucket)


def _pairs_from_keys(keys: np.ndarray, max_bucket: int) -> np.ndarray:
    n = len(keys)
    found = []
    for band in range(keys.shape[1]):
        order, sorted_keys = stable_sort_order(keys[:, band])
        boundaries = np.flatnonzero(sorted_keys[1:] != sorted_keys[:-1]) + 1
        run_starts = np.r_[0, boundaries] if n else np.zeros(0, dtype=np.int64)
        run_lengths = np.diff(np.r_[run_starts, n])
        shared = run_lengths > 1
        pairs = bucket_pairs(order, run_starts[shared], run_lengths[shared], max_bucket)
        if len(pairs):
            pairs.sort(axis=1)
            found.append(pairs[:, 0] * n + pairs[:, 1])
            if len(found) > 1:  # keep the running set small: unique as we go
                found = [sorted_distinct(np.concatenate(found))]
    if not found:
        return np.zeros((0, 2), dtype=np.int64)
    codes = sorted_distinct(np.concatenate(found))
    return np.stack([codes // n, codes % n], axis=1).astype(np.int64)


# --------------------------------------------------------------------------- the index


_FORMAT = "dedup.LSHIndex"
_FORMAT_VERSION = 1


class LSHIndex:
    """A banded MinHash LSH index: bulk insert, query, save to one file.

    Parameters
    ----------
    threshold : float in (0, 1), default 0.8
        Jaccard similarity the banding is tuned for.
    num_perm : int, default 128
        Length of the signatures it holds.
    weights : (float, float), default (0.5, 0.5)
        False-positive and false-negative weights for :func:`optimal_params`.
    params : (bands, rows), optional
        Explicit banding instead of the optimised one; ``bands * rows <= num_perm``.

    Keys are all ``int`` or all ``str`` (so the index can be saved without pickle).
    Integer keys are stored in NumPy arrays (about 20 bytes per entry), string keys in a
    Python dict. Each entry costs 12 bytes per band besides its key: about 130 bytes with
    the defaults, whatever the text length.

    Examples
    --------
    >>> from dedup import MinHasher
    >>> hasher = MinHasher(num_perm=128)
    >>> sigs = hasher.sign(["the cat sat on the mat and looked at the dog for a while",
    ...                     "the cat sat on the mat and looked at the dog for a long while",
    ...                     "a completely different sentence about trains and rain in Utrecht"])
    >>> index = LSHIndex(threshold=0.5, num_perm=128)
    >>> index.insert(["a", "b", "c"], sigs)
    >>> index.query(sigs[0])
    ['a', 'b']
    """

    def __init__(
        self,
        threshold: float = 0.8,
        num_perm: int = 128,
        *,
        weights: Sequence[float] = (0.5, 0.5),
        params: tuple[int, int] | None = None,
    ) -> None:
        self.threshold = check_fraction("threshold", threshold)
        self.num_perm = check_int("num_perm", num_perm, 1, 1 << 16)
        self.weights = _check_weights(weights)
        self.bands, self.rows = resolve_params(self.threshold, self.num_perm, self.weights, params)
        self._band_runs = SortedRuns(key_filter=True)  # band keys are hashes
        self._count = 0
        self._key_type: type | None = None
        # int keys: growable int64 array (row -> key) and sorted runs (key -> row);
        # str keys: list (row -> key) and dict (key -> row).
        self._int_keys = np.zeros(0, dtype=np.int64)
        self._int_key_runs = SortedRuns()
        self._str_keys: list[str] = []
        self._str_rows: dict[str, int] = {}
        self._keys_are_positions = False

    def __repr__(self) -> str:
        return (
            f"LSHIndex(threshold={self.threshold}, num_perm={self.num_perm}, "
            f"params=({self.bands}, {self.rows}), entries={len(self)})"
        )

    def __len__(self) -> int:
        return self._count

    @property
    def nbytes(self) -> int:
        """Bytes held by the NumPy arrays of the index (string keys not counted)."""
        return self._band_runs.nbytes + self._int_keys[: self._count].nbytes + self._int_key_runs.nbytes

    # keys ---------------------------------------------------------------------------

    def _coerce_keys(self, keys: object, count: int) -> np.ndarray | list[str]:
        if isinstance(keys, (str, bytes)) or not isinstance(keys, Iterable):
            raise TypeError(f"keys must be a sequence of int or str (one per signature), got {type(keys).__name__}")
        if isinstance(keys, np.ndarray) and keys.dtype.kind in "iu":
            values: list = keys
            kind: type = int
        else:
            values = list(keys)
            kinds = {str if isinstance(k, str) else int if _is_int(k) else None for k in values}
            if None in kinds or len(kinds) > 1:
                bad = next((k for k in values if not (isinstance(k, str) or _is_int(k))), None)
                detail = f"found {type(bad).__name__} {bad!r}" if None in kinds else "found both int and str"
                raise TypeError(f"keys must be all int or all str, {detail}")
            kind = kinds.pop() if kinds else (self._key_type or int)
        if len(values) != count:
            raise ValueError(f"keys has {len(values)} items but signatures has {count} rows")
        if self._key_type is not None and kind is not self._key_type and count:
            raise TypeError(
                f"keys must be {self._key_type.__name__} like the keys already in the index, got {kind.__name__}"
            )
        if kind is int:
            try:
                array = np.asarray(values, dtype=np.int64) if count else np.zeros(0, dtype=np.int64)
            except OverflowError:
                raise ValueError("keys must be integers in the int64 range") from None
            if (
                isinstance(keys, np.ndarray)
                and keys.dtype == np.uint64
                and count
                and keys.max() > np.iinfo(np.int64).max
            ):
                raise ValueError("keys must be integers in the int64 range")
            return array
        return values

    def _check_new_keys(self, keys: np.ndarray | list[str]) -> None:
        if isinstance(keys, np.ndarray):
            unique, counts = np.unique(keys, return_counts=True)
            if (counts > 1).any():
                raise ValueError(f"keys must be unique, {int(unique[counts > 1][0])} appears more than once")
            hits, _ = self._int_key_runs.lookup(keys.view(np.uint64))
            if len(hits):
                raise ValueError(f"key {int(keys[hits[0]])} is already in the index")
        else:
            seen: set[str] = set()
            for key in keys:
                if key in self._str_rows or key in seen:
                    raise ValueError(
                        f"key {key!r} is already in the index"
                        if key in self._str_rows
                        else f"keys must be unique, {key!r} appears more than once"
                    )
                seen.add(key)

    def __contains__(self, key: object) -> bool:
        if self._keys_are_positions:
            return _is_int(key) and 0 <= int(key) < self._count
        if isinstance(key, str):
            return key in self._str_rows
        if _is_int(key) and self._key_type is int:
            if not (-(1 << 63) <= int(key) < (1 << 63)):
                return False
            hits, _ = self._int_key_runs.lookup(np.array([int(key)], dtype=np.int64).view(np.uint64))
            return len(hits) > 0
        return False

    def keys_at(self, positions: np.ndarray) -> list:
        """The keys of entries given by insertion position (0 = first inserted)."""
        positions = np.asarray(positions, dtype=np.int64)
        if self._keys_are_positions:
            return positions.tolist()
        if self._key_type is str:
            return [self._str_keys[p] for p in positions.tolist()]
        return self._int_keys[positions].tolist()

    # insert and query ----------------------------------------------------------------

    def insert(self, keys: Sequence[Hashable], signatures: np.ndarray) -> None:
        """Add entries in bulk.

        Parameters
        ----------
        keys : sequence of int or of str
            One unique key per signature (the same type as the keys already inserted).
        signatures : (n, num_perm) uint32 array
            MinHash signatures, e.g. from :meth:`dedup.MinHasher.sign`.
        """
        signatures = _check_signatures(signatures, self.num_perm)
        if self._keys_are_positions:
            raise TypeError("this index numbers its entries itself; it takes no keys")
        keys = self._coerce_keys(keys, len(signatures))
        if not len(signatures):
            return
        self._check_new_keys(keys)
        if self._count + len(signatures) >= 1 << 32:
            raise ValueError("an LSHIndex holds at most 2**32 - 1 entries")
        rows = np.arange(self._count, self._count + len(signatures), dtype=np.int64)
        if isinstance(keys, np.ndarray):
            self._key_type = int
            self._int_keys = _grow(self._int_keys, self._count + len(keys))
            self._int_keys[self._count : self._count + len(keys)] = keys
            self._int_key_runs.add(keys.view(np.uint64), rows)
        else:
            self._key_type = str
            self._str_keys.extend(keys)
            self._str_rows.update(zip(keys, rows.tolist()))
        band = band_keys(signatures, self.bands, self.rows)
        self._band_runs.add(band.ravel(), np.repeat(rows, self.bands))
        self._count += len(signatures)

    def append_band_keys(self, keys: np.ndarray) -> None:
        """Insert entries given by precomputed :func:`band_keys` ``(n, bands)`` of this
        index's banding; their keys are their insertion positions (for owners that number
        entries themselves, like :class:`dedup.Deduplicator`: no key bookkeeping at all,
        and band keys computed once for a whole batch). An index filled this way takes
        no :meth:`insert` with other keys, and the other way round."""
        if self._key_type is str or (self._count and not self._keys_are_positions):
            raise TypeError("append_band_keys needs an index whose keys are its positions")
        self._keys_are_positions = True
        self._key_type = int
        rows = np.arange(self._count, self._count + len(keys), dtype=np.int64)
        self._band_runs.add(keys.ravel(), np.repeat(rows, self.bands))
        self._count += len(keys)

    def query_positions(self, signatures: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Candidates of many signatures as arrays.

        Returns
        -------
        (query_index, positions) : int64 arrays of equal length
            Entry ``positions[k]`` (insertion position, see :meth:`keys_at`) shares a band
            with query ``query_index[k]``; pairs are unique and sorted.
        """
        signatures = _check_signatures(signatures, self.num_perm)
        if not len(signatures) or not self._count:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        return self.lookup_band_keys(band_keys(signatures, self.bands, self.rows))

    def lookup_band_keys(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`query_positions` for precomputed :func:`band_keys` ``(n, bands)`` of this
        index's banding: ``(query_index, positions)``, unique and sorted."""
        if not len(keys) or not self._count:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        index, positions = self._band_runs.lookup(keys.ravel())
        query_index = index // self.bands
        codes = sorted_distinct(query_index * self._count + positions)
        return codes // self._count, codes % self._count

    def query_many(self, signatures: np.ndarray) -> list[list]:
        """Candidate keys for every signature: a list (in insertion order) per row."""
        signatures = _check_signatures(signatures, self.num_perm)
        query_index, positions = self.query_positions(signatures)
        keys = self.keys_at(positions)
        bounds = np.searchsorted(query_index, np.arange(len(signatures) + 1))
        return [keys[bounds[i] : bounds[i + 1]] for i in range(len(signatures))]

    def query(self, signature: np.ndarray) -> list:
        """Keys of the entries that share at least one band with ``signature``.

        Candidates, as datasketch's ``MinHashLSH.query`` returns them: verify with
        :func:`dedup.minhash.jaccard` when false positives matter.
        """
        signature = np.asarray(signature)
        if signature.ndim != 1:
            raise ValueError(
                f"signature must be a 1-D array of num_perm={self.num_perm} values, got shape {signature.shape}"
            )
        signatures = _check_signatures(signature[None, :], self.num_perm)
        if not self._count:
            return []
        _, positions = self._band_runs.lookup(band_keys(signatures, self.bands, self.rows).ravel())
        return self.keys_at(sorted_distinct(positions))

    # persistence ---------------------------------------------------------------------

    def _state(self) -> tuple[dict, dict[str, np.ndarray]]:
        values, payload = self._band_runs.compact()
        meta = {
            "threshold": self.threshold,
            "num_perm": self.num_perm,
            "weights": list(self.weights),
            "bands": self.bands,
            "rows": self.rows,
            "count": self._count,
            "key_type": None if self._key_type is None else self._key_type.__name__,
        }
        arrays = {"band_keys": values, "band_rows": payload}
        if self._keys_are_positions:
            arrays["int_keys"] = np.arange(self._count, dtype=np.int64)
        elif self._key_type is str:
            arrays.update(encode_strings(self._str_keys))
        else:
            arrays["int_keys"] = self._int_keys[: self._count]
        return meta, arrays

    @classmethod
    def _from_state(cls, meta: dict, arrays: dict[str, np.ndarray], source: str) -> LSHIndex:
        try:
            index = cls(
                meta["threshold"], meta["num_perm"], weights=meta["weights"], params=(meta["bands"], meta["rows"])
            )
            count = int(meta["count"])
            values, payload = arrays["band_keys"], arrays["band_rows"]
            if (
                values.dtype != np.uint64
                or payload.dtype != np.uint32
                or len(values) != len(payload)
                or len(values) != count * index.bands
            ):
                raise ValueError("band arrays do not match the entry count")
            if count and (payload.max() >= count):
                raise ValueError("band rows out of range")
            if meta["key_type"] == "str":
                keys = decode_strings(arrays)
                if len(keys) != count:
                    raise ValueError("key count does not match the entry count")
                index._key_type = str
                index._str_keys = keys
                index._str_rows = {k: i for i, k in enumerate(keys)}
            else:
                keys = arrays["int_keys"]
                if keys.dtype != np.int64 or len(keys) != count:
                    raise ValueError("key array does not match the entry count")
                index._key_type = int if meta["key_type"] == "int" else None
                index._int_keys = keys.copy()
                index._int_key_runs.add(keys.view(np.uint64), np.arange(count))
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"{source} is not a valid {_FORMAT} file (corrupt or foreign): {error}") from error
        if len(values):
            index._band_runs.replace(values, payload)
        index._count = count
        return index

    def save(self, path: str | os.PathLike) -> None:
        """Write the index to one file, atomically.

        The file is written next to ``path`` under a temporary name, flushed to disk and
        renamed over ``path``: a crash mid-save leaves any previous file intact.
        """
        meta, arrays = self._state()
        atomic_save(path, _FORMAT, _FORMAT_VERSION, meta, arrays)

    @classmethod
    def load(cls, path: str | os.PathLike) -> LSHIndex:
        """Read an index written by :meth:`save`.

        Raises ``ValueError`` naming the file when it is corrupt, truncated or not an index.
        """
        meta, arrays = load_state(path, _FORMAT, _FORMAT_VERSION)
        return cls._from_state(meta, arrays, os.fspath(path))


def _is_int(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _grow(array: np.ndarray, needed: int) -> np.ndarray:
    """``array`` with capacity for ``needed`` items (doubling, so appends are amortised O(1))."""
    if len(array) >= needed:
        return array
    grown = np.empty(max(needed, 2 * len(array), 1024), dtype=array.dtype)
    grown[: len(array)] = array
    return grown
