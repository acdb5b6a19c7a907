"""Every ```python block in README.md and docs/*.md runs, and shows what it claims.

Blocks of one file run in order in one namespace (a later block may use an earlier one's
names), in a temporary folder holding a copy of ``examples/``. A block written as a
doctest (``>>>`` prompts) must print exactly what it shows; any other block must run
without error. A block that imports an optional package that is not installed skips the
rest of its file, with the reason shown (``-rs``).
"""

from __future__ import annotations

import ast
import doctest
import importlib.util
import re
import shutil
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
            request.getfixturevalue("spark_session")  # skips without Java; the block reuses this session
        if ">>>" in code:
            failures = run_doctest(code, namespace, where)
            assert not failures, f"{where}: the example does not show what it prints\n{failures}"
        else:
            exec(compile(code, where, "exec"), namespace)
