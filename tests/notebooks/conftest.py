"""With ``MRVAE_EXECUTED_DIR`` set, the nbval run also writes each chapter as it just ran.

The book is then built from the run that was checked (``make book-only``) instead of a
second execution of every notebook. Nothing is written unless the whole run passed.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
_RUNS: dict[str, dict] = {}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    yield
    outputs = getattr(item, "test_outputs", None)
    if call.when == "call" and outputs is not None:
        run = _RUNS.setdefault(str(item.parent.fspath), {"reference": item.parent.nb, "outputs": {}})
        run["outputs"][item.cell_num] = list(outputs)


def pytest_sessionfinish(session, exitstatus):
    target = os.environ.get("MRVAE_EXECUTED_DIR")
    if not target or exitstatus != 0 or not _RUNS:
        return
    import nbformat

    from mrvae_companion.executed import book_notebook

    out = Path(target) if Path(target).is_absolute() else REPO_ROOT / target
    out.mkdir(parents=True, exist_ok=True)
    for path, run in sorted(_RUNS.items()):
        stem = Path(path).stem
        notebook = book_notebook(REPO_ROOT / "notebooks" / f"{stem}.py", run["reference"], run["outputs"])
        nbformat.write(notebook, out / f"{stem}.ipynb")
    print(f"\nwrote {len(_RUNS)} executed notebook(s) for the book to {target}")
