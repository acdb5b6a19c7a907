"""Benchmark: repeats inside one article (issue 3), dedup.clean against a baseline.

Injects repeats into real articles (``lib/inject.py``: exact, reflowed, noisy, edited,
truncated, multi, paragraph, unmodified; and for issue 9 edited-dropped, edged,
sentence-k, phrase-many), cleans them with ``dedup.clean`` and with a baseline (exact
duplicate-sentence removal), and prints per corpus and kind:

- restored: share of cases whose output is word-equal to the original (lower-cased
  ``\\w+`` words, soft hyphens and zero-width characters ignored);
- text-equal: equal to the original after collapsing whitespace;
- prefix kept: the text before the first injected range comes back byte for byte;
- original words lost / repeat words left behind (multiset difference of the words);
- for ``unmodified``: share returned byte-identical;
- cases with marks left: the output has more quotes, dashes, bullets or box characters
  than the original (for ``edged``, restored also needs none left).

For a sentence or phrase said k times in a row (``sentence-k``, ``phrase-many``) the
expected output has one copy once the copies after the first reach ``min_length`` words
(``--param min_length=N`` or the default of ``dedup.clean``), else the text unchanged; the
"Runs of copies" table counts outputs with one copy, all copies, another count, or a
fragment (anything that is not the text with the unit said m times). The phrase storm
says a phrase of 1, 3 or 11 words 1,000 to 200,000 times (``--storm-max``) and times
``dedup.clean`` on it.

Then the real repeat in dpg-nl article 10800732, the two seed articles, and speed
(articles/s for ``clean`` in a loop, ``clean_many``, and the baseline, one CPU).
The worst failures of ``dedup.clean`` go to ``benchmarks/out/repeats_failures.jsonl`` as
offsets and word counts (never article text).

Usage::

    nice python benchmarks/bench_repeats.py --corpus ../shared/corpora/dpg-nl.jsonl \\
        --corpus ../shared/corpora/bbc-en.jsonl --per-kind 200 --seed 0
"""

from __future__ import annotations

import os

# Single-core figures: keep any BLAS/OpenMP pools to one thread (set before NumPy loads).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import difflib
import inspect
import json
import platform
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from lib.corpus import load_texts
from lib.inject import KINDS, RUN_KINDS, Case, generate
from lib.measure import best_of
from lib.params import parse_params
from lib.words import longest_repeat, norm_tokens, norm_words, sentence_spans, word_spans

import dedup

OUT_DIR = Path(__file__).resolve().parent / "out"
REAL_REPEAT_ID = "10800732"  # dpg-nl: a ~180-word passage appears twice (once with a soft hyphen)
DEFAULT_SEEDS = Path("/work/shared/seeds")
# Kinds whose target is >= 99% restored, >= 95%, or 100% byte-identical (issues 3 and 9).
TARGETS = {
    "exact": 0.99,
    "reflowed": 0.99,
    "noisy": 0.99,
    "edited": 0.95,
    "truncated": 0.95,
    "unmodified": 1.0,
    "edited-dropped": 0.99,
    "edged": 0.99,
    "sentence-k": 0.99,
    "phrase-many": 0.99,
}
# For these kinds "restored" also needs every mark of the copy gone (quotes, dashes, boxes).
MARKS_COUNT_KINDS = ("edged",)
# Phrase storms: words of the phrase, and how many times it is said (up to --storm-max).
STORM_WORDS = (1, 3, 11)
STORM_COPIES = (1_000, 10_000, 200_000)


# ---------------------------------------------------------------- baseline


_LINE = re.compile(r"[^\n]+")


def baseline_clean(text: str) -> str:
    """Exact duplicate-sentence removal: drop a sentence whose normalised words were seen before.

    Sentences are found inside each line; the key is the lower-cased word sequence (soft
    hyphens and quotes ignored), so it already forgives whitespace and typography noise.
    A dropped sentence takes the whitespace before it along.
    """
    seen: set[tuple[str, ...]] = set()
    pieces: list[str] = []
    cursor = 0  # end of the text already copied or skipped
    for line in _LINE.finditer(text):
        base = line.start()
        for a, b in sentence_spans(line.group(0)):
            a, b = a + base, b + base
            key = tuple(norm_words(text[a:b]))
            if not key:
                continue
            if key in seen:
                # Drop the whitespace before it (kept text stays as written) and the sentence.
                pieces.append(text[cursor:a].rstrip())
                cursor = b
            else:
                seen.add(key)
    pieces.append(text[cursor:])
    return "".join(pieces) if len(pieces) > 1 else text


# ---------------------------------------------------------------- scoring


def is_subsequence(short: str, long: str) -> bool:
    """True when ``short`` is ``long`` with some characters removed."""
    it = iter(long)
    return all(ch in it for ch in short)


def marks(text: str) -> Counter:
    """The characters of ``text`` that are neither whitespace nor part of a word."""
    return Counter(ch for ch in text if not ch.isspace() and not ch.isalnum() and ch != "_")


def copies_left(case: Case, out: str) -> int | None:
    """RUN_KINDS: how many copies of the unit ``out`` holds, or None for anything else (a fragment).

    ``out`` must be the text around the run, as written, with the unit said m times in a
    row (m >= 1); then m is returned.
    """
    start, end = case.injected[0]
    prefix, suffix = norm_words(case.corrupted[:start]), norm_words(case.corrupted[end:])  # prefix holds copy 1
    unit = norm_words(case.unit)
    out_words = norm_words(out)
    extra = len(out_words) - len(prefix) - len(suffix)
    if extra < 0 or extra % len(unit):
        return None
    m = extra // len(unit) + 1
    return m if out_words == prefix + unit * (m - 1) + suffix else None


def with_expected_output(case: Case, min_length: int) -> Case:
    """RUN_KINDS: the case with ``original`` set to what cleaning should return.

    One copy once the copies after the first reach ``min_length`` words; below that the
    run is a short legitimate repeat (a refrain, a list) and stays as it is.
    """
    if case.kind in RUN_KINDS and (case.copies - 1) * len(norm_words(case.unit)) < min_length:
        return replace(case, original=case.corrupted)
    return case


def score(case: Case, out: str) -> dict:
    """Figures for one cleaned case (no text, only counts)."""
    orig_words = norm_words(case.original)
    out_words = norm_words(out)
    orig_count, out_count = Counter(orig_words), Counter(out_words)
    lost = sum((orig_count - out_count).values())
    left = sum((out_count - orig_count).values())
    prefix = case.corrupted[: case.injected[0][0]].rstrip() if case.injected else case.corrupted
    marks_left = sum((marks(out) - marks(case.original)).values())
    restored = out_words == orig_words and (case.kind not in MARKS_COUNT_KINDS or marks_left == 0)
    return {
        "restored": restored,
        "marks_left": marks_left,
        "copies_left": copies_left(case, out) if case.kind in RUN_KINDS else None,
        "text_equal": " ".join(out.split()) == " ".join(case.original.split()),
        "prefix_kept": out.startswith(prefix),
        "byte_identical": out == case.corrupted if case.kind == "unmodified" else out == case.original,
        "only_deletes": is_subsequence(out, case.corrupted),
        "lost": lost,
        "left": left,
        "orig_words": len(orig_words),
        "injected_words": case.injected_words,
    }


def summarise(rows: list[dict]) -> dict:
    n = len(rows)
    return {
        "cases": n,
        "restored": sum(r["restored"] for r in rows) / n,
        "text_equal": sum(r["text_equal"] for r in rows) / n,
        "prefix_kept": sum(r["prefix_kept"] for r in rows) / n,
        "byte_identical": sum(r["byte_identical"] for r in rows) / n,
        "only_deletes": sum(r["only_deletes"] for r in rows) / n,
        "lost_words": sum(r["lost"] for r in rows),
        "left_words": sum(r["left"] for r in rows),
        "orig_words": sum(r["orig_words"] for r in rows),
        "injected_words": sum(r["injected_words"] for r in rows),
        "cases_losing": sum(r["lost"] > 0 for r in rows),
        "cases_marks_left": sum(r["marks_left"] > 0 for r in rows),
        "cases_leaving": sum(r["left"] > 0 for r in rows),
    }


def describe_failure(case: Case, out: str, row: dict, repeats: list) -> dict:
    """Where the output differs from the original, as word ranges and offsets (no text)."""
    orig_words, orig_spans = norm_tokens(case.original)
    out_words, out_spans = norm_tokens(out)
    lost_ranges, left_ranges = [], []
    ops = difflib.SequenceMatcher(None, orig_words, out_words, autojunk=False).get_opcodes()
    for tag, i1, i2, j1, j2 in ops:
        if tag in ("delete", "replace"):
            lost_ranges.append(
                {
                    "words": i2 - i1,
                    "word_range": [i1, i2],
                    "chars_in_original": [orig_spans[i1][0], orig_spans[i2 - 1][1]],
                    "at": f"{100 * i1 / max(1, len(orig_words)):.0f}%-{100 * i2 / max(1, len(orig_words)):.0f}% of original",
                }
            )
        if tag in ("insert", "replace"):
            left_ranges.append(
                {
                    "words": j2 - j1,
                    "word_range": [j1, j2],
                    "chars_in_output": [out_spans[j1][0], out_spans[j2 - 1][1]],
                }
            )
    removed = len(case.corrupted) - len(out)
    if out == case.corrupted:
        summary = "nothing removed"
    elif row["lost"] and row["left"]:
        summary = "removed the wrong part (original words lost and repeat words left)"
    elif row["lost"]:
        summary = "removed too much (original words lost)"
    elif row["left"]:
        summary = "removed too little (repeat words left)"
    elif row["marks_left"]:
        summary = "marks of the copy left (quotes, dashes, bullets, box characters)"
    else:
        summary = "same words, different order"
    return {
        "case_id": case.case_id,
        "kind": case.kind,
        "corpus": case.corpus,
        "article_id": case.article_id,
        "variant": case.variant,
        "summary": summary,
        "original_chars": len(case.original),
        "corrupted_chars": len(case.corrupted),
        "output_chars": len(out),
        "removed_chars": removed,
        "original_words": row["orig_words"],
        "injected_words": row["injected_words"],
        "lost_words": row["lost"],
        "left_words": row["left"],
        "marks_left": row["marks_left"],
        "copies_left": row["copies_left"],
        "only_deletes": row["only_deletes"],
        "prefix_kept": row["prefix_kept"],
        "injected_ranges": case.injected,
        "found_repeats": [
            {
                "start": r.start,
                "end": r.end,
                "source_start": r.source_start,
                "source_end": r.source_end,
                "similarity": round(float(r.similarity), 3),
            }
            for r in repeats
        ],
        "lost_ranges": lost_ranges[:8],
        "left_ranges": left_ranges[:8],
    }


# ---------------------------------------------------------------- the runs


def run_cases(cases: list[Case], methods: dict[str, Callable[[str], str]]) -> dict:
    """Scores per method, corpus and kind; plus every method's failures."""
    scores: dict = defaultdict(lambda: defaultdict(list))
    outputs: dict = defaultdict(list)
    runs: dict = defaultdict(list)
    for case in cases:
        for name, fn in methods.items():
            out = fn(case.corrupted)
            row = score(case, out)
            scores[name][(case.corpus, case.kind)].append(row)
            if case.kind in RUN_KINDS:
                runs[name].append((case, row))
            ok = row["byte_identical"] if case.kind == "unmodified" else row["restored"]
            if not ok:
                outputs[name].append((case, out, row))
    return {"scores": scores, "failures": outputs, "runs": runs}


def print_kind_table(title: str, per_group: dict, methods: Sequence[str]) -> list[dict]:
    print(f"\n### {title}\n")
    print(
        "| corpus | kind | method | cases | restored | text-equal | prefix kept | only deletes "
        "| orig words lost | repeat words left | cases losing / leaving | cases with marks left | target |"
    )
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    records = []
    keys = sorted({k for m in methods for k in per_group[m]}, key=lambda k: (k[0], KINDS.index(k[1])))
    for corpus, kind in keys:
        for m in methods:
            rows = per_group[m].get((corpus, kind))
            if not rows:
                continue
            s = summarise(rows)
            target = TARGETS.get(kind)
            share = s["byte_identical"] if kind == "unmodified" else s["restored"]
            verdict = "" if target is None else (f"{'ok' if share >= target else 'MISS'} (>= {target:.0%})")
            restored = f"{s['restored']:.1%}" if kind != "unmodified" else f"{s['byte_identical']:.1%} byte-id."
            lost_pct = 100 * s["lost_words"] / max(1, s["orig_words"])
            left_pct = 100 * s["left_words"] / max(1, s["injected_words"]) if s["injected_words"] else 0.0
            print(
                f"| {corpus} | {kind} | {m} | {s['cases']} | {restored} | {s['text_equal']:.1%} | "
                f"{s['prefix_kept']:.1%} | {s['only_deletes']:.1%} | {s['lost_words']} ({lost_pct:.2f}%) | "
                f"{s['left_words']}"
                + (f" ({left_pct:.2f}%)" if s["injected_words"] else "")
                + f" | {s['cases_losing']} / {s['cases_leaving']} | {s['cases_marks_left']} | {verdict} |"
            )
            records.append({"corpus": corpus, "kind": kind, "method": m, **s})
    return records


def real_repeat_check(text: str, label: str, clean: Callable[[str], str], finder: Callable | None) -> dict:
    """A text with a known native repeat: the later copy of its longest repeated word run must go.

    The expected output is the text's words minus the later copy of the longest run of
    words that occurs twice (found at run time, so no article text is stored here).
    """
    words, spans = norm_tokens(text)
    k, src, rep = longest_repeat(text)
    out = clean(text)
    out_words = norm_words(out)
    record: dict = {
        "text": label,
        "words_before": len(words),
        "words_after": len(out_words),
        "chars_before": len(text),
        "chars_after": len(out),
    }
    if k >= 20:
        expected = words[:rep] + words[rep + k :]
        record.update(
            {
                "repeat_words": k,
                "expected_removed_chars": [spans[rep][0], spans[rep + k - 1][1]],
                "repeats_source_chars": [spans[src][0], spans[src + k - 1][1]],
                "expected_words_after": len(expected),
                "restored": out_words == expected,
                "only_deletes": is_subsequence(out, text),
                "first_copy_kept": text[: spans[rep][0]].rstrip() in out
                and out.startswith(text[: spans[rep][0]].rstrip()),
            }
        )
    else:
        record.update({"repeat_words": 0, "byte_identical": out == text})
    if finder is not None:
        record["found_repeats"] = [
            {
                "start": r.start,
                "end": r.end,
                "source_start": r.source_start,
                "source_end": r.source_end,
                "similarity": round(float(r.similarity), 3),
                "words": len(norm_words(text[r.start : r.end])),
            }
            for r in finder(text)
        ]
    return record





def speed(texts: list[str], methods: dict, batch: Callable | None, repeats: int) -> list[tuple[str, float]]:
    for fn in methods.values():  # warm-up: lookup tables, caches
        for t in texts[:50]:
            fn(t)
    if batch is not None:
        batch(texts[:50])
    results = []
    for name, fn in methods.items():
        t = best_of(lambda fn=fn: [fn(x) for x in texts], repeats).cpu
        results.append((f"{name} (loop)", len(texts) / t))
    if batch is not None:
        t = best_of(lambda: batch(texts), repeats).cpu
        results.append(("dedup.clean_many", len(texts) / t))
    return results





def print_runs_table(cases: list[Case], outputs: dict[str, list[tuple[Case, dict]]], min_length: int) -> list[dict]:
    """RUN_KINDS: what is left of a unit said k times, by kind, size and whether it reaches min_length."""
    print(f"\n### Runs of copies (min_length={min_length}: one copy expected once the later copies reach it)\n")
    print(
        "| corpus | kind | method | unit words | later copies | cases | restored | one copy | all copies "
        "| other count | fragment |"
    )
    print("|---|---|---|---|---|---:|---:|---:|---:|---:|---:|")
    records = []
    for method, rows in outputs.items():
        groups: dict = defaultdict(list)
        for case, row in rows:
            unit_words = len(norm_words(case.unit))
            size = "1-3" if unit_words <= 3 else "4-12" if unit_words <= 12 else "13+"
            reaches = (case.copies - 1) * unit_words >= min_length
            groups[(case.corpus, case.kind, size, ">= min_length" if reaches else "< min_length")].append((case, row))
        order = {"1-3": 0, "4-12": 1, "13+": 2}
        for (corpus, kind, size, reach), items in sorted(
            groups.items(), key=lambda g: (*g[0][:2], order[g[0][2]], g[0][3])
        ):
            n = len(items)
            left = [row["copies_left"] for _, row in items]
            one = sum(m == 1 for m in left)
            full = sum(m == case.copies for (case, _), m in zip(items, left))
            fragment = sum(m is None for m in left)
            other = n - one - full - fragment
            restored = sum(row["restored"] for _, row in items)
            print(
                f"| {corpus} | {kind} | {method} | {size} | {reach} | {n} | {restored / n:.1%} | {one} | {full} | {other} "
                f"| {fragment} |"
            )
            records.append(
                {
                    "corpus": corpus,
                    "kind": kind,
                    "method": method,
                    "unit_words": size,
                    "later_copies": reach,
                    "cases": n,
                    "restored": restored / n,
                    "one_copy": one,
                    "all_copies": full,
                    "other": other,
                    "fragment": fragment,
                }
            )
    return records


def phrase_storm(text: str, clean: Callable[[str], str], max_copies: int, min_length: int) -> list[dict]:
    """A phrase of 1, 3 or 11 words of ``text`` said up to ``max_copies`` times in its place: time and result."""
    spans = word_spans(text)
    rows = []
    for words in STORM_WORDS:
        a, b = spans[10][0], spans[10 + words - 1][1]
        unit = text[a:b]
        for n in (c for c in STORM_COPIES if c <= max_copies):
            corrupted = text[:b] + (" " + unit) * (n - 1) + text[b:]
            case = Case(
                "storm", "phrase-many", "", "", "", text, corrupted, [(b + 1, b + (len(unit) + 1) * (n - 1))], unit, n
            )
            t0 = time.process_time()
            out = clean(corrupted)
            seconds = time.process_time() - t0
            expected = 1 if (n - 1) * len(norm_words(unit)) >= min_length else n
            m = copies_left(case, out)
            rows.append(
                {
                    "words": len(norm_words(unit)),
                    "copies": n,
                    "mb": len(corrupted.encode()) / 1e6,
                    "seconds": seconds,
                    "copies_left": m,
                    "ok": m == expected,
                }
            )
            print(
                f"| {rows[-1]['words']} | {n:,} | {rows[-1]['mb']:.2f} | {seconds:.2f} | "
                f"{'fragment/other' if m is None else f'{m:,}'} | {'ok' if m == expected else 'MISS'} |"
            )
    return rows


def default_min_length(params: dict) -> int:
    """``min_length`` of ``dedup.clean`` in this run (given with --param, or its default)."""
    if "min_length" in params:
        return int(params["min_length"])
    parameter = inspect.signature(dedup.clean).parameters.get("min_length")
    return int(parameter.default) if parameter is not None and parameter.default is not inspect.Parameter.empty else 20


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", action="append", required=True, help="JSONL corpus with id and text (repeatable)")
    parser.add_argument("--per-kind", type=int, default=200, help="cases per kind and corpus (default 200)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--kind", action="append", choices=KINDS, help="only these kinds (repeatable)")
    parser.add_argument("--seeds", default=str(DEFAULT_SEEDS), help="directory with the seed articles (*.txt)")
    parser.add_argument("--param", action="append", default=[], help="keyword for dedup.clean, e.g. threshold=0.7")
    parser.add_argument("--speed-repeats", type=int, default=3, help="timing runs, best kept (0: no speed test)")
    parser.add_argument("--failures", type=int, default=15, help="worst failures to print")
    parser.add_argument("--baseline-only", action="store_true", help="skip dedup.clean")
    parser.add_argument("--cpu", type=int, default=None, help="pin to this CPU (default: the last allowed one)")
    parser.add_argument(
        "--storm-max", type=int, default=max(STORM_COPIES), help="most copies in the phrase storm (0: no storm)"
    )
    parser.add_argument(
        "--expect-min-words",
        type=int,
        default=None,
        help="sentence-k / phrase-many: one copy expected once the later copies reach this many words "
        "(default: min_length of dedup.clean, when it counts words)",
    )
    args = parser.parse_args(argv)
    params = parse_params(args.param)
    # Words the later copies of a run must reach before one copy is expected.
    min_length = args.expect_min_words if args.expect_min_words is not None else default_min_length(params)

    if hasattr(os, "sched_setaffinity"):
        cpus = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {args.cpu if args.cpu is not None else cpus[-1]})

    have_dedup = hasattr(dedup, "clean") and not args.baseline_only
    methods: dict[str, Callable[[str], str]] = {}
    if have_dedup:
        methods["dedup.clean"] = lambda t: dedup.clean(t, **params)
    methods["baseline"] = baseline_clean
    finder = (lambda t: dedup.find_repeats(t, **params)) if have_dedup else None
    print(
        f"# bench_repeats  python {platform.python_version()}  dedup {dedup.__version__}  "
        f"seed={args.seed} per_kind={args.per_kind} params={params or 'defaults'}"
    )
    if not have_dedup:
        print("dedup.clean not available (or --baseline-only): baseline only")

    skipped: dict = {}
    t0 = time.perf_counter()
    cases = list(generate(args.corpus, args.kind or KINDS, args.per_kind, args.seed, skipped))
    cases = [with_expected_output(case, min_length) for case in cases]
    print(f"generated {len(cases)} cases in {time.perf_counter() - t0:.1f}s; left out of the pools: {skipped}")

    t0 = time.perf_counter()
    result = run_cases(cases, methods)
    print(f"cleaned and scored in {time.perf_counter() - t0:.1f}s")
    records = print_kind_table("Restoration per kind", result["scores"], list(methods))
    run_records = print_runs_table(cases, result["runs"], min_length) if result["runs"] else []

    storm = []
    if have_dedup and args.storm_max > 0:
        print("\n### Phrase storm: a phrase of an article said n times in a row (dedup.clean, one CPU)\n")
        print("| phrase words | n | MB | seconds | copies left | verdict |")
        print("|---:|---:|---:|---:|---:|---|")
        first = next(t for t in load_texts(args.corpus[0])[1] if len(norm_words(t)) >= 80)
        storm = phrase_storm(first, methods["dedup.clean"], args.storm_max, min_length)

    # Totals per method over all kinds except unmodified.
    print("\n| method | all injected cases | restored | orig words lost | repeat words left |")
    print("|---|---:|---:|---:|---:|")
    for m in methods:
        rows = [r for (c, k), rs in result["scores"][m].items() if k != "unmodified" for r in rs]
        if rows:
            s = summarise(rows)
            print(f"| {m} | {s['cases']} | {s['restored']:.1%} | {s['lost_words']} | {s['left_words']} |")

    # Every article as stored (the whole corpus, not a sample): which ones does clean change?
    # Apart from known real repeats, each is a candidate false positive to look at.
    changed_records = []
    if have_dedup:
        print("\n### Articles as stored that clean changes (whole corpora)\n")
        print("| corpus | articles | changed | ids (words removed, longest exact run in the article, similarity) |")
        print("|---|---:|---:|---|")
        for path in args.corpus:
            stored = list(zip(*load_texts(path)))
            outs = dedup.clean_many([t for _, t in stored], **params)
            changed = []
            for (doc_id, text), out in zip(stored, outs):
                if out != text:
                    removed = len(norm_words(text)) - len(norm_words(out))
                    sims = [round(float(r.similarity), 2) for r in finder(text)]
                    exact_run = longest_repeat(text)[0]
                    changed.append((doc_id, removed, exact_run, sims))
                    changed_records.append(
                        {
                            "corpus": Path(path).stem,
                            "id": doc_id,
                            "words_removed": removed,
                            "longest_exact_run": exact_run,
                            "similarities": sims,
                        }
                    )
            listing = "; ".join(f"{i} ({w}w, run {r}, sim {'/'.join(map(str, s))})" for i, w, r, s in changed[:12])
            print(f"| {Path(path).stem} | {len(stored)} | {len(changed)} | {listing or '-'} |")

    # Real repeats: dpg-nl 10800732 and the seed articles.
    checks = []
    for path in args.corpus:
        for doc_id, text in zip(*load_texts(path)):
            if doc_id == REAL_REPEAT_ID:
                for m, fn in methods.items():
                    checks.append(
                        {
                            "method": m,
                            **real_repeat_check(
                                text, f"{Path(path).stem} {doc_id}", fn, finder if m == "dedup.clean" else None
                            ),
                        }
                    )
    seeds_dir = Path(args.seeds)
    if seeds_dir.is_dir():
        for seed_file in sorted(seeds_dir.glob("*.txt")):
            text = seed_file.read_text(encoding="utf-8")
            for m, fn in methods.items():
                checks.append(
                    {
                        "method": m,
                        **real_repeat_check(text, f"seed {seed_file.name}", fn, finder if m == "dedup.clean" else None),
                    }
                )
    if checks:
        print("\n### Real repeats\n")
        print(
            "| text | method | words before | after | expected after | verdict | expected removal (chars) "
            "| removed spans reported |"
        )
        print("|---|---|---:|---:|---:|---|---|---|")
        for c in checks:
            if c["repeat_words"]:
                verdict = "restored" if c["restored"] else "NOT restored"
                verdict += "" if c["only_deletes"] else ", not only deletions"
                expected = f"{c['expected_words_after']}"
                removal = (
                    f"[{c['expected_removed_chars'][0]}, {c['expected_removed_chars'][1]}) repeats "
                    f"[{c['repeats_source_chars'][0]}, {c['repeats_source_chars'][1]})"
                )
            else:
                verdict = "byte-identical" if c["byte_identical"] else "CHANGED (should be unchanged)"
                expected, removal = f"{c['words_before']}", "none"
            found = (
                "; ".join(
                    f"[{r['start']}, {r['end']}) <- [{r['source_start']}, {r['source_end']}) "
                    f"{r['words']}w sim {r['similarity']}"
                    for r in c.get("found_repeats", [])
                )
                or "-"
            )
            print(
                f"| {c['text']} | {c['method']} | {c['words_before']} | {c['words_after']} | {expected} | "
                f"{verdict} | {removal} | {found} |"
            )

    # Failures of dedup.clean: worst first, offsets and counts only.
    OUT_DIR.mkdir(exist_ok=True)
    failures_path = OUT_DIR / "repeats_failures.jsonl"
    described = []
    if have_dedup:
        fails = sorted(result["failures"]["dedup.clean"], key=lambda f: -(f[2]["lost"] + f[2]["left"]))
        for case, out, row in fails:
            described.append(describe_failure(case, out, row, finder(case.corrupted)))
        with open(failures_path, "w", encoding="utf-8") as handle:
            for d in described:
                # Enough to rebuild the case: generate.py repeats --case ID --per-kind N --seed S --show
                d.update(seed=args.seed, per_kind=args.per_kind)
                handle.write(json.dumps(d) + "\n")
        print(f"\n### Worst failures of dedup.clean ({len(described)} in all, written to {failures_path})\n")
        for d in described[: args.failures]:
            lost = ", ".join(f"{r['words']}w at {r['at']}" for r in d["lost_ranges"][:3]) or "-"
            left = ", ".join(f"{r['words']}w at output{r['chars_in_output']}" for r in d["left_ranges"][:3]) or "-"
            print(
                f"- {d['case_id']} [{d['variant']}]: {d['summary']}; lost {d['lost_words']} ({lost}); "
                f"left {d['left_words']} of {d['injected_words']} injected ({left}); "
                f"removed {d['removed_chars']} chars; {len(d['found_repeats'])} repeats found"
            )
        by_kind = Counter((d["corpus"], d["kind"], d["summary"]) for d in described)
        if by_kind:
            print("\nFailure patterns:")
            for (corpus, kind, summary), n in sorted(by_kind.items()):
                print(f"- {corpus} {kind}: {n} x {summary}")

    # Speed: every corpus, articles as stored (mostly without repeats: the common case in
    # a pipeline), then the injected cases of that corpus (every kind, most with a repeat).
    speeds = []
    if args.speed_repeats > 0:
        print(f"\n### Speed (pinned to one CPU, best CPU time of {args.speed_repeats} runs)\n")
        print("| corpus | input | articles | MB | method | articles/s | ratio to baseline |")
        print("|---|---|---:|---:|---|---:|---:|")
        batch = (lambda ts: dedup.clean_many(ts, **params)) if have_dedup else None
        for path in args.corpus:
            name = Path(path).stem
            inputs = [
                ("as stored", load_texts(path)[1]),
                ("injected cases", [c.corrupted for c in cases if c.corpus == name]),
            ]
            for label, texts in inputs:
                if not texts:
                    continue
                mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
                res = speed(texts, methods, batch, args.speed_repeats)
                base = dict(res)["baseline (loop)"]
                for method, rate in res:
                    print(
                        f"| {name} | {label} | {len(texts)} | {mb:.1f} | {method} | {rate:,.0f} | {rate / base:.2f} |"
                    )
                    speeds.append({"corpus": name, "input": label, "method": method, "articles_per_s": rate})

    with open(OUT_DIR / "repeats_results.json", "w", encoding="utf-8") as handle:
        json.dump(
            {
                "args": vars(args),
                "records": records,
                "runs": run_records,
                "storm": storm,
                "real_repeats": checks,
                "speed": speeds,
                "stored_changed": changed_records,
                "failures": len(described),
            },
            handle,
            indent=1,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
