"""Rerun every figure of benchmarks/RESULTS.md: the commands of its code blocks, in order.

Each figure in RESULTS.md stands under the command that made it. This script reads those
commands from RESULTS.md itself (so the list cannot drift from it) and runs them from the
repository root, each with its output logged to ``benchmarks/out/rerun/``:

- a line that runs ``python benchmarks/NAME.py`` (joined over ``\\`` continuations; ``...``
  for the options of the command before it; ``$C`` for a variable the block sets);
- a comment that asks for another run of the command above it ("the same with --seed 1",
  "trade-off: --scope across ..."), one of ``VARIANTS`` below;
- a block that is a shell recipe rather than a runner (``RECIPES``), run as a whole;
- ``<checkout of REV>`` and ``<REV>``: ``src/`` of commit REV, extracted with ``git archive``
  into ``benchmarks/out/checkouts/REV``; ``SHAPE``: every shape of ``lib.soup.SHAPES``
  the block does not run on a line of its own.

Some commands cannot run as written (another engineer's checkout, a dolma install): they
are listed as manual, with the reason, and skipped. Many figures take hours on the shared
development machine: pick with ``--only`` and look first with ``--list`` or ``--dry-run``.

    python benchmarks/rerun.py --list
    python benchmarks/rerun.py --only bench_scripts --dry-run
    python benchmarks/rerun.py --only 'issue 20' --dolma ~/dolma-venv/bin/dolma
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from lib.soup import SHAPES

BENCHMARKS = Path(__file__).resolve().parent
ROOT = BENCHMARKS.parent
RESULTS = BENCHMARKS / "RESULTS.md"
CHECKOUTS = BENCHMARKS / "out" / "checkouts"  # src/ of older commits, one folder a commit
LOGS = BENCHMARKS / "out" / "rerun"

# A line that runs a runner: environment assignments, nice, python benchmarks/NAME.py, options.
BENCH_COMMAND = re.compile(
    r"^(?P<env>(?:[A-Z_]+=\S+\s+)*)(?P<nice>nice(?:\s+-n\s+\d+)?\s+)?python\s+benchmarks/(?P<script>[\w/]+\.py)(?P<options>.*)$"
)
ASSIGNMENT = re.compile(r'^(?P<name>[A-Z_]+)="(?P<value>[^"]*)"$')
NAMED_CHECKOUT = re.compile(r"<(?:checkout of )?(?P<rev>[0-9a-f]{7,40})>")  # src/ of that commit
DOLMA_PLACEHOLDER = "/path/to/venv/bin/dolma"


@dataclass(frozen=True)
class Variant:
    """A run that RESULTS.md asks for in a comment on the command above it."""

    comment: str  # words of the comment in RESULTS.md
    # Options set on the command above (an option named here replaces all of its own);
    # --json gets a file of its own, so that a variant does not overwrite the main run's.
    options: str
    checkout: str = ""  # a commit whose src/ the run uses instead of this checkout's


VARIANTS = (
    Variant("the same with --seed 1;", "--seed 1 --json benchmarks/out/across_seed1.json"),
    Variant("trade-offs: --seed 0 --scope across --speed-repeats 0 --param threshold=0.5",
            "--seed 0 --scope across --speed-repeats 0 --param threshold=0.5 --json benchmarks/out/across_t0.5.json"),
    Variant("(and 0.3)",
            "--seed 0 --scope across --speed-repeats 0 --param threshold=0.3 --json benchmarks/out/across_t0.3.json"),
    Variant("a check of the scoring: --scope oracle", "--scope oracle --json benchmarks/out/across_oracle.json"),
    Variant("reference that knows the sources: --scope pair --speed-repeats 0",
            "--scope pair --speed-repeats 0 --json benchmarks/out/across_pair.json"),
    Variant("seed 1: the same with --seed 1 --speed-repeats 0 --storm-max 0", "--seed 1 --speed-repeats 0 --storm-max 0"),
    Variant("and --seed 1", "--seed 1 --json benchmarks/out/across_seed1.json"),
    Variant("trade-off: --seed 0 --scope across --speed-repeats 0 --param threshold=0.8",
            "--seed 0 --scope across --speed-repeats 0 --param threshold=0.8 --json benchmarks/out/across_t0.8.json"),
    Variant("the same with the branch's base commit: PYTHONPATH=<checkout of 1eff82f>/src", "", checkout="1eff82f"),
)  # fmt: skip

# Blocks that are shell recipes, by their first line, run as a whole from the repository root
# after what they take for granted.
RECIPES = {
    "git archive f5d3662 src | tar -x -C /tmp/dedup-old": "mkdir -p /tmp/dedup-old",  # signing before and after
    "# from the repository root": "",  # dedup clean --jobs 1 and 2 on 136 MB
}

# "<checkout>" without a commit: the commits of the table's columns under the command.
UNNAMED_CHECKOUTS = {"bench_article_speed.py": ("db67230", "dcbafab")}


@dataclass(frozen=True)
class Command:
    line: int  # line of RESULTS.md
    section: str  # the heading it stands under
    text: str  # what runs, in bash, from the repository root
    manual: str = ""  # why it cannot run as written (empty: it can)
    checkouts: tuple[str, ...] = ()  # commits whose src/ it needs
    also: tuple[int, ...] = field(default=(), compare=False)  # other lines of RESULTS.md with the same command

    @property
    def script(self) -> str:
        match = re.search(r"benchmarks/([\w/]+\.py)", self.text)
        return match.group(1) if match else "recipe"


@dataclass
class Block:
    line: int  # line of the opening fence
    section: str
    lines: list[tuple[int, str]]  # (line number, text) of the lines inside the fences


def blocks(text: str) -> list[Block]:
    """The fenced code blocks of a Markdown text, each with the heading it stands under."""
    found: list[Block] = []
    section, current = "", None
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("```"):
            if current is None:
                current = Block(number, section, [])
            else:
                found.append(current)
                current = None
        elif current is not None:
            current.lines.append((number, line))
        elif line.startswith("#"):
            section = line.lstrip("#").strip()
    return found


def logical_lines(block: Block) -> Iterator[tuple[int, str]]:
    """(first line number, text) of each line of ``block``, joined over ``\\`` continuations."""
    start, parts = 0, []
    for number, line in block.lines:
        if not parts:
            start = number
        if line.rstrip().endswith("\\"):
            parts.append(line.rstrip()[:-1].strip())
            continue
        parts.append(line.strip())
        yield start, " ".join(part for part in parts if part)
        parts = []
    if parts:
        yield start, " ".join(parts)


def split_comment(line: str) -> tuple[str, str]:
    """(command, trailing comment) of a shell line (no ``#`` inside quotes in RESULTS.md)."""
    match = re.search(r"(^|\s)#\s?", line)
    if not match:
        return line.strip(), ""
    return line[: match.start()].strip(), line[match.end() :].strip()


def set_options(options: str, given: str) -> str:
    """``options`` with every option of ``given`` set: its own values of that option dropped, then ``given`` appended."""
    words, new = shlex.split(options), shlex.split(given)
    named = {word for word in new if word.startswith("--")}
    kept, dropping = [], False
    for word in words:
        if word.startswith("--"):
            dropping = word in named
        if not dropping:
            kept.append(word)
    # Words are joined as written (a glob stays a glob); only one holding a space is quoted.
    return " ".join(shlex.quote(word) if any(c.isspace() for c in word) else word for word in kept + new)


def is_recipe(block: Block) -> bool:
    return bool(block.lines) and block.lines[0][1].strip() in RECIPES


def block_commands(block: Block, dolma: str | None = None) -> list[Command]:
    """The commands one block of RESULTS.md asks for, in order."""
    if is_recipe(block):
        setup = RECIPES[block.lines[0][1].strip()]
        script = "\n".join([setup] * bool(setup) + [line for _, line in block.lines])
        return [Command(block.line, block.section, script)]
    variables: dict[str, str] = {}
    commands: list[Command] = []
    previous: re.Match | None = None
    for number, line in logical_lines(block):
        if line.startswith("#"):
            code, comment = "", line.lstrip("#").strip()
        else:
            code, comment = split_comment(line)
        assignment = ASSIGNMENT.match(code)
        if assignment:
            variables[assignment["name"]] = assignment["value"]
            continue
        for name, value in variables.items():
            code = code.replace(f"${name}", value)
        code = NAMED_CHECKOUT.sub(lambda m: f"<{m['rev']}>", code)  # no space inside an assignment
        match = BENCH_COMMAND.match(code)
        if match:
            options = match["options"].strip()
            if options.startswith("...") and previous is not None:
                options = set_options(previous["options"], options[3:])
            env = match["env"]
            if comment.startswith("PYTHONPATH="):  # a trailing "# PYTHONPATH=..." says where it ran
                env = comment + " " + env
            code = f"{env}{match['nice'] or ''}python benchmarks/{match['script']} {options}".strip()
            commands.extend(resolve(number, block, code, dolma))
            previous = BENCH_COMMAND.match(code)
        if comment and previous is not None:
            for variant in VARIANTS:
                if variant.comment in comment:
                    options = set_options(previous["options"], variant.options)
                    env = f"PYTHONPATH=<checkout of {variant.checkout}>/src " if variant.checkout else previous["env"]
                    text = f"{env}{previous['nice'] or ''}python benchmarks/{previous['script']} {options}"
                    commands.extend(resolve(number, block, text.strip(), dolma))
    return expand_shapes(commands)


def resolve(number: int, block: Block, text: str, dolma: str | None) -> list[Command]:
    """The command(s) ``text`` stands for once its placeholders are filled."""
    command = Command(number, block.section, text)
    if DOLMA_PLACEHOLDER in text:
        if not dolma:
            return [replace(command, manual="needs dolma: give --dolma PATH")]
        command = replace(command, text=text.replace(DOLMA_PLACEHOLDER, shlex.quote(dolma)))
    revs = tuple(dict.fromkeys(NAMED_CHECKOUT.findall(command.text)))
    if revs:
        command = replace(command, text=NAMED_CHECKOUT.sub(lambda m: f"{CHECKOUTS}/{m['rev']}", command.text), checkouts=revs)
    if "<checkout>" in command.text:
        script = command.script
        if script not in UNNAMED_CHECKOUTS:
            return [replace(command, manual="names no commit for <checkout>")]
        return [
            replace(command, text=command.text.replace("<checkout>", f"{CHECKOUTS}/{rev}"), checkouts=(rev,))
            for rev in UNNAMED_CHECKOUTS[script]
        ]
    elsewhere = re.search(r"PYTHONPATH=(/\S+)", command.text)
    if elsewhere and not elsewhere[1].startswith(str(CHECKOUTS)):
        return [replace(command, manual=f"runs the checkout at {elsewhere[1]} (see the comment above it for its commit)")]
    return [command]


def expand_shapes(commands: list[Command]) -> list[Command]:
    """``SHAPE``: one command per shape the block does not run on a line of its own (same environment)."""
    named = {(c.text.split("python")[0], m[1]) for c in commands for m in [re.search(r"--shape (\S+)", c.text)] if m}
    out = []
    for command in commands:
        if "--shape SHAPE" not in command.text:
            out.append(command)
            continue
        env = command.text.split("python")[0]
        for shape in SHAPES:
            if (env, shape) not in named:
                out.append(replace(command, text=command.text.replace("--shape SHAPE", f"--shape {shape}")))
    return out


def results_commands(text: str | None = None, dolma: str | None = None) -> list[Command]:
    """Every command of RESULTS.md (or of ``text``), in order, each once (later places in ``also``)."""
    text = RESULTS.read_text(encoding="utf-8") if text is None else text
    seen: dict[str, int] = {}
    commands: list[Command] = []
    for block in blocks(text):
        for command in block_commands(block, dolma):
            if command.text in seen:
                first = commands[seen[command.text]]
                commands[seen[command.text]] = replace(first, also=(*first.also, command.line))
                continue
            seen[command.text] = len(commands)
            commands.append(command)
    return commands


def selected(commands: list[Command], patterns: Sequence[str]) -> list[tuple[int, Command]]:
    """(number in the whole list, command) of those matching any pattern (all without patterns)."""
    compiled = [re.compile(p, re.IGNORECASE) for p in patterns]
    return [
        (number, command)
        for number, command in enumerate(commands, 1)
        if not compiled or any(p.search(f"{command.section}\n{command.text}") for p in compiled)
    ]


def describe(number: int, command: Command) -> str:
    where = ", ".join(str(line) for line in (command.line, *command.also))
    head = f"{number:3d}  RESULTS.md:{where}  {command.section}"
    body = "\n".join("      " + line for line in command.text.splitlines())
    return head + "\n" + body + (f"\n      manual: {command.manual}" if command.manual else "")


def extract_checkout(rev: str) -> None:
    """``src/`` of commit ``rev`` under ``benchmarks/out/checkouts/rev`` (once)."""
    target = CHECKOUTS / rev
    if (target / "src").is_dir():
        return
    target.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "archive", rev, "src"], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)


def run(number: int, command: Command) -> int:
    """Run one command from the repository root, its output shown and logged; its exit code."""
    for rev in command.checkouts:
        extract_checkout(rev)
    (BENCHMARKS / "out").mkdir(exist_ok=True)
    LOGS.mkdir(parents=True, exist_ok=True)
    log = LOGS / f"{number:03d}-{Path(command.script).stem}.log"
    # "python" in RESULTS.md is the interpreter running this script (its venv first on PATH).
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    with open(log, "w", encoding="utf-8") as sink:
        sink.write(command.text + "\n\n")
        process = subprocess.Popen(
            ["bash", "-c", command.text], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for line in process.stdout:
            sys.stdout.write(line)
            sink.write(line)
        return process.wait()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--list", action="store_true", help="list the commands (number, RESULTS.md line, section) and stop")
    parser.add_argument("--only", action="append", default=[], metavar="PATTERN",
                        help="only commands whose section or text matches this regular expression (repeatable)")
    parser.add_argument("--dry-run", action="store_true", help="print what would run, run nothing")
    parser.add_argument("--dolma", help="the dolma executable, for the commands that compare with it")
    args = parser.parse_args(argv)
    chosen = selected(results_commands(dolma=args.dolma), args.only)
    if not chosen:
        print(f"no command matches {args.only}", file=sys.stderr)
        return 2
    if args.list:
        for number, command in chosen:
            print(describe(number, command))
        return 0
    failed, skipped = [], []
    for number, command in chosen:
        print(f"\n==> {describe(number, command)}", flush=True)
        if command.manual:
            skipped.append(number)
        elif not args.dry_run and run(number, command) != 0:
            failed.append(number)
    done = len(chosen) - len(skipped) - len(failed)
    verb = "would run" if args.dry_run else "ran"
    print(f"\n{verb} {done} command(s); manual, skipped: {skipped or 'none'}; failed: {failed or 'none'}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
