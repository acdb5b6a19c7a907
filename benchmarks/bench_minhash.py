"""MinHash signing speed: dedup against datasketch and rensa on the same corpus, same run.

Every contender signs the same documents with word 5-gram shingles and 128 permutations,
single-threaded (rensa's thread pool is limited to one thread with RAYON_NUM_THREADS=1).

* End to end, from raw text: the peers need shingles first; they get the usual Python
  idiom (lower-case, ``\\w+`` regex, join 5 consecutive words; a document shorter than 5
  words is one shingle of all its words, as in dedup), then
  - datasketch: ``MinHash.update`` per shingle (its usual idiom) and ``MinHash.bulk``
    (its batch API, ``update_batch`` per document),
  - rensa: ``RMinHash`` and ``CMinHash`` through their batch constructors
    (``RMinHash.digest_matrix_from_token_sets``, ``CMinHash.digests_from_token_sets``),
  - dedup: ``MinHasher.sign(texts)`` (its own tokenizer and shingles, all in NumPy).
* Sign only, shingles prebuilt, so readers see where the time goes: the same calls fed
  the prebuilt shingle strings, rensa's hash-input kernel fed dedup's 64-bit shingle
  hashes, and dedup's ``sign_hashes`` fed the same hashes folded to 32 bits.

Timings are the best of ``--repeat`` runs in CPU seconds of this process (the machine is
shared); the datasketch idiom runs ``--slow-repeat`` times (it is slow and steady).
Ratios are dedup's speed over the peer's (``> 1``: dedup is faster).

Also checked: dedup's signatures equal datasketch ``affine32`` MinHashes fed the same
32-bit shingle hashes, and dedup's Jaccard estimates agree with datasketch's (mean
absolute difference, and each one's mean error against the exact Jaccard of the peers'
shingle sets) on near-duplicate pairs from the corpus's ``*.pairs-k5.tsv`` plus random pairs.

Usage::

    nice python benchmarks/bench_minhash.py --corpus ../shared/corpora/dpg-nl.jsonl [--limit N]
"""

from __future__ import annotations

import os

os.environ.setdefault("RAYON_NUM_THREADS", "1")  # before rensa loads: single-threaded like the rest

import argparse
import random
import re

import numpy as np
from lib.corpus import load_texts, pairs_file_for, read_pairs, utf8_megabytes
from lib import peers
from lib.measure import best_of, machine_line
from lib.tables import print_table

from dedup.minhash import MinHasher, fold32, jaccard
from dedup.shingle import shingles
from dedup.text import paragraphs, tokenize

NUM_PERM = 128
NGRAM = 5
SEED = 1
_WORD = re.compile(r"\w+")


def shingle_strings(text: str) -> list[str]:
    """The usual Python shingling: lower-cased ``\\w+`` words, NGRAM at a time."""
    words = _WORD.findall(text.lower())
    if len(words) < NGRAM:
        return [" ".join(words)] if words else []
    return [" ".join(words[i : i + NGRAM]) for i in range(len(words) - NGRAM + 1)]


def dedup_shingle_hashes(texts):
    tokens = tokenize(texts)
    return shingles(tokens.hashes, tokens.offsets, NGRAM)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", required=True, help="JSONL file with a 'text' field per line")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N documents")
    parser.add_argument("--repeat", type=int, default=3, help="runs per contender (best CPU time counts)")
    parser.add_argument("--slow-repeat", type=int, default=1, help="runs of the datasketch per-shingle idiom")
    parser.add_argument("--pairs", type=int, default=300, help="random document pairs for the estimate check")
    args = parser.parse_args(argv)

    ids, texts = load_texts(args.corpus, args.limit)
    megabytes = utf8_megabytes(texts)
    n = len(texts)
    print(f"# bench_minhash: {args.corpus}: {n} documents, {megabytes:.2f} MB UTF-8")
    print(f"# word {NGRAM}-grams, num_perm={NUM_PERM}, single thread, {machine_line()}")
    hasher = MinHasher(NUM_PERM, ngram=NGRAM, seed=SEED)
    hasher.sign(texts[:2])  # builds the lookup table once (~0.1 s), as any long-running job would

    rows = []

    def record(group, name, timing, reference_cpu=None):
        docs_per_s = n / timing.cpu
        row = [group, name, f"{docs_per_s:,.0f}", f"{megabytes / timing.cpu:.2f}", f"{timing.cpu:.3f}", f"{timing.wall:.3f}"]
        row.append(f"{timing.cpu / reference_cpu:.1f}x" if reference_cpu else "")
        rows.append(row)

    # End to end: text -> signatures.
    ours = best_of(lambda: hasher.sign(texts), args.repeat)
    idiom = best_of(
        lambda: peers.datasketch_minhash_per_shingle([shingle_strings(t) for t in texts], NUM_PERM, SEED),
        args.slow_repeat,
    )
    bulk = best_of(
        lambda: peers.datasketch_minhash_bulk([shingle_strings(t) for t in texts], NUM_PERM, SEED), args.repeat
    )
    r_end = best_of(lambda: peers.rensa_r_minhash([shingle_strings(t) for t in texts], NUM_PERM, SEED), args.repeat)
    c_end = best_of(lambda: peers.rensa_c_minhash([shingle_strings(t) for t in texts], NUM_PERM, SEED), args.repeat)
    for name, timing in [
        ("datasketch MinHash.update per shingle (idiom)", idiom),
        ("datasketch MinHash.bulk (batch API)", bulk),
        ("rensa RMinHash.digest_matrix_from_token_sets", r_end),
        ("rensa CMinHash.digests_from_token_sets", c_end),
    ]:
        record("end to end", name, timing, ours.cpu)
    record("end to end", "dedup MinHasher.sign(texts)", ours)

    # Where the time goes: shingling alone, then signing prebuilt shingles.
    strings = best_of(lambda: [shingle_strings(t) for t in texts], args.repeat)
    ours_shingles = best_of(lambda: dedup_shingle_hashes(texts), args.repeat)
    record("shingles only", "Python regex + join (peers' input)", strings)
    record("shingles only", "dedup tokenize + shingles (NumPy)", ours_shingles)

    shingle_lists = strings.result
    hashes64, offsets = ours_shingles.result
    hashes32 = fold32(hashes64)
    ours_sign = best_of(lambda: hasher.sign_hashes(hashes32, offsets), args.repeat)
    idiom_sign = best_of(lambda: peers.datasketch_minhash_per_shingle(shingle_lists, NUM_PERM, SEED), args.slow_repeat)
    bulk_sign = best_of(lambda: peers.datasketch_minhash_bulk(shingle_lists, NUM_PERM, SEED), args.repeat)
    r_sign = best_of(lambda: peers.rensa_r_minhash(shingle_lists, NUM_PERM, SEED), args.repeat)
    c_sign = best_of(lambda: peers.rensa_c_minhash(shingle_lists, NUM_PERM, SEED), args.repeat)
    offsets64 = offsets.astype(np.uint64)
    r_kernel = best_of(lambda: peers.rensa_r_minhash_of_hashes(hashes64, offsets64, NUM_PERM, SEED), args.repeat)
    for name, timing in [
        ("datasketch MinHash.update per shingle", idiom_sign),
        ("datasketch MinHash.bulk", bulk_sign),
        ("rensa RMinHash.digest_matrix_from_token_sets", r_sign),
        ("rensa CMinHash.digests_from_token_sets", c_sign),
        ("rensa RMinHash.digest_matrix_from_flat_token_hashes (dedup's hashes)", r_kernel),
    ]:
        record("sign only", name, timing, ours_sign.cpu)
    record("sign only", "dedup MinHasher.sign_hashes (same hashes)", ours_sign)

    print()
    print_table(rows, ["stage", "contender", "docs/s", "MB/s", "CPU s", "wall s", "dedup faster by"])

    # Paragraph level (many short sets, as the cross-article Deduplicator signs them).
    paragraph_texts = [t[start:end] for t in texts for start, end in paragraphs(t)]
    if len(paragraph_texts) > 1.5 * n:
        report_paragraphs(hasher, paragraph_texts, args.repeat)

    # Same values as datasketch's affine32 scheme?
    from datasketch import MinHash

    signatures = ours.result
    checked = list(range(0, n, max(1, n // 25)))
    identical = 0
    for i in checked:
        reference = MinHash(num_perm=NUM_PERM, seed=SEED, scheme="affine32", hashfunc=lambda x: x)
        reference.update_batch(hashes32[offsets[i] : offsets[i + 1]].tolist())
        identical += bool(np.array_equal(reference.hashvalues, signatures[i]))
    print(f"\nbit-identical to datasketch MinHash(scheme='affine32') fed the same 32-bit shingle hashes: "
          f"{identical}/{len(checked)} documents")

    # Estimate agreement on near-duplicate, spliced and random pairs.
    pair_texts, kinds = agreement_pairs(args.corpus, ids, texts, args.pairs)
    report_agreement(hasher, pair_texts, kinds)


def report_paragraphs(hasher, paragraph_texts, repeat):
    count = len(paragraph_texts)
    megabytes = utf8_megabytes(paragraph_texts)
    ours = best_of(lambda: hasher.sign(paragraph_texts), repeat)
    bulk = best_of(
        lambda: peers.datasketch_minhash_bulk([shingle_strings(t) for t in paragraph_texts], NUM_PERM, SEED), repeat
    )
    r_end = best_of(
        lambda: peers.rensa_r_minhash([shingle_strings(t) for t in paragraph_texts], NUM_PERM, SEED), repeat
    )
    mean_words = np.mean([len(_WORD.findall(t)) for t in paragraph_texts])
    print(f"\nparagraph level: {count} paragraphs (blank-line separated), {mean_words:.0f} words on average")
    rows = []
    for name, timing in [
        ("datasketch MinHash.bulk", bulk),
        ("rensa RMinHash.digest_matrix_from_token_sets", r_end),
        ("dedup MinHasher.sign(paragraphs)", ours),
    ]:
        ratio = f"{timing.cpu / ours.cpu:.1f}x" if timing is not ours else ""
        rows.append(["end to end", name, f"{count / timing.cpu:,.0f}", f"{megabytes / timing.cpu:.2f}",
                     f"{timing.cpu:.3f}", f"{timing.wall:.3f}", ratio])
    print_table(rows, ["stage", "contender", "paragraphs/s", "MB/s", "CPU s", "wall s", "dedup faster by"])


def agreement_pairs(corpus, ids, texts, count):
    """(text_a, text_b) pairs: near duplicates from the truth file, spliced pairs whose
    second text is a prefix of the first followed by the end of another document (any
    overlap from 0 to 1), and random pairs."""
    rng = random.Random(0)
    n = len(texts)
    index = {doc_id: i for i, doc_id in enumerate(ids)}
    pairs, kinds = [], []
    truth_file = pairs_file_for(corpus)
    if truth_file:
        for a, b in read_pairs(truth_file):
            if a in index and b in index:
                pairs.append((texts[index[a]], texts[index[b]]))
                kinds.append(f"near duplicates ({truth_file.name})")
    if n > 1:
        for _ in range(count):
            i, j = rng.sample(range(n), 2)
            words_a, words_b = texts[i].split(), texts[j].split()
            cut = int(len(words_a) * rng.uniform(0.05, 0.95))
            pairs.append((texts[i], " ".join(words_a[:cut] + words_b[cut:])))
            kinds.append("spliced (prefix of A + rest of B)")
        for _ in range(count):
            i, j = rng.sample(range(n), 2)
            pairs.append((texts[i], texts[j]))
            kinds.append("random")
    return pairs, kinds


def report_agreement(hasher, pair_texts, kinds):
    unique = sorted({t for pair in pair_texts for t in pair})
    position = {t: k for k, t in enumerate(unique)}
    shingle_lists = [shingle_strings(t) for t in unique]
    ours = hasher.sign(unique)
    theirs = peers.datasketch_minhash_per_shingle(shingle_lists, NUM_PERM, SEED)
    rensa_rows = np.array(peers.rensa_r_minhash(shingle_lists, NUM_PERM, SEED).to_rows(), dtype=np.uint32)
    sets = [set(s) for s in shingle_lists]
    a = np.array([position[x] for x, _ in pair_texts])
    b = np.array([position[y] for _, y in pair_texts])
    ours_est = jaccard(ours[a], ours[b])
    ds_est = np.array([theirs[i].jaccard(theirs[j]) for i, j in zip(a, b)])
    rensa_est = jaccard(rensa_rows[a], rensa_rows[b])
    exact = np.array([len(sets[i] & sets[j]) / max(1, len(sets[i] | sets[j])) for i, j in zip(a, b)])
    kinds = np.array(kinds)
    print(f"\nestimate agreement ({len(pair_texts)} pairs; exact J over the peers' lower-cased \\w+ 5-shingle sets):")
    rows = []
    for kind in dict.fromkeys(kinds.tolist()):
        mask = kinds == kind
        rows.append([
            kind, int(mask.sum()), f"{exact[mask].mean():.3f}",
            f"{np.abs(ours_est - ds_est)[mask].mean():.4f}",
            f"{np.abs(ours_est - exact)[mask].mean():.4f}",
            f"{np.abs(ds_est - exact)[mask].mean():.4f}",
            f"{np.abs(rensa_est - exact)[mask].mean():.4f}",
        ])
    print_table(rows, ["pairs", "n", "mean exact J", "mean abs(dedup - datasketch)", "mean abs(dedup - exact)",
                       "mean abs(datasketch - exact)", "mean abs(rensa R - exact)"])
    print(f"(binomial standard error of one estimate at J=0.5 with {NUM_PERM} permutations: "
          f"{np.sqrt(0.25 / NUM_PERM):.3f}; dedup folds case, accents and apostrophes, so its shingle "
          f"sets differ slightly from the peers')")


if __name__ == "__main__":
    main()
