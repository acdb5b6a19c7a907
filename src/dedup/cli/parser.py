"""The command line: options, their checks and their help text."""

from __future__ import annotations

import argparse
import inspect
import os
from collections.abc import Callable
from typing import Any

from .. import __version__
from .._validate import check_fraction, check_int
from ..text import DEFAULT_MODE, TOKEN_MODES
from .inputs import CSV_DELIMITERS, FORMATS, STDIO

SCOPES = ("within", "across", "both")
# With --on-error skip, more bad records than this share means a wrong option or input,
# not a few damaged records: the run fails instead of writing what little is left.
MAX_SKIPPED = 0.5


def fraction_option(name: str, *, closed_high: bool, closed_low: bool = False) -> Callable[[str], float]:
    """An argparse type: a number in (0, 1), with either end closed as asked, for option ``name``."""
    accepted = ("[" if closed_low else "(") + "0, 1" + ("]" if closed_high else ")")

    def parse(value: str) -> float:
        try:
            number = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a number in {accepted}, got {value!r}") from None
        try:
            return check_fraction(name, number, closed_low=closed_low, closed_high=closed_high)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return parse


def integer_option(name: str, minimum: int) -> Callable[[str], int]:
    """An argparse type: an integer >= ``minimum`` for option ``name``."""

    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be an integer >= {minimum}, got {value!r}") from None
        try:
            return check_int(name, number, minimum)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return parse


def delimiter_option(value: str) -> str:
    """An argparse type: the ``--csv-delimiter``, one character (``tab`` or ``\\t`` for a tab)."""
    value = "\t" if value in ("tab", "\\t") else value
    if len(value) != 1 or value in "\"\r\n":
        raise argparse.ArgumentTypeError(
            f"--csv-delimiter must be one character other than a quote or line break, got {value!r}")
    return value


def default_jobs() -> int:
    """Worker processes when ``--jobs`` is not given: the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


EPILOG = """exit codes:
  0    success (records skipped with --on-error skip are listed on stderr and in --rejects)
  1    bad input data with --on-error fail (message names file and line), unreadable input,
       a repeated document id (also one --state holds), --on-error skip that read no document
       or skipped more than --max-skipped, processing failed (e.g. a worker was killed)
  2    usage error: bad option, input not found, output would overwrite the input,
       missing optional package
  130  interrupted (Ctrl-C), 143 terminated (SIGTERM), 141 output pipe closed early
  No output file is created or replaced unless the exit code is 0.
"""


def library_defaults(function: Callable) -> dict[str, Any]:
    """The keyword defaults of ``function``: the help shows the values the library uses."""
    return {
        name: parameter.default
        for name, parameter in inspect.signature(function).parameters.items()
        if parameter.default is not parameter.empty
    }


def _both(within: Any, across: Any, unit: str = "") -> str:
    # One default, or the two passes' defaults when they differ.
    if within == across:
        return f"default: {within}{unit}"
    return f"default: {within}{unit} inside a document, {across}{unit} across documents"


class CommandParser(argparse.ArgumentParser):
    """The top-level parser: an option that no part of the command line knows is reported
    with the usage of the command it was given to (``dedup clean --bogus`` shows clean's)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands: dict[str, argparse.ArgumentParser] = {}

    def parse_args(self, args=None, namespace=None):  # type: ignore[override]
        parsed, unknown = self.parse_known_args(args, namespace)
        if unknown:
            command = self.commands.get(getattr(parsed, "command", None), self)
            command.error("unrecognized arguments: " + " ".join(unknown))
        return parsed


def build_parser() -> argparse.ArgumentParser:
    """The ``dedup`` parser with its three commands: ``clean``, ``explain`` and ``dups``."""
    from .. import Deduplicator, find_duplicates, find_repeats

    within_defaults = library_defaults(find_repeats)
    across_defaults = library_defaults(Deduplicator.__init__)
    dups_defaults = library_defaults(find_duplicates)

    parser = CommandParser(
        prog="dedup",
        description="Find and remove near-duplicate text in corpus files (JSONL, Parquet, CSV/TSV, plain text).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"dedup {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def common(sub: argparse.ArgumentParser, output_help: str, parallel: bool, output_default: str | None = STDIO) -> None:
        sub.add_argument("input", metavar="IN",
                         help="file (JSONL, Parquet, CSV/TSV, text; may be .gz/.zst), folder, or - for stdin")
        sub.add_argument("-o", "--output", metavar="OUT", default=output_default, help=output_help)
        sub.add_argument(
            "--format", choices=("auto",) + FORMATS, default="auto",
            help="input format (default: from the file extension, else from the content)",
        )
        sub.add_argument("--text-field", default="text", metavar="NAME",
                         help="JSONL field / Parquet or CSV column with the text (default: text)")
        sub.add_argument(
            "--id-field", default=None, metavar="NAME",
            help="field with the document id (default: 'id' if present, else FILE:LINE); if given, it must be present",
        )
        sub.add_argument(
            "--csv-delimiter", type=delimiter_option, metavar="C",
            help="CSV/TSV delimiter, one character or 'tab' (default: tab for .tsv; for .csv the one of "
            f"{' '.join(repr(d) if d != chr(9) else 'tab' for d in CSV_DELIMITERS)} found most in the header line)",
        )
        sub.add_argument(
            "--on-error", choices=("fail", "skip"), default="fail",
            help="bad record (invalid JSON or UTF-8, missing or non-string field): stop with exit code 1 (default), or skip it",
        )
        sub.add_argument("--rejects", metavar="FILE", help="write skipped records here, verbatim (JSONL input) or as JSON lines")
        sub.add_argument(
            "--max-skipped", type=fraction_option("--max-skipped", closed_low=True, closed_high=True),
            default=MAX_SKIPPED, metavar="SHARE",
            help="with --on-error skip, the run fails when it read no document, or when more than this share "
            f"of the records was bad: a wrong option, not a few bad records (default: {MAX_SKIPPED})",
        )
        if parallel:
            sub.add_argument(
                "-j", "--jobs", type=integer_option("--jobs", 1), default=None, metavar="N",
                help=f"worker processes (default: all cores, here {default_jobs()}): they clean documents "
                "(--scope within), or prepare and align them while this process looks them up in order "
                "(across, both); the output does not depend on it",
            )
        sub.add_argument("-q", "--quiet", action="store_true", help="no progress bar and no summary on stderr")

    def matching_clean(sub: argparse.ArgumentParser) -> None:
        group = sub.add_argument_group("matching (a value given applies to both passes)")
        group.add_argument(
            "--scope", choices=SCOPES, default="both",
            help="within: repeats inside each document; across: passages seen in earlier documents; "
            "both: the two together, as dedup.Deduplicator() (default: both)",
        )
        group.add_argument(
            "--threshold", type=fraction_option("--threshold", closed_high=True), metavar="X",
            help="minimum share of a passage's word n-grams found in the passage it repeats, in (0, 1] "
            f"(default: {within_defaults['threshold']})",
        )
        group.add_argument(
            "--min-length", type=integer_option("--min-length", 1), metavar="N",
            help=f"shortest passage removed, in matched words (default: {within_defaults['min_length']})",
        )
        group.add_argument(
            "--ngram", type=integer_option("--ngram", 1), metavar="N",
            help=f"words per shingle (default: {within_defaults['ngram']})",
        )
        group.add_argument(
            "--max-gap", type=integer_option("--max-gap", 0), metavar="N",
            help=f"longest edited stretch bridged inside one repeat, in words (default: {within_defaults['max_gap']})",
        )
        group.add_argument(
            "--window", type=integer_option("--window", 1), metavar="N",
            help="winnowing window of the across pass: a shared run of N + ngram - 1 words is always seen "
            f"(default: {across_defaults['window']})",
        )
        group.add_argument(
            "--mode", choices=TOKEN_MODES,
            help="tokens: auto: words, and single characters of scripts written without spaces "
            "(Chinese, Japanese, Thai, ...); word; char "
            f"({_both(within_defaults.get('mode', DEFAULT_MODE), across_defaults['mode'])})",
        )
        group.add_argument(
            "--state", metavar="FILE",
            help="across-document memory: loaded if FILE exists, saved back after a successful clean run",
        )
        group.add_argument(
            "--store", metavar="FILE",
            help="across-document memory kept on disk in FILE (created if missing), for streams larger "
            "than memory: a clean run adds its documents, kept only if the run succeeds",
        )

    def matching_dups(sub: argparse.ArgumentParser) -> None:
        group = sub.add_argument_group("matching")
        group.add_argument(
            "--threshold", type=fraction_option("--threshold", closed_high=False), metavar="X",
            help=f"minimum Jaccard similarity of two documents, in (0, 1) (default: {dups_defaults['threshold']})",
        )
        group.add_argument("--ngram", type=integer_option("--ngram", 1), metavar="N",
                           help=f"words per shingle (default: {dups_defaults['ngram']})")
        group.add_argument("--num-perm", type=integer_option("--num-perm", 1), metavar="N",
                           help=f"MinHash permutations (default: {dups_defaults['num_perm']})")
        group.add_argument("--seed", type=integer_option("--seed", 0), metavar="N",
                           help=f"MinHash seed (default: {dups_defaults['seed']})")
        group.add_argument("--mode", choices=TOKEN_MODES,
                           help="tokens: auto: words, and single characters of scripts written without spaces "
                           f"(Chinese, Japanese, Thai, ...); word; char (default: {dups_defaults['mode']})")

    def command(name: str, summary: str, description: str) -> argparse.ArgumentParser:
        parser.commands[name] = commands.add_parser(
            name, help=summary, description=description,
            epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        return parser.commands[name]

    clean = command(
        "clean", "remove repeated passages; write the records back",
        "Remove passages repeated inside a document and passages already seen in earlier documents;\n"
        "write the records back in the same format and order.",
    )
    common(clean, "output file or folder (default: - for stdout); .gz/.zst compress", parallel=True)
    matching_clean(clean)
    clean.add_argument("--report", metavar="FILE", help="also write what was removed as JSONL (see 'dedup explain')")
    clean.add_argument(
        "--checkpoint-every", type=integer_option("--checkpoint-every", 1), metavar="N",
        help="every N records, make the outputs so far durable in .OUT.dedup-checkpoint/ next to -o; "
        "rerunning the same command after a crash resumes there (one JSONL or text input file, "
        "uncompressed outputs)",
    )
    clean.add_argument(
        "--drop-empty", action="store_true",
        help="leave out records with no text left (empty or only whitespace); --report still lists them "
        "(default: keep them, with their empty text)",
    )

    explain = command(
        "explain", "report what 'clean' would remove and why, as JSONL",
        "Report every span 'clean' would remove: document, span, earlier span it repeats, similarity.",
    )
    common(explain, "JSON-lines report file (default: - for stdout, unless --html is given)", parallel=True,
           output_default=None)
    matching_clean(explain)
    explain.add_argument(
        "--html", metavar="FILE",
        help="also write one self-contained HTML page: changed documents with removed spans highlighted, "
        "each linked to the passage it repeats, with figures; pages and a filter for large inputs",
    )

    dups = command(
        "dups", "clusters of near-duplicate documents, as JSONL",
        "Find clusters of near-duplicate documents; one JSON line per cluster.",
    )
    common(dups, "clusters file (default: - for stdout)", parallel=False)
    matching_dups(dups)
    return parser
