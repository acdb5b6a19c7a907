"""State and store files whose names hold characters that mean something in a URI or a shell."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import dedup
from dedup.deduplicator import Deduplicator
from news_texts import LOCAL_A, SPORT, WIRE_EN

SRC = str(Path(dedup.__file__).resolve().parent.parent)
ENV = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))

ODD_NAMES = [
    "st#1.dedup",
    "day?2.state",
    "a%23b.state",
    "with space.state",
    "na\u00efve-\u65e5\u672c.state",
    "-leading-dash.state",
]


def folder_listing(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


@pytest.mark.parametrize("name", ODD_NAMES)
def test_saved_state_with_an_odd_name_loads_that_file_and_no_other(tmp_path, name):
    path = tmp_path / name
    d = Deduplicator(scope="across")
    d.add(WIRE_EN, doc_id="wire")
    d.save(path)
    assert folder_listing(tmp_path) == [name]
    again = Deduplicator.load(path)
    assert len(again) == 1 and again.find(WIRE_EN)[0].source_id == "wire"
    assert folder_listing(tmp_path) == [name]  # no stray file named after a cut-off path


@pytest.mark.parametrize("name", ODD_NAMES)
def test_sqlite_store_with_an_odd_name_grows_and_saves(tmp_path, name):
    path = tmp_path / name
    with Deduplicator(scope="across", store=path) as d:
        d.add(WIRE_EN, doc_id="wire")
    with Deduplicator(scope="across", store=path) as d:
        assert len(d) == 1
        d.add(SPORT, doc_id="sport")
        d.save(tmp_path / "copy.state")  # the copy reads the store through its name
    assert len(Deduplicator.load(tmp_path / "copy.state")) == 2
    # Beside the store only its index, named after it (see dedup.store.SQLiteStore).
    assert folder_listing(tmp_path) == sorted([name, name + "-index", "copy.state"])


def test_percent_escape_in_a_name_is_not_decoded(tmp_path):
    # "a%23b" must not open "a#b": both exist, each loads its own articles.
    for name, doc_id in (("a%23b.state", "percent"), ("a#b.state", "hash")):
        d = Deduplicator(scope="across")
        d.add(WIRE_EN, doc_id=doc_id)
        d.save(tmp_path / name)
    assert Deduplicator.load(tmp_path / "a%23b.state").find(WIRE_EN)[0].source_id == "percent"
    assert Deduplicator.load(tmp_path / "a#b.state").find(WIRE_EN)[0].source_id == "hash"


@pytest.mark.parametrize("name", ODD_NAMES)
def test_command_state_with_an_odd_name_is_read_back_on_the_next_run(tmp_path, name):
    first, second = tmp_path / "in" / "1.jsonl", tmp_path / "in" / "2.jsonl"
    first.parent.mkdir()
    first.write_text(json.dumps({"id": "a", "text": WIRE_EN + "\n\n" + LOCAL_A}) + "\n")
    second.write_text(json.dumps({"id": "b", "text": WIRE_EN + "\n\n" + SPORT}) + "\n")
    state = tmp_path / "states" / name
    state.parent.mkdir()
    for source in (first, second):
        done = subprocess.run(
            [sys.executable, "-m", "dedup", "clean", str(source), "--scope", "across", f"--state={state}",
             "-o", str(source.with_suffix(".out.jsonl")), "--quiet"],
            capture_output=True, env=ENV, timeout=120,
        )
        assert done.returncode == 0, done.stderr.decode()
    # The second run remembered the first: the wire paragraph is gone from "b".
    assert json.loads(second.with_suffix(".out.jsonl").read_text())["text"] == SPORT
    assert len(Deduplicator.load(state)) == 2
    assert [n for n in folder_listing(state.parent) if not n.endswith(".lock")] == [name]
