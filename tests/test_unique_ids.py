"""The commands' record of ids seen in a run (dedup.cli.unique_ids) against a plain set."""

from __future__ import annotations

import random

import pytest

from dedup.cli import unique_ids
from dedup.cli.errors import DataError
from dedup.cli.records import Record
from dedup.cli.unique_ids import UniqueIds


def first_repeat(records: list[Record]) -> str | None:
    """The message for the first repeated id, as a dictionary of every id finds it."""
    places: dict = {}
    for record in records:
        key = (type(record.id).__name__, record.id)
        if key in places:
            return (f"{record.source}:{record.line}: document id {record.id!r} was used before (at {places[key]}); "
                    "ids must be unique (use --id-field NAME with a unique field)")
        places[key] = f"{record.source}:{record.line}"
    return None


@pytest.mark.parametrize("recent", [1, 4, 7, 1 << 16])
def test_every_repeated_id_is_found_whatever_the_batches_and_flushes(monkeypatch, recent):
    # Batches of uneven sizes (chunks cut short by a bad record or a file's end), with the
    # ids held in the dictionary moved into the sorted runs at any point of a batch.
    monkeypatch.setattr(unique_ids, "RECENT_IDS", recent)
    rng = random.Random(recent)
    for _ in range(40):
        ids = [rng.choice([rng.randrange(80), str(rng.randrange(80)), f"id-{rng.randrange(80)}"]) for _ in range(120)]
        records = [Record(f"f{k % 3}.jsonl", k + 1, doc_id, "text") for k, doc_id in enumerate(ids)]
        seen, position, said = UniqueIds(), 0, None
        try:
            while position < len(records):
                size = rng.randrange(1, 9)
                seen.check_all(records[position : position + size])
                position += size
        except DataError as error:
            said = str(error)
        assert said == first_repeat(records)
