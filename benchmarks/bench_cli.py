"""Throughput of ``dedup clean`` against calling the library in a loop in one process.

Three ways to clean the text field of a JSONL corpus, all writing a JSONL file:

* ``library loop``: the script a user would write: read lines, ``json.loads``,
  ``dedup.clean(text)``, ``json.dumps``, write (one process, no command);
* ``library batched``: the same with ``dedup.clean_many`` over batches of 64 texts;
* ``dedup.cli.main`` in this process: the command's own work per document (reading,
  validating, chunking, writing) without interpreter start-up;
* ``dedup clean --jobs N``: the real command in a subprocess (interpreter start-up,
  argument parsing, atomic output and the summary included).

CLI overhead = CLI time / library-loop time - 1 (negative: the command is faster).
The corpus can be repeated (``--repeat``) so that start-up costs do not dominate on a
small file; copies do not interact with ``--scope within``.

Usage::

    nice python benchmarks/bench_cli.py --corpus /work/shared/corpora/dpg-nl.jsonl --repeat 4
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import dedup
from lib.measure import best_wall_of

SRC = str(Path(dedup.__file__).resolve().parent.parent)


def library_loop(path: str, out: str, batch: int | None) -> int:
    count = 0
    with open(path, "rb") as source, open(out, "w", encoding="utf-8") as sink:
        rows = (json.loads(line) for line in source if line.strip())
        if batch is None:
            for row in rows:
                row["text"] = dedup.clean(row["text"])
                sink.write(json.dumps(row, ensure_ascii=False) + "\n")
                count += 1
            return count
        pending: list[dict] = []

        def flush() -> None:
            for row, text in zip(pending, dedup.clean_many([r["text"] for r in pending])):
                row["text"] = text
                sink.write(json.dumps(row, ensure_ascii=False) + "\n")

        for row in rows:
            pending.append(row)
            count += 1
            if len(pending) == batch:
                flush()
                pending = []
        flush()
    return count


def cli(path: str, out: str, jobs: int) -> None:
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    subprocess.run(
        [sys.executable, "-m", "dedup", "clean", path, "-o", out, "--jobs", str(jobs), "--quiet"],
        check=True, env=env,
    )





CPU: dict = {}


def cli_in_process(path: str, out: str, jobs: int) -> None:
    """The command's own code, without interpreter start-up: isolates its per-document cost."""
    from dedup.cli import main as cli_main

    assert cli_main(["clean", path, "-o", out, "--jobs", str(jobs), "--quiet"]) == 0


def best_wall(runs: int, function, *args) -> float:
    """Best wall-clock time of ``runs``; the CPU time of that run goes to ``CPU[function, args]``."""
    timing = best_wall_of(lambda: function(*args), runs)
    CPU[(function, args)] = timing.cpu
    return timing.wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", required=True, help="JSONL file with a 'text' field")
    parser.add_argument("--repeat", type=int, default=1, help="concatenate the corpus this many times")
    parser.add_argument("--runs", type=int, default=3, help="take the best of this many runs")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(args.corpus).read_bytes()
        path = os.path.join(tmp, "corpus.jsonl")
        Path(path).write_bytes(data * args.repeat)
        docs = sum(1 for line in (data * args.repeat).splitlines() if line.strip())
        mb = len(data) * args.repeat / 1e6
        print(f"corpus: {args.corpus} x{args.repeat}: {docs:,} documents, {mb:.1f} MB; best of {args.runs} runs")
        dedup.clean("warm up the lookup tables once, as the command does at start-up")

        results, cpu = {}, {}
        for name, batch, out in (("library loop (clean per text)", None, "a.jsonl"),
                                 ("library batched (clean_many, 64)", 64, "b.jsonl")):
            call = (path, os.path.join(tmp, out), batch)
            results[name] = best_wall(args.runs, library_loop, *call)
            cpu[name] = CPU[(library_loop, call)]
        call = (path, os.path.join(tmp, "inproc.jsonl"), 1)
        results["dedup.cli.main in process, --jobs 1"] = best_wall(args.runs, cli_in_process, *call)
        cpu["dedup.cli.main in process, --jobs 1"] = CPU[(cli_in_process, call)]
        # Fixed cost of one command: interpreter, imports, lookup tables, one document.
        tiny = os.path.join(tmp, "one.jsonl")
        Path(tiny).write_bytes(data.splitlines(keepends=True)[0])
        startup = best_wall(args.runs, cli, tiny, os.path.join(tmp, "one.out.jsonl"), 1)
        startup_cpu = CPU[(cli, (tiny, os.path.join(tmp, "one.out.jsonl"), 1))]
        outputs = {}
        for jobs in args.jobs:
            out = os.path.join(tmp, f"cli{jobs}.jsonl")
            results[f"dedup clean --jobs {jobs}"] = best_wall(args.runs, cli, path, out, jobs)
            cpu[f"dedup clean --jobs {jobs}"] = CPU[(cli, (path, out, jobs))]
            outputs[jobs] = Path(out).read_bytes()
        same = len(set(outputs.values())) == 1
        library_texts = [json.loads(line)["text"] for line in Path(os.path.join(tmp, "a.jsonl")).read_bytes().splitlines()]
        cli_texts = [json.loads(line)["text"] for line in next(iter(outputs.values())).splitlines()]

        base = results["library loop (clean per text)"]
        batched = results["library batched (clean_many, 64)"]
        print(f"{'method':36s} {'seconds':>8s} {'docs/s':>8s} {'MB/s':>6s} {'vs loop':>8s} {'vs batched':>10s}"
              f" {'CPU s':>6s} {'CPU vs batched':>14s}")
        for name, seconds in results.items():
            print(f"{name:36s} {seconds:8.2f} {docs / seconds:8.0f} {mb / seconds:6.2f} "
                  f"{seconds / base - 1:+8.1%} {seconds / batched - 1:+10.1%}"
                  f" {cpu[name]:6.2f} {cpu[name] / cpu['library batched (clean_many, 64)'] - 1:+14.1%}")
        print(f"fixed cost of one command (start-up, imports, tables; 1 document): {startup:.2f} s, {startup_cpu:.2f} s CPU")
        for jobs in args.jobs:
            seconds = results[f"dedup clean --jobs {jobs}"] - startup
            print(f"dedup clean --jobs {jobs} without the fixed cost: {seconds:.2f} s, "
                  f"{seconds / base - 1:+.1%} vs loop, {seconds / batched - 1:+.1%} vs batched; CPU "
                  f"{cpu[f'dedup clean --jobs {jobs}'] - startup_cpu:.2f} s, "
                  f"{(cpu[f'dedup clean --jobs {jobs}'] - startup_cpu) / cpu['library batched (clean_many, 64)'] - 1:+.1%} vs batched")
        print(f"CLI outputs identical for --jobs {args.jobs}: {same}; CLI texts == library texts: {cli_texts == library_texts}")


if __name__ == "__main__":
    main()
