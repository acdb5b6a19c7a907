"""Generated articles in many scripts, written for the tests: phrases of each script drawn
at random into sentences, so that short phrases (and their n-grams) recur all through an
article, as stock phrases do in news, while no long passage repeats by chance."""

from __future__ import annotations

import random

# Phrases of a news story on a transport plan, in each script. Joined without spaces
# inside a clause in scripts written without spaces; Thai and Lao put a space between
# clauses, Khmer and Myanmar end sentences with their own full stop.
PHRASES = {
    "zh": ["市政府", "今天上午", "宣布", "新的", "交通计划", "居民们", "表示", "支持", "这项措施", "明年",
           "开始实施", "专家认为", "还需要", "更多时间", "公共服务", "进一步改善"],
    "ja": ["市は", "今日", "新しい", "交通計画を", "発表した", "住民の", "多くが", "この措置を", "支持している",
           "来年から", "実施される", "専門家は", "時間が", "必要だと", "話している", "サービスの"],
    "th": ["รัฐบาล", "ประกาศ", "แผนใหม่", "เกี่ยวกับ", "การขนส่ง", "ประชาชน", "ส่วนใหญ่", "สนับสนุน",
           "มาตรการนี้", "ปีหน้า", "เริ่มใช้", "ผู้เชี่ยวชาญ", "เห็นว่า", "ต้องใช้เวลา", "บริการสาธารณะ", "ดีขึ้น"],
    "lo": ["ລັດຖະບານ", "ປະກາດ", "ແຜນການໃໝ່", "ກ່ຽວກັບ", "ການຂົນສົ່ງ", "ປະຊາຊົນ", "ສ່ວນຫຼາຍ", "ສະໜັບສະໜູນ",
           "ມາດຕະການນີ້", "ປີໜ້າ", "ເລີ່ມນຳໃຊ້", "ຊ່ຽວຊານ", "ເຫັນວ່າ", "ຕ້ອງໃຊ້ເວລາ", "ການບໍລິການ", "ດີຂຶ້ນ"],
    "km": ["រដ្ឋាភិបាល", "បានប្រកាស", "ផែនការថ្មី", "អំពី", "ការដឹកជញ្ជូន", "ប្រជាជន", "ភាគច្រើន", "គាំទ្រ",
           "វិធានការនេះ", "ឆ្នាំក្រោយ", "ចាប់ផ្តើមអនុវត្ត", "អ្នកជំនាញ", "យល់ថា", "ត្រូវការពេល", "សេវាសាធារណៈ",
           "ប្រសើរឡើង"],
    "my": ["အစိုးရ", "ကြေညာခဲ့သည်", "အစီအစဉ်သစ်", "နှင့်ပတ်သက်၍", "သယ်ယူပို့ဆောင်ရေး", "ပြည်သူ", "အများစု",
           "ထောက်ခံသည်", "ဤအစီအမံ", "နောက်နှစ်", "စတင်မည်", "ကျွမ်းကျင်သူများ", "ယူဆသည်", "အချိန်လိုသည်",
           "ဝန်ဆောင်မှု", "ပိုကောင်းလာ"],
    # Chinese with Latin words and numbers in it, as articles have them.
    "mixed": ["市政府", "宣布", "新的", "AI", "交通计划", "居民们", "支持", "5G", "这项措施", "2025年", "开始实施",
              "专家认为", "GDP", "增长3.5%", "公共服务", "App"],
    "en": ["the council", "said on Monday", "that the", "new bridge", "would open", "next year", "after",
           "long delays", "and residents", "welcomed", "the plan"],
}
# Between the phrases of a clause, between clauses, and after the last clause of a sentence.
JOINS = {
    "zh": ("", "，", "。"), "ja": ("", "、", "。"), "mixed": ("", "，", "。"),
    "th": ("", " ", " "), "lo": ("", " ", " "), "km": ("", " ", "។ "), "my": ("", " ", "။ "),
    "en": (" ", ", ", ". "),
}
SCRIPTS = tuple(PHRASES)
# (sentences, phrases) of an article by default: enough recurring phrases that a copy of
# it has stretches of 45 tokens or more whose every 5-gram the original said before.
SHAPE = {"th": (24, 16), "lo": (24, 16), "km": (24, 16), "my": (24, 16)}
DEFAULT_SHAPE = (40, 6)


def sentence(script: str, rng: random.Random, phrases: int) -> str:
    phrase, clause, end = JOINS[script]
    words = PHRASES[script][:phrases]
    clauses = [phrase.join(rng.choice(words) for _ in range(rng.randint(2, 4))) for _ in range(rng.randint(1, 3))]
    text = clause.join(clauses) + end
    return text[0].upper() + text[1:] if script == "en" else text


def article(script: str, seed: int, sentences: int | None = None, phrases: int | None = None) -> str:
    """Paragraphs of 3-5 sentences drawn from the first ``phrases`` phrases of the script,
    blank lines between them; no trailing space. Deterministic."""
    default_sentences, default_phrases = SHAPE.get(script, DEFAULT_SHAPE)
    sentences, phrases = sentences or default_sentences, phrases or default_phrases
    rng = random.Random(f"{script}-{seed}")
    paragraphs, left = [], sentences
    while left > 0:
        n = min(left, rng.randint(3, 5))
        paragraphs.append("".join(sentence(script, rng, phrases) for _ in range(n)).rstrip())
        left -= n
    return "\n\n".join(paragraphs)


def merged(script: str, text: str) -> str:
    """The paragraphs run together, as a scraper flattens them."""
    return text.replace("\n\n", "" if script in ("zh", "ja", "mixed") else " ")
