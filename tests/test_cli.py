"""End-to-end tests of the ``dedup`` command: the real command in a subprocess, on files written here."""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import dedup

SRC = str(Path(dedup.__file__).resolve().parent.parent)

ENGLISH = (
    "The harbour authority of Saltmarsh Bay announced on Friday that the northern breakwater will be rebuilt "
    "over the next two winters. Storms in January tore a gap of almost thirty metres into the old stone wall, "
    "and since then fishing boats have had to wait outside the harbour whenever the wind turns north.\n\n"
    "The work will cost about nineteen million pounds. Most of it comes from a national fund for coastal "
    "defences, the rest from the county and the fishing cooperative, whose members voted for the plan by a "
    "large majority. \u201cWe have waited long enough,\u201d said the cooperative\u2019s chair, Moira Campbell.\n"
)
DUTCH = (
    "Het provinciebestuur van Drenthe wil de komende vijf jaar honderdvijftig kilometer fietspad vernieuwen. "
    "Veel paden in het buitengebied zijn smal, liggen vol boomwortels en zijn volgens de Fietsersbond "
    "gevaarlijk voor ouderen op een elektrische fiets.\n\n"
    "Gedeputeerde Jan Huisman trekt er achtendertig miljoen euro voor uit. Gemeenten die zelf meebetalen, "
    "komen als eerste aan de beurt. \u2018We willen dat iedereen veilig naar school, werk of de winkel kan "
    "fietsen,\u2019 zei hij dinsdag in Assen tijdens de presentatie van het plan.\n"
)
UNIQUE = [
    "A short note about the weather: rain in the morning, sunshine in the afternoon, and a light breeze from the west.",
    "De bakker op de hoek verkoopt vanaf maandag ook glutenvrij brood, omdat steeds meer klanten daarom vroegen.",
    "The library extends its opening hours during the exam weeks so that students have a quiet place to work.",
]


def doubled(text: str) -> str:
    """An article pasted twice, the second copy re-flowed into one paragraph (a typical scraper error)."""
    return text + "\n" + " ".join(text.split()) + "\n"


def run(*args, stdin: bytes | None = None, cwd=None, check_rc: int | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run(
        [sys.executable, "-m", "dedup", *map(str, args)],
        input=stdin, capture_output=True, cwd=cwd, env=env, timeout=120, check=False,
    )
    if check_rc is not None:
        assert done.returncode == check_rc, done.stderr.decode()
    return done


def records(n: int = 9) -> list[dict]:
    """Records in a fixed order: some with doubled bodies, some unique, with extra fields."""
    bodies = [doubled(ENGLISH), UNIQUE[0], doubled(DUTCH), UNIQUE[1], ENGLISH, UNIQUE[2]]
    return [
        {"id": f"doc-{i}", "title": f"T{i}", "meta": {"n": i, "tags": ["x", "y"]}, "text": bodies[i % len(bodies)]}
        for i in range(n)
    ]


def write_jsonl(path: Path, rows: list[dict]) -> bytes:
    data = b"".join(json.dumps(row, ensure_ascii=False).encode() + b"\n" for row in rows)
    path.write_bytes(data)
    return data


def read_jsonl(data: bytes) -> list[dict]:
    return [json.loads(line) for line in data.splitlines() if line.strip()]


# --------------------------------------------------------------------------- the main job


def test_readme_main_job_cleans_a_plain_text_file_to_stdout(tmp_path):
    path = tmp_path / "article.txt"
    path.write_text(doubled(ENGLISH), encoding="utf-8")
    done = run("clean", path, check_rc=0)
    assert done.stdout.decode("utf-8") == dedup.clean(doubled(ENGLISH))
    assert len(done.stdout) < len(doubled(ENGLISH).encode()) * 0.6
    assert "1 document in, 1 out" in done.stderr.decode()


def test_jsonl_keeps_order_and_every_other_field(tmp_path):
    rows = records()
    data = write_jsonl(tmp_path / "in.jsonl", rows)
    run("clean", tmp_path / "in.jsonl", "-o", tmp_path / "out.jsonl", check_rc=0)
    out = (tmp_path / "out.jsonl").read_bytes()
    got = read_jsonl(out)
    assert [r["id"] for r in got] == [r["id"] for r in rows]
    expected = library_both(rows)  # the default: repeats inside documents and passages seen before
    assert expected != [dedup.clean(r["text"]) for r in rows]  # the input has both kinds
    for before, after, text in zip(rows, got, expected):
        assert after == dict(before, text=text)
    # records without repeats are copied byte for byte
    for before_line, after_line, row, text in zip(data.splitlines(), out.splitlines(), rows, expected):
        if text == row["text"]:
            assert before_line == after_line


def test_text_field_and_id_field_options(tmp_path):
    rows = [{"key": f"k{i}", "body": r["text"], "text": "untouched"} for i, r in enumerate(records(3))]
    write_jsonl(tmp_path / "in.jsonl", rows)
    run("clean", tmp_path / "in.jsonl", "--text-field", "body", "--id-field", "key", "-o", tmp_path / "out.jsonl",
        "--report", tmp_path / "report.jsonl", check_rc=0)
    got = read_jsonl((tmp_path / "out.jsonl").read_bytes())
    assert [r["body"] for r in got] == [dedup.clean(r["body"]) for r in rows]
    assert all(r["text"] == "untouched" for r in got)
    assert {e["id"] for e in read_jsonl((tmp_path / "report.jsonl").read_bytes())} == {"k0", "k2"}


@pytest.mark.parametrize("compression", ["gzip", "zstd"])
def test_compressed_input_is_read_transparently(tmp_path, compression):
    plain = write_jsonl(tmp_path / "plain.jsonl", records())
    if compression == "gzip":
        packed, name = gzip.compress(plain), "in.jsonl.gz"
    else:
        zstandard = pytest.importorskip("zstandard")
        packed, name = zstandard.ZstdCompressor().compress(plain), "in.jsonl.zst"
    (tmp_path / name).write_bytes(packed)
    expected = run("clean", tmp_path / "plain.jsonl", check_rc=0).stdout
    assert run("clean", tmp_path / name, check_rc=0).stdout == expected
    # also from stdin, where only the first bytes tell the compression
    assert run("clean", "-", stdin=packed, check_rc=0).stdout == expected


def test_output_compression_follows_the_output_name(tmp_path):
    write_jsonl(tmp_path / "in.jsonl", records())
    run("clean", tmp_path / "in.jsonl", "-o", tmp_path / "out.jsonl.gz", check_rc=0)
    expected = run("clean", tmp_path / "in.jsonl", check_rc=0).stdout
    assert gzip.decompress((tmp_path / "out.jsonl.gz").read_bytes()) == expected


def test_parquet_round_trip_keeps_schema_and_other_columns(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    rows = records()
    table = pa.table(
        {
            "id": pa.array([r["id"] for r in rows]),
            "n": pa.array([r["meta"]["n"] for r in rows], pa.int32()),
            "text": pa.array([r["text"] for r in rows], pa.large_string()),
        }
    )
    pq.write_table(table, tmp_path / "in.parquet")
    run("clean", tmp_path / "in.parquet", "-o", tmp_path / "out.parquet", check_rc=0)
    out = pq.read_table(tmp_path / "out.parquet")
    assert out.schema == table.schema
    assert out.column("id").to_pylist() == table.column("id").to_pylist()
    assert out.column("n").to_pylist() == table.column("n").to_pylist()
    assert out.column("text").to_pylist() == library_both(rows)


def test_parquet_without_the_text_column_names_the_columns(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"id": ["a"], "body": ["x"]}), tmp_path / "in.parquet")
    done = run("clean", tmp_path / "in.parquet", "-o", tmp_path / "out.parquet", check_rc=1)
    assert "no column 'text' (columns: id, body)" in done.stderr.decode()
    assert not (tmp_path / "out.parquet").exists()


def test_folder_of_text_files_gives_a_folder_with_the_same_names(tmp_path):
    src = tmp_path / "articles"
    (src / "nl").mkdir(parents=True)
    (src / "en.txt").write_text(doubled(ENGLISH), encoding="utf-8")
    (src / "nl" / "fiets.txt").write_text(doubled(DUTCH), encoding="utf-8")
    (src / "nl" / "bakker.txt").write_text(UNIQUE[1], encoding="utf-8")
    (src / "README.rst").write_text("not an article")
    done = run("clean", src, "-o", tmp_path / "clean", check_rc=0)
    out = tmp_path / "clean"
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) == [
        "en.txt", os.path.join("nl", "bakker.txt"), os.path.join("nl", "fiets.txt")]
    assert (out / "en.txt").read_text(encoding="utf-8") == dedup.clean(doubled(ENGLISH))
    assert (out / "nl" / "fiets.txt").read_text(encoding="utf-8") == dedup.clean(doubled(DUTCH))
    assert (out / "nl" / "bakker.txt").read_text(encoding="utf-8") == UNIQUE[1]
    assert "README.rst" in done.stderr.decode()  # an ignored file is named, not silently dropped


def test_folder_input_needs_an_output_folder_outside_it(tmp_path):
    (tmp_path / "a.txt").write_text(ENGLISH)
    assert "needs -o" in run("clean", tmp_path, check_rc=2).stderr.decode()
    assert "overlaps the input folder" in run("clean", tmp_path, "-o", tmp_path / "sub", check_rc=2).stderr.decode()


def test_stdin_to_stdout_jsonl_and_text(tmp_path):
    data = write_jsonl(tmp_path / "in.jsonl", records())
    from_file = run("clean", tmp_path / "in.jsonl", check_rc=0).stdout
    assert run("clean", "-", stdin=data, check_rc=0).stdout == from_file
    text = doubled(DUTCH).encode()
    assert run("clean", "-", stdin=text, check_rc=0).stdout.decode() == dedup.clean(doubled(DUTCH))


# --------------------------------------------------------------------------- explain and reports


def test_explain_reports_each_removed_span_and_what_it_repeats(tmp_path):
    rows = records(3)
    write_jsonl(tmp_path / "in.jsonl", rows)
    done = run("explain", tmp_path / "in.jsonl", check_rc=0)
    report = read_jsonl(done.stdout)
    assert {e["id"] for e in report} == {"doc-0", "doc-2"}
    for entry in report:
        text = rows[int(entry["id"].split("-")[1])]["text"]
        assert entry["kind"] == "within" and entry["source_id"] == entry["id"]
        assert entry["text"] == text[entry["start"] : entry["end"]]
        assert entry["source_end"] <= entry["start"]
        assert 0 < entry["similarity"] <= 1
        assert entry["line"] in (1, 3)
    summary = done.stderr.decode()
    assert "3 documents in" in summary and "2 documents changed, 2 spans" in summary and "time:" in summary


def test_clean_report_matches_explain_and_clean_output_is_unchanged_by_it(tmp_path):
    write_jsonl(tmp_path / "in.jsonl", records())
    plain = run("clean", tmp_path / "in.jsonl", check_rc=0).stdout
    with_report = run("clean", tmp_path / "in.jsonl", "--report", tmp_path / "r.jsonl", check_rc=0).stdout
    assert with_report == plain
    assert (tmp_path / "r.jsonl").read_bytes() == run("explain", tmp_path / "in.jsonl", check_rc=0).stdout


# --------------------------------------------------------------------------- bad input


BAD_LINES = {
    "bad json": (b'{"id": "x", "text": "unterminated}\n', "invalid JSON"),
    "missing field": (b'{"id": "x", "body": "no text here"}\n', "missing text field 'text'"),
    "not a string": (b'{"id": "x", "text": ["a", "list"]}\n', "field 'text' must be a string, got array"),
    "bad utf-8": (b'{"id": "x", "text": "caf\xe9 au lait"}\n', "invalid UTF-8"),
}


@pytest.mark.parametrize("kind", list(BAD_LINES))
def test_bad_record_fails_with_file_and_line_and_writes_nothing(tmp_path, kind):
    line, message = BAD_LINES[kind]
    good = write_jsonl(tmp_path / "good.jsonl", records(4))
    (tmp_path / "in.jsonl").write_bytes(good + line + good)
    done = run("clean", tmp_path / "in.jsonl", "-o", tmp_path / "out.jsonl", check_rc=1)
    err = done.stderr.decode()
    assert f"{tmp_path / 'in.jsonl'}:5: " in err and message in err and "--on-error skip" in err
    assert sorted(os.listdir(tmp_path)) == ["good.jsonl", "in.jsonl"]  # no output, no temporary file


@pytest.mark.parametrize(
    "bad, message",
    [
        (b'{"id": "deep", "text": "x", "nest": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n", "JSON nested too deeply to read"),
        (b'{"id": "long", "text": "x", "n": ' + b"9" * 5000 + b"}\n", "a number too long to read (more than 4,300 digits)"),
    ],
)
def test_records_too_deep_or_with_too_long_numbers_are_bad_records(tmp_path, bad, message):
    good = [json.dumps({"id": n, "text": text}).encode() + b"\n" for n, text in enumerate(UNIQUE[:2])]
    (tmp_path / "in.jsonl").write_bytes(good[0] + bad + good[1])
    failed = run("clean", tmp_path / "in.jsonl", "-o", tmp_path / "out.jsonl", check_rc=1)
    assert failed.stderr.decode().splitlines() == [
        f"dedup: error: {tmp_path / 'in.jsonl'}:2: {message} (use --on-error skip to skip bad records)"
    ]
    assert not (tmp_path / "out.jsonl").exists()
    skipped = run("clean", tmp_path / "in.jsonl", "-o", tmp_path / "out.jsonl", "--on-error", "skip",
                  "--rejects", tmp_path / "rejects.jsonl", check_rc=0)
    assert f"dedup: skipped {tmp_path / 'in.jsonl'}:2: {message}" in skipped.stderr.decode()
    assert (tmp_path / "out.jsonl").read_bytes() == good[0] + good[1]
    assert (tmp_path / "rejects.jsonl").read_bytes() == bad


def test_skip_keeps_good_records_and_puts_bad_ones_verbatim_in_rejects(tmp_path):
    good = records(4)
    bad = [line for line, _ in BAD_LINES.values()]
    lines = [json.dumps(r, ensure_ascii=False).encode() + b"\n" for r in good]
    mixed = [lines[0], bad[0], lines[1], bad[1], bad[2], lines[2], bad[3], lines[3]]
    (tmp_path / "in.jsonl").write_bytes(b"".join(mixed))
    done = run("clean", tmp_path / "in.jsonl", "-o", tmp_path / "out.jsonl", "--on-error", "skip",
               "--rejects", tmp_path / "rejects.jsonl", check_rc=0)
    assert [r["id"] for r in read_jsonl((tmp_path / "out.jsonl").read_bytes())] == [r["id"] for r in good]
    assert (tmp_path / "rejects.jsonl").read_bytes() == b"".join(bad)
    err = done.stderr.decode()
    for number in (2, 4, 5, 7):
        assert f"in.jsonl:{number}: " in err
    assert "4 bad records skipped" in err


def test_bad_text_file_in_a_folder_names_file_and_line(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.txt").write_text(ENGLISH)
    (src / "b.txt").write_bytes(b"first line\nsecond \xff line\n")
    done = run("clean", src, "-o", tmp_path / "out", check_rc=1)
    assert f"{src / 'b.txt'}:2: invalid UTF-8" in done.stderr.decode()
    assert not (tmp_path / "out").exists()
    run("clean", src, "-o", tmp_path / "out", "--on-error", "skip", "--rejects", tmp_path / "rej.jsonl", check_rc=0)
    assert os.listdir(tmp_path / "out") == ["a.txt"]
    assert json.loads((tmp_path / "rej.jsonl").read_text())["source"] == str(src / "b.txt")


# --------------------------------------------------------------------------- safety of outputs


def test_refuses_to_overwrite_its_input(tmp_path):
    data = write_jsonl(tmp_path / "in.jsonl", records())
    os.symlink(tmp_path / "in.jsonl", tmp_path / "link.jsonl")
    for target in ("in.jsonl", "./in.jsonl", "link.jsonl"):
        done = run("clean", "in.jsonl", "-o", target, cwd=tmp_path, check_rc=2)
        assert "refusing to overwrite the input" in done.stderr.decode()
    assert "refusing" in run("clean", "in.jsonl", "--report", "in.jsonl", cwd=tmp_path, check_rc=2).stderr.decode()
    assert (tmp_path / "in.jsonl").read_bytes() == data


def start_run_waiting_for_more_input(tmp_path, target, *, jobs, stderr):
    """A `dedup clean - -o target` run that has read part of its input and waits for more."""
    env = dict(os.environ, PYTHONPATH=SRC)
    process = subprocess.Popen(
        [sys.executable, "-m", "dedup", "clean", "-", "-o", str(target), "--jobs", str(jobs)],
        stdin=subprocess.PIPE, stderr=stderr, env=env,
    )
    process.stdin.write(b"".join(json.dumps(r).encode() + b"\n" for r in records(200)))
    process.stdin.flush()
    deadline = time.time() + 60  # only ends a hung test: the wait is for the run's temporary output
    while time.time() < deadline and process.poll() is None and not any(
        n.startswith(".out.jsonl.dedup-") for n in os.listdir(tmp_path)
    ):
        time.sleep(0.01)
    # The tests below mean something only for a run that is alive and writing: a run that
    # died at once would leave no file, and "nothing left" would pass for the wrong reason.
    started = any(n.startswith(".out.jsonl.dedup-") for n in os.listdir(tmp_path))
    exited = process.poll()
    if exited is not None or not started:
        process.kill()
        process.wait(timeout=30)
        raise AssertionError(f"the run was not waiting for input (exit code {exited}, temporary output: {started})")
    return process


def test_terminated_run_leaves_no_output_and_keeps_the_previous_one(tmp_path):
    target = tmp_path / "out.jsonl"
    target.write_bytes(b"previous result\n")
    process = start_run_waiting_for_more_input(tmp_path, target, jobs=2, stderr=subprocess.PIPE)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 143, err.decode()
    assert target.read_bytes() == b"previous result\n"
    assert os.listdir(tmp_path) == ["out.jsonl"]


def test_killed_run_leaves_nothing_under_the_output_name(tmp_path):
    target = tmp_path / "out.jsonl"
    process = start_run_waiting_for_more_input(tmp_path, target, jobs=1, stderr=subprocess.DEVNULL)
    process.kill()
    process.wait(timeout=30)
    assert not target.exists()
    # only the hidden temporary file may remain (SIGKILL leaves no chance to remove it),
    # never a file under the output name
    left = os.listdir(tmp_path)
    assert left and all(name.startswith(".out.jsonl.dedup-") for name in left), left


def test_failure_at_the_last_record_keeps_previous_output(tmp_path):
    good = write_jsonl(tmp_path / "in.jsonl", records(150))
    (tmp_path / "in.jsonl").write_bytes(good + b'{"id": "last", "text": 7}\n')
    (tmp_path / "out.jsonl").write_bytes(b"yesterday\n")
    run("clean", tmp_path / "in.jsonl", "-o", tmp_path / "out.jsonl", "--report", tmp_path / "r.jsonl",
        "--jobs", "2", check_rc=1)
    assert (tmp_path / "out.jsonl").read_bytes() == b"yesterday\n"
    assert sorted(os.listdir(tmp_path)) == ["in.jsonl", "out.jsonl"]


# --------------------------------------------------------------------------- jobs, progress, usage


@pytest.mark.parametrize(("scope", "jobs", "compressed"), [("across", "1", False), ("both", "2", True)])
def test_a_run_reading_a_pipe_writes_what_it_has_read_while_the_writer_waits(tmp_path, scope, jobs, compressed):
    # A pipe's writer that stops midway (a crawler between pages, `tail -f`): the run
    # writes out every document read so far instead of holding back the passes in flight,
    # and the output is the same as a run on the whole file. Compressed, the pipe's data
    # are decompressed as they come (gzip flushed by its writer).
    from news_texts import stream_with_copies

    rows = [{"id": f"n{i}", "text": text} for i, text in enumerate(stream_with_copies(700, seed=5))]
    data = write_jsonl(tmp_path / "in.jsonl", rows).splitlines(keepends=True)
    whole = run("clean", tmp_path / "in.jsonl", "-o", "-", "--scope", scope, "-j", jobs, "-q", check_rc=0).stdout
    env = dict(os.environ, PYTHONPATH=SRC)
    process = subprocess.Popen(
        [sys.executable, "-m", "dedup", "clean", "-", "-o", "-", "--scope", scope, "-j", jobs, "-q"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
    )
    # Only ends a test whose run hangs: the wait is for the lines the run writes.
    watchdog = threading.Timer(120, process.kill)
    watchdog.start()
    try:
        given = 600  # more than a pass, fewer than the passes in flight
        writer = gzip.GzipFile(fileobj=process.stdin, mode="wb") if compressed else process.stdin
        writer.write(b"".join(data[:given]))
        writer.flush()
        first = [process.stdout.readline() for _ in range(given)]
        assert all(first), "the run did not write the documents it had read while its input waited"
        writer.write(b"".join(data[given:]))
        writer.close()
        process.stdin.close()
        rest = process.stdout.read()
        assert process.wait() == 0
    finally:
        watchdog.cancel()
        process.kill()
    assert b"".join(first) + rest == whole


def test_a_stalled_input_gives_one_flush_barrier_where_it_waits_and_its_errors_come_after_what_was_read():
    from dedup.cli.stream import FLUSH, flushed_when_stalled
    from dedup.workers import BARRIER

    resumed = threading.Event()

    def source():
        yield "record", "a", None
        yield "record", "b", None
        resumed.wait()  # the writer waits until the run has asked for a flush
        yield "record", "c", None
        raise ValueError("truncated")

    stream = flushed_when_stalled(source(), seconds=0.01)
    assert [next(stream), next(stream)] == [("record", "a", None), ("record", "b", None)]
    assert next(stream) == (BARRIER, FLUSH, None)  # once per wait, however long it lasts
    resumed.set()
    assert next(stream) == ("record", "c", None)
    with pytest.raises(ValueError, match="truncated"):
        next(stream)


def test_jobs_2_gives_the_same_bytes_as_jobs_1(tmp_path):
    write_jsonl(tmp_path / "in.jsonl", records(300))  # several chunks per worker
    for command in (["clean"], ["explain"]):
        one = run(*command, tmp_path / "in.jsonl", "--jobs", "1", check_rc=0).stdout
        two = run(*command, tmp_path / "in.jsonl", "--jobs", "2", check_rc=0).stdout
        assert one == two and one


@pytest.mark.parametrize("scope", ["across", "both"])
def test_jobs_2_gives_the_same_outputs_and_state_as_jobs_1_across_documents(tmp_path, scope):
    # Documents that copy passages of earlier ones, recur whole or repeat themselves: the
    # across pass aligns in worker processes and must give the sequential result.
    from news_texts import stream_with_copies

    texts = stream_with_copies(1200, seed=13)
    write_jsonl(tmp_path / "in.jsonl", [{"id": f"n{i}", "text": text} for i, text in enumerate(texts)])
    written = {}
    for jobs in ("1", "2"):
        names = [tmp_path / f"{kind}{jobs}" for kind in ("out", "report", "state")]
        run("clean", tmp_path / "in.jsonl", "-o", names[0], "--report", names[1], "--state", names[2],
            "--scope", scope, "--jobs", jobs, "-q", check_rc=0)
        written[jobs] = [name.read_bytes() for name in names[:2]] + [dedup.Deduplicator.load(names[2])]
    (out1, report1, state1), (out2, report2, state2) = written["1"], written["2"]
    assert out1 == out2 and report1 == report2
    assert report1.count(b'"across"') > 300
    probe = texts[::7]
    assert state1.find_many(probe) == state2.find_many(probe) and len(state1) == len(state2) == len(texts)


def test_progress_bar_only_on_a_terminal_and_summary_unless_quiet(tmp_path):
    pytest.importorskip("tqdm")
    import fcntl
    import pty
    import struct
    import termios

    write_jsonl(tmp_path / "in.jsonl", records(20))
    piped = run("clean", tmp_path / "in.jsonl", "-o", tmp_path / "o1.jsonl", check_rc=0).stderr.decode()
    assert "docs/s]" not in piped and "20 documents in" in piped
    assert run("clean", tmp_path / "in.jsonl", "-o", tmp_path / "o2.jsonl", "--quiet", check_rc=0).stderr == b""

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a terminal 100 columns wide
    env = dict(os.environ, PYTHONPATH=SRC)
    process = subprocess.Popen(
        [sys.executable, "-m", "dedup", "clean", str(tmp_path / "in.jsonl"), "-o", str(tmp_path / "o3.jsonl")],
        stderr=follower, env=env,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(timeout=60)
    os.close(leader)
    terminal = b"".join(chunks).decode(errors="replace")
    assert "docs/s]" in terminal and "20 documents in" in terminal


@pytest.mark.parametrize(
    "args, message",
    [
        (["clean", "in.jsonl", "--threshold", "1.5"], "--threshold must be in (0, 1]"),
        (["clean", "in.jsonl", "--jobs", "0"], "--jobs must be an integer >= 1"),
        (["clean", "missing.jsonl"], "input not found: missing.jsonl"),
        (["clean", "in.jsonl", "--scope", "within", "--state", "s.bin"], "--state keeps the across-document memory"),
        (["clean", "in.jsonl", "--frobnicate"], "unrecognized arguments"),
    ],
)
def test_usage_errors_exit_with_2_and_say_what_is_wrong(tmp_path, args, message):
    write_jsonl(tmp_path / "in.jsonl", records(2))
    done = run(*args, cwd=tmp_path, check_rc=2)
    assert message in done.stderr.decode()
    assert sorted(os.listdir(tmp_path)) == ["in.jsonl"]


# --------------------------------------------------------------------------- across documents, state, dups


WIRE = (
    "The national weather service issued an orange warning for the whole coast on Sunday evening, with gusts "
    "of up to one hundred and ten kilometres per hour expected overnight and trains running less often."
)


def wire_records() -> list[dict]:
    """Articles that carry the same wire paragraph, plus one doubled article and one that is all wire."""
    return [
        {"id": "a", "text": ENGLISH + "\n" + WIRE + "\n"},
        {"id": "b", "text": UNIQUE[0] + "\n\n" + WIRE + "\n\n" + UNIQUE[2]},
        {"id": "c", "text": doubled(DUTCH) + "\n" + WIRE},
        {"id": "d", "text": WIRE},
        {"id": "e", "text": UNIQUE[1]},
    ]


def library_both(rows: list[dict]) -> list[str]:
    """What --scope both is: dedup.Deduplicator() (its default scope) fed the documents in input order."""
    return dedup.Deduplicator().clean_many([r["text"] for r in rows], [r["id"] for r in rows])


def saved_state_tables(path) -> dict:
    """Every row of every table of a saved state (a SQLite file), to compare two states."""
    import sqlite3

    with contextlib.closing(sqlite3.connect(path)) as db:
        tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {table: sorted(db.execute(f"SELECT * FROM {table}").fetchall(), key=repr) for table in tables}


def test_scope_both_is_the_library_default_deduplicator_outputs_and_state(tmp_path):
    # Made-up news with repeats inside articles (some re-flowed, whose removal leaves text
    # that repeats an earlier article) and passages of earlier articles: the command and
    # dedup.Deduplicator() must write the same texts and save the same memory.
    from news_texts import generated_corpus

    rows = generated_corpus(600, seed=3)
    write_jsonl(tmp_path / "in.jsonl", rows)
    run("clean", tmp_path / "in.jsonl", "-o", tmp_path / "out.jsonl", "--state", tmp_path / "cli.state", "-q",
        check_rc=0)
    library = dedup.Deduplicator()
    expected = library.clean_many([r["text"] for r in rows], [r["id"] for r in rows])
    library.save(tmp_path / "library.state")
    got = [r["text"] for r in read_jsonl((tmp_path / "out.jsonl").read_bytes())]
    changed = [i for i, (r, text) in enumerate(zip(rows, expected)) if text != r["text"]]
    assert len(changed) > 100  # the corpus has both kinds of repeats, in numbers
    assert got == expected
    assert saved_state_tables(tmp_path / "cli.state") == saved_state_tables(tmp_path / "library.state")
    report = read_jsonl(run("explain", tmp_path / "in.jsonl", check_rc=0).stdout)
    assert {e["kind"] for e in report} == {"within", "across"}
    for entry in report:  # offsets into the original texts, both kinds
        assert rows[int(entry["id"][3:])]["text"][entry["start"] : entry["end"]] == entry["text"]


def test_scope_both_removes_passages_seen_in_earlier_documents(tmp_path):
    rows = wire_records()
    write_jsonl(tmp_path / "in.jsonl", rows)
    done = run("clean", tmp_path / "in.jsonl", "--scope", "both", "--report", tmp_path / "r.jsonl", check_rc=0)
    got = [r["text"] for r in read_jsonl(done.stdout)]
    assert got == library_both(rows)
    assert WIRE in got[0] and WIRE not in got[1] and WIRE not in got[2] and got[3] == ""
    report = read_jsonl((tmp_path / "r.jsonl").read_bytes())
    across = [e for e in report if e["kind"] == "across"]
    assert {e["id"] for e in across} == {"b", "c", "d"} and {e["source_id"] for e in across} == {"a"}
    for entry in report:
        text = rows["abcde".index(entry["id"])]["text"]
        # offsets point into the record's original text, also after a within-document removal
        assert " ".join(text[entry["start"] : entry["end"]].split()) == " ".join(entry["text"].split())
    assert "documents left empty: 1" in done.stderr.decode()


def test_state_carries_memory_to_the_next_run_and_explain_does_not_change_it(tmp_path):
    rows = wire_records()
    write_jsonl(tmp_path / "day1.jsonl", rows[:1])
    write_jsonl(tmp_path / "day2.jsonl", rows[1:2])
    state = tmp_path / "memory.npz"
    run("clean", tmp_path / "day1.jsonl", "--scope", "across", "--state", state, "-o", tmp_path / "o1.jsonl", check_rc=0)
    assert state.exists()
    saved = state.read_bytes()
    explained = read_jsonl(run("explain", tmp_path / "day2.jsonl", "--scope", "across", "--state", state, check_rc=0).stdout)
    assert [(e["kind"], e["source_id"]) for e in explained] == [("across", "a")]
    assert state.read_bytes() == saved
    second = run("clean", tmp_path / "day2.jsonl", "--scope", "across", "--state", state, check_rc=0).stdout
    assert WIRE not in read_jsonl(second)[0]["text"]
    assert state.read_bytes() != saved
    # a fresh memory keeps the wire paragraph
    fresh = run("clean", tmp_path / "day2.jsonl", "--scope", "across", check_rc=0).stdout
    assert WIRE in read_jsonl(fresh)[0]["text"]


def test_state_is_not_saved_when_the_run_fails(tmp_path):
    good = write_jsonl(tmp_path / "good.jsonl", wire_records())
    (tmp_path / "in.jsonl").write_bytes(good + b"{oops\n")
    run("clean", tmp_path / "in.jsonl", "--scope", "across", "--state", tmp_path / "s.npz",
        "-o", tmp_path / "o.jsonl", check_rc=1)
    assert sorted(os.listdir(tmp_path)) == ["good.jsonl", "in.jsonl"]


def test_state_with_other_stored_parameters_is_refused(tmp_path):
    write_jsonl(tmp_path / "in.jsonl", wire_records())
    run("clean", tmp_path / "in.jsonl", "--scope", "across", "--state", tmp_path / "s.db", "-o", tmp_path / "o.jsonl",
        check_rc=0)
    done = run("clean", tmp_path / "in.jsonl", "--scope", "across", "--state", tmp_path / "s.db", "--window", "9",
               check_rc=2)
    assert "window=9 differs" in done.stderr.decode()


def test_jobs_do_not_change_output_across_documents(tmp_path):
    rows = [dict(r, id=f"{r['id']}{i}") for i in range(40) for r in wire_records()]
    write_jsonl(tmp_path / "in.jsonl", rows)
    one = run("clean", tmp_path / "in.jsonl", "--scope", "both", "--jobs", "1", check_rc=0).stdout
    two = run("clean", tmp_path / "in.jsonl", "--scope", "both", "--jobs", "2", check_rc=0).stdout
    assert one == two
    assert [r["text"] for r in read_jsonl(one)] == library_both(rows)


def test_dups_writes_clusters_of_near_duplicate_documents(tmp_path):
    from dedup.duplicates import find_duplicates

    edited = ENGLISH.replace("Friday", "Saturday")
    rows = [{"id": "x", "text": ENGLISH}, {"id": "y", "text": DUTCH}, {"id": "z", "text": edited},
            {"id": "w", "text": UNIQUE[0]}]
    write_jsonl(tmp_path / "in.jsonl", rows)
    done = run("dups", tmp_path / "in.jsonl", "--threshold", "0.7", check_rc=0)
    (cluster,) = read_jsonl(done.stdout)
    assert cluster["members"] == ["x", "z"] and cluster["size"] == 2
    assert cluster["pairs"][0]["similarity"] >= 0.7
    expected = find_duplicates([r["text"] for r in rows], 0.7, ids=[r["id"] for r in rows]).to_records()
    assert [cluster] == json.loads(json.dumps(expected))
    assert "1 cluster, 2 documents in them" in done.stderr.decode()


_CHINESE = "东京都政府今天宣布，从明年四月起将在市中心实施新的交通规则，以减少拥堵和空气污染。市民可以在网上查看详细的说明。"


def test_dups_finds_text_without_spaces_by_default_and_mode_word_does_not(tmp_path):
    rows = [{"id": "a", "text": _CHINESE}, {"id": "b", "text": _CHINESE.replace("四月", "五月")}]
    write_jsonl(tmp_path / "in.jsonl", rows)
    (cluster,) = read_jsonl(run("dups", tmp_path / "in.jsonl", "--threshold", "0.7", check_rc=0).stdout)
    assert cluster["members"] == ["a", "b"]
    done = run("dups", tmp_path / "in.jsonl", "--threshold", "0.7", "--mode", "word", check_rc=0)
    assert read_jsonl(done.stdout) == []


def test_bad_mode_is_a_usage_error_naming_the_option(tmp_path):
    write_jsonl(tmp_path / "in.jsonl", [{"id": "a", "text": ENGLISH}])
    done = run("dups", tmp_path / "in.jsonl", "--mode", "words", check_rc=2)
    assert "--mode" in done.stderr.decode() and "'auto', 'word', 'char'" in done.stderr.decode()



@pytest.mark.parametrize("command", ["dups", "clean", "explain"])
def test_every_command_refuses_repeated_ids(tmp_path, command):
    write_jsonl(tmp_path / "in.jsonl", [{"id": 1, "text": ENGLISH}, {"id": 1, "text": DUTCH}])
    done = run(command, tmp_path / "in.jsonl", "-o", tmp_path / "out.jsonl", check_rc=1)
    where = tmp_path / "in.jsonl"
    assert f"{where}:2: document id 1 was used before (at {where}:1)" in done.stderr.decode()
    assert not (tmp_path / "out.jsonl").exists()


# --------------------------------------------------------------------------- pieces of the command, in process


def _slow_square(payload):
    value, delay = payload
    time.sleep(delay)
    return value * value


def test_ordered_pool_yields_results_in_input_order_whatever_finishes_first():
    from dedup.cli.pool import OrderedPool

    items = []
    for i in range(12):
        items.append(("chunk", (i, 0.05 if i % 3 == 0 else 0.0), i))
        items.append(("marker", f"after {i}", None))
    for jobs, in_thread in ((1, False), (1, True), (2, False)):
        pool = OrderedPool(_slow_square, jobs, in_thread=in_thread)
        try:
            got = list(pool.run(iter(items)))
        finally:
            pool.close(ok=True)
        expected = []
        for i in range(12):
            expected += [("chunk", i * i, i), ("marker", f"after {i}", None)]
        assert got == expected


def _pid_of(payload):
    return payload, os.getpid()


def _thread_of(payload):
    return payload, threading.get_ident()


def test_ordered_pool_in_a_thread_runs_chunks_beside_the_caller_in_input_order_up_to_a_barrier():
    from dedup.workers import BARRIER, OrderedPool

    read = []

    def items():
        for i in range(10):
            read.append(i)
            yield "chunk", i, f"context {i}"
            if i == 4:
                yield BARRIER, "checkpoint", None

    pool = OrderedPool(_thread_of, 1, in_thread=True)
    got = []
    try:
        for kind, payload, context in pool.run(items(), ahead=3):
            if kind == BARRIER:
                assert read == [0, 1, 2, 3, 4]  # nothing after the barrier was taken before it
                got.append(payload)
            else:
                got.append(payload[0])
                assert context == f"context {payload[0]}"  # (in the thread, or here while this waits)
    finally:
        pool.close(ok=True)
    assert got == [0, 1, 2, 3, 4, "checkpoint", 5, 6, 7, 8, 9]


def test_ordered_pool_in_a_thread_runs_the_chunks_after_the_awaited_one_in_the_caller_while_it_waits():
    # The caller waiting for chunk 0 (held up in the thread) runs chunk 1 itself, which
    # frees chunk 0: without that the run would never end. Each chunk runs once, and the
    # results come in input order; an error of a chunk run here names that chunk.
    from dedup.workers import ChunkFailed, OrderedPool

    caller = threading.get_ident()
    for failing in (None, 1):
        gate = threading.Event()
        ran: list[tuple[int, bool]] = []

        def work(value, gate=gate, ran=ran, failing=failing):
            if value == 0:
                assert gate.wait(60), "chunk 1 never ran while the caller waited"
            ran.append((value, threading.get_ident() == caller))
            if value == 1:
                gate.set()
                if failing == 1:
                    raise ValueError("chunk 1 fails")
            return value * 10

        pool = OrderedPool(work, 1, in_thread=True)
        got = []
        try:
            for _, result, context in pool.run((("chunk", value, f"chunk {value}") for value in range(6)), ahead=6):
                got.append((result, context))
        except ChunkFailed as failed:
            assert failing == 1 and "chunk 1 fails" in str(failed) and failed.__cause__.args == ("chunk 1 fails",)
            assert got == [(0, "chunk 0")]
        else:
            assert failing is None and got == [(10 * value, f"chunk {value}") for value in range(6)]
        finally:
            pool.close(ok=True)
        assert (0, False) in ran and (1, True) in ran  # chunk 0 in the thread, chunk 1 in the caller
        assert sorted(value for value, _ in ran) == list(range(len(ran)))  # each chunk once


def test_ordered_pool_with_a_route_runs_each_chunk_on_the_worker_its_route_names():
    # Deduplicator(workers=N) sends a text's alignments to one worker, where the
    # alignments and prepared sources of that text are remembered.
    from dedup.workers import OrderedPool

    pool = OrderedPool(_pid_of, 2, route=lambda payload: None if payload < 0 else payload % 3)
    try:
        got = list(pool.run(("chunk", value, None) for value in [-1, *range(30), -2]))
    finally:
        pool.close(ok=True)
    assert [value for _, (value, _), _ in got] == [-1, *range(30), -2]  # in input order
    workers = {}
    for _, (value, pid), _ in got:
        if value >= 0:
            workers.setdefault(value % 3 % 2, set()).add(pid)
    assert all(len(pids) == 1 for pids in workers.values())  # one worker per route
    assert workers[0] != workers[1] and os.getpid() not in workers[0] | workers[1]


def test_parquet_from_stdin_and_output_format_must_match_the_input(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import io as _io

    import pyarrow.parquet as pq

    rows = records(4)
    sink = _io.BytesIO()
    pq.write_table(pa.table({"id": [r["id"] for r in rows], "text": [r["text"] for r in rows]}), sink)
    done = run("clean", "-", stdin=sink.getvalue(), check_rc=0)
    assert pq.read_table(_io.BytesIO(done.stdout)).column("text").to_pylist() == [dedup.clean(r["text"]) for r in rows]
    (tmp_path / "in.parquet").write_bytes(sink.getvalue())
    mismatch = run("clean", tmp_path / "in.parquet", "-o", tmp_path / "out.jsonl", check_rc=2)
    assert "names a jsonl file" in mismatch.stderr.decode()


def test_empty_input_gives_an_empty_output(tmp_path):
    (tmp_path / "in.jsonl").write_bytes(b"")
    done = run("clean", tmp_path / "in.jsonl", "-o", tmp_path / "out.jsonl", check_rc=0)
    assert (tmp_path / "out.jsonl").read_bytes() == b""
    assert "0 documents in, 0 out" in done.stderr.decode()


def _fail_on_seven(payload):
    if 7 in payload:
        raise ValueError("seven is not allowed")
    return payload


@pytest.mark.parametrize("jobs, in_thread", [(1, False), (1, True), (2, False)])
def test_a_failing_chunk_names_its_records(jobs, in_thread):
    from dedup.cli.pool import ChunkFailed, OrderedPool
    from dedup.cli.records import Record

    chunk = [Record("corpus.jsonl", line, str(line), "x") for line in (40, 41, 42)]
    pool = OrderedPool(_fail_on_seven, jobs, in_thread=in_thread)
    try:
        with pytest.raises(ChunkFailed, match=r"in records corpus.jsonl:40-42: ValueError: seven is not allowed"):
            list(pool.run(iter([("chunk", [1, 2], None), ("chunk", [7], chunk)])))
    finally:
        pool.close(ok=False)


def test_a_worker_killed_mid_run_fails_the_run_instead_of_hanging(tmp_path):
    env = dict(os.environ, PYTHONPATH=SRC)
    process = subprocess.Popen(
        [sys.executable, "-m", "dedup", "clean", "-", "-o", str(tmp_path / "out.jsonl"), "--jobs", "2",
         "--scope", "within"],  # the scope that runs in worker processes
        stdin=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )
    lines = b"".join(json.dumps(r).encode() + b"\n" for r in records(200))
    process.stdin.write(lines)
    process.stdin.flush()
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
    if not children.exists():
        process.kill()
        pytest.skip("needs /proc/PID/task/PID/children (Linux)")
    deadline = time.time() + 30
    workers: list[str] = []
    while time.time() < deadline and not workers:
        workers = children.read_text().split()
        time.sleep(0.05)
    assert workers, "no worker processes started"
    os.kill(int(workers[0]), signal.SIGKILL)
    stat = Path(f"/proc/{workers[0]}/stat")
    while True:  # until the worker has died (gone, or a zombie its parent has not reaped yet)
        try:
            if stat.read_bytes().split(b") ")[-1][:1] == b"Z":
                break
        except OSError:
            break
        time.sleep(0.01)
    try:  # the run may have failed already: then its stdin is closed
        process.stdin.write(lines)
        process.stdin.close()
    except BrokenPipeError:
        pass
    err = process.stderr.read()  # to its end: the run has ended
    process.wait(timeout=60)
    assert process.returncode == 1, err.decode()
    assert "processing failed" in err.decode()
    assert os.listdir(tmp_path) == []


def test_options_that_do_not_apply_are_named_in_a_warning(tmp_path):
    write_jsonl(tmp_path / "in.jsonl", records(2))
    done = run("clean", tmp_path / "in.jsonl", "--scope", "within", "--window", "4", "-o", tmp_path / "out.jsonl",
               check_rc=0)
    assert "no effect on repeats inside a document: --window" in done.stderr.decode()


def test_format_option_overrides_detection_on_stdin():
    text = "{braces} open this note, which is plain text.\n" + doubled(ENGLISH)
    sniffed = run("clean", "-", stdin=text.encode(), check_rc=1)  # taken as JSONL from its first byte
    assert "<stdin>:1: invalid JSON" in sniffed.stderr.decode() and "use --format text" in sniffed.stderr.decode()
    done = run("clean", "-", "--format", "text", stdin=text.encode(), check_rc=0)
    assert done.stdout.decode() == dedup.clean(text)


# --------------------------------------------------------------------------- defaults, help and messages


def test_clean_by_default_also_removes_documents_seen_before(tmp_path):
    # A corpus with exact duplicate documents: the default removes the later copies' text.
    rows = [{"id": "a", "text": ENGLISH}, {"id": "b", "text": UNIQUE[0]}, {"id": "c", "text": ENGLISH}]
    write_jsonl(tmp_path / "in.jsonl", rows)
    done = run("clean", tmp_path / "in.jsonl", check_rc=0)
    got = [r["text"] for r in read_jsonl(done.stdout)]
    assert got == [ENGLISH, UNIQUE[0], ""]
    assert got == library_both(rows)
    assert "passages seen in earlier documents: 1 document changed" in done.stderr.decode()


def test_help_prints_the_library_defaults():
    from dedup import Deduplicator, find_duplicates, find_repeats
    from dedup.cli.parser import library_defaults

    within, across = library_defaults(find_repeats), library_defaults(Deduplicator.__init__)
    text = " ".join(run("clean", "--help", check_rc=0).stdout.decode().split())
    # One engine: the same matching defaults inside documents and across them.
    assert within["threshold"] == across["threshold"] and within["min_length"] == across["min_length"]
    assert f"in (0, 1] (default: {within['threshold']})" in text
    assert f"in matched words (default: {within['min_length']})" in text
    assert f"(default: {within['max_gap']})" in text and "(default: both)" in text
    assert f"(default: {across['window']})" in text
    dups = " ".join(run("dups", "--help", check_rc=0).stdout.decode().split())
    assert f"in (0, 1) (default: {library_defaults(find_duplicates)['threshold']})" in dups
    assert "--jobs" not in dups  # dups runs in one process: no option that does nothing


def test_dups_threshold_range_in_help_is_the_one_enforced(tmp_path):
    write_jsonl(tmp_path / "in.jsonl", records(2))
    done = run("dups", "in.jsonl", "--threshold", "1", cwd=tmp_path, check_rc=2)
    assert "--threshold must be in (0, 1), got 1.0" in done.stderr.decode()
    assert "unrecognized arguments: -j" in run("dups", "in.jsonl", "-j", "2", cwd=tmp_path, check_rc=2).stderr.decode()


def test_summary_says_what_to_try_when_nothing_was_removed(tmp_path):
    write_jsonl(tmp_path / "in.jsonl", [{"id": i, "text": text} for i, text in enumerate(UNIQUE)])
    err = run("clean", tmp_path / "in.jsonl", "--scope", "within", "-o", tmp_path / "o.jsonl", check_rc=0).stderr.decode()
    assert "nothing removed" in err and "--scope both" in err and "--threshold" in err
    assert f"dedup dups {tmp_path / 'in.jsonl'}" in err
    # something removed: no hint
    write_jsonl(tmp_path / "doubled.jsonl", [{"id": 1, "text": doubled(ENGLISH)}])
    assert "nothing removed" not in run("clean", tmp_path / "doubled.jsonl", check_rc=0).stderr.decode()


def test_summary_counts_agree_in_number_and_give_no_rate_for_no_documents(tmp_path):
    (tmp_path / "empty.jsonl").write_bytes(b"")
    err = run("clean", tmp_path / "empty.jsonl", check_rc=0).stderr.decode()
    assert "0 documents in" in err and "docs/s" not in err
    write_jsonl(tmp_path / "one.jsonl", [{"id": 1, "text": ENGLISH}, {"id": 2, "text": ENGLISH}])
    err = run("dups", tmp_path / "one.jsonl", check_rc=0).stderr.decode()
    assert "1 cluster, 2 documents in them" in err


def test_drop_empty_leaves_out_records_with_no_text_and_the_report_lists_them(tmp_path):
    rows = [{"id": "a", "text": ENGLISH}, {"id": "b", "text": ENGLISH}, {"id": "c", "text": "   "},
            {"id": "d", "text": UNIQUE[0]}]
    write_jsonl(tmp_path / "in.jsonl", rows)
    kept = run("clean", tmp_path / "in.jsonl", check_rc=0)
    assert [r["id"] for r in read_jsonl(kept.stdout)] == ["a", "b", "c", "d"]
    assert "--drop-empty leaves them out" in kept.stderr.decode()
    done = run("clean", tmp_path / "in.jsonl", "--drop-empty", "--report", tmp_path / "r.jsonl", check_rc=0)
    assert [(r["id"], r["text"]) for r in read_jsonl(done.stdout)] == [("a", ENGLISH), ("d", UNIQUE[0])]
    report = read_jsonl((tmp_path / "r.jsonl").read_bytes())
    assert [(e["id"], e["kind"]) for e in report if e["kind"] == "dropped"] == [("b", "dropped"), ("c", "dropped")]
    assert any(e["id"] == "b" and e["kind"] == "across" for e in report)  # what was removed from it
    err = done.stderr.decode()
    assert "4 documents in, 2 out" in err and "documents dropped (no text left): 2" in err


def test_drop_empty_in_a_folder_of_text_files_writes_no_file_for_an_emptied_one(tmp_path):
    src = tmp_path / "articles"
    src.mkdir()
    (src / "a.txt").write_text(ENGLISH, encoding="utf-8")
    (src / "b.txt").write_text(ENGLISH, encoding="utf-8")  # all seen in a.txt
    run("clean", src, "-o", tmp_path / "out", "--drop-empty", check_rc=0)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.txt"]


def test_an_output_that_cannot_be_written_is_named_as_the_user_gave_it(tmp_path):
    write_jsonl(tmp_path / "in.jsonl", records(2))
    (tmp_path / "file").write_text("a file, not a folder")
    targets = [tmp_path / "file" / "sub" / "out.jsonl"]
    if os.path.isdir("/proc/self"):  # a folder where even root cannot create a file
        targets.append(Path("/proc/out.jsonl"))
    for target in targets:
        for option in ("-o", "--report", "--rejects"):
            others = [] if option == "-o" else ["-o", tmp_path / "o.jsonl"]
            done = run("clean", tmp_path / "in.jsonl", option, target, *others)
            err = done.stderr.decode()
            assert done.returncode in (1, 2), err
            assert str(target.parent) in err and ".dedup-" not in err and ".tmp" not in err, err


# --------------------------------------------------------------------------- skipping everything, and small messages


def test_skip_that_reads_no_document_is_an_error_that_says_why(tmp_path):
    write_jsonl(tmp_path / "in.jsonl", records(5))
    for command in ("clean", "explain", "dups"):
        done = run(command, tmp_path / "in.jsonl", "--text-field", "body", "--on-error", "skip", "-o",
                   tmp_path / "out.jsonl", cwd=tmp_path, check_rc=1)
        err = done.stderr.decode()
        assert "no document was read, 5 records skipped" in err, err
        assert "missing text field 'body' (fields: 'id', 'title', 'meta', 'text')" in err
        assert sorted(os.listdir(tmp_path)) == ["in.jsonl"]  # no output written
    (tmp_path / "empty.jsonl").write_bytes(b"")  # nothing to read is no error: nothing was skipped
    run("clean", tmp_path / "empty.jsonl", "--on-error", "skip", check_rc=0)


def test_skip_of_more_than_the_allowed_share_of_records_is_an_error(tmp_path):
    good = [json.dumps(r).encode() + b"\n" for r in records(2)]
    bad = [b'{"id": "x%d", "body": "no text here"}\n' % i for i in range(3)]
    (tmp_path / "in.jsonl").write_bytes(b"".join(good + bad))  # 3 bad records of 5
    done = run("clean", tmp_path / "in.jsonl", "--on-error", "skip", "-o", tmp_path / "out.jsonl", check_rc=1)
    err = done.stderr.decode()
    assert "3 of 5 records were bad and skipped (60%), more than --max-skipped 0.5 allows" in err
    assert "in.jsonl:3: missing text field 'text'" in err and not (tmp_path / "out.jsonl").exists()
    run("clean", tmp_path / "in.jsonl", "--on-error", "skip", "--max-skipped", "0.6", "-o", tmp_path / "out.jsonl",
        check_rc=0)
    assert len(read_jsonl((tmp_path / "out.jsonl").read_bytes())) == 2


def test_rerun_of_a_finished_state_job_names_the_record_and_how_to_go_on(tmp_path):
    rows = wire_records()
    write_jsonl(tmp_path / "day1.jsonl", rows[:3])
    write_jsonl(tmp_path / "day2.jsonl", rows)  # day 1 again, and two new documents
    state = tmp_path / "s.db"
    run("clean", tmp_path / "day1.jsonl", "--state", state, "-o", tmp_path / "o1.jsonl", check_rc=0)
    done = run("clean", tmp_path / "day1.jsonl", "--state", state, "-o", tmp_path / "o2.jsonl", check_rc=1)
    err = done.stderr.decode()
    assert f"day1.jsonl:1: document id 'a' is already in --state {state}" in err, err
    assert "use a new --state file, or --on-error skip to skip documents seen before" in err
    assert "ids[" not in err and not (tmp_path / "o2.jsonl").exists()
    # skipping the documents seen before is not "too many bad records": the new ones are cleaned
    done = run("clean", tmp_path / "day2.jsonl", "--state", state, "-o", tmp_path / "o2.jsonl", "--on-error", "skip",
               "--rejects", tmp_path / "seen.jsonl", check_rc=0)
    assert [r["id"] for r in read_jsonl((tmp_path / "o2.jsonl").read_bytes())] == ["d", "e"]
    assert [r["id"] for r in read_jsonl((tmp_path / "seen.jsonl").read_bytes())] == ["a", "b", "c"]
    assert len(dedup.Deduplicator.load(state)) == 5


def test_a_missing_id_field_lists_the_fields_there_are(tmp_path):
    write_jsonl(tmp_path / "in.jsonl", records(2))
    done = run("clean", tmp_path / "in.jsonl", "--id-field", "url", check_rc=1)
    assert "in.jsonl:1: missing id field 'url' (fields: 'id', 'title', 'meta', 'text')" in done.stderr.decode()


def test_an_output_folder_that_does_not_exist_is_named_with_its_option(tmp_path):
    write_jsonl(tmp_path / "in.jsonl", records(2))
    done = run("explain", tmp_path / "in.jsonl", "--html", tmp_path / "nope" / "r.html", check_rc=2)
    assert done.stderr.decode() == (
        f"dedup: error: --html {tmp_path / 'nope' / 'r.html'}: the folder {tmp_path / 'nope'} does not exist\n"
    )


def test_the_count_of_more_ignored_files_agrees_in_number(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.txt").write_text(ENGLISH, encoding="utf-8")
    for name in "bcdefg":
        (src / f"{name}.foo").write_text("not a known format")
    err = run("clean", src, "-o", tmp_path / "out", check_rc=0).stderr.decode()
    assert "ignored 1 more file of unknown format" in err, err


@pytest.mark.parametrize("command", ["clean", "explain", "dups"])
def test_an_unknown_option_shows_the_usage_of_its_command(tmp_path, command):
    write_jsonl(tmp_path / "in.jsonl", records(2))
    err = run(command, tmp_path / "in.jsonl", "--frobnicate", check_rc=2).stderr.decode()
    assert err.startswith(f"usage: dedup {command} ") and f"dedup {command}: error: unrecognized arguments: --frobnicate" in err


def test_the_command_runs_with_fewer_garbage_collections_and_restores_the_collector(tmp_path, monkeypatch):
    # A run makes millions of short-lived objects beside a large state: the collector's
    # thresholds are raised for it, and put back after it (main() also runs in-process).
    import gc

    import dedup.cli as cli_module
    from dedup.interpreter import LONG_RUN_THRESHOLDS

    seen = []
    run_clean = cli_module.run_clean

    def spy(args, explain=False):
        seen.append(gc.get_threshold())
        return run_clean(args, explain=explain)

    monkeypatch.setattr(cli_module, "run_clean", spy)
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"id": 1, "text": "One line of text."}) + "\n")
    before = gc.get_threshold()
    assert cli_module.main(["clean", str(source), "-o", str(tmp_path / "out.jsonl"), "--quiet"]) == 0
    assert cli_module.main(["clean", str(tmp_path / "missing.jsonl"), "-o", str(tmp_path / "x.jsonl")]) != 0
    assert seen == [LONG_RUN_THRESHOLDS, LONG_RUN_THRESHOLDS] and gc.get_threshold() == before
