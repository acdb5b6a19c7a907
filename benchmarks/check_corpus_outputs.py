"""Check: ``dedup.clean`` on real corpora, before and after an engine change (issue 19).

Two checks on JSONL corpora (``id`` and ``text``):

- ``outputs``: ``clean`` of every text, written as JSONL (corpus, id, output) so that
  two runs (two checkouts, e.g. ``PYTHONPATH=<old checkout>/src``) can be compared with
  ``--compare OLD NEW``, which lists every document whose output changed;
- ``doubled``: every article that ``clean`` leaves alone and that has 30 words or more,
  pasted again after itself, once as it is ("same") and once with its line breaks run
  together ("merged"), after a blank line, a line break or a space; counts the cases
  whose output is not the article, character for character, and prints them.

Usage::

    python benchmarks/check_corpus_outputs.py outputs ../shared/corpora/*.jsonl --out new.jsonl
    python benchmarks/check_corpus_outputs.py --compare old.jsonl new.jsonl
    python benchmarks/check_corpus_outputs.py doubled ../shared/corpora/*.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from pathlib import Path

from lib.corpus import load_texts

import dedup


def outputs(paths: list[str], out: str) -> None:
    with open(out, "w", encoding="utf-8") as handle:
        for path in paths:
            ids, texts = load_texts(path)
            for doc_id, cleaned in zip(ids, dedup.clean_many(texts)):
                handle.write(json.dumps({"corpus": Path(path).name, "id": doc_id, "output": cleaned}, ensure_ascii=False) + "\n")


def compare(old: str, new: str) -> None:
    def read(path):
        with open(path, encoding="utf-8") as handle:
            return {(r["corpus"], r["id"]): r["output"] for r in map(json.loads, handle)}

    before, after = read(old), read(new)
    if before.keys() != after.keys():
        raise SystemExit(f"{old} and {new} hold other documents")
    changed = [key for key in before if before[key] != after[key]]
    for corpus, doc_id in changed:
        a, b = before[(corpus, doc_id)], after[(corpus, doc_id)]
        start = next((k for k, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
        print(f"{corpus} {doc_id}: {len(a)} -> {len(b)} characters, first difference at {start}: "
              f"{a[max(0, start - 40):start + 40]!r} -> {b[max(0, start - 40):start + 40]!r}")
    print(f"{len(changed)} of {len(before)} documents changed")


def doubled(paths: list[str], seed: int) -> None:
    rng = random.Random(seed)
    for path in paths:
        ids, texts = load_texts(path)
        missed = total = 0
        for doc_id, text in zip(ids, texts):
            body = text.strip()
            if len(body.split()) < 30 or dedup.clean(body) is not body:
                continue
            for kind, copy in (("same", body), ("merged", re.sub(r"\s*\n\s*", " ", body))):
                separator = rng.choice(["\n\n", "\n", " "])
                cleaned = dedup.clean(body + separator + copy)
                total += 1
                if cleaned != body:
                    missed += 1
                    left = cleaned[len(body):] if cleaned.startswith(body) else f"(article changed: {len(body)} -> {len(cleaned)} characters)"
                    print(f"  {Path(path).name} {doc_id} {kind} {separator!r}: {left[:80]!r}")
        print(f"{Path(path).name}: {missed} of {total} doubled articles not restored exactly")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("check", nargs="?", choices=["outputs", "doubled"])
    parser.add_argument("corpora", nargs="*")
    parser.add_argument("--out", help="outputs: the JSONL file to write")
    parser.add_argument("--compare", nargs=2, metavar=("OLD", "NEW"), help="list the documents whose outputs differ")
    parser.add_argument("--seed", type=int, default=0, help="doubled: seed of the separators")
    args = parser.parse_args(argv)
    if args.compare:
        compare(*args.compare)
    elif args.check == "outputs":
        if not args.out:
            parser.error("outputs needs --out")
        outputs(args.corpora, args.out)
    elif args.check == "doubled":
        doubled(args.corpora, args.seed)
    else:
        parser.error("give a check (outputs, doubled) or --compare OLD NEW")
    return 0


if __name__ == "__main__":
    sys.exit(main())
