"""A Sphinx extension: author–year citations in round brackets, "(He et al., 2019)".

sphinxcontrib-bibtex's ``author_year`` style writes them in square brackets, which reads as a
numbered citation. This registers ``author_year_round``, the same style with parentheses, for
``bibtex_reference_style`` in ``_config.yml``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import sphinxcontrib.bibtex.plugin
from sphinxcontrib.bibtex.style.referencing import BracketStyle
from sphinxcontrib.bibtex.style.referencing.author_year import AuthorYearReferenceStyle

STYLE_NAME = "author_year_round"


def _round() -> BracketStyle:
    return BracketStyle(left="(", right=")")


@dataclasses.dataclass
class RoundAuthorYearStyle(AuthorYearReferenceStyle):
    bracket_parenthetical: BracketStyle = dataclasses.field(default_factory=_round)
    bracket_textual: BracketStyle = dataclasses.field(default_factory=_round)
    bracket_author: BracketStyle = dataclasses.field(default_factory=_round)
    bracket_label: BracketStyle = dataclasses.field(default_factory=_round)
    bracket_year: BracketStyle = dataclasses.field(default_factory=_round)


def setup(app: Any) -> dict[str, Any]:
    sphinxcontrib.bibtex.plugin.register_plugin("sphinxcontrib.bibtex.style.referencing", STYLE_NAME,
                                                RoundAuthorYearStyle)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
