#!/usr/bin/env python3
"""Write the claims scoreboard of the book's first page from the figure files.

Reads ``figures/*.json`` (``--figures``) and writes the MyST table of
:mod:`mrvae_companion.scoreboard` to ``book/_generated/scoreboard.md`` (``--out``), which
``book/intro.md`` includes, and the rules beside it (``rules.md``), which
``book/reproducing.md`` includes. The file is generated at build time and not committed; run this
after the notebooks and before ``jupyter-book build``. A claim whose figure was not produced
gets a ``not run`` row; a figure that exists but does not read as its rule expects (a renamed or
missing field, another schema version) fails the script, naming the claim, the file and the field.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from mrvae_companion.scoreboard import rules_markdown, scoreboard, scoreboard_markdown

REPO_ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--figures", type=Path, default=REPO_ROOT / "figures",
                        help="directory of the figure JSON files (default: figures/)")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "book" / "_generated" / "scoreboard.md",
                        help="markdown file to write (default: book/_generated/scoreboard.md)")
    args = parser.parse_args(argv)

    rows = scoreboard(args.figures)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(scoreboard_markdown(rows, figure_dir=args.figures))
    (args.out.parent / "rules.md").write_text(rules_markdown())
    counts = Counter(row.verdict for row in rows)
    print(f"wrote {args.out} ({len(rows)} claims: " + ", ".join(f"{n} {v}" for v, n in counts.items()) + ")")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
