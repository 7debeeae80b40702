"""The nbval set-up must catch a changed number and must not mask headline numbers."""

import configparser
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

SANITIZE = Path(__file__).parent / "notebooks" / "sanitize.cfg"


def _notebook(path: Path, stored_output: str) -> None:
    cell = nbformat.v4.new_code_cell("print(round(0.1234567, 4))")
    cell.execution_count = 1
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=stored_output)]
    nb = nbformat.v4.new_notebook(cells=[cell])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


@pytest.mark.parametrize("stored, passes", [("0.1235\n", True), ("0.1236\n", False)])
def test_nbval_fails_on_a_changed_number(tmp_path, stored, passes) -> None:
    _notebook(tmp_path / "reference.ipynb", stored)
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "--nbval", str(tmp_path / "reference.ipynb"),
                             "--nbval-sanitize-with", str(SANITIZE), "-p", "no:cacheprovider"],
                            capture_output=True, text=True, cwd=tmp_path)
    assert (result.returncode == 0) == passes, result.stdout[-2000:]


def test_sanitizers_mask_times_but_not_metrics() -> None:
    parser = configparser.ConfigParser()
    parser.read(SANITIZE)
    def clean(text: str) -> str:
        for section in parser.sections():
            text = re.sub(parser[section]["regex"], parser[section]["replace"], text)
        return text
    assert clean("wall time 12.3 s") == clean("wall time 4.0 s")
    assert clean("gap 1.23%") != clean("gap 1.24%")
    assert clean("loss 0.0123") != clean("loss 0.0124")
    assert clean("<Figure size 640x480 with 2 Axes>") == clean("<Figure size 100x100 with 2 Axes>")


NOTEBOOKS = Path(__file__).parent.parent / "notebooks"
REFERENCES = Path(__file__).parent / "notebooks"


def _code_cells(notebook) -> list[tuple[str, list[str]]]:
    """Each code cell's source and its nbval tags (they decide what nbval checks)."""
    return [(cell.source.strip(), sorted(t for t in cell.metadata.get("tags", []) if t.startswith("nbval")))
            for cell in notebook.cells if cell.cell_type == "code"
            and "injected-parameters" not in cell.metadata.get("tags", [])]


def test_nbval_markers_are_cell_tags_not_comments() -> None:
    """A `# NBVAL_...` comment would show on the book's pages; the tag does the same job unseen."""
    commented = [p.name for p in NOTEBOOKS.glob("*.py") if "# NBVAL_" in p.read_text()]
    assert commented == [], "use a cell tag, e.g. `# %% tags=[\"nbval-ignore-output\"]`"


@pytest.mark.parametrize("source", sorted(NOTEBOOKS.glob("*.py")), ids=lambda p: p.stem)
def test_reference_notebooks_are_generated_from_the_sources(source: Path) -> None:
    """nbval re-runs the reference notebooks, so their code must be the sources' code;
    `make refresh-references` regenerates them (markdown may lag: nbval ignores it)."""
    jupytext = pytest.importorskip("jupytext")
    reference = REFERENCES / f"{source.stem}.ipynb"
    assert reference.exists(), f"no reference for {source.name}; run `make refresh-references`"
    expected = _code_cells(jupytext.read(source))
    actual = _code_cells(nbformat.read(reference, as_version=4))
    assert actual == expected, f"{reference.name} drifted from {source.name}; run `make refresh-references`"


def test_every_reference_has_a_source() -> None:
    orphans = [p.name for p in REFERENCES.glob("*.ipynb") if not (NOTEBOOKS / f"{p.stem}.py").exists()]
    assert orphans == []


def test_reference_notebooks_hold_no_machine_paths() -> None:
    pattern = re.compile(r'"(/tmp|/work|/root|/home)/[A-Za-z0-9_.-]+/')
    leaking = [p.name for p in REFERENCES.glob("*.ipynb") if pattern.search(p.read_text())]
    assert leaking == [], "run `make refresh-references` (scripts/run_notebooks.py records relative sources)"


@pytest.mark.parametrize("source", sorted(NOTEBOOKS.glob("*.py")), ids=lambda p: p.stem)
def test_every_figure_a_chapter_writes_is_checked_in_its_check_cell(source: Path) -> None:
    """Tables of trained numbers are not compared digit for digit (nbval-ignore-output): the
    chapter's hidden check cell compares each figure's metrics with its cross-kernel band."""
    from mrvae_companion.checks import CHECKS, UNCHECKED

    text = source.read_text()
    written = set(re.findall(r'save_figure\(\s*\w+,\s*"([^"]+)"', text))
    calls = re.findall(r"^print_checks\((.*)\)$", text, flags=re.MULTILINE)
    checked = set(re.findall(r'"([^"]+)"', " ".join(calls)))
    assert len(calls) == (1 if written else 0), f"{source.name}: one print_checks(...) cell per chapter with figures"
    assert checked == written - UNCHECKED.keys(), f"{source.name} writes {sorted(written)}, checks {sorted(checked)}"
    assert checked <= CHECKS.keys()


def test_an_executed_notebook_names_its_source_and_output_without_machine_paths(tmp_path: Path) -> None:
    """A reference is often executed into a scratch folder first and copied into tests/notebooks:
    papermill's absolute paths must not travel with it."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("run_notebooks", NOTEBOOKS.parent / "scripts" / "run_notebooks.py")
    run_notebooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run_notebooks)
    output = tmp_path / "01_chapter.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.metadata["papermill"] = {"input_path": str(tmp_path / "x.ipynb"), "output_path": str(output)}
    nbformat.write(nb, output)
    run_notebooks.record_source(output, NOTEBOOKS / "01_linear_vae_theory.py")
    recorded = nbformat.read(output, as_version=4).metadata["papermill"]
    assert recorded == {"input_path": "notebooks/01_linear_vae_theory.py", "output_path": "01_chapter.ipynb"}
