"""The two pyproject.toml files (the library's and companion/'s) and environment.yml must
declare the same requirement strings.

The torch/torchvision pins decide CPU vs GPU wheels, so a drift between the two install
paths (pip vs conda) would silently give users different environments.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # tomllib is stdlib only from 3.11; requires-python allows 3.10
    tomllib = pytest.importorskip("tomli")

REPO_ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = REPO_ROOT / "pyproject.toml"
COMPANION_PYPROJECT = REPO_ROOT / "companion" / "pyproject.toml"
ENVIRONMENT = REPO_ROOT / "environment.yml"
#: Both distributions of the repository, installed from the checkout.
EDITABLE = ("-e .", "-e ./companion")


def _project(path: Path) -> dict:
    return tomllib.loads(path.read_text())["project"]


def pyproject_requirements(*paths: Path) -> list[str]:
    """Runtime dependencies plus every optional extra of each file, in file order, less each
    repository distribution's requirement on another (``mrvae==0.1.0``: installed editable)."""
    paths = paths or (PYPROJECT, COMPANION_PYPROJECT)
    own = {f"{_project(p)['name']}=={_project(p)['version']}" for p in (PYPROJECT, COMPANION_PYPROJECT)}
    reqs: list[str] = []
    for path in paths:
        project = _project(path)
        reqs += [r for r in project.get("dependencies", []) if r not in own]
        for extra in project.get("optional-dependencies", {}).values():
            reqs.extend(extra)
    return list(dict.fromkeys(reqs))


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def parse_pip_section(text: str) -> list[str]:
    """Items of the ``- pip:`` list in a conda environment file.

    A deliberately tiny parser so this test does not need PyYAML.
    """
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() == "- pip:"), None)
    if start is None:
        raise ValueError("environment.yml has no `- pip:` section")
    pip_indent = len(lines[start]) - len(lines[start].lstrip())
    items: list[str] = []
    for line in lines[start + 1 :]:
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if len(line) - len(line.lstrip()) <= pip_indent:
            break  # dedent ends the pip list
        if not stripped.startswith("- "):
            raise ValueError(f"unexpected line in pip section: {line!r}")
        # " #" starts a YAML comment; requirement strings never contain it.
        item = stripped[2:].split(" #", 1)[0].strip()
        items.append(_unquote(item))
    return items


def compare_requirements(pyproject_reqs: list[str], env_reqs: list[str]) -> list[str]:
    """Human-readable mismatches between the two lists (empty when they agree)."""
    env_set = {r for r in env_reqs if r not in EDITABLE}
    py_set = set(pyproject_reqs)
    problems = [f"in pyproject.toml but not environment.yml: {r}" for r in sorted(py_set - env_set)]
    problems += [
        f"in environment.yml but not pyproject.toml: {r}" for r in sorted(env_set - py_set)
    ]
    return problems


def test_pyproject_and_environment_agree() -> None:
    env_reqs = parse_pip_section(ENVIRONMENT.read_text())
    problems = compare_requirements(pyproject_requirements(), env_reqs)
    assert not problems, "\n".join(problems)


def test_environment_installs_both_distributions_editable() -> None:
    pip = parse_pip_section(ENVIRONMENT.read_text())
    assert all(editable in pip for editable in EDITABLE), pip


def test_companion_depends_on_this_library_version() -> None:
    library = _project(PYPROJECT)
    assert f"{library['name']}=={library['version']}" in _project(COMPANION_PYPROJECT)["dependencies"]


def test_library_needs_no_book_tooling() -> None:
    """``pip install .`` gives the library: no plotting, notebook or book packages."""
    library = pyproject_requirements(PYPROJECT)
    book_only = ("matplotlib", "pandas", "seaborn", "jupyter-book", "papermill", "nbval", "playwright")
    assert not [r for r in library if r.startswith(book_only)], library


def test_pins() -> None:
    reqs = pyproject_requirements(PYPROJECT)
    assert "torch==2.13.0" in reqs
    assert "torchvision==0.28.0" in reqs
    book = [r for r in pyproject_requirements(COMPANION_PYPROJECT) if r.startswith("jupyter-book")]
    assert book and all("<2" in r for r in book), book


def test_comparison_reports_mismatch() -> None:
    problems = compare_requirements(
        ["torch==2.13.0", "numpy"], ["torch==2.12.0", "numpy", "extra-pkg", *EDITABLE]
    )
    assert "in pyproject.toml but not environment.yml: torch==2.13.0" in problems
    assert "in environment.yml but not pyproject.toml: torch==2.12.0" in problems
    assert "in environment.yml but not pyproject.toml: extra-pkg" in problems
    assert len(problems) == 3


def test_parser_handles_quotes_comments_and_dedent() -> None:
    text = (
        "name: x\n"
        "dependencies:\n"
        "  - python=3.11\n"
        "  - pip:\n"
        "      - 'torch==2.13.0'  # pinned\n"
        '      - "jupyter-book>=1.0.4,<2"\n'
        "\n"
        "      - -e .\n"
        "  - nodejs\n"
    )
    assert parse_pip_section(text) == ["torch==2.13.0", "jupyter-book>=1.0.4,<2", "-e ."]


def test_tiny_parser_matches_yaml() -> None:
    yaml = pytest.importorskip("yaml")
    data = yaml.safe_load(ENVIRONMENT.read_text())
    pip_lists = [d["pip"] for d in data["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert pip_lists == [parse_pip_section(ENVIRONMENT.read_text())]
