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
    """The pass over documents in input order: a ``dedup.Deduplicator`` fed in input order.

    With ``--scope both`` it is ``dedup.Deduplicator()`` itself (``scope="both"``: repeats
    inside a document and passages of earlier documents, aligned together on the original
    text, which is also what the memory keeps), so the command and the library have one
    definition. With ``--scope across`` it is ``Deduplicator(scope="across")``. It runs
    in the main process, one chunk at a time (``add_many``: one NumPy pass per chunk, each
    document still sees all documents before it), so its result does not depend on ``--jobs``.
    """

    def __init__(self, args: argparse.Namespace) -> None:
        from .. import Deduplicator

        options = given_options(args, ("threshold", "ngram", "mode", "min_length", "max_gap", "window"))
        scope = "both" if args.scope == "both" else "across"
        if args.state and os.path.exists(args.state):
            try:
                # Options given on the command line must agree with what the state stored
                # (ngram, window: load raises otherwise) and replace its matching parameters.
                self.dedup = Deduplicator.load(args.state, **dict(options, scope=scope))
            except ValueError as error:
                if "differs from" in str(error):
                    raise UsageError(f"--state {args.state}: {error}") from None
                raise InputError(f"cannot load --state {args.state}: {error}") from None
            except OSError as error:
                raise InputError(f"cannot load --state {args.state}: {error}") from None
        else:
            try:
                self.dedup = Deduplicator(**dict(options, scope=scope))
            except ValueError as error:
                raise UsageError(f"--scope {args.scope}: {error} (the across-document pass)") from None

    def process(self, texts: list[str], ids: list[Any]) -> list[tuple[str, list]]:
        """For each text: (the text without what the matches cover, the matches)."""
        from ..repeats import remove_spans

        found = self.dedup.add_many(texts, ids)
        return [
            (remove_spans(text, [(m.start, m.end) for m in matches]) if matches else text, matches)
            for text, matches in zip(texts, found)
        ]

    def save(self, path: str) -> None:
        self.dedup.save(path)
