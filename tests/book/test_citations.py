"""Every citation in the book names an entry of references.bib, and every entry is defined once.

The book cites with MyST roles, {cite:t}`key` or {cite:p}`key1,key2` (sphinxcontrib-bibtex).
A key missing from references.bib only shows up at `jupyter-book build` time, several minutes
into `make book`; this test finds it in milliseconds and names the file and line.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
BIBFILE = REPO_ROOT / "references.bib"
# The sources the book is built from: the notebooks (Jupytext py:percent) and the pages.
SOURCES = sorted([*(REPO_ROOT / "notebooks").glob("*.py"), *(REPO_ROOT / "book").glob("*.md")])

# {cite}`a`, {cite:t}`a`, {cite:p}`a,b`, {cite:ps}`a`, {cite:alp}`a`, ...
CITE_ROLE = re.compile(r"\{cite(?::[a-z]+)?\}`([^`]*)`")
# "@type{key," at the start of a line; @string, @preamble and @comment define no entry.
BIB_ENTRY = re.compile(r"^[ \t]*@[ \t]*([A-Za-z]+)[ \t]*[{(][ \t]*([^,\s]+)[ \t]*,", re.MULTILINE)
NOT_ENTRIES = {"string", "preamble", "comment"}


def bib_keys(text: str) -> list[str]:
    """Entry keys in file order, duplicates kept."""
    return [key for kind, key in BIB_ENTRY.findall(text) if kind.lower() not in NOT_ENTRIES]


def citations(text: str) -> list[tuple[int, str]]:
    """(line number, key) for every key of every cite role in `text`."""
    found = []
    for match in CITE_ROLE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        found.extend((line, key.strip()) for key in match.group(1).split(","))
    return found


def test_parsers() -> None:
    text = "see {cite:t}`a2020` and {cite:p}`b2021, c2022`; {cite}`d` {numref}`fig-x`\n{cite:ps}`e`"
    assert citations(text) == [(1, "a2020"), (1, "b2021"), (1, "c2022"), (1, "d"), (2, "e")]
    bib = "% @misc{not, a comment}\n@Article{x1,\n  title={T},\n}\n@string{j = {J}}\n @misc{y-2,}"
    assert bib_keys(bib) == ["x1", "y-2"]


def test_references_bib_has_no_duplicate_keys() -> None:
    keys = bib_keys(BIBFILE.read_text(encoding="utf-8"))
    assert keys, f"no entries parsed from {BIBFILE.name}"
    # BibTeX compares keys case-insensitively.
    duplicates = [key for key, n in Counter(k.lower() for k in keys).items() if n > 1]
    assert not duplicates, f"{BIBFILE.name} defines these keys more than once: {duplicates}"


def test_the_book_cites_something() -> None:
    assert any(citations(path.read_text(encoding="utf-8")) for path in SOURCES)


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.relative_to(REPO_ROOT).as_posix())
def test_every_cited_key_is_in_references_bib(source: Path) -> None:
    defined = set(bib_keys(BIBFILE.read_text(encoding="utf-8")))
    missing = [
        f"{source.relative_to(REPO_ROOT).as_posix()}:{line}: {key!r}"
        for line, key in citations(source.read_text(encoding="utf-8"))
        if key not in defined
    ]
    assert not missing, f"cited but not in {BIBFILE.name}:\n" + "\n".join(missing)
