"""The package's layout: the library stands apart from the command, and modules meet only
through public names (docs/CONTRACT.md)."""

from __future__ import annotations

import ast
from pathlib import Path

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
