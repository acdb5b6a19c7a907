"""The within-then-across pipeline (dedup.pipeline): cleaned texts and their spans in original offsets."""

from __future__ import annotations

import pickle

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import dedup
from dedup.pipeline import AcrossPass, Cleaned, clean_documents, unchanged, within_pass
from dedup.align import remove_spans, removed_ranges
from dedup.spans import Match, Removal
from news_texts import word_soup

SETTINGS = settings(max_examples=40, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def without(text: str, cuts) -> str:
    """``text`` with the character ranges ``cuts`` deleted, nothing else touched."""
    kept, position = [], 0
    for start, end in cuts:
        kept.append(text[position:start])
        position = end
    return "".join(kept) + text[position:]


def check_document(document: Cleaned, texts: dict) -> None:
    """The spans of ``document`` say exactly what its cleaning removed, in original offsets."""
    text, cuts = document.text, document.removal.cuts
    assert without(text, cuts) == document.cleaned  # the removal is exact
    assert list(cuts) == sorted(cuts) and all(a < b <= c for (a, b), (c, _) in zip(cuts, cuts[1:]))
    removed = {k for start, end in cuts for k in range(start, end)}
    covered = {k for span in document.spans for k in range(span.start, span.end)}
    assert covered <= removed  # every character of a span is gone from the output
    assert all(text[k].isspace() for k in removed - covered)  # and besides them only whitespace went
    assert [span.start for span in document.spans] == sorted(span.start for span in document.spans)
    for span in document.spans:
        assert 0 <= span.start < span.end <= len(text)
        source = texts[span.source_id]
        # Never an empty source range, also for a piece cut off an alignment whose copy
        # is shifted against its source (e.g. a paragraph said four times, scope="both")
        assert 0 <= span.source_start < span.source_end <= len(source)
        assert span.kind in ("within", "across") and 0 < span.similarity <= 1
        if span.kind == "within":
            assert span.source_id == document.id and span.source_end <= span.start


@st.composite
def documents_with_repeats(draw):
    """A few documents of made-up sentences; some paragraphs are planted again, later in
    the same document or in a later one, as they are, reflowed onto one line, or glued."""
    count = draw(st.integers(2, 6))
    paragraphs = [word_soup(draw(st.integers(0, 10_000)), draw(st.integers(8, 45))) for _ in range(count)]
    docs: list[list[str]] = []
    for d in range(draw(st.integers(1, 3))):
        parts = [word_soup(draw(st.integers(10_001, 20_000)), draw(st.integers(3, 30)))]
        for _ in range(draw(st.integers(1, 5))):
            parts.append(draw(st.sampled_from(paragraphs)))
        if draw(st.booleans()) and len(parts) > 1:  # a paragraph of its own said again
            parts.append(draw(st.sampled_from(parts)))
        if docs and draw(st.booleans()):  # a paragraph of an earlier document
            parts.append(draw(st.sampled_from(draw(st.sampled_from(docs)))))
        parts = [" ".join(p.split()) if draw(st.booleans()) else p for p in parts]
        docs.append(parts)
    separators = st.sampled_from(["\n\n", "\n", " ", "\n\n\n", "  \n"])
    texts = []
    for parts in docs:
        text = parts[0]
        for part in parts[1:]:
            text += draw(separators) + part
        texts.append(text + draw(st.sampled_from(["", "\n", " "])))
    return [(f"d{i}", text) for i, text in enumerate(texts)]


@SETTINGS
@given(documents_with_repeats())
def test_within_stage_spans_in_original_offsets_say_exactly_what_clean_many_removed(docs):
    ids, texts = zip(*docs)
    done = within_pass(texts, ids)
    assert [document.cleaned for document in done] == dedup.clean_many(texts)
    for document in done:
        check_document(document, dict(docs))
        # Removing the reported spans at once tidies as the rounds did (see the last test
        # for removals in turn whose whitespace differs: no such text here).
        assert remove_spans(document.text, [(s.start, s.end) for s in document.spans]) == document.cleaned


_SAID = "Gelpel tenro rosta ten mergel gelviten mervilo fa."
_TANDEM = [("d0", "\n\n".join(["Lofa brapel ten.", _SAID, _SAID, _SAID, "Bra vi gelro zo zogel."])),
           ("d1", "\n\n".join(["Lofa brapel ten.", _SAID, _SAID, _SAID, _SAID]))]


@SETTINGS
@given(documents_with_repeats(), st.sampled_from(["both", "across"]))
@example(_TANDEM, "both")  # a paragraph said four times: a piece once had an empty source range
def test_across_stage_spans_in_original_offsets_say_exactly_what_the_deduplicator_removed(docs, scope):
    ids, texts = zip(*docs)
    done = list(clean_documents(docs, across=dedup.Deduplicator(scope=scope)))
    assert [document.cleaned for document in done] == dedup.Deduplicator(scope=scope).clean_many(texts, ids)
    for document in done:
        check_document(document, dict(docs))
        assert remove_spans(document.text, [(s.start, s.end) for s in document.spans]) == document.cleaned


@SETTINGS
@given(documents_with_repeats())
def test_within_then_across_spans_map_back_to_original_offsets_exactly(docs):
    """Across spans are found in the text the within stage left, sources too; mapped back,
    they cover exactly characters that the output lacks, and their sources' offsets are
    those of the same characters in the sources' original texts."""
    memory = dedup.Deduplicator(scope="across")
    done = list(clean_documents(docs, within={}, across=memory))
    first = {document.id: document for document in within_pass([t for _, t in docs], [i for i, _ in docs])}
    for document in done:
        check_document(document, dict(docs))
        middle = first[document.id]
        for span in document.spans:
            if span.kind != "across":
                continue
            source = first[span.source_id]
            # The source passage's characters that the within stage kept are one run of the
            # text the Deduplicator aligned against, starting and ending where the span does.
            kept = without(source.text[: span.source_end], source.removal.cuts)
            start_in_middle = len(without(source.text[: span.source_start], source.removal.cuts))
            assert source.cleaned.startswith(kept[start_in_middle:], start_in_middle)
            assert not any(a <= span.source_start < b for a, b in source.removal.cuts)
            assert not any(a < span.source_end <= b for a, b in source.removal.cuts)
            # The span itself: its first and last characters were in the text it was found in.
            assert not any(a <= span.start < b for a, b in middle.removal.cuts)
            assert not any(a < span.end <= b for a, b in middle.removal.cuts)


# A passage said twice in an article; the article's next paragraph begins with the same
# sentences (over 200 characters, too few words to be a repeat with min_length=60), then
# goes on with its own, and an earlier article carries that whole paragraph.
PASSAGE = word_soup(1, 70)
OPENING = PASSAGE[: PASSAGE.index(".", 230) + 1]
OWN = OPENING + " " + word_soup(2, 40)
SOURCE_ARTICLE = word_soup(3, 30) + "\n\n" + OWN
ARTICLE = PASSAGE + "\n\n" + PASSAGE + "\n\n" + OWN


def test_a_span_after_a_removed_copy_that_begins_like_it_is_placed_on_the_kept_text():
    # The removed second PASSAGE begins like OWN for more than 200 characters: the old
    # offset heuristic (report.offset_map, up to 570e7f2) matched the kept text into the
    # removed copy and put the across span's start at that copy's start (433, not 866).
    memory = dedup.Deduplicator(scope="across", min_length=60)
    _, article = clean_documents([("source", SOURCE_ARTICLE), ("article", ARTICLE)], within={"min_length": 60},
                                 across=memory)
    (within,) = [s for s in article.spans if s.kind == "within"]
    (across,) = [s for s in article.spans if s.kind == "across"]
    assert (within.start, within.end) == (len(PASSAGE) + 2, 2 * len(PASSAGE) + 2)
    assert (across.start, across.end) == (ARTICLE.index(OWN), len(ARTICLE))
    assert ARTICLE[across.start : across.end] == OWN
    assert (across.source_id, across.source_start) == ("source", SOURCE_ARTICLE.index(OWN))
    assert across.source_end == len(SOURCE_ARTICLE)
    assert article.cleaned == PASSAGE


def test_a_removal_joins_text_into_a_new_repeat_and_the_later_round_is_reported_in_original_offsets():
    removal = Removal().then([(10, 20)])  # round 1: 10 characters gone
    # round 2: a span of the round-1 text that straddles the earlier cut
    assert removal.span_to_original(5, 15) == (5, 25)
    assert removal.then([(5, 15)]).cuts == ((5, 25),)
    assert removal.to_original(9) == 9 and removal.to_original(10) == 20
    assert removal.span_to_original(4, 4) == (4, 4)


def test_removed_ranges_are_what_remove_spans_deletes():
    text = "One two.\n\nThree four five.  Six.\n"
    spans = [(10, 26)]
    cuts = removed_ranges(text, spans)
    assert without(text, cuts) == remove_spans(text, spans) == "One two.\n\nSix.\n"
    assert cuts == [(10, 28)]
    assert removed_ranges(text, []) == [] and remove_spans(text, []) is text


def test_documents_travel_between_processes_and_unchanged_ones_stay_the_same():
    (document,) = within_pass(["Nothing repeats here."], ["x"])
    assert not document.changed and document.cleaned is document.text and document.spans == ()
    assert pickle.loads(pickle.dumps(document)) == document
    copy = pickle.loads(pickle.dumps(within_pass([PASSAGE + "\n\n" + PASSAGE], ["y"])[0]))
    assert copy.removal.cuts == ((len(PASSAGE), 2 * len(PASSAGE) + 2),)
    assert copy.removal.to_original(len(PASSAGE) - 1) == len(PASSAGE) - 1
    assert unchanged(["a"], [1]) == [Cleaned(1, "a", "a")]


def test_one_span_type_everywhere():
    from dedup.report import RemovedSpan

    assert RemovedSpan is Match is dedup.Match
    assert Match(1, 2, "across", "a", 3, 4, 1.0).to_dict() == {
        "start": 1, "end": 2, "kind": "across", "source_id": "a", "source_start": 3, "source_end": 4, "similarity": 1.0,
    }
    assert AcrossPass().finish(Cleaned("z", "text", "text"), []) == Cleaned("z", "text", "text")


def test_two_removals_in_turn_are_exact_where_one_removal_of_all_spans_would_tidy_otherwise():
    # Stage 1 removes "Copy." (keeping the paragraph break after it), stage 2 then removes
    # "Taken." (keeping the paragraph break before it). Removed in one go, the two spans
    # are one range and keep the single line break after "Taken.": the reported spans are
    # exact, but the whitespace between two stages' removals is the stages' own choice.
    original = "Kept. Copy.\n\nTaken.\nEnd."
    copy, taken = original.index("Copy."), original.index("Taken.")
    (cut,) = removed_ranges(original, [(copy, copy + 5)])
    middle = remove_spans(original, [(copy, copy + 5)])
    assert middle == "Kept.\n\nTaken.\nEnd."
    first = Cleaned("b", original, middle, (Match(copy, copy + 5, "within", "b", 0, 4, 1.0),), Removal([cut]))
    at = middle.index("Taken.")
    document = AcrossPass().finish(first, [Match(at, at + 6, "across", "a", 0, 6, 1.0)])
    assert document.cleaned == "Kept.\n\nEnd."
    spans = [(s.kind, s.start, s.end) for s in document.spans]
    assert spans == [("within", copy, copy + 5), ("across", taken, taken + 6)]
    check_document(document, {"a": "Taken.", "b": original})
    assert remove_spans(original, [(s.start, s.end) for s in document.spans]) == "Kept.\nEnd."
