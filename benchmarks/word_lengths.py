"""Average word length in running text, per language: the source of ``dedup.text.SCRIPT_WEIGHTS``.

A token's weight is its length in words, so that ``min_length`` means the same amount
of text in every script: one over the average number of letters per word, weighted by
word frequency (running text, not a dictionary). Letters are what ``tokenize`` makes
char tokens of: letters and digits, combining marks not counted (they ride along with
the letter before them).

Frequency lists (shipped inside the packages, nothing is downloaded at run time):

- wordfreq (R. Speer, https://github.com/rspeer/wordfreq): Chinese segmented with jieba,
  Japanese with MeCab, English and Dutch by spaces;
- PyThaiNLP's ``tnc_freq.txt``: word frequencies of the Thai National Corpus.

Not a dependency of dedup; to run::

    pip install wordfreq pythainlp && python benchmarks/word_lengths.py
"""

from __future__ import annotations

import argparse
import os
import unicodedata
from collections.abc import Callable, Iterable, Sequence

from lib.tables import print_table


def letters(word: str) -> int:
    return sum(1 for c in word if c.isalnum() and not unicodedata.category(c).startswith("M"))


def average(pairs: Iterable[tuple[str, float]], keep: Callable[[str], bool] = lambda w: True) -> tuple[float, float]:
    """(frequency-weighted letters per word, share of the frequency mass kept)."""
    total = weight = mass = 0.0
    for word, frequency in pairs:
        mass += frequency
        n = letters(word)
        if n and keep(word):
            total += frequency * n
            weight += frequency
    return total / weight, weight / mass


def han(c: str) -> bool:
    return "\u4e00" <= c <= "\u9fff" or "\u3400" <= c <= "\u4dbf"


def kana(c: str) -> bool:
    return "\u3040" <= c <= "\u30ff"


def only(predicate: Callable[[str], bool]) -> Callable[[str], bool]:
    return lambda w: all(predicate(c) for c in w if c.isalnum())


def thai_frequencies() -> list[tuple[str, float]]:
    import pythainlp.corpus

    path = os.path.join(os.path.dirname(pythainlp.corpus.__file__), "tnc_freq.txt")
    pairs = []
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            fields = line.rstrip("\n").split("\t")
            if len(fields) >= 2 and fields[1].isdigit():
                pairs.append((fields[0], float(fields[1])))
    return pairs


def main(argv: Sequence[str] | None = None) -> None:
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args(argv)
    from wordfreq import get_frequency_dict

    rows = []
    zh = list(get_frequency_dict("zh", wordlist="best").items())
    rows.append(("Chinese, Han words", *average(zh, only(han))))
    ja = list(get_frequency_dict("ja", wordlist="best").items())
    rows.append(("Japanese, kanji/kana words", *average(ja, only(lambda c: han(c) or kana(c)))))
    rows.append(("Japanese, kanji-only words", *average(ja, only(han))))
    rows.append(("Japanese, kana-only words", *average(ja, only(kana))))
    rows.append(("Thai (TNC)", *average(thai_frequencies())))
    for code, name in (("en", "English"), ("nl", "Dutch")):
        rows.append((name, *average(get_frequency_dict(code, wordlist="best").items(), str.isalpha)))
    print_table(
        [(name, f"{length:.2f}", f"{1 / length:.2f}", f"{covered:.0%}") for name, length, covered in rows],
        ("language", "letters per word", "weight (1 / letters)", "frequency mass covered"),
    )


if __name__ == "__main__":
    main()
