"""News paragraphs written for the tests: shared by the across-article and document-cluster tests."""

import random

WIRE_EN = (
    "The regional water board said on Tuesday that the dikes along the river would be "
    "reinforced over the next four years, at a cost of about two hundred million euros, "
    "after inspections found weak spots near three villages."
)

WIRE_NL = (
    "Het waterschap maakte dinsdag bekend dat de dijken langs de rivier de komende vier jaar "
    "worden versterkt, voor ongeveer tweehonderd miljoen euro, nadat bij inspecties zwakke "
    "plekken werden gevonden bij drie dorpen."
)

LOCAL_A = (
    "Residents of the lower town have complained for years about water in their cellars "
    "whenever the river runs high in spring, and welcomed the plan at a packed meeting."
)

SPORT = (
    "The home side scored twice in the last ten minutes to win the derby, lifting the club "
    "out of the relegation zone for the first time since the autumn."
)


def word_soup(seed: int, words: int) -> str:
    """Sentences of made-up words, seeded: text with no accidental overlap."""
    rng = random.Random(seed)
    syllables = ["ka", "lo", "mer", "dun", "vi", "sta", "pel", "ro", "ten", "bra", "ui", "zo", "gel", "fa"]
    out, sentence = [], []
    for _ in range(words):
        sentence.append("".join(rng.choice(syllables) for _ in range(rng.randint(1, 3))))
        if len(sentence) >= rng.randint(8, 20):
            out.append(" ".join(sentence).capitalize() + ".")
            sentence = []
    if sentence:
        out.append(" ".join(sentence).capitalize() + ".")
    return " ".join(out)


def stream_with_copies(count: int, seed: int) -> list[str]:
    """Articles of made-up words; later ones copy passages of earlier ones (some edited),
    some recur whole, some repeat a passage of their own."""
    rng = random.Random(seed)
    articles: list[str] = []
    for i in range(count):
        own = word_soup(seed * 1000 + i, rng.randrange(30, 160))
        if articles and rng.random() < 0.25:
            articles.append(rng.choice(articles))  # recurs whole
            continue
        parts = [own]
        for _ in range(rng.randrange(0, 3) if articles else 0):
            source = rng.choice(articles).split(" ")
            start = rng.randrange(0, max(len(source) - 25, 1))
            passage = source[start : start + rng.randrange(20, 60)]
            if rng.random() < 0.4:
                passage[rng.randrange(len(passage))] = "changed"
            parts.insert(rng.randrange(len(parts) + 1), " ".join(passage))
        if rng.random() < 0.1:
            parts.append(parts[0])  # a body pasted twice
        articles.append("\n\n".join(parts))
    return articles
