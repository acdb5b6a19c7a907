"""The across-document pass of ``clean`` and ``explain``: passages seen in earlier documents."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from typing import Any

from ..io import InputError, UsageError


def given_options(args: argparse.Namespace, names: Sequence[str]) -> dict:
    """The options the user set explicitly: everything else keeps the library's default."""
    return {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}


class Across:
    """The across-document pass: a ``dedup.Deduplicator(scope="across")`` fed in input order.

    It runs in the main process on the text left by the within-document pass, one chunk
    at a time (``add_many``: one NumPy pass per chunk, each document still sees all
    documents before it), so its result does not depend on ``--jobs``.
    """

    def __init__(self, args: argparse.Namespace) -> None:
        from .. import Deduplicator

        options = given_options(args, ("threshold", "ngram", "mode", "min_length", "max_gap", "window"))
        self.state_path = args.state
        self.loaded = bool(args.state and os.path.exists(args.state))  # a memory from earlier runs
        if self.loaded:
            try:
                # Options given on the command line must agree with what the state stored
                # (ngram, window: load raises otherwise) and replace its matching parameters.
                self.dedup = Deduplicator.load(args.state, **dict(options, scope="across"))
            except ValueError as error:
                if "differs from" in str(error):
                    raise UsageError(f"--state {args.state}: {error}") from None
                raise InputError(f"cannot load --state {args.state}: {error}") from None
            except OSError as error:
                raise InputError(f"cannot load --state {args.state}: {error}") from None
        else:
            try:
                self.dedup = Deduplicator(**dict(options, scope="across"))
            except ValueError as error:
                raise UsageError(f"--scope {args.scope}: {error} (the across-document pass)") from None

    def process(self, texts: list[str], ids: list[Any]) -> list[tuple[str, list]]:
        """For each text: (text without passages seen in earlier documents, the matches)."""
        from ..repeats import remove_spans

        found = self.dedup.add_many(texts, ids)
        return [
            (remove_spans(text, [(m.start, m.end) for m in matches]) if matches else text, matches)
            for text, matches in zip(texts, found)
        ]

    def remembers(self, doc_id: Any) -> bool:
        """Is ``doc_id`` already in the memory (from the loaded state, or this run)?"""
        return self.dedup.remembers(doc_id)

    def save(self, path: str) -> None:
        self.dedup.save(path)
