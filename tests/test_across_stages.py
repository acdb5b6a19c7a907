"""Stage 3 of the across pass in a worker: texts prepared in stage 1 are kept for it."""

from __future__ import annotations

import pickle
from collections import Counter

import numpy as np
import pytest

import dedup.across as across
from dedup.across import (
    AlignmentJob, PassCompression, align_articles, keep_prepared, look_up, prepare_batch, prepared_sources,
)
from dedup.align.params import RepeatParams
from dedup.align.prepared import prepare
from dedup.store import MemoryStore, compress_text, decompress_text
from news_texts import stream_with_copies

PARAMS = RepeatParams()


def test_a_kept_pass_is_aligned_as_prepared_and_gives_what_plain_texts_give(monkeypatch):
    # (With a cache of its own: one an earlier test filled with these texts answers first.)
    monkeypatch.setattr(across, "_prepared", across._PreparedCache(across._PREPARED_TOKENS))
    texts = list(dict.fromkeys(stream_with_copies(40, seed=4)))  # copies, but no text twice
    blobs = [compress_text(text) for text in texts]
    prepared, _ = prepare_batch(texts, PARAMS, window=6)
    keep_prepared(blobs, prepared, PARAMS)
    # Found as they were prepared (the same objects: nothing tokenized again).
    assert all(a is b for a, b in zip(prepared_sources(blobs, PARAMS, cache=False), prepared))
    sources = [list(range(max(k - 8, 0), k)) for k in range(len(texts))]  # the 8 before each
    plain = AlignmentJob(texts, sources, blobs, PARAMS, within=False)
    compressed = AlignmentJob(blobs, sources, blobs, PARAMS, within=False, compressed=True)
    expected = align_articles(plain)
    assert align_articles(compressed) == expected
    assert sum(map(len, expected)) > 10  # the stream's copies were found


def test_pairs_a_worker_aligned_are_handed_back_and_not_aligned_again_by_the_job_that_knows_them(monkeypatch):
    # Workers send back the pairs they align (by their texts' compressed digests); a job
    # that carries them (known_pairs) answers them without aligning, the same repeats.
    import dedup.align.engine as engine
    from dedup.across import content_key, merged_jobs
    from dedup.align.engine import PairAlignments

    texts = list(dict.fromkeys(stream_with_copies(40, seed=6)))
    blobs = [compress_text(text) for text in texts]
    sources = [list(range(max(k - 4, 0), k)) for k in range(len(texts))]
    job = AlignmentJob(texts, sources, blobs, PARAMS, within=False, text_blobs=blobs)
    aligned: list = []
    together = engine._aligned_across
    monkeypatch.setattr(engine, "_aligned_across", lambda pairs, params: aligned.extend(pairs) or together(pairs, params))

    monkeypatch.setattr(across, "_pair_alignments", PairAlignments())  # a worker that met none of them
    handed_back: dict = {}
    expected = align_articles(job, None, handed_back)
    keys = {PairAlignments.key_of_contents(content_key(blobs[k]), content_key(blobs[i]), PARAMS)
            for k, chosen in enumerate(sources) for i in chosen}
    assert aligned and set(handed_back) <= keys and len(handed_back) == len(aligned)
    assert any(handed_back.values())  # the stream's copies gave spans

    # Another worker, given them with a job (split in two and merged, as passes are).
    monkeypatch.setattr(across, "_pair_alignments", PairAlignments())
    aligned.clear()
    half, known = len(texts) // 2, list(handed_back)
    parts = [
        AlignmentJob(texts[lo:hi], sources[lo:hi], blobs, PARAMS, within=False, text_blobs=blobs[lo:hi],
                     known_pairs={key: handed_back[key] for key in known[part::2]})
        for part, (lo, hi) in enumerate(((0, half), (half, len(texts))))
    ]
    merged = merged_jobs(parts)
    assert merged.known_pairs == handed_back
    again: dict = {}
    assert align_articles(merged, None, again) == expected
    assert aligned == [] and again == {}  # nothing aligned: every pair was known


def test_a_source_that_is_an_articles_own_text_is_the_article_as_prepared(monkeypatch):
    # Whole copies (an article that recurs: its earlier copy is among its sources) are
    # aligned against the article as prepared: their source is never decompressed, and
    # the repeats are those found with every source prepared from its blob.
    texts = [f"own text {k}. " + text for k, text in enumerate(dict.fromkeys(stream_with_copies(30, seed=11)))]
    articles = [texts[0], texts[1] + " And a sentence of its own, long enough to count here.", texts[2], texts[3]]
    blobs = [compress_text(text) for text in texts]
    article_blobs = [compress_text(text) for text in articles]
    # Each article against its own text (if stored) and two others, oldest first.
    sources = [[0, 5, 6], [1, 5], [2, 7], [8, 3]]
    with_blobs = AlignmentJob(articles, sources, blobs, PARAMS, within=False, text_blobs=article_blobs)
    assert with_blobs.own_text_sources() == [[True, False, False], [False, False], [True, False], [False, True]]
    decompressed, asked = [], []
    monkeypatch.setattr(across, "decompress_text", lambda blob: decompressed.append(blob) or decompress_text(blob))
    monkeypatch.setattr(across, "prepared_sources", lambda blobs, *a, **k: asked.extend(blobs) or prepared_sources(blobs, *a, **k))
    found = align_articles(with_blobs)
    assert blobs[0] not in decompressed and blobs[2] not in decompressed and blobs[3] not in decompressed
    # Articles 0 and 2 are covered by their own texts, their first sources: their later ones are not even prepared.
    assert blobs[6] not in asked and blobs[7] not in asked and blobs[5] in asked  # (article 1 aligns against 5)
    assert blobs[1] in decompressed or across._prepared.get((blobs[1], PARAMS.ngram, PARAMS.mode)) is not None
    expected = align_articles(AlignmentJob(articles, sources, blobs, PARAMS, within=False))
    assert found == expected
    assert [repeats[0][:3] for repeats in (found[0], found[2])] == [(0, len(texts[0]), 0), (0, len(texts[2]), 0)]
    assert found[3] and all(source == 1 for _, _, source, *_ in found[3])  # its own text, second


def test_only_the_last_few_passes_are_kept():
    passes = [[f"pass {n}: " + text for text in stream_with_copies(3, seed=n)] for n in range(across._KEPT_PASSES + 2)]
    kept = []
    for texts in passes:
        blobs = [compress_text(text) for text in texts]
        prepared, _ = prepare_batch(texts, PARAMS, window=6)
        keep_prepared(blobs, prepared, PARAMS)
        kept.append((blobs, prepared))
    newest_blobs, newest = kept[-1]
    assert all(a is b for a, b in zip(prepared_sources(newest_blobs, PARAMS, cache=False), newest))
    oldest_blobs, oldest = kept[0]
    again = prepared_sources(oldest_blobs, PARAMS, cache=False)  # dropped: prepared anew, the same tokens
    assert not any(a is b for a, b in zip(again, oldest))
    assert [a.text for a in again] == [b.text for b in oldest]
    assert all((a.tokens.hashes == b.tokens.hashes).all() for a, b in zip(again, oldest))


def test_fewer_passes_kept_when_asked_and_the_newest_stay():
    passes = [[f"kept {n}: " + text for text in stream_with_copies(3, seed=n)] for n in range(4)]
    kept = []
    for texts in passes:
        blobs = [compress_text(text) for text in texts]
        prepared, _ = prepare_batch(texts, PARAMS, window=6)
        keep_prepared(blobs, prepared, PARAMS, passes=2)
        kept.append((blobs, prepared))
    found = [all(a is b for a, b in zip(prepared_sources(blobs, PARAMS, cache=False), prepared)) for blobs, prepared in kept]
    assert found == [False, False, True, True]


def test_in_one_process_a_source_of_an_earlier_pass_is_found_as_stage_1_prepared_it(monkeypatch):
    # A Deduplicator in one process keeps the passes it looks up findable (five: those
    # whose alignment is merged into one job, and the one before): an article of the
    # fourth pass copying one of the first aligns against it as prepared there, with the
    # same result as a Deduplicator that prepares every source again.
    import dedup.deduplicator as deduplicator_module
    from dedup import Deduplicator

    texts = [f"article {k}: " + text for k, text in enumerate(dict.fromkeys(stream_with_copies(30, seed=21)))][:11]
    copy = texts[1] + " And a closing sentence of this copy's own, long enough to be kept here."
    monkeypatch.setattr(deduplicator_module, "_ARTICLES_PER_PASS", 3)  # the copy is the last of four passes
    expected = Deduplicator(scope="across").add_many([*texts, copy])
    tokenized = []
    monkeypatch.setattr(across, "prepare", lambda texts, *a, **k: tokenized.extend(texts) or prepare(texts, *a, **k))

    def nothing_prepared_before():  # (stage 1 finds the texts the run before kept, too)
        monkeypatch.setattr(across, "_prepared", across._PreparedCache(across._PREPARED_TOKENS))
        monkeypatch.setattr(across, "_kept_passes", type(across._kept_passes)(maxlen=across._KEPT_PASSES))

    nothing_prepared_before()
    found = Deduplicator(scope="across").add_many([*texts, copy])
    assert found == expected and 1 in [m.source_id for m in found[-1]]
    assert texts[1] not in tokenized
    monkeypatch.setattr(deduplicator_module, "_KEPT_PASSES_IN_ONE_PROCESS", 2)  # the merged job's last two only
    nothing_prepared_before()
    assert Deduplicator(scope="across").add_many([*texts, copy]) == expected
    assert texts[1] in tokenized  # (the check above can fail)


def test_stage_two_gives_the_same_from_what_a_worker_sends_back():
    # A worker sends a pass's keys pickled; the look-up gives the same holders and
    # remembered fingerprints.
    texts = stream_with_copies(60, seed=9)
    _, first = prepare_batch(texts[:30], PARAMS, window=6)
    _, second = prepare_batch(texts[30:], PARAMS, window=6)
    store = MemoryStore(max_holders=2)
    _, _, remembered = look_up(store, first)
    store.add_many([f"a{i}" for i in range(30)], texts[:30], remembered, [compress_text(t) for t in texts[:30]])
    sent = pickle.loads(pickle.dumps(second))
    assert len(sent) == len(second) == 30
    for in_batch in (True, False):
        article, holder, kept = look_up(store, second, in_batch=in_batch)
        article_sent, holder_sent, kept_sent = look_up(store, sent, in_batch=in_batch)
        assert article.tolist() == article_sent.tolist() and holder.tolist() == holder_sent.tolist()
        assert [k.tolist() for k in kept] == [k.tolist() for k in kept_sent]
        assert all(k.dtype == np.uint64 for k in kept_sent)
    assert len(article) > 100  # the stream's copies meet their sources in the store


@pytest.mark.parametrize("max_holders", [1, 2, 4])
def test_a_pass_looked_up_at_once_finds_what_its_articles_find_one_by_one(max_holders):
    # Stage 2 looks up a pass at once as if its articles were looked up and stored one by
    # one: the same (article, holder) pairs, once per key shared, and the same keys held
    # (no more than max_holders articles hold a key), whether the holder was stored
    # before or comes earlier in the pass.
    texts = stream_with_copies(70, seed=21)
    stored, later = texts[:25], texts[25:]
    stores = []
    for _ in range(2):
        store = MemoryStore(max_holders=max_holders)
        _, _, held = look_up(store, prepare_batch(stored, PARAMS, window=6)[1])
        store.add_many([f"a{i}" for i in range(25)], stored, held, [compress_text(t) for t in stored])
        stores.append(store)
    together, one_by_one = stores
    article, holder, held = look_up(together, prepare_batch(later, PARAMS, window=6)[1])
    expected, expected_held = Counter(), []
    for k, text in enumerate(later):
        _, holders, held_one = look_up(one_by_one, prepare_batch([text], PARAMS, window=6)[1])
        expected.update((k, h) for h in holders.tolist())
        expected_held.append(held_one[0].tolist())
        one_by_one.add_many([f"b{k}"], [text], held_one, [compress_text(text)])
    assert Counter(zip(article.tolist(), holder.tolist())) == expected
    assert [keys.tolist() for keys in held] == expected_held
    found, _ = one_by_one.holders(prepare_batch(texts, PARAMS, window=6)[1].distinct)
    assert np.bincount(found).max() == max_holders  # the earliest max_holders hold a key, no more
    assert min(holder) < 25 <= max(holder)  # holders stored before, and earlier in the pass
    assert sum(count > 1 for count in expected.values()) > 20  # most pairs share several keys


def test_each_article_s_own_keys_and_fingerprints_come_on_demand():
    # Spark's stage 1 reads each article's keys and fingerprints (distinct, sorted): the
    # shingle hashes of its text, and the winnowed ones among them.
    texts = ["one two three one two three four", "", "four five six seven", "one two three one two three four"]
    _, keys = prepare_batch(texts, RepeatParams(ngram=3), window=2)
    looked_up, held = keys.keys_by_article(), keys.fingerprints_by_article()
    for i, text in enumerate(texts):
        shingles = prepare([text], 3)[0].shingles
        assert looked_up[i].tolist() == sorted(set(shingles.tolist()))
        assert set(held[i].tolist()) <= set(looked_up[i].tolist()) and len(held[i]) >= min(len(shingles), 1)
        assert held[i].tolist() == sorted(set(held[i].tolist()))
    assert looked_up[0].tolist() == looked_up[3].tolist() and held[0].tolist() == held[3].tolist()
    assert keys.key_counts.tolist() == [4, 0, 2, 4] and keys.shingle_counts.tolist() == [5, 0, 2, 5]


def test_a_store_given_a_pass_s_held_keys_as_one_run_holds_what_it_holds_given_them_per_article():
    # look_up hands the store its keys sorted by key, then article (HeldKeys), which the
    # memory store keeps without sorting them again: the same runs as from per-article lists.
    texts = stream_with_copies(90, seed=3)
    blobs = [compress_text(t) for t in texts]
    as_run, as_lists = MemoryStore(max_holders=2), MemoryStore(max_holders=2)
    for lo in range(0, 90, 30):
        _, keys = prepare_batch(texts[lo : lo + 30], PARAMS, window=6)
        _, _, held = look_up(as_run, keys)
        _, _, held_too = look_up(as_lists, keys)
        as_run.add_many([f"a{i}" for i in range(lo, lo + 30)], texts[lo : lo + 30], held, blobs[lo : lo + 30])
        per_article = [np.array(keys_of_one) for keys_of_one in held_too]
        as_lists.add_many([f"a{i}" for i in range(lo, lo + 30)], texts[lo : lo + 30], per_article, blobs[lo : lo + 30])
        assert [k.tolist() for k in held] == [k.tolist() for k in per_article]
    probe = prepare_batch(texts, PARAMS, window=6)[1].distinct  # every key of the texts
    found, holders = as_run.holders(probe)
    assert found.tolist() == as_lists.holders(probe)[0].tolist()
    assert holders.tolist() == as_lists.holders(probe)[1].tolist()
    assert len(found) > 1000


def test_cached_sources_hold_arrays_of_their_own_and_are_found_again():
    # A source kept in the cache is a copy (dedup.align.PreparedText.detached), not a view
    # of the batch it was prepared in, which would keep the whole batch alive.
    texts = [f"cache {n}: " + text for n, text in enumerate(stream_with_copies(6, seed=9))]
    blobs = [compress_text(text) for text in texts]
    prepared, _ = prepare_batch(texts, PARAMS, window=6)
    keep_prepared(blobs, prepared, PARAMS)
    cached = prepared_sources(blobs, PARAMS)
    for copy, original in zip(cached, prepared):
        assert copy is not original and copy.text == original.text
        assert np.array_equal(copy.tokens.hashes, original.tokens.hashes)
        assert np.array_equal(copy.shingles, original.shingles)
        assert not np.shares_memory(copy.tokens.hashes, original.tokens.hashes)
        assert copy.tokens.hashes.base is None and copy.shingles.base is None  # not views
    assert all(a is b for a, b in zip(prepared_sources(blobs, PARAMS), cached))  # found again


def test_a_text_prepared_before_as_a_source_is_not_tokenized_again_in_stage_1():
    texts = [f"again {n}: " + text for n, text in enumerate(stream_with_copies(8, seed=12))]
    blobs = [compress_text(text) for text in texts]
    sources = prepared_sources(blobs[::2], PARAMS)  # every other text, now in the cache
    prepared, keys = prepare_batch(texts, PARAMS, window=6, blobs=blobs)
    assert all(a is b for a, b in zip(prepared[::2], sources))  # taken from the cache
    fresh, fresh_keys = prepare_batch(texts, PARAMS, window=6)  # every text tokenized
    assert [text.text for text in prepared] == texts
    assert all(np.array_equal(a.shingles, b.shingles) for a, b in zip(prepared, fresh))
    for field in ("key_counts", "distinct", "articles_per_key", "key_owner", "fingerprint_index", "fingerprint_owner"):
        assert np.array_equal(getattr(keys, field), getattr(fresh_keys, field)), field


def test_a_text_of_a_kept_pass_is_not_tokenized_again_in_stage_1(monkeypatch):
    # A re-run a few passes after its original (most re-runs of a stream that recurs):
    # stage 1 takes it from the passes kept for stage 3, as it takes a cached source.
    monkeypatch.setattr(across, "_prepared", across._PreparedCache(across._PREPARED_TOKENS))
    monkeypatch.setattr(across, "_kept_passes", type(across._kept_passes)(maxlen=across._KEPT_PASSES))
    texts = [f"kept {n}: " + text for n, text in enumerate(stream_with_copies(8, seed=14))]
    blobs = [compress_text(text) for text in texts]
    earlier, _ = prepare_batch(texts[:4], PARAMS, window=6)
    keep_prepared(blobs[:4], earlier, PARAMS, passes=2)
    prepared, keys = prepare_batch(texts, PARAMS, window=6, blobs=blobs)
    for copy, original in zip(prepared[:4], earlier):  # copies with arrays of their own, cached
        assert copy.text == original.text and np.array_equal(copy.tokens.hashes, original.tokens.hashes)
        assert not np.shares_memory(copy.tokens.hashes, original.tokens.hashes)
        assert copy is across._prepared.get((compress_text(copy.text), PARAMS.ngram, PARAMS.mode))
    fresh, fresh_keys = prepare_batch(texts, PARAMS, window=6)  # every text tokenized
    assert all(np.array_equal(a.shingles, b.shingles) for a, b in zip(prepared, fresh))
    for field in ("key_counts", "distinct", "articles_per_key", "key_owner", "fingerprint_index", "fingerprint_owner"):
        assert np.array_equal(getattr(keys, field), getattr(fresh_keys, field)), field
    assert all(text.text == original for text, original in zip(prepared[4:], texts[4:]))
    # Not kept, nor cached: tokenized.
    monkeypatch.setattr(across, "_prepared", across._PreparedCache(across._PREPARED_TOKENS))
    for _ in range(2):
        keep_prepared([], [], PARAMS, passes=2)
    again, _ = prepare_batch(texts[:4], PARAMS, window=6, blobs=blobs[:4])
    assert not any(across._prepared.get((blob, PARAMS.ngram, PARAMS.mode)) for blob in blobs[:4])


def test_a_pass_is_compressed_as_the_store_keeps_it_one_object_for_a_text_met_again(monkeypatch):
    monkeypatch.setattr(across, "_COMPRESS_IN_THREAD_FROM", 4)  # these passes in a thread
    texts = [f"pass text {n}: " + text for n, text in enumerate(stream_with_copies(12, seed=21))]
    first = texts[:8] + texts[:2]  # two texts twice in one pass
    with PassCompression(first) as compressing:
        assert compressing.known == [None] * len(first)  # new: none at once
    blobs = compressing.blobs
    assert [decompress_text(blob) for blob in blobs] == first
    assert all(blob == compress_text(text) for blob, text in zip(blobs, first))
    assert blobs[8] is blobs[0] and blobs[9] is blobs[1]
    # Met again in a later pass: at once, the same objects; the new texts in the thread.
    second = texts[4:12]
    with PassCompression(second) as again:
        assert again.known[:4] == blobs[4:8] and all(a is b for a, b in zip(again.known[:4], blobs[4:8]))
        assert again.known[4:] == [None] * 4
    assert all(a is b for a, b in zip(again.blobs[:4], blobs[4:8]))
    assert [decompress_text(blob) for blob in again.blobs] == second


@pytest.mark.parametrize("in_thread_from", [1, 1000])
def test_a_failure_to_compress_is_raised_where_the_pass_waits_for_it(monkeypatch, in_thread_from):
    monkeypatch.setattr(across, "_COMPRESS_IN_THREAD_FROM", in_thread_from)

    def failing(text):
        raise MemoryError("no room")

    monkeypatch.setattr(across, "compress_text", failing)
    texts = [f"never compressed {n}" for n in range(3)]
    with pytest.raises(MemoryError, match="no room"):
        with PassCompression(texts):
            pass
    assert not any(PassCompression(texts).known)  # nothing half-made was kept
