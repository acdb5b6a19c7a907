"""Text soup: generated text made to stress one part of the engine.

``synthetic_articles`` gives distinct articles of random words (``short-words``,
``letters``, ``han``) or of templates (``zh``, ``ja``, ``th``); ``SHAPES`` holds texts of
one odd shape (no line break, no space, one token again and again, ...) built to a size;
``build_text`` glues real articles into one long text with some of them repeated.
"""

from __future__ import annotations

import random

from lib import scripts_corpus


def synthetic_articles(kind: str, megabytes: float, seed: int = 0) -> list[str]:
    """Distinct generated articles of ``kind`` adding up to at least ``megabytes``."""
    target, size, out, batch = int(megabytes * 1e6), 0, [], 0
    while size < target:
        if kind in RANDOM_WORDS:
            new = random_word_articles(kind, 1000, seed=f"{seed}-{batch}")
        else:
            new = scripts_corpus.articles(kind, 1000, seed=seed * 100_000 + batch)
        out += new
        size += sum(len(t.encode("utf-8")) + 2 for t in new)
        batch += 1
    return out


# Random text: (words of a sentence, how words are joined, sentence end, sentences joined).
RANDOM_WORDS = {"short-words": (" ", ".", " "), "letters": (" ", ".", " "), "han": ("", "。", "")}


def random_word_articles(kind: str, n: int, seed: str) -> list[str]:
    """Articles of random words: ``short-words``, words of 1-4 Latin letters (about 3.6
    bytes of text per token); ``letters``, one letter or digit each (2 bytes per token);
    ``han``, random Han characters (3 bytes per token) with Chinese punctuation. Sentences of 6-16 words (Han: 10-40 characters, a comma inside)."""
    join, end, between = RANDOM_WORDS[kind]
    rng = random.Random(seed)
    if kind == "han":
        vocabulary = [chr(rng.randrange(0x4E00, 0x9FA5)) for _ in range(3000)]
    elif kind == "letters":  # one-letter words: 2 bytes of text per token, the extreme
        vocabulary = list("abcdefghijklmnopqrstuvwxyz0123456789")
    else:
        vocabulary = ["".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(1, 4))) for _ in range(5000)]
    articles = []
    for _ in range(n):
        paragraphs = []
        for _ in range(rng.randint(3, 6)):
            sentences = []
            for _ in range(rng.randint(2, 4)):
                if kind == "han":
                    words = rng.choices(vocabulary, k=rng.randint(10, 40))
                    words.insert(rng.randint(3, len(words) - 3), "，")
                else:
                    words = rng.choices(vocabulary, k=rng.randint(6, 16))
                sentences.append(join.join(words).capitalize() + end)
            paragraphs.append(between.join(sentences))
        articles.append("\n\n".join(paragraphs))
    return articles


# Texts of one shape, built to be slow or big (issue 20): (description, builder of n bytes).
def _single_line(n: int) -> str:
    rng = random.Random(0)
    vocabulary = ["".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(2, 9))) for _ in range(20_000)]
    words, size = [], 0
    while size < n:
        words.append(rng.choice(vocabulary))
        size += len(words[-1]) + 1
    return " ".join(words)  # no line break anywhere


def _single_word(n: int) -> str:
    rng = random.Random(0)
    return "".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=n))


def _one_letter_words(n: int) -> str:
    rng = random.Random(0)
    return " ".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=n // 2))


def _repeated_paragraphs(n: int) -> str:
    # 300 paragraphs of 30 random words, drawn again and again: every paragraph after
    # the first few hundred is a repeat (many spans for resolve_overlaps).
    rng = random.Random(0)
    vocabulary = ["".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(2, 8))) for _ in range(5000)]
    pool = [" ".join(rng.choices(vocabulary, k=30)) + "." for _ in range(300)]
    parts, size = [], 0
    while size < n:
        parts.append(rng.choice(pool))
        size += len(parts[-1]) + 2
    return "\n\n".join(parts)


SHAPES = {
    "single-line": ("random words, no line break", _single_line),
    "single-word": ("random letters, no space", _single_word),
    "one-letter-words": ("random one-letter words", _one_letter_words),
    "one-token": ('"word " again and again', lambda n: "word " * (n // 5)),
    "ab": ('"ab" again and again, one word', lambda n: "ab" * (n // 2)),
    "repeated-paragraphs": ("300 paragraphs drawn again and again", _repeated_paragraphs),
}


def build_text(texts: list[str], megabytes: float) -> str:
    target = int(megabytes * 1e6)
    parts: list[str] = []
    size = 0
    round_number = 0
    while size < target:
        for i, text in enumerate(texts):
            if round_number:
                words = text.split(" ")
                words[::4] = [f"{w}{round_number}" for w in words[::4]]
                text = " ".join(words)
            parts.append(text)
            size += len(text.encode("utf-8")) + 2
            if i % 20 == 0:
                reflowed = " ".join(text.split())
                parts.append(reflowed)
                size += len(reflowed.encode("utf-8")) + 2
            if size >= target:
                break
        round_number += 1
    return "\n\n".join(parts)
