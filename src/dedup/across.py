"""The across-article pass as stages over batches of articles.

A stream of articles is processed a batch at a time, in four stages:

1. **Keys** (:func:`batch_keys`): each article's distinct shingle hashes (what it looks
   up) and its distinct winnowed fingerprints (what it is remembered under), for the
   whole batch in a few sorts.
2. **Candidates** (:func:`look_up`, :func:`pick_candidates`): all keys of the batch are
   looked up in the store at once; articles earlier in the batch hold keys for later
   ones exactly as if they had been stored one by one. The earlier articles that share
   at least ``min_seeds`` fingerprints with an article are its candidates, the
   ``max_sources`` sharing most (then the earliest), oldest first. This stage is the
   only one that must run in order: it reads and extends the store.
3. **Alignment** (:func:`align_articles`): the engine of :mod:`dedup.align` aligns each
   article with candidates against their original texts. An article's alignment
   depends only on its own text and those texts, so it can run in any process
   (:class:`dedup.workers.OrderedPool`) and the result stays that of the sequential pass.
4. **Matches**: the aligned spans, named by the ids of their sources
   (:class:`dedup.Deduplicator` builds them).

Whole copies (a re-run, a syndicated article, a re-crawl) align against the same
original again and again: alignments of one text against another are remembered by
the two texts' contents (:class:`dedup.align.PairAlignments`), so a text seen before
costs a dictionary lookup per candidate, with the same result.

:class:`dedup.Deduplicator` runs these stages in one process or with workers, and the
Spark adapter (:func:`dedup.spark.clean_across`) runs stage 1 (:func:`keys_of_texts`) and
3 as they are here, and stage 2 in Spark SQL with the rule of :func:`look_up` and
:func:`pick_candidates` (``tests/test_spark_across.py`` checks that both give the same
candidates).
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Protocol, Sequence

import numpy as np
import xxhash

from .arrays import expand_ranges, first_of_equals, run_bounds, run_lengths, run_starts, stable_sort_order
from .align.engine import PairAlignments, align_many
from .align.params import RepeatParams
from .align.prepared import PreparedText, prepare
from .shingle import shingles, window_minima_positions
from .store import HeldKeys, compress_text, decompress_text
from .text import tokenize

__all__ = [
    "AlignmentJob",
    "BatchKeys",
    "HolderStore",
    "PassCompression",
    "align_articles",
    "batch_keys",
    "content_key",
    "keep_prepared",
    "keys_of_texts",
    "look_up",
    "merged_jobs",
    "pick_candidates",
    "prepare_batch",
    "prepared_sources",
]


@dataclass(frozen=True)
class BatchKeys:
    """The keys of a batch of articles (stage 1), as stage 2 (:func:`look_up`) reads them:
    computed in any process, so that the order-bound stage 2 is left with the store's part.

    ``distinct``: the batch's distinct keys (shingle hashes, uint64), sorted. Each article
    looks up its distinct keys: one entry per (key, article), grouped by key, then
    article: key ``j`` has ``articles_per_key[j]`` entries, whose articles are
    ``key_owner`` (article ``i`` has ``key_counts[i]`` of them, fewer than its
    ``shingle_counts[i]`` shingles when one repeats in it). The articles' distinct
    fingerprints (winnowed keys, what each is remembered under) likewise:
    ``fingerprint_index`` (into ``distinct``) and ``fingerprint_owner``, by key, then
    article, and ``fingerprint_rank``, how many articles of the batch before it have the
    key as a fingerprint. Each article's own keys and fingerprints, sorted, come on demand
    (:meth:`keys_by_article`, :meth:`fingerprints_by_article`).
    """

    key_counts: np.ndarray
    shingle_counts: np.ndarray
    distinct: np.ndarray
    articles_per_key: np.ndarray
    key_owner: np.ndarray
    fingerprint_index: np.ndarray
    fingerprint_owner: np.ndarray
    fingerprint_rank: np.ndarray

    def __len__(self) -> int:
        return len(self.key_counts)

    def keys_by_article(self) -> HeldKeys:
        """Each article's distinct keys, sorted (``[i]``: article ``i``'s)."""
        keys = np.repeat(self.distinct, self.articles_per_key)
        return HeldKeys(keys, self.key_owner, len(self))

    def fingerprints_by_article(self) -> HeldKeys:
        """Each article's distinct fingerprints, sorted (``[i]``: article ``i``'s)."""
        return HeldKeys(self.distinct[self.fingerprint_index], self.fingerprint_owner, len(self))


def batch_keys(hashes: np.ndarray, offsets: np.ndarray, window: int) -> BatchKeys:
    """:class:`BatchKeys` of articles whose shingle hashes are ``hashes`` (article ``i``
    owns ``hashes[offsets[i]:offsets[i+1]]``, as :func:`dedup.shingle.shingles` gives
    them), with winnowing ``window``: all shingles in one sort by hash.

    >>> from dedup.text import tokenize
    >>> tokens = tokenize(["one two three one two three", "four five", "four five"])
    >>> keys = batch_keys(*shingles(tokens.hashes, tokens.offsets, 3), window=2)
    >>> keys.key_counts.tolist(), [len(fingerprints) for fingerprints in keys.fingerprints_by_article()]
    ([3, 1, 1], [2, 1, 1])
    >>> keys.fingerprint_owner.tolist(), keys.fingerprint_rank.tolist()  # article 2 is the key's second
    ([0, 0, 1, 2], [0, 0, 0, 1])
    """
    offsets = np.asarray(offsets, dtype=np.int64)
    count, base = len(offsets) - 1, int(offsets[0])
    shingle_counts = np.diff(offsets)
    # Indices into the batch as 32-bit integers when they fit (half the bytes to send).
    index_type = np.int32 if offsets[-1] - base < 2**31 else np.int64
    owner_of_shingle = np.repeat(np.arange(count, dtype=index_type), shingle_counts)
    # Equal hashes stay in position order, so in article order: an article's repeats of
    # a hash are neighbours, and each (key, article) is met first at its entry.
    order, ordered = stable_sort_order(hashes[base : offsets[-1]])
    new_key = first_of_equals(ordered)
    distinct = ordered[new_key]
    key_number = np.cumsum(new_key, dtype=index_type)
    key_number -= 1  # of each sorted shingle: its key's index into distinct
    owner = owner_of_shingle[order]
    entry = new_key.copy()
    entry[1:] |= owner[1:] != owner[:-1]
    key_owner = owner[entry]
    # Entries come by key: a key's articles are the length of its run of entries.
    articles_per_key = run_lengths(np.flatnonzero(new_key[entry]), len(key_owner), index_type)
    key_counts = np.bincount(key_owner, minlength=count)
    # Each shingle's key number orders the shingles as their hashes do (equal numbers for
    # equal hashes): winnowed by it, the same fingerprints, from 32-bit numbers.
    key_of_shingle = np.empty(len(order), dtype=index_type)
    key_of_shingle[order] = key_number
    positions = window_minima_positions(key_of_shingle, offsets - base, window)
    # Each fingerprint's key, and each (key, article) once, by key then article: one
    # 64-bit number each, sorted.
    held = key_of_shingle[positions].astype(np.int64) * max(count, 1) + owner_of_shingle[positions]
    held.sort()
    held = held[first_of_equals(held)]
    fingerprint_index, fingerprint_owner = np.divmod(held, max(count, 1))
    # The rank of an article among a key's holders: its place in the key's run.
    rank = np.arange(len(held)) - run_starts(first_of_equals(fingerprint_index))
    return BatchKeys(
        key_counts, shingle_counts, distinct, articles_per_key, key_owner,
        *(a.astype(index_type) for a in (fingerprint_index, fingerprint_owner, rank)),
    )


def prepare_batch(
    texts: Sequence[str], params: RepeatParams, window: int, blobs: Sequence[bytes | None] | None = None
) -> tuple[list[PreparedText], BatchKeys]:
    """Stage 1 for a batch: the texts prepared for alignment (one vectorised
    tokenization, :func:`dedup.align.prepare`) and their :class:`BatchKeys`.

    ``blobs``, the texts compressed (:func:`dedup.store.compress_text`; None: not
    known yet), name them in this process's cache of prepared sources and in the passes
    it keeps (:func:`keep_prepared`): a text found there (an article that recurs whole,
    met before as a source or a few passes before) is not tokenized again.
    """
    cached = [None] * len(texts) if blobs is None else [
        _prepared_before((blob, params.ngram, params.mode)) for blob in blobs
    ]
    new = [i for i, text in enumerate(cached) if text is None]
    tokens = tokenize([texts[i] for i in new] if len(new) < len(texts) else texts, params.mode)
    hashes, offsets = shingles(tokens.hashes, tokens.offsets, params.ngram)
    prepared: list[PreparedText] = list(cached)  # type: ignore[arg-type]
    for i, text in zip(new, PreparedText.of_batch([texts[i] for i in new], tokens, hashes, offsets)):
        prepared[i] = text
    if len(new) < len(texts):
        lengths = np.array([len(text.shingles) for text in prepared], dtype=np.int64)
        offsets = np.concatenate(([0], np.cumsum(lengths)))
        hashes = np.concatenate([text.shingles for text in prepared])
    return prepared, batch_keys(hashes, offsets, window)


def _prepared_before(key: tuple, *, cache: bool = True) -> PreparedText | None:
    """The text of ``key`` (blob, ngram, mode; blob None: not met recently) as this
    process prepared it recently: in its cache of prepared texts, or in a pass it keeps
    (with ``cache``, then a copy into the cache: the kept text is a view of its pass's
    arrays, which whatever holds it would keep alive, and a text that recurs every few
    passes for ever)."""
    if key[0] is None:
        return None
    text = _prepared.get(key)
    if text is None:
        text = _kept(key)
        if text is not None and cache:
            text = _prepared.put(key, text)
    return text


def keys_of_texts(texts: Sequence[str], params: RepeatParams, window: int) -> BatchKeys:
    """Stage 1's keys alone, for a caller that aligns elsewhere (Spark's stage 1,
    :func:`dedup.spark.article_key_rows`): the :class:`BatchKeys` that
    :func:`prepare_batch` gives for the same texts.

    >>> from dedup.align import RepeatParams
    >>> keys = keys_of_texts(["one two three four five six", ""], RepeatParams(ngram=3), window=2)
    >>> keys.key_counts.tolist()
    [4, 0]
    """
    tokens = tokenize(texts, params.mode)
    return batch_keys(*shingles(tokens.hashes, tokens.offsets, params.ngram), window)


class HolderStore(Protocol):
    """What :func:`look_up` needs of a store (:mod:`dedup.store`)."""

    max_holders: int

    def __len__(self) -> int: ...

    def holders(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...


def look_up(
    store: HolderStore, batch: BatchKeys, *, in_batch: bool = True
) -> tuple[np.ndarray, np.ndarray, Sequence[np.ndarray]]:
    """Stage 2 for a batch: who holds each article's keys, as if the articles of the
    batch had been looked up and stored one by one, in order.

    The store's articles are numbered ``0 .. len(store) - 1`` and the batch's follow them.
    A key keeps its earliest ``store.max_holders`` holders: an article of the batch holds
    a fingerprint when fewer than that held it before (in the store or earlier in the
    batch).

    Returns ``(article, holder, remembered)``: one ``(article, holder)`` pair per key an
    article shares with an earlier holder (``article`` indexes the batch; the pairs in no
    particular order), and per article of the batch the fingerprints it holds (sorted
    uint64; a :class:`dedup.store.HeldKeys`), to be added to the store.
    With ``in_batch`` false the batch's articles are not to be remembered: they hold
    nothing, and only the store's articles are holders.
    """
    first = len(store)
    count = len(batch)
    distinct, owner = batch.distinct, batch.key_owner
    entry_starts = _starts(batch.articles_per_key)  # each key's first entry
    if first:
        held, holder = store.holders(distinct)
    else:
        held, holder = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    # Holders in the store: the holders of each key (grouped by key) with each entry of
    # the key; only the keys held are expanded (few, in new text).
    by_key = np.argsort(held, kind="stable")
    held, holder = held[by_key], holder[by_key]
    holder_starts, holder_counts = run_bounds(held)
    held_keys = held[holder_starts]
    entry, position = _key_pairs(entry_starts, batch.articles_per_key, held_keys, holder_starts, holder_counts)
    articles = [owner[entry]]
    holders = [holder[position]]
    if not in_batch:
        return articles[0], holders[0], [np.zeros(0, dtype=np.uint64)] * count

    # Holders inside the batch: the first ``cap - held_before`` articles of the batch
    # (in order) that have a key as a fingerprint hold it.
    held_before = np.zeros(len(distinct), dtype=np.int64)
    held_before[held_keys] = holder_counts
    kept = held_before[batch.fingerprint_index] + batch.fingerprint_rank < store.max_holders
    added_key, added_owner = batch.fingerprint_index[kept], batch.fingerprint_owner[kept]  # by key, then owner
    # A key of one article of the batch has no holder before it there: only keys that
    # occur in two articles or more are expanded.
    added_starts, added_counts = run_bounds(added_key)
    shared = batch.articles_per_key[added_key[added_starts]] > 1
    added_starts, added_counts = added_starts[shared], added_counts[shared]
    shared = added_key[added_starts]
    entry, position = _key_pairs(entry_starts, batch.articles_per_key, shared, added_starts, added_counts)
    earlier = added_owner[position] < owner[entry]
    articles.append(owner[entry[earlier]])
    holders.append(first + added_owner[position[earlier]].astype(np.int64))  # store numbers: int64

    remembered = HeldKeys(distinct[added_key], added_owner, count)  # by key, then article: as a store keeps them
    return np.concatenate(articles), np.concatenate(holders), remembered


def _key_pairs(entry_starts, entry_counts, keys, holder_starts, holder_counts) -> tuple[np.ndarray, np.ndarray]:
    """``(entry, position)`` for every entry of each of ``keys`` (its entries:
    ``entry_counts[key]`` from ``entry_starts[key]``) with every holder of the key (its
    holders: ``holder_counts[k]`` from ``holder_starts[k]``, for ``keys[k]``)."""
    key, entry = expand_ranges(entry_starts[keys], entry_counts[keys])
    holder_of, position = expand_ranges(holder_starts[key], holder_counts[key])
    return entry[holder_of], position


def _starts(counts: np.ndarray) -> np.ndarray:
    """Where each group starts in an array grouped with ``counts`` members per group."""
    return np.cumsum(counts) - counts


def pick_candidates(
    article: np.ndarray, holder: np.ndarray, count: int, *, min_seeds: int, max_sources: int
) -> list[list[int]]:
    """The candidate sources of each of ``count`` articles, oldest first, from one
    ``(article, holder)`` pair per shared key: the holders sharing at least
    ``min_seeds`` keys, the ``max_sources`` sharing most (then the earliest).

    >>> pick_candidates(np.array([0, 0, 0, 1, 1, 1, 1]), np.array([7, 7, 3, 3, 3, 5, 5]), 3,
    ...                 min_seeds=2, max_sources=1)
    [[7], [3], []]
    """
    out: list[list[int]] = [[] for _ in range(count)]
    if not len(article):
        return out
    span = int(holder.max()) + 1
    pairs, shared = np.unique(article.astype(np.int64) * span + holder, return_counts=True)
    keep = shared >= min_seeds
    pairs, shared = pairs[keep], shared[keep]
    owner, source = pairs // span, pairs % span
    order = np.lexsort((source, -shared, owner))  # per article: most shared, then earliest
    owner, source = owner[order], source[order]
    rank = np.arange(len(owner)) - np.searchsorted(owner, owner)
    owner, source = owner[rank < max_sources], source[rank < max_sources]
    order = np.lexsort((source, owner))
    for a, s in zip(owner[order].tolist(), source[order].tolist()):
        out[a].append(s)
    return out


@dataclass
class AlignmentJob:
    """Stage 3's work for a few articles: each ``texts[k]`` is aligned against the
    sources ``[source_blobs[i] for i in sources[k]]`` (oldest first), and against its own
    earlier part when ``within``. The sources are original texts compressed as the store
    keeps them (:func:`dedup.store.compress_text`): cheap to send, and decompressed only
    where they are not prepared already. With ``compressed``, the articles' texts are
    compressed too: a process that prepared them in stage 1 (:func:`keep_prepared`)
    aligns them as it prepared them. Otherwise ``text_blobs``, when given, are the
    articles' texts compressed (the job then knows which source is an article's own
    text, see :func:`align_articles`). Plain data: sent to worker processes as it is."""

    texts: list[str] | list[bytes]
    sources: list[list[int]]
    source_blobs: list[bytes]
    params: RepeatParams
    within: bool
    compressed: bool = False
    text_blobs: list[bytes] | None = None
    #: Spans of pairs remembered where the job was made, by ``PairAlignments.key_of_contents``
    #: of the two texts' :func:`content_key`: not aligned again here.
    known_pairs: dict[tuple, list] | None = None

    def own_text_sources(self) -> list[list[bool]]:
        """Per article, for each of its sources, whether the source is the article's own
        text (a whole copy met again: a re-run, a syndicated copy). Compressed texts are
        compared: equal blobs are equal texts (unequal ones are compared no further)."""
        blobs = self.texts if self.compressed else self.text_blobs
        if blobs is None:
            return [[False] * len(chosen) for chosen in self.sources]
        return [[self.source_blobs[i] == blob for i in chosen] for chosen, blob in zip(self.sources, blobs)]


def merged_jobs(jobs: Sequence[AlignmentJob]) -> AlignmentJob:
    """One :class:`AlignmentJob` doing what ``jobs`` (of one pass each, with the same
    parameters) do, its articles in their order: aligned together, their pairs' edge
    extensions share larger vectorised calls (an article's repeats do not depend on the
    others aligned with it).

    >>> from dedup.align import RepeatParams
    >>> params = RepeatParams()
    >>> one = AlignmentJob(["a"], [[0]], [b"x"], params, within=False)
    >>> two = AlignmentJob(["b", "c"], [[], [0, 1]], [b"y", b"z"], params, within=False)
    >>> job = merged_jobs([one, two])
    >>> job.texts, job.sources, job.source_blobs
    (['a', 'b', 'c'], [[0], [], [1, 2]], [b'x', b'y', b'z'])
    """
    first = jobs[0]
    if len(jobs) == 1:
        return first
    sources: list[list[int]] = []
    blobs: list[bytes] = []
    for job in jobs:
        sources += [[len(blobs) + i for i in chosen] for chosen in job.sources]
        blobs += job.source_blobs
    text_blobs = None if first.text_blobs is None else [blob for job in jobs for blob in job.text_blobs or ()]
    known = {key: spans for job in jobs for key, spans in (job.known_pairs or {}).items()}
    return AlignmentJob(
        [text for job in jobs for text in job.texts], sources, blobs, first.params, first.within,
        first.compressed, text_blobs, known or None,
    )


class _PreparedCache:
    """Prepared texts by key, the most recently used kept up to a budget of tokens. Each
    is kept as a copy with arrays of its own (:meth:`PreparedText.detached`): a view of
    the batch it was prepared in would keep the whole batch alive, so the cache would
    hold far more than it counts."""

    def __init__(self, tokens: int) -> None:
        self.budget = tokens
        self.tokens = 0
        self._texts: OrderedDict[tuple, PreparedText] = OrderedDict()
        # Stage 1 (in a thread, in one process) reads it while stage 3 fills it.
        self._lock = threading.Lock()

    def get(self, key: tuple) -> PreparedText | None:
        with self._lock:
            text = self._texts.get(key)
            if text is not None:
                self._texts.move_to_end(key)
            return text

    def put(self, key: tuple, text: PreparedText) -> PreparedText:
        """Keep ``text`` under ``key``; returns the copy kept."""
        kept = text.detached()
        with self._lock:
            self._texts[key] = kept
            self.tokens += len(kept)
            while self.tokens > self.budget and len(self._texts) > 1:
                self.tokens -= len(self._texts.popitem(last=False)[1])
        return kept


# Texts compressed recently in this process, by digest: an article that recurs whole is
# compressed once, and the store keeps one copy of its bytes for all its recurrences.
_RECENT_TEXTS = 4096
_recent_blobs: OrderedDict[bytes, bytes] = OrderedDict()
_recent_lock = threading.Lock()  # stage 1 may run in a thread (dedup.Deduplicator, one process)
# Fewer new texts than this are compressed in the calling thread (a thread costs more).
_COMPRESS_IN_THREAD_FROM = 16


class PassCompression:
    """A pass's texts compressed as the store keeps them (one object for a text met
    again): ``known`` at once, for texts met recently (else None), and ``blobs`` once the
    ``with`` block ends. The other texts are compressed meanwhile in a thread (zlib lets
    the calling thread run on), so that in one process compression overlaps stage 1's
    tokenization.

    >>> with PassCompression(["A text.", "A text."]) as compressing:
    ...     pass  # stage 1's work
    >>> first, second = compressing.blobs
    >>> first is second, decompress_text(first)
    (True, 'A text.')
    """

    def __init__(self, texts: Sequence[str]) -> None:
        self.digests = [xxhash.xxh3_128_digest(text.encode("utf-8", "surrogatepass")) for text in texts]
        self.known: list[bytes | None] = []
        with _recent_lock:
            for digest in self.digests:
                blob = _recent_blobs.get(digest)
                if blob is not None:
                    _recent_blobs.move_to_end(digest)
                self.known.append(blob)
        # Each new text once (a text twice in the pass is one object, as met recently).
        self._new = {digest: text for digest, text, blob in zip(self.digests, texts, self.known) if blob is None}
        self._made: list[bytes] = []
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self.blobs: list[bytes] = []

    def _compress(self) -> None:
        try:
            self._made = [compress_text(text) for text in self._new.values()]
        except BaseException as error:  # raised again in the thread that waits for it
            self._error = error

    def __enter__(self) -> "PassCompression":
        if len(self._new) >= _COMPRESS_IN_THREAD_FROM:
            self._thread = threading.Thread(target=self._compress, name="dedup-compress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        if self._thread is not None:
            self._thread.join()
        if exc_info[0] is not None:
            return
        if self._thread is None:
            self._compress()
        if self._error is not None:
            raise self._error
        with _recent_lock:
            for digest, blob in zip(self._new, self._made):
                _recent_blobs[digest] = blob
            while len(_recent_blobs) > _RECENT_TEXTS:
                _recent_blobs.popitem(last=False)
        made = dict(zip(self._new, self._made))
        self.blobs = [made[digest] if blob is None else blob for digest, blob in zip(self.digests, self.known)]


# Prepared source texts and pair alignments kept per process, by content: a source
# aligned against by many articles (a wire story, a re-run) is tokenized once, and an
# article that recurs whole reuses its alignments against the same sources. About
# 30 bytes a token (arrays, sorted shingles, boundaries): 4 M tokens, about 120 MB per
# process, some 6,000 articles of news. Where near-copies of a few thousand articles
# recur all through a stream (the worst stream of 12,000 documents), 1 M tokens missed
# most sources and the run took 1.12x as long; on whole copies the size made no
# difference.
_PREPARED_TOKENS = 1 << 22
_prepared = _PreparedCache(_PREPARED_TOKENS)
_pair_alignments = PairAlignments()
# The passes this process prepared last (stage 1), by compressed text: their alignment
# (stage 3) follows a few passes later in the same process, and finds the articles and
# the sources among them prepared. A pass's prepared texts share its token arrays, so
# whole passes are kept, a few: memory stays bounded by what a few passes hold.
_KEPT_PASSES = 6
_kept_passes: deque[dict[tuple, PreparedText]] = deque(maxlen=_KEPT_PASSES)
_kept_lock = threading.Lock()  # stage 1 (in a thread, in one process) reads them as stage 2 keeps more


def keep_prepared(
    blobs: Sequence[bytes], prepared: Sequence[PreparedText], params: RepeatParams, *, passes: int = _KEPT_PASSES
) -> None:
    """Keep the texts of one pass prepared in this process (stage 1), each under its
    compressed text (``blobs``, :func:`dedup.store.compress_text`), for
    :func:`prepared_sources` to find, with the last ``passes`` passes kept so (at most
    ``_KEPT_PASSES``)."""
    kept = {(blob, params.ngram, params.mode): text for blob, text in zip(blobs, prepared)}
    with _kept_lock:
        _kept_passes.append(kept)
        while len(_kept_passes) > passes:
            _kept_passes.popleft()


def _kept(key: tuple) -> PreparedText | None:
    with _kept_lock:
        passes = list(_kept_passes)
    for kept in reversed(passes):
        found = kept.get(key)
        if found is not None:
            return found
    return None


def prepared_sources(blobs: Sequence[bytes], params: RepeatParams, *, cache: bool = True) -> list[PreparedText]:
    """Compressed texts (:func:`dedup.store.compress_text`) prepared for alignment: those
    prepared recently in this process (a pass of :func:`keep_prepared`, or a cache of
    texts prepared here), the others together (one vectorised tokenization). With
    ``cache``, the texts are kept in the cache for the next calls (sources, which many
    articles align against; not the articles of a job, each aligned once)."""
    keys = [(blob, params.ngram, params.mode) for blob in blobs]
    found: dict[tuple, PreparedText] = {}
    for key in dict.fromkeys(keys):
        text = _prepared_before(key, cache=cache)
        if text is not None:
            found[key] = text
    missing = [key for key in dict.fromkeys(keys) if key not in found]
    texts = [decompress_text(blob) for blob, _, _ in missing]
    for key, prepared in zip(missing, prepare(texts, params.ngram, params.mode)):
        found[key] = _prepared.put(key, prepared) if cache else prepared
    return [found[key] for key in keys]


def content_key(blob: bytes) -> bytes:
    """A text compressed as the store keeps it, by its 128-bit digest (XXH3): what stage 3
    knows it by in :class:`dedup.align.PairAlignments` (``key_of_contents``; equal blobs
    are equal texts)."""
    return xxhash.xxh3_128_digest(blob)


def align_articles(
    job: AlignmentJob, queries: Sequence[PreparedText] | None = None, new_pairs: dict | None = None
) -> list[list[tuple]]:
    """Stage 3: per article of ``job``, its repeats as ``(start, end, source, source_start,
    source_end, similarity)`` tuples by position; ``source`` is the index into the
    article's own source list, ``None`` for a repeat of its own earlier part.

    ``queries``, when given, are the job's texts already prepared (in the process that
    prepared them). The job's ``known_pairs`` are remembered here first; ``new_pairs``,
    when a dict, receives the pairs this call aligns (by the same keys), for the process
    that gives out the jobs to remember: a pair aligned by one worker is then not aligned
    again by another."""
    params = job.params
    for key, spans in (job.known_pairs or {}).items():
        _pair_alignments.remember_by(key, spans)
    if queries is None:
        queries = (
            prepared_sources(job.texts, params, cache=False)
            if job.compressed
            else prepare(job.texts, params.ngram, params.mode)
        )
    # A source that is the article's own text is the article as prepared: whole copies,
    # the commonest repeat, are aligned without their source decompressed or tokenized
    # (the alignment depends only on the two texts). The other sources are named by
    # their index into the job's, and prepared only when a round first aligns against
    # them: a re-run whose first candidates cover it never needs the others (a third of
    # the sources prepared on recurring articles, a fifth on near-copies).
    own_text = job.own_text_sources()
    handles = [
        [("own", k) if is_own else i for i, is_own in zip(chosen, own)]
        for k, (chosen, own) in enumerate(zip(job.sources, own_text))
    ]

    def prepare_sources(wanted: list) -> list[PreparedText]:
        stored = [handle for handle in wanted if not isinstance(handle, tuple)]
        texts = dict(zip(stored, prepared_sources([job.source_blobs[i] for i in stored], params)))
        return [queries[handle[1]] if isinstance(handle, tuple) else texts[handle] for handle in wanted]

    # All articles together: the edge extensions of all their pairs are computed together.
    # Pairs are remembered by their texts compressed (equal blobs are equal texts): a pair
    # aligned before is answered without its source prepared.
    blobs = job.texts if job.compressed else job.text_blobs
    contents = None
    if blobs is not None:
        digests = [content_key(blob) for blob in blobs]
        source_digests: dict[int, bytes] = {}

        def source_digest(handle) -> bytes:
            if isinstance(handle, tuple):
                return digests[handle[1]]
            found = source_digests.get(handle)
            if found is None:
                found = source_digests[handle] = content_key(job.source_blobs[handle])
            return found

        contents = (digests, source_digest)
    _pair_alignments.journal = new_pairs
    try:
        found = align_many(
            queries, handles, params, within=job.within, pairs=_pair_alignments, prepare=prepare_sources,
            contents=contents,
        )
    finally:
        _pair_alignments.journal = None
    return [
        [(r.start, r.end, r.source, r.source_start, r.source_end, r.similarity) for r in repeats] for repeats in found
    ]
