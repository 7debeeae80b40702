"""The layout of the figure files every chapter and script writes and the scoreboard reads.

A figure file is JSON with :data:`REQUIRED_KEYS` and the :data:`FIGURE_SCHEMA` version it was
written with. A reader that finds another version, or a field missing or renamed, raises
:class:`FigureSchemaError`: the build fails instead of showing a result as missing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["FIGURE_SCHEMA", "REQUIRED_KEYS", "FigureSchemaError", "check_schema"]

#: The keys every figure file has.
REQUIRED_KEYS = ("figure", "notebook", "profile", "data", "metrics", "provenance")
#: Version of the figure-file layout. Every file records the version it was written with
#: (files from before the field are version 1); a reader refuses another version, so a
#: renamed or moved field fails the build instead of reading as a missing result. Bump it
#: whenever a field that a reader (the scoreboard, a chapter) uses is renamed or moved.
#:
#: - 1: each panel figure laid out its panels in its own way (``per_beta_constant``,
#:   ``rows_constant``, ``mrvae_curve``, ...).
#: - 2: every panel figure stores ``data.panels[tag]`` as a
#:   :class:`~mrvae_companion.panel_result.PanelResult` record; the other figures are as in 1.
FIGURE_SCHEMA = 2


class FigureSchemaError(ValueError):
    """A figure file exists but does not have the layout its reader expects (another schema
    version, a renamed or missing field, a value of another shape): an error, never a quiet
    "not run"."""


def check_schema(record: Mapping[str, Any], where: str) -> None:
    """Raise :class:`FigureSchemaError` unless ``record`` (from ``where``) has this build's layout version."""
    version = record.get("schema", 1)
    if version != FIGURE_SCHEMA:
        raise FigureSchemaError(f"{where} was written with figure schema {version!r}; this build reads schema "
                                f"{FIGURE_SCHEMA}: rerun the notebook or command that writes it")
