"""Benchmark: doubled bodies in articles of every script (issues 9 and 19).

Each case is an article whose body was pasted again after it (:mod:`lib.doubled` builds
them): kinds ``exact``, ``reflowed``, ``whitespace``, ``edited``, ``partial`` and
``unmodified`` (which must come back byte for byte). ``exact`` and ``reflowed`` are the
"same" and "merged" copies of issue 19.

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
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence

from lib.doubled import KINDS, SKIPPED, across_cases, cases, sentences_of
from lib.from_tests import PHRASE_SCRIPTS
from lib.measure import machine_line
from lib.tables import print_table

import dedup
from dedup import align as engine
from dedup.text import SCRIPT_WEIGHTS, tokenize

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
    original = engine.tokenize
    engine.tokenize = functools.partial(tokenize, mode=mode)
    try:
        yield
    finally:
        engine.tokenize = original


def configurations(
    ngrams: Sequence[int], min_lengths: Sequence[int | str], language: str
) -> list[tuple[str, Callable[[str], str], Callable]]:
    """(name, clean function, context factory) for every configuration to run.

    A min_length of "20w" is 20 words counted by token weight: for text in one script,
    20 / (weight of its letters) tokens, what a weighted ``min_length=20`` amounts to.
    """
    takes_mode = "mode" in inspect.signature(engine.find_repeats).parameters
    patchable = hasattr(engine, "tokenize")
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
        print("note: dedup.align neither takes a mode nor tokenizes through a module-level "
              "'tokenize': only clean() with its defaults is measured", file=sys.stderr)
    return configs


def _shared_letters(language: str, stream: Sequence[tuple[str, str, str]]) -> list[Counter]:
    """Per article: the letters of its own sentences that an earlier article also holds
    verbatim (up to whitespace). Removing those is right: the text is really shared."""
    shared = []
    earlier = ""
    for original, delivered, _ in stream:
        letters = Counter()
        for paragraph in original.split("\n\n"):
            for sentence in sentences_of(language, paragraph):
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
