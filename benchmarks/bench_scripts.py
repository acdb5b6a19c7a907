"""Benchmark: doubled bodies in articles of every script (issues 9 and 19).

Articles come from ``lib/scripts_corpus.py`` (synthetic: no corpus of these languages is at
hand). Each case is an article whose body was pasted again after it, in one of these kinds:

- exact: the same body again, after a blank line, a newline or nothing;
- reflowed: the copy with its paragraphs run together (Chinese, Japanese: no separator;
  Thai: a space), as scrapers flatten them;
- whitespace: the copy with spaces, ideographic spaces (U+3000), NBSPs and line breaks
  added or doubled between sentences and clauses;
- edited: the copy with about 2% of its letters replaced and one sentence dropped;
- partial: only the first 40-90% of the body's sentences pasted again;
- unmodified: the article alone (must come back byte for byte).

``exact`` and ``reflowed`` are the "same" and "merged" copies of issue 19.

Articles (``--corpus``): ``templates`` are the news articles of ``lib/scripts_corpus.py``
(Chinese, Japanese, Thai; ``--join K`` makes each article of K of them, so that its stock
phrases recur as in a long real article); ``phrases`` are the generated articles of the
tests (``tests/scripts_texts.py``: a few phrases drawn at random, so that a copy has long
stretches whose every 5-gram the original said before) in Chinese, Japanese, Thai, Lao,
Khmer, Myanmar, Chinese mixed with Latin words and numbers, and English.

A case is *restored* when the cleaned text equals the original article up to whitespace,
*exact* when it equals it character for character.
Also: letters of the original lost and letters of the copy left (multiset difference of
letters and digits), over all cases of a kind.

Configurations: ``clean()`` is ``dedup.clean`` with its defaults, as installed. ``word
tokens`` runs the same engine on word-mode tokens (what ``clean()`` did before ``"auto"``
became the default), ``auto ...`` on ``tokenize(mode="auto")`` tokens: through
``clean(mode=...)`` once ``clean`` takes a ``mode``, until then by handing the engine
tokens of that mode (the engine module's ``tokenize`` name is replaced for the run). ``--ngram`` and ``--min-length`` add
auto configurations with other shingle sizes and minimum lengths, in tokens (``20``) or in
words by token weight (``20w``: a Han character or kana weighs 0.6 word, a Thai letter
0.3, so 20 words are 34 and 67 tokens).

``--across N`` also streams N articles through ``Deduplicator(scope="across")`` (its
defaults, word vs auto mode); every second one carries a paragraph of an earlier one,
placed before, between or after its own. Reported: injected letters removed, own letters
lost (and those of them not in a sentence an earlier article holds verbatim), clean
articles changed.

Usage::

    nice python benchmarks/bench_scripts.py --per-kind 200 --seed 0 --ngram 4 5 6 8 --min-length 20 20w
    nice python benchmarks/bench_scripts.py --per-kind 1 --across 400 --ngram 5 --min-length 20w
    nice python benchmarks/bench_scripts.py --per-kind 200 --defaults-only --join 3
    nice python benchmarks/bench_scripts.py --per-kind 200 --defaults-only --corpus phrases
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import contextlib
import functools
import inspect
import math
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence

from lib.from_tests import PHRASE_SCRIPTS, merged, phrase_article
from lib.measure import machine_line
from lib.scripts_corpus import articles
from lib.tables import print_table

import dedup
from dedup import repeats
from dedup.text import SCRIPT_WEIGHTS, tokenize

KINDS = ("exact", "reflowed", "whitespace", "edited", "partial", "unmodified")
LANGUAGE_NAMES = {
    "zh": "Chinese", "ja": "Japanese", "th": "Thai", "lo": "Lao", "km": "Khmer", "my": "Myanmar",
    "mixed": "Chinese + Latin", "en": "English",
}
TEMPLATE_LANGUAGES = ("zh", "ja", "th")
LETTER_WEIGHT = {
    "zh": SCRIPT_WEIGHTS["han"], "ja": SCRIPT_WEIGHTS["kana"], "th": SCRIPT_WEIGHTS["brahmic"],
    "lo": SCRIPT_WEIGHTS["brahmic"], "km": SCRIPT_WEIGHTS["brahmic"], "my": SCRIPT_WEIGHTS["brahmic"],
    "mixed": SCRIPT_WEIGHTS["han"], "en": 1.0,
}
# Sentences of a paragraph (Thai and Lao: its space-separated clauses) and what joins them.
_SENTENCE = {
    "zh": re.compile(r"[^。！？]*[。！？]”?"),
    "mixed": re.compile(r"[^。！？]*[。！？]”?"),
    "ja": re.compile(r"[^。！？]*[。！？]」?"),
    "km": re.compile(r"[^។]*។ ?"),
    "my": re.compile(r"[^။]*။ ?"),
    "en": re.compile(r"[^.]*\. ?"),
}
SENTENCE_JOIN = {"th": " ", "lo": " "}  # others: "" (their sentences end with their marks)


# --------------------------------------------------------------------------- cases


def _sentences(language: str, paragraph: str) -> list[str]:
    """The sentences of one paragraph, in order (Thai, Lao: its space-separated clauses)."""
    if language in SENTENCE_JOIN:
        return paragraph.split(" ")
    found = _SENTENCE[language].findall(paragraph)
    rest = paragraph[sum(map(len, found)) :]
    return found + ([rest] if rest else [])


def _join(language: str, sentences: Sequence[str]) -> str:
    return SENTENCE_JOIN.get(language, "").join(sentences)


def _whitespace_noise(language: str, body: str, rng: random.Random) -> str:
    pieces = []
    for p, paragraph in enumerate(body.split("\n\n")):
        sentences = _sentences(language, paragraph)
        out = []
        for s, sentence in enumerate(sentences):
            if s:
                gap = SENTENCE_JOIN.get(language, "")
                if rng.random() < 0.5:
                    gap = rng.choice([" ", "\u3000", "\u00a0", "\n", "  ", " \n"]) if not gap else rng.choice(["  ", "\u00a0", "\n", " \n "])
                out.append(gap)
            out.append(sentence)
        pieces.append("".join(out) + rng.choice(["", " ", "\u3000" if language not in SENTENCE_JOIN else "  "]))
    return rng.choice(["\n\n", "\n", "\n\n\n"]).join(pieces)


def _edit(language: str, body: str, rng: random.Random, alphabet: Sequence[str]) -> str:
    """About 2% of the letters replaced, and one sentence (of 4 or more) dropped."""
    paragraphs = [_sentences(language, p) for p in body.split("\n\n")]
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
    paragraphs = [_sentences(language, p) for p in body.split("\n\n")]
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
    separator = rng.choice(["\n\n", "\n", " " if language in SENTENCE_JOIN or language == "en" else ""])
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


# --------------------------------------------------------------------------- scoring


def _squeeze(text: str) -> str:
    return "".join(text.split())


def _letters(text: str) -> Counter:
    return Counter(ch for ch in text if ch.isalnum())


def score(kind: str, original: str, delivered: str, cleaned: str) -> tuple[bool, bool, bool, int, int, int]:
    """(restored, exact, letters restored, original letters lost, copy letters left, copy letters).

    *Exact*: the cleaned text is the original, character for character.
    *Letters restored*: the letters and digits of the cleaned text are those of the
    original, in order (punctuation and whitespace aside): the repeat was found and cut,
    whatever became of the quotes and brackets at its edges.
    """
    restored = cleaned == original if kind == "unmodified" else _squeeze(cleaned) == _squeeze(original)
    letters_restored = [c for c in cleaned if c.isalnum()] == [c for c in original if c.isalnum()]
    lost = sum((_letters(original) - _letters(cleaned)).values())
    copy = _letters(delivered) - _letters(original)
    left = sum(((_letters(cleaned) - _letters(original)) & copy).values())
    return restored, cleaned == original, letters_restored, lost, left, sum(copy.values())


# --------------------------------------------------------------------------- configurations


@contextlib.contextmanager
def engine_tokens(mode: str) -> Iterator[None]:
    """Make the repeat engine tokenize in ``mode`` (when ``clean`` takes no ``mode`` yet)."""
    original = repeats.tokenize
    repeats.tokenize = functools.partial(tokenize, mode=mode)
    try:
        yield
    finally:
        repeats.tokenize = original


def configurations(
    ngrams: Sequence[int], min_lengths: Sequence[int | str], language: str
) -> list[tuple[str, Callable[[str], str], Callable]]:
    """(name, clean function, context factory) for every configuration to run.

    A min_length of "20w" is 20 words counted by token weight: for text in one script,
    20 / (weight of its letters) tokens, what a weighted ``min_length=20`` amounts to.
    """
    takes_mode = "mode" in inspect.signature(repeats.find_repeats).parameters
    patchable = hasattr(repeats, "tokenize")
    configs: list[tuple[str, Callable[[str], str], Callable]] = []
    if takes_mode:
        configs.append(("word tokens", functools.partial(dedup.clean, mode="word"), contextlib.nullcontext))
    elif patchable:
        configs.append(("word tokens", dedup.clean, functools.partial(engine_tokens, "word")))
    configs.append(("clean()", dedup.clean, contextlib.nullcontext))
    for n in ngrams:
        for m in min_lengths:
            tokens = int(m) if str(m).isdigit() else math.ceil(int(str(m)[:-1]) / LETTER_WEIGHT[language])
            name = f"auto n={n} min={m}" + ("" if str(m).isdigit() else f" ({tokens})")
            params = {"ngram": n, "min_length": tokens}
            if takes_mode:
                configs.append((name, functools.partial(dedup.clean, mode="auto", **params), contextlib.nullcontext))
            elif patchable:
                configs.append((name, functools.partial(dedup.clean, **params), functools.partial(engine_tokens, "auto")))
    if not takes_mode and not patchable:
        print("note: dedup.repeats neither takes a mode nor tokenizes through a module-level "
              "'tokenize': only clean() with its defaults is measured", file=sys.stderr)
    return configs


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


def _shared_letters(language: str, stream: Sequence[tuple[str, str, str]]) -> list[Counter]:
    """Per article: the letters of its own sentences that an earlier article also holds
    verbatim (up to whitespace). Removing those is right: the text is really shared."""
    shared = []
    earlier = ""
    for original, delivered, _ in stream:
        letters = Counter()
        for paragraph in original.split("\n\n"):
            for sentence in _sentences(language, paragraph):
                if _squeeze(sentence) and _squeeze(sentence) in earlier:
                    letters += _letters(sentence)
        shared.append(letters)
        earlier += "\x00" + _squeeze(delivered)
    return shared


def across(language: str, n: int, seed: int, modes: Sequence[str]) -> list[list]:
    """Rows of the across-articles table: ``Deduplicator(scope="across")`` per mode."""
    from dedup import Deduplicator

    stream = across_cases(language, n, seed)
    shared = _shared_letters(language, stream)
    rows = []
    for mode in modes:
        dedup_ = Deduplicator(scope="across", mode=mode)
        removed = injected = lost = unshared_lost = own = changed = unexplained = 0
        started = time.perf_counter()
        outputs = [dedup_.clean(delivered, doc_id=k) for k, (_, delivered, _) in enumerate(stream)]
        seconds = time.perf_counter() - started
        for (original, delivered, passage), cleaned, shared_letters in zip(stream, outputs, shared):
            own += sum(_letters(original).values())
            lost_letters = _letters(original) - _letters(cleaned)
            lost += sum(lost_letters.values())
            unshared_lost += sum((lost_letters - shared_letters).values())
            if passage:
                injected += sum(_letters(passage).values())
                removed += sum((_letters(delivered) - _letters(cleaned)).values()) - sum(lost_letters.values())
            elif cleaned != original:
                changed += 1
                unexplained += bool(lost_letters - shared_letters)
        rows.append([
            LANGUAGE_NAMES[language], mode, f"{removed / max(1, injected):.1%}", f"{lost / own:.3%}",
            f"{unshared_lost / own:.3%}", f"{changed} ({unexplained}) of {sum(1 for _, _, p in stream if not p)}",
            f"{len(stream) / seconds:,.0f}",
        ])
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-kind", type=int, default=200, help="articles per kind and language (default 200)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--across", type=int, default=0, metavar="N",
        help="also stream N articles per language through Deduplicator(scope='across'), word vs auto mode",
    )
    parser.add_argument(
        "--languages", nargs="+", choices=list(LANGUAGE_NAMES),
        help="default: zh ja th for --corpus templates, all for --corpus phrases",
    )
    parser.add_argument("--corpus", choices=["templates", "phrases"], default="templates",
                        help="template news articles (zh, ja, th) or the tests' generated phrase articles (every script)")
    parser.add_argument("--join", type=int, default=1, metavar="K",
                        help="with --corpus templates: each article made of K template articles (default 1)")
    parser.add_argument("--defaults-only", action="store_true", help="measure clean() with its defaults only")
    parser.add_argument("--ngram", type=int, nargs="+", default=[5], help="shingle sizes of the auto configurations")
    parser.add_argument(
        "--min-length", nargs="+", default=["20", "20w"],
        help="min_length of the auto configurations, in tokens (20) or in words by weight (20w)",
    )
    args = parser.parse_args(argv)
    if args.languages is None:
        args.languages = list(TEMPLATE_LANGUAGES) if args.corpus == "templates" else list(PHRASE_SCRIPTS)
    if args.corpus == "templates" and set(args.languages) - set(TEMPLATE_LANGUAGES):
        parser.error(f"--corpus templates has articles in {', '.join(TEMPLATE_LANGUAGES)} only")
    if args.join < 1:
        parser.error(f"--join takes a positive integer, got {args.join}")
    if args.across and args.corpus != "templates":
        parser.error("--across streams template articles: use it with --corpus templates")
    print(machine_line())
    print(f"dedup {dedup.__version__}; {args.per_kind} articles per kind and language, seed {args.seed}, "
          f"corpus {args.corpus}" + (f", {args.join} template articles joined per article" if args.join > 1 else ""))
    for m in args.min_length:
        if not re.fullmatch(r"[1-9][0-9]*w?", m):
            parser.error(f"--min-length takes positive integers, optionally followed by w, got {m!r}")
    summary = []
    for language in args.languages:
        configs = configurations(args.ngram, args.min_length, language)
        if args.defaults_only:
            configs = [config for config in configs if config[0] == "clean()"]
        data = list(cases(language, args.per_kind, args.seed, args.corpus, args.join))
        rows = []
        for name, clean, context in configs:
            with context():
                started = time.perf_counter()
                outputs = [clean(delivered) for _, _, delivered in data]
                seconds = time.perf_counter() - started
            per_kind: dict[str, list] = {kind: [0] * 7 for kind in KINDS}
            for (kind, original, delivered), cleaned in zip(data, outputs):
                row = per_kind[kind]
                row[0] += 1
                for k, value in enumerate(score(kind, original, delivered, cleaned), 1):
                    row[k] += value
            original_letters = sum(sum(_letters(o).values()) for _, o, _ in data)
            for kind in KINDS:
                n, ok, exact, letters_ok, lost, left, copy = per_kind[kind]
                rows.append([
                    name, kind, n, f"{ok / n:.1%}", f"{exact / n:.1%}", f"{letters_ok / n:.1%}",
                    f"{lost / max(1, original_letters / len(KINDS)):.3%}",
                    "-" if kind == "unmodified" else f"{left / max(1, copy):.2%}",
                ])
            doubled = [per_kind[k] for k in KINDS if k != "unmodified"]
            summary.append([
                LANGUAGE_NAMES[language], name,
                f"{sum(r[1] for r in doubled) / sum(r[0] for r in doubled):.1%}",
                f"{min(r[1] / r[0] for r in doubled):.1%}",
                f"{per_kind['exact'][2] / per_kind['exact'][0]:.1%}",
                f"{per_kind['reflowed'][2] / per_kind['reflowed'][0]:.1%}",
                f"{sum(r[3] for r in doubled) / sum(r[0] for r in doubled):.1%}",
                f"{per_kind['unmodified'][1] / per_kind['unmodified'][0]:.1%}",
                f"{len(data) / seconds:,.0f}",
            ])
        print(f"\n## {LANGUAGE_NAMES[language]}")
        print_table(rows, [
            "config", "kind", "cases", "restored", "exact", "letters restored", "orig. letters lost", "copy letters left",
        ])
    if args.across:
        rows = [row for language in args.languages for row in across(language, args.across, args.seed, ["word", "auto"])]
        print(f"\n## Across articles: every second of {args.across} articles carries a paragraph of an earlier one")
        print_table(rows, [
            "language", "mode", "injected letters removed", "own letters lost", "of them not shared earlier",
            "clean articles changed (not by shared text)", "articles/s",
        ])
    if SKIPPED:
        print("\nArticles skipped (a repeat of their own): " + ", ".join(f"{k} {v}" for k, v in SKIPPED.items()))
    print("\n## Summary (restored: doubled kinds together, and the worst kind; exact: same (exact) and merged (reflowed) copies)")
    print_table(summary, [
        "language", "config", "restored", "worst kind", "same exact", "merged exact", "letters restored",
        "unmodified identical", "articles/s",
    ])
    return 0


if __name__ == "__main__":
    sys.exit(main())
