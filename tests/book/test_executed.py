"""The book's notebooks composed from an nbval run: markdown from the source, outputs from the run."""

from __future__ import annotations

import nbformat
import pytest

from mrvae_companion.executed import book_notebook

pytest.importorskip("jupytext")

SOURCE = '''# %% [markdown]
# # A chapter, as the source says it now

# %% tags=["parameters"]
profile = "quick"

# %% tags=["hide-input"]
print(profile)
'''


def _reference(code: str = "print(profile)") -> nbformat.NotebookNode:
    v4 = nbformat.v4
    nb = v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"},
                                   "papermill": {"input_path": "x.py"}})
    nb.cells = [v4.new_markdown_cell("# An older title"), v4.new_code_cell('profile = "quick"'),
                v4.new_code_cell('# Parameters\nprofile = "cpu"\n', metadata={"tags": ["injected-parameters"]}),
                v4.new_code_cell(code, outputs=[v4.new_output("stream", name="stdout", text="stored\n")])]
    nb.cells[1].metadata["tags"] = ["parameters"]
    return nb


def test_markdown_and_tags_come_from_the_source_and_outputs_from_the_run(tmp_path) -> None:
    source = tmp_path / "chapter.py"
    source.write_text(SOURCE)
    ran = [nbformat.v4.new_output("stream", name="stdout", text="cpu\n")]
    book = book_notebook(source, _reference(), {2: ran})
    assert book.cells[0].source.startswith("# A chapter, as the source says it now")
    code = [c for c in book.cells if c.cell_type == "code"]
    assert "injected-parameters" in code[1].metadata["tags"]  # right after the parameters cell
    assert code[2].metadata["tags"] == ["hide-input"] and code[2].outputs[0]["text"] == "cpu\n"
    assert [c.execution_count for c in code] == [1, 2, 3]
    assert book.metadata["papermill"]["input_path"] == "x.py"
    # A cell the run did not reach keeps the reference's outputs.
    assert book_notebook(source, _reference(), {}).cells[-1].outputs[0]["text"] == "stored\n"


def test_a_reference_whose_code_drifted_names_the_fix(tmp_path) -> None:
    source = tmp_path / "chapter.py"
    source.write_text(SOURCE)
    with pytest.raises(ValueError, match="refresh-references"):
        book_notebook(source, _reference("print(profile * 2)"), {})
