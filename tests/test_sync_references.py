"""scripts/sync_references.py copies a chapter's code into its reference and keeps the outputs,
and refuses a reference whose cells no longer line up with the source's."""

import importlib.util
from pathlib import Path

import nbformat
import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "sync_references.py"
SOURCE = """# %% [markdown]
# A chapter.

# %% tags=["parameters"]
profile = "quick"

# %%
print({value})
"""


def _script():
    spec = importlib.util.spec_from_file_location("sync_references", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _reference(path: Path, printed: str) -> None:
    """A reference as papermill writes it: the source's cells, the injected parameters, outputs."""
    cells = [nbformat.v4.new_markdown_cell("A chapter."),
             nbformat.v4.new_code_cell('profile = "quick"', metadata={"tags": ["parameters"]}),
             nbformat.v4.new_code_cell('profile = "quick"', metadata={"tags": ["injected-parameters"]}),
             nbformat.v4.new_code_cell("print(1)", metadata={"tags": []})]
    cells[-1].outputs = [nbformat.v4.new_output("stream", name="stdout", text=printed)]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)


@pytest.fixture
def folders(tmp_path):
    notebooks, references = tmp_path / "notebooks", tmp_path / "references"
    notebooks.mkdir()
    references.mkdir()
    return notebooks, references


def test_sync_copies_the_code_and_keeps_the_outputs(folders) -> None:
    notebooks, references = folders
    (notebooks / "01_chapter.py").write_text(SOURCE.format(value="1 + 0"))
    _reference(references / "01_chapter.ipynb", "1\n")
    assert _script().sync("01_chapter", notebooks=notebooks, references=references) == 1
    synced = nbformat.read(references / "01_chapter.ipynb", as_version=4)
    last = synced.cells[-1]
    assert last.source == "print(1 + 0)" and last.outputs[0]["text"] == "1\n" and last.metadata["tags"] == []
    assert synced.cells[2].metadata["tags"] == ["injected-parameters"]  # papermill's cell stays
    assert _script().sync("01_chapter", notebooks=notebooks, references=references) == 0


def test_sync_refuses_cells_that_no_longer_line_up(folders) -> None:
    notebooks, references = folders
    (notebooks / "01_chapter.py").write_text(SOURCE.format(value=1) + "\n# %%\nprint(2)\n")
    _reference(references / "01_chapter.ipynb", "1\n")
    with pytest.raises(ValueError, match="re-record it"):
        _script().sync("01_chapter", notebooks=notebooks, references=references)


def test_sync_names_a_missing_reference(folders) -> None:
    notebooks, references = folders
    (notebooks / "01_chapter.py").write_text(SOURCE.format(value=1))
    with pytest.raises(ValueError, match="01_chapter.ipynb does not exist"):
        _script().sync("01_chapter", notebooks=notebooks, references=references)
