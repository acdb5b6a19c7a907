"""The interpreter's cyclic garbage collector, set for long runs that make many small
objects (the ``dedup`` command, and a Deduplicator's calls on many articles).

CPython collects its youngest objects after 700 allocations of containers, and the older
generations after ten collections of the one below. A run over a corpus makes millions
of short-lived containers (records, spans, dataclasses) beside a large lasting state (the
ids, the remembered pairs), so the collector ran hundreds of times and traversed the
state again and again: 8% of a run over short documents. None of those objects forms a
reference cycle as a rule (reference counts free them), so collecting less often frees
the same memory.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["LONG_RUN_THRESHOLDS", "fewer_collections"]

# Young objects are collected after this many allocations (CPython: 700), the middle
# generation after 20 such collections (10), the oldest after 10 of those (10; and only
# once a quarter of the long-lived objects are new, as always).
LONG_RUN_THRESHOLDS = (100_000, 20, 10)


# Blocks inside fewer_collections (in any thread), and the thresholds before the first.
_lock = threading.Lock()
_depth = 0
_before: tuple[int, ...] = ()


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Within the block, the garbage collector's thresholds are
    :data:`LONG_RUN_THRESHOLDS`; the ones before are restored once the last such block
    ends (blocks may nest, and run in several threads at once), also on error.

    >>> import gc
    >>> before = gc.get_threshold()
    >>> with fewer_collections():
    ...     with fewer_collections():
    ...         pass
    ...     gc.get_threshold()
    (100000, 20, 10)
    >>> gc.get_threshold() == before
    True
    """
    global _depth, _before
    with _lock:
        if _depth == 0:
            _before = gc.get_threshold()
            gc.set_threshold(*LONG_RUN_THRESHOLDS)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                gc.set_threshold(*_before)
