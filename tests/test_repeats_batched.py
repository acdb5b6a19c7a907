"""align_many (many texts aligned together, the edge extensions of all their pairs in one
vectorised alignment) gives exactly what align gives text by text."""

from __future__ import annotations

import contextlib
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dedup.align.engine as engine_module
import dedup.align.extend as extend_module
from dedup.align.engine import PairAlignments, align, align_many, aligned_pairs
from dedup.align.overlaps import resolve_overlaps
from dedup.align.params import RepeatParams
from dedup.align.prepared import prepare
from dedup.align.seed import Runs, seed_runs
from dedup.align.chain import chain_runs, chain_runs_many
from dedup.align.verify import verified_waves
from dedup.align.spans import to_repeats
from test_repeats_properties import SETTINGS, planted, plain_texts
from test_whole_copies import full_alignment

# Made-up words of two syllables (words with digits would be normalised alike).
_VOCABULARY = [a + b for a in ("ka", "lo", "mi", "ne", "tor", "vas", "qui", "del", "run", "sop") for b in
               ("ba", "de", "fim", "gol", "har", "jun", "lex", "mor", "nit", "pax", "rem", "sul")] + \
    "the a of and in to said on was for".split()


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(_VOCABULARY) for _ in range(rng.randint(6, 18))]
    return " ".join(words).capitalize() + rng.choice([".", ".", ".", "!", "?", ".\n\n"])


def _article(rng: random.Random, sentences: int) -> str:
    return " ".join(_sentence(rng) for _ in range(sentences))


def _edited(text: str, rng: random.Random, every: int) -> str:
    """``text`` with a word changed, dropped or added about every ``every`` words."""
    out = []
    for word in text.split(" "):
        edit = rng.randrange(3) if rng.randrange(every) == 0 else None
        if edit == 0:
            out.append(rng.choice(_VOCABULARY))  # changed
        elif edit == 1:
            continue  # dropped
        elif edit == 2:
            out += [word, rng.choice(_VOCABULARY)]  # added
        else:
            out.append(word)
    return " ".join(out)


def _stream(seed: int, count: int = 80) -> tuple[list[str], list[list[int]]]:
    """Texts and, per text, the earlier texts it is aligned against (oldest first): near
    copies, mixes of passages of several texts, texts repeating their own passages,
    whole copies (aligned against the same source in the same round) and new texts."""
    rng = random.Random(seed)
    texts: list[str] = [_article(rng, rng.randint(3, 12)) for _ in range(6)]
    sources: list[list[int]] = [[] for _ in texts]
    while len(texts) < count:
        kind = rng.choice(["near", "mix", "within", "whole", "new"])
        base = rng.randrange(len(texts))
        if kind == "near":
            text = _edited(texts[base], rng, rng.choice([6, 12, 30]))
        elif kind == "mix":
            parts = [texts[rng.randrange(len(texts))] for _ in range(rng.randint(2, 4))]
            text = " ".join(p[rng.randrange(len(p) // 2) :][: rng.randint(80, 600)] for p in parts)
        elif kind == "within":
            passage = _article(rng, 3)
            text = passage + " " + _article(rng, 2) + "\n\n" + _edited(passage, rng, 20)
        elif kind == "whole":
            text = texts[base]
        else:
            text = _article(rng, rng.randint(1, 8))
        chosen = sorted(set([base] + rng.sample(range(len(texts)), min(len(texts), rng.randint(0, 5)))))
        texts.append(text)
        sources.append(chosen)
    return texts, sources


def _one_by_one(monkeypatch, queries, sources, params, within):
    """align text by text, every edge extended alone (extend_edge, the reference)."""
    with monkeypatch.context() as patch:
        patch.setattr(extend_module, "_BATCH_MIN", 1 << 30)
        return [align(q, s, params, within=within) for q, s in zip(queries, sources)]


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("ngram, within", [(5, False), (5, True), (3, True)])
def test_many_texts_aligned_together_give_what_each_aligned_alone_gives(monkeypatch, seed, ngram, within):
    texts, chosen = _stream(seed)
    prepared = prepare(texts, ngram)
    queries = prepared
    sources = [[prepared[i] for i in c] for c in chosen]
    params = RepeatParams(min_length=8, ngram=ngram)
    expected = _one_by_one(monkeypatch, queries, sources, params, within)
    assert any(expected), "the stream has repeats"

    calls = []
    together = extend_module._extend_together

    def pairs_asking(request):
        """The (query, source) pairs whose edges ``request`` asks for, by identity."""
        for part in (request.left, request.right) if isinstance(request, extend_module.ChainEdges) else (request,):
            if isinstance(part, extend_module.EdgeRequest):
                yield id(part.query), id(part.source)
            else:  # a PairsEdgeRequest: the pairs its edges belong to
                yield from ((id(part.pairs[p][0]), id(part.pairs[p][1])) for p in set(part.pair.tolist()))

    def spy(requests, params):
        calls.append(len({pair for request in requests for pair in pairs_asking(request)}))
        return together(requests, params)

    monkeypatch.setattr(extend_module, "_extend_together", spy)
    assert align_many(queries, sources, params, within=within, pairs=PairAlignments()) == expected
    assert max(calls) > 5  # edges of many pairs were extended in one alignment
    # Every extension vectorised (even one edge), and no remembered pairs.
    monkeypatch.setattr(extend_module, "_BATCH_MIN", 1)
    assert align_many(prepare(texts, ngram), sources, params, within=within) == expected


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
@pytest.mark.parametrize("completing_share", [0.0, 0.2, 2.0])
def test_sources_aligned_round_by_round_or_together_give_every_source_resolved_oldest_first(
    monkeypatch, seed, completing_share
):
    # The reference: each pair aligned alone, the spans of all sources resolved at once.
    # align_many goes round by round (one source per text) while a round completes at
    # least completing_share of its texts, then takes every text's remaining sources
    # together: 0 never does, 2 does right after the first round.
    texts, chosen = _stream(seed)
    prepared = prepare(texts, 5)
    sources = [[prepared[i] for i in c] for c in chosen]
    params = RepeatParams(min_length=8)
    expected = []
    for query, text_sources in zip(prepared, sources):
        spans = [
            span for j, source in enumerate(text_sources) for span in aligned_pairs([(query, source)], [j], params)[0]
        ]
        expected.append(to_repeats(query, text_sources, resolve_overlaps(spans, query, params.min_length)))
    assert sum(map(bool, expected)) > 20

    calls: list[list[int]] = []

    def spy(texts, indexes, params, pairs=None):
        calls.append(list(indexes))
        return aligned_pairs(texts, indexes, params, pairs)

    monkeypatch.setattr(engine_module, "_COMPLETING_SHARE", completing_share)
    monkeypatch.setattr(engine_module, "aligned_pairs", spy)
    assert align_many(prepared, sources, params, within=False) == expected
    assert align_many(prepared, sources, params, within=False, pairs=PairAlignments()) == expected
    rounds_together = [indexes for indexes in calls if len(set(indexes)) > 1]
    assert bool(rounds_together) == (completing_share > 0)


class _AlignmentSpy:
    """What align_many does while a test watches: the handles of the sources it has
    prepared (``asked``, a list per call) and the (query, source) pairs it aligns."""

    def __init__(self, prepared: list) -> None:
        self.prepared = prepared
        self.asked: list[list[int]] = []
        self.pairs: list = []

    def prepare_sources(self, handles: list[int]) -> list:
        self.asked.append(list(handles))
        return [self.prepared[i] for i in handles]

    @contextlib.contextmanager
    def watching(self):
        together = engine_module.aligned_pairs

        def spy(pairs, indexes, params, remembered=None):
            self.pairs.extend(pairs)
            return together(pairs, indexes, params, remembered)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(engine_module, "aligned_pairs", spy)
            yield self


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("within", [False, True])
def test_sources_named_by_handles_are_prepared_only_once_aligned_against_and_give_the_same(seed, within):
    texts, chosen = _stream(seed)
    params = RepeatParams(min_length=8)
    # A whole copy of its first source: the text is covered at once, and its other
    # sources (the two after that one) are never aligned against.
    texts.append(texts[10])
    chosen.append([10, 11, 12])
    prepared = prepare(texts, params.ngram)
    expected = align_many(prepared, [[prepared[i] for i in c] for c in chosen], params, within=within)
    assert [(r.start, r.end, r.source) for r in expected[-1]] == [(0, len(texts[-1]), 0)]

    watch = _AlignmentSpy(prepared)
    with watch.watching():
        found = align_many(prepared, chosen, params, within=within, prepare=watch.prepare_sources)
    assert found == expected
    every = [handle for handles in watch.asked for handle in handles]
    assert len(every) == len(set(every))  # each source prepared once
    assert {id(prepared[i]) for i in every} == {id(source) for _, source in watch.pairs}  # ... only those aligned
    assert len(every) < len({i for c in chosen for i in c})  # the copy's later sources were not


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("within", [False, True])
def test_pairs_remembered_by_their_contents_are_answered_without_their_sources_prepared(seed, within):
    texts, chosen = _stream(seed)
    params = RepeatParams(min_length=8)
    prepared = prepare(texts, params.ngram)
    expected = align_many(prepared, [[prepared[i] for i in c] for c in chosen], params, within=within)
    pairs = PairAlignments()
    contents = (texts, lambda handle: texts[handle])  # equal keys for equal texts: the texts themselves

    def run() -> tuple[list, list[int], int]:
        asked: list[int] = []
        aligned = []
        together = engine_module._aligned_across

        def spy(pair_texts, params):
            aligned.extend(pair_texts)
            return together(pair_texts, params)

        def prepare_sources(handles):
            asked.extend(handles)
            return [prepared[i] for i in handles]

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(engine_module, "_aligned_across", spy)
            found = align_many(
                prepared, chosen, params, within=within, pairs=pairs, prepare=prepare_sources, contents=contents
            )
        return found, asked, len(aligned)

    found, asked, aligned = run()
    assert found == expected and aligned > 0
    named = {chosen[k][r.source] for k, repeats in enumerate(expected) for r in repeats if r.source is not None}
    assert named < set(asked)  # the first time, every source aligned against was prepared
    found, asked, aligned = run()
    # The second time every pair is remembered: nothing is aligned, and only the sources
    # that spans name are prepared (for their characters), not those without a span.
    assert found == expected and aligned == 0
    assert set(asked) == named


@pytest.mark.parametrize("seed", [5, 6])
def test_pairs_aligned_together_give_each_pair_s_own_steps_one_run_pairs_too(seed):
    # aligned_pairs verifies the chains of all pairs together (verify.verified_chains),
    # one-run pairs among them: the same spans as each pair's own steps give.
    texts, chosen = _stream(seed, count=160)
    prepared = prepare(texts, 5)
    params = RepeatParams(min_length=8)
    pairs = [(prepared[k], prepared[i]) for k, sources in enumerate(chosen) for i in sources]
    indexes = [j for sources in chosen for j in range(len(sources))]
    # And passages copied with a word changed a few words from either end: one run, whose
    # extensions carry the span over the change to the last words (shorter than a shingle).
    rng = random.Random(seed)
    for _ in range(10):
        passage, head, tail = (" ".join(rng.choice(_VOCABULARY) for _ in range(count)) for count in (30, 4, 4))
        source = f"Kaba {head} {passage} {tail} nitgol."
        copy = f"Lomi {head} {passage} {tail} delrem."
        pairs.append(tuple(prepare([copy, source], 5)))
        indexes.append(0)
    expected = [full_alignment(query, source, params, j) for (query, source), j in zip(pairs, indexes)]
    one_run = [len(runs) == 1 and not runs.period[0] for runs in (seed_runs(q, s, False, params) for q, s in pairs)]
    assert sum(one_run) > 40 and sum(map(bool, expected)) > 80
    # One-run pairs that verify, and some that do not.
    assert sum(bool(spans) for spans, one in zip(expected, one_run) if one) > 40
    assert any(not spans for spans, one in zip(expected, one_run) if one)
    assert aligned_pairs(pairs, indexes, params) == expected


# Made-up "words" of two Chinese characters: a letter weighs less than a word there
# (PreparedText.words sums weights instead of counting tokens).
_HAN = [a + b for a in "水山田木火土金日月风" for b in "雨石花草林雪云海河川"]


@pytest.mark.parametrize("seed", [11, 12, 13])
@pytest.mark.parametrize("ngram, min_length, threshold", [(5, 20, 0.7), (3, 6, 0.9), (2, 4, 0.5)])
def test_chains_verified_level_by_level_for_all_pairs_give_each_pair_s_own_steps(seed, ngram, min_length, threshold):
    # Heavily edited copies: many chains fail whole and are split, level after level
    # (verify.verified_waves, all pairs' chains of a level together); Chinese texts,
    # whose words are weighed; refrains (tandem runs).
    rng = random.Random(seed)
    params = RepeatParams(threshold=threshold, min_length=min_length, ngram=ngram)
    texts = []
    for k in range(40):
        source = _article(rng, rng.randint(2, 10))
        if k % 4 == 1:
            source = "。".join(" ".join(rng.choice(_HAN) for _ in range(rng.randint(5, 15))) for _ in range(8)) + "。"
        if k % 5 == 2:  # a refrain: its shingles all seed at its first one in the source
            refrain = " ".join(["kaba lomi"] * rng.randint(6, 20))
            source = source[: len(source) // 2] + " " + refrain + ". " + source[len(source) // 2 :]
        copy = _edited(source, rng, rng.choice([3, 5, 8, 25]))
        texts.append((copy, source))
    pairs = [tuple(prepare(pair, ngram)) for pair in texts]
    expected = [full_alignment(query, source, params) for query, source in pairs]
    assert aligned_pairs(pairs, [0] * len(pairs), params) == expected
    # What the pairs exercised: parts of failing chains, weighed words, tandem runs.
    waves = []
    for query, source in pairs:
        runs = seed_runs(query, source, False, params)
        chains = chain_runs(runs, query, False, params) if len(runs) else []
        waves.append(([chains.pop() for _ in range(len(chains))], runs))
    levels = verified_waves(pairs, [runs for _, runs in waves], [wave for wave, _ in waves], 0, params)
    assert sum(len(pair_levels) > 1 for pair_levels in levels) >= 3
    assert any(runs.period.any() for _, runs in waves if len(runs))
    assert any(spans for (query, _), spans in zip(pairs, expected) if not query.tokens.all_words)


def test_chains_verified_together_snap_their_edges_as_each_pair_s_own_steps_do():
    # Edges that spill into the sentence before or after a copied passage (its shingles
    # straddle the boundary), with one or two boundaries within the spill, or with the
    # source ending where the copy spills: snapped (or kept) as verified_chain does.
    passage = "Kaba lomi tor mide vasnit. Quirem delpax runsul sopba kagol lonit. Miharsul netor vasba."
    cases = [
        ("Nebafim of said in. " + passage + " Delgol.", "Torjun a was in. " + passage + " Sopmor."),
        ("Runba we ok. Yes. " + passage + " Kajun.", "Lofim say ok. Yes. " + passage + " Miba."),
        ("Vaspax. " + passage + " Next words, and on to the end of it.", "Qui. " + passage + " Next words"),
        ("Delba. " + passage + " Sopfim kamor", "Runpax. " + passage + " Sopfim kamor lex rem nit."),
        ("Torba. " + passage[10:] + " On. So the", "Nepax. " + passage[10:] + " On. So there we were."),
        # One run, extended over a changed word before it: its similarity is measured.
        ("Alpha beta zeta delta " + passage, "Alpha beta gamma delta " + passage),
    ]
    params = RepeatParams(min_length=6, ngram=5)
    pairs = [tuple(prepare(case, 5)) for case in cases]
    expected = [full_alignment(query, source, params) for query, source in pairs]
    assert all(expected)
    assert aligned_pairs(pairs, [0] * len(pairs), params) == expected
    # Some spans were moved off their runs' edges by the snapping, some kept a spill.
    runs = [seed_runs(query, source, False, params) for query, source in pairs]
    starts = [(spans[0].copy_start, int(pair_runs.copy_start[0])) for spans, pair_runs in zip(expected, runs)]
    assert any(span > run for span, run in starts)
    assert expected[-1][0].copy_start == 0 and expected[-1][0].similarity < 1


def test_a_pair_met_twice_in_one_round_is_aligned_once():
    rng = random.Random(7)
    source = _article(rng, 8)
    copy = _edited(source, rng, 40)
    query, again, original = prepare([copy, copy, source], 5)
    params = RepeatParams(min_length=8)
    pairs = PairAlignments()
    found = align_many([query, again], [[original], [original]], params, within=False, pairs=pairs)
    assert len(pairs) == 1
    assert found[0] == found[1] == align(query, [original], params, within=False)
    assert found[0]


@SETTINGS
@given(st.lists(st.tuples(planted(), plain_texts()), min_size=1, max_size=5), st.booleans())
def test_align_many_equals_align_text_by_text(cases, within):
    # Texts made of a passage of one case, followed by another case's own words, aligned
    # against the original texts (a passage copied across texts) and each other.
    originals = [text for (text, _, _), _ in cases]
    queries = [text[len(text) // 3 :] + " " + other for (text, _, _), other in cases]
    prepared = prepare(originals + queries, 3)
    count = len(originals)
    sources = [prepared[:count][k:] + prepared[count : count + k] for k in range(len(queries))]
    params = RepeatParams(min_length=6, ngram=3)
    expected = [align(q, s, params, within=within) for q, s in zip(prepared[count:], sources)]
    assert align_many(prepared[count:], sources, params, within=within, pairs=PairAlignments()) == expected


def _near_copy_pairs(seed: int, count: int, sentences: int, params: RepeatParams):
    """``count`` near copies of new articles (a word edited about every fifth), each with
    its article and the pair's seed runs, and the random source that made them."""
    rng = random.Random(seed)
    for _ in range(count):
        source_text = _article(rng, sentences)
        query, source = prepare([_edited(source_text, rng, 5), source_text])
        yield query, source, seed_runs(query, source, False, params), rng


def test_runs_chained_for_many_pairs_at_once_give_each_pair_s_own_chains(monkeypatch):
    # chain_runs_many reads the runs of the pairs with a few as one list each: the same
    # chains as chain_runs pair by pair, for pairs with none, one, a few runs, and (a
    # block of runs made small) more than a block, read block by block by chain_runs.
    import dedup.align.chain as chain_module

    monkeypatch.setattr(chain_module, "_CHAIN_BLOCK", 8)
    params = RepeatParams()
    pairs = [(query, runs) for query, _, runs, _ in _near_copy_pairs(8, 40, 12, params)]
    sentence = "One sentence of its own that a copy takes whole, word for word, and nothing more."
    for query, source in (("Nothing shared here at all, not one word of it.", "Written by another hand."),
                          (sentence, f"Before it. {sentence} After it.")):
        query, source = prepare([query, source])
        pairs.insert(3, (query, seed_runs(query, source, False, params)))
    sizes = [len(runs) for _, runs in pairs]
    assert 0 in sizes and 1 in sizes
    assert sum(size > 8 for size in sizes) > 10 and sum(1 < size <= 8 for size in sizes) > 10

    def all_chains(chains):
        return [chains.pop() for _ in range(len(chains))]

    together = chain_runs_many([runs for _, runs in pairs], [query for query, _ in pairs], params)
    assert [all_chains(chains) for chains in together] == [
        all_chains(chain_runs(runs, query, False, params)) for query, runs in pairs
    ]


def _runs_near_each_other(draw_runs: list[tuple[int, int, int, int, int]]) -> Runs:
    """Runs in query order from (copy step, copy length, source step, source length,
    tandem) tuples: each run starts ``copy step`` tokens after the one before it starts,
    so that neighbours overlap, touch, or stand a few tokens apart, and ``source step``
    tokens after the end of the one before it in the source (back, near or far)."""
    copy_start, copy_end, source_start, source_end, period = [], [], [], [], []
    at, source_at = 0, 100
    for step, length, source_step, source_length, tandem in draw_runs:
        at += step
        source_at = max(source_at + source_step, 0)
        copy_start.append(at)
        copy_end.append(at + length)
        source_start.append(source_at)
        source_end.append(source_at + source_length)
        source_at += source_length
        period.append(source_length if tandem else 0)
    fields = (copy_start, copy_end, source_start, source_end, period)
    return Runs(*(np.array(values, dtype=np.int32) for values in fields))


# Source steps near the limits of a fit with the default max_gap (40): a substitution's
# gap and a deletion's (twice max_gap plus ngram).
_RUN = st.tuples(
    st.integers(0, 12), st.integers(1, 12), st.integers(-12, 12) | st.integers(36, 44) | st.integers(78, 90),
    st.integers(1, 12), st.sampled_from([False] * 9 + [True]),
)


@settings(SETTINGS, max_examples=max(SETTINGS.max_examples, 1000))  # cheap examples: the limits of a fit are met
@given(st.lists(st.lists(_RUN, min_size=0, max_size=9), min_size=1, max_size=8), st.integers(2, 6))
def test_chained_many_pairs_in_array_steps_as_run_by_run(pairs_runs, ngram):
    # chain_runs_many chains the pairs whose runs meet only the run before them in array
    # steps, the others run by run: every pair's chains are those of chain_runs, whether
    # runs overlap, touch or leave gaps at the limits of a fit, jump back in the source,
    # or are tandem runs. The query has line breaks between lines of three words.
    query = prepare(["\n".join("one two three" for _ in range(80))])[0]
    params = RepeatParams(ngram=ngram, min_length=ngram + 1)
    runs = [_runs_near_each_other(drawn) for drawn in pairs_runs]

    def all_chains(chains):
        return [chains.pop() for _ in range(len(chains))]

    together = chain_runs_many(runs, [query] * len(runs), params)
    assert [all_chains(chains) for chains in together] == [
        all_chains(chain_runs(pair_runs, query, False, params)) for pair_runs in runs
    ]


def _one_step(steps, params: RepeatParams):
    """Run ``Extensions.prepare``'s steps, answering its one step with ``extend_requests``:
    (the requests it asked, what it returned)."""
    asked = []
    try:
        asked = next(steps)
        steps.send(extend_module.extend_requests(asked, params))
    except StopIteration as done:
        return asked, done.value
    raise AssertionError("prepare asked for a second step")


def _edges(runs, first: int, last: int, query, source) -> tuple[tuple, tuple]:
    """The left edge of run ``first`` and the right edge of run ``last``, with their rooms
    across texts, as ``extend_edge`` takes them (after the texts)."""
    cs, ss = int(runs.copy_start[first]), int(runs.source_start[first])
    ce, se = int(runs.copy_end[last]), int(runs.source_end[last])
    return (cs, ss, -1, cs, ss), (ce, se, +1, len(query) - ce, len(source) - se)


def test_the_inner_edges_asked_ahead_are_each_edge_s_own_extension():
    # Parts of a failing chain find their edges answered from the first parts' step: each
    # must be what extending that edge alone gives (extend_edge), and no edge asked twice.
    params = RepeatParams()
    checked = 0
    for query, source, runs, _ in _near_copy_pairs(4, 30, 8, params):
        chains = [list(range(min(len(runs), 12)))]  # a chain of a dozen runs: the edges of all are asked
        extend = extend_module.Extensions(query, source, params)
        asked, _ = _one_step(extend.prepare(chains, runs, False, inner_edges=True), params)
        assert all(len(request) == len(set(request.edges())) for request in asked)
        again = list(extend.prepare(chains, runs, False, inner_edges=True))
        assert again == []  # all answered already: no step
        asked_edges = {(c, s, request.step, cr, sr) for request in asked for c, s, cr, sr in request.edges()}
        for r in chains[0]:
            for edge in _edges(runs, r, r, query, source):
                assert edge in asked_edges
                assert extend(*edge) == extend_module.extend_edge(query, source, *edge, params)
                checked += 1
    assert checked > 300


def test_the_moves_a_first_level_hands_to_verification_are_each_chain_s_own_extensions():
    # Across texts the first level's extensions go to verification chain by chain, not
    # through the table: each must be what extending that chain's edge alone gives.
    params = RepeatParams()
    checked = 0
    for query, source, runs, rng in _near_copy_pairs(6, 40, 12, params):
        chains = [list(range(k, min(k + rng.randint(1, 2), len(runs)))) for k in range(0, len(runs), 2)]
        _, moves = _one_step(extend_module.Extensions(query, source, params).prepare(chains, runs, False), params)
        assert len(moves) == len(chains)
        for chain, answers in zip(chains, moves):
            edges = _edges(runs, chain[0], chain[-1], query, source)
            alone = [extend_module.extend_edge(query, source, *edge, params) for edge in edges]
            assert answers == [*alone[0], *alone[1]]
            checked += 1
    assert checked > 100


def _random_windows(rng: random.Random, lanes: int, rows: int, vocabulary: int):
    """Windows as ``banded_x_drop`` reads them (see ``_Lanes.windows``), of random words
    from a small vocabulary (many equal words), rooms and boundaries."""
    import numpy as np

    from dedup.align.xdrop import BAND

    rows_room = np.array([rng.randint(1, rows) for _ in range(lanes)], dtype=np.int64)
    cols_room = np.array([rng.randint(1, rows) for _ in range(lanes)], dtype=np.int64)
    width = rows + 2 * BAND + 2
    words = np.array([[rng.randrange(vocabulary) for _ in range(lanes)] for _ in range(rows)], dtype=np.int64)
    words[np.arange(rows)[:, None] >= rows_room[None, :]] = -1
    padded = np.full((width, lanes), -2, dtype=np.int64)
    source = np.array([[rng.randrange(vocabulary) for _ in range(lanes)] for _ in range(rows)], dtype=np.int64)
    padded[BAND + 1 : BAND + 1 + rows] = np.where(np.arange(rows)[:, None] < cols_room[None, :], source, -2)
    copy_bound = np.array([[rng.random() < 0.2 for _ in range(lanes)] for _ in range(rows + 1)])
    source_bound = np.zeros((width, lanes), dtype=bool)
    source_bound[BAND : BAND + rows + 1] = [[rng.random() < 0.2 for _ in range(lanes)] for _ in range(rows + 1)]
    return (words, padded, copy_bound, source_bound), rows_room, cols_room


@pytest.mark.parametrize("vocabulary", [2, 3, 6, 40])
def test_the_match_bound_of_an_edge_is_at_least_what_its_alignment_matches(vocabulary):
    from dedup.align.xdrop import banded_x_drop, x_drop_match_bounds

    rng = random.Random(vocabulary)
    window, rows_room, cols_room = _random_windows(rng, 3000, 45, vocabulary)
    matches = banded_x_drop(*window, rows_room, cols_room)[:, 2]
    bounds = x_drop_match_bounds(*window[:2])
    assert (bounds >= matches).all()
    # Below the window's length (what a bound without the X-drop would say) where few
    # words are equal: then most edges are bounded to a few matches.
    assert (bounds < rows_room).mean() > 0.5
    if vocabulary == 40:
        assert (bounds <= 2).mean() > 0.9


def test_the_match_bound_read_by_32_bit_keys_is_never_below_the_bound_by_words():
    # The bound reads each word's 32-bit key (its hash's low bits): equal words have equal
    # keys, and words that differ only above them share one, which can only raise the
    # bound, never lower it.
    from dedup.align.xdrop import x_drop_match_bounds

    pool = extend_module.TextPool(prepare(["one two three two one four two"]))
    texts, positions = np.zeros(7, dtype=np.int64), np.arange(7)
    hashes, keys = pool.words(texts, positions), pool.words(texts, positions, keys=True)
    assert keys.dtype == np.int32 and keys.tolist() == [
        int(h) & 0xFFFFFFFF if int(h) & 0xFFFFFFFF < 2**31 else (int(h) & 0xFFFFFFFF) - 2**32 for h in hashes
    ]
    assert [a == b for a in keys.tolist() for b in keys.tolist()] == [a == b for a in hashes for b in hashes]
    rng = random.Random(4)
    (words, padded, _, _), _, _ = _random_windows(rng, 2000, 45, 6)
    # The words again, each with high bits of its own: no two equal, the same low bits.
    high = np.int64(1) << np.int64(40)
    apart = np.where(words >= 0, words + high * np.arange(1, words.size + 1).reshape(words.shape), words)
    by_words = x_drop_match_bounds(apart, padded)
    by_keys = x_drop_match_bounds(apart.astype(np.int32), padded.astype(np.int32))  # their low 32 bits
    assert (by_keys >= by_words).all() and (by_keys > by_words).mean() > 0.3


def test_chains_too_short_whatever_their_edges_match_are_left_unextended_and_fail(monkeypatch):
    # ChainEdges leaves the edges of a chain unextended (REJECTED) only when verification
    # rejects the chain with its real extensions; every other chain's moves are its own.
    from dedup.align.verify import matched_words, verified_chain

    monkeypatch.setattr(extend_module, "_BATCH_MIN", 1)  # a pair's few edges computed together
    params = RepeatParams()
    rng = random.Random(8)
    rejected = kept = 0
    for _ in range(60):
        # A text of its own with phrases of another (a few words each, which no chain
        # of them makes a repeat) and one passage of it (which verifies).
        source_words = _article(rng, 10).split(" ")
        words_of_query = _article(rng, 10).split(" ")
        for length in (5, 6, 8, 30):
            at, taken = rng.randrange(len(words_of_query)), rng.randrange(len(source_words) - length)
            words_of_query[at:at] = source_words[taken : taken + length]
        query, source = prepare([" ".join(words_of_query), " ".join(source_words)], 5)
        runs = seed_runs(query, source, False, params)
        # Chains of one or two runs.
        chains = [list(range(k, min(k + rng.randint(1, 2), len(runs)))) for k in range(0, len(runs), 2)]
        words = [matched_words(chain, runs, query) for chain in chains]
        extend = extend_module.Extensions(query, source, params)
        asked, moves = _one_step(extend.prepare(chains, runs, False, words=words), params)
        assert len(asked) == 1 and isinstance(asked[0], extend_module.ChainEdges)
        for chain, answers, chain_words in zip(chains, moves, words):
            edges = _edges(runs, chain[0], chain[-1], query, source)
            alone = [extend_module.extend_edge(query, source, *edge, params) for edge in edges]
            span = verified_chain(chain, runs, query, source, 0, params, None, [*alone[0], *alone[1]])
            if answers[2] == extend_module.REJECTED:
                assert answers[5] == extend_module.REJECTED and span is None
                assert chain_words < params.min_length
                rejected += 1
            else:
                assert answers == [*alone[0], *alone[1]]
                kept += 1
    assert rejected > 50 and kept > 50


@SETTINGS
@given(st.integers(0, 2**32 - 1), st.sampled_from([1, 2, 3, 5]))
def test_containments_of_many_spans_are_each_span_s_containment(seed, ngram):
    # verified_chains measures spans together from each shingle's one place in the
    # source; any span, of any pair, must measure what containment() gives it alone.
    from dedup.align.seed import seed_runs_many
    from dedup.align.verify import containment, containments, shingle_places

    rng = random.Random(seed)
    texts = []
    for _ in range(6):
        source = _article(rng, rng.randint(1, 6))
        texts.append((_edited(source, rng, rng.choice([3, 10])), source))
    pairs = [tuple(prepare(pair, ngram)) for pair in texts]
    _, seeds = seed_runs_many(pairs, RepeatParams(ngram=ngram, min_length=max(ngram, 2)), with_seeds=True)
    places = [shingle_places(query, source, pair_seeds) for (query, source), pair_seeds in zip(pairs, seeds)]
    spans = []
    for p, (query, source) in enumerate(pairs):
        for _ in range(20):
            copy_start = rng.randrange(len(query) + 1)
            copy_end = rng.randrange(copy_start, len(query) + 1)
            source_start = rng.randrange(len(source) + 1)
            # Spans in step with the copy (the commonest), and any others.
            length = copy_end - copy_start + rng.choice([-2, -1, 0, 0, 1, 2, rng.randrange(-20, 20)])
            source_end = min(max(source_start + length, source_start), len(source))
            spans.append((p, copy_start, copy_end, source_start, source_end))
    columns = [np.array(column, dtype=np.int64) for column in zip(*spans)]
    expected = [containment(pairs[p][0], (cs, ce), pairs[p][1], (ss, se), ngram) for p, cs, ce, ss, se in spans]
    assert containments(pairs, places, *columns, ngram).tolist() == expected
    if ngram >= 3:  # (single words and word pairs repeat: measured one by one)
        assert any(found is not None for found in places)


@SETTINGS
@given(st.integers(0, 2**32 - 1))
def test_words_between_many_spans_are_each_span_s_words(seed):
    # Chinese, Thai and Latin words weigh differently: the array measure must give
    # PreparedText.words exactly, span by span.
    from dedup.align.prepared import SpanWords

    rng = random.Random(seed)
    made = []
    for _ in range(5):
        parts = [rng.choice(["".join(rng.choice(_HAN) for _ in range(rng.randint(1, 30))),
                             "".join(chr(rng.randint(0x0E01, 0x0E2E)) for _ in range(rng.randint(1, 20))),
                             _sentence(rng)]) for _ in range(rng.randint(1, 6))]
        made.append(" ".join(parts))
    texts = prepare(made, 3)
    spans = [(i, rng.randint(0, len(texts[i])), rng.randint(0, len(texts[i]))) for i in range(5) for _ in range(30)]
    which, first, end = (np.array(column, dtype=np.int64) for column in zip(*spans))
    assert SpanWords(texts).between(which, first, end).tolist() == [texts[i].words(a, b) for i, a, b in spans]
    assert any(not text.tokens.all_words for text in texts)
    # A text met several times (a query against each of its sources): its units once, the
    # same words wherever it stands.
    weighed = [text for text in texts if not text.tokens.all_words]
    again = [weighed[0], texts[1], weighed[0], texts[2], weighed[-1], weighed[0]]
    spans_again = [(k, a, b) for k, text in enumerate(again) for a, b in [(0, len(text)), (1, len(text) // 2)]]
    which, first, end = (np.array(column, dtype=np.int64) for column in zip(*spans_again))
    assert SpanWords(again).between(which, first, end).tolist() == [again[k].words(a, b) for k, a, b in spans_again]
    which, first, end = (np.array(column, dtype=np.int64) for column in zip(*spans))
    # A part of them (as the levels of a verification ask), numbered in its own order.
    part = rng.sample(range(5), rng.randint(1, 5))
    at = {i: k for k, i in enumerate(part)}
    spans = [(i, a, b) for i, a, b in spans if i in at]
    which, first, end = (np.array(column, dtype=np.int64) for column in zip(*spans))
    local = np.array([at[i] for i in which.tolist()], dtype=np.int64)
    expected = [texts[i].words(a, b) for i, a, b in spans]
    assert SpanWords(texts).part(part).between(local, first, end).tolist() == expected


@pytest.mark.parametrize("within", [False, True])
def test_a_text_with_fewer_words_than_a_repeat_is_never_aligned_and_the_result_is_the_same(within):
    # A repeat counts min_length matched words among its copy's words: a shorter text
    # (a headline, a short post) holds none, so align_many aligns it against nothing and
    # prepares none of its sources. What a full alignment of it finds is nothing, too.
    rng = random.Random(9)
    params = RepeatParams(min_length=12)
    sources = [_article(rng, 4) for _ in range(2)] + ["汉字" * 6 + " " + _article(rng, 3)]
    words = sources[0].split()
    short = [
        " ".join(words[:11]),  # a verbatim run of a source, one word short of a repeat
        " ".join(words[3:14]) + " " + " ".join(words[3:14]),  # 22 words: long enough, itself twice
        " ".join(words[:12]),  # exactly min_length words of the source: a repeat
        "汉字" * 6 + " " + " ".join(words[:4]),  # 16 tokens, but a Han letter weighs 0.6 word: 11.2
    ]
    texts = sources + short
    prepared = prepare(texts, params.ngram)
    chosen = [[], [0], [0, 1]] + [[0, 1]] * 3 + [[2]]
    assert [engine_module.holds_repeat(text, params) for text in prepared[3:]] == [False, True, True, False]

    watch = _AlignmentSpy(prepared)
    with watch.watching():
        found = align_many(prepared, chosen, params, within=within, prepare=watch.prepare_sources)
    skipped = [prepared[3], prepared[6]]
    assert not {id(query) for query, _ in watch.pairs} & {id(text) for text in skipped}
    assert found[3] == found[6] == []
    assert [(r.start, r.end, r.source) for r in found[5]] == [(0, len(texts[5]), 0)]  # (characters)
    # Every text aligned in full, none skipped: the same repeats.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(engine_module, "holds_repeat", lambda text, params: True)
        assert align_many(prepared, [[prepared[i] for i in c] for c in chosen], params, within=within) == found
    # Only the texts that hold a repeat asked for their sources: the Chinese one's (2) never.
    assert 2 not in [handle for handles in watch.asked for handle in handles]
