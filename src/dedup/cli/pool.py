"""The command's worker processes: :mod:`dedup.workers`, which the library shares."""

from ..workers import ChunkFailed, OrderedPool, end_with_parent

__all__ = ["ChunkFailed", "OrderedPool", "end_with_parent"]
