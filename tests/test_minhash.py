"""MinHash signatures: accuracy, determinism, datasketch equality and interop, errors."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from datasketch import LeanMinHash, MinHash, MinHashLSH
from hypothesis import given, settings
from hypothesis import strategies as st

import dedup.minhash as minhash_module
import dedup.text as text_module
from dedup.minhash import EMPTY, MinHasher, fold32, jaccard
from dedup.shingle import shingles
from dedup.text import tokenize

SRC = str(Path(__file__).resolve().parents[1] / "src")

ARTICLE = (
    "De gemeenteraad van Utrecht heeft dinsdagavond ingestemd met het plan om de binnenstad "
    "autoluw te maken. Vanaf volgend jaar mogen alleen bewoners, bevoorrading en hulpdiensten "
    "nog door de smalle straten rond de Dom rijden. Ondernemers zijn verdeeld: de een vreest "
    "minder klanten, de ander verwacht juist meer wandelaars die langer blijven."
)
STORY = (
    "The council voted on Tuesday night to close the old town centre to most cars from next "
    "spring. Residents, deliveries and emergency services will still be allowed through the "
    "narrow streets, while shop owners remain divided about what the change will mean for trade."
)


def datasketch_signature(values32: np.ndarray, num_perm: int = 128, seed: int = 1) -> np.ndarray:
    """datasketch's own affine32 MinHash of the given 32-bit values."""
    reference = MinHash(num_perm=num_perm, seed=seed, scheme="affine32", hashfunc=lambda x: x)
    reference.update_batch(values32.tolist())
    return reference.hashvalues


def text_values32(text: str, ngram: int = 5, mode: str = "word") -> np.ndarray:
    tokens = tokenize([text], mode)
    hashes, _ = shingles(tokens.hashes, tokens.offsets, ngram)
    return fold32(hashes)


# --- shape and basic behaviour ------------------------------------------------------


def test_sign_returns_one_uint32_row_per_text():
    sigs = MinHasher(num_perm=64).sign([ARTICLE, STORY, ""])
    assert sigs.shape == (3, 64) and sigs.dtype == np.uint32


def test_empty_batch_gives_empty_array():
    assert MinHasher(num_perm=32).sign([]).shape == (0, 32)


def test_identical_texts_have_identical_signatures_and_estimate_one():
    sigs = MinHasher().sign([ARTICLE, ARTICLE])
    assert np.array_equal(sigs[0], sigs[1])
    assert jaccard(sigs[0], sigs[1]) == 1.0


def test_case_accents_and_soft_hyphens_do_not_change_the_signature():
    variant = ARTICLE.upper().replace("binnenstad", "binnen\u00adstad").replace("een", "één")
    sigs = MinHasher().sign([ARTICLE, variant])
    assert np.array_equal(sigs[0], sigs[1])


def test_unrelated_texts_estimate_near_zero():
    sigs = MinHasher().sign([ARTICLE, STORY])
    assert jaccard(sigs[0], sigs[1]) < 0.05


def test_text_without_tokens_gets_the_empty_signature():
    sigs = MinHasher(num_perm=16).sign(["", "  \n", "!?"])
    assert (sigs == EMPTY).all()


def test_text_shorter_than_one_ngram_gets_a_usable_signature():
    hasher = MinHasher(num_perm=64, ngram=5)
    sigs = hasher.sign(["Korte kop", "korte KOP!", "Andere kop"])
    assert not (sigs[0] == EMPTY).any()
    assert np.array_equal(sigs[0], sigs[1])
    assert jaccard(sigs[0], sigs[2]) < 0.2


def test_sign_one_equals_the_row_of_sign():
    hasher = MinHasher(num_perm=32)
    assert np.array_equal(hasher.sign_one(STORY), hasher.sign([ARTICLE, STORY])[1])


def test_sign_accepts_any_iterable_of_str():
    hasher = MinHasher(num_perm=16)
    expected = hasher.sign([ARTICLE, STORY])
    assert np.array_equal(hasher.sign((ARTICLE, STORY)), expected)
    assert np.array_equal(hasher.sign(t for t in [ARTICLE, STORY]), expected)


def test_char_mode_signs_text_without_spaces():
    hasher = MinHasher(num_perm=64, ngram=3, mode="char")
    a = "東京都は明日から新しい交通規則を導入すると発表した"
    sigs = hasher.sign([a, a + "。", "大阪では雨が続いている"])
    assert np.array_equal(sigs[0], sigs[1])
    assert jaccard(sigs[0], sigs[2]) < 0.1


def test_default_auto_mode_signs_spaced_text_exactly_as_word_mode():
    texts = [ARTICLE, STORY, "Москва — столица России, а Αθήνα είναι πρωτεύουσα."]
    assert np.array_equal(MinHasher(num_perm=64).sign(texts), MinHasher(num_perm=64, mode="word").sign(texts))


def test_default_auto_mode_finds_near_duplicates_written_without_spaces():
    # In word mode each clause is one token: one changed character changes the token.
    a = "东京都政府今天宣布，从明年四月起将在市中心实施新的交通规则，以减少拥堵和空气污染。"
    b = a.replace("四月", "五月")
    auto, word = MinHasher(num_perm=128), MinHasher(num_perm=128, mode="word")
    assert jaccard(*auto.sign([a, b])) > 0.6
    assert jaccard(*word.sign([a, b])) < 0.3


def test_jaccard_row_wise_on_2d_arrays():
    sigs = MinHasher(num_perm=32).sign([ARTICLE, STORY, ARTICLE])
    estimates = jaccard(sigs[:2], sigs[1:])
    assert estimates.shape == (2,)
    assert estimates[1] < 0.1 and jaccard(sigs[0], sigs[2]) == 1.0


def test_jaccard_rejects_signatures_of_different_lengths():
    with pytest.raises(ValueError, match="differ in length: 4 vs 5"):
        jaccard(np.zeros(4, np.uint32), np.zeros(5, np.uint32))


# --- accuracy -----------------------------------------------------------------------


def _pairs_of_known_overlap(rng: np.random.Generator, n_pairs: int):
    """Random sets A, B of distinct 32-bit values with exact Jaccard |A&B| / |A|B|."""
    sets, truths = [], []
    for _ in range(n_pairs):
        union = int(rng.integers(40, 400))
        shared = int(rng.integers(1, union))
        only_a = int(rng.integers(0, union - shared + 1))
        values = rng.choice(1 << 32, size=union, replace=False).astype(np.uint32)
        a = values[: shared + only_a]
        b = np.r_[values[:shared], values[shared + only_a :]]
        sets += [a, b]
        truths.append(shared / union)
    return sets, np.array(truths)


@pytest.mark.parametrize("num_perm", [64, 128, 256])
def test_estimates_match_exact_jaccard_within_binomial_error(num_perm):
    rng = np.random.default_rng(20260101 + num_perm)
    sets, truth = _pairs_of_known_overlap(rng, 400)
    offsets = np.r_[0, np.cumsum([len(s) for s in sets])]
    sigs = MinHasher(num_perm=num_perm, seed=7).sign_hashes(np.concatenate(sets), offsets)
    estimates = jaccard(sigs[0::2], sigs[1::2])
    z = (estimates - truth) / np.sqrt(truth * (1 - truth) / num_perm)
    # Each estimate is a binomial share of num_perm slots: z-scores ~ N(0, 1).
    assert abs(z.mean()) < 4 / np.sqrt(len(z))  # unbiased
    assert 0.75 < z.std() < 1.25  # spread as the binomial model says
    assert np.mean(np.abs(z) > 3) < 0.02  # no heavy tail
    assert np.abs(estimates - truth).mean() < 1.0 / np.sqrt(num_perm)


def test_estimates_from_texts_match_exact_word_jaccard():
    rng = np.random.default_rng(5)
    vocabulary = np.array([f"woord{i}" for i in range(5000)])
    hasher = MinHasher(num_perm=128, ngram=1)
    texts, truth = [], []
    for _ in range(150):
        words = rng.choice(vocabulary, size=int(rng.integers(50, 200)), replace=False)
        shared = int(rng.integers(1, len(words)))
        split = shared + int(rng.integers(0, len(words) - shared + 1))
        texts += [" ".join(words[:split]), " ".join(np.r_[words[:shared], words[split:]])]
        truth.append(shared / len(words))
    sigs = hasher.sign(texts)
    truth = np.array(truth)
    z = (jaccard(sigs[0::2], sigs[1::2]) - truth) / np.sqrt(truth * (1 - truth) / 128)
    assert abs(z.mean()) < 4 / np.sqrt(len(z))
    assert 0.7 < z.std() < 1.3


# --- equality with datasketch -------------------------------------------------------


def test_signature_equals_datasketch_fed_the_same_shingle_hashes():
    hasher = MinHasher(num_perm=128, seed=1)
    for text in [ARTICLE, STORY, "Korte kop"]:
        assert np.array_equal(hasher.sign_one(text), datasketch_signature(text_values32(text)))


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.integers(0, 2**32 - 1), max_size=60),
    st.integers(1, 300),
    st.integers(0, 2**32 - 1),
)
def test_sign_hashes_equals_datasketch_for_any_values_size_and_seed(values, num_perm, seed):
    values32 = np.array(values, dtype=np.uint32)
    ours = MinHasher(num_perm=num_perm, seed=seed).sign_hashes(values32, np.array([0, len(values32)]))[0]
    assert np.array_equal(ours, datasketch_signature(values32, num_perm, seed))


def test_permutations_are_datasketchs():
    hasher = MinHasher(num_perm=100, seed=42)
    assert np.array_equal(hasher.permutations, MinHash(num_perm=100, seed=42, scheme="affine32").permutations)


# --- determinism and batch independence ---------------------------------------------

_SUBPROCESS = """
import hashlib, sys
from dedup.minhash import MinHasher
texts = sys.stdin.read().split("\\x1e")
sigs = MinHasher(num_perm=128, seed=3).sign(texts)
print(hashlib.sha256(sigs.tobytes()).hexdigest())
"""


def test_signatures_are_identical_in_separate_processes_with_different_hash_seeds():
    texts = [ARTICLE, STORY, "Korte kop", "東京は晴れ", ""]
    payload = "\x1e".join(texts)
    digests = []
    for hash_seed in ["0", "1", "98765"]:
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": SRC}
        done = subprocess.run(
            [sys.executable, "-c", _SUBPROCESS], input=payload, env=env, capture_output=True, text=True, check=True
        )
        digests.append(done.stdout.strip())
    here = hashlib.sha256(MinHasher(num_perm=128, seed=3).sign(texts).tobytes()).hexdigest()
    assert digests == [here] * 3


def test_same_seed_same_signature_other_seed_other_signature():
    a, b, c = MinHasher(seed=1), MinHasher(seed=1), MinHasher(seed=2)
    assert np.array_equal(a.sign_one(ARTICLE), b.sign_one(ARTICLE))
    assert jaccard(a.sign_one(ARTICLE), c.sign_one(ARTICLE)) < 0.1


@pytest.mark.parametrize("short_set", [0, 4, 64])
def test_signature_does_not_depend_on_the_batch(monkeypatch, short_set):
    hasher = MinHasher(num_perm=20)
    texts = [ARTICLE, "", STORY, "Korte kop", ARTICLE + " " + STORY] * 3
    alone = [hasher.sign_one(t) for t in texts]
    # Tiny chunks and blocks: sets span many blocks, texts span many chunks.
    monkeypatch.setattr(minhash_module, "_BLOCK_SHINGLES", 7)
    monkeypatch.setattr(minhash_module, "_PERMS_PER_PASS", 3)
    monkeypatch.setattr(minhash_module, "_SHORT_SET", short_set)
    monkeypatch.setattr(text_module, "_CHUNK_CHARS", 100)
    assert np.array_equal(hasher.sign(texts), np.array(alone))
    assert np.array_equal(hasher.sign(texts[::-1]), np.array(alone[::-1]))


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.lists(st.integers(0, 2**32 - 1), max_size=40), max_size=12),
    st.integers(1, 40),
    st.integers(1, 9),
    st.sampled_from([0, 1, 3, 8, 64]),
)
def test_sign_hashes_equals_a_set_by_set_reference_for_any_layout(sets, block, perms_per_pass, short_set):
    hasher = MinHasher(num_perm=17, seed=11)
    values = np.array([v for s in sets for v in s], dtype=np.uint32)
    offsets = np.r_[0, np.cumsum([len(s) for s in sets])].astype(np.int64)
    a, b = hasher.permutations
    expected = np.full((len(sets), 17), EMPTY, dtype=np.uint32)
    for i, s in enumerate(sets):
        if s:
            mixed = minhash_module._fmix32(np.array(s, dtype=np.uint32))
            expected[i] = (a[:, None] * mixed[None, :] + b[:, None]).min(axis=1)
    names = ("_BLOCK_SHINGLES", "_PERMS_PER_PASS", "_SHORT_SET")
    old = [getattr(minhash_module, name) for name in names]
    try:
        for name, value in zip(names, (block, perms_per_pass, short_set)):
            setattr(minhash_module, name, value)
        got = hasher.sign_hashes(values, offsets)
    finally:
        for name, value in zip(names, old):
            setattr(minhash_module, name, value)
    assert np.array_equal(got, expected)


def test_sets_may_cover_only_part_of_the_values():
    hasher = MinHasher(num_perm=16)
    values = np.arange(1000, 1300, dtype=np.uint32)
    offsets = np.array([10, 20, 20, 150, 290])
    expected = hasher.sign_hashes(values[10:290], offsets - 10)
    assert np.array_equal(hasher.sign_hashes(values, offsets), expected)
    for i in range(4):
        alone = hasher.sign_hashes(values[offsets[i] : offsets[i + 1]], np.array([0, offsets[i + 1] - offsets[i]]))
        assert np.array_equal(expected[i], alone[0])


_WORDS = ["de", "het", "kabinet", "wil", "één", "café", "coöperatie", "zo'n", "auto's", "2019", "Straße", "naïeve", "don't"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(_WORDS), min_size=1, max_size=30), st.data())
def test_signature_ignores_case_spacing_soft_hyphens_and_apostrophe_style(words, data):
    hasher = MinHasher(num_perm=32, ngram=3)
    text = " ".join(words)
    spaces = data.draw(st.lists(st.sampled_from([" ", "\u00a0", "\n", "  ", "\t", " - ", ", "]),
                                min_size=len(words) - 1, max_size=len(words) - 1))
    variant = words[0] + "".join(space + word for space, word in zip(spaces, words[1:]))
    variant = variant.replace("ee", "e\u00ade").replace("ß", "ss").upper().replace("'", "\u2019")
    assert np.array_equal(hasher.sign_one(text), hasher.sign_one(variant))


def test_signing_from_several_threads_equals_signing_serially():
    from concurrent.futures import ThreadPoolExecutor

    hasher = MinHasher(num_perm=64)
    texts = [f"{ARTICLE} 𝐀𝐁𝐂 {i} ﬁnale 😀 {STORY[: 40 + i]}" for i in range(40)]
    serial = hasher.sign(texts)
    with ThreadPoolExecutor(4) as pool:
        rows = list(pool.map(hasher.sign_one, texts))
    assert np.array_equal(np.array(rows), serial)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 12), max_size=10), st.integers(1, 4))
def test_sign_tokens_signs_each_segment_as_if_alone(segment_sizes, ngram):
    hasher = MinHasher(num_perm=16, ngram=ngram)
    words = [f"woord{i % 17}" for i in range(sum(segment_sizes))]
    tokens = tokenize([" ".join(words)])
    offsets = np.r_[0, np.cumsum(segment_sizes)].astype(np.int64)
    signed = hasher.sign_tokens(tokens, offsets)
    assert signed.shape == (len(segment_sizes), 16)
    for i in range(len(segment_sizes)):
        alone = hasher.sign_one(" ".join(words[offsets[i] : offsets[i + 1]]))
        assert np.array_equal(signed[i], alone)


# --- datasketch interop -------------------------------------------------------------


def test_round_trip_through_lean_minhash():
    hasher = MinHasher(num_perm=128, seed=1)
    signature = hasher.sign_one(ARTICLE)
    lean = hasher.to_datasketch(signature)
    assert isinstance(lean, LeanMinHash)
    assert lean.seed == 1 and lean.scheme == "affine32"
    assert np.array_equal(hasher.from_datasketch(lean), signature)


def test_round_trip_through_minhash_which_keeps_updating_like_ours():
    hasher = MinHasher(num_perm=64, seed=9, ngram=5)
    full = hasher.to_datasketch(hasher.sign_one(ARTICLE), lean=False)
    assert type(full) is MinHash
    assert np.array_equal(hasher.from_datasketch(full), hasher.sign_one(ARTICLE))
    # Updating the converted MinHash with more shingles equals signing the union.
    full.hashfunc = lambda x: x
    full.update_batch(text_values32(STORY).tolist())
    union = np.minimum(hasher.sign_one(ARTICLE), hasher.sign_one(STORY))
    assert np.array_equal(hasher.from_datasketch(full), union)


def test_datasketch_jaccard_equals_ours_on_converted_signatures():
    hasher = MinHasher()
    sigs = hasher.sign([ARTICLE, ARTICLE.replace("Utrecht", "Leiden").replace("Dom", "Burcht")])
    ours = jaccard(sigs[0], sigs[1])
    theirs = hasher.to_datasketch(sigs[0]).jaccard(hasher.to_datasketch(sigs[1]))
    assert 0.3 < ours < 1.0 and ours == pytest.approx(theirs)


def test_converted_signatures_work_in_datasketch_lsh():
    hasher = MinHasher(num_perm=128)
    edited = ARTICLE.replace("dinsdagavond", "woensdagavond")
    sigs = hasher.sign([ARTICLE, edited, STORY])
    lsh = MinHashLSH(threshold=0.5, num_perm=128)
    for key, sig in zip(["article", "edited", "story"], sigs):
        lsh.insert(key, hasher.to_datasketch(sig))
    assert sorted(lsh.query(hasher.to_datasketch(sigs[0]))) == ["article", "edited"]
    # A MinHash built by datasketch itself from the same shingles finds the same keys.
    native = MinHash(num_perm=128, seed=1, scheme="affine32", hashfunc=lambda x: x)
    native.update_batch(text_values32(edited).tolist())
    assert sorted(lsh.query(native)) == ["article", "edited"]


def test_from_datasketch_rejects_incomparable_minhashes():
    hasher = MinHasher(num_perm=64, seed=1)
    with pytest.raises(ValueError, match="'affine32' scheme, got scheme='legacy'"):
        hasher.from_datasketch(MinHash(num_perm=64, seed=1, scheme="legacy"))
    with pytest.raises(ValueError, match="seed 2 differs from this hasher's seed 1"):
        hasher.from_datasketch(MinHash(num_perm=64, seed=2))
    with pytest.raises(ValueError, match="32 permutations, this hasher has num_perm=64"):
        hasher.from_datasketch(MinHash(num_perm=32, seed=1))
    with pytest.raises(ValueError, match="scheme"):
        hasher.from_datasketch(np.zeros(64, np.uint32))


def test_to_datasketch_rejects_a_signature_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"signature must have shape \(64,\), got \(2, 64\)"):
        MinHasher(num_perm=64).to_datasketch(np.zeros((2, 64), np.uint32))


# --- parameter errors ---------------------------------------------------------------


@pytest.mark.parametrize("num_perm", [0, -5, 1.5, "128", None, True])
def test_bad_num_perm_is_a_value_error_naming_num_perm(num_perm):
    with pytest.raises(ValueError, match="num_perm must be an integer >= 1"):
        MinHasher(num_perm=num_perm)


@pytest.mark.parametrize("ngram", [0, -1, 2.0, "5"])
def test_bad_ngram_is_a_value_error_naming_ngram(ngram):
    with pytest.raises(ValueError, match="ngram must be an integer >= 1"):
        MinHasher(ngram=ngram)


@pytest.mark.parametrize("mode", ["words", "", None, "CHAR"])
def test_bad_mode_is_a_value_error_naming_mode(mode):
    with pytest.raises(ValueError, match="mode must be one of 'auto', 'word', 'char'"):
        MinHasher(mode=mode)


@pytest.mark.parametrize("seed", [-1, 2**32, 0.5, "1", None])
def test_bad_seed_is_a_value_error_naming_seed(seed):
    with pytest.raises(ValueError, match=r"seed must be an integer >= 0"):
        MinHasher(seed=seed)


def test_numpy_integers_are_accepted_as_parameters():
    hasher = MinHasher(num_perm=np.int64(32), ngram=np.int32(3), seed=np.uint8(4))
    assert hasher.params == {"num_perm": 32, "ngram": 3, "mode": "auto", "seed": 4}


@pytest.mark.parametrize(
    "bad, given_type",
    [(None, "NoneType"), (b"bytes are not text", "bytes"), (42, "int"), (["a", "list"], "list")],
)
def test_non_str_text_is_a_type_error_saying_what_was_given(bad, given_type):
    hasher = MinHasher(num_perm=8)
    with pytest.raises(TypeError, match=rf"texts\[1\] must be str, got {given_type}"):
        hasher.sign(["fine", bad])


def test_a_single_str_instead_of_a_list_is_a_type_error():
    with pytest.raises(TypeError, match="texts must be a sequence of str, got a single str"):
        MinHasher(num_perm=8).sign(ARTICLE)


def test_none_instead_of_a_list_is_a_type_error():
    with pytest.raises(TypeError, match="NoneType"):
        MinHasher(num_perm=8).sign(None)


def test_sign_hashes_rejects_64_bit_values_instead_of_truncating_them():
    hasher = MinHasher(num_perm=8)
    with pytest.raises(ValueError, match=r"hashes32 must be integers in \[0, 4294967295\] \(fold 64-bit"):
        hasher.sign_hashes(np.array([2**40, 5], dtype=np.uint64), np.array([0, 2]))
    fitting = hasher.sign_hashes(np.array([7, 5], dtype=np.uint64), np.array([0, 2]))
    assert np.array_equal(fitting, hasher.sign_hashes(np.array([7, 5], dtype=np.uint32), np.array([0, 2])))


def test_sign_hashes_rejects_offsets_outside_the_values():
    with pytest.raises(ValueError, match=r"offsets must be non-decreasing bounds within \[0, 2\]"):
        MinHasher(num_perm=8).sign_hashes(np.array([7, 5], dtype=np.uint32), np.array([0, 3]))


def test_sign_one_of_a_non_str_is_a_type_error():
    with pytest.raises(TypeError, match="must be str, got bytes"):
        MinHasher(num_perm=8).sign_one(b"bytes")


def test_docstring_examples_of_the_engine_modules_hold():
    import doctest

    import dedup.shingle
    import dedup.text

    for module in (dedup.text, dedup.shingle, minhash_module):
        failures, attempted = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert attempted > 0 and failures == 0, module.__name__
