"""Benchmark: ``dedup.text.tokenize`` per mode, on a corpus and on synthetic Chinese/Japanese/Thai.

CPU time (``time.process_time``, best of ``--repeat``, modes interleaved), so other
processes on a shared machine disturb the figures less than wall-clock time would.
To compare with another version of dedup, run the same command with that version's
``src`` first on ``PYTHONPATH``.

Usage::

    python benchmarks/bench_tokenize.py --corpus ../shared/corpora/dpg-nl.jsonl --repeat 15
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import sys
import time
from pathlib import Path

from lib.corpus import load_texts
from lib.measure import machine_line
from lib.scripts_corpus import articles
from lib.tables import print_table

import dedup
from dedup.text import tokenize


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", action="append", default=[], help="JSONL corpus (repeatable)")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--articles", type=int, default=1000, help="synthetic articles per language")
    args = parser.parse_args(argv)
    sets = [(Path(c).name, load_texts(c)[1]) for c in args.corpus]
    sets += [(f"synthetic {lang}", articles(lang, args.articles)) for lang in ("zh", "ja", "th")]
    modes = list(dedup.text.TOKEN_MODES)  # ("word", "char") before auto mode existed
    print(machine_line())
    print(f"dedup from {Path(dedup.__file__).parent}")
    rows = []
    for name, texts in sets:
        chars = sum(map(len, texts))
        best = dict.fromkeys(modes, float("inf"))
        counts = {}
        for _ in range(args.repeat):
            for mode in modes:
                started = time.process_time()
                tokens = tokenize(texts, mode)
                best[mode] = min(best[mode], time.process_time() - started)
                counts[mode] = len(tokens.hashes)
        for mode in modes:
            rows.append([name, mode, f"{chars / 1e6:.2f}", f"{counts[mode]:,}", f"{best[mode] * 1000:.1f}",
                         f"{chars / best[mode] / 1e6:.0f}", f"{best[mode] / best['word']:.2f}"])
    print_table(rows, ["texts", "mode", "M chars", "tokens", "CPU ms", "M chars/s", "time / word mode"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
