"""The benchmark runners still start, and benchmarks/rerun.py reruns exactly what RESULTS.md shows.

Cheap on purpose: no benchmark runs here, only each runner's ``--help`` and the parsing of
RESULTS.md. The benchmarks are not part of the package; nothing here imports them into
``dedup``.
"""

from __future__ import annotations

import importlib
import re
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "benchmarks"
RUNNERS = sorted(path.name for path in BENCHMARKS.glob("*.py"))


@pytest.fixture(scope="module")
def rerun():
    """benchmarks/rerun.py as a module (benchmarks/ on sys.path only while it is imported)."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        module = importlib.import_module("rerun")
    finally:
        sys.path.remove(str(BENCHMARKS))
    yield module
    for name in [n for n in sys.modules if n == "rerun" or n == "lib" or n.startswith("lib.")]:
        del sys.modules[name]


@pytest.fixture(scope="module")
def helps() -> dict[str, subprocess.CompletedProcess]:
    """``python benchmarks/NAME.py --help`` of every runner, two at a time."""

    def ask(name: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, str(BENCHMARKS / name), "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120
        )

    with ThreadPoolExecutor(2) as pool:
        return dict(zip(RUNNERS, pool.map(ask, RUNNERS)))


def test_the_runners_are_found():
    assert {"bench_repeats.py", "bench_across.py", "rerun.py", "generate.py", "word_lengths.py"} <= set(RUNNERS)


@pytest.mark.parametrize("name", RUNNERS)
def test_every_runner_answers_help(helps, name):
    done = helps[name]
    assert done.returncode == 0, done.stderr[-2000:]
    assert "usage" in done.stdout.lower(), done.stdout[:500]


def test_runners_import_helpers_only_from_lib():
    """No runner reaches into another runner or a flat helper module: helpers live in lib/."""
    runner_names = {name[:-3] for name in RUNNERS}
    for name in RUNNERS:
        source = (BENCHMARKS / name).read_text(encoding="utf-8")
        imported = set(re.findall(r"^(?:from|import) (\w+)", source, re.MULTILINE))
        assert not imported & (runner_names | {"common", "inject", "streams", "scripts_corpus"}), name
        assert "sys.path.insert" not in source, name


def test_docs_describe_every_runner_and_lib_module():
    layout = (ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    lib_modules = sorted(p.name for p in (BENCHMARKS / "lib").glob("*.py") if p.name != "__init__.py")
    assert lib_modules and [name for name in RUNNERS + lib_modules if name not in layout] == []


def results_lines() -> list[str]:
    return (BENCHMARKS / "RESULTS.md").read_text(encoding="utf-8").splitlines()


def code_lines(rerun) -> list[tuple[int, str]]:
    """(line number, text) of every line inside a code block of RESULTS.md."""
    text = "\n".join(results_lines())
    return [line for block in rerun.blocks(text) for line in block.lines]


def test_every_command_of_results_is_rerun(rerun):
    commands = rerun.results_commands()
    covered = {line for command in commands for line in (command.line, *command.also)}
    written = {
        number for number, line in code_lines(rerun)
        if "python benchmarks/" in line and not line.lstrip().startswith("#")
    }  # fmt: skip
    assert written and written <= covered
    # and nothing else: every command runs a runner that exists, or is a recipe
    for command in commands:
        assert command.script == "recipe" or (BENCHMARKS / command.script).is_file(), command


def test_every_comment_asking_for_a_run_is_a_variant(rerun):
    """A comment in a block of RESULTS.md that gives options stands for a run: rerun.py knows it."""
    for number, line in code_lines(rerun):
        comment = rerun.split_comment(line)[1] if not line.lstrip().startswith("#") else line.lstrip("# ")
        if " --" not in f" {comment}" or comment.startswith("PYTHONPATH="):
            continue
        assert any(variant.comment in comment for variant in rerun.VARIANTS), f"RESULTS.md:{number}: {comment}"
    comments = "\n".join(line for _, line in code_lines(rerun))
    for variant in rerun.VARIANTS:
        assert variant.comment in comments, variant


def test_recipes_and_unnamed_checkouts_are_in_results(rerun):
    lines = results_lines()
    for first_line in rerun.RECIPES:
        assert first_line in lines
    for script, revs in rerun.UNNAMED_CHECKOUTS.items():
        at = next(i for i, line in enumerate(lines) if f"benchmarks/{script}" in line and "<checkout>" in line)
        nearby = "\n".join(lines[at : at + 10])
        assert all(f"`{rev}`" in nearby for rev in revs), (script, revs)


def test_commands_give_options_their_runner_has(rerun, helps):
    for command in rerun.results_commands():
        if command.script == "recipe":
            continue
        usage = helps[command.script].stdout
        for word in shlex.split(command.text):
            if word.startswith("--"):
                assert re.search(rf"{re.escape(word)}\b", usage), f"{command.script} has no {word}: {command.text}"


def test_blocks_are_read_as_a_shell_reads_them(rerun):
    text = "\n".join([
        "## Section one",
        "```bash",
        'C="--corpus a.jsonl --corpus b.jsonl"',
        "nice python benchmarks/bench_x.py $C \\",
        "    --seed 0 --kind k1   # the same with --seed 9",
        "nice python benchmarks/bench_x.py ... --kind k2 --kind k3",
        "PYTHONPATH=<checkout of abcdef1>/src python benchmarks/bench_y.py --shape SHAPE",
        "PYTHONPATH=<abcdef1>/src python benchmarks/bench_y.py --shape ab",
        "```",
        "## Section two",
        "```",
        "python benchmarks/bench_x.py --corpus a.jsonl --corpus b.jsonl --seed 0 --kind k1",
        "output line",
        "```",
    ])  # fmt: skip
    commands = rerun.results_commands(text)
    texts = [c.text for c in commands]
    assert texts[0] == "nice python benchmarks/bench_x.py --corpus a.jsonl --corpus b.jsonl --seed 0 --kind k1"
    assert texts[1] == "nice python benchmarks/bench_x.py --corpus a.jsonl --corpus b.jsonl --seed 0 --kind k2 --kind k3"
    checkout = f"PYTHONPATH={rerun.CHECKOUTS}/abcdef1/src python benchmarks/bench_y.py --shape"
    shapes = [t.removeprefix(checkout + " ") for t in texts if t.startswith(checkout)]
    assert sorted(shapes) == sorted(rerun.SHAPES)  # "ab" once: SHAPE stands for the others
    assert all(c.checkouts == ("abcdef1",) for c in commands if c.text.startswith(checkout))
    assert commands[0].section == "Section one" and commands[0].also == ()
    assert "python benchmarks/bench_x.py --corpus a.jsonl --corpus b.jsonl --seed 0 --kind k1" in texts
    assert rerun.set_options("--seed 0 --kind a --kind b --n 3", "--kind c --seed 1") == "--n 3 --kind c --seed 1"
    assert rerun.set_options("outputs ../c/*.jsonl --out x", "--out 'y z'") == "outputs ../c/*.jsonl --out 'y z'"


def test_rerun_lists_selects_and_dry_runs():
    def rerun_cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, str(BENCHMARKS / "rerun.py"), *args], cwd=ROOT, capture_output=True, text=True, timeout=120
        )

    listed = rerun_cli("--list")
    assert listed.returncode == 0 and "bench_repeats.py" in listed.stdout and "manual: needs dolma" in listed.stdout
    only = rerun_cli("--only", "bench_scripts.py --per-kind 200 --seed 0$", "--dry-run")
    assert only.returncode == 0, only.stderr
    assert "would run 1 command(s)" in only.stdout and "bench_scripts.py" in only.stdout
    assert rerun_cli("--only", "no such benchmark", "--list").returncode == 2


def test_generate_prints_what_a_generator_builds():
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "generate.py"), "script-articles", "th", "2"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    articles = [a for a in done.stdout.split("\n\n----\n\n") if a.strip()]
    thai = [sum("\u0e00" <= c <= "\u0e7f" for c in article) / len(article) for article in articles]
    assert len(articles) == 2 and min(thai) > 0.5, thai


def test_bench_corpus_runs_its_deduplicator_parts_on_a_tiny_corpus(tmp_path):
    # The Deduplicator parts once passed a parameter Deduplicator no longer takes (num_perm).
    import json

    story = " ".join(f"The harbour board met on day {k} and agreed to repair pier number {k} before winter." for k in range(12))
    other = " ".join(f"A choir of {k} singers toured the valley villages in week {k} of the summer." for k in range(12))
    corpus = tmp_path / "tiny.jsonl"
    rows = [{"id": "a", "text": story}, {"id": "b", "text": other}, {"id": "c", "text": story}]
    corpus.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    (tmp_path / "tiny.pairs-k5.tsv").write_text(
        "id_a\tid_b\tjaccard\tcontainment\tn_shingles_a\tn_shingles_b\na\tc\t1.0000\t1.0000\t150\t150\n", encoding="utf-8"
    )
    manuals = tmp_path / "manuals.jsonl"
    bullseye = "\n\n".join([story, other])
    bookworm = "\n\n".join([story, "A new paragraph about the ferry timetable for the islands this spring."])
    manuals.write_text(
        json.dumps({"id": "manual-bullseye", "text": bullseye}) + "\n" + json.dumps({"id": "manual-bookworm", "text": bookworm}) + "\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "bench_corpus.py"), "--corpus", str(corpus), "--thresholds", "0.8",
         "--paragraphs", str(manuals)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "exact-duplicate article pairs: 1; share of the later copy removed: mean 1.000" in done.stdout
    assert "| verbatim in bullseye, >= 8 words | 1 | 1.000 |" in done.stdout


def test_bench_store_compares_the_stores_on_the_same_stream(tmp_path):
    # Both stores take the same articles twice (new, then seen under new ids): the table
    # has a row per store, and the matches found are the same with both.
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "bench_store.py"), "--zipf", "300", "--runs", "1", "--batch", "128", "--one-by-one", "40",
         "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = [line.split("|") for line in done.stdout.splitlines() if line.startswith("| zipf300")]
    assert [row[3].strip() for row in rows] == ["memory", "sqlite"]
    assert [row[-2].strip() for row in rows] == ["yes", "yes"]
    assert "one by one/s" in done.stdout and all(len(row) == len(rows[0]) == 19 for row in rows)
