"""Articles of every script whose body was pasted again after it (a doubled body).

``cases(language, per_kind, seed)`` yields ``(kind, original, delivered)``: ``delivered`` is
the article as a scraper delivered it, its body followed by a copy of ``kind``, named for
what the copy is:

- ``exact``: the same body again, after a blank line, a newline or nothing;
- ``reflowed``: the copy with its paragraphs run together (Chinese, Japanese: no
  separator; Thai: a space), as scrapers flatten them;
- ``whitespace``: the copy with spaces, ideographic spaces (U+3000), NBSPs and line
  breaks added or doubled between sentences and clauses;
- ``edited``: the copy with about 2% of its letters replaced and one sentence dropped;
- ``partial``: only the first 40-90% of the body's sentences pasted again;
- ``unmodified``: the article alone.

Articles are the template articles of :mod:`lib.scripts_corpus` (``join`` of them each),
or the phrase articles of the tests (:mod:`lib.from_tests`), kept only when ``dedup.clean``
leaves them alone. ``across_cases`` is a stream in which every second article carries a
paragraph of an earlier one.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Iterator, Sequence

import dedup
from lib.from_tests import merged, phrase_article
from lib.scripts_corpus import articles

KINDS = ("exact", "reflowed", "whitespace", "edited", "partial", "unmodified")
# Sentences of a paragraph (Thai and Lao: its space-separated clauses) and what joins them.
_SENTENCE = {
    "zh": re.compile(r"[^。！？]*[。！？]”?"),
    "mixed": re.compile(r"[^。！？]*[。！？]”?"),
    "ja": re.compile(r"[^。！？]*[。！？]」?"),
    "km": re.compile(r"[^។]*។ ?"),
    "my": re.compile(r"[^။]*။ ?"),
    "en": re.compile(r"[^.]*\. ?"),
}
SPACE_JOINED = {"th": " ", "lo": " "}  # a space joins their sentences; others: "" (they end with their marks)


def sentences_of(language: str, paragraph: str) -> list[str]:
    """The sentences of one paragraph, in order (Thai, Lao: its space-separated clauses)."""
    if language in SPACE_JOINED:
        return paragraph.split(" ")
    found = _SENTENCE[language].findall(paragraph)
    rest = paragraph[sum(map(len, found)) :]
    return found + ([rest] if rest else [])


def _join(language: str, sentences: Sequence[str]) -> str:
    return SPACE_JOINED.get(language, "").join(sentences)


def _whitespace_noise(language: str, body: str, rng: random.Random) -> str:
    pieces = []
    for p, paragraph in enumerate(body.split("\n\n")):
        sentences = sentences_of(language, paragraph)
        out = []
        for s, sentence in enumerate(sentences):
            if s:
                gap = SPACE_JOINED.get(language, "")
                if rng.random() < 0.5:
                    gap = rng.choice([" ", "\u3000", "\u00a0", "\n", "  ", " \n"]) if not gap else rng.choice(["  ", "\u00a0", "\n", " \n "])
                out.append(gap)
            out.append(sentence)
        pieces.append("".join(out) + rng.choice(["", " ", "\u3000" if language not in SPACE_JOINED else "  "]))
    return rng.choice(["\n\n", "\n", "\n\n\n"]).join(pieces)


def _edit(language: str, body: str, rng: random.Random, alphabet: Sequence[str]) -> str:
    """About 2% of the letters replaced, and one sentence (of 4 or more) dropped."""
    paragraphs = [sentences_of(language, p) for p in body.split("\n\n")]
    flat = [(i, j) for i, sentences in enumerate(paragraphs) for j in range(len(sentences))]
    if len(flat) >= 4:
        i, j = rng.choice(flat[1:-1])
        del paragraphs[i][j]
    text = list("\n\n".join(_join(language, s) for s in paragraphs if s))
    letters = [k for k, ch in enumerate(text) if ch.isalnum()]
    for k in rng.sample(letters, max(1, len(letters) // 50)):
        text[k] = rng.choice([c for c in alphabet if c != text[k]])
    return "".join(text)


def _partial(language: str, body: str, rng: random.Random) -> str:
    paragraphs = [sentences_of(language, p) for p in body.split("\n\n")]
    total = sum(map(len, paragraphs))
    keep = max(2, round(total * rng.uniform(0.4, 0.9)))
    out = []
    for sentences in paragraphs:
        if keep <= 0:
            break
        out.append(_join(language, sentences[:keep]))
        keep -= len(sentences)
    return "\n\n".join(out)


def make_case(kind: str, language: str, body: str, rng: random.Random, alphabet: Sequence[str]) -> str:
    """The article as a scraper delivered it: ``body`` followed by a copy of ``kind``."""
    if kind == "unmodified":
        return body
    separator = rng.choice(["\n\n", "\n", " " if language in SPACE_JOINED or language == "en" else ""])
    if kind == "exact":
        copy = body
    elif kind == "reflowed":
        copy = merged(language, body)
    elif kind == "whitespace":
        copy = _whitespace_noise(language, body, rng)
    elif kind == "edited":
        copy = _edit(language, body, rng, alphabet)
    elif kind == "partial":
        copy = _partial(language, body, rng)
    else:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    return body + separator + copy


def bodies(language: str, n: int, seed: int, corpus: str = "templates", join: int = 1) -> list[str]:
    """``n`` articles of ``corpus``: ``join`` template articles each, or generated phrase articles.

    Joined template articles and phrase articles may repeat a sentence of their own; only
    those that ``clean`` leaves alone are used (the others are counted in ``SKIPPED``), so
    that a case is restored when the copy, and only the copy, is gone.
    """
    if corpus == "templates" and join == 1:
        return articles(language, n, seed)  # each uses a template once: no repeat of its own
    if corpus == "phrases":
        candidates = (phrase_article(language, 1_000_000 * seed + k) for k in range(10 * n))
    else:
        parts = articles(language, 10 * n * join, seed)
        candidates = ("\n\n".join(parts[k * join : (k + 1) * join]) for k in range(10 * n))
    found = []
    for text in candidates:
        if dedup.clean(text) is text:
            found.append(text)
            if len(found) == n:
                return found
        else:
            SKIPPED[language] += 1
    raise SystemExit(f"fewer than {n} {language} articles without repeats of their own")


SKIPPED: Counter = Counter()  # articles that repeat a passage of their own, per language


def cases(language: str, per_kind: int, seed: int, corpus: str = "templates", join: int = 1) -> Iterator[tuple[str, str, str]]:
    """(kind, original, delivered) for ``per_kind`` articles of every kind."""
    originals = bodies(language, per_kind * len(KINDS), seed, corpus, join)
    alphabet = sorted({ch for body in originals[:50] for ch in body if ch.isalpha()})
    rng = random.Random(f"cases-{language}-{seed}")
    for k, body in enumerate(originals):
        kind = KINDS[k % len(KINDS)]
        yield kind, body, make_case(kind, language, body, rng, alphabet)


def across_cases(language: str, n: int, seed: int) -> list[tuple[str, str, str]]:
    """A stream of ``n`` articles; every second one carries a paragraph of an earlier one.

    (original, delivered, injected paragraph or ""), in stream order. The paragraph goes
    before, between or after the article's own paragraphs.
    """
    bodies = articles(language, n, seed + 1000)
    rng = random.Random(f"across-{language}-{seed}")
    stream = []
    for i, body in enumerate(bodies):
        if i % 2 == 0 or i < 2:
            stream.append((body, body, ""))
            continue
        source = bodies[rng.randrange(i)].split("\n\n")
        passage = rng.choice(source)
        own = body.split("\n\n")
        own.insert(rng.randint(0, len(own)), passage)
        stream.append((body, "\n\n".join(own), passage))
    return stream
