"""A text aligned against an equal text, or against a text it is cut from: the shortcut
for exact copies (``dedup.align.engine.exact_copy_spans``) gives what the full alignment
gives."""

from __future__ import annotations

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dedup.align import RepeatParams, prepare
from dedup.align.engine import pair_steps, exact_copy_spans
from dedup.align.extend import extend_requests

WORDS = [f"{stem}{end}" for stem in ("alder", "birch", "cedar", "damson", "elm", "fir", "gorse", "hazel") for end in
         ("", "s", "ing", "ed", "er", "ly", "ness", "ward")]
MARKS = ["", "", "", ",", ".", ".\n", "!", "?\n\n", ";"]


def full_alignment(query, source, params, index=0):
    """The pair aligned by the steps of the engine, every edge extension answered (spans
    named as source ``index``)."""
    steps = pair_steps(query, source, index, params)
    try:
        asked = steps.send(None)
        while True:
            asked = steps.send(extend_requests(asked, params))
    except StopIteration as done:
        return done.value


texts = st.lists(st.tuples(st.sampled_from(WORDS), st.sampled_from(MARKS)), max_size=60).map(
    lambda words: " ".join(word + mark for word, mark in words)
)
settings_ = st.builds(
    RepeatParams,
    threshold=st.sampled_from([0.5, 0.7, 1.0]),
    min_length=st.integers(1, 30),
    ngram=st.integers(1, 6),
)


@settings(max_examples=300, deadline=None)
@given(texts, settings_)
@example("", RepeatParams(min_length=1, ngram=3))
@example("alder birch", RepeatParams(min_length=1, ngram=5))  # shorter than a shingle
@example("alder birch cedar", RepeatParams(min_length=1, ngram=3))  # one shingle: a single run
@example("alder birch cedar. elm", RepeatParams(min_length=2, ngram=3))
def test_the_shortcut_for_an_equal_text_is_the_full_alignment(text, params):
    query, source = prepare([text, text], params.ngram, params.mode)
    whole = exact_copy_spans(query, source, 0, params)
    if query.has_repeated_shingle():
        assert whole is None  # seeds would point at first occurrences: aligned in full
    else:
        assert whole == full_alignment(query, source, params)


def test_a_whole_copy_is_one_span_over_the_text_and_other_texts_are_aligned():
    text = "Alder birch cedar damson, elm fir gorse hazel. Alders birches cedars damsons elms firs gorses hazels."
    params = RepeatParams(min_length=5, ngram=3)
    query, source, other = prepare([text, text, text.replace("elm fir", "elm firs")], 3)
    [span] = exact_copy_spans(query, source, 0, params)
    assert (span.copy_start, span.copy_end, span.source_start, span.source_end) == (0, len(query), 0, len(query))
    assert span.similarity == 1.0 and span.matched == len(query)
    assert exact_copy_spans(query, other, 0, params) is None
    repeated = prepare(["alder birch cedar alder birch cedar"] * 2, 3)
    assert exact_copy_spans(repeated[0], repeated[1], 0, params) is None


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(WORDS), st.sampled_from(MARKS)), min_size=1, max_size=60),
       st.data(), settings_)
@example([("alder", "")] * 3 + [("birch", ".")], None, RepeatParams(min_length=1, ngram=2))
def test_the_shortcut_for_a_cut_copy_is_the_full_alignment(words, data, params):
    # The query is the source cut at its start and/or end between two words: the
    # shortcut answers (when no shingle repeats in the source) what the alignment finds.
    if data is None:
        first, end = 1, len(words)  # the source's shingles repeat before the cut
    else:
        first = data.draw(st.integers(0, len(words) - 1))
        end = data.draw(st.integers(first + 1, len(words)))
    text = " ".join(word + mark for word, mark in words)
    cut = " ".join(word + mark for word, mark in words[first:end])
    query, source = prepare([cut, text], params.ngram, params.mode)
    copied = exact_copy_spans(query, source, 0, params)
    if copied is not None:
        assert copied == full_alignment(query, source, params)
    else:  # only when the cut copy is one shingle, or a shingle of it occurs earlier in the source
        assert len(source) == len(words)  # a token a word: the cut copy starts at token ``first``
        count = len(query.shingles)
        seeds = source.first_occurrences()[first : first + count]
        assert count < 2 or (seeds != np.arange(first, first + count)).any()


def test_a_cut_copy_is_one_span_at_its_place_in_the_source():
    text = "Alder birch cedar damson, elm fir gorse hazel. Alders birches cedars damsons elms firs gorses hazels."
    cut = "Alders birches cedars damsons elms firs gorses hazels."
    params = RepeatParams(min_length=5, ngram=3)
    query, source, edited = prepare([cut, text, cut.replace("elms", "elm")], 3)
    [span] = exact_copy_spans(query, source, 2, params)
    assert (span.copy_start, span.copy_end, span.source_start, span.source_end) == (0, 8, 8, 16)
    assert (span.similarity, span.matched, span.source) == (1.0, 8, 2)
    assert exact_copy_spans(query, source, 0, params) == full_alignment(query, source, params)
    assert exact_copy_spans(edited, source, 0, params) is None  # an edited copy is aligned in full
    mid_word = prepare(["lder birch cedar damson, elm", text], 3)
    assert exact_copy_spans(*mid_word, 0, params) is None  # cut inside a word: other tokens


def test_a_cut_copy_whose_words_the_source_says_again_later_is_answered_too():
    # The source repeats the copy's phrases after it: their first occurrences are still
    # the copy's own places, so the seeds are one run and the shortcut answers.
    text = "Alder birch cedar damson, elm fir gorse. Hazel alder birch cedar damson, elm fir."
    cut = "Alder birch cedar damson, elm fir gorse."
    params = RepeatParams(min_length=5, ngram=3)
    query, source = prepare([cut, text], 3)
    assert source.has_repeated_shingle()
    [span] = exact_copy_spans(query, source, 0, params)
    assert (span.copy_start, span.copy_end, span.source_start, span.source_end) == (0, 7, 0, 7)
    assert [span] == full_alignment(query, source, params)
    later = prepare(["Hazel alder birch cedar damson, elm fir.", text], 3)
    assert exact_copy_spans(*later, 0, params) is None  # its phrases occur first earlier: aligned in full
