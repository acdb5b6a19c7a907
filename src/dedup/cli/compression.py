"""Compressed files, both ways: gzip, zstandard, bz2 and xz.

Reading recognises the compression from the first bytes, not the file name, so ``-``
(stdin) and misnamed files work too; writing picks it from the destination's name.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import queue
import stat
import sys
import threading
import zlib
from typing import Any, BinaryIO

from .extras import import_zstandard

GZIP_LEVEL = 6
"""The level ``.gz`` outputs are compressed at."""

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
    # A pipe's data are decompressed as they come, not once a large chunk of them has.
    partial = not is_regular_file(raw)
    if compression == "gzip":
        # Python's gzip reads 8 KiB at a time, each a few steps that need the interpreter
        # lock: in a busy process its read-ahead thread then waits for the lock before
        # each of them, and the reader for it (a tenth of a run on .jsonl.gz input).
        gzip_member = lambda: zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # noqa: E731
        reader = FramesReader(raw, gzip_member, "gzip", zero_padding=True, bounded=True, partial=partial)
        return io.BufferedReader(reader, buffer_size=1 << 20)  # type: ignore[return-value]
    if compression in ("bz2", "xz"):
        stream = bz2.BZ2File(raw) if compression == "bz2" else lzma.LZMAFile(raw)  # noqa: SIM115 - returned open
        stream._closefp = True  # close the file together with the decompressor
        return stream  # type: ignore[return-value]
    zstandard = import_zstandard(f"reading the zstd-compressed file {path}")
    decompressor = zstandard.ZstdDecompressor()
    # Read 64 KiB at a time: a zstd frame that fails hands out nothing of that read, and
    # zstandard's decompressor cannot be copied to read it again in pieces (as gzip's is).
    reader = FramesReader(raw, decompressor.decompressobj, "zstd", chunk=1 << 16, partial=partial)
    return io.BufferedReader(reader, buffer_size=1 << 20)  # type: ignore[arg-type]


def is_regular_file(raw: BinaryIO) -> bool:
    """Whether ``raw`` reads a file on disk (not a pipe, FIFO or terminal, whose reads may
    wait on a writer); a stream without a descriptor (in memory) counts as one."""
    try:
        return stat.S_ISREG(os.fstat(raw.fileno()).st_mode)
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):  # no descriptor: in memory
        return True


# Compressed bytes fed at a time to find where damaged data start.
_DAMAGE_PIECE = 1 << 10


class FramesReader(io.RawIOBase):
    """Decompressed bytes of a stream of one or more compressed frames (gzip members,
    zstd frames), read in large chunks.

    ``new_frame()`` gives the decompressor of one frame (zlib's or zstandard's
    ``decompressobj``). Data that end inside a frame (a truncated file) raise
    ``EOFError``, as Python's gzip, bz2 and xz readers do (zstandard's own reader ends
    quietly with part of the data missing); a damaged frame raises what its decompressor
    raises. With ``zero_padding``, zero bytes after a frame are padding, as gzip(1) and
    Python's gzip take them. With ``partial`` (a pipe), a read takes what the stream has
    (``read1``) rather than waiting for a whole chunk. With ``bounded``, for decompressors
    that take a most length (zlib's ``decompress(data, max_length)``), a read gives at
    most ``MOST_OUT`` bytes, however far the data expand.

    >>> import gzip
    >>> data = gzip.compress(b"one ") + gzip.compress(b"two") + bytes(8)
    >>> gzip_frame = lambda: zlib.decompressobj(wbits=31)
    >>> FramesReader(io.BytesIO(data), gzip_frame, "gzip", zero_padding=True, bounded=True).read()
    b'one two'
    >>> FramesReader(io.BytesIO(data[:12]), gzip_frame, "gzip").read()
    Traceback (most recent call last):
    EOFError: gzip data end inside a frame
    """

    CHUNK = 1 << 18  # compressed bytes read at a time, unless ``chunk`` says otherwise
    MOST_OUT = 1 << 23

    def __init__(
        self, raw: BinaryIO, new_frame: Any, kind: str, *, zero_padding: bool = False, bounded: bool = False,
        chunk: int = CHUNK, partial: bool = False,
    ) -> None:
        super().__init__()
        self.chunk = chunk
        self._read = raw.read1 if partial else raw.read  # type: ignore[attr-defined]
        self._raw = raw
        self._new_frame = new_frame
        self._kind = kind
        self._zero_padding = zero_padding
        self._frame = new_frame()
        self._bounded = bounded
        self._in_frame = False  # the data so far end inside a frame
        self._pending = b""  # compressed bytes not decompressed yet
        self._error: BaseException | None = None  # damage met after data still to hand out
        self._buffer = b""
        self._offset = 0  # bytes of _buffer already returned

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:  # type: ignore[override]
        while self._offset == len(self._buffer):
            if self._error is not None:
                raise self._error
            chunk = self._pending or self._read(self.chunk)
            if chunk:
                self._buffer, self._offset = self._decompress(chunk), 0
                continue
            # The end of the data: what the decompressor still holds, then its frame's end.
            held = self._frame.decompress(b"", self.MOST_OUT) if self._bounded and self._in_frame else b""
            if held:
                self._buffer, self._offset = held, 0
                continue
            if self._in_frame and not self._frame.eof:
                raise EOFError(f"{self._kind} data end inside a frame")
            return 0
        size = min(len(target), len(self._buffer) - self._offset)
        target[:size] = memoryview(self._buffer)[self._offset : self._offset + size]
        self._offset += size
        return size

    def _decompress(self, chunk: bytes) -> bytes:
        parts: list[bytes] = []
        try:
            self._decompress_into(parts, chunk)
        except Exception as error:
            if not any(parts):
                raise
            self._error = error  # raised once the data before the damage are read
        return b"".join(parts)

    def _decompress_into(self, parts: list[bytes], chunk: bytes) -> None:
        size = 0
        while chunk and size < self.MOST_OUT:
            if self._frame.eof:  # the previous frame ended: the rest starts another one
                chunk = self._start_frame(chunk)
                if not chunk:
                    break
            if self._bounded:
                before = self._frame.copy()
                try:
                    parts.append(self._frame.decompress(chunk, self.MOST_OUT - size))
                except Exception:
                    # zlib hands out nothing of a call that fails: the data before the
                    # damage are found again in small pieces, then the error is raised.
                    self._frame = before
                    self._salvage(parts, chunk)
                    raise
                chunk = self._frame.unused_data if self._frame.eof else self._frame.unconsumed_tail
            else:
                parts.append(self._frame.decompress(chunk))
                chunk = self._frame.unused_data if self._frame.eof else b""
            size += len(parts[-1])
            self._in_frame = not self._frame.eof
        self._pending = chunk

    def _start_frame(self, rest: bytes) -> bytes:
        """After a frame's end: ``rest`` without the zero padding before it (with
        ``zero_padding``), and a new frame to read it when anything is left."""
        if self._zero_padding:
            rest = rest.lstrip(b"\0")
        if rest:
            self._frame = self._new_frame()
        return rest

    def _salvage(self, parts: list[bytes], chunk: bytes) -> None:
        """Decompress ``chunk``, in which the current frame fails, into ``parts`` again:
        in pieces of ``_DAMAGE_PIECE`` bytes, and the piece that fails byte by byte, so
        that every byte before the damage is handed out (a frame's check fails at its
        trailer, after all its data). Raises the frame's error."""
        at, step = 0, _DAMAGE_PIECE
        while at < len(chunk):
            piece = chunk[at : at + step]
            before = self._frame.copy()
            try:
                parts.append(self._frame.decompress(piece))  # a piece expands 1,032-fold at most
            except Exception:
                if step == 1:
                    raise
                self._frame, step = before, 1  # this piece again, byte by byte
                continue
            at += len(piece)
            if self._frame.eof:  # the frame ended inside the chunk: the rest starts another
                chunk, at = self._start_frame(self._frame.unused_data + chunk[at:]), 0
        raise AssertionError("damaged data that did not fail when read in pieces")

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


class _BlocksByThread(io.RawIOBase):
    """A stream whose blocks a thread works on (reads ahead, or compresses behind),
    handed over through a queue of at most ``BLOCKS_AHEAD`` blocks of about ``BLOCK``
    bytes: memory stays bounded whichever side is faster."""

    BLOCK = 1 << 16
    BLOCKS_AHEAD = 16

    def __init__(self, stream: BinaryIO) -> None:
        super().__init__()
        self._stream = stream
        self._blocks: queue.Queue = queue.Queue(maxsize=self.BLOCKS_AHEAD)

    def _start(self, work, name: str) -> None:
        self._thread = threading.Thread(target=work, name=name, daemon=True)
        self._thread.start()


class ReadAhead(_BlocksByThread):
    """A decompressed stream read a few blocks ahead by a thread: zlib, bz2, lzma and
    zstandard decompress without holding the interpreter lock, so the decompression runs
    beside the work on what was read (with the whole file's records parsed and
    deduplicated in the main thread, gzip's share was 10% of it).

    Blocks are what one read of the decompressor gives (``read1``), so an error (a
    truncated or damaged file) comes after the same data as when read directly, and is
    raised here, as it was raised there. Closing stops the thread, which closes the
    stream once its current read returns.
    """

    def __init__(self, stream: BinaryIO) -> None:
        super().__init__(stream)
        self._stop = threading.Event()
        self._block, self._offset, self._ended = b"", 0, False
        self._start(self._read, "dedup-read-ahead")

    def _read(self) -> None:
        try:
            while not self._stop.is_set():
                block = self._stream.read1(self.BLOCK)  # type: ignore[attr-defined]
                if not self._hand_over(block) or not block:
                    break
        except BaseException as error:  # handed to the reader, raised there
            self._hand_over(error)
        finally:
            self._stream.close()

    def _hand_over(self, item: bytes | BaseException) -> bool:
        """Queue ``item`` for the reader; False when closed meanwhile."""
        return put_unless_stopped(self._blocks, item, self._stop)

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:  # type: ignore[override]
        if self._offset >= len(self._block):
            if self._ended:
                return 0
            item = self._blocks.get()
            if isinstance(item, BaseException):
                self._ended = True
                raise item
            if not item:
                self._ended = True
                return 0
            self._block, self._offset = item, 0
        size = min(len(target), len(self._block) - self._offset)
        target[:size] = self._block[self._offset : self._offset + size]
        self._offset += size
        return size

    def close(self) -> None:
        self._stop.set()
        super().close()


def put_unless_stopped(handed: queue.Queue, item: Any, stop: threading.Event) -> bool:
    """Queue ``item`` for the thread that reads ``handed`` (a bounded queue), waiting while
    it is full; False when ``stop`` is set meanwhile (the reader went away)."""
    while not stop.is_set():
        try:
            handed.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue  # the reader is busy; look again whether it stopped
    return False


def read_ahead(stream: BinaryIO) -> BinaryIO:
    """``stream`` (a decompressor) read ahead in a thread (:class:`ReadAhead`), buffered."""
    return io.BufferedReader(ReadAhead(stream), buffer_size=ReadAhead.BLOCK)  # type: ignore[return-value]


class WriteBehind(_BlocksByThread):
    """A compressor fed by a thread: writes are gathered into blocks, and a thread hands
    each block to ``stream`` (gzip, bz2, xz or zstd), whose compression runs without the
    interpreter lock, beside the work that produces the records (gzip at level 9 was 11%
    of a run's one process).

    An error of the thread (a full disk) is raised by the next ``write``, ``flush`` or
    ``close``. ``flush`` waits until every block written so far went through ``stream``
    and flushes it; ``close`` does so, then closes ``stream`` (the file under it stays
    open, as with ``stream`` itself).
    """

    def __init__(self, stream: BinaryIO) -> None:
        super().__init__(stream)
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._written = 0
        self._error: BaseException | None = None
        self._closing = False  # the last block was handed over: the thread takes no more
        self._start(self._compress, "dedup-write-behind")

    def _compress(self) -> None:
        while True:
            block, done, last = self._blocks.get()
            try:
                if self._error is None:
                    self._stream.write(block)
                    if done is not None and not last:  # closing ends the stream without a flush marker
                        self._stream.flush()
            except BaseException as error:  # raised in the writing thread, at its next call
                self._error = error
            if done is not None:
                done.set()
            if last:
                return

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[override]
        self._raise_error()
        size = len(data)
        self._pending.append(bytes(data))
        self._pending_size += size
        self._written += size
        if self._pending_size >= self.BLOCK:
            self._hand_over(done=None, last=False)
        return size

    def tell(self) -> int:
        return self._written

    def _hand_over(self, *, done: threading.Event | None, last: bool) -> None:
        self._blocks.put((b"".join(self._pending), done, last))
        self._pending, self._pending_size = [], 0

    def _drain(self, *, last: bool) -> None:
        """Hand the pending bytes over and wait until the thread wrote and flushed them."""
        done = threading.Event()
        self._hand_over(done=done, last=last)
        done.wait()
        if last:
            self._thread.join()
        self._raise_error()

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error  # kept: every later call fails too

    def flush(self) -> None:
        # Not once closing began: io's close() flushes, also after a Ctrl-C interrupted the
        # wait for the last block, and a block handed over after it would wait forever.
        if not self.closed and not self._closing and self._thread.is_alive():
            self._drain(last=False)

    def close(self) -> None:
        if self.closed:
            return
        self._closing = True
        try:
            self._drain(last=True)
        finally:
            super().close()
            if not self._thread.is_alive():  # else interrupted: the thread still writes to it (an output abandoned)
                self._stream.close()


def damaged_data_errors() -> tuple[type[BaseException], ...]:
    """What reading a file whose compressed data are truncated or damaged raises."""
    errors: tuple[type[BaseException], ...] = (EOFError, zlib.error, lzma.LZMAError, OSError)
    zstandard = sys.modules.get("zstandard")  # only when a zstd file was opened
    return errors + (zstandard.ZstdError,) if zstandard is not None else errors


def open_compressed_writer(fh: BinaryIO, compression: str | None, name: str) -> BinaryIO:
    """Wrap ``fh`` in a ``compression`` compressor ("gzip", "zstd", "bz2", "xz"; ``None``: none).

    ``name`` is the destination's: gzip records it in its header.
    """
    compressor: Any
    if compression == "gzip":
        # Level 6, gzip(1)'s default: level 9 (Python's) takes 40% longer for 0.3% less.
        compressor = gzip.GzipFile(fileobj=fh, mode="wb", mtime=0, compresslevel=GZIP_LEVEL)
    elif compression == "bz2":
        compressor = bz2.BZ2File(fh, "wb")
    elif compression == "xz":
        compressor = lzma.LZMAFile(fh, "wb")
    elif compression == "zstd":
        zstandard = import_zstandard(f"writing {name}")
        compressor = zstandard.ZstdCompressor().stream_writer(fh, closefd=False)
    else:  # None: the file as it is
        return fh
    return WriteBehind(compressor)  # type: ignore[return-value]
