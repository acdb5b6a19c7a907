"""The streaming :class:`Deduplicator`: passages of a new article that repeat earlier
articles (or the article itself) are found, reported and removed.

Fed one article at a time, it remembers the segments (paragraphs, sentence-bounded
windows of long flat paragraphs, and windows that ignore paragraph breaks) of the
articles it has seen, as signatures with the article id and character span, and finds,
reports or removes segments of a new article that near-duplicate a segment of an earlier
one, plus the article's own inner repeats (``dedup.repeats``). Its state is saved to one
file, atomically.

Segments are looked up in an :class:`dedup.lsh.LSHIndex` banded for recall
(``dedup.duplicates.RECALL_WEIGHTS``) and every candidate is verified against the
threshold.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ._validate import check_choice, check_fraction, check_int, check_text, check_texts
from .arrays import GrowableArray, decode_strings, encode_strings
from .duplicates import RECALL_WEIGHTS
from .lsh import LSHIndex, band_keys, optimal_params
from .minhash import EMPTY, MinHasher
from .repeats import RepeatParams, find_repeats_many, remove_spans
from .storage import atomic_save, load_state
from .text import DEFAULT_MODE, SENTENCE_END, mix64, paragraphs, tokenize

__all__ = ["ArticleMatch", "Deduplicator", "Match"]


# --------------------------------------------------------------------------- segments


# A sentence ends at . ! ? or … (possibly followed by closing quotes or brackets) before
# whitespace, or at the full-width 。！？ of scripts written without spaces.
_CUT_DIVISOR = 3  # a sentence is a content-defined cut point with probability 1/3


@dataclass(frozen=True)
class _Segments:
    """Segments of a batch of texts: token ranges into the batch's flat token array, and
    character spans into each text."""

    token_offsets: np.ndarray  # int64, len(segments) + 1, into the flat token array
    text_index: np.ndarray  # int64, the text each segment belongs to
    starts: np.ndarray  # int64, character offsets into that text
    ends: np.ndarray
    words: np.ndarray  # int64, tokens per segment
    token_ranges: np.ndarray  # int64 (segments, 2): [first, end) into the flat token array


def _segment(texts: Sequence[str], tokens, max_words: int, min_words: int, *, flat: bool = False) -> _Segments:
    """Paragraphs, with paragraphs longer than ``max_words`` split into sentence windows.

    With ``flat``, paragraph breaks are ignored (they only end sentences): the whole text
    is one unit cut into windows, so a copy whose paragraph breaks were lost, added or
    moved is cut exactly like the original.

    Long flat paragraphs (bodies exported without breaks) are cut at sentence ends chosen
    by content, as in content-defined chunking: after at least ``min_words`` words, a
    sentence ends a window when a hash of its first words is 0 modulo 3 (or the window
    would exceed ``max_words``). Cut points depend on the sentences themselves, not on
    their position, so a passage shared by two articles is cut the same way in both once
    past its first cut, whatever text precedes it.
    """
    seg_text, seg_start, seg_end, seg_token = [], [], [], []
    for t, text in enumerate(texts):
        lo, hi = int(tokens.offsets[t]), int(tokens.offsets[t + 1])
        starts, hashes = tokens.starts[lo:hi], tokens.hashes[lo:hi]
        units = paragraphs(text)
        breaks = np.zeros(0, dtype=np.int64)
        if flat and units:
            breaks = np.searchsorted(starts, [p for p, _ in units[1:]], side="left")
            units = [(units[0][0], units[-1][1])]
        for p_start, p_end in units:
            first = int(np.searchsorted(starts, p_start, side="left"))
            last = int(np.searchsorted(starts, p_end, side="left"))
            if last == first:
                continue  # no words (a separator line such as "***"): nothing to match
            if last - first <= max_words:
                cuts = [first, last]
            else:
                cuts = _window_cuts(text, p_start, p_end, starts, hashes, first, last, max_words, min_words, breaks)
            for k in range(len(cuts) - 1):
                a, b = cuts[k], cuts[k + 1]
                span_start = p_start if k == 0 else int(starts[a])
                span_end = p_end if k == len(cuts) - 2 else int(starts[b])
                while span_end > span_start and text[span_end - 1].isspace():
                    span_end -= 1
                seg_text.append(t)
                seg_start.append(span_start)
                seg_end.append(span_end)
                seg_token.append((lo + a, lo + b))
    count = len(seg_text)
    token_ranges = np.array(seg_token, dtype=np.int64).reshape(count, 2)
    offsets = np.r_[token_ranges[:, 0], token_ranges[-1, 1] if count else 0].astype(np.int64)
    return _Segments(
        token_offsets=offsets,
        text_index=np.array(seg_text, dtype=np.int64),
        starts=np.array(seg_start, dtype=np.int64),
        ends=np.array(seg_end, dtype=np.int64),
        words=token_ranges[:, 1] - token_ranges[:, 0],
        token_ranges=token_ranges,
    )


def _window_cuts(text, p_start, p_end, starts, hashes, first, last, max_words, min_words, breaks) -> list[int]:
    """Token indices where the windows of one long paragraph begin (plus its end);
    ``breaks`` are extra sentence starts (paragraph starts, in flat mode)."""
    ends_of_sentences = [m.end() for m in SENTENCE_END.finditer(text, p_start, p_end)]
    bounds = np.unique(np.r_[first, np.searchsorted(starts, ends_of_sentences, side="left"), breaks, last])
    bounds = bounds[(bounds >= first) & (bounds <= last)]
    # Hash of the first (up to) three words of each sentence decides the content cuts.
    sentence_starts = bounds[:-1]
    head = np.zeros(len(sentence_starts), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(3):
            inside = sentence_starts + j < bounds[1:]
            head[inside] += hashes[sentence_starts[inside] + j] * np.uint64(2 * j + 1)
    content_cut = (mix64(head) % np.uint64(_CUT_DIVISOR)) == 0
    cuts, count = [first], 0
    for s in range(len(sentence_starts)):
        lo, hi = int(bounds[s]), int(bounds[s + 1])
        if count and count + (hi - lo) > max_words and count >= min_words:
            cuts.append(lo)
            count = 0
        while count + (hi - lo) > max_words:  # one sentence longer than a window
            lo += max_words - count
            cuts.append(lo)
            count = 0
        count += hi - lo
        if count >= min_words and content_cut[s] and hi < last:
            cuts.append(hi)
            count = 0
    if len(cuts) > 1 and last - cuts[-1] < min_words // 2:
        cuts.pop()  # a short tail joins the window before it
    return cuts + [last]


# --------------------------------------------------------------------------- Deduplicator


@dataclass(frozen=True)
class Match:
    """A passage of an article that repeats earlier text.

    ``text[start:end]`` repeats ``source_start:source_end`` of article ``source_id``:
    an earlier article (``kind="across"``) or the same one (``kind="within"``).
    ``similarity`` is the estimated Jaccard similarity of their word shingles when
    ``measure`` is ``"jaccard"``; ``"containment"`` marks a paragraph found inside a
    longer matched passage (the two copies break paragraphs differently), and then
    ``similarity`` is the estimated share of its shingles that the source span contains.
    """

    start: int
    end: int
    kind: str
    source_id: Any
    source_start: int
    source_end: int
    similarity: float
    measure: str = "jaccard"

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ArticleMatch:
    """The earlier article a whole article near-duplicates (see :meth:`Deduplicator.is_duplicate`)."""

    source_id: Any
    similarity: float


@dataclass
class _Prepared:
    """Segments of a batch of articles in both layers (paragraph segments, then flat
    windows), with signatures and LSH band keys, computed in one NumPy pass."""

    article_sigs: np.ndarray
    article_keys: np.ndarray  # LSH band keys, (articles, bands)
    layers: tuple  # (_Segments, signatures, band keys) for layer 0 (paragraphs) and 1 (flat windows)

    def of(self, t: int) -> tuple[np.ndarray, ...]:
        """Segments of article ``t``: starts, ends, words, layer, signatures, band keys.

        Flat windows identical (same words) to a paragraph segment are left out: they
        would only duplicate it. In a one-paragraph article that is all of them.
        """
        parts = []
        for layer, (segments, sigs, keys) in enumerate(self.layers):
            lo, hi = np.searchsorted(segments.text_index, [t, t + 1])  # segments are in text order
            parts.append((segments, sigs, keys, np.arange(lo, hi), layer))
        first = {tuple(r) for r in parts[0][0].token_ranges[parts[0][3]].tolist()}
        segments, _, _, rows, _ = parts[1]
        parts[1] = (*parts[1][:3], rows[[tuple(r) not in first for r in segments.token_ranges[rows].tolist()]], 1)
        return tuple(
            np.concatenate(column)
            for column in zip(
                *(
                    (
                        seg.starts[rows],
                        seg.ends[rows],
                        seg.words[rows],
                        np.full(len(rows), layer),
                        sigs[rows],
                        keys[rows],
                    )
                    for seg, sigs, keys, rows, layer in parts
                )
            )
        )


_ARTICLES_PER_PASS = 512  # articles tokenized and signed together by find_many
_STATE_FORMAT = "dedup.Deduplicator"
_STATE_VERSION = 1
_SIGNATURE_PARAMS = ("num_perm", "ngram", "mode", "seed")


class Deduplicator:
    """Removes passages that repeat earlier articles (and, by default, the article itself).

    Feed articles in order with :meth:`clean` (or :meth:`add`, :meth:`clean_many`,
    :meth:`add_many`). Each article is cut into segments in two layers: its paragraphs
    (a paragraph longer than ``max_words`` words, as in bodies exported without breaks,
    is cut into sentence-bounded windows of about 40-150 words, cut where the content
    says, so shared passages are cut alike in every article that carries them), and the
    same windows over the article with its paragraph breaks ignored (for copies whose
    breaks differ). A segment of at least ``min_length`` words whose estimated Jaccard
    similarity to a remembered segment of an earlier article is at least ``threshold``
    is a match, reported with that article's id and span; of a matched window that spans
    paragraphs, only the paragraphs the source contains (estimated containment >=
    ``threshold``) are reported. See ``docs/corpus.md``.

    What is remembered: for every article passed to :meth:`clean`, :meth:`add` or
    ``find(..., remember=True)``, its segments of at least ``min_length`` words that
    matched nothing (the matched ones are already represented by their earlier copy) and
    its whole-article signature (unless it near-duplicates an earlier article), each
    with the article id and span. Memory grows with distinct segments: about 700 bytes
    per segment with 128 permutations, never the text. :meth:`find` and
    :meth:`is_duplicate` only look.

    Parameters
    ----------
    threshold : float in (0, 1), default 0.8
        Minimum estimated Jaccard similarity of word-shingle sets for a match.
    scope : {"both", "across", "within"}, default "both"
        ``"across"``: segments seen in earlier articles; ``"within"``: repeats inside the
        article (:func:`dedup.find_repeats`, as ``dedup.clean``); ``"both"``: both.
    num_perm, ngram, mode, seed
        Signature parameters, as for :class:`dedup.MinHasher`; fixed for a saved state.
    min_length : int, default 8
        Segments with fewer words are never matched across articles (headings, bylines,
        "Read more" lines would otherwise match everywhere).
    max_words : int, default 150
        Paragraphs longer than this are split into sentence windows.
    within : dict, optional
        Parameters for :func:`dedup.find_repeats` (``threshold``, ``min_length``, ...);
        default: its defaults, so inner repeats are removed exactly as ``dedup.clean`` does.

    Examples
    --------
    >>> d = Deduplicator(threshold=0.8, scope="across")
    >>> wire = "The central bank kept its main interest rate unchanged on Thursday, citing slowing inflation."
    >>> d.clean("Markets rose in early trading after the news.\\n\\n" + wire, doc_id="a1")
    'Markets rose in early trading after the news.\\n\\nThe central bank kept its main interest rate unchanged on Thursday, citing slowing inflation.'
    >>> d.clean(wire + "\\n\\nAnalysts had expected the decision.", doc_id="b7")
    'Analysts had expected the decision.'
    >>> d.find(wire + "\\n\\nAnalysts had expected the decision.")[0].source_id
    'a1'
    """

    def __init__(
        self,
        threshold: float = 0.8,
        *,
        scope: str = "both",
        num_perm: int = 128,
        ngram: int = 5,
        mode: str = DEFAULT_MODE,
        seed: int = 1,
        min_length: int = 8,
        max_words: int = 150,
        within: dict | None = None,
    ) -> None:
        self.threshold = check_fraction("threshold", threshold)
        self.scope = check_choice("scope", scope, ("both", "across", "within"))
        self.min_length = check_int("min_length", min_length, 1)
        self.max_words = check_int("max_words", max_words, 10)
        if within is not None and not isinstance(within, dict):
            raise TypeError(f"within must be a dict of dedup.find_repeats parameters, got {type(within).__name__}")
        self.within = dict(within or {})
        try:
            RepeatParams(**self.within)
        except TypeError as error:
            raise TypeError(f"within: {error}") from None
        self._hasher = MinHasher(num_perm, ngram=ngram, mode=mode, seed=seed)
        self._min_window = max(1, min(self.max_words // 4, 40))
        params = optimal_params(self.threshold, self._hasher.num_perm, RECALL_WEIGHTS)
        # Segments: signatures, article (index into _article_ids) and span.
        self._segment_index = LSHIndex(self.threshold, self._hasher.num_perm, params=params)
        self._segment_sigs = GrowableArray(np.uint32, self._hasher.num_perm)
        self._segment_article = GrowableArray(np.int64)
        self._segment_span = GrowableArray(np.int64, 2)
        self._segment_words = GrowableArray(np.int32)
        # Whole articles, for is_duplicate.
        self._article_index = LSHIndex(self.threshold, self._hasher.num_perm, params=params)
        self._article_sigs = GrowableArray(np.uint32, self._hasher.num_perm)
        self._article_of_sig = GrowableArray(np.int64)
        self._article_ids: list = []  # every remembered article, in order

    # parameters --------------------------------------------------------------------

    @property
    def params(self) -> dict:
        """The parameters, as stored with a saved state."""
        return {
            "threshold": self.threshold,
            "scope": self.scope,
            "min_length": self.min_length,
            "max_words": self.max_words,
            "within": dict(self.within),
            **self._hasher.params,
        }

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"Deduplicator({args}; articles={len(self._article_ids)}, segments={len(self._segment_sigs)})"

    def __len__(self) -> int:
        """Number of articles remembered."""
        return len(self._article_ids)

    @property
    def segments(self) -> int:
        """Number of distinct segments remembered."""
        return len(self._segment_sigs)

    @property
    def nbytes(self) -> int:
        """Approximate bytes of state (arrays and indexes, article ids not counted)."""
        return (
            self._segment_sigs.nbytes
            + self._segment_article.nbytes
            + self._segment_span.nbytes
            + self._segment_words.nbytes
            + self._article_sigs.nbytes
            + self._article_of_sig.nbytes
            + self._segment_index.nbytes
            + self._article_index.nbytes
        )

    # one pass over a batch -----------------------------------------------------------

    def _prepare(self, texts: Sequence[str]) -> _Prepared:
        tokens = tokenize(texts, self._hasher.mode)
        bands, rows = self._segment_index.bands, self._segment_index.rows
        article_sigs = self._hasher.sign_tokens(tokens)
        layers = []
        for flat in (False, True):
            segments = _segment(texts, tokens, self.max_words, self._min_window, flat=flat)
            sigs = self._hasher.sign_tokens(tokens, segments.token_offsets)
            # Band keys for the whole batch at once: both indexes use the same banding.
            layers.append((segments, sigs, band_keys(sigs, bands, rows)))
        return _Prepared(article_sigs, band_keys(article_sigs, bands, rows), tuple(layers))

    def _best_matches(
        self, index: LSHIndex, stored: np.ndarray, queries: np.ndarray, keys: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """For every query row (signatures and their band keys): the best verified stored
        row (-1 if none) and its similarity. Best = highest similarity, then earliest row.
        """
        best = np.full(len(queries), -1, dtype=np.int64)
        best_similarity = np.zeros(len(queries), dtype=np.float64)
        query_index, rows = index.lookup_band_keys(keys)
        if not len(rows):
            return best, best_similarity
        similarity = np.count_nonzero(queries[query_index] == stored[rows], axis=1) / queries.shape[1]
        ok = similarity >= self.threshold
        query_index, rows, similarity = query_index[ok], rows[ok], similarity[ok]
        order = np.lexsort((rows, -similarity, query_index))
        query_index, rows, similarity = query_index[order], rows[order], similarity[order]
        first = np.r_[True, query_index[1:] != query_index[:-1]] if len(query_index) else np.zeros(0, dtype=bool)
        best[query_index[first]] = rows[first]
        best_similarity[query_index[first]] = similarity[first]
        return best, best_similarity

    def _process(
        self, text: str, doc_id: Any, prepared: _Prepared, t: int, repeats: list, remember: bool
    ) -> list[Match]:
        starts, ends, words, layer, sigs, keys = prepared.of(t)
        matches = [
            Match(r.start, r.end, "within", doc_id, r.source_start, r.source_end, float(r.similarity)) for r in repeats
        ]
        removed = _merge_spans([(m.start, m.end) for m in matches])

        matched = np.zeros(len(starts), dtype=bool)
        if self.scope in ("across", "both"):
            eligible = (words >= self.min_length) & ~_inside(starts, ends, removed)
            candidates = np.flatnonzero(eligible)
            best, similarity = self._best_matches(
                self._segment_index, self._segment_sigs.array, sigs[candidates], keys[candidates]
            )
            span = self._segment_span.array
            article = self._segment_article.array
            # Paragraph segments first; a flat window (a copy whose paragraph breaks
            # differ) only where the paragraphs left something unexplained.
            found = np.flatnonzero(best >= 0)
            found = found[np.argsort(layer[candidates[found]], kind="stable")]
            covered = list(removed)
            paragraph_spans = None
            for k in found.tolist():
                s, row = int(candidates[k]), int(best[k])
                source = (self._article_ids[int(article[row])], int(span[row, 0]), int(span[row, 1]))
                if layer[s] == 0:
                    pieces = [(int(starts[s]), int(ends[s]), float(similarity[k]), "jaccard")]
                else:
                    if _inside(starts[s : s + 1], ends[s : s + 1], _merge_spans(covered))[0]:
                        continue
                    if paragraph_spans is None:
                        paragraph_spans = paragraphs(text)
                    pieces = self._contained_pieces(
                        text, int(starts[s]), int(ends[s]), float(similarity[k]), row, paragraph_spans
                    )
                for start, end, score, measure in pieces:
                    matched[s] = True
                    covered.append((start, end))
                    matches.append(Match(start, end, "across", *source, score, measure))
        matches.sort(key=lambda m: (m.start, m.end, m.kind))

        if remember:
            # Store what is new: segments long enough to be matched later, not matched,
            # and not inside anything removed (their text is already represented).
            covered = _merge_spans([(m.start, m.end) for m in matches])
            self._remember(
                doc_id,
                prepared.article_sigs[t : t + 1],
                prepared.article_keys[t : t + 1],
                starts,
                ends,
                sigs,
                keys,
                words,
                keep=(words >= self.min_length) & ~_inside(starts, ends, covered),
            )
        return matches

    def _contained_pieces(self, text, start, end, similarity, row, paragraph_spans) -> list[tuple]:
        """The parts of a matched flat window that may be removed, with their score.

        A flat window crosses paragraph breaks. When it lies in one paragraph, it is
        removed whole (score: its Jaccard similarity). Otherwise each paragraph piece of
        it is checked on its own, so that a rewritten paragraph between copied ones is not
        removed with them: a piece of at least ``min_length`` words is removed when the
        estimated share of its shingles found in the matched source segment (containment,
        from the Jaccard estimate and both set sizes) reaches the threshold.
        """
        pieces = [(max(a, start), min(b, end)) for a, b in paragraph_spans if a < end and b > start]
        if len(pieces) <= 1:
            return [(start, end, similarity, "jaccard")]
        tokens = tokenize([text[a:b] for a, b in pieces], self._hasher.mode)
        sigs = self._hasher.sign_tokens(tokens)
        words = np.diff(tokens.offsets)
        ngram = self._hasher.ngram
        piece_size = np.maximum(words - ngram + 1, 1)
        source_size = max(int(self._segment_words.array[row]) - ngram + 1, 1)
        jaccard = np.count_nonzero(sigs == self._segment_sigs.array[row], axis=1) / sigs.shape[1]
        containment = np.minimum(jaccard * (piece_size + source_size) / ((1 + jaccard) * piece_size), 1.0)
        keep = (words >= self.min_length) & (containment >= self.threshold)
        return [(a, b, float(c), "containment") for (a, b), c, ok in zip(pieces, containment, keep) if ok]

    def _remember(self, doc_id, article_sig, article_keys, starts, ends, sigs, keys, words, keep) -> None:
        article = len(self._article_ids)
        self._article_ids.append(doc_id)
        if not (article_sig == EMPTY).all() and self._duplicate_of(article_sig, article_keys)[0] < 0:
            self._article_index.append_band_keys(article_keys)
            self._article_sigs.extend(article_sig)
            self._article_of_sig.extend(np.array([article]))
        keep = np.flatnonzero(keep)
        if len(keep):
            self._segment_index.append_band_keys(keys[keep])
            self._segment_sigs.extend(sigs[keep])
            self._segment_article.extend(np.full(len(keep), article))
            self._segment_span.extend(np.stack([starts[keep], ends[keep]], axis=1))
            self._segment_words.extend(words[keep])

    def _duplicate_of(self, article_sig: np.ndarray, article_keys: np.ndarray) -> tuple[int, float]:
        best, similarity = self._best_matches(self._article_index, self._article_sigs.array, article_sig, article_keys)
        return int(best[0]), float(similarity[0])

    # public API ---------------------------------------------------------------------

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
        return self.find_many([text], None if doc_id is None else [doc_id], remember=remember)[0]

    def find_many(
        self, texts: Sequence[str], ids: Sequence[Any] | None = None, *, remember: bool = False
    ) -> list[list[Match]]:
        """:meth:`find` for a batch; with ``remember``, each article also sees the ones before it."""
        texts = check_texts(texts)
        ids = self._check_ids(ids, len(texts))
        out = []
        # Chunks bound the memory of tokens and signatures for very long batches.
        for lo in range(0, len(texts), _ARTICLES_PER_PASS):
            chunk = texts[lo : lo + _ARTICLES_PER_PASS]
            prepared = self._prepare(chunk)
            if self.scope in ("within", "both"):
                repeats = find_repeats_many(chunk, **self.within)
            else:
                repeats = [[] for _ in chunk]
            for t, text in enumerate(chunk):
                doc_id = ids[lo + t] if ids is not None else len(self._article_ids)
                out.append(self._process(text, doc_id, prepared, t, repeats[t], remember))
        return out

    def add(self, text: str, doc_id: Any = None) -> list[Match]:
        """Remember an article; returns what :meth:`find` would have reported for it."""
        return self.find(text, doc_id, remember=True)

    def add_many(self, texts: Sequence[str], ids: Sequence[Any] | None = None) -> list[list[Match]]:
        """:meth:`add` for a batch, in order (signatures computed in one pass)."""
        return self.find_many(texts, ids, remember=True)

    def clean(self, text: str, doc_id: Any = None, *, remember: bool = True) -> str:
        """``text`` without the passages :meth:`find` reports; remembers the article.

        Only deletes: the result is ``text`` with some character ranges removed (and the
        whitespace the removal left behind tidied). Text with no matches comes back as is.
        """
        return self.clean_many([check_text("text", text)], None if doc_id is None else [doc_id], remember=remember)[0]

    def clean_many(self, texts: Sequence[str], ids: Sequence[Any] | None = None, *, remember: bool = True) -> list[str]:
        """:meth:`clean` for a batch, in order."""
        texts = check_texts(texts)
        found = self.find_many(texts, ids, remember=remember)
        return [_remove(text, matches) for text, matches in zip(texts, found)]

    def is_duplicate(self, text: str) -> ArticleMatch | None:
        """The earlier article that ``text`` as a whole near-duplicates, or None.

        Compares the whole article's signature with those of remembered articles; does
        not remember ``text``.
        """
        text = check_text("text", text)
        sig = self._hasher.sign([text])
        if (sig == EMPTY).all():
            return None
        row, similarity = self._duplicate_of(sig, band_keys(sig, self._article_index.bands, self._article_index.rows))
        if row < 0:
            return None
        return ArticleMatch(self._article_ids[int(self._article_of_sig.array[row])], similarity)

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

    def save(self, path: str | os.PathLike) -> None:
        """Save the state to one file, atomically.

        Written to a temporary file in the same directory, fsynced, then renamed over
        ``path``: a crash mid-save leaves the previous file as it was.
        """
        ids = self._article_ids
        if all(isinstance(i, numbers.Integral) for i in ids):
            id_arrays = {"article_int_ids": np.asarray(ids, dtype=np.int64).reshape(-1)}
        else:
            id_arrays = {k: v for k, v in encode_strings([str(i) for i in ids]).items()}
            id_arrays["article_id_is_int"] = np.array([isinstance(i, numbers.Integral) for i in ids], dtype=bool)
        meta = {"params": self.params, "articles": len(ids), "segments": self.segments}
        arrays = {
            "segment_sigs": self._segment_sigs.array,
            "segment_article": self._segment_article.array,
            "segment_span": self._segment_span.array,
            "segment_words": self._segment_words.array,
            "article_sigs": self._article_sigs.array,
            "article_of_sig": self._article_of_sig.array,
            **id_arrays,
        }
        atomic_save(path, _STATE_FORMAT, _STATE_VERSION, meta, arrays)

    @classmethod
    def load(cls, path: str | os.PathLike, **expected: Any) -> Deduplicator:
        """Reopen a state written by :meth:`save`.

        Parameters
        ----------
        path : str or path
        **expected
            Parameters the caller relies on (e.g. ``num_perm=128``). A signature
            parameter (``num_perm``, ``ngram``, ``mode``, ``seed``) that differs from the
            stored one raises ``ValueError``: stored signatures could not be compared.
            ``threshold``, ``scope``, ``min_length`` and ``max_words`` given here replace
            the stored values.

        Raises ``ValueError`` naming the file when it is corrupt, truncated or foreign.
        """
        meta, arrays = load_state(path, _STATE_FORMAT, _STATE_VERSION)
        source = os.fspath(path)
        stored = meta.get("params")
        if not isinstance(stored, dict) or any(k not in stored for k in _SIGNATURE_PARAMS):
            raise ValueError(f"{source} is not a valid {_STATE_FORMAT} file: its parameters are missing")
        for name, value in expected.items():
            if name not in stored:
                raise TypeError(f"Deduplicator.load() got an unexpected parameter {name!r}")
            if name in _SIGNATURE_PARAMS and value != stored[name]:
                raise ValueError(
                    f"{name}={value!r} differs from the {name}={stored[name]!r} the state in {source} was built "
                    f"with; signatures made with other parameters cannot be compared"
                )
        dedup = cls(**{**stored, **expected})
        try:
            count, segments = int(meta["articles"]), int(meta["segments"])
            segment_sigs, article_sigs = arrays["segment_sigs"], arrays["article_sigs"]
            num_perm = dedup._hasher.num_perm
            if segment_sigs.shape != (segments, num_perm) or article_sigs.shape[1:] != (num_perm,):
                raise ValueError("signature arrays do not match the stored parameters")
            if "article_int_ids" in arrays:
                ids = arrays["article_int_ids"].tolist()
            else:
                flags = arrays["article_id_is_int"].tolist()
                ids = [int(i) if f else i for i, f in zip(decode_strings(arrays), flags)]
            if (
                len(ids) != count
                or arrays["segment_article"].shape != (segments,)
                or arrays["segment_span"].shape != (segments, 2)
                or arrays["segment_words"].shape != (segments,)
                or arrays["article_of_sig"].shape != (len(article_sigs),)
            ):
                raise ValueError("array sizes disagree")
            for name in ("segment_article", "article_of_sig"):
                if len(arrays[name]) and not (0 <= arrays[name].min() and arrays[name].max() < count):
                    raise ValueError(f"{name} refers to unknown articles")
        except (KeyError, ValueError, TypeError, IndexError) as error:
            raise ValueError(f"{source} is not a valid {_STATE_FORMAT} file (corrupt or foreign): {error}") from error
        dedup._article_ids = ids
        dedup._segment_sigs.extend(segment_sigs.astype(np.uint32))
        dedup._segment_article.extend(arrays["segment_article"].astype(np.int64))
        dedup._segment_span.extend(arrays["segment_span"].astype(np.int64))
        dedup._segment_words.extend(arrays["segment_words"].astype(np.int32))
        dedup._article_sigs.extend(article_sigs.astype(np.uint32))
        dedup._article_of_sig.extend(arrays["article_of_sig"].astype(np.int64))
        # The LSH indexes are derived data: rebuilt from the signatures, not stored.
        for index, sigs in (
            (dedup._segment_index, dedup._segment_sigs.array),
            (dedup._article_index, dedup._article_sigs.array),
        ):
            index.append_band_keys(band_keys(sigs, index.bands, index.rows))
        return dedup


def _merge_spans(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted, non-overlapping union of character ranges."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _inside(starts: np.ndarray, ends: np.ndarray, spans: list[tuple[int, int]]) -> np.ndarray:
    """Which segments lie wholly inside one of the (merged, sorted) ``spans``."""
    if not spans or not len(starts):
        return np.zeros(len(starts), dtype=bool)
    span_starts = np.array([s for s, _ in spans])
    span_ends = np.array([e for _, e in spans])
    k = np.searchsorted(span_starts, starts, side="right") - 1
    return (k >= 0) & (ends <= span_ends[np.maximum(k, 0)])


def _remove(text: str, matches: list[Match]) -> str:
    if not matches:
        return text
    return remove_spans(text, [(m.start, m.end) for m in matches])
