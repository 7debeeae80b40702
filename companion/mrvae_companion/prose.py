"""Numbers and names that the chapters' prose quotes, taken from each run's outputs.

Every number in a chapter's text is glued from the run that produced it (myst-nb's ``glue``,
shown with ``{glue:text}``), so none is typed by hand, and is rounded to what holds from run
to run.
"""

from __future__ import annotations

import re
from fractions import Fraction

from mrvae_companion.scoreboard import DATASET_NAMES, KIND_NAMES

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


def _size(part: str) -> str:
    """One size field of a panel tag, for reading: ``w0.25`` → ``1/4 width``,
    ``e32h64z32`` → ``embedding 32, hidden 64, latent 32``, ``c16`` → ``16 channels``."""
    if match := re.fullmatch(r"w(\d+(?:\.\d+)?)", part):
        width = Fraction(match.group(1)).limit_denominator(64)
        if width == 1:
            return "full width"
        return f"1/{width.denominator} width" if width.numerator == 1 else f"{float(width):g}× width"
    if match := re.fullmatch(r"e(\d+)h(\d+)z(\d+)", part):
        return "embedding {}, hidden {}, latent {}".format(*match.groups())
    if match := re.fullmatch(r"c(\d+)", part):
        return f"{match.group(1)} channels"
    return f"{part} network" if part in ("quick", "paper") else part


def panel_label(tag: str) -> str:
    """A panel's name for tables and titles, from its tag: ``binary_mnist-resnet-w0.25`` →
    ``binary MNIST, ResNet (1/4 width)``; ``yahoo-lstm-e32h64z32`` → ``Yahoo, LSTM (embedding 32,
    hidden 64, latent 32)``. Unknown parts pass through."""
    dataset, kind, *sizes = tag.split("-")
    name = f"{DATASET_NAMES.get(dataset, dataset)}, {KIND_NAMES.get(kind, kind)}"
    return f"{name} ({', '.join(_size(s) for s in sizes)})" if sizes else name
