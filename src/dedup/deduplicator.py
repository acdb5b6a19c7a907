"""The streaming :class:`Deduplicator`: passages that repeat earlier articles, removed word-precisely.

Across articles the work is split in two, as in seed-and-extend aligners:

1. **Candidates.** Every remembered article leaves its fingerprints (winnowed shingle
   hashes, :func:`dedup.shingle.winnow`) in a store. Each shingle of a new article is
   looked up; the earlier articles that share at least ``min_seeds`` fingerprints with
   it are candidates, the ``max_sources`` sharing most (then the earliest) are kept.
   Winnowing guarantees that a shared run of ``window + ngram - 1`` words leaves a
   shared fingerprint: short passages and passages glued into a paragraph are found.
2. **Alignment.** The engine of :mod:`dedup.repeats` aligns the new article against
   those candidates (and, with ``scope="both"``, against its own earlier part), and the
   aligned, verified spans are removed.

What is kept per article (in memory or, with ``store=path``, in SQLite) is described in
:mod:`dedup.store`.
"""

from __future__ import annotations

import numbers
import os
import unicodedata
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ._validate import check_choice, check_fraction, check_int, check_text, check_texts
from .repeats import (
    DEFAULT_MAX_GAP,
    DEFAULT_MIN_LENGTH,
    DEFAULT_NGRAM,
    DEFAULT_THRESHOLD,
    PreparedText,
    RepeatParams,
    align,
    prepare,
    remove_spans,
)
from .shingle import winnow
from .text import DEFAULT_MODE
from .storage import atomic_create
from .store import MemoryStore, SQLiteStore, read_meta

__all__ = ["ArticleMatch", "Deduplicator", "Match"]

DEFAULT_WINDOW = 6
DEFAULT_MAX_SOURCES = 8
DEFAULT_MAX_HOLDERS = 4
DEFAULT_MIN_SEEDS = 2

_ARTICLES_PER_PASS = 512  # articles tokenized together by find_many
_CACHED_SOURCES = 256  # recently aligned-against articles kept prepared


@dataclass(frozen=True)
class Match:
    """A passage of an article that repeats earlier text.

    ``text[start:end]`` repeats ``source_start:source_end`` of article ``source_id``:
    an earlier article (``kind="across"``) or the same one (``kind="within"``).
    ``similarity`` is the Jaccard similarity of the word-shingle sets of the two passages.
    """

    start: int
    end: int
    kind: str
    source_id: Any
    source_start: int
    source_end: int
    similarity: float

    def to_dict(self) -> dict:
        return asdict(self)


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
    Jaccard similarity of word ``ngram`` sets at least ``threshold``, edges carried
    through small edits. The earliest copy is kept. See ``docs/corpus.md``.

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
        extended if present), for streams larger than memory. Default: memory.

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
    ) -> None:
        self.scope = check_choice("scope", scope, ("both", "across", "within"))
        self._repeat_params = RepeatParams(
            check_fraction("threshold", threshold, closed_high=True), min_length, ngram, max_gap, mode
        )
        self.window = check_int("window", window, 1)
        self.max_sources = check_int("max_sources", max_sources, 1)
        self.max_holders = check_int("max_holders", max_holders, 1)
        self.min_seeds = check_int("min_seeds", min_seeds, 1)
        if store is None:
            self._store: MemoryStore | SQLiteStore = MemoryStore(self.max_holders)
        else:
            self._store = SQLiteStore(os.fspath(store), self.max_holders, self._meta())
        self._prepared_sources: OrderedDict[int, PreparedText] = OrderedDict()

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
        texts = check_texts(texts)
        ids = self._check_ids(ids, len(texts))
        if remember:
            self._check_new_ids(ids if ids is not None else range(len(self), len(self) + len(texts)))
        out = []
        for lo in range(0, len(texts), _ARTICLES_PER_PASS):
            chunk = texts[lo : lo + _ARTICLES_PER_PASS]
            prepared = prepare(chunk, self.ngram, self.mode)
            for t, query in enumerate(prepared):
                doc_id = ids[lo + t] if ids is not None else len(self)
                out.append(self._process(query, doc_id, remember))
        return out

    def _process(self, query: PreparedText, doc_id: Any, remember: bool) -> list[Match]:
        keys = np.unique(query.shingles)
        key_index, key_holders = self._store.holders(keys) if len(self) else (np.zeros(0, np.int64),) * 2
        candidates = self._candidates(key_holders) if self.scope != "within" else []
        sources = [self._source(article) for article in candidates]
        repeats = align(query, sources, self._repeat_params, within=self.scope != "across")
        matches = []
        for r in repeats:
            if r.source is None:
                matches.append(Match(r.start, r.end, "within", doc_id, r.source_start, r.source_end, r.similarity))
            else:
                source_id = self._store.doc_id(candidates[r.source])
                matches.append(Match(r.start, r.end, "across", source_id, r.source_start, r.source_end, r.similarity))
        if remember:
            self._remember(query, doc_id, keys, np.bincount(key_index, minlength=len(keys)))
        return matches

    def _candidates(self, holders: np.ndarray) -> list[int]:
        """Earlier articles worth aligning against, in the order they were remembered, from
        the ``holders`` of the new article's distinct shingles (one entry per shared key)."""
        if not len(holders):
            return []
        found, shared = np.unique(holders, return_counts=True)
        keep = shared >= self.min_seeds
        found, shared = found[keep], shared[keep]
        if len(found) > self.max_sources:
            order = np.lexsort((found, -shared))[: self.max_sources]
            found = found[order]
        return sorted(found.tolist())

    def _source(self, article: int) -> PreparedText:
        cached = self._prepared_sources.get(article)
        if cached is None:
            (cached,) = prepare([self._store.text(article)], self.ngram, self.mode)
            self._prepared_sources[article] = cached
            if len(self._prepared_sources) > _CACHED_SOURCES:
                self._prepared_sources.popitem(last=False)
        else:
            self._prepared_sources.move_to_end(article)
        return cached

    def _remember(self, query: PreparedText, doc_id: Any, keys: np.ndarray, holders: np.ndarray) -> None:
        """Store the article with its fingerprints. Passages it repeats are fingerprinted
        too (the store keeps only the earliest ``max_holders`` holders of a key): a later
        article may take a passage from this one that mixes repeated and new words.

        ``keys`` are the article's distinct shingles and ``holders`` how many articles
        hold each already (looked up once for the candidates)."""
        positions, _ = winnow(query.shingles, np.array([0, len(query.shingles)]), self.window)
        fingerprints = np.unique(query.shingles[positions])
        at = np.searchsorted(keys, fingerprints)  # keys: the sorted distinct shingles
        self._store.add(doc_id, query.text, fingerprints, holders[at])

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
        mine = np.unique(query.shingles)
        _, holders = self._store.holders(mine)
        best: ArticleMatch | None = None
        for article in self._candidates(holders):
            theirs = np.unique(self._source(article).shingles)
            similarity = len(np.intersect1d(mine, theirs, assume_unique=True)) / len(np.union1d(mine, theirs))
            if similarity >= threshold and (best is None or similarity > best.similarity):
                best = ArticleMatch(self._store.doc_id(article), float(similarity))
        return best

    def _check_new_ids(self, ids) -> None:
        """Ids are unique: one used before (or twice in ``ids``) is an error, before anything is remembered."""
        seen: set = set()
        for position, doc_id in enumerate(ids):
            key = (str(doc_id), isinstance(doc_id, numbers.Integral))
            if key in seen or self._store.has_id(doc_id):
                where = "earlier in this batch" if key in seen else "by an article remembered before"
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
        then writes a copy. Raises ``OSError`` naming ``path`` when it cannot be written.
        """
        store = self._store if isinstance(self._store, MemoryStore) else self._copy_to_memory()
        meta = self._meta()
        atomic_create(path, lambda temporary: store.write(temporary, meta))  # SQLite syncs on commit

    def _copy_to_memory(self) -> MemoryStore:
        return MemoryStore.read(self._store.path, self.max_holders)

    @classmethod
    def load(cls, path: str | os.PathLike, **params: Any) -> "Deduplicator":
        """Reopen a state written by :meth:`save`, into memory.

        ``params`` given here replace stored ones that only affect matching
        (``threshold``, ``scope``, ``min_length``, ``max_gap``, ``max_sources``,
        ``min_seeds``); ``ngram``, ``window`` and ``max_holders`` fix what was stored and
        must agree (and ``mode``). Raises ``ValueError`` naming the file when it is no state, a damaged
        one or one from a newer version.
        """
        path = os.fspath(path)
        meta = read_meta(path)
        stored = meta["params"]
        for name, value in params.items():
            if name not in stored:
                raise TypeError(f"Deduplicator.load() got an unexpected parameter {name!r}")
            if name in ("ngram", "mode", "window", "max_holders") and value != stored[name]:
                raise ValueError(
                    f"{name}={value!r} differs from the {name}={stored[name]!r} the state in {path} was built with"
                )
        dedup = cls(**{**stored, **params})
        dedup._store = MemoryStore.read(path, dedup.max_holders)
        return dedup

    def close(self) -> None:
        """Close the on-disk store (``store=``); a no-op for a state in memory."""
        if isinstance(self._store, SQLiteStore):
            self._store.close()

    def __enter__(self) -> "Deduplicator":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

