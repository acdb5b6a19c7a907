"""Saved LSH states: ``.npz`` archives with a versioned header, written atomically.

A saved state (an LSH index, see :meth:`dedup.lsh.LSHIndex.save`) is an ``.npz``
archive (a zip of ``.npy`` arrays, no pickle) with a JSON header recording the format
name and version. :func:`atomic_save` replaces the file whole (:mod:`dedup.atomic`).
:func:`load_state` reads a state of the current version or an older supported one, and
raises ``ValueError`` naming the file for anything else: a newer version, another format,
a truncated or damaged file.
"""

from __future__ import annotations

import errno
import json
import os
import unicodedata
import warnings
import zipfile

import numpy as np

from .atomic import atomic_write

__all__ = ["atomic_save", "load_state", "write_arrays"]

_ZIP_MAGIC = b"PK\x03\x04"
# The header and every array name are short; a larger member count means a foreign zip.
_MAX_MEMBERS = 64


# --------------------------------------------------------------------------- saved states


def write_arrays(handle, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` to an open binary file as an uncompressed ``.npz`` archive."""
    np.savez(handle, **arrays)


def atomic_save(path: str | os.PathLike, fmt: str, version: int, meta: dict, arrays: dict[str, np.ndarray]) -> None:
    """Write ``meta`` (JSON) and ``arrays`` to one ``.npz`` file, replacing ``path`` atomically.

    The header records ``fmt`` and ``version``, and this Python's Unicode version (the
    tokenizer folds characters with it: a state reopened under another one may hash text
    with characters new in between differently). Raises ``OSError`` naming ``path`` when
    it cannot be written; any previous file at ``path`` is then left as it was.
    """
    header = {"format": fmt, "version": version, "unicode": unicodedata.unidata_version, **meta}
    encoded = json.dumps(header, sort_keys=True).encode("utf-8")
    # write_arrays is looked up at call time, so tests can make it fail halfway.
    atomic_write(path, lambda handle: write_arrays(handle, {"meta": np.frombuffer(encoded, dtype=np.uint8), **arrays}))


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> np.ndarray:
    with archive.open(info) as member:
        version = np.lib.format.read_magic(member)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(member)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(member)
        else:
            raise ValueError(f"array {info.filename} has an unknown .npy version {version}")
        if dtype.hasobject:
            raise ValueError(f"array {info.filename} holds Python objects")
        count = 1
        for size in shape:
            count *= size
        # A damaged header may claim any shape: never allocate more than the member holds.
        if count * dtype.itemsize > info.file_size:
            raise ValueError(f"array {info.filename} claims more data than the file holds")
        array = np.empty(count, dtype=dtype)
        view = memoryview(array).cast("B")
        filled = 0
        while filled < len(view):
            got = member.readinto(view[filled:])
            if not got:
                raise ValueError(f"array {info.filename} is cut short")
            filled += got
        if member.read(1):
            raise ValueError(f"array {info.filename} holds more data than its header says")
        # (reading to the end made the zip check the member's CRC)
    return array.reshape(shape[::-1]).T if fortran else array.reshape(shape)


def _read_archive(path: str) -> tuple[dict, dict[str, np.ndarray]]:
    with open(path, "rb") as handle:
        if handle.read(4) != _ZIP_MAGIC:
            raise ValueError("it is not a saved dedup state (no .npz archive)")
        handle.seek(0)
        with zipfile.ZipFile(handle) as archive:
            members = archive.infolist()
            if len(members) > _MAX_MEMBERS:
                raise ValueError("it holds too many arrays")
            arrays = {}
            for info in members:
                if not info.filename.endswith(".npy"):
                    raise ValueError(f"unexpected member {info.filename!r}")
                arrays[info.filename[: -len(".npy")]] = _read_member(archive, info)
    if "meta" not in arrays:
        raise ValueError("no dedup header")
    meta = json.loads(arrays.pop("meta").tobytes().decode("utf-8"))
    if not isinstance(meta, dict):
        raise ValueError("the dedup header is not a JSON object")
    return meta, arrays


def load_state(
    path: str | os.PathLike, fmt: str, version: int, *, oldest: int | None = None
) -> tuple[dict, dict[str, np.ndarray]]:
    """Read a file written by :func:`atomic_save`: ``(meta, arrays)``.

    Parameters
    ----------
    path : str or path
    fmt : str
        The format the file must have (e.g. ``"dedup.LSHIndex"``).
    version : int
        The version this dedup writes; a file of a higher version is refused.
    oldest : int, optional
        The oldest version still read (default: ``version``). ``meta["version"]`` tells
        the caller which one it got, so it can convert an older layout.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    ValueError
        Naming the file: truncated, damaged, not a saved state, another format, or a
        version outside ``oldest..version``.
    """
    path = os.fspath(path)
    oldest = version if oldest is None else oldest
    if not os.path.exists(path):
        raise FileNotFoundError(errno.ENOENT, "no such file", path)
    if os.path.isdir(path):
        raise ValueError(f"{path} is a folder, not a saved {fmt} file")
    try:
        meta, arrays = _read_archive(path)
    except MemoryError:
        raise
    except OSError as error:  # unreadable (permissions, I/O error): say so with the reason
        raise ValueError(f"{path} cannot be read as a {fmt} file: {os.strerror(error.errno) if error.errno else error}") from error
    except Exception as error:
        # Damage shows in many ways inside zipfile, zlib and numpy (BadZipFile, EOFError,
        # RuntimeError for a flipped "encrypted" flag, NotImplementedError for a flipped
        # compression method...): all of them mean the same thing to the caller.
        raise ValueError(f"{path} is not a readable {fmt} file (damaged, truncated or foreign): {error}") from error
    found = meta.get("format")
    if found != fmt:
        raise ValueError(f"{path} is not a {fmt} file (its format is {found!r})")
    saved = meta.get("version")
    if not isinstance(saved, int) or isinstance(saved, bool):
        raise ValueError(f"{path} is not a valid {fmt} file: its format version {saved!r} is not a number")
    if saved > version:
        raise ValueError(
            f"{path} was written by a newer dedup ({fmt} format version {saved}); this dedup reads versions "
            f"{oldest} to {version}: upgrade dedup to read it"
        )
    if saved < oldest:
        raise ValueError(
            f"{path} has {fmt} format version {saved}, older than the oldest this dedup reads ({oldest}); "
            f"rebuild it from the original data"
        )
    saved_unicode = meta.get("unicode")
    if saved_unicode is not None and saved_unicode != unicodedata.unidata_version:
        warnings.warn(
            f"{path} was saved with Unicode {saved_unicode}, this Python has Unicode "
            f"{unicodedata.unidata_version}: text with characters added in between may hash differently",
            stacklevel=3,
        )
    return meta, arrays
