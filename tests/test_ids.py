"""One rule for whether two document ids are the same (dedup.documents.id_key), applied by
every entry point that requires unique ids: 7 and "7" are two ids, 7 and numpy.int64(7)
are one."""

from __future__ import annotations

import numpy as np
import pytest

from dedup import Deduplicator, find_duplicates
from dedup.documents import id_key, iter_documents
from dedup.report import explain
from test_cli import run, write_jsonl

TEXTS = [
    "The ferry to the northern islands leaves twice a day in summer and once a day in winter.",
    "A new bakery opened next to the station and sells rye bread from an old family recipe.",
]

SAME = [(7, 7), ("a", "a"), (7, np.int64(7))]  # one id given twice
TWO = [(7, "7"), ("a", "A"), ("7", "07")]  # two ids


def deduplicator_add(ids, tmp_path):
    Deduplicator().add_many(TEXTS, list(ids))


def deduplicator_add_one_by_one(ids, tmp_path):
    # The second id is checked against the memory (MemoryStore.has_id), not the batch.
    dedup = Deduplicator()
    for text, doc_id in zip(TEXTS, ids):
        dedup.add(text, doc_id=doc_id)


def deduplicator_sqlite(ids, tmp_path):
    with Deduplicator(store=tmp_path / f"state-{len(list(tmp_path.iterdir()))}.sqlite") as dedup:
        for text, doc_id in zip(TEXTS, ids):
            dedup.add(text, doc_id=doc_id)


def saved_and_loaded(ids, tmp_path):
    # The memory read back from a saved state knows the first id by the same rule.
    path = tmp_path / f"state-{len(list(tmp_path.iterdir()))}.dedup"
    first = Deduplicator()
    first.add(TEXTS[0], doc_id=ids[0])
    first.save(path)
    Deduplicator.load(path).add(TEXTS[1], doc_id=ids[1])


def duplicates(ids, tmp_path):
    find_duplicates(list(zip(ids, TEXTS)))


def explained(ids, tmp_path):
    explain(list(zip(ids, TEXTS)))


def documents(ids, tmp_path):
    list(iter_documents(TEXTS, ids=list(ids)))


ENTRY_POINTS = [
    deduplicator_add, deduplicator_add_one_by_one, deduplicator_sqlite, saved_and_loaded, duplicates, explained, documents
]  # fmt: skip


def test_id_key_tells_ids_apart_by_kind_and_value():
    assert id_key(7) != id_key("7") and id_key(1) != id_key(True) and id_key(1) != id_key(1.0)
    assert id_key(7) == id_key(np.int64(7)) == id_key(np.uint8(7)) and id_key("a") == id_key(np.str_("a"))
    assert id_key("1.0") != id_key(1.0)


@pytest.mark.parametrize("entry", ENTRY_POINTS, ids=lambda entry: entry.__name__)
@pytest.mark.parametrize("ids", SAME, ids=repr)
def test_every_entry_point_refuses_an_id_given_twice(entry, ids, tmp_path):
    with pytest.raises(ValueError, match="(used before|repeated).*ids must be unique"):
        entry(ids, tmp_path)


@pytest.mark.parametrize("entry", ENTRY_POINTS, ids=lambda entry: entry.__name__)
@pytest.mark.parametrize("ids", TWO, ids=repr)
def test_every_entry_point_takes_two_ids_that_only_look_alike(entry, ids, tmp_path):
    entry(ids, tmp_path)


@pytest.mark.parametrize("ids", [(1, True), (1, 1.0), ("1.0", 1.0)], ids=repr)
def test_ids_of_other_kinds_are_told_apart_by_kind_too(ids):
    # find_duplicates and explain take any hashable id; Deduplicator and the command take
    # only str and int, so these pairs cannot reach them.
    assert len(find_duplicates(list(zip(ids, TEXTS))).ids) == 2
    assert [doc_id for doc_id, _ in iter_documents(list(zip(ids, TEXTS)))] == list(ids)


@pytest.mark.parametrize("command", ["dups", "clean"])
def test_the_command_applies_the_same_rule(tmp_path, command):
    write_jsonl(tmp_path / "two.jsonl", [{"id": 7, "text": TEXTS[0]}, {"id": "7", "text": TEXTS[1]}])
    run(command, tmp_path / "two.jsonl", "-o", tmp_path / "out.jsonl", check_rc=0)
    write_jsonl(tmp_path / "same.jsonl", [{"id": 7, "text": TEXTS[0]}, {"id": 7, "text": TEXTS[1]}])
    done = run(command, tmp_path / "same.jsonl", "-o", tmp_path / "out2.jsonl", check_rc=1)
    assert "document id 7 was used before" in done.stderr.decode()
