"""The package's layout: the library stands apart from the command, and modules meet only
through public names (docs/CONTRACT.md)."""

from __future__ import annotations

import ast
import importlib
import warnings
from pathlib import Path

import pytest

import dedup.align

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "dedup"


def imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module, names) of every import in ``path``, relative ones resolved to ``dedup.*``."""
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(part for part in (base, node.module or "") if part)
            found.append((module, [alias.name for alias in node.names]))
        elif isinstance(node, ast.Import):
            found.extend((alias.name, []) for alias in node.names)
    return found


def test_no_library_module_imports_the_command():
    library = [p for p in PACKAGE.glob("*.py") if p.name != "__main__.py"]  # __main__ runs the command
    offenders = [
        f"{path.name} imports {module}"
        for path in library
        for module, names in imports(path)
        if module == "dedup.cli" or module.startswith("dedup.cli.") or (module == "dedup" and "cli" in names)
    ]
    assert offenders == []


def test_no_module_imports_a_private_name_of_another():
    offenders = [
        f"{path.relative_to(PACKAGE)}: from {module} import {name}"
        for path in PACKAGE.rglob("*.py")
        for module, names in imports(path)
        if module.startswith("dedup")
        for name in names
        if name.startswith("_") and name != "__version__"
    ]
    assert offenders == []


def private_names_defined(tree: ast.Module) -> set[str]:
    """Private names a module defines: functions, classes, assigned names and attributes
    (``self._x = ...``, class attributes, ``__slots__`` entries)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            found.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            found.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            found.add(node.attr)
        elif isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__slots__" for t in node.targets):
            found.update(c.value for c in ast.walk(node.value) if isinstance(c, ast.Constant) and isinstance(c.value, str))
    return {name for name in found if name.startswith("_") and not name.startswith("__")}


def test_no_align_module_reaches_a_private_name_of_another():
    # The engine's stages (dedup/align/) meet only through public names: an attribute
    # ``x._name`` read in one module must be defined in that module (by its own classes).
    offenders = []
    for path in sorted((PACKAGE / "align").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        own = private_names_defined(tree)
        offenders += [
            f"align/{path.name}:{node.lineno}: .{node.attr}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
            and node.attr not in own
        ]
    assert offenders == []


def test_the_align_package_has_one_module_per_stage():
    # docs/engine.md and dedup.align's docstring name these modules, in run order.
    stages = {"params", "prepared", "boundaries", "seed", "chain", "extend", "xdrop", "verify", "overlaps", "spans", "engine"}
    assert {p.stem for p in (PACKAGE / "align").glob("*.py")} == stages | {"__init__"}


def test_dedup_repeats_is_a_deprecated_alias_of_the_align_package():
    with warnings.catch_warnings():  # imported before or not (the doctests are collected): reloaded below
        warnings.simplefilter("ignore", DeprecationWarning)
        import dedup.repeats
    with pytest.warns(DeprecationWarning, match="dedup.align"):
        alias = importlib.reload(dedup.repeats)
    assert alias.find_repeats is dedup.align.find_repeats and alias.clean is dedup.align.clean
    modules = [importlib.import_module(f"dedup.align.{p.stem}") for p in (PACKAGE / "align").glob("*.py")]
    for name in alias.__all__:
        assert any(getattr(module, name, None) is getattr(alias, name) for module in [dedup.align, *modules]), name


def public_names(path: Path) -> list[str]:
    """The names in ``__all__`` of the module at ``path`` (read, not imported)."""
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
            return [element.value for element in node.value.elts]
    return []


def test_every_library_module_has_a_row_in_the_contract():
    contract = (PACKAGE.parent.parent / "docs" / "CONTRACT.md").read_text(encoding="utf-8")
    modules = [p.stem for p in PACKAGE.glob("*.py") if not p.stem.startswith("_")]
    modules += [p.parent.name for p in PACKAGE.glob("*/__init__.py")]
    assert [name for name in modules if f"| `dedup.{name}` |" not in contract] == []


def test_spark_package_re_exports_every_public_name_of_its_pipelines():
    # dedup.spark.X keeps working for every public X of columns, clusters and across.
    spark = PACKAGE / "spark"
    exported = public_names(spark / "__init__.py")
    pipelines = [name for module in ("columns", "clusters", "across") for name in public_names(spark / f"{module}.py")]
    assert sorted(exported) == sorted(pipelines)
    assert {"clean_column", "find_duplicates", "clean_across"} <= set(exported)


def test_general_hashing_lives_apart_from_the_tokenizer():
    defined = {node.name for node in ast.parse((PACKAGE / "text.py").read_text(encoding="utf-8")).body
               if isinstance(node, ast.FunctionDef)}  # fmt: skip
    assert {"mix64", "mix64_inplace"} & defined == set()
    assert public_names(PACKAGE / "hashing.py") == ["mix64", "mix64_inplace"]
