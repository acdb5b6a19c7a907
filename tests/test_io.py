"""The record I/O layer of the command: formats, compression, bad records, atomic outputs."""

from __future__ import annotations

import gzip
import io
import json
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.cli.commit import AtomicOutputs
from dedup.cli.compression import FramesReader, damaged_data_errors
from dedup.cli.errors import InputError, UsageError
from dedup.cli.inputs import InputFile, detect_format, open_input, split_suffixes
from dedup.cli.outputs import is_inside, same_path
from dedup.cli.readers import read_records
from dedup.cli.records import Record, RecordError
from dedup.cli.writers import RecordWriter
from dedup.atomic import host_tag

NOTE = "Het waterschap verhoogt de dijk bij Kampen met een halve meter. Café “De Sluis” blijft open."


def jsonl_file(tmp_path, lines: list[bytes], name="in.jsonl") -> InputFile:
    path = tmp_path / name
    path.write_bytes(b"".join(lines))
    return InputFile(str(path), name, "jsonl")


def test_split_suffixes_finds_format_under_compression():
    assert split_suffixes("part-00001.jsonl.zst") == ("jsonl", "zstd")
    assert split_suffixes("a.b/notes.TXT.gz") == ("text", "gzip")
    assert split_suffixes("table.parquet") == ("parquet", None)
    assert split_suffixes("data.csv") == ("csv", None) and split_suffixes("data.tsv.xz") == ("tsv", "xz")
    assert split_suffixes("data.rst") == (None, None)


def test_format_is_sniffed_from_content_when_the_name_says_nothing(tmp_path):
    (tmp_path / "records").write_bytes(gzip.compress(b'{"text": "x"}\n'))
    (tmp_path / "letter").write_text("Beste Anna,\n{not json}\n", encoding="utf-8")
    assert detect_format(str(tmp_path / "records")) == "jsonl"
    assert detect_format(str(tmp_path / "letter")) == "text"


def test_jsonl_records_carry_id_line_and_verbatim_bytes(tmp_path):
    first = json.dumps({"id": "a1", "text": NOTE, "lang": "nl"}, ensure_ascii=False).encode() + b"\n"
    second = b'{"text": "zonder id"}\n'
    file = jsonl_file(tmp_path, [first, b"\n", second])
    records = list(read_records(file))
    assert [r.id for r in records] == ["a1", f"{file.path}:3"]
    assert [r.line for r in records] == [1, 3]
    assert records[0].raw == first and records[0].text == NOTE


@pytest.mark.parametrize(
    "line, expected",
    [
        (b'{"id": 1, "text": "open quote}\n', "invalid JSON"),
        (b'["text", "a list"]\n', "expected a JSON object, got array"),
        (b'{"id": 2, "body": "wrong field"}\n', "missing text field 'text' (fields: 'id', 'body')"),
        (b'{"id": 3, "text": 42}\n', "field 'text' must be a string, got number 42"),
        (b'{"id": 4, "text": null}\n', "field 'text' must be a string, got null"),
        (b'{"id": 5, "text": "caf\xe9"}\n', "invalid UTF-8 (byte e9 at column 23)"),
        (b'{"id": 6, "text": "deep", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n", "nested too deeply"),
        (b'{"id": 7, "text": "long", "n": ' + b"7" * 5000 + b"}\n", "a number too long to read"),
        (b'{"id": 8, "text": "long", "n": -' + b"7" * 5000 + b"}\n", "a number too long to read (more than 4,300 digits)"),
    ],
)
def test_bad_jsonl_line_becomes_an_error_with_file_and_line(tmp_path, line, expected):
    good = b'{"id": 0, "text": "good"}\n'
    file = jsonl_file(tmp_path, [good, line, good])
    items = list(read_records(file))
    assert isinstance(items[0], Record) and isinstance(items[2], Record)
    error = items[1]
    assert isinstance(error, RecordError)
    assert str(error).startswith(f"{file.path}:2: ")
    assert expected in error.message
    assert error.reject_bytes() == line  # rejected verbatim, newline included


def test_explicit_id_field_must_be_present_and_usable(tmp_path):
    file = jsonl_file(tmp_path, [b'{"doc": "x1", "text": "a"}\n', b'{"text": "b"}\n', b'{"doc": [1], "text": "c"}\n'])
    items = list(read_records(file, id_field="doc"))
    assert items[0].id == "x1"
    assert isinstance(items[1], RecordError) and "missing id field 'doc'" in items[1].message
    assert isinstance(items[2], RecordError) and "field 'doc' must be a string or an integer" in items[2].message


def test_default_id_falls_back_to_file_and_line_when_id_is_unusable(tmp_path):
    file = jsonl_file(tmp_path, [b'{"id": null, "text": "a"}\n', b'{"id": 7, "text": "b"}\n'])
    assert [r.id for r in read_records(file)] == [f"{file.path}:1", 7]


def test_text_file_with_bad_bytes_reports_the_line(tmp_path):
    path = tmp_path / "brief.txt"
    path.write_bytes("Eerste regel.\nTweede regel.\nDerde r\u00e9gel.\n".encode("utf-8").replace(b"\xc3\xa9", b"\xe9"))
    (error,) = read_records(InputFile(str(path), "brief.txt", "text"))
    assert isinstance(error, RecordError)
    assert error.line == 3 and "invalid UTF-8" in error.message
    assert json.loads(error.reject_bytes())["error"] == error.message


def test_text_file_is_read_verbatim_with_crlf_and_bom(tmp_path):
    content = "\ufeffLine one.\r\nLine two.\r\n"
    path = tmp_path / "doc.txt"
    path.write_bytes(content.encode("utf-8"))
    (record,) = read_records(InputFile(str(path), "doc.txt", "text"))
    assert record.text == content and record.id == "doc.txt"


def test_folder_input_lists_known_formats_sorted_and_skips_hidden(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "z.txt").write_text("z")
    (tmp_path / "a.jsonl.gz").write_bytes(gzip.compress(b""))
    (tmp_path / ".out.jsonl.dedup-1.tmp").write_text("half")
    (tmp_path / "notes.csv").write_text("x,y")
    (tmp_path / "notes.rst").write_text("x")
    found = open_input(str(tmp_path))
    assert [(f.relpath, f.format) for f in found.files] == [
        ("a.jsonl.gz", "jsonl"), (os.path.join("b", "z.txt"), "text"), ("notes.csv", "csv")]
    assert found.ignored == ["notes.rst"]


def test_missing_input_and_empty_folder_are_usage_errors(tmp_path):
    with pytest.raises(UsageError, match="input not found"):
        open_input(str(tmp_path / "nope.jsonl"))
    with pytest.raises(UsageError, match="no input files"):
        open_input(str(tmp_path))


def test_unchanged_jsonl_record_is_written_byte_for_byte():
    raw = b'{"id":1,  "text":"caf\\u00e9",   "n": 1.50}\n'
    record = Record("x", 1, 1, "caf\u00e9", json.loads(raw), raw)
    out = io.BytesIO()
    writer = RecordWriter(out, "jsonl")
    writer.write(record, record.text)
    writer.write(record, "caf")
    writer.close()
    first, second = out.getvalue().splitlines(keepends=True)
    assert first == raw
    assert json.loads(second) == {"id": 1, "text": "caf", "n": 1.5}


def test_gzip_output_is_chosen_by_the_destination_name(tmp_path):
    out = io.BytesIO()
    writer = RecordWriter(out, "text", name=str(tmp_path / "x.txt.gz"))
    writer.write(Record("x", 1, "x", NOTE), NOTE)
    writer.close()
    assert gzip.decompress(out.getvalue()).decode() == NOTE


def test_atomic_output_appears_only_on_commit(tmp_path):
    target = tmp_path / "out.jsonl"
    outputs = AtomicOutputs()
    stream = outputs.file(str(target))
    stream.write(b"half")
    assert not target.exists()
    outputs.commit()
    assert target.read_bytes() == b"half"
    assert os.listdir(tmp_path) == ["out.jsonl"]


def test_aborted_output_leaves_previous_file_and_no_temporaries(tmp_path):
    target = tmp_path / "out.jsonl"
    target.write_bytes(b"previous run")
    outputs = AtomicOutputs()
    outputs.file(str(target)).write(b"new but broken")
    folder = outputs.folder(str(tmp_path / "outdir"))
    (tmp_path / "outdir").mkdir()
    open(os.path.join(folder, "a.txt"), "w").close()
    outputs.abort()
    assert target.read_bytes() == b"previous run"
    assert sorted(os.listdir(tmp_path)) == ["out.jsonl", "outdir"]
    assert os.listdir(tmp_path / "outdir") == []


def test_committed_folder_replaces_an_existing_one(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "stale.txt").write_text("old")
    outputs = AtomicOutputs()
    folder = outputs.folder(str(tmp_path / "out"))
    with open(os.path.join(folder, "fresh.txt"), "w") as fh:
        fh.write("new")
    outputs.commit()
    assert os.listdir(tmp_path / "out") == ["fresh.txt"]
    assert sorted(os.listdir(tmp_path)) == ["out"]


def test_same_path_sees_through_links_and_relative_names(tmp_path, monkeypatch):
    real = tmp_path / "data.jsonl"
    real.write_text("{}")
    os.link(real, tmp_path / "hard.jsonl")
    os.symlink(real, tmp_path / "soft.jsonl")
    monkeypatch.chdir(tmp_path)
    assert same_path("data.jsonl", str(real))
    assert same_path(str(tmp_path / "hard.jsonl"), str(real))
    assert same_path(str(tmp_path / "soft.jsonl"), str(real))
    assert not same_path("other.jsonl", str(real))
    assert is_inside(str(tmp_path / "sub" / "x"), str(tmp_path))
    assert not is_inside(str(tmp_path) + "-other", str(tmp_path))


# --------------------------------------------------------------------------- faults and bad input


def test_lone_surrogate_escape_is_written_back_as_the_same_escape(tmp_path):
    raw = b'{"id": "k\\udc80", "text": "Eerste zin.\\ud800 Tweede zin."}\n'
    (record,) = read_records(jsonl_file(tmp_path, [raw]))
    assert record.text == "Eerste zin.\ud800 Tweede zin." and record.id == "k\udc80"
    out = io.BytesIO()
    writer = RecordWriter(out, "jsonl")
    writer.write(record, "Eerste zin.\ud800")
    writer.write_json({"id": record.id, "removed": 1})
    writer.close()
    assert out.getvalue() == b'{"id": "k\\udc80", "text": "Eerste zin.\\ud800"}\n{"id": "k\\udc80", "removed": 1}\n'


def test_text_output_of_a_lone_surrogate_names_the_record(tmp_path):
    (record,) = read_records(jsonl_file(tmp_path, [b'{"text": "a\\ud800b"}\n']))
    writer = RecordWriter(io.BytesIO(), "text")
    with pytest.raises(InputError, match=r"in\.jsonl:1: .*lone surrogate.*write JSONL"):
        writer.write(record, record.text)


def compressed(kind: str, data: bytes) -> bytes:
    import bz2
    import lzma

    import zstandard

    return {
        "gz": gzip.compress,
        "bz2": bz2.compress,
        "xz": lzma.compress,
        "zst": lambda d: zstandard.ZstdCompressor().compress(d),
    }[kind](data)


LINES = b"".join(json.dumps({"id": i, "text": f"{NOTE} ({i})"}).encode() + b"\n" for i in range(400))


@pytest.mark.parametrize("kind", ["gz", "bz2", "xz", "zst"])
def test_truncated_compressed_input_gives_records_then_one_file_error(tmp_path, kind):
    data = compressed(kind, LINES)
    path = tmp_path / f"in.jsonl.{kind}"
    path.write_bytes(data[: len(data) * 2 // 3])
    items = list(read_records(InputFile(str(path), path.name, "jsonl")))
    *records, error = items
    assert all(isinstance(r, Record) for r in records) and len(records) < 400
    assert [r.id for r in records] == list(range(len(records)))
    assert isinstance(error, RecordError) and error.unit == "file"
    assert str(error).startswith(f"{path}: ") and "\n" not in str(error)
    assert "truncated" in error.message or "damaged" in error.message


@pytest.mark.parametrize("kind", ["gz", "bz2", "xz"])
def test_truncated_compressed_text_file_is_one_file_error(tmp_path, kind):
    data = compressed(kind, NOTE.encode() * 200)
    path = tmp_path / f"note.txt.{kind}"
    path.write_bytes(data[: len(data) // 2])
    (error,) = read_records(InputFile(str(path), path.name, "text"))
    assert isinstance(error, RecordError) and error.unit == "file" and str(path) in str(error)


def test_damaged_gzip_data_is_a_file_error(tmp_path):
    data = bytearray(compressed("gz", LINES))
    data[len(data) // 2] ^= 0xFF
    path = tmp_path / "in.jsonl.gz"
    path.write_bytes(bytes(data))
    items = list(read_records(InputFile(str(path), path.name, "jsonl")))
    assert isinstance(items[-1], RecordError) and items[-1].unit == "file"


def test_broken_link_and_fifo_in_a_folder_are_file_errors_that_do_not_block(tmp_path):
    (tmp_path / "a.jsonl").write_bytes(b'{"text": "goed"}\n')
    os.symlink(tmp_path / "gone.jsonl", tmp_path / "b.jsonl")
    os.mkfifo(tmp_path / "c.jsonl")
    found = open_input(str(tmp_path))
    assert [f.relpath for f in found.files] == ["a.jsonl", "b.jsonl", "c.jsonl"]
    results = [list(read_records(f)) for f in found.files]
    assert isinstance(results[0][0], Record)
    (broken,), (fifo,) = results[1], results[2]
    assert str(broken).startswith(str(tmp_path / "b.jsonl")) and "broken symbolic link" in broken.message
    assert "FIFO" in fifo.message
    assert json.loads(fifo.reject_bytes()) == {"source": str(tmp_path / "c.jsonl"), "error": fifo.message}


def test_output_files_and_folders_honour_the_umask_and_replacing_keeps_the_mode(tmp_path):
    previous = os.umask(0o022)
    try:
        (tmp_path / "kept.jsonl").write_bytes(b"old")
        os.chmod(tmp_path / "kept.jsonl", 0o640)
        outputs = AtomicOutputs()
        outputs.file(str(tmp_path / "new.jsonl")).write(b"x")
        outputs.file(str(tmp_path / "kept.jsonl")).write(b"y")
        outputs.folder(str(tmp_path / "out"))
        outputs.commit()
    finally:
        os.umask(previous)
    modes = {name: os.stat(tmp_path / name).st_mode & 0o777 for name in ("new.jsonl", "kept.jsonl", "out")}
    assert modes == {"new.jsonl": 0o644, "kept.jsonl": 0o640, "out": 0o755}


def test_next_run_removes_what_a_killed_run_left_and_restores_a_folder_moved_aside(tmp_path):
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    (tmp_path / f".out.jsonl.dedup-{host_tag()}-{child.pid}-abc123.tmp").write_bytes(b"half")
    aside = tmp_path / f".folder.dedup-{host_tag()}-{child.pid}-xyz.old"
    aside.mkdir()
    (aside / "previous.jsonl").write_bytes(b"previous output")
    outputs = AtomicOutputs()
    outputs.file(str(tmp_path / "out.jsonl")).write(b"new")
    outputs.folder(str(tmp_path / "folder"))  # a killed run's previous folder comes back first
    assert (tmp_path / "folder" / "previous.jsonl").read_bytes() == b"previous output"
    outputs.abort()
    assert sorted(os.listdir(tmp_path)) == ["folder"]


def test_gzip_output_header_names_the_destination_not_the_temporary(tmp_path):
    outputs = AtomicOutputs()
    writer = RecordWriter(outputs.file(str(tmp_path / "out.jsonl.gz")), "jsonl", name=str(tmp_path / "out.jsonl.gz"))
    writer.write_json({"a": 1})
    writer.close()
    outputs.commit()
    data = (tmp_path / "out.jsonl.gz").read_bytes()
    assert b"out.jsonl\x00" in data[:30] and b"dedup-" not in data


def test_input_too_damaged_to_tell_its_format_is_an_input_error_naming_it(tmp_path):
    path = tmp_path / "export"  # no extension: the format must be read from the content
    path.write_bytes(gzip.compress(LINES)[:40])
    with pytest.raises(InputError, match=r"export: compressed data end early .*use --format"):
        open_input(str(path))


def test_truncated_parquet_is_a_one_line_file_error_and_a_flipped_one_never_raises(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"text": [NOTE] * 3000, "id": list(range(3000))}), tmp_path / "good.parquet")
    data = (tmp_path / "good.parquet").read_bytes()
    (tmp_path / "cut.parquet").write_bytes(data[: len(data) // 2])
    flipped = bytearray(data)
    flipped[len(data) // 3] ^= 0xFF
    (tmp_path / "flip.parquet").write_bytes(bytes(flipped))
    (error,) = read_records(InputFile(str(tmp_path / "cut.parquet"), "cut.parquet", "parquet"))
    assert isinstance(error, RecordError) and error.unit == "file"
    assert str(error).startswith(str(tmp_path / "cut.parquet")) and "\n" not in str(error)
    # Parquet pages carry no checksum by default: a flipped byte is caught when it breaks
    # the encoding, else it changes a value. Either way reading never raises.
    *_, last = read_records(InputFile(str(tmp_path / "flip.parquet"), "flip.parquet", "parquet"))
    assert isinstance(last, Record) or (last.unit == "file" and "\n" not in str(last))


@pytest.mark.parametrize("compression", ["gzip", "bz2", "xz"])
def test_a_compressed_file_read_ahead_gives_what_reading_it_directly_gives(tmp_path, compression):
    # Decompressed in a thread a few blocks ahead (dedup.cli.compression.ReadAhead): the
    # same bytes; a truncated file, the same lines and then the same kind of error.
    import bz2
    import lzma

    from dedup.cli.compression import ReadAhead, open_decompressed

    compress = {"gzip": gzip.compress, "bz2": bz2.compress, "xz": lzma.compress}[compression]
    lines = b"".join(json.dumps({"id": i, "text": f"line {i} " * (i % 50)}).encode() + b"\n" for i in range(20_000))
    data = compress(lines)
    assert len(lines) > 10 * ReadAhead.BLOCK  # many blocks, more than are read ahead
    whole, cut = tmp_path / f"whole.{compression}", tmp_path / f"cut.{compression}"
    whole.write_bytes(data)
    cut.write_bytes(data[: len(data) * 2 // 3])

    def read(path):
        got, error = [], None
        try:
            for line in InputFile(str(path), path.name, "jsonl").open_stream():
                got.append(line)
        except Exception as caught:  # noqa: BLE001 - compared below
            error = type(caught)
        return got, error

    def read_directly(path):
        got, error = [], None
        try:
            for line in open_decompressed(open(path, "rb"), str(path)):
                got.append(line)
        except Exception as caught:  # noqa: BLE001 - compared below
            error = type(caught)
        return got, error

    stream = InputFile(str(whole), whole.name, "jsonl").open_stream()
    assert isinstance(stream.raw, ReadAhead)  # the thread is what is tested here
    stream.close()
    assert read(whole) == read_directly(whole) == (lines.splitlines(keepends=True), None)
    ahead, direct = read(cut), read_directly(cut)
    assert ahead == direct and direct[1] is not None and 0 < len(direct[0]) < 20_000


@pytest.mark.parametrize("compression", ["gzip", "bz2", "xz"])
def test_a_compressed_output_written_behind_holds_every_byte_written(tmp_path, compression):
    # Compressed in a thread (dedup.cli.compression.WriteBehind): many blocks, writes of
    # every size, and what decompresses is exactly what was written, in order.
    import bz2
    import lzma

    from dedup.cli.compression import WriteBehind, open_compressed_writer

    decompress = {"gzip": gzip.decompress, "bz2": bz2.decompress, "xz": lzma.decompress}[compression]
    pieces = [json.dumps({"id": i, "text": "word " * (i % 3000)}).encode() + b"\n" for i in range(3_000)]
    path = tmp_path / "out"
    with open(path, "wb") as raw:
        stream = open_compressed_writer(raw, compression, str(path))
        assert isinstance(stream, WriteBehind)
        for piece in pieces:
            assert stream.write(piece) == len(piece)
        stream.close()
        assert not raw.closed  # the file under the compressor stays open, as before
    assert sum(map(len, pieces)) > 20 * WriteBehind.BLOCK
    assert decompress(path.read_bytes()) == b"".join(pieces)


def test_an_error_of_the_compressing_thread_is_raised_by_the_next_call(tmp_path):
    from dedup.cli.compression import WriteBehind

    class FullDisk(io.RawIOBase):
        def writable(self):
            return True

        def write(self, data):
            raise OSError(28, "No space left on device")

    stream = WriteBehind(FullDisk())
    stream.write(b"x" * (2 * WriteBehind.BLOCK))  # handed to the thread, which fails
    with pytest.raises(OSError, match="No space left"):
        stream.flush()
    with pytest.raises(OSError, match="No space left"):
        stream.write(b"more")  # every later call fails too
    with pytest.raises(OSError, match="No space left"):
        stream.close()
    assert stream.closed


def _gzip_frames(data: bytes, chunk: int = FramesReader.CHUNK) -> FramesReader:
    import zlib

    new_member = lambda: zlib.decompressobj(wbits=31)  # noqa: E731
    return FramesReader(io.BytesIO(data), new_member, "gzip", zero_padding=True, bounded=True, chunk=chunk)


def _python_gzip(data: bytes) -> bytes | type:
    """What Python's gzip makes of ``data``: the bytes, or the kind of error."""
    try:
        return gzip.GzipFile(fileobj=io.BytesIO(data)).read()
    except EOFError:
        return EOFError
    except (OSError, ValueError) as error:  # BadGzipFile, zlib.error
        return type(error)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.binary(max_size=3_000) | st.just(b"ab" * 40_000), st.integers(0, 3)), min_size=1, max_size=4),
    st.integers(0, 10**9), st.sampled_from([1, 16, 1 << 18]),
)
def test_gzip_members_read_in_chunks_give_what_pythons_gzip_gives_whole_or_cut(members, cut, chunk):
    # Several members (one expanding 250-fold), zero padding after some, the file cut
    # anywhere, read in chunks that split headers, members and trailers: the bytes
    # Python's gzip reads, or an error of damaged data where it fails (EOFError where
    # the data end inside a member).
    data = b"".join(gzip.compress(member, mtime=0) + bytes(zeros) for member, zeros in members)
    data = data[: cut % (len(data) + 1)]
    expected = _python_gzip(data)
    reader = _gzip_frames(data, chunk)
    if isinstance(expected, bytes):
        assert reader.read() == expected
    else:
        with pytest.raises(EOFError if expected is EOFError else damaged_data_errors()):
            reader.read()


def test_a_gzip_frame_that_expands_far_is_read_in_bounded_pieces(monkeypatch):
    import tracemalloc

    monkeypatch.setattr(FramesReader, "MOST_OUT", 1 << 16)
    data = gzip.compress(bytes(40 << 20), mtime=0)  # 40 MB of zeros in about 40 KB
    reader = io.BufferedReader(_gzip_frames(data), buffer_size=1 << 16)
    tracemalloc.start()
    total = 0
    while block := reader.read1(1 << 16):
        total += len(block)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert total == 40 << 20 and peak < 4 << 20  # never the whole 40 MB at once


def test_damaged_gzip_members_and_trailing_bytes_raise_as_damaged_data():
    good = gzip.compress(b"some text " * 100, mtime=0)
    flipped = bytearray(good)
    flipped[-6] ^= 0xFF  # the CRC of the data
    for data in (bytes(flipped), good + b"not gzip"):
        with pytest.raises(damaged_data_errors()):
            _gzip_frames(data).read()
        assert not isinstance(_python_gzip(data), bytes)  # Python's gzip refuses them too


def _read_until_error(reader) -> tuple[bytes, bool]:
    """What ``reader.read1`` hands out before it fails, and whether it failed."""
    out = []
    try:
        while block := reader.read1(1 << 16):
            out.append(block)
    except damaged_data_errors():
        return b"".join(out), True
    return b"".join(out), False


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 3), st.integers(0, 10**9), st.integers(0, 7), st.integers(0, 10**9))
def test_a_damaged_gzip_file_gives_every_byte_before_the_damage_as_pythons_gzip_does(members, where, bit, seed):
    # A bit flipped anywhere in one of several members: at least the bytes Python's gzip
    # hands out before it fails (zlib hands out nothing of a call that fails: the chunk
    # is read again in small pieces), and the same bytes, then the error.
    import random

    rng = random.Random(seed)
    text = b"".join(b'{"id": %d, "text": "words %d"}\n' % (i, rng.randrange(10**6)) for i in range(40_000))
    parts = [gzip.compress(text[: rng.randrange(1, len(text))], mtime=0) for _ in range(members)]
    data = bytearray(b"".join(parts))
    where %= len(data)
    data[where] ^= 1 << bit
    ours, ours_failed = _read_until_error(io.BufferedReader(_gzip_frames(bytes(data)), buffer_size=1 << 16))
    theirs, theirs_failed = _read_until_error(gzip.GzipFile(fileobj=io.BytesIO(bytes(data))))
    flags = {sum(map(len, parts[:k])) + 3 for k in range(members)}  # each member's FLG byte
    if where in flags and bit >= 5:  # a reserved flag: refused, as RFC 1952 and gzip(1) do
        assert ours_failed and theirs.startswith(ours)  # (Python's gzip ignores it)
    else:
        assert ours_failed == theirs_failed and ours.startswith(theirs)
