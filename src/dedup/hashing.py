"""General 64-bit hashing of NumPy arrays, shared by the tokenizer, shingles, LSH band
keys and the alignment engine's seeds.

>>> import numpy as np
>>> mix64(np.arange(3, dtype=np.uint64)).tolist()[0]  # 0 is its fixed point
0
>>> len(set(mix64(np.arange(1000, dtype=np.uint64)).tolist()))  # a bijection of 64-bit words
1000
"""

from __future__ import annotations

import numpy as np

__all__ = ["mix64", "mix64_inplace"]

_MIX_SHIFT = np.uint64(33)
_MIX_1 = np.uint64(0xFF51AFD7ED558CCD)
_MIX_2 = np.uint64(0xC4CEB9FE1A85EC53)
_MIX_SLICE = 1 << 16  # elements mixed at once: the scratch array stays in cache


def mix64(x: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finaliser, vectorised: spreads every input bit over the output."""
    return mix64_inplace(np.asarray(x).astype(np.uint64, copy=True))


def mix64_inplace(x: np.ndarray) -> np.ndarray:
    """``mix64`` overwriting ``x`` (a uint64 array), for arrays the caller owns.

    NumPy array arithmetic on unsigned integers wraps modulo 2**64 without warnings (only
    scalar arithmetic warns), so no ``np.errstate`` is needed (it costs microseconds).
    """
    # In slices: the scratch array stays small (and in cache) however long ``x`` is.
    flat = x.reshape(-1) if x.flags.c_contiguous else x  # a view: writes reach ``x``
    if flat.ndim != 1:
        flat = flat[np.newaxis]  # not contiguous and not 1-D: one slice, all of it
    scratch = np.empty((min(len(flat), _MIX_SLICE),) + flat.shape[1:], dtype=np.uint64)
    for lo in range(0, len(flat), _MIX_SLICE):
        part = flat[lo : lo + _MIX_SLICE]
        work = scratch[: len(part)]
        for multiplier in (_MIX_1, _MIX_2):
            np.right_shift(part, _MIX_SHIFT, out=work)
            part ^= work
            part *= multiplier
        np.right_shift(part, _MIX_SHIFT, out=work)
        part ^= work
    return x
