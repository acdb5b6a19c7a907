"""Streams of JSONL documents with repeats across documents, for throughput benchmarks (issue 17).

Source articles come from JSONL corpora (records with ``id`` and ``text``) and from
generated text: Chinese, Japanese and Thai articles of :mod:`lib.scripts_corpus`, and
``words`` articles of made-up words (a Zipf-like vocabulary, in paragraphs), so a corpus in another script or with another vocabulary holds no
surprise. Kinds of stream:

``fresh``   the source articles as they are, in order (generated ones after the corpora).
            Template-made zh/ja/th articles share some sentences with each other, so for
            them "fresh" still holds a few short repeats.
``recur4``  every article occurs 4 times (``recur`` = 4): the original, then 3 copies under
            new ids at random later positions. Most copies are whole; a share
            (``trimmed``) starts and/or ends at another sentence (a re-crawl that cut
            differently).
``near30``  the articles, plus near-copies so that 30% (``share``) of the stream are
            near-copies of an earlier article: 1-5% of the words substituted, dropped or
            inserted, and in a share of them the start and/or end cut at a sentence.
``boiler``  the articles, each with a site's boilerplate: one of ``sites`` (20) footers of
            40-90 made-up words after it, and on a quarter of them one of 20 short
            headers before it. Every article then has the few earliest holders of its
            footer as candidates, and little else: the commonest repeat of a web crawl.
``long``    long documents: the articles joined ``join`` (40) at a time (a digest, a
            book-length page), and every third of them again later, whole.
``short``   short documents (posts, blurbs, a headline with its lead): every article cut
            into pieces of 1-4 sentences (units), plus near-copies of earlier pieces as
            in ``near30`` (30% of the stream; a piece too short to edit stays whole).
            Most pieces hold fewer words than a repeat needs (``min_length``, 20).
``worst``   ``docs`` documents made from a pool of ``pool`` (2,200) recycled articles:
            mostly perturbed copies of a pool article (edited 1-5%, often cut at both
            ends) or mixes (runs of sentences of 2-3 pool articles spliced together, then
            edited), some pool articles as they are. Once the pool has been seen, almost
            every document has many earlier documents holding its passages.

Every stream is a pure function of its arguments and ``seed``. Copies keep the source's
text except for the edits; ids are new (``ID~r2``, ``ID~n``, ``w123``).

``python benchmarks/generate.py streams --corpus X.jsonl --kind near30 --out /tmp/near30.jsonl``
writes one stream (never into the repository: streams hold corpus text).
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import random
import re
from collections.abc import Sequence
from pathlib import Path

from lib.corpus import read_jsonl
from lib.scripts_corpus import LANGUAGES, articles
from lib.words import edit_words_at, sentence_spans, word_spans

KINDS = ("fresh", "recur4", "near30", "boiler", "long", "short", "worst")
GENERATED = (*LANGUAGES, "words")  # "zh", "ja", "th", "words"
EDIT_RATE = (0.01, 0.05)  # share of a copy's words edited, uniform in this range
POOL = 2200
# Text without Latin sentence ends (Chinese, Japanese, Thai, made-up words): a unit runs to
# 。！？ (with a closing quote) or to the next space.
_UNIT = re.compile(r"[^。！？\s]+(?:[。！？]+[」”]?)?")

Doc = tuple[str, str]  # (id, text)


# ---------------------------------------------------------------- source articles


def word_articles(n: int, seed: int, vocabulary: int = 100_000) -> list[str]:
    """``n`` articles of 150-600 made-up words (``w1f3``; Zipf-like frequencies) in paragraphs of 30-120 words.

    Pure Python, so a stream is the same whichever dedup (or none) is installed.
    """
    rng = random.Random(f"words-{seed}")
    words = [f"w{r:x}" for r in range(vocabulary)]
    weights = list(itertools.accumulate(1.0 / (r + 1) ** 1.05 for r in range(vocabulary)))
    texts = []
    for _ in range(n):
        drawn = rng.choices(words, cum_weights=weights, k=rng.randint(150, 600))
        paragraphs, start = [], 0
        while start < len(drawn):
            end = start + rng.randint(30, 120)
            paragraphs.append(" ".join(drawn[start:end]))
            start = end
        texts.append("\n\n".join(paragraphs))
    return texts


def source_articles(corpora: Sequence[str], limit: int | None, generated: dict[str, int], seed: int) -> list[Doc]:
    """(id, text) of the first ``limit`` records of each corpus, then the generated articles."""
    docs: list[Doc] = []
    for path in corpora:
        for k, record in enumerate(read_jsonl(path, limit or None)):
            docs.append((str(record.get("id", f"{Path(path).stem}:{k}")), record["text"]))
    for language, n in generated.items():
        if language not in GENERATED:
            raise ValueError(f"generated language must be one of {', '.join(GENERATED)}, got {language!r}")
        texts = word_articles(n, seed) if language == "words" else articles(language, n, seed)
        docs.extend((f"gen-{language}-{k}", text) for k, text in enumerate(texts))
    if len({doc_id for doc_id, _ in docs}) != len(docs):
        raise ValueError("source articles have duplicate ids; give each corpus once")
    return docs


# ---------------------------------------------------------------- perturbations


def edit_words(text: str, rng: random.Random, rate: float) -> str:
    """``text`` with a share ``rate`` of its words substituted, dropped or inserted (not the first or last).

    Words put in are words of the text itself (as an editor's changes would be).
    """
    spans = word_spans(text)
    if len(spans) < 3:
        return text
    vocabulary = [text[a:b] for a, b in spans]
    n = min(len(spans) - 2, max(1, round(rate * len(spans))))
    text, _ = edit_words_at(text, spans, rng.sample(range(1, len(spans) - 1), n), rng, vocabulary)
    return text


def units(text: str) -> list[tuple[int, int]]:
    """Character ranges of the sentences of ``text``, or of its smaller units when it has fewer than 4."""
    spans = sentence_spans(text)
    return spans if len(spans) >= 4 else [m.span() for m in _UNIT.finditer(text)]


def cut(text: str, rng: random.Random, start: bool, end: bool) -> str:
    """``text`` starting and/or ending at another sentence (up to 30% of its sentences dropped at each end)."""
    sents = units(text)
    if len(sents) < 4:
        return text
    first = rng.randint(1, max(1, len(sents) * 3 // 10)) if start else 0
    last = len(sents) - (rng.randint(1, max(1, len(sents) * 3 // 10)) if end else 0)
    return text[sents[first][0] : sents[last - 1][1]]


def cut_somewhere(text: str, rng: random.Random) -> str:
    """``text`` cut at its start, its end or both."""
    where = rng.choice(("start", "end", "both"))
    return cut(text, rng, where != "end", where != "start")


def sentence_run(text: str, rng: random.Random) -> str:
    """A run of 30-70% of the sentences of ``text`` (the whole text when it has fewer than 3)."""
    sents = units(text)
    if len(sents) < 3:
        return text
    n = max(1, round(len(sents) * rng.uniform(0.3, 0.7)))
    first = rng.randint(0, len(sents) - n)
    return text[sents[first][0] : sents[first + n - 1][1]]


# ---------------------------------------------------------------- streams


def place_later(originals: list[Doc], copies: list[tuple[int, Doc]], rng: random.Random) -> list[Doc]:
    """The originals in order, and each copy ``(i, doc)`` at a random position after original ``i``."""
    keyed = [(float(i), 0, doc) for i, doc in enumerate(originals)]
    keyed += [(rng.uniform(i, len(originals)) + 1e-9, 1, doc) for i, doc in copies]
    keyed.sort(key=lambda item: (item[0], item[1]))
    return [doc for _, _, doc in keyed]


def recurring(sources: list[Doc], rng: random.Random, recur: int = 4, trimmed: float = 0.2) -> list[Doc]:
    """Every article ``recur`` times: the original and ``recur - 1`` copies at later positions."""
    copies = []
    for i, (doc_id, text) in enumerate(sources):
        for r in range(1, recur):
            copy = cut_somewhere(text, rng) if rng.random() < trimmed else text
            copies.append((i, (f"{doc_id}~r{r}", copy)))
    return place_later(sources, copies, rng)


def near_copies(sources: list[Doc], rng: random.Random, share: float = 0.3, trimmed: float = 0.3) -> list[Doc]:
    """The articles plus near-copies of earlier ones, the copies a ``share`` of the stream."""
    n = round(len(sources) * share / (1 - share))
    copies = []
    for k in range(n):
        i = rng.randrange(len(sources))
        doc_id, text = sources[i]
        if rng.random() < trimmed:
            text = cut_somewhere(text, rng)
        copies.append((i, (f"{doc_id}~n{k}", edit_words(text, rng, rng.uniform(*EDIT_RATE)))))
    return place_later(sources, copies, rng)


def boilerplate(sources: list[Doc], rng: random.Random, sites: int = 20, headed: float = 0.25) -> list[Doc]:
    """The articles, each with one of ``sites`` footers after it, a share ``headed`` also with a header before it."""
    made_up = word_articles(2 * sites, rng.randrange(1 << 30))
    footers = [" ".join(text.split()[: rng.randint(40, 90)]) + "." for text in made_up[:sites]]
    headers = [" ".join(text.split()[: rng.randint(6, 15)]) for text in made_up[sites:]]
    stream = []
    for doc_id, text in sources:
        site = rng.randrange(sites)
        head = headers[site] + "\n\n" if rng.random() < headed else ""
        stream.append((doc_id, head + text + "\n\n" + footers[site]))
    return stream


def long_documents(sources: list[Doc], rng: random.Random, join: int = 40, again: int = 3) -> list[Doc]:
    """The articles joined ``join`` at a time, and every ``again``-th of those once more, whole, later."""
    joined = [
        (f"j{k}", "\n\n".join(text for _, text in sources[start : start + join]))
        for k, start in enumerate(range(0, len(sources), join))
    ]
    copies = [(i, (f"{doc_id}~again", text)) for i, (doc_id, text) in enumerate(joined) if i % again == 0]
    return place_later(joined, copies, rng)


def short_pieces(sources: list[Doc], rng: random.Random, most: int = 4) -> list[Doc]:
    """Every article cut into pieces of 1 to ``most`` consecutive units (sentences), in order."""
    pieces = []
    for doc_id, text in sources:
        spans = units(text)
        start = k = 0
        while start < len(spans):
            end = min(start + rng.randint(1, most), len(spans))
            pieces.append((f"{doc_id}~p{k}", text[spans[start][0] : spans[end - 1][1]]))
            start, k = end, k + 1
    return pieces


def worst_case(
    sources: list[Doc], rng: random.Random, docs: int, pool: int = POOL, mixes: float = 0.4, plain: float = 0.1
) -> list[Doc]:
    """``docs`` documents recycled from ``pool`` articles: perturbed copies, mixes of 2-3, and plain ones."""
    pool_docs = rng.sample(sources, min(pool, len(sources)))
    stream = []
    for k in range(docs):
        draw = rng.random()
        if draw < plain:
            text = rng.choice(pool_docs)[1]
        elif draw < plain + mixes:
            parts = [sentence_run(t, rng) for _, t in rng.sample(pool_docs, rng.choice((2, 2, 3)))]
            text = edit_words("\n\n".join(parts), rng, rng.uniform(*EDIT_RATE))
        else:
            text = rng.choice(pool_docs)[1]
            if rng.random() < 0.7:
                text = cut_somewhere(text, rng)
            text = edit_words(text, rng, rng.uniform(*EDIT_RATE))
        stream.append((f"w{k}", text))
    return stream


def build(kind: str, sources: list[Doc], seed: int, docs: int | None = None, recur: int = 4) -> list[Doc]:
    """The stream ``kind`` (one of :data:`KINDS`; ``worst`` takes ``docs``, ``recur4`` takes ``recur``,
    the times each article occurs in all) from ``sources``."""
    rng = random.Random(f"stream-{kind}-{seed}")
    if kind == "fresh":
        stream = list(sources)
    elif kind == "recur4":
        stream = recurring(sources, rng, recur)
    elif kind == "near30":
        stream = near_copies(sources, rng)
    elif kind == "boiler":
        stream = boilerplate(sources, rng)
    elif kind == "long":
        stream = long_documents(sources, rng)
    elif kind == "short":
        stream = near_copies(short_pieces(sources, rng), rng)
    elif kind == "worst":
        stream = worst_case(sources, rng, docs or 5000)
    else:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    seen: set[str] = set()
    for doc_id, _ in stream:  # every copy has a new id (a source id ending in ~r1 would clash)
        if doc_id in seen:
            raise ValueError(f"stream {kind}: id {doc_id!r} occurs twice")
        seen.add(doc_id)
    return stream


def write(stream: Sequence[Doc], path: str | Path) -> int:
    """Write ``stream`` as JSONL records ``{"id", "text"}`` (gzipped if ``path`` ends in .gz); bytes of text."""
    opener = gzip.open if str(path).endswith(".gz") else open
    total = 0
    with opener(path, "wt", encoding="utf-8") as handle:
        for doc_id, text in stream:
            handle.write(json.dumps({"id": doc_id, "text": text}, ensure_ascii=False) + "\n")
            total += len(text.encode("utf-8", "surrogatepass"))
    return total


def parse_generated(items: Sequence[str]) -> dict[str, int]:
    """``["zh=200", "words=100"]`` -> ``{"zh": 200, "words": 100}``."""
    out = {}
    for item in items:
        language, _, count = item.partition("=")
        if language not in GENERATED or not count.isdigit():
            raise argparse.ArgumentTypeError(f"--generated takes LANG=N with LANG in {', '.join(GENERATED)}, got {item!r}")
        out[language] = int(count)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", action="append", default=[], help="JSONL corpus with id and text (repeatable)")
    parser.add_argument("--limit", type=int, default=0, help="first N records of each corpus (0: all)")
    parser.add_argument("--generated", nargs="*", default=[], help="generated articles, e.g. zh=200 ja=200 th=200 words=200")
    parser.add_argument("--kind", choices=KINDS, required=True)
    parser.add_argument("--docs", type=int, default=5000, help="documents of the worst stream")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, help="JSONL file to write (.gz compresses)")
    args = parser.parse_args(argv)
    sources = source_articles(args.corpus, args.limit, parse_generated(args.generated), args.seed)
    stream = build(args.kind, sources, args.seed, args.docs)
    size = write(stream, args.out)
    print(f"{args.out}: {len(stream):,} documents, {size / 1e6:.1f} MB of text")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
