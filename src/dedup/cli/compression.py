"""Compressed files, both ways: gzip, zstandard, bz2 and xz.

Reading recognises the compression from the first bytes, not the file name, so ``-``
(stdin) and misnamed files work too; writing picks it from the destination's name.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import sys
import zlib
from typing import Any, BinaryIO

from .extras import import_zstandard

_MAGIC = (
    (b"\x1f\x8b", "gzip"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"BZh", "bz2"),
    (b"\xfd7zXZ\x00", "xz"),
)


def sniff_compression(head: bytes) -> str | None:
    """The compression (``"gzip"``, ``"zstd"``, ``"bz2"``, ``"xz"``) the first bytes of a file show, else ``None``."""
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    return None


def open_decompressed(raw: BinaryIO, path: str) -> BinaryIO:
    """``raw`` decompressed when its first bytes say so (``path`` names it in messages); closing it closes ``raw``."""
    if not hasattr(raw, "peek"):
        raw = io.BufferedReader(raw)  # type: ignore[arg-type]
    compression = sniff_compression(raw.peek(8)[:8])  # type: ignore[attr-defined]
    if compression is None:
        return raw
    if compression == "gzip":
        stream = gzip.GzipFile(fileobj=raw, mode="rb")
        stream.myfileobj = raw  # close the file together with the decompressor
        return stream  # type: ignore[return-value]
    if compression in ("bz2", "xz"):
        stream = bz2.BZ2File(raw) if compression == "bz2" else lzma.LZMAFile(raw)  # noqa: SIM115 - returned open
        stream._closefp = True  # close the file together with the decompressor
        return stream  # type: ignore[return-value]
    zstandard = import_zstandard(f"reading the zstd-compressed file {path}")
    return io.BufferedReader(ZstdReader(raw, zstandard), buffer_size=1 << 20)  # type: ignore[arg-type]


class ZstdReader(io.RawIOBase):
    """Decompressed bytes of a zstd stream of one or more frames.

    Unlike ``zstandard``'s stream reader, it raises ``EOFError`` when the data end inside
    a frame (a truncated file), as the gzip, bz2 and xz readers do, instead of ending
    quietly with part of the data missing.
    """

    _CHUNK = 1 << 16

    def __init__(self, raw: BinaryIO, zstandard: Any) -> None:
        super().__init__()
        self._raw = raw
        self._decompressor = zstandard.ZstdDecompressor()
        self._frame = self._decompressor.decompressobj()
        self._in_frame = False
        self._buffer = b""
        self._offset = 0  # bytes of _buffer already returned

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:  # type: ignore[override]
        while self._offset == len(self._buffer):
            chunk = self._raw.read(self._CHUNK)
            if not chunk:
                if self._in_frame:
                    raise EOFError("zstd data end inside a frame")
                return 0
            self._buffer, self._offset = self._decompress(chunk), 0
        size = min(len(target), len(self._buffer) - self._offset)
        target[:size] = memoryview(self._buffer)[self._offset : self._offset + size]
        self._offset += size
        return size

    def _decompress(self, chunk: bytes) -> bytes:
        parts = []
        while chunk:
            if self._frame.eof:  # the previous frame ended: the rest starts another one
                self._frame = self._decompressor.decompressobj()
            parts.append(self._frame.decompress(chunk))
            chunk = self._frame.unused_data if self._frame.eof else b""
        self._in_frame = not self._frame.eof
        return b"".join(parts)

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


def damaged_data_errors() -> tuple[type[BaseException], ...]:
    """What reading a file whose compressed data are truncated or damaged raises."""
    errors: tuple[type[BaseException], ...] = (EOFError, zlib.error, lzma.LZMAError, OSError)
    zstandard = sys.modules.get("zstandard")  # only when a zstd file was opened
    return errors + (zstandard.ZstdError,) if zstandard is not None else errors


def open_compressed_writer(fh: BinaryIO, compression: str | None, name: str) -> BinaryIO:
    """Wrap ``fh`` in a ``compression`` compressor ("gzip", "zstd", "bz2", "xz"; ``None``: none).

    ``name`` is the destination's: gzip records it in its header.
    """
    if compression == "gzip":
        return gzip.GzipFile(fileobj=fh, mode="wb", mtime=0)  # type: ignore[return-value]
    if compression == "bz2":
        return bz2.BZ2File(fh, "wb")  # type: ignore[return-value]
    if compression == "xz":
        return lzma.LZMAFile(fh, "wb")  # type: ignore[return-value]
    if compression == "zstd":
        zstandard = import_zstandard(f"writing {name}")
        return zstandard.ZstdCompressor().stream_writer(fh, closefd=False)  # type: ignore[return-value]
    return fh
