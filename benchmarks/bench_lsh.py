"""LSH index speed and memory: dedup's ``LSHIndex`` against datasketch's ``MinHashLSH``.

Both get the same signatures (dedup's, converted to datasketch ``LeanMinHash`` objects
for datasketch, which is exact: they are datasketch ``affine32`` values) and the same
banding (both derive it from ``--threshold`` and ``num_perm`` with equal weights; the
script checks they agree). Measured in the same run:

* bulk insert: ``LSHIndex.insert(keys, signatures)`` vs ``MinHashLSH.insertion_session``
  (datasketch's bulk insert) filled one MinHash at a time;
* query: ``LSHIndex.query_many(signatures)`` (and ``query`` one at a time) vs
  ``MinHashLSH.query`` per signature; every corpus document is queried;
* all candidate pairs of a batch: ``dedup.lsh.candidate_pairs`` (no index needed);
* memory of the filled index: bytes allocated while inserting (tracemalloc, in a
  separate build so tracing does not slow the timed one), and ``LSHIndex.nbytes``.

The corpora are small, so ``--extra N`` random signatures (unrelated documents: each
value uniform) are added to the index so that insert and memory figures are those of a
realistic index size; queries are the corpus documents. Candidate sets of both indexes
are compared query by query.

Usage::

    nice python benchmarks/bench_lsh.py --corpus ../shared/corpora/bbc-en.jsonl [--extra 100000]
"""

from __future__ import annotations

import argparse
import tracemalloc

import numpy as np
from lib import peers
from lib.corpus import load_texts
from lib.measure import best_of, machine_line
from lib.tables import print_table

from dedup.lsh import LSHIndex, candidate_pairs
from dedup.minhash import MinHasher

NUM_PERM = 128


def build_dedup(threshold, signatures, keys):
    index = LSHIndex(threshold=threshold, num_perm=NUM_PERM)
    index.insert(keys, signatures)
    return index


def allocated_megabytes(build) -> tuple[float, object]:
    """Bytes still allocated after ``build()`` (tracemalloc), and what it built."""
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    built = build()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return (after - before) / 1e6, built


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", required=True, help="JSONL file with a 'text' field per line")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N documents")
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--extra", type=int, default=50_000, help="random signatures added to the index")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (best CPU time counts)")
    args = parser.parse_args(argv)

    from datasketch import MinHashLSH

    _, texts = load_texts(args.corpus, args.limit)
    hasher = MinHasher(NUM_PERM)
    corpus_sigs = hasher.sign(texts)
    rng = np.random.default_rng(0)
    extra = rng.integers(0, 1 << 32, (args.extra, NUM_PERM), dtype=np.uint64).astype(np.uint32)
    signatures = np.concatenate([corpus_sigs, extra])
    n = len(signatures)
    keys = list(range(n))
    queries = corpus_sigs
    print(f"# bench_lsh: {args.corpus}: {len(texts)} documents + {args.extra} random signatures = {n} entries; "
          f"{len(queries)} queries; threshold {args.threshold}, num_perm {NUM_PERM}")
    print(f"# single thread, {machine_line()}")

    probe = LSHIndex(threshold=args.threshold, num_perm=NUM_PERM)
    reference = MinHashLSH(threshold=args.threshold, num_perm=NUM_PERM)
    print(f"# banding: dedup {probe.bands} bands x {probe.rows} rows, datasketch {reference.b} x {reference.r}")
    if (probe.bands, probe.rows) != (reference.b, reference.r):
        raise SystemExit("banding differs: the comparison would not be like for like")

    convert = best_of(lambda: [hasher.to_datasketch(s) for s in signatures], 1)
    minhashes = convert.result
    query_minhashes = minhashes[: len(queries)]

    ours_insert = best_of(lambda: build_dedup(args.threshold, signatures, keys), args.repeat)
    theirs_insert = best_of(lambda: peers.datasketch_lsh(args.threshold, NUM_PERM, zip(keys, minhashes), check_duplication=False), args.repeat)
    index, lsh = ours_insert.result, theirs_insert.result

    ours_query_many = best_of(lambda: index.query_many(queries), args.repeat)
    ours_query_one = best_of(lambda: [index.query(q) for q in queries], args.repeat)
    theirs_query = best_of(lambda: [lsh.query(m) for m in query_minhashes], args.repeat)
    pairs = best_of(lambda: candidate_pairs(signatures, probe.bands, probe.rows), args.repeat)

    rows = []

    def row(operation, name, count, timing, peer=None):
        rate = count / timing.cpu
        ratio = f"{peer.cpu / timing.cpu:.1f}x" if peer is not None else ""
        rows.append([operation, name, f"{count:,}", f"{rate:,.0f}", f"{timing.cpu:.3f}", f"{timing.wall:.3f}", ratio])

    row("convert to LeanMinHash", "MinHasher.to_datasketch (datasketch's input; not in insert)", n, convert)
    row("bulk insert", "datasketch MinHashLSH.insertion_session", n, theirs_insert)
    row("bulk insert", "dedup LSHIndex.insert(keys, signatures)", n, ours_insert, theirs_insert)
    row("query", "datasketch MinHashLSH.query per signature", len(queries), theirs_query)
    row("query", "dedup LSHIndex.query per signature", len(queries), ours_query_one, theirs_query)
    row("query", "dedup LSHIndex.query_many(signatures)", len(queries), ours_query_many, theirs_query)
    row("all pairs of a batch", "dedup candidate_pairs(signatures)", n, pairs)
    print()
    print_table(rows, ["operation", "contender", "items", "items/s", "CPU s", "wall s", "dedup faster by"])

    theirs_mb, _ = allocated_megabytes(lambda: peers.datasketch_lsh(args.threshold, NUM_PERM, zip(keys, minhashes), check_duplication=False))
    ours_mb, traced_index = allocated_megabytes(lambda: build_dedup(args.threshold, signatures, keys))
    minhash_mb, _ = allocated_megabytes(lambda: [hasher.to_datasketch(s) for s in signatures[: min(n, 10_000)]])
    minhash_mb *= n / min(n, 10_000)
    print()
    print_table(
        [
            ["datasketch MinHashLSH (tracemalloc)", f"{theirs_mb:.1f}", f"{theirs_mb * 1e6 / n:.0f}"],
            ["dedup LSHIndex (tracemalloc)", f"{ours_mb:.1f}", f"{ours_mb * 1e6 / n:.0f}"],
            ["dedup LSHIndex.nbytes", f"{traced_index.nbytes / 1e6:.1f}", f"{traced_index.nbytes / n:.0f}"],
            ["(datasketch's LeanMinHash inputs, kept by the caller)", f"{minhash_mb:.1f}", f"{minhash_mb * 1e6 / n:.0f}"],
        ],
        ["index memory", "MB", "bytes per entry"],
    )
    print(f"(dedup uses {theirs_mb / max(ours_mb, 1e-9):.1f}x less memory than datasketch for the index)")

    ours_sets = [set(c) for c in ours_query_many.result]
    theirs_sets = [set(c) for c in theirs_query.result]
    same = sum(a == b for a, b in zip(ours_sets, theirs_sets))
    only_ours = sum(len(a - b) for a, b in zip(ours_sets, theirs_sets))
    only_theirs = sum(len(b - a) for a, b in zip(ours_sets, theirs_sets))
    total = sum(len(b) for b in theirs_sets)
    print(f"\nidentical candidate sets: {same}/{len(queries)} queries "
          f"({total} datasketch candidates; only dedup: {only_ours}, only datasketch: {only_theirs})")
    print(f"candidate pairs in the whole batch: {len(pairs.result):,}")


if __name__ == "__main__":
    main()
