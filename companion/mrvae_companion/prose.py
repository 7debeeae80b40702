"""Numbers and names that the chapters' prose quotes, taken from each run's outputs.

Every number in a chapter's text is glued from the run that produced it (myst-nb's ``glue``,
shown with ``{glue:text}``), so none is typed by hand, and is rounded to what holds from run
to run.
"""

from __future__ import annotations

from mrvae_companion.scoreboard import DATASET_NAMES, KIND_NAMES
from mrvae_companion.scoreboard.format import panel_label

__all__ = ["glue_number", "panel_label", "panel_title", "two_digits", "yes_no"]


def glue_number(name: str, value: float) -> None:
    """Glue ``value`` as a float under ``name`` for ``{glue:text}`name:fmt``` in the prose."""
    from myst_nb import glue  # the book's dependency, imported only where a notebook runs

    glue(name, float(value), display=False)


def two_digits(x: float) -> str:
    """Two significant digits, written out (``1,300``, not ``1.3e+03``): what holds from run to run."""
    return f"{float(format(x, '.2g')):,g}"


def panel_title(key: tuple[str, str]) -> str:
    """A panel's title from its ``(dataset, kind)``: ``("binary_mnist", "resnet")`` → ``binary MNIST, ResNet``."""
    dataset, kind = key
    return f"{DATASET_NAMES.get(dataset, dataset)}, {KIND_NAMES.get(kind, kind)}"


def yes_no(flag: bool) -> str:
    """``yes`` or ``no``: how a table says what a bool holds (never ``True``/``False``)."""
    return "yes" if flag else "no"
