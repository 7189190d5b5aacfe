"""The floor plan: the engine (``cookbook``'s top level) and the book's tools (``cookbook.book``) as two
layers, imports at the top of each module, and every third-party import declared in pyproject.toml.

``lint-imports`` (run by ``make test``) checks the layers and the absence of cycles with the contracts
in pyproject.toml; these tests check what it cannot: imports hidden inside functions, and the
package's declared runtime dependencies against what its modules import.
"""
from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PACKAGES = ("cookbook", "recipes")


def modules() -> list[Path]:
    return sorted([*ROOT.glob("cookbook/**/*.py"), *ROOT.glob("recipes/*.py")])


def imports_inside_functions(path: Path) -> list[str]:
    """``"<function>: <module>"`` for each import of a cookbook or recipes module inside a function."""
    found = []
    for function in ast.walk(ast.parse(path.read_text())):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").split(".")[0] in PACKAGES):
                found.append(f"{function.name}: {'.' * node.level}{node.module or ''}")
            elif isinstance(node, ast.Import):
                found += [f"{function.name}: {a.name}" for a in node.names if a.name.split(".")[0] in PACKAGES]
    return found


def test_no_module_imports_another_inside_a_function_unless_pyproject_says_why():
    """An import placed inside a function hides a cycle or a layer broken. The exceptions, each with its
    reason, live in pyproject.toml's [tool.cookbook.imports-inside-functions] ("path: function: module")."""
    allowed = PYPROJECT.get("tool", {}).get("cookbook", {}).get("imports-inside-functions", {})
    found = {f"{path.relative_to(ROOT).as_posix()}: {where}" for path in modules()
             for where in imports_inside_functions(path)}
    unexplained = sorted(found - set(allowed))
    assert not unexplained, f"imports inside functions that pyproject.toml does not explain: {unexplained}"
    assert all(reason.strip() for reason in allowed.values())


def test_the_check_finds_an_import_inside_a_function(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("import torch\n\ndef f():\n    from cookbook import evaluate\n    import numpy\n"
                      "    from .run import prepare\n")
    assert imports_inside_functions(source) == ["f: cookbook", "f: .run"]


def third_party_imports() -> set[str]:
    """Top-level names of every module the package imports that is not its own or the standard library's."""
    names = set()
    for path in modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names.add(node.module.split(".")[0])
    return {n for n in names if n not in PACKAGES and n not in sys.stdlib_module_names and n != "__future__"}


def declared() -> set[str]:
    return {re.split(r"[<>=!~ \[;]", requirement, maxsplit=1)[0].lower().replace("_", "-")
            for requirement in PYPROJECT["project"]["dependencies"]}


def test_every_third_party_import_is_a_declared_runtime_dependency():
    """pip installs only what pyproject.toml declares: an import of anything else works where it happens
    to be installed (Colab preinstalls seaborn) and fails on a laptop."""
    distributions = importlib.metadata.packages_distributions()
    imported = third_party_imports()
    assert {"torch", "seaborn", "ipywidgets", "IPython"} <= imported  # the scan sees lazy imports too
    missing = {name: distributions.get(name, [name]) for name in imported
               if not {d.lower().replace("_", "-") for d in distributions.get(name, [name])} & declared()}
    assert not missing, f"imported but not in [project] dependencies: {missing}"
