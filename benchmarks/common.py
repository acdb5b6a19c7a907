"""Helpers shared by the benchmark scripts: corpus loading, timing, memory, tables.

Import it from a script in ``benchmarks/`` with ``from common import ...`` (scripts run
as ``python benchmarks/bench_x.py``, so this directory is on ``sys.path``).

Timing: the development machine is shared and noisy, so ``best_of`` reports the best of
a few runs in *CPU time of this process* (time other processes take from us does not
count; threads a library starts do count), next to the wall time of that run.
"""

from __future__ import annotations

import csv
import gc
import json
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence


def read_jsonl(path: str | Path, limit: int | None = None) -> list[dict]:
    """The records of a JSONL file (optionally only the first ``limit``)."""
    records = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                records.append(json.loads(line))
                if limit is not None and len(records) >= limit:
                    break
    return records


def load_texts(path: str | Path, limit: int | None = None, field: str = "text") -> tuple[list[str], list[str]]:
    """(ids, texts) of a JSONL corpus whose records have ``id`` and ``text``."""
    records = read_jsonl(path, limit)
    return [str(r.get("id", i)) for i, r in enumerate(records)], [r[field] for r in records]


def read_pairs(path: str | Path) -> dict[tuple[str, str], float]:
    """Exact Jaccard per document pair from a ``*.pairs-k5.tsv`` truth file (ids sorted)."""
    pairs = {}
    with open(path, encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            a, b = sorted((row["id_a"], row["id_b"]))
            pairs[(a, b)] = float(row["jaccard"])
    return pairs


def pairs_file_for(corpus: str | Path) -> Path | None:
    """The truth file next to a corpus (``X.jsonl`` -> ``X.pairs-k5.tsv``), if it exists."""
    candidate = Path(corpus).with_suffix(".pairs-k5.tsv")
    return candidate if candidate.exists() else None


def utf8_megabytes(texts: Iterable[str]) -> float:
    return sum(len(t.encode("utf-8", "surrogatepass")) for t in texts) / 1e6


@dataclass
class Timing:
    cpu: float  # best CPU seconds of this process
    wall: float  # wall seconds of that same run
    result: Any = None


def best_of(fn: Callable[[], Any], repeat: int = 3) -> Timing:
    """Run ``fn`` ``repeat`` times; the run with the least CPU time, and its result."""
    best: Timing | None = None
    for _ in range(max(1, repeat)):
        gc.collect()
        wall0, cpu0 = time.perf_counter(), time.process_time()
        result = fn()
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        if best is None or cpu < best.cpu:
            best = Timing(cpu, wall, result)
    return best


def rss_megabytes() -> float:
    """Resident memory of this process now (Linux ``/proc``; 0 elsewhere)."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def machine_line() -> str:
    """One line naming the interpreter, NumPy and CPU count, for the record."""
    import numpy

    return (
        f"python {platform.python_version()}, numpy {numpy.__version__}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
        if hasattr(os, "getloadavg")
        else f"python {platform.python_version()}, numpy {numpy.__version__}"
    )


def print_table(rows: Sequence[Sequence[Any]], header: Sequence[str], file=sys.stdout) -> None:
    """A Markdown table (pasteable into RESULTS.md)."""
    cells = [[str(c) for c in header]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for k, row in enumerate(cells):
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |", file=file)
        if k == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|", file=file)
