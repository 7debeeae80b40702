"""Figures: one look for every rate–distortion panel, saved with their data as
``figures/<name>.png`` plus ``figures/<name>.json``.

The JSON holds everything needed to re-plot, compare or diff a figure without
rerunning anything: the paper's label, the notebook and profile, the plotted
numbers, the headline metrics and the provenance of the run.
"""

from __future__ import annotations

import io
import json
import math
import os
import platform
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib as mpl
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.text import Text

from mrvae.data import data_roots
from mrvae.data.roots import checkout_root
from mrvae_companion.runtime import cpu_model, kernel_path
from mrvae_companion.schema import FIGURE_SCHEMA, REQUIRED_KEYS, FigureSchemaError, check_schema

if TYPE_CHECKING:
    from mrvae_companion.panel_result import PanelResult

FIGURE_DIR_ENV_VAR = "MRVAE_FIGURE_DIR"
REPO_ROOT = Path(__file__).resolve().parents[2]


def figure_dir() -> Path:
    """``$MRVAE_FIGURE_DIR`` if set (nbval runs use a temporary one), else ``<checkout>/figures``,
    or ``./figures`` for an installed package."""
    env = os.environ.get(FIGURE_DIR_ENV_VAR)  # empty counts as unset
    if env:
        return Path(env)
    checkout = checkout_root()
    return (checkout if checkout is not None else Path.cwd()) / "figures"


def committed_figure_dir() -> Path:
    """``<checkout>/figures`` (or ``./figures``) whatever ``$MRVAE_FIGURE_DIR`` says: where the
    results of runs too long for CI (the ``cpu`` profile, the overhead benchmark) are committed."""
    checkout = checkout_root()
    return (checkout if checkout is not None else Path.cwd()) / "figures"


def git_commit() -> str:
    """The repository's HEAD commit, with ``-dirty`` if the tree has changes; ``unknown`` outside git."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
        return head + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def short_commit(commit: str) -> str:
    """A :func:`git_commit` string for a table: 10 hex digits, keeping ``-dirty`` (an
    uncommitted tree is part of what produced the numbers)."""
    head, dirty, _ = commit.partition("-dirty")
    return head[:10] + dirty


def device_description(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda:{torch.cuda.get_device_name(device)}"
    return f"cpu:{platform.processor() or platform.machine()}:{torch.get_num_threads()} threads"


def machine_description() -> str:
    """The machine a committed long run used: CPU model and kernel path, cores, torch threads, OS."""
    return (f"{cpu_model()} ({platform.machine()}, {kernel_path()} kernels), {os.cpu_count()} CPU cores, "
            f"torch threads {torch.get_num_threads()} ({platform.platform(terse=True)})")


def provenance(*, seed: int, config: Any, device: torch.device, wall_seconds: float) -> dict[str, Any]:
    """Where the numbers came from: commit, seed, config, torch, device, CPU and its kernel path,
    and wall time (another CPU or kernel path gives other digits from the same seed)."""
    return {
        "git_commit": git_commit(),
        "seed": seed,
        "config": _jsonable(config),
        "torch": torch.__version__,
        "device": device_description(device),
        "cpu": cpu_model(),
        "cpu_kernels": kernel_path(),
        "wall_seconds": round(wall_seconds, 2),
    }


def committed_run_provenance(*, seed: int, config: Any, device: torch.device, wall_seconds: float,
                             command: str) -> dict[str, Any]:
    """:func:`provenance` of a long run whose figure data are committed rather than rebuilt by CI,
    with what a reader needs to judge and repeat it: the ``machine``
    (:func:`machine_description`), when it ``finished_utc`` and the ``command`` that reruns it."""
    from datetime import datetime, timezone

    return {**provenance(seed=seed, config=config, device=device, wall_seconds=wall_seconds),
            "machine": machine_description(), "finished_utc": datetime.now(timezone.utc).isoformat(timespec="minutes"),
            "command": command}


def machine_paths() -> list[tuple[str, str]]:
    """``(absolute prefix, placeholder)`` pairs that figure JSON must not contain: the data
    roots become ``<data root>`` and the checkout ``<repo>``, so committed files name data
    files relative to the data root and never a machine's directories."""
    pairs = [(str(root), "<data root>") for root in data_roots()]
    pairs.append((str(REPO_ROOT.resolve()), "<repo>"))
    pairs.append((str(Path.home()), "~"))
    return sorted(pairs, key=lambda pair: -len(pair[0]))  # longest first: nested roots


def relative_to_roots(text: str) -> str:
    """``text`` with every machine path of :func:`machine_paths` replaced by its placeholder."""
    for prefix, placeholder in machine_paths():
        if len(prefix) > 1:
            text = text.replace(prefix, placeholder)
    return text


def _jsonable(value: Any) -> Any:
    if isinstance(value, str):
        return relative_to_roots(value)
    if isinstance(value, Path):
        return relative_to_roots(str(value))
    if is_dataclass(value) and not isinstance(value, type):
        return {"type": type(value).__name__, **_jsonable(asdict(value))}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, torch.Tensor):
        return _jsonable(value.tolist())
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no NaN/inf; keep them visible rather than invalid
    return value


def save_figure(fig: Any, name: str, *, figure: str, notebook: str, profile: str, data: dict[str, Any],
                metrics: dict[str, Any], provenance: dict[str, Any], notes: str = "",
                directory: Path | None = None) -> Path:
    """Write ``<name>.png`` and ``<name>.json`` into ``directory`` (default :func:`figure_dir`);
    returns the JSON path."""
    if not name.replace("_", "").replace("-", "").replace(".", "").isalnum():
        raise ValueError(f"figure name {name!r} must use letters, digits, '_', '-' and '.' only")
    out = Path(directory) if directory is not None else figure_dir()
    out.mkdir(parents=True, exist_ok=True)
    fig.savefig(out / f"{name}.png", dpi=110, bbox_inches="tight")
    record = {"schema": FIGURE_SCHEMA, "figure": figure, "notebook": notebook, "profile": profile,
              "data": _jsonable(data), "metrics": _jsonable(metrics), "provenance": _jsonable(provenance)}
    if notes:
        record["notes"] = relative_to_roots(notes)
    path = out / f"{name}.json"
    path.write_text(json.dumps(record, indent=1, sort_keys=False) + "\n")
    return path


def load_figure_data(name: str, directory: Path | None = None) -> dict[str, Any]:
    """Read a figure's JSON and check that it follows the contract."""
    path = (directory or figure_dir()) / f"{name}.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist; run the notebook that makes it (see book/reproducing.md)")
    record = json.loads(path.read_text())
    missing = [k for k in REQUIRED_KEYS if k not in record]
    if missing:
        raise FigureSchemaError(f"{path} lacks the keys {missing}")
    check_schema(record, str(path))
    return record


def committed_run(name: str, command: str) -> dict[str, Any] | None:
    """The committed figure data of a run too long for CI (``figures/<name>.json``), after a line
    saying when, where, at which commit and in how long it ran, and its command; ``None`` after a
    line naming the ``command`` that makes it, when the file is missing."""
    try:
        record = load_figure_data(name, directory=committed_figure_dir())
    except FileNotFoundError:
        print(f"figures/{name}.json is missing: run `{command}`")
        return None
    ran = record["provenance"]
    print(f"ran {ran['finished_utc']} on {ran['machine']}, commit {ran['git_commit'][:10]}, "
          f"{ran['wall_seconds'] / 60:.0f} min; command: {ran['command']}")
    return record


# How figures look on the book's page.

#: The width of the book's text column, in inches at the browser's 96 px per inch: 672 px in
#: Jupyter Book's theme at a 1280-px window (the browser test's), wider in a wider window. A
#: figure saved wider than this is shrunk to fit, and its text with it.
COLUMN_INCHES = 7.0
#: The smallest text a figure may show at the column width.
MIN_TEXT_POINTS = 8.0
#: The margin around a figure's content when it is saved cropped to that content.
PAD_INCHES = 0.02
#: The book's figure style: 8 pt text everywhere (legends included), light grids, and SVG
#: output that is byte-for-byte the same from run to run (fixed ids, no date).
BOOK_STYLE: dict[str, Any] = {
    "figure.dpi": 90,
    "font.size": 8,
    "legend.fontsize": 8,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "svg.hashsalt": "mrvae",
    "svg.fonttype": "path",
}


def use_book_style() -> None:
    """Apply :data:`BOOK_STYLE` to matplotlib's global settings (every chapter's first cell)."""
    mpl.rcParams.update(BOOK_STYLE)


def saved_width(fig: Figure) -> float:
    """Inches: the width of ``fig`` saved cropped to its content (``bbox_inches="tight"``)."""
    fig.draw_without_rendering()  # runs the layout engine (constrained layout) as saving will
    return float(fig.get_tightbbox(fig.canvas.get_renderer()).width) + 2 * PAD_INCHES


def fit_to_column(fig: Figure) -> None:
    """Scale ``fig``'s size (not its text) so that it saves no wider than the column, where the
    page would otherwise shrink it and its text with it."""
    for _ in range(3):  # text keeps its size, so the content shrinks a little less than the figure
        width = saved_width(fig)
        if width <= COLUMN_INCHES:
            return
        w, h = fig.get_size_inches()
        scale = COLUMN_INCHES / width * 0.995
        fig.set_size_inches(w * scale, h * scale)


def smallest_text(fig: Figure) -> tuple[float, str]:
    """``(points, text)`` of the smallest visible text in ``fig`` as the book shows it: its font
    size, shrunk by ``COLUMN_INCHES / width`` when the saved figure is wider than the column.
    ``(inf, "")`` for a figure without text."""
    shrink = min(1.0, COLUMN_INCHES / saved_width(fig))
    sizes = [(float(t.get_fontsize()) * shrink, t.get_text()) for t in fig.findobj(Text)
             if t.get_visible() and t.get_text().strip()]
    return min(sizes, default=(math.inf, ""))


def check_legible(fig: Figure, name: str) -> None:
    """Refuse a figure whose text would be under :data:`MIN_TEXT_POINTS` at the column width."""
    points, text = smallest_text(fig)
    if points < MIN_TEXT_POINTS:
        raise ValueError(
            f"figure {name!r}: the text {text!r} would show at {points:.1f} pt in the book's "
            f"{COLUMN_INCHES:g}-inch column (saved {saved_width(fig):.2f} in wide); the minimum is "
            f"{MIN_TEXT_POINTS:g} pt. Give that text a larger fontsize (use_book_style() sets "
            f"{MIN_TEXT_POINTS:g} pt everywhere), or fit_to_column(fig) before saving")


def figure_bytes(fig: Figure, *, vector: bool) -> bytes:
    """``fig`` as SVG (``vector=True``) or as a 150-dpi PNG, cropped to its content."""
    buffer = io.BytesIO()
    if vector:
        fig.savefig(buffer, format="svg", bbox_inches="tight", pad_inches=PAD_INCHES, metadata={"Date": None})
    else:
        fig.savefig(buffer, format="png", dpi=150, bbox_inches="tight", pad_inches=PAD_INCHES)
    return buffer.getvalue()


def glue_figure(name: str, fig: Figure, *, vector: bool = True) -> None:
    """Fit ``fig`` to the column, check that its text is legible there, glue it under ``name``
    for a ``{glue:figure}`` (myst-nb) and close it.

    ``vector=True`` glues an SVG, sharp at any zoom: right for plots of lines and points.
    Figures of images (samples, reconstructions) should pass ``vector=False``: an SVG would
    only wrap the same pixels.
    """
    import matplotlib.pyplot as plt
    from IPython.display import SVG, Image
    from myst_nb import glue

    fit_to_column(fig)
    check_legible(fig, name)
    data = figure_bytes(fig, vector=vector)
    glue(name, SVG(data=data) if vector else Image(data=data, format="png"), display=False)
    plt.close(fig)


# One look for every rate–distortion panel of the book.

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


def plot_panel(ax: Axes, panel: PanelResult, *, title: str = "", mr_label: str = "MR-VAE (one run)") -> None:
    """:func:`plot_rate_distortion` of a measured panel: its MR-VAE's curve and its sweeps' β-VAEs."""
    sweeps = {name: [{"rate": r.rate, "distortion": r.distortion} for r in rows]
              for name, rows in panel.comparisons.items()}
    plot_rate_distortion(ax, [{"rate": p.rate, "distortion": p.distortion} for p in panel.curve], sweeps["constant"],
                         sweeps.get("annealed"), title=title, mr_label=mr_label)


def legend_below(fig: Figure, ax: Axes | None = None, *, ncol: int = 3) -> None:
    """One legend for a grid of panels, below them, instead of one inside a panel, where at
    the book's text size it would cover the data. Needs ``layout="constrained"``.

    The entries are ``ax``'s or, by default, every label of every panel once, in the order
    first drawn: panels need not all show the same series.
    """
    entries: dict[str, Any] = {}
    for panel in [ax] if ax is not None else fig.axes:
        for handle, label in zip(*panel.get_legend_handles_labels(), strict=True):
            entries.setdefault(label, handle)
    fig.legend(list(entries.values()), list(entries), loc="outside lower center", ncol=ncol, frameon=False)


def mark_not_run(ax: Axes, title: str, reason: str) -> None:
    """An empty panel that says why it has no data (never a fake curve)."""
    ax.set_title(title)
    ax.text(0.5, 0.5, reason, ha="center", va="center", wrap=True, fontsize=9, transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)


def plot_gap_study(axes: Sequence[Axes], variants: Mapping[str, Mapping[str, Any]], *, target: float = 0.03) -> None:
    """The Figure 1 gap study (``scripts/run_gap_study.py``) on two axes.

    Left: the median and worst gap in D + βR against Adam steps, where the MR-VAE and the
    β-VAEs train equally long (``group == "equal"``), with the ``target`` median gap dotted.
    Right: the gap at each β for those budgets, the longer-trained MR-VAE and the wider range.
    Settings run on several seeds show each seed's median (left) and their range per β (right).
    """
    equal = [v for v in variants.values() if v["group"] == "equal"]
    steps = [v["mr_vae_steps"] for v in equal]
    for key, label, marker, colour in (("median_gap", "median", "o", "k"), ("worst_gap", "worst", "s", "0.55")):
        axes[0].plot(steps, [100 * v[key] for v in equal], marker=marker, color=colour, label=label)
    axes[0].axhline(100 * target, color="k", lw=0.8, ls=":", label="target (median)")
    axes[0].set(xscale="log", xlabel="Adam steps per model", ylabel="gap in D + βR (%)",
                title="Both kinds trained equally long")
    axes[0].set_xticks(steps, [f"{s:,}" for s in steps], minor=False)
    axes[0].set_xticks([], minor=True)
    # the settings run on several seeds: the first equal budget (with the "seed" runs) and the
    # longer-trained MR-VAE; each seed drawn as a point (left) or their range as a band (right)
    replicates = {id(equal[0]): [equal[0], *(v for v in variants.values() if v["group"] == "seed")]}
    longer = [v for v in variants.values() if v["group"] == "mr_vae_longer"]
    if longer:
        replicates[id(longer[0])] = longer
    at_first = replicates[id(equal[0])]
    if len(at_first) > 1:
        axes[0].scatter([steps[0]] * len(at_first), [100 * v["median_gap"] for v in at_first], s=12, color="C3",
                        zorder=3, label=f"median, each of {len(at_first)} seeds")
    axes[0].set_ylim(bottom=0)
    axes[0].legend()
    first_seed = next(iter(variants.values())).get("seed")
    for v in variants.values():
        if v.get("seed") != first_seed:
            continue  # the other seeds' runs: the bands below and the study's table
        if v["group"] == "equal":
            label = f"both {v['mr_vae_steps']:,} steps"
        elif v["group"] == "mr_vae_longer":
            label = f"MR-VAE {v['mr_vae_steps']:,}, β-VAEs {v['beta_vae_steps']:,} steps"
        elif v["group"] == "wider_range":
            label = f"wider β range, both {v['mr_vae_steps']:,} steps"
        else:
            continue  # the gate learning rates: in the study's table only
        runs = replicates.get(id(v), [v])
        if len(runs) > 1:
            label += f" (band: {len(runs)} seeds)"
        (line,) = axes[1].plot(v["betas"], [100 * g for g in v["gaps"]], marker=".", label=label)
        if len(runs) > 1:
            per_beta = list(zip(*(r["gaps"] for r in runs), strict=True))
            axes[1].fill_between(v["betas"], [100 * min(g) for g in per_beta], [100 * max(g) for g in per_beta],
                                 color=line.get_color(), alpha=0.18, lw=0)
    axes[1].axhline(0, color="k", lw=0.8)
    axes[1].set(xscale="log", xlabel="β", ylabel="gap in D + βR (%)", title="Gap at each β")


def plot_over_seeds(ax: Axes, values: Mapping[str, Mapping[int, float]], *, xlabel: str, ylabel: str,
                    title: str) -> None:
    """One metric per category over seeds: each seed a point, the median over seeds a bar, the
    range over seeds a line (seaborn). ``values`` maps each category (drawn in order along x)
    to ``{seed: value}``."""
    import pandas as pd
    import seaborn as sns

    if not values or any(not by_seed for by_seed in values.values()):
        raise ValueError("values needs at least one category, each with at least one seed")
    frame = pd.DataFrame([{"category": category, "seed": seed, "value": value}
                          for category, by_seed in values.items() for seed, value in by_seed.items()])
    sns.stripplot(data=frame, x="category", y="value", ax=ax, color="0.35", size=3.5, jitter=0.12, zorder=3)
    sns.pointplot(data=frame, x="category", y="value", ax=ax, estimator="median", errorbar=("pi", 100),
                  linestyle="none", marker="_", markersize=14, color="C3", err_kws={"linewidth": 1.2})
    ax.axhline(0, color="k", lw=0.8)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)


def plot_gap_over_seeds(ax: Axes, rows_by_seed: Mapping[int, Sequence[Mapping[str, float]]]) -> None:
    """The MR-VAE's gap in D + βR to the constant-β β-VAE at each β, over seeds
    (:func:`plot_over_seeds`).

    ``rows_by_seed`` maps each seed to its per-β comparison (``compare_at_betas`` rows, each
    with ``beta`` and ``gap``); every seed must compare at the same β.
    """
    betas = {tuple(round(r["beta"], 6) for r in rows) for rows in rows_by_seed.values()}
    if len(betas) != 1:
        raise ValueError(f"every seed must be compared at the same β, got {len(betas)} different grids")
    values: dict[str, dict[int, float]] = {}
    for seed, rows in rows_by_seed.items():
        for row in rows:
            values.setdefault(f"{row['beta']:.2g}", {})[seed] = 100 * row["gap"]
    plot_over_seeds(ax, values, xlabel="β", ylabel="gap in D + βR (%)",
                    title=f"Gap at each β, {len(rows_by_seed)} seeds (bar: median, line: range)")


def plot_learning_study(fig: Figure, axes: Sequence[Axes], curves: Mapping[str, Sequence[Mapping[str, float]]]) -> None:
    """The learning study (``scripts/run_learning_study.py``) on two axes: the rate span (left)
    and the mean gap to the β-VAEs (right) after every epoch, one line per variant.

    ``curves`` maps ``"<init> x<multiplier>"`` to its per-epoch records (``step``,
    ``rate_ratio``, ``mean_gap``); line style and marker show the initialisation, colour the
    multiplier. One legend for both, below them.
    """
    multipliers = list(dict.fromkeys(name.split(" x")[1] for name in curves))
    for name, records in curves.items():
        init, multiplier = name.split(" x")
        style = {"color": f"C{multipliers.index(multiplier)}", "ls": "-" if init == "open" else "--",
                 "marker": "o" if init == "open" else "s", "ms": 3, "label": f"{init}, ×{multiplier}"}
        axes[0].plot([r["step"] for r in records], [r["rate_ratio"] for r in records], **style)
        axes[1].plot([r["step"] for r in records[1:]], [100 * r["mean_gap"] for r in records[1:]], **style)
    axes[0].set_yscale("log")
    axes[0].axhline(10, color="k", lw=0.8, ls=":")
    axes[0].set(ylabel="rate span R(a) / R(b)", title="Response to β")
    axes[1].set(ylabel="mean gap in D + βR (%)", title="Gap to the β-VAEs")
    if all(r["mean_gap"] > 0 for records in curves.values() for r in records[1:]):
        axes[1].set_yscale("log")  # the final gaps differ by a few points: log shows them apart
    for ax in axes:
        ax.set_xlabel("Adam steps")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.tight_layout(rect=(0, 0.11, 1, 1))
    fig.legend(handles, labels, loc="lower center", ncol=4, frameon=False)
