"""Peak memory of ``dedup.clean`` on one large text, measured in a fresh subprocess per size.

    python benchmarks/bench_memory.py --corpus ../shared/corpora/bbc-en.jsonl --sizes 5 20 50
    python benchmarks/bench_memory.py --synthetic zh --sizes 5 20 50
    python benchmarks/bench_memory.py --shape single-word --sizes 3 6 12 24 48

The text is built from the corpus articles, joined by blank lines, until it reaches the
size (UTF-8 megabytes). ``--synthetic`` writes the articles instead: ``han`` (random Han characters: one
token per 3 bytes), ``short-words`` (random words of 1-4 letters: about 3.6 bytes per
token), the hardest cases for memory per byte of text that real text comes near;
``letters`` (one letter or digit per word: 2 bytes per token), the extreme; or
``zh``, ``ja``, ``th`` (``lib/scripts_corpus.py``: sentences from a few dozen templates, so
nearly every sentence repeats parts of earlier ones: a stress test of the engine's
speed more than of its memory). Beyond the corpus, every later pass over it replaces every 4th
word of each article with a numbered variant, so that no word 5-gram repeats an earlier
pass (the text stays mostly new text, not the corpus pasted five times); every 20th
article is pasted a second time, re-flowed into one paragraph, as a scraper would.

``--shape`` builds one text of a shape made to be slow or big instead (``SHAPES``: a
single line, a single word, one-letter words, one token or "ab" again and again, and
paragraphs drawn again and again from a small pool); "CPU x per doubling" then says how
the CPU time grows with the size.

Each size runs in its own subprocess: it reads the text, records its resident memory,
resets the kernel's peak counter (``/proc/self/clear_refs``; Linux), runs ``clean`` and
reads the peak (``VmHWM``). "peak extra" is that peak minus the memory before ``clean``
(the interpreter, NumPy and the text itself): what ``clean`` needs on top of its input.
Another fresh process measures ``dedup.text.tokenize`` alone the same way: the first
stage's share, to tell which stage sets the peak.
The output's SHA-256 is printed so that a memory change can be checked to keep the output.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time

from lib.corpus import load_texts
from lib.measure import machine_line
from lib.soup import RANDOM_WORDS, SHAPES, build_text, synthetic_articles
from lib.tables import print_table


CHILD = """
import hashlib, sys, time
import dedup
from dedup.text import tokenize

def status(field):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0

with open(sys.argv[1], encoding="utf-8") as fh:
    text = fh.read()
dedup.clean("warm up the imports and tables. " * 50)
before = status("VmRSS")
with open("/proc/self/clear_refs", "w") as fh:
    fh.write("5")  # the peak (VmHWM) counts from here
started, cpu_started = time.perf_counter(), time.process_time()
if sys.argv[2] == "tokenize":  # the first stage alone: its share of the peak
    tokens = tokenize([text])
    out = ""
else:
    out = dedup.clean(text)
seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
peak = status("VmHWM")
print(before, peak, seconds, cpu, len(out), hashlib.sha256(out.encode("utf-8", "surrogatepass")).hexdigest())
"""


def measure(path: str, stage: str = "clean") -> tuple[int, int, float, float, int, str]:
    """(RSS before, peak RSS, seconds, CPU seconds, output length, output SHA-256) of one stage in a fresh process."""
    done = subprocess.run([sys.executable, "-c", CHILD, path, stage], capture_output=True, text=True, check=True)
    before, peak, seconds, cpu, length, digest = done.stdout.split()
    return int(before), int(peak), float(seconds), float(cpu), int(length), digest


def growth_per_doubling(cpu: float, size: float, previous_cpu: float, previous_size: float) -> float:
    """How many times the CPU time grows when the text doubles, between two sizes."""
    return (cpu / previous_cpu) ** (math.log(2) / math.log(size / previous_size))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--corpus", help="JSONL corpus with a text field")
    source.add_argument("--synthetic", choices=["zh", "ja", "th", *RANDOM_WORDS], help="generated articles instead")
    source.add_argument("--shape", choices=SHAPES, help="one text of one shape built to be slow or big (see SHAPES)")
    parser.add_argument("--sizes", type=float, nargs="+", default=[5, 20, 50], help="text sizes in UTF-8 MB")
    parser.add_argument("--json", help="also write the rows here")
    args = parser.parse_args(argv)
    if args.shape:
        texts = []
    elif args.corpus:
        texts = load_texts(args.corpus)[1]
    else:
        texts = synthetic_articles(args.synthetic, max(args.sizes))
    print(machine_line())
    print("text:", args.corpus or f"synthetic {args.synthetic}" if not args.shape else f"shape {args.shape}: {SHAPES[args.shape][0]}")
    rows, records = [], []
    with tempfile.TemporaryDirectory(prefix="dedup-bench-memory-") as workdir:
        for megabytes in args.sizes:
            text = SHAPES[args.shape][1](int(megabytes * 1e6)) if args.shape else build_text(texts, megabytes)
            utf8 = len(text.encode("utf-8"))
            path = os.path.join(workdir, "text.txt")
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(text)
            str_bytes, chars = sys.getsizeof(text), len(text)
            del text
            token_before, token_peak, *_ = measure(path, "tokenize")
            before, peak, seconds, cpu, length, digest = measure(path)
            growth = growth_per_doubling(cpu, utf8, *records[-1]["cpu_and_size"]) if records else None
            extra, token_extra = peak - before, token_peak - token_before
            rows.append([
                f"{utf8 / 1e6:.1f}", f"{str_bytes / 1e6:.1f}", f"{before / 1e6:.0f}", f"{peak / 1e6:.0f}",
                f"{extra / 1e6:.0f}", f"{extra / utf8:.1f}x", f"{token_extra / utf8:.1f}x", f"{seconds:.1f}",
                f"{cpu:.1f}", "" if growth is None else f"{growth:.2f}x",
                f"{1 - length / chars:.1%}", digest[:12],
            ])
            records.append({"utf8_bytes": utf8, "before": before, "peak": peak, "tokenize_peak_extra": token_extra,
                            "seconds": seconds, "cpu_seconds": cpu, "sha256": digest, "cpu_and_size": (cpu, utf8)})
            print(" | ".join(rows[-1]), flush=True)  # a long run keeps what it measured so far
            time.sleep(0.5)
    print_table(rows, ["text MB (UTF-8)", "str MB", "RSS before MB", "peak MB", "peak extra MB",
                       "extra / text", "tokenize alone: extra / text", "seconds",
                       "CPU s", "CPU x per doubling", "removed", "output sha256"])
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(records, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
