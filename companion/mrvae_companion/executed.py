"""The book's copy of a chapter, composed from the nbval run that just checked it.

CI executes every notebook once: nbval runs the reference notebooks in ``tests/notebooks``
and compares their outputs, and :func:`book_notebook` turns what that run printed into the
notebook the book renders. Markdown and cell tags come from the Jupytext source (references
may lag in markdown, never in code: ``tests/test_nbval_harness.py`` checks it); the injected
papermill parameters and every output come from the run.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["book_notebook"]

_INJECTED = "injected-parameters"


def _tags(cell: Any) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def book_notebook(source: Path, reference: Any, outputs: Mapping[int, Sequence[Any]]) -> Any:
    """``source``'s cells with the outputs nbval got when it ran ``reference``.

    Args:
        source: the chapter's Jupytext file (``notebooks/NN_name.py``).
        reference: the reference notebook nbval ran (an ``nbformat`` notebook).
        outputs: the outputs of the run, by code-cell index in ``reference`` (nbval's
            ``cell_num``); a code cell the run did not reach keeps the reference's outputs.

    Raises:
        ValueError: the reference's code differs from the source's (run
            ``make refresh-references``).
    """
    import jupytext  # a notebooks/dev dependency, needed only here

    notebook = jupytext.read(source)
    notebook.metadata["kernelspec"] = copy.deepcopy(reference.metadata.get("kernelspec", {}))
    if "papermill" in reference.metadata:
        notebook.metadata["papermill"] = copy.deepcopy(reference.metadata["papermill"])
    run_cells = [cell for cell in reference.cells if cell.cell_type == "code"]
    injected = [cell for cell in run_cells if _INJECTED in _tags(cell)]
    if injected:
        after = next((i for i, cell in enumerate(notebook.cells) if "parameters" in _tags(cell)), -1)
        notebook.cells.insert(after + 1, copy.deepcopy(injected[0]))
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    if [c.source.strip() for c in code] != [c.source.strip() for c in run_cells]:
        raise ValueError(f"{reference.metadata.get('papermill', {}).get('input_path', source.name)}: the reference "
                         f"notebook's code differs from {source.name}; run `make refresh-references`")
    for index, (cell, ran) in enumerate(zip(code, run_cells, strict=True)):
        cell.outputs = [copy.deepcopy(o) for o in outputs.get(index, ran.outputs)]
        cell.execution_count = index + 1
        for output in cell.outputs:
            if output.get("output_type") == "execute_result":
                output["execution_count"] = index + 1
    return notebook
