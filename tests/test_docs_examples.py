"""Every ```python and shell example in README.md and docs/*.md runs, and shows what it claims.

Blocks of one file run in order in one namespace (a later block may use an earlier one's
names), in a temporary folder holding a copy of ``examples/``. A block written as a
doctest (``>>>`` prompts) must print exactly what it shows; any other block must run
without error. A block that imports an optional package that is not installed skips the
rest of its file, with the reason shown (``-rs``).
"""

from __future__ import annotations

import ast
import contextlib
import csv
import doctest
import gzip
import importlib.util
import io
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))
PYTHON_BLOCK = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
DOCTEST_FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def python_blocks(path: Path) -> list[tuple[int, str]]:
    """(line number of the opening fence, code) for every ```python block of ``path``."""
    text = path.read_text(encoding="utf-8")
    return [(text.count("\n", 0, match.start()) + 1, match.group(1)) for match in PYTHON_BLOCK.finditer(text)]


def imported_top_modules(code: str) -> set[str]:
    """Top-level package names a block imports (doctest prompts removed first)."""
    if ">>>" in code:
        code = "\n".join(example.source for example in doctest.DocTestParser().get_examples(code))
    names = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def run_doctest(code: str, namespace: dict, name: str) -> str:
    """Run ``code`` as a doctest in ``namespace``; return the failure report ('' if none)."""
    test = doctest.DocTestParser().get_doctest(code, namespace, name, name, 0)
    report: list[str] = []
    runner = doctest.DocTestRunner(optionflags=DOCTEST_FLAGS)
    runner.run(test, out=report.append, clear_globs=False)
    namespace.update(test.globs)  # the doctest ran on a copy; later blocks see its names
    return "".join(report)


WITH_CODE = [path for path in DOCUMENTS if python_blocks(path)]


def test_the_documents_with_code_are_found():
    # Guards the test below against a pattern that silently matches nothing.
    names = {path.relative_to(ROOT).as_posix() for path in WITH_CODE}
    assert {"README.md", "docs/repeats.md", "docs/corpus.md"} <= names
    for path in DOCUMENTS:
        assert len(python_blocks(path)) == path.read_text(encoding="utf-8").count("```python")


@pytest.mark.parametrize("path", WITH_CODE, ids=[p.relative_to(ROOT).as_posix() for p in WITH_CODE])
def test_code_examples_run_and_are_true(path, tmp_path, monkeypatch, request):
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__main__"}
    for line, code in python_blocks(path):
        where = f"{path.relative_to(ROOT)}:{line}"
        modules = imported_top_modules(code)
        missing = sorted(m for m in modules if importlib.util.find_spec(m) is None)
        if missing:
            pytest.skip(f"{where} and later blocks: {', '.join(missing)} not installed")
        if "pyspark" in modules:
            spark = request.getfixturevalue("spark_session")  # skips without Java; the block reuses this session
            _spark_paths_relative_to(spark, tmp_path, request)
        if ">>>" in code:
            failures = run_doctest(code, namespace, where)
            assert not failures, f"{where}: the example does not show what it prints\n{failures}"
        else:
            exec(compile(code, where, "exec"), namespace)


def _spark_paths_relative_to(spark, folder, request) -> None:
    """Spark resolves a relative path (``.parquet("dedup-example-out")``) against the
    directory its JVM started in, the checkout, not Python's: point its local file system
    at ``folder`` for this test, as ``monkeypatch.chdir`` does for Python."""
    jvm = spark.sparkContext._jvm
    local = jvm.org.apache.hadoop.fs.FileSystem.getLocal(spark.sparkContext._jsc.hadoopConfiguration())
    before = local.getWorkingDirectory()
    local.setWorkingDirectory(jvm.org.apache.hadoop.fs.Path(str(folder)))
    request.addfinalizer(lambda: local.setWorkingDirectory(before))


# --------------------------------------------------------------------------- shell examples
#
# Every ```bash block of README.md and docs/*.md that runs the `dedup` command is a test.
# A block of `$ COMMAND` lines, each followed by what it prints (stdout, then stderr), is
# a transcript: each command runs and must print what is shown (`...` stands for any
# text; the time in a summary varies), and `$ echo $?` shows the exit code of the command
# before it (a command without one must exit 0). In a block of plain command lines, each
# must exit 0. Lines that set up a machine (pip, venv, spark-submit) are not run. All
# blocks of one file run in order in one folder holding a copy of examples/ and the files
# the examples name, written by `write_example_inputs`.

BASH_BLOCK = re.compile(r"^```bash[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
SETUP_COMMAND = re.compile(r"^(pip install|python3? -m venv|\. |[A-Z]+=|spark-submit|pytest|nice python benchmarks/)")
LEADING_INSTALL = re.compile(r"^pip install [^&]*&& ")
RUNS_DEDUP = re.compile(r"(^|\| *)(dedup|python -m dedup) ")
# The rate is left out of a run shorter than 0.05 s (a fast machine, a one-document input).
SUMMARY_TIME = re.compile(r"time: [\d.,]+ s(?: \([\d.,]+ docs/s\))?")
SHELL_FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def bash_blocks(path: Path) -> list[tuple[int, str]]:
    """(line number of the opening fence, content) for every ```bash block of ``path``."""
    text = path.read_text(encoding="utf-8")
    return [(text.count("\n", 0, match.start()) + 1, match.group(1)) for match in BASH_BLOCK.finditer(text)]


def runnable(line: str) -> str | None:
    """The command a block line runs, or None for a set-up line (an error for anything else)."""
    command = LEADING_INSTALL.sub("", line.strip())
    if RUNS_DEDUP.search(command):
        return command
    if SETUP_COMMAND.match(command):
        return None
    raise AssertionError(f"a shell example that is neither a dedup command nor set-up: {line!r}")


def transcript_steps(block: str) -> list[tuple[str, str]]:
    """(command, the output shown after it) for each `$ ` line of a transcript block."""
    steps: list[tuple[str, list[str]]] = []
    for line in block.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        else:
            steps[-1][1].append(line)
    return [(command, "\n".join(shown)) for command, shown in steps]


WITH_SHELL = [path for path in DOCUMENTS if any(RUNS_DEDUP.search(block) for _, block in bash_blocks(path))]


def example_news() -> list[dict]:
    with open(ROOT / "examples" / "news.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def write_example_inputs(folder: Path) -> None:
    """The files the shell examples name, next to the copy of examples/."""
    news = example_news()

    def jsonl(name: str, rows: list[dict]) -> bytes:
        data = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode("utf-8")
        (folder / name).write_bytes(data)
        return data

    corpus = jsonl("corpus.jsonl", news)
    zstandard = pytest.importorskip("zstandard")
    (folder / "corpus.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(corpus))
    (folder / "dump.jsonl.gz").write_bytes(gzip.compress(
        "".join(json.dumps({"url": r["id"], "body": r["text"]}) + "\n" for r in news).encode("utf-8")))
    (folder / "articles").mkdir()
    shutil.copy(ROOT / "examples" / "doubled_article.txt", folder / "articles" / "ferry.txt")
    for row in news[:2]:
        (folder / "articles" / f"{row['id']}.txt").write_text(row["text"], encoding="utf-8")
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(news), folder / "crawl.parquet")
    with open(folder / "export.csv", "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["url", "body"])
        writer.writerows([f"https://example.org/{r['id']}", r["text"]] for r in news)
    opening = ("The harbour authority of Saltmarsh Bay announced on Friday that the northern breakwater will be "
               "rebuilt over the next two winters, after storms in January tore a gap of almost thirty metres into "
               "the old stone wall.")
    with open(folder / "rows.csv", "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["id", "date", "text"])
        writer.writerow(["r1", "2024-03-01", opening + "\n\nFishing boats have had to wait outside the harbour "
                         "whenever the wind turns north."])
        writer.writerow(["r2", "2024-03-02",
                         "A short note about the weather: rain in the morning, sunshine in the afternoon."])
        writer.writerow(["r3", "2024-03-03", opening])
    good = [{"id": r["id"], "text": r["text"]} for r in news]
    lines = [json.dumps(good[0]), '{"id": "b", "text": 5}', '{"id": "c" "text": "a comma is missing"}']
    lines += [json.dumps(row) for row in good[1:]]
    (folder / "bad.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    jsonl("day1.jsonl", [dict(r, id=f"d1-{i}") for i, r in enumerate(news[:3])])
    jsonl("day2.jsonl", [{"id": "d2", "text": news[3]["text"]}, {"id": "d2-b", "text": news[4]["text"]}])
    jsonl("twice.jsonl", [{"id": "a", "text": news[0]["text"]}, {"id": "a", "text": news[1]["text"]}])


def shell(command: str, folder: Path, bin_dir: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", COLUMNS="100")
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run(["bash", "-c", command], cwd=folder, env=env, capture_output=True, timeout=300)


def command_shims(bin_dir: Path) -> None:
    """`dedup` and `python` on PATH: this interpreter, with this checkout's package."""
    bin_dir.mkdir()
    for name, run_as in (("dedup", f'"{sys.executable}" -m dedup'), ("python", f'"{sys.executable}"')):
        shim = bin_dir / name
        shim.write_text(f'#!/bin/sh\nexec {run_as} "$@"\n')
        shim.chmod(0o755)


def test_the_documents_with_shell_examples_are_found():
    names = {path.relative_to(ROOT).as_posix() for path in WITH_SHELL}
    assert {"README.md", "docs/cli.md"} <= names
    for path in DOCUMENTS:  # no shell example escapes: every line is run or is set-up
        for _, block in bash_blocks(path):
            for line in block.splitlines():
                if line.strip() and not line.startswith("$ ") and "$ " not in block:
                    runnable(line)


@pytest.mark.parametrize("path", WITH_SHELL, ids=[p.relative_to(ROOT).as_posix() for p in WITH_SHELL])
def test_shell_examples_print_what_they_show(path, tmp_path):
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    write_example_inputs(tmp_path)
    command_shims(tmp_path / ".bin")
    checker = doctest.OutputChecker()
    ran = 0
    for line_number, block in bash_blocks(path):
        where = f"{path.relative_to(ROOT)}:{line_number}"
        if any(line.startswith("$ ") for line in block.splitlines()):
            previous = None
            for command, shown in transcript_steps(block):
                if command == "echo $?":
                    assert previous is not None and str(previous.returncode) == shown.strip(), (
                        f"{where}: `{previous.args[2]}` exits {previous.returncode}, the page says {shown.strip()}\n"
                        f"{previous.stderr.decode()}")
                    previous = None
                    continue
                if previous is not None:
                    assert previous.returncode == 0, f"{where}: `{previous.args[2]}` exits {previous.returncode}\n" \
                                                     f"{previous.stderr.decode()}"
                done = shell(command, tmp_path, tmp_path / ".bin")
                ran += 1
                got = SUMMARY_TIME.sub("time: T", (done.stdout + done.stderr).decode("utf-8"))
                want = SUMMARY_TIME.sub("time: T", shown) + "\n"
                assert checker.check_output(want, got, SHELL_FLAGS), (
                    f"{where}: `{command}` does not print what the page shows\n--- shown\n{want}--- printed\n{got}")
                previous = done
            if previous is not None:
                assert previous.returncode == 0, f"{where}: `{previous.args[2]}` exits {previous.returncode}"
        else:
            for line in block.splitlines():
                command = runnable(line) if line.strip() else None
                if command is None:
                    continue
                done = shell(command, tmp_path, tmp_path / ".bin")
                ran += 1
                assert done.returncode == 0, f"{where}: `{command}` exits {done.returncode}\n{done.stderr.decode()}"
    assert ran


# --------------------------------------------------------------------------- the tables of docs/cli.md

CLI_DOC = ROOT / "docs" / "cli.md"


def markdown_tables(text: str) -> list[list[list[str]]]:
    """Every table of a Markdown text: rows of cells (header row first, the --- row left out)."""
    tables, current = [], []
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
            if not all(set(cell) <= set("-: ") for cell in cells):
                current.append(cells)
        elif current:
            tables.append(current)
            current = []
    return tables


def table_with_header(first_cell: str, nth: int = 0) -> list[list[str]]:
    found = [t for t in markdown_tables(CLI_DOC.read_text(encoding="utf-8")) if t[0][0] == first_cell]
    return found[nth]


def help_text(*command: str) -> str:
    """What `dedup [COMMAND] --help` prints."""
    from dedup.cli import build_parser

    printed = io.StringIO()
    with pytest.raises(SystemExit), contextlib.redirect_stdout(printed):
        build_parser().parse_args([*command, "--help"])
    return printed.getvalue()


def command_names() -> list[str]:
    """The commands `dedup --help` lists (under COMMAND)."""
    listed = re.search(r"^  COMMAND\n((?:    .*\n)+)", help_text(), re.MULTILINE).group(1)
    return [line.split()[0] for line in listed.splitlines()]


@dataclass
class HelpEntry:
    names: list[str]  # the option's spellings, e.g. ["-j", "--jobs"]
    section: str  # the heading it is listed under, e.g. "options" or "matching"
    text: str  # its help, on one line


def help_entries(command: str) -> dict[str, HelpEntry]:
    """Each option of `dedup COMMAND --help` (but --help), by every spelling of it."""
    entries: dict[str, HelpEntry] = {}
    section, current = "", None
    for line in help_text(command).splitlines():
        if re.match(r"^\S.*:$", line):
            section, current = line.split(" (")[0].rstrip(":"), None
        elif line.startswith("  -"):
            head, _, text = line.strip().partition("  ")
            names = [name for name in re.findall(r"(?<![\w-])(--?[a-z][\w-]*)", head)]
            current = HelpEntry(names, section, text.strip())
            if "--help" not in names:
                entries.update((name, current) for name in names)
        elif current is not None and line.startswith("      "):
            current.text = f"{current.text} {line.strip()}".strip()
        else:
            current = None
    return entries


def help_default(entry: HelpEntry) -> str:
    found = re.search(r"\(default: ([^()]*)\)", entry.text)
    assert found, f"{entry.names}: the help gives no default: {entry.text}"
    return found.group(1)


def test_the_commands_table_names_the_commands():
    table = table_with_header("command")
    named = {re.search(r"dedup (\w+)", row[0]).group(1) for row in table[1:]}
    assert named == set(command_names())


def test_the_usage_lines_name_exactly_the_options_of_each_command():
    text = CLI_DOC.read_text(encoding="utf-8")
    for name in command_names():
        usage = re.search(rf"^```\n(dedup {name} IN .*?)^```", text, re.MULTILINE | re.DOTALL).group(1)
        shown = set(re.findall(r"(?<![\w-])(--?[a-z][\w-]*)", usage))
        options = help_entries(name)
        assert shown <= set(options), f"dedup {name}: the page shows options it does not have: {shown - set(options)}"
        missing = {entry.names[-1] for entry in options.values() if not shown & set(entry.names)}
        assert not missing, f"dedup {name}: options missing from the usage line on the page: {missing}"


@pytest.mark.parametrize("command, nth", [("clean", 0), ("dups", 1)])
def test_the_matching_option_tables_give_the_defaults_the_help_prints(command, nth):
    options = help_entries(command)
    table = table_with_header("option", nth)
    assert table[0][:2] == ["option", "default"]
    listed = set()
    for cell, default, *_ in table[1:]:
        option = re.match(r"`(--[\w-]+)", cell).group(1)
        listed.add(option)
        assert option in options, f"{command}: {option} is no option"
        assert help_default(options[option]) == default, (
            f"dedup {command} {option}: the page says default {default}, --help says: {options[option].text}")
    matching = {entry.names[0] for entry in options.values() if entry.section == "matching"} - {"--scope", "--state", "--store"}
    assert listed == matching


def test_the_help_defaults_are_the_library_defaults():
    from dedup import Deduplicator, find_duplicates, find_repeats
    from dedup.cli.parser import library_defaults

    within, across, dups = (library_defaults(f) for f in (find_repeats, Deduplicator.__init__, find_duplicates))
    clean = help_entries("clean")
    for name in ("threshold", "min_length", "ngram", "max_gap", "mode"):
        assert within[name] == across[name]  # one value for both passes, as the table says
        assert help_default(clean["--" + name.replace("_", "-")]) == str(within[name])
    assert help_default(clean["--window"]) == str(across["window"])
    dups_options = help_entries("dups")
    for name in ("threshold", "num_perm", "ngram", "mode", "seed"):
        assert help_default(dups_options["--" + name.replace("_", "-")]) == str(dups[name])


def test_the_inputs_table_gives_each_extension_its_format():
    from dedup.cli.inputs import split_suffixes

    formats = {"JSON Lines": "jsonl", "Parquet": "parquet", "CSV": "csv", "TSV": "tsv", "plain text": "text"}
    seen = set()
    for row in table_with_header("input")[1:]:
        kind = next((fmt for label, fmt in formats.items() if row[1].startswith(label)), None)
        for extension in re.findall(r"`\*(\.\w+)`", row[0]):
            assert split_suffixes("file" + extension) == (kind, None), (extension, row[1])
            seen.add(kind)
    assert seen == set(formats.values())


def test_the_exit_codes_table_lists_the_command_s_exit_codes():
    from dedup.cli import errors

    codes = {int(row[0]) for row in table_with_header("code")[1:]}
    assert codes == {value for name, value in vars(errors).items() if name.startswith("EXIT_")}


def test_the_explain_fields_table_names_the_fields_of_a_report_line(tmp_path):
    from dedup.cli import main

    fields = {name for row in table_with_header("field")[1:] for name in re.findall(r"`(\w+)`", row[0])}
    report = tmp_path / "report.jsonl"
    body = ("The council approved the new budget on Tuesday after a long debate about schools, "
            "roads and the cost of heating the old town hall in winter.")
    (tmp_path / "in.jsonl").write_text(
        json.dumps({"id": "a", "text": body + "\n\n" + body}) + "\n" + json.dumps({"id": "b", "text": body}) + "\n")
    assert main(["clean", str(tmp_path / "in.jsonl"), "-o", str(tmp_path / "out.jsonl"), "--report", str(report),
                 "--drop-empty", "-q"]) == 0
    lines = [json.loads(line) for line in report.read_text().splitlines()]
    assert {line["kind"] for line in lines} == {"within", "across", "dropped"}
    assert set().union(*(line.keys() for line in lines)) == fields
