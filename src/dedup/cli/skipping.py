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
        self._files = 0  # skipped files (each an unknown number of records)
        self._bad = 0  # skipped records that count towards --max-skipped
        self._first: RecordError | None = None

    def handle(self, error: RecordError, *, hint: str = "use --on-error skip to skip bad records",
               in_share: bool = True) -> None:
        """Stop the run on ``error`` (a ``DataError`` ending with ``hint``), or skip the record
        or file it names. A record skipped for a reason that says nothing about the options
        (``in_share=False``) does not count towards ``--max-skipped``."""
        if not self._skip:
            raise DataError(f"{error} ({hint})")
        self._stats.skipped += 1
        self._files += error.unit == "file"
        self._bad += error.unit != "file" and in_share
        self._first = self._first or error
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
        if self._first is None:
            return
        read = self._stats.docs_in
        first = f"the first: {self._first}"
        if not read:
            records = self._stats.skipped - self._files
            what = [plural(records, "record")] if records else []
            what += [plural(self._files, "file")] if self._files else []
            raise DataError(f"no document was read, {' and '.join(what)} skipped ({first}); no output written")
        share = self._bad / (self._bad + read)
        if share > self._max_share:
            raise DataError(
                f"{self._bad:,} of {self._bad + read:,} records were bad and skipped ({share:.0%}), more than "
                f"--max-skipped {self._max_share:g} allows ({first}); check the input and the options, "
                "or raise --max-skipped; no output written"
            )
