"""The across-document pass of ``clean`` and ``explain``: passages seen in earlier documents."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ..workers import BARRIER
from .errors import InputError, UsageError
from .stream import screened


def given_options(args: argparse.Namespace, names: Sequence[str]) -> dict:
    """The options the user set explicitly: everything else keeps the library's default."""
    return {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}


class Across:
    """The pass over documents in input order: a ``dedup.Deduplicator`` fed in input order.

    With ``--scope both`` it is ``dedup.Deduplicator()`` itself (``scope="both"``: repeats
    inside a document and passages of earlier documents, aligned together on the original
    text, which is also what the memory keeps), so the command and the library have one
    definition. With ``--scope across`` it is ``Deduplicator(scope="across")``. It runs as
    a stage of the stream (:meth:`run`): the Deduplicator looks documents up and remembers
    them in order in this process, and prepares and aligns them in ``jobs`` worker
    processes; its result does not depend on ``--jobs``.
    """

    def __init__(self, args: argparse.Namespace, jobs: int = 1, memory: str | None = None) -> None:
        """``jobs``: worker processes; ``memory``: a saved memory to start from instead of
        ``--state`` (a checkpoint's)."""
        from .. import Deduplicator

        options = given_options(args, ("threshold", "ngram", "mode", "min_length", "max_gap", "window"))
        scope = "both" if args.scope == "both" else "across"
        self.state_path = args.state
        # A memory from earlier runs (or from this run's checkpoint, whose documents the
        # resumed run does not read again).
        self.loaded = bool(memory or (args.state and os.path.exists(args.state)))
        if self.loaded:
            try:
                # Options given on the command line must agree with what the state stored
                # (ngram, window: load raises otherwise) and replace its matching parameters.
                self.dedup = Deduplicator.load(memory or args.state, **dict(options, scope=scope, workers=jobs))
            except ValueError as error:
                if "differs from" in str(error):
                    raise UsageError(f"--state {args.state}: {error}") from None
                raise InputError(f"cannot load --state {args.state}: {error}") from None
            except OSError as error:
                raise InputError(f"cannot load --state {args.state}: {error}") from None
        else:
            try:
                self.dedup = Deduplicator(**dict(options, scope=scope, workers=jobs))
            except ValueError as error:
                raise UsageError(f"--scope {args.scope}: {error} (the across-document pass)") from None

    def run(
        self,
        events: Iterator[tuple[str, Any, Any]],
        screen: Callable[[str, Any, Any], tuple[Any, Any]],
        barrier_after: Callable[[int], bool],
    ) -> Iterator[tuple[str, Any, Any]]:
        """The within pass's events (``--scope within`` only has one) with the pass over
        documents applied, in order. A processed chunk's payload ``[(cleaned or None,
        spans)]`` becomes ``(that, texts after the within pass, [(final text, matches)])``.

        ``screen`` sees every event in input order before the Deduplicator does (which
        runs ahead of what this yields) and returns the chunk to go on with (records it
        refuses left out). After an event when ``barrier_after(input records of the
        event)`` says so comes a ``BARRIER`` (payload: the input records read so far),
        handed out once all before it is, with the memory holding exactly the documents
        before it (a checkpoint)."""

        def batches() -> Iterator[tuple[list[str] | None, list | None, tuple]]:
            for kind, payload, context in screened(events, screen, barrier_after):
                if kind == BARRIER:
                    yield None, None, (BARRIER, payload, None, None)
                elif kind == "chunk":
                    results, within, _ = payload
                    yield within, [record.id for record in context], (kind, results, context, within)
                else:
                    yield [], None, (kind, payload, context, None)

        yield from self._applied(self.dedup.find_stream(batches(), remember=True))

    def _applied(self, found_stream) -> Iterator[tuple[str, Any, Any]]:
        from ..align.spans import remove_spans

        for (kind, payload, context, within), found in found_stream:
            if kind != "chunk":
                yield kind, payload, context
                continue
            final = [
                (remove_spans(text, [(m.start, m.end) for m in matches]) if matches else text, matches)
                for text, matches in zip(within, found)
            ]
            yield kind, (payload, within, final), context

    def remembers(self, doc_id: Any) -> bool:
        """Is ``doc_id`` already in the memory (from the loaded state, or this run)?"""
        return self.dedup.remembers(doc_id)

    def save(self, path: str) -> None:
        self.dedup.save(path)

    def close(self) -> None:
        self.dedup.close()
