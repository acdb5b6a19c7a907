"""Repeats across articles: the streaming Deduplicator."""

from __future__ import annotations

import os
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup import lsh, storage
from dedup.deduplicator import ArticleMatch, Deduplicator, _segment
from dedup.shingle import shingles
from dedup.text import tokenize

# --------------------------------------------------------------------------- texts

WIRE_EN = (
    "The regional water board said on Tuesday that the dikes along the river would be "
    "reinforced over the next four years, at a cost of about two hundred million euros, "
    "after inspections found weak spots near three villages."
)
WIRE_NL = (
    "Het waterschap maakte dinsdag bekend dat de dijken langs de rivier de komende vier jaar "
    "worden versterkt, voor ongeveer tweehonderd miljoen euro, nadat bij inspecties zwakke "
    "plekken werden gevonden bij drie dorpen."
)
LOCAL_A = (
    "Residents of the lower town have complained for years about water in their cellars "
    "whenever the river runs high in spring, and welcomed the plan at a packed meeting."
)
LOCAL_B = (
    "Farmers near the northern bend worry that the works will close the only road to their "
    "fields during the harvest, and asked the board to plan the closures around it."
)
OPINION = (
    "Nobody doubts that stronger dikes are needed, but the board should explain why the "
    "villages upstream were inspected last, when they flooded twice in the past decade."
)
LOCAL_NL = (
    "Bewoners van de benedenstad klagen al jaren over water in hun kelders als de rivier in "
    "het voorjaar hoog staat, en reageerden op een drukke avond opgelucht op het plan."
)
SPORT = (
    "The home side scored twice in the last ten minutes to win the derby, lifting the club "
    "out of the relegation zone for the first time since the autumn."
)


def article(*paragraphs: str) -> str:
    return "\n\n".join(paragraphs)


def word_soup(seed: int, words: int) -> str:
    """Sentences of made-up words, seeded: text with no accidental overlap."""
    rng = random.Random(seed)
    syllables = ["ka", "lo", "mer", "dun", "vi", "sta", "pel", "ro", "ten", "bra", "ui", "zo", "gel", "fa"]
    out, sentence = [], []
    for _ in range(words):
        sentence.append("".join(rng.choice(syllables) for _ in range(rng.randint(1, 3))))
        if len(sentence) >= rng.randint(8, 20):
            out.append(" ".join(sentence).capitalize() + ".")
            sentence = []
    if sentence:
        out.append(" ".join(sentence).capitalize() + ".")
    return " ".join(out)


def exact_jaccard(a: str, b: str, ngram: int = 5) -> float:
    tokens = tokenize([a, b])
    hashes, offsets = shingles(tokens.hashes, tokens.offsets, ngram)
    left, right = set(hashes[offsets[0] : offsets[1]].tolist()), set(hashes[offsets[1] : offsets[2]].tolist())
    return len(left & right) / len(left | right)


# --------------------------------------------------------------------------- Deduplicator: across


def test_wire_paragraph_in_two_articles_is_removed_from_the_second():
    d = Deduplicator(0.8, scope="across")
    first = article(LOCAL_A, WIRE_EN, OPINION)
    second = article(SPORT, WIRE_EN, LOCAL_B)
    assert d.clean(first, doc_id="paper-1") == first
    matches = d.find(second, doc_id="paper-2")
    assert len(matches) == 1
    match = matches[0]
    assert second[match.start : match.end] == WIRE_EN
    assert (match.kind, match.source_id, match.similarity) == ("across", "paper-1", 1.0)
    assert first[match.source_start : match.source_end] == WIRE_EN
    assert d.clean(second, doc_id="paper-2") == article(SPORT, LOCAL_B)


def test_dutch_wire_paragraph_matches_despite_case_and_soft_hyphen():
    d = Deduplicator(0.8, scope="across")
    d.add(article(LOCAL_NL, WIRE_NL), doc_id=1)
    reprint = WIRE_NL.replace("versterkt", "ver\u00adsterkt").replace("Het waterschap", "HET WATERSCHAP")
    cleaned = d.clean(article(reprint, SPORT), doc_id=2)
    assert cleaned == SPORT


def test_edited_paragraph_is_matched_at_its_similarity():
    edited = WIRE_EN.replace("four years", "five years").replace("three villages", "two villages")
    truth = exact_jaccard(WIRE_EN, edited)
    d = Deduplicator(0.5, scope="across")
    d.add(article(LOCAL_A, WIRE_EN), doc_id="a")
    (match,) = d.find(article(edited, LOCAL_B))
    # 128 permutations: standard error sqrt(J (1 - J) / 128) < 0.045.
    assert abs(match.similarity - truth) <= 0.15
    assert match.source_id == "a"
    strict = Deduplicator(0.95, scope="across")
    strict.add(article(LOCAL_A, WIRE_EN), doc_id="a")
    assert truth < 0.8 and strict.find(article(edited, LOCAL_B)) == []


def test_unrelated_articles_come_back_unchanged():
    d = Deduplicator(0.7, scope="across")
    texts = [article(LOCAL_A, WIRE_EN), article(SPORT, LOCAL_B), article(OPINION), article(LOCAL_NL)]
    for i, text in enumerate(texts[:2]):
        d.clean(text, doc_id=i)
    for text in texts[2:]:
        assert d.clean(text) is text or d.clean(text) == text


def test_short_segments_are_never_matched_across():
    d = Deduplicator(0.8, scope="across", min_length=8)
    d.add(article("Read more below.", LOCAL_A), doc_id=1)
    assert d.find(article("Read more below.", SPORT)) == []


def test_find_only_looks_and_add_remembers():
    d = Deduplicator(0.8, scope="across")
    assert d.find(article(WIRE_EN), doc_id="x") == []
    assert len(d) == 0 and d.segments == 0
    assert d.find(article(WIRE_EN, SPORT)) == []
    d.add(article(WIRE_EN), doc_id="x")
    assert len(d) == 1 and d.segments == 1
    assert [m.source_id for m in d.find(article(SPORT, WIRE_EN))] == ["x"]


def test_matched_segments_are_not_stored_again():
    d = Deduplicator(0.8, scope="across")
    d.add(article(WIRE_EN, LOCAL_A), doc_id=1)
    d.add(article(WIRE_EN, LOCAL_B), doc_id=2)
    d.add(article(WIRE_EN, OPINION), doc_id=3)
    # The wire paragraph once, three local ones, and per article one window over the
    # whole (short) article, the layer that catches copies with other paragraph breaks.
    assert d.segments == 4 + 3
    (match,) = d.find(article(SPORT, WIRE_EN))
    assert match.source_id == 1  # explained by its first appearance


def test_default_ids_are_article_numbers():
    d = Deduplicator(0.8, scope="across")
    d.add(article(LOCAL_A))
    d.add(article(WIRE_EN))
    assert d.find(WIRE_EN)[0].source_id == 1


def test_batches_see_earlier_articles_of_the_same_batch():
    texts = [article(LOCAL_A, WIRE_EN), article(SPORT, WIRE_EN), article(WIRE_EN, LOCAL_B)]
    batch = Deduplicator(0.8, scope="across").clean_many(texts, ids=["a", "b", "c"])
    one_by_one = Deduplicator(0.8, scope="across")
    assert batch == [one_by_one.clean(t, doc_id=i) for t, i in zip(texts, "abc")]
    assert batch == [texts[0], SPORT, LOCAL_B]


def test_is_duplicate_names_the_earlier_article():
    d = Deduplicator(0.8, scope="across")
    original = article(LOCAL_A, WIRE_EN, OPINION, SPORT)
    d.add(original, doc_id="vk-1")
    d.add(article(LOCAL_B), doc_id="ad-2")
    rerun = original.replace("packed meeting", "crowded meeting")
    found = d.is_duplicate(rerun)
    assert isinstance(found, ArticleMatch) and found.source_id == "vk-1"
    assert found.similarity >= 0.8
    assert d.is_duplicate(article(OPINION, LOCAL_NL)) is None
    assert d.is_duplicate("") is None
    assert len(d) == 2  # is_duplicate does not remember


def test_flat_bodies_sharing_a_passage_at_different_offsets():
    shared = word_soup(1, 160)
    first = word_soup(2, 220) + " " + shared + " " + word_soup(3, 90)
    second = word_soup(4, 130) + " " + shared + " " + word_soup(5, 200)
    d = Deduplicator(0.8, scope="across")
    d.add(first, doc_id="first")
    matches = d.find(second)
    assert matches and all(m.source_id == "first" for m in matches)
    lo, hi = second.index(shared), second.index(shared) + len(shared)
    covered = sum(m.end - m.start for m in matches)
    assert all(lo - 5 <= m.start and m.end <= hi + 5 for m in matches)  # nothing outside the passage
    assert covered >= 0.5 * len(shared)  # most of the passage, whatever precedes it
    for m in matches:
        assert exact_jaccard(second[m.start : m.end], first[m.source_start : m.source_end]) >= 0.7


def test_copy_with_lost_paragraph_breaks_is_removed():
    d = Deduplicator(0.8, scope="across")
    d.add(article(LOCAL_A, WIRE_EN, OPINION), doc_id="with-breaks")
    reflowed = " ".join([LOCAL_A, WIRE_EN, OPINION])
    (match,) = d.find(article(SPORT, reflowed))
    assert (match.source_id, match.similarity) == ("with-breaks", 1.0)
    assert d.clean(article(SPORT, reflowed)) == SPORT


@pytest.mark.parametrize("flat_first", [True, False])
def test_long_copy_matches_whatever_its_paragraph_breaks(flat_first):
    parts = [word_soup(20 + k, 70) for k in range(6)]
    with_breaks = article(word_soup(40, 50), *parts)
    flattened = word_soup(41, 60) + " " + " ".join(parts)
    first, second = (flattened, with_breaks) if flat_first else (with_breaks, flattened)
    d = Deduplicator(0.8, scope="across")
    d.add(first, doc_id="first")
    matches = d.find(second)
    shared_start = second.index(parts[0])
    covered = np.zeros(len(second), dtype=bool)
    for m in matches:
        covered[m.start : m.end] = True
    assert all(m.source_id == "first" and m.start >= shared_start - 2 for m in matches)
    assert covered[shared_start:].mean() >= 0.8


def test_rewritten_paragraph_between_copied_ones_is_kept():
    parts = [word_soup(60 + k, 45) for k in range(8)]
    d = Deduplicator(0.8, scope="across")
    d.add(" ".join(parts), doc_id="flat")  # the original, without paragraph breaks
    rewritten = "Alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho."
    copy = article(*parts[:4], rewritten, *parts[4:])
    matches = d.find(copy)
    cleaned = d.clean(copy)
    assert rewritten in cleaned
    assert len(cleaned) < 0.5 * len(copy)
    assert {m.source_id for m in matches} == {"flat"}
    for m in matches:
        if m.measure == "containment":
            assert 0.8 <= m.similarity <= 1.0 and any(copy[m.start : m.end] in part for part in parts)


def test_long_paragraph_is_cut_into_sentence_windows():
    text = word_soup(9, 700)
    tokens = tokenize([text])
    segments = _segment([text], tokens, max_words=150, min_words=37)
    assert len(segments.starts) >= 4
    assert segments.words.sum() == len(tokens.hashes)  # windows tile the words
    assert (segments.words <= 150 + 18).all()
    assert segments.starts[0] == 0 and segments.ends[-1] == len(text)
    for start in segments.starts[1:]:
        assert text[start - 2] == "."  # windows begin at sentences


def test_clean_only_deletes_and_leaves_no_blank_paragraphs():
    d = Deduplicator(0.8, scope="across")
    d.add(article(WIRE_EN, OPINION), doc_id=1)
    text = article(LOCAL_A, WIRE_EN, LOCAL_B, OPINION)
    cleaned = d.clean(text)
    assert cleaned == article(LOCAL_A, LOCAL_B)


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.sampled_from([WIRE_EN, WIRE_NL, LOCAL_A, LOCAL_B, OPINION, LOCAL_NL, SPORT]), min_size=1, max_size=5),
    st.lists(st.sampled_from([WIRE_EN, WIRE_NL, LOCAL_A, LOCAL_B, OPINION, LOCAL_NL, SPORT]), min_size=1, max_size=5,
             unique=True),
)
def test_clean_output_is_the_input_with_ranges_removed(earlier, later):
    d = Deduplicator(0.8, scope="across")
    d.add(article(*earlier), doc_id=0)
    text = article(*later)
    cleaned = d.clean(text)
    it = iter(text)
    assert all(ch in it for ch in cleaned)  # a subsequence
    kept = [p for p in later if p not in earlier]
    assert cleaned == article(*kept)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"threshold": 1.0}, "threshold"),
        ({"threshold": -0.1}, "threshold"),
        ({"scope": "everywhere"}, "scope"),
        ({"min_length": 0}, "min_length"),
        ({"num_perm": 0}, "num_perm"),
        ({"ngram": 0}, "ngram"),
        ({"max_words": 3}, "max_words"),
    ],
)
def test_deduplicator_errors_name_the_argument(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Deduplicator(**kwargs)


def test_deduplicator_rejects_bad_input():
    d = Deduplicator(scope="across")
    with pytest.raises(TypeError, match="text"):
        d.clean(b"bytes")
    with pytest.raises(TypeError, match="texts"):
        d.clean_many([WIRE_EN, None])
    with pytest.raises(TypeError, match=r"ids\[0\]"):
        d.add_many([WIRE_EN], ids=[("tuple", "id")])
    with pytest.raises(ValueError, match="ids has 1 items"):
        d.add_many([WIRE_EN, SPORT], ids=["only-one"])
    assert len(d) == 0


# --------------------------------------------------------------------------- Deduplicator: within


def test_within_scope_cleans_like_dedup_clean_and_ignores_other_articles():
    import dedup

    d = Deduplicator(scope="within")
    d.add(article(WIRE_EN, OPINION), doc_id="old")
    body = article(LOCAL_A, WIRE_EN, SPORT)
    doubled = article(body, body.replace("\n\n", " "))
    assert d.clean(doubled) == dedup.clean(doubled) == body
    assert {m.kind for m in d.find(doubled)} == {"within"}


def test_within_parameters_are_passed_to_find_repeats():
    body = article(LOCAL_A, SPORT)
    doubled = article(body, body)
    assert Deduplicator(scope="within", within={"min_length": 500}).clean(doubled) == doubled
    with pytest.raises(TypeError, match="within"):
        Deduplicator(within={"colour": 1})
    with pytest.raises(ValueError, match="min_length"):
        Deduplicator(within={"min_length": 0})


def test_within_and_across_together():
    d = Deduplicator(0.8, scope="both")
    d.add(article(WIRE_EN, OPINION), doc_id="old")
    body = article(LOCAL_A, LOCAL_B, SPORT)
    text = article(body, WIRE_EN, body.replace("\n\n", " "))  # body pasted a second time, re-flowed
    kinds = {m.kind for m in d.find(text)}
    assert kinds == {"within", "across"}
    assert d.clean(text) == body


# --------------------------------------------------------------------------- persistence


def filled(ids=("p1", "p2")) -> Deduplicator:
    d = Deduplicator(0.8, scope="across", num_perm=64)
    d.add(article(LOCAL_A, WIRE_EN), doc_id=ids[0])
    d.add(article(SPORT, OPINION), doc_id=ids[1])
    return d


@pytest.mark.parametrize("ids", [("p1", "p2"), (10, 20), ("p1", 7)])
def test_state_round_trip(tmp_path, ids):
    d = filled(ids)
    path = tmp_path / "state.dedup"
    d.save(path)
    loaded = Deduplicator.load(path)
    assert loaded.params == d.params and len(loaded) == 2 and loaded.segments == d.segments
    probe = article(LOCAL_B, WIRE_EN, OPINION)
    assert loaded.find(probe) == d.find(probe)
    assert loaded.find(probe)[0].source_id == ids[0]
    assert loaded.is_duplicate(article(SPORT, OPINION)).source_id == ids[1]
    assert loaded.clean(probe) == LOCAL_B  # and it keeps working
    assert os.listdir(tmp_path) == ["state.dedup"]


def test_load_checks_signature_parameters(tmp_path):
    path = tmp_path / "state"
    filled().save(path)
    with pytest.raises(ValueError, match="num_perm=128 differs"):
        Deduplicator.load(path, num_perm=128)
    with pytest.raises(ValueError, match="seed"):
        Deduplicator.load(path, seed=2)
    assert Deduplicator.load(path, num_perm=64, threshold=0.9).threshold == 0.9
    with pytest.raises(TypeError, match="colour"):
        Deduplicator.load(path, colour="red")


def test_crash_during_save_leaves_the_previous_state(tmp_path, monkeypatch):
    path = tmp_path / "state"
    filled().save(path)
    bigger = filled()
    bigger.add(article(LOCAL_B, LOCAL_NL), doc_id="p3")
    real_write = storage.write_arrays

    def crash_halfway(handle, arrays):
        real_write(handle, arrays)
        handle.truncate(handle.tell() // 2)
        raise KeyboardInterrupt  # the process is killed mid-write

    monkeypatch.setattr(storage, "write_arrays", crash_halfway)
    with pytest.raises(KeyboardInterrupt):
        bigger.save(path)
    monkeypatch.undo()
    assert len(Deduplicator.load(path)) == 2
    assert os.listdir(tmp_path) == ["state"]
    bigger.save(path)
    assert len(Deduplicator.load(path)) == 3


def test_load_rejects_foreign_and_corrupt_files(tmp_path):
    index = lsh.LSHIndex(0.8, 64)
    index.save(tmp_path / "index")
    with pytest.raises(ValueError, match="dedup.Deduplicator"):
        Deduplicator.load(tmp_path / "index")
    filled().save(tmp_path / "state")
    data = (tmp_path / "state").read_bytes()
    (tmp_path / "cut").write_bytes(data[:-100])
    with pytest.raises(ValueError, match="dedup.Deduplicator"):
        Deduplicator.load(tmp_path / "cut")


def test_char_mode_windows_end_at_full_width_sentence_marks():
    places = "东南西北中上下左右前后"  # made-up text without spaces, sentences starting differently
    text = "".join(f"第{i}天{places[i % 11]}边河水很高所以大家都去看了。" for i in range(40))
    tokens = tokenize([text], "char")
    segments = _segment([text], tokens, max_words=150, min_words=37)
    assert len(segments.starts) > 1
    assert all(text[start - 1] == "。" for start in segments.starts[1:])
    d = Deduplicator(0.8, scope="across", mode="char")
    d.add(text, doc_id="cn")
    assert {m.source_id for m in d.find("别的内容在这里。" * 5 + text)} == {"cn"}
