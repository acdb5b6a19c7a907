"""Tokenizer: what splits a word, what is folded away, and exact offsets into the original."""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup import text as text_module
from dedup.align.boundaries import boundary_marks
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
    # 4 bytes per offset: a long text has millions of tokens.
    assert tokens.starts.dtype == np.int32 and tokens.ends.dtype == np.int32
    assert tokens.hashes.dtype == np.uint64


def test_a_long_text_keeps_int32_offsets_and_the_same_tokens():
    text = "een twee drie vier. " * 40_000  # 800,000 characters: tokenized in pieces
    tokens = tokenize([text])
    assert tokens.starts.dtype == np.int32 and tokens.ends.dtype == np.int32
    assert len(tokens.hashes) == 160_000
    assert int(tokens.starts[-1]) == len(text) - len("vier. ")
    assert text[int(tokens.starts[-3]) : int(tokens.ends[-3])] == "twee"


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
@given(_TEXTS, st.sampled_from(["word", "char", "auto"]))
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
@given(st.text(alphabet=_ALPHABET, max_size=60), st.sampled_from(["word", "char", "auto"]))
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


# --- auto mode: every script with the defaults ------------------------------------------


def auto(text: str) -> list[str]:
    return words(text, "auto")


def weights(text: str, mode: str = "auto") -> list[float]:
    return [round(float(w), 2) for w in tokenize([text], mode).weights]


def test_auto_is_the_default_mode():
    text = "北京和Berlin"
    assert tokenize([text]).hashes.tolist() == tokenize([text], "auto").hashes.tolist()
    assert words(text, "auto") == ["北", "京", "和", "Berlin"]


def test_auto_chinese_one_token_per_character_and_punctuation_splits():
    text = "北京市今天发布了新规定，明年起实施。"
    assert auto(text) == list("北京市今天发布了新规定明年起实施")
    tokens = tokenize([text], "auto")
    assert tokens.starts.tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14, 15, 16]
    assert tokens.ends.tolist() == [s + 1 for s in tokens.starts.tolist()]
    assert weights(text) == [0.6] * 16


def test_auto_japanese_kanji_kana_latin_and_digits():
    text = "2024年4月、東京のAIスタートアップがGPU不足を語った。"
    assert auto(text) == [
        "2024", "年", "4", "月", "東", "京", "の", "AI", "ス", "タ", "ー", "ト", "ア", "ッ", "プ", "が",
        "GPU", "不", "足", "を", "語", "っ", "た",
    ]
    assert weights(text)[:4] == [1.0, 0.6, 1.0, 0.6]
    assert weights(text)[7] == 1.0  # AI


def test_auto_full_width_latin_and_digits_are_words_equal_to_ascii():
    assert auto("ＧＰＵは２０２４年") == ["ＧＰＵ", "は", "２０２４", "年"]
    assert hashes("ＧＰＵは２０２４年", "auto")[0] == hashes("GPU", "auto")[0]
    assert hashes("ＧＰＵは２０２４年", "auto")[2] == hashes("2024", "auto")[0]


def test_auto_half_width_katakana_equals_full_width():
    assert hashes("ｶﾀｶﾅ", "auto") == hashes("カタカナ", "auto")


def test_auto_thai_letters_keep_their_marks_and_digits_form_numbers():
    text = "ประเทศไทยมีประชากร ๖๖ ล้านคน"
    tokens = auto(text)
    assert "๖๖" in tokens
    letters = [t for t in tokens if t != "๖๖"]
    assert "".join(letters) == text.replace(" ", "").replace("๖๖", "")
    # every token starts on a letter; vowel signs and tone marks ride with the letter before
    assert all(unicodedata.category(t[0]) == "Lo" for t in letters)
    assert all(unicodedata.category(c)[0] == "M" for t in letters for c in t[1:])
    assert "ท" in letters and any(len(t) > 1 for t in letters)
    assert set(weights(text)) == {0.3, 1.0}


@pytest.mark.parametrize(
    "text, expected",
    [
        ("서울은 한국의 수도입니다", ["서울은", "한국의", "수도입니다"]),  # Hangul is written with spaces
        ("اللغة العربية جميلة", ["اللغة", "العربية", "جميلة"]),
        ("हिन्दी भाषा बहुत सुंदर है", ["हिन्दी", "भाषा", "बहुत", "सुंदर", "है"]),
        ("Москва — столица России", ["Москва", "столица", "России"]),
        ("Η Αθήνα είναι πρωτεύουσα", ["Η", "Αθήνα", "είναι", "πρωτεύουσα"]),
        ("བོད་ཡིག་ནི", ["བོད", "ཡིག", "ནི"]),  # Tibetan: the tsheg separates syllables
    ],
)
def test_auto_spaced_scripts_are_word_tokens_identical_to_word_mode(text, expected):
    assert auto(text) == expected
    a, w = tokenize([text], "auto"), tokenize([text], "word")
    assert a.hashes.tolist() == w.hashes.tolist()
    assert a.starts.tolist() == w.starts.tolist() and a.ends.tolist() == w.ends.tolist()
    assert weights(text) == [1.0] * len(expected)


def test_auto_mixed_chinese_and_english_sentence():
    text = "Apple发布了iPhone 15，售价5999元。"
    assert auto(text) == ["Apple", "发", "布", "了", "iPhone", "15", "售", "价", "5999", "元"]
    assert weights(text) == [1.0, 0.6, 0.6, 0.6, 1.0, 1.0, 0.6, 0.6, 1.0, 0.6]


def test_auto_apostrophe_does_not_join_unspaced_letters():
    assert auto("中'文 l'eau") == ["中", "文", "l'eau"]


def test_auto_mark_after_an_unspaced_letter_stays_with_it():
    assert auto("中\u0301a") == ["中\u0301", "a"]
    assert auto("a\u0301中") == ["a\u0301", "中"]


def test_auto_astral_ideographs_are_char_tokens():
    text = "𠀀𠀁 abc"
    assert auto(text) == ["𠀀", "𠀁", "abc"]
    assert weights(text) == [0.6, 0.6, 1.0]


def test_auto_thai_sara_am_is_a_thai_letter():
    # ำ folds (NFKD) to a multi-letter code that names no script: classed as written.
    assert auto("น้ำ ทำ") == ["น้", "ำ", "ท", "ำ"]
    assert weights("น้ำ ทำ") == [0.3] * 4


def test_auto_on_text_with_only_unspaced_letters_equals_char_mode():
    text = "東京は晴れ、大阪は雨。ภาษาไทยน้ำ ｶﾀｶﾅ 丽"
    a, c = tokenize([text], "auto"), tokenize([text], "char")
    assert a.hashes.tolist() == c.hashes.tolist()
    assert a.starts.tolist() == c.starts.tolist() and a.ends.tolist() == c.ends.tolist()
    assert a.weights.tolist() == c.weights.tolist()


def test_weights_are_float32_and_one_per_word_in_word_mode():
    tokens = tokenize(["een twee drie", "東京は晴れ"], "word")
    assert tokens.weights.dtype == np.float32
    assert tokens.weights.tolist() == [1.0, 1.0, 1.0, 1.0]


def test_char_mode_weights_count_letters_as_fractions_of_a_word():
    assert weights("ab東", "char") == [0.22, 0.22, 0.6]


def test_weights_of_a_chinese_passage_count_about_its_words():
    # 今天 / 上午 / 市政府 / 宣布 / 了 / 新的 / 交通 / 计划: 8 words, 15 characters
    total = float(tokenize(["今天上午市政府宣布了新的交通计划"], "auto").weights.sum())
    assert 8 <= total <= 10


def test_tokens_of_keeps_the_weights():
    batch = tokenize(["one two", "三四", "五 six"], "auto")
    assert batch.of(1).weights.tolist() == pytest.approx([0.6, 0.6])
    assert batch.of(2).weights.tolist() == pytest.approx([0.6, 1.0])


def test_a_text_of_words_in_a_batch_with_chinese_is_all_words():
    # Its stretches are then measured by counting tokens, as for a batch of words alone.
    batch = tokenize(["one two", "三四", "五 six", ""], "auto")
    assert [batch.of(i).all_words for i in range(4)] == [True, False, False, True]
    assert batch.of(0).weights.tolist() == [1.0, 1.0]


def test_auto_batches_spanning_many_chunks_equal_single_texts(monkeypatch):
    monkeypatch.setattr(text_module, "_CHUNK_CHARS", 16)
    texts = [f"第{i}号文章 has {i} words 和字" for i in range(30)] + ["", "ภาษาไทย ok"]
    batch = tokenize(texts, "auto")
    for i, text in enumerate(texts):
        alone = tokenize([text], "auto")
        assert batch.of(i).hashes.tolist() == alone.hashes.tolist()
        assert batch.of(i).starts.tolist() == alone.starts.tolist()
        assert batch.of(i).weights.tolist() == alone.weights.tolist()


_SCRIPTS_ALPHABET = st.sampled_from(
    list("abcXYZ 019'’-.,。、！？\n東京はカタナーﾀｶ한국ไทยมีภาษาก่ำ๖ΑβДж")
    + ["\u00ad", "\u200b", "\u0301", "\u0e34", "\u0e48", "😀", "𠀀", "ﬁ", "ß"]
)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=_SCRIPTS_ALPHABET, max_size=60))
def test_auto_tokens_never_overlap_and_cover_every_letter(text):
    tokens = tokenize([text], "auto")
    starts, ends = tokens.starts.tolist(), tokens.ends.tolist()
    covered = [0] * len(text)
    previous_end = 0
    for start, end in zip(starts, ends):
        assert previous_end <= start < end <= len(text)
        previous_end = end
        for p in range(start, end):
            covered[p] += 1
    for p, ch in enumerate(text):
        if ch.isalnum():
            assert covered[p] == 1, (text, p)
    assert len(tokens.weights) == len(starts)
    assert all(w in (np.float32(1.0), np.float32(0.6), np.float32(0.3)) for w in tokens.weights)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=_SCRIPTS_ALPHABET, max_size=60))
def test_auto_every_token_tokenized_alone_is_itself(text):
    tokens = tokenize([text], "auto")
    for k, (start, end) in enumerate(zip(tokens.starts.tolist(), tokens.ends.tolist())):
        again = tokenize([text[start:end]], "auto")
        assert again.hashes.tolist() == [tokens.hashes[k]]
        assert again.weights.tolist() == [tokens.weights[k]]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(alphabet=_SCRIPTS_ALPHABET, max_size=30), max_size=6))
def test_auto_is_deterministic_and_batch_equals_single(texts):
    first, second = tokenize(texts, "auto"), tokenize(texts, "auto")
    assert first.hashes.tolist() == second.hashes.tolist()
    for i, text in enumerate(texts):
        alone = tokenize([text], "auto")
        assert first.of(i).hashes.tolist() == alone.hashes.tolist()
        assert first.of(i).starts.tolist() == alone.starts.tolist()
        assert first.of(i).weights.tolist() == alone.weights.tolist()


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=list("abcdeéfgh0123 ,.'’\u00ad\u0301ßﬁ"), max_size=60))
def test_auto_equals_word_mode_on_latin_text(text):
    a, w = tokenize([text], "auto"), tokenize([text], "word")
    assert a.hashes.tolist() == w.hashes.tolist()
    assert a.starts.tolist() == w.starts.tolist() and a.ends.tolist() == w.ends.tolist()


@pytest.mark.parametrize("mode", ["auto", "word", "char"])
def test_long_texts_cut_into_pieces_give_the_tokens_and_weights_of_the_whole(monkeypatch, mode):
    texts = [
        "東京は晴れ。 Tokyo is sunny today, ภาษาไทย ๒๕๖๗ น้ำ\n" * 30,
        "short one",
        "北京和上海 " * 80,
        "",
        "no spaces for a long stretch:" + "字" * 300 + " end",
    ]
    whole = tokenize(texts, mode)
    monkeypatch.setattr(text_module, "_CHUNK_CHARS", 64)
    monkeypatch.setattr(text_module, "_LONG_TEXT", 128)
    pieces = tokenize(texts, mode)
    assert pieces.offsets.tolist() == whole.offsets.tolist()
    assert pieces.hashes.tolist() == whole.hashes.tolist()
    assert pieces.starts.tolist() == whole.starts.tolist() and pieces.ends.tolist() == whole.ends.tolist()
    assert pieces.weights.tolist() == whole.weights.tolist()
    assert (pieces.weights < 1).any() == (mode != "word")


def test_a_word_longer_than_a_hash_block_hashes_as_if_hashed_in_one_piece(monkeypatch):
    # Words of a few letters around one long word: with a tiny block every token's hash
    # comes from block-wise prefix sums, and must equal the one-piece hashes.
    rng = np.random.default_rng(3)
    long_word = "".join(rng.choice(list("abcdefghijklmnopqrstuvwxyzß"), 5000))
    text = " ".join(["één", "twee", long_word, "drie", long_word[:-1], "vier'en"] * 20)
    whole = tokenize([text], mode="word")
    monkeypatch.setattr(text_module, "HASH_BLOCK", 97)
    blocked = tokenize([text], mode="word")
    assert blocked.hashes.tolist() == whole.hashes.tolist()
    assert len(set(whole.hashes.tolist())) == 6


def test_tokens_do_not_depend_on_which_code_points_a_process_met_first():
    # The folds of code points are made a block at a time as texts use them: a process
    # that meets every character at once and one that met a few blocks before agree.
    import subprocess
    import sys

    script = (
        "import hashlib, sys\n"
        "from dedup.text import tokenize\n"
        "every = ''.join(chr(c) for c in range(0x20, 0x30000) if not 0xD800 <= c < 0xE000)\n"
        "text = ' '.join(every[k : k + 7] for k in range(0, len(every), 7))\n"
        "if sys.argv[1] == 'first':\n"
        "    tokenize(['Ἀθῆναι straße ﬁne Ĳssel ½ ｆｕｌｌ'], 'word')\n"
        "tokens = tokenize([text], sys.argv[2])\n"
        "print(hashlib.sha1(tokens.hashes.tobytes() + tokens.starts.tobytes() + tokens.weights.tobytes()).hexdigest())\n"
    )
    for mode in ("word", "auto"):
        digests = {
            subprocess.run([sys.executable, "-c", script, order, mode], capture_output=True, text=True, check=True).stdout
            for order in ("first", "at once")
        }
        assert len(digests) == 1, mode


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=list("ab7 \n\t.!?\u2026\"'\u201d\u00bb)]\u3002\uff01\u300d\uff09") + ["\u0964"], max_size=60))
def test_boundary_marks_are_where_the_pattern_finds_them(text):
    # Tried only where a mark can start, they are what a scan of every position finds.

    every_position = re.compile("\n|" + text_module.SENTENCE_END.pattern)
    assert boundary_marks(text) == [match.start() for match in every_position.finditer(text)]
