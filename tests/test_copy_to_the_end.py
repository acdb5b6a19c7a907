"""A copy that runs to the end of the text is removed to its very end, in every script (issue 19).

Inside one text a copy's shingles point at their first occurrence: where the original
repeats stock phrases, a copy's diagonal has no seeds over long stretches, and only the
edge extension reaches the copy's last words. The articles are generated
(``scripts_texts``): a few phrases of each script drawn at random, so their n-grams recur
all through an article while no long passage repeats.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

import dedup
from dedup.align.extend import extend_edge, extend_edges
from dedup.align.params import RepeatParams
from dedup.align.prepared import prepare
from scripts_texts import SCRIPTS, article, merged, sentence

SEPARATORS = {"\n\n", "\n", " "}

# A last sentence of the text's own, after the copy (not drawn from the phrases).
FINAL = {
    "zh": "记者将继续关注此事的进展。",
    "ja": "続報が入り次第お伝えします。",
    "th": "ผู้สื่อข่าวจะติดตามความคืบหน้าต่อไป",
    "lo": "ນັກຂ່າວຈະຕິດຕາມຄວາມຄືບໜ້າຕໍ່ໄປ",
    "km": "អ្នកយកព័ត៌មាននឹងតាមដានបន្តទៀត។",
    "my": "သတင်းထောက်များ ဆက်လက်စောင့်ကြည့်သွားမည်။",
    "mixed": "记者将继续关注App的后续消息。",
    "en": "Reporters will follow the story as it develops.",
}
# Quotes or brackets around a last sentence, as each script writes them.
QUOTES = {
    "zh": ("“", "”"), "ja": ("「", "」"), "th": ('"', '"'), "lo": ('"', '"'), "km": ("«", "»"),
    "my": ("“", "”"), "mixed": ("（", "）"), "en": ("(", ")"),
}


def clean_articles(script: str, count: int = 6) -> list[str]:
    """The first ``count`` generated articles (``scripts_texts.SHAPE``: a copy's last 45
    tokens or more have no seed of their own) in which ``clean`` finds nothing."""
    found = []
    for seed in range(4 * count):
        text = article(script, seed)
        if dedup.clean(text) is text:
            found.append(text)
        if len(found) == count:
            return found
    raise AssertionError(f"fewer than {count} clean {script} articles")


@pytest.mark.parametrize("script", SCRIPTS)
def test_most_generated_articles_come_back_as_the_same_string(script):
    texts = [article(script, seed) for seed in range(12)]
    assert sum(dedup.clean(text) is text for text in texts) >= 10


@pytest.mark.parametrize("script", SCRIPTS)
@pytest.mark.parametrize("kind", ["same", "merged"])
def test_a_copy_that_runs_to_the_end_of_the_text_is_removed_to_its_end(script, kind):
    for text in clean_articles(script):
        copy = text if kind == "same" else merged(script, text)
        for separator in SEPARATORS:
            assert dedup.clean(text + separator + copy) == text


@pytest.mark.parametrize("script", SCRIPTS)
def test_a_copy_just_before_a_final_sentence_is_removed_and_the_sentence_kept(script):
    for text in clean_articles(script, 4):
        for copy in (text, merged(script, text)):
            assert dedup.clean(text + "\n\n" + copy + "\n\n" + FINAL[script]) == text + "\n\n" + FINAL[script]


@pytest.mark.parametrize("script", SCRIPTS)
def test_a_copy_ending_in_a_closing_quote_or_bracket_is_removed_with_it(script):
    opening, closing = QUOTES[script]
    rng = random.Random(script)
    glue = " " if script == "en" else ""
    for text in clean_articles(script, 4):
        quoted = text + glue + opening + sentence(script, rng, 16).rstrip() + closing
        for separator in SEPARATORS:
            for copy in (quoted, merged(script, quoted)):
                assert dedup.clean(quoted + separator + copy) == quoted


@pytest.mark.parametrize("script", SCRIPTS)
def test_closing_marks_after_the_last_word_of_the_text_go_with_the_copy(script):
    # A full stop on a line of its own, a bracket after a space: marks that no word
    # follows belong to the copy that ends the text.
    for text in clean_articles(script, 2):
        for tail in ("\n\n.", " )", " 。」"):
            original = text + tail
            assert dedup.clean(original + "\n\n" + original) == original


def test_the_full_stop_ending_the_original_stays_when_the_copy_follows_on_its_line():
    # "... next year. ." + " " + copy: the stand-alone full stop closes the original; it is
    # no bullet of the copy.
    for text in clean_articles("en", 3):
        original = text + " ."
        assert dedup.clean(original + " " + merged("en", original)) == original
        original = text + "\n\n."
        assert dedup.clean(original + " " + merged("en", text) + " .") == original


def test_the_last_sentence_of_the_original_is_kept_when_the_copy_makes_it_look_repeated():
    # The original's last sentence (E, one word changed) and the copy's first sentence (Q)
    # together repeat "E. Q." in the middle of the original: the original is the text the
    # copy repeats, and stays whole.
    first = "The bridge over the river will close for repairs next week."
    last = "Residents of the lower town have asked the council for a new footbridge since the spring floods."
    text = "\n\n".join([
        first + " Drivers are asked to use the ring road, which will be widened in the summer.",
        "Shops near the bridge fear a quiet month. " + last + " " + first,
        "A spokesman for the council said the work could not wait any longer. " + last.replace("spring", "autumn"),
    ])
    assert dedup.clean(text) is text
    assert dedup.clean(text + "\n\n" + text) == text


def test_an_edge_extension_carries_on_past_its_reach_over_equal_words():
    words = " ".join(f"w{k % 7} v{k % 5}" for k in range(60))  # every 5-gram recurs
    text = words + ". " + words + "."
    (prepared,) = prepare([text], 5)
    half = len(prepared) // 2
    params = RepeatParams()
    reach = params.max_gap + params.ngram
    assert half > 2 * reach
    # From a seed near the copy's start to the end of the text, far beyond the reach.
    assert extend_edge(prepared, prepared, half + 3, 3, +1, len(prepared) - half - 3, half - 3, params) == (
        len(prepared), half, half - 3,
    )
    # And leftwards to the copy's start.
    assert extend_edge(prepared, prepared, len(prepared) - 2, half - 2, -1, len(prepared) - 2 - half, half - 2, params) == (
        half, 0, half - 2,
    )


def test_edges_carried_past_their_reach_together_end_where_each_alone_ends():
    rng = random.Random(19)
    vocabulary = "a b c d e f".split()
    for _ in range(20):
        body = " ".join(rng.choice(vocabulary) + rng.choice(["", "", "."]) for _ in range(rng.randint(60, 200)))
        edited = body.split()
        for _ in range(rng.randint(0, 3)):
            edited[rng.randrange(len(edited))] = "z"
        (prepared,) = prepare([body + "\n\n" + " ".join(edited)], 5)
        half = len(body.split())
        params = RepeatParams(max_gap=rng.choice([0, 5, 40]))
        for step in (1, -1):
            offsets = [rng.randint(0, half - 1) for _ in range(25)]
            if step > 0:
                copy_edges, source_edges = [half + o for o in offsets], offsets
                copy_rooms, source_rooms = [len(prepared) - e for e in copy_edges], [half - o for o in offsets]
            else:
                copy_edges, source_edges = [half + o + 1 for o in offsets], [o + 1 for o in offsets]
                copy_rooms, source_rooms = [o + 1 for o in offsets], [o + 1 for o in offsets]
            together = extend_edges(prepared, prepared, np.array(copy_edges), np.array(source_edges), step,
                                    np.array(copy_rooms), np.array(source_rooms), params)
            for k in range(25):
                alone = extend_edge(prepared, prepared, copy_edges[k], source_edges[k], step, copy_rooms[k],
                                    source_rooms[k], params)
                assert alone == tuple(int(column[k]) for column in together)


def test_the_last_sentence_of_the_original_is_kept_before_a_copy_of_its_first_paragraph():
    # The original's last sentence is an earlier one with one word changed, which was
    # followed by the words the copy (of the first paragraph only) starts with: together
    # they match, but the last sentence alone is no repeat, and the copy's own words are
    # taken by the copy.
    first = ("The council said on Monday that the bridge over the river would close for repairs in May. "
             "Drivers are asked to use the ring road, which will be widened over the summer.")
    second = ("Shops near the bridge fear a quiet month. Residents of the old lower town have asked for a new "
              "footbridge since the floods of last year. The council said on Monday that it would look at the costs.")
    third = ("A spokesman for the council said the work could not wait any longer. Residents of the new lower town "
             "have asked for a new footbridge since the floods of last year.")
    text = "\n\n".join([first, second, third])
    assert dedup.clean(text) is text
    assert dedup.clean(text + "\n\n" + first) == text
