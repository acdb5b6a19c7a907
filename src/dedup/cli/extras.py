"""The command's optional dependencies, imported when first needed: pyarrow (Parquet) and zstandard.

A missing one is a :class:`~dedup.cli.errors.UsageError` saying what needed it and how to install it.
"""

from __future__ import annotations

from .errors import UsageError


def missing_extra(module: str, extra: str, what: str) -> UsageError:
    return UsageError(f"{what} needs the optional package '{module}': pip install 'dedup-passages[{extra}]'")


def import_pyarrow(what: str):
    """The ``pyarrow`` module (with ``pyarrow.parquet`` loaded), for ``what`` (e.g. "reading x.parquet")."""
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise missing_extra("pyarrow", "parquet", what) from None
    return pyarrow


def import_zstandard(what: str):
    """The ``zstandard`` module, for ``what`` (e.g. "writing out.jsonl.zst")."""
    try:
        import zstandard
    except ImportError:
        raise missing_extra("zstandard", "zstd", what) from None
    return zstandard
