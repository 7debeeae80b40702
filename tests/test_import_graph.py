"""The library stands apart from the book: no module of ``mrvae`` imports the companion's
experiment layer or its plotting and notebook tooling, and ``pip install .`` ships the
library alone. And every module stays under :data:`MAX_MODULE_LINES` lines.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # tomllib is stdlib only from 3.11; requires-python allows 3.10
    tomllib = pytest.importorskip("tomli")

REPO_ROOT = Path(__file__).resolve().parent.parent
LIBRARY = REPO_ROOT / "mrvae"
#: What the library may not import: the experiment layer and the tools only the book needs.
BOOK_ONLY = ("mrvae_companion", "matplotlib", "pandas", "seaborn", "papermill", "jupytext", "nbformat", "IPython")


def imported_modules(source: str) -> set[str]:
    """Every absolute module name ``source`` imports, at any depth (inside functions too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def forbidden_imports(root: Path = LIBRARY) -> dict[str, list[str]]:
    """``{file: [forbidden module, ...]}`` over every ``.py`` file below ``root`` (paths from
    ``root``'s parent, e.g. ``mrvae/training/loop.py``)."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        bad = sorted(m for m in imported_modules(path.read_text()) if m.split(".")[0] in BOOK_ONLY)
        if bad:
            found[path.relative_to(root.parent).as_posix()] = bad
    return found


def test_no_library_module_imports_the_book() -> None:
    assert forbidden_imports() == {}


def test_the_scan_sees_imports_inside_functions() -> None:
    source = "def f():\n    from mrvae_companion.figures import save_figure\n    import matplotlib.pyplot\n"
    assert imported_modules(source) >= {"mrvae_companion.figures", "matplotlib.pyplot"}


def test_the_scan_flags_a_library_file_that_imports_the_book(tmp_path) -> None:
    package = tmp_path / "mrvae"
    package.mkdir()
    (package / "ok.py").write_text("import torch\nfrom . import sibling\n")
    (package / "bad.py").write_text("def plot():\n    import seaborn\n    from mrvae_companion import figures\n")
    assert forbidden_imports(package) == {"mrvae/bad.py": ["mrvae_companion", "seaborn"]}


def test_importing_every_library_module_loads_nothing_of_the_book() -> None:
    """The same at run time, in a fresh interpreter: import each module of ``mrvae``, then look."""
    modules = sorted(".".join(("mrvae", *p.relative_to(LIBRARY).with_suffix("").parts)).removesuffix(".__init__")
                     for p in LIBRARY.rglob("*.py"))
    code = ("import importlib, sys\n"
            f"for name in {modules!r}:\n    importlib.import_module(name)\n"
            f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({BOOK_ONLY!r})))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]"


def _packages(pyproject: Path) -> list[str]:
    from setuptools import find_packages

    include = tomllib.loads(pyproject.read_text())["tool"]["setuptools"]["packages"]["find"]["include"]
    return find_packages(where=str(pyproject.parent), include=include)


def test_pip_install_of_the_library_ships_the_library_alone() -> None:
    library = _packages(REPO_ROOT / "pyproject.toml")
    assert "mrvae" in library and "mrvae.hyper" in library
    assert all(name == "mrvae" or name.startswith("mrvae.") for name in library), library


def test_the_companion_distribution_ships_the_experiment_layer() -> None:
    companion = _packages(REPO_ROOT / "companion" / "pyproject.toml")
    assert "mrvae_companion" in companion and "mrvae_companion.scoreboard" in companion
    assert all(name == "mrvae_companion" or name.startswith("mrvae_companion.") for name in companion), companion


#: Modules stay small enough to read in one sitting; a longer one is split by concern.
MAX_MODULE_LINES = 500


def test_every_module_is_under_the_size_limit() -> None:
    folders = ("mrvae", "companion", "scripts", "tests")
    sizes = {path.relative_to(REPO_ROOT).as_posix(): len(path.read_text().splitlines())
             for folder in folders for path in (REPO_ROOT / folder).rglob("*.py")}
    assert sizes and not {path: n for path, n in sizes.items() if n >= MAX_MODULE_LINES}
