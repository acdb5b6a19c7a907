"""The command's worker processes: :mod:`dedup.workers`, which the library shares."""

from ..workers import BARRIER, ChunkFailed, OrderedPool, end_with_parent

__all__ = ["BARRIER", "ChunkFailed", "OrderedPool", "end_with_parent"]
