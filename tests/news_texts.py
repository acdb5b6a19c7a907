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


def generated_corpus(count: int, seed: int = 1) -> list[dict]:
    """``count`` records ``{"id", "text"}`` of made-up news: most articles are new text, some
    repeat a passage of their own (in-article repeats), some take paragraphs or sentences of
    earlier articles, re-flowed or slightly edited (across-article repeats). Seeded."""
    rng = random.Random(seed)
    records: list[dict] = []
    paragraphs: list[str] = []  # every paragraph written so far, to be taken by later articles
    for number in range(count):
        own = [word_soup(seed * 1_000_003 + number * 7 + k, rng.randint(25, 70)) for k in range(rng.randint(1, 4))]
        body = list(own)
        roll = rng.random()
        if roll < 0.15 and paragraphs:  # a paragraph of an earlier article
            body.insert(rng.randint(0, len(body)), rng.choice(paragraphs))
        elif roll < 0.22 and paragraphs:  # an earlier paragraph glued into one of this article's
            at = rng.randrange(len(body))
            body[at] = body[at] + " " + rng.choice(paragraphs)
        elif roll < 0.26 and paragraphs:  # an earlier paragraph with one word changed
            words = rng.choice(paragraphs).split()
            words[rng.randrange(len(words))] = "changed"
            body.append(" ".join(words))
        if rng.random() < 0.10:  # the article's own text repeated, re-flowed into one paragraph
            body.append(" ".join(own))
        elif rng.random() < 0.05:  # one of its paragraphs said twice
            body.append(rng.choice(own))
        if rng.random() < 0.05 and paragraphs:
            # an earlier paragraph's second half glued to the start of its first, then the whole
            # paragraph: repeats inside the article overlap a passage of an earlier article
            words = rng.choice(paragraphs).split()
            half = len(words) // 2
            body.extend([" ".join(words[half:] + words[: half // 2]), " ".join(words)])
        if rng.random() < 0.03 and records:  # an earlier article pasted whole
            body.append(rng.choice(records)["text"])
        paragraphs.extend(own)
        records.append({"id": f"doc{number}", "text": "\n\n".join(body)})
    return records
