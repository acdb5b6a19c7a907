"""Stage 2, chain: runs joined into chains that move forward in both copy and source,
and chains trimmed of weak edge runs."""

from __future__ import annotations

from array import array

import numpy as np

from .params import RepeatParams
from .prepared import PreparedText
from .seed import Runs


class Chains:
    """Chains of runs as linked lists: the first run of every chain and the next run of
    every run (-1: the last), 4 bytes each, rather than lists of Python ints (a repetitive
    text has millions of runs). ``pop`` hands out the chains last first, each as a list
    of run indices in query order. Both are ``array``s: read one by one from Python,
    their items come as ints at once (a NumPy item is an object to convert)."""

    def __init__(self, heads: array, next_run: array) -> None:
        self._heads, self._next = heads, next_run

    def __len__(self) -> int:
        return len(self._heads)

    def pop(self) -> list[int]:
        chain = [self._heads.pop()]
        while (following := self._next[chain[-1]]) >= 0:
            chain.append(following)
        return chain

    def pop_all(self) -> list[list[int]]:
        """Every chain, as ``pop`` hands them out (the last first)."""
        chains, following = [], self._next
        for head in reversed(self._heads):
            chain = [head]
            while (run := following[chain[-1]]) >= 0:
                chain.append(run)
            chains.append(chain)
        self._heads = self._heads[:0]
        return chains


# chain_runs reads the runs in blocks of this many (as Python ints, fast one by one).
_CHAIN_BLOCK = 4096

# The chaining thresholds, in tokens or in shingle widths (``ngram`` tokens each).
#
# Words added in a passage taken from another text, between two of its runs: an edit
# adds a word or a few (never more than one shingle width), while a sentence between
# two taken passages is the taking text's own. (Inside one text the limit is
# ``max_gap``: a re-pasted, updated copy may gain whole sentences, removed with it.)
ADDED_WORDS_ACROSS = 3
# Words changed on both sides between two runs (a substitution), in shingle widths:
# a few words are an edit of the copy, a rewritten paragraph between copied ones is
# text of its own.
SUBSTITUTION_SHINGLES = 3
# A pure deletion: the copy goes on within this many tokens of the run before (it lost
# words, added none) ...
DELETION_COPY_GAP = 1
# ... so its source may jump further, up to this many times ``max_gap`` (plus one
# shingle width): an update that dropped a long sentence is still one copy.
DELETION_SOURCE_GAPS = 2
# Gaps with a line break, among the words between two runs, that make those words an
# inserted paragraph of the text's own (when they are more than one shingle width):
# two, so that the words stand on a line of their own rather than only start or end one.
INSERTED_PARAGRAPH_LINES = 2
# An edge run of at least this many shingle widths is never weak (without_weak_ends):
# so long an exact match is copied text, not a phrase met by coincidence.
STRONG_RUN_SHINGLES = 3


def chain_runs(runs: Runs, query: PreparedText, same: bool, params: RepeatParams) -> Chains:
    """Runs (by index) joined into chains that move forward in both copy and source.
    Tandem runs stand alone."""
    if len(runs) == 1:  # a chain of its own (the commonest case across texts: one passage shared)
        return Chains(array("i", [0]), array("i", [-1]))
    index_code = "i" if len(runs) < 2**31 else "q"
    heads = array(index_code)  # the first run of every chain, in the order chains start
    next_run = np.full(len(runs), -1, dtype=np.int32 if index_code == "i" else np.int64)
    # Open chains: [last run, copy end and source end of the last run, words matched].
    active: list[list[int]] = []
    for lo in range(0, len(runs), _CHAIN_BLOCK):
        hi = min(lo + _CHAIN_BLOCK, len(runs))
        block = [values[lo:hi].tolist() for values in _fields(runs)]
        links_from, links_to = _chain_block(*block, lo, active, heads, query, same, params)
        if links_from:
            next_run[links_from] = links_to
    return Chains(heads, array(index_code, next_run.tobytes()))


def chain_runs_many(pairs_runs: list[Runs], queries: list[PreparedText], params: RepeatParams) -> list[Chains]:
    """``[chain_runs(runs, query, False, params) ...]`` for many pairs across texts, the
    same chains. The pairs with a few runs (most pairs: a few dozen at most) are read
    together: those whose runs each meet at most the run before them are chained in
    array steps (:func:`_chained_to_previous`), the others run by run from Python ints
    read in one conversion, rather than a few conversions a pair."""
    out: list[Chains | None] = [None] * len(pairs_runs)
    few = [k for k, runs in enumerate(pairs_runs) if 1 < len(runs) <= _CHAIN_BLOCK]
    if few:
        counts = np.array([len(pairs_runs[k]) for k in few], dtype=np.int64)
        fields = [np.concatenate(per_pair) for per_pair in zip(*(_fields(pairs_runs[k]) for k in few))]
        runs_end = np.cumsum(counts)
        first = runs_end - counts  # each pair's first run
        pair = np.repeat(np.arange(len(few)), counts)  # each run's pair
        simple, links = _chained_to_previous(fields, pair, first, params)
        # A simple pair's chains: each run links to the one before it or starts a chain.
        position = np.arange(len(links)) - first[pair]
        next_run = np.full(len(links), -1, dtype=np.int64)
        next_run[np.flatnonzero(links) - 1] = position[links]
        heads = position[~links].tolist()
        heads_end = np.cumsum(np.add.reduceat(~links, first, dtype=np.int64)).tolist()
        runs_end = runs_end.tolist()
        next_run = next_run.tolist()
        # The other pairs' runs, chained run by run.
        hard_runs = np.repeat(~simple, counts)
        values = [field[hard_runs].tolist() for field in fields]
        at = heads_at = hard_at = 0
        for i, (k, is_simple) in enumerate(zip(few, simple.tolist())):
            count = runs_end[i] - at
            if is_simple:
                out[k] = Chains(array("i", heads[heads_at : heads_end[i]]), array("i", next_run[at : runs_end[i]]))
            else:
                heads_k = array("i")
                links_from, links_to = _chain_block(
                    *(column[hard_at : hard_at + count] for column in values), 0, [], heads_k, queries[k], False,
                    params,
                )
                next_k = array("i", [-1]) * count
                for run, following in zip(links_from, links_to):
                    next_k[run] = following
                out[k] = Chains(heads_k, next_k)
                hard_at += count
            at, heads_at = runs_end[i], heads_end[i]
    for k, runs in enumerate(pairs_runs):
        if out[k] is None:
            out[k] = chain_runs(runs, queries[k], False, params)
    return out  # type: ignore[return-value]


def _chained_to_previous(fields: list[np.ndarray], pair: np.ndarray, first: np.ndarray, params: RepeatParams):
    """For runs across texts of many pairs end to end (``fields`` as ``_fields`` gives
    them; ``pair``: each run's pair, ``first``: each pair's first run): which pairs are
    simple, and where each run of a simple pair links to the run before it (bool arrays).

    ``_chain_block`` keeps open the chains whose last run ends at most ``added`` tokens
    before the next run starts. In a simple pair, no run before the one before a run ends
    that close to it, and there are no tandem runs: the run before it is then the last run
    of its chain (it was just chained), and the only chain open, so the run links to it
    exactly when it fits as a continuation, else starts a chain. (Across texts a run that
    fits starts at most ``added`` <= ``ngram`` tokens after the run before it: the lines
    between them, read for wider gaps, never count.)"""
    copy_start, copy_end, source_start, source_end, period = (field.astype(np.int64) for field in fields)
    n, max_gap = params.ngram, params.max_gap
    added = min(ADDED_WORDS_ACROSS, n)
    later = np.ones(len(pair), dtype=bool)
    later[first] = False  # not a pair's first run
    # The furthest end of a pair's runs up to each run (copy ends fit 32 bits: the pair
    # number above them keeps pairs apart).
    reach = np.maximum.accumulate((pair << 32) + copy_end) - (pair << 32)
    clash = np.zeros(len(pair), dtype=bool)
    clash[2:] = later[2:] & later[1:-1] & (reach[:-2] >= copy_start[2:] - added)
    copy_gap = np.zeros(len(pair), dtype=np.int64)
    source_gap = np.zeros(len(pair), dtype=np.int64)
    copy_gap[1:] = copy_start[1:] - copy_end[:-1]
    source_gap[1:] = source_start[1:] - source_end[:-1]
    forward = (copy_gap > -n) & (source_gap > -n)
    # The fits of _chain_block: a run that fits starts within ``added`` tokens of the end
    # of the run before it, whose chain is then still open. (Its limit on substitutions
    # holds whenever the copy gap is within ``added`` <= ``ngram`` tokens.)
    fits = ((copy_gap <= added) & (source_gap <= max_gap)) | (
        (copy_gap <= DELETION_COPY_GAP) & (source_gap <= DELETION_SOURCE_GAPS * max_gap + n)
    )
    links = later & forward & fits
    clash |= period != 0
    simple = np.bincount(pair[clash], minlength=len(first)) == 0
    return simple, links & simple[pair]


def _fields(runs: Runs) -> tuple[np.ndarray, ...]:
    """The runs' arrays that chaining reads, in the order ``_chain_block`` takes them."""
    return runs.copy_start, runs.copy_end, runs.source_start, runs.source_end, runs.period


def _chain_block(cs, ce, ss, se, period, lo: int, active: list, heads: array, query: PreparedText, same: bool,
                 params: RepeatParams) -> tuple[list[int], list[int]]:
    """Chain the runs ``lo ..`` (their fields as lists), the chains still open in
    ``active`` (updated), the first run of each new chain appended to ``heads``; returns
    the links made (run, next run)."""
    n, max_gap = params.ngram, params.max_gap
    # Words added in a copy: inside one text a re-pasted, updated copy may gain whole
    # sentences (removed with it); a passage taken from another text only loses or
    # changes words, and a sentence between two taken passages is the text's own.
    added = max_gap if same else min(ADDED_WORDS_ACROSS, n)
    substitution = SUBSTITUTION_SHINGLES * n
    deletion_reach = DELETION_SOURCE_GAPS * max_gap + n
    links_from, links_to = [], []
    for r in range(len(cs)):
        if period[r]:
            heads.append(lo + r)
            continue
        if active:  # (none, mostly: one list fewer a run)
            active[:] = [c for c in active if cs[r] - c[1] <= added]
        best = None
        for chain in active:
            copy_gap, source_gap = cs[r] - chain[1], ss[r] - chain[2]
            if copy_gap <= -n or source_gap <= -n:
                continue  # not forward in both (neighbouring runs share up to n - 1 tokens)
            # Both sides changed (a substitution) only for a few words: a rewritten
            # paragraph between copied ones is text of its own, not an edit of the copy.
            replaced = min(copy_gap, source_gap) <= substitution
            fits = (copy_gap <= added and source_gap <= max_gap and replaced) or (
                # A pure deletion (the copy goes on right after the edit, only the source
                # jumps) may skip more: an update that dropped a long sentence.
                copy_gap <= DELETION_COPY_GAP and source_gap <= deletion_reach
            )
            # Whole lines between two copied passages are an inserted paragraph of the
            # text's own, not words added to the copy.
            if fits and copy_gap > n and query.lines_between(chain[1], cs[r]) >= INSERTED_PARAGRAPH_LINES:
                fits = False
            if fits and (best is None or chain[3] > best[3]):
                best = chain
        if best is None:
            best = [lo + r, 0, 0, 0]
            heads.append(lo + r)
            active.append(best)
        else:
            links_from.append(best[0])
            links_to.append(lo + r)
        best[0], best[1], best[2] = lo + r, ce[r], se[r]
        best[3] += ce[r] - cs[r]
    return links_from, links_to


def without_weak_ends(chain: list[int], runs: Runs, ngram: int, query: PreparedText, source: PreparedText) -> list[int]:
    """Drop edge runs that are a short phrase separated from the rest by a longer gap.

    A phrase that occurs twice in the original can land near the chain's diagonal by
    coincidence and would pull the original words around it into the repeat. A run of
    three n-grams of words or more is never weak, nor is a whole sentence in both copy
    and source: copies whose next sentence was dropped or added start or end with one.
    """
    if len(chain) < 2:  # no edge run to drop (most chains across texts)
        return list(chain)
    cs, ce, ss, se = runs.copy_start, runs.copy_end, runs.source_start, runs.source_end
    q, s = query.boundaries, source.boundaries

    def weak(run: int, before: int, after: int) -> bool:
        words = ce[run] - cs[run]
        if words >= STRONG_RUN_SHINGLES * ngram or words >= max(cs[after] - ce[before], ss[after] - se[before]) + 1:
            return False
        # Exact runs may spill a few words past the sentence end (the next sentences of
        # copy and source can start alike).
        spill = range(min(ngram, words))
        starts_sentence = any(q(int(cs[run]) + k) and s(int(ss[run]) + k) for k in spill)
        ends_sentence = any(q(int(ce[run]) - k) and s(int(se[run]) - k) for k in spill)
        return not (starts_sentence and ends_sentence)

    chain = list(chain)
    while len(chain) > 1 and weak(chain[0], chain[0], chain[1]):
        chain.pop(0)
    while len(chain) > 1 and weak(chain[-1], chain[-2], chain[-1]):
        chain.pop()
    return chain
