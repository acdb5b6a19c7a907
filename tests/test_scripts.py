"""Every script with the defaults: doubled bodies in Chinese, Japanese and Thai (issue 9).

The texts are written for these tests: ``min_length`` is counted in words by
``Tokens.weights``, and CJK brackets go with the copy they open.
"""

from __future__ import annotations

import pytest

import dedup
from dedup.text import tokenize

CHINESE = (
    "市交通运输局今天上午宣布，从明年三月起，中心城区的公交线路将全面调整，新增夜间线路十二条。\n\n"
    "据介绍，调整方案在过去半年里征求了三万多名市民的意见，其中超过七成的受访者支持延长末班车时间。"
    "一位在医院上夜班的护士说：“以前下班只能打车，以后终于可以坐公交回家了。”\n\n"
    "交通专家认为，这次调整有助于缓解早晚高峰的拥堵，但配套的停车和换乘设施也需要同步完善。"
)

JAPANESE = (
    "市は今日、来年4月から中心部のバス路線を全面的に見直し、深夜便を12路線増やすと発表した。\n\n"
    "市によると、見直し案はこの半年間に3万人以上の市民から意見を集めて作られ、回答者の7割以上が"
    "終バスの延長に賛成したという。夜勤の多い看護師の女性は、これまで帰りはタクシーしかなかったが、"
    "これからはバスで帰れると喜んでいる。\n\n"
    "交通の専門家は、朝夕のラッシュの緩和につながるとみる一方、駐車場や乗り換え施設の整備も急ぐべきだと指摘した。"
)

THAI = (
    "กรุงเทพมหานครประกาศเมื่อวานนี้ว่า ตั้งแต่เดือนมีนาคมปีหน้าจะปรับเส้นทางรถเมล์ในเขตเมืองชั้นในทั้งหมด "
    "และเพิ่มรถเมล์กลางคืนอีกสิบสองสาย\n\n"
    "เจ้าหน้าที่ระบุว่า แผนดังกล่าวผ่านการรับฟังความเห็นจากประชาชนกว่าสามหมื่นคนในช่วงหกเดือนที่ผ่านมา "
    "โดยผู้ตอบแบบสอบถามมากกว่าร้อยละเจ็ดสิบสนับสนุนให้ขยายเวลาเดินรถเที่ยวสุดท้าย "
    "พยาบาลที่ทำงานกะดึกคนหนึ่งบอกว่า ต่อไปนี้จะกลับบ้านด้วยรถเมล์ได้แล้ว ไม่ต้องนั่งแท็กซี่ทุกคืนอีก\n\n"
    "นักวิชาการด้านการขนส่งมองว่า การปรับครั้งนี้จะช่วยลดปัญหารถติดในชั่วโมงเร่งด่วน "
    "แต่ต้องพัฒนาที่จอดรถและจุดเปลี่ยนเส้นทางไปพร้อมกันด้วย"
)

ARTICLES = {"Chinese": CHINESE, "Japanese": JAPANESE, "Thai": THAI}


def reflowed(text: str, language: str) -> str:
    """The paragraphs run together, as a scraper flattens them."""
    return text.replace("\n\n", " " if language == "Thai" else "")


@pytest.mark.parametrize("language", ARTICLES)
@pytest.mark.parametrize("separator", ["\n\n", "\n", ""])
def test_a_doubled_body_is_restored_with_the_defaults(language, separator):
    text = ARTICLES[language]
    assert dedup.clean(text + separator + text) == text


@pytest.mark.parametrize("language", ARTICLES)
def test_a_doubled_reflowed_body_is_restored_with_the_defaults(language):
    text = ARTICLES[language]
    assert dedup.clean(text + "\n\n" + reflowed(text, language)) == text


@pytest.mark.parametrize("language", ARTICLES)
def test_an_article_without_repeats_comes_back_unchanged(language):
    assert dedup.find_repeats(ARTICLES[language]) == []
    assert dedup.clean(ARTICLES[language]) == ARTICLES[language]


def test_word_tokens_miss_an_edited_chinese_copy_that_auto_tokens_find():
    # One character changed per clause: in word mode every clause is another token.
    edited = CHINESE.replace("三月", "四月").replace("三万", "四万").replace("七成", "六成").replace("拥堵", "堵车")
    text = CHINESE + "\n\n" + edited
    assert dedup.clean(text) == CHINESE
    assert len(tokenize([CHINESE], "word").hashes) < 25  # clauses, not words


# รัฐบาล จะ ช่วยเหลือ ผู้ ได้รับ ผลกระทบ จาก น้ำท่วม ทุก ครอบครัว: 10 words, 43 letters
THAI_PHRASE = "รัฐบาลจะช่วยเหลือผู้ได้รับผลกระทบจากน้ำท่วมทุกครอบครัว"


def test_the_weights_of_a_thai_phrase_count_about_its_words():
    tokens = tokenize([THAI_PHRASE])
    assert len(tokens.hashes) == 43  # one token per letter; vowel signs and tone marks ride along
    assert 8 <= float(tokens.weights.sum()) <= 14


def test_a_repeated_thai_phrase_shorter_than_min_length_words_is_kept():
    # A 10-word phrase said twice: below min_length=20 words, as an English phrase of 10
    # words said twice is kept.
    text = f"นายกรัฐมนตรีกล่าวว่า {THAI_PHRASE} และย้ำว่า {THAI_PHRASE} โดยไม่มีข้อยกเว้น"
    english = (
        "The minister said the government will help every family hit by the floods, and added "
        "that the government will help every family hit by the floods without exception."
    )
    assert dedup.clean(english) == english
    assert dedup.clean(text) == text


def test_a_japanese_copy_that_starts_with_a_bracket_is_removed_with_it():
    text = "「" + JAPANESE.replace("\n\n", "」\n\n", 1)
    assert dedup.clean(text + "\n\n" + text) == text


@pytest.mark.parametrize("language", ARTICLES)
def test_a_paragraph_copied_from_an_earlier_article_is_removed_across_articles(language):
    from dedup import Deduplicator

    text = ARTICLES[language]
    first, second, third = text.split("\n\n")
    earlier = {
        "Chinese": "今年夏天，本市的用电量创下历史新高，电力公司呼吁市民在用电高峰时段节约用电。",
        "Japanese": "今年の夏、市内の電力使用量は過去最高を記録し、電力会社はピーク時の節電を呼びかけた。",
        "Thai": "ฤดูร้อนปีนี้ ความต้องการใช้ไฟฟ้าในเมืองสูงเป็นประวัติการณ์ การไฟฟ้าจึงขอให้ประชาชนช่วยกันประหยัดไฟในช่วงเวลาที่มีการใช้งานสูงสุด",
    }[language]
    dedup_ = Deduplicator(scope="across")
    assert dedup_.clean(earlier + "\n\n" + second, doc_id="a") == earlier + "\n\n" + second
    later = first + "\n\n" + second + "\n\n" + third
    assert dedup_.clean(later, doc_id="b") == first + "\n\n" + third
