"""Plotting helpers shared by the notebooks, so every rate–distortion panel looks the same."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from matplotlib.axes import Axes

MR_STYLE = {"color": "C3", "marker": "o", "ms": 3.5, "lw": 1.5}
CONSTANT_STYLE = {"color": "C0", "marker": "s", "ms": 6, "mfc": "none", "mew": 1.4, "ls": "none"}
ANNEALED_STYLE = {"color": "C2", "marker": "^", "ms": 6, "mfc": "none", "mew": 1.4, "ls": "none"}


def plot_rate_distortion(
    ax: Axes,
    mr_curve: Sequence[Mapping[str, float]],
    constant: Sequence[Mapping[str, float]] | None = None,
    annealed: Sequence[Mapping[str, float]] | None = None,
    *,
    title: str = "",
    mr_label: str = "MR-VAE (one run)",
) -> None:
    """MR-VAE curve against β-VAE points; each entry needs ``rate`` and ``distortion``."""
    ax.plot([p["rate"] for p in mr_curve], [p["distortion"] for p in mr_curve], label=mr_label, **MR_STYLE)
    if constant:
        ax.plot([p["rate"] for p in constant], [p["distortion"] for p in constant],
                label="β-VAEs, constant β", **CONSTANT_STYLE)
    if annealed:
        ax.plot([p["rate"] for p in annealed], [p["distortion"] for p in annealed],
                label="β-VAEs, KL annealing", **ANNEALED_STYLE)
    ax.set_xlabel("rate (nats)")
    ax.set_ylabel("distortion (nats)")
    if title:
        ax.set_title(title)


def mark_not_run(ax: Axes, title: str, reason: str) -> None:
    """An empty panel that says why it has no data (never a fake curve)."""
    ax.set_title(title)
    ax.text(0.5, 0.5, reason, ha="center", va="center", wrap=True, fontsize=9, transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
