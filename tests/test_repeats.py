"""Repeats inside one article: each test shows one behaviour on a text written for it."""

from __future__ import annotations

import random
import re
from pathlib import Path

import numpy as np
import pytest

import dedup
from dedup import clean, clean_many, find_repeats, remove_spans
from dedup.align.engine import align
from dedup.align.boundaries import Boundaries
from dedup.align.extend import extend_edge, extend_edges
from dedup.align.params import RepeatParams
from dedup.align.prepared import prepare, prepare_alone
from news_texts import word_soup

ENGLISH = [
    "The regional water board decided on Monday to raise the dikes along the eastern river by half a metre over the next ten years.",
    "Engineers had warned for years that the old embankments would not withstand the higher floods that climate models now expect.",
    "The plan will cost about four hundred million euros, most of which will be paid by the national government and the provinces.",
    "Farmers along the river are worried that they will lose land, because the wider dikes need a strip of about twenty metres.",
    '"We understand their concern, but safety comes first," said the chair of the board, who grew up in one of the villages.',
    "Work on the first section near the old ferry crossing is expected to start next spring, once the permits have been granted.",
]

DUTCH = [
    "De gemeenteraad van Zuiderveen heeft dinsdagavond besloten om de oude bibliotheek aan het marktplein te verbouwen tot een cultuurhuis.",
    "Het gebouw staat al drie jaar leeg sinds de bibliotheek verhuisde naar een nieuw pand naast het station aan de rand van het centrum.",
    "Volgens wethouder Anouk Smits krijgt het cultuurhuis een theaterzaal, een café en ruimte voor muziekles aan kinderen uit de buurt.",
    "De verbouwing kost naar schatting zes miljoen euro, waarvan de provincie een kwart betaalt uit een fonds voor leegstaande gebouwen.",
    "Omwonenden zijn blij dat het pand een nieuwe bestemming krijgt, al maken sommigen zich zorgen over de drukte op zaterdagavond.",
    "Als alles volgens plan verloopt, gaat het cultuurhuis over twee jaar open, precies honderd jaar nadat het gebouw werd neergezet.",
]


def paragraphs(sentences, per=2):
    return ["".join(" ".join(sentences[i : i + per])) for i in range(0, len(sentences), per)]


def article(sentences, per=2):
    return "\n\n".join(paragraphs(sentences, per))


def words(text):
    return re.findall(r"\w+", text.lower())


@pytest.mark.parametrize("sentences", [ENGLISH, DUTCH], ids=["en", "nl"])
def test_exact_copy_of_body_is_removed(sentences):
    original = article(sentences)
    assert clean(original + "\n\n" + original) == original


@pytest.mark.parametrize("sentences", [ENGLISH, DUTCH], ids=["en", "nl"])
def test_reflowed_copy_is_removed(sentences):
    original = article(sentences)
    reflowed = " ".join(sentences)
    assert clean(original + "\n\n" + reflowed) == original


def test_copy_with_nbsp_soft_hyphens_and_curly_quotes_is_removed():
    original = article(ENGLISH)
    noisy = " ".join(ENGLISH)
    noisy = noisy.replace('"', "\u201c", 1).replace('"', "\u201d", 1).replace("embankments", "embank\u00adments")
    noisy = noisy.replace(" the ", "\u00a0the ").replace("dikes", "di\u00adkes")
    assert clean(original + "\n" + noisy) == original


def test_updated_version_with_changed_words_is_removed():
    original = article(DUTCH)
    updated = " ".join(DUTCH).replace("dinsdagavond", "woensdagavond").replace("zes miljoen", "zeven miljoen")
    updated = updated.replace("drie jaar", "ruim drie jaar")
    assert clean(original + "\n\n" + updated) == original


def test_updated_version_with_added_sentence_is_removed():
    original = article(ENGLISH)
    added = "A spokesperson for the farmers' union said they would ask for compensation per hectare lost."
    updated = " ".join(ENGLISH[:3] + [added] + ENGLISH[3:])
    assert clean(original + "\n\n" + updated) == original


def test_copy_with_dropped_sentence_is_removed():
    original = article(DUTCH)
    updated = " ".join(DUTCH[:2] + DUTCH[3:])
    assert clean(original + "\n\n" + updated) == original


def test_copy_starting_mid_sentence_is_removed():
    original = article(ENGLISH)
    body = " ".join(ENGLISH)
    partial = body[body.index("for years that") :]
    assert clean(original + " " + partial) == original


def test_copy_ending_mid_sentence_is_removed():
    original = article(DUTCH)
    body = " ".join(DUTCH)
    partial = body[: body.index(" een fonds voor")]
    assert clean(original + "\n\n" + partial) == original


def test_two_extra_copies_are_removed():
    original = article(ENGLISH)
    text = original + "\n\n" + " ".join(ENGLISH) + "\n\n" + original
    assert clean(text) == original
    # Copies back to back are one run of copies: one repeat, pointing at the original.
    (repeat,) = find_repeats(text)
    assert (repeat.start, repeat.end) == (len(original) + 2, len(text))
    assert (repeat.source_start, repeat.source_end) == (0, len(original))


def test_single_paragraph_repeated_later_is_removed_and_whitespace_tidied():
    paras = paragraphs(ENGLISH)
    text = "\n\n".join([paras[0], paras[1], paras[0], paras[2]])
    assert clean(text) == "\n\n".join([paras[0], paras[1], paras[2]])


def test_repeat_inside_a_paragraph_leaves_single_spaces():
    first, second = ENGLISH[0], ENGLISH[1]
    text = f"{first} {second} {first} {ENGLISH[2]}"
    assert clean(text) == f"{first} {second} {ENGLISH[2]}"


def test_short_repeated_heading_is_kept():
    text = "Background\n\n" + ENGLISH[0] + "\n\nBackground\n\n" + ENGLISH[1]
    assert clean(text) is text


def test_short_quote_below_min_length_is_kept():
    quote = '"safety comes first, whatever it costs"'
    text = f"{ENGLISH[0]} The chair said {quote}. {ENGLISH[2]} {ENGLISH[3]} Asked again, she repeated {quote}."
    assert find_repeats(text) == []
    assert clean(text) is text


def test_min_length_controls_what_is_short():
    sentence = ENGLISH[0]  # 24 words
    text = f"{sentence} {ENGLISH[1]} {sentence}"
    assert clean(text, min_length=30) is text
    assert clean(text, min_length=10) == f"{sentence} {ENGLISH[1]}"


def test_text_without_repeats_is_returned_unchanged():
    text = article(DUTCH) + "\n"
    assert clean(text) is text
    assert find_repeats(text) == []


def test_first_occurrence_is_kept_byte_for_byte():
    original = "  " + article(ENGLISH).replace("dikes", "dikes\u00ad") + "\n"
    cleaned = clean(original + "\n" + " ".join(ENGLISH))
    assert cleaned.startswith(original.rstrip("\n"))
    assert words(cleaned) == words(original)


def test_repeat_reports_its_source_span_and_similarity():
    original = article(ENGLISH)
    text = original + "\n\n" + original.replace("Monday", "Tuesday")
    (repeat,) = find_repeats(text)
    assert text[repeat.start : repeat.end] == original.replace("Monday", "Tuesday")
    assert (repeat.source_start, repeat.source_end) == (0, len(original))
    assert 0.9 < repeat.similarity < 1.0
    assert repeat.to_dict()["start"] == repeat.start


def test_removed_text_is_what_find_repeats_reports():
    original = article(DUTCH)
    text = "Inleiding.\n\n" + original + "\n\n" + original + "\n\nSlotwoord van de redactie."
    repeats = find_repeats(text)
    assert clean(text) == remove_spans(text, [(r.start, r.end) for r in repeats])
    assert clean(text) == "Inleiding.\n\n" + original + "\n\nSlotwoord van de redactie."


def test_threshold_rejects_loose_copies():
    original = " ".join(ENGLISH)
    changed = " ".join(s.replace(" the ", " a ").replace(" of ", " for ") for s in ENGLISH)
    text = original + "\n\n" + changed
    loose = find_repeats(text, threshold=0.2)
    assert loose and loose[0].similarity < 0.9
    assert find_repeats(text, threshold=0.95) == []


def test_clean_is_idempotent_and_deterministic():
    text = article(ENGLISH) + "\n\n" + " ".join(ENGLISH[2:]) + "\n\n" + ENGLISH[0]
    once = clean(text)
    assert clean(once) == once
    assert clean(text) == once


def test_clean_many_equals_clean_in_a_loop():
    texts = [
        article(ENGLISH) + "\n\n" + " ".join(ENGLISH),
        article(DUTCH),
        "",
        "   \n ",
        article(DUTCH) + " " + " ".join(DUTCH[1:4]),
    ]
    assert clean_many(texts) == [clean(t) for t in texts]
    assert clean_many(iter(texts)) == [clean(t) for t in texts]


@pytest.mark.parametrize("value", [None, b"bytes text", 42, ["a list"]])
def test_non_string_input_raises_type_error_saying_what_was_given(value):
    with pytest.raises(TypeError, match=type(value).__name__):
        clean(value)
    with pytest.raises(TypeError, match=type(value).__name__):
        find_repeats(value)


def test_clean_many_names_the_bad_item():
    with pytest.raises(TypeError, match=r"texts\[1\]"):
        clean_many(["fine", None])


@pytest.mark.parametrize("text", ["", " ", "\n\n\t ", "\u00a0"])
def test_empty_and_whitespace_only_text_comes_back_unchanged(text):
    assert clean(text) is text


@pytest.mark.parametrize(
    "text",
    [
        "😀 " * 50 + "😀",
        "שלום עולם " * 30,
        "e\u0301" * 200,
        "broken \ud800 surrogate " * 40,
        ("ابجد هوز " + "x\u200b") * 30,
    ],
)
def test_any_unicode_never_crashes(text):
    cleaned = clean(text)
    assert isinstance(cleaned, str) and len(cleaned) <= len(text)
    assert clean(cleaned) == cleaned


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"threshold": 0}, "threshold"),
        ({"threshold": 1.5}, "threshold"),
        ({"threshold": "high"}, "threshold"),
        ({"min_length": 0}, "min_length"),
        ({"ngram": 0}, "ngram"),
        ({"max_gap": -1}, "max_gap"),
    ],
)
def test_bad_parameters_raise_value_error_naming_them(kwargs, name):
    with pytest.raises(ValueError, match=name):
        clean("some text", **kwargs)


def test_unknown_parameter_is_rejected():
    with pytest.raises(TypeError):
        clean("some text", treshold=0.5)


def test_remove_spans_keeps_the_stronger_separator():
    text = "First paragraph.\n\nREMOVE THIS.\n\nLast paragraph."
    start = text.index("REMOVE")
    assert remove_spans(text, [(start, start + len("REMOVE THIS."))]) == "First paragraph.\n\nLast paragraph."
    assert remove_spans(text, []) is text
    with pytest.raises(ValueError, match="outside"):
        remove_spans(text, [(0, len(text) + 5)])


def test_long_text_with_many_repeats():
    # About 150 KB of distinct generated sentences, with a paragraph repeated every ten.
    rng = random.Random(7)
    vocabulary = sorted({w for s in ENGLISH + DUTCH for w in words(s)})
    blocks = []
    for i in range(400):
        blocks.append(" ".join(rng.choice(vocabulary) for _ in range(40)) + ".")
        if i % 10 == 9:
            blocks.append(blocks[-5])
    text = "\n\n".join(blocks)
    repeats = find_repeats(text)
    assert len(repeats) == 40
    assert all(r.similarity == 1.0 for r in repeats)
    assert clean(text) == "\n\n".join(dict.fromkeys(blocks))


SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"


@pytest.mark.skipif(not SEEDS.is_dir(), reason=f"the seed articles are not at {SEEDS} (they are not in the repository)")
def test_seed_articles():
    doubled = (SEEDS / "000_265cd457f113ad0a.txt").read_text(encoding="utf-8")
    clean_article = (SEEDS / "003_d0bef51882efc924.txt").read_text(encoding="utf-8")
    assert dedup.clean(clean_article) is clean_article
    cleaned = dedup.clean(doubled)
    assert doubled.startswith(cleaned)
    # What remains is the article once: every paragraph of it, and nothing twice.
    paras = [p for p in cleaned.split("\n\n") if p.strip()]
    assert len(paras) == 5 and len(set(paras)) == 5
    assert dedup.find_repeats(cleaned) == []


def test_phrase_repeated_many_times_comes_back_once():
    # A run of copies of one phrase is one repeat of one copy, however short the phrase:
    # the copies after the first count together towards min_length.
    assert clean("ha " * 50_000) == "ha "
    phrase = "buy now and save"
    assert clean(f"Offer. {phrase} " + f"{phrase} " * 200_000 + "Terms apply.") == f"Offer. {phrase} Terms apply."


def test_sentence_said_k_times_keeps_one_copy_once_the_later_ones_reach_min_length():
    sentence = "After a long debate about schools and roads the council agreed."  # 11 words
    for k in range(2, 7):
        text = "Intro line here. " + " ".join([sentence] * k) + " The end."
        expected = "Intro line here. " + sentence + " The end." if 11 * (k - 1) >= 20 else text
        assert clean(text) == expected, k


def test_random_text_over_few_words_stays_as_written():
    # Every word matches an earlier one, but no passage of min_length words is repeated
    # as copied text would be. (This also took minutes when matching was quadratic.)
    rng = random.Random(3)
    few_words = " ".join(rng.choice(["de", "het", "een", "en", "van"]) for _ in range(20_000))
    assert clean(few_words) is few_words


def test_clean_many_rejects_a_non_iterable_by_name():
    with pytest.raises(TypeError, match="texts must be an iterable of str, got NoneType"):
        clean_many(None)


# --- texts prepared alone (long texts: less memory, the same repeats) ------------------

CHINESE = (
    "市议会周二晚上决定把市场广场旁的旧图书馆改建成文化中心。"
    "这座建筑自从图书馆搬到火车站旁的新楼以来已经空置了三年。"
    "负责的副市长说，文化中心将有一个剧场、一家咖啡馆和给附近孩子上音乐课的教室。"
)


def alone_cases():
    english, dutch = article(ENGLISH), article(DUTCH)
    edited = english.replace("Monday", "Tuesday").replace("four hundred", "five hundred")
    return {
        "doubled": english + "\n\n" + english,
        "edited copy": dutch + "\n\n" + english + " " + edited,
        "chinese": CHINESE + "\n\n" + CHINESE.replace("三年", "四年") + CHINESE,
        "mixed scripts": english + CHINESE + " " + english + CHINESE,
        "phrase many times": "Breaking news: " + "buy now and save " * 300 + "today.",
        "no repeat": english,
        "two words": "hello world",
        "empty": "",
    }


@pytest.mark.parametrize("name", sorted(alone_cases()))
@pytest.mark.parametrize("ngram, mode", [(5, "auto"), (3, "word"), (1, "auto"), (4, "char")])
def test_a_text_prepared_alone_aligns_as_when_prepared_with_others(name, ngram, mode):
    text = alone_cases()[name]
    params = RepeatParams(ngram=ngram, mode=mode, min_length=8)
    alone = align(prepare_alone(text, ngram, mode), (), params)
    assert alone == align(prepare([text], ngram, mode)[0], (), params)
    if name == "doubled" or (name == "chinese" and mode != "word"):
        assert alone  # the cases exercise real repeats


def test_a_text_of_over_a_million_characters_loses_its_repeats_and_nothing_else():
    # Long texts are prepared alone (in less memory); the result is that of any text.
    blocks = [word_soup(seed, 120) for seed in range(1400)]
    text = "\n\n".join(blocks + blocks[::50])
    assert len(text) > 1_000_000
    cleaned = clean(text)
    assert cleaned == "\n\n".join(blocks)
    assert clean_many([text[:300_000] + "\n\n" + text[:300_000]]) == [text[:300_000]]


def test_edges_extended_together_end_where_each_extended_alone_ends():
    # extend_edges (one vectorised alignment for many edges) follows extend_edge cell for
    # cell, ties included: checked on repetitive text, where alignments run long.
    rng = random.Random(5)
    vocabulary = "the a of to in and council said on monday bridge river spring years delays".split()

    def text(n):
        return " ".join(rng.choice(vocabulary) + rng.choice(["", "", "", ".", ",", ".\n\n"]) for _ in range(n))

    checked = 0
    for _ in range(40):
        first, second = text(rng.randint(5, 250)), text(rng.randint(5, 250))
        query, source = prepare([first, second if rng.random() < 0.5 else first], 3)
        params = RepeatParams(ngram=rng.choice([1, 3, 5]), max_gap=rng.choice([0, 5, 40, 300]))
        for step in (1, -1):
            copy_edges = [rng.randint(0, len(query)) for _ in range(30)]
            source_edges = [rng.randint(0, len(source)) for _ in range(30)]
            if step > 0:
                copy_rooms = [rng.randint(-2, len(query) - e) for e in copy_edges]
                source_rooms = [rng.randint(-2, len(source) - e) for e in source_edges]
            else:
                copy_rooms = [rng.randint(-2, e) for e in copy_edges]
                source_rooms = [rng.randint(-2, e) for e in source_edges]
            together = extend_edges(query, source, np.array(copy_edges), np.array(source_edges), step,
                                    np.array(copy_rooms), np.array(source_rooms), params)
            for k in range(30):
                alone = extend_edge(query, source, copy_edges[k], source_edges[k], step, copy_rooms[k], source_rooms[k], params)
                assert alone == tuple(int(column[k]) for column in together)
                checked += alone != (copy_edges[k], source_edges[k], 0)
    assert checked > 300  # hundreds of edges moved: the check is not on empty alignments only


def test_edges_extended_together_read_the_boundaries_of_every_block_their_windows_cross():
    # Sentence boundaries are found block by block (Boundaries.BLOCK tokens), on demand.
    # Edges just before a block's end (rightwards) or just after its start (leftwards)
    # have windows in two blocks: the batched extension must find both before it reads
    # the flags, on texts whose boundaries no one has asked for yet.
    rng = random.Random(11)
    block = Boundaries.BLOCK
    vocabulary = "the a of to in and council said on monday bridge".split()

    def text(n):
        return " ".join(rng.choice(vocabulary) + rng.choice(["", "", ".", ".\n\n"]) for _ in range(n))

    moved = 0
    for _ in range(30):
        words = text(3 * block)
        other = " ".join(w if rng.random() < 0.9 else rng.choice(vocabulary) for w in words.split(" "))
        params = RepeatParams(ngram=3, max_gap=40)
        for step in (1, -1):
            query, source = prepare([words, other], 3)  # no boundary found yet
            edges = [k * block + (-rng.randint(1, 6) if step > 0 else rng.randint(0, 5)) for k in (1, 2)]
            rooms = [len(query) - e if step > 0 else e for e in edges]
            together = extend_edges(query, source, np.array(edges), np.array(edges), step,
                                    np.array(rooms), np.array(rooms), params)
            for k, edge in enumerate(edges):
                alone = extend_edge(query, source, edge, edge, step, rooms[k], rooms[k], params)
                assert alone == tuple(int(column[k]) for column in together)
                moved += alone[0] != edge
    assert moved > 60


@pytest.mark.parametrize("max_gap", [2000, 8000])
def test_edges_extended_together_on_windows_of_thousands_of_rows(max_gap):
    # The vectorised kernel keeps its cells in 32-bit integers while every value fits (a
    # window of about 3,000 rows or fewer) and in 64-bit ones past that: windows of 2,005
    # and 8,005 rows take one each (32-bit cells would overflow in the second), and end
    # where the scalar kernel ends.
    rng = random.Random(max_gap)
    vocabulary = "the a of to in and said".split()
    words = [rng.choice(vocabulary) + rng.choice(["", "", "", "."]) for _ in range(2 * max_gap)]
    edited = [w if rng.random() < 0.93 else rng.choice(vocabulary) for w in words]
    query, source = prepare([" ".join(words), " ".join(edited)], 1)
    params = RepeatParams(ngram=1, max_gap=max_gap)
    edges = [0, 3, 10]
    rooms = [len(query) - e for e in edges]
    edges_array, rooms_array = np.array(edges), np.array(rooms)
    together = extend_edges(query, source, edges_array, edges_array, 1, rooms_array, rooms_array, params)
    for k, edge in enumerate(edges):
        alone = extend_edge(query, source, edge, edge, 1, rooms[k], rooms[k], params)
        assert alone == tuple(int(column[k]) for column in together)
        assert alone[0] - edge > max_gap // 2  # the alignment runs through the window


@pytest.mark.parametrize("vocabulary", [["x", "y"], ["x", "y", "z"], ["x", "y", "z", "w", "v"]])
def test_edges_extended_together_break_ties_as_edges_extended_alone(vocabulary):
    # With two or three words, cells of equal score reached by different steps (with
    # different words matched) are everywhere: the vectorised kernel's packed cells must
    # prefer the diagonal step, the cell's own value along the row and the first best
    # cell exactly as the scalar one does, and count the same words matched.
    rng = random.Random(len(vocabulary))

    def text(n):
        return " ".join(rng.choice(vocabulary) + rng.choice(["", "", "", "", ".", ".\n\n"]) for _ in range(n))

    differing = 0
    for _ in range(25):
        query, source = prepare([text(rng.randint(20, 120)), text(rng.randint(20, 120))], 1)
        params = RepeatParams(ngram=1, max_gap=rng.choice([3, 12, 40]))
        for step in (1, -1):
            copy_edges = [rng.randint(0, len(query)) for _ in range(40)]
            source_edges = [rng.randint(0, len(source)) for _ in range(40)]
            if step > 0:
                copy_rooms = [len(query) - e for e in copy_edges]
                source_rooms = [len(source) - e for e in source_edges]
            else:
                copy_rooms, source_rooms = copy_edges, source_edges
            together = extend_edges(query, source, np.array(copy_edges), np.array(source_edges), step,
                                    np.array(copy_rooms), np.array(source_rooms), params)
            for k in range(40):
                alone = extend_edge(query, source, copy_edges[k], source_edges[k], step, copy_rooms[k], source_rooms[k], params)
                assert alone == tuple(int(column[k]) for column in together)
                moved_copy, moved_source, matched = alone
                differing += abs(moved_copy - copy_edges[k]) != abs(moved_source - source_edges[k])
    assert differing > 100  # many alignments end off the diagonal: gaps were taken


@pytest.mark.parametrize("ngram", [2, 5, 9])
def test_a_passage_of_a_source_bridges_at_most_three_added_words(ngram):
    # As find_repeats documents: up to 3 words added inside a copied passage go with it
    # (with a small ngram the edge extension bridges what chaining does not); more are
    # the copy's own, and the passage is two repeats around them.
    words = word_soup(1, 80).split()
    source = " ".join(words)
    limit = 3
    for added in range(1, 7):
        inserted = " ".join(f"added{i}" for i in range(added))
        copy = "Own words first. " + " ".join(words[:40]) + f" {inserted} " + " ".join(words[40:]) + " Own end."
        found = find_repeats(copy, sources=[source], ngram=ngram)
        at = copy.index(inserted)
        if added <= limit:
            assert any(r.start <= at and at + len(inserted) <= r.end for r in found), (added, found)
        else:
            assert not any(r.start < at + len(inserted) and at < r.end for r in found), (added, found)
        left = remove_spans(copy, [(r.start, r.end) for r in found])
        if added <= limit:
            assert left == "Own words first. Own end."
        else:  # the added words stay (with the few words of their sentence), the copy goes
            assert left.startswith(f"Own words first. {inserted} ") and len(left) < len(inserted) + 50
        # Every repeat names the source words it repeats (a piece cut off an alignment too).
        assert all(r.source_end > r.source_start for r in found), found
