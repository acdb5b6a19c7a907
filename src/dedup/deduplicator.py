"""The streaming :class:`Deduplicator`: passages that repeat earlier articles, removed word-precisely.

Across articles the work is split in two, as in seed-and-extend aligners:

1. **Candidates.** Every remembered article leaves its fingerprints (winnowed shingle
   hashes of its whole text, passages it repeats included: :func:`dedup.shingle.winnow`,
   :mod:`dedup.store`) in a store. Each shingle of a new article is
   looked up; the earlier articles that share at least ``min_seeds`` fingerprints with
   it are candidates, the ``max_sources`` sharing most (then the earliest) are kept.
   Winnowing guarantees that a shared run of ``window + ngram - 1`` words leaves a
   shared fingerprint: short passages and passages glued into a paragraph are found.
2. **Alignment.** The engine of :mod:`dedup.align` aligns the new article against
   those candidates (and, with ``scope="both"``, against its own earlier part), and the
   aligned, verified spans are removed.

What is kept per article (in memory or, with ``store=path``, in SQLite) is described in
:mod:`dedup.store`.
"""

from __future__ import annotations

import itertools
import numbers
import os
import unicodedata
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ._validate import check_choice, check_fraction, check_int, check_text, check_texts
from .across import (
    AlignmentJob, PassCompression, align_articles, content_key, keep_prepared, look_up, merged_jobs, pick_candidates,
    prepare_batch, prepared_sources,
)
from .align.engine import PairAlignments
from .align.params import DEFAULT_MAX_GAP, DEFAULT_MIN_LENGTH, DEFAULT_NGRAM, DEFAULT_THRESHOLD, RepeatParams
from .align.prepared import PreparedText, prepare
from .align.spans import remove_spans
from .arrays import sorted_distinct
from .text import DEFAULT_MODE
from .atomic import atomic_create, write_error, writes_in_place
from .documents import id_key
from .interpreter import fewer_collections
from .spans import Match  # the one span type, here and in the report
from .locking import InUseError, take_lock
from .store import FIXED_PARAMS, MemoryStore, SQLiteStore, Store, read_meta, settle_log
from .workers import BARRIER, OrderedPool

__all__ = ["ArticleMatch", "Deduplicator", "Match"]

DEFAULT_WINDOW = 6
DEFAULT_MAX_SOURCES = 8
DEFAULT_MAX_HOLDERS = 4
DEFAULT_MIN_SEEDS = 2

_ARTICLES_PER_PASS = 512  # articles prepared and looked up together (stages 1 and 2)
# ... or fewer, when they hold this many characters: a pass of long documents (books,
# digests) stays bounded in memory, and is not one job for one worker.
_CHARS_PER_PASS = 1 << 21
# A pass's articles are aligned together (stage 3), as one job: their edge extensions
# share vectorised calls (dedup.align.align_many), which pay off from a few hundred edges
# on; in workers, in the worker that prepared the pass (which kept its prepared texts:
# dedup.across.keep_prepared). Worker jobs of 64 articles made the extension rounds small
# (a third of them went edge by edge): whole passes ran the worst stream with 2 workers
# 21% faster, recurring articles 10%. Two passes in flight per worker keep the workers
# busy while this process looks up the next (one: recurring articles 20% slower). The
# price: a run reading a slow pipe holds back the results of the passes in flight until
# more input comes (see docs/corpus.md).
_ALIGNMENTS_AHEAD = 2
# The alignment jobs of consecutive passes (in workers, of one worker) are merged until
# they hold this many candidate pairs, or this many passes: a round of alignment costs
# about 200 us a pair when it has 20 pairs and 65 us with a thousand, and fresh news has a
# hundred or two a pass (the dev corpora's alignment took 2.4x less time in one job than
# per pass). The passes' results come out together, after the last of them.
_PAIRS_PER_ALIGNMENT = 1024
_PASSES_PER_ALIGNMENT = 4
# In workers, this many consecutive passes go to one worker (stage 1, then stage 3 on the
# texts it kept), so that their alignments merge, and each worker has as many passes of
# stage 1 in flight. Passes taking turns one by one, one in flight a worker, left the
# workers waiting for this process between passes, and aligned each pass alone: on the
# dev corpora with 2 workers, two passes a worker ran 1.15x as fast (0.34 s against 0.39 s
# for 3,663 articles), near-copies (near30, dedup clean -j 2) 1.1x, recurring articles
# 1.06x, the worst stream as fast.
_PASSES_PER_WORKER = 2


@dataclass
class _PrepareJob:
    """Stage 1 for a pass: keys and compressed texts, and the texts prepared (here: handed
    back; in a worker: kept there for the pass's alignment, which ``route`` sends to the
    same worker)."""

    texts: list[str]
    params: RepeatParams
    window: int
    in_worker: bool
    route: int | None = None  # the worker to run on


@dataclass
class _AlignJob:
    """Stage 3 for a pass (its articles with candidates); ``queries``: their prepared texts, when aligned here
    (in a worker, ``None``: the worker hands back the pairs it aligned, with the results)."""

    job: AlignmentJob
    queries: list[PreparedText] | None
    route: int | None = None  # the worker to run on: the one that prepared the pass


def _pass_size(texts: list[str]) -> tuple[int, int]:
    """(articles, characters) of the next pass, from ``texts`` that fill one: up to
    ``_ARTICLES_PER_PASS`` articles, and no more once they hold ``_CHARS_PER_PASS``
    characters (at least one)."""
    chars = count = 0
    for count, text in enumerate(texts[:_ARTICLES_PER_PASS], 1):
        chars += len(text)
        if chars >= _CHARS_PER_PASS:
            break
    return count, chars


def _route_of(job: _PrepareJob | _AlignJob) -> int | None:
    return getattr(job, "route", None)


# In one process, the prepared texts of the last passes looked up stay findable as
# sources (dedup.across.keep_prepared): near-copies of recent articles are not tokenized
# again. The passes whose alignment is merged are kept (their aligned articles hold their
# token arrays until then anyway), and the one before them: with two kept, sources in the
# first passes of a merged job were tokenized again (five: near30 1.06x, worst3000 1.05x,
# recur4 1.03x faster than two).
_KEPT_PASSES_IN_ONE_PROCESS = _PASSES_PER_ALIGNMENT + 1

# Passes stage 1 may run ahead of stage 2 in one process. The thread shares the
# interpreter lock with the stages after it, so it gets on mostly while they are in NumPy
# or zlib; with three passes ahead, stage 2 still waited for it for 6% of a run of whole
# copies (recur4); with six, 1.05x faster there and on near30. A pass holds its texts
# prepared: some 13 MB for 512 articles of 320 words (dpg-nl, bbc-en).
_STAGE_ONE_AHEAD = 6


def _run_job(job: _PrepareJob | _AlignJob):
    """A stage's work, in a worker process or in this one."""
    if isinstance(job, _AlignJob):
        if job.queries is not None:
            return align_articles(job.job, job.queries)
        aligned: dict = {}
        return align_articles(job.job, None, aligned), aligned
    with PassCompression(job.texts) as compressing:
        # Texts met recently have their blobs at once (and may be prepared already); the
        # others are compressed in a thread while the batch is prepared.
        prepared, keys = prepare_batch(job.texts, job.params, job.window, compressing.known)
    compressed = compressing.blobs
    if job.in_worker:  # prepared texts cost more to send than to keep for this worker's stage 3
        keep_prepared(compressed, prepared, job.params)
        prepared = None
    return prepared, keys, compressed


def _gathered_jobs(events: Iterator[tuple[str, Any, Any]]) -> Iterator[tuple[str, Any, Any]]:
    """``events`` of stage 2 (:meth:`Deduplicator._look_up_and_remember`) with the
    alignment jobs of consecutive passes merged (:func:`dedup.across.merged_jobs`) until
    they hold ``_PAIRS_PER_ALIGNMENT`` candidate pairs or ``_PASSES_PER_ALIGNMENT``
    passes, or the next goes to another worker (``route``); the events between them come
    after the merged job, in order (a batch's matches are complete once the job of its
    last pass is done). A barrier, or the end, lets the jobs gathered so far go first."""
    gathered: list[tuple[_AlignJob, tuple]] = []
    held: list[tuple[str, Any, Any]] = []
    pairs = 0

    def merged() -> Iterator[tuple[str, Any, Any]]:
        nonlocal pairs
        if gathered:
            jobs = [job for job, _ in gathered]
            queries = None if jobs[0].queries is None else [query for job in jobs for query in job.queries or ()]
            context = tuple([item for _, part in gathered for item in part[field]] for field in range(3))
            yield "chunk", _AlignJob(merged_jobs([job.job for job in jobs]), queries, jobs[0].route), context
        yield from held
        gathered.clear()
        held.clear()
        pairs = 0

    for kind, payload, context in events:
        if kind == "chunk" and gathered and gathered[0][0].route != payload.route:
            yield from merged()
        if kind == "chunk":
            gathered.append((payload, context))
            pairs += sum(map(len, payload.job.sources))
            if pairs >= _PAIRS_PER_ALIGNMENT or len(gathered) >= _PASSES_PER_ALIGNMENT:
                yield from merged()
        elif gathered and kind != BARRIER:
            held.append((kind, payload, context))
        else:
            yield from merged()
            yield kind, payload, context
    yield from merged()


@dataclass(frozen=True)
class ArticleMatch:
    """The earlier article a whole article near-duplicates (see :meth:`Deduplicator.is_duplicate`)."""

    source_id: Any
    similarity: float


class Deduplicator:
    """Removes passages that repeat earlier articles (and, by default, the article itself).

    Feed articles in order with :meth:`clean` (or :meth:`add`, :meth:`clean_many`,
    :meth:`add_many`). A passage of an article is removed when it repeats a passage of
    an earlier article, or an earlier passage of the same article, as
    :func:`dedup.find_repeats` finds them: at least ``min_length`` words matched exactly,
    at least ``threshold`` of the passage's word ``ngram`` shingles found in the source
    (containment: :class:`dedup.Match`'s ``similarity``), edges carried through small
    edits. The earliest copy is kept. See ``docs/corpus.md``.

    Parameters
    ----------
    threshold, min_length, ngram, max_gap, mode
        As for :func:`dedup.find_repeats` (defaults 0.7, 20, 5, 40, "auto"), the same
        inside an article and across articles.
    scope : {"both", "across", "within"}, default "both"
        ``"across"``: passages seen in earlier articles; ``"within"``: repeats inside the
        article (as ``dedup.clean``); ``"both"``: both.
    window : int >= 1, default 6
        Winnowing window: a shared run of ``window + ngram - 1`` words (10 by default) is
        always seen. Smaller finds shorter or more edited passages, at more memory.
    max_sources : int >= 1, default 8
        Earlier articles an article is aligned against at most (those sharing most
        fingerprints, then the earliest).
    max_holders : int >= 1, default 4
        Articles remembered per fingerprint at most (the earliest): boilerplate in a
        million articles is looked up in its first few.
    min_seeds : int >= 1, default 2
        Fingerprints an earlier article must share to be aligned against.
    store : str or path, optional
        A SQLite file to keep remembered articles in (created if missing, reopened and
        extended if present: its ``ngram``, ``mode``, ``window`` and ``max_holders``
        must be the ones given; the other parameters may differ, as in :meth:`load`),
        for streams larger than memory. Default: memory. The
        index of its fingerprints lives beside it, in the folder ``PATH-index`` (rebuilt
        from the file when missing or stale: copying the file alone is enough). One
        Deduplicator at a time writes a store: while one has it open (until ``close``),
        another raises ``dedup.locking.InUseError`` naming the holder's process.
    workers : int >= 1, default 1
        Processes that prepare and align articles (the costly stages; see
        :mod:`dedup.across`). Any number gives the same result as one. With more than
        one, call :meth:`close` (or use ``with``) to stop them when done. With one, a
        stream of several passes is prepared in a thread beside the caller's (stopped by
        :meth:`close` too), and by the caller's thread while it would wait for it.

    Examples
    --------
    >>> d = Deduplicator(scope="across")
    >>> wire = ("The central bank kept its main interest rate unchanged on Thursday, citing slowing "
    ...         "inflation and a weaker labour market, and said it would keep watching prices closely.")
    >>> d.clean("Markets rose in early trading.\\n\\n" + wire, doc_id="a1") == "Markets rose in early trading.\\n\\n" + wire
    True
    >>> d.clean("Analysts had expected the decision. " + wire + " Shares fell.", doc_id="b7")
    'Analysts had expected the decision. Shares fell.'
    >>> [(m.kind, m.source_id, m.similarity) for m in d.find("Also: " + wire)]
    [('across', 'a1', 1.0)]
    """

    def __init__(
        self,
        threshold: float = DEFAULT_THRESHOLD,
        *,
        scope: str = "both",
        min_length: int = DEFAULT_MIN_LENGTH,
        ngram: int = DEFAULT_NGRAM,
        max_gap: int = DEFAULT_MAX_GAP,
        mode: str = DEFAULT_MODE,
        window: int = DEFAULT_WINDOW,
        max_sources: int = DEFAULT_MAX_SOURCES,
        max_holders: int = DEFAULT_MAX_HOLDERS,
        min_seeds: int = DEFAULT_MIN_SEEDS,
        store: str | os.PathLike | None = None,
        workers: int = 1,
    ) -> None:
        self.scope = check_choice("scope", scope, ("both", "across", "within"))
        self._repeat_params = RepeatParams(
            check_fraction("threshold", threshold, closed_high=True), min_length, ngram, max_gap, mode
        )
        self.window = check_int("window", window, 1)
        self.max_sources = check_int("max_sources", max_sources, 1)
        self.max_holders = check_int("max_holders", max_holders, 1)
        self.min_seeds = check_int("min_seeds", min_seeds, 1)
        self.workers = check_int("workers", workers, 1)  # before the store is opened (and locked)
        if store is None:
            self._store: Store = MemoryStore(self.max_holders)
        else:
            self._store = SQLiteStore(os.fspath(store), self.max_holders, self._meta())
        self._pool: OrderedPool | None = None  # made on first use
        self._stage_one: OrderedPool | None = None  # stage 1's thread in one process, made on first use
        self._stage_one_pid = 0
        self._pending_ids: set = set()  # ids of a stream being read, not remembered yet
        # With workers: the pairs they aligned, by content, sent with the jobs that meet them
        # again (each worker remembers only its own; an article that recurs whole in
        # another worker's pass would be aligned again there).
        self._aligned_pairs = PairAlignments()

    # parameters --------------------------------------------------------------------

    @property
    def threshold(self) -> float:
        return self._repeat_params.threshold

    @property
    def min_length(self) -> int:
        return self._repeat_params.min_length

    @property
    def ngram(self) -> int:
        return self._repeat_params.ngram

    @property
    def mode(self) -> str:
        return self._repeat_params.mode

    @property
    def params(self) -> dict:
        """The parameters, as stored with a saved state."""
        return {
            **asdict(self._repeat_params),
            "scope": self.scope,
            "window": self.window,
            "max_sources": self.max_sources,
            "max_holders": self.max_holders,
            "min_seeds": self.min_seeds,
        }

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"Deduplicator({args}; articles={len(self)})"

    def __len__(self) -> int:
        """Number of articles remembered."""
        return len(self._store)

    def remembers(self, doc_id: Any) -> bool:
        """Is an article with id ``doc_id`` remembered (ids are unique: it cannot be added again)?"""
        return self._store.has_id(doc_id)

    @property
    def fingerprints(self) -> int:
        """Number of fingerprints remembered."""
        return self._store.fingerprints

    @property
    def nbytes(self) -> int:
        """Approximate bytes of state held in memory (fingerprints and compressed texts)."""
        return self._store.nbytes

    # finding -------------------------------------------------------------------------

    def find(self, text: str, doc_id: Any = None, *, remember: bool = False) -> list[Match]:
        """Passages of ``text`` that repeat earlier articles or the article itself.

        Parameters
        ----------
        text : str
        doc_id : int or str, optional
            Id reported for this article in later matches (default: its number in the
            order articles were remembered). Used only when ``remember`` is true, and as
            ``source_id`` of ``"within"`` matches.
        remember : bool, default False
            Also remember this article, as :meth:`add` does.

        Returns
        -------
        list of Match, by position.
        """
        text = check_text("text", text)
        return self.find_many([text], None if doc_id is None else [doc_id], remember=remember)[0]

    def find_many(
        self, texts: Sequence[str], ids: Sequence[Any] | None = None, *, remember: bool = False
    ) -> list[list[Match]]:
        """:meth:`find` for a batch; with ``remember``, each article also sees the ones before it."""
        # One pass has nothing to overlap its stage 1 with (see _stream).
        several_passes = len(texts) > _ARTICLES_PER_PASS
        with fewer_collections():  # the call makes many short-lived objects
            return [found for _, found in self._stream([(texts, ids, None)], remember, several_passes)][0]

    def find_stream(
        self, batches: Iterable[tuple[Sequence[str], Sequence[Any] | None, Any]], *, remember: bool = True
    ) -> Iterator[tuple[Any, list[list[Match]]]]:
        """:meth:`find_many` over a stream of batches: yields ``(context, matches)`` per
        ``(texts, ids, context)`` batch, in order, with the matches of each text
        (``ids`` may be None: articles are then numbered).

        Batches of any size are regrouped into passes of a few hundred articles (one
        look-up in the store each). With ``workers`` > 1, preparing and aligning run in
        the worker processes while this one looks up and remembers, in order; a few
        passes are in flight at most, so memory stays bounded on any stream. The result
        is the same as :meth:`find_many` batch after batch, with any number of workers.

        A batch whose ``texts`` is ``None`` is a barrier: it is yielded as ``(context,
        None)`` once every article before it is remembered and handed back, and before
        any article after it is looked up. The state is then exactly that of the articles
        before it (a caller can :meth:`save` it as a checkpoint).
        """
        return self._stream(batches, remember, True)

    def _stream(self, batches, remember: bool, stage_one_ahead: bool) -> Iterator[tuple[Any, list[list[Match]]]]:
        """:meth:`find_stream`; ``stage_one_ahead``: in one process, stage 1 runs in a thread
        (worth it from two passes on: handing a pass to a thread costs about 0.2 ms)."""
        pool = self._alignment_pool()
        in_workers = pool.jobs > 1
        # In one process, stage 1 can run in a thread, a few passes ahead: its sorts and
        # passes over arrays (NumPy) and its compression (zlib) let go of the interpreter
        # lock, so stages 2 and 3 of the passes before run on meanwhile.
        stage_one = self._stage_one_pool() if stage_one_ahead and not in_workers else pool
        ahead = _PASSES_PER_WORKER if in_workers else _STAGE_ONE_AHEAD
        prepared = stage_one.run(self._passes(batches, remember, in_workers), ahead=ahead)
        try:
            # Alignment jobs come from passes already read: a few per worker in flight
            # keep the workers busy while this process looks up the next pass.
            jobs = self._look_up_and_remember(prepared, remember, in_workers)
            aligned = pool.run(_gathered_jobs(jobs), ahead=_ALIGNMENTS_AHEAD)
            for kind, payload, context in aligned:
                if kind == "chunk":
                    if in_workers:  # the results, and the pairs the worker aligned
                        payload, worker_pairs = payload
                        for key, spans in worker_pairs.items():
                            self._aligned_pairs.remember_by(key, spans)
                    self._collect(payload, context)
                else:  # a batch (its matches) or a barrier (None)
                    yield payload, context
        except BaseException:
            # Failed or abandoned midway: the workers' jobs are of no use any more, and
            # the ids read but not remembered are free again.
            self._pool = self._stage_one = None
            self._pending_ids.clear()
            pool.close(ok=False)
            stage_one.close(ok=False)
            raise
        finally:
            prepared.close()

    def _passes(self, batches, remember: bool, in_workers: bool) -> Iterator[tuple[str, Any, Any]]:
        """The stream regrouped into passes (kind "chunk": the texts to prepare, stage 1 of
        :mod:`dedup.across`; context: where each article's matches go, and its id), with
        each input batch after the pass that completes it (kind "batch")."""
        texts: list[str] = []
        where: list[tuple] = []
        passes = itertools.count()

        def prepare_job(part: list[str], part_where: list[tuple]) -> tuple[str, _PrepareJob, tuple]:
            # In workers the passes take turns, a few at a time; a pass's alignment follows
            # it (``route``).
            route = next(passes) // _PASSES_PER_WORKER % self.workers if in_workers else None
            job = _PrepareJob(part, self._repeat_params, self.window, in_workers, route)
            return "chunk", job, (part, part_where, route)

        waiting: deque = deque()  # batches not handed back yet: (context, found, articles up to its end)
        received = handed = 0  # articles received, and handed out in passes
        pending_chars = 0  # characters of ``texts``
        pending_ids = self._pending_ids
        for batch_texts, ids, context in batches:
            if batch_texts is None:  # a barrier: the pass ends here
                if texts:
                    yield prepare_job(texts, where)
                    handed += len(texts)
                    texts, where, pending_chars = [], [], 0
                while waiting:
                    done_context, found, _ = waiting.popleft()
                    yield "batch", done_context, found
                yield BARRIER, context, None
                continue
            batch_texts = check_texts(batch_texts)
            ids = self._check_ids(ids, len(batch_texts))
            if remember and ids is not None:
                self._check_new_ids(ids, pending_ids)
                pending_ids.update(id_key(doc_id) for doc_id in ids)
            found: list[list[Match]] = [[] for _ in batch_texts]
            texts += batch_texts
            pending_chars += sum(map(len, batch_texts))
            where += [(found, k, None if ids is None else ids[k]) for k in range(len(batch_texts))]
            received += len(batch_texts)
            waiting.append((context, found, received))
            while len(texts) >= _ARTICLES_PER_PASS or pending_chars >= _CHARS_PER_PASS:
                size, chars = _pass_size(texts)
                part, texts = texts[:size], texts[size:]
                pending_chars -= chars
                yield prepare_job(part, where[: len(part)])
                where = where[len(part) :]
                handed += len(part)
            while waiting and waiting[0][2] <= handed:
                context, found, _ = waiting.popleft()
                yield "batch", context, found
        if texts:
            yield prepare_job(texts, where)
        for context, found, _ in waiting:
            yield "batch", context, found

    def _look_up_and_remember(
        self, prepared_passes: Iterator[tuple[str, Any, Any]], remember: bool, in_workers: bool
    ) -> Iterator[tuple[str, Any, Any]]:
        """Stage 2 of :mod:`dedup.across`, in order: per prepared pass, the alignment jobs
        (kind "chunk": payload the job, context where its results go); batches pass through."""
        within = self.scope != "across"
        for kind, payload, context in prepared_passes:
            if kind != "chunk":
                yield kind, payload, context
                continue
            (prepared, keys, compressed), (texts, where, route) = payload, context
            first = len(self._store)
            ids = [doc_id for _, _, doc_id in where]
            if any(doc_id is None for doc_id in ids):
                numbered = [first + k if remember else first for k in range(len(ids))]
                ids = [numbered[k] if doc_id is None else doc_id for k, doc_id in enumerate(ids)]
                if remember:
                    self._check_new_ids([n for n, (_, _, given) in zip(numbered, where) if given is None])
            candidates: list[list[int]] = [[] for _ in texts]
            if self.scope != "within" or remember:
                article, holder, remembered = look_up(self._store, keys, in_batch=remember)
                if self.scope != "within":
                    candidates = pick_candidates(
                        article, holder, len(texts), min_seeds=self.min_seeds, max_sources=self.max_sources
                    )
            # Only articles with candidates, or with a repeated shingle, can hold a repeat.
            repeated = (keys.key_counts < keys.shingle_counts).tolist() if within else [False] * len(texts)
            aligned = [k for k in range(len(texts)) if candidates[k] or repeated[k]]
            if not in_workers:  # the pass's texts, sources of the next passes too
                keep_prepared(compressed, prepared, self._repeat_params, passes=_KEPT_PASSES_IN_ONE_PROCESS)
            if aligned:
                job, source_ids = self._job(aligned, candidates, texts, ids, compressed, first, in_workers)
                queries = None if in_workers else [prepared[k] for k in aligned]
                context = ([where[k][:2] for k in aligned], [ids[k] for k in aligned], source_ids)
                yield "chunk", _AlignJob(job, queries, route), context
            if remember:
                self._store.add_many(ids, texts, remembered, compressed)
                self._pending_ids.difference_update(id_key(doc_id) for doc_id in ids)

    def _job(
        self,
        members: list[int],
        candidates: list[list[int]],
        texts: list[str],
        ids: list,
        compressed: list[bytes],
        first: int,
        in_workers: bool,
    ) -> tuple[AlignmentJob, list[list[Any]]]:
        """The alignment job of articles ``members`` of a pass (``texts``), with their
        candidates' texts as the store keeps them (each once; from the pass for articles
        not stored yet), and the ids of each article's candidates. For a worker, the
        articles' texts go compressed too: it prepared them in stage 1 and kept them."""
        chosen = [candidates[k] for k in members]
        numbers = sorted({n for sources in chosen for n in sources})
        position = {n: i for i, n in enumerate(numbers)}
        stored = [n for n in numbers if n < first]  # the others are the pass's own
        blobs = self._store.compressed_texts(stored) + [compressed[n - first] for n in numbers[len(stored) :]]
        member_blobs = [compressed[k] for k in members]
        sources_of = [[position[n] for n in sources] for sources in chosen]
        job = AlignmentJob(
            member_blobs if in_workers else [texts[k] for k in members], sources_of, blobs,
            self._repeat_params, self.scope != "across", compressed=in_workers,
            text_blobs=None if in_workers else member_blobs,
            known_pairs=self._known_pairs(member_blobs, sources_of, blobs) if in_workers else None,
        )
        source_ids = dict(zip(stored, self._store.doc_ids(stored)))
        source_ids.update((n, ids[n - first]) for n in numbers[len(stored) :])
        return job, [[source_ids[n] for n in sources] for sources in chosen]

    def _known_pairs(self, texts: list[bytes], sources_of: list[list[int]], blobs: list[bytes]) -> dict | None:
        """The pairs of a job (``texts[k]`` against ``blobs[i]`` for ``i`` in ``sources_of[k]``,
        all compressed) that the workers aligned before, by their keys."""
        if not len(self._aligned_pairs):
            return None
        params = self._repeat_params
        text_keys = [content_key(blob) for blob in texts]
        source_keys = [content_key(blob) for blob in blobs]
        known = {}
        for text_key, chosen in zip(text_keys, sources_of):
            for i in chosen:
                key = PairAlignments.key_of_contents(text_key, source_keys[i], params)
                spans = self._aligned_pairs.known_by(key)
                if spans is not None:
                    known[key] = spans
        return known or None

    def _collect(self, results: list[list[tuple]], context) -> None:
        targets, ids, source_ids = context
        for (found, position), doc_id, sources, repeats in zip(targets, ids, source_ids, results):
            matches = found[position]
            for start, end, source, source_start, source_end, similarity in repeats:
                if source is None:
                    matches.append(Match(start, end, "within", doc_id, source_start, source_end, similarity))
                else:
                    matches.append(Match(start, end, "across", sources[source], source_start, source_end, similarity))

    def _alignment_pool(self) -> OrderedPool:
        if self._pool is None:
            self._pool = OrderedPool(_run_job, self.workers, route=_route_of)
        return self._pool

    def _stage_one_pool(self) -> OrderedPool:
        # Made again in a forked child: the parent's thread is not there.
        if self._stage_one is None or self._stage_one_pid != os.getpid():
            self._stage_one, self._stage_one_pid = OrderedPool(_run_job, 1, in_thread=True), os.getpid()
        return self._stage_one

    # remembering and cleaning ----------------------------------------------------------

    def add(self, text: str, doc_id: Any = None) -> list[Match]:
        """Remember an article; returns what :meth:`find` would have reported for it."""
        return self.find(text, doc_id, remember=True)

    def add_many(self, texts: Sequence[str], ids: Sequence[Any] | None = None) -> list[list[Match]]:
        """:meth:`add` for a batch, in order."""
        return self.find_many(texts, ids, remember=True)

    def clean(self, text: str, doc_id: Any = None, *, remember: bool = True) -> str:
        """``text`` without the passages :meth:`find` reports; remembers the article.

        Only deletes: the result is ``text`` with some character ranges removed (and the
        whitespace the removal left behind tidied). Text with no matches comes back as is.
        """
        text = check_text("text", text)
        return self.clean_many([text], None if doc_id is None else [doc_id], remember=remember)[0]

    def clean_many(self, texts: Sequence[str], ids: Sequence[Any] | None = None, *, remember: bool = True) -> list[str]:
        """:meth:`clean` for a batch, in order."""
        texts = check_texts(texts)
        with fewer_collections():
            found = self.find_many(texts, ids, remember=remember)
            return [remove_spans(text, [(m.start, m.end) for m in matches]) for text, matches in zip(texts, found)]

    def is_duplicate(self, text: str, threshold: float = 0.8) -> ArticleMatch | None:
        """The earlier article that ``text`` as a whole near-duplicates, or None.

        Compares the word-shingle set of ``text`` exactly with those of the candidate
        earlier articles (Jaccard similarity at least ``threshold``); does not remember
        ``text``.
        """
        text = check_text("text", text)
        threshold = check_fraction("threshold", threshold, closed_high=True)
        (query,) = prepare([text], self.ngram, self.mode)
        if not len(query.shingles) or not len(self):
            return None
        mine = sorted_distinct(query.shingles)
        index, holders = self._store.holders(mine)
        best: ArticleMatch | None = None
        (candidates,) = pick_candidates(
            np.zeros(len(index), dtype=np.int64), holders, 1, min_seeds=self.min_seeds, max_sources=self.max_sources
        )
        for article in candidates:
            (source,) = prepared_sources([self._store.compressed_text(article)], self._repeat_params)
            theirs = sorted_distinct(source.shingles)
            shared = len(np.intersect1d(mine, theirs, assume_unique=True))
            similarity = shared / (len(mine) + len(theirs) - shared)  # Jaccard: shared over the union
            if similarity >= threshold and (best is None or similarity > best.similarity):
                best = ArticleMatch(self._store.doc_id(article), float(similarity))
        return best

    def _check_new_ids(self, ids, pending: set = frozenset()) -> None:
        """Ids are unique: one used before (remembered, ``pending`` to be, or twice in
        ``ids``) is an error, before anything is remembered."""
        seen: set = set()
        remembered = self._store.known_ids(ids)
        for position, doc_id in enumerate(ids):
            key = id_key(doc_id)
            if key in seen or key in pending or remembered[position]:
                where = "by an article remembered before" if remembered[position] else "earlier in this batch"
                raise ValueError(f"document id {doc_id!r} (ids[{position}]) was used before, {where}: ids must be unique")
            seen.add(key)

    def _check_ids(self, ids, count: int):
        if ids is None:
            return None
        if isinstance(ids, (str, bytes)):
            raise TypeError("ids must be a sequence of int or str, one per text, got a single string")
        ids = list(ids)
        if len(ids) != count:
            raise ValueError(f"ids has {len(ids)} items but there are {count} texts")
        for i, doc_id in enumerate(ids):
            if not (isinstance(doc_id, str) or (isinstance(doc_id, numbers.Integral) and not isinstance(doc_id, bool))):
                raise TypeError(f"ids[{i}] must be int or str (so the state can be saved), got {type(doc_id).__name__}")
        return ids

    # persistence ----------------------------------------------------------------------

    def _meta(self) -> dict:
        return {"params": self.params, "unicode": unicodedata.unidata_version}

    def save(self, path: str | os.PathLike) -> None:
        """Save the state to one file (a SQLite database), atomically.

        Written to a recognisable temporary file in the same directory, then renamed over
        ``path`` with the mode of the file it replaces: a crash mid-save leaves the
        previous file as it was (and the next save removes the temporary). A
        Deduplicator opened with ``store=`` keeps its state on disk already; ``save``
        then writes a copy. Raises ``OSError`` naming ``path`` when it cannot be written,
        and :class:`dedup.locking.InUseError` when ``path`` is a store or state in use (an
        open ``store=``, a ``dedup clean --state`` run, another save under way): replacing
        a database under its connection would corrupt it (a log that a killed store left
        beside ``path`` is folded into the old file first, so it never applies to the new
        one). ``ValueError`` during a run of the store (:meth:`begin_run`): its articles
        are not decided yet.
        """
        if isinstance(self._store, SQLiteStore) and self._store.in_run:
            raise ValueError("save() during a run of the store: end it or roll it back first (see begin_run)")
        store = self._store if isinstance(self._store, MemoryStore) else self._copy_to_memory()
        meta = self._meta()

        def write(temporary: str) -> None:
            store.write(temporary, meta)  # SQLite syncs on commit

        if writes_in_place(path):  # a device, a FIFO, a descriptor: no store lives there
            atomic_create(path, write)
            return
        # The entry the rename replaces: a link named by ``path`` is replaced itself (its
        # target is left as it is), a file reached through linked folders is that file.
        replaced = os.path.join(os.path.realpath(os.path.dirname(os.path.abspath(path))), os.path.basename(path))
        try:
            lock = take_lock(replaced)
        except InUseError:
            raise
        except OSError as error:  # a missing or read-only folder: said about ``path``
            raise write_error(error, os.fspath(path)) from error
        with lock:
            settle_log(os.fspath(path))  # a killed store's log must not apply to the new file
            atomic_create(path, write)

    def _copy_to_memory(self) -> MemoryStore:
        return MemoryStore.read(self._store.path, self.max_holders)

    # runs of an on-disk store ------------------------------------------------------------

    def begin_run(self, decided_by: str | os.PathLike, token: str) -> None:
        """Make the articles remembered from now on one run of the on-disk ``store``, kept
        by :meth:`end_run` and removed by :meth:`roll_back_run`: so a job that writes
        outputs of its own keeps the store in step with them (``dedup clean --store``
        commits its outputs and the run together). When the process ends with the run
        open, the next opening of the store removes its articles unless the file
        ``decided_by`` exists by then and holds ``token``, a string of this run alone
        (the job's commit journal: its commit was decided, and completing it ends the run
        with :func:`dedup.store.end_store_run`). Runs do not nest. Call it between streams
        (no ``find_stream`` under way). ``ValueError`` without a store, or when a run is
        open already.

        >>> import os, tempfile
        >>> folder = tempfile.mkdtemp()
        >>> d = Deduplicator(scope="across", store=os.path.join(folder, "memory.db"))
        >>> text = " ".join(f"word{i}" for i in range(60))
        >>> d.add(text, doc_id="kept")
        []
        >>> d.begin_run(os.path.join(folder, "commit-journal"), token="run-1")
        >>> d.add("Something new. " + text, doc_id="dropped")[0].source_id
        'kept'
        >>> d.roll_back_run()
        >>> len(d), d.remembers("dropped")
        (1, False)
        >>> d.close()
        """
        self._store_of("begin_run").begin_run(os.fspath(decided_by), token)

    def checkpoint_run(self, decided_by: str | os.PathLike, token: str) -> None:
        """Make the articles of the open run so far durable and, once the file
        ``decided_by`` holds ``token`` (a checkpoint of the job, written after this call),
        the point the run goes back to instead of its start: by :meth:`roll_back_run`, and
        when its process ends with the run open (the run then stays open, for
        :meth:`resume_run`). Call it between streams. ``ValueError`` without an open run."""
        self._store_of("checkpoint_run").checkpoint_run(os.fspath(decided_by), token)

    def resume_run(self, token: str) -> int:
        """Go on with the run begun with ``token`` whose process ended after a
        :meth:`checkpoint_run` (opening the store took it back to that checkpoint).
        Returns the articles remembered. ``ValueError`` when the store has no such run."""
        return self._store_of("resume_run").resume_run(token)

    def end_run(self) -> None:
        """Keep the articles of the run :meth:`begin_run` began (nothing when none is open)."""
        self._store_of("end_run").end_run()

    def roll_back_run(self) -> None:
        """Forget the articles remembered since :meth:`begin_run` (or since its last
        :meth:`checkpoint_run` whose file holds its token: the run then stays open), and
        end the run (nothing when none is open). Call it between streams."""
        self._store_of("roll_back_run").roll_back_run()

    def _store_of(self, method: str) -> SQLiteStore:
        if not isinstance(self._store, SQLiteStore):
            raise ValueError(f"{method}() needs an on-disk store: Deduplicator(store=PATH)")
        return self._store

    @classmethod
    def load(cls, path: str | os.PathLike, **params: Any) -> "Deduplicator":
        """Reopen a state written by :meth:`save`, into memory.

        ``params`` given here replace stored ones that only affect matching
        (``threshold``, ``scope``, ``min_length``, ``max_gap``, ``max_sources``,
        ``min_seeds``); ``ngram``, ``window`` and ``max_holders`` fix what was stored and
        must agree (and ``mode``). ``workers`` is not stored: give it here (default 1). Raises ``ValueError`` naming the file when it is no state, a damaged
        one or one from a newer version.
        """
        path = os.fspath(path)
        meta = read_meta(path)
        stored = meta["params"]
        workers = params.pop("workers", 1)
        for name, value in params.items():
            if name not in stored:
                raise TypeError(f"Deduplicator.load() got an unexpected parameter {name!r}")
            if name in FIXED_PARAMS and value != stored[name]:
                raise ValueError(
                    f"{name}={value!r} differs from the {name}={stored[name]!r} the state in {path} was built with"
                )
        dedup = cls(**{**stored, **params}, workers=workers)
        dedup._store = MemoryStore.read(path, dedup.max_holders)
        return dedup

    def close(self) -> None:
        """Stop the worker processes (``workers``) or thread and close the on-disk store
        (``store=``): its lock and files are let go, and using it afterwards raises
        ``sqlite3.ProgrammingError``. Closing twice is harmless."""
        for pool in (self._pool, self._stage_one):
            if pool is not None:
                pool.close(ok=True)
        self._pool = self._stage_one = None
        self._store.close()

    def __enter__(self) -> "Deduplicator":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

