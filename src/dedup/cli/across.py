"""The across-document pass of ``clean`` and ``explain``: passages seen in earlier documents."""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ..pipeline import AcrossPass
from ..workers import BARRIER
from .errors import InputError, OutputError, UsageError
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
        #: How the memory is named to the user: "--state FILE" or "--store FILE" (or None).
        self.memory_option = f"--store {args.store}" if args.store else f"--state {args.state}" if args.state else None
        self.on_disk = bool(args.store)
        if args.store:
            self.dedup = _open_store(args.store, dict(options, scope=scope, workers=jobs))
            self.loaded = len(self.dedup) > 0
            return
        # A memory from earlier runs (or from this run's checkpoint, whose documents the
        # resumed run does not read again).
        self.loaded = bool(memory or (args.state and os.path.exists(args.state)))
        if self.loaded:
            with _opening("--state", args.state):
                # Options given on the command line must agree with what the state stored
                # (ngram, window: load raises otherwise) and replace its matching parameters.
                self.dedup = Deduplicator.load(memory or args.state, **dict(options, scope=scope, workers=jobs))
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
        """The within stage's events (``--scope within`` only has one) with the pass over
        documents applied, in order: a processed chunk's payload (its documents,
        :class:`dedup.pipeline.Cleaned`) becomes the documents after both stages
        (:class:`dedup.pipeline.AcrossPass`).

        ``screen`` sees every event in input order before the Deduplicator does (which
        runs ahead of what this yields) and returns the chunk to go on with (records it
        refuses left out). After an event when ``barrier_after(input records of the
        event)`` says so comes a ``BARRIER`` (payload: the input records read so far),
        handed out once all before it is, with the memory holding exactly the documents
        before it (a checkpoint)."""

        def batches() -> Iterator[tuple[list[str] | None, list | None, tuple]]:
            for kind, payload, context in screened(events, screen, barrier_after):
                if kind == BARRIER:
                    yield None, None, (BARRIER, payload, None)
                elif kind == "chunk":
                    texts = [document.cleaned for document in payload]
                    yield texts, [record.id for record in context], (kind, payload, context)
                else:
                    yield [], None, (kind, payload, context)

        finishing = AcrossPass()
        for (kind, payload, context), found in self.dedup.find_stream(batches(), remember=True):
            if kind == "chunk":
                payload = [finishing.finish(document, matches) for document, matches in zip(payload, found)]
            yield kind, payload, context

    def remembers(self, doc_id: Any) -> bool:
        """Is ``doc_id`` already in the memory (from the loaded state, or this run)?"""
        return self.dedup.remembers(doc_id)

    def save(self, path: str) -> None:
        self.dedup.save(path)

    def close(self, keep: bool = True) -> None:
        """Let go of the memory; with ``--store``, unless ``keep``, first remove what this
        run added to it (the run failed before its commit was decided)."""
        try:
            if not keep and self.on_disk:
                self.dedup.roll_back_run()
        finally:
            self.dedup.close()


def _open_store(path: str, options: dict):
    """``Deduplicator(store=path)`` with the command's options, its errors said about
    ``--store``. Options not given keep the store's values, as with ``--state``."""
    from .. import Deduplicator
    from ..store import read_meta

    with _opening("--store", path):
        stored = read_meta(path)["params"] if os.path.isfile(path) and os.path.getsize(path) else {}
        return Deduplicator(**{**stored, **options}, store=path)


@contextlib.contextmanager
def _opening(option: str, path: str) -> Iterator[None]:
    """The errors of opening the memory ``path`` (``--state`` or ``--store``), said about
    the option: in use by another run, a folder, built with other fixed parameters (a
    usage error), damaged or unreadable."""
    from ..locking import InUseError

    try:
        yield
    except InUseError as error:
        raise OutputError(f"{option} {error}: another dedup run uses this {option[2:]}; wait for it to end") from None
    except IsADirectoryError:
        raise UsageError(f"{option} {path} is a folder; name a file") from None
    except ValueError as error:
        if "differs from" in str(error) or "other parameters" in str(error):
            raise UsageError(f"{option} {path}: {error}") from None
        raise InputError(f"cannot load {option} {path}: {error}") from None
    except OSError as error:
        raise InputError(f"cannot load {option} {path}: {error.strerror or error}") from None
