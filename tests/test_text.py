"""Tokenizer: what splits a word, what is folded away, and exact offsets into the original."""

from __future__ import annotations

import unicodedata

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup import text as text_module
from dedup.text import paragraphs, tokenize


def words(text: str, mode: str = "word") -> list[str]:
    """The tokens of ``text`` as written (sliced from the original by their offsets)."""
    tokens = tokenize([text], mode)
    return [text[s:e] for s, e in zip(tokens.starts.tolist(), tokens.ends.tolist())]


def hashes(text: str, mode: str = "word") -> list[int]:
    return tokenize([text], mode).hashes.tolist()


# --- word boundaries -------------------------------------------------------------------


def test_dutch_diacritics_stay_inside_words():
    assert words("Coöperatie in België: één reeël idee, ruïne") == [
        "Coöperatie", "in", "België", "één", "reeël", "idee", "ruïne"
    ]


@pytest.mark.parametrize("apostrophe", ["'", "\u2019", "\u02bc"])
def test_apostrophe_between_letters_joins_the_word(apostrophe):
    text = f"zo{apostrophe}n auto, don{apostrophe}t stop"
    assert words(text) == [f"zo{apostrophe}n", "auto", f"don{apostrophe}t", "stop"]


def test_straight_and_curly_apostrophes_hash_alike():
    assert hashes("zo'n don't") == hashes("zo\u2019n don\u2019t") == hashes("zo\u02bcn don\u02bct")


def test_apostrophe_at_a_word_edge_is_a_separator():
    # Dutch elision ('s avonds) and quotes around a word: the apostrophe is not part of a token.
    assert words("'s avonds 'quoted' auto's") == ["s", "avonds", "quoted", "auto's"]


def test_digits_are_tokens_and_punctuation_splits_them():
    assert words("In 2019 kostte het 3,50 euro (12:30u)") == [
        "In", "2019", "kostte", "het", "3", "50", "euro", "12", "30u"
    ]


@pytest.mark.parametrize("invisible", ["\u00ad", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"])
def test_soft_hyphen_and_zero_width_chars_neither_split_nor_change_the_hash(invisible):
    broken = f"de verkiezings{invisible}uitslag van gisteren"
    assert words(broken) == ["de", f"verkiezings{invisible}uitslag", "van", "gisteren"]
    assert hashes(broken) == hashes("de verkiezingsuitslag van gisteren")


def test_nbsp_and_other_spaces_separate_words():
    for space in ["\u00a0", "\u2009", "\u202f", "\u3000", "\t", "\n"]:
        assert words(f"tien{space}euro") == ["tien", "euro"]
        assert hashes(f"tien{space}euro") == hashes("tien euro")


def test_case_and_accents_are_folded():
    assert hashes("Café NAÏVE Één") == hashes("cafe naive een")


def test_combining_marks_equal_precomposed_letters():
    decomposed = "e\u0301e\u0308n"  # e + acute, e + diaeresis, n
    assert words(decomposed) == [decomposed]
    assert hashes(decomposed) == hashes("\u00e9\u00ebn") == hashes("een")


def test_full_width_forms_fold_to_ascii():
    assert hashes("ＡＢＣ １２３") == hashes("abc 123")


def test_multi_letter_characters_fold_to_their_letters():
    # German sharp s, the Dutch ij ligature and PDF ligatures match the spelled-out word.
    assert hashes("Straße ĳs Ĳssel ﬁnale ﬂes") == hashes("strasse ijs ijssel finale fles")
    assert words("Straße ĳs") == ["Straße", "ĳs"]


def test_precomposed_and_decomposed_hangul_hash_alike():
    text = "한국어 뉴스"
    assert hashes(unicodedata.normalize("NFD", text)) == hashes(text)


def test_expansions_do_not_merge_with_neighbouring_tokens():
    assert hashes("ß s") != hashes("ss")
    assert hashes("aß") == hashes("ass") != hashes("as")


def test_char_mode_keeps_a_multi_letter_character_as_one_token():
    assert words("aßb", "char") == ["a", "ß", "b"]


def test_different_words_hash_differently():
    values = hashes("de het een dat die en van in is op te er")
    assert len(set(values)) == len(values)


def test_word_order_matters_inside_a_token_hash():
    assert hashes("ab") != hashes("ba")
    assert hashes("aab") != hashes("aba")


# --- scripts and odd input --------------------------------------------------------------


def test_char_mode_makes_one_token_per_cjk_character():
    assert words("東京は晴れ。", "char") == ["東", "京", "は", "晴", "れ"]


def test_char_mode_keeps_thai_combining_vowels_with_their_consonant():
    text = "ภาษาไทย"
    tokens = words(text, "char")
    assert "".join(tokens) == text
    assert all(tokens)


def test_char_mode_token_spans_cover_trailing_marks():
    assert words("e\u0301a", "char") == ["e\u0301", "a"]


def test_word_mode_keeps_unspaced_scripts_as_one_run():
    assert words("東京は晴れ") == ["東京は晴れ"]


def test_emoji_are_separators_not_tokens():
    assert words("goed 😀 nieuws👍🏽!") == ["goed", "nieuws"]
    assert hashes("goed 😀 nieuws") == hashes("goed nieuws")


def test_right_to_left_scripts_tokenize_by_spaces():
    assert words("שלום עולם مرحبا بالعالم") == ["שלום", "עולם", "مرحبا", "بالعالم"]


def test_bidi_control_characters_do_not_split_words():
    assert hashes("\u202bمرحبا\u202c") == hashes("مرحبا")


def test_lone_surrogates_do_not_crash_and_separate_words():
    text = "a\ud800b \udfff c\ud83d\ude00d"
    assert words(text) == ["a", "b", "c", "d"]


def test_astral_letters_are_tokens():
    text = "𝐀𝐁𝐂 𠀀𠀁"  # mathematical bold capitals fold to abc; CJK extension B
    assert words(text) == ["𝐀𝐁𝐂", "𠀀𠀁"]
    assert hashes("𝐀𝐁𝐂") == hashes("abc")


@pytest.mark.parametrize("blank", ["", " ", "\n\n\t", "\u00a0\u3000", "...!?", "\u00ad\u200b"])
def test_texts_without_words_have_no_tokens(blank):
    tokens = tokenize([blank])
    assert len(tokens.hashes) == 0
    assert tokens.offsets.tolist() == [0, 0]


def test_empty_batch():
    tokens = tokenize([])
    assert len(tokens) == 0
    assert tokens.offsets.tolist() == [0]


def test_non_str_input_is_a_type_error_naming_what_was_given():
    with pytest.raises(TypeError, match=r"texts\[1\] must be str, got NoneType"):
        tokenize(["ok", None])
    with pytest.raises(TypeError, match=r"texts\[0\] must be str, got bytes"):
        tokenize([b"bytes"])
    with pytest.raises(TypeError, match=r"texts must be a sequence of str, got a single str"):
        tokenize("not a list")


def test_bad_mode_is_a_value_error_naming_mode():
    with pytest.raises(ValueError, match="mode must be one of 'auto', 'word', 'char', got 'words'"):
        tokenize(["x"], "words")


# --- offsets, batches ------------------------------------------------------------------


def test_offsets_slice_the_original_text():
    text = "  Het  KABINET\u00a0wil 'zo\u2019n'  coöperatie—nu!  "
    tokens = tokenize([text])
    assert [text[s:e] for s, e in zip(tokens.starts, tokens.ends)] == ["Het", "KABINET", "wil", "zo\u2019n", "coöperatie", "nu"]
    assert tokens.starts.dtype == np.int64 and tokens.ends.dtype == np.int64
    assert tokens.hashes.dtype == np.uint64


def test_tokens_of_one_text_from_a_batch():
    batch = tokenize(["een twee", "", "drie vier vijf"])
    assert batch.offsets.tolist() == [0, 2, 2, 5]
    third = batch.of(2)
    assert third.hashes.tolist() == hashes("drie vier vijf")
    assert third.starts.tolist() == [0, 5, 10]


def test_batches_spanning_many_chunks_equal_single_texts(monkeypatch):
    monkeypatch.setattr(text_module, "_CHUNK_CHARS", 16)
    texts = [f"tekst nummer {i} met wat woorden erin" for i in range(40)] + ["", "laatste"]
    batch = tokenize(texts)
    assert len(batch) == len(texts)
    for i, text in enumerate(texts):
        assert batch.of(i).hashes.tolist() == hashes(text)
        assert batch.of(i).starts.tolist() == tokenize([text]).starts.tolist()


_ALPHABET = st.sampled_from(
    list("abcxyzABC éÉëïöçßĳ019'’-.,\n\t")
    + ["\u00ad", "\u200b", "\u00a0", "\u0301", "東", "ไ", "😀", "\ud800", "\udc00", "𝐀", "ﬁ", "½", "Ⅲ", "ŉ"]
)
_TEXTS = st.lists(st.text(alphabet=_ALPHABET, max_size=40), max_size=8)


@settings(max_examples=150, deadline=None)
@given(_TEXTS, st.sampled_from(["word", "char"]))
def test_batch_result_equals_per_text_result(texts, mode):
    batch = tokenize(texts, mode)
    assert len(batch) == len(texts)
    for i, text in enumerate(texts):
        alone = tokenize([text], mode)
        part = batch.of(i)
        assert part.hashes.tolist() == alone.hashes.tolist()
        assert part.starts.tolist() == alone.starts.tolist()
        assert part.ends.tolist() == alone.ends.tolist()


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=_ALPHABET, max_size=60), st.sampled_from(["word", "char"]))
def test_token_spans_are_ordered_non_empty_ranges_inside_the_text(text, mode):
    tokens = tokenize([text], mode)
    starts, ends = tokens.starts.tolist(), tokens.ends.tolist()
    previous_end = 0
    for start, end in zip(starts, ends):
        assert previous_end <= start < end <= len(text)
        assert text[start].isalnum() or text[start] in "\u00ad\u200b\u0301"
        previous_end = end


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(alphabet="abcdeéfgh0123", min_size=1, max_size=8), min_size=1, max_size=6), st.data())
def test_a_soft_hyphen_inserted_anywhere_keeps_every_hash(tokens, data):
    text = " ".join(tokens)
    position = data.draw(st.integers(0, len(text)))
    hyphenated = text[:position] + "\u00ad" + text[position:]
    assert hashes(hyphenated) == hashes(text)


def _reference_word_hash(word: str) -> int:
    """The documented token hash, written out per character: polynomial over the folded
    letters (NFKD, marks dropped, casefolded; apostrophes and soft hyphens skipped), xor the
    length times a constant, then MurmurHash3's 64-bit finaliser."""
    mask = (1 << 64) - 1
    letters = []
    for ch in word:
        base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c)).casefold()
        letters += [c for c in base if c.isalnum()]
    poly = 0
    for k, letter in enumerate(letters):
        poly = (poly + (ord(letter) + 1) * pow(0x9E3779B97F4A7C15, k, 1 << 64)) & mask
    x = poly ^ ((len(letters) * 0xD6E8FEB86659FD93) & mask)
    for multiplier in (0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53):
        x = ((x ^ (x >> 33)) * multiplier) & mask
    return x ^ (x >> 33)


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet="abcXYZéëÉïß019'’\u00ad -.,", max_size=50))
def test_token_hashes_equal_the_written_out_definition(text):
    assert hashes(text) == [_reference_word_hash(word) for word in words(text)]


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet="abcßﬁĳ 1.", max_size=40))
def test_spelling_out_multi_letter_characters_keeps_every_hash(text):
    spelled = text.replace("ß", "ss").replace("ﬁ", "fi").replace("ĳ", "ij")
    assert hashes(text) == hashes(spelled)


# --- paragraphs -----------------------------------------------------------------------


def test_paragraphs_are_separated_by_blank_lines_and_exclude_whitespace():
    text = "  Eerste alinea.\nzelfde alinea\n\n \nTweede.\u00a0\n\n"
    spans = paragraphs(text)
    assert [text[s:e] for s, e in spans] == ["Eerste alinea.\nzelfde alinea", "Tweede."]


def test_whitespace_only_text_has_no_paragraphs():
    assert paragraphs(" \n\n\t") == []
    assert paragraphs("") == []
