"""Throughput of ``dedup clean`` against dolma's paragraph dedup, CLI against CLI (issue 17).

Builds the streams of :mod:`streams` (``fresh``, ``recur4``, ``near30``, ``worst`` at one or
more sizes) from ``--corpus`` files and generated zh/ja/th/made-up-word articles, writes
each as ``documents/stream.jsonl.gz`` under ``--out`` (outside the repository), and runs
on that same file, wall clock, best of ``--runs``:

* ``dedup clean FILE -o OUT --quiet`` with ``--scope across`` and with the default scope,
  each with every ``--jobs`` value (``-j 1`` and ``-j 2``), checking that the outputs of
  the ``-j`` values are byte-identical (sha256);
* ``dolma dedupe`` with paragraphs by n-gram (13 words, overlap threshold 0.5, one
  process), a new bloom filter sized for the stream's words; the run counts only if its
  attributes file has one line per document.

It prints documents/s of each, dedup/dolma (speed of dedup over speed of dolma), -j N/-j 1,
the share of text each removed (dolma: its duplicate paragraph spans), and for ``worst`` at
several sizes how the time grows. ``--dedup-python`` and ``--dedup-src`` (put first on
``PYTHONPATH``) choose the dedup that runs, so two checkouts can be compared.

``--library`` adds target 1: ``Deduplicator(scope="across").clean_many`` on the fresh
stream's texts as a share of ``dedup.text.tokenize`` on the same texts, in one child
process of that dedup; and with ``workers=2`` when its ``Deduplicator`` takes ``workers``.

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
import gzip
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
import streams
from common import machine_line, print_table

DOLMA_ATTRIBUTE = "bff_duplicate_paragraph_spans"
DOLMA_NAME = "bench"
DEFAULT_GENERATED = ["zh=100", "ja=100", "th=100", "words=100"]
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


def texts_of(path: Path) -> list[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line)["text"] for line in handle if line.strip()]


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


def dolma_command(dolma: str, stream: Stream, false_positive_rate: float) -> list[str]:
    return [
        dolma, "dedupe",
        "--documents", str(stream.path),
        "--dedupe.name", DOLMA_NAME,
        "--dedupe.paragraphs.attribute_name", DOLMA_ATTRIBUTE,
        "--dedupe.paragraphs.by_ngram.ngram_length", "13",
        "--dedupe.paragraphs.by_ngram.overlap_threshold", "0.5",
        "--bloom_filter.file", str(stream.path.parent.parent / "bloom.bin"),
        "--no-bloom_filter.read_only",
        "--bloom_filter.estimated_doc_count", str(stream.words),
        "--bloom_filter.desired_false_positive_rate", str(false_positive_rate),
        "--processes", "1",
    ]  # fmt: skip


def run(command: list[str], env: dict | None = None, log: Path | None = None) -> float:
    """Wall seconds of ``command``; its output goes to ``log`` (or is dropped). Fails loudly."""
    with open(log or os.devnull, "w") as sink:
        started = time.perf_counter()
        done = subprocess.run(command, env=env, stdout=sink, stderr=subprocess.STDOUT)
        seconds = time.perf_counter() - started
    if done.returncode:
        tail = log.read_text()[-2000:] if log else ""
        raise SystemExit(f"failed ({done.returncode}): {shlex.join(command)}\n{tail}")
    return seconds


def dolma_removed(stream: Stream, texts: list[str]) -> float:
    """Share of characters dolma marks as duplicate paragraphs; checks one attribute line per document."""
    path = stream.path.parent.parent / "attributes" / DOLMA_NAME / stream.path.name
    if not path.exists():
        raise SystemExit(f"dolma wrote no attributes for {stream.path} (expected {path})")
    marked, lines = 0, 0
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            lines += 1
            for start, end, _ in json.loads(line)["attributes"].get(DOLMA_ATTRIBUTE, []):
                marked += end - start
    if lines != stream.docs:
        raise SystemExit(f"dolma attributes {path}: {lines} lines for {stream.docs} documents")
    return marked / max(1, sum(map(len, texts)))


def reset_dolma(stream: Stream) -> None:
    """Remove dolma's attributes and bloom filter, so each run starts empty."""
    shutil.rmtree(stream.path.parent.parent / "attributes", ignore_errors=True)
    (stream.path.parent.parent / "bloom.bin").unlink(missing_ok=True)


def measure(stream: Stream, args, scopes: list[str | None], jobs: list[int] | None = None, runs: int = 0) -> None:
    """Best wall time of every command on ``stream`` over ``runs`` (default ``args.runs``) interleaved rounds."""
    env = dedup_env(args.dedup_src)
    folder = stream.path.parent.parent
    texts = texts_of(stream.path)
    for _ in range(runs or args.runs):
        for scope in scopes:
            for j in jobs or args.jobs:
                out = folder / f"out-{scope or 'default'}-j{j}.jsonl"
                seconds = run(dedup_command(args.dedup_python, stream, out, scope, j), env)
                key = ("dedup", scope, j)
                stream.seconds[key] = min(seconds, stream.seconds.get(key, float("inf")))
                stream.digests[(scope, j)] = sha256(out)
                kept = sum(map(len, texts_of(out)))
                stream.removed[("dedup", scope)] = 1 - kept / max(1, sum(map(len, texts)))
        if args.dolma:
            reset_dolma(stream)
            seconds = run(dolma_command(args.dolma, stream, args.bloom_fp), log=folder / "dolma.log")
            stream.seconds[("dolma", None, 1)] = min(seconds, stream.seconds.get(("dolma", None, 1), float("inf")))
            stream.removed[("dolma", None)] = dolma_removed(stream, texts)


# ---------------------------------------------------------------- library mode (target 1)


def library_child(path: str, runs: int) -> None:
    """In the dedup under test: tokenize vs ``Deduplicator(scope="across").clean_many``; prints JSON."""
    import dedup
    from dedup.text import tokenize

    texts = texts_of(Path(path))
    dedup.clean("warm up the lookup tables once before timing")

    def best(fn) -> tuple[float, object]:
        times, result = [], None
        for _ in range(runs):
            started = time.perf_counter()
            result = fn()
            times.append(time.perf_counter() - started)
        return min(times), result

    def across(workers: int):
        options = {"workers": workers} if workers > 1 else {}
        deduplicator = dedup.Deduplicator(scope="across", **options)
        try:
            return deduplicator.clean_many(texts)
        finally:
            getattr(deduplicator, "close", lambda: None)()

    report = {"texts": len(texts), "tokenize": best(lambda: tokenize(texts))[0]}
    takes_workers = "workers" in inspect.signature(dedup.Deduplicator).parameters
    for workers in (1, 2) if takes_workers else (1,):
        seconds, outputs = best(lambda: across(workers))
        joined = "\x00".join(outputs).encode("utf-8", "surrogatepass")
        report[f"across workers={workers}"] = seconds
        report[f"digest workers={workers}"] = hashlib.sha256(joined).hexdigest()[:16]
    print(json.dumps(report))


def library(stream: Stream, args) -> list[list[str]]:
    """Rows of the library table, measured in a child process of the dedup under test."""
    command = [args.dedup_python, __file__, "--library-child", str(stream.path), "--library-runs", str(args.library_runs)]
    done = subprocess.run(command, env=dedup_env(args.dedup_src), check=True, capture_output=True, text=True)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    n, tokenize_seconds = report["texts"], report["tokenize"]
    rows = [[f"`dedup.text.tokenize(texts)`", f"{n / tokenize_seconds:,.0f}", "1", ""]]
    for key in ("across workers=1", "across workers=2"):
        if key in report:
            workers = key.split("=")[1]
            call = "Deduplicator(scope=\"across\"" + (f", workers={workers}" if workers != "1" else "") + ").clean_many(texts)"
            rows.append([f"`{call}`", f"{n / report[key]:,.0f}", f"{tokenize_seconds / report[key]:.1%}",
                         report[f"digest workers={workers}"]])
    if "digest workers=2" in report:
        same = report["digest workers=1"] == report["digest workers=2"]
        print(f"library outputs workers=1 vs workers=2: {'identical' if same else 'DIFFERENT'}")
    return rows


# ---------------------------------------------------------------- report


def scope_label(scope: str | None) -> str:
    return scope or "default (both)"


def net(docs: int, seconds: float, startup: float) -> str:
    """Documents per second once the command's fixed cost is taken off ("" when nothing is left)."""
    return f"{docs / (seconds - startup):,.0f}" if seconds > startup else ""


def report(measured: list[Stream], startup: Stream, args, scopes: list[str | None]) -> None:
    dedup_startup = min(seconds for (tool, *_), seconds in startup.seconds.items() if tool == "dedup")
    dolma_startup = startup.seconds.get(("dolma", None, 1), 0.0)
    rows = []
    for stream in measured:
        dolma = stream.seconds.get(("dolma", None, 1))
        for scope in scopes:
            base = stream.seconds[("dedup", scope, args.jobs[0])]
            for jobs in args.jobs:
                seconds = stream.seconds[("dedup", scope, jobs)]
                rows.append([
                    stream.name, f"{stream.docs:,}", f"{stream.megabytes:.1f}", "dedup clean", scope_label(scope),
                    jobs, f"{seconds:.1f}", f"{stream.docs / seconds:,.0f}", net(stream.docs, seconds, dedup_startup),
                    f"{dolma / seconds:.2f}" if dolma else "", f"{base / seconds:.2f}",
                    f"{stream.removed[('dedup', scope)]:.1%}",
                ])  # fmt: skip
        if dolma:
            rows.append([stream.name, f"{stream.docs:,}", f"{stream.megabytes:.1f}", "dolma dedupe", "paragraphs 13-gram",
                         1, f"{dolma:.1f}", f"{stream.docs / dolma:,.0f}", net(stream.docs, dolma, dolma_startup), "1", "",
                         f"{stream.removed[('dolma', None)]:.1%}"])
    header = ["stream", "docs", "MB", "command", "scope", "-j", "wall s", "docs/s", "docs/s net of start-up", "speed vs dolma",
              f"speed vs -j {args.jobs[0]}", "text removed"]
    print()
    print_table(rows, header)
    print()
    fixed = f"dedup clean {dedup_startup:.2f} s" + (f", dolma dedupe {dolma_startup:.2f} s" if args.dolma else "")
    print(f"- start-up (best wall time on a one-document stream): {fixed}")
    for stream in measured:
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
                growth.append(f"{name} x{current.seconds[key] / previous.seconds[key]:.2f}")
        print(f"- {previous.name} -> {current.name} (x{current.docs / previous.docs:.1f} documents): "
              f"time {', '.join(growth)}")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", action="append", default=[], help="JSONL corpus with id and text (repeatable)")
    parser.add_argument("--limit", type=int, default=500, help="first N articles of each corpus (0: all; default 500)")
    parser.add_argument("--generated", nargs="*", default=DEFAULT_GENERATED,
                        help=f"generated articles LANG=N, LANG in {', '.join(streams.GENERATED)} "
                             f"(default: {' '.join(DEFAULT_GENERATED)})")
    parser.add_argument("--kinds", nargs="+", choices=streams.KINDS, default=list(streams.KINDS))
    parser.add_argument("--worst-docs", type=int, nargs="+", default=[2000], help="sizes of the worst stream (default 2000)")
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
    parser.add_argument("--library-runs", type=int, default=3)
    parser.add_argument("--library-child", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.library_child:
        library_child(args.library_child, args.library_runs)
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
        name = kind if docs is None else f"worst{docs}"
        stream = write_stream(name, streams.build(kind, sources, args.seed, docs), out)
        print(f"{name}: {stream.docs:,} documents, {stream.megabytes:.1f} MB", flush=True)
        if kind == "fresh" and args.library:
            print_table(library(stream, args), ["call (fresh stream)", "texts/s", "of tokenize", "output digest"])
        measure(stream, args, scopes)
        measured.append(stream)
    example = measured[0]
    print("\ncommands (FILE = <out>/<stream>/documents/stream.jsonl.gz):")
    print("  " + shlex.join(dedup_command("python", example, Path("OUT.jsonl"), "across", 2)).replace(str(example.path), "FILE"))
    if args.dolma:
        dolma = shlex.join(dolma_command(Path(args.dolma).name, example, args.bloom_fp))
        dolma = dolma.replace(str(example.path), "FILE").replace(str(example.path.parent.parent), "<out>/<stream>")
        print(f"  {dolma}  (estimated_doc_count: the stream's words)")
    report(measured, startup, args, scopes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
