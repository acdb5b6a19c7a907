"""Seeds of many pairs made together (``dedup.align.seed.seed_runs_many``) are the seeds
of each pair made alone (``seed_runs``): the same runs, array for array."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.align import RepeatParams, prepare
from dedup.align.prepared import PreparedText
from dedup.align.seed import seed_runs, seed_runs_many

# Few words, so shingles repeat (tandem runs, first occurrences elsewhere, single seeds).
WORDS = ["ash", "bay", "cob", "dew", "elm", "fen", "gum", "hop"]
texts = st.lists(st.sampled_from(WORDS), max_size=40).map(" ".join)
params_ = st.builds(RepeatParams, min_length=st.integers(1, 12), ngram=st.integers(1, 5))


def same_runs(a, b) -> bool:
    fields = ("copy_start", "copy_end", "source_start", "source_end", "period")
    return all(
        np.array_equal(getattr(a, f), getattr(b, f)) and getattr(a, f).dtype == getattr(b, f).dtype for f in fields
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(texts, min_size=1, max_size=8), st.data(), params_)
def test_seeds_made_together_are_the_seeds_made_pair_by_pair(pool, data, params):
    prepared = prepare(pool, params.ngram, params.mode)
    index = st.integers(0, len(pool) - 1)
    pairs = [(prepared[data.draw(index)], prepared[data.draw(index)]) for _ in range(data.draw(st.integers(1, 12)))]
    together = seed_runs_many(pairs, params)
    alone = [seed_runs(query, source, False, params) for query, source in pairs]
    assert len(together) == len(alone)
    assert all(same_runs(a, b) for a, b in zip(together, alone))


def test_a_tandem_run_and_runs_of_other_pairs_stay_apart():
    # The first pair is one tandem run ("ash bay cob" three times, over the source's
    # first three words); the next pair's first run starts where it would go on.
    params = RepeatParams(min_length=2, ngram=2)
    tandem, source, other = prepare(["ash bay cob ash bay cob ash bay cob", "ash bay cob ash", "bay cob ash dew"], 2)
    pairs = [(tandem, source), (source, source), (other, source), (source, tandem)]
    together = seed_runs_many(pairs, params)
    assert together[0].period.tolist() == [3] and together[0].copy_end.tolist() == [9]
    for runs, (query, text) in zip(together, pairs):
        assert same_runs(runs, seed_runs(query, text, False, params))


def test_seeds_that_would_go_on_in_the_next_pair_end_with_their_pair():
    # Pair 1's seeds are (0, 0) (1, 1); pair 2's (2, 2) (3, 3) would continue them on the
    # same diagonal. Pair 3's run starts where pair 4's would repeat it (a tandem run).
    source, first, second = prepare(["ash bay cob dew elm", "ash bay cob", "fen gum cob dew elm"], 2)
    short_source, alone, after = prepare(["ash bay cob", "ash bay", "fen ash bay"], 2)
    params = RepeatParams(min_length=1, ngram=2)
    pairs = [(first, source), (second, source), (alone, short_source), (after, short_source)]
    together = seed_runs_many(pairs, params)
    assert [runs.copy_start.tolist() for runs in together] == [[0], [2], [0], [1]]
    assert [runs.period.tolist() for runs in together] == [[0], [0], [0], [0]]
    for runs, (query, text) in zip(together, pairs):
        assert same_runs(runs, seed_runs(query, text, False, params))


@settings(max_examples=100, deadline=None)
@given(st.lists(texts, min_size=1, max_size=12), st.integers(1, 5))
def test_shingle_orders_made_together_are_each_text_s_own(pool, ngram):
    # seed_runs_many sorts the shingles of a round's new texts together
    # (PreparedText.sort_shingles): each text's order must be its own stable sort.
    together = prepare(pool, ngram)
    alone = prepare(pool, ngram)
    together[0].shingle_order()  # one sorted already: kept as it is
    PreparedText.sort_shingles(together + together[:2])  # a text met twice: sorted once
    for mine, own in zip(together, alone):
        for got, expected in zip(mine.shingle_order(), own.shingle_order()):
            assert got.tolist() == expected.tolist() and got.dtype == expected.dtype


def test_shingle_orders_made_together_in_groups_and_of_long_texts_alone(monkeypatch):
    import dedup.align.prepared as prepared_module

    monkeypatch.setattr(prepared_module, "_SORTED_TOGETHER", 50)  # groups of about 50 shingles
    monkeypatch.setattr(prepared_module, "_SORTED_TOGETHER_LONGEST", 30)  # longer ones: alone, later
    rng = np.random.default_rng(4)
    pool = [" ".join(rng.choice(WORDS, int(n))) for n in rng.integers(0, 60, 40)]
    together, alone = prepare(pool, 3), prepare(pool, 3)
    PreparedText.sort_shingles(together)
    assert all((text._shingle_order is None) == (len(text.shingles) > 30) for text in together)
    for mine, own in zip(together, alone):
        assert [a.tolist() for a in mine.shingle_order()] == [a.tolist() for a in own.shingle_order()]


def test_seeds_looked_up_together_are_each_pair_s_own_also_for_hashes_alike_but_in_their_low_bits():
    # Short queries are looked up in all sources at once by keys of a hash's high bits and
    # the source's number; a source with two hashes that differ only in the low bits is
    # looked up pair by pair; long queries (past 256 shingles) alone. Every pair's seeds
    # (query positions, first places in the source) and runs are those made pair by pair.
    from dedup.align.prepared import PreparedText

    rng = np.random.default_rng(8)
    pool = [" ".join(rng.choice(WORDS, int(n))) for n in (30, 40, 25, 400, 35)]
    prepared = prepare(pool, 3)
    plain, other, third, long_text, fifth = prepared
    hashes = plain.shingles.copy()
    hashes[5] = hashes[2] ^ np.uint64(1)  # alike in all but the lowest bit: one key
    hashes[9] = hashes[2] ^ np.uint64(2)
    alike = PreparedText(plain.text, plain.tokens, hashes)
    asking = PreparedText(other.text, other.tokens, np.concatenate([other.shingles[:-3], hashes[[9, 5, 2]]]))
    params = RepeatParams(min_length=3, ngram=3)
    pairs = [(asking, alike), (asking, plain), (third, alike), (plain, fifth), (long_text, plain), (fifth, long_text),
             (alike, asking), (third, fifth)]
    runs, seeds = seed_runs_many(pairs, params, with_seeds=True)
    for (query, source), found_runs, found in zip(pairs, runs, seeds):
        (alone_runs,), (alone,) = seed_runs_many([(query, source)], params, with_seeds=True)
        assert [a.tolist() for a in found] == [a.tolist() for a in alone]
        assert same_runs(found_runs, alone_runs)
    # The query asks for the three alike hashes: each found at its own place.
    anchors, places = seeds[0]
    assert places[-3:].tolist() == [9, 5, 2]
