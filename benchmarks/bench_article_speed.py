"""Speed of the engine on short articles, to compare two versions of dedup in one session.

    PYTHONPATH=/path/to/checkout/src python benchmarks/bench_article_speed.py --corpus ../shared/corpora/dpg-nl.jsonl

The first ``--limit`` articles go through ``Deduplicator().clean`` one per call, then
through ``clean_many``. Prints articles per CPU second of each, and a hash of each output
(two versions that produce the same text print the same hashes). Run it alternately with
``PYTHONPATH`` pointing at each checkout: the machine is shared, so compare runs made
side by side.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time

import dedup
from lib.corpus import load_texts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", required=True, help="JSONL corpus with a text field")
    parser.add_argument("--limit", type=int, default=3000, help="articles to use (default 3000)")
    args = parser.parse_args(argv)
    texts = load_texts(args.corpus, args.limit)[1]
    deduplicator = dedup.Deduplicator()
    started = time.process_time()
    streamed = [deduplicator.clean(text) for text in texts]
    stream_seconds = time.process_time() - started
    started = time.process_time()
    batch = dedup.clean_many(texts)
    batch_seconds = time.process_time() - started

    def digest(outputs: list[str]) -> str:
        return hashlib.sha256("\x00".join(outputs).encode("utf-8", "surrogatepass")).hexdigest()[:12]

    print(
        f"dedup at {dedup.__file__}: Deduplicator {len(texts) / stream_seconds:,.0f} articles/s ({digest(streamed)}), "
        f"clean_many {len(texts) / batch_seconds:,.0f} articles/s ({digest(batch)})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
