"""Synthetic corpora of pseudo-words with planted copies, for the Spark benchmarks.

``synthetic_corpus``: documents of which about 30% are copies of an earlier original
(a share of words replaced, a passage dropped, text appended, or exact).
``across_stream``: articles in order with passages planted from a shared pool and one
boilerplate paragraph in a share of them. Both are pure functions of their seed.
"""

from __future__ import annotations

import numpy as np


def synthetic_corpus(n: int, seed: int = 7, mean_words: int = 200) -> tuple[list, list[str]]:
    """``n`` documents: ~70% originals, the rest edited or exact copies of an original."""
    rng = np.random.default_rng(seed)
    syllables = np.array(["ka", "lo", "mi", "ne", "tu", "ra", "si", "ve", "do", "pa", "ge", "bo", "ri", "an", "el", "or"])
    vocabulary = np.array(["".join(rng.choice(syllables, size=rng.integers(1, 4))) + str(i % 97) for i in range(50_000)])
    zipf = np.cumsum(1.0 / np.arange(1, len(vocabulary) + 1) ** 1.05)
    zipf /= zipf[-1]

    def draw(size: int) -> np.ndarray:  # Zipf-distributed word numbers
        return np.searchsorted(zipf, rng.random(size))

    lengths = np.clip(rng.lognormal(np.log(mean_words), 0.5, size=n).astype(int), 20, 3000)
    words: list[np.ndarray] = []
    originals: list[int] = []
    for i in range(n):
        if originals and rng.random() < 0.3:
            source = words[originals[int(rng.integers(len(originals)))]]
            copy = source.copy()
            kind = rng.random()
            if kind < 0.5:  # a share of the words replaced
                changed = rng.random(len(copy)) < rng.uniform(0.0, 0.1)
                copy[changed] = draw(int(changed.sum()))
            elif kind < 0.7:  # a passage dropped
                cut = int(rng.integers(len(copy)))
                copy = np.delete(copy, np.s_[cut : cut + int(len(copy) * rng.uniform(0.05, 0.3))])
            elif kind < 0.85:  # text appended
                copy = np.concatenate([copy, draw(int(len(copy) * rng.uniform(0.05, 0.3)) + 1)])
            words.append(copy)  # else: an exact copy
        else:
            words.append(draw(int(lengths[i])))
            originals.append(i)
    texts = [" ".join(vocabulary[w].tolist()) for w in words]
    return list(range(n)), texts


def across_stream(n: int, seed: int = 11, boilerplate_share: float = 0.1) -> tuple[list[int], list[str], dict]:
    """``n`` articles in order (id = position): own paragraphs of pseudo-words, passages
    planted from a shared pool (a third of the articles carry one or two, some with a word
    changed), and one boilerplate paragraph in ``boilerplate_share`` of the articles."""
    rng = np.random.default_rng(seed)
    syllables = np.array(["ka", "lo", "mi", "ne", "tu", "ra", "si", "ve", "do", "pa", "ge", "bo", "ri", "an", "el", "or"])
    vocabulary = np.array(["".join(rng.choice(syllables, size=rng.integers(2, 4))) + str(i) for i in range(200_000)])

    def paragraph(words: int) -> str:
        chosen = vocabulary[rng.integers(0, len(vocabulary), size=words)].tolist()
        cuts = sorted(set(rng.integers(8, max(9, words), size=max(1, words // 15)).tolist()))
        for c in reversed(cuts):
            if c < words:
                chosen[c - 1] += "."
        return (" ".join(chosen) + ".").capitalize()

    pool = [paragraph(int(rng.integers(40, 90))) for _ in range(max(10, n // 40))]
    boilerplate = paragraph(45)
    texts, planted, with_boilerplate = [], 0, 0
    for i in range(n):
        paragraphs = [paragraph(int(rng.integers(40, 120))) for _ in range(int(rng.integers(1, 4)))]
        if rng.random() < 1 / 3:
            for _ in range(int(rng.integers(1, 3))):
                passage = pool[int(rng.integers(len(pool)))]
                if rng.random() < 0.3:
                    words = passage.split()
                    words[int(rng.integers(len(words)))] = "changed"
                    passage = " ".join(words)
                paragraphs.insert(int(rng.integers(0, len(paragraphs) + 1)), passage)
                planted += 1
        if rng.random() < boilerplate_share:
            paragraphs.append(boilerplate)
            with_boilerplate += 1
        texts.append("\n\n".join(paragraphs))
    return list(range(n)), texts, {"planted": planted, "with_boilerplate": with_boilerplate, "pool": len(pool)}
