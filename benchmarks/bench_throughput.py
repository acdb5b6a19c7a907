"""Throughput of ``dedup clean`` against dolma's paragraph dedup, CLI against CLI (issue 17).

Builds the streams of :mod:`lib.streams` (``fresh``, ``recur4``, ``near30``, ``boiler``,
``long``, ``short``, ``worst`` at one or more sizes) from ``--corpus`` files and generated
zh/ja/th/made-up-word articles, writes each as ``documents/stream.jsonl.gz`` under
``--out`` (outside the repository), and runs on that same file, wall clock, best of
``--runs``:

* ``dedup clean FILE -o OUT --quiet`` with ``--scope across`` and with the default scope,
  each with every ``--jobs`` value (``-j 1`` and ``-j 2``), checking that the outputs of
  the ``-j`` values are byte-identical (sha256);
* ``dolma dedupe`` with paragraphs by n-gram (13 words, overlap threshold 0.5, one
  process), a new bloom filter sized for the stream's words; the run counts only if its
  attributes file has one line per document.

It prints for each command its wall time and documents/s, "speed vs dolma" (dolma's time
over dedup's: above 1, dedup is faster), "speed vs -j 1", the CPU time of all its processes
(children's rusage: the numbers to trust on a busy machine, where wall time depends on what
else runs) with the same ratio in CPU, and the share of text characters removed (dolma: the
duplicate paragraph spans it marks; it writes only those spans, while ``dedup clean`` writes
the cleaned records). For ``worst`` at several sizes it prints how the time grows, and the
start-up cost of each command on a one-document stream. ``--dedup-python`` and
``--dedup-src`` (put first on ``PYTHONPATH``) choose the dedup that runs, so two checkouts
can be compared on the same streams.

``--library`` adds target 1: ``Deduplicator(scope="across").clean_many`` on the articles
of the corpora (the fresh stream without generated articles) as a share of
``dedup.text.tokenize`` on the same texts, and with ``workers=2`` when that dedup's
``Deduplicator`` takes ``workers``; each measure in a new child process of that dedup.

Usage (a few minutes on 2 busy cores; sizes are options)::

    /work/main/.venv/bin/python benchmarks/bench_throughput.py \\
        --corpus ../shared/corpora/bbc-en.jsonl --corpus ../shared/corpora/dpg-nl.jsonl \\
        --dolma /work/benchvenv/bin/dolma --library
    # another checkout, same streams:
    ... --dedup-src /path/to/old/src
    # how the worst case grows:
    ... --kinds worst --worst-docs 5000 10000 20000
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from lib import peers, streams
from lib.corpus import read_texts
from lib.measure import children_cpu, machine_line
from lib.tables import print_table

DEFAULT_GENERATED = ["zh=50", "ja=50", "th=50", "words=50"]
# Characters of scripts written without spaces: one word each for dolma's segmenter.
_UNSPACED = re.compile(r"[\u0e00-\u0e7f\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff]")


@dataclass
class Stream:
    name: str
    path: Path
    docs: int
    megabytes: float
    words: int  # an upper bound of dolma's n-grams, to size its bloom filter
    seconds: dict = field(default_factory=dict)  # (tool, scope, jobs) -> best wall seconds
    cpu: dict = field(default_factory=dict)  # (tool, scope, jobs) -> CPU seconds (all processes) of that run
    digests: dict = field(default_factory=dict)  # (scope, jobs) -> sha256 of the output
    removed: dict = field(default_factory=dict)  # (tool, scope) -> share of text characters removed


# ---------------------------------------------------------------- streams on disk


def write_stream(name: str, docs: list[streams.Doc], out: Path) -> Stream:
    """``docs`` as ``out/name/documents/stream.jsonl.gz`` (the layout dolma expects)."""
    folder = out / name / "documents"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "stream.jsonl.gz"
    size = streams.write(docs, path)
    words = sum(max(len(text.split()), len(_UNSPACED.findall(text))) for _, text in docs)
    return Stream(name, path, len(docs), size / 1e6, words)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ---------------------------------------------------------------- commands


def dedup_env(src: str | None) -> dict:
    env = dict(os.environ)
    if src:
        env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def describe_dedup(python: str, src: str | None) -> str:
    """Where the dedup that runs comes from: its package folder and git commit (+ "dirty")."""
    code = "import dedup, os; print(os.path.dirname(dedup.__file__))"
    folder = subprocess.run([python, "-c", code], env=dedup_env(src), check=True, capture_output=True, text=True)
    package = folder.stdout.strip()
    git = ["git", "-C", package]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run([*git, "status", "--porcelain", "--", "."], capture_output=True, text=True).stdout.strip()
    return f"{package} at {head or '?'}{' + uncommitted changes' if dirty else ''}"


def dedup_command(python: str, stream: Stream, out: Path, scope: str | None, jobs: int) -> list[str]:
    command = [python, "-m", "dedup", "clean", str(stream.path), "-o", str(out), "--quiet", "-j", str(jobs)]
    return command + (["--scope", scope] if scope else [])





def run(command: list[str], env: dict | None = None, log: Path | None = None) -> tuple[float, float]:
    """(wall seconds, CPU seconds of all its processes) of ``command``; its output goes to ``log``
    (or is dropped). Fails loudly."""
    with open(log or os.devnull, "w") as sink:
        cpu, started = children_cpu(), time.perf_counter()
        done = subprocess.run(command, env=env, stdout=sink, stderr=subprocess.STDOUT)
        seconds, cpu = time.perf_counter() - started, children_cpu() - cpu
    if done.returncode:
        tail = log.read_text()[-2000:] if log else ""
        raise SystemExit(f"failed ({done.returncode}): {shlex.join(command)}\n{tail}")
    return seconds, cpu


def keep_best(stream: Stream, key: tuple, timing: tuple[float, float]) -> None:
    """Keep the run with the least wall time (and its CPU time)."""
    if timing[0] < stream.seconds.get(key, float("inf")):
        stream.seconds[key], stream.cpu[key] = timing


def measure(stream: Stream, args, scopes: list[str | None], jobs: list[int] | None = None, runs: int = 0) -> None:
    """Best wall time of every command on ``stream`` over ``runs`` (default ``args.runs``) interleaved rounds."""
    env = dedup_env(args.dedup_src)
    folder = stream.path.parent.parent
    texts = read_texts(stream.path)
    for _ in range(runs or args.runs):
        for scope in scopes:
            for j in jobs or args.jobs:
                out = folder / f"out-{scope or 'default'}-j{j}.jsonl"
                keep_best(stream, ("dedup", scope, j), run(dedup_command(args.dedup_python, stream, out, scope, j), env))
                stream.digests[(scope, j)] = sha256(out)
                kept = sum(map(len, read_texts(out)))
                stream.removed[("dedup", scope)] = 1 - kept / max(1, sum(map(len, texts)))
        if args.dolma:
            peers.reset_dolma(stream.path)
            keep_best(stream, ("dolma", None, 1), run(peers.dolma_command(args.dolma, stream.path, stream.words, args.bloom_fp), log=folder / "dolma.log"))
            stream.removed[("dolma", None)] = peers.dolma_marked_share(stream.path, stream.docs, texts)


# ---------------------------------------------------------------- library mode (target 1)


MEASURES = ("tokenize", "across", "across workers=2")


def library_child(path: str, what: str) -> None:
    """In the dedup under test, one measure of :data:`MEASURES` on the texts of ``path``; prints JSON.

    One measure per process: the across pass keeps per-process caches (prepared sources,
    pair alignments by content), so a second run in the same process would be a warm one.
    """
    import dedup
    from dedup.text import tokenize

    texts = read_texts(path)
    dedup.clean("warm up the lookup tables once before timing")
    if what == "across workers=2" and "workers" not in inspect.signature(dedup.Deduplicator).parameters:
        print(json.dumps({"seconds": None}))
        return
    if what == "tokenize":  # no cache by text: best of 5 in this process (one call takes ~0.1 s)
        times = []
        for _ in range(5):
            started, cpu = time.perf_counter(), time.process_time()
            tokenize(texts)
            times.append((time.perf_counter() - started, time.process_time() - cpu))
        seconds, cpu = min(times)
        print(json.dumps({"seconds": seconds, "cpu": cpu}))
        return
    started, cpu = time.perf_counter(), time.process_time() + children_cpu()
    deduplicator = dedup.Deduplicator(scope="across", **({"workers": 2} if what.endswith("=2") else {}))
    outputs = deduplicator.clean_many(texts)
    getattr(deduplicator, "close", lambda: None)()  # workers joined: their CPU time counts
    seconds, cpu = time.perf_counter() - started, time.process_time() + children_cpu() - cpu
    digest = hashlib.sha256("\x00".join(outputs).encode("utf-8", "surrogatepass")).hexdigest()
    print(json.dumps({"seconds": seconds, "cpu": cpu, "digest": digest}))


def library(stream: Stream, args) -> list[list[str]]:
    """Rows of the library table: each measure in a new child process of the dedup under test, best of runs
    (wall and CPU time each); ``clean_many`` must give the same output every time."""
    best: dict[str, dict] = {}
    for _ in range(args.library_runs):
        for what in MEASURES:
            command = [args.dedup_python, __file__, "--library-child", str(stream.path), "--measure", what]
            done = subprocess.run(command, env=dedup_env(args.dedup_src), check=True, capture_output=True, text=True)
            result = json.loads(done.stdout.strip().splitlines()[-1])
            if result["seconds"] is None:
                continue
            if what in best:  # the least wall time and the least CPU time, each over the runs
                if best[what]["digest"] != result.get("digest", ""):
                    raise SystemExit(f"library {what}: output differs between runs")
                result["seconds"] = min(result["seconds"], best[what]["seconds"])
                result["cpu"] = min(result["cpu"], best[what]["cpu"])
            best[what] = {"digest": "", **result}
    tokenize = best["tokenize"]
    rows = []
    for what, call in (("tokenize", "dedup.text.tokenize(texts)"), ("across", 'Deduplicator(scope="across").clean_many(texts)'),
                       ("across workers=2", 'Deduplicator(scope="across", workers=2).clean_many(texts)')):
        if what in best:
            seconds, cpu = best[what]["seconds"], best[what]["cpu"]
            rows.append([f"`{call}`", f"{stream.docs / seconds:,.0f}", f"{tokenize['seconds'] / seconds:.1%}",
                         f"{stream.docs / cpu:,.0f}", f"{tokenize['cpu'] / cpu:.1%}", best[what]["digest"][:12]])
    if "across workers=2" in best:
        same = best["across"]["digest"] == best["across workers=2"]["digest"]
        print(f"library outputs workers=1 vs workers=2: {'identical' if same else 'DIFFERENT'}")
    return rows


# ---------------------------------------------------------------- report


def scope_label(scope: str | None) -> str:
    return scope or "default (both)"


def row(stream: Stream, key: tuple, scope: str, dolma: tuple | None, base: float | None, startup: dict) -> list:
    """A table row for the run ``key`` of ``stream``: wall and CPU speed, against dolma and -j 1.

    ``startup`` holds each tool's start-up CPU seconds: the last ratio leaves them out.
    """
    seconds, cpu = stream.seconds[key], stream.cpu[key]
    tool = "dedup clean" if key[0] == "dedup" else "dolma dedupe"
    work, dolma_work = cpu - startup[key[0]], dolma[1] - startup["dolma"] if dolma else 0.0
    return [
        stream.name, f"{stream.docs:,}", f"{stream.megabytes:.1f}", tool, scope, key[2],
        f"{seconds:.1f}", f"{stream.docs / seconds:,.0f}", f"{dolma[0] / seconds:.2f}" if dolma else "",
        f"{base / seconds:.2f}" if base else "",
        f"{cpu:.1f}", f"{stream.docs / cpu:,.0f}", f"{dolma[1] / cpu:.2f}" if dolma else "",
        f"{dolma_work / work:.2f}" if dolma and work > 0 and dolma_work > 0 else "",
        f"{stream.removed[key[:2]]:.1%}",
    ]  # fmt: skip


def report(measured: list[Stream], startup: Stream, args, scopes: list[str | None]) -> None:
    startup_scope = scopes[0]
    startup_cpu = {"dedup": startup.cpu[("dedup", startup_scope, args.jobs[0])], "dolma": startup.cpu.get(("dolma", None, 1), 0.0)}
    rows = []
    for stream in measured:
        key = ("dolma", None, 1)
        dolma = (stream.seconds[key], stream.cpu[key]) if key in stream.seconds else None
        for scope in scopes:
            base = stream.seconds[("dedup", scope, args.jobs[0])]
            for jobs in args.jobs:
                rows.append(row(stream, ("dedup", scope, jobs), scope_label(scope), dolma, base, startup_cpu))
        if dolma:
            rows.append(row(stream, key, "paragraphs, 13-grams", dolma, None, startup_cpu))
    header = ["stream", "docs", "MB", "command", "scope", "-j", "wall s", "docs/s", "speed vs dolma",
              f"speed vs -j {args.jobs[0]}", "CPU s", "docs/CPU s", "CPU speed vs dolma",
              "same, net of start-up", "text removed"]
    print()
    print_table(rows, header)
    print()
    fixed = [f"{tool} {startup.seconds[key]:.2f} s ({startup.cpu[key]:.2f} s CPU)"
             for key, tool in ((("dedup", startup_scope, args.jobs[0]), "dedup clean"), (("dolma", None, 1), "dolma dedupe"))
             if key in startup.seconds]
    print(f"- start-up (wall time on a one-document stream, best of 3): {', '.join(fixed)}")
    for stream in measured if len(args.jobs) > 1 else []:
        for scope in scopes:
            digests = {stream.digests[(scope, jobs)] for jobs in args.jobs}
            verdict = "byte-identical" if len(digests) == 1 else "DIFFERENT"
            listed = ", ".join(f"-j {j}: {stream.digests[(scope, j)][:12]}" for j in args.jobs)
            print(f"- {stream.name}, {scope_label(scope)}: outputs {verdict} (sha256 {listed})")
    worst = [s for s in measured if s.name.startswith("worst")]
    for previous, current in zip(worst, worst[1:]):
        growth = []
        for key in [("dedup", scope, args.jobs[0]) for scope in scopes] + [("dolma", None, 1)]:
            if key in current.seconds:
                name = "dolma" if key[0] == "dolma" else f"dedup {scope_label(key[1])} -j {key[2]}"
                # Per-document CPU time of the documents added to the stream, against the first ones.
                added = (current.cpu[key] - previous.cpu[key]) / (current.docs - previous.docs)
                growth.append(f"{name} x{current.cpu[key] / previous.cpu[key]:.2f} "
                              f"(wall x{current.seconds[key] / previous.seconds[key]:.2f}; "
                              f"added documents x{added / (previous.cpu[key] / previous.docs):.2f} per document)")
        print(f"- {previous.name} -> {current.name} (x{current.docs / previous.docs:.1f} documents): "
              f"CPU time {', '.join(growth)}")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", action="append", default=[], help="JSONL corpus with id and text (repeatable)")
    parser.add_argument("--limit", type=int, default=400, help="first N articles of each corpus (0: all; default 400)")
    parser.add_argument("--generated", nargs="*", default=DEFAULT_GENERATED,
                        help=f"generated articles LANG=N, LANG in {', '.join(streams.GENERATED)} "
                             f"(default: {' '.join(DEFAULT_GENERATED)})")
    parser.add_argument("--kinds", nargs="+", choices=streams.KINDS, default=list(streams.KINDS))
    parser.add_argument("--worst-docs", type=int, nargs="+", default=[1500], help="sizes of the worst stream (default 1500)")
    parser.add_argument("--recur", type=int, default=4,
                        help="times each article occurs in all in the recur stream (default 4: the original and 3 copies)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="/tmp/bench_throughput", help="folder for streams and outputs (emptied)")
    parser.add_argument("--dedup-python", default=sys.executable, help="python that runs `-m dedup` (default: this one)")
    parser.add_argument("--dedup-src", help="put this folder first on PYTHONPATH of dedup (another checkout's src)")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2], help="-j values (default 1 2; first is the base)")
    parser.add_argument("--scopes", nargs="+", choices=["across", "default"], default=["across", "default"])
    parser.add_argument("--runs", type=int, default=1, help="best of N interleaved runs (default 1)")
    parser.add_argument("--dolma", help="the dolma command (e.g. /work/benchvenv/bin/dolma); without it, no dolma")
    parser.add_argument("--bloom-fp", type=float, default=1e-4, help="dolma's desired false positive rate")
    parser.add_argument("--library", action="store_true", help="also target 1: across pass vs tokenize, in process")
    parser.add_argument("--library-runs", type=int, default=2)
    parser.add_argument("--library-child", help=argparse.SUPPRESS)
    parser.add_argument("--measure", choices=MEASURES, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.library_child:
        library_child(args.library_child, args.measure)
        return 0
    if not args.corpus and not args.generated:
        raise SystemExit("give --corpus and/or --generated")
    scopes = [None if s == "default" else s for s in args.scopes]
    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    print(f"command: {shlex.join([Path(sys.executable).name, *sys.argv])}")
    print(f"machine: {machine_line()}")
    print(f"dedup: {describe_dedup(args.dedup_python, args.dedup_src)}")
    if args.dolma:
        print(f"dolma: {args.dolma}, bloom filter false positive rate {args.bloom_fp}")
    sources = streams.source_articles(args.corpus, args.limit, streams.parse_generated(args.generated), args.seed)
    plans = [(kind, None) for kind in args.kinds if kind != "worst"]
    plans += [("worst", n) for n in sorted(args.worst_docs) if "worst" in args.kinds]
    startup = write_stream("startup", sources[:1], out)
    measure(startup, args, [scopes[0]], jobs=[args.jobs[0]], runs=3)
    measured = []
    for kind, docs in plans:
        name = f"worst{docs}" if kind == "worst" else f"recur{args.recur}" if kind == "recur4" else kind
        stream = write_stream(name, streams.build(kind, sources, args.seed, docs, args.recur), out)
        print(f"{name}: {stream.docs:,} documents, {stream.megabytes:.1f} MB", flush=True)
        if kind == "fresh" and args.library:
            # Target 1 is on the corpora: generated template articles share sentences.
            texts = [doc for doc in sources if not doc[0].startswith("gen-")] or sources
            corpora = write_stream("library", texts, out)
            print(f"library: {corpora.docs:,} articles of the corpora ({corpora.megabytes:.1f} MB), "
                  f"best of {args.library_runs}, each measure in a new process")
            header = ["call", "texts/s", "of tokenize", "texts/CPU s", "of tokenize (CPU)", "output sha256"]
            print_table(library(corpora, args), header)
        measure(stream, args, scopes)
        measured.append(stream)
    example = measured[0]
    print("\ncommands (FILE = <out>/<stream>/documents/stream.jsonl.gz):")
    print("  " + shlex.join(dedup_command("python", example, Path("OUT.jsonl"), "across", 2)).replace(str(example.path), "FILE"))
    if args.dolma:
        dolma = shlex.join(peers.dolma_command(Path(args.dolma).name, example.path, example.words, args.bloom_fp))
        dolma = dolma.replace(str(example.path), "FILE").replace(str(example.path.parent.parent), "<out>/<stream>")
        print(f"  {dolma}  (estimated_doc_count: the stream's words)")
    report(measured, startup, args, scopes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
