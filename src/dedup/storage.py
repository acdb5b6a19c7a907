"""Deprecated alias of :mod:`dedup.archives` (the module's name until 0.x; it sounded like
:mod:`dedup.store`, which holds something else). Import from :mod:`dedup.archives`."""

import warnings

from .archives import atomic_save, load_state, write_arrays

__all__ = ["atomic_save", "load_state", "write_arrays"]

warnings.warn("dedup.storage is renamed dedup.archives; import from there", DeprecationWarning, stacklevel=2)
