"""A text aligned against an equal text: the shortcut for whole copies
(``dedup.align.engine.whole_copy_spans``) gives what the full alignment gives."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from dedup.align import RepeatParams, prepare
from dedup.align.engine import pair_steps, whole_copy_spans
from dedup.align.extend import extend_requests

WORDS = [f"{stem}{end}" for stem in ("alder", "birch", "cedar", "damson", "elm", "fir", "gorse", "hazel") for end in
         ("", "s", "ing", "ed", "er", "ly", "ness", "ward")]
MARKS = ["", "", "", ",", ".", ".\n", "!", "?\n\n", ";"]


def full_alignment(query, source, params):
    """The pair aligned by the steps of the engine, every edge extension answered."""
    steps = pair_steps(query, source, 0, params)
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
    whole = whole_copy_spans(query, source, 0, params)
    if query.has_repeated_shingle():
        assert whole is None  # seeds would point at first occurrences: aligned in full
    else:
        assert whole == full_alignment(query, source, params)


def test_a_whole_copy_is_one_span_over_the_text_and_other_texts_are_aligned():
    text = "Alder birch cedar damson, elm fir gorse hazel. Alders birches cedars damsons elms firs gorses hazels."
    params = RepeatParams(min_length=5, ngram=3)
    query, source, other = prepare([text, text, text + " Elmward."], 3)
    [span] = whole_copy_spans(query, source, 0, params)
    assert (span.copy_start, span.copy_end, span.source_start, span.source_end) == (0, len(query), 0, len(query))
    assert span.similarity == 1.0 and span.matched == len(query)
    assert whole_copy_spans(query, other, 0, params) is None
    repeated = prepare(["alder birch cedar alder birch cedar"] * 2, 3)
    assert whole_copy_spans(repeated[0], repeated[1], 0, params) is None
