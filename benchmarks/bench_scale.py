"""find_duplicates at scale on a synthetic corpus with planted near-duplicates.

Documents are made-up text: ``--words`` words drawn from a Zipf-like vocabulary of
100,000 words, each document a pure function of its number (hashes, no stored state),
so a generator can stream a million documents without holding them. A share
``--dup-rate`` of documents are planted near-copies of an earlier original document,
with 0 to ``--max-edits`` words replaced. The truth is the set of (original, copy)
pairs; their exact Jaccard (word 5-shingles of the word ids) is computed to say how far
above the threshold they sit.

Each size runs in its own process, so the peak resident memory (``ru_maxrss``) is that
of one run. For sizes up to ``--compare-max`` a second process runs datasketch's
``MinHashLSH`` (insertion session + one query per document) on the same signatures, and
our ``candidate_pairs`` + verification on them, timing the LSH stage alone.

Usage::

    nice python benchmarks/bench_scale.py --docs 10000 100000
    nice python benchmarks/bench_scale.py --docs 1000000 --compare-max 0
    nice python benchmarks/bench_scale.py --docs 10000 100000 --compare-max 0 --stream-max 100000

With ``--stream-max``, a third process feeds the same documents, in order, to a
``Deduplicator(scope="across")`` (``clean_many`` in batches of 512) and reports
its throughput, state size and how much of each planted copy it removed.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time

import numpy as np

from lib import peers
from lib.measure import peak_rss_megabytes
from lib.zipf_corpus import batch_word_ids, generate_texts, planted, texts_of_word_ids

def child_ours(args) -> dict:
    from dedup.duplicates import find_duplicates

    start = time.perf_counter()
    result = find_duplicates(
        generate_texts(args.n, args.words, args.dup_rate, args.max_edits), threshold=args.threshold, batch_size=4096
    )
    seconds = time.perf_counter() - start
    found = {(min(a, b), max(a, b)) for a, b, _ in result.pairs}
    pairs, jaccard = planted(args.n, args.words, args.dup_rate, args.max_edits)
    truth = {(int(a), int(b)) for a, b in pairs}
    groups = {}
    for a, b in pairs.tolist():
        groups[b] = a
    root = lambda d: groups.get(d, d)
    correct = sum(root(a) == root(b) for a, b in found)
    sigma = math.sqrt(args.threshold * (1 - args.threshold) / 128)
    clear = {(int(a), int(b)) for (a, b), j in zip(pairs, jaccard) if j >= args.threshold + 2 * sigma}
    # Time to generate the text alone, measured on a slice, to subtract from the total.
    sample = min(args.n, 20_000)
    t0 = time.perf_counter()
    for _ in generate_texts(sample, args.words, args.dup_rate, args.max_edits):
        pass
    generation = (time.perf_counter() - t0) * args.n / sample
    return {
        "n": args.n,
        "seconds": seconds,
        "generation_seconds_est": generation,
        "peak_mb": peak_rss_megabytes(),
        "planted": len(truth),
        "planted_j_min": float(jaccard.min()) if len(jaccard) else None,
        "planted_j_below_threshold": int((jaccard < args.threshold).sum()),
        "recall": len(found & truth) / len(truth),
        "recall_clear": len(found & clear) / max(len(clear), 1),
        "found": len(found),
        "precision_same_group": correct / max(len(found), 1),
        "candidates": result.candidates,
        "bands": result.bands,
        "rows": result.rows,
        "clusters": len(result.clusters),
    }


def child_compare(args) -> dict:
    peers.preload("datasketch")
    from dedup import MinHasher
    from dedup.duplicates import verify_pairs
    from dedup.lsh import candidate_pairs, optimal_params

    hasher = MinHasher(128)
    sigs = np.concatenate(
        [
            hasher.sign(
                texts_of_word_ids(
                    batch_word_ids(lo, min(lo + 4096, args.n), args.words, args.dup_rate, args.max_edits)[0]
                )
            )
            for lo in range(0, args.n, 4096)
        ]
    )
    import tracemalloc

    tracemalloc.start()
    start = time.perf_counter()
    bands, rows = optimal_params(args.threshold, 128, (0.05, 0.95))
    pairs = candidate_pairs(sigs, bands, rows)
    kept_left, _, _ = verify_pairs(sigs, pairs, args.threshold)
    ours_seconds = time.perf_counter() - start
    ours_found = len(kept_left)
    ours_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    start = time.perf_counter()
    minhashes = [hasher.to_datasketch(s) for s in sigs]
    convert = time.perf_counter() - start
    tracemalloc.start()
    start = time.perf_counter()
    lsh = peers.datasketch_lsh(args.threshold, 128, enumerate(minhashes))
    insert = time.perf_counter() - start
    lsh_bytes = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    start = time.perf_counter()
    found = set()
    for i, m in enumerate(minhashes):
        for j in lsh.query(m):
            if j != i and np.count_nonzero(sigs[i] == sigs[j]) >= args.threshold * 128:
                found.add((min(i, j), max(i, j)))
    query = time.perf_counter() - start
    return {
        "n": args.n,
        "ours_lsh_seconds": ours_seconds,
        "ours_found": ours_found,
        "ours_lsh_peak_mb": ours_peak / 1e6,
        "datasketch_convert_seconds": convert,
        "datasketch_insert_seconds": insert,
        "datasketch_query_verify_seconds": query,
        "datasketch_found": len(found),
        "datasketch_index_mb": lsh_bytes / 1e6,
    }


def child_stream(args) -> dict:
    """Deduplicator over the same stream: throughput, state size, planted copies removed."""
    from dedup.deduplicator import Deduplicator

    d = Deduplicator(scope="across")  # the library's defaults (its threshold is no MinHash estimate)
    start = time.perf_counter()
    removed_share = []
    for lo in range(0, args.n, 512):
        ids, copies, _ = batch_word_ids(lo, min(lo + 512, args.n), args.words, args.dup_rate, args.max_edits)
        texts = texts_of_word_ids(ids)
        cleaned = d.clean_many(texts, list(range(lo, lo + len(texts))))
        for k in np.flatnonzero(copies):
            removed_share.append(1 - len(cleaned[k]) / len(texts[k]))
    seconds = time.perf_counter() - start
    removed_share = np.array(removed_share)
    return {
        "n": args.n,
        "deduplicator_seconds": seconds,
        "articles_per_s": args.n / seconds,
        "fingerprints": d.fingerprints,
        "state_mb": d.nbytes / 1e6,
        "state_bytes_per_article": d.nbytes / args.n,
        "peak_mb": peak_rss_megabytes(),
        "planted_copies": len(removed_share),
        "copies_removed_90pct": float((removed_share >= 0.9).mean()),
        "copy_share_removed_mean": float(removed_share.mean()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--words", type=int, default=200)
    parser.add_argument("--dup-rate", type=float, default=0.05)
    parser.add_argument("--max-edits", type=int, default=3)
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--compare-max", type=int, default=100_000, help="run datasketch up to this size")
    parser.add_argument("--stream-max", type=int, default=0, help="also run Deduplicator up to this size")
    parser.add_argument("--child", choices=["ours", "compare", "stream"], help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        out = {"ours": child_ours, "compare": child_compare, "stream": child_stream}[args.child](args)
        print(json.dumps(out))
        return
    common = [
        "--words",
        str(args.words),
        "--dup-rate",
        str(args.dup_rate),
        "--max-edits",
        str(args.max_edits),
        "--threshold",
        str(args.threshold),
    ]
    for n in args.docs:
        kinds = ["ours"] + (["compare"] if n <= args.compare_max else []) + (["stream"] if n <= args.stream_max else [])
        for kind in kinds:
            run = subprocess.run(
                [sys.executable, __file__, "--child", kind, "--n", str(n), *common],
                capture_output=True,
                text=True,
                check=True,
            )
            print(run.stdout.strip(), flush=True)


if __name__ == "__main__":
    main()
