"""Repeats across articles: the streaming Deduplicator."""

from __future__ import annotations

import json
import os
import shutil
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dedup
from dedup.deduplicator import ArticleMatch, Deduplicator
from dedup.store import SQLiteStore
from dedup.shingle import shingles
from dedup.text import tokenize
from news_texts import WIRE_EN, WIRE_NL, LOCAL_A, SPORT, stream_with_copies, word_soup

# --------------------------------------------------------------------------- texts

LOCAL_B = (
    "Farmers near the northern bend worry that the works will close the only road to their "
    "fields during the harvest, and asked the board to plan the closures around it."
)
OPINION = (
    "Nobody doubts that stronger dikes are needed, but the board should explain why the "
    "villages upstream were inspected last, when they flooded twice in the past decade."
)
LOCAL_NL = (
    "Bewoners van de benedenstad klagen al jaren over water in hun kelders als de rivier in "
    "het voorjaar hoog staat, en reageerden op een drukke avond opgelucht op het plan."
)


def article(*paragraphs: str) -> str:
    return "\n\n".join(paragraphs)


def exact_jaccard(a: str, b: str, ngram: int = 5) -> float:
    tokens = tokenize([a, b])
    hashes, offsets = shingles(tokens.hashes, tokens.offsets, ngram)
    left, right = set(hashes[offsets[0] : offsets[1]].tolist()), set(hashes[offsets[1] : offsets[2]].tolist())
    return len(left & right) / len(left | right)


# --------------------------------------------------------------------------- across articles


def test_wire_paragraph_in_two_articles_is_removed_from_the_second():
    d = Deduplicator(scope="across")
    first = article(LOCAL_A, WIRE_EN)
    assert d.clean(first, doc_id="paper-1") is first
    second = article(WIRE_EN, LOCAL_B)
    (match,) = d.find(second)
    assert d.clean(second, doc_id="paper-2") == LOCAL_B
    assert (match.kind, match.source_id, match.similarity) == ("across", "paper-1", 1.0)
    assert second[match.start : match.end] == WIRE_EN
    assert first[match.source_start : match.source_end] == WIRE_EN


def test_dutch_wire_paragraph_matches_despite_case_and_soft_hyphen():
    d = Deduplicator(scope="across")
    d.add(article(LOCAL_NL, WIRE_NL))
    noisy = WIRE_NL.upper().replace("VERSTERKT", "VER\u00adSTERKT").replace(" ", "\u00a0", 3)
    assert d.clean(article(OPINION, noisy)) == OPINION


def test_passage_glued_inside_a_paragraph_is_removed_and_its_neighbours_kept():
    d = Deduplicator(scope="across")
    d.add(article(LOCAL_A, WIRE_EN, SPORT))
    text = LOCAL_B + " " + WIRE_EN + " " + OPINION
    assert d.clean(text) == LOCAL_B + " " + OPINION


def test_passage_copied_mid_sentence_of_a_longer_source_is_removed():
    source = word_soup(1, 300)
    d = Deduplicator(scope="across")
    d.add(source, doc_id="long")
    words = source.split()
    passage = " ".join(words[117:152])  # 35 words, starting and ending mid-sentence
    text = article(LOCAL_A, "As reported: " + passage + " (more below)", LOCAL_B)
    (match,) = d.find(text)
    assert text[match.start : match.end].strip(" (") == passage
    assert match.source_id == "long"
    assert source[match.source_start : match.source_end] == passage


def test_edited_passage_is_removed_at_its_similarity():
    d = Deduplicator(scope="across")
    d.add(article(LOCAL_A, WIRE_EN))
    edited = WIRE_EN.replace("Tuesday", "Wednesday").replace("three villages", "four villages")
    (match,) = d.find(article(SPORT, edited))
    assert 0.5 <= match.similarity < 1.0
    assert d.clean(article(SPORT, edited)) == SPORT


def test_unrelated_articles_come_back_unchanged():
    d = Deduplicator(scope="across")
    for seed, text in enumerate([LOCAL_A, LOCAL_B, OPINION, SPORT, word_soup(1, 400), word_soup(2, 400)]):
        assert d.clean(text, doc_id=seed) is text
    assert len(d) == 6


def test_shared_phrase_shorter_than_min_length_is_kept():
    phrase = "according to a spokesperson for the regional water board"
    d = Deduplicator(scope="across")
    d.add(f"{LOCAL_A} The plan was approved, {phrase}.")
    text = f"{SPORT} The match was moved, {phrase}."
    assert d.find(text) == []
    assert d.clean(text) is text


def test_long_copy_whose_paragraph_breaks_differ_is_removed():
    d = Deduplicator(scope="across")
    d.add(article(LOCAL_A, WIRE_EN, OPINION, LOCAL_B), doc_id="orig")
    flattened = " ".join([WIRE_EN, OPINION, LOCAL_B])
    assert d.clean(article(SPORT, flattened)) == SPORT


def test_rewritten_paragraph_between_copied_ones_is_kept():
    d = Deduplicator(scope="across")
    d.add(article(WIRE_EN, LOCAL_A, OPINION))
    text = article(WIRE_EN, SPORT, OPINION)
    assert d.clean(text) == SPORT


def test_passages_from_two_sources_in_one_article():
    d = Deduplicator(scope="across")
    d.add(article(LOCAL_A, WIRE_EN), doc_id="a")
    d.add(article(SPORT, WIRE_NL), doc_id="b")
    text = article(WIRE_NL, OPINION, WIRE_EN)
    matches = d.find(text)
    assert [(m.source_id, text[m.start : m.end]) for m in matches] == [("b", WIRE_NL), ("a", WIRE_EN)]
    assert d.clean(text) == OPINION


@pytest.mark.parametrize("edge", ["\u201c{}\u201d", "\u2022 {}", "\u2014 {}", "({})", "\u2502 {} \u2502", "- {}"])
def test_punctuation_at_a_copy_edge_goes_with_it(edge):
    d = Deduplicator(scope="across")
    d.add(article(LOCAL_A, WIRE_EN))
    text = article(SPORT, edge.format(WIRE_EN), OPINION)
    assert d.clean(text) == article(SPORT, OPINION)


def test_find_only_looks_and_add_remembers():
    d = Deduplicator(scope="across")
    assert d.find(WIRE_EN) == [] and len(d) == 0
    d.add(WIRE_EN)
    assert len(d) == 1
    assert [m.kind for m in d.find(article(SPORT, WIRE_EN))] == ["across"]


def test_max_holders_caps_the_articles_remembered_per_fingerprint():
    capped, uncapped = Deduplicator(scope="across", max_holders=1), Deduplicator(scope="across", max_holders=3)
    for d in (capped, uncapped):
        d.add(article(LOCAL_A, WIRE_EN))
    first = capped.fingerprints
    for d in (capped, uncapped):
        d.add(WIRE_EN)  # all of it repeats the first article
    assert capped.fingerprints == first < uncapped.fingerprints
    capped.add(SPORT)
    assert capped.fingerprints > first


def test_boilerplate_in_many_articles_keeps_few_holders_and_is_removed_from_all():
    boiler = ("This article is part of our series on water management. Subscribers can read all parts "
              "online and receive the weekly newsletter with background stories and interviews.")
    d = Deduplicator(scope="across", max_holders=2)
    texts = [article(word_soup(seed, 60), boiler) for seed in range(30)]
    cleaned = d.clean_many(texts, ids=list(range(30)))
    assert cleaned[0] == texts[0]
    assert all(c == word_soup(seed, 60) for seed, c in zip(range(1, 30), cleaned[1:]))
    (match,) = d.find(article(SPORT, boiler))
    assert match.source_id == 0


def test_default_ids_are_article_numbers():
    d = Deduplicator(scope="across")
    d.add(LOCAL_A)
    d.add(article(OPINION, WIRE_EN))
    assert d.find(WIRE_EN)[0].source_id == 1


def test_batches_see_earlier_articles_of_the_same_batch():
    d = Deduplicator(scope="across")
    cleaned = d.clean_many([article(LOCAL_A, WIRE_EN), article(WIRE_EN, LOCAL_B)], ids=["x", "y"])
    assert cleaned == [article(LOCAL_A, WIRE_EN), LOCAL_B]


def test_max_sources_limits_the_articles_aligned_against():
    d = Deduplicator(scope="across", max_sources=1)
    d.add(article(LOCAL_A, WIRE_EN), doc_id="a")
    d.add(article(SPORT, WIRE_NL), doc_id="b")
    matches = d.find(article(WIRE_NL, OPINION, WIRE_EN))
    assert len(matches) == 1


def test_is_duplicate_names_the_earlier_article():
    d = Deduplicator()
    text = article(LOCAL_A, WIRE_EN, OPINION)
    d.add(text, doc_id="orig")
    found = d.is_duplicate(text.replace("Tuesday", "Monday"))
    assert isinstance(found, ArticleMatch) and found.source_id == "orig" and 0.8 <= found.similarity < 1
    assert found.similarity == pytest.approx(exact_jaccard(text, text.replace("Tuesday", "Monday")))
    assert d.is_duplicate(SPORT) is None
    assert len(d) == 1


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.sampled_from([WIRE_EN, WIRE_NL, LOCAL_A, LOCAL_B, OPINION, LOCAL_NL, SPORT]), min_size=1, max_size=5),
    st.lists(st.sampled_from([WIRE_EN, WIRE_NL, LOCAL_A, LOCAL_B, OPINION, LOCAL_NL, SPORT]), min_size=1, max_size=5,
             unique=True),
)
def test_clean_removes_exactly_the_paragraphs_seen_before(earlier, later):
    d = Deduplicator(scope="across")
    d.add(article(*earlier), doc_id=0)
    text = article(*later)
    cleaned = d.clean(text)
    it = iter(text)
    assert all(ch in it for ch in cleaned)  # only deletes
    assert cleaned == article(*[p for p in later if p not in earlier])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"threshold": 0}, "threshold"),
        ({"threshold": 1.5}, "threshold"),
        ({"scope": "everywhere"}, "scope"),
        ({"min_length": 0}, "min_length"),
        ({"ngram": 0}, "ngram"),
        ({"window": 0}, "window"),
        ({"max_sources": 0}, "max_sources"),
        ({"max_holders": 0}, "max_holders"),
        ({"min_seeds": 0}, "min_seeds"),
    ],
)
def test_deduplicator_errors_name_the_argument(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Deduplicator(**kwargs)


def test_deduplicator_rejects_bad_input():
    d = Deduplicator(scope="across")
    with pytest.raises(TypeError, match="text"):
        d.clean(b"bytes")
    with pytest.raises(TypeError, match="texts"):
        d.clean_many([WIRE_EN, None])
    with pytest.raises(ValueError, match="ids has 1 items"):
        d.clean_many([WIRE_EN, SPORT], ids=["one"])
    with pytest.raises(TypeError, match=r"ids\[0\]"):
        d.clean_many([WIRE_EN], ids=[1.5])


# --------------------------------------------------------------------------- within and both


def test_within_scope_cleans_like_dedup_clean_and_ignores_other_articles():
    d = Deduplicator(scope="within")
    d.add(article(LOCAL_A, WIRE_EN))
    doubled = article(SPORT, WIRE_EN, OPINION, WIRE_EN)
    assert d.clean(doubled) == dedup.clean(doubled) == article(SPORT, WIRE_EN, OPINION)
    assert d.clean(article(WIRE_EN, LOCAL_B)) == article(WIRE_EN, LOCAL_B)


def test_within_and_across_together():
    d = Deduplicator()
    d.add(article(LOCAL_A, WIRE_EN), doc_id="earlier")
    text = article(SPORT, WIRE_EN, OPINION, SPORT)
    matches = d.find(text, doc_id="now")
    assert [(m.kind, m.source_id) for m in matches] == [("across", "earlier"), ("within", "now")]
    assert d.clean(text) == article(SPORT, OPINION)


# --------------------------------------------------------------------------- state


def stream():
    return [article(LOCAL_A, WIRE_EN), article(WIRE_EN, LOCAL_B), article(OPINION, WIRE_NL), article(SPORT, LOCAL_NL)]


@pytest.mark.parametrize("ids", [[1, 2, 3, 4], ["a", "b", "c", "d"], [7, "mixed", 9, "ids"]])
def test_state_round_trip(tmp_path, ids):
    texts = stream()
    d = Deduplicator(scope="across", window=5)
    d.add_many(texts[:3], ids=ids[:3])
    d.save(tmp_path / "state.db")
    again = Deduplicator.load(tmp_path / "state.db")
    assert again.params == d.params and len(again) == 3 and again.fingerprints == d.fingerprints
    probe = article(WIRE_NL, SPORT, WIRE_EN)
    assert again.find(probe) == d.find(probe)
    assert {m.source_id for m in again.find(probe)} == {ids[0], ids[2]}
    assert again.clean_many(texts[3:], ids=ids[3:]) == d.clean_many(texts[3:], ids=ids[3:])


def test_load_replaces_matching_parameters_and_rejects_stored_ones(tmp_path):
    d = Deduplicator(scope="across")
    d.add(WIRE_EN)
    d.save(tmp_path / "s.db")
    assert Deduplicator.load(tmp_path / "s.db", threshold=0.9, scope="both").threshold == 0.9
    with pytest.raises(ValueError, match="window"):
        Deduplicator.load(tmp_path / "s.db", window=9)
    with pytest.raises(TypeError, match="num_perm"):
        Deduplicator.load(tmp_path / "s.db", num_perm=64)


def test_failed_save_leaves_the_previous_state(tmp_path, monkeypatch):
    d = Deduplicator(scope="across")
    d.add(WIRE_EN, doc_id="kept")
    d.save(tmp_path / "s.db")
    d.add(SPORT, doc_id="lost")

    def fail(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError):
        d.save(tmp_path / "s.db")
    monkeypatch.undo()
    assert len(Deduplicator.load(tmp_path / "s.db")) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.db"]


def test_load_rejects_foreign_damaged_and_newer_files(tmp_path):
    foreign = tmp_path / "notes.txt"
    foreign.write_text("not a state")
    with pytest.raises(ValueError, match="notes.txt"):
        Deduplicator.load(foreign)
    d = Deduplicator()
    d.add(WIRE_EN)
    d.save(tmp_path / "s.db")
    data = (tmp_path / "s.db").read_bytes()
    (tmp_path / "cut.db").write_bytes(data[: len(data) // 3])
    with pytest.raises(ValueError, match="cut.db"):
        Deduplicator.load(tmp_path / "cut.db")
    import sqlite3

    newer = tmp_path / "newer.db"
    newer.write_bytes(data)
    with sqlite3.connect(newer) as connection:
        connection.execute("UPDATE meta SET value = '99' WHERE key = 'version'")
    with pytest.raises(ValueError, match="newer dedup"):
        Deduplicator.load(newer)
    with pytest.raises((ValueError, FileNotFoundError), match="missing.db"):
        Deduplicator.load(tmp_path / "missing.db")


def test_sqlite_store_gives_the_same_results_and_grows_across_sessions(tmp_path):
    texts = stream()
    memory = Deduplicator(scope="across")
    expected = memory.clean_many(texts, ids=["a", "b", "c", "d"])
    with Deduplicator(scope="across", store=tmp_path / "live.db") as disk:
        assert disk.clean_many(texts[:2], ids=["a", "b"]) == expected[:2]
    with Deduplicator(scope="across", store=tmp_path / "live.db") as disk:
        assert len(disk) == 2
        assert disk.clean_many(texts[2:], ids=["c", "d"]) == expected[2:]
        assert disk.fingerprints == memory.fingerprints
        disk.save(tmp_path / "copy.db")
    assert Deduplicator.load(tmp_path / "copy.db").find(WIRE_NL) == memory.find(WIRE_NL)
    with pytest.raises(ValueError, match="other parameters"):
        Deduplicator(scope="across", window=3, store=tmp_path / "live.db")


def test_sqlite_store_index_is_rebuilt_or_caught_up_when_it_does_not_match_the_database(tmp_path):
    # The index beside the database (PATH-index) is derived from it: deleted, behind the
    # database (a crash after a commit), or ahead of it (the database restored from a
    # copy), it is rebuilt or caught up, and every result stays the same.
    texts = stream_with_copies(60, seed=5)
    ids = [f"t{k}" for k in range(len(texts))]
    expected = Deduplicator(scope="across").clean_many(texts, ids=ids)
    path, index = tmp_path / "live.db", tmp_path / "live.db-index"

    def run(lo: int, hi: int) -> list[str]:
        with Deduplicator(scope="across", store=path) as disk:
            return [disk.clean_many([text], ids=[doc_id])[0] for text, doc_id in zip(texts[lo:hi], ids[lo:hi])]

    assert run(0, 20) == expected[:20]
    early_index = tmp_path / "early-index"
    shutil.copytree(index, early_index)
    shutil.copy(path, tmp_path / "early.db")
    assert run(20, 40) == expected[20:40]
    shutil.rmtree(index)
    shutil.copytree(early_index, index)  # behind: caught up
    assert run(40, 50) == expected[40:50]
    shutil.rmtree(index)  # gone: rebuilt
    assert run(50, 55) == expected[50:55]
    shutil.copy(tmp_path / "early.db", path)  # ahead of a database restored to 20 articles
    for suffix in ("-wal", "-shm"):
        if os.path.exists(f"{path}{suffix}"):
            os.unlink(f"{path}{suffix}")
    with Deduplicator(scope="across", store=path) as disk:
        assert len(disk) == 20 and disk.clean_many(texts[20:], ids=ids[20:]) == expected[20:]
    memory = Deduplicator(scope="across")
    memory.add_many(texts, ids=ids)
    with Deduplicator(scope="across", store=path) as disk:
        assert disk.fingerprints == memory.fingerprints and len(disk) == len(texts)


def test_sqlite_store_index_of_a_database_with_other_blocks_of_as_many_keys_is_rebuilt(tmp_path):
    # Two copies of one database grown apart can agree on articles and keys counted: the
    # index marks the last block it holds (number and hash of its keys), so an index
    # beside the other copy is rebuilt rather than trusted.
    import sqlite3

    path = tmp_path / "live.db"
    with Deduplicator(scope="across", store=path) as disk:
        disk.add(SPORT, doc_id="sport")
        disk.add(WIRE_EN, doc_id="wire")
        assert [m.source_id for m in disk.find(WIRE_EN)] == ["wire"]
    connection = sqlite3.connect(path)
    with connection:  # the last block's keys, each one more: as many, sorted, not WIRE_EN's
        (block, blob), = connection.execute("SELECT block, keys FROM fingerprint_blocks ORDER BY block DESC LIMIT 1")
        other = (np.frombuffer(blob, dtype="<u8") + np.uint64(1)).astype("<u8").tobytes()
        connection.execute("UPDATE fingerprint_blocks SET keys = ? WHERE block = ?", (other, block))
    connection.close()
    with Deduplicator(scope="across", store=path) as disk:
        assert len(disk) == 2 and disk.find(WIRE_EN) == []  # the index holds the keys the database does


def test_sqlite_store_whose_index_update_fails_mends_it_before_going_on(tmp_path, monkeypatch):
    # The articles are committed when the index fails to take them (a full disk): the
    # next call catches the index up from the database, and nothing is missed.
    texts = stream_with_copies(40, seed=2)
    ids = [f"t{k}" for k in range(len(texts))]
    expected = Deduplicator(scope="across").clean_many(texts, ids=ids)
    replace = os.replace
    failures = iter([OSError(28, "No space left on device")])

    def replace_failing_once(source, target):  # the index's first file of the batch
        error = next(failures, None)
        if error is not None:
            raise error
        replace(source, target)

    monkeypatch.setattr(SQLiteStore, "recent_keys", 0)  # every batch goes to the index at once
    with Deduplicator(scope="across", store=tmp_path / "live.db") as disk:
        got = disk.clean_many(texts[:10], ids=ids[:10])
        monkeypatch.setattr(os, "replace", replace_failing_once)
        with pytest.raises(OSError, match="No space left"):
            disk.clean_many(texts[10:20], ids=ids[10:20])
        assert len(disk) == 20  # committed
        got += [None] * 10  # their output was lost with the error; what follows sees them
        got += disk.clean_many(texts[20:], ids=ids[20:])
    assert got[20:] == expected[20:] and got[:10] == expected[:10]
    with Deduplicator(scope="across", store=tmp_path / "live.db") as disk:
        assert disk.fingerprints == Deduplicator.load(tmp_path / "live.db").fingerprints


def test_sqlite_store_killed_before_close_loses_no_article_of_its_index(tmp_path):
    # Articles added one by one wait in memory before they go to the index; a process
    # killed before close() leaves them in the database only, and the next opening
    # catches the index up.
    import subprocess
    import sys

    texts = stream_with_copies(30, seed=4)
    ids = [f"t{k}" for k in range(len(texts))]
    expected = Deduplicator(scope="across").clean_many(texts, ids=ids)
    code = (
        "import json, os, sys\n"
        "from dedup.deduplicator import Deduplicator\n"
        "texts, ids = json.load(sys.stdin)\n"
        "d = Deduplicator(scope='across', store=sys.argv[1])\n"
        "out = [d.clean_many([t], ids=[i])[0] for t, i in zip(texts, ids)]\n"
        "print(json.dumps(out), flush=True)\n"
        "os._exit(0)  # no close: killed\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "live.db")], input=json.dumps([texts[:20], ids[:20]]),
        capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": os.path.dirname(dedup.__path__[0])},
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == expected[:20]
    with Deduplicator(scope="across", store=tmp_path / "live.db") as disk:
        assert len(disk) == 20 and disk.clean_many(texts[20:], ids=ids[20:]) == expected[20:]


def test_sqlite_store_index_whose_files_name_other_articles_is_rebuilt(tmp_path):
    # The index is no state file to trust either: a run naming articles it does not
    # cover (its bytes changed, the manifest kept) is rebuilt from the database.
    path = tmp_path / "live.db"
    with Deduplicator(scope="across", store=path) as disk:
        disk.add(SPORT, doc_id="sport")
        disk.add(WIRE_EN, doc_id="wire")
    manifest = json.loads((tmp_path / "live.db-index" / "manifest.json").read_text())
    for name, count, _ in manifest["runs"]:
        (tmp_path / "live.db-index" / f"{name}.payload").write_bytes(np.full(count, 7, dtype=np.uint32).tobytes())
    with Deduplicator(scope="across", store=path) as disk:
        assert [m.source_id for m in disk.find(WIRE_EN)] == ["wire"]
    # A run named outside the folder (a file of the right size there) is not read.
    manifest = json.loads((tmp_path / "live.db-index" / "manifest.json").read_text())
    (name, count, _), *_ = manifest["runs"]
    for suffix in (".keys", ".payload"):
        (tmp_path / f"outside{suffix}").write_bytes((tmp_path / "live.db-index" / f"{name}{suffix}").read_bytes())
    manifest["runs"][0][0] = "../outside"
    (tmp_path / "live.db-index" / "manifest.json").write_text(json.dumps(manifest))
    with Deduplicator(scope="across", store=path) as disk:
        assert [m.source_id for m in disk.find(WIRE_EN)] == ["wire"]
    runs = json.loads((tmp_path / "live.db-index" / "manifest.json").read_text())["runs"]
    assert all(name.startswith("run") and name[3:].isdigit() for name, _, _ in runs)


def test_sqlite_store_whose_index_name_is_taken_by_a_file_says_so_and_lets_go(tmp_path):
    (tmp_path / "live.db-index").write_text("not a folder")
    with pytest.raises(NotADirectoryError, match="not a folder, where the runs of an index are kept.*live.db-index"):
        Deduplicator(scope="across", store=tmp_path / "live.db")
    (tmp_path / "live.db-index").unlink()
    with Deduplicator(scope="across", store=tmp_path / "live.db") as disk:  # the lock was let go
        disk.add(WIRE_EN, doc_id="wire")
    assert (tmp_path / "live.db-index").is_dir()


def test_repeated_ids_are_an_error_before_anything_is_remembered():
    d = Deduplicator()
    d.add(WIRE_EN, doc_id="a")
    with pytest.raises(ValueError, match="'a'.*used before"):
        d.add(SPORT, doc_id="a")
    with pytest.raises(ValueError, match="'b'.*earlier in this batch"):
        d.add_many([LOCAL_A, LOCAL_B], ids=["b", "b"])
    with pytest.raises(ValueError, match="1 .*used before"):
        d.add(LOCAL_A)  # default ids are article numbers: 1 is next
        d.add(OPINION, doc_id=1)
    assert len(d) == 2
    assert d.find(SPORT, doc_id="a") == []  # only looking: the id is not taken


def test_sqlite_store_refuses_a_repeated_id(tmp_path):
    with Deduplicator(store=tmp_path / "s.db") as d:
        d.add(WIRE_EN, doc_id=7)
    with Deduplicator(store=tmp_path / "s.db") as d:
        with pytest.raises(ValueError, match="7 .*used before"):
            d.add(SPORT, doc_id=7)
        d.add(SPORT, doc_id="7")  # a str id is another id
        assert len(d) == 2


@pytest.mark.parametrize("scope", ["across", "both"])
def test_workers_give_the_sequential_result(scope):
    texts = stream_with_copies(700, seed=3)
    ids = [f"n{i}" for i in range(len(texts))]
    sequential = Deduplicator(scope=scope).find_many(texts, ids, remember=True)
    with Deduplicator(scope=scope, workers=2) as parallel:
        assert parallel.find_many(texts, ids, remember=True) == sequential
    assert sum(1 for found in sequential if any(m.kind == "across" for m in found)) > 200


def test_long_documents_fill_passes_by_size_and_give_the_sequential_result():
    # Fewer than a pass's 512 documents, but several passes' worth of characters: the
    # stream is cut into passes by size, and the result is still that of one by one.
    articles = stream_with_copies(2800, seed=11)
    docs = ["\n\n".join(articles[start : start + 100]) for start in range(0, len(articles), 100)]
    docs += [docs[3], docs[0][: len(docs[0]) // 2]]  # a re-run, and half of the first again
    ids = [f"book{n}" for n in range(len(docs))]
    assert sum(map(len, docs)) > 2_200_000  # a pass holds 2 MiB
    one_by_one = Deduplicator(scope="across")
    sequential = [one_by_one.find(doc, doc_id, remember=True) for doc, doc_id in zip(docs, ids)]
    assert Deduplicator(scope="across").find_many(docs, ids, remember=True) == sequential
    with Deduplicator(scope="across", workers=2) as parallel:
        assert parallel.find_many(docs, ids, remember=True) == sequential
    for doc, found in zip(docs[-2:], sequential[-2:]):  # the re-run and the half are removed whole
        assert sum(m.end - m.start for m in found) > 0.99 * len(doc)


def test_find_stream_regroups_batches_and_hands_them_back_in_order():
    texts = stream_with_copies(300, seed=5)
    expected = Deduplicator().find_many(texts, remember=True)
    sizes = [1, 0, 7, 200, 3, 89]  # any sizes, empty ones too
    batches, start = [], 0
    for n, size in enumerate(sizes):
        batches.append((texts[start : start + size], None, f"batch {n}"))
        start += size
    got = list(Deduplicator().find_stream(batches))
    assert [context for context, _ in got] == [f"batch {n}" for n in range(len(sizes))]
    assert [m for _, found in got for m in found] == expected


def test_in_one_process_a_stream_of_several_passes_is_prepared_in_a_thread_with_the_same_result(monkeypatch):
    # Stage 1 runs in a thread, passes ahead, when there is more than one pass (the first
    # there: the caller, waiting for it, may prepare the next ones itself); a single pass
    # (a call with a few texts) is prepared in the caller's thread.
    import dedup.deduplicator as deduplicator_module

    texts = stream_with_copies(1200, seed=13)
    expected: list = []
    one_pass_at_a_time = Deduplicator(scope="across")
    for lo in range(0, len(texts), 400):
        expected += one_pass_at_a_time.find_many(texts[lo : lo + 400], remember=True)
    assert sum(map(bool, expected)) > 100

    threads = []
    prepare_batch = deduplicator_module.prepare_batch

    def spy(*args, **kwargs):
        threads.append(threading.get_ident())
        return prepare_batch(*args, **kwargs)

    monkeypatch.setattr(deduplicator_module, "prepare_batch", spy)
    batches = [(texts[lo : lo + 100], None, lo) for lo in range(0, len(texts), 100)]
    with Deduplicator(scope="across") as streamed:
        got = [m for _, found in streamed.find_stream(batches) for m in found]
        assert len(threads) == 3 and threads[0] != threading.get_ident()
        assert got == expected
        threads.clear()
        streamed.find_many(texts[:50])
        assert threads == [threading.get_ident()]


def test_in_one_process_the_alignments_of_consecutive_passes_run_as_one_job_with_the_same_result(monkeypatch):
    # Per pass, or merged up to four passes (a barrier lets the passes before it go
    # first): the same matches, every batch and the barrier handed back in order.
    import dedup.deduplicator as deduplicator_module

    texts = stream_with_copies(1500, seed=17)
    batches: list = [(texts[lo : lo + 100], None, lo) for lo in range(0, 1500, 100)]
    batches.insert(8, (None, None, "checkpoint"))  # after 800 articles: passes of 512, 288, 512, 188
    align = deduplicator_module.align_articles

    def run(pairs: int, passes: int):
        monkeypatch.setattr(deduplicator_module, "_PAIRS_PER_ALIGNMENT", pairs)
        monkeypatch.setattr(deduplicator_module, "_PASSES_PER_ALIGNMENT", passes)
        jobs: list[int] = []
        monkeypatch.setattr(
            deduplicator_module, "align_articles", lambda job, queries=None: jobs.append(len(job.texts)) or align(job, queries)
        )
        with Deduplicator(scope="across") as d:
            got = [  # what each batch holds when it is handed back
                (context, None if found is None else [list(matches) for matches in found], len(d) if found is None else None)
                for context, found in d.find_stream(batches)
            ]
        return got, jobs

    per_pass, per_pass_jobs = run(1, 1)
    merged, merged_jobs = run(1 << 30, 4)
    assert merged == per_pass
    assert [context for context, *_ in merged] == [context for *_, context in batches]
    assert ("checkpoint", None, 800) in merged
    assert sum(bool(found) for _, batch, _ in merged if batch for found in batch) > 100
    assert len(per_pass_jobs) == 4 and len(merged_jobs) == 2 and sum(merged_jobs) == sum(per_pass_jobs)
    assert run(1, 4)[1] == per_pass_jobs  # a pass with a candidate pair is enough on its own


def test_a_loaded_state_finds_what_the_saved_one_found(tmp_path):
    # Every fingerprint of the state is found again after loading. A wide window leaves
    # a passage one or two fingerprints: each one must count.
    texts = stream_with_copies(150, seed=8)
    live = Deduplicator(scope="across", window=20, min_seeds=1)
    live.add_many(texts)
    live.save(tmp_path / "state.dedup")
    loaded = Deduplicator.load(tmp_path / "state.dedup")
    pieces = []
    for text in texts[::3]:
        words = text.split()
        pieces += [" ".join(words[start : start + 26]) for start in range(0, len(words) - 26, 40)]
    expected = live.find_many(pieces)
    assert sum(1 for found in expected if found) >= 0.9 * len(pieces)
    assert loaded.find_many(pieces) == expected


@pytest.mark.parametrize("workers", [1, 2])
def test_a_barrier_in_the_stream_sees_exactly_the_articles_before_it(tmp_path, workers):
    texts = stream_with_copies(900, seed=21)
    batches = [(texts[lo : lo + 50], None, lo) for lo in range(0, 900, 50)]
    batches.insert(7, (None, None, "checkpoint"))  # after 350 articles, inside a pass of 512
    with Deduplicator(workers=workers) as d:
        seen = []
        for context, found in d.find_stream(batches):
            if found is None:
                seen.append((context, len(d)))
                d.save(tmp_path / "at-barrier.dedup")
    assert seen == [("checkpoint", 350)]
    # Going on from the saved state gives what the uninterrupted stream gave.
    expected = Deduplicator().find_many(texts, remember=True)
    resumed = Deduplicator.load(tmp_path / "at-barrier.dedup")
    assert resumed.find_many(texts[350:], list(range(350, 900)), remember=True) == expected[350:]


def test_stores_read_many_articles_and_ids_at_once_as_one_by_one(tmp_path):
    from dedup.store import MemoryStore, SQLiteStore

    ids = [k if k % 3 else str(k) for k in range(1200)]  # int and str ids, over two queries' worth
    texts = [f"article {k} about the harbour" for k in range(1200)]
    memory = MemoryStore(4)
    disk = SQLiteStore(str(tmp_path / "s.db"), 4, {"params": {"made by": "this test"}})
    try:
        for store in (memory, disk):
            store.add_many(ids, texts, [np.array([k], dtype=np.uint64) for k in range(1200)])
        wanted = [1199, 0, 600, 600, 3, 501]  # any order, repeats
        asked = [3, "3", 5, "6", 6, "no such id", 1199, 1199]
        for store in (memory, disk):
            assert store.compressed_texts(wanted) == [store.compressed_text(n) for n in wanted]
            assert store.doc_ids(wanted) == [store.doc_id(n) for n in wanted] == [ids[n] for n in wanted]
            assert store.known_ids(asked) == [store.has_id(i) for i in asked] == [False, True, True, True, False, False, True, True]
            assert store.compressed_texts([]) == [] and store.known_ids([]) == []
    finally:
        disk.close()


def test_calls_on_many_articles_collect_garbage_less_often_and_put_the_collector_back(monkeypatch):
    # find_many / clean_many make many short-lived objects: the collector's thresholds are
    # raised during the call, and put back after it, also when blocks overlap in threads.
    import gc

    import dedup.deduplicator as deduplicator_module
    from dedup.interpreter import LONG_RUN_THRESHOLDS, fewer_collections

    before = gc.get_threshold()
    seen = []
    stream = deduplicator_module.Deduplicator._stream

    def spy(self, *args):
        seen.append(gc.get_threshold())
        yield from stream(self, *args)

    monkeypatch.setattr(deduplicator_module.Deduplicator, "_stream", spy)
    texts = stream_with_copies(40, seed=3)
    assert Deduplicator(scope="across").clean_many(texts) == Deduplicator(scope="across").clean_many(texts)
    assert seen == [LONG_RUN_THRESHOLDS] * 2 and gc.get_threshold() == before

    # Two blocks that overlap in time (as two threads' calls would) end in either order.
    first, second = fewer_collections(), fewer_collections()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert gc.get_threshold() == LONG_RUN_THRESHOLDS  # the second still runs
    second.__exit__(None, None, None)
    assert gc.get_threshold() == before
