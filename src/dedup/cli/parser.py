"""The command line: options, their checks and their help text."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable

from .. import __version__
from .._validate import check_fraction, check_int
from ..io import FORMATS, STDIO
from ..text import TOKEN_MODES

SCOPES = ("within", "across", "both")


def fraction_option(name: str) -> Callable[[str], float]:
    """An argparse type: a number in (0, 1] for option ``name``."""

    def parse(value: str) -> float:
        try:
            number = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a number in (0, 1], got {value!r}") from None
        try:
            return check_fraction(name, number, closed_high=True)
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


def default_jobs() -> int:
    """Worker processes when ``--jobs`` is not given: the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


EPILOG = """exit codes:
  0    success (records skipped with --on-error skip are listed on stderr and in --rejects)
  1    bad input data with --on-error fail (message names file and line), unreadable input,
       processing failed (e.g. a worker was killed)
  2    usage error: bad option, input not found, output would overwrite the input,
       missing optional package
  130  interrupted (Ctrl-C), 143 terminated (SIGTERM), 141 output pipe closed early
  No output file is created or replaced unless the exit code is 0.
"""


def build_parser() -> argparse.ArgumentParser:
    """The ``dedup`` parser with its three commands: ``clean``, ``explain`` and ``dups``."""
    parser = argparse.ArgumentParser(
        prog="dedup",
        description="Find and remove near-duplicate text in corpus files (JSONL, Parquet, plain text).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"dedup {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def common(sub: argparse.ArgumentParser, output_help: str) -> None:
        sub.add_argument("input", metavar="IN", help="file (JSONL, Parquet, text; may be .gz/.zst), folder, or - for stdin")
        sub.add_argument("-o", "--output", metavar="OUT", default=STDIO, help=output_help)
        sub.add_argument(
            "--format", choices=("auto",) + FORMATS, default="auto",
            help="input format (default: from the file extension, else from the content)",
        )
        sub.add_argument("--text-field", default="text", metavar="NAME", help="JSONL field / Parquet column with the text (default: text)")
        sub.add_argument(
            "--id-field", default=None, metavar="NAME",
            help="field with the document id (default: 'id' if present, else FILE:LINE); if given, it must be present",
        )
        sub.add_argument(
            "--on-error", choices=("fail", "skip"), default="fail",
            help="bad record (invalid JSON or UTF-8, missing or non-string field): stop with exit code 1 (default), or skip it",
        )
        sub.add_argument("--rejects", metavar="FILE", help="write skipped records here, verbatim (JSONL input) or as JSON lines")
        sub.add_argument(
            "-j", "--jobs", type=integer_option("--jobs", 1), default=None, metavar="N",
            help="worker processes (default: all cores); the output does not depend on it",
        )
        sub.add_argument("-q", "--quiet", action="store_true", help="no progress bar and no summary on stderr")

    def matching(sub: argparse.ArgumentParser, within: bool) -> None:
        group = sub.add_argument_group("matching (defaults: the library's)")
        group.add_argument("--threshold", type=fraction_option("--threshold"), help="minimum Jaccard similarity, in (0, 1]")
        group.add_argument("--ngram", type=integer_option("--ngram", 1), help="words per shingle")
        group.add_argument("--num-perm", type=integer_option("--num-perm", 1), help="MinHash permutations")
        group.add_argument("--seed", type=integer_option("--seed", 0), help="MinHash seed")
        group.add_argument(
            "--mode", choices=TOKEN_MODES,
            help="tokens: auto (default): words, and single characters of scripts written without spaces "
            "(Chinese, Japanese, Thai, ...); word; char",
        )
        if within:
            group.add_argument("--min-length", type=integer_option("--min-length", 1), help="shortest repeat removed, in words")
            group.add_argument("--max-gap", type=integer_option("--max-gap", 0), help="longest edited stretch bridged inside one repeat, in words")
            group.add_argument(
                "--scope", choices=SCOPES, default="within",
                help="within: repeats inside each document (default); across: passages seen in earlier documents; both",
            )
            group.add_argument(
                "--state", metavar="FILE",
                help="across-document memory: loaded if FILE exists, saved back after a successful clean run",
            )

    def command(name: str, summary: str, description: str) -> argparse.ArgumentParser:
        return commands.add_parser(
            name, help=summary, description=description,
            epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    clean = command(
        "clean", "remove repeated passages; write the records back",
        "Remove repeated passages; write the records back in the same format and order.",
    )
    common(clean, "output file or folder (default: - for stdout); .gz/.zst compress")
    matching(clean, within=True)
    clean.add_argument("--report", metavar="FILE", help="also write what was removed as JSONL (see 'dedup explain')")

    explain = command(
        "explain", "report what 'clean' would remove and why, as JSONL",
        "Report every span 'clean' would remove: document, span, earlier span it repeats, similarity.",
    )
    common(explain, "report file (default: - for stdout)")
    matching(explain, within=True)

    dups = command(
        "dups", "clusters of near-duplicate documents, as JSONL",
        "Find clusters of near-duplicate documents; one JSON line per cluster.",
    )
    common(dups, "clusters file (default: - for stdout)")
    matching(dups, within=False)
    return parser
