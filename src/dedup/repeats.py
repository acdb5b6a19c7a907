"""Deprecated: the alignment engine is the package :mod:`dedup.align` (one module per stage).

``dedup.repeats`` is kept so that code importing from it goes on working; it re-exports
the names imported from it before the engine was split. Import them from
:mod:`dedup.align` (the user API) or from the module of their stage instead.
"""

from __future__ import annotations

import warnings

from . import align as _package
from .align import *  # noqa: F403 (the user API: dedup.align.__all__)
from .align.extend import extend_edge, extend_edges
from .align.overlaps import OverlapResolver, resolve_overlaps
from .align.params import DEFAULT_MAX_GAP, DEFAULT_MIN_LENGTH, DEFAULT_NGRAM, DEFAULT_THRESHOLD
from .align.verify import Alignment

__all__ = [
    *_package.__all__,
    "DEFAULT_MAX_GAP",
    "DEFAULT_MIN_LENGTH",
    "DEFAULT_NGRAM",
    "DEFAULT_THRESHOLD",
    "Alignment",
    "OverlapResolver",
    "extend_edge",
    "extend_edges",
    "resolve_overlaps",
]

warnings.warn(
    "dedup.repeats is deprecated: import from dedup.align (find_repeats, clean, align, ...)",
    DeprecationWarning,
    stacklevel=2,
)
