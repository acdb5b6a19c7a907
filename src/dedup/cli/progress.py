"""What the user sees on stderr while a command runs and when it ends: progress and summary."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from .inputs import STDIO, InputFile


class Progress:
    """Progress on a terminal (silent when stderr is not one): documents and documents/s.

    With input files of known size the bar also shows bytes read against the total, so
    it gives a percentage and an ETA; for stdin it counts documents only.
    """

    def __init__(self, enabled: bool, description: str, files: Sequence[InputFile] = ()) -> None:
        self._bar = None
        self._enabled = enabled
        self._docs = 0
        self._started = time.perf_counter()
        self._last = 0.0
        self._finished_bytes = 0
        self._shown_bytes = 0
        total = sum(f.size for f in files)
        self._by_bytes = bool(files) and all(f.path != STDIO for f in files) and total > 0
        if not enabled:
            return
        try:
            from tqdm import tqdm
        except ImportError:
            return  # fall back to a plain counter line
        if self._by_bytes:
            self._bar = tqdm(total=total, desc=description, unit="B", unit_scale=True, unit_divisor=1024,
                             file=sys.stderr, dynamic_ncols=True, smoothing=0.1)
        else:
            self._bar = tqdm(desc=description, unit=" docs", file=sys.stderr, dynamic_ncols=True, smoothing=0.1)

    def update(self, docs: int, current: InputFile | None = None) -> None:
        """``docs`` more documents done; ``current`` is the file they came from."""
        self._docs += docs
        if not self._enabled:
            return
        now = time.perf_counter()
        rate = self._docs / max(now - self._started, 1e-9)
        if self._bar is None:
            if now - self._last > 0.5:
                self._last = now
                sys.stderr.write(f"\r{self._docs:,} docs  {rate:,.0f} docs/s")
                sys.stderr.flush()
        elif self._by_bytes:
            done = self._finished_bytes + (current.consumed() if current is not None else 0)
            self._bar.set_postfix_str(f"{self._docs:,} docs, {rate:,.0f} docs/s", refresh=False)
            self._bar.update(max(0, done - self._shown_bytes))
            self._shown_bytes = max(done, self._shown_bytes)
        else:
            self._bar.update(docs)

    def file_done(self, file: InputFile) -> None:
        self._finished_bytes += file.size

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self._enabled and self._last:
            sys.stderr.write("\n")
        self._bar, self._enabled = None, False  # closing twice is harmless


@dataclass
class Stats:
    """Counts for the summary, updated as records are written."""

    files: int = 0
    docs_in: int = 0
    docs_out: int = 0
    docs_changed: int = 0
    docs_emptied: int = 0
    docs_dropped: int = 0
    dropping: bool = False  # --drop-empty
    skipped: int = 0
    # Of the skipped: whole files, records that count towards --max-skipped, and the
    # first one said (kept here so that a resumed run judges the whole input).
    skipped_files: int = 0
    skipped_in_share: int = 0
    first_skipped: str | None = None
    chars_in: int = 0
    chars_removed: int = 0
    spans: dict = field(default_factory=lambda: {"within": 0, "across": 0})
    docs_with: dict = field(default_factory=lambda: {"within": 0, "across": 0})
    kinds: tuple = ("within",)
    spans_known: bool = False  # spans are counted only when a report is written


def plural(n: int, word: str) -> str:
    """``plural(1, "span") == "1 span"``, ``plural(2, "span") == "2 spans"``."""
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def summary(command: str, stats: Stats, seconds: float, extra: str = "") -> str:
    """The lines printed on stderr when ``command`` ends."""
    rate = stats.docs_in / seconds if seconds > 0 else 0.0
    lines = [f"dedup {command}: {plural(stats.docs_in, 'document')} in"]
    if stats.files > 1:
        lines[0] += f" (from {stats.files:,} files)"
    if command == "clean":
        lines[0] += f", {stats.docs_out:,} out"
    if stats.skipped:
        lines[0] += f", {plural(stats.skipped, 'bad record')} skipped"
    if command != "dups":
        share = 100.0 * stats.chars_removed / stats.chars_in if stats.chars_in else 0.0
        verb = "removed" if command == "clean" else "to remove"
        lines.append(f"  characters: {stats.chars_in:,} in, {stats.chars_removed:,} {verb} ({share:.2f}%)")
        for kind, label in (("within", "repeats inside the document"), ("across", "passages seen in earlier documents")):
            if kind in stats.kinds:
                line = f"  {label}: {plural(stats.docs_with[kind], 'document')} changed"
                if stats.spans_known:
                    line += f", {plural(stats.spans[kind], 'span')}"
                lines.append(line)
        if stats.docs_emptied:
            line = f"  documents left empty: {stats.docs_emptied:,}"
            if command == "clean" and not stats.dropping:
                line += " (written with an empty text; --drop-empty leaves them out)"
            lines.append(line)
        if stats.dropping:
            lines.append(f"  documents dropped (no text left): {stats.docs_dropped:,}")
    if extra:
        lines.append(extra)
    time_line = f"  time: {seconds:.1f} s"
    if stats.docs_in and seconds >= 0.05:  # a rate over a few milliseconds says nothing
        time_line += f" ({rate:,.0f} docs/s)" if rate >= 10 else f" ({rate:,.1f} docs/s)"
    lines.append(time_line)
    return "\n".join(lines)
