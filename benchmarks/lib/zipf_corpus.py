"""A synthetic corpus of made-up words with planted near-copies, any size, nothing stored.

Documents are ``words`` words drawn from a Zipf-like vocabulary of 100,000 words, each
document a pure function of its number (hashes, no stored state), so a generator can
stream a million documents without holding them. A share ``dup_rate`` of documents are
planted near-copies of an earlier original document, with 0 to ``max_edits`` words
replaced. ``planted`` gives the truth: the (original, copy) pairs and their exact Jaccard
(word 5-shingles of the word ids).
"""

from __future__ import annotations

import numpy as np

from dedup.hashing import mix64

VOCABULARY = 100_000
SEED = np.uint64(0x5EED5EED12345)
_M = np.uint64(0x9E3779B97F4A7C15)


def _hash(*parts: np.ndarray) -> np.ndarray:
    h = np.asarray(SEED, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for part in parts:
            h = mix64((h ^ np.asarray(part, dtype=np.uint64)) * _M)
    return h


_ZIPF_CDF = np.cumsum(1.0 / np.arange(1, VOCABULARY + 1) ** 1.05)
_ZIPF_CDF /= _ZIPF_CDF[-1]
_WORDS = np.array([f"w{r:x}" for r in range(VOCABULARY)])


def word_ids(docs: np.ndarray, words: int) -> np.ndarray:
    """Word ids of the *original* text of every doc: (len(docs), words)."""
    h = _hash(docs[:, None], np.arange(words)[None, :])
    uniform = (h >> np.uint64(11)).astype(np.float64) / float(1 << 53)
    return np.searchsorted(_ZIPF_CDF, uniform)


def is_copy(docs: np.ndarray, dup_rate: float) -> np.ndarray:
    return (docs > 0) & ((_hash(docs, 1) % np.uint64(1_000_000)).astype(np.float64) < dup_rate * 1e6)


def source_of(docs: np.ndarray, dup_rate: float) -> np.ndarray:
    """The original an (assumed) copy repeats: an earlier document that is not a copy."""
    source = (_hash(docs, 2) % np.maximum(docs, 1).astype(np.uint64)).astype(np.int64)
    while True:
        bad = is_copy(source, dup_rate)
        if not bad.any():
            return source
        source[bad] -= 1


def batch_word_ids(
    lo: int, hi: int, words: int, dup_rate: float, max_edits: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Word ids of docs lo..hi-1 as generated, which of them are copies, and their sources."""
    docs = np.arange(lo, hi, dtype=np.int64)
    ids = word_ids(docs, words)
    copies = is_copy(docs, dup_rate)
    sources = np.full(len(docs), -1, dtype=np.int64)
    if copies.any():
        c = docs[copies]
        src = source_of(c, dup_rate)
        sources[copies] = src
        copied = word_ids(src, words)
        edits = (_hash(c, 3) % np.uint64(max_edits + 1)).astype(np.int64)
        for e in range(max_edits):
            change = edits > e
            position = (_hash(c, 4, e) % np.uint64(words)).astype(np.int64)
            replacement = (_hash(c, 5, e) % np.uint64(VOCABULARY)).astype(np.int64)
            rows = np.flatnonzero(change)
            copied[rows, position[rows]] = replacement[rows]
        ids[copies] = copied
    return ids, copies, sources


def texts_of_word_ids(ids: np.ndarray) -> list[str]:
    return [" ".join(row) for row in _WORDS[ids].tolist()]


def generate_texts(n: int, words: int, dup_rate: float, max_edits: int, batch: int = 4096):
    for lo in range(0, n, batch):
        ids, _, _ = batch_word_ids(lo, min(lo + batch, n), words, dup_rate, max_edits)
        yield from texts_of_word_ids(ids)


def planted(n: int, words: int, dup_rate: float, max_edits: int) -> tuple[np.ndarray, np.ndarray]:
    """Planted pairs (source, copy) and their exact Jaccard of word-id 5-shingles."""
    docs = np.arange(n, dtype=np.int64)
    copies = docs[is_copy(docs, dup_rate)]
    sources = source_of(copies, dup_rate)
    pairs = np.stack([sources, copies], axis=1)
    jaccard = np.empty(len(pairs))
    for lo in range(0, len(pairs), 4096):
        part = pairs[lo : lo + 4096]
        a = word_ids(part[:, 0], words)
        b, _, _ = batch_word_ids_for(part[:, 1], words, dup_rate, max_edits)
        for k in range(len(part)):
            sa = {tuple(a[k, i : i + 5]) for i in range(words - 4)}
            sb = {tuple(b[k, i : i + 5]) for i in range(words - 4)}
            jaccard[lo + k] = len(sa & sb) / len(sa | sb)
    return pairs, jaccard


def batch_word_ids_for(docs: np.ndarray, words: int, dup_rate: float, max_edits: int):
    out = np.empty((len(docs), words), dtype=np.int64)
    for k, doc in enumerate(docs.tolist()):  # copies are scattered: one doc at a time
        ids, _, _ = batch_word_ids(doc, doc + 1, words, dup_rate, max_edits)
        out[k] = ids[0]
    return out, None, None
