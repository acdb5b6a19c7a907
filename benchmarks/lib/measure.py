"""Measuring: best-of-N CPU time, resident and peak memory, the machine line of a report.

The development machine is shared and noisy, so ``best_of`` reports the best of a few
runs in *CPU time of this process* (time other processes take from us does not count;
threads a library starts do count), next to the wall time of that run.
"""

from __future__ import annotations

import gc
import os
import platform
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
