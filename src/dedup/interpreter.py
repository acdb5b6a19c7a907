"""The interpreter's cyclic garbage collector, set for long runs that make many small
objects (the ``dedup`` command).

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
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["LONG_RUN_THRESHOLDS", "fewer_collections"]

# Young objects are collected after this many allocations (CPython: 700), the middle
# generation after 20 such collections (10), the oldest after 10 of those (10; and only
# once a quarter of the long-lived objects are new, as always).
LONG_RUN_THRESHOLDS = (100_000, 20, 10)


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Within the block, the garbage collector's thresholds are
    :data:`LONG_RUN_THRESHOLDS`; the previous ones are restored after it (also on error).

    >>> import gc
    >>> before = gc.get_threshold()
    >>> with fewer_collections():
    ...     gc.get_threshold()
    (100000, 20, 10)
    >>> gc.get_threshold() == before
    True
    """
    previous = gc.get_threshold()
    gc.set_threshold(*LONG_RUN_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*previous)
