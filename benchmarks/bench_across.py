"""Benchmark: passages copied from earlier articles into later ones (issue 9).

Builds a stream from a real corpus in file order and injects into some later articles a
passage of 25-120 words copied from an earlier article of the stream (a recent one,
1-20 articles back, or one far back): ``paragraph``, ``glued``, ``edited``, ``flattened``,
``start``, ``end``, ``two-sources``, ``punct-edges`` (what each injects: :mod:`lib.passages`).

Ground truth is the character span of every injected passage (the wrapper of
``punct-edges`` included). It is checked with assertions when the stream is built: the
text at each span is the passage, its words are the source's words (except for
``edited``), and the article without its spans has exactly the words of the stored article.

Each scope (``"across"``, ``"both"``) runs ``Deduplicator`` over the stream in order;
``--via find`` (default) takes the removed spans from ``find(..., remember=True)``,
``--via clean`` aligns the words of ``clean()``'s output with its input. Per kind:

- injected words removed, and passages at least 90% removed (words);
- passages removed with their edges: every non-space character of the span removed, and of
  the passages whose words all went, how many kept a mark (quote, dash, bullet) of the span
  (``--via find`` only: it needs character offsets);
- own words lost: words of the articles that are neither injected nor shared. *Shared*
  is text really shared with an earlier article of the stream: a word inside an exact
  8-word run (normalised words) that occurs in an earlier article, or a gap of at most
  3 words between such runs (a word changed inside a shared passage). With
  ``scope="both"``, an 8-word run repeated earlier inside the same article is shared too.
  Shared words removed are reported separately: removing them is right;
- source named right: of the passages that some match touches, those whose matches all
  name an earlier article holding one of the passage's 8-word runs (``--via find``);
- articles changed that hold neither injected nor shared text (each is a false positive).

Then the speed of ``Deduplicator(scope=...).clean`` over the stored articles of each
corpus, one article per call, and of ``clean_many`` (target: 1,500 articles/s for
``clean`` with ``scope="both"`` on dpg-nl).

Two more scopes: ``--scope oracle`` reports exactly the injected spans (a check of the
scoring: 100% removed, nothing lost); ``--scope pair`` runs ``dedup.find_repeats`` on the
source articles of an article's passages followed by the article (alignment with a perfect
candidate index, a reference). ``--missed N`` prints passages less than 90% removed, and
``--json`` keeps all of them (ids, offsets, variant; never text).

Corpus text never leaves memory: output is counts, ids and offsets.

Usage::

    nice python benchmarks/bench_across.py --corpus ../shared/corpora/dpg-nl.jsonl \\
        --corpus ../shared/corpora/bbc-en.jsonl --seed 0 --json benchmarks/out/across.json
"""

from __future__ import annotations

import argparse
import bisect
import difflib
import itertools
import json
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lib.corpus import read_jsonl
from lib.measure import best_of, machine_line
from lib.passages import KINDS, RECENT, StreamArticle, StreamBuilder, check_ground_truth
from lib.params import parse_params
from lib.words import norm_tokens, norm_words

import dedup

SHARED_NGRAM = 8  # an exact run of this many words seen earlier counts as shared text
SHARED_GAP = 3  # own words between two shared runs, at most this many, count as shared


# ---------------------------------------------------------------- shared text


def mark_shared(flags: list[bool]) -> list[bool]:
    """Also mark gaps of at most SHARED_GAP words between two marked runs."""
    out = list(flags)
    marked = [i for i, f in enumerate(flags) if f]
    for a, b in itertools.pairwise(marked):
        if 1 < b - a <= SHARED_GAP + 1:
            for i in range(a + 1, b):
                out[i] = True
    return out


def shared_words(stream: list[StreamArticle]) -> tuple[list[list[bool]], list[list[bool]]]:
    """Per article and word: (shared with an earlier article, repeated earlier inside the article).

    Words are those of :func:`lib.words.norm_tokens` of the text as fed.
    """
    seen: set[tuple[str, ...]] = set()
    across, within = [], []
    n = SHARED_NGRAM
    for art in stream:
        words = norm_tokens(art.text)[0]
        grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
        flag_across, flag_within = [False] * len(words), [False] * len(words)
        first: dict[tuple[str, ...], int] = {}
        for i, g in enumerate(grams):
            if g in seen:
                flag_across[i : i + n] = [True] * n
            j = first.setdefault(g, i)
            if j + n <= i:  # an earlier, non-overlapping occurrence in the same article
                flag_within[i : i + n] = [True] * n
        seen.update(grams)
        across.append(mark_shared(flag_across))
        within.append(mark_shared(flag_within))
    return across, within


def plausible_sources(stream: list[StreamArticle]) -> dict[tuple[int, int], set[str]]:
    """Per (article position, injection number): ids of earlier articles that hold one of its 8-word runs.

    A match that removes injected text should name one of these (the article it was
    copied from, or an earlier copy of the same text).
    """
    n = SHARED_NGRAM
    wanted: dict[tuple[str, ...], list[tuple[int, int]]] = defaultdict(list)
    for art in stream:
        for k, inj in enumerate(art.injections):
            words = norm_words(inj.passage)
            for g in {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}:
                wanted[g].append((art.position, k))
    found: dict[tuple[int, int], set[str]] = defaultdict(set)
    for art in stream:
        words = norm_tokens(art.text)[0]
        for i in range(len(words) - n + 1):
            for position, k in wanted.get(tuple(words[i : i + n]), ()):
                if art.position < position:
                    found[(position, k)].add(art.doc_id)
    return found


# ---------------------------------------------------------------- running and scoring


def merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def covered(spans: list[tuple[int, int]], a: int, b: int) -> int:
    """Characters of [a, b) inside the merged, sorted ``spans``."""
    total = 0
    k = max(0, bisect.bisect_right(spans, (a, float("inf"))) - 1)
    while k < len(spans) and spans[k][0] < b:
        total += max(0, min(b, spans[k][1]) - max(a, spans[k][0]))
        k += 1
    return total


def removed_by_find(text: str, matches) -> tuple[list[bool], list[tuple[int, int]]]:
    """Per word of ``text``: removed (at least half its characters in a match); and the merged spans."""
    spans = merge([(m.start, m.end) for m in matches])
    flags = [covered(spans, a, b) * 2 >= b - a for a, b in norm_tokens(text)[1]]
    return flags, spans


def removed_by_clean(text: str, out: str) -> list[bool]:
    """Per word of ``text``: not kept in ``out`` (aligned by words)."""
    words, out_words = norm_tokens(text)[0], norm_tokens(out)[0]
    flags = [True] * len(words)
    for block in difflib.SequenceMatcher(None, words, out_words, autojunk=False).get_matching_blocks():
        flags[block.a : block.a + block.size] = [False] * block.size
    return flags


@dataclass(frozen=True)
class OracleMatch:
    start: int
    end: int
    source_id: str


class Oracle:
    """Reports exactly the injected spans with their sources: checks the scoring (all 100%, nothing lost)."""

    def __init__(self, stream: list[StreamArticle]) -> None:
        self.by_id = {art.doc_id: art for art in stream}
        self.ids = [art.doc_id for art in stream]

    def find(self, text: str, doc_id: str, remember: bool = True) -> list[OracleMatch]:
        art = self.by_id[doc_id]
        return [OracleMatch(i.start, i.end, self.ids[i.source]) for i in art.injections]


class PairAligner:
    """A reference that knows each passage's source: ``dedup.find_repeats`` on (sources + article).

    For an article with injected passages, the stored texts of their source articles are
    put before it and the in-article engine finds what of the article repeats them. This
    is what alignment alone achieves with a perfect candidate index; articles without
    injected passages are not looked at (so their figures say nothing here).
    """

    def __init__(self, stream: list[StreamArticle], params: dict) -> None:
        self.by_id = {art.doc_id: art for art in stream}
        self.stream = stream
        self.params = params

    def find(self, text: str, doc_id: str, remember: bool = True) -> list[OracleMatch]:
        art = self.by_id[doc_id]
        sources = sorted({inj.source for inj in art.injections})
        if not sources:
            return []
        prefix, ranges = "", []
        for position in sources:
            ranges.append((len(prefix), len(prefix) + len(self.stream[position].stored), position))
            prefix += self.stream[position].stored + "\n\n"
        matches = []
        for r in dedup.find_repeats(prefix + text, **self.params):
            if r.end <= len(prefix) or r.source_end > len(prefix):
                continue  # inside the sources, or a repeat inside the article itself
            source = next((p for a, b, p in ranges if a <= r.source_start < b), sources[0])
            start = max(r.start, len(prefix)) - len(prefix)
            matches.append(OracleMatch(start, r.end - len(prefix), self.stream[source].doc_id))
        return matches


def run_scope(stream: list[StreamArticle], scope: str, via: str, params: dict) -> list[dict]:
    """Feed the stream in order; per article, which words (and characters) were removed."""
    if scope == "oracle":
        dedup_ = Oracle(stream)
    elif scope == "pair":
        dedup_ = PairAligner(stream, params)
    else:
        dedup_ = dedup.Deduplicator(scope=scope, **params)
    results = []
    for art in stream:
        if via == "find" or scope in ("oracle", "pair"):
            matches = dedup_.find(art.text, art.doc_id, remember=True)
            flags, spans = removed_by_find(art.text, matches)
            changed = bool(spans)
            # Matches naming another article (not the article itself): which sources they name.
            named = [(m.start, m.end, m.source_id) for m in matches if m.source_id != art.doc_id]
        else:
            out = dedup_.clean(art.text, art.doc_id)
            flags, spans, changed, named = removed_by_clean(art.text, out), None, out != art.text, None
        results.append({"removed": flags, "spans": spans, "changed": changed, "named": named})
    return results


def score(
    stream: list[StreamArticle], results: list[dict], shared: list[list[bool]], sources: dict[tuple[int, int], set[str]]
) -> dict:
    """Figures per kind, per source distance and per passage length, and the false positives.

    ``sources``: the articles a match on each injected passage may name (:func:`plausible_sources`).
    """
    per_kind: dict[str, dict] = defaultdict(lambda: defaultdict(int))
    per_distance: dict[str, dict] = defaultdict(lambda: defaultdict(int))
    per_length: dict[str, dict] = defaultdict(lambda: defaultdict(int))
    clean_changed: list[str] = []
    losing: list[tuple[str, str, int, int]] = []  # (id, kind, own words lost, shared words)
    missed: list[dict] = []  # passages less than 90% removed (offsets and counts, no text)
    totals = defaultdict(int)
    for art, res, shared_flags in zip(stream, results, shared):
        _, word_ranges = norm_tokens(art.text)
        removed = res["removed"]
        injected = [False] * len(word_ranges)
        for k, inj in enumerate(art.injections):
            idx = [i for i, (a, b) in enumerate(word_ranges) if a >= inj.start and b <= inj.end]
            for i in idx:
                injected[i] = True
            n_removed = sum(removed[i] for i in idx)
            full = n_removed >= 0.9 * len(idx)
            if not full:
                missed.append(
                    {
                        "id": art.doc_id,
                        "kind": inj.kind,
                        "variant": inj.variant,
                        "span": [inj.start, inj.end],
                        "source": stream[inj.source].doc_id,
                        "source_span": [inj.source_start, inj.source_end],
                        "words": len(idx),
                        "removed": n_removed,
                    }
                )
            distance = "recent" if art.position - inj.source <= RECENT else "far"
            length = "25-50" if len(idx) <= 50 else "51-80" if len(idx) <= 80 else "81+"
            for bucket in (per_kind[inj.kind], per_distance[distance], per_length[length], totals):
                bucket["passages"] += 1
                bucket["injected_words"] += len(idx)
                bucket["injected_removed"] += n_removed
                bucket["passages_90"] += full
            if res["named"] is not None:
                names = {source for a, b, source in res["named"] if a < inj.end and b > inj.start}
                if names:
                    per_kind[inj.kind]["passages_named"] += 1
                    per_kind[inj.kind]["passages_named_right"] += names <= sources[(art.position, k)]
            if res["spans"] is not None:
                # Every non-space character of the span removed, edge marks included? And of
                # the passages whose words all went: the marks (quotes, dashes, ...) left.
                left = [
                    i
                    for i in range(inj.start, inj.end)
                    if not art.text[i].isspace() and not covered(res["spans"], i, i + 1)
                ]
                per_kind[inj.kind]["passages_whole"] += not left
                if n_removed == len(idx):
                    per_kind[inj.kind]["words_all_removed"] += 1
                    per_kind[inj.kind]["marks_left"] += len(left)
                    per_kind[inj.kind]["passages_marks_left"] += bool(left)
        own = [i for i in range(len(word_ranges)) if not injected[i] and not shared_flags[i]]
        shared_idx = [i for i in range(len(word_ranges)) if not injected[i] and shared_flags[i]]
        lost = sum(removed[i] for i in own)
        bucket = per_kind[art.kind]
        bucket["articles"] += 1
        bucket["own_words"] += len(own)
        bucket["own_lost"] += lost
        bucket["articles_losing"] += lost > 0
        bucket["shared_words"] += len(shared_idx)
        bucket["shared_removed"] += sum(removed[i] for i in shared_idx)
        if not art.injections and not shared_idx and res["changed"]:
            clean_changed.append(art.doc_id)
        if lost:
            losing.append((art.doc_id, art.kind, lost, len(shared_idx)))
        totals["articles"] += 1
        totals["own_words"] += len(own)
        totals["own_lost"] += lost
        totals["shared_words"] += len(shared_idx)
        totals["shared_removed"] += sum(removed[i] for i in shared_idx)
        totals["articles_without_injected_or_shared"] += not art.injections and not shared_idx
    totals["changed_without_injected_or_shared"] = len(clean_changed)
    return {
        "kinds": {k: dict(v) for k, v in per_kind.items()},
        "distance": {k: dict(v) for k, v in per_distance.items()},
        "length": {k: dict(v) for k, v in per_length.items()},
        "totals": dict(totals),
        "changed_without_injected_or_shared": clean_changed,
        "articles_losing_own_words": sorted(losing, key=lambda x: -x[2]),
        "passages_missed": missed,
    }


# ---------------------------------------------------------------- report


def pct(part: float, whole: float, digits: int = 1) -> str:
    return f"{100 * part / whole:.{digits}f}%" if whole else "-"


def print_report(corpus: str, scope: str, via: str, s: dict) -> None:
    print(f"\n### {corpus}, scope={scope!r} (via {via})\n")
    print(
        "| kind | passages | injected words | removed | passages >= 90% | whole incl. edges | marks left "
        "| source named right | articles | own words | own lost | shared words | shared removed |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for kind in (*KINDS, "none"):
        k = s["kinds"].get(kind)
        if not k:
            continue
        whole = pct(k.get("passages_whole", 0), k.get("passages", 0)) if via == "find" else "n/a"
        named = "-"
        if k.get("passages_named"):
            # Of the passages some match touches: all those matches name a plausible source.
            named = f"{k['passages_named_right']}/{k['passages_named']}"
        edges = "-"
        if via == "find" and k.get("words_all_removed"):
            # Of the passages whose words all went: how many kept a mark at an edge.
            edges = f"{k['passages_marks_left']}/{k['words_all_removed']}"
        print(
            f"| {kind} | {k.get('passages', 0)} | {k.get('injected_words', 0)} "
            f"| {pct(k.get('injected_removed', 0), k.get('injected_words', 0))} "
            f"| {pct(k.get('passages_90', 0), k.get('passages', 0))} | {whole} | {edges} "
            f"| {named} | {k['articles']} | {k['own_words']} | {k['own_lost']} ({pct(k['own_lost'], k['own_words'], 3)}) "
            f"| {k['shared_words']} | {pct(k['shared_removed'], k['shared_words'])} |"
        )
    t = s["totals"]
    print(
        f"| **all** | {t['passages']} | {t['injected_words']} | {pct(t['injected_removed'], t['injected_words'])} "
        f"| {pct(t['passages_90'], t['passages'])} | | | | {t['articles']} | {t['own_words']} "
        f"| {t['own_lost']} ({pct(t['own_lost'], t['own_words'], 3)}) | {t['shared_words']} "
        f"| {pct(t['shared_removed'], t['shared_words'])} |"
    )
    dist = ", ".join(
        f"{d}: {pct(v['injected_removed'], v['injected_words'])} of words, {pct(v['passages_90'], v['passages'])} "
        f"of {v['passages']} passages >= 90%"
        for d, v in sorted(s["distance"].items())
    )
    length = ", ".join(
        f"{d} words: {pct(v['injected_removed'], v['injected_words'])} ({v['passages']})"
        for d, v in sorted(s["length"].items())
    )
    changed = s["changed_without_injected_or_shared"]
    print(f"\nBy source distance: {dist}.  By passage length: {length}.")
    losing = s["articles_losing_own_words"]
    print(
        f"Articles losing own words: {len(losing)}"
        + (
            " (id kind: lost/shared words: " + "; ".join(f"{i} {k}: {n}/{sh}" for i, k, n, sh in losing[:8]) + ")"
            if losing
            else ""
        )
    )
    print(
        f"Articles changed that hold neither injected nor shared text: {len(changed)} of "
        f"{t['articles_without_injected_or_shared']}" + (f" (ids {', '.join(changed[:10])})" if changed else "")
    )


def measure_speed(texts: list[str], scope: str, params: dict, repeat: int, batch: bool = False) -> float:
    """Articles per CPU second of Deduplicator(scope).clean, one article per call (or one clean_many), fresh state per run."""

    def run():
        d = dedup.Deduplicator(scope=scope, **params)
        if batch:
            d.clean_many(texts, list(range(len(texts))))
        else:
            for i, t in enumerate(texts):
                d.clean(t, i)

    return len(texts) / best_of(run, repeat).cpu



def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", action="append", required=True, help="JSONL corpus with id and text (repeatable)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--per-kind", type=int, default=30, help="articles per kind and corpus (default 30)")
    parser.add_argument("--limit", type=int, default=1500, help="first N articles of each corpus (default 1500)")
    parser.add_argument("--kind", action="append", choices=KINDS, help="only these kinds (repeatable)")
    parser.add_argument(
        "--scope",
        action="append",
        choices=("across", "both", "oracle", "pair"),
        help="default: across and both; oracle removes exactly the injected spans (a check of the scoring); "
        "pair: dedup.find_repeats on (sources + article), a reference that knows the sources "
        "(--param then goes to find_repeats)",
    )
    parser.add_argument(
        "--via", choices=("find", "clean"), default="find", help="removed spans from find (default) or clean"
    )
    parser.add_argument("--param", action="append", default=[], help="Deduplicator keyword, e.g. threshold=0.5")
    parser.add_argument("--speed-repeats", type=int, default=2, help="timing runs, best kept (0: no speed test)")
    parser.add_argument(
        "--json", help="write all figures to this file, with every passage less than 90%% removed (offsets, no text)"
    )
    parser.add_argument("--missed", type=int, default=0, help="print this many passages less than 90%% removed")
    args = parser.parse_args(argv)
    params = parse_params(args.param)
    scopes = args.scope or ["across", "both"]
    kinds = args.kind or list(KINDS)
    print(
        f"# bench_across  dedup {dedup.__version__}  {machine_line()}  seed={args.seed} per_kind={args.per_kind} "
        f"limit={args.limit} via={args.via} params={params or 'defaults'}"
    )
    report: dict = {"args": vars(args), "runs": [], "speed": []}
    for path in args.corpus:
        name = Path(path).stem
        records = read_jsonl(path, args.limit)
        stored = [(str(r["id"]), r["text"]) for r in records]
        t0 = time.perf_counter()
        stream = StreamBuilder(stored, args.seed).build(args.per_kind, kinds)
        check_ground_truth(stream)
        across_shared, within_shared = shared_words(stream)
        sources = plausible_sources(stream)
        print(
            f"\n{name}: {len(stream)} articles, {sum(bool(a.injections) for a in stream)} with injected passages; "
            f"stream built and checked in {time.perf_counter() - t0:.1f}s"
        )
        for scope in scopes:
            shared = across_shared
            if scope == "both":
                shared = [[a or w for a, w in zip(x, y)] for x, y in zip(across_shared, within_shared)]
            t0 = time.perf_counter()
            results = run_scope(stream, scope, args.via, params)
            elapsed = time.perf_counter() - t0
            summary = score(stream, results, shared, sources)
            print_report(name, scope, args.via, summary)
            for m in summary["passages_missed"][: args.missed]:
                print(
                    f"- missed {m['id']} {m['kind']} [{m['variant']}] span {m['span']} <- {m['source']} "
                    f"{m['source_span']}: {m['removed']}/{m['words']} words removed"
                )
            print(f"(ran in {elapsed:.1f}s wall)")
            report["runs"].append({"corpus": name, "scope": scope, **summary})
        if args.speed_repeats > 0:
            texts = [t for _, t in stored]
            for scope in (s for s in scopes if s in ("across", "both")):
                rate = measure_speed(texts, scope, params, args.speed_repeats)
                batch = measure_speed(texts, scope, params, args.speed_repeats, batch=True)
                print(
                    f"speed {name} scope={scope}: clean {rate:,.0f} articles/s (one per call), clean_many "
                    f"{batch:,.0f} articles/s ({len(texts)} stored articles, best CPU time of {args.speed_repeats})"
                )
                report["speed"].append(
                    {
                        "corpus": name,
                        "scope": scope,
                        "articles": len(texts),
                        "articles_per_s": rate,
                        "clean_many_per_s": batch,
                    }
                )
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
