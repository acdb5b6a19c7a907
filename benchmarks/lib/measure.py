"""Measuring: best-of-N CPU time, resident and peak memory, the machine line of a report.

The development machine is shared and noisy, so ``best_of`` reports the best of a few
runs in *CPU time of this process* (time other processes take from us does not count;
threads a library starts do count), next to the wall time of that run.
"""

from __future__ import annotations

import gc
import os
import platform
import resource
import time
from dataclasses import dataclass
from typing import Any, Callable


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


def children_cpu() -> float:
    """CPU seconds of the finished child processes of this process (and of their children)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cpu_with_children() -> float:
    """CPU seconds of this process and of its finished children (a command and its workers)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    return me.ru_utime + me.ru_stime + children_cpu()


def best_wall_of(fn: Callable[[], Any], repeat: int) -> Timing:
    """Run ``fn`` ``repeat`` times; the run with the least wall time, with its CPU seconds
    counted over this process and its finished children (for commands run as children)."""
    best = Timing(float("inf"), float("inf"))
    for _ in range(repeat):
        started, cpu = time.perf_counter(), cpu_with_children()
        result = fn()
        wall, used = time.perf_counter() - started, cpu_with_children() - cpu
        if (wall, used) < (best.wall, best.cpu):
            best = Timing(used, wall, result)
    return best


def peak_rss_megabytes() -> float:
    """Peak resident memory of this process so far (``ru_maxrss``; kilobytes on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class PeakMemory:
    """Peak resident memory of the Spark JVM and of its Python workers (sampled)."""

    def __init__(self, interval: float = 0.25) -> None:
        import threading

        import psutil

        self.me = psutil.Process()
        self.jvm = 0
        self.workers = 0
        self.one_worker = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval,), daemon=True)
        self._thread.start()

    def _run(self, interval: float) -> None:
        import psutil

        while not self._stop.wait(interval):
            try:
                for child in self.me.children():
                    if "java" not in child.name():
                        continue
                    self.jvm = max(self.jvm, child.memory_info().rss)
                    workers = [p.memory_info().rss for p in child.children(recursive=True) if "python" in p.name()]
                    self.workers = max(self.workers, sum(workers))
                    self.one_worker = max(self.one_worker, max(workers, default=0))
            except psutil.Error:
                pass

    def stop(self) -> dict:
        self._stop.set()
        self._thread.join()
        return {"jvm_mb": self.jvm / 1e6, "python_workers_mb": self.workers / 1e6, "one_worker_mb": self.one_worker / 1e6}
