"""Recall and precision of document clustering and of paragraph matching across documents.

Document level (``--corpus X.jsonl``, truth ``X.pairs-k5.tsv`` next to it): for each
threshold, the pairs ``find_duplicates`` verifies against the exact all-pairs Jaccard of
the truth file, and the same for datasketch's ``MinHashLSH`` (same num_perm, fed the same
signatures so only banding and verification differ), raw candidates and verified ones.

Truth near the threshold: the truth is the exact Jaccard of lower-cased ``\\w+`` 5-shingles;
ours are estimated from ``num_perm`` MinHash values of our own tokens (case-, accent- and
apostrophe-folded), with standard error ``sigma = sqrt(t (1 - t) / num_perm)`` at the
threshold ``t``. A pair within a couple of sigma of ``t`` lands on either side by chance,
for any MinHash method. So besides the strict figures we print *banded* ones: recall over
truth pairs with ``J >= t + 2 sigma``, precision counting a found pair as correct when its
true ``J >= t - 2 sigma``.

Paragraph level (``--paragraphs debian-docs-nl.jsonl``): the bullseye manual is fed to a
``Deduplicator(scope="across")``; the bookworm manual is then checked against it. A
bookworm paragraph is *verbatim-shared* when the same paragraph (after whitespace
normalisation) is in bullseye, *edited* otherwise; for edited paragraphs the true
similarity is the best exact Jaccard (our 5-shingles) with any bullseye paragraph.

Usage::

    nice python benchmarks/bench_corpus.py --corpus ../shared/corpora/dpg-nl.jsonl \\
        --corpus ../shared/corpora/bbc-en.jsonl --paragraphs ../shared/corpora/debian-docs-nl.jsonl
"""

from __future__ import annotations

import argparse
import math
import re
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from lib import peers
from lib.corpus import read_jsonl, read_pairs

from dedup import MinHasher
from dedup.deduplicator import Deduplicator
from dedup.duplicates import find_duplicates
from dedup.shingle import shingles
from dedup.text import paragraphs, tokenize





def score(found: set, truth: dict, threshold: float, sigma: float) -> dict:
    positives = {p for p, j in truth.items() if j >= threshold}
    clear = {p for p, j in truth.items() if j >= threshold + 2 * sigma}
    acceptable = {p for p, j in truth.items() if j >= threshold - 2 * sigma}
    hit = found & positives
    return {
        "truth": len(positives),
        "found": len(found),
        "recall": len(hit) / len(positives) if positives else float("nan"),
        "precision": len(hit) / len(found) if found else float("nan"),
        "recall_banded": len(found & clear) / len(clear) if clear else float("nan"),
        "precision_banded": len(found & acceptable) / len(found) if found else float("nan"),
        "missed": sorted((truth[p], p) for p in positives - found),
        "wrong": sorted((truth.get(p, 0.0), p) for p in found - positives),
    }


def datasketch_pairs(hasher: MinHasher, ids: list[str], sigs: np.ndarray, threshold: float) -> tuple[set, set, float]:
    peers.preload("datasketch")
    start = time.perf_counter()
    minhashes = [hasher.to_datasketch(s) for s in sigs]
    lsh = peers.datasketch_lsh(threshold, hasher.num_perm, enumerate(minhashes))
    raw = peers.datasketch_candidate_pairs(lsh, minhashes)
    seconds = time.perf_counter() - start
    verified = {(i, j) for i, j in raw if np.mean(sigs[i] == sigs[j]) >= threshold}
    as_ids = lambda pairs: {tuple(sorted((ids[i], ids[j]))) for i, j in pairs}
    return as_ids(raw), as_ids(verified), seconds


def fmt(value: float) -> str:
    return "  n/a" if isinstance(value, float) and math.isnan(value) else f"{value:.3f}"


def documents(path: Path, thresholds: list[float], num_perm: int) -> None:
    docs = read_jsonl(path)
    truth_path = path.with_name(path.name.replace(".jsonl", ".pairs-k5.tsv"))
    truth = read_pairs(truth_path)
    ids = [str(d["id"]) for d in docs]
    texts = [d["text"] for d in docs]
    hasher = MinHasher(num_perm)
    sigs = hasher.sign(texts)
    print(
        f"\n## {path.name}: {len(docs)} documents, {len(truth)} truth pairs (J >= 0.3 or containment >= 0.8), "
        f"num_perm={num_perm}"
    )
    print(
        "| t | truth pairs | method | found | recall | precision | recall (J >= t+2s) | precision (J >= t-2s) | seconds |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    notes = []
    for t in thresholds:
        sigma = math.sqrt(t * (1 - t) / num_perm)
        start = time.perf_counter()
        result = find_duplicates(list(zip(ids, texts)), threshold=t, num_perm=num_perm)
        ours_seconds = time.perf_counter() - start
        ours = {tuple(sorted((a, b))) for a, b, _ in result.pairs}
        raw, verified, ds_seconds = datasketch_pairs(hasher, ids, sigs, t)
        rows = [
            (f"dedup.find_duplicates ({result.bands}x{result.rows})", ours, ours_seconds),
            ("datasketch MinHashLSH candidates", raw, ds_seconds),
            ("datasketch MinHashLSH + verify", verified, ds_seconds),
        ]
        for name, found, seconds in rows:
            s = score(found, truth, t, sigma)
            print(
                f"| {t} | {s['truth']} | {name} | {s['found']} | {fmt(s['recall'])} | {fmt(s['precision'])} | "
                f"{fmt(s['recall_banded'])} | {fmt(s['precision_banded'])} | {seconds:.2f} |"
            )
            if name.startswith("dedup"):
                for j, pair in s["missed"]:
                    notes.append(
                        f"t={t}: missed {pair} true J={j:.4f} estimate={np.mean(sigs[ids.index(pair[0])] == sigs[ids.index(pair[1])]):.3f}"
                    )
                for j, pair in s["wrong"]:
                    notes.append(
                        f"t={t}: extra  {pair} true J={j:.4f} estimate={np.mean(sigs[ids.index(pair[0])] == sigs[ids.index(pair[1])]):.3f}"
                    )
    if notes:
        print("\nPairs dedup got wrong (true J from the truth file, estimate from our signatures):")
        for note in notes:
            print("  " + note)


def shingle_sets(texts: list[str]) -> list[set]:
    tokens = tokenize(texts)
    hashes, offsets = shingles(tokens.hashes, tokens.offsets, 5)
    return [set(hashes[offsets[i] : offsets[i + 1]].tolist()) for i in range(len(texts))]


def best_jaccard(queries: list[set], pool: list[set]) -> np.ndarray:
    """Best exact Jaccard of every query set with any pool set (inverted index)."""
    postings = defaultdict(list)
    for k, s in enumerate(pool):
        for h in s:
            postings[h].append(k)
    best = np.zeros(len(queries))
    for q, s in enumerate(queries):
        shared = Counter(k for h in s for k in postings.get(h, ()))
        for k, n in shared.items():
            best[q] = max(best[q], n / (len(s) + len(pool[k]) - n))
    return best


def paragraph_level(path: Path, threshold: float, min_length: int) -> None:
    docs = {d["id"]: d["text"] for d in read_jsonl(path)}
    old = next(t for i, t in docs.items() if "bullseye" in i)
    new = next(t for i, t in docs.items() if "bookworm" in i)
    norm = lambda s: re.sub(r"\s+", " ", s).strip()
    old_spans, new_spans = paragraphs(old), paragraphs(new)
    old_paras = [old[a:b] for a, b in old_spans]
    new_paras = [new[a:b] for a, b in new_spans]
    verbatim_pool = {norm(p) for p in old_paras}

    d = Deduplicator(threshold, scope="across", min_length=min_length)
    start = time.perf_counter()
    d.add(old, doc_id="bullseye")
    matches = d.find(new, doc_id="bookworm")
    seconds = time.perf_counter() - start
    covered = np.zeros(len(new) + 1, dtype=np.int32)
    for m in matches:
        covered[m.start] += 1
        covered[m.end] -= 1
    covered = np.cumsum(covered) > 0

    words = np.array([len(tokenize([p]).hashes) for p in new_paras])
    found = np.array([covered[a:b].mean() >= 0.5 for a, b in new_spans])
    verbatim = np.array([norm(p) in verbatim_pool for p in new_paras])
    sets_new, sets_old = shingle_sets(new_paras), shingle_sets(old_paras)
    truth = best_jaccard(sets_new, sets_old)
    long_enough = words >= d.min_length
    print(
        f"\n## Paragraphs: {path.name}, bookworm manual ({len(new_paras)} paragraphs) against bullseye "
        f"({len(old_paras)}); Deduplicator(threshold={threshold}, scope='across', "
        f"min_length={d.min_length}); {seconds:.2f} s for both manuals; {d.fingerprints} fingerprints stored"
    )
    print("| bookworm paragraphs | count | found (>= half its characters matched) |")
    print("|---|---|---|")
    print(
        f"| verbatim in bullseye, >= {d.min_length} words | {int((verbatim & long_enough).sum())} | "
        f"{fmt(found[verbatim & long_enough].mean())} |"
    )
    if (verbatim & ~long_enough).any():
        print(
            f"| verbatim in bullseye, < {d.min_length} words (never matched by design) | "
            f"{int((verbatim & ~long_enough).sum())} | {fmt(found[verbatim & ~long_enough].mean())} |"
        )
    edited = ~verbatim & long_enough
    for low, high in ((0.95, 1.01), (0.9, 0.95), (threshold, 0.9), (0.5, threshold), (0.0, 0.5)):
        band = edited & (truth >= low) & (truth < high)
        print(
            f"| edited, best true J in [{low:.2f}, {min(high, 1):.2f}) | {int(band.sum())} | {fmt(found[band].mean()) if band.any() else '  n/a'} |"
        )
    # What was reported vs. the truth for the edited paragraphs found: a match's
    # similarity is a containment (the share of the passage's shingles in its source), so
    # it is compared with the exact share of the paragraph's shingles in bullseye.
    old_all = set().union(*sets_old)
    contained = np.array([len(s & old_all) / len(s) if s else 1.0 for s in sets_new])
    errors = []
    for k in np.flatnonzero(edited & found):
        a, b = new_spans[k]
        hits = [m for m in matches if m.start < b and m.end > a]
        if hits:
            errors.append(max(m.similarity for m in hits) - contained[k])
    if errors:
        errors = np.array(errors)
        print(
            f"\nEdited paragraphs found, reported containment minus exact: mean {errors.mean():+.3f}, "
            f"mean absolute {np.abs(errors).mean():.3f}, n={len(errors)}"
        )
    novel = edited & found & (contained < threshold)
    for k in np.flatnonzero(novel):
        a, b = new_spans[k]
        print(
            f"  novel text lost: paragraph #{k}, {words[k]} words, exact containment {contained[k]:.2f}, reported "
            f"{max(m.similarity for m in matches if m.start < b and m.end > a):.2f}"
        )
    print(
        f"Edited paragraphs removed although < {threshold:.0%} of their shingles occur in bullseye "
        f"(novel text lost): {int(novel.sum())} of {int((edited & found).sum())} removed edited paragraphs"
    )
    shown = np.flatnonzero(verbatim & long_enough & ~found)[:5]
    for k in shown:
        print(f"  missed verbatim paragraph #{k}: {words[k]} words")


def exact_containment(part: str, source: str) -> float:
    """The exact share of ``part``'s 5-shingles (ours) that ``source`` has."""
    a, b = shingle_sets([part, source])
    return len(a & b) / len(a) if a else 1.0


def streaming(path: Path, threshold: float) -> None:
    """Deduplicator over a whole corpus in file order: speed, what it removes, how right."""
    docs = read_jsonl(path)
    ids = [str(d["id"]) for d in docs]
    texts = [d["text"] for d in docs]
    by_id = dict(zip(ids, texts))
    chars = sum(map(len, texts))
    print(f"\n## Deduplicator over {path.name} in file order ({len(docs)} articles, {chars / 1e6:.1f} M characters)")
    print(
        "| scope | seconds | articles/s | MB/s | matches within | matches across | articles touched "
        "| characters removed | fingerprints stored | state bytes |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for scope in ("across", "both"):
        d = Deduplicator(threshold, scope=scope)
        start = time.perf_counter()
        found = d.add_many(texts, ids)
        seconds = time.perf_counter() - start
        kinds = Counter(m.kind for matches in found for m in matches)
        cleaned = Deduplicator(threshold, scope=scope).clean_many(texts, ids)
        removed = chars - sum(map(len, cleaned))
        print(
            f"| {scope} | {seconds:.2f} | {len(docs) / seconds:.0f} | {chars / seconds / 1e6:.2f} | "
            f"{kinds['within']} | {kinds['across']} | {sum(bool(m) for m in found)} | "
            f"{removed / chars:.1%} | {d.fingerprints} | {d.nbytes / 1e6:.1f} MB |"
        )
        if scope != "across":
            continue
        # How right the across matches are: exact containment of each reported pair of
        # spans (a match's similarity is a containment).
        values = np.array(
            [
                exact_containment(text[m.start : m.end], by_id[m.source_id][m.source_start : m.source_end])
                for text, matches in zip(texts, found)
                for m in matches
                if m.kind == "across"
            ]
        )
        if len(values):
            print(
                f"  across matches: {len(values)}; exact containment >= {threshold}: "
                f"{(values >= threshold).mean():.3f}, >= {threshold - 0.1:.1f}: {(values >= threshold - 0.1).mean():.3f}, "
                f"min {values.min():.3f}"
            )
        # Exact-duplicate articles (truth J = 1): how much of the later copy is removed.
        truth = read_pairs(path.with_name(path.name.replace(".jsonl", ".pairs-k5.tsv")))
        position = {i: k for k, i in enumerate(ids)}
        shares = []
        for (a, b), j in truth.items():
            if j == 1.0 and a in position and b in position:
                later = max(position[a], position[b])
                shares.append(1 - len(cleaned[later]) / max(1, len(texts[later])))
        shares = np.array(shares)
        print(
            f"  exact-duplicate article pairs: {len(shares)}; share of the later copy removed: mean {shares.mean():.3f}, "
            f"min {shares.min():.3f}; >= 90% removed: {(shares >= 0.9).sum()}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, action="append", default=[], help="JSONL with a .pairs-k5.tsv beside it")
    parser.add_argument("--paragraphs", type=Path, help="debian-docs-nl.jsonl")
    parser.add_argument("--thresholds", type=float, nargs="+", default=[0.5, 0.7, 0.9])
    parser.add_argument("--paragraph-threshold", type=float, default=0.8)
    parser.add_argument("--num-perm", type=int, default=128, help="signature size of the document level")
    parser.add_argument("--min-length", type=int, nargs="+", default=[8], help="Deduplicator min_length (words)")
    args = parser.parse_args()
    for path in args.corpus:
        documents(path, args.thresholds, args.num_perm)
    for path in args.corpus:
        streaming(path, args.paragraph_threshold)
    if args.paragraphs:
        for min_length in args.min_length:
            paragraph_level(args.paragraphs, args.paragraph_threshold, min_length)


if __name__ == "__main__":
    main()
