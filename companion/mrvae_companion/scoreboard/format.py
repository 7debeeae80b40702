"""How the scoreboard writes numbers, panels and datasets."""

from __future__ import annotations

import re
from collections.abc import Mapping
from fractions import Fraction

DATASET_NAMES: Mapping[str, str] = {
    "binary_mnist": "binary MNIST", "omniglot": "Omniglot", "cifar10": "CIFAR-10", "svhn": "SVHN",
    "celeba64": "CelebA 64", "yahoo": "Yahoo", "mnist": "MNIST", "dsprites": "dSprites",
}


KIND_NAMES: Mapping[str, str] = {"conv": "conv", "resnet": "ResNet", "nvae": "NVAE-style", "lstm": "LSTM"}


MINUS = "\u2212"


def fmt_span(ratio: float) -> str:
    """A rate span for reading: ``2.3×``, ``16×``, ``6,580×``."""
    return f"{ratio:.1f}×" if ratio < 10 else f"{ratio:,.0f}×"


def fmt_percent(fraction: float) -> str:
    """A signed relative gap as a percentage: ``+3.8%``, ``−1.1%``, ``+24%``."""
    value = 100.0 * fraction
    text = f"{value:+.1f}" if abs(value) < 10 else f"{value:+.0f}"
    return text.replace("-", MINUS) + "%"


def fmt_number(value: float, digits: int) -> str:
    """``value`` with ``digits`` decimals and a typographic minus."""
    return f"{value:.{digits}f}".replace("-", MINUS)


def fmt_beta(beta: float) -> str:
    """A β value as written in the paper: ``0.01``, ``10``."""
    return f"{beta:g}"


def _paper_order(tag: str) -> tuple[int, str]:
    """Sort key: datasets in the paper's order (that of :data:`DATASET_NAMES`), then the tag."""
    order = list(DATASET_NAMES)
    dataset = tag.split("-")[0]
    return (order.index(dataset) if dataset in order else len(order), tag)


def panel_name(tag: str, with_kind: bool = False) -> str:
    """``binary_mnist-resnet-w0.25`` → ``binary MNIST`` (or ``binary MNIST ResNet``)."""
    dataset, _, rest = tag.partition("-")
    name = DATASET_NAMES.get(dataset, dataset)
    if with_kind and rest:
        kind = rest.split("-")[0]
        name += " " + KIND_NAMES.get(kind, kind)
    return name


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
