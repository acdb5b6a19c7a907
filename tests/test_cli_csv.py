"""CSV and TSV files as records for every command: columns kept, dialect sniffed or set, clear errors."""

from __future__ import annotations

import csv
import gzip
import io
import json

import pytest

import dedup
from test_cli import DUTCH, ENGLISH, UNIQUE, doubled, read_jsonl, run, write_jsonl

ROWS = [  # id, date, text: row 3 repeats row 1's text; texts hold commas, quotes and line breaks
    {"id": "r1", "date": "2024-03-01", "text": ENGLISH},
    {"id": "r2", "date": "2024-03-02", "text": 'A "quoted" word, a comma; a semicolon.\nAnd a second line.'},
    {"id": "r3", "date": "2024-03-03", "text": ENGLISH},
    {"id": "r4", "date": "2024-03-04", "text": doubled(DUTCH)},
]


def csv_bytes(rows: list[dict], delimiter: str = ",", line_ending: str = "\r\n") -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), delimiter=delimiter, lineterminator=line_ending)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def read_csv(data: bytes, delimiter: str = ",") -> list[dict]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline=""), delimiter=delimiter))


def library_texts(rows: list[dict]) -> list[str]:
    return dedup.Deduplicator().clean_many([r["text"] for r in rows], [r["id"] for r in rows])


def test_csv_rows_are_records_and_every_other_column_is_kept(tmp_path):
    given = csv_bytes(ROWS)
    (tmp_path / "rows.csv").write_bytes(given)
    done = run("clean", tmp_path / "rows.csv", "-o", tmp_path / "out.csv", check_rc=0)
    out = (tmp_path / "out.csv").read_bytes()
    got = read_csv(out)
    assert [r["text"] for r in got] == library_texts(ROWS)
    assert [(r["id"], r["date"]) for r in got] == [(r["id"], r["date"]) for r in ROWS]  # row 3 keeps its id and date
    assert got[2]["text"] == "" and got[1]["text"] == ROWS[1]["text"]  # quoted line break and quotes read right
    # unchanged rows (and the header) are copied byte for byte, line endings included
    assert out.startswith(given.split(b"\r\n")[0] + b"\r\n")
    unchanged = csv_bytes(ROWS[:2])
    assert out.startswith(unchanged)
    assert "4 documents in, 4 out" in done.stderr.decode()


def test_tsv_in_gives_tsv_out_and_compression_works_as_for_jsonl(tmp_path):
    (tmp_path / "rows.tsv.gz").write_bytes(gzip.compress(csv_bytes(ROWS, "\t", "\n")))
    run("clean", tmp_path / "rows.tsv.gz", "-o", tmp_path / "out.tsv.gz", check_rc=0)
    got = read_csv(gzip.decompress((tmp_path / "out.tsv.gz").read_bytes()), "\t")
    assert [r["text"] for r in got] == library_texts(ROWS)
    done = run("clean", tmp_path / "rows.tsv.gz", "-o", tmp_path / "out.jsonl", check_rc=2)
    assert "the output has the input's format (tsv)" in done.stderr.decode()


def test_the_delimiter_is_sniffed_from_the_header_or_set_by_an_option(tmp_path):
    (tmp_path / "semi.csv").write_bytes(csv_bytes(ROWS, ";", "\n"))
    out = run("clean", tmp_path / "semi.csv", check_rc=0).stdout
    assert [r["text"] for r in read_csv(out, ";")] == library_texts(ROWS)
    assert out.splitlines()[0] == b"id;date;text"  # written back with the input's delimiter
    piped = csv_bytes(ROWS, "|", "\n")  # not among the sniffed delimiters: set it
    out = run("clean", "-", "--format", "csv", "--csv-delimiter", "|", stdin=piped, check_rc=0).stdout
    assert [r["text"] for r in read_csv(out, "|")] == library_texts(ROWS)
    tabbed = run("clean", "-", "--format", "csv", "--csv-delimiter", "tab", stdin=csv_bytes(ROWS, "\t"), check_rc=0)
    assert [r["text"] for r in read_csv(tabbed.stdout, "\t")] == library_texts(ROWS)
    bad = run("clean", tmp_path / "semi.csv", "--csv-delimiter", "ab", check_rc=2)
    assert "--csv-delimiter must be one character" in bad.stderr.decode()


def test_text_and_id_fields_name_csv_columns(tmp_path):
    rows = [{"url": f"https://example.org/{r['id']}", "body": r["text"], "id": "same"} for r in ROWS]
    (tmp_path / "in.csv").write_bytes(csv_bytes(rows))
    report = read_jsonl(run("explain", tmp_path / "in.csv", "--text-field", "body", "--id-field", "url",
                            check_rc=0).stdout)
    across = [e for e in report if e["kind"] == "across"]
    assert [(e["id"], e["source_id"], e["line"]) for e in across] == [
        ("https://example.org/r3", "https://example.org/r1", 8)]  # the line where row 3 starts (rows span lines)
    within = [e for e in report if e["kind"] == "within"]
    assert [e["id"] for e in within] == ["https://example.org/r4"]


def test_explain_and_dups_read_csv_records(tmp_path):
    (tmp_path / "rows.csv").write_bytes(csv_bytes(ROWS))
    clusters = read_jsonl(run("dups", tmp_path / "rows.csv", check_rc=0).stdout)
    assert [c["members"] for c in clusters] == [["r1", "r3"]]
    report = read_jsonl(run("explain", tmp_path / "rows.csv", check_rc=0).stdout)
    assert {(e["id"], e["kind"]) for e in report} == {("r3", "across"), ("r4", "within")}
    for entry in report:
        assert ROWS[int(entry["id"][1:]) - 1]["text"][entry["start"] : entry["end"]] == entry["text"]


def test_a_ragged_row_is_a_bad_record_named_by_file_and_line(tmp_path):
    data = b'id,date,text\r\nr1,2024-03-01,"one, quoted"\r\nr2,2024-03-02,two, unquoted\r\nr3,2024-03-03,three\r\n'
    (tmp_path / "rows.csv").write_bytes(data)
    done = run("clean", tmp_path / "rows.csv", "-o", tmp_path / "out.csv", check_rc=1)
    err = done.stderr.decode()
    assert "rows.csv:3: ragged row: 4 fields, the header has 3 ('id', 'date', 'text')" in err
    assert "delimiter ','" in err and "must be quoted" in err
    assert not (tmp_path / "out.csv").exists()
    run("clean", tmp_path / "rows.csv", "-o", tmp_path / "out.csv", "--on-error", "skip",
        "--rejects", tmp_path / "rejects.jsonl", check_rc=0)
    assert [r["id"] for r in read_csv((tmp_path / "out.csv").read_bytes())] == ["r1", "r3"]
    (reject,) = read_jsonl((tmp_path / "rejects.jsonl").read_bytes())
    assert reject["line"] == 3 and reject["record"] == "r2,2024-03-02,two, unquoted\r\n"  # nothing lost


def test_a_quote_left_open_is_named_with_its_line(tmp_path):
    (tmp_path / "rows.csv").write_bytes(b'id,text\nr1,fine\nr2,"never closed\nr3,more\n')
    done = run("clean", tmp_path / "rows.csv", check_rc=1)
    assert "rows.csv:3: invalid CSV: a quoted field is still open at the end of the file" in done.stderr.decode()


@pytest.mark.parametrize("command", ["clean", "explain", "dups"])
def test_missing_columns_stop_every_command_and_list_the_columns(tmp_path, command):
    (tmp_path / "rows.csv").write_bytes(csv_bytes(ROWS))
    done = run(command, tmp_path / "rows.csv", "--text-field", "body", check_rc=1)
    assert "rows.csv:1: no column 'body' (columns: 'id', 'date', 'text'; delimiter ','" in done.stderr.decode()
    done = run(command, tmp_path / "rows.csv", "--id-field", "url", "--on-error", "skip", check_rc=1)
    assert "rows.csv:1: no id column 'url' (columns: 'id', 'date', 'text'" in done.stderr.decode()


def test_an_empty_id_is_a_bad_record_when_the_id_field_is_given(tmp_path):
    (tmp_path / "rows.csv").write_bytes(b"id,text\nr1,one\n,two\n")
    done = run("clean", tmp_path / "rows.csv", "--id-field", "id", check_rc=1)
    assert "rows.csv:3: field 'id' is empty" in done.stderr.decode()
    # without --id-field, a row without an id is named by its file and line
    report = read_jsonl(run("explain", tmp_path / "rows.csv", "--min-length", "1", check_rc=0).stdout)
    assert report == [] and run("dups", tmp_path / "rows.csv", check_rc=0).returncode == 0


def test_a_csv_with_only_a_header_gives_only_the_header(tmp_path):
    (tmp_path / "rows.csv").write_bytes(b"id,text\r\n")
    run("clean", tmp_path / "rows.csv", "-o", tmp_path / "out.csv", check_rc=0)
    assert (tmp_path / "out.csv").read_bytes() == b"id,text\r\n"


def test_every_command_reads_csv_and_tsv_in_a_folder_and_names_unknown_files(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.csv").write_bytes(csv_bytes(ROWS[:2]))
    (src / "b.tsv").write_bytes(csv_bytes([dict(r, id=r["id"] + "b") for r in ROWS[2:]], "\t", "\n"))
    write_jsonl(src / "c.jsonl", [{"id": "c1", "text": UNIQUE[0]}])
    (src / "notes.xyz").write_text("not read")
    done = run("clean", src, "-o", tmp_path / "out", check_rc=0)
    assert "ignored" in done.stderr.decode() and "notes.xyz" in done.stderr.decode()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.csv", "b.tsv", "c.jsonl"]
    got = [r["text"] for r in read_csv((tmp_path / "out" / "a.csv").read_bytes())]
    got += [r["text"] for r in read_csv((tmp_path / "out" / "b.tsv").read_bytes(), "\t")]
    assert got == library_texts(ROWS[:2] + [dict(r, id=r["id"] + "b") for r in ROWS[2:]])
    for command in ("explain", "dups"):
        done = run(command, src, check_rc=0)
        assert "notes.xyz" in done.stderr.decode(), command  # dups too: no file skipped silently
        assert "5 documents in" in done.stderr.decode(), command
    clusters = read_jsonl(run("dups", src, check_rc=0).stdout)
    assert [c["members"] for c in clusters] == [["r1", "r3b"]]


def test_undecodable_bytes_in_a_row_are_named_by_line_and_column(tmp_path):
    (tmp_path / "rows.csv").write_bytes(b'id,text\nr1,"fine"\nr2,"bad \xff byte"\n')
    done = run("clean", tmp_path / "rows.csv", check_rc=1)
    assert "rows.csv:3: invalid UTF-8 (byte ff at column 9)" in done.stderr.decode()


def test_a_long_text_in_one_field_is_read(tmp_path):
    long_text = " ".join(f"word{i}" for i in range(40_000))  # beyond the csv module's default field limit
    data = csv_bytes([{"id": "a", "text": long_text}])
    (tmp_path / "rows.csv").write_bytes(data)
    done = run("clean", tmp_path / "rows.csv", check_rc=0)
    assert done.stdout == data and "1 document in, 1 out" in done.stderr.decode()


def test_rows_json_fields_are_not_parsed(tmp_path):
    # A column holding JSON is a string like any other, written back as it was.
    rows = [{"id": "a", "meta": json.dumps({"n": 1}), "text": doubled(ENGLISH)}]
    (tmp_path / "rows.csv").write_bytes(csv_bytes(rows))
    got = read_csv(run("clean", tmp_path / "rows.csv", check_rc=0).stdout)
    assert got[0]["meta"] == '{"n": 1}' and got[0]["text"] == dedup.clean(doubled(ENGLISH))


def test_a_truncated_compressed_csv_is_a_bad_file_after_the_rows_read(tmp_path):
    rows = [{"id": f"r{i}", "text": f"Text number {i} of the export, with a few more words."} for i in range(3000)]
    data = gzip.compress(csv_bytes(rows, ",", "\n"))
    (tmp_path / "rows.csv.gz").write_bytes(data[: len(data) // 2])
    done = run("clean", tmp_path / "rows.csv.gz", "-o", tmp_path / "out.csv.gz", check_rc=1)
    assert "rows.csv.gz: compressed data end early (the file is truncated)" in done.stderr.decode()
    assert not (tmp_path / "out.csv.gz").exists()
