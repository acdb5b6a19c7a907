"""Bad records: stop at the first one (``--on-error fail``), or skip them, named on stderr
and kept in ``--rejects``, and refuse a run that skipped all or too much of its input."""

from __future__ import annotations

import argparse
import sys

from .errors import DataError
from .progress import Stats, plural
from .records import RecordError
from .writers import RecordWriter

# Beyond this many, skipped records are counted but not each named on stderr.
_MAX_SKIP_MESSAGES = 20


class BadRecords:
    """What a run does with the bad records it meets, and the check at its end.

    Skipped files (a broken link, a truncated archive) count towards "nothing read" but not
    towards the share of ``--max-skipped``: a file holds an unknown number of records.
    Neither do documents skipped because ``--state`` holds them already: a rerun on a grown
    input skips many of them for a good reason.
    """

    def __init__(self, args: argparse.Namespace, stats: Stats, rejects: RecordWriter | None) -> None:
        self._skip = args.on_error == "skip"
        self._quiet = args.quiet
        self._max_share = args.max_skipped
        self._stats = stats
        self._rejects = rejects

    def handle(self, error: RecordError, *, hint: str = "use --on-error skip to skip bad records",
               in_share: bool = True) -> None:
        """Stop the run on ``error`` (a ``DataError`` ending with ``hint``), or skip the record
        or file it names. A record skipped for a reason that says nothing about the options
        (``in_share=False``) does not count towards ``--max-skipped``."""
        if not self._skip:
            raise DataError(f"{error} ({hint})", recurs=not error.unreadable)
        stats = self._stats  # skipped files have an unknown number of records each
        stats.skipped += 1
        stats.skipped_files += error.unit == "file"
        stats.skipped_in_share += error.unit != "file" and in_share
        stats.first_skipped = stats.first_skipped or str(error)
        if self._rejects is not None:
            self._rejects.write_bytes(error.reject_bytes())
        if not self._quiet:
            if self._stats.skipped <= _MAX_SKIP_MESSAGES:
                sys.stderr.write(f"dedup: skipped {error}\n")
            elif self._stats.skipped == _MAX_SKIP_MESSAGES + 1:
                see = " (see --rejects)" if self._rejects is not None else ""
                sys.stderr.write(f"dedup: further skipped records are not shown{see}\n")

    def check_enough_read(self) -> None:
        """At the end of the input: a ``DataError`` when the run read no document but skipped
        something, or skipped more than ``--max-skipped`` of its records; nothing is written then."""
        stats = self._stats
        if stats.first_skipped is None:
            return
        read = stats.docs_in
        first = f"the first: {stats.first_skipped}"
        if not read:
            records = stats.skipped - stats.skipped_files
            what = [plural(records, "record")] if records else []
            what += [plural(stats.skipped_files, "file")] if stats.skipped_files else []
            raise DataError(f"no document was read, {' and '.join(what)} skipped ({first}); no output written")
        bad = stats.skipped_in_share
        share = bad / (bad + read)
        if share > self._max_share:
            raise DataError(
                f"{bad:,} of {bad + read:,} records were bad and skipped ({share:.0%}), more than "
                f"--max-skipped {self._max_share:g} allows ({first}); check the input and the options, "
                "or raise --max-skipped; no output written"
            )
