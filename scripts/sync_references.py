#!/usr/bin/env python3
"""Copy the chapters' code and markdown into their nbval references, keeping the recorded outputs.

For an edit that moves code but changes no output (a refactor, a reworded paragraph):
re-recording a reference retrains its chapter on two kernel paths, while this takes a second.
It refuses a reference whose cells no longer line up with the source's (a cell added,
removed or turned from code to markdown): re-record that one with ``make refresh-references``.
The outputs it keeps are only claims until nbval has run the synced reference (``make test``).

    python scripts/sync_references.py 04_figure5_rate_distortion 05_figure5_other_families
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO_ROOT / "notebooks"
REFERENCES = REPO_ROOT / "tests" / "notebooks"
#: papermill's cell with the run's parameters: it is in the reference, not in the source.
INJECTED = "injected-parameters"


def sync(stem: str, *, notebooks: Path = NOTEBOOKS, references: Path = REFERENCES) -> int:
    """Copy ``notebooks/<stem>.py``'s cell sources into ``tests/notebooks/<stem>.ipynb``;
    returns how many cells changed. Raises ``ValueError`` when the cells do not line up."""
    import jupytext
    import nbformat

    source_path, reference_path = notebooks / f"{stem}.py", references / f"{stem}.ipynb"
    for path in (source_path, reference_path):
        if not path.exists():
            raise ValueError(f"{path} does not exist")
    source = jupytext.read(source_path)
    reference = nbformat.read(reference_path, as_version=4)
    recorded = [cell for cell in reference.cells if INJECTED not in cell.metadata.get("tags", [])]
    kinds = ([c.cell_type for c in source.cells], [c.cell_type for c in recorded])
    if kinds[0] != kinds[1]:
        raise ValueError(f"{stem}: the source has {len(kinds[0])} cells and the reference {len(kinds[1])} "
                         "(or their kinds differ); re-record it (make refresh-references)")
    changed = 0
    for new, old in zip(source.cells, recorded, strict=True):
        tags = list(new.metadata.get("tags", []))
        if old.source != new.source or old.metadata.get("tags", []) != tags:
            old.source = new.source
            if tags or "tags" in old.metadata:  # papermill writes an empty list; keep its form
                old.metadata["tags"] = tags
            changed += 1
    nbformat.write(reference, reference_path)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stems", nargs="+", help="chapter file names without .py, e.g. 04_figure5_rate_distortion")
    args = parser.parse_args(argv)
    try:
        for stem in args.stems:
            print(f"{stem}: {sync(stem)} cells updated")
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
