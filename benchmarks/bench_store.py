"""The on-disk store (``Deduplicator(store=path)``, SQLite) against the in-memory one, in
the same run (issue 17, target 4: the on-disk store at >= 50% of the in-memory speed).

Streams of :mod:`lib.streams` (``--kinds``) built from ``--corpus`` files and
``--generated`` articles, and with ``--zipf N`` a stream of N made-up 500-word articles
with 5% planted near-copies (:mod:`lib.zipf_corpus`, as ``bench_scale.py``). For each
stream and each store, in a new process: ``Deduplicator(scope="across", store=...)``
takes the stream in batches of ``--batch`` (``add_many``: every article new to the
store), then the same texts again under new ids (every article seen: a whole copy of
one the store holds, the store's look-ups and reads of stored texts at their busiest).
With ``--one-by-one N``, a third pass: the first N articles into a new store of each kind
one at a time (``Deduplicator.add``: a transaction and an index update per article).
With ``--cli``, the command instead: ``dedup clean STREAM --scope across -j 1`` with
``--state FILE`` (memory, loaded and saved whole) against ``--store FILE`` (on disk), the
stream into a new memory, then the same texts under new ids into it; wall seconds and
the command's peak resident memory, and the outputs must be byte-identical.
Wall and CPU seconds of each pass, best of ``--runs`` interleaved runs; the matches
found must be the same with both stores (sha256 of every match's spans and source).

Usage::

    python benchmarks/bench_store.py --corpus ../shared/corpora/bbc-en.jsonl \\
        --corpus ../shared/corpora/dpg-nl.jsonl --kinds fresh near30 --zipf 20000 --runs 3
    python benchmarks/bench_store.py --kinds --zipf 100000 --cli --runs 1
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lib import streams
from lib.measure import machine_line, peak_rss_megabytes
from lib.tables import print_table
from lib.zipf_corpus import generate_texts

STORES = ("memory", "sqlite")
PHASES = ("new", "seen", "one")  # the first two always; "one" with --one-by-one


def match_digest(found) -> str:
    """sha256 (12 hex digits) of every article's matches: spans, source id and source span."""
    spans = [[(m.start, m.end, m.source_id, m.source_start, m.source_end) for m in matches] for matches in found]
    return hashlib.sha256(repr(spans).encode()).hexdigest()[:12]


def child(path: str, store: str, batch: int, one_by_one: int = 0) -> dict:
    """Both passes over the stream in ``path`` (JSONL), with the store ``store`` (and the
    one-by-one pass over its first ``one_by_one`` articles)."""
    import dedup

    with open(path, encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle]
    texts, ids = [r["text"] for r in records], [r["id"] for r in records]
    dedup.clean("warm up the tokenizer's tables before timing")
    with tempfile.TemporaryDirectory() as folder:
        where = None if store == "memory" else str(Path(folder) / "state.sqlite")
        deduplicator = dedup.Deduplicator(scope="across", store=where)
        out = {}
        for name, pass_ids in (("new", ids), ("seen", [f"again-{i}" for i in ids])):
            wall, cpu = time.perf_counter(), time.process_time()
            found = []
            for lo in range(0, len(texts), batch):
                found += deduplicator.add_many(texts[lo : lo + batch], pass_ids[lo : lo + batch])
            out[name] = {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu, "digest": match_digest(found)}
        deduplicator.close()
        if one_by_one:
            where = None if store == "memory" else str(Path(folder) / "one-by-one.sqlite")
            deduplicator = dedup.Deduplicator(scope="across", store=where)
            wall, cpu = time.perf_counter(), time.process_time()
            found = [deduplicator.add(text, doc_id=doc_id) for text, doc_id in zip(texts[:one_by_one], ids)]
            out["one"] = {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu, "digest": match_digest(found)}
            deduplicator.close()
    out["peak_mb"] = peak_rss_megabytes()
    return out


# Runs the command after it and prints its wall seconds, its peak resident memory and,
# sampled every 0.2 s, the peaks of its private memory (RssAnon) and of the file pages it
# has mapped (RssFile: a store's index, which the system can drop under pressure).
_MEASURED = (
    "import json, re, resource, subprocess, sys, time\n"
    "started = time.perf_counter()\n"
    "child = subprocess.Popen(sys.argv[1:])\n"
    "peaks = {'RssAnon': 0, 'RssFile': 0}\n"
    "while child.poll() is None:\n"
    "    try:\n"
    "        status = open(f'/proc/{child.pid}/status').read()\n"
    "        for name in peaks:\n"
    "            peaks[name] = max(peaks[name], int(re.search(name + r':\\s+(\\d+)', status).group(1)))\n"
    "    except (OSError, AttributeError):\n"
    "        pass\n"
    "    time.sleep(0.2)\n"
    "assert child.returncode == 0, child.returncode\n"
    "print(json.dumps({'wall': time.perf_counter() - started,\n"
    "                  'peak_mb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,\n"
    "                  'anon_mb': peaks['RssAnon'] / 1024, 'file_mb': peaks['RssFile'] / 1024}))\n"
)
CLI_MEMORY = {"memory": "--state", "sqlite": "--store"}


def cli_child(path: Path, store: str, checkpoint_every: int = 0) -> dict:
    """``dedup clean`` over the stream in ``path`` into a new memory of kind ``store``, then
    over the same texts under new ids: wall seconds, peak MB and sha256 of each output."""
    again = path.with_name(path.stem + "-again.jsonl")
    if not again.exists():
        with open(path, encoding="utf-8") as source, open(again, "w", encoding="utf-8") as sink:
            for line in source:
                record = json.loads(line)
                sink.write(json.dumps(dict(record, id=f"again-{record['id']}")) + "\n")
    out = {}
    with tempfile.TemporaryDirectory() as folder:
        memory = str(Path(folder) / "memory.sqlite")
        for name, stream in (("new", path), ("seen", again)):
            output = Path(folder) / f"{name}.jsonl"
            command = [sys.executable, "-m", "dedup", "clean", str(stream), "-o", str(output), "--scope", "across",
                       "-j", "1", "-q", CLI_MEMORY[store], memory]
            if checkpoint_every:
                command += ["--checkpoint-every", str(checkpoint_every)]
            done = subprocess.run([sys.executable, "-c", _MEASURED, *command], check=True, capture_output=True, text=True)
            out[name] = json.loads(done.stdout)
            out[name]["digest"] = hashlib.sha256(output.read_bytes()).hexdigest()[:12]
    return out


def cli_table(paths: dict[str, Path], counts: dict[str, int], runs: int, stores: list[str],
              checkpoint_every: int = 0) -> bool:
    """The ``--cli`` comparison: prints its table; whether the outputs agree."""
    best: dict[tuple[str, str], dict] = {}
    for _ in range(runs):
        for name, path in paths.items():
            for store in stores:
                result = cli_child(path, store, checkpoint_every)
                kept = best.setdefault((name, store), result)
                for phase in ("new", "seen"):
                    if result[phase]["wall"] < kept[phase]["wall"]:
                        kept[phase] = result[phase]
    rows, same_everywhere = [], True
    for name, docs in counts.items():
        memory = best[(name, stores[0])]
        for store in stores:
            result = best[(name, store)]
            row = [name, f"{docs:,}", f"{CLI_MEMORY[store]} FILE"]
            for phase in ("new", "seen"):
                wall = result[phase]["wall"]
                row += [f"{wall:.1f}", f"{docs / wall:,.0f}", f"{memory[phase]['wall'] / wall:.0%}",
                        f"{result[phase]['peak_mb']:,.0f}", f"{result[phase]['anon_mb']:,.0f}",
                        f"{result[phase]['file_mb']:,.0f}"]
            same = all(result[phase]["digest"] == memory[phase]["digest"] for phase in ("new", "seen"))
            same_everywhere &= same
            rows.append(row + ["yes" if same else "NO"])
    header = ["stream", "docs", "memory"]
    for phase in ("new", "seen"):
        header += [f"{phase}: wall s", "docs/s", f"speed of {CLI_MEMORY[stores[0]]}", "peak MB", "private MB",
                   "file pages MB"]
    print_table(rows, [*header, "same outputs"])
    return same_everywhere


def write_zipf(n: int, path: Path) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        for k, text in enumerate(generate_texts(n, 500, 0.05, 3)):
            handle.write(json.dumps({"id": f"zipf-{k}", "text": text}) + "\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", action="append", default=[], help="JSONL corpus with id and text (repeatable)")
    parser.add_argument("--limit", type=int, default=0, help="first N articles of each corpus (0: all)")
    parser.add_argument("--generated", nargs="*", default=[], help="generated articles, e.g. zh=200 words=200")
    parser.add_argument("--kinds", nargs="*", choices=streams.KINDS, default=["fresh", "near30"])
    parser.add_argument("--zipf", type=int, default=0, help="also a stream of N made-up 500-word articles")
    parser.add_argument("--batch", type=int, default=2048, help="articles per add_many call (default 2048)")
    parser.add_argument("--runs", type=int, default=2, help="best of N interleaved runs (default 2)")
    parser.add_argument("--one-by-one", type=int, default=0, metavar="N",
                        help="also add the first N articles of each stream one at a time")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="/tmp/bench_store", help="folder for the streams")
    parser.add_argument("--stores", nargs="+", choices=STORES, default=list(STORES),
                        help="with --cli: the memories to measure (default both; the first is the one the others are compared to)")
    parser.add_argument("--cli", action="store_true",
                        help="measure the command: dedup clean --state FILE against --store FILE")
    parser.add_argument("--checkpoint-every", type=int, default=0, metavar="N",
                        help="with --cli: give the command --checkpoint-every N")
    parser.add_argument("--child", nargs=2, metavar=("PATH", "STORE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child[0], args.child[1], args.batch, args.one_by_one)))
        return 0
    if not (args.corpus or args.generated) and not args.zipf:
        raise SystemExit("give --corpus and/or --generated, or --zipf")
    print(f"command: {shlex.join([Path(sys.executable).name, *sys.argv])}")
    print(f"machine: {machine_line()}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    counts: dict[str, int] = {}  # documents of each stream
    if args.kinds and (args.corpus or args.generated):
        sources = streams.source_articles(args.corpus, args.limit, streams.parse_generated(args.generated), args.seed)
        for kind in args.kinds:
            paths[kind] = out / f"{kind}.jsonl"
            stream = streams.build(kind, sources, args.seed)
            streams.write(stream, paths[kind])
            counts[kind] = len(stream)
    if args.zipf:
        name = f"zipf{args.zipf}"
        paths[name], counts[name] = out / f"{name}.jsonl", args.zipf
        write_zipf(args.zipf, paths[name])
    if args.cli:
        return 0 if cli_table(paths, counts, args.runs, args.stores, args.checkpoint_every) else 1
    best: dict[tuple[str, str], dict] = {}
    for _ in range(args.runs):
        for name, path in paths.items():
            for store in STORES:
                command = [sys.executable, __file__, "--child", str(path), store, "--batch", str(args.batch),
                           "--one-by-one", str(args.one_by_one)]
                result = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
                kept = best.setdefault((name, store), result)
                for phase in PHASES[: 3 if args.one_by_one else 2]:
                    if result[phase]["wall"] < kept[phase]["wall"]:
                        kept[phase] = result[phase]
    phases = PHASES[: 3 if args.one_by_one else 2]
    rows = []
    for name, docs in counts.items():
        memory = best[(name, "memory")]
        for store in STORES:
            result = best[(name, store)]
            row = [name, f"{docs:,}", store]
            for phase in phases:
                wall, cpu = result[phase]["wall"], result[phase]["cpu"]
                articles = min(docs, args.one_by_one) if phase == "one" else docs
                row += [f"{articles / wall:,.0f}", f"{memory[phase]['wall'] / wall:.0%}", f"{articles / cpu:,.0f}",
                        f"{memory[phase]['cpu'] / cpu:.0%}"]
            same = all(result[phase]["digest"] == memory[phase]["digest"] for phase in phases)
            row += [f"{result['peak_mb']:,.0f}", "yes" if same else "NO"]
            rows.append(row)
    header = ["stream", "docs", "store"]
    for phase in phases:
        label = {"new": "new", "seen": "seen", "one": "one by one"}[phase]
        header += [f"{label}/s", "of memory", f"{label}/CPU s", "of memory (CPU)"]
    print_table(rows, [*header, "peak MB", "same matches"])
    return 0 if all(row[-1] == "yes" for row in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
